/* The harness's shared plumbing (harness-script.h): every server the
 * suites start is a shell script that leaves port files in an instance
 * directory, and is stopped at exit if a suite forgot. */
#include "harness-script.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#ifndef HARNESS_WORK_DIR
#error "HARNESS_WORK_DIR must name a directory in the build tree"
#endif

int harness_spawn(const char *const *argv, char **envp)
{
	char *out = NULL, *err = NULL, *line;
	GError *error = NULL;
	int status, ok;

	ok = g_spawn_sync(NULL, (char **)argv, envp, G_SPAWN_DEFAULT, NULL,
			  NULL, &out, &err, &status, &error);
	if (ok)
		ok = g_spawn_check_wait_status(status, &error);
	if (!ok) {
		line = g_strjoinv(" ", (char **)argv);
		fprintf(stderr, "harness: %s failed: %s\n%s%s", line,
			error->message, out != NULL ? out : "",
			err != NULL ? err : "");
		g_free(line);
		g_error_free(error);
	}
	g_free(out);
	g_free(err);
	return ok ? 0 : -1;
}

int harness_instance_dir(char *out, size_t size, const char *kind,
			 const char *dir)
{
	char *path = g_path_is_absolute(dir)
			 ? g_strdup(dir)
			 : g_build_filename(HARNESS_WORK_DIR, kind, dir, NULL);
	int fits = g_strlcpy(out, path, size) < size;

	if (!fits)
		fprintf(stderr, "harness: directory name too long: %s\n", path);
	g_free(path);
	return fits ? 0 : -1;
}

int harness_read_port(const char *dir, const char *name)
{
	char *path = g_build_filename(dir, name, NULL), *text = NULL;
	long port = 0;

	if (g_file_get_contents(path, &text, NULL, NULL))
		port = strtol(text, NULL, 10);
	if (port <= 0 || port > 65535) {
		fprintf(stderr, "harness: no valid port in %s\n", path);
		port = 0;
	}
	g_free(path);
	g_free(text);
	return (int)port;
}

struct running {
	void (*stop)(const char *dir);
	char *dir;
};

static GPtrArray *running_servers; /* of struct running */
static pid_t running_owner;

static void running_free(gpointer p)
{
	struct running *r = p;

	g_free(r->dir);
	g_free(r);
}

static void stop_leftovers(void)
{
	if (running_servers == NULL || getpid() != running_owner)
		return;
	for (guint i = 0; i < running_servers->len; i++) {
		struct running *r = g_ptr_array_index(running_servers, i);

		r->stop(r->dir);
	}
	g_ptr_array_free(running_servers, TRUE);
	running_servers = NULL;
}

void harness_remember_running(void (*stop)(const char *dir), const char *dir,
			      gboolean running)
{
	if (running_servers == NULL) {
		running_servers = g_ptr_array_new_with_free_func(running_free);
		running_owner = getpid();
		atexit(stop_leftovers);
	}
	for (guint i = 0; i < running_servers->len; i++) {
		struct running *r = g_ptr_array_index(running_servers, i);

		if (r->stop == stop && strcmp(r->dir, dir) == 0) {
			if (!running)
				g_ptr_array_remove_index(running_servers, i);
			return;
		}
	}
	if (running) {
		struct running *r = g_new(struct running, 1);

		r->stop = stop;
		r->dir = g_strdup(dir);
		g_ptr_array_add(running_servers, r);
	}
}

char *harness_file_from(const char *path, long long offset)
{
	char *text = NULL, *out;
	gsize len = 0;

	if (!g_file_get_contents(path, &text, &len, NULL))
		return g_strdup("");
	if (offset < 0 || (unsigned long long)offset > len)
		offset = (long long)len;
	out = g_strdup(text + offset);
	g_free(text);
	return out;
}

long long harness_file_size(const char *path)
{
	GStatBuf st;

	return g_stat(path, &st) == 0 ? (long long)st.st_size : 0;
}
