/* A cert-store key as an OpenSSL 3 EVP_PKEY, so that OpenSSL's own CMS
 * code (CMS_decrypt) unwraps the content key with it while the private
 * key stays in its store (a token's key never leaves the token).
 *
 * Why a provider: CMS_decrypt wants an EVP_PKEY, and OpenSSL 3.0 has no
 * public accessor for a KeyTransRecipientInfo's or RecipientEncryptedKey's
 * encryptedKey, nor a way to hand CMS a content key for them (the
 * set0_key calls are for KEK recipients). The deprecated RSA_METHOD route
 * fails for OAEP, which OpenSSL's legacy path pads itself around a raw RSA
 * decryption that a store does not offer. So a small in-process provider,
 * "spop-store", loaded only into the engine's own library context, offers:
 *  - key management "RSA" and "EC" whose key data names the store entry
 *    (host, store_ops, key handle) beside the certificate's public key;
 *  - the asymmetric cipher "SPOP-RSA": PKCS#1 v1.5 or OAEP decryption by
 *    store_ops->key_decrypt (OAEP with one hash for OAEP and MGF1 and an
 *    empty label, as the stores do it);
 *  - the key exchange "SPOP-ECDH": the shared secret by
 *    store_ops->key_derive, then the X9.63 KDF that CMS asks for
 *    (EVP_KDF "X963KDF" of the default library context).
 * The key management names its operations SPOP-RSA / SPOP-ECDH, so no
 * fetch for RSA or ECDH anywhere (the default provider's) can reach them,
 * and their key data can never be exported into another provider: a key
 * of the store is used only where CMS was given it. Its algorithms carry
 * the property spop.store=yes, which only ossl_smime_store_key asks for;
 * a fetch of "RSA" or "EC" key management by name alone (CMS reading an
 * originator's key) must find the default provider's, which the context
 * checks when it is made (the first implementation registered wins, and
 * the default provider is loaded first). */
#include "engine.h"

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PROV_NAME    "spop-store"
#define PARAM_REF    "spop-store-ref"
#define NAME_RSA_OP  "SPOP-RSA"
#define NAME_ECDH_OP "SPOP-ECDH"

/* What the engine hands the key management to make a store key. */
struct key_ref {
	struct spop_host *host;
	const struct spop_certstore_ops *ops;
	void *key;
	EVP_PKEY *pub; /* the certificate's public key (default context) */
};

enum key_type { KEY_RSA, KEY_EC };

struct skey {
	enum key_type type;
	struct key_ref ref; /* ref.ops NULL: a public key only (an ECDH peer) */
	char group[64];	    /* EC: curve name; "" until known */
	unsigned char *point; /* EC: public point, uncompressed */
	size_t point_len;
	int bits, security_bits, max_size;
};

/* ---- key management ----------------------------------------------------- */

static struct skey *skey_new(enum key_type type)
{
	struct skey *k = calloc(1, sizeof(*k));

	if (k)
		k->type = type;
	return k;
}

static void *rsa_km_new(void *provctx)
{
	return skey_new(KEY_RSA);
}

static void *ec_km_new(void *provctx)
{
	return skey_new(KEY_EC);
}

static void km_free(void *keydata)
{
	struct skey *k = keydata;

	if (!k)
		return;
	EVP_PKEY_free(k->ref.pub);
	free(k->point);
	free(k);
}

/* The sizes CMS and EVP ask about, from the public key or the curve. */
static void sizes_from_group(struct skey *k)
{
	int nid = OBJ_sn2nid(k->group);
	EC_GROUP *g;

	if (nid == NID_undef)
		nid = EC_curve_nist2nid(k->group);
	g = nid != NID_undef ? EC_GROUP_new_by_curve_name(nid) : NULL;
	if (!g)
		return;
	k->bits = EC_GROUP_order_bits(g);
	k->security_bits = k->bits / 2;
	k->max_size = (EC_GROUP_get_degree(g) + 7) / 8;
	EC_GROUP_free(g);
}

static int set_point(struct skey *k, const void *p, size_t len)
{
	unsigned char *copy = malloc(len ? len : 1);

	if (!copy)
		return 0;
	memcpy(copy, p, len);
	free(k->point);
	k->point = copy;
	k->point_len = len;
	return 1;
}

/* A store entry (PARAM_REF), or an EC public key (group and point, as
 * the default provider exports an originator's key). */
static int km_import(void *keydata, int selection, const OSSL_PARAM params[])
{
	struct skey *k = keydata;
	const OSSL_PARAM *p;
	const char *group = NULL;
	const void *pt = NULL;
	size_t pt_len = 0;

	if (!k)
		return 0;
	p = OSSL_PARAM_locate_const(params, PARAM_REF);
	if (p) {
		const void *ref = NULL;
		size_t len = 0;

		if (!OSSL_PARAM_get_octet_string_ptr(p, &ref, &len) ||
		    len != sizeof(k->ref))
			return 0;
		memcpy(&k->ref, ref, sizeof(k->ref));
		if (!k->ref.pub || !EVP_PKEY_up_ref(k->ref.pub)) {
			k->ref.pub = NULL;
			return 0;
		}
		k->bits = EVP_PKEY_get_bits(k->ref.pub);
		k->security_bits = EVP_PKEY_get_security_bits(k->ref.pub);
		k->max_size = EVP_PKEY_get_size(k->ref.pub);
		if (k->type == KEY_EC) {
			unsigned char buf[160];
			size_t n = 0;

			if (!EVP_PKEY_get_utf8_string_param(
				k->ref.pub, OSSL_PKEY_PARAM_GROUP_NAME,
				k->group, sizeof(k->group), NULL) ||
			    !EVP_PKEY_get_octet_string_param(
				k->ref.pub, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
				buf, sizeof(buf), &n) ||
			    !set_point(k, buf, n))
				return 0;
		}
		return 1;
	}
	if (k->type != KEY_EC)
		return 0;
	p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
	if (p && !OSSL_PARAM_get_utf8_string_ptr(p, &group))
		return 0;
	if (group) {
		snprintf(k->group, sizeof(k->group), "%s", group);
		sizes_from_group(k);
	}
	p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PUB_KEY);
	if (p && (!OSSL_PARAM_get_octet_string_ptr(p, &pt, &pt_len) ||
		  !set_point(k, pt, pt_len)))
		return 0;
	return k->group[0] != '\0';
}

static const OSSL_PARAM *km_import_types(int selection)
{
	static const OSSL_PARAM types[] = {
	    OSSL_PARAM_octet_string(PARAM_REF, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	    OSSL_PARAM_END};

	return types;
}

static int km_has(const void *keydata, int selection)
{
	const struct skey *k = keydata;

	if (!k)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && !k->ref.ops)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) && !k->ref.pub &&
	    !k->point)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) &&
	    k->type == KEY_EC && !k->group[0])
		return 0;
	return 1;
}

/* EVP_PKEY_copy_parameters (CMS: an originator's key without parameters
 * takes the recipient's curve): the curve only, never the store entry. */
static void *km_dup(const void *keydata, int selection)
{
	const struct skey *k = keydata;
	struct skey *d = skey_new(k->type);

	if (!d)
		return NULL;
	if (selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) {
		memcpy(d->group, k->group, sizeof(d->group));
		d->bits = k->bits;
		d->security_bits = k->security_bits;
		d->max_size = k->max_size;
	}
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) && k->point &&
	    !set_point(d, k->point, k->point_len)) {
		km_free(d);
		return NULL;
	}
	return d;
}

static int km_get_params(void *keydata, OSSL_PARAM params[])
{
	struct skey *k = keydata;
	OSSL_PARAM *p;

	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS)) &&
	    !OSSL_PARAM_set_int(p, k->bits))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS)) &&
	    !OSSL_PARAM_set_int(p, k->security_bits))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)) &&
	    !OSSL_PARAM_set_int(p, k->max_size))
		return 0;
	if (k->type == KEY_EC) {
		if ((p = OSSL_PARAM_locate(params,
					   OSSL_PKEY_PARAM_GROUP_NAME)) &&
		    !OSSL_PARAM_set_utf8_string(p, k->group))
			return 0;
		if ((p = OSSL_PARAM_locate(
			 params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY)) &&
		    (!k->point ||
		     !OSSL_PARAM_set_octet_string(p, k->point, k->point_len)))
			return 0;
	}
	return 1;
}

static const OSSL_PARAM *km_gettable_params(void *provctx)
{
	static const OSSL_PARAM types[] = {
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL,
				    0),
	    OSSL_PARAM_END};

	return types;
}

/* EVP_PKEY_set1_encoded_public_key: the originator's point (CMS). */
static int km_set_params(void *keydata, const OSSL_PARAM params[])
{
	struct skey *k = keydata;
	const OSSL_PARAM *p;
	const void *pt;
	size_t len;

	p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
	if (!p)
		return 1;
	if (k->type != KEY_EC || k->ref.ops ||
	    !OSSL_PARAM_get_octet_string_ptr(p, &pt, &len))
		return 0;
	return set_point(k, pt, len);
}

static const OSSL_PARAM *km_settable_params(void *provctx)
{
	static const OSSL_PARAM types[] = {
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL,
				    0),
	    OSSL_PARAM_END};

	return types;
}

/* A peer's point must lie on the curve (EVP_PKEY_derive_set_peer checks
 * it here before the key exchange takes it). */
static int km_validate(const void *keydata, int selection, int checktype)
{
	const struct skey *k = keydata;
	EC_GROUP *g;
	EC_POINT *pt;
	int nid, ok;

	if (k->type != KEY_EC || !(selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY))
		return km_has(keydata, selection);
	nid = OBJ_sn2nid(k->group);
	if (nid == NID_undef)
		nid = EC_curve_nist2nid(k->group);
	g = nid != NID_undef ? EC_GROUP_new_by_curve_name(nid) : NULL;
	pt = g ? EC_POINT_new(g) : NULL;
	ok = pt && k->point &&
	     EC_POINT_oct2point(g, pt, k->point, k->point_len, NULL) == 1 &&
	     EC_POINT_is_on_curve(g, pt, NULL) == 1 &&
	     !EC_POINT_is_at_infinity(g, pt);
	EC_POINT_free(pt);
	EC_GROUP_free(g);
	return ok;
}

static const char *rsa_km_query(int operation_id)
{
	return operation_id == OSSL_OP_ASYM_CIPHER ? NAME_RSA_OP : NULL;
}

static const char *ec_km_query(int operation_id)
{
	return operation_id == OSSL_OP_KEYEXCH ? NAME_ECDH_OP : NULL;
}

#define KM_COMMON                                                              \
	{OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},                     \
	    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_import},             \
	    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))km_import_types}, \
	    {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},                   \
	    {OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup},                   \
	    {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},     \
	    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS,                                \
	     (void (*)(void))km_gettable_params},                              \
	    {OSSL_FUNC_KEYMGMT_SET_PARAMS, (void (*)(void))km_set_params},     \
	    {OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS,                                \
	     (void (*)(void))km_settable_params},                              \
	{                                                                      \
		OSSL_FUNC_KEYMGMT_VALIDATE, (void (*)(void))km_validate        \
	}

static const OSSL_DISPATCH rsa_km_fns[] = {
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))rsa_km_new},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))rsa_km_query},
    KM_COMMON,
    {0, NULL}};

static const OSSL_DISPATCH ec_km_fns[] = {
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))ec_km_new},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))ec_km_query},
    KM_COMMON,
    {0, NULL}};

/* ---- RSA decryption ----------------------------------------------------- */

struct rsa_ctx {
	struct skey *key;
	int pad;	  /* RSA_PKCS1_PADDING or RSA_PKCS1_OAEP_PADDING */
	char md[64];	  /* OAEP hash; "" is SHA-1 (RFC 8017 default) */
	char mgf1[64];	  /* MGF1 hash; "" is the OAEP hash */
	size_t label_len; /* a label other than empty is refused */
};

static void *rsa_newctx(void *provctx)
{
	struct rsa_ctx *c = calloc(1, sizeof(*c));

	if (c)
		c->pad = RSA_PKCS1_PADDING;
	return c;
}

static void rsa_freectx(void *ctx)
{
	free(ctx);
}

static int rsa_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
	struct rsa_ctx *c = vctx;
	const OSSL_PARAM *p;

	if (!params)
		return 1;
	p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE);
	if (p) {
		const char *s = NULL;

		if (p->data_type == OSSL_PARAM_UTF8_STRING) {
			if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
				return 0;
			if (strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0)
				c->pad = RSA_PKCS1_PADDING;
			else if (strcmp(s, OSSL_PKEY_RSA_PAD_MODE_OAEP) == 0)
				c->pad = RSA_PKCS1_OAEP_PADDING;
			else
				return 0;
		} else if (!OSSL_PARAM_get_int(p, &c->pad) ||
			   (c->pad != RSA_PKCS1_PADDING &&
			    c->pad != RSA_PKCS1_OAEP_PADDING)) {
			return 0;
		}
	}
	p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST);
	if (p) {
		const char *s = NULL;

		if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
			return 0;
		snprintf(c->md, sizeof(c->md), "%s", s);
	}
	p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST);
	if (p) {
		const char *s = NULL;

		if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
			return 0;
		snprintf(c->mgf1, sizeof(c->mgf1), "%s", s);
	}
	p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL);
	if (p) {
		const void *l;

		if (!OSSL_PARAM_get_octet_string_ptr(p, &l, &c->label_len))
			return 0;
	}
	return 1;
}

static const OSSL_PARAM *rsa_settable_ctx_params(void *ctx, void *provctx)
{
	static const OSSL_PARAM types[] = {
	    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
	    OSSL_PARAM_int(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL),
	    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST_PROPS,
				   NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST_PROPS,
				   NULL, 0),
	    OSSL_PARAM_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, NULL, 0),
	    OSSL_PARAM_END};

	return types;
}

static int rsa_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
	struct rsa_ctx *c = vctx;
	OSSL_PARAM *p;

	p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE);
	if (p && !OSSL_PARAM_set_int(p, c->pad))
		return 0;
	return 1;
}

static const OSSL_PARAM *rsa_gettable_ctx_params(void *ctx, void *provctx)
{
	static const OSSL_PARAM types[] = {
	    OSSL_PARAM_int(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL),
	    OSSL_PARAM_END};

	return types;
}

static int rsa_decrypt_init(void *vctx, void *provkey,
			    const OSSL_PARAM params[])
{
	struct rsa_ctx *c = vctx;
	struct skey *k = provkey;

	if (!k || k->type != KEY_RSA || !k->ref.ops || !k->ref.ops->key_decrypt)
		return 0;
	c->key = k;
	return rsa_set_ctx_params(c, params);
}

/* The SPOP_HASH_* of a digest name, 0 when the store has none. */
static int spop_hash(const char *name)
{
	EVP_MD *md = EVP_MD_fetch(NULL, name[0] ? name : "SHA1", NULL);
	int nid = md ? EVP_MD_get_type(md) : NID_undef;

	EVP_MD_free(md);
	switch (nid) {
	case NID_sha1: return SPOP_HASH_SHA1;
	case NID_sha224: return SPOP_HASH_SHA224;
	case NID_sha256: return SPOP_HASH_SHA256;
	case NID_sha384: return SPOP_HASH_SHA384;
	case NID_sha512: return SPOP_HASH_SHA512;
	default: return 0;
	}
}

static int rsa_decrypt(void *vctx, unsigned char *out, size_t *outlen,
		       size_t outsize, const unsigned char *in, size_t inlen)
{
	struct rsa_ctx *c = vctx;
	struct skey *k = c->key;
	struct spop_host *host = k->ref.host;
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	int hash = 0, ok;

	if (!out) {
		*outlen = (size_t)k->max_size;
		return 1;
	}
	if (c->pad == RSA_PKCS1_OAEP_PADDING) {
		hash = spop_hash(c->md);
		/* The stores' OAEP: one hash for both, an empty label. */
		if (!hash || (c->mgf1[0] && spop_hash(c->mgf1) != hash) ||
		    c->label_len)
			return 0;
	}
	if (k->ref.ops->key_decrypt(
		host, k->ref.key, hash ? SPOP_KEY_RSA_OAEP : SPOP_KEY_RSA_PKCS1,
		hash, in, inlen, &plain, &plain_len) != 0)
		return 0;
	ok = plain_len <= outsize;
	if (ok) {
		memcpy(out, plain, plain_len);
		*outlen = plain_len;
	}
	OPENSSL_cleanse(plain, plain_len);
	host->free(host, plain);
	return ok;
}

static const OSSL_DISPATCH rsa_cipher_fns[] = {
    {OSSL_FUNC_ASYM_CIPHER_NEWCTX, (void (*)(void))rsa_newctx},
    {OSSL_FUNC_ASYM_CIPHER_FREECTX, (void (*)(void))rsa_freectx},
    {OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, (void (*)(void))rsa_decrypt_init},
    {OSSL_FUNC_ASYM_CIPHER_DECRYPT, (void (*)(void))rsa_decrypt},
    {OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS, (void (*)(void))rsa_set_ctx_params},
    {OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS,
     (void (*)(void))rsa_settable_ctx_params},
    {OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS, (void (*)(void))rsa_get_ctx_params},
    {OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS,
     (void (*)(void))rsa_gettable_ctx_params},
    {0, NULL}};

/* ---- ECDH --------------------------------------------------------------- */

struct ecdh_ctx {
	struct skey *key, *peer;
	bool kdf;	    /* X9.63 KDF asked for */
	char kdf_md[64];    /* its hash */
	size_t kdf_outlen;  /* its output length */
	unsigned char *ukm; /* its shared info (ECC-CMS-SharedInfo) */
	size_t ukm_len;
};

static void *ecdh_newctx(void *provctx)
{
	return calloc(1, sizeof(struct ecdh_ctx));
}

static void ecdh_freectx(void *vctx)
{
	struct ecdh_ctx *c = vctx;

	if (!c)
		return;
	free(c->ukm);
	free(c);
}

static int ecdh_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
	struct ecdh_ctx *c = vctx;
	const OSSL_PARAM *p;
	const char *s;

	if (!params)
		return 1;
	p = OSSL_PARAM_locate_const(params,
				    OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE);
	if (p) {
		/* The stores derive on curves of cofactor 1 (P-256, P-384,
		 * P-521), where both modes are the same. */
		int mode;

		if (!OSSL_PARAM_get_int(p, &mode) || mode < -1 || mode > 1)
			return 0;
	}
	p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_TYPE);
	if (p) {
		if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
			return 0;
		if (s[0] == '\0')
			c->kdf = false;
		else if (OPENSSL_strcasecmp(s, OSSL_KDF_NAME_X963KDF) == 0)
			c->kdf = true;
		else
			return 0;
	}
	p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_DIGEST);
	if (p) {
		if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
			return 0;
		snprintf(c->kdf_md, sizeof(c->kdf_md), "%s", s);
	}
	p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_OUTLEN);
	if (p && !OSSL_PARAM_get_size_t(p, &c->kdf_outlen))
		return 0;
	p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_UKM);
	if (p) {
		const void *u;
		size_t n;

		if (!OSSL_PARAM_get_octet_string_ptr(p, &u, &n))
			return 0;
		free(c->ukm);
		c->ukm = malloc(n ? n : 1);
		if (!c->ukm)
			return 0;
		memcpy(c->ukm, u, n);
		c->ukm_len = n;
	}
	return 1;
}

static const OSSL_PARAM *ecdh_settable_ctx_params(void *ctx, void *provctx)
{
	static const OSSL_PARAM types[] = {
	    OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, NULL),
	    OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST_PROPS, NULL,
				   0),
	    OSSL_PARAM_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, NULL),
	    OSSL_PARAM_octet_string(OSSL_EXCHANGE_PARAM_KDF_UKM, NULL, 0),
	    OSSL_PARAM_END};

	return types;
}

static int ecdh_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
	struct ecdh_ctx *c = vctx;
	struct skey *k = provkey;

	if (!k || k->type != KEY_EC || !k->ref.ops ||
	    !SPOP_OPS_HAS(struct spop_certstore_ops, k->ref.ops, key_derive))
		return 0;
	c->key = k;
	return ecdh_set_ctx_params(c, params);
}

static int ecdh_set_peer(void *vctx, void *provkey)
{
	struct ecdh_ctx *c = vctx;
	struct skey *p = provkey;

	if (!p || p->type != KEY_EC || !p->point ||
	    strcmp(p->group, c->key->group) != 0)
		return 0;
	c->peer = p;
	return 1;
}

/* X9.63 KDF (SEC 1 3.6.1) over z with the shared info, by OpenSSL's
 * X963KDF of the default library context. */
static int x963(const char *md, const unsigned char *z, size_t z_len,
		const unsigned char *info, size_t info_len, unsigned char *out,
		size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_X963KDF, NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[4];
	size_t n = 0;
	int ok;

	params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						       (char *)md, 0);
	params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
							(void *)z, z_len);
	if (info_len)
		params[n++] = OSSL_PARAM_construct_octet_string(
		    OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	params[n] = OSSL_PARAM_construct_end();
	ok = kctx && EVP_KDF_derive(kctx, out, out_len, params) == 1;
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return ok;
}

static int ecdh_derive(void *vctx, unsigned char *secret, size_t *secretlen,
		       size_t outlen)
{
	struct ecdh_ctx *c = vctx;
	struct skey *k = c->key;
	struct spop_host *host;
	unsigned char *z = NULL;
	size_t z_len = 0, want;
	int ok;

	if (!k || !c->peer)
		return 0;
	want = c->kdf ? c->kdf_outlen : (size_t)k->max_size;
	if (!secret) {
		*secretlen = want;
		return 1;
	}
	if (want == 0 || outlen < want || (c->kdf && !c->kdf_md[0]))
		return 0;
	host = k->ref.host;
	if (k->ref.ops->key_derive(host, k->ref.key, c->peer->point,
				   c->peer->point_len, &z, &z_len) != 0)
		return 0;
	if (c->kdf) {
		ok =
		    x963(c->kdf_md, z, z_len, c->ukm, c->ukm_len, secret, want);
	} else {
		ok = z_len == want;
		if (ok)
			memcpy(secret, z, want);
	}
	OPENSSL_cleanse(z, z_len);
	host->free(host, z);
	if (ok)
		*secretlen = want;
	return ok;
}

static const OSSL_DISPATCH ecdh_fns[] = {
    {OSSL_FUNC_KEYEXCH_NEWCTX, (void (*)(void))ecdh_newctx},
    {OSSL_FUNC_KEYEXCH_FREECTX, (void (*)(void))ecdh_freectx},
    {OSSL_FUNC_KEYEXCH_INIT, (void (*)(void))ecdh_init},
    {OSSL_FUNC_KEYEXCH_SET_PEER, (void (*)(void))ecdh_set_peer},
    {OSSL_FUNC_KEYEXCH_DERIVE, (void (*)(void))ecdh_derive},
    {OSSL_FUNC_KEYEXCH_SET_CTX_PARAMS, (void (*)(void))ecdh_set_ctx_params},
    {OSSL_FUNC_KEYEXCH_SETTABLE_CTX_PARAMS,
     (void (*)(void))ecdh_settable_ctx_params},
    {0, NULL}};

/* ---- the provider ------------------------------------------------------- */

static const OSSL_ALGORITHM keymgmts[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", "spop.store=yes", rsa_km_fns,
     "cert-store RSA key"},
    {"EC:id-ecPublicKey:1.2.840.10045.2.1", "spop.store=yes", ec_km_fns,
     "cert-store EC key"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM ciphers[] = {{NAME_RSA_OP, "spop.store=yes",
					  rsa_cipher_fns,
					  "RSA decryption in the cert store"},
					 {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM exchanges[] = {
    {NAME_ECDH_OP, "spop.store=yes", ecdh_fns, "ECDH in the cert store"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM *prov_query(void *provctx, int operation_id,
					int *no_cache)
{
	*no_cache = 0;
	switch (operation_id) {
	case OSSL_OP_KEYMGMT: return keymgmts;
	case OSSL_OP_ASYM_CIPHER: return ciphers;
	case OSSL_OP_KEYEXCH: return exchanges;
	default: return NULL;
	}
}

static const OSSL_DISPATCH prov_fns[] = {
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))prov_query},
    {0, NULL}};

static int prov_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		     const OSSL_DISPATCH **out, void **provctx)
{
	*out = prov_fns;
	*provctx = (void *)handle;
	return 1;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static OSSL_LIB_CTX *libctx;
static OSSL_PROVIDER *prov_default, *prov_store;

/* Frees the context inside OpenSSL's own cleanup at process exit
 * (OPENSSL_atexit), before OpenSSL takes down what the providers use; a
 * destructor would run after it. The registry never unloads a module,
 * so the handler outlives nothing. */
static void libctx_free(void)
{
	if (!libctx)
		return;
	OSSL_PROVIDER_unload(prov_store);
	OSSL_PROVIDER_unload(prov_default);
	OSSL_LIB_CTX_free(libctx);
	libctx = NULL;
}

static void libctx_make(void)
{
	OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();

	if (!ctx)
		return;
	prov_default = OSSL_PROVIDER_load(ctx, "default");
	if (prov_default &&
	    OSSL_PROVIDER_add_builtin(ctx, PROV_NAME, prov_init) == 1)
		prov_store = OSSL_PROVIDER_load(ctx, PROV_NAME);
	if (prov_store) {
		static const char *const names[] = {"RSA", "EC"};

		for (size_t i = 0; i < 2 && prov_store; i++) {
			EVP_KEYMGMT *km =
			    EVP_KEYMGMT_fetch(ctx, names[i], NULL);

			if (!km || strcmp(OSSL_PROVIDER_get0_name(
					      EVP_KEYMGMT_get0_provider(km)),
					  "default") != 0) {
				OSSL_PROVIDER_unload(prov_store);
				prov_store = NULL;
			}
			EVP_KEYMGMT_free(km);
		}
	}
	if (!prov_store) {
		if (prov_default)
			OSSL_PROVIDER_unload(prov_default);
		prov_default = NULL;
		OSSL_LIB_CTX_free(ctx);
		return;
	}
	libctx = ctx;
	OPENSSL_atexit(libctx_free);
}

OSSL_LIB_CTX *ossl_smime_libctx(void)
{
	pthread_once(&once, libctx_make);
	return libctx;
}

EVP_PKEY *ossl_smime_store_key(struct spop_host *host,
			       const struct spop_certstore_ops *ops, void *key,
			       EVP_PKEY *cert_pub)
{
	OSSL_LIB_CTX *ctx = ossl_smime_libctx();
	struct key_ref ref = {host, ops, key, cert_pub};
	const char *type;
	EVP_PKEY_CTX *pctx;
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM params[2];

	if (!ctx || !cert_pub || !ops || !key)
		return NULL;
	if (EVP_PKEY_is_a(cert_pub, "RSA"))
		type = "RSA";
	else if (EVP_PKEY_is_a(cert_pub, "EC"))
		type = "EC";
	else
		return NULL;
	params[0] =
	    OSSL_PARAM_construct_octet_string(PARAM_REF, &ref, sizeof(ref));
	params[1] = OSSL_PARAM_construct_end();
	pctx = EVP_PKEY_CTX_new_from_name(ctx, type, "spop.store=yes");
	if (!pctx || EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_KEYPAIR, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(pctx);
	return pkey;
}
