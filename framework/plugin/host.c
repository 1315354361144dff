/* The host-services table handed to plugins: thin adapters from the plugin
 * ABI onto framework functions, so plugins never see framework types. */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>

#include "spop-private.h"

#define CORE(h) ((struct spop *)(h)->core)

/* Settings come from data only (spi_setting_peek): a getter that talks to
 * the server would re-enter the method layer from inside a plugin call,
 * and reading must leave the method's error as it is. */
static const char *h_setting(struct spop_host *h, const char *name)
{
	struct spop *s = CORE(h);
	char *v = name ? spi_setting_peek(s, name) : NULL;

	/* Kept until the object is freed or the next method starts, which
	 * outlives the plugin call as plugin.h promises. */
	if (v)
		g_ptr_array_add(s->host_strings, v);
	return v;
}

static long long h_setting_int(struct spop_host *h, const char *name,
			       long long fallback)
{
	char *v = name ? spi_setting_peek(CORE(h), name) : NULL;
	long long n = fallback;
	char *end;
	bool b;

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
	return spi_conn_wait(CORE(h), fd, events);
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
		*reply = CORE(h)->last_reply ? CORE(h)->last_reply : "";
	return rc;
}

static const char *h_greeting(struct spop_host *h)
{
	return CORE(h)->greeting ? CORE(h)->greeting : "";
}

static int h_has_capability(struct spop_host *h, const char *name)
{
	GPtrArray *caps = CORE(h)->capabilities;
	size_t n = strlen(name);

	for (guint i = 0; caps && i < caps->len; i++) {
		const char *c = caps->pdata[i];

		if (!g_ascii_strncasecmp(c, name, n) &&
		    (c[n] == '\0' || c[n] == ' '))
			return 1;
	}
	return 0;
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

/* g_base64_decode skips invalid characters; SASL needs a strict check. */
static void *h_base64_decode(struct spop_host *h, const char *text, size_t *len)
{
	size_t n = strlen(text);

	if (n % 4)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = text[i];

		if (!(g_ascii_isalnum(c) || c == '+' || c == '/' ||
		      (c == '=' && i >= n - 2)))
			return NULL;
	}
	gsize out;
	void *p = g_base64_decode(text, &out);
	*len = out;
	return p;
}

static int h_random(struct spop_host *h, void *buf, size_t len)
{
	if (gnutls_rnd(GNUTLS_RND_KEY, buf, len) < 0)
		return spi_fail(CORE(h), 273, "No random bytes available.");
	return 0;
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
	/* SSLStatus has no public handler until TLS lands; the trail shows
	 * it so nothing a plugin says is lost. */
	spi_trail(CORE(h), SPOP_TRAIL_INFO, message, strlen(message));
}

static int h_server_certificate(struct spop_host *h,
				const struct spop_cert_report *r)
{
	/* Without the TLS layer there is no application hook yet: accept only
	 * what verified, failing closed. */
	return r && r->verified;
}

static int h_set_error(struct spop_host *h, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spi_failv(CORE(h), code, fmt, ap);
	va_end(ap);
	return code;
}

void spi_host_init(struct spop_host *host, struct spop *s)
{
	*host = (struct spop_host){
	    .size = sizeof(struct spop_host),
	    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
	    .core = s,
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
	};
}
