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
#include <stdbool.h>
#include <stddef.h>
#include <spop/plugin.h>

#include "result.h"

/* The ops table's slots (struct spop_smime_ops). */
int cms_decrypt(struct spop_host *host, const unsigned char *cms, size_t len,
		const struct spop_smime_keys *keys,
		struct spop_smime_result *result);
int cms_verify(struct spop_host *host, const unsigned char *cms, size_t len,
	       const unsigned char *content, size_t content_len,
	       const struct spop_smime_keys *keys,
	       struct spop_smime_result *result);

/* asn1Parser's output for cms.asn (the generated cms-asn1.c). */
extern const asn1_static_node cms_asn1_tab[];

/* The definitions of cms.asn ("CMS.ContentInfo", "CMS.EnvelopedData", ...),
 * parsed once; NULL (with the error set, 284) when libtasn1 refuses them. */
asn1_node cms_asn1(struct spop_host *host);

/* Reading a libtasn1 tree, for either half; each returns an ASN1_* code.
 * cms_read_alloc: the value of element name, malloc'd with one spare byte
 * (an empty value is not NULL); for an ANY the value's whole DER; for a
 * BIT STRING *len is in bits.
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

/* ---- a message's layout, read where it lies -------------------------------
 * libtasn1 copies every value it decodes into its tree, so a big content
 * (EnvelopedData's encryptedContent, SignedData's eContent) would be
 * copied several times before it is used. Both halves therefore find the
 * content where it lies in the message, through the few enclosing TLVs,
 * with libtasn1's asn1_get_tag_der and asn1_get_length_der, and give
 * libtasn1 (and GnuTLS) the structure with the content cut out
 * (cms_cut). Any other layout is left to libtasn1 whole. */

/* One TLV: where it starts, where its value starts and ends (for an
 * indefinite length, end is the limit given until cms_ends_at or
 * cms_tlv_skip places it). id is the identifier octet for tag numbers
 * below 31 (class, constructed bit, number), else the class bits | 0x1f,
 * which no layout read here expects. */
struct cms_tlv {
	unsigned char id;
	size_t start, tag_len, value, end;
	bool indefinite;
};

/* The TLV at der[at], which must end by limit: 0, or -1. */
int cms_tlv_at(const unsigned char *der, size_t at, size_t limit,
	       struct cms_tlv *t);

/* The value of a constructed TLV read with cms_tlv_at: an indefinite one
 * ends with its end-of-contents (two zero bytes) just before limit (end
 * is set there), a definite one exactly at limit. NULL, or what is wrong. */
const char *cms_ends_at(const unsigned char *der, struct cms_tlv *t,
			size_t limit);

/* Past the end of the TLV at der[at] (its end-of-contents included),
 * which must end by limit: 0, or -1. Nesting deeper than 32 is refused. */
int cms_tlv_skip(const unsigned char *der, size_t at, size_t limit, int depth,
		 size_t *end);

/* A string's bytes where they lie: one primitive TLV (value..end), or a
 * constructed one whose value is primitive chunks (BER, as openssl
 * -stream, gpgsm and NSS write it) between value and end. */
struct cms_content {
	size_t value, end, len;
	bool chunked;
};

/* The string at der[at] with identifier prim (primitive) or cons
 * (constructed, of chunks tagged 0x04), which must end by limit: where its
 * bytes lie, and *after, past it (end-of-contents included). 0, or -1
 * when it is neither form. */
int cms_content_at(const unsigned char *der, size_t at, size_t limit,
		   unsigned char prim, unsigned char cons,
		   struct cms_content *c, size_t *after);

/* The pieces of a content in order: start with *at = c->value; each call
 * gives one (possibly empty) piece and returns 1, then 0 at the end. */
int cms_content_next(const unsigned char *der, const struct cms_content *c,
		     size_t *at, const unsigned char **piece, size_t *n);

/* The chunks of a content copied together into buf. */
void cms_content_gather(const unsigned char *der, const struct cms_content *c,
			unsigned char *buf);

/* ContentInfo (RFC 5652 3) at cms[0..len): its contentType as text, and
 * its own TLV and its [0]'s (end placed). NULL, or what is wrong. */
const char *cms_content_info(const unsigned char *cms, size_t len, char *oid,
			     size_t oid_size, struct cms_tlv *ci,
			     struct cms_tlv *c0);

/* A copy of der[0..len) without der[cut_at..cut_end), malloc'd: anc[0..n)
 * are the TLVs that hold the cut, outermost first, their ends placed (an
 * indefinite one's end before its end-of-contents); their definite
 * lengths are rewritten, indefinite ones kept. Bytes before anc[0] and
 * after it are copied as they are. 0, or -1 out of memory. */
int cms_cut(const unsigned char *der, size_t len, const struct cms_tlv *anc,
	    size_t n, size_t cut_at, size_t cut_end, unsigned char **out,
	    size_t *out_len);

/* libgcrypt initialised (once); 0, or 284 with the error set. */
int cms_gcrypt_init(struct spop_host *host);

#endif
