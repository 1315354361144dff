/* CAPA (RFC 2449): the server's capability lines parsed into a set the
 * session machine and the SASL driver decide from. Pure functions. */
#include <string.h>

#include "pop3.h"

void spi_capa_clear(struct spi_capa *caps)
{
	g_free(caps->sasl);
	g_free(caps->implementation);
	g_free(caps->expire);
	g_free(caps->login_delay);
	memset(caps, 0, sizeof(*caps));
}

/* "NAME args": args after the first run of blanks, or NULL when line is
 * not NAME. */
static const char *args_of(const char *line, const char *name)
{
	size_t n = strlen(name);

	if (g_ascii_strncasecmp(line, name, n) ||
	    (line[n] && line[n] != ' ' && line[n] != '\t'))
		return NULL;
	line += n;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

const char *spi_capa_args(GPtrArray *lines, const char *name)
{
	for (guint i = 0; lines && i < lines->len; i++) {
		const char *a = args_of(lines->pdata[i], name);

		if (a)
			return a;
	}
	return NULL;
}

void spi_capa_parse(struct spi_capa *caps, GPtrArray *lines)
{
	static const struct {
		const char *name;
		size_t offset;
	} flags[] = {
	    {"STLS", offsetof(struct spi_capa, stls)},
	    {"PIPELINING", offsetof(struct spi_capa, pipelining)},
	    {"UIDL", offsetof(struct spi_capa, uidl)},
	    {"TOP", offsetof(struct spi_capa, top)},
	    {"USER", offsetof(struct spi_capa, user)},
	    {"RESP-CODES", offsetof(struct spi_capa, resp_codes)},
	    {"AUTH-RESP-CODE", offsetof(struct spi_capa, auth_resp_code)},
	};
	static const struct {
		const char *name;
		size_t offset;
	} values[] = {
	    {"SASL", offsetof(struct spi_capa, sasl)},
	    {"IMPLEMENTATION", offsetof(struct spi_capa, implementation)},
	    {"EXPIRE", offsetof(struct spi_capa, expire)},
	    {"LOGIN-DELAY", offsetof(struct spi_capa, login_delay)},
	};

	spi_capa_clear(caps);
	caps->known = true;
	for (guint i = 0; i < lines->len; i++) {
		const char *line = lines->pdata[i];

		for (size_t f = 0; f < G_N_ELEMENTS(flags); f++)
			if (args_of(line, flags[f].name))
				*(bool *)((char *)caps + flags[f].offset) =
				    true;
		for (size_t v = 0; v < G_N_ELEMENTS(values); v++) {
			const char *a = args_of(line, values[v].name);
			char **field =
			    (char **)((char *)caps + values[v].offset);

			/* The first line naming a capability wins. */
			if (a && !*field)
				*field = g_strchomp(g_strdup(a));
		}
	}
}

bool spi_capa_has_sasl(const struct spi_capa *caps, const char *mechanism)
{
	if (!caps->sasl)
		return false;
	char **tokens = g_strsplit_set(caps->sasl, " \t", -1);
	bool found = false;

	for (char **t = tokens; *t && !found; t++)
		found = **t && !g_ascii_strcasecmp(*t, mechanism);
	g_strfreev(tokens);
	return found;
}
