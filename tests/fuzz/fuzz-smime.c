/* The two S/MIME engines, cms (libtasn1, libgcrypt, GnuTLS) and openssl
 * (OpenSSL 3's CMS API), on the same CMS input, loaded by name through the
 * registry and driven through the core's own host, as
 * tests/plugin/test-smime-diff.c does.
 *
 * Input: the first byte picks the operation (low two bits: 0 and 3
 * decrypt with the fixed keys, 1 verify opaque, 2 verify detached; bit 2:
 * allow weak digests); for detached verification two bytes (little
 * endian) give the length of the signed content that follows; the rest is
 * the CMS (DER or BER). Keys: corpus/smime/keys (make-seeds-smime.sh).
 *
 * Checked beyond "no crash, no leak, no UB": each engine returns 0 or 284
 * (SPOP_ERR_DECRYPT, the only code plugin.h allows) with a message; a
 * success is marked decrypted/verified consistently; and, as a
 * differential, when both engines decrypt, the content bytes are the same
 * unless the key was RSA PKCS#1 v1.5 with an unauthenticated cipher (RFC
 * 3218: a bad key block goes on with a random key, whose CBC padding may
 * hold by chance: garbage from each, test-smime-diff.c's
 * compare_random_key); when both verify every signer of opaque content,
 * they give the same content bytes. At start, every pristine seed must be
 * accepted by both engines (a fixed, valid input on which they agree). */
#include "fuzz.h"

#include <spop/errors.h>
#include <spop/plugin.h>
#include <spop/spop.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spop-private.h"

#ifndef PLUGIN_DIR
#error "PLUGIN_DIR must name the built plugins"
#endif
#ifndef SEED_DIR
#error "SEED_DIR must name corpus/smime"
#endif

#define PEM_FILE 6

static spop_t *s;
static struct spi_host host;
static struct spop_host *h;
static const struct spop_smime_ops *eng[2];
static const char *const eng_name[2] = {"cms", "openssl"};
static const struct spop_certstore_ops *pem;
static void *stores[2];
static struct spop_cert_entry entries[2];
static const unsigned char *cert_der[2];
static size_t cert_len[2];

static void die(const char *what, const char *why)
{
	fprintf(stderr, "fuzz-smime: %s: %s\n", what, why ? why : "");
	abort();
}

static void open_key(int i, const char *name)
{
	char *p = g_build_filename(SEED_DIR, "keys", name, NULL);

	if (pem->open(h, PEM_FILE, (const unsigned char *)p, strlen(p), "",
		      &stores[i]) != 0)
		die(p, spop_last_error(s));
	entries[i].size = sizeof(entries[i]);
	if (pem->entry(h, stores[i], 0, &entries[i]) != 0 || !entries[i].key)
		die(p, "no key and certificate");
	cert_der[i] = entries[i].der;
	cert_len[i] = entries[i].der_len;
	g_free(p);
}

static void cleanup(void)
{
	for (int i = 0; i < 2; i++)
		if (stores[i])
			pem->close(h, stores[i]);
	spop_free(s);
}

static void init(void)
{
	const struct spop_plugin_descriptor *d;

	fuzz_use_plugins(PLUGIN_DIR);
	s = spop_new();
	for (int i = 0; i < 2; i++) {
		if (spi_plugin_by_name(s, SPOP_PLUGIN_SMIME, eng_name[i], &d) !=
			0 ||
		    !d || !d->ops)
			die(eng_name[i], spop_last_error(s));
		eng[i] = d->ops;
	}
	if (spi_plugin_select(s, SPOP_PLUGIN_CERTSTORE, "CertStoreType",
			      PEM_FILE, &d) != 0 ||
	    !d || strcmp(d->name, "pemkey") != 0)
		die("pemkey", spop_last_error(s));
	pem = d->ops;
	spi_host_init(&host, s, NULL);
	h = &host.pub;
	open_key(0, "rsa.pem");
	open_key(1, "ec256.pem");
	spi_clear_error(s);
	atexit(cleanup);
}

static void keys_for(struct spop_smime_keys *k, int allow_weak)
{
	memset(k, 0, sizeof(*k));
	k->size = sizeof(*k);
	k->store_ops = pem;
	k->entries = entries;
	k->n_entries = 2;
	k->signer_certs = cert_der;
	k->signer_cert_lens = cert_len;
	k->n_signer_certs = 2;
	k->trust_der = cert_der;
	k->trust_len = cert_len;
	k->n_trust = 2;
	k->allow_weak = allow_weak;
}

/* One engine's answer: 0 or 284 with a message. */
static void check_rc(int e, const char *op, int rc)
{
	const char *msg = spop_last_error(s);

	if (rc == 0)
		return;
	if (rc != SPOP_ERR_DECRYPT) {
		fprintf(stderr, "fuzz-smime: %s %s returned %d: %s\n",
			eng_name[e], op, rc, msg ? msg : "(no message)");
		abort();
	}
	if (spop_last_error_code(s) != rc || !msg || !*msg) {
		fprintf(stderr,
			"fuzz-smime: %s %s returned %d without its "
			"message\n",
			eng_name[e], op, rc);
		abort();
	}
}

static bool same_bytes(const struct spop_smime_result *a,
		       const struct spop_smime_result *b)
{
	return a->content_len == b->content_len &&
	       (a->content_len == 0 ||
		(a->content && b->content &&
		 memcmp(a->content, b->content, a->content_len) == 0));
}

/* Whether a content difference after two successful decryptions is the
 * RFC 3218 random key: PKCS#1 v1.5 key transport and a cipher without
 * authentication. */
static bool random_key_possible(const struct spop_smime_result *r)
{
	return strcmp(r->key_algorithm, "RSA") == 0 &&
	       !strstr(r->algorithm, "GCM");
}

/* Runs both engines; returns how many succeeded (bit e set for engine e). */
static int run(const uint8_t *data, size_t size, bool strict)
{
	struct spop_smime_result r[2];
	struct spop_smime_keys k;
	const unsigned char *content = NULL, *cms;
	size_t content_len = 0, cms_len;
	int op, rc[2], ok = 0;

	if (size < 1)
		return 0;
	op = data[0] & 3;
	keys_for(&k, (data[0] & 4) != 0);
	cms = data + 1;
	cms_len = size - 1;
	if (op == 2) {
		if (cms_len < 2)
			return 0;
		content_len = (size_t)cms[0] | (size_t)cms[1] << 8;
		cms += 2;
		cms_len -= 2;
		if (content_len > cms_len)
			content_len = cms_len;
		content = cms;
		cms += content_len;
		cms_len -= content_len;
	}
	for (int e = 0; e < 2; e++) {
		memset(&r[e], 0, sizeof(r[e]));
		r[e].size = sizeof(r[e]);
		spi_clear_error(s);
		if (op == 0 || op == 3)
			rc[e] = eng[e]->decrypt(h, cms, cms_len, &k, &r[e]);
		else
			rc[e] = eng[e]->verify(h, cms, cms_len, content,
					       content_len, &k, &r[e]);
		check_rc(e, op == 0 || op == 3 ? "decrypt" : "verify", rc[e]);
		if (rc[e] == 0 && (op == 0 || op == 3) && r[e].decrypted != 1)
			die(eng_name[e], "decrypt returned 0, not decrypted");
		if (rc[e] == 0 && op != 0 && op != 3 && r[e].verified &&
		    r[e].n_signers == 0)
			die(eng_name[e], "verified without a signer");
		if (rc[e] == 0 &&
		    ((op == 0 || op == 3) ? r[e].decrypted : r[e].verified))
			ok |= 1 << e;
	}
	if (ok == 3 && (op == 0 || op == 3) && !same_bytes(&r[0], &r[1]) &&
	    !(random_key_possible(&r[0]) && random_key_possible(&r[1])))
		die("decrypt", "both engines decrypted, to different bytes");
	if (ok == 3 && op == 1 && !same_bytes(&r[0], &r[1]))
		die("verify opaque",
		    "both engines verified, different content");
	if (strict && ok != 3) {
		fprintf(stderr,
			"fuzz-smime: a seed: cms %s (%d), openssl %s "
			"(%d)\n",
			ok & 1 ? "accepts" : "refuses", rc[0],
			ok & 2 ? "accepts" : "refuses", rc[1]);
		abort();
	}
	for (int e = 0; e < 2; e++)
		eng[e]->result_clear(h, &r[e]);
	return ok;
}

/* Every pristine seed (*.bin of SEED_DIR) decrypts or verifies with both
 * engines: the differential's valid inputs agree. */
static void check_seeds(void)
{
	GDir *d = g_dir_open(SEED_DIR, 0, NULL);
	const char *name;
	int n = 0;

	if (!d)
		die(SEED_DIR, "cannot read the seeds");
	while ((name = g_dir_read_name(d))) {
		char *p, *data;
		gsize len;

		/* Inputs a fuzz run found (crash-*, leak-*) replay in the
		 * corpus, not here: only the tools' messages must pass. */
		if (!g_str_has_suffix(name, ".bin") ||
		    g_str_has_prefix(name, "crash-") ||
		    g_str_has_prefix(name, "leak-"))
			continue;
		p = g_build_filename(SEED_DIR, name, NULL);
		if (!g_file_get_contents(p, &data, &len, NULL))
			die(p, "unreadable");
		run((const uint8_t *)data, len, true);
		g_free(data);
		g_free(p);
		n++;
	}
	g_dir_close(d);
	if (n == 0)
		die(SEED_DIR, "no seeds (make-seeds-smime.sh)");
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Before the first input: the modules are mapped (their coverage counters
 * registered) and the seeds checked. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	init();
	check_seeds();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, false);
	return 0;
}
