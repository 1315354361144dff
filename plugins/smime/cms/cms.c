/* S/MIME engine "cms" (Config SMIMEEngine=cms, the default): CMS
 * (RFC 5652) parsed with libtasn1 against cms.asn, content ciphers, KDF and
 * key wrap with libgcrypt, private-key operations through the cert-store
 * plugin that holds the key (store_ops->key_decrypt / key_derive), so a
 * token's key never leaves it.
 *
 * decrypt.c: EnvelopedData and AuthEnvelopedData; verify.c: SignedData.
 * This file: the descriptor, the ops table, what both halves share (the
 * ASN.1 definitions, libgcrypt's initialisation) and result_clear. */
#include "cms.h"
#include "../../common/gcrypt-ready.h"

#include <gcrypt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t asn1_once = PTHREAD_ONCE_INIT;
static asn1_node asn1_defs;
static int asn1_rc;
static char asn1_err[ASN1_MAX_ERROR_DESCRIPTION_SIZE];

static void asn1_load(void)
{
	asn1_rc = asn1_array2tree(cms_asn1_tab, &asn1_defs, asn1_err);
}

asn1_node cms_asn1(struct spop_host *host)
{
	pthread_once(&asn1_once, asn1_load);
	if (asn1_rc != ASN1_SUCCESS) {
		host->set_error(host, SPOP_ERR_DECRYPT,
				"The cms engine's ASN.1 definitions do not "
				"load in libtasn1 %s: %s (%s).",
				asn1_check_version(NULL),
				asn1_strerror(asn1_rc), asn1_err);
		return NULL;
	}
	return asn1_defs;
}

/* The definitions live as long as the module: a module is never unloaded
 * while the process uses it, and a destructor frees them at unload so a
 * leak checker sees nothing. */
__attribute__((destructor)) static void asn1_unload(void)
{
	if (asn1_defs)
		asn1_delete_structure(&asn1_defs);
}

int cms_read_alloc(asn1_node node, const char *name, unsigned char **out,
		   int *len)
{
	int n = 0, rc;

	*out = NULL;
	*len = 0;
	rc = asn1_read_value(node, name, NULL, &n);
	if (rc != ASN1_MEM_ERROR && rc != ASN1_SUCCESS)
		return rc;
	*out = malloc((size_t)n + 1);
	if (!*out)
		return ASN1_MEM_ALLOC_ERROR;
	rc = asn1_read_value(node, name, *out, &n);
	if (rc != ASN1_SUCCESS) {
		free(*out);
		*out = NULL;
		return rc;
	}
	*len = n;
	return ASN1_SUCCESS;
}

int cms_read_oid(asn1_node node, const char *name, char *buf, size_t size)
{
	int n = (int)size - 1, rc;

	rc = asn1_read_value(node, name, buf, &n);
	if (rc != ASN1_SUCCESS)
		return rc;
	buf[n >= 0 && n < (int)size ? n : (int)size - 1] = '\0';
	return ASN1_SUCCESS;
}

int cms_decode(asn1_node defs, const char *type, const unsigned char *der,
	       int len, asn1_node *out, char *err)
{
	char name[64];
	int rc;

	*out = NULL;
	err[0] = '\0';
	snprintf(name, sizeof(name), "CMS.%s", type);
	rc = asn1_create_element(defs, name, out);
	if (rc != ASN1_SUCCESS)
		return rc;
	rc = asn1_der_decoding(out, der, len, err);
	if (rc != ASN1_SUCCESS)
		asn1_delete_structure(out);
	return rc;
}

int cms_explicit_value(const unsigned char *der, int start, int end,
		       int *vstart, int *vend)
{
	unsigned char cls;
	unsigned long tag;
	int tag_len, len_len, total = end - start + 1;
	long l;

	if (start < 0 || total < 2 ||
	    asn1_get_tag_der(der + start, total, &cls, &tag_len, &tag) !=
		ASN1_SUCCESS)
		return -1;
	l = asn1_get_length_der(der + start + tag_len, total - tag_len,
				&len_len);
	if (l == -1) { /* indefinite: ends with 00 00 */
		if (total < tag_len + len_len + 2 || der[end] != 0 ||
		    der[end - 1] != 0)
			return -1;
		*vstart = start + tag_len + len_len;
		*vend = end - 2;
		return 0;
	}
	if (l < 0 || tag_len + len_len + l != total)
		return -1;
	*vstart = start + tag_len + len_len;
	*vend = end;
	return 0;
}

/* ---- a message's layout ------------------------------------------------- */

int cms_tlv_at(const unsigned char *der, size_t at, size_t limit,
	       struct cms_tlv *t)
{
	unsigned char cls;
	unsigned long tag;
	int tag_len = 0, len_len = 0;
	long l;

	if (at >= limit || limit - at < 2 || limit - at > INT32_MAX)
		return -1;
	if (asn1_get_tag_der(der + at, (int)(limit - at), &cls, &tag_len,
			     &tag) != ASN1_SUCCESS ||
	    tag_len <= 0 || (size_t)tag_len >= limit - at)
		return -1;
	/* -1 indefinite; -2 and -4 bad or running past limit */
	l = asn1_get_length_der(der + at + tag_len,
				(int)(limit - at - (size_t)tag_len), &len_len);
	if (l < -1 || len_len <= 0)
		return -1;
	t->id = (unsigned char)(cls | (tag < 31 ? tag : 0x1f));
	t->start = at;
	t->tag_len = (size_t)tag_len;
	t->value = at + (size_t)tag_len + (size_t)len_len;
	t->indefinite = l == -1;
	if (t->indefinite) {
		if (!(cls & ASN1_CLASS_STRUCTURED)) /* only a constructed
						       value may be */
			return -1;
		t->end = limit;
	} else {
		t->end = t->value + (size_t)l;
	}
	return 0;
}

const char *cms_ends_at(const unsigned char *der, struct cms_tlv *t,
			size_t limit)
{
	if (t->indefinite) {
		if (limit < t->value + 2 || der[limit - 1] || der[limit - 2])
			return "no end-of-contents";
		t->end = limit - 2;
	} else if (t->end != limit) {
		return "bytes after the end";
	}
	return NULL;
}

int cms_tlv_skip(const unsigned char *der, size_t at, size_t limit, int depth,
		 size_t *end)
{
	struct cms_tlv t;
	size_t p;

	if (depth > 32 || cms_tlv_at(der, at, limit, &t))
		return -1;
	if (!t.indefinite) {
		*end = t.end;
		return 0;
	}
	for (p = t.value; limit - p < 2 || der[p] || der[p + 1];)
		if (cms_tlv_skip(der, p, limit, depth + 1, &p))
			return -1;
	*end = p + 2;
	return 0;
}

int cms_content_at(const unsigned char *der, size_t at, size_t limit,
		   unsigned char prim, unsigned char cons,
		   struct cms_content *c, size_t *after)
{
	struct cms_tlv s, chunk;
	size_t p;

	if (cms_tlv_at(der, at, limit, &s))
		return -1;
	c->value = s.value;
	c->len = 0;
	c->chunked = s.id == cons;
	if (s.id == prim) {
		c->end = *after = s.end;
		c->len = s.end - s.value;
		return 0;
	}
	if (s.id != cons)
		return -1;
	for (p = s.value;;) {
		if (s.indefinite ? limit - p >= 2 && !der[p] && !der[p + 1]
				 : p == s.end)
			break;
		if (cms_tlv_at(der, p, s.end, &chunk) || chunk.id != 0x04)
			return -1;
		c->len += chunk.end - chunk.value;
		p = chunk.end;
	}
	c->end = p;
	*after = s.indefinite ? p + 2 : p;
	return 0;
}

int cms_content_next(const unsigned char *der, const struct cms_content *c,
		     size_t *at, const unsigned char **piece, size_t *n)
{
	struct cms_tlv chunk;

	if (!c->chunked) {
		if (*at != c->value)
			return 0;
		*piece = der + c->value;
		*n = c->end - c->value;
		*at = c->end + 1;
		return 1;
	}
	if (*at >= c->end || cms_tlv_at(der, *at, c->end, &chunk))
		return 0; /* read by cms_content_at */
	*piece = der + chunk.value;
	*n = chunk.end - chunk.value;
	*at = chunk.end;
	return 1;
}

void cms_content_gather(const unsigned char *der, const struct cms_content *c,
			unsigned char *buf)
{
	const unsigned char *piece;
	size_t at = c->value, n;

	while (cms_content_next(der, c, &at, &piece, &n)) {
		if (n)
			memcpy(buf, piece, n);
		buf += n;
	}
}

const char *cms_content_info(const unsigned char *cms, size_t len, char *oid,
			     size_t oid_size, struct cms_tlv *ci,
			     struct cms_tlv *c0)
{
	struct cms_tlv type;
	const char *why;
	int oid_len = 0;

	if (cms_tlv_at(cms, 0, len, ci) || ci->id != 0x30)
		return "not a SEQUENCE";
	if ((why = cms_ends_at(cms, ci, len)) != NULL)
		return why;
	if (cms_tlv_at(cms, ci->value, ci->end, &type) || type.id != 0x06 ||
	    asn1_get_object_id_der(cms + type.start + 1,
				   (int)(type.end - type.start - 1), &oid_len,
				   oid, (int)oid_size) != ASN1_SUCCESS)
		return "no content type";
	if (cms_tlv_at(cms, type.end, ci->end, c0) || c0->id != 0xa0)
		return "no [0] content";
	return cms_ends_at(cms, c0, ci->end);
}

/* Where a TLV read with cms_tlv_at ends, its end-of-contents included. */
static size_t total_end(const struct cms_tlv *t)
{
	return t->indefinite ? t->end + 2 : t->end;
}

static size_t length_octets(bool indefinite, size_t len)
{
	int n = 0;

	if (indefinite)
		return 1;
	asn1_length_der((unsigned long)len, NULL, &n);
	return (size_t)n;
}

int cms_cut(const unsigned char *der, size_t len, const struct cms_tlv *anc,
	    size_t n, size_t cut_at, size_t cut_end, unsigned char **out,
	    size_t *out_len)
{
	size_t vlen[8], total[8], inner_old, inner_new;
	unsigned char *p;
	int ll = 0;

	*out = NULL;
	if (n == 0 || n > 8)
		return -1;
	/* New value lengths, innermost first; an indefinite value keeps
	 * its end-of-contents. */
	inner_old = cut_end - cut_at;
	inner_new = 0;
	for (size_t i = n; i-- > 0;) {
		const struct cms_tlv *a = &anc[i];

		vlen[i] = total_end(a) - a->value - inner_old + inner_new;
		total[i] = a->tag_len + length_octets(a->indefinite, vlen[i]) +
			   vlen[i];
		inner_old = total_end(a) - a->start;
		inner_new = total[i];
	}
	*out_len = anc[0].start + total[0] + (len - total_end(&anc[0]));
	if (!(p = *out = malloc(*out_len ? *out_len : 1)))
		return -1;
	memcpy(p, der, anc[0].start);
	p += anc[0].start;
	for (size_t i = 0; i < n; i++) {
		const struct cms_tlv *a = &anc[i];
		size_t upto = i + 1 < n ? anc[i + 1].start : cut_at;

		memcpy(p, der + a->start, a->tag_len);
		p += a->tag_len;
		if (a->indefinite) {
			*p++ = 0x80;
		} else {
			asn1_length_der((unsigned long)vlen[i], p, &ll);
			p += ll;
		}
		memcpy(p, der + a->value, upto - a->value);
		p += upto - a->value;
	}
	/* what follows the cut, then each TLV's rest, innermost first */
	for (size_t i = n; i-- > 0;) {
		size_t from = i + 1 < n ? total_end(&anc[i + 1]) : cut_end;

		memcpy(p, der + from, total_end(&anc[i]) - from);
		p += total_end(&anc[i]) - from;
	}
	memcpy(p, der + total_end(&anc[0]), len - total_end(&anc[0]));
	return 0;
}

int cms_gcrypt_init(struct spop_host *host)
{
	if (!spop_gcrypt_ready()->ok)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "The cms engine needs libgcrypt %s or "
				       "later; this process has %s.",
				       GCRYPT_VERSION,
				       gcry_check_version(NULL));
	return 0;
}

static const struct spop_smime_ops ops = {
    .size = sizeof(struct spop_smime_ops),
    .decrypt = cms_decrypt,
    .verify = cms_verify,
    .result_clear = smime_result_clear,
};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_SMIME,
    .name = "cms",
    .version = "1.0",
    .description = "CMS (RFC 5652) with libtasn1 and libgcrypt: "
		   "EnvelopedData, AuthEnvelopedData, SignedData",
    .selectors = NULL,
    .n_selectors = 0,
    .capabilities = SPOP_CAP_SMIME_DECRYPT | SPOP_CAP_SMIME_VERIFY,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
