/* A CAPA reply's lines (RFC 2449): the flags, the SASL mechanism list and
 * the arguments of a named capability, asked for every mechanism the core
 * knows and for words taken from the input itself. */
#include "fuzz.h"

#include <string.h>

#include "pop3/pop3.h"
#include "spop-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
	    "SASL",	  "IMPLEMENTATION", "EXPIRE", "LOGIN-DELAY",
	    "PIPELINING", "STLS",	    "X",      ""};
	static const char *const mechs[] = {
	    "PLAIN", "LOGIN",	    "CRAM-MD5",	   "SCRAM-SHA-256-PLUS",
	    "NTLM",  "XOAUTH2",	    "OAUTHBEARER", "GSSAPI",
	    "",	     "SCRAM-SHA-1", "EXTERNAL",	   "DIGEST-MD5"};
	char *text = fuzz_cstring(data, size);
	char **lines = g_strsplit(text, "\n", -1);
	GPtrArray *v = g_ptr_array_new();
	struct spi_capa caps = {0};

	for (char **l = lines; *l; l++) {
		size_t n = strlen(*l);

		if (n && (*l)[n - 1] == '\r')
			(*l)[n - 1] = '\0';
		g_ptr_array_add(v, *l);
	}
	spi_capa_parse(&caps, v);
	for (size_t i = 0; i < G_N_ELEMENTS(mechs); i++)
		(void)spi_capa_has_sasl(&caps, mechs[i]);
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		(void)spi_capa_args(v, names[i]);
	/* each line's first word, as a name and as a mechanism */
	for (guint i = 0; i < v->len; i++) {
		char *word = g_strndup(v->pdata[i], strcspn(v->pdata[i], " "));

		(void)spi_capa_args(v, word);
		(void)spi_capa_has_sasl(&caps, word);
		g_free(word);
	}
	/* parsed twice: what the first left must be freed by the second */
	spi_capa_parse(&caps, v);
	spi_capa_clear(&caps);
	g_ptr_array_free(v, TRUE);
	g_strfreev(lines);
	g_free(text);
	return 0;
}
