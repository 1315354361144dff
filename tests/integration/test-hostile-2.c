/* The hostile-server suite by attack class (issue 12; the map of classes
 * to tests is HOSTILE.md): cases test-hostile.c, test-tls.c and the proxy
 * suites did not cover. Each case asserts the reference's code, that no
 * credential went where it must not (the scripted peer's STEP_REFUSE and
 * STEP_EXPECT_LINE check the wire itself; the trail is checked too), and
 * for floods that the heap stays within a bound set by the limits
 * (MaxLineLength, MessageMemoryLimit), measured by a sampler thread. */
#include <gnutls/gnutls.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
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
/* without an APOP timestamp: AuthMechanismName=auto would take APOP */
#define PLAIN_GREETING "+OK ready\r\n"
/* greeting, CAPA refused (an RFC 1939-only server), USER/PASS, STAT */
#define LOGIN(stat)                                                            \
	{STEP_SEND, GREETING, 0, 0}, {STEP_EXPECT, "CAPA", 0, 0},              \
	    {STEP_SEND, "-ERR unknown\r\n", 0, 0},                             \
	    {STEP_EXPECT_LINE, "USER bob", 0, 0},                              \
	    {STEP_SEND, "+OK\r\n", 0, 0}, {STEP_EXPECT_LINE, "PASS pw", 0, 0}, \
	    {STEP_SEND, "+OK\r\n", 0, 0}, {STEP_EXPECT_LINE, "STAT", 0, 0},    \
	{                                                                      \
		STEP_SEND, stat, 0, 0                                          \
	}
#define QUIT_OK                                                                \
	{STEP_EXPECT_LINE, "QUIT", 0, 0}, {STEP_SEND, "+OK bye\r\n", 0, 0},    \
	{                                                                      \
		STEP_END, NULL, 0, 0                                           \
	}
/* the client goes without another command (a drop sends no QUIT) */
#define GONE                                                                   \
	{STEP_EXPECT_EOF, NULL, 0, 0},                                         \
	{                                                                      \
		STEP_END, NULL, 0, 0                                           \
	}
/* nothing secret may arrive before the client hangs up */
#define NOTHING_SECRET                                                         \
	{STEP_REFUSE, "USER|PASS|AUTH|APOP", 0, 0},                            \
	{                                                                      \
		STEP_END, NULL, 0, 0                                           \
	}

#define NO_CREDENTIALS_IN(text)                                                \
	do {                                                                   \
		CU_ASSERT_PTR_NULL(strstr(text, "C: USER"));                   \
		CU_ASSERT_PTR_NULL(strstr(text, "C: PASS"));                   \
		CU_ASSERT_PTR_NULL(strstr(text, "C: AUTH"));                   \
		CU_ASSERT_PTR_NULL(strstr(text, "C: APOP"));                   \
	} while (0)

static spop_t *client_for(const struct step *script)
{
	return scripted_client(&sc, script, "bob", &rec);
}

static void finish(spop_t *s)
{
	scripted_client_finish(s, &sc);
}

/* The password never appears in the trail or the error, masked or not. */
static void no_password_seen(spop_t *s)
{
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "PASS pw"));
	CU_ASSERT_PTR_NULL(strstr(spop_last_error(s), " pw"));
}

/* No control character in the error message: a server's text is quoted
 * with \xNN for them. */
static void error_is_printable(spop_t *s)
{
	for (const char *p = spop_last_error(s); *p; p++)
		CU_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f);
}

/* ---- bounded memory -----------------------------------------------------
 * Bytes in use on the heap (glibc's arenas and mmapped blocks; under ASan
 * the sanitizer's allocator, which replaces glibc's). A sampler thread
 * records the peak while a case runs, so a buffer that lives only inside
 * a library call is seen too; the events sample as well. */
#if defined(__SANITIZE_ADDRESS__)
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void)
{
	return __sanitizer_get_current_allocated_bytes();
}
#else
static size_t heap_in_use(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;
}
#endif

struct heap_watch {
	size_t base;
	_Atomic size_t peak;
	atomic_bool stop;
	pthread_t thread;
};

static void heap_sample(struct heap_watch *w)
{
	size_t now = heap_in_use(), peak = atomic_load(&w->peak);

	while (now > peak &&
	       !atomic_compare_exchange_weak(&w->peak, &peak, now))
		;
}

static void *heap_sampler(void *p)
{
	struct heap_watch *w = p;

	while (!atomic_load(&w->stop)) {
		heap_sample(w);
		usleep(500);
	}
	return NULL;
}

static void heap_watch_start(struct heap_watch *w)
{
	w->base = heap_in_use();
	atomic_store(&w->peak, w->base);
	atomic_store(&w->stop, false);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&w->thread, NULL, heap_sampler, w),
			      0);
}

/* Stops the sampler; asserts the peak growth stayed within bound bytes
 * and says what it was. */
static void heap_watch_check(struct heap_watch *w, size_t bound,
			     const char *what)
{
	heap_sample(w);
	atomic_store(&w->stop, true);
	pthread_join(w->thread, NULL);
	size_t grew = atomic_load(&w->peak) - w->base;

	fprintf(stderr, "(%s: heap grew at most %zu KiB, bound %zu KiB)\n",
		what, grew / 1024, bound / 1024);
	CU_ASSERT(grew <= bound);
}

static struct heap_watch *watched; /* sampled by the events too */

static void sample_transfer(spop_t *s, const struct spop_transfer_event *e,
			    void *ud)
{
	(*(int *)ud)++;
	if (watched)
		heap_sample(watched);
}

static void sample_header(spop_t *s, const struct spop_header_event *e,
			  void *ud)
{
	(*(int *)ud)++;
	if (watched)
		heap_sample(watched);
}

/* The slack for what a connection costs whatever the peer does: the auth
 * plugin's module, the line buffer, the session's tables. */
#define HEAP_SLACK (1536 * 1024)

/* ---- STLS: capabilities are the ones said under TLS ---------------------
 * A GnuTLS server side for the scripted peer's STEP_TLS, with the harness
 * certificate good.pem (localhost, 127.0.0.1) of the harness CA. */
struct tls_peer {
	gnutls_certificate_credentials_t cred;
	gnutls_session_t ses;
	int fd;
};

static int tls_peer_start(void *ctx, int fd, char *why, size_t cap)
{
	struct tls_peer *t = ctx;
	int rc;

	t->fd = fd;
	gnutls_init(&t->ses, GNUTLS_SERVER);
	gnutls_set_default_priority(t->ses);
	gnutls_credentials_set(t->ses, GNUTLS_CRD_CERTIFICATE, t->cred);
	gnutls_transport_set_int(t->ses, fd);
	gnutls_handshake_set_timeout(t->ses, 10000);
	do
		rc = gnutls_handshake(t->ses);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0) {
		snprintf(why, cap, "(handshake: %s)", gnutls_strerror(rc));
		gnutls_deinit(t->ses);
		t->ses = NULL;
		return -1;
	}
	return 0;
}

static int tls_peer_read1(void *ctx, char *c, int ms)
{
	struct tls_peer *t = ctx;

	for (;;) {
		struct pollfd p = {t->fd, POLLIN, 0};

		if (!gnutls_record_check_pending(t->ses) &&
		    poll(&p, 1, ms) <= 0)
			return -2;
		ssize_t n = gnutls_record_recv(t->ses, c, 1);

		if (n == 1 || n == 0)
			return (int)n;
		if (n != GNUTLS_E_AGAIN && n != GNUTLS_E_INTERRUPTED)
			return -1;
	}
}

static int tls_peer_write(void *ctx, const char *buf, size_t len)
{
	struct tls_peer *t = ctx;

	while (len) {
		ssize_t n = gnutls_record_send(t->ses, buf, len);

		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void tls_peer_end(void *ctx, int close_notify)
{
	struct tls_peer *t = ctx;

	if (!t->ses)
		return;
	if (close_notify)
		gnutls_bye(t->ses, GNUTLS_SHUT_WR);
	gnutls_deinit(t->ses);
	t->ses = NULL;
}

static struct tls_peer tls_peer;
static const struct scripted_tls tls_layer = {
    &tls_peer, tls_peer_start, tls_peer_read1, tls_peer_write, tls_peer_end};

/* A client of a scripted STLS peer through SSLProvider provider, trusting
 * the harness CA. */
static spop_t *tls_client_for(const struct step *script, int provider)
{
	char *ca = harness_cert_file("ca.pem"),
	     *cert = harness_cert_file("good.pem"),
	     *key = harness_cert_file("good-key.pem"), *text = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	if (!tls_peer.cred) {
		gnutls_certificate_allocate_credentials(&tls_peer.cred);
		CU_ASSERT_EQUAL_FATAL(
		    gnutls_certificate_set_x509_key_file(
			tls_peer.cred, cert, key, GNUTLS_X509_FMT_PEM),
		    0);
	}
	CU_ASSERT_EQUAL_FATAL(scripted_start_tls(&sc, script, &tls_layer), 0);
	spop_t *s = client_new("bob", "pw", &rec);
	spop_set_mail_port(s, sc.port);
	spop_set_timeout(s, 5);
	CU_ASSERT_TRUE_FATAL(g_file_get_contents(ca, &text, NULL, NULL));
	config_set(s, "SSLServerCACerts=%s", text);
	ASSERT_OK(spop_set_ssl_provider(s, provider));
	ASSERT_OK(spop_set_ssl_start_mode(s, SPOP_SSL_EXPLICIT));
	g_free(text);
	g_free(ca);
	g_free(cert);
	g_free(key);
	return s;
}

static const int providers[] = {SPOP_SSLP_INTERNAL, SPOP_SSLP_PLATFORM};
static const char *const provider_names[] = {"gnutls", "openssl"};

#define STLS_UP(before)                                                        \
	{STEP_SEND, PLAIN_GREETING, 0, 0}, {STEP_EXPECT_LINE, "CAPA", 0, 0},   \
	    {STEP_SEND, before, 0, 0}, {STEP_EXPECT_LINE, "STLS", 0, 0},       \
	    {STEP_SEND, "+OK begin TLS\r\n", 0, 0}, {STEP_TLS, NULL, 0, 0},    \
	{                                                                      \
		STEP_EXPECT_LINE, "CAPA", 0, 0                                 \
	}

static int count_lines(const char *text, const char *line)
{
	int n = 0;

	for (const char *p = strstr(text, line); p; p = strstr(p + 1, line))
		n++;
	return n;
}

/* Before TLS the list offers SCRAM-SHA-256 and CRAM-MD5 (what a man in
 * the middle may write); under TLS the server offers only PLAIN. CAPA is
 * asked again, and AuthMechanismName=auto chooses from the list said
 * under TLS: PLAIN, which under TLS the policy allows. */
static void test_caps_refreshed_after_stls(void)
{
	static const struct step script[] = {
	    STLS_UP("+OK\r\nSTLS\r\nSASL SCRAM-SHA-256 CRAM-MD5\r\n.\r\n"),
	    {STEP_SEND, "+OK\r\nSASL PLAIN\r\nUSER\r\n.\r\n", 0, 0},
	    /* base64("\0bob\0pw") */
	    {STEP_EXPECT_LINE, "AUTH PLAIN AGJvYgBwdw==", 0, 0},
	    {STEP_SEND, "+OK logged in\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "STAT", 0, 0},
	    {STEP_SEND, "+OK 0 0\r\n", 0, 0},
	    QUIT_OK};

	for (size_t p = 0; p < G_N_ELEMENTS(providers); p++) {
		spop_t *s = tls_client_for(script, providers[p]);

		fprintf(stderr, "(%s)\n", provider_names[p]);
		config_set(s, "AuthMechanismName=auto");
		CU_ASSERT_EQUAL(spop_connect(s), 0);
		CU_ASSERT_EQUAL(count_lines(rec.trail->str, "C: CAPA\n"), 2);
		CU_ASSERT_PTR_NOT_NULL(
		    strstr(rec.trail->str, "auto chose 'plain'"));
		CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: AUTH SCRAM"));
		CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: AUTH CRAM"));
		no_password_seen(s);
		CU_ASSERT_EQUAL(spop_disconnect(s), 0);
		finish(s);
	}
}

/* SASL PLAIN before TLS, no SASL under TLS: the mechanism asked for is
 * not offered any more, so nothing is sent (no AUTH, no fallback to
 * USER/PASS). */
static void test_sasl_dropped_after_stls(void)
{
	static const struct step script[] = {
	    STLS_UP("+OK\r\nSTLS\r\nSASL PLAIN\r\nUSER\r\n.\r\n"),
	    {STEP_SEND, "+OK\r\nUSER\r\n.\r\n", 0, 0},
	    NOTHING_SECRET};

	for (size_t p = 0; p < G_N_ELEMENTS(providers); p++) {
		spop_t *s = tls_client_for(script, providers[p]);

		fprintf(stderr, "(%s)\n", provider_names[p]);
		ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_SASLPLAIN));
		CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_PROTOCOL);
		ERROR_HAS(s, "does not offer SASL mechanism PLAIN");
		ERROR_HAS(s, "nothing was sent");
		CU_ASSERT_EQUAL(count_lines(rec.trail->str, "C: CAPA\n"), 2);
		CU_ASSERT_FALSE(spop_get_connected(s));
		NO_CREDENTIALS_IN(rec.trail->str);
		finish(s);
	}
}

/* ---- TLS ended without close_notify, or by a truncated record -----------
 * In the middle of RETR: the message must not be stored, under its name
 * or a temporary one, and the failure is the drop (1120, naming the
 * missing close_notify) or the TLS layer's (284), never success. */
static void remove_empty_dir(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);

	CU_ASSERT_PTR_NULL(d ? g_dir_read_name(d) : NULL);
	if (d)
		g_dir_close(d);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
}

static void tls_cut_mid_retr(const char *raw, const char *what)
{
	const struct step script[] = {
	    STLS_UP("+OK\r\nSTLS\r\nUSER\r\n.\r\n"),
	    {STEP_SEND, "+OK\r\nUSER\r\n.\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "USER bob", 0, 0},
	    {STEP_SEND, "+OK\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "PASS pw", 0, 0},
	    {STEP_SEND, "+OK\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "STAT", 0, 0},
	    {STEP_SEND, "+OK 1 200\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "RETR 1", 0, 0},
	    {STEP_SEND, "+OK\r\nSubject: cut\r\n\r\nfirst line\r\nsec", 0, 0},
	    {STEP_SLEEP, NULL, 50, 0},
	    {raw ? STEP_RAW : STEP_SLEEP, raw, 0, raw ? 9 : 0},
	    {STEP_CUT, NULL, 0, 0}};

	for (size_t p = 0; p < G_N_ELEMENTS(providers); p++) {
		spop_t *s = tls_client_for(script, providers[p]);
		char *dir = g_dir_make_tmp("spop-hostile2-XXXXXX", NULL);
		char *file = g_build_filename(dir, "m.eml", NULL);
		int rc;

		ASSERT_OK(spop_connect(s));
		ASSERT_OK(spop_set_local_file(s, file));
		rc = spop_retrieve(s);
		fprintf(stderr, "(%s, %s: %d %s)\n", provider_names[p], what,
			rc, spop_last_error(s));
		/* the drop, or the TLS layer's decrypt error for a record
		 * it could not read whole */
		CU_ASSERT(rc == SPOP_ERR_DROPPED ||
			  (raw && rc == SPOP_ERR_DECRYPT));
		if (rc == SPOP_ERR_DROPPED)
			ERROR_HAS(s, "close_notify");
		CU_ASSERT_FALSE(spop_get_connected(s));
		CU_ASSERT_EQUAL(rec.end, 1);
		remove_empty_dir(dir);
		g_free(file);
		g_free(dir);
		finish(s);
	}
}

static void test_tls_no_close_notify_mid_retr(void)
{
	tls_cut_mid_retr(NULL, "no close_notify");
}

static void test_tls_truncated_record_mid_retr(void)
{
	/* an application-data record header announcing 4096 bytes, 4 of
	 * them sent, then the close */
	tls_cut_mid_retr("\x17\x03\x03\x10\x00"
			 "abcd",
			 "truncated record");
}

/* ---- SASL downgrade and bogus mechanism lists --------------------------- */

/* Without TLS, a server offering only mechanisms that send the password
 * itself: AllowPlaintextAuth=False refuses them all (1213) and nothing is
 * sent, whether the mechanism is chosen by auto or named. */
static void test_sasl_downgrade_plaintext_only(void)
{
	static const struct step script[] = {
	    {STEP_SEND, PLAIN_GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nSASL PLAIN LOGIN\r\nUSER\r\n.\r\n", 0, 0},
	    NOTHING_SECRET};
	const char *how[] = {"AuthMechanismName=auto",
			     "AuthMechanismName=PLAIN",
			     "AuthMechanismName=LOGIN", NULL};

	for (int i = 0; how[i]; i++) {
		spop_t *s = client_for(script);

		config_set(s, "AllowPlaintextAuth=False");
		config_set(s, "%s", how[i]);
		CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_POLICY);
		ERROR_HAS(s, "AllowPlaintextAuth is False");
		ERROR_HAS(s, "nothing was sent");
		NO_CREDENTIALS_IN(rec.trail->str);
		finish(s);
	}
}

/* CRAM-MD5 asked for, the server offers only PLAIN: no fallback to a
 * weaker mechanism, nothing sent. */
static void test_sasl_downgrade_no_fallback(void)
{
	static const struct step script[] = {
	    {STEP_SEND, PLAIN_GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nSASL PLAIN\r\nUSER\r\n.\r\n", 0, 0},
	    NOTHING_SECRET};
	spop_t *s = client_for(script);

	ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_CRAMMD5));
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_PROTOCOL);
	ERROR_HAS(s, "does not offer SASL mechanism CRAM-MD5");
	NO_CREDENTIALS_IN(rec.trail->str);
	finish(s);
}

/* A mechanism list of near-misses, escapes and junk, 1900 bytes long:
 * auto finds nothing it knows (171), the error quotes the list without
 * its control characters, nothing is sent. */
static void test_sasl_bogus_list(void)
{
	GString *capa = g_string_new("+OK\r\nSASL PLAIN-X \x1b[31mCRAM-MD5 "
				     "SCRAM-SHA-256-PLUSX cram_md5 X-PLAIN "
				     "\x07LOGIN\x01");
	while (capa->len < 1900)
		g_string_append(capa, " XX-BOGUS");
	g_string_append(capa, "\r\n.\r\n");
	const struct step script[] = {{STEP_SEND, PLAIN_GREETING, 0, 0},
				      {STEP_EXPECT_LINE, "CAPA", 0, 0},
				      {STEP_SEND, capa->str, 0, 0},
				      NOTHING_SECRET};
	spop_t *s = client_for(script);

	config_set(s, "AuthMechanismName=auto");
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_PROTOCOL);
	ERROR_HAS(s, "found no mechanism");
	ERROR_HAS(s, "\\x1B[31mCRAM-MD5");
	error_is_printable(s);
	CU_ASSERT_PTR_NULL(strchr(rec.trail->str, '\x1b'));
	NO_CREDENTIALS_IN(rec.trail->str);
	finish(s);
	g_string_free(capa, TRUE);
}

/* The tail of a CAPA line longer than MaxLineLength is no capability: a
 * line of MaxLineLength bytes of junk then "SASL PLAIN" must not offer
 * PLAIN (whatever the split: prefixes around the limit are tried). */
static void test_capa_long_line_tail(void)
{
	for (int pad = 254; pad <= 258; pad++) {
		GString *capa = g_string_new("+OK\r\nUSER\r\n");

		for (int k = 0; k < pad; k++)
			g_string_append_c(capa, 'X');
		g_string_append(capa, "SASL PLAIN\r\n.\r\n");
		const struct step script[] = {{STEP_SEND, PLAIN_GREETING, 0, 0},
					      {STEP_EXPECT_LINE, "CAPA", 0, 0},
					      {STEP_SEND, capa->str, 0, 0},
					      NOTHING_SECRET};
		spop_t *s = client_for(script);

		config_set(s, "MaxLineLength=256");
		ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_SASLPLAIN));
		CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_PROTOCOL);
		ERROR_HAS(s, "does not offer SASL mechanism PLAIN");
		NO_CREDENTIALS_IN(rec.trail->str);
		finish(s);
		g_string_free(capa, TRUE);
	}
}

/* ---- malformed SASL challenges ------------------------------------------
 * (the mechanisms' own: test-auth-ntlm, test-auth-oauth, test-auth-scram) */

/* A CRAM-MD5 challenge that is not base64: the exchange is cancelled
 * with "*" (171), and nothing derived from the password is sent. */
static void test_cram_challenge_not_base64(void)
{
	static const struct step script[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nSASL CRAM-MD5\r\n.\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "AUTH CRAM-MD5", 0, 0},
	    {STEP_SEND, "+ not*base64!\x1b[2J\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "*", 0, 0},
	    {STEP_SEND, "-ERR cancelled\r\n", 0, 0},
	    {STEP_REFUSE, "USER|PASS|AUTH|APOP|bob", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);

	ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_CRAMMD5));
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_PROTOCOL);
	ERROR_HAS(s, "CRAM-MD5");
	error_is_printable(s);
	CU_ASSERT_FALSE(spop_get_connected(s));
	finish(s);
}

/* A challenge line of 4 MiB: refused at the 64 KiB a status line may
 * have (172), the heap not grown by the flood. */
static char huge[4 << 20];

static void test_huge_challenge(void)
{
	memset(huge, 'Q', sizeof(huge));
	memcpy(huge, "+ ", 2);
	const struct step script[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nSASL CRAM-MD5\r\n.\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "AUTH CRAM-MD5", 0, 0},
	    {STEP_SEND, huge, 0, sizeof(huge)},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);
	struct heap_watch w;

	ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_CRAMMD5));
	heap_watch_start(&w);
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_COMMUNICATION);
	heap_watch_check(&w, 4 * 64 * 1024 + HEAP_SLACK, "4 MiB challenge");
	ERROR_HAS(s, "64 KiB");
	spop_free(s);
	scripted_finish(&sc); /* the peer's send fails when we hang up */
}

/* ---- APOP timestamp abuse ----------------------------------------------- */

static char *apop_line(const char *stamp)
{
	char *in = g_strconcat(stamp, "pw", NULL);
	char *md5 = g_compute_checksum_for_string(G_CHECKSUM_MD5, in, -1);
	char *line = g_strdup_printf("APOP bob %s", md5);

	g_free(md5);
	g_free(in);
	return line;
}

/* Several timestamps: the first well-formed msg-id is the one hashed
 * (never a malformed one before it); a huge one (8 KiB) is hashed whole.
 * The password itself never goes out. */
static void test_apop_several_and_huge_timestamps(void)
{
	GString *big = g_string_new("<");
	while (big->len < 8192)
		g_string_append(big, "0123456789abcdef");
	g_string_append(big, "@huge.example>");
	const char *stamps[] = {"<real@host>", big->str};
	const char *greetings[2];
	char *g0 = g_strdup("+OK hi <x y@z> <@q> <no-at> <real@host> "
			    "<second@host>\r\n");
	char *g1 = g_strdup_printf("+OK %s\r\n", big->str);

	greetings[0] = g0;
	greetings[1] = g1;
	for (int i = 0; i < 2; i++) {
		char *want = apop_line(stamps[i]);
		const struct step script[] = {{STEP_SEND, greetings[i], 0, 0},
					      {STEP_EXPECT_LINE, "CAPA", 0, 0},
					      {STEP_SEND, "-ERR\r\n", 0, 0},
					      {STEP_EXPECT_LINE, want, 0, 0},
					      {STEP_SEND, "+OK\r\n", 0, 0},
					      {STEP_EXPECT_LINE, "STAT", 0, 0},
					      {STEP_SEND, "+OK 0 0\r\n", 0, 0},
					      QUIT_OK};
		spop_t *s = client_for(script);

		ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_APOP));
		CU_ASSERT_EQUAL(spop_connect(s), 0);
		CU_ASSERT_PTR_NOT_NULL(
		    strstr(rec.trail->str, "C: APOP bob ********"));
		no_password_seen(s);
		CU_ASSERT_EQUAL(spop_disconnect(s), 0);
		finish(s);
		g_free(want);
	}
	g_free(g0);
	g_free(g1);
	g_string_free(big, TRUE);
}

/* Timestamps with control characters, 8-bit bytes or blanks inside are
 * no msg-id: 171 before anything is sent, the error printable. */
static void test_apop_timestamp_control_chars(void)
{
	static const char *const greetings[] = {
	    "+OK hi <a\x1b[2Jb@c>\r\n", "+OK hi <a\x01@c>\r\n",
	    "+OK hi <a\xc3\xa9@c>\r\n", "+OK hi <a\t@c>\r\n",
	    "+OK hi <a@b@c>\r\n",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(greetings); i++) {
		const struct step script[] = {{STEP_SEND, greetings[i], 0, 0},
					      {STEP_EXPECT_LINE, "CAPA", 0, 0},
					      {STEP_SEND, "-ERR\r\n", 0, 0},
					      NOTHING_SECRET};
		spop_t *s = client_for(script);

		ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_APOP));
		CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_PROTOCOL);
		ERROR_HAS(s, "APOP needs a <...@...> timestamp");
		error_is_printable(s);
		NO_CREDENTIALS_IN(rec.trail->str);
		finish(s);
	}
}

/* ---- numbers that overflow ---------------------------------------------- */

/* STAT answers with signs, blanks, hex or values past INT64_MAX (which
 * strtoll would clamp without a word): 171 naming the answer. */
static void test_stat_numbers_overflow(void)
{
	static const char *const stats[] = {
	    "+OK 99999999999999999999 0\r\n",
	    "+OK 1 99999999999999999999\r\n",
	    "+OK 1 9223372036854775808\r\n",
	    "+OK +1 10\r\n",
	    "+OK 1 +10\r\n",
	    "+OK -1 10\r\n",
	    "+OK 1 -0\r\n",
	    "+OK 2147483648 10\r\n",
	    "+OK 0x1 10\r\n",
	    "+OK 1\r\n",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(stats); i++) {
		const struct step script[] = {LOGIN(stats[i]), GONE};
		spop_t *s = client_for(script);

		CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_PROTOCOL);
		ERROR_HAS(s, "Malformed STAT answer");
		CU_ASSERT_FALSE(spop_get_connected(s));
		finish(s);
	}
}

/* The largest size there is still is one. */
static void test_stat_int64_max(void)
{
	static const struct step script[] = {
	    LOGIN("+OK 1 9223372036854775807\r\n"), QUIT_OK};
	spop_t *s = client_for(script);

	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_get_total_size(s), G_MAXINT64);
	ASSERT_OK(spop_disconnect(s));
	finish(s);
}

/* LIST lines and LIST n answers likewise; after a bad listing the stream
 * stays in step (the next reply is NOOP's). */
static void test_list_numbers_overflow(void)
{
	static const char *const lines[] = {
	    "1 99999999999999999999", "1 +10",	"+1 10", "1 -5",
	    "99999999999999999999 1", "1 0x10",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(lines); i++) {
		char *body = g_strdup_printf("+OK\r\n%s\r\n.\r\n", lines[i]);
		const struct step script[] = {
		    LOGIN("+OK 1 10\r\n"),
		    {STEP_EXPECT_LINE, "LIST", 0, 0},
		    {STEP_SEND, body, 0, 0},
		    {STEP_EXPECT_LINE, "NOOP", 0, 0},
		    {STEP_SEND, "+OK still here\r\n", 0, 0},
		    QUIT_OK};
		spop_t *s = client_for(script);

		ASSERT_OK(spop_connect(s));
		CU_ASSERT_EQUAL(spop_list_message_sizes(s), SPOP_ERR_PROTOCOL);
		ERROR_HAS(s, "Malformed LIST line");
		ERROR_HAS(s, lines[i]);
		ASSERT_OK(spop_send_command(s, "NOOP"));
		CU_ASSERT_STRING_EQUAL(spop_get_last_reply(s),
				       "+OK still here");
		ASSERT_OK(spop_disconnect(s));
		finish(s);
		g_free(body);
	}
}

static void test_list_one_overflow(void)
{
	static const char *const replies[] = {
	    "+OK 1 18446744073709551616\r\n", /* 2^64 */
	    "+OK 1 +5\r\n",
	    "+OK 4294967297 5\r\n", /* 2^32 + 1: atoi would say 1 */
	    "+OK +1 5\r\n",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(replies); i++) {
		const struct step script[] = {
		    LOGIN("+OK 1 10\r\n"),
		    {STEP_EXPECT_LINE, "LIST 1", 0, 0},
		    {STEP_SEND, replies[i], 0, 0},
		    QUIT_OK};
		spop_t *s = client_for(script);

		ASSERT_OK(spop_connect(s));
		ASSERT_OK(spop_set_message_number(s, 1));
		CU_ASSERT_EQUAL(spop_query_message_size(s), 0);
		CU_ASSERT_EQUAL(spop_last_error_code(s), SPOP_ERR_PROTOCOL);
		ERROR_HAS(s, "Malformed LIST answer");
		ASSERT_OK(spop_disconnect(s));
		finish(s);
	}
}

/* ---- overlong UIDs (RFC 1939: 1 to 70 characters, 0x21 to 0x7E) ------- */

static void test_overlong_uid_listing(void)
{
	char uid70[71], uid71[72];

	memset(uid70, 'u', 70);
	uid70[70] = '\0';
	memset(uid71, 'u', 71);
	uid71[71] = '\0';
	char *ok = g_strdup_printf("+OK\r\n1 %s\r\n.\r\n", uid70);
	char *bad = g_strdup_printf("+OK\r\n1 %s\r\n.\r\n", uid71);
	const struct step script[] = {
	    LOGIN("+OK 1 10\r\n"),
	    {STEP_EXPECT_LINE, "UIDL", 0, 0},
	    {STEP_SEND, ok, 0, 0},
	    {STEP_EXPECT_LINE, "UIDL", 0, 0},
	    {STEP_SEND, bad, 0, 0},
	    {STEP_EXPECT_LINE, "UIDL", 0, 0},
	    {STEP_SEND, "+OK\r\n1 a\x1b[2Jb\r\n.\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "UIDL", 0, 0},
	    {STEP_SEND, "+OK\r\n1 two words\r\n.\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "NOOP", 0, 0},
	    {STEP_SEND, "+OK in step\r\n", 0, 0},
	    QUIT_OK};
	spop_t *s = client_for(script);

	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_list_message_uids(s));
	CU_ASSERT_EQUAL(rec.listed->len, 1);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(spop_list_message_uids(s), SPOP_ERR_PROTOCOL);
		ERROR_HAS(s, "Malformed UIDL line");
		error_is_printable(s);
	}
	CU_ASSERT_EQUAL(rec.listed->len, 1);
	ASSERT_OK(spop_send_command(s, "NOOP"));
	CU_ASSERT_STRING_EQUAL(spop_get_last_reply(s), "+OK in step");
	ASSERT_OK(spop_disconnect(s));
	finish(s);
	g_free(ok);
	g_free(bad);
}

static void test_overlong_uid_query(void)
{
	char uid71[72];

	memset(uid71, 'u', 71);
	uid71[71] = '\0';
	char *bad = g_strdup_printf("+OK 1 %s\r\n", uid71);
	const struct step script[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nUSER\r\nUIDL\r\n.\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "USER bob", 0, 0},
	    {STEP_SEND, "+OK\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "PASS pw", 0, 0},
	    {STEP_SEND, "+OK\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "STAT", 0, 0},
	    {STEP_SEND, "+OK 1 10\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "UIDL 1", 0, 0},
	    {STEP_SEND, bad, 0, 0},
	    QUIT_OK};
	spop_t *s = client_for(script);

	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_set_message_number(s, 1));
	CU_ASSERT_STRING_EQUAL(spop_query_message_uid(s), "");
	CU_ASSERT_EQUAL(spop_last_error_code(s), SPOP_ERR_PROTOCOL);
	ERROR_HAS(s, "Malformed UIDL answer");
	ASSERT_OK(spop_disconnect(s));
	finish(s);
	g_free(bad);
}

/* ---- overlong lines: memory bounded by the limits ----------------------- */

/* One body line of 16 MiB without an end: it comes in MaxLineLength
 * pieces (Transfer events with EOL false), the message in memory stops at
 * MessageMemoryLimit, and the heap never holds the line. */
static void test_overlong_body_line_bounded(void)
{
	const size_t line = 16u << 20;
	GString *wire = g_string_sized_new(line + 64);

	g_string_append(wire, "+OK\r\nSubject: long\r\n\r\n");
	for (size_t i = 0; i < line; i++)
		g_string_append_c(wire, (char)('a' + i % 26));
	g_string_append(wire, "\r\n.\r\n");
	const struct step script[] = {LOGIN("+OK 1 100\r\n"),
				      {STEP_EXPECT_LINE, "RETR 1", 0, 0},
				      {STEP_SEND, wire->str, 0, wire->len},
				      QUIT_OK};
	spop_t *s = client_for(script);
	struct heap_watch w;
	int transfers = 0, headers = 0;

	config_set(s, "MaxLineLength=4096");
	config_set(s, "MessageMemoryLimit=1048576");
	spop_on_transfer(s, sample_transfer, &transfers);
	spop_on_header(s, sample_header, &headers);
	ASSERT_OK(spop_connect(s));
	watched = &w;
	heap_watch_start(&w);
	CU_ASSERT_EQUAL(spop_retrieve(s), 0);
	/* the message in memory (raw and text) holds at most the limit
	 * each, in strings that grow by doubling */
	heap_watch_check(&w, 6 * 1048576 + 8 * 4096 + HEAP_SLACK,
			 "16 MiB body line");
	watched = NULL;
	CU_ASSERT(transfers >= (int)(line / 4096));
	CU_ASSERT_EQUAL(headers, 1);
	ASSERT_OK(spop_disconnect(s));
	finish(s);
	g_string_free(wire, TRUE);
}

/* A CAPA list of 16 MiB (about 300000 lines): the first 256 lines are
 * kept, the rest read and dropped with a note; the login goes on. */
static void test_capa_flood_bounded(void)
{
	GString *wire = g_string_new("+OK\r\nUSER\r\n");

	for (int i = 0; wire->len < (16u << 20); i++)
		g_string_append_printf(wire, "X-CAPABILITY-%08d %s\r\n", i,
				       "padding padding padding padding");
	g_string_append(wire, ".\r\n");
	const struct step script[] = {{STEP_SEND, GREETING, 0, 0},
				      {STEP_EXPECT_LINE, "CAPA", 0, 0},
				      {STEP_SEND, wire->str, 0, wire->len},
				      {STEP_EXPECT_LINE, "USER bob", 0, 0},
				      {STEP_SEND, "+OK\r\n", 0, 0},
				      {STEP_EXPECT_LINE, "PASS pw", 0, 0},
				      {STEP_SEND, "+OK\r\n", 0, 0},
				      {STEP_EXPECT_LINE, "STAT", 0, 0},
				      {STEP_SEND, "+OK 0 0\r\n", 0, 0},
				      QUIT_OK};
	spop_t *s = client_for(script);
	struct heap_watch w;

	heap_watch_start(&w);
	CU_ASSERT_EQUAL(spop_connect(s), 0);
	/* the trail holds 256 lines and the note */
	heap_watch_check(&w, 256 * 64 + 64 * 1024 + HEAP_SLACK,
			 "16 MiB CAPA list");
	CU_ASSERT_EQUAL(spop_get_capability_count(s), 256);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(rec.trail->str, "more than 256 CAPA lines"));
	ASSERT_OK(spop_disconnect(s));
	finish(s);
	g_string_free(wire, TRUE);
}

/* A listing of 16 MiB of lines for numbers STAT never announced: the
 * tables are sized by STAT, not by the listing. */
static void test_list_flood_bounded(void)
{
	GString *wire = g_string_new("+OK\r\n");

	for (int i = 0; wire->len < (16u << 20); i++)
		g_string_append_printf(wire, "%d 12345\r\n", 3 + i);
	g_string_append(wire, "1 10\r\n2 20\r\n.\r\n");
	const struct step script[] = {LOGIN("+OK 2 30\r\n"),
				      {STEP_EXPECT_LINE, "UIDL", 0, 0},
				      {STEP_SEND, wire->str, 0, wire->len},
				      QUIT_OK};
	spop_t *s = client_for(script);
	struct heap_watch w;

	ASSERT_OK(spop_connect(s));
	/* the listing's events are the application's to keep: not here */
	spop_on_message_list(s, NULL, NULL);
	heap_watch_start(&w);
	/* UIDL lines "n 12345": UIDs of 5 characters */
	CU_ASSERT_EQUAL(spop_list_message_uids(s), 0);
	heap_watch_check(&w, 64 * 1024 + HEAP_SLACK, "16 MiB UIDL listing");
	ASSERT_OK(spop_set_message_number(s, 2));
	CU_ASSERT_STRING_EQUAL(spop_get_message_uid(s), "20");
	ASSERT_OK(spop_disconnect(s));
	finish(s);
	g_string_free(wire, TRUE);
}

/* A status line flood of 16 MiB: refused at 64 KiB (172), the heap not
 * grown by more than a few times that. */
static char flood[16 << 20];

static void test_status_flood_bounded(void)
{
	memset(flood, 'A', sizeof(flood));
	memcpy(flood, "+OK ", 4);
	const struct step script[] = {{STEP_SEND, flood, 0, sizeof(flood)},
				      {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);
	struct heap_watch w;

	heap_watch_start(&w);
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_COMMUNICATION);
	heap_watch_check(&w, 4 * 64 * 1024 + HEAP_SLACK, "16 MiB status line");
	ERROR_HAS(s, "64 KiB");
	spop_free(s);
	scripted_finish(&sc); /* its send fails when we hang up: expected */
}

/* 12 MiB of header lines with MessageMemoryLimit 1 MiB: every line is an
 * event, and the header text kept stops at the limit. The parsed table
 * (a struct, the field and the value of every header kept) is not counted
 * against the limit and costs several times the text (about 40000 short
 * headers fit in 1 MiB): the bound is 12 times the limit, still far below
 * what keeping the whole flood would take (500000 headers). */
static void test_header_flood_heap_bounded(void)
{
	GString *wire = g_string_new("+OK\r\n");

	for (int i = 0; wire->len < (12u << 20); i++)
		g_string_append_printf(wire, "X-Field-%d: some value\r\n", i);
	g_string_append(wire, "\r\nbody\r\n.\r\n");
	const struct step script[] = {LOGIN("+OK 1 100\r\n"),
				      {STEP_EXPECT_LINE, "RETR 1", 0, 0},
				      {STEP_SEND, wire->str, 0, wire->len},
				      QUIT_OK};
	spop_t *s = client_for(script);
	struct heap_watch w;
	int transfers = 0, headers = 0;

	config_set(s, "MessageMemoryLimit=1048576");
	spop_on_transfer(s, sample_transfer, &transfers);
	spop_on_header(s, sample_header, &headers);
	ASSERT_OK(spop_connect(s));
	watched = &w;
	heap_watch_start(&w);
	ASSERT_OK(spop_retrieve(s));
	/* headers as a string and parsed: each within the limit */
	heap_watch_check(&w, 12 * 1048576 + HEAP_SLACK, "12 MiB of headers");
	watched = NULL;
	CU_ASSERT(headers > 100000);
	CU_ASSERT(strlen(spop_get_message_headers_string(s)) <= 1048576);
	ASSERT_OK(spop_disconnect(s));
	finish(s);
	g_string_free(wire, TRUE);
}

/* ---- one byte a second ---------------------------------------------------
 * A body dripped at one byte a second never lets Timeout (2 s) expire
 * between bytes: without AbsoluteTimeout the message arrives whole; with
 * it, the drip is cut at 2 s (301) and nothing is stored. */
static void drip_retr(bool absolute)
{
	static const char drip[] = "hi\r\n.\r\n";
	const struct step script[] = {
	    LOGIN("+OK 1 100\r\n"),
	    {STEP_EXPECT_LINE, "RETR 1", 0, 0},
	    {STEP_SEND, "+OK\r\nSubject: drip\r\n\r\n", 0, 0},
	    {STEP_TRICKLE, drip, 1000, 0},
	    absolute ? (struct step){STEP_EXPECT_EOF, NULL, 0, 0}
		     : (struct step){STEP_EXPECT_LINE, "QUIT", 0, 0},
	    {absolute ? STEP_END : STEP_SEND, absolute ? NULL : "+OK\r\n", 0,
	     0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = client_for(script);
	char *dir = g_dir_make_tmp("spop-drip-XXXXXX", NULL);
	char *file = g_build_filename(dir, "m.eml", NULL);

	spop_set_timeout(s, 2);
	if (absolute)
		config_set(s, "AbsoluteTimeout=True");
	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_set_local_file(s, file));
	if (absolute) {
		CU_ASSERT_EQUAL(spop_retrieve(s), SPOP_ERR_TIMEOUT);
		CU_ASSERT_FALSE(spop_get_connected(s));
		remove_empty_dir(dir);
	} else {
		CU_ASSERT_EQUAL(spop_retrieve(s), 0);
		char *data = NULL;
		CU_ASSERT_TRUE(g_file_get_contents(file, &data, NULL, NULL));
		CU_ASSERT_STRING_EQUAL(data, "hi\r\n");
		g_free(data);
		unlink(file);
		remove_empty_dir(dir);
		ASSERT_OK(spop_disconnect(s));
	}
	if (absolute) {
		/* the peer's drip is cut by our hang-up: its trickle step */
		spop_free(s);
		CU_ASSERT_EQUAL(scripted_finish(&sc), 11);
	} else {
		finish(s);
	}
	g_free(file);
	g_free(dir);
}

static void test_drip_within_timeout(void)
{
	drip_retr(false);
}

static void test_drip_absolute_timeout(void)
{
	drip_retr(true);
}

/* ---- unsolicited lines and replies out of sync -------------------------- */

/* Lines no command asked for are seen before the next command is sent:
 * 171 naming them, nothing sent (above all no password after a forged
 * "+OK"), the connection dropped. */
static void test_unsolicited_before_command(void)
{
	static const struct step with_greeting[] = {
	    {STEP_SEND, GREETING "+OK unsolicited\r\n", 0, 0}, GONE};
	static const struct step before_pass[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "-ERR\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "USER bob", 0, 0},
	    /* the answer to PASS, forged ahead of it */
	    {STEP_SEND, "+OK\r\n+OK logged in\r\n", 0, 0},
	    NOTHING_SECRET};
	static const struct step capa_confused[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    /* -ERR, and a list after it anyway */
	    {STEP_SEND, "-ERR\r\nUSER\r\nSASL PLAIN\r\n.\r\n", 0, 0},
	    NOTHING_SECRET};
	const struct step *scripts[] = {with_greeting, before_pass,
					capa_confused};
	const char *seen[] = {"'+OK unsolicited'", "'+OK logged in'", "'USER'"};
	const char *before[] = {"before CAPA", "before PASS", "before USER"};

	for (int i = 0; i < 3; i++) {
		spop_t *s = client_for(scripts[i]);

		CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_PROTOCOL);
		fprintf(stderr, "(%s)\n", spop_last_error(s));
		ERROR_HAS(s, seen[i]);
		ERROR_HAS(s, before[i]);
		ERROR_HAS(s, "out of sync");
		CU_ASSERT_FALSE(spop_get_connected(s));
		CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: PASS"));
		finish(s);
	}
}

/* A second STAT answer after the first: the next method call finds it
 * before sending (171), and nothing is sent; a late one between calls is
 * DoEvents' (test-hostile.c covers its drop). */
static void test_reply_out_of_sync_later(void)
{
	static const struct step script[] = {LOGIN("+OK 1 10\r\n+OK 5 500\r\n"),
					     GONE};
	spop_t *s = client_for(script);

	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_list_message_sizes(s), SPOP_ERR_PROTOCOL);
	ERROR_HAS(s, "'+OK 5 500'");
	ERROR_HAS(s, "before LIST");
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s), 0);
	finish(s);
}

/* ---- dot-stuffing and the terminator split across reads ----------------- */

static const char dot_wire[] =
    "+OK\r\nSubject: dots\r\n\r\n..one\r\n...\r\n..\r\n.x\r\nend.\r\n"
    ". \r\n.\r\n";
static const char dot_stored[] =
    "Subject: dots\r\n\r\n.one\r\n..\r\n.\r\nx\r\nend.\r\n \r\n";

static void check_dots(const struct step *reply)
{
	const struct step script[] = {LOGIN("+OK 1 100\r\n"),
				      {STEP_EXPECT_LINE, "RETR 1", 0, 0},
				      reply[0],
				      reply[1],
				      reply[2],
				      reply[3],
				      {STEP_EXPECT_LINE, "NOOP", 0, 0},
				      {STEP_SEND, "+OK after\r\n", 0, 0},
				      QUIT_OK};
	spop_t *s = client_for(script);
	const char *data;
	size_t len;

	ASSERT_OK(spop_set_include_headers(s, 1));
	ASSERT_OK(spop_connect(s));
	ASSERT_OK(spop_retrieve(s));
	ASSERT_OK(spop_get_message(s, &data, &len));
	CU_ASSERT_EQUAL(len, strlen(dot_stored));
	CU_ASSERT(len == strlen(dot_stored) && !memcmp(data, dot_stored, len));
	/* the terminator ended the body exactly: the next reply is NOOP's */
	ASSERT_OK(spop_send_command(s, "NOOP"));
	CU_ASSERT_STRING_EQUAL(spop_get_last_reply(s), "+OK after");
	ASSERT_OK(spop_disconnect(s));
	finish(s);
}

/* One byte per write, 3 ms apart: every boundary (inside CRLF, between
 * "." and CR, in "\r\n.\r\n") falls between two reads. */
static void test_dots_byte_by_byte(void)
{
	const struct step reply[] = {{STEP_TRICKLE, dot_wire, 3, 0},
				     {STEP_SLEEP, NULL, 0, 0},
				     {STEP_SLEEP, NULL, 0, 0},
				     {STEP_SLEEP, NULL, 0, 0}};

	check_dots(reply);
}

/* The terminator in pieces at its worst places: "\r" | "\n." | "\r" |
 * "\n", with pauses so each is a read of its own. */
static void test_terminator_split(void)
{
	size_t n = strlen(dot_wire);
	const struct step reply[] = {{STEP_SEND, dot_wire, 0, n - 4},
				     {STEP_TRICKLE, dot_wire + n - 4, 40, 2},
				     {STEP_SEND, dot_wire + n - 2, 0, 1},
				     {STEP_TRICKLE, dot_wire + n - 1, 40, 1}};

	check_dots(reply);
}

/* ---- control characters and terminal escapes in server text ------------ */

/* A -ERR with escapes to PASS, a greeting with them, a malformed reply:
 * the trail and the error message carry \xNN, never the bytes. */
static void test_escapes_in_errors(void)
{
	static const struct step err_pass[] = {
	    {STEP_SEND, "+OK \x1b]0;title\x07 <1@x>\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "-ERR\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "USER bob", 0, 0},
	    {STEP_SEND, "+OK\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "PASS pw", 0, 0},
	    {STEP_SEND, "-ERR [AUTH] \x1b[2J\x1b[1;1Hlogin ok\x0d\r\n", 0, 0},
	    {STEP_REFUSE, "USER|PASS|AUTH|APOP", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	static const struct step bad_stat[] = {LOGIN("+OK \x1b[5mlots\x7f\r\n"),
					       GONE};
	static const struct step bad_greeting[] = {
	    {STEP_SEND, "\x1b[31m* OK IMAP\r\n", 0, 0}, GONE};
	const struct step *scripts[] = {err_pass, bad_stat, bad_greeting};
	const char *want[] = {"\\x1B[2J\\x1B[1;1Hlogin ok", "\\x1B[5mlots\\x7F",
			      "\\x1B[31m* OK IMAP"};

	for (int i = 0; i < 3; i++) {
		spop_t *s = client_for(scripts[i]);

		CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_PROTOCOL);
		fprintf(stderr, "(%s)\n", spop_last_error(s));
		ERROR_HAS(s, want[i]);
		error_is_printable(s);
		CU_ASSERT_PTR_NULL(strchr(rec.trail->str, '\x1b'));
		CU_ASSERT_PTR_NULL(strchr(rec.trail->str, '\x07'));
		no_password_seen(s);
		finish(s);
	}
}

/* ---- CR/LF from the application ----------------------------------------- */

/* User, Password or AuthorizationIdentity with a CR or LF: 10022 before
 * connecting; the listener shows no connection was even made. */
static void test_crlf_in_credentials(void)
{
	static const struct {
		const char *field, *value;
	} bad[] = {
	    {"user", "bob\r\nDELE 1"},
	    {"user", "bob\nDELE 1"},
	    {"password", "pw\r\nDELE 1"},
	    {"password", "pw\r"},
	    {"AuthorizationIdentity", "alice\nDELE 1"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		int port, fd = loopback_listener(&port);
		spop_t *s = client_new("bob", "pw", &rec);
		struct pollfd p = {fd, POLLIN, 0};

		spop_set_mail_port(s, port);
		spop_set_timeout(s, 5);
		if (!strcmp(bad[i].field, "user")) {
			ASSERT_OK(spop_set_user(s, bad[i].value));
		} else if (!strcmp(bad[i].field, "password")) {
			ASSERT_OK(spop_set_password(s, bad[i].value));
		} else {
			config_set(s, "AuthorizationIdentity=%s", bad[i].value);
		}
		if (strcmp(bad[i].field, "password")) {
			ASSERT_OK(
			    spop_set_auth_mechanism(s, SPOP_AM_SASLPLAIN));
		}
		CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_INVALID_ARGUMENT);
		ERROR_HAS(s, "contains a CR or LF");
		ERROR_HAS(s, "nothing was sent");
		error_is_printable(s);
		/* no connection waits to be accepted */
		CU_ASSERT_EQUAL(poll(&p, 1, 200), 0);
		CU_ASSERT_PTR_NULL(strstr(spop_last_error(s), "DELE"));
		spop_free(s);
		close(fd);
	}
}

/* A command with a CR or LF: 10022 and nothing sent (the peer would fail
 * on any line before QUIT). */
static void test_crlf_in_command(void)
{
	static const struct step script[] = {LOGIN("+OK 1 10\r\n"), QUIT_OK};
	static const char *const commands[] = {"NOOP\r\nDELE 1", "NOOP\nDELE 1",
					       "NOOP\r", "\nDELE 1"};
	spop_t *s = client_for(script);

	ASSERT_OK(spop_connect(s));
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
		CU_ASSERT_EQUAL(spop_send_command(s, commands[i]),
				SPOP_ERR_INVALID_ARGUMENT);
		ERROR_HAS(s, "nothing was sent");
		CU_ASSERT_TRUE(spop_get_connected(s));
	}
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "DELE"));
	ASSERT_OK(spop_disconnect(s));
	finish(s);
}

/* ---- proxies that lie about lengths or send data early ------------------ */

static spop_t *proxied_client(const struct step *script)
{
	spop_t *s = scripted_client(&sc, script, "bob", &rec);

	config_set(s, "FirewallType=1");
	config_set(s, "FirewallHost=127.0.0.1");
	config_set(s, "FirewallPort=%d", sc.port);
	spop_set_mail_server(s, "pop.example");
	spop_set_mail_port(s, 110);
	return s;
}

#define CONNECT_REQUEST                                                        \
	{STEP_EXPECT_LINE, "CONNECT pop.example:110 HTTP/1.1", 0, 0},          \
	    {STEP_EXPECT_LINE, "Host: pop.example:110", 0, 0},                 \
	{                                                                      \
		STEP_EXPECT_LINE, "", 0, 0                                     \
	}

/* A 200 with a Content-Length: RFC 9110 section 9.3.6 says a client
 * ignores it, so the bytes after the blank line are the tunnel's (the
 * greeting, sent early in the same packet), none skipped. */
static void test_proxy_200_content_length(void)
{
	static const struct step script[] = {
	    CONNECT_REQUEST,
	    {STEP_SEND,
	     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	     "Transfer-Encoding: chunked\r\n\r\n" GREETING,
	     0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "-ERR\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "USER bob", 0, 0},
	    {STEP_SEND, "+OK\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "PASS pw", 0, 0},
	    {STEP_SEND, "+OK\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "STAT", 0, 0},
	    {STEP_SEND, "+OK 0 0\r\n", 0, 0},
	    QUIT_OK};
	spop_t *s = proxied_client(script);

	CU_ASSERT_EQUAL(spop_connect(s), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "S: +OK ready"));
	ASSERT_OK(spop_disconnect(s));
	finish(s);
}

/* A 407 announcing a body longer than it sends, then closing; a 200
 * whose headers never end (16 MiB): 118 naming the proxy, no POP3 byte
 * sent, the heap bounded by the reply's cap. */
static void test_proxy_lies_about_lengths(void)
{
	static const struct step short_body[] = {
	    CONNECT_REQUEST,
	    {STEP_SEND,
	     "HTTP/1.1 407 Proxy Authentication Required\r\n"
	     "Content-Length: 99999999999999999999\r\n\r\nshort",
	     0, 0},
	    {STEP_END, NULL, 0, 0}};
	GString *hdrs = g_string_new("HTTP/1.1 200 OK\r\n");
	while (hdrs->len < (16u << 20))
		g_string_append(hdrs, "X-Filler: 0123456789abcdef\r\n");
	const struct step endless[] = {CONNECT_REQUEST,
				       {STEP_SEND, hdrs->str, 0, hdrs->len},
				       {STEP_END, NULL, 0, 0}};
	const struct step *scripts[] = {short_body, endless};

	for (int i = 0; i < 2; i++) {
		spop_t *s = proxied_client(scripts[i]);
		struct heap_watch w;
		char *proxy = g_strdup_printf("127.0.0.1:%d", sc.port);

		heap_watch_start(&w);
		CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_FIREWALL);
		heap_watch_check(&w, 4 * 16384 + HEAP_SLACK, "lying proxy");
		fprintf(stderr, "(%s)\n", spop_last_error(s));
		ERROR_HAS(s, proxy);
		CU_ASSERT_FALSE(spop_get_connected(s));
		NO_CREDENTIALS_IN(rec.trail->str);
		spop_free(s);
		scripted_finish(&sc); /* a flood's send fails at our close */
		g_free(proxy);
	}
	g_string_free(hdrs, TRUE);
}

/* ---- servers that close mid-reply --------------------------------------- */

/* Closed inside a status line, inside CAPA's list, inside a LIST: the
 * drop (1120), never a half line taken for a reply. */
static void test_close_mid_reply(void)
{
	static const struct step mid_greeting[] = {{STEP_SEND, "+OK rea", 0, 0},
						   {STEP_END, NULL, 0, 0}};
	static const struct step mid_capa[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nUSER\r\nSASL PL", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	static const struct step mid_stat[] = {LOGIN("+OK 1 1"),
					       {STEP_END, NULL, 0, 0}};
	const struct step *scripts[] = {mid_greeting, mid_capa, mid_stat};

	for (int i = 0; i < 3; i++) {
		spop_t *s = client_for(scripts[i]);
		int rc = spop_connect(s);

		/* closed, or reset when our last command met the close */
		CU_ASSERT(rc == SPOP_ERR_DROPPED ||
			  rc == SPOP_ERR_CONNECTION_RESET);
		CU_ASSERT_FALSE(spop_get_connected(s));
		CU_ASSERT_EQUAL(spop_get_message_count(s), 0);
		finish(s);
	}
}

static const struct test_case cases[] = {
    {"caps refreshed after STLS: auto uses the list said under TLS",
     test_caps_refreshed_after_stls},
    {"SASL offered before STLS, dropped after: nothing sent",
     test_sasl_dropped_after_stls},
    {"TLS without close_notify mid-RETR: not stored",
     test_tls_no_close_notify_mid_retr},
    {"TLS truncated record mid-RETR: not stored",
     test_tls_truncated_record_mid_retr},
    {"SASL downgrade: only plaintext mechanisms, policy refuses",
     test_sasl_downgrade_plaintext_only},
    {"SASL downgrade: CRAM-MD5 asked, PLAIN offered, no fallback",
     test_sasl_downgrade_no_fallback},
    {"bogus SASL mechanism list", test_sasl_bogus_list},
    {"the tail of an overlong CAPA line is no capability",
     test_capa_long_line_tail},
    {"CRAM-MD5 challenge not base64: cancelled",
     test_cram_challenge_not_base64},
    {"4 MiB SASL challenge: 172, heap bounded", test_huge_challenge},
    {"APOP: several timestamps, a huge one",
     test_apop_several_and_huge_timestamps},
    {"APOP: timestamps with control characters",
     test_apop_timestamp_control_chars},
    {"STAT numbers: signs, overflow, hex", test_stat_numbers_overflow},
    {"STAT size INT64_MAX", test_stat_int64_max},
    {"LIST lines: signs, overflow, hex; stream in step",
     test_list_numbers_overflow},
    {"LIST n: overflow, signs, wrong number", test_list_one_overflow},
    {"UIDL listing: 70 ok, 71, escapes, blanks refused",
     test_overlong_uid_listing},
    {"UIDL n: 71-character UID refused", test_overlong_uid_query},
    {"16 MiB body line: heap bounded", test_overlong_body_line_bounded},
    {"16 MiB CAPA list: heap bounded", test_capa_flood_bounded},
    {"16 MiB UIDL listing: heap bounded", test_list_flood_bounded},
    {"16 MiB status line: heap bounded", test_status_flood_bounded},
    {"12 MiB of headers: heap bounded by MessageMemoryLimit",
     test_header_flood_heap_bounded},
    {"one byte a second: Timeout not expired, message whole",
     test_drip_within_timeout},
    {"one byte a second: AbsoluteTimeout cuts it, nothing stored",
     test_drip_absolute_timeout},
    {"unsolicited lines before a command: nothing sent",
     test_unsolicited_before_command},
    {"a second reply found by the next call", test_reply_out_of_sync_later},
    {"dot-stuffing byte by byte", test_dots_byte_by_byte},
    {"terminator split at its worst places", test_terminator_split},
    {"terminal escapes in error messages and the trail",
     test_escapes_in_errors},
    {"CR/LF in User, Password, AuthorizationIdentity: not even connected",
     test_crlf_in_credentials},
    {"CR/LF in a command: nothing sent", test_crlf_in_command},
    {"HTTP proxy 200 with Content-Length: ignored, greeting early",
     test_proxy_200_content_length},
    {"HTTP proxy lying about lengths: 118, heap bounded",
     test_proxy_lies_about_lengths},
    {"close mid-reply: greeting, CAPA, STAT", test_close_mid_reply},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"hostile-2", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	int rc = test_run(suites);

	if (tls_peer.cred)
		gnutls_certificate_free_credentials(tls_peer.cred);
	return rc;
}
