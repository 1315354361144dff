/* The core's half of TLS: what is the same whichever provider runs the
 * session. Certificates chosen from cert-store plugins (cert.c), the
 * server-certificate decision, negotiated values, resumption and key
 * logging (tls.c). Providers only report; the policy lives here. */
#ifndef SPOP_TLS_TLS_H
#define SPOP_TLS_TLS_H

#include "cert/cert.h"
#include "spop-private.h"

/* ---- sessions (tls/tls.c) ---- */

/* Called by providers through host->server_certificate. Returns 1 to go
 * on, 0 with 280 set. */
int spi_tls_server_certificate(struct spop *s,
			       const struct spop_cert_report *r);
/* After a handshake: keeps the negotiated values (SSLNegotiated*) and
 * tells SSLStatus. info's peer_der stays the caller's. */
void spi_tls_established(struct spop *s, const char *provider,
			 struct spop_tls_info *info);
/* A handshake starts with provider (SSLProviderName). */
void spi_tls_begin(struct spop *s, const char *provider);
/* SSLNegotiated<what> for Config ("Cipher", "Version", ...), newly
 * allocated; NULL for an unknown what. */
char *spi_tls_negotiated(struct spop *s, const char *what);
/* Forgets the last session's values (a new Connect). */
void spi_tls_forget(struct spop *s);
void spi_tls_free(struct spop *s);

const void *spi_tls_cache_get(struct spop *s, const char *provider,
			      size_t *len);
void spi_tls_cache_put(struct spop *s, const char *provider, const void *data,
		       size_t len);
void spi_tls_key_log(struct spop *s, const char *line);
/* LogSSLPackets: an SSLStatus line for bytes a TLS layer moved below it. */
void spi_tls_log_packet(struct spop *s, bool sent, const void *data,
			size_t len);

void spi_emit_ssl_status(struct spop *s, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

#endif
