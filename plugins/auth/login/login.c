/* Auth "login" (SASL LOGIN, draft-murchison-sasl-login): the server asks
 * for the user name, then the password, each as a challenge. Widely
 * deployed, never standardised; no AuthMechanism value, chosen by name
 * (AuthMechanismName=LOGIN). Both answers travel in clear base64. */
#include <string.h>

#include <spop/plugin.h>

struct login {
	int step; /* answers given */
};

static int login_start(struct spop_host *h, void **state, unsigned char **out,
		       size_t *out_len)
{
	struct login *l = h->alloc(h, sizeof(*l));

	l->step = 0;
	*state = l;
	*out = NULL; /* no initial response: the server asks first */
	*out_len = 0;
	return 0;
}

static int answer(struct spop_host *h, const char *value, unsigned char **out,
		  size_t *out_len)
{
	size_t n = strlen(value);

	*out = h->alloc(h, n ? n : 1);
	memcpy(*out, value, n);
	*out_len = n;
	return 0;
}

/* The prompts ("Username:", "Password:") are informative only; servers
 * word them differently, so the order of the steps decides. */
static int login_step(struct spop_host *h, void *state,
		      const unsigned char *challenge, size_t challenge_len,
		      unsigned char **out, size_t *out_len)
{
	struct login *l = state;
	const char *user = h->setting(h, "User");
	const char *pass = h->setting(h, "Password");

	switch (l->step++) {
	case 0:
		if (!user || !*user)
			return h->set_error(h, SPOP_ERR_PROTOCOL,
					    "User is empty: SASL LOGIN needs "
					    "a user name.");
		return answer(h, user, out, out_len);
	case 1: return answer(h, pass ? pass : "", out, out_len);
	default:
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "The server sent a third SASL LOGIN "
				    "challenge; LOGIN has two.");
	}
}

static void login_done(struct spop_host *h, void *state)
{
	h->free(h, state);
}

static const struct spop_auth_ops ops = {
    .size = sizeof(struct spop_auth_ops),
    .sasl_name = "LOGIN",
    .sasl_start = login_start,
    .sasl_step = login_step,
    .sasl_done = login_done,
};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_AUTH,
    .name = "login",
    .version = "1.0",
    .description = "SASL LOGIN (user name and password as challenges)",
    .capabilities = SPOP_CAP_AUTH_SASL | SPOP_CAP_AUTH_PLAINTEXT,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
