/* The S/MIME reading of a Content-Type value (RFC 8551 sec. 3.2): is the
 * part encrypted, is it signed. GMime parses the header, which brings
 * comments, quoting and RFC 2231 parameter continuations for free.
 */
#include <string.h>

#include <gmime/gmime.h>

#include "message-parse.h"

static GMimeContentType *parse(const char *value)
{
	if (!value)
		return NULL;
	spi_gmime_init();
	return g_mime_content_type_parse(NULL, value);
}

static int is_pkcs7_mime(GMimeContentType *ct)
{
	return g_mime_content_type_is_type(ct, "application", "pkcs7-mime") ||
	       g_mime_content_type_is_type(ct, "application", "x-pkcs7-mime");
}

/* Removes the comments at the end of s: GMime, in the loose mode that
 * reads unquoted values with '/' or spaces, keeps "value (comment)" whole,
 * and its strict mode cuts "application/pkcs7-signature" at the '/'. */
static void strip_trailing_comments(char *s)
{
	size_t n;
	int depth;

	for (g_strchomp(s); (n = strlen(s)) > 0 && s[n - 1] == ')';
	     g_strchomp(s)) {
		for (depth = 0; n > 0; n--) {
			if (s[n - 1] == ')')
				depth++;
			else if (s[n - 1] == '(' && --depth == 0)
				break;
		}
		if (n == 0 || (n > 1 && !g_ascii_isspace(s[n - 2])))
			return; /* part of the value: "a(b)" */
		s[n - 1] = '\0';
	}
}

/* Returns the parameter's value, unquoted by GMime, without comments and
 * surrounding whitespace; NULL when absent or empty. */
static char *param(GMimeContentType *ct, const char *name)
{
	const char *v = g_mime_content_type_get_parameter(ct, name);
	char *s;

	if (!v)
		return NULL;
	s = g_strdup(v);
	strip_trailing_comments(s);
	g_strchug(s);
	if (!*s)
		g_clear_pointer(&s, g_free);
	return s;
}

static int has_suffix_nocase(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !g_ascii_strcasecmp(s + n - m, suffix);
}

int spi_content_type_is_encrypted(const char *content_type)
{
	GMimeContentType *ct = parse(content_type);
	char *type, *name;
	int yes = 0;

	if (!ct)
		return 0;
	if (is_pkcs7_mime(ct)) {
		type = param(ct, "smime-type");
		if (type) {
			yes = !g_ascii_strcasecmp(type, "enveloped-data") ||
			      !g_ascii_strcasecmp(type, "authEnveloped-data");
		} else {
			/* Agents before RFC 2633 send no smime-type; the
			 * file name is all there is to go on. */
			name = param(ct, "name");
			yes = name && has_suffix_nocase(name, ".p7m");
			g_free(name);
		}
		g_free(type);
	}
	g_object_unref(ct);
	return yes;
}

int spi_content_type_is_signed(const char *content_type)
{
	GMimeContentType *ct = parse(content_type);
	char *v;
	int yes = 0;

	if (!ct)
		return 0;
	if (g_mime_content_type_is_type(ct, "multipart", "signed")) {
		/* Other protocols (application/pgp-signature) are signed,
		 * but not S/MIME. */
		v = param(ct, "protocol");
		yes = v &&
		      (!g_ascii_strcasecmp(v, "application/pkcs7-signature") ||
		       !g_ascii_strcasecmp(v, "application/x-pkcs7-signature"));
		g_free(v);
	} else if (is_pkcs7_mime(ct)) {
		v = param(ct, "smime-type");
		yes = v && !g_ascii_strcasecmp(v, "signed-data");
		g_free(v);
	}
	g_object_unref(ct);
	return yes;
}
