/* The cms engine's verify half: CMS SignedData (RFC 5652) with GnuTLS and
 * libtasn1. GnuTLS answers "tampered", "untrusted" and "no certificate"
 * with one error, so each SignerInfo is taken apart here: its certificate
 * is found by issuer and serial or subject key identifier (the message's
 * certificates, then SignerCert*), the signature is checked against that
 * certificate alone, and the chain to the trust anchors (given, and the
 * system's when asked) and the CRLs given is checked separately, at
 * verify_time, so a bad signature and an untrusted signer read
 * differently. What GnuTLS does not hand out (a SignerInfo's own
 * digestAlgorithm, its RSASSA-PSS parameters, its signed attributes as
 * signed) is read with libtasn1 against cms.asn's SignedData.
 *
 * An encapsulated content is found where it lies in the message (DER, or
 * BER chunks), hashed and copied into the result in one pass, and
 * libtasn1 and GnuTLS get the SignedData without it; a signer with the
 * usual signed attributes is checked against that hash (verify_attrs),
 * any other is left to gnutls_pkcs7_verify_direct with the content. */
#include <gcrypt.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/pkcs7.h>
#include <gnutls/x509.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cms.h"

#define OID_SIGNED_DATA	   "1.2.840.113549.1.7.2"
#define OID_MESSAGE_DIGEST "1.2.840.113549.1.9.4"
#define OID_CONTENT_TYPE   "1.2.840.113549.1.9.3"
#define OID_RSASSA_PSS	   "1.2.840.113549.1.1.10"
#define OID_MGF1	   "1.2.840.113549.1.1.8"
#define MAX_CHAIN	   16
#define MAX_DIGEST	   64

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

/* Appends a reason to why ("; " between reasons). The format attribute
 * lets clang check the callers' formats (its -Wformat-nonliteral refuses
 * the vsnprintf below without it). */
static void note(char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(char *why, size_t size, const char *fmt, ...)
{
	size_t used = strlen(why);
	va_list ap;

	if (used && used + 2 < size) {
		memcpy(why + used, "; ", 3);
		used += 2;
	}
	if (used + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(why + used, size - used, fmt, ap);
	va_end(ap);
}

/* A certificate's subject as text, for a reason. */
static void subject_of(gnutls_x509_crt_t crt, char *out, size_t size)
{
	size_t n = size;

	if (gnutls_x509_crt_get_dn(crt, out, &n) < 0)
		snprintf(out, size, "(unnamed)");
}

static uint32_t status_failures(unsigned status)
{
	const unsigned known =
	    GNUTLS_CERT_INVALID | GNUTLS_CERT_EXPIRED |
	    GNUTLS_CERT_NOT_ACTIVATED | GNUTLS_CERT_SIGNER_NOT_FOUND |
	    GNUTLS_CERT_SIGNER_NOT_CA | GNUTLS_CERT_PURPOSE_MISMATCH |
	    GNUTLS_CERT_REVOKED;
	uint32_t f = 0;

	if (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED))
		f |= SPOP_CERT_FAIL_TIME;
	if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
		f |= SPOP_CERT_FAIL_UNKNOWN_CA;
	if (status & GNUTLS_CERT_PURPOSE_MISMATCH)
		f |= SPOP_CERT_FAIL_USAGE;
	if (status & GNUTLS_CERT_REVOKED)
		f |= SPOP_CERT_FAIL_REVOCATION;
	if (status & ~known)
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

/* What a signer is checked against, made once per verification: the
 * anchors given and, when asked, the system's, in one GnuTLS trust list;
 * the CRLs given. */
struct trust {
	gnutls_x509_trust_list_t tl;
	size_t n_given; /* anchors given (keys->trust_der) */
	bool system;	/* the system store was asked for */
	int system_rc;	/* what adding it gave: a count or an error */
	gnutls_x509_crl_t *crls;
	size_t n_crls;
};

static void trust_free(struct trust *t)
{
	if (t->tl)
		gnutls_x509_trust_list_deinit(t->tl, 1);
	for (size_t i = 0; i < t->n_crls; i++)
		gnutls_x509_crl_deinit(t->crls[i]);
	free(t->crls);
	memset(t, 0, sizeof(*t));
}

/* 0, or 284 with the error set (a CRL that cannot be read: revocation
 * would go unchecked, so that is not passed over). */
/* The anchors given are read straight into the trust list, which owns
 * them (each once: a libtasn1 import costs more than the rest of a
 * verification's trust setup). */
static int trust_init(struct spop_host *host,
		      const struct spop_smime_keys *keys, struct trust *t)
{
	memset(t, 0, sizeof(*t));
	if (gnutls_x509_trust_list_init(&t->tl, 0) < 0)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "Out of memory verifying a signature");
	for (size_t i = 0; i < keys->n_trust; i++) {
		gnutls_datum_t d;
		gnutls_x509_crt_t crt;

		if (!keys->trust_der || !keys->trust_der[i])
			continue;
		d.data = (unsigned char *)keys->trust_der[i];
		d.size = (unsigned)keys->trust_len[i];
		if (gnutls_x509_crt_init(&crt) < 0)
			return host->set_error(host, SPOP_ERR_DECRYPT,
					       "Out of memory");
		if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(crt);
			continue; /* not a certificate: it anchors nothing */
		}
		t->n_given++;
		if (gnutls_x509_trust_list_add_cas(t->tl, &crt, 1, 0) != 1)
			gnutls_x509_crt_deinit(crt);
	}
	if (keys->use_system_trust) {
		t->system = true;
		t->system_rc =
		    gnutls_x509_trust_list_add_system_trust(t->tl, 0, 0);
	}
	if (keys->n_crl == 0)
		return 0;
	t->crls = calloc(keys->n_crl, sizeof(*t->crls));
	if (!t->crls)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "Out of memory verifying a signature");
	for (size_t i = 0; i < keys->n_crl; i++) {
		gnutls_datum_t d = {NULL, 0};
		int ret;

		if (keys->crl_der && keys->crl_der[i] && keys->crl_len) {
			d.data = (unsigned char *)keys->crl_der[i];
			d.size = (unsigned)keys->crl_len[i];
		}
		ret = gnutls_x509_crl_init(&t->crls[t->n_crls]);
		if (ret < 0)
			return host->set_error(host, SPOP_ERR_DECRYPT,
					       "Out of memory verifying a "
					       "signature");
		t->n_crls++;
		ret = d.data ? gnutls_x509_crl_import(t->crls[t->n_crls - 1],
						      &d, GNUTLS_X509_FMT_DER)
			     : GNUTLS_E_NO_CERTIFICATE_FOUND;
		if (ret < 0)
			return host->set_error(
			    host, SPOP_ERR_DECRYPT,
			    "CRL %zu of the %zu given cannot "
			    "be read, so revocation cannot be "
			    "checked: %s",
			    i + 1, keys->n_crl,
			    d.data ? gnutls_strerror(ret) : "it is empty");
	}
	return 0;
}

/* Whether crt is revoked by a CRL its issuer signed: SPOP_CERT_FAIL_-
 * REVOCATION also when such a CRL does not verify (a forged or damaged
 * CRL leaves the status unknown). CRLs of other issuers do not apply. */
static uint32_t revocation(gnutls_x509_crt_t crt, gnutls_x509_crt_t issuer,
			   const struct trust *t, char *why, size_t size)
{
	char name[256];

	for (size_t i = 0; i < t->n_crls; i++) {
		unsigned status = 0;
		int ret;

		if (!gnutls_x509_crl_check_issuer(t->crls[i], issuer))
			continue;
		/* Whether the CRL is current is not asked: GnuTLS would
		 * judge it at "now", not at verify_time. */
		ret =
		    gnutls_x509_crl_verify(t->crls[i], &issuer, 1, 0, &status);
		status &=
		    ~(unsigned)(GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED |
				GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE);
		if (ret < 0 || status != 0) {
			subject_of(issuer, name, sizeof(name));
			note(why, size,
			     "CRL %zu given does not verify against its issuer "
			     "%s",
			     i + 1, name);
			return SPOP_CERT_FAIL_REVOCATION;
		}
		ret = gnutls_x509_crt_check_revocation(crt, &t->crls[i], 1);
		if (ret != 0) {
			subject_of(crt, name, sizeof(name));
			note(why, size, "%s by CRL %zu given: %s",
			     ret > 0 ? "revoked" : "revocation not checkable",
			     i + 1, name);
			return SPOP_CERT_FAIL_REVOCATION;
		}
	}
	return 0;
}

/* The trust verdict of a signer certificate: SPOP_CERT_FAIL_* bits, 0 when
 * it chains to an anchor with every certificate valid at the time and
 * none revoked by a CRL given. Time is checked here (GnuTLS's trust list
 * only knows "now"). */
static uint32_t check_trust(gnutls_x509_crt_t signer, const struct certs *msg,
			    const struct trust *t, time_t when, char *why,
			    size_t why_size)
{
	gnutls_x509_crt_t path[MAX_CHAIN], anchor = NULL;
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

	ret = gnutls_x509_crt_get_key_usage(signer, &usage, &critical);
	if (ret >= 0 && !(usage & (GNUTLS_KEY_DIGITAL_SIGNATURE |
				   GNUTLS_KEY_NON_REPUDIATION))) {
		f |= SPOP_CERT_FAIL_USAGE;
		note(why, why_size,
		     "keyUsage has neither digitalSignature nor "
		     "nonRepudiation");
	}

	if (t->n_given == 0 && !t->system) {
		note(why, why_size, "no trust anchor given");
		return f | SPOP_CERT_FAIL_UNKNOWN_CA;
	}
	if (t->system && t->system_rc < 0) {
		note(why, why_size, "the system trust store cannot be read: %s",
		     gnutls_strerror(t->system_rc));
		if (t->n_given == 0)
			return f | SPOP_CERT_FAIL_UNKNOWN_CA;
	}

	/* The anchor the path ends at, if any: its validity and its CRL. */
	if (gnutls_x509_trust_list_get_issuer(t->tl, path[n - 1], &anchor,
					      GNUTLS_TL_GET_COPY) < 0)
		anchor = NULL;
	if (anchor && outside_validity(anchor, when))
		f |= SPOP_CERT_FAIL_TIME;
	for (size_t i = 0; i < n; i++) {
		gnutls_x509_crt_t issuer = i + 1 < n ? path[i + 1] : anchor;

		if (issuer)
			f |= revocation(path[i], issuer, t, why, why_size);
	}
	if (anchor)
		gnutls_x509_crt_deinit(anchor);

	ret = gnutls_x509_trust_list_verify_crt2(
	    t->tl, path, (unsigned)n, &purpose, 1,
	    GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
		GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS,
	    &status, NULL);
	if (ret < 0) {
		note(why, why_size, "chain not verifiable: %s",
		     gnutls_strerror(ret));
		return f | SPOP_CERT_FAIL_INVALID;
	}
	f |= status_failures(status);
	if (status) {
		gnutls_datum_t out = {NULL, 0};

		if (gnutls_certificate_verification_status_print(
			status, GNUTLS_CRT_X509, &out, 0) == 0) {
			note(why, why_size, "GnuTLS: %s",
			     (const char *)out.data);
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
		 (f & SPOP_CERT_FAIL_REVOCATION)
		     ? "certificate revoked or its CRL unusable; "
		     : "",
		 (f & SPOP_CERT_FAIL_INVALID) ? "chain invalid; " : "", why);
	/* no reason of the engine's own: the list ends without "; " */
	size_t n = strlen(out);
	if (n >= 2 && !strcmp(out + n - 2, "; "))
		out[n - 2] = '\0';
}

/* ---- the SignerInfos, read with libtasn1 ---------------------------------
 * GnuTLS 3.7 reads an RSASSA-PSS signatureAlgorithm as "RSA-PSS with
 * SHA-256 and the default salt" whatever its parameters say, and reports
 * the signature's hash rather than the SignerInfo's digestAlgorithm. So
 * each SignerInfo is decoded here too, and a PSS signature is checked with
 * its own parameters. libtasn1 reads BER (indefinite lengths, from
 * streaming signers) as well as DER; signed attributes are DER in any case
 * (RFC 5652 5.3), so the bytes the signature covers are the message's. */

struct signer_info {
	gnutls_digest_algorithm_t digest; /* digestAlgorithm: hashes content */
	bool pss;			  /* signatureAlgorithm RSASSA-PSS */
	bool pss_known;			  /* ... with parameters understood */
	gnutls_digest_algorithm_t pss_hash, pss_mgf;
	unsigned pss_salt;
	unsigned char *attrs; /* signedAttrs as signed (SET OF tag); NULL:
				 none */
	size_t attrs_len;
	int md_found; /* messageDigest: 1 one value, 0 absent, -1 unreadable */
	unsigned char md[MAX_DIGEST];
	size_t md_len;
	bool ct_matches; /* one contentType, naming eContentType */
	int ct_count;	 /* contentType attributes */
	unsigned char *sig;
	size_t sig_len;
};

static void signer_infos_free(struct signer_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].attrs);
		free(v[i].sig);
	}
	free(v);
}

static gnutls_digest_algorithm_t digest_at(asn1_node node, const char *name)
{
	char oid[128];

	if (cms_read_oid(node, name, oid, sizeof(oid)) != ASN1_SUCCESS)
		return GNUTLS_DIG_UNKNOWN;
	return gnutls_oid_to_digest(oid);
}

/* Element name (an ANY) decoded as cms.asn's type; NULL when it is absent
 * or is not one. */
static asn1_node decode_any(asn1_node defs, asn1_node node, const char *name,
			    const char *type)
{
	char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE];
	unsigned char *der;
	asn1_node out = NULL;
	int len;

	if (cms_read_alloc(node, name, &der, &len) != ASN1_SUCCESS)
		return NULL;
	if (cms_decode(defs, type, der, len, &out, err) != ASN1_SUCCESS)
		out = NULL;
	free(der);
	return out;
}

static bool absent(int rc)
{
	return rc == ASN1_ELEMENT_NOT_FOUND || rc == ASN1_VALUE_NOT_FOUND;
}

/* A small non-negative INTEGER; *v unchanged when the element is absent. */
static int read_small_uint(asn1_node node, const char *name, unsigned *v)
{
	unsigned char b[8];
	int n = sizeof(b), rc = asn1_read_value(node, name, b, &n);

	if (absent(rc))
		return 0;
	if (rc != ASN1_SUCCESS || n < 1 || n > 3 || (b[0] & 0x80))
		return -1;
	*v = 0;
	for (int i = 0; i < n; i++)
		*v = (*v << 8) | b[i];
	return 0;
}

/* RSASSA-PSS-params (RFC 4055) of the AlgorithmIdentifier alg: hash, MGF1
 * hash and salt length (absent: SHA-1, MGF1-SHA-1, 20); false when they
 * are not understood. */
static bool pss_params(asn1_node defs, asn1_node tree, const char *alg,
		       struct signer_info *si)
{
	char name[192], oid[128];
	asn1_node p, mgf = NULL;
	unsigned trailer = 1;
	bool ok = false;
	int rc, len = 0;

	si->pss_hash = si->pss_mgf = GNUTLS_DIG_SHA1;
	si->pss_salt = 20;
	snprintf(name, sizeof(name), "%s.parameters", alg);
	rc = asn1_read_value(tree, name, NULL, &len);
	if (absent(rc))
		return true;
	p = decode_any(defs, tree, name, "RSASSAPSSparams");
	if (!p)
		return false;
	rc = cms_read_oid(p, "hashAlgorithm.algorithm", oid, sizeof(oid));
	if (rc == ASN1_SUCCESS)
		si->pss_hash = gnutls_oid_to_digest(oid);
	else if (!absent(rc))
		goto out;
	rc = cms_read_oid(p, "maskGenAlgorithm.algorithm", oid, sizeof(oid));
	if (rc == ASN1_SUCCESS) {
		if (strcmp(oid, OID_MGF1) != 0)
			goto out;
		mgf = decode_any(defs, p, "maskGenAlgorithm.parameters",
				 "AlgorithmIdentifier");
		if (!mgf)
			goto out;
		si->pss_mgf = digest_at(mgf, "algorithm");
	} else if (!absent(rc)) {
		goto out;
	}
	if (read_small_uint(p, "saltLength", &si->pss_salt) < 0 ||
	    read_small_uint(p, "trailerField", &trailer) < 0 || trailer != 1)
		goto out;
	ok = si->pss_hash != GNUTLS_DIG_UNKNOWN;
out:
	asn1_delete_structure(&mgf);
	asn1_delete_structure(&p);
	return ok;
}

/* The single value of attribute at (an Attribute's name) decoded as type;
 * NULL when it has none, several or another type. */
static asn1_node attr_value(asn1_node defs, asn1_node tree, const char *at,
			    const char *type)
{
	char name[192];
	int n = 0;

	snprintf(name, sizeof(name), "%s.attrValues", at);
	if (asn1_number_of_elements(tree, name, &n) != ASN1_SUCCESS || n != 1)
		return NULL;
	snprintf(name, sizeof(name), "%s.attrValues.?1", at);
	return decode_any(defs, tree, name, type);
}

/* The signed attributes of SignerInfo at: as signed, and the
 * messageDigest and contentType values. 0, or an ASN1_* code. */
static int read_attrs(asn1_node defs, asn1_node tree, const unsigned char *cms,
		      int len, const char *at, const char *ectype,
		      struct signer_info *si)
{
	char name[160], attr[176], type[192], oid[128];
	int n = 0, start, end, rc, ct_seen = 0;

	snprintf(name, sizeof(name), "%s.signedAttrs", at);
	rc = asn1_number_of_elements(tree, name, &n);
	if (rc == ASN1_ELEMENT_NOT_FOUND)
		return 0;
	if (rc != ASN1_SUCCESS)
		return rc;
	/* A SET OF has no value to read: its place in the DER tells. */
	rc = asn1_der_decoding_startEnd(tree, cms, len, name, &start, &end);
	if (rc != ASN1_SUCCESS)
		return rc;
	if (start < 0 || end < start || end >= len)
		return ASN1_DER_ERROR;
	si->attrs_len = (size_t)(end - start + 1);
	si->attrs = malloc(si->attrs_len);
	if (!si->attrs)
		return ASN1_MEM_ALLOC_ERROR;
	memcpy(si->attrs, cms + start, si->attrs_len);
	/* Signed as a SET OF, not as the [0] it is stored as. */
	si->attrs[0] = 0x31;

	for (int i = 1; i <= n; i++) {
		asn1_node v;

		snprintf(attr, sizeof(attr), "%s.?%d", name, i);
		snprintf(type, sizeof(type), "%s.attrType", attr);
		if (cms_read_oid(tree, type, oid, sizeof(oid)) != ASN1_SUCCESS)
			return ASN1_DER_ERROR;
		if (strcmp(oid, OID_MESSAGE_DIGEST) == 0) {
			int md_len = sizeof(si->md);

			v = attr_value(defs, tree, attr, "OctetString");
			si->md_found =
			    si->md_found == 0 && v &&
				    asn1_read_value(v, "", si->md, &md_len) ==
					ASN1_SUCCESS
				? 1
				: -1;
			si->md_len = si->md_found > 0 ? (size_t)md_len : 0;
			asn1_delete_structure(&v);
		} else if (strcmp(oid, OID_CONTENT_TYPE) == 0) {
			v = attr_value(defs, tree, attr, "ObjectIdentifier");
			si->ct_matches =
			    ct_seen++ == 0 && v &&
			    cms_read_oid(v, "", oid, sizeof(oid)) ==
				ASN1_SUCCESS &&
			    strcmp(oid, ectype) == 0;
			asn1_delete_structure(&v);
		}
	}
	si->ct_count = ct_seen;
	return 0;
}

static int read_signer_info(asn1_node defs, asn1_node tree,
			    const unsigned char *cms, int len, int idx,
			    const char *ectype, struct signer_info *si)
{
	char at[64], name[160], oid[128];
	int rc, sig_len;

	snprintf(at, sizeof(at), "signerInfos.?%d", idx);
	snprintf(name, sizeof(name), "%s.digestAlgorithm.algorithm", at);
	si->digest = digest_at(tree, name);
	snprintf(name, sizeof(name), "%s.signatureAlgorithm.algorithm", at);
	rc = cms_read_oid(tree, name, oid, sizeof(oid));
	if (rc != ASN1_SUCCESS)
		return rc;
	si->pss = strcmp(oid, OID_RSASSA_PSS) == 0;
	snprintf(name, sizeof(name), "%s.signatureAlgorithm", at);
	if (si->pss)
		si->pss_known = pss_params(defs, tree, name, si);
	snprintf(name, sizeof(name), "%s.signature", at);
	rc = cms_read_alloc(tree, name, &si->sig, &sig_len);
	if (rc != ASN1_SUCCESS)
		return rc;
	si->sig_len = (size_t)sig_len;
	return read_attrs(defs, tree, cms, len, at, ectype, si);
}

/* Every SignerInfo of the SignedData in cms: 0, or 284 with the error
 * set. The SignedData is decoded where it lies in cms (no copy), so the
 * signed attributes are found by their offsets there. */
static int read_signer_infos(struct spop_host *host, const unsigned char *cms,
			     size_t len, struct signer_info **out,
			     size_t *n_out)
{
	char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE], oid[128], ectype[128];
	asn1_node defs = cms_asn1(host), tree = NULL;
	struct signer_info *v = NULL;
	const unsigned char *sd;
	int n = 0, rc, start = 0, end = 0, sd_len;

	*out = NULL;
	*n_out = 0;
	if (!defs)
		return SPOP_ERR_DECRYPT;
	if (len > INT32_MAX)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "The CMS signed data is too large "
				       "(%zu bytes)",
				       len);
	/* ContentInfo, then the SignedData where it lies in the message. */
	rc = cms_decode(defs, "ContentInfo", cms, (int)len, &tree, err);
	if (rc != ASN1_SUCCESS)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "The CMS object is not SignedData that "
				       "can be read: %s",
				       err[0] ? err : asn1_strerror(rc));
	if (cms_read_oid(tree, "contentType", oid, sizeof(oid)) !=
		ASN1_SUCCESS ||
	    strcmp(oid, OID_SIGNED_DATA) != 0) {
		asn1_delete_structure(&tree);
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "The CMS object is not SignedData "
				       "(content type %s)",
				       oid);
	}
	rc = asn1_der_decoding_startEnd(tree, cms, (int)len, "content", &start,
					&end);
	asn1_delete_structure(&tree);
	if (rc != ASN1_SUCCESS ||
	    cms_explicit_value(cms, start, end, &start, &end) < 0)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "The CMS object is not SignedData that "
				       "can be read: %s",
				       rc != ASN1_SUCCESS ? asn1_strerror(rc)
							  : "bad [0] header");
	sd = cms + start;
	sd_len = end - start + 1;
	rc = cms_decode(defs, "SignedData", sd, sd_len, &tree, err);
	if (rc != ASN1_SUCCESS)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "The CMS object is not SignedData that "
				       "can be read: %s",
				       err[0] ? err : asn1_strerror(rc));
	rc = cms_read_oid(tree, "encapContentInfo.eContentType", ectype,
			  sizeof(ectype));
	if (rc == ASN1_SUCCESS)
		rc = asn1_number_of_elements(tree, "signerInfos", &n);
	if (rc == ASN1_SUCCESS && n > 0) {
		v = calloc((size_t)n, sizeof(*v));
		if (!v)
			rc = ASN1_MEM_ALLOC_ERROR;
	}
	for (int i = 0; rc == ASN1_SUCCESS && i < n; i++) {
		rc = read_signer_info(defs, tree, sd, sd_len, i + 1, ectype,
				      &v[i]);
		if (rc != ASN1_SUCCESS) {
			asn1_delete_structure(&tree);
			signer_infos_free(v, (size_t)n);
			return host->set_error(host, SPOP_ERR_DECRYPT,
					       "SignerInfo %d of the CMS "
					       "signed data cannot be read: %s",
					       i + 1, asn1_strerror(rc));
		}
	}
	asn1_delete_structure(&tree);
	if (rc != ASN1_SUCCESS) {
		signer_infos_free(v, (size_t)n);
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "The CMS signed data cannot be read: %s",
				       asn1_strerror(rc));
	}
	*out = v;
	*n_out = (size_t)n;
	return 0;
}

/* ---- the content, hashed once ------------------------------------------
 * The content is hashed once with each digestAlgorithm the SignerInfos
 * name, where it lies (in the message, or the caller's detached bytes),
 * and copied into the result in the same pass when it is encapsulated;
 * the signers' messageDigest attributes are held against these values. */

#define MAX_HASHES 4
#define HASH_BLOCK (64 * 1024)

struct content_hash {
	size_t n;
	gnutls_digest_algorithm_t alg[MAX_HASHES];
	unsigned char out[MAX_HASHES][MAX_DIGEST];
};

static const unsigned char *hash_of(const struct content_hash *h,
				    gnutls_digest_algorithm_t dig)
{
	for (size_t i = 0; h && i < h->n; i++)
		if (h->alg[i] == dig)
			return h->out[i];
	return NULL;
}

/* The content's pieces (c in der, or the one piece data when c is NULL)
 * hashed with each distinct digestAlgorithm of the SignerInfos (the first
 * MAX_HASHES; others are hashed when needed), and copied into dst when
 * dst is not NULL. 0, or a GnuTLS error. */
static int hash_content(const struct signer_info *sis, size_t n_sis,
			const unsigned char *der, const struct cms_content *c,
			const gnutls_datum_t *data, unsigned char *dst,
			struct content_hash *h)
{
	gnutls_hash_hd_t hd[MAX_HASHES];
	const unsigned char *piece;
	size_t at = c ? c->value : 0, n, i;
	int ret = 0;

	h->n = 0;
	for (i = 0; i < n_sis && h->n < MAX_HASHES; i++) {
		gnutls_digest_algorithm_t d = sis[i].digest;

		if (d == GNUTLS_DIG_UNKNOWN || hash_of(h, d) ||
		    gnutls_hash_get_len(d) == 0 ||
		    gnutls_hash_get_len(d) > MAX_DIGEST)
			continue;
		if (gnutls_hash_init(&hd[h->n], d) < 0)
			break; /* the others are hashed when needed */
		h->alg[h->n++] = d;
	}
	/* A hash that fails stops the hashing, never the copy. */
	for (int more = 1; more;) {
		if (c) {
			more = cms_content_next(der, c, &at, &piece, &n);
			if (!more)
				break;
		} else {
			piece = data->data;
			n = data->size;
			more = 0;
		}
		for (size_t off = 0; off < n;) {
			size_t blk =
			    n - off < HASH_BLOCK ? n - off : HASH_BLOCK;

			for (i = 0; i < h->n && ret >= 0; i++)
				ret = gnutls_hash(hd[i], piece + off, blk);
			if (dst) {
				memcpy(dst, piece + off, blk);
				dst += blk;
			}
			off += blk;
		}
	}
	for (i = 0; i < h->n; i++)
		gnutls_hash_deinit(hd[i], h->out[i]);
	if (ret < 0)
		h->n = 0;
	return ret < 0 ? ret : 0;
}

/* ---- one SignerInfo ----------------------------------------------------- */

/* Whether the messageDigest attribute holds dig(data): 0, or -1 with the
 * status saying why not. */
static int check_message_digest(const struct signer_info *si,
				gnutls_digest_algorithm_t dig,
				const gnutls_datum_t *data,
				const struct content_hash *h, char *status,
				size_t size)
{
	unsigned char digest[MAX_DIGEST];
	unsigned dlen = gnutls_hash_get_len(dig);
	const unsigned char *known = hash_of(h, dig);

	if (si->md_found == 0) {
		snprintf(status, size, "messageDigest attribute missing");
		return -1;
	}
	if (si->md_found < 0) {
		snprintf(status, size,
			 "messageDigest attribute unreadable or repeated");
		return -1;
	}
	if (known && dlen > 0 && dlen <= sizeof(digest))
		memcpy(digest, known, dlen);
	else if (dlen == 0 || dlen > sizeof(digest) ||
		 gnutls_hash_fast(dig, data->data, data->size, digest) != 0) {
		snprintf(status, size, "the content cannot be hashed with %s",
			 gnutls_digest_get_name(dig));
		return -1;
	}
	if (si->md_len != dlen || memcmp(si->md, digest, dlen) != 0) {
		snprintf(status, size,
			 "signature does not match the content (the "
			 "messageDigest attribute differs)");
		return -1;
	}
	return 0;
}

/* Why a signature that GnuTLS refused does not hold, in words an
 * application can show: the signed attributes are looked at first, since
 * GnuTLS says only "verification failed". */
static void explain_failure(const struct signer_info *si,
			    gnutls_digest_algorithm_t dig,
			    const gnutls_datum_t *data,
			    const struct content_hash *h, int gret,
			    char *status, size_t size)
{
	if (!si->attrs) {
		if (gret == GNUTLS_E_PK_SIG_VERIFY_FAILED)
			snprintf(status, size,
				 "signature does not match the content");
		else
			snprintf(status, size, "signature not verifiable: %s",
				 gnutls_strerror(gret));
		return;
	}
	if (check_message_digest(si, dig, data, h, status, size) < 0)
		return;
	if (gret == GNUTLS_E_PK_SIG_VERIFY_FAILED)
		snprintf(status, size,
			 "signature does not match the signed attributes");
	else
		snprintf(status, size, "signature not verifiable: %s",
			 gnutls_strerror(gret));
}

/* EMSA-PSS verification of a digest with libgcrypt, which takes any hash
 * and salt length (GnuTLS 3.7 has RSA-PSS signature algorithms for
 * SHA-256/384/512 only). MGF1 uses the same hash. */
static int pss_verify_digest(gnutls_x509_crt_t crt, gnutls_digest_algorithm_t h,
			     unsigned salt, const unsigned char *digest,
			     unsigned dlen, const unsigned char *sigv,
			     size_t sig_len, char *status, size_t size)
{
	gnutls_datum_t n = {NULL, 0}, e = {NULL, 0};
	gcry_sexp_t key = NULL, data = NULL, sig = NULL;
	gcry_error_t err;
	int ret = -1;

	if (gnutls_x509_crt_get_pk_rsa_raw(crt, &n, &e) < 0) {
		snprintf(status, size, "the signer's key is not an RSA key");
		return -1;
	}
	err = gcry_sexp_build(&key, NULL, "(public-key (rsa (n %b) (e %b)))",
			      (int)n.size, n.data, (int)e.size, e.data);
	if (!err)
		err = gcry_sexp_build(&data, NULL,
				      "(data (flags pss) (hash %s %b) "
				      "(salt-length %u))",
				      gnutls_digest_get_name(h), (int)dlen,
				      digest, salt);
	if (!err)
		err = gcry_sexp_build(&sig, NULL, "(sig-val (rsa (s %b)))",
				      (int)sig_len, sigv);
	if (!err)
		err = gcry_pk_verify(sig, data, key);
	if (!err)
		ret = 0;
	else if (gcry_err_code(err) == GPG_ERR_BAD_SIGNATURE)
		snprintf(status, size, "signature does not match");
	else
		snprintf(status, size, "signature not verifiable: %s",
			 gcry_strerror(err));
	gcry_sexp_release(sig);
	gcry_sexp_release(data);
	gcry_sexp_release(key);
	gnutls_free(n.data);
	gnutls_free(e.data);
	return ret;
}

/* An RSASSA-PSS SignerInfo, with its own parameters: 0 holds, else the
 * status says why not. */
static int verify_pss(const struct signer_info *si,
		      gnutls_digest_algorithm_t content_dig,
		      gnutls_x509_crt_t crt, const gnutls_datum_t *data,
		      const struct content_hash *h, char *status, size_t size)
{
	unsigned char digest[MAX_DIGEST];
	unsigned dlen = gnutls_hash_get_len(si->pss_hash);
	int ret;

	if (!si->pss_known) {
		snprintf(status, size, "RSA-PSS parameters not understood");
		return -1;
	}
	if (si->pss_mgf != si->pss_hash) {
		snprintf(status, size,
			 "RSA-PSS with MGF1 over %s and hash %s is not "
			 "supported",
			 digest_name(si->pss_mgf), digest_name(si->pss_hash));
		return -1;
	}
	if (dlen == 0 || dlen > sizeof(digest)) {
		snprintf(status, size, "RSA-PSS with %s is not supported",
			 digest_name(si->pss_hash));
		return -1;
	}
	if (si->attrs) {
		if (check_message_digest(si, content_dig, data, h, status,
					 size))
			return -1;
		/* GnuTLS checks this for the signatures it verifies. */
		if (!si->ct_matches) {
			snprintf(status, size,
				 "contentType attribute missing or not the "
				 "content's type");
			return -1;
		}
		ret = gnutls_hash_fast(si->pss_hash, si->attrs, si->attrs_len,
				       digest);
	} else {
		ret = gnutls_hash_fast(si->pss_hash, data->data, data->size,
				       digest);
	}
	if (ret < 0) {
		snprintf(status, size, "hashing failed: %s",
			 gnutls_strerror(ret));
		return -1;
	}
	ret = pss_verify_digest(crt, si->pss_hash, si->pss_salt, digest, dlen,
				si->sig, si->sig_len, status, size);
	if (ret < 0 && strcmp(status, "signature does not match") == 0)
		snprintf(status, size, "%s",
			 si->attrs
			     ? "signature does not match the signed attributes"
			     : "signature does not match the content");
	return ret;
}

/* A SignerInfo with signed attributes checked as gnutls_pkcs7_verify_direct
 * checks it (its messageDigest against the content hashed with the
 * signature's hash, at most one contentType, naming eContentType; then the
 * signature over the attributes), but with the content's hash computed
 * once for all signers: true when it applies (the status says why not
 * when *ret < 0); false leaves the signer to GnuTLS. */
static bool verify_attrs(const struct signer_info *si,
			 const gnutls_pkcs7_signature_info_st *info,
			 gnutls_x509_crt_t crt, gnutls_digest_algorithm_t dig,
			 const gnutls_datum_t *data,
			 const struct content_hash *h, unsigned flags, int *ret,
			 char *status, size_t size)
{
	gnutls_datum_t attrs = {si->attrs, (unsigned)si->attrs_len};

	/* Anything else (no or several messageDigests, several
	 * contentTypes, a signature hash other than digestAlgorithm, no
	 * content) is GnuTLS's to judge, as before. */
	if (!si->attrs || si->md_found != 1 || si->ct_count > 1 ||
	    (si->ct_count == 1 && !si->ct_matches) || !data->data ||
	    gnutls_sign_get_hash_algorithm(info->algo) != dig ||
	    !hash_of(h, dig))
		return false;
	if (check_message_digest(si, dig, data, h, status, size) < 0) {
		*ret = GNUTLS_E_PK_SIG_VERIFY_FAILED;
		return true;
	}
	*ret = gnutls_x509_crt_verify_data2(crt, info->algo, flags, &attrs,
					    &info->sig);
	if (*ret == GNUTLS_E_PK_SIG_VERIFY_FAILED)
		snprintf(status, size,
			 "signature does not match the signed attributes");
	else if (*ret < 0)
		snprintf(status, size, "signature not verifiable: %s",
			 gnutls_strerror(*ret));
	return true;
}

/* GnuTLS 3.7's gnutls_x509_crt_verify_data2 (also under
 * gnutls_pkcs7_verify_direct) leaks its public key object when the
 * certificate's key cannot be imported (a damaged certificate in the
 * message): such a signer is refused here before GnuTLS is asked. */
static bool public_key_readable(gnutls_x509_crt_t crt)
{
	gnutls_pubkey_t key;
	bool ok;

	if (gnutls_pubkey_init(&key) < 0)
		return false;
	ok = gnutls_pubkey_import_x509(key, crt, 0) >= 0;
	gnutls_pubkey_deinit(key);
	return ok;
}

/* One SignerInfo: its certificate, signature and trust verdicts. */
static void verify_signer(gnutls_pkcs7_t p7, unsigned idx,
			  const struct signer_info *si,
			  const gnutls_pkcs7_signature_info_st *info,
			  const gnutls_datum_t *data,
			  const struct content_hash *h, const struct certs *msg,
			  const struct certs *given, const struct trust *trust,
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
	char why[200], trust_text[200];
	int ret;

	/* The SignerInfo's digestAlgorithm, which hashes the content (RFC
	 * 5652 5.4); one this engine does not know is never replaced by the
	 * hash the signature algorithm names. */
	dig = si->digest;
	if (si->pss)
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
	/* The PSS hash may be weak even when the content's is not. */
	if (si->pss && si->pss_known &&
	    (si->pss_hash == GNUTLS_DIG_SHA1 || si->pss_hash == GNUTLS_DIG_MD5))
		out->weak = 1;

	signer = find_signer(info, msg, given);
	if (!signer) {
		out->trust_failures = SPOP_CERT_FAIL_UNKNOWN_CA;
		snprintf(out->status, sizeof(out->status),
			 "signer certificate not found in the message or "
			 "SignerCert*");
		return;
	}
	out->cert_der = smime_dup(host, signer->der.data, signer->der.size);
	out->cert_der_len = out->cert_der ? signer->der.size : 0;

	if (dig == GNUTLS_DIG_UNKNOWN) {
		ret = GNUTLS_E_UNKNOWN_HASH_ALGORITHM;
		snprintf(out->status, sizeof(out->status),
			 "the SignerInfo's digestAlgorithm is not supported");
	} else if (!public_key_readable(signer->crt)) {
		ret = GNUTLS_E_PK_SIG_VERIFY_FAILED;
		snprintf(out->status, sizeof(out->status),
			 "the signer certificate's public key cannot be read");
	} else if (si->pss) {
		ret = verify_pss(si, dig, signer->crt, data, h, out->status,
				 sizeof(out->status));
	} else if (!verify_attrs(si, info, signer->crt, dig, data, h, flags,
				 &ret, out->status, sizeof(out->status))) {
		ret = gnutls_pkcs7_verify_direct(p7, signer->crt, idx, data,
						 flags);
		if (ret < 0)
			explain_failure(si, dig, data, h, ret, out->status,
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
	    check_trust(signer->crt, msg, trust, when, why, sizeof(why));
	out->trusted = out->trust_failures == 0;
	if (out->signature_ok) {
		if (out->trusted)
			snprintf(out->status, sizeof(out->status), "%s",
				 out->weak ? "OK (weak digest allowed)" : "OK");
		else {
			trust_words(out->trust_failures, why, trust_text,
				    sizeof(trust_text));
			snprintf(out->status, sizeof(out->status),
				 "signature OK%s; not trusted: %s",
				 out->weak ? " (weak digest allowed)" : "",
				 trust_text);
		}
	}
}

/* ---- the encapsulated content, where it lies -----------------------------
 * libtasn1 copies every value it decodes, and GnuTLS's pkcs7 import
 * decodes the whole SignedData (and keeps the content again): an opaque
 * message's content would be copied several times. So, as decrypt.c does
 * for EnvelopedData, the content is found where it lies, hashed and copied
 * from there once, and libtasn1 and GnuTLS get the message with the
 * eContent cut out. */

/* The message at cms[0..len) without its eContent, malloc'd into *out,
 * and where the content's bytes lie (one OCTET STRING, or BER chunks of
 * one). *out stays NULL when the layout is not the one expected (detached,
 * another type, high tag numbers, nested chunks): the message then goes
 * to libtasn1 and GnuTLS whole. 0, or -1 out of memory. */
static int cut_econtent(const unsigned char *cms, size_t len,
			unsigned char **out, size_t *out_len,
			struct cms_content *c)
{
	struct cms_tlv anc[4], t, ec;
	struct cms_tlv *ci = &anc[0], *c0 = &anc[1], *sd = &anc[2],
		       *eci = &anc[3];
	char oid[128];
	size_t at, ec_end, after;

	*out = NULL;
	if (cms_content_info(cms, len, oid, sizeof(oid), ci, c0) ||
	    strcmp(oid, OID_SIGNED_DATA) != 0)
		return 0;
	/* the SignedData fills the [0] */
	if (cms_tlv_at(cms, c0->value, c0->end, sd) || sd->id != 0x30 ||
	    cms_tlv_skip(cms, c0->value, c0->end, 0, &at) || at != c0->end ||
	    cms_ends_at(cms, sd, at))
		return 0;
	/* version, digestAlgorithms, encapContentInfo */
	if (cms_tlv_at(cms, sd->value, sd->end, &t) || t.id != 0x02 ||
	    cms_tlv_at(cms, t.end, sd->end, &t) || t.id != 0x31 ||
	    cms_tlv_skip(cms, t.start, sd->end, 0, &at) ||
	    cms_tlv_at(cms, at, sd->end, eci) || eci->id != 0x30 ||
	    cms_tlv_skip(cms, eci->start, sd->end, 0, &at) ||
	    cms_ends_at(cms, eci, at))
		return 0;
	/* eContentType, then eContent [0] EXPLICIT OCTET STRING, the last */
	if (cms_tlv_at(cms, eci->value, eci->end, &t) || t.id != 0x06 ||
	    t.end == eci->end || cms_tlv_at(cms, t.end, eci->end, &ec) ||
	    ec.id != 0xa0 ||
	    cms_tlv_skip(cms, ec.start, eci->end, 0, &ec_end) ||
	    ec_end != eci->end || cms_ends_at(cms, &ec, ec_end) ||
	    cms_content_at(cms, ec.value, ec.end, 0x04, 0x24, c, &after) ||
	    after != ec.end)
		return 0;
	return cms_cut(cms, len, anc, 4, ec.start, ec_end, out, out_len);
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
	gnutls_datum_t embedded = {NULL, 0}, data;
	struct content_hash hashes = {0};
	struct cms_content ec = {0};
	unsigned char *cut = NULL;
	size_t cut_len = 0;
	struct certs msg = {NULL, 0}, given = {NULL, 0};
	struct trust trust = {0};
	struct signer_info *sis = NULL;
	struct spop_smime_keys k = {0};
	size_t n_signers = 0, n_sis = 0;
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
	/* RSA-PSS signatures are checked with libgcrypt. */
	rc = cms_gcrypt_init(host);
	if (rc)
		return rc;
	/* The content where it lies; the rest without it. */
	if (cut_econtent(cms, len, &cut, &cut_len, &ec) < 0)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "Out of memory verifying a signature");
	if (cut) {
		in.data = cut;
		in.size = (unsigned)cut_len;
	}
	/* The SignerInfos first: their tree is gone before GnuTLS makes
	 * its own. */
	rc = read_signer_infos(host, in.data, in.size, &sis, &n_sis);
	if (rc) {
		free(cut);
		return rc;
	}
	if (gnutls_pkcs7_init(&p7) < 0) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "Out of memory verifying a signature");
		goto out;
	}
	ret = gnutls_pkcs7_import(p7, &in, GNUTLS_X509_FMT_DER);
	if (ret < 0) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "The CMS object is not SignedData that "
				     "can be read: %s",
				     gnutls_strerror(ret));
		goto out;
	}

	/* Encapsulated content (opaque signing) or the detached bytes;
	 * GnuTLS is asked only when the content was not found above. */
	ret = cut ? 0 : gnutls_pkcs7_get_embedded_data(p7, 0, &embedded);
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
		/* a hash that fails leaves the signers to GnuTLS */
		hash_content(sis, n_sis, NULL, NULL, &data, NULL, &hashes);
	} else if (cut) {
		/* hashed and copied in one pass from where it lies; an
		 * empty eContent is content, of no bytes (not detached) */
		result->content = host->alloc(host, ec.len ? ec.len : 1);
		if (!result->content) {
			rc = host->set_error(host, SPOP_ERR_DECRYPT,
					     "Out of memory for %zu bytes of "
					     "signed content",
					     ec.len);
			goto out;
		}
		result->content_len = ec.len;
		hash_content(sis, n_sis, cms, &ec, NULL, result->content,
			     &hashes);
		data.data = result->content;
		data.size = (unsigned)ec.len;
	} else if (embedded.data) {
		data = embedded;
		result->content = smime_dup(host, embedded.data, embedded.size);
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
		      keys->n_signer_certs) < 0) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT, "Out of memory");
		goto out;
	}
	rc = trust_init(host, keys, &trust);
	if (rc)
		goto out;
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
			result->chain_der[i] = smime_dup(
			    host, msg.v[i].der.data, msg.v[i].der.size);
			result->chain_len[i] = msg.v[i].der.size;
			result->n_chain++;
		}
	}

	/* Every SignerInfo, each with its own verdict; GnuTLS and libtasn1
	 * count them in the same (DER) order. */
	for (;;) {
		gnutls_pkcs7_signature_info_st info;

		ret = gnutls_pkcs7_get_signature_info(p7, (unsigned)n_signers,
						      &info);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE ||
		    ret == GNUTLS_E_ASN1_ELEMENT_NOT_FOUND)
			break;
		if (ret < 0 || n_signers >= n_sis) {
			if (ret >= 0)
				gnutls_pkcs7_signature_info_deinit(&info);
			rc = host->set_error(
			    host, SPOP_ERR_DECRYPT,
			    "SignerInfo %zu cannot be read: %s", n_signers + 1,
			    ret < 0 ? gnutls_strerror(ret)
				    : "libtasn1 does not see it");
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
		verify_signer(p7, (unsigned)n_signers, &sis[n_signers], &info,
			      &data, &hashes, &msg, &given, &trust, keys, host,
			      &grown[n_signers]);
		gnutls_pkcs7_signature_info_deinit(&info);
		result->n_signers = ++n_signers;
	}
	if (n_signers != n_sis) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "The CMS signed data has %zu SignerInfos "
				     "of which GnuTLS reads %zu",
				     n_sis, n_signers);
		goto out;
	}

	smime_result_sum_signers(host, result);

out:
	if (rc)
		smime_result_clear(host, result);
	gnutls_free(embedded.data);
	free(cut);
	certs_free(&msg);
	certs_free(&given);
	trust_free(&trust);
	signer_infos_free(sis, n_sis);
	gnutls_pkcs7_deinit(p7);
	return rc;
}
