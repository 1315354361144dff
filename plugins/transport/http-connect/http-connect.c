/* Transport "http-connect" (FirewallType 1, "tunnel"): an HTTP proxy's
 * CONNECT method (RFC 9110 9.3.6) with optional Basic authentication
 * (RFC 7617) from FirewallUser/FirewallPassword and extra request headers
 * from FirewallData.
 *
 * Why not GIO's GProxy: it works on a GIOStream and blocks inside
 * g_proxy_connect() without our Timeout, AbsoluteTimeout or Interrupt, and
 * its HTTP reader buffers past the reply headers (the POP3 greeting the
 * proxy may send in the same packet would be lost, since a transport hands
 * back only an fd). host->write_all / host->read_some honour all three, so
 * the exchange is written here: it is short and exact.
 *
 * Why byte-at-a-time reads: the reply must end exactly at its blank line,
 * and everything after it belongs to the layer above, which reads the fd.
 * MSG_PEEK would save system calls but needs the fd directly (bypassing
 * the host's timeout and interrupt handling); the reply is a few hundred
 * bytes once per connection, so one byte per read costs nothing that
 * matters. The reply is capped at REPLY_MAX bytes. A proxy failure is
 * reported as such; there is never a fallback to a direct connection. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include <spop/plugin.h>

#define REPLY_MAX 16384 /* status line and headers together */
#define LINE_MAX_ 4096	/* one line of the reply */

/* Text of at most len bytes with control and non-ASCII bytes as \xHH, for
 * an error message; the proxy's words are not trusted. */
static void escape(const char *in, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o +=
			    (size_t)snprintf(out + o, outlen - o, "\\x%02X", c);
	}
	out[o] = '\0';
}

/* Reads one CRLF-terminated line into buf (without CRLF). *total counts the
 * reply's bytes against REPLY_MAX. Returns its length, or -code. */
static long read_line(struct spop_host *h, int fd, char *buf, size_t cap,
		      size_t *total, const char *proxy, int port)
{
	size_t n = 0;

	for (;;) {
		char c;
		ssize_t r = h->read_some(h, fd, &c, 1);
		if (r < 0) {
			if (r == -1120)
				return -h->set_error(
				    h, SPOP_ERR_FIREWALL,
				    "HTTP proxy %s:%d closed the connection "
				    "before the end of its CONNECT reply.",
				    proxy, port);
			return r; /* the host set the error */
		}
		if (++*total > REPLY_MAX || n + 1 >= cap)
			return -h->set_error(h, SPOP_ERR_FIREWALL,
					     "HTTP proxy %s:%d sent a CONNECT "
					     "reply longer than %d bytes.",
					     proxy, port, REPLY_MAX);
		if (c == '\n') {
			if (n == 0 || buf[n - 1] != '\r')
				return -h->set_error(
				    h, SPOP_ERR_FIREWALL,
				    "HTTP proxy %s:%d sent a reply line "
				    "ending in a bare LF.",
				    proxy, port);
			buf[--n] = '\0';
			return (long)n;
		}
		buf[n++] = c;
	}
}

/* "HTTP/1.D SSS[ reason]": returns SSS or -1. */
static int parse_status(const char *l)
{
	if (strncmp(l, "HTTP/1.", 7) || !g_ascii_isdigit(l[7]) || l[8] != ' ')
		return -1;
	for (int i = 9; i < 12; i++)
		if (!g_ascii_isdigit(l[i]))
			return -1;
	if (l[12] != '\0' && l[12] != ' ')
		return -1;
	return (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
}

/* An RFC 9110 token character (header field names). */
static int is_tchar(char c)
{
	return g_ascii_isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* FirewallData: header lines separated by CRLF or LF, each "Name: value"
 * with a token name and a value without control characters other than
 * HTAB. Appends them CRLF-terminated to req; 0 or an error code. */
static int add_extra_headers(struct spop_host *h, const char *data,
			     GString *req)
{
	gchar **lines = g_strsplit(data, "\n", -1);
	int rc = 0;

	for (gchar **l = lines; *l && !rc; l++) {
		size_t len = strlen(*l);
		if (len && (*l)[len - 1] == '\r')
			(*l)[--len] = '\0';
		if (!len)
			continue;
		const char *colon = strchr(*l, ':');
		const char *p = *l;
		while (colon && p < colon && is_tchar(*p))
			p++;
		int ok = colon && colon > *l && p == colon;
		for (p = colon ? colon + 1 : *l; ok && *p; p++)
			if (((unsigned char)*p < 0x20 && *p != '\t') ||
			    *p == 0x7f)
				ok = 0;
		if (!ok) {
			char shown[200];
			escape(*l, len, shown, sizeof(shown));
			rc = h->set_error(h, SPOP_ERR_INVALID_ARGUMENT,
					  "FirewallData line '%s' is not an "
					  "HTTP header line 'Name: value'.",
					  shown);
			break;
		}
		g_string_append_printf(req, "%s\r\n", *l);
	}
	g_strfreev(lines);
	return rc;
}

/* Appends FirewallData's header lines to shown, the values of those that
 * carry credentials masked (after an auth scheme's name, if any), as the
 * Basic credentials built from FirewallUser/FirewallPassword are. */
static void append_masked(GString *shown, const char *headers)
{
	static const char *const secret[] = {"Authorization",
					     "Proxy-Authorization", "Cookie"};
	gchar **lines = g_strsplit(headers, "\r\n", -1);

	for (gchar **l = lines; *l; l++) {
		const char *colon = strchr(*l, ':');
		gboolean hide = FALSE;

		if (!**l)
			continue;
		for (size_t i = 0; colon && i < G_N_ELEMENTS(secret); i++)
			hide |= strlen(secret[i]) == (size_t)(colon - *l) &&
				!g_ascii_strncasecmp(*l, secret[i],
						     (size_t)(colon - *l));
		if (!hide) {
			g_string_append_printf(shown, "%s\r\n", *l);
			continue;
		}
		const char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		const char *sp = strchr(v, ' ');
		g_string_append_printf(shown, "%.*s ****\r\n",
				       (int)(sp ? sp - *l : colon + 1 - *l),
				       *l);
	}
	g_strfreev(lines);
}

/* Builds the request. *shown is the same with the credentials masked, for
 * the trail. */
static int build_request(struct spop_host *h, const char *name, int port,
			 GString *req, GString *shown)
{
	const char *user = h->setting(h, "FirewallUser");
	const char *pass = h->setting(h, "FirewallPassword");
	const char *data = h->setting(h, "FirewallData");
	/* An IPv6 literal goes in brackets (RFC 9110 7.2, authority-form). */
	int v6 = strchr(name, ':') != NULL;
	char *target = g_strdup_printf(v6 ? "[%s]:%d" : "%s:%d", name, port);

	for (const char *p = name; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '[' ||
		    *p == ']' || *p == '/' || *p == '@') {
			g_free(target);
			return h->set_error(h, SPOP_ERR_INVALID_ARGUMENT,
					    "MailServer contains a character "
					    "an HTTP CONNECT target cannot "
					    "carry.");
		}
	g_string_printf(req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", target,
			target);
	g_free(target);
	g_string_assign(shown, req->str);
	if (user && *user) {
		if (strchr(user, ':'))
			return h->set_error(h, SPOP_ERR_INVALID_ARGUMENT,
					    "FirewallUser contains ':', which "
					    "HTTP Basic authentication cannot "
					    "carry.");
		char *pair = g_strconcat(user, ":", pass ? pass : "", NULL);
		char *b64 = h->base64_encode(h, pair, strlen(pair));
		memset(pair, 0, strlen(pair));
		g_free(pair);
		if (!b64)
			return h->set_error(h, SPOP_ERR_INVALID_ARGUMENT,
					    "Cannot encode the proxy "
					    "credentials.");
		g_string_append_printf(req, "Proxy-Authorization: Basic %s\r\n",
				       b64);
		memset(b64, 0, strlen(b64));
		h->free(h, b64);
		g_string_append(shown, "Proxy-Authorization: Basic ****\r\n");
	}
	if (data && *data) {
		size_t before = req->len;
		int rc = add_extra_headers(h, data, req);
		if (rc)
			return rc;
		append_masked(shown, req->str + before);
	}
	g_string_append(req, "\r\n");
	return 0;
}

/* Sends the request built by build_request and reads the reply. */
static int exchange(struct spop_host *h, int fd, GString *req, GString *shown,
		    const char *name, int port, const char *proxy, int pport)
{
	gchar **lines = g_strsplit(shown->str, "\r\n", -1);
	for (gchar **l = lines; *l; l++)
		if (**l)
			h->trail(h, SPOP_TRAIL_CLIENT, *l);
	g_strfreev(lines);
	int rc = h->write_all(h, fd, req->str, req->len);
	if (rc)
		return rc;

	char line[LINE_MAX_];
	size_t total = 0;
	long n = read_line(h, fd, line, sizeof(line), &total, proxy, pport);
	if (n < 0)
		return (int)-n;
	h->trail(h, SPOP_TRAIL_SERVER, line);
	char status[LINE_MAX_ * 4 + 8];
	escape(line, (size_t)n, status, sizeof(status));
	int code = parse_status(line);
	if (code < 0)
		return h->set_error(h, SPOP_ERR_FIREWALL,
				    "HTTP proxy %s:%d sent a malformed "
				    "status line: '%s'.",
				    proxy, pport, status);
	/* The headers, up to the blank line, are read even on failure so
	 * that a too-long or truncated reply is reported as such. */
	for (;;) {
		n = read_line(h, fd, line, sizeof(line), &total, proxy, pport);
		if (n < 0)
			return (int)-n;
		if (n == 0)
			break;
	}
	/* 407 is the standard answer; some proxies (tinyproxy 1.11) answer
	 * wrong credentials with 401. */
	if (code == 407 || code == 401)
		return h->set_error(h, SPOP_ERR_FIREWALL,
				    "HTTP proxy %s:%d wants %s credentials: "
				    "'%s'.",
				    proxy, pport,
				    h->setting(h, "FirewallUser") &&
					    *h->setting(h, "FirewallUser")
					? "other"
					: "FirewallUser/FirewallPassword",
				    status);
	if (code < 200 || code > 299)
		return h->set_error(h, SPOP_ERR_FIREWALL,
				    "HTTP proxy %s:%d refused CONNECT to "
				    "%s port %d: '%s'.",
				    proxy, pport, name, port, status);
	return 0;
}

static int http_connect_open(struct spop_host *h, const char *name, int port,
			     int *fd, void **state)
{
	const char *proxy = h->setting(h, "FirewallHost");
	int pport = (int)h->setting_int(h, "FirewallPort", 80);
	int rc;

	*state = NULL;
	*fd = -1;
	if (!proxy || !*proxy)
		return h->set_error(h, SPOP_ERR_FIREWALL,
				    "FirewallType 1 (HTTP CONNECT tunnel) "
				    "needs FirewallHost.");
	/* CONNECT always hands the name to the proxy, so '*name' (resolve
	 * at the proxy) is what happens anyway. */
	if (*name == '*')
		name++;
	/* The request is built and checked before any connection, so a bad
	 * FirewallData or FirewallUser never reaches the network. */
	GString *req = g_string_new(NULL);
	GString *shown = g_string_new(NULL);
	char *proxy_copy = g_strdup(proxy);
	rc = build_request(h, name, port, req, shown);
	if (!rc)
		rc = h->tcp_connect(h, proxy_copy, pport, fd);
	if (!rc) {
		rc =
		    exchange(h, *fd, req, shown, name, port, proxy_copy, pport);
		if (rc) {
			close(*fd);
			*fd = -1;
		}
	}
	memset(req->str, 0, req->len);
	g_string_free(req, TRUE);
	g_string_free(shown, TRUE);
	g_free(proxy_copy);
	return rc;
}

static const struct spop_transport_ops ops = {
    .size = sizeof(struct spop_transport_ops),
    .open = http_connect_open,
};

static const int32_t selectors[] = {1};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_TRANSPORT,
    .name = "http-connect",
    .version = "1.0",
    .description = "HTTP proxy CONNECT tunnel (FirewallType 1)",
    .selectors = selectors,
    .n_selectors = 1,
    .capabilities =
	SPOP_CAP_TRANSPORT_REMOTE_DNS | SPOP_CAP_TRANSPORT_PROXY_AUTH,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
