/* Config: every setting and property by its seed name. One table says each
 * name's type, range and when it may change; spop_config() reads it. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "spop-build.h"
#include "net/net.h"
#include "tls/tls.h"

enum type { T_BOOL, T_INT, T_LONG, T_STR };

/* The getter may talk to the server (it re-enters the method layer), so
 * host->setting() never calls it: a plugin reads data, never causes I/O. */
#define F_IO 1u

struct setting {
	const char *name;
	enum type type;
	size_t offset; /* of the field in struct spop; custom when 0 */
	long long min, max;
	int locked_code; /* error while connected, 0 when always settable */
	int (*set)(struct spop *s, const char *value);
	/* NULL with the error recorded (and Error fired) when it failed */
	char *(*get)(struct spop *s);
	unsigned flags; /* F_* */
	/* Arrays (the reference's "Name(index)"): element index of count. */
	char *(*get_at)(struct spop *s, int index);
	int (*count)(struct spop *s);
};

#define CFG(field) offsetof(struct spop, cfg.field)
#define NOLIM	   G_MININT64, G_MAXINT64

int spi_parse_bool(const char *value, bool *out)
{
	static const char *const yes[] = {"true", "1", "yes", "on"};
	static const char *const no[] = {"false", "0", "no", "off"};

	for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (!g_ascii_strcasecmp(value, yes[i])) {
			*out = true;
			return 0;
		}
		if (!g_ascii_strcasecmp(value, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int parse_int(const char *value, long long *out)
{
	char *end;

	errno = 0;
	long long v = strtoll(value, &end, 10);
	if (errno || end == value)
		return -1;
	while (*end == ' ')
		end++;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

/* ---- custom accessors for properties and derived settings ---- */

static int set_keepalive_field(struct spop *s, int *field, const char *value)
{
	long long v;

	if (parse_int(value, &v) || v < 0 || v > G_MAXINT)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"%s must be a whole number of "
				"milliseconds (0 to %d).",
				value, G_MAXINT);
	*field = (int)v;
	/* The reference: setting any keep-alive timing turns keep-alive on. */
	s->cfg.tcp_keep_alive = true;
	return 0;
}
static int set_keepalive_time(struct spop *s, const char *v)
{
	return set_keepalive_field(s, &s->cfg.keep_alive_time, v);
}
static int set_keepalive_interval(struct spop *s, const char *v)
{
	return set_keepalive_field(s, &s->cfg.keep_alive_interval, v);
}
static int set_keepalive_retry(struct spop *s, const char *v)
{
	return set_keepalive_field(s, &s->cfg.keep_alive_retry_count, v);
}

static int set_firewall_type(struct spop *s, const char *value)
{
	long long v;

	if (parse_int(value, &v) ||
	    !(v == 0 || v == 1 || v == 2 || v == 3 || v == 10))
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"FirewallType '%s' is not one of 0 "
				"(none), 1 (tunnel), 2 (SOCKS4), 3 (SOCKS5), "
				"10 (SOCKS4A).",
				value);
	s->cfg.firewall_type = (int)v;
	/* The reference sets the proxy's well-known port with the type. */
	if (v == 1)
		s->firewall_port = 80;
	else if (v != 0)
		s->firewall_port = 1080;
	return 0;
}

static int set_code_page(struct spop *s, const char *value)
{
	long long v;

	if (parse_int(value, &v) || (v != 65001 && v != 0))
		return spi_fail(s, SPOP_ERR_CODEPAGE,
				"CodePage %s: libspop's strings are "
				"always UTF-8 (65001).",
				value);
	return 0;
}
static char *get_code_page(struct spop *s)
{
	return g_strdup("65001");
}

static char *get_build_info(struct spop *s)
{
	return g_strdup_printf("libspop %s; plugin ABI %d.%d; plugins in %s; "
			       "GLib %u.%u.%u",
			       SPOP_VERSION, SPOP_PLUGIN_ABI_MAJOR,
			       SPOP_PLUGIN_ABI_MINOR, SPOP_PLUGINSDIR,
			       glib_major_version, glib_minor_version,
			       glib_micro_version);
}
static char *get_auth_mechanism_used(struct spop *s)
{
	return g_strdup(s->auth_used ? s->auth_used : "");
}
static char *get_auth_plaintext_sent(struct spop *s)
{
	return g_strdup(s->auth_plaintext_sent ? "True" : "False");
}
static char *get_license_info(struct spop *s)
{
	return g_strdup("libspop is free software (LGPL-2.1-or-later); "
			"no license key is needed.");
}

#define PROP_INT(Name, getter, setter)                                         \
	static char *get_##getter(struct spop *s)                              \
	{                                                                      \
		return g_strdup_printf("%lld",                                 \
				       (long long)spop_get_##getter(s));       \
	}                                                                      \
	static int set_##getter(struct spop *s, const char *value)             \
	{                                                                      \
		long long v;                                                   \
		if (parse_int(value, &v) || v < G_MININT || v > G_MAXINT)      \
			return spi_fail(s, SPOP_ERR_INVALID_VALUE,             \
					Name " '%s' is not a "                 \
					     "number.",                        \
					value);                                \
		return setter(s, (int)v);                                      \
	}
#define PROP_BOOL(Name, getter, setter)                                        \
	static char *get_##getter(struct spop *s)                              \
	{                                                                      \
		return g_strdup(spop_get_##getter(s) ? "True" : "False");      \
	}                                                                      \
	static int set_##getter(struct spop *s, const char *value)             \
	{                                                                      \
		bool v;                                                        \
		if (spi_parse_bool(value, &v))                                 \
			return spi_fail(s, SPOP_ERR_INVALID_VALUE,             \
					Name " '%s' is not a "                 \
					     "boolean.",                       \
					value);                                \
		return setter(s, v);                                           \
	}
#define PROP_STR(getter, setter)                                               \
	static char *get_##getter(struct spop *s)                              \
	{                                                                      \
		return g_strdup(spop_get_##getter(s));                         \
	}                                                                      \
	static int set_##getter(struct spop *s, const char *value)             \
	{                                                                      \
		return setter(s, value);                                       \
	}
#define RO_INT(getter)                                                         \
	static char *get_##getter(struct spop *s)                              \
	{                                                                      \
		return g_strdup_printf("%lld",                                 \
				       (long long)spop_get_##getter(s));       \
	}
#define RO_STR(getter)                                                         \
	static char *get_##getter(struct spop *s)                              \
	{                                                                      \
		return g_strdup(spop_get_##getter(s));                         \
	}
#define RO_BOOL(getter)                                                        \
	static char *get_##getter(struct spop *s)                              \
	{                                                                      \
		return g_strdup(spop_get_##getter(s) ? "True" : "False");      \
	}
#define RO_STR_AT(getter)                                                      \
	static char *get_##getter(struct spop *s, int i)                       \
	{                                                                      \
		return g_strdup(spop_get_##getter(s, i));                      \
	}

PROP_INT("AuthMechanism", auth_mechanism, spop_set_auth_mechanism)
PROP_BOOL("Connected", connected, spop_set_connected)
PROP_BOOL("IncludeHeaders", include_headers, spop_set_include_headers)
PROP_INT("MailPort", mail_port, spop_set_mail_port)
PROP_INT("MaxLines", max_lines, spop_set_max_lines)
PROP_INT("MessageNumber", message_number, spop_set_message_number)
PROP_INT("Timeout", timeout, spop_set_timeout)
PROP_BOOL("SSLEnabled", ssl_enabled, spop_set_ssl_enabled)
PROP_INT("SSLProvider", ssl_provider, spop_set_ssl_provider)
PROP_INT("SSLStartMode", ssl_start_mode, spop_set_ssl_start_mode)
PROP_STR(local_host, spop_set_local_host)
PROP_STR(local_file, spop_set_local_file)
PROP_STR(mail_server, spop_set_mail_server)
PROP_STR(password, spop_set_password)
PROP_STR(user, spop_set_user)
RO_BOOL(idle)
RO_INT(message_count)
RO_INT(total_size)
RO_INT(message_size)
RO_INT(message_header_count)
RO_INT(message_recipient_count)
RO_BOOL(message_encrypted)
RO_BOOL(message_signed)
RO_STR(last_reply)
RO_STR(message_cc)
RO_STR(message_date)
RO_STR(message_from)
RO_STR(message_headers_string)
RO_STR(message_reply_to)
RO_STR(message_subject)
RO_STR(message_to)
RO_STR(message_uid)
RO_STR_AT(message_header_field)
RO_STR_AT(message_header_value)
RO_STR_AT(message_recipient_address)
RO_STR_AT(message_recipient_name)
RO_STR_AT(message_recipient_options)

static char *get_message_recipient_type(struct spop *s, int i)
{
	return g_strdup_printf("%d", spop_get_message_recipient_type(s, i));
}

/* Config returns C strings: binary content ends at its first NUL byte
 * there (spop.h); spop_get_message() gives all of it. */
static char *get_message(struct spop *s)
{
	const char *data;
	size_t len;

	spop_get_message(s, &data, &len);
	return g_strndup(data, len);
}

/* Retrieves when MessageNumber changed, as the getter does. */
static char *get_message_text(struct spop *s)
{
	const char *data;
	size_t len;

	if (spop_get_message_text(s, &data, &len))
		return NULL;
	return g_strndup(data, len);
}

/* The reference: LocalPort reports the port actually bound while
 * connected; the setting itself is never overwritten by it. */
static char *get_local_port(struct spop *s)
{
	int bound = spi_conn_local_port(s);

	return g_strdup_printf("%d", bound ? bound : s->cfg.local_port);
}

/* ---- TLS ---- */

/* The reference's bits: TLS1.3 0x3000, TLS1.2 0xC00, TLS1.1 0x300, TLS1
 * 0xC0 (either bit of a pair enables it), SSL3 0x30, SSL2 0x0C. */
#define PROTO_SSL 0x3C
#define PROTO_TLS 0x3FC0

static int set_ssl_enabled_protocols(struct spop *s, const char *value)
{
	char *end;
	errno = 0;
	long long v = strtoll(value, &end, 0);

	if (errno || end == value || *end || v < 0 || v > 0xFFFF)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"SSLEnabledProtocols '%s' is not a number "
				"made of the reference's protocol bits.",
				value);
	if (v & PROTO_SSL)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"SSLEnabledProtocols %lld enables %s, which "
				"libspop refuses: SSL 2.0 and 3.0 are broken "
				"(RFC 6176, RFC 7568). Use TLS 1.2 (3072) "
				"and TLS 1.3 (12288).",
				v, v & 0x0C ? "SSL 2.0" : "SSL 3.0");
	if (v & ~(long long)PROTO_TLS || !(v & PROTO_TLS))
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"SSLEnabledProtocols %lld: expected TLS 1.0 "
				"(192), 1.1 (768), 1.2 (3072), 1.3 (12288) "
				"or a sum of them.",
				v);
	s->cfg.ssl_enabled_protocols = (int)v;
	return 0;
}

/* The reference writes the flags in hexadecimal: 0x80000000 is taken as
 * it is written. */
static int set_ssl_security_flags(struct spop *s, const char *value)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(value, &end, 0);

	if (errno || end == value || *end || *value == '-' || v > 0xFFFFFFFFu)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"SSLSecurityFlags '%s' is not a 32-bit "
				"number (e.g. 0x80000000).",
				value);
	s->cfg.ssl_security_flags = (long long)v;
	return 0;
}

#define NEGOTIATED(what)                                                       \
	static char *get_negotiated_##what(struct spop *s)                     \
	{                                                                      \
		return spi_tls_negotiated(s, #what);                           \
	}
NEGOTIATED(Cipher)
NEGOTIATED(CipherStrength)
NEGOTIATED(CipherSuite)
NEGOTIATED(KeyExchange)
NEGOTIATED(KeyExchangeStrength)
NEGOTIATED(Version)
NEGOTIATED(Provider)

/* Certificate properties are binary strings: Config passes text. */
#define CERT_BLOB(acc)                                                         \
	static char *get_##acc(struct spop *s)                                 \
	{                                                                      \
		const char *d;                                                 \
		size_t n;                                                      \
		spop_get_##acc(s, &d, &n);                                     \
		return g_strndup(d, n);                                        \
	}
#define CERT_BLOB_SET(acc)                                                     \
	CERT_BLOB(acc)                                                         \
	static int set_##acc(struct spop *s, const char *value)                \
	{                                                                      \
		return spop_set_##acc(s, value, strlen(value));                \
	}
CERT_BLOB_SET(ssl_accept_server_cert_encoded)
CERT_BLOB(ssl_server_cert_encoded)
#define CERT_GROUP(Name, acc)                                                  \
	CERT_BLOB_SET(acc##_encoded)                                           \
	CERT_BLOB_SET(acc##_store)                                             \
	PROP_STR(acc##_store_password, spop_set_##acc##_store_password)        \
	PROP_STR(acc##_subject, spop_set_##acc##_subject)                      \
	PROP_INT(Name "StoreType", acc##_store_type,                           \
		 spop_set_##acc##_store_type)
CERT_GROUP("SSLCert", ssl_cert)
CERT_GROUP("Cert", cert)
CERT_GROUP("SignerCert", signer_cert)
RO_STR(signer_cert_issuer)
RO_STR(signer_cert_serial_number)
RO_INT(signer_cert_chain_count)
PROP_STR(signing_algorithm, spop_set_signing_algorithm)
static char *get_signer_cert_chain_encoded(struct spop *s, int i)
{
	const char *d;
	size_t n;

	spop_get_signer_cert_chain_encoded(s, i, &d, &n);
	return g_strndup(d, n);
}

static int set_command(struct spop *s, const char *value)
{
	return spop_set_command(s, value);
}

static int set_max_line_length(struct spop *s, const char *value)
{
	long long v;

	if (parse_int(value, &v) || v < 256 || v > 64 * 1024 * 1024)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"MaxLineLength '%s': the minimum is "
				"256 bytes (the maximum 64 MiB).",
				value);
	s->cfg.max_line_length = (int)v;
	return 0;
}

#define PROP(Name, acc)                                                        \
	{                                                                      \
		Name, T_STR, 0, 0, 0, 0, set_##acc, get_##acc                  \
	}
#define RO(Name, acc)                                                          \
	{                                                                      \
		Name, T_STR, 0, 0, 0, 0, NULL, get_##acc                       \
	}
#define RO_IO(Name, acc)                                                       \
	{                                                                      \
		.name = Name, .type = T_STR, .get = get_##acc, .flags = F_IO   \
	}
#define ARRAY(Name, acc, counter)                                              \
	{                                                                      \
		.name = Name, .type = T_STR, .get_at = get_##acc,              \
		.count = spop_get_##counter                                    \
	}

/* Rows are positional; the members after get (flags, get_at, count) are
 * zero unless a row names them, which GCC would flag for every row. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct setting settings[] = {
    /* properties */
    PROP("AuthMechanism", auth_mechanism),
    PROP("CertEncoded", cert_encoded),
    PROP("CertStore", cert_store),
    PROP("CertStorePassword", cert_store_password),
    PROP("CertStoreType", cert_store_type),
    PROP("CertSubject", cert_subject),
    {"Command", T_STR, 0, 0, 0, 0, set_command, NULL},
    PROP("Connected", connected),
    RO("Idle", idle),
    PROP("IncludeHeaders", include_headers),
    RO("LastReply", last_reply),
    PROP("LocalFile", local_file),
    PROP("MailPort", mail_port),
    PROP("MailServer", mail_server),
    PROP("MaxLines", max_lines),
    RO("Message", message),
    RO("MessageCc", message_cc),
    RO("MessageCount", message_count),
    RO("MessageDate", message_date),
    RO("MessageEncrypted", message_encrypted),
    RO("MessageFrom", message_from),
    RO("MessageHeaderCount", message_header_count),
    ARRAY("MessageHeaderField", message_header_field, message_header_count),
    ARRAY("MessageHeaderValue", message_header_value, message_header_count),
    RO_IO("MessageHeadersString", message_headers_string),
    PROP("MessageNumber", message_number),
    RO("MessageRecipientCount", message_recipient_count),
    ARRAY("MessageRecipientAddress", message_recipient_address,
	  message_recipient_count),
    ARRAY("MessageRecipientName", message_recipient_name,
	  message_recipient_count),
    ARRAY("MessageRecipientOptions", message_recipient_options,
	  message_recipient_count),
    ARRAY("MessageRecipientType", message_recipient_type,
	  message_recipient_count),
    RO("MessageReplyTo", message_reply_to),
    RO("MessageSigned", message_signed),
    RO_IO("MessageSize", message_size),
    RO("MessageSubject", message_subject),
    RO_IO("MessageText", message_text),
    RO("MessageTo", message_to),
    RO_IO("MessageUID", message_uid),
    PROP("Password", password),
    PROP("SignerCertEncoded", signer_cert_encoded),
    RO("SignerCertChainCount", signer_cert_chain_count),
    ARRAY("SignerCertChainEncoded", signer_cert_chain_encoded,
	  signer_cert_chain_count),
    RO("SignerCertIssuer", signer_cert_issuer),
    RO("SignerCertSerialNumber", signer_cert_serial_number),
    PROP("SignerCertStore", signer_cert_store),
    PROP("SignerCertStorePassword", signer_cert_store_password),
    PROP("SignerCertStoreType", signer_cert_store_type),
    PROP("SignerCertSubject", signer_cert_subject),
    PROP("SigningAlgorithm", signing_algorithm),
    PROP("SSLAcceptServerCertEncoded", ssl_accept_server_cert_encoded),
    PROP("SSLCertEncoded", ssl_cert_encoded),
    PROP("SSLCertStore", ssl_cert_store),
    PROP("SSLCertStorePassword", ssl_cert_store_password),
    PROP("SSLCertStoreType", ssl_cert_store_type),
    PROP("SSLCertSubject", ssl_cert_subject),
    PROP("SSLEnabled", ssl_enabled),
    PROP("SSLProvider", ssl_provider),
    RO("SSLServerCertEncoded", ssl_server_cert_encoded),
    PROP("SSLStartMode", ssl_start_mode),
    PROP("Timeout", timeout),
    RO("TotalSize", total_size),
    PROP("User", user),
    /* POP settings */
    {"AuthorizationIdentity", T_STR, CFG(authorization_identity), NOLIM, 0,
     NULL, NULL},
    {"AutoDecodeSubject", T_BOOL, CFG(auto_decode_subject), NOLIM, 0, NULL,
     NULL},
    {"GetMessageSize", T_BOOL, CFG(get_message_size), NOLIM, 0, NULL, NULL},
    {"MaxLineLength", T_INT, CFG(max_line_length), 256, 64 << 20,
     SPOP_ERR_MAXLINE_CHANGE, set_max_line_length, NULL},
    /* TCP client settings */
    {"ConnectionTimeout", T_INT, CFG(connection_timeout), 0, G_MAXINT, 0, NULL,
     NULL},
    {"FirewallAutoDetect", T_BOOL, CFG(firewall_auto_detect), NOLIM, 0, NULL,
     NULL},
    {"FirewallHost", T_STR, offsetof(struct spop, firewall_host), NOLIM,
     SPOP_ERR_HOST_CHANGE, NULL, NULL},
    {"FirewallPassword", T_STR, offsetof(struct spop, firewall_password), NOLIM,
     0, NULL, NULL},
    {"FirewallPort", T_INT, offsetof(struct spop, firewall_port), 0, 65535,
     SPOP_ERR_PORT_CHANGE, NULL, NULL},
    {"FirewallType", T_INT, CFG(firewall_type), 0, 10, SPOP_ERR_HOST_CHANGE,
     set_firewall_type, NULL},
    {"FirewallUser", T_STR, offsetof(struct spop, firewall_user), NOLIM, 0,
     NULL, NULL},
    {"KeepAliveInterval", T_INT, CFG(keep_alive_interval), 0, G_MAXINT, 0,
     set_keepalive_interval, NULL},
    {"KeepAliveRetryCount", T_INT, CFG(keep_alive_retry_count), 0, G_MAXINT, 0,
     set_keepalive_retry, NULL},
    {"KeepAliveTime", T_INT, CFG(keep_alive_time), 0, G_MAXINT, 0,
     set_keepalive_time, NULL},
    {"Linger", T_BOOL, CFG(linger), NOLIM, 0, NULL, NULL},
    {"LingerTime", T_INT, CFG(linger_time), 0, 65535, 0, NULL, NULL},
    PROP("LocalHost", local_host),
    {"LocalPort", T_INT, CFG(local_port), 0, 65535, SPOP_ERR_LOCALPORT_CHANGE,
     NULL, get_local_port},
    {"MaxTransferRate", T_LONG, CFG(max_transfer_rate), 0, G_MAXINT64, 0, NULL,
     NULL},
    {"ProxyExceptionsList", T_STR, CFG(proxy_exceptions_list), NOLIM, 0, NULL,
     NULL},
    {"TCPKeepAlive", T_BOOL, CFG(tcp_keep_alive), NOLIM, 0, NULL, NULL},
    {"TcpNoDelay", T_BOOL, CFG(tcp_no_delay), NOLIM, 0, NULL, NULL},
    {"UseIPv6", T_INT, CFG(use_ipv6), 0, 2, 0, NULL, NULL},
    /* SSL settings; the providers read them by name */
    {"LogSSLPackets", T_BOOL, CFG(log_ssl_packets), NOLIM, 0, NULL, NULL},
    {"OpenSSLCADir", T_STR, CFG(openssl_ca_dir), NOLIM, 0, NULL, NULL},
    {"OpenSSLCAFile", T_STR, CFG(openssl_ca_file), NOLIM, 0, NULL, NULL},
    {"OpenSSLCipherList", T_STR, CFG(openssl_cipher_list), NOLIM, 0, NULL,
     NULL},
    {"OpenSSLPrngSeedData", T_STR, CFG(openssl_prng_seed_data), NOLIM, 0, NULL,
     NULL},
    {"ReuseSSLSession", T_BOOL, CFG(reuse_ssl_session), NOLIM, 0, NULL, NULL},
    {"SSLCACertFilePaths", T_STR, CFG(ssl_ca_cert_file_paths), NOLIM, 0, NULL,
     NULL},
    {"SSLCACerts", T_STR, CFG(ssl_ca_certs), NOLIM, 0, NULL, NULL},
    {"SSLCipherStrength", T_INT, CFG(ssl_cipher_strength), 0, 4096, 0, NULL,
     NULL},
    {"SSLEnabledCipherSuites", T_STR, CFG(ssl_enabled_cipher_suites), NOLIM, 0,
     NULL, NULL},
    {"SSLEnabledProtocols", T_INT, CFG(ssl_enabled_protocols), NOLIM, 0,
     set_ssl_enabled_protocols, NULL},
    {"SSLEnableRenegotiation", T_BOOL, CFG(ssl_enable_renegotiation), NOLIM, 0,
     NULL, NULL},
    {"SSLIncludeCertChain", T_BOOL, CFG(ssl_include_cert_chain), NOLIM, 0, NULL,
     NULL},
    {"SSLKeyLogFile", T_STR, CFG(ssl_key_log_file), NOLIM, 0, NULL, NULL},
    RO("SSLNegotiatedCipher", negotiated_Cipher),
    RO("SSLNegotiatedCipherStrength", negotiated_CipherStrength),
    RO("SSLNegotiatedCipherSuite", negotiated_CipherSuite),
    RO("SSLNegotiatedKeyExchange", negotiated_KeyExchange),
    RO("SSLNegotiatedKeyExchangeStrength", negotiated_KeyExchangeStrength),
    RO("SSLNegotiatedVersion", negotiated_Version),
    {"SSLSecurityFlags", T_LONG, CFG(ssl_security_flags), NOLIM, 0,
     set_ssl_security_flags, NULL},
    {"SSLServerCACerts", T_STR, CFG(ssl_server_ca_certs), NOLIM, 0, NULL, NULL},
    {"TLS12SignatureAlgorithms", T_STR, CFG(tls12_signature_algorithms), NOLIM,
     0, NULL, NULL},
    {"TLS12SupportedGroups", T_STR, CFG(tls12_supported_groups), NOLIM, 0, NULL,
     NULL},
    {"TLS13KeyShareGroups", T_STR, CFG(tls13_key_share_groups), NOLIM, 0, NULL,
     NULL},
    {"TLS13SignatureAlgorithms", T_STR, CFG(tls13_signature_algorithms), NOLIM,
     0, NULL, NULL},
    {"TLS13SupportedGroups", T_STR, CFG(tls13_supported_groups), NOLIM, 0, NULL,
     NULL},
    {"UseInternalSecurityAPI", T_BOOL, CFG(use_internal_security_api), NOLIM, 0,
     NULL, NULL},
    /* socket settings */
    {"AbsoluteTimeout", T_BOOL, CFG(absolute_timeout), NOLIM, 0, NULL, NULL},
    {"FirewallData", T_STR, CFG(firewall_data), NOLIM, 0, NULL, NULL},
    {"InBufferSize", T_INT, CFG(in_buffer_size), 0, G_MAXINT, 0, NULL, NULL},
    {"OutBufferSize", T_INT, CFG(out_buffer_size), 0, G_MAXINT, 0, NULL, NULL},
    /* base settings */
    {"BuildInfo", T_STR, 0, NOLIM, 0, NULL, get_build_info},
    {"CodePage", T_INT, 0, NOLIM, 0, set_code_page, get_code_page},
    {"LicenseInfo", T_STR, 0, NOLIM, 0, NULL, get_license_info},
    {"MaskSensitive", T_BOOL, CFG(mask_sensitive), NOLIM, 0, NULL, NULL},
    {"ProcessIdleEvents", T_BOOL, CFG(process_idle_events), NOLIM, 0, NULL,
     NULL},
    {"SelectWaitMillis", T_INT, CFG(select_wait_millis), 0, 60000, 0, NULL,
     NULL},
    /* libspop's own */
    {"AllowPlaintextAuth", T_BOOL, CFG(allow_plaintext_auth), NOLIM, 0, NULL,
     NULL},
    {"AuthMechanismName", T_STR, CFG(auth_mechanism_name), NOLIM, 0, NULL,
     NULL},
    {"AuthMechanismUsed", T_STR, 0, NOLIM, 0, NULL, get_auth_mechanism_used},
    {"AuthPlaintextSent", T_BOOL, 0, NOLIM, 0, NULL, get_auth_plaintext_sent},
    {"CloseStreamAfterTransfer", T_BOOL, CFG(close_stream_after_transfer),
     NOLIM, 0, NULL, NULL},
    {"MessageMemoryLimit", T_LONG, CFG(message_memory_limit), 0, G_MAXINT64, 0,
     NULL, NULL},
    /* RFC 2449 pipelining: how many commands a batch keeps in flight at
     * most (0 and 1: one at a time), and whether Connect asks LIST and
     * UIDL together with STAT when the server can pipeline */
    {"PipelineWindow", T_INT, CFG(pipeline_window), 0, 1000, 0, NULL, NULL},
    {"ListAtConnect", T_BOOL, CFG(list_at_connect), NOLIM, 0, NULL, NULL},
    {"PluginPath", T_STR, CFG(plugin_path), NOLIM, 0, NULL, NULL},
    /* S/MIME: the engine plugin (cms, openssl) and how signers are
     * trusted (libspop's settings beside the reference's SMIMEEngine) */
    {"SMIMEEngine", T_STR, CFG(smime_engine), NOLIM, 0, NULL, NULL},
    {"SMIMEAllowWeakDigests", T_BOOL, CFG(smime_allow_weak_digests), NOLIM, 0,
     NULL, NULL},
    {"SMIMETrustedCerts", T_STR, CFG(smime_trusted_certs), NOLIM, 0, NULL,
     NULL},
    {"SMIMEUseSystemTrust", T_BOOL, CFG(smime_use_system_trust), NOLIM, 0, NULL,
     NULL},
    {"SMIMECRLFile", T_STR, CFG(smime_crl_file), NOLIM, 0, NULL, NULL},
    /* the TLS provider plugin of the last handshake ("gnutls") */
    RO("SSLProviderName", negotiated_Provider),
};
#pragma GCC diagnostic pop

static const struct setting *find(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(settings); i++)
		if (!g_ascii_strcasecmp(settings[i].name, name))
			return &settings[i];
	return NULL;
}

bool spi_setting_is_core(const char *name)
{
	return find(name) != NULL;
}

/* A name as Config takes it: "Name", or an array element the way the
 * reference writes one, "MessageRecipientOptions(0)" ("Name[0]" too). */
struct config_name {
	char *base;
	bool indexed;
	bool index_ok; /* the index is a whole number */
	long long index;
};

static void parse_name(const char *text, struct config_name *n)
{
	const char *open = strpbrk(text, "([");
	size_t len = strlen(text);
	char close;

	memset(n, 0, sizeof(*n));
	if (!open || len < 2 ||
	    text[len - 1] != (close = *open == '(' ? ')' : ']')) {
		n->base = g_strdup(text);
		return;
	}
	n->base = g_strstrip(g_strndup(text, open - text));
	n->indexed = true;

	char *idx = g_strstrip(g_strndup(open + 1, text + len - 1 - open - 1));
	n->index_ok = !parse_int(idx, &n->index);
	g_free(idx);
}

static int unknown(struct spop *s, const char *text)
{
	return spi_fail(s, SPOP_ERR_UNKNOWN_SETTING,
			"Config setting '%s' is not known.", text);
}

/* Checks the index of an array element against its count. */
static int check_index(struct spop *s, const struct setting *st,
		       const struct config_name *n)
{
	if (!st->get_at && n->indexed)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"%s is not an array: use '%s'.", st->name,
				st->name);
	if (!st->get_at)
		return 0;
	if (!n->indexed)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"%s is an array: ask for one element, as "
				"in '%s(0)'.",
				st->name, st->name);
	int count = st->count(s);
	if (!n->index_ok || n->index < 0 || n->index >= count)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"%s: the index must be a whole number from 0 "
				"to %d (the count is %d).",
				st->name, count - 1, count);
	return 0;
}

/* The value of a row from data, or NULL when it has no readable value
 * (write-only). No error is recorded: callers decide. */
static char *read_row(struct spop *s, const struct setting *st, int index)
{
	if (st->get_at)
		return st->get_at(s, index);
	if (st->get)
		return st->get(s);
	if (!st->offset)
		return NULL;

	void *field = (char *)s + st->offset;
	switch (st->type) {
	case T_BOOL: return g_strdup(*(bool *)field ? "True" : "False");
	case T_INT: return g_strdup_printf("%d", *(int *)field);
	case T_LONG: return g_strdup_printf("%lld", *(long long *)field);
	case T_STR: return g_strdup(*(char **)field ? *(char **)field : "");
	}
	return NULL;
}

/* ---- settings declared by plugins ---- */

/* Values are kept per object; a secret is wiped when it goes. */
struct declared_value {
	char *value;
	bool secret;
};

static void declared_value_free(gpointer p)
{
	struct declared_value *v = p;

	if (v->secret)
		memset(v->value, 0, strlen(v->value));
	g_free(v->value);
	g_free(v);
}

/* The text a declared setting reads back as when it was never set. */
static char *declared_default(const struct spop_setting_decl *d)
{
	const char *def = d->default_value ? d->default_value : "";
	bool b = false;

	switch (d->type) {
	case SPOP_SETTING_BOOL:
		spi_parse_bool(def, &b);
		return g_strdup(b ? "True" : "False");
	case SPOP_SETTING_INT: return g_strdup(*def ? def : "0");
	default: return g_strdup(def);
	}
}

static char *declared_get(struct spop *s, const struct spop_setting_decl *d)
{
	char *key = g_ascii_strdown(d->name, -1);
	struct declared_value *v = g_hash_table_lookup(s->cfg.declared, key);

	g_free(key);
	return v ? g_strdup(v->value) : declared_default(d);
}

/* Checks value by the declaration's type and range, as the registry
 * checked the declaration's default, and stores its canonical form. */
static int declared_set(struct spop *s, const struct spop_setting_decl *d,
			const char *value)
{
	bool secret = d->flags & SPOP_SETTING_SECRET;
	const char *shown = secret ? "(hidden)" : value;
	char *canonical;
	long long v;
	bool b;

	switch (d->type) {
	case SPOP_SETTING_INT:
		if (parse_int(value, &v) || v < d->min || v > d->max)
			return spi_fail(s, SPOP_ERR_INVALID_VALUE,
					"%s='%s': expected a whole number "
					"from %lld to %lld.",
					d->name, shown, d->min, d->max);
		canonical = g_strdup_printf("%lld", v);
		break;
	case SPOP_SETTING_BOOL:
		if (spi_parse_bool(value, &b))
			return spi_fail(s, SPOP_ERR_INVALID_VALUE,
					"%s='%s': expected True, False, 1, 0, "
					"Yes or No.",
					d->name, shown);
		canonical = g_strdup(b ? "True" : "False");
		break;
	default: canonical = g_strdup(value); break;
	}

	struct declared_value *dv = g_new(struct declared_value, 1);
	dv->value = canonical;
	dv->secret = secret;
	g_hash_table_replace(s->cfg.declared, g_ascii_strdown(d->name, -1), dv);
	return 0;
}

/* ---- reading and writing by name ---- */

/* Writes a plain (not array) row of the core table. */
static int set_row(struct spop *s, const struct setting *st, const char *value)
{
	if (st->locked_code && s->conn)
		return spi_fail(s, st->locked_code,
				"%s cannot change while "
				"connected to %s.",
				st->name, s->mail_server);
	if (st->set)
		return st->set(s, value);
	if (!st->offset)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"Config setting '%s' is read-only.", st->name);

	void *field = (char *)s + st->offset;
	long long v;
	bool b;

	switch (st->type) {
	case T_BOOL:
		if (spi_parse_bool(value, &b))
			return spi_fail(s, SPOP_ERR_INVALID_VALUE,
					"%s='%s': expected True, "
					"False, 1, 0, Yes or No.",
					st->name, value);
		*(bool *)field = b;
		break;
	case T_INT:
	case T_LONG:
		if (parse_int(value, &v) || v < st->min || v > st->max)
			return spi_fail(s, SPOP_ERR_INVALID_VALUE,
					"%s='%s': expected a whole "
					"number from %lld to %lld.",
					st->name, value, st->min, st->max);
		if (st->type == T_INT)
			*(int *)field = (int)v;
		else
			*(long long *)field = v;
		break;
	case T_STR:
		g_free(*(char **)field);
		*(char **)field = g_strdup(value);
		break;
	}
	return 0;
}

/* *reported: the failing getter already fired the Error event. */
static char *setting_get(struct spop *s, const char *text, int *rc,
			 bool *reported)
{
	struct config_name n;
	const struct setting *st;
	char *value = NULL;

	*rc = 0;
	*reported = false;
	parse_name(text, &n);
	st = find(n.base);
	if (st) {
		if ((*rc = check_index(s, st, &n)))
			goto out;
		if (!st->get && !st->get_at && !st->offset) {
			*rc = spi_fail(s, SPOP_ERR_INVALID_VALUE,
				       "Config setting '%s' is write-only.",
				       st->name);
			goto out;
		}
		value = read_row(s, st, (int)n.index);
		if (!value) {
			*rc = s->error_code ? s->error_code
					    : SPOP_ERR_INVALID_VALUE;
			*reported = true;
		}
		goto out;
	}
	if (!n.indexed) {
		const struct spop_setting_decl *d;

		if ((*rc = spi_plugin_find_setting(s, n.base, &d)))
			goto out;
		if (d) {
			value = declared_get(s, d);
			goto out;
		}
	}
	*rc = unknown(s, text);
out:
	g_free(n.base);
	return value;
}

char *spi_setting_peek(struct spop *s, const char *name)
{
	struct config_name n;
	const struct setting *st;
	char *value = NULL;

	parse_name(name, &n);
	st = find(n.base);
	if (st) {
		bool fits = st->get_at
				? n.indexed && n.index_ok && n.index >= 0 &&
				      n.index < st->count(s)
				: !n.indexed;

		if (fits && !(st->flags & F_IO))
			value = read_row(s, st, (int)n.index);
	} else if (!n.indexed) {
		/* A plugin reads only settings of plugins already loaded,
		 * as it is itself: no search, no loading, no error. */
		const struct spop_setting_decl *d =
		    spi_plugin_setting_loaded(n.base);

		if (d)
			value = declared_get(s, d);
	}
	g_free(n.base);
	return value;
}

static int setting_set(struct spop *s, const char *text, const char *value)
{
	struct config_name n;
	const struct setting *st;
	int rc;

	parse_name(text, &n);
	st = find(n.base);
	if (!st) {
		const struct spop_setting_decl *d = NULL;

		if (!n.indexed && (rc = spi_plugin_find_setting(s, n.base, &d)))
			goto out;
		rc = d ? declared_set(s, d, value) : unknown(s, text);
		goto out;
	}
	if ((rc = check_index(s, st, &n)))
		goto out;
	if (st->get_at) {
		rc = spi_fail(s, SPOP_ERR_INVALID_VALUE,
			      "Config setting '%s' is read-only.", st->name);
		goto out;
	}
	rc = set_row(s, st, value);
out:
	g_free(n.base);
	return rc;
}

void spi_settings_init(struct spi_settings *c)
{
	memset(c, 0, sizeof(*c));
	c->auto_decode_subject = true;
	c->max_line_length = 2048;
	c->linger = true;
	c->mask_sensitive = true;
	c->select_wait_millis = 20;
	c->close_stream_after_transfer = true;
	c->process_idle_events = true;
	/* The reference's defaults (no TLS, USER/PASS) must work; an
	 * application that wants secrets only under TLS says so. */
	c->allow_plaintext_auth = true;
	/* Message/MessageText are in-memory copies; LocalFile and streams get
	 * everything. 16 MiB keeps a 1 GiB message from being held in RAM. */
	c->message_memory_limit = 16 * 1024 * 1024;
	/* Enough in flight to cover a 10 ms round trip at loopback speed;
	 * a command is ~10 bytes, so the server's input never fills. */
	c->pipeline_window = 128;
	c->list_at_connect = true;
	/* TLS: the reference's defaults, but for SSLEnabledProtocols (see
	 * README "Departures"): TLS 1.2 and 1.3, since TLS 1.0 and 1.1 are
	 * deprecated (RFC 8996) and TLS 1.3 is what servers speak today. */
	c->openssl_ca_dir = g_strdup("");
	c->openssl_ca_file = g_strdup("");
	c->openssl_cipher_list = g_strdup("DEFAULT");
	c->openssl_prng_seed_data = g_strdup("");
	c->ssl_ca_cert_file_paths =
	    g_strdup("/etc/ssl/ca-bundle.pem;/etc/pki/tls/certs/ca-bundle.crt;"
		     "/etc/ssl/certs/ca-certificates.crt;"
		     "/etc/pki/tls/cacert.pem");
	c->ssl_ca_certs = g_strdup("");
	c->ssl_enabled_cipher_suites = g_strdup("*");
	c->ssl_enabled_protocols = 0x3000 | 0xC00;
	c->ssl_enable_renegotiation = true;
	c->ssl_key_log_file = g_strdup("");
	c->ssl_server_ca_certs = g_strdup("");
	c->tls12_signature_algorithms = g_strdup(
	    "sha512-ecdsa,sha512-rsa,sha512-dsa,sha384-ecdsa,sha384-rsa,"
	    "sha384-dsa,sha256-ecdsa,sha256-rsa,sha256-dsa,sha224-ecdsa,"
	    "sha224-rsa,sha224-dsa,sha1-ecdsa,sha1-rsa,sha1-dsa");
	c->tls12_supported_groups =
	    g_strdup("ecdhe_secp256r1,ecdhe_secp384r1,ecdhe_secp521r1");
	c->tls13_key_share_groups =
	    g_strdup("ecdhe_x25519,ecdhe_secp256r1,ecdhe_secp384r1,ffdhe_2048,"
		     "ffdhe_3072");
	c->tls13_signature_algorithms = g_strdup(
	    "rsa_pss_sha256,rsa_pss_sha384,rsa_pss_sha512,rsa_pkcs1_sha256,"
	    "rsa_pkcs1_sha384,rsa_pkcs1_sha512,ecdsa_secp256r1_sha256,"
	    "ecdsa_secp384r1_sha384,ecdsa_secp521r1_sha512,ed25519,ed448");
	c->tls13_supported_groups = g_strdup(
	    "ecdhe_x25519,ecdhe_x448,ecdhe_secp256r1,ecdhe_secp384r1,"
	    "ecdhe_secp521r1,ffdhe_2048,ffdhe_3072,ffdhe_4096,ffdhe_6144,"
	    "ffdhe_8192");
	c->use_internal_security_api = true;
	c->smime_engine = g_strdup("cms");
	c->smime_trusted_certs = g_strdup("");
	c->smime_use_system_trust = true;
	c->smime_crl_file = g_strdup("");
	c->declared = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					    declared_value_free);
}

void spi_settings_clear(struct spi_settings *c)
{
	g_free(c->authorization_identity);
	g_free(c->plugin_path);
	g_free(c->auth_mechanism_name);
	g_free(c->proxy_exceptions_list);
	g_free(c->firewall_data);
	char **strings[] = {
	    &c->openssl_ca_dir,
	    &c->openssl_ca_file,
	    &c->openssl_cipher_list,
	    &c->openssl_prng_seed_data,
	    &c->ssl_ca_cert_file_paths,
	    &c->ssl_ca_certs,
	    &c->ssl_enabled_cipher_suites,
	    &c->ssl_key_log_file,
	    &c->ssl_server_ca_certs,
	    &c->tls12_signature_algorithms,
	    &c->tls12_supported_groups,
	    &c->tls13_key_share_groups,
	    &c->tls13_signature_algorithms,
	    &c->tls13_supported_groups,
	    &c->smime_engine,
	    &c->smime_trusted_certs,
	    &c->smime_crl_file,
	};
	for (size_t i = 0; i < G_N_ELEMENTS(strings); i++)
		g_clear_pointer(strings[i], g_free);
	g_hash_table_destroy(c->declared);
}

static const char *config(struct spop *s, const char *configuration);

SPI_EXPORT const char *spop_config(spop_t *s, const char *configuration)
{
	if (!configuration)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"Config needs \"Name\" or "
				"\"Name=Value\"."),
		       NULL;
	/* From an event handler, a method is running: its error must
	 * survive a Config call that succeeds (spop.h). Outside a method,
	 * Config starts afresh, as a method does. */
	bool in_method = s->busy;
	struct spi_saved_error saved = spi_error_save(s);
	const char *result = config(s, configuration);

	if (result && in_method)
		spi_error_restore(s, &saved);
	spi_error_forget(&saved);
	return result;
}

static const char *config(struct spop *s, const char *configuration)
{
	spi_clear_error(s);

	const char *eq = strchr(configuration, '=');
	if (!eq) {
		char *name = g_strstrip(g_strdup(configuration));
		int rc;
		bool reported;
		char *v = setting_get(s, name, &rc, &reported);

		g_free(name);
		if (rc) {
			if (!reported)
				spi_emit_error(s, rc, s->error_text);
			return NULL;
		}
		g_free(s->config_result);
		s->config_result = v;
		return v;
	}
	char *name = g_strstrip(g_strndup(configuration, eq - configuration));
	int rc = setting_set(s, name, eq + 1);

	g_free(name);
	if (rc) {
		spi_emit_error(s, rc, s->error_text);
		return NULL;
	}
	return "";
}
