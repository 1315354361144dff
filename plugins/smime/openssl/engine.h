/* The openssl S/MIME engine: what its source files share.
 *
 * openssl.c holds the descriptor, the ops table and result_clear;
 * decrypt.c the decrypt half (CMS_decrypt), verify.c the verify half
 * (per-SignerInfo checks and X509_verify_cert); storekey.c the small
 * in-process provider through which OpenSSL's CMS code reaches a
 * cert-store key (store_ops->key_decrypt, key_derive), so a token's key
 * never leaves the token. */
#ifndef SPOP_SMIME_OPENSSL_ENGINE_H
#define SPOP_SMIME_OPENSSL_ENGINE_H

#include <openssl/evp.h>
#include <spop/plugin.h>

/* The ops table's slots (struct spop_smime_ops). */
int ossl_smime_decrypt(struct spop_host *host, const unsigned char *cms,
		       size_t len, const struct spop_smime_keys *keys,
		       struct spop_smime_result *result);
int ossl_smime_verify(struct spop_host *host, const unsigned char *cms,
		      size_t len, const unsigned char *content,
		      size_t content_len, const struct spop_smime_keys *keys,
		      struct spop_smime_result *result);

/* The engine's own library context: OpenSSL's default provider plus the
 * store-key provider, made once per process; NULL when OpenSSL refuses
 * to make it. */
OSSL_LIB_CTX *ossl_smime_libctx(void);

/* An EVP_PKEY in ossl_smime_libctx() whose private-key operations go to
 * the store: RSA (decrypt, PKCS#1 v1.5 and OAEP) or EC (ECDH with the
 * X9.63 KDF), by the type of the certificate's public key cert_pub. NULL
 * for other key types or when the provider refuses. */
EVP_PKEY *ossl_smime_store_key(struct spop_host *host,
			       const struct spop_certstore_ops *ops, void *key,
			       EVP_PKEY *cert_pub);

#endif
