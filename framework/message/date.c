/* LocalizeDate: an RFC 5322 / RFC 822 date-time to "MM/dd/yyyy HH:mm:ss"
 * in the local time zone.
 *
 * Not g_mime_utils_header_decode_date(): it gives military zones their
 * RFC 822 offsets, which RFC 5322 sec. 4.3 says to distrust, and accepts a
 * date with no time at all. The grammar is small enough to own.
 */
#include <string.h>

#include "message-parse.h"

enum { TOK_END = 0, TOK_NUM, TOK_WORD, TOK_PUNCT };

struct tok {
	int kind;
	const char *s; /* not terminated */
	size_t len;
};

#define MAX_TOKS 16

/* Splits s into numbers, words and the punctuation ':' ',' '+' '-',
 * dropping whitespace and comments (CFWS may appear anywhere in the obsolete
 * syntax). Returns the number of tokens, or -1 for a character that has no
 * place in a date, an unclosed comment or too many tokens. */
static int tokenize(const char *s, struct tok *t)
{
	const char *p = s;
	int n = 0, depth;

	while (*p) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			p++;
			continue;
		}
		if (*p == '(') {
			for (depth = 0; *p; p++) {
				if (*p == '\\' && p[1])
					p++;
				else if (*p == '(')
					depth++;
				else if (*p == ')' && --depth == 0)
					break;
			}
			if (!*p)
				return -1;
			p++;
			continue;
		}
		if (n == MAX_TOKS)
			return -1;
		t[n].s = p;
		if (g_ascii_isdigit(*p)) {
			while (g_ascii_isdigit(*p))
				p++;
			t[n].kind = TOK_NUM;
		} else if (g_ascii_isalpha(*p)) {
			while (g_ascii_isalpha(*p))
				p++;
			t[n].kind = TOK_WORD;
		} else if (strchr(":,+-", *p)) {
			p++;
			t[n].kind = TOK_PUNCT;
		} else {
			return -1;
		}
		t[n].len = (size_t)(p - t[n].s);
		n++;
	}
	t[n].kind = TOK_END;
	return n;
}

static int is_punct(const struct tok *t, char c)
{
	return t->kind == TOK_PUNCT && t->s[0] == c;
}

static int word_is(const struct tok *t, const char *w)
{
	return t->kind == TOK_WORD && t->len == strlen(w) &&
	       !g_ascii_strncasecmp(t->s, w, t->len);
}

/* Reads a number of min_digits to max_digits digits. */
static int number(const struct tok *t, size_t min_digits, size_t max_digits,
		  int *value)
{
	size_t i;

	if (t->kind != TOK_NUM || t->len < min_digits || t->len > max_digits)
		return 0;
	*value = 0;
	for (i = 0; i < t->len; i++)
		*value = *value * 10 + (t->s[i] - '0');
	return 1;
}

/* Matches the English name, abbreviated to three letters or in full.
 * Returns its index, or -1. */
static int name_index(const struct tok *t, const char *const *names, int n)
{
	int i;

	if (t->kind != TOK_WORD || t->len < 3)
		return -1;
	for (i = 0; i < n; i++) {
		if (t->len <= strlen(names[i]) &&
		    !g_ascii_strncasecmp(t->s, names[i], t->len) &&
		    (t->len == 3 || t->len == strlen(names[i])))
			return i;
	}
	return -1;
}

static const char *const days[] = {"Monday",   "Tuesday", "Wednesday",
				   "Thursday", "Friday",  "Saturday",
				   "Sunday"};
static const char *const months[] = {
    "January", "February", "March",	"April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

/* RFC 5322 sec. 4.3 obs-zone, in seconds east of UTC. Military letters
 * and unknown names are not listed: they count as -0000. */
static const struct {
	const char *name;
	int hours;
} zones[] = {
    {"UT", 0},	 {"GMT", 0},  {"Z", 0},	   {"EST", -5},
    {"EDT", -4}, {"CST", -6}, {"CDT", -5}, {"MST", -7},
    {"MDT", -6}, {"PST", -8}, {"PDT", -7},
};

/* Reads the zone starting at t; sets *offset in seconds east of UTC and
 * returns the number of tokens used, or -1. */
static int zone(const struct tok *t, int *offset)
{
	size_t i;
	int v;

	*offset = 0;
	if (t[0].kind == TOK_END)
		return 0; /* none: read as -0000 */
	if (is_punct(&t[0], '+') || is_punct(&t[0], '-')) {
		if (!number(&t[1], 4, 4, &v) || v % 100 > 59)
			return -1;
		*offset = (v / 100 * 3600 + v % 100 * 60) *
			  (t[0].s[0] == '-' ? -1 : 1);
		return 2;
	}
	if (t[0].kind != TOK_WORD)
		return -1;
	for (i = 0; i < G_N_ELEMENTS(zones); i++) {
		if (word_is(&t[0], zones[i].name))
			*offset = zones[i].hours * 3600;
	}
	return 1;
}

/* Parses into the UTC instant; NULL when the text is no date. */
static GDateTime *parse(const char *text)
{
	struct tok t[MAX_TOKS + 1];
	int n, i = 0, day, month, year, hour, min, sec = 0, offset, used;
	GDateTime *utc, *dt;

	if ((n = tokenize(text, t)) < 0)
		return NULL;
	if (t[i].kind == TOK_WORD) {
		if (name_index(&t[i], days, 7) < 0)
			return NULL;
		i++;
		if (is_punct(&t[i], ','))
			i++;
	}
	if (!number(&t[i++], 1, 2, &day))
		return NULL;
	if ((month = name_index(&t[i++], months, 12) + 1) == 0)
		return NULL;
	if (!number(&t[i++], 2, 4, &year))
		return NULL;
	/* RFC 5322 sec. 4.3: two digits are 1950-2049, three add 1900. */
	if (t[i - 1].len == 2)
		year += year < 50 ? 2000 : 1900;
	else if (t[i - 1].len == 3)
		year += 1900;
	if (!number(&t[i++], 1, 2, &hour) || !is_punct(&t[i++], ':') ||
	    !number(&t[i++], 2, 2, &min))
		return NULL;
	if (is_punct(&t[i], ':')) {
		if (!number(&t[i + 1], 2, 2, &sec))
			return NULL;
		i += 2;
	}
	if (hour > 23 || min > 59 || sec > 60)
		return NULL;
	if ((used = zone(&t[i], &offset)) < 0)
		return NULL;
	i += used;
	/* A name after a numeric zone ("+0200 CEST", unbracketed) is
	 * tolerated as the comment it was meant to be. */
	if (used == 2 && t[i].kind == TOK_WORD)
		i++;
	if (i != n)
		return NULL;

	/* POSIX time has no leap second: 23:59:60 is read as the next
	 * midnight, as time_t would have it. */
	utc = g_date_time_new_utc(year, month, day, hour, min,
				  sec == 60 ? 59 : sec);
	if (!utc)
		return NULL; /* 31 Feb and the like */
	dt = g_date_time_add_seconds(utc, (sec == 60) - offset);
	g_date_time_unref(utc);
	return dt;
}

char *spi_localize_date(const char *rfc822_date)
{
	GDateTime *utc, *local;
	char *s;

	if (!rfc822_date || !(utc = parse(rfc822_date)))
		return NULL;
	/* g_date_time_to_local() re-reads TZ when it has changed. */
	local = g_date_time_to_local(utc);
	g_date_time_unref(utc);
	if (!local)
		return NULL; /* beyond year 9999 in this zone */
	s = g_strdup_printf(
	    "%02d/%02d/%04d %02d:%02d:%02d", g_date_time_get_month(local),
	    g_date_time_get_day_of_month(local), g_date_time_get_year(local),
	    g_date_time_get_hour(local), g_date_time_get_minute(local),
	    g_date_time_get_second(local));
	g_date_time_unref(local);
	return s;
}
