/* Cert store "jwk" (CertStoreType 18 JWK file, 19 JWK blob): a JSON Web
 * Key (RFC 7517) with its "x5c" certificate chain, or a JWK Set, of which
 * the first key with an "x5c" member is used.
 *
 * Entries: the "x5c" certificates in order (standard base64 DER, RFC 7517
 * 4.7), the first carrying the private key when the JWK has one ("d"):
 * RSA (n, e, d, p, q; GnuTLS derives the CRT values itself) or EC on
 * P-256, P-384 and P-521 (crv, x, y, d), imported through GnuTLS's raw
 * import. The key must be that of the first certificate (RFC 7517 4.7),
 * else 273. A JWK without "x5c" is 271: the store's entries are
 * certificates. A blob is the JSON text or its base64.
 *
 * json-glib keeps copies of the member strings it parsed, which it frees
 * without wiping; the key numbers decoded from them here are wiped. */
#include "certstore.h"

#include "../../common/gcrypt-ready.h"

#include <gcrypt.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIND "JWK"

static bool json_text(const unsigned char *data, size_t len)
{
	size_t i = 0;

	while (i < len && (data[i] == ' ' || data[i] == '\t' ||
			   data[i] == '\r' || data[i] == '\n'))
		i++;
	return i < len && data[i] == '{';
}

/* The root object of the text; NULL (and *why when asked) when the text
 * is not a JSON object. */
static JsonParser *parse(const unsigned char *data, size_t len,
			 JsonObject **root, char **why)
{
	JsonParser *parser = json_parser_new_immutable();
	GError *err = NULL;
	JsonNode *node;

	*root = NULL;
	if (!json_parser_load_from_data(parser, (const char *)data, (gssize)len,
					&err)) {
		if (why)
			*why = strdup(err->message);
		g_error_free(err);
		g_object_unref(parser);
		return NULL;
	}
	node = json_parser_get_root(parser);
	if (!node || !JSON_NODE_HOLDS_OBJECT(node)) {
		if (why)
			*why = strdup("the JSON text is not an object");
		g_object_unref(parser);
		return NULL;
	}
	*root = json_node_get_object(node);
	return parser;
}

static bool is_jwk(const unsigned char *data, size_t len)
{
	JsonObject *root;
	JsonParser *parser;
	bool yes;

	if (!json_text(data, len))
		return false;
	parser = parse(data, len, &root, NULL);
	if (!parser)
		return false;
	yes = json_object_has_member(root, "kty") ||
	      (json_object_has_member(root, "keys") &&
	       JSON_NODE_HOLDS_ARRAY(json_object_get_member(root, "keys")));
	g_object_unref(parser);
	return yes;
}

static int jwk_probe(struct spop_host *host, const unsigned char *data,
		     size_t len, int is_file)
{
	struct certstore_input in;
	bool yes;

	if (is_file) {
		if (certstore_input_file(host, KIND, data, len, true, &in))
			return 0;
		yes = is_jwk(in.data, in.len);
		certstore_input_clear(&in);
		return yes;
	}
	if (!data || len == 0 || len > CERTSTORE_MAX_INPUT)
		return 0;
	if (json_text(data, len))
		return is_jwk(data, len);
	if (!certstore_input_copy(data, len, &in))
		return 0;
	yes = certstore_input_unwrap_base64(host, &in, is_jwk);
	certstore_input_clear(&in);
	return yes;
}

static const char *member_string(JsonObject *o, const char *name)
{
	JsonNode *n = json_object_get_member(o, name);

	if (!n || !JSON_NODE_HOLDS_VALUE(n) ||
	    json_node_get_value_type(n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(n);
}

/* The key of a JWK Set that carries "x5c", or the JWK itself. */
static JsonObject *pick_key(JsonObject *root)
{
	JsonNode *keys = json_object_get_member(root, "keys");
	JsonArray *a;

	if (!keys || json_object_has_member(root, "kty"))
		return root;
	if (!JSON_NODE_HOLDS_ARRAY(keys))
		return NULL;
	a = json_node_get_array(keys);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *k = json_array_get_element(a, i);

		if (JSON_NODE_HOLDS_OBJECT(k) &&
		    json_object_has_member(json_node_get_object(k), "x5c"))
			return json_node_get_object(k);
	}
	return NULL;
}

static void wipe_datum(gnutls_datum_t *d)
{
	if (d->data) {
		gnutls_memset(d->data, 0, d->size);
		free(d->data);
	}
	d->data = NULL;
	d->size = 0;
}

/* Decodes base64 (url when url, RFC 7515's base64url without padding)
 * into a malloc'd datum; false when it is not. */
static bool decode(struct spop_host *host, const char *text, bool url,
		   gnutls_datum_t *out)
{
	size_t n = strlen(text), len = 0;
	unsigned char *bytes;
	char *copy;

	out->data = NULL;
	out->size = 0;
	copy = malloc(n + 4);
	if (!copy)
		return false;
	memcpy(copy, text, n + 1);
	if (url) {
		for (size_t i = 0; i < n; i++) {
			if (copy[i] == '-')
				copy[i] = '+';
			else if (copy[i] == '_')
				copy[i] = '/';
			else if (copy[i] == '+' || copy[i] == '/' ||
				 copy[i] == '=')
				goto fail;
		}
		while (n % 4)
			copy[n++] = '=';
		copy[n] = '\0';
	}
	if (!certstore_base64_decode(host, (unsigned char *)copy, n, &bytes,
				     &len))
		goto fail;
	gnutls_memset(copy, 0, n);
	free(copy);
	out->data = bytes;
	out->size = (unsigned)len;
	return true;
fail:
	gnutls_memset(copy, 0, n);
	free(copy);
	return false;
}

static int add_chain(struct spop_host *host, struct certstore *st,
		     JsonObject *key)
{
	JsonNode *x5c = json_object_get_member(key, "x5c");
	JsonArray *a;
	guint n;

	if (!x5c)
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the %s: the key has no "
				       "\"x5c\" certificate chain, and the "
				       "store's entries are certificates.",
				       st->name);
	if (!JSON_NODE_HOLDS_ARRAY(x5c) ||
	    (n = json_array_get_length(a = json_node_get_array(x5c))) == 0)
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the %s: \"x5c\" is not a "
				       "non-empty array of certificates.",
				       st->name);
	for (guint i = 0; i < n; i++) {
		JsonNode *e = json_array_get_element(a, i);
		const char *b64 =
		    JSON_NODE_HOLDS_VALUE(e) &&
			    json_node_get_value_type(e) == G_TYPE_STRING
			? json_node_get_string(e)
			: NULL;
		gnutls_datum_t der;
		char where[64];
		int rc;

		if (!b64 || !decode(host, b64, false, &der))
			return host->set_error(host, SPOP_ERR_CERT_STORE,
					       "Cannot open the %s: x5c[%u] is "
					       "not a base64 string.",
					       st->name, i);
		snprintf(where, sizeof(where), "x5c[%u]", i);
		rc = certstore_add_cert_data(host, st, &der,
					     GNUTLS_X509_FMT_DER, where);
		wipe_datum(&der);
		if (rc)
			return rc;
	}
	return 0;
}

/* The members a key type needs, decoded from base64url. */
struct numbers {
	gnutls_datum_t v[5];
};

/* Whether RSA numbers (n e d p q) can make a key: p and q above 1, coprime,
 * and their product n. GnuTLS 3.7's gnutls_x509_privkey_import_rsa_raw2
 * computes q^-1 mod p itself and leaks when there is none (found by
 * tests/fuzz/fuzz-certstore: even p and q), so such numbers never reach
 * it; gnutls_x509_privkey_verify_params checks the rest. Without a
 * usable libgcrypt the key is refused (it could not sign either). */
static bool rsa_numbers_usable(const struct numbers *num)
{
	gcry_mpi_t m[3] = {NULL, NULL, NULL}, prod = NULL, g = NULL;
	bool ok = spop_gcrypt_ready()->ok;

	for (int i = 0; i < 3 && ok; i++)
		ok = gcry_mpi_scan(&m[i], GCRYMPI_FMT_USG,
				   num->v[i == 0 ? 0 : i + 2].data,
				   num->v[i == 0 ? 0 : i + 2].size, NULL) == 0;
	if (ok)
		ok = gcry_mpi_cmp_ui(m[1], 1) > 0 &&
		     gcry_mpi_cmp_ui(m[2], 1) > 0;
	if (ok) {
		prod = gcry_mpi_new(0);
		g = gcry_mpi_new(0);
		gcry_mpi_mul(prod, m[1], m[2]);
		ok = gcry_mpi_cmp(prod, m[0]) == 0 &&
		     gcry_mpi_gcd(g, m[1], m[2]);
	}
	for (int i = 0; i < 3; i++)
		gcry_mpi_release(m[i]);
	gcry_mpi_release(prod);
	gcry_mpi_release(g);
	return ok;
}

static int get_numbers(struct spop_host *host, struct certstore *st,
		       JsonObject *key, const char *kty,
		       const char *const *names, size_t n, struct numbers *out)
{
	for (size_t i = 0; i < n; i++) {
		const char *s = member_string(key, names[i]);

		if (!s)
			return host->set_error(
			    host, SPOP_ERR_CREDENTIALS,
			    "Cannot use the private key of the %s: the %s key "
			    "has no \"%s\" member%s.",
			    st->name, kty, names[i],
			    i >= 3 && !strcmp(kty, "RSA")
				? " (GnuTLS needs the primes p and q)"
				: "");
		if (!decode(host, s, true, &out->v[i]) || out->v[i].size == 0)
			return host->set_error(
			    host, SPOP_ERR_CERT_STORE,
			    "Cannot open the %s: the \"%s\" member of the %s "
			    "key is not base64url.",
			    st->name, names[i], kty);
	}
	return 0;
}

static int import_key(struct spop_host *host, struct certstore *st,
		      JsonObject *key)
{
	static const char *const rsa[] = {"n", "e", "d", "p", "q"};
	static const char *const ec[] = {"x", "y", "d"};
	const char *kty = member_string(key, "kty");
	struct numbers num = {0};
	gnutls_x509_privkey_t x509 = NULL;
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	int rc, ret;

	if (!kty)
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the %s: the key has no "
				       "\"kty\" string.",
				       st->name);
	if (!strcmp(kty, "RSA")) {
		rc = get_numbers(host, st, key, kty, rsa, 5, &num);
	} else if (!strcmp(kty, "EC")) {
		const char *crv = member_string(key, "crv");

		if (crv && !strcmp(crv, "P-256"))
			curve = GNUTLS_ECC_CURVE_SECP256R1;
		else if (crv && !strcmp(crv, "P-384"))
			curve = GNUTLS_ECC_CURVE_SECP384R1;
		else if (crv && !strcmp(crv, "P-521"))
			curve = GNUTLS_ECC_CURVE_SECP521R1;
		if (curve == GNUTLS_ECC_CURVE_INVALID)
			return host->set_error(
			    host, SPOP_ERR_CREDENTIALS,
			    "Cannot use the private key of the %s: EC curve "
			    "\"%s\" is not supported (P-256, P-384 and P-521 "
			    "are).",
			    st->name, crv ? crv : "(none)");
		rc = get_numbers(host, st, key, kty, ec, 3, &num);
	} else {
		return host->set_error(host, SPOP_ERR_CREDENTIALS,
				       "Cannot use the private key of the %s: "
				       "key type \"%s\" is not supported (RSA "
				       "and EC are).",
				       st->name, kty);
	}
	if (rc)
		goto out;
	if (curve == GNUTLS_ECC_CURVE_INVALID && !rsa_numbers_usable(&num)) {
		rc =
		    host->set_error(host, SPOP_ERR_CREDENTIALS,
				    "Cannot use the RSA private key of the %s: "
				    "\"p\" and \"q\" are not coprime factors "
				    "of \"n\".",
				    st->name);
		goto out;
	}
	ret = gnutls_x509_privkey_init(&x509);
	if (ret >= 0)
		ret = curve == GNUTLS_ECC_CURVE_INVALID
			  ? gnutls_x509_privkey_import_rsa_raw2(
				x509, &num.v[0], &num.v[1], &num.v[2],
				&num.v[3], &num.v[4], NULL, NULL, NULL)
			  : gnutls_x509_privkey_import_ecc_raw(
				x509, curve, &num.v[0], &num.v[1], &num.v[2]);
	/* The numbers must make one key (n = pq, d inverts e, the point is
	 * on the curve and d generates it). */
	if (ret >= 0)
		ret = gnutls_x509_privkey_verify_params(x509);
	if (ret < 0) {
		if (x509)
			gnutls_x509_privkey_deinit(x509);
		rc = host->set_error(host, SPOP_ERR_CREDENTIALS,
				     "Cannot use the %s private key of the %s: "
				     "%s.",
				     kty, st->name, gnutls_strerror(ret));
		goto out;
	}
	rc = certstore_add_key(host, st, x509);
out:
	for (size_t i = 0; i < 5; i++)
		wipe_datum(&num.v[i]);
	return rc;
}

static int read_jwk(struct spop_host *host, struct certstore *st,
		    const unsigned char *data, size_t len)
{
	JsonObject *root, *key;
	JsonParser *parser;
	char *why = NULL;
	int rc;

	parser = parse(data, len, &root, &why);
	if (!parser) {
		rc = host->set_error(host, SPOP_ERR_CERT_STORE,
				     "Cannot open the %s: it is not a JSON "
				     "object: %s.",
				     st->name, why ? why : "out of memory");
		free(why);
		return rc;
	}
	key = pick_key(root);
	if (!key) {
		rc = host->set_error(host, SPOP_ERR_CERT_STORE,
				     "Cannot open the %s: it is a JWK Set "
				     "without a key that has an \"x5c\" "
				     "certificate chain.",
				     st->name);
		goto out;
	}
	rc = add_chain(host, st, key);
	if (!rc && json_object_has_member(key, "d"))
		rc = import_key(host, st, key);
	if (!rc)
		rc = certstore_attach_keys(host, st, false);
	if (!rc && st->n_keys && st->certs[0].key != st->keys[0])
		rc = host->set_error(host, SPOP_ERR_CREDENTIALS,
				     "Cannot use the private key of the %s: "
				     "it is not the key of the first \"x5c\" "
				     "certificate.",
				     st->name);
out:
	g_object_unref(parser);
	return rc;
}

static int jwk_open(struct spop_host *host, int store_type,
		    const unsigned char *store, size_t store_len,
		    const char *password, void **handle)
{
	struct certstore_input in;
	struct certstore *st;
	int rc;

	*handle = NULL;
	rc = certstore_input_read(host, KIND, "jwk", store_type, 18, store,
				  store_len, &in);
	if (rc)
		return rc;
	if (!json_text(in.data, in.len) &&
	    (store_type == 18 ||
	     !certstore_input_unwrap_base64(host, &in, json_text))) {
		rc = host->set_error(
		    host, SPOP_ERR_CERT_STORE,
		    "Cannot open the %s: it is not JSON "
		    "text (an object)%s.",
		    in.name, store_type == 19 ? ", nor its base64" : "");
		certstore_input_clear(&in);
		return rc;
	}
	rc = certstore_new(host, &in, &st);
	if (rc) {
		certstore_input_clear(&in);
		return rc;
	}
	rc = read_jwk(host, st, in.data, in.len);
	certstore_input_clear(&in);
	if (rc) {
		certstore_free(st);
		return rc;
	}
	*handle = st;
	return 0;
}

static const struct spop_certstore_ops ops = {
    .size = sizeof(struct spop_certstore_ops),
    .probe = jwk_probe,
    .open = jwk_open,
    .entry = certstore_entry,
    .key_sign = certstore_key_sign,
    .key_decrypt = certstore_key_decrypt,
    .key_export = certstore_key_export,
    .close = certstore_close,
    .key_derive = certstore_key_derive,
};

static const int32_t selectors[] = {18, 19};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_CERTSTORE,
    .name = "jwk",
    .version = "1.0",
    .description = "JSON Web Key with an x5c chain, RSA or EC (file or "
		   "blob)",
    .selectors = selectors,
    .n_selectors = 2,
    .capabilities = SPOP_CAP_CERTSTORE_PRIVATE_KEYS | SPOP_CAP_CERTSTORE_BLOB,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
