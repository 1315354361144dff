/* The body scanner (spi_conn_read_body) on a multi-line reply as the
 * server sends it, over a socketpair: dot-unstuffing, the terminator,
 * MaxLineLength pieces, bare LF, whatever follows. Read twice, line by line
 * and in spans; both must store the same bytes and end the same way (a
 * differential check: the span path is the fast one, the line path the
 * reference). The first input byte chooses MaxLineLength. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pop3/pop3.h"
#include "net/net.h"
#include "spop-private.h"

/* Below the socket buffer: the whole input is written before reading. */
#define MAX_BODY_INPUT (64 * 1024)

static int on_line(struct spop *s, const char *line, size_t len, bool eol,
		   void *ud)
{
	GString *stored = ud;

	(void)s;
	g_string_append_len(stored, line, (gssize)len);
	if (eol)
		g_string_append(stored, "\r\n");
	return 0;
}

static int on_span(struct spop *s, const char *data, size_t len, void *ud)
{
	(void)s;
	g_string_append_len(ud, data, (gssize)len);
	return 0;
}

/* Reads the body; returns the result and what was stored, and what the
 * next line after the body is (empty if none). */
static int scan(const uint8_t *data, size_t size, bool per_line,
		GString *stored, GString *next)
{
	static const int max_lines[] = {256, 257, 258, 300, 1000, 65536};
	struct spi_body_consumer k = {
	    .line = on_line, .span = on_span, .per_line = per_line};
	spop_t *s = spop_new();
	char ml[40];
	int sv[2], rc, crc = 0;
	const char *line;
	size_t len;
	bool eol;

	if (!s || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		abort();
	snprintf(ml, sizeof(ml), "MaxLineLength=%d",
		 max_lines[data[0] % G_N_ELEMENTS(max_lines)]);
	if (!spop_config(s, ml))
		abort();
	if (write(sv[1], data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	close(sv[1]);
	spi_session_adopt(s, sv[0]);
	spi_deadline_start(s, 5);
	rc = spi_conn_read_body(s, &k, stored, &crc);
	if (crc)
		abort(); /* the consumers never fail */
	if (!rc && !spi_conn_read_line(s, &line, &len, &eol))
		g_string_append_len(next, line, (gssize)len);
	spop_free(s);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GString *a, *b, *next_a, *next_b;
	int ra, rb;

	if (size < 1 || size > MAX_BODY_INPUT)
		return 0;
	a = g_string_new(NULL);
	b = g_string_new(NULL);
	next_a = g_string_new(NULL);
	next_b = g_string_new(NULL);
	ra = scan(data, size, true, a, next_a);
	rb = scan(data, size, false, b, next_b);
	if (ra != rb || (!ra && !g_string_equal(a, b)) ||
	    !g_string_equal(next_a, next_b))
		abort();
	g_string_free(a, TRUE);
	g_string_free(b, TRUE);
	g_string_free(next_a, TRUE);
	g_string_free(next_b, TRUE);
	return 0;
}
