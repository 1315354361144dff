/* A thread that writes a scripted server's bytes into one end of a
 * socketpair in chunks of a given size, so that the engine under test
 * reads them piece by piece (test-pop3.c, test-receive.c). */
#ifndef SPOP_TEST_FEEDER_H
#define SPOP_TEST_FEEDER_H

#include <glib.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test-runner.h"

#include "pop3/pop3.h"
#include "spop-private.h"

struct feeder {
	int fd;
	const char *data;
	size_t len;
	size_t chunk;
	pthread_t thread;
};

static inline void *feed(void *p)
{
	struct feeder *f = p;

	for (size_t off = 0; off < f->len; off += f->chunk) {
		size_t n = MIN(f->chunk, f->len - off);

		if (write(f->fd, f->data + off, n) < 0)
			break;
		if (f->chunk < 8)
			usleep(100); /* make each write its own read */
	}
	return NULL;
}

/* s reads, with MaxLineLength max_line and a 5-second deadline, what a
 * thread writes: wire in chunk-byte writes. */
static inline void feeder_start(struct feeder *f, spop_t *s, const char *wire,
				size_t chunk, int max_line)
{
	int sv[2];
	char ml[32];

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	snprintf(ml, sizeof(ml), "MaxLineLength=%d", max_line);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, ml));
	spi_session_adopt(s, sv[0]);
	*f = (struct feeder){sv[1], wire, strlen(wire), chunk, 0};
	pthread_create(&f->thread, NULL, feed, f);
	spi_deadline_start(s, 5);
}

/* Waits for the writer and closes its end. */
static inline void feeder_stop(struct feeder *f)
{
	pthread_join(f->thread, NULL);
	close(f->fd);
}

#endif
