/* spop-probe's output: the JSON object of the command-line contract
 * (DESIGN.md), or a report for people. Both print everything the run
 * learnt, also when it failed part way. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "probe.h"

/* ---- JSON -------------------------------------------------------------- */

static void add_string(JsonBuilder *b, const char *key, const char *value)
{
	json_builder_set_member_name(b, key);
	if (value)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

static void add_int(JsonBuilder *b, const char *key, gint64 value)
{
	json_builder_set_member_name(b, key);
	json_builder_add_int_value(b, value);
}

static void add_bool(JsonBuilder *b, const char *key, gboolean value)
{
	json_builder_set_member_name(b, key);
	json_builder_add_boolean_value(b, value);
}

static void add_null(JsonBuilder *b, const char *key)
{
	json_builder_set_member_name(b, key);
	json_builder_add_null_value(b);
}

static void json_server(JsonBuilder *b, const struct probe_options *o,
			const struct probe_result *r)
{
	const struct probe_tls *t = &r->tls;

	json_builder_set_member_name(b, "server");
	json_builder_begin_object(b);
	add_string(b, "greeting", r->greeting);
	json_builder_set_member_name(b, "capabilities");
	json_builder_begin_array(b);
	for (guint i = 0; i < r->capabilities->len; i++)
		json_builder_add_string_value(b, r->capabilities->pdata[i]);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "tls");
	json_builder_begin_object(b);
	add_string(b, "provider", t->provider);
	add_string(b, "version", t->version);
	add_string(b, "cipher", t->cipher);
	add_string(b, "cert_subject", t->cert_subject);
	add_string(b, "cert_issuer", t->cert_issuer);
	add_bool(b, "verified", t->verified);
	/* "none": no TLS asked for; null: asked for, but no certificate
	 * was judged (the connection or handshake failed before). */
	if (!t->enabled)
		add_string(b, "status", "none");
	else
		add_string(b, "status", t->status);
	json_builder_end_object(b);
	/* null: a direct connection */
	if (o->proxy_type) {
		json_builder_set_member_name(b, "proxy");
		json_builder_begin_object(b);
		add_string(b, "type", o->proxy_scheme);
		add_string(b, "host", o->proxy_host);
		add_int(b, "port", o->proxy_port);
		json_builder_end_object(b);
	} else {
		add_null(b, "proxy");
	}
	json_builder_end_object(b);
}

/* A verdict: true, false, or null when its step was not attempted. */
static void add_verdict(JsonBuilder *b, const char *key, int value)
{
	if (value == PROBE_NA)
		add_null(b, key);
	else
		add_bool(b, key, value != 0);
}

static void json_smime(JsonBuilder *b, const struct probe_smime *sm)
{
	json_builder_set_member_name(b, "smime");
	if (!sm) {
		json_builder_add_null_value(b);
		return;
	}
	json_builder_begin_object(b);
	add_string(b, "engine", sm->engine);
	add_verdict(b, "decrypted", sm->decrypted);
	add_verdict(b, "verified", sm->verified);
	add_verdict(b, "trusted", sm->trusted);
	add_string(b, "signer_subject", sm->signer_subject);
	add_string(b, "signer_issuer", sm->signer_issuer);
	add_string(b, "signer_serial", sm->signer_serial);
	add_string(b, "algorithm", sm->algorithm);
	add_string(b, "signed_part", sm->signed_part);
	add_verdict(b, "from_matches", sm->from_matches);
	add_string(b, "file", sm->file);
	json_builder_set_member_name(b, "error");
	if (sm->error) {
		json_builder_begin_object(b);
		add_int(b, "code", sm->error->code);
		add_string(b, "message", sm->error->message);
		json_builder_end_object(b);
	} else {
		json_builder_add_null_value(b);
	}
	/* Beyond the contract's members (it allows more). */
	add_string(b, "layers", sm->layers);
	add_string(b, "cipher", sm->cipher);
	json_builder_set_member_name(b, "signers");
	json_builder_begin_array(b);
	for (guint i = 0; i < sm->signers->len; i++) {
		const struct probe_signer *g = sm->signers->pdata[i];

		json_builder_begin_object(b);
		add_int(b, "layer", g->layer);
		add_string(b, "subject", g->subject);
		add_string(b, "issuer", g->issuer);
		add_string(b, "serial", g->serial);
		add_string(b, "emails", g->emails);
		add_string(b, "algorithm", g->algorithm);
		add_bool(b, "verified", g->signature_ok);
		add_bool(b, "trusted", g->trusted);
		add_bool(b, "from_matches", g->from_matches);
		json_builder_set_member_name(b, "trust_failures");
		json_builder_begin_array(b);
		for (size_t j = 0; j < probe_trust_failure_count; j++)
			if (g->trust_failures & probe_trust_failures[j].bit)
				json_builder_add_string_value(
				    b, probe_trust_failures[j].name);
		json_builder_end_array(b);
		add_string(b, "status", g->status);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "warnings");
	json_builder_begin_array(b);
	for (guint i = 0; i < sm->warnings->len; i++)
		json_builder_add_string_value(b, sm->warnings->pdata[i]);
	json_builder_end_array(b);
	json_builder_end_object(b);
}

static void json_message(JsonBuilder *b, const struct probe_message *m)
{
	json_builder_begin_object(b);
	add_int(b, "number", m->number);
	add_string(b, "uid", m->uid);
	if (m->size >= 0)
		add_int(b, "size", m->size);
	else
		add_null(b, "size");
	add_string(b, "from", m->from);
	add_string(b, "to", m->to);
	add_string(b, "cc", m->cc);
	add_string(b, "subject", m->subject);
	add_string(b, "date", m->date);
	/* Unknown for a message that was only listed, not false. */
	if (m->retrieved) {
		add_bool(b, "signed", m->is_signed);
		add_bool(b, "encrypted", m->encrypted);
	} else {
		add_null(b, "signed");
		add_null(b, "encrypted");
	}
	add_string(b, "file", m->file);
	add_bool(b, "deleted", m->deleted);
	json_smime(b, m->smime);
	json_builder_end_object(b);
}

static void json_plugins(JsonBuilder *b, const struct probe_result *r)
{
	json_builder_set_member_name(b, "plugins");
	json_builder_begin_array(b);
	for (guint i = 0; i < r->plugins->len; i++) {
		const struct probe_plugin *pl = r->plugins->pdata[i];

		json_builder_begin_object(b);
		add_string(b, "kind", pl->kind);
		add_string(b, "name", pl->name);
		add_string(b, "version", pl->version);
		add_string(b, "description", pl->description);
		add_string(b, "path", pl->path);
		add_string(b, "error", pl->error);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

static void json_certs(JsonBuilder *b, const struct probe_result *r)
{
	json_builder_set_member_name(b, "certificates");
	json_builder_begin_array(b);
	for (guint i = 0; i < r->certs->len; i++) {
		const struct probe_cert *c = r->certs->pdata[i];

		json_builder_begin_object(b);
		add_string(b, "subject", c->subject);
		add_string(b, "issuer", c->issuer);
		add_string(b, "serial", c->serial);
		add_bool(b, "has_key", c->has_key);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

static void json_error(JsonBuilder *b, const struct probe_result *r)
{
	const struct probe_error *e;

	json_builder_set_member_name(b, "error");
	if (!r->errors->len) {
		json_builder_add_null_value(b);
		return;
	}
	e = r->errors->pdata[0];
	json_builder_begin_object(b);
	add_int(b, "code", e->code);
	add_string(b, "message", e->message);
	json_builder_end_object(b);
}

void probe_report_json(const struct probe_options *o,
		       const struct probe_result *r)
{
	JsonBuilder *b = json_builder_new();
	JsonGenerator *gen;
	JsonNode *root;
	char *text;

	json_builder_begin_object(b);
	/* --list-plugins alone talks to no server: a server, auth and
	 * mailbox section would only claim what never happened. */
	if (o->server) {
		json_server(b, o, r);
		json_builder_set_member_name(b, "auth");
		json_builder_begin_object(b);
		add_string(b, "mechanism",
			   r->auth_used ? r->auth_used : o->auth_name);
		add_bool(b, "ok", r->auth_ok);
		add_bool(b, "plaintext_without_tls", r->auth_plaintext);
		json_builder_end_object(b);
		json_builder_set_member_name(b, "mailbox");
		json_builder_begin_object(b);
		if (r->have_mailbox) {
			add_int(b, "count", r->count);
			add_int(b, "total_size", r->total_size);
		} else {
			add_null(b, "count");
			add_null(b, "total_size");
		}
		json_builder_end_object(b);
		json_builder_set_member_name(b, "messages");
		json_builder_begin_array(b);
		for (guint i = 0; i < r->messages->len; i++)
			json_message(b, r->messages->pdata[i]);
		json_builder_end_array(b);
		json_builder_set_member_name(b, "deleted");
		if (r->deleted)
			json_builder_add_int_value(b, r->deleted);
		else
			json_builder_add_null_value(b);
	} else if (o->list_certs || o->smime_file) {
		/* The contract's members, none of them known: nothing was
		 * connected to. --smime-file's message is number 0. */
		add_null(b, "server");
		add_null(b, "auth");
		add_null(b, "mailbox");
		json_builder_set_member_name(b, "messages");
		json_builder_begin_array(b);
		for (guint i = 0; i < r->messages->len; i++)
			json_message(b, r->messages->pdata[i]);
		json_builder_end_array(b);
		add_null(b, "deleted");
	}
	if (r->plugins_listed)
		json_plugins(b, r);
	if (r->certs_listed)
		json_certs(b, r);
	json_error(b, r);
	json_builder_end_object(b);

	root = json_builder_get_root(b);
	gen = json_generator_new();
	json_generator_set_pretty(gen, TRUE);
	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, NULL);
	fputs(text, stdout);
	fputs("\n", stdout);
	g_free(text);
	json_node_unref(root);
	g_object_unref(gen);
	g_object_unref(b);
}

/* ---- text -------------------------------------------------------------- */

static const char *or_dash(const char *s)
{
	return s ? s : "-";
}

static void text_tls(const struct probe_tls *t)
{
	if (!t->enabled) {
		printf("tls          none\n");
		return;
	}
	printf("tls          %s", or_dash(t->provider));
	if (t->version)
		printf(", %s, %s", t->version, or_dash(t->cipher));
	else
		printf(", not established");
	printf("\n");
	if (!t->event_seen)
		return;
	printf("  subject    %s\n", or_dash(t->cert_subject));
	printf("  issuer     %s\n", or_dash(t->cert_issuer));
	printf("  verified   %s (%s)%s\n", t->verified ? "yes" : "no",
	       or_dash(t->status),
	       t->overridden ? ", accepted anyway (--insecure)" : "");
}

static const char *verdict(int value)
{
	return value == PROBE_NA ? "-" : value ? "yes" : "no";
}

/* One line with the verdicts, the signer, then every warning, so that a
 * signature that holds is never read without what qualifies it. */
static void text_smime(const struct probe_smime *sm)
{
	printf("  smime      %s: decrypted %s, verified %s, trusted %s, "
	       "from matches %s, signed part %s\n",
	       or_dash(sm->engine), verdict(sm->decrypted),
	       verdict(sm->verified), verdict(sm->trusted),
	       verdict(sm->from_matches),
	       !sm->signed_part	  ? "-"
	       : *sm->signed_part ? sm->signed_part
				  : "whole message");
	for (guint i = 0; i < sm->signers->len; i++) {
		const struct probe_signer *g = sm->signers->pdata[i];

		printf("  signer     %s (issuer %s, serial %s, %s): "
		       "signature %s, trusted %s, from matches %s (%s)\n",
		       or_dash(g->subject), or_dash(g->issuer),
		       or_dash(g->serial), or_dash(g->algorithm),
		       g->signature_ok ? "holds" : "FAILS",
		       g->trusted ? "yes" : "no",
		       g->from_matches ? "yes" : "no", or_dash(g->status));
	}
	if (sm->cipher)
		printf("  cipher     %s\n", sm->cipher);
	if (sm->file)
		printf("  unwrapped  %s\n", sm->file);
	for (guint i = 0; i < sm->warnings->len; i++)
		printf("  WARNING: %s\n", (const char *)sm->warnings->pdata[i]);
	if (sm->error)
		printf("  smime error %d: %s\n", sm->error->code,
		       sm->error->message);
}

static void text_message(const struct probe_message *m)
{
	printf("\nmessage %d\n", m->number);
	printf("  from       %s\n", or_dash(m->from));
	printf("  to         %s\n", or_dash(m->to));
	if (m->cc)
		printf("  cc         %s\n", m->cc);
	printf("  subject    %s\n", or_dash(m->subject));
	printf("  date       %s\n", or_dash(m->date));
	printf("  signed     %s\n", m->is_signed ? "yes" : "no");
	printf("  encrypted  %s\n", m->encrypted ? "yes" : "no");
	if (m->file)
		printf("  file       %s\n", m->file);
	if (m->deleted)
		printf("  deleted    yes (at disconnect)\n");
	if (m->smime)
		text_smime(m->smime);
}

static void text_messages(const struct probe_result *r)
{
	int uid_width = 3;

	if (!r->messages->len)
		return;
	for (guint i = 0; i < r->messages->len; i++) {
		const struct probe_message *m = r->messages->pdata[i];
		int w = m->uid ? (int)g_utf8_strlen(m->uid, -1) : 1;

		uid_width = MAX(uid_width, w);
	}
	printf("\n%6s  %-*s  %12s\n", "#", uid_width, "uid", "size");
	for (guint i = 0; i < r->messages->len; i++) {
		const struct probe_message *m = r->messages->pdata[i];
		char size[32];

		if (m->size >= 0)
			g_snprintf(size, sizeof(size), "%" PRId64, m->size);
		else
			g_strlcpy(size, "-", sizeof(size));
		printf("%6d  %-*s  %12s\n", m->number, uid_width,
		       or_dash(m->uid), size);
	}
	for (guint i = 0; i < r->messages->len; i++) {
		const struct probe_message *m = r->messages->pdata[i];

		if (m->retrieved)
			text_message(m);
	}
}

static void text_plugins(const struct probe_result *r)
{
	printf("plugins      %u found\n", r->plugins->len);
	for (guint i = 0; i < r->plugins->len; i++) {
		const struct probe_plugin *pl = r->plugins->pdata[i];

		printf("  %-10s %-12s %-8s %s\n", or_dash(pl->kind),
		       or_dash(pl->name), or_dash(pl->version),
		       or_dash(pl->description));
		printf("  %-10s %s\n", "", or_dash(pl->path));
		if (pl->error)
			printf("  %-10s error: %s\n", "", pl->error);
		/* Text only: the JSON plugin object's members are pinned by
		 * tests/probe; adding "settings" there is a contract change. */
		for (guint j = 0; j < pl->settings->len; j++) {
			const struct probe_setting *st = pl->settings->pdata[j];

			printf("  %-10s setting %s (%s%s, default '%s'", "",
			       st->name, st->type, st->secret ? ", secret" : "",
			       st->default_value);
			if (!strcmp(st->type, "int"))
				printf(", %" G_GINT64_FORMAT
				       " to %" G_GINT64_FORMAT,
				       st->min, st->max);
			printf(") %s\n", st->description);
		}
	}
}

static void text_certs(const struct probe_options *o,
		       const struct probe_result *r)
{
	if (r->certs_failed && !r->certs->len)
		printf("certificates - (%s could not be read)\n", o->cert);
	else
		printf("certificates %u in %s\n", r->certs->len, o->cert);
	for (guint i = 0; i < r->certs->len; i++) {
		const struct probe_cert *c = r->certs->pdata[i];

		printf("\ncertificate %u\n", i + 1);
		printf("  subject    %s\n", or_dash(c->subject));
		printf("  issuer     %s\n", or_dash(c->issuer));
		printf("  serial     %s\n", or_dash(c->serial));
		printf("  has key    %s\n", c->has_key ? "yes" : "no");
	}
	if (o->server)
		printf("\n");
}

void probe_report_text(const struct probe_options *o,
		       const struct probe_result *r)
{
	if (r->plugins_listed)
		text_plugins(r);
	if (r->certs_listed)
		text_certs(o, r);
	if (o->server) {
		printf("server       %s\n", o->server);
		printf("greeting     %s\n", or_dash(r->greeting));
		printf("capabilities");
		if (!r->capabilities->len)
			printf(" -");
		for (guint i = 0; i < r->capabilities->len; i++)
			printf("%s%s\n", i ? "             " : " ",
			       (const char *)r->capabilities->pdata[i]);
		if (!r->capabilities->len)
			printf("\n");
		text_tls(&r->tls);
		if (o->proxy_type)
			printf("proxy        %s %s:%d\n", o->proxy_scheme,
			       o->proxy_host, o->proxy_port);
		printf("auth         %s, %s\n",
		       r->auth_used ? r->auth_used : o->auth_name,
		       r->auth_ok ? "ok" : "failed");
		if (r->auth_plaintext)
			printf("  WARNING: the secret went over the network "
			       "without TLS\n");
		if (r->have_mailbox)
			printf("mailbox      %d messages, %" PRId64 " bytes\n",
			       r->count, r->total_size);
		text_messages(r);
		if (r->deleted)
			printf("\ndeleted message %d\n", r->deleted);
	} else if (o->smime_file) {
		for (guint i = 0; i < r->messages->len; i++)
			text_message(r->messages->pdata[i]);
	}
	if (r->errors->len)
		printf("\n");
	for (guint i = 0; i < r->errors->len; i++) {
		const struct probe_error *e = r->errors->pdata[i];

		printf("error %d: %s\n", e->code, e->message);
	}
}
