/* Drives tests/harness/dovecot-harness.sh for CUnit suites and reads the
 * files it leaves in the instance directory (port, mailbox descriptions). */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <glib.h>

#ifndef HARNESS_SCRIPT_DIR
#error "HARNESS_SCRIPT_DIR must name tests/harness in the source tree"
#endif
#ifndef HARNESS_WORK_DIR
#error "HARNESS_WORK_DIR must name a directory in the build tree"
#endif

#define SCRIPT HARNESS_SCRIPT_DIR "/dovecot-harness.sh"

/* Instances still running at exit() get stopped, so a suite that fails
 * between start and stop leaves no Dovecot behind. Directories, not the
 * caller's structs, are kept: those may be gone by then. */
static GPtrArray *running_dirs;
static pid_t running_owner;

static int run_script(const char *command, const char *dir, const char *arg)
{
	const char *argv[] = {SCRIPT, command, dir, arg, NULL};
	char *out = NULL, *err = NULL;
	char **envp, *users;
	GError *error = NULL;
	int status, ok;

	/* name:password:profile, profiles as in make-mailbox.sh */
	users = g_strdup_printf("%s:%s:main\n%s:%s:empty\n%s:%s:small",
				HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD,
				HARNESS_EMPTY_USER, HARNESS_EMPTY_PASSWORD,
				HARNESS_SMALL_USER, HARNESS_SMALL_PASSWORD);
	envp = g_environ_setenv(g_get_environ(), "HARNESS_USERS", users, TRUE);
	g_free(users);
	ok = g_spawn_sync(NULL, (char **)argv, envp, G_SPAWN_DEFAULT, NULL,
			  NULL, &out, &err, &status, &error);
	g_strfreev(envp);
	if (ok)
		ok = g_spawn_check_wait_status(status, &error);
	if (!ok) {
		fprintf(stderr, "harness: %s %s %s failed: %s\n%s%s", SCRIPT,
			command, dir, error->message, out != NULL ? out : "",
			err != NULL ? err : "");
		g_error_free(error);
	}
	g_free(out);
	g_free(err);
	return ok ? 0 : -1;
}

static void stop_leftovers(void)
{
	struct harness_dovecot d;
	guint i;

	/* A forked child exiting must not stop its parent's servers. */
	if (running_dirs == NULL || getpid() != running_owner)
		return;
	for (i = 0; i < running_dirs->len; i++) {
		g_strlcpy(d.dir, g_ptr_array_index(running_dirs, i),
			  sizeof(d.dir));
		run_script("stop", d.dir, NULL);
	}
	g_ptr_array_free(running_dirs, TRUE);
	running_dirs = NULL;
}

static void remember_running(const char *dir, gboolean running)
{
	guint i;

	if (running_dirs == NULL) {
		running_dirs = g_ptr_array_new_with_free_func(g_free);
		running_owner = getpid();
		atexit(stop_leftovers);
	}
	for (i = 0; i < running_dirs->len; i++) {
		if (strcmp(g_ptr_array_index(running_dirs, i), dir) == 0) {
			if (!running)
				g_ptr_array_remove_index(running_dirs, i);
			return;
		}
	}
	if (running)
		g_ptr_array_add(running_dirs, g_strdup(dir));
}

const char *harness_dovecot_unavailable(void)
{
	char *path;

	if (geteuid() != 0)
		return "a private Dovecot needs root (its master switches "
		       "users)";
	path = g_find_program_in_path("dovecot");
	if (path == NULL && access("/usr/sbin/dovecot", X_OK) != 0)
		return "dovecot is not installed (dovecot-core, dovecot-pop3d)";
	g_free(path);
	if (access("/usr/lib/dovecot/pop3", X_OK) != 0 &&
	    access("/usr/libexec/dovecot/pop3", X_OK) != 0)
		return "Dovecot's POP3 server is not installed (dovecot-pop3d)";
	return NULL;
}

int harness_cannot_run(const char *suite, const char *why)
{
	const char *require = g_getenv(HARNESS_REQUIRE_ENV);

	if (require != NULL && *require != '\0' && strcmp(require, "0") != 0) {
		fprintf(stderr,
			"FAIL: %s cannot run: %s; %s=%s makes this a "
			"failure, not a skip\n",
			suite, why, HARNESS_REQUIRE_ENV, require);
		return 1;
	}
	fprintf(stderr, "SKIP: %s: %s\n", suite, why);
	return HARNESS_EXIT_SKIP;
}

int harness_dovecot_start(struct harness_dovecot *d, const char *dir)
{
	char *path, *text = NULL;
	long port;

	d->port = 0;
	if (g_path_is_absolute(dir))
		path = g_strdup(dir);
	else
		/* A subdirectory of its own: beside the test executables a
		 * name could be taken already. */
		path = g_build_filename(HARNESS_WORK_DIR, "dovecot", dir, NULL);
	if (g_strlcpy(d->dir, path, sizeof(d->dir)) >= sizeof(d->dir)) {
		fprintf(stderr, "harness: directory name too long: %s\n", path);
		g_free(path);
		return -1;
	}
	g_free(path);

	if (run_script("start", d->dir, NULL) != 0)
		return -1;
	/* From here on the server runs: make sure exit() stops it. */
	remember_running(d->dir, TRUE);

	path = g_build_filename(d->dir, "port", NULL);
	if (!g_file_get_contents(path, &text, NULL, NULL) ||
	    (port = strtol(text, NULL, 10)) <= 0 || port > 65535) {
		fprintf(stderr, "harness: no valid port in %s\n", path);
		g_free(path);
		g_free(text);
		harness_dovecot_stop(d);
		return -1;
	}
	g_free(path);
	g_free(text);
	d->port = (int)port;
	return 0;
}

int harness_dovecot_stop(struct harness_dovecot *d)
{
	if (d->dir[0] == '\0')
		return 0;
	if (run_script("stop", d->dir, NULL) != 0)
		return -1;
	remember_running(d->dir, FALSE);
	d->port = 0;
	return 0;
}

int harness_dovecot_reset_mailbox(struct harness_dovecot *d, const char *user)
{
	return run_script("reset-mailbox", d->dir, user);
}

/* The tab-separated fields of message n in dir/mailbox-USER.txt (number,
 * LIST size, Maildir file, subject), or with n == 0 the number of messages
 * as a return value; NULL fields and -1 if unknown. */
static int mailbox_lookup(struct harness_dovecot *d, const char *user, int n,
			  char ***fields_r)
{
	char *name, *path, *text = NULL, **lines, **fields;
	int count = 0, found = -1, i;

	if (fields_r != NULL)
		*fields_r = NULL;
	name = g_strdup_printf("mailbox-%s.txt", user);
	path = g_build_filename(d->dir, name, NULL);
	g_free(name);
	if (!g_file_get_contents(path, &text, NULL, NULL)) {
		g_free(path);
		return -1;
	}
	g_free(path);
	lines = g_strsplit(text, "\n", -1);
	g_free(text);
	for (i = 0; lines[i] != NULL; i++) {
		if (lines[i][0] == '#' || lines[i][0] == '\0')
			continue;
		count++;
		fields = g_strsplit(lines[i], "\t", 4);
		if (n > 0 && g_strv_length(fields) == 4 &&
		    atoi(fields[0]) == n) {
			found = n;
			if (fields_r != NULL) {
				*fields_r = fields;
				break;
			}
		}
		g_strfreev(fields);
	}
	g_strfreev(lines);
	return n == 0 ? count : found;
}

long long harness_message_size(struct harness_dovecot *d, int n)
{
	char **fields;
	long long size;

	if (n <= 0 || mailbox_lookup(d, HARNESS_MAIN_USER, n, &fields) < 0)
		return -1;
	size = g_ascii_strtoll(fields[1], NULL, 10);
	g_strfreev(fields);
	return size > 0 ? size : -1;
}

int harness_message_count(struct harness_dovecot *d, const char *user)
{
	return mailbox_lookup(d, user, 0, NULL);
}

char *harness_message_file(struct harness_dovecot *d, const char *user, int n)
{
	char **fields, *path;

	if (n <= 0 || mailbox_lookup(d, user, n, &fields) < 0)
		return NULL;
	path = g_build_filename(d->dir, "mail", user, fields[2], NULL);
	g_strfreev(fields);
	return path;
}

int harness_closed_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	/* Bound but never listening: connects get a RST, and without
	 * SO_REUSEADDR no other socket can bind the port while we hold it. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "harness: socket: %s\n", strerror(errno));
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		fprintf(stderr, "harness: bind 127.0.0.1:0: %s\n",
			strerror(errno));
		close(fd);
		return -1;
	}
	return ntohs(sin.sin_port);
}
