/* A thread that writes a scripted server's bytes into one end of a
 * socketpair in chunks of a given size, so that the engine under test
 * reads them piece by piece (test-pop3.c, test-receive.c). */
#ifndef SPOP_TEST_FEEDER_H
#define SPOP_TEST_FEEDER_H

#include <glib.h>
#include <stddef.h>
#include <unistd.h>

struct feeder {
	int fd;
	const char *data;
	size_t len;
	size_t chunk;
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

#endif
