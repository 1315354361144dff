/* SASL NTLM (AuthMechanism 2) against a real NTLM server side: Cyrus pop3d
 * 3.6 with Cyrus SASL's ntlm plugin and a private sasldb, run unpacked from
 * Debian's packages by cyrus-harness.sh (once per process). Right and wrong
 * passwords, with and without a DOMAIN\ prefix; and, from a scripted peer,
 * CHALLENGEs no real server sends: each cancelled with "*" and reported.
 * A Cyrus that cannot be fetched or started fails the suite. */
#include <stdlib.h>

#include "common.h"
#include "scripted.h"

static struct harness_cyrus cyrus;
static struct recorder rec;

static spop_t *cyrus_client(const char *user, const char *password)
{
	spop_t *s = client_new(user, password, &rec);

	spop_set_mail_port(s, cyrus.port);
	CU_ASSERT_EQUAL(spop_set_auth_mechanism(s, SPOP_AM_NTLM), 0);
	return s;
}

static void trail_is_clean(const char *password)
{
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, password));
	/* the NEGOTIATE message goes as the initial response, masked */
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: AUTH NTLM ****"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: USER"));
}

static void login_as(const char *user)
{
	long long at = harness_cyrus_log_size(&cyrus);
	spop_t *s = cyrus_client(user, HARNESS_CYRUS_PASSWORD);

	ASSERT_OK(spop_connect(s));
	CU_ASSERT_TRUE(spop_get_connected(s));
	CU_ASSERT_EQUAL(
	    spop_get_message_count(s),
	    harness_cyrus_message_count(&cyrus, HARNESS_CYRUS_USER));
	CU_ASSERT_EQUAL(spop_get_message_count(s), 3);
	trail_is_clean(HARNESS_CYRUS_PASSWORD);
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);
	/* Cyrus says which mechanism let the user in (when its syslog could
	 * be caught, which needs a private mount namespace). */
	char *log = harness_cyrus_log(&cyrus, at);
	if (*log)
		CU_ASSERT_PTR_NOT_NULL(
		    strstr(log, HARNESS_CYRUS_USER " NTLM User logged in"));
	g_free(log);
}

static void test_user(void)
{
	login_as(HARNESS_CYRUS_USER);
}

/* Cyrus SASL keys NTOWFv2 with UPPER(user + domain) where MS-NLMP has
 * UPPER(user) + domain, so an upper-case domain is what both agree on. */
static void test_domain(void)
{
	login_as("EXAMPLE\\" HARNESS_CYRUS_USER);
}

static void refused(const char *user, const char *password)
{
	spop_t *s = cyrus_client(user, password);

	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, "AUTH");
	CU_ASSERT_FALSE(spop_get_connected(s));
	trail_is_clean(password);
	spop_free(s);
}

static void test_wrong_password(void)
{
	refused(HARNESS_CYRUS_USER, "wrong-secret");
	refused("EXAMPLE\\" HARNESS_CYRUS_USER, "wrong-secret");
}

/* The domain is part of the proof: the same user and password with the
 * domain in lower case computes, per MS-NLMP, another NTOWFv2 than Cyrus's
 * upper-casing one, and Cyrus refuses it. */
static void test_domain_in_proof(void)
{
	refused("example\\" HARNESS_CYRUS_USER, HARNESS_CYRUS_PASSWORD);
}

/* The harness's TLS, which the SCRAM-*-PLUS suites rely on: a second
 * Cyrus with the "good" certificate, TLS 1.2 only (tls-unique, Cyrus's only
 * channel binding, is undefined for TLS 1.3); NTLM over STLS and over
 * implicit TLS, and after STLS Cyrus offers the -PLUS mechanisms. */
static void test_tls(void)
{
	const struct harness_cyrus_tls tls = {.cert = "good",
					      .tls_versions = "tls1_2"};
	char *ca_path = harness_cert_file("ca.pem"), *ca = NULL;
	struct harness_cyrus tc;

	memset(&tc, 0, sizeof(tc));
	CU_ASSERT_PTR_NOT_NULL_FATAL(ca_path);
	CU_ASSERT_TRUE_FATAL(g_file_get_contents(ca_path, &ca, NULL, NULL));
	g_free(ca_path);
	CU_ASSERT_EQUAL_FATAL(harness_cyrus_start(&tc, "auth-ntlm-tls", &tls),
			      0);
	char *setting = g_strconcat("SSLServerCACerts=", ca, NULL);
	for (int implicit = 0; implicit < 2; implicit++) {
		spop_t *s = cyrus_client("EXAMPLE\\" HARNESS_CYRUS_USER,
					 HARNESS_CYRUS_PASSWORD);

		CU_ASSERT_PTR_NOT_NULL(spop_config(s, setting));
		spop_set_mail_port(s, implicit ? tc.tls_port : tc.port);
		ASSERT_OK(spop_set_ssl_start_mode(
		    s, implicit ? SPOP_SSL_IMPLICIT : SPOP_SSL_EXPLICIT));
		ASSERT_OK(spop_connect(s));
		CU_ASSERT_EQUAL(spop_get_message_count(s), 3);
		const char *sasl = NULL;
		for (int i = 0; i < spop_get_capability_count(s); i++)
			if (!strncmp(spop_get_capability(s, i), "SASL ", 5))
				sasl = spop_get_capability(s, i);
		CU_ASSERT_PTR_NOT_NULL(sasl);
		if (sasl) {
			CU_ASSERT_PTR_NOT_NULL(strstr(sasl, " NTLM"));
			CU_ASSERT_PTR_NOT_NULL(
			    strstr(sasl, "SCRAM-SHA-1-PLUS"));
			CU_ASSERT_PTR_NOT_NULL(
			    strstr(sasl, "SCRAM-SHA-256-PLUS"));
		}
		trail_is_clean(HARNESS_CYRUS_PASSWORD);
		ASSERT_OK(spop_disconnect(s));
		spop_free(s);
	}
	char *log = harness_cyrus_log(&tc, 0);
	if (*log)
		CU_ASSERT_PTR_NOT_NULL(strstr(log, "TLSv1.2 with cipher"));
	g_free(log);
	g_free(setting);
	g_free(ca);
	CU_ASSERT_EQUAL(harness_cyrus_stop(&tc), 0);
}

/* ---- scripted peer: what no real server sends ---- */

#define GREET_CAPA                                                             \
	{STEP_SEND, "+OK scripted\r\n", 0, 0}, {STEP_EXPECT, "CAPA", 0, 0},    \
	    {STEP_SEND, "+OK\r\nSASL NTLM\r\nUSER\r\n.\r\n", 0, 0},            \
	{                                                                      \
		STEP_EXPECT, "AUTH NTLM TlRMTVNTUAAB", 0, 0                    \
	}

static void scripted_refusal(const struct step *script, const char *what)
{
	struct scripted sc;
	spop_t *s = scripted_client(&sc, script, "alice", &rec);

	CU_ASSERT_EQUAL(spop_set_auth_mechanism(s, SPOP_AM_NTLM), 0);
	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, what);
	CU_ASSERT_FALSE(spop_get_connected(s));
	scripted_client_finish(s, &sc);
}

static void test_not_base64(void)
{
	static const struct step script[] = {
	    GREET_CAPA,
	    {STEP_SEND, "+ TlRMTVNTUAAC!!!\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "*", 0, 0},
	    {STEP_SEND, "-ERR cancelled\r\n", 0, 0},
	    {STEP_END, NULL, 0, 0}};

	scripted_refusal(script, "not base64");
}

static void test_hostile_challenge(void)
{
	/* A CHALLENGE whose target information claims 0x7fff bytes at
	 * offset 48 of a 48-byte message. */
	static const unsigned char m[48] = {
	    'N', 'T', 'L', 'M', 'S',  'S',  'P',  0,	2,  0, 0, 0,
	    0,	 0,   0,   0,	48,   0,    0,	  0,	1,  0, 0, 0,
	    1,	 2,   3,   4,	5,    6,    7,	  8,	0,  0, 0, 0,
	    0,	 0,   0,   0,	0xff, 0x7f, 0xff, 0x7f, 48, 0, 0, 0};
	char *b64 = g_base64_encode(m, sizeof(m));
	char *line = g_strdup_printf("+ %s\r\n", b64);
	const struct step script[] = {GREET_CAPA,
				      {STEP_SEND, line, 0, 0},
				      {STEP_EXPECT_LINE, "*", 0, 0},
				      {STEP_SEND, "-ERR cancelled\r\n", 0, 0},
				      {STEP_END, NULL, 0, 0}};

	scripted_refusal(script, "target information");
	g_free(line);
	g_free(b64);
}

static const struct test_case cases[] = {
    {"NTLM as alice: logged in, messages counted", test_user},
    {"NTLM as EXAMPLE\\alice", test_domain},
    {"wrong password refused, never in the trail", test_wrong_password},
    {"the domain enters the proof (Cyrus upper-cases it)",
     test_domain_in_proof},
    {"over STLS and implicit TLS; -PLUS offered after STLS", test_tls},
    {"non-base64 challenge: cancelled, 171", test_not_base64},
    {"CHALLENGE pointing past its end: cancelled, 171", test_hostile_challenge},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"auth-ntlm", NULL, NULL, cases},
    {NULL},
};

int main(void)
{
	const char *why = harness_cyrus_unavailable();

	if (why)
		return harness_cannot_run("auth-ntlm", why);
	if (harness_cyrus_start(&cyrus, "auth-ntlm", NULL))
		return 1;
	int rc = test_run(suites);
	if (harness_cyrus_stop(&cyrus))
		rc = 1;
	return rc;
}
