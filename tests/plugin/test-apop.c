/* Known-answer test of the "apop" auth plugin: the built module is dlopened
 * and its login() run against a fake host, so the exact APOP line is checked
 * without a server (RFC 1939 section 7's example), and a greeting without a
 * usable timestamp must fail before anything is sent. */
#include "test-runner.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spop/plugin.h>

#ifndef PLUGIN_DIR
#error "PLUGIN_DIR must name the directory of the built plugin modules"
#endif

#define MODULE PLUGIN_DIR "/spop-auth-apop.so"

/* What the fake host is given and what it saw. */
struct fake {
	struct spop_host host; /* first, so a host pointer is a fake pointer */
	const char *greeting;
	const char *user;
	const char *password;
	int commands; /* command() calls */
	char line[256];
	size_t mask_from;
	int errors; /* set_error() calls */
	int error_code;
	char error[512];
	int live_allocs; /* alloc() minus free() */
};

static void *module;
static const struct spop_plugin_descriptor *desc;
static const struct spop_auth_ops *ops;

static const char *fake_setting(struct spop_host *h, const char *name)
{
	struct fake *f = (struct fake *)h;

	if (strcmp(name, "User") == 0)
		return f->user;
	if (strcmp(name, "Password") == 0)
		return f->password;
	return NULL;
}

static const char *fake_greeting(struct spop_host *h)
{
	return ((struct fake *)h)->greeting;
}

static int fake_command(struct spop_host *h, const char *line, size_t mask_from,
			const char **reply)
{
	struct fake *f = (struct fake *)h;

	f->commands++;
	snprintf(f->line, sizeof(f->line), "%s", line);
	f->mask_from = mask_from;
	*reply = "+OK mrose's maildrop has 2 messages (320 octets)";
	return 0;
}

static void *fake_alloc(struct spop_host *h, size_t len)
{
	((struct fake *)h)->live_allocs++;
	return calloc(1, len ? len : 1);
}

static void fake_free(struct spop_host *h, void *ptr)
{
	if (ptr)
		((struct fake *)h)->live_allocs--;
	free(ptr);
}

static int fake_set_error(struct spop_host *h, int code, const char *fmt, ...)
{
	struct fake *f = (struct fake *)h;
	va_list ap;

	f->errors++;
	f->error_code = code;
	va_start(ap, fmt);
	vsnprintf(f->error, sizeof(f->error), fmt, ap);
	va_end(ap);
	return code;
}

/* Only what a login-style mechanism may use is filled in; a call through
 * any other slot crashes the test, which is the failure it should be. */
static void fake_init(struct fake *f, const char *greeting)
{
	memset(f, 0, sizeof(*f));
	f->host.size = sizeof(struct spop_host);
	f->host.abi_minor = SPOP_PLUGIN_ABI_MINOR;
	f->host.setting = fake_setting;
	f->host.greeting = fake_greeting;
	f->host.command = fake_command;
	f->host.alloc = fake_alloc;
	f->host.free = fake_free;
	f->host.set_error = fake_set_error;
	f->greeting = greeting;
	f->user = "mrose";
	f->password = "tanstaaf";
}

static int load_module(void)
{
	spop_plugin_entry_fn entry;

	module = dlopen(MODULE, RTLD_NOW | RTLD_LOCAL);
	if (!module) {
		fprintf(stderr, "dlopen %s: %s\n", MODULE, dlerror());
		return 1;
	}
	*(void **)&entry = dlsym(module, SPOP_PLUGIN_ENTRY_SYMBOL);
	if (!entry) {
		fprintf(stderr, "%s has no %s\n", MODULE,
			SPOP_PLUGIN_ENTRY_SYMBOL);
		return 1;
	}
	desc = entry();
	if (!desc || desc->kind != SPOP_PLUGIN_AUTH || !desc->ops) {
		fprintf(stderr, "%s is not an auth plugin\n", MODULE);
		return 1;
	}
	ops = desc->ops;
	return 0;
}

static int unload_module(void)
{
	return module && dlclose(module) != 0;
}

static void test_descriptor(void)
{
	CU_ASSERT_EQUAL(desc->abi_major, SPOP_PLUGIN_ABI_MAJOR);
	CU_ASSERT_STRING_EQUAL(desc->name, "apop");
	CU_ASSERT_PTR_NULL(ops->sasl_name);
	CU_ASSERT_TRUE(SPOP_OPS_HAS(struct spop_auth_ops, ops, login));
}

/* RFC 1939 section 7: the digest of "<1896.697170952@dbc.mtview.ca.us>"
 * followed by "tanstaaf". */
static void test_rfc1939_example(void)
{
	struct fake f;

	fake_init(&f,
		  "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>");
	CU_ASSERT_EQUAL(ops->login(&f.host), 0);
	CU_ASSERT_EQUAL(f.commands, 1);
	CU_ASSERT_STRING_EQUAL(f.line,
			       "APOP mrose c4c9334bac560ecc979e58001b3e22fb");
	/* The trail shows "APOP mrose " and masks the digest. */
	CU_ASSERT_EQUAL(f.mask_from, strlen("APOP mrose "));
	CU_ASSERT_EQUAL(f.errors, 0);
	CU_ASSERT_EQUAL(f.live_allocs, 0);
}

/* Greetings APOP cannot use: the plugin must refuse with 171, name the
 * greeting, and send nothing (no digest of a guessed timestamp). */
static void test_no_timestamp(void)
{
	static const char *const greetings[] = {
	    "+OK POP3 server ready",
	    "+OK POP3 server ready <1896.697170952>",	 /* no '@' */
	    "+OK POP3 server ready <1896.697170952@dbc", /* no '>' */
	    "+OK POP3 server ready <@dbc.mtview.ca.us>", /* nothing before '@'
							  */
	    "+OK POP3 server ready <1896 697170952@dbc.mtview.ca.us>", /* space
									*/
	    "+OK POP3 server ready <1896@697170952@dbc.mtview.ca.us>", /* 2 '@'
									*/
	};

	for (size_t i = 0; i < sizeof(greetings) / sizeof(greetings[0]); i++) {
		struct fake f;

		fake_init(&f, greetings[i]);
		CU_ASSERT_EQUAL(ops->login(&f.host), 171);
		CU_ASSERT_EQUAL(f.commands, 0);
		CU_ASSERT_EQUAL(f.errors, 1);
		CU_ASSERT_EQUAL(f.error_code, 171);
		CU_ASSERT_PTR_NOT_NULL(strstr(f.error, "timestamp"));
		CU_ASSERT_PTR_NOT_NULL(strstr(f.error, greetings[i]));
		CU_ASSERT_EQUAL(f.live_allocs, 0);
		if (f.commands != 0 || f.error_code != 171)
			fprintf(stderr, "greeting '%s': sent '%s', error %d\n",
				greetings[i], f.line, f.error_code);
	}
}

static const struct test_case apop_cases[] = {
    {"descriptor", test_descriptor},
    {"RFC 1939 section 7 example", test_rfc1939_example},
    {"greeting without a usable timestamp", test_no_timestamp},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"plugin-apop", load_module, unload_module, apop_cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return test_run(suites);
}
