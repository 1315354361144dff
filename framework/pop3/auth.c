/* Authentication: which mechanism plugin runs, whether the security
 * policy lets it, and the login itself (the SASL driver is sasl.c). The
 * mechanism is chosen before connecting, so that a missing or broken plugin
 * fails without a connection; AuthMechanismName=auto chooses after CAPA,
 * from what both sides support (auto_order below). */
#include <string.h>

#include "net/net.h"
#include "pop3.h"

/* AuthMechanismName=auto: the choice waits for the server's CAPA. */
static bool wants_auto(struct spop *s)
{
	return s->cfg.auth_mechanism_name &&
	       !g_ascii_strcasecmp(s->cfg.auth_mechanism_name, "auto");
}

static int select_auth(struct spop *s,
		       const struct spop_plugin_descriptor **out)
{
	if (s->cfg.auth_mechanism_name && *s->cfg.auth_mechanism_name)
		return spi_plugin_by_name(s, SPOP_PLUGIN_AUTH,
					  s->cfg.auth_mechanism_name, out);
	return spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism",
				 s->auth_mechanism, out);
}

/* Plugins declare, the core decides: the capability bits say which style
 * a mechanism is and what it needs, and the ops must match. A 1.0 plugin
 * predates the bits; its style is the slot it set. */
static int auth_style(struct spop *s, const struct spop_plugin_descriptor *d,
		      bool *sasl)
{
	const struct spop_auth_ops *ops = d->ops;
	bool has_login = SPOP_OPS_HAS(struct spop_auth_ops, ops, login);
	bool has_sasl = SPOP_OPS_HAS(struct spop_auth_ops, ops, sasl_name) &&
			SPOP_OPS_HAS(struct spop_auth_ops, ops, sasl_start) &&
			SPOP_OPS_HAS(struct spop_auth_ops, ops, sasl_step) &&
			SPOP_OPS_HAS(struct spop_auth_ops, ops, sasl_done);
	uint64_t caps = d->capabilities;

	if (d->abi_minor == 0 &&
	    !(caps & (SPOP_CAP_AUTH_SASL | SPOP_CAP_AUTH_LOGIN))) {
		caps |= has_login ? SPOP_CAP_AUTH_LOGIN : 0;
		caps |= has_sasl && !has_login ? SPOP_CAP_AUTH_SASL : 0;
	}
	bool want_sasl = caps & SPOP_CAP_AUTH_SASL;
	bool want_login = caps & SPOP_CAP_AUTH_LOGIN;
	const char *problem = NULL;

	if (want_sasl == want_login)
		problem = "declares neither or both of the login and SASL "
			  "styles";
	else if (want_login && !has_login)
		problem = "declares the login style but has no login operation";
	else if (want_sasl && !has_sasl)
		problem = "declares SASL but lacks sasl_name, sasl_start, "
			  "sasl_step or sasl_done";
	else if ((caps & SPOP_CAP_AUTH_MUTUAL) &&
		 !SPOP_OPS_HAS(struct spop_auth_ops, ops, sasl_finish))
		problem = "declares mutual authentication but has no "
			  "sasl_finish to check the server";
	if (problem)
		return spi_fail(s, SPOP_ERR_PLUGIN_INVALID,
				"auth plugin '%s' %s.", d->name, problem);
	*sasl = want_sasl;
	return 0;
}

/* Credentials go on the wire inside a command line; a CR or LF would end
 * it and smuggle another command, so they are refused before connecting. */
static int check_credentials(struct spop *s)
{
	static const struct {
		const char *name;
		size_t offset;
		bool in_cfg;
	} fields[] = {
	    {"User", offsetof(struct spop, user), false},
	    {"Password", offsetof(struct spop, password), false},
	    {"AuthorizationIdentity",
	     offsetof(struct spi_settings, authorization_identity), true},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
		char *base = fields[i].in_cfg ? (char *)&s->cfg : (char *)s;
		const char *v = *(char **)(base + fields[i].offset);

		if (v && strpbrk(v, "\r\n"))
			return spi_fail(s, SPOP_ERR_INVALID_ARGUMENT,
					"%s contains a CR or LF, which would "
					"inject a POP3 command; nothing was "
					"sent.",
					fields[i].name);
	}
	return 0;
}

/* Why policy refuses mechanism d now (a static string), or NULL. */
static const char *policy_refusal(struct spop *s,
				  const struct spop_plugin_descriptor *d)
{
	if (!(d->capabilities & SPOP_CAP_AUTH_PLAINTEXT) ||
	    spi_conn_tls_active(s))
		return NULL;
	if (s->ssl_start_mode != SPOP_SSL_NONE)
		return "sends a reusable secret and TLS was asked for but is "
		       "not active";
	if (!s->cfg.allow_plaintext_auth)
		return "sends a reusable secret without TLS, and "
		       "AllowPlaintextAuth is False";
	return NULL;
}

static int check_policy(struct spop *s, const struct spop_plugin_descriptor *d)
{
	const char *why = policy_refusal(s, d);

	if (why)
		return spi_fail(s, SPOP_ERR_POLICY,
				"auth mechanism '%s' %s; nothing was sent.",
				d->name, why);
	/* Allowed, as the reference's default wants, but never silently. */
	if ((d->capabilities & SPOP_CAP_AUTH_PLAINTEXT) &&
	    !spi_conn_tls_active(s)) {
		s->auth_plaintext_sent = true;
		char *line = g_strdup_printf(
		    "Auth mechanism '%s' sends a reusable secret without TLS "
		    "(AllowPlaintextAuth False forbids this).",
		    d->name);
		spi_trail(s, SPOP_TRAIL_INFO, line, strlen(line));
		g_free(line);
	}
	return 0;
}

static int login(struct spop *s, const struct spop_plugin_descriptor *d,
		 bool sasl)
{
	const struct spop_auth_ops *ops = d->ops;
	int rc = check_policy(s, d);

	if (rc)
		return rc;
	g_free(s->auth_used);
	s->auth_used = g_strdup(d->name);
	s->state = SPI_STATE_AUTH;
	if (sasl)
		return spi_sasl_authenticate(s, d);

	/* The host lives for the login call, as plugin.h promises. */
	struct spi_host host;
	spi_host_init(&host, s, NULL);
	return ops->login(&host.pub);
}

/* ---- AuthMechanismName=auto ---- */

enum auto_need {
	NEED_PASSWORD,	  /* a Password is set */
	NEED_TLS,	  /* a Password, and TLS is up (channel binding) */
	NEED_CLIENT_CERT, /* TLS is up and SSLCert* names a certificate */
	NEED_NO_PASSWORD, /* no Password: a Kerberos ticket is the secret */
};

/* Strongest first. A mechanism is taken when its plugin is installed, the
 * server offers it (CAPA SASL; APOP: a greeting timestamp; USER: CAPA USER
 * or no CAPA), what it needs is there, and the policy lets it run. Bearer
 * tokens (xoauth2, oauthbearer) are never guessed: a Password is not known
 * to be a token. README "Authentication" documents this order. */
static const struct {
	const char *plugin;
	enum auto_need need;
} auto_order[] = {
    /* no reusable secret, the server proven */
    {"external", NEED_CLIENT_CERT},
    {"scram-sha-256-plus", NEED_TLS},
    {"scram-sha-1-plus", NEED_TLS},
    {"gssapi", NEED_NO_PASSWORD},
    {"scram-sha-256", NEED_PASSWORD},
    {"scram-sha-1", NEED_PASSWORD},
    {"digest-md5", NEED_PASSWORD},
    /* no reusable secret, the server not proven */
    {"ntlm", NEED_PASSWORD},
    {"cram-md5", NEED_PASSWORD},
    {"apop", NEED_PASSWORD},
    /* the password itself: only under TLS or AllowPlaintextAuth */
    {"plain", NEED_PASSWORD},
    {"login", NEED_PASSWORD},
    {"user", NEED_PASSWORD},
};

static bool need_met(struct spop *s, enum auto_need need)
{
	bool password = s->password && *s->password;
	bool cert =
	    (s->ssl_cert.store && g_bytes_get_size(s->ssl_cert.store)) ||
	    s->ssl_cert.der;

	switch (need) {
	case NEED_PASSWORD: return password;
	case NEED_TLS: return password && spi_conn_tls_active(s);
	case NEED_CLIENT_CERT: return cert && spi_conn_tls_active(s);
	case NEED_NO_PASSWORD: return !password;
	}
	return false;
}

/* RFC 1939's APOP timestamp somewhere in the greeting: a msg-id
 * "<local@domain>", printable ASCII without blanks or a nested '<', one
 * '@' with text on both sides; the same rule as the apop plugin's search,
 * so that auto never chooses APOP for a greeting the plugin refuses
 * (e.g. "<@>" or "<a b@c>": USER is tried instead). */
static bool greeting_has_timestamp(struct spop *s)
{
	const char *g = s->greeting ? s->greeting : "";

	for (const char *lt = strchr(g, '<'); lt; lt = strchr(lt + 1, '<')) {
		const char *gt = strchr(lt, '>');
		const char *at = NULL;
		int ats = 0;
		bool bad = false;

		if (!gt)
			return false;
		for (const char *p = lt + 1; p < gt; p++) {
			unsigned char c = (unsigned char)*p;

			if (c == '@') {
				ats++;
				at = p;
			} else if (c <= ' ' || c >= 0x7f || c == '<') {
				bad = true;
			}
		}
		if (!bad && ats == 1 && at > lt + 1 && at < gt - 1)
			return true;
	}
	return false;
}

static bool offered(struct spop *s, const struct spop_plugin_descriptor *d,
		    bool sasl)
{
	const struct spop_auth_ops *ops = d->ops;

	if (sasl)
		return spi_capa_has_sasl(&s->capa, ops->sasl_name);
	if (!g_ascii_strcasecmp(d->name, "apop"))
		return greeting_has_timestamp(s);
	if (!g_ascii_strcasecmp(d->name, "user"))
		return !s->capa.known || s->capa.user;
	return false; /* another login-style plugin: chosen by name only */
}

static int choose_auto(struct spop *s,
		       const struct spop_plugin_descriptor **out, bool *sasl)
{
	const char *refused = NULL, *refused_why = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(auto_order); i++) {
		const struct spop_plugin_descriptor *d = NULL;

		if (!need_met(s, auto_order[i].need))
			continue;
		/* Not installed, or broken: the next one (the lookup's error
		 * text is replaced below). */
		if (spi_plugin_by_name(s, SPOP_PLUGIN_AUTH,
				       auto_order[i].plugin, &d) ||
		    auth_style(s, d, sasl) || !offered(s, d, *sasl))
			continue;
		const char *why = policy_refusal(s, d);
		if (why) {
			if (!refused) {
				refused = d->name;
				refused_why = why;
			}
			continue;
		}
		char *line = g_strdup_printf(
		    "AuthMechanismName=auto chose '%s'.", d->name);
		spi_trail(s, SPOP_TRAIL_INFO, line, strlen(line));
		g_free(line);
		*out = d;
		return 0;
	}
	if (refused)
		return spi_fail(s, SPOP_ERR_POLICY,
				"AuthMechanismName=auto: the only mechanism "
				"both sides support, '%s', %s; nothing was "
				"sent.",
				refused, refused_why);
	return spi_fail(s, SPOP_ERR_PROTOCOL,
			"AuthMechanismName=auto found no mechanism that both "
			"%s (CAPA SASL: %s) and this client support with the "
			"credentials given (%s); nothing was sent.",
			spi_str(s->mail_server),
			s->capa.sasl ? s->capa.sasl : "none",
			s->password && *s->password
			    ? "a Password"
			    : "no Password, so only GSSAPI or EXTERNAL");
}

/* ---- the two steps Connect takes ---- */

int spi_auth_prepare(struct spop *s, const struct spop_plugin_descriptor **auth,
		     bool *sasl)
{
	int rc = check_credentials(s);

	g_clear_pointer(&s->auth_used, g_free);
	s->auth_plaintext_sent = false;
	*auth = NULL;
	*sasl = false;
	if (rc || wants_auto(s))
		return rc;
	rc = select_auth(s, auth);
	if (!rc)
		rc = auth_style(s, *auth, sasl);
	return rc;
}

int spi_auth_login(struct spop *s, const struct spop_plugin_descriptor *auth,
		   bool sasl)
{
	int rc = auth ? 0 : choose_auto(s, &auth, &sasl);

	return rc ? rc : login(s, auth, sasl);
}
