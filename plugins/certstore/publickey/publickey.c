/* Cert store "publickey" (CertStoreType 8 PublicKey file, 9 PublicKey
 * blob): certificates without private keys, for verification (SignerCert*)
 * and for encrypting to a recipient.
 *
 * A file is PEM text with one or more "CERTIFICATE" blocks (entries in text
 * order; any key blocks in it are skipped unread), or one DER certificate.
 * A blob is the same bytes, or either of them base64-encoded (the
 * reference's "binary or base64-encoded"). No entry carries a key. Input
 * without a certificate is 271. */
#include "certstore.h"

#include <string.h>

#define KIND "PublicKey"

static bool pem_with_certs(const unsigned char *data, size_t len)
{
	struct certstore_pem_census c;

	if (!certstore_pem_has_begin(data, len))
		return false;
	certstore_pem_census(data, len, NULL, &c);
	return c.certs > 0;
}

static bool certs_or_der(const unsigned char *data, size_t len)
{
	return pem_with_certs(data, len) || certstore_is_x509_der(data, len);
}

/* Text that holds a private key is a PEMKey store, which Auto tries
 * first; publickey recognises only certificates alone. */
static bool recognised(const unsigned char *data, size_t len)
{
	struct certstore_pem_census c;

	if (certstore_is_x509_der(data, len))
		return true;
	if (!certstore_pem_has_begin(data, len))
		return false;
	certstore_pem_census(data, len, NULL, &c);
	return c.certs > 0 && c.keys == 0;
}

static int publickey_probe(struct spop_host *host, const unsigned char *data,
			   size_t len, int is_file)
{
	struct certstore_input in;
	bool yes;

	if (is_file) {
		if (certstore_input_file(host, KIND, data, len, true, &in))
			return 0;
	} else {
		if (!certstore_input_copy(data, len, &in))
			return 0;
		if (!certs_or_der(in.data, in.len) &&
		    !certstore_input_unwrap_base64(host, &in, certs_or_der)) {
			certstore_input_clear(&in);
			return 0;
		}
	}
	yes = recognised(in.data, in.len);
	certstore_input_clear(&in);
	return yes;
}

static int publickey_open(struct spop_host *host, int store_type,
			  const unsigned char *store, size_t store_len,
			  const char *password, void **handle)
{
	struct certstore_input in;
	struct certstore *st;
	gnutls_datum_t der;
	bool pem;
	int rc;

	*handle = NULL;
	rc = certstore_input_read(host, KIND, "publickey", store_type, 8, store,
				  store_len, &in);
	if (rc)
		return rc;
	if (store_type == 9 && !certs_or_der(in.data, in.len))
		certstore_input_unwrap_base64(host, &in, certs_or_der);
	pem = certstore_pem_has_begin(in.data, in.len);
	rc = certstore_new(host, &in, &st);
	if (rc) {
		certstore_input_clear(&in);
		return rc;
	}
	if (pem) {
		rc = certstore_pem_read(host, st, in.data, in.len, NULL, false);
		if (!rc && st->n_certs == 0)
			rc = host->set_error(
			    host, SPOP_ERR_CERT_STORE,
			    "Cannot open the %s: its PEM text holds no "
			    "certificate (no CERTIFICATE block).",
			    st->name);
	} else if (in.len && in.data[0] == 0x30) {
		der.data = in.data;
		der.size = (unsigned)in.len;
		rc = certstore_add_cert_data(
		    host, st, &der, GNUTLS_X509_FMT_DER, "its DER data");
	} else {
		rc = host->set_error(host, SPOP_ERR_CERT_STORE,
				     "Cannot open the %s: it is neither PEM "
				     "text nor a DER certificate%s.",
				     st->name,
				     store_type == 9 ? ", nor either of them "
						       "base64-encoded"
						     : "");
	}
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
    .probe = publickey_probe,
    .open = publickey_open,
    .entry = certstore_entry,
    .close = certstore_close,
};

static const int32_t selectors[] = {8, 9};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_CERTSTORE,
    .name = "publickey",
    .version = "1.0",
    .description = "PEM or DER certificates without keys (file or blob)",
    .selectors = selectors,
    .n_selectors = 2,
    .capabilities = SPOP_CAP_CERTSTORE_BLOB,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
