/* Event dispatch and the PITrail: every callback runs with in_event raised,
 * so a method called from inside it answers 174 instead of re-entering. */
#include <string.h>

#include "spop-private.h"

#define CALL(s, cb, ud, params)                                                \
	do {                                                                   \
		if ((s)->ev.cb) {                                              \
			(s)->in_event++;                                       \
			(s)->ev.cb((s), (params), (s)->ev.ud);                 \
			(s)->in_event--;                                       \
		}                                                              \
	} while (0)

char *spi_escape_controls(const char *text, size_t len)
{
	GString *out = g_string_sized_new(len + 8);

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\r')
			g_string_append(out, "\\r");
		else if (c == '\n')
			g_string_append(out, "\\n");
		else if (c == '\t')
			g_string_append(out, "\\t");
		else if (c == '\\')
			g_string_append(out, "\\\\");
		else if (c < 0x20 || c == 0x7f)
			g_string_append_printf(out, "\\x%02X", c);
		else
			g_string_append_c(out, (char)c);
	}
	return g_string_free(out, FALSE);
}

void spi_trail(struct spop *s, int direction, const char *text, size_t len)
{
	if (!s->ev.pitrail)
		return;
	/* A hostile server must not be able to forge trail lines or drive a
	 * terminal, so control characters are escaped. */
	char *clean = spi_escape_controls(text, len);
	struct spop_pitrail_event e = {direction, clean};

	CALL(s, pitrail, pitrail_ud, &e);
	g_free(clean);
}

void spi_trail_masked(struct spop *s, int direction, const char *text,
		      size_t mask_from)
{
	size_t len = strlen(text);

	if (!s->cfg.mask_sensitive || mask_from >= len) {
		spi_trail(s, direction, text, len);
		return;
	}
	char *masked = g_strdup_printf("%.*s********", (int)mask_from, text);
	spi_trail(s, direction, masked, strlen(masked));
	g_free(masked);
}

void spi_emit_connection_status(struct spop *s, const char *event, int code,
				const char *description)
{
	struct spop_connection_status_event e = {event, code, description};

	CALL(s, connection_status, connection_status_ud, &e);
}

void spi_emit_header(struct spop *s, const char *field, const char *value)
{
	struct spop_header_event e = {field, value};

	CALL(s, header, header_ud, &e);
}

void spi_emit_message_list(struct spop *s, int number, const char *uid,
			   int64_t size)
{
	struct spop_message_list_event e = {number, uid, size};

	CALL(s, message_list, message_list_ud, &e);
}

void spi_emit_transfer(struct spop *s, int64_t bytes, int percent,
		       const char *text, size_t len, bool eol)
{
	struct spop_transfer_event e = {1, bytes, percent, text, len, eol};

	CALL(s, transfer, transfer_ud, &e);
}

void spi_emit_start_transfer(struct spop *s)
{
	struct spop_start_transfer_event e = {1};

	CALL(s, start_transfer, start_transfer_ud, &e);
}

void spi_emit_end_transfer(struct spop *s)
{
	struct spop_end_transfer_event e = {1};

	CALL(s, end_transfer, end_transfer_ud, &e);
}

void spi_emit_error(struct spop *s, int code, const char *text)
{
	struct spop_error_event e = {code, text};

	CALL(s, error, error_ud, &e);
}

#define SETTER(event, type)                                                    \
	SPI_EXPORT void spop_on_##event(spop_t *s, type cb, void *ud)          \
	{                                                                      \
		s->ev.event = cb;                                              \
		s->ev.event##_ud = ud;                                         \
	}

SETTER(connection_status, spop_connection_status_cb)
SETTER(end_transfer, spop_end_transfer_cb)
SETTER(error, spop_error_cb)
SETTER(header, spop_header_cb)
SETTER(message_list, spop_message_list_cb)
SETTER(pitrail, spop_pitrail_cb)
SETTER(start_transfer, spop_start_transfer_cb)
SETTER(transfer, spop_transfer_cb)
