/* Pure parsers of the message model: header unfolding, RFC 2047 words,
 * address lists, dates and the S/MIME reading of Content-Type. No I/O, no
 * spop_t: every function here takes text and returns text or numbers, so
 * each can be unit-tested alone.
 *
 * Ownership: every returned char * is newly allocated; free it with g_free().
 * Every function is safe to call from several threads at once.
 */
#ifndef SPOP_MESSAGE_PARSE_H
#define SPOP_MESSAGE_PARSE_H

#include <glib.h>
#include <stddef.h>

/* Initialises GMime once per process; safe to call from any thread, any
 * number of times. GMime's own g_mime_init() is neither thread-safe nor
 * idempotent, so every caller in libspop goes through this instead. Never
 * paired with g_mime_shutdown(): libspop may be one of several GMime users
 * in the process. */
void spi_gmime_init(void);

/* Returns value as newly allocated UTF-8: a copy when it is valid UTF-8,
 * otherwise converted from ISO-8859-1. Header bytes carry no charset label;
 * ISO-8859-1 maps every byte to a character, so the conversion never fails
 * and loses nothing, and it is what unlabelled 8-bit header text in the wild
 * most often is. Returns NULL only for NULL. */
char *spi_header_to_utf8(const char *value);

/* RFC 2047: decodes the encoded-words (B and Q, any charset iconv or GMime
 * knows, an RFC 2231 language suffix ignored) in an unstructured header
 * value, returning UTF-8.
 *  - Encoded-words separated only by whitespace are joined, the whitespace
 *    dropped (RFC 2047 sec. 6.2); their bytes are joined before the charset
 *    conversion, so a character split across two words survives.
 *  - An encoded-word glued to text ("Re:=?...?=") is decoded too, as GMime
 *    and the common mail readers do; the text around it is kept.
 *  - A word that is malformed, has an unknown charset or bytes invalid in
 *    its charset, or would decode to a NUL, is left as written.
 *  - Raw 8-bit input that is not valid UTF-8 is read as ISO-8859-1 (see
 *    spi_header_to_utf8()).
 * Returns NULL only for NULL. */
char *spi_rfc2047_decode(const char *value);

/* One mailbox of a To, Cc or Bcc header. address is the addr-spec as
 * written ("user@example.com", never empty); name the display name decoded
 * to UTF-8, or "" when there is none (never NULL). type is the type passed
 * to spi_parse_address_list(): 0 To, 1 Cc, 2 Bcc (enum spop_recipient_type).
 */
struct spi_recipient {
	char *address;
	char *name;
	int type;
};

/* Parses an RFC 5322 address-list header value (To, Cc, Bcc) and appends one
 * struct spi_recipient * per mailbox to out, in order. Display names may be
 * quoted, contain encoded-words or come from a trailing comment
 * ("a@b (Ann)"); a group gives its members (an empty group gives nothing);
 * obsolete route syntax is tolerated, and so is ';' between mailboxes
 * outside a group ("a@x; b@y", as typed into some agents). Encoded-words in
 * an addr-spec are never decoded. Garbage yields what GMime can make of it,
 * possibly nothing, never a crash. out should own its elements with
 * spi_recipient_free as free function, or the caller frees them.
 * Returns the number appended; 0 for NULL value or out. */
size_t spi_parse_address_list(const char *value, int type, GPtrArray *out);

/* Frees r and its strings; NULL is allowed. Its signature fits
 * g_ptr_array_new_with_free_func() after a cast to GDestroyNotify. */
void spi_recipient_free(struct spi_recipient *r);

/* LocalizeDate: converts an RFC 5322 (or RFC 822) date-time such as
 * "Tue, 1 Jul 2003 10:52:37 +0200" to the process's local time (TZ, read
 * afresh on each call), formatted "MM/dd/yyyy HH:mm:ss" with a 24-hour
 * clock. Accepted: optional weekday, optional seconds, 2- and 3-digit years
 * (RFC 5322 sec. 4.3), numeric zones, the obsolete zones UT, GMT, Z and the
 * US zones, comments anywhere. Military zone letters and unknown alphabetic
 * zones count as -0000 (UTC), as RFC 5322 sec. 4.3 asks, because RFC 822
 * had their signs backwards. A missing zone is read as -0000 as well.
 * Returns NULL for NULL or an unparseable or impossible date. */
char *spi_localize_date(const char *rfc822_date);

/* S/MIME reading of a Content-Type header value (RFC 8551). Both return 1 or
 * 0 (also for NULL or unparseable input). Type, subtype, parameter names and
 * the values compared are case-insensitive; values may be quoted; comments
 * and whitespace are tolerated.
 *
 * Encrypted: application/pkcs7-mime or application/x-pkcs7-mime with
 * smime-type enveloped-data or authEnveloped-data; or, when smime-type is
 * absent (older agents omit it), with a name parameter ending in ".p7m". */
int spi_content_type_is_encrypted(const char *content_type);

/* Signed: multipart/signed with protocol application/pkcs7-signature or
 * application/x-pkcs7-signature; or application/(x-)pkcs7-mime with
 * smime-type signed-data. */
int spi_content_type_is_signed(const char *content_type);

/* Header unfolding (RFC 5322 sec. 2.2.3). A header line, given without its
 * CRLF, is either a new field "Name: value" or a continuation of the
 * previous one. */

/* Returns 1 when line starts with a space or a tab, else 0. */
int spi_header_is_continuation(const char *line, size_t len);

/* Splits "Name: value" into a newly allocated field (case kept) and value
 * (leading spaces and tabs skipped, the rest kept as is). Whitespace between
 * the name and the colon is dropped (RFC 5322 sec. 4.5, obs-optional).
 * Returns 1 on success. Returns 0, with *field and *value set to NULL, when
 * the line has no colon or the name is empty or holds anything but
 * printable US-ASCII (RFC 5322 ftext): a malformed header line, which the
 * caller keeps with an empty field. */
int spi_header_split(const char *line, size_t len, char **field, char **value);

/* Appends the continuation line to value in place: any CR or LF at the end
 * of either is removed and the leading whitespace of the continuation kept,
 * so "a" and " b" give "a b". */
void spi_header_unfold_into(GString *value, const char *continuation,
			    size_t len);

#endif /* SPOP_MESSAGE_PARSE_H */
