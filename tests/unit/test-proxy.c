/* The proxy a connect goes through (net/proxy.c): FirewallType as set,
 * FirewallAutoDetect reading all_proxy, socks_proxy, https_proxy and
 * http_proxy in that order, the URL's parts standing in for the Firewall*
 * settings the transport reads, and the MailServer bypassing the proxy
 * when ProxyExceptionsList (or no_proxy, for a detected proxy) names it.
 * Connects through real proxies are tests/integration/test-proxy-*.c. */
#include "test-runner.h"

#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "spop-private.h"

static const char *const vars[] = {
    "all_proxy",   "ALL_PROXY",	 "socks_proxy", "SOCKS_PROXY", "https_proxy",
    "HTTPS_PROXY", "http_proxy", "HTTP_PROXY",	"no_proxy",    "NO_PROXY",
};

static spop_t *fresh(const char *server)
{
	spop_t *s = spop_new();

	for (size_t i = 0; i < G_N_ELEMENTS(vars); i++)
		g_unsetenv(vars[i]);
	spop_set_mail_server(s, server);
	return s;
}

static int choose(spop_t *s, bool *remote_dns)
{
	int type = -1;
	bool dns = false;

	CU_ASSERT_EQUAL(spi_proxy_choose(s, &type, &dns), 0);
	if (remote_dns)
		*remote_dns = dns;
	return type;
}

static void setting_is(spop_t *s, const char *name, const char *want)
{
	char *v = spi_proxy_setting(s, name);

	CU_ASSERT_PTR_NOT_NULL(v);
	if (v && strcmp(v, want))
		fprintf(stderr, "%s: got '%s', want '%s'\n", name, v, want);
	CU_ASSERT(v && !strcmp(v, want));
	g_free(v);
}

static void test_settings_as_set(void)
{
	spop_t *s = fresh("mail.example");

	/* no type, no detection: direct, even with all_proxy set */
	g_setenv("all_proxy", "socks5://127.0.0.1:9", TRUE);
	CU_ASSERT_EQUAL(choose(s, NULL), SPOP_FW_NONE);
	CU_ASSERT_PTR_NULL(spi_proxy_setting(s, "FirewallHost"));
	/* FirewallType wins over the environment */
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallAutoDetect=True"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallType=1"));
	CU_ASSERT_EQUAL(choose(s, NULL), SPOP_FW_TUNNEL);
	CU_ASSERT_PTR_NULL(spi_proxy_setting(s, "FirewallHost"));
	spop_free(s);
}

static void test_detected(void)
{
	spop_t *s = fresh("mail.example");
	bool dns = false;

	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallAutoDetect=True"));
	CU_ASSERT_EQUAL(choose(s, NULL), SPOP_FW_NONE);
	/* the order: all_proxy before socks_proxy before http(s)_proxy */
	g_setenv("http_proxy", "http://web.example:3128", TRUE);
	CU_ASSERT_EQUAL(choose(s, NULL), SPOP_FW_TUNNEL);
	setting_is(s, "FirewallHost", "web.example");
	setting_is(s, "FirewallPort", "3128");
	g_setenv("HTTPS_PROXY", "http://secure.example", TRUE);
	CU_ASSERT_EQUAL(choose(s, NULL), SPOP_FW_TUNNEL);
	setting_is(s, "FirewallHost", "secure.example");
	setting_is(s, "FirewallPort", "80");
	g_setenv("socks_proxy", "socks4a://s4.example", TRUE);
	CU_ASSERT_EQUAL(choose(s, &dns), SPOP_FW_SOCKS4A);
	CU_ASSERT_TRUE(dns);
	setting_is(s, "FirewallPort", "1080");
	g_setenv("all_proxy", "socks5h://me:p%40ss@[::1]:1081", TRUE);
	CU_ASSERT_EQUAL(choose(s, &dns), SPOP_FW_SOCKS5);
	CU_ASSERT_TRUE(dns);
	setting_is(s, "FirewallType", "3");
	setting_is(s, "FirewallHost", "::1");
	setting_is(s, "FirewallPort", "1081");
	setting_is(s, "FirewallUser", "me");
	setting_is(s, "FirewallPassword", "p@ss");
	/* the application's own settings are untouched */
	CU_ASSERT_STRING_EQUAL(spop_config(s, "FirewallType"), "0");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "FirewallHost"), "");
	/* an unusable URL names its variable */
	g_setenv("all_proxy", "https://p.example", TRUE);
	CU_ASSERT_EQUAL(spi_proxy_choose(s, &(int){0}, &dns),
			SPOP_ERR_NOT_AVAILABLE);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "all_proxy"));
	g_setenv("all_proxy", "socks5://[::1", TRUE);
	CU_ASSERT_EQUAL(spi_proxy_choose(s, &(int){0}, &dns),
			SPOP_ERR_INVALID_VALUE);
	spop_free(s);
}

static void test_exceptions(void)
{
	static const struct {
		const char *server, *list;
		bool direct;
	} cases[] = {
	    {"mail.example", "mail.example", true},
	    {"MAIL.example", "other.example;mail.example", true},
	    {"mail.example", "*.example", true},
	    {"mail.example", ".example", true},
	    {"example", "*.example", true},
	    {"badexample", "*.example", false},
	    {"mail.example", "*", true},
	    {"mail.example", "mail.example.org", false},
	    {"127.0.0.1", " 127.0.0.1 ", true},
	    {"::1", "[0::1]", true},
	    {"*mail.example", "mail.example", true},
	    {"mail.example", "", false},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		spop_t *s = fresh(cases[i].server);
		char *cfg =
		    g_strconcat("ProxyExceptionsList=", cases[i].list, NULL);

		CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallType=3"));
		CU_ASSERT_PTR_NOT_NULL(spop_config(s, cfg));
		int type = choose(s, NULL);
		if ((type == SPOP_FW_NONE) != cases[i].direct)
			fprintf(stderr, "%s against '%s': type %d\n",
				cases[i].server, cases[i].list, type);
		CU_ASSERT_EQUAL(type == SPOP_FW_NONE, cases[i].direct);
		g_free(cfg);
		spop_free(s);
	}
	/* no_proxy bypasses a detected proxy only */
	spop_t *s = fresh("mail.example");
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallAutoDetect=True"));
	g_setenv("all_proxy", "socks5://127.0.0.1", TRUE);
	g_setenv("no_proxy", "localhost, .example", TRUE);
	CU_ASSERT_EQUAL(choose(s, NULL), SPOP_FW_NONE);
	CU_ASSERT_PTR_NULL(spi_proxy_setting(s, "FirewallHost"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallType=3"));
	CU_ASSERT_EQUAL(choose(s, NULL), SPOP_FW_SOCKS5);
	spop_free(s);
	g_unsetenv("all_proxy");
	g_unsetenv("no_proxy");
}

static const struct test_case cases[] = {
    {"the settings as set; FirewallType before detection",
     test_settings_as_set},
    {"FirewallAutoDetect: variables, order, URL parts", test_detected},
    {"ProxyExceptionsList and no_proxy", test_exceptions},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"proxy", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return test_run(suites);
}
