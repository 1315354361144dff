/* Authentication against a private Dovecot: SASL PLAIN (with and without
 * AuthorizationIdentity) and LOGIN through the core's SASL driver, the
 * server's response codes on a wrong password, and a second Connect on
 * the same object (the runtime LocalPort must not stick); the automatic
 * choice (AuthMechanismName=auto) and the plaintext policy against a
 * Dovecot that offers only PLAIN, and SASL EXTERNAL with a TLS client
 * certificate against one that takes the user from it. The suites of the
 * other mechanisms are test-auth-*.c. */
#include <stdbool.h>
#include <stdlib.h>

#include "common.h"

/* What auto takes on the main Dovecot: the first of auth.c's order whose
 * plugin is built. */
#define AUTO_EXPECTED "scram-sha-256"

static struct recorder rec;

static void login_with(const char *mechanism, int am, const char *authzid)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);

	if (mechanism) {
		char cfg[64];
		snprintf(cfg, sizeof(cfg), "AuthMechanismName=%s", mechanism);
		CU_ASSERT_PTR_NOT_NULL(spop_config(s, cfg));
	} else {
		ASSERT_OK(spop_set_auth_mechanism(s, am));
	}
	if (authzid) {
		char cfg[128];
		snprintf(cfg, sizeof(cfg), "AuthorizationIdentity=%s", authzid);
		CU_ASSERT_PTR_NOT_NULL(spop_config(s, cfg));
	}
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s),
			harness_message_count(&dovecot, HARNESS_MAIN_USER));
	/* the secret never reaches the trail */
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, HARNESS_MAIN_PASSWORD));
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: AUTH "));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: USER"));
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);
}

static void test_plain(void)
{
	login_with(NULL, SPOP_AM_SASLPLAIN, NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: AUTH PLAIN ****"));
}

static void test_plain_authzid(void)
{
	/* authorizing as oneself is always allowed (RFC 4616) */
	login_with(NULL, SPOP_AM_SASLPLAIN, HARNESS_MAIN_USER);
}

static void test_login(void)
{
	/* SASL names are case-insensitive; the plugin is "login" */
	login_with("LOGIN", 0, NULL);
	/* no initial response: the server asks for both values */
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: AUTH LOGIN\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: ********\n"));
}

static void test_plain_wrong_password(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, "wrong", &rec);

	ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_SASLPLAIN));
	CU_ASSERT_EQUAL(spop_connect(s), 171);
	/* Dovecot says -ERR [AUTH] ...: the code is named */
	ERROR_HAS(s, "answered AUTH");
	ERROR_HAS(s, "AUTH: the credentials were rejected");
	CU_ASSERT_FALSE(spop_get_connected(s));
	/* greeting and CAPA of the failed attempt stay readable */
	CU_ASSERT(spop_get_capability_count(s) > 0);
	spop_free(s);
}

static void test_cram_md5(void)
{
	login_with(NULL, SPOP_AM_CRAMMD5, NULL);
	/* no initial response; the answer is user and HMAC, never the
	 * password */
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: AUTH CRAM-MD5\n"));
}

static void test_cram_md5_wrong_password(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, "wrong", &rec);

	ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_CRAMMD5));
	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, "AUTH: the credentials were rejected");
	/* CRAM-MD5's challenge is no error message: the error does not
	 * quote it (XOAUTH2's JSON is quoted, test-auth-oauth.c) */
	CU_ASSERT_PTR_NULL(strstr(spop_last_error(s), "the server's"));
	CU_ASSERT_PTR_NULL(strchr(spop_last_error(s), '<'));
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_free(s);
}

/* ---- more servers: PLAIN only; EXTERNAL over TLS ---- */

enum variant { V_MAIN, V_PLAIN_ONLY, V_EXTERNAL, V_COUNT };
static struct harness_dovecot servers[V_COUNT];

/* Makes variant v the `dovecot` client_new connects to, starting it on
 * first use. */
static void use_server(enum variant v)
{
	static const struct harness_tls tls = {"good", 1, NULL, NULL};

	if (v == V_MAIN) {
		dovecot = servers[V_MAIN];
		return;
	}
	if (servers[v].port == 0) {
		int rc;

		if (v == V_PLAIN_ONLY) {
			g_setenv("HARNESS_AUTH_MECHANISMS", "plain", TRUE);
			rc = harness_dovecot_start(&servers[v],
						   "auth-plain-only");
			g_unsetenv("HARNESS_AUTH_MECHANISMS");
		} else {
			g_setenv("HARNESS_EXTERNAL", "1", TRUE);
			rc = harness_dovecot_start_tls(&servers[v],
						       "auth-external", &tls);
			g_unsetenv("HARNESS_EXTERNAL");
		}
		CU_ASSERT_EQUAL_FATAL(rc, 0);
	}
	dovecot = servers[v];
}

static int suite_init(void)
{
	servers[V_MAIN] = dovecot;
	return 0;
}

static int suite_cleanup(void)
{
	for (int v = V_PLAIN_ONLY; v < V_COUNT; v++)
		if (servers[v].port != 0)
			harness_dovecot_stop(&servers[v]);
	dovecot = servers[V_MAIN];
	return 0;
}

static spop_t *auto_client(const char *password)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, password, &rec);

	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "AuthMechanismName=auto"));
	return s;
}

static void test_auto_strongest(void)
{
	use_server(V_MAIN);
	spop_t *s = auto_client(HARNESS_MAIN_PASSWORD);

	ASSERT_OK(spop_connect(s));
	/* Dovecot offers PLAIN LOGIN CRAM-MD5 DIGEST-MD5 APOP SCRAM-SHA-1
	 * SCRAM-SHA-256: the first of the documented order installed here */
	CU_ASSERT_STRING_EQUAL(spop_config(s, "AuthMechanismUsed"),
			       AUTO_EXPECTED);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str,
		   "AuthMechanismName=auto chose '" AUTO_EXPECTED "'"));
	CU_ASSERT_EQUAL(spop_get_message_count(s),
			harness_message_count(&dovecot, HARNESS_MAIN_USER));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, HARNESS_MAIN_PASSWORD));
	CU_ASSERT_STRING_EQUAL(spop_config(s, "AuthPlaintextSent"), "False");
	ASSERT_OK(spop_disconnect(s));
	/* the name stays readable after Disconnect, empty on a new object */
	CU_ASSERT_STRING_EQUAL(spop_config(s, "AuthMechanismUsed"),
			       AUTO_EXPECTED);
	spop_free(s);
	s = spop_new();
	CU_ASSERT_STRING_EQUAL(spop_config(s, "AuthMechanismUsed"), "");
	spop_free(s);
}

static void test_auto_plaintext_policy(void)
{
	use_server(V_PLAIN_ONLY);
	spop_t *s = auto_client(HARNESS_MAIN_PASSWORD);

	/* only PLAIN and USER on offer, no TLS: refused by the policy,
	 * which the error names, before any credential is sent */
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "AllowPlaintextAuth=False"));
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_POLICY);
	ERROR_HAS(s, "AllowPlaintextAuth is False");
	ERROR_HAS(s, "'plain'");
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: AUTH"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: USER"));
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_free(s);

	/* the reference's default lets it go, with a trail line saying so */
	s = auto_client(HARNESS_MAIN_PASSWORD);
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_STRING_EQUAL(spop_config(s, "AuthMechanismUsed"), "plain");
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str, "sends a reusable secret without TLS"));
	CU_ASSERT_STRING_EQUAL(spop_config(s, "AuthPlaintextSent"), "True");
	/* read-only */
	CU_ASSERT_PTR_NULL(spop_config(s, "AuthPlaintextSent=False"));
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);

	/* without a Password nothing fits: the error says what was looked
	 * for */
	s = auto_client("");
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_PROTOCOL);
	ERROR_HAS(s, "found no mechanism");
	ERROR_HAS(s, "CAPA SASL: PLAIN");
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: AUTH"));
	spop_free(s);
	use_server(V_MAIN);
}

/* A client of the EXTERNAL server on its pop3s port, trusting the test
 * CA, with the client certificate when with_cert. */
static spop_t *external_client(bool with_cert, const char *mechanism)
{
	use_server(V_EXTERNAL);
	spop_t *s = client_new(HARNESS_MAIN_USER, "", &rec);
	char *ca = harness_cert_file("ca.pem"), *text = NULL;
	char *p12 = harness_cert_file("client.p12");
	char *p12_password = harness_cert_file("client.p12.password");
	char *setting;
	gchar *password = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p12);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p12_password);
	CU_ASSERT_TRUE_FATAL(g_file_get_contents(ca, &text, NULL, NULL));
	setting = g_strconcat("SSLServerCACerts=", text, NULL);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, setting));
	ASSERT_OK(spop_set_mail_port(s, dovecot.tls_port));
	ASSERT_OK(spop_set_ssl_start_mode(s, SPOP_SSL_IMPLICIT));
	g_free(setting);
	setting = g_strconcat("AuthMechanismName=", mechanism, NULL);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, setting));
	if (with_cert) {
		CU_ASSERT_TRUE_FATAL(
		    g_file_get_contents(p12_password, &password, NULL, NULL));
		ASSERT_OK(spop_set_ssl_cert_store_type(s, SPOP_CST_PFXFILE));
		ASSERT_OK(spop_set_ssl_cert_store(s, p12, strlen(p12)));
		ASSERT_OK(spop_set_ssl_cert_store_password(s, password));
		ASSERT_OK(spop_set_ssl_cert_subject(s, "*"));
	}
	g_free(setting);
	g_free(password);
	g_free(text);
	g_free(ca);
	g_free(p12);
	g_free(p12_password);
	return s;
}

static void test_external(void)
{
	/* no Password: the certificate's CN (alice) is the user */
	spop_t *s = external_client(true, "external");

	ASSERT_OK(spop_connect(s));
	/* the initial response, empty ("="), is masked like any other */
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: AUTH EXTERNAL *"));
	CU_ASSERT_EQUAL(spop_get_message_count(s),
			harness_message_count(&dovecot, HARNESS_MAIN_USER));
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);

	/* auto takes EXTERNAL when a client certificate is set */
	s = external_client(true, "auto");
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_STRING_EQUAL(spop_config(s, "AuthMechanismUsed"), "external");
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);
	use_server(V_MAIN);
}

static void test_external_refused(void)
{
	/* TLS without a certificate: the server has no identity to take */
	spop_t *s = external_client(false, "external");

	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_PROTOCOL);
	ERROR_HAS(s, "answered AUTH");
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_free(s);

	/* no TLS at all: nothing is sent (the server offers EXTERNAL on
	 * its plain port too) */
	s = external_client(true, "external");
	ASSERT_OK(spop_set_mail_port(s, dovecot.port));
	ASSERT_OK(spop_set_ssl_start_mode(s, SPOP_SSL_NONE));
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_POLICY);
	ERROR_HAS(s, "has no TLS");
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: AUTH"));
	spop_free(s);
	use_server(V_MAIN);
}

static void test_reconnect_same_object(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);

	ASSERT_OK(spop_connect(s));
	int first = atoi(spop_config(s, "LocalPort"));
	CU_ASSERT(first > 0);
	/* a client-side close leaves TIME_WAIT on our port */
	spop_free(s);
	s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);
	for (int round = 0; round < 3; round++) {
		ASSERT_OK(spop_connect(s));
		CU_ASSERT(atoi(spop_config(s, "LocalPort")) > 0);
		CU_ASSERT_STRING_EQUAL(spop_get_local_host(s), "127.0.0.1");
		ASSERT_OK(spop_retrieve(s));
		ASSERT_OK(spop_disconnect(s));
		/* the setting was never overwritten by the bound port */
		CU_ASSERT_STRING_EQUAL(spop_config(s, "LocalPort"), "0");
		CU_ASSERT_STRING_EQUAL(spop_get_local_host(s), "");
		/* message properties are empty once disconnected */
		const char *text;
		size_t len;
		ASSERT_OK(spop_get_message_text(s, &text, &len));
		CU_ASSERT_EQUAL(len, 0);
		CU_ASSERT_STRING_EQUAL(spop_get_message_headers_string(s), "");
	}
	spop_free(s);
}

static const struct test_case cases[] = {
    {"SASL PLAIN", test_plain},
    {"SASL PLAIN with AuthorizationIdentity", test_plain_authzid},
    {"SASL LOGIN", test_login},
    {"SASL PLAIN wrong password", test_plain_wrong_password},
    {"SASL CRAM-MD5", test_cram_md5},
    {"SASL CRAM-MD5 wrong password", test_cram_md5_wrong_password},
    {"Connect, Disconnect, Connect on one object", test_reconnect_same_object},
    {"auto: the strongest both sides support", test_auto_strongest},
    {"auto: plaintext policy, nothing fits", test_auto_plaintext_policy},
    {"SASL EXTERNAL with a client certificate", test_external},
    {"SASL EXTERNAL without certificate, without TLS", test_external_refused},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"auth", suite_init, suite_cleanup, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return integration_main("auth", suites);
}
