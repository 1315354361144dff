/* Choosing a plugin reads key-files and loads only the chosen module; a
 * module without a key-file is found by loading it, with a warning. Each
 * check looks at what this process has mapped (/proc/self/maps), so this
 * suite runs in its own process and its cases run in order: a module
 * checked as "not loaded" is never chosen earlier. */
#include "test-runner.h"
#include <string.h>

#include "spop-private.h"

#include "fixture-setup.h"

static void test_by_value_loads_one(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	CU_ASSERT_FALSE(mapped("spop-auth-apop.so"));
	CU_ASSERT_EQUAL(
	    spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism", 3, &d), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(d->name, "apop");
	CU_ASSERT_TRUE(mapped("spop-auth-apop.so"));
	/* the other auth plugins, broken or not, stay unloaded */
	CU_ASSERT_FALSE(mapped("spop-auth-user.so"));
	CU_ASSERT_FALSE(mapped("spop-auth-good.so"));
	CU_ASSERT_FALSE(mapped("spop-auth-badabi.so"));
	CU_ASSERT_FALSE(mapped("spop-auth-knobs.so"));
	/* and other kinds are not even looked at */
	CU_ASSERT_FALSE(mapped("spop-transport-direct.so"));
}

/* The one cost of a missing key-file: that module is loaded whenever its
 * kind is chosen, and the warning says which module and why. */
static void test_scan_fallback_warns(void)
{
	CU_ASSERT_TRUE(mapped("spop-auth-nokeyfile.so"));
	CU_ASSERT_PTR_NOT_NULL(strstr(warnings->str, FIXTURE_DIR
				      "/spop-auth-nokeyfile.so "
				      "has no key-file "
				      "spop-auth-nokeyfile.plugin"));
	/* once per module and process, not once per selection */
	const struct spop_plugin_descriptor *d = NULL;
	size_t before = warnings->len;
	CU_ASSERT_EQUAL(
	    spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism", 3, &d), 0);
	CU_ASSERT_EQUAL(warnings->len, before);
	/* modules that have a key-file never warn */
	CU_ASSERT_PTR_NULL(strstr(warnings->str, "spop-auth-good.so"));
}

static void test_rank_loads_winner_only(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	CU_ASSERT_EQUAL(
	    spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism", 47, &d), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(d->name, "rankhi");
	CU_ASSERT_EQUAL(d->rank, 7);
	CU_ASSERT_FALSE(mapped("spop-auth-ranklo.so"));
}

static void test_by_name_loads_one(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	CU_ASSERT_EQUAL(
	    spi_plugin_by_name(s, SPOP_PLUGIN_TRANSPORT, "DIRECT", &d), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_TRUE(mapped("spop-transport-direct.so"));
	CU_ASSERT_FALSE(mapped("spop-auth-user.so"));
	CU_ASSERT_FALSE(mapped("spop-auth-good.so"));
}

/* A missing plugin is reported from key-files alone. */
static void test_missing_loads_nothing(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	CU_ASSERT_EQUAL(
	    spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism", 9999, &d),
	    1201);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "good"));
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "user"));
	CU_ASSERT_FALSE(mapped("spop-auth-good.so"));
	CU_ASSERT_FALSE(mapped("spop-auth-user.so"));
}

static void count_plugin(const struct spop_plugin_info *info, void *ud)
{
	(*(int *)ud)++;
}

/* Listing, by contrast, loads everything to say what works. */
static void test_listing_loads_all(void)
{
	int n = 0;

	CU_ASSERT_EQUAL(spop_list_plugins(s, count_plugin, &n), 0);
	CU_ASSERT_TRUE(n > 10);
	CU_ASSERT_TRUE(mapped("spop-auth-user.so"));
	CU_ASSERT_TRUE(mapped("spop-auth-good.so"));
}

static const struct test_case cases[] = {
    {"by value: only the chosen module loads", test_by_value_loads_one},
    {"no key-file: scanned, with a warning", test_scan_fallback_warns},
    {"by rank: only the winner loads", test_rank_loads_winner_only},
    {"by name: only the named module loads", test_by_name_loads_one},
    {"missing: nothing loads", test_missing_loads_nothing},
    {"listing loads every module", test_listing_loads_all},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"plugin-selection", setup, teardown, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return test_run(suites);
}
