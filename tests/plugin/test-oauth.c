/* The OAuth 2.0 auth plugins through the registry and the core's own
 * host: "xoauth2" (AuthMechanism 7) with the message of Google's XOAUTH2
 * documentation byte for byte, sent after the server's empty challenge;
 * "oauthbearer" (no AuthMechanism value, chosen by name) with RFC 7628
 * section 4.1's initial client response byte for byte and the failure
 * continuation of section 3.2.3 ("AQ=="); the server's error JSON in the
 * trail; refusals of tokens and names that would change the message. The
 * exchanges against Dovecot are in tests/integration/test-auth-oauth.c. */
#include "test-runner.h"

#include <string.h>

#include "spop-private.h"

#include "fixture-setup.h"

static struct spi_host host;
static const struct spop_plugin_descriptor *xo_desc, *ob_desc;
static GString *trail;

static void on_trail(spop_t *t, const struct spop_pitrail_event *e, void *ud)
{
	g_string_append_printf(trail, "%c: %s\n", "CSI"[e->direction],
			       e -> message);
}

static int suite_init(void)
{
	if (setup())
		return 1;
	trail = g_string_new(NULL);
	spop_on_pitrail(s, on_trail, NULL);
	if (spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism",
			      SPOP_AM_XOAUTH2, &xo_desc) ||
	    !xo_desc) {
		fprintf(stderr, "no xoauth2 plugin: %s\n", error_text());
		return 1;
	}
	/* by name, in any case, as AuthMechanismName finds it */
	if (spi_plugin_by_name(s, SPOP_PLUGIN_AUTH, "OAuthBearer", &ob_desc) ||
	    !ob_desc) {
		fprintf(stderr, "no oauthbearer plugin: %s\n", error_text());
		return 1;
	}
	spi_host_init(&host, s, NULL);
	return 0;
}

static int suite_clean(void)
{
	g_string_free(trail, TRUE);
	return teardown();
}

static char *b64(const unsigned char *data, size_t len)
{
	return g_base64_encode(data, len);
}

/* ---- XOAUTH2 ---- */

/* Google's "XOAUTH2 protocol" page: the message before and after base64. */
static const char google_user[] = "someuser@example.com";
static const char google_token[] =
    "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg";
static const char google_message[] =
    "user=someuser@example.com\001auth=Bearer "
    "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\001\001";
static const char google_base64[] =
    "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbV"
    "RjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==";
/* What Google answers a refused token with (base64-decoded). */
static const char google_error[] =
    "{\"status\":\"401\",\"schemes\":\"bearer mac\",\"scope\":"
    "\"https://mail.google.com/\"}";

static int step(const struct spop_plugin_descriptor *d, void *state,
		const char *challenge, unsigned char **out, size_t *out_len)
{
	const struct spop_auth_ops *ops = d->ops;

	*out = NULL;
	*out_len = 99;
	return ops->sasl_step(&host.pub, state,
			      (const unsigned char *)challenge,
			      strlen(challenge), out, out_len);
}

static void test_xoauth2(void)
{
	const struct spop_auth_ops *ops = xo_desc->ops;
	void *state = NULL;
	unsigned char *out = NULL;
	size_t out_len = 0;

	CU_ASSERT_STRING_EQUAL(xo_desc->name, "xoauth2");
	CU_ASSERT_STRING_EQUAL(ops->sasl_name, "XOAUTH2");
	/* a bearer token is a reusable secret: the core's policy applies */
	CU_ASSERT_EQUAL(xo_desc->capabilities,
			SPOP_CAP_AUTH_SASL | SPOP_CAP_AUTH_PLAINTEXT);
	spop_set_user(s, google_user);
	spop_set_password(s, google_token);
	/* two steps: no initial response... */
	CU_ASSERT_EQUAL(ops->sasl_start(&host.pub, &state, &out, &out_len), 0);
	CU_ASSERT_PTR_NULL(out);
	/* ...the message after the server's empty "+" */
	CU_ASSERT_EQUAL(step(xo_desc, state, "", &out, &out_len), 0);
	CU_ASSERT_EQUAL_FATAL(out_len, sizeof(google_message) - 1);
	CU_ASSERT_EQUAL(memcmp(out, google_message, out_len), 0);
	char *enc = b64(out, out_len);
	CU_ASSERT_STRING_EQUAL(enc, google_base64);
	g_free(enc);
	g_free(out);

	/* a refused token: the error JSON as a challenge, answered with an
	 * empty response, and shown in the trail */
	g_string_truncate(trail, 0);
	CU_ASSERT_EQUAL(step(xo_desc, state, google_error, &out, &out_len), 0);
	CU_ASSERT_PTR_NOT_NULL(out);
	CU_ASSERT_EQUAL(out_len, 0);
	g_free(out);
	CU_ASSERT_PTR_NOT_NULL(strstr(trail->str,
				      "I: XOAUTH2 refused the "
				      "token: {\"status\":\"401\""));
	CU_ASSERT_PTR_NULL(strstr(trail->str, google_token));
	/* ...and kept whole for the core's error after -ERR */
	CU_ASSERT_STRING_EQUAL(ops->sasl_refusal(&host.pub, state),
			       google_error);
	/* after the error only -ERR may come */
	CU_ASSERT_EQUAL(step(xo_desc, state, "again", &out, &out_len),
			SPOP_ERR_PROTOCOL);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "another XOAUTH2", NULL));
	ops->sasl_done(&host.pub, state);
}

/* start fails with code, naming what; the token never in the error. */
static void start_fails(const struct spop_plugin_descriptor *d, int code,
			const char *what)
{
	const struct spop_auth_ops *ops = d->ops;
	void *state = NULL;
	unsigned char *out = NULL;
	size_t out_len = 0;

	CU_ASSERT_EQUAL(ops->sasl_start(&host.pub, &state, &out, &out_len),
			code);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_PTR_NULL(state);
	CU_ASSERT_TRUE(error_is(code, what, NULL));
	CU_ASSERT_PTR_NULL(strstr(error_text(), "secret-token"));
}

static void test_xoauth2_refusals(void)
{
	const struct spop_auth_ops *ops = xo_desc->ops;
	void *state = NULL;
	unsigned char *out = NULL;
	size_t out_len = 0;

	spop_set_user(s, google_user);
	spop_set_password(s, "");
	start_fails(xo_desc, SPOP_ERR_INVALID_VALUE, "Password is empty");
	/* ^A would end the token and start another key */
	spop_set_password(s, "secret-token\001user=mallory");
	start_fails(xo_desc, SPOP_ERR_INVALID_VALUE,
		    "character 13 of 25 is not allowed");
	spop_set_password(s, "secret-token ");
	start_fails(xo_desc, SPOP_ERR_INVALID_VALUE, "RFC 6750 b64token");
	spop_set_password(s, "secret-token==x");
	start_fails(xo_desc, SPOP_ERR_INVALID_VALUE, "b64token");
	spop_set_password(s, "=secret-token");
	start_fails(xo_desc, SPOP_ERR_INVALID_VALUE, "does not start like");
	spop_set_password(s, "secret-token");
	spop_set_user(s, "");
	start_fails(xo_desc, SPOP_ERR_PROTOCOL, "User is empty");
	spop_set_user(s, "some\001user");
	start_fails(xo_desc, SPOP_ERR_INVALID_VALUE, "control character");

	/* the server must ask for the message with an empty challenge */
	spop_set_user(s, google_user);
	CU_ASSERT_EQUAL(ops->sasl_start(&host.pub, &state, &out, &out_len), 0);
	CU_ASSERT_EQUAL(step(xo_desc, state, "hello", &out, &out_len),
			SPOP_ERR_PROTOCOL);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_TRUE(
	    error_is(SPOP_ERR_PROTOCOL, "non-empty challenge (5 bytes)", NULL));
	ops->sasl_done(&host.pub, state);
}

/* ---- OAUTHBEARER ---- */

/* RFC 7628 section 4.1 (IMAP): the initial client response. */
static const char rfc_message[] =
    "n,a=user@example.com,\001host=server.example.com\001port=143\001"
    "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\001\001";
static const char rfc_base64[] =
    "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MT"
    "QzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0"
    "Q2c9PQEB";
/* RFC 7628 section 3.2.2's error example. */
static const char rfc_error[] =
    "{\"status\":\"invalid_token\",\"scope\":\"example_scope\","
    "\"openid-configuration\":\"https://example.com/.well-known/"
    "openid-configuration\"}";

/* start's initial response, as a string. */
static char *initial(void **state)
{
	const struct spop_auth_ops *ops = ob_desc->ops;
	unsigned char *out = NULL;
	size_t out_len = 0;

	CU_ASSERT_EQUAL(ops->sasl_start(&host.pub, state, &out, &out_len), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	char *m = g_strndup((const char *)out, out_len);
	CU_ASSERT_EQUAL(strlen(m), out_len);
	g_free(out);
	return m;
}

static void test_oauthbearer(void)
{
	const struct spop_auth_ops *ops = ob_desc->ops;
	void *state = NULL;
	unsigned char *out = NULL;
	size_t out_len = 0;

	CU_ASSERT_STRING_EQUAL(ob_desc->name, "oauthbearer");
	CU_ASSERT_STRING_EQUAL(ops->sasl_name, "OAUTHBEARER");
	CU_ASSERT_EQUAL(ob_desc->n_selectors, 0);
	CU_ASSERT_EQUAL(ob_desc->capabilities,
			SPOP_CAP_AUTH_SASL | SPOP_CAP_AUTH_PLAINTEXT);
	/* Config accepts the name (the driver looks it up the same way) */
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "AuthMechanismName=oauthbearer"));
	CU_ASSERT_STRING_EQUAL(spop_config(s, "AuthMechanismName"),
			       "oauthbearer");
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "AuthMechanismName="));

	spop_set_user(s, "user@example.com");
	spop_set_password(s, "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");
	spop_set_mail_server(s, "server.example.com");
	spop_set_mail_port(s, 143);
	char *m = initial(&state);
	CU_ASSERT_STRING_EQUAL(m, rfc_message);
	char *enc = b64((const unsigned char *)m, strlen(m));
	CU_ASSERT_STRING_EQUAL(enc, rfc_base64);
	g_free(enc);
	g_free(m);

	/* RFC 7628 section 3.2.3: the error is answered with ^A ("AQ==") */
	g_string_truncate(trail, 0);
	CU_ASSERT_EQUAL(step(ob_desc, state, rfc_error, &out, &out_len), 0);
	CU_ASSERT_EQUAL_FATAL(out_len, 1);
	enc = b64(out, out_len);
	CU_ASSERT_STRING_EQUAL(enc, "AQ==");
	g_free(enc);
	g_free(out);
	CU_ASSERT_PTR_NOT_NULL(strstr(trail->str,
				      "I: OAUTHBEARER refused the token: "
				      "{\"status\":\"invalid_token\""));
	CU_ASSERT_STRING_EQUAL(ops->sasl_refusal(&host.pub, state), rfc_error);
	CU_ASSERT_EQUAL(step(ob_desc, state, rfc_error, &out, &out_len),
			SPOP_ERR_PROTOCOL);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_TRUE(
	    error_is(SPOP_ERR_PROTOCOL, "another OAUTHBEARER", NULL));
	ops->sasl_done(&host.pub, state);

	/* only an error may follow the message, never an empty challenge */
	m = initial(&state);
	g_free(m);
	CU_ASSERT_EQUAL(step(ob_desc, state, "", &out, &out_len),
			SPOP_ERR_PROTOCOL);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "empty OAUTHBEARER", NULL));
	ops->sasl_done(&host.pub, state);
}

static void test_oauthbearer_names(void)
{
	void *state = NULL;
	char *m;

	spop_set_password(s, "tok");
	spop_set_mail_server(s, "server.example.com");
	spop_set_mail_port(s, 110);
	/* RFC 5801 saslname: ',' and '=' escaped */
	spop_set_user(s, "a,b=c@example.com");
	m = initial(&state);
	CU_ASSERT_TRUE(g_str_has_prefix(m, "n,a=a=2Cb=3Dc@example.com,\001"
					   "host=server.example.com\001"
					   "port=110\001"));
	((const struct spop_auth_ops *)ob_desc->ops)
	    ->sasl_done(&host.pub, state);
	g_free(m);
	/* no user: no authzid */
	spop_set_user(s, "");
	m = initial(&state);
	CU_ASSERT_TRUE(g_str_has_prefix(m, "n,,\001host="));
	((const struct spop_auth_ops *)ob_desc->ops)
	    ->sasl_done(&host.pub, state);
	g_free(m);

	spop_set_user(s, "user\001x");
	start_fails(ob_desc, SPOP_ERR_INVALID_VALUE, "control character");
	spop_set_user(s, "user");
	spop_set_password(s, "secret-token\001");
	start_fails(ob_desc, SPOP_ERR_INVALID_VALUE,
		    "character 13 of 13 is not allowed");
	spop_set_password(s, "");
	start_fails(ob_desc, SPOP_ERR_INVALID_VALUE, "Password is empty");
}

static const struct test_case cases[] = {
    {"XOAUTH2: Google's format in two steps, its error", test_xoauth2},
    {"XOAUTH2: tokens and users refused", test_xoauth2_refusals},
    {"OAUTHBEARER: RFC 7628 4.1 byte for byte, AQ== after an error",
     test_oauthbearer},
    {"OAUTHBEARER: saslname, no user, bad values", test_oauthbearer_names},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"oauth", suite_init, suite_clean, cases},
    {NULL},
};

int main(void)
{
	return test_run(suites);
}
