/* Drives tests/harness/dante-harness.sh for CUnit suites: a private
 * danted per suite, stopped at exit if a suite forgot. */
#include "harness-dante.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#ifndef HARNESS_SCRIPT_DIR
#error "HARNESS_SCRIPT_DIR must name tests/harness in the source tree"
#endif
#ifndef HARNESS_WORK_DIR
#error "HARNESS_WORK_DIR must name a directory in the build tree"
#endif

#define DANTE_SCRIPT HARNESS_SCRIPT_DIR "/dante-harness.sh"

static char *running_dir; /* the one danted of this process, for exit() */
static pid_t running_owner;

/* 0, or -1 after printing the script's output. */
static int run(const char *command, const char *dir)
{
	const char *argv[] = {DANTE_SCRIPT, command, dir, NULL};
	char *out = NULL, *err = NULL;
	GError *error = NULL;
	int status, ok;

	ok = g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL,
			  NULL, &out, &err, &status, &error);
	if (ok)
		ok = g_spawn_check_wait_status(status, &error);
	if (!ok) {
		fprintf(stderr,
			"harness: dante-harness.sh %s %s failed: %s\n%s%s",
			command, dir ? dir : "", error->message, out ? out : "",
			err ? err : "");
		g_error_free(error);
	}
	g_free(out);
	g_free(err);
	return ok ? 0 : -1;
}

static void stop_leftover(void)
{
	/* A forked child exiting must not stop its parent's danted. */
	if (running_dir == NULL || getpid() != running_owner)
		return;
	run("stop", running_dir);
	g_clear_pointer(&running_dir, g_free);
}

const char *harness_dante_unavailable(void)
{
	char *path = g_find_program_in_path("danted");
	int found = path != NULL || access("/usr/sbin/danted", X_OK) == 0;

	g_free(path);
	return found ? NULL : "danted is not installed (dante-server)";
}

int harness_dante_start(struct harness_dante *d, const char *dir)
{
	char *path, *text = NULL;

	memset(d, 0, sizeof(*d));
	path = g_path_is_absolute(dir)
		   ? g_strdup(dir)
		   : g_build_filename(HARNESS_WORK_DIR, "dante", dir, NULL);
	if (g_strlcpy(d->dir, path, sizeof(d->dir)) >= sizeof(d->dir)) {
		fprintf(stderr, "harness: directory name too long: %s\n", path);
		g_free(path);
		return -1;
	}
	g_free(path);
	if (run("start", d->dir) != 0)
		return -1;
	if (running_dir == NULL) {
		running_owner = getpid();
		atexit(stop_leftover);
	}
	g_free(running_dir);
	running_dir = g_strdup(d->dir);

	path = g_build_filename(d->dir, "port", NULL);
	if (g_file_get_contents(path, &text, NULL, NULL))
		d->port = atoi(text);
	g_free(text);
	if (d->port <= 0 || d->port > 65535) {
		fprintf(stderr, "harness: no valid danted port in %s\n", path);
		g_free(path);
		harness_dante_stop(d);
		return -1;
	}
	g_free(path);
	return 0;
}

int harness_dante_stop(struct harness_dante *d)
{
	int rc = run("stop", d->dir);

	if (rc == 0) {
		d->port = 0;
		if (running_dir != NULL && strcmp(running_dir, d->dir) == 0)
			g_clear_pointer(&running_dir, g_free);
	}
	return rc;
}
