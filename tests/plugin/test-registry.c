/* Plugin loader: each broken fixture module gives its own hard error that
 * names what was asked, the paths searched and what is available. */
#include "test-runner.h"
#include <glib/gstdio.h>
#include <stddef.h>
#include <string.h>

#include "spop-private.h"

static spop_t *s;

static int setup(void)
{
	s = spop_new();
	/* Fixtures first, then the real plugins through the environment. */
	spop_config(s, "PluginPath=" FIXTURE_DIR);
	g_setenv("SPOP_PLUGIN_PATH", PLUGIN_DIR, TRUE);
	return 0;
}

static int teardown(void)
{
	spop_free(s);
	return 0;
}

static int by_name(const char *name, const struct spop_plugin_descriptor **d)
{
	spi_clear_error(s);
	return spi_plugin_by_name(s, SPOP_PLUGIN_AUTH, name, d);
}

#define ERROR_HAS(text) CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), text))

static void test_good(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	CU_ASSERT_EQUAL(by_name("good", &d), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(d->name, "good");
	CU_ASSERT_EQUAL(d->kind, SPOP_PLUGIN_AUTH);
}

static void test_bad_abi(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	CU_ASSERT_EQUAL(by_name("badabi", &d), 1202);
	CU_ASSERT_PTR_NULL(d);
	ERROR_HAS("ABI 99.1");
	ERROR_HAS("supports ABI 1.1");
	ERROR_HAS("spop-auth-badabi.so");
}

static void test_newer_minor(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	CU_ASSERT_EQUAL(by_name("newerminor", &d), 1202);
	ERROR_HAS("needs plugin ABI 1.2, newer than this libspop's 1.1");
}

static void test_missing_symbol(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	CU_ASSERT_EQUAL(by_name("nosymbol", &d), 1203);
	ERROR_HAS("does not export spop_plugin_entry");
}

static void test_name_mismatch(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	CU_ASSERT_EQUAL(by_name("misnamed", &d), 1203);
	CU_ASSERT_PTR_NULL(d);
	ERROR_HAS("spop-auth-misnamed.so declares auth plugin "
		  "'somethingelse' (selectors 145");
	ERROR_HAS("key-file " FIXTURE_DIR "/spop-auth-misnamed.plugin says "
		  "auth plugin 'misnamed'");
}

/* A key-file promising values its module does not serve would choose the
 * module for them: refused once loaded, naming both sides. */
static void test_keyfile_mismatch(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	spi_clear_error(s);
	CU_ASSERT_EQUAL(
	    spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism", 45, &d),
	    1203);
	CU_ASSERT_PTR_NULL(d);
	ERROR_HAS("auth plugin 'keymismatch'");
	ERROR_HAS("declares auth plugin 'keymismatch' (selectors 44;");
	ERROR_HAS("spop-auth-keymismatch.plugin says auth plugin "
		  "'keymismatch' (selectors 45;");
	/* and its real value is not served either: no silent substitute */
	CU_ASSERT_EQUAL(
	    spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism", 44, &d),
	    1201);
}

static void test_broken_keyfile(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	CU_ASSERT_EQUAL(by_name("badkey", &d), 1203);
	ERROR_HAS("spop-auth-badkey.plugin is not usable");
	ERROR_HAS("Selectors");
}

static void test_reserved_nonzero(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	CU_ASSERT_EQUAL(by_name("reserved", &d), 1203);
	CU_ASSERT_PTR_NULL(d);
	ERROR_HAS("spop-auth-reserved.so sets reserved descriptor members");
}

static void test_bad_setting_declaration(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	CU_ASSERT_EQUAL(by_name("badsetting", &d), 1203);
	ERROR_HAS("declares setting 0 ('BadDefault'), which has default "
		  "'500', not a whole number from 1 to 100");
}

/* SASL names are case-insensitive, so every plugin name is. */
static void test_name_case(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	CU_ASSERT_EQUAL(by_name("GOOD", &d), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(d->name, "good");
	d = NULL;
	CU_ASSERT_EQUAL(
	    spi_plugin_by_name(s, SPOP_PLUGIN_TRANSPORT, "Direct", &d), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(d->name, "direct");
	d = NULL;
	CU_ASSERT_EQUAL(by_name("NoKeyFile", &d), 0);
	CU_ASSERT_PTR_NOT_NULL(d);
}

/* A plugin built against ABI 1.0 has a shorter auth ops table: it loads,
 * and the 1.1 slot past its size is absent though the bytes are set. */
static void test_old_ops_size(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	CU_ASSERT_EQUAL(by_name("oldops", &d), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(d->abi_minor, 0);

	const struct spop_auth_ops *ops = d->ops;
	CU_ASSERT_EQUAL(ops->size, offsetof(struct spop_auth_ops, sasl_finish));
	CU_ASSERT_PTR_NOT_NULL(ops->sasl_finish);
	CU_ASSERT_FALSE(SPOP_OPS_HAS(struct spop_auth_ops, ops, sasl_finish));
	CU_ASSERT_TRUE(SPOP_OPS_HAS(struct spop_auth_ops, ops, login));
	/* unset although covered */
	CU_ASSERT_FALSE(SPOP_OPS_HAS(struct spop_auth_ops, ops, sasl_step));

	/* a 1.1 plugin has the slot covered */
	CU_ASSERT_EQUAL(by_name("good", &d), 0);
	ops = d->ops;
	CU_ASSERT_TRUE(ops->size >=
		       offsetof(struct spop_auth_ops, sasl_finish) +
			   sizeof(ops->sasl_finish));
}

static void test_not_a_module(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	CU_ASSERT_EQUAL(by_name("notelf", &d), 1203);
	ERROR_HAS("cannot load plugin module");
}

static void test_missing(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	CU_ASSERT_EQUAL(by_name("nonesuch", &d), 1201);
	ERROR_HAS("No auth plugin named 'nonesuch'");
	ERROR_HAS(FIXTURE_DIR);
	ERROR_HAS(PLUGIN_DIR);
	ERROR_HAS("available: ");
	ERROR_HAS("apop");
	ERROR_HAS("user");
}

static void test_selector(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	spi_clear_error(s);
	CU_ASSERT_EQUAL(
	    spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism", 42, &d), 0);
	CU_ASSERT_STRING_EQUAL(d->name, "good");
	CU_ASSERT_EQUAL(
	    spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism", 3, &d), 0);
	CU_ASSERT_STRING_EQUAL(d->name, "apop");
	/* badabi fails to load, so later errors can name it */
	CU_ASSERT_EQUAL(by_name("badabi", &d), 1202);
	CU_ASSERT_EQUAL(
	    spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism", 77, &d),
	    1201);
	ERROR_HAS("No auth plugin serves AuthMechanism=77");
	/* broken fixtures are named so a user sees why they were skipped:
	 * a key-file that cannot be read, and a module that failed to load
	 * earlier in this process */
	ERROR_HAS("spop-auth-badkey.plugin is not usable");
	ERROR_HAS("spop-auth-badabi.so was built for plugin ABI 99.1");
	/* rank decides between two that serve one value */
	CU_ASSERT_EQUAL(
	    spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism", 47, &d), 0);
	CU_ASSERT_STRING_EQUAL(d->name, "rankhi");
	/* found by scanning: the module without a key-file */
	CU_ASSERT_EQUAL(
	    spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism", 43, &d), 0);
	CU_ASSERT_STRING_EQUAL(d->name, "nokeyfile");
	/* a broken module chosen by value fails; nothing stands in for it */
	CU_ASSERT_EQUAL(
	    spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism", 143, &d),
	    1202);
	ERROR_HAS("auth plugin 'newerminor'");
}

/* A copy of one file of the built plugins (base) in dir. */
static void copy_plugin(const char *dir, const char *base)
{
	char *from = g_build_filename(PLUGIN_DIR, base, NULL);
	char *to = g_build_filename(dir, base, NULL);
	char *data = NULL;
	gsize len = 0;

	CU_ASSERT_TRUE_FATAL(g_file_get_contents(from, &data, &len, NULL));
	CU_ASSERT_TRUE_FATAL(g_file_set_contents(to, data, (gssize)len, NULL));
	g_free(data);
	g_free(to);
	g_free(from);
}

/* The direct transport, and USER/PASS: the session chooses its auth
 * plugin before its transport. */
static const char *const only_direct[] = {
    "spop-transport-direct.so", "spop-transport-direct.plugin",
    "spop-auth-user.so", "spop-auth-user.plugin"};

static void test_missing_transport_via_api(void)
{
	/* Every FirewallType has a plugin in the build, so this object
	 * searches a private directory holding only_direct (and, as always, the
	 * install directory, where nothing of this build is installed):
	 * FirewallType 2 (SOCKS4) has no plugin there. */
	char *dir = g_dir_make_tmp("spop-registry-XXXXXX", NULL);
	char *env = g_strdup(g_getenv("SPOP_PLUGIN_PATH"));
	char *path;
	spop_t *o;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(env);
	for (size_t i = 0; i < G_N_ELEMENTS(only_direct); i++)
		copy_plugin(dir, only_direct[i]);
	g_unsetenv("SPOP_PLUGIN_PATH");
	o = spop_new();
	path = g_strdup_printf("PluginPath=%s", dir);
	CU_ASSERT_PTR_NOT_NULL(spop_config(o, path));
	spop_set_mail_server(o, "127.0.0.1");
	CU_ASSERT_PTR_NOT_NULL(spop_config(o, "FirewallType=2"));
	CU_ASSERT_STRING_EQUAL(spop_config(o, "FirewallPort"), "1080");
	CU_ASSERT_EQUAL(spop_connect(o), 1201);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(o),
				      "No transport plugin serves "
				      "FirewallType=2"));
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(o), dir));
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(o), "available: direct"));
	CU_ASSERT_PTR_NULL(strstr(spop_last_error(o), "socks"));
	CU_ASSERT_FALSE(spop_get_connected(o));
	spop_free(o);

	/* the same object's types through the build's plugins are served */
	g_setenv("SPOP_PLUGIN_PATH", env, TRUE);
	o = spop_new();
	CU_ASSERT_PTR_NOT_NULL(spop_config(o, path));
	spop_set_mail_server(o, "127.0.0.1");
	CU_ASSERT_PTR_NOT_NULL(spop_config(o, "FirewallType=2"));
	/* socks4 is chosen and refuses for want of FirewallHost */
	CU_ASSERT_EQUAL(spop_connect(o), 118);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(o), "FirewallHost"));
	spop_free(o);

	for (size_t i = 0; i < G_N_ELEMENTS(only_direct); i++) {
		char *file = g_build_filename(dir, only_direct[i], NULL);

		CU_ASSERT_EQUAL(g_unlink(file), 0);
		g_free(file);
	}
	CU_ASSERT_EQUAL(g_rmdir(dir), 0);
	g_free(path);
	g_free(env);
	g_free(dir);
}

struct listing {
	int direct, good, badabi_error, keymismatch_error, badkey_error;
	int nokeyfile, knobs;
};

static void on_plugin(const struct spop_plugin_info *i, void *ud)
{
	struct listing *l = ud;

	if (!strcmp(i->name, "direct") && !i->error &&
	    !strcmp(i->kind_name, "transport"))
		l->direct++;
	if (!strcmp(i->name, "good") && !i->error)
		l->good++;
	if (strstr(i->path, "badabi") && i->error &&
	    strstr(i->error, "ABI 99.1"))
		l->badabi_error++;
	if (!strcmp(i->name, "keymismatch") && i->error &&
	    strstr(i->error, "key-file"))
		l->keymismatch_error++;
	/* no module to name: the key-file is what is listed */
	if (!strcmp(i->name, "badkey") && i->error &&
	    g_str_has_suffix(i->path, "spop-auth-badkey.plugin"))
		l->badkey_error++;
	if (!strcmp(i->name, "nokeyfile") && !i->error)
		l->nokeyfile++;
	if (!strcmp(i->name, "knobs") && !i->error &&
	    !strcmp(i->description, "test fixture"))
		l->knobs++;
}

static void test_listing(void)
{
	struct listing l = {0};

	CU_ASSERT_EQUAL(spop_list_plugins(s, on_plugin, &l), 0);
	CU_ASSERT_EQUAL(l.direct, 1);
	CU_ASSERT_EQUAL(l.good, 1);
	CU_ASSERT_EQUAL(l.badabi_error, 1);
	CU_ASSERT_EQUAL(l.keymismatch_error, 1);
	CU_ASSERT_EQUAL(l.badkey_error, 1);
	CU_ASSERT_EQUAL(l.nokeyfile, 1);
	CU_ASSERT_EQUAL(l.knobs, 1);
}

static const struct test_case registry_cases0[] = {
    {"good fixture loads", test_good},
    {"wrong ABI major", test_bad_abi},
    {"newer ABI minor", test_newer_minor},
    {"missing entry symbol", test_missing_symbol},
    {"name mismatch", test_name_mismatch},
    {"key-file and descriptor disagree", test_keyfile_mismatch},
    {"unreadable key-file", test_broken_keyfile},
    {"reserved descriptor members set", test_reserved_nonzero},
    {"bad setting declaration", test_bad_setting_declaration},
    {"names match in any case", test_name_case},
    {"ABI 1.0 ops size", test_old_ops_size},
    {"not a shared object", test_not_a_module},
    {"missing plugin", test_missing},
    {"selection by seed value", test_selector},
    {"missing transport via the API", test_missing_transport_via_api},
    {"registry listing", test_listing},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"plugin-registry", setup, teardown, registry_cases0},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	int rc = test_run(suites);
	return rc;
}
