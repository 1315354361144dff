/* spop-probe's S/MIME side: --decrypt, --verify and --smime-file run the
 * library's Decrypt, VerifySignature or DecryptAndVerifySignature on a
 * message and record its verdicts (the JSON "smime" object, DESIGN.md), so
 * that a signature is reported with everything that qualifies it: trust,
 * the part it covers and whether the signer is the sender. */
#include <stdarg.h>
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include <spop/spop.h>

#include "probe.h"

enum method {
	METHOD_DECRYPT,
	METHOD_VERIFY,
	METHOD_BOTH,
};

static enum method method_of(const struct probe_options *o)
{
	if (o->decrypt && o->verify)
		return METHOD_BOTH;
	return o->decrypt ? METHOD_DECRYPT : METHOD_VERIFY;
}

gboolean probe_smime_wanted(const struct probe_options *o)
{
	return o->decrypt || o->verify;
}

static void signer_free(gpointer p)
{
	struct probe_signer *g = p;

	g_free(g->subject);
	g_free(g->issuer);
	g_free(g->serial);
	g_free(g->emails);
	g_free(g->algorithm);
	g_free(g->status);
	g_free(g);
}

void probe_smime_free(struct probe_smime *sm)
{
	if (!sm)
		return;
	g_ptr_array_unref(sm->signers);
	g_free(sm->engine);
	g_free(sm->layers);
	g_free(sm->signer_subject);
	g_free(sm->signer_issuer);
	g_free(sm->signer_serial);
	g_free(sm->algorithm);
	g_free(sm->cipher);
	g_free(sm->signed_part);
	g_free(sm->file);
	g_ptr_array_unref(sm->warnings);
	if (sm->error) {
		g_free(sm->error->message);
		g_free(sm->error);
	}
	g_free(sm);
}

/* The S/MIME options as the library's settings; only those given are set,
 * so a run without them leaves the library's defaults alone. --config,
 * applied after this, wins. SignerCertSubject is chosen later, with the
 * other subjects (session.c). */
int probe_smime_configure(const struct probe_options *o, spop_t *s)
{
	int rc = 0;

	if (o->smime_engine &&
	    (rc = probe_config_set(s, "SMIMEEngine", o->smime_engine)))
		return rc;
	if (o->allow_weak &&
	    (rc = probe_config_set(s, "SMIMEAllowWeakDigests", "True")))
		return rc;
	if (o->smime_ca &&
	    (rc = probe_config_set(s, "SMIMETrustedCerts", o->smime_ca)))
		return rc;
	if (o->smime_crl &&
	    (rc = probe_config_set(s, "SMIMECRLFile", o->smime_crl)))
		return rc;
	if (o->signer_store_type < 0)
		return 0;
	if ((rc = spop_set_signer_cert_store_type(s, o->signer_store_type)))
		return rc;
	return spop_set_signer_cert_store(s, o->signer_cert,
					  strlen(o->signer_cert));
}

/* ---- S/MIME entities below the top level -------------------------------- */

/* MessageSigned and MessageEncrypted judge the top-level Content-Type only;
 * the library's methods look for the S/MIME entity depth-first. A signed
 * part inside an unsigned multipart is how the published signature
 * spoofs start, so the probe looks inside multiparts too, rather than
 * skip such a message as unsigned. */
struct nested {
	gboolean is_signed;
	gboolean encrypted;
};

static gboolean is_pkcs7_signature(const char *protocol)
{
	return protocol &&
	       (!g_ascii_strcasecmp(protocol, "application/pkcs7-signature") ||
		!g_ascii_strcasecmp(protocol, "application/x-pkcs7-signature"));
}

static void on_part(GMimeObject *parent, GMimeObject *part, gpointer ud)
{
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	struct nested *n = ud;
	const char *v;

	if (!ct)
		return;
	if (g_mime_content_type_is_type(ct, "multipart", "signed")) {
		if (is_pkcs7_signature(
			g_mime_content_type_get_parameter(ct, "protocol")))
			n->is_signed = TRUE;
	} else if (g_mime_content_type_is_type(ct, "application",
					       "pkcs7-mime") ||
		   g_mime_content_type_is_type(ct, "application",
					       "x-pkcs7-mime")) {
		/* Without smime-type (agents before RFC 2633) it is most
		 * likely enveloped; the library decides. */
		v = g_mime_content_type_get_parameter(ct, "smime-type");
		if (v && !g_ascii_strcasecmp(v, "signed-data"))
			n->is_signed = TRUE;
		else
			n->encrypted = TRUE;
	}
}

static gboolean top_is_multipart(spop_t *s)
{
	int n = spop_get_message_header_count(s);

	for (int i = 0; i < n; i++) {
		const char *field = spop_get_message_header_field(s, i);
		const char *value = spop_get_message_header_value(s, i);

		if (field && value &&
		    !g_ascii_strcasecmp(field, "Content-Type"))
			return !g_ascii_strncasecmp(
			    value + strspn(value, " \t"), "multipart/", 10);
	}
	return FALSE;
}

static void find_nested(spop_t *s, struct nested *n)
{
	static gsize gmime_ready;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;
	const char *data;
	size_t len;

	if (!top_is_multipart(s) || spop_get_message(s, &data, &len) || !len)
		return;
	if (g_once_init_enter(&gmime_ready)) {
		g_mime_init();
		g_once_init_leave(&gmime_ready, 1);
	}
	stream = g_mime_stream_mem_new_with_buffer(data, len);
	parser = g_mime_parser_new_with_stream(stream);
	msg = g_mime_parser_construct_message(parser, NULL);
	if (msg) {
		g_mime_message_foreach(msg, on_part, n);
		g_object_unref(msg);
	}
	g_object_unref(parser);
	g_object_unref(stream);
}

/* ---- verdicts ----------------------------------------------------------- */

static gboolean has_layer(const char *layers, const char *layer)
{
	gboolean found = FALSE;
	char **v;

	if (!layers || !*layers)
		return FALSE;
	v = g_strsplit(layers, ",", -1);
	for (char **p = v; *p && !found; p++)
		found = !strcmp(g_strstrip(*p), layer);
	g_strfreev(v);
	return found;
}

static void warn(struct probe_smime *sm, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

static void warn(struct probe_smime *sm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(sm->warnings, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

const struct probe_trust_failure probe_trust_failures[] = {
    {SPOP_SMIME_TRUST_TIME, "expired", "expired or not yet valid"},
    {SPOP_SMIME_TRUST_UNKNOWN_CA, "unknown-ca", "no path to a trust anchor"},
    {SPOP_SMIME_TRUST_USAGE, "usage", "not for signing mail"},
    {SPOP_SMIME_TRUST_REVOCATION, "revoked", "revoked"},
    {SPOP_SMIME_TRUST_INVALID, "invalid", "chain unreadable"},
};
const size_t probe_trust_failure_count = G_N_ELEMENTS(probe_trust_failures);

/* Why the signers are not trusted: each one's failure bits, or the
 * engine's words when no bit the probe knows explains it. */
static char *untrusted_reasons(const struct probe_smime *sm)
{
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < sm->signers->len; i++) {
		const struct probe_signer *g = sm->signers->pdata[i];
		const char *sep = " ";

		if (g->trusted)
			continue;
		if (out->len)
			g_string_append(out, "; ");
		g_string_append_printf(
		    out, "%s:", g->subject ? g->subject : "signer");
		for (size_t j = 0; j < probe_trust_failure_count; j++) {
			if (!(g->trust_failures & probe_trust_failures[j].bit))
				continue;
			g_string_append_printf(out, "%s%s", sep,
					       probe_trust_failures[j].text);
			sep = ", ";
		}
		if (!strcmp(sep, " "))
			g_string_append_printf(out, " %s",
					       g->status ? g->status
							 : "no reason given");
	}
	return g_string_free(out, FALSE);
}

/* The warnings a reader must see beside a signature that holds: each is a
 * published way to make a forged or misattributed mail look signed. */
static void add_warnings(struct probe_smime *sm, const char *from)
{
	if (sm->signed_part && *sm->signed_part)
		warn(sm,
		     "the signature covers only part %s, not the whole "
		     "message: the rest is unsigned",
		     sm->signed_part);
	if (sm->verified != 1)
		return;
	if (!sm->trusted) {
		char *why = untrusted_reasons(sm);

		if (*why)
			warn(sm,
			     "the signature holds, but the signer is not "
			     "trusted (%s)",
			     why);
		else
			warn(sm, "the signature holds, but the signer is not "
				 "trusted");
		g_free(why);
	}
	for (guint i = 0; !sm->from_matches && i < sm->signers->len; i++) {
		const struct probe_signer *g = sm->signers->pdata[i];

		if (!g->from_matches)
			warn(sm,
			     "the sender (From: %s) is not the signer %s, "
			     "whose certificate names %s",
			     from ? from : "none",
			     g->subject ? g->subject : "without a certificate",
			     g->emails ? g->emails : "no address");
	}
	if (sm->weak)
		warn(sm, "the signature uses a weak digest (MD5 or SHA-1), "
			 "accepted because of --allow-weak");
}

/* Writes the unwrapped message beside the raw one. */
static void save_unwrapped(const struct probe_options *o,
			   struct probe_result *r, spop_t *s,
			   struct probe_message *m)
{
	char *name = g_strdup_printf("%d.smime.eml", m->number);
	char *path = g_build_filename(o->output, name, NULL);
	GError *err = NULL;
	const char *data;
	size_t len;
	int rc;

	g_free(name);
	rc = spop_get_message(s, &data, &len);
	if (rc) {
		probe_library_error(r, s, rc);
	} else if (!g_file_set_contents(path, data, (gssize)len, &err)) {
		char *msg =
		    g_strdup_printf("cannot write %s: %s", path, err->message);

		probe_add_error(r, SPOP_ERR_FILE, msg);
		g_free(msg);
		g_error_free(err);
	} else {
		m->smime->file = path;
		path = NULL;
	}
	g_free(path);
}

/* A successful verification leaves its signer in SignerCert*, where the
 * next message without a certificate would be verified with it: each
 * message gets the SignerCert* the options gave (or none), whatever the
 * messages before it held. */
static int restore_signer(struct probe_result *r, spop_t *s)
{
	const char *data;
	size_t len;
	int rc;

	if (!r->smime_signer_saved) {
		rc = spop_get_signer_cert_encoded(s, &data, &len);
		if (rc)
			return rc;
		r->smime_signer = len ? g_bytes_new(data, len) : NULL;
		r->smime_signer_saved = TRUE;
		return 0;
	}
	if (!r->smime_signer)
		return spop_set_signer_cert_encoded(s, NULL, 0);
	data = g_bytes_get_data(r->smime_signer, &len);
	return spop_set_signer_cert_encoded(s, data, len);
}

static int call_method(spop_t *s, enum method method)
{
	switch (method) {
	case METHOD_DECRYPT: return spop_decrypt(s);
	case METHOD_VERIFY: return spop_verify_signature(s);
	default: return spop_decrypt_and_verify_signature(s);
	}
}

/* Every signer; the first one's also as the contract's signer_* members. */
static void collect_signers(struct probe_smime *sm, spop_t *s, int count)
{
	for (int i = 0; i < count; i++) {
		struct spop_smime_signer_info si = {.size = sizeof(si)};
		struct probe_signer *g;

		if (spop_get_smime_signer(s, i, &si))
			continue;
		g = g_new0(struct probe_signer, 1);
		g->layer = si.layer;
		g->signature_ok = si.signature_ok != 0;
		g->trusted = si.trusted != 0;
		g->from_matches = si.from_matches != 0;
		g->trust_failures = si.trust_failures;
		g->subject = probe_dup_or_null(si.subject);
		g->issuer = probe_dup_or_null(si.issuer);
		g->serial = probe_dup_or_null(si.serial_number);
		g->emails = probe_dup_or_null(si.emails);
		g->algorithm = probe_dup_or_null(si.digest_algorithm);
		g->status = probe_dup_or_null(si.status);
		g_ptr_array_add(sm->signers, g);
	}
	if (sm->signers->len) {
		const struct probe_signer *g = sm->signers->pdata[0];

		sm->signer_subject = g_strdup(g->subject);
		sm->signer_issuer = g_strdup(g->issuer);
		sm->signer_serial = g_strdup(g->serial);
		sm->algorithm = g_strdup(g->algorithm);
	}
}

/* Runs the method and records what it says. is_signed/encrypted: what
 * the message showed before (top level or inside). */
static void run_method(const struct probe_options *o, struct probe_result *r,
		       spop_t *s, struct probe_message *m, gboolean is_signed,
		       gboolean encrypted)
{
	struct spop_smime_status st = {.size = sizeof(st)};
	enum method method = method_of(o);
	struct probe_smime *sm;
	gboolean tried_decrypt, tried_verify;
	int rc;

	rc = restore_signer(r, s);
	if (!rc)
		rc = call_method(s, method);

	sm = g_new0(struct probe_smime, 1);
	m->smime = sm;
	sm->warnings = g_ptr_array_new_with_free_func(g_free);
	sm->signers = g_ptr_array_new_with_free_func(signer_free);
	if (rc) {
		const char *msg = spop_last_error(s);

		sm->error = g_new0(struct probe_error, 1);
		sm->error->code = rc;
		sm->error->message =
		    g_strdup(msg && *msg ? msg : spop_error_text(rc));
		probe_add_error(r, rc, sm->error->message);
	}
	if (spop_get_smime_status(s, &st)) {
		/* Nothing to report beside the method's own answer. */
		memset(&st, 0, sizeof(st));
	}
	sm->engine = probe_dup_or_null(st.engine);
	sm->layers = probe_dup_or_null(st.layers);
	/* A verdict is null when its step was not attempted: verified after
	 * a decryption alone, or inside an envelope that did not open. */
	tried_decrypt = method == METHOD_DECRYPT ||
			(method == METHOD_BOTH &&
			 (encrypted || has_layer(st.layers, "enveloped")));
	tried_verify =
	    method == METHOD_VERIFY ||
	    (method == METHOD_BOTH &&
	     (is_signed || !encrypted || has_layer(st.layers, "signed")));
	sm->decrypted = tried_decrypt ? st.decrypted != 0 : PROBE_NA;
	sm->verified = tried_verify ? st.verified != 0 : PROBE_NA;
	sm->trusted = tried_verify ? st.trusted != 0 : PROBE_NA;
	sm->from_matches = tried_verify ? st.from_matches != 0 : PROBE_NA;
	sm->weak = tried_verify && st.weak;
	if (tried_decrypt)
		sm->cipher = probe_dup_or_null(st.algorithm);
	if (tried_verify && st.signed_part)
		sm->signed_part = g_strdup(st.signed_part);
	if (tried_verify)
		collect_signers(sm, s, st.signer_count);
	if (tried_verify)
		add_warnings(sm, m->from);
	if (!rc && o->output)
		save_unwrapped(o, r, s, m);
}

/* After a Retrieve: the method when the message is S/MIME in the way the
 * options ask about. */
void probe_smime_message(const struct probe_options *o, struct probe_result *r,
			 spop_t *s, struct probe_message *m)
{
	struct nested n = {.is_signed = m->is_signed,
			   .encrypted = m->encrypted};
	gboolean run;

	if (!n.is_signed && !n.encrypted)
		find_nested(s, &n);
	switch (method_of(o)) {
	case METHOD_DECRYPT: run = n.encrypted; break;
	case METHOD_VERIFY: run = n.is_signed; break;
	default: run = n.encrypted || n.is_signed;
	}
	if (run)
		run_method(o, r, s, m, n.is_signed, n.encrypted);
}

/* --smime-file: the file as message 0, without a server. The method runs
 * whatever the file looks like: the user asked about this file, and the
 * library's answer (nothing to decrypt, no signature) is the one to give. */
void probe_smime_file(const struct probe_options *o, struct probe_result *r,
		      spop_t *s)
{
	struct probe_message *m;
	GError *err = NULL;
	char *data;
	gsize len;
	int rc;

	if (!g_file_get_contents(o->smime_file, &data, &len, &err)) {
		char *msg = g_strdup_printf("cannot read --smime-file: %s",
					    err->message);

		probe_add_error(r, SPOP_ERR_FILE, msg);
		g_free(msg);
		g_error_free(err);
		return;
	}
	rc = spop_set_message(s, data, len);
	g_free(data);
	if (rc) {
		probe_library_error(r, s, rc);
		return;
	}
	m = probe_message_for(r, 0);
	m->file = g_strdup(o->smime_file);
	m->size = (int64_t)len;
	probe_message_collect(m, s);
	run_method(o, r, s, m, m->is_signed, m->encrypted);
}
