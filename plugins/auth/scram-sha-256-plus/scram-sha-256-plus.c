/* Auth "scram-sha-256-plus" (SASL SCRAM-SHA-256-PLUS, RFC 7677): the SCRAM
 * exchange of plugins/auth/scram/ with SHA256, which binds to the TLS channel
 * (tls-exporter under TLS 1.3, tls-unique below). The server proves it knows
 * the password (MUTUAL). Reached by AuthMechanismName only: the reference's
 * AuthMechanism has no SCRAM value. */
#include <gcrypt.h>

#include "scram.h"

/* 15 random bytes make the 20-character nonce of RFC 7677's example: 120 bits,
 * so a nonce repeats after about 2^60 logins (birthday bound), and the example
 * can be checked byte for byte. */
SCRAM_PLUGIN("scram-sha-256-plus", "SCRAM-SHA-256-PLUS", GCRY_MD_SHA256,
	     GCRY_MAC_HMAC_SHA256, 15, 1, "RFC 7677")
