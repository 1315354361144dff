/* The "gssapi" auth plugin (AuthMechanism 6, RFC 4752) through the registry
 * and the core's host, against an acceptor in this process (MIT's
 * gss_accept_sec_context with the keytab of a private KDC,
 * tests/harness/krb5-harness.sh): the exchange byte for byte where RFC 4752
 * fixes the bytes (the security-layer answer), and every malformed server
 * message refused cleanly: an empty, garbled or truncated context token, a
 * security-layer offer that is not 4 bytes, not wrapped, or without "no
 * layer", a challenge too many, a server that says +OK too early. The
 * exchange against Dovecot is in tests/integration/test-auth-gssapi.c. */
#include "test-runner.h"

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <string.h>

#include "spop-private.h"

#include "fixture-setup.h"
#include "harness-krb5.h"
#include "harness.h"

static struct spi_host host;
static const struct spop_auth_ops *ops;
static struct harness_krb5 kdc;

static int suite_init(void)
{
	const struct spop_plugin_descriptor *d = NULL;
	const char *why = harness_krb5_unavailable();

	/* Not a skip: without a KDC nothing here is tested. */
	if (why) {
		fprintf(stderr, "FAIL: plugin-gssapi cannot run: %s\n", why);
		return 1;
	}
	if (harness_krb5_start(&kdc, "plugin-gssapi"))
		return 1;
	harness_krb5_use(&kdc);
	/* The acceptor below: the service keys, a replay cache of its own. */
	char *kt = g_strdup_printf("FILE:%s", kdc.keytab);
	g_setenv("KRB5_KTNAME", kt, TRUE);
	g_free(kt);
	g_setenv("KRB5RCACHEDIR", kdc.dir, TRUE);
	if (setup())
		return 1;
	if (spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism",
			      SPOP_AM_KERBEROS, &d) ||
	    !d) {
		fprintf(stderr, "no gssapi plugin: %s\n", error_text());
		return 1;
	}
	ops = d->ops;
	if (!(d->capabilities & SPOP_CAP_AUTH_MUTUAL) ||
	    !(d->capabilities & SPOP_CAP_AUTH_NO_PASSWORD) ||
	    (d->capabilities & SPOP_CAP_AUTH_PLAINTEXT)) {
		fprintf(stderr, "gssapi: wrong capabilities\n");
		return 1;
	}
	spi_host_init(&host, s, NULL);
	spop_set_mail_server(s, "localhost");
	return 0;
}

static int suite_clean(void)
{
	teardown();
	return harness_krb5_stop(&kdc) ? 1 : 0;
}

/* One exchange: the plugin's state and the acceptor's context. */
struct run {
	void *state;
	gss_ctx_id_t server;
	gss_name_t client; /* who the acceptor saw */
};

static void run_end(struct run *r)
{
	OM_uint32 minor;

	if (r->state)
		ops->sasl_done(&host.pub, r->state);
	if (r->server != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&minor, &r->server, GSS_C_NO_BUFFER);
	if (r->client != GSS_C_NO_NAME)
		gss_release_name(&minor, &r->client);
	memset(r, 0, sizeof(*r));
}

/* The acceptor's half of context establishment on the client's token;
 * *reply is its token (the AP-REP). 0 or the GSS major status. */
static OM_uint32 accept_token(struct run *r, const unsigned char *in,
			      size_t in_len, gss_buffer_t reply)
{
	gss_buffer_desc input = {in_len, (void *)in};
	OM_uint32 major, minor;

	major =
	    gss_accept_sec_context(&minor, &r->server, GSS_C_NO_CREDENTIAL,
				   &input, GSS_C_NO_CHANNEL_BINDINGS,
				   &r->client, NULL, reply, NULL, NULL, NULL);
	return major;
}

/* Starts an exchange and runs it up to the security-layer offer: the
 * plugin's AP-REQ, the acceptor's AP-REP, the plugin's empty answer. */
static void to_layer(struct run *r)
{
	unsigned char *out = NULL;
	size_t out_len = 0;
	gss_buffer_desc reply = GSS_C_EMPTY_BUFFER;
	OM_uint32 minor;

	memset(r, 0, sizeof(*r));
	r->server = GSS_C_NO_CONTEXT;
	r->client = GSS_C_NO_NAME;
	CU_ASSERT_EQUAL_FATAL(
	    ops->sasl_start(&host.pub, &r->state, &out, &out_len), 0);
	/* RFC 4752 3.1: the AP-REQ is the initial response */
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT(out_len > 0);
	CU_ASSERT_EQUAL_FATAL(accept_token(r, out, out_len, &reply),
			      GSS_S_COMPLETE);
	g_free(out);
	/* mutual authentication: the acceptor answers with an AP-REP */
	CU_ASSERT_FATAL(reply.length > 0);
	out = NULL;
	CU_ASSERT_EQUAL_FATAL(ops->sasl_step(&host.pub, r->state, reply.value,
					     reply.length, &out, &out_len),
			      0);
	gss_release_buffer(&minor, &reply);
	/* the context is complete: an empty response, not none */
	CU_ASSERT_PTR_NOT_NULL(out);
	CU_ASSERT_EQUAL(out_len, 0);
	g_free(out);
	/* the server's proof is not yet the end: +OK now is too early */
	CU_ASSERT_EQUAL(ops->sasl_finish(&host.pub, r->state),
			SPOP_ERR_CERT_VERIFY);
}

/* The acceptor wraps data (integrity only) as a security-layer offer. */
static void wrap(struct run *r, const void *data, size_t len,
		 gss_buffer_t token)
{
	gss_buffer_desc in = {len, (void *)data};
	OM_uint32 minor;

	CU_ASSERT_EQUAL_FATAL(
	    gss_wrap(&minor, r->server, 0, GSS_C_QOP_DEFAULT, &in, NULL, token),
	    GSS_S_COMPLETE);
}

/* Sends the offer to the plugin: its code, and its answer unwrapped by
 * the acceptor in *answer (g_free). */
static int layer(struct run *r, const unsigned char *offer, size_t len,
		 GByteArray **answer)
{
	gss_buffer_desc token = GSS_C_EMPTY_BUFFER, plain = GSS_C_EMPTY_BUFFER;
	unsigned char *out = NULL;
	size_t out_len = 0;
	OM_uint32 minor;
	int rc;

	wrap(r, offer, len, &token);
	rc = ops->sasl_step(&host.pub, r->state, token.value, token.length,
			    &out, &out_len);
	gss_release_buffer(&minor, &token);
	*answer = NULL;
	if (rc) {
		CU_ASSERT_PTR_NULL(out);
		return rc;
	}
	gss_buffer_desc in = {out_len, out};
	int conf = 1;
	CU_ASSERT_EQUAL(gss_unwrap(&minor, r->server, &in, &plain, &conf, NULL),
			GSS_S_COMPLETE);
	/* no privacy layer is asked for: integrity only */
	CU_ASSERT_EQUAL(conf, 0);
	*answer = g_byte_array_new();
	g_byte_array_append(*answer, plain.value, (guint)plain.length);
	gss_release_buffer(&minor, &plain);
	g_free(out);
	return 0;
}

static void test_exchange(void)
{
	/* offers all three layers, max 64 KiB */
	static const unsigned char offer[] = {0x07, 0x01, 0x00, 0x00};
	static const unsigned char want[] = {0x01, 0x00, 0x00, 0x00};
	gss_buffer_desc name = GSS_C_EMPTY_BUFFER;
	struct run r;
	GByteArray *answer;
	OM_uint32 minor;

	CU_ASSERT_STRING_EQUAL(ops->sasl_name, "GSSAPI");
	spop_config(s, "AuthorizationIdentity=");
	to_layer(&r);
	/* the acceptor saw the user of the credential cache */
	CU_ASSERT_EQUAL(gss_display_name(&minor, r.client, &name, NULL),
			GSS_S_COMPLETE);
	CU_ASSERT_EQUAL(name.length,
			strlen(HARNESS_MAIN_USER "@" HARNESS_KRB5_REALM));
	CU_ASSERT_NSTRING_EQUAL(
	    name.value, HARNESS_MAIN_USER "@" HARNESS_KRB5_REALM, name.length);
	gss_release_buffer(&minor, &name);
	CU_ASSERT_EQUAL_FATAL(layer(&r, offer, sizeof(offer), &answer), 0);
	/* "no layer", max size 0, empty authzid: 4 bytes exactly */
	CU_ASSERT_EQUAL(answer->len, sizeof(want));
	CU_ASSERT(answer->len == sizeof(want) &&
		  !memcmp(answer->data, want, sizeof(want)));
	g_byte_array_unref(answer);
	CU_ASSERT_EQUAL(ops->sasl_finish(&host.pub, r.state), 0);

	/* a challenge after the last one is refused */
	unsigned char *out = NULL;
	size_t out_len = 0;
	CU_ASSERT_EQUAL(ops->sasl_step(&host.pub, r.state,
				       (const unsigned char *)"x", 1, &out,
				       &out_len),
			SPOP_ERR_PROTOCOL);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "another challenge",
				"pop@localhost", NULL));
	run_end(&r);
}

static void test_authzid(void)
{
	static const unsigned char offer[] = {0x01, 0x00, 0x00, 0x00};
	static const unsigned char want[] = {0x01, 0x00, 0x00, 0x00,
					     'b',  'o',	 'b'};
	struct run r;
	GByteArray *answer;

	spop_config(s, "AuthorizationIdentity=bob");
	to_layer(&r);
	CU_ASSERT_EQUAL_FATAL(layer(&r, offer, sizeof(offer), &answer), 0);
	CU_ASSERT(answer->len == sizeof(want) &&
		  !memcmp(answer->data, want, sizeof(want)));
	g_byte_array_unref(answer);
	spop_config(s, "AuthorizationIdentity=");
	run_end(&r);
}

static void test_bad_offers(void)
{
	static const unsigned char no_none[] = {0x06, 0x00, 0x10, 0x00};
	static const unsigned char five[] = {0x01, 0, 0, 0, 0};
	struct run r;
	GByteArray *answer;

	to_layer(&r);
	CU_ASSERT_EQUAL(layer(&r, no_none, sizeof(no_none), &answer),
			SPOP_ERR_PROTOCOL);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "does not offer", "0x06",
				"pop@localhost", NULL));
	run_end(&r);

	to_layer(&r);
	CU_ASSERT_EQUAL(layer(&r, no_none, 3, &answer), SPOP_ERR_PROTOCOL);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "is 3 bytes", NULL));
	run_end(&r);

	to_layer(&r);
	CU_ASSERT_EQUAL(layer(&r, five, sizeof(five), &answer),
			SPOP_ERR_PROTOCOL);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "is 5 bytes", NULL));
	run_end(&r);

	to_layer(&r);
	CU_ASSERT_EQUAL(layer(&r, five, 0, &answer), SPOP_ERR_PROTOCOL);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "is 0 bytes", NULL));
	run_end(&r);
}

/* Security-layer tokens that are no wrap token of this context. */
static void test_bad_wrap_tokens(void)
{
	static const unsigned char offer[] = {0x01, 0x00, 0x00, 0x00};
	gss_buffer_desc token = GSS_C_EMPTY_BUFFER;
	unsigned char *out = NULL, *copy;
	size_t out_len = 0;
	struct run r;
	OM_uint32 minor;

	/* plain bytes, unwrapped */
	to_layer(&r);
	CU_ASSERT_EQUAL(ops->sasl_step(&host.pub, r.state, offer, sizeof(offer),
				       &out, &out_len),
			SPOP_ERR_PROTOCOL);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_TRUE(
	    error_is(SPOP_ERR_PROTOCOL, "unwrapping", "pop@localhost", NULL));
	run_end(&r);

	/* a wrap token cut short, and one with a flipped bit: each byte
	 * count is bounds-checked by the library, never over-read (ASan) */
	for (int flip = 0; flip < 2; flip++) {
		to_layer(&r);
		wrap(&r, offer, sizeof(offer), &token);
		size_t len = flip ? token.length : token.length - 5;
		copy = g_memdup2(token.value, len);
		if (flip)
			copy[len - 1] ^= 0x01;
		gss_release_buffer(&minor, &token);
		CU_ASSERT_EQUAL(ops->sasl_step(&host.pub, r.state, copy, len,
					       &out, &out_len),
				SPOP_ERR_PROTOCOL);
		CU_ASSERT_PTR_NULL(out);
		CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "unwrapping", NULL));
		g_free(copy);
		run_end(&r);
	}

	/* an empty security-layer challenge */
	to_layer(&r);
	CU_ASSERT_EQUAL(
	    ops->sasl_step(&host.pub, r.state, offer, 0, &out, &out_len),
	    SPOP_ERR_PROTOCOL);
	CU_ASSERT_TRUE(
	    error_is(SPOP_ERR_PROTOCOL, "empty security-layer", NULL));
	run_end(&r);
}

/* Context tokens from the server that are empty, garbled or cut short. */
static void test_bad_context_tokens(void)
{
	static const unsigned char garbage[] = "not a Kerberos AP-REP";
	unsigned char *out = NULL, *copy;
	size_t out_len = 0;
	gss_buffer_desc reply = GSS_C_EMPTY_BUFFER;
	OM_uint32 minor;
	struct run r = {NULL, GSS_C_NO_CONTEXT, GSS_C_NO_NAME};

	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL_FATAL(
		    ops->sasl_start(&host.pub, &r.state, &out, &out_len), 0);
		CU_ASSERT_EQUAL_FATAL(accept_token(&r, out, out_len, &reply),
				      GSS_S_COMPLETE);
		g_free(out);
		out = NULL;
		const unsigned char *in = garbage;
		size_t len = sizeof(garbage) - 1;
		copy = NULL;
		if (i == 1) /* empty */
			len = 0;
		if (i == 2) { /* the AP-REP cut short */
			copy = g_memdup2(reply.value, reply.length / 2);
			in = copy;
			len = reply.length / 2;
		}
		if (i == 3) { /* the AP-REP with its last byte changed */
			copy = g_memdup2(reply.value, reply.length);
			copy[reply.length - 1] ^= 0x55;
			in = copy;
			len = reply.length;
		}
		gss_release_buffer(&minor, &reply);
		CU_ASSERT_EQUAL(
		    ops->sasl_step(&host.pub, r.state, in, len, &out, &out_len),
		    SPOP_ERR_PROTOCOL);
		CU_ASSERT_PTR_NULL(out);
		CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "GSSAPI",
					"pop@localhost", NULL));
		/* +OK after a failed step: the server never proved itself */
		CU_ASSERT_EQUAL(ops->sasl_finish(&host.pub, r.state),
				SPOP_ERR_CERT_VERIFY);
		g_free(copy);
		run_end(&r);
	}
}

static void test_no_credentials(void)
{
	char *missing = g_strdup_printf("FILE:%s/no-such-ccache", kdc.dir);
	unsigned char *out = NULL;
	size_t out_len = 0;
	void *state = NULL;

	g_setenv("KRB5CCNAME", missing, TRUE);
	CU_ASSERT_EQUAL(ops->sasl_start(&host.pub, &state, &out, &out_len),
			SPOP_ERR_PROTOCOL);
	g_setenv("KRB5CCNAME", kdc.ccache, TRUE);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "pop@localhost",
				"No Kerberos credentials available",
				"run kinit", NULL));
	if (state)
		ops->sasl_done(&host.pub, state);
	g_free(missing);
}

static const struct test_case cases[] = {
    {"exchange with an in-process acceptor, byte for byte", test_exchange},
    {"AuthorizationIdentity in the security-layer answer", test_authzid},
    {"offers without no-layer, or not 4 bytes: refused", test_bad_offers},
    {"unwrapped, cut or altered layer tokens: refused", test_bad_wrap_tokens},
    {"empty, garbled or cut context tokens: refused", test_bad_context_tokens},
    {"no credential cache: the reason and kinit", test_no_credentials},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"gssapi", suite_init, suite_clean, cases},
    {NULL},
};

int main(void)
{
	return test_run(suites);
}
