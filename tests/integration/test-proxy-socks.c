/* SOCKS5 (FirewallType 3) against a private Dante in front of a private
 * Dovecot (POP3 with STLS, and pop3s): login and RETR through the proxy
 * with an address and with "*localhost" (the proxy resolves the name),
 * implicit TLS and STLS through it, the proxy down (the connection error
 * names the proxy), the mail server's port refused behind the proxy (118
 * with the proxy's reason) and a name SOCKS5 cannot carry (refused before
 * anything is sent). FirewallAutoDetect (all_proxy, no_proxy) and
 * ProxyExceptionsList go through Dante too.
 *
 * Username/password (RFC 1929) against a second real Dante that demands
 * it: accepted (with RETR, and once with implicit TLS), a wrong password
 * and no FirewallUser (118 saying so); the password never appears in the
 * trail, the error or Dante's log. Dante checks system users; its test
 * user exists only in that danted's private mount namespace
 * (dante-harness.sh), and a case checks the machine's /etc is untouched.
 *
 * A scripted SOCKS5 peer only for what no real proxy does: malformed
 * replies (wrong versions, a method not offered, a bad address type, EOF
 * mid-reply) and every reply code in words. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "harness-dante.h"

/* The test user that only the authenticating danted sees, and passwords
 * distinctive enough that finding one anywhere is a leak. */
#define PROXY_USER     "spopsocks"
#define PROXY_PASSWORD "Dante-only-pw-7x"
#define WRONG_PASSWORD "Not-the-dante-pw-3q"

static struct recorder rec;
static struct harness_dante dante;	/* no authentication */
static struct harness_dante dante_auth; /* username/password */
/* The machine's user files before any Dante started. */
static char *passwd_sum, *shadow_sum;

/* Whether d's log after before has text (before: the log earlier). */
static int logged_since(const struct harness_dante *d, const char *before,
			const char *text)
{
	char *after = harness_dante_log(d);
	int found;

	CU_ASSERT_FATAL(strlen(after) >= strlen(before));
	found = strstr(after + strlen(before), text) != NULL;
	g_free(after);
	return found;
}

/* d's log after before names a connection to the Dovecot port. */
static void assert_proxied(const struct harness_dante *d, const char *before,
			   int port)
{
	char *needle = g_strdup_printf("127.0.0.1.%d", port);

	CU_ASSERT_TRUE(logged_since(d, before, needle));
	g_free(needle);
}

static void test_address(void)
{
	char *before = harness_dante_log(&dante);
	spop_t *s = proxy_client(SPOP_FW_SOCKS5, "127.0.0.1", dante.port, &rec);

	login_and_retrieve(s);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str, "SOCKS5 proxy 127.0.0.1:"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "resolved by the proxy"));
	assert_proxied(&dante, before, dovecot.port);
	/* ConnectionStatus: the proxy's events around the server's */
	CU_ASSERT_STRING_EQUAL(rec.statuses_seen->str,
			       "Firewall connection complete (0)\n"
			       "Remote host connection complete (0)\n"
			       "Remote host disconnected (0)\n"
			       "Firewall host disconnected (0)\n");
	spop_free(s);
	g_free(before);
}

static void test_remote_name(void)
{
	char *before = harness_dante_log(&dante);
	spop_t *s =
	    proxy_client(SPOP_FW_SOCKS5, "*localhost", dante.port, &rec);

	login_and_retrieve(s);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str, "to localhost (resolved by the proxy)"));
	assert_proxied(&dante, before, dovecot.port);
	spop_free(s);
	g_free(before);
}

static void test_implicit_tls(void)
{
	char *before = harness_dante_log(&dante);
	spop_t *s = proxy_client(SPOP_FW_SOCKS5, "localhost", dante.port, &rec);

	use_dovecot_tls(s, SPOP_SSL_IMPLICIT);
	login_and_retrieve(s);
	assert_proxied(&dante, before, dovecot.tls_port);
	spop_free(s);
	g_free(before);
}

static void test_stls(void)
{
	char *before = harness_dante_log(&dante);
	spop_t *s =
	    proxy_client(SPOP_FW_SOCKS5, "*localhost", dante.port, &rec);

	use_dovecot_tls(s, SPOP_SSL_EXPLICIT);
	login_and_retrieve(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: STLS"));
	assert_proxied(&dante, before, dovecot.port);
	spop_free(s);
	g_free(before);
}

static void test_proxy_down(void)
{
	int port = harness_closed_port();
	char *where = g_strdup_printf("port %d", port);
	spop_t *s = proxy_client(SPOP_FW_SOCKS5, "127.0.0.1", port, &rec);

	/* the reference's refusal, naming the proxy, never a direct try */
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_CONNECTION_REFUSED);
	ERROR_HAS(s, "Cannot reach the proxy 127.0.0.1:");
	ERROR_HAS(s, where);
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "S: +OK"));
	/* no connection, so no ConnectionStatus claims one */
	CU_ASSERT_STRING_EQUAL(rec.statuses_seen->str, "");
	spop_free(s);
	g_free(where);
}

static void test_target_refused(void)
{
	int port = harness_closed_port();
	char *proxy = g_strdup_printf("SOCKS5 proxy 127.0.0.1:%d ", dante.port);
	char *target = g_strdup_printf("127.0.0.1 port %d", port);
	spop_t *s = proxy_client(SPOP_FW_SOCKS5, "127.0.0.1", dante.port, &rec);

	ASSERT_OK(spop_set_mail_port(s, port));
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
	ERROR_HAS(s, proxy);
	ERROR_HAS(s, target);
	/* RFC 1928's reply code 5, in words */
	ERROR_HAS(s, "connection refused (reply 5)");
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_free(s);
	g_free(proxy);
	g_free(target);
}

static void test_name_too_long(void)
{
	char *before = harness_dante_settled_log(&dante);
	char *name = g_malloc(258);
	spop_t *s;

	name[0] = '*';
	memset(name + 1, 'a', 256);
	name[257] = '\0';
	s = proxy_client(SPOP_FW_SOCKS5, name, dante.port, &rec);
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
	ERROR_HAS(s, "256 bytes long");
	ERROR_HAS(s, "at most 255");
	/* refused here: the proxy saw no connection at all (judged on a
	 * settled log, as the earlier cases' sessions end late in it) */
	char *after = harness_dante_settled_log(&dante);
	CU_ASSERT_STRING_EQUAL(after, before);
	spop_free(s);
	g_free(after);
	g_free(name);
	g_free(before);

	/* 255 bytes is carried (and the proxy cannot resolve it) */
	name = g_malloc(257);
	name[0] = '*';
	memset(name + 1, 'a', 255);
	name[256] = '\0';
	s = proxy_client(SPOP_FW_SOCKS5, name, dante.port, &rec);
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
	ERROR_HAS(s, "SOCKS5 proxy 127.0.0.1:");
	spop_free(s);
	g_free(name);
}

/* ---- username/password (RFC 1929) against the real Dante ---- */

/* A client of the harness Dovecot through the Dante that demands
 * username/password; password NULL: no FirewallUser at all. */
static spop_t *auth_client(const char *server, const char *password)
{
	spop_t *s = proxy_client(SPOP_FW_SOCKS5, server, dante_auth.port, &rec);

	if (password) {
		config_set(s, "FirewallUser=" PROXY_USER);
		config_set(s, "FirewallPassword=%s", password);
	}
	return s;
}

/* Neither password in the trail, the last error or Dante's log. */
static void assert_no_password(spop_t *s)
{
	static const char *const secrets[] = {PROXY_PASSWORD, WRONG_PASSWORD};
	char *log = harness_dante_log(&dante_auth);

	for (size_t i = 0; i < G_N_ELEMENTS(secrets); i++) {
		CU_ASSERT_PTR_NULL(strstr(rec.trail->str, secrets[i]));
		CU_ASSERT_PTR_NULL(strstr(spop_last_error(s), secrets[i]));
		CU_ASSERT_PTR_NULL(strstr(log, secrets[i]));
	}
	g_free(log);
}

static void test_userpass_accepted(void)
{
	char *before = harness_dante_log(&dante_auth);
	spop_t *s = auth_client("127.0.0.1", PROXY_PASSWORD);

	login_and_retrieve(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, ", as FirewallUser"));
	assert_proxied(&dante_auth, before, dovecot.port);
	/* Dante names the user it authenticated on the connection */
	CU_ASSERT_TRUE(
	    logged_since(&dante_auth, before, "username%" PROXY_USER "@"));
	assert_no_password(s);
	spop_free(s);
	g_free(before);
}

static void test_userpass_tls(void)
{
	char *before = harness_dante_log(&dante_auth);
	spop_t *s = auth_client("localhost", PROXY_PASSWORD);

	use_dovecot_tls(s, SPOP_SSL_IMPLICIT);
	login_and_retrieve(s);
	assert_proxied(&dante_auth, before, dovecot.tls_port);
	CU_ASSERT_TRUE(
	    logged_since(&dante_auth, before, "username%" PROXY_USER "@"));
	assert_no_password(s);
	spop_free(s);
	g_free(before);
}

static void test_userpass_wrong_password(void)
{
	char *before = harness_dante_settled_log(&dante_auth);
	char *proxy =
	    g_strdup_printf("SOCKS5 proxy 127.0.0.1:%d ", dante_auth.port);
	char *target = g_strdup_printf("127.0.0.1.%d", dovecot.port);
	spop_t *s = auth_client("127.0.0.1", WRONG_PASSWORD);

	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
	ERROR_HAS(s, proxy);
	ERROR_HAS(s, "refused FirewallUser '" PROXY_USER "' (status 1)");
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "S: +OK"));
	/* Dante checked the password and connected nowhere */
	char *after = harness_dante_settled_log(&dante_auth);
	CU_ASSERT_TRUE(logged_since(
	    &dante_auth, before,
	    "system password authentication failed for user \"" PROXY_USER
	    "\""));
	CU_ASSERT_PTR_NULL(strstr(after + strlen(before), target));
	assert_no_password(s);
	spop_free(s);
	g_free(after);
	g_free(target);
	g_free(proxy);
	g_free(before);
}

static void test_userpass_missing(void)
{
	char *before = harness_dante_settled_log(&dante_auth);
	char *proxy =
	    g_strdup_printf("SOCKS5 proxy 127.0.0.1:%d ", dante_auth.port);
	spop_t *s = auth_client("127.0.0.1", NULL);

	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
	ERROR_HAS(s, proxy);
	ERROR_HAS(s, "accepts none of the offered methods");
	ERROR_HAS(s, "set FirewallUser and FirewallPassword");
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, ", as FirewallUser"));
	char *after = harness_dante_settled_log(&dante_auth);
	CU_ASSERT_TRUE(
	    logged_since(&dante_auth, before,
			 "client offered no acceptable authentication method"));
	spop_free(s);
	g_free(after);
	g_free(proxy);
	g_free(before);
}

/* The SHA-256 of a file, or NULL when it cannot be read. */
static char *file_sum(const char *path)
{
	char *text = NULL, *sum = NULL;
	gsize len = 0;

	if (g_file_get_contents(path, &text, &len, NULL))
		sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
						  (const guchar *)text, len);
	g_free(text);
	return sum;
}

/* Whether the mount table at path (a mountinfo file) has a mount on
 * /etc/passwd (which) or /etc/shadow: field 5 is the mount point. */
static int mounted_on(const char *mountinfo, const char *which)
{
	char *text = NULL, **lines;
	int found = 0;

	CU_ASSERT_TRUE_FATAL(g_file_get_contents(mountinfo, &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l && !found; l++) {
		char **f = g_strsplit(*l, " ", 6);

		found = g_strv_length(f) >= 5 && strcmp(f[4], which) == 0;
		g_strfreev(f);
	}
	g_strfreev(lines);
	g_free(text);
	return found;
}

/* The test user lives in danted's mount namespace only: the machine's
 * /etc/passwd and /etc/shadow are unchanged and no mount points here. */
static void test_userpass_private(void)
{
	char *pidfile = g_build_filename(dante_auth.dir, "danted.pid", NULL);
	char *text = NULL, *ours, *theirs, *info, *sum;
	char ns[2][128] = {"", ""};
	long pid = 0;

	CU_ASSERT_TRUE_FATAL(g_file_get_contents(pidfile, &text, NULL, NULL));
	pid = strtol(text, NULL, 10);
	CU_ASSERT_FATAL(pid > 0);
	ours = g_strdup("/proc/self/ns/mnt");
	theirs = g_strdup_printf("/proc/%ld/ns/mnt", pid);
	CU_ASSERT_FATAL(readlink(ours, ns[0], sizeof(ns[0]) - 1) > 0);
	CU_ASSERT_FATAL(readlink(theirs, ns[1], sizeof(ns[1]) - 1) > 0);
	CU_ASSERT_STRING_NOT_EQUAL(ns[0], ns[1]);

	/* danted sees the private files, this process the machine's */
	info = g_strdup_printf("/proc/%ld/mountinfo", pid);
	CU_ASSERT_TRUE(mounted_on(info, "/etc/passwd"));
	CU_ASSERT_TRUE(mounted_on(info, "/etc/shadow"));
	CU_ASSERT_FALSE(mounted_on("/proc/self/mountinfo", "/etc/passwd"));
	CU_ASSERT_FALSE(mounted_on("/proc/self/mountinfo", "/etc/shadow"));
	CU_ASSERT_PTR_NULL(getpwnam(PROXY_USER));
	sum = file_sum("/etc/passwd");
	CU_ASSERT_STRING_EQUAL(sum, passwd_sum);
	g_free(sum);
	sum = file_sum("/etc/shadow");
	CU_ASSERT_STRING_EQUAL(sum, shadow_sum);
	g_free(sum);
	g_free(info);
	g_free(ours);
	g_free(theirs);
	g_free(text);
	g_free(pidfile);
}

/* ---- malformed SOCKS5 replies, from a scripted peer ----
 * No real proxy sends these. The peer plays one connection, a list of
 * exchanges: each reads exactly the bytes it expects (compared byte for
 * byte) and answers with its reply, after which it may close its side.
 * After the last one the client must hang up without sending more. */
struct exchange {
	const void *expect;
	size_t expect_len;
	const void *reply;
	size_t reply_len;
	int close_after; /* end the peer's side after the reply (EOF) */
};

/* From string literals, whose NUL is not sent. */
#define EXCHANGE(e, r)                                                         \
	{                                                                      \
		e, sizeof(e) - 1, r, sizeof(r) - 1, 0                          \
	}
#define EXCHANGE_EOF(e, r)                                                     \
	{                                                                      \
		e, sizeof(e) - 1, r, sizeof(r) - 1, 1                          \
	}

/* What the client sends: the greeting without and with FirewallUser, the
 * subnegotiation for "alice" with SCRIPTED_PASSWORD, CONNECT 127.0.0.1
 * port 110. */
#define HELLO		  "\x05\x01\x00"
#define HELLO_AUTH	  "\x05\x02\x00\x02"
#define SCRIPTED_PASSWORD "Scripted-pw-9k"
#define AUTH                                                                   \
	"\x01\x05"                                                             \
	"alice"                                                                \
	"\x0e" SCRIPTED_PASSWORD
#define CONNECT "\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x6e"

struct socks_peer {
	int listen_fd, port;
	const struct exchange *script;
	size_t n;
	pthread_t thread;
	char failure[160]; /* "" when the client did what was expected */
};

/* len bytes within 10 s each: 0, or -1 (EOF, error or silence). */
static int read_n(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t n;

		if (poll(&p, 1, 10000) <= 0)
			return -1;
		n = read(fd, buf + got, len - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static void *socks_peer_run(void *arg)
{
	struct socks_peer *p = arg;
	struct pollfd pl = {p->listen_fd, POLLIN, 0};
	unsigned char buf[512];
	int fd;

	if (poll(&pl, 1, 10000) <= 0 ||
	    (fd = accept(p->listen_fd, NULL, NULL)) < 0) {
		g_strlcpy(p->failure, "no connection within 10 s",
			  sizeof(p->failure));
		return NULL;
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct exchange *x = &p->script[i];

		if (read_n(fd, buf, x->expect_len) ||
		    memcmp(buf, x->expect, x->expect_len)) {
			g_snprintf(p->failure, sizeof(p->failure),
				   "exchange %zu: not the %zu bytes expected",
				   i, x->expect_len);
			goto out;
		}
		if (write(fd, x->reply, x->reply_len) !=
		    (ssize_t)x->reply_len) {
			g_snprintf(p->failure, sizeof(p->failure),
				   "exchange %zu: reply not sent", i);
			goto out;
		}
		if (x->close_after) {
			shutdown(fd, SHUT_WR);
			break;
		}
	}
	/* the client must hang up, sending nothing more */
	struct pollfd pc = {fd, POLLIN, 0};
	if (poll(&pc, 1, 10000) <= 0)
		g_strlcpy(p->failure, "the client did not hang up in 10 s",
			  sizeof(p->failure));
	else if (read(fd, buf, 1) != 0)
		g_strlcpy(p->failure, "the client sent more after the reply",
			  sizeof(p->failure));
out:
	close(fd);
	return NULL;
}

static void socks_peer_start(struct socks_peer *p,
			     const struct exchange *script, size_t n)
{
	memset(p, 0, sizeof(*p));
	p->script = script;
	p->n = n;
	p->listen_fd = loopback_listener(&p->port);
	CU_ASSERT_FATAL(pthread_create(&p->thread, NULL, socks_peer_run, p) ==
			0);
}

/* Connects through a peer playing script (with FirewallUser "alice" when
 * with_user) and asserts 118 naming the peer with error in it, nothing
 * connected, no password in the trail, and a peer that saw what it
 * expected. */
static void malformed(const struct exchange *script, size_t n, int with_user,
		      const char *error)
{
	struct socks_peer peer;
	char *proxy;
	spop_t *s;

	socks_peer_start(&peer, script, n);
	proxy = g_strdup_printf("SOCKS5 proxy 127.0.0.1:%d ", peer.port);
	s = proxy_client(SPOP_FW_SOCKS5, "127.0.0.1", peer.port, &rec);
	ASSERT_OK(spop_set_mail_port(s, 110));
	spop_set_timeout(s, 10);
	if (with_user) {
		config_set(s, "FirewallUser=alice");
		config_set(s, "FirewallPassword=" SCRIPTED_PASSWORD);
	}
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
	ERROR_HAS(s, proxy);
	ERROR_HAS(s, error);
	if (!strstr(spop_last_error(s), error))
		fprintf(stderr, "wanted '%s' in: %s\n", error,
			spop_last_error(s));
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, SCRIPTED_PASSWORD));
	CU_ASSERT_PTR_NULL(strstr(spop_last_error(s), SCRIPTED_PASSWORD));
	spop_free(s);
	pthread_join(peer.thread, NULL);
	close(peer.listen_fd);
	if (peer.failure[0])
		fprintf(stderr, "SOCKS5 peer: %s\n", peer.failure);
	CU_ASSERT_STRING_EQUAL(peer.failure, "");
	g_free(proxy);
}

static void test_bad_method_version(void)
{
	static const struct exchange script[] = {EXCHANGE(HELLO, "\x04\x00")};

	malformed(script, 1, 0, "answered version 4, not SOCKS5.");
}

static void test_method_not_offered(void)
{
	/* username/password without FirewallUser */
	static const struct exchange plain[] = {EXCHANGE(HELLO, "\x05\x02")};
	/* GSSAPI (1), offered by neither */
	static const struct exchange gssapi[] = {
	    EXCHANGE(HELLO_AUTH, "\x05\x01")};

	malformed(plain, 1, 0, "chose method 2, which was not offered.");
	malformed(gssapi, 1, 1, "chose method 1, which was not offered.");
}

static void test_bad_auth_version(void)
{
	static const struct exchange script[] = {
	    EXCHANGE(HELLO_AUTH, "\x05\x02"), EXCHANGE(AUTH, "\x05\x00")};

	malformed(script, 2, 1,
		  "answered the username/password request with version 5.");
}

static void test_bad_connect_reply(void)
{
	/* address type 7 does not exist; 5 bytes of its "address" would
	 * follow, but the client must not try to read any */
	static const struct exchange atyp[] = {
	    EXCHANGE(HELLO, "\x05\x00"), EXCHANGE(CONNECT, "\x05\x00\x00\x07")};
	static const struct exchange version[] = {
	    EXCHANGE(HELLO, "\x05\x00"), EXCHANGE(CONNECT, "\x04\x00\x00\x01")};

	malformed(atyp, 2, 0, "answered CONNECT with address type 7.");
	malformed(version, 2, 0, "answered CONNECT with version 4.");
}

static void test_eof_mid_reply(void)
{
	static const struct exchange method[] = {EXCHANGE_EOF(HELLO, "\x05")};
	static const struct exchange auth[] = {EXCHANGE(HELLO_AUTH, "\x05\x02"),
					       EXCHANGE_EOF(AUTH, "\x01")};
	/* the head and half the bound address */
	static const struct exchange connect[] = {
	    EXCHANGE(HELLO, "\x05\x00"),
	    EXCHANGE_EOF(CONNECT, "\x05\x00\x00\x01\x7f\x00")};

	malformed(method, 1, 0,
		  "closed the connection before its method selection was "
		  "complete.");
	malformed(auth, 2, 1,
		  "closed the connection before its authentication reply "
		  "was complete.");
	malformed(connect, 2, 0,
		  "closed the connection before its CONNECT reply (for "
		  "127.0.0.1 port 110) was complete.");
}

/* RFC 1928's REP codes 1-8 and an unassigned one, in words. */
static void test_reply_codes(void)
{
	static const char *const words[] = {
	    "general SOCKS server failure", "connection not allowed by ruleset",
	    "network unreachable",	    "host unreachable",
	    "connection refused",	    "TTL expired",
	    "command not supported",	    "address type not supported",
	    "unassigned reply code"};

	for (unsigned code = 1; code <= G_N_ELEMENTS(words); code++) {
		unsigned char reply[4] = {5, (unsigned char)code, 0, 1};
		struct exchange script[] = {
		    EXCHANGE(HELLO, "\x05\x00"),
		    {CONNECT, sizeof(CONNECT) - 1, reply, sizeof(reply), 0}};
		char *error = g_strdup_printf(
		    "could not connect to 127.0.0.1 port 110: %s (reply %u).",
		    words[code - 1], code);

		malformed(script, 2, 0, error);
		g_free(error);
	}
}

/* FirewallAutoDetect: all_proxy names Dante; no Firewall* setting. */
static void test_auto_detect(void)
{
	char *before = harness_dante_log(&dante);
	char *url = g_strdup_printf("socks5h://127.0.0.1:%d", dante.port);
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);

	g_setenv("all_proxy", url, TRUE);
	g_unsetenv("no_proxy");
	g_unsetenv("NO_PROXY");
	ASSERT_OK(spop_set_mail_server(s, "localhost"));
	config_set(s, "FirewallAutoDetect=True");
	login_and_retrieve(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str,
				      "FirewallAutoDetect: socks5h proxy "
				      "127.0.0.1:"));
	/* socks5h: the proxy resolved the name */
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str, "to localhost (resolved by the proxy)"));
	assert_proxied(&dante, before, dovecot.port);
	/* the application's settings are as it left them */
	CU_ASSERT_STRING_EQUAL(spop_config(s, "FirewallType"), "0");
	spop_free(s);
	g_free(before);

	/* no_proxy names the server: straight to Dovecot, Dante sees
	 * nothing */
	before = harness_dante_settled_log(&dante);
	g_setenv("no_proxy", "example.org,localhost", TRUE);
	s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);
	ASSERT_OK(spop_set_mail_server(s, "localhost"));
	config_set(s, "FirewallAutoDetect=True");
	login_and_retrieve(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(
	    rec.trail->str, "matches 'localhost' in no_proxy: connecting "
			    "without the proxy"));
	char *after = harness_dante_settled_log(&dante);
	CU_ASSERT_STRING_EQUAL(after, before);
	g_free(after);
	spop_free(s);
	g_free(before);
	g_unsetenv("no_proxy");
	g_unsetenv("all_proxy");
	g_free(url);
}

/* ProxyExceptionsList: the set proxy is skipped for a listed server. */
static void test_exception_list(void)
{
	char *before = harness_dante_settled_log(&dante);
	spop_t *s = proxy_client(SPOP_FW_SOCKS5, "127.0.0.1", dante.port, &rec);

	config_set(s, "ProxyExceptionsList=mail.example;127.0.0.1");
	login_and_retrieve(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str,
				      "in ProxyExceptionsList: connecting "
				      "without the proxy"));
	char *after = harness_dante_settled_log(&dante);
	CU_ASSERT_STRING_EQUAL(after, before);
	g_free(after);
	spop_free(s);
	g_free(before);
}

static const struct test_case cases[] = {
    {"SOCKS5 to an address: login and RETR", test_address},
    {"SOCKS5 to *localhost: the proxy resolves", test_remote_name},
    {"SOCKS5 with implicit TLS", test_implicit_tls},
    {"SOCKS5 with STLS", test_stls},
    {"SOCKS5 proxy down: 10061 naming the proxy", test_proxy_down},
    {"SOCKS5 target refused: 118 with the reply", test_target_refused},
    {"SOCKS5 name over 255 bytes refused locally", test_name_too_long},
    {"SOCKS5 username/password accepted by Dante", test_userpass_accepted},
    {"SOCKS5 username/password with implicit TLS", test_userpass_tls},
    {"SOCKS5 wrong password: 118, Dante refused", test_userpass_wrong_password},
    {"SOCKS5 no FirewallUser, Dante demands one: 118", test_userpass_missing},
    {"Dante's test user is private: /etc untouched", test_userpass_private},
    {"SOCKS5 method reply with wrong version (scripted)",
     test_bad_method_version},
    {"SOCKS5 method not offered (scripted)", test_method_not_offered},
    {"SOCKS5 auth reply with wrong version (scripted)", test_bad_auth_version},
    {"SOCKS5 CONNECT reply malformed (scripted)", test_bad_connect_reply},
    {"SOCKS5 EOF mid-reply (scripted)", test_eof_mid_reply},
    {"SOCKS5 reply codes in words (scripted)", test_reply_codes},
    {"FirewallAutoDetect: all_proxy, then no_proxy", test_auto_detect},
    {"ProxyExceptionsList bypasses the proxy", test_exception_list},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"proxy-socks", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	static const struct harness_tls tls = {"good", 0, NULL, NULL};
	const char *why = harness_dovecot_unavailable();
	int rc;

	if (!why)
		why = harness_dante_unavailable();
	if (why)
		return harness_cannot_run("proxy-socks", why);
	/* before any danted: the test user must never reach these */
	passwd_sum = file_sum("/etc/passwd");
	shadow_sum = file_sum("/etc/shadow");
	if (!passwd_sum || !shadow_sum) {
		fprintf(stderr, "proxy-socks: cannot read /etc/passwd and "
				"/etc/shadow (root needed)\n");
		return 1;
	}
	if (harness_dovecot_start_tls(&dovecot, "proxy-socks", &tls))
		return 1;
	if (harness_dante_start(&dante, "proxy-socks")) {
		harness_dovecot_stop(&dovecot);
		return 1;
	}
	if (harness_dante_start_userpass(&dante_auth, "proxy-socks-auth",
					 PROXY_USER, PROXY_PASSWORD)) {
		harness_dante_stop(&dante);
		harness_dovecot_stop(&dovecot);
		return 1;
	}
	rc = test_run(suites);
	if (harness_dante_stop(&dante_auth))
		rc = 1;
	if (harness_dante_stop(&dante))
		rc = 1;
	harness_dovecot_stop(&dovecot);
	g_free(passwd_sum);
	g_free(shadow_sum);
	return rc;
}
