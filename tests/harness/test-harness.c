/* Checks the private Dovecot harness over plain sockets, without libspop:
 * what the integration suites assume about the server and the mailboxes
 * must hold before their own failures mean anything. */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "test-runner.h"
#include <glib.h>

static struct harness_dovecot dovecot;

/* A POP3 connection read line by line, CRLF kept, so tests see the exact
 * bytes on the wire. */
struct conn {
	int fd;
	char buf[256 * 1024];
	size_t start, end;
};

/* Returns fd, or -1 with errno set (ECONNREFUSED matters to the tests). */
static int tcp_connect(int port)
{
	struct sockaddr_in sin;
	struct timeval tv = {.tv_sec = 30};
	int fd, saved;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A silent server fails the test instead of hanging it. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static struct conn *conn_open(int port)
{
	struct conn *c;
	int fd;

	fd = tcp_connect(port);
	if (fd < 0)
		return NULL;
	c = g_new0(struct conn, 1);
	c->fd = fd;
	return c;
}

static void conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	g_free(c);
}

/* Appends the next line, CRLF included, to line; FALSE on EOF or error. */
static gboolean read_line(struct conn *c, GString *line)
{
	char *nl;
	ssize_t n;

	for (;;) {
		nl = memchr(c->buf + c->start, '\n', c->end - c->start);
		if (nl != NULL) {
			g_string_append_len(line, c->buf + c->start,
					    nl + 1 - (c->buf + c->start));
			c->start = nl + 1 - c->buf;
			return TRUE;
		}
		/* Long lines (100000 bytes in message 3) go out in pieces. */
		g_string_append_len(line, c->buf + c->start, c->end - c->start);
		c->start = c->end = 0;
		n = read(c->fd, c->buf, sizeof(c->buf));
		if (n <= 0)
			return FALSE;
		c->end = (size_t)n;
	}
}

/* One status line as a new string, "" on EOF. */
static char *status_line(struct conn *c)
{
	GString *line = g_string_new(NULL);

	read_line(c, line);
	return g_string_free(line, FALSE);
}

static void send_line(struct conn *c, const char *text)
{
	char *cmd = g_strconcat(text, "\r\n", NULL);
	size_t len = strlen(cmd), off = 0;
	ssize_t n;

	while (off < len && (n = write(c->fd, cmd + off, len - off)) > 0)
		off += (size_t)n;
	g_free(cmd);
}

/* Sends a command and returns its status line. */
static char *command(struct conn *c, const char *text)
{
	send_line(c, text);
	return status_line(c);
}

static gboolean is_ok(const char *line)
{
	return g_str_has_prefix(line, "+OK");
}

/* Reads a multi-line body up to and without ".\r\n": wire gets the bytes as
 * sent, data the dot-unstuffed content (either may be NULL). FALSE if the
 * terminator never came. */
static gboolean read_multiline(struct conn *c, GString *wire, GString *data)
{
	GString *line = g_string_sized_new(256);
	gboolean ok = FALSE;

	for (;;) {
		g_string_truncate(line, 0);
		if (!read_line(c, line))
			break;
		if (strcmp(line->str, ".\r\n") == 0) {
			ok = TRUE;
			break;
		}
		if (wire != NULL)
			g_string_append_len(wire, line->str, line->len);
		if (data != NULL) {
			if (line->str[0] == '.')
				g_string_append_len(data, line->str + 1,
						    line->len - 1);
			else
				g_string_append_len(data, line->str, line->len);
		}
	}
	g_string_free(line, TRUE);
	return ok;
}

/* Connects and checks the greeting. */
static struct conn *greeted(void)
{
	struct conn *c = conn_open(dovecot.port);
	char *greeting;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	greeting = status_line(c);
	CU_ASSERT_TRUE(is_ok(greeting));
	g_free(greeting);
	return c;
}

static struct conn *logged_in(const char *user, const char *password)
{
	struct conn *c = greeted();
	char *cmd, *reply;

	cmd = g_strconcat("USER ", user, NULL);
	reply = command(c, cmd);
	CU_ASSERT_TRUE(is_ok(reply));
	g_free(reply);
	g_free(cmd);
	cmd = g_strconcat("PASS ", password, NULL);
	reply = command(c, cmd);
	CU_ASSERT_STRING_EQUAL(reply, "+OK Logged in.\r\n");
	g_free(reply);
	g_free(cmd);
	return c;
}

static void quit(struct conn *c)
{
	char *reply = command(c, "QUIT");

	CU_ASSERT_TRUE(is_ok(reply));
	g_free(reply);
	conn_close(c);
}

/* "+OK count size" parsed; FALSE if the reply is anything else. */
static gboolean stat_counts(struct conn *c, long long *count, long long *size)
{
	char *reply = command(c, "STAT");
	gboolean ok = sscanf(reply, "+OK %lld %lld\r\n", count, size) == 2;

	g_free(reply);
	return ok;
}

static char *top_subject(struct conn *c, int n)
{
	char *cmd = g_strdup_printf("TOP %d 0", n), *reply;
	GString *head = g_string_new(NULL);
	char *subject = NULL, *p, *end;

	reply = command(c, cmd);
	if (is_ok(reply) && read_multiline(c, NULL, head) &&
	    (p = strstr(head->str, "\r\nSubject: ")) != NULL) {
		p += strlen("\r\nSubject: ");
		end = strstr(p, "\r\n");
		subject =
		    g_strndup(p, end != NULL ? (gsize)(end - p) : strlen(p));
	}
	g_string_free(head, TRUE);
	g_free(reply);
	g_free(cmd);
	return subject;
}

static int init_dovecot(void)
{
	return harness_dovecot_start(&dovecot, "test-harness") == 0 ? 0 : 1;
}

static int clean_dovecot(void)
{
	return harness_dovecot_stop(&dovecot) == 0 ? 0 : 1;
}

static void test_greeting_has_apop_timestamp(void)
{
	struct conn *c = conn_open(dovecot.port);
	char *greeting;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	greeting = status_line(c);
	/* RFC 1939: the timestamp is a msg-id, <...@...>, ending the line. */
	CU_ASSERT_TRUE(g_regex_match_simple(
	    "^\\+OK .*<[^<>@\\s]+@[^<>@\\s]+>\r\n$", greeting, 0, 0));
	g_free(greeting);
	quit(c);
}

static void test_capa(void)
{
	struct conn *c = greeted();
	GString *capa = g_string_new(NULL);
	char *reply = command(c, "CAPA");
	const char *want[] = {"\r\nUSER\r\n", "\r\nTOP\r\n", "\r\nUIDL\r\n",
			      "\r\nPIPELINING\r\n", "\r\nRESP-CODES\r\n"};
	const char *mechs[] = {" PLAIN",      " LOGIN",	      " CRAM-MD5",
			       " DIGEST-MD5", " SCRAM-SHA-1", " SCRAM-SHA-256"};
	char *sasl, *end;
	size_t i;

	CU_ASSERT_TRUE(is_ok(reply));
	CU_ASSERT_TRUE(read_multiline(c, capa, NULL));
	g_string_prepend(capa, "\r\n");
	for (i = 0; i < G_N_ELEMENTS(want); i++)
		CU_ASSERT_PTR_NOT_NULL(strstr(capa->str, want[i]));
	sasl = strstr(capa->str, "\r\nSASL ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(sasl);
	sasl += 2;
	end = strstr(sasl, "\r\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(end);
	*end = '\0';
	for (i = 0; i < G_N_ELEMENTS(mechs); i++)
		CU_ASSERT_PTR_NOT_NULL(strstr(sasl, mechs[i]));
	g_string_free(capa, TRUE);
	g_free(reply);
	quit(c);
}

/* The size make-mailbox.sh was asked for: meson gives most suites a small
 * big message (tests/harness/meson.build). */
static long long big_bytes(void)
{
	const char *v = g_getenv("HARNESS_BIG_BYTES");

	return v != NULL && *v != '\0' ? g_ascii_strtoll(v, NULL, 10)
				       : 50LL * 1024 * 1024;
}

static void test_stat_and_list_match_mailbox_txt(void)
{
	struct conn *c = logged_in(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD);
	int expected = harness_message_count(&dovecot, HARNESS_MAIN_USER);
	long long count, size, total = 0, n, listed;
	GString *list = g_string_new(NULL);
	char **lines, *reply;
	int i;

	CU_ASSERT_EQUAL(expected, HARNESS_MSG_BIG);
	for (i = 1; i <= expected; i++) {
		CU_ASSERT_TRUE(harness_message_size(&dovecot, i) > 0);
		total += harness_message_size(&dovecot, i);
	}
	/* The big message is meant to be HARNESS_BIG_BYTES (default 50 MiB)
	 * give or take a line. */
	CU_ASSERT_TRUE(llabs(harness_message_size(&dovecot, HARNESS_MSG_BIG) -
			     big_bytes()) < 1024);
	CU_ASSERT_EQUAL(harness_message_size(&dovecot, 0), -1);
	CU_ASSERT_EQUAL(harness_message_size(&dovecot, expected + 1), -1);

	CU_ASSERT_TRUE_FATAL(stat_counts(c, &count, &size));
	CU_ASSERT_EQUAL(count, expected);
	CU_ASSERT_EQUAL(size, total);

	reply = command(c, "LIST");
	CU_ASSERT_TRUE(is_ok(reply));
	g_free(reply);
	CU_ASSERT_TRUE(read_multiline(c, list, NULL));
	lines = g_strsplit(list->str, "\r\n", -1);
	CU_ASSERT_EQUAL(g_strv_length(lines), (guint)expected + 1);
	for (i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++) {
		CU_ASSERT_EQUAL_FATAL(
		    sscanf(lines[i], "%lld %lld", &n, &listed), 2);
		CU_ASSERT_EQUAL(n, i + 1);
		CU_ASSERT_EQUAL(listed, harness_message_size(&dovecot, i + 1));
	}
	g_strfreev(lines);
	g_string_free(list, TRUE);
	quit(c);
}

/* Every message as retrieved is its Maildir file with CRLF line ends (and a
 * final CRLF added where the file has none), and as long as LIST says. */
static void test_retr_matches_files(void)
{
	struct conn *c = logged_in(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD);
	int count = harness_message_count(&dovecot, HARNESS_MAIN_USER), i;
	GString *data = g_string_new(NULL), *want = g_string_new(NULL);
	char *path, *file, *cmd, *reply, *octets;
	gsize len, j;
	long long size;

	for (i = 1; i <= count; i++) {
		path = harness_message_file(&dovecot, HARNESS_MAIN_USER, i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(path);
		CU_ASSERT_TRUE_FATAL(
		    g_file_get_contents(path, &file, &len, NULL));
		g_string_truncate(want, 0);
		for (j = 0; j < len; j++) {
			if (file[j] == '\n')
				g_string_append_c(want, '\r');
			g_string_append_c(want, file[j]);
		}
		size = (long long)want->len;
		if (len > 0 && file[len - 1] != '\n')
			g_string_append(want, "\r\n");
		CU_ASSERT_EQUAL(size, harness_message_size(&dovecot, i));

		cmd = g_strdup_printf("RETR %d", i);
		reply = command(c, cmd);
		octets = g_strdup_printf("+OK %lld octets\r\n", size);
		CU_ASSERT_STRING_EQUAL(reply, octets);
		g_string_truncate(data, 0);
		CU_ASSERT_TRUE(read_multiline(c, NULL, data));
		CU_ASSERT_EQUAL(data->len, want->len);
		CU_ASSERT_TRUE(data->len == want->len &&
			       memcmp(data->str, want->str, want->len) == 0);
		g_free(octets);
		g_free(reply);
		g_free(cmd);
		g_free(file);
		g_free(path);
	}
	g_string_free(data, TRUE);
	g_string_free(want, TRUE);
	quit(c);
}

static void test_retr_dots_are_stuffed_on_the_wire(void)
{
	struct conn *c = logged_in(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD);
	GString *wire = g_string_new(NULL);
	char *reply = command(c, "RETR 2");
	const char *body = "\r\n\r\n"
			   "Lines below start with dots.\r\n"
			   "..leading dot\r\n"
			   "...\r\n"
			   "..x\r\n"
			   "..\r\n"
			   "between the lone dots\r\n"
			   "....three dots\r\n"
			   "last line without newline\r\n";

	CU_ASSERT_TRUE(is_ok(reply));
	CU_ASSERT_TRUE(read_multiline(c, wire, NULL));
	CU_ASSERT_TRUE(g_str_has_suffix(wire->str, body));
	CU_ASSERT_PTR_NOT_NULL(strstr(wire->str, "\r\nSubject: Dots\r\n"));
	g_string_free(wire, TRUE);
	g_free(reply);
	quit(c);
}

static void test_wrong_password_fails(void)
{
	struct conn *c = greeted();
	char *reply;

	reply = command(c, "USER " HARNESS_MAIN_USER);
	CU_ASSERT_TRUE(is_ok(reply));
	g_free(reply);
	reply = command(c, "PASS not-" HARNESS_MAIN_PASSWORD);
	CU_ASSERT_TRUE(g_str_has_prefix(reply, "-ERR"));
	g_free(reply);
	quit(c);

	/* Right after a failure the right password still works (Dovecot's
	 * per-IP penalty is off). */
	c = logged_in(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD);
	quit(c);
}

/* APOP needs the plaintext password in the passdb ({PLAIN} here). */
static void test_apop_login(void)
{
	struct conn *c = conn_open(dovecot.port);
	char *greeting, *stamp, *end, *digest, *cmd, *reply;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	greeting = status_line(c);
	stamp = strchr(greeting, '<');
	CU_ASSERT_PTR_NOT_NULL_FATAL(stamp);
	end = strchr(stamp, '>');
	CU_ASSERT_PTR_NOT_NULL_FATAL(end);
	end[1] = '\0';
	end = g_strconcat(stamp, HARNESS_MAIN_PASSWORD, NULL);
	digest = g_compute_checksum_for_string(G_CHECKSUM_MD5, end, -1);
	cmd = g_strdup_printf("APOP %s %s", HARNESS_MAIN_USER, digest);
	reply = command(c, cmd);
	CU_ASSERT_STRING_EQUAL(reply, "+OK Logged in.\r\n");
	g_free(reply);
	g_free(cmd);
	g_free(digest);
	g_free(end);
	g_free(greeting);
	quit(c);
}

static void test_cram_md5_login(void)
{
	struct conn *c = greeted();
	char *reply, *hmac, *answer, *b64, *line;
	guchar *challenge;
	gsize len;

	reply = command(c, "AUTH CRAM-MD5");
	CU_ASSERT_TRUE_FATAL(g_str_has_prefix(reply, "+ "));
	g_strchomp(reply);
	challenge = g_base64_decode(reply + 2, &len);
	hmac = g_compute_hmac_for_data(
	    G_CHECKSUM_MD5, (const guchar *)HARNESS_SMALL_PASSWORD,
	    strlen(HARNESS_SMALL_PASSWORD), challenge, len);
	answer = g_strconcat(HARNESS_SMALL_USER, " ", hmac, NULL);
	b64 = g_base64_encode((const guchar *)answer, strlen(answer));
	line = command(c, b64);
	CU_ASSERT_STRING_EQUAL(line, "+OK Logged in.\r\n");
	g_free(line);
	g_free(b64);
	g_free(answer);
	g_free(hmac);
	g_free(challenge);
	g_free(reply);
	quit(c);
}

/* pop3_uidl_format = %08Xu%08Xv: eight hex digits of the UID (1..n here,
 * Dovecot writes them lower-case) and eight of the UIDVALIDITY. */
static void test_uidl_format(void)
{
	struct conn *c = logged_in(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD);
	GString *uidl = g_string_new(NULL);
	char **lines, *reply, *want, validity[9] = "";
	int i, n;

	reply = command(c, "UIDL");
	CU_ASSERT_TRUE(is_ok(reply));
	g_free(reply);
	CU_ASSERT_TRUE(read_multiline(c, uidl, NULL));
	lines = g_strsplit(uidl->str, "\r\n", -1);
	n = harness_message_count(&dovecot, HARNESS_MAIN_USER);
	CU_ASSERT_EQUAL(g_strv_length(lines), (guint)n + 1);
	for (i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++) {
		CU_ASSERT_TRUE(g_regex_match_simple("^[0-9]+ [0-9a-f]{16}$",
						    lines[i], 0, 0));
		want = g_strdup_printf("%d %08x", i + 1, i + 1);
		CU_ASSERT_TRUE(g_str_has_prefix(lines[i], want));
		g_free(want);
		if (i == 0 && strlen(lines[i]) >= 8)
			g_strlcpy(validity, lines[i] + strlen(lines[i]) - 8,
				  sizeof(validity));
		CU_ASSERT_TRUE(g_str_has_suffix(lines[i], validity));
	}
	g_strfreev(lines);
	g_string_free(uidl, TRUE);
	quit(c);
}

static void test_empty_mailbox(void)
{
	struct conn *c = logged_in(HARNESS_EMPTY_USER, HARNESS_EMPTY_PASSWORD);
	long long count = -1, size = -1;

	CU_ASSERT_EQUAL(harness_message_count(&dovecot, HARNESS_EMPTY_USER), 0);
	CU_ASSERT_TRUE(stat_counts(c, &count, &size));
	CU_ASSERT_EQUAL(count, 0);
	CU_ASSERT_EQUAL(size, 0);
	quit(c);
}

static void test_dele_quit_removes_and_reset_restores(void)
{
	struct conn *c = logged_in(HARNESS_SMALL_USER, HARNESS_SMALL_PASSWORD);
	long long count = -1, size;
	char *reply, *subject;

	CU_ASSERT_EQUAL(harness_message_count(&dovecot, HARNESS_SMALL_USER), 3);
	CU_ASSERT_TRUE(stat_counts(c, &count, &size));
	CU_ASSERT_EQUAL(count, 3);
	reply = command(c, "DELE 1");
	CU_ASSERT_TRUE(is_ok(reply));
	g_free(reply);
	quit(c);

	c = logged_in(HARNESS_SMALL_USER, HARNESS_SMALL_PASSWORD);
	CU_ASSERT_TRUE(stat_counts(c, &count, &size));
	CU_ASSERT_EQUAL(count, 2);
	subject = top_subject(c, 1);
	CU_ASSERT_STRING_EQUAL(subject != NULL ? subject : "(none)", "bob-2");
	g_free(subject);
	quit(c);

	CU_ASSERT_EQUAL_FATAL(
	    harness_dovecot_reset_mailbox(&dovecot, HARNESS_SMALL_USER), 0);
	c = logged_in(HARNESS_SMALL_USER, HARNESS_SMALL_PASSWORD);
	CU_ASSERT_TRUE(stat_counts(c, &count, &size));
	CU_ASSERT_EQUAL(count, 3);
	subject = top_subject(c, 1);
	CU_ASSERT_STRING_EQUAL(subject != NULL ? subject : "(none)", "bob-1");
	g_free(subject);
	quit(c);
}

static void test_closed_port_refuses(void)
{
	int port = harness_closed_port();

	CU_ASSERT_TRUE_FATAL(port > 0);
	CU_ASSERT_EQUAL(tcp_connect(port), -1);
	CU_ASSERT_EQUAL(errno, ECONNREFUSED);
}

/* FALSE for a zombie too: a stopped master may wait a while for pid 1 to
 * reap it, but it serves nothing. */
static gboolean process_live(long pid)
{
	char *path = g_strdup_printf("/proc/%ld/stat", pid), *text = NULL, *p;
	gboolean live = FALSE;

	if (g_file_get_contents(path, &text, NULL, NULL) &&
	    (p = strrchr(text, ')')) != NULL)
		live = p[1] == ' ' && p[2] != 'Z' && p[2] != '\0';
	g_free(text);
	g_free(path);
	return live;
}

/* A crashed run leaves Dovecot running in its directory; the next start
 * there must replace it. */
static void test_start_replaces_running_instance(void)
{
	char *pidfile = g_build_filename(dovecot.dir, "pid", NULL),
	     *text = NULL;
	long old_pid;
	struct conn *c;

	CU_ASSERT_TRUE_FATAL(g_file_get_contents(pidfile, &text, NULL, NULL));
	old_pid = strtol(text, NULL, 10);
	g_free(text);
	CU_ASSERT_TRUE(process_live(old_pid));
	CU_ASSERT_EQUAL_FATAL(harness_dovecot_start(&dovecot, dovecot.dir), 0);
	CU_ASSERT_TRUE(old_pid > 0);
	CU_ASSERT_FALSE(process_live(old_pid));
	c = logged_in(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD);
	quit(c);
	g_free(pidfile);
}

static void test_stop_closes_port(void)
{
	int port = dovecot.port;

	CU_ASSERT_TRUE_FATAL(port > 0);
	CU_ASSERT_EQUAL(harness_dovecot_stop(&dovecot), 0);
	CU_ASSERT_EQUAL(dovecot.port, 0);
	CU_ASSERT_EQUAL(tcp_connect(port), -1);
	CU_ASSERT_EQUAL(errno, ECONNREFUSED);
	/* Stopping twice is harmless; suite cleanup does it again. */
	CU_ASSERT_EQUAL(harness_dovecot_stop(&dovecot), 0);
}

static const struct test_case harness_cases0[] = {
    {"greeting has an APOP timestamp", test_greeting_has_apop_timestamp},
    {"CAPA lists USER, TOP, UIDL and the SASL mechanisms", test_capa},
    {"STAT and LIST match mailbox.txt", test_stat_and_list_match_mailbox_txt},
    {"RETR gives the Maildir files with CRLF", test_retr_matches_files},
    {"RETR dot-stuffs on the wire", test_retr_dots_are_stuffed_on_the_wire},
    {"wrong password fails", test_wrong_password_fails},
    {"APOP login", test_apop_login},
    {"AUTH CRAM-MD5 login", test_cram_md5_login},
    {"UIDL follows pop3_uidl_format", test_uidl_format},
    {"empty mailbox", test_empty_mailbox},
    {"DELE+QUIT removes, reset-mailbox restores",
     test_dele_quit_removes_and_reset_restores},
    {"closed port refuses", test_closed_port_refuses},
    {"start replaces a running instance", test_start_replaces_running_instance},
    {"stop closes the port", test_stop_closes_port},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"harness-dovecot", init_dovecot, clean_dovecot, harness_cases0},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	const char *why = harness_dovecot_unavailable();

	if (why != NULL)
		return harness_cannot_run("harness-dovecot", why);
	return test_run(suites);
}
