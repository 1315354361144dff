/* Shared by the bearer-token mechanisms; see bearer.h. */
#include "bearer.h"

#include <glib.h>
#include <string.h>

/* A server's error message is kept up to this many bytes. */
#define REFUSAL_KEPT 1024

int bearer_check_token(struct spop_host *h, const char *mech, const char *token)
{
	size_t n = token ? strlen(token) : 0, i = 0;

	if (!n)
		return h->set_error(h, SPOP_ERR_INVALID_VALUE,
				    "Password is empty: %s sends it as the "
				    "OAuth 2.0 access token.",
				    mech);
	/* b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" )
	 * *"=": anything else (a ^A above all) would change the message. */
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

char *bearer_refusal(struct spop_host *h, const char *mech,
		     const unsigned char *data, size_t len)
{
	size_t kept = len > REFUSAL_KEPT ? REFUSAL_KEPT : len;
	char *valid = g_utf8_make_valid((const char *)data, (gssize)kept);
	char *text = g_strconcat(valid, kept < len ? "..." : "", NULL);
	char *line = g_strdup_printf("%s refused the token: %s", mech, text);

	/* the host escapes control characters */
	h->trail(h, SPOP_TRAIL_INFO, line);
	g_free(line);
	g_free(valid);
	return text;
}
