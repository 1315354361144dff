/* What S/MIME costs: the cms engine decrypts and verifies messages that
 * openssl cms makes at bench time, through the registry and the core's
 * host as the library calls it, against libgcrypt's own AES-256-CBC and
 * SHA-256 on the same bytes; then the peak memory of each operation on a
 * big message, each in a fresh child process. It prints figures and fails
 * only when a result is wrong or a tool fails, never on a time. */
#include <gcrypt.h>
#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "spop-private.h"

#ifndef BENCH_PLUGIN_DIR
#error "BENCH_PLUGIN_DIR must name the plugins of the build tree"
#endif

#define MIB (1024.0 * 1024.0)
#ifndef ROUNDS /* -DROUNDS=N for more (odd: the median is the middle) */
#define ROUNDS 3
#endif
#define PEM_FILE 6 /* CertStoreType: a PEM file with the key */

static char *dir; /* the bench's temporary directory */

/* ---- the engine through the registry ------------------------------------ */

struct engine {
	spop_t *s;
	struct spi_host host;
	struct spop_host *h;
	const struct spop_smime_ops *cms;
	const struct spop_certstore_ops *pem;
	void *store;
	struct spop_cert_entry entry;
	struct spop_smime_keys keys;
	unsigned char *anchor; /* the certificate, DER: the trust anchor */
	size_t anchor_len;
	const unsigned char *anchors[1];
	size_t anchor_lens[1];
};

static char *path(const char *name)
{
	return g_build_filename(dir, name, NULL);
}

static unsigned char *slurp(const char *name, size_t *len)
{
	char *p = path(name), *data = NULL;
	gsize n = 0;
	GError *e = NULL;

	if (!g_file_get_contents(p, &data, &n, &e)) {
		fprintf(stderr, "bench-smime: %s\n", e->message);
		g_error_free(e);
	}
	g_free(p);
	*len = n;
	return (unsigned char *)data;
}

/* The cms engine and the pemkey store by name, as the core finds them;
 * the store opened on key.pem (key and certificate). 0, or -1 said. */
static int engine_open(struct engine *en)
{
	const struct spop_plugin_descriptor *d = NULL;
	char *store = path("store.pem");
	int rc;

	memset(en, 0, sizeof(*en));
	g_setenv("SPOP_PLUGIN_PATH", BENCH_PLUGIN_DIR, FALSE);
	en->s = spop_new();
	if (spi_plugin_by_name(en->s, SPOP_PLUGIN_SMIME, "cms", &d) != 0 ||
	    !d) {
		fprintf(stderr, "bench-smime: no cms engine: %s\n",
			spop_last_error(en->s));
		g_free(store);
		return -1;
	}
	en->cms = d->ops;
	if (spi_plugin_select(en->s, SPOP_PLUGIN_CERTSTORE, "CertStoreType",
			      PEM_FILE, &d) != 0 ||
	    !d) {
		fprintf(stderr, "bench-smime: no pemkey store: %s\n",
			spop_last_error(en->s));
		g_free(store);
		return -1;
	}
	en->pem = d->ops;
	spi_host_init(&en->host, en->s, NULL);
	en->h = &en->host.pub;
	rc = en->pem->open(en->h, PEM_FILE, (const unsigned char *)store,
			   strlen(store), "", &en->store);
	g_free(store);
	en->entry.size = sizeof(en->entry);
	if (rc || en->pem->entry(en->h, en->store, 0, &en->entry)) {
		fprintf(stderr, "bench-smime: store.pem: %s\n",
			spop_last_error(en->s));
		return -1;
	}
	en->anchor = slurp("cert.der", &en->anchor_len);
	if (!en->anchor)
		return -1;
	en->anchors[0] = en->anchor;
	en->anchor_lens[0] = en->anchor_len;
	en->keys.size = sizeof(en->keys);
	en->keys.store_ops = en->pem;
	en->keys.entries = &en->entry;
	en->keys.n_entries = 1;
	en->keys.trust_der = en->anchors;
	en->keys.trust_len = en->anchor_lens;
	en->keys.n_trust = 1;
	return 0;
}

static void engine_close(struct engine *en)
{
	if (en->store)
		en->pem->close(en->h, en->store);
	g_free(en->anchor);
	spop_free(en->s);
}

static void result_init(struct spop_smime_result *r)
{
	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
}

/* The operations: 0 when the result is what openssl was given (content
 * with this SHA-256; for verify, every signature good and trusted), else
 * -1 said. The result is cleared either way. */
enum op { OP_DECRYPT, OP_VERIFY_DETACHED, OP_VERIFY_OPAQUE, OP_BOTH };

static const char *const op_names[] = {"decrypt", "verify-detached",
				       "verify-opaque", "decrypt+verify"};

static bool same_digest(const unsigned char *data, size_t len,
			const unsigned char *want)
{
	unsigned char got[32];

	gcry_md_hash_buffer(GCRY_MD_SHA256, got, data, len);
	return memcmp(got, want, sizeof(got)) == 0;
}

static int check_verified(struct engine *en, const struct spop_smime_result *r)
{
	if (r->verified != 1 || r->n_signers != 1 ||
	    !r->signers[0].signature_ok || !r->signers[0].trusted) {
		fprintf(stderr, "bench-smime: not verified: %s\n",
			r->n_signers ? r->signers[0].status : "no signer");
		return -1;
	}
	return 0;
}

static double now_s(void);

/* *secs, when not NULL: the time in the engine's calls only (the checks
 * and result_clear's wipe are not counted). */
static int run_op(struct engine *en, enum op op, const unsigned char *msg,
		  size_t len, const unsigned char *content, size_t content_len,
		  const unsigned char *digest, double *secs)
{
	struct spop_smime_result r, v;
	double t0 = now_s(), spent;
	int rc;

	result_init(&r);
	switch (op) {
	case OP_DECRYPT:
	case OP_BOTH:
		rc = en->cms->decrypt(en->h, msg, len, &en->keys, &r);
		break;
	case OP_VERIFY_DETACHED:
		rc = en->cms->verify(en->h, msg, len, content, content_len,
				     &en->keys, &r);
		break;
	default:
		rc = en->cms->verify(en->h, msg, len, NULL, 0, &en->keys, &r);
		break;
	}
	spent = now_s() - t0;
	if (rc) {
		fprintf(stderr, "bench-smime: %s: %d %s\n", op_names[op], rc,
			spop_last_error(en->s));
		en->cms->result_clear(en->h, &r);
		return -1;
	}
	if (op == OP_BOTH) {
		/* signed, then encrypted: the decrypted content is the
		 * SignedData, verified while the caller still holds it */
		result_init(&v);
		t0 = now_s();
		rc = en->cms->verify(en->h, r.content, r.content_len, NULL, 0,
				     &en->keys, &v);
		spent += now_s() - t0;
		en->cms->result_clear(en->h, &r);
		if (rc) {
			fprintf(stderr, "bench-smime: %s: verify: %d %s\n",
				op_names[op], rc, spop_last_error(en->s));
			en->cms->result_clear(en->h, &v);
			return -1;
		}
		r = v;
	}
	rc = 0;
	if (op != OP_DECRYPT && check_verified(en, &r))
		rc = -1;
	if (op != OP_VERIFY_DETACHED &&
	    (!r.content || !same_digest(r.content, r.content_len, digest))) {
		fprintf(stderr,
			"bench-smime: %s: the content is not what openssl "
			"was given\n",
			op_names[op]);
		rc = -1;
	}
	en->cms->result_clear(en->h, &r);
	if (secs)
		*secs = spent;
	return rc;
}

/* ---- timing ------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v)
{
	qsort(v, ROUNDS, sizeof(v[0]), by_value);
	return v[ROUNDS / 2];
}

/* libgcrypt's AES-256-CBC decrypt of len bytes, one call over the whole
 * buffer, into out, a buffer already touched: the ceiling for the engine.
 * With out NULL, into a buffer g_malloc'd in the timed part, as the
 * engine's result is (host->alloc is g_malloc): what a fresh buffer adds
 * (first-touch page faults, unless malloc hands back memory it kept). */
static int ref_aes(const unsigned char *in, unsigned char *out, size_t len,
		   double *secs)
{
	unsigned char key[32], iv[16], *fresh = NULL;
	gcry_cipher_hd_t c;
	double t0;
	int rc = -1;

	gcry_randomize(key, sizeof(key), GCRY_STRONG_RANDOM);
	gcry_randomize(iv, sizeof(iv), GCRY_STRONG_RANDOM);
	t0 = now_s();
	if (!out)
		out = fresh = g_malloc(len + 1);
	if (gcry_cipher_open(&c, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_CBC, 0)) {
		g_free(fresh);
		return -1;
	}
	if (!gcry_cipher_setkey(c, key, sizeof(key)) &&
	    !gcry_cipher_setiv(c, iv, sizeof(iv)) &&
	    !gcry_cipher_decrypt(c, out, len, in, len))
		rc = 0;
	gcry_cipher_close(c);
	*secs = now_s() - t0;
	g_free(fresh);
	return rc;
}

/* ---- peak memory in a child --------------------------------------------- */

/* VmHWM or VmRSS of this process, in KiB; -1 when /proc cannot tell. */
static long proc_kib(const char *field)
{
	char *status = NULL, *at;
	long v = -1;

	if (!g_file_get_contents("/proc/self/status", &status, NULL, NULL))
		return -1;
	at = strstr(status, field);
	if (at)
		v = strtol(at + strlen(field) + 1, NULL, 10);
	g_free(status);
	return v;
}

/* The child: opens the engine, notes its RSS (the baseline), reads the
 * message (as the caller holds it), runs the operation once and prints
 * "baseline-KiB VmHWM-KiB ru_maxrss-KiB message-bytes content-bytes"
 * (content: a detached signature's, which the caller holds too). */
static int child(enum op op, const char *msg_name, const char *content_name,
		 const char *digest_hex)
{
	struct engine en;
	unsigned char digest[32], *msg, *content = NULL;
	size_t len, content_len = 0;
	struct rusage ru;
	long base;
	int rc;

	for (int i = 0; i < 32; i++)
		if (sscanf(digest_hex + 2 * i, "%2hhx", &digest[i]) != 1)
			return 2;
	if (engine_open(&en)) {
		engine_close(&en);
		return 1;
	}
	/* libgcrypt and the ASN.1 definitions are set up by a first call:
	 * a message the engine refuses at once costs nothing to hold */
	{
		struct spop_smime_result r;
		unsigned char junk[] = {0x30, 0x03, 0x06, 0x01, 0x00};

		result_init(&r);
		en.cms->decrypt(en.h, junk, sizeof(junk), &en.keys, &r);
		en.cms->result_clear(en.h, &r);
	}
	base = proc_kib("VmRSS:");
	msg = slurp(msg_name, &len);
	if (content_name)
		content = slurp(content_name, &content_len);
	if (!msg || (content_name && !content)) {
		engine_close(&en);
		return 1;
	}
	rc = run_op(&en, op, msg, len, content, content_len, digest, NULL);
	getrusage(RUSAGE_SELF, &ru);
	printf("%ld %ld %ld %zu %zu\n", base, proc_kib("VmHWM:"), ru.ru_maxrss,
	       len, content_len);
	g_free(msg);
	g_free(content);
	engine_close(&en);
	return rc ? 1 : 0;
}

struct peak {
	double base_mib, peak_mib, maxrss_mib, msg_mib, content_mib;
};

static int peak_of(enum op op, const char *msg, const char *content,
		   const char *digest_hex, struct peak *out)
{
	char *argv[] = {
	    "/proc/self/exe", "--child",	  (char *)op_names[op], dir,
	    (char *)msg,      (char *)digest_hex, (char *)content,	NULL};
	char *so = NULL, *se = NULL;
	int status;
	long base, hwm, maxrss;
	size_t len, content_len;
	GError *e = NULL;

	if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &so,
			  &se, &status, &e)) {
		fprintf(stderr, "bench-smime: %s\n", e->message);
		g_error_free(e);
		return -1;
	}
	if (!g_spawn_check_wait_status(status, NULL) ||
	    sscanf(so, "%ld %ld %ld %zu %zu", &base, &hwm, &maxrss, &len,
		   &content_len) != 5 ||
	    base < 0 || hwm < 0) {
		fprintf(stderr, "bench-smime: %s child failed: %s%s",
			op_names[op], so, se);
		g_free(so);
		g_free(se);
		return -1;
	}
	out->base_mib = base / 1024.0;
	out->peak_mib = hwm / 1024.0;
	out->maxrss_mib = maxrss / 1024.0;
	out->msg_mib = len / MIB;
	out->content_mib = content_len / MIB;
	g_free(so);
	g_free(se);
	return 0;
}

/* ---- making the messages ------------------------------------------------ */

static int run_tool(char **argv)
{
	char *err = NULL;
	int status;
	GError *e = NULL;

	if (!g_spawn_sync(dir, argv, NULL,
			  G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
			  NULL, NULL, NULL, &err, &status, &e)) {
		fprintf(stderr, "bench-smime: %s: %s\n", argv[0], e->message);
		g_error_free(e);
		return -1;
	}
	if (!g_spawn_check_wait_status(status, NULL)) {
		fprintf(stderr, "bench-smime: %s %s failed: %s\n", argv[0],
			argv[1], err);
		g_free(err);
		return -1;
	}
	g_free(err);
	return 0;
}

/* size random bytes into name, and their SHA-256 as hex into hex. */
static int random_file(const char *name, size_t size, char hex[65])
{
	char *p = path(name);
	FILE *f = fopen(p, "wb");
	size_t chunk = 1 << 20;
	unsigned char *buf = g_malloc(chunk), digest[32];
	gcry_md_hd_t md;
	int rc = 0;

	g_free(p);
	if (!f || gcry_md_open(&md, GCRY_MD_SHA256, 0)) {
		fprintf(stderr, "bench-smime: cannot write %s\n", name);
		if (f)
			fclose(f);
		g_free(buf);
		return -1;
	}
	for (size_t done = 0; done < size && !rc; done += chunk) {
		size_t n = MIN(chunk, size - done);

		gcry_create_nonce(buf, n);
		gcry_md_write(md, buf, n);
		if (fwrite(buf, 1, n, f) != n)
			rc = -1;
	}
	if (fclose(f))
		rc = -1;
	memcpy(digest, gcry_md_read(md, GCRY_MD_SHA256), sizeof(digest));
	gcry_md_close(md);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	g_free(buf);
	if (rc)
		fprintf(stderr, "bench-smime: cannot write %s\n", name);
	return rc;
}

static int make_key(void)
{
	char *req[] = {"openssl",
		       "req",
		       "-x509",
		       "-new",
		       "-nodes",
		       "-newkey",
		       "rsa:2048",
		       "-keyout",
		       "key.pem",
		       "-out",
		       "cert.pem",
		       "-days",
		       "2",
		       "-subj",
		       "/CN=spop bench-smime",
		       "-addext",
		       "subjectKeyIdentifier=hash",
		       "-addext",
		       "keyUsage=digitalSignature,keyEncipherment",
		       NULL};
	char *der[] = {"openssl", "x509", "-in",      "cert.pem", "-outform",
		       "DER",	  "-out", "cert.der", NULL};
	char *key = NULL, *cert = NULL, *both, *p;
	int rc;

	if (run_tool(req) || run_tool(der))
		return -1;
	p = path("key.pem");
	g_file_get_contents(p, &key, NULL, NULL);
	g_free(p);
	p = path("cert.pem");
	g_file_get_contents(p, &cert, NULL, NULL);
	g_free(p);
	both = g_strconcat(key ? key : "", cert ? cert : "", NULL);
	p = path("store.pem");
	rc = key && cert && g_file_set_contents(p, both, -1, NULL) ? 0 : -1;
	g_free(p);
	g_free(key);
	g_free(cert);
	g_free(both);
	if (rc)
		fprintf(stderr, "bench-smime: cannot write store.pem\n");
	return rc;
}

/* The messages of one size: plain-T (random), enc-T.der (EnvelopedData,
 * AES-256-CBC, to cert.pem), det-T.p7s (SignedData over plain-T,
 * detached), opq-T.p7s (the same, encapsulated) and both-T.der
 * (opq-T.p7s encrypted: signed, then encrypted). */
static int make_messages(const char *tag, size_t size, char hex[65])
{
	char plain[32], enc[32], det[32], opq[32], signed_enc[32];
	int rc;

	snprintf(plain, sizeof(plain), "plain-%s", tag);
	snprintf(enc, sizeof(enc), "enc-%s.der", tag);
	snprintf(det, sizeof(det), "det-%s.p7s", tag);
	snprintf(opq, sizeof(opq), "opq-%s.p7s", tag);
	snprintf(signed_enc, sizeof(signed_enc), "both-%s.der", tag);
	char *encrypt[] = {
	    "openssl", "cms",	       "-encrypt", "-binary", "-outform",
	    "DER",     "-aes-256-cbc", "-in",	   plain,     "-out",
	    enc,       "cert.pem",     NULL};
	char *sign[] = {"openssl", "cms",     "-sign",	"-binary", "-outform",
			"DER",	   "-md",     "sha256", "-signer", "cert.pem",
			"-inkey",  "key.pem", "-in",	plain,	   "-out",
			det,	   NULL,      NULL};
	char *encrypt_signed[] = {
	    "openssl",	"cms",		"-encrypt", "-binary", "-outform",
	    "DER",	"-aes-256-cbc", "-in",	    opq,       "-out",
	    signed_enc, "cert.pem",	NULL};

	rc = random_file(plain, size, hex);
	if (!rc)
		rc = run_tool(encrypt);
	if (!rc)
		rc = run_tool(sign);
	if (!rc) {
		sign[15] = opq;
		sign[16] = "-nodetach";
		rc = run_tool(sign);
	}
	if (!rc)
		rc = run_tool(encrypt_signed);
	return rc;
}

/* ---- throughput --------------------------------------------------------- */

/* One set of messages (make_messages' tag) in memory, and its timings:
 * each operation's and each reference's, per round. */
struct set {
	unsigned char *msg[4]; /* by enum op */
	size_t len[4];
	unsigned char *plain, digest[32];
	size_t plain_len;
	/* random bytes as many as the encrypted content (the content padded
	 * to the block), and a buffer already touched to decrypt them into */
	unsigned char *ct, *out;
	size_t ct_len;
	double t[4][ROUNDS], aes[ROUNDS], fresh[ROUNDS], sha[ROUNDS];
};

/* make_messages' files, by enum op: prefix-tag.suffix */
static const char *const op_files[][2] = {
    {"enc", "der"}, {"det", "p7s"}, {"opq", "p7s"}, {"both", "der"}};

static void set_free(struct set *st)
{
	for (int o = 0; o < 4; o++)
		g_free(st->msg[o]);
	g_free(st->plain);
	g_free(st->ct);
	g_free(st->out);
	memset(st, 0, sizeof(*st));
}

static int set_load(struct set *st, const char *tag, const char *hex)
{
	char name[64];

	memset(st, 0, sizeof(*st));
	snprintf(name, sizeof(name), "plain-%s", tag);
	if (!(st->plain = slurp(name, &st->plain_len)))
		return -1;
	for (int o = 0; o < 4; o++) {
		snprintf(name, sizeof(name), "%s-%s.%s", op_files[o][0], tag,
			 op_files[o][1]);
		if (!(st->msg[o] = slurp(name, &st->len[o])))
			return -1;
	}
	for (int i = 0; i < 32; i++)
		sscanf(hex + 2 * i, "%2hhx", &st->digest[i]);
	st->ct_len = (st->plain_len / 16 + 1) * 16;
	st->ct = g_malloc(st->ct_len);
	st->out = g_malloc0(st->ct_len);
	gcry_create_nonce(st->ct, st->ct_len);
	return 0;
}

/* One round on a set: the four operations, then the references; round
 * -1 is not recorded (libgcrypt, the ASN.1 definitions, the key's first
 * use). */
static int set_round(struct engine *en, struct set *st, int r)
{
	double secs, fresh_secs, s0;
	unsigned char md[32];

	for (int o = 0; o < 4; o++) {
		if (run_op(en, (enum op)o, st->msg[o], st->len[o], st->plain,
			   st->plain_len, st->digest, &secs))
			return -1;
		if (r >= 0)
			st->t[o][r] = secs;
	}
	if (ref_aes(st->ct, st->out, st->ct_len, &secs) ||
	    ref_aes(st->ct, NULL, st->ct_len, &fresh_secs)) {
		fprintf(stderr, "bench-smime: libgcrypt AES-256-CBC failed\n");
		return -1;
	}
	s0 = now_s();
	gcry_md_hash_buffer(GCRY_MD_SHA256, md, st->plain, st->plain_len);
	if (r >= 0) {
		st->sha[r] = now_s() - s0;
		st->aes[r] = secs;
		st->fresh[r] = fresh_secs;
	}
	return 0;
}

/* The medians of a set's rounds. */
struct timing {
	double op[4]; /* by enum op */
	double aes, aes_fresh, sha;
	size_t content;
};

static void set_medians(struct set *st, struct timing *out)
{
	for (int o = 0; o < 4; o++)
		out->op[o] = median(st->t[o]);
	out->aes = median(st->aes);
	out->aes_fresh = median(st->fresh);
	out->sha = median(st->sha);
	out->content = st->plain_len;
}

/* ---- main --------------------------------------------------------------- */

static double mib_s(size_t bytes, double secs)
{
	return bytes / MIB / secs;
}

int main(int argc, char **argv)
{
	size_t size = 10, big = 100;
	char hex[65], big_hex[65], hex_tiny[65];
	struct engine en = {0};
	struct timing tiny, small;
	static struct set sets[2];
	int status = 1;
	GError *e = NULL;

	if (gcry_check_version(GCRYPT_VERSION) == NULL) {
		fprintf(stderr, "bench-smime: libgcrypt %s needed\n",
			GCRYPT_VERSION);
		return 1;
	}
	if (argc == 7 && strcmp(argv[1], "--child") == 0) {
		dir = argv[3];
		for (int op = 0; op < (int)G_N_ELEMENTS(op_names); op++)
			if (strcmp(argv[2], op_names[op]) == 0)
				return child(op, argv[4],
					     *argv[6] ? argv[6] : NULL,
					     argv[5]);
		return 2;
	}
	if (argc > 3 ||
	    (argc > 1 && (size = strtoul(argv[1], NULL, 10)) == 0) ||
	    (argc > 2 && (big = strtoul(argv[2], NULL, 10)) == 0)) {
		fprintf(stderr,
			"usage: %s [SIZE [BIG]]\n  MiB of the timed messages "
			"(default 10) and of the memory runs (default 100)\n",
			argv[0]);
		return 2;
	}
	dir = g_dir_make_tmp("spop-bench-smime-XXXXXX", &e);
	if (!dir) {
		fprintf(stderr, "bench-smime: %s\n", e->message);
		g_error_free(e);
		return 1;
	}
	printf("bench-smime: making an RSA 2048 key and the messages with "
	       "openssl cms (%zu MiB and %zu MiB)...\n",
	       size, big);
	fflush(stdout);
	double t0 = now_s();
	if (make_key() || make_messages("tiny", 1024, hex_tiny) ||
	    make_messages("small", size << 20, hex) ||
	    make_messages("big", big << 20, big_hex))
		goto out;
	printf("  ready in %.1f s in %s\n", now_s() - t0, dir);
	if (engine_open(&en))
		goto close;
	/* the 1 KiB set (the cost per message) and the timed set in the
	 * same rounds, so that both see the same machine */
	if (set_load(&sets[0], "tiny", hex_tiny) ||
	    set_load(&sets[1], "small", hex))
		goto close;
	for (int r = -1; r < ROUNDS; r++)
		if (set_round(&en, &sets[0], r) || set_round(&en, &sets[1], r))
			goto close;
	set_medians(&sets[0], &tiny);
	set_medians(&sets[1], &small);
	set_free(&sets[0]);
	set_free(&sets[1]);

	static const char *const rows[][2] = {
	    {"decrypt", "AES-256-CBC decrypt"},
	    {"verify detached", "SHA-256"},
	    {"verify opaque", "SHA-256"},
	    {"decrypt+verify", "AES-256-CBC + SHA-256"},
	};
	printf("\nthroughput: %zu MiB of content, MiB/s of content, median "
	       "of %d rounds\n(after an untimed one); \"1 KiB ms\": the same "
	       "operation on 1 KiB, its cost\nper message; \"per byte\": the "
	       "reference's time over the operation's time\nless that "
	       "cost\n",
	       size, ROUNDS);
	printf("%-16s %8s %8s  %-22s %8s %8s %6s %9s %8s\n", "operation", "ms",
	       "MiB/s", "libgcrypt reference", "ms", "MiB/s", "ratio",
	       "1 KiB ms", "per byte");
	for (int o = 0; o < 4; o++) {
		double ref = o == OP_DECRYPT ? small.aes
			     : o == OP_BOTH  ? small.aes + small.sha
					     : small.sha;
		double op = small.op[o], fixed = tiny.op[o];
		char per_byte[16] = "   (noise)";

		/* a loaded machine can make the small run the slower */
		if (op > fixed)
			snprintf(per_byte, sizeof(per_byte), "%7.0f%%",
				 100.0 * ref / (op - fixed));
		printf("%-16s %8.2f %8.1f  %-22s %8.2f %8.1f %5.0f%% %9.2f "
		       "%s\n",
		       rows[o][0], op * 1e3, mib_s(small.content, op),
		       rows[o][1], ref * 1e3, mib_s(small.content, ref),
		       100.0 * ref / op, fixed * 1e3, per_byte);
	}
	printf("decrypt+verify: opq-small.p7s encrypted (signed, then "
	       "encrypted), verified as\nthe decrypted SignedData "
	       "(opaque)\n");
	printf("AES-256-CBC into a fresh g_malloc'd buffer, as the result "
	       "is: %.2f ms, %.1f MiB/s\n",
	       small.aes_fresh * 1e3, mib_s(small.content, small.aes_fresh));
	fflush(stdout);

	/* peak memory: each operation once in a fresh process, ROUNDS
	 * times; the median peak shown */
	struct {
		enum op op;
		const char *msg, *content, *what;
	} mems[] = {
	    {OP_DECRYPT, "enc-big.der", "", "message + content"},
	    {OP_VERIFY_DETACHED, "det-big.p7s", "plain-big",
	     "signature + content"},
	    {OP_VERIFY_OPAQUE, "opq-big.p7s", "", "message + content"},
	    {OP_BOTH, "both-big.der", "", "message + 2 contents"},
	};
	printf("\npeak memory: %zu MiB content, each operation alone in a "
	       "fresh process, the median\nof %d; MiB; peak is VmHWM; x = "
	       "(peak - baseline) / content size\n",
	       big, ROUNDS);
	printf("%-16s %7s %8s %7s %9s %7s %6s  %s\n", "operation", "input",
	       "baseline", "peak", "ru_maxrss", "+peak", "x",
	       "the caller's own (x)");
	for (size_t m = 0; m < G_N_ELEMENTS(mems); m++) {
		struct peak p[ROUNDS];
		double plus[ROUNDS], med;
		int at = 0;

		for (int r = 0; r < ROUNDS; r++) {
			if (peak_of(mems[m].op, mems[m].msg, mems[m].content,
				    big_hex, &p[r]))
				goto close;
			plus[r] = p[r].peak_mib - p[r].base_mib;
		}
		med = median(plus);
		for (int r = 0; r < ROUNDS; r++)
			if (p[r].peak_mib - p[r].base_mib == med)
				at = r;
		/* what the caller itself holds at the end: its input (and a
		 * detached signature's content) and each result it got */
		int results = mems[m].op == OP_VERIFY_DETACHED ? 0
			      : mems[m].op == OP_BOTH	       ? 2
							       : 1;
		double own =
		    p[at].msg_mib + p[at].content_mib + results * (double)big;

		printf("%-16s %7.1f %8.1f %7.1f %9.1f %7.1f %5.2fx  %s "
		       "(%.2fx)\n",
		       op_names[mems[m].op], p[at].msg_mib + p[at].content_mib,
		       p[at].base_mib, p[at].peak_mib, p[at].maxrss_mib, med,
		       med / big, mems[m].what, own / big);
		fflush(stdout);
	}
	status = 0;
close:
	set_free(&sets[0]);
	set_free(&sets[1]);
	engine_close(&en);
out:
	if (dir) {
		char *rm[] = {"rm", "-rf", dir, NULL};

		run_tool(rm);
		g_free(dir);
	}
	return status;
}
