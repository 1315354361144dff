/* What the two OAuth 2.0 bearer-token mechanisms (xoauth2, oauthbearer)
 * share: the token's syntax, and the server's refusal kept for the core's
 * error (sasl_refusal) and shown in the trail. */
#ifndef SPOP_AUTH_BEARER_H
#define SPOP_AUTH_BEARER_H

#include <stddef.h>

#include <spop/plugin.h>

/* RFC 6750 section 2.1's b64token; 0, or 1211 naming the position of the
 * first bad character (never the token), set on h. mech names the
 * mechanism in the message. */
int bearer_check_token(struct spop_host *h, const char *mech,
		       const char *token);

/* The server's error message (a JSON object, as the server sent it) as
 * valid UTF-8 text of at most 1024 bytes ("..." when cut), g_malloc'd;
 * also written to the trail as an info line. */
char *bearer_refusal(struct spop_host *h, const char *mech,
		     const unsigned char *data, size_t len);

#endif
