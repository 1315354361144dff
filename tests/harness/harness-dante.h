/* C API for suites that need a SOCKS proxy: starts and stops the private
 * Dante server of dante-harness.sh (SOCKS4 and SOCKS5 without
 * authentication on 127.0.0.1, towards 127.0.0.0/8; Dante 1.4.2 refuses
 * SOCKS4A, see harness-ssh-socks.h for a real one). */
#ifndef SPOP_TEST_HARNESS_DANTE_H
#define SPOP_TEST_HARNESS_DANTE_H

struct harness_dante {
	char dir[4096]; /* absolute; danted.conf, danted.log, ... */
	int port;	/* the proxy on 127.0.0.1; 0 when not running */
};

/* NULL if a private danted can run here, else why not. */
const char *harness_dante_unavailable(void);

/* Starts danted under dir (created; a relative dir is taken below
 * HARNESS_WORK_DIR/dante). Returns 0, or -1 after printing why. An
 * instance still running at exit() is stopped then. */
int harness_dante_start(struct harness_dante *d, const char *dir);

/* Stops it; stopping a stopped one succeeds. 0 or -1. */
int harness_dante_stop(struct harness_dante *d);

#endif
