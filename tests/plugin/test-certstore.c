/* The cert-store plugins pemkey and pfx, chosen through the registry and
 * driven through the core's own host: every store is made at test time by
 * the tools that write such files in the field (make-certstore-data.sh:
 * openssl, certtool, NSS pk12util), and every result is checked against
 * what those tools say (certificate DER, public keys, plaintexts), or by
 * GnuTLS verifying a signature with the certificate's public key. */
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

#define PFX_FILE 2
#define PFX_BLOB 3
#define PEM_FILE 6
#define PEM_BLOB 7

static char *dir;
static struct spi_host host;
static struct spop_host *h;
static const struct spop_certstore_ops *pem, *pfx;

/* ---- helpers ------------------------------------------------------------ */

static char *path(const char *name)
{
	return g_build_filename(dir, name, NULL);
}

static unsigned char *slurp(const char *name, size_t *len)
{
	char *p = path(name), *data = NULL;
	gsize n = 0;

	if (!g_file_get_contents(p, &data, &n, NULL)) {
		fprintf(stderr, "cannot read %s\n", p);
		data = NULL;
	}
	g_free(p);
	*len = n;
	return (unsigned char *)data;
}

/* Runs a command; its exit status, and its stdout when out is not NULL. */
static int run(char **argv, char **out)
{
	char *err = NULL;
	int status = -1;
	GError *e = NULL;

	if (!g_spawn_sync(dir, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, out,
			  &err, &status, &e)) {
		fprintf(stderr, "%s: %s\n", argv[0], e->message);
		g_error_free(e);
		return -1;
	}
	if (status != 0)
		fprintf(stderr, "%s failed: %s\n", argv[0], err ? err : "");
	g_free(err);
	return g_spawn_check_wait_status(status, NULL) ? 0 : 1;
}

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

static const char *error_text(void)
{
	const char *e = spop_last_error(s);

	return e ? e : "";
}

/* The error of the last call has this code and mentions each of the
 * strings given (NULL-terminated); prints it when not. */
static bool error_is(int code, ...)
{
	bool ok = spop_last_error_code(s) == code;
	const char *want;
	va_list ap;

	va_start(ap, code);
	while ((want = va_arg(ap, const char *)))
		if (!strstr(error_text(), want))
			ok = false;
	va_end(ap);
	if (!ok)
		fprintf(stderr, "\n  expected %d, got %d: %s\n", code,
			spop_last_error_code(s), error_text());
	return ok;
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
	const char *der[4];
	bool keyed[4];
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
	if (run(argv, NULL) != 0) {
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
	spi_host_init(&host, s, NULL);
	h = &host.pub;
	return 0;
}

static int suite_clean(void)
{
	if (dir) {
		char *argv[] = {"rm", "-rf", dir, NULL};

		run(argv, NULL);
		g_free(dir);
	}
	return teardown();
}

/* ---- descriptors and selection ------------------------------------------ */

static void test_descriptors(void)
{
	static const struct {
		int value;
		const char *name;
	} sel[] = {{2, "pfx"}, {3, "pfx"}, {6, "pemkey"}, {7, "pemkey"}};

	for (size_t i = 0; i < 4; i++) {
		const struct spop_plugin_descriptor *d = NULL;

		CU_ASSERT_EQUAL_FATAL(
		    spi_plugin_select(s, SPOP_PLUGIN_CERTSTORE, "CertStoreType",
				      sel[i].value, &d),
		    0);
		CU_ASSERT_STRING_EQUAL(d->name, sel[i].name);
		CU_ASSERT_EQUAL(d->abi_major, SPOP_PLUGIN_ABI_MAJOR);
		CU_ASSERT_EQUAL(d->abi_minor, 1);
		CU_ASSERT_EQUAL(d->kind, SPOP_PLUGIN_CERTSTORE);
		CU_ASSERT_EQUAL(d->capabilities,
				SPOP_CAP_CERTSTORE_PRIVATE_KEYS |
				    SPOP_CAP_CERTSTORE_BLOB);
		const struct spop_certstore_ops *o = d->ops;
		CU_ASSERT_TRUE(
		    SPOP_OPS_HAS(struct spop_certstore_ops, o, probe));
		CU_ASSERT_TRUE(
		    SPOP_OPS_HAS(struct spop_certstore_ops, o, key_export));
		CU_ASSERT_PTR_NOT_NULL(o->open);
		CU_ASSERT_PTR_NOT_NULL(o->entry);
		CU_ASSERT_PTR_NOT_NULL(o->key_sign);
		CU_ASSERT_PTR_NOT_NULL(o->key_decrypt);
		CU_ASSERT_PTR_NOT_NULL(o->close);
	}
	/* Chosen from key-files, each module loaded when its type was. */
	CU_ASSERT_TRUE(mapped("spop-certstore-pemkey.so"));
	CU_ASSERT_TRUE(mapped("spop-certstore-pfx.so"));
	/* Each plugin refuses the other's types. */
	void *st;
	CU_ASSERT_EQUAL(open_file(pem, PFX_FILE, "pfx-openssl.p12", PASS, &st),
			271);
	CU_ASSERT_TRUE(error_is(271, "not 2", NULL));
	CU_ASSERT_EQUAL(open_file(pfx, PEM_FILE, "pem-rsa-pkcs8.pem", "", &st),
			271);
	CU_ASSERT_TRUE(error_is(271, "not 6", NULL));
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
	CU_ASSERT_EQUAL(run(a1, &from_key), 0);
	CU_ASSERT_EQUAL(run(a2, &from_cert), 0);
	CU_ASSERT_TRUE(from_key && from_cert && *from_key &&
		       strstr(from_key, "BEGIN PUBLIC KEY") &&
		       strcmp(from_key, from_cert) == 0);
	/* and it is PKCS#8 ("PRIVATE KEY"), not a traditional encoding */
	char *a3[] = {"openssl", "asn1parse", "-inform", "DER",
		      "-in",	 out,	      NULL};
	char *parsed = NULL;
	CU_ASSERT_EQUAL(run(a3, &parsed), 0);
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

static const struct test_case cases[] = {
    {"descriptors and selection by CertStoreType", test_descriptors},
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
