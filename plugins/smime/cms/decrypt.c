/* The decrypt half of the cms engine: CMS EnvelopedData (RFC 5652) and
 * AuthEnvelopedData (RFC 5083) in DER (BER as libtasn1 reads it).
 *
 * 1. The structure is parsed with libtasn1 against cms.asn.
 * 2. The recipient: the first RecipientInfo whose identifier names the
 *    certificate of one of keys->entries that has a key (issuer and serial
 *    number, or subject key identifier, taken from the certificate).
 *    KeyTransRecipientInfo and KeyAgreeRecipientInfo; KEK, password and
 *    other recipient infos are passed over.
 * 3. The content key: key transport (RSA PKCS#1 v1.5, RSA-OAEP with the
 *    hash its parameters name) through store_ops->key_decrypt; key
 *    agreement (ECDH, RFC 5753: dhSinglePass-stdDH-sha*kdf-scheme and the
 *    cofactor variants, which are the same on the NIST curves) through
 *    store_ops->key_derive, then the X9.63 KDF over ECC-CMS-SharedInfo
 *    (gcry_md) and the AES key unwrap of RFC 3394 (GCRY_CIPHER_MODE_AESWRAP).
 * 4. The content: AES-128/192/256-CBC or 3DES-CBC with PKCS#7 padding, or
 *    AES-GCM with its tag checked (AuthEnvelopedData), with libgcrypt.
 *
 * Every failure is 284 and its message names the stage only. For RSA
 * PKCS#1 v1.5 a failed unwrap is not reported as such (RFC 3218, 2.3.2):
 * the engine goes on with a random key of the content cipher's length, so
 * a forged key block fails where any bad ciphertext fails, at "the content
 * could not be decrypted", after the same work.
 *
 * Memory and speed: the ContentInfo is read where it lies, and libtasn1
 * (which copies every value it decodes) gets the EnvelopedData without
 * its encrypted content, so nothing copies the content before it is
 * decrypted: one libgcrypt call from the message into the result's buffer
 * when the content is one primitive string (DER, as openssl writes it);
 * BER chunks (gpgsm, NSS) are first gathered into that buffer and
 * decrypted in place. The peak is the message and the content, about
 * twice the message. A layout the reader does not expect is left to
 * libtasn1 whole (then about three times). */
#include "cms.h"

#include <gcrypt.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OID_ENVELOPED	   "1.2.840.113549.1.7.3"
#define OID_AUTH_ENVELOPED "1.2.840.113549.1.9.16.1.23"
#define OID_RSA		   "1.2.840.113549.1.1.1"
#define OID_RSA_OAEP	   "1.2.840.113549.1.1.7"
#define OID_MGF1	   "1.2.840.113549.1.1.8"
#define OID_P_SPECIFIED	   "1.2.840.113549.1.1.9"
#define OID_EC_PUBLIC_KEY  "1.2.840.10045.2.1"

#define STAGE_RECIPIENT "no recipient of the message matches Cert*"
#define STAGE_UNWRAP	"the content key could not be unwrapped"
#define STAGE_CONTENT	"the content could not be decrypted"

#define MAX_KEY 32 /* the longest content key (AES-256) */

/* ---- algorithm tables --------------------------------------------------- */

enum mode { MODE_CBC, MODE_GCM };

struct content_cipher {
	const char *oid;
	const char *name;
	int algo; /* GCRY_CIPHER_* */
	size_t key_len, block;
	enum mode mode;
};

static const struct content_cipher ciphers[] = {
    {"2.16.840.1.101.3.4.1.2", "AES-128-CBC", GCRY_CIPHER_AES128, 16, 16,
     MODE_CBC},
    {"2.16.840.1.101.3.4.1.22", "AES-192-CBC", GCRY_CIPHER_AES192, 24, 16,
     MODE_CBC},
    {"2.16.840.1.101.3.4.1.42", "AES-256-CBC", GCRY_CIPHER_AES256, 32, 16,
     MODE_CBC},
    {"1.2.840.113549.3.7", "3DES-CBC", GCRY_CIPHER_3DES, 24, 8, MODE_CBC},
    {"2.16.840.1.101.3.4.1.6", "AES-128-GCM", GCRY_CIPHER_AES128, 16, 16,
     MODE_GCM},
    {"2.16.840.1.101.3.4.1.26", "AES-192-GCM", GCRY_CIPHER_AES192, 24, 16,
     MODE_GCM},
    {"2.16.840.1.101.3.4.1.46", "AES-256-GCM", GCRY_CIPHER_AES256, 32, 16,
     MODE_GCM},
};

struct hash_alg {
	const char *oid;
	const char *name; /* in key_algorithm names */
	int spop;	  /* SPOP_HASH_* */
	int md;		  /* GCRY_MD_* */
};

static const struct hash_alg hashes[] = {
    {"1.3.14.3.2.26", "SHA1", SPOP_HASH_SHA1, GCRY_MD_SHA1},
    {"2.16.840.1.101.3.4.2.4", "SHA224", SPOP_HASH_SHA224, GCRY_MD_SHA224},
    {"2.16.840.1.101.3.4.2.1", "SHA256", SPOP_HASH_SHA256, GCRY_MD_SHA256},
    {"2.16.840.1.101.3.4.2.2", "SHA384", SPOP_HASH_SHA384, GCRY_MD_SHA384},
    {"2.16.840.1.101.3.4.2.3", "SHA512", SPOP_HASH_SHA512, GCRY_MD_SHA512},
};

/* RFC 5753 key agreement schemes (SEC 1 / X9.63 OIDs) and their KDF hash.
 * The cofactor variants equal the standard ones on curves of cofactor 1
 * (P-256, P-384, P-521), which are the curves the stores derive on. */
static const struct {
	const char *oid;
	int md;
	const char *name;
} kari_schemes[] = {
    {"1.3.133.16.840.63.0.2", GCRY_MD_SHA1, "SHA1"},
    {"1.3.132.1.11.0", GCRY_MD_SHA224, "SHA224"},
    {"1.3.132.1.11.1", GCRY_MD_SHA256, "SHA256"},
    {"1.3.132.1.11.2", GCRY_MD_SHA384, "SHA384"},
    {"1.3.132.1.11.3", GCRY_MD_SHA512, "SHA512"},
    {"1.3.133.16.840.63.0.3", GCRY_MD_SHA1, "SHA1"},
    {"1.3.132.1.14.0", GCRY_MD_SHA224, "SHA224"},
    {"1.3.132.1.14.1", GCRY_MD_SHA256, "SHA256"},
    {"1.3.132.1.14.2", GCRY_MD_SHA384, "SHA384"},
    {"1.3.132.1.14.3", GCRY_MD_SHA512, "SHA512"},
};

static const struct {
	const char *oid;
	int algo;
	size_t kek_len;
	const char *name;
} key_wraps[] = {
    {"2.16.840.1.101.3.4.1.5", GCRY_CIPHER_AES128, 16, "AES128-WRAP"},
    {"2.16.840.1.101.3.4.1.25", GCRY_CIPHER_AES192, 24, "AES192-WRAP"},
    {"2.16.840.1.101.3.4.1.45", GCRY_CIPHER_AES256, 32, "AES256-WRAP"},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- small helpers ------------------------------------------------------ */

static int fail(struct spop_host *host, const char *stage)
{
	return host->set_error(host, SPOP_ERR_DECRYPT, "Decryption failed: %s.",
			       stage);
}

static int malformed(struct spop_host *host, const char *what, const char *why)
{
	return host->set_error(host, SPOP_ERR_DECRYPT,
			       "Decryption failed: the message is not valid "
			       "CMS EnvelopedData or AuthEnvelopedData (%s: "
			       "%s).",
			       what, why);
}

static int unsupported(struct spop_host *host, const char *what,
		       const char *value)
{
	return host->set_error(host, SPOP_ERR_DECRYPT,
			       "Decryption failed: the message's %s (%s) is "
			       "not supported by the cms engine.",
			       what, value);
}

/* Bytes decoded as the type of cms.asn named (e.g. "AlgorithmIdentifier");
 * 0, or 284 with the error set. */
static int decode(struct spop_host *host, asn1_node defs, const char *type,
		  const unsigned char *der, int len, asn1_node *out)
{
	char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE];
	int rc = cms_decode(defs, type, der, len, out, err);

	return rc == ASN1_SUCCESS
		   ? 0
		   : malformed(host, type, err[0] ? err : asn1_strerror(rc));
}

/* Decodes the value of element name (an ANY) as type. */
static int decode_field(struct spop_host *host, asn1_node defs, asn1_node node,
			const char *name, const char *type, asn1_node *out)
{
	unsigned char *der;
	int len, rc;

	*out = NULL;
	rc = cms_read_alloc(node, name, &der, &len);
	if (rc != ASN1_SUCCESS)
		return malformed(host, name, asn1_strerror(rc));
	rc = decode(host, defs, type, der, len, out);
	free(der);
	return rc;
}

/* A big-endian unsigned integer without its leading zero bytes. */
static void strip_zeros(const unsigned char **p, size_t *len)
{
	while (*len > 1 && (*p)[0] == 0) {
		(*p)++;
		(*len)--;
	}
}

/* ---- the candidate certificates ----------------------------------------- */

struct candidate {
	const struct spop_cert_entry *entry;
	gnutls_datum_t issuer; /* raw issuer Name (DER) */
	unsigned char serial[64];
	size_t serial_len;
	unsigned char ski[64];
	size_t ski_len; /* 0: no subjectKeyIdentifier extension */
};

static void candidates_free(struct candidate *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		gnutls_free(c[i].issuer.data);
	free(c);
}

/* The entries that have a key and a certificate GnuTLS reads, with what
 * a recipient identifier names. */
static int candidates_make(struct spop_host *host,
			   const struct spop_smime_keys *keys,
			   struct candidate **out, size_t *n_out)
{
	struct candidate *c;
	size_t n = 0;

	*out = NULL;
	*n_out = 0;
	c = calloc(keys->n_entries ? keys->n_entries : 1, sizeof(*c));
	if (!c)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "Decryption failed: out of memory.");
	for (size_t i = 0; i < keys->n_entries; i++) {
		const struct spop_cert_entry *e = &keys->entries[i];
		gnutls_x509_crt_t crt;
		gnutls_datum_t d;
		size_t size;
		unsigned critical;

		if (!e->key || !e->der || e->der_len == 0)
			continue;
		if (gnutls_x509_crt_init(&crt) < 0)
			continue;
		d.data = (unsigned char *)e->der;
		d.size = (unsigned)e->der_len;
		if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) < 0 ||
		    gnutls_x509_crt_get_raw_issuer_dn(crt, &c[n].issuer) < 0) {
			gnutls_x509_crt_deinit(crt);
			continue;
		}
		size = sizeof(c[n].serial);
		if (gnutls_x509_crt_get_serial(crt, c[n].serial, &size) < 0)
			size = 0;
		c[n].serial_len = size;
		size = sizeof(c[n].ski);
		if (gnutls_x509_crt_get_subject_key_id(crt, c[n].ski, &size,
						       &critical) < 0)
			size = 0;
		c[n].ski_len = size;
		c[n].entry = e;
		gnutls_x509_crt_deinit(crt);
		n++;
	}
	*out = c;
	*n_out = n;
	return 0;
}

/* The candidate an IssuerAndSerialNumber (at prefix, "...issuer" and
 * "...serialNumber") names, or NULL. */
static const struct candidate *match_ias(asn1_node node, const char *prefix,
					 const struct candidate *c, size_t n)
{
	char name[160];
	unsigned char *issuer = NULL, *serial = NULL;
	int ilen, slen;
	const struct candidate *found = NULL;

	snprintf(name, sizeof(name), "%s.issuer", prefix);
	if (cms_read_alloc(node, name, &issuer, &ilen) != ASN1_SUCCESS)
		return NULL;
	snprintf(name, sizeof(name), "%s.serialNumber", prefix);
	if (cms_read_alloc(node, name, &serial, &slen) != ASN1_SUCCESS) {
		free(issuer);
		return NULL;
	}
	for (size_t i = 0; i < n && !found; i++) {
		const unsigned char *a = serial, *b = c[i].serial;
		size_t alen = (size_t)slen, blen = c[i].serial_len;

		strip_zeros(&a, &alen);
		strip_zeros(&b, &blen);
		if (blen && alen == blen && memcmp(a, b, alen) == 0 &&
		    c[i].issuer.size == (unsigned)ilen &&
		    memcmp(c[i].issuer.data, issuer, (size_t)ilen) == 0)
			found = &c[i];
	}
	free(issuer);
	free(serial);
	return found;
}

static const struct candidate *match_ski(asn1_node node, const char *name,
					 const struct candidate *c, size_t n)
{
	unsigned char *ski;
	int len;
	const struct candidate *found = NULL;

	if (cms_read_alloc(node, name, &ski, &len) != ASN1_SUCCESS)
		return NULL;
	for (size_t i = 0; i < n && !found; i++)
		if (c[i].ski_len && c[i].ski_len == (size_t)len &&
		    memcmp(c[i].ski, ski, (size_t)len) == 0)
			found = &c[i];
	free(ski);
	return found;
}

/* ---- content key: key transport ----------------------------------------- */

static const struct hash_alg *hash_by_oid(const char *oid)
{
	for (size_t i = 0; i < N(hashes); i++)
		if (strcmp(hashes[i].oid, oid) == 0)
			return &hashes[i];
	return NULL;
}

/* RSAES-OAEP-params (RFC 8017 A.2.1): the hash, which MGF1 must share
 * (the stores' OAEP uses one hash for both), and an empty label. */
static int oaep_params(struct spop_host *host, asn1_node defs, asn1_node node,
		       const char *params, const struct hash_alg **hash)
{
	asn1_node p = NULL, mgf = NULL;
	char oid[128];
	const struct hash_alg *h = &hashes[0], *mh = &hashes[0];
	int rc;

	*hash = NULL;
	int n = 0;

	rc = asn1_read_value(node, params, NULL, &n);
	if (rc == ASN1_ELEMENT_NOT_FOUND || rc == ASN1_VALUE_NOT_FOUND) {
		*hash = h;
		return 0;
	}
	if (decode_field(host, defs, node, params, "RSAESOAEPparams", &p))
		return SPOP_ERR_DECRYPT;
	if (cms_read_oid(p, "hashFunc.algorithm", oid, sizeof(oid)) ==
	    ASN1_SUCCESS) {
		h = hash_by_oid(oid);
		if (!h) {
			asn1_delete_structure(&p);
			return unsupported(host, "RSA-OAEP hash", oid);
		}
	}
	if (cms_read_oid(p, "maskGenFunc.algorithm", oid, sizeof(oid)) ==
	    ASN1_SUCCESS) {
		if (strcmp(oid, OID_MGF1) != 0) {
			asn1_delete_structure(&p);
			return unsupported(host, "RSA-OAEP mask generation",
					   oid);
		}
		if (decode_field(host, defs, p, "maskGenFunc.parameters",
				 "AlgorithmIdentifier", &mgf)) {
			asn1_delete_structure(&p);
			return SPOP_ERR_DECRYPT;
		}
		rc = cms_read_oid(mgf, "algorithm", oid, sizeof(oid));
		asn1_delete_structure(&mgf);
		mh = rc == ASN1_SUCCESS ? hash_by_oid(oid) : NULL;
		if (!mh || mh != h) {
			asn1_delete_structure(&p);
			return unsupported(host,
					   "RSA-OAEP MGF1 hash (other than the "
					   "OAEP hash)",
					   rc == ASN1_SUCCESS ? oid : "none");
		}
	}
	if (cms_read_oid(p, "pSourceFunc.algorithm", oid, sizeof(oid)) ==
	    ASN1_SUCCESS) {
		unsigned char *label;
		int len;

		if (strcmp(oid, OID_P_SPECIFIED) != 0) {
			asn1_delete_structure(&p);
			return unsupported(host, "RSA-OAEP label source", oid);
		}
		/* The parameters are an OCTET STRING: 04 00 when empty. */
		rc = cms_read_alloc(p, "pSourceFunc.parameters", &label, &len);
		bool empty = rc == ASN1_SUCCESS && len == 2 &&
			     label[0] == 0x04 && label[1] == 0;
		free(label);
		if (!empty) {
			asn1_delete_structure(&p);
			return unsupported(host, "RSA-OAEP label", "not empty");
		}
	}
	asn1_delete_structure(&p);
	*hash = h;
	return 0;
}

/* KeyTransRecipientInfo at prefix: the content key (key_len bytes) into
 * cek. */
static int ktri_unwrap(struct spop_host *host, asn1_node defs, asn1_node ed,
		       const char *prefix, const struct spop_smime_keys *keys,
		       const struct candidate *who, size_t key_len,
		       unsigned char *cek, char *key_alg, size_t key_alg_size)
{
	char name[160], oid[128];
	unsigned char *ek = NULL, *plain = NULL;
	unsigned char random_key[MAX_KEY], got[MAX_KEY];
	size_t plain_len = 0;
	int ek_len, rc;
	const struct hash_alg *hash = NULL;

	if (!keys->store_ops || !keys->store_ops->key_decrypt)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "Decryption failed: the certificate "
				       "store of Cert* cannot decrypt with "
				       "its key.");
	snprintf(name, sizeof(name), "%s.keyEncryptionAlgorithm.algorithm",
		 prefix);
	if (cms_read_oid(ed, name, oid, sizeof(oid)) != ASN1_SUCCESS)
		return malformed(host, name, "absent");
	if (strcmp(oid, OID_RSA) == 0) {
		snprintf(key_alg, key_alg_size, "RSA");
	} else if (strcmp(oid, OID_RSA_OAEP) == 0) {
		snprintf(name, sizeof(name),
			 "%s.keyEncryptionAlgorithm.parameters", prefix);
		rc = oaep_params(host, defs, ed, name, &hash);
		if (rc)
			return rc;
		snprintf(key_alg, key_alg_size, "RSA-OAEP-%s", hash->name);
	} else {
		return unsupported(host, "key transport algorithm", oid);
	}
	snprintf(name, sizeof(name), "%s.encryptedKey", prefix);
	rc = cms_read_alloc(ed, name, &ek, &ek_len);
	if (rc != ASN1_SUCCESS)
		return malformed(host, name, asn1_strerror(rc));

	gcry_randomize(random_key, key_len, GCRY_STRONG_RANDOM);
	rc = keys->store_ops->key_decrypt(
	    host, who->entry->key,
	    hash ? SPOP_KEY_RSA_OAEP : SPOP_KEY_RSA_PKCS1,
	    hash ? hash->spop : 0, ek, (size_t)ek_len, &plain, &plain_len);
	free(ek);
	if (hash) {
		/* OAEP reports its failure: no oracle to hide here. */
		bool ok = rc == 0 && plain_len == key_len;
		if (ok)
			memcpy(cek, plain, key_len);
		if (plain) {
			memset(plain, 0, plain_len);
			host->free(host, plain);
		}
		memset(random_key, 0, sizeof(random_key));
		return ok ? 0 : fail(host, STAGE_UNWRAP);
	}
	/* RFC 3218: the key block's fate is not told apart from a bad
	 * content; a wrong one becomes the random key, selected without a
	 * branch on the outcome. */
	memset(got, 0, sizeof(got));
	if (plain)
		memcpy(got, plain, plain_len < key_len ? plain_len : key_len);
	unsigned char good =
	    (unsigned char)((rc == 0) & (plain_len == key_len));
	unsigned char mask = (unsigned char)(0u - good);
	for (size_t i = 0; i < key_len; i++)
		cek[i] =
		    (unsigned char)((got[i] & mask) |
				    (random_key[i] & (unsigned char)~mask));
	if (plain) {
		memset(plain, 0, plain_len);
		host->free(host, plain);
	}
	memset(got, 0, sizeof(got));
	memset(random_key, 0, sizeof(random_key));
	return 0;
}

/* ---- content key: key agreement ----------------------------------------- */

/* X9.63 KDF (SEC 1 3.6.1): Hash(Z || counter || SharedInfo), counter from
 * 1, concatenated up to out_len. */
static int x963_kdf(int md, const unsigned char *z, size_t z_len,
		    const unsigned char *info, size_t info_len,
		    unsigned char *out, size_t out_len)
{
	gcry_md_hd_t h;
	unsigned dlen = gcry_md_get_algo_dlen(md);
	uint32_t counter = 1;

	if (dlen == 0 || gcry_md_open(&h, md, 0))
		return -1;
	for (size_t done = 0; done < out_len; counter++) {
		unsigned char c[4] = {(unsigned char)(counter >> 24),
				      (unsigned char)(counter >> 16),
				      (unsigned char)(counter >> 8),
				      (unsigned char)counter};
		size_t take = out_len - done < dlen ? out_len - done : dlen;

		gcry_md_reset(h);
		gcry_md_write(h, z, z_len);
		gcry_md_write(h, c, 4);
		gcry_md_write(h, info, info_len);
		memcpy(out + done, gcry_md_read(h, md), take);
		done += take;
	}
	gcry_md_close(h);
	return 0;
}

/* ECC-CMS-SharedInfo (RFC 5753 7.2), DER, malloc'd. */
static int shared_info(struct spop_host *host, asn1_node defs, asn1_node wrap,
		       const unsigned char *ukm, int ukm_len, size_t kek_len,
		       unsigned char **out, int *out_len)
{
	asn1_node si = NULL;
	char oid[128], err[ASN1_MAX_ERROR_DESCRIPTION_SIZE] = "";
	unsigned char bits[4], *params = NULL;
	int plen = 0, rc, len = 0;

	*out = NULL;
	rc = asn1_create_element(defs, "CMS.ECCCMSSharedInfo", &si);
	if (rc != ASN1_SUCCESS)
		goto bad;
	if (cms_read_oid(wrap, "algorithm", oid, sizeof(oid)) != ASN1_SUCCESS)
		goto bad;
	rc = asn1_write_value(si, "keyInfo.algorithm", oid, 1);
	if (rc != ASN1_SUCCESS)
		goto bad;
	if (cms_read_alloc(wrap, "parameters", &params, &plen) == ASN1_SUCCESS)
		rc = asn1_write_value(si, "keyInfo.parameters", params, plen);
	else
		rc = asn1_write_value(si, "keyInfo.parameters", NULL, 0);
	free(params);
	if (rc != ASN1_SUCCESS)
		goto bad;
	rc = asn1_write_value(si, "entityUInfo", ukm, ukm ? ukm_len : 0);
	if (rc != ASN1_SUCCESS)
		goto bad;
	uint32_t b = (uint32_t)(kek_len * 8);
	bits[0] = (unsigned char)(b >> 24);
	bits[1] = (unsigned char)(b >> 16);
	bits[2] = (unsigned char)(b >> 8);
	bits[3] = (unsigned char)b;
	rc = asn1_write_value(si, "suppPubInfo", bits, 4);
	if (rc != ASN1_SUCCESS)
		goto bad;
	rc = asn1_der_coding(si, "", NULL, &len, err);
	if (rc != ASN1_MEM_ERROR)
		goto bad;
	*out = malloc((size_t)len);
	if (!*out)
		goto bad;
	rc = asn1_der_coding(si, "", *out, &len, err);
	if (rc != ASN1_SUCCESS) {
		free(*out);
		*out = NULL;
		goto bad;
	}
	*out_len = len;
	asn1_delete_structure(&si);
	return 0;
bad:
	asn1_delete_structure(&si);
	return host->set_error(host, SPOP_ERR_DECRYPT,
			       "Decryption failed: ECC-CMS-SharedInfo cannot "
			       "be encoded (%s).",
			       err[0] ? err : asn1_strerror(rc));
}

/* KeyAgreeRecipientInfo at prefix, recipient encrypted key rek (its full
 * element name): the content key (key_len bytes) into cek. */
static int kari_unwrap(struct spop_host *host, asn1_node defs, asn1_node ed,
		       const char *prefix, const char *rek,
		       const struct spop_smime_keys *keys,
		       const struct candidate *who, size_t key_len,
		       unsigned char *cek, char *key_alg, size_t key_alg_size)
{
	asn1_node wrap = NULL;
	char name[200], oid[128], choice[64];
	unsigned char *point = NULL, *ukm = NULL, *ek = NULL, *info = NULL;
	unsigned char *z = NULL, kek[32];
	size_t z_len = 0, s, w;
	int point_bits, ukm_len = 0, ek_len, info_len = 0, rc;
	gcry_cipher_hd_t c = NULL;

	if (!keys->store_ops || !SPOP_OPS_HAS(struct spop_certstore_ops,
					      keys->store_ops, key_derive))
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "Decryption failed: the certificate "
				       "store of Cert* cannot do key "
				       "agreement with its key.");
	snprintf(name, sizeof(name), "%s.keyEncryptionAlgorithm.algorithm",
		 prefix);
	if (cms_read_oid(ed, name, oid, sizeof(oid)) != ASN1_SUCCESS)
		return malformed(host, name, "absent");
	for (s = 0; s < N(kari_schemes); s++)
		if (strcmp(kari_schemes[s].oid, oid) == 0)
			break;
	if (s == N(kari_schemes))
		return unsupported(host, "key agreement scheme", oid);
	snprintf(name, sizeof(name), "%s.keyEncryptionAlgorithm.parameters",
		 prefix);
	if (decode_field(host, defs, ed, name, "AlgorithmIdentifier", &wrap))
		return SPOP_ERR_DECRYPT;
	if (cms_read_oid(wrap, "algorithm", oid, sizeof(oid)) != ASN1_SUCCESS) {
		asn1_delete_structure(&wrap);
		return malformed(host, name, "no key wrap algorithm");
	}
	for (w = 0; w < N(key_wraps); w++)
		if (strcmp(key_wraps[w].oid, oid) == 0)
			break;
	if (w == N(key_wraps)) {
		asn1_delete_structure(&wrap);
		return unsupported(host, "key wrap algorithm", oid);
	}
	snprintf(name, sizeof(name), "%s.originator", prefix);
	if (cms_read_oid(ed, name, choice, sizeof(choice)) != ASN1_SUCCESS ||
	    strcmp(choice, "originatorKey") != 0) {
		asn1_delete_structure(&wrap);
		return unsupported(host, "key agreement originator",
				   "a certificate, not an ephemeral key");
	}
	snprintf(name, sizeof(name),
		 "%s.originator.originatorKey.algorithm.algorithm", prefix);
	if (cms_read_oid(ed, name, oid, sizeof(oid)) != ASN1_SUCCESS ||
	    strcmp(oid, OID_EC_PUBLIC_KEY) != 0) {
		asn1_delete_structure(&wrap);
		return unsupported(host, "originator key type", oid);
	}
	snprintf(name, sizeof(name), "%s.originator.originatorKey.publicKey",
		 prefix);
	rc = cms_read_alloc(ed, name, &point, &point_bits);
	if (rc != ASN1_SUCCESS || point_bits % 8) {
		free(point);
		asn1_delete_structure(&wrap);
		return malformed(host, name, asn1_strerror(rc));
	}
	snprintf(name, sizeof(name), "%s.ukm", prefix);
	if (cms_read_alloc(ed, name, &ukm, &ukm_len) != ASN1_SUCCESS)
		ukm = NULL;
	snprintf(name, sizeof(name), "%s.encryptedKey", rek);
	rc = cms_read_alloc(ed, name, &ek, &ek_len);
	if (rc != ASN1_SUCCESS) {
		rc = malformed(host, name, asn1_strerror(rc));
		goto out;
	}
	rc = shared_info(host, defs, wrap, ukm, ukm_len, key_wraps[w].kek_len,
			 &info, &info_len);
	if (rc)
		goto out;
	snprintf(key_alg, key_alg_size, "ECDH-%s-%s", kari_schemes[s].name,
		 key_wraps[w].name);

	/* From here every failure is the unwrap stage's. */
	rc = keys->store_ops->key_derive(host, who->entry->key, point,
					 (size_t)point_bits / 8, &z, &z_len);
	if (rc) {
		rc = fail(host, STAGE_UNWRAP);
		goto out;
	}
	if (x963_kdf(kari_schemes[s].md, z, z_len, info, (size_t)info_len, kek,
		     key_wraps[w].kek_len) ||
	    (size_t)ek_len != key_len + 8 ||
	    gcry_cipher_open(&c, key_wraps[w].algo, GCRY_CIPHER_MODE_AESWRAP,
			     0) ||
	    gcry_cipher_setkey(c, kek, key_wraps[w].kek_len) ||
	    gcry_cipher_decrypt(c, cek, key_len, ek, (size_t)ek_len))
		rc = fail(host, STAGE_UNWRAP);
out:
	gcry_cipher_close(c);
	memset(kek, 0, sizeof(kek));
	if (z) {
		memset(z, 0, z_len);
		host->free(host, z);
	}
	free(point);
	free(ukm);
	free(ek);
	free(info);
	asn1_delete_structure(&wrap);
	return rc;
}

/* ---- recipient choice --------------------------------------------------- */

enum kind { KTRI, KARI };

struct chosen {
	enum kind kind;
	char prefix[96]; /* "recipientInfos.?N.ktri" / ".kari" */
	char rek[160];	 /* kari: its recipientEncryptedKeys.?M */
	const struct candidate *who;
};

static bool choose(asn1_node ed, const struct candidate *c, size_t n,
		   struct chosen *ch)
{
	int count = 0;
	char name[200], alt[64];

	if (asn1_number_of_elements(ed, "recipientInfos", &count) !=
	    ASN1_SUCCESS)
		return false;
	for (int i = 1; i <= count; i++) {
		snprintf(name, sizeof(name), "recipientInfos.?%d", i);
		if (cms_read_oid(ed, name, alt, sizeof(alt)) != ASN1_SUCCESS)
			continue;
		if (strcmp(alt, "ktri") == 0) {
			char rid[64];

			snprintf(ch->prefix, sizeof(ch->prefix),
				 "recipientInfos.?%d.ktri", i);
			snprintf(name, sizeof(name), "%s.rid", ch->prefix);
			if (cms_read_oid(ed, name, rid, sizeof(rid)) !=
			    ASN1_SUCCESS)
				continue;
			snprintf(name, sizeof(name), "%s.rid.%s", ch->prefix,
				 rid);
			if (strcmp(rid, "issuerAndSerialNumber") == 0)
				ch->who = match_ias(ed, name, c, n);
			else
				ch->who = match_ski(ed, name, c, n);
			if (ch->who) {
				ch->kind = KTRI;
				return true;
			}
		} else if (strcmp(alt, "kari") == 0) {
			int keys = 0;

			snprintf(ch->prefix, sizeof(ch->prefix),
				 "recipientInfos.?%d.kari", i);
			snprintf(name, sizeof(name),
				 "%s.recipientEncryptedKeys", ch->prefix);
			if (asn1_number_of_elements(ed, name, &keys) !=
			    ASN1_SUCCESS)
				continue;
			for (int j = 1; j <= keys; j++) {
				char rid[64];

				snprintf(ch->rek, sizeof(ch->rek),
					 "%s.recipientEncryptedKeys.?%d",
					 ch->prefix, j);
				snprintf(name, sizeof(name), "%s.rid", ch->rek);
				if (cms_read_oid(ed, name, rid, sizeof(rid)) !=
				    ASN1_SUCCESS)
					continue;
				if (strcmp(rid, "issuerAndSerialNumber") == 0) {
					snprintf(name, sizeof(name),
						 "%s.rid.issuerAndSerialNumber",
						 ch->rek);
					ch->who = match_ias(ed, name, c, n);
				} else {
					snprintf(name, sizeof(name),
						 "%s.rid.rKeyId."
						 "subjectKeyIdentifier",
						 ch->rek);
					ch->who = match_ski(ed, name, c, n);
				}
				if (ch->who) {
					ch->kind = KARI;
					return true;
				}
			}
		}
	}
	return false;
}

/* ---- content ------------------------------------------------------------ */

/* The content cipher's parameters: the CBC IV, or the GCM nonce and tag
 * length. */
static int cipher_params(struct spop_host *host, asn1_node defs, asn1_node ed,
			 const char *eci, const struct content_cipher *cc,
			 unsigned char *iv, size_t *iv_len, size_t *tag_len)
{
	asn1_node p = NULL;
	char name[128];
	unsigned char *v = NULL;
	int len = 0, rc;
	const char *type =
	    cc->mode == MODE_GCM ? "GCMParameters" : "OctetString";

	snprintf(name, sizeof(name), "%s.contentEncryptionAlgorithm.parameters",
		 eci);
	if (decode_field(host, defs, ed, name, type, &p))
		return SPOP_ERR_DECRYPT;
	rc =
	    cms_read_alloc(p, cc->mode == MODE_GCM ? "aesNonce" : "", &v, &len);
	if (rc != ASN1_SUCCESS || len <= 0 || len > 16 ||
	    (cc->mode == MODE_CBC && (size_t)len != cc->block)) {
		free(v);
		asn1_delete_structure(&p);
		return malformed(host, name,
				 cc->mode == MODE_GCM ? "bad GCM nonce"
						      : "bad CBC IV");
	}
	memcpy(iv, v, (size_t)len);
	*iv_len = (size_t)len;
	free(v);
	*tag_len = 0;
	if (cc->mode == MODE_GCM) {
		unsigned char n[8];
		int nlen = sizeof(n);

		*tag_len = 12; /* RFC 5084 default */
		rc = asn1_read_value(p, "aesICVlen", n, &nlen);
		if (rc == ASN1_SUCCESS) {
			if (nlen != 1 || n[0] < 12 || n[0] > 16) {
				asn1_delete_structure(&p);
				return malformed(host, name,
						 "GCM tag length not 12 to 16");
			}
			*tag_len = n[0];
		}
	}
	asn1_delete_structure(&p);
	return 0;
}

/* Decrypts len bytes of in into buf (in NULL: buf in place), in one
 * call, so libgcrypt runs its widest code over the whole content; *plain_len
 * the content's length. */
static int content_decrypt(struct spop_host *host,
			   const struct content_cipher *cc,
			   const unsigned char *key, const unsigned char *iv,
			   size_t iv_len, const unsigned char *aad,
			   size_t aad_len, const unsigned char *tag,
			   size_t tag_len, const unsigned char *in,
			   unsigned char *buf, size_t len, size_t *plain_len)
{
	gcry_cipher_hd_t h;
	gcry_error_t e;
	int mode =
	    cc->mode == MODE_GCM ? GCRY_CIPHER_MODE_GCM : GCRY_CIPHER_MODE_CBC;

	*plain_len = 0;
	if (cc->mode == MODE_CBC && (len == 0 || len % cc->block))
		return fail(host, STAGE_CONTENT);
	if (gcry_cipher_open(&h, cc->algo, mode, 0))
		return fail(host, STAGE_CONTENT);
	e = gcry_cipher_setkey(h, key, cc->key_len);
	/* A random 3DES key (RFC 3218 path) may be "weak": it is still set,
	 * and the content then fails like any wrong key. */
	if (e && gcry_err_code(e) != GPG_ERR_WEAK_KEY)
		goto bad;
	if (gcry_cipher_setiv(h, iv, iv_len))
		goto bad;
	if (aad_len && gcry_cipher_authenticate(h, aad, aad_len))
		goto bad;
	if (cc->mode == MODE_GCM)
		gcry_cipher_final(h);
	if (len && gcry_cipher_decrypt(h, buf, len, in, in ? len : 0))
		goto bad;
	if (cc->mode == MODE_GCM) {
		if (gcry_cipher_checktag(h, tag, tag_len))
			goto bad;
		*plain_len = len;
	} else {
		/* PKCS#7 padding, every byte looked at. */
		unsigned pad = buf[len - 1], bad = 0;

		bad |= pad == 0 || pad > cc->block;
		for (size_t i = 0; i < cc->block; i++) {
			unsigned in_pad = i < pad;
			bad |= in_pad & (buf[len - 1 - i] != pad);
		}
		if (bad)
			goto bad;
		*plain_len = len - pad;
	}
	gcry_cipher_close(h);
	return 0;
bad:
	gcry_cipher_close(h);
	memset(buf, 0, len);
	return fail(host, STAGE_CONTENT);
}

/* ---- the message's layout, read where it lies ---------------------------
 *
 * libtasn1 copies every value it decodes into its tree: decoding the
 * ContentInfo (content ANY) and then the EnvelopedData (encryptedContent)
 * would copy a big message's content twice before a byte is decrypted.
 * So the ContentInfo is read with cms.c's layout helpers, and libtasn1
 * gets the EnvelopedData without its encryptedContent, which is
 * decrypted from where it lies in the message straight into the result's
 * buffer. */

/* The EnvelopedData or AuthEnvelopedData at der[0..len) without its
 * encryptedContent, malloc'd into *out, and where that content lies in
 * der: one primitive [0] (DER), or a constructed [0] of primitive OCTET
 * STRING chunks (BER, as gpgsm and NSS write it). Definite lengths on the
 * way are rewritten, indefinite ones kept. When the layout is not the one
 * expected (no content, high tag numbers, nested chunks), *out stays NULL
 * and libtasn1 decodes the structure as it is, with its own error when it
 * is wrong. 0, or -1 out of memory. */
static int strip_content(const unsigned char *der, size_t len,
			 unsigned char **out, size_t *out_len,
			 struct cms_content *c)
{
	struct cms_tlv anc[2], t;
	struct cms_tlv *ed = &anc[0], *eci = &anc[1];
	size_t at, ec_at, after;

	*out = NULL;
	if (cms_tlv_at(der, 0, len, ed) || ed->id != 0x30 ||
	    cms_tlv_skip(der, 0, len, 0, &at) || at != len ||
	    cms_ends_at(der, ed, len))
		return 0;
	/* version, [0] originatorInfo OPTIONAL, recipientInfos (SET) */
	if (cms_tlv_at(der, ed->value, ed->end, &t) || t.id != 0x02 ||
	    cms_tlv_at(der, t.end, ed->end, &t))
		return 0;
	at = t.start;
	if (t.id == 0xa0 && (cms_tlv_skip(der, at, ed->end, 0, &at) ||
			     cms_tlv_at(der, at, ed->end, &t)))
		return 0;
	if (t.id != 0x31 || cms_tlv_skip(der, at, ed->end, 0, &at))
		return 0;
	/* the (auth)EncryptedContentInfo: contentType,
	 * contentEncryptionAlgorithm, then the [0] IMPLICIT OCTET STRING */
	if (cms_tlv_at(der, at, ed->end, eci) || eci->id != 0x30 ||
	    cms_tlv_at(der, eci->value, eci->end, &t) || t.id != 0x06 ||
	    cms_tlv_at(der, t.end, eci->end, &t) || t.id != 0x30 ||
	    cms_tlv_skip(der, t.start, eci->end, 0, &ec_at) ||
	    cms_content_at(der, ec_at, eci->end, 0x80, 0xa0, c, &after))
		return 0;
	/* the content ends the EncryptedContentInfo */
	if (eci->indefinite
		? ed->end - after < 2 || der[after] || der[after + 1]
		: after != eci->end)
		return 0;
	eci->end = after;
	return cms_cut(der, len, anc, 2, ec_at, after, out, out_len);
}

/* ---- the operation ------------------------------------------------------ */

/* RFC 5083 2.1: the authenticated attributes are MACed as their DER with
 * the SET OF tag (0x31) instead of the field's [1]; *aad NULL when the
 * message has none. */
static int auth_attrs(struct spop_host *host, asn1_node ed,
		      const unsigned char *der, int len, unsigned char **aad,
		      int *aad_len)
{
	int start, end, n = 0, rc;

	*aad = NULL;
	*aad_len = 0;
	/* A SET OF has no value to read (asn1_read_value says "not
	 * found" even when it is there): its place in the DER tells. */
	rc = asn1_number_of_elements(ed, "authAttrs", &n);
	if (rc == ASN1_ELEMENT_NOT_FOUND)
		return 0;
	rc =
	    asn1_der_decoding_startEnd(ed, der, len, "authAttrs", &start, &end);
	if (rc == ASN1_ELEMENT_NOT_FOUND)
		return 0;
	if (rc != ASN1_SUCCESS || start < 0 || end < start || end >= len)
		return malformed(host, "authAttrs",
				 rc == ASN1_SUCCESS ? "bad offsets"
						    : asn1_strerror(rc));
	*aad = malloc((size_t)(end - start + 1));
	if (!*aad)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "Decryption failed: out of memory.");
	memcpy(*aad, der + start, (size_t)(end - start + 1));
	(*aad)[0] = 0x31;
	*aad_len = end - start + 1;
	return 0;
}

int cms_decrypt(struct spop_host *host, const unsigned char *cms, size_t len,
		const struct spop_smime_keys *keys,
		struct spop_smime_result *result)
{
	asn1_node defs, ed = NULL;
	char oid[128], name[128];
	const unsigned char *inner, *der, *direct = NULL;
	unsigned char *aad = NULL, *mac = NULL, *buf = NULL, *stripped = NULL;
	unsigned char cek[MAX_KEY], iv[16];
	char key_alg[64] = "";
	int der_len, aad_len = 0, mac_len = 0, buf_len = 0, rc;
	size_t iv_len = 0, tag_len = 0, plain_len = 0, n_cand = 0;
	size_t inner_at = 0, inner_len = 0, stripped_len = 0;
	struct cms_content content = {0};
	struct cms_tlv ci, c0;
	struct candidate *cand = NULL;
	const struct content_cipher *cc = NULL;
	struct chosen ch;
	bool auth;
	const char *eci, *why;

	if ((rc = cms_gcrypt_init(host)) != 0)
		return rc;
	if (!(defs = cms_asn1(host)))
		return SPOP_ERR_DECRYPT;
	if (!cms || len == 0 || len > INT32_MAX)
		return malformed(host, "ContentInfo",
				 len ? "too large" : "empty");
	if (!keys || !keys->entries || keys->n_entries == 0)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "Decryption failed: no certificate and "
				       "key to decrypt with (Cert*).");

	/* 1. ContentInfo, then the EnvelopedData or AuthEnvelopedData,
	 * decoded without the encrypted content: the message and the
	 * result's buffer are then all the big memory alive. */
	why = cms_content_info(cms, len, oid, sizeof(oid), &ci, &c0);
	if (why)
		return malformed(host, "ContentInfo", why);
	inner_at = c0.value;
	inner_len = c0.end - c0.value;
	if (strcmp(oid, OID_ENVELOPED) == 0) {
		auth = false;
	} else if (strcmp(oid, OID_AUTH_ENVELOPED) == 0) {
		auth = true;
	} else {
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "Decryption failed: the message is not "
				       "encrypted (CMS content type %s, not "
				       "EnvelopedData or AuthEnvelopedData).",
				       oid);
	}
	inner = cms + inner_at;
	if (strip_content(inner, inner_len, &stripped, &stripped_len, &content))
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "Decryption failed: out of memory.");
	der = stripped ? stripped : inner;
	der_len = (int)(stripped ? stripped_len : inner_len);
	rc = decode(host, defs, auth ? "AuthEnvelopedData" : "EnvelopedData",
		    der, der_len, &ed);
	if (rc == 0 && auth)
		rc = auth_attrs(host, ed, der, der_len, &aad, &aad_len);
	if (rc)
		goto out;
	eci = auth ? "authEncryptedContentInfo" : "encryptedContentInfo";

	/* 2. The content cipher and its parameters (read before any key
	 * operation: failing here tells nothing about a key). */
	snprintf(name, sizeof(name), "%s.contentEncryptionAlgorithm.algorithm",
		 eci);
	if (cms_read_oid(ed, name, oid, sizeof(oid)) != ASN1_SUCCESS) {
		rc = malformed(host, name, "absent");
		goto out;
	}
	for (size_t i = 0; i < N(ciphers); i++)
		if (strcmp(ciphers[i].oid, oid) == 0)
			cc = &ciphers[i];
	if (!cc || (cc->mode == MODE_GCM) != auth) {
		rc = unsupported(host,
				 auth ? "authenticated content cipher"
				      : "content cipher",
				 oid);
		goto out;
	}
	rc = cipher_params(host, defs, ed, eci, cc, iv, &iv_len, &tag_len);
	if (rc)
		goto out;
	if (auth) {
		rc = cms_read_alloc(ed, "mac", &mac, &mac_len);
		if (rc != ASN1_SUCCESS || (size_t)mac_len != tag_len) {
			rc = malformed(host, "mac",
				       rc == ASN1_SUCCESS ? "not the length "
							    "the parameters "
							    "give"
							  : asn1_strerror(rc));
			goto out;
		}
	}

	/* 3. The recipient. */
	rc = candidates_make(host, keys, &cand, &n_cand);
	if (rc)
		goto out;
	if (!choose(ed, cand, n_cand, &ch)) {
		rc = fail(host, STAGE_RECIPIENT);
		goto out;
	}

	/* 4. The content key. */
	if (ch.kind == KTRI)
		rc = ktri_unwrap(host, defs, ed, ch.prefix, keys, ch.who,
				 cc->key_len, cek, key_alg, sizeof(key_alg));
	else
		rc =
		    kari_unwrap(host, defs, ed, ch.prefix, ch.rek, keys, ch.who,
				cc->key_len, cek, key_alg, sizeof(key_alg));
	if (rc)
		goto out;

	/* 5. The content: from the message into the result's buffer (BER
	 * chunks gathered there first), or, when libtasn1 decoded it, read
	 * from the tree; then decrypted. */
	snprintf(name, sizeof(name), "%s.encryptedContent", eci);
	if (stripped) {
		direct = inner + content.value;
		buf_len = (int)content.len;
	} else {
		rc = asn1_read_value(ed, name, NULL, &buf_len);
		if (rc == ASN1_ELEMENT_NOT_FOUND ||
		    rc == ASN1_VALUE_NOT_FOUND) {
			rc = host->set_error(
			    host, SPOP_ERR_DECRYPT,
			    "Decryption failed: the message carries no "
			    "encrypted content (detached content is not "
			    "supported).");
			goto out;
		}
		if (rc != ASN1_MEM_ERROR && rc != ASN1_SUCCESS) {
			rc = malformed(host, name, asn1_strerror(rc));
			goto out;
		}
	}
	buf = host->alloc(host, (size_t)buf_len + 1);
	if (!buf) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "Decryption failed: out of memory for "
				     "%d bytes of content.",
				     buf_len);
		goto out;
	}
	if (stripped && content.chunked) {
		cms_content_gather(inner, &content, buf);
		direct = NULL;
	} else if (!stripped) {
		rc = asn1_read_value(ed, name, buf, &buf_len);
		if (rc != ASN1_SUCCESS) {
			rc = malformed(host, name, asn1_strerror(rc));
			goto out;
		}
	}
	asn1_delete_structure(&ed);
	rc = content_decrypt(host, cc, cek, iv, iv_len, aad, (size_t)aad_len,
			     mac, (size_t)mac_len, direct, buf, (size_t)buf_len,
			     &plain_len);
	if (rc)
		goto out;

	result->content = buf;
	result->content_len = plain_len;
	buf = NULL;
	result->decrypted = 1;
	snprintf(result->algorithm, sizeof(result->algorithm), "%s", cc->name);
	if (result->size >= offsetof(struct spop_smime_result, key_algorithm) +
				sizeof(result->key_algorithm))
		snprintf(result->key_algorithm, sizeof(result->key_algorithm),
			 "%s", key_alg);
	rc = 0;
out:
	memset(cek, 0, sizeof(cek));
	if (buf) {
		memset(buf, 0, (size_t)buf_len);
		host->free(host, buf);
	}
	free(aad);
	free(mac);
	free(stripped);
	if (cand)
		candidates_free(cand, n_cand);
	asn1_delete_structure(&ed);
	return rc;
}
