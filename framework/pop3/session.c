/* The POP3 session as an explicit state machine (RFC 1939, 2449, 2595):
 * greeting -> [implicit TLS] -> CAPA -> [STLS -> handshake -> CAPA again]
 * -> authentication -> transaction -> update. TLS, once asked for, is never
 * given up: no credential leaves before the handshake, and a server that
 * will not do STLS ends the session. */
#include <string.h>

#include "net/net.h"
#include "pop3.h"
#include "tls/tls.h"

static void forget_mailbox(struct spop *s)
{
	s->message_count = 0;
	s->total_size = 0;
	spi_mailbox_invalidate(s);
	spi_mailbox_forget_lists(s);
}

void spi_session_forget(struct spop *s)
{
	forget_mailbox(s);
	spi_message_clear(&s->msg);
	g_ptr_array_set_size(s->capabilities, 0);
	spi_capa_clear(&s->capa);
	g_clear_pointer(&s->greeting, g_free);
}

void spi_session_drop(struct spop *s, int rc)
{
	spi_conn_close(s, rc, rc ? s->error_text : NULL);
	spi_pop3_reset_queue(s);
	s->state = SPI_STATE_CLOSED;
	forget_mailbox(s);
}

void spi_session_adopt(struct spop *s, int fd)
{
	spi_conn_adopt(s, fd);
	s->state = SPI_STATE_TRANSACTION;
}

int spi_session_need_transaction(struct spop *s, const char *what)
{
	if (s->conn && s->state == SPI_STATE_TRANSACTION)
		return 0;
	return spi_fail(s, SPOP_ERR_NOT_CONNECTED,
			"%s needs a connection: call spop_connect() first.",
			what);
}

/* ---- greeting and capabilities ---- */

static int read_greeting(struct spop *s)
{
	GString *line = g_string_new(NULL);
	struct spi_reply r;
	int rc = spi_pop3_read_status_line(s, line);

	if (rc)
		goto out;
	spi_trail(s, SPOP_TRAIL_SERVER, line->str, line->len);
	g_free(s->greeting);
	s->greeting = g_strdup(line->str);
	g_free(s->last_reply);
	s->last_reply = g_strdup(line->str);
	if (spi_reply_parse(line->str, line->len, &r) ||
	    r.kind != SPI_REPLY_OK) {
		char *clean = spi_escape_controls(line->str, line->len);
		rc = spi_fail(s, SPOP_ERR_PROTOCOL,
			      "%s:%d did not greet with +OK: '%s'.",
			      spi_str(s->mail_server), s->mail_port, clean);
		g_free(clean);
	}
out:
	g_string_free(line, TRUE);
	return rc;
}

/* RFC 2449 lists a dozen capabilities; a server sending thousands of
 * lines must not grow the session without end. The first lines are kept
 * (the first naming a capability wins anyway), the rest read and dropped
 * with one note, so the stream stays in step. */
#define CAPA_MAX_LINES 256

struct capa_read {
	bool noted;   /* the "more than" note is in the trail */
	bool in_long; /* inside a line longer than MaxLineLength */
};

static int collect_capa(struct spop *s, const char *line, size_t len, bool eol,
			void *ud)
{
	struct capa_read *c = ud;
	bool tail = c->in_long;

	/* A line longer than MaxLineLength comes in pieces: none of them is
	 * a capability, the last (eol) one included, or the tail of a long
	 * line could pass for "SASL PLAIN" or "STLS". */
	c->in_long = !eol;
	if (s->capabilities->len >= CAPA_MAX_LINES) {
		if (!c->noted) {
			char *note = g_strdup_printf(
			    "%s sent more than %d CAPA lines; the rest are "
			    "ignored.",
			    spi_str(s->mail_server), CAPA_MAX_LINES);
			spi_trail(s, SPOP_TRAIL_INFO, note, strlen(note));
			g_free(note);
			c->noted = true;
		}
		return 0;
	}
	spi_trail(s, SPOP_TRAIL_SERVER, line, len);
	if (eol && !tail)
		g_ptr_array_add(s->capabilities, g_strndup(line, len));
	return 0;
}

/* Capabilities are asked afresh after any change of security layer: what
 * a server said before TLS may have been written by an attacker. */
static int read_capabilities(struct spop *s)
{
	struct spi_reply r;
	struct capa_read capa = {false, false};
	bool body;

	s->state = SPI_STATE_CAPA;
	g_ptr_array_set_size(s->capabilities, 0);
	spi_capa_clear(&s->capa);
	int rc = spi_pop3_send(s, "CAPA", (size_t)-1);
	if (!rc)
		rc = spi_pop3_recv(s, &r, &body);
	if (rc == SPOP_ERR_PROTOCOL && s->conn) {
		/* RFC 2449 servers answer CAPA; older ones say -ERR, which
		 * only means there is no list. A reply that dropped the
		 * connection (malformed, out of sync) is no such answer. */
		spi_clear_error(s);
		return 0;
	}
	if (!rc && body)
		rc = spi_pop3_read_body(s, collect_capa, &capa);
	if (!rc)
		spi_capa_parse(&s->capa, s->capabilities);
	return rc;
}

/* ---- TLS ---- */

/* The reference's SSLStartMode with Automatic resolved: explicit on the
 * plaintext port 110, implicit elsewhere. */
static int start_mode(struct spop *s)
{
	if (s->ssl_start_mode == SPOP_SSL_AUTOMATIC)
		return s->mail_port == 110 ? SPOP_SSL_EXPLICIT
					   : SPOP_SSL_IMPLICIT;
	return s->ssl_start_mode;
}

static const char *tls_server_name(struct spop *s)
{
	const char *name = spi_str(s->mail_server);

	return *name == '*' ? name + 1 : name;
}

static int stls(struct spop *s, const struct spop_plugin_descriptor *tls)
{
	struct spi_reply r;

	if (!s->capa.known)
		return spi_fail(s, SPOP_ERR_PROTOCOL,
				"%s did not answer CAPA, so it cannot be "
				"asked for STLS; SSLStartMode is Explicit "
				"and nothing is sent without TLS.",
				spi_str(s->mail_server));
	if (!s->capa.stls)
		return spi_fail(s, SPOP_ERR_PROTOCOL,
				"%s does not offer STLS in its CAPA list; "
				"SSLStartMode is Explicit and nothing is sent "
				"without TLS.",
				spi_str(s->mail_server));
	s->state = SPI_STATE_STLS;
	int rc = spi_pop3_command(s, "STLS", (size_t)-1, &r);
	if (!rc)
		rc = spi_conn_start_tls(s, tls, tls_server_name(s));
	return rc;
}

/* ---- the whole connect ---- */

static int select_tls(struct spop *s, int mode,
		      const struct spop_plugin_descriptor **tls)
{
	*tls = NULL;
	if (mode == SPOP_SSL_NONE)
		return 0;
	/* UseInternalSecurityAPI False asks Automatic for the platform's
	 * library (OpenSSL here); Internal and Platform are explicit. */
	int provider = s->ssl_provider;
	if (provider == SPOP_SSLP_AUTOMATIC &&
	    !s->cfg.use_internal_security_api)
		provider = SPOP_SSLP_PLATFORM;
	return spi_plugin_select(s, SPOP_PLUGIN_TLS, "SSLProvider", provider,
				 tls);
}

int spi_session_connect(struct spop *s)
{
	const struct spop_plugin_descriptor *auth, *tls;
	int mode = start_mode(s);
	bool sasl = false;
	/* Plugins are chosen first: a missing or broken one fails fast,
	 * without a connection that would be dropped without QUIT. */
	int rc = spi_auth_prepare(s, &auth, &sasl);

	if (!rc)
		rc = select_tls(s, mode, &tls);
	if (rc)
		return rc;

	/* ConnectionTimeout bounds establishing the connection only; the
	 * conversation after it runs under Timeout. */
	if (s->cfg.connection_timeout)
		spi_deadline_start_for(s, s->cfg.connection_timeout,
				       "ConnectionTimeout");
	s->state = SPI_STATE_GREETING;
	spi_tls_forget(s);
	rc = spi_conn_open(s);
	spi_deadline_start(s, s->timeout);
	if (!rc && mode == SPOP_SSL_IMPLICIT)
		rc = spi_conn_start_tls(s, tls, tls_server_name(s));
	if (!rc)
		rc = read_greeting(s);
	if (!rc)
		rc = read_capabilities(s);
	if (!rc && mode == SPOP_SSL_EXPLICIT) {
		rc = stls(s, tls);
		if (!rc)
			rc = read_capabilities(s);
	}
	if (!rc)
		rc = spi_auth_login(s, auth, sasl);
	if (!rc) {
		spi_trail(s, SPOP_TRAIL_INFO, "Logged in.", 10);
		s->state = SPI_STATE_TRANSACTION;
		rc = spi_mailbox_open(s);
	}
	if (rc && s->conn)
		spi_session_drop(s, rc);
	if (rc)
		s->state = SPI_STATE_CLOSED;
	return rc;
}

int spi_session_quit(struct spop *s)
{
	struct spi_reply r;
	int rc = 0;

	if (s->conn) {
		s->state = SPI_STATE_UPDATE;
		rc = spi_pop3_command(s, "QUIT", (size_t)-1, &r);
	}
	if (s->conn)
		spi_session_drop(s, rc);
	s->state = SPI_STATE_CLOSED;
	forget_mailbox(s);
	/* The reference: message properties are empty when not connected.
	 * (A drop inside a method leaves that method to decide.) */
	spi_message_clear(&s->msg);
	return rc;
}
