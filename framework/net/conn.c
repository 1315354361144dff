/* A connection's life: the transport plugin opens the socket, the stack is
 * built on it, the line reader hands the POP3 layer zero-copy lines or
 * MaxLineLength pieces, and one teardown ends it all. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stack.h"

#define READ_CHUNK (64 * 1024)

static void record_local_address(struct spi_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(c->fd, (struct sockaddr *)&ss, &sl))
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, c->local_host,
			  sizeof(c->local_host));
		c->local_port = ntohs(a->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &a->sin6_addr, c->local_host,
			  sizeof(c->local_host));
		c->local_port = ntohs(a->sin6_port);
	}
}

static struct spi_conn *conn_new(struct spop *s, int fd)
{
	struct spi_conn *c = g_new0(struct spi_conn, 1);

	c->s = s;
	spi_socket_layer_init(c, fd);
	return c;
}

const char *spi_conn_local_host(struct spop *s)
{
	return s->conn && *s->conn->local_host ? s->conn->local_host : NULL;
}

int spi_conn_local_port(struct spop *s)
{
	return s->conn ? s->conn->local_port : 0;
}

static void transport_close(struct spi_conn *c)
{
	const struct spop_transport_ops *ops =
	    c->transport ? c->transport->ops : NULL;

	if (ops && SPOP_OPS_HAS(struct spop_transport_ops, ops, close))
		ops->close(&c->transport_host.pub, c->transport_state);
	c->transport = NULL;
}

/* "proxy HOST:PORT" of the proxy in use (a detected one, or the
 * application's Firewall* settings). */
static char *proxy_label(struct spop *s)
{
	char *host = spi_proxy_setting(s, "FirewallHost");
	char *port = spi_proxy_setting(s, "FirewallPort");
	char *label = g_strdup_printf("proxy %s:%d",
				      host ? host : spi_str(s->firewall_host),
				      port ? atoi(port) : s->firewall_port);

	g_free(host);
	g_free(port);
	return label;
}

const char *spi_conn_peer(struct spop *s, char *buf, size_t size)
{
	if (s->conn && s->conn->opening_via)
		return s->conn->opening_via;
	snprintf(buf, size, "%s:%d", spi_str(s->mail_server), s->mail_port);
	return buf;
}

int spi_conn_open(struct spop *s)
{
	const struct spop_plugin_descriptor *d;
	int type;
	bool remote_dns;
	int rc = spi_proxy_choose(s, &type, &remote_dns);

	if (!rc)
		rc = spi_plugin_select(s, SPOP_PLUGIN_TRANSPORT, "FirewallType",
				       type, &d);
	if (rc)
		return rc;
	const struct spop_transport_ops *ops = d->ops;
	if (!SPOP_OPS_HAS(struct spop_transport_ops, ops, open))
		return spi_fail(s, SPOP_ERR_PLUGIN_INVALID,
				"transport plugin '%s' has no open "
				"operation.",
				d->name);

	struct spi_conn *c = conn_new(s, -1);
	const char *server = spi_str(s->mail_server);
	const char *bare = *server == '*' ? server + 1 : server;
	int fd = -1;

	/* '*host' (or a detected socks4a/socks5h proxy) asks the proxy to
	 * resolve the name; a transport that cannot gets the plain name, so
	 * the core decides, not each plugin. An address needs no resolving
	 * and goes as an address. */
	char *name =
	    remote_dns && (d->capabilities & SPOP_CAP_TRANSPORT_REMOTE_DNS) &&
		    !g_hostname_is_ip_address(bare)
		? g_strconcat("*", bare, NULL)
		: g_strdup(bare);
	c->transport = d;
	spi_host_init(&c->transport_host, s, NULL);
	s->conn = c;
	if (type != SPOP_FW_NONE)
		c->opening_via = proxy_label(s);
	rc = ops->open(&c->transport_host.pub, name, s->mail_port, &fd,
		       &c->transport_state);
	g_clear_pointer(&c->opening_via, g_free);
	g_free(name);
	if (rc) {
		if (fd >= 0)
			close(fd);
		spi_conn_close(s, rc, s->error_text);
		return rc;
	}
	if (fd < 0) {
		rc = spi_fail(s, SPOP_ERR_PLUGIN_INVALID,
			      "transport plugin '%s' reported success "
			      "without a socket.",
			      d->name);
		spi_conn_close(s, rc, s->error_text);
		return rc;
	}
	/* The stack waits with poll(), so the socket never blocks. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	c->fd = fd;
	c->proxied = type != SPOP_FW_NONE;
	record_local_address(c);
	/* The reference's ConnectionStatus events: the proxy's part first
	 * (the transport returns once its tunnel stands, so both are done). */
	if (c->proxied)
		spi_emit_connection_status(s, "Firewall connection complete", 0,
					   "OK");
	spi_emit_connection_status(s, "Remote host connection complete", 0,
				   "OK");
	return 0;
}

void spi_conn_close(struct spop *s, int code, const char *description)
{
	struct spi_conn *c = s->conn;

	if (!c)
		return;
	bool was_open = c->fd >= 0, proxied = c->proxied;
	/* A TLS layer's close_notify may fail on a dead socket; that must
	 * not replace the error of the method that is ending. */
	struct spi_saved_error saved = spi_error_save(s);

	spi_stack_close(c);
	transport_close(c);
	spi_error_restore(s, &saved);
	g_free(c->buf);
	g_free(c);
	s->conn = NULL;
	if (was_open)
		spi_emit_connection_status(s, "Remote host disconnected", code,
					   code ? spi_str(description) : "OK");
	/* The tunnel ends with the session it carried. */
	if (was_open && proxied)
		spi_emit_connection_status(s, "Firewall host disconnected",
					   code,
					   code ? spi_str(description) : "OK");
}

void spi_conn_adopt(struct spop *s, int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	s->conn = conn_new(s, fd);
}

int spi_conn_write(struct spop *s, const void *data, size_t len)
{
	if (!s->conn)
		return spi_fail(s, SPOP_ERR_NOT_CONNECTED,
				"Not connected to a mail server.");
	return spi_stack_send(s->conn, data, len);
}

/* Room for one more read in the line buffer, compacting or growing it. */
static void make_room(struct spi_conn *c, size_t need)
{
	if (!c->buf) {
		c->cap = MAX(need, (size_t)READ_CHUNK);
		c->buf = g_malloc(c->cap);
	}
	if (c->start > 0 && c->start == c->end)
		c->start = c->end = 0;
	if (c->cap - c->end < READ_CHUNK / 4) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	size_t want = MAX(need, (size_t)READ_CHUNK);
	if (c->cap < want || c->cap - c->end < READ_CHUNK / 4) {
		c->cap = MAX(want, c->end + READ_CHUNK);
		c->buf = g_realloc(c->buf, c->cap);
	}
}

static int fill(struct spop *s)
{
	struct spi_conn *c = s->conn;

	make_room(c, (size_t)s->cfg.max_line_length + 2);
	ssize_t n = spi_stack_recv(c, c->buf + c->end, c->cap - c->end);
	if (n < 0)
		return (int)-n;
	c->end += (size_t)n;
	return 0;
}

int spi_conn_read_line(struct spop *s, const char **line, size_t *len,
		       bool *eol)
{
	struct spi_conn *c = s->conn;
	size_t max = (size_t)s->cfg.max_line_length;

	if (!c)
		return spi_fail(s, SPOP_ERR_NOT_CONNECTED,
				"Not connected to a mail server.");
	for (;;) {
		size_t avail = c->end - c->start;
		size_t scan = MIN(avail, max + 2);
		/* no buffer before the first read: NULL + 0 is undefined */
		char *base = c->buf ? c->buf + c->start : NULL;
		char *nl = scan ? memchr(base, '\n', scan) : NULL;

		if (nl && (size_t)(nl - base) <= max + 1) {
			size_t n = (size_t)(nl - base);

			c->start += n + 1;
			if (n && base[n - 1] == '\r')
				n--;
			if (n <= max) {
				*line = base;
				*len = n;
				*eol = true;
				return 0;
			}
			/* max+1 bytes before the CR LF: give back the tail */
			c->start -= (nl - base) + 1 - max;
			*line = base;
			*len = max;
			*eol = false;
			return 0;
		}
		if (avail >= max + 2) {
			size_t n = max;

			/* Never split a CR from its LF across pieces. */
			if (base[n - 1] == '\r')
				n--;
			c->start += n;
			*line = base;
			*len = n;
			*eol = false;
			return 0;
		}
		int rc = fill(s);
		if (rc)
			return rc;
	}
}

/* One pass over the buffered bytes in span mode: the body is moved down in
 * place over each stuffed dot (nothing moves until the first one), a bare
 * LF is given its CR in a separate span, and the run is handed over in one
 * call. Stops at the terminator (*end), or where a line starting with '.'
 * needs more bytes to tell a stuffed dot from the terminator. */
static void scan_spans(struct spop *s, struct spi_body_consumer *k, void *ud,
		       int *crc, bool *sol, bool *cr, bool *end)
{
	struct spi_conn *c = s->conn;
	char *buf = c->buf;
	size_t r = c->start, w = c->start, e = c->end, span = c->start;

	while (r < e) {
		if (*sol && buf[r] == '.') {
			if (e - r < 2 || (buf[r + 1] == '\r' && e - r < 3))
				break;
			if (buf[r + 1] == '\n' ||
			    (buf[r + 1] == '\r' && buf[r + 2] == '\n')) {
				r += buf[r + 1] == '\n' ? 2 : 3;
				*end = true;
				break;
			}
			r++;
		}
		char *nl = memchr(buf + r, '\n', e - r);
		size_t stop = nl ? (size_t)(nl - buf) : e;
		size_t n = stop - r;

		if (n) {
			if (w != r)
				memmove(buf + w, buf + r, n);
			*cr = buf[stop - 1] == '\r';
			w += n;
			r = stop;
			*sol = false;
		}
		if (!nl)
			break;
		if (!*cr) {
			/* bare LF: stored as CRLF, as the line reader does */
			if (!*crc && w > span)
				*crc = k->span(s, buf + span, w - span, ud);
			if (!*crc)
				*crc = k->span(s, "\r", 1, ud);
			span = w;
		}
		buf[w++] = '\n';
		r++;
		*cr = false;
		*sol = true;
	}
	if (!*crc && w > span)
		*crc = k->span(s, buf + span, w - span, ud);
	c->start = r;
}

int spi_conn_read_body(struct spop *s, struct spi_body_consumer *k, void *ud,
		       int *consumer_rc)
{
	bool sol = true, cr = false, end = false;

	if (!s->conn)
		return spi_fail(s, SPOP_ERR_NOT_CONNECTED,
				"Not connected to a mail server.");
	for (;;) {
		if (k->per_line || !k->span) {
			const char *line;
			size_t len;
			bool eol;
			int rc = spi_conn_read_line(s, &line, &len, &eol);

			if (rc)
				return rc;
			if (sol && len && line[0] == '.') {
				if (len == 1 && eol)
					return 0;
				if (len > 1) {
					line++;
					len--;
				}
			}
			if (!*consumer_rc && k->line)
				*consumer_rc = k->line(s, line, len, eol, ud);
			sol = eol;
			cr = false;
			continue;
		}
		scan_spans(s, k, ud, consumer_rc, &sol, &cr, &end);
		if (end)
			return 0;
		int rc = fill(s);
		if (rc)
			return rc;
	}
}

int spi_conn_poll(struct spop *s, int ms)
{
	struct spi_conn *c = s->conn;
	struct pollfd p[2] = {
	    {g_cancellable_get_fd(s->cancel), POLLIN, 0},
	    {c ? c->fd : -1, POLLIN, 0},
	};

	if (c && spi_conn_buffered(s))
		return 0;
	if (poll(p, c ? 2 : 1, ms) <= 0 || !c || !p[1].revents)
		return 0;
	/* Read through the stack, never peek the socket: under TLS the bytes
	 * on the wire may be a close_notify, or records the layer keeps. */
	make_room(c, (size_t)s->cfg.max_line_length + 2);
	ssize_t n = c->top->ops->recv(c->top, c->buf + c->end, c->cap - c->end);
	if (n > 0) {
		c->end += (size_t)n;
		return 0;
	}
	if (n == SPOP_IO_AGAIN_READ || n == SPOP_IO_AGAIN_WRITE)
		return 0;
	if (n == 0)
		return spi_fail(s, SPOP_ERR_DROPPED,
				"%s:%d closed the connection.",
				spi_str(s->mail_server), s->mail_port);
	return (int)-n;
}

/* ---- fd-level services for transports that set up a proxy ---- */

int spi_fd_write_all(struct spop *s, int fd, const void *data, size_t len)
{
	const char *p = data;
	char peer[320];

	while (len) {
		if (g_cancellable_is_cancelled(s->cancel))
			return spi_fail(s, SPOP_ERR_INTERRUPTED,
					"Interrupted by spop_interrupt().");
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
			      errno == EINTR)) {
			int rc = spi_wait_fd(s, fd, SPOP_WAIT_WRITE);
			if (rc)
				return rc;
			continue;
		}
		if (n < 0)
			return spi_fail(s, spi_errno_to_code(errno),
					"Sending to %s failed: %s.",
					spi_conn_peer(s, peer, sizeof(peer)),
					g_strerror(errno));
		spi_deadline_touch(s);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t spi_fd_read_some(struct spop *s, int fd, void *buf, size_t len)
{
	char peer[320];

	for (;;) {
		if (g_cancellable_is_cancelled(s->cancel))
			return -spi_fail(s, SPOP_ERR_INTERRUPTED,
					 "Interrupted by spop_interrupt().");
		ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n > 0) {
			spi_deadline_touch(s);
			return n;
		}
		if (n == 0)
			return -spi_fail(s, SPOP_ERR_DROPPED,
					 "%s closed the connection.",
					 spi_conn_peer(s, peer, sizeof(peer)));
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			int rc = spi_wait_fd(s, fd, SPOP_WAIT_READ);
			if (rc)
				return -rc;
			continue;
		}
		return -spi_fail(s, spi_errno_to_code(errno),
				 "Receiving from %s failed: %s.",
				 spi_conn_peer(s, peer, sizeof(peer)),
				 g_strerror(errno));
	}
}

int spi_tcp_connect(struct spop *s, const char *name, int port, int *fd)
{
	const struct spop_plugin_descriptor *d;
	int rc = spi_plugin_by_name(s, SPOP_PLUGIN_TRANSPORT, "direct", &d);
	if (rc)
		return rc;
	const struct spop_transport_ops *ops = d->ops;
	void *state = NULL;
	struct spi_host host;

	spi_host_init(&host, s, NULL);
	rc = ops->open(&host.pub, name, port, fd, &state);
	if (!rc && SPOP_OPS_HAS(struct spop_transport_ops, ops, close))
		ops->close(&host.pub, state);
	if (rc && s->conn && s->conn->opening_via && s->error_text) {
		/* A proxy transport's own connection: say it is the proxy
		 * that could not be reached, keeping the code and detail. */
		const char *code_text = spop_error_text(rc);
		const char *detail = s->error_text;
		if (g_str_has_prefix(detail, code_text))
			detail += strlen(code_text);
		while (*detail == ' ')
			detail++;
		char *kept = g_strdup(detail);
		spi_fail(s, rc, "Cannot reach the %s: %s", s->conn->opening_via,
			 kept);
		g_free(kept);
	}
	return rc;
}
