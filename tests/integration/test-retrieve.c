/* Message retrieval against a private Dovecot: headers, recipients,
 * RFC 2047, dot-unstuffing, long lines, TOP, LocalFile atomicity, streams,
 * a 50 MB message in bounded memory, Interrupt and re-entrancy. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

static struct recorder rec;
static char *work;

static spop_t *connected(int n)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);

	if (spop_connect(s) || spop_set_message_number(s, n))
		CU_FAIL_FATAL("connect");
	return s;
}

/* Retrieves message n and checks Message and the Transfer events against
 * the generated file; returns the client for further checks. */
static spop_t *retrieve_exactly(int n)
{
	spop_t *s = connected(n);
	GString *want = expected_message(n, HARNESS_MAIN_USER);
	const char *data;
	size_t len;

	rec.body = g_string_new(NULL);
	if (spop_retrieve(s))
		CU_FAIL_FATAL("retrieve");
	spop_get_message(s, &data, &len);
	CU_ASSERT_EQUAL_FATAL(len, want->len);
	CU_ASSERT_EQUAL(memcmp(data, want->str, len), 0);
	/* Transfer events carry exactly the body */
	const char *hs = spop_get_message_headers_string(s);
	CU_ASSERT_STRING_EQUAL(rec.body->str, want->str + strlen(hs));
	g_string_free(want, TRUE);
	return s;
}

static void test_simple_headers(void)
{
	spop_t *s = connected(HARNESS_MSG_SIMPLE);
	GString *want = expected_message(HARNESS_MSG_SIMPLE, HARNESS_MAIN_USER);
	const char *data;
	size_t len;

	ASSERT_OK(spop_retrieve(s));
	CU_ASSERT_EQUAL(rec.start, 1);
	CU_ASSERT_EQUAL(rec.end, 1);
	/* Message is the raw message, byte for byte */
	spop_get_message(s, &data, &len);
	CU_ASSERT_EQUAL(len, want->len);
	CU_ASSERT_EQUAL(memcmp(data, want->str, MIN(len, want->len)), 0);
	CU_ASSERT_EQUAL((long long)len,
			harness_message_size(&dovecot, HARNESS_MSG_SIMPLE));
	/* BytesTransferred ends at MessageSize */
	CU_ASSERT_EQUAL(rec.last_bytes, (int64_t)len);
	CU_ASSERT_EQUAL(rec.last_percent, -1);
	/* header events and arrays agree */
	CU_ASSERT_EQUAL((int)rec.headers->len,
			spop_get_message_header_count(s));
	CU_ASSERT(spop_get_message_header_count(s) >= 6);
	int from = -1;
	for (int i = 0; i < spop_get_message_header_count(s); i++)
		if (!strcmp(spop_get_message_header_field(s, i), "From"))
			from = i;
	CU_ASSERT_FATAL(from >= 0);
	CU_ASSERT_STRING_EQUAL(spop_get_message_header_value(s, from),
			       spop_get_message_from(s));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(spop_get_message_from(s), "alice@example.org"));
	CU_ASSERT(strlen(spop_get_message_to(s)) > 0);
	CU_ASSERT(strlen(spop_get_message_cc(s)) > 0);
	CU_ASSERT(strlen(spop_get_message_reply_to(s)) > 0);
	CU_ASSERT(strlen(spop_get_message_date(s)) > 0);
	CU_ASSERT(strlen(spop_get_message_subject(s)) > 0);
	CU_ASSERT_PTR_NOT_NULL(spop_localize_date(s, spop_get_message_date(s)));
	/* recipients: To (2, one quoted name with a comma) then Cc */
	CU_ASSERT(spop_get_message_recipient_count(s) >= 3);
	int comma = 0, cc = 0;
	for (int i = 0; i < spop_get_message_recipient_count(s); i++) {
		if (strchr(spop_get_message_recipient_name(s, i), ','))
			comma++;
		if (spop_get_message_recipient_type(s, i) == SPOP_RT_CC)
			cc++;
		CU_ASSERT_PTR_NOT_NULL(
		    strchr(spop_get_message_recipient_address(s, i), '@'));
		CU_ASSERT_STRING_EQUAL(spop_get_message_recipient_options(s, i),
				       "");
	}
	CU_ASSERT_EQUAL(comma, 1);
	CU_ASSERT(cc >= 1);
	/* MessageHeadersString is the header block; MessageText the body */
	const char *hs = spop_get_message_headers_string(s);
	CU_ASSERT(g_str_has_suffix(hs, "\r\n\r\n"));
	CU_ASSERT_EQUAL(strncmp(hs, want->str, strlen(hs)), 0);
	spop_get_message_text(s, &data, &len);
	CU_ASSERT_STRING_EQUAL(data, want->str + strlen(hs));
	CU_ASSERT_FALSE(spop_get_message_signed(s));
	CU_ASSERT_FALSE(spop_check_message_encrypted(s));
	/* re-entry from inside an event is refused with 174 */
	CU_ASSERT_EQUAL(rec.busy_in_event, 1);
	CU_ASSERT_EQUAL(rec.idle_in_event, 1);
	CU_ASSERT_TRUE(spop_get_idle(s));
	g_string_free(want, TRUE);
	spop_disconnect(s);
	spop_free(s);
}

static void test_dots(void)
{
	spop_free(retrieve_exactly(HARNESS_MSG_DOTS));
}

static void test_long_lines(void)
{
	spop_t *s = retrieve_exactly(HARNESS_MSG_LONG);

	/* lines over MaxLineLength (2048) arrive in pieces with EOL false */
	CU_ASSERT(rec.non_eol >= 1 + 4 + 48);
	/* folded header: continuation lines give Header events with "" */
	int cont = 0;
	for (guint i = 0; i < rec.headers->len; i++)
		cont += g_str_has_prefix(rec.headers->pdata[i], ": ");
	CU_ASSERT(cont >= 1);
	for (int i = 0; i < spop_get_message_header_count(s); i++)
		CU_ASSERT(strlen(spop_get_message_header_field(s, i)) > 0);
	spop_free(s);
}

static void test_rfc2047_and_flags(void)
{
	spop_t *s = connected(HARNESS_MSG_8BIT);

	ASSERT_OK(spop_retrieve(s));
	CU_ASSERT_STRING_EQUAL(spop_get_message_subject(s), "Grüße aus Köln ✓");
	spop_config(s, "AutoDecodeSubject=False");
	ASSERT_OK(spop_retrieve(s));
	CU_ASSERT(g_str_has_prefix(spop_get_message_subject(s), "=?"));
	ASSERT_OK(spop_set_message_number(s, HARNESS_MSG_SIGNED));
	ASSERT_OK(spop_retrieve_headers(s));
	CU_ASSERT_TRUE(spop_get_message_signed(s));
	CU_ASSERT_TRUE(spop_check_message_signed(s));
	CU_ASSERT_FALSE(spop_get_message_encrypted(s));
	ASSERT_OK(spop_set_message_number(s, HARNESS_MSG_ENVELOPED));
	ASSERT_OK(spop_retrieve_headers(s));
	CU_ASSERT_TRUE(spop_get_message_encrypted(s));
	CU_ASSERT_FALSE(spop_get_message_signed(s));
	spop_free(s);
}

static void test_top_and_headers_only(void)
{
	spop_t *s = connected(HARNESS_MSG_SIMPLE);
	char *file = g_build_filename(work, "top.eml", NULL);
	const char *data;
	size_t len;

	unlink(file);
	/* RetrieveHeaders: TOP n 0, no body */
	ASSERT_OK(spop_retrieve_headers(s));
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: TOP 1 0\n"));
	CU_ASSERT(spop_get_message_header_count(s) >= 6);
	spop_get_message_text(s, &data, &len);
	/* the getter fetched the body: the number changed for the text */
	CU_ASSERT(len > 0);
	/* MaxLines: TOP n 2, and LocalFile is not written */
	spop_set_local_file(s, file);
	spop_set_max_lines(s, 2);
	ASSERT_OK(spop_retrieve(s));
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: TOP 1 2\n"));
	spop_get_message_text(s, &data, &len);
	int lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += data[i] == '\n';
	CU_ASSERT_EQUAL(lines, 2);
	CU_ASSERT_FALSE(g_file_test(file, G_FILE_TEST_EXISTS));
	/* IncludeHeaders puts the headers first in MessageText and file */
	spop_set_max_lines(s, 0);
	spop_set_include_headers(s, 1);
	ASSERT_OK(spop_retrieve(s));
	GString *want = expected_message(HARNESS_MSG_SIMPLE, HARNESS_MAIN_USER);
	spop_get_message_text(s, &data, &len);
	CU_ASSERT_EQUAL(len, want->len);
	char *contents;
	gsize clen;
	CU_ASSERT_TRUE(g_file_get_contents(file, &contents, &clen, NULL));
	CU_ASSERT_EQUAL(clen, want->len);
	CU_ASSERT_EQUAL(memcmp(contents, want->str, MIN(clen, want->len)), 0);
	g_free(contents);
	/* without IncludeHeaders the file holds the body */
	spop_set_include_headers(s, 0);
	ASSERT_OK(spop_retrieve(s));
	CU_ASSERT_TRUE(g_file_get_contents(file, &contents, &clen, NULL));
	CU_ASSERT_STRING_EQUAL(
	    contents, want->str + strlen(spop_get_message_headers_string(s)));
	g_free(contents);
	g_string_free(want, TRUE);
	g_free(file);
	spop_free(s);
}

struct mem_stream {
	GString *data;
	int closed, flushed;
};

static ssize_t ms_write(void *ud, const void *buf, size_t n)
{
	g_string_append_len(((struct mem_stream *)ud)->data, buf, (gssize)n);
	return (ssize_t)n;
}
static int ms_flush(void *ud)
{
	((struct mem_stream *)ud)->flushed++;
	return 0;
}
static void ms_close(void *ud)
{
	((struct mem_stream *)ud)->closed++;
}

static void test_stream(void)
{
	spop_t *s = connected(HARNESS_MSG_DOTS);
	struct mem_stream m = {g_string_new(NULL), 0, 0};
	struct spop_stream st = {
	    .size = sizeof(st),
	    .user_data = &m,
	    .write = ms_write,
	    .flush = ms_flush,
	    .close = ms_close,
	};
	GString *want = expected_message(HARNESS_MSG_DOTS, HARNESS_MAIN_USER);

	ASSERT_OK(spop_set_message_stream(s, &st));
	spop_set_include_headers(s, 1);
	ASSERT_OK(spop_retrieve(s));
	CU_ASSERT_EQUAL(m.data->len, want->len);
	CU_ASSERT_EQUAL(
	    memcmp(m.data->str, want->str, MIN(m.data->len, want->len)), 0);
	CU_ASSERT_EQUAL(m.closed, 1);
	CU_ASSERT_EQUAL(m.flushed, 1);
	/* closed after the transfer: the next retrieve does not use it */
	g_string_truncate(m.data, 0);
	ASSERT_OK(spop_retrieve(s));
	CU_ASSERT_EQUAL(m.data->len, 0);
	/* CloseStreamAfterTransfer=False keeps it */
	spop_config(s, "CloseStreamAfterTransfer=False");
	ASSERT_OK(spop_set_message_stream(s, &st));
	ASSERT_OK(spop_retrieve(s));
	ASSERT_OK(spop_retrieve(s));
	CU_ASSERT_EQUAL(m.data->len, 2 * want->len);
	CU_ASSERT_EQUAL(m.closed, 1);
	ASSERT_OK(spop_set_message_stream(s, NULL));
	g_string_free(m.data, TRUE);
	g_string_free(want, TRUE);
	spop_free(s);
}

static int count_temp_files(void)
{
	GDir *d = g_dir_open(work, 0, NULL);
	const char *n;
	int c = 0;

	while (d && (n = g_dir_read_name(d)))
		c += n[0] == '.';
	if (d)
		g_dir_close(d);
	return c;
}

static void test_big_to_local_file(void)
{
	spop_t *s = connected(HARNESS_MSG_BIG);
	char *file = g_build_filename(work, "big.eml", NULL);
	long long size = harness_message_size(&dovecot, HARNESS_MSG_BIG);
	struct stat st;
	const char *data;
	size_t len;

	unlink(file);
	spop_config(s, "MessageMemoryLimit=1048576");
	spop_config(s, "GetMessageSize=True");
	spop_set_include_headers(s, 1);
	spop_set_local_file(s, file);
	rec.watch_file = file;
	ASSERT_OK(spop_retrieve(s));
	/* atomic: the name appeared only when complete */
	CU_ASSERT_EQUAL(rec.watch_file_seen, 0);
	CU_ASSERT_EQUAL(stat(file, &st), 0);
	CU_ASSERT_EQUAL((long long)st.st_size, size);
	CU_ASSERT_EQUAL(rec.last_bytes, size);
	CU_ASSERT_EQUAL(rec.last_percent, 100);
	/* in-memory copies are capped; the file has everything */
	spop_get_message(s, &data, &len);
	CU_ASSERT_EQUAL(len, 1048576);
	spop_get_message_text(s, &data, &len);
	CU_ASSERT_EQUAL(len, 1048576);
	CU_ASSERT_STRING_EQUAL(spop_get_message_subject(s), "big");
	/* the file is the message, byte for byte */
	GString *want = expected_message(HARNESS_MSG_BIG, HARNESS_MAIN_USER);
	char *contents;
	gsize clen;
	CU_ASSERT_TRUE(g_file_get_contents(file, &contents, &clen, NULL));
	CU_ASSERT_EQUAL(clen, want->len);
	CU_ASSERT_EQUAL(memcmp(contents, want->str, MIN(clen, want->len)), 0);
	g_free(contents);
	g_string_free(want, TRUE);
	CU_ASSERT_EQUAL(count_temp_files(), 0);

	/* Interrupt from inside an event: 10004, old file untouched, no
	 * temporary left behind, connection dropped (stream out of sync) */
	rec.transfers = 0;
	rec.interrupt_after = 1000;
	rec.watch_file = NULL;
	CU_ASSERT_EQUAL(spop_retrieve(s), 10004);
	CU_ASSERT_EQUAL(stat(file, &st), 0);
	CU_ASSERT_EQUAL((long long)st.st_size, size);
	CU_ASSERT_EQUAL(count_temp_files(), 0);
	CU_ASSERT_FALSE(spop_get_connected(s));
	g_free(file);
	spop_free(s);
}

static void slow_transfer(spop_t *s, const struct spop_transfer_event *e,
			  void *ud)
{
	usleep(100);
}

static void *interrupter(void *p)
{
	usleep(300 * 1000);
	spop_interrupt(p);
	return NULL;
}

static void test_interrupt_from_thread(void)
{
	spop_t *s = connected(HARNESS_MSG_BIG);
	char *file = g_build_filename(work, "never.eml", NULL);
	pthread_t t;

	unlink(file);
	spop_set_local_file(s, file);
	spop_on_transfer(s, slow_transfer, NULL);
	pthread_create(&t, NULL, interrupter, s);
	gint64 t0 = g_get_monotonic_time();
	CU_ASSERT_EQUAL(spop_retrieve(s), 10004);
	pthread_join(t, NULL);
	/* Only "it did not run to the end of 50 MiB at 100 us a line": a
	 * bound generous enough for a loaded sanitizer run, not a speed
	 * requirement (tests assert no times). */
	CU_ASSERT(g_get_monotonic_time() - t0 < 60 * G_USEC_PER_SEC);
	CU_ASSERT_FALSE(g_file_test(file, G_FILE_TEST_EXISTS));
	CU_ASSERT_EQUAL(count_temp_files(), 0);
	/* the object is usable again */
	ASSERT_OK(spop_connect(s));
	spop_disconnect(s);
	g_free(file);
	spop_free(s);
}

static void test_bad_local_file(void)
{
	spop_t *s = connected(HARNESS_MSG_SIMPLE);

	spop_set_local_file(s, "/nonexistent-dir/x.eml");
	CU_ASSERT_EQUAL(spop_retrieve(s), 302);
	ERROR_HAS(s, "/nonexistent-dir/x.eml");
	/* nothing was sent, the session goes on */
	CU_ASSERT_TRUE(spop_get_connected(s));
	spop_set_local_file(s, "");
	ASSERT_OK(spop_retrieve(s));
	spop_free(s);
}

/* A LocalFile write that fails mid-message (here: the file size limit,
 * EFBIG): 302 naming LocalFile and the reason, no file under its name and
 * no temporary left; the rest of the reply is read, so the session goes
 * on. */
static void test_local_file_write_fails(void)
{
	spop_t *s = connected(HARNESS_MSG_BIG);
	char *file = g_build_filename(work, "toobig.eml", NULL);
	struct rlimit old, small;
	void (*old_handler)(int);

	unlink(file);
	spop_set_local_file(s, file);
	CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 1024 * 1024;
	old_handler = signal(SIGXFSZ, SIG_IGN);
	CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &small), 0);
	CU_ASSERT_EQUAL(spop_retrieve(s), 302);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, old_handler);
	ERROR_HAS(s, file);
	ERROR_HAS(s, g_strerror(EFBIG));
	CU_ASSERT_FALSE(g_file_test(file, G_FILE_TEST_EXISTS));
	CU_ASSERT_EQUAL(count_temp_files(), 0);
	CU_ASSERT_TRUE(spop_get_connected(s));
	spop_set_local_file(s, "");
	ASSERT_OK(spop_set_message_number(s, 1));
	ASSERT_OK(spop_retrieve(s));
	g_free(file);
	spop_free(s);
}

/* Durability: out-of-range values refused; every mode leaves the complete
 * message under LocalFile and no temporary file. */
static void test_durability(void)
{
	spop_t *s = connected(HARNESS_MSG_DOTS);
	char *file = g_build_filename(work, "durable.eml", NULL);
	GString *want = expected_message(HARNESS_MSG_DOTS, HARNESS_MAIN_USER);
	static const char *const bad[] = {"Durability=3", "Durability=-1",
					  "Durability=batch"};

	CU_ASSERT_STRING_EQUAL(spop_config(s, "Durability"), "1");
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		CU_ASSERT_PTR_NULL(spop_config(s, bad[i]));
		CU_ASSERT_EQUAL(spop_last_error_code(s), 1211);
		ERROR_HAS(s, "Durability");
	}
	CU_ASSERT_STRING_EQUAL(spop_config(s, "Durability"), "1");
	spop_set_include_headers(s, 1);
	spop_set_local_file(s, file);
	for (int mode = 0; mode <= 2; mode++) {
		char *set = g_strdup_printf("Durability=%d", mode);
		char *contents = NULL;
		gsize clen = 0;

		unlink(file);
		CU_ASSERT_PTR_NOT_NULL(spop_config(s, set));
		ASSERT_OK(spop_retrieve(s));
		CU_ASSERT_TRUE(
		    g_file_get_contents(file, &contents, &clen, NULL));
		CU_ASSERT_EQUAL(clen, want->len);
		CU_ASSERT_EQUAL(
		    memcmp(contents, want->str, MIN(clen, want->len)), 0);
		CU_ASSERT_EQUAL(count_temp_files(), 0);
		g_free(contents);
		g_free(set);
	}
	unlink(file);
	g_free(file);
	g_string_free(want, TRUE);
	spop_free(s);
}

/* Message and MessageText of message n, as the reference has them. */
static void check_message(spop_t *s, int n, bool include_headers)
{
	GString *want = expected_message(n, HARNESS_MAIN_USER);
	const char *data, *hs;
	size_t len;

	ASSERT_OK(spop_get_message(s, &data, &len));
	CU_ASSERT_EQUAL(len, want->len);
	CU_ASSERT_EQUAL(memcmp(data, want->str, MIN(len, want->len)), 0);
	hs = spop_get_message_headers_string(s);
	CU_ASSERT_EQUAL(strncmp(hs, want->str, strlen(hs)), 0);
	ASSERT_OK(spop_get_message_text(s, &data, &len));
	size_t skip = include_headers ? 0 : strlen(hs);
	CU_ASSERT_EQUAL(len, want->len - skip);
	CU_ASSERT_EQUAL(
	    memcmp(data, want->str + skip, MIN(len, want->len - skip)), 0);
	g_string_free(want, TRUE);
}

/* With LocalFile or a stream the body is not kept in memory; Message and
 * MessageText still give the retrieved message: read back from LocalFile,
 * or retrieved again when the file changed or it went to a stream. No
 * Transfer handler here, so the body goes through the span path. */
static void test_message_after_local_file(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, NULL);
	char *file = g_build_filename(work, "kept.eml", NULL);
	static const int msgs[] = {HARNESS_MSG_SIMPLE, HARNESS_MSG_DOTS,
				   HARNESS_MSG_LONG, HARNESS_MSG_8BIT};

	ASSERT_OK(spop_connect(s));
	spop_set_local_file(s, file);
	for (int ih = 0; ih <= 1; ih++) {
		spop_set_include_headers(s, ih);
		for (size_t i = 0; i < G_N_ELEMENTS(msgs); i++) {
			ASSERT_OK(spop_set_message_number(s, msgs[i]));
			ASSERT_OK(spop_retrieve(s));
			check_message(s, msgs[i], ih);
			/* and the file has what MessageText has */
			const char *data;
			size_t len;
			char *contents;
			gsize clen;
			ASSERT_OK(spop_get_message_text(s, &data, &len));
			CU_ASSERT_TRUE(
			    g_file_get_contents(file, &contents, &clen, NULL));
			CU_ASSERT_EQUAL(clen, len);
			CU_ASSERT_EQUAL(memcmp(contents, data, MIN(clen, len)),
					0);
			g_free(contents);
		}
	}
	/* LocalFile replaced after Retrieve: the message comes from the
	 * server again, never from the other file */
	ASSERT_OK(spop_set_message_number(s, HARNESS_MSG_DOTS));
	ASSERT_OK(spop_retrieve(s));
	CU_ASSERT_TRUE(
	    g_file_set_contents(file, "not the message\r\n", -1, NULL));
	check_message(s, HARNESS_MSG_DOTS, true);
	unlink(file);
	/* a stream: retrieved again when asked */
	struct mem_stream m = {g_string_new(NULL), 0, 0};
	struct spop_stream st = {
	    .size = sizeof(st), .user_data = &m, .write = ms_write};
	ASSERT_OK(spop_set_message_stream(s, &st));
	spop_set_include_headers(s, 0);
	ASSERT_OK(spop_set_message_number(s, HARNESS_MSG_SIMPLE));
	ASSERT_OK(spop_retrieve(s));
	check_message(s, HARNESS_MSG_SIMPLE, false);
	/* S/MIME works on a message retrieved to LocalFile as on one held
	 * in memory: the same verdict */
	int rc_mem, rc_file;
	char *err_mem;
	spop_set_local_file(s, "");
	ASSERT_OK(spop_set_message_number(s, HARNESS_MSG_SIGNED));
	ASSERT_OK(spop_retrieve(s));
	rc_mem = spop_verify_signature(s);
	err_mem = g_strdup(spop_last_error(s));
	spop_set_local_file(s, file);
	ASSERT_OK(spop_retrieve(s));
	rc_file = spop_verify_signature(s);
	CU_ASSERT_EQUAL(rc_file, rc_mem);
	CU_ASSERT_NOT_EQUAL(rc_file, SPOP_ERR_STATE);
	CU_ASSERT_STRING_EQUAL(spop_last_error(s), err_mem);
	g_free(err_mem);
	unlink(file);
	g_string_free(m.data, TRUE);
	g_free(file);
	spop_disconnect(s);
	spop_free(s);
}

struct in_event {
	int rc;
	size_t len;
};

static void message_at_end(spop_t *s, const struct spop_end_transfer_event *e,
			   void *ud)
{
	struct in_event *ie = ud;
	const char *data = NULL;

	ie->rc = spop_get_message(s, &data, &ie->len);
	CU_ASSERT_PTR_NOT_NULL(data);
}

/* Inside EndTransfer the body is on its way to LocalFile, not in memory:
 * Message says so (174) rather than give the headers alone; once Retrieve
 * has returned it is the whole message. */
static void test_message_inside_event(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, NULL);
	char *file = g_build_filename(work, "event.eml", NULL);
	struct in_event ie = {-1, 1};

	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_set_message_number(s, HARNESS_MSG_SIMPLE));
	spop_on_end_transfer(s, message_at_end, &ie);
	spop_set_local_file(s, file);
	ASSERT_OK(spop_retrieve(s));
	CU_ASSERT_EQUAL(ie.rc, SPOP_ERR_BUSY);
	CU_ASSERT_EQUAL(ie.len, 0);
	spop_on_end_transfer(s, NULL, NULL);
	check_message(s, HARNESS_MSG_SIMPLE, false);
	/* without LocalFile the message is in memory during the event */
	spop_on_end_transfer(s, message_at_end, &ie);
	spop_set_local_file(s, "");
	ASSERT_OK(spop_retrieve(s));
	CU_ASSERT_EQUAL(ie.rc, 0);
	CU_ASSERT_EQUAL((long long)ie.len,
			harness_message_size(&dovecot, HARNESS_MSG_SIMPLE));
	unlink(file);
	g_free(file);
	spop_disconnect(s);
	spop_free(s);
}

static int init_work(void)
{
	work = g_build_filename(dovecot.dir, "out", NULL);
	return g_mkdir_with_parents(work, 0700);
}

static int clean_work(void)
{
	g_clear_pointer(&work, g_free);
	return 0;
}

static const struct test_case retrieve_cases0[] = {
    {"headers, recipients, text", test_simple_headers},
    {"dot-stuffed lines", test_dots},
    {"long lines and folded headers", test_long_lines},
    {"RFC 2047 subject, S/MIME flags", test_rfc2047_and_flags},
    {"TOP, MaxLines, IncludeHeaders", test_top_and_headers_only},
    {"message stream", test_stream},
    {"50 MB to LocalFile, interrupt in event", test_big_to_local_file},
    {"Interrupt from another thread", test_interrupt_from_thread},
    {"LocalFile that cannot be created", test_bad_local_file},
    {"LocalFile write fails mid-message (EFBIG): 302",
     test_local_file_write_fails},
    {"Durability 0, 1, 2", test_durability},
    {"Message, MessageText after LocalFile or a stream",
     test_message_after_local_file},
    {"Message inside EndTransfer with LocalFile: 174",
     test_message_inside_event},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"retrieve", init_work, clean_work, retrieve_cases0},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return integration_main("retrieve", suites);
}
