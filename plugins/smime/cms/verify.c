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

#include <spop/plugin.h>

/* Until cms.h lands from the decrypt half. */
int cms_verify(struct spop_host *host, const unsigned char *cms, size_t len,
	       const unsigned char *content, size_t content_len,
	       const struct spop_smime_keys *keys,
	       struct spop_smime_result *result);

#define OID_MESSAGE_DIGEST "1.2.840.113549.1.9.4"
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
	case GNUTLS_DIG_MD5:
		return "MD5";
	case GNUTLS_DIG_SHA1:
		return "SHA-1";
	case GNUTLS_DIG_SHA224:
		return "SHA-224";
	case GNUTLS_DIG_SHA256:
		return "SHA-256";
	case GNUTLS_DIG_SHA384:
		return "SHA-384";
	case GNUTLS_DIG_SHA512:
		return "SHA-512";
	default: {
		const char *n = gnutls_digest_get_name(d);
		return n ? n : "unknown";
	}
	}
}

static const char *pk_name(gnutls_pk_algorithm_t pk)
{
	switch (pk) {
	case GNUTLS_PK_RSA:
		return "RSA";
	case GNUTLS_PK_RSA_PSS:
		return "RSA-PSS";
	case GNUTLS_PK_ECDSA:
		return "ECDSA";
	case GNUTLS_PK_EDDSA_ED25519:
		return "Ed25519";
	case GNUTLS_PK_EDDSA_ED448:
		return "Ed448";
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

/* The messageDigest signed attribute: 1 found (value in md), 0 absent,
 * -1 unreadable. */
static int message_digest_attr(gnutls_pkcs7_attrs_t attrs, gnutls_datum_t *md)
{
	for (unsigned i = 0;; i++) {
		char *oid = NULL;
		gnutls_datum_t v = {NULL, 0};
		int ret = gnutls_pkcs7_get_attr(
		    attrs, i, &oid, &v, GNUTLS_PKCS7_ATTR_ENCODE_OCTET_STRING);

		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			return 0;
		if (ret < 0)
			return -1;
		if (strcmp(oid, OID_MESSAGE_DIGEST) == 0) {
			gnutls_free(oid);
			*md = v;
			return 1;
		}
		gnutls_free(oid);
		gnutls_free(v.data);
	}
}

/* Why a signature that GnuTLS refused does not hold, in words an
 * application can show. */
static void explain_failure(const gnutls_pkcs7_signature_info_st *info,
			    gnutls_digest_algorithm_t dig,
			    const gnutls_datum_t *data, int gret, char *status,
			    size_t size)
{
	unsigned char digest[64];
	gnutls_datum_t md = {NULL, 0};
	int found;

	if (gret != GNUTLS_E_PK_SIG_VERIFY_FAILED) {
		snprintf(status, size, "signature not verifiable: %s",
			 gnutls_strerror(gret));
		return;
	}
	if (!info->signed_attrs) {
		snprintf(status, size, "signature does not match the content");
		return;
	}
	found = message_digest_attr(info->signed_attrs, &md);
	if (found == 0) {
		snprintf(status, size, "messageDigest attribute missing");
		return;
	}
	if (found > 0 && gnutls_hash_get_len(dig) > 0 &&
	    gnutls_hash_get_len(dig) <= sizeof(digest) &&
	    gnutls_hash_fast(dig, data->data, data->size, digest) == 0 &&
	    !datum_eq(&md, digest, gnutls_hash_get_len(dig)))
		snprintf(status, size,
			 "signature does not match the content (the "
			 "messageDigest attribute differs)");
	else
		snprintf(status, size,
			 "signature does not match the signed attributes");
	gnutls_free(md.data);
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
	if (status & ~(GNUTLS_CERT_INVALID | GNUTLS_CERT_EXPIRED |
		       GNUTLS_CERT_NOT_ACTIVATED | GNUTLS_CERT_SIGNER_NOT_FOUND |
		       GNUTLS_CERT_SIGNER_NOT_CA |
		       GNUTLS_CERT_PURPOSE_MISMATCH))
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
			    const struct certs *anchors, time_t when,
			    char *why, size_t why_size)
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
	snprintf(out, size, "%s%s%s%s%s%s", (f & SPOP_CERT_FAIL_TIME)
					       ? "certificate expired or "
						 "not yet valid; "
					       : "",
		 (f & SPOP_CERT_FAIL_UNKNOWN_CA) ? "no trusted issuer; " : "",
		 (f & SPOP_CERT_FAIL_USAGE)
		     ? "certificate not for e-mail signing; "
		     : "",
		 (f & SPOP_CERT_FAIL_INVALID) ? "chain invalid; " : "",
		 why[0] ? "GnuTLS: " : "", why);
}

/* One SignerInfo: its certificate, signature and trust verdicts. */
static void verify_signer(gnutls_pkcs7_t p7, unsigned idx,
			  const gnutls_pkcs7_signature_info_st *info,
			  const gnutls_datum_t *data, const struct certs *msg,
			  const struct certs *given, const struct certs *anchors,
			  const struct spop_smime_keys *keys,
			  struct spop_host *host, struct spop_smime_signer *out)
{
	gnutls_digest_algorithm_t dig = gnutls_sign_get_hash_algorithm(info->algo);
	gnutls_pk_algorithm_t pk = gnutls_sign_get_pk_algorithm(info->algo);
	const struct known_cert *signer;
	unsigned flags = GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
			 GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS |
			 GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1 |
			 GNUTLS_VERIFY_ALLOW_SIGN_WITH_MD5 |
			 GNUTLS_VERIFY_ALLOW_BROKEN;
	time_t when = keys->verify_time ? (time_t)keys->verify_time : time(NULL);
	char why[200], trust[200];
	int ret;

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

	ret = gnutls_pkcs7_verify_direct(p7, signer->crt, idx, data, flags);
	if (ret < 0) {
		explain_failure(info, dig, data, ret, out->status,
				sizeof(out->status));
	} else if (out->weak && !keys->allow_weak) {
		snprintf(out->status, sizeof(out->status),
			 "weak digest %s refused (the signature itself holds; "
			 "weak signatures are not allowed)",
			 out->digest_algorithm);
	} else {
		out->signature_ok = 1;
	}

	out->trust_failures = check_trust(signer->crt, msg, anchors, when, why,
					  sizeof(why));
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

static void clear_partial(struct spop_host *host,
			  struct spop_smime_result *r)
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
	gnutls_datum_t embedded = {NULL, 0}, data;
	struct certs msg = {NULL, 0}, given = {NULL, 0}, anchors = {NULL, 0};
	size_t n_signers = 0;
	int ret, rc = 0, count;

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
	if (embedded.data) {
		data = embedded;
		result->content = dup_out(host, embedded.data, embedded.size);
		if (!result->content) {
			rc = host->set_error(host, SPOP_ERR_DECRYPT,
					     "Out of memory");
			goto out;
		}
		result->content_len = embedded.size;
	} else if (content) {
		data.data = (unsigned char *)content;
		data.size = (unsigned)content_len;
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
	if (load_list(&given, keys ? keys->signer_certs : NULL,
		      keys ? keys->signer_cert_lens : NULL,
		      keys ? keys->n_signer_certs : 0) < 0 ||
	    (keys && keys->size >= offsetof(struct spop_smime_keys, trust_len) +
					 sizeof(keys->trust_len) &&
	     load_list(&anchors, keys->trust_der, keys->trust_len,
		       keys->n_trust) < 0)) {
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
			result->chain_der[i] = dup_out(host, msg.v[i].der.data,
						       msg.v[i].der.size);
			result->chain_len[i] = msg.v[i].der.size;
			result->n_chain++;
		}
	}

	/* Every SignerInfo, each with its own verdict. */
	for (;;) {
		gnutls_pkcs7_signature_info_st info;

		ret = gnutls_pkcs7_get_signature_info(p7, (unsigned)n_signers,
						      &info);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE ||
		    ret == GNUTLS_E_ASN1_ELEMENT_NOT_FOUND)
			break;
		if (ret < 0) {
			rc = host->set_error(host, SPOP_ERR_DECRYPT,
					     "SignerInfo %zu cannot be read: %s",
					     n_signers + 1,
					     gnutls_strerror(ret));
			goto out;
		}
		struct spop_smime_signer *grown = host->alloc(
		    host, (n_signers + 1) * sizeof(*grown));
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
		verify_signer(p7, (unsigned)n_signers, &info, &data, &msg,
			      &given, &anchors,
			      keys ? keys
				   : &(const struct spop_smime_keys){
					 .size = sizeof(struct spop_smime_keys)},
			      host, &grown[n_signers]);
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
	certs_free(&msg);
	certs_free(&given);
	certs_free(&anchors);
	gnutls_pkcs7_deinit(p7);
	return rc;
}
