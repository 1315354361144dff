/* The spop_t object: lifecycle, properties, and the framing every method
 * shares (re-entry refusal, Interrupt arming, deadline, Error event). */
#include <string.h>

#include "message-parse.h"
#include "net/net.h"
#include "pop3/pop3.h"
#include "tls/tls.h"

SPI_EXPORT spop_t *spop_new(void)
{
	struct spop *s = g_new0(struct spop, 1);

	s->mail_port = 110;
	s->timeout = 60;
	s->message_number = 1;
	s->ssl_start_mode = SPOP_SSL_NONE;
	s->ssl_provider = SPOP_SSLP_AUTOMATIC;
	spi_cert_group_init(&s->ssl_cert, "SSLCert", true);
	spi_cert_group_init(&s->cert, "Cert", true);
	spi_cert_group_init(&s->signer_cert, "SignerCert", false);
	spi_settings_init(&s->cfg);
	g_mutex_init(&s->interrupt_lock);
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
	if (s->in_event || s->busy) {
		/* Freeing the object under the method that runs the event
		 * would leave it using freed memory: refused, loudly. */
		spi_fail(s, SPOP_ERR_BUSY,
			 "spop_free() was called from inside an event "
			 "handler or a running method; call it after the "
			 "method returns.");
		g_warning("%s", s->error_text);
		return;
	}
	/* Closing without QUIT: the server rolls back pending deletions,
	 * which is the safe outcome for a forgotten Disconnect. */
	spi_session_drop(s, 0);
	g_queue_free(s->pending);
	spi_capa_clear(&s->capa);
	g_mutex_clear(&s->interrupt_lock);
	spi_message_clear(&s->msg);
	spi_message_forget_unsynced(s);
	spi_smime_free(s);
	spi_settings_clear(&s->cfg);
	spi_cert_group_clear(&s->ssl_cert);
	spi_cert_group_clear(&s->cert);
	spi_cert_group_clear(&s->signer_cert);
	g_clear_pointer(&s->ssl_accept_cert, g_bytes_unref);
	spi_tls_free(s);
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
	g_free(s->local_file);
	g_free(s->greeting);
	g_free(s->auth_used);
	spi_proxy_forget(s);
	g_free(s->last_reply);
	g_free(s->uid_cache);
	spi_mailbox_forget_lists(s);
	g_free(s->error_text);
	g_free(s->config_result);
	g_free(s->localized);
	g_free(s->scratch);
	g_free(s);
}

/* ---- method framing ---- */

void spi_deadline_start_for(struct spop *s, int seconds, const char *name)
{
	s->timeout_us = seconds > 0 ? (gint64)seconds * G_USEC_PER_SEC : 0;
	s->deadline =
	    s->timeout_us ? g_get_monotonic_time() + s->timeout_us : 0;
	s->deadline_seconds = seconds;
	s->deadline_name = name;
}

void spi_deadline_start(struct spop *s, int seconds)
{
	spi_deadline_start_for(s, seconds, "Timeout");
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
		return spi_fail(s, SPOP_ERR_BUSY,
				"A method was called while another is "
				"running (from inside an event handler?).");
	s->busy = 1;
	spi_clear_error(s);
	g_ptr_array_set_size(s->host_strings, 0);
	/* Under the lock, an Interrupt either reaches this method or came
	 * before it and is forgotten here, never carried into it. */
	g_mutex_lock(&s->interrupt_lock);
	g_cancellable_reset(s->cancel);
	s->interrupt_armed = true;
	g_mutex_unlock(&s->interrupt_lock);
	spi_deadline_start(s, s->timeout);
	return 0;
}

int spi_leave(struct spop *s, int rc)
{
	g_mutex_lock(&s->interrupt_lock);
	s->interrupt_armed = false;
	g_mutex_unlock(&s->interrupt_lock);
	s->busy = 0;
	s->deadline = 0;
	/* A method that succeeded reports no error, whatever a step on the
	 * way recorded and recovered from (a plugin's fallback, say). */
	if (!rc)
		spi_clear_error(s);
	if (rc)
		spi_emit_error(
		    s, rc, s->error_text ? s->error_text : spop_error_text(rc));
	return rc;
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
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"AuthMechanism %d is not one of 0-7.", v);
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
/* While connected, the address actually bound (the reference); the
 * user's choice stays untouched for the next connect. */
SPI_EXPORT const char *spop_get_local_host(spop_t *s)
{
	const char *bound = spi_conn_local_host(s);

	return bound ? bound : spi_str(s->local_host);
}
SPI_EXPORT int spop_set_local_host(spop_t *s, const char *v)
{
	return set_string(s, &s->local_host, v, "LocalHost",
			  SPOP_ERR_LOCALHOST_CHANGE);
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
		return spi_fail(s, SPOP_ERR_PORT_CHANGE,
				"MailPort cannot change while "
				"connected to %s:%d.",
				s->mail_server, s->mail_port);
	if (v < 0 || v > 65535)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"MailPort %d is outside 1-65535.", v);
	s->mail_port = v;
	return 0;
}
SPI_EXPORT const char *spop_get_mail_server(spop_t *s)
{
	return spi_str(s->mail_server);
}
SPI_EXPORT int spop_set_mail_server(spop_t *s, const char *v)
{
	return set_string(s, &s->mail_server, v, "MailServer",
			  SPOP_ERR_HOST_CHANGE);
}
SPI_EXPORT int spop_get_max_lines(spop_t *s)
{
	return s->max_lines;
}
SPI_EXPORT int spop_set_max_lines(spop_t *s, int v)
{
	if (v < 0)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"MaxLines %d is negative.", v);
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
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"MessageNumber %d is outside 1-%d.", v,
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
SPI_EXPORT int spop_get_ssl_enabled(spop_t *s)
{
	return s->ssl_start_mode != SPOP_SSL_NONE;
}
/* The TLS choices are read once, at Connect: changing them mid-session
 * would describe a connection that is not the one in use. */
static int set_tls_choice(struct spop *s, int *field, int v, int max,
			  const char *name, const char *values)
{
	if (v < 0 || v > max)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE, "%s %d is not %s.",
				name, v, values);
	if (s->conn)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"%s cannot change while connected.", name);
	*field = v;
	return 0;
}

SPI_EXPORT int spop_set_ssl_enabled(spop_t *s, int v)
{
	if (s->conn)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"SSLEnabled cannot change while connected.");
	if (!v)
		s->ssl_start_mode = SPOP_SSL_NONE;
	else if (s->ssl_start_mode == SPOP_SSL_NONE)
		s->ssl_start_mode = SPOP_SSL_AUTOMATIC;
	return 0;
}
SPI_EXPORT int spop_get_ssl_provider(spop_t *s)
{
	return s->ssl_provider;
}
SPI_EXPORT int spop_set_ssl_provider(spop_t *s, int v)
{
	return set_tls_choice(s, &s->ssl_provider, v, SPOP_SSLP_INTERNAL,
			      "SSLProvider",
			      "0 (Automatic), 1 (Platform) or 2 (Internal)");
}
SPI_EXPORT int spop_get_ssl_start_mode(spop_t *s)
{
	return s->ssl_start_mode;
}
SPI_EXPORT int spop_set_ssl_start_mode(spop_t *s, int v)
{
	return set_tls_choice(
	    s, &s->ssl_start_mode, v, SPOP_SSL_NONE, "SSLStartMode",
	    "0 (Automatic), 1 (Implicit), 2 (Explicit) or 3 (None)");
}
SPI_EXPORT int spop_get_timeout(spop_t *s)
{
	return s->timeout;
}
SPI_EXPORT int spop_set_timeout(spop_t *s, int v)
{
	if (v < 0)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"Timeout %d is negative.", v);
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
	/* An application built against an older, shorter struct still works:
	 * only the members its size covers are read. */
	if (!SPOP_OPS_HAS(struct spop_stream, stream, write))
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"The message stream needs a write "
				"function (size %zu).",
				stream->size);
	memset(&s->stream, 0, sizeof(s->stream));
	memcpy(&s->stream, stream, MIN(stream->size, sizeof(s->stream)));
	s->stream.size = sizeof(s->stream);
	s->have_stream = true;
	g_clear_pointer(&s->local_file, g_free);
	return 0;
}

/* ---- methods ---- */

SPI_EXPORT int spop_connect(spop_t *s)
{
	if (spi_enter(s))
		return s->error_code;
	int rc = 0;

	if (s->conn)
		rc = spi_fail(s, SPOP_ERR_ALREADY_CONNECTED,
			      "Already connected to %s:%d.", s->mail_server,
			      s->mail_port);
	else if (!s->mail_server || !*s->mail_server)
		rc = spi_fail(s, SPOP_ERR_NO_SERVER, "MailServer is empty.");
	else if (s->mail_port == 0)
		rc = spi_fail(s, SPOP_ERR_PORT_ZERO, "MailPort is 0.");
	if (!rc) {
		spi_session_forget(s);
		rc = spi_session_connect(s);
	}
	return spi_leave(s, rc);
}

SPI_EXPORT int spop_disconnect(spop_t *s)
{
	if (spi_enter(s))
		return s->error_code;
	return spi_leave(s, spi_session_quit(s));
}

SPI_EXPORT int spop_delete(spop_t *s)
{
	if (spi_enter(s))
		return s->error_code;
	int rc = spi_session_need_transaction(s, "Delete");

	if (!rc)
		rc = spi_mailbox_delete(s);
	return spi_leave(s, rc);
}

SPI_EXPORT int spop_reset(spop_t *s)
{
	if (spi_enter(s))
		return s->error_code;
	int rc = spi_session_need_transaction(s, "Reset");

	if (!rc)
		rc = spi_mailbox_reset(s);
	return spi_leave(s, rc);
}

static int list_method(struct spop *s, bool uids)
{
	if (spi_enter(s))
		return s->error_code;
	int rc = spi_session_need_transaction(s, uids ? "ListMessageUIDs"
						      : "ListMessageSizes");

	if (!rc)
		rc = spi_mailbox_list(s, uids);
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

/* The reference: Query* return 0 / "" when not connected, without an
 * error; the server is asked only inside a session. */
SPI_EXPORT int64_t spop_query_message_size(spop_t *s)
{
	int rc;

	if (!s->conn)
		return 0;
	if (s->size_cache_number == s->message_number)
		return s->size_cache;
	/* Answered from the listing without entering: events may ask. */
	if (spi_mailbox_listed_size(s, s->message_number) >= 0)
		return spi_mailbox_listed_size(s, s->message_number);
	if (spi_enter(s))
		return 0;
	int64_t size = spi_query_size(s, &rc);
	spi_leave(s, rc);
	return size;
}

SPI_EXPORT const char *spop_query_message_uid(spop_t *s)
{
	int rc;

	if (!s->conn)
		return "";
	if (s->uid_cache_number == s->message_number)
		return spi_str(s->uid_cache);
	if (spi_mailbox_listed_uid(s, s->message_number))
		return spi_mailbox_listed_uid(s, s->message_number);
	if (spi_enter(s))
		return "";
	const char *uid = spi_query_uid(s, &rc);
	spi_leave(s, rc);
	return uid;
}

SPI_EXPORT int64_t spop_query_total_size(spop_t *s)
{
	if (!s->conn || spi_enter(s))
		return 0;
	int rc = spi_session_need_transaction(s, "QueryTotalSize");

	if (!rc)
		rc = spi_mailbox_stat(s);
	spi_leave(s, rc);
	return rc ? 0 : s->total_size;
}

SPI_EXPORT int64_t spop_get_message_size(spop_t *s)
{
	return spop_query_message_size(s);
}

SPI_EXPORT const char *spop_get_message_uid(spop_t *s)
{
	return spop_query_message_uid(s);
}

SPI_EXPORT int spop_send_command(spop_t *s, const char *command)
{
	if (spi_enter(s))
		return s->error_code;
	int rc = spi_session_need_transaction(s, "SendCommand");

	if (!rc && (!command || !*command))
		rc = spi_fail(s, SPOP_ERR_INVALID_VALUE,
			      "SendCommand needs a command.");
	if (!rc)
		rc = spi_mailbox_custom(s, command);
	return spi_leave(s, rc);
}

SPI_EXPORT int spop_set_command(spop_t *s, const char *command)
{
	return spop_send_command(s, command);
}

static int retrieve_method(struct spop *s, bool headers_only)
{
	if (spi_enter(s))
		return s->error_code;
	int rc = spi_session_need_transaction(
	    s, headers_only ? "RetrieveHeaders" : "Retrieve");

	if (!rc)
		rc = spi_message_retrieve(s, headers_only);
	/* Durability 1: the file is on disk when Retrieve returns. A failed
	 * retrieval wrote nothing new and keeps its own error. */
	if (!rc) {
		rc = spi_message_sync(s);
	} else {
		struct spi_saved_error saved = spi_error_save(s);
		spi_message_sync(s);
		spi_error_restore(s, &saved);
	}
	return spi_leave(s, rc);
}

SPI_EXPORT int spop_retrieve(spop_t *s)
{
	return retrieve_method(s, false);
}

SPI_EXPORT int spop_retrieve_headers(spop_t *s)
{
	return retrieve_method(s, true);
}

SPI_EXPORT int spop_do_events(spop_t *s)
{
	if (spi_enter(s))
		return s->error_code;
	/* Nothing is queued: all events fire inside the methods. What can
	 * happen between calls is the server closing the link, or sending
	 * what no command asked for; the stack is asked, never the socket. */
	int rc = spi_conn_poll(s, s->cfg.select_wait_millis);

	if (!rc && s->conn && !g_queue_get_length(s->pending) &&
	    spi_conn_buffered(s)) {
		/* RFC 1939 servers speak only when asked; unsolicited bytes
		 * mean the stream can no longer be matched to commands. */
		GString *line = g_string_new(NULL);

		rc = spi_pop3_read_status_line(s, line);
		if (!rc) {
			char *clean = spi_escape_controls(line->str, line->len);
			rc = spi_fail(s, SPOP_ERR_PROTOCOL,
				      "%s sent '%s' while no command was "
				      "waiting; the connection is dropped.",
				      spi_str(s->mail_server), clean);
			g_free(clean);
		}
		g_string_free(line, TRUE);
	}
	if (rc && s->conn)
		spi_session_drop(s, rc);
	/* A server that ended the session between methods (closed, or said
	 * why and closed) is news for ConnectionStatus, not a failure. */
	if (rc == SPOP_ERR_DROPPED || rc == SPOP_ERR_PROTOCOL) {
		rc = 0;
		spi_clear_error(s);
	}
	return spi_leave(s, rc);
}

SPI_EXPORT int spop_interrupt(spop_t *s)
{
	/* Only a running method can be interrupted; otherwise nothing. */
	g_mutex_lock(&s->interrupt_lock);
	if (s->interrupt_armed)
		g_cancellable_cancel(s->cancel);
	g_mutex_unlock(&s->interrupt_lock);
	return 0;
}

SPI_EXPORT const char *spop_localize_date(spop_t *s, const char *date_time)
{
	char *v = date_time ? spi_localize_date(date_time) : NULL;

	spi_clear_error(s);
	if (!v) {
		spi_fail(s, SPOP_ERR_INVALID_VALUE,
			 "LocalizeDate: '%s' is not an RFC 822 date.",
			 date_time ? date_time : "(null)");
		spi_emit_error(s, SPOP_ERR_INVALID_VALUE, s->error_text);
		return NULL;
	}
	g_free(s->localized);
	s->localized = v;
	return v;
}
