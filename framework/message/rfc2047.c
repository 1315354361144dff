/* RFC 2047 encoded-word decoding of unstructured header text, the 8-bit
 * fallback for unlabelled header bytes, and the one-time GMime set-up.
 *
 * The decoder is ours rather than g_mime_utils_header_decode_text(): GMime
 * 3.2.13 (Debian 12) decodes adjacent B words of one charset with a single
 * base64 state, so "=?UTF-8?B?SGVsbG8=?= =?UTF-8?B?V29ybGQ=?=" gives "Hello"
 * (GMime issue #133) and unpadded words are lost or garbled; it also turns
 * invalid base64 into "", bytes invalid in the charset into '?' and an
 * unknown charset into a guess, where we leave the word as written. The
 * cases are pinned in tests/unit/message/test-rfc2047.c. GMime still
 * supplies the charset alias table, which knows mail's odd names
 * (ks_c_5601-1987, gb2312 read as its superset GBK...).
 */
#include <string.h>

#include <gmime/gmime.h>
#include <pthread.h>

#include "message-parse.h"

/* pthread_once rather than g_once_init_enter: ThreadSanitizer sees the
 * former's ordering, not GLib's (an atomic store inside libglib). The
 * address classes are made here too, so that the GType checks collect()
 * inlines read classes made before any thread could get past this. */
static void gmime_init_once(void)
{
	g_mime_init();
	g_type_class_unref(g_type_class_ref(INTERNET_ADDRESS_TYPE_MAILBOX));
	g_type_class_unref(g_type_class_ref(INTERNET_ADDRESS_TYPE_GROUP));
}

void spi_gmime_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, gmime_init_once);
}

char *spi_header_to_utf8(const char *value)
{
	char *s;

	if (!value)
		return NULL;
	if (g_utf8_validate(value, -1, NULL))
		return g_strdup(value);
	s = g_convert(value, -1, "UTF-8", "ISO-8859-1", NULL, NULL, NULL);
	/* Cannot fail with glibc's iconv; keep the promise of non-NULL even
	 * with an iconv that lacks ISO-8859-1. */
	return s ? s : g_utf8_make_valid(value, -1);
}

/* Syntax of one encoded-word, pointers into the input. */
struct eword {
	const char *end;     /* just past the "?=" */
	const char *charset; /* without the RFC 2231 language */
	size_t charset_len;
	char encoding; /* 'B' or 'Q' */
	const char *text;
	size_t text_len;
};

/* RFC 2047 sec. 2: especials may not appear in a charset or language. */
static int is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\"/[]?.=", c);
}

static int is_lwsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Recognises the syntax of an encoded-word at p; the payload is checked by
 * the decoders. The encoded text may hold no '?' and no space, which is
 * what lets "=?a?Q?b?= c ?=" end at the first "?=". */
static int parse_eword(const char *p, struct eword *w)
{
	const char *q, *star;

	if (p[0] != '=' || p[1] != '?')
		return 0;
	w->charset = q = p + 2;
	while (is_token_char((unsigned char)*q) || *q == '*')
		q++;
	if (*q != '?')
		return 0;
	/* RFC 2231 sec. 5: charset "*" language; the language is dropped. */
	star = memchr(w->charset, '*', (size_t)(q - w->charset));
	w->charset_len = (size_t)((star ? star : q) - w->charset);
	if (w->charset_len == 0)
		return 0;
	w->encoding = g_ascii_toupper(q[1]);
	if ((w->encoding != 'B' && w->encoding != 'Q') || q[2] != '?')
		return 0;
	w->text = q += 3;
	while (*q > 0x20 && *q < 0x7f && *q != '?')
		q++;
	if (q[0] != '?' || q[1] != '=' || q == w->text)
		return 0;
	w->text_len = (size_t)(q - w->text);
	w->end = q + 2;
	return 1;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Padding is optional: writers that drop it are common and the bits are
 * unambiguous. A length that leaves 6 stray bits cannot be base64. */
static int decode_b(const char *s, size_t len, GByteArray *out)
{
	guint32 acc = 0;
	int bits = 0, v;
	size_t i, n = len;
	guint8 c;

	while (n > 0 && s[n - 1] == '=' && len - n < 2)
		n--;
	if (n % 4 == 1)
		return 0;
	for (i = 0; i < n; i++) {
		if ((v = b64_value(s[i])) < 0)
			return 0;
		acc = (acc << 6) | (guint32)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			c = (guint8)(acc >> bits);
			g_byte_array_append(out, &c, 1);
		}
	}
	return 1;
}

static int decode_q(const char *s, size_t len, GByteArray *out)
{
	size_t i;
	guint8 c;

	for (i = 0; i < len; i++) {
		if (s[i] == '_') {
			c = ' ';
		} else if (s[i] == '=') {
			if (len - i < 3 || !g_ascii_isxdigit(s[i + 1]) ||
			    !g_ascii_isxdigit(s[i + 2]))
				return 0;
			c = (guint8)(g_ascii_xdigit_value(s[i + 1]) << 4 |
				     g_ascii_xdigit_value(s[i + 2]));
			i += 2;
		} else {
			c = (guint8)s[i];
		}
		g_byte_array_append(out, &c, 1);
	}
	return 1;
}

/* Decodes the payload of w, appending the raw bytes to out. A word that
 * carries no byte ("=?utf-8?B?=?=") is junk, not text: kept as written. */
static int decode_payload(const struct eword *w, GByteArray *out)
{
	guint before = out->len;
	int ok;

	if (w->encoding == 'B')
		ok = decode_b(w->text, w->text_len, out);
	else
		ok = decode_q(w->text, w->text_len, out);
	return ok && out->len > before;
}

/* Converts bytes in charset to UTF-8; NULL when the charset is unknown, the
 * bytes are invalid or incomplete in it, or the result holds a NUL (which
 * would silently cut the header short). */
static char *to_utf8(const char *charset, const GByteArray *bytes)
{
	const char *name = g_mime_charset_iconv_name(charset);
	char *s;
	gsize n;

	if (!g_ascii_strcasecmp(name, "UTF-8") ||
	    !g_ascii_strcasecmp(name, "UTF8")) {
		if (!g_utf8_validate_len((const char *)bytes->data, bytes->len,
					 NULL))
			return NULL;
		return g_strndup((const char *)bytes->data, bytes->len);
	}
	s = g_convert((const char *)bytes->data, (gssize)bytes->len, "UTF-8",
		      name, NULL, &n, NULL);
	if (s && strlen(s) != n) {
		g_free(s);
		return NULL;
	}
	return s;
}

enum tok_kind { TOK_TEXT = 1, TOK_WS, TOK_WORD };

struct tok {
	enum tok_kind kind;
	const char *start, *end;
	guint run; /* TOK_WORD: index into the runs */
};

/* A run is a sequence of encoded-words of one charset separated only by
 * whitespace; its bytes are converted together (RFC 2047 sec. 6.2). */
struct run {
	char *charset;
	GByteArray *bytes;
	char *utf8;  /* NULL: undecodable, its words stay as written */
	guint first; /* token index of its first word */
};

static void run_clear(gpointer p)
{
	struct run *r = p;

	g_free(r->charset);
	g_byte_array_unref(r->bytes);
	g_free(r->utf8);
}

static int same_charset(const struct run *r, const struct eword *w)
{
	return strlen(r->charset) == w->charset_len &&
	       !g_ascii_strncasecmp(r->charset, w->charset, w->charset_len);
}

/* Splits s into whitespace, text and decodable encoded-words, grouping the
 * words into runs. */
static void tokenize(const char *s, GArray *toks, GArray *runs)
{
	GByteArray *bytes = g_byte_array_new();
	const char *p = s;
	int after_word = 0; /* no text since the last word */
	struct eword w;
	struct tok t;
	struct run r, *last;

	while (*p) {
		t.start = p;
		t.run = 0;
		g_byte_array_set_size(bytes, 0);
		if (is_lwsp(*p)) {
			while (is_lwsp(*p))
				p++;
			t.kind = TOK_WS;
		} else if (parse_eword(p, &w) && decode_payload(&w, bytes)) {
			p = w.end;
			t.kind = TOK_WORD;
			last = after_word ? &g_array_index(runs, struct run,
							   runs->len - 1)
					  : NULL;
			if (last && same_charset(last, &w)) {
				g_byte_array_append(last->bytes, bytes->data,
						    bytes->len);
			} else {
				r.charset = g_strndup(w.charset, w.charset_len);
				r.bytes = g_byte_array_new();
				g_byte_array_append(r.bytes, bytes->data,
						    bytes->len);
				r.utf8 = NULL;
				r.first = toks->len;
				g_array_append_val(runs, r);
			}
			t.run = runs->len - 1;
			after_word = 1;
		} else {
			/* Text, or a malformed word: step past "=?" only, so
			 * a real word starting inside it is still found. */
			if (p[0] == '=' && p[1] == '?')
				p += 2;
			while (*p && !is_lwsp(*p) &&
			       !(p[0] == '=' && p[1] == '?'))
				p++;
			t.kind = TOK_TEXT;
			after_word = 0;
		}
		t.end = p;
		g_array_append_val(toks, t);
	}
	g_byte_array_unref(bytes);
}

static int is_decoded_word(GArray *toks, GArray *runs, guint i)
{
	const struct tok *t = &g_array_index(toks, struct tok, i);

	return t->kind == TOK_WORD &&
	       g_array_index(runs, struct run, t->run).utf8 != NULL;
}

char *spi_rfc2047_decode(const char *value)
{
	char *utf8 = spi_header_to_utf8(value);
	GArray *toks, *runs;
	struct run *r;
	struct tok *t;
	GString *out;
	guint i;

	if (!utf8)
		return NULL;
	spi_gmime_init(); /* for its charset alias table */
	toks = g_array_new(FALSE, FALSE, sizeof(struct tok));
	runs = g_array_new(FALSE, FALSE, sizeof(struct run));
	g_array_set_clear_func(runs, run_clear);
	tokenize(utf8, toks, runs);
	for (i = 0; i < runs->len; i++) {
		r = &g_array_index(runs, struct run, i);
		r->utf8 = to_utf8(r->charset, r->bytes);
	}

	out = g_string_sized_new(strlen(utf8));
	for (i = 0; i < toks->len; i++) {
		t = &g_array_index(toks, struct tok, i);
		if (t->kind == TOK_WORD && is_decoded_word(toks, runs, i)) {
			r = &g_array_index(runs, struct run, t->run);
			if (r->first == i)
				g_string_append(out, r->utf8);
			continue;
		}
		/* Whitespace between two decoded encoded-words is not part
		 * of the text (sec. 6.2); around anything else it is. */
		if (t->kind == TOK_WS && i > 0 && i + 1 < toks->len &&
		    is_decoded_word(toks, runs, i - 1) &&
		    is_decoded_word(toks, runs, i + 1))
			continue;
		g_string_append_len(out, t->start, t->end - t->start);
	}

	g_array_unref(runs);
	g_array_unref(toks);
	g_free(utf8);
	return g_string_free(out, FALSE);
}
