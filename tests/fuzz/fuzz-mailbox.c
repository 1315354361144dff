/* The STAT, LIST and UIDL replies (framework/pop3/mailbox.c) as a server
 * sends them, over a socketpair into the real connection reader and
 * command engine: the mailbox at login (STAT with LIST and UIDL pipelined
 * behind it, kept quietly, a bad listing tolerated), or STAT and the public
 * ListMessageSizes/ListMessageUIDs (MessageList events, a bad listing an
 * error), then LIST n / UIDL n queries (QueryMessageSize/UID).
 *
 * The first input byte chooses: bit 0 raw (the rest is the whole wire as
 * is) or framed; bits 1-2 MaxLineLength; bit 3 CAPA answered, bit 4 with
 * UIDL; bit 5 the public listing methods instead of the login's pipeline.
 *
 * Framed: the rest, split at LF, is [STAT text] [LIST lines] "=" [UIDL
 * lines] "=" [query answer texts]; the target writes "+OK " before each
 * status text, dot-stuffs the listings and ends each with ".", and puts a
 * sentinel reply after the listings and after the queries, each answer
 * written when its command is sent (see "the server"). Checked
 * against the target's own model of RFC 1939 (digits only, numbers that
 * fit, a UID of 1 to 70 characters 0x21-0x7E): the count and size STAT
 * gives, which numbers LIST and UIDL keep (none beyond STAT's count, last
 * one wins, a bad listing at login keeps nothing), each MessageList event,
 * each query's answer, the result code, and that the sentinel is the next
 * reply each time (the stream stays in sync).
 *
 * Raw: no model; the result codes are 0 or 171/172/1120 with a message,
 * sizes are never negative, nothing beyond STAT's count is kept, kept UIDs
 * are RFC 1939 UIDs, and nothing crashes, leaks or over-reads. */
#include "fuzz.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spop/errors.h>
#include <spop/spop.h>

#include "net/net.h"
#include "pop3/pop3.h"
#include "spop-private.h"

#define MAX_MAILBOX_INPUT (16 * 1024)
#define LIST_SLACK	  65536 /* mailbox.c's: how far past the lines read */
#define SENTINEL1	  "fuzz-sentinel-after-listings"
#define SENTINEL2	  "fuzz-sentinel-after-queries"

static const int max_lines[] = {256, 300, 2048, 65536};

/* What the client keeps of a status line is a C string: the text up to a
 * NUL (the bytes after it are on the wire, and must not be read past). */
static size_t kept_len(const char *p, size_t len)
{
	return strnlen(p, len);
}

static void fail(const char *what, spop_t *s)
{
	fprintf(stderr, "fuzz-mailbox: %s (last error %d: %s)\n", what,
		spop_last_error_code(s), spop_last_error(s));
	abort();
}

/* ---- the model (RFC 1939) ---- */

static bool digits(const char *p, size_t len, long long max, long long *out,
		   size_t *used)
{
	long long v = 0;
	size_t i = 0;

	while (i < len && p[i] >= '0' && p[i] <= '9') {
		int d = p[i] - '0';
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
		i++;
	}
	*out = v;
	*used = i;
	return i > 0;
}

static bool rfc_uid(const char *p, size_t len)
{
	if (len < 1 || len > 70)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
			return false;
	return true;
}

/* What a status text becomes: the engine skips blanks after "+OK " and
 * keeps the reply as a C string (cut at a NUL). */
static size_t status_text(const char *p, size_t len, const char **text)
{
	while (len && (*p == ' ' || *p == '\t'))
		p++, len--;
	*text = p;
	const char *nul = memchr(p, '\0', len);
	return nul ? (size_t)(nul - p) : len;
}

/* "count size [more]". */
static bool model_stat(const char *p, size_t len, long long *count,
		       long long *size)
{
	size_t n, m;

	if (!digits(p, len, G_MAXINT, count, &n) || n == len || p[n] != ' ' ||
	    !digits(p + n + 1, len - n - 1, G_MAXINT64, size, &m))
		return false;
	return n + 1 + m == len || p[n + 1 + m] == ' ';
}

/* One listing line as the reader hands it over (wire_len: with a stuffed
 * dot): "n size [more]" or "n uid"; *n and the value when valid. */
static bool model_line(const char *p, size_t len, size_t wire_len, int max,
		       bool uids, long long *n, long long *size)
{
	size_t used, m;

	if (wire_len > (size_t)max || !digits(p, len, G_MAXINT, n, &used) ||
	    *n < 1 || used + 1 >= len || p[used] != ' ')
		return false;
	p += used + 1;
	len -= used + 1;
	if (uids)
		return rfc_uid(p, len);
	return digits(p, len, G_MAXINT64, size, &m) &&
	       (m == len || p[m] == ' ');
}

/* ---- the wire ---- */

struct piece {
	const char *p;
	size_t len;
};

static void stuffed(GString *w, const struct piece *lines, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (lines[i].len && lines[i].p[0] == '.')
			g_string_append_c(w, '.');
		g_string_append_len(w, lines[i].p, (gssize)lines[i].len);
		g_string_append(w, "\r\n");
	}
	g_string_append(w, ".\r\n");
}

/* ---- the server (framed mode) ----
 * RFC 1939 servers answer only what was asked, and the client refuses to
 * send a command while bytes nobody asked for are waiting (command.c's
 * unsolicited()). So the framed script is not written up front: each
 * command's answer is written when the client sends it, from the PITrail
 * event of the command (which comes after that check and before the
 * command is written; the client reads only after writing). A command the
 * script has no answer for ends the stream, as the end of a script written
 * up front did. */

struct server {
	int fd;
	bool ended;
	GString *stat, *list, *uidl; /* each answered once */
	GPtrArray *sentinels;	     /* for NOOP, in order */
	guint next_sentinel;
	GPtrArray *queries; /* for LIST n and UIDL n, in order */
	guint next_query;
};

static void server_end(struct server *sv)
{
	if (!sv->ended)
		shutdown(sv->fd, SHUT_WR);
	sv->ended = true;
}

static GString *server_next(GPtrArray *a, guint *next)
{
	return *next < a->len ? a->pdata[(*next)++] : NULL;
}

static void on_command(spop_t *s, const struct spop_pitrail_event *e, void *ud)
{
	struct server *sv = ud;
	GString *answer = NULL, **once = NULL;

	(void)s;
	if (e->direction != 0 || sv->ended)
		return;
	/* Read what the client sent so far: a unix socket counts every
	 * small write's whole buffer against the sender, and some hundreds
	 * of commands never read would block the client's next write. */
	char drain[4096];
	while (recv(sv->fd, drain, sizeof(drain), MSG_DONTWAIT) > 0)
		;
	if (!strcmp(e->message, "STAT"))
		once = &sv->stat;
	else if (!strcmp(e->message, "LIST"))
		once = &sv->list;
	else if (!strcmp(e->message, "UIDL"))
		once = &sv->uidl;
	else if (!strcmp(e->message, "NOOP"))
		answer = server_next(sv->sentinels, &sv->next_sentinel);
	else if (g_str_has_prefix(e->message, "LIST ") ||
		 g_str_has_prefix(e->message, "UIDL "))
		answer = server_next(sv->queries, &sv->next_query);
	if (once) {
		answer = *once;
		*once = NULL;
	}
	if (!answer) {
		server_end(sv);
		return;
	}
	if (write(sv->fd, answer->str, answer->len) != (ssize_t)answer->len)
		abort();
	g_string_free(answer, TRUE);
	if (sv->next_sentinel == sv->sentinels->len)
		server_end(sv); /* the last sentinel ends the script */
}

static void server_init(struct server *sv)
{
	memset(sv, 0, sizeof(*sv));
	sv->fd = -1;
	sv->sentinels = g_ptr_array_new();
	sv->queries = g_ptr_array_new();
}

static void free_answer(gpointer p)
{
	g_string_free(p, TRUE);
}

static void server_free(struct server *sv)
{
	if (sv->stat)
		g_string_free(sv->stat, TRUE);
	if (sv->list)
		g_string_free(sv->list, TRUE);
	if (sv->uidl)
		g_string_free(sv->uidl, TRUE);
	/* what was never asked for */
	for (guint i = sv->next_sentinel; i < sv->sentinels->len; i++)
		free_answer(sv->sentinels->pdata[i]);
	for (guint i = sv->next_query; i < sv->queries->len; i++)
		free_answer(sv->queries->pdata[i]);
	g_ptr_array_free(sv->sentinels, TRUE);
	g_ptr_array_free(sv->queries, TRUE);
}

static GString *status(const char *text, size_t len)
{
	GString *g = g_string_new("+OK ");

	g_string_append_len(g, text, (gssize)len);
	g_string_append(g, "\r\n");
	return g;
}

/* ---- events ---- */

struct events {
	GArray *number; /* int */
	GPtrArray *value;
	GArray *size; /* int64_t */
};

static void on_list(spop_t *s, const struct spop_message_list_event *e,
		    void *ud)
{
	struct events *ev = ud;

	(void)s;
	g_array_append_val(ev->number, e->message_number);
	g_ptr_array_add(ev->value, g_strdup(e->message_uid));
	g_array_append_val(ev->size, e->message_size);
}

/* ---- checks common to both modes ---- */

static void check_rc(spop_t *s, int rc, bool raw)
{
	if (!rc)
		return;
	if (rc != SPOP_ERR_PROTOCOL &&
	    !(raw && (rc == SPOP_ERR_COMMUNICATION || rc == SPOP_ERR_DROPPED)))
		fail("unexpected result code", s);
	if (spop_last_error_code(s) != rc || !*spop_last_error(s))
		fail("an error without its message", s);
}

static void check_tables(spop_t *s)
{
	if (s->message_count < 0 || s->total_size < 0)
		fail("STAT kept a negative figure", s);
	if (s->listed_sizes) {
		if (s->listed_sizes->len > (guint)s->message_count)
			fail("LIST kept a number beyond STAT's count", s);
		for (guint i = 0; i < s->listed_sizes->len; i++)
			if (g_array_index(s->listed_sizes, int64_t, i) < -1)
				fail("LIST kept a negative size", s);
	}
	if (s->listed_uids) {
		if (s->listed_uids->len > (guint)s->message_count)
			fail("UIDL kept a number beyond STAT's count", s);
		for (guint i = 0; i < s->listed_uids->len; i++) {
			const char *u = s->listed_uids->pdata[i];
			if (u && !rfc_uid(u, strlen(u)))
				fail("UIDL kept a UID RFC 1939 does not allow",
				     s);
		}
	}
}

/* ---- one run ---- */

struct run {
	spop_t *s;
	int sv[2];
	int max;
	bool capa_known, capa_uidl, public_lists;
	struct events ev;
};

/* wire: the whole stream, written up front (raw mode); or sv: the
 * answers, given command by command (framed mode). */
static void start(struct run *r, uint8_t flags, const GString *wire,
		  struct server *sv)
{
	char ml[40];

	r->s = spop_new();
	if (!r->s || socketpair(AF_UNIX, SOCK_STREAM, 0, r->sv))
		abort();
	r->max = max_lines[(flags >> 1) & 3];
	snprintf(ml, sizeof(ml), "MaxLineLength=%d", r->max);
	if (!spop_config(r->s, ml))
		abort();
	r->capa_known = flags & 8;
	r->capa_uidl = flags & 16;
	r->public_lists = flags & 32;
	r->s->capa.known = r->capa_known;
	r->s->capa.uidl = r->capa_uidl;
	r->s->capa.pipelining = true;
	r->ev.number = g_array_new(FALSE, FALSE, sizeof(int));
	r->ev.value = g_ptr_array_new_with_free_func(g_free);
	r->ev.size = g_array_new(FALSE, FALSE, sizeof(int64_t));
	spop_on_message_list(r->s, on_list, &r->ev);
	if (sv) {
		sv->fd = r->sv[1];
		spop_on_pitrail(r->s, on_command, sv);
	} else {
		if (wire->len &&
		    write(r->sv[1], wire->str, wire->len) != (ssize_t)wire->len)
			abort();
		/* The end of the stream, but the commands still have a
		 * place to go (the server's receive buffer, never read). */
		shutdown(r->sv[1], SHUT_WR);
	}
	spi_session_adopt(r->s, r->sv[0]);
	spi_deadline_start(r->s, 10);
}

static void finish(struct run *r)
{
	spop_free(r->s);
	close(r->sv[1]);
	g_array_unref(r->ev.number);
	g_ptr_array_unref(r->ev.value);
	g_array_unref(r->ev.size);
}

/* The login's pipeline, or STAT and the public listings. Returns the
 * first failure (0 if none); *stat_rc is STAT's. */
static int listings(struct run *r, bool raw, int *stat_rc, int *list_rc,
		    int *uidl_rc)
{
	spop_t *s = r->s;

	*list_rc = *uidl_rc = -1; /* not run */
	if (!r->public_lists) {
		*stat_rc = spi_mailbox_open(s);
		check_rc(s, *stat_rc, raw);
		return *stat_rc;
	}
	*stat_rc = spi_mailbox_stat(s);
	check_rc(s, *stat_rc, raw);
	if (*stat_rc)
		return *stat_rc;
	*list_rc = spop_list_message_sizes(s);
	check_rc(s, *list_rc, raw);
	if (!s->conn)
		return *list_rc;
	*uidl_rc = spop_list_message_uids(s);
	check_rc(s, *uidl_rc, raw);
	return *uidl_rc;
}

static void sync_check(spop_t *s, const char *sentinel)
{
	struct spi_reply rep;
	int rc = spi_pop3_command(s, "NOOP", (size_t)-1, &rep);

	if (rc || strcmp(rep.text, sentinel))
		fail("out of sync: the sentinel is not the next reply", s);
}

/* ---- raw mode ---- */

static void raw_run(uint8_t flags, const uint8_t *data, size_t size)
{
	GString *wire;
	struct run r;
	int stat_rc, list_rc, uidl_rc;

	wire = g_string_new_len((const char *)data, (gssize)size);
	start(&r, flags, wire, NULL);
	listings(&r, true, &stat_rc, &list_rc, &uidl_rc);
	check_tables(r.s);
	for (int i = 0; i < 4 && r.s->conn; i++) {
		int rc;

		spi_mailbox_forget_lists(r.s);
		spi_mailbox_invalidate(r.s);
		r.s->message_number = 1 + i / 2;
		if (i % 2 == 0) {
			int64_t v = spi_query_size(r.s, &rc);
			if (v < 0)
				fail("a negative size from LIST n", r.s);
		} else {
			const char *u = spi_query_uid(r.s, &rc);
			if (!rc && !rfc_uid(u, strlen(u)))
				fail("UIDL n gave a UID RFC 1939 does not "
				     "allow",
				     r.s);
		}
		check_rc(r.s, rc, true);
	}
	finish(&r);
	g_string_free(wire, TRUE);
}

/* ---- framed mode ---- */

struct model_list {
	GHashTable *kept; /* n -> value (int64 in a pointer-sized box) */
	bool bad;
	long long first_bad; /* lines before the first bad line were read */
	GArray *events_n;    /* long long: numbers of the valid lines */
	GPtrArray *events_v; /* char* (UIDs) or NULL */
	GArray *events_s;    /* int64_t */
};

static void model_list_init(struct model_list *m)
{
	m->kept =
	    g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	m->bad = false;
	m->events_n = g_array_new(FALSE, FALSE, sizeof(long long));
	m->events_v = g_ptr_array_new_with_free_func(g_free);
	m->events_s = g_array_new(FALSE, FALSE, sizeof(int64_t));
}

static void model_list_free(struct model_list *m)
{
	g_hash_table_unref(m->kept);
	g_array_unref(m->events_n);
	g_ptr_array_unref(m->events_v);
	g_array_unref(m->events_s);
}

/* Reads the lines as the engine does: until the first bad one. */
static void model_listing(struct model_list *m, const struct piece *lines,
			  size_t n_lines, int max, bool uids, long long count)
{
	for (size_t i = 0; i < n_lines && !m->bad; i++) {
		const char *p = lines[i].p;
		size_t len = lines[i].len;
		size_t wire = len + (len && p[0] == '.');
		long long n, size = 0;

		if (!model_line(p, len, wire, max, uids, &n, &size)) {
			m->bad = true;
			break;
		}
		size_t used;
		long long nn;
		digits(p, len, G_MAXINT, &nn, &used);
		char *uid =
		    uids ? g_strndup(p + used + 1, len - used - 1) : NULL;
		g_array_append_val(m->events_n, n);
		g_ptr_array_add(m->events_v, uids ? g_strdup(uid) : NULL);
		int64_t sz = uids ? 0 : size;
		g_array_append_val(m->events_s, sz);
		if (n <= count && n <= (long long)i + 1 + LIST_SLACK) {
			gint64 *k = g_new(gint64, 1);
			*k = n;
			g_hash_table_replace(
			    m->kept, k,
			    uids ? (gpointer)uid
				 : g_memdup2(&size, sizeof(size)));
			uid = NULL;
		}
		g_free(uid);
	}
}

/* The engine's table against the model's (kept: whether the listing is
 * expected to be kept at all). */
static void compare_table(spop_t *s, const struct model_list *m, bool uids,
			  bool kept)
{
	guint len = uids ? (s->listed_uids ? s->listed_uids->len : 0)
			 : (s->listed_sizes ? s->listed_sizes->len : 0);
	guint model_n = kept ? g_hash_table_size(m->kept) : 0;
	guint have = 0;

	for (guint i = 1; i <= len; i++) {
		gint64 key = i;
		gpointer want =
		    kept ? g_hash_table_lookup(m->kept, &key) : NULL;

		if (uids) {
			const char *u = spi_mailbox_listed_uid(s, (int)i);
			if (!!u != !!want || (u && strcmp(u, want)))
				fail("UIDL kept other UIDs than the model", s);
		} else {
			int64_t v = spi_mailbox_listed_size(s, (int)i);
			if ((v >= 0) != !!want ||
			    (want && v != *(long long *)want))
				fail("LIST kept other sizes than the model", s);
		}
		have += want != NULL;
	}
	if (have != model_n)
		fail("a listing kept fewer numbers than the model", s);
}

static void compare_events(spop_t *s, const struct events *ev, guint from,
			   guint to, const struct model_list *m, bool uids)
{
	if (to - from != m->events_n->len)
		fail("MessageList events differ from the listing's lines", s);
	for (guint i = 0; i < m->events_n->len; i++) {
		int n = g_array_index(ev->number, int, from + i);
		const char *v = ev->value->pdata[from + i];
		int64_t sz = g_array_index(ev->size, int64_t, from + i);

		if (n != g_array_index(m->events_n, long long, i) ||
		    sz != g_array_index(m->events_s, int64_t, i) ||
		    strcmp(v, uids ? (char *)m->events_v->pdata[i] : ""))
			fail("a MessageList event differs from its line", s);
	}
}

/* The query answer text for LIST n / UIDL n: "n value". */
static bool model_query(const char *p, size_t len, int number, bool uid,
			long long *size, char **value)
{
	const char *text;
	size_t n_used, m;
	long long n;

	len = status_text(p, len, &text);
	if (!digits(text, len, G_MAXINT, &n, &n_used) || n != number ||
	    n_used + 1 >= len || text[n_used] != ' ')
		return false;
	char *v = g_strndup(text + n_used + 1, len - n_used - 1);
	g_strchomp(v);
	size_t vlen = strlen(v);
	bool ok = uid ? rfc_uid(v, vlen)
		      : digits(v, vlen, G_MAXINT64, size, &m) &&
			    (m == vlen || v[m] == ' ');
	if (ok && uid)
		*value = v;
	else
		g_free(v);
	return ok;
}

static size_t split(const uint8_t *data, size_t size, struct piece *out)
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i <= size; i++)
		if (i == size || data[i] == '\n') {
			out[n++] = (struct piece){(const char *)data + start,
						  i - start};
			start = i + 1;
		}
	return n;
}

static bool is_sep(const struct piece *p)
{
	return p->len == 1 && p->p[0] == '=';
}

static void framed_run(uint8_t flags, const uint8_t *data, size_t size)
{
	struct piece *lines = g_new(struct piece, size + 2);
	size_t n_lines = split(data, size, lines);
	size_t list_from = 1, list_to, uidl_from, uidl_to, q_from;
	struct run r;

	/* [STAT] [LIST ...] = [UIDL ...] = [queries ...] */
	for (list_to = list_from; list_to < n_lines && !is_sep(&lines[list_to]);
	     list_to++)
		;
	uidl_from = MIN(list_to + 1, n_lines);
	for (uidl_to = uidl_from; uidl_to < n_lines && !is_sep(&lines[uidl_to]);
	     uidl_to++)
		;
	q_from = MIN(uidl_to + 1, n_lines);
	const char *stat_text;
	size_t stat_len = status_text(
	    lines[0].p, kept_len(lines[0].p, lines[0].len), &stat_text);
	long long count = 0, total = 0;
	bool stat_ok = model_stat(stat_text, stat_len, &count, &total);
	bool want_uidl;

	r.capa_known = flags & 8;
	r.capa_uidl = flags & 16;
	want_uidl = !r.capa_known || r.capa_uidl;

	struct server sv;

	server_init(&sv);
	sv.stat = status(lines[0].p, lines[0].len);
	if (stat_ok) {
		sv.list = g_string_new("+OK\r\n");
		stuffed(sv.list, lines + list_from, list_to - list_from);
		if (want_uidl) {
			sv.uidl = g_string_new("+OK\r\n");
			stuffed(sv.uidl, lines + uidl_from,
				uidl_to - uidl_from);
		}
		g_ptr_array_add(sv.sentinels,
				status(SENTINEL1, strlen(SENTINEL1)));
		for (size_t i = q_from; i < n_lines; i++)
			g_ptr_array_add(sv.queries,
					status(lines[i].p, lines[i].len));
		g_ptr_array_add(sv.sentinels,
				status(SENTINEL2, strlen(SENTINEL2)));
	}
	start(&r, flags, NULL, &sv);

	struct model_list ml, mu;
	model_list_init(&ml);
	model_list_init(&mu);
	int stat_rc, list_rc, uidl_rc;

	listings(&r, false, &stat_rc, &list_rc, &uidl_rc);
	check_tables(r.s);
	if (!stat_ok) {
		if (stat_rc != SPOP_ERR_PROTOCOL)
			fail("a malformed STAT answer was taken", r.s);
		goto out;
	}
	if (stat_rc || r.s->message_count != count || r.s->total_size != total)
		fail("STAT's figures differ from the model", r.s);
	model_listing(&ml, lines + list_from, list_to - list_from, r.max, false,
		      count);
	model_listing(&mu, lines + uidl_from, uidl_to - uidl_from, r.max, true,
		      count);
	if (!r.public_lists) {
		/* at login: kept quietly, a bad listing dropped, rc 0 */
		if (r.ev.number->len)
			fail("the login's listing sent MessageList events",
			     r.s);
		compare_table(r.s, &ml, false, !ml.bad);
		compare_table(r.s, &mu, true, want_uidl && !mu.bad);
	} else {
		/* public: events and kept lines up to the first bad one */
		if (list_rc != (ml.bad ? SPOP_ERR_PROTOCOL : 0))
			fail("ListMessageSizes' result differs from the model",
			     r.s);
		bool uidl_refused = !want_uidl;
		if (uidl_rc != (uidl_refused || mu.bad ? SPOP_ERR_PROTOCOL : 0))
			fail("ListMessageUIDs' result differs from the model",
			     r.s);
		guint n_list = ml.events_n->len;
		compare_events(r.s, &r.ev, 0, n_list, &ml, false);
		if (!uidl_refused)
			compare_events(r.s, &r.ev, n_list, r.ev.number->len,
				       &mu, true);
		if (uidl_refused && r.ev.number->len != n_list)
			fail("UIDL listed without being sent", r.s);
		compare_table(r.s, &ml, false, true);
		compare_table(r.s, &mu, true, !uidl_refused);
	}
	sync_check(r.s, SENTINEL1);

	/* LIST n / UIDL n, each asked of the server. */
	int number = 1;
	for (size_t i = q_from; i < n_lines; i++) {
		bool uid = (i - q_from) % 2;
		long long want_size = 0;
		char *want_uid = NULL;
		int rc;

		spi_mailbox_forget_lists(r.s);
		spi_mailbox_invalidate(r.s);
		r.s->message_number = number;
		if (uid && !want_uidl) {
			/* refused without asking: the answer stays unread */
			spi_query_uid(r.s, &rc);
			if (rc != SPOP_ERR_PROTOCOL)
				fail("UIDL n asked of a server without UIDL",
				     r.s);
			uid = false;
			rc = 0;
		}
		bool ok =
		    model_query(lines[i].p, kept_len(lines[i].p, lines[i].len),
				number, uid, &want_size, &want_uid);
		if (uid) {
			const char *u = spi_query_uid(r.s, &rc);
			if (rc != (ok ? 0 : SPOP_ERR_PROTOCOL) ||
			    (ok && strcmp(u, want_uid)))
				fail("UIDL n differs from the model", r.s);
		} else {
			int64_t v = spi_query_size(r.s, &rc);
			if (rc != (ok ? 0 : SPOP_ERR_PROTOCOL) ||
			    (ok && v != want_size) || v < 0)
				fail("LIST n differs from the model", r.s);
		}
		check_rc(r.s, rc, false);
		g_free(want_uid);
		number = number % (count > 0 && count < 5 ? (int)count : 5) + 1;
	}
	sync_check(r.s, SENTINEL2);
out:
	model_list_free(&ml);
	model_list_free(&mu);
	finish(&r);
	server_free(&sv);
	g_free(lines);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;

	if (!init) {
		signal(SIGPIPE, SIG_IGN);
		init = true;
	}
	if (size < 1 || size > MAX_MAILBOX_INPUT)
		return 0;
	if (data[0] & 1)
		raw_run(data[0], data + 1, size - 1);
	else
		framed_run(data[0], data + 1, size - 1);
	return 0;
}
