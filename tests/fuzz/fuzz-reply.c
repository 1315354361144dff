/* POP3 status lines (RFC 1939 +OK/-ERR, RFC 2449 [CODE]), the meaning of a
 * response code, whether a command's reply is multi-line, dot-unstuffing of
 * one line, and where the trail masks a command: each line of the input is
 * given to each. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "pop3/pop3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	bool start = true;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct spi_reply r;
		const char *line = p;
		size_t ulen = len;
		char *copy = g_strndup(p, len);

		if (spi_reply_parse(p, len, &r) == 0) {
			/* the text points into the line, the code is a
			 * terminated copy */
			if (r.text < p || r.text > p + len ||
			    !memchr(r.resp_code, '\0', sizeof(r.resp_code)))
				abort();
			(void)spi_resp_code_meaning(r.resp_code);
		}
		(void)spi_command_is_multiline(copy);
		(void)spi_pop3_mask_from(copy);
		if (spi_unstuff(&line, &ulen, start) == 0 &&
		    (line < p || line + ulen > p + len))
			abort();
		start = nl != NULL;
		g_free(copy);
		p += len + (nl ? 1 : 0);
	}
	return 0;
}
