/* A private tinyproxy (HTTP CONNECT) on 127.0.0.1 for the proxy suites,
 * driven through tinyproxy-harness.sh. */
#ifndef SPOP_HARNESS_TINYPROXY_H
#define SPOP_HARNESS_TINYPROXY_H

struct harness_tinyproxy {
	char dir[4096]; /* absolute; tinyproxy.conf, tinyproxy.log */
	int port;	/* 0 when not running */
};

/* Starts a proxy allowing CONNECT only to the n_ports ports given; auth
 * "USER PASS" requires Basic authentication (NULL: none). 0, or -1 after
 * printing why. */
int harness_tinyproxy_start(struct harness_tinyproxy *p, const char *auth,
			    const int *ports, int n_ports);
void harness_tinyproxy_stop(struct harness_tinyproxy *p);
/* The proxy's log so far; free with g_free(). */
char *harness_tinyproxy_log(struct harness_tinyproxy *p);

#endif
