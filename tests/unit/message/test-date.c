/* LocalizeDate as data, under TZ=UTC and TZ=Europe/Berlin (both sides of
 * its DST changes), switching TZ inside one process to prove it is read
 * afresh. The RFC 5322 appendix A dates are among the cases. */
#include "test-runner.h"
#include <string.h>
#include <time.h>

#include "message-parse.h"

struct dcase {
	const char *in, *want; /* want NULL: unparseable */
};

static void set_tz(const char *tz)
{
	g_setenv("TZ", tz, TRUE);
	tzset();
}

static void run_cases(const char *tz, const struct dcase *c, size_t n)
{
	char *got, *msg;
	size_t i;
	int ok;

	set_tz(tz);
	for (i = 0; i < n; i++) {
		got = spi_localize_date(c[i].in);
		ok = c[i].want ? got && !strcmp(got, c[i].want) : !got;
		msg = g_strdup_printf("TZ=%s \"%s\" -> \"%s\", want \"%s\"", tz,
				      c[i].in, got ? got : "(null)",
				      c[i].want ? c[i].want : "(null)");
		CU_assertImplementation(ok, __LINE__, msg, __FILE__, "",
					CU_FALSE);
		g_free(msg);
		g_free(got);
	}
}

static const struct dcase utc_cases[] = {
    /* RFC 5322 A.1.1, A.1.2, A.3 */
    {"Fri, 21 Nov 1997 09:55:06 -0600", "11/21/1997 15:55:06"},
    {"Tue, 1 Jul 2003 10:52:37 +0200", "07/01/2003 08:52:37"},
    {"Thu, 13 Feb 1969 23:32:54 -0330", "02/14/1969 03:02:54"},
    /* RFC 5322 A.5: CFWS everywhere */
    {"Thu,\r\n      13\r\n        Feb\r\n          1969\r\n"
     "      23:32\r\n               -0330 (Newfoundland Time)",
     "02/14/1969 03:02:00"},
    /* RFC 5322 A.6.2 and RFC 822 sec. 5 */
    {"21 Nov 97 09:55:06 GMT", "11/21/1997 09:55:06"},
    {"26 Aug 76 14:29 EDT", "08/26/1976 18:29:00"},
    /* zones */
    {"Mon, 1 Jan 2001 00:00:00 +0000", "01/01/2001 00:00:00"},
    {"Mon, 1 Jan 2001 00:00:00 -0700", "01/01/2001 07:00:00"},
    {"Mon, 1 Jan 2001 00:00:00 -0000", "01/01/2001 00:00:00"},
    {"Mon, 1 Jan 2001 05:30:00 +0530", "01/01/2001 00:00:00"},
    {"Tue, 1 Jul 2003 10:52:37 GMT", "07/01/2003 10:52:37"},
    {"Tue, 1 Jul 2003 10:52:37 UT", "07/01/2003 10:52:37"},
    {"Tue, 1 Jul 2003 10:52:37 Z", "07/01/2003 10:52:37"},
    {"Tue, 1 Jul 2003 10:52:37 EST", "07/01/2003 15:52:37"},
    {"Tue, 1 Jul 2003 10:52:37 est", "07/01/2003 15:52:37"},
    {"Tue, 1 Jul 2003 10:52:37 CDT", "07/01/2003 15:52:37"},
    {"Tue, 1 Jul 2003 10:52:37 MST", "07/01/2003 17:52:37"},
    {"Tue, 1 Jul 2003 10:52:37 PDT", "07/01/2003 17:52:37"},
    /* military letters and unknown names count as -0000 (RFC 5322 4.3) */
    {"Tue, 1 Jul 2003 10:52:37 A", "07/01/2003 10:52:37"},
    {"Tue, 1 Jul 2003 10:52:37 Y", "07/01/2003 10:52:37"},
    {"Tue, 1 Jul 2003 10:52:37 CEST", "07/01/2003 10:52:37"},
    {"Tue, 1 Jul 2003 10:52:37", "07/01/2003 10:52:37"},
    /* optional parts */
    {"1 Jul 2003 10:52:37 +0200", "07/01/2003 08:52:37"},
    {"Tue 1 Jul 2003 10:52:37 +0200", "07/01/2003 08:52:37"},
    {"Tuesday, 1 Jul 2003 10:52:37 +0200", "07/01/2003 08:52:37"},
    {"Tue, 1 Jul 2003 10:52 +0200", "07/01/2003 08:52:00"},
    {"Tue, 01 Jul 2003 08:05:09 +0000", "07/01/2003 08:05:09"},
    {"Tue, 1 jul 2003 10:52:37 +0000", "07/01/2003 10:52:37"},
    {"Tue, 1 July 2003 10:52:37 +0000", "07/01/2003 10:52:37"},
    {"Tue,1 Jul 2003 10 : 52 : 37 +0000", "07/01/2003 10:52:37"},
    /* two- and three-digit years (RFC 5322 4.3) */
    {"1 Jul 03 10:52:37 +0000", "07/01/2003 10:52:37"},
    {"1 Jul 49 10:52:37 +0000", "07/01/2049 10:52:37"},
    {"1 Jul 50 10:52:37 +0000", "07/01/1950 10:52:37"},
    {"1 Jul 99 10:52:37 +0000", "07/01/1999 10:52:37"},
    {"1 Jul 103 10:52:37 +0000", "07/01/2003 10:52:37"},
    /* trailing comments */
    {"Tue, 1 Jul 2003 10:52:37 +0200 (CEST)", "07/01/2003 08:52:37"},
    {"Tue, 1 Jul 2003 10:52:37 +0200 (a (nested) \\) one)",
     "07/01/2003 08:52:37"},
    {"Tue, 1 Jul 2003 10:52:37 +0200 CEST", "07/01/2003 08:52:37"},
    /* day and year change, leap day, leap second */
    {"Wed, 31 Dec 1969 23:00:00 -0200", "01/01/1970 01:00:00"},
    {"Thu, 1 Jan 1970 00:00:00 +0100", "12/31/1969 23:00:00"},
    {"Thu, 29 Feb 2024 12:00:00 +0000", "02/29/2024 12:00:00"},
    {"Sat, 31 Dec 2016 23:59:60 +0000", "01/01/2017 00:00:00"},
    /* unparseable */
    {"", NULL},
    {"garbage", NULL},
    {"Tue, 1 Jul 2003", NULL},
    {"1 Jul 10:52:37 +0200", NULL},
    {"Tue, 32 Jul 2003 10:52:37 +0200", NULL},
    {"Tue, 0 Jul 2003 10:52:37 +0200", NULL},
    {"Fri, 29 Feb 2023 10:52:37 +0200", NULL},
    {"Tue, 1 Foo 2003 10:52:37 +0200", NULL},
    {"Xyz, 1 Jul 2003 10:52:37 +0200", NULL},
    {"Tue, 1 Jul 2003 24:00:00 +0200", NULL},
    {"Tue, 1 Jul 2003 10:60:00 +0200", NULL},
    {"Tue, 1 Jul 2003 10:52:61 +0200", NULL},
    {"Tue, 1 Jul 2003 10:5:37 +0200", NULL},
    {"Tue, 1 Jul 3 10:52:37 +0200", NULL},
    {"Tue, 1 Jul 20031 10:52:37 +0200", NULL},
    {"Tue, 1 Jul 2003 10:52:37 +02", NULL},
    {"Tue, 1 Jul 2003 10:52:37 +0260", NULL},
    {"Tue, 1 Jul 2003 10:52:37 0200", NULL},
    {"Tue, 1 Jul 2003 10:52:37 +0200 +0100", NULL},
    {"Tue, 1 Jul 2003 10:52:37 +0200 x1", NULL},
    {"Tue, 1 Jul 2003 10:52:37 +0200 (open", NULL},
    {"Tue, 1 Jul 2003 10:52:37.5 +0200", NULL},
    {"2003-07-01T10:52:37Z", NULL},
    {"Tue, 1 Jul 0000 10:52:37 +0000", NULL},
};

static const struct dcase berlin_cases[] = {
    {"Tue, 1 Jul 2003 10:52:37 +0200", "07/01/2003 10:52:37"},
    {"Wed, 1 Jan 2003 10:52:37 +0000", "01/01/2003 11:52:37"},
    {"Fri, 21 Nov 1997 09:55:06 -0600", "11/21/1997 16:55:06"},
    /* 2024-03-31 01:00 UTC: 02:00 CET becomes 03:00 CEST */
    {"Sun, 31 Mar 2024 00:59:59 +0000", "03/31/2024 01:59:59"},
    {"Sun, 31 Mar 2024 01:00:00 +0000", "03/31/2024 03:00:00"},
    {"Sun, 31 Mar 2024 02:30:00 +0100", "03/31/2024 03:30:00"},
    /* 2024-10-27 01:00 UTC: 03:00 CEST becomes 02:00 CET */
    {"Sun, 27 Oct 2024 00:59:59 +0000", "10/27/2024 02:59:59"},
    {"Sun, 27 Oct 2024 01:00:00 +0000", "10/27/2024 02:00:00"},
    {"Sun, 27 Oct 2024 02:30:00 +0200", "10/27/2024 02:30:00"},
    {"Sun, 27 Oct 2024 02:30:00 +0100", "10/27/2024 02:30:00"},
    {"Sun, 27 Oct 2024 01:30:00 GMT", "10/27/2024 02:30:00"},
    {"Tue, 1 Jul 2003 10:52:37 PDT", "07/01/2003 19:52:37"},
    {"Sat, 31 Dec 2016 23:59:60 +0000", "01/01/2017 01:00:00"},
    {"garbage", NULL},
};

static void test_utc(void)
{
	run_cases("UTC", utc_cases, G_N_ELEMENTS(utc_cases));
	CU_ASSERT_PTR_NULL(spi_localize_date(NULL));
}

static void test_berlin(void)
{
	CU_ASSERT_TRUE_FATAL(g_file_test("/usr/share/zoneinfo/Europe/Berlin",
					 G_FILE_TEST_EXISTS));
	run_cases("Europe/Berlin", berlin_cases, G_N_ELEMENTS(berlin_cases));
}

/* The zone is the one of the call, not of the first call. */
static void test_tz_switch(void)
{
	static const struct dcase utc[] = {
	    {"Sun, 31 Mar 2024 01:00:00 +0000", "03/31/2024 01:00:00"},
	};
	static const struct dcase berlin[] = {
	    {"Sun, 31 Mar 2024 01:00:00 +0000", "03/31/2024 03:00:00"},
	};
	static const struct dcase posix[] = {
	    {"Sun, 31 Mar 2024 01:00:00 +0000", "03/30/2024 21:00:00"},
	};

	run_cases("UTC", utc, 1);
	run_cases("Europe/Berlin", berlin, 1);
	run_cases("UTC", utc, 1);
	run_cases("EST5EDT,M3.2.0,M11.1.0", posix, 1);
	run_cases("Europe/Berlin", berlin, 1);
}

static const struct test_case date_cases0[] = {
    {"TZ=UTC", test_utc},
    {"TZ=Europe/Berlin and its DST changes", test_berlin},
    {"TZ changes are seen", test_tz_switch},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"localize-date", NULL, NULL, date_cases0},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{

	int rc = test_run(suites);
	return rc;
}
