/* spop-probe: a diagnostic POP3 client on top of libspop. This file parses
 * and checks the command line (DESIGN.md, "spop-probe command-line
 * contract"); session.c talks to the server and report.c prints the result.
 *
 * Exit status: 0 success, 1 a library call failed, 2 usage error. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include <spop/spop.h>

#include "probe.h"

#define EXIT_USAGE 2

static const char *const tls_modes[] = {"none", "implicit", "explicit", "auto",
					NULL};

/* --auth names the reference's mechanisms by these words; anything else
 * goes to the library as AuthMechanismName, so plugins can add their own. */
static const struct {
	const char *name;
	int mechanism;
} auth_names[] = {
    {.name = "user", .mechanism = SPOP_AM_USER_PASSWORD},
    {.name = "apop", .mechanism = SPOP_AM_APOP},
    {.name = "plain", .mechanism = SPOP_AM_SASLPLAIN},
    {.name = "cram-md5", .mechanism = SPOP_AM_CRAMMD5},
    {.name = "digest-md5", .mechanism = SPOP_AM_SASLDIGEST_MD5},
    {.name = "ntlm", .mechanism = SPOP_AM_NTLM},
    {.name = "xoauth2", .mechanism = SPOP_AM_XOAUTH2},
    {.name = "kerberos", .mechanism = SPOP_AM_KERBEROS},
};

static int usage_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("spop-probe: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	return EXIT_USAGE;
}

/* Parses a whole decimal number in [min, max]; strtol alone takes "12x". */
static gboolean parse_int(const char *text, int min, int max, int *out)
{
	char *end;
	long v;

	if (!text || !*text)
		return FALSE;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || v < min || v > max)
		return FALSE;
	*out = (int)v;
	return TRUE;
}

/* The first line of the file, without its line end. The password never
 * goes on the command line this way, where ps would show it. */
static int read_password_file(struct probe_options *o)
{
	GError *err = NULL;
	char *text;
	size_t n;

	if (!g_file_get_contents(o->password_file, &text, NULL, &err)) {
		int rc =
		    usage_error("cannot read password file: %s", err->message);

		g_error_free(err);
		return rc;
	}
	n = strcspn(text, "\r\n");
	text[n] = '\0';
	g_free(o->password);
	o->password = text;
	return 0;
}

/* --proxy URL schemes and the reference's FirewallType values; the
 * library answers 1201 when no transport plugin serves one. */
static const struct {
	const char *scheme;
	int type;
	gboolean remote_dns; /* the proxy resolves the mail server's name */
	int default_port;
} proxy_schemes[] = {
    {"socks4", 2, FALSE, 1080}, {"socks4a", 10, TRUE, 1080},
    {"socks5", 3, FALSE, 1080}, {"socks5h", 3, TRUE, 1080},
    {"http", 1, FALSE, 80},
};

/* The --proxy URL for messages: a password in its user information
 * becomes "****" (found by hand, since the URL may be one GLib refused). */
static char *proxy_shown(const char *url)
{
	const char *start = strstr(url, "://");
	const char *end, *at = NULL, *colon;

	if (!start)
		return g_strdup(url);
	start += 3;
	end = start + strcspn(start, "/?#");
	for (const char *p = start; p < end; p++)
		if (*p == '@')
			at = p;
	colon = at ? memchr(start, ':', (size_t)(at - start)) : NULL;
	if (!colon)
		return g_strdup(url);
	return g_strdup_printf("%.*s****%s", (int)(colon + 1 - url), url, at);
}

/* --proxy SCHEME://[USER[:PASSWORD]@]HOST[:PORT], read by GLib's URI
 * parser (percent-escapes decoded, IPv6 literals in brackets). */
static int check_proxy(struct probe_options *o)
{
	GError *error = NULL;
	GUri *uri;
	size_t i;
	char *shown;
	int rc;

	if (!o->proxy)
		return 0;
	uri = g_uri_parse(o->proxy, G_URI_FLAGS_HAS_PASSWORD, &error);
	if (!uri) {
		shown = proxy_shown(o->proxy);
		/* GLib's message may quote the URL: never with the password */
		rc = usage_error("--proxy '%s': not a URL (%s)", shown,
				 strstr(error->message, o->proxy)
				     ? "malformed"
				     : error->message);
		g_free(shown);
		g_error_free(error);
		return rc;
	}
	for (i = 0; i < G_N_ELEMENTS(proxy_schemes); i++)
		if (!g_ascii_strcasecmp(g_uri_get_scheme(uri),
					proxy_schemes[i].scheme))
			break;
	if (i == G_N_ELEMENTS(proxy_schemes) || !g_uri_get_host(uri) ||
	    !*g_uri_get_host(uri) ||
	    (*g_uri_get_path(uri) && strcmp(g_uri_get_path(uri), "/"))) {
		g_uri_unref(uri);
		shown = proxy_shown(o->proxy);
		rc = usage_error("--proxy '%s': expected socks4://, "
				 "socks4a://, socks5://, socks5h:// or "
				 "http:// with [USER[:PASSWORD]@]HOST[:PORT] "
				 "and nothing after",
				 shown);
		g_free(shown);
		return rc;
	}
	o->proxy_type = proxy_schemes[i].type;
	o->proxy_scheme = g_strdup(proxy_schemes[i].scheme);
	o->proxy_remote_dns = proxy_schemes[i].remote_dns;
	o->proxy_host = g_strdup(g_uri_get_host(uri));
	o->proxy_port = g_uri_get_port(uri) > 0 ? g_uri_get_port(uri)
						: proxy_schemes[i].default_port;
	o->proxy_user = g_strdup(g_uri_get_user(uri));
	o->proxy_password = g_strdup(g_uri_get_password(uri));
	g_uri_unref(uri);
	return 0;
}

static const struct {
	const char *name;
	int value;
} tls_providers[] = {
    {.name = "gnutls", .value = SPOP_SSLP_INTERNAL},
    {.name = "openssl", .value = SPOP_SSLP_PLATFORM},
};

/* --cert-type words and the reference's SSLCertStoreType values. Only the
 * values are decided here: whether a cert-store plugin serves one is the
 * library's answer (1201 naming the type when none does). */
static const struct {
	const char *name;
	int value;
} cert_types[] = {
    {.name = "pfx", .value = SPOP_CST_PFXFILE},
    {.name = "pem", .value = SPOP_CST_PEMKEY_FILE},
    {.name = "publickey", .value = SPOP_CST_PUBLIC_KEY_FILE},
    {.name = "p7b", .value = SPOP_CST_P7BFILE},
    {.name = "pkcs11", .value = SPOP_CST_PKCS11},
    {.name = "user", .value = SPOP_CST_USER},
    {.name = "machine", .value = SPOP_CST_MACHINE},
    {.name = "auto", .value = SPOP_CST_AUTO},
};

#define PEM_CERT_BEGIN "-----BEGIN CERTIFICATE-----"

/* --ca-file: PEM certificates (any number), or one DER certificate, which
 * becomes PEM: SSLServerCACerts is text. */
static int read_ca_file(struct probe_options *o)
{
	GError *err = NULL;
	char *text, *b64;
	gsize len;
	GString *pem;

	if (!g_file_get_contents(o->ca_file, &text, &len, &err)) {
		int rc = usage_error("cannot read --ca-file: %s", err->message);

		g_error_free(err);
		return rc;
	}
	if (memchr(text, '\0', len) == NULL && strstr(text, PEM_CERT_BEGIN)) {
		o->ca_pem = text;
		return 0;
	}
	/* DER: an ASN.1 SEQUENCE with a long-form length. */
	if (len < 4 || (unsigned char)text[0] != 0x30 ||
	    (unsigned char)text[1] < 0x81) {
		g_free(text);
		return usage_error("--ca-file %s holds no PEM certificate "
				   "(" PEM_CERT_BEGIN ") and is not a DER "
				   "certificate",
				   o->ca_file);
	}
	b64 = g_base64_encode((const guchar *)text, len);
	g_free(text);
	pem = g_string_new(PEM_CERT_BEGIN "\n");
	for (size_t i = 0, n = strlen(b64); i < n; i += 64)
		g_string_append_printf(pem, "%.64s\n", b64 + i);
	g_string_append(pem, "-----END CERTIFICATE-----\n");
	g_free(b64);
	o->ca_pem = g_string_free(pem, FALSE);
	return 0;
}

/* --accept-cert: the bytes go to SSLAcceptServerCertEncoded as they are;
 * the library takes PEM, base64 or DER and says which it cannot read. */
static int read_accept_cert(struct probe_options *o)
{
	GError *err = NULL;
	char *data;
	gsize len;

	if (!g_file_get_contents(o->accept_cert, &data, &len, &err)) {
		int rc =
		    usage_error("cannot read --accept-cert: %s", err->message);

		g_error_free(err);
		return rc;
	}
	if (!len) {
		g_free(data);
		return usage_error("--accept-cert %s is empty", o->accept_cert);
	}
	o->accept_cert_data = g_bytes_new_take(data, len);
	return 0;
}

/* With no --cert-type, a file name ending in .pfx/.p12 or .pem says it;
 * anything else is the reference's automatic detection. */
static const char *guess_cert_type(const char *file)
{
	if (g_str_has_suffix(file, ".pfx") || g_str_has_suffix(file, ".p12"))
		return "pfx";
	if (g_str_has_suffix(file, ".pem"))
		return "pem";
	return "auto";
}

static int check_cert(struct probe_options *o)
{
	const char *type;

	o->cert_store_type = -1;
	if (!o->cert) {
		if (o->cert_type || o->cert_password || o->cert_subject)
			return usage_error("--cert-type, --cert-password and "
					   "--cert-subject need --cert");
		return 0;
	}
	if (!*o->cert)
		return usage_error("--cert must not be empty");
	type = o->cert_type ? o->cert_type : guess_cert_type(o->cert);
	for (size_t i = 0; i < G_N_ELEMENTS(cert_types); i++) {
		if (!g_ascii_strcasecmp(type, cert_types[i].name)) {
			o->cert_store_type = cert_types[i].value;
			return 0;
		}
	}
	return usage_error("--cert-type must be pfx, pem, publickey, p7b, "
			   "pkcs11, user, machine or auto, not '%s'",
			   type);
}

/* TLS options. The ones that only make sense on a TLS connection need
 * --tls: without it they would be ignored, and a user would believe the
 * plain-text session was protected. */
static int check_tls(struct probe_options *o)
{
	const char *needs_tls = NULL;
	int rc;

	o->tls_mode = -1;
	o->tls_provider_value = -1;
	if (o->tls) {
		static const int modes[] = {SPOP_SSL_NONE, SPOP_SSL_IMPLICIT,
					    SPOP_SSL_EXPLICIT,
					    SPOP_SSL_AUTOMATIC};

		for (size_t i = 0; tls_modes[i]; i++)
			if (!strcmp(o->tls, tls_modes[i]))
				o->tls_mode = modes[i];
		if (o->tls_mode < 0)
			return usage_error("--tls must be none, implicit, "
					   "explicit or auto, not '%s'",
					   o->tls);
	}
	if (o->tls_provider) {
		for (size_t i = 0; i < G_N_ELEMENTS(tls_providers); i++)
			if (!strcmp(o->tls_provider, tls_providers[i].name))
				o->tls_provider_value = tls_providers[i].value;
		if (o->tls_provider_value < 0)
			return usage_error("--tls-provider must be gnutls or "
					   "openssl, not '%s'",
					   o->tls_provider);
	}
	if (o->tls_provider)
		needs_tls = "--tls-provider";
	else if (o->ca_file)
		needs_tls = "--ca-file";
	else if (o->accept_cert)
		needs_tls = "--accept-cert";
	else if (o->insecure)
		needs_tls = "--insecure";
	else if (o->cert && o->server && !o->decrypt)
		needs_tls = "--cert";
	if (needs_tls && (o->tls_mode < 0 || o->tls_mode == SPOP_SSL_NONE))
		return usage_error("%s needs --tls implicit, explicit or auto",
				   needs_tls);
	if (o->accept_cert && o->insecure)
		return usage_error(
		    "give --accept-cert or --insecure, not both: "
		    "a pinned certificate is the only one "
		    "accepted");
	rc = check_cert(o);
	if (rc)
		return rc;
	if (o->ca_file && (rc = read_ca_file(o)) != 0)
		return rc;
	if (o->accept_cert && (rc = read_accept_cert(o)) != 0)
		return rc;
	return 0;
}

/* --list-plugins, --list-certs and --smime-file alone talk to no server: an
 * option that only means something on a connection would be ignored, and a
 * user would believe it had been used. */
static int check_no_server(const struct probe_options *o)
{
	const struct {
		const char *name;
		gboolean given;
	} options[] = {
	    {"--port", o->port != PROBE_UNSET},
	    {"--user", o->user != NULL},
	    {"--password", o->password != NULL},
	    {"--password-file", o->password_file != NULL},
	    {"--auth", o->auth != NULL},
	    {"--tls", o->tls != NULL},
	    {"--tls-provider", o->tls_provider != NULL},
	    {"--ca-file", o->ca_file != NULL},
	    {"--accept-cert", o->accept_cert != NULL},
	    {"--insecure", o->insecure},
	    {"--list", o->list},
	    {"--retrieve", o->retrieve != NULL},
	    {"--delete", o->delete != NULL},
	    {"--headers-only", o->headers_only},
	    {"--max-lines", o->max_lines != PROBE_UNSET},
	    /* With --smime-file they choose the decryption certificate and
	     * where the unwrapped message goes. */
	    {"--cert-subject", o->cert_subject != NULL && !o->smime_file},
	    {"--output", o->output != NULL && !o->smime_file},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(options); i++)
		if (options[i].given)
			return usage_error(
			    "%s needs --server: --list-plugins, "
			    "--list-certs and --smime-file alone connect "
			    "to nothing",
			    options[i].name);
	return 0;
}

/* The S/MIME options. Each that would be ignored is refused, so that no
 * one believes a message was checked against a CA or a CRL that was never
 * used. */
static int check_smime(struct probe_options *o)
{
	const char *verify_only = NULL;

	o->signer_store_type = -1;
	if (o->smime_file && o->server)
		return usage_error("--smime-file reads a local file: give it "
				   "without --server");
	if (o->smime_file && !*o->smime_file)
		return usage_error("--smime-file must not be empty");
	if (!o->decrypt && !o->verify) {
		if (o->smime_file)
			return usage_error("--smime-file needs --decrypt, "
					   "--verify or both");
		if (o->smime_engine)
			return usage_error("--smime-engine needs --decrypt or "
					   "--verify");
	}
	if (o->smime_engine && !*o->smime_engine)
		return usage_error("--smime-engine must not be empty");
	if (o->signer_cert)
		verify_only = "--signer-cert";
	else if (o->smime_ca)
		verify_only = "--smime-ca";
	else if (o->smime_crl)
		verify_only = "--smime-crl";
	else if (o->allow_weak)
		verify_only = "--allow-weak";
	if (verify_only && !o->verify)
		return usage_error("%s needs --verify", verify_only);
	if ((o->decrypt || o->verify) && o->server) {
		if (!o->retrieve)
			return usage_error("--decrypt and --verify need "
					   "--retrieve (or --smime-file "
					   "instead of --server)");
		if (o->headers_only || o->max_lines != PROBE_UNSET)
			return usage_error("--decrypt and --verify need "
					   "whole messages: not with "
					   "--headers-only or --max-lines");
	}
	if ((o->smime_ca && !*o->smime_ca) || (o->smime_crl && !*o->smime_crl))
		return usage_error("--smime-ca and --smime-crl must not be "
				   "empty");
	if (!o->signer_cert)
		return 0;
	if (!*o->signer_cert)
		return usage_error("--signer-cert must not be empty");
	/* Certificates alone (PublicKey), with a key (PEMKey), PFX...: the
	 * library recognises which. */
	o->signer_store_type = SPOP_CST_AUTO;
	return 0;
}

static int check_auth(struct probe_options *o)
{
	if (!o->auth) {
		o->auth_mechanism = SPOP_AM_USER_PASSWORD;
		o->auth_name = g_strdup("user");
		return 0;
	}
	if (!*o->auth || strchr(o->auth, '='))
		return usage_error("--auth: invalid mechanism name '%s'",
				   o->auth);
	o->auth_name = g_ascii_strdown(o->auth, -1);
	o->auth_mechanism = -1;
	for (size_t i = 0; i < G_N_ELEMENTS(auth_names); i++) {
		if (strcmp(o->auth_name, auth_names[i].name) == 0) {
			o->auth_mechanism = auth_names[i].mechanism;
			break;
		}
	}
	return 0;
}

static int check_options(struct probe_options *o, int argc, char **argv)
{
	int rc;

	if (argc > 1)
		return usage_error("unexpected argument '%s' (see --help)",
				   argv[1]);
	rc = check_proxy(o);
	if (!rc && !o->server &&
	    (o->list_plugins || o->list_certs || o->smime_file))
		rc = check_no_server(o);
	if (!rc)
		rc = check_tls(o);
	if (!rc)
		rc = check_smime(o);
	if (rc)
		return rc;

	if (!o->server && !o->list_plugins && !o->list_certs && !o->smime_file)
		return usage_error("--server is required (see --help)");
	if (o->list_certs && !o->cert)
		return usage_error(
		    "--list-certs needs --cert (and --cert-type, "
		    "--cert-password as the store needs)");
	if (o->server && !*o->server)
		return usage_error("--server must not be empty");
	if (o->port != PROBE_UNSET && (o->port < 1 || o->port > 65535))
		return usage_error("--port must be between 1 and 65535");
	/* The well-known ports (RFC 8314): pop3s for TLS from the start
	 * (auto then means implicit), 110 for STLS. */
	if (o->port == PROBE_UNSET && o->tls_mode == SPOP_SSL_EXPLICIT)
		o->port = 110;
	else if (o->port == PROBE_UNSET && (o->tls_mode == SPOP_SSL_IMPLICIT ||
					    o->tls_mode == SPOP_SSL_AUTOMATIC))
		o->port = 995;
	if (o->password && o->password_file)
		return usage_error("give --password or --password-file, not "
				   "both");

	if (o->retrieve) {
		if (strcmp(o->retrieve, "all") == 0)
			o->retrieve_number = PROBE_ALL;
		else if (!parse_int(o->retrieve, 1, G_MAXINT,
				    &o->retrieve_number))
			return usage_error("--retrieve takes a message "
					   "number or 'all', not '%s'",
					   o->retrieve);
	}
	if ((o->headers_only || o->max_lines != PROBE_UNSET ||
	     (o->output && !o->smime_file)) &&
	    !o->retrieve)
		return usage_error("--headers-only, --max-lines and --output "
				   "need --retrieve");
	if (o->max_lines != PROBE_UNSET && o->max_lines < 0)
		return usage_error("--max-lines must not be negative");
	if (o->output && !*o->output)
		return usage_error("--output must not be empty");
	if (o->delete &&strcmp(o->delete, "all") == 0)
		o->delete_number = PROBE_ALL;
	else if (o->delete &&!parse_int(o->delete, 1, G_MAXINT,
					&o->delete_number))
		return usage_error("--delete takes a message number (1 or "
				   "more) or 'all', not '%s'",
				   o->delete);
	/* Deleting what was not kept would lose mail: all means each
	 * message once it is stored whole under --output. */
	if (o->delete_number == PROBE_ALL &&
	    (o->retrieve_number != PROBE_ALL || !o->output || o->headers_only ||
	     (o->max_lines != PROBE_UNSET && o->max_lines > 0)))
		return usage_error("--delete all needs --retrieve all and "
				   "--output DIR, without --headers-only or "
				   "--max-lines: it deletes each message "
				   "once it is stored whole");
	for (char **c = o->config; c && *c; c++) {
		if (!strchr(*c, '=') || **c == '=')
			return usage_error("--config takes NAME=VALUE, not "
					   "'%s'",
					   *c);
	}
	rc = check_auth(o);
	if (rc)
		return rc;
	if (o->password_file)
		return read_password_file(o);
	return 0;
}

static void free_options(struct probe_options *o)
{
	g_free(o->server);
	g_free(o->user);
	if (o->password)
		memset(o->password, 0, strlen(o->password));
	g_free(o->password);
	g_free(o->password_file);
	g_free(o->auth);
	g_free(o->tls);
	g_free(o->tls_provider);
	g_free(o->ca_file);
	g_free(o->ca_pem);
	if (o->accept_cert_data)
		g_bytes_unref(o->accept_cert_data);
	g_free(o->accept_cert);
	g_free(o->proxy);
	g_free(o->proxy_scheme);
	g_free(o->proxy_host);
	g_free(o->proxy_user);
	if (o->proxy_password)
		memset(o->proxy_password, 0, strlen(o->proxy_password));
	g_free(o->proxy_password);
	g_free(o->retrieve);
	g_free(o->delete);
	g_free(o->output);
	g_free(o->cert);
	g_free(o->cert_type);
	if (o->cert_password)
		memset(o->cert_password, 0, strlen(o->cert_password));
	g_free(o->cert_password);
	g_free(o->cert_subject);
	g_free(o->signer_cert);
	g_free(o->smime_engine);
	g_free(o->smime_file);
	g_free(o->smime_ca);
	g_free(o->smime_crl);
	g_strfreev(o->config);
	g_free(o->auth_name);
}

int main(int argc, char **argv)
{
	struct probe_options o = {
	    .port = PROBE_UNSET,
	    .max_lines = PROBE_UNSET,
	    .delete_number = PROBE_UNSET,
	};
	/* The layout follows the synopsis in DESIGN.md. */
	const GOptionEntry entries[] = {
	    {"server", 0, 0, G_OPTION_ARG_STRING, &o.server,
	     "POP3 server to connect to (not needed for --list-plugins or "
	     "--list-certs alone)",
	     "HOST"},
	    {"port", 0, 0, G_OPTION_ARG_INT, &o.port,
	     "Server port (default: the library's, 110)", "N"},
	    {"user", 0, 0, G_OPTION_ARG_STRING, &o.user, "User name", "U"},
	    {"password", 0, 0, G_OPTION_ARG_STRING, &o.password,
	     "Password (visible to other local users; prefer "
	     "--password-file)",
	     "P"},
	    {"password-file", 0, 0, G_OPTION_ARG_FILENAME, &o.password_file,
	     "Read the password from the first line of F", "F"},
	    {"auth", 0, 0, G_OPTION_ARG_STRING, &o.auth,
	     "Mechanism: user, apop, plain, login, cram-md5, digest-md5, "
	     "ntlm, xoauth2, oauthbearer, kerberos (gssapi), scram-sha-1, "
	     "scram-sha-256 (-plus), external, auto (the strongest both "
	     "sides support), or a plugin's NAME (default: user); the "
	     "report names the mechanism that ran",
	     "MECH"},
	    {"tls", 0, 0, G_OPTION_ARG_STRING, &o.tls,
	     "TLS: none, implicit (TLS from the start), explicit (STLS) or "
	     "auto (explicit on port 110, else implicit). Without --port "
	     "it picks port 995 for implicit and auto, 110 for explicit "
	     "(default: none)",
	     "MODE"},
	    {"tls-provider", 0, 0, G_OPTION_ARG_STRING, &o.tls_provider,
	     "TLS library: gnutls (SSLProvider Internal) or openssl "
	     "(Platform) (default: the library's choice, Automatic)",
	     "NAME"},
	    {"ca-file", 0, 0, G_OPTION_ARG_FILENAME, &o.ca_file,
	     "Also trust the CA certificates in F (PEM, or one DER "
	     "certificate), besides the system's",
	     "F"},
	    {"accept-cert", 0, 0, G_OPTION_ARG_FILENAME, &o.accept_cert,
	     "Accept only the server certificate in F (PEM or DER), "
	     "whoever issued it",
	     "F"},
	    {"insecure", 0, 0, G_OPTION_ARG_NONE, &o.insecure,
	     "Accept any server certificate: the server's identity is NOT "
	     "checked (a warning says so)",
	     NULL},
	    {"proxy", 0, 0, G_OPTION_ARG_STRING, &o.proxy,
	     "Connect through socks4://H:P, socks4a://H:P (the proxy "
	     "resolves the server's name), socks5://[U:P@]H:P, "
	     "socks5h://[U:P@]H:P (the proxy resolves) or "
	     "http://[U:P@]H:P (CONNECT); the port defaults to 1080, "
	     "80 for http",
	     "URL"},
	    {"list", 0, 0, G_OPTION_ARG_NONE, &o.list,
	     "List message numbers, UIDs and sizes", NULL},
	    {"retrieve", 0, 0, G_OPTION_ARG_STRING, &o.retrieve,
	     "Retrieve message N, or all of them", "N|all"},
	    {"headers-only", 0, 0, G_OPTION_ARG_NONE, &o.headers_only,
	     "With --retrieve: fetch only the headers", NULL},
	    {"max-lines", 0, 0, G_OPTION_ARG_INT, &o.max_lines,
	     "With --retrieve: fetch at most N body lines", "N"},
	    {"output", 0, 0, G_OPTION_ARG_FILENAME, &o.output,
	     "With --retrieve: save what was fetched as DIR/<number>.eml; "
	     "with --decrypt/--verify also the unwrapped message as "
	     "DIR/<number>.smime.eml (number 0 for --smime-file)",
	     "DIR"},
	    {"decrypt", 0, 0, G_OPTION_ARG_NONE, &o.decrypt,
	     "With --retrieve or --smime-file: decrypt S/MIME encrypted "
	     "messages with the --cert certificate (Decrypt)",
	     NULL},
	    {"verify", 0, 0, G_OPTION_ARG_NONE, &o.verify,
	     "With --retrieve or --smime-file: verify S/MIME signatures "
	     "(VerifySignature; with --decrypt both, "
	     "DecryptAndVerifySignature). A warning says when a signature "
	     "that holds is from an untrusted signer, from someone other "
	     "than the sender, or covers only part of the message",
	     NULL},
	    {"smime-engine", 0, 0, G_OPTION_ARG_STRING, &o.smime_engine,
	     "S/MIME engine plugin: cms or openssl (Config SMIMEEngine; "
	     "default: the library's, cms)",
	     "NAME"},
	    {"smime-file", 0, 0, G_OPTION_ARG_FILENAME, &o.smime_file,
	     "Decrypt/verify the message in file F instead of a server's "
	     "(reported as message 0)",
	     "F"},
	    {"smime-ca", 0, 0, G_OPTION_ARG_FILENAME, &o.smime_ca,
	     "With --verify: also trust the CA certificates in the PEM file "
	     "F for signers, besides the system's (Config SMIMETrustedCerts)",
	     "F"},
	    {"smime-crl", 0, 0, G_OPTION_ARG_FILENAME, &o.smime_crl,
	     "With --verify: check signers against the CRLs in F, PEM or "
	     "DER (Config SMIMECRLFile)",
	     "F"},
	    {"allow-weak", 0, 0, G_OPTION_ARG_NONE, &o.allow_weak,
	     "With --verify: accept MD5 and SHA-1 signatures, which fail "
	     "otherwise (Config SMIMEAllowWeakDigests); a warning still "
	     "names them",
	     NULL},
	    {"cert", 0, 0, G_OPTION_ARG_FILENAME, &o.cert,
	     "TLS client certificate: the store F (a file, a PKCS#11 module "
	     "or URI for pkcs11, or a store name such as MY for "
	     "user/machine). --list-certs lists it. S/MIME decryption "
	     "(--decrypt) uses the same options (Cert*); it then needs no "
	     "--tls",
	     "F"},
	    {"cert-type", 0, 0, G_OPTION_ARG_STRING, &o.cert_type,
	     "Type of the --cert store: pfx, pem (certificate and key), "
	     "publickey, p7b, pkcs11, user, machine or auto (default: pfx "
	     "for .pfx/.p12, pem for .pem, else auto)",
	     "TYPE"},
	    {"cert-password", 0, 0, G_OPTION_ARG_STRING, &o.cert_password,
	     "Password of the --cert store (the PIN for pkcs11)", "P"},
	    {"cert-subject", 0, 0, G_OPTION_ARG_STRING, &o.cert_subject,
	     "Subject of the certificate to use from the --cert store "
	     "(default: *, the first one with a private key)",
	     "S"},
	    {"signer-cert", 0, 0, G_OPTION_ARG_FILENAME, &o.signer_cert,
	     "With --verify: the signer's certificate, for messages that "
	     "carry none (SignerCert*; PEM, DER or PFX, recognised)",
	     "F"},
	    {"delete", 0, 0, G_OPTION_ARG_STRING, &o.delete,
	     "Delete message N (committed at disconnect); 'all' with "
	     "--retrieve all and --output deletes each message once it is "
	     "stored, never writing over a file already in DIR",
	     "N|all"},
	    {"config", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.config,
	     "Apply a library setting before connecting (repeatable)",
	     "NAME=VALUE"},
	    {"trail", 0, 0, G_OPTION_ARG_NONE, &o.trail,
	     "Trace the protocol to stderr (C: client, S: server, "
	     "*: info, TLS: the SSLStatus event)",
	     NULL},
	    {"json", 0, 0, G_OPTION_ARG_NONE, &o.json,
	     "Print one JSON object instead of a report", NULL},
	    {"list-plugins", 0, 0, G_OPTION_ARG_NONE, &o.list_plugins,
	     "List the plugins found (alone: without connecting)", NULL},
	    {"list-certs", 0, 0, G_OPTION_ARG_NONE, &o.list_certs,
	     "List the certificates of the --cert store: subject, issuer, "
	     "serial number and whether it holds the private key. Alone "
	     "(no --server needed) it connects to nothing; with --server "
	     "it lists, then connects",
	     NULL},
	    G_OPTION_ENTRY_NULL,
	};
	GOptionContext *ctx;
	GError *err = NULL;
	struct probe_result r;
	int rc;

	ctx = g_option_context_new("- probe a POP3 server with libspop");
	g_option_context_set_summary(
	    ctx, "Connects, logs in, and reports the server, the mailbox and "
		 "the messages asked for. --list-plugins, --list-certs and "
		 "--smime-file without --server report without connecting."
		 "\nExit status: 0 success, 1 a library call failed (an "
		 "S/MIME method too), 2 usage error.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		rc = usage_error("%s (see --help)", err->message);
		g_error_free(err);
		g_option_context_free(ctx);
		free_options(&o);
		return rc;
	}
	g_option_context_free(ctx);

	rc = check_options(&o, argc, argv);
	if (rc) {
		free_options(&o);
		return rc;
	}

	if (o.insecure)
		fprintf(stderr,
			"spop-probe: WARNING: --insecure accepts any "
			"certificate, so the identity of %s is NOT checked: "
			"anyone on the way can read and change this session, "
			"password included.\n",
			o.server ? o.server : "the server");

	probe_result_init(&r);
	probe_run(&o, &r);
	if (o.json)
		probe_report_json(&o, &r);
	else
		probe_report_text(&o, &r);
	rc = r.errors->len ? 1 : 0;
	probe_result_clear(&r);
	free_options(&o);
	return rc;
}
