/* C API for suites that need a real SOCKS4A proxy: OpenSSH's client with
 * dynamic forwarding (ssh -D, SOCKS4, SOCKS4A and SOCKS5 without
 * authentication on 127.0.0.1) through a private Dropbear, both run by
 * ssh-socks-harness.sh. Unlike Dante, ssh -D resolves SOCKS4A names; it
 * answers only once the SSH server has connected, and when that fails it
 * closes the SOCKS connection without a reply. */
#ifndef SPOP_TEST_HARNESS_SSH_SOCKS_H
#define SPOP_TEST_HARNESS_SSH_SOCKS_H

struct harness_ssh_socks {
	char dir[4096]; /* absolute; ssh.log, dropbear.log, keys, ... */
	int port;	/* the SOCKS proxy (ssh -D) on 127.0.0.1; 0: stopped */
};

/* NULL if a private ssh -D and Dropbear can run here, else why not. */
const char *harness_ssh_socks_unavailable(void);

/* Starts Dropbear and ssh -D under dir (created; a relative dir is taken
 * below HARNESS_WORK_DIR/ssh-socks). 0, or -1 after printing why. An
 * instance still running at exit() is stopped then. */
int harness_ssh_socks_start(struct harness_ssh_socks *p, const char *dir);

/* Stops both; stopping a stopped one succeeds. 0 or -1. */
int harness_ssh_socks_stop(struct harness_ssh_socks *p);

/* The client's log (LogLevel DEBUG2: "dynamic request: socks4 host H port
 * N command 1" per request, "open failed: connect failed: WHY" when the
 * server could not connect) from byte offset on; free with g_free(). */
char *harness_ssh_socks_log(const struct harness_ssh_socks *p,
			    long long offset);

/* Its size now, the offset for harness_ssh_socks_log(). */
long long harness_ssh_socks_log_size(const struct harness_ssh_socks *p);

#endif
