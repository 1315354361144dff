/* The TLS providers against a private Dovecot with TLS (certificates made at
 * test time by make-certs.sh) and, for what no real server does (stripping,
 * injection, silence during the handshake), against a scripted peer. One
 * source, run once per provider: SPOP_TEST_TLS_PROVIDER=gnutls (SSLProvider
 * Internal, and Automatic) or openssl (Platform). A missing provider plugin
 * fails the suite; it never skips. */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"
#include "scripted.h"

/* ---- the provider under test ------------------------------------------ */

static const char *provider; /* "gnutls" or "openssl" */
static int provider_value;   /* its SSLProvider */

/* ---- the Dovecot variants, each started on first use ------------------- */

enum variant {
	V_GOOD,
	V_WRONGHOST,
	V_EXPIRED,
	V_SELFSIGNED,
	V_CLIENTCERT, /* requires a client certificate */
	V_TLS13,      /* ssl_min_protocol TLSv1.3 */
	V_CHACHA,     /* ssl_cipher_list: one TLS 1.2 suite */
	V_COUNT
};

static const struct {
	const char *name;
	struct harness_tls tls;
} variants[V_COUNT] = {
    [V_GOOD] = {"good", {"good", 0, NULL, NULL}},
    [V_WRONGHOST] = {"wronghost", {"wronghost", 0, NULL, NULL}},
    [V_EXPIRED] = {"expired", {"expired", 0, NULL, NULL}},
    [V_SELFSIGNED] = {"selfsigned", {"selfsigned", 0, NULL, NULL}},
    [V_CLIENTCERT] = {"clientcert", {"good", 1, NULL, NULL}},
    [V_TLS13] = {"tls13", {"good", 0, "TLSv1.3", NULL}},
    [V_CHACHA] = {"chacha", {"good", 0, NULL, "ECDHE-RSA-CHACHA20-POLY1305"}},
};

static struct harness_dovecot servers[V_COUNT];

/* The running Dovecot of variant v; common.c's `dovecot` (which client_new
 * and expected_message read) becomes it. */
static struct harness_dovecot *server(enum variant v)
{
	if (servers[v].port == 0) {
		char *dir =
		    g_strdup_printf("tls-%s-%s", provider, variants[v].name);
		int rc = harness_dovecot_start_tls(&servers[v], dir,
						   &variants[v].tls);

		g_free(dir);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
	}
	dovecot = servers[v];
	return &servers[v];
}

static void stop_servers(void)
{
	for (int v = 0; v < V_COUNT; v++)
		if (servers[v].port != 0)
			harness_dovecot_stop(&servers[v]);
}

/* ---- certificates -------------------------------------------------------- */

/* Contents of a make-certs.sh file; the test fails when it is missing. */
static char *cert_text(const char *name)
{
	char *path = harness_cert_file(name), *text = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	CU_ASSERT_TRUE_FATAL(g_file_get_contents(path, &text, NULL, NULL));
	g_free(path);
	return text;
}

/* The base64 bodies of the PEM certificates in text, white space removed,
 * in order: two PEM texts hold the same certificates when these are equal,
 * whatever their line length or line ends. */
static GPtrArray *pem_blocks(const char *text, size_t len)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	static const char end[] = "-----END CERTIFICATE-----";
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	char *copy = g_strndup(text ? text : "", text ? len : 0);
	const char *p = copy;

	while ((p = strstr(p, begin)) != NULL) {
		const char *q = strstr(p, end);
		GString *b = g_string_new(NULL);

		if (q == NULL) {
			g_string_free(b, TRUE);
			break;
		}
		for (p += sizeof(begin) - 1; p < q; p++)
			if (!g_ascii_isspace(*p))
				g_string_append_c(b, *p);
		g_ptr_array_add(out, g_string_free(b, FALSE));
		p = q + sizeof(end) - 1;
	}
	g_free(copy);
	return out;
}

/* 1 when the first certificate of a (PEM, length) equals that of file. */
static int same_cert(const char *data, size_t len, const char *file)
{
	char *text = cert_text(file);
	GPtrArray *a = pem_blocks(data, len),
		  *b = pem_blocks(text, strlen(text));
	int same =
	    a->len > 0 && b->len > 0 &&
	    strcmp(g_ptr_array_index(a, 0), g_ptr_array_index(b, 0)) == 0;

	g_ptr_array_free(a, TRUE);
	g_ptr_array_free(b, TRUE);
	g_free(text);
	return same;
}

/* ---- the client and what its TLS events said ----------------------------- */

struct tls_seen {
	GString *status; /* SSLStatus messages, one a line */
	int statuses;
	int auth_fired;
	int accept_in; /* accept as the event came in */
	char subject[512], issuer[512], auth_status[512];
	char *cert; /* cert_encoded of the last event */
	size_t cert_len;
	int set_accept; /* -1 leaves the verdict alone */
};

static struct recorder rec;
static struct tls_seen seen;
static struct scripted sc;

static void seen_clear(void)
{
	if (seen.status)
		g_string_free(seen.status, TRUE);
	g_free(seen.cert);
	memset(&seen, 0, sizeof(seen));
	seen.status = g_string_new(NULL);
	seen.set_accept = -1;
}

static void on_ssl_status(spop_t *s, const struct spop_ssl_status_event *e,
			  void *ud)
{
	struct tls_seen *t = ud;

	(void)s;
	t->statuses++;
	g_string_append_printf(t->status, "%s\n", e->message);
}

static void on_server_auth(spop_t *s,
			   struct spop_ssl_server_authentication_event *e,
			   void *ud)
{
	struct tls_seen *t = ud;

	(void)s;
	t->auth_fired++;
	t->accept_in = e->accept;
	g_strlcpy(t->subject, e->cert_subject ? e->cert_subject : "",
		  sizeof(t->subject));
	g_strlcpy(t->issuer, e->cert_issuer ? e->cert_issuer : "",
		  sizeof(t->issuer));
	g_strlcpy(t->auth_status, e->status ? e->status : "",
		  sizeof(t->auth_status));
	g_free(t->cert);
	t->cert = e->cert_encoded
		      ? g_strndup(e->cert_encoded, e->cert_encoded_len)
		      : NULL;
	t->cert_len = e->cert_encoded ? e->cert_encoded_len : 0;
	if (t->set_accept >= 0)
		e->accept = t->set_accept;
}

static void config_ok(spop_t *s, const char *setting)
{
	const char *r = spop_config(s, setting);

	if (r == NULL)
		fprintf(stderr, "Config %.60s failed: %d %s\n", setting,
			spop_last_error_code(s), spop_last_error(s));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
}

static void trust_test_ca(spop_t *s)
{
	char *ca = cert_text("ca.pem");
	char *setting = g_strconcat("SSLServerCACerts=", ca, NULL);

	config_ok(s, setting);
	g_free(setting);
	g_free(ca);
}

static void attach(spop_t *s)
{
	seen_clear();
	spop_on_ssl_status(s, on_ssl_status, &seen);
	spop_on_ssl_server_authentication(s, on_server_auth, &seen);
	ASSERT_OK(spop_set_ssl_provider(s, provider_value));
}

/* A client for alice on variant v: implicit TLS on its pop3s port, or STLS
 * (Explicit) on its POP3 port; trusting the test CA when trust is set. */
static spop_t *tls_client(enum variant v, int mode, int trust)
{
	struct harness_dovecot *d = server(v);
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, &rec);

	ASSERT_OK(spop_set_mail_port(
	    s, mode == SPOP_SSL_EXPLICIT ? d->port : d->tls_port));
	ASSERT_OK(spop_set_ssl_start_mode(s, mode));
	attach(s);
	if (trust)
		trust_test_ca(s);
	return s;
}

/* A client for the scripted peer, TLS by the provider under test. */
static spop_t *scripted_tls_client(const struct step *script)
{
	spop_t *s = scripted_client(&sc, script, "bob", &rec);

	attach(s);
	return s;
}

#define NO_CREDENTIALS(trail)                                                  \
	do {                                                                   \
		CU_ASSERT_PTR_NULL(strstr(trail, "C: USER"));                  \
		CU_ASSERT_PTR_NULL(strstr(trail, "C: PASS"));                  \
		CU_ASSERT_PTR_NULL(strstr(trail, "C: AUTH"));                  \
		CU_ASSERT_PTR_NULL(strstr(trail, "C: APOP"));                  \
	} while (0)

/* Copy of a Config value (spop_config's buffer is reused); "" on error. */
static char *cfg(spop_t *s, const char *name)
{
	const char *v = spop_config(s, name);

	if (v == NULL)
		fprintf(stderr, "Config %s: %d %s\n", name,
			spop_last_error_code(s), spop_last_error(s));
	return g_strdup(v ? v : "");
}

/* ---- Dovecot's side ---------------------------------------------------- */

/* The line of text containing both a and b, or NULL. */
static char *log_line(const char *text, const char *a, const char *b)
{
	char **lines = g_strsplit(text, "\n", -1), *found = NULL;

	for (int i = 0; lines[i] && !found; i++)
		if (strstr(lines[i], a) && (!b || strstr(lines[i], b)))
			found = g_strdup(lines[i]);
	g_strfreev(lines);
	return found;
}

/* Dovecot's line about the connection from our local port (a successful
 * login: "Login: user=<alice>, ..., rport=N, ..., TLS, TLSv1.3 with cipher
 * TLS_AES_256_GCM_SHA384 (256/256 bits)"), waiting for it a while. */
static char *login_line(struct harness_dovecot *d, long long offset,
			int local_port)
{
	char *rport = g_strdup_printf("rport=%d,", local_port);
	char *log = harness_dovecot_log_wait(d, offset, rport, 5000);
	char *line = log ? log_line(log, "Login: ", rport) : NULL;

	if (line == NULL)
		fprintf(stderr,
			"no Dovecot login line with %s after offset "
			"%lld:\n%s\n",
			rport, offset, log ? log : "(nothing)");
	g_free(log);
	g_free(rport);
	return line;
}

/* What %k says in a Dovecot line: "TLSv1.2 with cipher NAME (B/B bits)". */
struct dovecot_tls {
	char version[16]; /* "TLS1.2", in libspop's spelling */
	char cipher[128]; /* OpenSSL's name (IANA's for TLS 1.3) */
	int bits;
};

static int parse_k(const char *line, struct dovecot_tls *k)
{
	GRegex *re = g_regex_new(
	    "TLSv(1\\.[0-3]) with cipher (\\S+) \\((\\d+)/", 0, 0, NULL);
	GMatchInfo *m = NULL;
	int ok = g_regex_match(re, line, 0, &m);

	if (ok) {
		char *v = g_match_info_fetch(m, 1),
		     *c = g_match_info_fetch(m, 2),
		     *b = g_match_info_fetch(m, 3);

		g_snprintf(k->version, sizeof(k->version), "TLS%s", v);
		g_strlcpy(k->cipher, c, sizeof(k->cipher));
		k->bits = atoi(b);
		g_free(v);
		g_free(c);
		g_free(b);
	}
	g_match_info_free(m);
	g_regex_unref(re);
	return ok;
}

/* IANA name of an OpenSSL cipher name, from `openssl ciphers -stdname`
 * (TLS 1.3 names are the same in both). */
static char *iana_name(const char *openssl_name)
{
	const char *argv[] = {"openssl", "ciphers", "-stdname", "ALL", NULL};
	char *out = NULL, **lines, *found = NULL;

	if (g_str_has_prefix(openssl_name, "TLS_"))
		return g_strdup(openssl_name);
	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
			  NULL, &out, NULL, NULL, NULL))
		return NULL;
	lines = g_strsplit(out, "\n", -1);
	for (int i = 0; lines[i] && !found; i++) {
		char **f = g_strsplit_set(lines[i], " \t", -1);
		int n = 0;
		char *w[4] = {0};

		/* "IANA - OPENSSL VERSION ..." */
		for (int j = 0; f[j] && n < 4; j++)
			if (*f[j])
				w[n++] = f[j];
		if (n >= 3 && strcmp(w[1], "-") == 0 &&
		    strcmp(w[2], openssl_name) == 0)
			found = g_strdup(w[0]);
		g_strfreev(f);
	}
	g_strfreev(lines);
	g_free(out);
	return found;
}

/* SSLNegotiated* are set, agree with each other, and with what Dovecot
 * logged for this connection (line NULL: no Dovecot to compare with). */
static void check_negotiated(spop_t *s, const char *line)
{
	char *version = cfg(s, "SSLNegotiatedVersion");
	char *cipher = cfg(s, "SSLNegotiatedCipher");
	char *strength = cfg(s, "SSLNegotiatedCipherStrength");
	char *suite = cfg(s, "SSLNegotiatedCipherSuite");
	char *kx = cfg(s, "SSLNegotiatedKeyExchange");
	char *kx_strength = cfg(s, "SSLNegotiatedKeyExchangeStrength");
	char *cipher_us = g_strdelimit(g_strdup(cipher), "-", '_');
	struct dovecot_tls k;
	unsigned failures = CU_get_number_of_failures();

	CU_ASSERT(strcmp(version, "TLS1.2") == 0 ||
		  strcmp(version, "TLS1.3") == 0);
	CU_ASSERT(*cipher != '\0');
	CU_ASSERT(atoi(strength) >= 128);
	CU_ASSERT(g_str_has_prefix(suite, "TLS_"));
	/* the bulk cipher is the suite's: AES-256-GCM in TLS_AES_256_GCM_... */
	CU_ASSERT_PTR_NOT_NULL(strstr(suite, cipher_us));
	/* a suite of TLS 1.3 has no key exchange in its name */
	CU_ASSERT_EQUAL(strstr(suite, "_WITH_") == NULL,
			strcmp(version, "TLS1.3") == 0);
	CU_ASSERT(*kx != '\0');
	CU_ASSERT(atoi(kx_strength) > 0);
	/* (EC)DHE suites agree on an ephemeral group, not RSA transport */
	if (strstr(suite, "DHE_") || strcmp(version, "TLS1.3") == 0)
		CU_ASSERT(strcmp(kx, "RSA") != 0);
	if (line != NULL) {
		CU_ASSERT_TRUE_FATAL(parse_k(line, &k));
		CU_ASSERT_STRING_EQUAL(version, k.version);
		char *iana = iana_name(k.cipher);
		CU_ASSERT_PTR_NOT_NULL(iana);
		if (iana)
			CU_ASSERT_STRING_EQUAL(suite, iana);
		g_free(iana);
		CU_ASSERT_EQUAL(atoi(strength), k.bits);
	}
	if (CU_get_number_of_failures() > failures)
		fprintf(stderr,
			"negotiated: %s / %s / %s bits / %s / %s %s bits; "
			"Dovecot: %s\n",
			version, cipher, strength, suite, kx, kx_strength,
			line ? line : "-");
	g_free(version);
	g_free(cipher);
	g_free(cipher_us);
	g_free(strength);
	g_free(suite);
	g_free(kx);
	g_free(kx_strength);
}

/* The local port of the live connection (Dovecot's rport). */
static int local_port(spop_t *s)
{
	char *v = cfg(s, "LocalPort");
	int port = atoi(v);

	g_free(v);
	CU_ASSERT(port > 0);
	return port;
}

/* Dovecot's line about the one connection made after offset, once it is
 * there: pop3-login's Disconnected or Login line. The suites run one
 * connection at a time and the harness waits for its own probes to be
 * logged, so after offset there is no other. (Its rport= cannot be used:
 * a connection that fails has no LocalPort left to read, and Config read
 * from inside an event clears the running method's error.) NULL after
 * printing the log when none came. */
static char *connection_line(struct harness_dovecot *d, long long offset)
{
	char *line = NULL;

	for (int waited = 0; line == NULL && waited < 5000; waited += 20) {
		char *log = harness_dovecot_log(d, offset);
		char **lines = g_strsplit(log, "\n", -1);

		for (int i = 0; lines[i] && !line; i++)
			if (strstr(lines[i], "pop3-login: ") &&
			    strstr(lines[i], "rport=") &&
			    (strstr(lines[i], "Disconnected") ||
			     strstr(lines[i], "Login: ")))
				line = g_strdup(lines[i]);
		g_strfreev(lines);
		if (line == NULL && waited + 20 >= 5000)
			fprintf(stderr,
				"no Dovecot connection line after offset "
				"%lld:\n%s\n",
				offset, log);
		g_free(log);
		if (line == NULL)
			g_usleep(20 * 1000);
	}
	return line;
}

/* Dovecot saw no credentials on the connection made after offset: it
 * ended with "no auth attempts" and no user. */
static void dovecot_saw_no_login(struct harness_dovecot *d, long long offset)
{
	char *line = connection_line(d, offset);

	CU_ASSERT_PTR_NOT_NULL_FATAL(line);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "Disconnected"));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "(no auth attempts"));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "user=<>"));
	g_free(line);
}

/* Dovecot refused the handshake on the connection made after offset, for
 * reason (its OpenSSL's words), and nothing was tried. Its OpenSSL names
 * the reason when it reads the ClientHello before the client, having read
 * the alert, hangs up; when the hang-up comes first it logs
 * "SSL_accept() syscall failed" instead (seen under load in CI), for the
 * same refusal. */
static void dovecot_refused_handshake(struct harness_dovecot *d,
				      long long offset, const char *reason)
{
	char *log = connection_line(d, offset);

	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	bool refused =
	    strstr(log, "TLS handshaking") &&
	    strstr(log, "(no auth attempts") &&
	    (strstr(log, reason) || strstr(log, "SSL_accept() syscall failed"));
	CU_ASSERT_TRUE(refused);
	if (!refused)
		fprintf(stderr, "(Dovecot's line, not '%s': %s)\n", reason,
			log);
	g_free(log);
}

/* ---- the provider -------------------------------------------------------- */

struct plugin_seen {
	int found;
	char error[512];
};

static void on_plugin(const struct spop_plugin_info *info, void *ud)
{
	struct plugin_seen *p = ud;

	if (strcmp(info->kind_name, "tls") || strcmp(info->name, provider))
		return;
	p->found++;
	if (info->error)
		g_strlcpy(p->error, info->error, sizeof(p->error));
}

/* NULL when the provider plugin is on the plugin path and loads, else
 * why not (g_free it). */
static char *provider_missing(void)
{
	spop_t *s = spop_new();
	struct plugin_seen p = {0};
	char *why = NULL;

	if (spop_list_plugins(s, on_plugin, &p) != 0)
		why = g_strdup_printf("listing plugins failed: %s",
				      spop_last_error(s));
	else if (p.found == 0)
		why = g_strdup_printf("no tls plugin '%s' on the plugin path",
				      provider);
	else if (p.error[0])
		why = g_strdup_printf("tls plugin '%s' does not load: %s",
				      provider, p.error);
	spop_free(s);
	return why;
}

/* The harness itself, without libspop: OpenSSL's client verifies the good
 * server through STLS and on the pop3s port, so a failure below is the
 * provider's, not the server's. */
static void test_harness_tls(void)
{
	struct harness_dovecot *d = server(V_GOOD);
	char *ca = harness_cert_file("ca.pem");

	CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
	for (int implicit = 0; implicit < 2; implicit++) {
		char *target = g_strdup_printf(
		    "127.0.0.1:%d", implicit ? d->tls_port : d->port);
		const char *argv[] = {"openssl",
				      "s_client",
				      "-connect",
				      target,
				      "-CAfile",
				      ca,
				      "-verify_return_error",
				      "-verify_ip",
				      "127.0.0.1",
				      "-brief",
				      implicit ? NULL : "-starttls",
				      "pop3",
				      NULL};
		char *out = NULL, *err = NULL;
		int status = -1;

		CU_ASSERT_TRUE(g_spawn_sync(
		    NULL, (char **)argv, NULL,
		    G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL, NULL,
		    NULL, &out, &err, &status, NULL));
		CU_ASSERT_EQUAL(status, 0);
		/* (-brief reports on stderr; the greeting may not come
		 * before stdin's end closes the connection) */
		CU_ASSERT(err && strstr(err, "CONNECTION ESTABLISHED"));
		CU_ASSERT(err && strstr(err, "Verification: OK"));
		if (status != 0 || !err || !strstr(err, "Verification: OK"))
			fprintf(stderr, "openssl s_client %s: %s%s\n", target,
				out ? out : "", err ? err : "");
		g_free(out);
		g_free(err);
		g_free(target);
	}
	g_free(ca);
}

static void test_ssl_enabled(void)
{
	spop_t *s = spop_new();

	CU_ASSERT_FALSE(spop_get_ssl_enabled(s)); /* None by default */
	ASSERT_OK(spop_set_ssl_start_mode(s, SPOP_SSL_EXPLICIT));
	CU_ASSERT_TRUE(spop_get_ssl_enabled(s));
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLEnabled"), "True");
	/* True keeps a mode that is not None */
	ASSERT_OK(spop_set_ssl_enabled(s, 1));
	CU_ASSERT_EQUAL(spop_get_ssl_start_mode(s), SPOP_SSL_EXPLICIT);
	config_ok(s, "SSLEnabled=False");
	CU_ASSERT_EQUAL(spop_get_ssl_start_mode(s), SPOP_SSL_NONE);
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLEnabled"), "False");
	config_ok(s, "SSLEnabled=True");
	CU_ASSERT_EQUAL(spop_get_ssl_start_mode(s), SPOP_SSL_AUTOMATIC);
	ASSERT_OK(spop_set_ssl_start_mode(s, SPOP_SSL_IMPLICIT));
	CU_ASSERT_TRUE(spop_get_ssl_enabled(s));
	spop_free(s);
}

static void test_ssl3_refused(void)
{
	static const char *const bad[] = {"SSLEnabledProtocols=48",
					  "SSLEnabledProtocols=12",
					  "SSLEnabledProtocols=3120"};
	spop_t *s = spop_new();
	char *before;

	ASSERT_OK(spop_set_ssl_provider(s, provider_value));
	before = cfg(s, "SSLEnabledProtocols");
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		CU_ASSERT_PTR_NULL(spop_config(s, bad[i]));
		CU_ASSERT_EQUAL(spop_last_error_code(s),
				SPOP_ERR_INVALID_VALUE);
		ERROR_HAS(s, "SSLEnabledProtocols");
		/* the refused value did not stick */
		CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLEnabledProtocols"),
				       before);
	}
	config_ok(s, "SSLEnabledProtocols=3072");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLEnabledProtocols"), "3072");
	g_free(before);
	spop_free(s);
}

/* ---- sessions against the good server -------------------------------- */

/* Logs in, checks the mailbox and the negotiated values against Dovecot's
 * log; session_end() goes on. */
static void session_begin(spop_t *s, struct harness_dovecot *d)
{
	long long offset = harness_dovecot_log_size(d);
	char *line;

	if (spop_connect(s) != 0)
		fprintf(stderr, "Connect: %d %s\n", spop_last_error_code(s),
			spop_last_error(s));
	ASSERT_OK(spop_last_error_code(s));
	CU_ASSERT_TRUE(spop_get_connected(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s),
			harness_message_count(d, HARNESS_MAIN_USER));
	/* the core names the provider that ran the session */
	char *by = g_strdup_printf("(%s)\n", provider);
	CU_ASSERT_PTR_NOT_NULL(strstr(seen.status->str, by));
	g_free(by);
	by = cfg(s, "SSLProviderName");
	CU_ASSERT_STRING_EQUAL(by, provider);
	g_free(by);
	line = login_line(d, offset, local_port(s));
	CU_ASSERT_PTR_NOT_NULL(line);
	if (line)
		CU_ASSERT_PTR_NOT_NULL(strstr(line, ", TLS, "));
	check_negotiated(s, line);
	g_free(line);
}

/* Retrieves message 1, checks the server certificate, disconnects, and
 * checks the trail. */
static void session_end(spop_t *s)
{
	const char *data = NULL;
	size_t len = 0;
	GString *want;

	ASSERT_OK(spop_set_message_number(s, HARNESS_MSG_SIMPLE));
	ASSERT_OK(spop_retrieve(s));
	want = expected_message(HARNESS_MSG_SIMPLE, HARNESS_MAIN_USER);
	CU_ASSERT(want->len > 0);
	/* the whole message, as Dovecot serves it, through TLS */
	ASSERT_OK(spop_get_message(s, &data, &len));
	CU_ASSERT_EQUAL(len, want->len);
	CU_ASSERT(len == want->len && memcmp(data, want->str, len) == 0);
	g_string_free(want, TRUE);

	ASSERT_OK(spop_get_ssl_server_cert_encoded(s, &data, &len));
	CU_ASSERT_TRUE(same_cert(data, len, "good.pem"));
	CU_ASSERT_EQUAL(seen.auth_fired, 1);
	CU_ASSERT_EQUAL(seen.accept_in, 1);
	CU_ASSERT_STRING_EQUAL(seen.auth_status, "OK");

	ASSERT_OK(spop_disconnect(s));
	CU_ASSERT_FALSE(spop_get_connected(s));
	/* the secret never reached the trail, in any form */
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, HARNESS_MAIN_PASSWORD));
}

static void session(spop_t *s, struct harness_dovecot *d)
{
	session_begin(s, d);
	session_end(s);
}

static void test_implicit_user_pass(void)
{
	spop_t *s = tls_client(V_GOOD, SPOP_SSL_IMPLICIT, 1);

	session(s, &servers[V_GOOD]);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: USER alice"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: STLS"));
	/* ConnectionStatus, the reference's words, in order; no proxy */
	CU_ASSERT_STRING_EQUAL(rec.statuses_seen->str,
			       "Remote host connection complete (0)\n"
			       "SSL handshake complete (0)\n"
			       "Remote host disconnected (0)\n");
	spop_free(s);
}

static void test_implicit_sasl_plain(void)
{
	spop_t *s = tls_client(V_GOOD, SPOP_SSL_IMPLICIT, 1);

	ASSERT_OK(spop_set_auth_mechanism(s, SPOP_AM_SASLPLAIN));
	session(s, &servers[V_GOOD]);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec.trail->str, "C: AUTH PLAIN"));
	spop_free(s);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_stls(void)
{
	for (int sasl = 0; sasl < 2; sasl++) {
		spop_t *s = tls_client(V_GOOD, SPOP_SSL_EXPLICIT, 1);

		if (sasl)
			ASSERT_OK(
			    spop_set_auth_mechanism(s, SPOP_AM_SASLPLAIN));
		session_begin(s, &servers[V_GOOD]);
		/* the list is the one asked for again under TLS, where
		 * Dovecot no longer offers STLS */
		int n = spop_get_capability_count(s), offered = 0;
		CU_ASSERT(n > 0);
		for (int i = 0; i < n; i++)
			offered +=
			    strcmp(spop_get_capability(s, i), "STLS") == 0;
		CU_ASSERT_EQUAL(offered, 0);
		session_end(s);
		/* the handshake after STLS is a ConnectionStatus too */
		CU_ASSERT_STRING_EQUAL(rec.statuses_seen->str,
				       "Remote host connection complete (0)\n"
				       "SSL handshake complete (0)\n"
				       "Remote host disconnected (0)\n");
		CU_ASSERT_EQUAL(count(rec.trail->str, "C: STLS\n"), 1);
		CU_ASSERT_EQUAL(count(rec.trail->str, "C: CAPA\n"), 2);
		/* the credentials went after STLS, never before */
		const char *stls = strstr(rec.trail->str, "C: STLS");
		const char *cred =
		    strstr(rec.trail->str, sasl ? "C: AUTH" : "C: USER");
		CU_ASSERT(stls && cred && stls < cred);
		spop_free(s);
	}
}

/* Automatic on port 110 is STLS. Port 110 may belong to the machine's own
 * POP3 server, so the check runs in a child with a private network
 * namespace (root only, which the integration suites are): its loopback
 * is brought up and a scripted peer listens on 110 there. The peer offers
 * STLS, expects it, answers -ERR, and fails if a credential follows; the
 * child's exit status says whether all of that held. */
static int automatic_110_child(void)
{
	static const struct step script[] = {
	    {STEP_SEND, "+OK ready <1.2@scripted>\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nSTLS\r\nUSER\r\n.\r\n", 0, 0},
	    {STEP_EXPECT_LINE, "STLS", 0, 0},
	    {STEP_SEND, "-ERR not now\r\n", 0, 0},
	    {STEP_REFUSE, "USER|PASS|AUTH|APOP", 0, 0},
	    {STEP_END, NULL, 0, 0}};
	struct ifreq ifr = {0};
	struct scripted peer;
	int fd;

	if (unshare(CLONE_NEWNET) != 0) {
		perror("unshare(CLONE_NEWNET)");
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	g_strlcpy(ifr.ifr_name, "lo", sizeof ifr.ifr_name);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) != 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)) {
		perror("bringing up lo");
		return 3;
	}
	close(fd);
	if (scripted_start_on(&peer, script, 110) != 0) {
		perror("listening on 127.0.0.1:110");
		return 4;
	}
	spop_t *s = spop_new();
	spop_set_mail_server(s, "127.0.0.1");
	spop_set_mail_port(s, 110);
	spop_set_user(s, "bob");
	spop_set_password(s, "pw");
	spop_set_timeout(s, 5);
	spop_set_ssl_provider(s, provider_value);
	spop_set_ssl_start_mode(s, SPOP_SSL_AUTOMATIC);
	int rc = spop_connect(s);
	int stls_error = strstr(spop_last_error(s), "STLS") != NULL;
	spop_free(s);
	int failed_step = scripted_finish(&peer);
	if (rc == 0 || !stls_error || failed_step != -1) {
		fprintf(stderr,
			"automatic/110: rc %d, STLS in error %d, "
			"script step %d failed\n",
			rc, stls_error, failed_step);
		return 5;
	}
	return 0;
}

static void test_automatic_110_is_stls(void)
{
	int status = -1;
	pid_t pid = fork();

	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		_exit(automatic_110_child());
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
}

static void test_automatic_is_implicit(void)
{
	/* The reference: Automatic is STLS on port 110 only (the test
	 * above), TLS at once on any other port: on the pop3s port it
	 * works, and on the plain POP3 port the handshake meets Dovecot's
	 * greeting and fails, which shows the client did not wait for a
	 * greeting or send STLS. */
	spop_t *s = tls_client(V_GOOD, SPOP_SSL_AUTOMATIC, 1);

	session(s, &servers[V_GOOD]);
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: STLS"));
	spop_free(s);

	s = tls_client(V_GOOD, SPOP_SSL_AUTOMATIC, 1);
	ASSERT_OK(spop_set_mail_port(s, servers[V_GOOD].port));
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_HANDSHAKE);
	ERROR_HAS(s, "127.0.0.1");
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: CAPA"));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "C: STLS"));
	NO_CREDENTIALS(rec.trail->str);
	spop_free(s);

	/* SSLEnabled=True picks Automatic from None */
	s = tls_client(V_GOOD, SPOP_SSL_NONE, 1);
	ASSERT_OK(spop_set_ssl_enabled(s, 1));
	CU_ASSERT_EQUAL(spop_get_ssl_start_mode(s), SPOP_SSL_AUTOMATIC);
	session(s, &servers[V_GOOD]);
	spop_free(s);
}

static void test_provider_automatic(void)
{
	/* gnutls serves Internal and Automatic; openssl only Platform */
	spop_t *s = tls_client(V_GOOD, SPOP_SSL_IMPLICIT, 1);

	if (strcmp(provider, "gnutls") == 0) {
		ASSERT_OK(spop_set_ssl_provider(s, SPOP_SSLP_AUTOMATIC));
		session(s, &servers[V_GOOD]);
	} else {
		CU_ASSERT_EQUAL(spop_get_ssl_provider(s), SPOP_SSLP_PLATFORM);
		session(s, &servers[V_GOOD]);
	}
	spop_free(s);
}

static void test_host_name(void)
{
	/* by name: the DNS SAN is checked (and SNI sent) */
	spop_t *s = tls_client(V_GOOD, SPOP_SSL_IMPLICIT, 1);

	ASSERT_OK(spop_set_mail_server(s, "localhost"));
	session(s, &servers[V_GOOD]);
	spop_free(s);
}

/* ---- trust --------------------------------------------------------------- */

static void test_untrusted_ca(void)
{
	struct harness_dovecot *d = server(V_GOOD);
	long long offset = harness_dovecot_log_size(d);
	spop_t *s = tls_client(V_GOOD, SPOP_SSL_IMPLICIT, 0);

	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_CERT_VERIFY);
	ERROR_HAS(s, "127.0.0.1");
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_EQUAL(seen.auth_fired, 1);
	CU_ASSERT_EQUAL(seen.accept_in, 0);
	CU_ASSERT_STRING_NOT_EQUAL(seen.auth_status, "OK");
	CU_ASSERT(seen.auth_status[0] != '\0');
	NO_CREDENTIALS(rec.trail->str);
	spop_free(s);
	dovecot_saw_no_login(d, offset);

	/* the same through STLS: nothing after the STLS command */
	offset = harness_dovecot_log_size(d);
	s = tls_client(V_GOOD, SPOP_SSL_EXPLICIT, 0);
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_CERT_VERIFY);
	NO_CREDENTIALS(rec.trail->str);
	spop_free(s);
	dovecot_saw_no_login(d, offset);
}

/* One CA file named by SSLCACertFilePaths (and, with openssl, by
 * OpenSSLCAFile): the anchors are loaded once per process and shared, but
 * a file replaced, rewritten or removed between connections is read
 * afresh (plugins/tls/common/trust-cache.h). */
static void ca_file_connect(const char *setting, const char *file, int want)
{
	char *v = g_strdup_printf("%s=%s", setting, file);
	spop_t *s = tls_client(V_GOOD, SPOP_SSL_IMPLICIT, 0);

	if (strcmp(setting, "SSLCACertFilePaths"))
		config_ok(s, "SSLCACertFilePaths=");
	config_ok(s, v);
	CU_ASSERT_EQUAL(spop_connect(s), want);
	if (want)
		CU_ASSERT_EQUAL(seen.accept_in, 0);
	spop_free(s);
	g_free(v);
}

static void ca_file_changes(const char *setting)
{
	char *dir = g_dir_make_tmp("spop-ca-XXXXXX", NULL);
	char *file = g_build_filename(dir, "cas.pem", NULL);
	char *ca = cert_text("ca.pem"), *wrong = cert_text("client-ca.pem");
	FILE *f;

	CU_ASSERT_TRUE_FATAL(g_file_set_contents(file, ca, -1, NULL));
	ca_file_connect(setting, file, 0);
	ca_file_connect(setting, file, 0); /* the shared anchors */
	/* replaced (a new inode) by another CA */
	CU_ASSERT_TRUE_FATAL(g_file_set_contents(file, wrong, -1, NULL));
	ca_file_connect(setting, file, SPOP_ERR_CERT_VERIFY);
	/* rewritten in place with the right one */
	f = fopen(file, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(ca, f);
	fclose(f);
	ca_file_connect(setting, file, 0);
	/* gone: nothing trusted */
	CU_ASSERT_EQUAL(unlink(file), 0);
	if (!strcmp(setting, "SSLCACertFilePaths"))
		ca_file_connect(setting, file, SPOP_ERR_CERT_VERIFY);
	rmdir(dir);
	g_free(ca);
	g_free(wrong);
	g_free(file);
	g_free(dir);
}

static void test_ca_file_changes(void)
{
	ca_file_changes("SSLCACertFilePaths");
	if (provider_value == SPOP_SSLP_PLATFORM)
		ca_file_changes("OpenSSLCAFile");
}

static void test_pin(void)
{
	char *good = cert_text("good.pem"), *other = cert_text("other.pem");
	spop_t *s;
	const char *data;
	size_t len;

	/* pinned, no CA: accepted whatever the chain says */
	s = tls_client(V_GOOD, SPOP_SSL_IMPLICIT, 0);
	ASSERT_OK(
	    spop_set_ssl_accept_server_cert_encoded(s, good, strlen(good)));
	ASSERT_OK(spop_get_ssl_accept_server_cert_encoded(s, &data, &len));
	CU_ASSERT_TRUE(same_cert(data, len, "good.pem"));
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(seen.auth_fired, 1);
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);

	/* another certificate pinned: the good server is refused, although
	 * its chain verifies */
	s = tls_client(V_GOOD, SPOP_SSL_IMPLICIT, 1);
	ASSERT_OK(
	    spop_set_ssl_accept_server_cert_encoded(s, other, strlen(other)));
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_CERT_VERIFY);
	ERROR_HAS(s, "127.0.0.1");
	CU_ASSERT_EQUAL(seen.accept_in, 0);
	NO_CREDENTIALS(rec.trail->str);
	spop_free(s);
	g_free(good);
	g_free(other);
}

static void test_chain_in_event(void)
{
	char *ca = cert_text("ca.pem");
	GPtrArray *blocks, *ca_blocks = pem_blocks(ca, strlen(ca));

	for (int chain = 0; chain < 2; chain++) {
		spop_t *s = tls_client(V_GOOD, SPOP_SSL_IMPLICIT, 1);

		config_ok(s, chain ? "SSLIncludeCertChain=True"
				   : "SSLIncludeCertChain=False");
		ASSERT_OK(spop_connect(s));
		CU_ASSERT_PTR_NOT_NULL_FATAL(seen.cert);
		blocks = pem_blocks(seen.cert, seen.cert_len);
		/* Dovecot sends good.pem and ca.pem (its ssl_cert) */
		CU_ASSERT_EQUAL(blocks->len, chain ? 2 : 1);
		CU_ASSERT_TRUE(same_cert(seen.cert, seen.cert_len, "good.pem"));
		if (chain && blocks->len == 2)
			CU_ASSERT_STRING_EQUAL(g_ptr_array_index(blocks, 1),
					       g_ptr_array_index(ca_blocks, 0));
		g_ptr_array_free(blocks, TRUE);
		ASSERT_OK(spop_disconnect(s));
		spop_free(s);
	}
	g_ptr_array_free(ca_blocks, TRUE);
	g_free(ca);
}

/* A server whose certificate has exactly one fault. */
struct bad_server {
	enum variant v;
	const char *file;     /* its certificate */
	const char *flag;     /* SSLSecurityFlags that ignores the fault */
	const char *not_flag; /* the other flags: they must not help */
	const char *subject;  /* in the event's subject */
	const char *issuer;   /* in the event's issuer */
};

static const struct bad_server bad_servers[] = {
    {V_WRONGHOST, "wronghost.pem", "SSLSecurityFlags=0x80000000",
     "SSLSecurityFlags=0x11", "CN=wrong.example", "CN=spop test CA"},
    {V_EXPIRED, "expired.pem", "SSLSecurityFlags=0x1",
     "SSLSecurityFlags=0x80000010", "CN=localhost", "CN=spop test CA"},
    {V_SELFSIGNED, "selfsigned.pem", "SSLSecurityFlags=0x10",
     "SSLSecurityFlags=0x80000001", "CN=localhost", "CN=localhost"},
};

/* Connects and checks: refused (280, event with accept 0, nothing sent),
 * or accepted and logged in. */
static void expect_refused(spop_t *s, const struct bad_server *b)
{
	long long offset = harness_dovecot_log_size(&servers[b->v]);

	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_CERT_VERIFY);
	ERROR_HAS(s, "127.0.0.1");
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_EQUAL(seen.auth_fired, 1);
	CU_ASSERT_EQUAL(seen.accept_in, 0);
	NO_CREDENTIALS(rec.trail->str);
	dovecot_saw_no_login(&servers[b->v], offset);
}

static void expect_accepted(spop_t *s, const struct bad_server *b)
{
	if (spop_connect(s) != 0)
		fprintf(stderr, "%s: Connect: %d %s\n", b->file,
			spop_last_error_code(s), spop_last_error(s));
	ASSERT_OK(spop_last_error_code(s));
	CU_ASSERT_EQUAL(
	    spop_get_message_count(s),
	    harness_message_count(&servers[b->v], HARNESS_MAIN_USER));
	const char *data;
	size_t len;
	ASSERT_OK(spop_get_ssl_server_cert_encoded(s, &data, &len));
	CU_ASSERT_TRUE(same_cert(data, len, b->file));
	ASSERT_OK(spop_disconnect(s));
}

static void bad_server_case(const struct bad_server *b)
{
	char *pem = cert_text(b->file);
	spop_t *s;

	/* refused by default, the event says why */
	s = tls_client(b->v, SPOP_SSL_IMPLICIT, 1);
	expect_refused(s, b);
	CU_ASSERT_PTR_NOT_NULL(strstr(seen.subject, b->subject));
	CU_ASSERT_PTR_NOT_NULL(strstr(seen.issuer, b->issuer));
	CU_ASSERT(seen.auth_status[0] != '\0');
	CU_ASSERT_STRING_NOT_EQUAL(seen.auth_status, "OK");
	CU_ASSERT_TRUE(same_cert(seen.cert, seen.cert_len, b->file));
	spop_free(s);

	/* (a) the application accepts it in the event */
	s = tls_client(b->v, SPOP_SSL_IMPLICIT, 1);
	seen.set_accept = 1;
	expect_accepted(s, b);
	CU_ASSERT_EQUAL(seen.accept_in, 0);
	spop_free(s);

	/* (b) pinned */
	s = tls_client(b->v, SPOP_SSL_IMPLICIT, 1);
	ASSERT_OK(spop_set_ssl_accept_server_cert_encoded(s, pem, strlen(pem)));
	expect_accepted(s, b);
	spop_free(s);

	/* (c) the flag for its fault, and not the others */
	s = tls_client(b->v, SPOP_SSL_IMPLICIT, 1);
	config_ok(s, b->flag);
	expect_accepted(s, b);
	spop_free(s);
	s = tls_client(b->v, SPOP_SSL_IMPLICIT, 1);
	config_ok(s, b->not_flag);
	expect_refused(s, b);
	spop_free(s);

	/* the event can refuse what the flag let through */
	s = tls_client(b->v, SPOP_SSL_IMPLICIT, 1);
	config_ok(s, b->flag);
	seen.set_accept = 0;
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_CERT_VERIFY);
	CU_ASSERT_EQUAL(seen.accept_in, 1);
	NO_CREDENTIALS(rec.trail->str);
	spop_free(s);
	g_free(pem);
}

static void test_wrong_host(void)
{
	bad_server_case(&bad_servers[0]);
}

static void test_expired(void)
{
	bad_server_case(&bad_servers[1]);
}

static void test_self_signed(void)
{
	bad_server_case(&bad_servers[2]);
}

/* ---- client certificates --------------------------------------------- */

static void test_client_cert_missing(void)
{
	struct harness_dovecot *d = server(V_CLIENTCERT);
	long long offset = harness_dovecot_log_size(d);
	spop_t *s = tls_client(V_CLIENTCERT, SPOP_SSL_IMPLICIT, 1);
	int rc = spop_connect(s);
	char *line;

	/* Dovecot 2.3 asks for a certificate but finishes the handshake
	 * without one; auth_ssl_require_client_cert then fails the login
	 * (-ERR [AUTH]: 171 with Dovecot's words). A provider that knows
	 * sooner may say 281 or 276. */
	if (rc != SPOP_ERR_NO_CLIENT_CERT && rc != SPOP_ERR_HANDSHAKE &&
	    rc != SPOP_ERR_PROTOCOL)
		fprintf(stderr, "no client certificate: %d %s\n", rc,
			spop_last_error(s));
	CU_ASSERT(rc == SPOP_ERR_NO_CLIENT_CERT || rc == SPOP_ERR_HANDSHAKE ||
		  rc == SPOP_ERR_PROTOCOL);
	if (rc == SPOP_ERR_PROTOCOL)
		ERROR_HAS(s, "Client didn't present valid SSL certificate");
	if (rc == SPOP_ERR_NO_CLIENT_CERT || rc == SPOP_ERR_HANDSHAKE)
		ERROR_HAS(s, "certificate");
	CU_ASSERT_FALSE(spop_get_connected(s));
	spop_free(s);
	/* Dovecot's own account of it */
	line = connection_line(d, offset);
	CU_ASSERT_PTR_NOT_NULL_FATAL(line);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "(client didn't send a cert)"));
	CU_ASSERT_PTR_NULL(strstr(line, "Login: "));
	g_free(line);
}

/* Logs in with the client certificate of store (type), password. */
static void client_cert_login(int type, const char *file, const char *password)
{
	struct harness_dovecot *d = server(V_CLIENTCERT);
	char *path = harness_cert_file(file);
	spop_t *s = tls_client(V_CLIENTCERT, SPOP_SSL_IMPLICIT, 1);
	long long offset = harness_dovecot_log_size(d);
	const char *cert;
	size_t len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	ASSERT_OK(spop_set_ssl_cert_store_type(s, type));
	ASSERT_OK(spop_set_ssl_cert_store(s, path, strlen(path)));
	if (password)
		ASSERT_OK(spop_set_ssl_cert_store_password(s, password));
	if (spop_set_ssl_cert_subject(s, "*") != 0)
		fprintf(stderr, "SSLCertSubject=*: %d %s\n",
			spop_last_error_code(s), spop_last_error(s));
	ASSERT_OK(spop_last_error_code(s));
	/* the full subject of the certificate found */
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(spop_get_ssl_cert_subject(s), "CN=alice"));
	ASSERT_OK(spop_get_ssl_cert_encoded(s, &cert, &len));
	CU_ASSERT_TRUE(same_cert(cert, len, "client-cert.pem"));

	if (spop_connect(s) != 0)
		fprintf(stderr, "Connect with %s: %d %s\n", file,
			spop_last_error_code(s), spop_last_error(s));
	ASSERT_OK(spop_last_error_code(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s),
			harness_message_count(d, HARNESS_MAIN_USER));
	char *line = login_line(d, offset, local_port(s));
	CU_ASSERT_PTR_NOT_NULL(line);
	CU_ASSERT(line == NULL || strstr(line, "didn't send a cert") == NULL);
	g_free(line);
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);
	g_free(path);
}

/* The certificate chosen from one store is gone from the store Connect
 * opens (SSLCertStore changed after SSLCertSubject): 281, the reference's
 * "no client certificate", before anything is sent. */
static void test_client_cert_gone(void)
{
	char *client = harness_cert_file("client.pem");
	char *other = harness_cert_file("good-key.pem");
	spop_t *s = tls_client(V_CLIENTCERT, SPOP_SSL_IMPLICIT, 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(client);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	ASSERT_OK(spop_set_ssl_cert_store_type(s, SPOP_CST_PEMKEY_FILE));
	ASSERT_OK(spop_set_ssl_cert_store(s, client, strlen(client)));
	ASSERT_OK(spop_set_ssl_cert_subject(s, "*"));
	ASSERT_OK(spop_set_ssl_cert_store(s, other, strlen(other)));
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_NO_CLIENT_CERT);
	ERROR_HAS(s, "client certificate was not found");
	NO_CREDENTIALS(rec.trail->str);
	spop_free(s);
	g_free(client);
	g_free(other);
}

static void test_client_cert_pem(void)
{
	client_cert_login(SPOP_CST_PEMKEY_FILE, "client.pem", NULL);
}

static void test_client_cert_pfx(void)
{
	char *password = cert_text("client.p12.password");

	client_cert_login(SPOP_CST_PFXFILE, "client.p12", password);
	g_free(password);
}

static void test_client_cert_pfx_wrong_password(void)
{
	char *path = harness_cert_file("client.p12");
	spop_t *s = tls_client(V_CLIENTCERT, SPOP_SSL_IMPLICIT, 1);
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	ASSERT_OK(spop_set_ssl_cert_store_type(s, SPOP_CST_PFXFILE));
	ASSERT_OK(spop_set_ssl_cert_store(s, path, strlen(path)));
	ASSERT_OK(spop_set_ssl_cert_store_password(s, "not-the-password"));
	/* the store is opened when the certificate is chosen, or at the
	 * latest when the handshake needs it: 273 either way */
	rc = spop_set_ssl_cert_subject(s, "*");
	if (rc == 0)
		rc = spop_connect(s);
	CU_ASSERT_EQUAL(rc, SPOP_ERR_CREDENTIALS);
	ERROR_HAS(s, "client.p12");
	CU_ASSERT_FALSE(spop_get_connected(s));
	NO_CREDENTIALS(rec.trail->str);
	spop_free(s);
	g_free(path);
}

/* ---- a client key in a PKCS#11 token ------------------------------------ */

#define TOKEN_PIN     "246810"
#define TOKEN_SUBJECT "/CN=alice/O=libspop tests/emailAddress=alice@localhost"

/* Runs make-token.sh (args after the script, NULL-terminated); its stdout,
 * or NULL after printing why. */
static char *make_token(const char *const *args)
{
	GPtrArray *argv = g_ptr_array_new();
	char *out = NULL, *err = NULL;
	int status = -1;
	GError *e = NULL;

	g_ptr_array_add(argv, "bash");
	g_ptr_array_add(argv, HARNESS_SCRIPT_DIR "/make-token.sh");
	for (; *args; args++)
		g_ptr_array_add(argv, (char *)*args);
	g_ptr_array_add(argv, NULL);
	if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH,
			  NULL, NULL, &out, &err, &status, &e)) {
		fprintf(stderr, "make-token.sh: %s\n", e->message);
		g_error_free(e);
	} else if (!g_spawn_check_wait_status(status, NULL)) {
		fprintf(stderr, "make-token.sh failed: %s\n", err);
		g_clear_pointer(&out, g_free);
	}
	g_free(err);
	g_ptr_array_free(argv, TRUE);
	return out;
}

/* Logs in with the client certificate of the token store names (type 23,
 * SSLCertSubject "*"); cert is the PEM file of the certificate expected.
 * With refused, the provider is to refuse the key with 1212 instead. */
static void token_login(const char *store, const char *cert, int refused,
			const char *protocols)
{
	struct harness_dovecot *d = server(V_CLIENTCERT);
	spop_t *s = tls_client(V_CLIENTCERT, SPOP_SSL_IMPLICIT, 1);
	long long offset = harness_dovecot_log_size(d);
	char *want = NULL;
	const char *got;
	size_t len;
	int rc;

	if (protocols)
		config_ok(s, protocols);
	ASSERT_OK(spop_set_ssl_cert_store_type(s, SPOP_CST_PKCS11));
	ASSERT_OK(spop_set_ssl_cert_store(s, store, strlen(store)));
	ASSERT_OK(spop_set_ssl_cert_store_password(s, TOKEN_PIN));
	if (spop_set_ssl_cert_subject(s, "*") != 0)
		fprintf(stderr, "SSLCertSubject=* on %s: %d %s\n", store,
			spop_last_error_code(s), spop_last_error(s));
	ASSERT_OK(spop_last_error_code(s));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(spop_get_ssl_cert_subject(s), "CN=alice"));
	ASSERT_OK(spop_get_ssl_cert_encoded(s, &got, &len));
	CU_ASSERT_TRUE_FATAL(g_file_get_contents(cert, &want, NULL, NULL));
	GPtrArray *a = pem_blocks(got, len),
		  *b = pem_blocks(want, strlen(want));
	CU_ASSERT_TRUE(a->len == 1 && b->len == 1 &&
		       !strcmp(a->pdata[0], b->pdata[0]));
	g_ptr_array_free(a, TRUE);
	g_ptr_array_free(b, TRUE);
	g_free(want);

	rc = spop_connect(s);
	if (refused) {
		/* exactly what the openssl provider does with an RSA key
		 * that stays in its store */
		CU_ASSERT_EQUAL(rc, SPOP_ERR_NOT_AVAILABLE);
		ERROR_HAS(s, "TLS provider openssl");
		ERROR_HAS(s, "RSA key");
		ERROR_HAS(s, store);
		ERROR_HAS(s, "SSLProvider Internal");
		CU_ASSERT_FALSE(spop_get_connected(s));
		NO_CREDENTIALS(rec.trail->str);
		spop_free(s);
		return;
	}
	if (rc != 0)
		fprintf(stderr, "Connect with the token key of %s: %d %s\n",
			store, spop_last_error_code(s), spop_last_error(s));
	ASSERT_OK(rc);
	ASSERT_OK(spop_last_error_code(s));
	CU_ASSERT_TRUE(spop_get_connected(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s),
			harness_message_count(d, HARNESS_MAIN_USER));
	/* Dovecot checked the certificate and let alice in */
	char *line = login_line(d, offset, local_port(s));
	CU_ASSERT_PTR_NOT_NULL(line);
	CU_ASSERT(line == NULL || strstr(line, "didn't send a cert") == NULL);
	if (line && protocols)
		CU_ASSERT_PTR_NOT_NULL(strstr(line, "TLSv1.2"));
	g_free(line);
	ASSERT_OK(spop_disconnect(s));
	spop_free(s);
}

/* alice's certificate and key on SoftHSM tokens (issued by the client CA
 * of make-certs.sh, imported by make-token.sh): "spop rsa" named by module
 * path and ;token=, "spop ec" by a pkcs11: URI. gnutls signs with both
 * through the store (RSA-PSS in TLS 1.3, PKCS#1 v1.5 in TLS 1.2, ECDSA);
 * openssl signs with the EC key through the store and refuses the RSA
 * one with 1212. */
static void test_client_cert_pkcs11(void)
{
	char *ca = harness_cert_file("client-ca.pem");
	char *ca_key = harness_cert_file("client-ca-key.pem");
	char *dir = g_dir_make_tmp("spop-tls-token-XXXXXX", NULL);
	char *conf = NULL, *module = NULL, *store = NULL, *rsa, *ec;
	int openssl = !strcmp(provider, "openssl");

	CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ca_key);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	const char *rsa_args[] = {dir,	  "spop rsa",	 TOKEN_PIN, ca,
				  ca_key, TOKEN_SUBJECT, "rsa",	    NULL};
	const char *ec_args[] = {"--add",	dir,  "spop ec",
				 TOKEN_PIN,	ca,   ca_key,
				 TOKEN_SUBJECT, "ec", NULL};
	conf = make_token(rsa_args);
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	g_free(conf);
	conf = make_token(ec_args);
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	/* SoftHSM reads its configuration when first loaded: this one */
	g_setenv("SOFTHSM2_CONF", g_strstrip(conf), TRUE);
	char *module_file = g_build_filename(dir, "module", NULL);
	CU_ASSERT_TRUE_FATAL(
	    g_file_get_contents(module_file, &module, NULL, NULL));
	g_strstrip(module);
	rsa = g_build_filename(dir, "rsa.crt", NULL);
	ec = g_build_filename(dir, "ec.crt", NULL);

	store = g_strdup_printf("%s;token=spop rsa", module);
	token_login(store, rsa, openssl, NULL);
	if (!openssl)
		token_login(store, rsa, 0, "SSLEnabledProtocols=3072");
	g_free(store);
	store =
	    g_strdup_printf("pkcs11:token=spop%%20ec?module-path=%s", module);
	token_login(store, ec, 0, NULL);
	token_login(store, ec, 0, "SSLEnabledProtocols=3072");
	g_free(store);

	char *rm[] = {"rm", "-rf", dir, NULL};
	g_spawn_sync(NULL, rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
		     NULL, NULL, NULL);
	g_free(rsa);
	g_free(ec);
	g_free(module_file);
	g_free(module);
	g_free(conf);
	g_free(dir);
	g_free(ca);
	g_free(ca_key);
}

/* ---- protocols and ciphers --------------------------------------------- */

/* Connects to variant v with the Config settings given (NULL-terminated),
 * logs in, and returns Dovecot's line for the connection. */
static char *connect_with(enum variant v, const char *const *settings,
			  spop_t **out)
{
	struct harness_dovecot *d = server(v);
	long long offset = harness_dovecot_log_size(d);
	spop_t *s = tls_client(v, SPOP_SSL_IMPLICIT, 1);
	char *line;

	for (int i = 0; settings[i]; i++)
		config_ok(s, settings[i]);
	if (spop_connect(s) != 0)
		fprintf(stderr, "Connect: %d %s\n", spop_last_error_code(s),
			spop_last_error(s));
	ASSERT_OK(spop_last_error_code(s));
	line = login_line(d, offset, local_port(s));
	CU_ASSERT_PTR_NOT_NULL(line);
	check_negotiated(s, line);
	*out = s;
	return line;
}

static char *negotiated(spop_t *s, const char *name)
{
	return cfg(s, name);
}

static void test_tls12_only(void)
{
	static const char *const tls12[] = {"SSLEnabledProtocols=3072", NULL};
	static const char *const tls13[] = {"SSLEnabledProtocols=12288", NULL};
	spop_t *s;
	char *line, *v;

	line = connect_with(V_GOOD, tls12, &s);
	v = negotiated(s, "SSLNegotiatedVersion");
	CU_ASSERT_STRING_EQUAL(v, "TLS1.2");
	CU_ASSERT(line && strstr(line, "TLSv1.2 with cipher"));
	g_free(v);
	g_free(line);
	spop_free(s);

	line = connect_with(V_GOOD, tls13, &s);
	v = negotiated(s, "SSLNegotiatedVersion");
	CU_ASSERT_STRING_EQUAL(v, "TLS1.3");
	CU_ASSERT(line && strstr(line, "TLSv1.3 with cipher"));
	g_free(v);
	g_free(line);
	spop_free(s);
}

static void test_server_min_tls13(void)
{
	struct harness_dovecot *d = server(V_TLS13);
	long long offset = harness_dovecot_log_size(d);
	spop_t *s = tls_client(V_TLS13, SPOP_SSL_IMPLICIT, 1);

	config_ok(s, "SSLEnabledProtocols=3072");
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_HANDSHAKE);
	ERROR_HAS(s, "127.0.0.1");
	fprintf(stderr, "(TLS 1.2 client, TLS 1.3 server: %s)\n",
		spop_last_error(s));
	CU_ASSERT_EQUAL(seen.auth_fired, 0);
	NO_CREDENTIALS(rec.trail->str);
	spop_free(s);
	/* Dovecot's side: its OpenSSL refused the protocol */
	dovecot_refused_handshake(d, offset, "unsupported protocol");

	/* the defaults include TLS 1.3 */
	static const char *const none[] = {NULL};
	char *line = connect_with(V_TLS13, none, &s);
	char *v = negotiated(s, "SSLNegotiatedVersion");
	CU_ASSERT_STRING_EQUAL(v, "TLS1.3");
	g_free(v);
	g_free(line);
	spop_free(s);
}

static void test_cipher_suite_chosen(void)
{
	static const char *const settings[] = {
	    "SSLEnabledProtocols=3072",
	    "SSLEnabledCipherSuites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	    NULL};
	spop_t *s;
	char *line = connect_with(V_GOOD, settings, &s);
	char *suite = negotiated(s, "SSLNegotiatedCipherSuite");

	CU_ASSERT_STRING_EQUAL(suite, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
	CU_ASSERT(
	    line &&
	    strstr(line, "TLSv1.2 with cipher ECDHE-RSA-AES128-GCM-SHA256"));
	g_free(suite);
	g_free(line);
	spop_free(s);
}

static void test_server_cipher_list(void)
{
	static const char *const tls12[] = {"SSLEnabledProtocols=3072", NULL};
	struct harness_dovecot *d;
	long long offset;
	spop_t *s;
	char *line = connect_with(V_CHACHA, tls12, &s);
	char *suite = negotiated(s, "SSLNegotiatedCipherSuite");

	/* Dovecot allows only this one for TLS 1.2 */
	CU_ASSERT_STRING_EQUAL(suite,
			       "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
	g_free(suite);
	g_free(line);
	spop_free(s);

	/* and the client allows none of it */
	d = server(V_CHACHA);
	offset = harness_dovecot_log_size(d);
	s = tls_client(V_CHACHA, SPOP_SSL_IMPLICIT, 1);
	config_ok(s, "SSLEnabledProtocols=3072");
	config_ok(
	    s, "SSLEnabledCipherSuites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_HANDSHAKE);
	ERROR_HAS(s, "127.0.0.1");
	fprintf(stderr, "(no shared cipher: %s)\n", spop_last_error(s));
	NO_CREDENTIALS(rec.trail->str);
	spop_free(s);
	dovecot_refused_handshake(d, offset, "no shared cipher");
}

static void test_unknown_cipher_suite(void)
{
	spop_t *s = tls_client(V_GOOD, SPOP_SSL_IMPLICIT, 1);
	const char *r =
	    spop_config(s, "SSLEnabledCipherSuites=TLS_NO_SUCH_SUITE_SHA1");

	/* refused when set, or when the provider reads it */
	if (r != NULL)
		CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_TLS_LIBRARY);
	CU_ASSERT_EQUAL(spop_last_error_code(s), SPOP_ERR_TLS_LIBRARY);
	ERROR_HAS(s, "TLS_NO_SUCH_SUITE_SHA1");
	CU_ASSERT_FALSE(spop_get_connected(s));
	NO_CREDENTIALS(rec.trail->str);
	spop_free(s);
}

/* ---- key log and resumption ------------------------------------------- */

/* Checks every line of the key log; returns the number of lines. Labels
 * of TLS 1.3 (RFC 8446 secrets) and TLS 1.2 (CLIENT_RANDOM) are counted
 * in tls13 / tls12. */
static int check_key_log(const char *path, int *tls13, int *tls12)
{
	GRegex *re = g_regex_new(
	    "^(CLIENT_RANDOM|CLIENT_HANDSHAKE_TRAFFIC_SECRET|"
	    "SERVER_HANDSHAKE_TRAFFIC_SECRET|CLIENT_TRAFFIC_SECRET_0|"
	    "SERVER_TRAFFIC_SECRET_0|EXPORTER_SECRET) [0-9a-f]{64} "
	    "([0-9a-f]{64}|[0-9a-f]{96})$",
	    0, 0, NULL);
	char *text = NULL, **lines;
	int n = 0;

	*tls13 = *tls12 = 0;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	CU_ASSERT(g_str_has_suffix(text, "\n"));
	lines = g_strsplit(text, "\n", -1);
	for (int i = 0; lines[i]; i++) {
		if (lines[i][0] == '\0')
			continue;
		n++;
		if (!g_regex_match(re, lines[i], 0, NULL)) {
			fprintf(stderr, "key log line not in NSS format: %s\n",
				lines[i]);
			CU_FAIL("key log line not in NSS format");
		}
		if (g_str_has_prefix(lines[i], "CLIENT_RANDOM "))
			(*tls12)++;
		else
			(*tls13)++;
	}
	g_strfreev(lines);
	g_free(text);
	g_regex_unref(re);
	return n;
}

static void test_key_log(void)
{
	char *dir = g_dir_make_tmp("spop-keylog-XXXXXX", NULL);
	char *path = g_build_filename(dir, "keys.log", NULL);
	char *setting = g_strconcat("SSLKeyLogFile=", path, NULL);
	int lines[3], tls13, tls12;

	for (int round = 0; round < 3; round++) {
		spop_t *s = tls_client(V_GOOD, SPOP_SSL_IMPLICIT, 1);

		config_ok(s, setting);
		config_ok(s, round < 2 ? "SSLEnabledProtocols=12288"
				       : "SSLEnabledProtocols=3072");
		ASSERT_OK(spop_connect(s));
		ASSERT_OK(spop_disconnect(s));
		spop_free(s);
		lines[round] = check_key_log(path, &tls13, &tls12);
	}
	/* five TLS 1.3 secrets a session, appended; one CLIENT_RANDOM for
	 * TLS 1.2 */
	CU_ASSERT(lines[0] >= 5);
	CU_ASSERT(lines[1] >= 2 * lines[0]);
	CU_ASSERT(lines[2] > lines[1]);
	CU_ASSERT(tls13 >= 10);
	CU_ASSERT(tls12 >= 1);
	fprintf(stderr, "(key log: %d, %d, %d lines)\n", lines[0], lines[1],
		lines[2]);
	unlink(path);
	rmdir(dir);
	g_free(setting);
	g_free(path);
	g_free(dir);
}

static void test_resumption(void)
{
	static const char *const protocols[] = {"SSLEnabledProtocols=12288",
						"SSLEnabledProtocols=3072"};

	for (int p = 0; p < 2; p++) {
		for (int reuse = 0; reuse < 2; reuse++) {
			spop_t *s = tls_client(V_GOOD, SPOP_SSL_IMPLICIT, 1);

			config_ok(s, protocols[p]);
			config_ok(s, reuse ? "ReuseSSLSession=True"
					   : "ReuseSSLSession=False");
			ASSERT_OK(spop_connect(s));
			/* a first connection has nothing to resume */
			CU_ASSERT_PTR_NULL(strstr(seen.status->str, "resumed"));
			ASSERT_OK(spop_disconnect(s));
			g_string_truncate(seen.status, 0);
			ASSERT_OK(spop_connect(s));
			if (reuse &&
			    strstr(seen.status->str, "resumed") == NULL)
				fprintf(stderr, "%s: not resumed:\n%s",
					protocols[p], seen.status->str);
			CU_ASSERT_EQUAL(
			    strstr(seen.status->str, "resumed") != NULL, reuse);
			CU_ASSERT_PTR_NOT_NULL(
			    strstr(seen.status->str, "TLS established with"));
			ASSERT_OK(spop_disconnect(s));
			spop_free(s);
		}
	}
}

/* ---- SSLStatus and LogSSLPackets ------------------------------------ */

static void test_log_packets(void)
{
	int statuses[2];
	char *text[2];
	unsigned failures = CU_get_number_of_failures();

	for (int log = 0; log < 2; log++) {
		spop_t *s = tls_client(V_GOOD, SPOP_SSL_IMPLICIT, 1);

		config_ok(s,
			  log ? "LogSSLPackets=True" : "LogSSLPackets=False");
		ASSERT_OK(spop_connect(s));
		ASSERT_OK(spop_disconnect(s));
		statuses[log] = seen.statuses;
		text[log] = g_strdup(seen.status->str);
		spop_free(s);
	}
	/* progress is reported either way; packets only when asked */
	CU_ASSERT(statuses[0] > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text[0], "TLS established with"));
	CU_ASSERT(statuses[1] > statuses[0]);
	CU_ASSERT_PTR_NULL(strstr(text[0], "bytes of TLS data"));
	/* both ways: the ClientHello out, the server's flight in */
	CU_ASSERT_PTR_NOT_NULL(strstr(text[1], "Sent "));
	CU_ASSERT_PTR_NOT_NULL(strstr(text[1], "Received "));
	CU_ASSERT_PTR_NOT_NULL(strstr(text[1], "bytes of TLS data"));
	if (CU_get_number_of_failures() > failures)
		fprintf(stderr, "SSLStatus without packets:\n%s\nwith:\n%s",
			text[0], text[1]);
	g_free(text[0]);
	g_free(text[1]);
}

/* ---- scripted peers: silence, stripping, injection ---------------------- */

#define GREETING "+OK ready <1.2@scripted>\r\n"
#define CAPA_STLS                                                              \
	{STEP_SEND, GREETING, 0, 0}, {STEP_EXPECT_LINE, "CAPA", 0, 0},         \
	{                                                                      \
		STEP_SEND, "+OK\r\nSTLS\r\nUSER\r\nSASL PLAIN\r\n.\r\n", 0, 0  \
	}
#define NOTHING_SECRET                                                         \
	{STEP_REFUSE, "USER|PASS|AUTH|APOP", 0, 0},                            \
	{                                                                      \
		STEP_END, NULL, 0, 0                                           \
	}

static void test_handshake_timeout(void)
{
	/* +OK to STLS, then silence; the ClientHello is never answered */
	static const struct step script[] = {CAPA_STLS,
					     {STEP_EXPECT_LINE, "STLS", 0, 0},
					     {STEP_SEND, "+OK begin\r\n", 0, 0},
					     {STEP_SLEEP, NULL, 3500, 0},
					     NOTHING_SECRET};
	spop_t *s = scripted_tls_client(script);

	spop_set_timeout(s, 2);
	ASSERT_OK(spop_set_ssl_start_mode(s, SPOP_SSL_EXPLICIT));
	/* 301 itself shows Timeout ended the handshake: had the client
	 * waited for the peer, its close after 3.5 s would give 276 or 1120.
	 * No wall-clock bound is asserted (times belong in bench/). */
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_TIMEOUT);
	ERROR_HAS(s, "Timeout");
	CU_ASSERT_FALSE(spop_get_connected(s));
	NO_CREDENTIALS(rec.trail->str);
	scripted_client_finish(s, &sc);
}

struct interrupter {
	spop_t *s;
	volatile int stls_sent;
	int done;
};

static void on_trail_stls(spop_t *s, const struct spop_pitrail_event *e,
			  void *ud)
{
	struct interrupter *in = ud;

	(void)s;
	if (e->direction == 0 && strcmp(e->message, "STLS") == 0)
		__atomic_store_n(&in->stls_sent, 1, __ATOMIC_SEQ_CST);
	g_string_append_printf(rec.trail, "%c: %s\n", "CSI"[e->direction],
			       e -> message);
}

static void *interrupt_later(void *p)
{
	struct interrupter *in = p;

	/* once STLS is out, the handshake follows; give it 300 ms */
	for (int i = 0;
	     i < 500 && !__atomic_load_n(&in->stls_sent, __ATOMIC_SEQ_CST); i++)
		g_usleep(10 * 1000);
	g_usleep(300 * 1000);
	in->done = spop_interrupt(in->s) == 0;
	return NULL;
}

static void test_handshake_interrupt(void)
{
	static const struct step script[] = {CAPA_STLS,
					     {STEP_EXPECT_LINE, "STLS", 0, 0},
					     {STEP_SEND, "+OK begin\r\n", 0, 0},
					     {STEP_SLEEP, NULL, 3500, 0},
					     NOTHING_SECRET};
	spop_t *s = scripted_tls_client(script);
	struct interrupter in = {s, 0, 0};
	pthread_t t;

	spop_set_timeout(s, 30);
	spop_on_pitrail(s, on_trail_stls, &in);
	ASSERT_OK(spop_set_ssl_start_mode(s, SPOP_SSL_EXPLICIT));
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, interrupt_later, &in),
			      0);
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_INTERRUPTED);
	pthread_join(t, NULL);
	CU_ASSERT_TRUE(in.stls_sent);
	CU_ASSERT_TRUE(in.done);
	CU_ASSERT_FALSE(spop_get_connected(s));
	NO_CREDENTIALS(rec.trail->str);
	scripted_client_finish(s, &sc);
}

static void test_no_fallback(void)
{
	static const struct step no_stls[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n", 0, 0},
	    NOTHING_SECRET};
	static const struct step refused[] = {
	    CAPA_STLS,
	    {STEP_EXPECT_LINE, "STLS", 0, 0},
	    {STEP_SEND, "-ERR [SYS/TEMP] no TLS today\r\n", 0, 0},
	    NOTHING_SECRET};
	static const struct step no_capa[] = {
	    {STEP_SEND, GREETING, 0, 0},
	    {STEP_EXPECT_LINE, "CAPA", 0, 0},
	    {STEP_SEND, "-ERR what\r\n", 0, 0},
	    NOTHING_SECRET};
	const struct step *scripts[] = {no_stls, refused, no_capa};
	const char *why[] = {"does not offer STLS", "no TLS today",
			     "did not answer CAPA"};

	for (int i = 0; i < 3; i++) {
		for (int sasl = 0; sasl < 2; sasl++) {
			spop_t *s = scripted_tls_client(scripts[i]);

			if (sasl)
				ASSERT_OK(spop_set_auth_mechanism(
				    s, SPOP_AM_SASLPLAIN));
			ASSERT_OK(
			    spop_set_ssl_start_mode(s, SPOP_SSL_EXPLICIT));
			CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_PROTOCOL);
			ERROR_HAS(s, why[i]);
			CU_ASSERT_FALSE(spop_get_connected(s));
			NO_CREDENTIALS(rec.trail->str);
			/* the peer's STEP_REFUSE checks the wire itself */
			scripted_client_finish(s, &sc);
		}
	}
}

static void test_injection_same_packet(void)
{
	/* the +OK and a forged reply arrive together, before the handshake */
	static const struct step script[] = {
	    CAPA_STLS,
	    {STEP_EXPECT_LINE, "STLS", 0, 0},
	    {STEP_SEND, "+OK begin\r\n+OK forged\r\n", 0, 0},
	    /* no ClientHello, no command: the client just leaves */
	    {STEP_EXPECT_EOF, NULL, 0, 0},
	    {STEP_END, NULL, 0, 0}};
	spop_t *s = scripted_tls_client(script);

	ASSERT_OK(spop_set_ssl_start_mode(s, SPOP_SSL_EXPLICIT));
	CU_ASSERT_EQUAL(spop_connect(s), SPOP_ERR_PROTOCOL);
	ERROR_HAS(s, "STARTTLS injection");
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "forged"));
	CU_ASSERT_EQUAL(seen.auth_fired, 0);
	NO_CREDENTIALS(rec.trail->str);
	/* the peer waits for our close: free first */
	scripted_client_finish(s, &sc);
}

static void test_injection_later_packet(void)
{
	/* the bytes come after the ClientHello left: they reach the TLS
	 * layer, which must fail on them, never hand them up as POP3 */
	static const struct step script[] = {
	    CAPA_STLS,
	    {STEP_EXPECT_LINE, "STLS", 0, 0},
	    {STEP_SEND, "+OK begin\r\n", 0, 0},
	    {STEP_SLEEP, NULL, 300, 0},
	    {STEP_SEND, "+OK forged\r\n", 0, 0},
	    NOTHING_SECRET};
	spop_t *s = scripted_tls_client(script);
	int rc;

	ASSERT_OK(spop_set_ssl_start_mode(s, SPOP_SSL_EXPLICIT));
	rc = spop_connect(s);
	fprintf(stderr, "(later injection: %d %s)\n", rc, spop_last_error(s));
	CU_ASSERT(rc == SPOP_ERR_HANDSHAKE || rc == SPOP_ERR_PROTOCOL);
	CU_ASSERT_FALSE(spop_get_connected(s));
	CU_ASSERT_PTR_NULL(strstr(rec.trail->str, "forged"));
	CU_ASSERT_EQUAL(seen.auth_fired, 0);
	NO_CREDENTIALS(rec.trail->str);
	scripted_client_finish(s, &sc);
}

/* ---- the suites --------------------------------------------------------- */

/* ---- channel binding ---------------------------------------------------
 * The cbdump fixture (tests/fixtures/stack) asks the host for each binding
 * type in a real session and writes what it got; the values are checked
 * independently: tls-server-end-point is the SHA-256 of the server's
 * certificate (RFC 5929; good.pem is signed with SHA-256), tls-exporter is
 * recomputed from the session's EXPORTER_SECRET in the key log (RFC 9266
 * over RFC 8446 section 7.5). */

/* HKDF-Expand-Label of RFC 8446 section 7.1. */
static int expand_label(gnutls_mac_algorithm_t mac, const void *secret,
			size_t secret_len, const char *label, const void *ctx,
			size_t ctx_len, void *out, size_t out_len)
{
	unsigned char info[512];
	size_t n = 0, label_len = 6 + strlen(label);
	gnutls_datum_t key = {(void *)secret, (unsigned)secret_len};

	info[n++] = (unsigned char)(out_len >> 8);
	info[n++] = (unsigned char)out_len;
	info[n++] = (unsigned char)label_len;
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, label_len - 6);
	n += label_len;
	info[n++] = (unsigned char)ctx_len;
	memcpy(info + n, ctx, ctx_len);
	n += ctx_len;
	gnutls_datum_t in = {info, (unsigned)n};
	return gnutls_hkdf_expand(mac, &key, &in, out, out_len);
}

static char *hex(const unsigned char *p, size_t n)
{
	GString *s = g_string_new(NULL);

	for (size_t i = 0; i < n; i++)
		g_string_append_printf(s, "%02x", p[i]);
	return g_string_free(s, FALSE);
}

/* The binding line for type in the fixture's file, or NULL. */
static char *binding(const char *text, const char *type)
{
	char **lines = g_strsplit(text, "\n", -1);
	char *value = NULL;
	size_t n = strlen(type);

	for (int i = 0; lines[i] && !value; i++)
		if (!strncmp(lines[i], type, n) && lines[i][n] == ' ')
			value = g_strdup(lines[i] + n + 1);
	g_strfreev(lines);
	return value;
}

/* tls-exporter from the EXPORTER_SECRET of the (only) session in the key
 * log, with the hash of the negotiated suite. */
static char *exporter_from_key_log(const char *log, const char *suite)
{
	bool sha384 = g_str_has_suffix(suite, "SHA384");
	gnutls_mac_algorithm_t mac =
	    sha384 ? GNUTLS_MAC_SHA384 : GNUTLS_MAC_SHA256;
	gnutls_digest_algorithm_t dig =
	    sha384 ? GNUTLS_DIG_SHA384 : GNUTLS_DIG_SHA256;
	size_t hlen = sha384 ? 48 : 32;
	const char *line = strstr(log, "EXPORTER_SECRET ");
	unsigned char secret[64], empty_hash[64], derived[64], cb[32];

	if (!line)
		return NULL;
	const char *hexs = strchr(line + 16, ' ');
	if (!hexs || strspn(hexs + 1, "0123456789abcdef") != 2 * hlen)
		return NULL;
	for (size_t i = 0; i < hlen; i++)
		sscanf(hexs + 1 + 2 * i, "%2hhx", &secret[i]);
	gnutls_hash_fast(dig, "", 0, empty_hash);
	if (expand_label(mac, secret, hlen, "EXPORTER-Channel-Binding",
			 empty_hash, hlen, derived, hlen) < 0 ||
	    expand_label(mac, derived, hlen, "exporter", empty_hash, hlen, cb,
			 sizeof cb) < 0)
		return NULL;
	return hex(cb, sizeof cb);
}

/* One session through the fixture; returns the fixture's file text and
 * the key log's. */
static void cb_session(const char *protocols, char **bindings, char **keys,
		       char **suite)
{
	char *dir = g_dir_make_tmp("spop-cb-XXXXXX", NULL);
	char *cb_path = g_build_filename(dir, "cb.txt", NULL);
	char *log_path = g_build_filename(dir, "keys.log", NULL);
	char *setting;
	spop_t *s = tls_client(V_GOOD, SPOP_SSL_IMPLICIT, 1);

	/* only the fixture from its directory (the xor TLS fixture there
	 * would serve SSLProvider too) */
	static const char *const files[] = {"spop-auth-cbdump.so",
					    "spop-auth-cbdump.plugin"};
	for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
		char *from =
		    g_build_filename(STACK_FIXTURE_DIR, files[i], NULL);
		char *to = g_build_filename(dir, files[i], NULL);
		CU_ASSERT_EQUAL(symlink(from, to), 0);
		g_free(from);
		g_free(to);
	}
	*bindings = *keys = *suite = NULL;
	g_setenv("SPOP_TEST_CB_FILE", cb_path, TRUE);
	setting = g_strconcat("PluginPath=", dir, NULL);
	config_ok(s, setting);
	g_free(setting);
	config_ok(s, "AuthMechanismName=cbdump");
	config_ok(s, protocols);
	setting = g_strconcat("SSLKeyLogFile=", log_path, NULL);
	config_ok(s, setting);
	g_free(setting);
	if (spop_connect(s) != 0)
		fprintf(stderr, "cbdump: %d %s\n", spop_last_error_code(s),
			spop_last_error(s));
	CU_ASSERT_TRUE(spop_get_connected(s));
	*suite = cfg(s, "SSLNegotiatedCipherSuite");
	spop_disconnect(s);
	spop_free(s);
	g_unsetenv("SPOP_TEST_CB_FILE");
	g_file_get_contents(cb_path, bindings, NULL, NULL);
	g_file_get_contents(log_path, keys, NULL, NULL);
	unlink(cb_path);
	unlink(log_path);
	for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
		char *to = g_build_filename(dir, files[i], NULL);
		unlink(to);
		g_free(to);
	}
	rmdir(dir);
	g_free(cb_path);
	g_free(log_path);
	g_free(dir);
}

static void test_channel_binding_tls13(void)
{
	char *bindings, *keys, *suite, *pem = cert_text("good.pem");
	gnutls_datum_t in = {(unsigned char *)pem, (unsigned)strlen(pem)};
	gnutls_datum_t der = {NULL, 0};
	unsigned char digest[32];

	cb_session("SSLEnabledProtocols=12288", &bindings, &keys, &suite);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bindings);
	CU_ASSERT_PTR_NOT_NULL_FATAL(keys);

	/* tls-server-end-point: SHA-256 of the certificate */
	CU_ASSERT_FATAL(gnutls_pem_base64_decode2("CERTIFICATE", &in, &der) >=
			0);
	gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size, digest);
	char *want = hex(digest, sizeof digest);
	char *got = binding(bindings, "tls-server-end-point");
	CU_ASSERT_PTR_NOT_NULL(got);
	if (got)
		CU_ASSERT_STRING_EQUAL(got, want);
	g_free(got);
	g_free(want);

	/* tls-exporter: recomputed from the key log */
	want = exporter_from_key_log(keys, suite);
	got = binding(bindings, "tls-exporter");
	CU_ASSERT_PTR_NOT_NULL(want);
	CU_ASSERT_PTR_NOT_NULL(got);
	if (want && got)
		CU_ASSERT_STRING_EQUAL(got, want);
	g_free(got);
	g_free(want);

	/* tls-unique does not exist for TLS 1.3 (RFC 9266); unknown types
	 * are 1212 */
	got = binding(bindings, "tls-unique");
	CU_ASSERT_PTR_NOT_NULL(got);
	if (got)
		CU_ASSERT_STRING_EQUAL(got, "error 1212");
	g_free(got);
	got = binding(bindings, "no-such-binding");
	CU_ASSERT_PTR_NOT_NULL(got);
	if (got)
		CU_ASSERT_STRING_EQUAL(got, "error 1212");
	g_free(got);
	gnutls_free(der.data);
	g_free(pem);
	g_free(bindings);
	g_free(keys);
	g_free(suite);
}

static void test_channel_binding_tls12(void)
{
	char *bindings, *keys, *suite, *first;

	/* tls-unique is the first Finished message: 12 bytes, new for every
	 * session */
	cb_session("SSLEnabledProtocols=3072", &bindings, &keys, &suite);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bindings);
	first = binding(bindings, "tls-unique");
	CU_ASSERT_PTR_NOT_NULL(first);
	CU_ASSERT_EQUAL(first ? strspn(first, "0123456789abcdef") : 0, 24);
	CU_ASSERT_EQUAL(first ? strlen(first) : 0, 24);
	g_free(bindings);
	g_free(keys);
	g_free(suite);
	cb_session("SSLEnabledProtocols=3072", &bindings, &keys, &suite);
	char *second = bindings ? binding(bindings, "tls-unique") : NULL;
	CU_ASSERT_PTR_NOT_NULL(second);
	if (first && second)
		CU_ASSERT_STRING_NOT_EQUAL(first, second);
	g_free(first);
	g_free(second);
	g_free(bindings);
	g_free(keys);
	g_free(suite);
}

static const struct test_case provider_cases[] = {
    {"the harness: Dovecot's TLS seen by openssl s_client", test_harness_tls},
    {"SSLEnabled reflects SSLStartMode", test_ssl_enabled},
    {"SSL2/SSL3 bits refused at Config time", test_ssl3_refused},
    {NULL, NULL},
};

static const struct test_case session_cases[] = {
    {"implicit TLS, USER/PASS", test_implicit_user_pass},
    {"implicit TLS, SASL PLAIN", test_implicit_sasl_plain},
    {"STLS, USER/PASS and SASL PLAIN", test_stls},
    {"Automatic on a port other than 110 is implicit",
     test_automatic_is_implicit},
    {"Automatic on port 110 is STLS (private network namespace)",
     test_automatic_110_is_stls},
    {"SSLProvider Automatic / Platform", test_provider_automatic},
    {"host name checked against the DNS SAN", test_host_name},
    {NULL, NULL},
};

static const struct test_case trust_cases[] = {
    {"unknown CA: 280, nothing sent", test_untrusted_ca},
    {"SSLAcceptServerCertEncoded pins", test_pin},
    {"a CA file replaced, rewritten, removed: read afresh",
     test_ca_file_changes},
    {"SSLIncludeCertChain", test_chain_in_event},
    {"wrong host: refused; event, pin, 0x80000000", test_wrong_host},
    {"expired: refused; event, pin, 0x1", test_expired},
    {"self-signed: refused; event, pin, 0x10", test_self_signed},
    {NULL, NULL},
};

static const struct test_case client_cert_cases[] = {
    {"required, none given: login fails", test_client_cert_missing},
    {"PEM key file (type 6)", test_client_cert_pem},
    {"PFX file (type 2)", test_client_cert_pfx},
    {"PFX with a wrong password: 273", test_client_cert_pfx_wrong_password},
    {"chosen certificate gone from the store: 281", test_client_cert_gone},
    {"PKCS#11 token key (type 23)", test_client_cert_pkcs11},
    {NULL, NULL},
};

static const struct test_case protocol_cases[] = {
    {"SSLEnabledProtocols TLS 1.2 only / TLS 1.3 only", test_tls12_only},
    {"Dovecot ssl_min_protocol TLSv1.3", test_server_min_tls13},
    {"SSLEnabledCipherSuites picks the suite", test_cipher_suite_chosen},
    {"Dovecot ssl_cipher_list", test_server_cipher_list},
    {"unknown cipher suite name: 270", test_unknown_cipher_suite},
    {NULL, NULL},
};

static const struct test_case session_state_cases[] = {
    {"SSLKeyLogFile in NSS format, appended", test_key_log},
    {"ReuseSSLSession resumes on reconnect", test_resumption},
    {"LogSSLPackets adds packet events", test_log_packets},
    {"channel binding, TLS 1.3: end-point, exporter",
     test_channel_binding_tls13},
    {"channel binding, TLS 1.2: tls-unique", test_channel_binding_tls12},
    {NULL, NULL},
};

static const struct test_case scripted_cases[] = {
    {"handshake bounded by Timeout", test_handshake_timeout},
    {"handshake ended by Interrupt from another thread",
     test_handshake_interrupt},
    {"Explicit: no STLS, STLS -ERR, CAPA -ERR: nothing sent", test_no_fallback},
    {"bytes after +OK in the same packet: 171", test_injection_same_packet},
    {"bytes after +OK in a later packet: TLS error",
     test_injection_later_packet},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"provider", NULL, NULL, provider_cases},
    {"sessions", NULL, NULL, session_cases},
    {"trust", NULL, NULL, trust_cases},
    {"client certificates", NULL, NULL, client_cert_cases},
    {"protocols and ciphers", NULL, NULL, protocol_cases},
    {"key log, resumption, packets", NULL, NULL, session_state_cases},
    {"scripted peers", NULL, NULL, scripted_cases},
    {NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	const char *why;
	int rc;

	provider = argc > 1 ? argv[1] : g_getenv("SPOP_TEST_TLS_PROVIDER");
	if (provider && strcmp(provider, "gnutls") == 0) {
		provider_value = SPOP_SSLP_INTERNAL;
	} else if (provider && strcmp(provider, "openssl") == 0) {
		provider_value = SPOP_SSLP_PLATFORM;
	} else {
		/* a run that tests no provider must not pass */
		fprintf(stderr,
			"FAIL: test-tls needs the provider to test: "
			"SPOP_TEST_TLS_PROVIDER=gnutls|openssl (got '%s')\n",
			provider ? provider : "");
		return 1;
	}
	why = harness_dovecot_unavailable();
	if (why)
		return harness_cannot_run("tls", why);
	/* every test would fail the same way, slowly: say it once */
	char *missing = provider_missing();
	if (missing) {
		fprintf(stderr, "FAIL: TLS provider %s: %s\n", provider,
			missing);
		g_free(missing);
		return 1;
	}
	rc = test_run(suites);
	stop_servers();
	seen_clear();
	g_string_free(seen.status, TRUE);
	recorder_clear(&rec);
	g_string_free(rec.trail, TRUE);
	g_ptr_array_free(rec.headers, TRUE);
	g_string_free(rec.statuses_seen, TRUE);
	g_ptr_array_free(rec.listed, TRUE);
	return rc;
}
