/* The SASL driver with POP3's profile (RFC 5034, RFC 4422): AUTH with an
 * initial response when the line stays within 255 octets, base64 "+ "
 * challenges, "*" to cancel, and the mechanism's last word once the server
 * says +OK. It knows no mechanism; mechanisms know nothing of POP3. */
#include <string.h>

#include "net/net.h"
#include "pop3.h"

/* RFC 5034 section 4: the AUTH command with its initial response must
 * not exceed 255 octets, CRLF included. */
#define AUTH_LINE_MAX 255

struct exchange {
	struct spop *s;
	const struct spop_plugin_descriptor *d;
	const struct spop_auth_ops *ops;
	struct spi_host host;
	void *state;
};

/* The server refused the exchange after telling the mechanism why in a
 * challenge (XOAUTH2's error JSON): the application sees both. */
static void name_refusal(struct exchange *x)
{
	struct spop *s = x->s;

	if (!x->state ||
	    !SPOP_OPS_HAS(struct spop_auth_ops, x->ops, sasl_refusal))
		return;
	const char *why = x->ops->sasl_refusal(&x->host.pub, x->state);
	if (!why || !*why)
		return;
	char *clean = spi_escape_controls(why, strlen(why));
	char *text = g_strdup_printf("%s (the server's %s error: %s)",
				     s->error_text, x->ops->sasl_name, clean);
	g_free(clean);
	g_free(s->error_text);
	s->error_text = text;
}

static char *encode(const unsigned char *data, size_t len)
{
	return len ? g_base64_encode(data, len) : g_strdup("");
}

/* Cancels the exchange (RFC 5034: "*") and reads the server's -ERR, so the
 * stream stays in step; the mechanism's error is what is reported. */
static int cancel(struct exchange *x, int rc)
{
	struct spop *s = x->s;
	char *saved = g_strdup(s->error_text);
	struct spi_reply r;
	bool body;
	int crc = spi_pop3_send_flags(s, "*", (size_t)-1, SPI_CMD_CONTINUATION);

	if (!crc)
		crc = spi_pop3_recv(s, &r, &body);
	/* Only -ERR ends a cancelled exchange; +OK would be a login with a
	 * mechanism that did not finish, which is not kept. */
	if (crc == 0 && s->conn)
		spi_session_drop(s, rc);
	g_free(s->error_text);
	s->error_text = saved;
	s->error_code = rc;
	return rc;
}

static int send_response(struct exchange *x, const unsigned char *data,
			 size_t len)
{
	char *line = encode(data, len);
	/* A response carries the secret: masked whole in the trail. */
	int rc = spi_pop3_send_flags(x->s, line, 0, SPI_CMD_CONTINUATION);

	memset(line, 0, strlen(line));
	g_free(line);
	return rc;
}

static int step(struct exchange *x, const char *challenge_b64)
{
	size_t clen;
	unsigned char *challenge =
	    spi_base64_decode_strict(challenge_b64, &clen);
	unsigned char *out = NULL;
	size_t out_len = 0;
	int rc;

	if (!challenge) {
		char *clean =
		    spi_escape_controls(challenge_b64, strlen(challenge_b64));
		rc = spi_fail(x->s, SPOP_ERR_PROTOCOL,
			      "%s sent a SASL %s challenge that is not "
			      "base64: '%s'.",
			      spi_str(x->s->mail_server), x->ops->sasl_name,
			      clean);
		g_free(clean);
		return cancel(x, rc);
	}
	rc = x->ops->sasl_step(&x->host.pub, x->state, challenge, clen, &out,
			       &out_len);
	g_free(challenge);
	if (rc)
		return cancel(x, rc);
	rc = send_response(x, out ? out : (const unsigned char *)"",
			   out ? out_len : 0);
	if (out) {
		memset(out, 0, out_len);
		g_free(out);
	}
	return rc;
}

/* AUTH NAME [initial]: *held keeps an initial response too long for the
 * line, to be sent after the server's empty challenge. */
static int start(struct exchange *x, char **held)
{
	unsigned char *ir = NULL;
	size_t ir_len = 0;
	int rc = x->ops->sasl_start(&x->host.pub, &x->state, &ir, &ir_len);

	*held = NULL;
	if (rc)
		return rc;
	char *cmd = g_strdup_printf("AUTH %s", x->ops->sasl_name);
	if (ir) {
		/* RFC 5034: "=" stands for an empty initial response. */
		char *b64 =
		    ir_len ? g_base64_encode(ir, ir_len) : g_strdup("=");
		size_t line = strlen(cmd) + 1 + strlen(b64) + 2;

		memset(ir, 0, ir_len);
		g_free(ir);
		if (line <= AUTH_LINE_MAX) {
			char *full = g_strdup_printf("%s %s", cmd, b64);
			g_free(cmd);
			cmd = full;
			memset(b64, 0, strlen(b64));
			g_free(b64);
		} else {
			*held = b64;
		}
	}
	rc = spi_pop3_send_flags(x->s, cmd, spi_pop3_mask_from(cmd),
				 SPI_CMD_CONTINUATION);
	memset(cmd, 0, strlen(cmd));
	g_free(cmd);
	return rc;
}

static int finish(struct exchange *x)
{
	if (!SPOP_OPS_HAS(struct spop_auth_ops, x->ops, sasl_finish))
		return 0;
	int rc = x->ops->sasl_finish(&x->host.pub, x->state);
	/* The server let us in, but it did not prove who it is: a session
	 * with an unverified server is not kept. */
	if (rc)
		spi_session_drop(x->s, rc);
	return rc;
}

static int converse(struct exchange *x)
{
	struct spop *s = x->s;
	char *held = NULL;
	int rc = start(x, &held);

	while (!rc) {
		struct spi_reply r = {0};
		bool body;

		rc = spi_pop3_recv(s, &r, &body);
		if (rc) {
			if (r.kind == SPI_REPLY_ERR)
				name_refusal(x);
			break;
		}
		if (r.kind == SPI_REPLY_OK) {
			rc = finish(x);
			break;
		}
		if (held) {
			/* The initial response that did not fit in AUTH. */
			rc = spi_pop3_send_flags(s, held, 0,
						 SPI_CMD_CONTINUATION);
			g_clear_pointer(&held, g_free);
			continue;
		}
		rc = step(x, r.text);
	}
	g_free(held);
	return rc;
}

int spi_sasl_authenticate(struct spop *s,
			  const struct spop_plugin_descriptor *d)
{
	struct exchange x = {.s = s, .d = d, .ops = d->ops};

	/* Nothing is sent for a mechanism the server did not offer: sending
	 * it anyway would leak the attempt, and the answer is known. */
	if (!spi_capa_has_sasl(&s->capa, x.ops->sasl_name))
		return spi_fail(s, SPOP_ERR_PROTOCOL,
				"%s does not offer SASL mechanism %s (its "
				"CAPA SASL list: %s); nothing was sent.",
				spi_str(s->mail_server), x.ops->sasl_name,
				s->capa.sasl ? s->capa.sasl : "none");
	if ((d->capabilities & SPOP_CAP_AUTH_CHANNEL_BINDING) &&
	    !spi_conn_tls_active(s))
		return spi_fail(s, SPOP_ERR_NOT_AVAILABLE,
				"SASL mechanism %s binds to the TLS channel, "
				"and the connection has no TLS; nothing was "
				"sent.",
				x.ops->sasl_name);
	spi_host_init(&x.host, s, NULL);
	int rc = converse(&x);
	if (x.state)
		x.ops->sasl_done(&x.host.pub, x.state);
	return rc;
}
