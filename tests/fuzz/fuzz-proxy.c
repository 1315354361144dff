/* The proxy transports' reply parsers: socks4 (SOCKS4, SOCKS4A), socks5
 * (with and without username/password) and http-connect, each module
 * loaded through the registry and its open() driven through the core's
 * own host. The first input byte picks the variant; the rest is all the
 * proxy ever sends: host->tcp_connect is replaced by one end of a
 * socketpair whose other end holds those bytes and then ends the stream,
 * so every read is the core's own read_some and nothing waits.
 *
 * Checked against a model of each protocol written here from the RFCs
 * (SOCKS4, RFC 1928/1929, RFC 9110 9.3.6): open() returns 0 exactly when
 * the reply is a complete success, otherwise 118 with a message naming
 * the proxy host:port; no crash, leak or over-read. */
#include "fuzz.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "spop-private.h"

#define PROXY	   "proxy.invalid"
#define PROXY_PORT 1080

enum kind { SOCKS4, SOCKS4A, SOCKS5, SOCKS5_AUTH, HTTP, HTTP_AUTH };

static const struct variant {
	enum kind kind;
	const char *plugin, *type, *name, *user;
} variants[] = {
    {SOCKS4, "socks4", "2", "192.0.2.1", ""},
    {SOCKS4A, "socks4", "10", "*pop.example", "alice"},
    {SOCKS5, "socks5", "3", "192.0.2.1", ""},
    {SOCKS5_AUTH, "socks5", "3", "*pop.example", "alice"},
    {HTTP, "http-connect", "1", "pop.example", ""},
    {HTTP_AUTH, "http-connect", "1", "2001:db8::1", "alice"},
};

static spop_t *s;
static const struct spop_plugin_descriptor *desc[G_N_ELEMENTS(variants)];
static const uint8_t *reply;
static size_t reply_len;
static int peer = -1; /* the proxy's end of the socketpair */

static int fake_connect(struct spop_host *h, const char *name, int port,
			int *fd)
{
	int sv[2];

	if (strcmp(name, PROXY) || port != PROXY_PORT) {
		fprintf(stderr, "fuzz-proxy: connect to %s:%d, not the proxy\n",
			name, port);
		abort();
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		abort();
	/* The whole reply, then the end of the stream; the request the
	 * plugin writes waits in sv[1]'s buffer, unread. */
	if (reply_len && write(sv[1], reply, reply_len) != (ssize_t)reply_len)
		abort();
	shutdown(sv[1], SHUT_WR);
	peer = sv[1];
	*fd = sv[0];
	return 0;
}

static void init(void)
{
	signal(SIGPIPE, SIG_IGN);
	fuzz_use_plugins(PLUGIN_DIR);
	s = spop_new();
	for (size_t i = 0; i < G_N_ELEMENTS(variants); i++)
		if (spi_plugin_by_name(s, SPOP_PLUGIN_TRANSPORT,
				       variants[i].plugin, &desc[i]) ||
		    !desc[i]) {
			fprintf(stderr, "fuzz-proxy: no %s plugin in %s: %s\n",
				variants[i].plugin, PLUGIN_DIR,
				spop_last_error(s));
			abort();
		}
	if (!spop_config(s, "FirewallHost=" PROXY) ||
	    !spop_config(s, "FirewallPassword=secret") ||
	    !spop_config(s, "Timeout=5"))
		abort();
}

/* ---- the model: whether the proxy's bytes are a complete success ---- */

static bool socks5_ok(const uint8_t *p, size_t n, bool auth)
{
	size_t at = 2;

	if (n < 2 || p[0] != 5)
		return false;
	if (p[1] == 2 && auth) {
		if (n < 4 || p[2] != 1 || p[3] != 0)
			return false;
		at = 4;
	} else if (p[1] != 0) {
		return false;
	}
	/* VER REP RSV ATYP BND.ADDR BND.PORT */
	if (n < at + 4 || p[at] != 5 || p[at + 1] != 0)
		return false;
	switch (p[at + 3]) {
	case 1: return n >= at + 4 + 4 + 2;
	case 4: return n >= at + 4 + 16 + 2;
	case 3: return n >= at + 5 && n >= at + 5 + p[at + 4] + 2u;
	default: return false;
	}
}

/* One CRLF line as http-connect's limits read it (4095 bytes with the
 * CR, 16384 in all): its length without CRLF, or -1. */
static long http_line(const uint8_t *p, size_t n, size_t *at)
{
	size_t start = *at;

	for (size_t i = start; i < n; i++) {
		if (i + 1 > 16384 || i - start + 1 >= 4096)
			return -1;
		if (p[i] == '\n') {
			if (i == start || p[i - 1] != '\r')
				return -1;
			*at = i + 1;
			return (long)(i - 1 - start);
		}
	}
	return -1;
}

static bool http_ok(const uint8_t *p, size_t n)
{
	size_t at = 0;
	long len = http_line(p, n, &at);
	char line[4096];

	if (len < 0)
		return false;
	/* the status line as a C string: a NUL ends it */
	memcpy(line, p, (size_t)len);
	line[len] = '\0';
	if (strncmp(line, "HTTP/1.", 7) || !g_ascii_isdigit(line[7]) ||
	    line[8] != ' ' || line[9] != '2' || !g_ascii_isdigit(line[10]) ||
	    !g_ascii_isdigit(line[11]) || (line[12] && line[12] != ' '))
		return false;
	while ((len = http_line(p, n, &at)) > 0)
		;
	return len == 0;
}

static bool success(enum kind k, const uint8_t *p, size_t n)
{
	switch (k) {
	case SOCKS4:
	case SOCKS4A: return n >= 8 && p[0] == 0 && p[1] == 90;
	case SOCKS5: return socks5_ok(p, n, false);
	case SOCKS5_AUTH: return socks5_ok(p, n, true);
	case HTTP:
	case HTTP_AUTH: return http_ok(p, n);
	}
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct variant *v;
	const struct spop_transport_ops *ops;
	struct spi_host host;
	char setting[64];
	void *state = NULL;
	int fd = -1, rc;
	bool want;

	if (!s)
		init();
	if (!size)
		return 0;
	v = &variants[data[0] % G_N_ELEMENTS(variants)];
	ops = desc[data[0] % G_N_ELEMENTS(variants)]->ops;
	reply = data + 1;
	reply_len = size - 1;
	snprintf(setting, sizeof(setting), "FirewallType=%s", v->type);
	if (!spop_config(s, setting))
		abort();
	/* after the type, which sets the port to its protocol's default */
	if (!spop_config(s, "FirewallPort=1080"))
		abort();
	snprintf(setting, sizeof(setting), "FirewallUser=%s", v->user);
	if (!spop_config(s, setting))
		abort();
	spi_host_init(&host, s, NULL);
	host.pub.tcp_connect = fake_connect;
	spi_clear_error(s);

	rc = ops->open(&host.pub, v->name, 110, &fd, &state);
	want = success(v->kind, reply, reply_len);
	if (rc == 0) {
		if (fd < 0 || !want) {
			fprintf(stderr,
				"fuzz-proxy: %s accepted a reply that is not "
				"a success (fd %d)\n",
				v->plugin, fd);
			abort();
		}
		close(fd);
		if (ops->close)
			ops->close(&host.pub, state);
	} else {
		const char *e = spop_last_error(s);

		if (want || rc != SPOP_ERR_FIREWALL ||
		    spop_last_error_code(s) != rc || !e ||
		    !strstr(e, PROXY ":1080")) {
			fprintf(stderr,
				"fuzz-proxy: %s returned %d (success "
				"expected: %d): %s\n",
				v->plugin, rc, want, e ? e : "(no message)");
			abort();
		}
	}
	if (peer >= 0)
		close(peer);
	peer = -1;
	return 0;
}
