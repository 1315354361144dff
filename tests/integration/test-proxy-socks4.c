/* SOCKS4 (FirewallType 2) and SOCKS4A (10) against real proxies in front
 * of a private Dovecot (POP3 with STLS, and pop3s): login and RETR byte for
 * byte, implicit TLS and STLS through the proxy.
 *
 * Two real proxies, since neither does everything:
 * - OpenSSH's ssh -D through a private Dropbear (ssh-socks-harness.sh), the
 *   real SOCKS4A peer: "*localhost" goes to it as a name and it resolves
 *   it (its log shows the request); a name it cannot resolve
 *   ("*nonexistent.invalid") is 118, and since ssh -D answers only once the
 *   SSH server has connected, it closes without a reply (no reply 91); a
 *   255-byte name arrives whole; SOCKS4 to an address; FirewallAutoDetect
 *   with all_proxy=socks4a://.
 * - Dante 1.4.2 (dante-harness.sh), which has no SOCKS4A: it reads the
 *   name after the user id as early data and refuses DSTIP 0.0.0.1 with
 *   reply 91, kept as the one real proxy that answers a SOCKS4A request
 *   with a refusal. Against it: SOCKS4 and SOCKS4A to addresses, SOCKS4
 *   resolving "*localhost" here (the trail says so), the proxy down (10061
 *   naming it), the mail server's port refused behind it (118, reply 91 in
 *   words), FirewallUser sent as the user id, FirewallAutoDetect with
 *   all_proxy=socks4://, what is refused before anything is sent.
 * A scripted SOCKS4 peer checks the request bytes (USERID, SOCKS4A's name)
 * and plays what no real proxy here does: a wrong reply version, a short
 * reply, replies 92 and 93, an unknown reply. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "harness-dante.h"
#include "harness-ssh-socks.h"

static struct recorder rec;
static struct harness_dante dante;
static struct harness_ssh_socks ssh_proxy;

/* The two types under test, with the label their messages carry. */
struct kind {
	int type;
	const char *label;
};
static const struct kind socks4 = {2, "SOCKS4"}, socks4a = {10, "SOCKS4A"};

static bool trail_has(const char *text)
{
	bool found = strstr(rec.trail->str, text) != NULL;

	if (!found)
		fprintf(stderr, "\n  trail lacks '%s':\n%s\n", text,
			rec.trail->str);
	return found;
}

/* Dante's log after before (settled) names a connection to port; the
 * new part of the log is returned for more checks. */
static char *assert_proxied(const char *before, int port)
{
	char *after = harness_dante_settled_log(&dante);
	char *needle = g_strdup_printf("127.0.0.1.%d", port);
	char *added;

	CU_ASSERT_FATAL(strlen(after) >= strlen(before));
	added = g_strdup(after + strlen(before));
	if (!strstr(added, needle))
		fprintf(stderr, "\n  Dante's log lacks %s:\n%s\n", needle,
			added);
	CU_ASSERT_PTR_NOT_NULL(strstr(added, needle));
	g_free(needle);
	g_free(after);
	return added;
}

static void address(const struct kind *k)
{
	char *before = harness_dante_settled_log(&dante);
	char *line = g_strdup_printf("%s proxy 127.0.0.1:%d, to 127.0.0.1:%d",
				     k->label, dante.port, dovecot.port);
	spop_t *s = proxy_client(k->type, "127.0.0.1", dante.port, &rec);

	login_and_retrieve(s);
	CU_ASSERT_TRUE(trail_has(line));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "resolved by the proxy"));
	g_free(assert_proxied(before, dovecot.port));
	spop_free(s);
	g_free(line);
	g_free(before);
}

static void test_socks4_address(void)
{
	address(&socks4);
}

static void test_socks4a_address(void)
{
	address(&socks4a);
}

/* Dante 1.4.2 has no SOCKS4A: it reads the user id, takes the name after
 * it for early data and refuses DSTIP 0.0.0.1 as a destination. So a real
 * proxy's answer to the SOCKS4A form is a clean 118 with reply 91, and
 * its log shows it blocked the request (no rule lets 0.0.0.1 through);
 * the name itself is checked byte for byte by the scripted peer below. */
static void test_socks4a_name_dante_refuses(void)
{
	char *before = harness_dante_settled_log(&dante);
	char *proxy =
	    g_strdup_printf("SOCKS4A proxy 127.0.0.1:%d ", dante.port);
	char *target = g_strdup_printf("localhost port %d", dovecot.port);
	spop_t *s = proxy_client(socks4a.type, "*localhost", dante.port, &rec);
	char *after;

	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
	ERROR_HAS(s, proxy);
	ERROR_HAS(s, target);
	ERROR_HAS(s, "request rejected or failed (reply 91)");
	CU_ASSERT_TRUE(trail_has("to localhost (resolved by the proxy)"));
	CU_ASSERT_FALSE(spop_get_connected(s));
	after = harness_dante_settled_log(&dante);
	CU_ASSERT_FATAL(strlen(after) >= strlen(before));
	CU_ASSERT_PTR_NOT_NULL(strstr(after + strlen(before),
				      "blocked by higher-level socks-rule"));
	spop_free(s);
	g_free(after);
	g_free(target);
	g_free(proxy);
	g_free(before);
}

static void test_socks4_star_name_resolved_here(void)
{
	char *before = harness_dante_settled_log(&dante);
	spop_t *s = proxy_client(socks4.type, "*localhost", dante.port, &rec);

	login_and_retrieve(s);
	CU_ASSERT_TRUE(
	    trail_has("SOCKS4 cannot pass a name to the proxy: MailServer "
		      "*localhost resolved here to 127.0.0.1."));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "resolved by the proxy"));
	g_free(assert_proxied(before, dovecot.port));
	spop_free(s);
	g_free(before);
}

/* TLS through the proxy; the certificate is checked against "localhost"
 * whether the name went to the proxy or was resolved here. */
static void tls(const struct kind *k, const char *server, int mode)
{
	char *before = harness_dante_settled_log(&dante);
	spop_t *s = proxy_client(k->type, server, dante.port, &rec);

	use_dovecot_tls(s, mode);
	login_and_retrieve(s);
	if (mode == SPOP_SSL_EXPLICIT)
		CU_ASSERT_TRUE(trail_has("C: STLS"));
	g_free(assert_proxied(before, mode == SPOP_SSL_IMPLICIT
					  ? dovecot.tls_port
					  : dovecot.port));
	spop_free(s);
	g_free(before);
}

static void test_socks4_implicit_tls(void)
{
	tls(&socks4, "localhost", SPOP_SSL_IMPLICIT);
}

static void test_socks4_stls(void)
{
	tls(&socks4, "localhost", SPOP_SSL_EXPLICIT);
}

/* "localhost" without '*': resolved here (Dante has no SOCKS4A names) */
static void test_socks4a_implicit_tls(void)
{
	tls(&socks4a, "localhost", SPOP_SSL_IMPLICIT);
}

static void test_socks4a_stls(void)
{
	tls(&socks4a, "localhost", SPOP_SSL_EXPLICIT);
}

/* ---- ssh -D, the real SOCKS4A proxy ---- */

/* Whether ssh's log, from offset on, shows each of the NULL-ended texts
 * within 5 s (it writes a request's lines as it handles it; they are
 * normally there before the client is answered). Prints the log when not. */
static bool ssh_log_has(long long offset, ...)
{
	bool found = false;
	char *log = NULL;

	for (int i = 0; i < 50 && !found; i++) {
		const char *want;
		va_list ap;

		if (i)
			g_usleep(100 * 1000);
		g_free(log);
		log = harness_ssh_socks_log(&ssh_proxy, offset);
		found = true;
		va_start(ap, offset);
		while (found && (want = va_arg(ap, const char *)))
			found = strstr(log, want) != NULL;
		va_end(ap);
	}
	if (!found) {
		const char *want;
		va_list ap;

		va_start(ap, offset);
		while ((want = va_arg(ap, const char *)))
			if (!strstr(log, want))
				fprintf(stderr, "\n  ssh's log lacks '%s'",
					want);
		va_end(ap);
		fprintf(stderr, ":\n%s\n", log);
	}
	g_free(log);
	return found;
}

/* ssh's DEBUG2 line for a request to host port */
static char *ssh_request_line(const char *host, int port)
{
	return g_strdup_printf("dynamic request: socks4 host %s port %d "
			       "command 1",
			       host, port);
}

/* "*localhost" through ssh -D: the name goes to the proxy, which
 * resolves it; mode: 0 plain, or the TLS mode. */
static void ssh_socks4a_name(int mode)
{
	long long offset = harness_ssh_socks_log_size(&ssh_proxy);
	spop_t *s =
	    proxy_client(socks4a.type, "*localhost", ssh_proxy.port, &rec);
	int port = mode == SPOP_SSL_IMPLICIT ? dovecot.tls_port : dovecot.port;
	char *line = g_strdup_printf("SOCKS4A proxy 127.0.0.1:%d, to localhost "
				     "(resolved by the proxy):%d",
				     ssh_proxy.port, port);
	char *request = ssh_request_line("localhost", port);

	if (mode)
		use_dovecot_tls(s, mode);
	login_and_retrieve(s);
	if (mode == SPOP_SSL_EXPLICIT)
		CU_ASSERT_TRUE(trail_has("C: STLS"));
	CU_ASSERT_TRUE(trail_has(line));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "resolved here"));
	/* ssh read the SOCKS4A form and the name itself */
	CU_ASSERT_TRUE(ssh_log_has(offset, "socks4a request",
				   "decode socks4a: host localhost/9", request,
				   NULL));
	spop_free(s);
	g_free(request);
	g_free(line);
}

static void test_ssh_socks4a_name(void)
{
	ssh_socks4a_name(0);
}

static void test_ssh_socks4a_name_stls(void)
{
	ssh_socks4a_name(SPOP_SSL_EXPLICIT);
}

static void test_ssh_socks4a_name_implicit_tls(void)
{
	ssh_socks4a_name(SPOP_SSL_IMPLICIT);
}

/* A name the proxy cannot resolve: the SSH server's connect fails and
 * ssh -D closes the SOCKS connection without a reply (it sends none but
 * 90), so the error is the proxy's hang-up, 118, naming the proxy; ssh's
 * log has the server's reason. */
static void test_ssh_socks4a_unresolvable(void)
{
	long long offset = harness_ssh_socks_log_size(&ssh_proxy);
	spop_t *s = proxy_client(socks4a.type, "*nonexistent.invalid",
				 ssh_proxy.port, &rec);
	char *proxy =
	    g_strdup_printf("SOCKS4A proxy 127.0.0.1:%d ", ssh_proxy.port);
	char *request = ssh_request_line("nonexistent.invalid", dovecot.port);

	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
	ERROR_HAS(s, proxy);
	/* ssh -D hangs up without a reply: the error names the target */
	ERROR_HAS(s, "closed the connection before its CONNECT reply (for "
		     "nonexistent.invalid port ");
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_TRUE(
	    trail_has("to nonexistent.invalid (resolved by the proxy)"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "S: +OK"));
	CU_ASSERT_TRUE(ssh_log_has(offset, request,
				   "open failed: connect failed: Error "
				   "resolving 'nonexistent.invalid'",
				   NULL));
	spop_free(s);
	g_free(request);
	g_free(proxy);
}

/* The longest name SOCKS4A carries here, 255 bytes, reaches the proxy
 * whole (ssh logs its length); no such host, so the proxy hangs up. */
static void test_ssh_socks4a_longest_name(void)
{
	long long offset = harness_ssh_socks_log_size(&ssh_proxy);
	char *name = g_malloc(257), *logged;
	spop_t *s;

	name[0] = '*';
	memset(name + 1, 'a', 255);
	name[256] = '\0';
	logged = g_strdup_printf("decode socks4a: host %s/255", name + 1);
	s = proxy_client(socks4a.type, name, ssh_proxy.port, &rec);
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
	ERROR_HAS(s, "SOCKS4A proxy 127.0.0.1:");
	ERROR_HAS(s, "closed the connection before its CONNECT reply");
	CU_ASSERT_TRUE(ssh_log_has(offset, logged, "open failed", NULL));
	spop_free(s);
	g_free(logged);
	g_free(name);
}

/* SOCKS4 proper to an address through ssh -D: no SOCKS4A form. */
static void test_ssh_socks4_address(void)
{
	long long offset = harness_ssh_socks_log_size(&ssh_proxy);
	spop_t *s =
	    proxy_client(socks4.type, "127.0.0.1", ssh_proxy.port, &rec);
	char *line = g_strdup_printf("SOCKS4 proxy 127.0.0.1:%d, to "
				     "127.0.0.1:%d",
				     ssh_proxy.port, dovecot.port);
	char *request = ssh_request_line("127.0.0.1", dovecot.port);
	char *log;

	login_and_retrieve(s);
	CU_ASSERT_TRUE(trail_has(line));
	CU_ASSERT_TRUE(ssh_log_has(offset, "decode socks4", request, NULL));
	log = harness_ssh_socks_log(&ssh_proxy, offset);
	CU_ASSERT_PTR_NULL(strstr(log, "socks4a"));
	spop_free(s);
	g_free(log);
	g_free(request);
	g_free(line);
}

static void proxy_down(const struct kind *k)
{
	int port = harness_closed_port();
	char *where = g_strdup_printf("port %d", port);
	spop_t *s = proxy_client(k->type, "127.0.0.1", port, &rec);

	/* the reference's refusal, naming the proxy, never a direct try */
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_CONNECTION_REFUSED);
	ERROR_HAS(s, "127.0.0.1");
	ERROR_HAS(s, where);
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "S: +OK"));
	spop_free(s);
	g_free(where);
}

static void test_socks4_proxy_down(void)
{
	proxy_down(&socks4);
}

static void test_socks4a_proxy_down(void)
{
	proxy_down(&socks4a);
}

static void target_refused(const struct kind *k, const char *server)
{
	int port = harness_closed_port();
	char *proxy =
	    g_strdup_printf("%s proxy 127.0.0.1:%d ", k->label, dante.port);
	char *target = g_strdup_printf(
	    "%s port %d", *server == '*' ? server + 1 : server, port);
	spop_t *s = proxy_client(k->type, server, dante.port, &rec);

	ASSERT_OK(spop_set_mail_port(s, port));
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
	ERROR_HAS(s, proxy);
	ERROR_HAS(s, target);
	/* SOCKS4's reply 91, in words */
	ERROR_HAS(s, "request rejected or failed (reply 91)");
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_free(s);
	g_free(proxy);
	g_free(target);
}

static void test_socks4_target_refused(void)
{
	target_refused(&socks4, "127.0.0.1");
}

static void test_socks4a_target_refused(void)
{
	target_refused(&socks4a, "127.0.0.1");
}

/* Dante takes FirewallUser as the user id (it logs it only at debug
 * level: the bytes are checked by the scripted peer); FirewallPassword
 * has no place in SOCKS4 and the trail says it is not used. */
static void user_id(const struct kind *k)
{
	char *before = harness_dante_settled_log(&dante);
	spop_t *s = proxy_client(k->type, "127.0.0.1", dante.port, &rec);

	config_set(s, "FirewallUser=spopuser4");
	config_set(s, "FirewallPassword=notsent");
	login_and_retrieve(s);
	CU_ASSERT_TRUE(trail_has(", FirewallUser as the user id"));
	CU_ASSERT_TRUE(trail_has("FirewallPassword is not used"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "notsent"));
	g_free(assert_proxied(before, dovecot.port));
	spop_free(s);
	g_free(before);
}

static void test_socks4_user_id(void)
{
	user_id(&socks4);
}

static void test_socks4a_user_id(void)
{
	user_id(&socks4a);
}

/* Refused here: a SOCKS4A name or a user id over 255 bytes, an IPv6
 * literal or a name with only IPv6 addresses for SOCKS4; Dante sees no
 * connection at all. */
static void test_refused_locally(void)
{
	char *before = harness_dante_settled_log(&dante);
	char *name = g_malloc(258), *user = g_malloc(257);
	spop_t *s;

	name[0] = '*';
	memset(name + 1, 'a', 256);
	name[257] = '\0';
	s = proxy_client(socks4a.type, name, dante.port, &rec);
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
	ERROR_HAS(s, "MailServer is 256 bytes long; SOCKS4A carries at most "
		     "255");
	spop_free(s);

	memset(user, 'u', 256);
	user[256] = '\0';
	s = proxy_client(socks4.type, "127.0.0.1", dante.port, &rec);
	config_set(s, "FirewallUser=%s", user);
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
	ERROR_HAS(s, "FirewallUser is 256 bytes long; SOCKS4 carries a user "
		     "id of at most 255");
	spop_free(s);

	s = proxy_client(socks4.type, "::1", dante.port, &rec);
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
	ERROR_HAS(s, "MailServer ::1 is an IPv6 address; SOCKS4 proxy "
		     "127.0.0.1:");
	ERROR_HAS(s, "IPv4 addresses only");
	spop_free(s);

	/* UseIPv6=1 (IPv6 only): localhost resolves to ::1 alone */
	s = proxy_client(socks4.type, "localhost", dante.port, &rec);
	config_set(s, "UseIPv6=1");
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_HOST_NOT_FOUND);
	ERROR_HAS(s, "localhost has no IPv4 address, and SOCKS4 proxy "
		     "127.0.0.1:");
	spop_free(s);

	/* judged on a settled log: the earlier cases' sessions end late */
	char *after = harness_dante_settled_log(&dante);
	CU_ASSERT_STRING_EQUAL(after, before);
	g_free(after);
	g_free(user);
	g_free(name);
	g_free(before);
	/* 255 bytes is carried: test_ssh_socks4a_longest_name */
}

/* ---- a scripted SOCKS4 peer ----
 * It plays one connection: reads the request, compares it byte for byte
 * with the expected one and answers with reply: a short one is followed
 * by EOF; after a whole one, the client must hang up sending nothing
 * more. */
struct socks4_peer {
	int listen_fd, port;
	const unsigned char *request;
	size_t request_len;
	const unsigned char *reply;
	size_t reply_len;
	pthread_t thread;
	int ok; /* 1 when every byte was as expected */
	unsigned char got[600];
	size_t got_len;
};

static void *socks4_peer_run(void *arg)
{
	struct socks4_peer *p = arg;
	int fd = accept(p->listen_fd, NULL, NULL);
	unsigned char extra;

	if (fd < 0)
		return NULL;
	/* read what the client sends until it waits for the reply: as
	 * much as expected, plus a check that nothing more came */
	while (p->got_len < p->request_len) {
		ssize_t n =
		    read(fd, p->got + p->got_len, sizeof(p->got) - p->got_len);
		if (n <= 0)
			goto out;
		p->got_len += (size_t)n;
	}
	if (p->got_len != p->request_len ||
	    memcmp(p->got, p->request, p->request_len))
		goto out;
	if (write(fd, p->reply, p->reply_len) != (ssize_t)p->reply_len)
		goto out;
	/* a short reply ends in EOF; after a whole one the client gives
	 * up and must close without another byte */
	p->ok = p->reply_len < 8 || read(fd, &extra, 1) == 0;
out:
	close(fd);
	return NULL;
}

static void socks4_peer_start(struct socks4_peer *p,
			      const unsigned char *request, size_t request_len,
			      const unsigned char *reply, size_t reply_len)
{
	memset(p, 0, sizeof(*p));
	p->request = request;
	p->request_len = request_len;
	p->reply = reply;
	p->reply_len = reply_len;
	p->listen_fd = loopback_listener(&p->port);
	CU_ASSERT_FATAL(pthread_create(&p->thread, NULL, socks4_peer_run, p) ==
			0);
}

static int socks4_peer_finish(struct socks4_peer *p)
{
	pthread_join(p->thread, NULL);
	close(p->listen_fd);
	if (!p->ok) {
		fprintf(stderr,
			"\n  the SOCKS4 peer got %zu bytes:", p->got_len);
		for (size_t i = 0; i < p->got_len; i++)
			fprintf(stderr, " %02x", p->got[i]);
		fprintf(stderr, "\n");
	}
	return p->ok;
}

/* SOCKS4 CONNECT 127.0.0.1 port 110, user id "alice". */
static const unsigned char req_alice[] = {4, 1,	  0,   110, 127, 0,   0,
					  1, 'a', 'l', 'i', 'c', 'e', 0};

/* One connect through the scripted peer: type k to server port 110 with
 * FirewallUser user; the peer expects request and answers reply; the
 * error is 118 naming the peer and each of the NULL-ended texts. */
static void scripted(const struct kind *k, const char *server, const char *user,
		     const unsigned char *request, size_t request_len,
		     const unsigned char *reply, size_t reply_len, ...)
{
	struct socks4_peer peer;
	char *proxy;
	const char *want;
	va_list ap;
	spop_t *s;

	socks4_peer_start(&peer, request, request_len, reply, reply_len);
	proxy = g_strdup_printf("%s proxy 127.0.0.1:%d ", k->label, peer.port);
	s = proxy_client(k->type, server, peer.port, &rec);
	ASSERT_OK(spop_set_mail_port(s, 110));
	config_set(s, "FirewallUser=%s", user);
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
	ERROR_HAS(s, proxy);
	va_start(ap, reply_len);
	while ((want = va_arg(ap, const char *))) {
		if (!strstr(spop_last_error(s), want))
			fprintf(stderr, "\n  error lacks '%s': %s\n", want,
				spop_last_error(s));
		ERROR_HAS(s, want);
	}
	va_end(ap);
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_free(s);
	CU_ASSERT_TRUE(socks4_peer_finish(&peer));
	g_free(proxy);
}

static void test_scripted_request_socks4(void)
{
	static const unsigned char reject[] = {0, 91, 0, 0, 0, 0, 0, 0};

	scripted(&socks4, "127.0.0.1", "alice", req_alice, sizeof(req_alice),
		 reject, sizeof(reject),
		 "could not connect to 127.0.0.1 port 110: request rejected "
		 "or failed (reply 91)",
		 NULL);
}

static void test_scripted_request_socks4a(void)
{
	/* DSTIP 0.0.0.1, the user id, then the name, each NUL-ended */
	static const unsigned char req[] = {
	    4,	 1,   0,   110, 0,   0,	  0,   1,   'a', 'l', 'i',
	    'c', 'e', 0,   'm', 'a', 'i', 'l', '.', 'e', 'x', 'a',
	    'm', 'p', 'l', 'e', '.', 'o', 'r', 'g', 0};
	static const unsigned char reject[] = {0, 91, 0, 0, 0, 0, 0, 0};

	scripted(&socks4a, "*mail.example.org", "alice", req, sizeof(req),
		 reject, sizeof(reject),
		 "could not connect to mail.example.org port 110", NULL);
	CU_ASSERT_TRUE(trail_has("to mail.example.org (resolved by the "
				 "proxy):110"));
}

static void test_scripted_empty_user_id(void)
{
	static const unsigned char req[] = {4, 1, 0, 110, 127, 0, 0, 1, 0};
	static const unsigned char reject[] = {0, 91, 0, 0, 0, 0, 0, 0};

	scripted(&socks4, "127.0.0.1", "", req, sizeof(req), reject,
		 sizeof(reject), "(reply 91)", NULL);
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "FirewallUser as"));
}

static void test_scripted_identd_unreachable(void)
{
	static const unsigned char reply[] = {0, 92, 0, 0, 0, 0, 0, 0};

	scripted(&socks4, "127.0.0.1", "alice", req_alice, sizeof(req_alice),
		 reply, sizeof(reply),
		 "request rejected because the proxy cannot reach identd on "
		 "the client (reply 92)",
		 NULL);
}

static void test_scripted_identd_mismatch(void)
{
	static const unsigned char reply[] = {0, 93, 0, 0, 0, 0, 0, 0};

	scripted(&socks4, "127.0.0.1", "alice", req_alice, sizeof(req_alice),
		 reply, sizeof(reply),
		 "request rejected because identd on the client reports a "
		 "user id other than FirewallUser (reply 93)",
		 NULL);
}

static void test_scripted_wrong_version(void)
{
	/* a SOCKS5-minded or confused proxy: VN 4 where 0 belongs, even
	 * with "granted" */
	static const unsigned char reply[] = {4, 90, 0, 0, 0, 0, 0, 0};

	scripted(&socks4, "127.0.0.1", "alice", req_alice, sizeof(req_alice),
		 reply, sizeof(reply), "answered CONNECT with version 4, not 0",
		 NULL);
}

static void test_scripted_unknown_reply(void)
{
	static const unsigned char reply[] = {0, 95, 0, 0, 0, 0, 0, 0};

	scripted(&socks4, "127.0.0.1", "alice", req_alice, sizeof(req_alice),
		 reply, sizeof(reply), "answered CONNECT with unknown reply 95",
		 NULL);
}

static void test_scripted_short_reply(void)
{
	/* five of eight bytes, then EOF */
	static const unsigned char reply[] = {0, 90, 0, 110, 127};

	scripted(&socks4a, "*localhost", "alice",
		 (const unsigned char[]){4,   1,   0,	110, 0,	  0,   0,   1,
					 'a', 'l', 'i', 'c', 'e', 0,   'l', 'o',
					 'c', 'a', 'l', 'h', 'o', 's', 't', 0},
		 24, reply, sizeof(reply),
		 "closed the connection before its CONNECT reply (for "
		 "localhost port 110) was complete",
		 NULL);
}

/* FirewallAutoDetect: all_proxy names Dante; no Firewall* setting. */
static void auto_detect(const char *scheme, const char *label, const char *to)
{
	char *before = harness_dante_settled_log(&dante);
	char *url = g_strdup_printf("%s://127.0.0.1:%d", scheme, dante.port);
	char *detected = g_strdup_printf("FirewallAutoDetect: %s proxy "
					 "127.0.0.1:%d from all_proxy.",
					 scheme, dante.port);
	char *line = g_strdup_printf("%s proxy 127.0.0.1:%d, to %s", label,
				     dante.port, to);
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);

	g_setenv("all_proxy", url, TRUE);
	g_unsetenv("no_proxy");
	g_unsetenv("NO_PROXY");
	ASSERT_OK(spop_set_mail_server(s, "localhost"));
	config_set(s, "FirewallAutoDetect=True");
	login_and_retrieve(s);
	CU_ASSERT_TRUE(trail_has(detected));
	CU_ASSERT_TRUE(trail_has(line));
	g_free(assert_proxied(before, dovecot.port));
	/* the application's settings are as it left them */
	CU_ASSERT_STRING_EQUAL(spop_config(s, "FirewallType"), "0");
	spop_free(s);
	g_unsetenv("all_proxy");
	g_free(line);
	g_free(detected);
	g_free(url);
	g_free(before);
}

/* socks4a:// through ssh -D: the name goes to the proxy, which resolves
 * it. */
static void test_auto_detect_socks4a_ssh(void)
{
	long long offset = harness_ssh_socks_log_size(&ssh_proxy);
	char *url = g_strdup_printf("socks4a://127.0.0.1:%d", ssh_proxy.port);
	char *detected = g_strdup_printf("FirewallAutoDetect: socks4a proxy "
					 "127.0.0.1:%d from all_proxy.",
					 ssh_proxy.port);
	char *line = g_strdup_printf("SOCKS4A proxy 127.0.0.1:%d, to localhost "
				     "(resolved by the proxy):%d",
				     ssh_proxy.port, dovecot.port);
	char *request = ssh_request_line("localhost", dovecot.port);
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);

	g_setenv("all_proxy", url, TRUE);
	g_unsetenv("no_proxy");
	g_unsetenv("NO_PROXY");
	ASSERT_OK(spop_set_mail_server(s, "localhost"));
	config_set(s, "FirewallAutoDetect=True");
	login_and_retrieve(s);
	CU_ASSERT_TRUE(trail_has(detected));
	CU_ASSERT_TRUE(trail_has(line));
	CU_ASSERT_TRUE(ssh_log_has(offset, "socks4a request", request, NULL));
	CU_ASSERT_STRING_EQUAL(spop_config(s, "FirewallType"), "0");
	spop_free(s);
	g_unsetenv("all_proxy");
	g_free(request);
	g_free(line);
	g_free(detected);
	g_free(url);
}

/* socks4a:// with a user: the scripted peer checks the bytes (the name,
 * the URL's user as the user id). */
static void test_auto_detect_socks4a(void)
{
	static const unsigned char req[] = {
	    4,	 1, 0,	 110, 0,   0,	0,   1,	  'a', 'l', 'i', 'c',
	    'e', 0, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', 0};
	static const unsigned char reject[] = {0, 91, 0, 0, 0, 0, 0, 0};
	struct socks4_peer peer;
	char *url, *detected, *line;
	spop_t *s;

	socks4_peer_start(&peer, req, sizeof(req), reject, sizeof(reject));
	url = g_strdup_printf("socks4a://alice@127.0.0.1:%d", peer.port);
	detected = g_strdup_printf("FirewallAutoDetect: socks4a proxy "
				   "127.0.0.1:%d from all_proxy.",
				   peer.port);
	line = g_strdup_printf("SOCKS4A proxy 127.0.0.1:%d, to localhost "
			       "(resolved by the proxy):110, FirewallUser as "
			       "the user id",
			       peer.port);
	s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);
	g_setenv("all_proxy", url, TRUE);
	g_unsetenv("no_proxy");
	g_unsetenv("NO_PROXY");
	ASSERT_OK(spop_set_mail_server(s, "localhost"));
	ASSERT_OK(spop_set_mail_port(s, 110));
	config_set(s, "FirewallAutoDetect=True");
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
	ERROR_HAS(s, "(reply 91)");
	CU_ASSERT_TRUE(trail_has(detected));
	CU_ASSERT_TRUE(trail_has(line));
	spop_free(s);
	g_unsetenv("all_proxy");
	CU_ASSERT_TRUE(socks4_peer_finish(&peer));
	g_free(line);
	g_free(detected);
	g_free(url);
}

static void test_auto_detect_socks4(void)
{
	auto_detect("socks4", "SOCKS4", "localhost:");
}

static const struct test_case cases[] = {
    {"ssh -D: SOCKS4A *localhost resolved by the proxy, login and RETR",
     test_ssh_socks4a_name},
    {"ssh -D: SOCKS4A *localhost with STLS", test_ssh_socks4a_name_stls},
    {"ssh -D: SOCKS4A *localhost with implicit TLS",
     test_ssh_socks4a_name_implicit_tls},
    {"ssh -D: SOCKS4A name it cannot resolve: 118, hang-up without reply",
     test_ssh_socks4a_unresolvable},
    {"ssh -D: SOCKS4A 255-byte name arrives whole",
     test_ssh_socks4a_longest_name},
    {"ssh -D: SOCKS4 to an address, login and RETR", test_ssh_socks4_address},
    {"ssh -D: FirewallAutoDetect all_proxy=socks4a://",
     test_auto_detect_socks4a_ssh},
    {"Dante: SOCKS4 to an address, login and RETR", test_socks4_address},
    {"Dante: SOCKS4A to an address, login and RETR", test_socks4a_address},
    {"Dante (no SOCKS4A) refuses SOCKS4A *localhost: 118, reply 91",
     test_socks4a_name_dante_refuses},
    {"Dante: SOCKS4 to *localhost, resolved here",
     test_socks4_star_name_resolved_here},
    {"Dante: SOCKS4 with implicit TLS", test_socks4_implicit_tls},
    {"Dante: SOCKS4 with STLS", test_socks4_stls},
    {"Dante: SOCKS4A to localhost (resolved here) with implicit TLS",
     test_socks4a_implicit_tls},
    {"Dante: SOCKS4A to localhost (resolved here) with STLS",
     test_socks4a_stls},
    {"SOCKS4 proxy down: 10061 naming the proxy", test_socks4_proxy_down},
    {"SOCKS4A proxy down: 10061 naming the proxy", test_socks4a_proxy_down},
    {"Dante: SOCKS4 target refused, 118 with reply 91",
     test_socks4_target_refused},
    {"Dante: SOCKS4A target refused, 118 with reply 91",
     test_socks4a_target_refused},
    {"Dante: SOCKS4 FirewallUser is the user id", test_socks4_user_id},
    {"Dante: SOCKS4A FirewallUser is the user id", test_socks4a_user_id},
    {"long name, long user id, IPv6 refused locally", test_refused_locally},
    {"SOCKS4 request bytes (scripted)", test_scripted_request_socks4},
    {"SOCKS4A request bytes (scripted)", test_scripted_request_socks4a},
    {"SOCKS4 empty user id (scripted)", test_scripted_empty_user_id},
    {"reply 92: identd unreachable (scripted)",
     test_scripted_identd_unreachable},
    {"reply 93: identd user id mismatch (scripted)",
     test_scripted_identd_mismatch},
    {"reply version not 0 (scripted)", test_scripted_wrong_version},
    {"unknown reply code (scripted)", test_scripted_unknown_reply},
    {"short reply then EOF (scripted)", test_scripted_short_reply},
    {"FirewallAutoDetect: all_proxy=socks4a:// with a user (scripted)",
     test_auto_detect_socks4a},
    {"Dante: FirewallAutoDetect all_proxy=socks4://", test_auto_detect_socks4},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"proxy-socks4", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	static const struct harness_tls tls = {"good", 0, NULL, NULL};
	const char *why = harness_dovecot_unavailable();
	int rc;

	if (!why)
		why = harness_dante_unavailable();
	if (!why)
		why = harness_ssh_socks_unavailable();
	if (why)
		return harness_cannot_run("proxy-socks4", why);
	if (harness_dovecot_start_tls(&dovecot, "proxy-socks4", &tls))
		return 1;
	if (harness_dante_start(&dante, "proxy-socks4")) {
		harness_dovecot_stop(&dovecot);
		return 1;
	}
	if (harness_ssh_socks_start(&ssh_proxy, "proxy-socks4")) {
		harness_dante_stop(&dante);
		harness_dovecot_stop(&dovecot);
		return 1;
	}
	rc = test_run(suites);
	if (harness_ssh_socks_stop(&ssh_proxy))
		rc = 1;
	if (harness_dante_stop(&dante))
		rc = 1;
	harness_dovecot_stop(&dovecot);
	return rc;
}
