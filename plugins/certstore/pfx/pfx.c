/* Cert store "pfx" (CertStoreType 2 PFX file, 3 PFX blob): PKCS#12, as
 * written by OpenSSL 3 (`openssl pkcs12 -export`, AES-256/PBKDF2 by default,
 * RC2-40/3DES with -legacy), GnuTLS certtool --to-p12 (DER, or PEM armour
 * "-----BEGIN PKCS12-----" without --outder) and NSS pk12util -o. GnuTLS
 * 3.7.9 opens all four (the test suite makes each).
 *
 * The MAC is checked with the store password first, so a wrong password is
 * told apart from a damaged file (273 against 271). An empty password is
 * tried both as the empty string and as no password at all, the two ways
 * PKCS#12 writers encode it. A file without a MAC (openssl -nomac) opens
 * with its integrity unchecked; a wrong password then shows when the
 * encrypted parts do not decrypt.
 *
 * Entries: the certificates that carry a private key of the store first
 * (the client certificate), then the others (its chain, CA certificates)
 * without keys, each group in the file's bag order. A store without a key
 * opens too; its entries have no key.
 *
 * A blob is the PKCS#12 DER, its PEM armour, or base64 of the DER. */
#include "certstore.h"

#include <gnutls/pkcs12.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIND "PFX"

static bool has_pem_armour(const unsigned char *data, size_t len)
{
	static const char begin[] = "-----BEGIN PKCS12-----";

	return memmem(data, len, begin, sizeof(begin) - 1) != NULL;
}

/* Parses data as PKCS#12: DER, PEM armour, or (for a blob) base64 of the
 * DER, replacing in->data with the decoded bytes. 0, or the GnuTLS error
 * of the direct attempt. */
static int parse(struct spop_host *host, struct certstore_input *in,
		 bool try_base64, gnutls_pkcs12_t *p12)
{
	gnutls_datum_t d = {in->data, (unsigned)in->len};
	unsigned char *decoded;
	size_t dlen;
	int ret;

	*p12 = NULL;
	ret = gnutls_pkcs12_init(p12);
	if (ret < 0)
		return ret;
	ret = gnutls_pkcs12_import(*p12, &d,
				   has_pem_armour(in->data, in->len)
				       ? GNUTLS_X509_FMT_PEM
				       : GNUTLS_X509_FMT_DER,
				   0);
	if (ret >= 0)
		return 0;
	if (try_base64 &&
	    certstore_base64_decode(host, in->data, in->len, &decoded, &dlen)) {
		gnutls_datum_t b = {decoded, (unsigned)dlen};

		if (gnutls_pkcs12_import(*p12, &b, GNUTLS_X509_FMT_DER, 0) >=
		    0) {
			gnutls_memset(in->data, 0, in->len);
			free(in->data);
			in->data = decoded;
			in->len = dlen;
			return 0;
		}
		gnutls_memset(decoded, 0, dlen);
		free(decoded);
	}
	gnutls_pkcs12_deinit(*p12);
	*p12 = NULL;
	return ret;
}

static int pfx_probe(struct spop_host *host, const unsigned char *data,
		     size_t len, int is_file)
{
	struct certstore_input in;
	gnutls_pkcs12_t p12;
	int yes;

	if (is_file) {
		if (certstore_input_file(host, KIND, data, len, true, &in))
			return 0;
	} else {
		if (!data || len == 0 || len > CERTSTORE_MAX_INPUT)
			return 0;
		memset(&in, 0, sizeof(in));
		in.data = malloc(len + 1);
		if (!in.data)
			return 0;
		memcpy(in.data, data, len);
		in.data[len] = '\0';
		in.len = len;
	}
	yes = parse(host, &in, !is_file, &p12) == 0;
	if (p12)
		gnutls_pkcs12_deinit(p12);
	certstore_input_clear(&in);
	return yes;
}

/* What a failed decryption means: with an unchecked or no MAC, a wrong
 * password; otherwise (the MAC held) a cipher GnuTLS cannot do. */
static int decrypt_error(struct spop_host *host, struct certstore *st,
			 const char *what, int ret, bool mac_checked,
			 const char *password)
{
	if (ret == GNUTLS_E_DECRYPTION_FAILED && !mac_checked)
		return host->set_error(
		    host, SPOP_ERR_CREDENTIALS,
		    "Wrong password for the %s: its %s does not decrypt (the "
		    "file has no MAC to check the password against)%s.",
		    st->name, what,
		    *password ? "" : "; the store password is empty");
	return host->set_error(host, SPOP_ERR_CERT_STORE,
			       "Cannot open the %s: its %s cannot be "
			       "decrypted by GnuTLS %s: %s.",
			       st->name, what, gnutls_check_version(NULL),
			       gnutls_strerror(ret));
}

static int add_key(struct spop_host *host, struct certstore *st,
		   const gnutls_datum_t *data, bool encrypted,
		   const char *password, bool mac_checked, size_t bag)
{
	gnutls_x509_privkey_t x509 = NULL;
	int ret;

	ret = gnutls_x509_privkey_init(&x509);
	if (ret >= 0)
		ret = gnutls_x509_privkey_import_pkcs8(
		    x509, data, GNUTLS_X509_FMT_DER,
		    encrypted ? password : NULL,
		    encrypted ? 0 : GNUTLS_PKCS_PLAIN);
	if (ret < 0) {
		char what[64];

		if (x509)
			gnutls_x509_privkey_deinit(x509);
		snprintf(what, sizeof(what), "private key (bag %zu)", bag);
		if (encrypted)
			return decrypt_error(host, st, what, ret, mac_checked,
					     password ? password : "");
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the %s: its %s cannot be "
				       "read: %s.",
				       st->name, what, gnutls_strerror(ret));
	}
	return certstore_add_key(host, st, x509);
}

static int add_cert(struct spop_host *host, struct certstore *st,
		    const gnutls_datum_t *data, size_t bag)
{
	gnutls_x509_crt_t crt = NULL;
	int ret;

	ret = gnutls_x509_crt_init(&crt);
	if (ret >= 0)
		ret = gnutls_x509_crt_import(crt, data, GNUTLS_X509_FMT_DER);
	if (ret < 0) {
		if (crt)
			gnutls_x509_crt_deinit(crt);
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the %s: the certificate in "
				       "bag %zu is not valid: %s.",
				       st->name, bag, gnutls_strerror(ret));
	}
	ret = certstore_add_cert(host, st, crt);
	gnutls_x509_crt_deinit(crt);
	return ret;
}

/* Walks the bags in file order, decrypting the encrypted ones, and keeps
 * every key and certificate (CRLs and secrets are skipped). */
static int read_bags(struct spop_host *host, struct certstore *st,
		     gnutls_pkcs12_t p12, const char *password,
		     bool mac_checked)
{
	for (size_t i = 0;; i++) {
		gnutls_pkcs12_bag_t bag;
		int ret, n, rc = 0;

		ret = gnutls_pkcs12_bag_init(&bag);
		if (ret < 0)
			return host->set_error(host, SPOP_ERR_CERT_STORE,
					       "Cannot open the %s: %s.",
					       st->name, gnutls_strerror(ret));
		ret = gnutls_pkcs12_get_bag(p12, (int)i, bag);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
			gnutls_pkcs12_bag_deinit(bag);
			return 0;
		}
		if (ret >= 0 && gnutls_pkcs12_bag_get_type(bag, 0) ==
				    GNUTLS_BAG_ENCRYPTED) {
			ret = gnutls_pkcs12_bag_decrypt(bag, password);
			if (ret < 0) {
				char what[64];

				snprintf(what, sizeof(what),
					 "encrypted bag %zu", i);
				rc = decrypt_error(host, st, what, ret,
						   mac_checked,
						   password ? password : "");
				gnutls_pkcs12_bag_deinit(bag);
				return rc;
			}
		}
		if (ret < 0) {
			gnutls_pkcs12_bag_deinit(bag);
			return host->set_error(host, SPOP_ERR_CERT_STORE,
					       "Cannot open the %s: bag %zu "
					       "cannot be read: %s.",
					       st->name, i,
					       gnutls_strerror(ret));
		}
		n = gnutls_pkcs12_bag_get_count(bag);
		for (int j = 0; j < n && !rc; j++) {
			gnutls_datum_t data;
			int type = gnutls_pkcs12_bag_get_type(bag, (unsigned)j);

			if (type != GNUTLS_BAG_PKCS8_ENCRYPTED_KEY &&
			    type != GNUTLS_BAG_PKCS8_KEY &&
			    type != GNUTLS_BAG_CERTIFICATE)
				continue;
			ret =
			    gnutls_pkcs12_bag_get_data(bag, (unsigned)j, &data);
			if (ret < 0)
				rc = host->set_error(
				    host, SPOP_ERR_CERT_STORE,
				    "Cannot open the %s: element %d of bag "
				    "%zu cannot be read: %s.",
				    st->name, j, i, gnutls_strerror(ret));
			else if (type == GNUTLS_BAG_CERTIFICATE)
				rc = add_cert(host, st, &data, i);
			else
				rc = add_key(host, st, &data,
					     type ==
						 GNUTLS_BAG_PKCS8_ENCRYPTED_KEY,
					     password, mac_checked, i);
			/* A plain key bag holds the key in clear, and GnuTLS
			 * frees bags without wiping them; get_data points
			 * into the bag, so wipe it there. */
			if (ret >= 0 && type == GNUTLS_BAG_PKCS8_KEY)
				gnutls_memset(data.data, 0, data.size);
		}
		gnutls_pkcs12_bag_deinit(bag);
		if (rc)
			return rc;
	}
}

static int pfx_open(struct spop_host *host, int store_type,
		    const unsigned char *store, size_t store_len,
		    const char *password, void **handle)
{
	struct certstore_input in;
	struct certstore *st = NULL;
	gnutls_pkcs12_t p12 = NULL;
	const char *used;
	bool mac_checked = true;
	int rc, ret;

	*handle = NULL;
	if (!password)
		password = "";
	if (store_type == 2)
		rc = certstore_input_file(host, KIND, store, store_len, false,
					  &in);
	else if (store_type == 3)
		rc = certstore_input_blob(host, KIND, store, store_len, &in);
	else
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "The pfx store serves CertStoreType 2 "
				       "(PFX file) and 3 (PFX blob), not %d.",
				       store_type);
	if (rc)
		return rc;
	ret = parse(host, &in, store_type == 3, &p12);
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
	st = certstore_new(&in);
	if (!st) {
		rc = host->set_error(host, SPOP_ERR_CERT_STORE,
				     "Cannot open the %s: out of memory.",
				     in.name);
		goto out;
	}

	used = password;
	ret = gnutls_pkcs12_verify_mac(p12, used);
	if (ret == GNUTLS_E_MAC_VERIFY_FAILED && !*password &&
	    gnutls_pkcs12_verify_mac(p12, NULL) == 0) {
		used = NULL;
		ret = 0;
	}
	if (ret == GNUTLS_E_ASN1_ELEMENT_NOT_FOUND ||
	    ret == GNUTLS_E_ASN1_VALUE_NOT_FOUND) {
		mac_checked = false; /* no macData at all */
	} else if (ret == GNUTLS_E_MAC_VERIFY_FAILED) {
		if (*password)
			rc = host->set_error(host, SPOP_ERR_CREDENTIALS,
					     "Wrong password for the %s: its "
					     "MAC does not verify with it.",
					     st->name);
		else
			rc = host->set_error(host, SPOP_ERR_CREDENTIALS,
					     "The %s needs a password (its MAC "
					     "does not verify without one), "
					     "and the store password is "
					     "empty.",
					     st->name);
		goto out;
	} else if (ret < 0) {
		rc = host->set_error(host, SPOP_ERR_CERT_STORE,
				     "Cannot open the %s: GnuTLS %s cannot "
				     "check its MAC: %s.",
				     st->name, gnutls_check_version(NULL),
				     gnutls_strerror(ret));
		goto out;
	}
	rc = read_bags(host, st, p12, used, mac_checked);
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
