/* Auth plugin "oot", built by tests/install/test-install.sh outside the
 * source tree with nothing but the installed <spop/plugin.h>, to prove a
 * third party can write and ship a plugin from the SDK alone.
 *
 * It logs in with USER/PASS like the shipped "user" plugin, but serves no
 * AuthMechanism value, so it is reached only by name (AuthMechanismName).
 * Built with -DOOT_BAD_ABI it claims the next ABI major, which the core
 * must refuse with 1202. */
#include <stdio.h>
#include <string.h>

#include <spop/plugin.h>

#ifdef OOT_BAD_ABI
#define OOT_ABI_MAJOR (SPOP_PLUGIN_ABI_MAJOR + 1)
#else
#define OOT_ABI_MAJOR SPOP_PLUGIN_ABI_MAJOR
#endif

/* The test looks for this in the trail: proof that "oot" ran the login,
 * not the built-in "user" plugin that speaks the same commands. */
#define OOT_TRAIL_MARK "oot plugin: USER/PASS login"

static int oot_login(struct spop_host *h)
{
	const char *user = h->setting(h, "User");
	const char *pass = h->setting(h, "Password");
	const char *reply;

	/* Same text whatever the user: errors must not reveal who exists. */
	if (!user || !*user)
		return h->set_error(h, 171,
				    "oot: User is empty; USER/PASS login "
				    "needs a user name.");
	if (!pass)
		pass = "";
	h->trail(h, SPOP_TRAIL_INFO, OOT_TRAIL_MARK);

	size_t len = strlen(user) + strlen(pass) + sizeof("USER ");
	char *line = h->alloc(h, len);

	if (!line)
		return h->set_error(h, 10022, "oot: out of memory.");
	snprintf(line, len, "USER %s", user);
	int rc = h->command(h, line, (size_t)-1, &reply);
	if (!rc) {
		snprintf(line, len, "PASS %s", pass);
		/* Offset 5 keeps "PASS " readable and masks the secret. */
		rc = h->command(h, line, 5, &reply);
	}
	/* The password was in this buffer; do not leave it in freed memory. */
	memset(line, 0, len);
	h->free(h, line);
	return rc;
}

static const struct spop_auth_ops ops = {
    .size = sizeof(struct spop_auth_ops),
    .login = oot_login,
};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = OOT_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_AUTH,
    .name = "oot",
    .version = "1.0",
    .description = "out-of-tree USER/PASS login (install test)",
    /* No selector: only AuthMechanismName=oot picks it. */
    .selectors = NULL,
    .n_selectors = 0,
    .rank = 0,
    .capabilities = SPOP_CAP_AUTH_LOGIN,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
