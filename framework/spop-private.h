/* Framework internals shared across files: the object, the connection and
 * the helpers every layer uses. Prefix spi_ (spop internal); never exported.
 */
#ifndef SPOP_PRIVATE_H
#define SPOP_PRIVATE_H

#include <gio/gio.h>
#include <glib.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "spop/plugin.h"
#include "spop/spop.h"

#define SPI_EXPORT __attribute__((visibility("default")))

struct spi_registry_entry;
struct spi_conn;

/* One retrieved header line kept for MessageHeaderField/Value. */
struct spi_header {
	char *field;
	char *value;
};

struct spi_message {
	GPtrArray *headers;	 /* struct spi_header* (unfolded) */
	GString *headers_string; /* raw header block, CRLF line ends */
	GPtrArray *recipients;	 /* struct spi_recipient* */
	GString *text;		 /* MessageText: body (and headers if asked) */
	GString *raw;		 /* Message: whole message */
	bool text_truncated;
	bool raw_truncated;
	char *from, *to, *cc, *date, *subject, *reply_to;
	char *content_type;
};

struct spi_events {
	spop_connection_status_cb connection_status;
	void *connection_status_ud;
	spop_end_transfer_cb end_transfer;
	void *end_transfer_ud;
	spop_error_cb error;
	void *error_ud;
	spop_header_cb header;
	void *header_ud;
	spop_message_list_cb message_list;
	void *message_list_ud;
	spop_pitrail_cb pitrail;
	void *pitrail_ud;
	spop_start_transfer_cb start_transfer;
	void *start_transfer_ud;
	spop_transfer_cb transfer;
	void *transfer_ud;
};

/* Settings that are not properties; properties live as object fields. */
struct spi_settings {
	char *authorization_identity;
	bool auto_decode_subject;
	bool get_message_size;
	int max_line_length;
	int connection_timeout;
	int keep_alive_interval;
	int keep_alive_retry_count;
	int keep_alive_time;
	bool linger;
	int linger_time;
	int local_port;
	long long max_transfer_rate;
	bool tcp_keep_alive;
	bool tcp_no_delay;
	int use_ipv6;
	bool absolute_timeout;
	int in_buffer_size;
	int out_buffer_size;
	bool mask_sensitive;
	int select_wait_millis;
	bool close_stream_after_transfer;
	long long message_memory_limit;
	char *plugin_path;
	char *auth_mechanism_name; /* a plugin by name, overrides the enum */
	int firewall_type;
	bool firewall_auto_detect;
	char *proxy_exceptions_list;
	char *firewall_data;
	int code_page;
	bool process_idle_events;
	GHashTable *declared; /* plugin-declared settings set by Config:
				 lower-case name -> value */
};

struct spop {
	/* properties */
	int auth_mechanism;
	char *user, *password;
	char *mail_server;
	int mail_port;
	char *firewall_host, *firewall_user, *firewall_password;
	int firewall_port;
	char *local_host; /* as set; after connect the bound address */
	char *local_host_set;
	char *local_file;
	int max_lines;
	bool include_headers;
	int timeout;
	int message_number;
	struct spi_settings cfg;

	/* stream set by spop_set_message_stream */
	struct spop_stream stream;
	bool have_stream;

	/* state */
	struct spi_conn *conn;
	int message_count;
	int64_t total_size;
	char *greeting;
	GPtrArray *capabilities; /* char* */
	char *last_reply;
	GQueue *pending; /* commands sent, replies not yet read */

	/* caches, valid for cache_number (the reference's caching rule) */
	int size_cache_number;
	int64_t size_cache;
	int uid_cache_number;
	char *uid_cache;
	int text_cache_number;	  /* message whose text is held */
	int headers_cache_number; /* message whose headers are held */
	struct spi_message msg;

	/* errors and events */
	int error_code;
	char *error_text;
	struct spi_events ev;
	int in_event;	      /* >0 while a callback runs */
	int busy;	      /* a method is running (174 for re-entry) */
	gint interrupt_armed; /* atomic: a method may be interrupted */
	GCancellable *cancel; /* Interrupt; its fd wakes waits */

	/* deadline of the running operation, monotonic microseconds; 0 none */
	gint64 deadline;
	gint64 timeout_us;

	char *config_result;	 /* spop_config's returned string */
	char *localized;	 /* spop_localize_date's returned string */
	char *scratch;		 /* other returned strings */
	GPtrArray *host_strings; /* setting values handed to plugins */
};

/* Property getters never return NULL. */
static inline const char *spi_str(const char *v)
{
	return v ? v : "";
}

/* ---- errors (core/errors.c) ---- */
int spi_fail(struct spop *s, int code, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
int spi_failv(struct spop *s, int code, const char *fmt, va_list ap);
void spi_clear_error(struct spop *s);
int spi_errno_to_code(int err);

/* ---- method framing (core/object.c) ----
 * spi_enter() refuses re-entry (174) and arms Interrupt; spi_leave()
 * disarms, fires Error for a failure and returns rc. */
int spi_enter(struct spop *s);
int spi_leave(struct spop *s, int rc);
void spi_deadline_start(struct spop *s, int seconds);
void spi_deadline_touch(struct spop *s);
/* Remaining milliseconds for poll(): -1 for none, 0 when passed. */
int spi_deadline_remaining_ms(struct spop *s);

/* ---- events and trail (core/events.c) ---- */
void spi_trail(struct spop *s, int direction, const char *text, size_t len);
void spi_trail_masked(struct spop *s, int direction, const char *text,
		      size_t mask_from);
void spi_emit_connection_status(struct spop *s, const char *event, int code,
				const char *description);
void spi_emit_header(struct spop *s, const char *field, const char *value);
void spi_emit_message_list(struct spop *s, int number, const char *uid,
			   int64_t size);
void spi_emit_transfer(struct spop *s, int64_t bytes, int percent,
		       const char *text, size_t len, bool eol);
void spi_emit_start_transfer(struct spop *s);
void spi_emit_end_transfer(struct spop *s);
void spi_emit_error(struct spop *s, int code, const char *text);
/* Escapes control characters (\r \n \t \xNN) for a trail line. */
char *spi_escape_controls(const char *text, size_t len);

/* ---- config (core/config.c) ---- */
/* Returns a newly allocated value, or NULL with *rc set. */
char *spi_setting_get(struct spop *s, const char *name, int *rc);
int spi_setting_set(struct spop *s, const char *name, const char *value);
void spi_settings_init(struct spi_settings *c);
void spi_settings_clear(struct spi_settings *c);
int spi_parse_bool(const char *value, bool *out);
/* Whether the core's own table has name (any case). */
bool spi_setting_is_core(const char *name);
/* The value host->setting() gives a plugin, newly allocated, or NULL for an
 * unknown name. Reads data only: never a getter that talks to the server
 * (MessageSize, MessageUID, MessageText, MessageHeadersString are NULL),
 * and never touches the object's last error. */
char *spi_setting_peek(struct spop *s, const char *name);

/* Plugin-declared settings (plugin/registry.c). The declaration of name by
 * a plugin already loaded in this process, or NULL. */
const struct spop_setting_decl *spi_plugin_setting_loaded(const char *name);
/* Finds the plugin on s's search path whose key-file lists name, loading
 * only that module: 0 with *decl set, 0 with *decl NULL when no plugin
 * declares it, or the module's load error (recorded). */
int spi_plugin_find_setting(struct spop *s, const char *name,
			    const struct spop_setting_decl **decl);
/* The key-file text for a built module, from its descriptor (used by the
 * build's plugin-keyfile tool): 0, or an error code with *error set. */
int spi_plugin_keyfile(const char *module_path, char **text, char **error);

/* ---- plugins (plugin/registry.c and host.c) ---- */
int spi_plugin_select(struct spop *s, int kind, const char *selector_name,
		      int selector, const struct spop_plugin_descriptor **out);
int spi_plugin_by_name(struct spop *s, int kind, const char *name,
		       const struct spop_plugin_descriptor **out);
const char *spi_kind_name(int kind);
void spi_host_init(struct spop_host *host, struct spop *s);

/* ---- connection (net/conn.c) ---- */
int spi_conn_open(struct spop *s);
void spi_conn_close(struct spop *s);
int spi_conn_write(struct spop *s, const void *data, size_t len);
/* Reads one line (CRLF or LF stripped). A line longer than MaxLineLength
 * comes in pieces with *eol false. The buffer is valid until the next read.
 */
int spi_conn_read_line(struct spop *s, const char **line, size_t *len,
		       bool *eol);
int spi_conn_wait(struct spop *s, int fd, int events);
int spi_conn_fd(struct spop *s);
void spi_conn_adopt(struct spop *s, int fd);
int spi_tcp_connect(struct spop *s, const char *name, int port, int *fd);
int spi_resolve(struct spop *s, const char *name, int port,
		struct spop_address **list, size_t *count);
ssize_t spi_fd_read_some(struct spop *s, int fd, void *buf, size_t len);
int spi_fd_write_all(struct spop *s, int fd, const void *buf, size_t len);
void spi_apply_rate_limit(struct spop *s, size_t sent);

/* ---- POP3 (pop3/) ---- */
struct spi_reply {
	bool ok;	    /* +OK */
	bool continuation;  /* "+ " SASL continuation */
	const char *text;   /* after the status word, leading space skipped */
	char resp_code[64]; /* RFC 2449 [CODE] if present, else "" */
};
/* Parses a status line; 0 or -1 when it is not a POP3 status line. */
int spi_reply_parse(const char *line, size_t len, struct spi_reply *out);
/* Whether a command's reply is multi-line (RFC 1939/2449), decided from
 * the command and its argument: LIST vs LIST 3. */
bool spi_command_is_multiline(const char *command);
/* Dot-unstuffing of one received line of a multi-line body: returns 1 for
 * the terminator ".", else 0 with the line and length moved past a stuffed dot.
 * Only the first piece of a line (start_of_line) is inspected. */
int spi_unstuff(const char **line, size_t *len, bool start_of_line);

/* Sends a command and reads its status line. mask_from as in plugin.h. On
 * -ERR returns 171 with the reply in the message. */
int spi_pop3_command(struct spop *s, const char *line, size_t mask_from,
		     struct spi_reply *reply);
typedef int (*spi_line_fn)(struct spop *s, const char *line, size_t len,
			   bool eol, void *ud);
/* Reads a multi-line body to the terminator, calling fn per (unstuffed)
 * line or piece. fn's non-zero return is an error; the body is still
 * drained so the connection stays in sync. */
int spi_pop3_read_body(struct spop *s, spi_line_fn fn, void *ud);
int spi_pop3_login(struct spop *s, const struct spop_plugin_descriptor *d);
int spi_pop3_send(struct spop *s, const char *line, size_t mask_from);
/* Reads the status line of the oldest command in flight; *has_body says a
 * multi-line body follows (to be read with spi_pop3_read_body). */
int spi_pop3_recv(struct spop *s, struct spi_reply *reply, bool *has_body);
void spi_pop3_reset_queue(struct spop *s);
int spi_pop3_fatal(struct spop *s, int rc);
int spi_pop3_stat(struct spop *s);
int spi_pop3_connect(struct spop *s);
int spi_pop3_custom(struct spop *s, const char *command);
/* Where masking starts in a command line for the trail (PASS, APOP). */
size_t spi_pop3_mask_from(const char *line);

/* ---- message (message/) ---- */
void spi_message_clear(struct spi_message *m);
int spi_message_retrieve(struct spop *s, bool headers_only);
/* LIST n for the current MessageNumber, cached; for use inside a method. */
int64_t spi_query_size(struct spop *s, int *rc);

#endif
