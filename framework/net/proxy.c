/* Which proxy a connect goes through: the Firewall* settings, or with
 * FirewallAutoDetect (and FirewallType 0) the conventional environment
 * variables, in this order, lower case before upper case:
 *
 *   all_proxy, socks_proxy, https_proxy, http_proxy
 *
 * (HTTP_PROXY in upper case is not read: CGI programs get it from a
 * request header, "httpoxy"). A variable's URL is read with GLib's URI
 * parser: socks4://, socks4a://, socks5://, socks5h:// (and socks://, taken
 * as socks5) or http:// (a CONNECT tunnel), with [user[:password]@] and an
 * optional port (1080, 80 for http, as FirewallType sets). The MailServer
 * bypasses the proxy when it is in ProxyExceptionsList (';'-separated), or
 * for a detected proxy in no_proxy/NO_PROXY (','-separated): an exact name
 * or address, "*.domain" or ".domain" for a domain and everything below
 * it, "*" for every host. secure_getenv(): set-id programs read nothing. */
#include <gio/gio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

struct spi_proxy {
	int type; /* FirewallType */
	char *host, *user, *password;
	int port;
	bool remote_dns; /* socks4a, socks5h: the proxy resolves */
};

static const struct {
	const char *scheme;
	int type;
	bool remote_dns;
	int port;
} schemes[] = {
    {"socks4", SPOP_FW_SOCKS4, false, 1080},
    {"socks4a", SPOP_FW_SOCKS4A, true, 1080},
    {"socks5", SPOP_FW_SOCKS5, false, 1080},
    {"socks5h", SPOP_FW_SOCKS5, true, 1080},
    {"socks", SPOP_FW_SOCKS5, false, 1080},
    {"http", SPOP_FW_TUNNEL, false, 80},
};

static const char *const variables[] = {
    "all_proxy",   "ALL_PROXY",	  "socks_proxy", "SOCKS_PROXY",
    "https_proxy", "HTTPS_PROXY", "http_proxy",
};

void spi_proxy_forget(struct spop *s)
{
	struct spi_proxy *p = s->detected_proxy;

	if (!p)
		return;
	g_free(p->host);
	g_free(p->user);
	if (p->password)
		memset(p->password, 0, strlen(p->password));
	g_free(p->password);
	g_free(p);
	s->detected_proxy = NULL;
}

/* One exception entry against the server's name (no leading '*'). */
static bool excepted_by(const char *entry, size_t len, const char *server)
{
	char *e = g_strstrip(g_strndup(entry, len));
	bool hit = false;

	if (!*e) {
		g_free(e);
		return false;
	}
	if (!strcmp(e, "*")) {
		hit = true;
	} else if (e[0] == '.' || (e[0] == '*' && e[1] == '.')) {
		const char *domain = e[0] == '.' ? e + 1 : e + 2;
		size_t dl = strlen(domain), sl = strlen(server);

		hit = !g_ascii_strcasecmp(server, domain) ||
		      (sl > dl && server[sl - dl - 1] == '.' &&
		       !g_ascii_strcasecmp(server + sl - dl, domain));
	} else {
		/* Addresses compare as addresses ("::1" and "0::1"); names
		 * without regard to case. Brackets around IPv6 go. */
		size_t el = strlen(e);
		char *bare = e[0] == '[' && el > 2 && e[el - 1] == ']'
				 ? g_strndup(e + 1, el - 2)
				 : g_strdup(e);
		GInetAddress *a = g_inet_address_new_from_string(bare);
		GInetAddress *b = g_inet_address_new_from_string(server);

		hit = a && b ? g_inet_address_equal(a, b)
			     : !g_ascii_strcasecmp(bare, server);
		g_clear_object(&a);
		g_clear_object(&b);
		g_free(bare);
	}
	g_free(e);
	return hit;
}

/* The entry of list (split at any of seps) that names server, or NULL. */
static char *exception_for(const char *list, const char *seps,
			   const char *server)
{
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, seps);

		if (excepted_by(p, n, server))
			return g_strndup(p, n);
		p += n;
		p += *p != '\0';
	}
	return NULL;
}

static const char *env_first(const char *const *names, size_t count,
			     const char **which)
{
	for (size_t i = 0; i < count; i++) {
		const char *v = secure_getenv(names[i]);

		if (v && *v) {
			*which = names[i];
			return v;
		}
	}
	return NULL;
}

/* The proxy of URL text from variable which, or an error naming it. */
static int detect(struct spop *s, const char *which, const char *text)
{
	GError *error = NULL;
	GUri *uri = g_uri_parse(text, G_URI_FLAGS_HAS_PASSWORD, &error);
	size_t i = 0;

	if (!uri) {
		int rc = spi_fail(s, SPOP_ERR_INVALID_VALUE,
				  "FirewallAutoDetect: %s is not a proxy "
				  "URL: %s.",
				  which, error->message);
		g_error_free(error);
		return rc;
	}
	while (i < G_N_ELEMENTS(schemes) &&
	       g_ascii_strcasecmp(g_uri_get_scheme(uri), schemes[i].scheme))
		i++;
	if (i == G_N_ELEMENTS(schemes) || !g_uri_get_host(uri) ||
	    !*g_uri_get_host(uri)) {
		char *scheme = g_strdup(g_uri_get_scheme(uri));

		g_uri_unref(uri);
		int rc = spi_fail(s, SPOP_ERR_NOT_AVAILABLE,
				  "FirewallAutoDetect: %s names a %s:// "
				  "proxy; libspop goes through socks4, "
				  "socks4a, socks5, socks5h and http (CONNECT) "
				  "proxies.",
				  which, scheme);
		g_free(scheme);
		return rc;
	}
	struct spi_proxy *p = g_new0(struct spi_proxy, 1);

	p->type = schemes[i].type;
	p->remote_dns = schemes[i].remote_dns;
	p->host = g_strdup(g_uri_get_host(uri));
	p->port =
	    g_uri_get_port(uri) > 0 ? g_uri_get_port(uri) : schemes[i].port;
	p->user = g_strdup(g_uri_get_user(uri));
	p->password = g_strdup(g_uri_get_password(uri));
	g_uri_unref(uri);
	spi_proxy_forget(s);
	s->detected_proxy = p;

	char *line =
	    g_strdup_printf("FirewallAutoDetect: %s proxy %s:%d "
			    "from %s.",
			    schemes[i].scheme, p->host, p->port, which);
	spi_trail(s, SPOP_TRAIL_INFO, line, strlen(line));
	g_free(line);
	return 0;
}

static void say_direct(struct spop *s, const char *server, const char *entry,
		       const char *list)
{
	char *line = g_strdup_printf("MailServer %s matches '%s' in %s: "
				     "connecting without the proxy.",
				     server, entry, list);

	spi_trail(s, SPOP_TRAIL_INFO, line, strlen(line));
	g_free(line);
}

int spi_proxy_choose(struct spop *s, int *type, bool *remote_dns)
{
	const char *name = spi_str(s->mail_server);
	const char *server = *name == '*' ? name + 1 : name;
	const char *which = NULL, *url = NULL;
	char *entry;
	int rc;

	spi_proxy_forget(s);
	*type = s->cfg.firewall_type;
	*remote_dns = *name == '*';
	if (*type == SPOP_FW_NONE && s->cfg.firewall_auto_detect) {
		url = env_first(variables, G_N_ELEMENTS(variables), &which);
		if (!url)
			return 0;
	}
	if (*type == SPOP_FW_NONE && !url)
		return 0;
	entry = exception_for(s->cfg.proxy_exceptions_list, ";", server);
	if (entry) {
		say_direct(s, server, entry, "ProxyExceptionsList");
		g_free(entry);
		*type = SPOP_FW_NONE;
		return 0;
	}
	if (!url)
		return 0;
	const char *no_which = NULL;
	const char *no_proxy = env_first(
	    (const char *const[]){"no_proxy", "NO_PROXY"}, 2, &no_which);

	entry = exception_for(no_proxy, ",", server);
	if (entry) {
		say_direct(s, server, entry, no_which);
		g_free(entry);
		return 0;
	}
	rc = detect(s, which, url);
	if (rc)
		return rc;
	*type = s->detected_proxy->type;
	*remote_dns = *remote_dns || s->detected_proxy->remote_dns;
	return 0;
}

char *spi_proxy_setting(struct spop *s, const char *name)
{
	const struct spi_proxy *p = s->detected_proxy;

	if (!p || !name)
		return NULL;
	if (!g_ascii_strcasecmp(name, "FirewallType"))
		return g_strdup_printf("%d", p->type);
	if (!g_ascii_strcasecmp(name, "FirewallHost"))
		return g_strdup(p->host);
	if (!g_ascii_strcasecmp(name, "FirewallPort"))
		return g_strdup_printf("%d", p->port);
	if (!g_ascii_strcasecmp(name, "FirewallUser"))
		return g_strdup(p->user ? p->user : "");
	if (!g_ascii_strcasecmp(name, "FirewallPassword"))
		return g_strdup(p->password ? p->password : "");
	return NULL;
}
