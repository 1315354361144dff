/* The connection stack and the session machine against scripted peers:
 * STLS upgrades through an inserted layer (the xor fixture provider),
 * the STARTTLS-injection check, no fallback from Explicit TLS, implicit
 * TLS, the handshake under Timeout, and the SASL driver (multi-step,
 * mutual authentication, cancel, the 255-octet rule, masking) with the
 * X-TEST fixture mechanism. Scripted because these are what no real server
 * does on purpose; PLAIN and LOGIN run against Dovecot in test-auth.c. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "common.h"
#include "scripted.h"

static struct recorder rec;
static struct scripted sc;

#define GREETING "+OK ready <1.2@scripted>\r\n"
#define XOR_HANDSHAKE                                                          \
	{STEP_EXPECT_LINE, "XOR!", 0, 0}, {STEP_SEND, "XOR!\r\n", 0, 0},       \
	{                                                                      \
		STEP_XOR, NULL, 0, 0                                           \
	}
#define USER_LOGIN                                                             \
	{STEP_EXPECT_LINE, "USER bob", 0, 0}, {STEP_SEND, "+OK\r\n", 0, 0},    \
	    {STEP_EXPECT_LINE, "PASS pw", 0, 0}, {STEP_SEND, "+OK\r\n", 0, 0}, \
	    {STEP_EXPECT_LINE, "STAT", 0, 0},                                  \
	{                                                                      \
		STEP_SEND, "+OK 0 0\r\n", 0, 0                                 \
	}
#define QUIT                                                                   \
	{STEP_EXPECT_LINE, "QUIT", 0, 0}, {STEP_SEND, "+OK bye\r\n", 0, 0},    \
	{                                                                      \
		STEP_END, NULL, 0, 0                                           \
	}

static spop_t *client_for(const struct step *script, const char *user)
{
	char path[1024];
	spop_t *s = scripted_client(&sc, script, user, &rec);

	snprintf(path, sizeof(path), "PluginPath=%s", STACK_FIXTURE_DIR);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, path));
	return s;
}

static void finish(spop_t *s)
{
	scripted_client_finish(s, &sc);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* ---- TLS modes through the stack ---- */

static void test_stls_upgrade(void)
{
	static const struct step script[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nSTLS\r\nUSER\r\nSASL PLAIN\r\n.\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "STLS", 0, 0},
	    {STEP_SEND, "+OK begin\r\n", 0, 0},
	    XOR_HANDSHAKE,
	    /* capabilities are asked again under the new layer */
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nUSER\r\nX-AFTER\r\n.\r\n", 0, 0},
	    USER_LOGIN,
	    QUIT};
	spop_t *s = client_for(script, "bob");

	ASSERT_OK(spop_set_ssl_start_mode(s, SPOP_SSL_EXPLICIT));
	ASSERT_OK(spop_connect(s));
	/* the list before STLS is gone: it may have come from an attacker */
	CU_ASSERT_EQUAL(spop_get_capability_count(s), 2);
	CU_ASSERT_STRING_EQUAL(spop_get_capability(s, 1), "X-AFTER");
	CU_ASSERT_EQUAL(count(rec.trail->str, "C: CAPA\n"), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "xor handshake done"));
	CU_ASSERT_TRUE(spop_get_ssl_enabled(s));
	ASSERT_OK(spop_disconnect(s));
	finish(s);
}

static void test_stls_injection(void)
{
	/* the +OK and a forged reply arrive together, before the handshake */
	static const struct step script[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nSTLS\r\nUSER\r\n.\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "STLS", 0, 0},
	    {STEP_SEND, "+OK begin\r\n+OK 0 0\r\n", 0, 0},
	    {STEP_SLEEP, NULL, 300, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script, "bob");

	ASSERT_OK(spop_set_ssl_start_mode(s, SPOP_SSL_EXPLICIT));
	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, "STARTTLS injection");
	CU_ASSERT_FALSE(spop_get_connected(s));
	/* neither the handshake nor any credential went out */
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "xor handshake"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: USER"));
	finish(s);
}

static void test_explicit_never_falls_back(void)
{
	static const struct step no_stls[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nUSER\r\n.\r\n", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	static const struct step refused[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nSTLS\r\n.\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "STLS", 0, 0},
	    {STEP_SEND, "-ERR [SYS/TEMP] no TLS today\r\n", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	static const struct step no_capa[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "-ERR what\r\n", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	const struct step *scripts[] = {no_stls, refused, no_capa};
	const char *why[] = {"does not offer STLS", "no TLS today",
			     "did not answer CAPA"};

	for (int i = 0; i < 3; i++) {
		spop_t *s = client_for(scripts[i], "bob");

		ASSERT_OK(spop_set_ssl_start_mode(s, SPOP_SSL_EXPLICIT));
		CU_ASSERT_EQUAL(spop_connect(s), 171);
		ERROR_HAS(s, why[i]);
		CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: USER"));
		CU_ASSERT_FALSE(spop_get_connected(s));
		finish(s);
	}
}

static void test_implicit(void)
{
	static const struct step script[] = {XOR_HANDSHAKE,
					     {STEP_SEND, GREETING, 0, 0},
					     {STEP_EXPECT_LINE, "CAPA", 0, 0},
					     {STEP_SEND, "-ERR\r\n", 0, 0},
					     USER_LOGIN,
					     QUIT};
	spop_t *s = client_for(script, "bob");

	/* SSLEnabled picks Automatic: implicit on any port but 110 */
	ASSERT_OK(spop_set_ssl_enabled(s, 1));
	CU_ASSERT_EQUAL(spop_get_ssl_start_mode(s), SPOP_SSL_AUTOMATIC);
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLEnabled"), "True");
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "xor handshake done"));
	ASSERT_OK(spop_disconnect(s));
	ASSERT_OK(spop_set_ssl_enabled(s, 0));
	CU_ASSERT_EQUAL(spop_get_ssl_start_mode(s), SPOP_SSL_NONE);
	finish(s);
}

static void test_handshake_under_timeout(void)
{
	/* +OK to STLS, then silence: the handshake must not hang */
	static const struct step script[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nSTLS\r\n.\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "STLS", 0, 0},
	    {STEP_SEND, "+OK begin\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "XOR!", 0, 0},
	    {STEP_SLEEP, NULL, 2500, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script, "bob");

	spop_set_timeout(s, 1);
	ASSERT_OK(spop_set_ssl_start_mode(s, SPOP_SSL_EXPLICIT));
	CU_ASSERT_EQUAL(spop_connect(s), 301);
	ERROR_HAS(s, "within 1 seconds (Timeout)");
	CU_ASSERT_FALSE(spop_get_connected(s));
	finish(s);
}

static void test_plaintext_policy(void)
{
	static const struct step script[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nSASL PLAIN\r\n.\r\n", 0, 0},
	    {STEP_END, NULL, 0, 0}};

	for (int mech = 0; mech < 2; mech++) {
		spop_t *s = client_for(script, "bob");

		CU_ASSERT_PTR_NOT_NULL(
		    spop_config(s, "AllowPlaintextAuth=False"));
		ASSERT_OK(spop_set_auth_mechanism(
		    s, mech ? SPOP_AM_SASLPLAIN : SPOP_AM_USER_PASSWORD));
		CU_ASSERT_EQUAL(spop_connect(s), 1213);
		ERROR_HAS(s, "AllowPlaintextAuth is False");
		CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: USER"));
		CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: AUTH"));
		finish(s);
	}
}

/* ---- the SASL driver ---- */

#define SASL_CAPA                                                              \
	{STEP_SEND, GREETING, 0, 0}, {STEP_EXPECT_LINE, "CAPA", 0, 0},         \
	{                                                                      \
		STEP_SEND, "+OK\r\nSASL PLAIN X-TEST\r\n.\r\n", 0, 0           \
	}

static spop_t *sasl_client(const struct step *script, const char *user)
{
	spop_t *s = client_for(script, user);

	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "AuthMechanismName=xsasl"));
	return s;
}

static void test_sasl_mutual_ok(void)
{
	static const struct step script[] = {
	    SASL_CAPA,
	    /* "hello", "c1" -> "r1", "proof-ok" -> empty */
	    {STEP_EXPECT_LINE, "AUTH X-TEST aGVsbG8=", 0, 0},
	    {STEP_SEND, "+ YzE=\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "cjE=", 0, 0},
	    {STEP_SEND, "+ cHJvb2Ytb2s=\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "", 0, 0},
	    {STEP_SEND, "+OK welcome\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "STAT", 0, 0},
	    {STEP_SEND, "+OK 0 0\r\n", 0, 0},
	    QUIT};
	spop_t *s = sasl_client(script, "bob");

	ASSERT_OK(spop_connect(s));
	/* every response is masked, the mechanism name is not */
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: AUTH X-TEST ****"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "cjE="));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "aGVsbG8="));
	ASSERT_OK(spop_disconnect(s));
	finish(s);
}

static void test_sasl_server_skips_proof(void)
{
	static const struct step script[] = {
	    SASL_CAPA,
	    {STEP_EXPECT_LINE, "AUTH X-TEST aGVsbG8=", 0, 0},
	    {STEP_SEND, "+ YzE=\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "cjE=", 0, 0},
	    {STEP_SEND, "+OK come in\r\n", 0, 0},
	    {STEP_SLEEP, NULL, 200, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = sasl_client(script, "bob");

	CU_ASSERT_EQUAL(spop_connect(s), 280);
	ERROR_HAS(s, "did not prove itself");
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: STAT"));
	finish(s);
}

static void test_sasl_cancel(void)
{
	static const struct step refused[] = {
	    SASL_CAPA,
	    {STEP_EXPECT_LINE, "AUTH X-TEST aGVsbG8=", 0, 0},
	    {STEP_SEND, "+ YmFk\r\n", 0, 0}, /* "bad" */
	    {STEP_EXPECT_LINE, "*", 0, 0},
	    {STEP_SEND, "-ERR cancelled\r\n", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	static const struct step malformed[] = {
	    SASL_CAPA,
	    {STEP_EXPECT_LINE, "AUTH X-TEST aGVsbG8=", 0, 0},
	    {STEP_SEND, "+ !!not-base64\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "*", 0, 0},
	    {STEP_SEND, "-ERR cancelled\r\n", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = sasl_client(refused, "bob");

	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, "X-TEST refuses challenge 'bad'");
	finish(s);
	s = sasl_client(malformed, "bob");
	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, "not base64");
	finish(s);
}

static void test_sasl_long_initial_response(void)
{
	/* 300 bytes encode to 400: too long for one AUTH line (RFC 5034) */
	char ir[401];
	char *b64;
	GString *big = g_string_new(NULL);

	for (int i = 0; i < 300; i++)
		g_string_append_c(big, 'L');
	b64 = g_base64_encode((guchar *)big->str, big->len);
	g_strlcpy(ir, b64, sizeof(ir));
	const struct step script[] = {SASL_CAPA,
				      {STEP_EXPECT_LINE, "AUTH X-TEST", 0, 0},
				      {STEP_SEND, "+ \r\n", 0, 0},
				      {STEP_EXPECT_LINE, ir, 0, 0},
				      {STEP_SEND, "+ cHJvb2Ytb2s=\r\n", 0, 0},
				      {STEP_EXPECT_LINE, "", 0, 0},
				      {STEP_SEND, "+OK\r\n", 0, 0},
				      {STEP_EXPECT_LINE, "STAT", 0, 0},
				      {STEP_SEND, "+OK 0 0\r\n", 0, 0},
				      QUIT};
	spop_t *s = sasl_client(script, "longuser");

	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_disconnect(s));
	finish(s);
	g_free(b64);
	g_string_free(big, TRUE);
}

static void test_sasl_not_offered(void)
{
	static const struct step script[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nSASL X-TESTING PLAIN\r\n.\r\n", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = sasl_client(script, "bob");

	/* exact token match: X-TESTING is not X-TEST */
	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, "does not offer SASL mechanism X-TEST");
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: AUTH"));
	finish(s);
}

/* ---- typed replies ---- */

static void test_stray_continuation(void)
{
	static const struct step script[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "-ERR\r\n", 0, 0},
	    USER_LOGIN,
	    {STEP_EXPECT_LINE, "DELE 1", 0, 0},
	    {STEP_SEND, "+ not really\r\n", 0, 0},
	    {STEP_SLEEP, NULL, 200, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script, "bob");

	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_delete(s), 171);
	ERROR_HAS(s, "Unexpected continuation");
	ERROR_HAS(s, "DELE");
	/* the reply stream cannot be trusted after it */
	CU_ASSERT_FALSE(spop_get_connected(s));
	finish(s);
}

static void test_response_codes(void)
{
	static const struct step script[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nRESP-CODES\r\n.\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "USER bob", 0, 0},
	    {STEP_SEND, "+OK\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "PASS pw", 0, 0},
	    {STEP_SEND, "-ERR [IN-USE] locked by another session\r\n", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script, "bob");

	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, "-ERR [IN-USE] locked by another session");
	ERROR_HAS(s, "IN-USE: the mailbox is locked by another session");
	finish(s);
}

/* RFC 1939: UIDL and TOP are optional; without them the methods that
 * need them say so, and the rest of the session goes on. */
static void test_optional_commands(void)
{
	static const struct step script[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nUSER\r\n.\r\n", 0, 0},
	    USER_LOGIN,
	    {STEP_EXPECT_LINE, "LIST", 0, 0},
	    {STEP_SEND, "+OK\r\n.\r\n", 0, 0},
	    QUIT};
	spop_t *s = client_for(script, "bob");

	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_list_message_uids(s), 171);
	ERROR_HAS(s, "ListMessageUIDs needs the optional POP3 command UIDL");
	CU_ASSERT_EQUAL(spop_retrieve_headers(s), 171);
	ERROR_HAS(s, "RetrieveHeaders needs the optional POP3 command TOP");
	CU_ASSERT_TRUE(spop_get_connected(s));
	ASSERT_OK(spop_list_message_sizes(s));
	ASSERT_OK(spop_disconnect(s));
	finish(s);
}

struct status_seen {
	int code;
	char description[256];
	int free_rc;
};

static void on_status(spop_t *s, const struct spop_connection_status_event *e,
		      void *ud)
{
	struct status_seen *st = ud;

	if (strcmp(e->connection_event, "Remote host disconnected"))
		return;
	st->code = e->status_code;
	g_strlcpy(st->description, e->description, sizeof(st->description));
	/* freeing the object from inside its own event is refused */
	spop_free(s);
	st->free_rc = spop_last_error_code(s);
}

static void test_status_and_free_in_event(void)
{
	static const struct step script[] = {
	    {STEP_SEND, GREETING, 0, 0},      {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "-ERR\r\n", 0, 0},    USER_LOGIN,
	    {STEP_EXPECT_LINE, "LIST", 0, 0}, {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script, "bob");
	struct status_seen st = {0};

	spop_on_connection_status(s, on_status, &st);
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_list_message_sizes(s), 1120);
	/* the event says why the connection ended, not "OK" */
	CU_ASSERT_EQUAL(st.code, 1120);
	CU_ASSERT_PTR_NOT_NULL(strstr(st.description, "closed the connection"));
	CU_ASSERT_EQUAL(st.free_rc, 174);
	/* the object survived its refused free */
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_on_connection_status(s, NULL, NULL);
	finish(s);
}

static void test_query_when_not_connected(void)
{
	spop_t *s = spop_new();

	/* the reference: 0 and "" without an error */
	CU_ASSERT_EQUAL(spop_query_message_size(s), 0);
	CU_ASSERT_STRING_EQUAL(spop_query_message_uid(s), "");
	CU_ASSERT_EQUAL(spop_query_total_size(s), 0);
	CU_ASSERT_EQUAL(spop_get_message_size(s), 0);
	CU_ASSERT_EQUAL(spop_last_error_code(s), 0);
	spop_free(s);
}

static void test_channel_binding(void)
{
	/* implicit xor layer; the mechanism binds to it: "cb=XOR" */
	static const struct step script[] = {
	    XOR_HANDSHAKE,
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nSASL X-TEST\r\n.\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "AUTH X-TEST Y2I9WE9S", 0, 0},
	    {STEP_SEND, "+ cHJvb2Ytb2s=\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "", 0, 0},
	    {STEP_SEND, "+OK\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "STAT", 0, 0},
	    {STEP_SEND, "+OK 0 0\r\n", 0, 0},
	    QUIT};
	static const struct step plain[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nSASL X-TEST\r\n.\r\n", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = sasl_client(script, "cbuser");

	ASSERT_OK(spop_set_ssl_start_mode(s, SPOP_SSL_IMPLICIT));
	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_disconnect(s));
	finish(s);
	/* without TLS there is nothing to bind to, and nothing is sent */
	s = sasl_client(plain, "cbuser");
	CU_ASSERT_EQUAL(spop_connect(s), 1212);
	ERROR_HAS(s, "needs TLS");
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: AUTH"));
	finish(s);
}

static void test_bad_handshake(void)
{
	static const struct step script[] = {{STEP_EXPECT_LINE, "XOR!", 0, 0},
					     {STEP_SEND, "NOPE\r\n", 0, 0},
					     {STEP_SLEEP, NULL, 200, 0},
					     {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script, "bob");

	ASSERT_OK(spop_set_ssl_start_mode(s, SPOP_SSL_IMPLICIT));
	CU_ASSERT_EQUAL(spop_connect(s), 276);
	ERROR_HAS(s, "bad handshake answer");
	CU_ASSERT_FALSE(spop_get_connected(s));
	finish(s);
}

static void test_no_provider(void)
{
	spop_t *s = spop_new();
	int statuses = rec.statuses;

	/* a search path with the build's plugins but its TLS providers
	 * (links to the others): the choice fails before any connection */
	char *empty = g_dir_make_tmp("spop-notls-XXXXXX", NULL);
	char *saved = g_strdup(g_getenv("SPOP_PLUGIN_PATH"));
	static const char *const keep[] = {
	    "spop-auth-user.so", "spop-auth-user.plugin",
	    "spop-transport-direct.so", "spop-transport-direct.plugin"};
	for (size_t i = 0; saved && i < G_N_ELEMENTS(keep); i++) {
		char *from = g_build_filename(saved, keep[i], NULL);
		char *to = g_build_filename(empty, keep[i], NULL);
		CU_ASSERT_EQUAL(symlink(from, to), 0);
		g_free(from);
		g_free(to);
	}
	g_setenv("SPOP_PLUGIN_PATH", empty, TRUE);
	spop_set_mail_server(s, "127.0.0.1");
	spop_set_mail_port(s, 995);
	ASSERT_OK(spop_set_ssl_start_mode(s, SPOP_SSL_IMPLICIT));
	CU_ASSERT_EQUAL(spop_connect(s), 1201);
	ERROR_HAS(s, "No tls plugin serves SSLProvider=0");
	CU_ASSERT_EQUAL(rec.statuses, statuses);
	spop_free(s);
	if (saved)
		g_setenv("SPOP_PLUGIN_PATH", saved, TRUE);
	else
		g_unsetenv("SPOP_PLUGIN_PATH");
	for (size_t i = 0; i < G_N_ELEMENTS(keep); i++) {
		char *to = g_build_filename(empty, keep[i], NULL);
		g_unlink(to);
		g_free(to);
	}
	g_rmdir(empty);
	g_free(saved);
	g_free(empty);
}

/* "*host" asks a proxy to resolve the name; for a transport that cannot
 * (direct), the core passes the plain name: plugins declare, the core
 * decides. */
static void test_star_host_direct(void)
{
	static const struct step script[] = {{STEP_SEND, GREETING, 0, 0},
					     {STEP_EXPECT_LINE, "CAPA", 0, 0},
					     {STEP_SEND, "-ERR\r\n", 0, 0},
					     USER_LOGIN,
					     QUIT};
	spop_t *s = client_for(script, "bob");

	ASSERT_OK(spop_set_mail_server(s, "*127.0.0.1"));
	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_disconnect(s));
	finish(s);
}

static const struct test_case cases[] = {
    {"*host through the direct transport", test_star_host_direct},
    {"channel binding through the host", test_channel_binding},
    {"failed handshake", test_bad_handshake},
    {"TLS asked for, no provider: fails before connecting", test_no_provider},
    {"ConnectionStatus carries the error; spop_free in an event",
     test_status_and_free_in_event},
    {"Query* when not connected", test_query_when_not_connected},
    {"STLS upgrades the stack; CAPA again", test_stls_upgrade},
    {"bytes before the handshake refused", test_stls_injection},
    {"Explicit never falls back to plaintext", test_explicit_never_falls_back},
    {"implicit TLS through SSLEnabled", test_implicit},
    {"handshake bounded by Timeout", test_handshake_under_timeout},
    {"AllowPlaintextAuth=False", test_plaintext_policy},
    {"SASL multi-step with mutual authentication", test_sasl_mutual_ok},
    {"SASL server skips its proof", test_sasl_server_skips_proof},
    {"SASL cancel with *", test_sasl_cancel},
    {"SASL initial response over 255 octets", test_sasl_long_initial_response},
    {"SASL mechanism not offered", test_sasl_not_offered},
    {"continuation outside SASL", test_stray_continuation},
    {"response codes named", test_response_codes},
    {"UIDL and TOP missing", test_optional_commands},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"stack", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return test_run(suites);
}
