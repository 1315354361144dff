/* The S/MIME engines' shared result handling (result.h). */
#include "result.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

void *smime_dup(struct spop_host *host, const void *data, size_t len)
{
	void *p = host->alloc(host, len ? len : 1);

	if (p && len)
		memcpy(p, data, len);
	return p;
}

void smime_result_sum_signers(struct spop_host *host,
			      struct spop_smime_result *result)
{
	const struct spop_smime_signer *first = result->signers;

	result->verified = result->n_signers > 0;
	for (size_t i = 0; i < result->n_signers; i++)
		if (!result->signers[i].signature_ok)
			result->verified = 0;
	if (!result->n_signers)
		return;
	snprintf(result->algorithm, sizeof(result->algorithm), "%s",
		 first->digest_algorithm);
	if (first->cert_der) {
		result->signer_der =
		    smime_dup(host, first->cert_der, first->cert_der_len);
		result->signer_der_len =
		    result->signer_der ? first->cert_der_len : 0;
	}
}

void smime_result_clear(struct spop_host *host,
			struct spop_smime_result *result)
{
	if (!result)
		return;
	if (result->content) {
		/* Decrypted content is secret: wiped before it goes. */
		explicit_bzero(result->content, result->content_len);
		host->free(host, result->content);
	}
	host->free(host, result->signer_der);
	for (size_t i = 0; i < result->n_chain; i++)
		if (result->chain_der)
			host->free(host, result->chain_der[i]);
	host->free(host, result->chain_der);
	host->free(host, result->chain_len);
	if (result->size >= offsetof(struct spop_smime_result, n_signers) +
				sizeof(result->n_signers)) {
		for (size_t i = 0; i < result->n_signers; i++)
			if (result->signers)
				host->free(host, result->signers[i].cert_der);
		host->free(host, result->signers);
	}
	uint32_t size = result->size;
	memset(result, 0, size < sizeof(*result) ? size : sizeof(*result));
	result->size = size;
}
