/* A scripted POP3 peer for misbehaviour no real server produces: stalls,
 * trickles, malformed or hostile replies, drops mid-transfer. Real-server
 * behaviour is tested against Dovecot, never here. */
#ifndef SPOP_TEST_SCRIPTED_H
#define SPOP_TEST_SCRIPTED_H

#include <pthread.h>
#include <stddef.h>

enum step_kind {
	STEP_END = 0,	  /* close the connection */
	STEP_SEND,	  /* send text */
	STEP_EXPECT,	  /* read one line; it must start with text */
	STEP_TRICKLE,	  /* send text one byte every ms milliseconds */
	STEP_SLEEP,	  /* wait ms milliseconds */
	STEP_EXPECT_LINE, /* read one line; it must be exactly text */
	STEP_XOR,	  /* from here on, bytes both ways are XORed with 0x5A:
			     the peer of tests/fixtures/stack/xor.c */
	STEP_REFUSE,	  /* read lines until the client closes (or 10 s of
			     silence); fails on a line starting with one of the
			     '|'-separated words of text (case-insensitive),
			     e.g. "USER|PASS|AUTH|APOP": nothing of that kind
			     may arrive. Non-text bytes (a TLS ClientHello) are
			     read as lines too and never match a word. */
	STEP_EXPECT_EOF,  /* the client must close without sending a byte
			     (within 10 s) */
	STEP_TLS,	  /* the server side of a TLS handshake (the layer
			     given to scripted_start_tls); from here on,
			     bytes both ways go through it, and STEP_END
			     sends close_notify before closing */
	STEP_RAW,	  /* send text on the TCP socket itself, past the TLS
			     layer (a forged or truncated record) */
	STEP_CUT,	  /* close the TCP connection now, without
			     close_notify, and end the script */
};

/* A TLS layer for STEP_TLS, written by a suite that links a TLS library
 * (scripted.c itself does not). ctx is the suite's. */
struct scripted_tls {
	void *ctx;
	/* handshake as the server on fd: 0, or -1 with a reason in why */
	int (*start)(void *ctx, int fd, char *why, size_t cap);
	/* one byte within ms milliseconds: 1, 0 at the end, -1 on an
	 * error, -2 on silence */
	int (*read1)(void *ctx, char *c, int ms);
	/* all of len bytes: 0 or -1 */
	int (*write)(void *ctx, const char *buf, size_t len);
	/* close_notify (STEP_END) or not (STEP_CUT, failures), then free
	 * the session; the fd is closed by the caller */
	void (*end)(void *ctx, int close_notify);
};

struct step {
	enum step_kind kind;
	const char *text;
	int ms;
	size_t len; /* for SEND of binary or huge data; 0: strlen(text) */
};

struct scripted {
	int port;
	int listen_fd;
	const struct step *script;
	pthread_t thread;
	int failed_step; /* -1 when the client did what the script expected */
	int xor ;	 /* STEP_XOR seen */
	char got[512];	 /* the line that did not match */
	const struct scripted_tls *tls; /* for STEP_TLS */
	int tls_on;			/* STEP_TLS done */
};

/* Starts a one-connection server on 127.0.0.1 playing script. */
int scripted_start(struct scripted *sc, const struct step *script);
/* The same on a given port (0: any free one). */
int scripted_start_on(struct scripted *sc, const struct step *script, int port);
/* The same with a TLS layer for the script's STEP_TLS. */
int scripted_start_tls(struct scripted *sc, const struct step *script,
		       const struct scripted_tls *tls);
/* Waits for the script to finish; returns failed_step. */
int scripted_finish(struct scripted *sc);

#endif
