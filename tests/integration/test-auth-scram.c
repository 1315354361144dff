/* SCRAM-SHA-1 and SCRAM-SHA-256 against a private Dovecot (its harness
 * enables both, with {PLAIN} passwords): right and wrong passwords, on the
 * plain port ("n" in the GS2 header) and after STLS ("y": Dovecot 2.3 has
 * no -PLUS, so the client says it could bind), the server's signature
 * checked (sasl_finish: a login that succeeds proves it), the password
 * never in the trail nor anywhere in the exchange. Dovecot has no -PLUS:
 * the -PLUS plugins are refused before anything is sent. A scripted peer
 * plays what Dovecot never does: +OK without the server's proof, and a
 * server-first that does not carry the client's nonce. */
#include <stdbool.h>
#include <stdlib.h>

#include "common.h"
#include "scripted.h"

static struct recorder rec;
static struct scripted sc;

static void trust_test_ca(spop_t *s)
{
	char *path = harness_cert_file("ca.pem");
	char *ca = NULL;

	CU_ASSERT_FATAL(path && g_file_get_contents(path, &ca, NULL, NULL));
	char *setting = g_strconcat("SSLServerCACerts=", ca, NULL);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, setting));
	g_free(setting);
	g_free(ca);
	g_free(path);
}

static spop_t *scram_client(const char *mech, const char *password, int stls,
			    int unmasked)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, password, &rec);
	char cfg[64];

	snprintf(cfg, sizeof(cfg), "AuthMechanismName=%s", mech);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, cfg));
	if (unmasked)
		CU_ASSERT_PTR_NOT_NULL(spop_config(s, "MaskSensitive=False"));
	if (stls) {
		ASSERT_OK(spop_set_ssl_start_mode(s, SPOP_SSL_EXPLICIT));
		trust_test_ca(s);
	}
	return s;
}

/* A login with the right password. Masked: the trail shows AUTH and
 * asterisks. Unmasked: the exchange itself is checked (GS2 flag, channel
 * binding attribute, proof), and the password is in none of it. */
static void login(const char *mech, int stls, int unmasked)
{
	spop_t *s = scram_client(mech, HARNESS_MAIN_PASSWORD, stls, unmasked);
	char auth[64];

	ASSERT_OK(spop_connect(s));
	/* +OK came after the server's v= was checked: the login stands */
	CU_ASSERT_TRUE(spop_get_connected(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s),
			harness_message_count(&dovecot, HARNESS_MAIN_USER));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, HARNESS_MAIN_PASSWORD));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: USER"));
	snprintf(auth, sizeof(auth), "C: AUTH %s ", mech);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, auth));
	if (stls) {
		CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: STLS"));
		/* the -PLUS plugins choose their binding by this value's
		 * vocabulary ("TLS1.3" -> tls-exporter, "TLS1.2" ->
		 * tls-unique); Dovecot here negotiates TLS 1.3 */
		const char *v = spop_config(s, "SSLNegotiatedVersion");
		CU_ASSERT_STRING_EQUAL(v ? v : "", "TLS1.3");
	}
	if (!unmasked) {
		snprintf(auth, sizeof(auth), "C: AUTH %s ********\n", mech);
		CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, auth));
	} else {
		/* client-first, server-first, client-final, server-final,
		 * and the empty answer to it (RFC 5034) */
		char **x = trail_sasl_exchange(&rec, mech);
		const char *gs2 = stls ? "y,," : "n,,";
		char *want_first =
		    g_strdup_printf("%sn=%s,r=", gs2, HARNESS_MAIN_USER);

		CU_ASSERT_EQUAL_FATAL(g_strv_length(x), 5);
		CU_ASSERT_TRUE(g_str_has_prefix(x[0], want_first));
		CU_ASSERT_TRUE(g_str_has_prefix(x[1], "r="));
		/* our nonce, then Dovecot's */
		CU_ASSERT_TRUE(
		    g_str_has_prefix(x[1] + 2, x[0] + strlen(want_first)));
		/* c= is base64 of the GS2 header: biws "n,,", eSws "y,," */
		CU_ASSERT_TRUE(
		    g_str_has_prefix(x[2], stls ? "c=eSws,r=" : "c=biws,r="));
		CU_ASSERT_PTR_NOT_NULL(strstr(x[2], ",p="));
		CU_ASSERT_TRUE(g_str_has_prefix(x[3], "v="));
		CU_ASSERT_STRING_EQUAL(x[4], "");
		for (char **p = x; *p; p++)
			CU_ASSERT_PTR_NULL(strstr(*p, HARNESS_MAIN_PASSWORD));
		if (!g_str_has_prefix(x[0], want_first) ||
		    !g_str_has_prefix(x[3], "v="))
			fprintf(stderr, "\n  trail:\n%s", rec.trail->str);
		g_free(want_first);
		g_strfreev(x);
	}
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);
}

static void wrong_password(const char *mech, int stls)
{
	spop_t *s = scram_client(mech, "alice-wrong", stls, 0);

	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, "AUTH: the credentials were rejected");
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "alice-wrong"));
	spop_free(s);
}

static void test_sha1(void)
{
	login("SCRAM-SHA-1", 0, 0);
}

static void test_sha256(void)
{
	login("SCRAM-SHA-256", 0, 0);
}

static void test_sha1_exchange(void)
{
	login("SCRAM-SHA-1", 0, 1);
}

static void test_sha256_exchange(void)
{
	login("SCRAM-SHA-256", 0, 1);
}

static void test_stls_y_flag(void)
{
	login("SCRAM-SHA-256", 1, 1);
	login("SCRAM-SHA-1", 1, 1);
}

/* Authorizing as oneself (as test-auth.c does for PLAIN): a= in the GS2
 * header, which Dovecot accepts. */
static void test_authzid(void)
{
	spop_t *s = scram_client("SCRAM-SHA-256", HARNESS_MAIN_PASSWORD, 0, 1);

	CU_ASSERT_PTR_NOT_NULL(
	    spop_config(s, "AuthorizationIdentity=" HARNESS_MAIN_USER));
	ASSERT_OK(spop_connect(s));
	char **x = trail_sasl_exchange(&rec, "SCRAM-SHA-256");
	CU_ASSERT_TRUE(g_str_has_prefix(x[0] ? x[0] : "",
					"n,a=" HARNESS_MAIN_USER
					",n=" HARNESS_MAIN_USER ",r="));
	/* c= is base64 of "n,a=alice," */
	CU_ASSERT_TRUE(g_str_has_prefix(x[0] && x[1] && x[2] ? x[2] : "",
					"c=bixhPWFsaWNlLA==,r="));
	g_strfreev(x);
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);
}

/* AuthMechanismName=auto takes SCRAM-SHA-256 here: the strongest that
 * Dovecot offers and the client can run (no -PLUS, no ticket, no client
 * certificate). */
static void test_auto(void)
{
	spop_t *s = scram_client("auto", HARNESS_MAIN_PASSWORD, 0, 0);

	ASSERT_OK(spop_connect(s));
	CU_ASSERT_STRING_EQUAL(spop_config(s, "AuthMechanismUsed"),
			       "scram-sha-256");
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str, "C: AUTH SCRAM-SHA-256 ********\n"));
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);
}

static void test_wrong_password(void)
{
	wrong_password("SCRAM-SHA-1", 0);
	wrong_password("SCRAM-SHA-256", 0);
	wrong_password("SCRAM-SHA-256", 1);
}

/* Dovecot 2.3 offers no -PLUS: nothing is sent, on TLS or not. */
static void test_plus_not_offered(void)
{
	for (int stls = 0; stls < 2; stls++) {
		spop_t *s = scram_client("SCRAM-SHA-256-PLUS",
					 HARNESS_MAIN_PASSWORD, stls, 0);

		CU_ASSERT_EQUAL(spop_connect(s), 171);
		ERROR_HAS(s, "does not offer SASL mechanism "
			     "SCRAM-SHA-256-PLUS");
		CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: AUTH"));
		spop_free(s);
	}
}

#define GREETING "+OK ready <1.2@scripted>\r\n"
#define CAPA                                                                   \
	{STEP_SEND, GREETING, 0, 0}, {STEP_EXPECT_LINE, "CAPA", 0, 0},         \
	    {STEP_SEND, "+OK\r\nSASL SCRAM-SHA-1\r\nUSER\r\n.\r\n", 0, 0},     \
	{                                                                      \
		STEP_EXPECT, "AUTH SCRAM-SHA-1 ", 0, 0                         \
	}

static spop_t *scripted_scram(const struct step *script)
{
	spop_t *s = scripted_client(&sc, script, "bob", &rec);

	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "AuthMechanismName=SCRAM-SHA-1"));
	return s;
}

/* A server that lets the client in without proving it knows the password
 * is not kept (MUTUAL: 280, the connection dropped). */
static void test_ok_without_proof(void)
{
	static const struct step script[] = {
	    CAPA,
	    {STEP_SEND, "+OK logged in\r\n", 0, 0},
	    {STEP_EXPECT_EOF, NULL, 0, 0},
	    {STEP_END, NULL, 0, 0},
	};
	spop_t *s = scripted_scram(script);

	CU_ASSERT_EQUAL(spop_connect(s), 280);
	ERROR_HAS(s, "without proving");
	ERROR_HAS(s, "SCRAM-SHA-1");
	CU_ASSERT_FALSE(spop_get_connected(s));
	scripted_client_finish(s, &sc);
}

/* r= without the client's nonce: refused, the exchange cancelled with
 * "*" (RFC 5034), nothing derived or sent. */
static void test_foreign_nonce(void)
{
	static const struct step script[] = {
	    CAPA,
	    /* r=abcdef,s=c2FsdA==,i=4096 */
	    {STEP_SEND, "+ cj1hYmNkZWYscz1jMkZzZEE9PSxpPTQwOTY=\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "*", 0, 0},
	    {STEP_SEND, "-ERR cancelled\r\n", 0, 0},
	    {STEP_EXPECT_EOF, NULL, 0, 0},
	    {STEP_END, NULL, 0, 0},
	};
	spop_t *s = scripted_scram(script);

	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, "SCRAM-SHA-1 server-first message is malformed");
	ERROR_HAS(s, "does not start with the client's nonce");
	scripted_client_finish(s, &sc);
}

static const struct test_case cases[] = {
    {"SCRAM-SHA-1", test_sha1},
    {"SCRAM-SHA-256", test_sha256},
    {"SCRAM-SHA-1 exchange unmasked: n,, and no password", test_sha1_exchange},
    {"SCRAM-SHA-256 exchange unmasked: n,, and no password",
     test_sha256_exchange},
    {"SCRAM after STLS without -PLUS offered: y,,", test_stls_y_flag},
    {"SCRAM with AuthorizationIdentity: a= in the GS2 header", test_authzid},
    {"AuthMechanismName=auto takes SCRAM-SHA-256", test_auto},
    {"SCRAM wrong password", test_wrong_password},
    {"SCRAM-SHA-256-PLUS not offered by Dovecot 2.3", test_plus_not_offered},
    {"scripted: +OK without the server's proof", test_ok_without_proof},
    {"scripted: server-first without our nonce", test_foreign_nonce},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"auth-scram", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	/* TLS on the same instance, for STLS on its POP3 port */
	static const struct harness_tls tls = {.cert = "good"};
	const char *why = harness_dovecot_unavailable();

	if (why)
		return harness_cannot_run("auth-scram", why);
	if (harness_dovecot_start_tls(&dovecot, "auth-scram", &tls))
		return 1;
	int rc = test_run(suites);
	harness_dovecot_stop(&dovecot);
	return rc;
}
