/* Integration fixture implementation: events are recorded as text so the
 * assertions read like transcripts. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "common.h"
#include "scripted.h"

struct harness_dovecot dovecot;

static void on_trail(spop_t *s, const struct spop_pitrail_event *e, void *ud)
{
	struct recorder *r = ud;

	g_string_append_printf(r->trail, "%c: %s\n", "CSI"[e->direction],
			       e -> message);
}

/* SSLStatus lines join the transcript, marked T. */
static void on_ssl_status(spop_t *s, const struct spop_ssl_status_event *e,
			  void *ud)
{
	struct recorder *r = ud;

	g_string_append_printf(r->trail, "T: %s\n", e->message);
}

static void on_header(spop_t *s, const struct spop_header_event *e, void *ud)
{
	struct recorder *r = ud;

	g_ptr_array_add(r->headers,
			g_strdup_printf("%s: %s", e->field, e->value));
}

static void on_list(spop_t *s, const struct spop_message_list_event *e,
		    void *ud)
{
	struct recorder *r = ud;

	g_ptr_array_add(r->listed,
			g_strdup_printf("%d %s %lld", e->message_number,
					e->message_uid,
					(long long)e->message_size));
}

static void on_start(spop_t *s, const struct spop_start_transfer_event *e,
		     void *ud)
{
	((struct recorder *)ud)->start++;
}

static void on_end(spop_t *s, const struct spop_end_transfer_event *e, void *ud)
{
	((struct recorder *)ud)->end++;
}

static void on_transfer(spop_t *s, const struct spop_transfer_event *e,
			void *ud)
{
	struct recorder *r = ud;

	r->transfers++;
	r->last_bytes = e->bytes_transferred;
	r->last_percent = e->percent_done;
	if (!e->eol)
		r->non_eol++;
	if (r->body) {
		g_string_append_len(r->body, e->text, (gssize)e->text_len);
		if (e->eol)
			g_string_append(r->body, "\r\n");
	}
	if (r->transfers == 1) {
		if (spop_retrieve(s) == 174)
			r->busy_in_event++;
		if (!spop_get_idle(s))
			r->idle_in_event++;
	}
	if (r->watch_file && g_file_test(r->watch_file, G_FILE_TEST_EXISTS))
		r->watch_file_seen++;
	if (r->interrupt_after && r->transfers == r->interrupt_after)
		spop_interrupt(s);
}

static void on_error(spop_t *s, const struct spop_error_event *e, void *ud)
{
	struct recorder *r = ud;

	r->errors++;
	r->last_error = e->error_code;
}

static void on_status(spop_t *s, const struct spop_connection_status_event *e,
		      void *ud)
{
	struct recorder *r = ud;

	r->statuses++;
	g_string_append_printf(r->statuses_seen, "%s (%d)\n",
			       e->connection_event, e->status_code);
}

void recorder_clear(struct recorder *r)
{
	if (r->trail)
		g_string_free(r->trail, TRUE);
	if (r->headers)
		g_ptr_array_free(r->headers, TRUE);
	if (r->listed)
		g_ptr_array_free(r->listed, TRUE);
	if (r->body)
		g_string_free(r->body, TRUE);
	if (r->statuses_seen)
		g_string_free(r->statuses_seen, TRUE);
	memset(r, 0, sizeof(*r));
	r->statuses_seen = g_string_new(NULL);
	r->trail = g_string_new(NULL);
	r->headers = g_ptr_array_new_with_free_func(g_free);
	r->listed = g_ptr_array_new_with_free_func(g_free);
}

int loopback_listener(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CU_ASSERT_FATAL(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&a, l), 0);
	CU_ASSERT_EQUAL_FATAL(listen(fd, 4), 0);
	CU_ASSERT_EQUAL_FATAL(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

void config_set(spop_t *s, const char *fmt, ...)
{
	va_list ap;
	char *cfg;

	va_start(ap, fmt);
	cfg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, cfg));
	g_free(cfg);
}

spop_t *client_new(const char *user, const char *password, struct recorder *r)
{
	spop_t *s = spop_new();
	char port[16];

	snprintf(port, sizeof(port), "%d", dovecot.port);
	spop_set_mail_server(s, "127.0.0.1");
	spop_set_mail_port(s, atoi(port));
	spop_set_user(s, user);
	spop_set_password(s, password);
	spop_set_timeout(s, 30);
	if (r) {
		recorder_clear(r);
		spop_on_pitrail(s, on_trail, r);
		spop_on_ssl_status(s, on_ssl_status, r);
		spop_on_header(s, on_header, r);
		spop_on_message_list(s, on_list, r);
		spop_on_start_transfer(s, on_start, r);
		spop_on_end_transfer(s, on_end, r);
		spop_on_transfer(s, on_transfer, r);
		spop_on_error(s, on_error, r);
		spop_on_connection_status(s, on_status, r);
	}
	return s;
}

spop_t *proxy_client(int type, const char *server, int proxy_port,
		     struct recorder *rec)
{
	spop_t *s = client_new(HARNESS_MAIN_USER, HARNESS_MAIN_PASSWORD, rec);

	ASSERT_OK(spop_set_mail_server(s, server));
	config_set(s, "FirewallType=%d", type);
	CU_ASSERT_STRING_EQUAL(spop_config(s, "FirewallPort"),
			       type == SPOP_FW_TUNNEL ? "80" : "1080");
	config_set(s, "FirewallHost=127.0.0.1");
	config_set(s, "FirewallPort=%d", proxy_port);
	return s;
}

void use_dovecot_tls(spop_t *s, int mode)
{
	char *ca = harness_cert_file("ca.pem"), *text = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
	CU_ASSERT_TRUE_FATAL(g_file_get_contents(ca, &text, NULL, NULL));
	config_set(s, "SSLServerCACerts=%s", text);
	ASSERT_OK(spop_set_ssl_start_mode(s, mode));
	ASSERT_OK(spop_set_mail_port(
	    s, mode == SPOP_SSL_IMPLICIT ? dovecot.tls_port : dovecot.port));
	g_free(text);
	g_free(ca);
}

void login_and_retrieve(spop_t *s)
{
	GString *want = expected_message(HARNESS_MSG_SIMPLE, HARNESS_MAIN_USER);
	const char *data;
	size_t len;

	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s),
			harness_message_count(&dovecot, HARNESS_MAIN_USER));
	ASSERT_OK(spop_set_message_number(s, HARNESS_MSG_SIMPLE));
	ASSERT_OK(spop_retrieve(s));
	spop_get_message(s, &data, &len);
	CU_ASSERT_EQUAL(len, want->len);
	CU_ASSERT_EQUAL(memcmp(data, want->str, MIN(len, want->len)), 0);
	ASSERT_OK(spop_disconnect(s));
	g_string_free(want, TRUE);
}

GString *expected_message(int n, const char *user)
{
	char *path = harness_message_file(&dovecot, user, n);
	char *data = NULL;
	gsize len = 0;
	GString *out = g_string_new(NULL);

	if (path && g_file_get_contents(path, &data, &len, NULL)) {
		for (gsize i = 0; i < len; i++) {
			if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
				g_string_append_c(out, '\r');
			g_string_append_c(out, data[i]);
		}
		/* POP3 ends every message with a line end. */
		if (len && data[len - 1] != '\n')
			g_string_append(out, "\r\n");
	}
	g_free(data);
	g_free(path);
	return out;
}

spop_t *scripted_client(struct scripted *sc, const struct step *script,
			const char *user, struct recorder *rec)
{
	CU_ASSERT_EQUAL_FATAL(scripted_start(sc, script), 0);
	spop_t *s = client_new(user, "pw", rec);
	spop_set_mail_port(s, sc->port);
	spop_set_timeout(s, 5);
	return s;
}

void scripted_client_finish(spop_t *s, struct scripted *sc)
{
	spop_free(s);
	int step = scripted_finish(sc);
	if (step >= 0)
		fprintf(stderr, "script failed at step %d, got '%s'\n", step,
			sc->got);
	CU_ASSERT_EQUAL(step, -1);
}

int integration_main(const char *name, const struct test_suite *suites)
{
	const char *why = harness_dovecot_unavailable();

	if (why)
		return harness_cannot_run(name, why);
	if (harness_dovecot_start(&dovecot, name))
		return 1;
	int rc = test_run(suites);
	harness_dovecot_stop(&dovecot);
	return rc;
}

/* The SASL exchange of the trail, decoded: the AUTH line's initial
 * response, then every C:/S: line after it up to the +OK, the "+ " and
 * "C: " prefixes removed and base64 decoded ("" when a line is not base64,
 * which fails the comparisons). NULL-terminated; g_strfreev() it. */
char **trail_sasl_exchange(const struct recorder *rec, const char *mech)
{
	char **lines = g_strsplit(rec->trail->str, "\n", -1);
	char *auth = g_strdup_printf("C: AUTH %s ", mech);
	GPtrArray *out = g_ptr_array_new();
	bool in = false;

	for (char **l = lines; *l; l++) {
		const char *b64 = NULL;

		if (!in && g_str_has_prefix(*l, auth)) {
			in = true;
			b64 = *l + strlen(auth);
		} else if (in && g_str_has_prefix(*l, "S: +OK")) {
			break;
		} else if (in && g_str_has_prefix(*l, "S: + ")) {
			b64 = *l + 5;
		} else if (in && g_str_has_prefix(*l, "C: ")) {
			b64 = *l + 3;
		} else if (in && !g_str_has_prefix(*l, "I: ")) {
			b64 = "!"; /* something else: fails below */
		}
		if (!b64)
			continue;
		gsize n = 0;
		guchar *raw = g_base64_decode(b64, &n);
		g_ptr_array_add(out, g_strndup((const char *)raw, n));
		g_free(raw);
	}
	g_ptr_array_add(out, NULL);
	g_free(auth);
	g_strfreev(lines);
	return (char **)g_ptr_array_free(out, FALSE);
}
