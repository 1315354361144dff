/* Code the in-memory cert stores (pemkey, pfx) share: reading a store from a
 * file or a blob, the list of entries and the private keys they carry, and
 * the key operations of struct spop_certstore_ops. Compiled into each module
 * as a static library, hidden like the rest of the module. */
#ifndef SPOP_CERTSTORE_COMMON_H
#define SPOP_CERTSTORE_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
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

/* Copies a blob as it is. */
int certstore_input_blob(struct spop_host *host, const char *kind,
			 const unsigned char *store, size_t store_len,
			 struct certstore_input *in);

/* Decodes base64 text (white space ignored) into a new buffer; false when
 * the text is not base64 (or decodes to nothing). */
bool certstore_base64_decode(struct spop_host *host, const unsigned char *text,
			     size_t len, unsigned char **out, size_t *out_len);

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
};

/* Makes an empty store that takes over in->name. */
struct certstore *certstore_new(struct certstore_input *in);

/* Takes over x509 (freed on failure too) as one of the store's keys. 273
 * naming the store when GnuTLS cannot use it. */
int certstore_add_key(struct spop_host *host, struct certstore *st,
		      gnutls_x509_privkey_t x509);

/* Appends crt's DER (crt stays the caller's); its key is attached by
 * certstore_attach_keys. 271 when it cannot be encoded. */
int certstore_add_cert(struct spop_host *host, struct certstore *st,
		       gnutls_x509_crt_t crt);

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

/* Frees a store half-built by open(). */
void certstore_free(struct certstore *st);

/* Copies a gnutls datum into host memory; wipes and frees the datum. */
int certstore_hand_out(struct spop_host *host, gnutls_datum_t *d,
		       unsigned char **out, size_t *out_len);

#endif
