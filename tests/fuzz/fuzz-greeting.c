/* The server's greeting and the APOP timestamp in it (RFC 1939 section 7):
 * spop_connect, the whole real path (the "direct" transport, the session's
 * greeting read, framework/pop3/auth.c's AuthMechanismName=auto choice,
 * the "apop" plugin's timestamp search and digest), against a scripted
 * server on 127.0.0.1 run by a thread of the target. The first input byte
 * chooses AuthMechanismName (bit 0: apop or auto) and the password (bit 1);
 * the rest up to the first LF is the greeting line. The server is this
 * process, one connection at a time (see "the scripted server").
 *
 * The server answers CAPA with -ERR (no list: USER is assumed, APOP is
 * offered exactly when the greeting has a timestamp), then what the
 * target's model says the client will send next; it records every byte
 * the client sends. Checked against the model, written here from RFC 1939
 * (the first "<...>" whose inside is printable ASCII without blanks or
 * '<', with one '@' that has text on both sides):
 *   - a greeting that is not "+OK" fails with 171 and a message, and
 *     nothing is sent;
 *   - the greeting is kept as the server sent it (up to a NUL);
 *   - with a timestamp, APOP is sent (auto chooses it) and its digest is
 *     the MD5 (GLib's, not the plugin's GnuTLS) of exactly the timestamp
 *     and the password, which is never sent itself;
 *   - without one, apop fails with 171 and a message before sending
 *     anything after CAPA, and auto falls back to USER/PASS;
 *   - the session then reads STAT and ends with QUIT: the stream is in
 *     step;
 *   - the trail of what the client sent never shows the password. */
#include "fuzz.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spop/errors.h>
#include <spop/spop.h>

#ifndef PLUGIN_DIR
#error "PLUGIN_DIR must name the built plugins"
#endif

#define MAX_GREETING 4096
#define USER	     "mrose"

static const char *const passwords[] = {"tanstaaf", "p\xc3\xa4ss w0rd<@>"};

/* ---- the scripted server ----
 * No thread: the "Remote host connection complete" event comes once the
 * client's connect() has succeeded and before it reads the greeting; the
 * handler accepts the connection from the listener's backlog and writes
 * the greeting. Each later answer is written when the client sends its
 * command, from the command's PITrail event (it comes after the client's
 * check that nothing unasked-for is waiting, and before the command is
 * written; the client reads only after writing): an RFC 1939 server
 * answers only what was asked, and bytes written ahead would be refused
 * as out of sync. After the last answer, or a command the script has no
 * answer for, the stream ends. When the session has ended, what the
 * client sent is read from the server's end. One thread: nothing waits
 * for a scheduler to switch between the two sides. */

static int listener = -1, listen_port;
static int peer = -1;	  /* the server's end of this run's connection */
static GPtrArray *script; /* the greeting, then one answer a command */
static guint script_next;

static void serve_next(void)
{
	if (script_next < script->len) {
		const GString *a = script->pdata[script_next++];

		if (write(peer, a->str, a->len) != (ssize_t)a->len) {
			perror("fuzz-greeting: the server's write");
			abort();
		}
		if (script_next < script->len)
			return;
	} else if (script_next > script->len) {
		return; /* ended already */
	}
	script_next = script->len + 1;
	shutdown(peer, SHUT_WR);
}

static void free_answer(gpointer p)
{
	g_string_free(p, TRUE);
}

static void on_status(spop_t *s, const struct spop_connection_status_event *e,
		      void *ud)
{
	(void)s, (void)ud;
	if (strcmp(e->connection_event, "Remote host connection complete"))
		return;
	if (peer >= 0) {
		fprintf(stderr, "fuzz-greeting: a second connection\n");
		abort();
	}
	peer = accept(listener, NULL, NULL);
	if (peer < 0) {
		perror("fuzz-greeting: the server's accept");
		abort();
	}
	serve_next();
}

/* What the client sent on the connection it has closed. */
static GString *client_sent(void)
{
	GString *got = g_string_new(NULL);
	char buf[4096];
	ssize_t n;

	if (peer < 0)
		return got;
	for (;;) {
		struct pollfd p = {peer, POLLIN, 0};

		if (poll(&p, 1, 20000) != 1) {
			fprintf(stderr, "fuzz-greeting: the client never "
					"closed its connection\n");
			abort();
		}
		n = read(peer, buf, sizeof buf);
		if (n <= 0)
			break;
		g_string_append_len(got, buf, n);
	}
	close(peer);
	peer = -1;
	return got;
}

/* The registry reads its directory at every lookup, and auto looks up to
 * thirteen mechanisms by name: with the forty modules of the build that
 * was nine tenths of a run. A directory of links to the three modules a
 * server without CAPA can use (apop, user, the direct transport) gives
 * the same choices: the SASL ones are never offered here. */
static const char *const modules[] = {"spop-auth-apop", "spop-auth-user",
				      "spop-transport-direct"};
static char *plugin_dir;

static void remove_plugin_dir(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(modules); i++)
		for (int k = 0; k < 2; k++) {
			char *link =
			    g_strdup_printf("%s/%s.%s", plugin_dir, modules[i],
					    k ? "so" : "plugin");
			unlink(link);
			g_free(link);
		}
	rmdir(plugin_dir);
	g_free(plugin_dir);
}

static void make_plugin_dir(void)
{
	plugin_dir = g_dir_make_tmp("fuzz-greeting-XXXXXX", NULL);
	if (!plugin_dir)
		abort();
	for (size_t i = 0; i < G_N_ELEMENTS(modules); i++)
		for (int k = 0; k < 2; k++) {
			const char *ext = k ? "so" : "plugin";
			char *target = g_strdup_printf("%s/%s.%s", PLUGIN_DIR,
						       modules[i], ext);
			char *link = g_strdup_printf("%s/%s.%s", plugin_dir,
						     modules[i], ext);
			if (symlink(target, link)) {
				perror(link);
				abort();
			}
			g_free(target);
			g_free(link);
		}
	atexit(remove_plugin_dir);
}

static spop_t *s;
static const char *secret; /* this run's password */
static bool secret_in_trail;

/* What the client sends shows in the trail with its secrets masked. */
static void on_trail(spop_t *o, const struct spop_pitrail_event *e, void *ud)
{
	(void)o, (void)ud;
	if (e->direction != 0)
		return;
	if (secret && strstr(e->message, secret))
		secret_in_trail = true;
	if (peer >= 0)
		serve_next(); /* this command's answer */
}

static void cleanup(void)
{
	spop_free(s);
	close(listener);
}

static void set(const char *config);

static void init(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof a;
	char port[32];

	signal(SIGPIPE, SIG_IGN);
	make_plugin_dir();
	fuzz_use_plugins(plugin_dir);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listener = socket(AF_INET, SOCK_STREAM, 0);
	if (listener < 0 || bind(listener, (void *)&a, sizeof a) ||
	    listen(listener, 16) || getsockname(listener, (void *)&a, &len)) {
		perror("fuzz-greeting: listen on 127.0.0.1");
		abort();
	}
	listen_port = ntohs(a.sin_port);
	/* One object for every run, as an application connects again and
	 * again: each connect starts from what the last one left. */
	s = spop_new();
	if (!s)
		abort();
	spop_on_connection_status(s, on_status, NULL);
	spop_on_pitrail(s, on_trail, NULL);
	set("MailServer=127.0.0.1");
	snprintf(port, sizeof port, "MailPort=%d", listen_port);
	set(port);
	set("User=" USER);
	set("Timeout=20");
	if (spop_set_ssl_start_mode(s, SPOP_SSL_NONE))
		abort();
	atexit(cleanup);
}

/* ---- the model (RFC 1939) ---- */

/* The first "<...@...>" msg-id of the greeting (a C string, as the client
 * keeps it); false when there is none. */
static bool model_timestamp(const char *g, const char **start, size_t *len)
{
	for (const char *lt = strchr(g, '<'); lt; lt = strchr(lt + 1, '<')) {
		const char *gt = strchr(lt + 1, '>');
		int ats = 0;
		bool ok = gt != NULL;

		if (!gt)
			return false;
		for (const char *p = lt + 1; p < gt && ok; p++) {
			unsigned char c = (unsigned char)*p;
			if (c == '@')
				ats++;
			ok = c > 0x20 && c < 0x7f && c != '<';
		}
		if (ok && ats == 1 && lt[1] != '@' && gt[-1] != '@') {
			*start = lt;
			*len = (size_t)(gt - lt) + 1;
			return true;
		}
	}
	return false;
}

static bool model_ok_greeting(const char *g, size_t len)
{
	return len >= 3 && !memcmp(g, "+OK", 3) &&
	       (len == 3 || g[3] == ' ' || g[3] == '\t');
}

static void fail(const GString *got, const char *what)
{
	fprintf(stderr,
		"fuzz-greeting: %s\n  last error %d: %s\n  sent: ", what,
		spop_last_error_code(s), spop_last_error(s));
	if (got)
		fwrite(got->str, 1, got->len, stderr);
	fputc('\n', stderr);
	abort();
}

static void set(const char *config)
{
	if (!spop_config(s, config))
		fail(NULL, config);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;

	if (!ready) {
		init();
		ready = true;
	}
	if (size < 1)
		return 0;
	const char *line = (const char *)data + 1;
	const char *lf = memchr(line, '\n', size - 1);
	size_t len = lf ? (size_t)(lf - line) : size - 1;
	if (len > MAX_GREETING)
		return 0;
	bool apop = data[0] & 1;
	const char *password = passwords[(data[0] >> 1) & 1];

	/* The model: what the client keeps, and what it will do. */
	char *kept = g_strndup(line, len);
	bool ok = model_ok_greeting(line, len);
	const char *stamp = NULL;
	size_t stamp_len = 0;
	bool has_stamp = ok && model_timestamp(kept, &stamp, &stamp_len);
	GPtrArray *wire = g_ptr_array_new_with_free_func(free_answer);
	GString *want = g_string_new(NULL);

	GString *greeting = g_string_new_len(line, (gssize)len);

	g_string_append(greeting, "\r\n");
	g_ptr_array_add(wire, greeting);
	if (ok) {
		g_ptr_array_add(wire, g_string_new("-ERR no CAPA here\r\n"));
		g_string_append(want, "CAPA\r\n");
	}
	if (has_stamp) {
		GString *in = g_string_new_len(stamp, (gssize)stamp_len);
		g_string_append(in, password);
		gchar *md5 = g_compute_checksum_for_data(
		    G_CHECKSUM_MD5, (const guchar *)in->str, in->len);
		g_string_append_printf(want, "APOP " USER " %s\r\n", md5);
		g_ptr_array_add(wire, g_string_new("+OK maildrop locked\r\n"));
		g_free(md5);
		g_string_free(in, TRUE);
	} else if (ok && !apop) {
		g_string_append_printf(want, "USER " USER "\r\nPASS %s\r\n",
				       password);
		g_ptr_array_add(wire, g_string_new("+OK\r\n"));
		g_ptr_array_add(wire, g_string_new("+OK maildrop locked\r\n"));
	}
	bool logs_in = has_stamp || (ok && !apop);
	if (logs_in) {
		g_string_append(want, "STAT\r\nQUIT\r\n");
		g_ptr_array_add(wire, g_string_new("+OK 2 320\r\n"));
		g_ptr_array_add(wire, g_string_new("+OK bye\r\n"));
	}
	script = wire;
	script_next = 0;
	secret = password;
	secret_in_trail = false;
	if (spop_set_password(s, password))
		fail(NULL, "Password refused");
	set(apop ? "AuthMechanismName=apop" : "AuthMechanismName=auto");

	int rc = spop_connect(s);
	if (rc != (logs_in ? 0 : SPOP_ERR_PROTOCOL))
		fail(NULL, logs_in ? "the login failed"
				   : "a login that cannot be went on");
	if (rc && (spop_last_error_code(s) != rc || !*spop_last_error(s)))
		fail(NULL, "an error without its message");
	if (strcmp(spop_get_greeting(s), kept))
		fail(NULL, "the greeting kept is not the one sent");
	if (!rc && spop_disconnect(s))
		fail(NULL, "QUIT failed");

	GString *got = client_sent();
	if (!g_string_equal(got, want))
		fail(got, "the client sent other commands than the model");
	if (has_stamp && strstr(got->str, password))
		fail(got, "APOP sent the password itself");
	if (secret_in_trail)
		fail(got, "the trail shows the password");

	script = NULL;
	g_string_free(got, TRUE);
	g_string_free(want, TRUE);
	g_ptr_array_free(wire, TRUE);
	g_free(kept);
	return 0;
}
