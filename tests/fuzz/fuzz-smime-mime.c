/* The MIME side of S/MIME (framework/smime/smime.c): finding the
 * application/pkcs7-mime or multipart/signed entity in a message, its CMS
 * content, the canonical form of signed content, the entity an engine
 * gives back (parse_entity), putting it in place of the S/MIME one and
 * storing the message again, layer after layer; through the public methods
 * on a message given with spop_set_message, the engines and the PEM key
 * store as modules through the registry.
 *
 * The first input byte: bits 0-1 the method (0 Decrypt, 1
 * VerifySignature, 2 DecryptAndVerifySignature, 3 see below), bit 2 the
 * engine (cms or openssl), bit 3 the recipient's key (CertStore*) and the
 * trust anchor (SMIMETrustedCerts) configured, bit 4 which: the EC key or
 * the RSA one; the rest is the message. Keys: corpus/smime/keys
 * (make-seeds-smime.sh), ec256.pem and rsa.pem.
 *
 * Method 3: the target signs the rest itself (OpenSSL CMS, opaque
 * signed-data with the EC key) and wraps it in a message, so that what
 * the engine gives back, and parse_entity reads, is the fuzzer's input;
 * VerifySignature must then succeed, and DecryptAndVerifySignature runs
 * on what it left.
 *
 * Checked beyond "no crash, no leak, no UB": every method returns 0 or an
 * S/MIME error of the reference (211 for a message GMime cannot read or
 * that is missing, 272, 280, 284) with its message; a success unwrapped
 * what the method asked for (S/MIME status: layers, decrypted, verified,
 * the part); a failure that unwrapped nothing leaves Message byte for byte
 * as it was; at start every ok-* seed succeeds (the keys and the seeds
 * agree). */
#include "fuzz.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <spop/errors.h>
#include <spop/spop.h>

#ifndef PLUGIN_DIR
#error "PLUGIN_DIR must name the built plugins"
#endif
#ifndef SEED_DIR
#error "SEED_DIR must name corpus/smime-mime"
#endif

#define KEY_FILE	SEED_DIR "/../smime/keys/ec256.pem"
#define RSA_FILE	SEED_DIR "/../smime/keys/rsa.pem"
#define PEM_FILE	6 /* CertStoreType: a PEM key and certificate file */
#define MAX_SMIME_INPUT (64 * 1024)

enum { DECRYPT, VERIFY, BOTH, WRAP };

static spop_t *objs[2][3]; /* [engine][no keys, EC, RSA] */
static X509 *sign_cert;
static EVP_PKEY *sign_key;

static void die(const char *what, spop_t *s)
{
	fprintf(stderr, "fuzz-smime-mime: %s (%d: %s)\n", what,
		s ? spop_last_error_code(s) : 0, s ? spop_last_error(s) : "");
	abort();
}

static void set(spop_t *s, const char *config)
{
	if (!spop_config(s, config))
		die(config, s);
}

static spop_t *make(int engine, int keys)
{
	spop_t *s = spop_new();

	if (!s)
		abort();
	set(s, engine ? "SMIMEEngine=openssl" : "SMIMEEngine=cms");
	/* The system's hundred-odd anchors, parsed at every verification,
	 * were nine tenths of a run; trust is not what this target reads
	 * (the fixed key is the anchor when bit 3 is set). */
	set(s, "SMIMEUseSystemTrust=false");
	if (keys) {
		const char *file = keys == 1 ? KEY_FILE : RSA_FILE;
		char *trust = g_strconcat("SMIMETrustedCerts=", file, NULL);

		set(s, trust);
		g_free(trust);
		if (spop_set_cert_store_type(s, PEM_FILE) ||
		    spop_set_cert_store(s, file, strlen(file)) ||
		    spop_set_cert_subject(s, "*"))
			die("the recipient's key", s);
	}
	return s;
}

static void load_signer(void)
{
	BIO *b = BIO_new_file(KEY_FILE, "r");

	if (!b)
		die("cannot open " KEY_FILE, NULL);
	sign_key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	b = BIO_new_file(KEY_FILE, "r");
	sign_cert = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!sign_key || !sign_cert)
		die("no key and certificate in " KEY_FILE, NULL);
}

/* An opaque signed-data message around content. */
static GString *wrap(const uint8_t *content, size_t len)
{
	static const char head[] =
	    "From: alice@example.org\r\nTo: bob@example.org\r\n"
	    "Subject: signed by fuzz-smime-mime\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: application/pkcs7-mime; smime-type=signed-data; "
	    "name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n";
	BIO *in = BIO_new_mem_buf(content, (int)len);
	CMS_ContentInfo *cms = CMS_sign(sign_cert, sign_key, NULL, in,
					CMS_BINARY | CMS_NOSMIMECAP);
	unsigned char *der = NULL;
	int der_len = cms ? i2d_CMS_ContentInfo(cms, &der) : -1;
	GString *msg = g_string_new(head);

	if (der_len <= 0)
		die("OpenSSL could not sign the content", NULL);
	gchar *b64 = g_base64_encode(der, (gsize)der_len);
	for (size_t off = 0, n = strlen(b64); off < n; off += 76) {
		g_string_append_len(msg, b64 + off, (gssize)MIN(76, n - off));
		g_string_append(msg, "\r\n");
	}
	g_free(b64);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return msg;
}

static struct spop_smime_status status(spop_t *s)
{
	struct spop_smime_status st = {.size = sizeof st};

	if (spop_get_smime_status(s, &st))
		die("spop_get_smime_status", s);
	return st;
}

static int run_method(spop_t *s, int method)
{
	switch (method) {
	case DECRYPT: return spop_decrypt(s);
	case VERIFY: return spop_verify_signature(s);
	default: return spop_decrypt_and_verify_signature(s);
	}
}

/* One method on msg; the checks every method must pass. */
static int check_method(spop_t *s, int method, const char *msg, size_t len)
{
	const char *before, *after;
	size_t before_len = 0, after_len;
	int rc;

	/* Message as set (spop_set_message gives it CRLF line ends). */
	if (spop_set_message(s, msg, len) ||
	    spop_get_message(s, &before, &before_len))
		die("spop_set_message", s);
	char *was = g_memdup2(before, before_len);
	rc = run_method(s, method);
	struct spop_smime_status st = status(s);
	if (rc) {
		if (rc != SPOP_ERR_STATE && rc != SPOP_ERR_CERT_NOT_FOUND &&
		    rc != SPOP_ERR_CERT_VERIFY && rc != SPOP_ERR_DECRYPT)
			die("a code the reference does not give for S/MIME", s);
		if (spop_last_error_code(s) != rc || !*spop_last_error(s))
			die("an error without its message", s);
		/* Nothing unwrapped: Message is what it was. */
		if (!*st.layers &&
		    (spop_get_message(s, &after, &after_len) ||
		     after_len != before_len ||
		     (after_len && memcmp(after, was, after_len))))
			die("a failed method changed Message", s);
		g_free(was);
		return rc;
	}
	g_free(was);
	if (!*st.layers)
		die("a success that unwrapped nothing", s);
	if (method == DECRYPT && (strcmp(st.layers, "enveloped") ||
				  !st.decrypted || !st.encrypted_part))
		die("Decrypt succeeded without decrypting", s);
	if (method == VERIFY && (strcmp(st.layers, "signed") || !st.verified ||
				 !st.signed_part || st.signer_count < 1))
		die("VerifySignature succeeded without a verified signer", s);
	if (method == BOTH && strstr(st.layers, "signed") && !st.verified)
		die("a signed layer was unwrapped but not verified", s);
	if (spop_get_message(s, &after, &after_len) || !after_len)
		die("no Message after a success", s);
	return 0;
}

/* Bit 2 the engine; bit 3 keys, bit 4 the RSA key rather than the EC. */
static spop_t *object(uint8_t flags)
{
	int keys = flags & 8 ? (flags & 16 ? 2 : 1) : 0;

	return objs[(flags >> 2) & 1][keys];
}

static int run(const uint8_t *data, size_t size)
{
	int method = data[0] & 3;
	spop_t *s = object(data[0]);

	if (method != WRAP)
		return check_method(s, method, (const char *)data + 1,
				    size - 1);
	GString *msg = wrap(data + 1, size - 1);
	int rc = check_method(s, VERIFY, msg->str, msg->len);
	if (rc)
		die("the target's own signature did not verify", s);
	struct spop_smime_status st = status(s);
	if (strcmp(st.signed_part, ""))
		die("the signed entity is not the whole message", s);
	/* What parse_entity made of the content, as a message. */
	const char *inner;
	size_t inner_len;
	if (spop_get_message(s, &inner, &inner_len))
		die("spop_get_message", s);
	char *copy = g_memdup2(inner, inner_len);
	check_method(s, BOTH, copy, inner_len);
	g_free(copy);
	g_string_free(msg, TRUE);
	return 0;
}

/* The registry reads its directory at every lookup (each method looks
 * the engine up, Decrypt the key store too): with the forty modules of
 * the build that was most of a run. A directory of links to the three
 * modules used here gives the same lookups. */
static const char *const modules[] = {"spop-smime-cms", "spop-smime-openssl",
				      "spop-certstore-pemkey"};
static char *plugin_dir;

static void module_links(bool make_them)
{
	for (size_t i = 0; i < G_N_ELEMENTS(modules); i++)
		for (int k = 0; k < 2; k++) {
			const char *ext = k ? "so" : "plugin";
			char *target = g_strdup_printf("%s/%s.%s", PLUGIN_DIR,
						       modules[i], ext);
			char *link = g_strdup_printf("%s/%s.%s", plugin_dir,
						     modules[i], ext);
			if (!make_them)
				unlink(link);
			else if (symlink(target, link))
				die(link, NULL);
			g_free(target);
			g_free(link);
		}
}

static void cleanup(void)
{
	module_links(false);
	rmdir(plugin_dir);
	g_free(plugin_dir);
	for (int e = 0; e < 2; e++)
		for (int k = 0; k < 3; k++)
			spop_free(objs[e][k]);
	X509_free(sign_cert);
	EVP_PKEY_free(sign_key);
}

/* Every ok-* seed must succeed: the keys and the seeds belong together
 * (make-seeds-smime-mime.sh after make-seeds-smime.sh). */
static void replay_seeds(void)
{
	GDir *d = g_dir_open(SEED_DIR, 0, NULL);
	const char *name;
	int n = 0;

	if (!d)
		die("cannot read " SEED_DIR, NULL);
	while ((name = g_dir_read_name(d))) {
		if (strncmp(name, "ok-", 3))
			continue;
		char *p = g_build_filename(SEED_DIR, name, NULL);
		gchar *seed;
		gsize len;

		if (!g_file_get_contents(p, &seed, &len, NULL) || len < 1)
			die(p, NULL);
		spop_t *s = object((uint8_t)seed[0]);
		if (run((const uint8_t *)seed, len) != 0) {
			fprintf(stderr, "fuzz-smime-mime: seed %s\n", name);
			die("a pristine seed failed", s);
		}
		g_free(seed);
		g_free(p);
		n++;
	}
	g_dir_close(d);
	if (!n)
		die("no ok-* seeds in " SEED_DIR, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;

	if (!ready) {
		plugin_dir = g_dir_make_tmp("fuzz-smime-mime-XXXXXX", NULL);
		if (!plugin_dir)
			abort();
		module_links(true);
		fuzz_use_plugins(plugin_dir);
		for (int e = 0; e < 2; e++)
			for (int k = 0; k < 3; k++)
				objs[e][k] = make(e, k);
		load_signer();
		atexit(cleanup);
		ready = true;
		replay_seeds();
	}
	if (size < 1 || size > MAX_SMIME_INPUT)
		return 0;
	run(data, size);
	return 0;
}
