/* The host-services table handed to plugins: thin adapters from the plugin
 * ABI onto framework functions, so plugins never see framework types. */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "pop3/pop3.h"
#include "tls/tls.h"

/* Every host the core hands out is the pub member of a struct spi_host. */
#define HOST(h) ((struct spi_host *)(void *)(h))
#define CORE(h) (HOST(h)->s)

/* Settings come from data only (spi_setting_peek): a getter that talks to
 * the server would re-enter the method layer from inside a plugin call,
 * and reading must leave the method's error as it is. */
static const char *h_setting(struct spop_host *h, const char *name)
{
	struct spop *s = CORE(h);
	/* a proxy FirewallAutoDetect found stands in for the Firewall*
	 * settings (net/proxy.c) */
	char *v = spi_proxy_setting(s, name);

	if (!v && name)
		v = spi_setting_peek(s, name);
	/* Kept until the object is freed or the next method starts, which
	 * outlives the plugin call as plugin.h promises. */
	if (v)
		g_ptr_array_add(s->host_strings, v);
	return v;
}

static long long h_setting_int(struct spop_host *h, const char *name,
			       long long fallback)
{
	char *v = spi_proxy_setting(CORE(h), name);
	long long n = fallback;
	char *end;
	bool b;

	if (!v && name)
		v = spi_setting_peek(CORE(h), name);
	/* Parsed here and freed: only setting() must keep its strings. */
	if (!v)
		return fallback;
	if (!spi_parse_bool(v, &b))
		n = b;
	else if (*v && (n = strtoll(v, &end, 10), *end))
		n = fallback;
	g_free(v);
	return n;
}

static int h_wait_fd(struct spop_host *h, int fd, int events)
{
	return spi_wait_fd(CORE(h), fd, events);
}

static int h_resolve(struct spop_host *h, const char *name, int port,
		     struct spop_address **list, size_t *count)
{
	return spi_resolve(CORE(h), name, port, list, count);
}

static int h_tcp_connect(struct spop_host *h, const char *name, int port,
			 int *fd)
{
	return spi_tcp_connect(CORE(h), name, port, fd);
}

static ssize_t h_read_some(struct spop_host *h, int fd, void *buf, size_t len)
{
	return spi_fd_read_some(CORE(h), fd, buf, len);
}

static int h_write_all(struct spop_host *h, int fd, const void *buf, size_t len)
{
	return spi_fd_write_all(CORE(h), fd, buf, len);
}

static int h_command(struct spop_host *h, const char *line, size_t mask_from,
		     const char **reply)
{
	struct spi_reply r;
	int rc = spi_pop3_command(CORE(h), line, mask_from, &r);

	if (reply)
		*reply = spi_str(CORE(h)->last_reply);
	return rc;
}

static const char *h_greeting(struct spop_host *h)
{
	return CORE(h)->greeting ? CORE(h)->greeting : "";
}

static int h_has_capability(struct spop_host *h, const char *name)
{
	return spi_capa_args(CORE(h)->capabilities, name) != NULL;
}

static const char *h_capability_args(struct spop_host *h, const char *name)
{
	return spi_capa_args(CORE(h)->capabilities, name);
}

static void *h_alloc(struct spop_host *h, size_t len)
{
	return g_malloc(len ? len : 1);
}

static void h_free(struct spop_host *h, void *p)
{
	g_free(p);
}

static char *h_base64_encode(struct spop_host *h, const void *data, size_t len)
{
	return g_base64_encode(data, len);
}

/* g_base64_decode skips what it does not know; SASL and plugins need
 * input that is exactly base64 or refused. "" decodes to an empty buffer.
 */
void *spi_base64_decode_strict(const char *text, size_t *len)
{
	size_t n = strlen(text);
	gsize out = 0;

	*len = 0;
	if (n % 4)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = text[i];

		/* '=' only as padding: the last one or two characters */
		if (!(g_ascii_isalnum(c) || c == '+' || c == '/' ||
		      (c == '=' && i >= n - 2 &&
		       (i == n - 1 || text[n - 1] == '='))))
			return NULL;
	}
	if (!n)
		return g_malloc0(1);
	void *p = g_base64_decode(text, &out);
	*len = out;
	return p;
}

static void *h_base64_decode(struct spop_host *h, const char *text, size_t *len)
{
	return spi_base64_decode_strict(text, len);
}

static int h_random(struct spop_host *h, void *buf, size_t len)
{
	if (gnutls_rnd(GNUTLS_RND_KEY, buf, len) < 0)
		return spi_fail(CORE(h), SPOP_ERR_CREDENTIALS,
				"No random bytes available.");
	return 0;
}

static int64_t h_now(struct spop_host *h)
{
	(void)h;
	return g_get_real_time();
}

static void h_trail(struct spop_host *h, int direction, const char *text)
{
	spi_trail(CORE(h), direction, text, strlen(text));
}

static void h_connection_status(struct spop_host *h, const char *event,
				int code, const char *description)
{
	spi_emit_connection_status(CORE(h), event, code, description);
}

static void h_ssl_status(struct spop_host *h, const char *message)
{
	spi_emit_ssl_status(CORE(h), "%s", message ? message : "");
}

static int h_server_certificate(struct spop_host *h,
				const struct spop_cert_report *r)
{
	return spi_tls_server_certificate(CORE(h), r);
}

static int h_client_certificate(struct spop_host *h,
				const struct spop_tls_credential **cred)
{
	struct spi_host *host = HOST(h);
	struct spop *s = CORE(h);

	*cred = NULL;
	if (!host->layer)
		return spi_fail(s, SPOP_ERR_NOT_AVAILABLE,
				"Client certificates are for TLS layers.");
	if (!host->cert) {
		int rc =
		    spi_cert_choice_open(s, &s->ssl_cert, true, &host->cert);
		/* At Connect the reference calls a missing client
		 * certificate 281; 272 is for the search when set. */
		if (rc == SPOP_ERR_CERT_NOT_FOUND) {
			char *why = g_strdup(s->error_text);
			rc = spi_fail(s, SPOP_ERR_NO_CLIENT_CERT,
				      "The client certificate was not found: "
				      "%s",
				      why ? why : "");
			g_free(why);
		}
		if (rc)
			return rc;
		if (!host->cert)
			return 0;
	}
	*cred = spi_cert_choice_credential(host->cert, s->cfg.ssl_ca_certs);
	return 0;
}

static const char *provider_name(struct spop_host *h)
{
	struct spi_host *host = HOST(h);

	return host->layer ? spi_layer_plugin_name(host->layer) : "";
}

static const void *h_session_cache_get(struct spop_host *h, size_t *len)
{
	return spi_tls_cache_get(CORE(h), provider_name(h), len);
}

static void h_session_cache_put(struct spop_host *h, const void *data,
				size_t len)
{
	spi_tls_cache_put(CORE(h), provider_name(h), data, len);
}

static void h_key_log(struct spop_host *h, const char *line)
{
	spi_tls_key_log(CORE(h), line);
}

/* A plugin outside the stack (auth, transport open) has no layer below. */
static ssize_t no_layer(struct spop_host *h)
{
	return -spi_fail(CORE(h), SPOP_ERR_NOT_AVAILABLE,
			 "Stream I/O is only for plugins in the connection "
			 "stack (TLS layers).");
}

static ssize_t h_io_read(struct spop_host *h, void *buf, size_t len)
{
	if (!HOST(h)->layer)
		return no_layer(h);
	return spi_layer_io_read(HOST(h)->layer, buf, len);
}

static ssize_t h_io_write(struct spop_host *h, const void *buf, size_t len)
{
	if (!HOST(h)->layer)
		return no_layer(h);
	return spi_layer_io_write(HOST(h)->layer, buf, len);
}

static int h_io_wait(struct spop_host *h, int events)
{
	if (!HOST(h)->layer)
		return (int)-no_layer(h);
	return spi_layer_io_wait(HOST(h)->layer, events);
}

static int h_channel_binding(struct spop_host *h, const char *type,
			     unsigned char **data, size_t *len)
{
	return spi_conn_channel_binding(CORE(h), type, data, len);
}

static int h_tls_active(struct spop_host *h)
{
	return spi_conn_tls_active(CORE(h));
}

static int h_set_error(struct spop_host *h, int code, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static int h_set_error(struct spop_host *h, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spi_failv(CORE(h), code, fmt, ap);
	va_end(ap);
	return code;
}

void spi_host_init(struct spi_host *host, struct spop *s,
		   struct spi_layer *layer)
{
	host->s = s;
	host->layer = layer;
	host->cert = NULL;
	host->pub = (struct spop_host){
	    .size = sizeof(struct spop_host),
	    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
	    .core = host,
	    .setting = h_setting,
	    .setting_int = h_setting_int,
	    .wait_fd = h_wait_fd,
	    .resolve = h_resolve,
	    .tcp_connect = h_tcp_connect,
	    .read_some = h_read_some,
	    .write_all = h_write_all,
	    .command = h_command,
	    .greeting = h_greeting,
	    .has_capability = h_has_capability,
	    .alloc = h_alloc,
	    .free = h_free,
	    .base64_encode = h_base64_encode,
	    .base64_decode = h_base64_decode,
	    .random = h_random,
	    .trail = h_trail,
	    .connection_status = h_connection_status,
	    .ssl_status = h_ssl_status,
	    .server_certificate = h_server_certificate,
	    .set_error = h_set_error,
	    .io_read = h_io_read,
	    .io_write = h_io_write,
	    .io_wait = h_io_wait,
	    .capability_args = h_capability_args,
	    .channel_binding = h_channel_binding,
	    .tls_active = h_tls_active,
	    .client_certificate = h_client_certificate,
	    .session_cache_get = h_session_cache_get,
	    .session_cache_put = h_session_cache_put,
	    .key_log = h_key_log,
	    .now = h_now,
	};
}
