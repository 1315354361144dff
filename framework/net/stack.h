/* Inside the connection stack: layers, their ops and the connection that
 * chains them. Only framework/net includes this. */
#ifndef SPOP_NET_STACK_H
#define SPOP_NET_STACK_H

#include <netinet/in.h>

#include "net.h"

/* One layer type. Non-blocking throughout: recv/send return bytes (>0),
 * 0 at end of stream (recv), SPOP_IO_AGAIN_READ/_WRITE when the layer
 * below must become ready first, or -code with the error set. The stack
 * does all the waiting. */
struct spi_layer_ops {
	const char *name;
	ssize_t (*recv)(struct spi_layer *l, void *buf, size_t len);
	ssize_t (*send)(struct spi_layer *l, const void *buf, size_t len);
	/* Bytes this layer holds that recv returns without touching the
	 * layer below. */
	size_t (*pending)(struct spi_layer *l);
	int (*channel_binding)(struct spi_layer *l, const char *type,
			       unsigned char **data, size_t *len);
	/* Releases the layer (a TLS layer says close_notify first). */
	void (*close)(struct spi_layer *l);
};

struct spi_layer {
	const struct spi_layer_ops *ops;
	struct spi_layer *below; /* NULL for the socket */
	struct spi_conn *conn;
	const struct spop_plugin_descriptor *plugin; /* NULL for the socket */
	void *ctx;
	bool is_tls;
	struct spi_host host; /* this layer's upcalls; io_* reach below */
};

struct spi_conn {
	struct spop *s;
	int fd;
	struct spi_layer *top;
	struct spi_layer socket;

	/* the transport plugin that produced fd; proxied when it goes
	 * through a firewall/proxy (FirewallType, or one detected) */
	const struct spop_plugin_descriptor *transport;
	bool proxied;
	/* "proxy HOST:PORT" while a proxy transport sets up its tunnel, so
	 * that a timeout or a drop then names the proxy, not MailServer */
	char *opening_via;
	void *transport_state;
	struct spi_host transport_host;

	/* the line reader above the top layer */
	char *buf;
	size_t cap, start, end;

	/* runtime state, never written into settings */
	char local_host[INET6_ADDRSTRLEN];
	int local_port;

	/* MaxTransferRate accounting, at the socket: bytes on the wire */
	gint64 rate_start;
	long long rate_sent;
};

void spi_socket_layer_init(struct spi_conn *c, int fd);
/* Whom the socket talks to, for messages: "proxy HOST:PORT" during a
 * proxy's handshake, else MailServer:MailPort (into buf). */
const char *spi_conn_peer(struct spop *s, char *buf, size_t size);
/* Through the top layer, waiting as the layers ask: all of data, or an
 * error code. */
int spi_stack_send(struct spi_conn *c, const void *data, size_t len);
/* Through the top layer: bytes (>0), or -code (1120 when the server closed).
 */
ssize_t spi_stack_recv(struct spi_conn *c, void *buf, size_t len);
void spi_stack_close(struct spi_conn *c);

#endif
