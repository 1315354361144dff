/* Auth "cram-md5" (AuthMechanism 1, SASL CRAM-MD5, RFC 2195): no initial
 * response; the server's challenge is answered with the user name, a
 * space and the lower-case hex HMAC-MD5 of the challenge keyed with the
 * password (GnuTLS's HMAC). The password itself never travels, so this is
 * no plaintext mechanism; the server still learns nothing it can replay
 * elsewhere, but it must store the password, and MD5 is weak: prefer
 * SCRAM where the server has it. */
#include <gnutls/crypto.h>
#include <string.h>

#include <spop/plugin.h>

#define MD5_LEN 16

struct cram {
	int answered;
};

static int cram_start(struct spop_host *h, void **state, unsigned char **out,
		      size_t *out_len)
{
	struct cram *c = h->alloc(h, sizeof(*c));

	c->answered = 0;
	*state = c;
	*out = NULL; /* RFC 2195: the server speaks first */
	*out_len = 0;
	return 0;
}

static int cram_step(struct spop_host *h, void *state,
		     const unsigned char *challenge, size_t challenge_len,
		     unsigned char **out, size_t *out_len)
{
	static const char hex[] = "0123456789abcdef";
	struct cram *c = state;
	const char *user = h->setting(h, "User");
	const char *pass = h->setting(h, "Password");
	unsigned char mac[MD5_LEN];

	if (c->answered)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "The server sent a second CRAM-MD5 "
				    "challenge; CRAM-MD5 has a single step.");
	if (!challenge_len)
		return h->set_error(
		    h, SPOP_ERR_PROTOCOL,
		    "The server's CRAM-MD5 challenge is empty.");
	if (!user || !*user)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "User is empty: CRAM-MD5 needs a user "
				    "name.");
	pass = pass ? pass : "";
	if (gnutls_hmac_fast(GNUTLS_MAC_MD5, pass, strlen(pass), challenge,
			     challenge_len, mac) < 0)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "HMAC-MD5 is not available (GnuTLS).");
	size_t ul = strlen(user);
	unsigned char *m = h->alloc(h, ul + 1 + 2 * MD5_LEN);

	memcpy(m, user, ul);
	m[ul] = ' ';
	for (size_t i = 0; i < MD5_LEN; i++) {
		m[ul + 1 + 2 * i] = (unsigned char)hex[mac[i] >> 4];
		m[ul + 2 + 2 * i] = (unsigned char)hex[mac[i] & 15];
	}
	c->answered = 1;
	*out = m;
	*out_len = ul + 1 + 2 * MD5_LEN;
	return 0;
}

static void cram_done(struct spop_host *h, void *state)
{
	h->free(h, state);
}

static const struct spop_auth_ops ops = {
    .size = sizeof(struct spop_auth_ops),
    .sasl_name = "CRAM-MD5",
    .sasl_start = cram_start,
    .sasl_step = cram_step,
    .sasl_done = cram_done,
};

static const int32_t selectors[] = {1};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_AUTH,
    .name = "cram-md5",
    .version = "1.0",
    .description = "SASL CRAM-MD5 (RFC 2195)",
    .selectors = selectors,
    .n_selectors = 1,
    .capabilities = SPOP_CAP_AUTH_SASL,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
