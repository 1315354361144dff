/** @file
 * libspop public API: a POP3 client (RFC 1939, RFC 2449) with S/MIME.
 *
 * Names follow the SPOP class reference: property Foo -> spop_get_foo() /
 * spop_set_foo(); method Foo -> spop_foo(). Every property and Config
 * setting is also reachable by its seed name through spop_config().
 *
 * Conventions:
 *  - Functions returning int return 0 or the reference's error code; the
 *    message naming what failed is spop_last_error(), the code
 *    spop_last_error_code(), and the Error event fires too.
 *  - Getters and setters leave the last error alone when they succeed; a
 *    failing setter sets it. MessageSize, MessageUID, MessageText and
 *    MessageHeadersString may ask the server (the reference's caching rule)
 *    and then set it like a method; Query* return 0 / "" without an error
 *    when not connected. A failing getter still defines its
 *    out-parameters ("" / 0).
 *  - Returned strings are UTF-8, owned by the object, valid until the next
 *    call on it that changes that value.
 *  - One spop_t is used by one thread at a time; spop_interrupt() is the
 *    exception: safe from any thread and from inside an event, and it
 *    reaches only the method running at that moment, never a later one.
 *    It must not race spop_free() (the object is gone).
 *  - Calling a method from inside an event returns 174 (busy).
 *
 * Where a getter and a setter are documented together, the setter returns
 * 0 or an error code (1211 for a value out of range, 100/101 for a
 * connection setting changed while connected), and booleans are ints that
 * read 0 or 1.
 */
#ifndef SPOP_SPOP_H
#define SPOP_SPOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "errors.h" /* enum spop_error: SPOP_ERR_* */

#ifdef __cplusplus
extern "C" {
#endif

/** Major version of the headers (the library's soname follows its ABI). */
#define SPOP_VERSION_MAJOR 0
/** Minor version of the headers. */
#define SPOP_VERSION_MINOR 1
/** Micro version of the headers. */
#define SPOP_VERSION_MICRO 0

/** One POP3 client object (the reference's SPOP class instance): its
 * properties, its connection and the last message retrieved. Opaque; made
 * by spop_new(), freed by spop_free(). */
typedef struct spop spop_t;

/** Returns the reference's short text for an error code ("Timeout."). */
const char *spop_error_text(int code);

/* ---- lifecycle and errors --------------------------------------------- */
/** Creates an object with the reference's defaults (MailPort 110, Timeout
 * 60, ...). Never NULL: like GLib, the library aborts when memory runs
 * out. */
spop_t *spop_new(void);
/** Closes without QUIT (the server rolls back deletions) and frees s. Called
 * from inside an event handler it is refused (174 in the last error and a
 * warning): free the object after the method returns. */
void spop_free(spop_t *s);
/** The code of the last failure on s (0 after a success that cleared it). */
int spop_last_error_code(const spop_t *s);
/** The message of the last failure on s, naming what failed and with what
 * input (host, port, setting, server reply); "" when there is none. */
const char *spop_last_error(const spop_t *s);

/* ---- events --------------------------------------------------------------
 * Parameter structs mirror the reference's event parameters. A callback
 * may call spop_interrupt() and getters; a method call returns 174. */
/** ConnectionStatus: progress of the connection ("Remote host connection
 * complete", "SSL handshake complete", ...). */
struct spop_connection_status_event {
	const char *connection_event; /**< what happened */
	int status_code;	      /**< 0, or the error code of a failure */
	const char *description;      /**< the status in words */
};
/** EndTransfer: a message (or a command's multi-line answer) ended. */
struct spop_end_transfer_event {
	int direction; /**< 1: from the server */
};
/** Error: a method failed (the same code and text as spop_last_error()). */
struct spop_error_event {
	int error_code;		 /**< the error code */
	const char *description; /**< what failed */
};
/** Header: one header line of the message being retrieved. */
struct spop_header_event {
	const char *field; /**< "" for a continuation line */
	const char *value; /**< the value, unfolded as received */
};
/** MessageList: one line of a LIST or UIDL answer. */
struct spop_message_list_event {
	int message_number;	 /**< the message's number */
	const char *message_uid; /**< "" for ListMessageSizes */
	int64_t message_size;	 /**< 0 for ListMessageUIDs */
};
/** PITrail: the protocol trace (passwords masked with MaskSensitive). */
struct spop_pitrail_event {
	int direction;	     /**< 0 client, 1 server, 2 info */
	const char *message; /**< a command, a reply or an info line */
};
/** StartTransfer: a message (or multi-line answer) begins. */
struct spop_start_transfer_event {
	int direction; /**< 1: from the server */
};
/** Transfer: a piece of the message being retrieved. */
struct spop_transfer_event {
	int direction;		   /**< 1: from the server */
	int64_t bytes_transferred; /**< from the start, headers included */
	int percent_done;	   /**< -1 unless GetMessageSize is true */
	const char *text;	   /**< a line without CRLF, or a piece */
	size_t text_len;	   /**< bytes in text */
	int eol; /**< 0 when text is a piece of a longer line */
};

/** SSLServerAuthentication: fired once per handshake, after the provider
 * checked the server's certificate and SSLSecurityFlags and
 * SSLAcceptServerCertEncoded were applied. accept is the verdict so far
 * (status "OK" when it is 1); the handler may change it, and a certificate
 * left refused ends the connection with 280 before anything else is sent. */
struct spop_ssl_server_authentication_event {
	const char *cert_encoded; /**< PEM: the leaf certificate, or the chain
				     as sent (leaf first) with Config
				     SSLIncludeCertChain */
	size_t cert_encoded_len;  /**< bytes in cert_encoded */
	const char *cert_subject; /**< "CN=pop.example.org, O=Example, C=DE" */
	const char *cert_issuer;  /**< the issuer, in the same form */
	const char *status;	  /**< "OK", or why the check failed */
	int accept;		  /**< in and out: 1 accepts the certificate */
};
/** SSLStatus: progress of the secure connection, for logs. */
struct spop_ssl_status_event {
	const char *message; /**< a sentence about the TLS session */
};

/** Handler of ConnectionStatus; ud is what spop_on_connection_status()
 * was given. */
typedef void (*spop_connection_status_cb)(
    spop_t *s, const struct spop_connection_status_event *e, void *ud);
/** Handler of EndTransfer. */
typedef void (*spop_end_transfer_cb)(spop_t *s,
				     const struct spop_end_transfer_event *e,
				     void *ud);
/** Handler of Error. */
typedef void (*spop_error_cb)(spop_t *s, const struct spop_error_event *e,
			      void *ud);
/** Handler of Header. */
typedef void (*spop_header_cb)(spop_t *s, const struct spop_header_event *e,
			       void *ud);
/** Handler of MessageList. */
typedef void (*spop_message_list_cb)(spop_t *s,
				     const struct spop_message_list_event *e,
				     void *ud);
/** Handler of PITrail. */
typedef void (*spop_pitrail_cb)(spop_t *s, const struct spop_pitrail_event *e,
				void *ud);
/** Handler of StartTransfer. */
typedef void (*spop_start_transfer_cb)(
    spop_t *s, const struct spop_start_transfer_event *e, void *ud);
/** Handler of Transfer. */
typedef void (*spop_transfer_cb)(spop_t *s, const struct spop_transfer_event *e,
				 void *ud);
/** Handler of SSLServerAuthentication; it may change e->accept. */
typedef void (*spop_ssl_server_authentication_cb)(
    spop_t *s, struct spop_ssl_server_authentication_event *e, void *ud);
/** Handler of SSLStatus. */
typedef void (*spop_ssl_status_cb)(spop_t *s,
				   const struct spop_ssl_status_event *e,
				   void *ud);

/** @{ */
/** Registers (or with cb NULL removes) the one handler of each event. */
void spop_on_connection_status(spop_t *s, spop_connection_status_cb cb,
			       void *ud);
void spop_on_end_transfer(spop_t *s, spop_end_transfer_cb cb, void *ud);
void spop_on_error(spop_t *s, spop_error_cb cb, void *ud);
void spop_on_header(spop_t *s, spop_header_cb cb, void *ud);
void spop_on_message_list(spop_t *s, spop_message_list_cb cb, void *ud);
void spop_on_pitrail(spop_t *s, spop_pitrail_cb cb, void *ud);
void spop_on_start_transfer(spop_t *s, spop_start_transfer_cb cb, void *ud);
void spop_on_transfer(spop_t *s, spop_transfer_cb cb, void *ud);
void spop_on_ssl_server_authentication(spop_t *s,
				       spop_ssl_server_authentication_cb cb,
				       void *ud);
void spop_on_ssl_status(spop_t *s, spop_ssl_status_cb cb, void *ud);
/** @} */

/* ---- properties --------------------------------------------------------- */
/** AuthMechanism values (the reference's). Config AuthMechanismName
 * chooses any auth plugin by name instead. */
enum spop_auth_mechanism {
	SPOP_AM_USER_PASSWORD = 0,  /**< USER/PASS (plugin "user") */
	SPOP_AM_CRAMMD5 = 1,	    /**< CRAM-MD5 (RFC 2195) */
	SPOP_AM_NTLM = 2,	    /**< NTLMv2 */
	SPOP_AM_APOP = 3,	    /**< APOP (RFC 1939) */
	SPOP_AM_SASLPLAIN = 4,	    /**< SASL PLAIN (RFC 4616) */
	SPOP_AM_SASLDIGEST_MD5 = 5, /**< SASL DIGEST-MD5 (RFC 2831) */
	SPOP_AM_KERBEROS = 6,	    /**< SASL GSSAPI (Kerberos) */
	SPOP_AM_XOAUTH2 = 7,	    /**< SASL XOAUTH2 (Password: the token) */
};
/** MessageRecipientType values. */
enum spop_recipient_type {
	SPOP_RT_TO = 0,	 /**< a To address */
	SPOP_RT_CC = 1,	 /**< a Cc address */
	SPOP_RT_BCC = 2, /**< a Bcc address */
};
/** FirewallType values (Config "FirewallType=N"): the transport plugin
 * serving the value carries the connection. */
enum spop_firewall_type {
	SPOP_FW_NONE = 0,     /**< a direct connection */
	SPOP_FW_TUNNEL = 1,   /**< HTTP CONNECT */
	SPOP_FW_SOCKS4 = 2,   /**< SOCKS4 */
	SPOP_FW_SOCKS5 = 3,   /**< SOCKS5 (RFC 1928) */
	SPOP_FW_SOCKS4A = 10, /**< SOCKS4A */
};
/** SSLStartMode values. Automatic: STLS on port 110, TLS right after the
 * connect on any other port. Explicit never falls back to plaintext. */
enum spop_ssl_start_mode {
	SPOP_SSL_AUTOMATIC = 0, /**< by the port, as above */
	SPOP_SSL_IMPLICIT = 1,	/**< TLS from the first byte (port 995) */
	SPOP_SSL_EXPLICIT = 2,	/**< STLS (RFC 2595), required */
	SPOP_SSL_NONE = 3,	/**< no TLS */
};
/** SSLProvider values: the TLS provider plugin serving the value is used
 * (Automatic and Internal: gnutls; Platform: openssl). */
enum spop_ssl_provider {
	SPOP_SSLP_AUTOMATIC = 0, /**< the internal provider (gnutls) */
	SPOP_SSLP_PLATFORM = 1,	 /**< OpenSSL (openssl) */
	SPOP_SSLP_INTERNAL = 2,	 /**< GnuTLS (gnutls) */
};

/** SSLCertStoreType (and later CertStoreType, SignerCertStoreType) values:
 * the cert-store plugin serving the value opens the store. A *Blob type
 * takes the store itself in *CertStore, a *File type its file name. Types
 * no plugin here serves fail with 1212. */
enum spop_cert_store_type {
	SPOP_CST_USER = 0,	  /**< the user's directory store (dirstore) */
	SPOP_CST_MACHINE = 1,	  /**< the machine's directory store */
	SPOP_CST_PFXFILE = 2,	  /**< PKCS#12 file */
	SPOP_CST_PFXBLOB = 3,	  /**< PKCS#12 data */
	SPOP_CST_JKSFILE = 4,	  /**< Java key store file (1212 here) */
	SPOP_CST_JKSBLOB = 5,	  /**< Java key store data (1212 here) */
	SPOP_CST_PEMKEY_FILE = 6, /**< PEM file: key and certificates */
	SPOP_CST_PEMKEY_BLOB = 7, /**< PEM data: key and certificates */
	SPOP_CST_PUBLIC_KEY_FILE = 8,	  /**< certificate file, PEM or DER */
	SPOP_CST_PUBLIC_KEY_BLOB = 9,	  /**< certificate data, PEM or DER */
	SPOP_CST_SSHPUBLIC_KEY_BLOB = 10, /**< SSH public key data (1212) */
	SPOP_CST_P7BFILE = 11,		  /**< PKCS#7 certificate bundle file */
	SPOP_CST_P7BBLOB = 12,		  /**< PKCS#7 certificate bundle data */
	SPOP_CST_SSHPUBLIC_KEY_FILE = 13, /**< SSH public key file (1212) */
	SPOP_CST_PPKFILE = 14,		  /**< PuTTY key file (1212) */
	SPOP_CST_PPKBLOB = 15,		  /**< PuTTY key data (1212) */
	SPOP_CST_XMLFILE = 16,		  /**< .NET XML key file (1212) */
	SPOP_CST_XMLBLOB = 17,		  /**< .NET XML key data (1212) */
	SPOP_CST_JWKFILE = 18,		  /**< JSON Web Key file */
	SPOP_CST_JWKBLOB = 19,		  /**< JSON Web Key data */
	SPOP_CST_SECURITY_KEY = 20,	  /**< security key (1212) */
	SPOP_CST_BCFKSFILE = 21, /**< Bouncy Castle FIPS store file (1212) */
	SPOP_CST_BCFKSBLOB = 22, /**< Bouncy Castle FIPS store data (1212) */
	SPOP_CST_PKCS11 = 23,	 /**< a PKCS#11 token (module path or URI) */
	SPOP_CST_AUTO = 99,	 /**< guessed from the data */
};

/** @{ */
/** AuthMechanism: how Connect logs in (enum spop_auth_mechanism; default
 * 0, USER/PASS). */
int spop_get_auth_mechanism(spop_t *s);
int spop_set_auth_mechanism(spop_t *s, int value);
/** @} */
/** Command: sends a command line to the server, as spop_send_command(). */
int spop_set_command(spop_t *s, const char *command); /* = SendCommand */
/** @{ */
/** Connected: whether the object is connected (in the transaction state).
 * Setting 1 is spop_connect() (0 when already connected), 0
 * spop_disconnect(). */
int spop_get_connected(spop_t *s);
int spop_set_connected(spop_t *s, int connected); /* Connect/Disconnect */
/** @} */
/** Idle: 0 while a method runs (is waiting for the server), else 1. */
int spop_get_idle(spop_t *s);
/** @{ */
/** IncludeHeaders: whether MessageText and LocalFile get the headers
 * before the body (default 0). */
int spop_get_include_headers(spop_t *s);
int spop_set_include_headers(spop_t *s, int value);
/** @} */
/** LastReply: the server's last status line. */
const char *spop_get_last_reply(spop_t *s);
/** @{ */
/** LocalHost: the local address connections are made from ("" for any);
 * while connected, the getter reads the address actually bound. */
const char *spop_get_local_host(spop_t *s);
int spop_set_local_host(spop_t *s, const char *value);
/** @} */
/** @{ */
/** LocalFile: the reference names it (IncludeHeaders, MaxLines,
 * SetMessageStream) without a property entry; it is the file a retrieved
 * message is written to, atomically. Setting it clears the message stream. */
const char *spop_get_local_file(spop_t *s);
int spop_set_local_file(spop_t *s, const char *path);
/** @} */
/** @{ */
/** MailPort: the server's TCP port (default 110; 995 for implicit TLS).
 * Connect fails with 116 while it is 0; changing it while connected fails
 * with 100. */
int spop_get_mail_port(spop_t *s);
int spop_set_mail_port(spop_t *s, int value);
/** @} */
/** @{ */
/** MailServer: the server's name or address; "*name" lets a SOCKS4A or
 * SOCKS5 proxy resolve it. Changing it while connected fails with 101. */
const char *spop_get_mail_server(spop_t *s);
int spop_set_mail_server(spop_t *s, const char *value);
/** @} */
/** @{ */
/** MaxLines: body lines Retrieve asks for (TOP n MaxLines); 0 (default)
 * retrieves the whole message. */
int spop_get_max_lines(spop_t *s);
int spop_set_max_lines(spop_t *s, int value);
/** @} */
/** Message: raw message (dot-unstuffed, CRLF line ends) of the last
 * Retrieve, up to Config MessageMemoryLimit bytes. */
int spop_get_message(spop_t *s, const char **data, size_t *len);
/** MessageCc: the Cc header of the last message retrieved. */
const char *spop_get_message_cc(spop_t *s);
/** MessageCount: messages in the mailbox, from STAT at Connect. */
int spop_get_message_count(spop_t *s);
/** MessageDate: the Date header of the last message retrieved. */
const char *spop_get_message_date(spop_t *s);
/** MessageEncrypted: 1 when the last message is S/MIME enveloped data. */
int spop_get_message_encrypted(spop_t *s);
/** MessageFrom: the From header of the last message retrieved. */
const char *spop_get_message_from(spop_t *s);
/** MessageHeaderCount: the headers of the last message retrieved. */
int spop_get_message_header_count(spop_t *s);
/** MessageHeaderField: the name of header index (0-based), as received. */
const char *spop_get_message_header_field(spop_t *s, int index);
/** MessageHeaderValue: the value of header index (0-based), unfolded. */
const char *spop_get_message_header_value(spop_t *s, int index);
/** MessageHeadersString: the headers of the current message as received;
 * retrieves them (TOP n 0) when the last message is another one. */
const char *spop_get_message_headers_string(spop_t *s);
/** @{ */
/** MessageNumber: the message the methods act on, 1 to MessageCount;
 * 1211 outside that range. */
int spop_get_message_number(spop_t *s);
int spop_set_message_number(spop_t *s, int value);
/** @} */
/** MessageRecipientCount: the To, Cc and Bcc addresses of the last
 * message. */
int spop_get_message_recipient_count(spop_t *s);
/** MessageRecipientAddress: the e-mail address of recipient index. */
const char *spop_get_message_recipient_address(spop_t *s, int index);
/** MessageRecipientName: the display name of recipient index. */
const char *spop_get_message_recipient_name(spop_t *s, int index);
/** MessageRecipientOptions: the reference's SMTP options of recipient
 * index; always "" when reading mail. */
const char *spop_get_message_recipient_options(spop_t *s, int index);
/** MessageRecipientType: enum spop_recipient_type of recipient index. */
int spop_get_message_recipient_type(spop_t *s, int index);
/** MessageReplyTo: the Reply-To header of the last message retrieved. */
const char *spop_get_message_reply_to(spop_t *s);
/** MessageSigned: 1 when the last message is S/MIME signed. */
int spop_get_message_signed(spop_t *s);
/** MessageSize: the size of message MessageNumber as LIST reports it
 * (asks the server when not yet known; 0 on failure). */
int64_t spop_get_message_size(spop_t *s);
/** MessageSubject: the Subject of the last message (RFC 2047 decoded
 * with Config AutoDecodeSubject). */
const char *spop_get_message_subject(spop_t *s);
/** MessageText: the body of the last message (headers first with
 * IncludeHeaders), up to MaxLines lines; retrieves message
 * MessageNumber when the last message is another one. */
int spop_get_message_text(spop_t *s, const char **data, size_t *len);
/** MessageTo: the To header of the last message retrieved. */
const char *spop_get_message_to(spop_t *s);
/** MessageUID: the UIDL of message MessageNumber (asks the server when
 * not yet known; "" on failure). */
const char *spop_get_message_uid(spop_t *s);
/** @{ */
/** Password: the login's password (or bearer token for XOAUTH2 and
 * OAUTHBEARER); never shown in the trail. */
const char *spop_get_password(spop_t *s);
int spop_set_password(spop_t *s, const char *value);
/** @} */
/** @{ */
/** SSLEnabled reads True unless SSLStartMode is None; setting it True picks
 * Automatic when the mode was None, False sets None. */
int spop_get_ssl_enabled(spop_t *s);
int spop_set_ssl_enabled(spop_t *s, int value);
/** @} */
/* Certificates are "Binary String" properties: setters take PEM, bare
 * base64 or DER (len bytes); getters give PEM text. */
/** @{ */
/** SSLAcceptServerCertEncoded pins the server certificate: that one is
 * accepted whatever its chain and name say, any other is refused. */
int spop_get_ssl_accept_server_cert_encoded(spop_t *s, const char **data,
					    size_t *len);
int spop_set_ssl_accept_server_cert_encoded(spop_t *s, const char *data,
					    size_t len);
/** @} */
/** @{ */
/** The client certificate (SSLCert*). Set the store, its type and password
 * first, then SSLCertSubject or SSLCertEncoded: that searches the store
 * (the reference's order: exact subject, then a subject containing the
 * text; "*" takes the first certificate with a private key) and sets
 * SSLCertSubject to the full subject found, or "" with 272. */
int spop_get_ssl_cert_encoded(spop_t *s, const char **data, size_t *len);
int spop_set_ssl_cert_encoded(spop_t *s, const char *data, size_t len);
/** @} */
/** @{ */
/** SSLCertStore: a file name, or the store itself for a *Blob type. */
int spop_get_ssl_cert_store(spop_t *s, const char **data, size_t *len);
int spop_set_ssl_cert_store(spop_t *s, const char *data, size_t len);
/** @} */
/** @{ */
/** SSLCertStorePassword: the password (or PIN) that opens SSLCertStore. */
const char *spop_get_ssl_cert_store_password(spop_t *s);
int spop_set_ssl_cert_store_password(spop_t *s, const char *value);
/** @} */
/** @{ */
/** SSLCertStoreType: enum spop_cert_store_type of SSLCertStore. */
int spop_get_ssl_cert_store_type(spop_t *s);
int spop_set_ssl_cert_store_type(spop_t *s, int value);
/** @} */
/** @{ */
/** SSLCertSubject: chooses the client certificate in SSLCertStore (see
 * spop_set_ssl_cert_encoded()); reads the full subject found. */
const char *spop_get_ssl_cert_subject(spop_t *s);
int spop_set_ssl_cert_subject(spop_t *s, const char *value);
/** @} */
/* Cert* (the certificate and key that decrypt S/MIME messages) and
 * SignerCert* (the certificate a signature is verified with) work as
 * SSLCert* above; SignerCertSubject "*" takes the first certificate, with
 * or without a key. SignerCertIssuer and SignerCertSerialNumber (upper-case
 * hex) describe the SignerCert chosen. */
/** @{ */
/** CertEncoded: the certificate whose key decrypts S/MIME messages; as
 * spop_set_ssl_cert_encoded() for the Cert* group. */
int spop_get_cert_encoded(spop_t *s, const char **data, size_t *len);
int spop_set_cert_encoded(spop_t *s, const char *data, size_t len);
/** @} */
/** @{ */
/** CertStore: the store of the decryption key, a file name or the store
 * itself for a *Blob type. */
int spop_get_cert_store(spop_t *s, const char **data, size_t *len);
int spop_set_cert_store(spop_t *s, const char *data, size_t len);
/** @} */
/** @{ */
/** CertStorePassword: the password (or PIN) that opens CertStore. */
const char *spop_get_cert_store_password(spop_t *s);
int spop_set_cert_store_password(spop_t *s, const char *value);
/** @} */
/** @{ */
/** CertStoreType: enum spop_cert_store_type of CertStore. */
int spop_get_cert_store_type(spop_t *s);
int spop_set_cert_store_type(spop_t *s, int value);
/** @} */
/** @{ */
/** CertSubject: chooses the decryption certificate in CertStore (exact
 * subject, then one containing the text; "*" the first with a key);
 * reads the full subject found, or "" with 272. */
const char *spop_get_cert_subject(spop_t *s);
int spop_set_cert_subject(spop_t *s, const char *value);
/** @} */
/** @{ */
/** SignerCertEncoded: the certificate a signature is verified with when
 * the message carries none; after a verification, the signer's. */
int spop_get_signer_cert_encoded(spop_t *s, const char **data, size_t *len);
int spop_set_signer_cert_encoded(spop_t *s, const char *data, size_t len);
/** @} */
/** SignerCertIssuer: the issuer of the SignerCert chosen. */
const char *spop_get_signer_cert_issuer(spop_t *s);
/** SignerCertSerialNumber: its serial number (upper-case hex). */
const char *spop_get_signer_cert_serial_number(spop_t *s);
/** @{ */
/** SignerCertStore: the store SignerCertSubject chooses from. */
int spop_get_signer_cert_store(spop_t *s, const char **data, size_t *len);
int spop_set_signer_cert_store(spop_t *s, const char *data, size_t len);
/** @} */
/** @{ */
/** SignerCertStorePassword: the password that opens SignerCertStore. */
const char *spop_get_signer_cert_store_password(spop_t *s);
int spop_set_signer_cert_store_password(spop_t *s, const char *value);
/** @} */
/** @{ */
/** SignerCertStoreType: enum spop_cert_store_type of SignerCertStore. */
int spop_get_signer_cert_store_type(spop_t *s);
int spop_set_signer_cert_store_type(spop_t *s, int value);
/** @} */
/** @{ */
/** SignerCertSubject: chooses the signer certificate in SignerCertStore
 * ("*" the first certificate, with or without a key). */
const char *spop_get_signer_cert_subject(spop_t *s);
int spop_set_signer_cert_subject(spop_t *s, const char *value);
/** @} */

/** SignerCertChain: after VerifySignature, the certificates the message
 * carried (PEM), in the message's order. This is their count. */
int spop_get_signer_cert_chain_count(spop_t *s);
/** SignerCertChainEncoded: certificate index (0-based) of that chain. */
int spop_get_signer_cert_chain_encoded(spop_t *s, int index, const char **data,
				       size_t *len);
/** @{ */
/** SigningAlgorithm: set by name ("sha1", "md5", "sha-256", "sha-384",
 * "sha-512", "sha-224"; "SHA256" style too) or dotted OID; read as the OID
 * ("" when unknown). After VerifySignature it is the first signer's digest.
 * libspop does not sign: the setter only records the choice. */
const char *spop_get_signing_algorithm(spop_t *s);
int spop_set_signing_algorithm(spop_t *s, const char *value);
/** @} */

/** What a certificate store holds (libspop's own; the reference has a
 * separate CertMgr class for it). */
struct spop_cert_info {
	size_t size; /**< sizeof(struct spop_cert_info) of the library */
	const char *subject;	   /**< "CN=alice, O=Example, C=DE" */
	const char *issuer;	   /**< the issuer, in the same form */
	const char *serial_number; /**< upper-case hex */
	const char *encoded;	   /**< PEM */
	size_t encoded_len;	   /**< bytes in encoded */
	int has_private_key;	   /**< 1 when the store holds its key */
};
/** Called by spop_list_certificates() for each certificate. */
typedef void (*spop_cert_list_cb)(const struct spop_cert_info *info, void *ud);
/** Lists the store that group's properties name ("SSLCert", "Cert" or
 * "SignerCert": its StoreType, Store and StorePassword), in store order,
 * without connecting. 0, 1211 for an unknown group, or the store's error
 * (271 cannot open, 273 password or PIN, 1201/1212 type). */
int spop_list_certificates(spop_t *s, const char *group, spop_cert_list_cb cb,
			   void *ud);

/** SSLServerCertEncoded: the server's certificate of the current (or
 * last) TLS session. */
int spop_get_ssl_server_cert_encoded(spop_t *s, const char **data, size_t *len);
/** @{ */
/** SSLProvider: enum spop_ssl_provider, the TLS provider plugin used. */
int spop_get_ssl_provider(spop_t *s);
int spop_set_ssl_provider(spop_t *s, int value);
/** @} */
/** @{ */
/** SSLStartMode: enum spop_ssl_start_mode (default Automatic). */
int spop_get_ssl_start_mode(spop_t *s);
int spop_set_ssl_start_mode(spop_t *s, int value);
/** @} */
/** @{ */
/** Timeout: seconds a method waits for the server without progress
 * before it fails with 301 (default 60). */
int spop_get_timeout(spop_t *s);
int spop_set_timeout(spop_t *s, int seconds);
/** @} */
/** TotalSize: the mailbox's size in octets, from STAT at Connect. */
int64_t spop_get_total_size(spop_t *s);
/** @{ */
/** User: the login name. */
const char *spop_get_user(spop_t *s);
int spop_set_user(spop_t *s, const char *value);
/** @} */

/** The server's CAPA answer (RFC 2449) of the current connection: one entry
 * per capability line, e.g. "SASL PLAIN CRAM-MD5". This is their count. */
int spop_get_capability_count(spop_t *s);
/** Capability line index (0-based) of the CAPA answer. */
const char *spop_get_capability(spop_t *s, int index);
/** The server's greeting line of the current connection. */
const char *spop_get_greeting(spop_t *s);

/* ---- streams ------------------------------------------------------------ */
/** Mirrors the reference's stream type. Unused slots may be NULL (then the
 * capability is false). Return values as the reference describes: write
 * returns bytes written or -1; flush 0 or -1; seek the new position or -1.
 * A retrieve writes through write() and calls flush() at the end of each
 * message: a failure of either fails that message with 302. */
struct spop_stream {
	size_t size;			  /**< sizeof(struct spop_stream) */
	void *user_data;		  /**< passed to every function below */
	int (*can_read)(void *user_data); /**< 1 when read() works */
	int (*can_seek)(void *user_data); /**< 1 when seek() works */
	int (*can_write)(void *user_data);  /**< 1 when write() works */
	int64_t (*length)(void *user_data); /**< length in bytes, or -1 */
	void (*close)(void *user_data);	    /**< releases the stream */
	int (*flush)(void *user_data);	    /**< 0, or -1 on failure */
	/** reads up to count bytes: bytes read, 0 at the end, -1 */
	ssize_t (*read)(void *user_data, void *buffer, size_t count);
	/** moves to offset from origin (0 start, 1 current, 2 end) */
	int64_t (*seek)(void *user_data, int64_t offset, int origin);
	/** writes count bytes: bytes written, or -1 */
	ssize_t (*write)(void *user_data, const void *buffer, size_t count);
};

/** SetMessageStream: retrieved messages go to stream (copied struct)
 * instead of LocalFile; NULL clears it. Closed after the transfer if
 * Config CloseStreamAfterTransfer. */
int spop_set_message_stream(spop_t *s, const struct spop_stream *stream);

/* ---- methods ---------------------------------------------------------- */
/** CheckMessageEncrypted: 1 when the last message is S/MIME enveloped,
 * else 0 (the error code is apart, in spop_last_error_code()). */
int spop_check_message_encrypted(spop_t *s); /* 1/0; error code aside */
/** CheckMessageSigned: 1 when the last message is S/MIME signed, else 0. */
int spop_check_message_signed(spop_t *s);
/** Config: "Name=Value" sets and returns ""; "Name" returns the value. Names
 * are the reference's property and Config setting names, in any case, plus
 * settings declared by plugins on the search path (spop_list_settings()).
 * An array element is named as the reference writes one, with its 0-based
 * index in parentheses: "MessageHeaderField(2)", "MessageRecipientType(0)"
 * ("Name[2]" is accepted too). Booleans read back "True" or "False".
 * Message and MessageText come back up to their first NUL byte; use
 * spop_get_message() and spop_get_message_text() for binary content.
 * NULL on error: 1210 for a name the reference does not have, 1212 for one
 * whose feature (TLS, certificate stores, S/MIME) is not in this build
 * yet, 1211 for a bad value or index, a read-only or write-only name. */
const char *spop_config(spop_t *s, const char *configuration);
/** Connect: connects to MailServer:MailPort (through the proxy and TLS
 * asked for), logs in, and reads STAT (MessageCount, TotalSize). */
int spop_connect(spop_t *s);
/** Delete: marks message MessageNumber deleted (DELE); the server removes
 * it at spop_disconnect() (QUIT), never before. */
int spop_delete(spop_t *s);
/** Disconnect: sends QUIT, which commits this session's deletions, and
 * closes the connection. */
int spop_disconnect(spop_t *s);
/** DoEvents: checks the idle connection (a server that closed it, or sent
 * what no command asked for: 171 and the connection is dropped). Events
 * fire inside the methods, so nothing else is queued. */
int spop_do_events(spop_t *s);
/** Interrupt: makes the method running on s (in another thread or in an
 * event) fail with 10004; safe from any thread. A method interrupted
 * mid-reply drops the connection. */
int spop_interrupt(spop_t *s);
/** ListMessageSizes: LIST; one MessageList event per message. */
int spop_list_message_sizes(spop_t *s);
/** ListMessageUIDs: UIDL; one MessageList event per message. */
int spop_list_message_uids(spop_t *s);
/** LocalizeDate: an RFC 822 date as "MM/dd/yyyy HH:mm:ss" in local time,
 * with a 24-hour clock; NULL with 1211 on a bad date. */
const char *spop_localize_date(spop_t *s, const char *date_time);
/** QueryMessageSize: the size of message MessageNumber (LIST n); 0 when
 * not connected or on failure. */
int64_t spop_query_message_size(spop_t *s);
/** QueryMessageUID: the UID of message MessageNumber (UIDL n); "" when
 * not connected or on failure. */
const char *spop_query_message_uid(spop_t *s);
/** QueryTotalSize: STAT again; the mailbox's size, 0 when not connected
 * or on failure. */
int64_t spop_query_total_size(spop_t *s);
/** Reset: RSET, which takes back this session's deletions. */
int spop_reset(spop_t *s);
/** Retrieve: fetches message MessageNumber (RETR, or TOP n MaxLines) into
 * the message properties, and to LocalFile or the message stream; Header,
 * StartTransfer, Transfer and EndTransfer fire. */
int spop_retrieve(spop_t *s);
/** RetrieveHeaders: fetches the headers of message MessageNumber (TOP n
 * 0); Header events fire. */
int spop_retrieve_headers(spop_t *s);
/** SendCommand: sends command (one line, no CRLF) and reads its status
 * line, and a multi-line body when the command has one; LastReply holds
 * the answer and Transfer events carry the body. */
int spop_send_command(spop_t *s, const char *command);

/* ---- batch retrieval (libspop's own, beyond the reference) --------------- */
/** One message of a batch, as prepare, done and deleted see it. */
struct spop_batch_item {
	int message_number;	 /**< 0 for a UID the mailbox does not have */
	const char *message_uid; /**< as UIDL listed it; "" when not known */
	int64_t message_size;	 /**< as LIST listed it; -1 when not known */
	int result;		 /**< done: 0, or the error code for it */
	const char *error;	 /**< done: the message of that error, or "" */
};
/** A batch callback; a non-zero return stops the batch (see
 * spop_retrieve_batch()). */
typedef int (*spop_batch_cb)(spop_t *s, const struct spop_batch_item *item,
			     void *ud);
/** What spop_retrieve_batch() fetches, and its callbacks. */
struct spop_batch {
	/** Which messages, in this order: numbers[0..count) when numbers is
	 * set; else uids[0..count) when uids is set (UIDL is asked when this
	 * session has not listed them); else first..last (0: 1 and
	 * MessageCount), which with both 0 is the whole mailbox. */
	const int *numbers;
	const char *const *uids; /**< UIDs to fetch, or NULL */
	size_t count;		 /**< entries in numbers or uids */
	int first;		 /**< first of the range (0: 1) */
	int last;		 /**< last of the range (0: MessageCount) */
	int headers_only;	 /**< TOP n 0, as RetrieveHeaders */
	int delete_after;	 /**< DELE each message stored without error */
	spop_batch_cb prepare; /**< before a message's reply is read; or NULL */
	spop_batch_cb done;    /**< after it; or NULL */
	spop_batch_cb deleted; /**< when the server answered its DELE (result:
				  0, or the error); or NULL */
	void *user_data;       /**< the ud of every callback */
};
/** Retrieves a set of messages in one call (libspop's own), and with
 * delete_after deletes each one that was stored without error. When the
 * server advertises PIPELINING (RFC 2449) it keeps a window of commands in
 * flight, growing while the connection keeps up, up to Config
 * PipelineWindow (default 128; 0 or 1: one at a time); otherwise one
 * command at a time.
 *
 * Each message goes the way Retrieve takes it (RetrieveHeaders with
 * headers_only; MaxLines applies): MessageNumber is set to it, Header,
 * StartTransfer, Transfer and EndTransfer fire for it, in order, and it is
 * written to LocalFile or the message stream as they are when its body
 * starts, so prepare may set a file per message. done runs after it, with
 * the message properties describing it. Both run as events do (a method
 * called from them answers 174; setters work); a non-zero return from
 * either stops the batch: no further command is sent, the replies already
 * in flight are read and dropped, and that value is returned.
 *
 * Deletions take effect only at QUIT (RFC 1939): a batch sends DELE for a
 * message only after it was stored (after done returned 0), and what it
 * wrote is durable as Config Durability says before it returns; if that
 * fails, it sends RSET, so no message is deleted that is not on disk.
 *
 * With delete_after, deleted reports each DELE's answer; they arrive after
 * later messages' done, as the pipeline reads them.
 *
 * Returns 0 when every message was retrieved (and deleted); else the code
 * of the first message that failed (the batch goes on past a message the
 * server refuses), or of the failure that ended the connection. */
int spop_retrieve_batch(spop_t *s, const struct spop_batch *batch);

/* ---- S/MIME --------------------------------------------------------------
 * Decrypt, VerifySignature and DecryptAndVerifySignature work on Message
 * (the last Retrieve, or what spop_set_message() loaded), through the
 * engine Config SMIMEEngine names (default "cms"). The S/MIME entity may be
 * the whole message or a part of it (found depth-first). On success the
 * unwrapped entity replaces it: Message, MessageText, the headers and the
 * other message properties then describe the result; the outer headers
 * (From, To, Subject, ...) are kept, the outer Content-* headers are
 * replaced by the entity's own.
 *
 * Config: SMIMEEngine (cms, openssl), SMIMEAllowWeakDigests (False: MD5
 * and SHA-1 signatures fail), SMIMETrustedCerts (a PEM file of trust
 * anchors), SMIMEUseSystemTrust (True), SMIMECRLFile (PEM or DER CRLs a
 * signer is checked against). */
/** Decrypt uses Cert* (its private key through the cert-store plugin);
 * every decryption failure is 284 naming the stage, never more. */
int spop_decrypt(spop_t *s);
/** VerifySignature checks every SignerInfo with the certificate the
 * message carries, or SignerCert* when it carries none (272 when neither
 * has it). Its return code is the reference's: 0 when every signature holds
 * over the signed content, whatever the certificate's trust; 280 when one
 * does not (or a weak digest is refused); the trust verdict, the signed
 * part and the From match are reported beside it (spop_get_smime_status).
 * On success SignerCert* describes the (first) signer and SignerCertChain*
 * the certificates the message carried. */
int spop_verify_signature(spop_t *s);
/** DecryptAndVerifySignature unwraps every layer, sign-then-encrypt and
 * encrypt-then-sign nested either way, and reports each signer with its
 * layer. */
int spop_decrypt_and_verify_signature(spop_t *s);

/** libspop: loads a message from elsewhere (a file) as if Retrieve had
 * fetched it, so the message properties and the S/MIME methods work on it
 * without a server. LF line ends become CRLF; capped by
 * MessageMemoryLimit (10040 beyond it). No events are fired. */
int spop_set_message(spop_t *s, const char *data, size_t len);

/* SPOP_SMIME_TRUST_* bits of spop_smime_signer_info.trust_failures */
/** Trust failure: the certificate is expired or not yet valid. */
#define SPOP_SMIME_TRUST_TIME (1u << 0) /* expired or not yet valid */
/** Trust failure: no path to a trust anchor. */
#define SPOP_SMIME_TRUST_UNKNOWN_CA (1u << 1) /* no path to an anchor */
/** Trust failure: the certificate is not for signing mail. */
#define SPOP_SMIME_TRUST_USAGE (1u << 2) /* not for signing mail */
/** Trust failure: revoked by a CRL of Config SMIMECRLFile. */
#define SPOP_SMIME_TRUST_REVOCATION (1u << 3) /* revoked by a given CRL */
/** Trust failure: the chain could not be read. */
#define SPOP_SMIME_TRUST_INVALID (1u << 5) /* chain unreadable */

/** The verdicts of the last S/MIME method (libspop's own; cleared by
 * Retrieve and spop_set_message). An application shows a clean signature
 * only when verified, trusted and from_matches are all 1 and signed_part
 * is "" (the whole message). Grows only at its end. */
struct spop_smime_status {
	size_t size;	    /**< sizeof(struct spop_smime_status) of the
			       caller */
	const char *engine; /**< "cms", "openssl"; "" before any method */
	const char *layers; /**< what was unwrapped, outermost first:
			       "enveloped", "signed", "enveloped,signed" */
	int decrypted;	    /**< an enveloped layer was decrypted */
	int verified;	    /**< at least one signer, and every signature of
			       every signed layer holds */
	int trusted;	    /**< every signer's chain reaches an anchor and
			       is valid at verification time */
	int from_matches;   /**< From's address is an e-mail address (SAN
			       rfc822Name or E=) of every signer */
	int weak;	    /**< a signer used MD5 or SHA-1 */
	const char *signed_part;    /**< MIME path of the (first) signed
				       entity: "" the whole message, "2",
				       "2.1" ...; NULL when nothing was
				       signed */
	const char *encrypted_part; /**< the same for the encrypted entity */
	const char *algorithm;	    /**< content cipher ("AES-256-CBC") */
	const char *key_algorithm;  /**< key transport/agreement ("RSA") */
	int signer_count;	    /**< signers, for spop_get_smime_signer() */
};
/** Fills out (set out->size first) with the verdicts of the last S/MIME
 * method. */
int spop_get_smime_status(spop_t *s, struct spop_smime_status *out);

/** One signer of the last S/MIME method (libspop's own). Grows only at its
 * end. */
struct spop_smime_signer_info {
	size_t size;	  /**< sizeof(struct spop_smime_signer_info) of the
			     caller */
	int layer;	  /**< index into status.layers */
	int signature_ok; /**< its signature holds over the content */
	int trusted;	  /**< its chain reaches an anchor and is valid */
	unsigned trust_failures; /**< SPOP_SMIME_TRUST_* */
	int weak;		 /**< MD5 or SHA-1 */
	int from_matches;    /**< From's address is one of the certificate's */
	const char *status;  /**< the engine's words: "OK", or why not */
	const char *subject; /**< "" without a certificate */
	const char *issuer;  /**< "" without a certificate */
	const char *serial_number; /**< upper-case hex; "" without one */
	const char *emails;  /**< the certificate's addresses, ", "-separated */
	const char *encoded; /**< PEM; "" without a certificate */
	size_t encoded_len;  /**< bytes in encoded */
	const char *digest_algorithm;	 /**< "SHA-256" */
	const char *signature_algorithm; /**< "RSA", "RSA-PSS", "ECDSA" */
	int64_t signing_time; /**< signingTime, seconds since the epoch; 0 */
};
/** Fills out (set out->size first) with the signer at index, from 0 to
 * signer_count - 1; 1211 outside that range. */
int spop_get_smime_signer(spop_t *s, int index,
			  struct spop_smime_signer_info *out);

/* ---- plugins ------------------------------------------------------------ */
/** A plugin found on the search path (Config PluginPath, then
 * SPOP_PLUGIN_PATH, then the install directory), as spop_list_plugins()
 * reports it. Modules that fail to load are listed with error set. */
struct spop_plugin_info {
	int kind;		 /**< enum spop_plugin_kind of plugin.h */
	const char *kind_name;	 /**< "transport", "tls", "auth", ... */
	const char *name;	 /**< the plugin's name ("scram-sha-256") */
	const char *version;	 /**< its implementation version */
	const char *description; /**< one line */
	const char *path;	 /**< the module's file */
	const char *error;	 /**< NULL when loadable */
};
/** Called by spop_list_plugins() for each plugin. */
typedef void (*spop_plugin_list_cb)(const struct spop_plugin_info *info,
				    void *ud);
/** Calls cb for each plugin on the search path (PluginPath, SPOP_PLUGIN_PATH,
 * the install directory), in search order. Unlike choosing a plugin, which
 * reads only the key-files and loads only the chosen module, listing loads
 * every module: only loading tells whether it works (error is then set). */
int spop_list_plugins(spop_t *s, spop_plugin_list_cb cb, void *ud);

/** A Config setting declared by a plugin (plugin.h, struct
 * spop_setting_decl). spop_config() accepts and reads it like the
 * reference's settings once a plugin on the search path declares it. Grows
 * only at its end; size says how much of it this library fills. */
struct spop_setting_info {
	size_t size; /**< sizeof(struct spop_setting_info) of the library */
	const char *name;	   /**< as spop_config() takes it */
	int type;		   /**< 1 string, 2 int, 3 bool (plugin.h) */
	const char *type_name;	   /**< "string", "int", "bool" */
	const char *default_value; /**< "True"/"False" for bool; "********"
				      for a secret with a default */
	const char *description;   /**< one line */
	long long min;		   /**< int only; 0 otherwise */
	long long max;		   /**< int only; 0 otherwise */
	int secret; /**< value never shown in listings or the trail */
	const char *plugin_kind_name; /**< "auth", ... */
	const char *plugin_name;      /**< the plugin that declares it */
};
/** Called by spop_list_settings() for each setting. */
typedef void (*spop_setting_list_cb)(const struct spop_setting_info *info,
				     void *ud);
/** Calls cb for each setting declared by a plugin on the search path (the
 * reference's own settings are documented, not listed). Loads every
 * module, as spop_list_plugins() does. 0, or 1211 without a callback. */
int spop_list_settings(spop_t *s, spop_setting_list_cb cb, void *ud);

#ifdef __cplusplus
}
#endif

#endif /* SPOP_SPOP_H */
