/* Drives tests/harness/krb5-harness.sh for CUnit suites: a private MIT KDC
 * per suite, stopped at exit if a suite forgot (harness-script.h). */
#include "harness-krb5.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "harness.h"
#include "harness-script.h"

#ifndef HARNESS_SCRIPT_DIR
#error "HARNESS_SCRIPT_DIR must name tests/harness in the source tree"
#endif

#define KRB5_SCRIPT HARNESS_SCRIPT_DIR "/krb5-harness.sh"

/* 0, or -1 after printing the script's output. */
static int run(const char *command, const char *dir, const char *arg)
{
	const char *argv[] = {KRB5_SCRIPT, command, dir, arg, NULL};
	char **envp;
	int rc;

	envp = g_environ_setenv(g_get_environ(), "HARNESS_KRB5_USER",
				HARNESS_MAIN_USER, TRUE);
	envp = g_environ_setenv(envp, "HARNESS_KRB5_PASSWORD",
				HARNESS_MAIN_PASSWORD, TRUE);
	rc = harness_spawn(argv, envp);
	g_strfreev(envp);
	return rc;
}

static void stop_dir(const char *dir)
{
	run("stop", dir, NULL);
}

const char *harness_krb5_unavailable(void)
{
	static const char *const tools[][2] = {
	    {"krb5kdc", "krb5kdc is not installed (krb5-kdc)"},
	    {"kdb5_util", "kdb5_util is not installed (krb5-kdc)"},
	    {"kadmin.local",
	     "kadmin.local is not installed (krb5-admin-server)"},
	    {"kinit", "kinit is not installed (krb5-user)"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(tools); i++) {
		char *path = g_find_program_in_path(tools[i][0]);
		char *sbin = g_build_filename("/usr/sbin", tools[i][0], NULL);
		int found = path != NULL || access(sbin, X_OK) == 0;

		g_free(path);
		g_free(sbin);
		if (!found)
			return tools[i][1];
	}
	return NULL;
}

int harness_krb5_start(struct harness_krb5 *k, const char *dir)
{
	memset(k, 0, sizeof(*k));
	if (harness_instance_dir(k->dir, sizeof(k->dir), "krb5", dir))
		return -1;
	/* The script may have started the KDC before it failed. */
	harness_remember_running(stop_dir, k->dir, TRUE);
	if (run("start", k->dir, NULL) != 0) {
		harness_krb5_stop(k);
		return -1;
	}
	/* The script may have moved the KDC under /tmp, leaving DIR a
	 * symlink (a checkout below a 0700 directory): Dovecot's auth
	 * process gets the real paths, which it can reach. */
	char *real = realpath(k->dir, NULL);
	if (real != NULL) {
		harness_remember_running(stop_dir, k->dir, FALSE);
		g_strlcpy(k->dir, real, sizeof(k->dir));
		free(real);
		harness_remember_running(stop_dir, k->dir, TRUE);
	}
	snprintf(k->config, sizeof(k->config), "%s/krb5.conf", k->dir);
	snprintf(k->keytab, sizeof(k->keytab), "%s/pop.keytab", k->dir);
	snprintf(k->ccache, sizeof(k->ccache), "FILE:%s/ccache", k->dir);
	k->port = harness_read_port(k->dir, "port");
	if (k->port == 0) {
		harness_krb5_stop(k);
		return -1;
	}
	return 0;
}

void harness_krb5_use(const struct harness_krb5 *k)
{
	g_setenv("KRB5_CONFIG", k->config, TRUE);
	g_setenv("KRB5CCNAME", k->ccache, TRUE);
	g_unsetenv("KRB5_CLIENT_KTNAME");
	g_setenv("HARNESS_KRB5_CONFIG", k->config, TRUE);
	g_setenv("HARNESS_KRB5_KEYTAB", k->keytab, TRUE);
}

int harness_krb5_kinit(struct harness_krb5 *k, const char *path)
{
	return run("kinit", k->dir, path);
}

int harness_krb5_kadmin(struct harness_krb5 *k, const char *query)
{
	return run("kadmin", k->dir, query);
}

int harness_krb5_stop(struct harness_krb5 *k)
{
	if (run("stop", k->dir, NULL) != 0)
		return -1;
	harness_remember_running(stop_dir, k->dir, FALSE);
	k->port = 0;
	return 0;
}
