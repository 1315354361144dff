/* list-uids: lists the mailbox, one message a line: number, size in
 * octets (as POP3 LIST counts them) and unique ID (UIDL).
 *
 *   POP3_PASSWORD=secret list-uids -s pop.example.org -u alice
 *
 * Options (the environment variable in brackets is the default):
 *   -s, --server HOST    the POP3 server [POP3_SERVER]
 *   -p, --port N         its port, default 110 [POP3_PORT]
 *   -u, --user NAME      the login name [POP3_USER]
 *   -a, --auth NAME      an auth plugin by name, e.g. "cram-md5" or a
 *                        third-party one (Config AuthMechanismName)
 *   -o, --config N=V     any Config setting, e.g. -o Timeout=10; repeatable
 *   -t, --trail          print the protocol trace (PITrail) on stderr
 * The password is read from POP3_PASSWORD, never from the command line,
 * where other users could read it in the process list.
 *
 * It shows: connecting, Config settings by name, the MessageList event
 * with user data, ListMessageSizes and ListMessageUIDs, and errors
 * reported with the library's code and message. Exit status 0, or 1 on
 * any error (2 for a usage error). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spop/spop.h>

struct options {
	const char *server, *port, *user, *password, *auth;
	char **configs; /* "Name=Value" strings for spop_config() */
	int n_configs;
	int trail;
};

/* What the MessageList events fill in, indexed by message number. */
struct listing {
	int count;	/* MessageCount at Connect */
	int64_t *sizes; /* [1..count], -1 until LIST gave it */
	char **uids;	/* [1..count], NULL until UIDL gave it */
};

/* Prints what failed with the library's code and message; returns 1, the
 * exit status. */
static int fail(spop_t *s, const char *what)
{
	int code = spop_last_error_code(s);
	const char *msg = spop_last_error(s);

	fprintf(stderr, "list-uids: %s failed: error %d: %s\n", what, code,
		*msg ? msg : spop_error_text(code));
	return 1;
}

/* Called once per line of a LIST or UIDL answer. Events run inside the
 * method that caused them (here spop_list_message_*), on its thread. */
static void on_message_list(spop_t *s, const struct spop_message_list_event *e,
			    void *ud)
{
	struct listing *l = ud;

	(void)s;
	if (e->message_number < 1 || e->message_number > l->count)
		return;
	if (*e->message_uid) { /* a UIDL line */
		free(l->uids[e->message_number]);
		l->uids[e->message_number] = strdup(e->message_uid);
	} else { /* a LIST line */
		l->sizes[e->message_number] = e->message_size;
	}
}

static void on_pitrail(spop_t *s, const struct spop_pitrail_event *e, void *ud)
{
	static const char *const who[] = {"C", "S", "*"}; /* client, server,
							     info */
	(void)s;
	(void)ud;
	fprintf(stderr, "%s: %s\n",
		e->direction >= 0 && e->direction <= 2 ? who[e->direction]
						       : "?",
		e->message);
}

/* Sets what Connect needs. Passwords are masked in the trail. */
static int configure(spop_t *s, const struct options *o)
{
	if (spop_set_mail_server(s, o->server))
		return fail(s, "MailServer");
	if (o->port && spop_set_mail_port(s, atoi(o->port)))
		return fail(s, "MailPort");
	if (spop_set_user(s, o->user))
		return fail(s, "User");
	if (spop_set_password(s, o->password ? o->password : ""))
		return fail(s, "Password");
	if (o->auth) {
		char setting[256];

		/* spop_config() takes "Name=Value" and answers NULL when it
		 * refuses it (an unknown name, a bad value). */
		if (snprintf(setting, sizeof(setting), "AuthMechanismName=%s",
			     o->auth) >= (int)sizeof(setting)) {
			fprintf(stderr, "list-uids: --auth is too long\n");
			return 1;
		}
		if (!spop_config(s, setting))
			return fail(s, "Config AuthMechanismName");
	}
	for (int i = 0; i < o->n_configs; i++)
		if (!spop_config(s, o->configs[i]))
			return fail(s, o->configs[i]);
	if (o->trail)
		spop_on_pitrail(s, on_pitrail, NULL);
	return 0;
}

static int list(spop_t *s, const struct options *o, struct listing *l)
{
	/* Connect logs in and sends STAT: MessageCount is known after it. */
	if (spop_connect(s))
		return fail(s, "Connect");
	if (o->trail) {
		const char *used = spop_config(s, "AuthMechanismUsed");

		fprintf(stderr, "*: logged in with %s\n", used ? used : "?");
	}

	l->count = spop_get_message_count(s);
	l->sizes = calloc((size_t)l->count + 1, sizeof(*l->sizes));
	l->uids = calloc((size_t)l->count + 1, sizeof(*l->uids));
	if (!l->sizes || !l->uids) {
		fprintf(stderr, "list-uids: out of memory\n");
		return 1;
	}
	for (int i = 1; i <= l->count; i++)
		l->sizes[i] = -1;

	/* Each answer line fires MessageList; l is the event's user data. */
	spop_on_message_list(s, on_message_list, l);
	if (spop_list_message_sizes(s))
		return fail(s, "ListMessageSizes (LIST)");
	if (spop_list_message_uids(s))
		return fail(s, "ListMessageUIDs (UIDL)");
	spop_on_message_list(s, NULL, NULL);

	for (int i = 1; i <= l->count; i++) {
		if (l->sizes[i] < 0 || !l->uids[i]) {
			fprintf(stderr,
				"list-uids: the server left message %d out "
				"of LIST or UIDL\n",
				i);
			return 1;
		}
		printf("%d %" PRId64 " %s\n", i, l->sizes[i], l->uids[i]);
	}

	/* QUIT. Nothing was deleted, so it only ends the session. */
	if (spop_disconnect(s))
		return fail(s, "Disconnect");
	return 0;
}

static void usage(FILE *to)
{
	fprintf(to, "usage: POP3_PASSWORD=... list-uids [-s HOST] [-p PORT] "
		    "[-u USER] [-a AUTH] [-o NAME=VALUE]... [-t]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"server", required_argument, NULL, 's'},
	    {"port", required_argument, NULL, 'p'},
	    {"user", required_argument, NULL, 'u'},
	    {"auth", required_argument, NULL, 'a'},
	    {"config", required_argument, NULL, 'o'},
	    {"trail", no_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct options o = {
	    .server = getenv("POP3_SERVER"),
	    .port = getenv("POP3_PORT"),
	    .user = getenv("POP3_USER"),
	    .password = getenv("POP3_PASSWORD"),
	    .configs = calloc((size_t)argc, sizeof(char *)),
	};
	struct listing l = {0};
	int opt, rc;

	if (!o.configs)
		return 1;
	while ((opt = getopt_long(argc, argv, "s:p:u:a:o:th", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 's': o.server = optarg; break;
		case 'p': o.port = optarg; break;
		case 'u': o.user = optarg; break;
		case 'a': o.auth = optarg; break;
		case 'o': o.configs[o.n_configs++] = optarg; break;
		case 't': o.trail = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !o.server || !o.user) {
		usage(stderr);
		return 2;
	}

	spop_t *s = spop_new(); /* never NULL */
	rc = configure(s, &o);
	if (!rc)
		rc = list(s, &o, &l);
	/* Frees the object; a session still open is closed without QUIT. */
	spop_free(s);
	if (l.uids)
		for (int i = 0; i <= l.count; i++)
			free(l.uids[i]);
	free(l.uids);
	free(l.sizes);
	free(o.configs);
	return rc;
}
