/* PEM text as the stores read it (pemkey, publickey, dirstore): the blocks
 * of a text, its private keys (plain or encrypted with the store password)
 * and its certificates, added to a store in text order. */
#include "certstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static bool is_cert_block(const struct pem_block *b)
{
	return label_is(b, "CERTIFICATE") || label_is(b, "X509 CERTIFICATE");
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

bool certstore_pem_has_begin(const unsigned char *data, size_t len)
{
	return data && memmem(data, len, PEM_BEGIN, strlen(PEM_BEGIN)) != NULL;
}

void certstore_pem_census(const unsigned char *data, size_t len,
			  const char *label,
			  struct certstore_pem_census *census)
{
	struct pem_block b;
	const char *why;
	size_t pos = 0;

	memset(census, 0, sizeof(*census));
	if (!data)
		return;
	while (next_block(data, len, &pos, &b, &why) == 1) {
		if (is_key_block(&b))
			census->keys++;
		else if (is_cert_block(&b))
			census->certs++;
		if (label && label_is(&b, label))
			census->has_label = true;
	}
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
		return certstore_fail(host, st, SPOP_ERR_CERT_STORE,
				      "Cannot open the %s: %s.", st->name,
				      gnutls_strerror(ret));
	ret = gnutls_x509_privkey_import2(x509, &b->text, GNUTLS_X509_FMT_PEM,
					  encrypted ? password : NULL, 0);
	if (ret < 0) {
		gnutls_x509_privkey_deinit(x509);
		if (encrypted && !*password)
			return certstore_fail_password(
			    host, st,
			    "The private key in the %s (%.*s at byte %zu) is "
			    "encrypted and needs a password, and the store "
			    "password is empty.",
			    st->name, (int)b->label_len, b->label, b->offset);
		if (encrypted && wrong_password_error(ret))
			return certstore_fail_password(
			    host, st,
			    "Wrong password for the private key in the %s "
			    "(%.*s at byte %zu): %s.",
			    st->name, (int)b->label_len, b->label, b->offset,
			    gnutls_strerror(ret));
		return certstore_fail(host, st, SPOP_ERR_CERT_STORE,
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
	char where[128];

	snprintf(where, sizeof(where), "the %.*s block at byte %zu",
		 (int)b->label_len, b->label, b->offset);
	return certstore_add_cert_data(host, st, &b->text, GNUTLS_X509_FMT_PEM,
				       where);
}

int certstore_pem_read(struct spop_host *host, struct certstore *st,
		       const unsigned char *data, size_t len,
		       const char *password, bool keys)
{
	struct pem_block b;
	const char *why = NULL;
	size_t pos = 0;
	int rc = 0, found;

	if (!password)
		password = "";
	while ((found = next_block(data, len, &pos, &b, &why)) == 1) {
		if (is_key_block(&b)) {
			if (keys)
				rc = add_key_block(host, st, &b, password);
		} else if (is_cert_block(&b)) {
			rc = add_cert_block(host, st, &b);
		}
		if (rc)
			return rc;
	}
	if (found < 0)
		return certstore_fail(host, st, SPOP_ERR_CERT_STORE,
				      "Cannot open the %s: malformed PEM: %s.",
				      st->name, why);
	return 0;
}
