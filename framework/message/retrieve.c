/* Retrieve and RetrieveHeaders: streams RETR/TOP replies line by line into
 * the Header and Transfer events, the LocalFile (atomically) or the
 * application's stream, and capped in-memory copies (Message, MessageText),
 * so a message of any size passes through in constant memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "message-parse.h"
#include "pop3/pop3.h"

#define MAX_HEADER_LINE (1024 * 1024)

static const char headers_note[] =
    "Headers kept in memory only up to MessageMemoryLimit; Header events "
    "and LocalFile (with IncludeHeaders) have all of them.";

/* What LocalFile's writes gather in: a 20 KiB message is one write(). */
#define SINK_BUFFER (64 * 1024)

struct sink {
	bool file; /* fd is LocalFile's temporary */
	int fd;
	char *buf;
	size_t used;
	char *tmp_path; /* written here, renamed over LocalFile at the end */
	bool stream;
	int error;
	/* the file written, as fstat saw it when complete */
	guint64 dev, ino;
	gint64 size, mtime_ns;
};

struct retrieval {
	struct sink sink;
	bool in_headers;
	bool headers_done;
	GString *header_line;	 /* current header line being assembled */
	struct spi_header *open; /* last stored header, value still growing */
	GString *open_value;
	bool headers_full; /* MessageMemoryLimit reached for headers */
	int64_t bytes;
	int64_t size; /* for PercentDone; 0 unknown */
	int64_t limit;
	bool quiet; /* a message loaded, not retrieved: no events, no sink */
	bool include_headers; /* the headers go to LocalFile and MessageText */
	/* Message and MessageText get the body: only when there is no
	 * LocalFile or stream to hold it (spi_message_complete reads it back
	 * when asked) */
	bool keep_body;
	struct spi_body_consumer consumer;
};

void spi_message_clear(struct spi_message *m)
{
	if (m->headers)
		g_ptr_array_free(m->headers, TRUE);
	if (m->recipients)
		g_ptr_array_free(m->recipients, TRUE);
	if (m->headers_string)
		g_string_free(m->headers_string, TRUE);
	if (m->text)
		g_string_free(m->text, TRUE);
	if (m->raw)
		g_string_free(m->raw, TRUE);
	g_free(m->from);
	g_free(m->to);
	g_free(m->cc);
	g_free(m->date);
	g_free(m->subject);
	g_free(m->reply_to);
	g_free(m->content_type);
	g_free(m->file);
	memset(m, 0, sizeof(*m));
}

static void header_free(gpointer p)
{
	struct spi_header *h = p;

	g_free(h->field);
	g_free(h->value);
	g_free(h);
}

static void message_init(struct spi_message *m)
{
	spi_message_clear(m);
	m->headers = g_ptr_array_new_with_free_func(header_free);
	m->recipients =
	    g_ptr_array_new_with_free_func((GDestroyNotify)spi_recipient_free);
	m->headers_string = g_string_new(NULL);
	m->text = g_string_new(NULL);
	m->raw = g_string_new(NULL);
}

/* ---- sink: LocalFile or stream ---- */

static int sink_open(struct spop *s, struct sink *k)
{
	if (s->have_stream) {
		k->stream = true;
		return 0;
	}
	if (!s->local_file || !*s->local_file)
		return 0;
	char *dir = g_path_get_dirname(s->local_file);
	char *base = g_path_get_basename(s->local_file);
	k->tmp_path = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
	g_free(dir);
	g_free(base);
	int fd = g_mkstemp_full(k->tmp_path, O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0) {
		int err = errno;
		g_clear_pointer(&k->tmp_path, g_free);
		return spi_fail(s, SPOP_ERR_FILE,
				"Cannot create LocalFile %s: %s.",
				s->local_file, g_strerror(err));
	}
	k->file = true;
	k->fd = fd;
	k->buf = g_malloc(SINK_BUFFER);
	return 0;
}

static bool write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/* Writes what the buffer holds; false (errno set) on failure. */
static bool sink_flush(struct sink *k)
{
	bool ok = write_all(k->fd, k->buf, k->used);

	k->used = 0;
	return ok;
}

static void sink_write(struct spop *s, struct sink *k, const char *data,
		       size_t len)
{
	if (k->error || !len)
		return;
	if (k->file) {
		bool ok = true;

		if (k->used + len > SINK_BUFFER)
			ok = sink_flush(k);
		if (ok && len >= SINK_BUFFER)
			ok = write_all(k->fd, data, len);
		else if (ok) {
			memcpy(k->buf + k->used, data, len);
			k->used += len;
		}
		if (!ok)
			k->error = spi_fail(s, SPOP_ERR_FILE,
					    "Writing LocalFile %s "
					    "failed: %s.",
					    s->local_file, g_strerror(errno));
		return;
	}
	while (k->stream && len) {
		ssize_t n = s->stream.write(s->stream.user_data, data, len);
		if (n <= 0) {
			k->error = spi_fail(s, SPOP_ERR_FILE,
					    "The message stream "
					    "refused data (write returned "
					    "%zd).",
					    n);
			return;
		}
		data += n;
		len -= (size_t)n;
	}
}

/* fsync() of a directory, so that a rename into it survives a crash. */
static int sync_dir(struct spop *s, const char *dir, bool whole_fs)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		err = errno;
	else if (whole_fs ? syncfs(fd) : fsync(fd))
		err = errno;
	if (fd >= 0)
		close(fd);
	if (err)
		return spi_fail(s, SPOP_ERR_FILE,
				"Cannot make LocalFile's directory %s durable "
				"(%s): %s.",
				dir, whole_fs ? "syncfs" : "fsync",
				g_strerror(err));
	return 0;
}

void spi_message_note_unsynced(struct spop *s, const char *dir)
{
	if (!s->unsynced_dirs)
		s->unsynced_dirs = g_hash_table_new_full(
		    g_str_hash, g_str_equal, g_free, NULL);
	if (!g_hash_table_contains(s->unsynced_dirs, dir))
		g_hash_table_add(s->unsynced_dirs, g_strdup(dir));
}

void spi_message_forget_unsynced(struct spop *s)
{
	g_clear_pointer(&s->unsynced_dirs, g_hash_table_destroy);
}

/* Durability 1: one syncfs() per filesystem among the directories written
 * since the last call (a syncfs covers every file and directory entry on
 * it). Each directory is tried, the first failure is the result; the set
 * is emptied either way, so one lost directory fails one call, not all. */
int spi_message_sync(struct spop *s)
{
	GHashTable *dirs = s->unsynced_dirs;
	GArray *done = g_array_new(FALSE, FALSE, sizeof(dev_t));
	GHashTableIter it;
	gpointer key;
	int rc = 0;

	s->unsynced_dirs = NULL;
	if (!dirs || s->cfg.durability != 1)
		goto out;
	g_hash_table_iter_init(&it, dirs);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		const char *dir = key;
		struct stat st;
		bool seen = false;

		if (stat(dir, &st)) {
			int err = errno;
			if (!rc)
				rc = spi_fail(s, SPOP_ERR_FILE,
					      "Cannot make LocalFile's "
					      "directory %s durable: %s.",
					      dir, g_strerror(err));
			continue;
		}
		for (guint i = 0; i < done->len; i++)
			seen |= g_array_index(done, dev_t, i) == st.st_dev;
		if (seen)
			continue;
		int r = sync_dir(s, dir, true);
		if (!r)
			g_array_append_val(done, st.st_dev);
		else if (!rc)
			rc = r;
	}
out:
	if (dirs)
		g_hash_table_destroy(dirs);
	g_array_free(done, TRUE);
	return rc;
}

/* Commits the file only when everything arrived: nothing half-written is
 * ever found under LocalFile's name. Durability 2 syncs the file before
 * the rename and the directory after; 1 leaves both to
 * spi_message_sync() at the end of the method. */
static int sink_close(struct spop *s, struct sink *k, int rc)
{
	if (k->file) {
		int durability = s->cfg.durability;
		bool bad = (!k->error && !sink_flush(k)) ||
			   (durability == 2 && fsync(k->fd));
		if (bad && !rc && !k->error)
			k->error = spi_fail(s, SPOP_ERR_FILE,
					    "Writing LocalFile "
					    "%s failed: %s.",
					    s->local_file, g_strerror(errno));
		struct stat st;
		if (!fstat(k->fd, &st)) {
			k->dev = st.st_dev;
			k->ino = st.st_ino;
			k->size = st.st_size;
			k->mtime_ns = (gint64)st.st_mtim.tv_sec * 1000000000 +
				      st.st_mtim.tv_nsec;
		}
		if (close(k->fd) && !rc && !k->error)
			k->error = spi_fail(s, SPOP_ERR_FILE,
					    "Writing LocalFile "
					    "%s failed: %s.",
					    s->local_file, g_strerror(errno));
		k->file = false;
		g_clear_pointer(&k->buf, g_free);
		if (!rc)
			rc = k->error;
		if (!rc && rename(k->tmp_path, s->local_file))
			rc = spi_fail(s, SPOP_ERR_FILE,
				      "Cannot rename %s to LocalFile "
				      "%s: %s.",
				      k->tmp_path, s->local_file,
				      g_strerror(errno));
		if (rc)
			unlink(k->tmp_path);
		if (!rc && durability) {
			char *dir = g_path_get_dirname(s->local_file);
			if (durability == 2)
				rc = sync_dir(s, dir, false);
			else
				spi_message_note_unsynced(s, dir);
			g_free(dir);
		}
		g_free(k->tmp_path);
	} else if (k->stream) {
		if (s->stream.flush && s->stream.flush(s->stream.user_data) &&
		    !rc)
			k->error = spi_fail(s, SPOP_ERR_FILE,
					    "Flushing the message "
					    "stream failed.");
		if (!rc)
			rc = k->error;
		if (s->cfg.close_stream_after_transfer) {
			if (s->stream.close)
				s->stream.close(s->stream.user_data);
			s->have_stream = false;
		}
	}
	return rc;
}

/* ---- line handling ---- */

static void append_capped(GString *to, bool *truncated, int64_t limit,
			  const char *data, size_t len)
{
	if (*truncated)
		return;
	if ((int64_t)(to->len + len) > limit) {
		*truncated = true;
		len = limit > (int64_t)to->len ? (size_t)(limit - to->len) : 0;
	}
	g_string_append_len(to, data, (gssize)len);
}

static int percent(struct retrieval *r)
{
	if (r->size <= 0)
		return -1;
	return (int)MIN(100, r->bytes * 100 / r->size);
}

/* A header line (with IncludeHeaders) or a body line or piece: to the sink,
 * MessageText and the Transfer event. */
static void deliver(struct spop *s, struct retrieval *r, const char *line,
		    size_t len, bool eol, bool header)
{
	struct spi_message *m = &s->msg;

	if (!r->quiet) {
		sink_write(s, &r->sink, line, len);
		if (eol)
			sink_write(s, &r->sink, "\r\n", 2);
	}
	if (header || r->keep_body) {
		append_capped(m->text, &m->text_truncated, r->limit, line, len);
		if (eol)
			append_capped(m->text, &m->text_truncated, r->limit,
				      "\r\n", 2);
	}
	if (!r->quiet)
		spi_emit_transfer(s, r->bytes, percent(r), line, len, eol);
}

/* The last header's value grows in a GString while continuation lines
 * arrive and is moved into the array when the next header starts. */
static void close_open_header(struct retrieval *r)
{
	if (!r->open)
		return;
	g_free(r->open->value);
	r->open->value = g_string_free(r->open_value, FALSE);
	r->open = NULL;
	r->open_value = NULL;
}

static void finish_header_line(struct spop *s, struct retrieval *r)
{
	struct spi_message *m = &s->msg;
	const char *line = r->header_line->str;
	size_t len = r->header_line->len;
	char *field = NULL, *value = NULL;

	/* The header block counts against MessageMemoryLimit too: a server
	 * sending endless headers gets events, not unbounded memory. */
	if (!r->headers_full &&
	    (int64_t)(m->headers_string->len + len + 2) > r->limit) {
		r->headers_full = true;
		if (!r->quiet)
			spi_trail(s, SPOP_TRAIL_INFO, headers_note,
				  strlen(headers_note));
	}
	if (!r->headers_full) {
		g_string_append_len(m->headers_string, line, (gssize)len);
		g_string_append(m->headers_string, "\r\n");
	}
	if (spi_header_is_continuation(line, len) && m->headers->len) {
		if (r->open && !r->headers_full)
			spi_header_unfold_into(r->open_value, line, len);
		value = g_strstrip(g_strndup(line, len));
		if (!r->quiet)
			spi_emit_header(s, "", value);
		g_free(value);
	} else {
		close_open_header(r);
		if (!spi_header_split(line, len, &field, &value)) {
			/* Malformed: kept, with an empty field, not lost. */
			field = g_strdup("");
			value = g_strndup(line, len);
		}
		if (!r->quiet)
			spi_emit_header(s, field, value);
		if (r->headers_full) {
			g_free(field);
			g_free(value);
		} else {
			struct spi_header *h = g_new0(struct spi_header, 1);

			h->field = field;
			h->value = NULL;
			r->open = h;
			r->open_value = g_string_new(value);
			g_free(value);
			g_ptr_array_add(m->headers, h);
		}
	}
	if (r->include_headers)
		deliver(s, r, line, len, true, true);
	g_string_truncate(r->header_line, 0);
}

/* The body in runs (no Transfer handler, nothing per line): one write to
 * the sink for what one read brought. */
static int on_span(struct spop *s, const char *data, size_t len, void *ud)
{
	struct retrieval *r = ud;
	struct spi_message *m = &s->msg;

	r->bytes += (int64_t)len;
	if (r->keep_body) {
		append_capped(m->raw, &m->raw_truncated, r->limit, data, len);
		append_capped(m->text, &m->text_truncated, r->limit, data, len);
	}
	if (!r->quiet)
		sink_write(s, &r->sink, data, len);
	return r->sink.error;
}

static int on_line(struct spop *s, const char *line, size_t len, bool eol,
		   void *ud)
{
	struct retrieval *r = ud;
	struct spi_message *m = &s->msg;

	r->bytes += (int64_t)len + (eol ? 2 : 0);
	if (r->in_headers || r->keep_body) {
		append_capped(m->raw, &m->raw_truncated, r->limit, line, len);
		if (eol)
			append_capped(m->raw, &m->raw_truncated, r->limit,
				      "\r\n", 2);
	}

	if (r->in_headers) {
		if (eol && len == 0 && r->header_line->len == 0) {
			close_open_header(r);
			r->in_headers = false;
			r->headers_done = true;
			m->header_bytes = r->bytes;
			g_string_append(m->headers_string, "\r\n");
			if (r->include_headers)
				deliver(s, r, "", 0, true, true);
			/* Header parsing ends here; without a Transfer
			 * handler the body goes in runs, not lines. */
			r->consumer.per_line = !r->quiet && s->ev.transfer;
			return r->sink.error;
		}
		/* Header lines are joined whole before parsing, truncated at
		 * 1 MiB: the part past it is dropped, never reordered. */
		size_t room =
		    MAX_HEADER_LINE - MIN(r->header_line->len, MAX_HEADER_LINE);
		g_string_append_len(r->header_line, line,
				    (gssize)MIN(len, room));
		if (eol)
			finish_header_line(s, r);
		return r->sink.error;
	}
	deliver(s, r, line, len, eol, false);
	return r->sink.error;
}

/* Reads the body of the reply in flight into r. */
static int read_body(struct spop *s, struct retrieval *r)
{
	int consumer_rc = 0;

	r->consumer.line = on_line;
	r->consumer.span = on_span;
	r->consumer.per_line = true;
	int rc = spi_conn_read_body(s, &r->consumer, r, &consumer_rc);
	if (rc)
		return spi_pop3_fatal(s, rc);
	return consumer_rc;
}

static char *header_value(struct spi_message *m, const char *name)
{
	for (guint i = 0; i < m->headers->len; i++) {
		struct spi_header *h = m->headers->pdata[i];

		if (!g_ascii_strcasecmp(h->field, name))
			return g_strdup(h->value);
	}
	return g_strdup("");
}

static void derive_fields(struct spop *s)
{
	struct spi_message *m = &s->msg;
	static const char *const rcpt[] = {"To", "Cc", "Bcc"};

	m->from = header_value(m, "From");
	m->to = header_value(m, "To");
	m->cc = header_value(m, "Cc");
	m->date = header_value(m, "Date");
	m->reply_to = header_value(m, "Reply-To");
	m->content_type = header_value(m, "Content-Type");
	char *subject = header_value(m, "Subject");
	if (s->cfg.auto_decode_subject) {
		m->subject = spi_rfc2047_decode(subject);
		g_free(subject);
	} else {
		m->subject = subject;
	}
	for (guint i = 0; i < m->headers->len; i++) {
		struct spi_header *h = m->headers->pdata[i];

		for (int t = 0; t < 3; t++)
			if (!g_ascii_strcasecmp(h->field, rcpt[t]))
				spi_parse_address_list(h->value, t,
						       m->recipients);
	}
}

static const char truncated_note[] =
    "Message kept in memory only up to MessageMemoryLimit; LocalFile or a "
    "stream has all of it.";

/* The body went to LocalFile or a stream: what spi_message_complete()
 * needs to find it again. */
static void defer_body(struct spop *s, struct retrieval *r, bool to_file)
{
	struct spi_message *m = &s->msg;

	m->body_deferred = true;
	m->deferred_include_headers = r->include_headers;
	m->number = s->message_number;
	m->max_lines = s->max_lines;
	m->total_bytes = r->bytes;
	if (r->in_headers) /* no end of headers: all of it is headers */
		m->header_bytes = r->bytes;
	if (to_file) {
		m->file = g_strdup(s->local_file);
		m->file_dev = r->sink.dev;
		m->file_ino = r->sink.ino;
		m->file_size = r->sink.size;
		m->file_mtime_ns = r->sink.mtime_ns;
	}
}

static bool pread_full(int fd, char *buf, size_t n, off_t off)
{
	while (n) {
		ssize_t got = pread(fd, buf, n, off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return false;
		buf += got;
		n -= (size_t)got;
		off += got;
	}
	return true;
}

/* Appends up to n bytes of the file at off to g, within limit. */
static bool append_from_file(int fd, GString *g, bool *truncated, int64_t limit,
			     size_t n, off_t off)
{
	size_t room = limit > (int64_t)g->len ? (size_t)(limit - g->len) : 0;
	size_t take = *truncated ? 0 : MIN(n, room);
	size_t old = g->len;

	g_string_set_size(g, old + take);
	if (!pread_full(fd, g->str + old, take, off)) {
		g_string_truncate(g, old);
		return false;
	}
	if (take < n && !*truncated)
		*truncated = true;
	return true;
}

/* The body from LocalFile, when it is still the file Retrieve wrote. */
static bool complete_from_file(struct spop *s)
{
	struct spi_message *m = &s->msg;
	int64_t body = m->total_bytes - m->header_bytes;
	int fd = m->file ? open(m->file, O_RDONLY | O_CLOEXEC) : -1;
	struct stat st;
	bool ok = fd >= 0 && !fstat(fd, &st);

	ok = ok && (guint64)st.st_dev == m->file_dev &&
	     (guint64)st.st_ino == m->file_ino && st.st_size == m->file_size &&
	     (gint64)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec ==
		 m->file_mtime_ns &&
	     body >= 0 && st.st_size >= body;
	if (ok) {
		/* the body is the file's tail; the head is the headers as
		 * LocalFile got them (IncludeHeaders) or nothing */
		off_t off = (off_t)(st.st_size - body);
		size_t raw_len = m->raw->len, text_len = m->text->len;
		bool raw_t = m->raw_truncated, text_t = m->text_truncated;

		ok = append_from_file(fd, m->raw, &m->raw_truncated,
				      s->cfg.message_memory_limit, (size_t)body,
				      off) &&
		     append_from_file(fd, m->text, &m->text_truncated,
				      s->cfg.message_memory_limit, (size_t)body,
				      off);
		if (!ok) {
			g_string_truncate(m->raw, raw_len);
			g_string_truncate(m->text, text_len);
			m->raw_truncated = raw_t;
			m->text_truncated = text_t;
		}
	}
	if (fd >= 0)
		close(fd);
	return ok;
}

/* The message again over the session, quietly (no events, no LocalFile,
 * the caches untouched); only Message and MessageText are taken from it,
 * and only when it is the message retrieved: the same header block and the
 * same size. */
static int complete_by_fetch(struct spop *s)
{
	struct spi_message old = s->msg, *m = &s->msg;
	struct retrieval r = {0};
	int saved_max_lines = s->max_lines;

	if (!s->conn)
		return spi_fail(s, SPOP_ERR_STATE,
				"Message %d went to %s and is not kept in "
				"memory; it can be read again only while "
				"connected.",
				old.number,
				old.file ? "LocalFile, which changed since"
					 : "the message stream");
	memset(m, 0, sizeof(*m));
	message_init(m);
	r.limit = s->cfg.message_memory_limit;
	r.in_headers = true;
	r.quiet = true;
	r.keep_body = true;
	r.include_headers = old.deferred_include_headers;
	r.header_line = g_string_new(NULL);
	s->max_lines = old.max_lines;
	int rc = spi_mailbox_fetch_send(s, old.number, false);
	if (!rc)
		rc = spi_mailbox_fetch_reply(s, false);
	s->max_lines = saved_max_lines;
	if (!rc)
		rc = read_body(s, &r);
	if (r.header_line->len)
		finish_header_line(s, &r);
	close_open_header(&r);
	g_string_free(r.header_line, TRUE);
	if (!rc && (r.bytes != old.total_bytes || m->raw->len < old.raw->len ||
		    memcmp(m->raw->str, old.raw->str, old.raw->len)))
		rc = spi_fail(s, SPOP_ERR_STATE,
			      "Message %d on the server is no longer the "
			      "message retrieved (%lld bytes then, %lld now): "
			      "Message and MessageText cannot be read again.",
			      old.number, (long long)old.total_bytes,
			      (long long)r.bytes);
	if (!rc) {
		GString *raw = old.raw, *text = old.text;

		old.raw = m->raw;
		old.text = m->text;
		old.raw_truncated = m->raw_truncated;
		old.text_truncated = m->text_truncated;
		m->raw = raw;
		m->text = text;
	}
	spi_message_clear(m);
	*m = old;
	return rc;
}

int spi_message_complete(struct spop *s, bool may_fetch)
{
	struct spi_message *m = &s->msg;

	if (!m->body_deferred)
		return 0;
	if (!m->file && !m->total_bytes && !may_fetch)
		return spi_fail(s, SPOP_ERR_BUSY,
				"Message and MessageText are complete only "
				"when Retrieve has returned (the body goes to "
				"LocalFile or the stream, not to memory).");
	if (!complete_from_file(s)) {
		if (!may_fetch)
			return spi_fail(
			    s, SPOP_ERR_BUSY,
			    "Message %d must be retrieved again for "
			    "Message or MessageText (%s), which cannot be "
			    "done inside an event or a running method.",
			    m->number,
			    m->file ? "LocalFile changed"
				    : "it went to a stream");
		int rc = complete_by_fetch(s);
		if (rc)
			return rc;
	}
	m->body_deferred = false;
	g_clear_pointer(&m->file, g_free);
	return 0;
}

/* sent: the RETR/TOP for MessageNumber is already in flight (a pipeline
 * sent it); only its reply is read, and the size for PercentDone is taken
 * from the listing alone, as asking now would overtake the pipeline. */
static int retrieve(struct spop *s, bool headers_only, bool sent)
{
	struct retrieval r = {0};
	int rc = 0;

	r.limit = s->cfg.message_memory_limit;
	r.in_headers = true;
	r.include_headers = s->include_headers;
	r.header_line = g_string_new(NULL);
	/* A new retrieval replaces the last message: if it fails, the
	 * message properties are empty rather than the previous message's. */
	spi_message_clear(&s->msg);
	spi_smime_reset(s);
	s->text_cache_number = 0;
	s->headers_cache_number = 0;
	if (s->cfg.get_message_size && !headers_only && sent) {
		r.size = MAX(0, spi_mailbox_listed_size(s, s->message_number));
	} else if (s->cfg.get_message_size && !headers_only) {
		r.size = spi_query_size(s, &rc);
		if (rc)
			goto out_early;
	}
	/* The reference: a partial retrieval writes nothing to LocalFile. */
	if (!headers_only && !(s->max_lines > 0 && !s->have_stream))
		rc = sink_open(s, &r.sink);
	if (!rc && !sent)
		rc = spi_mailbox_fetch_send(s, s->message_number, headers_only);
	if (!rc)
		rc = spi_mailbox_fetch_reply(s, headers_only);
	if (rc) {
		sink_close(s, &r.sink, rc);
		goto out_early;
	}

	message_init(&s->msg);
	/* With LocalFile or a stream the body is not held in memory: peak
	 * memory does not grow with the message. Until the retrieval is
	 * complete, Message and MessageText say so (174) rather than give
	 * the headers alone. */
	r.keep_body = !r.sink.file && !r.sink.stream;
	s->msg.body_deferred = !r.keep_body;
	spi_emit_start_transfer(s);
	rc = read_body(s, &r);
	if (r.header_line->len) /* a last header line without CRLF */
		finish_header_line(s, &r);
	close_open_header(&r);
	spi_emit_end_transfer(s);
	bool to_file = r.sink.file;
	rc = sink_close(s, &r.sink, rc);
	derive_fields(s);
	if (!rc) {
		s->headers_cache_number = s->message_number;
		if (!headers_only)
			s->text_cache_number = s->message_number;
		if (!r.keep_body)
			defer_body(s, &r, to_file);
	} else {
		spi_message_clear(&s->msg);
	}
	if (s->msg.raw_truncated || (s->msg.body_deferred && r.bytes > r.limit))
		spi_trail(s, SPOP_TRAIL_INFO, truncated_note,
			  strlen(truncated_note));
out_early:
	g_string_free(r.header_line, TRUE);
	return rc;
}

int spi_message_retrieve(struct spop *s, bool headers_only)
{
	return retrieve(s, headers_only, false);
}

int spi_message_receive(struct spop *s, bool headers_only)
{
	return retrieve(s, headers_only, true);
}

/* Loads a message from memory as Retrieve would have stored it, without
 * events or LocalFile: spop_set_message() and the S/MIME methods' result.
 * Lines end at LF with or without CR before it; they are stored with CRLF. */
void spi_message_load(struct spop *s, const char *data, size_t len)
{
	struct retrieval r = {0};
	const char *end = data + len;

	r.limit = s->cfg.message_memory_limit;
	r.in_headers = true;
	r.quiet = true;
	r.keep_body = true;
	r.include_headers = s->include_headers;
	r.header_line = g_string_new(NULL);
	message_init(&s->msg);
	/* sized once: growing by doubling holds two buffers at a time */
	g_string_set_size(s->msg.raw, MIN(len, (size_t)r.limit) + len / 16);
	g_string_truncate(s->msg.raw, 0);
	g_string_set_size(s->msg.text, MIN(len, (size_t)r.limit) + len / 16);
	g_string_truncate(s->msg.text, 0);
	while (data < end) {
		const char *nl = memchr(data, '\n', (size_t)(end - data));
		size_t n = nl ? (size_t)(nl - data) : (size_t)(end - data);

		if (nl && n && data[n - 1] == '\r')
			n--;
		on_line(s, data, n, nl != NULL, &r);
		data = nl ? nl + 1 : end;
	}
	if (r.header_line->len)
		finish_header_line(s, &r);
	close_open_header(&r);
	derive_fields(s);
	s->headers_cache_number = s->message_number;
	s->text_cache_number = s->message_number;
	g_string_free(r.header_line, TRUE);
}
