/* The key handle of an in-memory store and its operations: signing and
 * PKCS#1 v1.5 decryption through GnuTLS's abstract private key, RSA-OAEP
 * through libgcrypt (GnuTLS 3.7 has no OAEP), and PKCS#8 export. */
#include "certstore.h"
#include "../../common/gcrypt-ready.h"

#include <gcrypt.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int certstore_hand_out(struct spop_host *host, gnutls_datum_t *d,
		       unsigned char **out, size_t *out_len)
{
	unsigned char *p = host->alloc(host, d->size ? d->size : 1);

	if (p && d->size)
		memcpy(p, d->data, d->size);
	*out = p;
	*out_len = p ? d->size : 0;
	gnutls_memset(d->data, 0, d->size);
	gnutls_free(d->data);
	d->data = NULL;
	d->size = 0;
	return p ? 0 : -1;
}

static const char *key_type(const struct certstore_key *k)
{
	int pk = gnutls_privkey_get_pk_algorithm(k->priv, NULL);
	const char *name = gnutls_pk_get_name((gnutls_pk_algorithm_t)pk);

	return name ? name : "unknown";
}

/* SPOP_HASH_* -> GnuTLS and libgcrypt names; false for an unknown id. */
static bool map_hash(int hash, gnutls_digest_algorithm_t *dig,
		     const char **gcry_name)
{
	static const struct {
		int id;
		gnutls_digest_algorithm_t dig;
		const char *gcry;
	} map[] = {
	    {SPOP_HASH_SHA1, GNUTLS_DIG_SHA1, "sha1"},
	    {SPOP_HASH_SHA224, GNUTLS_DIG_SHA224, "sha224"},
	    {SPOP_HASH_SHA256, GNUTLS_DIG_SHA256, "sha256"},
	    {SPOP_HASH_SHA384, GNUTLS_DIG_SHA384, "sha384"},
	    {SPOP_HASH_SHA512, GNUTLS_DIG_SHA512, "sha512"},
	    {SPOP_HASH_MD5, GNUTLS_DIG_MD5, "md5"},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].id == hash) {
			*dig = map[i].dig;
			if (gcry_name)
				*gcry_name = map[i].gcry;
			return true;
		}
	return false;
}

/* RSA-PSS in GnuTLS comes in two flavours: RSAE for an rsaEncryption key,
 * plain PSS for a key restricted to RSA-PSS (id-RSASSA-PSS). GnuTLS knows
 * PSS with SHA-256, -384 and -512 only. */
static gnutls_sign_algorithm_t pss_sign(int pk, gnutls_digest_algorithm_t dig)
{
	bool rsae = pk == GNUTLS_PK_RSA;

	switch (dig) {
	case GNUTLS_DIG_SHA256:
		return rsae ? GNUTLS_SIGN_RSA_PSS_RSAE_SHA256
			    : GNUTLS_SIGN_RSA_PSS_SHA256;
	case GNUTLS_DIG_SHA384:
		return rsae ? GNUTLS_SIGN_RSA_PSS_RSAE_SHA384
			    : GNUTLS_SIGN_RSA_PSS_SHA384;
	case GNUTLS_DIG_SHA512:
		return rsae ? GNUTLS_SIGN_RSA_PSS_RSAE_SHA512
			    : GNUTLS_SIGN_RSA_PSS_SHA512;
	default: return GNUTLS_SIGN_UNKNOWN;
	}
}

int certstore_key_sign(struct spop_host *host, void *key, int scheme, int hash,
		       const unsigned char *digest, size_t digest_len,
		       unsigned char **sig, size_t *sig_len)
{
	struct certstore_key *k = key;
	gnutls_digest_algorithm_t dig;
	gnutls_sign_algorithm_t sign = GNUTLS_SIGN_UNKNOWN;
	gnutls_datum_t h, s = {NULL, 0};
	const char *sname;
	bool fits;
	int pk, ret;

	*sig = NULL;
	*sig_len = 0;
	if (!map_hash(hash, &dig, NULL))
		return host->set_error(host, SPOP_ERR_INVALID_VALUE,
				       "Cannot sign with the key of the %s: "
				       "unknown hash identifier %d.",
				       k->store_name, hash);
	if (!digest || digest_len != gnutls_hash_get_len(dig))
		return host->set_error(
		    host, SPOP_ERR_INVALID_VALUE,
		    "Cannot sign with the key of the %s: a %s digest is %u "
		    "bytes, not %zu.",
		    k->store_name, gnutls_digest_get_name(dig),
		    gnutls_hash_get_len(dig), digest_len);
	pk = gnutls_privkey_get_pk_algorithm(k->priv, NULL);
	switch (scheme) {
	case SPOP_KEY_RSA_PKCS1:
		sname = "RSA PKCS#1 v1.5";
		fits = pk == GNUTLS_PK_RSA;
		sign = gnutls_pk_to_sign(GNUTLS_PK_RSA, dig);
		break;
	case SPOP_KEY_RSA_PSS:
		sname = "RSA-PSS";
		fits = pk == GNUTLS_PK_RSA || pk == GNUTLS_PK_RSA_PSS;
		sign = pss_sign(pk, dig);
		break;
	case SPOP_KEY_ECDSA:
		sname = "ECDSA";
		fits = pk == GNUTLS_PK_ECDSA;
		sign = gnutls_pk_to_sign(GNUTLS_PK_ECDSA, dig);
		break;
	default:
		return host->set_error(host, SPOP_ERR_INVALID_VALUE,
				       "Cannot sign with the key of the %s: "
				       "unknown signature scheme %d.",
				       k->store_name, scheme);
	}
	if (!fits)
		return host->set_error(host, SPOP_ERR_CREDENTIALS,
				       "Cannot sign with %s: the key of the %s "
				       "is a %s key.",
				       sname, k->store_name, key_type(k));
	if (sign == GNUTLS_SIGN_UNKNOWN)
		return host->set_error(
		    host, SPOP_ERR_NOT_AVAILABLE,
		    "Cannot sign with the key of the %s: "
		    "GnuTLS has no %s with %s%s.",
		    k->store_name, sname, gnutls_digest_get_name(dig),
		    scheme == SPOP_KEY_RSA_PSS ? " (only SHA-256, SHA-384 and "
						 "SHA-512)"
					       : "");
	h.data = (unsigned char *)digest;
	h.size = (unsigned)digest_len;
	ret = gnutls_privkey_sign_hash2(k->priv, sign, 0, &h, &s);
	if (ret < 0)
		return host->set_error(host, SPOP_ERR_ENCRYPT,
				       "Signing with the key of the %s (%s) "
				       "failed: %s.",
				       k->store_name,
				       gnutls_sign_get_name(sign),
				       gnutls_strerror(ret));
	if (certstore_hand_out(host, &s, sig, sig_len))
		return host->set_error(host, SPOP_ERR_ENCRYPT,
				       "Signing with the key of the %s: out "
				       "of memory.",
				       k->store_name);
	return 0;
}

/* libgcrypt (plugins/common/gcrypt-ready.h): the S-expressions holding
 * key numbers go to its secure-memory pool, wiped when released, when this
 * module set the pool up. When someone else initialised libgcrypt, their
 * choice stands and the key numbers go to ordinary memory: asking for
 * secure memory where no pool was set up would abort the process. */
static void wipe_datum(gnutls_datum_t *d)
{
	if (d->data) {
		gnutls_memset(d->data, 0, d->size);
		gnutls_free(d->data);
	}
	d->data = NULL;
	d->size = 0;
}

/* An unsigned big-endian number as an MPI, moved into secure memory when
 * it is secret. */
static gcry_mpi_t to_mpi(const gnutls_datum_t *d, bool secret)
{
	gcry_mpi_t m = NULL;

	if (gcry_mpi_scan(&m, GCRYMPI_FMT_USG, d->data, d->size, NULL))
		return NULL;
	if (secret && spop_gcrypt_ready()->secmem)
		gcry_mpi_set_flag(m, GCRYMPI_FLAG_SECURE);
	return m;
}

/* The private key as a libgcrypt S-expression: n, e, d, and the primes
 * ordered p < q with u = p^-1 mod q, as libgcrypt's CRT wants them. */
static gcry_error_t gcrypt_rsa_key(const struct certstore_key *k,
				   gcry_sexp_t *skey, const char **why)
{
	gnutls_datum_t n = {0}, e = {0}, d = {0}, p = {0}, q = {0};
	gcry_mpi_t mn = NULL, me = NULL, md = NULL, mp = NULL, mq = NULL,
		   mu = NULL;
	gcry_error_t err = GPG_ERR_GENERAL;
	int ret;

	*skey = NULL;
	ret = gnutls_x509_privkey_export_rsa_raw2(k->x509, &n, &e, &d, &p, &q,
						  NULL, NULL, NULL);
	if (ret < 0) {
		*why = gnutls_strerror(ret);
		return GPG_ERR_GENERAL;
	}
	mn = to_mpi(&n, false);
	me = to_mpi(&e, false);
	md = to_mpi(&d, true);
	mp = to_mpi(&p, true);
	mq = to_mpi(&q, true);
	*why = "the key's numbers do not fit libgcrypt";
	if (!mn || !me || !md || !mp || !mq)
		goto out;
	if (gcry_mpi_cmp(mp, mq) > 0)
		gcry_mpi_swap(mp, mq);
	mu = spop_gcrypt_ready()->secmem ? gcry_mpi_snew(0) : gcry_mpi_new(0);
	if (!gcry_mpi_invm(mu, mp, mq))
		goto out;
	err = gcry_sexp_build(
	    skey, NULL, "(private-key(rsa(n%m)(e%m)(d%m)(p%m)(q%m)(u%m)))", mn,
	    me, md, mp, mq, mu);
	if (err)
		*why = gcry_strerror(err);
out:
	/* libgcrypt wipes an MPI's limbs when it releases it. */
	gcry_mpi_release(mn);
	gcry_mpi_release(me);
	gcry_mpi_release(md);
	gcry_mpi_release(mp);
	gcry_mpi_release(mq);
	gcry_mpi_release(mu);
	wipe_datum(&n);
	wipe_datum(&e);
	wipe_datum(&d);
	wipe_datum(&p);
	wipe_datum(&q);
	return err;
}

static int oaep_decrypt(struct spop_host *host, struct certstore_key *k,
			const char *hash_name, const unsigned char *in,
			size_t in_len, unsigned char **out, size_t *out_len)
{
	gcry_sexp_t skey = NULL, data = NULL, plain = NULL, value = NULL;
	gcry_mpi_t c = NULL;
	const char *why = NULL, *p;
	size_t plen = 0, modulus_len;
	gcry_error_t err;
	int rc = 0;

	if (!spop_gcrypt_ready()->ok)
		return host->set_error(
		    host, SPOP_ERR_DECRYPT,
		    "RSA-OAEP decryption with the key of the "
		    "%s: libgcrypt %s or later is needed, "
		    "%s is loaded.",
		    k->store_name, GCRYPT_VERSION, gcry_check_version(NULL));
	err = gcrypt_rsa_key(k, &skey, &why);
	if (err)
		return host->set_error(
		    host, SPOP_ERR_DECRYPT,
		    "RSA-OAEP decryption with the key of the "
		    "%s: cannot use the key (%s).",
		    k->store_name, why);
	modulus_len = (gcry_pk_get_nbits(skey) + 7) / 8;
	if (in_len != modulus_len) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "RSA-OAEP decryption with the key of the "
				     "%s failed: the ciphertext is %zu bytes, "
				     "the key's modulus %zu.",
				     k->store_name, in_len, modulus_len);
		goto out;
	}
	err = gcry_mpi_scan(&c, GCRYMPI_FMT_USG, in, in_len, NULL);
	if (!err)
		err = gcry_sexp_build(&data, NULL,
				      "(enc-val(flags oaep)(hash-algo %s)"
				      "(rsa(a%m)))",
				      hash_name, c);
	if (!err)
		err = gcry_pk_decrypt(&plain, data, skey);
	if (err) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "RSA-OAEP (%s) decryption with the key of "
				     "the %s failed: %s (wrong key, hash or "
				     "padding).",
				     hash_name, k->store_name,
				     gcry_strerror(err));
		goto out;
	}
	value = gcry_sexp_find_token(plain, "value", 0);
	p = value ? gcry_sexp_nth_data(value, 1, &plen) : NULL;
	if (!p) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "RSA-OAEP decryption with the key of the "
				     "%s: libgcrypt returned no value.",
				     k->store_name);
		goto out;
	}
	*out = host->alloc(host, plen ? plen : 1);
	if (!*out) {
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "RSA-OAEP decryption with the key of the "
				     "%s: out of memory.",
				     k->store_name);
		goto out;
	}
	memcpy(*out, p, plen);
	*out_len = plen;
out:
	gcry_mpi_release(c);
	gcry_sexp_release(value);
	gcry_sexp_release(plain);
	gcry_sexp_release(data);
	gcry_sexp_release(skey);
	return rc;
}

int certstore_key_decrypt(struct spop_host *host, void *key, int padding,
			  int oaep_hash, const unsigned char *in, size_t in_len,
			  unsigned char **out, size_t *out_len)
{
	struct certstore_key *k = key;
	gnutls_digest_algorithm_t dig;
	const char *gcry_name = NULL;
	gnutls_datum_t c, plain = {NULL, 0};
	int ret;

	*out = NULL;
	*out_len = 0;
	if (gnutls_privkey_get_pk_algorithm(k->priv, NULL) != GNUTLS_PK_RSA)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "Cannot decrypt with the key of the %s: "
				       "it is a %s key, and only RSA "
				       "(rsaEncryption) keys decrypt.",
				       k->store_name, key_type(k));
	if (!in || in_len == 0)
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "Cannot decrypt with the key of the %s: "
				       "the ciphertext is empty.",
				       k->store_name);
	switch (padding) {
	case SPOP_KEY_RSA_PKCS1:
		c.data = (unsigned char *)in;
		c.size = (unsigned)in_len;
		ret = gnutls_privkey_decrypt_data(k->priv, 0, &c, &plain);
		if (ret < 0)
			return host->set_error(
			    host, SPOP_ERR_DECRYPT,
			    "RSA PKCS#1 v1.5 decryption with the key of the "
			    "%s failed: %s.",
			    k->store_name, gnutls_strerror(ret));
		if (certstore_hand_out(host, &plain, out, out_len))
			return host->set_error(host, SPOP_ERR_DECRYPT,
					       "Decryption with the key of the "
					       "%s: out of memory.",
					       k->store_name);
		return 0;
	case SPOP_KEY_RSA_OAEP:
		/* RFC 8017's default OAEP hash is SHA-1. */
		if (oaep_hash == 0)
			oaep_hash = SPOP_HASH_SHA1;
		if (!map_hash(oaep_hash, &dig, &gcry_name) ||
		    dig == GNUTLS_DIG_MD5)
			return host->set_error(host, SPOP_ERR_DECRYPT,
					       "Cannot decrypt with the key of "
					       "the %s: OAEP hash identifier "
					       "%d is not SHA-1, SHA-224, "
					       "SHA-256, SHA-384 or SHA-512.",
					       k->store_name, oaep_hash);
		return oaep_decrypt(host, k, gcry_name, in, in_len, out,
				    out_len);
	default:
		return host->set_error(host, SPOP_ERR_DECRYPT,
				       "Cannot decrypt with the key of the %s: "
				       "unknown padding %d (RSA PKCS#1 v1.5 "
				       "and OAEP only).",
				       k->store_name, padding);
	}
}

int certstore_key_export(struct spop_host *host, void *key,
			 unsigned char **pkcs8, size_t *len)
{
	struct certstore_key *k = key;
	gnutls_datum_t d = {NULL, 0};
	int ret;

	*pkcs8 = NULL;
	*len = 0;
	ret = gnutls_x509_privkey_export2_pkcs8(k->x509, GNUTLS_X509_FMT_DER,
						NULL, GNUTLS_PKCS_PLAIN, &d);
	if (ret < 0)
		return host->set_error(host, SPOP_ERR_CREDENTIALS,
				       "Cannot export the key of the %s as "
				       "PKCS#8: %s.",
				       k->store_name, gnutls_strerror(ret));
	if (certstore_hand_out(host, &d, pkcs8, len))
		return host->set_error(host, SPOP_ERR_CREDENTIALS,
				       "Cannot export the key of the %s: out "
				       "of memory.",
				       k->store_name);
	return 0;
}

/* The Weierstrass curves GnuTLS keys come on, by libgcrypt's names. */
static const char *gcrypt_curve(gnutls_ecc_curve_t curve)
{
	switch (curve) {
	case GNUTLS_ECC_CURVE_SECP192R1: return "NIST P-192";
	case GNUTLS_ECC_CURVE_SECP224R1: return "NIST P-224";
	case GNUTLS_ECC_CURVE_SECP256R1: return "NIST P-256";
	case GNUTLS_ECC_CURVE_SECP384R1: return "NIST P-384";
	case GNUTLS_ECC_CURVE_SECP521R1: return "NIST P-521";
	default: return NULL;
	}
}

/* The shared secret of RFC 5753 / SEC 1 (3.3.1): the X coordinate of
 * d * Q, where d is the key's scalar and Q the peer's point, which must be
 * a canonical uncompressed point on the key's curve (checked here, so that
 * an invalid-curve point never meets the key). The multiplication is
 * libgcrypt's; with the scalar in secure memory it takes the constant-time
 * path. */
static int ecdh(struct spop_host *host, const struct certstore_key *k,
		const char *curve_name, const char *gcurve, size_t field_len,
		const gnutls_datum_t *d, const unsigned char *peer,
		size_t peer_len, unsigned char **secret, size_t *secret_len)
{
	gcry_ctx_t ctx = NULL;
	gcry_mpi_t q_enc = NULL, md = NULL, p = NULL, x = NULL, y = NULL,
		   sx = NULL;
	gcry_mpi_point_t q = NULL, r = NULL;
	gcry_error_t err;
	size_t n = 0;
	int rc = 0;

	err = gcry_mpi_ec_new(&ctx, NULL, gcurve);
	if (err)
		return host->set_error(host, SPOP_ERR_CREDENTIALS,
				       "Cannot derive with the key of the %s: "
				       "libgcrypt has no curve %s (%s).",
				       k->store_name, curve_name,
				       gcry_strerror(err));
	/* The encoded point is decoded by libgcrypt (SEC 1 2.3.4). */
	q_enc = gcry_mpi_set_opaque_copy(NULL, peer, (unsigned)peer_len * 8);
	err = q_enc ? gcry_mpi_ec_set_mpi("q", q_enc, ctx) : GPG_ERR_ENOMEM;
	if (!err) {
		q = gcry_mpi_ec_get_point("q", ctx, 1);
		p = gcry_mpi_ec_get_mpi("p", ctx, 1);
		x = gcry_mpi_new(0);
		y = gcry_mpi_new(0);
		if (!q || !p)
			err = GPG_ERR_INV_OBJ;
	}
	if (!err && gcry_mpi_ec_get_affine(x, y, q, ctx))
		err = GPG_ERR_INV_OBJ;
	/* Coordinates in [0, p-1] and the curve equation holds. */
	if (err || gcry_mpi_cmp(x, p) >= 0 || gcry_mpi_cmp(y, p) >= 0 ||
	    !gcry_mpi_ec_curve_point(q, ctx)) {
		rc = host->set_error(host, SPOP_ERR_CREDENTIALS,
				     "Cannot derive with the key of the %s: "
				     "the peer's public key is not a point on "
				     "its curve %s%s%s.",
				     k->store_name, curve_name, err ? ": " : "",
				     err ? gcry_strerror(err) : "");
		goto out;
	}
	if (gcry_mpi_scan(&md, GCRYMPI_FMT_USG, d->data, d->size, NULL)) {
		rc = host->set_error(host, SPOP_ERR_CREDENTIALS,
				     "Cannot derive with the key of the %s: "
				     "its scalar does not fit libgcrypt.",
				     k->store_name);
		goto out;
	}
	if (spop_gcrypt_ready()->secmem)
		gcry_mpi_set_flag(md, GCRYMPI_FLAG_SECURE);
	r = gcry_mpi_point_new(0);
	sx = spop_gcrypt_ready()->secmem ? gcry_mpi_snew(0) : gcry_mpi_new(0);
	gcry_mpi_ec_mul(r, md, q, ctx);
	if (gcry_mpi_ec_get_affine(sx, NULL, r, ctx)) {
		rc = host->set_error(host, SPOP_ERR_CREDENTIALS,
				     "Cannot derive with the key of the %s: "
				     "the shared point is the point at "
				     "infinity.",
				     k->store_name);
		goto out;
	}
	/* The X coordinate as field_len bytes, big-endian, zero-padded. */
	gcry_mpi_print(GCRYMPI_FMT_USG, NULL, 0, &n, sx);
	*secret = n <= field_len ? host->alloc(host, field_len) : NULL;
	if (!*secret) {
		rc = host->set_error(host, SPOP_ERR_CREDENTIALS,
				     "Cannot derive with the key of the %s: "
				     "out of memory.",
				     k->store_name);
		goto out;
	}
	memset(*secret, 0, field_len);
	gcry_mpi_print(GCRYMPI_FMT_USG, *secret + (field_len - n), n, NULL, sx);
	*secret_len = field_len;
out:
	gcry_mpi_release(sx);
	gcry_mpi_point_release(r);
	gcry_mpi_release(md);
	gcry_mpi_release(y);
	gcry_mpi_release(x);
	gcry_mpi_release(p);
	gcry_mpi_point_release(q);
	gcry_mpi_release(q_enc);
	gcry_ctx_release(ctx);
	return rc;
}

int certstore_key_derive(struct spop_host *host, void *key,
			 const unsigned char *peer_point, size_t peer_len,
			 unsigned char **secret, size_t *secret_len)
{
	struct certstore_key *k = key;
	gnutls_datum_t x = {0}, y = {0}, d = {0};
	gnutls_ecc_curve_t curve;
	const char *gcurve, *curve_name;
	size_t field_len;
	int ret, rc;

	*secret = NULL;
	*secret_len = 0;
	if (gnutls_privkey_get_pk_algorithm(k->priv, NULL) != GNUTLS_PK_ECDSA)
		return host->set_error(host, SPOP_ERR_CREDENTIALS,
				       "Cannot derive (ECDH) with the key of "
				       "the %s: it is a %s key, not an EC "
				       "key.",
				       k->store_name, key_type(k));
	ret = gnutls_x509_privkey_export_ecc_raw(k->x509, &curve, &x, &y, &d);
	if (ret < 0)
		return host->set_error(host, SPOP_ERR_CREDENTIALS,
				       "Cannot derive with the key of the %s: "
				       "%s.",
				       k->store_name, gnutls_strerror(ret));
	curve_name = gnutls_ecc_curve_get_name(curve);
	if (!curve_name)
		curve_name = "unknown";
	gcurve = gcrypt_curve(curve);
	field_len = (size_t)gnutls_ecc_curve_get_size(curve);
	if (!gcurve) {
		rc = host->set_error(host, SPOP_ERR_CREDENTIALS,
				     "Cannot derive with the key of the %s: "
				     "ECDH on curve %s is not supported "
				     "(NIST P-192 to P-521 only).",
				     k->store_name, curve_name);
		goto out;
	}
	if (!peer_point || peer_len != 1 + 2 * field_len ||
	    peer_point[0] != 0x04) {
		char got[64] = "nothing";

		if (peer_point && peer_len)
			snprintf(got, sizeof(got), "%zu bytes starting 0x%02x",
				 peer_len, peer_point[0]);
		rc = host->set_error(
		    host, SPOP_ERR_CREDENTIALS,
		    "Cannot derive with the key of the %s: the peer's public "
		    "key is not an uncompressed %s point (%zu bytes starting "
		    "0x04 expected, got %s).",
		    k->store_name, curve_name, 1 + 2 * field_len, got);
		goto out;
	}
	if (!spop_gcrypt_ready()->ok) {
		rc = host->set_error(host, SPOP_ERR_CREDENTIALS,
				     "ECDH with the key of the %s: libgcrypt "
				     "%s or later is needed, %s is loaded.",
				     k->store_name, GCRYPT_VERSION,
				     gcry_check_version(NULL));
		goto out;
	}
	rc = ecdh(host, k, curve_name, gcurve, field_len, &d, peer_point,
		  peer_len, secret, secret_len);
out:
	wipe_datum(&x);
	wipe_datum(&y);
	wipe_datum(&d);
	return rc;
}
