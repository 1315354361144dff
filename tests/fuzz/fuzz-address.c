/* RFC 5322 address lists (To, Cc, Bcc) through GMime: every recipient has
 * a non-empty address and a UTF-8 name. */
#include "fuzz.h"

#include <stdlib.h>

#include "message/message-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_cstring(data, size);
	GPtrArray *out =
	    g_ptr_array_new_with_free_func((GDestroyNotify)spi_recipient_free);
	size_t n = spi_parse_address_list(in, 1, out);

	if (n != out->len)
		abort();
	for (guint i = 0; i < out->len; i++) {
		struct spi_recipient *r = out->pdata[i];

		if (!r->address || !*r->address || !r->name || r->type != 1 ||
		    !g_utf8_validate(r->name, -1, NULL))
			abort();
	}
	g_ptr_array_free(out, TRUE);
	g_free(in);
	return 0;
}
