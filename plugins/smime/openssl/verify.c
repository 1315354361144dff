/* The openssl engine's verify half: CMS SignedData with OpenSSL 3's CMS
 * API, each SignerInfo on its own (CMS_verify answers for all of them at
 * once, and "one valid" is not "valid"):
 *  - its certificate: CMS_SignerInfo_cert_cmp over the message's
 *    certificates, then SignerCert*;
 *  - its signature: the messageDigest (CMS_SignerInfo_verify_content, over
 *    the content read through CMS_dataInit's digest BIOs), the
 *    contentType attribute against eContentType (RFC 5652 11.1; OpenSSL
 *    3.0 does not compare them), and the signature over the signed
 *    attributes (CMS_SignerInfo_verify) or, without them, over the
 *    content (CMS_SignerInfo_verify_content);
 *  - its trust: X509_verify_cert at verify_time with purpose smimesign
 *    against the trust anchors (and the system's, when asked), every
 *    failure collected into SPOP_CERT_FAIL_* bits. CRLs, when given, are
 *    checked for every certificate of the chain whose issuer has one
 *    among them (revoked, or a CRL out of date or badly signed:
 *    SPOP_CERT_FAIL_REVOCATION); an issuer without one is not a failure,
 *    as GnuTLS's trust list does it. */
#include "engine.h"
#include "result.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *digest_name(int nid)
{
	switch (nid) {
	case NID_md5: return "MD5";
	case NID_sha1: return "SHA-1";
	case NID_sha224: return "SHA-224";
	case NID_sha256: return "SHA-256";
	case NID_sha384: return "SHA-384";
	case NID_sha512: return "SHA-512";
	default: return nid == NID_undef ? "unknown" : OBJ_nid2sn(nid);
	}
}

static bool weak_digest(int nid)
{
	return nid == NID_md5 || nid == NID_sha1;
}

/* "RSA", "RSA-PSS", "ECDSA" from the signatureAlgorithm, which names the
 * key type (rsaEncryption, id-ecPublicKey) or a signature scheme. */
static const char *signature_name(const X509_ALGOR *sig)
{
	int nid = OBJ_obj2nid(sig->algorithm), md, pk;

	if (OBJ_find_sigid_algs(nid, &md, &pk))
		nid = pk;
	switch (nid) {
	case NID_rsaEncryption: return "RSA";
	case NID_rsassaPss: return "RSA-PSS";
	case NID_X9_62_id_ecPublicKey: return "ECDSA";
	case NID_ED25519: return "Ed25519";
	case NID_ED448: return "Ed448";
	default: return nid == NID_undef ? "unknown" : OBJ_nid2sn(nid);
	}
}

/* RSASSA-PSS whose own hash or MGF1 hash is weak (RFC 4055: both default
 * to SHA-1). */
static bool pss_weak(const X509_ALGOR *sig)
{
	const ASN1_OBJECT *oid;
	int ptype;
	const void *pval;
	const unsigned char *p;
	RSA_PSS_PARAMS *pss;
	bool weak;

	X509_ALGOR_get0(&oid, &ptype, &pval, sig);
	if (OBJ_obj2nid(oid) != NID_rsassaPss)
		return false;
	if (ptype != V_ASN1_SEQUENCE || !pval)
		return true; /* all defaults: SHA-1 */
	p = ASN1_STRING_get0_data(pval);
	pss = d2i_RSA_PSS_PARAMS(NULL, &p, ASN1_STRING_length(pval));
	if (!pss)
		return false; /* the signature check fails on it anyway */
	weak = !pss->hashAlgorithm ||
	       weak_digest(OBJ_obj2nid(pss->hashAlgorithm->algorithm));
	RSA_PSS_PARAMS_free(pss);
	return weak;
}

static int64_t signing_time(CMS_SignerInfo *si)
{
	int at = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
	X509_ATTRIBUTE *a = at >= 0 ? CMS_signed_get_attr(si, at) : NULL;
	ASN1_TYPE *t = a ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
	struct tm tm;

	if (!t ||
	    (t->type != V_ASN1_UTCTIME && t->type != V_ASN1_GENERALIZEDTIME))
		return 0;
	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm((const ASN1_TIME *)t->value.asn1_string, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

/* The contentType signed attribute: exactly the eContentType. */
static bool content_type_matches(CMS_ContentInfo *cms, CMS_SignerInfo *si)
{
	const ASN1_OBJECT *want = CMS_get0_eContentType(cms);
	ASN1_OBJECT *got = CMS_signed_get0_data_by_OBJ(
	    si, OBJ_nid2obj(NID_pkcs9_contentType), -3, V_ASN1_OBJECT);

	return got && want && OBJ_cmp(got, want) == 0;
}

/* ---- trust -------------------------------------------------------------- */

struct trust_state {
	uint32_t failures;
	char first[128]; /* OpenSSL's words for the first failure */
};

static int trust_state_index(void)
{
	static int idx = -1;

	/* Made once; racing makers only waste an index. */
	if (idx < 0)
		idx =
		    X509_STORE_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	return idx;
}

static uint32_t failure_bit(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
	case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
	case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
		return SPOP_CERT_FAIL_TIME;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_INVALID_CA: return SPOP_CERT_FAIL_UNKNOWN_CA;
	case X509_V_ERR_INVALID_PURPOSE:
	case X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE:
		return SPOP_CERT_FAIL_USAGE;
	case X509_V_ERR_CERT_REVOKED:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
	case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
	case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
	case X509_V_ERR_DIFFERENT_CRL_SCOPE: return SPOP_CERT_FAIL_REVOCATION;
	default: return SPOP_CERT_FAIL_INVALID;
	}
}

/* Every failure is collected and the check goes on, so that an expired
 * and untrusted signer reads as both. */
static int collect(int ok, X509_STORE_CTX *ctx)
{
	struct trust_state *st =
	    X509_STORE_CTX_get_ex_data(ctx, trust_state_index());
	int err = X509_STORE_CTX_get_error(ctx);

	if (ok || !st)
		return ok;
	/* A certificate whose issuer has no CRL among those given is not
	 * a failure: only what a given CRL says counts. */
	if (err == X509_V_ERR_UNABLE_TO_GET_CRL)
		return 1;
	st->failures |= failure_bit(err);
	if (!st->first[0])
		snprintf(st->first, sizeof(st->first), "%s",
			 X509_verify_cert_error_string(err));
	return 1;
}

/* ---- anchors, SignerCert* and CRLs, parsed once ------------------------
 * The caller gives the same anchors (and SignerCert*, CRLs) with every
 * message it checks, as DER; OpenSSL 3.0 spends ~0.3 ms in d2i_X509 on
 * a 2048-bit RSA certificate (most of it finding the key's decoder), and a
 * CRL grows with what it revokes. The last PARSED_SLOTS objects parsed are
 * kept here keyed by their exact bytes and shared by reference (X509 and
 * X509_CRL are reference counted and not changed by verification). */
#define PARSED_SLOTS 16

struct parsed {
	unsigned char *der; /* the bytes given, a copy */
	size_t len;
	bool crl;  /* obj is an X509_CRL, else an X509 */
	void *obj; /* one reference held by the cache */
};

static pthread_mutex_t parsed_lock = PTHREAD_MUTEX_INITIALIZER;
static struct parsed parsed[PARSED_SLOTS];
static unsigned parsed_next; /* the slot replaced next */
static bool parsed_atexit;

static void parsed_drop(struct parsed *e)
{
	if (e->crl)
		X509_CRL_free(e->obj);
	else
		X509_free(e->obj);
	free(e->der);
	memset(e, 0, sizeof(*e));
}

/* At process exit inside OpenSSL's own cleanup, as storekey.c's context
 * (the registry never unloads a module). */
static void parsed_free(void)
{
	for (unsigned i = 0; i < PARSED_SLOTS; i++)
		if (parsed[i].obj)
			parsed_drop(&parsed[i]);
}

static void *parsed_ref(void *obj, bool crl)
{
	if (crl)
		X509_CRL_up_ref(obj);
	else
		X509_up_ref(obj);
	return obj;
}

/* A new reference to the certificate (crl false) or CRL that der holds,
 * as d2i_X509 or d2i_X509_CRL reads it; NULL when it does not read. */
static void *parse_der(const unsigned char *der, size_t len, bool crl)
{
	const unsigned char *p = der;
	void *obj = NULL;

	pthread_mutex_lock(&parsed_lock);
	for (unsigned i = 0; i < PARSED_SLOTS && !obj; i++)
		if (parsed[i].obj && parsed[i].crl == crl &&
		    parsed[i].len == len &&
		    memcmp(parsed[i].der, der, len) == 0)
			obj = parsed_ref(parsed[i].obj, crl);
	pthread_mutex_unlock(&parsed_lock);
	if (obj)
		return obj;
	obj = crl ? (void *)d2i_X509_CRL(NULL, &p, (long)len)
		  : (void *)d2i_X509(NULL, &p, (long)len);
	unsigned char *copy = obj ? malloc(len ? len : 1) : NULL;
	if (!copy)
		return obj;
	memcpy(copy, der, len);
	pthread_mutex_lock(&parsed_lock);
	struct parsed *e = &parsed[parsed_next];
	parsed_next = (parsed_next + 1) % PARSED_SLOTS;
	if (e->obj)
		parsed_drop(e);
	e->der = copy;
	e->len = len;
	e->crl = crl;
	e->obj = parsed_ref(obj, crl);
	if (!parsed_atexit)
		parsed_atexit = OPENSSL_atexit(parsed_free) == 1;
	pthread_mutex_unlock(&parsed_lock);
	return obj;
}

static bool load_certs(STACK_OF(X509) * into, const unsigned char *const *der,
		       const size_t *lens, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		X509 *x;

		if (!der || !der[i])
			continue;
		x = parse_der(der[i], lens[i], false);
		if (!x)
			continue; /* not a certificate: it anchors nothing */
		if (!sk_X509_push(into, x)) {
			X509_free(x);
			return false;
		}
	}
	return true;
}

/* ---- the system's trust anchors ----------------------------------------
 * X509_STORE_set_default_paths reads the whole CA file (SSL_CERT_FILE or
 * OpenSSL's default; Debian's holds ~140 certificates) into the store on
 * every call: ~50 ms each verification with UseSystemTrust, nearly all of
 * it OpenSSL 3.0 decoding each certificate's key. The file's certificates
 * and CRLs are read here once and kept while the file is unchanged (same
 * path, inode, size and modification time); each verification adds them
 * to its own store (a reference each) and then the hash directory and the
 * default store URI, as X509_STORE_set_default_paths does (those two are
 * read lazily, by subject, at verification). */

static pthread_mutex_t system_lock = PTHREAD_MUTEX_INITIALIZER;
static X509_STORE *system_file; /* the CA file's objects, or NULL */
static char *system_path;
static struct stat system_stat;
static bool system_atexit;

/* At process exit inside OpenSSL's own cleanup, as storekey.c's context
 * (the registry never unloads a module). */
static void system_free(void)
{
	X509_STORE_free(system_file);
	system_file = NULL;
	free(system_path);
	system_path = NULL;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The CA file's objects, read again when it changed; system_lock held.
 * NULL when there is no such file (set_default_paths then adds nothing
 * from it either). */
static X509_STORE *system_objects(void)
{
	const char *file = secure_getenv(X509_get_default_cert_file_env());
	struct stat sb;
	X509_STORE *fresh;
	X509_LOOKUP *lookup;

	if (!file)
		file = X509_get_default_cert_file();
	if (stat(file, &sb) != 0) {
		system_free();
		return NULL;
	}
	if (system_file && strcmp(system_path, file) == 0 &&
	    same_file(&sb, &system_stat))
		return system_file;
	fresh = X509_STORE_new();
	lookup =
	    fresh ? X509_STORE_add_lookup(fresh, X509_LOOKUP_file()) : NULL;
	if (!lookup) {
		X509_STORE_free(fresh);
		return NULL;
	}
	X509_LOOKUP_load_file(lookup, file, X509_FILETYPE_PEM);
	/* The certificates are shared by every thread's store: OpenSSL 3.0
	 * fills a certificate's cache of decoded extensions on first use and
	 * reads its "done" flag without a lock, so it is filled here, before
	 * any other thread can see them (as the TLS provider does with its
	 * shared store). */
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(fresh);

	for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));

		if (x)
			X509_check_purpose(x, -1, 0);
	}
	ERR_clear_error();
	system_free();
	system_path = strdup(file);
	if (!system_path) {
		X509_STORE_free(fresh);
		return NULL;
	}
	system_file = fresh;
	system_stat = sb;
	if (!system_atexit)
		system_atexit = OPENSSL_atexit(system_free) == 1;
	return system_file;
}

/* X509_STORE_set_default_paths(store), the CA file read from the cache. */
static void add_system_trust(X509_STORE *store)
{
	X509_LOOKUP *lookup;

	pthread_mutex_lock(&system_lock);
	X509_STORE *sys = system_objects();
	STACK_OF(X509_OBJECT) *objs = sys ? X509_STORE_get0_objects(sys) : NULL;

	for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509_OBJECT *o = sk_X509_OBJECT_value(objs, i);

		if (X509_OBJECT_get_type(o) == X509_LU_X509)
			X509_STORE_add_cert(store, X509_OBJECT_get0_X509(o));
		else if (X509_OBJECT_get_type(o) == X509_LU_CRL)
			X509_STORE_add_crl(store, X509_OBJECT_get0_X509_CRL(o));
	}
	pthread_mutex_unlock(&system_lock);
	lookup = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir());
	if (lookup)
		X509_LOOKUP_add_dir(lookup, NULL, X509_FILETYPE_DEFAULT);
	lookup = X509_STORE_add_lookup(store, X509_LOOKUP_store());
	if (lookup)
		X509_LOOKUP_add_store(lookup, NULL);
	ERR_clear_error();
}

/* SPOP_CERT_FAIL_* of the signer certificate, 0 when trusted. */
static uint32_t check_trust(X509 *signer, STACK_OF(X509) * untrusted,
			    STACK_OF(X509) * anchors, STACK_OF(X509_CRL) * crls,
			    const struct spop_smime_keys *keys, char *why,
			    size_t why_size)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;
	struct trust_state st = {0, ""};
	int ok;

	why[0] = '\0';
	if (!store || !ctx) {
		snprintf(why, why_size, "out of memory");
		st.failures = SPOP_CERT_FAIL_INVALID;
		goto out;
	}
	for (int i = 0; i < sk_X509_num(anchors); i++)
		X509_STORE_add_cert(store, sk_X509_value(anchors, i));
	if (keys->use_system_trust)
		add_system_trust(store);
	for (int i = 0; i < sk_X509_CRL_num(crls); i++)
		X509_STORE_add_crl(store, sk_X509_CRL_value(crls, i));
	if (!X509_STORE_CTX_init(ctx, store, signer, untrusted)) {
		snprintf(why, why_size, "chain not verifiable");
		st.failures = SPOP_CERT_FAIL_INVALID;
		goto out;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(
	    param, keys->verify_time ? (time_t)keys->verify_time : time(NULL));
	X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SMIME_SIGN);
	X509_VERIFY_PARAM_set_trust(param, X509_TRUST_EMAIL);
	if (sk_X509_CRL_num(crls) > 0)
		X509_VERIFY_PARAM_set_flags(
		    param, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	X509_STORE_CTX_set_ex_data(ctx, trust_state_index(), &st);
	X509_STORE_CTX_set_verify_cb(ctx, collect);
	ok = X509_verify_cert(ctx);
	if (ok <= 0 && !st.failures &&
	    X509_STORE_CTX_get_error(ctx) != X509_V_ERR_UNABLE_TO_GET_CRL) {
		int err = X509_STORE_CTX_get_error(ctx);

		st.failures = failure_bit(err);
		snprintf(st.first, sizeof(st.first), "%s",
			 X509_verify_cert_error_string(err));
	}
	snprintf(why, why_size, "%s", st.first);
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return st.failures;
}

static void trust_words(uint32_t f, const char *why, char *out, size_t size)
{
	snprintf(out, size, "%s%s%s%s%s%s%s",
		 (f & SPOP_CERT_FAIL_TIME) ? "certificate expired or "
					     "not yet valid; "
					   : "",
		 (f & SPOP_CERT_FAIL_UNKNOWN_CA) ? "no trusted issuer; " : "",
		 (f & SPOP_CERT_FAIL_USAGE)
		     ? "certificate not for e-mail signing; "
		     : "",
		 (f & SPOP_CERT_FAIL_REVOCATION) ? "revoked or revocation "
						   "unknown; "
						 : "",
		 (f & SPOP_CERT_FAIL_INVALID) ? "chain invalid; " : "",
		 why[0] ? "OpenSSL: " : "", why);
}

/* ---- one SignerInfo ----------------------------------------------------- */

struct context {
	CMS_ContentInfo *cms;
	BIO *chain; /* CMS_dataInit's digest BIOs, read to the end */
	STACK_OF(X509) * msg, *given, *anchors;
	STACK_OF(X509_CRL) * crls;
	const struct spop_smime_keys *keys;
};

static X509 *find_signer(CMS_SignerInfo *si, const struct context *c)
{
	for (int i = 0; i < sk_X509_num(c->msg); i++)
		if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(c->msg, i)) == 0)
			return sk_X509_value(c->msg, i);
	for (int i = 0; i < sk_X509_num(c->given); i++)
		if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(c->given, i)) ==
		    0)
			return sk_X509_value(c->given, i);
	return NULL;
}

/* Whether the signatureAlgorithm names a scheme of the signer's key
 * type. OpenSSL's CMS takes the scheme from the key and reads this field
 * only for RSASSA-PSS, so a SignerInfo naming garbage there would verify;
 * GnuTLS (the cms engine) refuses it, and so does this engine. */
static bool signature_algorithm_fits(const X509_ALGOR *sig, X509 *signer)
{
	EVP_PKEY *pub = X509_get0_pubkey(signer);
	int nid = sig ? OBJ_obj2nid(sig->algorithm) : NID_undef, md, pk;

	if (nid != NID_undef && OBJ_find_sigid_algs(nid, &md, &pk))
		nid = pk;
	if (!pub)
		return false;
	switch (nid) {
	case NID_rsaEncryption:
	case NID_rsassaPss:
		return EVP_PKEY_is_a(pub, "RSA") ||
		       EVP_PKEY_is_a(pub, "RSA-PSS");
	case NID_X9_62_id_ecPublicKey: return EVP_PKEY_is_a(pub, "EC");
	case NID_ED25519: return EVP_PKEY_is_a(pub, "ED25519");
	case NID_ED448: return EVP_PKEY_is_a(pub, "ED448");
	default: return false;
	}
}

/* 1 when the signature holds, else 0 with status saying why. */
static int check_signature(CMS_SignerInfo *si, const struct context *c,
			   X509 *signer, char *status, size_t size)
{
	X509_ALGOR *sig = NULL;
	int r;

	CMS_SignerInfo_get0_algs(si, NULL, NULL, NULL, &sig);
	if (!signature_algorithm_fits(sig, signer)) {
		snprintf(status, size,
			 "signature algorithm not understood or not for the "
			 "signer's key");
		return 0;
	}

	if (CMS_signed_get_attr_count(si) < 0) {
		r = CMS_SignerInfo_verify_content(si, c->chain);
		if (r != 1)
			snprintf(status, size,
				 "signature does not match the content");
		return r == 1;
	}
	if (!CMS_signed_get0_data_by_OBJ(si,
					 OBJ_nid2obj(NID_pkcs9_messageDigest),
					 -3, V_ASN1_OCTET_STRING)) {
		snprintf(status, size, "messageDigest attribute missing");
		return 0;
	}
	if (CMS_SignerInfo_verify_content(si, c->chain) != 1) {
		snprintf(status, size,
			 "signature does not match the content (the "
			 "messageDigest attribute differs)");
		return 0;
	}
	if (!content_type_matches(c->cms, si)) {
		snprintf(status, size,
			 "contentType attribute missing or not the content's "
			 "type");
		return 0;
	}
	if (CMS_SignerInfo_verify(si) != 1) {
		snprintf(status, size,
			 "signature does not match the signed attributes");
		return 0;
	}
	return 1;
}

static void verify_signer(struct spop_host *host, CMS_SignerInfo *si,
			  const struct context *c,
			  struct spop_smime_signer *out)
{
	X509_ALGOR *dig = NULL, *sig = NULL;
	X509 *signer;
	char why[160], trust[256];
	int dnid;

	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
	dnid = dig ? OBJ_obj2nid(dig->algorithm) : NID_undef;
	snprintf(out->digest_algorithm, sizeof(out->digest_algorithm), "%s",
		 digest_name(dnid));
	snprintf(out->signature_algorithm, sizeof(out->signature_algorithm),
		 "%s", sig ? signature_name(sig) : "unknown");
	out->signing_time = signing_time(si);
	out->weak = weak_digest(dnid) || (sig && pss_weak(sig));

	signer = find_signer(si, c);
	if (!signer) {
		out->trust_failures = SPOP_CERT_FAIL_UNKNOWN_CA;
		snprintf(out->status, sizeof(out->status),
			 "signer certificate not found in the message or "
			 "SignerCert*");
		return;
	}
	unsigned char *der = NULL;
	int der_len = i2d_X509(signer, &der);
	if (der_len > 0) {
		out->cert_der = smime_dup(host, der, (size_t)der_len);
		out->cert_der_len = out->cert_der ? (size_t)der_len : 0;
	}
	OPENSSL_free(der);

	CMS_SignerInfo_set1_signer_cert(si, signer);
	if (!check_signature(si, c, signer, out->status, sizeof(out->status))) {
		/* status says why */
	} else if (out->weak && !c->keys->allow_weak) {
		snprintf(out->status, sizeof(out->status),
			 "weak digest %s refused (the signature itself holds; "
			 "weak signatures are not allowed)",
			 out->digest_algorithm);
	} else {
		out->signature_ok = 1;
	}
	ERR_clear_error();

	out->trust_failures = check_trust(signer, c->msg, c->anchors, c->crls,
					  c->keys, why, sizeof(why));
	out->trusted = out->trust_failures == 0;
	if (out->signature_ok) {
		if (out->trusted) {
			snprintf(out->status, sizeof(out->status), "%s",
				 out->weak ? "OK (weak digest allowed)" : "OK");
		} else {
			trust_words(out->trust_failures, why, trust,
				    sizeof(trust));
			snprintf(out->status, sizeof(out->status),
				 "signature OK%s; not trusted: %.200s",
				 out->weak ? " (weak digest allowed)" : "",
				 trust);
		}
	}
}

/* ---- the operation ------------------------------------------------------ */

static int oom(struct spop_host *host)
{
	return host->set_error(host, SPOP_ERR_DECRYPT,
			       "Out of memory verifying a signature");
}

static int openssl_error(struct spop_host *host, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char reason[160] = "";

	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	return host->set_error(host, SPOP_ERR_DECRYPT, "%s%s%s", what,
			       reason[0] ? ": " : "", reason);
}

int ossl_smime_verify(struct spop_host *host, const unsigned char *in,
		      size_t len, const unsigned char *content,
		      size_t content_len, const struct spop_smime_keys *keys,
		      struct spop_smime_result *result)
{
	struct spop_smime_keys k = {0};
	struct context c = {0};
	BIO *dcont = NULL;
	const unsigned char *p = in;
	STACK_OF(CMS_SignerInfo) * sis;
	int rc = 0, n;

	/* Only what the caller's struct holds: a core of ABI 1.0 gives no
	 * trust anchors, CRLs or verify settings (zero: none, now, strict). */
	if (keys)
		memcpy(&k, keys,
		       keys->size < sizeof(k) ? keys->size : sizeof(k));
	k.size = sizeof(k);
	c.keys = &k;
	if (!in || len == 0 || len > 0x7fffffff)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "The CMS signed data is empty");
	ERR_clear_error();
	c.cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (!c.cms)
		return openssl_error(host, "The CMS object is not SignedData "
					   "that can be read");
	if (OBJ_obj2nid(CMS_get0_type(c.cms)) != NID_pkcs7_signed) {
		rc = host->set_error(
		    host, SPOP_ERR_DECRYPT,
		    "The CMS object is not SignedData (its "
		    "content type is %s)",
		    OBJ_nid2sn(OBJ_obj2nid(CMS_get0_type(c.cms))));
		goto out;
	}
	if (p != in + len) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "The CMS object is not SignedData that "
				     "can be read: bytes follow it");
		goto out;
	}

	/* The detached bytes the core gives, or the encapsulated content. */
	ASN1_OCTET_STRING **econtent = CMS_get0_content(c.cms);
	if (content) {
		dcont = BIO_new_mem_buf(
		    content_len ? content : (const void *)"", (int)content_len);
		if (!dcont) {
			rc = oom(host);
			goto out;
		}
	} else if (econtent && *econtent) {
		result->content =
		    smime_dup(host, ASN1_STRING_get0_data(*econtent),
			      (size_t)ASN1_STRING_length(*econtent));
		if (!result->content) {
			rc = oom(host);
			goto out;
		}
		result->content_len = (size_t)ASN1_STRING_length(*econtent);
	} else {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "The signature is detached and no signed "
				     "content was given");
		goto out;
	}

	/* The content through the digest BIOs of every digestAlgorithm. */
	c.chain = CMS_dataInit(c.cms, dcont);
	if (!c.chain) {
		rc = openssl_error(host, "The signed content cannot be read");
		goto out;
	}
	for (;;) {
		char buf[16384];
		int got = BIO_read(c.chain, buf, sizeof(buf));

		if (got < 0) {
			rc = openssl_error(host,
					   "The signed content cannot be read");
			goto out;
		}
		if (got == 0)
			break;
	}

	/* The certificates the message carries, SignerCert*, anchors, CRLs. */
	c.msg = CMS_get1_certs(c.cms);
	if (!c.msg)
		c.msg = sk_X509_new_null();
	c.given = sk_X509_new_null();
	c.anchors = sk_X509_new_null();
	c.crls = sk_X509_CRL_new_null();
	if (!c.msg || !c.given || !c.anchors || !c.crls ||
	    !load_certs(c.given, k.signer_certs, k.signer_cert_lens,
			k.n_signer_certs) ||
	    !load_certs(c.anchors, k.trust_der, k.trust_len, k.n_trust)) {
		rc = oom(host);
		goto out;
	}
	for (size_t i = 0; i < k.n_crl; i++) {
		const unsigned char *d = k.crl_der ? k.crl_der[i] : NULL;
		X509_CRL *crl = d ? parse_der(d, k.crl_len[i], true) : NULL;

		if (!crl) {
			rc = host->set_error(host, SPOP_ERR_DECRYPT,
					     "CRL %zu given to check signers "
					     "against is not a DER CRL",
					     i + 1);
			goto out;
		}
		if (!sk_X509_CRL_push(c.crls, crl)) {
			X509_CRL_free(crl);
			rc = oom(host);
			goto out;
		}
	}
	n = sk_X509_num(c.msg);
	if (n > 0) {
		result->chain_der =
		    host->alloc(host, (size_t)n * sizeof(*result->chain_der));
		result->chain_len =
		    host->alloc(host, (size_t)n * sizeof(*result->chain_len));
		if (!result->chain_der || !result->chain_len) {
			rc = oom(host);
			goto out;
		}
		for (int i = 0; i < n; i++) {
			unsigned char *der = NULL;
			int l = i2d_X509(sk_X509_value(c.msg, i), &der);

			result->chain_der[i] =
			    l > 0 ? smime_dup(host, der, (size_t)l) : NULL;
			OPENSSL_free(der);
			if (!result->chain_der[i]) {
				rc = oom(host);
				goto out;
			}
			result->chain_len[i] = (size_t)l;
			result->n_chain++;
		}
	}

	/* Every SignerInfo, each with its own verdict. */
	sis = CMS_get0_SignerInfos(c.cms);
	n = sk_CMS_SignerInfo_num(sis);
	if (n > 0) {
		result->signers =
		    host->alloc(host, (size_t)n * sizeof(*result->signers));
		if (!result->signers) {
			rc = oom(host);
			goto out;
		}
		memset(result->signers, 0,
		       (size_t)n * sizeof(*result->signers));
	}
	for (int i = 0; i < n; i++) {
		verify_signer(host, sk_CMS_SignerInfo_value(sis, i), &c,
			      &result->signers[i]);
		result->n_signers++;
	}
	smime_result_sum_signers(host, result);

out:
	if (rc)
		smime_result_clear(host, result);
	ERR_clear_error();
	if (c.chain) {
		/* CMS_dataInit pushed its BIOs on dcont: free down to it. */
		BIO *b = c.chain;
		while (b && b != dcont) {
			BIO *next = BIO_pop(b);

			BIO_free(b);
			b = next;
		}
	}
	BIO_free(dcont);
	sk_X509_pop_free(c.msg, X509_free);
	sk_X509_pop_free(c.given, X509_free);
	sk_X509_pop_free(c.anchors, X509_free);
	sk_X509_CRL_pop_free(c.crls, X509_CRL_free);
	CMS_ContentInfo_free(c.cms);
	return rc;
}
