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

static int not_available(const char *option, const char *what)
{
	return usage_error("%s is not available yet: %s support arrives in a "
			   "later libspop release",
			   option, what);
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

/* The options this release parses but cannot honour yet. Answering them
 * with an error, rather than ignoring them, keeps a user from believing a
 * plain-text session was protected or a signature checked. */
static int check_not_available(const struct probe_options *o)
{
	if (o->tls && strcmp(o->tls, "none") != 0) {
		char *option = g_strdup_printf("--tls %s", o->tls);
		int rc = not_available(option, "TLS");

		g_free(option);
		return rc;
	}
	if (o->ca_file)
		return not_available("--ca-file", "TLS");
	if (o->accept_cert)
		return not_available("--accept-cert", "TLS");
	if (o->insecure)
		return not_available("--insecure", "TLS");
	if (o->proxy)
		return not_available("--proxy", "proxy");
	if (o->decrypt)
		return not_available("--decrypt", "S/MIME");
	if (o->verify)
		return not_available("--verify", "S/MIME");
	if (o->cert)
		return not_available("--cert", "S/MIME");
	if (o->cert_type)
		return not_available("--cert-type", "S/MIME");
	if (o->cert_password)
		return not_available("--cert-password", "S/MIME");
	if (o->cert_subject)
		return not_available("--cert-subject", "S/MIME");
	if (o->signer_cert)
		return not_available("--signer-cert", "S/MIME");
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
	if (o->tls && !g_strv_contains(tls_modes, o->tls))
		return usage_error("--tls must be none, implicit, explicit "
				   "or auto, not '%s'",
				   o->tls);
	rc = check_not_available(o);
	if (rc)
		return rc;

	if (!o->server && !o->list_plugins)
		return usage_error("--server is required (see --help)");
	if (o->server && !*o->server)
		return usage_error("--server must not be empty");
	if (o->port != PROBE_UNSET && (o->port < 1 || o->port > 65535))
		return usage_error("--port must be between 1 and 65535");
	if (o->password && o->password_file)
		return usage_error("give --password or --password-file, not "
				   "both");

	if (o->retrieve) {
		if (strcmp(o->retrieve, "all") == 0)
			o->retrieve_number = -1;
		else if (!parse_int(o->retrieve, 1, G_MAXINT,
				    &o->retrieve_number))
			return usage_error("--retrieve takes a message "
					   "number or 'all', not '%s'",
					   o->retrieve);
	}
	if ((o->headers_only || o->max_lines != PROBE_UNSET || o->output) &&
	    !o->retrieve)
		return usage_error("--headers-only, --max-lines and --output "
				   "need --retrieve");
	if (o->max_lines != PROBE_UNSET && o->max_lines < 0)
		return usage_error("--max-lines must not be negative");
	if (o->output && !*o->output)
		return usage_error("--output must not be empty");
	if (o->delete_number != PROBE_UNSET && o->delete_number < 1)
		return usage_error("--delete takes a message number (1 or "
				   "more)");
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
	g_free(o->ca_file);
	g_free(o->accept_cert);
	g_free(o->proxy);
	g_free(o->retrieve);
	g_free(o->output);
	g_free(o->cert);
	g_free(o->cert_type);
	if (o->cert_password)
		memset(o->cert_password, 0, strlen(o->cert_password));
	g_free(o->cert_password);
	g_free(o->cert_subject);
	g_free(o->signer_cert);
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
	     "POP3 server to connect to", "HOST"},
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
	     "Mechanism: user, apop, plain, cram-md5, digest-md5, ntlm, "
	     "xoauth2, kerberos, or a plugin's NAME (default: user)",
	     "MECH"},
	    {"tls", 0, 0, G_OPTION_ARG_STRING, &o.tls,
	     "TLS mode: none, implicit, explicit or auto (only none in "
	     "this release)",
	     "MODE"},
	    {"ca-file", 0, 0, G_OPTION_ARG_FILENAME, &o.ca_file,
	     "Trust the CA certificates in F (not available yet)", "F"},
	    {"accept-cert", 0, 0, G_OPTION_ARG_FILENAME, &o.accept_cert,
	     "Accept the server certificate in F (not available yet)", "F"},
	    {"insecure", 0, 0, G_OPTION_ARG_NONE, &o.insecure,
	     "Accept any server certificate (not available yet)", NULL},
	    {"proxy", 0, 0, G_OPTION_ARG_STRING, &o.proxy,
	     "Connect through socks4://H:P, socks4a://H:P, "
	     "socks5://[U:P@]H:P or http://[U:P@]H:P (not available yet)",
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
	     "With --retrieve: save what was fetched as DIR/<number>.eml",
	     "DIR"},
	    {"decrypt", 0, 0, G_OPTION_ARG_NONE, &o.decrypt,
	     "Decrypt S/MIME messages (not available yet)", NULL},
	    {"verify", 0, 0, G_OPTION_ARG_NONE, &o.verify,
	     "Verify S/MIME signatures (not available yet)", NULL},
	    {"cert", 0, 0, G_OPTION_ARG_FILENAME, &o.cert,
	     "Certificate store (not available yet)", "F"},
	    {"cert-type", 0, 0, G_OPTION_ARG_STRING, &o.cert_type,
	     "Certificate store type: pfx, pem, ... (not available yet)",
	     "TYPE"},
	    {"cert-password", 0, 0, G_OPTION_ARG_STRING, &o.cert_password,
	     "Certificate store password (not available yet)", "P"},
	    {"cert-subject", 0, 0, G_OPTION_ARG_STRING, &o.cert_subject,
	     "Certificate subject (not available yet)", "S"},
	    {"signer-cert", 0, 0, G_OPTION_ARG_FILENAME, &o.signer_cert,
	     "Signer certificate (not available yet)", "F"},
	    {"delete", 0, 0, G_OPTION_ARG_INT, &o.delete_number,
	     "Delete message N (committed at disconnect)", "N"},
	    {"config", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.config,
	     "Apply a library setting before connecting (repeatable)",
	     "NAME=VALUE"},
	    {"trail", 0, 0, G_OPTION_ARG_NONE, &o.trail,
	     "Trace the protocol to stderr (C: client, S: server, "
	     "*: info)",
	     NULL},
	    {"json", 0, 0, G_OPTION_ARG_NONE, &o.json,
	     "Print one JSON object instead of a report", NULL},
	    {"list-plugins", 0, 0, G_OPTION_ARG_NONE, &o.list_plugins,
	     "List the plugins found (alone: without connecting)", NULL},
	    G_OPTION_ENTRY_NULL,
	};
	GOptionContext *ctx;
	GError *err = NULL;
	struct probe_result r;
	int rc;

	ctx = g_option_context_new("- probe a POP3 server with libspop");
	g_option_context_set_summary(
	    ctx, "Connects, logs in, and reports the server, the mailbox and "
		 "the messages asked for.\nExit status: 0 success, 1 a "
		 "library call failed, 2 usage error.");
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
