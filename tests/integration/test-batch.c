/* spop_retrieve_batch against a private Dovecot (which advertises
 * PIPELINING): every message byte for byte into a file per message, the
 * window of commands in flight, one at a time with PipelineWindow 0, the
 * selections (range, numbers, UIDs), per-message failures, stopping from a
 * callback with the stream kept in step, deletion after storage, and the
 * listing pipelined behind STAT at Connect. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static struct recorder rec;
static char *work;

struct seen {
	GString *log;	  /* "prepare n\n", "done n rc\n", "deleted n rc\n" */
	GPtrArray *files; /* LocalFile per message number (index n) */
	int stop_after;	  /* done returns 42 after this many; 0 never */
	int done_count;
	int method_in_cb; /* what spop_retrieve answered inside done */
	char *uid_seen;	  /* MessageUID read inside done */
};

/* Each case starts with no file from an earlier one. */
static void seen_init(struct seen *w)
{
	GDir *dir = g_dir_open(work, 0, NULL);
	const char *name;

	while (dir && (name = g_dir_read_name(dir))) {
		char *path = g_build_filename(work, name, NULL);

		unlink(path);
		g_free(path);
	}
	if (dir)
		g_dir_close(dir);
	memset(w, 0, sizeof(*w));
	w->log = g_string_new(NULL);
	w->files = g_ptr_array_new_with_free_func(g_free);
}

static void seen_clear(struct seen *w)
{
	g_string_free(w->log, TRUE);
	g_ptr_array_free(w->files, TRUE);
	g_free(w->uid_seen);
}

static int on_prepare(spop_t *s, const struct spop_batch_item *item, void *ud)
{
	struct seen *w = ud;
	char *name = g_strdup_printf("%s/%d.eml", work, item->message_number);

	g_string_append_printf(w->log, "prepare %d\n", item->message_number);
	/* a setter works here; it names this message's file */
	CU_ASSERT_EQUAL(spop_set_local_file(s, name), 0);
	if (w->files->len <= (guint)item->message_number)
		g_ptr_array_set_size(w->files, item->message_number + 1);
	g_free(w->files->pdata[item->message_number]);
	w->files->pdata[item->message_number] = name;
	return 0;
}

static int on_done(spop_t *s, const struct spop_batch_item *item, void *ud)
{
	struct seen *w = ud;

	g_string_append_printf(w->log, "done %d %d\n", item->message_number,
			       item->result);
	if (item->message_number)
		CU_ASSERT_EQUAL(spop_get_message_number(s),
				item->message_number);
	if (!item->result && item->message_number) {
		/* a method from inside answers 174; listed values need no
		 * round trip and are the item's */
		w->method_in_cb = spop_retrieve(s);
		g_free(w->uid_seen);
		w->uid_seen = g_strdup(spop_get_message_uid(s));
		if (*item->message_uid)
			CU_ASSERT_STRING_EQUAL(w->uid_seen, item->message_uid);
		if (item->message_size >= 0)
			CU_ASSERT_EQUAL(spop_get_message_size(s),
					item->message_size);
	}
	w->done_count++;
	return w->stop_after && w->done_count >= w->stop_after ? 42 : 0;
}

static int on_deleted(spop_t *s, const struct spop_batch_item *item, void *ud)
{
	struct seen *w = ud;

	(void)s;
	g_string_append_printf(w->log, "deleted %d %d\n", item->message_number,
			       item->result);
	return 0;
}

static struct spop_batch batch_of(struct seen *w)
{
	struct spop_batch b = {
	    .prepare = on_prepare,
	    .done = on_done,
	    .deleted = on_deleted,
	    .user_data = w,
	};
	return b;
}

static spop_t *connected(const char *user, const char *password)
{
	spop_t *s = client_new(user, password, &rec);

	CU_ASSERT_EQUAL_FATAL(spop_set_include_headers(s, 1), 0);
	if (spop_connect(s))
		CU_FAIL_FATAL("connect");
	return s;
}

static void assert_file_is(const char *path, int n, const char *user)
{
	GString *want = expected_message(n, user);
	char *data = NULL;
	gsize len = 0;

	CU_ASSERT_TRUE_FATAL(g_file_get_contents(path, &data, &len, NULL));
	CU_ASSERT_EQUAL(len, want->len);
	CU_ASSERT_EQUAL(memcmp(data, want->str, MIN(len, want->len)), 0);
	g_free(data);
	g_string_free(want, TRUE);
}

/* How many fetches the client had sent before it read the first reply to
 * one: the trail shows each command when queued and each status line when
 * read. */
static int fetches_before_first_reply(const char *trail)
{
	const char *first_ok = strstr(trail, "S: +OK");
	int n = 0;

	for (const char *p = strstr(trail, "C: RETR "); p && p < first_ok;
	     p = strstr(p + 1, "C: RETR "))
		n++;
	return n;
}

static void test_all_pipelined(void)
{
	spop_t *s = connected(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD);
	int count = spop_get_message_count(s);
	struct seen w;
	struct spop_batch b;

	seen_init(&w);
	b = batch_of(&w);
	recorder_clear(&rec);
	ASSERT_OK(spop_retrieve_batch(s, &b));
	/* every message, in order, each to its own file, whole */
	CU_ASSERT_EQUAL(w.done_count, count);
	CU_ASSERT_EQUAL(rec.start, count);
	CU_ASSERT_EQUAL(rec.end, count);
	for (int n = 1; n <= count; n++) {
		char *line = g_strdup_printf("prepare %d\ndone %d 0\n", n, n);

		CU_ASSERT_PTR_NOT_NULL(strstr(w.log->str, line));
		g_free(line);
		assert_file_is(w.files->pdata[n], n, HARNESS_MAIN_USER);
	}
	/* pipelined: more than one RETR went before the first reply */
	CU_ASSERT(fetches_before_first_reply(rec.trail->str) >= 2);
	/* no per-message LIST n / UIDL n: Connect listed them */
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: LIST "));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: UIDL "));
	CU_ASSERT_EQUAL(w.method_in_cb, SPOP_ERR_BUSY);
	/* the session is in step afterwards */
	ASSERT_OK(spop_set_message_number(s, 1));
	ASSERT_OK(spop_retrieve(s));
	ASSERT_OK(spop_disconnect(s));
	seen_clear(&w);
	spop_free(s);
}

static void test_one_at_a_time(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);
	struct seen w;
	struct spop_batch b;

	config_set(s, "PipelineWindow=0");
	ASSERT_OK(spop_set_include_headers(s, 1));
	ASSERT_OK(spop_connect(s));
	/* without pipelining Connect sends STAT alone */
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: LIST"));
	seen_init(&w);
	b = batch_of(&w);
	b.first = 1;
	b.last = 3;
	recorder_clear(&rec);
	ASSERT_OK(spop_retrieve_batch(s, &b));
	CU_ASSERT_EQUAL(fetches_before_first_reply(rec.trail->str), 1);
	for (int n = 1; n <= 3; n++)
		assert_file_is(w.files->pdata[n], n, HARNESS_MAIN_USER);
	CU_ASSERT_EQUAL(w.done_count, 3);
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: RETR 4"));
	spop_disconnect(s);
	seen_clear(&w);
	spop_free(s);
}

static void test_selections(void)
{
	spop_t *s = connected(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD);
	int count = spop_get_message_count(s);
	const int numbers[] = {4, 2, 4};
	struct seen w;
	struct spop_batch b;

	/* numbers, in the order given, repeats included */
	seen_init(&w);
	b = batch_of(&w);
	b.numbers = numbers;
	b.count = G_N_ELEMENTS(numbers);
	ASSERT_OK(spop_retrieve_batch(s, &b));
	CU_ASSERT_STRING_EQUAL(w.log->str, "prepare 4\ndone 4 0\nprepare 2\n"
					   "done 2 0\nprepare 4\ndone 4 0\n");
	assert_file_is(w.files->pdata[2], 2, HARNESS_MAIN_USER);
	ASSERT_OK(spop_set_message_number(s, 2));
	char *uid2 = g_strdup(spop_get_message_uid(s));
	seen_clear(&w);

	/* UIDs: one the mailbox lacks is a failed item, the rest arrive */
	ASSERT_OK(spop_set_message_number(s, 3));
	const char *uids[] = {"no-such-uid", spop_get_message_uid(s), uid2};
	char *uid3 = g_strdup(uids[1]);
	uids[1] = uid3;
	seen_init(&w);
	b = batch_of(&w);
	b.uids = uids;
	b.count = 3;
	CU_ASSERT_EQUAL(spop_retrieve_batch(s, &b), SPOP_ERR_INVALID_VALUE);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "no-such-uid"));
	CU_ASSERT_STRING_EQUAL(w.log->str, "done 0 1211\nprepare 3\ndone 3 0\n"
					   "prepare 2\ndone 2 0\n");
	seen_clear(&w);
	g_free(uid2);
	g_free(uid3);

	/* a range outside the mailbox: nothing sent, the session goes on */
	seen_init(&w);
	b = batch_of(&w);
	b.first = count;
	b.last = count + 1;
	recorder_clear(&rec);
	CU_ASSERT_EQUAL(spop_retrieve_batch(s, &b), SPOP_ERR_INVALID_VALUE);
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: "));
	CU_ASSERT_EQUAL(w.done_count, 0);
	/* numbers without a count, and no batch at all */
	b = batch_of(&w);
	b.numbers = numbers;
	CU_ASSERT_EQUAL(spop_retrieve_batch(s, &b), SPOP_ERR_INVALID_ARGUMENT);
	CU_ASSERT_EQUAL(spop_retrieve_batch(s, NULL),
			SPOP_ERR_INVALID_ARGUMENT);
	/* headers only: TOP n 0, nothing deleted with it */
	b = batch_of(&w);
	b.headers_only = 1;
	b.delete_after = 1;
	CU_ASSERT_EQUAL(spop_retrieve_batch(s, &b), SPOP_ERR_INVALID_ARGUMENT);
	b.delete_after = 0;
	b.prepare = NULL;
	b.first = b.last = 1;
	recorder_clear(&rec);
	ASSERT_OK(spop_retrieve_batch(s, &b));
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: TOP 1 0"));
	CU_ASSERT_STRING_EQUAL(spop_get_message_subject(s), "Simple message");
	ASSERT_OK(spop_disconnect(s));
	seen_clear(&w);
	spop_free(s);
}

static void test_stop_and_failures(void)
{
	spop_t *s = connected(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD);
	int count = spop_get_message_count(s);
	struct seen w;
	struct spop_batch b;

	/* done's non-zero return stops: no further RETR, the replies in
	 * flight are read and dropped, the session stays in step */
	config_set(s, "PipelineWindow=2"); /* fewer in flight than count */
	seen_init(&w);
	w.stop_after = 1;
	b = batch_of(&w);
	recorder_clear(&rec);
	CU_ASSERT_EQUAL(spop_retrieve_batch(s, &b), 42);
	CU_ASSERT_EQUAL(w.done_count, 1);
	CU_ASSERT_EQUAL(rec.start, 1);
	int sent = fetches_before_first_reply(rec.trail->str);
	CU_ASSERT_EQUAL(sent, 2);
	char *not_sent = g_strdup_printf("C: RETR %d\n", count);
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, not_sent));
	g_free(not_sent);
	ASSERT_OK(spop_set_message_number(s, HARNESS_MSG_SIMPLE));
	ASSERT_OK(spop_retrieve(s));
	CU_ASSERT_STRING_EQUAL(spop_get_message_subject(s), "Simple message");
	seen_clear(&w);

	/* a message the server refuses (deleted in this session) fails
	 * alone; the others arrive */
	ASSERT_OK(spop_set_message_number(s, 2));
	ASSERT_OK(spop_delete(s));
	seen_init(&w);
	b = batch_of(&w);
	b.first = 1;
	b.last = 3;
	CU_ASSERT_EQUAL(spop_retrieve_batch(s, &b), SPOP_ERR_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "RETR"));
	CU_ASSERT_STRING_EQUAL(w.log->str,
			       "prepare 1\ndone 1 0\nprepare 2\ndone 2 171\n"
			       "prepare 3\ndone 3 0\n");
	assert_file_is(w.files->pdata[3], 3, HARNESS_MAIN_USER);
	CU_ASSERT_FALSE(g_file_test(w.files->pdata[2], G_FILE_TEST_EXISTS));
	ASSERT_OK(spop_reset(s));
	ASSERT_OK(spop_disconnect(s));
	seen_clear(&w);
	spop_free(s);
}

static void test_delete_after(void)
{
	spop_t *s = connected(HARNESS_SMALL_USER, HARNESS_SMALL_PASSWORD);
	struct seen w;
	struct spop_batch b;

	CU_ASSERT_EQUAL_FATAL(spop_get_message_count(s), 3);
	seen_init(&w);
	b = batch_of(&w);
	b.delete_after = 1;
	recorder_clear(&rec);
	ASSERT_OK(spop_retrieve_batch(s, &b));
	for (int n = 1; n <= 3; n++) {
		char *line = g_strdup_printf("deleted %d 0\n", n);
		char *dele = g_strdup_printf("C: DELE %d\n", n);
		char *retr = g_strdup_printf("C: RETR %d\n", n);

		CU_ASSERT_PTR_NOT_NULL(strstr(w.log->str, line));
		/* the DELE went after the message was read, not before */
		CU_ASSERT(strstr(rec.trail->str, dele) >
			  strstr(rec.trail->str, retr));
		assert_file_is(w.files->pdata[n], n, HARNESS_SMALL_USER);
		g_free(line);
		g_free(dele);
		g_free(retr);
	}
	/* deleted messages are no longer listed */
	ASSERT_OK(spop_set_message_number(s, 1));
	CU_ASSERT_EQUAL(spop_get_message_size(s), 0);
	ASSERT_OK(spop_disconnect(s));
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s), 0);
	ASSERT_OK(spop_disconnect(s));
	seen_clear(&w);
	spop_free(s);
	CU_ASSERT_EQUAL(
	    harness_dovecot_reset_mailbox(&dovecot, HARNESS_SMALL_USER), 0);
}

/* A message that went to no file or stream and is larger than
 * MessageMemoryLimit is not deleted: the application never had it. */
static void test_delete_needs_a_copy(void)
{
	spop_t *s =
	    client_new(HARNESS_SMALL_USER, HARNESS_SMALL_PASSWORD, &rec);
	struct seen w;
	struct spop_batch b;

	config_set(s, "MessageMemoryLimit=10");
	ASSERT_OK(spop_connect(s));
	seen_init(&w);
	b = batch_of(&w);
	b.prepare = NULL;
	b.delete_after = 1;
	recorder_clear(&rec);
	CU_ASSERT_EQUAL(spop_retrieve_batch(s, &b), SPOP_ERR_FILE);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "not deleted"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: DELE"));
	ASSERT_OK(spop_disconnect(s));
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s), 3);
	spop_disconnect(s);
	seen_clear(&w);
	spop_free(s);
}

static void test_list_at_connect(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);

	ASSERT_OK(spop_connect(s));
	/* STAT, LIST and UIDL went together, before STAT's answer */
	const char *stat = strstr(rec.trail->str, "C: STAT\n");
	const char *answer = stat ? strstr(stat, "S: +OK") : NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(answer);
	CU_ASSERT(strstr(stat, "C: LIST\n") < answer);
	CU_ASSERT(strstr(stat, "C: UIDL\n") < answer);
	/* kept quietly: no MessageList events, no round trip later */
	CU_ASSERT_EQUAL(rec.listed->len, 0);
	recorder_clear(&rec);
	ASSERT_OK(spop_set_message_number(s, 3));
	CU_ASSERT_EQUAL(spop_get_message_size(s),
			harness_message_size(&dovecot, 3));
	CU_ASSERT(strlen(spop_get_message_uid(s)) > 0);
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: "));
	ASSERT_OK(spop_disconnect(s));

	/* ListAtConnect off: STAT alone */
	config_set(s, "ListAtConnect=false");
	recorder_clear(&rec);
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: LIST"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: UIDL"));
	spop_disconnect(s);
	spop_free(s);
}

static int init_work(void)
{
	work = g_build_filename(dovecot.dir, "batch-out", NULL);
	return g_mkdir_with_parents(work, 0700);
}

static int clean_work(void)
{
	g_clear_pointer(&work, g_free);
	return 0;
}

static const struct test_case batch_cases[] = {
    {"all messages, pipelined, a file each", test_all_pipelined},
    {"PipelineWindow 0: one at a time", test_one_at_a_time},
    {"numbers, UIDs, range, headers only", test_selections},
    {"stop from done; a refused message", test_stop_and_failures},
    {"delete after storing", test_delete_after},
    {"no deletion without a whole copy", test_delete_needs_a_copy},
    {"LIST and UIDL pipelined at Connect", test_list_at_connect},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"batch", init_work, clean_work, batch_cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return integration_main("batch", suites);
}
