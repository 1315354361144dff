/* The POP3 command engine. Sent commands wait in a queue, each knowing
 * whether its answer has a body and whether a "+ " continuation may answer
 * it, so several can be in flight (RFC 2449 PIPELINING); replies are
 * matched to them in order and come back typed. */
#include <string.h>

#include "net/net.h"
#include "pop3.h"

struct pending {
	char *verb; /* for messages: the command without its arguments */
	bool multiline;
	unsigned flags;
};

static void pending_free(gpointer p)
{
	struct pending *c = p;

	g_free(c->verb);
	g_free(c);
}

static void drop_corked(struct spop *s)
{
	if (!s->corked)
		return;
	memset(s->corked->str, 0, s->corked->len);
	g_string_free(s->corked, TRUE);
	s->corked = NULL;
}

void spi_pop3_reset_queue(struct spop *s)
{
	if (s->pending)
		g_queue_free_full(s->pending, pending_free);
	s->pending = g_queue_new();
	drop_corked(s);
}

void spi_pop3_cork(struct spop *s)
{
	if (!s->corked)
		s->corked = g_string_sized_new(1024);
}

int spi_pop3_flush(struct spop *s)
{
	int rc = 0;

	if (s->corked && s->corked->len && s->conn)
		rc = spi_conn_write(s, s->corked->str, s->corked->len);
	drop_corked(s);
	return rc ? spi_pop3_fatal(s, rc) : 0;
}

int spi_pop3_fatal(struct spop *s, int rc)
{
	/* 171 for -ERR keeps the stream in step; anything else does not. */
	if (rc && rc != SPOP_ERR_PROTOCOL && s->conn)
		spi_session_drop(s, rc);
	return rc;
}

/* RFC 1939 servers speak only when asked: bytes that arrived while no
 * command was waiting would be read as the answer to the next one (an
 * injected "+OK" before PASS, a forged STAT), so the stream can no longer
 * be matched to commands. Nothing is sent and the connection is dropped,
 * as DoEvents does when it sees them between calls. */
static int unsolicited(struct spop *s, const char *line)
{
	GString *got = g_string_new(NULL);
	const char *sp = strchr(line, ' ');
	char *verb = sp ? g_strndup(line, sp - line) : g_strdup(line);
	int rc = spi_pop3_read_status_line(s, got);

	if (!rc) {
		char *clean = spi_escape_controls(got->str, got->len);

		rc = spi_fail(s, SPOP_ERR_PROTOCOL,
			      "%s sent '%s' while no command was waiting "
			      "(before %s); the replies are out of sync, so "
			      "nothing was sent and the connection is "
			      "dropped.",
			      spi_str(s->mail_server), clean, verb);
		g_free(clean);
	}
	g_free(verb);
	g_string_free(got, TRUE);
	if (s->conn)
		spi_session_drop(s, rc);
	return rc;
}

int spi_pop3_send_flags(struct spop *s, const char *line, size_t mask_from,
			unsigned flags)
{
	if (!s->conn)
		return spi_fail(s, SPOP_ERR_NOT_CONNECTED,
				"Not connected: call spop_connect() "
				"first.");
	if (strpbrk(line, "\r\n"))
		return spi_fail(s, SPOP_ERR_INVALID_ARGUMENT,
				"Refusing to send a command with a "
				"CR or LF in it (it would smuggle a second "
				"command); nothing was sent.");
	if (!g_queue_get_length(s->pending) && spi_conn_buffered(s))
		return unsolicited(s, line);
	size_t n = strlen(line);
	spi_trail_masked(s, SPOP_TRAIL_CLIENT, line, mask_from);
	if (s->corked) {
		g_string_append_len(s->corked, line, (gssize)n);
		g_string_append_len(s->corked, "\r\n", 2);
	} else {
		char *wire = g_malloc(n + 3);
		memcpy(wire, line, n);
		memcpy(wire + n, "\r\n", 3);
		int rc = spi_conn_write(s, wire, n + 2);
		memset(wire, 0, n);
		g_free(wire);
		if (rc)
			return spi_pop3_fatal(s, rc);
	}

	struct pending *c = g_new0(struct pending, 1);
	const char *sp = strchr(line, ' ');
	c->verb = sp ? g_strndup(line, sp - line) : g_strdup(line);
	/* A SASL response is no command; name the exchange in messages. */
	if (flags & SPI_CMD_CONTINUATION) {
		g_free(c->verb);
		c->verb = g_strdup("AUTH");
	}
	c->multiline = spi_command_is_multiline(line);
	c->flags = flags;
	g_queue_push_tail(s->pending, c);
	return 0;
}

unsigned spi_pop3_in_flight(struct spop *s)
{
	return s->pending ? g_queue_get_length(s->pending) : 0;
}

int spi_pop3_send(struct spop *s, const char *line, size_t mask_from)
{
	return spi_pop3_send_flags(s, line, mask_from, 0);
}

int spi_pop3_read_status_line(struct spop *s, GString *out)
{
	const char *line;
	size_t len;
	bool eol = false;

	g_string_truncate(out, 0);
	while (!eol) {
		int rc = spi_conn_read_line(s, &line, &len, &eol);
		if (rc)
			return spi_pop3_fatal(s, rc);
		if (out->len + len > 64 * 1024)
			return spi_pop3_fatal(
			    s, spi_fail(s, SPOP_ERR_COMMUNICATION,
					"%s:%d sent a "
					"status line longer than 64 KiB.",
					spi_str(s->mail_server), s->mail_port));
		g_string_append_len(out, line, (gssize)len);
	}
	return 0;
}

static int err_reply(struct spop *s, const struct spi_reply *r,
		     const char *verb)
{
	const char *meaning =
	    *r->resp_code ? spi_resp_code_meaning(r->resp_code) : NULL;

	if (meaning)
		return spi_fail(s, SPOP_ERR_PROTOCOL,
				"%s answered %s: %s (%s: %s).",
				spi_str(s->mail_server), verb, s->last_reply,
				r->resp_code, meaning);
	return spi_fail(s, SPOP_ERR_PROTOCOL, "%s answered %s: %s",
			spi_str(s->mail_server), verb, s->last_reply);
}

int spi_pop3_recv(struct spop *s, struct spi_reply *reply, bool *has_body)
{
	struct pending *c = g_queue_pop_head(s->pending);
	const char *verb = c ? c->verb : "the connection";
	GString *line = g_string_new(NULL);
	int rc = spi_pop3_read_status_line(s, line);

	*has_body = false;
	if (rc)
		goto out;
	spi_trail(s, SPOP_TRAIL_SERVER, line->str, line->len);
	g_free(s->last_reply);
	/* g_strndup, not g_strdup: a NUL in the line ends the copy as a C
	 * string, but the copy is padded to the line's length, which the
	 * parser is given (fuzz-mailbox: it read past a g_strdup copy). */
	s->last_reply = g_strndup(line->str, line->len);
	/* reply->text points into last_reply, valid until the next reply. */
	bool parsed = !spi_reply_parse(s->last_reply, line->len, reply);
	if (!parsed || (reply->kind == SPI_REPLY_CONTINUE &&
			!(c && (c->flags & SPI_CMD_CONTINUATION)))) {
		/* Out of sync, not a POP3 server, or a continuation where no
		 * SASL exchange runs: nothing after can be trusted. */
		char *clean = spi_escape_controls(line->str, line->len);
		rc = spi_fail(s, SPOP_ERR_PROTOCOL, "%s reply to %s: '%s'.",
			      parsed ? "Unexpected continuation as the"
				     : "Malformed",
			      verb, clean);
		g_free(clean);
		spi_session_drop(s, rc);
		goto out;
	}
	if (reply->kind == SPI_REPLY_ERR) {
		rc = err_reply(s, reply, verb);
		goto out;
	}
	*has_body = reply->kind == SPI_REPLY_OK && c && c->multiline;
out:
	if (c)
		pending_free(c);
	g_string_free(line, TRUE);
	return rc;
}

int spi_pop3_command(struct spop *s, const char *line, size_t mask_from,
		     struct spi_reply *reply)
{
	bool body;
	int rc = spi_pop3_send(s, line, mask_from);

	if (rc)
		return rc;
	return spi_pop3_recv(s, reply, &body);
}

int spi_pop3_read_body(struct spop *s, spi_line_fn fn, void *ud)
{
	/* The scanner finds line ends with memchr in the connection's
	 * buffer and unstuffs in place; after a consumer error the rest is
	 * read and dropped, so the next command's reply is not mistaken for
	 * body lines. */
	struct spi_body_consumer k = {.line = fn, .per_line = true};
	int first_rc = 0;
	int rc = spi_conn_read_body(s, &k, ud, &first_rc);

	if (rc)
		return spi_pop3_fatal(s, rc);
	return first_rc;
}

size_t spi_pop3_mask_from(const char *line)
{
	static const char *const secret_after[] = {"PASS ", "APOP ", "AUTH "};

	for (size_t i = 0; i < G_N_ELEMENTS(secret_after); i++) {
		size_t n = strlen(secret_after[i]);

		if (g_ascii_strncasecmp(line, secret_after[i], n))
			continue;
		if (i == 0)
			return n;
		/* APOP user digest / AUTH mech payload: keep the first word */
		const char *sp = strchr(line + n, ' ');
		return sp ? (size_t)(sp - line) + 1 : (size_t)-1;
	}
	return (size_t)-1;
}
