/* spop-probe's conversation with the library: applies the options, connects,
 * lists, retrieves and deletes, and records what it learnt in a
 * struct probe_result. Every failing call is recorded and the steps that do
 * not depend on it still run, so one bad message does not hide the rest. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include <spop/spop.h>

#include "probe.h"

static void message_free(gpointer p)
{
	struct probe_message *m = p;

	g_free(m->uid);
	g_free(m->from);
	g_free(m->to);
	g_free(m->cc);
	g_free(m->subject);
	g_free(m->date);
	g_free(m->file);
	probe_smime_free(m->smime);
	g_free(m);
}

static void setting_free(gpointer p)
{
	struct probe_setting *st = p;

	g_free(st->name);
	g_free(st->type);
	g_free(st->default_value);
	g_free(st->description);
	g_free(st);
}

static void plugin_free(gpointer p)
{
	struct probe_plugin *pl = p;

	g_ptr_array_unref(pl->settings);

	g_free(pl->kind);
	g_free(pl->name);
	g_free(pl->version);
	g_free(pl->description);
	g_free(pl->path);
	g_free(pl->error);
	g_free(pl);
}

static void cert_free(gpointer p)
{
	struct probe_cert *c = p;

	g_free(c->subject);
	g_free(c->issuer);
	g_free(c->serial);
	g_free(c);
}

static void error_free(gpointer p)
{
	struct probe_error *e = p;

	g_free(e->message);
	g_free(e);
}

void probe_result_init(struct probe_result *r)
{
	memset(r, 0, sizeof(*r));
	r->capabilities = g_ptr_array_new_with_free_func(g_free);
	r->messages = g_ptr_array_new_with_free_func(message_free);
	r->by_number = g_hash_table_new(g_direct_hash, g_direct_equal);
	r->plugins = g_ptr_array_new_with_free_func(plugin_free);
	r->certs = g_ptr_array_new_with_free_func(cert_free);
	r->errors = g_ptr_array_new_with_free_func(error_free);
}

static void tls_clear(struct probe_tls *t)
{
	g_free(t->provider);
	g_free(t->version);
	g_free(t->cipher);
	g_free(t->cert_subject);
	g_free(t->cert_issuer);
	g_free(t->status);
	memset(t, 0, sizeof(*t));
}

void probe_result_clear(struct probe_result *r)
{
	tls_clear(&r->tls);
	g_free(r->greeting);
	g_free(r->auth_used);
	g_ptr_array_unref(r->capabilities);
	g_hash_table_destroy(r->by_number);
	g_ptr_array_unref(r->messages);
	g_ptr_array_unref(r->plugins);
	g_ptr_array_unref(r->certs);
	g_ptr_array_unref(r->errors);
	if (r->smime_signer)
		g_bytes_unref(r->smime_signer);
	memset(r, 0, sizeof(*r));
}

void probe_add_error(struct probe_result *r, int code, const char *message)
{
	struct probe_error *e = g_new0(struct probe_error, 1);

	e->code = code;
	e->message = g_strdup(message);
	g_ptr_array_add(r->errors, e);
}

/* Records the library's error after a call returned code. The detail
 * string names the input that failed; the code's short text is the
 * fallback should a call leave it empty. */
void probe_library_error(struct probe_result *r, spop_t *s, int code)
{
	const char *msg = spop_last_error(s);

	if (!msg || !*msg)
		msg = spop_error_text(code);
	probe_add_error(r, code, msg ? msg : "");
}

/* An empty string is how the API says "none"; the report says null. */
char *probe_dup_or_null(const char *text)
{
	return text && *text ? g_strdup(text) : NULL;
}

struct probe_message *probe_message_for(struct probe_result *r, int number)
{
	struct probe_message *m;

	m = g_hash_table_lookup(r->by_number, GINT_TO_POINTER(number));
	if (m)
		return m;
	m = g_new0(struct probe_message, 1);
	m->number = number;
	m->size = -1;
	g_ptr_array_add(r->messages, m);
	g_hash_table_insert(r->by_number, GINT_TO_POINTER(number), m);
	return m;
}

static gint by_number(gconstpointer a, gconstpointer b)
{
	const struct probe_message *x = *(struct probe_message *const *)a;
	const struct probe_message *y = *(struct probe_message *const *)b;

	return (x->number > y->number) - (x->number < y->number);
}

/* ListMessageSizes and ListMessageUIDs each fire this once per message;
 * merging by number gives one row per message whatever the order. */
static void on_message_list(spop_t *s, const struct spop_message_list_event *e,
			    void *ud)
{
	struct probe_message *m = probe_message_for(ud, e->message_number);

	if (e->message_uid && *e->message_uid) {
		g_free(m->uid);
		m->uid = g_strdup(e->message_uid);
	} else {
		m->size = e->message_size;
	}
}

/* One prefix per line, so a multi-line entry stays greppable. */
static void trail_lines(const char *prefix, const char *message)
{
	const char *p = message ? message : "";

	do {
		size_t n = strcspn(p, "\r\n");

		fprintf(stderr, "%s%.*s\n", prefix, (int)n, p);
		p += n;
		if (*p == '\r')
			p++;
		if (*p == '\n')
			p++;
	} while (*p);
}

static void on_pitrail(spop_t *s, const struct spop_pitrail_event *e, void *ud)
{
	trail_lines(e->direction == 0	? "C: "
		    : e->direction == 1 ? "S: "
					: "*: ",
		    e->message);
}

/* SSLStatus beside the PITrail lines, marked apart: it is the library's
 * account of the TLS layer, not of the POP3 conversation. */
static void on_ssl_status(spop_t *s, const struct spop_ssl_status_event *e,
			  void *ud)
{
	trail_lines("TLS: ", e->message);
}

struct server_auth {
	struct probe_result *r;
	const struct probe_options *o;
};

/* Records the library's verdict as it arrived, then applies --insecure.
 * Explicit TLS has one handshake per connection; a later one would
 * describe the certificate last seen, which is the one to report. */
static void on_server_authentication(
    spop_t *s, struct spop_ssl_server_authentication_event *e, void *ud)
{
	struct server_auth *sa = ud;
	struct probe_tls *t = &sa->r->tls;

	t->event_seen = TRUE;
	g_free(t->cert_subject);
	g_free(t->cert_issuer);
	g_free(t->status);
	t->cert_subject = probe_dup_or_null(e->cert_subject);
	t->cert_issuer = probe_dup_or_null(e->cert_issuer);
	t->status = probe_dup_or_null(e->status);
	t->verified = e->accept != 0;
	t->overridden = FALSE;
	if (sa->o->insecure && !e->accept) {
		fprintf(stderr,
			"spop-probe: WARNING: --insecure: accepting the "
			"certificate of %s ('%s', issued by '%s') although "
			"it failed verification: %s\n",
			sa->o->server, e->cert_subject ? e->cert_subject : "",
			e->cert_issuer ? e->cert_issuer : "",
			e->status ? e->status : "");
		e->accept = 1;
		t->overridden = TRUE;
	}
}

static void on_plugin(const struct spop_plugin_info *info, void *ud)
{
	struct probe_result *r = ud;
	struct probe_plugin *pl = g_new0(struct probe_plugin, 1);

	pl->kind = g_strdup(info->kind_name);
	pl->name = g_strdup(info->name);
	pl->version = g_strdup(info->version);
	pl->description = g_strdup(info->description);
	pl->path = g_strdup(info->path);
	pl->error = g_strdup(info->error);
	pl->settings = g_ptr_array_new_with_free_func(setting_free);
	g_ptr_array_add(r->plugins, pl);
}

/* Settings come in plugin order; each goes under the plugin declaring it. */
static void on_setting(const struct spop_setting_info *info, void *ud)
{
	struct probe_result *r = ud;

	for (guint i = 0; i < r->plugins->len; i++) {
		struct probe_plugin *pl = r->plugins->pdata[i];
		struct probe_setting *st;

		if (g_strcmp0(pl->kind, info->plugin_kind_name) ||
		    g_strcmp0(pl->name, info->plugin_name))
			continue;
		st = g_new0(struct probe_setting, 1);
		st->name = g_strdup(info->name);
		st->type = g_strdup(info->type_name);
		st->default_value = g_strdup(info->default_value);
		st->description = g_strdup(info->description);
		st->min = info->min;
		st->max = info->max;
		st->secret = info->secret;
		g_ptr_array_add(pl->settings, st);
		return;
	}
}

/* spop_config("Name=Value"): 0, or the library's error code. */
int probe_config_set(spop_t *s, const char *name, const char *value)
{
	char *setting = g_strdup_printf("%s=%s", name, value);
	const char *v = spop_config(s, setting);

	g_free(setting);
	return v ? 0 : spop_last_error_code(s);
}

/* The TLS options. The client certificate's store type, store and
 * password come here, for SSLCert* and for Cert* (the same certificate
 * decrypts S/MIME messages); SSLCertSubject and CertSubject, which search
 * the store when set, come later (set_cert_subject), once --list-certs has
 * listed the store and --config may have changed it. */
static int configure_tls(const struct probe_options *o, spop_t *s)
{
	int rc = 0;

	if (o->tls_mode >= 0 &&
	    (rc = spop_set_ssl_start_mode(s, o->tls_mode)) != 0)
		return rc;
	if (o->tls_provider_value >= 0 &&
	    (rc = spop_set_ssl_provider(s, o->tls_provider_value)) != 0)
		return rc;
	if (o->ca_pem &&
	    (rc = probe_config_set(s, "SSLServerCACerts", o->ca_pem)))
		return rc;
	if (o->accept_cert_data) {
		gsize len;
		const char *data = g_bytes_get_data(o->accept_cert_data, &len);

		rc = spop_set_ssl_accept_server_cert_encoded(s, data, len);
		if (rc)
			return rc;
	}
	if (o->cert_store_type < 0)
		return 0;
	if ((rc = spop_set_ssl_cert_store_type(s, o->cert_store_type)) != 0 ||
	    (rc = spop_set_cert_store_type(s, o->cert_store_type)) != 0)
		return rc;
	if ((rc = spop_set_ssl_cert_store(s, o->cert, strlen(o->cert))) != 0 ||
	    (rc = spop_set_cert_store(s, o->cert, strlen(o->cert))) != 0)
		return rc;
	if (o->cert_password &&
	    ((rc = spop_set_ssl_cert_store_password(s, o->cert_password)) !=
		 0 ||
	     (rc = spop_set_cert_store_password(s, o->cert_password)) != 0))
		return rc;
	return 0;
}

/* Whether a --config names the setting, which then wins over the option
 * that sets it. */
static gboolean config_names(const struct probe_options *o, const char *name)
{
	size_t n = strlen(name);

	for (char **c = o->config; c && *c; c++)
		if (!g_ascii_strncasecmp(*c, name, n) && (*c)[n] == '=')
			return TRUE;
	return FALSE;
}

/* Chooses the certificate of --cert: --cert-subject, or the first
 * certificate with a private key; for the TLS client (SSLCertSubject) on a
 * connection, and for decryption (CertSubject) with --decrypt. And the
 * certificate of --signer-cert. */
static gboolean set_cert_subject(const struct probe_options *o,
				 struct probe_result *r, spop_t *s)
{
	const char *subject = o->cert_subject ? o->cert_subject : "*";
	int rc = 0;

	if (o->cert_store_type >= 0 && o->server &&
	    !config_names(o, "SSLCertSubject"))
		rc = spop_set_ssl_cert_subject(s, subject);
	if (!rc && o->cert_store_type >= 0 && o->decrypt &&
	    !config_names(o, "CertSubject"))
		rc = spop_set_cert_subject(s, subject);
	/* --signer-cert holds certificates, maybe no key: the first one. */
	if (!rc && o->signer_store_type >= 0 &&
	    !config_names(o, "SignerCertSubject"))
		rc = spop_set_signer_cert_subject(s, "*");
	if (!rc)
		return TRUE;
	probe_library_error(r, s, rc);
	return FALSE;
}

static void on_cert(const struct spop_cert_info *info, void *ud)
{
	struct probe_result *r = ud;
	struct probe_cert *c;

	/* Every member read here is in the first version of the struct;
	 * a shorter one is not a library this probe was built for. */
	if (info->size <
	    G_STRUCT_OFFSET(struct spop_cert_info, has_private_key) +
		sizeof(info->has_private_key))
		return;
	c = g_new0(struct probe_cert, 1);
	c->subject = g_strdup(info->subject);
	c->issuer = g_strdup(info->issuer);
	c->serial = g_strdup(info->serial_number);
	c->has_key = info->has_private_key != 0;
	g_ptr_array_add(r->certs, c);
}

/* --list-certs: what the --cert store holds, read by the library without
 * connecting. False when the store could not be read. */
static gboolean list_certs(struct probe_result *r, spop_t *s)
{
	int rc;

	r->certs_listed = TRUE;
	rc = spop_list_certificates(s, "SSLCert", on_cert, r);
	if (!rc)
		return TRUE;
	r->certs_failed = TRUE;
	probe_library_error(r, s, rc);
	return FALSE;
}

/* --proxy: FirewallType first (it sets FirewallPort's default), then the
 * proxy's host, port and credentials. */
static int configure_proxy(const struct probe_options *o, spop_t *s)
{
	char port[16];
	int rc;

	if (!o->proxy_type)
		return 0;
	snprintf(port, sizeof(port), "%d", o->proxy_type);
	if ((rc = probe_config_set(s, "FirewallType", port)) ||
	    (rc = probe_config_set(s, "FirewallHost", o->proxy_host)))
		return rc;
	snprintf(port, sizeof(port), "%d", o->proxy_port);
	if ((rc = probe_config_set(s, "FirewallPort", port)))
		return rc;
	if (o->proxy_user &&
	    (rc = probe_config_set(s, "FirewallUser", o->proxy_user)))
		return rc;
	if (o->proxy_password &&
	    (rc = probe_config_set(s, "FirewallPassword", o->proxy_password)))
		return rc;
	return 0;
}

/* Everything that must hold before the connection; false stops the run. */
static gboolean configure(const struct probe_options *o, struct probe_result *r,
			  spop_t *s)
{
	int rc;

	if (o->server) {
		/* "*host": the proxy resolves the name (socks4a, socks5h) */
		char *server = o->proxy_remote_dns && *o->server != '*'
				   ? g_strconcat("*", o->server, NULL)
				   : g_strdup(o->server);

		rc = spop_set_mail_server(s, server);
		g_free(server);
		if (rc)
			goto failed;
	}
	if ((rc = configure_proxy(o, s)) != 0)
		goto failed;
	if (o->port != PROBE_UNSET &&
	    (rc = spop_set_mail_port(s, o->port)) != 0)
		goto failed;
	if (o->user && (rc = spop_set_user(s, o->user)) != 0)
		goto failed;
	if (o->password && (rc = spop_set_password(s, o->password)) != 0)
		goto failed;
	if ((rc = configure_tls(o, s)) != 0)
		goto failed;
	if (o->auth_mechanism >= 0) {
		rc = spop_set_auth_mechanism(s, o->auth_mechanism);
		if (rc)
			goto failed;
	} else {
		char *setting =
		    g_strdup_printf("AuthMechanismName=%s", o->auth);
		const char *v = spop_config(s, setting);

		g_free(setting);
		if (!v) {
			rc = spop_last_error_code(s);
			goto failed;
		}
	}
	/* --output promises the raw message; LocalFile, and the Transfer
	 * event a partial save is written from, hold only the body unless
	 * IncludeHeaders is on (the reference's default is off). */
	if (o->output && (rc = spop_set_include_headers(s, 1)) != 0)
		goto failed;
	if (o->max_lines != PROBE_UNSET &&
	    (rc = spop_set_max_lines(s, o->max_lines)) != 0)
		goto failed;
	if ((rc = probe_smime_configure(o, s)) != 0)
		goto failed;
	/* Last, so a setting given explicitly wins over the options above. */
	for (char **c = o->config; c && *c; c++) {
		if (!spop_config(s, *c)) {
			rc = spop_last_error_code(s);
			goto failed;
		}
	}
	return TRUE;

failed:
	probe_library_error(r, s, rc);
	return FALSE;
}

static gboolean make_output_dir(const struct probe_options *o,
				struct probe_result *r)
{
	char *msg;

	/* Messages are private mail: only the owner may read the folder. */
	if (g_mkdir_with_parents(o->output, 0700) == 0)
		return TRUE;
	msg = g_strdup_printf("cannot create output directory %s: %s",
			      o->output, g_strerror(errno));
	probe_add_error(r, SPOP_ERR_FILE, msg);
	g_free(msg);
	return FALSE;
}

static void collect_server(struct probe_result *r, spop_t *s)
{
	int n;

	r->greeting = probe_dup_or_null(spop_get_greeting(s));
	n = spop_get_capability_count(s);
	for (int i = 0; i < n; i++) {
		const char *cap = spop_get_capability(s, i);

		if (cap)
			g_ptr_array_add(r->capabilities, g_strdup(cap));
	}
}

/* A read-only Config value, or NULL when empty or unreadable. */
static char *config_get(spop_t *s, const char *name)
{
	return probe_dup_or_null(spop_config(s, name));
}

/* Which mechanism ran (auto chooses one), and whether it put a password
 * or token on the wire without TLS: the library allows that by default
 * (the reference's), the probe never lets it pass unsaid. */
static void collect_auth(struct probe_result *r, spop_t *s)
{
	/* (each Config answer lasts until the next Config call) */
	const char *sent = spop_config(s, "AuthPlaintextSent");

	r->auth_plaintext = sent && !strcmp(sent, "True");
	r->auth_used = config_get(s, "AuthMechanismUsed");
	if (r->auth_plaintext)
		fprintf(stderr,
			"spop-probe: warning: %s sent a reusable secret "
			"without TLS (use --tls, or --config "
			"AllowPlaintextAuth=False to forbid it)\n",
			r->auth_used ? r->auth_used : "the mechanism");
}

/* The provider plugin serving the effective SSLProvider (spop.h: Automatic
 * and Internal are gnutls, Platform openssl; Automatic means Platform when
 * UseInternalSecurityAPI is False, as the reference says). */
static const char *provider_name(spop_t *s)
{
	int provider = spop_get_ssl_provider(s);

	if (provider == SPOP_SSLP_AUTOMATIC) {
		const char *internal = spop_config(s, "UseInternalSecurityAPI");

		provider = internal && !g_ascii_strcasecmp(internal, "False")
			       ? SPOP_SSLP_PLATFORM
			       : SPOP_SSLP_INTERNAL;
	}
	return provider == SPOP_SSLP_PLATFORM ? "openssl" : "gnutls";
}

/* After the run: the library keeps the last session's values until the
 * next Connect. Read from the library rather than the options, so that
 * --config SSLStartMode=... is reported as truly as --tls. spop_config
 * clears the last error, so this runs once every error is recorded. */
static void collect_tls(struct probe_result *r, spop_t *s)
{
	struct probe_tls *t = &r->tls;

	t->enabled = spop_get_ssl_start_mode(s) != SPOP_SSL_NONE;
	if (!t->enabled)
		return;
	/* The plugin that ran the handshake, as the library says; before
	 * any handshake (a failure while choosing), the one the settings
	 * name. */
	t->provider = config_get(s, "SSLProviderName");
	if (!t->provider)
		t->provider = g_strdup(provider_name(s));
	t->version = config_get(s, "SSLNegotiatedVersion");
	t->cipher = config_get(s, "SSLNegotiatedCipherSuite");
}

static void list_messages(struct probe_result *r, spop_t *s)
{
	int rc;

	rc = spop_list_message_sizes(s);
	if (rc)
		probe_library_error(r, s, rc);
	rc = spop_list_message_uids(s);
	/* UIDL is optional (RFC 1939): a server without it still has a
	 * listing, with uid null; only a lost connection is a failure. */
	if (rc && !(rc == SPOP_ERR_PROTOCOL && spop_get_connected(s)))
		probe_library_error(r, s, rc);
}

/* --output with --headers-only or --max-lines: the library writes LocalFile
 * only for whole messages (the reference), so the probe saves what was
 * fetched itself, as curl -o saves a range. With IncludeHeaders on, the
 * Transfer event carries every line the server sent, headers included, so
 * the file is the TOP reply as the library's LocalFile would hold a RETR
 * reply: dot-unstuffed, CRLF line ends. Written under a temporary name and
 * renamed, so DIR/N.eml is never half-written. */
struct partial_file {
	FILE *file; /* NULL when no partial retrieval is under way */
	char *tmp_path;
	int error; /* errno of the first failed write */
};

static void on_partial_transfer(spop_t *s, const struct spop_transfer_event *e,
				void *ud)
{
	struct partial_file *pf = ud;

	if (!pf->file || pf->error)
		return;
	/* fwrite() need not set errno; a stale value must not be reported. */
	errno = 0;
	if ((e->text_len &&
	     fwrite(e->text, 1, e->text_len, pf->file) != e->text_len) ||
	    (e->eol && fwrite("\r\n", 1, 2, pf->file) != 2))
		pf->error = errno ? errno : EIO;
}

static gboolean partial_open(struct partial_file *pf, const char *path,
			     struct probe_result *r)
{
	char *dir = g_path_get_dirname(path);
	char *base = g_path_get_basename(path);
	char *msg;
	int fd;

	pf->tmp_path = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
	g_free(dir);
	g_free(base);
	pf->error = 0;
	/* The mode the library gives LocalFile; the folder is 0700. */
	fd = g_mkstemp_full(pf->tmp_path, O_WRONLY | O_CLOEXEC, 0644);
	if (fd >= 0 && (pf->file = fdopen(fd, "wb")) != NULL)
		return TRUE;
	msg = g_strdup_printf("cannot create %s: %s", pf->tmp_path,
			      g_strerror(errno));
	probe_add_error(r, SPOP_ERR_FILE, msg);
	g_free(msg);
	if (fd >= 0) {
		close(fd);
		unlink(pf->tmp_path);
	}
	g_clear_pointer(&pf->tmp_path, g_free);
	return FALSE;
}

/* Ends the partial retrieval: renames the file to path when ok and every
 * write succeeded, else removes it. TRUE when path was written. */
static gboolean partial_close(struct partial_file *pf, const char *path,
			      gboolean ok, struct probe_result *r)
{
	char *msg = NULL;

	if (!pf->file)
		return FALSE;
	if ((fflush(pf->file) != 0 || fsync(fileno(pf->file)) != 0) &&
	    !pf->error)
		pf->error = errno;
	if (fclose(pf->file) != 0 && !pf->error)
		pf->error = errno;
	pf->file = NULL;
	if (ok && pf->error)
		msg = g_strdup_printf("writing %s failed: %s", pf->tmp_path,
				      g_strerror(pf->error));
	else if (ok && rename(pf->tmp_path, path) != 0)
		msg = g_strdup_printf("cannot rename %s to %s: %s",
				      pf->tmp_path, path, g_strerror(errno));
	if (msg) {
		probe_add_error(r, SPOP_ERR_FILE, msg);
		g_free(msg);
		ok = FALSE;
	}
	if (!ok)
		unlink(pf->tmp_path);
	g_clear_pointer(&pf->tmp_path, g_free);
	return ok;
}

/* The message properties of what Retrieve (or spop_set_message) loaded,
 * before an S/MIME method replaces them. */
void probe_message_collect(struct probe_message *m, spop_t *s)
{
	m->retrieved = TRUE;
	m->from = probe_dup_or_null(spop_get_message_from(s));
	m->to = probe_dup_or_null(spop_get_message_to(s));
	m->cc = probe_dup_or_null(spop_get_message_cc(s));
	m->subject = probe_dup_or_null(spop_get_message_subject(s));
	m->date = probe_dup_or_null(spop_get_message_date(s));
	m->is_signed = spop_get_message_signed(s) != 0;
	m->encrypted = spop_get_message_encrypted(s) != 0;
}

static gboolean partial_retrieval(const struct probe_options *o)
{
	return o->headers_only ||
	       (o->max_lines != PROBE_UNSET && o->max_lines > 0);
}

/* DIR/N.eml, where --output keeps message N. */
static char *message_path(const struct probe_options *o, int number)
{
	char *name = g_strdup_printf("%d.eml", number);
	char *path = g_build_filename(o->output, name, NULL);

	g_free(name);
	return path;
}

/* What arrived for m: its properties, the UID and size where the listing
 * lacked them, and *path (taken) if a file was written there. */
static void record_arrival(struct probe_message *m, spop_t *s, const char *uid,
			   int64_t size, char **path)
{
	probe_message_collect(m, s);
	if (!m->uid)
		m->uid = probe_dup_or_null(uid);
	if (m->size < 0)
		m->size = size;
	if (*path && g_file_test(*path, G_FILE_TEST_IS_REGULAR)) {
		g_free(m->file);
		m->file = g_steal_pointer(path);
	}
	g_clear_pointer(path, g_free);
}

static void retrieve_one(const struct probe_options *o, struct probe_result *r,
			 spop_t *s, int number, struct partial_file *pf)
{
	struct probe_message *m;
	char *path = NULL;
	int rc;

	rc = spop_set_message_number(s, number);
	if (rc)
		goto failed;
	/* Only now: a number the server does not have gets no row. */
	m = probe_message_for(r, number);
	if (o->output) {
		path = message_path(o, number);
		if (partial_retrieval(o)) {
			if (!partial_open(pf, path, r)) {
				g_free(path);
				return;
			}
		} else {
			rc = spop_set_local_file(s, path);
			if (rc)
				goto failed;
		}
	}
	rc = o->headers_only ? spop_retrieve_headers(s) : spop_retrieve(s);
	if (pf->file && !partial_close(pf, path, rc == 0, r))
		g_clear_pointer(&path, g_free);
	if (rc)
		goto failed;

	record_arrival(m, s, NULL, -1, &path);
	/* Without --list the table would lack these; the getters ask the
	 * server (UIDL n, LIST n) for the selected message. */
	if (!m->uid)
		m->uid = probe_dup_or_null(spop_get_message_uid(s));
	if (m->size < 0)
		m->size = spop_get_message_size(s);
	if (probe_smime_wanted(o))
		probe_smime_message(o, r, s, m);
	return;

failed:
	probe_library_error(r, s, rc);
	g_free(path);
}

/* The batch path: prepare names the file of each message, done records
 * what arrived, deleted what the server deleted. */
struct batch_ctx {
	const struct probe_options *o;
	struct probe_result *r;
	struct partial_file *pf;
	char *path;   /* DIR/N.eml of the message under way */
	int reported; /* per-message errors already in r */
};

static int batch_prepare(spop_t *s, const struct spop_batch_item *item,
			 void *ud)
{
	struct batch_ctx *c = ud;

	probe_message_for(c->r, item->message_number);
	if (!c->o->output)
		return 0;
	g_free(c->path);
	c->path = message_path(c->o, item->message_number);
	/* A file already there may be a message an earlier --delete all
	 * stored and deleted from the server (numbers start at 1 again):
	 * writing over it would lose that one. The batch stops; this
	 * message and the rest stay on the server. */
	if (c->o->delete_number == PROBE_ALL &&
	    g_file_test(c->path, G_FILE_TEST_EXISTS)) {
		char *why = g_strdup_printf(
		    "%s exists: --delete all does not write over a file (it "
		    "may hold a message an earlier run deleted); messages "
		    "from %d on stay on the server",
		    c->path, item->message_number);

		probe_add_error(c->r, SPOP_ERR_FILE, why);
		g_free(why);
		c->reported++;
		return SPOP_ERR_FILE;
	}
	if (partial_retrieval(c->o)) {
		/* A folder that refuses one file refuses the next: the batch
		 * stops rather than fetching what cannot be kept. */
		if (!partial_open(c->pf, c->path, c->r)) {
			c->reported++;
			return SPOP_ERR_FILE;
		}
		return 0;
	}
	return spop_set_local_file(s, c->path);
}

static int batch_done(spop_t *s, const struct spop_batch_item *item, void *ud)
{
	struct batch_ctx *c = ud;
	struct probe_message *m = probe_message_for(c->r, item->message_number);

	if (c->pf->file &&
	    !partial_close(c->pf, c->path, item->result == 0, c->r))
		g_clear_pointer(&c->path, g_free);
	if (item->result) {
		probe_add_error(c->r, item->result, item->error);
		c->reported++;
		g_clear_pointer(&c->path, g_free);
		return 0;
	}
	record_arrival(m, s, item->message_uid, item->message_size, &c->path);
	return 0;
}

static int batch_deleted(spop_t *s, const struct spop_batch_item *item,
			 void *ud)
{
	struct batch_ctx *c = ud;

	(void)s;
	if (item->result) {
		probe_add_error(c->r, item->result, item->error);
		c->reported++;
	} else {
		probe_message_for(c->r, item->message_number)->deleted = TRUE;
	}
	return 0;
}

/* What the listing at Connect did not say (a server without PIPELINING):
 * asked per message, outside the batch, as Retrieve's getters do. */
static void fill_uids_and_sizes(struct probe_result *r, spop_t *s)
{
	for (guint i = 0; i < r->messages->len; i++) {
		struct probe_message *m = r->messages->pdata[i];

		if (!m->retrieved || (m->uid && m->size >= 0) ||
		    spop_set_message_number(s, m->number))
			continue;
		if (!m->uid)
			m->uid = probe_dup_or_null(spop_get_message_uid(s));
		if (m->size < 0)
			m->size = spop_get_message_size(s);
	}
}

/* --retrieve through spop_retrieve_batch: one call, pipelined when the
 * server can. */
static void retrieve_batch(const struct probe_options *o,
			   struct probe_result *r, spop_t *s,
			   struct partial_file *pf)
{
	struct batch_ctx c = {.o = o, .r = r, .pf = pf};
	struct spop_batch b = {
	    .headers_only = o->headers_only,
	    .delete_after = o->delete_number == PROBE_ALL,
	    .prepare = batch_prepare,
	    .done = batch_done,
	    .deleted = batch_deleted,
	    .user_data = &c,
	};
	int rc;

	if (o->retrieve_number > 0) {
		b.first = o->retrieve_number;
		b.last = o->retrieve_number;
	}
	rc = spop_retrieve_batch(s, &b);
	/* Per-message failures were reported as they came; what is left is
	 * a failure of the whole batch (the connection, the arguments). */
	if (rc && (!c.reported || !spop_get_connected(s)))
		probe_library_error(r, s, rc);
	if (c.pf->file)
		partial_close(c.pf, c.path, FALSE, r);
	g_free(c.path);
	if (spop_get_connected(s))
		fill_uids_and_sizes(r, s);
}

static void retrieve_messages(const struct probe_options *o,
			      struct probe_result *r, spop_t *s)
{
	struct partial_file pf = {0};

	if (o->output && partial_retrieval(o))
		spop_on_transfer(s, on_partial_transfer, &pf);
	if (!probe_smime_wanted(o)) {
		retrieve_batch(o, r, s, &pf);
	} else if (o->retrieve_number > 0) {
		retrieve_one(o, r, s, o->retrieve_number, &pf);
	} else {
		/* S/MIME methods run between retrievals, so one at a time.
		 * Every message's size and UID in two round trips, not two
		 * per message (the library keeps what LIST and UIDL said). */
		if (!o->list && r->count > 1)
			list_messages(r, s);
		for (int n = 1; n <= r->count; n++)
			retrieve_one(o, r, s, n, &pf);
	}
	spop_on_transfer(s, NULL, NULL);
}

static void delete_message(const struct probe_options *o,
			   struct probe_result *r, spop_t *s)
{
	int rc;

	rc = spop_set_message_number(s, o->delete_number);
	if (!rc)
		rc = spop_delete(s);
	if (rc) {
		probe_library_error(r, s, rc);
		return;
	}
	r->deleted = o->delete_number;
}

void probe_run(const struct probe_options *o, struct probe_result *r)
{
	struct server_auth sa = {.r = r, .o = o};
	spop_t *s;
	int rc;

	s = spop_new();
	if (!s) {
		probe_add_error(r, SPOP_ERR_INVALID_ARGUMENT,
				"cannot create a libspop object");
		return;
	}
	if (o->trail) {
		spop_on_pitrail(s, on_pitrail, NULL);
		spop_on_ssl_status(s, on_ssl_status, NULL);
	}
	spop_on_message_list(s, on_message_list, r);
	spop_on_ssl_server_authentication(s, on_server_authentication, &sa);

	if (!configure(o, r, s))
		goto out;
	if (o->list_plugins) {
		r->plugins_listed = TRUE;
		rc = spop_list_plugins(s, on_plugin, r);
		if (!rc)
			rc = spop_list_settings(s, on_setting, r);
		if (rc)
			probe_library_error(r, s, rc);
	}
	/* A store that cannot be read would fail the connection with the
	 * same error: it is reported once. */
	if (o->list_certs && !list_certs(r, s))
		goto out;
	if (!o->server && !o->smime_file)
		goto out;
	if (!set_cert_subject(o, r, s))
		goto out;
	if (o->output && !make_output_dir(o, r))
		goto out;
	if (o->smime_file) {
		probe_smime_file(o, r, s);
		goto out;
	}

	rc = spop_connect(s);
	/* The greeting and CAPA may be known even when the login failed. */
	collect_server(r, s);
	if (rc)
		probe_library_error(r, s, rc);
	/* after the error is taken: Config calls reset it */
	collect_auth(r, s);
	if (rc)
		goto out;
	r->auth_ok = TRUE;
	r->have_mailbox = TRUE;
	r->count = spop_get_message_count(s);
	r->total_size = spop_get_total_size(s);

	if (o->list)
		list_messages(r, s);
	if (o->retrieve_number)
		retrieve_messages(o, r, s);
	if (o->delete_number > 0)
		delete_message(o, r, s);
	/* QUIT is what commits a deletion, so its failure matters. */
	rc = spop_disconnect(s);
	if (rc)
		probe_library_error(r, s, rc);

out:
	if (o->server)
		collect_tls(r, s);
	g_ptr_array_sort(r->messages, by_number);
	spop_free(s);
}
