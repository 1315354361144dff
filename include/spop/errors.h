/** @file
 * libspop error codes, by name. A header of its own so that the public API
 * (spop.h) and the plugin SDK (plugin.h) share one list: a plugin names the
 * code it reports without seeing the application's API. spop_error_text()
 * (spop.h) gives each code's text.
 *
 * The numbers are the reference's ("Trappable Errors") and are never
 * renumbered; a new name is only ever added, with its reference number. */
#ifndef SPOP_ERRORS_H
#define SPOP_ERRORS_H

/** Error codes: the value every libspop function and plugin operation
 * returns on failure (0 on success). The message naming what failed and
 * with what input is spop_last_error(); the reference's short text for a
 * code is spop_error_text(). */
enum spop_error {
	SPOP_OK = 0, /**< success */

	/* The reference's own codes. */
	SPOP_ERR_PORT_CHANGE = 100, /**< cannot change port while connected */
	SPOP_ERR_HOST_CHANGE = 101, /**< cannot change host while connected */
	SPOP_ERR_INVALID_ADDRESS = 102,	  /**< RemoteHost address invalid */
	SPOP_ERR_ALREADY_CONNECTED = 104, /**< already connected */
	/** cannot change LocalPort while connected */
	SPOP_ERR_LOCALPORT_CHANGE = 106,
	/** cannot change LocalHost while connected */
	SPOP_ERR_LOCALHOST_CHANGE = 107,
	/** cannot change MaxLineLength while connected */
	SPOP_ERR_MAXLINE_CHANGE = 112,
	SPOP_ERR_PORT_ZERO = 116,     /**< MailPort cannot be zero */
	SPOP_ERR_FIREWALL = 118,      /**< firewall (proxy) error */
	SPOP_ERR_WOULD_BLOCK = 135,   /**< operation would block */
	SPOP_ERR_PROTOCOL = 171,      /**< POP protocol error; server reply */
	SPOP_ERR_COMMUNICATION = 172, /**< error communicating with server */
	SPOP_ERR_NO_SERVER = 173,     /**< specify a valid MailServer */
	SPOP_ERR_BUSY = 174,	      /**< busy executing current method */
	SPOP_ERR_STATE = 211,	      /**< action impossible in present state */
	SPOP_ERR_TIMEOUT = 301,	      /**< Timeout or AbsoluteTimeout expired */
	SPOP_ERR_FILE = 302,	      /**< could not open file */
	SPOP_ERR_CODEPAGE = 434, /**< cannot convert a string to the CodePage */
	SPOP_ERR_ALREADY_CONNECTING = 1105, /**< already connecting */
	SPOP_ERR_NOT_CONNECTED = 1117,	    /**< you need to connect first */
	SPOP_ERR_DROPPED = 1120, /**< connection dropped by remote host */

	/* Security (TLS, certificates, S/MIME). */
	SPOP_ERR_TLS_LIBRARY = 270, /**< cannot load the security library; a TLS
				       setting the provider refuses */
	SPOP_ERR_CERT_STORE = 271,  /**< cannot open the certificate store */
	SPOP_ERR_CERT_NOT_FOUND = 272, /**< cannot find the certificate */
	SPOP_ERR_CREDENTIALS = 273,    /**< cannot acquire credentials: wrong
					  password or PIN, no private key */
	/** cannot find the certificate chain */
	SPOP_ERR_CHAIN_NOT_FOUND = 274,
	SPOP_ERR_CHAIN_VERIFY = 275, /**< cannot verify the certificate chain */
	SPOP_ERR_HANDSHAKE = 276,    /**< TLS handshake failed */
	/** certificate or signature refused: the server's certificate, an
	 * S/MIME signature, or a server's SASL proof */
	SPOP_ERR_CERT_VERIFY = 280,
	/** the client certificate cannot be found */
	SPOP_ERR_NO_CLIENT_CERT = 281,
	SPOP_ERR_NO_SERVER_CERT = 282, /**< the server sent no certificate */
	SPOP_ERR_ENCRYPT = 283,	       /**< error encrypting data */
	/** error decrypting data (every S/MIME decryption failure) */
	SPOP_ERR_DECRYPT = 284,

	/* Sockets (Winsock numbers) and name resolution. */
	SPOP_ERR_INTERRUPTED = 10004,	  /**< interrupted (spop_interrupt()) */
	SPOP_ERR_BAD_FILE_NUMBER = 10009, /**< bad file number */
	SPOP_ERR_ACCESS_DENIED = 10013,	  /**< access denied */
	SPOP_ERR_BAD_ADDRESS = 10014,	  /**< a pointer, not a host address */
	SPOP_ERR_INVALID_ARGUMENT = 10022,    /**< invalid argument */
	SPOP_ERR_TOO_MANY_OPEN_FILES = 10024, /**< too many open files */
	SPOP_ERR_SOCKET_WOULD_BLOCK = 10035,  /**< the socket's; 135 is ours */
	SPOP_ERR_IN_PROGRESS = 10036,	      /**< operation now in progress */
	/** operation already in progress */
	SPOP_ERR_ALREADY_IN_PROGRESS = 10037,
	SPOP_ERR_NOT_A_SOCKET = 10038, /**< socket operation on a non-socket */
	/** destination address required */
	SPOP_ERR_DESTINATION_REQUIRED = 10039,
	SPOP_ERR_MESSAGE_TOO_LONG = 10040,	 /**< a datagram, not a mail */
	SPOP_ERR_PROTOCOL_WRONG_TYPE = 10041,	 /**< for the socket */
	SPOP_ERR_BAD_PROTOCOL_OPTION = 10042,	 /**< bad protocol option */
	SPOP_ERR_PROTOCOL_NOT_SUPPORTED = 10043, /**< protocol not supported */
	/** socket type not supported */
	SPOP_ERR_SOCKET_TYPE_NOT_SUPPORTED = 10044,
	SPOP_ERR_OPERATION_NOT_SUPPORTED = 10045, /**< on the socket */
	/** protocol family not supported */
	SPOP_ERR_PROTOCOL_FAMILY_NOT_SUPPORTED = 10046,
	/** address family not supported */
	SPOP_ERR_ADDRESS_FAMILY_NOT_SUPPORTED = 10047,
	SPOP_ERR_ADDRESS_IN_USE = 10048, /**< address already in use */
	/** cannot assign the requested address (LocalHost) */
	SPOP_ERR_ADDRESS_NOT_AVAILABLE = 10049,
	SPOP_ERR_NET_DOWN = 10050,	  /**< network is down */
	SPOP_ERR_NET_UNREACHABLE = 10051, /**< network is unreachable */
	SPOP_ERR_NET_RESET = 10052, /**< net dropped connection or reset */
	SPOP_ERR_CONNECTION_ABORTED = 10053, /**< by software (this host) */
	SPOP_ERR_CONNECTION_RESET = 10054,   /**< connection reset by peer */
	SPOP_ERR_NO_BUFFER_SPACE = 10055,    /**< no buffer space available */
	SPOP_ERR_SOCKET_CONNECTED = 10056,   /**< socket is already connected */
	SPOP_ERR_SOCKET_NOT_CONNECTED = 10057, /**< 1117 is the session's */
	SPOP_ERR_SOCKET_SHUTDOWN = 10058, /**< cannot send after shutdown */
	/** connection timed out (ETIMEDOUT, ConnectionTimeout) */
	SPOP_ERR_CONNECT_TIMEOUT = 10060,
	/** connection refused (ECONNREFUSED) */
	SPOP_ERR_CONNECTION_REFUSED = 10061,
	SPOP_ERR_SYMLINK_LOOP = 10062, /**< too many levels of symbolic links */
	SPOP_ERR_NAME_TOO_LONG = 10063,	   /**< file name too long */
	SPOP_ERR_HOST_DOWN = 10064,	   /**< host is down */
	SPOP_ERR_HOST_UNREACHABLE = 10065, /**< no route to host */
	SPOP_ERR_HOST_NOT_FOUND = 11001,   /**< host not found */
	/** host not found for now (try again) */
	SPOP_ERR_HOST_NOT_FOUND_TRY_AGAIN = 11002,
	SPOP_ERR_NO_RECOVERY = 11003, /**< name resolution failed for good */
	/** valid name, no address of the family asked for */
	SPOP_ERR_NO_DATA = 11004,

	/* libspop's own codes (the reference has none for these). */
	SPOP_ERR_PLUGIN_NOT_FOUND = 1201, /**< no plugin serves the selection */
	SPOP_ERR_PLUGIN_ABI = 1202,	  /**< plugin of another ABI version */
	SPOP_ERR_PLUGIN_INVALID = 1203,	  /**< bad module or descriptor */
	SPOP_ERR_UNKNOWN_SETTING = 1210,  /**< Config name not known */
	SPOP_ERR_INVALID_VALUE = 1211, /**< value out of range or malformed */
	SPOP_ERR_NOT_AVAILABLE = 1212, /**< not available on this platform */
	SPOP_ERR_POLICY = 1213, /**< refused by the security policy (a secret
				   without TLS) */
};

#endif
