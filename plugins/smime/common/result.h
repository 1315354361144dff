/* What both S/MIME engines do the same way with a result: copies into
 * host memory, the message's verdict from its signers, and clearing. A
 * static library linked into each engine module (symbols hidden). */
#ifndef SPOP_SMIME_RESULT_H
#define SPOP_SMIME_RESULT_H

#include <spop/plugin.h>

/* len bytes of data in host->alloc()'d memory (at least one byte); NULL
 * when out of memory. */
void *smime_dup(struct spop_host *host, const void *data, size_t len);

/* result->verified (at least one signer, and every signature_ok), and
 * algorithm and signer_der from the first signer. */
void smime_result_sum_signers(struct spop_host *host,
			      struct spop_smime_result *result);

/* Frees what result points to, wiping decrypted content first, and
 * zeroes it, size kept. NULL is allowed. */
void smime_result_clear(struct spop_host *host,
			struct spop_smime_result *result);

#endif
