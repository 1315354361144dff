/* The receive path as data: Durability's end-of-method sync (a directory
 * that vanished is a file error naming it), and the body scanner (dot-stuffed
 * lines, the terminator split across reads, bare LF, lines over
 * MaxLineLength) against the line reader's reference behaviour. */
#include "test-runner.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/net.h"
#include "pop3/pop3.h"

#include "feeder.h"

/* ---- Durability ---- */

static void test_sync_modes(void)
{
	spop_t *s = spop_new();
	char *dir = g_dir_make_tmp("spop-sync-XXXXXX", NULL);
	char *sub = g_build_filename(dir, "gone", NULL);

	CU_ASSERT_FATAL(dir != NULL);
	/* Durability 1: a directory written since the last sync is synced */
	spi_message_note_unsynced(s, dir);
	spi_message_note_unsynced(s, dir);
	CU_ASSERT_EQUAL(spi_message_sync(s), 0);
	CU_ASSERT_EQUAL(spop_last_error_code(s), 0);
	/* nothing noted: nothing to do */
	CU_ASSERT_EQUAL(spi_message_sync(s), 0);
	/* a directory removed before the sync: 302 naming it */
	CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0700), 0);
	spi_message_note_unsynced(s, dir);
	spi_message_note_unsynced(s, sub);
	CU_ASSERT_EQUAL_FATAL(rmdir(sub), 0);
	CU_ASSERT_EQUAL(spi_message_sync(s), SPOP_ERR_FILE);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), sub));
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), g_strerror(ENOENT)));
	/* reported once: the set is empty after the failed sync */
	CU_ASSERT_EQUAL(spi_message_sync(s), 0);
	/* Durability 0 and 2: the end-of-method sync does nothing, even for
	 * a directory that is gone */
	for (int mode = 0; mode <= 2; mode += 2) {
		char set[32];
		snprintf(set, sizeof(set), "Durability=%d", mode);
		CU_ASSERT_PTR_NOT_NULL(spop_config(s, set));
		spi_message_note_unsynced(s, sub);
		CU_ASSERT_EQUAL(spi_message_sync(s), 0);
	}
	/* a set left unsynced is forgotten without a leak */
	spi_message_note_unsynced(s, dir);
	spi_message_forget_unsynced(s);
	CU_ASSERT_EQUAL(spi_message_sync(s), 0);
	spi_message_note_unsynced(s, dir);
	spi_message_forget_unsynced(s);
	rmdir(dir);
	g_free(sub);
	g_free(dir);
	spop_free(s);
}

/* ---- the body scanner ---- */

struct got {
	GString *lines;	 /* per line: text, then "|" for eol, "~" for a piece */
	GString *stored; /* what a LocalFile would get */
	int spans;
	int switch_after; /* lines before switching to spans; -1 never */
	struct spi_body_consumer *k;
};

static int got_line(struct spop *s, const char *line, size_t len, bool eol,
		    void *ud)
{
	struct got *g = ud;

	g_string_append_len(g->lines, line, (gssize)len);
	g_string_append(g->lines, eol ? "|" : "~");
	g_string_append_len(g->stored, line, (gssize)len);
	if (eol)
		g_string_append(g->stored, "\r\n");
	if (g->switch_after >= 0 && eol && !--g->switch_after)
		g->k->per_line = false;
	return 0;
}

static int got_span(struct spop *s, const char *data, size_t len, void *ud)
{
	struct got *g = ud;

	CU_ASSERT(len > 0);
	g_string_append_len(g->stored, data, (gssize)len);
	g->spans++;
	return 0;
}

/* Feeds wire (a body, its terminator and "+OK next") in chunk-byte writes,
 * reads the body with lines until switch_after lines (then spans; 0: spans
 * from the start, -1: lines only), checks what is stored and that the next
 * reply is still there; returns the span count. */
static int run(const char *wire, size_t chunk, int max_line, int switch_after,
	       const char *stored)
{
	spop_t *s = spop_new();
	struct feeder f;
	struct spi_body_consumer k = {
	    .line = got_line, .span = got_span, .per_line = switch_after != 0};
	struct got g = {g_string_new(NULL), g_string_new(NULL), 0, switch_after,
			&k};
	int crc = 0;

	feeder_start(&f, s, wire, chunk, max_line);
	CU_ASSERT_EQUAL(spi_conn_read_body(s, &k, &g, &crc), 0);
	CU_ASSERT_EQUAL(crc, 0);
	CU_ASSERT_EQUAL(g.stored->len, strlen(stored));
	CU_ASSERT_STRING_EQUAL(g.stored->str, stored);
	/* what follows the terminator stays for the next reply */
	const char *line;
	size_t len;
	bool eol;
	CU_ASSERT_EQUAL(spi_conn_read_line(s, &line, &len, &eol), 0);
	CU_ASSERT_EQUAL(len, 8);
	CU_ASSERT_EQUAL(strncmp(line, "+OK next", 8), 0);
	feeder_stop(&f);
	spop_free(s);
	int spans = g.spans;
	g_string_free(g.lines, TRUE);
	g_string_free(g.stored, TRUE);
	return spans;
}

/* Every chunk size, lines only, spans only and switched after the first
 * line: always the same stored bytes, the line reader's. */
static void run_all(const char *wire, int max_line, const char *stored)
{
	static const size_t chunks[] = {1, 2, 3, 5, 7, 64, 4096, 1 << 20};

	for (size_t i = 0; i < G_N_ELEMENTS(chunks); i++) {
		CU_ASSERT_EQUAL(run(wire, chunks[i], max_line, -1, stored), 0);
		run(wire, chunks[i], max_line, 0, stored);
		run(wire, chunks[i], max_line, 1, stored);
	}
}

static void test_scanner_dots(void)
{
	run_all("..leading dot\r\n.\r\n+OK next\r\n", 256, ".leading dot\r\n");
	run_all("a\r\n..\r\n...\r\n. x\r\nb.\r\n.\r\n+OK next\r\n", 256,
		"a\r\n.\r\n..\r\n x\r\nb.\r\n");
	/* a dot before a lone CR is stuffing, not the terminator */
	run_all("x\r\n.\r\r\n.\r\n+OK next\r\n", 256, "x\r\n\r\r\n");
	/* an empty body */
	run_all(".\r\n+OK next\r\n", 256, "");
	/* big: the spans are few, far fewer than the lines */
	GString *wire = g_string_new(NULL), *want = g_string_new(NULL);
	for (int i = 0; i < 20000; i++) {
		g_string_append_printf(wire, "%sline %d of the body\r\n",
				       i % 7 ? "" : "..", i);
		g_string_append_printf(want, "%sline %d of the body\r\n",
				       i % 7 ? "" : ".", i);
	}
	g_string_append(wire, ".\r\n+OK next\r\n");
	int spans = run(wire->str, 1 << 20, 256, 0, want->str);
	CU_ASSERT(spans > 0 && spans < 200);
	run(wire->str, 4096, 256, 1, want->str);
	/* lines only, in 61-byte writes: reads end inside lines throughout.
	 * Not 7-byte writes, which the feeder spaces 100 us apart to make each
	 * its own read: the 64,000 of those took 18 of the suite's 25 s, and
	 * the short bodies above already cover every chunk size below 8. */
	run(wire->str, 61, 256, -1, want->str);
	g_string_free(wire, TRUE);
	g_string_free(want, TRUE);
}

static void test_scanner_split_terminator(void)
{
	/* chunk sizes 1..5 cut the terminator everywhere */
	for (size_t c = 1; c <= 5; c++) {
		run("ab\r\n.\r\n+OK next\r\n", c, 256, 0, "ab\r\n");
		run("ab\r\n..\r\n.\r\n+OK next\r\n", c, 256, 0, "ab\r\n.\r\n");
		run("ab\r\n.\n+OK next\r\n", c, 256, 0, "ab\r\n");
	}
}

static void test_scanner_bare_lf(void)
{
	/* a bare LF ends a line and is stored as CRLF; a CR alone stays */
	run_all("one\ntwo\r\n\nthree\rfour\r\n..five\n.\n+OK next\r\n", 256,
		"one\r\ntwo\r\n\r\nthree\rfour\r\n.five\r\n");
}

static void test_scanner_long_lines(void)
{
	/* lines past MaxLineLength: pieces for the line consumer, the same
	 * bytes stored; a dot in a piece that does not start a line stays */
	GString *wire = g_string_new(NULL), *want = g_string_new(NULL);
	GString *line = g_string_new(NULL);

	for (int i = 0; i < 1000; i++)
		g_string_append_c(line, i % 256 == 255 ? '.' : 'a' + i % 26);
	g_string_append_printf(wire, "%s\r\n.%s\r\n%s\r\r\n.\r\n+OK next\r\n",
			       line->str, line->str, line->str);
	g_string_append_printf(want, "%s\r\n%s\r\n%s\r\r\n", line->str,
			       line->str, line->str);
	run_all(wire->str, 256, want->str);
	/* a line exactly MaxLineLength+1 long, and one with its CR at it */
	g_string_truncate(line, 257);
	g_string_printf(wire, "%s\r\n%s\r\n.\r\n+OK next\r\n", line->str,
			line->str);
	g_string_printf(want, "%s\r\n%s\r\n", line->str, line->str);
	run_all(wire->str, 256, want->str);
	g_string_free(wire, TRUE);
	g_string_free(want, TRUE);
	g_string_free(line, TRUE);
}

static const struct test_case cases[] = {
    {"Durability sync", test_sync_modes},
    {"scanner: dot-stuffing, spans", test_scanner_dots},
    {"scanner: terminator split across reads", test_scanner_split_terminator},
    {"scanner: bare LF", test_scanner_bare_lf},
    {"scanner: lines over MaxLineLength", test_scanner_long_lines},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"receive", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return test_run(suites);
}
