/* RFC 2047 decoding as data: charsets, both encodings, joining of adjacent
 * words, what must stay as written, and the 8-bit fallback. Includes the
 * examples of RFC 2047 sec. 8 and the GMime 3.2.13 cases we work around. */
#include "test-runner.h"
#include <string.h>

#include "message-parse.h"

struct dcase {
	const char *in, *want;
};

static void run_cases(const struct dcase *c, size_t n)
{
	char *got, *msg;
	size_t i;

	for (i = 0; i < n; i++) {
		got = spi_rfc2047_decode(c[i].in);
		msg = g_strdup_printf("decode(\"%s\") = \"%s\", want \"%s\"",
				      c[i].in, got ? got : "(null)", c[i].want);
		CU_assertImplementation(got && !strcmp(got, c[i].want),
					__LINE__, msg, __FILE__, "", CU_FALSE);
		g_free(msg);
		g_free(got);
	}
}

static void test_encodings(void)
{
	static const struct dcase c[] = {
	    {"=?UTF-8?B?w6nDqA==?=", "éè"},
	    {"=?utf-8?Q?caf=C3=A9_au_lait?=", "café au lait"},
	    /* lower-case encoding letter and hex digits */
	    {"=?utf-8?q?caf=c3=a9?=", "café"},
	    {"=?utf-8?b?w6k=?=", "é"},
	    {"=?UTF-8?B?w6k?=", "é"}, /* padding left out */
	    {"=?utf-8?Q?a_b__c?=", "a b  c"},
	    {"=?utf-8?Q?a=5Fb?=", "a_b"},
	    {"=?utf-8?Q?100=25?=", "100%"},
	    {"Hello   World", "Hello   World"},
	    {"", ""},
	};

	run_cases(c, G_N_ELEMENTS(c));
	CU_ASSERT_PTR_NULL(spi_rfc2047_decode(NULL));
}

static void test_charsets(void)
{
	static const struct dcase c[] = {
	    {"=?ISO-8859-1?Q?Andr=E9?=", "André"},
	    {"=?iso-8859-1?b?QW5kcuk=?=", "André"},
	    /* 0xA4 is the euro sign in -15, the currency sign in -1 */
	    {"=?ISO-8859-15?Q?=A4?=", "€"},
	    {"=?ISO-8859-1?Q?=A4?=", "¤"},
	    {"=?KOI8-R?B?8NLJ18XU?=", "Привет"},
	    {"=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=", "テスト"},
	    {"=?Shift_JIS?B?g2WDWINn?=", "テスト"},
	    {"=?windows-1252?Q?=80?=", "€"},
	    /* RFC 2231 sec. 5: a language after the charset */
	    {"=?utf-8*en?Q?hello_world?=", "hello world"},
	    {"=?ISO-8859-1*fr?Q?caf=E9?=", "café"},
	    {"=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore"},
	};

	run_cases(c, G_N_ELEMENTS(c));
}

static void test_adjacent(void)
{
	static const struct dcase c[] = {
	    /* RFC 2047 sec. 8 */
	    {"(=?ISO-8859-1?Q?a?=)", "(a)"},
	    {"(=?ISO-8859-1?Q?a?= b)", "(a b)"},
	    {"(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"},
	    {"(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"},
	    {"(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)"},
	    {"(=?ISO-8859-1?Q?a_b?=)", "(a b)"},
	    {"(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"},
	    {"=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=", "Keld Jørn Simonsen"},
	    {"=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"},
	    {"=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
	     "  =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
	     "If you can read this you understand the example."},
	    /* GMime 3.2.13 returns "Hello" (its issue #133) */
	    {"=?UTF-8?B?SGVsbG8=?= =?UTF-8?B?IFdvcmxk?=", "Hello World"},
	    {"=?utf-8?B?w6k?= =?utf-8?B?w6k?=", "éé"},
	    /* a character split across two words */
	    {"=?utf-8?Q?=C3?= =?utf-8?Q?=A9?=", "é"},
	    {"=?utf-8?Q?a?==?utf-8?Q?b?=", "ab"},
	    /* separated by text: the text and its spaces stay */
	    {"=?utf-8?Q?a?= x =?utf-8?Q?b?=", "a x b"},
	    {"Re: =?utf-8?Q?caf=C3=A9?= ok", "Re: café ok"},
	    {"  =?utf-8?Q?a?=  ", "  a  "},
	    /* glued to text: decoded, as GMime and mail readers do */
	    {"Re:=?utf-8?Q?caf=C3=A9?=", "Re:café"},
	};

	run_cases(c, G_N_ELEMENTS(c));
}

static void test_left_as_written(void)
{
	static const struct dcase c[] = {
	    {"=?utf-8?X?abc?=", "=?utf-8?X?abc?="},
	    {"=?utf-8?Q?abc", "=?utf-8?Q?abc"},
	    {"=??Q?abc?=", "=??Q?abc?="},
	    {"=?utf-8?Q?\?=", "=?utf-8?Q?\?="},
	    {"=?utf-8?Q?a b?=", "=?utf-8?Q?a b?="},
	    {"=?utf-8?B?!!!?=", "=?utf-8?B?!!!?="},
	    {"=?utf-8?B?w?=", "=?utf-8?B?w?="},
	    {"=?utf-8?B?=?=", "=?utf-8?B?=?="},
	    {"=?utf-8?Q?=ZZ?=", "=?utf-8?Q?=ZZ?="},
	    {"=?utf-8?Q?abc=?=", "=?utf-8?Q?abc=?="},
	    {"=?bogus-charset?Q?abc?=", "=?bogus-charset?Q?abc?="},
	    {"=?utf-8?Q?=FF?=", "=?utf-8?Q?=FF?="},
	    {"=?us-ascii?Q?caf=E9?=", "=?us-ascii?Q?caf=E9?="},
	    /* a NUL would cut the header short */
	    {"=?utf-8?Q?a=00b?=", "=?utf-8?Q?a=00b?="},
	    /* an incomplete character at the end of a run */
	    {"=?utf-8?Q?=C3?= x", "=?utf-8?Q?=C3?= x"},
	    /* a bad word keeps its spaces; its good neighbour decodes */
	    {"=?bogus?Q?x?= =?utf-8?Q?y?=", "=?bogus?Q?x?= y"},
	    {"=?us-ascii?Q?a?=   =?bogus?Q?b?=   =?us-ascii?Q?c?=",
	     "a   =?bogus?Q?b?=   c"},
	    /* a real word found inside a broken one */
	    {"=?=?utf-8?Q?x?=", "=?x"},
	    {"=?", "=?"},
	    {"?=", "?="},
	};

	run_cases(c, G_N_ELEMENTS(c));
}

static void test_8bit(void)
{
	static const struct dcase c[] = {
	    {"caf\xe9", "café"},
	    {"café", "café"},
	    {"Gr\xfc\xdf"
	     "e =?utf-8?Q?=C3=A9?=",
	     "Grüße é"},
	    {"\xff", "ÿ"},
	};

	run_cases(c, G_N_ELEMENTS(c));
}

static void test_to_utf8(void)
{
	char *s;

	CU_ASSERT_PTR_NULL(spi_header_to_utf8(NULL));
	s = spi_header_to_utf8("na\xefve");
	CU_ASSERT_STRING_EQUAL(s, "naïve");
	g_free(s);
	s = spi_header_to_utf8("naïve");
	CU_ASSERT_STRING_EQUAL(s, "naïve");
	g_free(s);
}

/* Every output is valid UTF-8, whatever the input. */
static void test_garbage(void)
{
	static const char alphabet[] = "=?QqBb_ \t\r\n-utf8abc\xe9\xc3\xa9!(";
	GRand *rand = g_rand_new_with_seed(2047);
	char in[48], *out;
	int i, j, ok = 1;

	for (i = 0; i < 5000; i++) {
		for (j = 0; j < (int)sizeof(in) - 1; j++)
			in[j] = alphabet[g_rand_int_range(
			    rand, 0, (gint32)sizeof(alphabet) - 1)];
		in[g_rand_int_range(rand, 0, (gint32)sizeof(in))] = '\0';
		in[sizeof(in) - 1] = '\0';
		out = spi_rfc2047_decode(in);
		ok = ok && out && g_utf8_validate(out, -1, NULL);
		g_free(out);
	}
	CU_ASSERT_TRUE(ok);
	g_rand_free(rand);
}

static const struct test_case rfc2047_cases0[] = {
    {"B and Q encodings", test_encodings},
    {"charsets and RFC 2231 language", test_charsets},
    {"adjacent words joined, text kept", test_adjacent},
    {"undecodable words left as written", test_left_as_written},
    {"raw 8-bit read as ISO-8859-1", test_8bit},
    {"spi_header_to_utf8", test_to_utf8},
    {"random input gives UTF-8", test_garbage},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"rfc2047", NULL, NULL, rfc2047_cases0},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{

	int rc = test_run(suites);
	return rc;
}
