/* CAPA parsing (RFC 2449) and response-code naming (RFC 2449, 3206), as
 * data: what servers really send, and the near misses. */
#include "test-runner.h"
#include <string.h>

#include "pop3/pop3.h"

static GPtrArray *lines_of(const char *const *l)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);

	for (; *l; l++)
		g_ptr_array_add(a, g_strdup(*l));
	return a;
}

static void test_dovecot_capa(void)
{
	static const char *const dovecot[] = {
	    "CAPA",
	    "TOP",
	    "UIDL",
	    "RESP-CODES",
	    "PIPELINING",
	    "AUTH-RESP-CODE",
	    "STLS",
	    "USER",
	    "SASL PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256",
	    NULL};
	GPtrArray *l = lines_of(dovecot);
	struct spi_capa c = {0};

	spi_capa_parse(&c, l);
	CU_ASSERT_TRUE(c.known);
	CU_ASSERT_TRUE(c.top && c.uidl && c.resp_codes && c.pipelining &&
		       c.auth_resp_code && c.stls && c.user);
	CU_ASSERT_STRING_EQUAL(c.sasl, "PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256");
	CU_ASSERT_TRUE(spi_capa_has_sasl(&c, "plain"));
	CU_ASSERT_TRUE(spi_capa_has_sasl(&c, "SCRAM-SHA-256"));
	/* exact tokens: a prefix or a longer name is another mechanism */
	CU_ASSERT_FALSE(spi_capa_has_sasl(&c, "SCRAM-SHA-1"));
	CU_ASSERT_FALSE(spi_capa_has_sasl(&c, "CRAM"));
	CU_ASSERT_FALSE(spi_capa_has_sasl(&c, "LOGIN CRAM-MD5"));
	CU_ASSERT_PTR_NULL(c.implementation);
	spi_capa_clear(&c);
	CU_ASSERT_FALSE(c.known);
	g_ptr_array_free(l, TRUE);
}

static void test_values_and_near_misses(void)
{
	static const char *const odd[] = {"implementation Cyrus POP3 v3.6",
					  "EXPIRE 31 USER",
					  "LOGIN-DELAY 900",
					  "STLSX",
					  "TOPMOST",
					  "SASL",
					  "SASL\tNTLM  GSSAPI ",
					  "uidl",
					  NULL};
	GPtrArray *l = lines_of(odd);
	struct spi_capa c = {0};

	spi_capa_parse(&c, l);
	CU_ASSERT_STRING_EQUAL(c.implementation, "Cyrus POP3 v3.6");
	CU_ASSERT_STRING_EQUAL(c.expire, "31 USER");
	CU_ASSERT_STRING_EQUAL(c.login_delay, "900");
	/* a longer word is not the capability */
	CU_ASSERT_FALSE(c.stls);
	CU_ASSERT_FALSE(c.top);
	/* names are case-insensitive */
	CU_ASSERT_TRUE(c.uidl);
	/* the first SASL line wins; it is empty here */
	CU_ASSERT_STRING_EQUAL(c.sasl, "");
	CU_ASSERT_FALSE(spi_capa_has_sasl(&c, "NTLM"));
	CU_ASSERT_STRING_EQUAL(spi_capa_args(l, "login-delay"), "900");
	CU_ASSERT_STRING_EQUAL(spi_capa_args(l, "UIDL"), "");
	CU_ASSERT_PTR_NULL(spi_capa_args(l, "PIPELINING"));
	spi_capa_clear(&c);
	g_ptr_array_free(l, TRUE);
}

static void test_tabs_in_sasl(void)
{
	static const char *const tabs[] = {"SASL\tNTLM  GSSAPI ", NULL};
	GPtrArray *l = lines_of(tabs);
	struct spi_capa c = {0};

	spi_capa_parse(&c, l);
	CU_ASSERT_TRUE(spi_capa_has_sasl(&c, "NTLM"));
	CU_ASSERT_TRUE(spi_capa_has_sasl(&c, "gssapi"));
	CU_ASSERT_FALSE(spi_capa_has_sasl(&c, ""));
	spi_capa_clear(&c);
	g_ptr_array_free(l, TRUE);
}

static void test_response_codes(void)
{
	static const struct {
		const char *line, *code, *meaning_has;
	} cases[] = {
	    {"-ERR [IN-USE] Do you have another POP session running?", "IN-USE",
	     "locked"},
	    {"-ERR [LOGIN-DELAY] wait", "LOGIN-DELAY", "too soon"},
	    {"-ERR [SYS/TEMP] try later", "SYS/TEMP", "temporary"},
	    {"-ERR [SYS/PERM] gone", "SYS/PERM", "permanent"},
	    {"-ERR [AUTH] Authentication failed.", "AUTH", "credentials"},
	    {"-ERR [X-UNKNOWN] what", "X-UNKNOWN", NULL},
	    {"-ERR no code", "", NULL},
	    {"-ERR [unterminated", "", NULL},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct spi_reply r;

		CU_ASSERT_EQUAL(
		    spi_reply_parse(cases[i].line, strlen(cases[i].line), &r),
		    0);
		CU_ASSERT_EQUAL(r.kind, SPI_REPLY_ERR);
		CU_ASSERT_STRING_EQUAL(r.resp_code, cases[i].code);
		const char *m =
		    *r.resp_code ? spi_resp_code_meaning(r.resp_code) : NULL;
		if (cases[i].meaning_has) {
			CU_ASSERT_PTR_NOT_NULL(
			    m ? strstr(m, cases[i].meaning_has) : NULL);
		} else {
			CU_ASSERT_PTR_NULL(m);
		}
	}
}

static void test_reply_kinds(void)
{
	struct spi_reply r;

	CU_ASSERT_EQUAL(spi_reply_parse("+ ", 2, &r), 0);
	CU_ASSERT_EQUAL(r.kind, SPI_REPLY_CONTINUE);
	CU_ASSERT_EQUAL(spi_reply_parse("+", 1, &r), 0);
	CU_ASSERT_EQUAL(r.kind, SPI_REPLY_CONTINUE);
	CU_ASSERT_EQUAL(spi_reply_parse("+OK", 3, &r), 0);
	CU_ASSERT_EQUAL(r.kind, SPI_REPLY_OK);
	CU_ASSERT_EQUAL(spi_reply_parse("+x", 2, &r), -1);
}

static const struct test_case cases[] = {
    {"Dovecot's CAPA", test_dovecot_capa},
    {"values and near misses", test_values_and_near_misses},
    {"tabs and blanks in SASL", test_tabs_in_sasl},
    {"response codes", test_response_codes},
    {"reply kinds", test_reply_kinds},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"capa", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return test_run(suites);
}
