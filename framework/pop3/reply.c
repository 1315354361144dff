/* POP3 reply grammar (RFC 1939, RFC 2449): status lines, which commands
 * answer with a multi-line body, and dot-unstuffing of body lines. Pure
 * functions, tested as data in tests/unit/test-pop3-reply.c. */
#include <string.h>

#include "spop-private.h"

int spi_reply_parse(const char *line, size_t len, struct spi_reply *out)
{
	size_t word;

	memset(out, 0, sizeof(*out));
	out->text = "";
	if (len >= 3 && !memcmp(line, "+OK", 3)) {
		out->ok = true;
		word = 3;
	} else if (len >= 4 && !memcmp(line, "-ERR", 4)) {
		word = 4;
	} else if (len >= 1 && line[0] == '+' && (len == 1 || line[1] == ' ')) {
		out->continuation = true;
		word = 1;
	} else {
		return -1;
	}
	/* "+OKAY" is not a status word: the word must end here. */
	if (len > word && line[word] != ' ' && line[word] != '\t')
		return -1;
	while (word < len && (line[word] == ' ' || line[word] == '\t'))
		word++;
	out->text = line + word;
	if (!out->continuation && word < len && line[word] == '[') {
		const char *end = memchr(line + word, ']', len - word);
		size_t n = end ? (size_t)(end - line - word - 1) : 0;

		if (end && n > 0 && n < sizeof(out->resp_code))
			memcpy(out->resp_code, line + word + 1, n);
	}
	return 0;
}

/* RFC 1939: LIST and UIDL answer with a list without an argument and with
 * one line with it; RETR, TOP and CAPA always with a body. */
bool spi_command_is_multiline(const char *command)
{
	char verb[16];
	size_t n = 0;

	while (command[n] && command[n] != ' ' && n < sizeof(verb) - 1) {
		verb[n] = command[n];
		n++;
	}
	verb[n] = '\0';
	const char *arg = command + n;
	while (*arg == ' ')
		arg++;
	bool has_arg = *arg != '\0';

	if (!g_ascii_strcasecmp(verb, "RETR") ||
	    !g_ascii_strcasecmp(verb, "TOP") ||
	    !g_ascii_strcasecmp(verb, "CAPA"))
		return true;
	if (!g_ascii_strcasecmp(verb, "LIST") ||
	    !g_ascii_strcasecmp(verb, "UIDL"))
		return !has_arg;
	return false;
}

int spi_unstuff(const char **line, size_t *len, bool start_of_line)
{
	if (!start_of_line || *len == 0 || (*line)[0] != '.')
		return 0;
	if (*len == 1)
		return 1;
	(*line)++;
	(*len)--;
	return 0;
}
