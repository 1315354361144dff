/* What the SOCKS transports (socks4, socks5) share: reading a proxy's
 * reply exactly, and the proxy's error 118 naming the proxy. */
#ifndef SPOP_TRANSPORT_SOCKS_H
#define SPOP_TRANSPORT_SOCKS_H

#include <stddef.h>

#include <spop/plugin.h>

struct socks_proxy {
	struct spop_host *h;
	const char *label; /* "SOCKS5", "SOCKS4", "SOCKS4A": in messages */
	const char *host;  /* FirewallHost, for messages */
	int port;	   /* FirewallPort */
	int fd;
};

/* Exactly len bytes of the proxy's reply to what. EOF is 118 (the proxy
 * hung up mid-handshake); a timeout or interrupt keeps its own code and
 * the host's error. */
int socks_read_exact(struct socks_proxy *p, unsigned char *buf, size_t len,
		     const char *what);

/* 118: "LABEL proxy HOST:PORT " and what it did. */
int socks_fail(struct socks_proxy *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
