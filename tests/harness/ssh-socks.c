/* Drives tests/harness/ssh-socks-harness.sh for CUnit suites: ssh -D
 * through a private Dropbear, stopped at exit if a suite forgot
 * (harness-script.h). */
#include "harness-ssh-socks.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "harness-script.h"

#ifndef HARNESS_SCRIPT_DIR
#error "HARNESS_SCRIPT_DIR must name tests/harness in the source tree"
#endif

#define SSH_SOCKS_SCRIPT HARNESS_SCRIPT_DIR "/ssh-socks-harness.sh"

/* 0, or -1 after printing the script's output. */
static int run(const char *command, const char *dir)
{
	const char *argv[] = {SSH_SOCKS_SCRIPT, command, dir, NULL};

	return harness_spawn(argv, NULL);
}

static void stop_dir(const char *dir)
{
	run("stop", dir);
}

static int have_tool(const char *name)
{
	char *path = g_find_program_in_path(name);
	char *sbin = g_build_filename("/usr/sbin", name, NULL);
	int found = path != NULL || access(sbin, X_OK) == 0;

	g_free(path);
	g_free(sbin);
	return found;
}

const char *harness_ssh_socks_unavailable(void)
{
	static const char *const tools[][2] = {
	    {"dropbear", "dropbear is not installed (dropbear-bin)"},
	    {"dropbearkey", "dropbearkey is not installed (dropbear-bin)"},
	    {"ssh", "ssh is not installed (openssh-client)"},
	    {"ssh-keygen", "ssh-keygen is not installed (openssh-client)"},
	    {"unshare", "unshare is not installed (util-linux)"},
	};

	if (geteuid() != 0)
		return "a private Dropbear needs root (a private mount "
		       "namespace covers root's ~/.ssh)";
	for (size_t i = 0; i < G_N_ELEMENTS(tools); i++)
		if (!have_tool(tools[i][0]))
			return tools[i][1];
	return NULL;
}

int harness_ssh_socks_start(struct harness_ssh_socks *p, const char *dir)
{
	memset(p, 0, sizeof(*p));
	if (harness_instance_dir(p->dir, sizeof(p->dir), "ssh-socks", dir))
		return -1;
	/* The script may have started either process before it failed. */
	harness_remember_running(stop_dir, p->dir, TRUE);
	if (run("start", p->dir) == 0)
		p->port = harness_read_port(p->dir, "port");
	if (p->port == 0) {
		harness_ssh_socks_stop(p);
		return -1;
	}
	return 0;
}

int harness_ssh_socks_stop(struct harness_ssh_socks *p)
{
	if (!p->dir[0])
		return 0;
	if (run("stop", p->dir) != 0)
		return -1;
	harness_remember_running(stop_dir, p->dir, FALSE);
	p->port = 0;
	return 0;
}

char *harness_ssh_socks_log(const struct harness_ssh_socks *p, long long offset)
{
	char *path = g_build_filename(p->dir, "ssh.log", NULL);
	char *text = harness_file_from(path, offset);

	g_free(path);
	return text;
}

long long harness_ssh_socks_log_size(const struct harness_ssh_socks *p)
{
	char *path = g_build_filename(p->dir, "ssh.log", NULL);
	long long size = harness_file_size(path);

	g_free(path);
	return size;
}
