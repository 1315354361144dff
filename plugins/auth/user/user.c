/* Auth "user" (AuthMechanism 0): RFC 1939 USER and PASS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spop/plugin.h>

static int user_login(struct spop_host *h)
{
	const char *user = h->setting(h, "User");
	const char *pass = h->setting(h, "Password");
	const char *reply;

	if (!user || !*user)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "User is empty: USER/PASS login "
				    "needs a user name.");
	size_t len = strlen(user) + strlen(pass ? pass : "") + 8;
	char *line = h->alloc(h, len);

	snprintf(line, len, "USER %s", user);
	int rc = h->command(h, line, (size_t)-1, &reply);
	if (!rc) {
		snprintf(line, len, "PASS %s", pass ? pass : "");
		/* Everything after "PASS " is masked in the trail. */
		rc = h->command(h, line, 5, &reply);
	}
	memset(line, 0, len);
	h->free(h, line);
	return rc;
}

static const struct spop_auth_ops ops = {
    .size = sizeof(struct spop_auth_ops),
    .login = user_login,
};

static const int32_t selectors[] = {0};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_AUTH,
    .name = "user",
    .version = "1.0",
    .description = "USER/PASS plaintext login (RFC 1939)",
    .selectors = selectors,
    .n_selectors = 1,
    .capabilities = SPOP_CAP_AUTH_LOGIN | SPOP_CAP_AUTH_PLAINTEXT,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
