/* SOCKS5 (FirewallType 3) against a private Dante in front of a private
 * Dovecot (POP3 with STLS, and pop3s): login and RETR through the proxy
 * with an address and with "*localhost" (the proxy resolves the name),
 * implicit TLS and STLS through it, the proxy down (the connection error
 * names the proxy), the mail server's port refused behind the proxy (118
 * with the proxy's reason) and a name SOCKS5 cannot carry (refused before
 * anything is sent). Dante's username method checks system users, which
 * the tests do not create: username/password is checked against a
 * scripted SOCKS5 peer here, not against a real proxy. FirewallAutoDetect
 * (all_proxy, no_proxy) and ProxyExceptionsList go through Dante too. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "harness-dante.h"

static struct recorder rec;
static struct harness_dante dante;

/* Dante's log so far: every connection it accepted is a line in it. */
static char *dante_log(void)
{
	char *path = g_build_filename(dante.dir, "danted.log", NULL);
	char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		text = g_strdup("");
	g_free(path);
	return text;
}

/* Dante's log once it stops growing: it writes a session's last lines
 * after the client has gone, so "nothing new" is judged only on a log
 * that has settled (unchanged for 300 ms, at most 5 s). */
static char *settled_dante_log(void)
{
	char *last = dante_log();

	for (int i = 0, same = 0; i < 50 && same < 3; i++) {
		g_usleep(100 * 1000);
		char *now = dante_log();

		same = strcmp(now, last) ? 0 : same + 1;
		g_free(last);
		last = now;
	}
	return last;
}

/* A port on 127.0.0.1 nothing listens on (free a moment ago). */
static int closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void set(spop_t *s, const char *fmt, ...)
{
	va_list ap;
	char *cfg;

	va_start(ap, fmt);
	cfg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, cfg));
	g_free(cfg);
}

/* A client of the harness Dovecot through Dante at proxy_port. */
static spop_t *proxied_client(const char *server, int proxy_port)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);

	ASSERT_OK(spop_set_mail_server(s, server));
	set(s, "FirewallType=3");
	/* the type sets the reference's default port */
	CU_ASSERT_STRING_EQUAL(spop_config(s, "FirewallPort"), "1080");
	set(s, "FirewallHost=127.0.0.1");
	set(s, "FirewallPort=%d", proxy_port);
	return s;
}

/* Login, the message count and message 1 byte for byte. */
static void login_and_retrieve(spop_t *s)
{
	GString *want = expected_message(HARNESS_MSG_SIMPLE, HARNESS_MAIN_USER);
	const char *data;
	size_t len;

	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s),
			harness_message_count(&dovecot, HARNESS_MAIN_USER));
	ASSERT_OK(spop_set_message_number(s, HARNESS_MSG_SIMPLE));
	ASSERT_OK(spop_retrieve(s));
	spop_get_message(s, &data, &len);
	CU_ASSERT_EQUAL(len, want->len);
	CU_ASSERT_EQUAL(memcmp(data, want->str, MIN(len, want->len)), 0);
	ASSERT_OK(spop_disconnect(s));
	g_string_free(want, TRUE);
}

/* Dante's log after before names a connection to the Dovecot port. */
static void assert_proxied(const char *before, int port)
{
	char *after = dante_log();
	char *needle = g_strdup_printf("127.0.0.1.%d", port);

	CU_ASSERT_FATAL(strlen(after) >= strlen(before));
	CU_ASSERT_PTR_NOT_NULL(strstr(after + strlen(before), needle));
	g_free(needle);
	g_free(after);
}

static void test_address(void)
{
	char *before = dante_log();
	spop_t *s = proxied_client("127.0.0.1", dante.port);

	login_and_retrieve(s);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str, "SOCKS5 proxy 127.0.0.1:"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "resolved by the proxy"));
	assert_proxied(before, dovecot.port);
	spop_free(s);
	g_free(before);
}

static void test_remote_name(void)
{
	char *before = dante_log();
	spop_t *s = proxied_client("*localhost", dante.port);

	login_and_retrieve(s);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str, "to localhost (resolved by the proxy)"));
	assert_proxied(before, dovecot.port);
	spop_free(s);
	g_free(before);
}

static void use_tls(spop_t *s, int mode)
{
	char *ca = harness_cert_file("ca.pem"), *text = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
	CU_ASSERT_TRUE_FATAL(g_file_get_contents(ca, &text, NULL, NULL));
	set(s, "SSLServerCACerts=%s", text);
	ASSERT_OK(spop_set_ssl_start_mode(s, mode));
	ASSERT_OK(spop_set_mail_port(
	    s, mode == SPOP_SSL_IMPLICIT ? dovecot.tls_port : dovecot.port));
	g_free(text);
	g_free(ca);
}

static void test_implicit_tls(void)
{
	char *before = dante_log();
	spop_t *s = proxied_client("localhost", dante.port);

	use_tls(s, SPOP_SSL_IMPLICIT);
	login_and_retrieve(s);
	assert_proxied(before, dovecot.tls_port);
	spop_free(s);
	g_free(before);
}

static void test_stls(void)
{
	char *before = dante_log();
	spop_t *s = proxied_client("*localhost", dante.port);

	use_tls(s, SPOP_SSL_EXPLICIT);
	login_and_retrieve(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: STLS"));
	assert_proxied(before, dovecot.port);
	spop_free(s);
	g_free(before);
}

static void test_proxy_down(void)
{
	int port = closed_port();
	char *where = g_strdup_printf("port %d", port);
	spop_t *s = proxied_client("127.0.0.1", port);

	/* the reference's refusal, naming the proxy, never a direct try */
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_CONNECTION_REFUSED);
	ERROR_HAS(s, "127.0.0.1");
	ERROR_HAS(s, where);
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "S: +OK"));
	spop_free(s);
	g_free(where);
}

static void test_target_refused(void)
{
	int port = closed_port();
	char *proxy = g_strdup_printf("SOCKS5 proxy 127.0.0.1:%d ", dante.port);
	char *target = g_strdup_printf("127.0.0.1 port %d", port);
	spop_t *s = proxied_client("127.0.0.1", dante.port);

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
	char *before = settled_dante_log();
	char *name = g_malloc(258);
	spop_t *s;

	name[0] = '*';
	memset(name + 1, 'a', 256);
	name[257] = '\0';
	s = proxied_client(name, dante.port);
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
	ERROR_HAS(s, "256 bytes long");
	ERROR_HAS(s, "at most 255");
	/* refused here: the proxy saw no connection at all (judged on a
	 * settled log, as the earlier cases' sessions end late in it) */
	char *after = settled_dante_log();
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
	s = proxied_client(name, dante.port);
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
	ERROR_HAS(s, "SOCKS5 proxy 127.0.0.1:");
	spop_free(s);
	g_free(name);
}

/* ---- username/password (RFC 1929) against a scripted SOCKS5 peer ----
 * Dante checks system users, which the tests do not create; this peer
 * plays one connection: it checks the greeting and the subnegotiation
 * byte for byte, answers with auth_status, and refuses the CONNECT with
 * reply 2 (not allowed by ruleset). */
struct socks_peer {
	int listen_fd, port;
	unsigned char auth_status;
	pthread_t thread;
	int ok; /* 1 when every byte was as expected */
};

static int read_n(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static void *socks_peer_run(void *arg)
{
	struct socks_peer *p = arg;
	static const unsigned char hello[] = {5, 2, 0, 2};
	static const unsigned char auth[] = "\x01\x05"
					    "alice"
					    "\x06"
					    "s3cr3t";
	unsigned char buf[64];
	int fd = accept(p->listen_fd, NULL, NULL);

	if (fd < 0)
		return NULL;
	if (read_n(fd, buf, sizeof(hello)) || memcmp(buf, hello, 4))
		goto out;
	if (write(fd, "\x05\x02", 2) != 2)
		goto out;
	if (read_n(fd, buf, sizeof(auth) - 1) ||
	    memcmp(buf, auth, sizeof(auth) - 1))
		goto out;
	unsigned char status[2] = {1, p->auth_status};
	if (write(fd, status, 2) != 2)
		goto out;
	if (p->auth_status != 0) {
		/* the client must hang up, sending nothing more */
		p->ok = read(fd, buf, 1) == 0;
		goto out;
	}
	/* CONNECT 127.0.0.1 port 110 */
	static const unsigned char req[] = {5, 1, 0, 1, 127, 0, 0, 1, 0, 110};
	if (read_n(fd, buf, sizeof(req)) || memcmp(buf, req, sizeof(req)))
		goto out;
	static const unsigned char refuse[] = {5, 2, 0, 1, 0, 0, 0, 0, 0, 0};
	p->ok = write(fd, refuse, sizeof(refuse)) == sizeof(refuse);
out:
	close(fd);
	return NULL;
}

static void socks_peer_start(struct socks_peer *p, unsigned char status)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);

	memset(p, 0, sizeof(*p));
	p->auth_status = status;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(p->listen_fd >= 0);
	CU_ASSERT_FATAL(bind(p->listen_fd, (struct sockaddr *)&a, sizeof(a)) ==
			0);
	CU_ASSERT_FATAL(listen(p->listen_fd, 1) == 0);
	CU_ASSERT_FATAL(
	    getsockname(p->listen_fd, (struct sockaddr *)&a, &len) == 0);
	p->port = ntohs(a.sin_port);
	CU_ASSERT_FATAL(pthread_create(&p->thread, NULL, socks_peer_run, p) ==
			0);
}

static int socks_peer_finish(struct socks_peer *p)
{
	pthread_join(p->thread, NULL);
	close(p->listen_fd);
	return p->ok;
}

static void userpass(unsigned char status, const char *error)
{
	struct socks_peer peer;
	char *proxy;
	spop_t *s;

	socks_peer_start(&peer, status);
	proxy = g_strdup_printf("SOCKS5 proxy 127.0.0.1:%d ", peer.port);
	s = proxied_client("127.0.0.1", peer.port);
	ASSERT_OK(spop_set_mail_port(s, 110));
	set(s, "FirewallUser=alice");
	set(s, "FirewallPassword=s3cr3t");
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
	ERROR_HAS(s, proxy);
	ERROR_HAS(s, error);
	CU_ASSERT_PTR_NULL(strstr(spop_last_error(s), "s3cr3t"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "s3cr3t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "as FirewallUser"));
	spop_free(s);
	CU_ASSERT_TRUE(socks_peer_finish(&peer));
	g_free(proxy);
}

static void test_userpass_accepted(void)
{
	/* past the subnegotiation: the CONNECT's refusal is what fails */
	userpass(0, "connection not allowed by ruleset (reply 2)");
}

static void test_userpass_refused(void)
{
	userpass(1, "refused FirewallUser 'alice' (status 1)");
}

/* FirewallAutoDetect: all_proxy names Dante; no Firewall* setting. */
static void test_auto_detect(void)
{
	char *before = dante_log();
	char *url = g_strdup_printf("socks5h://127.0.0.1:%d", dante.port);
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);

	g_setenv("all_proxy", url, TRUE);
	g_unsetenv("no_proxy");
	g_unsetenv("NO_PROXY");
	ASSERT_OK(spop_set_mail_server(s, "localhost"));
	set(s, "FirewallAutoDetect=True");
	login_and_retrieve(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str,
				      "FirewallAutoDetect: socks5h proxy "
				      "127.0.0.1:"));
	/* socks5h: the proxy resolved the name */
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str, "to localhost (resolved by the proxy)"));
	assert_proxied(before, dovecot.port);
	/* the application's settings are as it left them */
	CU_ASSERT_STRING_EQUAL(spop_config(s, "FirewallType"), "0");
	spop_free(s);
	g_free(before);

	/* no_proxy names the server: straight to Dovecot, Dante sees
	 * nothing */
	before = settled_dante_log();
	g_setenv("no_proxy", "example.org,localhost", TRUE);
	s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);
	ASSERT_OK(spop_set_mail_server(s, "localhost"));
	set(s, "FirewallAutoDetect=True");
	login_and_retrieve(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(
	    rec.trail->str, "matches 'localhost' in no_proxy: connecting "
			    "without the proxy"));
	char *after = settled_dante_log();
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
	char *before = settled_dante_log();
	spop_t *s = proxied_client("127.0.0.1", dante.port);

	set(s, "ProxyExceptionsList=mail.example;127.0.0.1");
	login_and_retrieve(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str,
				      "in ProxyExceptionsList: connecting "
				      "without the proxy"));
	char *after = settled_dante_log();
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
    {"SOCKS5 username/password accepted (scripted)", test_userpass_accepted},
    {"SOCKS5 username/password refused (scripted)", test_userpass_refused},
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
	if (harness_dovecot_start_tls(&dovecot, "proxy-socks", &tls))
		return 1;
	if (harness_dante_start(&dante, "proxy-socks")) {
		harness_dovecot_stop(&dovecot);
		return 1;
	}
	rc = test_run(suites);
	if (harness_dante_stop(&dante))
		rc = 1;
	harness_dovecot_stop(&dovecot);
	return rc;
}
