/* Auth "gssapi" (AuthMechanism 6 amKerberos, SASL GSSAPI, RFC 4752) through
 * MIT krb5's GSS-API: the reference has Kerberos on Windows only; here it
 * works wherever a Kerberos ticket is in the default credential cache
 * (KRB5CCNAME, as kinit leaves it). No password is read: the ticket is the
 * credential, and nothing replayable goes on the wire. The server is
 * authenticated too (mutual authentication), and the login only stands
 * when it proved itself. The target is "pop@MailServer", the service name
 * of RFC 5034, as a host-based service: MIT's krb5.conf decides whether
 * the host name is canonicalised. */
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <stdio.h>
#include <string.h>

#include <spop/plugin.h>

/* RFC 4752 section 3.3: the security-layer bit masks. */
#define LAYER_NONE	 0x01
#define LAYER_TOKEN_LEN	 4
#define ERROR_TEXT_MAX	 768
#define SERVICE_NAME_MAX 300
#define AUTHZID_MAX	 1024

enum stage {
	STAGE_CONTEXT, /* establishing the security context */
	STAGE_LAYER,   /* context complete: the server's layer offer next */
	STAGE_DONE,    /* security layer answered */
};

struct gss {
	gss_ctx_id_t ctx;
	gss_name_t target;
	OM_uint32 flags; /* as gss_init_sec_context returned them */
	enum stage stage;
	char service[SERVICE_NAME_MAX];
};

/* gss_release_buffer through the library's own deallocator. MIT's frees
 * nothing when length is 0, yet gss_unwrap of an empty message hands out
 * a buffer of length 0 with memory behind it: counted as one byte here,
 * so that it is freed too. */
static void release(gss_buffer_t buffer)
{
	OM_uint32 minor;

	if (!buffer->length && buffer->value)
		buffer->length = 1;
	gss_release_buffer(&minor, buffer);
}

/* Appends the texts gss_display_status gives for one status code. */
static void append_status(char *buf, size_t size, OM_uint32 code, int type)
{
	OM_uint32 minor, more = 0;

	do {
		gss_buffer_desc text = GSS_C_EMPTY_BUFFER;
		size_t used = strlen(buf);

		if (GSS_ERROR(gss_display_status(&minor, code, type,
						 (gss_OID)gss_mech_krb5, &more,
						 &text)))
			break;
		if (used < size - 1)
			snprintf(buf + used, size - used, "%s%.*s",
				 used ? ": " : "", (int)text.length,
				 (const char *)text.value);
		release(&text);
	} while (more);
}

/* The library's reasons for a failed GSS-API call, major then minor,
 * plus what to do when that is plain (no ticket). */
static int gss_fail(struct spop_host *h, const struct gss *g, const char *what,
		    OM_uint32 major, OM_uint32 minor)
{
	char reason[ERROR_TEXT_MAX] = "";

	/* GSS_S_FAILURE's text only says to read the minor code's. */
	if (GSS_ROUTINE_ERROR(major) != GSS_S_FAILURE || !minor)
		append_status(reason, sizeof(reason), major, GSS_C_GSS_CODE);
	if (minor)
		append_status(reason, sizeof(reason), minor, GSS_C_MECH_CODE);
	return h->set_error(
	    h, SPOP_ERR_PROTOCOL, "GSSAPI: %s for service %s failed: %s%s",
	    what, g->service, reason,
	    GSS_ROUTINE_ERROR(major) == GSS_S_NO_CRED
		? " (no usable Kerberos ticket in the credential cache: run "
		  "kinit, or point KRB5CCNAME at a cache that has one)"
		: "");
}

/* Copies a GSS buffer into one the framework owns; an empty token is a
 * response of zero bytes, not none. */
static void hand_out(struct spop_host *h, gss_buffer_t token,
		     unsigned char **out, size_t *out_len)
{
	*out = h->alloc(h, token->length ? token->length : 1);
	if (token->length)
		memcpy(*out, token->value, token->length);
	*out_len = token->length;
}

/* One round of gss_init_sec_context: the first with no input token. */
static int context_step(struct spop_host *h, struct gss *g,
			const unsigned char *in, size_t in_len,
			unsigned char **out, size_t *out_len)
{
	gss_buffer_desc input = {in_len, (void *)in};
	gss_buffer_desc output = GSS_C_EMPTY_BUFFER;
	OM_uint32 major, minor;

	major = gss_init_sec_context(
	    &minor, GSS_C_NO_CREDENTIAL, &g->ctx, g->target,
	    (gss_OID)gss_mech_krb5, GSS_C_MUTUAL_FLAG | GSS_C_INTEG_FLAG, 0,
	    GSS_C_NO_CHANNEL_BINDINGS, in ? &input : GSS_C_NO_BUFFER, NULL,
	    &output, &g->flags, NULL);
	if (GSS_ERROR(major)) {
		release(&output);
		return gss_fail(h, g,
				in ? "checking the server's Kerberos reply"
				   : "getting a Kerberos ticket",
				major, minor);
	}
	if (major == GSS_S_COMPLETE) {
		/* RFC 4752 3.1: without mutual authentication the server has
		 * not proved who it is, and a layer offer could be anyone's. */
		if (!(g->flags & GSS_C_MUTUAL_FLAG)) {
			release(&output);
			return h->set_error(
			    h, SPOP_ERR_CERT_VERIFY,
			    "GSSAPI: the Kerberos context for service %s "
			    "completed without mutual authentication: the "
			    "server did not prove who it is.",
			    g->service);
		}
		g->stage = STAGE_LAYER;
	} else if (!output.length) {
		/* CONTINUE_NEEDED with nothing to send would stall. */
		release(&output);
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "GSSAPI: the Kerberos library asked for "
				    "another round with service %s but gave "
				    "no token to send.",
				    g->service);
	}
	hand_out(h, &output, out, out_len);
	release(&output);
	return 0;
}

static int gss_start(struct spop_host *h, void **state, unsigned char **out,
		     size_t *out_len)
{
	const char *server = h->setting(h, "MailServer");
	struct gss *g;
	OM_uint32 major, minor;

	*out = NULL;
	*out_len = 0;
	if (!server || !*server)
		return h->set_error(h, SPOP_ERR_NO_SERVER,
				    "GSSAPI: MailServer is empty: the Kerberos "
				    "service name is pop@MailServer.");
	if (strlen(server) + sizeof("pop@") > SERVICE_NAME_MAX)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "GSSAPI: MailServer is too long for a "
				    "Kerberos service name (%zu bytes).",
				    strlen(server));
	g = h->alloc(h, sizeof(*g));
	memset(g, 0, sizeof(*g));
	g->ctx = GSS_C_NO_CONTEXT;
	g->target = GSS_C_NO_NAME;
	g->stage = STAGE_CONTEXT;
	snprintf(g->service, sizeof(g->service), "pop@%s", server);
	*state = g;

	gss_buffer_desc name = {strlen(g->service), g->service};
	major = gss_import_name(&minor, &name, GSS_C_NT_HOSTBASED_SERVICE,
				&g->target);
	if (GSS_ERROR(major))
		return gss_fail(h, g, "importing the service name", major,
				minor);
	/* RFC 4752 3.1: the first context token is the initial response. */
	return context_step(h, g, NULL, 0, out, out_len);
}

/* RFC 4752 3.1, the last step: the server's wrapped 4 bytes offer
 * security layers and a maximum size; no layer is taken (TLS is this
 * library's protection), so the answer is "no layer", size 0 and the
 * authorization identity, wrapped with integrity only. */
static int layer_step(struct spop_host *h, struct gss *g,
		      const unsigned char *in, size_t in_len,
		      unsigned char **out, size_t *out_len)
{
	gss_buffer_desc input = {in_len, (void *)in};
	gss_buffer_desc plain = GSS_C_EMPTY_BUFFER;
	gss_buffer_desc wrapped = GSS_C_EMPTY_BUFFER;
	OM_uint32 major, minor;
	unsigned char offer;

	if (!in_len)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "GSSAPI: service %s sent an empty "
				    "security-layer challenge; RFC 4752 wants "
				    "a wrapped 4-byte offer.",
				    g->service);
	major = gss_unwrap(&minor, g->ctx, &input, &plain, NULL, NULL);
	if (GSS_ERROR(major))
		return gss_fail(h, g, "unwrapping the security-layer offer",
				major, minor);
	if (plain.length != LAYER_TOKEN_LEN) {
		size_t got = plain.length;
		release(&plain);
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "GSSAPI: the security-layer offer of "
				    "service %s is %zu bytes; RFC 4752 says 4.",
				    g->service, got);
	}
	offer = ((const unsigned char *)plain.value)[0];
	release(&plain);
	if (!(offer & LAYER_NONE))
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "GSSAPI: service %s does not offer "
				    "\"no security layer\" (offer 0x%02x); "
				    "integrity and privacy layers are not "
				    "supported (use TLS).",
				    g->service, offer);

	/* An empty AuthorizationIdentity stays empty: the server then takes
	 * the identity the ticket proved (RFC 4752 3.1, RFC 4422 3.4.1).
	 * User is not sent in its place: the ticket, not User, says who
	 * logs in, and an authzid asks to act as someone, which a server
	 * checks against the principal (krb5_kuserok) and may refuse. */
	const char *authzid = h->setting(h, "AuthorizationIdentity");
	size_t zlen = authzid ? strlen(authzid) : 0;
	if (zlen > AUTHZID_MAX)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "GSSAPI: AuthorizationIdentity is too long "
				    "(%zu bytes, at most %d).",
				    zlen, AUTHZID_MAX);
	unsigned char reply[LAYER_TOKEN_LEN + AUTHZID_MAX];
	reply[0] = LAYER_NONE;
	reply[1] = reply[2] = reply[3] = 0; /* no layer: max size 0 */
	if (zlen)
		memcpy(reply + LAYER_TOKEN_LEN, authzid, zlen);
	gss_buffer_desc message = {LAYER_TOKEN_LEN + zlen, reply};
	major = gss_wrap(&minor, g->ctx, 0, GSS_C_QOP_DEFAULT, &message, NULL,
			 &wrapped);
	memset(reply, 0, sizeof(reply));
	if (GSS_ERROR(major)) {
		release(&wrapped);
		return gss_fail(h, g, "wrapping the security-layer answer",
				major, minor);
	}
	hand_out(h, &wrapped, out, out_len);
	release(&wrapped);
	g->stage = STAGE_DONE;
	return 0;
}

static int gss_step(struct spop_host *h, void *state,
		    const unsigned char *challenge, size_t challenge_len,
		    unsigned char **out, size_t *out_len)
{
	struct gss *g = state;

	switch (g->stage) {
	case STAGE_CONTEXT:
		if (!challenge_len)
			return h->set_error(
			    h, SPOP_ERR_PROTOCOL,
			    "GSSAPI: service %s sent an empty challenge "
			    "while the Kerberos context was being "
			    "established.",
			    g->service);
		return context_step(h, g, challenge, challenge_len, out,
				    out_len);
	case STAGE_LAYER:
		return layer_step(h, g, challenge, challenge_len, out, out_len);
	case STAGE_DONE: break;
	}
	return h->set_error(h, SPOP_ERR_PROTOCOL,
			    "GSSAPI: service %s sent another challenge after "
			    "the security layer was agreed; RFC 4752 has "
			    "none.",
			    g->service);
}

/* The server said +OK: only a complete exchange with a server that proved
 * itself is kept. */
static int gss_finish(struct spop_host *h, void *state)
{
	struct gss *g = state;

	if (g->stage != STAGE_DONE)
		return h->set_error(
		    h, SPOP_ERR_CERT_VERIFY,
		    "GSSAPI: service %s accepted the login before %s; the "
		    "server's mutual authentication is missing.",
		    g->service,
		    g->stage == STAGE_CONTEXT
			? "the Kerberos context was complete"
			: "the security layer was agreed");
	return 0;
}

static void gss_done(struct spop_host *h, void *state)
{
	struct gss *g = state;
	OM_uint32 minor;

	if (g->ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&minor, &g->ctx, GSS_C_NO_BUFFER);
	if (g->target != GSS_C_NO_NAME)
		gss_release_name(&minor, &g->target);
	h->free(h, g);
}

static const struct spop_auth_ops ops = {
    .size = sizeof(struct spop_auth_ops),
    .sasl_name = "GSSAPI",
    .sasl_start = gss_start,
    .sasl_step = gss_step,
    .sasl_done = gss_done,
    .sasl_finish = gss_finish,
};

static const int32_t selectors[] = {6};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_AUTH,
    .name = "gssapi",
    .version = "1.0",
    .description = "SASL GSSAPI with Kerberos V5 (RFC 4752, MIT krb5)",
    .selectors = selectors,
    .n_selectors = 1,
    .capabilities =
	SPOP_CAP_AUTH_SASL | SPOP_CAP_AUTH_NO_PASSWORD | SPOP_CAP_AUTH_MUTUAL,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
