/* Auth "scram-sha-1" (SASL SCRAM-SHA-1, RFC 5802): the SCRAM exchange of
 * plugins/auth/scram/ with SHA1. The server proves
 * it knows the password (MUTUAL). Reached by AuthMechanismName only: the
 * reference's AuthMechanism has no SCRAM value. */
#include <gcrypt.h>

#include "scram.h"

/* 18 random bytes make the 24-character nonce of RFC 5802's example (144 bits).
 */
SCRAM_PLUGIN("scram-sha-1", "SCRAM-SHA-1", GCRY_MD_SHA1, GCRY_MAC_HMAC_SHA1, 18,
	     0, "RFC 5802")
