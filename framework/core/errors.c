/* The one table of error codes (the reference's numbers and texts) and the
 * per-object detail message that names what failed. */
#include <errno.h>
#include <netdb.h>

#include "spop-private.h"

struct error_entry {
	int code;
	const char *text;
};

/* Keyed by number, unlike the rest of the framework: this is the
 * reference's list transcribed, codes libspop never returns included, and
 * is read against it. */
static const struct error_entry error_table[] = {
    {0, "OK."},
    {100, "You cannot change the RemotePort at this time. A connection is "
	  "in progress."},
    {101, "You cannot change the RemoteHost (Server) at this time. A "
	  "connection is in progress."},
    {102, "The RemoteHost address is invalid (0.0.0.0)."},
    {104, "Already connected. If you want to reconnect, close the current "
	  "connection first."},
    {106, "You cannot change the LocalPort at this time. A connection is "
	  "in progress."},
    {107, "You cannot change the LocalHost at this time. A connection is "
	  "in progress."},
    {112, "You cannot change MaxLineLength at this time. A connection is "
	  "in progress."},
    {116, "MailPort cannot be zero. Please specify a valid service port "
	  "number."},
    {117, "You cannot change the UseConnection option while the class is "
	  "active."},
    {118, "Firewall error."},
    {135, "Operation would block."},
    {171, "POP protocol error."},
    {172, "Error communicating with server."},
    {173, "Please specify a valid MailServer."},
    {174, "Busy executing current method."},
    {201, "Timeout."},
    {211, "Action impossible in control's present state."},
    {212, "Action impossible while not connected."},
    {213, "Action impossible while listening."},
    {270, "Cannot load specified security library."},
    {271, "Cannot open certificate store."},
    {272, "Cannot find specified certificate."},
    {273, "Cannot acquire security credentials."},
    {274, "Cannot find certificate chain."},
    {275, "Cannot verify certificate chain."},
    {276, "Error during handshake."},
    {280, "Error verifying certificate."},
    {281, "Could not find client certificate."},
    {282, "Could not find server certificate."},
    {283, "Error encrypting data."},
    {284, "Error decrypting data."},
    {301, "Timeout."},
    {302, "Could not open file."},
    {434, "Unable to convert string to selected CodePage."},
    {1105, "Already connecting. If you want to reconnect, close the current "
	   "connection first."},
    {1117, "You need to connect first."},
    {1119, "You cannot change the LocalHost at this time. A connection is "
	   "in progress."},
    {1120, "Connection dropped by remote host."},
    {1201, "No plugin serves the requested selection."},
    {1202, "Plugin built for another ABI version."},
    {1203, "Plugin module is not valid."},
    {1210, "Unknown configuration setting."},
    {1211, "Invalid value."},
    {1212, "Not available on this platform."},
    {1213, "Refused by the security policy."},
    {10004, "[10004] Interrupted system call."},
    {10009, "[10009] Bad file number."},
    {10013, "[10013] Access denied."},
    {10014, "[10014] Bad address."},
    {10022, "[10022] Invalid argument."},
    {10024, "[10024] Too many open files."},
    {10035, "[10035] Operation would block."},
    {10036, "[10036] Operation now in progress."},
    {10037, "[10037] Operation already in progress."},
    {10038, "[10038] Socket operation on non-socket."},
    {10039, "[10039] Destination address required."},
    {10040, "[10040] Message too long."},
    {10041, "[10041] Protocol wrong type for socket."},
    {10042, "[10042] Bad protocol option."},
    {10043, "[10043] Protocol not supported."},
    {10044, "[10044] Socket type not supported."},
    {10045, "[10045] Operation not supported on socket."},
    {10046, "[10046] Protocol family not supported."},
    {10047, "[10047] Address family not supported by protocol family."},
    {10048, "[10048] Address already in use."},
    {10049, "[10049] Can't assign requested address."},
    {10050, "[10050] Network is down."},
    {10051, "[10051] Network is unreachable."},
    {10052, "[10052] Net dropped connection or reset."},
    {10053, "[10053] Software caused connection abort."},
    {10054, "[10054] Connection reset by peer."},
    {10055, "[10055] No buffer space available."},
    {10056, "[10056] Socket is already connected."},
    {10057, "[10057] Socket is not connected."},
    {10058, "[10058] Can't send after socket shutdown."},
    {10059, "[10059] Too many references, can't splice."},
    {10060, "[10060] Connection timed out."},
    {10061, "[10061] Connection refused."},
    {10062, "[10062] Too many levels of symbolic links."},
    {10063, "[10063] File name too long."},
    {10064, "[10064] Host is down."},
    {10065, "[10065] No route to host."},
    {10066, "[10066] Directory not empty"},
    {10067, "[10067] Too many processes."},
    {10068, "[10068] Too many users."},
    {10069, "[10069] Disc Quota Exceeded."},
    {10070, "[10070] Stale NFS file handle."},
    {10071, "[10071] Too many levels of remote in path."},
    {10091, "[10091] Network subsystem is unavailable."},
    {10092, "[10092] WINSOCK DLL Version out of range."},
    {10093, "[10093] Winsock not loaded yet."},
    {11001, "[11001] Host not found."},
    {11002, "[11002] Non-authoritative 'Host not found' (try again or check "
	    "DNS setup)."},
    {11003, "[11003] Non-recoverable errors: FORMERR, REFUSED, NOTIMP."},
    {11004, "[11004] Valid name, no data record (check DNS setup)."},
};

SPI_EXPORT const char *spop_error_text(int code)
{
	for (size_t i = 0; i < G_N_ELEMENTS(error_table); i++)
		if (error_table[i].code == code)
			return error_table[i].text;
	return "Unknown error.";
}

/* errno values map onto the reference's Winsock-numbered codes. */
int spi_errno_to_code(int err)
{
	switch (err) {
	case EINTR: return SPOP_ERR_INTERRUPTED;
	case EBADF: return SPOP_ERR_BAD_FILE_NUMBER;
	case EACCES:
	case EPERM: return SPOP_ERR_ACCESS_DENIED;
	case EFAULT: return SPOP_ERR_BAD_ADDRESS;
	case EINVAL: return SPOP_ERR_INVALID_ARGUMENT;
	case EMFILE:
	case ENFILE: return SPOP_ERR_TOO_MANY_OPEN_FILES;
	case EAGAIN: return SPOP_ERR_SOCKET_WOULD_BLOCK;
	case EINPROGRESS: return SPOP_ERR_IN_PROGRESS;
	case EALREADY: return SPOP_ERR_ALREADY_IN_PROGRESS;
	case ENOTSOCK: return SPOP_ERR_NOT_A_SOCKET;
	case EDESTADDRREQ: return SPOP_ERR_DESTINATION_REQUIRED;
	case EMSGSIZE: return SPOP_ERR_MESSAGE_TOO_LONG;
	case EPROTOTYPE: return SPOP_ERR_PROTOCOL_WRONG_TYPE;
	case ENOPROTOOPT: return SPOP_ERR_BAD_PROTOCOL_OPTION;
	case EPROTONOSUPPORT: return SPOP_ERR_PROTOCOL_NOT_SUPPORTED;
	case ESOCKTNOSUPPORT: return SPOP_ERR_SOCKET_TYPE_NOT_SUPPORTED;
	case EOPNOTSUPP: return SPOP_ERR_OPERATION_NOT_SUPPORTED;
	case EPFNOSUPPORT: return SPOP_ERR_PROTOCOL_FAMILY_NOT_SUPPORTED;
	case EAFNOSUPPORT: return SPOP_ERR_ADDRESS_FAMILY_NOT_SUPPORTED;
	case EADDRINUSE: return SPOP_ERR_ADDRESS_IN_USE;
	case EADDRNOTAVAIL: return SPOP_ERR_ADDRESS_NOT_AVAILABLE;
	case ENETDOWN: return SPOP_ERR_NET_DOWN;
	case ENETUNREACH: return SPOP_ERR_NET_UNREACHABLE;
	case ENETRESET: return SPOP_ERR_NET_RESET;
	case ECONNABORTED: return SPOP_ERR_CONNECTION_ABORTED;
	case ECONNRESET:
	case EPIPE: return SPOP_ERR_CONNECTION_RESET;
	case ENOBUFS: return SPOP_ERR_NO_BUFFER_SPACE;
	case EISCONN: return SPOP_ERR_SOCKET_CONNECTED;
	case ENOTCONN: return SPOP_ERR_SOCKET_NOT_CONNECTED;
	case ESHUTDOWN: return SPOP_ERR_SOCKET_SHUTDOWN;
	case ETIMEDOUT: return SPOP_ERR_CONNECT_TIMEOUT;
	case ECONNREFUSED: return SPOP_ERR_CONNECTION_REFUSED;
	case ELOOP: return SPOP_ERR_SYMLINK_LOOP;
	case ENAMETOOLONG: return SPOP_ERR_NAME_TOO_LONG;
	case EHOSTDOWN: return SPOP_ERR_HOST_DOWN;
	case EHOSTUNREACH: return SPOP_ERR_HOST_UNREACHABLE;
	default: return SPOP_ERR_COMMUNICATION;
	}
}

/* The detail quotes what a server sent (a reply, a greeting, a CAPA
 * list): a control character there (ESC[ sequences, BEL, CR, LF) could
 * drive the terminal or forge log lines of whoever prints the message, so
 * each becomes \xNN. Backslashes stay (a domain\user is quoted as is). */
static char *printable(char *detail)
{
	GString *out = NULL;

	for (const char *p = detail; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c >= 0x20 && c != 0x7f) {
			if (out)
				g_string_append_c(out, (char)c);
			continue;
		}
		if (!out)
			out = g_string_new_len(detail, p - detail);
		g_string_append_printf(out, "\\x%02X", c);
	}
	if (!out)
		return detail;
	g_free(detail);
	return g_string_free(out, FALSE);
}

int spi_failv(struct spop *s, int code, const char *fmt, va_list ap)
{
	char *detail = printable(g_strdup_vprintf(fmt, ap));

	g_free(s->error_text);
	s->error_code = code;
	/* The code's text alone says too little; the detail names the input. */
	s->error_text = g_strdup_printf("%s %s", spop_error_text(code), detail);
	g_free(detail);
	return code;
}

int spi_fail(struct spop *s, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spi_failv(s, code, fmt, ap);
	va_end(ap);
	return code;
}

void spi_clear_error(struct spop *s)
{
	s->error_code = 0;
	g_clear_pointer(&s->error_text, g_free);
}

struct spi_saved_error spi_error_save(const struct spop *s)
{
	return (struct spi_saved_error){s->error_code, g_strdup(s->error_text)};
}

void spi_error_restore(struct spop *s, struct spi_saved_error *saved)
{
	/* Unchanged, the current text stays where it is: a caller may hold
	 * it (spi_conn_close's description). */
	if (s->error_code == saved->code &&
	    !g_strcmp0(s->error_text, saved->text)) {
		spi_error_forget(saved);
		return;
	}
	g_free(s->error_text);
	s->error_code = saved->code;
	s->error_text = saved->text;
	saved->text = NULL;
}

void spi_error_forget(struct spi_saved_error *saved)
{
	g_clear_pointer(&saved->text, g_free);
}

SPI_EXPORT int spop_last_error_code(const spop_t *s)
{
	return s ? s->error_code : 0;
}

SPI_EXPORT const char *spop_last_error(const spop_t *s)
{
	return s && s->error_text ? s->error_text : "";
}
