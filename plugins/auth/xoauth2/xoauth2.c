/* Auth "xoauth2" (AuthMechanism 7, SASL XOAUTH2, as Google and Microsoft
 * document it): Password holds an OAuth 2.0 access token, sent as
 *     "user=" User ^A "auth=Bearer " token ^A ^A
 * in two steps: AUTH XOAUTH2 without an initial response, then the
 * message after the server's empty "+", since some large providers refuse
 * the one-line form. A refused token is answered by the server with a
 * base64 JSON error as a challenge ({"status":"401",...}); the client
 * answers it with an empty response and the server then says -ERR. The
 * JSON goes to the trail here (an info line); the core adds the last
 * challenge of a failed exchange to the error text.
 *
 * The token is a reusable secret on the wire (SPOP_CAP_AUTH_PLAINTEXT):
 * the core's policy decides whether it may go out without TLS. */
#include <glib.h>
#include <string.h>

#include <spop/plugin.h>

#define MECH "XOAUTH2"
/* A server's error message is shown up to this many bytes. */
#define ERROR_SHOWN 1024

enum stage { AWAIT_GO, AWAIT_RESULT, ANSWERED_ERROR };

struct xoauth2 {
	enum stage stage;
};

/* RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" /
 * "~" / "+" / "/" ) *"=". Anything else (a ^A above all) would change
 * the message. The error names the position only: the token is secret. */
static int check_token(struct spop_host *h, const char *token)
{
	size_t n = token ? strlen(token) : 0, i = 0;

	if (!n)
		return h->set_error(h, SPOP_ERR_INVALID_VALUE,
				    "Password is empty: " MECH " sends it as "
				    "the OAuth 2.0 access token.");
	while (i < n &&
	       (g_ascii_isalnum(token[i]) || strchr("-._~+/", token[i])))
		i++;
	if (!i)
		return h->set_error(h, SPOP_ERR_INVALID_VALUE,
				    "Password does not start like an OAuth "
				    "2.0 bearer token (RFC 6750 b64token).");
	while (i < n && token[i] == '=')
		i++;
	if (i < n)
		return h->set_error(h, SPOP_ERR_INVALID_VALUE,
				    "Password is not an OAuth 2.0 bearer "
				    "token (RFC 6750 b64token): character %zu "
				    "of %zu is not allowed.",
				    i + 1, n);
	return 0;
}

/* The server's refusal, for the trail (its control characters are
 * escaped by the host). */
static void trail_refusal(struct spop_host *h, const unsigned char *data,
			  size_t len)
{
	size_t shown = len > ERROR_SHOWN ? ERROR_SHOWN : len;
	char *text = g_utf8_make_valid((const char *)data, (gssize)shown);
	char *line = g_strdup_printf("%s refused the token: %s%s", MECH, text,
				     shown < len ? "..." : "");

	h->trail(h, SPOP_TRAIL_INFO, line);
	g_free(line);
	g_free(text);
}

static int xoauth2_start(struct spop_host *h, void **state, unsigned char **out,
			 size_t *out_len)
{
	const char *user = h->setting(h, "User");
	int rc = check_token(h, h->setting(h, "Password"));

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
		trail_refusal(h, challenge, challenge_len);
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

static void xoauth2_done(struct spop_host *h, void *state)
{
	h->free(h, state);
}

static const struct spop_auth_ops ops = {
    .size = sizeof(struct spop_auth_ops),
    .sasl_name = MECH,
    .sasl_start = xoauth2_start,
    .sasl_step = xoauth2_step,
    .sasl_done = xoauth2_done,
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
