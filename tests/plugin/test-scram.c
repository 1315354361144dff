/* Known-answer tests of the auth plugins scram-sha-1, scram-sha-256 and
 * their -PLUS variants, chosen by name through the registry and driven
 * through the core's own host with host->random() (and, for -PLUS,
 * host->channel_binding()) fixed: RFC 5802 section 5 and RFC 7677 section 3
 * byte for byte, the exchanges scram-kat.py computes with Python's hashlib
 * (channel binding, authzid, escaping, SASLprep, "y"), and every malformed
 * or hostile server message refused cleanly. The exchanges against Dovecot
 * are in tests/integration/test-auth-scram.c. */
#include "test-runner.h"

#include <string.h>

#include "spop-private.h"

#include "fixture-setup.h"

struct kat {
	const char *label, *mech, *user, *password, *authzid;
	const char *nonce_raw;
	size_t nonce_raw_len;
	const char *tls_version;
	int tls_active;
	const char *sasl, *cb_type, *cb;
	size_t cb_len;
	const char *client_first, *server_first, *client_final, *server_final;
};

#include "scram-kat.h"

static struct spi_host host;

/* ---- the host's fixed answers ---- */

static unsigned char fixed_random[64];
static size_t fixed_random_len;
static size_t random_asked; /* bytes the plugin asked for */

static int fake_random(struct spop_host *h, void *buf, size_t len)
{
	random_asked = len;
	if (len != fixed_random_len)
		return h->set_error(h, SPOP_ERR_INVALID_VALUE,
				    "test: %zu random bytes asked, %zu fixed",
				    len, fixed_random_len);
	memcpy(buf, fixed_random, len);
	return 0;
}

static const char *tls_version; /* NULL: the core's own answer */
static const char *(*core_setting)(struct spop_host *, const char *);

static const char *fake_setting(struct spop_host *h, const char *name)
{
	if (tls_version && !strcmp(name, "SSLNegotiatedVersion"))
		return tls_version;
	return core_setting(h, name);
}

static int tls_on;
static const char *sasl_list;

static int fake_tls_active(struct spop_host *h)
{
	return tls_on;
}

static const char *fake_capability_args(struct spop_host *h, const char *name)
{
	return !strcmp(name, "SASL") ? sasl_list : NULL;
}

/* The binding the fake TLS layer has: one type, or none. */
static const char *cb_type;
static const unsigned char *cb_data;
static size_t cb_len;
static GString *cb_asked; /* "tls-exporter,tls-unique," */

static int fake_channel_binding(struct spop_host *h, const char *type,
				unsigned char **data, size_t *len)
{
	g_string_append_printf(cb_asked, "%s,", type);
	if (!cb_type || strcmp(type, cb_type))
		return h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
				    "test: no %s binding", type);
	*data = h->alloc(h, cb_len);
	memcpy(*data, cb_data, cb_len);
	*len = cb_len;
	return 0;
}

static void host_reset(void)
{
	spi_host_init(&host, s, NULL);
	core_setting = host.pub.setting;
	host.pub.setting = fake_setting;
	host.pub.random = fake_random;
	host.pub.tls_active = fake_tls_active;
	host.pub.capability_args = fake_capability_args;
	host.pub.channel_binding = fake_channel_binding;
	tls_version = NULL;
	tls_on = 0;
	sasl_list = NULL;
	cb_type = NULL;
	cb_data = NULL;
	cb_len = 0;
	g_string_truncate(cb_asked, 0);
	random_asked = 0;
	spop_set_user(s, "user");
	spop_set_password(s, "pencil");
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "AuthorizationIdentity="));
}

/* The client nonce is base64 of host->random()'s bytes: the RFC's nonce
 * decoded is what the fake gives. */
static void fix_nonce(const char *nonce_b64)
{
	gsize n = 0;
	guchar *raw = g_base64_decode(nonce_b64, &n);

	CU_ASSERT_FATAL(n <= sizeof(fixed_random));
	memcpy(fixed_random, raw, n);
	fixed_random_len = n;
	g_free(raw);
}

static const struct spop_auth_ops *mech(const char *name, uint64_t *caps)
{
	const struct spop_plugin_descriptor *d = NULL;

	if (spi_plugin_by_name(s, SPOP_PLUGIN_AUTH, name, &d) || !d) {
		fprintf(stderr, "\n  no plugin %s: %s\n", name, error_text());
		CU_FAIL_FATAL("plugin not found");
	}
	if (caps)
		*caps = d->capabilities;
	return d->ops;
}

/* ---- one exchange ---- */

struct run {
	const struct spop_auth_ops *ops;
	void *state;
	char *out; /* the last response, NUL-terminated */
	int rc;
};

static void run_start(struct run *r, const char *name)
{
	unsigned char *out = NULL;
	size_t len = 0;

	r->ops = mech(name, NULL);
	r->state = NULL;
	r->out = NULL;
	r->rc = r->ops->sasl_start(&host.pub, &r->state, &out, &len);
	if (!r->rc) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(out);
		r->out = g_strndup((const char *)out, len);
	} else {
		CU_ASSERT_PTR_NULL(out);
	}
	g_free(out);
}

/* Feeds a server message (len -1: strlen); the response in r->out. */
static int run_step(struct run *r, const char *in, gssize len)
{
	unsigned char *out = NULL;
	size_t out_len = 0;

	g_clear_pointer(&r->out, g_free);
	r->rc = r->ops->sasl_step(
	    &host.pub, r->state, (const unsigned char *)in,
	    len < 0 ? strlen(in) : (size_t)len, &out, &out_len);
	if (!r->rc) {
		CU_ASSERT_PTR_NOT_NULL(out);
		r->out = g_strndup((const char *)(out ? out : (guchar *)""),
				   out_len);
	} else {
		CU_ASSERT_PTR_NULL(out);
	}
	g_free(out);
	return r->rc;
}

static void run_end(struct run *r)
{
	if (r->state)
		r->ops->sasl_done(&host.pub, r->state);
	g_clear_pointer(&r->out, g_free);
}

/* The whole exchange must be exactly the expected one, and the server's
 * proof accepted. */
static void full_exchange(const char *name, const char *client_first,
			  const char *server_first, const char *client_final,
			  const char *server_final)
{
	struct run r;

	run_start(&r, name);
	CU_ASSERT_EQUAL(r.rc, 0);
	if (r.rc)
		fprintf(stderr, "\n  start: %s\n", error_text());
	CU_ASSERT_STRING_EQUAL(r.out ? r.out : "", client_first);
	if (!r.rc) {
		CU_ASSERT_EQUAL(run_step(&r, server_first, -1), 0);
		if (r.rc)
			fprintf(stderr, "\n  server-first: %s\n", error_text());
		CU_ASSERT_STRING_EQUAL(r.out ? r.out : "", client_final);
	}
	if (!r.rc) {
		/* before the server-final, +OK would be a server without
		 * proof */
		CU_ASSERT_EQUAL(r.ops->sasl_finish(&host.pub, r.state),
				SPOP_ERR_CERT_VERIFY);
		CU_ASSERT_EQUAL(run_step(&r, server_final, -1), 0);
		if (r.rc)
			fprintf(stderr, "\n  server-final: %s\n", error_text());
		/* RFC 5034: the server-final challenge is answered empty */
		CU_ASSERT_STRING_EQUAL(r.out ? r.out : "x", "");
		CU_ASSERT_EQUAL(r.ops->sasl_finish(&host.pub, r.state), 0);
	}
	run_end(&r);
}

/* ---- cases ---- */

static void test_descriptors(void)
{
	static const char *const names[] = {"scram-sha-1", "scram-sha-256",
					    "scram-sha-1-plus",
					    "scram-sha-256-plus"};

	for (int i = 0; i < 4; i++) {
		const struct spop_plugin_descriptor *d = NULL;
		char *upper = g_ascii_strup(names[i], -1);

		/* by name only (no AuthMechanism value), any case */
		CU_ASSERT_EQUAL(
		    spi_plugin_by_name(s, SPOP_PLUGIN_AUTH, upper, &d), 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		CU_ASSERT_STRING_EQUAL(d->name, names[i]);
		CU_ASSERT_EQUAL(d->n_selectors, 0);
		const struct spop_auth_ops *ops = d->ops;
		CU_ASSERT_STRING_EQUAL(ops->sasl_name, upper);
		uint64_t want = SPOP_CAP_AUTH_SASL | SPOP_CAP_AUTH_MUTUAL |
				(i >= 2 ? SPOP_CAP_AUTH_CHANNEL_BINDING : 0);
		CU_ASSERT_EQUAL(d->capabilities, want);
		CU_ASSERT_PTR_NOT_NULL(ops->sasl_finish);
		g_free(upper);
	}
}

static void test_rfc5802(void)
{
	host_reset();
	fix_nonce("fyko+d2lbbFgONRv9qkxdawL");
	full_exchange("scram-sha-1", "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
		      "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
		      "s=QSXCR+Q6sek8bf92,i=4096",
		      "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
		      "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
		      "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
	/* the nonce came from host->random(), all of it */
	CU_ASSERT_EQUAL(random_asked, 18);
}

static void test_rfc7677(void)
{
	host_reset();
	fix_nonce("rOprNGfwEbeRWgbNEkqO");
	full_exchange("scram-sha-256", "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
		      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		      "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)"
		      "hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		      "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
	CU_ASSERT_EQUAL(random_asked, 15);
}

static void kat_setup(const struct kat *k)
{
	host_reset();
	spop_set_user(s, k->user);
	spop_set_password(s, k->password);
	if (k->authzid) {
		char *cfg =
		    g_strdup_printf("AuthorizationIdentity=%s", k->authzid);
		CU_ASSERT_PTR_NOT_NULL(spop_config(s, cfg));
		g_free(cfg);
	}
	memcpy(fixed_random, k->nonce_raw, k->nonce_raw_len);
	fixed_random_len = k->nonce_raw_len;
	tls_version = k->tls_version;
	tls_on = k->tls_active;
	sasl_list = k->sasl;
	cb_type = k->cb_type;
	cb_data = (const unsigned char *)k->cb;
	cb_len = k->cb_len;
}

static void test_python_kats(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(kats); i++) {
		const struct kat *k = &kats[i];

		fprintf(stderr, "\n  %s", k->label);
		kat_setup(k);
		full_exchange(k->mech, k->client_first, k->server_first,
			      k->client_final, k->server_final);
	}
	fprintf(stderr, "\n");
}

/* Which binding type is asked for: the TLS version decides; when the core
 * cannot tell it, tls-exporter first, tls-unique after a 1212. */
static void test_binding_choice(void)
{
	const struct kat *k = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(kats); i++)
		if (kats[i].cb_type && !strcmp(kats[i].cb_type, "tls-unique"))
			k = &kats[i];
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);

	kat_setup(k); /* TLS1.2 */
	full_exchange(k->mech, k->client_first, k->server_first,
		      k->client_final, k->server_final);
	CU_ASSERT_STRING_EQUAL(cb_asked->str, "tls-unique,");

	kat_setup(k);
	tls_version = ""; /* unknown: the fallback */
	full_exchange(k->mech, k->client_first, k->server_first,
		      k->client_final, k->server_final);
	CU_ASSERT_STRING_EQUAL(cb_asked->str, "tls-exporter,tls-unique,");

	/* TLS 1.3 without an exporter: no tls-unique there (RFC 8446) */
	struct run r;
	kat_setup(k);
	tls_version = "TLS1.3";
	run_start(&r, k->mech);
	CU_ASSERT_EQUAL(r.rc, SPOP_ERR_NOT_AVAILABLE);
	CU_ASSERT_STRING_EQUAL(cb_asked->str, "tls-exporter,");
	run_end(&r);
}

/* "n" without TLS, and with TLS when the server offers -PLUS (choosing
 * the plain variant then is the application's call, not a downgrade). */
static void test_gs2_flag(void)
{
	struct run r;

	host_reset();
	fix_nonce("rOprNGfwEbeRWgbNEkqO");
	sasl_list = "SCRAM-SHA-256";
	run_start(&r, "scram-sha-256");
	CU_ASSERT_STRING_EQUAL(r.out, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
	run_end(&r);

	tls_on = 1;
	sasl_list = "PLAIN scram-sha-256-plus SCRAM-SHA-256";
	run_start(&r, "scram-sha-256");
	CU_ASSERT_STRING_EQUAL(r.out, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
	run_end(&r);

	/* a longer name that merely starts like it is not an offer */
	sasl_list = "SCRAM-SHA-256-PLUSX SCRAM-SHA-256";
	run_start(&r, "scram-sha-256");
	CU_ASSERT_STRING_EQUAL(r.out, "y,,n=user,r=rOprNGfwEbeRWgbNEkqO");
	run_end(&r);
}

static void test_bad_credentials(void)
{
	struct run r;

	host_reset();
	fix_nonce("fyko+d2lbbFgONRv9qkxdawL");
	/* RFC 4013 section 3: U+0007 is prohibited */
	spop_set_password(s, "pen\007cil");
	run_start(&r, "scram-sha-1");
	CU_ASSERT_EQUAL(r.rc, SPOP_ERR_INVALID_VALUE);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_INVALID_VALUE, "Password", "SASLprep",
				"SCRAM-SHA-1", NULL));
	CU_ASSERT_PTR_NULL(strstr(error_text(), "pen"));
	run_end(&r);
	/* RFC 4013 section 3: mixed bidirectional text */
	spop_set_password(s, "\330\247"
			     "1");
	run_start(&r, "scram-sha-1");
	CU_ASSERT_EQUAL(r.rc, SPOP_ERR_INVALID_VALUE);
	run_end(&r);
	/* not UTF-8 */
	spop_set_password(s, "\377\376");
	run_start(&r, "scram-sha-1");
	CU_ASSERT_EQUAL(r.rc, SPOP_ERR_INVALID_VALUE);
	run_end(&r);
	/* only a soft hyphen: nothing is left */
	spop_set_password(s, "\302\255");
	run_start(&r, "scram-sha-1");
	CU_ASSERT_TRUE(error_is(SPOP_ERR_INVALID_VALUE, "Password", NULL));
	run_end(&r);
	spop_set_password(s, "pencil");
	spop_set_user(s, "");
	run_start(&r, "scram-sha-1");
	CU_ASSERT_TRUE(error_is(SPOP_ERR_INVALID_VALUE, "User is empty", NULL));
	run_end(&r);
	spop_set_user(s, "us\007er");
	run_start(&r, "scram-sha-1");
	CU_ASSERT_TRUE(
	    error_is(SPOP_ERR_INVALID_VALUE, "User", "SASLprep", NULL));
	run_end(&r);
	/* nothing was asked of random() for refused credentials */
	CU_ASSERT_EQUAL(random_asked, 0);
}

#define NONCE1	   "fyko+d2lbbFgONRv9qkxdawL"
#define GOOD_FIRST "r=" NONCE1 "3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"

/* server-first msg is refused with 171 and an error naming the mechanism
 * and want (a distinctive part of the reason). */
static void refused_first(const char *msg, gssize len, const char *want)
{
	struct run r;

	host_reset();
	fix_nonce(NONCE1);
	run_start(&r, "scram-sha-1");
	CU_ASSERT_EQUAL_FATAL(r.rc, 0);
	CU_ASSERT_EQUAL(run_step(&r, msg, len), SPOP_ERR_PROTOCOL);
	if (!error_is(SPOP_ERR_PROTOCOL, "SCRAM-SHA-1", want, NULL))
		fprintf(stderr, "  for server-first '%s'\n", msg);
	/* and the exchange cannot be resumed */
	CU_ASSERT_EQUAL(r.ops->sasl_finish(&host.pub, r.state),
			SPOP_ERR_CERT_VERIFY);
	run_end(&r);
}

static void test_bad_server_first(void)
{
	refused_first("r=AAAA+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
		      "s=QSXCR+Q6sek8bf92,i=4096",
		      -1, "does not start with the client's nonce");
	refused_first("r=" NONCE1 ",s=QSXCR+Q6sek8bf92,i=4096", -1,
		      "adds nothing");
	refused_first("r=fyko+d2lbb,s=QSXCR+Q6sek8bf92,i=4096", -1,
		      "does not start with the client's nonce");
	refused_first("r=" NONCE1 "ab\177,s=QSXCR+Q6sek8bf92,i=4096", -1,
		      "not printable");
	refused_first("r=" NONCE1 "abc,s=QSXCR+Q6sek8bf9,i=4096", -1,
		      "salt s= is not base64");
	refused_first("r=" NONCE1 "abc,s=!!!!,i=4096", -1,
		      "salt s= is not base64");
	refused_first("r=" NONCE1 "abc,s=QSXC R+Q6sek8bf92,i=4096", -1,
		      "salt s= is not base64");
	refused_first("r=" NONCE1 "abc,s=QSXCR+Q6sek8bf92,i=0", -1,
		      "iteration count i= is not a number from 1 to 10000000");
	refused_first("r=" NONCE1 "abc,s=QSXCR+Q6sek8bf92,i=10000001", -1,
		      "iteration count");
	refused_first("r=" NONCE1 "abc,s=QSXCR+Q6sek8bf92,"
		      "i=99999999999999999999999",
		      -1, "iteration count");
	refused_first("r=" NONCE1 "abc,s=QSXCR+Q6sek8bf92,i=-1", -1,
		      "iteration count");
	refused_first("r=" NONCE1 "abc,s=QSXCR+Q6sek8bf92,i=04096", -1,
		      "iteration count");
	refused_first("r=" NONCE1 "abc,s=QSXCR+Q6sek8bf92,i=4096x", -1,
		      "iteration count");
	refused_first("r=" NONCE1 "abc,s=QSXCR+Q6sek8bf92,i= 4096", -1,
		      "iteration count");
	refused_first("m=ext," GOOD_FIRST, -1, "extension (m=)");
	refused_first(GOOD_FIRST ",m=ext", -1, "m= is out of place");
	/* missing and out of order */
	refused_first("r=" NONCE1 "abc,s=QSXCR+Q6sek8bf92", -1,
		      "i= (the iteration count) is missing");
	refused_first("r=" NONCE1 "abc", -1, "s= (the salt) is missing");
	refused_first("s=QSXCR+Q6sek8bf92,r=" NONCE1 "abc,i=4096", -1,
		      "s= stands where r= (the nonce) belongs");
	refused_first("r=" NONCE1 "abc,i=4096,s=QSXCR+Q6sek8bf92", -1,
		      "i= stands where s= (the salt) belongs");
	/* duplicates */
	refused_first(GOOD_FIRST ",s=QSXCR+Q6sek8bf92", -1, "s= appears twice");
	refused_first(GOOD_FIRST ",r=" NONCE1 "abc", -1, "r= appears twice");
	refused_first(GOOD_FIRST ",i=4096", -1, "i= appears twice");
	/* truncated or not attribute syntax at all */
	refused_first("", 0, "it is empty");
	refused_first("r=", -1, "attribute r= is empty");
	refused_first("r=" NONCE1 "abc,s=QSXCR+Q6sek8bf92,i=", -1,
		      "attribute i= is empty");
	refused_first("r=" NONCE1 "abc,s=QSXCR+Q6sek8bf92,i", -1,
		      "attribute 3 is not of the form x=value");
	refused_first("r=" NONCE1 "abc,s=QSXCR+Q6sek8bf92,", -1,
		      "attribute 3 is not of the form x=value");
	refused_first("r=" NONCE1 "abc,,s=QSXCR+Q6sek8bf92,i=4096", -1,
		      "attribute 2 is not of the form");
	refused_first("rr=" NONCE1, -1, "attribute 1 is not of the form");
	refused_first("r=" NONCE1 "a\0bc,s=QSXCR+Q6sek8bf92,i=4096",
		      sizeof("r=" NONCE1 "a\0bc,s=QSXCR+Q6sek8bf92,i=4096") - 1,
		      "NUL byte");
	refused_first(GOOD_FIRST ",a=1,b=2,c=3,d=4,f=5,g=6,h=7,j=8,k=9,l=10,"
				 "o=11,q=12,t=13,u=14",
		      -1, "too many attributes");
	/* an e= where server-first belongs is the server's word */
	refused_first("e=unknown-user", -1, "e=unknown-user");
}

/* RFC 5802 section 7: unknown extensions after the known attributes are
 * ignored (they still count in AuthMessage, so the proof is new). */
static void test_unknown_extension_ignored(void)
{
	struct run r;

	host_reset();
	fix_nonce(NONCE1);
	run_start(&r, "scram-sha-1");
	CU_ASSERT_EQUAL(run_step(&r, GOOD_FIRST ",x=future,y=more", -1), 0);
	CU_ASSERT_PTR_NOT_NULL(r.out);
	CU_ASSERT_TRUE(g_str_has_prefix(
	    r.out ? r.out : "", "c=biws,r=" NONCE1 "3rfcNHYJY1ZVvWVs7j,p="));
	CU_ASSERT_FALSE(g_str_has_suffix(r.out ? r.out : "",
					 "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="));
	run_end(&r);
}

/* Through the RFC 5802 exchange to the server-final, which is msg. */
static void final_is(const char *msg, int code, const char *want)
{
	struct run r;

	host_reset();
	fix_nonce(NONCE1);
	run_start(&r, "scram-sha-1");
	CU_ASSERT_EQUAL_FATAL(run_step(&r, GOOD_FIRST, -1), 0);
	CU_ASSERT_EQUAL(run_step(&r, msg, -1), code);
	if (code) {
		if (!error_is(code, "SCRAM-SHA-1", want, NULL))
			fprintf(stderr, "  for server-final '%s'\n", msg);
		CU_ASSERT_EQUAL(r.ops->sasl_finish(&host.pub, r.state),
				SPOP_ERR_CERT_VERIFY);
	} else {
		CU_ASSERT_EQUAL(r.ops->sasl_finish(&host.pub, r.state), 0);
		/* nothing more is answered after the final message */
		CU_ASSERT_EQUAL(run_step(&r, msg, -1), SPOP_ERR_PROTOCOL);
		CU_ASSERT_TRUE(
		    error_is(SPOP_ERR_PROTOCOL, "another challenge", NULL));
	}
	run_end(&r);
}

static void test_bad_server_final(void)
{
	/* a flipped bit */
	final_is("v=rmF9pqV8S7suAoZWja4dJRkFsKM=", SPOP_ERR_CERT_VERIFY,
		 "signature (v=) is wrong");
	/* a prefix of the right signature (libgcrypt would accept it) */
	final_is("v=rmF9pqV8S7suAoZW", SPOP_ERR_CERT_VERIFY,
		 "signature (v=) is wrong");
	/* too long: the right one and more */
	final_is("v=rmF9pqV8S7suAoZWja4dJRkFsKQA", SPOP_ERR_CERT_VERIFY,
		 "signature (v=) is wrong");
	final_is("v=rmF9pqV8S7suAoZWja4dJRkFsKQAAAAA", SPOP_ERR_CERT_VERIFY,
		 "signature (v=) is wrong");
	final_is("v=rmF9pqV8S7suAoZWja4dJRkFsKQ", SPOP_ERR_PROTOCOL,
		 "v= is not base64");
	final_is("v=", SPOP_ERR_PROTOCOL, "attribute v= is empty");
	final_is("", SPOP_ERR_PROTOCOL, "it is empty");
	final_is("e=invalid-proof", SPOP_ERR_PROTOCOL, "e=invalid-proof");
	final_is("e=other-error\001\377", SPOP_ERR_PROTOCOL, "e=other-error??");
	final_is("r=xyz", SPOP_ERR_PROTOCOL, "neither v=");
	final_is(
	    "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=,v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
	    SPOP_ERR_PROTOCOL, "v= appears twice");
	final_is("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=,e=x", SPOP_ERR_PROTOCOL,
		 "e= is out of place");
	/* the right one, and with an unknown extension */
	final_is("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=", 0, NULL);
	final_is("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=,x=later", 0, NULL);
}

static const struct test_case cases[] = {
    {"descriptors: by name only, MUTUAL, -PLUS binds", test_descriptors},
    {"RFC 5802 section 5, byte for byte", test_rfc5802},
    {"RFC 7677 section 3, byte for byte", test_rfc7677},
    {"scram-kat.py exchanges (hashlib)", test_python_kats},
    {"channel-binding type by TLS version, fallback", test_binding_choice},
    {"GS2 flag n / y", test_gs2_flag},
    {"credentials SASLprep refuses", test_bad_credentials},
    {"malformed server-first refused", test_bad_server_first},
    {"unknown extensions ignored (RFC 5802 section 7)",
     test_unknown_extension_ignored},
    {"server-final: wrong, malformed, e=", test_bad_server_final},
    {NULL, NULL},
};

static int suite_init(void)
{
	cb_asked = g_string_new(NULL);
	return setup();
}

static int suite_clean(void)
{
	g_string_free(cb_asked, TRUE);
	return teardown();
}

static const struct test_suite suites[] = {
    {"scram", suite_init, suite_clean, cases},
    {NULL},
};

int main(void)
{
	return test_run(suites);
}
