/* The core's certificate selection, written once for SSLCert*, Cert* and
 * SignerCert*, over the real cert-store plugins: the reference's subject
 * rules, CertEncoded, Auto detection, the types no plugin serves, the
 * X.509 details and spop_list_certificates. Stores are made here with
 * openssl in a temporary directory. */
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include <spop/spop.h>

#include "test-runner.h"

static char *dir;
static char *pem_path, *pfx_path, *ca_path, *leaf_der_b64;

static void run(const char *cmd)
{
	char *full = g_strdup_printf("cd '%s' && %s", dir, cmd);
	char *argv[] = {"/bin/sh", "-c", full, NULL};
	int status = -1;

	if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
			  NULL, &status, NULL) ||
	    !g_spawn_check_wait_status(status, NULL)) {
		fprintf(stderr, "failed: %s\n", full);
		g_assert_not_reached();
	}
	g_free(full);
}

/* A CA, two leaves signed by it ("alice" with a key in a PEM file and in a
 * PFX; "bob", certificate only) and the CA alone in its own file. */
static int init(void)
{
	dir = g_dir_make_tmp("spop-select-XXXXXX", NULL);
	g_setenv("SPOP_PLUGIN_PATH", PLUGIN_DIR, TRUE);
	run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
	    "-nodes -keyout ca.key -out ca.pem -days 30 "
	    "-subj '/O=libspop tests/CN=Select CA' 2>/dev/null");
	for (int i = 0; i < 2; i++) {
		const char *u = i ? "bob" : "alice";
		/* bob's serial has its top bit set: DER stores a 00 sign
		 * byte, which the serial number text leaves out */
		const char *serial = i ? "0xE26F62" : "0x616C696365";
		char *cmd = g_strdup_printf(
		    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
		    "-nodes -keyout %s.key -out %s.csr -subj "
		    "'/C=DE/O=Example, Inc./CN=%s' 2>/dev/null && openssl x509 "
		    "-req -in %s.csr "
		    "-CA "
		    "ca.pem -CAkey ca.key -set_serial %s -days 30 -out %s.pem "
		    "2>/dev/null",
		    u, u, u, u, serial, u);
		run(cmd);
		g_free(cmd);
	}
	run("cat alice.key alice.pem bob.pem > store.pem");
	run("cat bob.pem alice.key alice.pem > bob-first.pem");
	run("openssl pkcs12 -export -inkey alice.key -in alice.pem -certfile "
	    "bob.pem -passout pass:pw -out store.pfx");
	run("openssl x509 -in alice.pem -outform DER | base64 -w0 > alice.b64");
	pem_path = g_build_filename(dir, "store.pem", NULL);
	pfx_path = g_build_filename(dir, "store.pfx", NULL);
	ca_path = g_build_filename(dir, "ca.pem", NULL);
	char *b64 = g_build_filename(dir, "alice.b64", NULL);
	g_assert(g_file_get_contents(b64, &leaf_der_b64, NULL, NULL));
	g_free(b64);
	return 0;
}

static int cleanup(void)
{
	run("rm -f ca.* alice.* bob.* store.* bob-first.pem");
	g_rmdir(dir);
	g_free(dir);
	g_free(pem_path);
	g_free(pfx_path);
	g_free(ca_path);
	g_free(leaf_der_b64);
	return 0;
}

#define ALICE "CN=alice, O=Example\\, Inc., C=DE"
#define BOB   "CN=bob, O=Example\\, Inc., C=DE"

static void store(spop_t *s, const char *group, int type, const char *path,
		  const char *password)
{
	char *set = g_strdup_printf("%sStoreType=%d", group, type);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, set));
	g_free(set);
	set = g_strdup_printf("%sStore=%s", group, path);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, set));
	g_free(set);
	set = g_strdup_printf("%sStorePassword=%s", group, password);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, set));
	g_free(set);
}

static const char *subject_after(spop_t *s, const char *group,
				 const char *asked)
{
	char *set = g_strdup_printf("%sSubject=%s", group, asked);
	spop_config(s, set);
	g_free(set);
	set = g_strdup_printf("%sSubject", group);
	const char *got = spop_config(s, set);
	g_free(set);
	return got ? got : "(error)";
}

/* The reference's rules, the same for every group. */
static void test_subject_rules(void)
{
	static const char *const groups[] = {"SSLCert", "Cert", "SignerCert"};

	for (size_t i = 0; i < G_N_ELEMENTS(groups); i++) {
		spop_t *s = spop_new();
		const char *g = groups[i];

		store(s, g, SPOP_CST_PEMKEY_FILE, pem_path, "");
		/* exact, any case */
		CU_ASSERT_STRING_EQUAL(
		    subject_after(s, g, "cn=BOB, o=example\\, inc., c=de"),
		    BOB);
		/* then a subject containing the text */
		CU_ASSERT_STRING_EQUAL(subject_after(s, g, "alice"), ALICE);
		/* nothing: "" and 272 naming what was searched */
		CU_ASSERT_STRING_EQUAL(subject_after(s, g, "carol"), "");
		spop_config(s, "Timeout"); /* (Config clears the error) */
		char *set = g_strdup_printf("%sSubject=carol", g);
		CU_ASSERT_PTR_NULL(spop_config(s, set));
		g_free(set);
		CU_ASSERT_EQUAL(spop_last_error_code(s), 272);
		CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "'carol'"));
		CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), g));
		/* "*" takes alice, the first entry (and the one with a key) */
		CU_ASSERT_STRING_EQUAL(subject_after(s, g, "*"), ALICE);
		spop_free(s);
	}
}

/* "*" needs a key for Cert and SSLCert, not for SignerCert: in a file
 * holding bob's certificate (no key) before alice's key and certificate,
 * Cert takes alice and SignerCert bob. */
static void test_star(void)
{
	char *bob_first = g_build_filename(dir, "bob-first.pem", NULL);
	spop_t *s = spop_new();

	store(s, "Cert", SPOP_CST_PEMKEY_FILE, bob_first, "");
	store(s, "SignerCert", SPOP_CST_PEMKEY_FILE, bob_first, "");
	CU_ASSERT_STRING_EQUAL(subject_after(s, "Cert", "*"), ALICE);
	CU_ASSERT_STRING_EQUAL(subject_after(s, "SignerCert", "*"), BOB);
	spop_free(s);
	g_free(bob_first);

	s = spop_new();
	store(s, "SignerCert", SPOP_CST_PFXFILE, pfx_path, "pw");
	CU_ASSERT_EQUAL(spop_set_signer_cert_subject(s, "bob"), 0);
	CU_ASSERT_STRING_EQUAL(spop_get_signer_cert_subject(s), BOB);
	CU_ASSERT_STRING_EQUAL(spop_get_signer_cert_issuer(s),
			       "CN=Select CA, O=libspop tests");
	CU_ASSERT_STRING_EQUAL(spop_get_signer_cert_serial_number(s), "E26F62");
	spop_free(s);
}

static void test_encoded(void)
{
	spop_t *s = spop_new();

	store(s, "Cert", SPOP_CST_PFXFILE, pfx_path, "pw");
	/* the store has the key: CertSubject follows */
	CU_ASSERT_EQUAL(
	    spop_set_cert_encoded(s, leaf_der_b64, strlen(leaf_der_b64)), 0);
	CU_ASSERT_STRING_EQUAL(spop_get_cert_subject(s), ALICE);
	const char *pem;
	size_t len;
	spop_get_cert_encoded(s, &pem, &len);
	CU_ASSERT_PTR_NOT_NULL(strstr(pem, "BEGIN CERTIFICATE"));
	/* a certificate the store has no key for: CertSubject "" */
	char *bob = g_build_filename(dir, "bob.pem", NULL);
	char *text;
	g_assert(g_file_get_contents(bob, &text, NULL, NULL));
	CU_ASSERT_EQUAL(spop_set_cert_encoded(s, text, strlen(text)), 0);
	CU_ASSERT_STRING_EQUAL(spop_get_cert_subject(s), "");
	g_free(text);
	g_free(bob);
	spop_free(s);
}

static void test_auto(void)
{
	spop_t *s = spop_new();

	/* a PFX file and a PEM file are told apart by their plugins' probes */
	store(s, "Cert", SPOP_CST_AUTO, pfx_path, "pw");
	CU_ASSERT_STRING_EQUAL(subject_after(s, "Cert", "*"), ALICE);
	store(s, "Cert", SPOP_CST_AUTO, pem_path, "");
	CU_ASSERT_STRING_EQUAL(subject_after(s, "Cert", "bob"), BOB);
	/* a blob too: the PEM text itself */
	char *text;
	g_assert(g_file_get_contents(pem_path, &text, NULL, NULL));
	CU_ASSERT_EQUAL(spop_set_cert_store(s, text, strlen(text)), 0);
	CU_ASSERT_STRING_EQUAL(subject_after(s, "Cert", "alice"), ALICE);
	g_free(text);
	/* something no store reads: 271 naming what was tried */
	store(s, "Cert", SPOP_CST_AUTO, "not a store at all", "");
	CU_ASSERT_NOT_EQUAL(spop_set_cert_subject(s, "*"), 0);
	CU_ASSERT_EQUAL(spop_last_error_code(s), 271);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "Auto"));
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "pfx"));
	spop_free(s);
}

static void test_unsupported_types(void)
{
	static const int types[] = {4, 5, 10, 13, 14, 15, 16, 17, 20, 21, 22};
	spop_t *s = spop_new();

	for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
		char *set = g_strdup_printf("SSLCertStoreType=%d", types[i]);
		spop_config(s, set);
		g_free(set);
		spop_set_ssl_cert_store(s, "x", 1);
		CU_ASSERT_EQUAL(spop_set_ssl_cert_subject(s, "*"), 1212);
		char *named = g_strdup_printf("SSLCertStoreType %d", types[i]);
		CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), named));
		CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s),
					      "not supported on this "
					      "platform"));
		g_free(named);
	}
	spop_free(s);
}

struct listed {
	GString *text;
	int keys;
};

static void on_cert(const struct spop_cert_info *info, void *ud)
{
	struct listed *l = ud;

	g_string_append_printf(l->text, "%s|%s|%s\n", info->subject,
			       info->issuer, info->serial_number);
	l->keys += info->has_private_key;
	CU_ASSERT_PTR_NOT_NULL(strstr(info->encoded, "BEGIN CERTIFICATE"));
}

static void test_list(void)
{
	spop_t *s = spop_new();
	struct listed l = {g_string_new(NULL), 0};

	store(s, "SignerCert", SPOP_CST_PEMKEY_FILE, pem_path, "");
	CU_ASSERT_EQUAL(spop_list_certificates(s, "SignerCert", on_cert, &l),
			0);
	CU_ASSERT_STRING_EQUAL(l.text->str, ALICE
			       "|CN=Select CA, O=libspop tests|616C696365\n" BOB
			       "|CN=Select CA, O=libspop tests|E26F62\n");
	CU_ASSERT_EQUAL(l.keys, 1);
	CU_ASSERT_EQUAL(spop_list_certificates(s, "Nope", on_cert, &l), 1211);
	store(s, "Cert", SPOP_CST_PFXFILE, pfx_path, "wrong");
	CU_ASSERT_EQUAL(spop_list_certificates(s, "Cert", on_cert, &l), 273);
	g_string_free(l.text, TRUE);
	spop_free(s);
}

/* Auto on every type the probes know, from a file and from a blob: the
 * listing Auto gives equals the one of the explicit type. The stores are
 * the cert-store suite's (make-certstore-data.sh). */
static char *listing(spop_t *s, int type, const char *data, size_t len,
		     const char *password)
{
	struct listed l = {g_string_new(NULL), 0};

	spop_set_cert_store_type(s, type);
	spop_set_cert_store(s, data, len);
	spop_set_cert_store_password(s, password);
	int rc = spop_list_certificates(s, "Cert", on_cert, &l);
	if (rc)
		g_string_printf(l.text, "error %d: %s", rc, spop_last_error(s));
	g_string_append_printf(l.text, "keys %d", l.keys);
	return g_string_free(l.text, FALSE);
}

static void test_auto_every_type(void)
{
	static const struct {
		const char *file;
		int file_type, blob_type;
	} stores[] = {
	    {"pfx-openssl.p12", SPOP_CST_PFXFILE, SPOP_CST_PFXBLOB},
	    {"pfx-certtool.p12", SPOP_CST_PFXFILE, SPOP_CST_PFXBLOB},
	    {"pem-ec-pkcs8.pem", SPOP_CST_PEMKEY_FILE, SPOP_CST_PEMKEY_BLOB},
	    {"pem-rsa-pkcs8-enc.pem", SPOP_CST_PEMKEY_FILE,
	     SPOP_CST_PEMKEY_BLOB},
	    {"p7b-openssl.p7b", SPOP_CST_P7BFILE, SPOP_CST_P7BBLOB},
	    {"p7b-certtool.der", SPOP_CST_P7BFILE, SPOP_CST_P7BBLOB},
	    {"certs-three.pem", SPOP_CST_PUBLIC_KEY_FILE,
	     SPOP_CST_PUBLIC_KEY_BLOB},
	    {"rsa.der", SPOP_CST_PUBLIC_KEY_FILE, SPOP_CST_PUBLIC_KEY_BLOB},
	    {"jwk-ec.json", SPOP_CST_JWKFILE, SPOP_CST_JWKBLOB},
	};
	char *data_dir = g_build_filename(dir, "stores", NULL);
	char *cmd = g_strdup_printf("mkdir -p stores && '%s' '%s' pw "
				    ">/dev/null 2>&1",
				    DATA_SCRIPT, data_dir);
	spop_t *s = spop_new();

	run(cmd);
	g_free(cmd);
	for (size_t i = 0; i < G_N_ELEMENTS(stores); i++) {
		char *path = g_build_filename(data_dir, stores[i].file, NULL);
		char *bytes;
		gsize n;
		g_assert(g_file_get_contents(path, &bytes, &n, NULL));

		char *want =
		    listing(s, stores[i].file_type, path, strlen(path), "pw");
		char *got = listing(s, SPOP_CST_AUTO, path, strlen(path), "pw");
		CU_ASSERT_PTR_NULL(strstr(want, "error"));
		CU_ASSERT_STRING_EQUAL(got, want);
		if (strcmp(got, want))
			fprintf(stderr, "\nAuto, file %s:\n%s\nvs\n%s\n",
				stores[i].file, got, want);
		g_free(want);
		g_free(got);
		want = listing(s, stores[i].blob_type, bytes, n, "pw");
		got = listing(s, SPOP_CST_AUTO, bytes, n, "pw");
		CU_ASSERT_PTR_NULL(strstr(want, "error"));
		CU_ASSERT_STRING_EQUAL(got, want);
		if (strcmp(got, want))
			fprintf(stderr, "\nAuto, blob %s:\n%s\nvs\n%s\n",
				stores[i].file, got, want);
		g_free(want);
		g_free(got);
		g_free(bytes);
		g_free(path);
	}
	spop_free(s);
	cmd = g_strdup_printf("rm -rf '%s'", data_dir);
	run(cmd);
	g_free(cmd);
	g_free(data_dir);
}

static const struct test_case cases[] = {
    {"subject rules for every group", test_subject_rules},
    {"\"*\" and SignerCert details", test_star},
    {"CertEncoded searches the store for its key", test_encoded},
    {"Auto (99) by the plugins' probes", test_auto},
    {"Auto on every type, file and blob", test_auto_every_type},
    {"types no plugin serves: not supported", test_unsupported_types},
    {"spop_list_certificates", test_list},
    {NULL, NULL},
};

int main(void)
{
	static const struct test_suite suites[] = {
	    {"certificate selection", init, cleanup, cases},
	    {NULL},
	};

	return test_run(suites);
}
