/* SCRAM client (RFC 5802 section 5, with RFC 7677's SHA-256 and the
 * channel bindings of RFC 5929 / RFC 9266): client-first with its GS2
 * header, the server-first checked strictly before any key is derived,
 * client-final with the proof, and the server's signature checked in
 * constant time before the login is kept. Hashes, HMAC and PBKDF2 are
 * libgcrypt's; SASLprep (RFC 4013) is libidn's stringprep. */
#include "scram.h"
#include "../../common/gcrypt-ready.h"

#include <gcrypt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <stringprep.h>

#define HASH_MAX 64 /* room for any digest a mechanism names */

/* Why 10,000,000: PBKDF2 costs the client as much as the server asked for,
 * so a hostile server could make every login burn CPU. Real servers ask for
 * 4096 (RFC 7677's minimum, Dovecot, Cyrus) up to about 1.3 million
 * (OWASP's 2023 figure for PBKDF2-HMAC-SHA1); ten million leaves room above
 * that and still costs only a few seconds (about 0.3 s per million here). */
_Static_assert(SCRAM_ITERATIONS_MAX == 10000000u, "8 decimal digits");
#define ITER_DIGITS_MAX 8

enum phase {
	SENT_CLIENT_FIRST, /* waiting for server-first */
	SENT_CLIENT_FINAL, /* waiting for server-final */
	VERIFIED,	   /* the server proved it knows the password */
};

struct scram {
	const struct scram_mech *m;
	enum phase phase;
	size_t hlen;
	char *password;	   /* SASLprep'd, wiped when freed */
	char *nonce;	   /* ours: base64 of host->random() bytes */
	char *gs2;	   /* "n,,", "y,,", "p=tls-unique,a=x," */
	unsigned char *cb; /* channel-binding data (-PLUS only) */
	size_t cb_len;
	char *first_bare;   /* client-first-message-bare */
	char *auth_message; /* kept for the server signature */
	unsigned char server_key[HASH_MAX];
};

/* ---- libgcrypt ---- */

static int hmac(const struct scram_mech *m, const void *key, size_t key_len,
		const void *data, size_t len, unsigned char *out, size_t hlen)
{
	gcry_mac_hd_t hd;
	size_t got = hlen;

	if (gcry_mac_open(&hd, m->mac, 0, NULL))
		return -1;
	int bad = gcry_mac_setkey(hd, key, key_len) ||
		  gcry_mac_write(hd, data, len) ||
		  gcry_mac_read(hd, out, &got) || got != hlen;
	gcry_mac_close(hd);
	return bad ? -1 : 0;
}

/* ---- helpers ---- */

static char *dup_n(struct spop_host *h, const char *s, size_t n)
{
	char *d = h->alloc(h, n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static void free_secret(struct spop_host *h, char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		h->free(h, s);
	}
}

/* RFC 5802 saslname: ',' and '=' as =2C and =3D. */
static char *saslname(struct spop_host *h, const char *name)
{
	size_t n = 0;

	for (const char *p = name; *p; p++)
		n += (*p == ',' || *p == '=') ? 3 : 1;
	char *out = h->alloc(h, n + 1), *o = out;
	for (const char *p = name; *p; p++) {
		if (*p == ',' || *p == '=') {
			memcpy(o, *p == ',' ? "=2C" : "=3D", 3);
			o += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

/* SASLprep (RFC 4013) as a query string (unassigned code points allowed),
 * as RFC 5802 section 5.1 asks for both the name and the password. The
 * result is libidn's malloc()'d text, or NULL with *why set. */
static char *prep(const char *in, const char **why)
{
	char *out = NULL;
	int rc = stringprep_profile(in, &out, "SASLprep", 0);

	if (rc != STRINGPREP_OK) {
		*why = stringprep_strerror(rc);
		free(out);
		return NULL;
	}
	return out;
}

/* Whether the server lists name in CAPA SASL. */
static bool server_offers(struct spop_host *h, const char *name)
{
	if (!SPOP_OPS_HAS(struct spop_host, h, capability_args))
		return false;
	const char *list = h->capability_args(h, "SASL");
	size_t n = strlen(name);

	while (list && *list) {
		while (*list == ' ')
			list++;
		size_t w = strcspn(list, " ");
		if (w == n && !strncasecmp(list, name, n))
			return true;
		list += w;
	}
	return false;
}

/* The TLS layer's channel binding for -PLUS, and its RFC 5056 type name.
 * RFC 9266 makes tls-exporter the binding under TLS 1.3, where tls-unique
 * is not defined; below 1.3 SCRAM keeps tls-unique (RFC 5802), which every
 * -PLUS server has, whereas tls-exporter there needs the extended master
 * secret and a server that knows RFC 9266. So the negotiated version
 * chooses; when the core cannot tell it, tls-exporter is tried first and
 * tls-unique only when the layer says it has no exporter (1212): that is
 * what a TLS 1.2 session answers. */
static int channel_binding(struct spop_host *h, struct scram *c,
			   const char **type)
{
	const char *v = h->setting(h, "SSLNegotiatedVersion");
	bool below_13 = v && *v && strcmp(v, "TLS1.3") != 0;
	int rc = SPOP_ERR_NOT_AVAILABLE;

	if (!SPOP_OPS_HAS(struct spop_host, h, channel_binding))
		return h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
				    "%s needs channel binding, which this "
				    "libspop core does not offer.",
				    c->m->name);
	if (!below_13) {
		*type = "tls-exporter";
		rc = h->channel_binding(h, *type, &c->cb, &c->cb_len);
	}
	if (rc == SPOP_ERR_NOT_AVAILABLE && (below_13 || !v || !*v)) {
		*type = "tls-unique";
		rc = h->channel_binding(h, *type, &c->cb, &c->cb_len);
	}
	if (!rc && !c->cb_len)
		rc = h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
				  "%s: the TLS layer gave empty %s "
				  "channel-binding data.",
				  c->m->name, *type);
	return rc;
}

static char *gs2_header(struct spop_host *h, struct scram *c,
			const char *cb_type)
{
	const char *authzid = h->setting(h, "AuthorizationIdentity");
	char *a = authzid && *authzid ? saslname(h, authzid) : NULL;
	char flag[64];

	if (c->m->plus) {
		snprintf(flag, sizeof(flag), "p=%s", cb_type);
	} else {
		/* RFC 5802 section 6: a client able to bind that does not see
		 * the -PLUS variant offered says "y", so that a server which
		 * has it detects a man in the middle who struck it from CAPA.
		 * When -PLUS is offered and this variant was still chosen,
		 * "n" is the honest answer. Both shipped TLS providers give
		 * channel bindings, so TLS means this client can bind. */
		char plus[64];

		snprintf(plus, sizeof(plus), "%s-PLUS", c->m->name);
		bool can_bind = SPOP_OPS_HAS(struct spop_host, h, tls_active) &&
				h->tls_active(h);
		snprintf(flag, sizeof(flag), "%s",
			 can_bind && !server_offers(h, plus) ? "y" : "n");
	}
	size_t n = strlen(flag) + (a ? 2 + strlen(a) : 0) + 3;
	char *g = h->alloc(h, n);

	snprintf(g, n, "%s,%s%s,", flag, a ? "a=" : "", a ? a : "");
	if (a)
		h->free(h, a);
	return g;
}

/* ---- start: client-first ---- */

int scram_start(const struct scram_mech *m, struct spop_host *h, void **state,
		unsigned char **out, size_t *out_len)
{
	const char *user = h->setting(h, "User");
	const char *pass = h->setting(h, "Password");
	const char *why = NULL, *cb_type = NULL;
	int rc;

	*state = NULL;
	if (!spop_gcrypt_ready()->ok)
		return h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
				    "%s needs libgcrypt %s or later; %s is "
				    "loaded.",
				    m->name, GCRYPT_VERSION,
				    gcry_check_version(NULL));
	if (!user || !*user)
		return h->set_error(h, SPOP_ERR_INVALID_VALUE,
				    "User is empty: %s needs a user name.",
				    m->name);

	struct scram *c = h->alloc(h, sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->m = m;
	c->hlen = gcry_md_get_algo_dlen(m->md);
	*state = c;
	if (!c->hlen || c->hlen > HASH_MAX)
		return h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
				    "%s: libgcrypt has no %s.", m->name,
				    gcry_md_algo_name(m->md));

	/* Name and password in SASLprep's form. The error names the setting
	 * and libidn's reason, never the value. */
	char *user_p = prep(user, &why);
	if (!user_p)
		return h->set_error(h, SPOP_ERR_INVALID_VALUE,
				    "User cannot be prepared for %s with "
				    "SASLprep (RFC 4013): %s.",
				    m->name, why);
	if (!*user_p) {
		free(user_p);
		return h->set_error(h, SPOP_ERR_INVALID_VALUE,
				    "User maps to nothing under SASLprep (RFC "
				    "4013): %s needs a user name.",
				    m->name);
	}
	char *pass_p = prep(pass ? pass : "", &why);
	if (!pass_p || !*pass_p) {
		free(pass_p); /* empty when not NULL: nothing to wipe */
		free(user_p);
		return h->set_error(
		    h, SPOP_ERR_INVALID_VALUE,
		    "Password cannot be prepared for %s with SASLprep (RFC "
		    "4013): %s.",
		    m->name, pass_p ? "it is empty, or maps to nothing" : why);
	}
	c->password = dup_n(h, pass_p, strlen(pass_p));
	explicit_bzero(pass_p, strlen(pass_p));
	free(pass_p);

	/* The nonce: only host->random(), as base64 text, which is
	 * printable and has no ',' (RFC 5802 section 7, "printable"). */
	unsigned char raw[64];
	if (m->nonce_bytes > sizeof(raw) || m->nonce_bytes % 3) {
		free(user_p);
		return h->set_error(h, SPOP_ERR_PLUGIN_INVALID,
				    "%s: a nonce of %zu random bytes is not "
				    "supported.",
				    m->name, m->nonce_bytes);
	}
	rc = h->random(h, raw, m->nonce_bytes);
	if (rc) {
		free(user_p);
		return rc;
	}
	c->nonce = h->base64_encode(h, raw, m->nonce_bytes);
	explicit_bzero(raw, sizeof(raw));

	if (m->plus) {
		rc = channel_binding(h, c, &cb_type);
		if (rc) {
			free(user_p);
			return rc;
		}
	}
	c->gs2 = gs2_header(h, c, cb_type);

	char *name = saslname(h, user_p);
	free(user_p);
	size_t n = 2 + strlen(name) + 3 + strlen(c->nonce) + 1;
	c->first_bare = h->alloc(h, n);
	snprintf(c->first_bare, n, "n=%s,r=%s", name, c->nonce);
	h->free(h, name);

	size_t gl = strlen(c->gs2), bl = strlen(c->first_bare);
	*out = h->alloc(h, gl + bl);
	memcpy(*out, c->gs2, gl);
	memcpy(*out + gl, c->first_bare, bl);
	*out_len = gl + bl;
	c->phase = SENT_CLIENT_FIRST;
	return 0;
}

/* ---- parsing the server's messages ---- */

#define ATTRS_MAX 16

struct attr {
	char name;
	const char *value; /* inside the message copy; NUL-terminated */
	size_t len;
};

static int malformed(struct spop_host *h, const struct scram *c,
		     const char *which, const char *what)
{
	return h->set_error(h, SPOP_ERR_PROTOCOL,
			    "The server's %s %s message is malformed: %s.",
			    c->m->name, which, what);
}

/* Splits msg (a NUL-terminated copy, cut in place) into attr-val pairs
 * (RFC 5802 section 7: ALPHA "=" 1*value-char, separated by ','). */
static int split(struct spop_host *h, const struct scram *c, const char *which,
		 char *msg, struct attr *a, size_t *n)
{
	char err[96];

	*n = 0;
	if (!*msg)
		return malformed(h, c, which, "it is empty");
	for (char *p = msg;;) {
		char *end = strchr(p, ',');

		if (end)
			*end = '\0';
		if (*n == ATTRS_MAX)
			return malformed(h, c, which,
					 "it has too many attributes");
		if (!((p[0] >= 'a' && p[0] <= 'z') ||
		      (p[0] >= 'A' && p[0] <= 'Z')) ||
		    p[1] != '=') {
			snprintf(err, sizeof(err),
				 "attribute %zu is not of the form x=value",
				 *n + 1);
			return malformed(h, c, which, err);
		}
		if (!p[2]) {
			snprintf(err, sizeof(err), "attribute %c= is empty",
				 p[0]);
			return malformed(h, c, which, err);
		}
		a[*n] = (struct attr){p[0], p + 2, strlen(p + 2)};
		(*n)++;
		if (!end)
			return 0;
		p = end + 1;
	}
}

/* RFC 5802 section 7: after the attributes a message must carry come
 * optional extensions, which a client MUST ignore when it does not know
 * them. An attribute the RFC defines is never an extension: there it is a
 * duplicate or out of place, and refused. */
static int check_extensions(struct spop_host *h, const struct scram *c,
			    const char *which, const struct attr *a, size_t n,
			    size_t from)
{
	static const char defined[] = "acemnprsiv";
	char err[96];

	for (size_t i = from; i < n; i++) {
		if (!strchr(defined, a[i].name))
			continue;
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			dup = dup || a[j].name == a[i].name;
		snprintf(err, sizeof(err), "attribute %c= %s", a[i].name,
			 dup ? "appears twice" : "is out of place");
		return malformed(h, c, which, err);
	}
	return 0;
}

/* What a server may say in e= (RFC 5802 server-error-value is a short
 * token), reduced to printable ASCII and bounded, for the error text. */
static void printable(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; src[i] && i + 1 < size; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

static int server_error(struct spop_host *h, const struct scram *c,
			const char *which, const struct attr *e)
{
	char text[128];

	printable(text, sizeof(text), e->value);
	return h->set_error(h, SPOP_ERR_PROTOCOL,
			    "The server refused %s in its %s message: "
			    "e=%s.",
			    c->m->name, which, text);
}

static int parse_iterations(const char *v, size_t len, unsigned *out)
{
	/* posit-number = %x31-39 *DIGIT */
	if (!len || len > ITER_DIGITS_MAX || v[0] < '1' || v[0] > '9')
		return -1;
	unsigned n = 0;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (unsigned)(v[i] - '0');
	}
	if (n > SCRAM_ITERATIONS_MAX)
		return -1;
	*out = n;
	return 0;
}

/* ---- server-first -> client-final ---- */

static int derive(struct spop_host *h, struct scram *c, const char *first,
		  const unsigned char *salt, size_t salt_len, unsigned iter,
		  const char *without_proof, unsigned char *proof)
{
	unsigned char salted[HASH_MAX], client_key[HASH_MAX],
	    stored_key[HASH_MAX], client_sig[HASH_MAX];
	size_t hl = c->hlen;
	int bad = 0;

	/* AuthMessage: client-first-message-bare "," server-first-message
	 * "," client-final-message-without-proof */
	size_t am = strlen(c->first_bare) + 1 + strlen(first) + 1 +
		    strlen(without_proof) + 1;
	char *msg = h->alloc(h, am);
	snprintf(msg, am, "%s,%s,%s", c->first_bare, first, without_proof);
	c->auth_message = msg;

	if (gcry_kdf_derive(c->password, strlen(c->password), GCRY_KDF_PBKDF2,
			    c->m->md, salt, salt_len, iter, hl, salted))
		bad = 1;
	bad = bad || hmac(c->m, salted, hl, "Client Key", 10, client_key, hl);
	bad =
	    bad || hmac(c->m, salted, hl, "Server Key", 10, c->server_key, hl);
	if (!bad) {
		gcry_md_hash_buffer(c->m->md, stored_key, client_key, hl);
		bad = hmac(c->m, stored_key, hl, msg, strlen(msg), client_sig,
			   hl);
	}
	for (size_t i = 0; !bad && i < hl; i++)
		proof[i] = client_key[i] ^ client_sig[i];
	explicit_bzero(salted, sizeof(salted));
	explicit_bzero(client_key, sizeof(client_key));
	explicit_bzero(stored_key, sizeof(stored_key));
	explicit_bzero(client_sig, sizeof(client_sig));
	/* The password has done its work. */
	free_secret(h, c->password);
	c->password = NULL;
	if (bad)
		return h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
				    "%s: libgcrypt could not compute PBKDF2 "
				    "or HMAC with %s.",
				    c->m->name, gcry_md_algo_name(c->m->md));
	return 0;
}

static int server_first(struct spop_host *h, struct scram *c, char *msg,
			unsigned char **out, size_t *out_len)
{
	static const char which[] = "server-first";
	struct attr a[ATTRS_MAX];
	size_t n;
	char err[160];
	int rc = split(h, c, which, msg, a, &n);

	if (rc)
		return rc;
	if (a[0].name == 'm')
		return malformed(h, c, which,
				 "it demands an extension (m=) this client "
				 "does not have");
	if (a[0].name == 'e')
		return server_error(h, c, which, &a[0]);
	static const char order[] = "rsi";
	static const char *const what[] = {"the nonce", "the salt",
					   "the iteration count"};
	for (size_t i = 0; i < 3; i++) {
		if (i >= n) {
			snprintf(err, sizeof(err), "%c= (%s) is missing",
				 order[i], what[i]);
			return malformed(h, c, which, err);
		}
		if (a[i].name != order[i]) {
			snprintf(err, sizeof(err),
				 "%c= stands where %c= (%s) belongs", a[i].name,
				 order[i], what[i]);
			return malformed(h, c, which, err);
		}
	}
	rc = check_extensions(h, c, which, a, n, 3);
	if (rc)
		return rc;

	/* r=: our nonce, then the server's part, all printable. */
	size_t ours = strlen(c->nonce);
	bool prefix = a[0].len >= ours && !memcmp(a[0].value, c->nonce, ours);
	if (!prefix || a[0].len == ours)
		return malformed(h, c, which,
				 !prefix ? "the nonce r= does not start with "
					   "the client's nonce"
					 : "the nonce r= adds nothing to the "
					   "client's nonce");
	for (size_t i = 0; i < a[0].len; i++)
		if (a[0].value[i] < 0x21 || a[0].value[i] > 0x7e)
			return malformed(h, c, which,
					 "the nonce r= has a character that "
					 "is not printable");

	size_t salt_len = 0;
	unsigned char *salt = h->base64_decode(h, a[1].value, &salt_len);
	if (!salt || !salt_len) {
		if (salt)
			h->free(h, salt);
		return malformed(h, c, which, "the salt s= is not base64");
	}
	unsigned iter;
	if (parse_iterations(a[2].value, a[2].len, &iter)) {
		h->free(h, salt);
		snprintf(err, sizeof(err),
			 "the iteration count i= is not a number from 1 "
			 "to %u",
			 SCRAM_ITERATIONS_MAX);
		return malformed(h, c, which, err);
	}

	/* client-final-message-without-proof: c= the GS2 header (and the
	 * binding data), r= the whole nonce. */
	size_t gl = strlen(c->gs2);
	unsigned char *cbind = h->alloc(h, gl + c->cb_len + 1);
	memcpy(cbind, c->gs2, gl);
	if (c->cb_len)
		memcpy(cbind + gl, c->cb, c->cb_len);
	char *cb64 = h->base64_encode(h, cbind, gl + c->cb_len);
	h->free(h, cbind);
	size_t wl = 2 + strlen(cb64) + 3 + a[0].len + 1;
	char *without = h->alloc(h, wl);
	snprintf(without, wl, "c=%s,r=%s", cb64, a[0].value);
	h->free(h, cb64);

	/* The server-first message as it came, for AuthMessage: split()
	 * cut it at the commas, which are put back. */
	for (size_t i = 1; i < n; i++)
		((char *)a[i].value)[-3] = ',';

	unsigned char proof[HASH_MAX];
	rc = derive(h, c, msg, salt, salt_len, iter, without, proof);
	h->free(h, salt);
	if (rc) {
		h->free(h, without);
		return rc;
	}
	char *p64 = h->base64_encode(h, proof, c->hlen);
	explicit_bzero(proof, sizeof(proof));
	size_t ol = strlen(without) + 3 + strlen(p64);
	*out = h->alloc(h, ol + 1);
	snprintf((char *)*out, ol + 1, "%s,p=%s", without, p64);
	*out_len = ol;
	h->free(h, without);
	h->free(h, p64);
	c->phase = SENT_CLIENT_FINAL;
	return 0;
}

/* ---- server-final ---- */

static int server_final(struct spop_host *h, struct scram *c, char *msg,
			unsigned char **out, size_t *out_len)
{
	static const char which[] = "server-final";
	struct attr a[ATTRS_MAX];
	size_t n;
	int rc = split(h, c, which, msg, a, &n);

	if (rc)
		return rc;
	rc = check_extensions(h, c, which, a, n, 1);
	if (rc)
		return rc;
	if (a[0].name == 'e')
		return server_error(h, c, which, &a[0]);
	if (a[0].name != 'v')
		return malformed(h, c, which,
				 "it carries neither v= (the server "
				 "signature) nor e= (an error)");

	size_t len = 0;
	unsigned char *sig = h->base64_decode(h, a[0].value, &len);
	if (!sig)
		return malformed(h, c, which,
				 "the server signature v= is not base64");
	/* gcry_mac_verify accepts a prefix of the MAC: the length is
	 * checked first, and the comparison is then constant-time. */
	gcry_mac_hd_t hd;
	bool ok = false;
	if (len == c->hlen && !gcry_mac_open(&hd, c->m->mac, 0, NULL)) {
		ok = !gcry_mac_setkey(hd, c->server_key, c->hlen) &&
		     !gcry_mac_write(hd, c->auth_message,
				     strlen(c->auth_message)) &&
		     !gcry_mac_verify(hd, sig, len);
		gcry_mac_close(hd);
	}
	h->free(h, sig);
	explicit_bzero(c->server_key, sizeof(c->server_key));
	if (!ok)
		return h->set_error(h, SPOP_ERR_CERT_VERIFY,
				    "The server's %s signature (v=) is wrong: "
				    "it does not know the password, or "
				    "someone is in between.",
				    c->m->name);
	c->phase = VERIFIED;
	/* RFC 5034: the server-final is a challenge, answered empty. */
	*out = h->alloc(h, 1);
	*out_len = 0;
	return 0;
}

int scram_step(struct spop_host *h, void *state, const unsigned char *in,
	       size_t in_len, unsigned char **out, size_t *out_len)
{
	struct scram *c = state;

	*out = NULL;
	*out_len = 0;
	if (c->phase == VERIFIED)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "The server sent %s another challenge "
				    "after its final message.",
				    c->m->name);
	if (memchr(in, '\0', in_len))
		return malformed(h, c,
				 c->phase == SENT_CLIENT_FIRST ? "server-first"
							       : "server-final",
				 "it contains a NUL byte");
	char *msg = dup_n(h, (const char *)in, in_len);
	int rc = c->phase == SENT_CLIENT_FIRST
		     ? server_first(h, c, msg, out, out_len)
		     : server_final(h, c, msg, out, out_len);
	h->free(h, msg);
	return rc;
}

int scram_finish(struct spop_host *h, void *state)
{
	struct scram *c = state;

	if (c->phase != VERIFIED)
		return h->set_error(h, SPOP_ERR_CERT_VERIFY,
				    "The server accepted %s without proving "
				    "that it knows the password (no "
				    "server-final v=); the login is not "
				    "kept.",
				    c->m->name);
	return 0;
}

void scram_done(struct spop_host *h, void *state)
{
	struct scram *c = state;

	if (!c)
		return;
	free_secret(h, c->password);
	h->free(h, c->nonce);
	h->free(h, c->gs2);
	if (c->cb) {
		explicit_bzero(c->cb, c->cb_len);
		h->free(h, c->cb);
	}
	h->free(h, c->first_bare);
	free_secret(h, c->auth_message);
	explicit_bzero(c, sizeof(*c));
	h->free(h, c);
}
