/* The cms S/MIME engine's verify: SignedData that openssl cms, GnuTLS
 * certtool and NSS cmsutil make at test time (make-smime-signed.sh), good
 * and tampered, checked through the core's real host. Each signer's
 * signature verdict and trust verdict are asserted apart, with the words
 * the status gives, so "tampered" never reads like "untrusted". */
#include "suite-data.h"
#include "test-runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spop-private.h"

#include "fixture-setup.h"

#ifndef DATA_SCRIPT
#error "DATA_SCRIPT must name make-smime-signed.sh"
#endif

static struct spi_host host;
static struct spop_host *h;

static const struct spop_smime_ops *ops;

static int engine_verify(const unsigned char *cms, size_t len,
			 const unsigned char *content, size_t content_len,
			 const struct spop_smime_keys *keys,
			 struct spop_smime_result *r)
{
	return ops->verify(h, cms, len, content, content_len, keys, r);
}

static void engine_clear(struct spop_smime_result *r)
{
	ops->result_clear(h, r);
	memset(r, 0, sizeof(*r));
}

static int engine_load(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	if (spi_plugin_by_name(s, SPOP_PLUGIN_SMIME, "cms", &d) != 0 || !d ||
	    !d->ops) {
		fprintf(stderr, "no cms S/MIME engine: %s\n",
			spop_last_error(s) ? spop_last_error(s) : "");
		return 1;
	}
	ops = d->ops;
	if (!ops->verify || !ops->result_clear ||
	    !(d->capabilities & SPOP_CAP_SMIME_VERIFY)) {
		fprintf(stderr, "the cms engine has no verify\n");
		return 1;
	}
	return 0;
}

/* The engine came as its own module, not linked into the test. */
static void test_module(void)
{
	CU_ASSERT_TRUE(mapped("spop-smime-cms.so"));
}

/* ---- helpers ------------------------------------------------------------ */

/* Certificates given to the engine (anchors and SignerCert*), or CRLs. */
struct certlist {
	unsigned char *der[4];
	size_t len[4];
	size_t n;
};

/* name.der, or name itself when it has a dot (a CRL file). */
static void certlist_add(struct certlist *c, const char *name)
{
	char *file = strchr(name, '.') ? g_strdup(name)
				       : g_strdup_printf("%s.der", name);

	c->der[c->n] = slurp(file, &c->len[c->n]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->der[c->n]);
	c->n++;
	g_free(file);
}

static void certlist_free(struct certlist *c)
{
	for (size_t i = 0; i < c->n; i++)
		g_free(c->der[i]);
	c->n = 0;
}

/* One verification: the CMS file, the detached content file (NULL for
 * opaque), the anchors and SignerCert* by certificate name, the CRL
 * files. */
struct run {
	const char *cms;
	const char *content;
	const char *anchor[3];
	const char *signer_cert;
	int allow_weak;
	int64_t verify_time;
	const char *crl[3];
	int use_system_trust;
};

static int verify(const struct run *w, struct spop_smime_result *r)
{
	struct certlist anchors = {0}, given = {0}, crls = {0};
	struct spop_smime_keys keys = {.size = sizeof(keys)};
	unsigned char *cms, *content = NULL;
	size_t len, clen = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	cms = slurp(w->cms, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cms);
	if (w->content) {
		content = slurp(w->content, &clen);
		CU_ASSERT_PTR_NOT_NULL_FATAL(content);
	}
	for (size_t i = 0; i < 3 && w->anchor[i]; i++)
		certlist_add(&anchors, w->anchor[i]);
	if (w->signer_cert)
		certlist_add(&given, w->signer_cert);
	for (size_t i = 0; i < 3 && w->crl[i]; i++)
		certlist_add(&crls, w->crl[i]);
	keys.trust_der = (const unsigned char *const *)anchors.der;
	keys.trust_len = anchors.len;
	keys.n_trust = anchors.n;
	keys.signer_certs = (const unsigned char *const *)given.der;
	keys.signer_cert_lens = given.len;
	keys.n_signer_certs = given.n;
	keys.allow_weak = w->allow_weak;
	keys.verify_time = w->verify_time;
	keys.crl_der = (const unsigned char *const *)crls.der;
	keys.crl_len = crls.len;
	keys.n_crl = crls.n;
	keys.use_system_trust = w->use_system_trust;
	rc = engine_verify(cms, len, content, clen, &keys, r);
	certlist_free(&anchors);
	certlist_free(&given);
	certlist_free(&crls);
	g_free(cms);
	g_free(content);
	return rc;
}

static bool same_as_file(const unsigned char *der, size_t len, const char *name)
{
	size_t n;
	unsigned char *want = slurp(name, &n);
	bool same = want && der && n == len && memcmp(der, want, n) == 0;

	g_free(want);
	return same;
}

static bool status_has(const struct spop_smime_signer *sg, const char *word)
{
	if (strstr(sg->status, word))
		return true;
	fprintf(stderr, "\n  status \"%s\" lacks \"%s\"\n", sg->status, word);
	return false;
}

/* A good signature by a trusted signer: every field the core shows. */
static void check_good(const struct spop_smime_result *r, const char *cert,
		       const char *digest, const char *sigalg)
{
	const struct spop_smime_signer *sg;
	char *der = g_strdup_printf("%s.der", cert);

	CU_ASSERT_EQUAL_FATAL(r->n_signers, 1);
	sg = &r->signers[0];
	if (!sg->signature_ok || !sg->trusted)
		fprintf(stderr, "\n  %s: %s\n", cert, sg->status);
	CU_ASSERT_EQUAL(sg->size, sizeof(*sg));
	CU_ASSERT_EQUAL(sg->signature_ok, 1);
	CU_ASSERT_EQUAL(sg->trusted, 1);
	CU_ASSERT_EQUAL(sg->trust_failures, 0);
	CU_ASSERT_EQUAL(sg->weak, 0);
	CU_ASSERT_STRING_EQUAL(sg->status, "OK");
	CU_ASSERT_STRING_EQUAL(sg->digest_algorithm, digest);
	CU_ASSERT_STRING_EQUAL(sg->signature_algorithm, sigalg);
	CU_ASSERT_TRUE(same_as_file(sg->cert_der, sg->cert_der_len, der));
	CU_ASSERT_EQUAL(r->verified, 1);
	CU_ASSERT_TRUE(same_as_file(r->signer_der, r->signer_der_len, der));
	CU_ASSERT_STRING_EQUAL(r->algorithm, digest);
	g_free(der);
}

/* ---- good signatures ---------------------------------------------------- */

static void test_digests(void)
{
	static const char *const md[][2] = {{"sha224", "SHA-224"},
					    {"sha256", "SHA-256"},
					    {"sha384", "SHA-384"},
					    {"sha512", "SHA-512"}};
	struct spop_smime_result r;

	for (size_t i = 0; i < G_N_ELEMENTS(md); i++) {
		char *f = g_strdup_printf("det-%s.p7s", md[i][0]);
		struct run w = {
		    .cms = f, .content = "content.txt", .anchor = {"ca"}};

		CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
		check_good(&r, "rsa", md[i][1], "RSA");
		/* openssl put the signer's certificate in, nothing else. */
		CU_ASSERT_EQUAL(r.n_chain, 1);
		if (r.n_chain == 1)
			CU_ASSERT_TRUE(same_as_file(r.chain_der[0],
						    r.chain_len[0], "rsa.der"));
		/* Detached: the engine gives no content back. */
		CU_ASSERT_PTR_NULL(r.content);
		/* signingTime is this run's (openssl put it in). */
		CU_ASSERT_TRUE(r.signers[0].signing_time > time(NULL) - 3600 &&
			       r.signers[0].signing_time < time(NULL) + 3600);
		engine_clear(&r);
		g_free(f);
	}
}

static void test_opaque(void)
{
	static const char *const f[] = {"op-sha256.p7m", "certtool-op.p7m",
					"op-ber.p7m"};
	struct spop_smime_result r;
	size_t len;
	unsigned char *want = slurp("content.txt", &len);

	for (size_t i = 0; i < G_N_ELEMENTS(f); i++) {
		struct run w = {.cms = f[i], .content = NULL, .anchor = {"ca"}};

		CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
		check_good(&r, "rsa", i == 1 ? "SHA-384" : "SHA-256", "RSA");
		CU_ASSERT_EQUAL(r.content_len, len);
		CU_ASSERT_TRUE(r.content && r.content_len == len &&
			       memcmp(r.content, want, len) == 0);
		engine_clear(&r);
	}
	g_free(want);
}

/* An eContent present and empty is content of no bytes, signed like any
 * other: not a detached signature missing its content (fuzz-smime-mime). */
static void test_opaque_empty(void)
{
	struct spop_smime_result r;
	struct run w = {
	    .cms = "op-empty.p7m", .content = NULL, .anchor = {"ca"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	check_good(&r, "rsa", "SHA-256", "RSA");
	CU_ASSERT_EQUAL(r.content_len, 0);
	engine_clear(&r);
}

static void test_certtool_detached(void)
{
	struct spop_smime_result r;
	struct run w = {.cms = "certtool-det.p7s",
			.content = "content.txt",
			.anchor = {"ca"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	check_good(&r, "rsa", "SHA-384", "RSA");
	engine_clear(&r);
}

static void test_nss(void)
{
	struct spop_smime_result r;
	struct run w = {
	    .cms = "nss-det.p7s", .content = "content.txt", .anchor = {"ca"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	check_good(&r, "nss", "SHA-256", "RSA");
	engine_clear(&r);
}

/* -noattr: the signature is over the content itself, no signingTime. */
static void test_no_signed_attributes(void)
{
	struct spop_smime_result r;
	struct run w = {.cms = "det-noattr.p7s",
			.content = "content.txt",
			.anchor = {"ca"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	check_good(&r, "rsa", "SHA-256", "RSA");
	CU_ASSERT_EQUAL(r.signers[0].signing_time, 0);
	engine_clear(&r);

	w.content = "tampered.txt";
	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 0);
	CU_ASSERT_TRUE(
	    status_has(&r.signers[0], "signature does not match the content"));
	CU_ASSERT_EQUAL(r.verified, 0);
	engine_clear(&r);
}

static void test_ecdsa(void)
{
	struct spop_smime_result r;
	struct run w256 = {
	    .cms = "det-ec256.p7s", .content = "content.txt", .anchor = {"ca"}};
	struct run w384 = {
	    .cms = "det-ec384.p7s", .content = "content.txt", .anchor = {"ca"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w256, &r), 0);
	check_good(&r, "ec256", "SHA-256", "ECDSA");
	engine_clear(&r);
	CU_ASSERT_EQUAL_FATAL(verify(&w384, &r), 0);
	check_good(&r, "ec384", "SHA-384", "ECDSA");
	engine_clear(&r);
}

/* ECDSA over a changed content, and with a changed signature value. */
static void test_ecdsa_bad(void)
{
	static const char *const f[][3] = {
	    {"det-ec256.p7s", "tampered.txt", "ec256"},
	    {"det-ec384.p7s", "tampered.txt", "ec384"},
	    {"det-ec256-badsig.p7s", "content.txt", "ec256"}};
	struct spop_smime_result r;

	for (size_t i = 0; i < G_N_ELEMENTS(f); i++) {
		struct run w = {
		    .cms = f[i][0], .content = f[i][1], .anchor = {"ca"}};
		char *der = g_strdup_printf("%s.der", f[i][2]);

		CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
		CU_ASSERT_EQUAL_FATAL(r.n_signers, 1);
		CU_ASSERT_EQUAL(r.signers[0].signature_ok, 0);
		CU_ASSERT_TRUE(status_has(&r.signers[0], "does not match"));
		CU_ASSERT_STRING_EQUAL(r.signers[0].signature_algorithm,
				       "ECDSA");
		CU_ASSERT_EQUAL(r.signers[0].trusted, 1);
		CU_ASSERT_TRUE(same_as_file(r.signers[0].cert_der,
					    r.signers[0].cert_der_len, der));
		CU_ASSERT_EQUAL(r.verified, 0);
		engine_clear(&r);
		g_free(der);
	}
}

static void test_rsa_pss(void)
{
	static const char *const f[][2] = {
	    {"det-pss-auto.p7s", "SHA-256"}, {"det-pss-32.p7s", "SHA-256"},
	    {"det-pss-64.p7s", "SHA-256"},   {"det-pss384-auto.p7s", "SHA-384"},
	    {"det-pss512-0.p7s", "SHA-512"}, {"det-pss224.p7s", "SHA-224"}};
	struct spop_smime_result r;

	for (size_t i = 0; i < G_N_ELEMENTS(f); i++) {
		struct run w = {
		    .cms = f[i][0], .content = "content.txt", .anchor = {"ca"}};

		CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
		if (r.n_signers == 1 && !r.signers[0].signature_ok)
			fprintf(stderr, "\n  %s: ", f[i][0]);
		check_good(&r, "rsa", f[i][1], "RSA-PSS");
		engine_clear(&r);

		/* And PSS still notices a changed content. */
		w.content = "tampered.txt";
		CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
		CU_ASSERT_EQUAL(r.signers[0].signature_ok, 0);
		CU_ASSERT_EQUAL(r.verified, 0);
		engine_clear(&r);
	}
}

/* RSA-PSS over SHA-1 is weak like any SHA-1 signature. */
static void test_rsa_pss_sha1(void)
{
	struct spop_smime_result r;
	struct run w = {
	    .cms = "det-pss1.p7s", .content = "content.txt", .anchor = {"ca"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.n_signers, 1);
	CU_ASSERT_EQUAL(r.signers[0].weak, 1);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 0);
	CU_ASSERT_TRUE(status_has(&r.signers[0], "weak digest SHA-1 refused"));
	CU_ASSERT_STRING_EQUAL(r.signers[0].signature_algorithm, "RSA-PSS");
	engine_clear(&r);

	w.allow_weak = 1;
	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 1);
	CU_ASSERT_EQUAL(r.signers[0].trusted, 1);
	CU_ASSERT_STRING_EQUAL(r.signers[0].status, "OK (weak digest allowed)");
	engine_clear(&r);

	w.content = "tampered.txt";
	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 0);
	CU_ASSERT_TRUE(status_has(&r.signers[0], "does not match"));
	engine_clear(&r);
}

/* MGF1 over another hash than the signature's: GnuTLS cannot check it,
 * and the engine says so rather than calling it good or tampered. */
static void test_rsa_pss_other_mgf(void)
{
	struct spop_smime_result r;
	struct run w = {.cms = "det-pss-mgf384.p7s",
			.content = "content.txt",
			.anchor = {"ca"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.n_signers, 1);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 0);
	CU_ASSERT_TRUE(status_has(&r.signers[0],
				  "MGF1 over SHA-384 and hash SHA-256 is not "
				  "supported"));
	CU_ASSERT_EQUAL(r.signers[0].trusted, 1);
	CU_ASSERT_EQUAL(r.verified, 0);
	engine_clear(&r);
}

/* RSA-PSS in BER with indefinite lengths, good and tampered. */
static void test_rsa_pss_ber(void)
{
	struct spop_smime_result r;
	struct run w = {.cms = "det-ber-pss64.p7s",
			.content = "content.txt",
			.anchor = {"ca"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	check_good(&r, "rsa", "SHA-256", "RSA-PSS");
	engine_clear(&r);
	w.content = "tampered.txt";
	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 0);
	engine_clear(&r);
}

/* A signer under an intermediate the message carries: trusted with the
 * root as the only anchor. */
static void test_intermediate(void)
{
	struct spop_smime_result r;
	struct run w = {
	    .cms = "det-leaf.p7s", .content = "content.txt", .anchor = {"ca"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	check_good(&r, "leaf", "SHA-256", "RSA");
	CU_ASSERT_EQUAL(r.n_chain, 2);
	engine_clear(&r);
}

/* Two SignerInfos (their order is the DER SET's): each reported. */
static void test_two_signers(void)
{
	struct spop_smime_result r;
	struct run w = {
	    .cms = "det-two.p7s", .content = "content.txt", .anchor = {"ca"}};
	size_t rsa, ec;

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.n_signers, 2);
	rsa = strcmp(r.signers[0].signature_algorithm, "RSA") == 0 ? 0 : 1;
	ec = 1 - rsa;
	CU_ASSERT_STRING_EQUAL(r.signers[rsa].signature_algorithm, "RSA");
	CU_ASSERT_STRING_EQUAL(r.signers[ec].signature_algorithm, "ECDSA");
	for (size_t i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(r.signers[i].signature_ok, 1);
		CU_ASSERT_EQUAL(r.signers[i].trusted, 1);
		CU_ASSERT_STRING_EQUAL(r.signers[i].status, "OK");
	}
	CU_ASSERT_TRUE(same_as_file(r.signers[rsa].cert_der,
				    r.signers[rsa].cert_der_len, "rsa.der"));
	CU_ASSERT_TRUE(same_as_file(r.signers[ec].cert_der,
				    r.signers[ec].cert_der_len, "ec256.der"));
	CU_ASSERT_TRUE(same_as_file(r.signer_der, r.signer_der_len,
				    rsa == 0 ? "rsa.der" : "ec256.der"));
	CU_ASSERT_EQUAL(r.n_chain, 2);
	CU_ASSERT_EQUAL(r.verified, 1);
	engine_clear(&r);
}

/* -nocerts: the signer's certificate only from SignerCert*. */
static void test_signer_cert_given(void)
{
	struct spop_smime_result r;
	struct run w = {.cms = "det-nocerts.p7s",
			.content = "content.txt",
			.anchor = {"ca"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.n_signers, 1);
	CU_ASSERT_EQUAL(r.n_chain, 0);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 0);
	CU_ASSERT_EQUAL(r.signers[0].trusted, 0);
	CU_ASSERT_PTR_NULL(r.signers[0].cert_der);
	CU_ASSERT_PTR_NULL(r.signer_der);
	CU_ASSERT_TRUE(status_has(&r.signers[0], "signer certificate not "
						 "found"));
	CU_ASSERT_EQUAL(r.verified, 0);
	engine_clear(&r);

	/* A SignerCert* that is not the signer's does not help. */
	w.signer_cert = "rsa2";
	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 0);
	CU_ASSERT_PTR_NULL(r.signers[0].cert_der);
	engine_clear(&r);

	w.signer_cert = "rsa";
	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	check_good(&r, "rsa", "SHA-256", "RSA");
	engine_clear(&r);
}

/* ---- bad signatures, untrusted signers ---------------------------------- */

static void expect_bad(const char *cms, const char *content, const char *words)
{
	struct spop_smime_result r;
	struct run w = {.cms = cms, .content = content, .anchor = {"ca"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.n_signers, 1);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 0);
	CU_ASSERT_TRUE(status_has(&r.signers[0], words));
	/* The certificate is still the trusted signer's: the verdicts are
	 * apart. */
	CU_ASSERT_EQUAL(r.signers[0].trusted, 1);
	CU_ASSERT_TRUE(same_as_file(r.signers[0].cert_der,
				    r.signers[0].cert_der_len, "rsa.der"));
	CU_ASSERT_EQUAL(r.verified, 0);
	engine_clear(&r);
}

static void test_tampered_content(void)
{
	expect_bad("det-sha256.p7s", "tampered.txt",
		   "signature does not match the content");
	expect_bad("certtool-det.p7s", "tampered.txt",
		   "signature does not match the content");
}

static void test_tampered_encapsulated(void)
{
	expect_bad("op-tampered.p7m", NULL,
		   "signature does not match the content");
}

/* op-sha256.p7m and op-tampered.p7m re-encoded by ber-mix.py
 * (make-smime-signed.sh): mixed definite and indefinite lengths, the
 * content in definite and indefinite chunks, an empty chunk. The engine
 * finds the content where it lies in each: the same content and verdict
 * as the DER original. */
static void test_ber_opaque(void)
{
	struct spop_smime_result r;
	size_t len;
	unsigned char *want = slurp("content.txt", &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	for (char v = 'a'; v <= 'f'; v++) {
		char *good = g_strdup_printf("ber-op-%c.der", v);
		char *bad = g_strdup_printf("ber-optamp-%c.der", v);
		struct run w = {.cms = good, .content = NULL, .anchor = {"ca"}};
		size_t vlen;
		unsigned char *variant = slurp(good, &vlen);

		/* a variant, not the original again */
		CU_ASSERT_PTR_NOT_NULL_FATAL(variant);
		CU_ASSERT_FALSE(same_as_file(variant, vlen, "op-sha256.p7m"));
		g_free(variant);
		CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
		check_good(&r, "rsa", "SHA-256", "RSA");
		CU_ASSERT_TRUE(r.content && r.content_len == len &&
			       memcmp(r.content, want, len) == 0);
		engine_clear(&r);
		expect_bad(bad, NULL, "signature does not match the content");
		g_free(good);
		g_free(bad);
	}
	g_free(want);
}

/* Peak memory of a 32 MB opaque message: the message and the content
 * returned, about twice its size, not the copies libtasn1's and GnuTLS's
 * trees would make (the engine cuts the content out before they decode).
 * Measured in a child process, whose high-water mark starts at its own
 * size. Under ASan freed memory stays in quarantine, so the bound is not
 * checked there (said on stderr). */
static void test_memory(void)
{
	const size_t big = 32u << 20;
	char *in = path("big.bin"), *out = path("big.p7m"),
	     *crt = path("rsa.crt"), *key = path("rsa.key");
	char *argv[] = {"openssl",   "cms",	 "-sign", "-binary",
			"-nodetach", "-outform", "DER",	  "-in",
			in,	     "-out",	 out,	  "-signer",
			crt,	     "-inkey",	 key,	  NULL};
	unsigned char *data = g_malloc(big);

	for (size_t i = 0; i < big; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	CU_ASSERT_FATAL(
	    g_file_set_contents(in, (char *)data, (gssize)big, NULL));
	CU_ASSERT_EQUAL_FATAL(run_out(argv, NULL), 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct spop_smime_result r;
		struct run w = {.cms = "big.p7m", .anchor = {"ca"}};
		long before = status_kb("VmRSS:");
		int rc = verify(&w, &r);
		long peak = status_kb("VmHWM:");
		bool same = rc == 0 && r.verified == 1 &&
			    r.content_len == big &&
			    memcmp(r.content, data, big) == 0;
		_exit(peak_verdict("32 MB opaque message", same, before, peak,
				   (long)(big / 1024) * 5 / 2));
	}
	int status = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	g_free(data);
	unlink(in);
	unlink(out);
	g_free(in);
	g_free(out);
	g_free(crt);
	g_free(key);
}

static void test_tampered_signature(void)
{
	expect_bad("det-badsig.p7s", "content.txt",
		   "signature does not match the signed attributes");
}

static void test_tampered_pss_signature(void)
{
	expect_bad("det-pss-badsig.p7s", "content.txt",
		   "signature does not match the signed attributes");
}

static void test_tampered_attributes(void)
{
	expect_bad("det-badattr.p7s", "content.txt",
		   "signature does not match the signed attributes");
}

static void test_missing_message_digest(void)
{
	expect_bad("det-nomd.p7s", "content.txt",
		   "messageDigest attribute missing");
}

/* RSA-PSS is checked here, not by GnuTLS: the same attribute checks. */
static void test_pss_content_type(void)
{
	expect_bad("det-pss-badct.p7s", "content.txt", "contentType attribute");
}

static void test_two_signers_one_bad(void)
{
	struct spop_smime_result r;
	struct run w = {.cms = "det-two-onebad.p7s",
			.content = "content.txt",
			.anchor = {"ca"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.n_signers, 2);
	/* The flipped byte ends the file: the second SignerInfo's. */
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 1);
	CU_ASSERT_STRING_EQUAL(r.signers[0].status, "OK");
	CU_ASSERT_EQUAL(r.signers[1].signature_ok, 0);
	CU_ASSERT_TRUE(status_has(&r.signers[1], "does not match"));
	CU_ASSERT_EQUAL(r.signers[1].trusted, 1);
	CU_ASSERT_EQUAL(r.verified, 0);
	engine_clear(&r);
}

static void test_untrusted(void)
{
	struct spop_smime_result r;
	struct run other = {.cms = "det-sha256.p7s",
			    .content = "content.txt",
			    .anchor = {"other"}};
	struct run none = {.cms = "det-sha256.p7s",
			   .content = "content.txt",
			   .anchor = {NULL}};
	const struct run *runs[] = {&other, &none};

	for (size_t i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL_FATAL(verify(runs[i], &r), 0);
		CU_ASSERT_EQUAL_FATAL(r.n_signers, 1);
		CU_ASSERT_EQUAL(r.signers[0].signature_ok, 1);
		CU_ASSERT_EQUAL(r.signers[0].trusted, 0);
		CU_ASSERT_EQUAL(r.signers[0].trust_failures,
				SPOP_CERT_FAIL_UNKNOWN_CA);
		CU_ASSERT_TRUE(status_has(&r.signers[0], "not trusted"));
		/* verified is the signatures' verdict; trust is apart. */
		CU_ASSERT_EQUAL(r.verified, 1);
		engine_clear(&r);
	}
}

static void test_expired(void)
{
	struct spop_smime_result r;
	struct run w = {.cms = "det-expired.p7s",
			.content = "content.txt",
			.anchor = {"ca"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.n_signers, 1);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 1);
	CU_ASSERT_EQUAL(r.signers[0].trusted, 0);
	CU_ASSERT_EQUAL(r.signers[0].trust_failures, SPOP_CERT_FAIL_TIME);
	CU_ASSERT_TRUE(status_has(&r.signers[0], "expired"));
	CU_ASSERT_TRUE(same_as_file(r.signers[0].cert_der,
				    r.signers[0].cert_der_len, "expired.der"));
	engine_clear(&r);

	/* At a time inside its validity (and the CA's: made today, so
	 * that time is only for the signer; the CA then fails instead). */
	w.verify_time = 1577836800; /* 2020-01-01 */
	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 1);
	CU_ASSERT_EQUAL(r.signers[0].trust_failures, SPOP_CERT_FAIL_TIME);
	engine_clear(&r);

	/* And a good signer checked at a time after its expiry. */
	struct run later = {.cms = "det-sha256.p7s",
			    .content = "content.txt",
			    .anchor = {"ca"}};
	later.verify_time = (int64_t)time(NULL) + 3650LL * 86400;
	CU_ASSERT_EQUAL_FATAL(verify(&later, &r), 0);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 1);
	CU_ASSERT_EQUAL(r.signers[0].trusted, 0);
	CU_ASSERT_TRUE(r.signers[0].trust_failures & SPOP_CERT_FAIL_TIME);
	engine_clear(&r);
}

static void test_weak(void)
{
	struct spop_smime_result r;
	struct run w = {
	    .cms = "det-sha1.p7s", .content = "content.txt", .anchor = {"ca"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.n_signers, 1);
	CU_ASSERT_EQUAL(r.signers[0].weak, 1);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 0);
	CU_ASSERT_TRUE(status_has(&r.signers[0], "weak"));
	CU_ASSERT_STRING_EQUAL(r.signers[0].digest_algorithm, "SHA-1");
	CU_ASSERT_EQUAL(r.verified, 0);
	engine_clear(&r);

	w.allow_weak = 1;
	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL(r.signers[0].weak, 1);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 1);
	CU_ASSERT_EQUAL(r.signers[0].trusted, 1);
	CU_ASSERT_TRUE(status_has(&r.signers[0], "weak"));
	CU_ASSERT_EQUAL(r.verified, 1);
	engine_clear(&r);

	/* Allowed weak is still checked. */
	w.content = "tampered.txt";
	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 0);
	CU_ASSERT_TRUE(status_has(&r.signers[0], "does not match"));
	engine_clear(&r);
}

/* MD5: refused unless allowed, then checked like any other. */
static void test_md5(void)
{
	struct spop_smime_result r;
	struct run w = {
	    .cms = "det-md5.p7s", .content = "content.txt", .anchor = {"ca"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.n_signers, 1);
	CU_ASSERT_STRING_EQUAL(r.signers[0].digest_algorithm, "MD5");
	CU_ASSERT_EQUAL(r.signers[0].weak, 1);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 0);
	CU_ASSERT_TRUE(status_has(&r.signers[0], "weak digest MD5 refused"));
	CU_ASSERT_EQUAL(r.verified, 0);
	engine_clear(&r);

	w.allow_weak = 1;
	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL(r.signers[0].weak, 1);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 1);
	CU_ASSERT_EQUAL(r.signers[0].trusted, 1);
	CU_ASSERT_STRING_EQUAL(r.signers[0].status, "OK (weak digest allowed)");
	CU_ASSERT_STRING_EQUAL(r.algorithm, "MD5");
	CU_ASSERT_EQUAL(r.verified, 1);
	engine_clear(&r);

	w.content = "tampered.txt";
	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 0);
	CU_ASSERT_TRUE(status_has(&r.signers[0], "does not match"));
	CU_ASSERT_EQUAL(r.verified, 0);
	engine_clear(&r);
}

/* ---- revocation, the system store, key usage ---------------------------- */

/* A signer its CA's CRL revokes: the signature holds, the signer is not
 * trusted, and only for that reason. */
static void test_crl_revoked(void)
{
	struct spop_smime_result r;
	struct run w = {.cms = "det-rsa2.p7s",
			.content = "content.txt",
			.anchor = {"ca"},
			.crl = {"crl-ca.der"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.n_signers, 1);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 1);
	CU_ASSERT_EQUAL(r.signers[0].trusted, 0);
	CU_ASSERT_EQUAL(r.signers[0].trust_failures, SPOP_CERT_FAIL_REVOCATION);
	CU_ASSERT_TRUE(status_has(&r.signers[0], "not trusted"));
	CU_ASSERT_TRUE(status_has(&r.signers[0], "revoked by CRL 1 given"));
	CU_ASSERT_TRUE(same_as_file(r.signers[0].cert_der,
				    r.signers[0].cert_der_len, "rsa2.der"));
	CU_ASSERT_EQUAL(r.verified, 1);
	engine_clear(&r);

	/* Without the CRL the same signer is trusted: the CRL decided. */
	w.crl[0] = NULL;
	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	check_good(&r, "rsa2", "SHA-256", "RSA");
	engine_clear(&r);
}

/* The same CRL, and one of another CA listing rsa's serial, leave rsa
 * trusted: a CRL speaks only for certificates its issuer issued. */
static void test_crl_not_revoked(void)
{
	struct spop_smime_result r;
	struct run w = {.cms = "det-sha256.p7s",
			.content = "content.txt",
			.anchor = {"ca"},
			.crl = {"crl-ca.der", "crl-other.der"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	check_good(&r, "rsa", "SHA-256", "RSA");
	engine_clear(&r);
}

/* An intermediate's CRL revokes the leaf under it; the root's does not. */
static void test_crl_intermediate(void)
{
	struct spop_smime_result r;
	struct run w = {.cms = "det-leaf.p7s",
			.content = "content.txt",
			.anchor = {"ca"},
			.crl = {"crl-ca.der", "crl-inter.der"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.n_signers, 1);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 1);
	CU_ASSERT_EQUAL(r.signers[0].trusted, 0);
	CU_ASSERT_EQUAL(r.signers[0].trust_failures, SPOP_CERT_FAIL_REVOCATION);
	CU_ASSERT_TRUE(status_has(&r.signers[0], "revoked by CRL 2 given"));
	CU_ASSERT_TRUE(status_has(&r.signers[0], "CN=leaf"));
	engine_clear(&r);

	w.crl[1] = NULL;
	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	check_good(&r, "leaf", "SHA-256", "RSA");
	engine_clear(&r);
}

/* A CRL in ca's name that ca did not sign revokes nothing, and leaves the
 * status unknown: not trusted. */
static void test_crl_forged(void)
{
	struct spop_smime_result r;
	struct run w = {.cms = "det-sha256.p7s",
			.content = "content.txt",
			.anchor = {"ca"},
			.crl = {"crl-forged.der"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.n_signers, 1);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 1);
	CU_ASSERT_EQUAL(r.signers[0].trusted, 0);
	CU_ASSERT_EQUAL(r.signers[0].trust_failures, SPOP_CERT_FAIL_REVOCATION);
	CU_ASSERT_TRUE(
	    status_has(&r.signers[0], "CRL 1 given does not verify"));
	engine_clear(&r);
}

/* A CRL that is not one is an error naming it, not a CRL passed over. */
static void test_crl_unreadable(void)
{
	struct spop_smime_result r;
	struct run w = {.cms = "det-sha256.p7s",
			.content = "content.txt",
			.anchor = {"ca"},
			.crl = {"crl-ca.der", "content.txt"}};

	CU_ASSERT_EQUAL(verify(&w, &r), 284);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "CRL 2 of the 2"));
	CU_ASSERT_PTR_NULL(r.signers);
	CU_ASSERT_EQUAL(r.n_signers, 0);
	engine_clear(&r);
}

/* The system store is a set of anchors too: our private CA is not in it,
 * so a signer under it is untrusted for that reason (not for lack of
 * anchors); with ca given as well, the two sets together trust it. */
static void test_system_trust(void)
{
	struct spop_smime_result r;
	struct run w = {.cms = "det-sha256.p7s",
			.content = "content.txt",
			.use_system_trust = 1};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.n_signers, 1);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 1);
	CU_ASSERT_EQUAL(r.signers[0].trusted, 0);
	CU_ASSERT_EQUAL(r.signers[0].trust_failures, SPOP_CERT_FAIL_UNKNOWN_CA);
	CU_ASSERT_TRUE(status_has(&r.signers[0], "not trusted"));
	CU_ASSERT_PTR_NULL(strstr(r.signers[0].status, "no trust anchor"));
	CU_ASSERT_PTR_NULL(strstr(r.signers[0].status, "system trust store"));
	engine_clear(&r);

	w.anchor[0] = "ca";
	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	check_good(&r, "rsa", "SHA-256", "RSA");
	engine_clear(&r);
}

/* keyUsage without digitalSignature and nonRepudiation: the signature is
 * the key's, the certificate is not for signing. */
static void test_key_usage(void)
{
	struct spop_smime_result r;
	struct run w = {
	    .cms = "det-noks.p7s", .content = "content.txt", .anchor = {"ca"}};

	CU_ASSERT_EQUAL_FATAL(verify(&w, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.n_signers, 1);
	CU_ASSERT_EQUAL(r.signers[0].signature_ok, 1);
	CU_ASSERT_EQUAL(r.signers[0].trusted, 0);
	CU_ASSERT_EQUAL(r.signers[0].trust_failures, SPOP_CERT_FAIL_USAGE);
	CU_ASSERT_TRUE(
	    status_has(&r.signers[0], "certificate not for e-mail signing"));
	CU_ASSERT_TRUE(same_as_file(r.signers[0].cert_der,
				    r.signers[0].cert_der_len, "noks.der"));
	engine_clear(&r);
}

/* ---- malformed input ---------------------------------------------------- */

static void test_malformed(void)
{
	struct spop_smime_result r;
	struct run garbage = {
	    .cms = "content.txt", .content = "content.txt", .anchor = {"ca"}};
	struct run nocontent = {
	    .cms = "det-sha256.p7s", .content = NULL, .anchor = {"ca"}};
	struct spop_smime_keys keys = {.size = sizeof(keys)};
	size_t len;
	unsigned char *cut = slurp("det-sha256.p7s", &len);

	CU_ASSERT_EQUAL(verify(&garbage, &r), 284);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "SignedData"));
	CU_ASSERT_EQUAL(r.n_signers, 0);
	CU_ASSERT_PTR_NULL(r.signers);
	engine_clear(&r);

	CU_ASSERT_EQUAL(verify(&nocontent, &r), 284);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "detached"));
	CU_ASSERT_PTR_NULL(r.signers);
	engine_clear(&r);

	/* Cut off in the middle. */
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	CU_ASSERT_EQUAL(engine_verify(cut, len / 2, NULL, 0, &keys, &r), 284);
	engine_clear(&r);
	g_free(cut);
}

/* ---- suite -------------------------------------------------------------- */

static int suite_init(void)
{
	GError *e = NULL;

	if (setup())
		return 1;
	dir = g_dir_make_tmp("spop-smime-verify-XXXXXX", &e);
	if (!dir) {
		fprintf(stderr, "temporary directory: %s\n", e->message);
		g_error_free(e);
		return 1;
	}
	char *argv[] = {"bash", DATA_SCRIPT, dir, NULL};
	if (run_out(argv, NULL) != 0) {
		char *rm[] = {"rm", "-rf", dir, NULL};

		/* CUnit does not clean up after a failed init. */
		fprintf(stderr, "make-smime-signed.sh failed\n");
		run_out(rm, NULL);
		return 1;
	}
	spi_host_init(&host, s, NULL);
	h = &host.pub;
	return engine_load();
}

static int suite_clean(void)
{
	char *argv[] = {"rm", "-rf", dir, NULL};

	if (dir)
		run_out(argv, NULL);
	g_free(dir);
	return teardown();
}

static const struct test_case cases[] = {
    {"the engine is the cms module", test_module},
    {"SHA-224/256/384/512 detached", test_digests},
    {"opaque: content returned (openssl, certtool)", test_opaque},
    {"opaque: an empty eContent is empty content", test_opaque_empty},
    {"certtool detached SHA-384", test_certtool_detached},
    {"NSS cmsutil", test_nss},
    {"no signed attributes", test_no_signed_attributes},
    {"ECDSA P-256/P-384", test_ecdsa},
    {"ECDSA tampered content and signature", test_ecdsa_bad},
    {"RSA-PSS salts and hashes", test_rsa_pss},
    {"RSA-PSS over SHA-1 is weak", test_rsa_pss_sha1},
    {"RSA-PSS with another MGF1 hash", test_rsa_pss_other_mgf},
    {"RSA-PSS salt 64 in BER", test_rsa_pss_ber},
    {"intermediate in the message", test_intermediate},
    {"two signers", test_two_signers},
    {"signer certificate from SignerCert*", test_signer_cert_given},
    {"tampered content", test_tampered_content},
    {"tampered encapsulated content", test_tampered_encapsulated},
    {"opaque BER variants: lengths, chunks, empty chunk", test_ber_opaque},
    {"32 MB opaque: peak memory about twice the message", test_memory},
    {"tampered signature", test_tampered_signature},
    {"tampered RSA-PSS signature", test_tampered_pss_signature},
    {"tampered signed attributes", test_tampered_attributes},
    {"missing messageDigest", test_missing_message_digest},
    {"RSA-PSS with a wrong contentType", test_pss_content_type},
    {"two signers, one bad", test_two_signers_one_bad},
    {"untrusted signer", test_untrusted},
    {"expired signer, verify time", test_expired},
    {"weak SHA-1, allowed and not", test_weak},
    {"weak MD5, allowed and not", test_md5},
    {"CRL revokes the signer", test_crl_revoked},
    {"CRLs that do not revoke the signer", test_crl_not_revoked},
    {"intermediate's CRL", test_crl_intermediate},
    {"forged CRL", test_crl_forged},
    {"unreadable CRL is 284", test_crl_unreadable},
    {"system trust store", test_system_trust},
    {"keyUsage without signing", test_key_usage},
    {"malformed input is 284", test_malformed},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"plugin-smime-verify", suite_init, suite_clean, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return test_run(suites);
}
