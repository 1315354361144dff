/* Known-answer test of the "digest-md5" auth plugin, chosen by
 * AuthMechanism 5 through the registry and driven through the core's own
 * host: RFC 2831 section 4's IMAP example byte for byte (response and
 * rspauth), with the client nonce fixed through host.pub.random; the
 * choices RFC 2831 leaves to the client (realm, charset, authzid, the
 * digest-uri service) against an independent computation with GLib's
 * MD5; and the refusals: every malformed challenge is a clean
 * SPOP_ERR_PROTOCOL naming what was wrong, a wrong rspauth or none is
 * SPOP_ERR_CERT_VERIFY. The exchange against Dovecot is in
 * tests/integration/test-auth-oauth.c. */
#include "test-runner.h"

#include <string.h>

#include "spop-private.h"

#include "fixture-setup.h"

static struct spi_host host;
static const struct spop_plugin_descriptor *desc;
static const struct spop_auth_ops *ops;

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The bytes host.pub.random hands out next, and a failure to report. */
static unsigned char random_bytes[64];
static int random_fail;

static int fixed_random(struct spop_host *h, void *buf, size_t len)
{
	if (random_fail)
		return h->set_error(h, SPOP_ERR_CREDENTIALS, "no randomness");
	CU_ASSERT_FATAL(len <= sizeof(random_bytes));
	memcpy(buf, random_bytes, len);
	return 0;
}

/* Random bytes that make the plugin's cnonce read cnonce: each
 * character's alphabet index, with the two high bits (which the plugin
 * drops) set differently from byte to byte. */
static void random_for_cnonce(const char *cnonce)
{
	size_t n = strlen(cnonce);

	CU_ASSERT_FATAL(n <= sizeof(random_bytes));
	for (size_t i = 0; i < n; i++) {
		const char *at = strchr(alphabet, cnonce[i]);

		CU_ASSERT_FATAL(at != NULL);
		random_bytes[i] =
		    (unsigned char)((at - alphabet) | (i % 4) << 6);
	}
}

static int suite_init(void)
{
	if (setup())
		return 1;
	if (spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism",
			      SPOP_AM_SASLDIGEST_MD5, &desc) ||
	    !desc) {
		fprintf(stderr, "no digest-md5 plugin: %s\n", error_text());
		return 1;
	}
	ops = desc->ops;
	spi_host_init(&host, s, NULL);
	host.pub.random = fixed_random;
	return 0;
}

/* Credentials and server of RFC 2831 section 4, the default service. */
static void rfc_settings(void)
{
	spop_set_user(s, "chris");
	spop_set_password(s, "secret");
	spop_set_mail_server(s, "elwood.innosoft.com");
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "AuthorizationIdentity="));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "DigestMD5Service=pop"));
	random_for_cnonce("OA6MHXh6VqTrRk");
	random_fail = 0;
}

/* start (no initial response) and the first challenge. The answer, as a
 * string, in *response (NULL on error); the state stays for more. */
static int first(const char *challenge, size_t len, void **state,
		 char **response)
{
	unsigned char *out = NULL;
	size_t out_len = 0;
	int rc = ops->sasl_start(&host.pub, state, &out, &out_len);

	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NULL(out);
	*response = NULL;
	rc = ops->sasl_step(&host.pub, *state, (const unsigned char *)challenge,
			    len, &out, &out_len);
	if (!rc) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(out);
		*response = g_strndup((const char *)out, out_len);
		CU_ASSERT_EQUAL(strlen(*response), out_len);
		g_free(out);
	} else {
		CU_ASSERT_PTR_NULL(out);
	}
	return rc;
}

/* One challenge to the end: the step's code. */
static int answer_only(const char *challenge)
{
	void *state = NULL;
	char *response;
	int rc = first(challenge, strlen(challenge), &state, &response);

	g_free(response);
	ops->sasl_done(&host.pub, state);
	return rc;
}

static int step(void *state, const char *challenge)
{
	unsigned char *out = NULL;
	size_t out_len = 99;
	int rc =
	    ops->sasl_step(&host.pub, state, (const unsigned char *)challenge,
			   strlen(challenge), &out, &out_len);

	if (!rc) {
		/* the answer to rspauth is empty, and not NULL */
		CU_ASSERT_PTR_NOT_NULL(out);
		CU_ASSERT_EQUAL(out_len, 0);
	} else {
		CU_ASSERT_PTR_NULL(out);
	}
	g_free(out);
	return rc;
}

static const char rfc_challenge[] =
    "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\","
    "algorithm=md5-sess,charset=utf-8";

static void test_rfc2831(void)
{
	void *state = NULL;
	char *response;

	CU_ASSERT_STRING_EQUAL(ops->sasl_name, "DIGEST-MD5");
	CU_ASSERT_EQUAL(desc->capabilities,
			SPOP_CAP_AUTH_SASL | SPOP_CAP_AUTH_MUTUAL);
	rfc_settings();
	/* RFC 2831's example is IMAP: the service is a setting */
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "DigestMD5Service=imap"));
	CU_ASSERT_EQUAL(
	    first(rfc_challenge, strlen(rfc_challenge), &state, &response), 0);
	CU_ASSERT_STRING_EQUAL(
	    response,
	    "charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\","
	    "nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\","
	    "digest-uri=\"imap/elwood.innosoft.com\","
	    "response=d388dad90d4bbd760a152321f2143af7,qop=auth");
	/* the server's proof, checked; answered with an empty response */
	CU_ASSERT_EQUAL(step(state, "rspauth=ea40f60335c427b5527b84dbabcdfffd"),
			0);
	CU_ASSERT_EQUAL(ops->sasl_finish(&host.pub, state), 0);
	/* nothing comes after the proof */
	CU_ASSERT_EQUAL(step(state, "rspauth=ea40f60335c427b5527b84dbabcdfffd"),
			SPOP_ERR_PROTOCOL);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "third DIGEST-MD5", NULL));
	ops->sasl_done(&host.pub, state);
	g_free(response);
}

/* ---- an independent computation (GLib's MD5) of RFC 2831 2.1.2.1 ---- */

static void md5_into(GChecksum *c, guint8 *digest)
{
	gsize n = 16;

	g_checksum_get_digest(c, digest, &n);
	g_checksum_free(c);
}

static char *md5_hex(const char *text)
{
	return g_compute_checksum_for_string(G_CHECKSUM_MD5, text, -1);
}

/* response (or, with rsp, rspauth) for hashed forms of user, realm and
 * password, authzid "" for none, qop auth and nonce count 1. */
static char *expected(const char *user, const char *realm, const char *pass,
		      const char *nonce, const char *cnonce,
		      const char *authzid, const char *uri, bool rsp)
{
	GChecksum *c = g_checksum_new(G_CHECKSUM_MD5);
	guint8 inner[16];

	g_checksum_update(c, (const guchar *)user, -1);
	g_checksum_update(c, (const guchar *)":", 1);
	g_checksum_update(c, (const guchar *)realm, -1);
	g_checksum_update(c, (const guchar *)":", 1);
	g_checksum_update(c, (const guchar *)pass, -1);
	md5_into(c, inner);
	c = g_checksum_new(G_CHECKSUM_MD5);
	g_checksum_update(c, inner, 16);
	char *rest = g_strdup_printf(":%s:%s%s%s", nonce, cnonce,
				     *authzid ? ":" : "", authzid);
	g_checksum_update(c, (const guchar *)rest, -1);
	char *ha1 = g_strdup(g_checksum_get_string(c));
	g_checksum_free(c);
	char *a2 = g_strdup_printf("%s:%s", rsp ? "" : "AUTHENTICATE", uri);
	char *ha2 = md5_hex(a2);
	char *kd = g_strdup_printf("%s:%s:00000001:%s:auth:%s", ha1, nonce,
				   cnonce, ha2);
	char *out = md5_hex(kd);

	g_free(rest);
	g_free(ha1);
	g_free(a2);
	g_free(ha2);
	g_free(kd);
	return out;
}

/* The response value of an answer. */
static char *response_of(const char *answer)
{
	const char *r = strstr(answer, ",response=");

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	return g_strndup(r + 10, 32);
}

static void test_default_service_and_proof(void)
{
	void *state = NULL;
	char *response;

	rfc_settings();
	random_for_cnonce("ab+/09ZZzzAA+/");
	CU_ASSERT_EQUAL(
	    first(rfc_challenge, strlen(rfc_challenge), &state, &response), 0);
	/* POP3's service name (RFC 5034) and MailServer */
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(response, ",cnonce=\"ab+/09ZZzzAA+/\","
			     "digest-uri=\"pop/elwood.innosoft.com\","));
	char *got = response_of(response);
	char *want =
	    expected("chris", "elwood.innosoft.com", "secret", "OA6MG9tEQGm2hh",
		     "ab+/09ZZzzAA+/", "", "pop/elwood.innosoft.com", false);
	CU_ASSERT_STRING_EQUAL(got, want);
	char *proof =
	    expected("chris", "elwood.innosoft.com", "secret", "OA6MG9tEQGm2hh",
		     "ab+/09ZZzzAA+/", "", "pop/elwood.innosoft.com", true);
	char *rsp = g_strdup_printf("rspauth=%s", proof);
	/* the proof of the IMAP example does not prove this exchange */
	CU_ASSERT_EQUAL(step(state, "rspauth=ea40f60335c427b5527b84dbabcdfffd"),
			SPOP_ERR_CERT_VERIFY);
	CU_ASSERT_TRUE(
	    error_is(SPOP_ERR_CERT_VERIFY, "rspauth is wrong", NULL));
	ops->sasl_done(&host.pub, state);
	g_free(response);

	/* again, with the right proof, quoted this time and in upper case */
	CU_ASSERT_EQUAL(
	    first(rfc_challenge, strlen(rfc_challenge), &state, &response), 0);
	char *upper = g_ascii_strup(proof, -1);
	char *quoted = g_strdup_printf(" RSPAUTH = \"%s\" ", upper);
	CU_ASSERT_EQUAL(step(state, quoted), 0);
	CU_ASSERT_EQUAL(ops->sasl_finish(&host.pub, state), 0);
	ops->sasl_done(&host.pub, state);
	g_free(response);
	g_free(upper);
	g_free(quoted);
	g_free(rsp);
	g_free(proof);
	g_free(got);
	g_free(want);
}

static void test_bad_service(void)
{
	rfc_settings();
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "DigestMD5Service=im/ap"));
	CU_ASSERT_EQUAL(answer_only(rfc_challenge), SPOP_ERR_INVALID_VALUE);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_INVALID_VALUE, "DigestMD5Service",
				"im/ap", NULL));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "DigestMD5Service=pop"));
}

/* Realms: none offered, none sent (the empty realm is hashed); several,
 * the first. Quoted nonce with escapes, LWS, null elements, upper-case
 * names, an unknown directive twice, no qop (which means auth). */
static void test_realms_and_syntax(void)
{
	void *state = NULL;
	char *response, *got, *want;
	const char *ch = " ,, nonce = \"n\\\"o\\\\nce\" , ALGORITHM=md5-sess,"
			 "x-ext=1,x-ext=\"2\",";

	rfc_settings();
	CU_ASSERT_EQUAL(first(ch, strlen(ch), &state, &response), 0);
	CU_ASSERT_PTR_NULL(strstr(response, "realm="));
	CU_ASSERT_PTR_NULL(strstr(response, "charset="));
	CU_ASSERT_TRUE(g_str_has_prefix(response, "username=\"chris\","
						  "nonce=\"n\\\"o\\\\nce\","));
	got = response_of(response);
	want = expected("chris", "", "secret", "n\"o\\nce", "OA6MHXh6VqTrRk",
			"", "pop/elwood.innosoft.com", false);
	CU_ASSERT_STRING_EQUAL(got, want);
	ops->sasl_done(&host.pub, state);
	g_free(response);
	g_free(got);
	g_free(want);

	ch = "realm=\"first.example\",realm=\"second.example\",nonce=abc,"
	     "qop=\"auth-int, auth\",algorithm=md5-sess,maxbuf=65536,"
	     "stale=false";
	CU_ASSERT_EQUAL(first(ch, strlen(ch), &state, &response), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(response, ",realm=\"first.example\","));
	CU_ASSERT_PTR_NULL(strstr(response, "second"));
	got = response_of(response);
	want = expected("chris", "first.example", "secret", "abc",
			"OA6MHXh6VqTrRk", "", "pop/elwood.innosoft.com", false);
	CU_ASSERT_STRING_EQUAL(got, want);
	ops->sasl_done(&host.pub, state);
	g_free(response);
	g_free(got);
	g_free(want);
}

static void test_authzid(void)
{
	void *state = NULL;
	char *response;

	rfc_settings();
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "AuthorizationIdentity=admin"));
	CU_ASSERT_EQUAL(
	    first(rfc_challenge, strlen(rfc_challenge), &state, &response), 0);
	CU_ASSERT_TRUE(g_str_has_suffix(response, ",qop=auth,"
						  "authzid=\"admin\""));
	char *got = response_of(response);
	char *want = expected("chris", "elwood.innosoft.com", "secret",
			      "OA6MG9tEQGm2hh", "OA6MHXh6VqTrRk", "admin",
			      "pop/elwood.innosoft.com", false);
	CU_ASSERT_STRING_EQUAL(got, want);
	ops->sasl_done(&host.pub, state);
	g_free(response);
	g_free(got);
	g_free(want);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "AuthorizationIdentity="));
}

/* charset=utf-8: on the wire in UTF-8; hashed in ISO 8859-1 where a value
 * has it, each value on its own. No charset: ISO 8859-1 or nothing. */
static void test_charset(void)
{
	void *state = NULL;
	char *response, *got, *want;
	/* "chrïs" and "sécret" have ISO 8859-1 forms, "€uro" has none */
	const char *ch = "realm=\"r\xc3\xa9gion\",nonce=\"N\",qop=auth,"
			 "algorithm=md5-sess,charset=utf-8";

	rfc_settings();
	spop_set_user(s, "chr\xc3\xafs");
	spop_set_password(s, "\xe2\x82\xacuro");
	CU_ASSERT_EQUAL(first(ch, strlen(ch), &state, &response), 0);
	CU_ASSERT_TRUE(g_str_has_prefix(
	    response, "charset=utf-8,username=\"chr\xc3\xafs\","
		      "realm=\"r\xc3\xa9gion\","));
	got = response_of(response);
	want = expected("chr\xefs", "r\xe9gion", "\xe2\x82\xacuro", "N",
			"OA6MHXh6VqTrRk", "", "pop/elwood.innosoft.com", false);
	CU_ASSERT_STRING_EQUAL(got, want);
	ops->sasl_done(&host.pub, state);
	g_free(response);
	g_free(got);
	g_free(want);

	/* no charset: the user goes out in ISO 8859-1, the server's realm
	 * (ISO 8859-1 then) as it came */
	ch = "realm=\"r\xe9gion\",nonce=\"N\",algorithm=md5-sess";
	spop_set_password(s, "s\xc3\xa9"
			     "cret");
	CU_ASSERT_EQUAL(first(ch, strlen(ch), &state, &response), 0);
	CU_ASSERT_TRUE(g_str_has_prefix(response, "username=\"chr\xefs\","
						  "realm=\"r\xe9gion\","));
	got = response_of(response);
	want = expected("chr\xefs", "r\xe9gion",
			"s\xe9"
			"cret",
			"N", "OA6MHXh6VqTrRk", "", "pop/elwood.innosoft.com",
			false);
	CU_ASSERT_STRING_EQUAL(got, want);
	ops->sasl_done(&host.pub, state);
	g_free(response);
	g_free(got);
	g_free(want);

	/* no charset and a password without an ISO 8859-1 form */
	spop_set_password(s, "\xe2\x82\xacuro");
	CU_ASSERT_EQUAL(answer_only(ch), SPOP_ERR_PROTOCOL);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "Password",
				"outside ISO 8859-1", NULL));
	/* the secret is never in the error */
	CU_ASSERT_PTR_NULL(strstr(error_text(), "uro"));
}

struct bad {
	const char *challenge;
	const char *why;
};

static void test_malformed(void)
{
	static const struct bad cases[] = {
	    {"nonce=\"abc\",algorithm=md5-sess,realm=\"elwood",
	     "quoted value of 'realm' that is not terminated"},
	    /* a quote that ends where the next value starts */
	    {"realm=\"elwood,nonce=\"abc\",algorithm=md5-sess",
	     "byte 0x61 after directive 'realm'"},
	    {"nonce=\"OA6MG9tEQGm2hh,algorithm=md5-sess",
	     "that is not terminated"},
	    {"algorithm=md5-sess,nonce=\"abc\\", "lone backslash"},
	    {"nonce=\"a\",nonce=\"b\",algorithm=md5-sess",
	     "directive 'nonce' twice"},
	    {"nonce=a,qop=auth,QOP=auth,algorithm=md5-sess", "'QOP' twice"},
	    {"nonce=a,algorithm=md5-sess,algorithm=md5-sess",
	     "'algorithm' twice"},
	    {"nonce=a,algorithm=md5-sess,charset=utf-8,charset=utf-8",
	     "'charset' twice"},
	    {"nonce=a,algorithm=md5-sess,stale=true,stale=true",
	     "'stale' twice"},
	    {"realm=\"x\",qop=\"auth\",algorithm=md5-sess", "has no nonce"},
	    {"nonce=\"\",algorithm=md5-sess", "empty nonce"},
	    {"realm=\"x\",nonce=\"abc\",qop=\"auth\"", "no algorithm"},
	    {"nonce=\"abc\",algorithm=md5", "only md5-sess"},
	    {"nonce=abc,algorithm=md5-sess,qop=\"auth-int,auth-conf\"",
	     "without auth"},
	    {"nonce=abc,algorithm=md5-sess,qop=\"\"", "malformed qop list"},
	    {"nonce=abc,algorithm=md5-sess,qop=\"auth;x\"",
	     "malformed qop list"},
	    {"nonce=abc,algorithm=md5-sess,stale=true", "stale=true"},
	    {"nonce=abc,algorithm=md5-sess,stale=maybe", "neither true"},
	    {"nonce=abc,algorithm=md5-sess,charset=iso-8859-1", "only utf-8"},
	    {"nonce=abc,algorithm=md5-sess,maxbuf=lots", "not a number"},
	    {"realm=\"\xc3\x28\",nonce=abc,algorithm=md5-sess,charset=utf-8",
	     "not UTF-8"},
	    {"nonce=\"a\001b\",algorithm=md5-sess", "control character 0x01"},
	    {"nonce=\"a\\\x80\",algorithm=md5-sess", "outside US-ASCII"},
	    {"nonce \"abc\",algorithm=md5-sess", "without '='"},
	    {"nonce=,algorithm=md5-sess", "'nonce' without a value"},
	    {"nonce=\"abc\"x,algorithm=md5-sess", "where ',' or the end"},
	    {"nonce=abc;algorithm=md5-sess", "where ',' or the end"},
	    {"=abc,algorithm=md5-sess", "where a directive name"},
	    {"\x80nonce=abc", "byte 0x80 where a directive name"},
	    {"", "is empty"},
	};

	rfc_settings();
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		int rc = answer_only(cases[i].challenge);

		CU_ASSERT_EQUAL(rc, SPOP_ERR_PROTOCOL);
		if (!error_is(SPOP_ERR_PROTOCOL, "DIGEST-MD5", cases[i].why,
			      NULL)) {
			fprintf(stderr, "  case %zu: %s\n", i,
				cases[i].challenge);
			CU_FAIL("wrong error");
		}
	}

	/* a NUL byte, and the RFC's size limit */
	static const char nul[] = "nonce=a\0b,algorithm=md5-sess";
	void *state = NULL;
	char *response;
	CU_ASSERT_EQUAL(first(nul, sizeof(nul) - 1, &state, &response),
			SPOP_ERR_PROTOCOL);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "NUL byte", NULL));
	ops->sasl_done(&host.pub, state);

	GString *huge = g_string_new("nonce=abc,algorithm=md5-sess,realm=\"");
	while (huge->len < 3000)
		g_string_append_c(huge, 'r');
	g_string_append_c(huge, '"');
	CU_ASSERT_EQUAL(answer_only(huge->str), SPOP_ERR_PROTOCOL);
	CU_ASSERT_TRUE(
	    error_is(SPOP_ERR_PROTOCOL, "3001 bytes", "less than 2048", NULL));
	/* 2047 bytes is within the limit */
	g_string_truncate(huge, 2046);
	g_string_append_c(huge, '"');
	CU_ASSERT_EQUAL(huge->len, 2047);
	CU_ASSERT_EQUAL(answer_only(huge->str), 0);
	g_string_free(huge, TRUE);
}

static void test_rspauth_refusals(void)
{
	static const struct bad cases[] = {
	    {"rspauth=ea40f60335c427b5527b84dbabcdfff", "not 32 hex"},
	    {"rspauth=ea40f60335c427b5527b84dbabcdfffdd", "not 32 hex"},
	    {"rspauth=ga40f60335c427b5527b84dbabcdfffd", "not 32 hex"},
	    {"rspauth=ea40f60335c427b5527b84dbabcdfffd,rspauth="
	     "ea40f60335c427b5527b84dbabcdfffd",
	     "rspauth twice"},
	    {"rspauth=ea40f60335c427b5527b84dbabcdfffd,nonce=x",
	     "'nonce' beside rspauth"},
	    {"rspauth=\"ea40f60335c427b5527b84dbabcdfffd",
	     "that is not terminated"},
	    {"", "has no rspauth"},
	};
	void *state = NULL;
	char *response;

	rfc_settings();
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "DigestMD5Service=imap"));
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		CU_ASSERT_EQUAL(first(rfc_challenge, strlen(rfc_challenge),
				      &state, &response),
				0);
		CU_ASSERT_EQUAL(step(state, cases[i].challenge),
				SPOP_ERR_PROTOCOL);
		if (!error_is(SPOP_ERR_PROTOCOL, "DIGEST-MD5 rspauth",
			      cases[i].why, NULL))
			fprintf(stderr, "  case %zu: %s\n", i,
				cases[i].challenge);
		/* a login the server accepts without its proof fails */
		CU_ASSERT_EQUAL(ops->sasl_finish(&host.pub, state),
				SPOP_ERR_CERT_VERIFY);
		CU_ASSERT_TRUE(error_is(SPOP_ERR_CERT_VERIFY,
					"without sending its rspauth", NULL));
		ops->sasl_done(&host.pub, state);
		g_free(response);
	}
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "DigestMD5Service=pop"));
}

static void test_refusals(void)
{
	rfc_settings();
	spop_set_user(s, "");
	CU_ASSERT_EQUAL(answer_only(rfc_challenge), SPOP_ERR_PROTOCOL);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "User is empty", NULL));
	spop_set_user(s, "ch\001ris");
	CU_ASSERT_EQUAL(answer_only(rfc_challenge), SPOP_ERR_INVALID_VALUE);
	CU_ASSERT_TRUE(
	    error_is(SPOP_ERR_INVALID_VALUE, "control character", NULL));
	spop_set_user(s, "chris");
	random_fail = 1;
	CU_ASSERT_EQUAL(answer_only(rfc_challenge), SPOP_ERR_CREDENTIALS);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_CREDENTIALS, "no randomness", NULL));
	random_fail = 0;
	/* a response RFC 2831 would not allow (4096 bytes or more) */
	char *long_authz = g_strnfill(4000, 'a');
	char *cfg = g_strdup_printf("AuthorizationIdentity=%s", long_authz);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, cfg));
	CU_ASSERT_EQUAL(answer_only(rfc_challenge), SPOP_ERR_INVALID_VALUE);
	CU_ASSERT_TRUE(
	    error_is(SPOP_ERR_INVALID_VALUE, "less than 4096", NULL));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "AuthorizationIdentity="));
	g_free(cfg);
	g_free(long_authz);
}

static const struct test_case cases[] = {
    {"RFC 2831's example, byte for byte, rspauth checked", test_rfc2831},
    {"pop/MailServer by default; a wrong proof refused",
     test_default_service_and_proof},
    {"DigestMD5Service that is no service name", test_bad_service},
    {"realms, quoting, LWS, unknown directives", test_realms_and_syntax},
    {"AuthorizationIdentity as authzid", test_authzid},
    {"charset=utf-8 and ISO 8859-1", test_charset},
    {"malformed challenges: clean errors", test_malformed},
    {"malformed or missing rspauth", test_rspauth_refusals},
    {"no user, control characters, no randomness, too long", test_refusals},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"digest-md5", suite_init, teardown, cases},
    {NULL},
};

int main(void)
{
	return test_run(suites);
}
