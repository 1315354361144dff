/* RFC 2047 encoded-words in an unstructured header value: the result is
 * always valid UTF-8 without a NUL the input did not have. */
#include "fuzz.h"

#include <stdlib.h>

#include "message/message-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_cstring(data, size);
	char *out = spi_rfc2047_decode(in);

	if (!out || !g_utf8_validate(out, -1, NULL))
		abort();
	g_free(out);
	g_free(in);
	return 0;
}
