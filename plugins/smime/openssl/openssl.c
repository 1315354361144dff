/* S/MIME engine "openssl" (Config SMIMEEngine=openssl): CMS (RFC 5652)
 * through OpenSSL 3's CMS API, the second engine beside "cms" so that
 * every S/MIME verdict can be checked by two independent implementations
 * (tests/plugin/test-smime-diff.c). Private-key operations go through the
 * cert-store plugin that holds the key (storekey.c), as in the cms engine.
 *
 * This file: the descriptor, the ops table and result_clear. */
#include "engine.h"
#include "result.h"

#include <openssl/crypto.h>
#include <string.h>

static const struct spop_smime_ops ops = {
    .size = sizeof(struct spop_smime_ops),
    .decrypt = ossl_smime_decrypt,
    .verify = ossl_smime_verify,
    .result_clear = smime_result_clear,
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
