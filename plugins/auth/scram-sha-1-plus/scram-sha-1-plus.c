/* Auth "scram-sha-1-plus" (SASL SCRAM-SHA-1-PLUS, RFC 5802): the SCRAM exchange
 * of plugins/auth/scram/ with SHA1, which binds to the TLS channel
 * (tls-exporter under TLS 1.3, tls-unique below). The server proves it knows
 * the password (MUTUAL). Reached by AuthMechanismName only: the reference's
 * AuthMechanism has no SCRAM value. */
#include <gcrypt.h>

#include "scram.h"

/* 18 random bytes make the 24-character nonce of RFC 5802's example (144 bits).
 */
static const struct scram_mech mech = {
    .name = "SCRAM-SHA-1-PLUS",
    .md = GCRY_MD_SHA1,
    .mac = GCRY_MAC_HMAC_SHA1,
    .nonce_bytes = 18,
    .plus = 1,
};

static int start(struct spop_host *h, void **state, unsigned char **out,
		 size_t *out_len)
{
	return scram_start(&mech, h, state, out, out_len);
}

static const struct spop_auth_ops ops = {
    .size = sizeof(struct spop_auth_ops),
    .sasl_name = "SCRAM-SHA-1-PLUS",
    .sasl_start = start,
    .sasl_step = scram_step,
    .sasl_done = scram_done,
    .sasl_finish = scram_finish,
};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_AUTH,
    .name = "scram-sha-1-plus",
    .version = "1.0",
    .description = "SASL SCRAM-SHA-1-PLUS (RFC 5802)",
    .selectors = NULL,
    .n_selectors = 0,
    .capabilities = SPOP_CAP_AUTH_SASL | SPOP_CAP_AUTH_MUTUAL |
		    SPOP_CAP_AUTH_CHANNEL_BINDING,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
