/* The SCRAM family (RFC 5802, RFC 7677, channel binding per RFC 5929 and
 * RFC 9266), shared by the auth plugins scram-sha-1, scram-sha-256 and
 * their -PLUS variants: each plugin is its descriptor and one struct
 * scram_mech; everything else is here. */
#ifndef SPOP_SCRAM_H
#define SPOP_SCRAM_H

#include <spop/plugin.h>

struct scram_mech {
	const char *name; /* SASL name: "SCRAM-SHA-256-PLUS" */
	int md;		  /* libgcrypt hash: GCRY_MD_SHA256 */
	int mac;	  /* its HMAC: GCRY_MAC_HMAC_SHA256 */
	/* Random bytes behind the client nonce, which is their base64 text
	 * (a multiple of 3, so the nonce has no '=' padding). */
	size_t nonce_bytes;
	int plus; /* binds to the TLS channel (p=...) */
};

/* The most iterations a server may ask for. */
#define SCRAM_ITERATIONS_MAX 10000000u

int scram_start(const struct scram_mech *m, struct spop_host *h, void **state,
		unsigned char **out, size_t *out_len);
int scram_step(struct spop_host *h, void *state, const unsigned char *in,
	       size_t in_len, unsigned char **out, size_t *out_len);
int scram_finish(struct spop_host *h, void *state);
void scram_done(struct spop_host *h, void *state);

/* The whole of a SCRAM plugin: its mech, its start, ops and descriptor.
 * name: plugin name ("scram-sha-256"); SASL: SASL name; md/mac: the
 * libgcrypt hash and HMAC; nonce: random bytes behind the client nonce;
 * plus: 1 for a -PLUS variant (channel binding); rfc: the RFC for the
 * description. */
#define SCRAM_PLUGIN(NAME, SASL, MD, MAC, NONCE, PLUS, RFC)                    \
	static const struct scram_mech mech = {                                \
	    .name = SASL,                                                      \
	    .md = MD,                                                          \
	    .mac = MAC,                                                        \
	    .nonce_bytes = NONCE,                                              \
	    .plus = PLUS,                                                      \
	};                                                                     \
	static int start(struct spop_host *h, void **state,                    \
			 unsigned char **out, size_t *out_len)                 \
	{                                                                      \
		return scram_start(&mech, h, state, out, out_len);             \
	}                                                                      \
	static const struct spop_auth_ops ops = {                              \
	    .size = sizeof(struct spop_auth_ops),                              \
	    .sasl_name = SASL,                                                 \
	    .sasl_start = start,                                               \
	    .sasl_step = scram_step,                                           \
	    .sasl_done = scram_done,                                           \
	    .sasl_finish = scram_finish,                                       \
	};                                                                     \
	static const struct spop_plugin_descriptor descriptor = {              \
	    .abi_major = SPOP_PLUGIN_ABI_MAJOR,                                \
	    .abi_minor = SPOP_PLUGIN_ABI_MINOR,                                \
	    .size = sizeof(struct spop_plugin_descriptor),                     \
	    .kind = SPOP_PLUGIN_AUTH,                                          \
	    .name = NAME,                                                      \
	    .version = "1.0",                                                  \
	    .description = "SASL " SASL " (" RFC ")",                          \
	    .selectors = NULL,                                                 \
	    .n_selectors = 0,                                                  \
	    .capabilities = SPOP_CAP_AUTH_SASL | SPOP_CAP_AUTH_MUTUAL |        \
			    ((PLUS) ? SPOP_CAP_AUTH_CHANNEL_BINDING : 0),      \
	    .ops = &ops,                                                       \
	};                                                                     \
	SPOP_PLUGIN_DEFINE(descriptor)

#endif
