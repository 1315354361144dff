/* Cert store "pemkey" (CertStoreType 6 PEMKey file, 7 PEMKey blob): PEM
 * text holding a private key and, usually, its certificate and chain.
 *
 * The blocks it reads are those of common/pem.c: PKCS#1 (also OpenSSL's
 * Proc-Type/DEK-Info encryption), SEC1, DSA, PKCS#8 and encrypted PKCS#8
 * keys (with the store password), and CERTIFICATE blocks; others are
 * skipped.
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

#include <stdlib.h>
#include <string.h>

#define KIND "PEMKey"

static bool has_key_block(const unsigned char *data, size_t len)
{
	struct certstore_pem_census c;

	certstore_pem_census(data, len, NULL, &c);
	return c.keys > 0;
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
		if (certstore_pem_has_begin(data, len))
			return has_key_block(data, len);
		if (!certstore_input_copy(data, len, &in))
			return 0;
		if (!certstore_input_unwrap_base64(host, &in,
						   certstore_pem_has_begin)) {
			certstore_input_clear(&in);
			return 0;
		}
	}
	yes = has_key_block(in.data, in.len);
	certstore_input_clear(&in);
	return yes;
}

static int pemkey_open(struct spop_host *host, int store_type,
		       const unsigned char *store, size_t store_len,
		       const char *password, void **handle)
{
	struct certstore_input in;
	struct certstore *st = NULL;
	int rc;

	*handle = NULL;
	rc = certstore_input_read(host, KIND, "pemkey", store_type, 6, store,
				  store_len, &in);
	if (rc)
		return rc;
	if (!certstore_pem_has_begin(in.data, in.len) &&
	    (store_type == 6 || !certstore_input_unwrap_base64(
				    host, &in, certstore_pem_has_begin))) {
		rc = host->set_error(
		    host, SPOP_ERR_CERT_STORE,
		    "Cannot open the %s: it is not PEM text (no "
		    "\"-----BEGIN\" line)%s.",
		    in.name,
		    store_type == 7 ? ", nor base64-encoded PEM text" : "");
		certstore_input_clear(&in);
		return rc;
	}
	rc = certstore_new(host, &in, &st);
	if (rc) {
		certstore_input_clear(&in);
		return rc;
	}
	rc = certstore_pem_read(host, st, in.data, in.len, password, true);
	if (rc)
		goto fail;
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
    .key_derive = certstore_key_derive,
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
