/* Misbehaving servers (scripted: no real server does these): stalls and
 * trickles against Timeout and AbsoluteTimeout, malformed and hostile
 * replies, drops mid-transfer. Each must give the reference's code and a
 * message naming what failed, never a hang, crash or stray file. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "scripted.h"

static struct recorder rec;
static struct scripted sc;

#define GREETING "+OK ready <1.2@scripted>\r\n"
/* greeting, CAPA refused (an RFC 1939-only server), USER/PASS, STAT */
#define LOGIN(stat)                                                            \
	{STEP_SEND, GREETING, 0, 0}, {STEP_EXPECT, "CAPA", 0, 0},              \
	    {STEP_SEND, "-ERR unknown\r\n", 0, 0},                             \
	    {STEP_EXPECT, "USER bob", 0, 0}, {STEP_SEND, "+OK\r\n", 0, 0},     \
	    {STEP_EXPECT, "PASS pw", 0, 0}, {STEP_SEND, "+OK\r\n", 0, 0},      \
	    {STEP_EXPECT, "STAT", 0, 0},                                       \
	{                                                                      \
		STEP_SEND, stat, 0, 0                                          \
	}

static spop_t *client_for(const struct step *script)
{
	return scripted_client(&sc, script, "bob", &rec);
}

static void finish(spop_t *s)
{
	scripted_client_finish(s, &sc);
}

/* Asserts that a drop left nothing in dir, and removes it. */
static void remove_empty_dir(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);

	CU_ASSERT_PTR_NULL(d ? g_dir_read_name(d) : NULL);
	if (d)
		g_dir_close(d);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
}

static void test_silent_server(void)
{
	static const struct step script[] = {{STEP_SLEEP, NULL, 2500, 0},
					     {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);

	spop_set_timeout(s, 1);
	CU_ASSERT_EQUAL(spop_connect(s), 301);
	ERROR_HAS(s, "127.0.0.1");
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_EQUAL(rec.last_error, 301);
	finish(s);
}

/* A proxy that accepts and then says nothing: the timeout names the
 * proxy, not the mail server it was asked to reach. */
static void test_silent_proxy(void)
{
	static const struct step script[] = {{STEP_SLEEP, NULL, 2500, 0},
					     {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);
	char *cfg, *want;
	int port = spop_get_mail_port(s);

	spop_set_timeout(s, 1);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallType=3"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallHost=127.0.0.1"));
	cfg = g_strdup_printf("FirewallPort=%d", port);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, cfg));
	ASSERT_OK(spop_set_mail_server(s, "192.0.2.1"));
	CU_ASSERT_EQUAL(spop_connect(s), 301);
	want = g_strdup_printf("No answer from proxy 127.0.0.1:%d", port);
	ERROR_HAS(s, want);
	CU_ASSERT_PTR_NULL(strstr(spop_last_error(s), "192.0.2.1"));
	CU_ASSERT_FALSE(spop_get_connected(s));
	g_free(want);
	g_free(cfg);
	finish(s);
}

/* ConnectionTimeout bounds establishing the connection: a listener whose
 * accept queue is full drops the SYN, so the TCP connect itself hangs. */
static void test_connection_timeout(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t l = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fill[4];
	char port[16];

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_EQUAL_FATAL(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	CU_ASSERT_EQUAL_FATAL(listen(lfd, 0), 0);
	getsockname(lfd, (struct sockaddr *)&a, &l);
	for (int i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fill[i], (struct sockaddr *)&a, sizeof(a));
	}
	spop_t *s = client_new("bob", "pw", &rec);
	spop_set_mail_port(s, ntohs(a.sin_port));
	spop_set_timeout(s, 30);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "ConnectionTimeout=1"));
	CU_ASSERT_EQUAL(spop_connect(s), 301);
	/* the message quotes the value that expired */
	ERROR_HAS(s, "within 1 seconds (ConnectionTimeout)");
	snprintf(port, sizeof(port), "%d", ntohs(a.sin_port));
	ERROR_HAS(s, port);
	spop_free(s);
	for (int i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd);
}

/* ...and only that: a greeting slower than ConnectionTimeout but within
 * Timeout is fine. */
static void test_connection_timeout_scope(void)
{
	static const struct step script[] = {{STEP_SLEEP, NULL, 1500, 0},
					     LOGIN("+OK 0 0\r\n"),
					     {STEP_EXPECT, "QUIT", 0, 0},
					     {STEP_SEND, "+OK\r\n", 0, 0},
					     {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);

	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "ConnectionTimeout=1"));
	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_disconnect(s));
	finish(s);
}

/* A greeting trickled over ~2 s: never 1 s without data. */
static const struct step trickle[] = {
    {STEP_TRICKLE, "+OK slow <7@x>\r\n", 130, 0},
    {STEP_EXPECT, "CAPA", 0, 0},
    {STEP_SEND, "-ERR\r\n", 0, 0},
    {STEP_EXPECT, "USER bob", 0, 0},
    {STEP_SEND, "+OK\r\n", 0, 0},
    {STEP_EXPECT, "PASS pw", 0, 0},
    {STEP_SEND, "+OK\r\n", 0, 0},
    {STEP_EXPECT, "STAT", 0, 0},
    {STEP_SEND, "+OK 0 0\r\n", 0, 0},
    {STEP_EXPECT, "QUIT", 0, 0},
    {STEP_SEND, "+OK\r\n", 0, 0},
    {STEP_END, NULL, 0, 0}};

static void test_inactivity_timeout_extends(void)
{
	spop_t *s = client_for(trickle);

	spop_set_timeout(s, 1);
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s), 0);
	ASSERT_OK(spop_disconnect(s));
	finish(s);
}

static void test_absolute_timeout(void)
{
	spop_t *s = client_for(trickle);

	spop_set_timeout(s, 1);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "AbsoluteTimeout=True"));
	CU_ASSERT_EQUAL(spop_connect(s), 301);
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_free(s);
	scripted_finish(&sc); /* the script fails when we hang up: expected */
}

static void test_not_pop3(void)
{
	static const struct step script[] = {
	    {STEP_SEND, "* OK IMAP4rev1 ready\r\n", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);

	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, "* OK IMAP4rev1 ready");
	CU_ASSERT_FALSE(spop_get_connected(s));
	finish(s);
}

static void test_err_greeting(void)
{
	static const struct step script[] = {
	    {STEP_SEND, "-ERR [SYS/TEMP] too busy\r\n", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);

	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, "too busy");
	CU_ASSERT_STRING_EQUAL(spop_get_last_reply(s),
			       "-ERR [SYS/TEMP] too busy");
	finish(s);
}

static void test_apop_without_timestamp(void)
{
	static const char *const greetings[] = {
	    "+OK POP3 ready\r\n",
	    "+OK POP3 ready <no-at-sign>\r\n",
	    "+OK POP3 ready <a b@c>\r\n",
	    "+OK POP3 ready <@c>\r\n",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(greetings); i++) {
		const struct step script[] = {{STEP_SEND, greetings[i], 0, 0},
					      {STEP_EXPECT, "CAPA", 0, 0},
					      {STEP_SEND, "-ERR\r\n", 0, 0},
					      {STEP_SLEEP, NULL, 200, 0},
					      {STEP_END, NULL, 0, 0}};
		spop_t *s = client_for(script);

		spop_set_auth_mechanism(s, SPOP_AM_APOP);
		CU_ASSERT_EQUAL(spop_connect(s), 171);
		ERROR_HAS(s, "APOP needs a <...@...> timestamp");
		/* nothing was sent for APOP */
		CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: APOP"));
		finish(s);
	}
}

static void test_drop_after_greeting(void)
{
	static const struct step script[] = {{STEP_SEND, GREETING, 0, 0},
					     {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);

	int rc = spop_connect(s);
	/* the peer is gone: reset or closed, depending on timing */
	CU_ASSERT(rc == 1120 || rc == 10054);
	CU_ASSERT_FALSE(spop_get_connected(s));
	finish(s);
}

static void test_malformed_stat(void)
{
	static const struct step script[] = {LOGIN("+OK lots of mail\r\n"),
					     {STEP_SLEEP, NULL, 100, 0},
					     {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);

	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, "STAT");
	ERROR_HAS(s, "lots of mail");
	finish(s);
}

static void test_drop_mid_retrieve(void)
{
	static const struct step script[] = {
	    LOGIN("+OK 1 100\r\n"),
	    {STEP_EXPECT, "RETR 1", 0, 0},
	    {STEP_SEND, "+OK\r\nSubject: cut\r\n\r\nfirst line\r\nsec", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);
	char *dir = g_dir_make_tmp("spop-hostile-XXXXXX", NULL);
	char *file = g_build_filename(dir, "m.eml", NULL);

	ASSERT_OK(spop_connect(s));
	spop_set_local_file(s, file);
	CU_ASSERT_EQUAL(spop_retrieve(s), 1120);
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_EQUAL(rec.end, 1);
	/* no partial file under the name, no temporary left */
	remove_empty_dir(dir);
	g_free(file);
	g_free(dir);
	finish(s);
}

static void test_bad_list_line_keeps_sync(void)
{
	static const struct step script[] = {
	    LOGIN("+OK 2 20\r\n"),
	    {STEP_EXPECT, "LIST", 0, 0},
	    {STEP_SEND, "+OK\r\n1 10\r\ngarbage\r\n2 10\r\n.\r\n", 0, 0},
	    {STEP_EXPECT, "NOOP", 0, 0},
	    {STEP_SEND, "+OK still here\r\n", 0, 0},
	    {STEP_EXPECT, "QUIT", 0, 0},
	    {STEP_SEND, "+OK\r\n", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);

	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_list_message_sizes(s), 171);
	ERROR_HAS(s, "garbage");
	/* the body was drained: the next reply is the NOOP's */
	ASSERT_OK(spop_send_command(s, "NOOP"));
	CU_ASSERT_STRING_EQUAL(spop_get_last_reply(s), "+OK still here");
	ASSERT_OK(spop_disconnect(s));
	finish(s);
}

/* LIST lines for numbers STAT never announced are reported but not kept:
 * a huge number must not size the session's table, and MessageSize of a
 * real message still comes from the listing, a lying one from the server. */
static void test_list_numbers_beyond_stat(void)
{
	static const struct step script[] = {
	    LOGIN("+OK 2 20\r\n"),
	    {STEP_EXPECT, "LIST", 0, 0},
	    {STEP_SEND, "+OK\r\n1 10\r\n2000000000 5\r\n2 10\r\n.\r\n", 0, 0},
	    {STEP_EXPECT, "QUIT", 0, 0},
	    {STEP_SEND, "+OK\r\n", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);

	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_list_message_sizes(s));
	ASSERT_OK(spop_set_message_number(s, 2));
	g_string_truncate(rec.trail, 0);
	CU_ASSERT_EQUAL(spop_get_message_size(s), 10);
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: LIST"));
	ASSERT_OK(spop_disconnect(s));
	finish(s);
}

/* greeting, CAPA with PIPELINING and UIDL, USER/PASS; then Connect sends
 * STAT, LIST and UIDL in one write */
#define PIPELINED_LOGIN                                                        \
	{STEP_SEND, GREETING, 0, 0}, {STEP_EXPECT, "CAPA", 0, 0},              \
	    {STEP_SEND, "+OK\r\nPIPELINING\r\nUIDL\r\nUSER\r\n.\r\n", 0, 0},   \
	    {STEP_EXPECT, "USER bob", 0, 0}, {STEP_SEND, "+OK\r\n", 0, 0},     \
	    {STEP_EXPECT, "PASS pw", 0, 0}, {STEP_SEND, "+OK\r\n", 0, 0},      \
	    {STEP_EXPECT_LINE, "STAT", 0, 0},                                  \
	    {STEP_EXPECT_LINE, "LIST", 0, 0},                                  \
	{                                                                      \
		STEP_EXPECT_LINE, "UIDL", 0, 0                                 \
	}

/* A listing at Connect that the server garbles is dropped with a note:
 * Connect succeeds, and MessageSize asks the server instead. */
static void test_garbled_list_at_connect(void)
{
	static const struct step script[] = {
	    PIPELINED_LOGIN,
	    {STEP_SEND,
	     "+OK 2 20\r\n+OK\r\n1 10\r\nbogus\r\n.\r\n"
	     "-ERR no UIDL today\r\n",
	     0, 0},
	    {STEP_EXPECT_LINE, "LIST 2", 0, 0},
	    {STEP_SEND, "+OK 2 10\r\n", 0, 0},
	    {STEP_EXPECT, "QUIT", 0, 0},
	    {STEP_SEND, "+OK\r\n", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);

	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s), 2);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str, "LIST at Connect failed"));
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "bogus"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str, "UIDL at Connect failed"));
	CU_ASSERT_EQUAL(spop_last_error_code(s), 0);
	ASSERT_OK(spop_set_message_number(s, 2));
	CU_ASSERT_EQUAL(spop_get_message_size(s), 10);
	ASSERT_OK(spop_disconnect(s));
	finish(s);
}

/* The server drops the connection in the middle of the second body of a
 * pipelined batch that deletes: the first message is stored, the second
 * leaves no file, nothing more is asked, and the DELE already sent is
 * never committed (no QUIT reached the server). */
static int hostile_prepare(spop_t *s, const struct spop_batch_item *m, void *ud)
{
	char *path =
	    g_strdup_printf("%s/%d.eml", (const char *)ud, m->message_number);
	int rc = spop_set_local_file(s, path);

	g_free(path);
	return rc;
}

static void test_drop_mid_pipeline(void)
{
	static const struct step script[] = {
	    PIPELINED_LOGIN,
	    {STEP_SEND,
	     "+OK 3 30\r\n+OK\r\n1 10\r\n2 10\r\n3 10\r\n.\r\n"
	     "+OK\r\n1 a\r\n2 b\r\n3 c\r\n.\r\n",
	     0, 0},
	    {STEP_EXPECT_LINE, "RETR 1", 0, 0},
	    {STEP_EXPECT_LINE, "RETR 2", 0, 0},
	    {STEP_EXPECT_LINE, "RETR 3", 0, 0},
	    {STEP_SEND, "+OK\r\nSubject: one\r\n\r\nbody\r\n.\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "DELE 1", 0, 0},
	    {STEP_SEND, "+OK\r\nSubject: two\r\n\r\nhal", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);
	char *dir = g_dir_make_tmp("spop-hostile-XXXXXX", NULL);
	struct spop_batch b = {
	    .prepare = hostile_prepare, .delete_after = 1, .user_data = dir};

	ASSERT_OK(spop_set_include_headers(s, 1));
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_retrieve_batch(s, &b), 1120);
	CU_ASSERT_FALSE(spop_get_connected(s));
	char *one = g_build_filename(dir, "1.eml", NULL);
	char *data = NULL;
	CU_ASSERT_TRUE(g_file_get_contents(one, &data, NULL, NULL));
	CU_ASSERT_STRING_EQUAL(data, "Subject: one\r\n\r\nbody\r\n");
	unlink(one);
	/* nothing else: no partial 2.eml, no temporary */
	remove_empty_dir(dir);
	g_free(data);
	g_free(one);
	g_free(dir);
	finish(s);
}

/* Nothing lost, wherever the connection drops: the server of a pipelined,
 * deleting batch of three messages closes after every possible number of
 * bytes of its replies (from the first byte of the listing at Connect to
 * the QUIT reply). Whatever the cut: a message is either stored whole
 * under its name or absent (no partial file, no temporary); it is
 * reported deleted only if stored first; the batch succeeds only when
 * every reply it needed arrived; and nothing is committed on the server
 * unless QUIT was answered (a dropped POP3 session deletes nothing). */
static const char *const drop_wire[3] = {
    "Subject: one\r\n\r\n..dotted\r\nbody one\r\n",
    "Subject: two\r\nX-Long: a\r\n b\r\n\r\n..\r\n...\r\nend\r\n",
    "Subject: three\r\n\r\nlast\r\n"};
static const char *const drop_stored[3] = {
    "Subject: one\r\n\r\n.dotted\r\nbody one\r\n",
    "Subject: two\r\nX-Long: a\r\n b\r\n\r\n.\r\n..\r\nend\r\n",
    "Subject: three\r\n\r\nlast\r\n"};

struct drop_seen {
	const char *dir;
	bool done[4], deleted[4], stored_at_delete[4];
};

static int drop_prepare(spop_t *s, const struct spop_batch_item *m, void *ud)
{
	return hostile_prepare(s, m, (void *)((struct drop_seen *)ud)->dir);
}

static bool stored_whole(const char *dir, int n)
{
	char *path = g_strdup_printf("%s/%d.eml", dir, n), *data = NULL;
	gsize len;
	bool whole = g_file_get_contents(path, &data, &len, NULL) &&
		     len == strlen(drop_stored[n - 1]) &&
		     memcmp(data, drop_stored[n - 1], len) == 0;

	g_free(data);
	g_free(path);
	return whole;
}

static int drop_done(spop_t *s, const struct spop_batch_item *m, void *ud)
{
	struct drop_seen *d = ud;

	(void)s;
	if (!m->result)
		d->done[m->message_number] = true;
	return 0;
}

static int drop_deleted(spop_t *s, const struct spop_batch_item *m, void *ud)
{
	struct drop_seen *d = ud;

	(void)s;
	if (!m->result) {
		d->deleted[m->message_number] = true;
		d->stored_at_delete[m->message_number] =
		    stored_whole(d->dir, m->message_number);
	}
	return 0;
}

/* The server's side after the login; SEND steps are what a cut shortens. */
static void drop_script(GArray *steps, const char **bodies, size_t *batch_end)
{
	static const struct step login[] = {PIPELINED_LOGIN};
	static char listing[256], replies[3][256];
	size_t sent = 0;

	g_array_append_vals(steps, login, G_N_ELEMENTS(login));
	snprintf(listing, sizeof(listing),
		 "+OK 3 99\r\n+OK\r\n1 %zu\r\n2 %zu\r\n3 %zu\r\n.\r\n"
		 "+OK\r\n1 u1\r\n2 u2\r\n3 u3\r\n.\r\n",
		 strlen(drop_stored[0]), strlen(drop_stored[1]),
		 strlen(drop_stored[2]));
	struct step st = {STEP_SEND, listing, 0, 0};
	g_array_append_val(steps, st);
	sent += strlen(listing);
	for (int i = 1; i <= 3; i++) {
		bodies[i - 1] = replies[i - 1];
		snprintf(replies[i - 1], sizeof(replies[0]), "+OK\r\n%s.\r\n",
			 drop_wire[i - 1]);
	}
	static const struct step retrs[] = {{STEP_EXPECT_LINE, "RETR 1", 0, 0},
					    {STEP_EXPECT_LINE, "RETR 2", 0, 0},
					    {STEP_EXPECT_LINE, "RETR 3", 0, 0}};
	g_array_append_vals(steps, retrs, 3);
	static const char *const dele[3] = {"DELE 1", "DELE 2", "DELE 3"};
	for (int i = 0; i < 3; i++) {
		struct step reply = {STEP_SEND, bodies[i], 0, 0};
		struct step expect = {STEP_EXPECT_LINE, dele[i], 0, 0};

		g_array_append_val(steps, reply);
		g_array_append_val(steps, expect);
		sent += strlen(bodies[i]);
	}
	struct step oks = {STEP_SEND, "+OK\r\n+OK\r\n+OK\r\n", 0, 0};
	g_array_append_val(steps, oks);
	sent += strlen(oks.text);
	*batch_end = sent;
	struct step quit[] = {{STEP_EXPECT_LINE, "QUIT", 0, 0},
			      {STEP_SEND, "+OK bye\r\n", 0, 0},
			      {STEP_END, NULL, 0, 0}};
	g_array_append_vals(steps, quit, 3);
}

/* The script cut after `cut` bytes of what follows the login: SEND steps
 * up to the cut whole, the one it falls in shortened, then the end. */
static GArray *drop_cut(GArray *full, size_t login_steps, size_t cut)
{
	GArray *steps = g_array_new(FALSE, FALSE, sizeof(struct step));
	size_t left = cut;

	g_array_append_vals(steps, full->data, (guint)login_steps);
	for (guint i = (guint)login_steps; i < full->len; i++) {
		struct step st = g_array_index(full, struct step, i);

		if (st.kind == STEP_END)
			break;
		if (st.kind == STEP_SEND) {
			size_t len = strlen(st.text);

			if (!left)
				break;
			if (len > left) {
				st.len = left;
				g_array_append_val(steps, st);
				break;
			}
			left -= len;
		}
		g_array_append_val(steps, st);
	}
	struct step end = {STEP_END, NULL, 0, 0};
	g_array_append_val(steps, end);
	return steps;
}

static void test_drop_every_point(void)
{
	static const struct step login[] = {PIPELINED_LOGIN};
	GArray *full = g_array_new(FALSE, FALSE, sizeof(struct step));
	const char *bodies[3];
	size_t batch_end, total = 0, runs = 0;

	drop_script(full, bodies, &batch_end);
	for (guint i = G_N_ELEMENTS(login); i < full->len; i++) {
		struct step *st = &g_array_index(full, struct step, i);

		if (st->kind == STEP_SEND)
			total += strlen(st->text);
	}
	for (size_t cut = 0; cut <= total; cut++) {
		GArray *steps = drop_cut(full, G_N_ELEMENTS(login), cut);
		spop_t *s = client_for((const struct step *)steps->data);
		char *dir = g_dir_make_tmp("spop-drop-XXXXXX", NULL);
		struct drop_seen d = {.dir = dir};
		struct spop_batch b = {.prepare = drop_prepare,
				       .done = drop_done,
				       .deleted = drop_deleted,
				       .delete_after = 1,
				       .user_data = &d};
		int rc;

		ASSERT_OK(spop_set_include_headers(s, 1));
		rc = spop_connect(s);
		if (!rc)
			rc = spop_retrieve_batch(s, &b);
		CU_ASSERT_EQUAL(rc == 0, cut >= batch_end);
		for (int n = 1; n <= 3; n++) {
			char *path = g_strdup_printf("%s/%d.eml", dir, n);
			bool exists = g_file_test(path, G_FILE_TEST_EXISTS);

			/* whole or absent */
			CU_ASSERT(!exists || stored_whole(dir, n));

			/* reported done and deleted only once stored */
			CU_ASSERT(!d.done[n] || exists);
			CU_ASSERT(!d.deleted[n] || d.stored_at_delete[n]);
			CU_ASSERT(cut < batch_end || (exists && d.deleted[n]));
			if (exists)
				unlink(path);
			g_free(path);
		}
		remove_empty_dir(dir); /* no temporary left */
		CU_ASSERT(cut >= batch_end || !spop_get_connected(s));
		/* QUIT commits the DELEs: only a whole "+OK" answer is success
		 */
		if (!rc)
			CU_ASSERT_EQUAL(spop_disconnect(s) == 0, cut == total);
		finish(s);
		g_free(dir);
		g_array_free(steps, TRUE);
		runs++;
	}
	fprintf(stderr, "(%zu drop points)\n", runs);
	g_array_free(full, TRUE);
}

static char flood[70 * 1024];

static void test_status_line_flood(void)
{
	memset(flood, 'A', sizeof(flood));
	memcpy(flood, "+OK ", 4);
	const struct step script[] = {{STEP_SEND, flood, 0, sizeof(flood)},
				      {STEP_SLEEP, NULL, 300, 0},
				      {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);

	CU_ASSERT_EQUAL(spop_connect(s), 172);
	ERROR_HAS(s, "64 KiB");
	finish(s);
}

static void test_control_chars_escaped(void)
{
	static const struct step script[] = {
	    {STEP_SEND, "+OK \x1b[2Jhi\x07 <1@x>\r\n", 0, 0},
	    {STEP_EXPECT, "CAPA", 0, 0},
	    {STEP_SEND, "-ERR\r\n", 0, 0},
	    {STEP_EXPECT, "USER", 0, 0},
	    {STEP_SEND, "-ERR \x1b]0;pwned\x07\r\n", 0, 0},
	    {STEP_SLEEP, NULL, 100, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);

	CU_ASSERT_EQUAL(spop_connect(s), 171);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "\\x1B[2Jhi\\x07"));
	CU_ASSERT_PTR_NULL(strchr(rec.trail->str, '\x1b'));
	finish(s);
}

static void test_max_transfer_rate(void)
{
	static const struct step script[] = {
	    LOGIN("+OK 0 0\r\n"),	  {STEP_EXPECT, "NOOP ", 0, 0},
	    {STEP_SEND, "+OK\r\n", 0, 0}, {STEP_EXPECT, "QUIT", 0, 0},
	    {STEP_SEND, "+OK\r\n", 0, 0}, {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);
	char cmd[406];

	ASSERT_OK(spop_connect(s));
	memset(cmd, 'x', sizeof(cmd) - 1);
	memcpy(cmd, "NOOP ", 5);
	cmd[sizeof(cmd) - 1] = '\0';
	/* A throttle's only observable effect is delay: it reports nothing
	 * in events or the trail. 407 bytes (with CRLF) at 200 B/s take at
	 * least 2 s, and an unthrottled send milliseconds. The bound asked
	 * here, half of that, is a sanity check rather than a timing
	 * assertion: a loaded machine only makes the send slower, so it
	 * cannot fail for want of speed, only for want of a throttle. */
	spop_config(s, "MaxTransferRate=200");
	gint64 t0 = g_get_monotonic_time();
	ASSERT_OK(spop_send_command(s, cmd));
	CU_ASSERT(g_get_monotonic_time() - t0 >= G_USEC_PER_SEC);
	spop_config(s, "MaxTransferRate=0");
	ASSERT_OK(spop_disconnect(s));
	finish(s);
}

static void test_do_events_sees_drop(void)
{
	static const struct step script[] = {LOGIN("+OK 0 0\r\n"),
					     {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);

	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(scripted_finish(&sc), -1); /* peer hung up */
	/* DoEvents is where a drop between method calls is noticed */
	for (int i = 0; i < 50 && spop_get_connected(s); i++)
		ASSERT_OK(spop_do_events(s));
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s), 0);
	spop_free(s);
}

static void count_header(spop_t *s, const struct spop_header_event *e, void *ud)
{
	(*(int *)ud)++;
}

/* A peer that logs in, answers RETR 1 with wire and accepts QUIT. */
static struct step retr_script[] = {
    LOGIN("+OK 1 100\r\n"),	 {STEP_EXPECT, "RETR 1", 0, 0},
    {STEP_SEND, NULL, 0, 0}, /* the wire */
    {STEP_EXPECT, "QUIT", 0, 0}, {STEP_SEND, "+OK\r\n", 0, 0},
    {STEP_END, NULL, 0, 0}};

static spop_t *retr_client(const GString *wire)
{
	struct step *slot = &retr_script[G_N_ELEMENTS(retr_script) - 4];

	slot->text = wire->str;
	slot->len = wire->len;
	return client_for(retr_script);
}

/* 3 MB of headers, no blank line: 20000 ordinary fields, then one field
 * folded over 300000 continuation lines (quadratic unfolding would not
 * finish), then the terminator. */
static void test_header_flood(void)
{
	GString *wire = g_string_new("+OK\r\n");
	for (int i = 0; i < 20000; i++)
		g_string_append_printf(wire, "X-Field-%d: some value\r\n", i);
	g_string_append(wire, "X-Folded: start\r\n");
	for (int i = 0; i < 300000; i++)
		g_string_append(wire, " x\r\n");
	g_string_append(wire, ".\r\n");
	spop_t *s = retr_client(wire);
	int events = 0;

	spop_on_header(s, count_header, &events);
	spop_config(s, "MessageMemoryLimit=1048576");
	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_retrieve(s));
	/* every line was an event; memory holds at most the limit */
	CU_ASSERT_EQUAL(events, 20000 + 1 + 300000);
	CU_ASSERT(strlen(spop_get_message_headers_string(s)) <= 1048576);
	CU_ASSERT(spop_get_message_header_count(s) > 1000);
	CU_ASSERT_EQUAL(spop_get_message_header_count(s), 20001);
	/* the folded field stopped growing at the limit */
	CU_ASSERT(strlen(spop_get_message_header_value(s, 20000)) < 1048576);
	CU_ASSERT(strlen(spop_get_message_header_value(s, 20000)) > 1000);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str, "Headers kept in memory"));
	ASSERT_OK(spop_disconnect(s));
	finish(s);
	g_string_free(wire, TRUE);
}

static void test_folded_header_is_linear(void)
{
	GString *wire = g_string_new("+OK\r\nX-Folded: start\r\n");
	for (int i = 0; i < 300000; i++)
		g_string_append(wire, " x\r\n");
	g_string_append(wire, "\r\nbody\r\n.\r\n");
	spop_t *s = retr_client(wire);

	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_retrieve(s));
	CU_ASSERT_EQUAL(spop_get_message_header_count(s), 1);
	/* "start" and 300000 unfolded " x" */
	CU_ASSERT_EQUAL(strlen(spop_get_message_header_value(s, 0)),
			5 + 300000 * 2);
	ASSERT_OK(spop_disconnect(s));
	finish(s);
	g_string_free(wire, TRUE);
}

static const struct test_case cases[] = {
    {"header flood bounded by MessageMemoryLimit", test_header_flood},
    {"a header folded 300000 times", test_folded_header_is_linear},
    {"DoEvents notices a dropped connection", test_do_events_sees_drop},
    {"silent server: Timeout", test_silent_server},
    {"silent server: ConnectionTimeout", test_connection_timeout},
    {"silent proxy: the timeout names the proxy", test_silent_proxy},
    {"LIST numbers beyond STAT are not kept", test_list_numbers_beyond_stat},
    {"garbled LIST and UIDL at Connect", test_garbled_list_at_connect},
    {"drop in the middle of a pipelined batch", test_drop_mid_pipeline},
    {"drop at every byte of a deleting batch: nothing lost",
     test_drop_every_point},
    {"ConnectionTimeout covers the connect only",
     test_connection_timeout_scope},
    {"trickle: inactivity timeout extends", test_inactivity_timeout_extends},
    {"trickle: AbsoluteTimeout", test_absolute_timeout},
    {"not a POP3 server", test_not_pop3},
    {"-ERR greeting", test_err_greeting},
    {"APOP without a timestamp", test_apop_without_timestamp},
    {"drop after greeting", test_drop_after_greeting},
    {"malformed STAT", test_malformed_stat},
    {"drop in the middle of RETR", test_drop_mid_retrieve},
    {"bad LIST line, stream stays in sync", test_bad_list_line_keeps_sync},
    {"status line flood", test_status_line_flood},
    {"control characters escaped in the trail", test_control_chars_escaped},
    {"MaxTransferRate throttles", test_max_transfer_rate},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"hostile", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return test_run(suites);
}
