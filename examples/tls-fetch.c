/* tls-fetch: fetches one message over TLS, with the server's certificate
 * verified, and reports the TLS session.
 *
 *   POP3_PASSWORD=secret tls-fetch -s pop.example.org -u alice \
 *       --tls implicit --ca-file /etc/ssl/certs/ca-certificates.crt \
 *       --message 1 --output 1.eml
 *
 * Options (the environment variable in brackets is the default):
 *   -s, --server HOST    the POP3 server [POP3_SERVER]
 *   -p, --port N         its port [POP3_PORT]; default 995 with
 *                        --tls implicit, 110 with --tls explicit
 *   -u, --user NAME      the login name [POP3_USER]
 *   -T, --tls MODE       implicit: TLS from the first byte (pop3s);
 *                        explicit: plain connection, then STLS (RFC 2595),
 *                        never falling back to plaintext. Default implicit.
 *   -c, --ca-file FILE   trust only the CA certificates (PEM) in FILE;
 *                        without it, the system's trust store
 *   -m, --message N      the message to fetch (default 1)
 *   -o, --output FILE    write it to FILE (atomically) instead of stdout
 * The password is read from POP3_PASSWORD.
 *
 * Certificates are verified by default: the chain against the trusted CAs
 * and the name against the server's name (an IP address against the
 * certificate's IP addresses). A refused certificate is error 280, and
 * nothing (no password) is sent. The SSLServerAuthentication event shows
 * each certificate and the verdict; an application could overrule the
 * verdict there (this one does not).
 *
 * Exit status 0 when the message was fetched, 1 on any error (the message
 * names the code: 280 for a refused certificate), 2 for a usage error. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <spop/spop.h>

struct options {
	const char *server, *port, *user, *password, *ca_file, *output;
	int mode; /* SPOP_SSL_IMPLICIT or SPOP_SSL_EXPLICIT */
	int message;
};

static int fail(spop_t *s, const char *what)
{
	int code = spop_last_error_code(s);
	const char *msg = spop_last_error(s);

	fprintf(stderr, "tls-fetch: %s failed: error %d: %s\n", what, code,
		*msg ? msg : spop_error_text(code));
	return 1;
}

/* Sets a Config setting by name; 0, or 1 after reporting the failure. */
static int config(spop_t *s, const char *name, const char *value)
{
	char setting[4096];

	if (snprintf(setting, sizeof(setting), "%s=%s", name, value) >=
	    (int)sizeof(setting)) {
		fprintf(stderr, "tls-fetch: the value of %s is too long\n",
			name);
		return 1;
	}
	return spop_config(s, setting) ? 0 : fail(s, name);
}

/* Fired once per handshake, after the TLS provider checked the chain and
 * the name: accept is its verdict, which the handler may change. */
static void on_server_cert(spop_t *s,
			   struct spop_ssl_server_authentication_event *e,
			   void *ud)
{
	(void)s;
	(void)ud;
	fprintf(stderr,
		"tls-fetch: server certificate: %s\n"
		"tls-fetch:   issued by: %s\n"
		"tls-fetch:   check: %s (%s)\n",
		e->cert_subject, e->cert_issuer, e->status,
		e->accept ? "accepted" : "refused");
}

static int fetch(spop_t *s, const struct options *o)
{
	if (spop_set_mail_server(s, o->server))
		return fail(s, "MailServer");
	if (spop_set_mail_port(s, o->port			 ? atoi(o->port)
				  : o->mode == SPOP_SSL_IMPLICIT ? 995
								 : 110))
		return fail(s, "MailPort");
	if (spop_set_user(s, o->user))
		return fail(s, "User");
	if (spop_set_password(s, o->password ? o->password : ""))
		return fail(s, "Password");
	if (spop_set_ssl_start_mode(s, o->mode))
		return fail(s, "SSLStartMode");
	if (o->ca_file) {
		/* SSLCACertFilePaths lists the CA files trusted (';'-separated;
		 * it holds the system's bundle by default). A file that is not
		 * there is skipped, which would trust nothing: check first. */
		if (access(o->ca_file, R_OK)) {
			perror(o->ca_file);
			return 1;
		}
		if (config(s, "SSLCACertFilePaths", o->ca_file))
			return 1;
	}
	spop_on_ssl_server_authentication(s, on_server_cert, NULL);

	if (spop_connect(s))
		return fail(s, "Connect");

	/* SSLNegotiated* read the same words whichever provider ran. The
	 * string spop_config() returns is valid until the next call: print
	 * each before asking for the next. */
	static const char *const negotiated[] = {"SSLNegotiatedVersion",
						 "SSLNegotiatedCipherSuite",
						 "SSLProviderName"};
	for (size_t i = 0; i < sizeof(negotiated) / sizeof(*negotiated); i++) {
		const char *value = spop_config(s, negotiated[i]);

		fprintf(stderr, "tls-fetch: %s: %s\n", negotiated[i],
			value ? value : "?");
	}
	fprintf(stderr, "tls-fetch: %d messages\n", spop_get_message_count(s));

	if (spop_set_message_number(s, o->message))
		return fail(s, "MessageNumber");
	if (spop_set_include_headers(s, 1)) /* the whole message */
		return fail(s, "IncludeHeaders");
	if (o->output && spop_set_local_file(s, o->output))
		return fail(s, "LocalFile");
	if (spop_retrieve(s))
		return fail(s, "Retrieve");
	if (!o->output) {
		/* Message: the raw message as retrieved, CRLF line ends. */
		const char *data;
		size_t len;

		if (spop_get_message(s, &data, &len))
			return fail(s, "Message");
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout)) {
			perror("tls-fetch: stdout");
			return 1;
		}
	}
	fprintf(stderr, "tls-fetch: message %d (%" PRId64 " octets) %s%s\n",
		o->message, spop_get_message_size(s),
		o->output ? "written to " : "written to stdout",
		o->output ? o->output : "");
	if (spop_disconnect(s))
		return fail(s, "Disconnect");
	return 0;
}

static void usage(FILE *to)
{
	fprintf(to, "usage: POP3_PASSWORD=... tls-fetch [-s HOST] [-p PORT] "
		    "[-u USER] [--tls implicit|explicit] [--ca-file FILE] "
		    "[--message N] [--output FILE]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"server", required_argument, NULL, 's'},
	    {"port", required_argument, NULL, 'p'},
	    {"user", required_argument, NULL, 'u'},
	    {"tls", required_argument, NULL, 'T'},
	    {"ca-file", required_argument, NULL, 'c'},
	    {"message", required_argument, NULL, 'm'},
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct options o = {
	    .server = getenv("POP3_SERVER"),
	    .port = getenv("POP3_PORT"),
	    .user = getenv("POP3_USER"),
	    .password = getenv("POP3_PASSWORD"),
	    .mode = SPOP_SSL_IMPLICIT,
	    .message = 1,
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "s:p:u:T:c:m:o:h", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 's': o.server = optarg; break;
		case 'p': o.port = optarg; break;
		case 'u': o.user = optarg; break;
		case 'c': o.ca_file = optarg; break;
		case 'm': o.message = atoi(optarg); break;
		case 'o': o.output = optarg; break;
		case 'T':
			if (!strcmp(optarg, "implicit")) {
				o.mode = SPOP_SSL_IMPLICIT;
			} else if (!strcmp(optarg, "explicit")) {
				o.mode = SPOP_SSL_EXPLICIT;
			} else {
				usage(stderr);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !o.server || !o.user) {
		usage(stderr);
		return 2;
	}

	spop_t *s = spop_new(); /* never NULL */
	int rc = fetch(s, &o);

	spop_free(s);
	return rc;
}
