/* Cert store "pfx" (CertStoreType 2 PFX file, 3 PFX blob): PKCS#12, as
 * written by OpenSSL 3 (`openssl pkcs12 -export`, AES-256/PBKDF2 by default,
 * RC2-40/3DES with -legacy), GnuTLS certtool --to-p12 (DER, or PEM armour
 * "-----BEGIN PKCS12-----" without --outder) and NSS pk12util -o. GnuTLS
 * 3.7.9 opens all four (the test suite makes each).
 *
 * The reading (common/pkcs12.c) checks the MAC with the store password
 * first, so a wrong password is told apart from a damaged file (273 against
 * 271); an empty password is tried as "" and as none; a file without a MAC
 * (openssl -nomac) opens with its integrity unchecked.
 *
 * Entries: the certificates that carry a private key of the store first
 * (the client certificate), then the others (its chain, CA certificates)
 * without keys, each group in the file's bag order. A store without a key
 * opens too; its entries have no key.
 *
 * A blob is the PKCS#12 DER, its PEM armour, or base64 of either. */
#include "certstore.h"

#include <string.h>

#define KIND "PFX"

static int pfx_probe(struct spop_host *host, const unsigned char *data,
		     size_t len, int is_file)
{
	struct certstore_input in;
	gnutls_pkcs12_t p12;
	int yes;

	if (is_file) {
		if (certstore_input_file(host, KIND, data, len, true, &in))
			return 0;
	} else if (!certstore_input_copy(data, len, &in)) {
		return 0;
	}
	yes = certstore_pkcs12_parse(host, &in, !is_file, &p12) == 0;
	if (p12)
		gnutls_pkcs12_deinit(p12);
	certstore_input_clear(&in);
	return yes;
}

static int pfx_open(struct spop_host *host, int store_type,
		    const unsigned char *store, size_t store_len,
		    const char *password, void **handle)
{
	struct certstore_input in;
	struct certstore *st = NULL;
	gnutls_pkcs12_t p12 = NULL;
	int rc, ret;

	*handle = NULL;
	rc = certstore_input_read(host, KIND, "pfx", store_type, 2, store,
				  store_len, &in);
	if (rc)
		return rc;
	ret = certstore_pkcs12_parse(host, &in, store_type == 3, &p12);
	if (ret < 0) {
		rc = host->set_error(
		    host, SPOP_ERR_CERT_STORE,
		    "Cannot open the %s: it is not a PKCS#12 (PFX) store%s: "
		    "%s.",
		    in.name, store_type == 3 ? " in DER, PEM or base64" : "",
		    gnutls_strerror(ret));
		certstore_input_clear(&in);
		return rc;
	}
	rc = certstore_new(host, &in, &st);
	if (rc)
		goto out;
	rc = certstore_pkcs12_read(host, st, p12, password);
	if (!rc)
		rc = certstore_attach_keys(host, st, true);
out:
	gnutls_pkcs12_deinit(p12);
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
    .probe = pfx_probe,
    .open = pfx_open,
    .entry = certstore_entry,
    .key_sign = certstore_key_sign,
    .key_decrypt = certstore_key_decrypt,
    .key_export = certstore_key_export,
    .close = certstore_close,
    .key_derive = certstore_key_derive,
};

static const int32_t selectors[] = {2, 3};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_CERTSTORE,
    .name = "pfx",
    .version = "1.0",
    .description = "PKCS#12 (PFX) file or blob, as OpenSSL, GnuTLS and NSS "
		   "write it",
    .selectors = selectors,
    .n_selectors = 2,
    .capabilities = SPOP_CAP_CERTSTORE_PRIVATE_KEYS | SPOP_CAP_CERTSTORE_BLOB,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
