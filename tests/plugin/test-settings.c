/* Settings declared by plugins (the "knobs" fixture declares one INT, one
 * BOOL and one SECRET STRING): Config finds the declaring plugin from the
 * key-files and loads only it, checks values by type and range, keeps them
 * per object and lists them; host->setting() reads them, and never reads a
 * property whose getter talks to the server. Runs in its own process: the
 * first case checks which modules Config loaded. */
#include "test-runner.h"
#include <string.h>

#include "spop-private.h"

#include "fixture-setup.h"

static spop_t *fixture_object(void)
{
	spop_t *o = spop_new();

	CU_ASSERT_PTR_NOT_NULL(spop_config(o, "PluginPath=" FIXTURE_DIR));
	return o;
}

#define CONFIG_IS(o, name, want)                                               \
	do {                                                                   \
		const char *got_ = spop_config(o, name);                       \
		CU_ASSERT_PTR_NOT_NULL(got_);                                  \
		if (got_)                                                      \
			CU_ASSERT_STRING_EQUAL(got_, want);                    \
	} while (0)

static void test_config_loads_only_declarer(void)
{
	CU_ASSERT_FALSE(mapped("spop-auth-knobs.so"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "KnobsRounds=5"));
	CU_ASSERT_EQUAL(spop_last_error_code(s), 0);
	CU_ASSERT_TRUE(mapped("spop-auth-knobs.so"));
	CU_ASSERT_FALSE(mapped("spop-auth-good.so"));
	CU_ASSERT_FALSE(mapped("spop-auth-rankhi.so"));
	CU_ASSERT_FALSE(mapped("spop-auth-user.so"));
	CU_ASSERT_FALSE(mapped("spop-transport-direct.so"));
}

static void test_int(void)
{
	spop_t *o = fixture_object();

	CONFIG_IS(s, "KnobsRounds", "5");
	/* per object: another one reads the declared default */
	CONFIG_IS(o, "KnobsRounds", "10");
	CU_ASSERT_PTR_NOT_NULL(spop_config(o, "knobsrounds= 100"));
	CONFIG_IS(o, "KNOBSROUNDS", "100");
	CONFIG_IS(s, "KnobsRounds", "5");

	CU_ASSERT_PTR_NULL(spop_config(o, "KnobsRounds=0"));
	CU_ASSERT_EQUAL(spop_last_error_code(o), 1211);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(o),
				      "KnobsRounds='0': expected a whole "
				      "number from 1 to 100"));
	CU_ASSERT_PTR_NULL(spop_config(o, "KnobsRounds=101"));
	CU_ASSERT_PTR_NULL(spop_config(o, "KnobsRounds=ten"));
	CU_ASSERT_EQUAL(spop_last_error_code(o), 1211);
	/* a refused value leaves the old one */
	CONFIG_IS(o, "KnobsRounds", "100");
	spop_free(o);
}

static void test_bool(void)
{
	spop_t *o = fixture_object();

	/* declared default "no" reads back in the reference's form */
	CONFIG_IS(o, "KnobsStrict", "False");
	CU_ASSERT_PTR_NOT_NULL(spop_config(o, "KnobsStrict=yes"));
	CONFIG_IS(o, "KnobsStrict", "True");
	CU_ASSERT_PTR_NOT_NULL(spop_config(o, "KnobsStrict=0"));
	CONFIG_IS(o, "KnobsStrict", "False");
	CU_ASSERT_PTR_NULL(spop_config(o, "KnobsStrict=maybe"));
	CU_ASSERT_EQUAL(spop_last_error_code(o), 1211);
	spop_free(o);
}

static void test_secret_string(void)
{
	spop_t *o = fixture_object();

	CONFIG_IS(o, "KnobsToken", "fixture-default-token");
	CU_ASSERT_PTR_NOT_NULL(spop_config(o, "KnobsToken=tok=en 123"));
	CONFIG_IS(o, "KnobsToken", "tok=en 123");
	CU_ASSERT_PTR_NOT_NULL(spop_config(o, "KnobsToken="));
	CONFIG_IS(o, "KnobsToken", "");
	spop_free(o);
}

/* A plugin cannot take a name the core has: its "User" is ignored, with a
 * warning naming it, and Config's User is the property. */
static void test_core_name_not_taken(void)
{
	spop_t *o = fixture_object();

	CU_ASSERT_PTR_NOT_NULL(strstr(warnings->str,
				      "spop-auth-knobs.so declares setting "
				      "'User', which libspop already has"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(o, "User=bob"));
	CU_ASSERT_STRING_EQUAL(spop_get_user(o), "bob");
	spop_free(o);
}

/* Declared names come from the object's own search path. */
static void test_not_on_path(void)
{
	spop_t *o = spop_new();

	CU_ASSERT_PTR_NULL(spop_config(o, "KnobsRounds=5"));
	CU_ASSERT_EQUAL(spop_last_error_code(o), 1210);
	CU_ASSERT_PTR_NULL(spop_config(o, "KnobsRounds"));
	CU_ASSERT_EQUAL(spop_last_error_code(o), 1210);
	spop_free(o);
}

static void test_declarer_broken(void)
{
	CU_ASSERT_PTR_NULL(spop_config(s, "BadDefault=3"));
	CU_ASSERT_EQUAL(spop_last_error_code(s), 1203);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s),
				      "'BadDefault' is declared by auth "
				      "plugin 'badsetting', which cannot be "
				      "used"));
	/* names nobody declares are still unknown */
	CU_ASSERT_PTR_NULL(spop_config(s, "NoSuchKnob=1"));
	CU_ASSERT_EQUAL(spop_last_error_code(s), 1210);
}

static void test_host_reads(void)
{
	spop_t *o = fixture_object();
	struct spi_host sh;
	struct spop_host *h = &sh.pub;

	spi_host_init(&sh, o, NULL);
	CU_ASSERT_PTR_NOT_NULL(spop_config(o, "KnobsRounds=42"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(o, "KnobsStrict=True"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(o, "KnobsToken=s3cret"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(o, "User=carol"));

	CU_ASSERT_STRING_EQUAL(h->setting(h, "KnobsRounds"), "42");
	CU_ASSERT_EQUAL(h->setting_int(h, "knobsrounds", -1), 42);
	CU_ASSERT_STRING_EQUAL(h->setting(h, "KnobsStrict"), "True");
	CU_ASSERT_EQUAL(h->setting_int(h, "KnobsStrict", -1), 1);
	CU_ASSERT_STRING_EQUAL(h->setting(h, "KnobsToken"), "s3cret");
	CU_ASSERT_STRING_EQUAL(h->setting(h, "User"), "carol");
	CU_ASSERT_STRING_EQUAL(h->setting(h, "MailPort"), "110");
	CU_ASSERT_EQUAL(h->setting_int(h, "MailPort", -1), 110);
	CU_ASSERT_STRING_EQUAL(h->setting(h, "MaskSensitive"), "True");

	/* an unset declared setting reads its default */
	spop_t *p = fixture_object();
	struct spi_host shp;
	struct spop_host *hp = &shp.pub;
	spi_host_init(&shp, p, NULL);
	CU_ASSERT_STRING_EQUAL(hp->setting(hp, "KnobsRounds"), "10");
	CU_ASSERT_STRING_EQUAL(hp->setting(hp, "KnobsStrict"), "False");
	spop_free(p);
	spop_free(o);
}

/* Getters that talk to the server are never reached from a plugin, and
 * reading leaves the object's last error alone. */
static void test_host_never_does_io(void)
{
	spop_t *o = fixture_object();
	struct spi_host sh;
	struct spop_host *h = &sh.pub;

	spi_host_init(&sh, o, NULL);
	CU_ASSERT_PTR_NULL(spop_config(o, "NoSuchThing"));
	CU_ASSERT_EQUAL(spop_last_error_code(o), 1210);

	CU_ASSERT_PTR_NULL(h->setting(h, "MessageSize"));
	CU_ASSERT_PTR_NULL(h->setting(h, "MessageUID"));
	CU_ASSERT_PTR_NULL(h->setting(h, "MessageText"));
	CU_ASSERT_PTR_NULL(h->setting(h, "MessageHeadersString"));
	CU_ASSERT_EQUAL(h->setting_int(h, "MessageSize", -7), -7);
	CU_ASSERT_PTR_NULL(h->setting(h, "NoSuchThing"));
	CU_ASSERT_PTR_NULL(h->setting(h, "Command"));
	CU_ASSERT_PTR_NULL(h->setting(h, "MessageHeaderField(0)"));
	CU_ASSERT_EQUAL(spop_last_error_code(o), 1210);

	/* the application still reads them through Config */
	CONFIG_IS(o, "MessageSize", "0");
	CONFIG_IS(o, "MessageUID", "");
	spop_free(o);
}

struct seen {
	int n, rounds, strict, token, user, digest;
};

static void on_setting(const struct spop_setting_info *i, void *ud)
{
	struct seen *v = ud;

	/* the fixture's own; the built plugins on the path declare theirs */
	if (!strcmp(i->plugin_name, "knobs"))
		v->n++;
	if (!strcmp(i->name, "DigestMD5Service") &&
	    !strcmp(i->plugin_name, "digest-md5") &&
	    !strcmp(i->default_value, "pop"))
		v->digest++;
	CU_ASSERT_EQUAL(i->size, sizeof(struct spop_setting_info));
	if (!strcmp(i->name, "KnobsRounds") && i->type == SPOP_SETTING_INT &&
	    !strcmp(i->type_name, "int") && !strcmp(i->default_value, "10") &&
	    i->min == 1 && i->max == 100 && !i->secret &&
	    !strcmp(i->plugin_name, "knobs") &&
	    !strcmp(i->plugin_kind_name, "auth") &&
	    !strcmp(i->description, "rounds of the fixture's work"))
		v->rounds++;
	if (!strcmp(i->name, "KnobsStrict") && !strcmp(i->type_name, "bool") &&
	    !strcmp(i->default_value, "False") && !i->secret)
		v->strict++;
	/* a secret's default is masked */
	if (!strcmp(i->name, "KnobsToken") && !strcmp(i->type_name, "string") &&
	    !strcmp(i->default_value, "********") && i->secret)
		v->token++;
	if (!strcmp(i->name, "User"))
		v->user++;
}

static void test_listing(void)
{
	struct seen v = {0};

	CU_ASSERT_EQUAL(spop_list_settings(s, on_setting, &v), 0);
	CU_ASSERT_EQUAL(v.rounds, 1);
	CU_ASSERT_EQUAL(v.strict, 1);
	CU_ASSERT_EQUAL(v.token, 1);
	CU_ASSERT_EQUAL(v.user, 0);
	CU_ASSERT_EQUAL(v.n, 3);
	CU_ASSERT_EQUAL(v.digest, 1);
	CU_ASSERT_EQUAL(spop_list_settings(s, NULL, NULL), 1211);
}

static const struct test_case cases[] = {
    {"Config loads only the declaring plugin", test_config_loads_only_declarer},
    {"INT: range, per object, any case", test_int},
    {"BOOL reads True/False", test_bool},
    {"SECRET STRING", test_secret_string},
    {"core names cannot be declared", test_core_name_not_taken},
    {"only plugins on the object's path", test_not_on_path},
    {"declaring plugin broken", test_declarer_broken},
    {"host->setting reads the store", test_host_reads},
    {"host->setting never does I/O", test_host_never_does_io},
    {"spop_list_settings", test_listing},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"plugin-settings", setup, teardown, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return test_run(suites);
}
