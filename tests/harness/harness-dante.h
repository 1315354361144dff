/* C API for suites that need a SOCKS proxy: starts and stops the private
 * Dante servers of dante-harness.sh on 127.0.0.1, towards 127.0.0.0/8:
 * SOCKS4 and SOCKS5 without authentication, or SOCKS5 with
 * username/password (RFC 1929) for one test user only that danted sees.
 * Dante 1.4.2 refuses SOCKS4A; harness-ssh-socks.h has a real one. */
#ifndef SPOP_TEST_HARNESS_DANTE_H
#define SPOP_TEST_HARNESS_DANTE_H

struct harness_dante {
	char dir[4096]; /* absolute; danted.conf, danted.log, ... */
	int port;	/* the proxy on 127.0.0.1; 0 when not running */
};

/* NULL if a private danted can run here, else why not. */
const char *harness_dante_unavailable(void);

/* Starts danted without authentication under dir (created; a relative dir
 * is taken below HARNESS_WORK_DIR/dante). Returns 0, or -1 after printing
 * why. An instance still running at exit() is stopped then. */
int harness_dante_start(struct harness_dante *d, const char *dir);

/* The same, but danted demands SOCKS5 username/password and accepts user
 * with password only. Dante checks system users: user exists only in
 * danted's private mount namespace (private /etc/passwd and /etc/shadow
 * bind-mounted there; the machine's /etc is untouched), and must not be a
 * user of this machine. Needs root and util-linux's unshare. */
int harness_dante_start_userpass(struct harness_dante *d, const char *dir,
				 const char *user, const char *password);

/* Stops it; stopping a stopped one succeeds. 0 or -1. */
int harness_dante_stop(struct harness_dante *d);

/* danted.log so far: every connection Dante accepted is a line in it
 * ("" when there is none). Free with g_free(). */
char *harness_dante_log(const struct harness_dante *d);

/* The log once it stops growing: Dante writes a session's last lines after
 * the client has gone, so "nothing new" is judged only on a log that has
 * settled (unchanged for 300 ms, at most 5 s). Free with g_free(). */
char *harness_dante_settled_log(const struct harness_dante *d);

#endif
