/* Shared fixture for integration suites: one private Dovecot per process and
 * a client configured for it, with trail and event recorders. */
#ifndef SPOP_TEST_COMMON_H
#define SPOP_TEST_COMMON_H

#include "test-runner.h"
#include <glib.h>
#include <spop/spop.h>
#include <string.h>

#include "harness.h"

extern struct harness_dovecot dovecot;

struct recorder {
	GString *trail;	    /* "D: line\n" per PITrail event */
	GPtrArray *headers; /* "Field: Value" per Header event */
	GPtrArray *listed;  /* "n uid size" per MessageList event */
	int start, end, transfers, errors, statuses;
	int64_t last_bytes;
	int last_percent;
	int non_eol;
	int last_error;
	GString *body;		/* Transfer text, eol lines joined with \n */
	GString *statuses_seen; /* "event (code)\n" per ConnectionStatus */
	int busy_in_event;	/* 174 seen calling a method inside an event */
	int idle_in_event;
	int interrupt_after;	/* call spop_interrupt at this Transfer count */
	const char *watch_file; /* must not exist during the transfer */
	int watch_file_seen;
};

spop_t *client_new(const char *user, const char *password,
		   struct recorder *rec);
void recorder_clear(struct recorder *rec);
/* A socket listening on 127.0.0.1 at a free port (into *port), for a
 * scripted peer; asserts (fatally) that it could be made. */
int loopback_listener(int *port);
/* spop_config(s, "Name=value") from a format, asserting it is accepted. */
void config_set(spop_t *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* A client of the harness Dovecot (main user) at server through the proxy
 * of FirewallType type at 127.0.0.1:proxy_port; asserts that the type set
 * the reference's default FirewallPort (80 for a tunnel, else 1080). */
spop_t *proxy_client(int type, const char *server, int proxy_port,
		     struct recorder *rec);
/* Trusts the harness CA and sets TLS mode (SPOP_SSL_IMPLICIT: the
 * harness Dovecot's pop3s port; else its POP3 port, for STLS). */
void use_dovecot_tls(spop_t *s, int mode);
/* Connects, checks the message count, retrieves HARNESS_MSG_SIMPLE byte
 * for byte and disconnects. */
void login_and_retrieve(spop_t *s);
/* The generated message as POP3 serves it (LF -> CRLF). */
GString *expected_message(int n, const char *user);

struct scripted;
struct step;
/* A client for a scripted peer playing script: user with password "pw",
 * Timeout 5 s, the recorder attached. */
spop_t *scripted_client(struct scripted *sc, const struct step *script,
			const char *user, struct recorder *rec);
/* Frees the client, waits for the peer and asserts it saw what it
 * expected (naming the step and line that did not match). */
void scripted_client_finish(spop_t *s, struct scripted *sc);

/* The SASL exchange for mechanism mech in rec's trail (MaskSensitive
 * False), decoded: the AUTH line's initial response, then every C:/S: line
 * after it up to the +OK, base64 decoded ("" when a line is not base64,
 * which fails comparisons). NULL-terminated; g_strfreev() it. */
char **trail_sasl_exchange(const struct recorder *rec, const char *mech);

/* main() of an integration suite: starts a private Dovecot under name
 * (or returns harness_cannot_run()'s status where none can run), runs
 * suites, stops it. */
int integration_main(const char *name, const struct test_suite *suites);

#define ASSERT_OK(call) CU_ASSERT_EQUAL_FATAL((call), 0)
#define ERROR_HAS(s, text)                                                     \
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), text))

#endif
