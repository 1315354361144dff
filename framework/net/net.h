/* The connection stack (framework/net): what the POP3 layer and the core
 * see of a connection. A connection is an ordered chain of layers, in the
 * manner of curl's connection filters:
 *
 *   socket <- transport (direct | proxy) <- TLS (optional, may be inserted
 *   live after STLS) <- line reader <- POP3 engine
 *
 * Every read, write and wait of every layer ends in this directory, so
 * Timeout/AbsoluteTimeout, Interrupt and MaxTransferRate are applied in one
 * place whatever layers are present. */
#ifndef SPOP_NET_H
#define SPOP_NET_H

#include "spop-private.h"

struct spi_conn;

/* ---- proxy.c ----
 * The FirewallType of this connect: the setting, or with
 * FirewallAutoDetect a proxy from the environment (then host->setting()
 * of the Firewall* names answers with it); SPOP_FW_NONE when MailServer
 * is in ProxyExceptionsList (or no_proxy for a detected one).
 * *remote_dns: the proxy is to resolve the name. 0, or 1211/1212 naming
 * the variable whose URL cannot be used. */
int spi_proxy_choose(struct spop *s, int *type, bool *remote_dns);
/* A detected proxy's value of a Firewall* setting (g_malloc'd), or NULL
 * to read the setting itself. */
char *spi_proxy_setting(struct spop *s, const char *name);
void spi_proxy_forget(struct spop *s);

/* Opens the transport chosen by FirewallType to MailServer:MailPort,
 * bounded by ConnectionTimeout when set. On success s->conn is set. */
int spi_conn_open(struct spop *s);
/* The one teardown: closes every layer top-down (TLS sends close_notify),
 * the transport and the socket, and frees the connection. code and
 * description go to the ConnectionStatus event: 0/"OK" for an orderly
 * close, else the error that ended the connection. */
void spi_conn_close(struct spop *s, int code, const char *description);
/* Wraps an already connected fd (unit tests drive the engine over a
 * socketpair this way). */
void spi_conn_adopt(struct spop *s, int fd);

/* Writes all of data through the top of the stack. */
int spi_conn_write(struct spop *s, const void *data, size_t len);
/* Reads one line (CRLF or LF stripped). A line longer than MaxLineLength
 * comes in pieces with *eol false. The buffer is valid until the next read.
 */
int spi_conn_read_line(struct spop *s, const char **line, size_t *len,
		       bool *eol);
/* Bytes received but not yet handed out, in the line reader or in any
 * layer (a TLS layer's decrypted records): readable without waiting. */
size_t spi_conn_buffered(struct spop *s);
/* For DoEvents: waits up to ms for the server, reads what is there without
 * blocking. 0 nothing happened or data was buffered, 1120 the server
 * closed, or an error. */
int spi_conn_poll(struct spop *s, int ms);

/* Inserts a TLS layer from the provider plugin d on top of the live stack
 * and runs its handshake. Bytes already received above the insertion point
 * are an error (the STARTTLS response-injection class): they were sent
 * before the handshake, so nothing vouches for them. */
int spi_conn_start_tls(struct spop *s, const struct spop_plugin_descriptor *d,
		       const char *server_name);
bool spi_conn_tls_active(struct spop *s);
int spi_conn_channel_binding(struct spop *s, const char *type,
			     unsigned char **data, size_t *len);

/* Runtime state of the connection, kept apart from the user's settings:
 * the address and port actually bound. NULL / 0 when not connected. */
const char *spi_conn_local_host(struct spop *s);
int spi_conn_local_port(struct spop *s);

/* Waits for events on fd, the Interrupt fd, or the deadline. */
int spi_wait_fd(struct spop *s, int fd, int events);
/* Blocking whole-buffer I/O on an fd the stack does not own yet (proxy
 * handshakes through host->read_some/write_all). */
ssize_t spi_fd_read_some(struct spop *s, int fd, void *buf, size_t len);
int spi_fd_write_all(struct spop *s, int fd, const void *buf, size_t len);
/* Opens a TCP connection through the "direct" transport (proxies use it
 * to reach the proxy). */
int spi_tcp_connect(struct spop *s, const char *name, int port, int *fd);
int spi_resolve(struct spop *s, const char *name, int port,
		struct spop_address **list, size_t *count);

/* Host services for a plugin instance that sits in the stack: io_* go to
 * the layer below it. Used by plugin/host.c. */
ssize_t spi_layer_io_read(struct spi_layer *l, void *buf, size_t len);
ssize_t spi_layer_io_write(struct spi_layer *l, const void *buf, size_t len);
int spi_layer_io_wait(struct spi_layer *l, int events);
/* The plugin running a layer ("gnutls"), "" for the socket. */
const char *spi_layer_plugin_name(const struct spi_layer *l);

#endif
