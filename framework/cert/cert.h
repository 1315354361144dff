/* Certificates the application names, for every group of the reference
 * (SSLCert* for the TLS client, Cert* for decryption, SignerCert* for
 * verification): decoding the reference's "Binary String" forms, the one
 * X.509 helper for subject, issuer and serial, and the search of the
 * cert-store plugins (cert.c). */
#ifndef SPOP_CERT_CERT_H
#define SPOP_CERT_CERT_H

#include "spop-private.h"

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
/* The serial number as upper-case hex ("01A3..."); "" when unreadable. */
char *spi_cert_serial(const unsigned char *der, size_t len);

/* prefix names the group ("SSLCert", "Cert", "SignerCert"); with
 * star_needs_key, SSLCertSubject "*" takes the first certificate with a
 * private key (the reference's rule for Cert* and SSLCert*), else the
 * first certificate. */
void spi_cert_group_init(struct spi_cert_group *g, const char *prefix,
			 bool star_needs_key);
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
 * with *out NULL when nothing was asked for, 0 with *out, or
 * 271/272/273/1201/1212 with the error set. With need_key, an entry
 * without a private key is 273. */
int spi_cert_choice_open(struct spop *s, const struct spi_cert_group *g,
			 bool need_key, struct spi_cert_choice **out);
void spi_cert_choice_free(struct spi_cert_choice *c);
/* The TLS credential of a choice (chain: the certificate, then the
 * certificates of SSLCACerts). */
const struct spop_tls_credential *
spi_cert_choice_credential(struct spi_cert_choice *c, const char *ca_certs);

/* The chosen entry and the store operations its key goes through (an
 * S/MIME engine decrypts with them). */
const struct spop_certstore_ops *
spi_cert_choice_entry(const struct spi_cert_choice *c,
		      const struct spop_cert_entry **entry);

/* Calls cb for every certificate of g's store (spop_list_certificates). */
int spi_cert_group_list(struct spop *s, const struct spi_cert_group *g,
			spop_cert_list_cb cb, void *ud);

#endif
