/* The POP3 command/reply engine. Sent commands wait in a queue, each
 * knowing whether its answer has a body, so several can be in flight
 * (RFC 2449 PIPELINING); replies are matched to them in order. */
#include <stdlib.h>
#include <string.h>

#include "spop-private.h"

struct pending {
	char *verb; /* for messages: the command without its arguments */
	bool multiline;
};

static void pending_free(gpointer p)
{
	struct pending *c = p;

	g_free(c->verb);
	g_free(c);
}

void spi_pop3_reset_queue(struct spop *s)
{
	if (s->pending)
		g_queue_free_full(s->pending, pending_free);
	s->pending = g_queue_new();
}

/* A failure of the stream itself leaves replies unmatched: drop the link. */
int spi_pop3_fatal(struct spop *s, int rc)
{
	if (rc && rc != 171 && s->conn) {
		spi_conn_close(s);
		spi_pop3_reset_queue(s);
		s->message_count = 0;
		s->total_size = 0;
	}
	return rc;
}

int spi_pop3_send(struct spop *s, const char *line, size_t mask_from)
{
	if (!s->conn)
		return spi_fail(s, 1117,
				"Not connected: call spop_connect() "
				"first.");
	if (strpbrk(line, "\r\n"))
		return spi_fail(s, 10022,
				"Refusing to send a command with a "
				"CR or LF in it (it would smuggle a second "
				"command); nothing was sent.");
	size_t n = strlen(line);
	char *wire = g_malloc(n + 3);
	memcpy(wire, line, n);
	memcpy(wire + n, "\r\n", 3);
	spi_trail_masked(s, SPOP_TRAIL_CLIENT, line, mask_from);
	int rc = spi_conn_write(s, wire, n + 2);
	g_free(wire);
	if (rc)
		return spi_pop3_fatal(s, rc);

	struct pending *c = g_new0(struct pending, 1);
	const char *sp = strchr(line, ' ');
	c->verb = sp ? g_strndup(line, sp - line) : g_strdup(line);
	c->multiline = spi_command_is_multiline(line);
	g_queue_push_tail(s->pending, c);
	return 0;
}

/* Reads one whole status line; pieces of an overlong one are joined up to
 * a bound, since a status line is never legitimately that long. */
static int read_status_line(struct spop *s, GString *out)
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
			    s, spi_fail(s, 172,
					"%s:%d sent a "
					"status line longer than 64 KiB.",
					s->mail_server, s->mail_port));
		g_string_append_len(out, line, (gssize)len);
	}
	return 0;
}

int spi_pop3_recv(struct spop *s, struct spi_reply *reply, bool *has_body)
{
	struct pending *c = g_queue_pop_head(s->pending);
	GString *line = g_string_new(NULL);
	int rc = read_status_line(s, line);

	*has_body = false;
	if (rc)
		goto out;
	spi_trail(s, SPOP_TRAIL_SERVER, line->str, line->len);
	g_free(s->last_reply);
	s->last_reply = g_strdup(line->str);
	/* reply->text points into last_reply, valid until the next reply. */
	if (spi_reply_parse(s->last_reply, line->len, reply)) {
		/* Out of sync or not a POP3 server: nothing after can be
		 * trusted, so the connection is dropped. */
		char *clean = spi_escape_controls(line->str, line->len);
		rc = spi_fail(s, 171, "Malformed reply to %s: '%s'.",
			      c ? c->verb : "the connection", clean);
		g_free(clean);
		spi_conn_close(s);
		spi_pop3_reset_queue(s);
		goto out;
	}
	if (!reply->ok && !reply->continuation) {
		rc = spi_fail(s, 171, "%s answered %s: %s",
			      spi_str(s->mail_server),
			      c ? c->verb : "the connection", s->last_reply);
		goto out;
	}
	*has_body = reply->ok && c && c->multiline;
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
	bool start = true;
	int first_rc = 0;

	for (;;) {
		const char *line;
		size_t len;
		bool eol;
		int rc = spi_conn_read_line(s, &line, &len, &eol);

		if (rc)
			return spi_pop3_fatal(s, rc);
		if (spi_unstuff(&line, &len, start) == 1 && eol)
			return first_rc;
		/* After a consumer error the rest is read and dropped, so the
		 * next command's reply is not mistaken for body lines. */
		if (!first_rc && fn)
			first_rc = fn(s, line, len, eol, ud);
		start = eol;
	}
}

/* ---- session: greeting, CAPA, login, STAT ---- */

static int trail_line(struct spop *s, const char *line, size_t len, bool eol,
		      void *ud)
{
	spi_trail(s, SPOP_TRAIL_SERVER, line, len);
	return 0;
}

static int collect_capa(struct spop *s, const char *line, size_t len, bool eol,
			void *ud)
{
	spi_trail(s, SPOP_TRAIL_SERVER, line, len);
	if (eol)
		g_ptr_array_add(s->capabilities, g_strndup(line, len));
	return 0;
}

static int read_greeting(struct spop *s)
{
	GString *line = g_string_new(NULL);
	struct spi_reply r;
	int rc = read_status_line(s, line);

	if (rc)
		goto out;
	spi_trail(s, SPOP_TRAIL_SERVER, line->str, line->len);
	g_free(s->greeting);
	s->greeting = g_strdup(line->str);
	g_free(s->last_reply);
	s->last_reply = g_strdup(line->str);
	if (spi_reply_parse(line->str, line->len, &r) || !r.ok) {
		char *clean = spi_escape_controls(line->str, line->len);
		rc = spi_fail(s, 171, "%s:%d did not greet with +OK: '%s'.",
			      s->mail_server, s->mail_port, clean);
		g_free(clean);
	}
out:
	g_string_free(line, TRUE);
	return rc;
}

static int read_capabilities(struct spop *s)
{
	struct spi_reply r;
	bool body;

	g_ptr_array_set_size(s->capabilities, 0);
	int rc = spi_pop3_send(s, "CAPA", (size_t)-1);
	if (!rc)
		rc = spi_pop3_recv(s, &r, &body);
	if (rc == 171) {
		/* RFC 2449 servers answer CAPA; older ones say -ERR, which
		 * only means there is no list. */
		spi_clear_error(s);
		return 0;
	}
	if (rc)
		return rc;
	return body ? spi_pop3_read_body(s, collect_capa, NULL) : 0;
}

static int parse_count_size(const char *text, long long *a, long long *b)
{
	char *end;

	*a = strtoll(text, &end, 10);
	if (end == text || *a < 0 || *end != ' ')
		return -1;
	const char *p = end + 1;
	*b = strtoll(p, &end, 10);
	if (end == p || *b < 0 || (*end && *end != ' '))
		return -1;
	return 0;
}

int spi_pop3_stat(struct spop *s)
{
	struct spi_reply r;
	long long count, size;
	int rc = spi_pop3_command(s, "STAT", (size_t)-1, &r);

	if (rc)
		return rc;
	if (parse_count_size(r.text, &count, &size) || count > G_MAXINT)
		return spi_fail(s, 171, "Malformed STAT answer: '%s'.",
				s->last_reply);
	s->message_count = (int)count;
	s->total_size = size;
	return 0;
}

static int select_auth(struct spop *s,
		       const struct spop_plugin_descriptor **out)
{
	if (s->cfg.auth_mechanism_name && *s->cfg.auth_mechanism_name)
		return spi_plugin_by_name(s, SPOP_PLUGIN_AUTH,
					  s->cfg.auth_mechanism_name, out);
	return spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism",
				 s->auth_mechanism, out);
}

/* Chosen before connecting: a missing or broken plugin fails fast, without
 * a connection that would be dropped without QUIT. */
static int select_login(struct spop *s, const struct spop_plugin_descriptor **d)
{
	int rc = select_auth(s, d);

	if (rc)
		return rc;
	const struct spop_auth_ops *ops = (*d)->ops;
	if (ops->size >= offsetof(struct spop_auth_ops, sasl_start) &&
	    ops->login)
		return 0;
	return spi_fail(s, 1212,
			"auth plugin '%s' is a SASL mechanism; this "
			"build of libspop has no SASL driver yet.",
			(*d)->name);
}

int spi_pop3_login(struct spop *s, const struct spop_plugin_descriptor *d)
{
	const struct spop_auth_ops *ops = d->ops;
	struct spop_host host;

	spi_host_init(&host, s);
	return ops->login(&host);
}

int spi_pop3_connect(struct spop *s)
{
	const struct spop_plugin_descriptor *auth;
	int rc = select_login(s, &auth);

	if (!rc)
		rc = spi_conn_open(s);

	if (!rc)
		rc = read_greeting(s);
	if (!rc)
		rc = read_capabilities(s);
	if (!rc) {
		rc = spi_pop3_login(s, auth);
		if (!rc)
			spi_trail(s, SPOP_TRAIL_INFO, "Logged in.", 10);
	}
	if (!rc)
		rc = spi_pop3_stat(s);
	if (rc && s->conn) {
		spi_conn_close(s);
		spi_pop3_reset_queue(s);
	}
	return rc;
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

int spi_pop3_custom(struct spop *s, const char *command)
{
	struct spi_reply r;
	bool body;
	int rc = spi_pop3_send(s, command, spi_pop3_mask_from(command));

	if (!rc)
		rc = spi_pop3_recv(s, &r, &body);
	if (!rc && body)
		rc = spi_pop3_read_body(s, trail_line, NULL);
	return rc;
}
