/* SCRAM-SHA-1-PLUS and SCRAM-SHA-256-PLUS against a real server side:
 * Cyrus pop3d 3.6 with Cyrus SASL (cyrus-harness.sh), which offers them
 * after TLS and binds with "tls-unique" only, so it runs with TLS 1.2
 * (RFC 9266: tls-unique is not defined for TLS 1.3). Through both TLS
 * providers, STLS and implicit TLS: right and wrong passwords, the
 * exchange itself (p=tls-unique, c= carrying the 12-byte Finished), the
 * plain variant choosing "n" where -PLUS is offered, and the password in
 * none of it. */
#include <stdbool.h>
#include <stdlib.h>

#include "common.h"

static struct harness_cyrus cyrus;
static struct recorder rec;
static char *ca_setting;

static const struct {
	const char *name;
	int value;
} providers[] = {{"gnutls", SPOP_SSLP_INTERNAL},
		 {"openssl", SPOP_SSLP_PLATFORM}};

static spop_t *plus_client(int provider, const char *mech, const char *password,
			   int implicit)
{
	spop_t *s = client_new(HARNESS_CYRUS_USER, password, &rec);
	char cfg[64];

	ASSERT_OK(
	    spop_set_mail_port(s, implicit ? cyrus.tls_port : cyrus.port));
	ASSERT_OK(spop_set_ssl_start_mode(s, implicit ? SPOP_SSL_IMPLICIT
						      : SPOP_SSL_EXPLICIT));
	ASSERT_OK(spop_set_ssl_provider(s, providers[provider].value));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, ca_setting));
	snprintf(cfg, sizeof(cfg), "AuthMechanismName=%s", mech);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, cfg));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "MaskSensitive=False"));
	return s;
}

/* A login; the exchange must carry the GS2 header gs2 (and, for -PLUS,
 * the tls-unique bytes after it in c=). */
static void login(int provider, const char *mech, int implicit, const char *gs2)
{
	spop_t *s =
	    plus_client(provider, mech, HARNESS_CYRUS_PASSWORD, implicit);

	ASSERT_OK(spop_connect(s));
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLProviderName"),
			       providers[provider].name);
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLNegotiatedVersion"),
			       "TLS1.2");
	CU_ASSERT_EQUAL(
	    spop_get_message_count(s),
	    harness_cyrus_message_count(&cyrus, HARNESS_CYRUS_USER));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, HARNESS_CYRUS_PASSWORD));

	char **x = trail_sasl_exchange(&rec, mech);
	char *want = g_strdup_printf("%sn=%s,r=", gs2, HARNESS_CYRUS_USER);
	CU_ASSERT_EQUAL_FATAL(g_strv_length(x), 5);
	CU_ASSERT_TRUE(g_str_has_prefix(x[0], want));
	CU_ASSERT_TRUE(g_str_has_prefix(x[2], "c="));
	/* c= decodes to the GS2 header and, for -PLUS, the 12-byte TLS
	 * 1.2 Finished (RFC 5929 tls-unique) */
	char *c64 = g_strndup(x[2] + 2, strcspn(x[2] + 2, ","));
	gsize clen = 0;
	guchar *cbind = g_base64_decode(c64, &clen);
	size_t gl = strlen(gs2);
	bool plus = g_str_has_prefix(gs2, "p=");
	CU_ASSERT_EQUAL(clen, gl + (plus ? 12 : 0));
	CU_ASSERT(clen >= gl && !memcmp(cbind, gs2, gl));
	CU_ASSERT_TRUE(g_str_has_prefix(x[3], "v="));
	for (char **p = x; *p; p++)
		CU_ASSERT_PTR_NULL(strstr(*p, HARNESS_CYRUS_PASSWORD));
	if (!g_str_has_prefix(x[0], want))
		fprintf(stderr, "\n  trail:\n%s", rec.trail->str);
	g_free(cbind);
	g_free(c64);
	g_free(want);
	g_strfreev(x);
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);
}

static void test_plus(void)
{
	for (int p = 0; p < 2; p++)
		for (int implicit = 0; implicit < 2; implicit++) {
			login(p, "SCRAM-SHA-256-PLUS", implicit,
			      "p=tls-unique,,");
			login(p, "SCRAM-SHA-1-PLUS", implicit,
			      "p=tls-unique,,");
		}
}

/* The server offers -PLUS, the application chose the plain variant: "n"
 * (RFC 5802 section 6; "y" would be taken for a downgrade). */
static void test_plain_variant_where_plus_offered(void)
{
	for (int p = 0; p < 2; p++) {
		login(p, "SCRAM-SHA-256", 0, "n,,");
		login(p, "SCRAM-SHA-1", 1, "n,,");
	}
}

/* AuthMechanismName=auto takes SCRAM-SHA-256-PLUS once TLS is up, the
 * strongest Cyrus offers. */
static void test_auto(void)
{
	for (int p = 0; p < 2; p++) {
		spop_t *s = plus_client(p, "auto", HARNESS_CYRUS_PASSWORD, 0);

		ASSERT_OK(spop_connect(s));
		CU_ASSERT_STRING_EQUAL(spop_config(s, "AuthMechanismUsed"),
				       "scram-sha-256-plus");
		ASSERT_OK(spop_disconnect(s));
		spop_free(s);
	}
}

static void test_wrong_password(void)
{
	for (int p = 0; p < 2; p++) {
		spop_t *s =
		    plus_client(p, "SCRAM-SHA-256-PLUS", "alice-wrong", 0);

		CU_ASSERT_EQUAL(spop_connect(s), 171);
		CU_ASSERT_FALSE(spop_get_connected(s));
		CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "alice-wrong"));
		spop_free(s);
	}
}

static const struct test_case cases[] = {
    {"SCRAM-SHA-*-PLUS with tls-unique, both providers, STLS and implicit",
     test_plus},
    {"plain SCRAM where -PLUS is offered: n,,",
     test_plain_variant_where_plus_offered},
    {"AuthMechanismName=auto takes SCRAM-SHA-256-PLUS", test_auto},
    {"SCRAM-SHA-256-PLUS wrong password", test_wrong_password},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"auth-scram-plus", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	static const struct harness_cyrus_tls tls = {.cert = "good",
						     .tls_versions = "tls1_2"};
	const char *why = harness_cyrus_unavailable();

	if (why)
		return harness_cannot_run("auth-scram-plus", why);
	char *path = harness_cert_file("ca.pem"), *ca = NULL;
	if (!path || !g_file_get_contents(path, &ca, NULL, NULL))
		return 1;
	ca_setting = g_strconcat("SSLServerCACerts=", ca, NULL);
	g_free(ca);
	g_free(path);
	if (harness_cyrus_start(&cyrus, "auth-scram-plus", &tls))
		return 1;
	int rc = test_run(suites);
	if (harness_cyrus_stop(&cyrus))
		rc = 1;
	g_free(ca_setting);
	return rc;
}
