/* Code the in-memory cert stores (pemkey, pfx, publickey, p7b, jwk,
 * dirstore) share: reading a store from a file or a blob, the PEM and
 * PKCS#12 readers, the list of entries and the private keys they carry, and
 * the key operations of struct spop_certstore_ops. Compiled into each module
 * as a static library, hidden like the rest of the module. */
#ifndef SPOP_CERTSTORE_COMMON_H
#define SPOP_CERTSTORE_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/pkcs12.h>
#include <gnutls/x509.h>

#include <spop/plugin.h>

/* Files and blobs larger than this are refused: no key store is near it,
 * and reading /dev/zero must not exhaust memory. */
#define CERTSTORE_MAX_INPUT (16u * 1024 * 1024)

/* The bytes of a store and the words that name it in messages. */
struct certstore_input {
	unsigned char *data; /* wiped and freed by certstore_input_clear */
	size_t len;
	char *name; /* "file '/path/x.p12'" or "PFX blob (2501 bytes)" */
};

/* Reads store (store_len bytes, not NUL-terminated) as a file name. kind
 * ("PEMKey", "PFX") goes into messages. 271 naming the file and the reason
 * when it is missing, unreadable, empty or too large; with quiet (probe) no
 * error is set. */
int certstore_input_file(struct spop_host *host, const char *kind,
			 const unsigned char *store, size_t store_len,
			 bool quiet, struct certstore_input *in);

/* Reads the store of an open() call for a plugin serving file_type (a
 * file name) and file_type + 1 (a blob), as every in-memory store does;
 * 271 naming plugin and both types for any other type. */
int certstore_input_read(struct spop_host *host, const char *kind,
			 const char *plugin, int store_type, int file_type,
			 const unsigned char *store, size_t store_len,
			 struct certstore_input *in);

/* Copies a blob as it is. */
int certstore_input_blob(struct spop_host *host, const char *kind,
			 const unsigned char *store, size_t store_len,
			 struct certstore_input *in);

/* Decodes base64 text (white space ignored) into a new buffer; false when
 * the text is not base64 (or decodes to nothing). */
bool certstore_base64_decode(struct spop_host *host, const unsigned char *text,
			     size_t len, unsigned char **out, size_t *out_len);

/* Replaces in->data by what it base64-decodes to when that is base64 and
 * accept() takes the decoded bytes; false (in unchanged) otherwise. */
bool certstore_input_unwrap_base64(struct spop_host *host,
				   struct certstore_input *in,
				   bool (*accept)(const unsigned char *data,
						  size_t len));

/* A copy of a probe's blob as an input (no name, no error set); false when
 * it is empty or too large. */
bool certstore_input_copy(const unsigned char *data, size_t len,
			  struct certstore_input *in);

void certstore_input_clear(struct certstore_input *in);

/* A private key in memory. */
struct certstore_key {
	gnutls_x509_privkey_t x509; /* for export and the raw RSA numbers */
	gnutls_privkey_t priv;	    /* for signing and PKCS#1 decryption */
	const char *store_name;	    /* the owning store's name */
	unsigned char id[32];	    /* SHA-256 key id of the public key */
	size_t id_len;
};

/* A certificate of a store, with the key whose public key it carries. */
struct certstore_cert {
	gnutls_datum_t der;	   /* gnutls-allocated */
	struct certstore_key *key; /* NULL without a key */
	unsigned char id[32];	   /* SHA-256 key id; id_len 0 if unknown */
	size_t id_len;
};

/* An open store: certificates in entry order, and every private key found
 * (a key no certificate carries is kept but reachable by no entry). */
struct certstore {
	char *name;
	struct certstore_cert *certs;
	size_t n_certs;
	struct certstore_key **keys;
	size_t n_keys;
	/* A quiet store (one file of a directory store) records why reading
	 * it failed in why instead of setting the host's error, so that the
	 * caller can skip it and still succeed. */
	bool quiet;
	char *why;
	bool wrong_password; /* the failure was the password's */
};

/* Makes an empty store *out that takes over in->name: 0, or the error
 * code (out of memory, naming in->name) after host->set_error(). */
int certstore_new(struct spop_host *host, struct certstore_input *in,
		  struct certstore **out);

/* Reports a failure of reading st: host->set_error(), or for a quiet store
 * st->why. Returns code. */
int certstore_fail(struct spop_host *host, struct certstore *st, int code,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The same for a wrong or missing password: also sets wrong_password. */
int certstore_fail_password(struct spop_host *host, struct certstore *st,
			    const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Takes over x509 (freed on failure too) as one of the store's keys. 273
 * naming the store when GnuTLS cannot use it. */
int certstore_add_key(struct spop_host *host, struct certstore *st,
		      gnutls_x509_privkey_t x509);

/* Appends crt's DER (crt stays the caller's); its key is attached by
 * certstore_attach_keys. 271 when it cannot be encoded. */
int certstore_add_cert(struct spop_host *host, struct certstore *st,
		       gnutls_x509_crt_t crt);

/* Parses data (fmt DER or PEM) as an X.509 certificate and appends it. 271
 * naming where ("the CERTIFICATE block at byte 0", "the certificate in bag
 * 1") when it is not a valid certificate. */
int certstore_add_cert_data(struct spop_host *host, struct certstore *st,
			    const gnutls_datum_t *data,
			    gnutls_x509_crt_fmt_t fmt, const char *where);

/* Whether data is one DER X.509 certificate (nothing after it). */
bool certstore_is_x509_der(const unsigned char *data, size_t len);

/* Gives each certificate the key whose public key it carries (by SHA-256
 * key id). With keyed_first, certificates with a key move before the
 * others, keeping their relative order. */
int certstore_attach_keys(struct spop_host *host, struct certstore *st,
			  bool keyed_first);

/* The ops every in-memory store shares. */
int certstore_entry(struct spop_host *host, void *handle, size_t index,
		    struct spop_cert_entry *entry);
void certstore_close(struct spop_host *host, void *handle);
int certstore_key_sign(struct spop_host *host, void *key, int scheme, int hash,
		       const unsigned char *digest, size_t digest_len,
		       unsigned char **sig, size_t *sig_len);
int certstore_key_decrypt(struct spop_host *host, void *key, int padding,
			  int oaep_hash, const unsigned char *in, size_t in_len,
			  unsigned char **out, size_t *out_len);
int certstore_key_export(struct spop_host *host, void *key,
			 unsigned char **pkcs8, size_t *len);
int certstore_key_derive(struct spop_host *host, void *key,
			 const unsigned char *peer_point, size_t peer_len,
			 unsigned char **secret, size_t *secret_len);

/* ---- PEM text (pem.c) ---------------------------------------------------
 * Keys: "RSA PRIVATE KEY" (PKCS#1, also OpenSSL's Proc-Type/DEK-Info
 * encryption), "EC PRIVATE KEY" (SEC1), "DSA PRIVATE KEY", "PRIVATE KEY"
 * (PKCS#8) and "ENCRYPTED PRIVATE KEY" (PKCS#8 with the store password).
 * Certificates: "CERTIFICATE" and "X509 CERTIFICATE" blocks. Other blocks
 * ("EC PARAMETERS", "TRUSTED CERTIFICATE", CRLs, "PKCS7") are skipped. */

/* Whether the text has a "-----BEGIN " line at all. */
bool certstore_pem_has_begin(const unsigned char *data, size_t len);

/* Complete blocks of the text: private keys, certificates, and whether one
 * carries this exact label (label may be NULL). Malformed blocks end the
 * count. */
struct certstore_pem_census {
	size_t keys, certs;
	bool has_label;
};
void certstore_pem_census(const unsigned char *data, size_t len,
			  const char *label,
			  struct certstore_pem_census *census);

/* Adds the text's certificates to st in text order and, with keys, its
 * private keys (decrypted with password where encrypted); without keys,
 * key blocks are skipped unread. Keys are not attached yet. 271 malformed
 * text or a block that cannot be read, 273 wrong or missing password. */
int certstore_pem_read(struct spop_host *host, struct certstore *st,
		       const unsigned char *data, size_t len,
		       const char *password, bool keys);

/* ---- PKCS#12 (pkcs12.c) ------------------------------------------------- */

/* Parses in as PKCS#12: DER, "-----BEGIN PKCS12-----" armour, or (with
 * try_base64) base64 of either, which then replaces in->data. 0, or the
 * GnuTLS error of the direct attempt. */
int certstore_pkcs12_parse(struct spop_host *host, struct certstore_input *in,
			   bool try_base64, gnutls_pkcs12_t *p12);

/* Checks the MAC with password (an empty one also as no password) and
 * adds every key and certificate, in bag order; keys are not attached yet.
 * 273 wrong or missing password, 271 anything else. */
int certstore_pkcs12_read(struct spop_host *host, struct certstore *st,
			  gnutls_pkcs12_t p12, const char *password);

/* Frees a store half-built by open(). */
void certstore_free(struct certstore *st);

/* Copies a gnutls datum into host memory; wipes and frees the datum. */
int certstore_hand_out(struct spop_host *host, gnutls_datum_t *d,
		       unsigned char **out, size_t *out_len);

#endif
