/* The core's half of TLS: what is the same whichever provider runs the
 * session. Certificates chosen from cert-store plugins (cert.c), the
 * server-certificate decision, negotiated values, resumption and key
 * logging (tls.c). Providers only report; the policy lives here. */
#ifndef SPOP_TLS_TLS_H
#define SPOP_TLS_TLS_H

#include "spop-private.h"

/* ---- certificates (tls/cert.c) ---- */

/* A reference "Binary String" certificate (PEM, bare base64 or DER) as
 * DER; NULL when it is none of them. */
GBytes *spi_cert_decode(const void *data, size_t len);
/* PEM text of DER certificates, in order, newly allocated. */
char *spi_cert_pem(const unsigned char *const *der, const size_t *len,
		   size_t n);
/* "CN=pop.example.org, O=Example, C=DE" (the reference's form) of a DER
 * certificate's subject or issuer; "" when it cannot be parsed. */
char *spi_cert_subject(const unsigned char *der, size_t len);
char *spi_cert_issuer(const unsigned char *der, size_t len);

void spi_cert_group_init(struct spi_cert_group *g, const char *prefix);
void spi_cert_group_clear(struct spi_cert_group *g);
/* The reference's search, run when SSLCertSubject is set: exact subject
 * (any case), then a subject containing the text, "*" the first
 * certificate with a private key. Sets g->subject to the full subject and
 * g->der, or "" and NULL with 272. An empty subject clears the choice. */
int spi_cert_group_set_subject(struct spop *s, struct spi_cert_group *g,
			       const char *subject);
/* SSLCertEncoded: that certificate; the store is searched for it and
 * g->subject says whether it was found with a key ("" when not). */
int spi_cert_group_set_encoded(struct spop *s, struct spi_cert_group *g,
			       const void *data, size_t len);

/* An open store and the chosen entry, kept while a TLS session uses its
 * key. */
struct spi_cert_choice;
/* Opens g's store and finds g->der in it (or, when the search at
 * SSLCertSubject's setting failed, searches for that subject again): 0
 * with *out NULL when nothing was asked for, 0 with *out, or 271/272/273/1201 with the error set. With
 * need_key, an entry without a private key is 273. */
int spi_cert_choice_open(struct spop *s, const struct spi_cert_group *g,
			 bool need_key, struct spi_cert_choice **out);
void spi_cert_choice_free(struct spi_cert_choice *c);
/* The TLS credential of a choice (chain: the certificate, then the
 * certificates of SSLCACerts). */
const struct spop_tls_credential *
spi_cert_choice_credential(struct spi_cert_choice *c, const char *ca_certs);

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
