/* Auth "xoauth2" (AuthMechanism 7, SASL XOAUTH2, as Google and Microsoft
 * document it): Password holds an OAuth 2.0 access token, sent as
 *     "user=" User ^A "auth=Bearer " token ^A ^A
 * in two steps: AUTH XOAUTH2 without an initial response, then the
 * message after the server's empty "+", since some large providers refuse
 * the one-line form. A refused token is answered by the server with a
 * base64 JSON error as a challenge ({"status":"401",...}); the client
 * answers it with an empty response and the server then says -ERR. The
 * JSON goes to the trail (an info line) and, through sasl_refusal, into
 * the error of the failed exchange.
 *
 * The token is a reusable secret on the wire (SPOP_CAP_AUTH_PLAINTEXT):
 * the core's policy decides whether it may go out without TLS. */
#include <glib.h>
#include <string.h>

#include <spop/plugin.h>

#include "bearer.h"

#define MECH "XOAUTH2"

enum stage { AWAIT_GO, AWAIT_RESULT, ANSWERED_ERROR };

struct xoauth2 {
	enum stage stage;
	char *refusal; /* the server's error message, for sasl_refusal */
};

static int xoauth2_start(struct spop_host *h, void **state, unsigned char **out,
			 size_t *out_len)
{
	const char *user = h->setting(h, "User");
	int rc = bearer_check_token(h, MECH, h->setting(h, "Password"));

	if (rc)
		return rc;
	if (!user || !*user)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "User is empty: " MECH " needs a user "
				    "name.");
	for (const unsigned char *p = (const unsigned char *)user; *p; p++)
		if (*p < 32 || *p == 127)
			return h->set_error(h, SPOP_ERR_INVALID_VALUE,
					    "User holds a control "
					    "character, which " MECH
					    " cannot carry.");
	struct xoauth2 *x = h->alloc(h, sizeof(*x));

	x->stage = AWAIT_GO;
	x->refusal = NULL;
	*state = x;
	/* No initial response: the message follows the server's "+". */
	*out = NULL;
	*out_len = 0;
	return 0;
}

static int xoauth2_step(struct spop_host *h, void *state,
			const unsigned char *challenge, size_t challenge_len,
			unsigned char **out, size_t *out_len)
{
	struct xoauth2 *x = state;

	switch (x->stage) {
	case AWAIT_GO: {
		if (challenge_len)
			return h->set_error(h, SPOP_ERR_PROTOCOL,
					    "The server answered AUTH " MECH
					    " with a non-empty challenge "
					    "(%zu bytes) where an empty one "
					    "asks for the token.",
					    challenge_len);
		const char *user = h->setting(h, "User");
		const char *token = h->setting(h, "Password");
		/* Both were checked in start. */
		char *m = g_strdup_printf("user=%s\001auth=Bearer %s\001\001",
					  user, token);
		size_t n = strlen(m);

		*out = h->alloc(h, n);
		memcpy(*out, m, n);
		*out_len = n;
		memset(m, 0, n);
		g_free(m);
		x->stage = AWAIT_RESULT;
		return 0;
	}
	case AWAIT_RESULT:
		/* Not +OK or -ERR but a challenge: the token was refused,
		 * and the server explains why before it says -ERR. */
		g_free(x->refusal);
		x->refusal = bearer_refusal(h, MECH, challenge, challenge_len);
		*out = h->alloc(h, 1);
		*out_len = 0;
		x->stage = ANSWERED_ERROR;
		return 0;
	case ANSWERED_ERROR: break;
	}
	return h->set_error(h, SPOP_ERR_PROTOCOL,
			    "The server sent another " MECH " challenge "
			    "after its error message instead of -ERR.");
}

static const char *xoauth2_refusal(struct spop_host *h, void *state)
{
	const struct xoauth2 *x = state;

	(void)h;
	return x->refusal;
}

static void xoauth2_done(struct spop_host *h, void *state)
{
	struct xoauth2 *x = state;

	g_free(x->refusal);
	h->free(h, state);
}

static const struct spop_auth_ops ops = {
    .size = sizeof(struct spop_auth_ops),
    .sasl_name = MECH,
    .sasl_start = xoauth2_start,
    .sasl_step = xoauth2_step,
    .sasl_done = xoauth2_done,
    .sasl_refusal = xoauth2_refusal,
};

static const int32_t selectors[] = {7};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_AUTH,
    .name = "xoauth2",
    .version = "1.0",
    .description = "SASL XOAUTH2 (Google, Microsoft): Password holds the "
		   "OAuth 2.0 access token",
    .selectors = selectors,
    .n_selectors = 1,
    .capabilities = SPOP_CAP_AUTH_SASL | SPOP_CAP_AUTH_PLAINTEXT,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
