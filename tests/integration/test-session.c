/* Session against a private Dovecot: connect, auth (USER/PASS, APOP),
 * STAT, LIST/UIDL, caching, DELE/RSET/QUIT semantics, custom commands,
 * the trail, and every connection error the reference names. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

static struct recorder rec;

static long long total_of_main(void)
{
	long long t = 0;

	for (int i = 1; i <= harness_message_count(&dovecot, HARNESS_MAIN_USER);
	     i++)
		t += harness_message_size(&dovecot, i);
	return t;
}

static void test_connect_user_pass(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);

	ASSERT_OK(spop_connect(s));
	CU_ASSERT_TRUE(spop_get_connected(s));
	CU_ASSERT_TRUE(spop_get_idle(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s),
			harness_message_count(&dovecot, HARNESS_MAIN_USER));
	CU_ASSERT_EQUAL(spop_get_total_size(s), total_of_main());
	CU_ASSERT_EQUAL(spop_query_total_size(s), total_of_main());
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_get_greeting(s), "+OK"));
	/* CAPA is available to the application */
	int uidl = 0, top = 0;
	for (int i = 0; i < spop_get_capability_count(s); i++) {
		uidl += !strcmp(spop_get_capability(s, i), "UIDL");
		top += !strcmp(spop_get_capability(s, i), "TOP");
	}
	CU_ASSERT_EQUAL(uidl, 1);
	CU_ASSERT_EQUAL(top, 1);
	/* LocalHost/LocalPort report the bound address after connect */
	CU_ASSERT_STRING_EQUAL(spop_get_local_host(s), "127.0.0.1");
	CU_ASSERT(atoi(spop_config(s, "LocalPort")) > 0);
	/* the trail: commands, replies, and the password masked */
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: USER alice\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: PASS ********\n"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, HARNESS_MAIN_PASSWORD));
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: STAT\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "S: +OK"));
	CU_ASSERT(rec.statuses >= 1);
	/* 104 while connected */
	CU_ASSERT_EQUAL(spop_connect(s), 104);
	CU_ASSERT_EQUAL(rec.last_error, 104);
	CU_ASSERT_EQUAL(spop_set_mail_port(s, 1), 100);
	CU_ASSERT_EQUAL(spop_set_mail_server(s, "x"), 101);
	ASSERT_OK(spop_disconnect(s));
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s), 0);
	CU_ASSERT_EQUAL(spop_get_total_size(s), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: QUIT\n"));
	spop_free(s);
}

static void test_unmasked_trail(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);

	spop_config(s, "MaskSensitive=False");
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str, "C: PASS " HARNESS_MAIN_PASSWORD "\n"));
	spop_disconnect(s);
	spop_free(s);
}

static void test_connected_property(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, NULL);

	ASSERT_OK(spop_set_connected(s, 1));
	CU_ASSERT_TRUE(spop_get_connected(s));
	CU_ASSERT_STRING_EQUAL(spop_config(s, "Connected"), "True");
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "Connected=False"));
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_free(s);
}

static void test_apop(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);

	ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_APOP));
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str, "C: APOP alice ********"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: USER"));
	CU_ASSERT_EQUAL(spop_get_message_count(s),
			harness_message_count(&dovecot, HARNESS_MAIN_USER));
	spop_disconnect(s);
	spop_set_password(s, "wrong");
	CU_ASSERT_EQUAL(spop_connect(s), 171);
	ERROR_HAS(s, "APOP");
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_free(s);
}

static void test_wrong_password(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, "not-the-password", &rec);

	CU_ASSERT_EQUAL(spop_connect(s), 171);
	CU_ASSERT_EQUAL(spop_last_error_code(s), 171);
	/* the message carries the server's reply */
	ERROR_HAS(s, "-ERR");
	ERROR_HAS(s, "PASS");
	CU_ASSERT_EQUAL(rec.errors, 1);
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s), 0);
	/* what the server said before refusing stays for diagnosis */
	CU_ASSERT(spop_get_capability_count(s) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_get_greeting(s), "+OK"));
	spop_free(s);
}

static void test_connection_errors(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, NULL);

	spop_set_mail_server(s, "");
	CU_ASSERT_EQUAL(spop_connect(s), 173);
	spop_set_mail_server(s, "127.0.0.1");
	spop_set_mail_port(s, 0);
	CU_ASSERT_EQUAL(spop_connect(s), 116);
	spop_set_mail_port(s, harness_closed_port());
	CU_ASSERT_EQUAL(spop_connect(s), 10061);
	ERROR_HAS(s, "127.0.0.1");
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_set_mail_server(s, "no-such-host.invalid");
	/* 11001 where a resolver answers "no such name"; without a reachable
	 * DNS server getaddrinfo() gives EAI_AGAIN, which is 11002 ("try
	 * again"). Either is right; the host must be named in both. */
	int rc = spop_connect(s);
	CU_ASSERT(rc == 11001 || rc == 11002);
	ERROR_HAS(s, "no-such-host.invalid");
	/* IPv6 only, to an IPv4 literal: nothing to connect to */
	spop_set_mail_server(s, "127.0.0.1");
	spop_config(s, "UseIPv6=1");
	CU_ASSERT_EQUAL(spop_connect(s), 11004);
	spop_free(s);
}

static void test_ipv6_fallback_and_binding(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, NULL);

	/* localhost: IPv6 first, then IPv4 where Dovecot listens */
	spop_set_mail_server(s, "localhost");
	spop_config(s, "UseIPv6=2");
	spop_set_local_host(s, "127.0.0.1");
	spop_config(s, "TcpNoDelay=True");
	spop_config(s, "KeepAliveTime=30000");
	spop_config(s, "Linger=False");
	spop_config(s, "InBufferSize=65536");
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_STRING_EQUAL(spop_get_local_host(s), "127.0.0.1");
	CU_ASSERT_EQUAL(spop_set_local_host(s, "127.0.0.2"), 107);
	CU_ASSERT_PTR_NULL(spop_config(s, "LocalPort=5"));
	CU_ASSERT_EQUAL(spop_last_error_code(s), 106);
	spop_disconnect(s);
	spop_free(s);
}

static int free_local_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &l);
	close(fd);
	return ntohs(a.sin_port);
}

static void test_local_port(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, NULL);
	int port = free_local_port();
	char cfg[32];

	snprintf(cfg, sizeof(cfg), "LocalPort=%d", port);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, cfg));
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(atoi(spop_config(s, "LocalPort")), port);
	spop_disconnect(s);
	spop_free(s);
}

static void test_not_connected(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, NULL);

	CU_ASSERT_EQUAL(spop_retrieve(s), 1117);
	CU_ASSERT_EQUAL(spop_retrieve_headers(s), 1117);
	CU_ASSERT_EQUAL(spop_delete(s), 1117);
	CU_ASSERT_EQUAL(spop_reset(s), 1117);
	CU_ASSERT_EQUAL(spop_list_message_sizes(s), 1117);
	CU_ASSERT_EQUAL(spop_list_message_uids(s), 1117);
	CU_ASSERT_EQUAL(spop_send_command(s, "NOOP"), 1117);
	/* the reference: Query* answer 0 / "" when not connected, without
	 * raising an error of their own (the last one stays) */
	CU_ASSERT_EQUAL(spop_query_message_size(s), 0);
	CU_ASSERT_STRING_EQUAL(spop_query_message_uid(s), "");
	CU_ASSERT_EQUAL(spop_query_total_size(s), 0);
	CU_ASSERT_EQUAL(spop_last_error_code(s), 1117);
	CU_ASSERT_STRING_EQUAL(spop_last_error(s),
			       "You need to connect first. SendCommand needs a "
			       "connection: call spop_connect() first.");
	CU_ASSERT_EQUAL(spop_get_message_size(s), 0);
	CU_ASSERT_STRING_EQUAL(spop_get_message_uid(s), "");
	CU_ASSERT_EQUAL(spop_disconnect(s), 0);
	spop_free(s);
}

static void test_lists_and_cache(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);
	int count = harness_message_count(&dovecot, HARNESS_MAIN_USER);

	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_list_message_sizes(s));
	CU_ASSERT_EQUAL_FATAL((int)rec.listed->len, count);
	for (int i = 0; i < count; i++) {
		char *want = g_strdup_printf(
		    "%d  %lld", i + 1, harness_message_size(&dovecot, i + 1));
		CU_ASSERT_STRING_EQUAL(rec.listed->pdata[i], want);
		g_free(want);
	}
	g_ptr_array_set_size(rec.listed, 0);
	ASSERT_OK(spop_list_message_uids(s));
	CU_ASSERT_EQUAL_FATAL((int)rec.listed->len, count);
	/* each UID is non-empty, unique, and size 0 in the event */
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	for (int i = 0; i < count; i++) {
		const char *l = rec.listed->pdata[i];
		CU_ASSERT(g_str_has_suffix(l, " 0"));
		CU_ASSERT_FALSE(g_hash_table_contains(seen, l));
		g_hash_table_add(seen, (gpointer)l);
	}
	g_hash_table_destroy(seen);

	/* after LIST and UIDL, MessageSize/UID need no round trip */
	ASSERT_OK(spop_set_message_number(s, 2));
	g_string_truncate(rec.trail, 0);
	CU_ASSERT_EQUAL(spop_get_message_size(s),
			harness_message_size(&dovecot, 2));
	char *listed_line = g_strdup_printf("2 %s 0", spop_get_message_uid(s));
	CU_ASSERT_STRING_EQUAL(rec.listed->pdata[1], listed_line);
	g_free(listed_line);
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: LIST"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: UIDL"));
	/* a deleted message is no longer listed: the server is asked, and
	 * says no (RSET takes the deletion back before anything ends) */
	ASSERT_OK(spop_delete(s));
	CU_ASSERT_EQUAL(spop_get_message_size(s), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: LIST 2\n"));
	ASSERT_OK(spop_reset(s));

	/* a session without the lists asks the server once per
	 * MessageNumber */
	ASSERT_OK(spop_disconnect(s));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "ListAtConnect=false"));
	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_set_message_number(s, 2));
	g_string_truncate(rec.trail, 0);
	CU_ASSERT_EQUAL(spop_get_message_size(s),
			harness_message_size(&dovecot, 2));
	CU_ASSERT_EQUAL(spop_query_message_size(s),
			harness_message_size(&dovecot, 2));
	const char *uid = spop_get_message_uid(s);
	CU_ASSERT(strlen(uid) > 0);
	char *uid_copy = g_strdup(uid);
	CU_ASSERT_STRING_EQUAL(spop_query_message_uid(s), uid_copy);
	char *line = g_strdup_printf("2 %s 0", uid_copy);
	CU_ASSERT_STRING_EQUAL(rec.listed->pdata[1], line);
	g_free(line);
	g_free(uid_copy);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: LIST 2\n"));
	CU_ASSERT_PTR_NULL(
	    strstr(strstr(rec.trail->str, "C: LIST 2\n") + 1, "C: LIST 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: UIDL 2\n"));
	/* a new number asks again */
	ASSERT_OK(spop_set_message_number(s, 1));
	CU_ASSERT_EQUAL(spop_get_message_size(s),
			harness_message_size(&dovecot, 1));
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: LIST 1\n"));
	/* outside the mailbox */
	CU_ASSERT_EQUAL(spop_set_message_number(s, count + 1), 1211);
	CU_ASSERT_EQUAL(spop_set_message_number(s, 0), 1211);
	spop_disconnect(s);
	spop_free(s);
}

static void test_empty_mailbox(void)
{
	spop_t *s =
	    client_new(HARNESS_EMPTY_USER, HARNESS_EMPTY_PASSWORD, &rec);

	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s), 0);
	CU_ASSERT_EQUAL(spop_get_total_size(s), 0);
	ASSERT_OK(spop_list_message_sizes(s));
	ASSERT_OK(spop_list_message_uids(s));
	CU_ASSERT_EQUAL(rec.listed->len, 0);
	CU_ASSERT_EQUAL(spop_retrieve(s), 171);
	ERROR_HAS(s, "RETR");
	CU_ASSERT_TRUE(spop_get_connected(s));
	spop_disconnect(s);
	spop_free(s);
}

static int bob_count(void)
{
	spop_t *s =
	    client_new(HARNESS_SMALL_USER, HARNESS_SMALL_PASSWORD, NULL);
	int n = spop_connect(s) ? -1 : spop_get_message_count(s);

	spop_disconnect(s);
	spop_free(s);
	return n;
}

static void test_delete_semantics(void)
{
	spop_t *s;

	ASSERT_OK(harness_dovecot_reset_mailbox(&dovecot, HARNESS_SMALL_USER));
	CU_ASSERT_EQUAL_FATAL(bob_count(), 3);

	/* Delete then Reset: nothing removed */
	s = client_new(HARNESS_SMALL_USER, HARNESS_SMALL_PASSWORD, NULL);
	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_delete(s));
	ASSERT_OK(spop_reset(s));
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);
	CU_ASSERT_EQUAL(bob_count(), 3);

	/* Delete then a dropped connection (no QUIT): nothing removed */
	s = client_new(HARNESS_SMALL_USER, HARNESS_SMALL_PASSWORD, NULL);
	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_delete(s));
	CU_ASSERT_EQUAL(spop_retrieve(s), 171); /* deleted: -ERR */
	spop_free(s);
	CU_ASSERT_EQUAL(bob_count(), 3);

	/* Delete then Disconnect: removed */
	s = client_new(HARNESS_SMALL_USER, HARNESS_SMALL_PASSWORD, NULL);
	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_set_message_number(s, 2));
	ASSERT_OK(spop_delete(s));
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);
	CU_ASSERT_EQUAL(bob_count(), 2);
	ASSERT_OK(harness_dovecot_reset_mailbox(&dovecot, HARNESS_SMALL_USER));
}

static void test_send_command(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);

	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_send_command(s, "NOOP"));
	CU_ASSERT(g_str_has_prefix(spop_get_last_reply(s), "+OK"));
	/* LIST without argument is multi-line: its lines reach the trail and
	 * the next command still gets its own reply */
	g_string_truncate(rec.trail, 0);
	ASSERT_OK(spop_send_command(s, "LIST"));
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "S: 1 "));
	ASSERT_OK(spop_send_command(s, "LIST 3"));
	char *want =
	    g_strdup_printf("+OK 3 %lld", harness_message_size(&dovecot, 3));
	CU_ASSERT_STRING_EQUAL(spop_get_last_reply(s), want);
	g_free(want);
	ASSERT_OK(spop_set_command(s, "UIDL 1"));
	CU_ASSERT(g_str_has_prefix(spop_get_last_reply(s), "+OK 1 "));
	CU_ASSERT_EQUAL(spop_send_command(s, "XNOSUCH"), 171);
	CU_ASSERT(g_str_has_prefix(spop_get_last_reply(s), "-ERR"));
	CU_ASSERT_TRUE(spop_get_connected(s));
	/* CR/LF smuggling is refused and nothing is sent */
	g_string_truncate(rec.trail, 0);
	CU_ASSERT_EQUAL(spop_send_command(s, "NOOP\r\nDELE 1"), 10022);
	CU_ASSERT_EQUAL(rec.trail->len, 0);
	ASSERT_OK(spop_send_command(s, "NOOP"));
	spop_disconnect(s);
	spop_free(s);
}

static void test_crlf_in_user(void)
{
	spop_t *s = client_new("alice\r\nDELE 1", HARNESS_MAIN_PASSWORD, &rec);

	CU_ASSERT_EQUAL(spop_connect(s), 10022);
	ERROR_HAS(s, "User contains a CR or LF");
	/* refused before any connection: not even CAPA went out */
	CU_ASSERT_EQUAL(rec.trail->len, 0);
	CU_ASSERT_EQUAL(rec.statuses, 0);
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_free(s);
}

static void test_unknown_auth_plugin(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, NULL);

	/* by name: issue 9 gives every AuthMechanism value a plugin */
	CU_ASSERT_PTR_NOT_NULL(
	    spop_config(s, "AuthMechanismName=no-such-mechanism"));
	CU_ASSERT_EQUAL(spop_connect(s), 1201);
	ERROR_HAS(s, "no-such-mechanism");
	ERROR_HAS(s, "apop");
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_free(s);
}

static void test_interrupt_idle(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, NULL);

	/* With no method running, Interrupt does nothing: the next method
	 * is not cancelled by a stale request. */
	CU_ASSERT_EQUAL(spop_interrupt(s), 0);
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_interrupt(s), 0);
	ASSERT_OK(spop_send_command(s, "NOOP"));
	spop_disconnect(s);
	spop_free(s);
}

/* A retrieval that fails leaves no earlier message behind: the message
 * properties are empty, and the getters define their outputs. */
static void test_failed_retrieve_clears(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, NULL);
	const char *text = NULL;
	size_t len = 1;

	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_retrieve(s));
	CU_ASSERT(strlen(spop_get_message_headers_string(s)) > 0);
	ASSERT_OK(spop_delete(s));
	CU_ASSERT_EQUAL(spop_retrieve(s), 171);
	ERROR_HAS(s, "answered RETR");
	CU_ASSERT_STRING_EQUAL(spop_get_message_headers_string(s), "");
	CU_ASSERT_STRING_EQUAL(spop_get_message_subject(s), "");
	CU_ASSERT_EQUAL(spop_get_message_header_count(s), 0);
	/* the getter asks the server again, fails, and still defines both */
	CU_ASSERT_EQUAL(spop_get_message_text(s, &text, &len), 171);
	CU_ASSERT_PTR_NOT_NULL(text);
	CU_ASSERT_EQUAL(len, 0);
	ASSERT_OK(spop_reset(s));
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);
}

static void test_do_events_keeps_live(void)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, NULL);

	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_do_events(s));
	CU_ASSERT_TRUE(spop_get_connected(s));
	spop_free(s);
}

static const struct test_case session_cases0[] = {
    {"connect with USER/PASS", test_connect_user_pass},
    {"trail unmasked on request", test_unmasked_trail},
    {"Connected property", test_connected_property},
    {"APOP", test_apop},
    {"wrong password gives 171", test_wrong_password},
    {"connection errors", test_connection_errors},
    {"IPv6 fallback and socket options", test_ipv6_fallback_and_binding},
    {"LocalPort binding", test_local_port},
    {"methods need a connection", test_not_connected},
    {"LIST/UIDL and caching", test_lists_and_cache},
    {"empty mailbox", test_empty_mailbox},
    {"DELE with QUIT, RSET, drop", test_delete_semantics},
    {"SendCommand", test_send_command},
    {"CR/LF in User refused", test_crlf_in_user},
    {"missing auth plugin", test_unknown_auth_plugin},
    {"Interrupt while idle", test_interrupt_idle},
    {"a failed retrieval clears the message", test_failed_retrieve_clears},
    {"DoEvents keeps a live connection", test_do_events_keeps_live},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"session", NULL, NULL, session_cases0},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return integration_main("session", suites);
}
