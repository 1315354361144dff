/* Auth "digest-md5" (AuthMechanism 5, SASL DIGEST-MD5, RFC 2831), for
 * authentication only (qop=auth): the server speaks first with a list of
 * directives; the client answers with an MD5 digest of the password keyed
 * to the server's nonce and a client nonce; the server proves in turn that
 * it knows the password (rspauth), which this plugin checks before the
 * login counts (SPOP_CAP_AUTH_MUTUAL). The password never travels; MD5 is
 * weak and RFC 6331 moved DIGEST-MD5 to Historic: prefer SCRAM where the
 * server has it.
 *
 * Choices, where RFC 2831 leaves one to the client:
 *  - realm: none offered, none sent (the empty realm is hashed); one or
 *    several offered, the first is used (servers list their own first).
 *  - qop: only "auth". A challenge whose qop list lacks it is refused; a
 *    challenge without qop means "auth" (RFC 2831 section 2.1.1).
 *  - digest-uri: SERVICE/MailServer, SERVICE from the setting this plugin
 *    declares, DigestMD5Service (default "pop", the service name of POP3
 *    in RFC 5034); another value talks to a server set up for another
 *    name, and lets RFC 2831's IMAP example be checked byte for byte.
 *  - cnonce: 14 characters of the base64 alphabet, each from the low six
 *    bits of one random byte of host->random() (84 bits; RFC 2831 asks
 *    for at least 64), the length of RFC 2831's own examples.
 *  - charset=utf-8 offered: User, AuthorizationIdentity and the realm go
 *    out in UTF-8; user, realm and password are each hashed in ISO 8859-1
 *    when all their characters have one, else in UTF-8 (RFC 2831 section
 *    2.1.2.1, as Cyrus SASL reads it). Not offered: everything is ISO
 *    8859-1, and a value with other characters cannot be sent.
 *
 * The challenge is parsed by the rules of RFC 2831 (RFC 2616's #rule):
 * quoted strings with backslash escapes, duplicates of the directives RFC
 * 2831 allows once refused, the size limits of section 2.1 enforced.
 * Everything malformed is SPOP_ERR_PROTOCOL naming what was wrong; a
 * well-formed rspauth with the wrong value is SPOP_ERR_CERT_VERIFY (the
 * server failed its proof, plugin.h's code for that). */
#include <glib.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdarg.h>
#include <string.h>

#include <spop/plugin.h>

#define MECH "DIGEST-MD5"
/* RFC 2831 section 2.1.1: "The size of a digest-challenge MUST be less
 * than 2048 bytes"; 2.1.2: a digest-response less than 4096. */
#define CHALLENGE_MAX 2048
#define RESPONSE_MAX  4096
#define CNONCE_LEN    14
#define MD5_LEN	      16
#define HEX_LEN	      (2 * MD5_LEN)
/* One response per authentication: the nonce count is always 1. */
#define NONCE_COUNT	"00000001"
#define SERVICE_SETTING "DigestMD5Service"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

enum stage { AWAIT_CHALLENGE, AWAIT_RSPAUTH, VERIFIED };

struct digest {
	enum stage stage;
	char rspauth[HEX_LEN + 1]; /* what the server must prove */
};

/* ---- the directive list (RFC 2831 section 1.1: RFC 2616's rules) ---- */

struct directive {
	char *name;
	char *value; /* unquoted, escapes removed */
};

static void directive_free(gpointer p)
{
	struct directive *d = p;

	g_free(d->name);
	g_free(d->value);
	g_free(d);
}

/* RFC 2616 section 2.2. */
static gboolean is_ctl(unsigned char c)
{
	return c < 32 || c == 127;
}

static gboolean is_tchar(unsigned char c)
{
	return c > 32 && c < 127 && !strchr("()<>@,;:\\\"/[]?={}", c);
}

/* Between elements: LWS, folded or not. */
static gboolean is_lws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct parser {
	const unsigned char *start, *p, *end;
	char *why; /* set on the first error */
};

G_GNUC_PRINTF(2, 3)
static gboolean parse_error(struct parser *ps, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	ps->why = g_strdup_printf("%s (at byte %td)", what, ps->p - ps->start);
	g_free(what);
	return FALSE;
}

static void skip_lws(struct parser *ps)
{
	while (ps->p < ps->end && is_lws(*ps->p))
		ps->p++;
}

static char *read_token(struct parser *ps)
{
	const unsigned char *t = ps->p;

	while (ps->p < ps->end && is_tchar(*ps->p))
		ps->p++;
	return ps->p > t ? g_strndup((const char *)t, (gsize)(ps->p - t))
			 : NULL;
}

/* quoted-string = <"> *(qdtext | quoted-pair) <">; ps->p is on the opening
 * quote. Control characters other than a tab are refused, escaped or not:
 * no directive has a use for them, and a realm is sent back. */
static char *read_quoted(struct parser *ps, const char *name)
{
	GString *v = g_string_new(NULL);

	ps->p++;
	for (;;) {
		if (ps->p == ps->end) {
			parse_error(ps,
				    "has a quoted value of '%s' that is "
				    "not terminated",
				    name);
			break;
		}
		unsigned char c = *ps->p++;

		if (c == '"')
			return g_string_free(v, FALSE);
		if (c == '\\') {
			if (ps->p == ps->end) {
				parse_error(ps,
					    "has a quoted value of '%s' "
					    "that ends in a lone backslash",
					    name);
				break;
			}
			c = *ps->p++;
			if (c > 127) {
				parse_error(ps,
					    "has a quoted value of '%s' "
					    "that escapes a byte outside "
					    "US-ASCII",
					    name);
				break;
			}
		}
		if (is_ctl(c) && c != '\t') {
			parse_error(ps,
				    "has the control character 0x%02x in "
				    "the value of '%s'",
				    c, name);
			break;
		}
		g_string_append_c(v, (char)c);
	}
	g_string_free(v, TRUE);
	return NULL;
}

/* 1#( token "=" ( token | quoted-string ) ): null elements are allowed,
 * LWS may surround every separator. Names are kept as given. */
static GPtrArray *parse_directives(const unsigned char *data, size_t len,
				   char **why)
{
	struct parser ps = {.start = data, .p = data, .end = data + len};
	GPtrArray *list = g_ptr_array_new_with_free_func(directive_free);

	for (;;) {
		skip_lws(&ps);
		while (ps.p < ps.end && *ps.p == ',') {
			ps.p++;
			skip_lws(&ps);
		}
		if (ps.p == ps.end)
			break;
		char *name = read_token(&ps);
		if (!name) {
			parse_error(&ps,
				    "has byte 0x%02x where a directive name "
				    "should start",
				    *ps.p);
			break;
		}
		skip_lws(&ps);
		if (ps.p == ps.end || *ps.p != '=') {
			parse_error(&ps, "has directive '%s' without '='",
				    name);
			g_free(name);
			break;
		}
		ps.p++;
		skip_lws(&ps);
		char *value = NULL;
		if (ps.p < ps.end && *ps.p == '"')
			value = read_quoted(&ps, name);
		else if (!(value = read_token(&ps)))
			parse_error(&ps, "has directive '%s' without a value",
				    name);
		if (!value) {
			g_free(name);
			break;
		}
		struct directive *d = g_new(struct directive, 1);
		d->name = name;
		d->value = value;
		g_ptr_array_add(list, d);
		skip_lws(&ps);
		if (ps.p < ps.end && *ps.p != ',') {
			parse_error(&ps,
				    "has byte 0x%02x after directive '%s' "
				    "where ',' or the end should be",
				    *ps.p, name);
			break;
		}
	}
	if (ps.why) {
		*why = ps.why;
		g_ptr_array_free(list, TRUE);
		return NULL;
	}
	return list;
}

/* A value that is itself a #rule list of tokens (qop-options). 1 when
 * want is among them (case-insensitive, as RFC 2616's literals are), 0
 * when not, -1 when the list is malformed or empty. */
static int token_list_has(const char *list, const char *want)
{
	struct parser ps = {.start = (const unsigned char *)list,
			    .p = (const unsigned char *)list,
			    .end = (const unsigned char *)list + strlen(list)};
	int found = 0, n = 0;

	for (;;) {
		skip_lws(&ps);
		while (ps.p < ps.end && *ps.p == ',') {
			ps.p++;
			skip_lws(&ps);
		}
		if (ps.p == ps.end)
			break;
		char *t = read_token(&ps);
		if (!t)
			return -1;
		n++;
		if (!g_ascii_strcasecmp(t, want))
			found = 1;
		g_free(t);
		skip_lws(&ps);
		if (ps.p < ps.end && *ps.p != ',')
			return -1;
	}
	return n ? found : -1;
}

/* ---- the server's challenge ---- */

struct challenge {
	GPtrArray *realms; /* borrowed values, in the server's order */
	const char *nonce, *qop, *stale, *maxbuf, *charset, *algorithm, *cipher;
};

/* The directives RFC 2831 section 2.1.1 allows at most once. */
static const char **single_slot(struct challenge *c, const char *name)
{
	static const struct {
		const char *name;
		size_t offset;
	} slots[] = {
	    {"nonce", offsetof(struct challenge, nonce)},
	    {"qop", offsetof(struct challenge, qop)},
	    {"stale", offsetof(struct challenge, stale)},
	    {"maxbuf", offsetof(struct challenge, maxbuf)},
	    {"charset", offsetof(struct challenge, charset)},
	    {"algorithm", offsetof(struct challenge, algorithm)},
	    {"cipher", offsetof(struct challenge, cipher)},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(slots); i++)
		if (!g_ascii_strcasecmp(name, slots[i].name))
			return (const char **)(void *)((char *)c +
						       slots[i].offset);
	return NULL;
}

/* Fills c from list; NULL, or why the challenge cannot be answered. */
static char *read_challenge(GPtrArray *list, struct challenge *c)
{
	for (guint i = 0; i < list->len; i++) {
		struct directive *d = list->pdata[i];
		const char **slot = single_slot(c, d->name);

		if (!g_ascii_strcasecmp(d->name, "realm")) {
			g_ptr_array_add(c->realms, d->value);
		} else if (slot) {
			if (*slot)
				return g_strdup_printf(
				    "has directive '%s' twice (RFC 2831 "
				    "allows it once)",
				    d->name);
			*slot = d->value;
		}
		/* Anything else is an auth-param: ignored, as RFC 2831
		 * says unknown directives are. */
	}
	if (!c->nonce)
		return g_strdup("has no nonce");
	if (!*c->nonce)
		return g_strdup("has an empty nonce");
	if (!c->algorithm)
		return g_strdup("has no algorithm directive (RFC 2831 "
				"requires algorithm=md5-sess)");
	if (g_ascii_strcasecmp(c->algorithm, "md5-sess"))
		return g_strdup_printf("has algorithm '%s'; only md5-sess "
				       "is defined",
				       c->algorithm);
	if (c->charset && g_ascii_strcasecmp(c->charset, "utf-8"))
		return g_strdup_printf("has charset '%s'; only utf-8 is "
				       "defined",
				       c->charset);
	/* RFC 2831 defines only stale=true; false (HTTP's other value) is
	 * what its absence means. */
	if (c->stale && !g_ascii_strcasecmp(c->stale, "true"))
		return g_strdup("says stale=true, which only answers a "
				"reauthentication; this client sent no "
				"earlier response");
	if (c->stale && g_ascii_strcasecmp(c->stale, "false"))
		return g_strdup_printf("has stale '%s', neither true nor "
				       "false",
				       c->stale);
	if (c->maxbuf) {
		size_t n = strlen(c->maxbuf);

		if (!n || n > 10 || strspn(c->maxbuf, "0123456789") != n)
			return g_strdup_printf("has maxbuf '%s', not a "
					       "number",
					       c->maxbuf);
	}
	int qop = c->qop ? token_list_has(c->qop, "auth") : 1;
	if (qop < 0)
		return g_strdup_printf("has a malformed qop list \"%s\"",
				       c->qop);
	if (!qop)
		return g_strdup_printf("offers qop \"%s\" without auth, the "
				       "only one this client does",
				       c->qop);
	if (c->charset)
		for (guint i = 0; i < c->realms->len; i++)
			if (!g_utf8_validate(c->realms->pdata[i], -1, NULL))
				return g_strdup("says charset=utf-8 but has "
						"a realm that is not UTF-8");
	return NULL;
}

/* ---- hashing and the response ---- */

static void to_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static gboolean md5(const void *data, size_t len, unsigned char *out)
{
	return gnutls_hash_fast(GNUTLS_DIG_MD5, data, len, out) == 0;
}

static gboolean md5_hex(GByteArray *data, char *out)
{
	unsigned char d[MD5_LEN];

	if (!md5(data->data, data->len, d))
		return FALSE;
	to_hex(d, MD5_LEN, out);
	return TRUE;
}

static void add(GByteArray *a, const char *s)
{
	g_byte_array_append(a, (const guint8 *)s, (guint)strlen(s));
}

/* Frees a buffer that held key material. */
static void wipe_bytes(GByteArray *a)
{
	gnutls_memset(a->data, 0, a->len);
	g_byte_array_free(a, TRUE);
}

static void wipe_str(char *s)
{
	if (s) {
		gnutls_memset(s, 0, strlen(s));
		g_free(s);
	}
}

/* The ISO 8859-1 form of a UTF-8 string, or NULL when a character has
 * none. */
static char *latin1(const char *utf8)
{
	return g_convert(utf8, -1, "ISO-8859-1", "UTF-8", NULL, NULL, NULL);
}

/* The form a value is hashed in: under charset=utf-8, ISO 8859-1 when it
 * has one, else UTF-8; without, the value as it went on the wire. */
static char *hash_form(const char *wire, gboolean utf8)
{
	char *l = utf8 ? latin1(wire) : NULL;

	return l ? l : g_strdup(wire);
}

/* name="value" with '"' and '\' escaped (RFC 2616 quoted-pair). */
static void add_quoted(GString *s, const char *name, const char *value)
{
	g_string_append_printf(s, ",%s=\"", name);
	for (const char *p = value; *p; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_c(s, '\\');
		g_string_append_c(s, *p);
	}
	g_string_append_c(s, '"');
}

static gboolean has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (is_ctl(*p))
			return TRUE;
	return FALSE;
}

/* The wire form of a setting's value: UTF-8 under charset=utf-8, else
 * ISO 8859-1. NULL after setting the error. */
static char *wire_form(struct spop_host *h, const char *setting,
		       const char *value, gboolean utf8, int *rc)
{
	char *w;

	if (!g_utf8_validate(value, -1, NULL)) {
		*rc = h->set_error(
		    h, SPOP_ERR_INVALID_VALUE,
		    "%s is not valid UTF-8; " MECH " cannot send it.", setting);
		return NULL;
	}
	if (utf8)
		return g_strdup(value);
	if (!(w = latin1(value)))
		*rc = h->set_error(h, SPOP_ERR_PROTOCOL,
				   "%s has characters outside ISO 8859-1, and "
				   "the server's " MECH " challenge did not "
				   "offer charset=utf-8; it cannot be sent.",
				   setting);
	return w;
}

static int make_cnonce(struct spop_host *h, char *cnonce)
{
	unsigned char r[CNONCE_LEN];
	int rc = h->random(h, r, sizeof(r));

	if (rc)
		return rc;
	/* 256 is a multiple of 64: every character is equally likely. */
	for (size_t i = 0; i < CNONCE_LEN; i++)
		cnonce[i] = b64_alphabet[r[i] & 63];
	cnonce[CNONCE_LEN] = '\0';
	gnutls_memset(r, 0, sizeof(r));
	return 0;
}

struct inputs {
	const char *user, *realm, *pass, *authzid; /* wire forms */
	const char *nonce, *cnonce, *uri;
	gboolean utf8;
};

/* response (RFC 2831 section 2.1.2.1) and the rspauth the server must
 * send (2.1.3): both from HA1, with A2 "AUTHENTICATE:uri" and ":uri". */
static gboolean compute(const struct inputs *in, char *response, char *rspauth)
{
	char *u = hash_form(in->user, in->utf8);
	char *r = hash_form(in->realm, in->utf8);
	char *p = hash_form(in->pass, in->utf8);
	GByteArray *a = g_byte_array_new();
	unsigned char inner[MD5_LEN];
	char ha1[HEX_LEN + 1], ha2[HEX_LEN + 1];
	gboolean ok;

	add(a, u);
	add(a, ":");
	add(a, r);
	add(a, ":");
	add(a, p);
	ok = md5(a->data, a->len, inner);
	wipe_str(u);
	wipe_str(r);
	wipe_str(p);
	wipe_bytes(a);

	/* A1 = H(user:realm:pass) ":" nonce ":" cnonce [":" authzid] */
	a = g_byte_array_new();
	g_byte_array_append(a, inner, MD5_LEN);
	gnutls_memset(inner, 0, sizeof(inner));
	add(a, ":");
	add(a, in->nonce);
	add(a, ":");
	add(a, in->cnonce);
	if (*in->authzid) {
		add(a, ":");
		add(a, in->authzid);
	}
	ok = ok && md5_hex(a, ha1);
	wipe_bytes(a);

	for (int round = 0; round < 2 && ok; round++) {
		a = g_byte_array_new();
		add(a, round ? ":" : "AUTHENTICATE:");
		add(a, in->uri);
		ok = md5_hex(a, ha2);
		g_byte_array_free(a, TRUE);

		a = g_byte_array_new();
		add(a, ha1);
		add(a, ":");
		add(a, in->nonce);
		add(a, ":" NONCE_COUNT ":");
		add(a, in->cnonce);
		add(a, ":auth:");
		add(a, ha2);
		ok = ok && md5_hex(a, round ? rspauth : response);
		wipe_bytes(a);
	}
	gnutls_memset(ha1, 0, sizeof(ha1));
	return ok;
}

static int refuse(struct spop_host *h, char *why)
{
	int rc = h->set_error(h, SPOP_ERR_PROTOCOL,
			      "The server's " MECH " challenge %s.", why);

	g_free(why);
	return rc;
}

/* The first challenge: its answer, and the rspauth to expect. */
static int answer(struct spop_host *h, struct digest *dg,
		  const unsigned char *data, size_t len, unsigned char **out,
		  size_t *out_len)
{
	const char *user = h->setting(h, "User");
	const char *pass = h->setting(h, "Password");
	const char *authz = h->setting(h, "AuthorizationIdentity");
	const char *server = h->setting(h, "MailServer");
	const char *service = h->setting(h, SERVICE_SETTING);
	char *why = NULL;
	int rc = 0;

	if (!len)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "The server's " MECH " challenge is "
				    "empty.");
	if (len >= CHALLENGE_MAX)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "The server's " MECH " challenge is %zu "
				    "bytes; RFC 2831 allows less than %d.",
				    len, CHALLENGE_MAX);
	if (memchr(data, '\0', len))
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "The server's " MECH " challenge holds a "
				    "NUL byte.");
	if (!user || !*user)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "User is empty: " MECH " needs a user "
				    "name.");
	if (!server || !*server)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "MailServer is empty: " MECH " names it "
				    "in its digest-uri.");
	service = service && *service ? service : "pop";
	for (const char *p = service; *p; p++)
		if (!is_tchar((unsigned char)*p) || *p == '/')
			return h->set_error(h, SPOP_ERR_INVALID_VALUE,
					    SERVICE_SETTING
					    " '%s' is not a "
					    "service name (RFC 2831 "
					    "serv-type).",
					    service);
	if (has_control(user) || (authz && has_control(authz)) ||
	    has_control(server))
		return h->set_error(h, SPOP_ERR_INVALID_VALUE,
				    "User, AuthorizationIdentity or "
				    "MailServer holds a control character, "
				    "which " MECH " cannot carry.");

	GPtrArray *list = parse_directives(data, len, &why);
	if (!list)
		return refuse(h, why);
	struct challenge c = {.realms = g_ptr_array_new()};
	if ((why = read_challenge(list, &c))) {
		g_ptr_array_free(c.realms, TRUE);
		g_ptr_array_free(list, TRUE);
		return refuse(h, why);
	}

	struct inputs in = {
	    .realm = c.realms->len ? c.realms->pdata[0] : "",
	    .nonce = c.nonce,
	    .utf8 = c.charset != NULL,
	};
	char cnonce[CNONCE_LEN + 1];
	char *w_user = wire_form(h, "User", user, in.utf8, &rc);
	char *w_authz = w_user ? wire_form(h, "AuthorizationIdentity",
					   authz ? authz : "", in.utf8, &rc)
			       : NULL;
	char *w_pass =
	    w_authz ? wire_form(h, "Password", pass ? pass : "", in.utf8, &rc)
		    : NULL;
	char *uri = g_strdup_printf("%s/%s", service, server);
	char response[HEX_LEN + 1];
	GString *m = NULL;

	if (w_pass && !(rc = make_cnonce(h, cnonce))) {
		in.user = w_user;
		in.authzid = w_authz;
		in.pass = w_pass;
		in.cnonce = cnonce;
		in.uri = uri;
		if (!compute(&in, response, dg->rspauth))
			rc = h->set_error(h, SPOP_ERR_PROTOCOL,
					  "MD5 is not available (GnuTLS); "
					  "it is needed for " MECH ".");
	}
	if (!rc && w_pass) {
		/* The order of RFC 2831 section 4's example. */
		m = g_string_new(in.utf8 ? "charset=utf-8" : "");
		add_quoted(m, "username", in.user);
		if (c.realms->len)
			add_quoted(m, "realm", in.realm);
		add_quoted(m, "nonce", in.nonce);
		g_string_append(m, ",nc=" NONCE_COUNT);
		add_quoted(m, "cnonce", in.cnonce);
		add_quoted(m, "digest-uri", uri);
		g_string_append_printf(m, ",response=%s,qop=auth", response);
		if (*in.authzid)
			add_quoted(m, "authzid", in.authzid);
		/* Without charset the list starts with a comma: a null
		 * element, allowed, but not pretty. */
		if (!in.utf8)
			g_string_erase(m, 0, 1);
		if (m->len >= RESPONSE_MAX)
			rc = h->set_error(h, SPOP_ERR_INVALID_VALUE,
					  "The " MECH " response would be %zu "
					  "bytes; RFC 2831 allows less than "
					  "%d (User or AuthorizationIdentity "
					  "too long?).",
					  m->len, RESPONSE_MAX);
	}
	if (!rc && m) {
		*out = h->alloc(h, m->len);
		memcpy(*out, m->str, m->len);
		*out_len = m->len;
		dg->stage = AWAIT_RSPAUTH;
	}
	if (m)
		g_string_free(m, TRUE);
	g_free(uri);
	g_free(w_user);
	g_free(w_authz);
	wipe_str(w_pass);
	g_ptr_array_free(c.realms, TRUE);
	g_ptr_array_free(list, TRUE);
	return rc;
}

/* The second challenge: response-auth = "rspauth" "=" 32LHEX, the
 * server's proof (RFC 2831 section 2.1.3), answered with an empty
 * response. */
static int check_rspauth(struct spop_host *h, struct digest *dg,
			 const unsigned char *data, size_t len,
			 unsigned char **out, size_t *out_len)
{
	char *why = NULL;
	const char *value = NULL;

	if (len >= CHALLENGE_MAX)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "The server's " MECH " rspauth challenge "
				    "is %zu bytes; RFC 2831 allows less than "
				    "%d.",
				    len, CHALLENGE_MAX);
	if (memchr(data, '\0', len))
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "The server's " MECH " rspauth challenge "
				    "holds a NUL byte.");
	GPtrArray *list = parse_directives(data, len, &why);
	if (!list) {
		int rc = h->set_error(h, SPOP_ERR_PROTOCOL,
				      "The server's " MECH " rspauth "
				      "challenge %s.",
				      why);
		g_free(why);
		return rc;
	}
	for (guint i = 0; i < list->len && !why; i++) {
		struct directive *d = list->pdata[i];

		if (g_ascii_strcasecmp(d->name, "rspauth"))
			why = g_strdup_printf("has directive '%s' beside "
					      "rspauth",
					      d->name);
		else if (value)
			why = g_strdup("has rspauth twice");
		else
			value = d->value;
	}
	if (!why && !value)
		why = g_strdup("has no rspauth");
	if (!why && (strlen(value) != HEX_LEN ||
		     strspn(value, "0123456789abcdefABCDEF") != HEX_LEN))
		why = g_strdup_printf("has rspauth '%.40s', not 32 hex "
				      "digits",
				      value);
	int rc = 0;
	if (why)
		rc = h->set_error(h, SPOP_ERR_PROTOCOL,
				  "The server's " MECH " rspauth challenge "
				  "%s.",
				  why);
	else if (g_ascii_strcasecmp(value, dg->rspauth))
		rc = h->set_error(h, SPOP_ERR_CERT_VERIFY,
				  "The server's " MECH " rspauth is wrong: "
				  "the server did not prove that it knows "
				  "the password; the login is abandoned.");
	g_free(why);
	g_ptr_array_free(list, TRUE);
	if (rc)
		return rc;
	dg->stage = VERIFIED;
	*out = h->alloc(h, 1);
	*out_len = 0;
	return 0;
}

static int digest_start(struct spop_host *h, void **state, unsigned char **out,
			size_t *out_len)
{
	struct digest *dg = h->alloc(h, sizeof(*dg));

	memset(dg, 0, sizeof(*dg));
	dg->stage = AWAIT_CHALLENGE;
	*state = dg;
	*out = NULL; /* RFC 2831: the server speaks first */
	*out_len = 0;
	return 0;
}

static int digest_step(struct spop_host *h, void *state,
		       const unsigned char *challenge, size_t challenge_len,
		       unsigned char **out, size_t *out_len)
{
	struct digest *dg = state;

	switch (dg->stage) {
	case AWAIT_CHALLENGE:
		return answer(h, dg, challenge, challenge_len, out, out_len);
	case AWAIT_RSPAUTH:
		return check_rspauth(h, dg, challenge, challenge_len, out,
				     out_len);
	case VERIFIED: break;
	}
	return h->set_error(h, SPOP_ERR_PROTOCOL,
			    "The server sent a third " MECH " challenge "
			    "after its rspauth; " MECH " has two.");
}

/* The server said +OK: it must have proved itself first. */
static int digest_finish(struct spop_host *h, void *state)
{
	struct digest *dg = state;

	if (dg->stage == VERIFIED)
		return 0;
	return h->set_error(h, SPOP_ERR_CERT_VERIFY,
			    "The server accepted the " MECH " login without "
			    "sending its rspauth, so it did not prove that "
			    "it knows the password; the session is not "
			    "kept.");
}

static void digest_done(struct spop_host *h, void *state)
{
	struct digest *dg = state;

	gnutls_memset(dg, 0, sizeof(*dg));
	h->free(h, dg);
}

static const struct spop_auth_ops ops = {
    .size = sizeof(struct spop_auth_ops),
    .sasl_name = MECH,
    .sasl_start = digest_start,
    .sasl_step = digest_step,
    .sasl_done = digest_done,
    .sasl_finish = digest_finish,
};

static const struct spop_setting_decl settings[] = {
    {
	.size = sizeof(struct spop_setting_decl),
	.type = SPOP_SETTING_STRING,
	.name = SERVICE_SETTING,
	.default_value = "pop",
	.description = "DIGEST-MD5: the service in digest-uri "
		       "(SERVICE/MailServer); pop for POP3 (RFC 5034)",
    },
    {.name = NULL},
};

static const int32_t selectors[] = {5};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_AUTH,
    .name = "digest-md5",
    .version = "1.0",
    .description = "SASL DIGEST-MD5 (RFC 2831), qop auth, server's rspauth "
		   "checked",
    .selectors = selectors,
    .n_selectors = 1,
    .capabilities = SPOP_CAP_AUTH_SASL | SPOP_CAP_AUTH_MUTUAL,
    .ops = &ops,
    .settings = settings,
};

SPOP_PLUGIN_DEFINE(descriptor)
