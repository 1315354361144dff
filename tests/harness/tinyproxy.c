/* Drives tests/harness/tinyproxy-harness.sh for CUnit suites: a private
 * tinyproxy, stopped at exit if a suite forgot (harness-script.h). */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness-script.h"
#include "harness-tinyproxy.h"

#ifndef HARNESS_SCRIPT_DIR
#error "HARNESS_SCRIPT_DIR must name tests/harness in the source tree"
#endif
#define TINYPROXY_SCRIPT HARNESS_SCRIPT_DIR "/tinyproxy-harness.sh"

/* 0, or -1 after printing the script's output. */
static int run(const char *const *argv, const char *auth)
{
	char **envp = g_get_environ();
	int rc;

	envp = auth ? g_environ_setenv(envp, "HARNESS_PROXY_AUTH", auth, TRUE)
		    : g_environ_unsetenv(envp, "HARNESS_PROXY_AUTH");
	rc = harness_spawn(argv, envp);
	g_strfreev(envp);
	return rc;
}

static void stop_dir(const char *dir)
{
	const char *argv[] = {TINYPROXY_SCRIPT, "stop", dir, NULL};

	run(argv, NULL);
}

int harness_tinyproxy_start(struct harness_tinyproxy *p, const char *auth,
			    const int *ports, int n_ports)
{
	char *dir = g_dir_make_tmp("spop-tinyproxy-XXXXXX", NULL);
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	int rc;

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
	/* The script may have started tinyproxy before it failed. */
	harness_remember_running(stop_dir, p->dir, TRUE);
	if (run((const char *const *)argv->pdata, auth) == 0)
		p->port = harness_read_port(dir, "port");
	rc = p->port > 0 ? 0 : -1;
	g_free(dir);
	g_ptr_array_free(argv, TRUE);
	return rc;
}

void harness_tinyproxy_stop(struct harness_tinyproxy *p)
{
	if (!p->dir[0])
		return;
	stop_dir(p->dir);
	harness_remember_running(stop_dir, p->dir, FALSE);
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
	char *text = harness_file_from(path, 0);

	g_free(path);
	return text;
}
