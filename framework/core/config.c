/* Config: every setting and property by its seed name. One table says each
 * name's type, range and when it may change; spop_config() reads it. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "spop-build.h"
#include "net/net.h"

enum type { T_BOOL, T_INT, T_LONG, T_STR };

struct setting {
	const char *name;
	enum type type;
	size_t offset; /* of the field in struct spop; custom when 0 */
	long long min, max;
	int locked_code; /* error while connected, 0 when always settable */
	int (*set)(struct spop *s, const char *value);
	char *(*get)(struct spop *s);
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
		return spi_fail(s, 1211,
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
		return spi_fail(s, 1211,
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
		return spi_fail(s, 434,
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
			return spi_fail(s, 1211,                               \
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
			return spi_fail(s, 1211,                               \
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
RO_INT(idle)
RO_INT(message_count)
RO_INT(total_size)
RO_INT(message_size)
RO_INT(message_header_count)
RO_INT(message_recipient_count)
RO_INT(message_encrypted)
RO_INT(message_signed)
RO_STR(last_reply)
RO_STR(message_cc)
RO_STR(message_date)
RO_STR(message_from)
RO_STR(message_headers_string)
RO_STR(message_reply_to)
RO_STR(message_subject)
RO_STR(message_to)
RO_STR(message_uid)

/* The reference: LocalPort reports the port actually bound while
 * connected; the setting itself is never overwritten by it. */
static char *get_local_port(struct spop *s)
{
	int bound = spi_conn_local_port(s);

	return g_strdup_printf("%d", bound ? bound : s->cfg.local_port);
}

static int set_command(struct spop *s, const char *value)
{
	return spop_set_command(s, value);
}

static int set_max_line_length(struct spop *s, const char *value)
{
	long long v;

	if (parse_int(value, &v) || v < 256 || v > 64 * 1024 * 1024)
		return spi_fail(s, 1211,
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

static const struct setting settings[] = {
    /* properties */
    PROP("AuthMechanism", auth_mechanism),
    {"Command", T_STR, 0, 0, 0, 0, set_command, NULL},
    PROP("Connected", connected),
    RO("Idle", idle),
    PROP("IncludeHeaders", include_headers),
    RO("LastReply", last_reply),
    PROP("LocalFile", local_file),
    PROP("MailPort", mail_port),
    PROP("MailServer", mail_server),
    PROP("MaxLines", max_lines),
    RO("MessageCc", message_cc),
    RO("MessageCount", message_count),
    RO("MessageDate", message_date),
    RO("MessageEncrypted", message_encrypted),
    RO("MessageFrom", message_from),
    RO("MessageHeaderCount", message_header_count),
    RO("MessageHeadersString", message_headers_string),
    PROP("MessageNumber", message_number),
    RO("MessageRecipientCount", message_recipient_count),
    RO("MessageReplyTo", message_reply_to),
    RO("MessageSigned", message_signed),
    RO("MessageSize", message_size),
    RO("MessageSubject", message_subject),
    RO("MessageTo", message_to),
    RO("MessageUID", message_uid),
    PROP("Password", password),
    PROP("SSLEnabled", ssl_enabled),
    PROP("SSLProvider", ssl_provider),
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
    {"MaxLineLength", T_INT, CFG(max_line_length), 256, 64 << 20, 112,
     set_max_line_length, NULL},
    /* TCP client settings */
    {"ConnectionTimeout", T_INT, CFG(connection_timeout), 0, G_MAXINT, 0, NULL,
     NULL},
    {"FirewallAutoDetect", T_BOOL, CFG(firewall_auto_detect), NOLIM, 0, NULL,
     NULL},
    {"FirewallHost", T_STR, offsetof(struct spop, firewall_host), NOLIM, 101,
     NULL, NULL},
    {"FirewallPassword", T_STR, offsetof(struct spop, firewall_password), NOLIM,
     0, NULL, NULL},
    {"FirewallPort", T_INT, offsetof(struct spop, firewall_port), 0, 65535, 100,
     NULL, NULL},
    {"FirewallType", T_INT, CFG(firewall_type), 0, 10, 101, set_firewall_type,
     NULL},
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
    {"LocalPort", T_INT, CFG(local_port), 0, 65535, 106, NULL, get_local_port},
    {"MaxTransferRate", T_LONG, CFG(max_transfer_rate), 0, G_MAXINT64, 0, NULL,
     NULL},
    {"ProxyExceptionsList", T_STR, CFG(proxy_exceptions_list), NOLIM, 0, NULL,
     NULL},
    {"TCPKeepAlive", T_BOOL, CFG(tcp_keep_alive), NOLIM, 0, NULL, NULL},
    {"TcpNoDelay", T_BOOL, CFG(tcp_no_delay), NOLIM, 0, NULL, NULL},
    {"UseIPv6", T_INT, CFG(use_ipv6), 0, 2, 0, NULL, NULL},
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
    {"CloseStreamAfterTransfer", T_BOOL, CFG(close_stream_after_transfer),
     NOLIM, 0, NULL, NULL},
    {"MessageMemoryLimit", T_LONG, CFG(message_memory_limit), 0, G_MAXINT64, 0,
     NULL, NULL},
    {"PluginPath", T_STR, CFG(plugin_path), NOLIM, 0, NULL, NULL},
};

/* Named by the reference, owned by features that are not in this build yet:
 * answered with a clear error rather than "unknown". */
static const char *const later_settings[] = {
    "LogSSLPackets",
    "OpenSSLCADir",
    "OpenSSLCAFile",
    "OpenSSLCipherList",
    "OpenSSLPrngSeedData",
    "ReuseSSLSession",
    "SSLCACertFilePaths",
    "SSLCACerts",
    "SSLCipherStrength",
    "SSLEnabledCipherSuites",
    "SSLEnabledProtocols",
    "SSLEnableRenegotiation",
    "SSLIncludeCertChain",
    "SSLKeyLogFile",
    "SSLNegotiatedCipher",
    "SSLNegotiatedCipherStrength",
    "SSLNegotiatedCipherSuite",
    "SSLNegotiatedKeyExchange",
    "SSLNegotiatedKeyExchangeStrength",
    "SSLNegotiatedVersion",
    "SSLSecurityFlags",
    "SSLServerCACerts",
    "TLS12SignatureAlgorithms",
    "TLS12SupportedGroups",
    "TLS13KeyShareGroups",
    "TLS13SignatureAlgorithms",
    "TLS13SupportedGroups",
    "UseInternalSecurityAPI",
    "SMIMEEngine",
};

static const struct setting *find(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(settings); i++)
		if (!g_ascii_strcasecmp(settings[i].name, name))
			return &settings[i];
	return NULL;
}

static int unknown(struct spop *s, const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(later_settings); i++)
		if (!g_ascii_strcasecmp(later_settings[i], name))
			return spi_fail(s, 1212,
					"Config setting '%s' belongs "
					"to TLS or S/MIME support, which this "
					"build of libspop does not have yet.",
					later_settings[i]);
	return spi_fail(s, 1210, "Config setting '%s' is not known.", name);
}

char *spi_setting_get(struct spop *s, const char *name, int *rc)
{
	const struct setting *st = find(name);
	char *value = NULL;

	*rc = 0;
	if (!st) {
		*rc = unknown(s, name);
		return NULL;
	}
	if (st->get) {
		value = st->get(s);
	} else if (st->offset) {
		void *field = (char *)s + st->offset;

		switch (st->type) {
		case T_BOOL:
			value = g_strdup(*(bool *)field ? "True" : "False");
			break;
		case T_INT: value = g_strdup_printf("%d", *(int *)field); break;
		case T_LONG:
			value = g_strdup_printf("%lld", *(long long *)field);
			break;
		case T_STR:
			value =
			    g_strdup(*(char **)field ? *(char **)field : "");
			break;
		}
	} else {
		*rc = spi_fail(s, 1211, "Config setting '%s' is write-only.",
			       st->name);
		return NULL;
	}
	return value;
}

int spi_setting_set(struct spop *s, const char *name, const char *value)
{
	const struct setting *st = find(name);

	if (!st)
		return unknown(s, name);
	if (st->locked_code && s->conn)
		return spi_fail(s, st->locked_code,
				"%s cannot change while "
				"connected to %s.",
				st->name, s->mail_server);
	if (st->set)
		return st->set(s, value);
	if (!st->offset)
		return spi_fail(s, 1211, "Config setting '%s' is read-only.",
				st->name);

	void *field = (char *)s + st->offset;
	long long v;
	bool b;

	switch (st->type) {
	case T_BOOL:
		if (spi_parse_bool(value, &b))
			return spi_fail(s, 1211,
					"%s='%s': expected True, "
					"False, 1, 0, Yes or No.",
					st->name, value);
		*(bool *)field = b;
		break;
	case T_INT:
	case T_LONG:
		if (parse_int(value, &v) || v < st->min || v > st->max)
			return spi_fail(s, 1211,
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
}

void spi_settings_clear(struct spi_settings *c)
{
	g_free(c->authorization_identity);
	g_free(c->plugin_path);
	g_free(c->auth_mechanism_name);
	g_free(c->proxy_exceptions_list);
	g_free(c->firewall_data);
}

SPI_EXPORT const char *spop_config(spop_t *s, const char *configuration)
{
	if (!configuration)
		return spi_fail(s, 1211,
				"Config needs \"Name\" or "
				"\"Name=Value\"."),
		       NULL;
	spi_clear_error(s);

	const char *eq = strchr(configuration, '=');
	if (!eq) {
		char *name = g_strstrip(g_strdup(configuration));
		int rc;
		char *v = spi_setting_get(s, name, &rc);

		g_free(name);
		if (rc) {
			spi_emit_error(s, rc, s->error_text);
			return NULL;
		}
		g_free(s->config_result);
		s->config_result = v;
		return v;
	}
	char *name = g_strstrip(g_strndup(configuration, eq - configuration));
	int rc = spi_setting_set(s, name, eq + 1);

	g_free(name);
	if (rc) {
		spi_emit_error(s, rc, s->error_text);
		return NULL;
	}
	return "";
}
