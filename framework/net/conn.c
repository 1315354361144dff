/* The connection: the transport plugin's socket, waits that honour Timeout
 * and Interrupt, outbound rate limiting, and the line reader that hands the
 * POP3 layer zero-copy lines or MaxLineLength pieces. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "spop-private.h"

#define READ_CHUNK (64 * 1024)

struct spi_conn {
	int fd;
	const struct spop_plugin_descriptor *transport;
	void *transport_state;
	struct spop_host host;
	char *buf;
	size_t cap, start, end;
	bool eof;
	gint64 rate_start; /* monotonic us when rate accounting began */
	long long rate_sent;
};

static int interrupted(struct spop *s)
{
	return spi_fail(s, 10004, "Interrupted by spop_interrupt().");
}

/* Waits for events on fd, the Interrupt fd, or the deadline. */
int spi_conn_wait(struct spop *s, int fd, int events)
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
		if (ms == 0)
			return spi_fail(s, 301,
					"No answer from %s:%d within "
					"%d seconds.",
					s->mail_server, s->mail_port,
					s->timeout);
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

void spi_apply_rate_limit(struct spop *s, size_t sent)
{
	struct spi_conn *c = s->conn;
	long long rate = s->cfg.max_transfer_rate;

	if (!c || rate <= 0)
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

int spi_fd_write_all(struct spop *s, int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		if (g_cancellable_is_cancelled(s->cancel))
			return interrupted(s);
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			int rc = spi_conn_wait(s, fd, SPOP_WAIT_WRITE);
			if (rc)
				return rc;
			continue;
		}
		if (n < 0)
			return spi_fail(s, spi_errno_to_code(errno),
					"Sending to %s:%d failed: %s.",
					s->mail_server, s->mail_port,
					g_strerror(errno));
		spi_deadline_touch(s);
		spi_apply_rate_limit(s, (size_t)n);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t spi_fd_read_some(struct spop *s, int fd, void *buf, size_t len)
{
	for (;;) {
		/* Data may always be ready on a fast link, so Interrupt is
		 * checked before every read, not only while waiting. */
		if (g_cancellable_is_cancelled(s->cancel))
			return -interrupted(s);
		ssize_t n = recv(fd, buf, len, 0);
		if (n > 0) {
			spi_deadline_touch(s);
			return n;
		}
		if (n == 0)
			return -spi_fail(s, 1120,
					 "%s:%d closed the connection.",
					 s->mail_server, s->mail_port);
		if (errno == EAGAIN || errno == EINTR) {
			int rc = spi_conn_wait(s, fd, SPOP_WAIT_READ);
			if (rc)
				return -rc;
			continue;
		}
		return -spi_fail(s, spi_errno_to_code(errno),
				 "Receiving from %s:%d failed: %s.",
				 s->mail_server, s->mail_port,
				 g_strerror(errno));
	}
}

int spi_conn_write(struct spop *s, const void *data, size_t len)
{
	if (!s->conn)
		return spi_fail(s, 1117, "Not connected to a mail server.");
	return spi_fd_write_all(s, s->conn->fd, data, len);
}

int spi_conn_fd(struct spop *s)
{
	return s->conn ? s->conn->fd : -1;
}

static int fill(struct spop *s)
{
	struct spi_conn *c = s->conn;
	size_t need = (size_t)s->cfg.max_line_length + 2;

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
	ssize_t n =
	    spi_fd_read_some(s, c->fd, c->buf + c->end, c->cap - c->end);
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
		return spi_fail(s, 1117, "Not connected to a mail server.");
	for (;;) {
		size_t avail = c->end - c->start;
		size_t scan = MIN(avail, max + 2);
		char *base = c->buf + c->start;
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

static void fill_local_address(struct spop *s, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char text[INET6_ADDRSTRLEN] = "";
	int port = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
		port = ntohs(a->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
		port = ntohs(a->sin6_port);
	}
	g_free(s->local_host);
	s->local_host = g_strdup(text);
	s->cfg.local_port = port;
}

int spi_conn_open(struct spop *s)
{
	const struct spop_plugin_descriptor *d;
	int rc = spi_plugin_select(s, SPOP_PLUGIN_TRANSPORT, "FirewallType",
				   s->cfg.firewall_type, &d);
	if (rc)
		return rc;
	const struct spop_transport_ops *ops = d->ops;
	if (ops->size < offsetof(struct spop_transport_ops, close) ||
	    !ops->open)
		return spi_fail(s, 1203,
				"transport plugin '%s' has no open "
				"operation.",
				d->name);

	struct spi_conn *c = g_new0(struct spi_conn, 1);
	c->fd = -1;
	c->transport = d;
	spi_host_init(&c->host, s);
	s->conn = c;
	rc = ops->open(&c->host, s->mail_server, s->mail_port, &c->fd,
		       &c->transport_state);
	if (rc) {
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		spi_conn_close(s);
		return rc ? rc
			  : spi_fail(s, 172, "transport '%s' failed.", d->name);
	}
	/* The framework waits with poll(), so the socket never blocks. */
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	fill_local_address(s, c->fd);
	spi_emit_connection_status(s, "Remote host connection complete", 0,
				   "OK");
	return 0;
}

void spi_conn_close(struct spop *s)
{
	struct spi_conn *c = s->conn;

	if (!c)
		return;
	if (c->fd >= 0) {
		close(c->fd);
		spi_emit_connection_status(s, "Remote host disconnected", 0,
					   "OK");
	}
	const struct spop_transport_ops *ops =
	    c->transport ? c->transport->ops : NULL;
	if (ops && ops->size >= sizeof(*ops) && ops->close)
		ops->close(&c->host, c->transport_state);
	g_free(c->buf);
	g_free(c);
	s->conn = NULL;
	/* LocalHost shows the user's choice again once disconnected. */
	g_free(s->local_host);
	s->local_host = g_strdup(s->local_host_set);
}

/* Wraps an already connected fd (unit tests drive the engine over a
 * socketpair this way). */
void spi_conn_adopt(struct spop *s, int fd)
{
	struct spi_conn *c = g_new0(struct spi_conn, 1);

	c->fd = fd;
	spi_host_init(&c->host, s);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	s->conn = c;
}

/* Used by proxy transports to reach the proxy, through the direct plugin. */
int spi_tcp_connect(struct spop *s, const char *name, int port, int *fd)
{
	const struct spop_plugin_descriptor *d;
	int rc = spi_plugin_by_name(s, SPOP_PLUGIN_TRANSPORT, "direct", &d);
	if (rc)
		return rc;
	const struct spop_transport_ops *ops = d->ops;
	void *state = NULL;
	struct spop_host host;

	spi_host_init(&host, s);
	rc = ops->open(&host, name, port, fd, &state);
	if (!rc && ops->size >= sizeof(*ops) && ops->close)
		ops->close(&host, state);
	return rc;
}
