/* Reply reading and errors shared by the SOCKS transports. */
#include <stdarg.h>
#include <stdio.h>

#include "socks.h"

int socks_read_exact(struct socks_proxy *p, unsigned char *buf, size_t len,
		     const char *what)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = p->h->read_some(p->h, p->fd, buf + got, len - got);
		if (n == -SPOP_ERR_DROPPED || n == 0)
			return p->h->set_error(
			    p->h, SPOP_ERR_FIREWALL,
			    "%s proxy %s:%d closed the connection "
			    "before its %s was complete.",
			    p->label, p->host, p->port, what);
		if (n < 0)
			return (int)-n;
		got += (size_t)n;
	}
	return 0;
}

int socks_fail(struct socks_proxy *p, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return p->h->set_error(p->h, SPOP_ERR_FIREWALL, "%s proxy %s:%d %s",
			       p->label, p->host, p->port, text);
}
