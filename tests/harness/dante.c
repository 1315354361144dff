/* Drives tests/harness/dante-harness.sh for CUnit suites: private danted
 * instances, without authentication or with SOCKS5 username/password in a
 * private mount namespace, stopped at exit if a suite forgot
 * (harness-script.h). */
#include "harness-dante.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "harness-script.h"

#ifndef HARNESS_SCRIPT_DIR
#error "HARNESS_SCRIPT_DIR must name tests/harness in the source tree"
#endif

#define DANTE_SCRIPT HARNESS_SCRIPT_DIR "/dante-harness.sh"

/* The script's command on dir; user and password (both or neither) select
 * username/password and reach it through the environment only, never its
 * command line. 0, or -1 after printing its output. */
static int run(const char *command, const char *dir, const char *user,
	       const char *password)
{
	const char *argv[] = {DANTE_SCRIPT, command, dir, NULL};
	char **envp = g_get_environ();
	int rc;

	envp = g_environ_unsetenv(envp, "HARNESS_DANTE_USER");
	envp = g_environ_unsetenv(envp, "HARNESS_DANTE_PASSWORD");
	if (user != NULL) {
		envp = g_environ_setenv(envp, "HARNESS_DANTE_USER", user, TRUE);
		envp = g_environ_setenv(envp, "HARNESS_DANTE_PASSWORD",
					password, TRUE);
	}
	rc = harness_spawn(argv, envp);
	g_strfreev(envp);
	return rc;
}

static void stop_dir(const char *dir)
{
	run("stop", dir, NULL, NULL);
}

const char *harness_dante_unavailable(void)
{
	char *path = g_find_program_in_path("danted");
	int found = path != NULL || access("/usr/sbin/danted", X_OK) == 0;

	g_free(path);
	return found ? NULL : "danted is not installed (dante-server)";
}

static int start(struct harness_dante *d, const char *dir, const char *user,
		 const char *password)
{
	memset(d, 0, sizeof(*d));
	if (harness_instance_dir(d->dir, sizeof(d->dir), "dante", dir) != 0)
		return -1;
	/* The script may have started danted before it failed. */
	harness_remember_running(stop_dir, d->dir, TRUE);
	if (run("start", d->dir, user, password) != 0)
		return -1;
	d->port = harness_read_port(d->dir, "port");
	if (d->port == 0) {
		harness_dante_stop(d);
		return -1;
	}
	return 0;
}

int harness_dante_start(struct harness_dante *d, const char *dir)
{
	return start(d, dir, NULL, NULL);
}

int harness_dante_start_userpass(struct harness_dante *d, const char *dir,
				 const char *user, const char *password)
{
	if (user == NULL || *user == '\0' || password == NULL ||
	    *password == '\0') {
		fprintf(stderr, "harness: Dante's username/password needs a "
				"user and a password\n");
		return -1;
	}
	return start(d, dir, user, password);
}

int harness_dante_stop(struct harness_dante *d)
{
	int rc = run("stop", d->dir, NULL, NULL);

	if (rc == 0) {
		d->port = 0;
		harness_remember_running(stop_dir, d->dir, FALSE);
	}
	return rc;
}

char *harness_dante_log(const struct harness_dante *d)
{
	char *path = g_build_filename(d->dir, "danted.log", NULL);
	char *text = harness_file_from(path, 0);

	g_free(path);
	return text;
}

char *harness_dante_settled_log(const struct harness_dante *d)
{
	char *last = harness_dante_log(d);

	for (int i = 0, same = 0; i < 50 && same < 3; i++) {
		g_usleep(100 * 1000);
		char *now = harness_dante_log(d);

		same = strcmp(now, last) ? 0 : same + 1;
		g_free(last);
		last = now;
	}
	return last;
}
