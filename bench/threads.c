/* Scale: polls 1,000 mailboxes of a private Dovecot from one process with a
 * thread pool of independent spop_t objects (plain and implicit TLS, 8, 32
 * and 64 threads), printing wall time, mailboxes/s, client CPU and peak
 * RSS; then the memory one connected, logged-in, idle spop_t costs. Every
 * message is checked; the exit status says whether all arrived intact,
 * never anything about a time or a memory figure. */
#include <fcntl.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include <glib.h>
#include <spop/spop.h>

#include "harness.h"

#include "bench-mem.h"

#ifndef BENCH_PLUGIN_DIR
#error "BENCH_PLUGIN_DIR must name the plugins of the build tree"
#endif

#define MIB	 (1024.0 * 1024.0)
#define MESSAGES 3 /* per mailbox (HARNESS_MANY_MESSAGES) */

struct mode {
	const char *name;
	int start_mode; /* SPOP_SSL_* */
	int provider;	/* SPOP_SSLP_* */
	/* SSLCACertFilePaths empty: only SSLServerCACerts (the harness CA)
	 * is trusted, the system's bundle is not loaded */
	bool no_bundle;
};

static const struct mode modes[] = {
    {"plain", SPOP_SSL_NONE, SPOP_SSLP_AUTOMATIC, false},
    {"TLS gnutls", SPOP_SSL_IMPLICIT, SPOP_SSLP_INTERNAL, false},
    {"TLS openssl", SPOP_SSL_IMPLICIT, SPOP_SSLP_PLATFORM, false},
    {"gnutls, CA only", SPOP_SSL_IMPLICIT, SPOP_SSLP_INTERNAL, true},
    {"openssl, CA only", SPOP_SSL_IMPLICIT, SPOP_SSLP_PLATFORM, true},
};

static struct harness_dovecot dovecot;
static char *ca_setting; /* "SSLServerCACerts=<PEM>" */
static int users;
/* expected[u]: messages 1..MESSAGES of manyU as POP3 serves them, one
 * after the other (CRLF, headers included) */
static GString **expected;

/* One pool run's results, updated by the workers. */
static GMutex result_lock;
static int failures, complete;
static GString *first_failures; /* the first few, for stderr */

static double now_s(void)
{
	return (double)g_get_monotonic_time() / 1e6;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
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

static void fail(int user, const char *what, spop_t *s)
{
	g_mutex_lock(&result_lock);
	failures++;
	if (failures <= 5)
		g_string_append_printf(first_failures, "  many%d: %s: %d %s\n",
				       user, what,
				       s ? spop_last_error_code(s) : 0,
				       s ? spop_last_error(s) : "");
	g_mutex_unlock(&result_lock);
}

/* A new object for manyU over mode m, not yet connected. */
static spop_t *client(const struct mode *m, int user, char *name,
		      size_t name_len, GString *sink,
		      struct spop_stream *stream)
{
	spop_t *s = spop_new();
	char secret[48];

	snprintf(name, name_len, "many%d", user);
	snprintf(secret, sizeof secret, "many%d-secret", user);
	spop_set_mail_server(s, "127.0.0.1");
	spop_set_user(s, name);
	spop_set_password(s, secret);
	spop_set_timeout(s, 120);
	if (m->start_mode != SPOP_SSL_NONE) {
		spop_config(s, ca_setting);
		spop_set_ssl_start_mode(s, m->start_mode);
		spop_set_ssl_provider(s, m->provider);
		spop_set_mail_port(s, dovecot.tls_port);
		if (m->no_bundle)
			spop_config(s, "SSLCACertFilePaths=");
	} else {
		spop_set_mail_port(s, dovecot.port);
	}
	if (sink) {
		*stream = (struct spop_stream){.size = sizeof *stream,
					       .user_data = sink,
					       .can_write = can_write,
					       .write = collect_write};
		spop_set_include_headers(s, 1);
		spop_config(s, "CloseStreamAfterTransfer=False");
		spop_set_message_stream(s, stream);
	}
	return s;
}

/* One mailbox: connect (greeting, login, STAT), retrieve every message into
 * a stream, QUIT; what arrived must be what the harness generated. */
static void poll_mailbox(gpointer data, gpointer user_data)
{
	const struct mode *m = user_data;
	int user = GPOINTER_TO_INT(data);
	GString *sink = g_string_sized_new(1024);
	struct spop_stream stream;
	char name[32];
	spop_t *s = client(m, user, name, sizeof name, sink, &stream);
	bool ok = false;

	if (spop_connect(s) != 0) {
		fail(user, "Connect", s);
		goto out;
	}
	if (spop_get_message_count(s) != MESSAGES) {
		fail(user, "STAT: not the generated message count", NULL);
		spop_disconnect(s);
		goto out;
	}
	for (int n = 1; n <= MESSAGES; n++) {
		spop_set_message_number(s, n);
		if (spop_retrieve(s) != 0) {
			fail(user, "Retrieve", s);
			spop_disconnect(s);
			goto out;
		}
	}
	if (spop_disconnect(s) != 0) {
		fail(user, "Disconnect (QUIT)", s);
		goto out;
	}
	ok = sink->len == expected[user]->len &&
	     memcmp(sink->str, expected[user]->str, sink->len) == 0;
	if (!ok)
		fail(user, "the messages that arrived differ from the mailbox",
		     NULL);
out:
	if (ok) {
		g_mutex_lock(&result_lock);
		complete++;
		g_mutex_unlock(&result_lock);
	}
	spop_free(s);
	g_string_free(sink, TRUE);
}

/* Every mailbox once through a pool of threads; prints one row. */
static int pool_run(const struct mode *m, int threads)
{
	GError *error = NULL;
	GThreadPool *pool;
	double t0, c0, wall, cpu;
	long long rss0, hwm;

	failures = complete = 0;
	g_string_truncate(first_failures, 0);
	/* the earlier runs' threads left memory in malloc's arenas */
	malloc_trim(0);
	reset_hwm();
	rss0 = proc_status_kb("VmRSS");
	c0 = cpu_s();
	t0 = now_s();
	pool =
	    g_thread_pool_new(poll_mailbox, (gpointer)m, threads, TRUE, &error);
	if (!pool) {
		fprintf(stderr, "threads: no pool of %d threads: %s\n", threads,
			error->message);
		g_error_free(error);
		return -1;
	}
	for (int u = 1; u <= users; u++)
		g_thread_pool_push(pool, GINT_TO_POINTER(u), NULL);
	g_thread_pool_free(pool, FALSE, TRUE);
	wall = now_s() - t0;
	cpu = cpu_s() - c0;
	hwm = proc_status_kb("VmHWM");
	printf("%-16s %7d %8.2f %12.1f %7.2f %9.2f %9.1f %9.1f %8d/%d\n",
	       m->name, threads, wall, users / wall, cpu, cpu * 1000.0 / users,
	       rss0 / 1024.0, hwm / 1024.0, complete, users);
	fflush(stdout);
	if (failures) {
		fprintf(stderr,
			"threads: %s, %d threads: %d of %d mailboxes "
			"failed; the first:\n%s",
			m->name, threads, failures, users, first_failures->str);
		return -1;
	}
	return complete == users ? 0 : -1;
}

/* The RSS that held connections cost: n objects connected and logged in
 * at once, idle, from this one thread. */
static int idle_cost(const struct mode *m, int n)
{
	spop_t **held = g_new0(spop_t *, n);
	char name[32];
	long long rss0, rss1, rss2;
	int rc = 0, held_n = 0;

	/* one connection first, so that plugin loading and library
	 * initialisation are not counted as the first connection's */
	spop_t *warm = client(m, 1, name, sizeof name, NULL, NULL);
	if (spop_connect(warm) != 0) {
		fprintf(stderr, "threads: %s: warm-up Connect: %d %s\n",
			m->name, spop_last_error_code(warm),
			spop_last_error(warm));
		rc = -1;
	}
	spop_disconnect(warm);
	spop_free(warm);
	rss0 = proc_status_kb("VmRSS");
	for (int i = 0; i < n && rc == 0; i++) {
		held[i] = client(m, i + 1, name, sizeof name, NULL, NULL);
		if (spop_connect(held[i]) != 0) {
			fprintf(stderr,
				"threads: %s: Connect %d of %d (%s): "
				"%d %s\n",
				m->name, i + 1, n, name,
				spop_last_error_code(held[i]),
				spop_last_error(held[i]));
			rc = -1;
		} else if (spop_get_message_count(held[i]) != MESSAGES) {
			fprintf(stderr, "threads: %s: %s has %d messages\n",
				m->name, name, spop_get_message_count(held[i]));
			rc = -1;
		}
		held_n = i + 1;
	}
	rss1 = proc_status_kb("VmRSS");
	for (int i = 0; i < held_n; i++) {
		if (spop_get_connected(held[i]))
			spop_disconnect(held[i]);
		spop_free(held[i]);
	}
	/* what malloc keeps for reuse is not a leak: give it back first */
	malloc_trim(0);
	rss2 = proc_status_kb("VmRSS");
	g_free(held);
	if (rc == 0)
		printf("%-16s %5d %10.1f %10.1f %10.1f %12.1f\n", m->name, n,
		       rss0 / 1024.0, rss1 / 1024.0, rss2 / 1024.0,
		       (double)(rss1 - rss0) / n);
	fflush(stdout);
	return rc;
}

/* The idle cost of one mode, measured in a fresh process (this program
 * again, --idle-child), so that no mode reuses memory another one freed. */
static int idle_child(int argc, char **argv)
{
	char *pem = NULL;
	int m, n, rc;

	if (argc != 7 || (m = atoi(argv[2])) < 0 ||
	    m >= (int)G_N_ELEMENTS(modes) || (n = atoi(argv[3])) <= 0 ||
	    (dovecot.port = atoi(argv[4])) <= 0 ||
	    (dovecot.tls_port = atoi(argv[5])) <= 0 ||
	    !g_file_get_contents(argv[6], &pem, NULL, NULL)) {
		fprintf(stderr, "threads: bad --idle-child arguments\n");
		return 2;
	}
	ca_setting = g_strdup_printf("SSLServerCACerts=%s", pem);
	g_free(pem);
	rc = idle_cost(&modes[m], n);
	g_free(ca_setting);
	return rc ? 1 : 0;
}

static int idle_in_child(const char *self, int m, int n, const char *ca_path)
{
	char *args[8];
	char *out = NULL, *err = NULL;
	GError *error = NULL;
	int status = 0;

	args[0] = (char *)self;
	args[1] = "--idle-child";
	args[2] = g_strdup_printf("%d", m);
	args[3] = g_strdup_printf("%d", n);
	args[4] = g_strdup_printf("%d", dovecot.port);
	args[5] = g_strdup_printf("%d", dovecot.tls_port);
	args[6] = (char *)ca_path;
	args[7] = NULL;
	bool ran = g_spawn_sync(NULL, args, NULL, G_SPAWN_DEFAULT, NULL, NULL,
				&out, &err, &status, &error);
	for (int i = 2; i <= 5; i++)
		g_free(args[i]);
	if (!ran) {
		fprintf(stderr, "threads: %s --idle-child: %s\n", self,
			error->message);
		g_error_free(error);
		return -1;
	}
	fputs(out, stdout);
	fputs(err, stderr);
	fflush(stdout);
	g_free(out);
	g_free(err);
	return g_spawn_check_wait_status(status, NULL) ? 0 : -1;
}

static int load_expected(void)
{
	expected = g_new0(GString *, users + 1);
	for (int u = 1; u <= users; u++) {
		char user[32];

		snprintf(user, sizeof user, "many%d", u);
		expected[u] = g_string_new(NULL);
		for (int n = 1; n <= MESSAGES; n++) {
			char *path = harness_message_file(&dovecot, user, n);
			char *data = NULL;
			gsize len = 0;

			if (!path ||
			    !g_file_get_contents(path, &data, &len, NULL)) {
				fprintf(stderr,
					"threads: message %d of %s was not "
					"generated\n",
					n, user);
				g_free(path);
				return -1;
			}
			/* Dovecot serves LF as CRLF and ends the message
			 * with a line end */
			for (gsize i = 0; i < len; i++) {
				if (data[i] == '\n')
					g_string_append_c(expected[u], '\r');
				g_string_append_c(expected[u], data[i]);
			}
			if (len && data[len - 1] != '\n')
				g_string_append(expected[u], "\r\n");
			g_free(data);
			g_free(path);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int thread_counts[8] = {8, 32, 64}, n_counts = 3, idle_n = 200;
	int status = 0;
	const char *why;
	char *text, *path, *pem = NULL;
	double t0;

	if (argc > 1 && strcmp(argv[1], "--idle-child") == 0)
		return idle_child(argc, argv);
	users = 1000;
	if (argc > 1 && (users = atoi(argv[1])) <= 0)
		goto usage;
	if (argc > 2) {
		char **parts = g_strsplit(argv[2], ",", -1);

		n_counts = 0;
		for (int i = 0; parts[i] && n_counts < 8; i++)
			if ((thread_counts[n_counts++] = atoi(parts[i])) <= 0)
				n_counts = 100;
		g_strfreev(parts);
		if (n_counts == 0 || n_counts > 8)
			goto usage;
	}
	if (argc > 3 && (idle_n = atoi(argv[3])) <= 0)
		goto usage;
	if (argc > 4)
		goto usage;
	if (idle_n > users)
		idle_n = users;

	why = harness_dovecot_unavailable();
	if (why != NULL) {
		fprintf(stderr, "threads: skipped: %s\n", why);
		return HARNESS_EXIT_SKIP;
	}
	g_setenv("SPOP_PLUGIN_PATH", BENCH_PLUGIN_DIR, FALSE);
	g_setenv("HARNESS_BIG_BYTES", "65536", TRUE);
	text = g_strdup_printf("%d", users);
	g_setenv("HARNESS_MANY_USERS", text, TRUE);
	g_free(text);
	g_setenv("HARNESS_MANY_MESSAGES", G_STRINGIFY(MESSAGES), TRUE);

	/* the children find the plugins the same way */
	printf("threads: %d mailboxes of %d messages, starting Dovecot with "
	       "TLS...\n",
	       users, MESSAGES);
	fflush(stdout);
	t0 = now_s();
	struct harness_tls tls = {.cert = "good"};
	if (harness_dovecot_start_tls(&dovecot, "bench-threads", &tls) != 0)
		return 1;
	path = harness_cert_file("ca.pem");
	if (!path || !g_file_get_contents(path, &pem, NULL, NULL) ||
	    load_expected() != 0) {
		fprintf(stderr, "threads: no CA certificate or mailboxes from "
				"the harness\n");
		harness_dovecot_stop(&dovecot);
		return 1;
	}
	ca_setting = g_strdup_printf("SSLServerCACerts=%s", pem);
	g_free(pem);
	first_failures = g_string_new(NULL);
	printf("  ready in %.1f s: 127.0.0.1:%d (plain), :%d (TLS)\n\n",
	       now_s() - t0, dovecot.port, dovecot.tls_port);

	/* Idle cost first: the pool runs leave memory in malloc's arenas
	 * that later connections would reuse. */
	{
		printf("Idle connections: %d objects connected and logged "
		       "in at once (one thread), RSS in MiB\nbefore, with "
		       "them, after spop_free; the cost per connection in "
		       "KiB.\n",
		       idle_n);
		printf("%-16s %5s %10s %10s %10s %12s\n", "mode", "N", "before",
		       "held", "freed", "KiB/conn");
		for (size_t m = 0; m < G_N_ELEMENTS(modes) && !status; m++)
			if (idle_in_child(argv[0], (int)m, idle_n, path) != 0)
				status = 1;
	}

	if (!status) {
		printf("\nEvery mailbox once: connect, STAT, RETR each message "
		       "into a stream, QUIT.\nCPU is this process's "
		       "(user+sys); RSS in MiB, peak = VmHWM during the "
		       "run.\n");
		printf("%-16s %7s %8s %12s %7s %9s %9s %9s %10s\n", "mode",
		       "threads", "wall s", "mailboxes/s", "CPU s", "CPU ms/mb",
		       "RSS0", "peak RSS", "complete");
		for (size_t m = 0; m < G_N_ELEMENTS(modes) && !status; m++)
			for (int c = 0; c < n_counts && !status; c++)
				if (pool_run(&modes[m], thread_counts[c]) != 0)
					status = 1;
	}

	g_free(path);
	for (int u = 1; u <= users; u++)
		g_string_free(expected[u], TRUE);
	g_free(expected);
	g_free(ca_setting);
	g_string_free(first_failures, TRUE);
	if (harness_dovecot_stop(&dovecot) != 0)
		status = 1;
	return status;

usage:
	fprintf(stderr,
		"usage: %s [MAILBOXES [THREADS,... [IDLE]]]\n"
		"  MAILBOXES  users of 3 small messages each (default 1000)\n"
		"  THREADS    pool sizes, one run each (default 8,32,64)\n"
		"  IDLE       connections held at once for the per-connection "
		"memory (default 200)\n",
		argv[0]);
	return 2;
}
