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

struct spi_conn;
struct spi_layer;
struct spi_cert_choice;
struct spi_tls_state;

/* What the server's CAPA said (RFC 2449), parsed by pop3/capa.c. */
struct spi_capa {
	bool known; /* the server answered CAPA */
	bool stls, pipelining, uidl, top, user, resp_codes, auth_resp_code;
	char *sasl; /* the SASL mechanism list, or NULL */
	char *implementation, *expire, *login_delay;
};

/* A host-services table with what the core needs to serve it: the object
 * and, for a plugin instance in the connection stack, its layer (NULL for
 * auth and transport plugins). One per plugin instance, at a fixed address
 * for the instance's life (plugin.h). */
struct spi_host {
	struct spop_host pub;
	struct spop *s;
	struct spi_layer *layer;
	/* a TLS layer's client certificate, open while its session lives */
	struct spi_cert_choice *cert;
};

/* One of the reference's certificate groups (SSLCert*, later Cert* and
 * SignerCert*): how the application names a certificate in a store
 * (tls/cert.c). */
struct spi_cert_group {
	const char *prefix;  /* "SSLCert": messages, the selector name */
	bool star_needs_key; /* "*" takes the first entry with a key */
	int store_type;	     /* SPOP_CST_* */
	GBytes *store;	     /* file name or the store itself */
	char *password;
	char *subject; /* as set, then the full subject found */
	GBytes *der;   /* the chosen certificate, or NULL */
	char *wanted;  /* the subject the application asked for, kept when
			  the search failed so that Connect tries again */
	char *out_pem, *out_issuer, *out_serial; /* strings handed out */
};

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
	/* The body went to LocalFile or a stream and is not in raw/text
	 * (which hold the header block): spi_message_complete() reads it
	 * back from file when file is still the file written (same device,
	 * inode, size, mtime), else retrieves number again (message/
	 * retrieve.c). */
	bool body_deferred;
	bool deferred_include_headers; /* IncludeHeaders as retrieved */
	int number, max_lines;	       /* what was retrieved */
	int64_t header_bytes, total_bytes;
	char *file;
	guint64 file_dev, file_ino;
	gint64 file_size, file_mtime_ns;
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
	spop_ssl_server_authentication_cb ssl_server_authentication;
	void *ssl_server_authentication_ud;
	spop_ssl_status_cb ssl_status;
	void *ssl_status_ud;
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
	/* Config Durability (message/retrieve.c): 0 none, 1 batch (default:
	 * one syncfs per directory at the end of the method), 2 message
	 * (fsync of each file and its directory) */
	int durability;
	int pipeline_window; /* PipelineWindow: commands in flight, at most */
	bool list_at_connect; /* ListAtConnect: LIST/UIDL with STAT */
	char *plugin_path;
	char *auth_mechanism_name; /* a plugin by name, overrides the enum */
	int firewall_type;
	bool firewall_auto_detect;
	char *proxy_exceptions_list;
	char *firewall_data;
	int code_page;
	bool process_idle_events;
	bool allow_plaintext_auth; /* libspop's AllowPlaintextAuth */
	/* SSL settings (the reference's; providers read them by name) */
	bool log_ssl_packets;
	char *openssl_ca_dir, *openssl_ca_file, *openssl_cipher_list;
	char *openssl_prng_seed_data;
	bool reuse_ssl_session;
	char *ssl_ca_cert_file_paths;
	char *ssl_ca_certs;
	int ssl_cipher_strength;
	char *ssl_enabled_cipher_suites;
	int ssl_enabled_protocols;
	bool ssl_enable_renegotiation;
	bool ssl_include_cert_chain;
	char *ssl_key_log_file;
	long long ssl_security_flags;
	char *ssl_server_ca_certs;
	char *tls12_signature_algorithms, *tls12_supported_groups;
	char *tls13_key_share_groups, *tls13_signature_algorithms;
	char *tls13_supported_groups;
	bool use_internal_security_api;
	/* S/MIME (libspop's settings beside the reference's SMIMEEngine) */
	char *smime_engine;
	bool smime_allow_weak_digests;
	char *smime_trusted_certs; /* PEM file of trust anchors */
	bool smime_use_system_trust;
	char *smime_crl_file;
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
	char *local_host; /* as set; the bound address is the connection's */
	char *local_file;
	int max_lines;
	bool include_headers;
	int timeout;
	int message_number;
	int ssl_start_mode;		   /* SPOP_SSL_* */
	int ssl_provider;		   /* SPOP_SSLP_* */
	struct spi_cert_group ssl_cert;	   /* SSLCert* */
	struct spi_cert_group cert;	   /* Cert*: decryption */
	struct spi_cert_group signer_cert; /* SignerCert*: verification */
	GBytes *ssl_accept_cert;	   /* SSLAcceptServerCertEncoded, DER */
	struct spi_settings cfg;

	/* stream set by spop_set_message_stream */
	struct spop_stream stream;
	bool have_stream;

	/* state */
	struct spi_conn *conn;
	int state; /* enum spi_state (pop3/pop3.h) */
	struct spi_capa capa;
	int message_count;
	int64_t total_size;
	char *greeting;
	struct spi_proxy *detected_proxy; /* FirewallAutoDetect's, for the
					     connect under way (net/proxy.c) */
	char *auth_used;	  /* plugin name of the last login attempt */
	bool auth_plaintext_sent; /* it put a reusable secret on the wire
				     without TLS (Config AuthPlaintextSent) */
	GPtrArray *capabilities;  /* char* */
	char *last_reply;
	GQueue *pending; /* commands sent, replies not yet read */
	GString *corked; /* commands queued by a pipeline, written together
			    by spi_pop3_flush; NULL when not corked */

	/* caches, valid for cache_number (the reference's caching rule) */
	int size_cache_number;
	int64_t size_cache;
	int uid_cache_number;
	char *uid_cache;
	/* What LIST and UIDL without an argument said, by message number
	 * (index number - 1), for this session: message numbers never change
	 * within one (RFC 1939), so MessageSize and MessageUID then need no
	 * round trip. -1 / NULL: not listed, or deleted since. */
	GArray *listed_sizes;	  /* int64_t */
	GPtrArray *listed_uids;	  /* char* */
	int text_cache_number;	  /* message whose text is held */
	int headers_cache_number; /* message whose headers are held */
	struct spi_message msg;
	/* message/retrieve.c: directories LocalFile was renamed into since
	 * the last spi_message_sync() (Durability 1), char* set */
	GHashTable *unsynced_dirs;
	struct spi_smime *smime; /* verdicts of the last S/MIME method */

	/* errors and events */
	int error_code;
	char *error_text;
	struct spi_events ev;
	int in_event; /* >0 while a callback runs */
	int busy;     /* a method is running (174 for re-entry) */
	/* Interrupt: interrupt_lock orders spop_interrupt() against method
	 * entry and exit, so a late Interrupt never cancels the next method.
	 */
	GMutex interrupt_lock;
	bool interrupt_armed; /* a method may be interrupted */
	GCancellable *cancel; /* Interrupt; its fd wakes waits */

	/* deadline of the running operation, monotonic microseconds; 0 none.
	 * deadline_seconds/name say which setting it came from, for the
	 * timeout message. */
	gint64 deadline;
	gint64 timeout_us;
	int deadline_seconds;
	const char *deadline_name;

	struct spi_tls_state *tls; /* the last TLS session (tls/tls.c) */

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
int spi_failv(struct spop *s, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
void spi_clear_error(struct spop *s);
/* The error of the running method, kept across work that must not change
 * it (a Config read from an event, a close_notify on a dead socket). */
struct spi_saved_error {
	int code;
	char *text;
};
struct spi_saved_error spi_error_save(const struct spop *s);
void spi_error_restore(struct spop *s, struct spi_saved_error *saved);
void spi_error_forget(struct spi_saved_error *saved);
int spi_errno_to_code(int err);

/* ---- method framing (core/object.c) ----
 * spi_enter() refuses re-entry (174) and arms Interrupt; spi_leave()
 * disarms, fires Error for a failure and returns rc. */
int spi_enter(struct spop *s);
int spi_leave(struct spop *s, int rc);
/* Starts the deadline from Timeout's value (seconds); _for names another
 * setting (ConnectionTimeout) for the message when it expires. */
void spi_deadline_start(struct spop *s, int seconds);
void spi_deadline_start_for(struct spop *s, int seconds, const char *name);
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

/* Plugin-declared settings (plugin/declared-settings.c). The declaration of
 * name by a plugin already loaded in this process, or NULL. */
const struct spop_setting_decl *spi_plugin_setting_loaded(const char *name);
/* Finds the plugin on s's search path whose key-file lists name, loading
 * only that module: 0 with *decl set, 0 with *decl NULL when no plugin
 * declares it, or the module's load error (recorded). */
int spi_plugin_find_setting(struct spop *s, const char *name,
			    const struct spop_setting_decl **decl);
/* The key-file text for a built module, from its descriptor (used by the
 * build's plugin-keyfile tool; plugin/keyfile.c): 0, or an error code with
 * *error set. */
int spi_plugin_keyfile(const char *module_path, char **text, char **error);

/* ---- plugins (plugin/registry.c and host.c) ---- */
int spi_plugin_select(struct spop *s, int kind, const char *selector_name,
		      int selector, const struct spop_plugin_descriptor **out);
int spi_plugin_by_name(struct spop *s, int kind, const char *name,
		       const struct spop_plugin_descriptor **out);
const char *spi_kind_name(int kind);
void spi_host_init(struct spi_host *host, struct spop *s,
		   struct spi_layer *layer);
/* Base64 that refuses anything but exact RFC 4648 text; g_malloc'd. */
void *spi_base64_decode_strict(const char *text, size_t *len);

/* ---- message (message/) ---- */
void spi_message_clear(struct spi_message *m);
int spi_message_retrieve(struct spop *s, bool headers_only);
/* The same for a RETR/TOP of MessageNumber that a pipeline already sent:
 * reads its reply. */
int spi_message_receive(struct spop *s, bool headers_only);
void spi_message_load(struct spop *s, const char *data, size_t len);
/* Makes what retrievals wrote to LocalFile since the last call durable as
 * Durability says (a no-op for 0 and 2); SPOP_ERR_FILE naming the directory
 * and the reason when the sync fails. */
int spi_message_sync(struct spop *s);
/* Remembers dir as written since the last spi_message_sync() (Durability
 * 1); retrieve.c does it after each rename into LocalFile. */
void spi_message_note_unsynced(struct spop *s, const char *dir);
/* Forgets the remembered directories without syncing them (spop_free). */
void spi_message_forget_unsynced(struct spop *s);
/* Completes Message and MessageText when Retrieve sent the body to
 * LocalFile or a stream without keeping it (body_deferred): from the file
 * when it is still the one written, else (may_fetch) by retrieving the
 * message again quietly, no events and no LocalFile, checking it is the
 * same message. 0 when complete; 211 naming why it cannot be, or the
 * retrieval's error. */
int spi_message_complete(struct spop *s, bool may_fetch);

/* ---- the receive path (net/conn.c) ---- */
struct spi_body_consumer {
	/* Each line (or MaxLineLength piece), unstuffed, without its line
	 * end; eol when it ends the line. */
	int (*line)(struct spop *s, const char *line, size_t len, bool eol,
		    void *ud);
	/* With per_line false: the body as it is to be stored, unstuffed,
	 * every line ending in CRLF (a bare LF made CRLF), in runs as long as
	 * a read gave, cut anywhere; the consumer may switch from line to span
	 * mode from its line callback. */
	int (*span)(struct spop *s, const char *data, size_t len, void *ud);
	bool per_line;
};
/* Reads a multi-line reply's body to its terminator, handing it to k. The
 * first consumer error is kept in *consumer_rc and the rest is read and
 * dropped (the stream stays in step); the return is the connection's
 * error (not yet given to spi_pop3_fatal), or 0. */
int spi_conn_read_body(struct spop *s, struct spi_body_consumer *k, void *ud,
		       int *consumer_rc);

/* ---- S/MIME (smime/) ---- */
struct spi_smime;
/* Forgets the verdicts (a new message); SigningAlgorithm stays. */
void spi_smime_reset(struct spop *s);
void spi_smime_free(struct spop *s);

#endif
