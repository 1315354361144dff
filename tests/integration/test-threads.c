/* Independent spop_t objects on threads against one private Dovecot: every
 * transport (plain, TLS through gnutls and through openssl) and auth
 * mechanisms with process-wide state (USER/PASS, CRAM-MD5, SCRAM-SHA-256),
 * one message at a time and the pipelined batch, every message checked
 * byte for byte. Built once more with
 * -Db_sanitize=thread by tools/run-tests.sh, where ThreadSanitizer turns a
 * data race in the library or its plugins into a failure. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

#define THREADS	 8
#define SESSIONS 3  /* per thread and test */
#define USERS	 32 /* many1..many32 of the harness (HARNESS_MANY_USERS) */
#define MESSAGES 3  /* each (HARNESS_MANY_MESSAGES) */

enum transport { PLAIN, TLS_GNUTLS, TLS_OPENSSL, N_TRANSPORTS };
enum mechanism { USER_PASS, CRAM_MD5, SCRAM_SHA_256, N_MECHANISMS };

static const char *const transport_names[] = {"plain", "TLS gnutls",
					      "TLS openssl"};
static const char *const mechanism_names[] = {"USER/PASS", "CRAM-MD5",
					      "SCRAM-SHA-256"};

/* What every worker reads; filled by main() before any thread starts. */
static GString *expected[USERS + 1][MESSAGES + 1];
static char *ca_pem;
static char *out_dir;

/* All workers of a test start together, so first uses (plugin loading,
 * library initialisation) really are concurrent. A pthread barrier, which
 * ThreadSanitizer understands (GLib's GMutex and GCond are futexes it
 * cannot see). */
static pthread_barrier_t gate;

struct worker {
	int index;
	/* the session k of this worker uses these (see session_plan) */
	enum transport transport;
	int transport_rotates, mechanism_rotates;
	enum mechanism mechanism;
	int wrong_every_other; /* even sessions use a wrong password */
	int batch; /* spop_retrieve_batch() of the mailbox into a stream */
	/* results, read by the main thread after the join */
	GString *failures;
	int sessions_ok, rejected_ok, messages_ok;
};

static void on_end(spop_t *s, const struct spop_end_transfer_event *e, void *ud)
{
	(*(int *)ud)++;
}

static void failure(struct worker *w, int session, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static void failure(struct worker *w, int session, const char *fmt, ...)
{
	va_list ap;

	g_string_append_printf(w->failures, "thread %d session %d: ", w->index,
			       session);
	va_start(ap, fmt);
	g_string_append_vprintf(w->failures, fmt, ap);
	va_end(ap);
	g_string_append_c(w->failures, '\n');
}

static bool same_bytes(const char *data, size_t len, const GString *want)
{
	return len == want->len && memcmp(data, want->str, len) == 0;
}

/* Configures s for transport t and mechanism m; 0 or the failing call's
 * code. */
static int configure(spop_t *s, enum transport t, enum mechanism m)
{
	int rc = 0;

	if (t != PLAIN) {
		char *cfg = g_strdup_printf("SSLServerCACerts=%s", ca_pem);

		if (spop_config(s, cfg) == NULL)
			rc = -1;
		g_free(cfg);
		rc = rc ? rc : spop_set_ssl_start_mode(s, SPOP_SSL_IMPLICIT);
		rc = rc ? rc
			: spop_set_ssl_provider(s, t == TLS_GNUTLS
						       ? SPOP_SSLP_INTERNAL
						       : SPOP_SSLP_PLATFORM);
		rc = rc ? rc : spop_set_mail_port(s, dovecot.tls_port);
	}
	if (m == CRAM_MD5)
		rc = rc ? rc : spop_set_auth_mechanism(s, SPOP_AM_CRAMMD5);
	else if (m == SCRAM_SHA_256 &&
		 spop_config(s, "AuthMechanismName=SCRAM-SHA-256") == NULL)
		rc = rc ? rc : -1;
	return rc;
}

/* Message n of the session's mailbox, checked against what the harness
 * generated for that user: in memory (Message) for odd n, through LocalFile
 * for even n. */
static bool retrieve_one(struct worker *w, int k, spop_t *s, int user, int n)
{
	const GString *want = expected[user][n];
	char *path = NULL;
	bool ok = true;
	int rc;

	if (n % 2 == 0) {
		char name[64];

		snprintf(name, sizeof name, "t%d-s%d-m%d.eml", w->index, k, n);
		path = g_build_filename(out_dir, name, NULL);
		spop_set_local_file(s, path);
	}
	spop_set_message_number(s, n);
	rc = spop_retrieve(s);
	if (rc) {
		failure(w, k, "many%d: Retrieve %d: %d %s", user, n, rc,
			spop_last_error(s));
		ok = false;
	} else if (path) {
		char *data = NULL;
		gsize len = 0;

		if (!g_file_get_contents(path, &data, &len, NULL) ||
		    !same_bytes(data, len, want)) {
			failure(w, k,
				"many%d: message %d in LocalFile %s: %zu "
				"bytes, not the %zu generated",
				user, n, path, (size_t)len, want->len);
			ok = false;
		}
		g_free(data);
		unlink(path);
	} else {
		const char *data;
		size_t len;

		spop_get_message(s, &data, &len);
		if (!same_bytes(data, len, want)) {
			failure(w, k,
				"many%d: message %d in memory: %zu bytes, "
				"not the %zu generated",
				user, n, len, want->len);
			ok = false;
		}
	}
	if (path) {
		spop_set_local_file(s, "");
		g_free(path);
	}
	return ok;
}

static ssize_t collect_write(void *ud, const void *buf, size_t count)
{
	g_string_append_len(ud, buf, (gssize)count);
	return (ssize_t)count;
}

static int can_write(void *ud)
{
	return 1;
}

struct batch_seen {
	int done, failed, last_number;
};

static int batch_done(spop_t *s, const struct spop_batch_item *item, void *ud)
{
	struct batch_seen *seen = ud;

	seen->done++;
	if (item->result || item->message_number != seen->last_number + 1)
		seen->failed++;
	seen->last_number = item->message_number;
	return 0;
}

/* The whole mailbox in one pipelined batch into a stream: what arrived is
 * the generated messages one after the other. */
static bool retrieve_batch(struct worker *w, int k, spop_t *s, int user)
{
	GString *got = g_string_new(NULL), *want = g_string_new(NULL);
	struct spop_stream stream = {.size = sizeof stream,
				     .user_data = got,
				     .can_write = can_write,
				     .write = collect_write};
	struct batch_seen seen = {0};
	struct spop_batch batch = {.done = batch_done, .user_data = &seen};
	bool ok = false;
	int rc;

	for (int n = 1; n <= MESSAGES; n++)
		g_string_append_len(want, expected[user][n]->str,
				    (gssize)expected[user][n]->len);
	if (!spop_config(s, "CloseStreamAfterTransfer=False") ||
	    (rc = spop_set_message_stream(s, &stream)) != 0)
		failure(w, k, "many%d: the stream could not be set: %s", user,
			spop_last_error(s));
	else if ((rc = spop_retrieve_batch(s, &batch)) != 0)
		failure(w, k, "many%d: RetrieveBatch: %d %s", user, rc,
			spop_last_error(s));
	else if (seen.done != MESSAGES || seen.failed)
		failure(w, k,
			"many%d: batch: %d done callbacks (%d out of order "
			"or failed), not %d",
			user, seen.done, seen.failed, MESSAGES);
	else if (got->len != want->len ||
		 memcmp(got->str, want->str, got->len) != 0)
		failure(w, k,
			"many%d: batch stream: %zu bytes, not the %zu "
			"generated",
			user, got->len, want->len);
	else
		ok = true;
	spop_set_message_stream(s, NULL);
	g_string_free(got, TRUE);
	g_string_free(want, TRUE);
	return ok;
}

static void session(struct worker *w, int k)
{
	enum transport t =
	    (w->transport + (w->transport_rotates ? k : 0)) % N_TRANSPORTS;
	enum mechanism m =
	    (w->mechanism + (w->mechanism_rotates ? k : 0)) % N_MECHANISMS;
	int user = (w->index * SESSIONS + k) % USERS + 1;
	bool wrong = w->wrong_every_other && k % 2 == 0;
	char name[32], secret[48];
	int ends = 0, rc;
	spop_t *s = spop_new();

	snprintf(name, sizeof name, "many%d", user);
	snprintf(secret, sizeof secret, "many%d-%s", user,
		 wrong ? "wrong" : "secret");
	spop_set_mail_server(s, "127.0.0.1");
	spop_set_mail_port(s, dovecot.port);
	spop_set_user(s, name);
	spop_set_password(s, secret);
	/* ThreadSanitizer makes everything 5-15 times slower */
	spop_set_timeout(s, 120);
	spop_set_include_headers(s, 1);
	spop_on_end_transfer(s, on_end, &ends);
	rc = configure(s, t, m);
	if (rc) {
		failure(w, k, "%s, %s: configuration: %d %s",
			transport_names[t], mechanism_names[m], rc,
			spop_last_error(s));
		spop_free(s);
		return;
	}
	rc = spop_connect(s);
	if (wrong) {
		/* The error is this object's, whatever the others do. */
		if (rc != SPOP_ERR_PROTOCOL ||
		    spop_last_error_code(s) != SPOP_ERR_PROTOCOL ||
		    !strstr(spop_last_error(s),
			    "the credentials were rejected"))
			failure(w, k,
				"%s, %s, wrong password for %s: %d (last "
				"error %d '%s'), not 171 naming the rejected "
				"credentials",
				transport_names[t], mechanism_names[m], name,
				rc, spop_last_error_code(s),
				spop_last_error(s));
		else
			w->rejected_ok++;
		spop_free(s);
		return;
	}
	if (rc) {
		failure(w, k, "%s, %s: Connect as %s: %d %s",
			transport_names[t], mechanism_names[m], name, rc,
			spop_last_error(s));
		spop_free(s);
		return;
	}
	if (spop_get_message_count(s) != MESSAGES) {
		failure(w, k, "%s: %d messages, not %d", name,
			spop_get_message_count(s), MESSAGES);
	} else if (w->batch) {
		if (retrieve_batch(w, k, s, user)) {
			w->messages_ok += MESSAGES;
			if (ends != MESSAGES)
				failure(w, k,
					"%s: %d EndTransfer events in a batch "
					"of %d messages",
					name, ends, MESSAGES);
		}
	} else {
		bool all = true;

		for (int n = 1; n <= MESSAGES; n++)
			if (retrieve_one(w, k, s, user, n))
				w->messages_ok++;
			else
				all = false;
		if (all && ends != MESSAGES)
			failure(w, k,
				"%s: %d EndTransfer events for %d "
				"messages",
				name, ends, MESSAGES);
	}
	rc = spop_disconnect(s);
	if (rc)
		failure(w, k, "%s: Disconnect: %d %s", name, rc,
			spop_last_error(s));
	else
		w->sessions_ok++;
	spop_free(s);
}

static gpointer worker_main(gpointer data)
{
	struct worker *w = data;

	pthread_barrier_wait(&gate);
	for (int k = 0; k < SESSIONS; k++)
		session(w, k);
	return NULL;
}

/* Runs THREADS workers made from proto (index, failures and results set
 * here) and asserts that every session did what it should. */
static void run_workers(const struct worker *proto, int spread_transport,
			int spread_mechanism)
{
	struct worker w[THREADS];
	GThread *th[THREADS];
	int want_ok = 0, want_rejected = 0, sessions_ok = 0, rejected_ok = 0,
	    messages_ok = 0;

	pthread_barrier_init(&gate, NULL, THREADS);
	for (int i = 0; i < THREADS; i++) {
		w[i] = *proto;
		w[i].index = i;
		/* neighbouring threads differ, so each combination runs
		 * concurrently with the others */
		if (spread_transport)
			w[i].transport = (enum transport)(i % N_TRANSPORTS);
		if (spread_mechanism)
			w[i].mechanism = (enum mechanism)(
			    (i / N_TRANSPORTS + i) % N_MECHANISMS);
		w[i].failures = g_string_new(NULL);
		for (int k = 0; k < SESSIONS; k++) {
			if (w[i].wrong_every_other && k % 2 == 0)
				want_rejected++;
			else
				want_ok++;
		}
	}
	for (int i = 0; i < THREADS; i++) {
		char name[16];

		snprintf(name, sizeof name, "worker-%d", i);
		th[i] = g_thread_new(name, worker_main, &w[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		g_thread_join(th[i]);
		if (w[i].failures->len)
			fprintf(stderr, "%s", w[i].failures->str);
		CU_ASSERT_EQUAL(w[i].failures->len, 0);
		sessions_ok += w[i].sessions_ok;
		rejected_ok += w[i].rejected_ok;
		messages_ok += w[i].messages_ok;
		g_string_free(w[i].failures, TRUE);
	}
	pthread_barrier_destroy(&gate);
	CU_ASSERT_EQUAL(sessions_ok, want_ok);
	CU_ASSERT_EQUAL(rejected_ok, want_rejected);
	CU_ASSERT_EQUAL(messages_ok, want_ok * MESSAGES);
}

/* First: nothing is loaded yet, and the threads load every plugin (both
 * TLS providers, three mechanisms) and initialise GnuTLS, OpenSSL and
 * libgcrypt at the same moment. */
static void test_first_use_everything_at_once(void)
{
	struct worker proto = {.transport_rotates = 1, .mechanism_rotates = 1};

	run_workers(&proto, 1, 1);
}

static void test_plain(void)
{
	struct worker proto = {.transport = PLAIN, .mechanism_rotates = 1};

	run_workers(&proto, 0, 1);
}

static void test_tls_gnutls(void)
{
	struct worker proto = {.transport = TLS_GNUTLS, .mechanism_rotates = 1};

	run_workers(&proto, 0, 1);
}

static void test_tls_openssl(void)
{
	struct worker proto = {.transport = TLS_OPENSSL,
			       .mechanism_rotates = 1};

	run_workers(&proto, 0, 1);
}

/* Errors are per object: a rejected login on one thread never shows in
 * another thread's session or error. */
static void test_wrong_and_right_passwords(void)
{
	struct worker proto = {.transport_rotates = 1,
			       .mechanism_rotates = 1,
			       .wrong_every_other = 1};

	run_workers(&proto, 1, 1);
}

/* The pipelined batch (a window of RETRs in flight) on every transport. */
static void test_batch(void)
{
	struct worker proto = {
	    .transport_rotates = 1, .mechanism_rotates = 1, .batch = 1};

	run_workers(&proto, 1, 1);
}

static const struct test_case cases[] = {
    {"first use: both TLS providers, three mechanisms, 8 threads at once",
     test_first_use_everything_at_once},
    {"plain, USER/PASS, CRAM-MD5, SCRAM-SHA-256 on 8 threads", test_plain},
    {"TLS gnutls, three mechanisms on 8 threads", test_tls_gnutls},
    {"TLS openssl, three mechanisms on 8 threads", test_tls_openssl},
    {"wrong passwords beside right ones on 8 threads",
     test_wrong_and_right_passwords},
    {"pipelined batch, plain and TLS, on 8 threads", test_batch},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"threads", NULL, NULL, cases},
    {NULL},
};

static int load_expected(void)
{
	for (int u = 1; u <= USERS; u++) {
		char user[32];

		snprintf(user, sizeof user, "many%d", u);
		if (harness_message_count(&dovecot, user) != MESSAGES) {
			fprintf(stderr,
				"FAIL: the harness made %d messages for %s, "
				"not %d\n",
				harness_message_count(&dovecot, user), user,
				MESSAGES);
			return -1;
		}
		for (int n = 1; n <= MESSAGES; n++) {
			expected[u][n] = expected_message(n, user);
			if (expected[u][n]->len == 0) {
				fprintf(stderr,
					"FAIL: message %d of %s: nothing "
					"generated\n",
					n, user);
				return -1;
			}
		}
	}
	return 0;
}

int main(void)
{
	const char *why = harness_dovecot_unavailable();
	struct harness_tls tls = {.cert = "good"};
	char *ca;
	int rc = 1;

	if (why)
		return harness_cannot_run("threads", why);
	g_setenv("HARNESS_MANY_USERS", G_STRINGIFY(USERS), TRUE);
	g_setenv("HARNESS_MANY_MESSAGES", G_STRINGIFY(MESSAGES), TRUE);
	if (harness_dovecot_start_tls(&dovecot, "threads", &tls))
		return 1;
	ca = harness_cert_file("ca.pem");
	out_dir = g_dir_make_tmp("spop-threads-XXXXXX", NULL);
	if (ca && g_file_get_contents(ca, &ca_pem, NULL, NULL) && out_dir &&
	    load_expected() == 0)
		rc = test_run(suites);
	else
		fprintf(stderr, "FAIL: threads: no CA certificate, temporary "
				"directory or expected messages\n");
	harness_dovecot_stop(&dovecot);
	if (out_dir && rmdir(out_dir) != 0) {
		fprintf(stderr, "FAIL: %s: %s (a LocalFile left behind?)\n",
			out_dir, g_strerror(errno));
		rc = 1;
	}
	for (int u = 1; u <= USERS; u++)
		for (int n = 1; n <= MESSAGES; n++)
			if (expected[u][n])
				g_string_free(expected[u][n], TRUE);
	g_free(out_dir);
	g_free(ca_pem);
	g_free(ca);
	return rc;
}
