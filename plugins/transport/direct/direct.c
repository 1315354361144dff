/* Transport "direct" (FirewallType 0): a TCP connection to the server,
 * with the socket options, local binding and IPv6 policy of the reference.
 * Proxy transports reach their proxy through it (host->tcp_connect). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spop/plugin.h>

/* errno values onto the reference's codes, as the core does. */
static int code_of(int err)
{
	switch (err) {
	case ECONNREFUSED: return SPOP_ERR_CONNECTION_REFUSED;
	case ETIMEDOUT: return SPOP_ERR_CONNECT_TIMEOUT;
	case ENETUNREACH: return SPOP_ERR_NET_UNREACHABLE;
	case EHOSTUNREACH: return SPOP_ERR_HOST_UNREACHABLE;
	case EADDRINUSE: return SPOP_ERR_ADDRESS_IN_USE;
	case EADDRNOTAVAIL: return SPOP_ERR_ADDRESS_NOT_AVAILABLE;
	case EACCES:
	case EPERM: return SPOP_ERR_ACCESS_DENIED;
	case EAFNOSUPPORT: return SPOP_ERR_ADDRESS_FAMILY_NOT_SUPPORTED;
	case ECONNRESET: return SPOP_ERR_CONNECTION_RESET;
	default: return SPOP_ERR_INVALID_ARGUMENT;
	}
}

static int set_int_opt(int fd, int level, int opt, int value)
{
	return setsockopt(fd, level, opt, &value, sizeof(value));
}

/* Keep-alive times are milliseconds in the reference, seconds in Linux;
 * rounded up so a small value never turns into "off". */
static int ms_to_s(long long ms)
{
	return ms <= 0 ? 0 : (int)((ms + 999) / 1000);
}

static int apply_options(struct spop_host *h, int fd)
{
	if (h->setting_int(h, "TcpNoDelay", 0))
		set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	if (h->setting_int(h, "TCPKeepAlive", 0)) {
		long long t = h->setting_int(h, "KeepAliveTime", 0);
		long long i = h->setting_int(h, "KeepAliveInterval", 0);
		long long c = h->setting_int(h, "KeepAliveRetryCount", 0);

		set_int_opt(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
		if (t > 0)
			set_int_opt(fd, IPPROTO_TCP, TCP_KEEPIDLE, ms_to_s(t));
		if (i > 0)
			set_int_opt(fd, IPPROTO_TCP, TCP_KEEPINTVL, ms_to_s(i));
		if (c > 0)
			set_int_opt(fd, IPPROTO_TCP, TCP_KEEPCNT, (int)c);
	}
	/* Linger=False: close resets at once. Linger=True with LingerTime:
	 * close waits that long for unsent data. Otherwise the OS default. */
	long long lt = h->setting_int(h, "LingerTime", 0);
	int linger = (int)h->setting_int(h, "Linger", 1);
	if (!linger || lt > 0) {
		struct linger l = {1, linger ? (int)lt : 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	long long in = h->setting_int(h, "InBufferSize", 0);
	long long out = h->setting_int(h, "OutBufferSize", 0);
	if (in > 0)
		set_int_opt(fd, SOL_SOCKET, SO_RCVBUF, (int)in);
	if (out > 0)
		set_int_opt(fd, SOL_SOCKET, SO_SNDBUF, (int)out);
	return 0;
}

static int bind_local(struct spop_host *h, int fd, int family)
{
	const char *local = h->setting(h, "LocalHost");
	int port = (int)h->setting_int(h, "LocalPort", 0);

	if ((!local || !*local) && !port)
		return 0;
	struct spop_address *addrs = NULL;
	size_t n = 0;
	int rc;

	if (local && *local) {
		rc = h->resolve(h, local, port, &addrs, &n);
		if (rc)
			return rc;
	}
	struct sockaddr_storage ss;
	socklen_t len = 0;
	memset(&ss, 0, sizeof(ss));
	for (size_t i = 0; i < n && !len; i++)
		if (addrs[i].family == family) {
			memcpy(&ss, addrs[i].addr, addrs[i].addr_len);
			len = addrs[i].addr_len;
		}
	h->free(h, addrs);
	if (local && *local && !len)
		return h->set_error(h, SPOP_ERR_ADDRESS_FAMILY_NOT_SUPPORTED,
				    "LocalHost %s has no address "
				    "of the server's family.",
				    local);
	if (!len) {
		ss.ss_family = (sa_family_t)family;
		if (family == AF_INET6) {
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
			len = sizeof(struct sockaddr_in6);
		} else {
			((struct sockaddr_in *)&ss)->sin_port = htons(port);
			len = sizeof(struct sockaddr_in);
		}
	}
	if (port)
		set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (bind(fd, (struct sockaddr *)&ss, len))
		return h->set_error(h, code_of(errno),
				    "Cannot bind to "
				    "LocalHost '%s' LocalPort %d: %s.",
				    local ? local : "", port, strerror(errno));
	return 0;
}

static void describe(const struct spop_address *a, char *out, size_t len)
{
	const void *ip =
	    a->family == AF_INET6
		? (const void *)&((const struct sockaddr_in6 *)a->addr)
		      ->sin6_addr
		: (const void *)&((const struct sockaddr_in *)a->addr)
		      ->sin_addr;

	if (!inet_ntop(a->family, ip, out, (socklen_t)len))
		snprintf(out, len, "?");
}

static int try_address(struct spop_host *h, const struct spop_address *a,
		       const char *name, int port, int *fd_out)
{
	char ip[INET6_ADDRSTRLEN];
	int fd =
	    socket(a->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	describe(a, ip, sizeof(ip));
	if (fd < 0)
		return h->set_error(h, code_of(errno), "socket() for %s: %s.",
				    ip, strerror(errno));
	apply_options(h, fd);
	int rc = bind_local(h, fd, a->family);
	if (rc) {
		close(fd);
		return rc;
	}
	if (connect(fd, (const struct sockaddr *)a->addr, a->addr_len) &&
	    errno != EINPROGRESS) {
		int err = errno;
		close(fd);
		return h->set_error(h, code_of(err),
				    "Connecting to %s (%s) "
				    "port %d: %s.",
				    name, ip, port, strerror(err));
	}
	rc = h->wait_fd(h, fd, SPOP_WAIT_WRITE);
	if (rc) {
		close(fd);
		return rc;
	}
	int err = 0;
	socklen_t el = sizeof(err);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
	if (err) {
		close(fd);
		return h->set_error(h, code_of(err),
				    "Connecting to %s (%s) "
				    "port %d: %s.",
				    name, ip, port, strerror(err));
	}
	*fd_out = fd;
	return 0;
}

static int direct_open(struct spop_host *h, const char *name, int port, int *fd,
		       void **state)
{
	struct spop_address *addrs;
	size_t n;
	int rc;

	*state = NULL;
	/* No '*' reaches here: the core strips it for transports without
	 * SPOP_CAP_TRANSPORT_REMOTE_DNS. */
	rc = h->resolve(h, name, port, &addrs, &n);
	if (rc)
		return rc;
	/* Every address is tried in order; the last failure is reported,
	 * but an interrupt or timeout ends the attempt at once. */
	for (size_t i = 0; i < n; i++) {
		rc = try_address(h, &addrs[i], name, port, fd);
		if (!rc || rc == SPOP_ERR_INTERRUPTED || rc == SPOP_ERR_TIMEOUT)
			break;
	}
	h->free(h, addrs);
	return rc;
}

static const struct spop_transport_ops ops = {
    .size = sizeof(struct spop_transport_ops),
    .open = direct_open,
};

static const int32_t selectors[] = {0};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_TRANSPORT,
    .name = "direct",
    .version = "1.0",
    .description = "TCP connection straight to the server (FirewallType 0)",
    .selectors = selectors,
    .n_selectors = 1,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
