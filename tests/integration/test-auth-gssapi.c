/* Kerberos (AuthMechanism 6, SASL GSSAPI) against a private Dovecot and a
 * private MIT KDC: a login with the ticket kinit left in the cache, and the
 * ways it fails: no ticket, a service the KDC does not know, a server whose
 * keytab no longer has the service's key, an authorization identity the
 * principal may not use. The tokens never show in the trail. */
#include <stdlib.h>

#include "common.h"
#include "harness-krb5.h"

static struct recorder rec;
static struct harness_krb5 kdc;

/* A client for mechanism 6 on server (Dovecot's port); no password: the
 * ticket is the credential. */
static spop_t *kerberos_client(const char *server)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, "", &rec);

	spop_set_mail_server(s, server);
	CU_ASSERT_EQUAL(spop_set_auth_mechanism(s, SPOP_AM_KERBEROS), 0);
	return s;
}

/* Every client line of the exchange (from AUTH GSSAPI to the server's
 * verdict) is the command or a masked token: nothing of the Kerberos
 * exchange reaches the trail. At least min_tokens were sent. */
static void assert_tokens_masked(int min_tokens)
{
	const char *auth = strstr(rec.trail->str, "C: AUTH GSSAPI");
	const char *rest;
	int tokens = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(auth);
	char **lines = g_strsplit(auth, "\n", -1);
	/* The AP-REQ is longer than an AUTH line may be: it follows the
	 * server's empty challenge, masked. A shorter one would be inline,
	 * masked too. */
	rest = lines[0] + strlen("C: AUTH GSSAPI");
	CU_ASSERT(*rest == 0 || (*rest == ' ' && rest[1] == '*' &&
				 strspn(rest + 1, "*") == strlen(rest + 1)));
	tokens += *rest != 0;
	for (char **l = lines + 1; *l; l++) {
		if (g_str_has_prefix(*l, "S: +OK") ||
		    g_str_has_prefix(*l, "S: -ERR"))
			break;
		if (strncmp(*l, "C: ", 3))
			continue;
		const char *t = *l + 3;
		CU_ASSERT_EQUAL(strspn(t, "*"), strlen(t));
		tokens++;
	}
	CU_ASSERT(tokens >= min_tokens);
	g_strfreev(lines);
}

static void login_as(const char *server, const char *authzid)
{
	long long off = harness_dovecot_log_size(&dovecot);
	spop_t *s = kerberos_client(server);

	if (authzid) {
		char cfg[128];
		snprintf(cfg, sizeof(cfg), "AuthorizationIdentity=%s", authzid);
		CU_ASSERT_PTR_NOT_NULL(spop_config(s, cfg));
	}
	int rc = spop_connect(s);
	if (rc) {
		char *log = harness_dovecot_log(&dovecot, off);
		fprintf(stderr, "\n%d: %s\n%s---- Dovecot ----\n%s", rc,
			spop_last_error(s), rec.trail->str, log);
		g_free(log);
	}
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(spop_get_message_count(s),
			harness_message_count(&dovecot, HARNESS_MAIN_USER));
	/* AP-REQ, the answer to the AP-REP, the security-layer answer */
	assert_tokens_masked(3);
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: USER"));
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);
	/* Dovecot says who logged in and how. */
	char *log =
	    harness_dovecot_log_wait(&dovecot, off, "method=GSSAPI", 5000);
	CU_ASSERT_PTR_NOT_NULL(log);
	if (log)
		CU_ASSERT_PTR_NOT_NULL(
		    strstr(log, "user=<" HARNESS_MAIN_USER ">"));
	g_free(log);
}

static void test_login_ip(void)
{
	/* pop@127.0.0.1: the ticket is for pop/127.0.0.1 (no DNS
	 * canonicalisation in the private krb5.conf) */
	login_as("127.0.0.1", NULL);
}

static void test_login_localhost(void)
{
	login_as("localhost", NULL);
}

static void test_authzid_self(void)
{
	/* the principal alice@REALM maps to alice: Dovecot's krb5_kuserok
	 * lets it act as alice */
	login_as("127.0.0.1", HARNESS_MAIN_USER);
}

static void test_authzid_other(void)
{
	long long off = harness_dovecot_log_size(&dovecot);
	spop_t *s = kerberos_client("127.0.0.1");

	CU_ASSERT_PTR_NOT_NULL(
	    spop_config(s, "AuthorizationIdentity=" HARNESS_SMALL_USER));
	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, "answered AUTH");
	CU_ASSERT_FALSE(spop_get_connected(s));
	/* refused after the security layer, which names the authzid */
	assert_tokens_masked(3);
	spop_free(s);
	char *log = harness_dovecot_log_wait(
	    &dovecot, off,
	    "User not authorized to log in as " HARNESS_SMALL_USER, 5000);
	CU_ASSERT_PTR_NOT_NULL(log);
	g_free(log);
}

static void test_no_ticket(void)
{
	char *missing = g_strdup_printf("FILE:%s/no-such-ccache", kdc.dir);
	spop_t *s = kerberos_client("127.0.0.1");

	g_setenv("KRB5CCNAME", missing, TRUE);
	CU_ASSERT_EQUAL(spop_connect(s), 171);
	g_setenv("KRB5CCNAME", kdc.ccache, TRUE);
	/* the service, the library's reason and what to do */
	ERROR_HAS(s, "GSSAPI");
	ERROR_HAS(s, "pop@127.0.0.1");
	ERROR_HAS(s, "No Kerberos credentials available");
	ERROR_HAS(s, "run kinit");
	/* nothing was sent: the mechanism failed before AUTH */
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "AUTH GSSAPI"));
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_free(s);
	g_free(missing);
}

/* A fresh cache with only the initial ticket, so no service ticket from
 * an earlier test is reused. */
static char *fresh_cache(const char *name)
{
	char *path = g_build_filename(kdc.dir, name, NULL);
	char *ccache = g_strdup_printf("FILE:%s", path);

	CU_ASSERT_EQUAL(harness_krb5_kinit(&kdc, path), 0);
	g_free(path);
	g_setenv("KRB5CCNAME", ccache, TRUE);
	return ccache;
}

static void test_unknown_service(void)
{
	/* the KDC forgets pop/127.0.0.1: no ticket for that service */
	CU_ASSERT_EQUAL_FATAL(
	    harness_krb5_kadmin(&kdc, "delprinc -force pop/127.0.0.1"), 0);
	char *ccache = fresh_cache("ccache-unknown");
	spop_t *s = kerberos_client("127.0.0.1");

	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, "pop@127.0.0.1");
	ERROR_HAS(s, "not found in Kerberos database");
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "AUTH GSSAPI"));
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_free(s);
	g_setenv("KRB5CCNAME", kdc.ccache, TRUE);
	g_free(ccache);
	/* back as it was, for the tests after this one */
	CU_ASSERT_EQUAL(harness_krb5_kadmin(&kdc, "addprinc -randkey "
						  "pop/127.0.0.1"),
			0);
	char *q = g_strdup_printf("ktadd -k %s pop/127.0.0.1", kdc.keytab);
	CU_ASSERT_EQUAL(harness_krb5_kadmin(&kdc, q), 0);
	g_free(q);
}

static void test_stale_service_key(void)
{
	/* The KDC gets a new key for pop/localhost that the server's keytab
	 * lacks: the ticket is for a service the server cannot be. */
	CU_ASSERT_EQUAL_FATAL(
	    harness_krb5_kadmin(&kdc, "cpw -randkey pop/localhost"), 0);
	char *ccache = fresh_cache("ccache-stale");
	long long off = harness_dovecot_log_size(&dovecot);
	spop_t *s = kerberos_client("localhost");

	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, "answered AUTH");
	CU_ASSERT_FALSE(spop_get_connected(s));
	/* refused at the AP-REQ */
	assert_tokens_masked(1);
	spop_free(s);
	/* the server's side says why */
	char *log = harness_dovecot_log_wait(&dovecot, off,
					     "not found in keytab", 5000);
	CU_ASSERT_PTR_NOT_NULL(log);
	g_free(log);
	g_setenv("KRB5CCNAME", kdc.ccache, TRUE);
	g_free(ccache);
	char *q = g_strdup_printf("ktadd -k %s pop/localhost", kdc.keytab);
	CU_ASSERT_EQUAL(harness_krb5_kadmin(&kdc, q), 0);
	g_free(q);
}

static void test_kdc_down(void)
{
	/* a cache without the service ticket, and no KDC to ask */
	char *ccache = fresh_cache("ccache-down");
	spop_t *s = kerberos_client("localhost");

	CU_ASSERT_EQUAL_FATAL(harness_krb5_stop(&kdc), 0);
	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, "pop@localhost");
	ERROR_HAS(s, "Cannot contact any KDC");
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "AUTH GSSAPI"));
	spop_free(s);
	g_setenv("KRB5CCNAME", kdc.ccache, TRUE);
	g_free(ccache);
}

static const struct test_case cases[] = {
    {"GSSAPI login, MailServer 127.0.0.1", test_login_ip},
    {"GSSAPI login, MailServer localhost", test_login_localhost},
    {"GSSAPI AuthorizationIdentity of the principal", test_authzid_self},
    {"GSSAPI AuthorizationIdentity of another user", test_authzid_other},
    {"GSSAPI without a ticket", test_no_ticket},
    {"GSSAPI for a service the KDC does not know", test_unknown_service},
    {"GSSAPI with a key the server does not have", test_stale_service_key},
    {"GSSAPI again after the KDC changes", test_login_localhost},
    /* last: stops the KDC */
    {"GSSAPI with the KDC down", test_kdc_down},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"auth-gssapi", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	/* Not a skip: without a KDC this suite has tested nothing. */
	const char *why = harness_krb5_unavailable();
	if (why) {
		fprintf(stderr, "FAIL: auth-gssapi cannot run: %s\n", why);
		return 1;
	}
	if (harness_krb5_start(&kdc, "auth-gssapi"))
		return 1;
	harness_krb5_use(&kdc);
	int rc = integration_main("auth-gssapi", suites);
	harness_krb5_stop(&kdc);
	return rc;
}
