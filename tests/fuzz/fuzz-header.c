/* Header lines as the receive path sees them: split into field and value,
 * continuations unfolded into the value before, the value made UTF-8. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "message/message-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	GString *value = NULL;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *field, *v;

		if (value && spi_header_is_continuation(p, len)) {
			spi_header_unfold_into(value, p, len);
		} else if (spi_header_split(p, len, &field, &v)) {
			if (!field || !*field || !v || strchr(field, ':'))
				abort();
			if (value) {
				char *u = spi_header_to_utf8(value->str);

				if (!g_utf8_validate(u, -1, NULL))
					abort();
				g_free(u);
				g_string_free(value, TRUE);
			}
			value = g_string_new(v);
			g_free(field);
			g_free(v);
		} else if (field || v) {
			abort(); /* a refused line sets both to NULL */
		}
		p += len + (nl ? 1 : 0);
	}
	if (value)
		g_string_free(value, TRUE);
	return 0;
}
