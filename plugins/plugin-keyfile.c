/* Build tool: writes the key-file of a built plugin module from the
 * module's own descriptor, so the descriptor in the plugin's source is the
 * one place its kind, name, selectors, rank and settings are written.
 * Loading goes through the registry's checks: a module the registry would
 * refuse gets no key-file and fails the build.
 *
 * usage: plugin-keyfile MODULE.so OUTPUT.plugin */
#include <stdio.h>

#include "spop-private.h"

int main(int argc, char **argv)
{
	char *text, *error;
	GError *err = NULL;

	if (argc != 3) {
		fprintf(stderr, "usage: %s MODULE.so OUTPUT.plugin\n", argv[0]);
		return 2;
	}
	int rc = spi_plugin_keyfile(argv[1], &text, &error);
	if (rc) {
		fprintf(stderr, "%s: error %d: %s\n", argv[0], rc, error);
		g_free(error);
		return 1;
	}
	if (!g_file_set_contents(argv[2], text, -1, &err)) {
		fprintf(stderr, "%s: %s\n", argv[0], err->message);
		g_error_free(err);
		g_free(text);
		return 1;
	}
	g_free(text);
	return 0;
}
