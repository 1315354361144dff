/* PKCS#12 as the stores read it (pfx, dirstore): parsing the DER, its PEM
 * armour or base64, checking the MAC with the store password so that a
 * wrong password is told apart from a damaged file (273 against 271), and
 * reading every key and certificate bag in file order.
 *
 * An empty password is tried both as the empty string and as no password at
 * all, the two ways PKCS#12 writers encode it. A file without a MAC (openssl
 * -nomac) opens with its integrity unchecked; a wrong password then shows
 * when the encrypted parts do not decrypt. */
#include "certstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool has_pem_armour(const unsigned char *data, size_t len)
{
	static const char begin[] = "-----BEGIN PKCS12-----";

	return memmem(data, len, begin, sizeof(begin) - 1) != NULL;
}

int certstore_pkcs12_parse(struct spop_host *host, struct certstore_input *in,
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

		if (gnutls_pkcs12_import(*p12, &b,
					 has_pem_armour(decoded, dlen)
					     ? GNUTLS_X509_FMT_PEM
					     : GNUTLS_X509_FMT_DER,
					 0) >= 0) {
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

/* What a failed decryption means: with an unchecked or no MAC, a wrong
 * password; otherwise (the MAC held) a cipher GnuTLS cannot do. */
static int decrypt_error(struct spop_host *host, struct certstore *st,
			 const char *what, int ret, bool mac_checked,
			 const char *password)
{
	if (ret == GNUTLS_E_DECRYPTION_FAILED && !mac_checked)
		return certstore_fail_password(
		    host, st,
		    "Wrong password for the %s: its %s does not decrypt (the "
		    "file has no MAC to check the password against)%s.",
		    st->name, what,
		    *password ? "" : "; the store password is empty");
	return certstore_fail(host, st, SPOP_ERR_CERT_STORE,
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
		return certstore_fail(host, st, SPOP_ERR_CERT_STORE,
				      "Cannot open the %s: its %s cannot be "
				      "read: %s.",
				      st->name, what, gnutls_strerror(ret));
	}
	return certstore_add_key(host, st, x509);
}

static int add_cert(struct spop_host *host, struct certstore *st,
		    const gnutls_datum_t *data, size_t bag)
{
	char where[64];

	snprintf(where, sizeof(where), "the certificate in bag %zu", bag);
	return certstore_add_cert_data(host, st, data, GNUTLS_X509_FMT_DER,
				       where);
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
			return certstore_fail(host, st, SPOP_ERR_CERT_STORE,
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
			return certstore_fail(host, st, SPOP_ERR_CERT_STORE,
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
				rc = certstore_fail(
				    host, st, SPOP_ERR_CERT_STORE,
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

int certstore_pkcs12_read(struct spop_host *host, struct certstore *st,
			  gnutls_pkcs12_t p12, const char *password)
{
	const char *used;
	bool mac_checked = true;
	int ret;

	if (!password)
		password = "";
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
			return certstore_fail_password(
			    host, st,
			    "Wrong password for the %s: its MAC does not "
			    "verify with it.",
			    st->name);
		return certstore_fail_password(
		    host, st,
		    "The %s needs a password (its MAC does not verify "
		    "without one), and the store password is empty.",
		    st->name);
	} else if (ret < 0) {
		return certstore_fail(host, st, SPOP_ERR_CERT_STORE,
				      "Cannot open the %s: GnuTLS %s cannot "
				      "check its MAC: %s.",
				      st->name, gnutls_check_version(NULL),
				      gnutls_strerror(ret));
	}
	return read_bags(host, st, p12, used, mac_checked);
}
