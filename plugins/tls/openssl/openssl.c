/* TLS provider "openssl" (SSLProvider 1, Platform): OpenSSL 3 as a layer of
 * the connection stack. All I/O goes through the layer below (a BIO whose
 * read and write are host->io_read/io_write), trust and every SSL setting
 * come from the object's settings, and one SSL_CTX per session keeps one
 * object's settings away from another's. */
#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <spop/plugin.h>

#include "trust-cache.h"

#define PROVIDER "openssl"

/* The reference's defaults: a setting holding one of these asks for the
 * provider's best, so entries OpenSSL lacks are skipped there, while the
 * same entry set by the user is an error. */
#define DEF_PROTOCOLS 0x3C00 /* the core's default: TLS 1.2 and 1.3 */
#define DEF_CA_PATHS                                                           \
	"/etc/ssl/ca-bundle.pem;/etc/pki/tls/certs/ca-bundle.crt;"             \
	"/etc/ssl/certs/ca-certificates.crt;/etc/pki/tls/cacert.pem"
#define DEF_TLS12_SIGALGS                                                      \
	"sha512-ecdsa,sha512-rsa,sha512-dsa,sha384-ecdsa,sha384-rsa,"          \
	"sha384-dsa,sha256-ecdsa,sha256-rsa,sha256-dsa,sha224-ecdsa,"          \
	"sha224-rsa,sha224-dsa,sha1-ecdsa,sha1-rsa,sha1-dsa"
#define DEF_TLS12_GROUPS "ecdhe_secp256r1,ecdhe_secp384r1,ecdhe_secp521r1"
#define DEF_TLS13_KEYSHARE                                                     \
	"ecdhe_x25519,ecdhe_secp256r1,ecdhe_secp384r1,ffdhe_2048,ffdhe_3072"
#define DEF_TLS13_SIGALGS                                                      \
	"rsa_pss_sha256,rsa_pss_sha384,rsa_pss_sha512,rsa_pkcs1_sha256,"       \
	"rsa_pkcs1_sha384,rsa_pkcs1_sha512,ecdsa_secp256r1_sha256,"            \
	"ecdsa_secp384r1_sha384,ecdsa_secp521r1_sha512,ed25519,ed448"
#define DEF_TLS13_GROUPS                                                       \
	"ecdhe_x25519,ecdhe_x448,ecdhe_secp256r1,ecdhe_secp384r1,"             \
	"ecdhe_secp521r1,ffdhe_2048,ffdhe_3072,ffdhe_4096,ffdhe_6144,"         \
	"ffdhe_8192"

/* Every TLS 1.3 suite OpenSSL 3.0 has, for looking names up. */
#define ALL_TLS13_SUITES                                                       \
	"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"                 \
	"TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:"                       \
	"TLS_AES_128_CCM_8_SHA256"

#define EXPORTER_LABEL "EXPORTER-Channel-Binding"

/* The cache blob: our header, the chain the server sent (a resumed
 * handshake carries no certificates, and the chain is verified again), the
 * key exchange of the full handshake (a resumed TLS 1.2 session has none
 * of its own), then OpenSSL's DER session. */
#define BLOB_MAGIC   "SPOPOSSL"
#define BLOB_VERSION 1u

struct ossl {
	struct spop_host *host;
	SSL_CTX *ctx;
	SSL *ssl;
	char *server_name;

	/* what the layer below said last */
	int again;    /* SPOP_IO_AGAIN_* */
	int io_error; /* its error code, already set */
	int eof;      /* it reported end of stream */

	int local_error;	/* a callback failed, error already set */
	int established;	/* handshake completed */
	int dead;		/* a fatal error happened: no close_notify */
	int cert_reported;	/* host->server_certificate was called */
	int cert_refused;	/* ... and said no (280 already set) */
	int cert_requested;	/* the server asked for a client certificate */
	int cert_sent;		/* ... and we had one */
	int alert;		/* last alert received, -1 for none */
	uint32_t failures;	/* SPOP_CERT_FAIL_* of the last verification */
	char status[1024];	/* X509 verify texts, "; "-separated */
	STACK_OF(X509) * chain; /* as the server sent it, leaf first */
	char kx_name[64];	/* key exchange of a resumed session */
	int kx_bits;
	/* an EC client key that stays in its store (key_sign) */
	const struct spop_tls_credential *store_key;
};

/* ---- small helpers ---- */

/* The OpenSSL error queue as text, emptied: it is per thread, and what one
 * session leaves there must not show up in another's message. */
static const char *err_text(char *buf, size_t len)
{
	unsigned long e;
	const char *data;
	int flags;
	size_t off = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags))) {
		char one[256];

		ERR_error_string_n(e, one, sizeof(one));
		if (off + 3 < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
						off ? "; " : "", one);
		if ((flags & ERR_TXT_STRING) && data && *data && off + 4 < len)
			off += (size_t)snprintf(buf + off, len - off, " (%s)",
						data);
		if (off >= len)
			off = len - 1;
	}
	if (!buf[0])
		snprintf(buf, len, "no reason given by OpenSSL");
	return buf;
}

static int lib_error(struct ossl *o, int code, const char *what)
{
	char e[512];

	err_text(e, sizeof(e));
	return o->host->set_error(o->host, code, "%s (TLS provider %s): %s.",
				  what, PROVIDER, e);
}

static const char *get(struct spop_host *h, const char *name,
		       const char *fallback)
{
	const char *v = h->setting(h, name);

	return v ? v : fallback;
}

/* Whether two comma lists are the same list: spaces and case aside. */
static int same_list(const char *a, const char *b)
{
	for (;;) {
		while (*a == ' ' || *a == '\t')
			a++;
		while (*b == ' ' || *b == '\t')
			b++;
		if (!*a || !*b)
			return !*a && !*b;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return 0;
		a++;
		b++;
	}
}

/* Next item of a list separated by any of seps, trimmed; 0 at the end. */
static int next_item(const char **p, const char *seps, char *out, size_t len)
{
	const char *s = *p;

	for (;;) {
		while (*s && (strchr(seps, *s) || *s == ' ' || *s == '\t'))
			s++;
		if (!*s) {
			*p = s;
			return 0;
		}
		size_t n = strcspn(s, seps);
		const char *e = s + n;

		*p = e;
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (!n) {
			s = e;
			continue;
		}
		if (n >= len)
			n = len - 1;
		memcpy(out, s, n);
		out[n] = '\0';
		return 1;
	}
}

static void upper(char *s)
{
	for (; *s; s++)
		*s = (char)toupper((unsigned char)*s);
}

static int is_ip_literal(const char *name)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, name, buf) == 1 ||
	       inet_pton(AF_INET6, name, buf) == 1;
}

#define HOST_HAS(h, m) SPOP_OPS_HAS(struct spop_host, h, m)

/* A growing ':'-joined list. */
struct strbuf {
	char *s;
	size_t len, cap;
};

static int sb_add(struct strbuf *b, const char *item)
{
	size_t n = strlen(item);

	if (b->len + n + 2 > b->cap) {
		size_t cap = (b->cap + n + 2) * 2;
		char *s = realloc(b->s, cap);

		if (!s)
			return 0;
		b->s = s;
		b->cap = cap;
	}
	if (b->len)
		b->s[b->len++] = ':';
	memcpy(b->s + b->len, item, n + 1);
	b->len += n;
	return 1;
}

/* Whether a ':'-joined list holds item. */
static int sb_has(const struct strbuf *b, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = b->s; p && *p;) {
		size_t m = strcspn(p, ":");

		if (m == n && !strncasecmp(p, item, n))
			return 1;
		p += m + (p[m] == ':');
	}
	return 0;
}

static const char *sb_str(const struct strbuf *b)
{
	return b->s ? b->s : "";
}

/* ---- the BIO over the layer below ---- */

static int bio_write(BIO *b, const char *buf, int len)
{
	struct ossl *o = BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	n = o->host->io_write(o->host, buf, (size_t)len);
	if (n > 0)
		return (int)n;
	if (n == SPOP_IO_AGAIN_READ || n == SPOP_IO_AGAIN_WRITE) {
		o->again = (int)n;
		if (n == SPOP_IO_AGAIN_READ)
			BIO_set_retry_read(b);
		else
			BIO_set_retry_write(b);
		return -1;
	}
	o->io_error = n < 0 ? (int)-n : SPOP_ERR_DROPPED;
	if (!n)
		o->host->set_error(o->host, SPOP_ERR_DROPPED,
				   "%s took no bytes from the TLS layer.",
				   o->server_name);
	return -1;
}

static int bio_read(BIO *b, char *buf, int len)
{
	struct ossl *o = BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	n = o->host->io_read(o->host, buf, (size_t)len);
	if (n > 0)
		return (int)n;
	if (n == 0) {
		o->eof = 1;
		return 0;
	}
	if (n == SPOP_IO_AGAIN_READ || n == SPOP_IO_AGAIN_WRITE) {
		o->again = (int)n;
		if (n == SPOP_IO_AGAIN_READ)
			BIO_set_retry_read(b);
		else
			BIO_set_retry_write(b);
		return -1;
	}
	o->io_error = (int)-n;
	return -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct ossl *o = BIO_get_data(b);

	switch (cmd) {
	case BIO_CTRL_FLUSH: return 1; /* the layer below does not buffer */
	case BIO_CTRL_EOF: return o ? o->eof : 0;
	default: return 0;
	}
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* One method for the process: BIO type numbers are a small global pool. */
static CRYPTO_ONCE bio_once = CRYPTO_ONCE_STATIC_INIT;
static BIO_METHOD *bio_method;

static void bio_method_init(void)
{
	int type = BIO_get_new_index();
	BIO_METHOD *m;

	if (type == -1)
		return;
	m = BIO_meth_new(type | BIO_TYPE_SOURCE_SINK, "spop host io");
	if (m && BIO_meth_set_write(m, bio_write) &&
	    BIO_meth_set_read(m, bio_read) && BIO_meth_set_ctrl(m, bio_ctrl) &&
	    BIO_meth_set_create(m, bio_create)) {
		bio_method = m;
		return;
	}
	BIO_meth_free(m);
}

/* ---- protocol versions ---- */

struct version {
	unsigned bits;
	int version;
	uint64_t no_op;
	const char *name;
};

static const struct version versions[] = {
    {0xC0, TLS1_VERSION, SSL_OP_NO_TLSv1, "TLS1.0"},
    {0x300, TLS1_1_VERSION, SSL_OP_NO_TLSv1_1, "TLS1.1"},
    {0xC00, TLS1_2_VERSION, SSL_OP_NO_TLSv1_2, "TLS1.2"},
    {0x3000, TLS1_3_VERSION, SSL_OP_NO_TLSv1_3, "TLS1.3"},
};

/* SSLEnabledProtocols; *min_v and *max_v get the versions enabled. */
static int set_protocols(struct ossl *o, int *min_v, int *max_v)
{
	struct spop_host *h = o->host;
	long long bits =
	    h->setting_int(h, "SSLEnabledProtocols", DEF_PROTOCOLS);
	uint64_t holes = 0;

	*min_v = *max_v = 0;
	if (bits & 0x3C)
		return h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				    "SSLEnabledProtocols (0x%llX) enables SSL2 "
				    "or SSL3, which TLS provider %s does not "
				    "speak.",
				    bits, PROVIDER);
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		if (bits & versions[i].bits) {
			if (!*min_v)
				*min_v = versions[i].version;
			*max_v = versions[i].version;
		} else {
			holes |= versions[i].no_op;
		}
	}
	if (!*min_v)
		return h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				    "SSLEnabledProtocols (0x%llX) enables no "
				    "TLS version (TLS1.0 0xC0, TLS1.1 0x300, "
				    "TLS1.2 0xC00, TLS1.3 0x3000).",
				    bits);
	if (!SSL_CTX_set_min_proto_version(o->ctx, *min_v) ||
	    !SSL_CTX_set_max_proto_version(o->ctx, *max_v))
		return lib_error(o, SPOP_ERR_TLS_LIBRARY,
				 "SSLEnabledProtocols cannot be applied");
	SSL_CTX_set_options(o->ctx, holes);
	/* OpenSSL 3's default security level refuses the SHA-1 and MD5
	 * that TLS 1.0 and 1.1 need; when the user enabled nothing newer,
	 * those versions would never work, so the level is lowered for
	 * this session only. */
	if (*max_v < TLS1_2_VERSION)
		SSL_CTX_set_security_level(o->ctx, 0);
	return 0;
}

/* ---- cipher suites ---- */

/* Key bits of the bulk cipher, as the gnutls provider counts them (3DES
 * 168, where OpenSSL's strength says 112). */
static int key_bits(const SSL_CIPHER *c)
{
	int alg_bits = 0;

	SSL_CIPHER_get_bits(c, &alg_bits);
	return alg_bits;
}

static int is_tls13_cipher(const SSL_CIPHER *c)
{
	return SSL_CIPHER_get_kx_nid(c) == NID_kx_any;
}

/* The OpenSSL cipher whose IANA name is name, from all the library has. */
static const SSL_CIPHER *find_cipher(STACK_OF(SSL_CIPHER) * all,
				     const char *name)
{
	for (int i = 0; i < sk_SSL_CIPHER_num(all); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(all, i);
		const char *std = SSL_CIPHER_standard_name(c);

		if (std && !strcasecmp(std, name))
			return c;
	}
	return NULL;
}

static int in_stack(STACK_OF(SSL_CIPHER) * sk, const SSL_CIPHER *c)
{
	for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++)
		if (SSL_CIPHER_get_id(sk_SSL_CIPHER_value(sk, i)) ==
		    SSL_CIPHER_get_id(c))
			return 1;
	return 0;
}

/* Sets both lists from l12 (OpenSSL names, TLS 1.2 and older) and l13;
 * an empty list shuts the versions it serves. */
static int apply_cipher_lists(struct ossl *o, const char *l12, const char *l13,
			      int *min_v, int *max_v, const char *why)
{
	struct spop_host *h = o->host;

	if (!*l13 && !*l12)
		return h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				    "%s leaves no cipher suite (TLS provider "
				    "%s).",
				    why, PROVIDER);
	if (!SSL_CTX_set_ciphersuites(o->ctx, l13))
		return lib_error(o, SPOP_ERR_TLS_LIBRARY,
				 "The TLS 1.3 cipher suites cannot be set");
	if (*l12 && !SSL_CTX_set_cipher_list(o->ctx, l12))
		return lib_error(o, SPOP_ERR_TLS_LIBRARY,
				 "The TLS cipher list cannot be set");
	if (!*l12) {
		if (*max_v < TLS1_3_VERSION)
			return h->set_error(h, SPOP_ERR_TLS_LIBRARY,
					    "%s leaves only TLS 1.3 cipher "
					    "suites, and SSLEnabledProtocols "
					    "does not enable TLS 1.3 (TLS "
					    "provider %s).",
					    why, PROVIDER);
		if (*min_v < TLS1_3_VERSION) {
			*min_v = TLS1_3_VERSION;
			SSL_CTX_set_min_proto_version(o->ctx, *min_v);
		}
	}
	if (!*l13) {
		if (*min_v >= TLS1_3_VERSION)
			return h->set_error(h, SPOP_ERR_TLS_LIBRARY,
					    "%s leaves no TLS 1.3 cipher "
					    "suite, and SSLEnabledProtocols "
					    "enables only TLS 1.3 (TLS "
					    "provider %s).",
					    why, PROVIDER);
		if (*max_v > TLS1_2_VERSION) {
			*max_v = TLS1_2_VERSION;
			SSL_CTX_set_max_proto_version(o->ctx, *max_v);
		}
	}
	return 0;
}

/* SSLEnabledCipherSuites, OpenSSLCipherList and SSLCipherStrength.
 *
 * "*" takes OpenSSLCipherList (default "DEFAULT") for TLS 1.2 and older,
 * and OpenSSL's TLS 1.3 suites. A list of IANA names takes exactly those
 * suites, in that order; when OpenSSLCipherList is also set (not
 * "DEFAULT"), both restrict: a TLS 1.2 suite must be named and match the
 * cipher list (the intersection; an empty one is an error). Last,
 * SSLCipherStrength drops every suite whose bulk cipher has fewer key
 * bits. */
static int set_ciphers(struct ossl *o, int *min_v, int *max_v)
{
	struct spop_host *h = o->host;
	const char *suites = get(h, "SSLEnabledCipherSuites", "*");
	const char *clist = get(h, "OpenSSLCipherList", "DEFAULT");
	long long strength = h->setting_int(h, "SSLCipherStrength", 0);
	int clist_default = !*clist || !strcmp(clist, "DEFAULT");
	struct strbuf l12 = {0}, l13 = {0};
	int rc = 0;

	while (*suites == ' ')
		suites++;
	if (strength < 0)
		return h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				    "SSLCipherStrength is %lld; it must be 0 "
				    "(no minimum) or a number of bits.",
				    strength);
	if (!*suites || !strcmp(suites, "*")) {
		if (!SSL_CTX_set_cipher_list(o->ctx,
					     *clist ? clist : "DEFAULT"))
			return lib_error(o, SPOP_ERR_TLS_LIBRARY,
					 "OpenSSLCipherList cannot be used");
	} else {
		STACK_OF(SSL_CIPHER) *allowed = NULL;
		const char *p = suites;
		char name[128];
		int named12 = 0;

		if (!clist_default) {
			if (!SSL_CTX_set_cipher_list(o->ctx, clist))
				return lib_error(o, SPOP_ERR_TLS_LIBRARY,
						 "OpenSSLCipherList cannot be "
						 "used");
			allowed =
			    sk_SSL_CIPHER_dup(SSL_CTX_get_ciphers(o->ctx));
		}
		if (!SSL_CTX_set_ciphersuites(o->ctx, ALL_TLS13_SUITES) ||
		    !SSL_CTX_set_cipher_list(o->ctx, "ALL:COMPLEMENTOFALL")) {
			sk_SSL_CIPHER_free(allowed);
			return lib_error(o, SPOP_ERR_TLS_LIBRARY,
					 "OpenSSL's cipher list cannot be "
					 "read");
		}
		STACK_OF(SSL_CIPHER) *all = SSL_CTX_get_ciphers(o->ctx);

		while (!rc && next_item(&p, ";,", name, sizeof(name))) {
			const SSL_CIPHER *c = find_cipher(all, name);
			const char *on = c ? SSL_CIPHER_get_name(c) : NULL;
			struct strbuf *to =
			    c && is_tls13_cipher(c) ? &l13 : &l12;

			if (!c) {
				rc = h->set_error(
				    h, SPOP_ERR_TLS_LIBRARY,
				    "SSLEnabledCipherSuites names '%s', a "
				    "cipher suite TLS provider %s does not "
				    "support.",
				    name, PROVIDER);
				break;
			}
			if (to == &l12) {
				named12 = 1;
				if (allowed && !in_stack(allowed, c))
					continue;
			}
			if (!sb_has(to, on) && !sb_add(to, on))
				rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
						  "Out of memory.");
		}
		sk_SSL_CIPHER_free(allowed);
		if (!rc && named12 && !l12.len)
			rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
					  "No TLS 1.2 cipher suite named in "
					  "SSLEnabledCipherSuites matches "
					  "OpenSSLCipherList '%s' (TLS "
					  "provider %s uses the suites both "
					  "allow).",
					  clist, PROVIDER);
		if (!rc)
			rc = apply_cipher_lists(o, sb_str(&l12), sb_str(&l13),
						min_v, max_v,
						"SSLEnabledCipherSuites");
		free(l12.s);
		free(l13.s);
		l12 = (struct strbuf){0};
		l13 = (struct strbuf){0};
		if (rc)
			return rc;
	}
	if (strength <= 0)
		return 0;

	STACK_OF(SSL_CIPHER) *cur = SSL_CTX_get_ciphers(o->ctx);
	for (int i = 0; i < sk_SSL_CIPHER_num(cur); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(cur, i);

		/* only suites of the versions still enabled */
		if (key_bits(c) < strength ||
		    (is_tls13_cipher(c) ? *max_v < TLS1_3_VERSION
					: *min_v >= TLS1_3_VERSION))
			continue;
		if (!sb_add(is_tls13_cipher(c) ? &l13 : &l12,
			    SSL_CIPHER_get_name(c))) {
			rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
					  "Out of memory.");
			break;
		}
	}
	if (!rc) {
		char why[96];

		snprintf(why, sizeof(why), "SSLCipherStrength %lld", strength);
		rc = apply_cipher_lists(o, sb_str(&l12), sb_str(&l13), min_v,
					max_v, why);
	}
	free(l12.s);
	free(l13.s);
	return rc;
}

/* ---- signature algorithms and groups ---- */

struct name_map {
	const char *ref;  /* the reference's spelling */
	const char *ossl; /* OpenSSL's, ':'-joined when several */
};

static const struct name_map tls13_sigalgs[] = {
    {"rsa_pss_sha256", "rsa_pss_rsae_sha256:rsa_pss_pss_sha256"},
    {"rsa_pss_sha384", "rsa_pss_rsae_sha384:rsa_pss_pss_sha384"},
    {"rsa_pss_sha512", "rsa_pss_rsae_sha512:rsa_pss_pss_sha512"},
    {"rsa_pkcs1_sha256", "rsa_pkcs1_sha256"},
    {"rsa_pkcs1_sha384", "rsa_pkcs1_sha384"},
    {"rsa_pkcs1_sha512", "rsa_pkcs1_sha512"},
    {"ecdsa_secp256r1_sha256", "ecdsa_secp256r1_sha256"},
    {"ecdsa_secp384r1_sha384", "ecdsa_secp384r1_sha384"},
    {"ecdsa_secp521r1_sha512", "ecdsa_secp521r1_sha512"},
    {"ed25519", "ed25519"},
    {"ed448", "ed448"},
};

/* TLS 1.2's hash-signature pairs, "sha256-rsa". */
static const struct name_map tls12_hashes[] = {
    {"md5", "MD5"},	  {"sha1", "SHA1"},	{"sha224", "SHA224"},
    {"sha256", "SHA256"}, {"sha384", "SHA384"}, {"sha512", "SHA512"},
};
static const struct name_map tls12_sigs[] = {
    {"rsa", "RSA"},
    {"dsa", "DSA"},
    {"ecdsa", "ECDSA"},
};

struct group {
	const char *ref;
	const char *ossl;
	int nid;
	const char *vocab; /* spop_tls_info's */
	int bits;
};

static const struct group groups[] = {
    {"ecdhe_x25519", "X25519", NID_X25519, "X25519", 255},
    {"ecdhe_x448", "X448", NID_X448, "X448", 448},
    {"ecdhe_secp256r1", "P-256", NID_X9_62_prime256v1, "SECP256R1", 256},
    {"ecdhe_secp384r1", "P-384", NID_secp384r1, "SECP384R1", 384},
    {"ecdhe_secp521r1", "P-521", NID_secp521r1, "SECP521R1", 521},
    {"ffdhe_2048", "ffdhe2048", NID_ffdhe2048, "FFDHE2048", 2048},
    {"ffdhe_3072", "ffdhe3072", NID_ffdhe3072, "FFDHE3072", 3072},
    {"ffdhe_4096", "ffdhe4096", NID_ffdhe4096, "FFDHE4096", 4096},
    {"ffdhe_6144", "ffdhe6144", NID_ffdhe6144, "FFDHE6144", 6144},
    {"ffdhe_8192", "ffdhe8192", NID_ffdhe8192, "FFDHE8192", 8192},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* OpenSSL's name(s) for one item of a setting; 0 when the item is not a
 * name of that setting at all. */
static int map_sigalg(int tls13, const char *item, char *out, size_t len)
{
	if (tls13) {
		for (size_t i = 0; i < N_OF(tls13_sigalgs); i++)
			if (!strcasecmp(item, tls13_sigalgs[i].ref)) {
				snprintf(out, len, "%s", tls13_sigalgs[i].ossl);
				return 1;
			}
		return 0;
	}
	const char *dash = strchr(item, '-');

	if (!dash)
		return 0;
	for (size_t i = 0; i < N_OF(tls12_hashes); i++) {
		size_t n = strlen(tls12_hashes[i].ref);

		if ((size_t)(dash - item) != n ||
		    strncasecmp(item, tls12_hashes[i].ref, n))
			continue;
		for (size_t j = 0; j < N_OF(tls12_sigs); j++)
			if (!strcasecmp(dash + 1, tls12_sigs[j].ref)) {
				snprintf(out, len, "%s+%s", tls12_sigs[j].ossl,
					 tls12_hashes[i].ossl);
				return 1;
			}
	}
	return 0;
}

static const struct group *find_group_ref(const char *ref)
{
	for (size_t i = 0; i < N_OF(groups); i++)
		if (!strcasecmp(ref, groups[i].ref))
			return &groups[i];
	return NULL;
}

static int set_list(struct ossl *o, int groups_list, const char *list)
{
	return groups_list ? SSL_CTX_set1_groups_list(o->ctx, list)
			   : SSL_CTX_set1_sigalgs_list(o->ctx, list);
}

/* Adds one OpenSSL name to out unless it is there already, under this
 * name or another (TLS 1.2's "RSA+SHA256" is TLS 1.3's
 * "rsa_pkcs1_sha256"): OpenSSL refuses a list with the same code point
 * twice, which is how the second spelling is found. 0 when out of
 * memory. */
static int add_unique(struct ossl *o, int groups_list, struct strbuf *out,
		      const char *one)
{
	struct strbuf try = {0};
	int ok;

	if (sb_has(out, one))
		return 1;
	if (!out->len)
		return sb_add(out, one);
	if (!sb_add(&try, sb_str(out)) || !sb_add(&try, one)) {
		free(try.s);
		return 0;
	}
	ok = set_list(o, groups_list, try.s);
	ERR_clear_error();
	free(try.s);
	return ok ? sb_add(out, one) : 1;
}

/* Adds what OpenSSL can do of one setting's list to out. An item it
 * cannot do is skipped when the setting holds the reference's default,
 * and an error naming it otherwise. An empty setting restricts nothing:
 * every item the provider knows. */
enum list_kind { SIGALGS12, SIGALGS13, GROUPS };

static int add_list(struct ossl *o, enum list_kind kind, const char *setting,
		    const char *def, struct strbuf *out)
{
	struct spop_host *h = o->host;
	const char *value = get(h, setting, def);
	int lenient = same_list(value, def);
	char all[2048] = "";
	const char *p;
	char item[128], names[256];

	if (!*value) {
		/* every item known, in table order */
		size_t off = 0;

		lenient = 1;
		if (kind == SIGALGS13)
			for (size_t i = 0; i < N_OF(tls13_sigalgs); i++)
				off += (size_t)snprintf(
				    all + off, sizeof(all) - off, "%s,",
				    tls13_sigalgs[i].ref);
		else if (kind == GROUPS)
			for (size_t i = 0; i < N_OF(groups); i++)
				off += (size_t)snprintf(all + off,
							sizeof(all) - off,
							"%s,", groups[i].ref);
		else
			for (size_t i = N_OF(tls12_hashes); i-- > 0;)
				for (size_t j = 0; j < N_OF(tls12_sigs); j++)
					off += (size_t)snprintf(
					    all + off, sizeof(all) - off,
					    "%s-%s,", tls12_hashes[i].ref,
					    tls12_sigs[j].ref);
		value = all;
	}
	p = value;
	while (next_item(&p, ",;", item, sizeof(item))) {
		int known, can = 1;

		if (kind == GROUPS) {
			const struct group *g = find_group_ref(item);

			known = g != NULL;
			if (known)
				snprintf(names, sizeof(names), "%s", g->ossl);
		} else {
			known = map_sigalg(kind == SIGALGS13, item, names,
					   sizeof(names));
		}
		if (!known)
			return h->set_error(h, SPOP_ERR_TLS_LIBRARY,
					    "%s names '%s', which is not one "
					    "of its values (TLS provider %s).",
					    setting, item, PROVIDER);
		/* Asking OpenSSL is the one sure test of what it can do. */
		for (const char *q = names; can && *q;) {
			char one[64];
			size_t n = strcspn(q, ":");

			snprintf(one, sizeof(one), "%.*s", (int)n, q);
			q += n + (q[n] == ':');
			can = set_list(o, kind == GROUPS, one);
		}
		ERR_clear_error();
		if (!can) {
			if (lenient)
				continue;
			return h->set_error(
			    h, SPOP_ERR_TLS_LIBRARY,
			    "%s names '%s', which TLS provider "
			    "%s (OpenSSL %s) cannot use.",
			    setting, item, PROVIDER,
			    OpenSSL_version(OPENSSL_VERSION_STRING));
		}
		/* Accepted in the list, yet never used: OpenSSL 3 takes SHA-1
		 * signatures for weaker than its security level 1. */
		if (kind != GROUPS && strcasestr(names, "SHA1") &&
		    SSL_CTX_get_security_level(o->ctx) >= 1) {
			if (lenient)
				continue;
			return h->set_error(
			    h, SPOP_ERR_TLS_LIBRARY,
			    "%s names '%s', a SHA-1 signature, which TLS "
			    "provider %s refuses at OpenSSL security level %d "
			    "(OpenSSLCipherList can lower it with "
			    "@SECLEVEL=0).",
			    setting, item, PROVIDER,
			    SSL_CTX_get_security_level(o->ctx));
		}
		for (const char *q = names; *q;) {
			char one[64];
			size_t n = strcspn(q, ":");

			snprintf(one, sizeof(one), "%.*s", (int)n, q);
			q += n + (q[n] == ':');
			if (!add_unique(o, kind == GROUPS, out, one))
				return h->set_error(h, SPOP_ERR_TLS_LIBRARY,
						    "Out of memory.");
		}
	}
	return 0;
}

/* TLS12SignatureAlgorithms, TLS13SignatureAlgorithms, TLS12SupportedGroups,
 * TLS13SupportedGroups, TLS13KeyShareGroups. OpenSSL sends one
 * signature_algorithms and one supported_groups list for every version, so
 * with TLS 1.2 and 1.3 both enabled the lists are joined (TLS 1.3's first,
 * in its order); a version not enabled leaves its settings unused, as the
 * reference says. */
static int set_sigalgs_groups(struct ossl *o, int min_v, int max_v)
{
	struct spop_host *h = o->host;
	int v13 = max_v >= TLS1_3_VERSION, v12 = min_v <= TLS1_2_VERSION;
	struct strbuf sig = {0}, grp = {0};
	int rc = 0;

	if (v13)
		rc = add_list(o, SIGALGS13, "TLS13SignatureAlgorithms",
			      DEF_TLS13_SIGALGS, &sig);
	if (!rc && v12)
		rc = add_list(o, SIGALGS12, "TLS12SignatureAlgorithms",
			      DEF_TLS12_SIGALGS, &sig);
	if (!rc && v13)
		rc = add_list(o, GROUPS, "TLS13SupportedGroups",
			      DEF_TLS13_GROUPS, &grp);
	if (!rc && v12)
		rc = add_list(o, GROUPS, "TLS12SupportedGroups",
			      DEF_TLS12_GROUPS, &grp);

	/* OpenSSL 3.0 pregenerates one key share, for the first group it
	 * offers. One group asked for is honoured by offering it first; more
	 * than one cannot be. */
	const char *ks = get(h, "TLS13KeyShareGroups", DEF_TLS13_KEYSHARE);
	if (!rc && v13 && *ks && !same_list(ks, DEF_TLS13_KEYSHARE)) {
		const char *p = ks;
		char item[128], extra[128];
		const struct group *g;

		next_item(&p, ",;", item, sizeof(item));
		if (next_item(&p, ",;", extra, sizeof(extra)))
			rc = h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
					  "TLS13KeyShareGroups names several "
					  "groups; TLS provider %s (OpenSSL "
					  "3.0) pregenerates a key share for "
					  "one group only, so set one.",
					  PROVIDER);
		else if (!(g = find_group_ref(item)))
			rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
					  "TLS13KeyShareGroups names '%s', "
					  "which is not one of its values (TLS "
					  "provider %s).",
					  item, PROVIDER);
		else if (!sb_has(&grp, g->ossl))
			rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
					  "TLS13KeyShareGroups names '%s', "
					  "which the supported groups do not "
					  "contain (TLS provider %s).",
					  item, PROVIDER);
		else {
			struct strbuf re = {0};
			const char *q = sb_str(&grp);

			rc = sb_add(&re, g->ossl) ? 0 : SPOP_ERR_TLS_LIBRARY;
			while (!rc && *q) {
				char one[64];
				size_t n = strcspn(q, ":");

				snprintf(one, sizeof(one), "%.*s", (int)n, q);
				q += n + (q[n] == ':');
				if (strcmp(one, g->ossl) && !sb_add(&re, one))
					rc = SPOP_ERR_TLS_LIBRARY;
			}
			if (rc)
				h->set_error(h, rc, "Out of memory.");
			free(grp.s);
			grp = re;
		}
	}
	if (!rc && sig.len && !SSL_CTX_set1_sigalgs_list(o->ctx, sig.s))
		rc = lib_error(o, SPOP_ERR_TLS_LIBRARY,
			       "The signature algorithms cannot be set");
	if (!rc && grp.len && !SSL_CTX_set1_groups_list(o->ctx, grp.s))
		rc = lib_error(o, SPOP_ERR_TLS_LIBRARY,
			       "The supported groups cannot be set");
	if (!rc && (!sig.len || !grp.len))
		rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				  "No %s the settings name can be used by TLS "
				  "provider %s.",
				  !sig.len ? "signature algorithm"
					   : "supported group",
				  PROVIDER);
	free(sig.s);
	free(grp.s);
	return rc;
}

/* ---- trust ---- */

static int load_ca_text(struct ossl *o, X509_STORE *store, const char *pem)
{
	struct spop_host *h = o->host;
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x;
	int n = 0;

	if (!b)
		return lib_error(o, SPOP_ERR_TLS_LIBRARY,
				 "SSLServerCACerts cannot be read");
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		/* The same CA twice is no error. */
		if (!X509_STORE_add_cert(store, x) &&
		    ERR_GET_REASON(ERR_peek_last_error()) !=
			X509_R_CERT_ALREADY_IN_HASH_TABLE) {
			X509_free(x);
			BIO_free(b);
			return lib_error(o, SPOP_ERR_TLS_LIBRARY,
					 "A certificate of SSLServerCACerts "
					 "cannot be trusted");
		}
		X509_free(x);
		n++;
	}
	BIO_free(b);
	ERR_clear_error();
	if (!n)
		return h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				    "SSLServerCACerts holds no PEM certificate "
				    "(-----BEGIN CERTIFICATE-----) that TLS "
				    "provider %s can read.",
				    PROVIDER);
	return 0;
}

/* SSLCACertFilePaths, SSLServerCACerts, OpenSSLCAFile, OpenSSLCADir into
 * store. The system's default paths are never added behind the user's
 * back: the default of SSLCACertFilePaths names Debian's bundle. */
static int load_trust(struct ossl *o, X509_STORE *store, const char *paths,
		      const char *server_cas, const char *cafile,
		      const char *cadir)
{
	struct spop_host *h = o->host;
	struct stat dir;
	char path[4096];
	int rc;

	while (next_item(&paths, ";", path, sizeof(path))) {
		struct stat st;

		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		if (!X509_STORE_load_file(store, path)) {
			char what[4200];

			snprintf(what, sizeof(what),
				 "The CA file %s of SSLCACertFilePaths cannot "
				 "be loaded",
				 path);
			return lib_error(o, SPOP_ERR_TLS_LIBRARY, what);
		}
	}
	if (*server_cas && (rc = load_ca_text(o, store, server_cas)))
		return rc;
	if (*cafile && !X509_STORE_load_file(store, cafile)) {
		char what[4200];

		snprintf(what, sizeof(what),
			 "OpenSSLCAFile %s cannot be loaded", cafile);
		return lib_error(o, SPOP_ERR_TLS_LIBRARY, what);
	}
	/* OpenSSL looks in the directory only when it needs an issuer; a
	 * wrong path would pass silently until then. */
	if (*cadir && (stat(cadir, &dir) || !S_ISDIR(dir.st_mode)))
		return h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				    "OpenSSLCADir %s is not a directory (TLS "
				    "provider %s).",
				    cadir, PROVIDER);
	if (*cadir && !X509_STORE_load_path(store, cadir)) {
		char what[4200];

		snprintf(what, sizeof(what), "OpenSSLCADir %s cannot be used",
			 cadir);
		return lib_error(o, SPOP_ERR_TLS_LIBRARY, what);
	}
	return 0;
}

static void free_store(void *store)
{
	X509_STORE_free(store);
}

static struct trust_cache trust_anchors = TRUST_CACHE_INIT(free_store);

struct trust_args {
	struct ossl *o;
	const char *paths, *server_cas, *cafile, *cadir;
};

/* OpenSSL 3.0 decodes a certificate's extensions (key identifiers,
 * constraints) into a cache the first time a verification needs them,
 * under the certificate's lock, but reads its "already done" flag without
 * that lock. The store is shared by every connection of the process
 * (trust-cache.h), so one thread could compare an anchor's key identifier
 * while another was still writing it; ThreadSanitizer caught it in the
 * threads suite. Filling each anchor's cache here, before the store is
 * shared, leaves the connections only reading. This cannot reach the
 * anchors of OpenSSLCADir: OpenSSL reads those from the directory during
 * a verification, when it needs them. */
static void fill_extension_caches(X509_STORE *store)
{
	STACK_OF(X509_OBJECT) *objects = X509_STORE_get0_objects(store);

	for (int i = 0; i < sk_X509_OBJECT_num(objects); i++) {
		X509 *x =
		    X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i));

		/* Any purpose (-1): this only fills the cache. */
		if (x)
			X509_check_purpose(x, -1, 0);
	}
	ERR_clear_error();
}

static int load_store(void *arg, void **anchors)
{
	struct trust_args *a = arg;
	X509_STORE *store = X509_STORE_new();
	int rc;

	if (!store)
		return lib_error(a->o, SPOP_ERR_TLS_LIBRARY,
				 "No trust store can be made");
	if ((rc = load_trust(a->o, store, a->paths, a->server_cas, a->cafile,
			     a->cadir))) {
		X509_STORE_free(store);
		return rc;
	}
	fill_extension_caches(store);
	*anchors = store;
	return 0;
}

/* The context's trust store: the process's for these settings, loaded by
 * the first connection that needs it (trust-cache.h). */
static int set_trust(struct ossl *o)
{
	struct spop_host *h = o->host;
	struct trust_args a = {o, get(h, "SSLCACertFilePaths", DEF_CA_PATHS),
			       get(h, "SSLServerCACerts", ""),
			       get(h, "OpenSSLCAFile", ""),
			       get(h, "OpenSSLCADir", "")};
	struct trust_entry *e;
	struct trust_key k;
	int rc;

	trust_key_init(&k);
	trust_key_paths(&k, a.paths, ";");
	trust_key_text(&k, a.server_cas);
	trust_key_path(&k, a.cafile);
	trust_key_path(&k, a.cadir);
	rc = trust_cache_obtain(&trust_anchors, &k, load_store, &a, &e);
	trust_key_clear(&k);
	if (!rc) {
		SSL_CTX_set1_cert_store(o->ctx, trust_entry_anchors(e));
		trust_cache_release(&trust_anchors, e);
	}
	return rc;
}

/* ---- the server certificate ---- */

static uint32_t failure_bits(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID: return SPOP_CERT_FAIL_TIME;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return SPOP_CERT_FAIL_UNKNOWN_CA;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH: return SPOP_CERT_FAIL_NAME;
	case X509_V_ERR_INVALID_PURPOSE: return SPOP_CERT_FAIL_USAGE;
	default: return SPOP_CERT_FAIL_INVALID;
	}
}

static void add_status(struct ossl *o, const char *text)
{
	size_t off = strlen(o->status);

	if (strstr(o->status, text))
		return;
	snprintf(o->status + off, sizeof(o->status) - off, "%s%s",
		 off ? "; " : "", text);
}

static struct ossl *from_store_ctx(X509_STORE_CTX *xctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(
	    xctx, SSL_get_ex_data_X509_STORE_CTX_idx());

	return ssl ? SSL_get_app_data(ssl) : NULL;
}

/* Records every failure and lets verification go on, so that all of them
 * are reported; the decision is the core's. */
static int record_failure(int ok, X509_STORE_CTX *xctx)
{
	struct ossl *o = from_store_ctx(xctx);

	if (!ok && o) {
		int err = X509_STORE_CTX_get_error(xctx);

		o->failures |= failure_bits(err);
		add_status(o, X509_verify_cert_error_string(err));
	}
	return 1;
}

/* Verifies the chain in xctx, reports it through host->server_certificate
 * and says whether to go on. */
static int verify_and_report(struct ossl *o, X509_STORE_CTX *xctx, X509 *leaf,
			     STACK_OF(X509) * chain)
{
	struct spop_host *h = o->host;
	int n = chain ? sk_X509_num(chain) : 0;
	unsigned char **ders = calloc((size_t)n + 1, sizeof(*ders));
	size_t *lens = calloc((size_t)n + 1, sizeof(*lens));
	unsigned char *leaf_der = NULL;
	int leaf_len, ok = 0, r;

	o->failures = 0;
	o->status[0] = '\0';
	X509_STORE_CTX_set_verify_cb(xctx, record_failure);
	r = X509_verify_cert(xctx);
	if (r <= 0 && !o->failures) {
		int err = X509_STORE_CTX_get_error(xctx);

		o->failures |= SPOP_CERT_FAIL_INVALID;
		add_status(o, err != X509_V_OK
				  ? X509_verify_cert_error_string(err)
				  : "verification failed");
	}
	ERR_clear_error();

	leaf_len = i2d_X509(leaf, &leaf_der);
	if (!ders || !lens || leaf_len <= 0) {
		h->set_error(h, SPOP_ERR_TLS_LIBRARY,
			     "The certificate of %s cannot be encoded (TLS "
			     "provider %s).",
			     o->server_name, PROVIDER);
		o->local_error = SPOP_ERR_TLS_LIBRARY;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		int len = i2d_X509(sk_X509_value(chain, i), &ders[i]);

		lens[i] = len > 0 ? (size_t)len : 0;
	}

	struct spop_cert_report report = {
	    .size = sizeof(report),
	    .der = leaf_der,
	    .der_len = (size_t)leaf_len,
	    .status = o->failures ? o->status : "OK",
	    .verified = !o->failures,
	    .failures = o->failures,
	    .chain_der = n ? (const unsigned char *const *)ders : NULL,
	    .chain_len = n ? lens : NULL,
	    .n_chain = (size_t)n,
	};
	o->cert_reported = 1;
	ok = h->server_certificate(h, &report);
	if (!ok)
		o->cert_refused = 1;
out:
	OPENSSL_free(leaf_der);
	for (int i = 0; ders && i < n; i++)
		OPENSSL_free(ders[i]);
	free(ders);
	free(lens);
	return ok;
}

/* OpenSSL's verification step of a full handshake: nothing (a client
 * certificate included) is sent before this returns, and 0 aborts. */
static int cert_verify_cb(X509_STORE_CTX *xctx, void *arg)
{
	struct ossl *o = arg;
	STACK_OF(X509) *sent = X509_STORE_CTX_get0_untrusted(xctx);
	X509 *leaf = X509_STORE_CTX_get0_cert(xctx);

	sk_X509_pop_free(o->chain, X509_free);
	o->chain = sent ? X509_chain_up_ref(sent) : NULL;
	if (verify_and_report(o, xctx, leaf, sent))
		return 1;
	/* An alert goes out even when the chain itself was fine (a pin
	 * mismatch); the error code picks which. */
	if (X509_STORE_CTX_get_error(xctx) == X509_V_OK)
		X509_STORE_CTX_set_error(xctx,
					 X509_V_ERR_APPLICATION_VERIFICATION);
	return 0;
}

/* A resumed handshake carries no certificate: the one of the session is
 * checked again against today's trust and time, and reported as usual. */
static int verify_resumed(struct ossl *o)
{
	X509 *leaf = SSL_get0_peer_certificate(o->ssl);
	X509_STORE_CTX *xctx;
	int ok;

	if (!leaf)
		return o->host->set_error(
		    o->host, SPOP_ERR_NO_SERVER_CERT,
		    "The resumed TLS session with %s has no server "
		    "certificate to check (TLS provider %s).",
		    o->server_name, PROVIDER);
	xctx = X509_STORE_CTX_new();
	if (!xctx ||
	    !X509_STORE_CTX_init(xctx, SSL_CTX_get_cert_store(o->ctx), leaf,
				 o->chain) ||
	    !X509_STORE_CTX_set_ex_data(
		xctx, SSL_get_ex_data_X509_STORE_CTX_idx(), o->ssl) ||
	    !X509_STORE_CTX_set_default(xctx, "ssl_server") ||
	    !X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(xctx),
				    SSL_get0_param(o->ssl))) {
		X509_STORE_CTX_free(xctx);
		return lib_error(o, SPOP_ERR_TLS_LIBRARY,
				 "The resumed session's certificate cannot be "
				 "checked");
	}
	ok = verify_and_report(o, xctx, leaf, o->chain);
	X509_STORE_CTX_free(xctx);
	if (o->local_error)
		return o->local_error;
	return ok ? 0 : SPOP_ERR_CERT_VERIFY;
}

/* ---- the client certificate ---- */

/* The store value for messages, a URI's pin-value hidden. */
static void store_shown(struct spop_host *h, char *buf, size_t len)
{
	const char *v = get(h, "SSLCertStore", "");
	const char *pin = strcasestr(v, "pin-value=");

	if (pin && !strncasecmp(v, "pkcs11:", 7))
		snprintf(buf, len, "%.*spin-value=(hidden)", (int)(pin - v), v);
	else
		snprintf(buf, len, "%s", v);
}

/* An RSA (or other non-EC) key that the store keeps: OpenSSL 3.0 makes
 * RSA-PSS signatures (TLS 1.3 always, TLS 1.2 whenever the server lists
 * them first, as OpenSSL servers do) by padding itself and then calling a
 * raw RSA private operation, which key_sign does not offer; a PKCS#1 v1.5
 * only client would fail at the server's whim. So: a clear refusal. */
static int store_key_refused(struct ossl *o, int base_id)
{
	struct spop_host *h = o->host;
	char store[512];

	store_shown(h, store, sizeof(store));
	if (base_id != EVP_PKEY_RSA)
		return h->set_error(
		    h, SPOP_ERR_NOT_AVAILABLE,
		    "TLS provider %s cannot sign with the %s key of the "
		    "client certificate: it stays in its store (SSLCertStore "
		    "'%s', SSLCertStoreType %lld), and the provider signs "
		    "through a store with EC keys only. Use SSLProvider "
		    "Internal (gnutls).",
		    PROVIDER, OBJ_nid2sn(base_id), store,
		    h->setting_int(h, "SSLCertStoreType", -1));
	return h->set_error(
	    h, SPOP_ERR_NOT_AVAILABLE,
	    "TLS provider %s cannot sign with the RSA key of the client "
	    "certificate: it stays in its store (SSLCertStore '%s', "
	    "SSLCertStoreType %lld, e.g. a PKCS#11 token), and OpenSSL 3.0 "
	    "signs RSA-PSS (TLS 1.3, and TLS 1.2 with most servers) with a "
	    "raw RSA operation no store offers. Use SSLProvider Internal "
	    "(gnutls), which signs through the store, or an EC key.",
	    PROVIDER, store, h->setting_int(h, "SSLCertStoreType", -1));
}

/* EC_KEY_METHOD is the one hook OpenSSL 3.0 has for a key it does not hold
 * without writing a provider; it is deprecated API, used here on purpose
 * and only here. A key with a foreign method is signed through OpenSSL's
 * legacy path, which hands the method the digest. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static pthread_once_t ec_once = PTHREAD_ONCE_INIT;
static EC_KEY_METHOD *ec_method; /* process-wide, never freed */
static int ec_index = -1;

static int store_ec_sign(int type, const unsigned char *dgst, int dlen,
			 unsigned char *sig, unsigned int *siglen,
			 const BIGNUM *kinv, const BIGNUM *r, EC_KEY *eckey)
{
	struct ossl *o = EC_KEY_get_ex_data(eckey, ec_index);
	struct spop_host *h;
	const struct spop_tls_credential *c;
	unsigned char *out = NULL;
	size_t out_len = 0;
	int hash, rc;

	(void)type;
	(void)kinv;
	(void)r;
	if (!o || !o->store_key)
		return 0;
	h = o->host;
	c = o->store_key;
	/* OpenSSL passes the whole digest; its size names the hash */
	switch (dlen) {
	case 20: hash = SPOP_HASH_SHA1; break;
	case 28: hash = SPOP_HASH_SHA224; break;
	case 32: hash = SPOP_HASH_SHA256; break;
	case 48: hash = SPOP_HASH_SHA384; break;
	case 64: hash = SPOP_HASH_SHA512; break;
	default:
		o->local_error = h->set_error(
		    h, SPOP_ERR_NOT_AVAILABLE,
		    "TLS provider %s: a %d-byte digest is no SHA-1/SHA-2 "
		    "digest the certificate store can sign.",
		    PROVIDER, dlen);
		return 0;
	}
	rc = c->store_ops->key_sign(h, c->key, SPOP_KEY_ECDSA, hash, dgst,
				    (size_t)dlen, &out, &out_len);
	if (rc) {
		o->local_error = rc; /* the store has said why */
		return 0;
	}
	if (out_len > (size_t)ECDSA_size(eckey)) {
		h->free(h, out);
		o->local_error = h->set_error(
		    h, SPOP_ERR_ENCRYPT,
		    "TLS provider %s: the certificate store's ECDSA signature "
		    "is %zu bytes, more than the %d the key allows.",
		    PROVIDER, out_len, ECDSA_size(eckey));
		return 0;
	}
	memcpy(sig, out, out_len); /* DER, as ECDSA_sign gives it */
	*siglen = (unsigned int)out_len;
	h->free(h, out);
	return 1;
}

static void ec_method_init(void)
{
	EC_KEY_METHOD *m = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
	int (*sign)(int, const unsigned char *, int, unsigned char *,
		    unsigned int *, const BIGNUM *, const BIGNUM *, EC_KEY *);
	int (*setup)(EC_KEY *, BN_CTX *, BIGNUM **, BIGNUM **);
	ECDSA_SIG *(*sign_sig)(const unsigned char *, int, const BIGNUM *,
			       const BIGNUM *, EC_KEY *);

	ec_index = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (!m || ec_index < 0) {
		EC_KEY_METHOD_free(m);
		return;
	}
	EC_KEY_METHOD_get_sign(m, &sign, &setup, &sign_sig);
	/* sign_sig (raw r, s) stays OpenSSL's: only ECDSA_sign is used */
	EC_KEY_METHOD_set_sign(m, store_ec_sign, setup, sign_sig);
	ec_method = m;
}

/* An EVP_PKEY that is the certificate's public key and signs through the
 * store. */
static int use_store_ec_key(struct ossl *o, const struct spop_tls_credential *c)
{
	X509 *x = SSL_get_certificate(o->ssl);
	EVP_PKEY *pub = x ? X509_get0_pubkey(x) : NULL;
	const EC_KEY *ec_pub = pub ? EVP_PKEY_get0_EC_KEY(pub) : NULL;
	EC_KEY *ec = NULL;
	EVP_PKEY *key = NULL;
	int ok;

	pthread_once(&ec_once, ec_method_init);
	if (!ec_method)
		return lib_error(o, SPOP_ERR_TLS_LIBRARY,
				 "OpenSSL cannot make a key method for a "
				 "client key held by the certificate store");
	ok = ec_pub && (ec = EC_KEY_new()) &&
	     EC_KEY_set_method(ec, ec_method) &&
	     EC_KEY_set_group(ec, EC_KEY_get0_group(ec_pub)) &&
	     EC_KEY_set_public_key(ec, EC_KEY_get0_public_key(ec_pub)) &&
	     EC_KEY_set_ex_data(ec, ec_index, o) && (key = EVP_PKEY_new()) &&
	     EVP_PKEY_assign_EC_KEY(key, ec);
	if (!ok) {
		EVP_PKEY_free(key);
		if (!key)
			EC_KEY_free(ec);
		return lib_error(o, SPOP_ERR_TLS_LIBRARY,
				 "OpenSSL cannot take the client key of the "
				 "certificate store");
	}
	o->store_key = c;
	ok = SSL_use_PrivateKey(o->ssl, key);
	EVP_PKEY_free(key);
	if (!ok)
		return lib_error(o, SPOP_ERR_CREDENTIALS,
				 "The certificate store's key does not match "
				 "the client certificate");
	return 0;
}

#pragma GCC diagnostic pop

static int use_credential(struct ossl *o, const struct spop_tls_credential *c)
{
	struct spop_host *h = o->host;
	const struct spop_certstore_ops *sops = c->store_ops;
	const unsigned char *p;
	unsigned char *pkcs8 = NULL;
	size_t pkcs8_len = 0;
	X509 *x;
	EVP_PKEY *key = NULL;
	int rc, base_id;

	if (!c->n_chain || !c->chain_der || !c->chain_der[0])
		return h->set_error(h, SPOP_ERR_CREDENTIALS,
				    "The client certificate store gave no "
				    "certificate (TLS provider %s).",
				    PROVIDER);
	p = c->chain_der[0];
	x = d2i_X509(NULL, &p, (long)c->chain_len[0]);
	if (!x)
		return lib_error(o, SPOP_ERR_CREDENTIALS,
				 "The client certificate cannot be read");
	base_id = X509_get0_pubkey(x)
		      ? EVP_PKEY_get_base_id(X509_get0_pubkey(x))
		      : EVP_PKEY_NONE;
	rc = SSL_use_certificate(o->ssl, x);
	X509_free(x);
	if (!rc)
		return lib_error(o, SPOP_ERR_CREDENTIALS,
				 "The client certificate cannot be used");
	for (size_t i = 1; i < c->n_chain; i++) {
		p = c->chain_der[i];
		x = d2i_X509(NULL, &p, (long)c->chain_len[i]);
		rc = x && SSL_add1_chain_cert(o->ssl, x);
		X509_free(x);
		if (!rc)
			return lib_error(o, SPOP_ERR_CREDENTIALS,
					 "A CA certificate of SSLCACerts "
					 "cannot be sent");
	}

	/* EC keys sign through the store (key_sign), whatever the store: a
	 * token's key never leaves it. */
	if (base_id == EVP_PKEY_EC && sops && sops->key_sign)
		return use_store_ec_key(o, c);

	/* Other keys must be in memory: OpenSSL signs with them itself. */
	if (!sops || !SPOP_OPS_HAS(struct spop_certstore_ops, sops, key_export))
		return store_key_refused(o, base_id);
	rc = sops->key_export(h, c->key, &pkcs8, &pkcs8_len);
	if (rc == SPOP_ERR_CREDENTIALS)
		return store_key_refused(o, base_id); /* replaces the store's */
	if (rc)
		return rc;
	p = pkcs8;
	PKCS8_PRIV_KEY_INFO *info =
	    d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)pkcs8_len);
	if (info) {
		key = EVP_PKCS82PKEY(info);
		PKCS8_PRIV_KEY_INFO_free(info);
	}
	OPENSSL_cleanse(pkcs8, pkcs8_len);
	h->free(h, pkcs8);
	if (!key)
		return lib_error(o, SPOP_ERR_CREDENTIALS,
				 "The client certificate's private key "
				 "(PKCS#8) cannot be read");
	rc = SSL_use_PrivateKey(o->ssl, key);
	EVP_PKEY_free(key);
	if (!rc)
		return lib_error(o, SPOP_ERR_CREDENTIALS,
				 "The private key does not match the client "
				 "certificate");
	return 0;
}

/* Called when the server asks for a certificate, after its own was
 * accepted. Returning 0 aborts the handshake. */
static int client_cert_cb(SSL *ssl, void *arg)
{
	struct ossl *o = arg;
	struct spop_host *h = o->host;
	const struct spop_tls_credential *cred = NULL;
	int rc;

	if (o->cert_requested)
		return 1;
	o->cert_requested = 1;
	if (!HOST_HAS(h, client_certificate))
		return 1;
	rc = h->client_certificate(h, &cred);
	if (!rc && cred)
		rc = use_credential(o, cred);
	if (rc) {
		o->local_error = rc;
		return 0;
	}
	if (cred) {
		char msg[512];

		o->cert_sent = 1;
		snprintf(msg, sizeof(msg),
			 "%s asked for a client certificate; sending it",
			 o->server_name);
		h->ssl_status(h, msg);
	}
	return 1;
}

/* ---- session cache, key log, alerts ---- */

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void key_exchange(struct ossl *o, char *name, size_t len, int *bits);

static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct ossl *o = SSL_get_app_data(ssl);
	struct spop_host *h = o->host;
	int n = o->chain ? sk_X509_num(o->chain) : 0;
	int sess_len = i2d_SSL_SESSION(sess, NULL);
	char kx[64];
	int kx_bits;
	size_t total;
	unsigned char *blob, *p;

	if (!HOST_HAS(h, session_cache_put) ||
	    !SSL_SESSION_is_resumable(sess) || sess_len <= 0)
		return 0;
	key_exchange(o, kx, sizeof(kx), &kx_bits);
	total = 8 + 4 + 4 + 4 + strlen(kx) + 4 + 4 + (size_t)sess_len;
	for (int i = 0; i < n; i++)
		total += 4 + (size_t)i2d_X509(sk_X509_value(o->chain, i), NULL);
	blob = p = malloc(total);
	if (!blob)
		return 0;
	memcpy(p, BLOB_MAGIC, 8);
	put_u32(p + 8, BLOB_VERSION);
	put_u32(p + 12, (uint32_t)kx_bits);
	put_u32(p + 16, (uint32_t)strlen(kx));
	memcpy(p + 20, kx, strlen(kx));
	p += 20 + strlen(kx);
	put_u32(p, (uint32_t)n);
	p += 4;
	for (int i = 0; i < n; i++) {
		unsigned char *q = p + 4;
		int len = i2d_X509(sk_X509_value(o->chain, i), &q);

		put_u32(p, (uint32_t)len);
		p = q;
	}
	put_u32(p, (uint32_t)sess_len);
	p += 4;
	i2d_SSL_SESSION(sess, &p);
	h->session_cache_put(h, blob, (size_t)(p - blob));
	OPENSSL_cleanse(blob, total);
	free(blob);
	return 0; /* no reference kept */
}

/* A blob this provider wrote; anything else (another version, damage) is
 * no session at all. */
static SSL_SESSION *load_session(struct ossl *o, const unsigned char *blob,
				 size_t len)
{
	const unsigned char *p = blob, *end = blob + len;
	STACK_OF(X509) *chain = sk_X509_new_null();
	SSL_SESSION *sess = NULL;
	uint32_t n, l, kx_bits;

	if (!chain || len < 24 || memcmp(p, BLOB_MAGIC, 8) ||
	    get_u32(p + 8) != BLOB_VERSION)
		goto bad;
	kx_bits = get_u32(p + 12);
	l = get_u32(p + 16);
	p += 20;
	if (l >= sizeof(o->kx_name) || (size_t)(end - p) < l + 4)
		goto bad;
	memcpy(o->kx_name, p, l);
	o->kx_name[l] = '\0';
	o->kx_bits = (int)kx_bits;
	p += l;
	n = get_u32(p);
	p += 4;
	for (uint32_t i = 0; i < n; i++) {
		const unsigned char *q;
		X509 *x;

		if (end - p < 4 || (size_t)(end - p - 4) < (l = get_u32(p)))
			goto bad;
		q = p + 4;
		x = d2i_X509(NULL, &q, (long)l);
		if (!x || q != p + 4 + l || !sk_X509_push(chain, x)) {
			X509_free(x);
			goto bad;
		}
		p += 4 + l;
	}
	if (end - p < 4 || (size_t)(end - p - 4) != (l = get_u32(p)))
		goto bad;
	p += 4;
	sess = d2i_SSL_SESSION(NULL, &p, (long)l);
	if (!sess)
		goto bad;
	sk_X509_pop_free(o->chain, X509_free);
	o->chain = chain;
	return sess;
bad:
	sk_X509_pop_free(chain, X509_free);
	o->kx_name[0] = '\0';
	o->kx_bits = 0;
	ERR_clear_error();
	return NULL;
}

static void keylog_cb(const SSL *ssl, const char *line)
{
	struct ossl *o = SSL_get_app_data(ssl);

	o->host->key_log(o->host, line);
}

static void info_cb(const SSL *ssl, int where, int ret)
{
	struct ossl *o = SSL_get_app_data(ssl);

	if ((where & SSL_CB_READ_ALERT) && (ret & 0xff) != SSL_AD_CLOSE_NOTIFY)
		o->alert = ret & 0xff;
}

/* ---- session ---- */

static void ossl_free(struct spop_host *h, void *session);

static int setup(struct ossl *o)
{
	struct spop_host *h = o->host;
	const char *seed = get(h, "OpenSSLPrngSeedData", "");
	const char *keylog = get(h, "SSLKeyLogFile", "");
	int min_v, max_v, rc;

	CRYPTO_THREAD_run_once(&bio_once, bio_method_init);
	if (!bio_method)
		return lib_error(o, SPOP_ERR_TLS_LIBRARY,
				 "The I/O method cannot be made");
	o->ctx = SSL_CTX_new_ex(NULL, NULL, TLS_client_method());
	if (!o->ctx)
		return lib_error(o, SPOP_ERR_TLS_LIBRARY,
				 "No TLS context can be made");
	if ((rc = set_protocols(o, &min_v, &max_v)) ||
	    (rc = set_ciphers(o, &min_v, &max_v)) ||
	    (rc = set_sigalgs_groups(o, min_v, max_v)) || (rc = set_trust(o)))
		return rc;

	/* The reference's SSLEnableRenegotiation=False drops the
	 * renegotiation_info extension. OpenSSL always signals RFC 5746
	 * support (the SCSV, or the extension when renegotiating) and cannot
	 * stop; the closest useful meaning, and the one this provider gives
	 * False, is that the connection refuses any renegotiation. */
	if (!h->setting_int(h, "SSLEnableRenegotiation", 1))
		SSL_CTX_set_options(o->ctx, SSL_OP_NO_RENEGOTIATION);

	SSL_CTX_set_verify(o->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(o->ctx, cert_verify_cb, o);
	SSL_CTX_set_cert_cb(o->ctx, client_cert_cb, o);
	SSL_CTX_set_session_cache_mode(o->ctx, SSL_SESS_CACHE_CLIENT |
						   SSL_SESS_CACHE_NO_INTERNAL);
	SSL_CTX_sess_set_new_cb(o->ctx, new_session_cb);
	if (*keylog && HOST_HAS(h, key_log))
		SSL_CTX_set_keylog_callback(o->ctx, keylog_cb);
	SSL_CTX_set_info_callback(o->ctx, info_cb);
	SSL_CTX_set_mode(o->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Adds to OpenSSL's process-wide generator; it never replaces the
	 * system's entropy. */
	if (*seed)
		RAND_seed(seed, (int)strlen(seed));

	o->ssl = SSL_new(o->ctx);
	if (!o->ssl)
		return lib_error(o, SPOP_ERR_TLS_LIBRARY,
				 "No TLS session can be made");
	SSL_set_app_data(o->ssl, o);
	BIO *bio = BIO_new(bio_method);
	if (!bio)
		return lib_error(o, SPOP_ERR_TLS_LIBRARY,
				 "The I/O channel cannot be made");
	BIO_set_data(bio, o);
	SSL_set_bio(o->ssl, bio, bio);

	/* SNI for names only (RFC 6066); the name check against a name or
	 * the IP SANs of an address (RFC 6125). */
	if (is_ip_literal(o->server_name)) {
		if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(o->ssl),
						   o->server_name))
			return lib_error(o, SPOP_ERR_TLS_LIBRARY,
					 "The address to check cannot be set");
	} else if (!SSL_set_tlsext_host_name(o->ssl, o->server_name) ||
		   !SSL_set1_host(o->ssl, o->server_name)) {
		return lib_error(o, SPOP_ERR_TLS_LIBRARY,
				 "The server name cannot be set");
	}
	SSL_set_hostflags(o->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);

	if (HOST_HAS(h, session_cache_get)) {
		size_t len = 0;
		const void *blob = h->session_cache_get(h, &len);
		SSL_SESSION *sess =
		    blob && len ? load_session(o, blob, len) : NULL;

		if (sess) {
			if (!SSL_set_session(o->ssl, sess))
				ERR_clear_error();
			SSL_SESSION_free(sess);
		}
	}
	SSL_set_connect_state(o->ssl);
	return 0;
}

static int ossl_session_new_io(struct spop_host *h, const char *server_name,
			       void **session)
{
	struct ossl *o;
	int rc;

	*session = NULL;
	if (!server_name || !*server_name)
		return h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				    "TLS provider %s needs the server's name "
				    "to check its certificate.",
				    PROVIDER);
	o = calloc(1, sizeof(*o));
	if (!o || !(o->server_name = strdup(server_name))) {
		free(o);
		return h->set_error(h, SPOP_ERR_TLS_LIBRARY, "Out of memory.");
	}
	o->host = h;
	o->alert = -1;
	ERR_clear_error();
	rc = setup(o);
	ERR_clear_error();
	if (rc) {
		o->dead = 1;
		ossl_free(h, o);
		return rc;
	}
	*session = o;
	return 0;
}

static const char *version_name(int v)
{
	for (size_t i = 0; i < N_OF(versions); i++)
		if (versions[i].version == v)
			return versions[i].name;
	return "unknown";
}

/* The error of a failed handshake, read, write: whatever the layers below
 * or the callbacks already said wins over OpenSSL's view of it. */
static int failure(struct ossl *o, int during_handshake, int fallback)
{
	struct spop_host *h = o->host;
	char e[512];
	int rc;

	o->dead = 1;
	if (o->cert_refused) {
		ERR_clear_error();
		return SPOP_ERR_CERT_VERIFY;
	}
	if (o->local_error || o->io_error) {
		ERR_clear_error();
		return o->local_error ? o->local_error : o->io_error;
	}
	if (o->cert_requested && !o->cert_sent &&
	    (o->alert == SSL_AD_CERTIFICATE_REQUIRED ||
	     o->alert == SSL_AD_HANDSHAKE_FAILURE ||
	     o->alert == SSL_AD_BAD_CERTIFICATE)) {
		err_text(e, sizeof(e));
		return h->set_error(h, SPOP_ERR_NO_CLIENT_CERT,
				    "%s demanded a client certificate and none "
				    "was set (alert \"%s\"; TLS provider %s: "
				    "%s).",
				    o->server_name,
				    o->alert == SSL_AD_CERTIFICATE_REQUIRED
					? "certificate required"
					: SSL_alert_desc_string_long(o->alert),
				    PROVIDER, e);
	}
	if (o->eof) {
		err_text(e, sizeof(e));
		if (during_handshake)
			return h->set_error(h, SPOP_ERR_HANDSHAKE,
					    "%s closed the connection during "
					    "the TLS handshake (TLS provider "
					    "%s: %s).",
					    o->server_name, PROVIDER, e);
		return h->set_error(
		    h, SPOP_ERR_DROPPED,
		    "%s closed the connection without a TLS "
		    "close_notify, so the data may be cut short "
		    "(TLS provider %s).",
		    o->server_name, PROVIDER);
	}
	err_text(e, sizeof(e));
	rc = during_handshake || o->alert >= 0 ? SPOP_ERR_HANDSHAKE : fallback;
	return h->set_error(h, rc,
			    "TLS %s with %s failed (TLS provider %s): %s.",
			    during_handshake ? "handshake" : "connection",
			    o->server_name, PROVIDER, e);
}

/* After SSL_connect: the certificate step ran exactly once, or it is done
 * here for a resumed session. */
static int finish_handshake(struct ossl *o)
{
	struct spop_host *h = o->host;
	const SSL_CIPHER *c = SSL_get_current_cipher(o->ssl);
	char msg[512];
	int rc;

	if (!o->cert_reported) {
		if (!SSL_session_reused(o->ssl))
			return h->set_error(
			    h, SPOP_ERR_NO_SERVER_CERT,
			    "%s sent no server certificate (TLS provider %s, "
			    "cipher suite %s).",
			    o->server_name, PROVIDER,
			    c ? SSL_CIPHER_standard_name(c) : "none");
		rc = verify_resumed(o);
		if (rc)
			return rc;
	}
	if (SSL_session_reused(o->ssl)) {
		snprintf(msg, sizeof(msg),
			 "Resumed the previous TLS session with %s (%s, %s)",
			 o->server_name, version_name(SSL_version(o->ssl)),
			 c ? SSL_CIPHER_standard_name(c) : "");
		h->ssl_status(h, msg);
	}
	o->established = 1;
	return 0;
}

static int ossl_handshake(struct spop_host *h, void *session)
{
	struct ossl *o = session;

	if (o->established)
		return 0;
	if (o->dead)
		return h->set_error(h, SPOP_ERR_HANDSHAKE,
				    "The TLS session with %s already failed.",
				    o->server_name);
	for (;;) {
		int r, e, rc;

		ERR_clear_error();
		o->again = 0;
		r = SSL_connect(o->ssl);
		if (r == 1) {
			ERR_clear_error();
			rc = finish_handshake(o);
			ERR_clear_error();
			if (rc)
				o->dead = 1;
			return rc;
		}
		e = SSL_get_error(o->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return failure(o, 1, SPOP_ERR_HANDSHAKE);
		ERR_clear_error();
		if (!o->again)
			o->again = e == SSL_ERROR_WANT_READ
				       ? SPOP_IO_AGAIN_READ
				       : SPOP_IO_AGAIN_WRITE;
		rc = h->io_wait(h, o->again == SPOP_IO_AGAIN_READ
				       ? SPOP_WAIT_READ
				       : SPOP_WAIT_WRITE);
		if (rc) {
			o->dead = 1;
			return rc;
		}
	}
}

static ssize_t io_result(struct ossl *o, int r, int fallback)
{
	int e = SSL_get_error(o->ssl, r);

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		ERR_clear_error();
		if (o->again)
			return o->again;
		return e == SSL_ERROR_WANT_READ ? SPOP_IO_AGAIN_READ
						: SPOP_IO_AGAIN_WRITE;
	}
	if (e == SSL_ERROR_ZERO_RETURN) {
		ERR_clear_error();
		return 0;
	}
	return -failure(o, 0, fallback);
}

static ssize_t ossl_read(struct spop_host *h, void *session, void *buf,
			 size_t len)
{
	struct ossl *o = session;
	int r;

	if (o->dead || !o->established)
		return -h->set_error(h, SPOP_ERR_DECRYPT,
				     "The TLS session with %s is not usable.",
				     o->server_name);
	ERR_clear_error();
	o->again = 0;
	r = SSL_read(o->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	if (r > 0)
		return r;
	return io_result(o, r, SPOP_ERR_DECRYPT);
}

static ssize_t ossl_write(struct spop_host *h, void *session, const void *buf,
			  size_t len)
{
	struct ossl *o = session;
	int r;

	if (o->dead || !o->established)
		return -h->set_error(h, SPOP_ERR_ENCRYPT,
				     "The TLS session with %s is not usable.",
				     o->server_name);
	if (!len)
		return 0;
	ERR_clear_error();
	o->again = 0;
	r = SSL_write(o->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	if (r > 0)
		return r;
	return io_result(o, r, SPOP_ERR_ENCRYPT);
}

static size_t ossl_pending(struct spop_host *h, void *session)
{
	struct ossl *o = session;
	int n = o->ssl ? SSL_pending(o->ssl) : 0;

	return n > 0 ? (size_t)n : 0;
}

/* ---- negotiated values, in the provider-neutral vocabulary ---- */

static void cipher_name(const SSL_CIPHER *c, char *out, size_t len)
{
	int nid = SSL_CIPHER_get_cipher_nid(c);
	const char *ln = nid != NID_undef ? OBJ_nid2ln(nid) : NULL;

	if (!ln)
		snprintf(out, len, "NULL");
	else if (nid == NID_des_ede3_cbc)
		snprintf(out, len, "3DES-EDE-CBC");
	else if (nid == NID_rc4)
		snprintf(out, len, "RC4-128");
	else
		snprintf(out, len, "%s%s", ln,
			 strstr(SSL_CIPHER_get_name(c), "CCM8") ||
				 strstr(SSL_CIPHER_get_name(c), "CCM_8")
			     ? "-8"
			     : "");
	upper(out);
}

static void key_exchange(struct ossl *o, char *name, size_t len, int *bits)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(o->ssl);
	int nid = SSL_get_negotiated_group(o->ssl);
	EVP_PKEY *tmp = NULL;

	name[0] = '\0';
	*bits = 0;
	if (c && SSL_CIPHER_get_kx_nid(c) == NID_kx_rsa) {
		X509 *peer = SSL_get0_peer_certificate(o->ssl);
		EVP_PKEY *pk = peer ? X509_get0_pubkey(peer) : NULL;

		snprintf(name, len, "RSA");
		*bits = pk ? EVP_PKEY_get_bits(pk) : 0;
		return;
	}
	for (size_t i = 0; nid && i < N_OF(groups); i++)
		if (groups[i].nid == nid) {
			snprintf(name, len, "%s", groups[i].vocab);
			*bits = groups[i].bits;
			return;
		}
	/* TLS 1.2 DHE sends bare parameters: a named group when they are
	 * one (RFC 7919), else the prime's size. */
	if (SSL_get_peer_tmp_key(o->ssl, &tmp) && tmp) {
		char group[64] = "";

		if (EVP_PKEY_get_utf8_string_param(
			tmp, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
			NULL) &&
		    *group)
			snprintf(name, len, "%s", group);
		else
			snprintf(name, len, "%s",
				 EVP_PKEY_is_a(tmp, "DH") ? "DHE" : "ECDHE");
		*bits = EVP_PKEY_get_bits(tmp);
		EVP_PKEY_free(tmp);
		upper(name);
		for (size_t i = 0; i < N_OF(groups); i++)
			if (!strcasecmp(name, groups[i].ossl)) {
				snprintf(name, len, "%s", groups[i].vocab);
				*bits = groups[i].bits;
			}
		ERR_clear_error();
		return;
	}
	ERR_clear_error();
	if (nid) {
		const char *sn = OBJ_nid2sn(nid);

		snprintf(name, len, "%s", sn ? sn : "UNKNOWN");
		upper(name);
		return;
	}
	/* a resumed TLS 1.2 session: the full handshake's */
	if (SSL_session_reused(o->ssl) && o->kx_name[0]) {
		snprintf(name, len, "%s", o->kx_name);
		*bits = o->kx_bits;
	}
}

static int ossl_info(struct spop_host *h, void *session,
		     struct spop_tls_info *info)
{
	struct ossl *o = session;
	const SSL_CIPHER *c;
	X509 *peer;

	if (!o->established)
		return h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				    "No TLS session with %s is established.",
				    o->server_name);
	c = SSL_get_current_cipher(o->ssl);
	peer = SSL_get0_peer_certificate(o->ssl);
	snprintf(info->version, sizeof(info->version), "%s",
		 version_name(SSL_version(o->ssl)));
	if (c) {
		cipher_name(c, info->cipher, sizeof(info->cipher));
		info->cipher_strength = key_bits(c);
	}
	key_exchange(o, info->key_exchange, sizeof(info->key_exchange),
		     &info->key_exchange_strength);
	info->peer_der = NULL;
	info->peer_der_len = 0;
	if (peer) {
		int len = i2d_X509(peer, NULL);

		if (len > 0) {
			unsigned char *p = h->alloc(h, (size_t)len);

			info->peer_der = p;
			info->peer_der_len = (size_t)i2d_X509(peer, &p);
		}
	}
	if (info->size >=
	    offsetof(struct spop_tls_info, resumed) + sizeof(info->resumed)) {
		snprintf(info->cipher_suite, sizeof(info->cipher_suite), "%s",
			 c ? SSL_CIPHER_standard_name(c) : "");
		info->resumed = SSL_session_reused(o->ssl);
	}
	ERR_clear_error();
	return 0;
}

/* ---- channel binding ---- */

static int give(struct spop_host *h, const unsigned char *data, size_t len,
		unsigned char **out, size_t *out_len)
{
	*out = h->alloc(h, len);
	memcpy(*out, data, len);
	*out_len = len;
	return 0;
}

static int ossl_channel_binding(struct spop_host *h, void *session,
				const char *type, unsigned char **data,
				size_t *len)
{
	struct ossl *o = session;
	int v = o->established ? SSL_version(o->ssl) : 0;
	unsigned char buf[EVP_MAX_MD_SIZE];

	*data = NULL;
	*len = 0;
	if (!o->established)
		return h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
				    "Channel binding '%s' needs an established "
				    "TLS session with %s.",
				    type, o->server_name);
	if (!strcmp(type, "tls-server-end-point")) {
		/* RFC 5929 4.1: the certificate's own signature hash, with
		 * MD5 and SHA-1 replaced by SHA-256. */
		X509 *peer = SSL_get0_peer_certificate(o->ssl);
		int mdnid = NID_undef;
		unsigned int n = 0;
		EVP_MD *md = NULL;
		unsigned char *der = NULL;
		int der_len, ok;

		if (!peer)
			return h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
					    "%s sent no certificate for "
					    "tls-server-end-point.",
					    o->server_name);
		if (!X509_get_signature_info(peer, &mdnid, NULL, NULL, NULL) ||
		    mdnid == NID_undef) {
			ERR_clear_error();
			return h->set_error(
			    h, SPOP_ERR_NOT_AVAILABLE,
			    "The certificate of %s is signed "
			    "without a single hash function "
			    "(e.g. Ed25519), for which RFC 5929 "
			    "defines no tls-server-end-point.",
			    o->server_name);
		}
		if (mdnid == NID_md5 || mdnid == NID_sha1)
			mdnid = NID_sha256;
		md = EVP_MD_fetch(NULL, OBJ_nid2sn(mdnid), NULL);
		der_len = i2d_X509(peer, &der);
		ok = md && der_len > 0 &&
		     EVP_Digest(der, (size_t)der_len, buf, &n, md, NULL);
		EVP_MD_free(md);
		OPENSSL_free(der);
		if (!ok) {
			char e[256];

			err_text(e, sizeof(e));
			return h->set_error(h, SPOP_ERR_TLS_LIBRARY,
					    "tls-server-end-point for %s "
					    "cannot be computed (TLS provider "
					    "%s): %s.",
					    o->server_name, PROVIDER, e);
		}
		return give(h, buf, n, data, len);
	}
	if (!strcmp(type, "tls-exporter")) {
		/* RFC 9266: 32 bytes, empty context, TLS 1.3 only. */
		if (v != TLS1_3_VERSION)
			return h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
					    "tls-exporter is defined for TLS "
					    "1.3 only; the session with %s is "
					    "%s.",
					    o->server_name, version_name(v));
		if (SSL_export_keying_material(o->ssl, buf, 32, EXPORTER_LABEL,
					       sizeof(EXPORTER_LABEL) - 1, NULL,
					       0, 1) != 1) {
			char e[256];

			err_text(e, sizeof(e));
			return h->set_error(h, SPOP_ERR_TLS_LIBRARY,
					    "tls-exporter for %s cannot be "
					    "computed (TLS provider %s): %s.",
					    o->server_name, PROVIDER, e);
		}
		return give(h, buf, 32, data, len);
	}
	if (!strcmp(type, "tls-unique")) {
		/* RFC 5929 3.1: the first Finished of the latest handshake,
		 * the server's when the session was resumed. */
		size_t n;

		if (v == TLS1_3_VERSION)
			return h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
					    "tls-unique is not defined for TLS "
					    "1.3 (RFC 8446), which the session "
					    "with %s uses.",
					    o->server_name);
		n = SSL_session_reused(o->ssl)
			? SSL_get_peer_finished(o->ssl, buf, sizeof(buf))
			: SSL_get_finished(o->ssl, buf, sizeof(buf));
		if (!n || n > sizeof(buf))
			return h->set_error(h, SPOP_ERR_TLS_LIBRARY,
					    "tls-unique for %s is not "
					    "available (TLS provider %s).",
					    o->server_name, PROVIDER);
		return give(h, buf, n, data, len);
	}
	return h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
			    "TLS provider %s has no channel binding of type "
			    "'%s' (it has tls-server-end-point, tls-exporter "
			    "and tls-unique).",
			    PROVIDER, type);
}

/* ---- end ---- */

static void ossl_free(struct spop_host *h, void *session)
{
	struct ossl *o = session;

	if (!o)
		return;
	/* close_notify, best effort: one try, whatever the layer below
	 * says, and never after a failure (the error stays the first one). */
	if (o->ssl && o->established && !o->dead &&
	    !(SSL_get_shutdown(o->ssl) & SSL_SENT_SHUTDOWN)) {
		ERR_clear_error();
		SSL_shutdown(o->ssl);
	}
	SSL_free(o->ssl);
	SSL_CTX_free(o->ctx);
	sk_X509_pop_free(o->chain, X509_free);
	free(o->server_name);
	free(o);
	ERR_clear_error();
}

static const struct spop_tls_ops ops = {
    .size = sizeof(struct spop_tls_ops),
    .handshake = ossl_handshake,
    .read = ossl_read,
    .write = ossl_write,
    .pending = ossl_pending,
    .info = ossl_info,
    .session_free = ossl_free,
    .session_new_io = ossl_session_new_io,
    .channel_binding = ossl_channel_binding,
};

static const int32_t selectors[] = {1};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_TLS,
    .name = "openssl",
    .version = "1.0",
    .description = "OpenSSL 3 (SSLProvider Platform), over the layer below",
    .selectors = selectors,
    .n_selectors = 1,
    .capabilities = SPOP_CAP_TLS_1_3 | SPOP_CAP_TLS_CLIENT_CERT,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
