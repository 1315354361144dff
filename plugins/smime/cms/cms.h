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

/* Reading a libtasn1 tree, for either half; each returns an ASN1_* code.
 * cms_read_alloc: the value of element name, malloc'd with one spare byte
 * (an empty value is not NULL); for an ANY the value's whole DER.
 * cms_read_oid: an OBJECT IDENTIFIER (or a CHOICE's alternative) as text.
 * cms_decode: der decoded as cms.asn's type ("SignedData"); err (of
 * ASN1_MAX_ERROR_DESCRIPTION_SIZE) says where it failed. */
int cms_read_alloc(asn1_node node, const char *name, unsigned char **out,
		   int *len);
int cms_read_oid(asn1_node node, const char *name, char *buf, size_t size);
int cms_decode(asn1_node defs, const char *type, const unsigned char *der,
	       int len, asn1_node *out, char *err);

/* The value inside the TLV at der[start..end] (inclusive, as
 * asn1_der_decoding_startEnd gives it), e.g. an EXPLICIT tag's: its own
 * start and end; an indefinite length ends with its two end-of-contents
 * octets. 0, or -1 when the TLV is not one. (libtasn1 4.19 does not decode
 * "[0] EXPLICIT SEQUENCE" with indefinite lengths, so ContentInfo's
 * content is decoded in two steps.) */
int cms_explicit_value(const unsigned char *der, int start, int end,
		       int *vstart, int *vend);

/* libgcrypt initialised (once); 0, or 284 with the error set. */
int cms_gcrypt_init(struct spop_host *host);

#endif
