/* Auth "oauthbearer" (SASL OAUTHBEARER, RFC 7628): Password holds an
 * OAuth 2.0 access token. One message, the initial response:
 *     "n,a=" User "," ^A "host=" MailServer ^A "port=" MailPort ^A
 *     "auth=Bearer " token ^A ^A
 * (a GS2 header without channel binding, RFC 7628 section 3.1). A
 * refused token is answered by the server with a JSON error as a
 * challenge (section 3.2.2); the client ends the exchange with a single
 * ^A (section 3.2.3, "AQ==" in base64) and the server says -ERR. The JSON
 * goes to the trail (an info line) and, through sasl_refusal, into the
 * error of the failed exchange.
 *
 * No AuthMechanism value: AuthMechanismName=oauthbearer chooses it. The
 * token is a reusable secret on the wire (SPOP_CAP_AUTH_PLAINTEXT).
 * AuthorizationIdentity is not used: a= carries User, the name servers
 * (Dovecot among them) log in. */
#include <glib.h>
#include <string.h>

#include <spop/plugin.h>

#include "bearer.h"

#define MECH "OAUTHBEARER"

enum stage { SENT, ANSWERED_ERROR };

struct oauthbearer {
	enum stage stage;
	char *refusal; /* the server's error message, for sasl_refusal */
};

/* RFC 7628 section 3.1: a value is *(VCHAR / SP / HTAB / CR / LF); the
 * core keeps CR and LF out of every credential already. */
static gboolean is_value(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 32 && *p != '\t')
			return FALSE;
	return TRUE;
}

/* RFC 5801 saslname: ',' and '=' are written =2C and =3D. */
static void add_saslname(GString *m, const char *name)
{
	for (const char *p = name; *p; p++) {
		if (*p == ',')
			g_string_append(m, "=2C");
		else if (*p == '=')
			g_string_append(m, "=3D");
		else
			g_string_append_c(m, *p);
	}
}

static int oauthbearer_start(struct spop_host *h, void **state,
			     unsigned char **out, size_t *out_len)
{
	const char *user = h->setting(h, "User");
	const char *token = h->setting(h, "Password");
	const char *server = h->setting(h, "MailServer");
	long long port = h->setting_int(h, "MailPort", 0);
	int rc = bearer_check_token(h, MECH, token);

	if (rc)
		return rc;
	user = user ? user : "";
	if (!is_value(user) || !g_utf8_validate(user, -1, NULL))
		return h->set_error(h, SPOP_ERR_INVALID_VALUE,
				    "User holds a control character or is "
				    "not UTF-8; " MECH " cannot carry it.");
	if (!server || !*server || !is_value(server))
		return h->set_error(h, SPOP_ERR_INVALID_VALUE,
				    "MailServer is empty or holds a control "
				    "character; " MECH " sends it as host.");

	GString *m = g_string_new("n,");
	/* An empty User leaves the authzid out, as RFC 7628 allows. */
	if (*user) {
		g_string_append(m, "a=");
		add_saslname(m, user);
	}
	g_string_append_printf(m, ",\001host=%s\001", server);
	if (port > 0)
		g_string_append_printf(m, "port=%lld\001", port);
	g_string_append_printf(m, "auth=Bearer %s\001\001", token);

	struct oauthbearer *o = h->alloc(h, sizeof(*o));
	o->stage = SENT;
	o->refusal = NULL;
	*state = o;
	*out = h->alloc(h, m->len);
	memcpy(*out, m->str, m->len);
	*out_len = m->len;
	memset(m->str, 0, m->len);
	g_string_free(m, TRUE);
	return 0;
}

static int oauthbearer_step(struct spop_host *h, void *state,
			    const unsigned char *challenge,
			    size_t challenge_len, unsigned char **out,
			    size_t *out_len)
{
	struct oauthbearer *o = state;

	if (o->stage == ANSWERED_ERROR)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "The server sent another " MECH
				    " challenge after its error message "
				    "instead of -ERR.");
	if (!challenge_len)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "The server sent an empty " MECH
				    " challenge; after the client's message "
				    "only an error message (RFC 7628 section "
				    "3.2.2) may come.");
	/* RFC 7628 section 3.2.3: the error is answered with a single ^A,
	 * after which the server fails the exchange. */
	g_free(o->refusal);
	o->refusal = bearer_refusal(h, MECH, challenge, challenge_len);
	*out = h->alloc(h, 1);
	(*out)[0] = 0x01;
	*out_len = 1;
	o->stage = ANSWERED_ERROR;
	return 0;
}

static const char *oauthbearer_refusal(struct spop_host *h, void *state)
{
	const struct oauthbearer *o = state;

	(void)h;
	return o->refusal;
}

static void oauthbearer_done(struct spop_host *h, void *state)
{
	struct oauthbearer *o = state;

	g_free(o->refusal);
	h->free(h, state);
}

static const struct spop_auth_ops ops = {
    .size = sizeof(struct spop_auth_ops),
    .sasl_name = MECH,
    .sasl_start = oauthbearer_start,
    .sasl_step = oauthbearer_step,
    .sasl_done = oauthbearer_done,
    .sasl_refusal = oauthbearer_refusal,
};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_AUTH,
    .name = "oauthbearer",
    .version = "1.0",
    .description = "SASL OAUTHBEARER (RFC 7628): Password holds the OAuth "
		   "2.0 access token",
    /* No AuthMechanism value: chosen by AuthMechanismName only. */
    .selectors = NULL,
    .n_selectors = 0,
    .capabilities = SPOP_CAP_AUTH_SASL | SPOP_CAP_AUTH_PLAINTEXT,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
