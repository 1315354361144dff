/* Auth "scram-sha-1-plus" (SASL SCRAM-SHA-1-PLUS, RFC 5802): the SCRAM exchange
 * of plugins/auth/scram/ with SHA1, which binds to the TLS channel
 * (tls-exporter under TLS 1.3, tls-unique below). The server proves it knows
 * the password (MUTUAL). Reached by AuthMechanismName only: the reference's
 * AuthMechanism has no SCRAM value. */
#include <gcrypt.h>

#include "scram.h"

/* 18 random bytes make the 24-character nonce of RFC 5802's example (144 bits).
 */
SCRAM_PLUGIN("scram-sha-1-plus", "SCRAM-SHA-1-PLUS", GCRY_MD_SHA1,
	     GCRY_MAC_HMAC_SHA1, 18, 1, "RFC 5802")
