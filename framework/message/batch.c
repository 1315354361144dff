/* spop_retrieve_batch: many messages in one call, pipelined (RFC 2449).
 *
 * The selection becomes a list of message numbers. Commands go out in
 * corked groups (one write each) while fewer than the window are in
 * flight; replies are read strictly in the order the commands went, which
 * a queue of what was sent remembers, so a DELE answered between two RETR
 * bodies is matched to its own message. The window starts at 32 and grows
 * fourfold each time the client, with the window full, found nothing to
 * read: the server was then waiting for commands rather than the client
 * for the server (a long round trip). Config PipelineWindow caps it. A command
 * is about ten bytes, so even a full window cannot fill the server's input
 * while it writes a body (the deadlock RFC 2449 warns of). */
#include <string.h>

#include "net/net.h"
#include "pop3/pop3.h"

enum sent_kind { SENT_FETCH, SENT_DELE };

struct sent {
	enum sent_kind kind;
	int number;
};

struct batch_run {
	struct spop *s;
	const struct spop_batch *b;
	GArray *numbers;     /* int: what to fetch, in order */
	GArray *unknown;     /* size_t: indexes of uids the mailbox lacks */
	GQueue sent;	     /* struct sent*, oldest first */
	GArray *to_delete;   /* int: stored, DELE not yet sent */
	guint next;	     /* index into numbers of the next to send */
	unsigned fetching;   /* fetches in flight */
	unsigned window;     /* fetches allowed in flight */
	unsigned cap;	     /* PipelineWindow, or 1 */
	int first_error;     /* first per-message failure */
	char *first_message; /* its message */
	int stop;	     /* a callback's non-zero return */
	int deletions;	     /* DELE answered +OK */
};

/* prepare/done run as events: a method called from them answers 174. */
static int call_item(struct batch_run *r, spop_batch_cb cb,
		     const struct spop_batch_item *item)
{
	if (!cb || r->stop)
		return r->stop;
	r->s->in_event++;
	r->stop = cb(r->s, item, r->b->user_data);
	r->s->in_event--;
	return r->stop;
}

static int call(struct batch_run *r, spop_batch_cb cb, int number, int result,
		const char *error)
{
	const char *uid = spi_mailbox_listed_uid(r->s, number);
	struct spop_batch_item item = {
	    .message_number = number,
	    .message_uid = uid ? uid : "",
	    .message_size = spi_mailbox_listed_size(r->s, number),
	    .result = result,
	    .error = error ? error : "",
	};

	return call_item(r, cb, &item);
}

static void note_failure(struct batch_run *r, int rc)
{
	if (r->first_error)
		return;
	r->first_error = rc;
	r->first_message = g_strdup(r->s->error_text);
}

/* ---- the selection ---- */

static int select_range(struct batch_run *r)
{
	struct spop *s = r->s;
	int first = r->b->first ? r->b->first : 1;
	int last = r->b->last ? r->b->last : s->message_count;

	if (!s->message_count && !r->b->first && !r->b->last)
		return 0;
	if (first < 1 || last > s->message_count || first > last)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"The batch range %d-%d is outside the "
				"mailbox's 1-%d; nothing was sent.",
				first, last, s->message_count);
	for (int n = first; n <= last; n++)
		g_array_append_val(r->numbers, n);
	return 0;
}

static int select_numbers(struct batch_run *r)
{
	struct spop *s = r->s;

	for (size_t i = 0; i < r->b->count; i++) {
		int n = r->b->numbers[i];

		if (n < 1 || n > s->message_count)
			return spi_fail(s, SPOP_ERR_INVALID_VALUE,
					"Message %d of the batch is outside "
					"the mailbox's 1-%d; nothing was "
					"sent.",
					n, s->message_count);
		g_array_append_val(r->numbers, n);
	}
	return 0;
}

static int select_uids(struct batch_run *r)
{
	struct spop *s = r->s;
	int rc = 0;

	if (!s->listed_uids) {
		/* The session has not listed them: one UIDL, kept quietly
		 * (no MessageList events; the application asked for a batch,
		 * not a listing). */
		rc = spi_mailbox_list_quietly(s, true);
		if (rc)
			return rc;
	}
	GHashTable *by_uid = g_hash_table_new(g_str_hash, g_str_equal);
	for (int n = s->message_count; n >= 1; n--) {
		const char *uid = spi_mailbox_listed_uid(s, n);

		if (uid)
			g_hash_table_insert(by_uid, (gpointer)uid,
					    GINT_TO_POINTER(n));
	}
	for (size_t i = 0; i < r->b->count; i++) {
		const char *uid = r->b->uids[i];
		int n =
		    uid ? GPOINTER_TO_INT(g_hash_table_lookup(by_uid, uid)) : 0;

		if (n)
			g_array_append_val(r->numbers, n);
		else
			g_array_append_val(r->unknown, i);
	}
	g_hash_table_destroy(by_uid);
	return 0;
}

/* A UID the mailbox does not have is a failed item, not a failed batch:
 * another client may have deleted it, and the others are still wanted. */
static void report_unknown_uids(struct batch_run *r)
{
	for (guint i = 0; i < r->unknown->len && !r->stop; i++) {
		size_t k = g_array_index(r->unknown, size_t, i);
		const char *uid = r->b->uids[k] ? r->b->uids[k] : "(null)";
		int rc = spi_fail(r->s, SPOP_ERR_INVALID_VALUE,
				  "The batch asks for UID '%s', which %s "
				  "does not list.",
				  uid, spi_str(r->s->mail_server));
		struct spop_batch_item item = {
		    .message_uid = uid,
		    .message_size = -1,
		    .result = rc,
		    .error = r->s->error_text,
		};

		note_failure(r, rc);
		call_item(r, r->b->done, &item);
	}
}

/* ---- the pipeline ---- */

static void remember(struct batch_run *r, enum sent_kind kind, int number)
{
	struct sent *c = g_new(struct sent, 1);

	c->kind = kind;
	c->number = number;
	g_queue_push_tail(&r->sent, c);
	if (kind == SENT_FETCH)
		r->fetching++;
}

/* Sends the deletions due and fetches up to the window, in one write. */
static int send_more(struct batch_run *r)
{
	struct spop *s = r->s;
	bool fetch =
	    !r->stop && r->next < r->numbers->len && r->fetching < r->window;
	int rc = 0;

	if (!fetch && !r->to_delete->len)
		return 0;
	spi_pop3_cork(s);
	for (guint i = 0; !rc && i < r->to_delete->len; i++) {
		int n = g_array_index(r->to_delete, int, i);
		char *cmd = g_strdup_printf("DELE %d", n);

		rc = spi_pop3_send(s, cmd, (size_t)-1);
		g_free(cmd);
		if (!rc)
			remember(r, SENT_DELE, n);
	}
	g_array_set_size(r->to_delete, 0);
	while (!rc && fetch && r->next < r->numbers->len &&
	       r->fetching < r->window) {
		int n = g_array_index(r->numbers, int, r->next);

		rc = spi_mailbox_fetch_send(s, n, r->b->headers_only);
		if (!rc) {
			remember(r, SENT_FETCH, n);
			r->next++;
		}
	}
	/* What was queued goes out even after a failure to queue more. */
	int flushed = spi_pop3_flush(s);
	return rc ? rc : flushed;
}

/* About to wait for a reply with nothing received yet: the round trip,
 * not the server, sets the pace, and a deeper pipeline would have kept the
 * server writing. Called before the reply's fetch leaves the count. */
static void adapt_window(struct batch_run *r)
{
	if (r->window < r->cap && r->fetching >= r->window &&
	    !spi_conn_buffered(r->s))
		r->window = MIN(r->window * 4, r->cap);
}

/* A reply to a fetch when the batch was stopped: read and dropped, so the
 * stream stays in step for what follows. */
static int drain_fetch(struct batch_run *r)
{
	int rc = spi_mailbox_fetch_reply(r->s, r->b->headers_only);

	if (!rc)
		return spi_pop3_read_body(r->s, NULL, NULL);
	/* -ERR is a complete answer; anything else has dropped the link */
	if (rc == SPOP_ERR_PROTOCOL && r->s->conn) {
		spi_clear_error(r->s);
		return 0;
	}
	return rc;
}

static int receive_fetch(struct batch_run *r, int number)
{
	struct spop *s = r->s;

	if (r->stop)
		return drain_fetch(r);
	s->message_number = number;
	if (call(r, r->b->prepare, number, 0, NULL))
		return drain_fetch(r);
	bool stored = s->have_stream || (s->local_file && *s->local_file);
	int rc = spi_message_receive(s, r->b->headers_only);
	if (rc && !s->conn)
		return rc; /* the connection is gone: nothing more comes */
	if (rc)
		note_failure(r, rc);
	if (call(r, r->b->done, number, rc, rc ? s->error_text : NULL))
		return 0; /* stopped: what was not yet deleted stays */
	if (rc || !r->b->delete_after)
		return 0;
	/* Only the in-memory copy has it: deleting is safe only when that
	 * copy is whole (done has seen it). */
	if (!stored && s->msg.raw_truncated) {
		note_failure(r, spi_fail(s, SPOP_ERR_FILE,
					 "Message %d was not deleted: it went "
					 "to no LocalFile or stream and is "
					 "larger than MessageMemoryLimit.",
					 number));
		return 0;
	}
	g_array_append_val(r->to_delete, number);
	return 0;
}

static int receive_dele(struct batch_run *r, int number)
{
	struct spop *s = r->s;
	struct spi_reply reply;
	bool body;
	int rc = spi_pop3_recv(s, &reply, &body);

	if (rc == SPOP_ERR_PROTOCOL && s->conn) {
		char *why = g_strdup(s->error_text);

		rc = spi_fail(s, SPOP_ERR_PROTOCOL,
			      "Message %d was stored but not deleted: %s",
			      number, why);
		g_free(why);
		note_failure(r, rc);
		call(r, r->b->deleted, number, rc, s->error_text);
		return 0;
	}
	if (!rc) {
		r->deletions++;
		call(r, r->b->deleted, number, 0, NULL);
		spi_mailbox_deleted(s, number);
	}
	return rc;
}

/* The checks a fetch would fail on, made before anything is sent, so a
 * pipeline never stops with commands in flight and the stream unread. */
static int check_fetch(struct batch_run *r)
{
	struct spop *s = r->s;
	bool partial = r->b->headers_only || s->max_lines > 0;

	if (partial && r->b->delete_after)
		return spi_fail(s, SPOP_ERR_INVALID_ARGUMENT,
				"The batch would delete messages it retrieves "
				"only in part (%s); nothing was sent.",
				r->b->headers_only ? "headers_only"
						   : "MaxLines");
	if (partial)
		return spi_mailbox_optional(s, "TOP",
					    r->b->headers_only
						? "A batch of RetrieveHeaders"
						: "A batch with MaxLines");
	return 0;
}

static int run(struct batch_run *r)
{
	int rc = 0;

	while (!rc) {
		rc = send_more(r);
		if (rc)
			break;
		struct sent *c = g_queue_pop_head(&r->sent);
		if (!c)
			break;
		if (c->kind == SENT_FETCH) {
			adapt_window(r);
			r->fetching--;
			rc = receive_fetch(r, c->number);
		} else {
			rc = receive_dele(r, c->number);
		}
		g_free(c);
	}
	/* Replies still unread would be taken for the next command's. */
	if (rc && r->s->conn && spi_pop3_in_flight(r->s))
		spi_session_drop(r->s, rc);
	return rc;
}

/* What the batch stored is made durable (Config Durability) before it
 * returns, so before QUIT can commit its deletions. If that fails, RSET
 * takes the deletions back: no message leaves the server that is not on
 * disk. */
static int sync_stored(struct batch_run *r, int rc)
{
	struct spop *s = r->s;
	int sync_rc = spi_message_sync(s);

	if (!sync_rc)
		return rc;
	if (r->deletions && s->conn) {
		char *why = g_strdup(s->error_text);
		int reset_rc = spi_mailbox_reset(s);

		/* without QUIT the server rolls the deletions back too */
		if (reset_rc && s->conn)
			spi_session_drop(s, reset_rc);
		spi_fail(s, sync_rc, "%s; %s", why,
			 reset_rc ? "RSET failed, so the connection was "
				    "dropped without QUIT"
				  : "RSET took this session's deletions back");
		g_free(why);
	}
	return rc ? rc : sync_rc;
}

static int batch(struct spop *s, const struct spop_batch *b)
{
	struct batch_run r = {.s = s, .b = b};
	bool pipelining = s->capa.pipelining && s->cfg.pipeline_window > 1;
	int rc;

	r.numbers = g_array_new(FALSE, FALSE, sizeof(int));
	r.unknown = g_array_new(FALSE, FALSE, sizeof(size_t));
	r.to_delete = g_array_new(FALSE, FALSE, sizeof(int));
	g_queue_init(&r.sent);
	r.cap = pipelining ? (unsigned)s->cfg.pipeline_window : 1;
	r.window = MIN(32, r.cap);

	rc = check_fetch(&r);
	if (!rc && b->numbers)
		rc = select_numbers(&r);
	else if (!rc && b->uids)
		rc = select_uids(&r);
	else if (!rc)
		rc = select_range(&r);
	/* PercentDone needs the sizes; asked once here, not per message
	 * (which a pipeline could not do in order anyway). */
	if (!rc && s->cfg.get_message_size && !s->listed_sizes &&
	    r.numbers->len)
		rc = spi_mailbox_list_quietly(s, false);
	if (!rc)
		report_unknown_uids(&r);
	if (!rc)
		rc = run(&r);
	rc = sync_stored(&r, rc);
	if (!rc && r.stop)
		rc = r.stop;
	else if (!rc && r.first_error)
		rc = spi_fail(s, r.first_error, "%s", r.first_message);

	g_queue_clear_full(&r.sent, g_free);
	g_array_free(r.numbers, TRUE);
	g_array_free(r.unknown, TRUE);
	g_array_free(r.to_delete, TRUE);
	g_free(r.first_message);
	return rc;
}

SPI_EXPORT int spop_retrieve_batch(spop_t *s, const struct spop_batch *b)
{
	if (spi_enter(s))
		return s->error_code;
	int rc = spi_session_need_transaction(s, "RetrieveBatch");

	if (!rc && !b)
		rc = spi_fail(s, SPOP_ERR_INVALID_ARGUMENT,
			      "spop_retrieve_batch() needs a batch.");
	if (!rc && (b->numbers || b->uids) && !b->count)
		rc = spi_fail(s, SPOP_ERR_INVALID_ARGUMENT,
			      "The batch names its messages by %s but its "
			      "count is 0.",
			      b->numbers ? "number" : "UID");
	if (!rc)
		rc = batch(s, b);
	return spi_leave(s, rc);
}
