/* What TLS means the same way whichever provider runs it: the decision on
 * the server's certificate (SSLSecurityFlags, the pin, the event), the
 * values of the last session (SSLNegotiated*, SSLServerCertEncoded),
 * resumption, the key-log file, packet logging, and the certificate
 * properties. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "tls.h"

struct spi_tls_state {
	GBytes *server_cert; /* DER of the last server certificate */
	struct spop_tls_info info;
	bool established;
	char *provider; /* the plugin that ran (or tried) the last handshake */
	/* ReuseSSLSession: one blob for one provider, server and port */
	char *cache_key;
	GBytes *cache;
	char *scratch; /* strings returned to the application */
};

static struct spi_tls_state *state(struct spop *s)
{
	if (!s->tls)
		s->tls = g_new0(struct spi_tls_state, 1);
	return s->tls;
}

void spi_tls_forget(struct spop *s)
{
	struct spi_tls_state *t = state(s);

	g_clear_pointer(&t->server_cert, g_bytes_unref);
	t->info = (struct spop_tls_info){0};
	t->established = false;
	g_clear_pointer(&t->provider, g_free);
}

void spi_tls_begin(struct spop *s, const char *provider)
{
	struct spi_tls_state *t = state(s);

	g_free(t->provider);
	t->provider = g_strdup(provider);
}

void spi_tls_free(struct spop *s)
{
	struct spi_tls_state *t = s->tls;

	if (!t)
		return;
	g_clear_pointer(&t->server_cert, g_bytes_unref);
	g_clear_pointer(&t->cache, g_bytes_unref);
	g_free(t->cache_key);
	g_free(t->scratch);
	g_free(t->provider);
	g_free(t);
	s->tls = NULL;
}

void spi_emit_ssl_status(struct spop *s, const char *fmt, ...)
{
	if (!s->ev.ssl_status)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *raw = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	/* Provider text and server names reach the application: no control
	 * characters, as in the trail. */
	char *clean = spi_escape_controls(raw, strlen(raw));
	struct spop_ssl_status_event e = {clean};

	s->in_event++;
	s->ev.ssl_status(s, &e, s->ev.ssl_status_ud);
	s->in_event--;
	g_free(clean);
	g_free(raw);
}

SPI_EXPORT void spop_on_ssl_status(spop_t *s, spop_ssl_status_cb cb, void *ud)
{
	s->ev.ssl_status = cb;
	s->ev.ssl_status_ud = ud;
}

SPI_EXPORT void spop_on_ssl_server_authentication(
    spop_t *s, spop_ssl_server_authentication_cb cb, void *ud)
{
	s->ev.ssl_server_authentication = cb;
	s->ev.ssl_server_authentication_ud = ud;
}

/* ---- the server's certificate ---- */

/* SSLSecurityFlags bits -> the failures they let pass. The reference's
 * CTL and test-root bits fold into the nearest failure a provider can
 * report; no bit passes SPOP_CERT_FAIL_INVALID. */
static uint32_t ignored_failures(long long flags)
{
	uint32_t ignored = 0;

	if (flags & (0x1 | 0x2 | 0x4))
		ignored |= SPOP_CERT_FAIL_TIME;
	if (flags & (0x10 | 0x4000 | 0x8000))
		ignored |= SPOP_CERT_FAIL_UNKNOWN_CA;
	if (flags & 0x20)
		ignored |= SPOP_CERT_FAIL_USAGE;
	if (flags & (0x100 | 0x200 | 0x400 | 0x800))
		ignored |= SPOP_CERT_FAIL_REVOCATION;
	if (flags & 0x80000000LL)
		ignored |= SPOP_CERT_FAIL_NAME;
	return ignored;
}

static uint32_t report_failures(const struct spop_cert_report *r)
{
	bool has_bits = r->size >= offsetof(struct spop_cert_report, failures) +
				       sizeof r->failures;
	uint32_t f = has_bits ? r->failures : 0;

	/* A provider that says "not verified" without saying why (1.0, or
	 * a bug) fails closed: nothing can be ignored. */
	if (!r->verified && !f)
		f = SPOP_CERT_FAIL_INVALID;
	return f;
}

static bool same_der(GBytes *a, const unsigned char *der, size_t len)
{
	return g_bytes_get_size(a) == len &&
	       !memcmp(g_bytes_get_data(a, NULL), der, len);
}

int spi_tls_server_certificate(struct spop *s, const struct spop_cert_report *r)
{
	struct spi_tls_state *t = state(s);

	if (!r || !r->der || !r->der_len)
		return !spi_fail(s, SPOP_ERR_NO_SERVER_CERT,
				 "%s:%d presented no certificate.",
				 spi_str(s->mail_server), s->mail_port);
	g_clear_pointer(&t->server_cert, g_bytes_unref);
	t->server_cert = g_bytes_new(r->der, r->der_len);

	uint32_t failures = report_failures(r);
	uint32_t left = failures & ~ignored_failures(s->cfg.ssl_security_flags);
	bool accept = left == 0;
	const char *status = accept ? "OK" : spi_str(r->status);
	if (!accept && !*status)
		status = "verification failed";
	if (s->ssl_accept_cert) {
		/* The pin decides alone: that certificate, nothing else. */
		accept = same_der(s->ssl_accept_cert, r->der, r->der_len);
		status = accept ? "OK"
				: "the certificate is not the one pinned by "
				  "SSLAcceptServerCertEncoded";
	}

	char *subject = spi_cert_subject(r->der, r->der_len);
	char *issuer = spi_cert_issuer(r->der, r->der_len);
	bool chain = s->cfg.ssl_include_cert_chain &&
		     r->size >= offsetof(struct spop_cert_report, n_chain) +
				    sizeof r->n_chain &&
		     r->n_chain && r->chain_der && r->chain_len;
	const unsigned char *leaf[1] = {r->der};
	size_t leaf_len[1] = {r->der_len};
	char *pem = chain ? spi_cert_pem(r->chain_der, r->chain_len, r->n_chain)
			  : spi_cert_pem(leaf, leaf_len, 1);
	char *verdict = g_strdup(status);
	struct spop_ssl_server_authentication_event e = {
	    pem, strlen(pem), subject, issuer, verdict, accept};

	if (s->ev.ssl_server_authentication) {
		s->in_event++;
		s->ev.ssl_server_authentication(
		    s, &e, s->ev.ssl_server_authentication_ud);
		s->in_event--;
	}
	char *line = g_strdup_printf(
	    "Server certificate '%s' issued by '%s': %s%s%s.", subject, issuer,
	    e.accept ? "accepted" : "rejected", *verdict ? ", " : "", verdict);
	spi_trail(s, SPOP_TRAIL_INFO, line, strlen(line));
	g_free(line);

	int go_on = e.accept != 0;
	if (!go_on)
		spi_fail(s, SPOP_ERR_CERT_VERIFY,
			 "The certificate of %s:%d ('%s', issued by '%s') "
			 "was rejected: %s.",
			 spi_str(s->mail_server), s->mail_port, subject, issuer,
			 verdict);
	g_free(verdict);
	g_free(pem);
	g_free(subject);
	g_free(issuer);
	return go_on;
}

/* ---- the established session ---- */

void spi_tls_established(struct spop *s, const char *provider,
			 struct spop_tls_info *info)
{
	struct spi_tls_state *t = state(s);
	bool has_suite = info->size >= offsetof(struct spop_tls_info, resumed) +
					   sizeof info->resumed;

	t->info = *info;
	t->info.peer_der = NULL;
	t->info.peer_der_len = 0;
	if (!has_suite) {
		t->info.cipher_suite[0] = 0;
		t->info.resumed = 0;
	}
	/* Providers fill fixed arrays; a missing terminator must not run
	 * into the next field. */
	t->info.version[sizeof t->info.version - 1] = 0;
	t->info.cipher[sizeof t->info.cipher - 1] = 0;
	t->info.key_exchange[sizeof t->info.key_exchange - 1] = 0;
	t->info.cipher_suite[sizeof t->info.cipher_suite - 1] = 0;
	if (info->peer_der && info->peer_der_len && !t->server_cert)
		t->server_cert =
		    g_bytes_new(info->peer_der, info->peer_der_len);
	t->established = true;
	spi_emit_ssl_status(
	    s, "TLS established with %s:%d: %s, %s%s (%s)",
	    spi_str(s->mail_server), s->mail_port, t->info.version,
	    *t->info.cipher_suite ? t->info.cipher_suite : t->info.cipher,
	    t->info.resumed ? ", resumed" : "", provider);
}

static char *scratch(struct spop *s, char *value)
{
	struct spi_tls_state *t = state(s);

	g_free(t->scratch);
	t->scratch = value;
	return value;
}

/* SSLNegotiated* for Config; "" / 0 before any session. */
char *spi_tls_negotiated(struct spop *s, const char *what)
{
	const struct spop_tls_info *i = &state(s)->info;
	bool on = state(s)->established;

	if (!g_ascii_strcasecmp(what, "Provider"))
		return g_strdup(spi_str(state(s)->provider));
	if (!g_ascii_strcasecmp(what, "Cipher"))
		return g_strdup(on ? i->cipher : "");
	if (!g_ascii_strcasecmp(what, "CipherStrength"))
		return g_strdup_printf("%d", on ? i->cipher_strength : 0);
	if (!g_ascii_strcasecmp(what, "CipherSuite"))
		return g_strdup(on ? i->cipher_suite : "");
	if (!g_ascii_strcasecmp(what, "KeyExchange"))
		return g_strdup(on ? i->key_exchange : "");
	if (!g_ascii_strcasecmp(what, "KeyExchangeStrength"))
		return g_strdup_printf("%d", on ? i->key_exchange_strength : 0);
	if (!g_ascii_strcasecmp(what, "Version"))
		return g_strdup(on ? i->version : "");
	return NULL;
}

/* ---- resumption ---- */

static char *cache_key(struct spop *s, const char *provider)
{
	return g_strdup_printf("%s\n%s\n%d", provider, spi_str(s->mail_server),
			       s->mail_port);
}

const void *spi_tls_cache_get(struct spop *s, const char *provider, size_t *len)
{
	struct spi_tls_state *t = state(s);
	char *key = cache_key(s, provider);
	const void *data = NULL;

	*len = 0;
	if (s->cfg.reuse_ssl_session && t->cache && t->cache_key &&
	    !strcmp(key, t->cache_key)) {
		gsize n;
		data = g_bytes_get_data(t->cache, &n);
		*len = n;
	}
	g_free(key);
	return data;
}

void spi_tls_cache_put(struct spop *s, const char *provider, const void *data,
		       size_t len)
{
	struct spi_tls_state *t = state(s);

	if (!s->cfg.reuse_ssl_session || !data || !len)
		return;
	g_clear_pointer(&t->cache, g_bytes_unref);
	g_free(t->cache_key);
	t->cache_key = cache_key(s, provider);
	t->cache = g_bytes_new(data, len);
}

/* ---- debugging aids ---- */

void spi_tls_key_log(struct spop *s, const char *line)
{
	const char *path = s->cfg.ssl_key_log_file;

	if (!path || !*path || !line)
		return;
	/* Appended, never truncated (the reference); one write per line so
	 * concurrent sessions do not interleave within a line. */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		spi_emit_ssl_status(s, "SSLKeyLogFile %s cannot be opened: %s",
				    path, g_strerror(errno));
		return;
	}
	char *text = g_strdup_printf("%s\n", line);
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len)
		spi_emit_ssl_status(s, "SSLKeyLogFile %s: write failed: %s",
				    path, g_strerror(errno));
	g_free(text);
	close(fd);
}

void spi_tls_log_packet(struct spop *s, bool sent, const void *data, size_t len)
{
	if (!s->cfg.log_ssl_packets || !len)
		return;
	const unsigned char *p = data;
	GString *hex = g_string_new(NULL);
	for (size_t i = 0; i < MIN(len, 32); i++)
		g_string_append_printf(hex, "%s%02x", i ? " " : "", p[i]);
	spi_emit_ssl_status(s, "%s %zu bytes of TLS data: %s%s",
			    sent ? "Sent" : "Received", len, hex->str,
			    len > 32 ? " ..." : "");
	g_string_free(hex, TRUE);
}

/* ---- certificate properties ---- */

static int blob_out(struct spop *s, GBytes *der, const char **data, size_t *len)
{
	char *pem = NULL;

	if (der) {
		gsize n;
		const unsigned char *d = g_bytes_get_data(der, &n);
		size_t nl = n;
		pem = spi_cert_pem(&d, &nl, 1);
	}
	*data = scratch(s, pem ? pem : g_strdup(""));
	*len = strlen(*data);
	return 0;
}

SPI_EXPORT int spop_get_ssl_accept_server_cert_encoded(spop_t *s,
						       const char **data,
						       size_t *len)
{
	return blob_out(s, s->ssl_accept_cert, data, len);
}

SPI_EXPORT int
spop_set_ssl_accept_server_cert_encoded(spop_t *s, const char *data, size_t len)
{
	g_clear_pointer(&s->ssl_accept_cert, g_bytes_unref);
	if (!data || !len)
		return 0;
	s->ssl_accept_cert = spi_cert_decode(data, len);
	if (!s->ssl_accept_cert)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"SSLAcceptServerCertEncoded is not a "
				"certificate (PEM, base64 or DER).");
	return 0;
}

SPI_EXPORT int spop_get_ssl_server_cert_encoded(spop_t *s, const char **data,
						size_t *len)
{
	return blob_out(s, state(s)->server_cert, data, len);
}
