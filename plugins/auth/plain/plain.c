/* Auth "plain" (AuthMechanism 4, SASL PLAIN, RFC 4616): one message,
 * authzid NUL authcid NUL password, sent as the initial response. The
 * password travels as it is, so the core refuses it where policy says no
 * reusable secret goes out without TLS. */
#include <string.h>

#include <spop/plugin.h>

struct plain {
	int sent;
};

static int build(struct spop_host *h, unsigned char **out, size_t *out_len)
{
	const char *authz = h->setting(h, "AuthorizationIdentity");
	const char *user = h->setting(h, "User");
	const char *pass = h->setting(h, "Password");

	if (!user || !*user)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "User is empty: SASL PLAIN needs a user "
				    "name.");
	authz = authz ? authz : "";
	pass = pass ? pass : "";
	size_t za = strlen(authz), zu = strlen(user), zp = strlen(pass);
	unsigned char *m = h->alloc(h, za + zu + zp + 2);

	memcpy(m, authz, za);
	m[za] = '\0';
	memcpy(m + za + 1, user, zu);
	m[za + 1 + zu] = '\0';
	memcpy(m + za + zu + 2, pass, zp);
	*out = m;
	*out_len = za + zu + zp + 2;
	return 0;
}

static int plain_start(struct spop_host *h, void **state, unsigned char **out,
		       size_t *out_len)
{
	struct plain *p = h->alloc(h, sizeof(*p));
	int rc;

	p->sent = 1;
	*state = p;
	rc = build(h, out, out_len);
	return rc;
}

/* RFC 4616 has no challenge after the message; a server that sends one
 * anyway (instead of +OK or -ERR) is not answered with the secret again. */
static int plain_step(struct spop_host *h, void *state,
		      const unsigned char *challenge, size_t challenge_len,
		      unsigned char **out, size_t *out_len)
{
	return h->set_error(h, SPOP_ERR_PROTOCOL,
			    "The server sent a challenge after the SASL "
			    "PLAIN message; PLAIN has a single step.");
}

static void plain_done(struct spop_host *h, void *state)
{
	h->free(h, state);
}

static const struct spop_auth_ops ops = {
    .size = sizeof(struct spop_auth_ops),
    .sasl_name = "PLAIN",
    .sasl_start = plain_start,
    .sasl_step = plain_step,
    .sasl_done = plain_done,
};

static const int32_t selectors[] = {4};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_AUTH,
    .name = "plain",
    .version = "1.0",
    .description = "SASL PLAIN (RFC 4616), with AuthorizationIdentity",
    .selectors = selectors,
    .n_selectors = 1,
    .capabilities = SPOP_CAP_AUTH_SASL | SPOP_CAP_AUTH_PLAINTEXT,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
