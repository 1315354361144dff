/* The decrypt half of the openssl engine: CMS EnvelopedData and
 * AuthEnvelopedData by OpenSSL's CMS_decrypt, the private key reached
 * through the store (storekey.c).
 *
 * 1. The message is read with d2i_CMS_ContentInfo in the engine's library
 *    context (DER or BER; nothing may follow it).
 * 2. The recipient: the first RecipientInfo (CMS_get0_RecipientInfos, in
 *    order) that names the certificate of one of keys->entries with a key
 *    (CMS_RecipientInfo_ktri_cert_cmp, CMS_RecipientEncryptedKey_cert_cmp:
 *    issuer and serial, or subject key identifier), as the cms engine
 *    chooses.
 * 3. The content key: CMS_decrypt_set1_pkey with a store key for that
 *    entry. For RSA PKCS#1 v1.5 OpenSSL hides a failed unwrap itself
 *    (RFC 3218: it goes on with a random key), so a bad key block fails
 *    where any bad ciphertext fails; OAEP and key agreement failures are
 *    reported here (CMS_DEBUG_DECRYPT), as the cms engine does.
 * 4. The content: the cipher BIO chain of CMS_dataInit (as CMS_decrypt
 *    reads it) straight into the result's buffer, its padding or GCM tag
 *    checked at the end. Memory: the message, OpenSSL's parsed copy of
 *    it and the content, about three times the message.
 *
 * Every failure is 284 and its message names the stage only. */
#include "engine.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#define STAGE_RECIPIENT "no recipient of the message matches Cert*"
#define STAGE_UNWRAP	"the content key could not be unwrapped"
#define STAGE_CONTENT	"the content could not be decrypted"

static int fail(struct spop_host *host, const char *stage)
{
	ERR_clear_error();
	return host->set_error(host, SPOP_ERR_DECRYPT, "Decryption failed: %s.",
			       stage);
}

/* OpenSSL's reason, for structural errors only (nothing about keys). */
static int malformed(struct spop_host *host, const char *why)
{
	unsigned long e = ERR_peek_last_error();
	char reason[160] = "";

	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	return host->set_error(
	    host, SPOP_ERR_DECRYPT,
	    "Decryption failed: the message is not valid "
	    "CMS EnvelopedData or AuthEnvelopedData (%s%s%s).",
	    why, reason[0] ? ": " : "", reason);
}

/* Whether OpenSSL's CMS refused the content cipher as unknown (its OID
 * names no cipher OpenSSL has): that is the message's, not the key's. */
static int unknown_cipher(void)
{
	unsigned long e;

	while ((e = ERR_get_error()) != 0)
		if (ERR_GET_LIB(e) == ERR_LIB_CMS &&
		    ERR_GET_REASON(e) == CMS_R_UNKNOWN_CIPHER)
			return 1;
	return 0;
}

/* The content cipher's name in the cms engine's spelling. */
static const char *cipher_name(int nid)
{
	switch (nid) {
	case NID_aes_128_cbc: return "AES-128-CBC";
	case NID_aes_192_cbc: return "AES-192-CBC";
	case NID_aes_256_cbc: return "AES-256-CBC";
	case NID_des_ede3_cbc: return "3DES-CBC";
	case NID_aes_128_gcm: return "AES-128-GCM";
	case NID_aes_192_gcm: return "AES-192-GCM";
	case NID_aes_256_gcm: return "AES-256-GCM";
	default: return NULL;
	}
}

static const char *hash_name(int nid)
{
	switch (nid) {
	case NID_sha1: return "SHA1";
	case NID_sha224: return "SHA224";
	case NID_sha256: return "SHA256";
	case NID_sha384: return "SHA384";
	case NID_sha512: return "SHA512";
	default: return NULL;
	}
}

/* The digest an AlgorithmIdentifier of a hash names (absent: SHA-1). */
static int algor_md_nid(const X509_ALGOR *a)
{
	return a ? OBJ_obj2nid(a->algorithm) : NID_sha1;
}

/* key_algorithm in the cms engine's words: "RSA", "RSA-OAEP-SHA256";
 * NULL when unsupported. */
static int ktri_name(CMS_RecipientInfo *ri, char *out, size_t size)
{
	X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *oid;
	int ptype;
	const void *pval;

	if (CMS_RecipientInfo_ktri_get0_algs(ri, NULL, NULL, &alg) != 1)
		return -1;
	X509_ALGOR_get0(&oid, &ptype, &pval, alg);
	switch (OBJ_obj2nid(oid)) {
	case NID_rsaEncryption: snprintf(out, size, "RSA"); return 0;
	case NID_rsaesOaep: {
		const ASN1_STRING *s = pval;
		const unsigned char *p;
		RSA_OAEP_PARAMS *o = NULL;
		const char *h = "SHA1";

		if (ptype == V_ASN1_SEQUENCE && s) {
			p = ASN1_STRING_get0_data(s);
			o = d2i_RSA_OAEP_PARAMS(NULL, &p,
						ASN1_STRING_length(s));
			if (!o)
				return -1;
			h = hash_name(algor_md_nid(o->hashFunc));
			RSA_OAEP_PARAMS_free(o);
			if (!h)
				return -1;
		}
		snprintf(out, size, "RSA-OAEP-%s", h);
		return 0;
	}
	default: return -1;
	}
}

/* "ECDH-SHA256-AES128-WRAP" from the key agreement and wrap algorithms. */
static int kari_name(CMS_RecipientInfo *ri, char *out, size_t size)
{
	X509_ALGOR *alg = NULL, *wrap = NULL;
	ASN1_OCTET_STRING *ukm = NULL;
	const ASN1_OBJECT *oid;
	int ptype, md = NID_undef, kdf = NID_undef;
	const void *pval;
	const char *w, *h;

	if (CMS_RecipientInfo_kari_get0_alg(ri, &alg, &ukm) != 1 || !alg)
		return -1;
	X509_ALGOR_get0(&oid, &ptype, &pval, alg);
	if (!OBJ_find_sigid_algs(OBJ_obj2nid(oid), &md, &kdf) ||
	    (kdf != NID_dh_std_kdf && kdf != NID_dh_cofactor_kdf))
		return -1;
	if (ptype != V_ASN1_SEQUENCE || !pval)
		return -1;
	const ASN1_STRING *s = pval;
	const unsigned char *p = ASN1_STRING_get0_data(s);
	wrap = d2i_X509_ALGOR(NULL, &p, ASN1_STRING_length(s));
	if (!wrap)
		return -1;
	switch (OBJ_obj2nid(wrap->algorithm)) {
	case NID_id_aes128_wrap: w = "AES128-WRAP"; break;
	case NID_id_aes192_wrap: w = "AES192-WRAP"; break;
	case NID_id_aes256_wrap: w = "AES256-WRAP"; break;
	default: w = NULL;
	}
	X509_ALGOR_free(wrap);
	h = hash_name(md);
	if (!w || !h)
		return -1;
	snprintf(out, size, "ECDH-%s-%s", h, w);
	return 0;
}

/* The first RecipientInfo naming a candidate certificate: its index in
 * certs, the recipient and its key algorithm name; -1 when none. */
static int choose(CMS_ContentInfo *cms, STACK_OF(X509) * certs,
		  CMS_RecipientInfo **chosen)
{
	STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);

	for (int i = 0; i < sk_CMS_RecipientInfo_num(ris); i++) {
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
		int type = CMS_RecipientInfo_type(ri);

		if (type == CMS_RECIPINFO_TRANS) {
			for (int c = 0; c < sk_X509_num(certs); c++)
				if (CMS_RecipientInfo_ktri_cert_cmp(
					ri, sk_X509_value(certs, c)) == 0) {
					*chosen = ri;
					return c;
				}
		} else if (type == CMS_RECIPINFO_AGREE) {
			STACK_OF(CMS_RecipientEncryptedKey) *reks =
			    CMS_RecipientInfo_kari_get0_reks(ri);

			for (int r = 0;
			     r < sk_CMS_RecipientEncryptedKey_num(reks); r++) {
				CMS_RecipientEncryptedKey *rek =
				    sk_CMS_RecipientEncryptedKey_value(reks, r);

				for (int c = 0; c < sk_X509_num(certs); c++)
					if (CMS_RecipientEncryptedKey_cert_cmp(
						rek, sk_X509_value(certs, c)) ==
					    0) {
						*chosen = ri;
						return c;
					}
			}
		}
	}
	return -1;
}

int ossl_smime_decrypt(struct spop_host *host, const unsigned char *in,
		       size_t len, const struct spop_smime_keys *keys,
		       struct spop_smime_result *result)
{
	OSSL_LIB_CTX *ctx = ossl_smime_libctx();
	CMS_ContentInfo *cms = NULL;
	CMS_RecipientInfo *ri = NULL;
	STACK_OF(X509) *certs = NULL;
	const struct spop_cert_entry **owner = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *cont = NULL;
	unsigned char *plain = NULL;
	size_t n = 0;
	const unsigned char *p = in;
	char key_alg[64] = "";
	int rc, nid, c, cipher = NID_undef;

	if (!ctx)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "Decryption failed: OpenSSL %s cannot "
				       "make the openssl engine's library "
				       "context.",
				       OpenSSL_version(OPENSSL_VERSION_STRING));
	if (!in || len == 0 || len > 0x7fffffff)
		return malformed(host, len ? "too large" : "empty");
	if (!keys || !keys->entries || keys->n_entries == 0)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "Decryption failed: no certificate and "
				       "key to decrypt with (Cert*).");
	ERR_clear_error();

	/* 1. The message. */
	cms = CMS_ContentInfo_new_ex(ctx, NULL);
	if (!cms || !d2i_CMS_ContentInfo(&cms, &p, (long)len)) {
		CMS_ContentInfo_free(cms);
		return malformed(host, "ContentInfo");
	}
	if (p != in + len) {
		rc = malformed(host, "bytes after the ContentInfo");
		goto out;
	}
	nid = OBJ_obj2nid(CMS_get0_type(cms));
	if (nid != NID_pkcs7_enveloped &&
	    nid != NID_id_smime_ct_authEnvelopedData) {
		char oid[80];

		OBJ_obj2txt(oid, sizeof(oid), CMS_get0_type(cms), 1);
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "Decryption failed: the message is not "
				     "encrypted (CMS content type %s, not "
				     "EnvelopedData or AuthEnvelopedData).",
				     oid);
		goto out;
	}
	/* 2. The candidates and the recipient. */
	certs = sk_X509_new_null();
	owner = calloc(keys->n_entries, sizeof(*owner));
	if (!certs || !owner) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "Decryption failed: out of memory.");
		goto out;
	}
	for (size_t i = 0; i < keys->n_entries; i++) {
		const struct spop_cert_entry *e = &keys->entries[i];
		const unsigned char *d = e->der;
		X509 *x;

		if (!e->key || !e->der || e->der_len == 0)
			continue;
		x = d2i_X509(NULL, &d, (long)e->der_len);
		if (!x)
			continue;
		owner[sk_X509_num(certs)] = e;
		if (!sk_X509_push(certs, x)) {
			X509_free(x);
			rc = host->set_error(host, SPOP_ERR_DECRYPT,
					     "Decryption failed: out of "
					     "memory.");
			goto out;
		}
	}
	c = choose(cms, certs, &ri);
	if (c < 0) {
		rc = fail(host, STAGE_RECIPIENT);
		goto out;
	}
	if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_TRANS
		? ktri_name(ri, key_alg, sizeof(key_alg))
		: kari_name(ri, key_alg, sizeof(key_alg))) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "Decryption failed: the message's key "
				     "%s algorithm is not supported by the "
				     "openssl engine.",
				     CMS_RecipientInfo_type(ri) ==
					     CMS_RECIPINFO_TRANS
					 ? "transport"
					 : "agreement");
		goto out;
	}
	if (!keys->store_ops ||
	    (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_TRANS
		 ? !keys->store_ops->key_decrypt
		 : !SPOP_OPS_HAS(struct spop_certstore_ops, keys->store_ops,
				 key_derive))) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "Decryption failed: the certificate "
				     "store of Cert* cannot %s with its key.",
				     CMS_RecipientInfo_type(ri) ==
					     CMS_RECIPINFO_TRANS
					 ? "decrypt"
					 : "do key agreement");
		goto out;
	}

	/* 3. The content key, through the store. */
	X509 *cert = sk_X509_value(certs, c);
	pkey = ossl_smime_store_key(host, keys->store_ops, owner[c]->key,
				    X509_get0_pubkey(cert));
	if (!pkey) {
		rc = fail(host, STAGE_UNWRAP);
		goto out;
	}
	/* RSA PKCS#1 v1.5 keeps OpenSSL's defence (a failed unwrap goes on
	 * with a random key, RFC 3218); OAEP and key agreement tell their
	 * failure, as the cms engine does: neither makes an oracle. The
	 * flags are set by CMS_decrypt without key or output (its
	 * documented way). */
	if (strcmp(key_alg, "RSA") != 0)
		CMS_decrypt(cms, NULL, NULL, NULL, NULL, CMS_DEBUG_DECRYPT);
	if (CMS_decrypt_set1_pkey(cms, pkey, cert) != 1) {
		rc = fail(host, STAGE_UNWRAP);
		goto out;
	}

	/* 4. The content: the cipher BIO chain CMS_decrypt reads from, read
	 * here so that its cipher can be named, straight into the result's
	 * buffer (the plain text is never longer than the cipher text); the
	 * padding or the GCM tag is checked at its end
	 * (BIO_get_cipher_status). */
	ASN1_OCTET_STRING **enc = CMS_get0_content(cms);
	size_t cap = enc && *enc ? (size_t)ASN1_STRING_length(*enc) : 0;
	EVP_CIPHER_CTX *cctx = NULL;

	if (!enc || !*enc) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "Decryption failed: the message carries "
				     "no encrypted content (detached "
				     "content is not supported).");
		goto out;
	}
	cont = CMS_dataInit(cms, NULL);
	if (!cont && unknown_cipher()) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "Decryption failed: the message's content "
				     "cipher is not supported by the openssl "
				     "engine.");
		goto out;
	}
	if (!cont || BIO_method_type(cont) != BIO_TYPE_CIPHER ||
	    BIO_get_cipher_ctx(cont, &cctx) != 1 || !cctx) {
		rc = fail(host, STAGE_CONTENT);
		goto out;
	}
	cipher = EVP_CIPHER_CTX_get_type(cctx);
	if (!cipher_name(cipher)) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "Decryption failed: the message's content "
				     "cipher (%s) is not supported by the "
				     "openssl engine.",
				     OBJ_nid2sn(cipher));
		goto out;
	}
	plain = host->alloc(host, cap + 1);
	if (!plain) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "Decryption failed: out of memory for "
				     "%zu bytes of content.",
				     cap);
		goto out;
	}
	for (;;) {
		size_t room = cap + 1 - n;
		int got = BIO_read(cont, plain + n,
				   room > 1 << 20 ? 1 << 20 : (int)room);

		if (got <= 0) {
			if (got < 0 || BIO_get_cipher_status(cont) <= 0) {
				rc = fail(host, STAGE_CONTENT);
				goto out;
			}
			break;
		}
		n += (size_t)got;
		if (n > cap) { /* more out than went in: not a cipher */
			rc = fail(host, STAGE_CONTENT);
			goto out;
		}
	}
	result->content = plain;
	result->content_len = n;
	plain = NULL;
	result->decrypted = 1;
	snprintf(result->algorithm, sizeof(result->algorithm), "%s",
		 cipher_name(cipher));
	if (result->size >= offsetof(struct spop_smime_result, key_algorithm) +
				sizeof(result->key_algorithm))
		snprintf(result->key_algorithm, sizeof(result->key_algorithm),
			 "%s", key_alg);
	rc = 0;
out:
	ERR_clear_error();
	BIO_free_all(cont);
	if (plain) {
		OPENSSL_cleanse(plain, n);
		host->free(host, plain);
	}
	EVP_PKEY_free(pkey);
	sk_X509_pop_free(certs, X509_free);
	free(owner);
	CMS_ContentInfo_free(cms);
	return rc;
}
