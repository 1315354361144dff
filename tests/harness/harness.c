/* Drives tests/harness/dovecot-harness.sh for CUnit suites and reads the
 * files it leaves in the instance directory (port, mailbox descriptions). */
#include "harness.h"
#include "harness-script.h"

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
#include <glib/gstdio.h>

#ifndef HARNESS_SCRIPT_DIR
#error "HARNESS_SCRIPT_DIR must name tests/harness in the source tree"
#endif
#ifndef HARNESS_WORK_DIR
#error "HARNESS_WORK_DIR must name a directory in the build tree"
#endif

#define SCRIPT	     HARNESS_SCRIPT_DIR "/dovecot-harness.sh"
#define CERTS_SCRIPT HARNESS_SCRIPT_DIR "/make-certs.sh"
/* One set of certificates for every instance of every suite: making them
 * is the slow part, and a CA shared by all lets one suite's trust settings
 * work against any of its servers. */
#define CERTS_DIR HARNESS_WORK_DIR "/certs"

/* tls: NULL for an instance without TLS (ssl = no). */
static int run_script_tls(const char *command, const char *dir, const char *arg,
			  const struct harness_tls *tls)
{
	const char *argv[] = {SCRIPT, command, dir, arg, NULL};
	char **envp, *users;
	int rc;

	/* name:password:profile, profiles as in make-mailbox.sh */
	users = g_strdup_printf("%s:%s:main\n%s:%s:empty\n%s:%s:small",
				HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD,
				HARNESS_EMPTY_USER, HARNESS_EMPTY_PASSWORD,
				HARNESS_SMALL_USER, HARNESS_SMALL_PASSWORD);
	/* bench/ adds users of its own (HARNESS_EXTRA_USERS, same form) */
	const char *extra = g_getenv("HARNESS_EXTRA_USERS");
	if (extra != NULL && *extra) {
		char *all = g_strdup_printf("%s\n%s", users, extra);
		g_free(users);
		users = all;
	}
	envp = g_environ_setenv(g_get_environ(), "HARNESS_USERS", users, TRUE);
	g_free(users);
	/* Never inherited: only tls turns TLS on. */
	envp = g_environ_unsetenv(envp, "HARNESS_TLS");
	envp = g_environ_unsetenv(envp, "HARNESS_TLS_CLIENT_CERT");
	envp = g_environ_unsetenv(envp, "HARNESS_TLS_MIN_PROTOCOL");
	envp = g_environ_unsetenv(envp, "HARNESS_TLS_CIPHER_LIST");
	envp = g_environ_setenv(envp, "HARNESS_CERTS_DIR", CERTS_DIR, TRUE);
	if (tls != NULL) {
		envp = g_environ_setenv(envp, "HARNESS_TLS", tls->cert, TRUE);
		if (tls->require_client_cert)
			envp = g_environ_setenv(envp, "HARNESS_TLS_CLIENT_CERT",
						"1", TRUE);
		if (tls->min_protocol != NULL)
			envp =
			    g_environ_setenv(envp, "HARNESS_TLS_MIN_PROTOCOL",
					     tls->min_protocol, TRUE);
		if (tls->cipher_list != NULL)
			envp = g_environ_setenv(envp, "HARNESS_TLS_CIPHER_LIST",
						tls->cipher_list, TRUE);
	}
	rc = harness_spawn(argv, envp);
	g_strfreev(envp);
	return rc;
}

static int run_script(const char *command, const char *dir, const char *arg)
{
	return run_script_tls(command, dir, arg, NULL);
}

static void dovecot_stop_dir(const char *dir)
{
	run_script("stop", dir, NULL);
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
	return harness_dovecot_start_tls(d, dir, NULL);
}

int harness_dovecot_start_tls(struct harness_dovecot *d, const char *dir,
			      const struct harness_tls *tls)
{
	d->port = 0;
	d->tls_port = 0;
	if (harness_instance_dir(d->dir, sizeof(d->dir), "dovecot", dir))
		return -1;

	if (tls != NULL && tls->cert == NULL) {
		fprintf(stderr, "harness: TLS asked for without a certificate "
				"name\n");
		return -1;
	}
	if (run_script_tls("start", d->dir, NULL, tls) != 0)
		return -1;
	/* From here on the server runs: make sure exit() stops it. */
	harness_remember_running(dovecot_stop_dir, d->dir, TRUE);

	d->port = harness_read_port(d->dir, "port");
	if (tls != NULL)
		d->tls_port = harness_read_port(d->dir, "port-tls");
	if (d->port == 0 || (tls != NULL && d->tls_port == 0)) {
		harness_dovecot_stop(d);
		return -1;
	}
	return 0;
}

char *harness_cert_file(const char *name)
{
	static int made; /* once per process; the script caches across runs */
	const char *argv[] = {CERTS_SCRIPT, CERTS_DIR, NULL};
	char *path;

	if (!made) {
		char **envp = g_get_environ();

		made = harness_spawn(argv, envp) == 0;
		g_strfreev(envp);
		if (!made)
			return NULL;
	}
	path = g_build_filename(CERTS_DIR, name, NULL);
	if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
		fprintf(stderr, "harness: %s: no such certificate file\n",
			path);
		g_free(path);
		return NULL;
	}
	return path;
}

/* The instance's log, read by the suites from an offset. */
static char *log_path(struct harness_dovecot *d)
{
	return g_build_filename(d->dir, "log", "dovecot.log", NULL);
}

char *harness_dovecot_log(struct harness_dovecot *d, long long offset)
{
	char *path = log_path(d), *text = harness_file_from(path, offset);

	g_free(path);
	return text;
}

long long harness_dovecot_log_size(struct harness_dovecot *d)
{
	char *path = log_path(d);
	long long size = harness_file_size(path);

	g_free(path);
	return size;
}

char *harness_dovecot_log_wait(struct harness_dovecot *d, long long offset,
			       const char *text, int timeout_ms)
{
	for (int waited = 0;; waited += 20) {
		char *log = harness_dovecot_log(d, offset);

		if (strstr(log, text) != NULL)
			return log;
		g_free(log);
		if (waited >= timeout_ms)
			return NULL;
		g_usleep(20 * 1000);
	}
}

int harness_dovecot_stop(struct harness_dovecot *d)
{
	if (d->dir[0] == '\0')
		return 0;
	if (run_script("stop", d->dir, NULL) != 0)
		return -1;
	harness_remember_running(dovecot_stop_dir, d->dir, FALSE);
	d->port = 0;
	d->tls_port = 0;
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

/* ---- Cyrus (cyrus-harness.sh) ------------------------------------------ */

#define CYRUS_SCRIPT HARNESS_SCRIPT_DIR "/cyrus-harness.sh"
/* The downloaded .debs and their unpacked tree, shared by every instance
 * and kept across runs (the script unpacks again when a .deb changes). */
#define CYRUS_DEBS_DIR HARNESS_WORK_DIR "/cyrus-debs"

static int run_cyrus(const char *command, const char *dir,
		     const struct harness_cyrus_tls *tls)
{
	const char *argv[] = {CYRUS_SCRIPT, command, dir, NULL};
	char **envp = g_get_environ(), *users;
	int rc;

	users =
	    g_strdup_printf("%s:%s:small\n%s:%s:empty", HARNESS_CYRUS_USER,
			    HARNESS_CYRUS_PASSWORD, HARNESS_CYRUS_EMPTY_USER,
			    HARNESS_CYRUS_EMPTY_PASSWORD);
	envp = g_environ_setenv(envp, "HARNESS_USERS", users, TRUE);
	g_free(users);
	envp =
	    g_environ_setenv(envp, "HARNESS_CYRUS_DEBS", CYRUS_DEBS_DIR, TRUE);
	envp = g_environ_setenv(envp, "HARNESS_CERTS_DIR", CERTS_DIR, TRUE);
	/* Never inherited: only tls turns TLS on. */
	envp = g_environ_unsetenv(envp, "HARNESS_TLS");
	envp = g_environ_unsetenv(envp, "HARNESS_CYRUS_TLS_VERSIONS");
	if (tls != NULL) {
		envp = g_environ_setenv(envp, "HARNESS_TLS", tls->cert, TRUE);
		if (tls->tls_versions != NULL)
			envp =
			    g_environ_setenv(envp, "HARNESS_CYRUS_TLS_VERSIONS",
					     tls->tls_versions, TRUE);
	}
	rc = harness_spawn(argv, envp);
	g_strfreev(envp);
	return rc;
}

static void cyrus_stop_dir(const char *dir)
{
	run_cyrus("stop", dir, NULL);
}

const char *harness_cyrus_unavailable(void)
{
	char *path;

	if (geteuid() != 0)
		return "a private Cyrus needs root (its master binds, then "
		       "runs as nobody)";
	path = g_find_program_in_path("saslpasswd2");
	if (path == NULL && access("/usr/sbin/saslpasswd2", X_OK) != 0)
		return "saslpasswd2 is not installed (sasl2-bin)";
	g_free(path);
	path = g_find_program_in_path("apt-get");
	if (path == NULL)
		return "apt-get is missing: Cyrus's packages cannot be "
		       "fetched";
	g_free(path);
	return NULL;
}

int harness_cyrus_start(struct harness_cyrus *c, const char *dir,
			const struct harness_cyrus_tls *tls)
{
	c->port = 0;
	c->tls_port = 0;
	if (harness_instance_dir(c->dir, sizeof(c->dir), "cyrus", dir))
		return -1;
	if (tls != NULL && tls->cert == NULL) {
		fprintf(stderr, "harness: TLS asked for without a certificate "
				"name\n");
		return -1;
	}
	/* The script may have started master before it failed. */
	harness_remember_running(cyrus_stop_dir, c->dir, TRUE);
	if (run_cyrus("start", c->dir, tls) != 0) {
		harness_cyrus_stop(c);
		return -1;
	}
	c->port = harness_read_port(c->dir, "port");
	if (tls != NULL)
		c->tls_port = harness_read_port(c->dir, "port-tls");
	if (c->port == 0 || (tls != NULL && c->tls_port == 0)) {
		harness_cyrus_stop(c);
		return -1;
	}
	return 0;
}

int harness_cyrus_stop(struct harness_cyrus *c)
{
	if (c->dir[0] == '\0')
		return 0;
	if (run_cyrus("stop", c->dir, NULL) != 0)
		return -1;
	harness_remember_running(cyrus_stop_dir, c->dir, FALSE);
	c->port = 0;
	c->tls_port = 0;
	return 0;
}

/* The instance's log, read by the suites from an offset. */
static char *cyrus_log_path(struct harness_cyrus *c)
{
	return g_build_filename(c->dir, "log", "syslog", NULL);
}

char *harness_cyrus_log(struct harness_cyrus *c, long long offset)
{
	char *path = cyrus_log_path(c), *text = harness_file_from(path, offset);

	g_free(path);
	return text;
}

long long harness_cyrus_log_size(struct harness_cyrus *c)
{
	char *path = cyrus_log_path(c);
	long long size = harness_file_size(path);

	g_free(path);
	return size;
}

int harness_cyrus_message_count(struct harness_cyrus *c, const char *user)
{
	/* The description has make-mailbox.sh's format, as Dovecot's. */
	struct harness_dovecot d;

	g_strlcpy(d.dir, c->dir, sizeof(d.dir));
	return mailbox_lookup(&d, user, 0, NULL);
}
