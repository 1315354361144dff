/* The cms S/MIME engine's decrypt, chosen by name through the registry and
 * driven through the core's own host, with its keys from the pemkey
 * cert-store plugin. Every message is made at test time by the tools that
 * write them in the field (make-smime-data.sh: openssl cms -encrypt
 * -binary -outform DER, gpgsm --encrypt, NSS cmsutil -E), and every decryption
 * must give back the very bytes those tools encrypted. */
#include "suite-data.h"
#include "test-runner.h"

#include <gcrypt.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spop-private.h"

#include "fixture-setup.h"
#include "authattrs.h"

#ifndef DATA_SCRIPT
#error "DATA_SCRIPT must name make-smime-data.sh"
#endif
#ifndef TOKEN_SCRIPT
#error "TOKEN_SCRIPT must name make-token.sh"
#endif

#define PEM_FILE 6
#define PKCS11	 23
#define TOKEN	 "spop smime"
#define TOKEN_U	 "spop%20smime"
#define PIN	 "123456"

static struct spi_host host;
static struct spop_host *h;
static const struct spop_plugin_descriptor *cms_desc;
static const struct spop_smime_ops *cms;
static const struct spop_certstore_ops *pem;
static unsigned char *plain;
static size_t plain_len;

/* ---- helpers ------------------------------------------------------------ */

#include "pem-store.h"

static void keys_of(struct spop_smime_keys *k, const struct store *st)
{
	memset(k, 0, sizeof(*k));
	k->size = sizeof(*k);
	k->store_ops = pem;
	k->entries = st->entries;
	k->n_entries = st->n;
}

/* The pkcs11 store on the SoftHSM token (keys stay in the token). */
static const struct spop_certstore_ops *p11;

static int decrypt_token(const char *uri, const char *msg,
			 struct spop_smime_result *r)
{
	struct spop_cert_entry entries[4];
	struct spop_smime_keys k;
	void *st = NULL;
	size_t n = 0, len;
	unsigned char *der = slurp(msg, &len);
	int rc;

	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	if (!der)
		return -1;
	rc = p11->open(h, PKCS11, (const unsigned char *)uri, strlen(uri), PIN,
		       &st);
	if (rc) {
		fprintf(stderr, "\n  token: %s\n", error_text());
		g_free(der);
		return rc;
	}
	memset(entries, 0, sizeof(entries));
	while (n < 4) {
		entries[n].size = sizeof(entries[n]);
		if (p11->entry(h, st, n, &entries[n]))
			break;
		n++;
	}
	memset(&k, 0, sizeof(k));
	k.size = sizeof(k);
	k.store_ops = p11;
	k.entries = entries;
	k.n_entries = n;
	spi_clear_error(s);
	rc = cms->decrypt(h, der, len, &k, r);
	p11->close(h, st);
	g_free(der);
	return rc;
}

static int decrypt_bytes(const char *store, const unsigned char *der,
			 size_t len, struct spop_smime_result *r)
{
	struct store st;
	struct spop_smime_keys k;
	int rc;

	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	if (!store_open(&st, store))
		return -1;
	keys_of(&k, &st);
	spi_clear_error(s);
	rc = cms->decrypt(h, der, len, &k, r);
	store_close(&st);
	return rc;
}

static int decrypt_file(const char *store, const char *msg,
			struct spop_smime_result *r)
{
	size_t len;
	unsigned char *der = slurp(msg, &len);
	int rc;

	if (!der) {
		memset(r, 0, sizeof(*r));
		r->size = sizeof(*r);
		return -1;
	}
	rc = decrypt_bytes(store, der, len, r);
	g_free(der);
	return rc;
}

/* msg decrypts with store's key to plain.bin, with these algorithm
 * names. */
static void check_ok(const char *store, const char *msg, const char *alg,
		     const char *key_alg)
{
	struct spop_smime_result r;
	int rc = decrypt_file(store, msg, &r);

	if (rc)
		fprintf(stderr, "\n  %s: %d %s\n", msg, rc, error_text());
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(r.decrypted, 1);
	CU_ASSERT_EQUAL(r.content_len, plain_len);
	CU_ASSERT_TRUE(r.content && r.content_len == plain_len &&
		       memcmp(r.content, plain, plain_len) == 0);
	if (strcmp(r.algorithm, alg) || strcmp(r.key_algorithm, key_alg))
		fprintf(stderr, "\n  %s: %s / %s, expected %s / %s\n", msg,
			r.algorithm, r.key_algorithm, alg, key_alg);
	CU_ASSERT_STRING_EQUAL(r.algorithm, alg);
	CU_ASSERT_STRING_EQUAL(r.key_algorithm, key_alg);
	CU_ASSERT_EQUAL(r.verified, 0);
	CU_ASSERT_EQUAL(r.n_signers, 0);
	cms->result_clear(h, &r);
	CU_ASSERT_PTR_NULL(r.content);
	CU_ASSERT_EQUAL(r.content_len, 0);
	CU_ASSERT_EQUAL(r.decrypted, 0);
	CU_ASSERT_EQUAL(r.size, sizeof(r));
}

/* The message fails with 284 naming want, and leaves nothing behind. */
static void check_fails_bytes(const char *store, const unsigned char *der,
			      size_t len, const char *want)
{
	struct spop_smime_result r;
	int rc = decrypt_bytes(store, der, len, &r);

	CU_ASSERT_EQUAL(rc, SPOP_ERR_DECRYPT);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_DECRYPT, want, NULL));
	CU_ASSERT_PTR_NULL(r.content);
	CU_ASSERT_EQUAL(r.decrypted, 0);
	cms->result_clear(h, &r);
}

static void check_fails(const char *store, const char *msg, const char *want)
{
	size_t len;
	unsigned char *der = slurp(msg, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	check_fails_bytes(store, der, len, want);
	g_free(der);
}

#define NO_RECIPIENT "no recipient of the message matches Cert*"
#define NO_CONTENT   "the content could not be decrypted"
#define NO_UNWRAP    "the content key could not be unwrapped"
#define MALFORMED    "not valid CMS EnvelopedData or AuthEnvelopedData"

/* ---- suite setup -------------------------------------------------------- */

static int suite_init(void)
{
	const struct spop_plugin_descriptor *d = NULL;
	GError *e = NULL;

	if (setup())
		return 1;
	dir = g_dir_make_tmp("spop-smime-XXXXXX", &e);
	if (!dir) {
		fprintf(stderr, "temporary directory: %s\n", e->message);
		g_error_free(e);
		return 1;
	}
	char *argv[] = {"bash", DATA_SCRIPT, dir, NULL};
	if (run_out(argv, NULL) != 0) {
		fprintf(stderr, "make-smime-data.sh failed\n");
		return 1;
	}
	plain = slurp("plain.bin", &plain_len);
	if (!plain)
		return 1;
	if (spi_plugin_by_name(s, SPOP_PLUGIN_SMIME, "cms", &cms_desc) != 0 ||
	    !cms_desc) {
		fprintf(stderr, "no cms engine: %s\n", error_text());
		return 1;
	}
	cms = cms_desc->ops;
	if (spi_plugin_select(s, SPOP_PLUGIN_CERTSTORE, "CertStoreType",
			      PEM_FILE, &d) != 0 ||
	    !d || strcmp(d->name, "pemkey") != 0) {
		fprintf(stderr, "no pemkey plugin: %s\n", error_text());
		return 1;
	}
	pem = d->ops;
	if (spi_plugin_select(s, SPOP_PLUGIN_CERTSTORE, "CertStoreType", PKCS11,
			      &d) != 0 ||
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
	g_free(plain);
	return teardown();
}

/* ---- cases -------------------------------------------------------------- */

static void test_descriptor(void)
{
	CU_ASSERT_EQUAL(cms_desc->kind, SPOP_PLUGIN_SMIME);
	CU_ASSERT_STRING_EQUAL(cms_desc->name, "cms");
	CU_ASSERT_EQUAL(cms_desc->abi_major, 1);
	CU_ASSERT_EQUAL(cms_desc->abi_minor, 1);
	CU_ASSERT_EQUAL(cms_desc->capabilities,
			SPOP_CAP_SMIME_DECRYPT | SPOP_CAP_SMIME_VERIFY);
	CU_ASSERT_EQUAL(cms_desc->n_selectors, 0);
	CU_ASSERT_EQUAL(cms->size, sizeof(struct spop_smime_ops));
	CU_ASSERT_PTR_NOT_NULL(cms->decrypt);
	CU_ASSERT_PTR_NOT_NULL(cms->verify);
	CU_ASSERT_PTR_NOT_NULL(cms->result_clear);
	CU_ASSERT_TRUE(mapped("spop-smime-cms.so"));
}

static void test_rsa_ciphers(void)
{
	check_ok("pem-rsa.pem", "rsa-aes128.der", "AES-128-CBC", "RSA");
	check_ok("pem-rsa.pem", "rsa-aes192.der", "AES-192-CBC", "RSA");
	check_ok("pem-rsa.pem", "rsa-aes256.der", "AES-256-CBC", "RSA");
	check_ok("pem-rsa.pem", "rsa-des3.der", "3DES-CBC", "RSA");
}

static void test_rsa_oaep(void)
{
	check_ok("pem-rsa.pem", "rsa-oaep-sha1.der", "AES-256-CBC",
		 "RSA-OAEP-SHA1");
	check_ok("pem-rsa.pem", "rsa-oaep-sha256.der", "AES-256-CBC",
		 "RSA-OAEP-SHA256");
}

static void test_recipients(void)
{
	check_ok("pem-rsa.pem", "rsa-keyid.der", "AES-128-CBC", "RSA");
	check_ok("pem-rsa.pem", "two.der", "AES-256-CBC", "RSA");
	/* the first recipient's key reads the same message */
	check_ok("pem-other.pem", "two.der", "AES-256-CBC", "RSA");
	check_ok("pem-ec256.pem", "ec256-keyid.der", "AES-256-CBC",
		 "ECDH-SHA1-AES256-WRAP");
}

static void test_ecdh(void)
{
	check_ok("pem-ec256.pem", "ec256.der", "AES-256-CBC",
		 "ECDH-SHA1-AES256-WRAP");
	check_ok("pem-ec256.pem", "ec256-sha256.der", "AES-128-CBC",
		 "ECDH-SHA256-AES128-WRAP");
	check_ok("pem-ec384.pem", "ec384-sha384.der", "AES-256-CBC",
		 "ECDH-SHA384-AES256-WRAP");
}

static void test_gcm(void)
{
	check_ok("pem-rsa.pem", "rsa-gcm.der", "AES-256-GCM", "RSA");
	check_ok("pem-ec256.pem", "ec256-gcm.der", "AES-256-GCM",
		 "ECDH-SHA1-AES256-WRAP");
}

static void test_gpgsm(void)
{
	char *p = path("gpgsm.der");
	bool made = g_file_test(p, G_FILE_TEST_EXISTS);

	g_free(p);
	if (!made)
		fprintf(stderr, "\n  gpgsm is not installed: no gpgsm message "
				"(install gnupg's gpgsm)\n");
	CU_ASSERT_TRUE_FATAL(made);
	/* BER: indefinite lengths, the content in constructed chunks */
	check_ok("pem-rsa.pem", "gpgsm.der", "AES-128-CBC", "RSA");
}

/* The same messages to keys on a SoftHSM token, through the pkcs11
 * store: key transport with C_Decrypt, key agreement with
 * CKM_ECDH1_DERIVE, the keys never leave the token. */
static void test_token(void)
{
	char *out = NULL, *tokdir = path("token"), *mp = path("token/module");
	char *module = NULL, *uri;
	struct spop_smime_result r;
	char *make[] = {"bash", TOKEN_SCRIPT, tokdir, TOKEN, PIN, NULL};
	static const struct {
		const char *msg, *alg, *key_alg;
		const char *args[8];
	} msgs[] = {
	    {"tok-rsa.der", "AES-256-CBC", "RSA", {"token/rsa.crt"}},
	    /* SoftHSM 2.6 does OAEP with SHA-1 only */
	    {"tok-oaep.der",
	     "AES-128-CBC",
	     "RSA-OAEP-SHA1",
	     {"-recip", "token/rsa.crt", "-keyopt", "rsa_padding_mode:oaep"}},
	    {"tok-ec.der",
	     "AES-128-CBC",
	     "ECDH-SHA256-AES128-WRAP",
	     {"-recip", "token/ec.crt", "-keyopt", "ecdh_kdf_md:sha256"}},
	    {"tok-ec-gcm.der",
	     "AES-256-GCM",
	     "ECDH-SHA1-AES256-WRAP",
	     {"-keyid", "token/ec.crt"}},
	};

	CU_ASSERT_EQUAL_FATAL(g_spawn_sync(NULL, make, NULL,
					   G_SPAWN_SEARCH_PATH, NULL, NULL,
					   &out, NULL, NULL, NULL),
			      TRUE);
	g_strstrip(out);
	CU_ASSERT_FATAL(*out != '\0');
	g_setenv("SOFTHSM2_CONF", out, TRUE);
	g_free(out);
	CU_ASSERT_FATAL(g_file_get_contents(mp, &module, NULL, NULL));
	g_strstrip(module);
	uri =
	    g_strdup_printf("pkcs11:token=%s?module-path=%s", TOKEN_U, module);
	for (size_t i = 0; i < G_N_ELEMENTS(msgs); i++) {
		char *argv[20] = {
		    "openssl",
		    "cms",
		    "-encrypt",
		    "-binary",
		    "-outform",
		    "DER",
		    "-in",
		    "plain.bin",
		    "-out",
		    (char *)msgs[i].msg,
		    (char *)(strstr(msgs[i].alg, "GCM")	  ? "-aes-256-gcm"
			     : strstr(msgs[i].alg, "128") ? "-aes128"
							  : "-aes256")};
		size_t a = 11;
		char *cwd = g_get_current_dir();

		for (size_t j = 0; msgs[i].args[j]; j++)
			argv[a++] = (char *)msgs[i].args[j];
		argv[a] = NULL;
		CU_ASSERT_EQUAL_FATAL(chdir(dir), 0);
		int made = run_out(argv, NULL);
		CU_ASSERT_EQUAL_FATAL(chdir(cwd), 0);
		g_free(cwd);
		CU_ASSERT_EQUAL_FATAL(made, 0);

		int rc = decrypt_token(uri, msgs[i].msg, &r);
		if (rc)
			fprintf(stderr, "\n  %s: %d %s\n", msgs[i].msg, rc,
				error_text());
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_TRUE(r.content && r.content_len == plain_len &&
			       memcmp(r.content, plain, plain_len) == 0);
		CU_ASSERT_STRING_EQUAL(r.algorithm, msgs[i].alg);
		CU_ASSERT_STRING_EQUAL(r.key_algorithm, msgs[i].key_alg);
		cms->result_clear(h, &r);
	}
	/* a message to another key finds no recipient on the token */
	CU_ASSERT_EQUAL(decrypt_token(uri, "rsa-aes256.der", &r),
			SPOP_ERR_DECRYPT);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_DECRYPT, NO_RECIPIENT, NULL));
	cms->result_clear(h, &r);
	g_free(uri);
	g_free(module);
	g_free(tokdir);
	g_free(mp);
}

static void test_nss(void)
{
	/* BER as well, from NSS's own CMS encoder */
	check_ok("pem-rsa.pem", "nss-rsa.der", "AES-128-CBC", "RSA");
}

/* BER the engine's layout reader meets in the field, in mixtures no one
 * tool writes: rsa-aes256.der and rsa-gcm.der re-encoded by ber-mix.py
 * (make-smime-data.sh) with mixed definite and indefinite lengths, the
 * content in definite and indefinite chunks, an empty chunk. Each decrypts
 * to plain.bin as the DER original does. */
static void test_ber_variants(void)
{
	static const char *const set[][3] = {
	    {"ber-aes256", "rsa-aes256.der", "AES-256-CBC"},
	    {"ber-gcm", "rsa-gcm.der", "AES-256-GCM"}};

	for (size_t i = 0; i < G_N_ELEMENTS(set); i++) {
		size_t olen;
		unsigned char *orig = slurp(set[i][1], &olen);

		CU_ASSERT_PTR_NOT_NULL_FATAL(orig);
		for (char v = 'a'; v <= 'f'; v++) {
			char *msg = g_strdup_printf("%s-%c.der", set[i][0], v);
			size_t len;
			unsigned char *der = slurp(msg, &len);

			/* a variant, not the original again */
			CU_ASSERT_PTR_NOT_NULL_FATAL(der);
			CU_ASSERT_FALSE(len == olen &&
					memcmp(der, orig, len) == 0);
			g_free(der);
			check_ok("pem-rsa.pem", msg, set[i][2], "RSA");
			g_free(msg);
		}
		g_free(orig);
	}
}

/* ---- AuthEnvelopedData with authenticated attributes (authattrs.h) ---- */

static void test_auth_attrs(void)
{
	struct spop_smime_result r;
	GByteArray *m = auth_message(plain, plain_len, 0x31);
	int rc = decrypt_bytes("pem-rsa.pem", m->data, m->len, &r);

	if (rc)
		fprintf(stderr, "\n  authAttrs: %d %s\n", rc, error_text());
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_TRUE(r.content && r.content_len == plain_len &&
		       memcmp(r.content, plain, plain_len) == 0);
	CU_ASSERT_STRING_EQUAL(r.algorithm, "AES-128-GCM");
	CU_ASSERT_STRING_EQUAL(r.key_algorithm, "RSA");
	cms->result_clear(h, &r);
	/* an attribute changed: the tag no longer holds (the last byte of
	 * the data OID, 07 01 -> 07 02, just before the 18-byte mac) */
	size_t at = m->len - 18 - 1;
	CU_ASSERT_EQUAL(m->data[at], 0x01);
	m->data[at] = 0x02;
	check_fails_bytes("pem-rsa.pem", m->data, m->len, NO_CONTENT);
	g_byte_array_free(m, TRUE);
	/* MACed over the field's own [1] tag instead: refused */
	m = auth_message(plain, plain_len, 0xa1);
	check_fails_bytes("pem-rsa.pem", m->data, m->len, NO_CONTENT);
	g_byte_array_free(m, TRUE);
}

static void test_wrong_key(void)
{
	check_fails("pem-rsa.pem", "other-only.der", NO_RECIPIENT);
	check_fails("pem-ec384.pem", "ec256.der", NO_RECIPIENT);
	check_fails("pem-ec256.pem", "rsa-aes256.der", NO_RECIPIENT);
}

/* Flips the last byte of the next-to-last cipher block: CBC then changes
 * the padding byte of the last block for certain, and GCM's tag fails.
 * openssl's DER ends with the encrypted content (GCM: then the 16-byte
 * mac and its 2-byte header). */
static void corrupt(const char *store, const char *msg, size_t from_end)
{
	size_t len;
	unsigned char *der = slurp(msg, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	der[len - from_end] ^= 0xff;
	check_fails_bytes(store, der, len, NO_CONTENT);
	g_free(der);
}

static void test_corrupted(void)
{
	corrupt("pem-rsa.pem", "rsa-aes256.der", 17);
	/* plain.bin is 1084 bytes: 4 bytes of padding, and this flips the
	 * one before the last (every padding byte is checked) */
	CU_ASSERT_EQUAL(plain_len % 16, 12);
	corrupt("pem-rsa.pem", "rsa-aes256.der", 18);
	corrupt("pem-rsa.pem", "rsa-des3.der", 10);
	corrupt("pem-rsa.pem", "rsa-des3.der", 9);
	corrupt("pem-rsa.pem", "rsa-oaep-sha256.der", 17);
	corrupt("pem-ec256.pem", "ec256.der", 17);
	corrupt("pem-rsa.pem", "rsa-gcm.der", 18 + 1); /* content */
	corrupt("pem-ec256.pem", "ec256-gcm.der", 1);  /* the tag */
	corrupt("pem-ec384.pem", "ec384-sha384.der", 17);
}

/* A damaged key block: PKCS#1 v1.5 goes on with a random key (RFC 3218)
 * and fails at the content; OAEP and ECDH fail at the unwrap. */
static void damage_key(const char *store, const char *msg, const char *want)
{
	size_t len, i;
	unsigned char *der = slurp(msg, &len);
	unsigned char *key = NULL;
	struct store st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	/* the encrypted key: the RSA block is the only 256-byte OCTET
	 * STRING (04 82 01 00); the wrapped key of ECDH (04 28) follows the
	 * recipient's serial number */
	for (i = 0; i + 4 < len && !key; i++)
		if (der[i] == 0x04 && der[i + 1] == 0x82 && der[i + 2] == 1 &&
		    der[i + 3] == 0)
			key = der + i + 4 + 100;
	for (i = 0; i + 2 < len && !key; i++)
		if (der[i] == 0x04 && der[i + 1] == 0x28)
			key = der + i + 2 + 10;
	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	*key ^= 0x01;
	check_fails_bytes(store, der, len, want);
	/* the same damage, the same answer, every time */
	CU_ASSERT_TRUE(store_open(&st, store));
	store_close(&st);
	check_fails_bytes(store, der, len, want);
	g_free(der);
}

static void test_bad_key_block(void)
{
	/* With CBC the random key's padding is valid once in 256 tries (the
	 * RFC 3218 trade: garbage out, no oracle), so the PKCS#1 case is
	 * checked with GCM, whose tag makes the outcome certain. */
	damage_key("pem-rsa.pem", "rsa-gcm.der", NO_CONTENT);
	damage_key("pem-rsa.pem", "rsa-oaep-sha256.der", NO_UNWRAP);
	damage_key("pem-ec256.pem", "ec256.der", NO_UNWRAP);
}

static void test_malformed(void)
{
	size_t len;
	unsigned char *der = slurp("rsa-aes256.der", &len);
	unsigned char garbage[512];

	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	/* truncated anywhere: in the recipients, the content, the end */
	check_fails_bytes("pem-rsa.pem", der, 40, MALFORMED);
	check_fails_bytes("pem-rsa.pem", der, len / 2, MALFORMED);
	check_fails_bytes("pem-rsa.pem", der, len - 1, MALFORMED);
	check_fails_bytes("pem-rsa.pem", der, 1, MALFORMED);
	/* bytes after the DER */
	unsigned char *longer = g_malloc(len + 3);
	memcpy(longer, der, len);
	memcpy(longer + len, "\0\0x", 3);
	check_fails_bytes("pem-rsa.pem", longer, len + 3, MALFORMED);
	g_free(longer);
	/* garbage */
	memset(garbage, 0x5a, sizeof(garbage));
	check_fails_bytes("pem-rsa.pem", garbage, sizeof(garbage), MALFORMED);
	/* plain text, and the PEM store itself */
	check_fails_bytes("pem-rsa.pem", plain, plain_len, MALFORMED);
	g_free(der);
	check_fails("pem-rsa.pem", "rsa.key", MALFORMED);
	/* nothing at all */
	check_fails_bytes("pem-rsa.pem", (const unsigned char *)"", 0,
			  MALFORMED);
}

/* Every single byte of a message flipped in turn: the engine answers 0 or
 * 284, never anything else, never crashes (the suite also runs under
 * ASan). With AES-GCM a success must give the very content: the tag
 * covers it, so a flip can only land in bytes that do not matter. */
static void flip_all(const char *store, const char *msg, bool authenticated,
		     size_t step)
{
	struct store st;
	struct spop_smime_keys k;
	struct spop_smime_result r;
	size_t len, bad = 0, ok = 0;
	unsigned char *der = slurp(msg, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	CU_ASSERT_FATAL(store_open(&st, store));
	keys_of(&k, &st);
	for (size_t i = 0; i < len; i += step) {
		der[i] ^= 0x21;
		memset(&r, 0, sizeof(r));
		r.size = sizeof(r);
		int rc = cms->decrypt(h, der, len, &k, &r);
		der[i] ^= 0x21;
		if (rc == 0) {
			ok++;
			if (authenticated &&
			    (r.content_len != plain_len ||
			     memcmp(r.content, plain, plain_len) != 0)) {
				fprintf(stderr,
					"\n  %s: byte %zu flipped "
					"decrypts to other content\n",
					msg, i);
				bad++;
			}
		} else if (rc != SPOP_ERR_DECRYPT || r.content) {
			fprintf(stderr, "\n  %s: byte %zu flipped: %d\n", msg,
				i, rc);
			bad++;
		}
		cms->result_clear(h, &r);
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* with GCM, most flips must fail: the test has teeth (CBC is not
	 * authenticated, a flip in its body decrypts to other bytes) */
	if (authenticated)
		CU_ASSERT_TRUE(ok < len / 4);
	store_close(&st);
	g_free(der);
}

static void test_flips(void)
{
	flip_all("pem-rsa.pem", "rsa-gcm.der", true, 1);
	flip_all("pem-ec256.pem", "ec256-gcm.der", true, 1);
	/* the others every few bytes, to keep the suite quick under ASan */
	flip_all("pem-ec384.pem", "ec384-sha384.der", false, 5);
	flip_all("pem-rsa.pem", "rsa-oaep-sha256.der", false, 7);
	flip_all("pem-rsa.pem", "gpgsm.der", false, 7);
}

/* Peak memory of a 32 MB DER message: the message and the content, about
 * twice its size, not the three copies a naive parse makes (the message,
 * libtasn1's tree, the result). Measured in a child process, whose
 * high-water mark starts at its own size. Under ASan freed memory stays
 * in quarantine, so the bound is not meaningful there and is not
 * checked (said on stderr). */
static void test_memory(void)
{
	const size_t big = 32u << 20;
	char *in = path("big.bin"), *out = path("big.der"),
	     *crt = path("rsa.crt");
	char *argv[] = {"openssl", "cms", "-encrypt", "-binary", "-outform",
			"DER",	   "-in", in,	      "-out",	 out,
			"-aes256", crt,	  NULL};
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
		size_t len;
		long before = status_kb("VmRSS:");
		unsigned char *der = slurp("big.der", &len);
		int rc = der ? decrypt_bytes("pem-rsa.pem", der, len, &r) : -1;
		long peak = status_kb("VmHWM:");
		bool same = rc == 0 && r.content_len == big &&
			    memcmp(r.content, data, big) == 0;
		_exit(peak_verdict("32 MB message", same, before, peak,
				   (long)(len / 1024) * 5 / 2));
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
}

static void test_not_enveloped(void)
{
	/* a SignedData (opaque) is CMS, but not encrypted */
	char *in = path("plain.bin"), *out = path("signed.der"),
	     *crt = path("rsa.crt"), *key = path("rsa.key");
	char *argv[] = {"openssl",   "cms",	 "-sign", "-binary",
			"-nodetach", "-outform", "DER",	  "-in",
			in,	     "-out",	 out,	  "-signer",
			crt,	     "-inkey",	 key,	  NULL};

	CU_ASSERT_EQUAL_FATAL(run_out(argv, NULL), 0);
	check_fails("pem-rsa.pem", "signed.der", "not encrypted");
	g_free(in);
	g_free(out);
	g_free(crt);
	g_free(key);
}

static void test_no_keys(void)
{
	struct spop_smime_keys k;
	struct spop_smime_result r;
	size_t len;
	unsigned char *der = slurp("rsa-aes128.der", &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	memset(&k, 0, sizeof(k));
	k.size = sizeof(k);
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	CU_ASSERT_EQUAL(cms->decrypt(h, der, len, &k, &r), SPOP_ERR_DECRYPT);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_DECRYPT, "Cert*", NULL));
	CU_ASSERT_PTR_NULL(r.content);
	g_free(der);
}

/* The verify half (test-smime-verify.c) refuses what is not SignedData. */
static void test_verify_not_yet(void)
{
	struct spop_smime_keys k;
	struct spop_smime_result r;

	memset(&k, 0, sizeof(k));
	k.size = sizeof(k);
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	CU_ASSERT_EQUAL(cms->verify(h, plain, plain_len, NULL, 0, &k, &r),
			SPOP_ERR_DECRYPT);
	cms->result_clear(h, &r);
}

static const struct test_case cases[] = {
    {"descriptor, chosen by name", test_descriptor},
    {"RSA PKCS#1: AES-128/192/256-CBC, 3DES", test_rsa_ciphers},
    {"RSA-OAEP: SHA-1, SHA-256", test_rsa_oaep},
    {"recipients: key id, two recipients", test_recipients},
    {"ECDH: P-256 SHA-1/SHA-256 KDF, P-384 SHA-384", test_ecdh},
    {"AuthEnvelopedData: AES-256-GCM, RSA and ECDH", test_gcm},
    {"gpgsm --encrypt (BER)", test_gpgsm},
    {"NSS cmsutil -E (BER)", test_nss},
    {"BER variants: mixed lengths, chunks, an empty chunk", test_ber_variants},
    {"AuthEnvelopedData with authAttrs (RFC 5083 2.1)", test_auth_attrs},
    {"pkcs11 store on a SoftHSM token: RSA, OAEP, ECDH", test_token},
    {"wrong key: no recipient", test_wrong_key},
    {"corrupted content and tag", test_corrupted},
    {"damaged key block: RFC 3218", test_bad_key_block},
    {"truncated, garbage, not CMS", test_malformed},
    {"every byte flipped: 0 or 284, GCM never other content", test_flips},
    {"32 MB: peak memory about twice the message", test_memory},
    {"SignedData is not encrypted", test_not_enveloped},
    {"no key at all", test_no_keys},
    {"verify: plain text is not SignedData (284)", test_verify_not_yet},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"plugin-smime-decrypt", suite_init, suite_clean, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return test_run(suites);
}
