/* An open in-memory store: its certificates in entry order, each paired
 * with the private key whose public key it carries, and the entry() and
 * close() ops over them. */
#include "certstore.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int certstore_new(struct spop_host *host, struct certstore_input *in,
		  struct certstore **out)
{
	struct certstore *st = calloc(1, sizeof(*st));

	*out = NULL;
	if (!st)
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the %s: out of memory.",
				       in->name);
	st->name = in->name;
	in->name = NULL;
	*out = st;
	return 0;
}

static int vfail(struct spop_host *host, struct certstore *st, int code,
		 const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static int vfail(struct spop_host *host, struct certstore *st, int code,
		 const char *fmt, va_list ap)
{
	char text[1024];

	vsnprintf(text, sizeof(text), fmt, ap);
	if (!st->quiet)
		return host->set_error(host, code, "%s", text);
	/* The first failure is the one that stopped the reading. */
	if (!st->why)
		st->why = strdup(text);
	return code;
}

int certstore_fail(struct spop_host *host, struct certstore *st, int code,
		   const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(host, st, code, fmt, ap);
	va_end(ap);
	return rc;
}

int certstore_fail_password(struct spop_host *host, struct certstore *st,
			    const char *fmt, ...)
{
	va_list ap;
	int rc;

	st->wrong_password = true;
	va_start(ap, fmt);
	rc = vfail(host, st, SPOP_ERR_CREDENTIALS, fmt, ap);
	va_end(ap);
	return rc;
}

static void key_free(struct certstore_key *k)
{
	if (!k)
		return;
	/* GnuTLS wipes the key numbers when it frees its objects. */
	if (k->priv)
		gnutls_privkey_deinit(k->priv);
	if (k->x509)
		gnutls_x509_privkey_deinit(k->x509);
	gnutls_memset(k, 0, sizeof(*k));
	free(k);
}

int certstore_add_key(struct spop_host *host, struct certstore *st,
		      gnutls_x509_privkey_t x509)
{
	struct certstore_key *k = calloc(1, sizeof(*k));
	struct certstore_key **keys;
	size_t id_len = sizeof(k->id);
	int ret;

	if (!k ||
	    !(keys = realloc(st->keys, (st->n_keys + 1) * sizeof(*st->keys)))) {
		free(k);
		gnutls_x509_privkey_deinit(x509);
		return certstore_fail(host, st, SPOP_ERR_CERT_STORE,
				      "Cannot open the %s: out of memory.",
				      st->name);
	}
	st->keys = keys;
	k->x509 = x509;
	k->store_name = st->name;
	ret = gnutls_privkey_init(&k->priv);
	if (ret >= 0)
		ret = gnutls_privkey_import_x509(k->priv, x509, 0);
	if (ret >= 0)
		ret = gnutls_x509_privkey_get_key_id(
		    x509, GNUTLS_KEYID_USE_SHA256, k->id, &id_len);
	if (ret < 0) {
		key_free(k);
		return certstore_fail(host, st, SPOP_ERR_CREDENTIALS,
				      "Cannot use the private key of the %s: "
				      "%s.",
				      st->name, gnutls_strerror(ret));
	}
	k->id_len = id_len;
	st->keys[st->n_keys++] = k;
	return 0;
}

int certstore_add_cert(struct spop_host *host, struct certstore *st,
		       gnutls_x509_crt_t crt)
{
	struct certstore_cert *certs, *c;
	size_t id_len;
	int ret;

	certs = realloc(st->certs, (st->n_certs + 1) * sizeof(*st->certs));
	if (!certs)
		return certstore_fail(host, st, SPOP_ERR_CERT_STORE,
				      "Cannot open the %s: out of memory.",
				      st->name);
	st->certs = certs;
	c = &certs[st->n_certs];
	memset(c, 0, sizeof(*c));
	ret = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &c->der);
	if (ret < 0)
		return certstore_fail(host, st, SPOP_ERR_CERT_STORE,
				      "Cannot open the %s: certificate %zu "
				      "cannot be encoded: %s.",
				      st->name, st->n_certs + 1,
				      gnutls_strerror(ret));
	/* A public key GnuTLS cannot hash (an unknown algorithm) gets no id
	 * and so never matches a key; the certificate is still an entry. */
	id_len = sizeof(c->id);
	if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, c->id,
				       &id_len) >= 0)
		c->id_len = id_len;
	st->n_certs++;
	return 0;
}

int certstore_add_cert_data(struct spop_host *host, struct certstore *st,
			    const gnutls_datum_t *data,
			    gnutls_x509_crt_fmt_t fmt, const char *where)
{
	gnutls_x509_crt_t crt = NULL;
	int ret;

	ret = gnutls_x509_crt_init(&crt);
	if (ret >= 0)
		ret = gnutls_x509_crt_import(crt, data, fmt);
	if (ret < 0) {
		if (crt)
			gnutls_x509_crt_deinit(crt);
		return certstore_fail(host, st, SPOP_ERR_CERT_STORE,
				      "Cannot open the %s: %s is not a valid "
				      "certificate: %s.",
				      st->name, where, gnutls_strerror(ret));
	}
	ret = certstore_add_cert(host, st, crt);
	gnutls_x509_crt_deinit(crt);
	return ret;
}

bool certstore_is_x509_der(const unsigned char *data, size_t len)
{
	gnutls_datum_t d = {(unsigned char *)data, (unsigned)len};
	gnutls_x509_crt_t crt;
	bool yes;

	/* A DER certificate is one SEQUENCE (0x30): anything else is not
	 * worth asking the parser. */
	if (!data || len < 2 || len > CERTSTORE_MAX_INPUT || data[0] != 0x30)
		return false;
	if (gnutls_x509_crt_init(&crt) < 0)
		return false;
	yes = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) >= 0;
	gnutls_x509_crt_deinit(crt);
	return yes;
}

int certstore_attach_keys(struct spop_host *host, struct certstore *st,
			  bool keyed_first)
{
	for (size_t i = 0; i < st->n_certs; i++) {
		struct certstore_cert *c = &st->certs[i];

		c->key = NULL;
		for (size_t j = 0; j < st->n_keys && c->id_len; j++)
			if (st->keys[j]->id_len == c->id_len &&
			    memcmp(st->keys[j]->id, c->id, c->id_len) == 0) {
				c->key = st->keys[j];
				break;
			}
	}
	if (keyed_first && st->n_certs > 1) {
		struct certstore_cert *sorted =
		    malloc(st->n_certs * sizeof(*sorted));
		size_t n = 0;

		if (!sorted)
			return certstore_fail(host, st, SPOP_ERR_CERT_STORE,
					      "Cannot open the %s: out of "
					      "memory.",
					      st->name);
		for (size_t i = 0; i < st->n_certs; i++)
			if (st->certs[i].key)
				sorted[n++] = st->certs[i];
		for (size_t i = 0; i < st->n_certs; i++)
			if (!st->certs[i].key)
				sorted[n++] = st->certs[i];
		free(st->certs);
		st->certs = sorted;
	}
	return 0;
}

int certstore_entry(struct spop_host *host, void *handle, size_t index,
		    struct spop_cert_entry *entry)
{
	struct certstore *st = handle;

	if (index >= st->n_certs) {
		if (st->n_certs == 0)
			return host->set_error(
			    host, SPOP_ERR_CERT_NOT_FOUND,
			    "No certificate in the %s (it holds %zu private "
			    "key%s and no certificate), so there is no entry "
			    "%zu.",
			    st->name, st->n_keys, st->n_keys == 1 ? "" : "s",
			    index);
		return host->set_error(host, SPOP_ERR_CERT_NOT_FOUND,
				       "No entry %zu in the %s: it has %zu "
				       "entr%s (0 to %zu).",
				       index, st->name, st->n_certs,
				       st->n_certs == 1 ? "y" : "ies",
				       st->n_certs - 1);
	}
	/* The plugin fills every member it knows (a core is at least as new
	 * as the plugin, so its struct is at least this large). */
	entry->size = sizeof(*entry);
	entry->der = st->certs[index].der.data;
	entry->der_len = st->certs[index].der.size;
	entry->key = st->certs[index].key;
	return 0;
}

void certstore_free(struct certstore *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_certs; i++)
		gnutls_free(st->certs[i].der.data);
	free(st->certs);
	for (size_t i = 0; i < st->n_keys; i++)
		key_free(st->keys[i]);
	free(st->keys);
	free(st->name);
	free(st->why);
	free(st);
}

void certstore_close(struct spop_host *host, void *handle)
{
	certstore_free(handle);
}
