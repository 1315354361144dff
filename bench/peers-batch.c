/* peers-batch: the "small C program on the batch API" of bench/peers.sh,
 * what an application that embeds libspop does to fetch a mailbox: one
 * connection, spop_retrieve_batch() of every message into DIR/N.eml (the
 * spop-probe file layout, so the same check applies), QUIT. No report, no
 * JSON, no S/MIME: the library's own cost.
 *
 * usage: peers-batch PORT USER PASSWORD DIR|- [CAFILE]
 *
 * With CAFILE the connection is implicit TLS, the server certificate
 * checked against it. Prints "messages N" on stdout; exit 1 on any
 * failure, with the library's message. DIR "-" ("spop-null" in peers.sh)
 * sends every message to a stream that only counts its bytes, and prints
 * "bytes N replies M" as peers-raw does: the library without the
 * filesystem, against the same floor. */
#include <spop/spop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
	const char *dir; /* NULL: the counting stream */
	int stored;
	int failed;
	long long bytes;
};

static ssize_t count_write(void *ud, const void *buf, size_t n)
{
	struct out *o = ud;

	(void)buf;
	o->bytes += (long long)n;
	return (ssize_t)n;
}

static int prepare(spop_t *s, const struct spop_batch_item *m, void *ud)
{
	struct out *o = ud;
	char path[4096];

	if (!o->dir)
		return 0;
	snprintf(path, sizeof(path), "%s/%d.eml", o->dir, m->message_number);
	return spop_set_local_file(s, path);
}

static int done(spop_t *s, const struct spop_batch_item *m, void *ud)
{
	struct out *o = ud;

	(void)s;
	if (m->result) {
		fprintf(stderr, "peers-batch: message %d: %s\n",
			m->message_number, m->error);
		o->failed++;
	} else {
		o->stored++;
	}
	return 0;
}

static int fail(spop_t *s, const char *what, int rc)
{
	fprintf(stderr, "peers-batch: %s: %d %s\n", what, rc,
		spop_last_error(s));
	spop_free(s);
	return 1;
}

int main(int argc, char **argv)
{
	struct out o = {0};
	spop_t *s;
	int rc;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: peers-batch PORT USER PASSWORD DIR|- "
				"[CAFILE]\n");
		return 2;
	}
	o.dir = strcmp(argv[4], "-") ? argv[4] : NULL;
	s = spop_new();
	if (!s)
		return 1;
	if ((rc = spop_set_mail_server(s, "127.0.0.1")) ||
	    (rc = spop_set_mail_port(s, atoi(argv[1]))) ||
	    (rc = spop_set_user(s, argv[2])) ||
	    (rc = spop_set_password(s, argv[3])) ||
	    (rc = spop_set_include_headers(s, 1)))
		return fail(s, "settings", rc);
	if (argc == 6) {
		char setting[4200];

		snprintf(setting, sizeof(setting), "SSLCACertFilePaths=%s",
			 argv[5]);
		if ((rc = spop_set_ssl_start_mode(s, SPOP_SSL_IMPLICIT)) ||
		    !spop_config(s, setting))
			return fail(s, "TLS settings",
				    rc ? rc : spop_last_error_code(s));
	}
	if (!o.dir) {
		struct spop_stream null = {.size = sizeof(null),
					   .user_data = &o,
					   .write = count_write};

		if ((rc = spop_set_message_stream(s, &null)) ||
		    !spop_config(s, "CloseStreamAfterTransfer=False"))
			return fail(s, "stream",
				    rc ? rc : spop_last_error_code(s));
	}
	if ((rc = spop_connect(s)))
		return fail(s, "connect", rc);
	struct spop_batch b = {
	    .prepare = prepare, .done = done, .user_data = &o};
	rc = spop_retrieve_batch(s, &b);
	if (rc)
		return fail(s, "batch", rc);
	if ((rc = spop_disconnect(s)))
		return fail(s, "QUIT", rc);
	spop_free(s);
	if (o.dir)
		printf("messages %d\n", o.stored);
	else
		printf("bytes %lld replies %d\n", o.bytes, o.stored);
	return o.failed ? 1 : 0;
}
