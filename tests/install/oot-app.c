/* A small third-party application, built by tests/install/test-install.sh
 * against the installed libspop only (headers and pkg-config file from the
 * install, no source tree): lists the plugins, then logs in with the auth
 * plugin chosen by name and reports the message count and the trail.
 *
 * usage: oot-app SERVER PORT USER PASSWORD PLUGIN_PATH
 *
 * Output, one item per line, for the test to grep:
 *   buildinfo TEXT                      Config BuildInfo (names the
 *                                       compiled-in plugin directory)
 *   plugin KIND NAME PATH ok            a loadable plugin
 *   plugin KIND NAME PATH error: TEXT   a module the library refused
 *   trail DIRECTION TEXT                a PITrail event (0 C, 1 S, 2 info)
 *   count N                             MessageCount after logging in
 *   error CODE: MESSAGE                 the first failure; exit status 1 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <spop/spop.h>

/* The auth plugin the test built out of tree. */
#define AUTH_PLUGIN "oot"

static void print_plugin(const struct spop_plugin_info *info, void *ud)
{
	(void)ud;
	if (info->error)
		printf("plugin %s %s %s error: %s\n", info->kind_name,
		       info->name, info->path, info->error);
	else
		printf("plugin %s %s %s ok\n", info->kind_name, info->name,
		       info->path);
}

static void print_trail(spop_t *s, const struct spop_pitrail_event *e, void *ud)
{
	(void)s;
	(void)ud;
	printf("trail %d %s\n", e->direction, e->message);
}

/* Reports the object's last error and returns the exit status. */
static int fail(spop_t *s, const char *what)
{
	int code = spop_last_error_code(s);
	const char *msg = spop_last_error(s);

	printf("error %d: %s (%s)\n", code,
	       msg && *msg ? msg : spop_error_text(code), what);
	return 1;
}

/* Sets Config NAME=VALUE; 0 or the error code. */
static int config(spop_t *s, const char *name, const char *value)
{
	char buf[4096];

	if (snprintf(buf, sizeof(buf), "%s=%s", name, value) >=
	    (int)sizeof(buf)) {
		printf("error %d: %s value too long\n", SPOP_ERR_INVALID_VALUE,
		       name);
		return SPOP_ERR_INVALID_VALUE;
	}
	return spop_config(s, buf) ? 0 : spop_last_error_code(s);
}

static int run(spop_t *s, char **argv)
{
	char *end;

	errno = 0;
	long port = strtol(argv[2], &end, 10);
	if (errno || *end || port < 1 || port > 65535) {
		printf("error %d: bad port '%s'\n", SPOP_ERR_INVALID_VALUE,
		       argv[2]);
		return 1;
	}

	/* Everything the library loads comes from this path and the
	 * library's compiled-in directory; the test unsets SPOP_PLUGIN_PATH. */
	if (config(s, "PluginPath", argv[5]))
		return fail(s, "Config PluginPath");
	const char *info = spop_config(s, "BuildInfo");
	if (!info)
		return fail(s, "Config BuildInfo");
	printf("buildinfo %s\n", info);
	if (spop_list_plugins(s, print_plugin, NULL))
		return fail(s, "spop_list_plugins");

	spop_on_pitrail(s, print_trail, NULL);
	if (spop_set_mail_server(s, argv[1]))
		return fail(s, "MailServer");
	if (spop_set_mail_port(s, (int)port))
		return fail(s, "MailPort");
	if (spop_set_user(s, argv[3]))
		return fail(s, "User");
	if (spop_set_password(s, argv[4]))
		return fail(s, "Password");
	if (config(s, "AuthMechanismName", AUTH_PLUGIN))
		return fail(s, "Config AuthMechanismName");
	if (spop_connect(s))
		return fail(s, "Connect");
	printf("count %d\n", spop_get_message_count(s));
	if (spop_disconnect(s))
		return fail(s, "Disconnect");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: %s SERVER PORT USER PASSWORD PATH\n",
			argv[0]);
		return 2;
	}
	/* Line-buffered even into a file, so the test sees the trail in
	 * order with the other lines. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	spop_t *s = spop_new();
	if (!s) {
		printf("error %d: spop_new failed\n",
		       SPOP_ERR_INVALID_ARGUMENT);
		return 1;
	}
	int status = run(s, argv);
	spop_free(s);
	return status;
}
