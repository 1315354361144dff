/* A third-party authentication plugin for libspop: the SASL LOGIN
 * mechanism under the plugin name "example".
 *
 * LOGIN (draft-murchison-sasl-login) is chosen because every common server,
 * Dovecot included, accepts it, so this plugin can be tried for real, and
 * because it shows a mechanism with state and several steps: the server
 * asks for the user name, then for the password, each as a base64
 * challenge. (libspop ships its own "login" plugin; this one is reached
 * only by its name, so the two never compete.)
 *
 * A plugin sees only <spop/plugin.h>: everything it needs (settings,
 * memory, errors, the trail) comes through the host table the core passes
 * to every call. It links nothing of libspop. Build it out of tree with
 * the Makefile beside this file:
 *
 *     make                  # cc ... $(pkg-config --cflags spop-plugin)
 *     make install          # into $(pkg-config --variable=pluginsdir ...)
 *
 * It needs its key-file, spop-auth-example.plugin, beside the module: the
 * core reads the key-files to choose, and loads only the chosen module.
 * An application selects it by name:
 *
 *     spop_config(s, "AuthMechanismName=example");
 *
 * and may turn on the setting this plugin declares:
 *
 *     spop_config(s, "ExampleLoginTrace=True");
 *
 * which writes the server's prompts to the protocol trace (PITrail). */
#include <stdio.h>
#include <string.h>

#include <spop/plugin.h>

/* The plugin's state for one login, made in start, freed in done. */
struct example_login {
	int answers; /* challenges answered so far */
};

/* Hands the core a response. Buffers a plugin returns are allocated with
 * host->alloc(): the core owns and frees them. The core base64-encodes
 * responses and masks them in the trail; the plugin never sees base64. */
static int respond(struct spop_host *h, const char *text, unsigned char **out,
		   size_t *out_len)
{
	size_t n = strlen(text);

	*out = h->alloc(h, n ? n : 1);
	if (!*out)
		return h->set_error(h, SPOP_ERR_NO_BUFFER_SPACE,
				    "example: out of memory.");
	memcpy(*out, text, n);
	*out_len = n;
	return 0;
}

/* AUTH LOGIN starts without an initial response: *out NULL says so (an
 * empty initial response would be a non-NULL *out with *out_len 0). */
static int example_start(struct spop_host *h, void **state, unsigned char **out,
			 size_t *out_len)
{
	struct example_login *l = h->alloc(h, sizeof(*l));

	if (!l)
		return h->set_error(h, SPOP_ERR_NO_BUFFER_SPACE,
				    "example: out of memory.");
	l->answers = 0;
	*state = l;
	*out = NULL;
	*out_len = 0;
	return 0;
}

/* One server challenge, decoded. Servers word the prompts differently
 * ("Username:", "User Name"), so their order decides, not their text. */
static int example_step(struct spop_host *h, void *state,
			const unsigned char *challenge, size_t challenge_len,
			unsigned char **out, size_t *out_len)
{
	struct example_login *l = state;

	/* A declared setting reads like any other: "True" / "False". */
	if (h->setting_int(h, "ExampleLoginTrace", 0)) {
		char line[128];
		int n = challenge_len < 64 ? (int)challenge_len : 64;

		/* The host escapes control characters in trail lines. */
		snprintf(line, sizeof(line), "example: the server asks '%.*s'",
			 n, (const char *)challenge);
		h->trail(h, SPOP_TRAIL_INFO, line);
	}

	switch (l->answers++) {
	case 0: {
		const char *user = h->setting(h, "User");

		/* Error texts must not tell whether a user exists. */
		if (!user || !*user)
			return h->set_error(h, SPOP_ERR_PROTOCOL,
					    "example: User is empty; SASL "
					    "LOGIN needs a user name.");
		return respond(h, user, out, out_len);
	}
	case 1: {
		const char *password = h->setting(h, "Password");

		return respond(h, password ? password : "", out, out_len);
	}
	default:
		/* Returning an error makes the core cancel the exchange
		 * ("*") and fail Connect with it. */
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "example: the server sent a third SASL "
				    "LOGIN challenge; LOGIN has two.");
	}
}

static void example_done(struct spop_host *h, void *state)
{
	h->free(h, state);
}

/* The auth ops table. size first, always: the core reads only the members
 * this size covers, so a plugin built against older headers keeps working
 * when later ABI minors add members. Members left out are NULL. */
static const struct spop_auth_ops ops = {
    .size = sizeof(struct spop_auth_ops),
    .sasl_name = "LOGIN", /* what goes after AUTH */
    .sasl_start = example_start,
    .sasl_step = example_step,
    .sasl_done = example_done,
};

/* The settings this plugin adds to Config, ended by an entry with name
 * NULL. Their names are listed in the key-file too (Settings=), which is
 * how spop_config() finds this plugin without loading every module. */
static const struct spop_setting_decl settings[] = {
    {
	.size = sizeof(struct spop_setting_decl),
	.type = SPOP_SETTING_BOOL,
	.name = "ExampleLoginTrace",
	.default_value = "False",
	.description = "Trace the server's SASL LOGIN prompts in PITrail",
    },
    {.name = NULL},
};

/* The descriptor: what the plugin is. It must agree with the key-file
 * (kind, name, selectors, settings) or the core refuses the plugin (1203).
 * No selectors: reached by name only (AuthMechanismName=example), never in
 * place of a built-in mechanism. */
static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR, /* another major is refused: 1202 */
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_AUTH,
    .name = "example", /* the NAME of spop-auth-NAME.so */
    .version = "1.0",
    .description = "SASL LOGIN, a third-party plugin example",
    .selectors = NULL,
    .n_selectors = 0,
    .rank = 0,
    /* SASL style (not the login style of USER/PASS and APOP), and a
     * reusable secret in clear: the core refuses to send it without TLS
     * when the application asked for TLS or AllowPlaintextAuth=False. */
    .capabilities = SPOP_CAP_AUTH_SASL | SPOP_CAP_AUTH_PLAINTEXT,
    .ops = &ops,
    .settings = settings,
};

/* Exports spop_plugin_entry(), the module's one public symbol. */
SPOP_PLUGIN_DEFINE(descriptor)
