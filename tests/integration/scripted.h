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
};

/* Starts a one-connection server on 127.0.0.1 playing script. */
int scripted_start(struct scripted *sc, const struct step *script);
/* The same on a given port (0: any free one). */
int scripted_start_on(struct scripted *sc, const struct step *script, int port);
/* Waits for the script to finish; returns failed_step. */
int scripted_finish(struct scripted *sc);

#endif
