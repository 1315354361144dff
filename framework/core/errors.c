/* The one table of error codes (the reference's numbers and texts) and the
 * per-object detail message that names what failed. */
#include <errno.h>
#include <netdb.h>

#include "spop-private.h"

struct error_entry {
	int code;
	const char *text;
};

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
	case EINTR: return 10004;
	case EBADF: return 10009;
	case EACCES:
	case EPERM: return 10013;
	case EFAULT: return 10014;
	case EINVAL: return 10022;
	case EMFILE:
	case ENFILE: return 10024;
	case EAGAIN: return 10035;
	case EINPROGRESS: return 10036;
	case EALREADY: return 10037;
	case ENOTSOCK: return 10038;
	case EDESTADDRREQ: return 10039;
	case EMSGSIZE: return 10040;
	case EPROTOTYPE: return 10041;
	case ENOPROTOOPT: return 10042;
	case EPROTONOSUPPORT: return 10043;
	case ESOCKTNOSUPPORT: return 10044;
	case EOPNOTSUPP: return 10045;
	case EPFNOSUPPORT: return 10046;
	case EAFNOSUPPORT: return 10047;
	case EADDRINUSE: return 10048;
	case EADDRNOTAVAIL: return 10049;
	case ENETDOWN: return 10050;
	case ENETUNREACH: return 10051;
	case ENETRESET: return 10052;
	case ECONNABORTED: return 10053;
	case ECONNRESET:
	case EPIPE: return 10054;
	case ENOBUFS: return 10055;
	case EISCONN: return 10056;
	case ENOTCONN: return 10057;
	case ESHUTDOWN: return 10058;
	case ETIMEDOUT: return 10060;
	case ECONNREFUSED: return 10061;
	case ELOOP: return 10062;
	case ENAMETOOLONG: return 10063;
	case EHOSTDOWN: return 10064;
	case EHOSTUNREACH: return 10065;
	default: return 172;
	}
}

int spi_failv(struct spop *s, int code, const char *fmt, va_list ap)
{
	char *detail = g_strdup_vprintf(fmt, ap);

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

SPI_EXPORT int spop_last_error_code(const spop_t *s)
{
	return s ? s->error_code : 0;
}

SPI_EXPORT const char *spop_last_error(const spop_t *s)
{
	return s && s->error_text ? s->error_text : "";
}
