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

#endif
