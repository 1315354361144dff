/* Known answers of the one-message SASL plugins, chosen by name through the
 * registry and driven through the core's own host: "plain" (RFC 4616
 * section 4's examples, with and without an authorization identity),
 * "login" (the user, then the password, one per challenge) and "external"
 * (RFC 4422 appendix A: the authorization identity or nothing, and only
 * under TLS). The exchanges against Dovecot are in
 * tests/integration/test-auth.c. */
#include "test-runner.h"

#include <string.h>

#include "spop-private.h"

#include "fixture-setup.h"

static struct spi_host host;
static int tls_up;

static int fake_tls_active(struct spop_host *h)
{
	(void)h;
	return tls_up;
}

static int suite_init(void)
{
	if (setup())
		return 1;
	spi_host_init(&host, s, NULL);
	host.pub.tls_active = fake_tls_active;
	return 0;
}

static const struct spop_auth_ops *mechanism(const char *name)
{
	const struct spop_plugin_descriptor *d = NULL;

	if (spi_plugin_by_name(s, SPOP_PLUGIN_AUTH, name, &d) || !d) {
		fprintf(stderr, "no %s plugin: %s\n", name, error_text());
		return NULL;
	}
	return d->ops;
}

/* The initial response of ops, base64 as it goes on the wire ("=" for an
 * empty one, as RFC 5034 writes it); NULL when start fails. */
static char *initial(const struct spop_auth_ops *ops, void **state)
{
	unsigned char *out = NULL;
	size_t len = 0;
	char *b64;

	*state = NULL;
	if (ops->sasl_start(&host.pub, state, &out, &len)) {
		/* as the driver does: state set is state to free */
		if (*state)
			ops->sasl_done(&host.pub, *state);
		*state = NULL;
		return NULL;
	}
	CU_ASSERT_PTR_NOT_NULL(out);
	b64 = len ? g_base64_encode(out, len) : g_strdup("=");
	g_free(out);
	return b64;
}

static void expect_initial(const char *name, const char *want)
{
	const struct spop_auth_ops *ops = mechanism(name);
	void *state;
	char *got;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ops);
	got = initial(ops, &state);
	CU_ASSERT_PTR_NOT_NULL(got);
	if (got && strcmp(got, want))
		fprintf(stderr, "%s: got %s, want %s\n", name, got, want);
	CU_ASSERT(got && !strcmp(got, want));
	/* no challenge follows a one-message mechanism */
	if (got) {
		unsigned char *out = NULL;
		size_t len = 0;

		CU_ASSERT_EQUAL(ops->sasl_step(&host.pub, state,
					       (const unsigned char *)"x", 1,
					       &out, &len),
				SPOP_ERR_PROTOCOL);
		CU_ASSERT_PTR_NULL(out);
	}
	if (state)
		ops->sasl_done(&host.pub, state);
	g_free(got);
}

static void test_plain_rfc4616(void)
{
	spop_set_user(s, "tim");
	spop_set_password(s, "tanstaaftanstaaf");
	spop_config(s, "AuthorizationIdentity=");
	/* "\0tim\0tanstaaftanstaaf" */
	expect_initial("plain", "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	/* Kurt, password xipj3plmq, acting as Ursel */
	spop_set_user(s, "Kurt");
	spop_set_password(s, "xipj3plmq");
	spop_config(s, "AuthorizationIdentity=Ursel");
	expect_initial("plain", "VXJzZWwAS3VydAB4aXBqM3BsbXE=");
	spop_config(s, "AuthorizationIdentity=");
	spop_set_user(s, "");
	CU_ASSERT_PTR_NULL(initial(mechanism("plain"), &(void *){NULL}));
	CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "User is empty", NULL));
}

static void test_login(void)
{
	const struct spop_auth_ops *ops = mechanism("login");
	unsigned char *out = NULL;
	size_t len = 0;
	void *state = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ops);
	spop_set_user(s, "tim");
	spop_set_password(s, "tanstaaftanstaaf");
	CU_ASSERT_EQUAL(ops->sasl_start(&host.pub, &state, &out, &len), 0);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(ops->sasl_step(&host.pub, state,
				       (const unsigned char *)"Username:", 9,
				       &out, &len),
			0);
	CU_ASSERT(len == 3 && !memcmp(out, "tim", 3));
	g_free(out);
	CU_ASSERT_EQUAL(ops->sasl_step(&host.pub, state,
				       (const unsigned char *)"Password:", 9,
				       &out, &len),
			0);
	CU_ASSERT(len == 16 && !memcmp(out, "tanstaaftanstaaf", 16));
	g_free(out);
	ops->sasl_done(&host.pub, state);
}

static void test_external(void)
{
	tls_up = 1;
	spop_set_password(s, "");
	spop_config(s, "AuthorizationIdentity=");
	/* the certificate's identity: an empty initial response */
	expect_initial("external", "=");
	spop_config(s, "AuthorizationIdentity=Ursel");
	expect_initial("external", "VXJzZWw=");
	spop_config(s, "AuthorizationIdentity=");
	/* no TLS, no certificate: nothing to send */
	tls_up = 0;
	CU_ASSERT_PTR_NULL(initial(mechanism("external"), &(void *){NULL}));
	CU_ASSERT_TRUE(error_is(SPOP_ERR_POLICY, "has no TLS", NULL));
}

static const struct test_case cases[] = {
    {"plain: RFC 4616's examples, byte for byte", test_plain_rfc4616},
    {"login: user, then password", test_login},
    {"external: authzid or empty, only under TLS", test_external},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"sasl-simple", suite_init, teardown, cases},
    {NULL},
};

int main(void)
{
	return test_run(suites);
}
