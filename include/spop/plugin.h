/** @file
 * libspop plugin SDK: the only header a plugin sees.
 *
 * This file is the specification of the plugin ABI. A plugin is one shared
 * module exporting one symbol, SPOP_PLUGIN_ENTRY_SYMBOL, which returns a
 * const descriptor. The core hands each call a struct spop_host: the
 * host-services table through which a plugin reads settings, waits on its
 * socket, talks to the POP3 server, logs and reports errors. No GLib type and
 * no framework header crosses this boundary.
 *
 * Compatibility rules (never broken within one ABI major):
 *  - every struct here carries a size and only grows at its end;
 *  - enum values and error codes are never renumbered; 0 is never a kind;
 *  - a member added in minor N is documented "since 1.N"; before using it a
 *    plugin checks host->size (or the core checks ops->size) covers it.
 *  - A plugin built for 1.N needs a core of at least 1.N: the core refuses
 *    a newer minor with 1202, naming both versions, so a plugin never meets
 *    a core that lacks what its headers promised. A core of 1.N loads
 *    plugins of 1.0 to 1.N, and reads a member added in 1.M only from a
 *    plugin of 1.M or later whose size covers it (SPOP_OPS_HAS).
 *
 * Files: a plugin is spop-KIND-NAME.so (KIND: transport, tls, auth,
 * certstore, smime; NAME: [a-z0-9-]+, matched case-insensitively, so
 * AuthMechanismName=SCRAM-SHA-256 finds spop-auth-scram-sha-256.so), in a
 * directory of the search path (Config PluginPath, SPOP_PLUGIN_PATH, then
 * the install's pluginsdir of spop-plugin.pc). Beside it goes its key-file
 * spop-KIND-NAME.plugin, a GKeyFile (as libpeas' .plugin files), from which
 * the core chooses without loading any module:
 *
 *     [Plugin]
 *     Kind=auth                       the KIND of the file name
 *     Name=scram-sha-256              the descriptor's name
 *     Selectors=                      selector values served, e.g. 3;
 *                                     (empty or absent: by name only)
 *     Rank=0                          the descriptor's rank
 *     Module=spop-auth-scram-sha-256.so   file name, same directory
 *     Description=SCRAM-SHA-256 (RFC 7677)
 *     Settings=ScramIterationsMax;    names of declared settings, if any
 *
 * The core loads only the chosen module and then checks that its
 * descriptor agrees with the key-file (kind, name, selectors, settings);
 * if not, the plugin is refused with 1203 naming both. A module without a
 * key-file still works: it is loaded to read its descriptor whenever its
 * kind is chosen, with a warning. libspop's build writes each key-file
 * from the module's own descriptor; a third party writes it by hand.
 *
 * Return convention for every function pointer returning int: 0 on success,
 * otherwise one of the reference's error codes (SPOP_ERR_* of errors.h,
 * included here), after calling host->set_error() with a message naming
 * what failed.
 */
#ifndef SPOP_PLUGIN_H
#define SPOP_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Only the error codes of the public API: a plugin sees nothing else of it. */
#include "errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The plugin ABI major: a plugin built for another major is refused
 * (1202, naming both versions). */
#define SPOP_PLUGIN_ABI_MAJOR 1
/** The plugin ABI minor: members documented "since 1.N" exist from N on. */
#define SPOP_PLUGIN_ABI_MINOR 1

/** Whether an ops table (or any struct carrying a leading uint32_t size)
 * covers member m and sets it: the one check for every optional slot. A
 * table built against an older minor is shorter, so a slot past its size is
 * absent even if the bytes there happen to be non-zero. ops is non-NULL. */
#define SPOP_OPS_HAS(T, ops, m)                                                \
	((ops)->size >= offsetof(T, m) + sizeof(((T *)0)->m) && (ops)->m)

/** The one symbol every plugin module exports (SPOP_PLUGIN_DEFINE()
 * defines it). */
#define SPOP_PLUGIN_ENTRY_SYMBOL "spop_plugin_entry"

/** @def SPOP_PLUGIN_EXPORT
 * Exports a symbol from a module built with -fvisibility=hidden. */
#if defined(__GNUC__)
#define SPOP_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define SPOP_PLUGIN_EXPORT
#endif

/** Declares the entry point; use as SPOP_PLUGIN_DEFINE(my_descriptor). */
#define SPOP_PLUGIN_DEFINE(descriptor)                                         \
	SPOP_PLUGIN_EXPORT const struct spop_plugin_descriptor *               \
	spop_plugin_entry(void);                                               \
	const struct spop_plugin_descriptor *spop_plugin_entry(void)           \
	{                                                                      \
		return &(descriptor);                                          \
	}

/** The kinds of plugin; KIND in the file name spop-KIND-NAME.so. */
enum spop_plugin_kind {
	SPOP_PLUGIN_TRANSPORT = 1, /**< selected by FirewallType */
	SPOP_PLUGIN_TLS = 2,	   /**< selected by SSLProvider */
	SPOP_PLUGIN_AUTH = 3,	   /**< selected by AuthMechanism or by name */
	SPOP_PLUGIN_CERTSTORE = 4, /**< selected by *CertStoreType */
	SPOP_PLUGIN_SMIME = 5,	   /**< selected by Config SMIMEEngine */
};

/* Capability bits, per kind (spop_plugin_descriptor.capabilities). The
 * core decides from these, never from names. */
/** Transport: the host name is passed to the proxy unresolved. */
#define SPOP_CAP_TRANSPORT_REMOTE_DNS (1u << 0)
/** Transport: uses FirewallUser and FirewallPassword. */
#define SPOP_CAP_TRANSPORT_PROXY_AUTH (1u << 1)
/** TLS: the provider speaks TLS 1.3. */
#define SPOP_CAP_TLS_1_3 (1u << 0)
/** TLS: the provider sends client certificates. */
#define SPOP_CAP_TLS_CLIENT_CERT (1u << 1)
/** Auth: a SASL mechanism; ops->sasl_* are set. */
#define SPOP_CAP_AUTH_SASL (1u << 0)
/** Auth: a protocol-level login; ops->login is set. */
#define SPOP_CAP_AUTH_LOGIN (1u << 1)
/** Auth: works without Password. */
#define SPOP_CAP_AUTH_NO_PASSWORD (1u << 2)
/** Auth (since 1.1; enforced by the core): puts a reusable secret on the
 * wire that anyone reading it can replay (USER/PASS, PLAIN, LOGIN, bearer
 * tokens): refused without TLS when TLS was asked for, or when Config
 * AllowPlaintextAuth is False. */
#define SPOP_CAP_AUTH_PLAINTEXT (1u << 3)
/** Auth (since 1.1): verifies the server: sasl_finish is mandatory, and a
 * server that skips its proof fails the login. */
#define SPOP_CAP_AUTH_MUTUAL (1u << 4)
/** Auth (since 1.1): needs host->channel_binding (the -PLUS variants). */
#define SPOP_CAP_AUTH_CHANNEL_BINDING (1u << 5)
/** Cert store: entries may carry private keys. */
#define SPOP_CAP_CERTSTORE_PRIVATE_KEYS (1u << 0)
/** Cert store: accepts in-memory data (the *Blob store types). */
#define SPOP_CAP_CERTSTORE_BLOB (1u << 1)
/** S/MIME engine: decrypts. */
#define SPOP_CAP_SMIME_DECRYPT (1u << 0)
/** S/MIME engine: verifies signatures. */
#define SPOP_CAP_SMIME_VERIFY (1u << 1)

/** Descriptor returned by spop_plugin_entry(). Static, const, never freed. */
struct spop_plugin_descriptor {
	uint32_t
	    abi_major; /**< SPOP_PLUGIN_ABI_MAJOR the plugin was built with */
	uint32_t
	    abi_minor; /**< SPOP_PLUGIN_ABI_MINOR the plugin was built with */
	uint32_t size; /**< sizeof(struct spop_plugin_descriptor) */
	uint32_t kind; /**< enum spop_plugin_kind */
	const char *name;	  /**< must equal the NAME in the file name
				     spop-KIND-NAME.so (any case); [a-z0-9-]+ */
	const char *version;	  /**< implementation version, free text */
	const char *description;  /**< one line, for listings */
	const int32_t *selectors; /**< seed selector values served, e.g.
				     FirewallType 3 for socks5; may be NULL */
	uint32_t n_selectors;	  /**< entries in selectors */
	uint32_t rank; /**< higher wins when two plugins serve a value */
	uint64_t capabilities; /**< SPOP_CAP_* bits of this kind */
	const void *ops;       /**< the kind's ops table, e.g.
				  struct spop_transport_ops; first member of
				  every ops table is uint32_t size */
	/** Since 1.1: settings this plugin adds to Config, ended by an entry
	 * with name NULL; may be NULL. Read only from a plugin of 1.1 or
	 * later (in 1.0 this was reserved, so zero). List the names in the
	 * key-file's Settings too: Config finds the plugin from there. */
	const struct spop_setting_decl *settings;
	void *reserved[3]; /**< zero; a plugin that sets them is refused */
};

/** spop_setting_decl.type: a string. */
#define SPOP_SETTING_STRING 1
/** spop_setting_decl.type: an integer, min..max inclusive. */
#define SPOP_SETTING_INT 2
/** spop_setting_decl.type: a boolean; reads back "True" / "False". */
#define SPOP_SETTING_BOOL 3

/** spop_setting_decl.flags: masked in listings and the trail. */
#define SPOP_SETTING_SECRET (1u << 0)

/** A setting a plugin declares (since 1.1), in
 * spop_plugin_descriptor.settings. spop_config("Name=Value") on a
 * name the core does not have finds the plugin whose key-file lists it,
 * loads that module only, checks the value by type and range (1211 when
 * it does not fit) and keeps it per object; spop_config("Name") reads it
 * (the default until set); spop_list_settings() lists it; the plugin reads
 * it with host->setting(). Names are a letter then letters and digits,
 * matched case-insensitively, and share one namespace with the
 * reference's: a declared name that the core already has is ignored, with
 * a warning. A declaration the core cannot use (bad type, a default out of
 * its own range, a name twice) makes the plugin fail to load (1203). */
struct spop_setting_decl {
	uint32_t size;		   /**< sizeof(struct spop_setting_decl) */
	uint32_t type;		   /**< SPOP_SETTING_* */
	const char *name;	   /**< as in Config: "ScramIterationsMax" */
	const char *default_value; /**< text form; NULL for "" */
	const char *description;   /**< one line, for listings */
	long long min;		   /**< SPOP_SETTING_INT only: the least */
	long long max;		   /**< SPOP_SETTING_INT only: the most */
	uint32_t flags;		   /**< SPOP_SETTING_SECRET */
};

/** The type of spop_plugin_entry(), for dlsym()/g_module_symbol(). */
typedef const struct spop_plugin_descriptor *(*spop_plugin_entry_fn)(void);

/** @struct spop_host
 * Host services: the core's upcall table, handed to every plugin call.
 *
 * Lifetime: the core makes one host per plugin instance on a connection (the
 * transport, each TLS layer, the auth mechanism) and keeps it at a fixed
 * address until that instance ends: transport close(), TLS session_free(),
 * SASL sasl_done() or the return of login(). A plugin may store the pointer
 * (e.g. as a TLS library's transport pointer) for that long, never longer.
 * Pointers to strings returned by the host stay valid until the plugin
 * call that received them returns, unless documented otherwise. */

/** host->wait_fd() / io_wait() events: readable. */
#define SPOP_WAIT_READ 1
/** host->wait_fd() / io_wait() events: writable. */
#define SPOP_WAIT_WRITE 2

/* Non-blocking I/O results (since 1.1): the layer below needs to become
 * readable (or writable) first; wait with host->io_wait() and call again. */
/** Non-blocking I/O (since 1.1): wait until readable, then call again. */
#define SPOP_IO_AGAIN_READ (-1)
/** Non-blocking I/O (since 1.1): wait until writable, then call again. */
#define SPOP_IO_AGAIN_WRITE (-2)

/* PITrail directions (the reference's), for host->trail(). */
/** PITrail direction: a command the client sent. */
#define SPOP_TRAIL_CLIENT 0
/** PITrail direction: a line the server sent. */
#define SPOP_TRAIL_SERVER 1
/** PITrail direction: information. */
#define SPOP_TRAIL_INFO 2

/** Result of a name lookup; free with host->free(). */
struct spop_address {
	int family;		 /**< AF_INET or AF_INET6 */
	uint32_t addr_len;	 /**< bytes used in addr */
	unsigned char addr[128]; /**< a struct sockaddr_in/_in6 with the port */
};

/* Why a server certificate failed its checks (spop_cert_report.failures,
 * since 1.1). The provider only reports; the core applies SSLSecurityFlags
 * (the bit in parentheses ignores the failure), the pin and the event, the
 * same way whatever the provider. */
/** Certificate failure: expired, not yet valid (SSLSecurityFlags 0x1). */
#define SPOP_CERT_FAIL_TIME (1u << 0)
/** Certificate failure: no trusted issuer, self-signed (0x10). */
#define SPOP_CERT_FAIL_UNKNOWN_CA (1u << 1)
/** Certificate failure: not for TLS servers (0x20). */
#define SPOP_CERT_FAIL_USAGE (1u << 2)
/** Certificate failure: revocation status unknown (0x100). */
#define SPOP_CERT_FAIL_REVOCATION (1u << 3)
/** Certificate failure: host name or IP address does not match
 * (0x80000000). */
#define SPOP_CERT_FAIL_NAME (1u << 4)
/** Certificate failure: anything else: bad signature, malformed, revoked;
 * no flag ignores it. */
#define SPOP_CERT_FAIL_INVALID (1u << 5)

/** What the server certificate check reports (TLS plugins fill it). */
struct spop_cert_report {
	uint32_t size;		  /**< sizeof(struct spop_cert_report) */
	const unsigned char *der; /**< leaf certificate */
	size_t der_len;		  /**< bytes in der */
	const char *subject; /**< may be NULL: the core formats both from der */
	const char *issuer;  /**< may be NULL */
	const char *status;  /**< "OK" or why verification failed, in the
				provider's words */
	int verified;	     /**< 1 when chain and name checks passed */
	/* ---- since 1.1 ---- */
	uint32_t failures; /**< SPOP_CERT_FAIL_* found; 0 with verified 1 */
	const unsigned char *const *chain_der; /**< as the server sent it, leaf
						  first; may be NULL */
	const size_t *chain_len; /**< the length of each chain_der entry */
	size_t n_chain;		 /**< entries in chain_der */
};

struct spop_certstore_ops;

/** The client certificate the application chose (SSLCert* through a
 * cert-store plugin; since 1.1). chain[0] is the certificate, followed by
 * the SSLCACerts to send with it. The key stays in the store: use
 * store_ops->key_sign, or store_ops->key_export where the store has the key
 * in memory (PEM and PFX files do; a token does not). */
struct spop_tls_credential {
	uint32_t size; /**< sizeof(struct spop_tls_credential) */
	const unsigned char *const
	    *chain_der;		 /**< DER, the certificate first */
	const size_t *chain_len; /**< the length of each chain_der entry */
	size_t n_chain;		 /**< entries in chain_der */
	const struct spop_certstore_ops *store_ops; /**< the key's store */
	void *key; /**< the entry's key handle, never NULL here */
};

struct spop_host {
	uint32_t size;	    /**< sizeof(struct spop_host) of the core */
	uint32_t abi_minor; /**< core's SPOP_PLUGIN_ABI_MINOR */
	void *core;	    /**< opaque; plugins never touch it */

	/** @{ */
	/** Settings. setting() returns the value of a property or Config
	 * setting by its seed name ("User", "FirewallHost", "UseIPv6",
	 * "MessageHeaderField(0)"), or of a setting a loaded plugin declared
	 * (its default until set); booleans read "True"/"False". It reads
	 * data only: NULL for an unknown name, and for the properties whose
	 * getter would talk to the server (MessageSize, MessageUID,
	 * MessageText, MessageHeadersString). It never changes the error of
	 * the running method. setting_int() parses it (True 1, False 0);
	 * fallback when NULL or not a number. */
	const char *(*setting)(struct spop_host *host, const char *name);
	long long (*setting_int)(struct spop_host *host, const char *name,
				 long long fallback);
	/** @} */

	/** Waiting. Blocks until fd is ready for events (SPOP_WAIT_*). Honours
	 * Timeout, AbsoluteTimeout, ConnectionTimeout and Interrupt. Returns
	 * 0, 301 (timeout) or 10004 (interrupted), with the error set. */
	int (*wait_fd)(struct spop_host *host, int fd, int events);

	/** Name lookup honouring UseIPv6 (0 IPv4 only, 1 IPv6 only, 2 both,
	 * IPv6 first), Timeout and Interrupt. A literal address is not looked
	 * up. On success *list holds *count (>0) entries with port set; on
	 * failure 11001/11002/11004 with the error naming the host. */
	int (*resolve)(struct spop_host *host, const char *name, int port,
		       struct spop_address **list, size_t *count);

	/** Opens a TCP connection to name:port through the "direct" transport
	 * (socket options, LocalHost binding, timeouts applied). Proxy
	 * transports use it to reach the proxy. Returns 0 and *fd. */
	int (*tcp_connect)(struct spop_host *host, const char *name, int port,
			   int *fd);

	/** @{ */
	/** Whole-buffer I/O on a connected fd, honouring Timeout, Interrupt
	 * and MaxTransferRate; used by proxy handshakes before the framework
	 * owns the stream. read_some returns bytes read (>0), or a negative
	 * error code; EOF is -1120. write_all returns 0 or an error code. */
	ssize_t (*read_some)(struct spop_host *host, int fd, void *buf,
			     size_t len);
	int (*write_all)(struct spop_host *host, int fd, const void *buf,
			 size_t len);
	/** @} */

	/** POP3 exchange for protocol-level auth mechanisms (USER/PASS, APOP):
	 * sends one command line (no CRLF) and reads its status line. In the
	 * trail, everything after the first mask_from bytes is masked when
	 * MaskSensitive is on (pass (size_t)-1 for nothing to mask). *reply
	 * is the status line without CRLF. Returns 0 for +OK, 171 for -ERR
	 * (error text carries the reply), or a connection error. */
	int (*command)(struct spop_host *host, const char *line,
		       size_t mask_from, const char **reply);

	/** @{ */
	/** The server's greeting line and whether CAPA listed a capability
	 * (case-insensitive first word, e.g. "SASL", "STLS"). */
	const char *(*greeting)(struct spop_host *host);
	int (*has_capability)(struct spop_host *host, const char *name);
	/** @} */

	/** @{ */
	/** Memory shared with the core: strings and buffers a plugin returns
	 * through an out-parameter are allocated with alloc(); everything the
	 * host hands out for the plugin to own is released with free(). */
	void *(*alloc)(struct spop_host *host, size_t len);
	void (*free)(struct spop_host *host, void *ptr);
	/** @} */

	/** @{ */
	/** Base64 (RFC 4648). encode returns a NUL-terminated string;
	 * decode returns NULL on malformed input. Both allocated for free(). */
	char *(*base64_encode)(struct spop_host *host, const void *data,
			       size_t len);
	void *(*base64_decode)(struct spop_host *host, const char *text,
			       size_t *len);
	/** @} */

	/** Cryptographically strong random bytes; 0 or an error code. */
	int (*random)(struct spop_host *host, void *buf, size_t len);

	/** @{ */
	/** Trail and status. trail() emits a PITrail line (SPOP_TRAIL_*);
	 * control characters are escaped by the host. connection_status()
	 * fires ConnectionStatus; ssl_status() fires SSLStatus. */
	void (*trail)(struct spop_host *host, int direction, const char *text);
	void (*connection_status)(struct spop_host *host, const char *event,
				  int code, const char *description);
	void (*ssl_status)(struct spop_host *host, const char *message);
	/** @} */

	/** Server certificate decision: fires SSLServerAuthentication with
	 * report's values and Accept = report->verified, applies
	 * SSLAcceptServerCertEncoded. Returns 1 to continue, 0 to refuse. */
	int (*server_certificate)(struct spop_host *host,
				  const struct spop_cert_report *report);

	/** Records the error message for the current method (printf-style)
	 * and returns code, so plugins write: return host->set_error(...). */
	int (*set_error)(struct spop_host *host, int code, const char *fmt, ...)
#if defined(__GNUC__)
	    __attribute__((format(printf, 3, 4)))
#endif
	    ;

	/* ---- since 1.1 (check host->size with SPOP_OPS_HAS) ---- */

	/** @{ */
	/** Since 1.1: the byte stream below the calling layer: for a TLS layer,
	 * the transport (or an inner TLS layer, e.g. towards an HTTPS proxy);
	 * never a raw fd. None blocks: io_read returns bytes read (>0), 0 at
	 * end of stream, SPOP_IO_AGAIN_READ/_WRITE, or -code with the error
	 * set; io_write returns bytes taken (>0), an AGAIN value or -code.
	 * io_wait blocks until the stream below can make progress in the
	 * direction asked (SPOP_WAIT_*), honouring Timeout, AbsoluteTimeout
	 * and Interrupt: 0, 301 or 10004. The core applies MaxTransferRate,
	 * byte accounting and packet logging underneath, whatever the
	 * layers. Outside a stream layer (auth, transport open) io_* return
	 * -1212. */
	ssize_t (*io_read)(struct spop_host *host, void *buf, size_t len);
	ssize_t (*io_write)(struct spop_host *host, const void *buf,
			    size_t len);
	int (*io_wait)(struct spop_host *host, int events);
	/** @} */

	/** Since 1.1: the arguments of a CAPA line, matched case-insensitively
	 * on its first word: "SASL" -> "PLAIN SCRAM-SHA-256"; "" when the
	 * capability has none, NULL when the server did not list it. */
	const char *(*capability_args)(struct spop_host *host,
				       const char *name);

	/** Since 1.1: channel-binding data of the connection's TLS layer (RFC
	 * 5929 / RFC 9266 type names: "tls-server-end-point", "tls-exporter",
	 * "tls-unique"), host->alloc()'d. 1212 when the connection has no TLS
	 * or the provider cannot give that type. */
	int (*channel_binding)(struct spop_host *host, const char *type,
			       unsigned char **data, size_t *len);

	/** Since 1.1: 1 when the connection is protected by TLS at this
	 * moment. */
	int (*tls_active)(struct spop_host *host);

	/* ---- TLS provider services (since 1.1) ---- */

	/** Since 1.1: the client certificate chosen by SSLCertStoreType,
	 * SSLCertStore, SSLCertStorePassword, SSLCertSubject / SSLCertEncoded.
	 * 0 with *cred NULL when the application chose none; 0 with *cred set
	 * (valid until the calling TLS session is freed); or 271 (store cannot
	 * be opened), 272 (no matching certificate), 273 (no private key, bad
	 * password), 1201 (no cert-store plugin for the type), with the error
	 * set. */
	int (*client_certificate)(struct spop_host *host,
				  const struct spop_tls_credential **cred);

	/** @{ */
	/** Since 1.1, ReuseSSLSession: the core keeps one opaque blob per
	 * object for the calling provider, MailServer and MailPort. get returns
	 * NULL (and *len 0) when there is none or ReuseSSLSession is False; the
	 * bytes stay valid until the plugin call returns. put replaces the blob
	 * (it is copied); it is a no-op when ReuseSSLSession is False. */
	const void *(*session_cache_get)(struct spop_host *host, size_t *len);
	void (*session_cache_put)(struct spop_host *host, const void *data,
				  size_t len);
	/** @} */

	/** Since 1.1, SSLKeyLogFile: appends one NSS key-log line
	 * ("CLIENT_RANDOM ...", no newline) to the file when the setting names
	 * one; a no-op otherwise. Providers register their library's key-log
	 * hook only when host->setting("SSLKeyLogFile") is not empty. */
	void (*key_log)(struct spop_host *host, const char *line);

	/** Since 1.1: wall-clock time, microseconds since the Unix epoch.
	 * Mechanisms that put the time on the wire (NTLMv2's timestamp) ask
	 * here, never the system clock, so that tests can fix it as they fix
	 * random(). */
	int64_t (*now)(struct spop_host *host);
};

/** Transport (FirewallType): the ops table of a transport plugin. Produces
 * a connected byte stream as a socket fd; after open() returns, the
 * framework owns all reads and writes. */
struct spop_transport_ops {
	uint32_t size; /**< sizeof(struct spop_transport_ops) */

	/** Connects to name:port (MailServer, MailPort). Proxy transports read
	 * FirewallHost/Port/User/Password via host->setting(). A name starting
	 * with '*' asks a SOCKS proxy to resolve it. On success *fd is a
	 * connected, blocking-mode-agnostic socket owned by the framework
	 * (closed by the framework), and *state is passed to close(). Errors:
	 * 10061 refused, 10060/301 timeout, 11001 unknown host, 118 proxy. */
	int (*open)(struct spop_host *host, const char *name, int port, int *fd,
		    void **state);

	/** Optional. Releases *state after the framework closed the fd. */
	void (*close)(struct spop_host *host, void *state);
};

/** @struct spop_tls_ops
 * TLS provider (SSLProvider): the ops table of a TLS plugin, a layer of
 * the connection stack.
 *
 * What a provider does, and what the core does for every provider:
 *  - The provider reads the SSL settings with host->setting():
 *    SSLEnabledProtocols (the reference's bits; the core has already
 *    refused SSL2/SSL3), SSLEnabledCipherSuites ("*" or the reference's
 *    IANA names separated by ';' or ','; an unknown name is 270 naming
 *    it), SSLCipherStrength, TLS12SignatureAlgorithms, TLS12SupportedGroups,
 *    TLS13KeyShareGroups, TLS13SignatureAlgorithms, TLS13SupportedGroups,
 *    SSLEnableRenegotiation, SSLCACertFilePaths (';'-separated files, each
 *    loaded when it exists), SSLServerCACerts (PEM text), and its own
 *    (OpenSSL* for the openssl provider). A setting it cannot honour, set
 *    to anything but its default, is 1212 naming the setting and the
 *    provider: never silently ignored.
 *  - It sends SNI for a name (not for an IP literal), verifies the chain
 *    against those CAs and the host name (RFC 6125; IP literals against
 *    IP SANs), and calls host->server_certificate() once per handshake,
 *    from inside its library's verification step so that nothing (a
 *    client certificate included) is sent after a rejection. When that
 *    returns 0 the core has set error 280 naming the host and the reason;
 *    the provider aborts the handshake and returns 280.
 *  - Client certificates come from host->client_certificate().
 *  - Session resumption through host->session_cache_get/put, key logging
 *    through host->key_log, progress through host->ssl_status (plain
 *    sentences: "Handshake with mail.example.org started",
 *    "Handshake done: TLS1.3, TLS_AES_256_GCM_SHA384").
 *  - Errors: 276 handshake failure with the library's reason and the host,
 *    281 when the server demanded a client certificate and none was set,
 *    282 when the server sent none, 270 library or setting errors.
 *  - The core fires SSLServerAuthentication, applies SSLSecurityFlags and
 *    SSLAcceptServerCertEncoded, keeps SSLServerCertEncoded and the
 *    SSLNegotiated* values (from info()), logs packets (LogSSLPackets) and
 *    writes the key-log file.
 *
 * 1.0 style wraps the framework's fd; 1.1 style (session_new_io) does its
 * I/O through the layer below.
 * I/O return values: >0 bytes, 0 end of stream (close_notify),
 * SPOP_TLS_AGAIN_READ / SPOP_TLS_AGAIN_WRITE when the fd must become ready
 * first (the framework waits and calls again), or a negative error code
 * (-276 handshake, -284 decrypt, -1120 dropped) with the error set. */
/** TLS read()/write(): wait until the fd is readable, then call again. */
#define SPOP_TLS_AGAIN_READ (-1)
/** TLS read()/write(): wait until the fd is writable, then call again. */
#define SPOP_TLS_AGAIN_WRITE (-2)

/** Negotiated values, in one vocabulary for every provider so that an
 * application (and SSLNegotiated*) reads the same text whichever provider
 * ran the session. */
struct spop_tls_info {
	uint32_t size;	       /**< sizeof(struct spop_tls_info) of the core */
	char version[32];      /**< "TLS1.2", "TLS1.3" */
	char cipher[128];      /**< bulk cipher, upper case with dashes:
				  "AES-256-GCM", "CHACHA20-POLY1305" */
	int cipher_strength;   /**< key bits of the bulk cipher: 256 */
	char key_exchange[64]; /**< "X25519", "SECP256R1", "FFDHE2048" for
				  (EC)DHE groups; "RSA" for RSA key
				  transport */
	int key_exchange_strength; /**< bits: X25519 255, SECP256R1 256,
				      FFDHE2048 2048, RSA the modulus size */
	unsigned char *peer_der;   /**< leaf certificate, host->alloc()'d */
	size_t peer_der_len;	   /**< bytes in peer_der */
	/* ---- since 1.1 ---- */
	char cipher_suite[128]; /**< since 1.1; IANA name:
				   "TLS_AES_256_GCM_SHA384",
				   "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" */
	int resumed; /**< since 1.1; 1 when the session was resumed */
};

struct spop_tls_ops {
	uint32_t size; /**< sizeof(struct spop_tls_ops) */

	/** Creates a client session on fd for server_name (SNI and name
	 * check). Reads SSL* settings via host->setting(). */
	int (*session_new)(struct spop_host *host, int fd,
			   const char *server_name, void **session);

	/** Runs the handshake to completion (waiting with host->wait_fd),
	 * reports the peer certificate through host->server_certificate();
	 * 0, 276 handshake failure, 280 certificate refused. */
	int (*handshake)(struct spop_host *host, void *session);

	/** @{ */
	/** Decrypted application data: see "I/O return values" above. */
	ssize_t (*read)(struct spop_host *host, void *session, void *buf,
			size_t len);
	ssize_t (*write)(struct spop_host *host, void *session, const void *buf,
			 size_t len);
	/** @} */

	/** Bytes already decrypted and buffered (readable without waiting). */
	size_t (*pending)(struct spop_host *host, void *session);

	/** Fills info about the established session. */
	int (*info)(struct spop_host *host, void *session,
		    struct spop_tls_info *info);

	/** Sends close_notify (best effort) and frees the session. */
	void (*session_free)(struct spop_host *host, void *session);

	/* ---- since 1.1 ---- */
	/** Since 1.1: creates a session that does its I/O through
	 * host->io_read/io_write (the layer below in the connection stack)
	 * instead of an fd; the core prefers it when set. For such a session,
	 * handshake() waits with host->io_wait(), and read()/write() return
	 * SPOP_IO_AGAIN_* (equal to SPOP_TLS_AGAIN_*) for the core to wait. */
	int (*session_new_io)(struct spop_host *host, const char *server_name,
			      void **session);

	/** Since 1.1: channel-binding data of the session (see
	 * host->channel_binding),
	 * host->alloc()'d; 1212 for a type the provider does not have. */
	int (*channel_binding)(struct spop_host *host, void *session,
			       const char *type, unsigned char **data,
			       size_t *len);
};

/** Authentication mechanism (AuthMechanism, or by name): the ops table of
 * an auth plugin. The descriptor's
 * capabilities say which of the two styles the plugin is, and the core uses
 * only that style (a plugin declaring neither, or both, is refused):
 *  - SPOP_CAP_AUTH_LOGIN, login: protocol-level mechanisms (USER/PASS, APOP)
 *    that speak POP3 through host->command();
 *  - SPOP_CAP_AUTH_SASL, sasl_*: a SASL mechanism. The core's driver checks
 *    that the server lists sasl_name in CAPA SASL, sends "AUTH sasl_name"
 *    with the initial response when the line stays within 255 octets (RFC
 *    5034), relays base64 challenges, cancels with "*" when a step fails,
 *    masks every response in the trail, and knows nothing of the
 *    mechanism; the mechanism knows nothing of POP3.
 * Credentials come from host->setting(): "User", "Password",
 * "AuthorizationIdentity". Error texts must not reveal whether a user
 * exists. */
struct spop_auth_ops {
	uint32_t size; /**< sizeof(struct spop_auth_ops) */

	/** SASL name sent after AUTH (e.g. "CRAM-MD5"); NULL for login style.
	 */
	const char *sasl_name;

	/** Login style: runs the whole exchange. 0, 171 with the server reply,
	 * or a connection error. */
	int (*login)(struct spop_host *host);

	/** @{ */
	/** SASL style. start() creates state and may produce an initial
	 * response (*out NULL for none; an empty response is *out non-NULL
	 * with *out_len 0). step() consumes a decoded server challenge and
	 * produces the next response. Buffers are host->alloc()'d and owned
	 * by the framework afterwards. done() frees state. */
	int (*sasl_start)(struct spop_host *host, void **state,
			  unsigned char **out, size_t *out_len);
	int (*sasl_step)(struct spop_host *host, void *state,
			 const unsigned char *challenge, size_t challenge_len,
			 unsigned char **out, size_t *out_len);
	void (*sasl_done)(struct spop_host *host, void *state);
	/** @} */

	/* ---- since 1.1 ---- */
	/** Since 1.1: called once the server accepted the exchange (+OK),
	 * before the core moves on. 0 when the mechanism is complete (for a
	 * mutual one: the server's proof was received and checked); otherwise
	 * an error code (280 when the server failed or skipped its proof), and
	 * the core drops the connection. Mandatory with SPOP_CAP_AUTH_MUTUAL.
	 */
	int (*sasl_finish)(struct spop_host *host, void *state);

	/** Since 1.1, optional. After the server refused the exchange (-ERR):
	 * its own account of why, when it sent one in a challenge before
	 * (XOAUTH2's and OAUTHBEARER's error JSON), as text valid until
	 * sasl_done; NULL when there is none. The core adds it to the error. */
	const char *(*sasl_refusal)(struct spop_host *host, void *state);
};

/* Padding / scheme identifiers for the key operations of a cert store. */
/** Key operation scheme: RSA PKCS#1 v1.5. */
#define SPOP_KEY_RSA_PKCS1 1
/** Key operation scheme: RSA OAEP. */
#define SPOP_KEY_RSA_OAEP 2
/** Key operation scheme: RSA PSS. */
#define SPOP_KEY_RSA_PSS 3
/** Key operation scheme: ECDSA. */
#define SPOP_KEY_ECDSA 4

/** Hash: SHA-1. */
#define SPOP_HASH_SHA1 1
/** Hash: SHA-224. */
#define SPOP_HASH_SHA224 2
/** Hash: SHA-256. */
#define SPOP_HASH_SHA256 3
/** Hash: SHA-384. */
#define SPOP_HASH_SHA384 4
/** Hash: SHA-512. */
#define SPOP_HASH_SHA512 5
/** Hash: MD5. */
#define SPOP_HASH_MD5 6

/** One entry of a certificate store. */
struct spop_cert_entry {
	uint32_t size;		  /**< sizeof(struct spop_cert_entry) */
	const unsigned char *der; /**< certificate, owned by the store */
	size_t der_len;		  /**< bytes in der */
	void *key; /**< key handle for the ops below, or NULL without a key */
};

/** Certificate store (CertStoreType, SSLCertStoreType,
 * SignerCertStoreType): the ops table of a cert-store plugin. A store
 * yields entries: a certificate and, when the store holds it, a private
 * key handle. Keys never leave a token: a handle signs and decrypts; raw
 * key bytes are offered only where the store has them. */
struct spop_certstore_ops {
	uint32_t size; /**< sizeof(struct spop_certstore_ops) */

	/** Optional: for CertStoreType 99 (Auto). Returns 1 when data (a file
	 * name when is_file, else the blob) looks like this store's format. */
	int (*probe)(struct spop_host *host, const unsigned char *data,
		     size_t len, int is_file);

	/** Opens a store. store is the CertStore value (file name or blob,
	 * store_type tells which, as in the reference); password may be "".
	 * 271 when it cannot be opened, naming the store. */
	int (*open)(struct spop_host *host, int store_type,
		    const unsigned char *store, size_t store_len,
		    const char *password, void **handle);

	/** Entry index (0-based) of an open store; 272 past the end. */
	int (*entry)(struct spop_host *host, void *handle, size_t index,
		     struct spop_cert_entry *entry);

	/** @{ */
	/** Key operations on an entry's key handle. Output host->alloc()'d.
	 * sign: digest of hash alg (SPOP_HASH_*) with scheme (SPOP_KEY_*);
	 * RSA PKCS#1 v1.5 wraps the digest in its DigestInfo itself, ECDSA
	 * signatures are DER (ECDSA-Sig-Value), as TLS and CMS carry them.
	 * decrypt: RSA ciphertext with padding (PKCS1 or OAEP, oaep_hash). */
	int (*key_sign)(struct spop_host *host, void *key, int scheme, int hash,
			const unsigned char *digest, size_t digest_len,
			unsigned char **sig, size_t *sig_len);
	int (*key_decrypt)(struct spop_host *host, void *key, int padding,
			   int oaep_hash, const unsigned char *in,
			   size_t in_len, unsigned char **out, size_t *out_len);
	/** @} */

	/** Optional: raw private key as PKCS#8 DER for stores that hold the
	 * key in memory (key agreement needs it); NULL slot or 273 for
	 * tokens. */
	int (*key_export)(struct spop_host *host, void *key,
			  unsigned char **pkcs8, size_t *len);

	/** Closes a store open() opened, and its entries. */
	void (*close)(struct spop_host *host, void *handle);

	/* ---- since 1.1 ---- */
	/** Since 1.1, optional: key agreement (ECDH, for S/MIME key agreement
	 * recipients): the entry's EC private key with the peer's public point,
	 * uncompressed (0x04 || X || Y) on the key's curve. *secret is the
	 * shared secret (the X coordinate, RFC 5753 / SEC 1), host->alloc()'d.
	 * 273 when the key is not EC or the point is not on its curve; a token
	 * derives inside the token (CKM_ECDH1_DERIVE), the key never leaves it.
	 */
	int (*key_derive)(struct spop_host *host, void *key,
			  const unsigned char *peer_point, size_t peer_len,
			  unsigned char **secret, size_t *secret_len);
};

/** @struct spop_smime_ops
 * S/MIME engine (Config SMIMEEngine): the ops table of an S/MIME engine
 * plugin. An engine knows CMS (RFC 5652), not
 * MIME: the core finds the CMS object in the message (the base64 body of
 * application/pkcs7-mime, the signature part of multipart/signed),
 * canonicalises the signed content (RFC 8551), tells which MIME part was
 * signed and whether the signer's address matches From, and hands the
 * engine DER bytes. So both engines see exactly the same input and their
 * verdicts can be compared. Keys reach an engine only as cert-store
 * entries (key operations through store_ops: a token's key never leaves
 * it). */

/** The keys and certificates the core hands an S/MIME engine. */
struct spop_smime_keys {
	uint32_t size; /**< sizeof(struct spop_smime_keys) of the core */
	/* Decryption: the certificate (Cert*) and its key's store. */
	/** decryption: the store of the entries, for key operations */
	const struct spop_certstore_ops *store_ops;
	/** decryption: candidate recipients (Cert*) */
	const struct spop_cert_entry *entries;
	size_t n_entries; /**< entries in entries */
	/** verification: certificates (DER) to find the signer among when the
	 * message carries none (SignerCert*) */
	const unsigned char *const *signer_certs;
	const size_t *signer_cert_lens; /**< the length of each signer_certs */
	size_t n_signer_certs;		/**< entries in signer_certs */
	/* ---- since 1.1 ---- */
	const unsigned char *const *trust_der; /**< trust anchors (DER) */
	const size_t *trust_len; /**< the length of each trust_der entry */
	size_t n_trust;		 /**< entries in trust_der */
	int allow_weak; /**< accept MD5/SHA-1 signatures (Config setting) */
	int64_t verify_time;  /**< seconds since the epoch; 0: now */
	int use_system_trust; /**< the system's trust store adds anchors */
	/** CRLs (DER) a signer's chain is checked against; a revoked
	 * certificate is SPOP_CERT_FAIL_REVOCATION. None given: not checked. */
	const unsigned char *const *crl_der;
	const size_t *crl_len; /**< the length of each crl_der entry */
	size_t n_crl;	       /**< entries in crl_der */
};

/** One SignerInfo's verdict (since 1.1). "One valid" is never "valid": the
 * core reports every signer. */
struct spop_smime_signer {
	uint32_t size;	  /**< sizeof(struct spop_smime_signer) */
	int signature_ok; /**< signature and signed attributes (contentType,
			     messageDigest) hold over the content */
	int trusted;	  /**< the certificate chains to a trust anchor and
			     is valid at verify_time */
	uint32_t trust_failures; /**< SPOP_CERT_FAIL_* when not trusted */
	int weak;		 /**< MD5 or SHA-1 */
	char status[256];	 /**< why not, in the engine's words; "OK" */
	unsigned char *cert_der; /**< the signer's certificate, host->alloc()'d;
				    NULL when neither the message nor
				    SignerCert* has it */
	size_t cert_der_len;	 /**< bytes in cert_der */
	char digest_algorithm[32];    /**< "SHA-256" */
	char signature_algorithm[32]; /**< "RSA", "RSA-PSS", "ECDSA" */
	int64_t signing_time;	      /**< signingTime attribute; 0: none */
};

/** What an S/MIME engine's decrypt() or verify() found. */
struct spop_smime_result {
	uint32_t size; /**< sizeof(struct spop_smime_result) of the core */
	unsigned char *content; /**< decrypted content, or the encapsulated
				   content of opaque signed data */
	size_t content_len;	/**< (host->alloc()'d) */
	int decrypted;		/**< 1 when content was decrypted */
	int verified; /**< every signer's signature_ok (and at least one) */
	unsigned char *signer_der; /**< the first signer's certificate */
	size_t signer_der_len;	   /**< bytes in signer_der */
	unsigned char **chain_der; /**< certificates carried in the message */
	size_t *chain_len;	   /**< the length of each chain_der entry */
	size_t n_chain;		   /**< entries in chain_der */
	char algorithm[64];	   /**< decrypt: content cipher ("AES-256-CBC");
				      verify: the first signer's digest ("SHA-256") */
	/* ---- since 1.1 ---- */
	struct spop_smime_signer *signers; /**< since 1.1; host->alloc()'d
					      array */
	size_t n_signers;		   /**< since 1.1; entries in signers */
	char key_algorithm[64];		   /**< since 1.1; decrypt: "RSA",
					      "RSA-OAEP-SHA256",
					      "ECDH-SHA256-AES256-WRAP"
					    */
};

struct spop_smime_ops {
	uint32_t size; /**< sizeof(struct spop_smime_ops) */

	/** Decrypts CMS EnvelopedData or AuthEnvelopedData (DER, RFC 5652 /
	 * RFC 5083) with one of keys->entries: the recipient info matching an
	 * entry's certificate (issuer and serial, or subject key identifier)
	 * is used. Every failure is 284 with a message naming the stage only
	 * ("no recipient matches Cert*", "the content key could not be
	 * unwrapped", "the content could not be decrypted"), never detail
	 * that would make a padding oracle. */
	int (*decrypt)(struct spop_host *host, const unsigned char *cms,
		       size_t len, const struct spop_smime_keys *keys,
		       struct spop_smime_result *result);

	/** Verifies CMS SignedData (DER). content is the detached signed
	 * content as the core canonicalised it, or NULL for encapsulated
	 * (opaque) content, which then comes back in result->content.
	 * Returns 0 when the structure could be processed (each signer's
	 * verdict is in result->signers, even when a signature is bad); an
	 * error code only when it could not (malformed, 284-family). */
	int (*verify)(struct spop_host *host, const unsigned char *cms,
		      size_t len, const unsigned char *content,
		      size_t content_len, const struct spop_smime_keys *keys,
		      struct spop_smime_result *result);

	/** Frees what result points to. */
	void (*result_clear)(struct spop_host *host,
			     struct spop_smime_result *result);
};

#ifdef __cplusplus
}
#endif

#endif /* SPOP_PLUGIN_H */
