/* Header lines as data: continuation detection, splitting of good and odd
 * lines, unfolding, and the three together with RFC 2047 decoding. */
#include "test-runner.h"
#include <string.h>

#include "message-parse.h"

static void test_continuation(void)
{
	static const struct {
		const char *line;
		int want;
	} c[] = {
	    {" folded", 1}, {"\tfolded", 1}, {"  ", 1},	  {"Subject: x", 0},
	    {"x ", 0},	    {"", 0},	     {"\r\n", 0}, {"\v x", 0},
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(c); i++)
		CU_ASSERT_EQUAL(
		    spi_header_is_continuation(c[i].line, strlen(c[i].line)),
		    c[i].want);
	/* only len bytes count */
	CU_ASSERT_EQUAL(spi_header_is_continuation(" x", 0), 0);
	CU_ASSERT_EQUAL(spi_header_is_continuation(NULL, 0), 0);
}

static void test_split(void)
{
	static const struct {
		const char *line;
		int ok;
		const char *field, *value;
	} c[] = {
	    {"Subject: Hello", 1, "Subject", "Hello"},
	    {"Subject:Hello", 1, "Subject", "Hello"},
	    {"Subject: \t Hello  ", 1, "Subject", "Hello  "},
	    {"Subject:", 1, "Subject", ""},
	    {"Subject:   ", 1, "Subject", ""},
	    {"SUBJECT: x", 1, "SUBJECT", "x"},
	    {"X-Custom-Header: a: b", 1, "X-Custom-Header", "a: b"},
	    {"X-Weird!#$%&'*+-.^_`{|}~: v", 1, "X-Weird!#$%&'*+-.^_`{|}~", "v"},
	    /* obs-optional: whitespace before the colon */
	    {"Subject :x", 1, "Subject", "x"},
	    {"Subject\t : x", 1, "Subject", "x"},
	    {"No colon here", 0, NULL, NULL},
	    {"", 0, NULL, NULL},
	    {": value", 0, NULL, NULL},
	    {" : value", 0, NULL, NULL},
	    {" Subject: x", 0, NULL, NULL},
	    {"Bad Name: x", 0, NULL, NULL},
	    {"Bad\tName: x", 0, NULL, NULL},
	    {"Bad\x01: x", 0, NULL, NULL},
	    {"Bad\x7f: x", 0, NULL, NULL},
	    {"Gr\xc3\xb6\xc3\x9f"
	     "e: x",
	     0, NULL, NULL},
	    {">From: x", 1, ">From", "x"},
	};
	char *field, *value, *msg;
	size_t i;
	int ok;

	for (i = 0; i < G_N_ELEMENTS(c); i++) {
		field = value = (char *)"junk";
		ok = spi_header_split(c[i].line, strlen(c[i].line), &field,
				      &value);
		msg = g_strdup_printf("split(\"%s\") = %d [%s] [%s]", c[i].line,
				      ok, field ? field : "(null)",
				      value ? value : "(null)");
		CU_assertImplementation(
		    ok == c[i].ok && (ok ? !g_strcmp0(field, c[i].field) &&
					       !g_strcmp0(value, c[i].value)
					 : !field && !value),
		    __LINE__, msg, __FILE__, "", CU_FALSE);
		g_free(msg);
		g_free(field);
		g_free(value);
	}

	/* len bounds the line: what follows is not read */
	CU_ASSERT_EQUAL(
	    spi_header_split("To: a@b\r\nCc: c@d", 7, &field, &value), 1);
	CU_ASSERT_STRING_EQUAL(field, "To");
	CU_ASSERT_STRING_EQUAL(value, "a@b");
	g_free(field);
	g_free(value);
	CU_ASSERT_EQUAL(spi_header_split("To: x", 2, &field, &value), 0);
	CU_ASSERT_PTR_NULL(field);
}

static void test_unfold(void)
{
	static const struct {
		const char *value, *cont, *want;
	} c[] = {
	    {"a", " b", "a b"},
	    {"a", "\tb", "a\tb"},
	    {"a\r\n", " b\r\n", "a b"},
	    {"a", "   b  ", "a   b  "},
	    {"", " b", " b"},
	    {NULL, " b", " b"},
	    {"a", "", "a"},
	};
	GString *got;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(c); i++) {
		got = g_string_new(c[i].value);
		spi_header_unfold_into(got, c[i].cont, strlen(c[i].cont));
		CU_ASSERT_STRING_EQUAL(got->str, c[i].want);
		g_string_free(got, TRUE);
	}
	got = g_string_new("a");
	spi_header_unfold_into(got, " bcd", 2);
	CU_ASSERT_STRING_EQUAL(got->str, "a b");
	g_string_free(got, TRUE);
}

/* A header block through split, unfold and RFC 2047, as the message
 * model will do it. */
static void test_together(void)
{
	static const char *const lines[] = {
	    "Subject: =?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=",
	    "  =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
	    "From: Keith Moore",
	    "\t<moore@cs.utk.edu>",
	    "this line is malformed",
	    "X-Empty:",
	};
	char *field[8] = {NULL}, *value[8] = {NULL}, *d;
	size_t i;
	int n = -1;

	for (i = 0; i < G_N_ELEMENTS(lines); i++) {
		if (n >= 0 &&
		    spi_header_is_continuation(lines[i], strlen(lines[i]))) {
			GString *g = g_string_new(value[n]);

			spi_header_unfold_into(g, lines[i], strlen(lines[i]));
			g_free(value[n]);
			value[n] = g_string_free(g, FALSE);
			continue;
		}
		n++;
		if (!spi_header_split(lines[i], strlen(lines[i]), &field[n],
				      &value[n])) {
			field[n] = g_strdup("");
			value[n] = g_strdup(lines[i]);
		}
	}
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(field[0], "Subject");
	d = spi_rfc2047_decode(value[0]);
	CU_ASSERT_STRING_EQUAL(d, "If you can read this you understand the "
				  "example.");
	g_free(d);
	CU_ASSERT_STRING_EQUAL(value[1], "Keith Moore\t<moore@cs.utk.edu>");
	CU_ASSERT_STRING_EQUAL(field[2], "");
	CU_ASSERT_STRING_EQUAL(value[2], "this line is malformed");
	CU_ASSERT_STRING_EQUAL(field[3], "X-Empty");
	CU_ASSERT_STRING_EQUAL(value[3], "");
	for (i = 0; i < G_N_ELEMENTS(field); i++) {
		g_free(field[i]);
		g_free(value[i]);
	}
}

static const struct test_case header_fold_cases0[] = {
    {"continuation lines", test_continuation},
    {"field and value split", test_split},
    {"unfolding", test_unfold},
    {"split, unfold, decode together", test_together},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"header-fold", NULL, NULL, header_fold_cases0},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{

	int rc = test_run(suites);
	return rc;
}
