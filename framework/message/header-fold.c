/* Header lines into fields and values: telling continuation lines apart,
 * splitting "Name: value", and unfolding (RFC 5322 sec. 2.2.3).
 */
#include <string.h>

#include "message-parse.h"

int spi_header_is_continuation(const char *line, size_t len)
{
	return line && len > 0 && (line[0] == ' ' || line[0] == '\t');
}

/* RFC 5322 sec. 3.6.8: ftext is printable US-ASCII except the colon. */
static int is_ftext(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

int spi_header_split(const char *line, size_t len, char **field, char **value)
{
	const char *colon, *name_end, *v, *end;
	const char *p;

	*field = NULL;
	*value = NULL;
	if (!line || !(colon = memchr(line, ':', len)))
		return 0;
	/* RFC 5322 sec. 4.5 (obs-optional) allows "Name :"; the
	 * whitespace is not part of the name. */
	name_end = colon;
	while (name_end > line && (name_end[-1] == ' ' || name_end[-1] == '\t'))
		name_end--;
	if (name_end == line)
		return 0;
	for (p = line; p < name_end; p++) {
		if (!is_ftext((unsigned char)*p))
			return 0;
	}
	end = line + len;
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	*field = g_strndup(line, (gsize)(name_end - line));
	*value = g_strndup(v, (gsize)(end - v));
	return 1;
}

/* Length of s[0..len) without the CR and LF at its end. */
static size_t trim_eol(const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	return len;
}

void spi_header_unfold_into(GString *value, const char *continuation,
			    size_t len)
{
	/* In place, so a header of many continuation lines costs linear time
	 * (a hostile server can send millions of them). */
	g_string_truncate(value, trim_eol(value->str, value->len));
	if (continuation)
		g_string_append_len(value, continuation,
				    (gssize)trim_eol(continuation, len));
}
