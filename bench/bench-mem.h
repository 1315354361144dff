/* What a benchmark reads about its own memory (Linux /proc): shared by
 * bench-retrieve and bench-threads. */
#ifndef SPOP_BENCH_MEM_H
#define SPOP_BENCH_MEM_H

#include <fcntl.h>
#include <glib.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

/* A "Key: N kB" line of /proc/self/status (VmRSS, VmHWM), or -1. */
static inline long long proc_status_kb(const char *key)
{
	char *text = NULL, **lines;
	long long kb = -1;
	size_t n = strlen(key);

	if (!g_file_get_contents("/proc/self/status", &text, NULL, NULL))
		return -1;
	lines = g_strsplit(text, "\n", -1);
	for (int i = 0; lines[i] != NULL; i++)
		if (strncmp(lines[i], key, n) == 0 && lines[i][n] == ':')
			kb = g_ascii_strtoll(lines[i] + n + 1, NULL, 10);
	g_strfreev(lines);
	g_free(text);
	return kb;
}

/* Makes VmHWM (and ru_maxrss) start again from the current RSS, so each
 * run's peak is its own; Linux >= 4.0. */
static inline bool reset_hwm(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && write(fd, "5", 1) == 1;

	if (fd >= 0)
		close(fd);
	return ok;
}

#endif
