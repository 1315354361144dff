/* What TLS costs the client: retrieves a mailbox of many small messages
 * (2,000 of about 20 KiB by default) from a private Dovecot over plain TCP
 * and over implicit TLS with each TLS provider, and prints wall time,
 * MiB/s and the client's CPU per MiB, with each provider's CPU against
 * plain TCP. It fails on wrong byte counts, never on times. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <glib.h>
#include <spop/spop.h>

#include "harness.h"

#ifndef BENCH_PLUGIN_DIR
#error "BENCH_PLUGIN_DIR must name the plugins of the build tree"
#endif

#define MIB	    (1024.0 * 1024.0)
#define BULK_USER   "bulk"
#define BULK_SECRET "bulk-secret"
#define ROUNDS	    3

struct mode {
	const char *name;
	int start_mode; /* SPOP_SSL_* */
	int provider;	/* SPOP_SSLP_* */
};

struct sample {
	double wall_s, cpu_s, connect_s;
	long long bytes;
	char suite[128];
};

static struct harness_dovecot dovecot;
static char *ca_pem;

static ssize_t count_write(void *ud, const void *buf, size_t count)
{
	(void)buf;
	*(long long *)ud += (long long)count;
	return (ssize_t)count;
}

static int can_write(void *ud)
{
	(void)ud;
	return 1;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double now_s(void)
{
	return (double)g_get_monotonic_time() / 1e6;
}

/* One round: connect, retrieve every message into a counting stream,
 * disconnect. 0, or -1 after saying what failed. */
static int run(const struct mode *m, struct sample *out)
{
	spop_t *s = spop_new();
	long long counted = 0;
	struct spop_stream stream = {.size = sizeof stream,
				     .user_data = &counted,
				     .can_write = can_write,
				     .write = count_write};
	int rc;

	spop_set_mail_server(s, "127.0.0.1");
	spop_set_user(s, BULK_USER);
	spop_set_password(s, BULK_SECRET);
	spop_set_timeout(s, 60);
	spop_set_include_headers(s, 1);
	spop_config(s, "CloseStreamAfterTransfer=False");
	spop_set_mail_port(s, m->start_mode == SPOP_SSL_NONE
				  ? dovecot.port
				  : dovecot.tls_port);
	spop_set_ssl_start_mode(s, m->start_mode);
	spop_set_ssl_provider(s, m->provider);
	if (m->start_mode != SPOP_SSL_NONE) {
		char *setting = g_strdup_printf("SSLServerCACerts=%s", ca_pem);
		spop_config(s, setting);
		g_free(setting);
	}
	spop_set_message_stream(s, &stream);

	double t0 = now_s();
	rc = spop_connect(s);
	out->connect_s = now_s() - t0;
	if (rc) {
		fprintf(stderr, "bench-tls: %s: connect: %d %s\n", m->name, rc,
			spop_last_error(s));
		spop_free(s);
		return -1;
	}
	g_strlcpy(out->suite,
		  m->start_mode == SPOP_SSL_NONE
		      ? "-"
		      : spop_config(s, "SSLNegotiatedCipherSuite"),
		  sizeof out->suite);
	int count = spop_get_message_count(s);
	long long total = spop_get_total_size(s);

	double c0 = cpu_seconds();
	t0 = now_s();
	for (int i = 1; i <= count && !rc; i++) {
		spop_set_message_number(s, i);
		rc = spop_retrieve(s);
	}
	out->wall_s = now_s() - t0;
	out->cpu_s = cpu_seconds() - c0;
	out->bytes = counted;
	if (rc)
		fprintf(stderr, "bench-tls: %s: retrieve: %d %s\n", m->name, rc,
			spop_last_error(s));
	else if (counted != total) {
		fprintf(stderr,
			"bench-tls: %s: %lld bytes arrived, the mailbox holds "
			"%lld\n",
			m->name, counted, total);
		rc = -1;
	}
	spop_disconnect(s);
	spop_free(s);
	return rc ? -1 : 0;
}

static int by_cpu(const void *a, const void *b)
{
	double x = ((const struct sample *)a)->cpu_s;
	double y = ((const struct sample *)b)->cpu_s;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static const struct mode modes[] = {
	    {"plain TCP", SPOP_SSL_NONE, SPOP_SSLP_AUTOMATIC},
	    {"TLS gnutls", SPOP_SSL_IMPLICIT, SPOP_SSLP_INTERNAL},
	    {"TLS openssl", SPOP_SSL_IMPLICIT, SPOP_SSLP_PLATFORM},
	};
	struct sample med[G_N_ELEMENTS(modes)];
	const char *why;
	int count = 2000, status = 0;
	char *text, *path;

	if (argc > 2 || (argc == 2 && (count = atoi(argv[1])) <= 0)) {
		fprintf(stderr,
			"usage: %s [COUNT]\n  messages of about 20 KiB in "
			"the mailbox; default 2000\n",
			argv[0]);
		return 2;
	}
	why = harness_dovecot_unavailable();
	if (why != NULL) {
		fprintf(stderr, "bench-tls: skipped: %s\n", why);
		return HARNESS_EXIT_SKIP;
	}
	g_setenv("SPOP_PLUGIN_PATH", BENCH_PLUGIN_DIR, FALSE);
	/* the main user's big message is not measured here: keep it small */
	g_setenv("HARNESS_BIG_BYTES", "65536", TRUE);
	g_setenv("HARNESS_EXTRA_USERS", BULK_USER ":" BULK_SECRET ":bulk",
		 TRUE);
	text = g_strdup_printf("%d", count);
	g_setenv("HARNESS_BULK_COUNT", text, TRUE);
	g_free(text);

	printf("bench-tls: making %d messages and starting Dovecot with "
	       "TLS...\n",
	       count);
	fflush(stdout);
	double t0 = now_s();
	struct harness_tls tls = {.cert = "good"};
	if (harness_dovecot_start_tls(&dovecot, "bench-tls", &tls) != 0)
		return 1;
	path = harness_cert_file("ca.pem");
	if (!path || !g_file_get_contents(path, &ca_pem, NULL, NULL)) {
		fprintf(stderr, "bench-tls: no CA certificate from the "
				"harness\n");
		harness_dovecot_stop(&dovecot);
		return 1;
	}
	g_free(path);
	printf("  ready in %.1f s: 127.0.0.1:%d (plain), :%d (TLS)\n",
	       now_s() - t0, dovecot.port, dovecot.tls_port);
	printf("  %d rounds per mode, the median by CPU shown; CPU is the "
	       "client process's\n\n",
	       ROUNDS);
	printf("%-12s %8s %8s %9s %10s %8s  %s\n", "mode", "MiB", "wall s",
	       "MiB/s", "CPU ms/MiB", "vs TCP", "suite (connect ms)");

	for (size_t m = 0; m < G_N_ELEMENTS(modes); m++) {
		struct sample rounds[ROUNDS];

		for (int r = 0; r < ROUNDS; r++) {
			memset(&rounds[r], 0, sizeof rounds[r]);
			if (run(&modes[m], &rounds[r]) != 0) {
				status = 1;
				break;
			}
		}
		if (status)
			break;
		qsort(rounds, ROUNDS, sizeof rounds[0], by_cpu);
		med[m] = rounds[ROUNDS / 2];
		double mib = med[m].bytes / MIB;
		double per = med[m].cpu_s * 1000.0 / mib;
		double base = med[0].cpu_s * 1000.0 / (med[0].bytes / MIB);
		printf("%-12s %8.1f %8.2f %9.1f %10.2f %7.2fx  %s (%.1f)\n",
		       modes[m].name, mib, med[m].wall_s, mib / med[m].wall_s,
		       per, per / base, med[m].suite,
		       med[m].connect_s * 1000.0);
		fflush(stdout);
	}
	g_free(ca_pem);
	if (harness_dovecot_stop(&dovecot) != 0)
		status = 1;
	return status;
}
