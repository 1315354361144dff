/* The scripted peer: one thread, one connection, one script. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "scripted.h"

/* One byte from the client within ms: 1, 0 at its close, -1 on an error
 * (a reset: a close too), -2 on silence. Through the TLS layer once
 * STEP_TLS ran. */
static int get1(struct scripted *sc, int fd, char *c, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	ssize_t n;

	if (sc->tls_on)
		return sc->tls->read1(sc->tls->ctx, c, ms);
	if (poll(&p, 1, ms) <= 0)
		return -2;
	n = read(fd, c, 1);
	if (n < 0)
		return -1;
	if (n == 1 && sc->xor)
		*c ^= 0x5A;
	return (int)n;
}

static int read_line(struct scripted *sc, int fd, char *out, size_t cap)
{
	size_t n = 0;
	char c;

	for (;;) {
		/* bounded: a client that never sends must not hang the test */
		if (get1(sc, fd, &c, 10000) != 1)
			return -1;
		if (c == '\n')
			break;
		if (c != '\r' && n + 1 < cap)
			out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

/* STEP_REFUSE: 0 when the client closed without sending a line that starts
 * with one of the words; -1 (the line in out) otherwise. */
static int refuse(struct scripted *sc, int fd, const char *words, char *out,
		  size_t cap)
{
	char **list = g_strsplit(words, "|", -1);
	int rc = 0;

	while (rc == 0) {
		char c;
		int n = 1;
		size_t len = 0;

		/* one line, or what came before the end of the stream */
		for (;;) {
			n = get1(sc, fd, &c, 10000);
			if (n == -2) {
				g_strlcpy(out, "(no close within 10 s)", cap);
				rc = -1;
			}
			if (n <= 0)
				break;
			if (c == '\n')
				break;
			if (c != '\r' && len + 1 < cap)
				out[len++] = c;
		}
		if (rc)
			break;
		out[len] = '\0';
		for (int i = 0; rc == 0 && list[i] != NULL; i++)
			if (*list[i] != '\0' &&
			    g_ascii_strncasecmp(out, list[i],
						strlen(list[i])) == 0)
				rc = -1;
		if (rc == 0 && n <= 0)
			break;
	}
	g_strfreev(list);
	return rc;
}

/* STEP_EXPECT_EOF: 0 when the client closed and sent nothing. */
static int expect_eof(struct scripted *sc, int fd, char *out, size_t cap)
{
	char c;
	int n = get1(sc, fd, &c, 10000);

	if (n == 0 || n == -1) /* a reset is a close too */
		return 0;
	if (n == -2) {
		g_strlcpy(out, "(no close within 10 s)", cap);
		return -1;
	}
	g_snprintf(out, cap, "(a byte) %c", c);
	return -1;
}

static int send_text(struct scripted *sc, int fd, const char *text, size_t len)
{
	char buf[4096];

	if (sc->tls_on)
		return sc->tls->write(sc->tls->ctx, text, len);
	if (!sc->xor)
		return send(fd, text, len, MSG_NOSIGNAL) == (ssize_t)len ? 0
									 : -1;
	for (size_t off = 0; off < len;) {
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = text[off + i] ^ 0x5A;
		if (send(fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n)
			return -1;
		off += n;
	}
	return 0;
}

static void *serve(void *p)
{
	struct scripted *sc = p;
	struct pollfd pl = {sc->listen_fd, POLLIN, 0};
	int fd = -1;

	if (poll(&pl, 1, 10000) <= 0 ||
	    (fd = accept(sc->listen_fd, NULL, NULL)) < 0) {
		sc->failed_step = 0;
		return NULL;
	}
	for (int i = 0; sc->script[i].kind != STEP_END; i++) {
		const struct step *st = &sc->script[i];
		size_t len =
		    st->len ? st->len : (st->text ? strlen(st->text) : 0);

		switch (st->kind) {
		case STEP_SEND:
			if (send_text(sc, fd, st->text, len))
				goto fail;
			break;
		case STEP_TRICKLE:
			for (size_t k = 0; k < len; k++) {
				if (send_text(sc, fd, st->text + k, 1))
					goto fail;
				usleep((useconds_t)st->ms * 1000);
			}
			break;
		case STEP_EXPECT:
			if (read_line(sc, fd, sc->got, sizeof(sc->got)) ||
			    strncmp(sc->got, st->text, strlen(st->text)))
				goto fail;
			break;
		case STEP_EXPECT_LINE:
			if (read_line(sc, fd, sc->got, sizeof(sc->got)) ||
			    strcmp(sc->got, st->text))
				goto fail;
			break;
		case STEP_REFUSE:
			if (refuse(sc, fd, st->text, sc->got, sizeof(sc->got)))
				goto fail;
			break;
		case STEP_EXPECT_EOF:
			if (expect_eof(sc, fd, sc->got, sizeof(sc->got)))
				goto fail;
			break;
		case STEP_SLEEP: usleep((useconds_t)st->ms * 1000); break;
		case STEP_XOR: sc->xor = 1; break;
		case STEP_TLS:
			if (!sc->tls || sc->tls_on ||
			    sc->tls->start(sc->tls->ctx, fd, sc->got,
					   sizeof(sc->got)))
				goto fail;
			sc->tls_on = 1;
			break;
		case STEP_RAW:
			if (send(fd, st->text, len, MSG_NOSIGNAL) !=
			    (ssize_t)len)
				goto fail;
			break;
		case STEP_CUT: goto cut;
		case STEP_END: break;
		}
		continue;
	fail:
		sc->failed_step = i;
		if (sc->tls_on)
			sc->tls->end(sc->tls->ctx, 0);
		close(fd);
		return NULL;
	}
	if (sc->tls_on)
		sc->tls->end(sc->tls->ctx, 1);
	close(fd);
	return NULL;
cut:
	if (sc->tls_on)
		sc->tls->end(sc->tls->ctx, 0);
	close(fd);
	return NULL;
}

static int scripted_start_on_tls(struct scripted *sc, const struct step *script,
				 int port, const struct scripted_tls *tls);

int scripted_start(struct scripted *sc, const struct step *script)
{
	return scripted_start_on(sc, script, 0);
}

int scripted_start_tls(struct scripted *sc, const struct step *script,
		       const struct scripted_tls *tls)
{
	return scripted_start_on_tls(sc, script, 0, tls);
}

int scripted_start_on(struct scripted *sc, const struct step *script, int port)
{
	return scripted_start_on_tls(sc, script, port, NULL);
}

static int scripted_start_on_tls(struct scripted *sc, const struct step *script,
				 int port, const struct scripted_tls *tls)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	socklen_t l = sizeof(a);

	memset(sc, 0, sizeof(*sc));
	sc->script = script;
	sc->tls = tls;
	sc->failed_step = -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sc->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sc->listen_fd < 0 ||
	    bind(sc->listen_fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(sc->listen_fd, 1) ||
	    getsockname(sc->listen_fd, (struct sockaddr *)&a, &l))
		return -1;
	sc->port = ntohs(a.sin_port);
	return pthread_create(&sc->thread, NULL, serve, sc);
}

int scripted_finish(struct scripted *sc)
{
	pthread_join(sc->thread, NULL);
	close(sc->listen_fd);
	return sc->failed_step;
}
