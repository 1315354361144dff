/* Transport "socks4" (FirewallType 2 SOCKS4, and 10 SOCKS4A): a TCP
 * connection to the server through a SOCKS4 proxy, FirewallUser sent as
 * the USERID. The two protocols differ only in SOCKS4A's host name after
 * the USERID, so one plugin serves both and reads FirewallType (the core
 * answers it with an auto-detected proxy's type too).
 *
 * Written on the host's tcp_connect/read_some/write_all rather than GIO's
 * GProxy, as socks5 is: GProxy needs a GIOStream and blocks in its own
 * I/O, so it would not honour Timeout, Interrupt and MaxTransferRate, nor
 * LocalHost and the socket options of the connection to the proxy; the
 * handshake is one fixed-layout request and an 8-byte reply, read into a
 * buffer of that size and checked byte by byte.
 *
 * SOCKS4 carries an IPv4 address only: a name is resolved here to its
 * first IPv4 address, "*host" included (the trail says so). SOCKS4A
 * passes "*host" to the proxy unresolved (DSTIP 0.0.0.1, the name after
 * the USERID); a name without '*' is resolved here, as socks5 does. A
 * proxy failure is error 118 naming the proxy and its reply in words;
 * nothing ever falls back to a direct connection. FirewallPassword has no
 * place in either protocol. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spop/plugin.h>

#include "socks.h"

#define SOCKS_VERSION 4
#define CMD_CONNECT   1
#define REPLY_VERSION 0 /* the VN of every reply */
#define GRANTED	      90
#define NAME_MAX_LEN  255 /* as socks5 carries, and Dante accepts */

/* The reply codes after 90 (granted), in words. */
static const char *reply_text(unsigned code)
{
	switch (code) {
	case 91: return "request rejected or failed";
	case 92:
		return "request rejected because the proxy cannot reach "
		       "identd on the client";
	case 93:
		return "request rejected because identd on the client "
		       "reports a user id other than FirewallUser";
	default: return NULL;
	}
}

/* The IPv4 address to ask for: a literal, or the first IPv4 address name
 * resolves to (resolve honours UseIPv6). */
static int ipv4_of(struct socks_proxy *p, const char *name, int port,
		   struct in_addr *out)
{
	struct spop_host *h = p->h;
	struct in6_addr a6;
	struct spop_address *addrs = NULL;
	size_t count = 0;
	int rc;

	if (inet_pton(AF_INET, name, out) == 1)
		return 0;
	if (inet_pton(AF_INET6, name, &a6) == 1)
		return h->set_error(h, SPOP_ERR_FIREWALL,
				    "MailServer %s is an IPv6 address; %s "
				    "proxy %s:%d carries IPv4 addresses only "
				    "(SOCKS5 carries IPv6).",
				    name, p->label, p->host, p->port);
	rc = h->resolve(h, name, port, &addrs, &count);
	if (rc)
		return rc;
	for (size_t i = 0; i < count; i++) {
		if (addrs[i].family == AF_INET) {
			memcpy(out,
			       &((const struct sockaddr_in *)addrs[i].addr)
				    ->sin_addr,
			       sizeof(*out));
			h->free(h, addrs);
			return 0;
		}
	}
	h->free(h, addrs);
	return h->set_error(h, SPOP_ERR_HOST_NOT_FOUND,
			    "%s has no IPv4 address, and %s proxy %s:%d "
			    "carries IPv4 addresses only.",
			    name, p->label, p->host, p->port);
}

/* The CONNECT request: VN CD DSTPORT DSTIP USERID NUL [name NUL], and
 * the proxy's 8-byte reply. */
static int connect_request(struct socks_proxy *p, const char *target, int port,
			   const struct in_addr *a4, const char *user,
			   int remote)
{
	unsigned char req[8 + NAME_MAX_LEN + 1 + NAME_MAX_LEN + 1];
	unsigned char reply[8];
	size_t n = 0, ul = strlen(user);
	int rc;

	req[n++] = SOCKS_VERSION;
	req[n++] = CMD_CONNECT;
	req[n++] = (unsigned char)((port >> 8) & 0xff);
	req[n++] = (unsigned char)(port & 0xff);
	memcpy(req + n, a4, 4);
	n += 4;
	memcpy(req + n, user, ul + 1);
	n += ul + 1;
	if (remote) {
		size_t tl = strlen(target);

		memcpy(req + n, target, tl + 1);
		n += tl + 1;
	}
	rc = p->h->write_all(p->h, p->fd, req, n);
	if (rc)
		return rc;
	/* A proxy that cannot reach the target may just hang up (ssh -D
	 * does): the message then names what was asked for. */
	char what[NAME_MAX_LEN + 64];
	snprintf(what, sizeof(what), "CONNECT reply (for %s port %d)", target,
		 port);
	rc = socks_read_exact(p, reply, sizeof(reply), what);
	if (rc)
		return rc;
	if (reply[0] != REPLY_VERSION)
		return socks_fail(p, "answered CONNECT with version %u, not 0.",
				  reply[0]);
	if (reply[1] == GRANTED)
		return 0; /* DSTPORT and DSTIP of the reply carry nothing */
	if (!reply_text(reply[1]))
		return socks_fail(p, "answered CONNECT with unknown reply %u.",
				  reply[1]);
	return socks_fail(p, "could not connect to %s port %d: %s (reply %u).",
			  target, port, reply_text(reply[1]), reply[1]);
}

static int socks4_open(struct spop_host *h, const char *name, int port,
		       int *fd_out, void **state)
{
	int type = (int)h->setting_int(h, "FirewallType", 0);
	const char *host = h->setting(h, "FirewallHost");
	const char *user = h->setting(h, "FirewallUser");
	const char *password = h->setting(h, "FirewallPassword");
	struct socks_proxy p = {h, type == 10 ? "SOCKS4A" : "SOCKS4", host,
				(int)h->setting_int(h, "FirewallPort", 0), -1};
	const char *target = *name == '*' ? name + 1 : name;
	int remote = type == 10 && *name == '*';
	struct in_addr a4;
	char line[600];
	int rc;

	*state = NULL;
	if (type != 2 && type != 10)
		return h->set_error(h, SPOP_ERR_FIREWALL,
				    "the socks4 transport serves FirewallType "
				    "2 (SOCKS4) and 10 (SOCKS4A), not %d.",
				    type);
	if (!host || !*host)
		return h->set_error(h, SPOP_ERR_FIREWALL,
				    "FirewallType %d (%s) needs FirewallHost.",
				    type, p.label);
	if (p.port <= 0)
		return h->set_error(h, SPOP_ERR_FIREWALL,
				    "FirewallType %d (%s) needs FirewallPort.",
				    type, p.label);
	if (port <= 0 || port > 65535)
		return h->set_error(h, SPOP_ERR_FIREWALL,
				    "MailPort %d does not fit %s's 16-bit "
				    "port.",
				    port, p.label);
	/* Refused before anything is sent. The USERID and the name end at
	 * a NUL, which a C string cannot hold, so only the length is
	 * checked. */
	if (*target == '\0')
		return h->set_error(h, SPOP_ERR_FIREWALL,
				    "MailServer is empty.");
	if (strlen(target) > NAME_MAX_LEN)
		return h->set_error(h, SPOP_ERR_FIREWALL,
				    "MailServer is %zu bytes long; %s "
				    "carries at most %d.",
				    strlen(target), p.label, NAME_MAX_LEN);
	if (!user)
		user = "";
	if (strlen(user) > NAME_MAX_LEN)
		return h->set_error(h, SPOP_ERR_FIREWALL,
				    "FirewallUser is %zu bytes long; %s "
				    "carries a user id of at most %d.",
				    strlen(user), p.label, NAME_MAX_LEN);

	/* Resolved before the proxy is contacted: a name SOCKS4 cannot
	 * carry never reaches it. */
	if (remote) {
		a4.s_addr = htonl(1); /* 0.0.0.1: "the name follows" */
	} else {
		rc = ipv4_of(&p, target, port, &a4);
		if (rc)
			return rc;
	}
	snprintf(line, sizeof(line), "%s proxy %s:%d, to %s%s:%d%s", p.label,
		 host, p.port, target, remote ? " (resolved by the proxy)" : "",
		 port, *user ? ", FirewallUser as the user id" : "");
	h->trail(h, SPOP_TRAIL_INFO, line);
	if (password && *password) {
		snprintf(line, sizeof(line),
			 "FirewallPassword is not used: %s sends only the "
			 "user id (FirewallUser).",
			 p.label);
		h->trail(h, SPOP_TRAIL_INFO, line);
	}
	if (!remote && *name == '*') {
		char addr[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &a4, addr, sizeof(addr));
		snprintf(line, sizeof(line),
			 "%s cannot pass a name to the proxy: MailServer %s "
			 "resolved here to %s.",
			 p.label, name, addr);
		h->trail(h, SPOP_TRAIL_INFO, line);
	}
	rc = h->tcp_connect(h, host, p.port, &p.fd);
	if (rc)
		return rc;
	rc = connect_request(&p, target, port, &a4, user, remote);
	if (rc) {
		close(p.fd);
		return rc;
	}
	*fd_out = p.fd;
	return 0;
}

static const struct spop_transport_ops ops = {
    .size = sizeof(struct spop_transport_ops),
    .open = socks4_open,
};

static const int32_t selectors[] = {2, 10};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_TRANSPORT,
    .name = "socks4",
    .version = "1.0",
    .description = "TCP connection through a SOCKS4 (FirewallType 2) or "
		   "SOCKS4A (FirewallType 10) proxy",
    /* the name reaches the proxy for SOCKS4A; for SOCKS4 "*host" is
     * resolved here */
    .capabilities = SPOP_CAP_TRANSPORT_REMOTE_DNS,
    .selectors = selectors,
    .n_selectors = 2,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
