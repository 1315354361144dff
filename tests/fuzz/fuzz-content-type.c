/* The S/MIME reading of Content-Type (RFC 8551): encrypted and signed are
 * each 0 or 1. */
#include "fuzz.h"

#include <stdlib.h>

#include "message/message-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_cstring(data, size);
	int e = spi_content_type_is_encrypted(in);
	int s = spi_content_type_is_signed(in);

	if ((e != 0 && e != 1) || (s != 0 && s != 1))
		abort();
	g_free(in);
	return 0;
}
