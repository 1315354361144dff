/* Getters of the retrieved message: headers, recipients, text, raw data,
 * and the S/MIME classification from Content-Type. */
#include <string.h>

#include "message-parse.h"
#include "spop-private.h"

SPI_EXPORT const char *spop_get_message_cc(spop_t *s)
{
	return spi_str(s->msg.cc);
}
SPI_EXPORT const char *spop_get_message_date(spop_t *s)
{
	return spi_str(s->msg.date);
}
SPI_EXPORT const char *spop_get_message_from(spop_t *s)
{
	return spi_str(s->msg.from);
}
SPI_EXPORT const char *spop_get_message_reply_to(spop_t *s)
{
	return spi_str(s->msg.reply_to);
}
SPI_EXPORT const char *spop_get_message_subject(spop_t *s)
{
	return spi_str(s->msg.subject);
}
SPI_EXPORT const char *spop_get_message_to(spop_t *s)
{
	return spi_str(s->msg.to);
}

SPI_EXPORT int spop_get_message_header_count(spop_t *s)
{
	return s->msg.headers ? (int)s->msg.headers->len : 0;
}

static struct spi_header *header_at(struct spop *s, int i)
{
	if (i < 0 || i >= spop_get_message_header_count(s))
		return NULL;
	return s->msg.headers->pdata[i];
}

SPI_EXPORT const char *spop_get_message_header_field(spop_t *s, int i)
{
	struct spi_header *h = header_at(s, i);

	return h ? h->field : "";
}

SPI_EXPORT const char *spop_get_message_header_value(spop_t *s, int i)
{
	struct spi_header *h = header_at(s, i);

	return h ? h->value : "";
}

/* The reference: the server is asked only when MessageNumber changed. */
SPI_EXPORT const char *spop_get_message_headers_string(spop_t *s)
{
	if (s->conn && s->headers_cache_number != s->message_number &&
	    !s->busy && !s->in_event)
		spop_retrieve_headers(s);
	return s->msg.headers_string ? s->msg.headers_string->str : "";
}

/* After a Retrieve to LocalFile or a stream the body is not in memory:
 * read back (or retrieved again) on first use. Inside an event or a method
 * only the file can serve; the network waits for the method to end. */
static int complete(struct spop *s)
{
	if (!s->msg.body_deferred)
		return 0;
	if (s->busy || s->in_event)
		return spi_message_complete(s, false);
	if (spi_enter(s))
		return s->error_code;
	return spi_leave(s, spi_message_complete(s, true));
}

SPI_EXPORT int spop_get_message_text(spop_t *s, const char **data, size_t *len)
{
	/* Defined whatever happens: a caller that ignores rc reads "". */
	*data = "";
	*len = 0;
	if (s->conn && s->text_cache_number != s->message_number && !s->busy &&
	    !s->in_event) {
		int rc = spop_retrieve(s);
		if (rc)
			return rc;
	}
	int rc = complete(s);
	if (rc)
		return rc;
	*data = s->msg.text ? s->msg.text->str : "";
	*len = s->msg.text ? s->msg.text->len : 0;
	return 0;
}

SPI_EXPORT int spop_get_message(spop_t *s, const char **data, size_t *len)
{
	*data = "";
	*len = 0;
	int rc = complete(s);
	if (rc)
		return rc;
	*data = s->msg.raw ? s->msg.raw->str : "";
	*len = s->msg.raw ? s->msg.raw->len : 0;
	return 0;
}

SPI_EXPORT int spop_get_message_recipient_count(spop_t *s)
{
	return s->msg.recipients ? (int)s->msg.recipients->len : 0;
}

static struct spi_recipient *recipient_at(struct spop *s, int i)
{
	if (i < 0 || i >= spop_get_message_recipient_count(s))
		return NULL;
	return s->msg.recipients->pdata[i];
}

SPI_EXPORT const char *spop_get_message_recipient_address(spop_t *s, int i)
{
	struct spi_recipient *r = recipient_at(s, i);

	return r ? spi_str(r->address) : "";
}

SPI_EXPORT const char *spop_get_message_recipient_name(spop_t *s, int i)
{
	struct spi_recipient *r = recipient_at(s, i);

	return r ? spi_str(r->name) : "";
}

/* Used only by SMTP, the reference says: always empty when receiving. */
SPI_EXPORT const char *spop_get_message_recipient_options(spop_t *s, int i)
{
	return "";
}

SPI_EXPORT int spop_get_message_recipient_type(spop_t *s, int i)
{
	struct spi_recipient *r = recipient_at(s, i);

	return r ? r->type : 0;
}

SPI_EXPORT int spop_get_message_encrypted(spop_t *s)
{
	return s->msg.content_type &&
	       spi_content_type_is_encrypted(s->msg.content_type);
}

SPI_EXPORT int spop_get_message_signed(spop_t *s)
{
	return s->msg.content_type &&
	       spi_content_type_is_signed(s->msg.content_type);
}

SPI_EXPORT int spop_check_message_encrypted(spop_t *s)
{
	spi_clear_error(s);
	return spop_get_message_encrypted(s);
}

SPI_EXPORT int spop_check_message_signed(spop_t *s)
{
	spi_clear_error(s);
	return spop_get_message_signed(s);
}
