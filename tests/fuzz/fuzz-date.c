/* LocalizeDate: RFC 5322 date-times to "MM/dd/yyyy HH:mm:ss"; what comes
 * out has exactly that shape. */
#include "fuzz.h"

#include <stdlib.h>

#include "message/message-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_cstring(data, size);
	char *out = spi_localize_date(in);

	if (out &&
	    !g_regex_match_simple(
		"^[0-9]{2}/[0-9]{2}/[0-9]{4,} [0-9]{2}:[0-9]{2}:[0-9]{2}$", out,
		0, 0))
		abort();
	g_free(out);
	g_free(in);
	return 0;
}
