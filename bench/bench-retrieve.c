/* Retrieval throughput and the bounded-memory claim: retrieves one big
 * message (1 GiB by default) from a private Dovecot to LocalFile, to a
 * stream and with a Transfer handler, and prints time, MiB/s and peak RSS.
 * It fails on wrong sizes, never on times or memory figures. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <glib.h>
#include <spop/spop.h>

#include "harness.h"

#include "bench-mem.h"

#ifndef BENCH_PLUGIN_DIR
#error "BENCH_PLUGIN_DIR must name the plugins of the build tree"
#endif

#define MIB	      (1024.0 * 1024.0)
#define DEFAULT_BYTES (1024LL * 1024 * 1024)
/* The verdict's allowance on top of MessageMemoryLimit: buffers, GLib, the
 * plugin modules and the headers model, none of which grow with the body. */
#define SLACK_BYTES (64LL * 1024 * 1024)

enum sink_kind { SINK_FILE, SINK_STREAM, SINK_STREAM_EVENTS };

struct run {
	const char *name;
	enum sink_kind sink;
	int max_line_length;
	bool no_copies; /* MessageMemoryLimit=0: no Message, no MessageText */
	/* results */
	double wall_s, user_s, sys_s;
	long long rss_connected_kb; /* VmRSS after connect */
	long long hwm_kb;	    /* VmHWM during the retrieval */
	long maxrss_before_kb, maxrss_after_kb;
	long long bytes; /* what arrived, by the sink's own count */
	long long lines, pieces;
	size_t message_len, text_len;
	bool ok;
};

struct counter {
	long long bytes;
};

struct line_counter {
	long long lines, pieces, bytes, last_transferred;
};

static struct harness_dovecot dovecot;
static long long list_size; /* of the big message, as LIST reports it */
static long long memory_limit;
static bool hwm_resettable;
static char *out_path;

static long maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void cpu_seconds(double *user, double *sys)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*user = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	*sys = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static ssize_t discard_write(void *ud, const void *buffer, size_t count)
{
	((struct counter *)ud)->bytes += (long long)count;
	return (ssize_t)count;
}

static int can_write(void *ud)
{
	return 1;
}

static void count_lines(spop_t *s, const struct spop_transfer_event *e,
			void *ud)
{
	struct line_counter *c = ud;

	if (e->eol)
		c->lines++;
	else
		c->pieces++;
	c->bytes += (long long)e->text_len + (e->eol ? 2 : 0);
	c->last_transferred = e->bytes_transferred;
}

static int fail(spop_t *s, const char *what)
{
	fprintf(stderr, "bench-retrieve: %s failed: %d %s\n", what,
		spop_last_error_code(s), spop_last_error(s));
	return -1;
}

static spop_t *connect_new(int max_line_length, bool no_copies)
{
	spop_t *s = spop_new();
	char *setting;

	if (no_copies && spop_config(s, "MessageMemoryLimit=0") == NULL) {
		fail(s, "MessageMemoryLimit=0");
		spop_free(s);
		return NULL;
	}
	setting = g_strdup_printf("MaxLineLength=%d", max_line_length);
	if (spop_config(s, setting) == NULL) {
		fail(s, setting);
		g_free(setting);
		spop_free(s);
		return NULL;
	}
	g_free(setting);
	spop_set_mail_server(s, "127.0.0.1");
	spop_set_mail_port(s, dovecot.port);
	spop_set_user(s, HARNESS_MAIN_USER);
	spop_set_password(s, HARNESS_MAIN_PASSWORD);
	/* Dovecot reads the whole big file to answer STAT at login. */
	spop_set_timeout(s, 300);
	/* The whole message, headers too, so sizes compare with LIST. */
	spop_set_include_headers(s, 1);
	if (spop_connect(s) != 0) {
		fail(s, "Connect");
		spop_free(s);
		return NULL;
	}
	return s;
}

static bool check_size(const char *what, long long got)
{
	if (got == list_size)
		return true;
	fprintf(stderr, "bench-retrieve: %s: %lld bytes, LIST says %lld\n",
		what, got, list_size);
	return false;
}

static bool check_file(struct run *r)
{
	struct stat st;
	char head[32] = "";
	FILE *f;
	bool ok;

	if (stat(out_path, &st) != 0) {
		fprintf(stderr, "bench-retrieve: %s: %s\n", out_path,
			g_strerror(errno));
		return false;
	}
	r->bytes = (long long)st.st_size;
	ok = check_size("LocalFile", r->bytes);
	f = fopen(out_path, "rb");
	if (f != NULL) {
		if (fgets(head, sizeof(head), f) == NULL)
			head[0] = '\0';
		fclose(f);
	}
	if (strncmp(head, "Message-ID: <big.7@", 19) != 0) {
		fprintf(stderr,
			"bench-retrieve: %s does not start with the "
			"big message's first header\n",
			out_path);
		ok = false;
	}
	unlink(out_path);
	return ok;
}

/* The in-memory copies must stay within MessageMemoryLimit whatever the
 * message size: that is the other half of the claim. */
static bool check_memory_copies(spop_t *s, struct run *r)
{
	long long limit = r->no_copies ? 0 : memory_limit;
	const char *data;
	bool ok = true;

	if (spop_get_message(s, &data, &r->message_len) != 0 ||
	    spop_get_message_text(s, &data, &r->text_len) != 0) {
		fail(s, "Message/MessageText");
		return false;
	}
	if ((long long)r->message_len > limit ||
	    (long long)r->text_len > limit) {
		fprintf(stderr,
			"bench-retrieve: Message holds %zu bytes, "
			"MessageText %zu, above MessageMemoryLimit %lld\n",
			r->message_len, r->text_len, limit);
		ok = false;
	}
	return ok;
}

static int do_run(struct run *r)
{
	struct counter counted = {0};
	struct line_counter lines = {0};
	struct spop_stream stream = {
	    .size = sizeof(stream),
	    .user_data = &counted,
	    .can_write = can_write,
	    .write = discard_write,
	};
	double u0, s0, u1, s1;
	gint64 t0;
	spop_t *s;
	int rc;

	s = connect_new(r->max_line_length, r->no_copies);
	if (s == NULL)
		return -1;
	spop_set_message_number(s, HARNESS_MSG_BIG);
	if (r->sink == SINK_FILE)
		spop_set_local_file(s, out_path);
	else
		spop_set_message_stream(s, &stream);
	if (r->sink == SINK_STREAM_EVENTS)
		spop_on_transfer(s, count_lines, &lines);

	r->rss_connected_kb = proc_status_kb("VmRSS");
	hwm_resettable = reset_hwm();
	r->maxrss_before_kb = maxrss_kb();
	cpu_seconds(&u0, &s0);
	t0 = g_get_monotonic_time();
	rc = spop_retrieve(s);
	r->wall_s = (double)(g_get_monotonic_time() - t0) / 1e6;
	cpu_seconds(&u1, &s1);
	r->user_s = u1 - u0;
	r->sys_s = s1 - s0;
	r->hwm_kb = proc_status_kb("VmHWM");
	r->maxrss_after_kb = maxrss_kb();
	if (rc != 0) {
		fail(s, "Retrieve");
		unlink(out_path);
		spop_free(s);
		return -1;
	}

	r->ok = check_memory_copies(s, r);
	if (r->sink == SINK_FILE) {
		r->ok = check_file(r) && r->ok;
	} else {
		r->bytes = counted.bytes;
		r->ok = check_size("stream", counted.bytes) && r->ok;
	}
	if (r->sink == SINK_STREAM_EVENTS) {
		r->lines = lines.lines;
		r->pieces = lines.pieces;
		r->ok = check_size("Transfer events", lines.bytes) && r->ok;
		r->ok =
		    check_size("BytesTransferred", lines.last_transferred) &&
		    r->ok;
	}
	spop_disconnect(s);
	spop_free(s);
	return r->ok ? 0 : -1;
}

static long long parse_size(const char *text)
{
	char *end;
	long long v = g_ascii_strtoll(text, &end, 10);

	switch (g_ascii_toupper(*end)) {
	case 'K': v *= 1024, end++; break;
	case 'M': v *= 1024 * 1024, end++; break;
	case 'G': v *= 1024 * 1024 * 1024, end++; break;
	}
	if (end == text || *end != '\0' || v < 1024)
		return -1;
	return v;
}

/* The Maildir copy and the LocalFile copy live in the build tree at the
 * same time; refuse early rather than fill the disk halfway through. */
static bool enough_disk(long long bytes)
{
	struct statvfs vfs;
	long long free_bytes, need = 2 * bytes + 256LL * 1024 * 1024;

	if (statvfs(HARNESS_WORK_DIR, &vfs) != 0)
		return true;
	free_bytes = (long long)vfs.f_bavail * (long long)vfs.f_frsize;
	if (free_bytes >= need)
		return true;
	fprintf(stderr,
		"bench-retrieve: %s has %.0f MiB free; a %.0f MiB "
		"message needs about %.0f MiB (mailbox + LocalFile)\n",
		HARNESS_WORK_DIR, free_bytes / MIB, bytes / MIB, need / MIB);
	return false;
}

static void print_table(struct run *runs, int n, long long baseline_kb)
{
	printf("\n%-18s %6s %7s %7s %6s %6s %8s %8s %8s %15s %5s\n", "run",
	       "MaxLL", "wall s", "MiB/s", "user", "sys", "RSS0", "peak",
	       "+RSS", "ru_maxrss", "size");
	for (int i = 0; i < n; i++) {
		struct run *r = &runs[i];
		char maxrss[32];

		g_snprintf(maxrss, sizeof(maxrss), "%.1f -> %.1f",
			   r->maxrss_before_kb / 1024.0,
			   r->maxrss_after_kb / 1024.0);
		printf("%-18s %6d %7.2f %7.1f %6.2f %6.2f %8.1f %8.1f %8.1f "
		       "%15s %5s\n",
		       r->name, r->max_line_length, r->wall_s,
		       list_size / MIB / r->wall_s, r->user_s, r->sys_s,
		       r->rss_connected_kb / 1024.0, r->hwm_kb / 1024.0,
		       (r->hwm_kb - baseline_kb) / 1024.0, maxrss,
		       r->ok ? "ok" : "WRONG");
	}
	printf("(MaxLL = MaxLineLength; seconds; memory in MiB: RSS0 after "
	       "connect, peak = VmHWM\n during Retrieve, +RSS = peak minus "
	       "RSS after the first connect, ru_maxrss\n before -> after "
	       "Retrieve)\n");
}

/* The per-line cost of the Transfer event: the same stream run with and
 * without a handler, spread over the lines. */
static void print_event_cost(struct run *runs, int n)
{
	for (int i = 0; i < n; i++) {
		struct run *ev = &runs[i], *plain = NULL;

		if (ev->sink != SINK_STREAM_EVENTS || ev->lines == 0)
			continue;
		for (int j = 0; j < n; j++)
			if (runs[j].sink == SINK_STREAM && !runs[j].no_copies &&
			    runs[j].max_line_length == ev->max_line_length)
				plain = &runs[j];
		if (plain == NULL)
			continue;
		printf("Transfer event, MaxLineLength %d: %lld lines, %lld "
		       "pieces; %+.1f ns/line wall, %+.1f ns/line cpu\n",
		       ev->max_line_length, ev->lines, ev->pieces,
		       (ev->wall_s - plain->wall_s) * 1e9 / ev->lines,
		       (ev->user_s + ev->sys_s - plain->user_s - plain->sys_s) *
			   1e9 / ev->lines);
	}
}

/* Reads until the buffer holds a whole line; single-line replies only. */
static bool raw_line(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	while (len + 1 < cap) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);

		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
		if (strchr(buf, '\n') != NULL)
			return buf[0] == '+';
	}
	return false;
}

static bool raw_command(int fd, const char *command, char *buf, size_t cap)
{
	size_t n = strlen(command);

	return write(fd, command, n) == (ssize_t)n && raw_line(fd, buf, cap);
}

/* What the server alone delivers: RETR read with 1 MiB read()s and thrown
 * away, no line splitting, no library. The library cannot beat this. */
static void print_server_reference(void)
{
	size_t cap = 1024 * 1024;
	char *buf = g_malloc(cap), tail[5] = "";
	struct sockaddr_in sin = {.sin_family = AF_INET};
	long long body = -1, got = 0;
	bool first = true;
	double wall = 0;
	gint64 t0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_port = htons((uint16_t)dovecot.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    !raw_line(fd, buf, cap) ||
	    !raw_command(fd, "USER " HARNESS_MAIN_USER "\r\n", buf, cap) ||
	    !raw_command(fd, "PASS " HARNESS_MAIN_PASSWORD "\r\n", buf, cap))
		goto out;
	t0 = g_get_monotonic_time();
	if (write(fd, "RETR 7\r\n", 8) != 8)
		goto out;
	for (;;) {
		ssize_t n = read(fd, buf, cap);
		size_t keep;

		if (n <= 0)
			goto out;
		if (first) {
			/* The status line comes first, in the first read. */
			char *nl = memchr(buf, '\n', (size_t)n);

			if (nl == NULL)
				goto out;
			got -= nl - buf + 1;
			first = false;
		}
		got += n;
		/* The last five bytes seen so far, across reads. */
		keep = MIN((size_t)n, sizeof(tail));
		memmove(tail, tail + keep, sizeof(tail) - keep);
		memcpy(tail + sizeof(tail) - keep, buf + n - keep, keep);
		if (memcmp(tail, "\r\n.\r\n", 5) == 0)
			break;
	}
	wall = (double)(g_get_monotonic_time() - t0) / 1e6;
	/* message + ".\r\n"; the big message has no dots to stuff */
	body = got - 3;
	if (write(fd, "QUIT\r\n", 6) != 6)
		body = -1;
out:
	if (fd >= 0)
		close(fd);
	g_free(buf);
	if (body < 0 || wall <= 0) {
		printf("server reference: raw RETR failed\n");
		return;
	}
	printf("server reference: raw RETR read with 1 MiB read()s, no "
	       "library: %.2f s, %.1f MiB/s, %lld bytes (%s)\n",
	       wall, list_size / MIB / wall, body,
	       body == list_size ? "= LIST" : "not LIST's size");
}

/* What the disk alone costs: the same number of bytes written to the same
 * directory in 256 KiB writes, then fsync(), as LocalFile does. */
static void print_disk_reference(void)
{
	size_t chunk = 256 * 1024;
	char *buf = g_malloc(chunk);
	long long left = list_size;
	double u0, s0, u1, s1, wall;
	gint64 t0;
	int fd;

	memset(buf, 'x', chunk);
	fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		g_free(buf);
		return;
	}
	cpu_seconds(&u0, &s0);
	t0 = g_get_monotonic_time();
	while (left > 0) {
		ssize_t w = write(fd, buf, (size_t)MIN(left, (long long)chunk));

		if (w <= 0)
			break;
		left -= w;
	}
	fsync(fd);
	wall = (double)(g_get_monotonic_time() - t0) / 1e6;
	cpu_seconds(&u1, &s1);
	close(fd);
	unlink(out_path);
	g_free(buf);
	if (left == 0)
		printf("disk reference: write()+fsync() of the same %.1f MiB "
		       "beside LocalFile: %.2f s, %.1f MiB/s (user %.2f, sys "
		       "%.2f)\n",
		       list_size / MIB, wall, list_size / MIB / wall, u1 - u0,
		       s1 - s0);
}

int main(int argc, char **argv)
{
	struct run runs[] = {
#define RUN(n, k, m) {.name = n, .sink = k, .max_line_length = m}
	    RUN("LocalFile", SINK_FILE, 2048),
	    RUN("stream", SINK_STREAM, 2048),
	    RUN("stream + Transfer", SINK_STREAM_EVENTS, 2048),
	    RUN("LocalFile", SINK_FILE, 65536),
	    RUN("stream", SINK_STREAM, 65536),
	    RUN("stream + Transfer", SINK_STREAM_EVENTS, 65536),
	    /* What the library holds when it keeps no copies at all. */
	    {.name = "stream, no copies",
	     .sink = SINK_STREAM,
	     .max_line_length = 2048,
	     .no_copies = true},
#undef RUN
	};
	int n = (int)G_N_ELEMENTS(runs), status = 0;
	long long bytes = DEFAULT_BYTES, baseline_kb, peak_kb = 0;
	const char *why, *limit_text;
	char *text, *maildir_file;
	gint64 t0;
	spop_t *s;

	if (argc > 2 || (argc == 2 && (bytes = parse_size(argv[1])) < 0)) {
		fprintf(stderr,
			"usage: %s [SIZE]\n  SIZE of the big message "
			"in bytes, or with K, M or G (binary); at least 1K; "
			"default 1G\n",
			argv[0]);
		return 2;
	}
	why = harness_dovecot_unavailable();
	if (why != NULL) {
		fprintf(stderr, "bench-retrieve: skipped: %s\n", why);
		return HARNESS_EXIT_SKIP;
	}
	if (!enough_disk(bytes))
		return 1;
	/* The plugins of this build, unless the caller chose others. */
	g_setenv("SPOP_PLUGIN_PATH", BENCH_PLUGIN_DIR, FALSE);
	text = g_strdup_printf("%lld", bytes);
	g_setenv("HARNESS_BIG_BYTES", text, TRUE);
	g_free(text);

	printf("bench-retrieve: generating a %.0f MiB message and starting "
	       "Dovecot...\n",
	       bytes / MIB);
	fflush(stdout);
	t0 = g_get_monotonic_time();
	if (harness_dovecot_start(&dovecot, "bench") != 0)
		return 1;
	printf("  ready in %.1f s: %s, 127.0.0.1:%d\n",
	       (double)(g_get_monotonic_time() - t0) / 1e6, dovecot.dir,
	       dovecot.port);
	list_size = harness_message_size(&dovecot, HARNESS_MSG_BIG);
	maildir_file =
	    harness_message_file(&dovecot, HARNESS_MAIN_USER, HARNESS_MSG_BIG);
	out_path = g_build_filename(dovecot.dir, "bench-message.eml", NULL);
	if (list_size <= 0 || maildir_file == NULL) {
		fprintf(stderr,
			"bench-retrieve: message %d is not in %s/"
			"mailbox.txt\n",
			HARNESS_MSG_BIG, dovecot.dir);
		status = 1;
		goto out;
	}

	/* The baseline: a connected object that has retrieved nothing. */
	s = connect_new(2048, false);
	if (s == NULL) {
		status = 1;
		goto out;
	}
	baseline_kb = proc_status_kb("VmRSS");
	limit_text = spop_config(s, "MessageMemoryLimit");
	memory_limit = limit_text ? g_ascii_strtoll(limit_text, NULL, 10) : 0;
	spop_set_message_number(s, HARNESS_MSG_BIG);
	if (spop_query_message_size(s) != list_size) {
		fprintf(stderr,
			"bench-retrieve: LIST says %lld bytes, "
			"mailbox.txt %lld\n",
			(long long)spop_query_message_size(s), list_size);
		status = 1;
	}
	spop_disconnect(s);
	spop_free(s);
	if (status)
		goto out;
	printf("  message %d: %lld bytes (LIST), MessageMemoryLimit %lld\n"
	       "  RSS after connect, before any retrieval: %.1f MiB\n",
	       HARNESS_MSG_BIG, list_size, memory_limit, baseline_kb / 1024.0);

	for (int i = 0; i < n; i++) {
		printf("  run %d/%d: %s, MaxLineLength %d\n", i + 1, n,
		       runs[i].name, runs[i].max_line_length);
		fflush(stdout);
		if (do_run(&runs[i]) != 0)
			status = 1;
		if (runs[i].hwm_kb > peak_kb)
			peak_kb = runs[i].hwm_kb;
	}

	print_table(runs, n, baseline_kb);
	printf("\n");
	print_event_cost(runs, n);
	print_server_reference();
	print_disk_reference();
	printf("Message kept %zu bytes, MessageText %zu bytes (limit %lld "
	       "each)\n",
	       runs[0].message_len, runs[0].text_len, memory_limit);
	if (!hwm_resettable)
		printf("note: /proc/self/clear_refs refused; peaks are "
		       "cumulative since the start\n");
	printf("bounded memory: peak RSS %.1f MiB, %.1f MiB above the "
	       "connected baseline, for a %.1f MiB message; allowance %.0f "
	       "MiB (MessageMemoryLimit %.0f MiB + %.0f MiB): %s\n",
	       peak_kb / 1024.0, (peak_kb - baseline_kb) / 1024.0,
	       list_size / MIB, (memory_limit + SLACK_BYTES) / MIB,
	       memory_limit / MIB, SLACK_BYTES / MIB,
	       (peak_kb - baseline_kb) * 1024 < memory_limit + SLACK_BYTES
		   ? "HOLDS"
		   : "EXCEEDED");
	if (status)
		printf("FAILED: a size or an in-memory copy was wrong (see "
		       "above)\n");

out:
	unlink(out_path);
	if (harness_dovecot_stop(&dovecot) != 0)
		status = 1;
	/* The generated big message is as large as the run asked for. */
	if (maildir_file != NULL && unlink(maildir_file) != 0)
		fprintf(stderr, "bench-retrieve: could not remove %s: %s\n",
			maildir_file, g_strerror(errno));
	g_free(maildir_file);
	g_free(out_path);
	return status;
}
