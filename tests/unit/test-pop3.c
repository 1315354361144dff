/* POP3 engine units as data: status lines, which commands have bodies,
 * dot-unstuffing (also with the terminator split across reads), the line
 * reader's MaxLineLength pieces, masking, and Config parsing. */
#include "test-runner.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "pop3/pop3.h"

#include "feeder.h"

static void test_reply_parse(void)
{
	static const struct {
		const char *line;
		int rc;
		bool ok, cont;
		const char *text, *code;
	} cases[] = {
	    {"+OK 2 320", 0, true, false, "2 320", ""},
	    {"+OK", 0, true, false, "", ""},
	    {"-ERR no such message", 0, false, false, "no such message", ""},
	    {"-ERR [AUTH] Authentication failed.", 0, false, false,
	     "[AUTH] Authentication failed.", "AUTH"},
	    {"-ERR [SYS/TEMP] try later", 0, false, false,
	     "[SYS/TEMP] try later", "SYS/TEMP"},
	    {"+ ", 0, false, true, "", ""},
	    {"+ dGVzdA==", 0, false, true, "dGVzdA==", ""},
	    {"+", 0, false, true, "", ""},
	    {"+OKAY", -1, false, false, "", ""},
	    {"-ERRor", -1, false, false, "", ""},
	    {"OK", -1, false, false, "", ""},
	    {"", -1, false, false, "", ""},
	    {"* OK IMAP", -1, false, false, "", ""},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct spi_reply r;
		int rc =
		    spi_reply_parse(cases[i].line, strlen(cases[i].line), &r);

		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc)
			continue;
		CU_ASSERT_EQUAL(r.kind == SPI_REPLY_OK, cases[i].ok);
		CU_ASSERT_EQUAL(r.kind == SPI_REPLY_CONTINUE, cases[i].cont);
		CU_ASSERT_STRING_EQUAL(r.text, cases[i].text);
		CU_ASSERT_STRING_EQUAL(r.resp_code, cases[i].code);
	}
}

static void test_multiline(void)
{
	CU_ASSERT_TRUE(spi_command_is_multiline("LIST"));
	CU_ASSERT_FALSE(spi_command_is_multiline("LIST 3"));
	CU_ASSERT_TRUE(spi_command_is_multiline("UIDL"));
	CU_ASSERT_FALSE(spi_command_is_multiline("UIDL 1"));
	CU_ASSERT_TRUE(spi_command_is_multiline("uidl"));
	CU_ASSERT_TRUE(spi_command_is_multiline("RETR 1"));
	CU_ASSERT_TRUE(spi_command_is_multiline("TOP 1 0"));
	CU_ASSERT_TRUE(spi_command_is_multiline("CAPA"));
	CU_ASSERT_FALSE(spi_command_is_multiline("STAT"));
	CU_ASSERT_FALSE(spi_command_is_multiline("DELE 1"));
	CU_ASSERT_FALSE(spi_command_is_multiline("NOOP"));
	CU_ASSERT_FALSE(spi_command_is_multiline("XTND XMIT"));
	CU_ASSERT_FALSE(spi_command_is_multiline("LISTX"));
	CU_ASSERT_TRUE(spi_command_is_multiline("LIST "));
}

static void test_unstuff(void)
{
	const char *l;
	size_t n;

	l = ".";
	n = 1;
	CU_ASSERT_EQUAL(spi_unstuff(&l, &n, true), 1);
	l = "..";
	n = 2;
	CU_ASSERT_EQUAL(spi_unstuff(&l, &n, true), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(l[0], '.');
	l = ".x";
	n = 2;
	CU_ASSERT_EQUAL(spi_unstuff(&l, &n, true), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(l[0], 'x');
	l = ".x";
	n = 2;
	CU_ASSERT_EQUAL(spi_unstuff(&l, &n, false), 0);
	CU_ASSERT_EQUAL(n, 2);
}

static void test_mask_from(void)
{
	CU_ASSERT_EQUAL(spi_pop3_mask_from("PASS secret"), 5);
	CU_ASSERT_EQUAL(spi_pop3_mask_from("pass secret"), 5);
	CU_ASSERT_EQUAL(spi_pop3_mask_from("APOP bob 0123"), 9);
	CU_ASSERT_EQUAL(spi_pop3_mask_from("AUTH PLAIN AGJvYgBz"), 11);
	CU_ASSERT_EQUAL(spi_pop3_mask_from("USER bob"), (size_t)-1);
	CU_ASSERT_EQUAL(spi_pop3_mask_from("AUTH PLAIN"), (size_t)-1);
}

/* ---- engine over a socketpair ---- */

static int collect(struct spop *s, const char *line, size_t len, bool eol,
		   void *ud)
{
	GString *out = ud;

	g_string_append_len(out, line, (gssize)len);
	g_string_append(out, eol ? "|\n" : "~");
	return 0;
}

static void run_body(const char *wire, size_t chunk, int max_line,
		     const char *expect, const char *after)
{
	spop_t *s = spop_new();
	struct feeder f;
	GString *out = g_string_new(NULL);

	feeder_start(&f, s, wire, chunk, max_line);
	CU_ASSERT_EQUAL(spi_pop3_read_body(s, collect, out), 0);
	CU_ASSERT_STRING_EQUAL(out->str, expect);
	/* What follows the terminator stays for the next reply. */
	const char *line;
	size_t len;
	bool eol;
	CU_ASSERT_EQUAL(spi_conn_read_line(s, &line, &len, &eol), 0);
	CU_ASSERT_EQUAL(len, strlen(after));
	CU_ASSERT_EQUAL(memcmp(line, after, len), 0);
	feeder_stop(&f);
	spop_free(s);
	g_string_free(out, TRUE);
}

static const char body_wire[] =
    "Subject: dots\r\n\r\n..\r\n...x\r\n.x\r\nplain\r\n\r\n.\r\n+OK next\r\n";
static const char body_expect[] =
    "Subject: dots|\n|\n.|\n..x|\nx|\nplain|\n|\n";

static void test_body_whole(void)
{
	run_body(body_wire, 4096, 2048, body_expect, "+OK next");
}

static void test_body_split_bytewise(void)
{
	/* every byte its own read: the terminator is split across reads */
	run_body(body_wire, 1, 2048, body_expect, "+OK next");
}

static void test_body_split_odd(void)
{
	run_body(body_wire, 3, 2048, body_expect, "+OK next");
}

static void test_long_line_pieces(void)
{
	GString *wire = g_string_new(NULL);
	GString *expect = g_string_new(NULL);

	/* 600 bytes with MaxLineLength 256: 256 + 256 + 88 */
	for (int i = 0; i < 600; i++)
		g_string_append_c(wire, (char)('a' + i % 26));
	g_string_append(wire, "\r\n");
	/* exactly 256: one whole line, no empty piece after it */
	for (int i = 0; i < 256; i++)
		g_string_append_c(wire, 'z');
	g_string_append(wire, "\r\n.\r\n+OK\r\n");
	g_string_append_len(expect, wire->str, 256);
	g_string_append(expect, "~");
	g_string_append_len(expect, wire->str + 256, 256);
	g_string_append(expect, "~");
	g_string_append_len(expect, wire->str + 512, 88);
	g_string_append(expect, "|\n");
	g_string_append_len(expect, wire->str + 602, 256);
	g_string_append(expect, "|\n");
	run_body(wire->str, 4096, 256, expect->str, "+OK");
	run_body(wire->str, 7, 256, expect->str, "+OK");
	g_string_free(wire, TRUE);
	g_string_free(expect, TRUE);
}

static void test_dropped_mid_body(void)
{
	int sv[2];
	spop_t *s = spop_new();
	GString *out = g_string_new(NULL);

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	spi_session_adopt(s, sv[0]);
	CU_ASSERT(write(sv[1], "line one\r\nline tw", 17) == 17);
	close(sv[1]);
	spi_deadline_start(s, 5);
	CU_ASSERT_EQUAL(spi_pop3_read_body(s, collect, out), 1120);
	CU_ASSERT_STRING_EQUAL(out->str, "line one|\n");
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_free(s);
	g_string_free(out, TRUE);
}

static void test_timeout(void)
{
	int sv[2];
	spop_t *s = spop_new();

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	spi_session_adopt(s, sv[0]);
	spop_set_timeout(s, 1);
	spi_deadline_start(s, 1);
	const char *line;
	size_t len;
	bool eol;
	CU_ASSERT_EQUAL(spi_conn_read_line(s, &line, &len, &eol), 301);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "1 seconds"));
	close(sv[1]);
	spop_free(s);
}

static void test_crlf_refused(void)
{
	int sv[2];
	spop_t *s = spop_new();
	char buf[16];

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	spi_session_adopt(s, sv[0]);
	CU_ASSERT_EQUAL(spop_send_command(s, "NOOP\r\nDELE 1"), 10022);
	CU_ASSERT_EQUAL(spop_send_command(s, "NOOP\nDELE 1"), 10022);
	/* nothing at all reached the peer */
	CU_ASSERT_EQUAL(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), -1);
	close(sv[1]);
	spop_free(s);
}

static void test_pipelined_queue(void)
{
	int sv[2];
	spop_t *s = spop_new();
	struct spi_reply r;
	bool body;
	GString *out = g_string_new(NULL);
	char buf[256];

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	spi_session_adopt(s, sv[0]);
	spi_deadline_start(s, 5);
	/* three commands in flight before any reply is read */
	CU_ASSERT_EQUAL(spi_pop3_send(s, "LIST", (size_t)-1), 0);
	CU_ASSERT_EQUAL(spi_pop3_send(s, "LIST 9", (size_t)-1), 0);
	CU_ASSERT_EQUAL(spi_pop3_send(s, "STAT", (size_t)-1), 0);
	ssize_t n = recv(sv[1], buf, sizeof(buf) - 1, 0);
	CU_ASSERT(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, "LIST\r\nLIST 9\r\nSTAT\r\n");
	static const char replies[] = "+OK 2 messages\r\n1 10\r\n2 20\r\n.\r\n"
				      "-ERR no such message\r\n+OK 2 30\r\n";
	CU_ASSERT(write(sv[1], replies, sizeof(replies) - 1) > 0);
	/* replies are matched in order, each knowing if a body follows */
	CU_ASSERT_EQUAL(spi_pop3_recv(s, &r, &body), 0);
	CU_ASSERT_TRUE(body);
	CU_ASSERT_EQUAL(spi_pop3_read_body(s, collect, out), 0);
	CU_ASSERT_STRING_EQUAL(out->str, "1 10|\n2 20|\n");
	CU_ASSERT_EQUAL(spi_pop3_recv(s, &r, &body), 171);
	CU_ASSERT_FALSE(body);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(spop_last_error(s), "answered LIST: -ERR no such message"));
	CU_ASSERT_EQUAL(spi_pop3_recv(s, &r, &body), 0);
	CU_ASSERT_FALSE(body);
	CU_ASSERT_STRING_EQUAL(r.text, "2 30");
	close(sv[1]);
	spop_free(s);
	g_string_free(out, TRUE);
}

/* A status line with a NUL: the reply is the text up to it, and parsing
 * it (a "[" starts a response code, searched for with the line's length)
 * stays inside the copy kept (fuzz-mailbox: it read past a g_strdup
 * copy; ASan reports the over-read, the check below the text). */
static void test_nul_in_status_line(void)
{
	int sv[2];
	spop_t *s = spop_new();
	struct spi_reply r;
	bool body;
	char buf[64];
	static const char reply[] = "+OK [\0AAAAAAAAAAAAAAAAAAAAAAAAAAAA]\r\n";

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	spi_session_adopt(s, sv[0]);
	spi_deadline_start(s, 5);
	CU_ASSERT_EQUAL(spi_pop3_send(s, "NOOP", (size_t)-1), 0);
	CU_ASSERT(recv(sv[1], buf, sizeof(buf), 0) > 0);
	CU_ASSERT(write(sv[1], reply, sizeof(reply) - 1) > 0);
	CU_ASSERT_EQUAL(spi_pop3_recv(s, &r, &body), 0);
	CU_ASSERT_STRING_EQUAL(r.text, "[");
	CU_ASSERT_STRING_EQUAL(r.resp_code, "");
	close(sv[1]);
	spop_free(s);
}

/* ---- Config ---- */

static void test_config(void)
{
	spop_t *s = spop_new();

	CU_ASSERT_STRING_EQUAL(spop_config(s, "MaxLineLength"), "2048");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "MaskSensitive"), "True");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "Linger"), "True");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SelectWaitMillis"), "20");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "MailPort"), "110");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "Timeout"), "60");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "AutoDecodeSubject"), "True");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "UseIPv6"), "0");
	/* case-insensitive names, all boolean spellings */
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "tcpnodelay=yes"));
	CU_ASSERT_STRING_EQUAL(spop_config(s, "TcpNoDelay"), "True");
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "TcpNoDelay=0"));
	CU_ASSERT_STRING_EQUAL(spop_config(s, "TcpNoDelay"), "False");
	CU_ASSERT_PTR_NULL(spop_config(s, "TcpNoDelay=maybe"));
	CU_ASSERT_EQUAL(spop_last_error_code(s), 1211);
	/* ranges */
	CU_ASSERT_PTR_NULL(spop_config(s, "MaxLineLength=255"));
	CU_ASSERT_EQUAL(spop_last_error_code(s), 1211);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "MaxLineLength=256"));
	CU_ASSERT_PTR_NULL(spop_config(s, "UseIPv6=3"));
	CU_ASSERT_PTR_NULL(spop_config(s, "LocalPort=70000"));
	CU_ASSERT_PTR_NULL(spop_config(s, "MailPort=x"));
	/* unknown, read-only */
	CU_ASSERT_PTR_NULL(spop_config(s, "NoSuchThing"));
	CU_ASSERT_EQUAL(spop_last_error_code(s), 1210);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "NoSuchThing"));
	CU_ASSERT_PTR_NULL(spop_config(s, "MessageCount=3"));
	CU_ASSERT_EQUAL(spop_last_error_code(s), 1211);
	/* derived settings */
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "KeepAliveTime=5000"));
	CU_ASSERT_STRING_EQUAL(spop_config(s, "TCPKeepAlive"), "True");
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallType=1"));
	CU_ASSERT_STRING_EQUAL(spop_config(s, "FirewallPort"), "80");
	CU_ASSERT_PTR_NULL(spop_config(s, "FirewallType=4"));
	/* properties by seed name */
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "MailServer=mail.example"));
	CU_ASSERT_STRING_EQUAL(spop_get_mail_server(s), "mail.example");
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "User=bob"));
	CU_ASSERT_STRING_EQUAL(spop_get_user(s), "bob");
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "Password=a=b"));
	CU_ASSERT_STRING_EQUAL(spop_get_password(s), "a=b");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "Connected"), "False");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "Idle"), "True");
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_config(s, "BuildInfo"), "libspop"));
	CU_ASSERT_STRING_EQUAL(spop_config(s, "CodePage"), "65001");
	CU_ASSERT_PTR_NULL(spop_config(s, "CodePage=1252"));
	CU_ASSERT_EQUAL(spop_last_error_code(s), 434);
	spop_free(s);
}

static void test_errors(void)
{
	CU_ASSERT_STRING_EQUAL(spop_error_text(301), "Timeout.");
	CU_ASSERT_STRING_EQUAL(spop_error_text(10061),
			       "[10061] Connection refused.");
	CU_ASSERT_STRING_EQUAL(spop_error_text(173),
			       "Please specify a valid MailServer.");
	CU_ASSERT_EQUAL(spi_errno_to_code(ECONNREFUSED), 10061);
	CU_ASSERT_EQUAL(spi_errno_to_code(ETIMEDOUT), 10060);
	CU_ASSERT_EQUAL(spi_errno_to_code(ECONNRESET), 10054);
}

static void test_escape(void)
{
	char *e = spi_escape_controls("a\rb\n\x1b[2J\\", 9);

	CU_ASSERT_STRING_EQUAL(e, "a\\rb\\n\\x1B[2J\\\\");
	g_free(e);
}

static const struct test_case pop3_cases0[] = {
    {"status lines", test_reply_parse},
    {"multi-line decision", test_multiline},
    {"dot-unstuffing", test_unstuff},
    {"trail masking offsets", test_mask_from},
    {"control characters escaped", test_escape},
    {NULL, NULL},
};

static const struct test_case pop3_cases1[] = {
    {"body in one read", test_body_whole},
    {"terminator split byte by byte", test_body_split_bytewise},
    {"body in 3-byte reads", test_body_split_odd},
    {"MaxLineLength pieces", test_long_line_pieces},
    {"dropped mid-body", test_dropped_mid_body},
    {"inactivity timeout", test_timeout},
    {"CR/LF in a command refused", test_crlf_refused},
    {"pipelined commands matched in order", test_pipelined_queue},
    {"NUL in a status line stays inside the copy", test_nul_in_status_line},
    {NULL, NULL},
};

static const struct test_case pop3_cases2[] = {
    {"settings table", test_config},
    {"error table", test_errors},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"pop3-grammar", NULL, NULL, pop3_cases0},
    {"pop3-engine", NULL, NULL, pop3_cases1},
    {"config", NULL, NULL, pop3_cases2},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	int rc = test_run(suites);
	return rc;
}
