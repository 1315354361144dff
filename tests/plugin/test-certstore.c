/* The cert-store plugins (pemkey, pfx, publickey, p7b, jwk, dirstore),
 * chosen through the registry and driven through the core's own host:
 * every store is made at test time by the tools that write such files in
 * the field (make-certstore-data.sh: openssl, certtool, NSS pk12util), and
 * every result is checked against what those tools say (certificate DER,
 * public keys, plaintexts, openssl pkeyutl -derive secrets), or by GnuTLS
 * verifying a signature with the certificate's public key. */
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

#ifndef DATA_SCRIPT
#error "DATA_SCRIPT must name make-certstore-data.sh"
#endif

#define PASS "S3cret pass"

#define USER_STORE    0
#define MACHINE_STORE 1
#define PFX_FILE      2
#define PFX_BLOB      3
#define PEM_FILE      6
#define PEM_BLOB      7
#define PUB_FILE      8
#define PUB_BLOB      9
#define P7B_FILE      11
#define P7B_BLOB      12
#define JWK_FILE      18
#define JWK_BLOB      19

static struct spi_host host;
static struct spop_host *h;
static const struct spop_certstore_ops *pem, *pfx, *pub, *p7b, *jwk, *dirst;
static GString *trail;

/* ---- helpers ------------------------------------------------------------ */

static int open_file(const struct spop_certstore_ops *ops, int type,
		     const char *name, const char *password, void **st)
{
	char *p = path(name);
	int rc;

	*st = NULL;
	rc = ops->open(h, type, (const unsigned char *)p, strlen(p), password,
		       st);
	g_free(p);
	return rc;
}

static int open_blob(const struct spop_certstore_ops *ops, int type,
		     const void *data, size_t len, const char *password,
		     void **st)
{
	*st = NULL;
	return ops->open(h, type, data, len, password, st);
}

static bool der_equals_file(const struct spop_cert_entry *e, const char *name)
{
	size_t len;
	unsigned char *want = slurp(name, &len);
	bool same = want && e->der && e->der_len == len &&
		    memcmp(e->der, want, len) == 0;

	g_free(want);
	return same;
}

/* What a store's entries must be: DER files (as openssl x509 -outform DER
 * wrote them) and whether each carries the key. */
struct expect {
	const char *der[6];
	bool keyed[6];
	size_t n;
};

static void check_entries(const struct spop_certstore_ops *ops, void *st,
			  const char *what, const struct expect *x)
{
	struct spop_cert_entry e;
	char index[32];

	for (size_t i = 0; i < x->n; i++) {
		memset(&e, 0, sizeof(e));
		CU_ASSERT_EQUAL_FATAL(ops->entry(h, st, i, &e), 0);
		CU_ASSERT_EQUAL(e.size, sizeof(e));
		if (!der_equals_file(&e, x->der[i]))
			fprintf(stderr, "\n  %s entry %zu is not %s\n", what, i,
				x->der[i]);
		CU_ASSERT_TRUE(der_equals_file(&e, x->der[i]));
		CU_ASSERT_EQUAL(e.key != NULL, x->keyed[i]);
	}
	/* Past the end: 272 naming the index and the count. */
	snprintf(index, sizeof(index), "No entry %zu", x->n);
	CU_ASSERT_EQUAL(ops->entry(h, st, x->n, &e), 272);
	CU_ASSERT_TRUE(
	    error_is(272, index, x->n == 1 ? "1 entry" : "entries", NULL));
	CU_ASSERT_EQUAL(ops->entry(h, st, (size_t)-1, &e), 272);
}

/* The key of a store's first entry that has one, and that entry. */
static void *first_key(const struct spop_certstore_ops *ops, void *st,
		       struct spop_cert_entry *e)
{
	for (size_t i = 0;; i++) {
		memset(e, 0, sizeof(*e));
		if (ops->entry(h, st, i, e) != 0)
			return NULL;
		if (e->key)
			return e->key;
	}
}

/* ---- suite setup -------------------------------------------------------- */

static void on_trail(spop_t *obj, const struct spop_pitrail_event *e, void *ud)
{
	g_string_append_printf(trail, "%d %s\n", e->direction, e->message);
}

/* The ops of the plugin the registry picks for a CertStoreType value,
 * checking its name. */
static const struct spop_certstore_ops *pick(int type, const char *name)
{
	const struct spop_plugin_descriptor *d = NULL;

	if (spi_plugin_select(s, SPOP_PLUGIN_CERTSTORE, "SSLCertStoreType",
			      type, &d) != 0 ||
	    !d || strcmp(d->name, name) != 0) {
		fprintf(stderr, "no %s plugin for type %d: %s\n", name, type,
			error_text());
		return NULL;
	}
	return d->ops;
}

static int suite_init(void)
{
	const struct spop_plugin_descriptor *d = NULL;
	GError *e = NULL;

	if (setup())
		return 1;
	dir = g_dir_make_tmp("spop-certstore-XXXXXX", &e);
	if (!dir) {
		fprintf(stderr, "temporary directory: %s\n", e->message);
		g_error_free(e);
		return 1;
	}
	char *argv[] = {"bash", DATA_SCRIPT, dir, PASS, NULL};
	if (run_out(argv, NULL) != 0) {
		fprintf(stderr, "make-certstore-data.sh failed\n");
		return 1;
	}
	if (spi_plugin_select(s, SPOP_PLUGIN_CERTSTORE, "SSLCertStoreType", 6,
			      &d) != 0 ||
	    !d || strcmp(d->name, "pemkey") != 0) {
		fprintf(stderr, "no pemkey plugin: %s\n", error_text());
		return 1;
	}
	pem = d->ops;
	if (spi_plugin_select(s, SPOP_PLUGIN_CERTSTORE, "SSLCertStoreType", 2,
			      &d) != 0 ||
	    !d || strcmp(d->name, "pfx") != 0) {
		fprintf(stderr, "no pfx plugin: %s\n", error_text());
		return 1;
	}
	pfx = d->ops;
	pub = pick(PUB_FILE, "publickey");
	p7b = pick(P7B_FILE, "p7b");
	jwk = pick(JWK_FILE, "jwk");
	dirst = pick(USER_STORE, "dirstore");
	if (!pub || !p7b || !jwk || !dirst)
		return 1;
	trail = g_string_new(NULL);
	spop_on_pitrail(s, on_trail, NULL);
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
	if (trail)
		g_string_free(trail, TRUE);
	return teardown();
}

/* ---- descriptors and selection ------------------------------------------ */

static void test_descriptors(void)
{
	static const uint64_t keys = SPOP_CAP_CERTSTORE_PRIVATE_KEYS,
			      blob = SPOP_CAP_CERTSTORE_BLOB;
	static const struct {
		int value;
		const char *name;
		uint64_t caps;
		bool probe, key_ops;
	} sel[] = {
	    {0, "dirstore", keys, false, true},
	    {1, "dirstore", keys, false, true},
	    {2, "pfx", keys | blob, true, true},
	    {3, "pfx", keys | blob, true, true},
	    {6, "pemkey", keys | blob, true, true},
	    {7, "pemkey", keys | blob, true, true},
	    {8, "publickey", blob, true, false},
	    {9, "publickey", blob, true, false},
	    {11, "p7b", blob, true, false},
	    {12, "p7b", blob, true, false},
	    {18, "jwk", keys | blob, true, true},
	    {19, "jwk", keys | blob, true, true},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(sel); i++) {
		const struct spop_plugin_descriptor *d = NULL;

		CU_ASSERT_EQUAL_FATAL(
		    spi_plugin_select(s, SPOP_PLUGIN_CERTSTORE, "CertStoreType",
				      sel[i].value, &d),
		    0);
		CU_ASSERT_STRING_EQUAL(d->name, sel[i].name);
		CU_ASSERT_EQUAL(d->abi_major, SPOP_PLUGIN_ABI_MAJOR);
		CU_ASSERT_EQUAL(d->abi_minor, 1);
		CU_ASSERT_EQUAL(d->kind, SPOP_PLUGIN_CERTSTORE);
		CU_ASSERT_EQUAL(d->capabilities, sel[i].caps);
		const struct spop_certstore_ops *o = d->ops;
		CU_ASSERT_EQUAL(o->size, sizeof(struct spop_certstore_ops));
		CU_ASSERT_EQUAL(
		    (bool)SPOP_OPS_HAS(struct spop_certstore_ops, o, probe),
		    sel[i].probe);
		CU_ASSERT_EQUAL((bool)SPOP_OPS_HAS(struct spop_certstore_ops, o,
						   key_export),
				sel[i].key_ops);
		CU_ASSERT_EQUAL((bool)SPOP_OPS_HAS(struct spop_certstore_ops, o,
						   key_derive),
				sel[i].key_ops);
		CU_ASSERT_EQUAL(o->key_sign != NULL, sel[i].key_ops);
		CU_ASSERT_EQUAL(o->key_decrypt != NULL, sel[i].key_ops);
		CU_ASSERT_PTR_NOT_NULL(o->open);
		CU_ASSERT_PTR_NOT_NULL(o->entry);
		CU_ASSERT_PTR_NOT_NULL(o->close);
	}
	/* Chosen from key-files, each module loaded when its type was. */
	CU_ASSERT_TRUE(mapped("spop-certstore-pemkey.so"));
	CU_ASSERT_TRUE(mapped("spop-certstore-pfx.so"));
	CU_ASSERT_TRUE(mapped("spop-certstore-publickey.so"));
	CU_ASSERT_TRUE(mapped("spop-certstore-p7b.so"));
	CU_ASSERT_TRUE(mapped("spop-certstore-jwk.so"));
	CU_ASSERT_TRUE(mapped("spop-certstore-dirstore.so"));
	/* Each plugin refuses the others' types. */
	void *st;
	CU_ASSERT_EQUAL(open_file(pem, PFX_FILE, "pfx-openssl.p12", PASS, &st),
			271);
	CU_ASSERT_TRUE(error_is(271, "not 2", NULL));
	CU_ASSERT_EQUAL(open_file(pfx, PEM_FILE, "pem-rsa-pkcs8.pem", "", &st),
			271);
	CU_ASSERT_TRUE(error_is(271, "not 6", NULL));
	CU_ASSERT_EQUAL(open_file(pub, P7B_FILE, "p7b-openssl.p7b", "", &st),
			271);
	CU_ASSERT_TRUE(error_is(271, "publickey", "not 11", NULL));
	CU_ASSERT_EQUAL(open_file(p7b, PUB_FILE, "rsa.crt", "", &st), 271);
	CU_ASSERT_TRUE(error_is(271, "p7b", "not 8", NULL));
	CU_ASSERT_EQUAL(open_file(jwk, PEM_FILE, "jwk-rsa.json", "", &st), 271);
	CU_ASSERT_TRUE(error_is(271, "jwk", "not 6", NULL));
	CU_ASSERT_EQUAL(
	    dirst->open(h, PFX_FILE, (const unsigned char *)"MY", 2, "", &st),
	    271);
	CU_ASSERT_TRUE(error_is(271, "dirstore", "not 2", NULL));
	CU_ASSERT_PTR_NULL(st);
}

/* Types no plugin here serves (JKS and BCFKS are Java/.NET-only in the
 * reference; SSH keys, PPK, XML and security keys are not supported): the
 * registry finds nothing, so the core answers "not supported". */
static void test_unsupported_types(void)
{
	static const int types[] = {4, 5, 10, 13, 14, 15, 16, 17, 20, 21, 22};

	for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
		const struct spop_plugin_descriptor *d = NULL;
		int rc = spi_plugin_select(s, SPOP_PLUGIN_CERTSTORE,
					   "CertStoreType", types[i], &d);

		if (rc != SPOP_ERR_PLUGIN_NOT_FOUND)
			fprintf(stderr, "\n  type %d: %d %s\n", types[i], rc,
				d ? d->name : "");
		CU_ASSERT_EQUAL(rc, SPOP_ERR_PLUGIN_NOT_FOUND);
	}
}

/* ---- pemkey ------------------------------------------------------------- */

static const struct {
	const char *file;
	const char *password;
	struct expect x;
} pem_files[] = {
    {"pem-rsa-pkcs1.pem", "", {{"rsa.der", "ca.der"}, {true, false}, 2}},
    {"pem-rsa-pkcs8.pem", "", {{"rsa.der"}, {true}, 1}},
    /* a password on a key that needs none is not an error */
    {"pem-rsa-pkcs8.pem", PASS, {{"rsa.der"}, {true}, 1}},
    {"pem-rsa-pkcs8-enc.pem", PASS, {{"ca.der", "rsa.der"}, {false, true}, 2}},
    {"pem-rsa-legacy-enc.pem", PASS, {{"rsa.der"}, {true}, 1}},
    {"pem-ec-sec1.pem", "", {{"ec.der"}, {true}, 1}},
    {"pem-ec-pkcs8.pem", "", {{"ec.der", "other.der"}, {true, false}, 2}},
};

static void test_pem_files(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(pem_files); i++) {
		void *st = NULL;
		int rc = open_file(pem, PEM_FILE, pem_files[i].file,
				   pem_files[i].password, &st);

		if (rc)
			fprintf(stderr, "\n  %s: %s\n", pem_files[i].file,
				error_text());
		CU_ASSERT_EQUAL(rc, 0);
		if (rc)
			continue;
		check_entries(pem, st, pem_files[i].file, &pem_files[i].x);
		pem->close(h, st);
	}
}

static void test_pem_errors(void)
{
	void *st = NULL;

	CU_ASSERT_EQUAL(
	    open_file(pem, PEM_FILE, "pem-rsa-pkcs8-enc.pem", "wrong", &st),
	    273);
	CU_ASSERT_TRUE(
	    error_is(273, "Wrong password", "pem-rsa-pkcs8-enc.pem", NULL));
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_EQUAL(
	    open_file(pem, PEM_FILE, "pem-rsa-pkcs8-enc.pem", "", &st), 273);
	CU_ASSERT_TRUE(
	    error_is(273, "needs a password", "pem-rsa-pkcs8-enc.pem", NULL));
	CU_ASSERT_EQUAL(
	    open_file(pem, PEM_FILE, "pem-rsa-pkcs8-enc.pem", NULL, &st), 273);
	CU_ASSERT_EQUAL(
	    open_file(pem, PEM_FILE, "pem-rsa-legacy-enc.pem", "wrong", &st),
	    273);
	CU_ASSERT_TRUE(
	    error_is(273, "Wrong password", "pem-rsa-legacy-enc.pem", NULL));

	CU_ASSERT_EQUAL(open_file(pem, PEM_FILE, "missing.pem", "", &st), 271);
	CU_ASSERT_TRUE(
	    error_is(271, "missing.pem", "No such file or directory", NULL));
	CU_ASSERT_EQUAL(open_file(pem, PEM_FILE, "garbage.bin", "", &st), 271);
	CU_ASSERT_TRUE(error_is(271, "garbage.bin", "not PEM", NULL));
	CU_ASSERT_EQUAL(open_file(pem, PEM_FILE, "pfx-openssl.p12", "", &st),
			271);
	CU_ASSERT_EQUAL(open_file(pem, PEM_FILE, "nssdb", "", &st), 271);
	CU_ASSERT_TRUE(error_is(271, "nssdb", "directory", NULL));
	CU_ASSERT_EQUAL(open_file(pem, PEM_FILE, "pem-certs-only.pem", "", &st),
			271);
	CU_ASSERT_TRUE(
	    error_is(271, "pem-certs-only.pem", "no private key", NULL));
	CU_ASSERT_EQUAL(pem->open(h, PEM_FILE, NULL, 0, "", &st), 271);
	CU_ASSERT_TRUE(error_is(271, "empty", NULL));

	/* A block cut off before its END line is malformed, not skipped. */
	size_t len;
	unsigned char *text = slurp("pem-rsa-pkcs1.pem", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(open_blob(pem, PEM_BLOB, text, len - 200, "", &st),
			271);
	CU_ASSERT_TRUE(error_is(271, "PEMKey blob", "END", NULL));
	/* A damaged key is 271 naming the block, not a password problem. */
	unsigned char *k = (unsigned char *)strstr((char *)text, "\n") + 30;
	*k = *k == 'A' ? 'B' : 'A';
	k[1] = '*';
	CU_ASSERT_EQUAL(open_blob(pem, PEM_BLOB, text, len, "", &st), 271);
	CU_ASSERT_TRUE(error_is(271, "RSA PRIVATE KEY block at byte 0", NULL));
	g_free(text);
}

/* A key alone opens, but has no entry: entries are certificates. */
static void test_pem_key_only(void)
{
	struct spop_cert_entry e;
	void *st = NULL;

	CU_ASSERT_EQUAL_FATAL(
	    open_file(pem, PEM_FILE, "pem-key-only.pem", "", &st), 0);
	CU_ASSERT_EQUAL(pem->entry(h, st, 0, &e), 272);
	CU_ASSERT_TRUE(error_is(272, "No certificate", "pem-key-only.pem",
				"1 private key", NULL));
	pem->close(h, st);
}

/* The file name is store_len bytes, not a C string. */
static void test_pem_name_not_terminated(void)
{
	char *p = path("pem-rsa-pkcs8.pem");
	size_t n = strlen(p);
	char *buf = g_strconcat(p, "-and-more", NULL);
	void *st = NULL;

	CU_ASSERT_EQUAL(
	    pem->open(h, PEM_FILE, (unsigned char *)buf, n, "", &st), 0);
	if (st)
		pem->close(h, st);
	g_free(buf);
	g_free(p);
}

static void test_pem_blobs(void)
{
	static const struct expect x = {
	    {"rsa.der", "ca.der"}, {true, false}, 2};
	size_t len;
	unsigned char *text = slurp("pem-rsa-pkcs1.pem", &len);
	void *st = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	/* PEM text as it is */
	CU_ASSERT_EQUAL_FATAL(open_blob(pem, PEM_BLOB, text, len, "", &st), 0);
	check_entries(pem, st, "PEM blob", &x);
	pem->close(h, st);

	/* base64 of the PEM text, one line and wrapped at 76 */
	char *b64 = g_base64_encode(text, len);
	CU_ASSERT_EQUAL_FATAL(
	    open_blob(pem, PEM_BLOB, b64, strlen(b64), "", &st), 0);
	check_entries(pem, st, "base64 PEM blob", &x);
	pem->close(h, st);
	GString *wrapped = g_string_new(NULL);
	for (size_t i = 0; b64[i]; i++) {
		g_string_append_c(wrapped, b64[i]);
		if (i % 76 == 75)
			g_string_append(wrapped, "\r\n");
	}
	CU_ASSERT_EQUAL(
	    open_blob(pem, PEM_BLOB, wrapped->str, wrapped->len, "", &st), 0);
	if (st)
		pem->close(h, st);
	g_string_free(wrapped, TRUE);
	g_free(b64);

	/* an encrypted key in a blob takes the password like a file */
	g_free(text);
	text = slurp("pem-rsa-pkcs8-enc.pem", &len);
	CU_ASSERT_EQUAL(open_blob(pem, PEM_BLOB, text, len, PASS, &st), 0);
	if (st)
		pem->close(h, st);
	CU_ASSERT_EQUAL(open_blob(pem, PEM_BLOB, text, len, "nope", &st), 273);
	CU_ASSERT_TRUE(error_is(273, "Wrong password", "PEMKey blob", NULL));
	g_free(text);

	/* neither PEM nor base64 */
	text = slurp("garbage.bin", &len);
	CU_ASSERT_EQUAL(open_blob(pem, PEM_BLOB, text, len, "", &st), 271);
	CU_ASSERT_TRUE(error_is(271, "PEMKey blob", "base64", NULL));
	CU_ASSERT_EQUAL(open_blob(pem, PEM_BLOB, "", 0, "", &st), 271);
	g_free(text);
}

/* ---- pfx ---------------------------------------------------------------- */

static const struct expect rsa_chain = {
    {"rsa.der", "ca.der"}, {true, false}, 2};

static const struct {
	const char *file;
	const char *password;
	const struct expect *x;
} pfx_files[] = {
    {"pfx-openssl.p12", PASS, &rsa_chain},
    {"pfx-openssl-legacy.p12", PASS, &rsa_chain},
    {"pfx-certtool.p12", PASS, &rsa_chain},
    {"pfx-certtool-pem.p12", PASS, &rsa_chain},
    {"pfx-nss.p12", PASS, &rsa_chain},
    {"pfx-empty-pass.p12", "", &rsa_chain},
    {"pfx-nomac.p12", PASS, &rsa_chain},
    {"pfx-unencrypted.p12", PASS, &rsa_chain},
    {"pfx-openssl-ec.p12", PASS, &(const struct expect){{"ec.der"}, {true}, 1}},
    {"pfx-certs-only.p12", PASS,
     &(const struct expect){{"rsa.der", "ca.der"}, {false, false}, 2}},
};

static void test_pfx_files(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(pfx_files); i++) {
		void *st = NULL;
		int rc = open_file(pfx, PFX_FILE, pfx_files[i].file,
				   pfx_files[i].password, &st);

		if (rc)
			fprintf(stderr, "\n  %s: %s\n", pfx_files[i].file,
				error_text());
		CU_ASSERT_EQUAL(rc, 0);
		if (rc)
			continue;
		check_entries(pfx, st, pfx_files[i].file, pfx_files[i].x);
		pfx->close(h, st);
	}
}

static void test_pfx_errors(void)
{
	static const char *const protected[] = {
	    "pfx-openssl.p12", "pfx-openssl-legacy.p12", "pfx-certtool.p12",
	    "pfx-nss.p12",     "pfx-openssl-ec.p12",	 "pfx-unencrypted.p12",
	};
	void *st = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(protected); i++) {
		CU_ASSERT_EQUAL(
		    open_file(pfx, PFX_FILE, protected[i], "wrong", &st), 273);
		CU_ASSERT_TRUE(
		    error_is(273, "Wrong password", protected[i], NULL));
		CU_ASSERT_EQUAL(open_file(pfx, PFX_FILE, protected[i], "", &st),
				273);
		CU_ASSERT_TRUE(
		    error_is(273, "needs a password", protected[i], NULL));
		CU_ASSERT_PTR_NULL(st);
	}
	/* Without a MAC the password shows when the key does not decrypt. */
	CU_ASSERT_EQUAL(open_file(pfx, PFX_FILE, "pfx-nomac.p12", "wrong", &st),
			273);
	CU_ASSERT_TRUE(error_is(273, "Wrong password", "pfx-nomac.p12", NULL));
	CU_ASSERT_EQUAL(
	    open_file(pfx, PFX_FILE, "pfx-empty-pass.p12", "wrong", &st), 273);

	CU_ASSERT_EQUAL(open_file(pfx, PFX_FILE, "missing.p12", PASS, &st),
			271);
	CU_ASSERT_TRUE(
	    error_is(271, "missing.p12", "No such file or directory", NULL));
	CU_ASSERT_EQUAL(open_file(pfx, PFX_FILE, "garbage.bin", PASS, &st),
			271);
	CU_ASSERT_TRUE(error_is(271, "garbage.bin", "not a PKCS#12", NULL));
	CU_ASSERT_EQUAL(
	    open_file(pfx, PFX_FILE, "pem-rsa-pkcs8.pem", PASS, &st), 271);
	CU_ASSERT_EQUAL(
	    pfx->open(h, PFX_FILE, (const unsigned char *)"", 0, PASS, &st),
	    271);

	/* a truncated file */
	size_t len;
	unsigned char *der = slurp("pfx-openssl.p12", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	CU_ASSERT_EQUAL(open_blob(pfx, PFX_BLOB, der, len / 2, PASS, &st), 271);
	CU_ASSERT_TRUE(error_is(271, "PFX blob", NULL));
	g_free(der);
}

static void test_pfx_blobs(void)
{
	size_t len;
	unsigned char *der = slurp("pfx-nss.p12", &len);
	void *st = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	CU_ASSERT_EQUAL_FATAL(open_blob(pfx, PFX_BLOB, der, len, PASS, &st), 0);
	check_entries(pfx, st, "PFX DER blob", &rsa_chain);
	pfx->close(h, st);

	char *b64 = g_base64_encode(der, len);
	CU_ASSERT_EQUAL_FATAL(
	    open_blob(pfx, PFX_BLOB, b64, strlen(b64), PASS, &st), 0);
	check_entries(pfx, st, "PFX base64 blob", &rsa_chain);
	pfx->close(h, st);
	/* wrapped like `base64` writes it */
	GString *wrapped = g_string_new(NULL);
	for (size_t i = 0; b64[i]; i++) {
		g_string_append_c(wrapped, b64[i]);
		if (i % 76 == 75)
			g_string_append_c(wrapped, '\n');
	}
	CU_ASSERT_EQUAL(
	    open_blob(pfx, PFX_BLOB, wrapped->str, wrapped->len, PASS, &st), 0);
	if (st)
		pfx->close(h, st);
	CU_ASSERT_EQUAL(open_blob(pfx, PFX_BLOB, b64, strlen(b64), "x", &st),
			273);
	CU_ASSERT_TRUE(error_is(273, "Wrong password", "PFX blob", NULL));
	g_string_free(wrapped, TRUE);
	g_free(b64);
	g_free(der);

	der = slurp("pfx-certtool-pem.p12", &len);
	CU_ASSERT_EQUAL(open_blob(pfx, PFX_BLOB, der, len, PASS, &st), 0);
	if (st)
		pfx->close(h, st);
	g_free(der);

	der = slurp("garbage.bin", &len);
	CU_ASSERT_EQUAL(open_blob(pfx, PFX_BLOB, der, len, PASS, &st), 271);
	CU_ASSERT_TRUE(error_is(271, "PFX blob", "not a PKCS#12", NULL));
	g_free(der);
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
	gnutls_pubkey_t pk;
	int ret;

	gnutls_x509_crt_init(&crt);
	gnutls_pubkey_init(&pk);
	ret = gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER);
	if (ret >= 0)
		ret = gnutls_pubkey_import_x509(pk, crt, 0);
	if (ret >= 0)
		ret = gnutls_pubkey_verify_hash2(
		    pk, alg, GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1, &hd, &sd);
	gnutls_pubkey_deinit(pk);
	gnutls_x509_crt_deinit(crt);
	return ret;
}

struct sign_case {
	int scheme, hash;
	gnutls_digest_algorithm_t dig;
	gnutls_sign_algorithm_t verify_as;
};

static void check_signatures(const struct spop_certstore_ops *ops, void *st,
			     const char *what, const struct sign_case *cases,
			     size_t n)
{
	static const char msg[] = "the message a client certificate signs";
	struct spop_cert_entry e;
	void *key = first_key(ops, st, &e);

	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	for (size_t i = 0; i < n; i++) {
		unsigned char digest[64], *sig = NULL;
		size_t dlen = gnutls_hash_get_len(cases[i].dig), slen = 0;
		int rc;

		gnutls_hash_fast(cases[i].dig, msg, sizeof(msg), digest);
		rc = ops->key_sign(h, key, cases[i].scheme, cases[i].hash,
				   digest, dlen, &sig, &slen);
		if (rc)
			fprintf(stderr, "\n  %s %s: %s\n", what,
				gnutls_sign_get_name(cases[i].verify_as),
				error_text());
		CU_ASSERT_EQUAL(rc, 0);
		if (rc)
			continue;
		int v = verify(&e, cases[i].verify_as, digest, dlen, sig, slen);
		if (v < 0)
			fprintf(stderr, "\n  %s %s does not verify: %s\n", what,
				gnutls_sign_get_name(cases[i].verify_as),
				gnutls_strerror(v));
		CU_ASSERT_TRUE(v >= 0);
		/* the same signature over another digest must not verify */
		digest[0] ^= 1;
		CU_ASSERT_TRUE(verify(&e, cases[i].verify_as, digest, dlen, sig,
				      slen) < 0);
		h->free(h, sig);
	}
}

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

static void test_sign(void)
{
	void *st;

	CU_ASSERT_EQUAL_FATAL(
	    open_file(pem, PEM_FILE, "pem-rsa-pkcs1.pem", "", &st), 0);
	check_signatures(pem, st, "PEM RSA", rsa_cases,
			 G_N_ELEMENTS(rsa_cases));
	pem->close(h, st);
	CU_ASSERT_EQUAL_FATAL(
	    open_file(pfx, PFX_FILE, "pfx-nss.p12", PASS, &st), 0);
	check_signatures(pfx, st, "PFX RSA", rsa_cases,
			 G_N_ELEMENTS(rsa_cases));
	pfx->close(h, st);
	CU_ASSERT_EQUAL_FATAL(
	    open_file(pem, PEM_FILE, "pem-ec-sec1.pem", "", &st), 0);
	check_signatures(pem, st, "PEM EC", ec_cases, G_N_ELEMENTS(ec_cases));
	pem->close(h, st);
	CU_ASSERT_EQUAL_FATAL(
	    open_file(pfx, PFX_FILE, "pfx-openssl-ec.p12", PASS, &st), 0);
	check_signatures(pfx, st, "PFX EC", ec_cases, G_N_ELEMENTS(ec_cases));
	pfx->close(h, st);
}

static void test_sign_refused(void)
{
	unsigned char digest[32] = {0}, *sig = NULL;
	struct spop_cert_entry e;
	size_t slen = 0;
	void *rsa, *ec, *k;

	CU_ASSERT_EQUAL_FATAL(
	    open_file(pem, PEM_FILE, "pem-rsa-pkcs8.pem", "", &rsa), 0);
	CU_ASSERT_EQUAL_FATAL(
	    open_file(pem, PEM_FILE, "pem-ec-pkcs8.pem", "", &ec), 0);

	k = first_key(pem, rsa, &e);
	CU_ASSERT_EQUAL(pem->key_sign(h, k, SPOP_KEY_ECDSA, SPOP_HASH_SHA256,
				      digest, 32, &sig, &slen),
			273);
	CU_ASSERT_TRUE(error_is(273, "ECDSA", "RSA key", NULL));
	CU_ASSERT_EQUAL(pem->key_sign(h, k, SPOP_KEY_RSA_PSS, SPOP_HASH_SHA1,
				      digest, 20, &sig, &slen),
			1212);
	CU_ASSERT_EQUAL(pem->key_sign(h, k, SPOP_KEY_RSA_PKCS1,
				      SPOP_HASH_SHA256, digest, 20, &sig,
				      &slen),
			1211);
	CU_ASSERT_TRUE(error_is(1211, "32 bytes, not 20", NULL));
	CU_ASSERT_EQUAL(pem->key_sign(h, k, SPOP_KEY_RSA_PKCS1, 99, digest, 32,
				      &sig, &slen),
			1211);
	CU_ASSERT_EQUAL(
	    pem->key_sign(h, k, 42, SPOP_HASH_SHA256, digest, 32, &sig, &slen),
	    1211);
	CU_ASSERT_PTR_NULL(sig);

	k = first_key(pem, ec, &e);
	CU_ASSERT_EQUAL(pem->key_sign(h, k, SPOP_KEY_RSA_PKCS1,
				      SPOP_HASH_SHA256, digest, 32, &sig,
				      &slen),
			273);
	CU_ASSERT_TRUE(error_is(273, "EC", "pem-ec-pkcs8.pem", NULL));
	CU_ASSERT_EQUAL(pem->key_sign(h, k, SPOP_KEY_ECDSA, SPOP_HASH_MD5,
				      digest, 16, &sig, &slen),
			1212);
	CU_ASSERT_TRUE(error_is(1212, "no ECDSA with MD5", NULL));
	CU_ASSERT_PTR_NULL(sig);
	pem->close(h, rsa);
	pem->close(h, ec);
}

static void check_decrypt(const struct spop_certstore_ops *ops, void *key,
			  const char *file, int padding, int hash)
{
	size_t clen, plen;
	unsigned char *c = slurp(file, &clen),
		      *plain = slurp("plain.bin", &plen);
	unsigned char *out = NULL;
	size_t olen = 0;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
	rc = ops->key_decrypt(h, key, padding, hash, c, clen, &out, &olen);
	if (rc)
		fprintf(stderr, "\n  %s: %s\n", file, error_text());
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(olen, plen);
	CU_ASSERT_TRUE(out && olen == plen && memcmp(out, plain, plen) == 0);
	h->free(h, out);
	g_free(c);
	g_free(plain);
}

static void check_decrypt_fails(const struct spop_certstore_ops *ops, void *key,
				const char *file, size_t cut, int padding,
				int hash, const char *why)
{
	size_t clen;
	unsigned char *c = slurp(file, &clen), *out = NULL;
	size_t olen = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(
	    ops->key_decrypt(h, key, padding, hash, c, clen - cut, &out, &olen),
	    284);
	CU_ASSERT_TRUE(error_is(284, why, NULL));
	CU_ASSERT_PTR_NULL(out);
	g_free(c);
}

static void test_decrypt(void)
{
	static const struct {
		const struct spop_certstore_ops **ops;
		int type;
		const char *file, *password;
	} stores[] = {
	    {&pem, PEM_FILE, "pem-rsa-pkcs1.pem", ""},
	    {&pem, PEM_FILE, "pem-rsa-legacy-enc.pem", PASS},
	    {&pfx, PFX_FILE, "pfx-openssl.p12", PASS},
	    {&pfx, PFX_FILE, "pfx-nss.p12", PASS},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(stores); i++) {
		const struct spop_certstore_ops *ops = *stores[i].ops;
		struct spop_cert_entry e;
		void *st, *key;

		CU_ASSERT_EQUAL_FATAL(open_file(ops, stores[i].type,
						stores[i].file,
						stores[i].password, &st),
				      0);
		key = first_key(ops, st, &e);
		CU_ASSERT_PTR_NOT_NULL_FATAL(key);
		check_decrypt(ops, key, "enc-pkcs1.bin", SPOP_KEY_RSA_PKCS1, 0);
		check_decrypt(ops, key, "enc-oaep-sha1.bin", SPOP_KEY_RSA_OAEP,
			      SPOP_HASH_SHA1);
		check_decrypt(ops, key, "enc-oaep-sha1.bin", SPOP_KEY_RSA_OAEP,
			      0);
		check_decrypt(ops, key, "enc-oaep-sha256.bin",
			      SPOP_KEY_RSA_OAEP, SPOP_HASH_SHA256);
		/* the wrong OAEP hash, a cut ciphertext, the wrong padding */
		check_decrypt_fails(ops, key, "enc-oaep-sha256.bin", 0,
				    SPOP_KEY_RSA_OAEP, SPOP_HASH_SHA1,
				    "RSA-OAEP (sha1)");
		check_decrypt_fails(ops, key, "enc-oaep-sha1.bin", 1,
				    SPOP_KEY_RSA_OAEP, SPOP_HASH_SHA1,
				    "ciphertext is 255 bytes");
		check_decrypt_fails(ops, key, "enc-pkcs1.bin", 0,
				    SPOP_KEY_RSA_OAEP, SPOP_HASH_SHA256,
				    "RSA-OAEP (sha256)");
		check_decrypt_fails(ops, key, "enc-pkcs1.bin", 1,
				    SPOP_KEY_RSA_PKCS1, 0, "PKCS#1 v1.5");
		check_decrypt_fails(ops, key, "enc-pkcs1.bin", 0, 7, 0,
				    "unknown padding 7");
		check_decrypt_fails(ops, key, "enc-oaep-sha1.bin", 0,
				    SPOP_KEY_RSA_OAEP, SPOP_HASH_MD5,
				    "OAEP hash");
		ops->close(h, st);
	}

	/* An EC key does not decrypt. */
	struct spop_cert_entry e;
	void *st;
	CU_ASSERT_EQUAL_FATAL(
	    open_file(pem, PEM_FILE, "pem-ec-sec1.pem", "", &st), 0);
	check_decrypt_fails(pem, first_key(pem, st, &e), "enc-pkcs1.bin", 0,
			    SPOP_KEY_RSA_PKCS1, 0, "EC/ECDSA key");
	pem->close(h, st);
}

/* The exported PKCS#8 is read by openssl and has the certificate's public
 * key. */
static void check_export(const struct spop_certstore_ops *ops, int type,
			 const char *file, const char *password,
			 const char *cert)
{
	struct spop_cert_entry e;
	unsigned char *p8 = NULL;
	size_t len = 0;
	void *st;

	CU_ASSERT_EQUAL_FATAL(open_file(ops, type, file, password, &st), 0);
	void *key = first_key(ops, st, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	CU_ASSERT_EQUAL_FATAL(ops->key_export(h, key, &p8, &len), 0);
	ops->close(h, st);
	CU_ASSERT_TRUE_FATAL(len > 0);

	char *out = path("exported.p8");
	CU_ASSERT_TRUE(g_file_set_contents(out, (char *)p8, (gssize)len, NULL));
	h->free(h, p8);
	char *from_key = NULL, *from_cert = NULL;
	char *a1[] = {"openssl", "pkey", "-inform", "DER",
		      "-in",	 out,	 "-pubout", NULL};
	char *a2[] = {"openssl", "x509",   "-in", (char *)cert,
		      "-pubkey", "-noout", NULL};
	CU_ASSERT_EQUAL(run_out(a1, &from_key), 0);
	CU_ASSERT_EQUAL(run_out(a2, &from_cert), 0);
	CU_ASSERT_TRUE(from_key && from_cert && *from_key &&
		       strstr(from_key, "BEGIN PUBLIC KEY") &&
		       strcmp(from_key, from_cert) == 0);
	/* and it is PKCS#8 ("PRIVATE KEY"), not a traditional encoding */
	char *a3[] = {"openssl", "asn1parse", "-inform", "DER",
		      "-in",	 out,	      NULL};
	char *parsed = NULL;
	CU_ASSERT_EQUAL(run_out(a3, &parsed), 0);
	CU_ASSERT_PTR_NOT_NULL(parsed && strstr(parsed, "OCTET STRING"));
	unlink(out);
	g_free(parsed);
	g_free(from_key);
	g_free(from_cert);
	g_free(out);
}

static void test_export(void)
{
	check_export(pem, PEM_FILE, "pem-rsa-pkcs8-enc.pem", PASS, "rsa.crt");
	check_export(pem, PEM_FILE, "pem-ec-sec1.pem", "", "ec.crt");
	check_export(pfx, PFX_FILE, "pfx-openssl-legacy.p12", PASS, "rsa.crt");
	check_export(pfx, PFX_FILE, "pfx-openssl-ec.p12", PASS, "ec.crt");
	check_export(pfx, PFX_FILE, "pfx-unencrypted.p12", PASS, "rsa.crt");
}

/* ---- publickey ---------------------------------------------------------- */

static const struct {
	const char *file;
	struct expect x;
} pub_files[] = {
    {"rsa.crt", {{"rsa.der"}, {false}, 1}},
    {"rsa.der", {{"rsa.der"}, {false}, 1}},
    {"certs-three.pem",
     {{"rsa.der", "ca.der", "ec.der"}, {false, false, false}, 3}},
    /* a PEMKey text read as certificates: its key is not an entry's */
    {"pem-rsa-pkcs1.pem", {{"rsa.der", "ca.der"}, {false, false}, 2}},
};

static void test_pub_files(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(pub_files); i++) {
		void *st = NULL;
		int rc = open_file(pub, PUB_FILE, pub_files[i].file, "", &st);

		if (rc)
			fprintf(stderr, "\n  %s: %s\n", pub_files[i].file,
				error_text());
		CU_ASSERT_EQUAL(rc, 0);
		if (rc)
			continue;
		check_entries(pub, st, pub_files[i].file, &pub_files[i].x);
		pub->close(h, st);
	}
}

/* A blob as it is, and its base64 (one line). */
static void check_blob_forms(const struct spop_certstore_ops *ops, int type,
			     const char *file, const char *password,
			     const struct expect *x)
{
	size_t len;
	unsigned char *data = slurp(file, &len);
	char *b64, *what;
	void *st = NULL;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	rc = open_blob(ops, type, data, len, password, &st);
	if (rc)
		fprintf(stderr, "\n  blob %s: %s\n", file, error_text());
	CU_ASSERT_EQUAL(rc, 0);
	if (!rc) {
		what = g_strdup_printf("blob of %s", file);
		check_entries(ops, st, what, x);
		g_free(what);
		ops->close(h, st);
	}
	b64 = g_base64_encode(data, len);
	rc = open_blob(ops, type, b64, strlen(b64), password, &st);
	if (rc)
		fprintf(stderr, "\n  base64 blob %s: %s\n", file, error_text());
	CU_ASSERT_EQUAL(rc, 0);
	if (!rc) {
		what = g_strdup_printf("base64 blob of %s", file);
		check_entries(ops, st, what, x);
		g_free(what);
		ops->close(h, st);
	}
	g_free(b64);
	g_free(data);
}

static void test_pub_blobs(void)
{
	static const struct expect one = {{"rsa.der"}, {false}, 1};
	static const struct expect three = {
	    {"rsa.der", "ca.der", "ec.der"}, {false, false, false}, 3};

	check_blob_forms(pub, PUB_BLOB, "rsa.crt", "", &one);
	check_blob_forms(pub, PUB_BLOB, "rsa.der", "", &one);
	check_blob_forms(pub, PUB_BLOB, "certs-three.pem", "", &three);
}

static void test_pub_errors(void)
{
	size_t len;
	unsigned char *der;
	void *st = NULL;

	CU_ASSERT_EQUAL(open_file(pub, PUB_FILE, "missing.crt", "", &st), 271);
	CU_ASSERT_TRUE(
	    error_is(271, "missing.crt", "No such file or directory", NULL));
	CU_ASSERT_EQUAL(open_file(pub, PUB_FILE, "garbage.bin", "", &st), 271);
	CU_ASSERT_TRUE(error_is(271, "garbage.bin", "neither PEM", NULL));
	CU_ASSERT_EQUAL(open_file(pub, PUB_FILE, "pem-key-only.pem", "", &st),
			271);
	CU_ASSERT_TRUE(
	    error_is(271, "pem-key-only.pem", "no certificate", NULL));
	CU_ASSERT_EQUAL(open_file(pub, PUB_FILE, "p7b-openssl.p7b", "", &st),
			271);
	CU_ASSERT_TRUE(
	    error_is(271, "p7b-openssl.p7b", "no certificate", NULL));
	CU_ASSERT_EQUAL(open_file(pub, PUB_FILE, "pfx-openssl.p12", "", &st),
			271);
	CU_ASSERT_EQUAL(pub->open(h, PUB_BLOB, NULL, 0, "", &st), 271);
	CU_ASSERT_TRUE(error_is(271, "PublicKey blob", "empty", NULL));

	der = slurp("rsa.der", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	CU_ASSERT_EQUAL(open_blob(pub, PUB_BLOB, der, len - 10, "", &st), 271);
	CU_ASSERT_TRUE(error_is(271, "PublicKey blob", "not a valid", NULL));
	g_free(der);
	der = slurp("garbage.bin", &len);
	CU_ASSERT_EQUAL(open_blob(pub, PUB_BLOB, der, len, "", &st), 271);
	CU_ASSERT_TRUE(error_is(271, "PublicKey blob", "base64", NULL));
	g_free(der);
	CU_ASSERT_PTR_NULL(st);
}

/* ---- p7b ---------------------------------------------------------------- */

static const struct expect openssl_bundle = {
    {"rsa.der", "ca.der"}, {false, false}, 2};
static const struct expect certtool_bundle = {
    {"ec.der", "ca.der"}, {false, false}, 2};

static void test_p7b_files(void)
{
	static const struct {
		const char *file;
		const struct expect *x;
	} files[] = {
	    {"p7b-openssl.p7b", &openssl_bundle},
	    {"p7b-openssl.der", &openssl_bundle},
	    {"p7b-certtool.p7b", &certtool_bundle},
	    {"p7b-certtool.der", &certtool_bundle},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
		void *st = NULL;
		int rc = open_file(p7b, P7B_FILE, files[i].file, "", &st);

		if (rc)
			fprintf(stderr, "\n  %s: %s\n", files[i].file,
				error_text());
		CU_ASSERT_EQUAL(rc, 0);
		if (rc)
			continue;
		check_entries(p7b, st, files[i].file, files[i].x);
		p7b->close(h, st);
	}
}

static void test_p7b_blobs(void)
{
	check_blob_forms(p7b, P7B_BLOB, "p7b-openssl.der", "", &openssl_bundle);
	check_blob_forms(p7b, P7B_BLOB, "p7b-certtool.der", "",
			 &certtool_bundle);

	/* PEM text as a blob */
	size_t len;
	unsigned char *text = slurp("p7b-certtool.p7b", &len);
	void *st = NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL_FATAL(open_blob(p7b, P7B_BLOB, text, len, "", &st), 0);
	check_entries(p7b, st, "PEM P7B blob", &certtool_bundle);
	p7b->close(h, st);
	g_free(text);
}

static void test_p7b_errors(void)
{
	size_t len;
	unsigned char *der;
	void *st = NULL;

	CU_ASSERT_EQUAL(open_file(p7b, P7B_FILE, "p7b-empty.p7b", "", &st),
			271);
	CU_ASSERT_TRUE(
	    error_is(271, "p7b-empty.p7b", "holds no certificate", NULL));
	CU_ASSERT_EQUAL(open_file(p7b, P7B_FILE, "missing.p7b", "", &st), 271);
	CU_ASSERT_TRUE(
	    error_is(271, "missing.p7b", "No such file or directory", NULL));
	CU_ASSERT_EQUAL(open_file(p7b, P7B_FILE, "garbage.bin", "", &st), 271);
	CU_ASSERT_TRUE(error_is(271, "garbage.bin", "not a PKCS#7", NULL));
	CU_ASSERT_EQUAL(open_file(p7b, P7B_FILE, "rsa.crt", "", &st), 271);
	CU_ASSERT_TRUE(error_is(271, "rsa.crt", "not a PKCS#7", NULL));
	CU_ASSERT_EQUAL(open_file(p7b, P7B_FILE, "pfx-openssl.p12", "", &st),
			271);
	der = slurp("p7b-openssl.der", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	CU_ASSERT_EQUAL(open_blob(p7b, P7B_BLOB, der, len / 2, "", &st), 271);
	CU_ASSERT_TRUE(error_is(271, "P7B blob", "base64", NULL));
	g_free(der);
	CU_ASSERT_EQUAL(p7b->open(h, P7B_BLOB, NULL, 0, "", &st), 271);
	CU_ASSERT_PTR_NULL(st);
}

/* ---- key_derive --------------------------------------------------------- */

/* The store's first key derives with the peer's point what openssl pkeyutl
 * -derive wrote. */
static void check_derive(const struct spop_certstore_ops *ops, void *st,
			 const char *what, const char *point_file,
			 const char *secret_file)
{
	struct spop_cert_entry e;
	size_t plen, slen, olen = 0;
	unsigned char *point = slurp(point_file, &plen),
		      *want = slurp(secret_file, &slen), *out = NULL;
	void *key = first_key(ops, st, &e);
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	CU_ASSERT_PTR_NOT_NULL_FATAL(point);
	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	rc = ops->key_derive(h, key, point, plen, &out, &olen);
	if (rc)
		fprintf(stderr, "\n  %s: %s\n", what, error_text());
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(olen, slen);
	if (!(out && olen == slen && memcmp(out, want, slen) == 0))
		fprintf(stderr, "\n  %s: the secret is not openssl's\n", what);
	CU_ASSERT_TRUE(out && olen == slen && memcmp(out, want, slen) == 0);
	h->free(h, out);
	g_free(point);
	g_free(want);
}

static void test_derive(void)
{
	static const struct {
		const struct spop_certstore_ops **ops;
		int type;
		const char *file, *password, *point, *secret;
	} cases[] = {
	    {&pem, PEM_FILE, "pem-ec-sec1.pem", "", "peer256.point",
	     "derive-256.bin"},
	    {&pem, PEM_FILE, "pem-ec-pkcs8.pem", "", "peer256.point",
	     "derive-256.bin"},
	    {&pfx, PFX_FILE, "pfx-openssl-ec.p12", PASS, "peer256.point",
	     "derive-256.bin"},
	    {&pem, PEM_FILE, "pem-ec384.pem", "", "peer384.point",
	     "derive-384.bin"},
	    {&pfx, PFX_FILE, "pfx-ec384.p12", PASS, "peer384.point",
	     "derive-384.bin"},
	    {&pem, PEM_FILE, "pem-ec521.pem", "", "peer521.point",
	     "derive-521.bin"},
	    {&jwk, JWK_FILE, "jwk-ec.json", "", "peer256.point",
	     "derive-256.bin"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const struct spop_certstore_ops *ops = *cases[i].ops;
		void *st;

		CU_ASSERT_EQUAL_FATAL(open_file(ops, cases[i].type,
						cases[i].file,
						cases[i].password, &st),
				      0);
		check_derive(ops, st, cases[i].file, cases[i].point,
			     cases[i].secret);
		ops->close(h, st);
	}
}

static void check_derive_refused(void *key, const unsigned char *point,
				 size_t len, const char *why)
{
	unsigned char *out = NULL;
	size_t olen = 7;

	CU_ASSERT_EQUAL(pem->key_derive(h, key, point, len, &out, &olen), 273);
	CU_ASSERT_TRUE(error_is(273, why, NULL));
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(olen, 0);
}

static void test_derive_refused(void)
{
	struct spop_cert_entry e;
	size_t len, len384;
	unsigned char *point = slurp("peer256.point", &len),
		      *point384 = slurp("peer384.point", &len384);
	void *ec, *rsa, *k;

	CU_ASSERT_PTR_NOT_NULL_FATAL(point);
	CU_ASSERT_PTR_NOT_NULL_FATAL(point384);
	CU_ASSERT_EQUAL_FATAL(
	    open_file(pem, PEM_FILE, "pem-rsa-pkcs8.pem", "", &rsa), 0);
	CU_ASSERT_EQUAL_FATAL(
	    open_file(pem, PEM_FILE, "pem-ec-sec1.pem", "", &ec), 0);

	/* an RSA key does not agree keys */
	check_derive_refused(first_key(pem, rsa, &e), point, len,
			     "not an EC key");

	k = first_key(pem, ec, &e);
	/* a point of another curve, compressed, empty */
	check_derive_refused(k, point384, len384, "uncompressed SECP256R1");
	CU_ASSERT_TRUE(error_is(273, "got 97 bytes", NULL));
	point[0] = 0x02;
	check_derive_refused(k, point, 33, "uncompressed");
	point[0] = 0x04;
	check_derive_refused(k, NULL, 0, "got nothing");
	/* not on the curve: Y changed, and the all-zero point */
	unsigned char off[65];
	memcpy(off, point, len);
	off[64] ^= 1;
	check_derive_refused(k, off, len, "not a point on its curve");
	memset(off + 1, 0, 64);
	check_derive_refused(k, off, len, "not a point on its curve");
	/* and the genuine point still works after all that */
	unsigned char *out = NULL;
	size_t olen = 0;
	CU_ASSERT_EQUAL(pem->key_derive(h, k, point, len, &out, &olen), 0);
	CU_ASSERT_EQUAL(olen, 32);
	h->free(h, out);
	pem->close(h, rsa);
	pem->close(h, ec);
	g_free(point);
	g_free(point384);
}

/* ---- dirstore ----------------------------------------------------------- */

static char *stores;	     /* SPOP_CERT_DIR */
static char *machine_stores; /* SPOP_MACHINE_CERT_DIR */

/* Copies a data file into a store directory under a new name. */
static void put(const char *base, const char *store, const char *name,
		const char *from)
{
	char *d = g_build_filename(base, store, NULL);
	char *to = g_build_filename(d, name, NULL);
	size_t len;
	unsigned char *data = slurp(from, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_EQUAL_FATAL(g_mkdir_with_parents(d, 0700), 0);
	CU_ASSERT_TRUE_FATAL(
	    g_file_set_contents(to, (char *)data, (gssize)len, NULL));
	g_free(data);
	g_free(to);
	g_free(d);
}

static void make_stores(void)
{
	if (stores)
		return;
	stores = path("user-stores");
	machine_stores = path("machine-stores");
	/* MY: a PEM key with its certificate and CA, a PFX, a CA-only PEM
	 * file, a DER certificate, and things that are not certificates. */
	put(stores, "MY", "10-rsa.pem", "pem-rsa-pkcs1.pem");
	put(stores, "MY", "20-ec.pfx", "pfx-openssl-ec.p12");
	put(stores, "MY", "30-ca.pem", "ca.crt");
	put(stores, "MY", "40-other.cer", "other.der");
	put(stores, "MY", "README", "plain.bin");
	put(stores, "MY", ".hidden.pem", "pem-ec-sec1.pem");
	put(stores, "MY/subdir", "ignored.pem", "pem-ec-sec1.pem");
	/* LOCKED: only files that need the password */
	put(stores, "LOCKED", "a.p12", "pfx-openssl.p12");
	put(stores, "LOCKED", "b.pem", "pem-rsa-pkcs8-enc.pem");
	put(stores, "BROKEN", "a.pem", "ca.crt");
	put(stores, "BROKEN", "bad.P12", "garbage.bin");
	put(stores, "EMPTY", "README", "plain.bin");
	put(machine_stores, "Root", "ca.pem", "ca.crt");
	g_setenv("SPOP_CERT_DIR", stores, TRUE);
	g_setenv("SPOP_MACHINE_CERT_DIR", machine_stores, TRUE);
}

static int open_dir(int type, const char *store, const char *password,
		    void **st)
{
	*st = NULL;
	return dirst->open(h, type, (const unsigned char *)store, strlen(store),
			   password, st);
}

static void test_dir_my(void)
{
	/* files in name order, each file's entries in its own order:
	 * 10-rsa.pem (rsa with its key, ca), 20-ec.pfx (ec with its key),
	 * 30-ca.pem, 40-other.cer (DER) */
	static const struct expect all = {
	    {"rsa.der", "ca.der", "ec.der", "ca.der", "other.der"},
	    {true, false, true, false, false},
	    5};
	struct spop_cert_entry e, ec;
	void *st = NULL;
	int rc;

	make_stores();
	g_string_truncate(trail, 0);
	rc = open_dir(USER_STORE, "MY", PASS, &st);
	if (rc)
		fprintf(stderr, "\n  MY: %s\n", error_text());
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	check_entries(dirst, st, "User store MY", &all);
	CU_ASSERT_TRUE(error_is(272, "User store 'MY'", stores, NULL));
	/* README is named in the trail; hidden files and subdirectories are
	 * not read at all */
	CU_ASSERT_PTR_NOT_NULL(strstr(trail->str, "2 User store 'MY'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(trail->str, "skipped 'README'"));
	CU_ASSERT_PTR_NULL(strstr(trail->str, "hidden"));
	CU_ASSERT_PTR_NULL(strstr(trail->str, "ignored"));
	CU_ASSERT_PTR_NOT_NULL(strstr(trail->str, "5 entries from 4 files"));

	/* the keys work: the PEM's RSA key decrypts, the PFX's EC key signs
	 * and derives */
	check_decrypt(dirst, first_key(dirst, st, &e), "enc-oaep-sha256.bin",
		      SPOP_KEY_RSA_OAEP, SPOP_HASH_SHA256);
	CU_ASSERT_EQUAL_FATAL(dirst->entry(h, st, 2, &ec), 0);
	unsigned char digest[32], *sig = NULL, *out = NULL;
	size_t slen = 0, olen = 0, plen, wlen;
	gnutls_hash_fast(GNUTLS_DIG_SHA256, "dirstore", 8, digest);
	CU_ASSERT_EQUAL(dirst->key_sign(h, ec.key, SPOP_KEY_ECDSA,
					SPOP_HASH_SHA256, digest, 32, &sig,
					&slen),
			0);
	CU_ASSERT_TRUE(
	    verify(&ec, GNUTLS_SIGN_ECDSA_SHA256, digest, 32, sig, slen) >= 0);
	h->free(h, sig);
	unsigned char *point = slurp("peer256.point", &plen),
		      *want = slurp("derive-256.bin", &wlen);
	CU_ASSERT_EQUAL(dirst->key_derive(h, ec.key, point, plen, &out, &olen),
			0);
	CU_ASSERT_TRUE(out && olen == wlen && memcmp(out, want, wlen) == 0);
	h->free(h, out);
	g_free(point);
	g_free(want);
	dirst->close(h, st);
}

static void test_dir_password(void)
{
	struct spop_cert_entry e;
	void *st = NULL;

	make_stores();
	/* MY with a wrong password: the PFX is skipped and named, the rest
	 * is served */
	g_string_truncate(trail, 0);
	CU_ASSERT_EQUAL_FATAL(open_dir(USER_STORE, "MY", "wrong", &st), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(trail->str, "skipped '20-ec.pfx'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(trail->str, "Wrong password"));
	CU_ASSERT_EQUAL(dirst->entry(h, st, 0, &e), 0);
	CU_ASSERT_TRUE(der_equals_file(&e, "rsa.der"));
	CU_ASSERT_PTR_NOT_NULL(e.key);
	CU_ASSERT_EQUAL(dirst->entry(h, st, 2, &e), 0);
	CU_ASSERT_TRUE(der_equals_file(&e, "ca.der"));
	CU_ASSERT_EQUAL(dirst->entry(h, st, 3, &e), 0);
	CU_ASSERT_TRUE(der_equals_file(&e, "other.der"));
	CU_ASSERT_EQUAL(dirst->entry(h, st, 4, &e), 272);
	CU_ASSERT_TRUE(error_is(272, "4 entries", "20-ec.pfx", NULL));
	dirst->close(h, st);

	/* LOCKED: no file opens without the password: 273 naming both */
	CU_ASSERT_EQUAL(open_dir(USER_STORE, "LOCKED", "wrong", &st), 273);
	CU_ASSERT_TRUE(error_is(273, "opens none", "a.p12", "b.pem",
				"Wrong password", NULL));
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_EQUAL(open_dir(USER_STORE, "LOCKED", "", &st), 273);
	CU_ASSERT_TRUE(error_is(273, "needs a password", NULL));
	CU_ASSERT_EQUAL_FATAL(open_dir(USER_STORE, "LOCKED", PASS, &st), 0);
	/* a.p12: rsa (key), ca; b.pem: ca, rsa (key) */
	static const struct expect locked = {
	    {"rsa.der", "ca.der", "ca.der", "rsa.der"},
	    {true, false, false, true},
	    4};
	check_entries(dirst, st, "LOCKED", &locked);
	dirst->close(h, st);
}

static void test_dir_errors(void)
{
	struct spop_cert_entry e;
	void *st = NULL;

	make_stores();
	static const char *const bad[] = {"../x", "a/b", "MY ", ".", "M*"};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		CU_ASSERT_EQUAL(open_dir(USER_STORE, bad[i], PASS, &st), 271);
		CU_ASSERT_TRUE(error_is(271, "store name", NULL));
	}
	CU_ASSERT_EQUAL(open_dir(USER_STORE, "", PASS, &st), 271);
	CU_ASSERT_EQUAL(dirst->open(h, USER_STORE,
				    (const unsigned char *)"MY\0../x", 7, "",
				    &st),
			271);
	CU_ASSERT_TRUE(error_is(271, "store name", NULL));
	char *long_name = g_strnfill(256, 'A');
	CU_ASSERT_EQUAL(open_dir(USER_STORE, long_name, "", &st), 271);
	g_free(long_name);

	/* a missing store names the directory */
	char *want = g_build_filename(stores, "NOPE", NULL);
	CU_ASSERT_EQUAL(open_dir(USER_STORE, "NOPE", PASS, &st), 271);
	CU_ASSERT_TRUE(error_is(271, want, "No such file or directory", NULL));
	g_free(want);
	/* a damaged file fails the store, naming the file */
	CU_ASSERT_EQUAL(open_dir(USER_STORE, "BROKEN", PASS, &st), 271);
	CU_ASSERT_TRUE(error_is(271, "bad.P12", "not a PKCS#12", NULL));
	CU_ASSERT_PTR_NULL(st);

	/* an empty store opens, and has no entry */
	CU_ASSERT_EQUAL_FATAL(open_dir(USER_STORE, "EMPTY", "", &st), 0);
	CU_ASSERT_EQUAL(dirst->entry(h, st, 0, &e), 272);
	CU_ASSERT_TRUE(error_is(272, "EMPTY", "holds no certificate", NULL));
	dirst->close(h, st);
}

static void test_dir_locations(void)
{
	struct spop_cert_entry e;
	void *st = NULL;

	make_stores();
	/* Machine, and a store name that differs only in case */
	CU_ASSERT_EQUAL_FATAL(open_dir(MACHINE_STORE, "ROOT", "", &st), 0);
	CU_ASSERT_EQUAL(dirst->entry(h, st, 0, &e), 0);
	CU_ASSERT_TRUE(der_equals_file(&e, "ca.der"));
	CU_ASSERT_EQUAL(dirst->entry(h, st, 1, &e), 272);
	CU_ASSERT_TRUE(error_is(272, "Machine store 'ROOT'", "Root", NULL));
	dirst->close(h, st);
	CU_ASSERT_EQUAL_FATAL(open_dir(USER_STORE, "my", PASS, &st), 0);
	CU_ASSERT_EQUAL(dirst->entry(h, st, 0, &e), 0);
	CU_ASSERT_TRUE(der_equals_file(&e, "rsa.der"));
	dirst->close(h, st);
	/* the User stores are not the Machine ones */
	CU_ASSERT_EQUAL(open_dir(USER_STORE, "ROOT", "", &st), 271);
	CU_ASSERT_EQUAL(open_dir(MACHINE_STORE, "MY", "", &st), 271);
	CU_ASSERT_TRUE(error_is(271, "machine-stores", NULL));

	/* Without SPOP_CERT_DIR: $XDG_DATA_HOME/spop/certs/<STORE>, then
	 * ~/.local/share/spop/certs/<STORE> (a relative XDG_DATA_HOME is
	 * ignored, as the XDG spec says). */
	char *xdg = path("xdg"), *home = path("home");
	char *old_home = g_strdup(g_getenv("HOME"));
	char *old_xdg = g_strdup(g_getenv("XDG_DATA_HOME"));
	char *xdg_stores = g_build_filename(xdg, "spop", "certs", NULL);
	char *home_stores =
	    g_build_filename(home, ".local", "share", "spop", "certs", NULL);
	put(xdg_stores, "MY", "ec.pem", "pem-ec-sec1.pem");
	put(home_stores, "CA", "ca.crt", "ca.crt");
	g_unsetenv("SPOP_CERT_DIR");
	g_setenv("XDG_DATA_HOME", xdg, TRUE);
	g_setenv("HOME", home, TRUE);
	CU_ASSERT_EQUAL(open_dir(USER_STORE, "MY", "", &st), 0);
	if (st) {
		CU_ASSERT_EQUAL(dirst->entry(h, st, 0, &e), 0);
		CU_ASSERT_TRUE(der_equals_file(&e, "ec.der"));
		CU_ASSERT_PTR_NOT_NULL(e.key);
		dirst->close(h, st);
	}
	CU_ASSERT_EQUAL(open_dir(USER_STORE, "CA", "", &st), 271);
	CU_ASSERT_TRUE(error_is(271, xdg_stores, NULL));
	g_setenv("XDG_DATA_HOME", "relative/dir", TRUE);
	CU_ASSERT_EQUAL(open_dir(USER_STORE, "CA", "", &st), 0);
	if (st) {
		CU_ASSERT_EQUAL(dirst->entry(h, st, 0, &e), 0);
		CU_ASSERT_TRUE(der_equals_file(&e, "ca.der"));
		dirst->close(h, st);
	}
	g_unsetenv("XDG_DATA_HOME");
	CU_ASSERT_EQUAL(open_dir(USER_STORE, "MY", "", &st), 271);
	CU_ASSERT_TRUE(error_is(271, home_stores, NULL));
	/* The Machine default is /etc/spop/certs (only read here). */
	g_unsetenv("SPOP_MACHINE_CERT_DIR");
	if (!g_file_test("/etc/spop/certs/MY", G_FILE_TEST_EXISTS)) {
		CU_ASSERT_EQUAL(open_dir(MACHINE_STORE, "MY", "", &st), 271);
		CU_ASSERT_TRUE(error_is(271, "'/etc/spop/certs/MY'", NULL));
	} else {
		/* This machine has one: it must at least be that one. */
		CU_ASSERT_EQUAL(open_dir(MACHINE_STORE, "MY", "", &st), 0);
		if (st) {
			CU_ASSERT_PTR_NOT_NULL(
			    strstr(trail->str, "'/etc/spop/certs/MY'"));
			dirst->close(h, st);
		}
	}
	g_setenv("SPOP_CERT_DIR", stores, TRUE);
	g_setenv("SPOP_MACHINE_CERT_DIR", machine_stores, TRUE);
	if (old_home)
		g_setenv("HOME", old_home, TRUE);
	if (old_xdg)
		g_setenv("XDG_DATA_HOME", old_xdg, TRUE);
	g_free(old_home);
	g_free(old_xdg);
	g_free(xdg_stores);
	g_free(home_stores);
	g_free(xdg);
	g_free(home);
}

/* ---- jwk ---------------------------------------------------------------- */

static void test_jwk(void)
{
	static const struct expect rsa = {
	    {"rsa.der", "ca.der"}, {true, false}, 2};
	static const struct expect ec = {{"ec.der"}, {true}, 1};
	static const struct expect set = {
	    {"rsa.der", "ca.der"}, {false, false}, 2};
	struct spop_cert_entry e;
	void *st;

	CU_ASSERT_EQUAL_FATAL(open_file(jwk, JWK_FILE, "jwk-rsa.json", "", &st),
			      0);
	check_entries(jwk, st, "jwk-rsa.json", &rsa);
	/* the key is the certificate's: it decrypts what openssl encrypted
	 * to rsa.crt, and signs what the certificate verifies */
	check_decrypt(jwk, first_key(jwk, st, &e), "enc-pkcs1.bin",
		      SPOP_KEY_RSA_PKCS1, 0);
	check_signatures(jwk, st, "JWK RSA", rsa_cases, 1);
	jwk->close(h, st);
	CU_ASSERT_EQUAL_FATAL(open_file(jwk, JWK_FILE, "jwk-ec.json", "", &st),
			      0);
	check_entries(jwk, st, "jwk-ec.json", &ec);
	check_signatures(jwk, st, "JWK EC", ec_cases, 1);
	jwk->close(h, st);
	CU_ASSERT_EQUAL_FATAL(open_file(jwk, JWK_FILE, "jwk-set.json", "", &st),
			      0);
	check_entries(jwk, st, "jwk-set.json", &set);
	jwk->close(h, st);

	check_blob_forms(jwk, JWK_BLOB, "jwk-rsa.json", "", &rsa);
	check_blob_forms(jwk, JWK_BLOB, "jwk-set.json", "", &set);
}

static void test_jwk_errors(void)
{
	static const struct {
		const char *file;
		int code;
		const char *why;
	} cases[] = {
	    {"jwk-nox5c.json", 271, "no \"x5c\""},
	    {"jwk-mismatch.json", 273, "not the key of the first"},
	    {"jwk-noprimes.json", 273, "primes"},
	    {"jwk-badprimes.json", 273, "not coprime factors"},
	    {"jwk-badd.json", 273, "private key"},
	    {"jwk-okp.json", 273, "\"OKP\" is not supported"},
	    {"jwk-badx5c.json", 271, "x5c[1]"},
	    {"garbage.bin", 271, "not JSON"},
	    {"rsa.crt", 271, "not JSON"},
	    {"jwk-broken.json", 271, "not a JSON object"},
	    {"missing.json", 271, "No such file"},
	};
	void *st = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		CU_ASSERT_EQUAL(
		    open_file(jwk, JWK_FILE, cases[i].file, "", &st),
		    cases[i].code);
		CU_ASSERT_TRUE(
		    error_is(cases[i].code, cases[i].file, cases[i].why, NULL));
		CU_ASSERT_PTR_NULL(st);
	}
	CU_ASSERT_EQUAL(jwk->open(h, JWK_BLOB, NULL, 0, "", &st), 271);
	CU_ASSERT_EQUAL(open_blob(jwk, JWK_BLOB, "{\"kty\": 1", 9, "", &st),
			271);
	CU_ASSERT_TRUE(error_is(271, "JWK blob", NULL));
}

/* ---- probe -------------------------------------------------------------- */

static int probe_file(const struct spop_certstore_ops *ops, const char *name)
{
	char *p = path(name);
	int r = ops->probe(h, (unsigned char *)p, strlen(p), 1);

	g_free(p);
	return r;
}

static int probe_blob(const struct spop_certstore_ops *ops, const char *name,
		      bool base64)
{
	size_t len;
	unsigned char *data = slurp(name, &len);
	int r;

	if (base64) {
		char *b = g_base64_encode(data, len);

		r = ops->probe(h, (unsigned char *)b, strlen(b), 0);
		g_free(b);
	} else {
		r = ops->probe(h, data, len, 0);
	}
	g_free(data);
	return r;
}

static void test_probe(void)
{
	int before = spop_last_error_code(s);

	CU_ASSERT_EQUAL(probe_file(pem, "pem-rsa-pkcs1.pem"), 1);
	CU_ASSERT_EQUAL(probe_file(pem, "pem-rsa-pkcs8-enc.pem"), 1);
	CU_ASSERT_EQUAL(probe_file(pem, "pem-ec-sec1.pem"), 1);
	CU_ASSERT_EQUAL(probe_file(pem, "pem-key-only.pem"), 1);
	CU_ASSERT_EQUAL(probe_file(pem, "pem-certs-only.pem"), 0);
	CU_ASSERT_EQUAL(probe_file(pem, "pfx-openssl.p12"), 0);
	CU_ASSERT_EQUAL(probe_file(pem, "garbage.bin"), 0);
	CU_ASSERT_EQUAL(probe_file(pem, "missing.pem"), 0);
	CU_ASSERT_EQUAL(probe_blob(pem, "pem-ec-pkcs8.pem", false), 1);
	CU_ASSERT_EQUAL(probe_blob(pem, "pem-ec-pkcs8.pem", true), 1);
	CU_ASSERT_EQUAL(probe_blob(pem, "pfx-openssl.p12", false), 0);
	CU_ASSERT_EQUAL(probe_blob(pem, "pfx-openssl.p12", true), 0);
	CU_ASSERT_EQUAL(pem->probe(h, NULL, 0, 0), 0);

	CU_ASSERT_EQUAL(probe_file(pfx, "pfx-openssl.p12"), 1);
	CU_ASSERT_EQUAL(probe_file(pfx, "pfx-openssl-legacy.p12"), 1);
	CU_ASSERT_EQUAL(probe_file(pfx, "pfx-certtool-pem.p12"), 1);
	CU_ASSERT_EQUAL(probe_file(pfx, "pfx-nss.p12"), 1);
	CU_ASSERT_EQUAL(probe_file(pfx, "pem-rsa-pkcs1.pem"), 0);
	CU_ASSERT_EQUAL(probe_file(pfx, "garbage.bin"), 0);
	CU_ASSERT_EQUAL(probe_file(pfx, "missing.p12"), 0);
	CU_ASSERT_EQUAL(probe_blob(pfx, "pfx-nss.p12", false), 1);
	CU_ASSERT_EQUAL(probe_blob(pfx, "pfx-nss.p12", true), 1);
	CU_ASSERT_EQUAL(probe_blob(pfx, "pem-rsa-pkcs8.pem", false), 0);
	CU_ASSERT_EQUAL(probe_blob(pfx, "pem-rsa-pkcs8.pem", true), 0);
	CU_ASSERT_EQUAL(probe_blob(pfx, "garbage.bin", false), 0);
	CU_ASSERT_EQUAL(pfx->probe(h, NULL, 0, 0), 0);
	/* a probe never sets an error */
	CU_ASSERT_EQUAL(spop_last_error_code(s), before);
}

/* ---- probe: every plugin against every format ---------------------------- */

static void test_probe_matrix(void)
{
	static const struct {
		const char *file;
		const char *owner; /* NULL: nobody's */
	} formats[] = {
	    {"pfx-openssl.p12", "pfx"},	     {"pfx-certtool-pem.p12", "pfx"},
	    {"pem-rsa-pkcs1.pem", "pemkey"}, {"pem-key-only.pem", "pemkey"},
	    {"p7b-openssl.p7b", "p7b"},	     {"p7b-openssl.der", "p7b"},
	    {"p7b-certtool.der", "p7b"},     {"rsa.crt", "publickey"},
	    {"rsa.der", "publickey"},	     {"certs-three.pem", "publickey"},
	    {"jwk-rsa.json", "jwk"},	     {"jwk-set.json", "jwk"},
	    {"garbage.bin", NULL},	     {"plain.bin", NULL},
	};
	const struct {
		const char *name;
		const struct spop_certstore_ops *ops;
	} plugins[] = {
	    {"pfx", pfx},	{"pemkey", pem}, {"p7b", p7b},
	    {"publickey", pub}, {"jwk", jwk},
	};

	spi_clear_error(s);
	for (size_t f = 0; f < G_N_ELEMENTS(formats); f++)
		for (size_t p = 0; p < G_N_ELEMENTS(plugins); p++) {
			const struct spop_certstore_ops *ops = plugins[p].ops;
			int want = formats[f].owner &&
				   !strcmp(formats[f].owner, plugins[p].name);
			int as_file = probe_file(ops, formats[f].file);
			int as_blob = probe_blob(ops, formats[f].file, false);
			int as_b64 = probe_blob(ops, formats[f].file, true);

			if (as_file != want || as_blob != want ||
			    as_b64 != want)
				fprintf(stderr,
					"\n  %s probing %s: file %d, blob %d, "
					"base64 %d, expected %d\n",
					plugins[p].name, formats[f].file,
					as_file, as_blob, as_b64, want);
			CU_ASSERT_EQUAL(as_file, want);
			CU_ASSERT_EQUAL(as_blob, want);
			CU_ASSERT_EQUAL(as_b64, want);
		}
	for (size_t p = 0; p < G_N_ELEMENTS(plugins); p++) {
		CU_ASSERT_EQUAL(plugins[p].ops->probe(h, NULL, 0, 0), 0);
		CU_ASSERT_EQUAL(probe_file(plugins[p].ops, "missing"), 0);
		CU_ASSERT_EQUAL(probe_file(plugins[p].ops, "nssdb"), 0);
	}
	/* no probe ever sets an error */
	CU_ASSERT_EQUAL(spop_last_error_code(s), 0);
	CU_ASSERT_STRING_EQUAL(spop_last_error(s), "");
}

static const struct test_case cases[] = {
    {"descriptors and selection by CertStoreType", test_descriptors},
    {"types no plugin serves", test_unsupported_types},
    {"pemkey: PKCS#1, PKCS#8, encrypted, legacy, SEC1", test_pem_files},
    {"pemkey: wrong password, missing, garbage, no key", test_pem_errors},
    {"pemkey: key without a certificate", test_pem_key_only},
    {"pemkey: file name is not NUL-terminated", test_pem_name_not_terminated},
    {"pemkey: PEM and base64 blobs", test_pem_blobs},
    {"pfx: openssl, -legacy, certtool, NSS", test_pfx_files},
    {"pfx: wrong password, missing, garbage, truncated", test_pfx_errors},
    {"pfx: DER, base64 and PEM blobs", test_pfx_blobs},
    {"key_sign: PKCS#1, PSS, ECDSA verify", test_sign},
    {"key_sign: schemes the key cannot do", test_sign_refused},
    {"key_decrypt: PKCS#1, OAEP SHA-1 and SHA-256", test_decrypt},
    {"key_export: PKCS#8 openssl reads", test_export},
    {"probe", test_probe},
    {"publickey: PEM, several PEM, DER files", test_pub_files},
    {"publickey: PEM, DER and base64 blobs", test_pub_blobs},
    {"publickey: missing, garbage, no certificate", test_pub_errors},
    {"p7b: openssl crl2pkcs7 and certtool, PEM and DER", test_p7b_files},
    {"p7b: DER, PEM and base64 blobs", test_p7b_blobs},
    {"p7b: empty bundle, garbage, truncated", test_p7b_errors},
    {"key_derive: P-256 and P-384 against openssl pkeyutl", test_derive},
    {"key_derive: RSA key, bad points", test_derive_refused},
    {"dirstore: MY with PEM, PFX, CA and DER files", test_dir_my},
    {"dirstore: wrong password skips or fails", test_dir_password},
    {"dirstore: bad names, missing, damaged, empty", test_dir_errors},
    {"dirstore: Machine, XDG_DATA_HOME, HOME, case", test_dir_locations},
    {"jwk: RSA, EC, JWK Set, blobs", test_jwk},
    {"jwk: no x5c, wrong key, bad members", test_jwk_errors},
    {"probe: each plugin recognises only its own", test_probe_matrix},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"plugin-certstore", suite_init, suite_clean, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return test_run(suites);
}
