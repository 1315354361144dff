/* C API for CUnit suites that need a real POP3 server: starts and stops the
 * private Dovecot of dovecot-harness.sh and reads what it generated. */
#ifndef SPOP_TEST_HARNESS_H
#define SPOP_TEST_HARNESS_H

/* The test users. The harness hands these to the script, so this is the one
 * place to change them (no ':' or white space). */
#define HARNESS_MAIN_USER      "alice" /* the seven messages below */
#define HARNESS_MAIN_PASSWORD  "alice-secret"
#define HARNESS_EMPTY_USER     "empty" /* no messages */
#define HARNESS_EMPTY_PASSWORD "empty-secret"
#define HARNESS_SMALL_USER     "bob" /* "bob-1".."bob-3", deletable */
#define HARNESS_SMALL_PASSWORD "bob-secret"

/* Message numbers in the main mailbox; make-mailbox.sh fixes the order. */
enum harness_message {
	HARNESS_MSG_SIMPLE = 1,	   /* display name with a comma; Cc, Reply-To */
	HARNESS_MSG_DOTS = 2,	   /* dot-stuffing; no newline at the end */
	HARNESS_MSG_LONG = 3,	   /* 3000..100000-byte lines, folded header */
	HARNESS_MSG_8BIT = 4,	   /* RFC 2047 Subject and From, UTF-8 body */
	HARNESS_MSG_SIGNED = 5,	   /* multipart/signed, pkcs7-signature */
	HARNESS_MSG_ENVELOPED = 6, /* application/pkcs7-mime enveloped-data */
	HARNESS_MSG_BIG = 7,	   /* about 50 MiB, Subject "big" */
};

/* meson test treats this exit status as "skipped". */
#define HARNESS_EXIT_SKIP 77

/* The environment variable that makes a suite which cannot run here fail
 * instead of skip: CI sets it to 1 (tools/run-tests.sh), since a CI run that
 * passes with every integration suite skipped has proved nothing. */
#define HARNESS_REQUIRE_ENV "SPOP_REQUIRE_INTEGRATION"

struct harness_dovecot {
	char dir[4096]; /* absolute; holds etc/, log/, mail/, mailbox.txt */
	int port;	/* POP3 on 127.0.0.1; 0 when not running */
	int tls_port;	/* implicit TLS (pop3s) on 127.0.0.1; 0 without TLS */
};

/* TLS for a private Dovecot (harness_dovecot_start_tls). The certificates
 * are make-certs.sh's, in the shared directory harness_cert_file() reads. */
struct harness_tls {
	/* Server certificate: "good" (localhost, 127.0.0.1), "wronghost"
	 * (wrong.example only), "expired", "selfsigned"; the first three are
	 * sent with the CA certificate (a chain of two). */
	const char *cert;
	/* A client certificate of the client CA is asked for during the
	 * handshake, and every login of a connection without one fails
	 * (auth_ssl_require_client_cert; the password is still checked). */
	int require_client_cert;
	const char *min_protocol; /* ssl_min_protocol ("TLSv1.3"); NULL */
	const char *cipher_list;  /* ssl_cipher_list (TLS <= 1.2); NULL */
};

/* NULL if a private Dovecot can run here, else why not (not root, Dovecot
 * not installed), for harness_cannot_run(). */
const char *harness_dovecot_unavailable(void);

/* For a suite that cannot run because of why: prints why to stderr and
 * returns the exit status for main(): HARNESS_EXIT_SKIP, or 1 when
 * HARNESS_REQUIRE_ENV is set to anything but "" or "0". */
int harness_cannot_run(const char *suite, const char *why);

/* Starts a private Dovecot under dir (created; a relative dir is taken below
 * HARNESS_WORK_DIR/dovecot, HARNESS_WORK_DIR being the build directory of
 * tests/harness), replacing one a crashed run left there. Returns 0, or -1
 * after printing why and Dovecot's log to stderr. An instance still running at
 * exit() is stopped then. */
int harness_dovecot_start(struct harness_dovecot *d, const char *dir);

/* As harness_dovecot_start(), with TLS as tls says: the POP3 port offers
 * STLS and d->tls_port speaks implicit TLS. Its log names the TLS version
 * and cipher of every connection, and the client's port as rport=N. */
int harness_dovecot_start_tls(struct harness_dovecot *d, const char *dir,
			      const struct harness_tls *tls);

/* Path of a file make-certs.sh writes ("ca.pem", "good.pem", "client.p12",
 * ...; see that script), after making them when needed, in a directory
 * shared by every instance; NULL (after printing why) on failure. Free with
 * g_free(). */
char *harness_cert_file(const char *name);

/* Dovecot's log from byte offset on (0: all); "" when there is none. Free
 * with g_free(). harness_dovecot_log_size() is the offset of its end. */
char *harness_dovecot_log(struct harness_dovecot *d, long long offset);
long long harness_dovecot_log_size(struct harness_dovecot *d);

/* Waits up to timeout_ms until the log after offset contains text (Dovecot
 * writes it asynchronously); returns the log after offset when it does,
 * else NULL. Free with g_free(). */
char *harness_dovecot_log_wait(struct harness_dovecot *d, long long offset,
			       const char *text, int timeout_ms);

/* Stops it and waits until the port refuses connections; 0 or -1.
 * Stopping a stopped instance succeeds. */
int harness_dovecot_stop(struct harness_dovecot *d);

/* Regenerates user's Maildir (messages and Dovecot's indexes), undoing
 * deletions; 0 or -1. No session of that user may be open. */
int harness_dovecot_reset_mailbox(struct harness_dovecot *d, const char *user);

/* Size of message n (1-based) of the main user as POP3 LIST reports it (CRLF
 * line ends, before dot-stuffing), from dir/mailbox.txt; -1 if unknown. */
long long harness_message_size(struct harness_dovecot *d, int n);

/* Number of messages generated for user, from dir/mailbox-USER.txt; -1 if
 * unknown. */
int harness_message_count(struct harness_dovecot *d, const char *user);

/* Path of the Maildir file holding message n of user, as generated (LF line
 * ends); NULL if unknown. Free with g_free(). */
char *harness_message_file(struct harness_dovecot *d, const char *user, int n);

/* A port on 127.0.0.1 where nothing listens, for connection-refused tests.
 * The port stays bound (never listening) until exit, so nothing else can
 * take it meanwhile; -1 on error. */
int harness_closed_port(void);

/* ---- A private Cyrus pop3d 3.6 (cyrus-harness.sh) -------------------------
 * Debian's packages are fetched (apt-get download) into HARNESS_WORK_DIR/
 * cyrus-debs once and run unpacked; the real server side of SASL NTLM and,
 * with TLS, of SCRAM-SHA-1-PLUS / SCRAM-SHA-256-PLUS (channel binding
 * "tls-unique" only). Users in a private sasldb, realm "localhost". */
#define HARNESS_CYRUS_USER	     "alice" /* make-mailbox.sh's "small": 3 */
#define HARNESS_CYRUS_PASSWORD	     "alice-secret"
#define HARNESS_CYRUS_EMPTY_USER     "empty" /* no messages */
#define HARNESS_CYRUS_EMPTY_PASSWORD "empty-secret"

struct harness_cyrus {
	char dir[4096]; /* absolute; log/syslog, mailbox-USER.txt */
	int port;	/* POP3 (STLS with TLS) on 127.0.0.1; 0 when stopped */
	int tls_port;	/* implicit TLS on 127.0.0.1; 0 without TLS */
};

struct harness_cyrus_tls {
	const char *cert;	  /* as struct harness_tls's cert */
	const char *tls_versions; /* imapd.conf tls_versions ("tls1_2");
				     NULL: Cyrus's default */
};

/* NULL if a private Cyrus can run here, else why not (not root, no
 * saslpasswd2, no apt-get), for harness_cannot_run(). A failed download is
 * found only by harness_cyrus_start(), and is a failure. */
const char *harness_cyrus_unavailable(void);

/* Starts a private Cyrus under dir (a relative dir is taken below
 * HARNESS_WORK_DIR/cyrus), replacing one a crashed run left there; tls NULL
 * for none. Returns 0, or -1 after printing why and Cyrus's log. An
 * instance still running at exit() is stopped then. */
int harness_cyrus_start(struct harness_cyrus *c, const char *dir,
			const struct harness_cyrus_tls *tls);

/* Stops it (every Cyrus process gone); 0 or -1. Stopping a stopped instance
 * succeeds. */
int harness_cyrus_stop(struct harness_cyrus *c);

/* What Cyrus logged through syslog, from byte offset on; "" when nothing
 * (or where no private syslog could be set up). Free with g_free(). */
char *harness_cyrus_log(struct harness_cyrus *c, long long offset);
long long harness_cyrus_log_size(struct harness_cyrus *c);

/* Messages delivered to user, from dir/mailbox-USER.txt; -1 if unknown. */
int harness_cyrus_message_count(struct harness_cyrus *c, const char *user);

#endif
