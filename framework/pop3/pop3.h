/* The POP3 layer (framework/pop3): reply grammar, command engine, CAPA,
 * the session state machine, the SASL driver and the mailbox commands.
 * The public-API file maps members onto these; nothing here knows an auth
 * mechanism or a TLS library. */
#ifndef SPOP_POP3_H
#define SPOP_POP3_H

#include "spop-private.h"

/* ---- reply grammar (reply.c) ---- */
enum spi_reply_kind {
	SPI_REPLY_OK = 1,	/* +OK */
	SPI_REPLY_ERR = 2,	/* -ERR */
	SPI_REPLY_CONTINUE = 3, /* "+ " SASL continuation */
};

struct spi_reply {
	enum spi_reply_kind kind;
	const char *text;   /* after the status word, leading space skipped */
	char resp_code[64]; /* RFC 2449 [CODE] if present, else "" */
};
/* Parses a status line; 0 or -1 when it is not a POP3 status line. */
int spi_reply_parse(const char *line, size_t len, struct spi_reply *out);
/* What an RFC 2449/3206 response code means, for error messages; NULL for
 * a code this library does not know. */
const char *spi_resp_code_meaning(const char *code);
/* Whether a command's reply is multi-line (RFC 1939/2449), decided from
 * the command and its argument: LIST vs LIST 3. */
bool spi_command_is_multiline(const char *command);
/* Dot-unstuffing of one received line of a multi-line body: returns 1 for
 * the terminator ".", else 0 with the line and length moved past a stuffed
 * dot. Only the first piece of a line (start_of_line) is inspected. */
int spi_unstuff(const char **line, size_t *len, bool start_of_line);

/* ---- command engine (command.c) ---- */

/* The command accepts a "+ " continuation as its answer: only AUTH and the
 * responses of a SASL exchange do; anywhere else a continuation is a
 * protocol error (171). */
#define SPI_CMD_CONTINUATION 1u

/* Sends a command line (no CRLF) and queues it; mask_from as in plugin.h
 * for the trail. CR or LF in line is refused (10022), nothing sent. */
int spi_pop3_send(struct spop *s, const char *line, size_t mask_from);
int spi_pop3_send_flags(struct spop *s, const char *line, size_t mask_from,
			unsigned flags);
/* Reads the status line of the oldest command in flight; *has_body says
 * a multi-line body follows (to be read with spi_pop3_read_body). -ERR is
 * 171 with the reply and its response code named in the message. */
int spi_pop3_recv(struct spop *s, struct spi_reply *reply, bool *has_body);
/* Send, then receive the status line. */
int spi_pop3_command(struct spop *s, const char *line, size_t mask_from,
		     struct spi_reply *reply);
typedef int (*spi_line_fn)(struct spop *s, const char *line, size_t len,
			   bool eol, void *ud);
/* Reads a multi-line body to the terminator, calling fn per (unstuffed)
 * line or piece. fn's non-zero return is an error; the body is still
 * drained so the connection stays in sync. */
int spi_pop3_read_body(struct spop *s, spi_line_fn fn, void *ud);
/* Reads one whole status line into out (pieces of an overlong one are
 * joined up to a bound). */
int spi_pop3_read_status_line(struct spop *s, GString *out);
void spi_pop3_reset_queue(struct spop *s);
/* Pipelining (RFC 2449): after spi_pop3_cork, sent commands are queued
 * and only written, all in one write, by spi_pop3_flush, which also
 * uncorks. A reply must not be read while commands wait corked. */
void spi_pop3_cork(struct spop *s);
int spi_pop3_flush(struct spop *s);
/* Commands sent whose replies are not yet read. */
unsigned spi_pop3_in_flight(struct spop *s);
/* A failure of the stream itself leaves replies unmatched: the session is
 * dropped. Returns rc. */
int spi_pop3_fatal(struct spop *s, int rc);
/* Where masking starts in a command line for the trail (PASS, APOP). */
size_t spi_pop3_mask_from(const char *line);

/* ---- capabilities (capa.c); struct spi_capa is in spop-private.h ---- */
/* Fills caps from CAPA lines (char*), replacing what it held. */
void spi_capa_parse(struct spi_capa *caps, GPtrArray *lines);
void spi_capa_clear(struct spi_capa *caps);
/* Exact token match (case-insensitive, as SASL names are) in the SASL
 * list. */
bool spi_capa_has_sasl(const struct spi_capa *caps, const char *mechanism);
/* The arguments after a capability's name: "" when none, NULL when the
 * server did not list it. */
const char *spi_capa_args(GPtrArray *lines, const char *name);

/* ---- session state machine (session.c) ---- */
enum spi_state {
	SPI_STATE_CLOSED = 0,
	SPI_STATE_GREETING,    /* connected, greeting not yet read */
	SPI_STATE_CAPA,	       /* asking for capabilities */
	SPI_STATE_STLS,	       /* STLS sent, handshake to come */
	SPI_STATE_AUTH,	       /* AUTHORIZATION: logging in */
	SPI_STATE_TRANSACTION, /* logged in: mailbox commands allowed */
	SPI_STATE_UPDATE,      /* QUIT sent */
};
/* greeting -> [implicit TLS] -> CAPA -> [STLS -> CAPA again] -> login ->
 * STAT. On failure the connection is dropped; greeting and CAPA stay
 * readable. */
int spi_session_connect(struct spop *s);
/* Before a new connection: the last one's greeting, CAPA, mailbox
 * figures and message, kept until now for diagnosis, are dropped. */
void spi_session_forget(struct spop *s);
/* QUIT, then the teardown. */
int spi_session_quit(struct spop *s);
/* The one teardown for every path that ends a session: closes the stack,
 * forgets the command queue and the mailbox figures, and reports rc in
 * ConnectionStatus (0 for an orderly end). */
void spi_session_drop(struct spop *s, int rc);
/* A session already in TRANSACTION on a connected fd (unit tests drive the
 * engine over a socketpair this way). */
void spi_session_adopt(struct spop *s, int fd);
/* 0 when mailbox commands may be sent; 1117 naming what otherwise. */
int spi_session_need_transaction(struct spop *s, const char *what);

/* ---- SASL driver (sasl.c) ---- */
/* ---- authentication (auth.c) ----
 * prepare, before connecting: checks the credentials and chooses the
 * mechanism plugin (*auth NULL for AuthMechanismName=auto, chosen after
 * CAPA); login, after CAPA/STLS: applies the policy and logs in. */
int spi_auth_prepare(struct spop *s, const struct spop_plugin_descriptor **auth,
		     bool *sasl);
int spi_auth_login(struct spop *s, const struct spop_plugin_descriptor *auth,
		   bool sasl);

/* Runs RFC 5034 AUTH with the mechanism plugin d (SPOP_CAP_AUTH_SASL). */
int spi_sasl_authenticate(struct spop *s,
			  const struct spop_plugin_descriptor *d);

/* ---- mailbox commands (mailbox.c) ---- */
/* Forgets the per-MessageNumber caches (the mailbox may have changed). */
void spi_mailbox_invalidate(struct spop *s);
/* Forgets the listed sizes and UIDs (a new session, or the object's end). */
void spi_mailbox_forget_lists(struct spop *s);
int spi_mailbox_stat(struct spop *s);
/* The mailbox at login: STAT, with LIST and UIDL pipelined behind it
 * (kept, no MessageList events) when the server can pipeline and
 * ListAtConnect is on. */
int spi_mailbox_open(struct spop *s);
/* LIST or UIDL: one MessageList event per message. */
int spi_mailbox_list(struct spop *s, bool uids);
/* The same, kept for MessageSize/MessageUID without MessageList events. */
int spi_mailbox_list_quietly(struct spop *s, bool uids);
/* LIST n for the current MessageNumber, cached. */
int64_t spi_query_size(struct spop *s, int *rc);
/* UIDL n for the current MessageNumber, cached; "" on failure. */
const char *spi_query_uid(struct spop *s, int *rc);
/* RETR n, or TOP n 0 (headers_only), or TOP n MaxLines, in two halves so
 * a pipeline can send several before reading: fetch_send checks TOP is
 * available and sends the command for message number; fetch_reply reads
 * the status line of the oldest one sent; the body follows
 * (spi_pop3_read_body). */
int spi_mailbox_fetch_send(struct spop *s, int number, bool headers_only);
int spi_mailbox_fetch_reply(struct spop *s, bool headers_only);
/* What LIST / UIDL said about message n this session: -1 / NULL when
 * they were not asked, or n was deleted since. */
int64_t spi_mailbox_listed_size(const struct spop *s, int n);
const char *spi_mailbox_listed_uid(const struct spop *s, int n);
int spi_mailbox_delete(struct spop *s);
/* After a DELE n answered +OK: n is no longer listed nor cached. */
void spi_mailbox_deleted(struct spop *s, int n);
int spi_mailbox_reset(struct spop *s);
int spi_mailbox_custom(struct spop *s, const char *command);
/* 0 when the server can do an optional command (UIDL, TOP); else 171
 * naming it, without sending anything when CAPA already said no. */
int spi_mailbox_optional(struct spop *s, const char *verb, const char *what);
/* Maps a -ERR to an optional command onto the "does not support" error. */
int spi_mailbox_optional_failed(struct spop *s, int rc, const char *verb,
				const char *what);

#endif
