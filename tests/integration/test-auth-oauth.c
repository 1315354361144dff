/* DIGEST-MD5, XOAUTH2 and OAUTHBEARER against a private Dovecot, right and
 * wrong credentials for each. DIGEST-MD5 checks the passwd-file password
 * (and Dovecot's rspauth, or the login fails); the OAuth mechanisms go
 * through Dovecot's oauth2 passdb, pointed (HARNESS_OAUTH2_URL) at
 * oauth2-endpoint.py, a token-introspection endpoint this suite runs on
 * 127.0.0.1 that knows one token, the main user's. A refused token brings
 * the server's error JSON into the error text; no secret ever reaches the
 * trail. Without python3 the suite fails, never skips. */
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "common.h"
#include "scripted.h"

#ifndef ENDPOINT_SCRIPT
#error "ENDPOINT_SCRIPT must name tests/harness/oauth2-endpoint.py"
#endif

/* The one token the endpoint knows, for HARNESS_MAIN_USER. */
#define GOOD_TOKEN  "spop-test.token-for_alice~1"
#define WRONG_TOKEN "spop-test.unknown-token"

static struct recorder rec;
static char *endpoint_log; /* one line per introspection request */

static void trail_is_clean(const char *secret)
{
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, secret));
	if (strstr(rec.trail->str, secret))
		fprintf(stderr, "\nsecret in the trail:\n%s\n", rec.trail->str);
}

/* The endpoint's log lines since the last call. */
static char *endpoint_news(void)
{
	static size_t seen;
	char *all = NULL;
	gsize len = 0;

	if (!g_file_get_contents(endpoint_log, &all, &len, NULL))
		return g_strdup("");
	char *news = g_strdup(seen <= len ? all + seen : "");
	seen = len;
	g_free(all);
	return news;
}

/* ---- DIGEST-MD5 ---- */

static void test_digest_md5(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);

	ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_SASLDIGEST_MD5));
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s),
			harness_message_count(&dovecot, HARNESS_MAIN_USER));
	/* no initial response; the server's rspauth was answered with an
	 * empty line before +OK (the login fails without a valid one) */
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: AUTH DIGEST-MD5\n"));
	const char *rsp = strstr(rec.trail->str, "S: + cnNwYXV0aD");
	CU_ASSERT_PTR_NOT_NULL(rsp);
	if (rsp)
		CU_ASSERT_PTR_NOT_NULL(strstr(rsp, "\nC: \nS: +OK"));
	trail_is_clean(HARNESS_MAIN_PASSWORD);
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);
}

static void test_digest_md5_authzid(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);

	/* authorizing as oneself: the authzid enters the hash (A1) */
	ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_SASLDIGEST_MD5));
	CU_ASSERT_PTR_NOT_NULL(
	    spop_config(s, "AuthorizationIdentity=" HARNESS_MAIN_USER));
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s),
			harness_message_count(&dovecot, HARNESS_MAIN_USER));
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);
}

static void test_digest_md5_wrong_password(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, "wrong-secret", &rec);

	ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_SASLDIGEST_MD5));
	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, "AUTH: the credentials were rejected");
	CU_ASSERT_FALSE(spop_get_connected(s));
	trail_is_clean("wrong-secret");
	spop_free(s);
}

/* DIGEST-MD5 against a scripted server that does what Dovecot never
 * does: let the client in without proving itself, prove itself wrongly,
 * or send a malformed challenge. Each fails the login, the connection
 * is dropped, and no command follows. */
static struct scripted sc;

/* The client answers the challenge; when second is set, the server sends
 * it (base64) and the client must answer with the line after_second;
 * then the server says final and the client must close. */
static void scripted_digest(const char *second, const char *after_second,
			    const char *final, int code, const char *error)
{
	static const char first[] = "realm=\"x\",nonce=\"abc\",qop=\"auth\","
				    "algorithm=md5-sess,charset=utf-8";
	char *b64 = g_base64_encode((const guchar *)first, strlen(first));
	char *line1 = g_strdup_printf("+ %s\r\n", b64);
	char *line2 = NULL;
	struct step script[16] = {
	    {STEP_SEND, "+OK scripted\r\n", 0, 0},
	    {STEP_EXPECT, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nSASL DIGEST-MD5\r\n.\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "AUTH DIGEST-MD5", 0, 0},
	    {STEP_SEND, line1, 0, 0},
	    {STEP_EXPECT, "", 0, 0}, /* the client's response */
	};
	int n = 6;

	if (second) {
		char *b =
		    g_base64_encode((const guchar *)second, strlen(second));
		line2 = g_strdup_printf("+ %s\r\n", b);
		g_free(b);
		script[n++] = (struct step){STEP_SEND, line2, 0, 0};
		script[n++] =
		    (struct step){STEP_EXPECT_LINE, after_second, 0, 0};
	}
	script[n++] = (struct step){STEP_SEND, final, 0, 0};
	script[n++] = (struct step){STEP_EXPECT_EOF, NULL, 0, 0};
	script[n++] = (struct step){STEP_END, NULL, 0, 0};

	spop_t *s = scripted_client(&sc, script, "bob", &rec);
	ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_SASLDIGEST_MD5));
	CU_ASSERT_EQUAL(spop_connect(s), code);
	ERROR_HAS(s, error);
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: STAT"));
	scripted_client_finish(s, &sc);
	g_free(b64);
	g_free(line1);
	g_free(line2);
}

static void test_digest_md5_no_proof(void)
{
	/* +OK right after the client's response: no rspauth */
	scripted_digest(NULL, NULL, "+OK\r\n", SPOP_ERR_CERT_VERIFY,
			"without sending its rspauth");
}

static void test_digest_md5_wrong_proof(void)
{
	/* the client cancels with "*" rather than answer */
	scripted_digest("rspauth=00000000000000000000000000000000", "*",
			"-ERR cancelled\r\n", SPOP_ERR_CERT_VERIFY,
			"rspauth is wrong");
}

static void test_digest_md5_malformed_proof(void)
{
	scripted_digest("rspauth=\"abc", "*", "-ERR cancelled\r\n",
			SPOP_ERR_PROTOCOL,
			"rspauth challenge has a quoted value of 'rspauth' "
			"that is not terminated");
}

static void test_digest_md5_malformed_challenge(void)
{
	static const char dup[] = "nonce=\"a\",nonce=\"b\",algorithm=md5-sess";
	char *b64 = g_base64_encode((const guchar *)dup, strlen(dup));
	char *line = g_strdup_printf("+ %s\r\n", b64);
	const struct step script[] = {
	    {STEP_SEND, "+OK scripted\r\n", 0, 0},
	    {STEP_EXPECT, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nSASL DIGEST-MD5\r\n.\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "AUTH DIGEST-MD5", 0, 0},
	    {STEP_SEND, line, 0, 0},
	    {STEP_EXPECT_LINE, "*", 0, 0},
	    {STEP_SEND, "-ERR cancelled\r\n", 0, 0},
	    {STEP_EXPECT_EOF, NULL, 0, 0},
	    {STEP_END, NULL, 0, 0},
	};
	spop_t *s = scripted_client(&sc, script, "bob", &rec);

	ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_SASLDIGEST_MD5));
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_PROTOCOL);
	ERROR_HAS(s, "DIGEST-MD5 challenge has directive 'nonce' twice");
	CU_ASSERT_FALSE(spop_get_connected(s));
	scripted_client_finish(s, &sc);
	g_free(b64);
	g_free(line);
}

/* ---- XOAUTH2 ---- */

static void test_xoauth2(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, GOOD_TOKEN, &rec);
	char *news = endpoint_news();

	g_free(news);
	ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_XOAUTH2));
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s),
			harness_message_count(&dovecot, HARNESS_MAIN_USER));
	/* two steps: AUTH without the token, the token after "+" */
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str, "C: AUTH XOAUTH2\nS: + \nC: ********\n"));
	trail_is_clean(GOOD_TOKEN);
	/* Dovecot asked the endpoint, which knew the token */
	news = endpoint_news();
	CU_ASSERT_STRING_EQUAL(news, "active " HARNESS_MAIN_USER "\n");
	g_free(news);
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);
}

static void test_xoauth2_wrong_token(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, WRONG_TOKEN, &rec);
	char *news = endpoint_news();

	g_free(news);
	ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_XOAUTH2));
	CU_ASSERT_EQUAL(spop_connect(s), 171);
	CU_ASSERT_FALSE(spop_get_connected(s));
	/* the server's error JSON reaches the application... */
	ERROR_HAS(s, "\"status\":\"401\"");
	ERROR_HAS(s, "(the server's XOAUTH2 error: {");
	/* ...and the trail, as the plugin read it */
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str,
				      "I: XOAUTH2 refused the token: "
				      "{\"status\":\"401\""));
	trail_is_clean(WRONG_TOKEN);
	CU_ASSERT_PTR_NULL(strstr(spop_last_error(s), WRONG_TOKEN));
	news = endpoint_news();
	CU_ASSERT_STRING_EQUAL(news, "inactive\n");
	g_free(news);
	spop_free(s);
}

/* A bearer token is a reusable secret: the core's policy holds it back. */
static void test_xoauth2_policy(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, GOOD_TOKEN, &rec);

	ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_XOAUTH2));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "AllowPlaintextAuth=False"));
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_POLICY);
	ERROR_HAS(s, "AllowPlaintextAuth");
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: AUTH"));
	spop_free(s);
}

/* ---- OAUTHBEARER ---- */

static void test_oauthbearer(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, GOOD_TOKEN, &rec);
	char *news = endpoint_news();

	g_free(news);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "AuthMechanismName=oauthbearer"));
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s),
			harness_message_count(&dovecot, HARNESS_MAIN_USER));
	/* one step: the message is the initial response, masked */
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str, "C: AUTH OAUTHBEARER ********\nS: +OK"));
	trail_is_clean(GOOD_TOKEN);
	news = endpoint_news();
	CU_ASSERT_STRING_EQUAL(news, "active " HARNESS_MAIN_USER "\n");
	g_free(news);
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);
}

static void test_oauthbearer_wrong_token(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, WRONG_TOKEN, &rec);
	char *news = endpoint_news();

	g_free(news);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "AuthMechanismName=OAUTHBEARER"));
	CU_ASSERT_EQUAL(spop_connect(s), 171);
	CU_ASSERT_FALSE(spop_get_connected(s));
	ERROR_HAS(s, "\"status\":\"invalid_token\"");
	ERROR_HAS(s, "(the server's OAUTHBEARER error: {");
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str,
				      "I: OAUTHBEARER refused the token: "
				      "{\"status\":\"invalid_token\""));
	/* the error was answered (with ^A, RFC 7628 3.2.3), then -ERR */
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str, "\nC: ********\nS: -ERR"));
	trail_is_clean(WRONG_TOKEN);
	CU_ASSERT_PTR_NULL(strstr(spop_last_error(s), WRONG_TOKEN));
	news = endpoint_news();
	CU_ASSERT_STRING_EQUAL(news, "inactive\n");
	g_free(news);
	spop_free(s);
}

static const struct test_case cases[] = {
    {"DIGEST-MD5, rspauth checked", test_digest_md5},
    {"DIGEST-MD5 with AuthorizationIdentity", test_digest_md5_authzid},
    {"DIGEST-MD5 wrong password", test_digest_md5_wrong_password},
    {"DIGEST-MD5: a server that skips its proof", test_digest_md5_no_proof},
    {"DIGEST-MD5: a server whose proof is wrong", test_digest_md5_wrong_proof},
    {"DIGEST-MD5: a malformed proof", test_digest_md5_malformed_proof},
    {"DIGEST-MD5: a malformed challenge, cancelled",
     test_digest_md5_malformed_challenge},
    {"XOAUTH2 through the oauth2 passdb", test_xoauth2},
    {"XOAUTH2 wrong token: the server's JSON in the error",
     test_xoauth2_wrong_token},
    {"XOAUTH2 held back by AllowPlaintextAuth=False", test_xoauth2_policy},
    {"OAUTHBEARER through the oauth2 passdb", test_oauthbearer},
    {"OAUTHBEARER wrong token: the server's JSON in the error",
     test_oauthbearer_wrong_token},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"auth-oauth", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

/* Starts oauth2-endpoint.py; its port once it listens, or -1. */
static int start_endpoint(const char *dir, GPid *pid)
{
	char *port_file = g_build_filename(dir, "port", NULL);
	char *python = g_find_program_in_path("python3");
	GError *err = NULL;
	int port = -1;

	endpoint_log = g_build_filename(dir, "requests.log", NULL);
	if (!python) {
		fprintf(stderr, "FAIL: python3 is needed for the token "
				"endpoint (oauth2-endpoint.py)\n");
		g_free(port_file);
		return -1;
	}
	const char *argv[] = {python,
			      ENDPOINT_SCRIPT,
			      port_file,
			      endpoint_log,
			      GOOD_TOKEN "=" HARNESS_MAIN_USER,
			      NULL};
	if (!g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
			   NULL, NULL, pid, &err)) {
		fprintf(stderr, "FAIL: cannot run %s: %s\n", ENDPOINT_SCRIPT,
			err->message);
		g_error_free(err);
		*pid = 0;
	}
	/* The port file appears once the socket listens. */
	for (int waited = 0; *pid && port < 0 && waited < 100; waited++) {
		char *text = NULL;

		if (g_file_get_contents(port_file, &text, NULL, NULL))
			port = atoi(text);
		else if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			fprintf(stderr, "FAIL: %s exited at start\n",
				ENDPOINT_SCRIPT);
			*pid = 0;
		} else
			g_usleep(100000);
		g_free(text);
	}
	if (*pid && port <= 0)
		fprintf(stderr, "FAIL: %s did not listen within 10 s\n",
			ENDPOINT_SCRIPT);
	g_free(port_file);
	g_free(python);
	return port;
}

static void stop_endpoint(GPid pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

int main(void)
{
	char *dir = g_dir_make_tmp("spop-oauth2-XXXXXX", NULL);
	GPid pid = 0;
	int rc = 1;

	if (!dir) {
		fprintf(stderr, "FAIL: no temporary directory\n");
		return 1;
	}
	int port = start_endpoint(dir, &pid);
	if (port > 0) {
		char *url =
		    g_strdup_printf("http://127.0.0.1:%d/introspect", port);

		/* dovecot-harness.sh adds the oauth2 passdb for it */
		g_setenv("HARNESS_OAUTH2_URL", url, TRUE);
		g_free(url);
		rc = integration_main("auth-oauth", suites);
	}
	stop_endpoint(pid);
	if (rec.trail) {
		g_string_free(rec.trail, TRUE);
		g_ptr_array_free(rec.headers, TRUE);
		g_string_free(rec.statuses_seen, TRUE);
		g_ptr_array_free(rec.listed, TRUE);
	}
	char *files[] = {"port", "requests.log", NULL};
	for (char **f = files; *f; f++) {
		char *path = g_build_filename(dir, *f, NULL);
		g_remove(path);
		g_free(path);
	}
	g_rmdir(dir);
	g_free(dir);
	g_free(endpoint_log);
	return rc;
}
