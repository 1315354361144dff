/* Drives tests/harness/tinyproxy-harness.sh for CUnit suites. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness-tinyproxy.h"

#ifndef HARNESS_SCRIPT_DIR
#error "HARNESS_SCRIPT_DIR must name tests/harness in the source tree"
#endif
#define TINYPROXY_SCRIPT HARNESS_SCRIPT_DIR "/tinyproxy-harness.sh"

static int run(char **argv, const char *auth)
{
	char *out = NULL, *err = NULL, **envp = g_get_environ();
	GError *error = NULL;
	int status, ok;

	envp = auth ? g_environ_setenv(envp, "HARNESS_PROXY_AUTH", auth, TRUE)
		    : g_environ_unsetenv(envp, "HARNESS_PROXY_AUTH");
	ok = g_spawn_sync(NULL, argv, envp, G_SPAWN_DEFAULT, NULL, NULL, &out,
			  &err, &status, &error);
	if (ok)
		ok = g_spawn_check_wait_status(status, &error);
	if (!ok) {
		fprintf(
		    stderr, "harness: tinyproxy-harness.sh %s failed: %s\n%s%s",
		    argv[1], error->message, out ? out : "", err ? err : "");
		g_error_free(error);
	}
	g_strfreev(envp);
	g_free(out);
	g_free(err);
	return ok ? 0 : -1;
}

int harness_tinyproxy_start(struct harness_tinyproxy *p, const char *auth,
			    const int *ports, int n_ports)
{
	char *dir = g_dir_make_tmp("spop-tinyproxy-XXXXXX", NULL);
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	char *text = NULL, *path;
	int rc = -1;

	p->port = 0;
	if (!dir) {
		fprintf(stderr,
			"harness: no temporary directory for tinyproxy\n");
		return -1;
	}
	g_chmod(dir, 0755);
	g_strlcpy(p->dir, dir, sizeof(p->dir));
	g_ptr_array_add(argv, g_strdup(TINYPROXY_SCRIPT));
	g_ptr_array_add(argv, g_strdup("start"));
	g_ptr_array_add(argv, g_strdup(dir));
	for (int i = 0; i < n_ports; i++)
		g_ptr_array_add(argv, g_strdup_printf("%d", ports[i]));
	g_ptr_array_add(argv, NULL);
	path = g_build_filename(dir, "port", NULL);
	if (!run((char **)argv->pdata, auth) &&
	    g_file_get_contents(path, &text, NULL, NULL)) {
		p->port = atoi(text);
		rc = p->port > 0 ? 0 : -1;
	}
	g_free(text);
	g_free(path);
	g_free(dir);
	g_ptr_array_free(argv, TRUE);
	return rc;
}

void harness_tinyproxy_stop(struct harness_tinyproxy *p)
{
	char *argv[] = {TINYPROXY_SCRIPT, "stop", p->dir, NULL};

	if (!p->dir[0])
		return;
	run(argv, NULL);
	p->port = 0;
	char *conf = g_build_filename(p->dir, "tinyproxy.conf", NULL);
	char *log = g_build_filename(p->dir, "tinyproxy.log", NULL);
	g_unlink(conf);
	g_unlink(log);
	g_rmdir(p->dir);
	g_free(conf);
	g_free(log);
	p->dir[0] = '\0';
}

char *harness_tinyproxy_log(struct harness_tinyproxy *p)
{
	char *path = g_build_filename(p->dir, "tinyproxy.log", NULL);
	char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		text = g_strdup("");
	g_free(path);
	return text;
}
