/* The cert stores that read a blob (CertStoreType *_BLOB): pfx, pemkey,
 * publickey, p7b and jwk, each the plugin the registry selects for its
 * store type, driven through the core's own host as
 * tests/plugin/test-certstore.c opens stores from memory.
 *
 * Input: the first byte picks the store type (low three bits modulo 5: PFX,
 * PEM, public key, P7B, JWK blob; bit 3: the seeds' password instead of
 * ""), the rest is the store.
 *
 * Checked beyond "no crash, no leak, no UB": probe (when the plugin has
 * one) answers 0 or 1; open returns 0, or 271/272/273 with that code and a
 * message set; an open store's entries each have a certificate, the first
 * index past them is 272, and close frees everything (LeakSanitizer). At
 * start every seed must open and have an entry (but the inputs a run
 * found, crash-* and leak-*, which only replay). */
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
#error "SEED_DIR must name corpus/certstore"
#endif

#define PASS "S3cret pass" /* make-seeds-certstore.sh's */

static const struct {
	int type;
	const char *plugin;
} kinds[] = {
    {3, "pfx"}, {7, "pemkey"}, {9, "publickey"}, {12, "p7b"}, {19, "jwk"},
};

static spop_t *s;
static struct spi_host host;
static struct spop_host *h;
static const struct spop_certstore_ops *ops[G_N_ELEMENTS(kinds)];

static void die(const char *what, const char *why)
{
	fprintf(stderr, "fuzz-certstore: %s: %s\n", what, why ? why : "");
	abort();
}

static void cleanup(void)
{
	spop_free(s);
}

static void init(void)
{
	const struct spop_plugin_descriptor *d;

	fuzz_use_plugins(PLUGIN_DIR);
	s = spop_new();
	for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
		if (spi_plugin_select(s, SPOP_PLUGIN_CERTSTORE, "CertStoreType",
				      kinds[i].type, &d) != 0 ||
		    !d || !d->ops || strcmp(d->name, kinds[i].plugin) != 0)
			die(kinds[i].plugin, spop_last_error(s));
		ops[i] = d->ops;
	}
	spi_host_init(&host, s, NULL);
	h = &host.pub;
	spi_clear_error(s);
	atexit(cleanup);
}

/* Opens, enumerates and closes; returns the number of entries, -1 when the
 * store did not open. */
static int run(const uint8_t *data, size_t size)
{
	const struct spop_certstore_ops *o;
	const char *msg;
	void *st = NULL;
	size_t k, n;
	int rc;

	if (size < 1)
		return -1;
	k = (data[0] & 7) % G_N_ELEMENTS(kinds);
	o = ops[k];
	spi_clear_error(s);
	if (o->probe) {
		rc = o->probe(h, data + 1, size - 1, 0);
		if (rc != 0 && rc != 1)
			die(kinds[k].plugin, "probe answered neither 0 nor 1");
	}
	spi_clear_error(s);
	rc = o->open(h, kinds[k].type, data + 1, size - 1,
		     data[0] & 8 ? PASS : "", &st);
	msg = spop_last_error(s);
	if (rc != 0) {
		if (rc != SPOP_ERR_CERT_STORE &&
		    rc != SPOP_ERR_CERT_NOT_FOUND &&
		    rc != SPOP_ERR_CREDENTIALS) {
			fprintf(stderr, "fuzz-certstore: %s open: %d: %s\n",
				kinds[k].plugin, rc, msg ? msg : "");
			abort();
		}
		if (spop_last_error_code(s) != rc || !msg || !*msg)
			die(kinds[k].plugin, "open failed without its message");
		return -1;
	}
	for (n = 0;; n++) {
		struct spop_cert_entry e = {.size = sizeof(e)};

		rc = o->entry(h, st, n, &e);
		if (rc == SPOP_ERR_CERT_NOT_FOUND)
			break;
		if (rc != 0)
			die(kinds[k].plugin, "entry: neither 0 nor 272");
		if (n > 100000)
			die(kinds[k].plugin, "entries never end");
		/* A public-key store's entry may carry only the key. */
		if ((!e.der || e.der_len == 0) && !e.key)
			die(kinds[k].plugin,
			    "an entry without certificate or key");
		if (e.der && e.der_len)
			(void)((volatile const unsigned char *)
				   e.der)[e.der_len - 1];
	}
	o->close(h, st);
	return (int)n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Before the first input: the modules are mapped (their coverage counters
 * registered) and every seed opens with an entry. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	GDir *d;
	const char *name;
	int seeds = 0;

	init();
	d = g_dir_open(SEED_DIR, 0, NULL);
	if (!d)
		die(SEED_DIR, "cannot read the seeds");
	while ((name = g_dir_read_name(d))) {
		char *p = g_build_filename(SEED_DIR, name, NULL), *data;
		gsize len;

		if (!g_file_get_contents(p, &data, &len, NULL))
			die(p, "unreadable");
		/* Inputs a fuzz run found (crash-*, leak-*) replay without
		 * having to open; the seeds made from the tools' files must. */
		if (run((const uint8_t *)data, len) < 1 &&
		    !g_str_has_prefix(name, "crash-") &&
		    !g_str_has_prefix(name, "leak-"))
			die(p, spop_last_error(s));
		g_free(data);
		g_free(p);
		seeds++;
	}
	g_dir_close(d);
	if (seeds == 0)
		die(SEED_DIR, "no seeds (make-seeds-certstore.sh)");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size);
	return 0;
}
