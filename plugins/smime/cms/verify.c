/* The cms engine's verify half: CMS SignedData (RFC 5652) with GnuTLS.
 * GnuTLS answers "tampered", "untrusted" and "no certificate" with one
 * error, so each SignerInfo is taken apart here: its certificate is found
 * by issuer and serial or subject key identifier (the message's
 * certificates, then SignerCert*), the signature is checked against that
 * certificate alone, and the chain to the trust anchors is checked
 * separately, at verify_time, so a bad signature and an untrusted signer
 * read differently. */
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/pkcs7.h>
#include <gnutls/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cms.h"

#define OID_MESSAGE_DIGEST "1.2.840.113549.1.9.4"
#define OID_CONTENT_TYPE   "1.2.840.113549.1.9.3"
#define MAX_CHAIN	   16

/* A certificate known to the verification: DER and parsed. */
struct known_cert {
	gnutls_datum_t der;
	gnutls_x509_crt_t crt;
};

struct certs {
	struct known_cert *v;
	size_t n;
};

static void certs_free(struct certs *c)
{
	for (size_t i = 0; i < c->n; i++) {
		gnutls_x509_crt_deinit(c->v[i].crt);
		gnutls_free(c->v[i].der.data);
	}
	gnutls_free(c->v);
	c->v = NULL;
	c->n = 0;
}

/* Adds a copy of der; ignores what does not parse as a certificate (a
 * message may carry attribute certificates, which sign nothing here). */
static int certs_add(struct certs *c, const unsigned char *der, size_t len)
{
	struct known_cert *v;
	gnutls_datum_t d = {(unsigned char *)der, (unsigned)len};
	gnutls_x509_crt_t crt;

	if (gnutls_x509_crt_init(&crt) < 0)
		return -1;
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(crt);
		return 0;
	}
	v = gnutls_realloc(c->v, (c->n + 1) * sizeof(*v));
	if (!v) {
		gnutls_x509_crt_deinit(crt);
		return -1;
	}
	c->v = v;
	v[c->n].crt = crt;
	v[c->n].der.data = gnutls_malloc(len ? len : 1);
	if (!v[c->n].der.data) {
		gnutls_x509_crt_deinit(crt);
		return -1;
	}
	memcpy(v[c->n].der.data, der, len);
	v[c->n].der.size = (unsigned)len;
	c->n++;
	return 0;
}

static void *dup_out(struct spop_host *host, const void *data, size_t len)
{
	void *p = host->alloc(host, len ? len : 1);

	if (p && len)
		memcpy(p, data, len);
	return p;
}

static const char *digest_name(gnutls_digest_algorithm_t d)
{
	switch (d) {
	case GNUTLS_DIG_MD5: return "MD5";
	case GNUTLS_DIG_SHA1: return "SHA-1";
	case GNUTLS_DIG_SHA224: return "SHA-224";
	case GNUTLS_DIG_SHA256: return "SHA-256";
	case GNUTLS_DIG_SHA384: return "SHA-384";
	case GNUTLS_DIG_SHA512: return "SHA-512";
	default: {
		const char *n = gnutls_digest_get_name(d);
		return n ? n : "unknown";
	}
	}
}

static const char *pk_name(gnutls_pk_algorithm_t pk)
{
	switch (pk) {
	case GNUTLS_PK_RSA: return "RSA";
	case GNUTLS_PK_RSA_PSS: return "RSA-PSS";
	case GNUTLS_PK_ECDSA: return "ECDSA";
	case GNUTLS_PK_EDDSA_ED25519: return "Ed25519";
	case GNUTLS_PK_EDDSA_ED448: return "Ed448";
	default: {
		const char *n = gnutls_pk_get_name(pk);
		return n ? n : "unknown";
	}
	}
}

static bool datum_eq(const gnutls_datum_t *a, const void *b, size_t blen)
{
	return a->size == blen && memcmp(a->data, b, blen) == 0;
}

/* Serial numbers compare as integers: a leading zero octet (DER sign
 * padding) is not significant. */
static bool serial_eq(const gnutls_datum_t *a, const unsigned char *b,
		      size_t blen)
{
	const unsigned char *p = a->data;
	size_t plen = a->size;

	while (plen > 1 && p[0] == 0) {
		p++;
		plen--;
	}
	while (blen > 1 && b[0] == 0) {
		b++;
		blen--;
	}
	return plen == blen && memcmp(p, b, plen) == 0;
}

static bool is_signer_cert(const gnutls_pkcs7_signature_info_st *info,
			   gnutls_x509_crt_t crt)
{
	unsigned char buf[512];
	size_t len = sizeof(buf);

	if (info->issuer_keyid.size > 0) {
		unsigned critical;

		return gnutls_x509_crt_get_subject_key_id(crt, buf, &len,
							  &critical) >= 0 &&
		       datum_eq(&info->issuer_keyid, buf, len);
	}
	if (info->issuer_dn.size > 0 && info->signer_serial.size > 0) {
		gnutls_datum_t dn = {NULL, 0};
		bool same;

		if (gnutls_x509_crt_get_raw_issuer_dn(crt, &dn) < 0)
			return false;
		same = datum_eq(&info->issuer_dn, dn.data, dn.size);
		gnutls_free(dn.data);
		len = sizeof(buf);
		return same &&
		       gnutls_x509_crt_get_serial(crt, buf, &len) >= 0 &&
		       serial_eq(&info->signer_serial, buf, len);
	}
	return false;
}

static const struct known_cert *
find_signer(const gnutls_pkcs7_signature_info_st *info, const struct certs *msg,
	    const struct certs *given)
{
	for (size_t i = 0; i < msg->n; i++)
		if (is_signer_cert(info, msg->v[i].crt))
			return &msg->v[i];
	for (size_t i = 0; i < given->n; i++)
		if (is_signer_cert(info, given->v[i].crt))
			return &given->v[i];
	return NULL;
}

/* The messageDigest signed attribute's octets: 1 found (copied into md,
 * *md_len set), 0 absent, -1 unreadable. GnuTLS hands out each value's
 * DER as a copy and the OID as the list's own string (its OCTET STRING
 * decoding fails on attributes of other types). */
static int message_digest_attr(gnutls_pkcs7_attrs_t attrs, unsigned char *md,
			       size_t *md_len)
{
	for (unsigned i = 0;; i++) {
		char *oid = NULL;
		gnutls_datum_t v = {NULL, 0};
		int ret = gnutls_pkcs7_get_attr(attrs, i, &oid, &v, 0);

		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			return 0;
		if (ret < 0)
			return -1;
		if (strcmp(oid, OID_MESSAGE_DIGEST) != 0) {
			gnutls_free(v.data);
			continue;
		}
		/* OCTET STRING, short length: digests are <= 64 bytes. */
		ret = v.size >= 2 && v.data[0] == 0x04 &&
		      v.data[1] == v.size - 2 && v.size - 2 <= 64;
		if (ret) {
			memcpy(md, v.data + 2, v.size - 2);
			*md_len = v.size - 2;
		}
		gnutls_free(v.data);
		return ret ? 1 : -1;
	}
}

/* Why a signature that GnuTLS refused does not hold, in words an
 * application can show: the signed attributes are looked at first, since
 * GnuTLS says only "verification failed". */
static void explain_failure(const gnutls_pkcs7_signature_info_st *info,
			    gnutls_digest_algorithm_t dig,
			    const gnutls_datum_t *data, int gret, char *status,
			    size_t size)
{
	unsigned char digest[64], md[64];
	unsigned dlen = gnutls_hash_get_len(dig);
	size_t md_len = 0;
	int found;

	if (!info->signed_attrs) {
		if (gret == GNUTLS_E_PK_SIG_VERIFY_FAILED)
			snprintf(status, size,
				 "signature does not match the content");
		else
			snprintf(status, size, "signature not verifiable: %s",
				 gnutls_strerror(gret));
		return;
	}
	found = message_digest_attr(info->signed_attrs, md, &md_len);
	if (found == 0)
		snprintf(status, size, "messageDigest attribute missing");
	else if (found > 0 && dlen > 0 && dlen <= sizeof(digest) &&
		 gnutls_hash_fast(dig, data->data, data->size, digest) == 0 &&
		 (md_len != dlen || memcmp(md, digest, dlen) != 0))
		snprintf(status, size,
			 "signature does not match the content (the "
			 "messageDigest attribute differs)");
	else if (gret == GNUTLS_E_PK_SIG_VERIFY_FAILED)
		snprintf(status, size,
			 "signature does not match the signed attributes");
	else
		snprintf(status, size, "signature not verifiable: %s",
			 gnutls_strerror(gret));
}

static uint32_t status_failures(unsigned status)
{
	uint32_t f = 0;

	if (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED))
		f |= SPOP_CERT_FAIL_TIME;
	if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
		f |= SPOP_CERT_FAIL_UNKNOWN_CA;
	if (status & GNUTLS_CERT_PURPOSE_MISMATCH)
		f |= SPOP_CERT_FAIL_USAGE;
	if (status &
	    ~(GNUTLS_CERT_INVALID | GNUTLS_CERT_EXPIRED |
	      GNUTLS_CERT_NOT_ACTIVATED | GNUTLS_CERT_SIGNER_NOT_FOUND |
	      GNUTLS_CERT_SIGNER_NOT_CA | GNUTLS_CERT_PURPOSE_MISMATCH))
		f |= SPOP_CERT_FAIL_INVALID;
	if ((status & GNUTLS_CERT_INVALID) && !f)
		f |= SPOP_CERT_FAIL_INVALID;
	return f;
}

static bool outside_validity(gnutls_x509_crt_t crt, time_t when)
{
	time_t from = gnutls_x509_crt_get_activation_time(crt);
	time_t until = gnutls_x509_crt_get_expiration_time(crt);

	return (from != (time_t)-1 && when < from) ||
	       (until != (time_t)-1 && when > until);
}

/* The path from the signer up through the message's certificates (each
 * used once), as GnuTLS's trust list wants it: leaf first. */
static size_t build_path(gnutls_x509_crt_t leaf, const struct certs *pool,
			 gnutls_x509_crt_t *path)
{
	bool used[64] = {false};
	size_t n = 0;

	path[n++] = leaf;
	while (n < MAX_CHAIN) {
		gnutls_x509_crt_t cur = path[n - 1], next = NULL;

		if (gnutls_x509_crt_check_issuer(cur, cur))
			break; /* self-issued: the top */
		for (size_t i = 0; i < pool->n && i < 64 && !next; i++)
			if (!used[i] && pool->v[i].crt != cur &&
			    !gnutls_x509_crt_equals(pool->v[i].crt, leaf) &&
			    gnutls_x509_crt_check_issuer(cur, pool->v[i].crt)) {
				used[i] = true;
				next = pool->v[i].crt;
			}
		if (!next)
			break;
		path[n++] = next;
	}
	return n;
}

/* The trust verdict of a signer certificate: SPOP_CERT_FAIL_* bits, 0 when
 * it chains to an anchor with every certificate valid at the time. Time
 * is checked here (GnuTLS's trust list only knows "now"). */
static uint32_t check_trust(gnutls_x509_crt_t signer, const struct certs *msg,
			    const struct certs *anchors, time_t when, char *why,
			    size_t why_size)
{
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_x509_crt_t path[MAX_CHAIN];
	gnutls_typed_vdata_st purpose = {
	    .type = GNUTLS_DT_KEY_PURPOSE_OID,
	    .data = (void *)GNUTLS_KP_EMAIL_PROTECTION};
	unsigned status = 0, usage = 0, critical = 0;
	uint32_t f = 0;
	size_t n;
	int ret;

	why[0] = '\0';
	n = build_path(signer, msg, path);
	for (size_t i = 0; i < n; i++)
		if (outside_validity(path[i], when))
			f |= SPOP_CERT_FAIL_TIME;
	for (size_t i = 0; i < anchors->n; i++)
		if (gnutls_x509_crt_check_issuer(path[n - 1],
						 anchors->v[i].crt) &&
		    outside_validity(anchors->v[i].crt, when))
			f |= SPOP_CERT_FAIL_TIME;

	ret = gnutls_x509_crt_get_key_usage(signer, &usage, &critical);
	if (ret >= 0 && !(usage & (GNUTLS_KEY_DIGITAL_SIGNATURE |
				   GNUTLS_KEY_NON_REPUDIATION)))
		f |= SPOP_CERT_FAIL_USAGE;

	if (anchors->n == 0) {
		f |= SPOP_CERT_FAIL_UNKNOWN_CA;
		snprintf(why, why_size, "no trust anchor given");
		return f;
	}
	if (gnutls_x509_trust_list_init(&tl, 0) < 0) {
		snprintf(why, why_size, "out of memory");
		return f | SPOP_CERT_FAIL_INVALID;
	}
	for (size_t i = 0; i < anchors->n; i++) {
		gnutls_x509_crt_t copy;

		if (gnutls_x509_crt_init(&copy) < 0)
			continue;
		if (gnutls_x509_crt_import(copy, &anchors->v[i].der,
					   GNUTLS_X509_FMT_DER) < 0 ||
		    gnutls_x509_trust_list_add_cas(tl, &copy, 1, 0) != 1)
			gnutls_x509_crt_deinit(copy);
	}
	ret = gnutls_x509_trust_list_verify_crt2(
	    tl, path, (unsigned)n, &purpose, 1,
	    GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
		GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS,
	    &status, NULL);
	gnutls_x509_trust_list_deinit(tl, 1);
	if (ret < 0) {
		snprintf(why, why_size, "chain not verifiable: %s",
			 gnutls_strerror(ret));
		return f | SPOP_CERT_FAIL_INVALID;
	}
	f |= status_failures(status);
	if (status) {
		gnutls_datum_t out = {NULL, 0};

		if (gnutls_certificate_verification_status_print(
			status, GNUTLS_CRT_X509, &out, 0) == 0) {
			snprintf(why, why_size, "%s", (const char *)out.data);
			gnutls_free(out.data);
		}
	}
	return f;
}

static void trust_words(uint32_t f, const char *why, char *out, size_t size)
{
	snprintf(out, size, "%s%s%s%s%s%s",
		 (f & SPOP_CERT_FAIL_TIME) ? "certificate expired or "
					     "not yet valid; "
					   : "",
		 (f & SPOP_CERT_FAIL_UNKNOWN_CA) ? "no trusted issuer; " : "",
		 (f & SPOP_CERT_FAIL_USAGE)
		     ? "certificate not for e-mail signing; "
		     : "",
		 (f & SPOP_CERT_FAIL_INVALID) ? "chain invalid; " : "",
		 why[0] ? "GnuTLS: " : "", why);
}

/* ---- the SignerInfo's own fields ----------------------------------------
 * GnuTLS 3.7 reads an RSASSA-PSS signatureAlgorithm as "RSA-PSS with
 * SHA-256 and the default salt" whatever its parameters say, and reports
 * the signature's hash rather than the SignerInfo's digestAlgorithm. So
 * the SignerInfo is found in the DER here (definite lengths, as DER has
 * them) and a PSS signature is checked with its own parameters. */

struct der {
	const unsigned char *p;
	size_t len;
};

/* One TLV from *in: its tag, its contents and (whole) the TLV itself. */
static int der_next(struct der *in, unsigned *tag, struct der *val,
		    struct der *whole)
{
	size_t i = 2, n;

	if (in->len < 2 || (in->p[0] & 0x1f) == 0x1f)
		return -1;
	n = in->p[1];
	if (n & 0x80) {
		size_t k = n & 0x7f;

		if (k == 0 || k > 4 || in->len < 2 + k)
			return -1; /* indefinite or absurd */
		n = 0;
		for (size_t j = 0; j < k; j++)
			n = (n << 8) | in->p[i++];
	}
	if (in->len - i < n)
		return -1;
	*tag = in->p[0];
	val->p = in->p + i;
	val->len = n;
	if (whole) {
		whole->p = in->p;
		whole->len = i + n;
	}
	in->p += i + n;
	in->len -= i + n;
	return 0;
}

static int der_expect(struct der *in, unsigned want, struct der *val,
		      struct der *whole)
{
	unsigned tag;

	return der_next(in, &tag, val, whole) == 0 && tag == want ? 0 : -1;
}

struct signer_info {
	struct der digest_oid;
	struct der sig_oid;
	struct der sig_params; /* contents of the parameters TLV, if any */
	unsigned sig_params_tag;
	struct der attrs; /* the whole [0] signedAttrs TLV; len 0: none */
	struct der sig;
	struct der content_type; /* eContentType's whole OID TLV */
};

/* SignerInfo number idx of a ContentInfo holding SignedData. */
static int find_signer_info(const unsigned char *cms, size_t len, unsigned idx,
			    struct signer_info *si)
{
	struct der in = {cms, len}, ci, sd, body, v, sis = {NULL, 0}, one, alg;
	unsigned tag;

	memset(si, 0, sizeof(*si));
	if (der_expect(&in, 0x30, &ci, NULL) ||
	    der_expect(&ci, 0x06, &v, NULL) ||
	    der_expect(&ci, 0xa0, &sd, NULL) ||
	    der_expect(&sd, 0x30, &body, NULL))
		return -1;
	/* version, digestAlgorithms, encapContentInfo, [0] certificates,
	 * [1] crls, signerInfos: the last SET. */
	while (body.len) {
		struct der eci;

		if (der_next(&body, &tag, &v, NULL))
			return -1;
		if (tag == 0x31)
			sis = v;
		if (tag == 0x30 && !si->content_type.p &&
		    der_next(&v, &tag, &eci, &si->content_type))
			return -1;
	}
	for (unsigned i = 0; i <= idx; i++)
		if (der_expect(&sis, 0x30, &one, NULL))
			return -1;
	if (der_expect(&one, 0x02, &v, NULL) ||
	    der_next(&one, &tag, &v, NULL) ||
	    der_expect(&one, 0x30, &alg, NULL) ||
	    der_expect(&alg, 0x06, &si->digest_oid, NULL))
		return -1;
	if (one.len && one.p[0] == 0xa0 && der_next(&one, &tag, &v, &si->attrs))
		return -1;
	if (der_expect(&one, 0x30, &alg, NULL) ||
	    der_expect(&alg, 0x06, &si->sig_oid, NULL))
		return -1;
	if (alg.len &&
	    der_next(&alg, &si->sig_params_tag, &si->sig_params, NULL))
		return -1;
	return der_expect(&one, 0x04, &si->sig, NULL);
}

static bool oid_is(const struct der *oid, const char *bytes, size_t n)
{
	return oid->len == n && memcmp(oid->p, bytes, n) == 0;
}

#define OID_IS(o, lit) oid_is(o, lit, sizeof(lit) - 1)

static gnutls_digest_algorithm_t digest_of_oid(const struct der *oid)
{
	if (OID_IS(oid, "\x2b\x0e\x03\x02\x1a"))
		return GNUTLS_DIG_SHA1;
	if (OID_IS(oid, "\x2a\x86\x48\x86\xf7\x0d\x02\x05"))
		return GNUTLS_DIG_MD5;
	if (OID_IS(oid, "\x60\x86\x48\x01\x65\x03\x04\x02\x04"))
		return GNUTLS_DIG_SHA224;
	if (OID_IS(oid, "\x60\x86\x48\x01\x65\x03\x04\x02\x01"))
		return GNUTLS_DIG_SHA256;
	if (OID_IS(oid, "\x60\x86\x48\x01\x65\x03\x04\x02\x02"))
		return GNUTLS_DIG_SHA384;
	if (OID_IS(oid, "\x60\x86\x48\x01\x65\x03\x04\x02\x03"))
		return GNUTLS_DIG_SHA512;
	return GNUTLS_DIG_UNKNOWN;
}

#define OID_RSASSA_PSS "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a"
#define OID_MGF1       "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x08"

/* RSASSA-PSS-params (RFC 4055): hash, MGF1 hash, salt length; the
 * defaults are SHA-1, MGF1 with SHA-1, 20. */
static int pss_params(const struct signer_info *si,
		      gnutls_digest_algorithm_t *hash,
		      gnutls_digest_algorithm_t *mgf, unsigned *salt)
{
	struct der seq = si->sig_params, v, a, inner, oid;
	unsigned tag;

	*hash = *mgf = GNUTLS_DIG_SHA1;
	*salt = 20;
	if (si->sig_params.p == NULL)
		return 0;
	if (si->sig_params_tag != 0x30)
		return -1;
	while (seq.len) {
		if (der_next(&seq, &tag, &v, NULL))
			return -1;
		if (tag == 0xa0) {
			if (der_expect(&v, 0x30, &a, NULL) ||
			    der_expect(&a, 0x06, &oid, NULL))
				return -1;
			*hash = digest_of_oid(&oid);
		} else if (tag == 0xa1) {
			if (der_expect(&v, 0x30, &a, NULL) ||
			    der_expect(&a, 0x06, &oid, NULL) ||
			    !OID_IS(&oid, OID_MGF1) ||
			    der_expect(&a, 0x30, &inner, NULL) ||
			    der_expect(&inner, 0x06, &oid, NULL))
				return -1;
			*mgf = digest_of_oid(&oid);
		} else if (tag == 0xa2) {
			if (der_expect(&v, 0x02, &a, NULL) || a.len < 1 ||
			    a.len > 3 || (a.p[0] & 0x80))
				return -1;
			*salt = 0;
			for (size_t i = 0; i < a.len; i++)
				*salt = (*salt << 8) | a.p[i];
		}
	}
	return 0;
}

/* The contentType signed attribute names eContentType (RFC 5652 11.1). */
static bool content_type_attr_matches(gnutls_pkcs7_attrs_t attrs,
				      const struct der *want)
{
	for (unsigned i = 0;; i++) {
		char *oid = NULL;
		gnutls_datum_t v = {NULL, 0};
		bool same;

		if (gnutls_pkcs7_get_attr(attrs, i, &oid, &v, 0) < 0)
			return false;
		if (strcmp(oid, OID_CONTENT_TYPE) != 0) {
			gnutls_free(v.data);
			continue;
		}
		same = want->p && v.size == want->len &&
		       memcmp(v.data, want->p, want->len) == 0;
		gnutls_free(v.data);
		return same;
	}
}

/* An RSASSA-PSS SignerInfo, with its own parameters: 0 holds, else the
 * status says why not. */
static int verify_pss(const struct signer_info *si,
		      const gnutls_pkcs7_signature_info_st *info,
		      gnutls_digest_algorithm_t content_dig,
		      gnutls_x509_crt_t crt, const gnutls_datum_t *data,
		      char *status, size_t size)
{
	gnutls_digest_algorithm_t hash, mgf;
	unsigned salt, dlen;
	unsigned char digest[64], md[64], *attrs = NULL;
	size_t md_len = 0;
	gnutls_pubkey_t pub = NULL;
	gnutls_x509_spki_t spki = NULL;
	gnutls_datum_t h,
	    sig = {(unsigned char *)si->sig.p, (unsigned)si->sig.len};
	gnutls_sign_algorithm_t algo;
	int ret = -1;

	if (pss_params(si, &hash, &mgf, &salt) < 0 ||
	    hash == GNUTLS_DIG_UNKNOWN) {
		snprintf(status, size, "RSA-PSS parameters not understood");
		return -1;
	}
	if (mgf != hash) {
		snprintf(status, size,
			 "RSA-PSS with MGF1 over %s and hash %s is not "
			 "supported",
			 digest_name(mgf), digest_name(hash));
		return -1;
	}
	dlen = gnutls_hash_get_len(hash);
	if (si->attrs.len) {
		unsigned cl = gnutls_hash_get_len(content_dig);
		int found =
		    message_digest_attr(info->signed_attrs, md, &md_len);

		if (found == 0) {
			snprintf(status, size,
				 "messageDigest attribute missing");
			return -1;
		}
		if (found < 0 || cl == 0 ||
		    gnutls_hash_fast(content_dig, data->data, data->size,
				     digest) != 0 ||
		    md_len != cl || memcmp(md, digest, cl) != 0) {
			snprintf(status, size,
				 "signature does not match the content (the "
				 "messageDigest attribute differs)");
			return -1;
		}
		/* GnuTLS checks this for the signatures it verifies. */
		if (!content_type_attr_matches(info->signed_attrs,
					       &si->content_type)) {
			snprintf(status, size,
				 "contentType attribute missing or not the "
				 "content's type");
			return -1;
		}
		/* Signed over the attributes as a SET OF: the [0] tag
		 * becomes SET. */
		attrs = gnutls_malloc(si->attrs.len);
		if (!attrs) {
			snprintf(status, size, "out of memory");
			return -1;
		}
		memcpy(attrs, si->attrs.p, si->attrs.len);
		attrs[0] = 0x31;
		ret = gnutls_hash_fast(hash, attrs, si->attrs.len, digest);
		gnutls_free(attrs);
	} else {
		ret = gnutls_hash_fast(hash, data->data, data->size, digest);
	}
	if (ret < 0) {
		snprintf(status, size, "hashing failed: %s",
			 gnutls_strerror(ret));
		return -1;
	}
	h.data = digest;
	h.size = dlen;
	if (gnutls_pubkey_init(&pub) < 0 || gnutls_x509_spki_init(&spki) < 0 ||
	    gnutls_pubkey_import_x509(pub, crt, 0) < 0) {
		snprintf(status, size, "the signer's public key is unusable");
		goto out;
	}
	gnutls_x509_spki_set_rsa_pss_params(spki, hash, salt);
	ret = gnutls_pubkey_set_spki(pub, spki, 0);
	if (ret < 0) {
		snprintf(status, size, "RSA-PSS not possible with this key: %s",
			 gnutls_strerror(ret));
		goto out;
	}
	algo = gnutls_pk_to_sign(GNUTLS_PK_RSA_PSS, hash);
	ret = gnutls_pubkey_verify_hash2(pub, algo,
					 GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1 |
					     GNUTLS_VERIFY_ALLOW_BROKEN,
					 &h, &sig);
	if (ret == GNUTLS_E_PK_SIG_VERIFY_FAILED)
		snprintf(status, size, "%s",
			 si->attrs.len
			     ? "signature does not match the signed attributes"
			     : "signature does not match the content");
	else if (ret < 0)
		snprintf(status, size, "signature not verifiable: %s",
			 gnutls_strerror(ret));
out:
	gnutls_x509_spki_deinit(spki);
	gnutls_pubkey_deinit(pub);
	return ret < 0 ? -1 : 0;
}

/* One SignerInfo: its certificate, signature and trust verdicts. */
static void verify_signer(gnutls_pkcs7_t p7, unsigned idx,
			  const struct signer_info *si, bool have_si,
			  const gnutls_pkcs7_signature_info_st *info,
			  const gnutls_datum_t *data, const struct certs *msg,
			  const struct certs *given,
			  const struct certs *anchors,
			  const struct spop_smime_keys *keys,
			  struct spop_host *host, struct spop_smime_signer *out)
{
	gnutls_digest_algorithm_t dig =
	    gnutls_sign_get_hash_algorithm(info->algo);
	gnutls_pk_algorithm_t pk = gnutls_sign_get_pk_algorithm(info->algo);
	const struct known_cert *signer;
	unsigned flags = GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
			 GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS |
			 GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1 |
			 GNUTLS_VERIFY_ALLOW_SIGN_RSA_MD5 |
			 GNUTLS_VERIFY_ALLOW_BROKEN;
	time_t when =
	    keys->verify_time ? (time_t)keys->verify_time : time(NULL);
	char why[200], trust[200];
	bool pss = have_si && OID_IS(&si->sig_oid, OID_RSASSA_PSS);
	int ret;

	/* The SignerInfo's digestAlgorithm, which hashes the content. */
	if (have_si && digest_of_oid(&si->digest_oid) != GNUTLS_DIG_UNKNOWN)
		dig = digest_of_oid(&si->digest_oid);
	if (pss)
		pk = GNUTLS_PK_RSA_PSS;

	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	snprintf(out->digest_algorithm, sizeof(out->digest_algorithm), "%s",
		 digest_name(dig));
	snprintf(out->signature_algorithm, sizeof(out->signature_algorithm),
		 "%s", pk_name(pk));
	out->signing_time =
	    info->signing_time == (time_t)-1 ? 0 : (int64_t)info->signing_time;
	out->weak = dig == GNUTLS_DIG_MD5 || dig == GNUTLS_DIG_SHA1;

	signer = find_signer(info, msg, given);
	if (!signer) {
		out->trust_failures = SPOP_CERT_FAIL_UNKNOWN_CA;
		snprintf(out->status, sizeof(out->status),
			 "signer certificate not found in the message or "
			 "SignerCert*");
		return;
	}
	out->cert_der = dup_out(host, signer->der.data, signer->der.size);
	out->cert_der_len = out->cert_der ? signer->der.size : 0;

	if (pss) {
		gnutls_digest_algorithm_t h, m;
		unsigned salt;

		/* The PSS hash may be weak even when the content's is not. */
		if (pss_params(si, &h, &m, &salt) == 0 &&
		    (h == GNUTLS_DIG_SHA1 || h == GNUTLS_DIG_MD5))
			out->weak = 1;
		ret = verify_pss(si, info, dig, signer->crt, data, out->status,
				 sizeof(out->status));
	} else {
		ret = gnutls_pkcs7_verify_direct(p7, signer->crt, idx, data,
						 flags);
		if (ret < 0)
			explain_failure(info, dig, data, ret, out->status,
					sizeof(out->status));
	}
	if (ret < 0) {
		/* status says why */
	} else if (out->weak && !keys->allow_weak) {
		snprintf(out->status, sizeof(out->status),
			 "weak digest %s refused (the signature itself holds; "
			 "weak signatures are not allowed)",
			 out->digest_algorithm);
	} else {
		out->signature_ok = 1;
	}

	out->trust_failures =
	    check_trust(signer->crt, msg, anchors, when, why, sizeof(why));
	out->trusted = out->trust_failures == 0;
	if (out->signature_ok) {
		if (out->trusted)
			snprintf(out->status, sizeof(out->status), "%s",
				 out->weak ? "OK (weak digest allowed)" : "OK");
		else {
			trust_words(out->trust_failures, why, trust,
				    sizeof(trust));
			snprintf(out->status, sizeof(out->status),
				 "signature OK%s; not trusted: %s",
				 out->weak ? " (weak digest allowed)" : "",
				 trust);
		}
	}
}

static void clear_partial(struct spop_host *host, struct spop_smime_result *r)
{
	for (size_t i = 0; i < r->n_signers; i++)
		host->free(host, r->signers[i].cert_der);
	host->free(host, r->signers);
	for (size_t i = 0; i < r->n_chain; i++)
		host->free(host, r->chain_der[i]);
	host->free(host, r->chain_der);
	host->free(host, r->chain_len);
	host->free(host, r->signer_der);
	host->free(host, r->content);
	r->signers = NULL;
	r->n_signers = 0;
	r->chain_der = NULL;
	r->chain_len = NULL;
	r->n_chain = 0;
	r->signer_der = NULL;
	r->signer_der_len = 0;
	r->content = NULL;
	r->content_len = 0;
	r->verified = 0;
	r->algorithm[0] = '\0';
}

static int load_list(struct certs *c, const unsigned char *const *der,
		     const size_t *lens, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (der && der[i] && certs_add(c, der[i], lens[i]) < 0)
			return -1;
	return 0;
}

int cms_verify(struct spop_host *host, const unsigned char *cms, size_t len,
	       const unsigned char *content, size_t content_len,
	       const struct spop_smime_keys *keys,
	       struct spop_smime_result *result)
{
	gnutls_pkcs7_t p7 = NULL;
	gnutls_datum_t in = {(unsigned char *)cms, (unsigned)len};
	gnutls_datum_t embedded = {NULL, 0}, data, reencoded = {NULL, 0};
	gnutls_datum_t der = {(unsigned char *)cms, (unsigned)len};
	struct signer_info probe;
	struct certs msg = {NULL, 0}, given = {NULL, 0}, anchors = {NULL, 0};
	struct spop_smime_keys k = {0};
	size_t n_signers = 0;
	int ret, rc = 0, count;

	/* Only what the caller's struct holds: a core of ABI 1.0 gives no
	 * trust anchors and no verify settings (zero: none, now, strict). */
	if (keys)
		memcpy(&k, keys,
		       keys->size < sizeof(k) ? keys->size : sizeof(k));
	k.size = sizeof(k);
	keys = &k;
	if (!cms || len == 0 || len > 0xffffffffu)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "The CMS signed data is empty");
	if (gnutls_pkcs7_init(&p7) < 0)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "Out of memory verifying a signature");
	ret = gnutls_pkcs7_import(p7, &in, GNUTLS_X509_FMT_DER);
	if (ret < 0) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "The CMS object is not SignedData that "
				     "can be read: %s",
				     gnutls_strerror(ret));
		goto out;
	}

	/* Encapsulated content (opaque signing) or the detached bytes. */
	ret = gnutls_pkcs7_get_embedded_data(p7, 0, &embedded);
	if (ret < 0 && ret != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE &&
	    ret != GNUTLS_E_ASN1_ELEMENT_NOT_FOUND) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "The signed content cannot be read: %s",
				     gnutls_strerror(ret));
		goto out;
	}
	if (content) {
		/* The core says the signature is detached: what it shows is
		 * what must have been signed. */
		data.data = (unsigned char *)content;
		data.size = (unsigned)content_len;
	} else if (embedded.data) {
		data = embedded;
		result->content = dup_out(host, embedded.data, embedded.size);
		if (!result->content) {
			rc = host->set_error(host, SPOP_ERR_DECRYPT,
					     "Out of memory");
			goto out;
		}
		result->content_len = embedded.size;
	} else {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "The signature is detached and no signed "
				     "content was given");
		goto out;
	}

	/* The certificates the message carries. */
	count = gnutls_pkcs7_get_crt_count(p7);
	for (int i = 0; i < count; i++) {
		gnutls_datum_t c = {NULL, 0};

		if (gnutls_pkcs7_get_crt_raw2(p7, (unsigned)i, &c) < 0)
			continue;
		ret = certs_add(&msg, c.data, c.size);
		gnutls_free(c.data);
		if (ret < 0) {
			rc = host->set_error(host, SPOP_ERR_DECRYPT,
					     "Out of memory");
			goto out;
		}
	}
	if (load_list(&given, keys->signer_certs, keys->signer_cert_lens,
		      keys->n_signer_certs) < 0 ||
	    load_list(&anchors, keys->trust_der, keys->trust_len,
		      keys->n_trust) < 0) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT, "Out of memory");
		goto out;
	}
	if (msg.n) {
		result->chain_der =
		    host->alloc(host, msg.n * sizeof(*result->chain_der));
		result->chain_len =
		    host->alloc(host, msg.n * sizeof(*result->chain_len));
		if (!result->chain_der || !result->chain_len) {
			rc = host->set_error(host, SPOP_ERR_DECRYPT,
					     "Out of memory");
			goto out;
		}
		for (size_t i = 0; i < msg.n; i++) {
			result->chain_der[i] =
			    dup_out(host, msg.v[i].der.data, msg.v[i].der.size);
			result->chain_len[i] = msg.v[i].der.size;
			result->n_chain++;
		}
	}

	/* The SignerInfos are read from DER: BER input (indefinite lengths,
	 * from streaming signers) is re-encoded by GnuTLS first. Signed
	 * attributes are DER in any case (RFC 5652 5.3), so the bytes the
	 * signature covers are unchanged. */
	if (find_signer_info(cms, len, 0, &probe) != 0 &&
	    gnutls_pkcs7_export2(p7, GNUTLS_X509_FMT_DER, &reencoded) == 0)
		der = reencoded;

	/* Every SignerInfo, each with its own verdict. */
	for (;;) {
		gnutls_pkcs7_signature_info_st info;

		ret = gnutls_pkcs7_get_signature_info(p7, (unsigned)n_signers,
						      &info);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE ||
		    ret == GNUTLS_E_ASN1_ELEMENT_NOT_FOUND)
			break;
		if (ret < 0) {
			rc = host->set_error(
			    host, SPOP_ERR_DECRYPT,
			    "SignerInfo %zu cannot be read: %s", n_signers + 1,
			    gnutls_strerror(ret));
			goto out;
		}
		struct spop_smime_signer *grown =
		    host->alloc(host, (n_signers + 1) * sizeof(*grown));
		if (!grown) {
			gnutls_pkcs7_signature_info_deinit(&info);
			rc = host->set_error(host, SPOP_ERR_DECRYPT,
					     "Out of memory");
			goto out;
		}
		if (n_signers)
			memcpy(grown, result->signers,
			       n_signers * sizeof(*grown));
		host->free(host, result->signers);
		result->signers = grown;
		struct signer_info si;
		bool have_si = find_signer_info(der.data, der.size,
						(unsigned)n_signers, &si) == 0;

		verify_signer(p7, (unsigned)n_signers, &si, have_si, &info,
			      &data, &msg, &given, &anchors, keys, host,
			      &grown[n_signers]);
		gnutls_pkcs7_signature_info_deinit(&info);
		result->n_signers = ++n_signers;
	}

	result->verified = n_signers > 0;
	for (size_t i = 0; i < n_signers; i++)
		if (!result->signers[i].signature_ok)
			result->verified = 0;
	if (n_signers) {
		snprintf(result->algorithm, sizeof(result->algorithm), "%s",
			 result->signers[0].digest_algorithm);
		if (result->signers[0].cert_der) {
			result->signer_der =
			    dup_out(host, result->signers[0].cert_der,
				    result->signers[0].cert_der_len);
			result->signer_der_len =
			    result->signer_der ? result->signers[0].cert_der_len
					       : 0;
		}
	}

out:
	if (rc)
		clear_partial(host, result);
	gnutls_free(embedded.data);
	gnutls_free(reencoded.data);
	certs_free(&msg);
	certs_free(&given);
	certs_free(&anchors);
	gnutls_pkcs7_deinit(p7);
	return rc;
}
