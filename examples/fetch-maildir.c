/* fetch-maildir: fetches every message of a POP3 mailbox into a Maildir
 * and deletes each from the server once it is safely stored.
 *
 *   POP3_PASSWORD=secret fetch-maildir -s pop.example.org -u alice ~/Maildir
 *
 * Options (the environment variable in brackets is the default):
 *   -s, --server HOST    the POP3 server [POP3_SERVER]
 *   -p, --port N         its port, default 110 [POP3_PORT]
 *   -u, --user NAME      the login name [POP3_USER]
 *   -a, --auth NAME      an auth plugin by name (Config AuthMechanismName)
 *   -k, --keep           leave the messages on the server
 * The password is read from POP3_PASSWORD.
 *
 * The Maildir protocol (maildir(5)): each message is written to tmp/ under
 * a unique name, synced to disk, then renamed into new/, where mail
 * readers find it. Messages are stored with LF line ends, as Maildir
 * readers expect (POP3 sends CRLF).
 *
 * It shows the batch API, spop_retrieve_batch(): the whole mailbox in one
 * call, pipelined when the server can, each message streamed to its own
 * file through a spop_stream set from the batch's prepare callback. The
 * order of events is what makes deleting safe:
 *   1. the message is written to tmp/NAME and fsync()ed (the stream's
 *      flush, which the library calls at the end of each message: when it
 *      fails, the message fails);
 *   2. done renames it into new/NAME; only when done returns 0 does the
 *      library send DELE for it;
 *   3. after the batch, new/ itself is fsync()ed, so the renames are on
 *      disk; only then does spop_disconnect() send QUIT, which is what
 *      makes the server commit the DELEs (RFC 1939). Should anything fail
 *      before, the session ends without QUIT and the server keeps every
 *      message.
 * Exit status 0 when every message was stored (and deleted), 1 otherwise,
 * 2 for a usage error. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <spop/spop.h>

struct options {
	const char *server, *port, *user, *password, *auth, *maildir;
	int keep;
};

/* The message being written, and what the batch did so far. */
struct delivery {
	const char *maildir;
	char host[64];	 /* this host's name, for unique file names */
	unsigned seq;	 /* deliveries by this process */
	char name[160];	 /* the current message's file name */
	int fd;		 /* tmp/name while it is written, else -1 */
	int pending_cr;	 /* the last byte written was a CR */
	int write_errno; /* why the last write or flush failed */
	int stored;	 /* messages now in new/ */
	int failed;	 /* messages not stored */
	int deleted;	 /* DELEs the server accepted */
};

static int fail(spop_t *s, const char *what)
{
	int code = spop_last_error_code(s);
	const char *msg = spop_last_error(s);

	fprintf(stderr, "fetch-maildir: %s failed: error %d: %s\n", what, code,
		*msg ? msg : spop_error_text(code));
	return 1;
}

static int path_in(char *buf, size_t size, const char *maildir, const char *sub,
		   const char *name)
{
	int n = snprintf(buf, size, "%s/%s%s%s", maildir, sub, *name ? "/" : "",
			 name);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Makes DIR, DIR/tmp, DIR/new and DIR/cur unless they exist. */
static int make_maildir(const char *dir)
{
	static const char *const subs[] = {"", "tmp", "new", "cur"};
	char path[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (path_in(path, sizeof(path), dir, subs[i], "")) {
			fprintf(stderr, "fetch-maildir: %s: name too long\n",
				dir);
			return -1;
		}
		if (mkdir(path, 0700) && errno != EEXIST) {
			fprintf(stderr, "fetch-maildir: mkdir %s: %s\n", path,
				strerror(errno));
			return -1;
		}
		if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
			fprintf(stderr,
				"fetch-maildir: %s is not a directory\n", path);
			return -1;
		}
	}
	return 0;
}

/* write(2) all of buf, or -1 with errno set. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- the stream each message is written through ------------------------ */

static int stream_can_write(void *ud)
{
	(void)ud;
	return 1;
}

/* Writes the message's bytes as they arrive, CRLF turned into LF. A CR at
 * the end of one piece waits for the next: it may start a CRLF. */
static ssize_t stream_write(void *ud, const void *buffer, size_t count)
{
	struct delivery *d = ud;
	const char *in = buffer;
	char out[8192];
	size_t used = 0;

	for (size_t i = 0; i < count; i++) {
		if (used + 2 > sizeof(out)) {
			if (write_all(d->fd, out, used))
				goto failed;
			used = 0;
		}
		if (d->pending_cr && in[i] != '\n')
			out[used++] = '\r'; /* a CR alone stays */
		d->pending_cr = in[i] == '\r';
		if (!d->pending_cr)
			out[used++] = in[i];
	}
	if (write_all(d->fd, out, used))
		goto failed;
	return (ssize_t)count;
failed:
	d->write_errno = errno;
	return -1; /* the library fails this message with 302 */
}

/* Called by the library once the whole message went through write():
 * puts it on disk. */
static int stream_flush(void *ud)
{
	struct delivery *d = ud;

	if (d->pending_cr) {
		d->pending_cr = 0;
		if (write_all(d->fd, "\r", 1))
			goto failed;
	}
	if (fsync(d->fd))
		goto failed;
	return 0;
failed:
	d->write_errno = errno;
	return -1;
}

/* ---- the batch's callbacks ----------------------------------------------- */

/* Before each message: opens tmp/NAME and hands the library a stream
 * writing to it. Setters work inside batch callbacks; methods do not. */
static int prepare(spop_t *s, const struct spop_batch_item *m, void *ud)
{
	struct delivery *d = ud;
	struct timeval tv;
	char path[PATH_MAX];

	gettimeofday(&tv, NULL);
	/* time.MusecPpidQn.host: unique on this host, as maildir(5) asks */
	snprintf(d->name, sizeof(d->name), "%lld.M%06ldP%ldQ%u.%s",
		 (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
		 ++d->seq, d->host);
	if (path_in(path, sizeof(path), d->maildir, "tmp", d->name))
		return 1;
	d->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (d->fd < 0) {
		fprintf(stderr, "fetch-maildir: message %d: open %s: %s\n",
			m->message_number, path, strerror(errno));
		return 1; /* stops the batch: nothing more is fetched */
	}
	d->pending_cr = 0;
	d->write_errno = 0;

	const struct spop_stream stream = {
	    .size = sizeof(stream),
	    .user_data = d,
	    .can_write = stream_can_write,
	    .write = stream_write,
	    .flush = stream_flush,
	};
	/* The library copies the struct. */
	if (spop_set_message_stream(s, &stream)) {
		close(d->fd);
		d->fd = -1;
		unlink(path);
		return fail(s, "SetMessageStream");
	}
	return 0;
}

/* After each message: moves tmp/NAME to new/NAME, or removes it when the
 * message failed. Returning 0 lets the library send DELE for it. */
static int done(spop_t *s, const struct spop_batch_item *m, void *ud)
{
	struct delivery *d = ud;
	char from[PATH_MAX], to[PATH_MAX];
	int closed = close(d->fd);

	(void)s;
	d->fd = -1;
	path_in(from, sizeof(from), d->maildir, "tmp", d->name);
	path_in(to, sizeof(to), d->maildir, "new", d->name);
	if (m->result || closed) {
		/* The batch goes on with the next message; this one stays on
		 * the server and is fetched again next time. */
		fprintf(stderr,
			"fetch-maildir: message %d not stored: error %d: "
			"%s%s%s\n",
			m->message_number,
			m->result ? m->result : SPOP_ERR_FILE,
			m->result ? m->error : "close failed",
			d->write_errno ? " " : "",
			d->write_errno ? strerror(d->write_errno) : "");
		unlink(from);
		d->failed++;
		return 0;
	}
	if (rename(from, to)) {
		fprintf(stderr, "fetch-maildir: rename %s to %s: %s\n", from,
			to, strerror(errno));
		unlink(from);
		d->failed++;
		return 1; /* something is wrong with the Maildir: stop */
	}
	d->stored++;
	printf("%d %s new/%s\n", m->message_number, m->message_uid, d->name);
	return 0;
}

static int deleted(spop_t *s, const struct spop_batch_item *m, void *ud)
{
	struct delivery *d = ud;

	(void)s;
	if (m->result)
		fprintf(stderr,
			"fetch-maildir: message %d stored, not deleted: "
			"%s\n",
			m->message_number, m->error);
	else
		d->deleted++;
	return 0;
}

/* fsync() of a directory: the renames into it are on disk afterwards. */
static int sync_dir(const char *maildir, const char *sub)
{
	char path[PATH_MAX];
	int fd, rc;

	if (path_in(path, sizeof(path), maildir, sub, ""))
		return -1;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int fetch(spop_t *s, const struct options *o, struct delivery *d)
{
	if (spop_set_mail_server(s, o->server))
		return fail(s, "MailServer");
	if (o->port && spop_set_mail_port(s, atoi(o->port)))
		return fail(s, "MailPort");
	if (spop_set_user(s, o->user))
		return fail(s, "User");
	if (spop_set_password(s, o->password ? o->password : ""))
		return fail(s, "Password");
	if (o->auth) {
		char setting[256];

		snprintf(setting, sizeof(setting), "AuthMechanismName=%s",
			 o->auth);
		if (!spop_config(s, setting))
			return fail(s, "Config AuthMechanismName");
	}
	/* The file gets the whole message: headers, then the body. */
	if (spop_set_include_headers(s, 1))
		return fail(s, "IncludeHeaders");

	if (spop_connect(s))
		return fail(s, "Connect");

	/* first = last = 0: the whole mailbox, in order. */
	const struct spop_batch batch = {
	    .delete_after = !o->keep,
	    .prepare = prepare,
	    .done = done,
	    .deleted = deleted,
	    .user_data = d,
	};
	int rc = spop_retrieve_batch(s, &batch);

	if (d->fd >= 0) { /* stopped between prepare and done */
		char path[PATH_MAX];

		close(d->fd);
		d->fd = -1;
		if (!path_in(path, sizeof(path), d->maildir, "tmp", d->name))
			unlink(path);
	}
	/* The connection is gone: no QUIT, so the server deletes nothing, and
	 * what was stored will be fetched again next time (POP3 cannot do
	 * better: a message is never lost, at worst stored twice). */
	if (rc && !spop_get_connected(s))
		return fail(s, "Retrieving the mailbox");
	if (sync_dir(o->maildir, "new")) {
		fprintf(stderr,
			"fetch-maildir: fsync %s/new: %s; nothing is deleted "
			"from the server\n",
			o->maildir, strerror(errno));
		return 1; /* spop_free() closes without QUIT */
	}
	/* QUIT: the server now deletes what was stored. */
	if (spop_disconnect(s))
		return fail(s, "Disconnect (QUIT)");
	fprintf(stderr, "fetch-maildir: %d stored, %d deleted, %d failed\n",
		d->stored, d->deleted, d->failed);
	return rc || d->failed ? 1 : 0;
}

static void usage(FILE *to)
{
	fprintf(to, "usage: POP3_PASSWORD=... fetch-maildir [-s HOST] "
		    "[-p PORT] [-u USER] [-a AUTH] [--keep] MAILDIR\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"server", required_argument, NULL, 's'},
	    {"port", required_argument, NULL, 'p'},
	    {"user", required_argument, NULL, 'u'},
	    {"auth", required_argument, NULL, 'a'},
	    {"keep", no_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct options o = {
	    .server = getenv("POP3_SERVER"),
	    .port = getenv("POP3_PORT"),
	    .user = getenv("POP3_USER"),
	    .password = getenv("POP3_PASSWORD"),
	};
	struct delivery d = {.fd = -1};
	int opt;

	while ((opt = getopt_long(argc, argv, "s:p:u:a:kh", longopts, NULL)) !=
	       -1) {
		switch (opt) {
		case 's': o.server = optarg; break;
		case 'p': o.port = optarg; break;
		case 'u': o.user = optarg; break;
		case 'a': o.auth = optarg; break;
		case 'k': o.keep = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1 || !o.server || !o.user) {
		usage(stderr);
		return 2;
	}
	o.maildir = d.maildir = argv[optind];
	if (make_maildir(o.maildir))
		return 1;
	/* maildir(5): '/' and ':' may not appear in the host part */
	if (gethostname(d.host, sizeof(d.host) - 1))
		strcpy(d.host, "localhost");
	for (char *c = d.host; *c; c++)
		if (*c == '/' || *c == ':')
			*c = '_';

	spop_t *s = spop_new(); /* never NULL */
	int rc = fetch(s, &o, &d);

	spop_free(s); /* a session still open ends without QUIT */
	return rc;
}
