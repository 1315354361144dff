/* The HTTP CONNECT transport (FirewallType 1): through a private tinyproxy
 * in front of the private Dovecot (login, RETR, Basic auth right and
 * wrong, a target port the proxy refuses, TLS through the tunnel), and
 * against a scripted proxy for what real proxies do not do (the POP3
 * greeting in the same packet as the CONNECT reply, malformed replies);
 * and a proxy that is down (never a fallback to a direct connection).
 * FirewallData's header lines are checked byte for byte by the scripted
 * proxy; tinyproxy does not log the headers it receives, so against it
 * they are shown by what it does with one: a Proxy-Authorization header
 * sent only as FirewallData passes its BasicAuth (right credentials: the
 * session and the "Established connection" in its log; wrong ones: 401
 * instead of the 407 of a request without the header). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "harness-tinyproxy.h"
#include "scripted.h"

static struct recorder rec;
static struct scripted sc;

/* A client whose proxy is the scripted peer and whose mail server is
 * pop.example:110, reachable only through it. */
static spop_t *proxied_client(const struct step *script)
{
	spop_t *s = scripted_client(&sc, script, "bob", &rec);
	char v[64];

	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallType=1"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallHost=127.0.0.1"));
	snprintf(v, sizeof(v), "FirewallPort=%d", sc.port);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, v));
	spop_set_mail_server(s, "pop.example");
	spop_set_mail_port(s, 110);
	return s;
}

#define REQUEST                                                                \
	{STEP_EXPECT_LINE, "CONNECT pop.example:110 HTTP/1.1", 0, 0},          \
	{                                                                      \
		STEP_EXPECT_LINE, "Host: pop.example:110", 0, 0                \
	}

/* The greeting arrives with the 200 reply in one packet: it must reach
 * POP3, and the login proceeds through the tunnel. */
static void test_greeting_in_same_packet(void)
{
	static const struct step script[] = {
	    REQUEST,
	    {STEP_EXPECT_LINE, "", 0, 0},
	    {STEP_SEND,
	     "HTTP/1.1 200 Connection established\r\n"
	     "Proxy-Agent: scripted\r\n\r\n+OK greeting <1.2@scripted>\r\n",
	     0, 0},
	    {STEP_EXPECT, "CAPA", 0, 0},
	    {STEP_SEND, "-ERR unknown\r\n", 0, 0},
	    {STEP_EXPECT, "USER bob", 0, 0},
	    {STEP_SEND, "+OK\r\n", 0, 0},
	    {STEP_EXPECT, "PASS pw", 0, 0},
	    {STEP_SEND, "+OK\r\n", 0, 0},
	    {STEP_EXPECT, "STAT", 0, 0},
	    {STEP_SEND, "+OK 0 0\r\n", 0, 0},
	    {STEP_EXPECT, "QUIT", 0, 0},
	    {STEP_SEND, "+OK bye\r\n", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = proxied_client(script);

	CU_ASSERT_EQUAL(spop_connect(s), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "+OK greeting"));
	CU_ASSERT_EQUAL(spop_disconnect(s), 0);
	scripted_client_finish(s, &sc);
}

/* Basic credentials and FirewallData headers go in the request; a 407 is
 * 118 naming the proxy and its status line, and the password appears
 * neither in the trail nor in the error. */
static void test_basic_auth_407(void)
{
	static const struct step script[] = {
	    REQUEST,
	    /* base64("alice:s3cret") */
	    {STEP_EXPECT_LINE, "Proxy-Authorization: Basic YWxpY2U6czNjcmV0", 0,
	     0},
	    {STEP_EXPECT_LINE, "X-One: 1", 0, 0},
	    {STEP_EXPECT_LINE, "X-Two: two words", 0, 0},
	    {STEP_EXPECT_LINE, "", 0, 0},
	    {STEP_SEND,
	     "HTTP/1.1 407 Proxy Authentication Required\r\n"
	     "Proxy-Authenticate: Basic realm=\"x\"\r\n\r\n",
	     0, 0},
	    {STEP_EXPECT_EOF, NULL, 0, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = proxied_client(script);
	char where[64];

	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallUser=alice"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallPassword=s3cret"));
	CU_ASSERT_PTR_NOT_NULL(
	    spop_config(s, "FirewallData=X-One: 1\r\nX-Two: two words"));
	spop_config(s, "MaskSensitive=False");
	CU_ASSERT_EQUAL(spop_connect(s), 118);
	ERROR_HAS(s, "407 Proxy Authentication Required");
	ERROR_HAS(s, "other credentials");
	snprintf(where, sizeof(where), "127.0.0.1:%d", sc.port);
	ERROR_HAS(s, where);
	CU_ASSERT_PTR_NULL(strstr(spop_last_error(s), "s3cret"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "s3cret"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "YWxpY2U6czNjcmV0"));
	CU_ASSERT_FALSE(spop_get_connected(s));
	scripted_client_finish(s, &sc);
}

static void test_malformed_status(void)
{
	static const struct step script[] = {
	    REQUEST,
	    {STEP_EXPECT_LINE, "", 0, 0},
	    {STEP_SEND, "HTTP/1.1 2OO OK\r\n\r\n+OK greeting\r\n", 0, 0},
	    {STEP_EXPECT_EOF, NULL, 0, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = proxied_client(script);

	CU_ASSERT_EQUAL(spop_connect(s), 118);
	ERROR_HAS(s, "malformed status line");
	ERROR_HAS(s, "HTTP/1.1 2OO OK");
	scripted_client_finish(s, &sc);
}

static void test_refused_target(void)
{
	static const struct step script[] = {
	    REQUEST,
	    {STEP_EXPECT_LINE, "", 0, 0},
	    {STEP_SEND, "HTTP/1.0 403 Forbidden\x01\r\n\r\n", 0, 0},
	    {STEP_EXPECT_EOF, NULL, 0, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = proxied_client(script);

	CU_ASSERT_EQUAL(spop_connect(s), 118);
	ERROR_HAS(s, "HTTP/1.0 403 Forbidden\\x01");
	ERROR_HAS(s, "pop.example port 110");
	scripted_client_finish(s, &sc);
}

/* A listener of ours on 127.0.0.1; *port gets its port. */
static int listener(int *port)
{
	int fd = loopback_listener(port);

	/* polled for untouchedness, never blocked on */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* No connection reached the listener. */
static void assert_untouched(int fd)
{
	CU_ASSERT_EQUAL(accept(fd, NULL, NULL), -1);
	CU_ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
}

/* A line of FirewallData that is not "Name: value" (here a second request
 * after a blank line) is refused before any connection is made; blank
 * lines never reach the request, so they cannot end it early. */
static void test_firewall_data_injection(void)
{
	int port, fd = listener(&port);
	spop_t *s = client_new("bob", "pw", &rec);
	char v[64];

	spop_set_mail_server(s, "pop.example");
	spop_set_mail_port(s, 110);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallType=1"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallHost=127.0.0.1"));
	snprintf(v, sizeof(v), "FirewallPort=%d", port);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, v));
	CU_ASSERT_PTR_NOT_NULL(
	    spop_config(s, "FirewallData=X-A: 1\r\n\r\nGET / HTTP/1.1"));
	CU_ASSERT_EQUAL(spop_connect(s), 10022);
	ERROR_HAS(s, "FirewallData line 'GET / HTTP/1.1'");
	assert_untouched(fd);
	spop_free(s);
	close(fd);
}

/* The proxy is down: 10061 naming it, and the mail server (a listener of
 * ours) never sees a connection. */
static void test_proxy_down(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t l = sizeof(a);
	int mail_port, mail = listener(&mail_port);
	int dead = socket(AF_INET, SOCK_STREAM, 0);
	char v[64];

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* A port bound but not listening refuses connections. */
	a.sin_port = 0;
	CU_ASSERT_EQUAL_FATAL(bind(dead, (struct sockaddr *)&a, sizeof(a)), 0);
	l = sizeof(a);
	getsockname(dead, (struct sockaddr *)&a, &l);
	int dead_port = ntohs(a.sin_port);

	spop_t *s = client_new("bob", "pw", &rec);
	spop_set_mail_server(s, "127.0.0.1");
	spop_set_mail_port(s, mail_port);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallType=1"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallHost=127.0.0.1"));
	snprintf(v, sizeof(v), "FirewallPort=%d", dead_port);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, v));
	CU_ASSERT_EQUAL(spop_connect(s), 10061);
	snprintf(v, sizeof(v), "port %d", dead_port);
	ERROR_HAS(s, v);
	ERROR_HAS(s, "127.0.0.1");
	assert_untouched(mail);
	spop_free(s);
	close(mail);
	close(dead);
}

/* ---- against a real proxy: tinyproxy in front of the private Dovecot --- */

static struct harness_tinyproxy proxy;

/* A client for the harness Dovecot through a tinyproxy allowing CONNECT to
 * the Dovecot port only; auth "USER PASS" or NULL. */
static spop_t *tinyproxy_client(const char *auth)
{
	char v[64];

	CU_ASSERT_EQUAL_FATAL(
	    harness_tinyproxy_start(&proxy, auth, &dovecot.port, 1), 0);
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallType=1"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallHost=127.0.0.1"));
	snprintf(v, sizeof(v), "FirewallPort=%d", proxy.port);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, v));
	return s;
}

static void retrieve_first(spop_t *s)
{
	GString *want = expected_message(1, HARNESS_MAIN_USER);
	const char *data;
	size_t len;

	rec.body = g_string_new(NULL);
	ASSERT_OK(spop_set_message_number(s, 1));
	ASSERT_OK(spop_retrieve(s));
	spop_get_message(s, &data, &len);
	CU_ASSERT_EQUAL(len, want->len);
	CU_ASSERT_EQUAL(
	    memcmp(data, want->str, len < want->len ? len : want->len), 0);
	g_string_free(want, TRUE);
}

static void test_tinyproxy_retrieve(void)
{
	spop_t *s = tinyproxy_client(NULL);

	ASSERT_OK(spop_connect(s));
	retrieve_first(s);
	ASSERT_OK(spop_disconnect(s));
	/* The proxy saw the CONNECT to Dovecot (its log names the target). */
	char *log = harness_tinyproxy_log(&proxy);
	char want[64];
	snprintf(want, sizeof(want), "CONNECT 127.0.0.1:%d HTTP/1.1",
		 dovecot.port);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
	g_free(log);
	spop_free(s);
	harness_tinyproxy_stop(&proxy);
}

static void test_tinyproxy_basic_auth_right(void)
{
	spop_t *s = tinyproxy_client("proxyuser proxy-secret");

	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallUser=proxyuser"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallPassword=proxy-secret"));
	ASSERT_OK(spop_connect(s));
	retrieve_first(s);
	ASSERT_OK(spop_disconnect(s));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "proxy-secret"));
	spop_free(s);
	harness_tinyproxy_stop(&proxy);
}

static void test_tinyproxy_basic_auth_wrong(void)
{
	spop_t *s = tinyproxy_client("proxyuser proxy-secret");
	char where[64];

	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallUser=proxyuser"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallPassword=wrong-secret"));
	CU_ASSERT_EQUAL(spop_connect(s), 118);
	/* tinyproxy 1.11 answers wrong credentials with 401, none with 407. */
	ERROR_HAS(s, "401 Unauthorized");
	ERROR_HAS(s, "other credentials");
	snprintf(where, sizeof(where), "127.0.0.1:%d", proxy.port);
	ERROR_HAS(s, where);
	CU_ASSERT_PTR_NULL(strstr(spop_last_error(s), "wrong-secret"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "wrong-secret"));
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_free(s);
	/* No credentials at all: 407 too, asking for them. */
	s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);
	snprintf(where, sizeof(where), "FirewallPort=%d", proxy.port);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallType=1"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallHost=127.0.0.1"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, where));
	CU_ASSERT_EQUAL(spop_connect(s), 118);
	ERROR_HAS(s, "wants FirewallUser/FirewallPassword credentials");
	ERROR_HAS(s, "407 Proxy Authentication Required");
	spop_free(s);
	harness_tinyproxy_stop(&proxy);
}

/* FirewallData as tinyproxy reads it: against the BasicAuth proxy, a
 * "Proxy-Authorization" header that only FirewallData carries (no
 * FirewallUser/FirewallPassword) is what tinyproxy checks. The right
 * credentials in it get through (login and RETR; tinyproxy logs the
 * connection it opened); wrong ones are its 401 (credentials seen and
 * refused) rather than the 407 it gives a request without the header,
 * which the same client without FirewallData gets. */
static void firewall_data_auth(const char *pair, int want_rc,
			       const char *want_status)
{
	char *b64 = g_base64_encode((const guchar *)pair, strlen(pair));
	char *data =
	    g_strdup_printf("FirewallData=Proxy-Authorization: Basic %s", b64);
	spop_t *s = tinyproxy_client("proxyuser proxy-secret");
	char *log, want[96];

	CU_ASSERT_PTR_NOT_NULL(spop_config(s, data));
	CU_ASSERT_EQUAL(spop_connect(s), want_rc);
	if (!want_rc) {
		retrieve_first(s);
		ASSERT_OK(spop_disconnect(s));
	} else {
		ERROR_HAS(s, want_status);
		CU_ASSERT_FALSE(spop_get_connected(s));
	}
	/* credentials in FirewallData are masked in the trail like
	 * FirewallUser/FirewallPassword's */
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, b64));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str, "C: Proxy-Authorization: Basic ****"));
	/* tinyproxy's log: the request always, the connection to Dovecot
	 * only when the header's credentials were right. */
	log = harness_tinyproxy_log(&proxy);
	snprintf(want, sizeof(want), "CONNECT 127.0.0.1:%d HTTP/1.1",
		 dovecot.port);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, want));
	if (want_rc) {
		CU_ASSERT_PTR_NULL(strstr(log, "Established connection"));
	} else {
		CU_ASSERT_PTR_NOT_NULL(strstr(
		    log, "Established connection to host \"127.0.0.1\""));
	}
	g_free(log);
	spop_free(s);
	harness_tinyproxy_stop(&proxy);
	g_free(data);
	g_free(b64);
}

static void test_tinyproxy_firewall_data_auth_right(void)
{
	firewall_data_auth("proxyuser:proxy-secret", 0, NULL);
}

static void test_tinyproxy_firewall_data_auth_wrong(void)
{
	firewall_data_auth("proxyuser:wrong-secret", 118, "401 Unauthorized");
}

/* The same proxy and client without FirewallData: 407, the proxy asks for
 * credentials, so the header above is what let the session through. */
static void test_tinyproxy_without_firewall_data(void)
{
	spop_t *s = tinyproxy_client("proxyuser proxy-secret");
	char where[64];

	CU_ASSERT_EQUAL(spop_connect(s), 118);
	ERROR_HAS(s, "407 Proxy Authentication Required");
	snprintf(where, sizeof(where), "127.0.0.1:%d", proxy.port);
	ERROR_HAS(s, where);
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_free(s);
	harness_tinyproxy_stop(&proxy);
}

/* tinyproxy's ConnectPort allows only Dovecot's port: another target is
 * refused by the proxy (403), which is 118 with its status line. */
static void test_tinyproxy_port_not_allowed(void)
{
	spop_t *s = tinyproxy_client(NULL);

	spop_set_mail_port(s, dovecot.port == 1 ? 2 : 1);
	CU_ASSERT_EQUAL(spop_connect(s), 118);
	ERROR_HAS(s, "403 Access violation");
	ERROR_HAS(s, "refused CONNECT to 127.0.0.1 port");
	spop_free(s);
	harness_tinyproxy_stop(&proxy);
}

/* TLS through the tunnel: a TLS Dovecot behind tinyproxy, implicit TLS on
 * its pop3s port and STLS on its POP3 port; the CA is the harness's. */
static void tls_through_proxy(enum spop_ssl_start_mode mode)
{
	static const struct harness_tls tls = {"good", 0, NULL, NULL};
	struct harness_dovecot main_server = dovecot, tls_server;
	char *ca = harness_cert_file("ca.pem"), *text = NULL, *setting, v[64];

	CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
	CU_ASSERT_EQUAL_FATAL(
	    harness_dovecot_start_tls(&tls_server, "proxy-http-tls", &tls), 0);
	int ports[2] = {tls_server.port, tls_server.tls_port};
	CU_ASSERT_EQUAL_FATAL(harness_tinyproxy_start(&proxy, NULL, ports, 2),
			      0);
	dovecot = tls_server;
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);
	dovecot = main_server;
	CU_ASSERT_TRUE_FATAL(g_file_get_contents(ca, &text, NULL, NULL));
	setting = g_strconcat("SSLServerCACerts=", text, NULL);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, setting));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallType=1"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "FirewallHost=127.0.0.1"));
	snprintf(v, sizeof(v), "FirewallPort=%d", proxy.port);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, v));
	ASSERT_OK(spop_set_mail_port(s, mode == SPOP_SSL_IMPLICIT
					    ? tls_server.tls_port
					    : tls_server.port));
	ASSERT_OK(spop_set_ssl_start_mode(s, mode));
	CU_ASSERT_EQUAL(spop_connect(s), 0);
	if (mode == SPOP_SSL_EXPLICIT)
		CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "STLS"));
	if (spop_get_connected(s)) {
		retrieve_first(s);
		ASSERT_OK(spop_disconnect(s));
	}
	snprintf(v, sizeof(v), "CONNECT 127.0.0.1:%d HTTP/1.1",
		 mode == SPOP_SSL_IMPLICIT ? tls_server.tls_port
					   : tls_server.port);
	char *log = harness_tinyproxy_log(&proxy);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, v));
	g_free(log);
	spop_free(s);
	g_free(setting);
	g_free(text);
	g_free(ca);
	harness_tinyproxy_stop(&proxy);
	harness_dovecot_stop(&tls_server);
}

static void test_tinyproxy_implicit_tls(void)
{
	tls_through_proxy(SPOP_SSL_IMPLICIT);
}

static void test_tinyproxy_stls(void)
{
	tls_through_proxy(SPOP_SSL_EXPLICIT);
}

static const struct test_case cases[] = {
    {"greeting in the CONNECT reply's packet", test_greeting_in_same_packet},
    {"Basic auth and FirewallData, 407 is 118", test_basic_auth_407},
    {"malformed status line is 118", test_malformed_status},
    {"non-2xx reply is 118 with the status line", test_refused_target},
    {"FirewallData cannot inject", test_firewall_data_injection},
    {"proxy down: 10061, no direct connection", test_proxy_down},
    {"tinyproxy: login and RETR", test_tinyproxy_retrieve},
    {"tinyproxy: Basic auth, right credentials",
     test_tinyproxy_basic_auth_right},
    {"tinyproxy: Basic auth, wrong (401) or no credentials (407)",
     test_tinyproxy_basic_auth_wrong},
    {"tinyproxy: FirewallData's Proxy-Authorization, right credentials",
     test_tinyproxy_firewall_data_auth_right},
    {"tinyproxy: FirewallData's Proxy-Authorization, wrong (401)",
     test_tinyproxy_firewall_data_auth_wrong},
    {"tinyproxy: the same without FirewallData (407)",
     test_tinyproxy_without_firewall_data},
    {"tinyproxy: target port not allowed (403)",
     test_tinyproxy_port_not_allowed},
    {"tinyproxy: implicit TLS through the tunnel", test_tinyproxy_implicit_tls},
    {"tinyproxy: STLS through the tunnel", test_tinyproxy_stls},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"proxy-http", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return integration_main("proxy-http", suites);
}
