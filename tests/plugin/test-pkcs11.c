/* The cert-store plugin pkcs11 (CertStoreType 23), chosen through the
 * registry and driven through the core's own host, against a private
 * SoftHSM2 token that make-token.sh makes at test time (an RSA and an EC
 * key with their certificates, made by openssl). Every result is checked
 * against what the tools say: certificates against openssl's DER,
 * signatures by GnuTLS with the certificate's public key, decryption
 * against `openssl pkeyutl -encrypt`'s plaintext, ECDH against `openssl
 * pkeyutl -derive` computed with the peer's private key. SoftHSM runs with
 * a private configuration (SOFTHSM2_CONF); a missing SoftHSM fails the
 * suite. */
#include "suite-data.h"
#include "test-runner.h"

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "spop-private.h"

#include "fixture-setup.h"

#ifndef TOKEN_SCRIPT
#error "TOKEN_SCRIPT must name make-token.sh"
#endif

#define TOKEN	"spop test"
#define TOKEN_U "spop%20test" /* in a URI */
#define PIN	"123456"
#define PKCS11	23

static char *module;
static struct spi_host host;
static struct spop_host *h;
static const struct spop_certstore_ops *p11;

/* ---- helpers ------------------------------------------------------------ */

static int open_store(const char *store, const char *pin, void **st)
{
	*st = NULL;
	return p11->open(h, PKCS11, (const unsigned char *)store, strlen(store),
			 pin, st);
}

static bool der_is(const struct spop_cert_entry *e, const char *name)
{
	size_t len;
	unsigned char *want = slurp(name, &len);
	bool same = want && e->der && e->der_len == len &&
		    memcmp(e->der, want, len) == 0;

	g_free(want);
	return same;
}

/* The entry of the store whose certificate is the DER file name; NULL
 * when none is. The token's order is its own (SoftHSM's object files are
 * named by UUID), so entries are found, never counted on by index. */
static void *entry_of(void *st, const char *name, struct spop_cert_entry *e)
{
	for (size_t i = 0;; i++) {
		memset(e, 0, sizeof(*e));
		if (p11->entry(h, st, i, e) != 0)
			return NULL;
		if (der_is(e, name))
			return e;
	}
}

static size_t n_entries(void *st)
{
	struct spop_cert_entry e;
	size_t n = 0;

	while (p11->entry(h, st, n, &e) == 0)
		n++;
	return n;
}

/* The store holds exactly the certificates named (DER files), each with a
 * key when keyed. */
static void check_entries(void *st, const char *what, const char *const *names,
			  size_t n, bool keyed)
{
	struct spop_cert_entry e;
	char past[32];

	CU_ASSERT_EQUAL(n_entries(st), n);
	for (size_t i = 0; i < n; i++) {
		bool found = entry_of(st, names[i], &e) != NULL;

		if (!found)
			fprintf(stderr, "\n  %s: no entry is %s\n", what,
				names[i]);
		CU_ASSERT_TRUE(found);
		if (found) {
			CU_ASSERT_EQUAL(e.size, sizeof(e));
			CU_ASSERT_EQUAL(e.key != NULL, keyed);
		}
	}
	snprintf(past, sizeof(past), "No entry %zu", n);
	CU_ASSERT_EQUAL(p11->entry(h, st, n, &e), 272);
	CU_ASSERT_TRUE(error_is(272, past, "'" TOKEN "'", NULL));
}

static const char *const both[] = {"token/rsa.der", "token/ec.der"};

/* The key of the entry with certificate name, from a store opened by
 * module path with the right PIN. */
static void *key_of(void *st, const char *name, struct spop_cert_entry *e)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(entry_of(st, name, e));
	CU_ASSERT_PTR_NOT_NULL_FATAL(e->key);
	return e->key;
}

/* ---- suite setup -------------------------------------------------------- */

static int suite_init(void)
{
	const struct spop_plugin_descriptor *d = NULL;
	char *out = NULL, *conf;
	GError *e = NULL;

	if (setup())
		return 1;
	dir = g_dir_make_tmp("spop-pkcs11-XXXXXX", &e);
	if (!dir) {
		fprintf(stderr, "temporary directory: %s\n", e->message);
		g_error_free(e);
		return 1;
	}
	char *tokdir = path("token");
	char *argv[] = {"bash", TOKEN_SCRIPT, tokdir, TOKEN, PIN, NULL};
	int rc = run_out(argv, &out);

	g_free(tokdir);
	if (rc != 0 || !out || !*out) {
		fprintf(stderr, "FAIL: make-token.sh could not make the "
				"SoftHSM token (softhsm2, p11tool, openssl "
				"needed)\n");
		return 1;
	}
	conf = g_strstrip(out);
	g_setenv("SOFTHSM2_CONF", conf, TRUE);
	g_free(out);
	char *mp = path("token/module");
	if (!g_file_get_contents(mp, &module, NULL, NULL)) {
		fprintf(stderr, "no token/module\n");
		g_free(mp);
		return 1;
	}
	g_free(mp);
	g_strstrip(module);
	/* a second token, empty: the store must pick the one with
	 * certificates when CertStore names none */
	char *empty[] = {"softhsm2-util", "--init-token",
			 "--free",	  "--label",
			 "empty one",	  "--pin",
			 "654321",	  "--so-pin",
			 "so-654321",	  NULL};
	out = NULL;
	rc = run_out(empty, &out);
	g_free(out);
	if (rc != 0)
		return 1;

	/* what openssl makes for the key operations to undo or match */
	char *cmds[][16] = {
	    {"openssl", "rand", "-out", "plain.bin", "48", NULL},
	    {"openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey",
	     "token/rsa.pub", "-in", "plain.bin", "-out", "enc-pkcs1.bin",
	     NULL},
	    {"openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey",
	     "token/rsa.pub", "-in", "plain.bin", "-out", "enc-oaep-sha1.bin",
	     "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt",
	     "rsa_oaep_md:sha1", NULL},
	    {"openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey",
	     "token/rsa.pub", "-in", "plain.bin", "-out", "enc-oaep-sha256.bin",
	     "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt",
	     "rsa_oaep_md:sha256", NULL},
	    {"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
	     "ec_paramgen_curve:P-256", "-out", "peer.key", NULL},
	    {"openssl", "pkey", "-in", "peer.key", "-pubout", "-out",
	     "peer.pub", NULL},
	    {"openssl", "pkeyutl", "-derive", "-inkey", "peer.key", "-peerkey",
	     "token/ec.pub", "-out", "ecdh.bin", NULL},
	    {"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
	     "ec_paramgen_curve:P-384", "-out", "peer384.key", NULL},
	    {"openssl", "pkey", "-in", "peer384.key", "-pubout", "-out",
	     "peer384.pub", NULL},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++)
		if (run_out(cmds[i], NULL) != 0)
			return 1;

	if (spi_plugin_select(s, SPOP_PLUGIN_CERTSTORE, "SSLCertStoreType",
			      PKCS11, &d) != 0 ||
	    !d || strcmp(d->name, "pkcs11") != 0) {
		fprintf(stderr, "no pkcs11 plugin: %s\n", error_text());
		return 1;
	}
	p11 = d->ops;
	spi_host_init(&host, s, NULL);
	h = &host.pub;
	return 0;
}

static int suite_clean(void)
{
	if (dir) {
		char *argv[] = {"rm", "-rf", dir, NULL};

		run_out(argv, NULL);
		g_free(dir);
	}
	g_free(module);
	return teardown();
}

/* ---- descriptor, selection, probe --------------------------------------- */

static void test_descriptor(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	CU_ASSERT_EQUAL_FATAL(spi_plugin_select(s, SPOP_PLUGIN_CERTSTORE,
						"CertStoreType", PKCS11, &d),
			      0);
	CU_ASSERT_STRING_EQUAL(d->name, "pkcs11");
	CU_ASSERT_EQUAL(d->abi_major, SPOP_PLUGIN_ABI_MAJOR);
	CU_ASSERT_EQUAL(d->abi_minor, 1);
	CU_ASSERT_EQUAL(d->kind, SPOP_PLUGIN_CERTSTORE);
	CU_ASSERT_EQUAL(d->n_selectors, 1);
	CU_ASSERT_EQUAL(d->selectors[0], PKCS11);
	/* keys, but no blobs: CertStore names a token */
	CU_ASSERT_EQUAL(d->capabilities, SPOP_CAP_CERTSTORE_PRIVATE_KEYS);
	const struct spop_certstore_ops *o = d->ops;
	CU_ASSERT_TRUE(SPOP_OPS_HAS(struct spop_certstore_ops, o, key_derive));
	CU_ASSERT_TRUE(SPOP_OPS_HAS(struct spop_certstore_ops, o, key_export));
	CU_ASSERT_TRUE(SPOP_OPS_HAS(struct spop_certstore_ops, o, probe));
	CU_ASSERT_TRUE(mapped("spop-certstore-pkcs11.so"));

	/* another type is refused */
	void *st = NULL;
	CU_ASSERT_EQUAL(p11->open(h, 6, (const unsigned char *)module,
				  strlen(module), PIN, &st),
			271);
	CU_ASSERT_TRUE(error_is(271, "23", "not 6", NULL));
	CU_ASSERT_PTR_NULL(st);
}

static void test_probe(void)
{
	size_t len;
	unsigned char *der = slurp("token/rsa.der", &len);
	char *uri =
	    g_strdup_printf("pkcs11:token=%s;module-path=%s", TOKEN_U, module);

	/* Auto never picks a token, whatever it is shown */
	CU_ASSERT_EQUAL(
	    p11->probe(h, (unsigned char *)module, strlen(module), 1), 0);
	CU_ASSERT_EQUAL(p11->probe(h, (unsigned char *)uri, strlen(uri), 0), 0);
	CU_ASSERT_EQUAL(p11->probe(h, der, len, 0), 0);
	CU_ASSERT_EQUAL(p11->probe(h, NULL, 0, 0), 0);
	g_free(der);
	g_free(uri);
}

/* ---- opening ------------------------------------------------------------ */

static void test_open_module_path(void)
{
	void *st;
	int rc = open_store(module, PIN, &st);

	if (rc)
		fprintf(stderr, "\n  %s\n", error_text());
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	/* the token with certificates, not the empty one */
	check_entries(st, "module path", both, 2, true);
	p11->close(h, st);

	char *named = g_strdup_printf("%s;token=%s", module, TOKEN);
	CU_ASSERT_EQUAL_FATAL(open_store(named, PIN, &st), 0);
	check_entries(st, "module path;token=", both, 2, true);
	p11->close(h, st);
	g_free(named);

	/* the empty token by name: opens, and holds nothing */
	named = g_strdup_printf("%s;token=empty one", module);
	CU_ASSERT_EQUAL_FATAL(open_store(named, "654321", &st), 0);
	CU_ASSERT_EQUAL(n_entries(st), 0);
	CU_ASSERT_EQUAL(p11->entry(h, st, 0, &(struct spop_cert_entry){0}),
			272);
	CU_ASSERT_TRUE(error_is(272, "'empty one'", "0 certificates", NULL));
	p11->close(h, st);
	g_free(named);
}

static void test_open_uri(void)
{
	static const char *const rsa[] = {"token/rsa.der"}, *const ec[] = {
								"token/ec.der"};
	void *st;
	char *uri;

	uri =
	    g_strdup_printf("pkcs11:token=%s?module-path=%s", TOKEN_U, module);
	CU_ASSERT_EQUAL_FATAL(open_store(uri, PIN, &st), 0);
	check_entries(st, "URI", both, 2, true);
	p11->close(h, st);
	g_free(uri);

	/* object= and id= keep only those certificates */
	uri = g_strdup_printf("pkcs11:token=%s;object=rsa?module-path=%s",
			      TOKEN_U, module);
	CU_ASSERT_EQUAL_FATAL(open_store(uri, PIN, &st), 0);
	check_entries(st, "URI object=rsa", rsa, 1, true);
	p11->close(h, st);
	g_free(uri);
	uri =
	    g_strdup_printf("pkcs11:token=%s;id=%%02;type=cert?module-path=%s",
			    TOKEN_U, module);
	CU_ASSERT_EQUAL_FATAL(open_store(uri, PIN, &st), 0);
	check_entries(st, "URI id=%02", ec, 1, true);
	p11->close(h, st);
	g_free(uri);

	/* pin-value when CertStorePassword is empty */
	uri = g_strdup_printf("pkcs11:token=%s?module-path=%s&pin-value=%s",
			      TOKEN_U, module, PIN);
	CU_ASSERT_EQUAL_FATAL(open_store(uri, "", &st), 0);
	check_entries(st, "URI pin-value", both, 2, true);
	p11->close(h, st);
	g_free(uri);

	/* no module-path: the modules registered with p11-kit (Debian's
	 * softhsm2 registers its module), SoftHSM reading SOFTHSM2_CONF */
	uri = g_strdup_printf("pkcs11:token=%s", TOKEN_U);
	int rc = open_store(uri, PIN, &st);
	if (rc)
		fprintf(stderr, "\n  %s\n", error_text());
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	check_entries(st, "URI, registered module", both, 2, true);
	p11->close(h, st);
	g_free(uri);
	uri = g_strdup_printf("pkcs11:token=%s?module-name=softhsm2", TOKEN_U);
	CU_ASSERT_EQUAL_FATAL(open_store(uri, PIN, &st), 0);
	p11->close(h, st);
	g_free(uri);
	uri = g_strdup_printf("pkcs11:token=%s?module-name=no-such", TOKEN_U);
	CU_ASSERT_EQUAL(open_store(uri, PIN, &st), 271);
	CU_ASSERT_TRUE(error_is(271, "no usable module named 'no-such'", NULL));
	g_free(uri);
}

static void test_open_errors(void)
{
	void *st;
	char *v;

	/* a module that does not exist */
	v = path("no-such-module.so");
	CU_ASSERT_EQUAL(open_store(v, PIN, &st), 271);
	CU_ASSERT_TRUE(error_is(271, v, "cannot be loaded", NULL));
	CU_ASSERT_PTR_NULL(st);
	g_free(v);
	/* a file that is not a PKCS#11 module */
	v = path("plain.bin");
	CU_ASSERT_EQUAL(open_store(v, PIN, &st), 271);
	CU_ASSERT_TRUE(error_is(271, "plain.bin", "cannot be loaded", NULL));
	g_free(v);
	/* a token that is not there: the ones that are are named */
	v = g_strdup_printf("%s;token=nope", module);
	CU_ASSERT_EQUAL(open_store(v, PIN, &st), 271);
	CU_ASSERT_TRUE(error_is(271, "no token matches", "tokens found",
				"'" TOKEN "'", "'empty one'", NULL));
	g_free(v);
	v = g_strdup_printf("pkcs11:token=nope?module-path=%s", module);
	CU_ASSERT_EQUAL(open_store(v, PIN, &st), 271);
	CU_ASSERT_TRUE(error_is(271, "pkcs11:token=nope", "no token", NULL));
	g_free(v);
	/* not a URI, a label too long, nothing at all */
	CU_ASSERT_EQUAL(open_store("pkcs11:id=%zz", PIN, &st), 271);
	CU_ASSERT_TRUE(error_is(271, "not a valid PKCS#11 URI", NULL));
	v = g_strdup_printf("%s;token=%s", module,
			    "a label longer than thirty-two bytes");
	CU_ASSERT_EQUAL(open_store(v, PIN, &st), 271);
	CU_ASSERT_TRUE(error_is(271, "1 to 32 bytes", NULL));
	g_free(v);
	CU_ASSERT_EQUAL(
	    p11->open(h, PKCS11, (const unsigned char *)"", 0, PIN, &st), 271);
	/* a URI's pin-value never shows in a message */
	v = g_strdup_printf("pkcs11:token=nope?module-path=%s&pin-value=s3cr3t",
			    module);
	CU_ASSERT_EQUAL(open_store(v, "", &st), 271);
	CU_ASSERT_PTR_NULL(strstr(error_text(), "s3cr3t"));
	CU_ASSERT_TRUE(error_is(271, "pin-value=(hidden)", NULL));
	g_free(v);
}

static void test_wrong_pin(void)
{
	void *st = NULL;
	char *v = g_strdup_printf("%s;token=%s", module, TOKEN);

	CU_ASSERT_EQUAL(open_store(v, "000000", &st), 273);
	CU_ASSERT_TRUE(error_is(273, "Wrong PIN", "'" TOKEN "'", module,
				"tried once and not again", "The token reports",
				NULL));
	CU_ASSERT_PTR_NULL(st);
	/* by URI too, and the pin-value is not echoed */
	char *uri = g_strdup_printf(
	    "pkcs11:token=%s?module-path=%s&pin-value=999999", TOKEN_U, module);
	CU_ASSERT_EQUAL(open_store(uri, "", &st), 273);
	CU_ASSERT_TRUE(error_is(273, "Wrong PIN", NULL));
	CU_ASSERT_PTR_NULL(strstr(error_text(), "999999"));
	g_free(uri);
	/* two wrong PINs did not lock it: the right one still opens it */
	CU_ASSERT_EQUAL(open_store(v, PIN, &st), 0);
	if (st)
		p11->close(h, st);
	/* no PIN: the certificates the token shows without login, no key */
	CU_ASSERT_EQUAL_FATAL(open_store(v, "", &st), 0);
	check_entries(st, "no PIN", both, 2, false);
	p11->close(h, st);
	g_free(v);
}

/* ---- key operations ----------------------------------------------------- */

static int verify(const struct spop_cert_entry *e, gnutls_sign_algorithm_t alg,
		  const unsigned char *digest, size_t dlen,
		  const unsigned char *sig, size_t slen)
{
	gnutls_datum_t der = {(unsigned char *)e->der, (unsigned)e->der_len};
	gnutls_datum_t hd = {(unsigned char *)digest, (unsigned)dlen};
	gnutls_datum_t sd = {(unsigned char *)sig, (unsigned)slen};
	gnutls_x509_crt_t crt;
	gnutls_pubkey_t pub;
	int ret;

	gnutls_x509_crt_init(&crt);
	gnutls_pubkey_init(&pub);
	ret = gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER);
	if (ret >= 0)
		ret = gnutls_pubkey_import_x509(pub, crt, 0);
	if (ret >= 0)
		ret = gnutls_pubkey_verify_hash2(
		    pub, alg, GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1, &hd, &sd);
	gnutls_pubkey_deinit(pub);
	gnutls_x509_crt_deinit(crt);
	return ret;
}

struct sign_case {
	int scheme, hash;
	gnutls_digest_algorithm_t dig;
	gnutls_sign_algorithm_t verify_as;
};

static const struct sign_case rsa_cases[] = {
    {SPOP_KEY_RSA_PKCS1, SPOP_HASH_SHA256, GNUTLS_DIG_SHA256,
     GNUTLS_SIGN_RSA_SHA256},
    {SPOP_KEY_RSA_PKCS1, SPOP_HASH_SHA384, GNUTLS_DIG_SHA384,
     GNUTLS_SIGN_RSA_SHA384},
    {SPOP_KEY_RSA_PKCS1, SPOP_HASH_SHA512, GNUTLS_DIG_SHA512,
     GNUTLS_SIGN_RSA_SHA512},
    {SPOP_KEY_RSA_PKCS1, SPOP_HASH_SHA1, GNUTLS_DIG_SHA1, GNUTLS_SIGN_RSA_SHA1},
    {SPOP_KEY_RSA_PSS, SPOP_HASH_SHA256, GNUTLS_DIG_SHA256,
     GNUTLS_SIGN_RSA_PSS_RSAE_SHA256},
    {SPOP_KEY_RSA_PSS, SPOP_HASH_SHA384, GNUTLS_DIG_SHA384,
     GNUTLS_SIGN_RSA_PSS_RSAE_SHA384},
    {SPOP_KEY_RSA_PSS, SPOP_HASH_SHA512, GNUTLS_DIG_SHA512,
     GNUTLS_SIGN_RSA_PSS_RSAE_SHA512},
};

static const struct sign_case ec_cases[] = {
    {SPOP_KEY_ECDSA, SPOP_HASH_SHA256, GNUTLS_DIG_SHA256,
     GNUTLS_SIGN_ECDSA_SHA256},
    {SPOP_KEY_ECDSA, SPOP_HASH_SHA384, GNUTLS_DIG_SHA384,
     GNUTLS_SIGN_ECDSA_SHA384},
    {SPOP_KEY_ECDSA, SPOP_HASH_SHA1, GNUTLS_DIG_SHA1, GNUTLS_SIGN_ECDSA_SHA1},
};

static void check_signatures(void *st, const char *cert,
			     const struct sign_case *cases, size_t n)
{
	static const char msg[] = "the message a client certificate signs";
	struct spop_cert_entry e;
	void *key = key_of(st, cert, &e);

	for (size_t i = 0; i < n; i++) {
		unsigned char digest[64], *sig = NULL;
		size_t dlen = gnutls_hash_get_len(cases[i].dig), slen = 0;
		int rc;

		gnutls_hash_fast(cases[i].dig, msg, sizeof(msg), digest);
		rc = p11->key_sign(h, key, cases[i].scheme, cases[i].hash,
				   digest, dlen, &sig, &slen);
		if (rc)
			fprintf(stderr, "\n  %s %s: %s\n", cert,
				gnutls_sign_get_name(cases[i].verify_as),
				error_text());
		CU_ASSERT_EQUAL(rc, 0);
		if (rc)
			continue;
		int v = verify(&e, cases[i].verify_as, digest, dlen, sig, slen);
		if (v < 0)
			fprintf(stderr, "\n  %s %s does not verify: %s\n", cert,
				gnutls_sign_get_name(cases[i].verify_as),
				gnutls_strerror(v));
		CU_ASSERT_TRUE(v >= 0);
		/* the same signature over another digest does not verify */
		digest[0] ^= 1;
		CU_ASSERT_TRUE(verify(&e, cases[i].verify_as, digest, dlen, sig,
				      slen) < 0);
		h->free(h, sig);
	}
}

static void test_sign(void)
{
	void *st;
	char *uri =
	    g_strdup_printf("pkcs11:token=%s?module-path=%s", TOKEN_U, module);

	CU_ASSERT_EQUAL_FATAL(open_store(module, PIN, &st), 0);
	check_signatures(st, "token/rsa.der", rsa_cases,
			 G_N_ELEMENTS(rsa_cases));
	check_signatures(st, "token/ec.der", ec_cases, G_N_ELEMENTS(ec_cases));
	p11->close(h, st);
	/* opened by URI, the same keys */
	CU_ASSERT_EQUAL_FATAL(open_store(uri, PIN, &st), 0);
	check_signatures(st, "token/rsa.der", rsa_cases, 1);
	check_signatures(st, "token/ec.der", ec_cases, 1);
	p11->close(h, st);
	g_free(uri);
}

static void test_sign_refused(void)
{
	unsigned char digest[32] = {0}, *sig = NULL;
	struct spop_cert_entry e;
	size_t slen = 0;
	void *st, *k;

	CU_ASSERT_EQUAL_FATAL(open_store(module, PIN, &st), 0);
	k = key_of(st, "token/rsa.der", &e);
	CU_ASSERT_EQUAL(p11->key_sign(h, k, SPOP_KEY_ECDSA, SPOP_HASH_SHA256,
				      digest, 32, &sig, &slen),
			273);
	CU_ASSERT_TRUE(error_is(273, "ECDSA", "RSA key", "'" TOKEN "'", NULL));
	CU_ASSERT_EQUAL(p11->key_sign(h, k, SPOP_KEY_RSA_PSS, SPOP_HASH_SHA1,
				      digest, 20, &sig, &slen),
			1212);
	CU_ASSERT_EQUAL(p11->key_sign(h, k, SPOP_KEY_RSA_PKCS1,
				      SPOP_HASH_SHA256, digest, 20, &sig,
				      &slen),
			1211);
	CU_ASSERT_TRUE(error_is(1211, "32 bytes, not 20", NULL));
	CU_ASSERT_EQUAL(
	    p11->key_sign(h, k, 42, SPOP_HASH_SHA256, digest, 32, &sig, &slen),
	    1211);
	k = key_of(st, "token/ec.der", &e);
	CU_ASSERT_EQUAL(p11->key_sign(h, k, SPOP_KEY_RSA_PKCS1,
				      SPOP_HASH_SHA256, digest, 32, &sig,
				      &slen),
			273);
	CU_ASSERT_TRUE(error_is(273, "RSA PKCS#1", "EC key", NULL));
	CU_ASSERT_PTR_NULL(sig);
	p11->close(h, st);
}

static void check_decrypt(void *key, const char *file, int padding, int hash)
{
	size_t clen, plen, olen = 0;
	unsigned char *c = slurp(file, &clen),
		      *plain = slurp("plain.bin", &plen), *out = NULL;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
	rc = p11->key_decrypt(h, key, padding, hash, c, clen, &out, &olen);
	if (rc)
		fprintf(stderr, "\n  %s: %s\n", file, error_text());
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_TRUE(out && olen == plen && memcmp(out, plain, plen) == 0);
	h->free(h, out);
	g_free(c);
	g_free(plain);
}

static void test_decrypt(void)
{
	struct spop_cert_entry e;
	unsigned char *c, *out = NULL;
	size_t clen, olen = 0;
	void *st, *k;

	CU_ASSERT_EQUAL_FATAL(open_store(module, PIN, &st), 0);
	k = key_of(st, "token/rsa.der", &e);
	check_decrypt(k, "enc-pkcs1.bin", SPOP_KEY_RSA_PKCS1, 0);
	check_decrypt(k, "enc-oaep-sha1.bin", SPOP_KEY_RSA_OAEP,
		      SPOP_HASH_SHA1);
	check_decrypt(k, "enc-oaep-sha1.bin", SPOP_KEY_RSA_OAEP, 0);

	/* SoftHSM 2.6 does OAEP with SHA-1 only: SHA-256 either works or
	 * is the token's clear refusal, never a wrong plaintext */
	c = slurp("enc-oaep-sha256.bin", &clen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	int rc = p11->key_decrypt(h, k, SPOP_KEY_RSA_OAEP, SPOP_HASH_SHA256, c,
				  clen, &out, &olen);
	if (rc == 0) {
		h->free(h, out);
		check_decrypt(k, "enc-oaep-sha256.bin", SPOP_KEY_RSA_OAEP,
			      SPOP_HASH_SHA256);
	} else {
		CU_ASSERT_TRUE(
		    error_is(284, "RSA-OAEP (SHA256)", "the token says", NULL));
	}
	out = NULL;
	/* a cut ciphertext, the wrong padding */
	CU_ASSERT_EQUAL(p11->key_decrypt(h, k, SPOP_KEY_RSA_PKCS1, 0, c,
					 clen - 1, &out, &olen),
			284);
	CU_ASSERT_TRUE(error_is(284, "PKCS#1 v1.5", "'" TOKEN "'", NULL));
	CU_ASSERT_EQUAL(p11->key_decrypt(h, k, 7, 0, c, clen, &out, &olen),
			284);
	CU_ASSERT_TRUE(error_is(284, "unknown padding 7", NULL));
	CU_ASSERT_EQUAL(p11->key_decrypt(h, k, SPOP_KEY_RSA_OAEP, SPOP_HASH_MD5,
					 c, clen, &out, &olen),
			284);
	CU_ASSERT_TRUE(error_is(284, "OAEP hash", NULL));
	/* an EC key does not decrypt */
	CU_ASSERT_EQUAL(p11->key_decrypt(h, key_of(st, "token/ec.der", &e),
					 SPOP_KEY_RSA_PKCS1, 0, c, clen, &out,
					 &olen),
			284);
	CU_ASSERT_TRUE(error_is(284, "EC key", NULL));
	CU_ASSERT_PTR_NULL(out);
	g_free(c);
	p11->close(h, st);
}

/* The uncompressed point (0x04 || X || Y) of a PEM public key file. */
static unsigned char *point_of(const char *file, size_t *len)
{
	size_t plen;
	unsigned char *pem = slurp(file, &plen), *p = NULL;
	gnutls_datum_t d = {pem, (unsigned)plen}, x = {0}, y = {0};
	gnutls_pubkey_t pub;
	gnutls_ecc_curve_t curve;

	*len = 0;
	gnutls_pubkey_init(&pub);
	if (pem && gnutls_pubkey_import(pub, &d, GNUTLS_X509_FMT_PEM) >= 0 &&
	    gnutls_pubkey_export_ecc_raw2(pub, &curve, &x, &y,
					  GNUTLS_EXPORT_FLAG_NO_LZ) >= 0) {
		size_t n = gnutls_ecc_curve_get_size(curve);

		p = g_malloc0(1 + 2 * n);
		p[0] = 0x04;
		memcpy(p + 1 + n - x.size, x.data, x.size);
		memcpy(p + 1 + 2 * n - y.size, y.data, y.size);
		*len = 1 + 2 * n;
	}
	gnutls_free(x.data);
	gnutls_free(y.data);
	gnutls_pubkey_deinit(pub);
	g_free(pem);
	return p;
}

static void test_derive(void)
{
	struct spop_cert_entry e;
	size_t plen, wlen, slen = 0;
	unsigned char *point = point_of("peer.pub", &plen), *secret = NULL;
	unsigned char *want = slurp("ecdh.bin", &wlen);
	void *st, *k;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(point);
	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	CU_ASSERT_EQUAL_FATAL(plen, 65);
	CU_ASSERT_EQUAL_FATAL(open_store(module, PIN, &st), 0);
	k = key_of(st, "token/ec.der", &e);
	rc = p11->key_derive(h, k, point, plen, &secret, &slen);
	if (rc)
		fprintf(stderr, "\n  ECDH: %s\n", error_text());
	CU_ASSERT_EQUAL(rc, 0);
	/* what openssl derived with the peer's private key */
	CU_ASSERT_EQUAL(slen, 32);
	CU_ASSERT_TRUE(secret && slen == wlen &&
		       memcmp(secret, want, wlen) == 0);
	h->free(h, secret);
	secret = NULL;

	/* again: the derived object was destroyed, not left to collide */
	CU_ASSERT_EQUAL(p11->key_derive(h, k, point, plen, &secret, &slen), 0);
	CU_ASSERT_TRUE(secret && slen == wlen &&
		       memcmp(secret, want, wlen) == 0);
	h->free(h, secret);
	secret = NULL;

	/* a point off the curve, a compressed point, a P-384 point */
	point[64] ^= 1;
	CU_ASSERT_EQUAL(p11->key_derive(h, k, point, plen, &secret, &slen),
			273);
	CU_ASSERT_TRUE(
	    error_is(273, "ECDH", "'" TOKEN "'", "the token says", NULL));
	point[64] ^= 1;
	point[0] = 0x02;
	CU_ASSERT_EQUAL(p11->key_derive(h, k, point, 33, &secret, &slen), 273);
	CU_ASSERT_TRUE(
	    error_is(273, "not an uncompressed point on SECP256R1", NULL));
	size_t l384;
	unsigned char *p384 = point_of("peer384.pub", &l384);
	CU_ASSERT_EQUAL(p11->key_derive(h, k, p384, l384, &secret, &slen), 273);
	CU_ASSERT_TRUE(error_is(273, "97 bytes given", NULL));
	g_free(p384);
	/* an RSA key does not derive */
	point[0] = 0x04;
	CU_ASSERT_EQUAL(p11->key_derive(h, key_of(st, "token/rsa.der", &e),
					point, plen, &secret, &slen),
			273);
	CU_ASSERT_TRUE(error_is(273, "RSA key, not EC", NULL));
	CU_ASSERT_PTR_NULL(secret);
	p11->close(h, st);
	g_free(point);
	g_free(want);
}

static void test_export(void)
{
	struct spop_cert_entry e;
	unsigned char *p8 = NULL;
	size_t len = 0;
	void *st;

	CU_ASSERT_EQUAL_FATAL(open_store(module, PIN, &st), 0);
	CU_ASSERT_EQUAL(
	    p11->key_export(h, key_of(st, "token/rsa.der", &e), &p8, &len),
	    273);
	CU_ASSERT_TRUE(error_is(273, "held in the PKCS#11 token '" TOKEN "'",
				"never leaves", NULL));
	CU_ASSERT_EQUAL(
	    p11->key_export(h, key_of(st, "token/ec.der", &e), &p8, &len), 273);
	CU_ASSERT_PTR_NULL(p8);
	CU_ASSERT_EQUAL(len, 0);
	p11->close(h, st);
}

/* Through the core's selection (SSLCertStore*, SSLCertSubject): the
 * subject found and the chosen entry's key. */
static void test_core_selection(void)
{
	spop_t *o = spop_new();
	int rc;

	spop_config(o, "PluginPath=" FIXTURE_DIR);
	CU_ASSERT_EQUAL(spop_set_ssl_cert_store_type(o, PKCS11), 0);
	CU_ASSERT_EQUAL(spop_set_ssl_cert_store(o, module, strlen(module)), 0);
	CU_ASSERT_EQUAL(spop_set_ssl_cert_store_password(o, PIN), 0);
	CU_ASSERT_EQUAL(spop_set_ssl_cert_subject(o, "spop token EC"), 0);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(spop_get_ssl_cert_subject(o), "CN=spop token EC"));
	CU_ASSERT_EQUAL(spop_set_ssl_cert_store_password(o, "000000"), 0);
	rc = spop_set_ssl_cert_subject(o, "*");
	if (rc != 273)
		fprintf(stderr, "\n  wrong PIN through the core: %d %s\n", rc,
			spop_last_error(o));
	CU_ASSERT_EQUAL(rc, 273);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(o), "Wrong PIN"));
	spop_free(o);
}

static const struct test_case cases[] = {
    {"descriptor and selection by CertStoreType 23", test_descriptor},
    {"probe never picks a token", test_probe},
    {"open by module path, ;token=", test_open_module_path},
    {"open by PKCS#11 URI", test_open_uri},
    {"module, token, URI errors: 271", test_open_errors},
    {"wrong PIN: 273, tried once; no PIN: no keys", test_wrong_pin},
    {"key_sign: PKCS#1, PSS, ECDSA verify", test_sign},
    {"key_sign: schemes the key cannot do", test_sign_refused},
    {"key_decrypt: PKCS#1, OAEP", test_decrypt},
    {"key_derive: ECDH equals openssl's", test_derive},
    {"key_export: 273", test_export},
    {"SSLCertSubject through the core", test_core_selection},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"plugin-pkcs11", suite_init, suite_clean, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return test_run(suites);
}
