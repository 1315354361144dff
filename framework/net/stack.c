/* The layers of a connection and the one place where they wait: the socket
 * at the bottom, plugin TLS layers above it, and the read/write/wait
 * services every layer (and every plugin in the stack) goes through. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stack.h"
#include "tls/tls.h"

static int interrupted(struct spop *s)
{
	return spi_fail(s, SPOP_ERR_INTERRUPTED,
			"Interrupted by spop_interrupt().");
}

int spi_wait_fd(struct spop *s, int fd, int events)
{
	struct pollfd p[2] = {
	    {fd,
	     (short)((events & SPOP_WAIT_READ ? POLLIN : 0) |
		     (events & SPOP_WAIT_WRITE ? POLLOUT : 0)),
	     0},
	    {g_cancellable_get_fd(s->cancel), POLLIN, 0},
	};

	for (;;) {
		if (g_cancellable_is_cancelled(s->cancel))
			return interrupted(s);
		int ms = spi_deadline_remaining_ms(s);
		char peer[320];
		if (ms == 0)
			return spi_fail(s, SPOP_ERR_TIMEOUT,
					"No answer from %s within %d "
					"seconds (%s).",
					spi_conn_peer(s, peer, sizeof(peer)),
					s->deadline_seconds,
					s->deadline_name ? s->deadline_name
							 : "Timeout");
		int n = poll(p, p[1].fd >= 0 ? 2 : 1, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return spi_fail(s, spi_errno_to_code(errno), "poll: %s",
					g_strerror(errno));
		if (p[0].revents)
			return 0;
	}
}

/* MaxTransferRate, on the bytes that go on the wire. */
static void rate_limit(struct spi_conn *c, size_t sent)
{
	struct spop *s = c->s;
	long long rate = s->cfg.max_transfer_rate;

	if (rate <= 0)
		return;
	gint64 now = g_get_monotonic_time();
	if (!c->rate_start || now - c->rate_start > 10 * G_USEC_PER_SEC) {
		c->rate_start = now;
		c->rate_sent = 0;
	}
	c->rate_sent += (long long)sent;
	gint64 due = c->rate_start + c->rate_sent * G_USEC_PER_SEC / rate;
	if (due > now) {
		/* Sleep interruptibly: poll on the Interrupt fd alone. */
		struct pollfd p = {g_cancellable_get_fd(s->cancel), POLLIN, 0};
		poll(&p, 1, (int)((due - now + 999) / 1000));
	}
}

/* ---- the socket: bottom of every stack ---- */

static ssize_t socket_recv(struct spi_layer *l, void *buf, size_t len)
{
	struct spi_conn *c = l->conn;
	struct spop *s = c->s;

	for (;;) {
		ssize_t n = recv(c->fd, buf, len, MSG_DONTWAIT);

		if (n >= 0) {
			if (n > 0)
				spi_deadline_touch(s);
			return n;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return SPOP_IO_AGAIN_READ;
		return -spi_fail(s, spi_errno_to_code(errno),
				 "Receiving from %s:%d failed: %s.",
				 spi_str(s->mail_server), s->mail_port,
				 g_strerror(errno));
	}
}

static ssize_t socket_send(struct spi_layer *l, const void *buf, size_t len)
{
	struct spi_conn *c = l->conn;
	struct spop *s = c->s;

	for (;;) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			spi_deadline_touch(s);
			rate_limit(c, (size_t)n);
			return n;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK)
			return SPOP_IO_AGAIN_WRITE;
		return -spi_fail(
		    s, spi_errno_to_code(errno), "Sending to %s:%d failed: %s.",
		    spi_str(s->mail_server), s->mail_port, g_strerror(errno));
	}
}

static void socket_close(struct spi_layer *l)
{
	struct spi_conn *c = l->conn;

	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static const struct spi_layer_ops socket_ops = {
    .name = "socket",
    .recv = socket_recv,
    .send = socket_send,
    .close = socket_close,
};

void spi_socket_layer_init(struct spi_conn *c, int fd)
{
	c->fd = fd;
	c->socket = (struct spi_layer){.ops = &socket_ops, .conn = c};
	spi_host_init(&c->socket.host, c->s, &c->socket);
	c->top = &c->socket;
}

/* ---- services on the layer below a caller ---- */

static int wait_below(struct spi_layer *below, int events)
{
	struct spi_conn *c = below->conn;

	/* A layer holding bytes can be read without touching the socket. */
	for (struct spi_layer *l = below; l; l = l->below)
		if ((events & SPOP_WAIT_READ) && l->ops->pending &&
		    l->ops->pending(l))
			return 0;
	return spi_wait_fd(c->s, c->fd, events);
}

ssize_t spi_layer_io_read(struct spi_layer *l, void *buf, size_t len)
{
	if (!l || !l->below)
		return -SPOP_ERR_NOT_AVAILABLE;
	if (g_cancellable_is_cancelled(l->conn->s->cancel))
		return -interrupted(l->conn->s);
	ssize_t n = l->below->ops->recv(l->below, buf, len);
	if (n > 0 && l->is_tls)
		spi_tls_log_packet(l->conn->s, false, buf, (size_t)n);
	return n;
}

ssize_t spi_layer_io_write(struct spi_layer *l, const void *buf, size_t len)
{
	if (!l || !l->below)
		return -SPOP_ERR_NOT_AVAILABLE;
	if (g_cancellable_is_cancelled(l->conn->s->cancel))
		return -interrupted(l->conn->s);
	ssize_t n = l->below->ops->send(l->below, buf, len);
	if (n > 0 && l->is_tls)
		spi_tls_log_packet(l->conn->s, true, buf, (size_t)n);
	return n;
}

const char *spi_layer_plugin_name(const struct spi_layer *l)
{
	return l->plugin ? l->plugin->name : "";
}

int spi_layer_io_wait(struct spi_layer *l, int events)
{
	if (!l || !l->below)
		return SPOP_ERR_NOT_AVAILABLE;
	return wait_below(l->below, events);
}

/* ---- plugin TLS layers ---- */

static const struct spop_tls_ops *tls_ops(struct spi_layer *l)
{
	return l->plugin->ops;
}

static ssize_t tls_recv(struct spi_layer *l, void *buf, size_t len)
{
	return tls_ops(l)->read(&l->host.pub, l->ctx, buf, len);
}

static ssize_t tls_send(struct spi_layer *l, const void *buf, size_t len)
{
	return tls_ops(l)->write(&l->host.pub, l->ctx, buf, len);
}

static size_t tls_pending(struct spi_layer *l)
{
	const struct spop_tls_ops *ops = tls_ops(l);

	return SPOP_OPS_HAS(struct spop_tls_ops, ops, pending)
		   ? ops->pending(&l->host.pub, l->ctx)
		   : 0;
}

static int tls_channel_binding(struct spi_layer *l, const char *type,
			       unsigned char **data, size_t *len)
{
	const struct spop_tls_ops *ops = tls_ops(l);

	if (!SPOP_OPS_HAS(struct spop_tls_ops, ops, channel_binding))
		return spi_fail(l->conn->s, SPOP_ERR_NOT_AVAILABLE,
				"TLS provider '%s' gives no channel "
				"binding.",
				l->plugin->name);
	return ops->channel_binding(&l->host.pub, l->ctx, type, data, len);
}

static void tls_close(struct spi_layer *l)
{
	const struct spop_tls_ops *ops = tls_ops(l);

	if (l->ctx && SPOP_OPS_HAS(struct spop_tls_ops, ops, session_free))
		ops->session_free(&l->host.pub, l->ctx);
	l->ctx = NULL;
	/* The client certificate's store outlives the session using its
	 * key, not more. */
	spi_cert_choice_free(l->host.cert);
	l->host.cert = NULL;
}

static const struct spi_layer_ops tls_layer_ops = {
    .name = "tls",
    .recv = tls_recv,
    .send = tls_send,
    .pending = tls_pending,
    .channel_binding = tls_channel_binding,
    .close = tls_close,
};

static int tls_session(struct spi_layer *l, const char *server_name)
{
	const struct spop_tls_ops *ops = tls_ops(l);
	struct spi_conn *c = l->conn;

	/* The 1.1 style does its I/O through the layer below, so TLS works
	 * over any transport; a 1.0 provider knows only the socket. */
	if (SPOP_OPS_HAS(struct spop_tls_ops, ops, session_new_io))
		return ops->session_new_io(&l->host.pub, server_name, &l->ctx);
	if (l->below != &c->socket)
		return spi_fail(c->s, SPOP_ERR_NOT_AVAILABLE,
				"TLS provider '%s' (plugin ABI 1.0) works "
				"on a socket only and cannot sit on the %s "
				"layer.",
				l->plugin->name, l->below->ops->name);
	return ops->session_new(&l->host.pub, c->fd, server_name, &l->ctx);
}

/* The negotiated values, for SSLNegotiated* and SSLStatus. */
static void established(struct spi_layer *l)
{
	const struct spop_tls_ops *ops = tls_ops(l);
	struct spop_tls_info info = {.size = sizeof info};

	/* A provider that cannot say (no info, or info failing) still has
	 * an established session; its values are then empty. */
	struct spi_saved_error saved = spi_error_save(l->conn->s);
	if (SPOP_OPS_HAS(struct spop_tls_ops, ops, info))
		ops->info(&l->host.pub, l->ctx, &info);
	spi_error_restore(l->conn->s, &saved);
	spi_tls_established(l->conn->s, l->plugin->name, &info);
	if (info.peer_der)
		l->host.pub.free(&l->host.pub, info.peer_der);
}

int spi_conn_start_tls(struct spop *s, const struct spop_plugin_descriptor *d,
		       const char *server_name)
{
	struct spi_conn *c = s->conn;
	const struct spop_tls_ops *ops = d->ops;

	if (!c)
		return spi_fail(s, SPOP_ERR_NOT_CONNECTED,
				"Not connected to a mail server.");
	if (c->end > c->start || spi_conn_buffered(s))
		return spi_fail(s, SPOP_ERR_PROTOCOL,
				"%s:%d sent %zu bytes after its answer and "
				"before the TLS handshake; they cannot be "
				"trusted (STARTTLS injection), so the "
				"connection is dropped.",
				spi_str(s->mail_server), s->mail_port,
				spi_conn_buffered(s));
	if (!SPOP_OPS_HAS(struct spop_tls_ops, ops, handshake) ||
	    !SPOP_OPS_HAS(struct spop_tls_ops, ops, read) ||
	    !SPOP_OPS_HAS(struct spop_tls_ops, ops, write) ||
	    !(SPOP_OPS_HAS(struct spop_tls_ops, ops, session_new) ||
	      SPOP_OPS_HAS(struct spop_tls_ops, ops, session_new_io)))
		return spi_fail(s, SPOP_ERR_PLUGIN_INVALID,
				"TLS provider '%s' lacks session, "
				"handshake, read or write.",
				d->name);

	struct spi_layer *l = g_new0(struct spi_layer, 1);
	l->ops = &tls_layer_ops;
	l->below = c->top;
	l->conn = c;
	l->plugin = d;
	l->is_tls = true;
	spi_host_init(&l->host, s, l);
	spi_tls_begin(s, d->name);
	spi_emit_ssl_status(s, "TLS handshake with %s:%d started (%s)",
			    server_name, s->mail_port, d->name);
	int rc = tls_session(l, server_name);
	if (!rc)
		rc = ops->handshake(&l->host.pub, l->ctx);
	if (rc) {
		spi_emit_ssl_status(s, "TLS handshake with %s:%d failed: %s",
				    server_name, s->mail_port,
				    s->error_text ? s->error_text
						  : spop_error_text(rc));
		tls_close(l);
		g_free(l);
		return rc;
	}
	c->top = l;
	established(l);
	spi_emit_connection_status(s, "SSL handshake complete", 0, "OK");
	return 0;
}

bool spi_conn_tls_active(struct spop *s)
{
	for (struct spi_layer *l = s->conn ? s->conn->top : NULL; l;
	     l = l->below)
		if (l->is_tls)
			return true;
	return false;
}

int spi_conn_channel_binding(struct spop *s, const char *type,
			     unsigned char **data, size_t *len)
{
	/* The outermost TLS layer is the one talking to the server. */
	for (struct spi_layer *l = s->conn ? s->conn->top : NULL; l;
	     l = l->below)
		if (l->is_tls && l->ops->channel_binding)
			return l->ops->channel_binding(l, type, data, len);
	return spi_fail(s, SPOP_ERR_NOT_AVAILABLE,
			"Channel binding '%s' needs TLS, and the connection "
			"has none.",
			type);
}

size_t spi_conn_buffered(struct spop *s)
{
	struct spi_conn *c = s->conn;
	size_t n;

	if (!c)
		return 0;
	n = c->end - c->start;
	for (struct spi_layer *l = c->top; l; l = l->below)
		if (l->ops->pending)
			n += l->ops->pending(l);
	return n;
}

/* Closes the layers top-down: a TLS layer still has its transport for
 * close_notify. */
void spi_stack_close(struct spi_conn *c)
{
	while (c->top) {
		struct spi_layer *l = c->top;

		c->top = l->below;
		l->ops->close(l);
		if (l != &c->socket)
			g_free(l);
	}
}

/* ---- the top: what the line reader uses ---- */

ssize_t spi_stack_recv(struct spi_conn *c, void *buf, size_t len)
{
	struct spop *s = c->s;

	for (;;) {
		/* Data may always be ready on a fast link, so Interrupt is
		 * checked before every read, not only while waiting. */
		if (g_cancellable_is_cancelled(s->cancel))
			return -interrupted(s);
		ssize_t n = c->top->ops->recv(c->top, buf, len);
		if (n > 0)
			return n;
		if (n == 0)
			return -spi_fail(s, SPOP_ERR_DROPPED,
					 "%s:%d closed the connection.",
					 spi_str(s->mail_server), s->mail_port);
		if (n != SPOP_IO_AGAIN_READ && n != SPOP_IO_AGAIN_WRITE)
			return n;
		int rc = wait_below(c->top, n == SPOP_IO_AGAIN_READ
						? SPOP_WAIT_READ
						: SPOP_WAIT_WRITE);
		if (rc)
			return -rc;
	}
}

int spi_stack_send(struct spi_conn *c, const void *data, size_t len)
{
	struct spop *s = c->s;
	const char *p = data;

	while (len) {
		if (g_cancellable_is_cancelled(s->cancel))
			return interrupted(s);
		ssize_t n = c->top->ops->send(c->top, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n != SPOP_IO_AGAIN_READ && n != SPOP_IO_AGAIN_WRITE)
			return n < 0 ? (int)-n
				     : spi_fail(s, SPOP_ERR_COMMUNICATION,
						"write: 0");
		int rc = wait_below(c->top, n == SPOP_IO_AGAIN_READ
						? SPOP_WAIT_READ
						: SPOP_WAIT_WRITE);
		if (rc)
			return rc;
	}
	return 0;
}
