/* POP3 reply grammar (RFC 1939, RFC 2449): status lines, which commands
 * answer with a multi-line body, and dot-unstuffing of body lines. Pure
 * functions, tested as data in tests/unit/test-pop3.c. */
#include <string.h>

#include "pop3.h"

int spi_reply_parse(const char *line, size_t len, struct spi_reply *out)
{
	size_t word;

	memset(out, 0, sizeof(*out));
	out->text = "";
	if (len >= 3 && !memcmp(line, "+OK", 3)) {
		out->kind = SPI_REPLY_OK;
		word = 3;
	} else if (len >= 4 && !memcmp(line, "-ERR", 4)) {
		out->kind = SPI_REPLY_ERR;
		word = 4;
	} else if (len >= 1 && line[0] == '+' && (len == 1 || line[1] == ' ')) {
		out->kind = SPI_REPLY_CONTINUE;
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
	if (out->kind != SPI_REPLY_CONTINUE && word < len &&
	    line[word] == '[') {
		const char *end = memchr(line + word, ']', len - word);
		size_t n = end ? (size_t)(end - line - word - 1) : 0;

		if (end && n > 0 && n < sizeof(out->resp_code))
			memcpy(out->resp_code, line + word + 1, n);
	}
	return 0;
}

/* RFC 2449 section 8 and RFC 3206: what the server tells with [CODE]. */
static const struct {
	const char *code, *meaning;
} resp_codes[] = {
    {"IN-USE", "the mailbox is locked by another session"},
    {"LOGIN-DELAY", "logged in again too soon; the server wants a pause"},
    {"SYS/TEMP", "a temporary problem on the server; try again later"},
    {"SYS/PERM", "a permanent problem on the server; retrying will not help"},
    {"AUTH", "the credentials were rejected"},
};

const char *spi_resp_code_meaning(const char *code)
{
	for (size_t i = 0; i < G_N_ELEMENTS(resp_codes); i++)
		if (!g_ascii_strcasecmp(code, resp_codes[i].code))
			return resp_codes[i].meaning;
	return NULL;
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
