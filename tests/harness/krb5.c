/* Drives tests/harness/krb5-harness.sh for CUnit suites: a private MIT KDC
 * per suite, stopped at exit if a suite forgot. */
#include "harness-krb5.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "harness.h"

#ifndef HARNESS_SCRIPT_DIR
#error "HARNESS_SCRIPT_DIR must name tests/harness in the source tree"
#endif
#ifndef HARNESS_WORK_DIR
#error "HARNESS_WORK_DIR must name a directory in the build tree"
#endif

#define KRB5_SCRIPT HARNESS_SCRIPT_DIR "/krb5-harness.sh"

static char *running_dir; /* the one KDC of this process, for exit() */
static pid_t running_owner;

/* 0, or -1 after printing the script's output. */
static int run(const char *command, const char *dir, const char *arg)
{
	const char *argv[] = {KRB5_SCRIPT, command, dir, arg, NULL};
	char *out = NULL, *err = NULL, **envp;
	GError *error = NULL;
	int status, ok;

	envp = g_environ_setenv(g_get_environ(), "HARNESS_KRB5_USER",
				HARNESS_MAIN_USER, TRUE);
	envp = g_environ_setenv(envp, "HARNESS_KRB5_PASSWORD",
				HARNESS_MAIN_PASSWORD, TRUE);
	ok = g_spawn_sync(NULL, (char **)argv, envp, G_SPAWN_DEFAULT, NULL,
			  NULL, &out, &err, &status, &error);
	if (ok)
		ok = g_spawn_check_wait_status(status, &error);
	if (!ok) {
		fprintf(stderr,
			"harness: krb5-harness.sh %s %s %s failed: %s\n%s%s",
			command, dir, arg ? arg : "", error->message,
			out ? out : "", err ? err : "");
		g_error_free(error);
	}
	g_strfreev(envp);
	g_free(out);
	g_free(err);
	return ok ? 0 : -1;
}

static void stop_leftover(void)
{
	/* A forked child exiting must not stop its parent's KDC. */
	if (running_dir == NULL || getpid() != running_owner)
		return;
	run("stop", running_dir, NULL);
	g_clear_pointer(&running_dir, g_free);
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
	char *path, *text = NULL;

	memset(k, 0, sizeof(*k));
	path = g_path_is_absolute(dir)
		   ? g_strdup(dir)
		   : g_build_filename(HARNESS_WORK_DIR, "krb5", dir, NULL);
	if (g_strlcpy(k->dir, path, sizeof(k->dir)) >= sizeof(k->dir)) {
		fprintf(stderr, "harness: directory name too long: %s\n", path);
		g_free(path);
		return -1;
	}
	g_free(path);
	if (run("start", k->dir, NULL) != 0)
		return -1;
	/* The script may have moved the KDC under /tmp, leaving DIR a
	 * symlink (a checkout below a 0700 directory): Dovecot's auth
	 * process gets the real paths, which it can reach. */
	char *real = realpath(k->dir, NULL);
	if (real != NULL) {
		g_strlcpy(k->dir, real, sizeof(k->dir));
		free(real);
	}
	snprintf(k->config, sizeof(k->config), "%s/krb5.conf", k->dir);
	snprintf(k->keytab, sizeof(k->keytab), "%s/pop.keytab", k->dir);
	snprintf(k->ccache, sizeof(k->ccache), "FILE:%s/ccache", k->dir);
	if (running_dir == NULL) {
		running_owner = getpid();
		atexit(stop_leftover);
	}
	g_free(running_dir);
	running_dir = g_strdup(k->dir);

	path = g_build_filename(k->dir, "port", NULL);
	if (g_file_get_contents(path, &text, NULL, NULL))
		k->port = atoi(text);
	g_free(text);
	if (k->port <= 0 || k->port > 65535) {
		fprintf(stderr, "harness: no valid KDC port in %s\n", path);
		g_free(path);
		harness_krb5_stop(k);
		return -1;
	}
	g_free(path);
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
	int rc = run("stop", k->dir, NULL);

	if (rc == 0) {
		k->port = 0;
		if (running_dir != NULL && strcmp(running_dir, k->dir) == 0)
			g_clear_pointer(&running_dir, g_free);
	}
	return rc;
}
