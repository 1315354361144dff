/* Address-list parsing as data: names quoted, escaped, from comments and
 * from encoded-words; groups; routes; garbage. Includes examples of
 * RFC 5322 appendix A and the GMime 3.2.13 name decoding we work around. */
#include "test-runner.h"
#include <string.h>

#include "message-parse.h"

struct acase {
	const char *in;
	size_t n;
	struct {
		const char *name, *address;
	} r[4];
};

static const struct acase cases[] = {
    /* quoting */
    {"\"Doe, John\" <john@x.com>, jane@y.org",
     2,
     {{"Doe, John", "john@x.com"}, {"", "jane@y.org"}}},
    {"\"A \\\"q\\\" B\" <a@b.c>", 1, {{"A \"q\" B", "a@b.c"}}},
    {"\"x\\\\y\" <c@d>", 1, {{"x\\y", "c@d"}}},
    {"<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
     2,
     {{"", "boss@nil.test"},
      {"Giant; \"Big\" Box", "sysservices@example.net"}}},
    {"\"\" <a@b>", 1, {{"", "a@b"}}},
    /* comments */
    {"john@x.com (John Doe)", 1, {{"John Doe", "john@x.com"}}},
    {"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
     1,
     {{"Pete", "pete@silly.test"}}},
    {"John Smith <a@b> (work)", 1, {{"John Smith", "a@b"}}},
    /* several */
    {"Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
     3,
     {{"Mary Smith", "mary@x.test"},
      {"", "jdoe@example.org"},
      {"Who?", "one@y.test"}}},
    {"a@b, c@d , e@f", 3, {{"", "a@b"}, {"", "c@d"}, {"", "e@f"}}},
    {"x <a@b>, , ,e@f", 2, {{"x", "a@b"}, {"", "e@f"}}},
    /* ';' typed where ',' was meant */
    {"a@b; c@d", 2, {{"", "a@b"}, {"", "c@d"}}},
    /* groups */
    {"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
     3,
     {{"Ed Jones", "c@a.test"},
      {"", "joe@where.test"},
      {"John", "jdoe@one.test"}}},
    {"Team: a@x, b@y;, c@z", 3, {{"", "a@x"}, {"", "b@y"}, {"", "c@z"}}},
    {"Undisclosed recipients:;", 0, {{NULL, NULL}}},
    {"Empty: ;, x@y", 1, {{"", "x@y"}}},
    {"Team: a@x; d@e", 2, {{"", "a@x"}, {"", "d@e"}}},
    /* encoded-words */
    {"=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>",
     1,
     {{"Keld Jørn Simonsen", "keld@dkuug.dk"}}},
    {"=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>",
     1,
     {{"André Pirard", "PIRARD@vm1.ulg.ac.be"}}},
    /* GMime 3.2.13 alone gives "Hello" */
    {"=?UTF-8?B?SGVsbG8=?= =?UTF-8?B?IFdvcmxk?= <a@b>",
     1,
     {{"Hello World", "a@b"}}},
    {"\"=?utf-8?Q?Andr=C3=A9?=\" <andre@x.fr>", 1, {{"André", "andre@x.fr"}}},
    {"a@b (=?UTF-8?B?SGVsbG8=?= =?UTF-8?B?IFdvcmxk?=)",
     1,
     {{"Hello World", "a@b"}}},
    /* a decoded comma splits nothing */
    {"=?utf-8?Q?Doe=2C_John?= <a@b>, c@d",
     2,
     {{"Doe, John", "a@b"}, {"", "c@d"}}},
    {"=?utf-8?Q?T=C3=A9am?=: =?utf-8?Q?M=C3=A9?= <m@x>;", 1, {{"Mé", "m@x"}}},
    {"=?utf-8?B?!!!?= <a@b>", 1, {{"=?utf-8?B?!!!?=", "a@b"}}},
    /* an addr-spec is never decoded */
    {"=?utf-8?Q?x?=@host", 1, {{"", "=?utf-8?Q?x?=@host"}}},
    {"\"=?utf-8?Q?x?=\"@host", 1, {{"", "\"=?utf-8?Q?x?=\"@host"}}},
    /* raw 8-bit */
    {"Andr\xe9 <a@b>", 1, {{"André", "a@b"}}},
    {"Müller <m@b>", 1, {{"Müller", "m@b"}}},
    /* obsolete route, missing '>' */
    {"<@r1.example,@r2.example:user@host.example>",
     1,
     {{"", "user@host.example"}}},
    {"John <john@x.com", 1, {{"John", "john@x.com"}}},
    {"", 0, {{NULL, NULL}}},
};

static void test_cases(void)
{
	struct spi_recipient *r;
	GPtrArray *out;
	size_t i, j, n;
	char *msg;
	int ok;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		out = g_ptr_array_new_with_free_func(
		    (GDestroyNotify)spi_recipient_free);
		n = spi_parse_address_list(cases[i].in, 2, out);
		ok = n == cases[i].n && out->len == n;
		for (j = 0; ok && j < n; j++) {
			r = out->pdata[j];
			ok = !strcmp(r->name, cases[i].r[j].name) &&
			     !strcmp(r->address, cases[i].r[j].address) &&
			     r->type == 2;
		}
		msg = g_strdup_printf("case %zu \"%s\": got %zu", i,
				      cases[i].in, n);
		for (j = 0; j < out->len; j++) {
			r = out->pdata[j];
			char *m = g_strdup_printf("%s [%s] <%s>", msg, r->name,
						  r->address);
			g_free(msg);
			msg = m;
		}
		CU_assertImplementation(ok, __LINE__, msg, __FILE__, "",
					CU_FALSE);
		g_free(msg);
		g_ptr_array_unref(out);
	}
}

/* Several threads at once, GMime not yet initialised: spi_gmime_init()
 * and the shared parser options must hold (run this suite first). */
static gpointer parse_many(gpointer data)
{
	struct spi_recipient *r;
	GPtrArray *out;
	int i, ok = 1;

	for (i = 0; i < 300; i++) {
		out = g_ptr_array_new_with_free_func(
		    (GDestroyNotify)spi_recipient_free);
		ok = ok &&
		     spi_parse_address_list("=?UTF-8?B?SGVsbG8=?= "
					    "=?UTF-8?B?IFdvcmxk?= <a@b>, c@d",
					    1, out) == 2;
		r = out->len ? out->pdata[0] : NULL;
		ok = ok && r && !strcmp(r->name, "Hello World");
		g_ptr_array_unref(out);
	}
	return GINT_TO_POINTER(ok);
}

static void test_threads(void)
{
	GThread *t[6];
	size_t i;
	int ok = 1;

	for (i = 0; i < G_N_ELEMENTS(t); i++)
		t[i] = g_thread_new("parse", parse_many, NULL);
	for (i = 0; i < G_N_ELEMENTS(t); i++)
		ok = GPOINTER_TO_INT(g_thread_join(t[i])) && ok;
	CU_ASSERT_TRUE(ok);
}

/* Recipients are appended, the count is of those appended. */
static void test_append(void)
{
	GPtrArray *out =
	    g_ptr_array_new_with_free_func((GDestroyNotify)spi_recipient_free);
	struct spi_recipient *r;

	CU_ASSERT_EQUAL(spi_parse_address_list("a@b", 0, out), 1);
	CU_ASSERT_EQUAL(spi_parse_address_list("c@d, e@f", 1, out), 2);
	CU_ASSERT_EQUAL_FATAL(out->len, 3);
	r = out->pdata[0];
	CU_ASSERT_EQUAL(r->type, 0);
	CU_ASSERT_STRING_EQUAL(r->address, "a@b");
	r = out->pdata[2];
	CU_ASSERT_EQUAL(r->type, 1);
	CU_ASSERT_STRING_EQUAL(r->address, "e@f");
	CU_ASSERT_EQUAL(spi_parse_address_list(NULL, 0, out), 0);
	CU_ASSERT_EQUAL(spi_parse_address_list("a@b", 0, NULL), 0);
	CU_ASSERT_EQUAL(out->len, 3);
	g_ptr_array_unref(out);
	spi_recipient_free(NULL);
}

/* Whatever comes in: no crash, and every recipient has an address and a
 * UTF-8 name. */
static int sane(const char *in)
{
	GPtrArray *out =
	    g_ptr_array_new_with_free_func((GDestroyNotify)spi_recipient_free);
	struct spi_recipient *r;
	size_t n = spi_parse_address_list(in, 1, out), i;
	int ok = n == out->len;

	for (i = 0; ok && i < out->len; i++) {
		r = out->pdata[i];
		ok = r->address && *r->address && r->name &&
		     g_utf8_validate(r->name, -1, NULL) &&
		     g_utf8_validate(r->address, -1, NULL);
	}
	g_ptr_array_unref(out);
	return ok;
}

static void test_garbage(void)
{
	static const char *const fixed[] = {
	    ",,,<<<>>>@@@\"",
	    "\"",
	    "(((",
	    ")))",
	    "\\",
	    "<",
	    ">",
	    ":;",
	    ";;",
	    "a@",
	    "@b",
	    "@",
	    "<>",
	    "=?",
	    "=?utf-8?Q?",
	    "\"=?utf-8?Q?x",
	    "(=?utf-8?Q?x?=",
	    "\"unterminated <a@b>",
	    "a:b:c:d@e;;;",
	    "<a<b<c@d>>>",
	    "\"a\\",
	    "(a\\",
	    "foo bar",
	    "G: H: I: a@b;;;",
	    "[",
	    "a@[1.2.3",
	    "\xff\xfe@\xfd",
	};
	static const char alphabet[] = "ab@.<>\"(),;:\\ =?QB_\xe9[]";
	GRand *rand = g_rand_new_with_seed(5322);
	char in[40];
	size_t i;
	int j, ok = 1;

	for (i = 0; i < G_N_ELEMENTS(fixed); i++) {
		if (!sane(fixed[i])) {
			ok = 0;
			fprintf(stderr, "not sane: %s\n", fixed[i]);
		}
	}
	for (i = 0; i < 3000; i++) {
		for (j = 0; j < (int)sizeof(in) - 1; j++)
			in[j] = alphabet[g_rand_int_range(
			    rand, 0, (gint32)sizeof(alphabet) - 1)];
		in[sizeof(in) - 1] = '\0';
		if (!sane(in)) {
			ok = 0;
			fprintf(stderr, "not sane: %s\n", in);
		}
	}
	CU_ASSERT_TRUE(ok);
	g_rand_free(rand);
}

static const struct test_case address_cases0[] = {
    {"threads, first use", test_threads},
    {"names, comments, groups, encoded-words", test_cases},
    {"appends and counts", test_append},
    {"garbage tolerated", test_garbage},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"address-list", NULL, NULL, address_cases0},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{

	int rc = test_run(suites);
	return rc;
}
