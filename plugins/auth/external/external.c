/* Auth "external" (SASL EXTERNAL, RFC 4422 appendix A): the server takes the
 * identity from outside the exchange, here the TLS client certificate named
 * by SSLCertStore/SSLCertSubject. The only message is the authorization
 * identity: AuthorizationIdentity when set, else empty (the identity the
 * certificate gives). No secret travels, so no Password is needed; without
 * TLS there is no certificate and nothing is sent. No AuthMechanism value
 * names it: AuthMechanismName=external, or auto when a client certificate
 * is set. */
#include <string.h>

#include <spop/plugin.h>

static int ext_start(struct spop_host *h, void **state, unsigned char **out,
		     size_t *out_len)
{
	const char *authzid = h->setting(h, "AuthorizationIdentity");
	size_t len = authzid ? strlen(authzid) : 0;

	if (!h->tls_active(h))
		return h->set_error(h, SPOP_ERR_POLICY,
				    "SASL EXTERNAL authenticates with the TLS "
				    "client certificate, and the connection "
				    "has no TLS; nothing was sent.");
	*state = NULL;
	/* An initial response, empty or not: one round trip less. */
	*out = h->alloc(h, len ? len : 1);
	memcpy(*out, len ? authzid : "", len);
	*out_len = len;
	return 0;
}

static int ext_step(struct spop_host *h, void *state,
		    const unsigned char *challenge, size_t challenge_len,
		    unsigned char **out, size_t *out_len)
{
	(void)state;
	(void)challenge;
	(void)out;
	(void)out_len;
	return h->set_error(h, SPOP_ERR_PROTOCOL,
			    "The server sent a SASL EXTERNAL challenge (%zu "
			    "bytes); EXTERNAL has none after the initial "
			    "response.",
			    challenge_len);
}

static void ext_done(struct spop_host *h, void *state)
{
	(void)h;
	(void)state;
}

static const struct spop_auth_ops ops = {
    .size = sizeof(struct spop_auth_ops),
    .sasl_name = "EXTERNAL",
    .sasl_start = ext_start,
    .sasl_step = ext_step,
    .sasl_done = ext_done,
};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_AUTH,
    .name = "external",
    .version = "1.0",
    .description = "SASL EXTERNAL with the TLS client certificate "
		   "(RFC 4422)",
    .capabilities = SPOP_CAP_AUTH_SASL | SPOP_CAP_AUTH_NO_PASSWORD,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
