/* The cms S/MIME engine: what its source files share.
 *
 * cms.c holds the descriptor and the ops table; decrypt.c the decrypt half
 * (EnvelopedData, AuthEnvelopedData), verify.c the verify half (SignedData).
 * Both halves parse with libtasn1 against the module cms.asn, which the
 * build compiles with asn1Parser into cms_asn1_tab (plugins/smime/meson.build);
 * cms_asn1() returns the parsed definitions, loaded once per process. */
#ifndef SPOP_SMIME_CMS_H
#define SPOP_SMIME_CMS_H

#include <libtasn1.h>
#include <spop/plugin.h>

/* The ops table's slots (struct spop_smime_ops). */
int cms_decrypt(struct spop_host *host, const unsigned char *cms, size_t len,
		const struct spop_smime_keys *keys,
		struct spop_smime_result *result);
int cms_verify(struct spop_host *host, const unsigned char *cms, size_t len,
	       const unsigned char *content, size_t content_len,
	       const struct spop_smime_keys *keys,
	       struct spop_smime_result *result);
void cms_result_clear(struct spop_host *host, struct spop_smime_result *result);

/* asn1Parser's output for cms.asn (the generated cms-asn1.c). */
extern const asn1_static_node cms_asn1_tab[];

/* The definitions of cms.asn ("CMS.ContentInfo", "CMS.EnvelopedData", ...),
 * parsed once; NULL (with the error set, 284) when libtasn1 refuses them. */
asn1_node cms_asn1(struct spop_host *host);

/* libgcrypt initialised (once); 0, or 284 with the error set. */
int cms_gcrypt_init(struct spop_host *host);

#endif
