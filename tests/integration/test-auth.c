/* Authentication against a private Dovecot: SASL PLAIN (with and without
 * AuthorizationIdentity) and LOGIN through the core's SASL driver, the
 * server's response codes on a wrong password, and a second Connect on
 * the same object (the runtime LocalPort must not stick). */
#include <stdlib.h>

#include "common.h"

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
	/* the refusal quotes the server's last readable challenge (here
	 * Dovecot's <pid.time@host> timestamp) */
	ERROR_HAS(s, "(its last CRAM-MD5 challenge: '<");
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_free(s);
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
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"auth", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return integration_main("auth", suites);
}
