/* The verify half of the cms engine (SignedData): not written yet; the
 * engine says so rather than pretending to verify. */
#include "cms.h"

int cms_verify(struct spop_host *host, const unsigned char *cms, size_t len,
	       const unsigned char *content, size_t content_len,
	       const struct spop_smime_keys *keys,
	       struct spop_smime_result *result)
{
	(void)cms;
	(void)len;
	(void)content;
	(void)content_len;
	(void)keys;
	(void)result;
	return host->set_error(host, SPOP_ERR_NOT_AVAILABLE,
			       "The cms S/MIME engine cannot verify "
			       "signatures yet (SignedData is not "
			       "implemented).");
}
