/* Auth "apop" (AuthMechanism 3): RFC 1939 APOP, the MD5 of the greeting's
 * timestamp and the password. The timestamp must be a msg-id <...@...>;
 * without one, APOP is impossible and we say so instead of guessing. */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

#include <spop/plugin.h>

/* Finds "<local@domain>" in the greeting (RFC 1939 section 7 and the
 * msg-id syntax of RFC 822): printable ASCII, no spaces or nested '<',
 * exactly one '@' with text on both sides. */
static int find_timestamp(const char *greeting, const char **start, size_t *len)
{
	for (const char *lt = strchr(greeting, '<'); lt;
	     lt = strchr(lt + 1, '<')) {
		const char *gt = strchr(lt, '>');
		if (!gt)
			return -1;
		int at = 0, bad = 0;
		const char *at_pos = NULL;

		for (const char *p = lt + 1; p < gt; p++) {
			if (*p == '@') {
				at++;
				at_pos = p;
			} else if (*p <= ' ' || *p >= 0x7f || *p == '<') {
				bad = 1;
			}
		}
		if (!bad && at == 1 && at_pos > lt + 1 && at_pos < gt - 1) {
			*start = lt;
			*len = (size_t)(gt - lt + 1);
			return 0;
		}
	}
	return -1;
}

static int apop_login(struct spop_host *h)
{
	const char *greeting = h->greeting(h);
	const char *user = h->setting(h, "User");
	const char *pass = h->setting(h, "Password");
	const char *stamp, *reply;
	size_t stamp_len;

	if (find_timestamp(greeting, &stamp, &stamp_len))
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "APOP needs a <...@...> timestamp "
				    "in the server's greeting, and '%s' has "
				    "none.",
				    greeting);
	if (!user || !*user)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "User is empty: APOP needs a user "
				    "name.");
	if (!pass)
		pass = "";

	size_t plen = strlen(pass);
	unsigned char *input = h->alloc(h, stamp_len + plen);
	unsigned char digest[16];
	char hex[33];

	memcpy(input, stamp, stamp_len);
	memcpy(input + stamp_len, pass, plen);
	gnutls_hash_fast(GNUTLS_DIG_MD5, input, stamp_len + plen, digest);
	memset(input, 0, stamp_len + plen);
	h->free(h, input);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);

	size_t len = strlen(user) + 40;
	char *line = h->alloc(h, len);
	snprintf(line, len, "APOP %s %s", user, hex);
	/* The digest is replayable within this greeting only, but the trail
	 * still masks it like a password. */
	int rc = h->command(h, line, 6 + strlen(user), &reply);
	h->free(h, line);
	return rc;
}

static const struct spop_auth_ops ops = {
    .size = sizeof(struct spop_auth_ops),
    .login = apop_login,
};

static const int32_t selectors[] = {3};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_AUTH,
    .name = "apop",
    .version = "1.0",
    .description = "APOP digest login (RFC 1939 section 7)",
    .selectors = selectors,
    .n_selectors = 1,
    .capabilities = SPOP_CAP_AUTH_LOGIN,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
