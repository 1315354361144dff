/* Cert store "p7b" (CertStoreType 11 P7B file, 12 P7B blob): a PKCS#7
 * certificate bundle, the degenerate SignedData that `openssl crl2pkcs7
 * -nocrl` and `certtool --p7-generate` write, in DER or in PEM armour
 * ("-----BEGIN PKCS7-----"). GnuTLS parses it; any SignedData is read for
 * its certificates (a signed message's content and signers are ignored).
 *
 * Entries: the bundle's certificates in the order it holds them, without
 * keys (a bundle has none). A bundle without a certificate is 271. A blob
 * is the DER, the PEM text, or base64 of the DER. */
#include "certstore.h"

#include <gnutls/pkcs7.h>
#include <stdio.h>
#include <string.h>

#define KIND "P7B"

static bool has_pem_armour(const unsigned char *data, size_t len)
{
	struct certstore_pem_census c;

	if (!certstore_pem_has_begin(data, len))
		return false;
	certstore_pem_census(data, len, "PKCS7", &c);
	return c.has_label;
}

static int import(const unsigned char *data, size_t len, gnutls_pkcs7_t *p7)
{
	gnutls_datum_t d = {(unsigned char *)data, (unsigned)len};
	int ret;

	*p7 = NULL;
	ret = gnutls_pkcs7_init(p7);
	if (ret < 0)
		return ret;
	ret = gnutls_pkcs7_import(*p7, &d,
				  has_pem_armour(data, len)
				      ? GNUTLS_X509_FMT_PEM
				      : GNUTLS_X509_FMT_DER);
	if (ret < 0) {
		gnutls_pkcs7_deinit(*p7);
		*p7 = NULL;
	}
	return ret;
}

static bool is_pkcs7(const unsigned char *data, size_t len)
{
	gnutls_pkcs7_t p7;

	/* DER is one SEQUENCE; text must carry the armour. */
	if (!data || len < 2 || (data[0] != 0x30 && !has_pem_armour(data, len)))
		return false;
	if (import(data, len, &p7) < 0)
		return false;
	gnutls_pkcs7_deinit(p7);
	return true;
}

static int p7b_probe(struct spop_host *host, const unsigned char *data,
		     size_t len, int is_file)
{
	struct certstore_input in;
	bool yes;

	if (is_file) {
		if (certstore_input_file(host, KIND, data, len, true, &in))
			return 0;
		yes = is_pkcs7(in.data, in.len);
		certstore_input_clear(&in);
		return yes;
	}
	if (is_pkcs7(data, len))
		return 1;
	if (!certstore_input_copy(data, len, &in))
		return 0;
	yes = certstore_input_unwrap_base64(host, &in, is_pkcs7);
	certstore_input_clear(&in);
	return yes;
}

static int read_certs(struct spop_host *host, struct certstore *st,
		      gnutls_pkcs7_t p7)
{
	int n = gnutls_pkcs7_get_crt_count(p7);

	if (n <= 0)
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the %s: the PKCS#7 bundle "
				       "holds no certificate.",
				       st->name);
	for (int i = 0; i < n; i++) {
		gnutls_datum_t der = {NULL, 0};
		char where[64];
		int rc, ret;

		ret = gnutls_pkcs7_get_crt_raw2(p7, (unsigned)i, &der);
		if (ret < 0)
			return host->set_error(
			    host, SPOP_ERR_CERT_STORE,
			    "Cannot open the %s: certificate "
			    "%d of the bundle cannot be "
			    "read: %s.",
			    st->name, i + 1, gnutls_strerror(ret));
		snprintf(where, sizeof(where), "certificate %d of the bundle",
			 i + 1);
		rc = certstore_add_cert_data(host, st, &der,
					     GNUTLS_X509_FMT_DER, where);
		gnutls_free(der.data);
		if (rc)
			return rc;
	}
	return 0;
}

static int p7b_open(struct spop_host *host, int store_type,
		    const unsigned char *store, size_t store_len,
		    const char *password, void **handle)
{
	struct certstore_input in;
	struct certstore *st;
	gnutls_pkcs7_t p7 = NULL;
	int rc, ret;

	*handle = NULL;
	rc = certstore_input_read(host, KIND, "p7b", store_type, 11, store,
				  store_len, &in);
	if (rc)
		return rc;
	ret = import(in.data, in.len, &p7);
	if (ret < 0 && store_type == 12 &&
	    certstore_input_unwrap_base64(host, &in, is_pkcs7))
		ret = import(in.data, in.len, &p7);
	if (ret < 0) {
		rc = host->set_error(
		    host, SPOP_ERR_CERT_STORE,
		    "Cannot open the %s: it is not a PKCS#7 certificate bundle "
		    "(SignedData) in DER or PEM%s: %s.",
		    in.name, store_type == 12 ? ", nor base64 of the DER" : "",
		    gnutls_strerror(ret));
		certstore_input_clear(&in);
		return rc;
	}
	rc = certstore_new(host, &in, &st);
	if (rc) {
		gnutls_pkcs7_deinit(p7);
		certstore_input_clear(&in);
		return rc;
	}
	rc = read_certs(host, st, p7);
	gnutls_pkcs7_deinit(p7);
	certstore_input_clear(&in);
	if (rc) {
		certstore_free(st);
		return rc;
	}
	*handle = st;
	return 0;
}

static const struct spop_certstore_ops ops = {
    .size = sizeof(struct spop_certstore_ops),
    .probe = p7b_probe,
    .open = p7b_open,
    .entry = certstore_entry,
    .close = certstore_close,
};

static const int32_t selectors[] = {11, 12};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_CERTSTORE,
    .name = "p7b",
    .version = "1.0",
    .description = "PKCS#7 certificate bundle, DER or PEM (file or blob)",
    .selectors = selectors,
    .n_selectors = 2,
    .capabilities = SPOP_CAP_CERTSTORE_BLOB,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
