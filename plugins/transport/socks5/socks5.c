/* Transport "socks5" (FirewallType 3): a TCP connection to the server
 * through a SOCKS5 proxy (RFC 1928), with no authentication or with
 * username/password (RFC 1929) from FirewallUser and FirewallPassword.
 *
 * Written on the host's tcp_connect/read_some/write_all rather than GIO's
 * GProxy: GProxy needs a GIOStream and blocks in its own I/O, so it would
 * not honour Timeout, Interrupt and MaxTransferRate, nor LocalHost and the
 * socket options of the connection to the proxy; the handshake itself is
 * a few fixed-layout messages. Every reply byte is read into a buffer of
 * known size and checked before use.
 *
 * MailServer "*host" passes host to the proxy unresolved (the proxy
 * resolves it); otherwise the name is resolved here and the proxy gets
 * the address. A proxy failure is error 118 naming the proxy and its
 * reason; nothing ever falls back to a direct connection. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spop/plugin.h>

#include "socks.h"

#define SOCKS_VERSION	5
#define AUTH_VERSION	1 /* RFC 1929 subnegotiation */
#define METHOD_NONE	0x00
#define METHOD_USERPASS 0x02
#define METHOD_REFUSED	0xff
#define CMD_CONNECT	1
#define ATYP_IPV4	1
#define ATYP_NAME	3
#define ATYP_IPV6	4

/* RFC 1928 section 6, the REP field in words. */
static const char *reply_text(unsigned code)
{
	switch (code) {
	case 1: return "general SOCKS server failure";
	case 2: return "connection not allowed by ruleset";
	case 3: return "network unreachable";
	case 4: return "host unreachable";
	case 5: return "connection refused";
	case 6: return "TTL expired";
	case 7: return "command not supported";
	case 8: return "address type not supported";
	default: return "unassigned reply code";
	}
}

/* Method selection (and RFC 1929 when the proxy asks for it). */
static int negotiate(struct socks_proxy *p, const char *user,
		     const char *password)
{
	int with_auth = user && *user;
	unsigned char hello[4] = {SOCKS_VERSION, 1, METHOD_NONE, 0};
	unsigned char reply[2];
	int rc;

	if (with_auth) {
		hello[1] = 2;
		hello[3] = METHOD_USERPASS;
	}
	rc = p->h->write_all(p->h, p->fd, hello, with_auth ? 4 : 3);
	if (rc)
		return rc;
	rc = socks_read_exact(p, reply, sizeof(reply), "method selection");
	if (rc)
		return rc;
	if (reply[0] != SOCKS_VERSION)
		return socks_fail(p, "answered version %u, not SOCKS5.",
				  reply[0]);
	if (reply[1] == METHOD_NONE)
		return 0;
	if (reply[1] == METHOD_REFUSED)
		return socks_fail(p,
				  "accepts none of the offered methods (%s).",
				  with_auth ? "none, username/password"
					    : "none; set FirewallUser and "
					      "FirewallPassword for "
					      "username/password");
	if (reply[1] != METHOD_USERPASS || !with_auth)
		return socks_fail(p, "chose method %u, which was not offered.",
				  reply[1]);

	size_t ulen = strlen(user), plen = strlen(password);
	unsigned char msg[3 + 255 + 255];

	msg[0] = AUTH_VERSION;
	msg[1] = (unsigned char)ulen;
	memcpy(msg + 2, user, ulen);
	msg[2 + ulen] = (unsigned char)plen;
	memcpy(msg + 3 + ulen, password, plen);
	rc = p->h->write_all(p->h, p->fd, msg, 3 + ulen + plen);
	memset(msg, 0, sizeof(msg));
	if (rc)
		return rc;
	rc = socks_read_exact(p, reply, sizeof(reply), "authentication reply");
	if (rc)
		return rc;
	if (reply[0] != AUTH_VERSION)
		return socks_fail(p,
				  "answered the username/password request with "
				  "version %u.",
				  reply[0]);
	if (reply[1] != 0)
		return socks_fail(p, "refused FirewallUser '%s' (status %u).",
				  user, reply[1]);
	return 0;
}

/* The CONNECT request's address: the name itself for "*name", else a
 * literal or the first address the name resolves to. */
static int build_request(struct spop_host *h, const char *name, int port,
			 unsigned char *req, size_t *len)
{
	size_t n = 0;

	req[n++] = SOCKS_VERSION;
	req[n++] = CMD_CONNECT;
	req[n++] = 0;
	if (*name == '*') {
		size_t nl = strlen(name + 1);

		req[n++] = ATYP_NAME;
		req[n++] = (unsigned char)nl;
		memcpy(req + n, name + 1, nl);
		n += nl;
	} else {
		struct in_addr a4;
		struct in6_addr a6;
		struct spop_address *addrs = NULL;
		size_t count = 0;
		int rc;

		if (inet_pton(AF_INET, name, &a4) == 1) {
			req[n++] = ATYP_IPV4;
			memcpy(req + n, &a4, 4);
			n += 4;
		} else if (inet_pton(AF_INET6, name, &a6) == 1) {
			req[n++] = ATYP_IPV6;
			memcpy(req + n, &a6, 16);
			n += 16;
		} else {
			rc = h->resolve(h, name, port, &addrs, &count);
			if (rc)
				return rc;
			if (count == 0 || (addrs[0].family != AF_INET &&
					   addrs[0].family != AF_INET6)) {
				h->free(h, addrs);
				return h->set_error(
				    h, SPOP_ERR_HOST_NOT_FOUND,
				    "%s has no IPv4 or IPv6 address.", name);
			}
			if (addrs[0].family == AF_INET) {
				req[n++] = ATYP_IPV4;
				memcpy(
				    req + n,
				    &((const struct sockaddr_in *)addrs[0].addr)
					 ->sin_addr,
				    4);
				n += 4;
			} else {
				req[n++] = ATYP_IPV6;
				memcpy(req + n,
				       &((const struct sockaddr_in6 *)addrs[0]
					     .addr)
					    ->sin6_addr,
				       16);
				n += 16;
			}
			h->free(h, addrs);
		}
	}
	req[n++] = (unsigned char)((port >> 8) & 0xff);
	req[n++] = (unsigned char)(port & 0xff);
	*len = n;
	return 0;
}

static int connect_request(struct socks_proxy *p, const char *name, int port)
{
	unsigned char req[4 + 1 + 255 + 2];
	unsigned char head[4], rest[1 + 255 + 2];
	size_t len = 0, restlen;
	int rc;

	rc = build_request(p->h, name, port, req, &len);
	if (rc)
		return rc;
	rc = p->h->write_all(p->h, p->fd, req, len);
	if (rc)
		return rc;
	/* A proxy that cannot reach the target may just hang up: the
	 * message then names what was asked for. */
	char what[255 + 64];
	snprintf(what, sizeof(what), "CONNECT reply (for %s port %d)",
		 *name == '*' ? name + 1 : name, port);
	rc = socks_read_exact(p, head, sizeof(head), what);
	if (rc)
		return rc;
	if (head[0] != SOCKS_VERSION)
		return socks_fail(p, "answered CONNECT with version %u.",
				  head[0]);
	if (head[1] != 0)
		return socks_fail(
		    p, "could not connect to %s port %d: %s (reply %u).",
		    *name == '*' ? name + 1 : name, port, reply_text(head[1]),
		    head[1]);
	/* BND.ADDR and BND.PORT: read to keep the stream in step. */
	switch (head[3]) {
	case ATYP_IPV4: restlen = 4 + 2; break;
	case ATYP_IPV6: restlen = 16 + 2; break;
	case ATYP_NAME:
		rc = socks_read_exact(p, rest, 1, what);
		if (rc)
			return rc;
		restlen = (size_t)rest[0] + 2;
		break;
	default:
		return socks_fail(p, "answered CONNECT with address type %u.",
				  head[3]);
	}
	return socks_read_exact(p, rest, restlen, what);
}

static int socks5_open(struct spop_host *h, const char *name, int port,
		       int *fd_out, void **state)
{
	const char *host = h->setting(h, "FirewallHost");
	const char *user = h->setting(h, "FirewallUser");
	const char *password = h->setting(h, "FirewallPassword");
	struct socks_proxy p = {h, "SOCKS5", host,
				(int)h->setting_int(h, "FirewallPort", 0), -1};
	const char *target = *name == '*' ? name + 1 : name;
	char line[600];
	int rc;

	*state = NULL;
	if (!host || !*host)
		return h->set_error(h, SPOP_ERR_FIREWALL,
				    "FirewallType 3 (SOCKS5) needs "
				    "FirewallHost.");
	if (p.port <= 0)
		return h->set_error(h, SPOP_ERR_FIREWALL,
				    "FirewallType 3 (SOCKS5) needs "
				    "FirewallPort.");
	/* Refused before anything is sent: each is a one-byte length. */
	if (strlen(target) > 255)
		return h->set_error(h, SPOP_ERR_FIREWALL,
				    "MailServer is %zu bytes long; SOCKS5 "
				    "carries at most 255.",
				    strlen(target));
	if (*target == '\0')
		return h->set_error(h, SPOP_ERR_FIREWALL,
				    "MailServer is empty.");
	if (user && *user &&
	    (strlen(user) > 255 || !password || strlen(password) > 255))
		return h->set_error(h, SPOP_ERR_FIREWALL,
				    "FirewallUser and FirewallPassword must "
				    "each be at most 255 bytes for SOCKS5.");

	snprintf(line, sizeof(line), "SOCKS5 proxy %s:%d, to %s%s:%d%s", host,
		 p.port, target, *name == '*' ? " (resolved by the proxy)" : "",
		 port, user && *user ? ", as FirewallUser" : "");
	h->trail(h, SPOP_TRAIL_INFO, line);
	rc = h->tcp_connect(h, host, p.port, &p.fd);
	if (rc)
		return rc;
	rc = negotiate(&p, user, password ? password : "");
	if (!rc)
		rc = connect_request(&p, name, port);
	if (rc) {
		close(p.fd);
		return rc;
	}
	*fd_out = p.fd;
	return 0;
}

static const struct spop_transport_ops ops = {
    .size = sizeof(struct spop_transport_ops),
    .open = socks5_open,
};

static const int32_t selectors[] = {3};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_TRANSPORT,
    .name = "socks5",
    .version = "1.0",
    .description = "TCP connection through a SOCKS5 proxy (FirewallType 3)",
    .capabilities =
	SPOP_CAP_TRANSPORT_REMOTE_DNS | SPOP_CAP_TRANSPORT_PROXY_AUTH,
    .selectors = selectors,
    .n_selectors = 1,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
