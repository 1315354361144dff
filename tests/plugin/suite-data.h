/* The data directory of a plugin suite that makes its stores or messages
 * at test time with real tools, and the three things every such suite
 * does there: name a file, read one, run a tool. */
#ifndef SPOP_TEST_SUITE_DATA_H
#define SPOP_TEST_SUITE_DATA_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Set by the suite's init (g_dir_make_tmp), removed by its cleanup. */
static char *dir;

G_GNUC_UNUSED static char *path(const char *name)
{
	return g_build_filename(dir, name, NULL);
}

/* The whole file name in dir, or NULL (said on stderr). */
G_GNUC_UNUSED static unsigned char *slurp(const char *name, size_t *len)
{
	char *p = path(name), *data = NULL;
	gsize n = 0;

	if (!g_file_get_contents(p, &data, &n, NULL)) {
		fprintf(stderr, "cannot read %s\n", p);
		data = NULL;
	}
	g_free(p);
	*len = n;
	return (unsigned char *)data;
}

/* Runs a command in dir (found on PATH); 0 when it exited with 0, its
 * stdout in *out when out is not NULL. */
G_GNUC_UNUSED static int run_out(char **argv, char **out)
{
	char *err = NULL;
	int status = -1;
	GError *e = NULL;

	if (!g_spawn_sync(dir, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, out,
			  &err, &status, &e)) {
		fprintf(stderr, "%s: %s\n", argv[0], e->message);
		g_error_free(e);
		return -1;
	}
	if (status != 0)
		fprintf(stderr, "%s failed: %s\n", argv[0], err ? err : "");
	g_free(err);
	return g_spawn_check_wait_status(status, NULL) ? 0 : 1;
}

/* A process's resident memory, current or peak (VmRSS / VmHWM), in kB. */
G_GNUC_UNUSED static long status_kb(const char *field)
{
	char *text = NULL, *at;
	long kb = -1;

	if (!g_file_get_contents("/proc/self/status", &text, NULL, NULL))
		return -1;
	at = strstr(text, field);
	if (at)
		kb = strtol(at + strlen(field) + 1, NULL, 10);
	g_free(text);
	return kb;
}

/* The exit status of a child that measured its peak memory: 0 when the
 * result was right (same) and the peak over before stays under limit
 * (all in kB; said on stderr). Under ASan freed memory stays in
 * quarantine, so the bound is not checked there. */
G_GNUC_UNUSED static int peak_verdict(const char *what, bool same, long before,
				      long peak, long limit)
{
	long used = peak - before;

	fprintf(stderr,
		"\n  %s: peak %ld kB over %ld kB before (limit %ld kB)\n", what,
		used, before, limit);
#if defined(__SANITIZE_ADDRESS__)
	fprintf(stderr, "  (ASan build: the memory bound is not checked)\n");
	used = 0;
#endif
	return same && used < limit ? 0 : 1;
}

#endif
