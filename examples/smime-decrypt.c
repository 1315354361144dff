/* smime-decrypt: decrypts and verifies an S/MIME message, fetched from the
 * server or read from a file, and writes the result.
 *
 *   smime-decrypt --key bob.pem --ca ca.pem --file message.eml
 *   POP3_PASSWORD=secret smime-decrypt --key bob.pem -s pop.example.org \
 *       -u bob --message 3 --output clear.eml
 *
 * Options (the environment variable in brackets is the default):
 *   -k, --key FILE       PEM file with the recipient's private key and
 *                        certificate (CertStoreType 6, PEM key file)
 *   -C, --ca FILE        trust anchors (PEM) for the signers' certificates,
 *                        instead of the system's trust store
 *   -f, --file FILE      the message to work on, instead of the server
 *   -s, --server HOST    the POP3 server [POP3_SERVER]
 *   -p, --port N         its port, default 110 [POP3_PORT]
 *   -u, --user NAME      the login name [POP3_USER]
 *   -m, --message N      the message to fetch (default 1)
 *   -o, --output FILE    write the decrypted message to FILE, not stdout
 * The login password is read from POP3_PASSWORD, the password of an
 * encrypted key from SMIME_KEY_PASSWORD.
 *
 * It shows the S/MIME methods: spop_set_message() loads a file as if it
 * had been retrieved, spop_decrypt_and_verify_signature() unwraps every
 * layer (encrypted, signed, or both nested either way), and the verdicts
 * come from spop_get_smime_status() and spop_get_smime_signer().
 *
 * A signature is shown as good only when all four verdicts say so: every
 * signature verifies, every signer is trusted, the From address is the
 * signer's, and the signature covers the whole message (a signed part
 * inside an unsigned message proves nothing about the rest).
 *
 * Exit status: 0 when the message was decrypted and every signature on it
 * is good (or it carries none); 1 on any error (284: cannot decrypt, 280:
 * a signature does not verify); 3 when the signatures verify but are not
 * good for the reasons printed; 2 for a usage error. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spop/spop.h>

struct options {
	const char *key, *key_password, *ca, *file, *output;
	const char *server, *port, *user, *password;
	int message;
};

static int fail(spop_t *s, const char *what)
{
	int code = spop_last_error_code(s);
	const char *msg = spop_last_error(s);

	fprintf(stderr, "smime-decrypt: %s failed: error %d: %s\n", what, code,
		*msg ? msg : spop_error_text(code));
	return 1;
}

static int config(spop_t *s, const char *name, const char *value)
{
	char setting[4096];

	if (snprintf(setting, sizeof(setting), "%s=%s", name, value) >=
	    (int)sizeof(setting)) {
		fprintf(stderr, "smime-decrypt: %s is too long\n", name);
		return 1;
	}
	return spop_config(s, setting) ? 0 : fail(s, name);
}

/* Reads a whole file into memory (a message is small enough here; the
 * library caps it at Config MessageMemoryLimit anyway). */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t size = 0, used = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (used == size) {
			char *bigger = realloc(data, size ? size * 2 : 65536);

			if (!bigger)
				break;
			data = bigger;
			size = size ? size * 2 : 65536;
		}
		size_t n = fread(data + used, 1, size - used, f);

		used += n;
		if (n == 0) {
			if (ferror(f))
				break;
			fclose(f);
			*len = used;
			return data;
		}
	}
	free(data);
	fclose(f);
	return NULL;
}

/* The message to work on: from the file, or retrieved from the server. */
static int load(spop_t *s, const struct options *o)
{
	if (o->file) {
		size_t len;
		char *data = read_file(o->file, &len);

		if (!data) {
			fprintf(stderr, "smime-decrypt: %s: %s\n", o->file,
				strerror(errno));
			return 1;
		}
		int rc = spop_set_message(s, data, len);

		free(data);
		return rc ? fail(s, "Loading the message") : 0;
	}
	if (spop_set_mail_server(s, o->server))
		return fail(s, "MailServer");
	if (o->port && spop_set_mail_port(s, atoi(o->port)))
		return fail(s, "MailPort");
	if (spop_set_user(s, o->user))
		return fail(s, "User");
	if (spop_set_password(s, o->password ? o->password : ""))
		return fail(s, "Password");
	if (spop_connect(s))
		return fail(s, "Connect");
	if (spop_set_message_number(s, o->message))
		return fail(s, "MessageNumber");
	/* No LocalFile: the message stays in memory (Message) until the
	 * session ends: disconnect after the S/MIME work (run()). */
	return spop_retrieve(s) ? fail(s, "Retrieve") : 0;
}

/* Prints the verdicts; returns 0 when every signature is good, else 3. */
static int report(spop_t *s)
{
	struct spop_smime_status st = {.size = sizeof(st)};
	int good = 1;

	if (spop_get_smime_status(s, &st))
		return fail(s, "S/MIME status");
	fprintf(stderr, "smime-decrypt: layers: %s%s%s\n", st.layers,
		st.decrypted ? "; decrypted with " : "",
		st.decrypted ? st.algorithm : "");
	for (int i = 0; i < st.signer_count; i++) {
		struct spop_smime_signer_info si = {.size = sizeof(si)};

		if (spop_get_smime_signer(s, i, &si))
			return fail(s, "S/MIME signer");
		fprintf(stderr,
			"smime-decrypt: signer %d: %s\n"
			"smime-decrypt:   signature %s (%s, %s), %s, "
			"From %s\n",
			i + 1, *si.subject ? si.subject : "(no certificate)",
			si.signature_ok ? "verifies" : "does NOT verify",
			si.digest_algorithm, si.status,
			si.trusted ? "trusted" : "NOT trusted",
			si.from_matches ? "matches" : "does NOT match");
	}
	if (st.signer_count) {
		if (!st.verified || !st.trusted || !st.from_matches)
			good = 0;
		if (st.signed_part && *st.signed_part) {
			fprintf(stderr,
				"smime-decrypt: only part %s is signed, not "
				"the whole message\n",
				st.signed_part);
			good = 0;
		}
		fprintf(stderr, "smime-decrypt: signature: %s\n",
			good ? "good" : "NOT good");
	}
	return good ? 0 : 3;
}

static int write_message(spop_t *s, const char *output)
{
	const char *data;
	size_t len;
	FILE *f = output ? fopen(output, "wb") : stdout;

	if (!f) {
		perror(output);
		return 1;
	}
	/* After decryption, Message holds the unwrapped message: the outer
	 * headers (From, To, Subject) with the inner entity. */
	if (spop_get_message(s, &data, &len)) {
		if (output)
			fclose(f);
		return fail(s, "Message");
	}
	int bad = fwrite(data, 1, len, f) != len;

	bad |= output ? fclose(f) != 0 : fflush(f) != 0;
	if (bad) {
		perror(output ? output : "stdout");
		return 1;
	}
	return 0;
}

static int run(spop_t *s, const struct options *o)
{
	/* The decryption key: a PEM file holding the key and certificate;
	 * CertSubject "*" picks the first certificate that has its key. */
	if (spop_set_cert_store_type(s, SPOP_CST_PEMKEY_FILE))
		return fail(s, "CertStoreType");
	if (spop_set_cert_store(s, o->key, strlen(o->key)))
		return fail(s, "CertStore");
	if (o->key_password && spop_set_cert_store_password(s, o->key_password))
		return fail(s, "CertStorePassword");
	if (spop_set_cert_subject(s, "*"))
		return fail(s, "CertSubject (no key in the --key file?)");
	if (o->ca && (config(s, "SMIMETrustedCerts", o->ca) ||
		      config(s, "SMIMEUseSystemTrust", "False")))
		return 1;

	int rc = load(s, o);
	if (rc)
		return rc;
	fprintf(stderr, "smime-decrypt: %s, %s\n",
		spop_get_message_encrypted(s) ? "encrypted" : "not encrypted",
		spop_get_message_signed(s) ? "signed" : "not signed");

	/* Unwraps every layer. On error what was decrypted stays decrypted:
	 * report it, then fail. */
	if (spop_decrypt_and_verify_signature(s)) {
		fail(s, "DecryptAndVerifySignature");
		report(s);
		return 1;
	}
	rc = report(s);
	if (write_message(s, o->output))
		return 1;
	if (spop_get_connected(s) && spop_disconnect(s))
		return fail(s, "Disconnect");
	return rc;
}

static void usage(FILE *to)
{
	fprintf(to, "usage: smime-decrypt --key FILE [--ca FILE] "
		    "[--output FILE]\n"
		    "           (--file MESSAGE | [-s HOST] [-p PORT] "
		    "[-u USER] [--message N])\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"ca", required_argument, NULL, 'C'},
	    {"file", required_argument, NULL, 'f'},
	    {"output", required_argument, NULL, 'o'},
	    {"server", required_argument, NULL, 's'},
	    {"port", required_argument, NULL, 'p'},
	    {"user", required_argument, NULL, 'u'},
	    {"message", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct options o = {
	    .server = getenv("POP3_SERVER"),
	    .port = getenv("POP3_PORT"),
	    .user = getenv("POP3_USER"),
	    .password = getenv("POP3_PASSWORD"),
	    .key_password = getenv("SMIME_KEY_PASSWORD"),
	    .message = 1,
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "k:C:f:o:s:p:u:m:h", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'k': o.key = optarg; break;
		case 'C': o.ca = optarg; break;
		case 'f': o.file = optarg; break;
		case 'o': o.output = optarg; break;
		case 's': o.server = optarg; break;
		case 'p': o.port = optarg; break;
		case 'u': o.user = optarg; break;
		case 'm': o.message = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !o.key || (!o.file && (!o.server || !o.user))) {
		usage(stderr);
		return 2;
	}

	spop_t *s = spop_new(); /* never NULL */
	int rc = run(s, &o);

	spop_free(s);
	return rc;
}
