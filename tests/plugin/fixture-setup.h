/* Shared setup of the registry suites that run in their own process: one
 * object searching the fixture directory first, then the built plugins,
 * and every "spop" warning collected for the cases to inspect. */
#ifndef SPOP_TEST_FIXTURE_SETUP_H
#define SPOP_TEST_FIXTURE_SETUP_H

#include <CUnit/CUnit.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdbool.h>
#include <spop/spop.h>

static spop_t *s;
static GString *warnings;

static void on_warning(const gchar *domain, GLogLevelFlags level,
		       const gchar *message, gpointer ud)
{
	g_string_append_printf(warnings, "%s\n", message);
}

static int setup(void)
{
	warnings = g_string_new(NULL);
	g_log_set_handler("spop", G_LOG_LEVEL_WARNING, on_warning, NULL);
	g_setenv("SPOP_PLUGIN_PATH", PLUGIN_DIR, TRUE);
	s = spop_new();
	spop_config(s, "PluginPath=" FIXTURE_DIR);
	return 0;
}

static int teardown(void)
{
	spop_free(s);
	g_string_free(warnings, TRUE);
	return 0;
}

G_GNUC_UNUSED static const char *error_text(void)
{
	const char *e = spop_last_error(s);

	return e ? e : "";
}

/* The error of the last call has this code and mentions each of the
 * strings given (NULL-terminated); prints it when not. */
G_GNUC_UNUSED G_GNUC_NULL_TERMINATED static bool error_is(int code, ...)
{
	bool ok = spop_last_error_code(s) == code;
	const char *want;
	va_list ap;

	va_start(ap, code);
	while ((want = va_arg(ap, const char *)))
		if (!strstr(error_text(), want))
			ok = false;
	va_end(ap);
	if (!ok)
		fprintf(stderr, "\n  expected %d, got %d: %s\n", code,
			spop_last_error_code(s), error_text());
	return ok;
}

/* Whether a module of this name is mapped into the process. */
G_GNUC_UNUSED static bool mapped(const char *file)
{
	char *maps = NULL;
	char *needle = g_strdup_printf("/%s\n", file);
	bool found;

	CU_ASSERT_FATAL(
	    g_file_get_contents("/proc/self/maps", &maps, NULL, NULL));
	found = strstr(maps, needle) != NULL;
	g_free(maps);
	g_free(needle);
	return found;
}

#endif
