/* Shared by the libFuzzer targets (tests/fuzz/README.md): the entry point
 * and a NUL-terminated copy of the input for parsers that take C strings. */
#ifndef SPOP_FUZZ_H
#define SPOP_FUZZ_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A GLib or GMime critical (g_return_if_fail: an argument the callee
 * refuses, such as a NULL object) is a bug in the caller even where
 * nothing crashes after it: it aborts the target, so libFuzzer keeps the
 * input as a crash. (g_log_set_always_fatal would stop with SIGTRAP,
 * which libFuzzer does not catch.) */
static void fuzz_log(const gchar *domain, GLogLevelFlags level,
		     const gchar *message, gpointer ud)
{
	g_log_default_handler(domain, level, message, ud);
	if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR))
		abort();
}

__attribute__((constructor)) static void fuzz_fatal_criticals(void)
{
	g_log_set_default_handler(fuzz_log, NULL);
}

/* The input as a string, cut at its first NUL (a C-string parser never
 * sees past one); g_free() it. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	return g_strndup((const char *)data, size);
}

/* For targets that load plugins: the modules of the build tree, and the
 * library's warnings (a plugin refusing hostile input says why) kept off
 * stderr, where thousands a second would drown the fuzzer's own lines. */
static inline void fuzz_quiet(const gchar *domain, GLogLevelFlags level,
			      const gchar *message, gpointer ud)
{
	(void)domain, (void)level, (void)message, (void)ud;
}

static inline void fuzz_use_plugins(const char *dir)
{
	g_log_set_handler("spop", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE,
			  fuzz_quiet, NULL);
	g_setenv("SPOP_PLUGIN_PATH", dir, TRUE);
}

#endif
