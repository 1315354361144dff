/* Cert store "pemkey" (CertStoreType 6 PEMKey file, 7 PEMKey blob): PEM
 * text holding a private key and, usually, its certificate and chain.
 *
 * Keys: "RSA PRIVATE KEY" (PKCS#1, also OpenSSL's Proc-Type/DEK-Info
 * encryption), "EC PRIVATE KEY" (SEC1), "DSA PRIVATE KEY", "PRIVATE KEY"
 * (PKCS#8) and "ENCRYPTED PRIVATE KEY" (PKCS#8 with the store password).
 * Certificates: "CERTIFICATE" and "X509 CERTIFICATE" blocks. Other blocks
 * ("EC PARAMETERS", OpenSSL's "TRUSTED CERTIFICATE", CRLs) are skipped.
 *
 * Entries are the certificates in file order; an entry carries a key when
 * its certificate's public key is that of a private key in the text (the
 * SHA-256 key ids match). Text without a private key is not a PEMKey store
 * (271; certificates alone are a PublicKey store). A key without any
 * certificate opens, but has no entry: the ABI's entries are certificates,
 * so entry 0 is 272 "no certificate".
 *
 * A blob is the PEM text itself, or that text base64-encoded (the
 * reference's "binary or base64-encoded"). */
#include "certstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIND "PEMKey"

#define PEM_BEGIN  "-----BEGIN "
#define PEM_DASHES "-----"

struct pem_block {
	const char *label; /* not NUL-terminated */
	size_t label_len;
	size_t offset;	     /* of the BEGIN line */
	gnutls_datum_t text; /* BEGIN line to the end of the END line */
};

static bool label_is(const struct pem_block *b, const char *label)
{
	return b->label_len == strlen(label) &&
	       memcmp(b->label, label, b->label_len) == 0;
}

static bool is_key_block(const struct pem_block *b)
{
	static const char suffix[] = "PRIVATE KEY";
	size_t n = sizeof(suffix) - 1;

	return b->label_len >= n &&
	       memcmp(b->label + b->label_len - n, suffix, n) == 0;
}

/* The next "-----BEGIN X-----" ... "-----END X-----" block at or after *pos:
 * 1 found, 0 none left, -1 malformed (*why says how). */
static int next_block(const unsigned char *data, size_t len, size_t *pos,
		      struct pem_block *b, const char **why)
{
	const unsigned char *end = data + len, *begin, *label, *dashes, *nl;
	char marker[96];
	const unsigned char *stop;
	size_t label_len;

	begin = memmem(data + *pos, len - *pos, PEM_BEGIN, strlen(PEM_BEGIN));
	if (!begin)
		return 0;
	label = begin + strlen(PEM_BEGIN);
	dashes = memmem(label, (size_t)(end - label), PEM_DASHES,
			strlen(PEM_DASHES));
	nl = memchr(label, '\n', (size_t)(end - label));
	if (!dashes || (nl && nl < dashes)) {
		*why = "a BEGIN line does not end in five dashes";
		return -1;
	}
	label_len = (size_t)(dashes - label);
	if (label_len == 0 || label_len > 64) {
		*why = "a BEGIN line has no usable label";
		return -1;
	}
	snprintf(marker, sizeof(marker), "-----END %.*s-----", (int)label_len,
		 (const char *)label);
	stop = memmem(dashes, (size_t)(end - dashes), marker, strlen(marker));
	if (!stop) {
		*why = "a block has no matching END line";
		b->label = (const char *)label;
		b->label_len = label_len;
		return -1;
	}
	stop += strlen(marker);
	b->label = (const char *)label;
	b->label_len = label_len;
	b->offset = (size_t)(begin - data);
	b->text.data = (unsigned char *)begin;
	b->text.size = (unsigned)(stop - begin);
	*pos = (size_t)(stop - data);
	return 1;
}

/* Whether text holds a complete private-key block. */
static bool has_key_block(const unsigned char *data, size_t len)
{
	struct pem_block b;
	const char *why;
	size_t pos = 0;

	while (next_block(data, len, &pos, &b, &why) == 1)
		if (is_key_block(&b))
			return true;
	return false;
}

static bool has_begin(const unsigned char *data, size_t len)
{
	return memmem(data, len, PEM_BEGIN, strlen(PEM_BEGIN)) != NULL;
}

/* Turns a base64-encoded blob into the PEM text it encodes, in place of
 * in->data; false when it is not base64 of PEM text. */
static bool unwrap_base64(struct spop_host *host, struct certstore_input *in)
{
	unsigned char *text;
	size_t len;

	if (!certstore_base64_decode(host, in->data, in->len, &text, &len))
		return false;
	if (!has_begin(text, len)) {
		gnutls_memset(text, 0, len);
		free(text);
		return false;
	}
	gnutls_memset(in->data, 0, in->len);
	free(in->data);
	in->data = text;
	in->len = len;
	return true;
}

static int pemkey_probe(struct spop_host *host, const unsigned char *data,
			size_t len, int is_file)
{
	struct certstore_input in;
	bool yes;

	if (is_file) {
		if (certstore_input_file(host, KIND, data, len, true, &in))
			return 0;
	} else {
		if (!data || len == 0)
			return 0;
		if (has_begin(data, len))
			return has_key_block(data, len);
		memset(&in, 0, sizeof(in));
		in.data = malloc(len + 1);
		if (!in.data)
			return 0;
		memcpy(in.data, data, len);
		in.data[len] = '\0';
		in.len = len;
		if (!unwrap_base64(host, &in)) {
			certstore_input_clear(&in);
			return 0;
		}
	}
	yes = has_key_block(in.data, in.len);
	certstore_input_clear(&in);
	return yes;
}

static bool block_encrypted(const struct pem_block *b)
{
	return label_is(b, "ENCRYPTED PRIVATE KEY") ||
	       memmem(b->text.data, b->text.size, "Proc-Type: 4,ENCRYPTED",
		      strlen("Proc-Type: 4,ENCRYPTED")) != NULL;
}

/* GnuTLS's answers to a wrong password: the decryption fails, or what it
 * decrypted to is not DER. */
static bool wrong_password_error(int ret)
{
	switch (ret) {
	case GNUTLS_E_DECRYPTION_FAILED:
	case GNUTLS_E_ASN1_DER_ERROR:
	case GNUTLS_E_ASN1_TAG_ERROR:
	case GNUTLS_E_ASN1_DER_OVERFLOW:
	case GNUTLS_E_ASN1_ELEMENT_NOT_FOUND:
	case GNUTLS_E_ASN1_VALUE_NOT_FOUND:
	case GNUTLS_E_ASN1_GENERIC_ERROR:
	case GNUTLS_E_ASN1_TYPE_ANY_ERROR: return true;
	default: return false;
	}
}

static int add_key_block(struct spop_host *host, struct certstore *st,
			 const struct pem_block *b, const char *password)
{
	gnutls_x509_privkey_t x509;
	bool encrypted = block_encrypted(b);
	int ret;

	ret = gnutls_x509_privkey_init(&x509);
	if (ret < 0)
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the %s: %s.", st->name,
				       gnutls_strerror(ret));
	ret = gnutls_x509_privkey_import2(x509, &b->text, GNUTLS_X509_FMT_PEM,
					  encrypted ? password : NULL, 0);
	if (ret < 0) {
		gnutls_x509_privkey_deinit(x509);
		if (encrypted && !*password)
			return host->set_error(
			    host, SPOP_ERR_CREDENTIALS,
			    "The private key in the %s (%.*s at byte %zu) is "
			    "encrypted and needs a password, and the store "
			    "password is empty.",
			    st->name, (int)b->label_len, b->label, b->offset);
		if (encrypted && wrong_password_error(ret))
			return host->set_error(
			    host, SPOP_ERR_CREDENTIALS,
			    "Wrong password for the private key in the %s "
			    "(%.*s at byte %zu): %s.",
			    st->name, (int)b->label_len, b->label, b->offset,
			    gnutls_strerror(ret));
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the %s: the %.*s block at "
				       "byte %zu cannot be read: %s.",
				       st->name, (int)b->label_len, b->label,
				       b->offset, gnutls_strerror(ret));
	}
	return certstore_add_key(host, st, x509);
}

static int add_cert_block(struct spop_host *host, struct certstore *st,
			  const struct pem_block *b)
{
	gnutls_x509_crt_t crt = NULL;
	int ret;

	ret = gnutls_x509_crt_init(&crt);
	if (ret >= 0)
		ret =
		    gnutls_x509_crt_import(crt, &b->text, GNUTLS_X509_FMT_PEM);
	if (ret < 0) {
		if (crt)
			gnutls_x509_crt_deinit(crt);
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the %s: the %.*s block at "
				       "byte %zu is not a valid certificate: "
				       "%s.",
				       st->name, (int)b->label_len, b->label,
				       b->offset, gnutls_strerror(ret));
	}
	ret = certstore_add_cert(host, st, crt);
	gnutls_x509_crt_deinit(crt);
	return ret;
}

static int pemkey_open(struct spop_host *host, int store_type,
		       const unsigned char *store, size_t store_len,
		       const char *password, void **handle)
{
	struct certstore_input in;
	struct certstore *st = NULL;
	struct pem_block b;
	const char *why = NULL;
	size_t pos = 0;
	int rc, found;

	*handle = NULL;
	if (!password)
		password = "";
	if (store_type == 6)
		rc = certstore_input_file(host, KIND, store, store_len, false,
					  &in);
	else if (store_type == 7)
		rc = certstore_input_blob(host, KIND, store, store_len, &in);
	else
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "The pemkey store serves CertStoreType "
				       "6 (PEMKey file) and 7 (PEMKey blob), "
				       "not %d.",
				       store_type);
	if (rc)
		return rc;
	if (!has_begin(in.data, in.len) &&
	    (store_type == 6 || !unwrap_base64(host, &in))) {
		rc = host->set_error(
		    host, SPOP_ERR_CERT_STORE,
		    "Cannot open the %s: it is not PEM text (no "
		    "\"-----BEGIN\" line)%s.",
		    in.name,
		    store_type == 7 ? ", nor base64-encoded PEM text" : "");
		certstore_input_clear(&in);
		return rc;
	}
	st = certstore_new(&in);
	if (!st) {
		rc = host->set_error(host, SPOP_ERR_CERT_STORE,
				     "Cannot open the %s: out of memory.",
				     in.name);
		certstore_input_clear(&in);
		return rc;
	}
	while ((found = next_block(in.data, in.len, &pos, &b, &why)) == 1) {
		if (is_key_block(&b))
			rc = add_key_block(host, st, &b, password);
		else if (label_is(&b, "CERTIFICATE") ||
			 label_is(&b, "X509 CERTIFICATE"))
			rc = add_cert_block(host, st, &b);
		if (rc)
			goto fail;
	}
	if (found < 0) {
		rc = host->set_error(host, SPOP_ERR_CERT_STORE,
				     "Cannot open the %s: malformed PEM: %s.",
				     st->name, why);
		goto fail;
	}
	if (st->n_keys == 0) {
		rc = host->set_error(
		    host, SPOP_ERR_CERT_STORE,
		    "Cannot open the %s: it holds no private key (no PEM block "
		    "labelled ... PRIVATE KEY); %zu certificate%s alone make "
		    "a PublicKey store, not a PEMKey one.",
		    st->name, st->n_certs, st->n_certs == 1 ? "" : "s");
		goto fail;
	}
	rc = certstore_attach_keys(host, st, false);
	if (rc)
		goto fail;
	certstore_input_clear(&in);
	*handle = st;
	return 0;
fail:
	certstore_free(st);
	certstore_input_clear(&in);
	return rc;
}

static const struct spop_certstore_ops ops = {
    .size = sizeof(struct spop_certstore_ops),
    .probe = pemkey_probe,
    .open = pemkey_open,
    .entry = certstore_entry,
    .key_sign = certstore_key_sign,
    .key_decrypt = certstore_key_decrypt,
    .key_export = certstore_key_export,
    .close = certstore_close,
};

static const int32_t selectors[] = {6, 7};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_CERTSTORE,
    .name = "pemkey",
    .version = "1.0",
    .description = "PEM private key with its certificates (file or blob)",
    .selectors = selectors,
    .n_selectors = 2,
    .capabilities = SPOP_CAP_CERTSTORE_PRIVATE_KEYS | SPOP_CAP_CERTSTORE_BLOB,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
