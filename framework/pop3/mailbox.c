/* Mailbox commands of the TRANSACTION state (RFC 1939): STAT, LIST, UIDL,
 * DELE, RSET and custom commands, with the reference's per-MessageNumber
 * caches. Optional commands (UIDL, TOP) degrade as RFC 1939 allows: a
 * server without them gets a clear error naming the command. */
#include <stdlib.h>
#include <string.h>

#include "pop3.h"

void spi_mailbox_invalidate(struct spop *s)
{
	s->size_cache_number = 0;
	s->uid_cache_number = 0;
	s->text_cache_number = 0;
	s->headers_cache_number = 0;
}

void spi_mailbox_forget_lists(struct spop *s)
{
	g_clear_pointer(&s->listed_sizes, g_array_unref);
	g_clear_pointer(&s->listed_uids, g_ptr_array_unref);
}

/* Only numbers STAT announced are kept: a hostile "2000000000 5" line must
 * not size the table. */
static void listed_size_set(struct spop *s, int n, int64_t size)
{
	const int64_t unknown = -1;

	if (n < 1 || n > s->message_count)
		return;
	if (!s->listed_sizes)
		s->listed_sizes = g_array_new(FALSE, FALSE, sizeof(int64_t));
	while (s->listed_sizes->len < (guint)n)
		g_array_append_val(s->listed_sizes, unknown);
	g_array_index(s->listed_sizes, int64_t, n - 1) = size;
}

static void listed_uid_set(struct spop *s, int n, const char *uid)
{
	if (n < 1 || n > s->message_count)
		return;
	if (!s->listed_uids)
		s->listed_uids = g_ptr_array_new_with_free_func(g_free);
	if (s->listed_uids->len < (guint)n)
		g_ptr_array_set_size(s->listed_uids, n);
	g_free(g_ptr_array_index(s->listed_uids, n - 1));
	g_ptr_array_index(s->listed_uids, n - 1) = g_strdup(uid);
}

int64_t spi_mailbox_listed_size(const struct spop *s, int n)
{
	if (!s->listed_sizes || n < 1 || (guint)n > s->listed_sizes->len)
		return -1;
	return g_array_index(s->listed_sizes, int64_t, n - 1);
}

const char *spi_mailbox_listed_uid(const struct spop *s, int n)
{
	if (!s->listed_uids || n < 1 || (guint)n > s->listed_uids->len)
		return NULL;
	return g_ptr_array_index(s->listed_uids, n - 1);
}

/* RFC 1939's numbers are digits only. strtoll would take a sign ("+5",
 * "-0") and leading blanks, and clamp 99999999999999999999 to LLONG_MAX
 * without a word, so a hostile STAT or LIST could announce an absurd size
 * unnoticed. The digits at p (at most len bytes): how many, with the value
 * in *out; 0 when there are none or the value passes INT64_MAX. */
static size_t digits(const char *p, size_t len, int64_t *out)
{
	int64_t v = 0;
	size_t i = 0;

	for (; i < len && g_ascii_isdigit(p[i]); i++) {
		int d = p[i] - '0';

		if (v > (G_MAXINT64 - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*out = v;
	return i;
}

/* RFC 1939's unique-id: 1 to 70 characters from 0x21 to 0x7E. A longer
 * one, or one with blanks or control characters, is not a UID an
 * application can use as a key or a file name. */
static bool uid_valid(const char *p, size_t len)
{
	if (len < 1 || len > 70)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
			return false;
	return true;
}

/* "count size[ more]": RFC 1939 lets a server add text after the size. */
static int parse_count_size(const char *text, long long *a, long long *b)
{
	int64_t x, y;
	size_t n = digits(text, strlen(text), &x);

	if (!n || text[n] != ' ')
		return -1;
	const char *p = text + n;
	while (*p == ' ')
		p++;
	n = digits(p, strlen(p), &y);
	if (!n || (p[n] && p[n] != ' '))
		return -1;
	*a = x;
	*b = y;
	return 0;
}

/* Reads the reply to a STAT already sent. */
static int stat_reply(struct spop *s)
{
	struct spi_reply r;
	long long count, size;
	bool body;
	int rc = spi_pop3_recv(s, &r, &body);

	if (rc)
		return rc;
	if (parse_count_size(r.text, &count, &size) || count > G_MAXINT)
		return spi_fail(s, SPOP_ERR_PROTOCOL,
				"Malformed STAT answer: '%s'.", s->last_reply);
	s->message_count = (int)count;
	s->total_size = size;
	return 0;
}

int spi_mailbox_stat(struct spop *s)
{
	int rc = spi_pop3_send(s, "STAT", (size_t)-1);

	return rc ? rc : stat_reply(s);
}

int spi_mailbox_optional(struct spop *s, const char *verb, const char *what)
{
	bool listed = !strcmp(verb, "UIDL") ? s->capa.uidl : s->capa.top;

	/* A server that answered CAPA lists what it has (RFC 2449); one
	 * that did not may still have it, so it is asked. */
	if (!s->capa.known || listed)
		return 0;
	return spi_fail(s, SPOP_ERR_PROTOCOL,
			"%s needs the optional POP3 command %s, which %s does "
			"not list in CAPA; nothing was sent.",
			what, verb, spi_str(s->mail_server));
}

int spi_mailbox_optional_failed(struct spop *s, int rc, const char *verb,
				const char *what)
{
	if (rc != SPOP_ERR_PROTOCOL || s->capa.known)
		return rc;
	char *reply = g_strdup(spi_str(s->last_reply));
	rc = spi_fail(s, SPOP_ERR_PROTOCOL,
		      "%s needs the optional POP3 command %s, and %s "
		      "refused it: %s",
		      what, verb, spi_str(s->mail_server), reply);
	g_free(reply);
	return rc;
}

struct list_ctx {
	bool uids;
	bool quiet; /* kept, without MessageList events */
	char *bad;
};

static int list_line(struct spop *s, const char *line, size_t len, bool eol,
		     void *ud)
{
	struct list_ctx *c = ud;
	/* The reader's buffer has more bytes after the line: every parse
	 * below is bounded by len. */
	int64_t n = 0;
	size_t k = digits(line, len, &n);
	int rc = 0;

	if (!k || k >= len || line[k] != ' ' || n < 1 || n > G_MAXINT || !eol) {
		rc = SPOP_ERR_PROTOCOL;
	} else if (c->uids) {
		const char *p = line + k + 1;
		size_t rest = len - k - 1;

		if (!uid_valid(p, rest)) {
			rc = SPOP_ERR_PROTOCOL;
		} else {
			char *uid = g_strndup(p, rest);

			listed_uid_set(s, (int)n, uid);
			if (!c->quiet)
				spi_emit_message_list(s, (int)n, uid, 0);
			g_free(uid);
		}
	} else {
		const char *p = line + k + 1;
		size_t rest = len - k - 1;
		int64_t size = 0;
		size_t m = digits(p, rest, &size);

		if (!m || (m < rest && p[m] != ' ')) {
			rc = SPOP_ERR_PROTOCOL;
		} else {
			listed_size_set(s, (int)n, size);
			if (!c->quiet)
				spi_emit_message_list(s, (int)n, "", size);
		}
	}
	if (rc && !c->bad)
		c->bad = spi_escape_controls(line, len);
	return rc;
}

/* Reads the reply to a LIST or UIDL already sent. */
static int list_reply(struct spop *s, bool uids, bool quiet)
{
	const char *what = uids ? "ListMessageUIDs" : "ListMessageSizes";
	const char *verb = uids ? "UIDL" : "LIST";
	struct spi_reply r;
	struct list_ctx c = {uids, quiet, NULL};
	bool body;
	int rc = spi_pop3_recv(s, &r, &body);

	if (rc && uids)
		rc = spi_mailbox_optional_failed(s, rc, verb, what);
	if (!rc && body)
		rc = spi_pop3_read_body(s, list_line, &c);
	if (rc == SPOP_ERR_PROTOCOL && c.bad)
		spi_fail(s, SPOP_ERR_PROTOCOL,
			 "Malformed %s line from %s: '%s'.", verb,
			 spi_str(s->mail_server), c.bad);
	g_free(c.bad);
	return rc;
}

int spi_mailbox_list(struct spop *s, bool uids)
{
	int rc = uids ? spi_mailbox_optional(s, "UIDL", "ListMessageUIDs") : 0;

	if (!rc)
		rc = spi_pop3_send(s, uids ? "UIDL" : "LIST", (size_t)-1);
	return rc ? rc : list_reply(s, uids, false);
}

int spi_mailbox_list_quietly(struct spop *s, bool uids)
{
	int rc = uids ? spi_mailbox_optional(s, "UIDL", "A batch by UID") : 0;

	if (!rc)
		rc = spi_pop3_send(s, uids ? "UIDL" : "LIST", (size_t)-1);
	return rc ? rc : list_reply(s, uids, true);
}

/* A listing asked for at Connect is a convenience: if the server refuses
 * or garbles it, MessageSize and MessageUID ask per message instead, as
 * they would without it, and the session goes on. */
static int list_at_connect_reply(struct spop *s, bool uids)
{
	int rc = list_reply(s, uids, true);

	if (rc != SPOP_ERR_PROTOCOL || !s->conn)
		return rc;
	char *note = g_strdup_printf("%s at Connect failed (%s); sizes and "
				     "UIDs will be asked per message.",
				     uids ? "UIDL" : "LIST", s->error_text);
	spi_trail(s, SPOP_TRAIL_INFO, note, strlen(note));
	g_free(note);
	spi_clear_error(s);
	if (uids)
		g_clear_pointer(&s->listed_uids, g_ptr_array_unref);
	else
		g_clear_pointer(&s->listed_sizes, g_array_unref);
	return 0;
}

int spi_mailbox_open(struct spop *s)
{
	bool uidl = !s->capa.known || s->capa.uidl;
	int rc;

	if (!s->cfg.list_at_connect || !s->capa.pipelining ||
	    s->cfg.pipeline_window < 2)
		return spi_mailbox_stat(s);
	/* One write, one round trip: STAT's count bounds the tables that
	 * LIST and UIDL fill, and it is read first. */
	spi_pop3_cork(s);
	rc = spi_pop3_send(s, "STAT", (size_t)-1);
	if (!rc)
		rc = spi_pop3_send(s, "LIST", (size_t)-1);
	if (!rc && uidl)
		rc = spi_pop3_send(s, "UIDL", (size_t)-1);
	if (!rc)
		rc = spi_pop3_flush(s);
	if (!rc)
		rc = stat_reply(s);
	if (!rc)
		rc = list_at_connect_reply(s, false);
	if (!rc && uidl)
		rc = list_at_connect_reply(s, true);
	return rc;
}

static const char *fetch_partial(struct spop *s, bool headers_only)
{
	return headers_only	  ? "RetrieveHeaders"
	       : s->max_lines > 0 ? "Retrieve with MaxLines"
				  : NULL;
}

int spi_mailbox_fetch_send(struct spop *s, int number, bool headers_only)
{
	const char *partial = fetch_partial(s, headers_only);
	char *cmd;
	int rc = partial ? spi_mailbox_optional(s, "TOP", partial) : 0;

	if (rc)
		return rc;
	if (headers_only)
		cmd = g_strdup_printf("TOP %d 0", number);
	else if (s->max_lines > 0)
		cmd = g_strdup_printf("TOP %d %d", number, s->max_lines);
	else
		cmd = g_strdup_printf("RETR %d", number);
	rc = spi_pop3_send(s, cmd, (size_t)-1);
	g_free(cmd);
	return rc;
}

int spi_mailbox_fetch_reply(struct spop *s, bool headers_only)
{
	const char *partial = fetch_partial(s, headers_only);
	struct spi_reply r;
	bool body;
	int rc = spi_pop3_recv(s, &r, &body);

	if (rc && partial)
		rc = spi_mailbox_optional_failed(s, rc, "TOP", partial);
	if (!rc && !body)
		rc = spi_pop3_fatal(
		    s, spi_fail(s, SPOP_ERR_COMMUNICATION,
				"The answer to RETR/TOP had no body."));
	return rc;
}

/* LIST n / UIDL n: "+OK n value". */
static int query_one(struct spop *s, const char *verb, char **value)
{
	struct spi_reply r;
	char *cmd = g_strdup_printf("%s %d", verb, s->message_number);
	int rc = spi_pop3_command(s, cmd, (size_t)-1, &r);

	g_free(cmd);
	if (rc)
		return rc;
	int64_t n = 0;
	size_t k = digits(r.text, strlen(r.text), &n);
	if (!k || r.text[k] != ' ' || !r.text[k + 1] || n != s->message_number)
		return spi_fail(s, SPOP_ERR_PROTOCOL,
				"Malformed %s answer: '%s'.", verb,
				s->last_reply);
	*value = g_strdup(r.text + k + 1);
	g_strchomp(*value);
	return 0;
}

int64_t spi_query_size(struct spop *s, int *rc)
{
	char *v = NULL;

	*rc = spi_session_need_transaction(s, "QueryMessageSize");
	if (!*rc && s->size_cache_number == s->message_number)
		return s->size_cache;
	if (!*rc && spi_mailbox_listed_size(s, s->message_number) >= 0) {
		s->size_cache = spi_mailbox_listed_size(s, s->message_number);
		s->size_cache_number = s->message_number;
		return s->size_cache;
	}
	if (!*rc)
		*rc = query_one(s, "LIST", &v);
	if (!*rc) {
		int64_t n = 0;
		size_t k = digits(v, strlen(v), &n);

		if (!k || (v[k] && v[k] != ' ')) {
			*rc = spi_fail(s, SPOP_ERR_PROTOCOL,
				       "Malformed LIST answer: '%s'.",
				       s->last_reply);
		} else {
			s->size_cache = n;
			s->size_cache_number = s->message_number;
		}
	}
	g_free(v);
	return *rc ? 0 : s->size_cache;
}

const char *spi_query_uid(struct spop *s, int *rc)
{
	char *v = NULL;

	*rc = spi_session_need_transaction(s, "QueryMessageUID");
	if (!*rc && s->uid_cache_number == s->message_number)
		return spi_str(s->uid_cache);
	if (!*rc && spi_mailbox_listed_uid(s, s->message_number)) {
		g_free(s->uid_cache);
		s->uid_cache =
		    g_strdup(spi_mailbox_listed_uid(s, s->message_number));
		s->uid_cache_number = s->message_number;
		return s->uid_cache;
	}
	if (!*rc)
		*rc = spi_mailbox_optional(s, "UIDL", "QueryMessageUID");
	if (!*rc) {
		*rc = query_one(s, "UIDL", &v);
		*rc = spi_mailbox_optional_failed(s, *rc, "UIDL",
						  "QueryMessageUID");
	}
	if (!*rc && !uid_valid(v, strlen(v)))
		*rc = spi_fail(s, SPOP_ERR_PROTOCOL,
			       "Malformed UIDL answer (RFC 1939: a UID is 1 "
			       "to 70 printable characters): '%s'.",
			       s->last_reply);
	if (*rc) {
		g_free(v);
		return "";
	}
	g_free(s->uid_cache);
	s->uid_cache = v;
	s->uid_cache_number = s->message_number;
	return s->uid_cache;
}

int spi_mailbox_delete(struct spop *s)
{
	struct spi_reply r;
	char *cmd = g_strdup_printf("DELE %d", s->message_number);
	int rc = spi_pop3_command(s, cmd, (size_t)-1, &r);

	g_free(cmd);
	spi_mailbox_invalidate(s);
	if (!rc)
		spi_mailbox_deleted(s, s->message_number);
	return rc;
}

void spi_mailbox_deleted(struct spop *s, int n)
{
	/* A deleted message is no longer listed (LIST n answers -ERR). */
	if (spi_mailbox_listed_size(s, n) >= 0)
		listed_size_set(s, n, -1);
	if (spi_mailbox_listed_uid(s, n))
		listed_uid_set(s, n, NULL);
	if (s->size_cache_number == n)
		s->size_cache_number = 0;
	if (s->uid_cache_number == n)
		s->uid_cache_number = 0;
}

int spi_mailbox_reset(struct spop *s)
{
	struct spi_reply r;
	int rc = spi_pop3_command(s, "RSET", (size_t)-1, &r);

	spi_mailbox_invalidate(s);
	return rc;
}

static int trail_line(struct spop *s, const char *line, size_t len, bool eol,
		      void *ud)
{
	spi_trail(s, SPOP_TRAIL_SERVER, line, len);
	return 0;
}

int spi_mailbox_custom(struct spop *s, const char *command)
{
	struct spi_reply r;
	bool body;
	int rc = spi_pop3_send(s, command, spi_pop3_mask_from(command));

	if (!rc)
		rc = spi_pop3_recv(s, &r, &body);
	if (!rc && body)
		rc = spi_pop3_read_body(s, trail_line, NULL);
	/* A custom command may change the mailbox (DELE, RSET). */
	spi_mailbox_invalidate(s);
	return rc;
}
