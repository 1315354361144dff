/* S/MIME engine "openssl" (Config SMIMEEngine=openssl): CMS (RFC 5652)
 * through OpenSSL 3's CMS API, the second engine beside "cms" so that
 * every S/MIME verdict can be checked by two independent implementations
 * (tests/plugin/test-smime-diff.c). Private-key operations go through the
 * cert-store plugin that holds the key (storekey.c), as in the cms engine.
 *
 * This file: the descriptor, the ops table and result_clear. */
#include "engine.h"

#include <openssl/crypto.h>
#include <string.h>

void *ossl_smime_dup(struct spop_host *host, const void *data, size_t len)
{
	void *p = host->alloc(host, len ? len : 1);

	if (p && len)
		memcpy(p, data, len);
	return p;
}

void ossl_smime_result_clear(struct spop_host *host,
			     struct spop_smime_result *result)
{
	size_t i;

	if (!result)
		return;
	if (result->content) {
		/* Decrypted content is secret: wiped before it goes. */
		OPENSSL_cleanse(result->content, result->content_len);
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
	}
	uint32_t size = result->size;
	memset(result, 0, size < sizeof(*result) ? size : sizeof(*result));
	result->size = size;
}

static const struct spop_smime_ops ops = {
    .size = sizeof(struct spop_smime_ops),
    .decrypt = ossl_smime_decrypt,
    .verify = ossl_smime_verify,
    .result_clear = ossl_smime_result_clear,
};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_SMIME,
    .name = "openssl",
    .version = "1.0",
    .description = "CMS (RFC 5652) with OpenSSL 3's CMS API: "
		   "EnvelopedData, AuthEnvelopedData, SignedData",
    .selectors = NULL,
    .n_selectors = 0,
    .capabilities = SPOP_CAP_SMIME_DECRYPT | SPOP_CAP_SMIME_VERIFY,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
