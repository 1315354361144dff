/* RFC 5322 address lists (To, Cc, Bcc) into struct spi_recipient.
 *
 * GMime parses the structure: groups, routes, comments, quoting and the
 * many malformed forms it has learnt to tolerate. Its decoding of
 * encoded-words in display names is what GMime 3.2.13 gets wrong (see
 * rfc2047.c: adjacent B words lose text, bad words become ""), and it
 * offers no way to get a name undecoded. So before GMime sees the value we
 * decode each name's encoded-words ourselves and put the result back as a
 * single encoded-word that GMime cannot get wrong: UTF-8, Q encoding, every
 * byte written as =XX. That form holds no special, no space and nothing
 * GMime could decode twice, so the structure GMime sees is unchanged.
 */
#include <string.h>

#include <gmime/gmime.h>
#include <pthread.h>

#include "message-parse.h"

/* RFC 5322 specials that end a phrase, plus the quote and the backslash;
 * '.' is left out so "John.Smith" (obs-phrase) stays one piece. */
#define PHRASE_STOP "()<>[]:;@\\,\""

static int is_lwsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Appends text as the one encoded-word described above; nothing for "",
 * which no encoded-word can carry. */
static void append_canonical(GString *out, const char *text)
{
	const unsigned char *p;

	if (!*text)
		return;
	g_string_append(out, "=?UTF-8?Q?");
	for (p = (const unsigned char *)text; *p; p++)
		g_string_append_printf(out, "=%02X", *p);
	g_string_append(out, "?=");
}

/* Appends the phrase s[0..len) decoded by us and re-encoded canonically;
 * the whitespace around it is kept as written. */
static void append_phrase(GString *out, const char *s, size_t len)
{
	size_t lead = 0, trail = len;
	char *core, *decoded;

	while (lead < len && is_lwsp(s[lead]))
		lead++;
	while (trail > lead && is_lwsp(s[trail - 1]))
		trail--;
	g_string_append_len(out, s, (gssize)lead);
	core = g_strndup(s + lead, trail - lead);
	decoded = spi_rfc2047_decode(core);
	append_canonical(out, decoded);
	g_free(decoded);
	g_free(core);
	g_string_append_len(out, s + trail, (gssize)(len - trail));
}

static int has_eword_start(const char *s, size_t len)
{
	return g_strstr_len(s, (gssize)len, "=?") != NULL;
}

/* Returns the end of the quoted-string starting at s (its opening quote):
 * just past the closing quote, or the end of the string if unterminated.
 * Sets *body to the content with its quoted-pairs resolved. */
static const char *take_quoted(const char *s, char **body)
{
	GString *b = g_string_new(NULL);
	const char *p = s + 1;

	while (*p && *p != '"') {
		if (*p == '\\' && p[1])
			p++;
		g_string_append_c(b, *p++);
	}
	*body = g_string_free(b, FALSE);
	return *p ? p + 1 : p;
}

/* Returns the end of the comment starting at s, nesting and quoted-pairs
 * respected. Sets *simple when it is closed and holds no nested comment
 * and no quoted-pair. */
static const char *skip_comment(const char *s, int *simple)
{
	const char *p = s + 1;
	int depth = 1;

	*simple = 1;
	while (*p && depth > 0) {
		if (*p == '\\' && p[1]) {
			*simple = 0;
			p++;
		} else if (*p == '(') {
			*simple = 0;
			depth++;
		} else if (*p == ')') {
			depth--;
		}
		p++;
	}
	if (depth > 0)
		*simple = 0;
	return p;
}

/* Returns the first special at or after p that ends a phrase, skipping
 * words, quoted-strings and comments; the NUL at the end if none. Words
 * followed by '<' (a name-addr) or ':' (a group) form a display name; any
 * other word is an addr-spec or garbage and must reach GMime untouched. */
static const char *phrase_end(const char *p)
{
	char *body;
	int simple;

	for (;;) {
		if (*p == '"') {
			p = take_quoted(p, &body);
			g_free(body);
		} else if (*p == '(') {
			p = skip_comment(p, &simple);
		} else if (!*p || strchr(PHRASE_STOP, *p)) {
			return p;
		} else {
			p++;
		}
	}
}

/* Prepares an address list for GMime: rewrites the encoded-words of names
 * (see the top of the file), and reads a ';' outside a group as the ','
 * meant by those who type "a@x; b@y", where GMime would drop b@y. Only
 * display names and comments are rewritten, never an addr-spec. */
static char *prepare(const char *s)
{
	GString *out = g_string_sized_new(strlen(s) + 16);
	const char *p = s, *end, *stop = NULL;
	char *body, *decoded;
	int in_angle = 0, in_group = 0, simple, in_name = 0;

	while (*p) {
		/* One scan per phrase keeps this linear in the input. */
		if (!in_angle && (!stop || p > stop)) {
			stop = phrase_end(p);
			in_name = *stop == '<' || *stop == ':';
		}
		if (*p == '"') {
			end = take_quoted(p, &body);
			/* Encoded-words inside quotes break RFC 2047 sec. 5
			 * but are common; GMime decodes them, so must we.
			 * An unterminated quote is GMime's to recover from. */
			if (in_angle || !in_name || end[-1] != '"' ||
			    end - p < 2 || !strstr(body, "=?")) {
				g_string_append_len(out, p, end - p);
			} else {
				decoded = spi_rfc2047_decode(body);
				g_string_append_c(out, '"');
				append_canonical(out, decoded);
				g_string_append_c(out, '"');
				g_free(decoded);
			}
			g_free(body);
			p = end;
		} else if (*p == '(') {
			/* A comment may give the name ("a@b (Ann)"). Nested
			 * or escaped ones are left to GMime: rare enough. */
			end = skip_comment(p, &simple);
			if (in_angle || !simple ||
			    !has_eword_start(p, (size_t)(end - p))) {
				g_string_append_len(out, p, end - p);
			} else {
				g_string_append_c(out, '(');
				append_phrase(out, p + 1,
					      (size_t)(end - p) - 2);
				g_string_append_c(out, ')');
			}
			p = end;
		} else if (*p == '\\') {
			end = p[1] ? p + 2 : p + 1;
			g_string_append_len(out, p, end - p);
			p = end;
		} else if (*p == '<' || *p == '>') {
			in_angle = *p == '<';
			g_string_append_c(out, *p++);
		} else if (in_angle) {
			g_string_append_c(out, *p++);
		} else if (*p == ':' || *p == ';') {
			g_string_append_c(out,
					  *p == ';' && !in_group ? ',' : *p);
			in_group = *p++ == ':';
		} else if (strchr(PHRASE_STOP, *p)) {
			g_string_append_c(out, *p++);
		} else {
			end = p + strcspn(p, PHRASE_STOP);
			if (!in_name || !has_eword_start(p, (size_t)(end - p)))
				g_string_append_len(out, p, end - p);
			else
				append_phrase(out, p, (size_t)(end - p));
			p = end;
		}
	}
	return g_string_free(out, FALSE);
}

static GMimeParserOptions *options;

static void make_parser_options(void)
{
	spi_gmime_init();
	options = g_mime_parser_options_new();
	/* Mail in the wild breaks RFC 5322 often; read what can be read
	 * rather than drop a recipient. */
	g_mime_parser_options_set_address_compliance_mode(
	    options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_rfc2047_compliance_mode(
	    options, GMIME_RFC_COMPLIANCE_LOOSE);
}

/* Made once (pthread_once: see spi_gmime_init). */
static GMimeParserOptions *parser_options(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, make_parser_options);
	return options;
}

/* Appends the mailboxes of list, descending into groups (nested groups are
 * obsolete, but GMime builds them, and their members are recipients too). */
static size_t collect(InternetAddressList *list, int type, GPtrArray *out)
{
	struct spi_recipient *r;
	InternetAddress *a;
	const char *addr, *name;
	size_t n = 0;
	int i;

	for (i = 0; i < internet_address_list_length(list); i++) {
		a = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_GROUP(a)) {
			n += collect(internet_address_group_get_members(
					 INTERNET_ADDRESS_GROUP(a)),
				     type, out);
			continue;
		}
		if (!INTERNET_ADDRESS_IS_MAILBOX(a))
			continue;
		addr = internet_address_mailbox_get_addr(
		    INTERNET_ADDRESS_MAILBOX(a));
		if (!addr || !*addr)
			continue;
		name = internet_address_get_name(a);
		r = g_new(struct spi_recipient, 1);
		r->address = g_strdup(addr);
		r->name = g_strdup(name ? name : "");
		r->type = type;
		g_ptr_array_add(out, r);
		n++;
	}
	return n;
}

size_t spi_parse_address_list(const char *value, int type, GPtrArray *out)
{
	InternetAddressList *list;
	char *utf8, *text;
	size_t n = 0;

	if (!value || !out)
		return 0;
	/* Our UTF-8 first: GMime would guess 8-bit bytes from the locale,
	 * and the result would depend on the environment. */
	utf8 = spi_header_to_utf8(value);
	text = prepare(utf8);
	list = internet_address_list_parse(parser_options(), text);
	if (list) {
		n = collect(list, type, out);
		g_object_unref(list);
	}
	g_free(text);
	g_free(utf8);
	return n;
}

void spi_recipient_free(struct spi_recipient *r)
{
	if (!r)
		return;
	g_free(r->address);
	g_free(r->name);
	g_free(r);
}
