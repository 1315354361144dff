/* Known-answer test of the "cram-md5" auth plugin (RFC 2195 section 2's
 * example), chosen by AuthMechanism through the registry and driven
 * through the core's own host, and its refusals: a second challenge, an
 * empty one, no user. The exchange against Dovecot is in
 * tests/integration/test-auth.c. */
#include "test-runner.h"

#include <string.h>

#include "spop-private.h"

#include "fixture-setup.h"

static struct spi_host host;
static const struct spop_auth_ops *ops;

static const char rfc_challenge[] =
    "<1896.697170952@postoffice.reston.mci.net>";

static int suite_init(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	if (setup())
		return 1;
	if (spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism",
			      SPOP_AM_CRAMMD5, &d) ||
	    !d) {
		fprintf(stderr, "no cram-md5 plugin: %s\n", error_text());
		return 1;
	}
	ops = d->ops;
	spi_host_init(&host, s, NULL);
	return 0;
}

/* start (no initial response), then one step with challenge. */
static int exchange(const char *challenge, size_t len, char **response)
{
	void *state = NULL;
	unsigned char *out = NULL;
	size_t out_len = 0;
	int rc = ops->sasl_start(&host.pub, &state, &out, &out_len);

	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NULL(out);
	*response = NULL;
	rc = ops->sasl_step(&host.pub, state, (const unsigned char *)challenge,
			    len, &out, &out_len);
	if (!rc) {
		*response = g_strndup((const char *)out, out_len);
		g_free(out);
		/* a second challenge is refused, not answered again */
		out = NULL;
		CU_ASSERT_EQUAL(ops->sasl_step(&host.pub, state,
					       (const unsigned char *)"x", 1,
					       &out, &out_len),
				SPOP_ERR_PROTOCOL);
		CU_ASSERT_PTR_NULL(out);
	}
	ops->sasl_done(&host.pub, state);
	return rc;
}

static void test_rfc2195(void)
{
	char *response;

	CU_ASSERT_STRING_EQUAL(ops->sasl_name, "CRAM-MD5");
	spop_set_user(s, "tim");
	spop_set_password(s, "tanstaaftanstaaf");
	CU_ASSERT_EQUAL(
	    exchange(rfc_challenge, strlen(rfc_challenge), &response), 0);
	CU_ASSERT_STRING_EQUAL(response,
			       "tim b913a602c7eda7a495b4e6e7334d3890");
	g_free(response);
}

static void test_refusals(void)
{
	char *response;

	spop_set_user(s, "tim");
	CU_ASSERT_EQUAL(exchange("", 0, &response), SPOP_ERR_PROTOCOL);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "challenge is empty", NULL));
	spop_set_user(s, "");
	CU_ASSERT_EQUAL(
	    exchange(rfc_challenge, strlen(rfc_challenge), &response),
	    SPOP_ERR_PROTOCOL);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "User is empty", NULL));
}

static const struct test_case cases[] = {
    {"RFC 2195's example, byte for byte", test_rfc2195},
    {"second or empty challenge, no user: refused", test_refusals},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"cram-md5", suite_init, teardown, cases},
    {NULL},
};

int main(void)
{
	return test_run(suites);
}
