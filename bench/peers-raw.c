/* peers-raw: the two reference clients of bench/peers.sh, with no POP3
 * library and no parsing beyond what each needs to know when to stop.
 *
 * usage: peers-raw floor|ceiling PORT USER PASSWORD COUNT [CAFILE]
 *        peers-raw run PROGRAM [ARG...]
 *
 *   floor    writes USER, PASS, RETR 1..COUNT and QUIT in one go, then reads
 *            to EOF with 1 MiB reads: the server's own speed (the "server
 *            floor"); it needs PIPELINING, which Dovecot offers.
 *   ceiling  one command at a time, as a client without pipelining must:
 *            each RETR reply is read with 1 MiB reads until the buffer ends
 *            in CRLF.CRLF (only the tail of each read is looked at).
 *
 * With CAFILE the connection is implicit TLS (GnuTLS, the server
 * certificate checked against CAFILE for 127.0.0.1). Nothing is stored.
 * Prints "bytes N replies R" on stdout (R: the RETR replies seen; the floor
 * does not count them, so R is 0 there); exit 1 on any failure, naming it.
 *
 *   run      runs PROGRAM and prints, on stderr's last line, "peers-raw run:
 *            WALL USER SYS MAXRSS_KIB STATUS": wall seconds from fork to
 *            its end, the user and system CPU seconds of it and every
 *            descendant it waited for (getrusage RUSAGE_CHILDREN), the
 *            largest peak RSS among them, and its exit status (128+signal
 *            when killed). Microsecond resolution, unlike /usr/bin/time's
 *            10 ms.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (1024 * 1024)

static int fd = -1;
static gnutls_session_t tls;

static void die(const char *what, const char *why)
{
	fprintf(stderr, "peers-raw: %s: %s\n", what, why);
	exit(1);
}

static ssize_t recv_some(char *buf, size_t len)
{
	if (tls) {
		ssize_t n;
		do
			n = gnutls_record_recv(tls, buf, len);
		while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
		if (n == GNUTLS_E_PREMATURE_TERMINATION)
			return 0; /* Dovecot closes after QUIT without
				     close_notify */
		if (n < 0)
			die("TLS read", gnutls_strerror((int)n));
		return n;
	}
	ssize_t n;
	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die("read", strerror(errno));
	return n;
}

static void send_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n;
		if (tls) {
			n = gnutls_record_send(tls, buf, len);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				continue;
			if (n < 0)
				die("TLS write", gnutls_strerror((int)n));
		} else {
			n = write(fd, buf, len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				die("write", strerror(errno));
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* Reads one single-line reply (greeting, USER, PASS, QUIT); must be +OK. */
static void read_status(char *buf, const char *what)
{
	size_t have = 0;
	while (have < 2 || buf[have - 2] != '\r' || buf[have - 1] != '\n') {
		ssize_t n = recv_some(buf + have, 4096 - have);
		if (n == 0)
			die(what, "connection closed");
		have += (size_t)n;
		if (have >= 4096)
			die(what, "reply too long");
	}
	if (strncmp(buf, "+OK", 3) != 0)
		die(what, "server said -ERR");
}

static void connect_to(int port, const char *cafile)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	int one = 1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("connect to 127.0.0.1", strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (!cafile)
		return;
	gnutls_certificate_credentials_t cred;
	int rc;
	if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
	    gnutls_certificate_set_x509_trust_file(cred, cafile,
						   GNUTLS_X509_FMT_PEM) <= 0)
		die(cafile, "no CA certificate read");
	if (gnutls_init(&tls, GNUTLS_CLIENT) < 0 ||
	    gnutls_set_default_priority(tls) < 0 ||
	    gnutls_credentials_set(tls, GNUTLS_CRD_CERTIFICATE, cred) < 0)
		die("TLS", "session setup failed");
	gnutls_session_set_verify_cert(tls, "127.0.0.1", 0);
	gnutls_transport_set_int(tls, fd);
	do
		rc = gnutls_handshake(tls);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0)
		die("TLS handshake", gnutls_strerror(rc));
}

static int run(char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0)
		die("fork", strerror(errno));
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "peers-raw: %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid", strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_CHILDREN, &ru);
	fprintf(stderr, "peers-raw run: %.6f %.6f %.6f %ld %d\n",
		(double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		(double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
		ru.ru_maxrss,
		WIFEXITED(status) ? WEXITSTATUS(status)
				  : 128 + WTERMSIG(status));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "run") == 0)
		return run(argv + 2);
	if (argc < 6 ||
	    (strcmp(argv[1], "floor") && strcmp(argv[1], "ceiling"))) {
		fprintf(stderr, "usage: peers-raw floor|ceiling PORT USER "
				"PASSWORD COUNT [CAFILE]\n");
		return 2;
	}
	int floor_mode = strcmp(argv[1], "floor") == 0;
	int port = atoi(argv[2]);
	long count = atol(argv[5]);
	char *buf = malloc(BUF_SIZE);
	char cmd[512];
	unsigned long long bytes = 0;
	long replies = 0;

	if (!buf)
		die("malloc", "out of memory");
	connect_to(port, argc > 6 ? argv[6] : NULL);

	if (floor_mode) {
		/* Everything at once, greeting included in what is read. */
		size_t cap = 256 + (size_t)count * 24, len;
		char *all = malloc(cap);
		if (!all)
			die("malloc", "out of memory");
		len = (size_t)snprintf(all, cap, "USER %s\r\nPASS %s\r\n",
				       argv[3], argv[4]);
		for (long i = 1; i <= count; i++)
			len += (size_t)snprintf(all + len, cap - len,
						"RETR %ld\r\n", i);
		len += (size_t)snprintf(all + len, cap - len, "QUIT\r\n");
		send_all(all, len);
		free(all);
		for (;;) {
			ssize_t n = recv_some(buf, BUF_SIZE);
			if (n == 0)
				break;
			bytes += (unsigned long long)n;
		}
	} else {
		read_status(buf, "greeting");
		snprintf(cmd, sizeof cmd, "USER %s\r\n", argv[3]);
		send_all(cmd, strlen(cmd));
		read_status(buf, "USER");
		snprintf(cmd, sizeof cmd, "PASS %s\r\n", argv[4]);
		send_all(cmd, strlen(cmd));
		read_status(buf, "PASS");
		for (long i = 1; i <= count; i++) {
			/* The tail kept across reads: CRLF.CRLF may straddle
			 * two. */
			char tail[5] = {0};
			size_t got = 0;
			snprintf(cmd, sizeof cmd, "RETR %ld\r\n", i);
			send_all(cmd, strlen(cmd));
			for (;;) {
				ssize_t n = recv_some(buf, BUF_SIZE);
				if (n == 0)
					die("RETR",
					    "connection closed in a reply");
				if (got == 0 && buf[0] != '+')
					die("RETR", "server said -ERR");
				got += (size_t)n;
				bytes += (unsigned long long)n;
				if (n >= 5) {
					memcpy(tail, buf + n - 5, 5);
				} else {
					memmove(tail, tail + n, 5 - (size_t)n);
					memcpy(tail + 5 - n, buf, (size_t)n);
				}
				if (memcmp(tail, "\r\n.\r\n", 5) == 0)
					break;
			}
			replies++;
		}
		send_all("QUIT\r\n", 6);
		read_status(buf, "QUIT");
	}
	printf("bytes %llu replies %ld\n", bytes, replies);
	if (tls)
		gnutls_deinit(tls);
	close(fd);
	free(buf);
	return 0;
}
