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

#include <gcrypt.h>
#include <pthread.h>
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

static pthread_once_t gcry_once = PTHREAD_ONCE_INIT;
static int gcry_ok;

static void gcry_init(void)
{
	if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
		if (!gcry_check_version(GCRYPT_VERSION))
			return;
		/* As the cert-store plugins do (common/key.c): a pool for
		 * secrets when the process may lock memory, no privilege
		 * drop. Whoever initialises first decides; the engine keeps
		 * its keys in ordinary memory, wiped after use. */
		gcry_control(GCRYCTL_DISABLE_PRIV_DROP, 0);
		gcry_control(GCRYCTL_DISABLE_SECMEM_WARN, 0);
		if (gcry_control(GCRYCTL_INIT_SECMEM, 65536, 0) == 0)
			gcry_control(GCRYCTL_AUTO_EXPAND_SECMEM, 65536, 0);
		gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	}
	gcry_ok = gcry_check_version(GCRYPT_VERSION) != NULL;
}

int cms_gcrypt_init(struct spop_host *host)
{
	pthread_once(&gcry_once, gcry_init);
	if (!gcry_ok)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "The cms engine needs libgcrypt %s or "
				       "later; this process has %s.",
				       GCRYPT_VERSION,
				       gcry_check_version(NULL));
	return 0;
}

void cms_result_clear(struct spop_host *host, struct spop_smime_result *result)
{
	size_t i;

	if (!result)
		return;
	if (result->content) {
		/* Decrypted content is secret: wipe it before it goes. */
		memset(result->content, 0, result->content_len);
		host->free(host, result->content);
	}
	host->free(host, result->signer_der);
	for (i = 0; i < result->n_chain; i++)
		if (result->chain_der)
			host->free(host, result->chain_der[i]);
	host->free(host, result->chain_der);
	host->free(host, result->chain_len);
	if (result->size >= offsetof(struct spop_smime_result, n_signers) +
				sizeof(result->n_signers)) {
		for (i = 0; i < result->n_signers; i++)
			if (result->signers)
				host->free(host, result->signers[i].cert_der);
		host->free(host, result->signers);
		result->signers = NULL;
		result->n_signers = 0;
	}
	uint32_t size = result->size;
	memset(result, 0, size < sizeof(*result) ? size : sizeof(*result));
	result->size = size;
}

static const struct spop_smime_ops ops = {
    .size = sizeof(struct spop_smime_ops),
    .decrypt = cms_decrypt,
    .verify = cms_verify,
    .result_clear = cms_result_clear,
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
