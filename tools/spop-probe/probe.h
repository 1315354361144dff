/* spop-probe internals shared by its files: the parsed command line, and the
 * result of a run, which the session fills and a report prints. */
#ifndef SPOP_PROBE_H
#define SPOP_PROBE_H

#include <stdint.h>

#include <glib.h>

#include <spop/spop.h>

/* Sentinel for integer options that were not given on the command line:
 * GOption leaves the default untouched, and 0 or -1 are values a user may
 * type (and be told off for). */
#define PROBE_UNSET G_MININT
/* --retrieve all, --delete all */
#define PROBE_ALL (-1)

struct probe_options {
	char *server;
	int port;
	char *user;
	char *password;
	char *password_file;
	char *auth;
	char *tls;
	char *tls_provider;
	char *ca_file;
	char *accept_cert;
	gboolean insecure;
	char *proxy;
	gboolean list;
	char *retrieve;
	gboolean headers_only;
	int max_lines;
	char *output;
	gboolean decrypt;
	gboolean verify;
	char *cert;
	char *cert_type;
	char *cert_password;
	char *cert_subject;
	char *signer_cert;
	char *smime_engine;
	char *smime_file;
	char *smime_ca;
	char *smime_crl;
	gboolean allow_weak;
	char *delete;
	char **config;
	gboolean trail;
	gboolean json;
	gboolean list_plugins;
	gboolean list_certs;

	/* Derived from the above once they are checked. */
	int retrieve_number;	/* 0: none, PROBE_ALL: all */
	int delete_number;	/* PROBE_UNSET: none, PROBE_ALL: all */
	int auth_mechanism;	/* enum spop_auth_mechanism, or -1 for a name */
	char *auth_name;	/* lower-case mechanism for the report */
	int tls_mode;		/* enum spop_ssl_start_mode, -1: not given */
	int tls_provider_value; /* enum spop_ssl_provider, -1: not given */
	int cert_store_type;	/* enum spop_cert_store_type, -1: no --cert */
	/* --proxy, parsed: FirewallType (0: none), the URL's scheme for the
	 * report, host, port, credentials; remote_dns: the proxy resolves
	 * the mail server's name (socks4a, socks5h: MailServer "*host"). */
	int proxy_type;
	char *proxy_scheme, *proxy_host, *proxy_user, *proxy_password;
	int proxy_port;
	gboolean proxy_remote_dns;
	int signer_store_type;	  /* the same for --signer-cert */
	char *ca_pem;		  /* --ca-file as PEM text */
	GBytes *accept_cert_data; /* --accept-cert as read */
};

struct probe_error {
	int code;
	char *message;
};

/* The JSON "smime" object of a message (DESIGN.md): what the S/MIME method
 * run on it found. A verdict that does not apply (verified after a
 * decryption only) is PROBE_NA, which the report prints as null. */
#define PROBE_NA (-1)

/* One SignerInfo as the library judged it. */
struct probe_signer {
	int layer; /* index into probe_smime.layers */
	gboolean signature_ok;
	gboolean trusted;
	gboolean from_matches;
	unsigned trust_failures; /* SPOP_SMIME_TRUST_* */
	char *subject;		 /* NULL without a certificate */
	char *issuer;
	char *serial;
	char *emails;
	char *algorithm; /* digest, "SHA-256" */
	char *status;	 /* the engine's words */
};

struct probe_smime {
	char *engine;
	char *layers; /* "enveloped,signed", as the library says */
	int decrypted, verified, trusted, from_matches; /* 0, 1, PROBE_NA */
	gboolean weak;
	char *signer_subject;
	char *signer_issuer;
	char *signer_serial;
	char *algorithm;     /* the first signer's digest ("SHA-256") */
	char *cipher;	     /* the content cipher ("AES-256-CBC") */
	char *signed_part;   /* "" the whole message, "2" ...; NULL none */
	char *file;	     /* the unwrapped message, with --output */
	GPtrArray *warnings; /* of char *: what a reader must not miss */
	GPtrArray *signers;  /* of struct probe_signer *, every layer's */
	struct probe_error *error; /* the method's failure, NULL on success */
};

struct probe_message {
	int number;
	char *uid;    /* NULL when unknown */
	int64_t size; /* -1 when unknown */
	gboolean retrieved;
	char *from;
	char *to;
	char *cc;
	char *subject;
	char *date;
	gboolean is_signed;
	gboolean encrypted;
	char *file;	  /* LocalFile written, NULL without --output */
	gboolean deleted; /* --delete all: the server answered its DELE */
	struct probe_smime *smime; /* NULL: no S/MIME method was run */
};

/* A Config setting a plugin declares (spop_list_settings). */
struct probe_setting {
	char *name;
	char *type; /* "string", "int", "bool" */
	char *default_value;
	char *description;
	gint64 min, max; /* int only */
	gboolean secret;
};

struct probe_plugin {
	char *kind;
	char *name;
	char *version;
	char *description;
	char *path;
	char *error;
	GPtrArray *settings; /* of struct probe_setting * */
};

/* The TLS side of the connection (JSON server.tls). Strings NULL when
 * unknown. */
struct probe_tls {
	gboolean enabled; /* SSLStartMode was not None */
	char *provider;	  /* "gnutls", "openssl" */
	char *version;	  /* SSLNegotiatedVersion */
	char *cipher;	  /* SSLNegotiatedCipherSuite (IANA) */
	/* From the SSLServerAuthentication event, as it arrived: verified is
	 * the library's verdict before --insecure overrode it. */
	gboolean event_seen;
	char *cert_subject;
	char *cert_issuer;
	gboolean verified;
	char *status;
	gboolean overridden; /* --insecure turned a refusal into accept */
};

/* A certificate of the --cert store (spop_list_certificates). */
struct probe_cert {
	char *subject;
	char *issuer;
	char *serial; /* upper-case hex */
	gboolean has_key;
};

struct probe_result {
	char *greeting;
	GPtrArray *capabilities; /* of char * */
	struct probe_tls tls;
	gboolean auth_ok;
	char *auth_used;	 /* the mechanism the library ran, or NULL */
	gboolean auth_plaintext; /* it sent a reusable secret without TLS */
	gboolean have_mailbox;
	int count;
	int64_t total_size;
	GPtrArray *messages;   /* of struct probe_message *, by number */
	GHashTable *by_number; /* number -> struct probe_message * */
	int deleted;	       /* message number, 0 for none */
	gboolean plugins_listed;
	GPtrArray *plugins; /* of struct probe_plugin * */
	gboolean certs_listed;
	gboolean certs_failed; /* the store could not be read */
	GPtrArray *certs;      /* of struct probe_cert *, in store order */
	GPtrArray *errors;     /* of struct probe_error *, first first */
	/* SignerCertEncoded as the options made it, restored before each
	 * S/MIME method: a verification leaves its signer there. */
	gboolean smime_signer_saved;
	GBytes *smime_signer; /* NULL: none */
};

/* session.c */
void probe_result_init(struct probe_result *r);
void probe_result_clear(struct probe_result *r);
void probe_run(const struct probe_options *o, struct probe_result *r);

/* session.c */
struct probe_message *probe_message_for(struct probe_result *r, int number);
void probe_message_collect(struct probe_message *m, spop_t *s);
int probe_config_set(spop_t *s, const char *name, const char *value);

/* smime.c */
/* The SPOP_SMIME_TRUST_* bits by name ("expired", ...) and in words. */
struct probe_trust_failure {
	unsigned bit;
	const char *name;
	const char *text;
};
extern const struct probe_trust_failure probe_trust_failures[];
extern const size_t probe_trust_failure_count;
gboolean probe_smime_wanted(const struct probe_options *o);
int probe_smime_configure(const struct probe_options *o, spop_t *s);
void probe_smime_message(const struct probe_options *o, struct probe_result *r,
			 spop_t *s, struct probe_message *m);
void probe_smime_file(const struct probe_options *o, struct probe_result *r,
		      spop_t *s);
void probe_smime_free(struct probe_smime *sm);
void probe_add_error(struct probe_result *r, int code, const char *message);
void probe_library_error(struct probe_result *r, spop_t *s, int code);
char *probe_dup_or_null(const char *text);

/* report.c */
void probe_report_json(const struct probe_options *o,
		       const struct probe_result *r);
void probe_report_text(const struct probe_options *o,
		       const struct probe_result *r);

#endif
