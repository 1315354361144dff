/* The spop_t object: lifecycle, properties, and the framing every method
 * shares (re-entry refusal, Interrupt arming, deadline, Error event). */
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "message-parse.h"
#include "spop-private.h"

SPI_EXPORT spop_t *spop_new(void)
{
	struct spop *s = g_new0(struct spop, 1);

	s->mail_port = 110;
	s->timeout = 60;
	s->message_number = 1;
	s->size_cache_number = s->uid_cache_number = 0;
	spi_settings_init(&s->cfg);
	s->capabilities = g_ptr_array_new_with_free_func(g_free);
	s->host_strings = g_ptr_array_new_with_free_func(g_free);
	s->cancel = g_cancellable_new();
	spi_pop3_reset_queue(s);
	return s;
}

SPI_EXPORT void spop_free(spop_t *s)
{
	if (!s)
		return;
	/* Closing without QUIT: the server rolls back pending deletions,
	 * which is the safe outcome for a forgotten Disconnect. */
	spi_conn_close(s);
	spi_pop3_reset_queue(s);
	g_queue_free(s->pending);
	spi_message_clear(&s->msg);
	spi_settings_clear(&s->cfg);
	g_ptr_array_free(s->capabilities, TRUE);
	g_ptr_array_free(s->host_strings, TRUE);
	g_object_unref(s->cancel);
	if (s->have_stream && s->stream.close &&
	    s->cfg.close_stream_after_transfer)
		s->stream.close(s->stream.user_data);
	g_free(s->user);
	if (s->password)
		memset(s->password, 0, strlen(s->password));
	g_free(s->password);
	g_free(s->mail_server);
	g_free(s->firewall_host);
	g_free(s->firewall_user);
	g_free(s->firewall_password);
	g_free(s->local_host);
	g_free(s->local_host_set);
	g_free(s->local_file);
	g_free(s->greeting);
	g_free(s->last_reply);
	g_free(s->uid_cache);
	g_free(s->error_text);
	g_free(s->config_result);
	g_free(s->localized);
	g_free(s->scratch);
	g_free(s);
}

/* ---- method framing ---- */

void spi_deadline_start(struct spop *s, int seconds)
{
	s->timeout_us = seconds > 0 ? (gint64)seconds * G_USEC_PER_SEC : 0;
	s->deadline =
	    s->timeout_us ? g_get_monotonic_time() + s->timeout_us : 0;
}

void spi_deadline_touch(struct spop *s)
{
	/* Inactivity timeout by default: any progress extends it. */
	if (s->timeout_us && !s->cfg.absolute_timeout)
		s->deadline = g_get_monotonic_time() + s->timeout_us;
}

int spi_deadline_remaining_ms(struct spop *s)
{
	if (!s->deadline)
		return -1;
	gint64 left = s->deadline - g_get_monotonic_time();
	if (left <= 0)
		return 0;
	return (int)MIN((left + 999) / 1000, G_MAXINT);
}

int spi_enter(struct spop *s)
{
	if (s->in_event || s->busy)
		return spi_fail(s, 174,
				"A method was called while another is "
				"running (from inside an event handler?).");
	s->busy = 1;
	spi_clear_error(s);
	g_ptr_array_set_size(s->host_strings, 0);
	g_cancellable_reset(s->cancel);
	g_atomic_int_set(&s->interrupt_armed, 1);
	spi_deadline_start(s, s->timeout);
	return 0;
}

int spi_leave(struct spop *s, int rc)
{
	g_atomic_int_set(&s->interrupt_armed, 0);
	s->busy = 0;
	s->deadline = 0;
	if (rc)
		spi_emit_error(
		    s, rc, s->error_text ? s->error_text : spop_error_text(rc));
	return rc;
}

#define ENTER(s)                                                               \
	do {                                                                   \
		int busy_rc = spi_enter(s);                                    \
		if (busy_rc)                                                   \
			return busy_rc;                                        \
	} while (0)

static int need_connection(struct spop *s, const char *what)
{
	if (!s->conn)
		return spi_fail(s, 1117,
				"%s needs a connection: call "
				"spop_connect() first.",
				what);
	return 0;
}

static void invalidate_caches(struct spop *s)
{
	s->size_cache_number = 0;
	s->uid_cache_number = 0;
	s->text_cache_number = 0;
	s->headers_cache_number = 0;
}

static void forget_session(struct spop *s)
{
	s->message_count = 0;
	s->total_size = 0;
	invalidate_caches(s);
	g_ptr_array_set_size(s->capabilities, 0);
}

/* ---- simple properties ---- */

static int set_string(struct spop *s, char **field, const char *value,
		      const char *name, int locked_code)
{
	if (locked_code && s->conn)
		return spi_fail(s, locked_code,
				"%s cannot change while "
				"connected to %s.",
				name, s->mail_server);
	g_free(*field);
	*field = g_strdup(value ? value : "");
	return 0;
}

SPI_EXPORT int spop_get_auth_mechanism(spop_t *s)
{
	return s->auth_mechanism;
}
SPI_EXPORT int spop_set_auth_mechanism(spop_t *s, int v)
{
	if (v < 0 || v > 7)
		return spi_fail(s, 1211, "AuthMechanism %d is not one of 0-7.",
				v);
	s->auth_mechanism = v;
	return 0;
}

SPI_EXPORT int spop_get_connected(spop_t *s)
{
	return s->conn != NULL;
}
SPI_EXPORT int spop_set_connected(spop_t *s, int connected)
{
	if (connected)
		return s->conn ? 0 : spop_connect(s);
	return spop_disconnect(s);
}

SPI_EXPORT int spop_get_idle(spop_t *s)
{
	return !s->busy;
}
SPI_EXPORT int spop_get_include_headers(spop_t *s)
{
	return s->include_headers;
}
SPI_EXPORT int spop_set_include_headers(spop_t *s, int v)
{
	s->include_headers = v != 0;
	return 0;
}
SPI_EXPORT const char *spop_get_last_reply(spop_t *s)
{
	return spi_str(s->last_reply);
}
SPI_EXPORT const char *spop_get_local_host(spop_t *s)
{
	return spi_str(s->local_host);
}
SPI_EXPORT int spop_set_local_host(spop_t *s, const char *v)
{
	int rc = set_string(s, &s->local_host_set, v, "LocalHost", 107);

	if (!rc) {
		g_free(s->local_host);
		s->local_host = g_strdup(s->local_host_set);
	}
	return rc;
}
SPI_EXPORT const char *spop_get_local_file(spop_t *s)
{
	return spi_str(s->local_file);
}
SPI_EXPORT int spop_set_local_file(spop_t *s, const char *path)
{
	set_string(s, &s->local_file, path, "LocalFile", 0);
	/* The reference: SetMessageStream and LocalFile reset each other. */
	if (*s->local_file)
		s->have_stream = false;
	return 0;
}
SPI_EXPORT int spop_get_mail_port(spop_t *s)
{
	return s->mail_port;
}
SPI_EXPORT int spop_set_mail_port(spop_t *s, int v)
{
	if (s->conn)
		return spi_fail(s, 100,
				"MailPort cannot change while "
				"connected to %s:%d.",
				s->mail_server, s->mail_port);
	if (v < 0 || v > 65535)
		return spi_fail(s, 1211, "MailPort %d is outside 1-65535.", v);
	s->mail_port = v;
	return 0;
}
SPI_EXPORT const char *spop_get_mail_server(spop_t *s)
{
	return spi_str(s->mail_server);
}
SPI_EXPORT int spop_set_mail_server(spop_t *s, const char *v)
{
	return set_string(s, &s->mail_server, v, "MailServer", 101);
}
SPI_EXPORT int spop_get_max_lines(spop_t *s)
{
	return s->max_lines;
}
SPI_EXPORT int spop_set_max_lines(spop_t *s, int v)
{
	if (v < 0)
		return spi_fail(s, 1211, "MaxLines %d is negative.", v);
	s->max_lines = v;
	return 0;
}
SPI_EXPORT int spop_get_message_count(spop_t *s)
{
	return s->message_count;
}
SPI_EXPORT int spop_get_message_number(spop_t *s)
{
	return s->message_number;
}
SPI_EXPORT int spop_set_message_number(spop_t *s, int v)
{
	if (v < 1 || (s->conn && v > s->message_count))
		return spi_fail(s, 1211, "MessageNumber %d is outside 1-%d.", v,
				s->conn ? s->message_count : G_MAXINT);
	s->message_number = v;
	return 0;
}
SPI_EXPORT const char *spop_get_password(spop_t *s)
{
	return spi_str(s->password);
}
SPI_EXPORT int spop_set_password(spop_t *s, const char *v)
{
	if (s->password)
		memset(s->password, 0, strlen(s->password));
	return set_string(s, &s->password, v, "Password", 0);
}
SPI_EXPORT int spop_get_timeout(spop_t *s)
{
	return s->timeout;
}
SPI_EXPORT int spop_set_timeout(spop_t *s, int v)
{
	if (v < 0)
		return spi_fail(s, 1211, "Timeout %d is negative.", v);
	s->timeout = v;
	return 0;
}
SPI_EXPORT int64_t spop_get_total_size(spop_t *s)
{
	return s->total_size;
}
SPI_EXPORT const char *spop_get_user(spop_t *s)
{
	return spi_str(s->user);
}
SPI_EXPORT int spop_set_user(spop_t *s, const char *v)
{
	return set_string(s, &s->user, v, "User", 0);
}

SPI_EXPORT int spop_get_capability_count(spop_t *s)
{
	return (int)s->capabilities->len;
}
SPI_EXPORT const char *spop_get_capability(spop_t *s, int i)
{
	if (i < 0 || i >= (int)s->capabilities->len)
		return "";
	return s->capabilities->pdata[i];
}
SPI_EXPORT const char *spop_get_greeting(spop_t *s)
{
	return spi_str(s->greeting);
}

SPI_EXPORT int spop_set_message_stream(spop_t *s,
				       const struct spop_stream *stream)
{
	if (!stream) {
		s->have_stream = false;
		return 0;
	}
	if (stream->size < sizeof(struct spop_stream) || !stream->write)
		return spi_fail(s, 1211,
				"The message stream needs a write "
				"function (size %zu).",
				stream->size);
	s->stream = *stream;
	s->have_stream = true;
	g_clear_pointer(&s->local_file, g_free);
	return 0;
}

/* ---- methods ---- */

SPI_EXPORT int spop_connect(spop_t *s)
{
	ENTER(s);
	int rc = 0;

	if (s->conn)
		rc = spi_fail(s, 104, "Already connected to %s:%d.",
			      s->mail_server, s->mail_port);
	else if (!s->mail_server || !*s->mail_server)
		rc = spi_fail(s, 173, "MailServer is empty.");
	else if (s->mail_port == 0)
		rc = spi_fail(s, 116, "MailPort is 0.");
	if (!rc) {
		forget_session(s);
		/* ConnectionTimeout bounds the connect phase when set. */
		spi_deadline_start(s, s->cfg.connection_timeout
					  ? s->cfg.connection_timeout
					  : s->timeout);
		rc = spi_pop3_connect(s);
	}
	if (rc) {
		/* The greeting and CAPA of a failed attempt stay readable:
		 * they are what a user needs to see why login failed. */
		s->message_count = 0;
		s->total_size = 0;
		invalidate_caches(s);
	}
	return spi_leave(s, rc);
}

SPI_EXPORT int spop_disconnect(spop_t *s)
{
	ENTER(s);
	int rc = 0;
	struct spi_reply r;

	if (s->conn) {
		rc = spi_pop3_command(s, "QUIT", (size_t)-1, &r);
		spi_conn_close(s);
		spi_pop3_reset_queue(s);
	}
	forget_session(s);
	return spi_leave(s, rc);
}

SPI_EXPORT int spop_delete(spop_t *s)
{
	ENTER(s);
	int rc = need_connection(s, "Delete");
	struct spi_reply r;

	if (!rc) {
		char *cmd = g_strdup_printf("DELE %d", s->message_number);
		rc = spi_pop3_command(s, cmd, (size_t)-1, &r);
		g_free(cmd);
		invalidate_caches(s);
	}
	return spi_leave(s, rc);
}

SPI_EXPORT int spop_reset(spop_t *s)
{
	ENTER(s);
	int rc = need_connection(s, "Reset");
	struct spi_reply r;

	if (!rc) {
		rc = spi_pop3_command(s, "RSET", (size_t)-1, &r);
		invalidate_caches(s);
	}
	return spi_leave(s, rc);
}

struct list_ctx {
	bool uids;
	char *bad;
};

static int list_line(struct spop *s, const char *line, size_t len, bool eol,
		     void *ud)
{
	struct list_ctx *c = ud;
	char *copy = g_strndup(line, len);
	char *end;
	long long n = strtoll(copy, &end, 10);
	int rc = 0;

	if (end == copy || *end != ' ' || n < 1 || n > G_MAXINT || !eol) {
		rc = 171;
	} else if (c->uids) {
		const char *uid = end + 1;
		if (!*uid)
			rc = 171;
		else
			spi_emit_message_list(s, (int)n, uid, 0);
	} else {
		long long size = strtoll(end + 1, &end, 10);
		if (size < 0 || (*end && *end != ' '))
			rc = 171;
		else
			spi_emit_message_list(s, (int)n, "", size);
	}
	if (rc && !c->bad)
		c->bad = spi_escape_controls(line, len);
	g_free(copy);
	return rc;
}

static int list_method(struct spop *s, bool uids)
{
	ENTER(s);
	int rc =
	    need_connection(s, uids ? "ListMessageUIDs" : "ListMessageSizes");
	struct spi_reply r;
	struct list_ctx c = {uids, NULL};
	bool body;

	if (!rc)
		rc = spi_pop3_send(s, uids ? "UIDL" : "LIST", (size_t)-1);
	if (!rc)
		rc = spi_pop3_recv(s, &r, &body);
	if (!rc && body)
		rc = spi_pop3_read_body(s, list_line, &c);
	if (rc == 171 && c.bad)
		spi_fail(s, 171, "Malformed %s line from %s: '%s'.",
			 uids ? "UIDL" : "LIST", s->mail_server, c.bad);
	g_free(c.bad);
	return spi_leave(s, rc);
}

SPI_EXPORT int spop_list_message_sizes(spop_t *s)
{
	return list_method(s, false);
}

SPI_EXPORT int spop_list_message_uids(spop_t *s)
{
	return list_method(s, true);
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
	const char *sp = strchr(r.text, ' ');
	if (!sp || !sp[1] || atoi(r.text) != s->message_number)
		return spi_fail(s, 171, "Malformed %s answer: '%s'.", verb,
				s->last_reply);
	*value = g_strdup(sp + 1);
	g_strchomp(*value);
	return 0;
}

int64_t spi_query_size(struct spop *s, int *rc)
{
	char *v = NULL;

	*rc = need_connection(s, "QueryMessageSize");
	if (!*rc && s->size_cache_number == s->message_number)
		return s->size_cache;
	if (!*rc)
		*rc = query_one(s, "LIST", &v);
	if (!*rc) {
		char *end;
		long long n = strtoll(v, &end, 10);

		if (n < 0 || end == v) {
			*rc = spi_fail(s, 171, "Malformed LIST answer: '%s'.",
				       s->last_reply);
		} else {
			s->size_cache = n;
			s->size_cache_number = s->message_number;
		}
	}
	g_free(v);
	return *rc ? 0 : s->size_cache;
}

SPI_EXPORT int64_t spop_query_message_size(spop_t *s)
{
	int rc;

	if (s->conn && s->size_cache_number == s->message_number)
		return s->size_cache;
	if (spi_enter(s))
		return 0;
	int64_t size = spi_query_size(s, &rc);
	spi_leave(s, rc);
	return size;
}

SPI_EXPORT const char *spop_query_message_uid(spop_t *s)
{
	if (s->conn && s->uid_cache_number == s->message_number)
		return spi_str(s->uid_cache);
	if (spi_enter(s))
		return "";
	int rc = need_connection(s, "QueryMessageUID");
	char *v = NULL;

	if (!rc)
		rc = query_one(s, "UIDL", &v);
	if (!rc) {
		g_free(s->uid_cache);
		s->uid_cache = v;
		s->uid_cache_number = s->message_number;
	} else {
		g_free(v);
	}
	spi_leave(s, rc);
	return rc ? "" : spi_str(s->uid_cache);
}

SPI_EXPORT int64_t spop_query_total_size(spop_t *s)
{
	if (spi_enter(s))
		return 0;
	int rc = need_connection(s, "QueryTotalSize");

	if (!rc)
		rc = spi_pop3_stat(s);
	spi_leave(s, rc);
	return rc ? 0 : s->total_size;
}

SPI_EXPORT int64_t spop_get_message_size(spop_t *s)
{
	if (!s->conn)
		return 0;
	return spop_query_message_size(s);
}

SPI_EXPORT const char *spop_get_message_uid(spop_t *s)
{
	if (!s->conn)
		return "";
	return spop_query_message_uid(s);
}

SPI_EXPORT int spop_send_command(spop_t *s, const char *command)
{
	ENTER(s);
	int rc = need_connection(s, "SendCommand");

	if (!rc && (!command || !*command))
		rc = spi_fail(s, 1211, "SendCommand needs a command.");
	if (!rc)
		rc = spi_pop3_custom(s, command);
	/* A custom command may change the mailbox (DELE, RSET). */
	invalidate_caches(s);
	return spi_leave(s, rc);
}

SPI_EXPORT int spop_set_command(spop_t *s, const char *command)
{
	return spop_send_command(s, command);
}

SPI_EXPORT int spop_retrieve(spop_t *s)
{
	ENTER(s);
	int rc = need_connection(s, "Retrieve");

	if (!rc)
		rc = spi_message_retrieve(s, false);
	return spi_leave(s, rc);
}

SPI_EXPORT int spop_retrieve_headers(spop_t *s)
{
	ENTER(s);
	int rc = need_connection(s, "RetrieveHeaders");

	if (!rc)
		rc = spi_message_retrieve(s, true);
	return spi_leave(s, rc);
}

SPI_EXPORT int spop_do_events(spop_t *s)
{
	ENTER(s);
	int fd = spi_conn_fd(s);
	struct pollfd p[2] = {
	    {g_cancellable_get_fd(s->cancel), POLLIN, 0},
	    {fd, POLLIN, 0},
	};

	/* Nothing is queued: all events fire inside the methods. What can
	 * happen between calls is the server closing the link, noticed here.
	 */
	if (poll(p, fd >= 0 ? 2 : 1, s->cfg.select_wait_millis) > 0 &&
	    fd >= 0 && p[1].revents) {
		char c;

		if (recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
			spi_conn_close(s);
			spi_pop3_reset_queue(s);
			forget_session(s);
		}
	}
	return spi_leave(s, 0);
}

SPI_EXPORT int spop_interrupt(spop_t *s)
{
	/* Only a running method can be interrupted; otherwise nothing. */
	if (g_atomic_int_get(&s->interrupt_armed))
		g_cancellable_cancel(s->cancel);
	return 0;
}

SPI_EXPORT const char *spop_localize_date(spop_t *s, const char *date_time)
{
	char *v = date_time ? spi_localize_date(date_time) : NULL;

	spi_clear_error(s);
	if (!v) {
		spi_fail(s, 1211, "LocalizeDate: '%s' is not an RFC 822 date.",
			 date_time ? date_time : "(null)");
		spi_emit_error(s, 1211, s->error_text);
		return NULL;
	}
	g_free(s->localized);
	s->localized = v;
	return v;
}
