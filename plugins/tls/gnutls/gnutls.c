/* TLS provider "gnutls" (SSLProvider Internal, and Automatic): a layer of
 * the connection stack that runs GnuTLS over the layer below through the
 * host's io_* services, never on a socket. It turns the reference's SSL
 * settings into a GnuTLS priority string, verifies the server itself and
 * lets the core decide through host->server_certificate(). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <spop/plugin.h>

#include "trust-cache.h"

#define PROVIDER "gnutls"

/* The reference's defaults. A default list may name something this GnuTLS
 * lacks; only a value the user chose is an error. */
#define DEF_PROTOCOLS 4032
#define DEF_CA_PATHS                                                           \
	"/etc/ssl/ca-bundle.pem;/etc/pki/tls/certs/ca-bundle.crt;"             \
	"/etc/ssl/certs/ca-certificates.crt;/etc/pki/tls/cacert.pem"
#define DEF_TLS12_SIGS                                                         \
	"sha512-ecdsa,sha512-rsa,sha512-dsa,sha384-ecdsa,sha384-rsa,"          \
	"sha384-dsa,sha256-ecdsa,sha256-rsa,sha256-dsa,sha224-ecdsa,"          \
	"sha224-rsa,sha224-dsa,sha1-ecdsa,sha1-rsa,sha1-dsa"
#define DEF_TLS12_GROUPS "ecdhe_secp256r1,ecdhe_secp384r1,ecdhe_secp521r1"
#define DEF_TLS13_SHARES                                                       \
	"ecdhe_x25519,ecdhe_secp256r1,ecdhe_secp384r1,ffdhe_2048,ffdhe_3072"
#define DEF_TLS13_SIGS                                                         \
	"rsa_pss_sha256,rsa_pss_sha384,rsa_pss_sha512,rsa_pkcs1_sha256,"       \
	"rsa_pkcs1_sha384,rsa_pkcs1_sha512,ecdsa_secp256r1_sha256,"            \
	"ecdsa_secp384r1_sha384,ecdsa_secp521r1_sha512,ed25519,ed448"
#define DEF_TLS13_GROUPS                                                       \
	"ecdhe_x25519,ecdhe_x448,ecdhe_secp256r1,ecdhe_secp384r1,"             \
	"ecdhe_secp521r1,ffdhe_2048,ffdhe_3072,ffdhe_4096,ffdhe_6144,"         \
	"ffdhe_8192"

/* SSLEnabledProtocols bits: either bit of a pair enables the version. */
#define P_TLS13 0x3000
#define P_TLS12 0x0C00
#define P_TLS11 0x0300
#define P_TLS10 0x00C0

struct gtls {
	struct spop_host *host; /* fixed until session_free (plugin.h) */
	gnutls_session_t session;
	/* shared with the process's other connections (trust-cache.h): the
	 * trust anchors, and retrieve_cb that finds this connection through
	 * the session */
	struct trust_entry *trust;
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	char *name; /* server name as given: SNI, checks, messages */
	unsigned char ip[16];
	size_t ip_len; /* 4 or 16 when name is an IP literal, else 0 */

	/* SSLEnabledCipherSuites when it is not "*": normalised names */
	char **suites;
	size_t n_suites;
	int renegotiation; /* SSLEnableRenegotiation */

	int want;     /* SPOP_WAIT_* the layer below last asked for */
	int below_rc; /* error code of the layer below (its error is set) */
	int rc;	      /* code a callback reported (its error is set) */
	int handshake_done;
	int verify_called; /* server_certificate() ran in this handshake */
	int broken;	   /* fatal error: no close_notify, no more I/O */
	int closed;	   /* the peer ended the stream */
	int renegotiating;
	int refuse_pending; /* a no_renegotiation alert still to send */
	int refused_renegotiation;
	int ticket_stored;
	int cert_requested; /* the server sent a CertificateRequest */
	int cert_sent;	    /* and we had a certificate to answer with */

	gnutls_pcert_st *pcerts;
	unsigned n_pcerts;
	gnutls_privkey_t key;
	/* a key that stays in its store: signed through key_sign */
	const struct spop_tls_credential *store_key;
	int key_pk; /* its gnutls_pk_algorithm_t, from the certificate */
	unsigned key_bits;
};

/* ---- small helpers ---- */

static char *dup_str(struct spop_host *h, const char *s)
{
	size_t n = strlen(s);
	char *d = h->alloc(h, n + 1);

	memcpy(d, s, n + 1);
	return d;
}

/* A growing string; the host's alloc never returns NULL. */
struct sb {
	struct spop_host *h;
	char *p;
	size_t len, cap;
};

static void sb_add(struct sb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = (b->len + (size_t)n + 1) * 2;
		char *p = b->h->alloc(b->h, cap);

		if (b->p) {
			memcpy(p, b->p, b->len + 1);
			b->h->free(b->h, b->p);
		}
		b->p = p;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static int is_default(const char *value, const char *def)
{
	return !value || !*value || !strcasecmp(value, def);
}

/* Splits a list on any of seps, trimming blanks; returns the number of
 * items written into items (each h->alloc'd). */
static size_t split(struct spop_host *h, const char *value, const char *seps,
		    char ***items)
{
	size_t n = 0, cap = 8;
	char **v = h->alloc(h, cap * sizeof(*v));

	while (value && *value) {
		size_t len = strcspn(value, seps);
		const char *s = value, *e = value + len;

		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (e > s) {
			if (n == cap) {
				char **w = h->alloc(h, 2 * cap * sizeof(*w));

				memcpy(w, v, n * sizeof(*v));
				h->free(h, v);
				v = w;
				cap *= 2;
			}
			v[n] = h->alloc(h, (size_t)(e - s) + 1);
			memcpy(v[n], s, (size_t)(e - s));
			v[n][e - s] = '\0';
			n++;
		}
		value += len;
		if (*value)
			value++;
	}
	*items = v;
	return n;
}

static void free_list(struct spop_host *h, char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h->free(h, v[i]);
	h->free(h, v);
}

static const char *setting(struct spop_host *h, const char *name,
			   const char *fallback)
{
	const char *v = h->setting(h, name);

	return v ? v : fallback;
}

/* GnuTLS's reason for an error code, without its final period, so that
 * it reads inside a sentence. */
static const char *reason(int r)
{
	static __thread char buf[160];
	size_t n;

	snprintf(buf, sizeof(buf), "%s", gnutls_strerror(r));
	n = strlen(buf);
	while (n && (buf[n - 1] == '.' || isspace((unsigned char)buf[n - 1])))
		buf[--n] = '\0';
	return buf;
}

/* ---- cipher suites ----
 * The reference names suites as IANA does ("TLS_ECDHE_RSA_WITH_AES_128_
 * CBC_SHA"); GnuTLS lists them its own way ("TLS_ECDHE_RSA_AES_128_CBC_
 * SHA1"). Both are brought to one form to compare. */
static void replace(char *s, const char *from, const char *to)
{
	size_t lf = strlen(from), lt = strlen(to);
	char *p;

	/* only ever shortens or keeps the length */
	while ((p = strstr(s, from))) {
		memmove(p + lt, p + lf, strlen(p + lf) + 1);
		memcpy(p, to, lt);
		s = p + lt;
	}
}

static char *suite_key(struct spop_host *h, const char *name)
{
	size_t n;
	char *s;

	if (!strncasecmp(name, "TLS_", 4))
		name += 4;
	n = strlen(name);
	s = h->alloc(h, n + 8);
	for (size_t i = 0; i <= n; i++)
		s[i] = (char)toupper((unsigned char)name[i]);
	replace(s, "WITH_", "");
	replace(s, "RC4_", "ARCFOUR_");
	replace(s, "DH_ANON_", "ANON_DH_");
	replace(s, "ECDH_ANON_", "ANON_ECDH_");
	n = strlen(s);
	if (n >= 4 && !strcmp(s + n - 4, "_SHA"))
		strcat(s, "1");
	/* TLS 1.2 ChaCha20 suites: IANA says _SHA256, GnuTLS says nothing */
	n = strlen(s);
	if (n > 17 && !strcmp(s + n - 17, "CHACHA20_POLY1305"))
		strcat(s, "_SHA256");
	return s;
}

/* Key bits of a bulk cipher as the reference counts them (3DES: 168). */
static int cipher_bits(gnutls_cipher_algorithm_t c)
{
	if (c == GNUTLS_CIPHER_3DES_CBC)
		return 168;
	return (int)gnutls_cipher_get_key_size(c) * 8;
}

static int kx_needs_other_credentials(gnutls_kx_algorithm_t kx)
{
	switch (kx) {
	case GNUTLS_KX_ANON_DH:
	case GNUTLS_KX_ANON_ECDH:
	case GNUTLS_KX_PSK:
	case GNUTLS_KX_DHE_PSK:
	case GNUTLS_KX_ECDHE_PSK:
	case GNUTLS_KX_RSA_PSK:
	case GNUTLS_KX_SRP:
	case GNUTLS_KX_SRP_RSA:
	case GNUTLS_KX_SRP_DSS: return 1;
	default: return 0;
	}
}

/* Adds "+NAME" to b unless it is already there. */
static void add_unique(struct sb *b, const char *prefix, const char *name)
{
	char item[96];

	snprintf(item, sizeof(item), ":+%s%s:", prefix, name);
	if (b->p) {
		/* b holds ":+A:+B" (no trailing colon): look for ":+X:" */
		struct sb probe = {b->h, NULL, 0, 0};

		sb_add(&probe, "%s:", b->p);
		int found = strstr(probe.p, item) != NULL;

		b->h->free(b->h, probe.p);
		if (found)
			return;
	}
	sb_add(b, ":+%s%s", prefix, name);
}

/* SSLEnabledCipherSuites and SSLCipherStrength: the components of the
 * listed suites (GnuTLS cannot enable single suites; the negotiated one is
 * checked after the handshake) and the versions they can run on. */
static int suites_priority(struct gtls *t, struct spop_host *h, struct sb *out,
			   int *vers)
{
	const char *value = setting(h, "SSLEnabledCipherSuites", "*");
	long long strength = h->setting_int(h, "SSLCipherStrength", 0);
	char **names;
	size_t n;

	if (strength < 0 || strength > 100000)
		return h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				    "SSLCipherStrength %lld is not a number of "
				    "bits the " PROVIDER " provider can use.",
				    strength);
	if (!*value || !strcmp(value, "*")) {
		/* NORMAL's suites without the ciphers that are too weak; only
		 * ciphers some TLS suite uses count */
		gnutls_cipher_algorithm_t c, seen[64];
		size_t n_seen = 0;
		int left = 0;

		for (size_t j = 0;
		     strength > 0 &&
		     gnutls_cipher_suite_info(j, NULL, NULL, &c, NULL, NULL);
		     j++) {
			size_t k = 0;

			while (k < n_seen && seen[k] != c)
				k++;
			if (k < n_seen ||
			    n_seen == sizeof(seen) / sizeof(*seen))
				continue;
			seen[n_seen++] = c;
			if (cipher_bits(c) < strength)
				sb_add(out, ":-%s", gnutls_cipher_get_name(c));
			else if (c != GNUTLS_CIPHER_NULL)
				left++;
		}
		if (strength > 0 && !left)
			return h->set_error(
			    h, SPOP_ERR_TLS_LIBRARY,
			    "SSLCipherStrength %lld leaves no cipher "
			    "the " PROVIDER
			    " provider knows (the strongest have 256 bits).",
			    strength);
		return 0;
	}

	n = split(h, value, ";,", &names);
	struct sb kx = {h, NULL, 0, 0}, ci = {h, NULL, 0, 0},
		  mac = {h, NULL, 0, 0};
	int has13 = 0, has12 = 0, rc = 0;
	const char *weak = NULL;

	t->suites = h->alloc(h, (n ? n : 1) * sizeof(char *));
	for (size_t i = 0; i < n && !rc; i++) {
		char *key = suite_key(h, names[i]);
		unsigned char id[2];
		gnutls_kx_algorithm_t k;
		gnutls_cipher_algorithm_t c;
		gnutls_mac_algorithm_t m;
		gnutls_protocol_t v;
		const char *gn = NULL;
		size_t j;

		for (j = 0;
		     (gn = gnutls_cipher_suite_info(j, id, &k, &c, &m, &v));
		     j++) {
			char *gkey = suite_key(h, gn);
			int same = !strcmp(gkey, key);

			h->free(h, gkey);
			if (same)
				break;
		}
		if (!gn) {
			rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
					  "SSLEnabledCipherSuites names '%s', "
					  "which is not a cipher suite the "
					  "" PROVIDER " provider supports.",
					  names[i]);
		} else if (kx_needs_other_credentials(k) ||
			   c == GNUTLS_CIPHER_NULL) {
			rc = h->set_error(
			    h, SPOP_ERR_TLS_LIBRARY,
			    "SSLEnabledCipherSuites names '%s', which "
			    "the " PROVIDER
			    " provider does not support: it %s.",
			    names[i],
			    c == GNUTLS_CIPHER_NULL
				? "encrypts nothing"
				: "needs anonymous, PSK or SRP credentials "
				  "instead of a verified server certificate");
		} else if (cipher_bits(c) < strength) {
			weak = weak ? weak : names[i];
		} else {
			if (k == GNUTLS_KX_UNKNOWN) {
				has13 = 1;
			} else {
				has12 = 1;
				add_unique(&kx, "", gnutls_kx_get_name(k));
			}
			add_unique(&ci, "", gnutls_cipher_get_name(c));
			add_unique(&mac, "", gnutls_mac_get_name(m));
		}
		if (!rc)
			t->suites[t->n_suites++] = key;
		else
			h->free(h, key);
	}
	if (!rc && !n)
		rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				  "SSLEnabledCipherSuites lists no cipher "
				  "suite (use \"*\" for all).");
	if (!rc && !has12 && !has13)
		rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				  "SSLCipherStrength %lld excludes every "
				  "suite SSLEnabledCipherSuites lists (%s "
				  "is weaker).",
				  strength, weak);
	if (!rc) {
		sb_add(out, ":-KX-ALL%s:-CIPHER-ALL%s:-MAC-ALL%s",
		       kx.p ? kx.p : "", ci.p, mac.p);
		/* A version none of the listed suites runs on is dropped, so
		 * that GnuTLS does not settle on a suite the user excluded. */
		if (!has13)
			*vers &= ~P_TLS13;
		if (!has12)
			*vers &= P_TLS13;
	}
	h->free(h, kx.p);
	h->free(h, ci.p);
	h->free(h, mac.p);
	free_list(h, names, n);
	return rc;
}

/* ---- signature algorithms and groups ---- */

/* TLS12SignatureAlgorithms: "sha256-rsa" -> "RSA-SHA256". */
static int sig12_name(const char *v, char *out, size_t len)
{
	static const char *const hashes[] = {"md5",    "sha1",	 "sha224",
					     "sha256", "sha384", "sha512"};
	static const char *const algs[] = {"rsa", "dsa", "ecdsa"};
	const char *dash = strchr(v, '-');
	int hash_ok = 0, alg_ok = 0;

	if (!dash)
		return 0;
	for (size_t i = 0; i < sizeof(hashes) / sizeof(*hashes); i++)
		hash_ok |= (size_t)(dash - v) == strlen(hashes[i]) &&
			   !strncasecmp(v, hashes[i], strlen(hashes[i]));
	for (size_t i = 0; i < sizeof(algs) / sizeof(*algs); i++)
		alg_ok |= !strcasecmp(dash + 1, algs[i]);
	if (!hash_ok || !alg_ok)
		return 0;
	snprintf(out, len, "%s-%.*s", dash + 1, (int)(dash - v), v);
	for (char *p = out; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return 1;
}

/* TLS13SignatureAlgorithms (TLS 1.3 SignatureScheme names): up to two
 * GnuTLS names, the second may be "". */
static int sig13_names(const char *v, char *a, char *b, size_t len)
{
	static const struct {
		const char *ref, *first, *second;
	} map[] = {
	    {"rsa_pss_sha256", "RSA-PSS-RSAE-SHA256", "RSA-PSS-SHA256"},
	    {"rsa_pss_sha384", "RSA-PSS-RSAE-SHA384", "RSA-PSS-SHA384"},
	    {"rsa_pss_sha512", "RSA-PSS-RSAE-SHA512", "RSA-PSS-SHA512"},
	    {"rsa_pss_rsae_sha256", "RSA-PSS-RSAE-SHA256", ""},
	    {"rsa_pss_rsae_sha384", "RSA-PSS-RSAE-SHA384", ""},
	    {"rsa_pss_rsae_sha512", "RSA-PSS-RSAE-SHA512", ""},
	    {"rsa_pss_pss_sha256", "RSA-PSS-SHA256", ""},
	    {"rsa_pss_pss_sha384", "RSA-PSS-SHA384", ""},
	    {"rsa_pss_pss_sha512", "RSA-PSS-SHA512", ""},
	    {"rsa_pkcs1_sha1", "RSA-SHA1", ""},
	    {"rsa_pkcs1_sha256", "RSA-SHA256", ""},
	    {"rsa_pkcs1_sha384", "RSA-SHA384", ""},
	    {"rsa_pkcs1_sha512", "RSA-SHA512", ""},
	    {"ecdsa_sha1", "ECDSA-SHA1", ""},
	    {"ecdsa_secp256r1_sha256", "ECDSA-SECP256R1-SHA256", ""},
	    {"ecdsa_secp384r1_sha384", "ECDSA-SECP384R1-SHA384", ""},
	    {"ecdsa_secp521r1_sha512", "ECDSA-SECP521R1-SHA512", ""},
	    {"ed25519", "EdDSA-Ed25519", ""},
	    {"ed448", "EdDSA-Ed448", ""},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++)
		if (!strcasecmp(v, map[i].ref)) {
			snprintf(a, len, "%s", map[i].first);
			snprintf(b, len, "%s", map[i].second);
			return 1;
		}
	return 0;
}

/* "ecdhe_x25519" -> "X25519", "ffdhe_2048" -> "FFDHE2048". */
static int group_name(const char *v, char *out, size_t len)
{
	static const char *const known[] = {
	    "ecdhe_x25519",    "ecdhe_x448",	  "ecdhe_secp256r1",
	    "ecdhe_secp384r1", "ecdhe_secp521r1", "ffdhe_2048",
	    "ffdhe_3072",      "ffdhe_4096",	  "ffdhe_6144",
	    "ffdhe_8192"};
	int ok = 0;

	for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
		ok |= !strcasecmp(v, known[i]);
	if (!ok)
		return 0;
	if (!strncasecmp(v, "ecdhe_", 6))
		snprintf(out, len, "%s", v + 6);
	else
		snprintf(out, len, "FFDHE%s", v + 6);
	for (char *p = out; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return 1;
}

static int sign_usable(const char *name)
{
	gnutls_sign_algorithm_t id = gnutls_sign_get_id(name);
	const gnutls_sign_algorithm_t *l = gnutls_sign_list();

	if (id == GNUTLS_SIGN_UNKNOWN || !gnutls_sign_is_secure2(id, 0))
		return 0;
	for (; *l; l++)
		if (*l == id)
			return 1;
	return 0;
}

static int group_usable(const char *name)
{
	gnutls_group_t id = gnutls_group_get_id(name);
	const gnutls_group_t *l = gnutls_group_list();

	for (; id != GNUTLS_GROUP_INVALID && *l; l++)
		if (*l == id)
			return 1;
	return 0;
}

/* One signature setting into SIGN-* items of b. */
static int add_sigs(struct spop_host *h, struct sb *b, const char *setting_name,
		    const char *def, int tls13)
{
	const char *value = setting(h, setting_name, def);
	int user = !is_default(value, def);
	char **v;
	size_t n = split(h, user ? value : def, ",", &v);
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++) {
		char a[64], c[64] = "";
		int known = tls13 ? sig13_names(v[i], a, c, sizeof(a))
				  : sig12_name(v[i], a, sizeof(a));

		if (!known) {
			rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
					  "%s names '%s', which is not one of "
					  "its values.",
					  setting_name, v[i]);
			break;
		}
		for (const char *g = a; g; g = g == a && *c ? c : NULL) {
			if (sign_usable(g))
				add_unique(b, "SIGN-", g);
			else if (user)
				rc =
				    h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
						 "%s names '%s', which the "
						 "" PROVIDER " provider cannot "
						 "use (GnuTLS has no usable "
						 "%s).",
						 setting_name, v[i], g);
			if (rc)
				break;
		}
	}
	free_list(h, v, n);
	return rc;
}

/* Groups of one setting, as GnuTLS names; unusable defaults are dropped. */
static int read_groups(struct spop_host *h, const char *setting_name,
		       const char *def, char ***out, size_t *n_out, int *user)
{
	const char *value = setting(h, setting_name, def);
	char **v;
	size_t n;
	int rc = 0;

	*user = !is_default(value, def);
	n = split(h, *user ? value : def, ",", &v);
	*n_out = 0;
	*out = h->alloc(h, (n ? n : 1) * sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		char g[32];

		if (!group_name(v[i], g, sizeof(g)))
			rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
					  "%s names '%s', which is not one of "
					  "its values.",
					  setting_name, v[i]);
		else if (!group_usable(g) && *user)
			rc = h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
					  "%s names '%s', which the " PROVIDER
					  " provider cannot use (GnuTLS has "
					  "no group %s).",
					  setting_name, v[i], g);
		else if (group_usable(g))
			(*out)[(*n_out)++] = dup_str(h, g);
		if (rc)
			break;
	}
	free_list(h, v, n);
	return rc;
}

static int in_list(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return 1;
	return 0;
}

/* GnuTLS has one list of groups and one of signature algorithms for all
 * versions: the union of what the enabled versions allow. Key shares go
 * first: GnuTLS makes its shares for the groups it prefers. */
static int groups_and_sigs(struct spop_host *h, struct sb *out, int vers)
{
	struct sb sig = {h, NULL, 0, 0}, grp = {h, NULL, 0, 0};
	char **g12 = NULL, **g13 = NULL, **ks = NULL;
	size_t n12 = 0, n13 = 0, nks = 0;
	int u12 = 0, u13 = 0, uks = 0, rc = 0, open12 = 0;
	const char *sigs12 = setting(h, "TLS12SignatureAlgorithms", NULL);

	/* "" for TLS 1.2 means: do not restrict */
	if ((vers & P_TLS12) && sigs12 && !*sigs12)
		open12 = 1;
	if (!rc && (vers & P_TLS12) && !open12)
		rc = add_sigs(h, &sig, "TLS12SignatureAlgorithms",
			      DEF_TLS12_SIGS, 0);
	if (!rc && (vers & P_TLS13))
		rc = add_sigs(h, &sig, "TLS13SignatureAlgorithms",
			      DEF_TLS13_SIGS, 1);
	if (!rc && (vers & ~P_TLS13))
		rc = read_groups(h, "TLS12SupportedGroups", DEF_TLS12_GROUPS,
				 &g12, &n12, &u12);
	if (!rc && (vers & P_TLS13))
		rc = read_groups(h, "TLS13SupportedGroups", DEF_TLS13_GROUPS,
				 &g13, &n13, &u13);
	if (!rc && (vers & P_TLS13))
		rc = read_groups(h, "TLS13KeyShareGroups", DEF_TLS13_SHARES,
				 &ks, &nks, &uks);
	for (size_t i = 0; !rc && i < nks; i++) {
		if (in_list(g13, n13, ks[i]))
			add_unique(&grp, "GROUP-", ks[i]);
		else if (uks)
			rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
					  "TLS13KeyShareGroups names %s, which "
					  "TLS13SupportedGroups does not "
					  "enable.",
					  ks[i]);
	}
	for (size_t i = 0; !rc && i < n13; i++)
		add_unique(&grp, "GROUP-", g13[i]);
	for (size_t i = 0; !rc && i < n12; i++)
		add_unique(&grp, "GROUP-", g12[i]);
	if (!rc && !grp.p)
		rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				  "TLS12SupportedGroups and "
				  "TLS13SupportedGroups leave no group the "
				  "" PROVIDER " provider can use.");
	if (!rc && !open12 && !sig.p && (vers & (P_TLS12 | P_TLS13)))
		rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				  "TLS12SignatureAlgorithms and "
				  "TLS13SignatureAlgorithms leave no "
				  "signature algorithm the " PROVIDER
				  " provider can use.");
	if (!rc) {
		if (!open12 && (vers & (P_TLS12 | P_TLS13)))
			sb_add(out, ":-SIGN-ALL%s", sig.p);
		sb_add(out, ":-GROUP-ALL%s", grp.p);
	}
	h->free(h, sig.p);
	h->free(h, grp.p);
	if (g12)
		free_list(h, g12, n12);
	if (g13)
		free_list(h, g13, n13);
	if (ks)
		free_list(h, ks, nks);
	return rc;
}

/* The OpenSSL* settings belong to the openssl provider. */
static int refuse_openssl_settings(struct spop_host *h)
{
	static const struct {
		const char *name, *def;
	} s[] = {
	    {"OpenSSLCADir", ""},
	    {"OpenSSLCAFile", ""},
	    {"OpenSSLCipherList", "DEFAULT"},
	    {"OpenSSLPrngSeedData", ""},
	};

	for (size_t i = 0; i < sizeof(s) / sizeof(*s); i++) {
		const char *v = h->setting(h, s[i].name);

		if (v && *v && strcmp(v, s[i].def))
			return h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
					    "%s is set, but only the openssl "
					    "provider (SSLProvider "
					    "Platform) has it; the " PROVIDER
					    " provider (SSLProvider "
					    "Internal) cannot honour it.",
					    s[i].name);
	}
	return 0;
}

static int build_priority(struct gtls *t, struct spop_host *h)
{
	long long p = h->setting_int(h, "SSLEnabledProtocols", DEF_PROTOCOLS);
	int vers = (int)(p & (P_TLS13 | P_TLS12 | P_TLS11 | P_TLS10));
	struct sb b = {h, NULL, 0, 0};
	const char *err = NULL;
	int rc, r;

	rc = refuse_openssl_settings(h);
	if (!rc && !vers)
		rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				  "SSLEnabledProtocols (%lld) enables no TLS "
				  "version (TLS1 0xC0, TLS1.1 0x300, TLS1.2 "
				  "0xC00, TLS1.3 0x3000).",
				  p);
	sb_add(&b, "NORMAL");
	if (!rc)
		rc = suites_priority(t, h, &b, &vers);
	if (!rc && !vers)
		rc =
		    h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				 "SSLEnabledCipherSuites lists only suites of "
				 "TLS versions that SSLEnabledProtocols (%lld) "
				 "does not enable.",
				 p);
	if (!rc)
		rc = groups_and_sigs(h, &b, vers);
	if (!rc) {
		sb_add(&b, ":-VERS-ALL%s%s%s%s",
		       vers & P_TLS13 ? ":+VERS-TLS1.3" : "",
		       vers & P_TLS12 ? ":+VERS-TLS1.2" : "",
		       vers & P_TLS11 ? ":+VERS-TLS1.1" : "",
		       vers & P_TLS10 ? ":+VERS-TLS1.0" : "");
		t->renegotiation =
		    (int)h->setting_int(h, "SSLEnableRenegotiation", 1);
		if (!t->renegotiation)
			sb_add(&b, ":%%DISABLE_SAFE_RENEGOTIATION");
		r = gnutls_priority_init(&t->prio, b.p, &err);
		if (r < 0)
			rc = h->set_error(
			    h, SPOP_ERR_TLS_LIBRARY,
			    "GnuTLS refused the priorities made "
			    "from the SSL settings (at \"%.60s\"): "
			    "%s.",
			    err ? err : b.p, reason(r));
	}
	h->free(h, b.p);
	return rc;
}

/* ---- trust anchors ---- */

static int load_trust(gnutls_certificate_credentials_t cred,
		      struct spop_host *h, const char *paths, const char *pem)
{
	/* a file of the default list may be anything on some system; one
	 * the user named must hold certificates */
	int user = !is_default(paths, DEF_CA_PATHS);
	char **v;
	size_t n = split(h, paths, ";", &v);
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++) {
		struct stat st;
		int r;

		if (stat(v[i], &st) || !S_ISREG(st.st_mode))
			continue;
		r = gnutls_certificate_set_x509_trust_file(cred, v[i],
							   GNUTLS_X509_FMT_PEM);
		if (r < 0 || (r == 0 && user))
			rc = h->set_error(
			    h, SPOP_ERR_TLS_LIBRARY,
			    "Loading CA certificates from '%s' "
			    "(SSLCACertFilePaths) failed: %s.",
			    v[i],
			    r < 0 ? reason(r) : "it holds no PEM certificate");
	}
	free_list(h, v, n);
	if (!rc && *pem) {
		gnutls_datum_t d = {(unsigned char *)pem,
				    (unsigned)strlen(pem)};
		int r = gnutls_certificate_set_x509_trust_mem(
		    cred, &d, GNUTLS_X509_FMT_PEM);

		if (r <= 0)
			rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
					  "SSLServerCACerts holds no usable "
					  "PEM certificate: %s.",
					  r < 0 ? reason(r)
						: "no BEGIN CERTIFICATE block");
	}
	return rc;
}

static void free_cred(void *cred)
{
	gnutls_certificate_free_credentials(cred);
}

static struct trust_cache trust_anchors = TRUST_CACHE_INIT(free_cred);

static int retrieve_cb(gnutls_session_t session,
		       const gnutls_datum_t *req_ca_dn, int n_req_ca_dn,
		       const gnutls_pk_algorithm_t *pk_algos, int n_pk_algos,
		       gnutls_pcert_st **pcert, unsigned int *pcert_length,
		       gnutls_privkey_t *pkey);

struct trust_args {
	struct spop_host *h;
	const char *paths, *pem;
};

static int load_cred(void *arg, void **anchors)
{
	struct trust_args *a = arg;
	gnutls_certificate_credentials_t cred;
	int r, rc;

	if ((r = gnutls_certificate_allocate_credentials(&cred)) < 0)
		return a->h->set_error(a->h, SPOP_ERR_TLS_LIBRARY,
				       "GnuTLS cannot allocate credentials: "
				       "%s.",
				       reason(r));
	if ((rc = load_trust(cred, a->h, a->paths, a->pem))) {
		gnutls_certificate_free_credentials(cred);
		return rc;
	}
	gnutls_certificate_set_retrieve_function2(cred, retrieve_cb);
	*anchors = cred;
	return 0;
}

/* The credentials for SSLCACertFilePaths and SSLServerCACerts: the
 * process's, loaded by the first connection that needs them. */
static int use_trust(struct gtls *t, struct spop_host *h)
{
	struct trust_args a = {h,
			       setting(h, "SSLCACertFilePaths", DEF_CA_PATHS),
			       setting(h, "SSLServerCACerts", "")};
	struct trust_key k;
	int rc;

	trust_key_init(&k);
	trust_key_paths(&k, a.paths, ";");
	trust_key_text(&k, a.pem);
	rc = trust_cache_obtain(&trust_anchors, &k, load_cred, &a, &t->trust);
	trust_key_clear(&k);
	if (!rc)
		t->cred = trust_entry_anchors(t->trust);
	return rc;
}

/* ---- I/O through the layer below ---- */

static ssize_t io_push(gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
	struct gtls *t = ptr;
	ssize_t n = t->host->io_write(t->host, data, len);

	if (n > 0)
		return n;
	if (n == SPOP_IO_AGAIN_READ || n == SPOP_IO_AGAIN_WRITE) {
		t->want =
		    n == SPOP_IO_AGAIN_READ ? SPOP_WAIT_READ : SPOP_WAIT_WRITE;
		gnutls_transport_set_errno(t->session, EAGAIN);
		return -1;
	}
	t->below_rc = n < 0 ? (int)-n : SPOP_ERR_DROPPED;
	if (!n)
		t->host->set_error(t->host, SPOP_ERR_DROPPED,
				   "%s: the layer below TLS took no bytes.",
				   t->name);
	gnutls_transport_set_errno(t->session, EIO);
	return -1;
}

static ssize_t io_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct gtls *t = ptr;
	ssize_t n = t->host->io_read(t->host, buf, len);

	if (n >= 0)
		return n;
	if (n == SPOP_IO_AGAIN_READ || n == SPOP_IO_AGAIN_WRITE) {
		t->want =
		    n == SPOP_IO_AGAIN_READ ? SPOP_WAIT_READ : SPOP_WAIT_WRITE;
		gnutls_transport_set_errno(t->session, EAGAIN);
		return -1;
	}
	t->below_rc = (int)-n;
	gnutls_transport_set_errno(t->session, EIO);
	return -1;
}

/* The direction to wait in after GNUTLS_E_AGAIN. */
static int wanted(struct gtls *t)
{
	if (t->want)
		return t->want;
	return gnutls_record_get_direction(t->session) ? SPOP_WAIT_WRITE
						       : SPOP_WAIT_READ;
}

/* ---- server certificate ---- */

static uint32_t map_status(unsigned status)
{
	uint32_t f = 0;
	unsigned explained = 0;

	if (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED)) {
		f |= SPOP_CERT_FAIL_TIME;
		explained |= GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED;
	}
	if (status &
	    (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA)) {
		f |= SPOP_CERT_FAIL_UNKNOWN_CA;
		explained |=
		    GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA;
	}
	if (status & GNUTLS_CERT_UNEXPECTED_OWNER) {
		f |= SPOP_CERT_FAIL_NAME;
		explained |= GNUTLS_CERT_UNEXPECTED_OWNER;
	}
	if (status & GNUTLS_CERT_PURPOSE_MISMATCH) {
		f |= SPOP_CERT_FAIL_USAGE;
		explained |= GNUTLS_CERT_PURPOSE_MISMATCH;
	}
	/* GNUTLS_CERT_INVALID accompanies every failure; anything it does
	 * not come with an explanation for is "invalid" */
	if (status & ~(explained | GNUTLS_CERT_INVALID) ||
	    ((status & GNUTLS_CERT_INVALID) && !f))
		f |= SPOP_CERT_FAIL_INVALID;
	return f;
}

/* GnuTLS stops at the first hard failure of a chain; each failure the
 * core can ignore separately is checked here too, so that ignoring one
 * never hides another. Adds a sentence for what GnuTLS did not say. */
static uint32_t own_checks(struct gtls *t, const gnutls_datum_t *peers,
			   unsigned n, uint32_t known, struct sb *why)
{
	uint32_t f = 0;
	time_t now = time(NULL);

	for (unsigned i = 0; i < n; i++) {
		gnutls_x509_crt_t crt;
		uint32_t add = 0;

		if (gnutls_x509_crt_init(&crt) < 0)
			continue;
		if (gnutls_x509_crt_import(crt, &peers[i],
					   GNUTLS_X509_FMT_DER) < 0) {
			add = SPOP_CERT_FAIL_INVALID;
			if (!((known | f) & add))
				sb_add(why,
				       " Certificate %u of the chain cannot be "
				       "parsed.",
				       i);
			f |= add;
			gnutls_x509_crt_deinit(crt);
			continue;
		}
		if (gnutls_x509_crt_get_expiration_time(crt) < now ||
		    gnutls_x509_crt_get_activation_time(crt) > now) {
			add = SPOP_CERT_FAIL_TIME;
			if (!((known | f) & add))
				sb_add(
				    why,
				    " Certificate %u of the chain is outside "
				    "its validity period.",
				    i);
			f |= add;
		}
		if (i == 0 &&
		    !(t->ip_len
			  ? gnutls_x509_crt_check_ip(crt, t->ip,
						     (unsigned)t->ip_len, 0)
			  : gnutls_x509_crt_check_hostname2(crt, t->name, 0))) {
			add = SPOP_CERT_FAIL_NAME;
			if (!((known | f) & add))
				sb_add(why,
				       " The certificate does not name %s.",
				       t->name);
			f |= add;
		}
		gnutls_x509_crt_deinit(crt);
	}
	return f;
}

/* Verifies the peer and asks the core; 0 to go on, else the code (the
 * error is set: by the core for 280). */
static int check_server(struct gtls *t)
{
	struct spop_host *h = t->host;
	unsigned n = 0, status = 0;
	const gnutls_datum_t *peers =
	    gnutls_certificate_get_peers(t->session, &n);
	gnutls_typed_vdata_st data[2];
	struct sb why = {h, NULL, 0, 0};
	gnutls_datum_t text = {NULL, 0};
	int r;

	t->verify_called = 1;
	if (!peers || !n)
		return h->set_error(h, SPOP_ERR_NO_SERVER_CERT,
				    "%s sent no certificate in the TLS "
				    "handshake.",
				    t->name);
	memset(data, 0, sizeof(data));
	if (t->ip_len) {
		data[0].type = GNUTLS_DT_IP_ADDRESS;
		data[0].data = t->ip;
		data[0].size = (unsigned)t->ip_len;
	} else {
		data[0].type = GNUTLS_DT_DNS_HOSTNAME;
		data[0].data = (unsigned char *)t->name;
	}
	data[1].type = GNUTLS_DT_KEY_PURPOSE_OID;
	data[1].data = (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER;
	r = gnutls_certificate_verify_peers(t->session, data, 2, &status);

	uint32_t failures = r < 0 ? SPOP_CERT_FAIL_INVALID : map_status(status);

	if (r < 0) {
		sb_add(&why, "GnuTLS could not verify the chain: %s.",
		       reason(r));
	} else if (status && gnutls_certificate_verification_status_print(
				 status, GNUTLS_CRT_X509, &text, 0) >= 0) {
		size_t len = strlen((char *)text.data);

		sb_add(&why, "%.*s", (int)len, (char *)text.data);
		gnutls_free(text.data);
	}
	failures |= own_checks(t, peers, n, failures, &why);

	/* The core quotes the status inside its own sentence. */
	while (why.p && why.len &&
	       (why.p[why.len - 1] == '.' ||
		isspace((unsigned char)why.p[why.len - 1])))
		why.p[--why.len] = '\0';

	const unsigned char **ders = h->alloc(h, n * sizeof(*ders));
	size_t *lens = h->alloc(h, n * sizeof(*lens));

	for (unsigned i = 0; i < n; i++) {
		ders[i] = peers[i].data;
		lens[i] = peers[i].size;
	}
	struct spop_cert_report rep = {
	    .size = sizeof(rep),
	    .der = peers[0].data,
	    .der_len = peers[0].size,
	    .status =
		failures ? (why.p ? why.p + (*why.p == ' ') : "failed") : "OK",
	    .verified = failures == 0,
	    .failures = failures,
	    .chain_der = ders,
	    .chain_len = lens,
	    .n_chain = n,
	};
	char msg[512];

	snprintf(msg, sizeof(msg), "Server certificate of %s: %s", t->name,
		 rep.status);
	h->ssl_status(h, msg);
	int accept = h->server_certificate(h, &rep);

	h->free(h, ders);
	h->free(h, lens);
	h->free(h, why.p);
	/* The core has set 280 naming the host and the reason. */
	return accept ? 0 : SPOP_ERR_CERT_VERIFY;
}

/* GnuTLS calls this once it has the server's certificates, before the
 * client sends anything of its own (a certificate included). */
static int verify_cb(gnutls_session_t session)
{
	struct gtls *t = gnutls_session_get_ptr(session);
	int rc = check_server(t);

	if (rc) {
		t->rc = rc;
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	return 0;
}

/* ---- client certificate ---- */

static void free_client_cert(struct gtls *t)
{
	for (unsigned i = 0; i < t->n_pcerts; i++)
		gnutls_pcert_deinit(&t->pcerts[i]);
	if (t->pcerts)
		t->host->free(t->host, t->pcerts);
	t->pcerts = NULL;
	t->n_pcerts = 0;
	if (t->key)
		gnutls_privkey_deinit(t->key);
	t->key = NULL;
	t->store_key = NULL;
}

static int key_matches(gnutls_privkey_t key, gnutls_pubkey_t cert_key)
{
	gnutls_pubkey_t pub;
	unsigned char a[64], b[64];
	size_t la = sizeof(a), lb = sizeof(b);
	int ok = 0;

	if (gnutls_pubkey_init(&pub) < 0)
		return 0;
	if (gnutls_pubkey_import_privkey(pub, key, 0, 0) >= 0 &&
	    gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a, &la) >=
		0 &&
	    gnutls_pubkey_get_key_id(cert_key, GNUTLS_KEYID_USE_SHA256, b,
				     &lb) >= 0)
		ok = la == lb && !memcmp(a, b, la);
	gnutls_pubkey_deinit(pub);
	return ok;
}

/* ---- a client key that stays in its store ---- */

/* SPOP_HASH_* of a GnuTLS digest; 0 for one the ABI has no name for. */
static int spop_hash(gnutls_digest_algorithm_t dig)
{
	switch (dig) {
	case GNUTLS_DIG_SHA1: return SPOP_HASH_SHA1;
	case GNUTLS_DIG_SHA224: return SPOP_HASH_SHA224;
	case GNUTLS_DIG_SHA256: return SPOP_HASH_SHA256;
	case GNUTLS_DIG_SHA384: return SPOP_HASH_SHA384;
	case GNUTLS_DIG_SHA512: return SPOP_HASH_SHA512;
	default: return 0;
	}
}

/* Whether key_sign can make the client signature of this session: RSA
 * (PKCS#1 v1.5, PSS) and ECDSA, except RSA before TLS 1.2, which signs
 * MD5+SHA-1 with raw RSA; that needs the key in memory. */
static int uses_key_sign(struct gtls *t, gnutls_pubkey_t cert_key)
{
	int pk = gnutls_pubkey_get_pk_algorithm(cert_key, NULL);
	gnutls_protocol_t v = gnutls_protocol_get_version(t->session);

	if (pk == GNUTLS_PK_RSA && v != GNUTLS_TLS1_2 && v != GNUTLS_TLS1_3)
		return 0;
	return pk == GNUTLS_PK_RSA || pk == GNUTLS_PK_RSA_PSS ||
	       pk == GNUTLS_PK_ECDSA;
}

/* The SPOP_KEY_* scheme of a signature algorithm for a key of type pk;
 * 0 when key_sign cannot make it. */
static int scheme_for(int pk, gnutls_sign_algorithm_t sign)
{
	int spk = gnutls_sign_get_pk_algorithm(sign);

	if (!spop_hash(gnutls_sign_get_hash_algorithm(sign)))
		return 0;
	switch (pk) {
	case GNUTLS_PK_RSA:
		if (spk == GNUTLS_PK_RSA)
			return SPOP_KEY_RSA_PKCS1;
		if (sign == GNUTLS_SIGN_RSA_PSS_RSAE_SHA256 ||
		    sign == GNUTLS_SIGN_RSA_PSS_RSAE_SHA384 ||
		    sign == GNUTLS_SIGN_RSA_PSS_RSAE_SHA512)
			return SPOP_KEY_RSA_PSS;
		return 0;
	case GNUTLS_PK_RSA_PSS:
		return sign == GNUTLS_SIGN_RSA_PSS_SHA256 ||
			       sign == GNUTLS_SIGN_RSA_PSS_SHA384 ||
			       sign == GNUTLS_SIGN_RSA_PSS_SHA512
			   ? SPOP_KEY_RSA_PSS
			   : 0;
	case GNUTLS_PK_ECDSA:
		return spk == GNUTLS_PK_ECDSA ? SPOP_KEY_ECDSA : 0;
	default: return 0;
	}
}

static int store_key_info(gnutls_privkey_t key, unsigned int flags,
			  void *userdata)
{
	struct gtls *t = userdata;

	(void)key;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return t->key_pk;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return (int)t->key_bits;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
		return scheme_for(t->key_pk,
				  GNUTLS_FLAGS_TO_SIGN_ALGO(flags)) != 0;
	return -1;
}

/* GnuTLS hands over the hash to sign; for RSA PKCS#1 v1.5 as a DigestInfo
 * (GNUTLS_SIGN_RSA_RAW), which key_sign takes as hash id and digest. */
static int store_key_sign(gnutls_privkey_t key, gnutls_sign_algorithm_t algo,
			  void *userdata, unsigned int flags,
			  const gnutls_datum_t *hash, gnutls_datum_t *signature)
{
	struct gtls *t = userdata;
	struct spop_host *h = t->host;
	const struct spop_tls_credential *c = t->store_key;
	gnutls_digest_algorithm_t dig;
	unsigned char digest[64], *sig = NULL;
	const unsigned char *d = hash->data;
	unsigned dlen = hash->size;
	size_t slen = 0;
	int scheme, rc;

	(void)key;
	(void)flags;
	if (algo == GNUTLS_SIGN_RSA_RAW) {
		dlen = sizeof(digest);
		if (gnutls_decode_ber_digest_info(hash, &dig, digest, &dlen) <
			0 ||
		    !spop_hash(dig)) {
			t->rc = h->set_error(
			    h, SPOP_ERR_NOT_AVAILABLE,
			    "%s asked for a client signature the certificate "
			    "store cannot make: the %u bytes to sign are not "
			    "a SHA-1/SHA-2 DigestInfo (TLS 1.0 and 1.1 sign "
			    "MD5+SHA-1 with raw RSA); enable TLS 1.2 or later "
			    "(SSLEnabledProtocols).",
			    t->name, hash->size);
			return GNUTLS_E_PK_SIGN_FAILED;
		}
		d = digest;
		scheme = SPOP_KEY_RSA_PKCS1;
	} else {
		dig = gnutls_sign_get_hash_algorithm(algo);
		scheme = scheme_for(t->key_pk, algo);
		if (!scheme) {
			t->rc = h->set_error(
			    h, SPOP_ERR_NOT_AVAILABLE,
			    "GnuTLS asked for a %s client signature for %s, "
			    "which the certificate store cannot make.",
			    gnutls_sign_get_name(algo), t->name);
			return GNUTLS_E_PK_SIGN_FAILED;
		}
	}
	rc = c->store_ops->key_sign(h, c->key, scheme, spop_hash(dig), d, dlen,
				    &sig, &slen);
	if (rc) {
		t->rc = rc; /* the store has said why */
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	signature->data = gnutls_malloc(slen ? slen : 1);
	if (!signature->data) {
		h->free(h, sig);
		return GNUTLS_E_MEMORY_ERROR;
	}
	memcpy(signature->data, sig, slen);
	signature->size = (unsigned)slen;
	h->free(h, sig);
	return 0;
}

static int use_store_key(struct gtls *t, const struct spop_tls_credential *c)
{
	struct spop_host *h = t->host;
	int r;

	t->store_key = c;
	t->key_pk =
	    gnutls_pubkey_get_pk_algorithm(t->pcerts[0].pubkey, &t->key_bits);
	r = gnutls_privkey_init(&t->key);
	if (r >= 0)
		r = gnutls_privkey_import_ext4(t->key, t, NULL, store_key_sign,
					       NULL, NULL, store_key_info, 0);
	if (r < 0)
		return h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				    "GnuTLS cannot take the client key of the "
				    "certificate store: %s.",
				    reason(r));
	return 0;
}

static int load_client_cert(struct gtls *t,
			    const struct spop_tls_credential *cred)
{
	struct spop_host *h = t->host;
	const struct spop_certstore_ops *ops = cred->store_ops;
	unsigned char *pkcs8 = NULL;
	size_t len = 0;
	int r, rc;

	if (!cred->n_chain)
		return h->set_error(h, SPOP_ERR_CERT_NOT_FOUND,
				    "The client certificate for %s came "
				    "without a certificate.",
				    t->name);
	t->pcerts = h->alloc(h, cred->n_chain * sizeof(*t->pcerts));
	for (size_t i = 0; i < cred->n_chain; i++) {
		gnutls_datum_t d = {(unsigned char *)cred->chain_der[i],
				    (unsigned)cred->chain_len[i]};

		r = gnutls_pcert_import_x509_raw(&t->pcerts[i], &d,
						 GNUTLS_X509_FMT_DER, 0);
		if (r < 0)
			return h->set_error(h, SPOP_ERR_CERT_STORE,
					    "Certificate %zu of the client "
					    "chain cannot be used by GnuTLS: "
					    "%s.",
					    i, reason(r));
		t->n_pcerts++;
	}
	/* RSA and ECDSA keys sign through the store (key_sign), whatever
	 * the store: a token's key never leaves it, and no store is asked
	 * for key bytes it would refuse (a refusal would stay the object's
	 * error after a good handshake). Other algorithms, and RSA before
	 * TLS 1.2, need the key in memory. */
	if (ops && ops->key_sign && uses_key_sign(t, t->pcerts[0].pubkey))
		return use_store_key(t, cred);
	if (!ops || !SPOP_OPS_HAS(struct spop_certstore_ops, ops, key_export))
		return h->set_error(h, SPOP_ERR_CREDENTIALS,
				    "The store of the client certificate "
				    "keeps its private key (e.g. a token) and "
				    "cannot hand it out; the " PROVIDER
				    " provider signs through the store only "
				    "with RSA and ECDSA keys.");
	rc = ops->key_export(h, cred->key, &pkcs8, &len);
	if (rc)
		return rc; /* the store has said why */
	gnutls_datum_t k = {pkcs8, (unsigned)len};

	r = gnutls_privkey_init(&t->key);
	if (r >= 0)
		r = gnutls_privkey_import_x509_raw(
		    t->key, &k, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN);
	gnutls_memset(pkcs8, 0, len);
	h->free(h, pkcs8);
	if (r < 0)
		return h->set_error(h, SPOP_ERR_CREDENTIALS,
				    "The private key of the client "
				    "certificate cannot be used by GnuTLS: "
				    "%s.",
				    reason(r));
	if (!key_matches(t->key, t->pcerts[0].pubkey))
		return h->set_error(h, SPOP_ERR_CREDENTIALS,
				    "The private key the certificate store "
				    "gave does not belong to the client "
				    "certificate.");
	return 0;
}

/* Called when the server asks for a certificate: in TLS 1.2 after
 * check_server() accepted the server; in TLS 1.3 as soon as the request
 * arrives, which is before the server's certificate, but GnuTLS sends ours
 * only after the server's Finished, so a rejection still keeps it back. */
static int retrieve_cb(gnutls_session_t session, const gnutls_datum_t *req_ca,
		       int n_req, const gnutls_pk_algorithm_t *algos,
		       int n_algos, gnutls_pcert_st **pcert,
		       unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
	struct gtls *t = gnutls_session_get_ptr(session);
	struct spop_host *h = t->host;
	const struct spop_tls_credential *cred = NULL;
	int rc = 0;

	t->cert_requested = 1;
	*pcert = NULL;
	*pcert_length = 0;
	*pkey = NULL;
	if (!t->n_pcerts) {
		if (SPOP_OPS_HAS(struct spop_host, h, client_certificate))
			rc = h->client_certificate(h, &cred);
		if (!rc && cred)
			rc = load_client_cert(t, cred);
		if (rc) {
			free_client_cert(t);
			t->rc = rc;
			return -1;
		}
	}
	if (t->n_pcerts) {
		char msg[256];

		snprintf(msg, sizeof(msg),
			 "%s asked for a client certificate; sending it.",
			 t->name);
		h->ssl_status(h, msg);
		*pcert = t->pcerts;
		*pcert_length = t->n_pcerts;
		*pkey = t->key;
		t->cert_sent = 1;
	}
	return 0;
}

/* ---- key log and session cache ---- */

static int keylog_cb(gnutls_session_t session, const char *label,
		     const gnutls_datum_t *secret)
{
	struct gtls *t = gnutls_session_get_ptr(session);
	gnutls_datum_t crandom, srandom;
	static const char hex[] = "0123456789abcdef";
	struct sb line = {t->host, NULL, 0, 0};

	gnutls_session_get_random(session, &crandom, &srandom);
	sb_add(&line, "%s ", label);
	for (unsigned i = 0; i < crandom.size; i++)
		sb_add(&line, "%c%c", hex[crandom.data[i] >> 4],
		       hex[crandom.data[i] & 15]);
	sb_add(&line, " ");
	for (unsigned i = 0; i < secret->size; i++)
		sb_add(&line, "%c%c", hex[secret->data[i] >> 4],
		       hex[secret->data[i] & 15]);
	t->host->key_log(t->host, line.p);
	gnutls_memset(line.p, 0, line.len);
	t->host->free(t->host, line.p);
	return 0;
}

/* Stores what resumes this session on the next connect. TLS 1.3 tickets
 * come after the handshake; GnuTLS flags the first one. */
static void store_session(struct gtls *t)
{
	struct spop_host *h = t->host;
	gnutls_datum_t d = {NULL, 0};

	if (t->ticket_stored || !t->handshake_done || t->broken ||
	    !SPOP_OPS_HAS(struct spop_host, h, session_cache_put))
		return;
	if (gnutls_protocol_get_version(t->session) == GNUTLS_TLS1_3 &&
	    !(gnutls_session_get_flags(t->session) &
	      GNUTLS_SFLAGS_SESSION_TICKET))
		return;
	if (!gnutls_session_is_resumed(t->session) &&
	    gnutls_protocol_get_version(t->session) != GNUTLS_TLS1_3) {
		gnutls_datum_t id = {NULL, 0};

		/* TLS 1.2: resumable by a session id or a ticket */
		if (gnutls_session_get_id2(t->session, &id) < 0 ||
		    (!id.size && !(gnutls_session_get_flags(t->session) &
				   GNUTLS_SFLAGS_SESSION_TICKET)))
			return;
	}
	t->ticket_stored = 1;
	if (gnutls_session_get_data2(t->session, &d) < 0)
		return;
	h->session_cache_put(h, d.data, d.size);
	gnutls_free(d.data);
}

/* ---- the session ---- */

static void gtls_free(struct spop_host *h, void *session);

static int parse_ip(struct gtls *t)
{
	const char *n = t->name;
	char buf[64];
	size_t len = strlen(n);

	/* "[::1]" as well as "::1" */
	if (len > 2 && n[0] == '[' && n[len - 1] == ']' &&
	    len - 2 < sizeof(buf)) {
		memcpy(buf, n + 1, len - 2);
		buf[len - 2] = '\0';
		n = buf;
	}
	if (inet_pton(AF_INET, n, t->ip) == 1)
		t->ip_len = 4;
	else if (inet_pton(AF_INET6, n, t->ip) == 1)
		t->ip_len = 16;
	return t->ip_len != 0;
}

static int gtls_new_io(struct spop_host *h, const char *server_name,
		       void **session)
{
	struct gtls *t = h->alloc(h, sizeof(*t));
	int r, rc = 0;

	memset(t, 0, sizeof(*t));
	t->host = h;
	t->name = dup_str(h, server_name ? server_name : "");
	*session = NULL;

	rc = build_priority(t, h);
	if (!rc)
		rc = use_trust(t, h);
	if (!rc &&
	    (r = gnutls_init(&t->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK)) < 0)
		rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				  "GnuTLS cannot start a session: %s.",
				  reason(r));
	if (!rc && (r = gnutls_priority_set(t->session, t->prio)) < 0)
		rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				  "GnuTLS refused the priorities: %s.",
				  reason(r));
	if (!rc && (r = gnutls_credentials_set(
			t->session, GNUTLS_CRD_CERTIFICATE, t->cred)) < 0)
		rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				  "GnuTLS refused the credentials: %s.",
				  reason(r));
	if (!rc && !parse_ip(t) && *t->name &&
	    (r = gnutls_server_name_set(t->session, GNUTLS_NAME_DNS, t->name,
					strlen(t->name))) < 0)
		rc = h->set_error(h, SPOP_ERR_TLS_LIBRARY,
				  "GnuTLS refused the server name '%s': %s.",
				  t->name, reason(r));
	if (rc) {
		gtls_free(h, t);
		return rc;
	}
	gnutls_session_set_ptr(t->session, t);
	gnutls_transport_set_ptr(t->session, t);
	gnutls_transport_set_push_function(t->session, io_push);
	gnutls_transport_set_pull_function(t->session, io_pull);
	gnutls_handshake_set_timeout(t->session, GNUTLS_INDEFINITE_TIMEOUT);
	gnutls_session_set_verify_function(t->session, verify_cb);
	const char *keylog = h->setting(h, "SSLKeyLogFile");

	if (keylog && *keylog && SPOP_OPS_HAS(struct spop_host, h, key_log))
		gnutls_session_set_keylog_function(t->session, keylog_cb);
	*session = t;
	return 0;
}

/* The names of both sides of a failed handshake, as a message. */
static int handshake_error(struct gtls *t, int r)
{
	struct spop_host *h = t->host;
	/* TLS 1.3 servers judge the client after its handshake is done */
	const char *what = t->handshake_done ? "TLS session" : "TLS handshake";
	const char *name, *hint = "";
	int alert = -1;

	t->broken = 1;
	if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
		alert = (int)gnutls_alert_get(t->session);
	name = alert >= 0
		   ? gnutls_alert_get_name((gnutls_alert_description_t)alert)
		   : "certificate required";
	if (r == GNUTLS_E_CERTIFICATE_REQUIRED ||
	    alert == GNUTLS_A_CERTIFICATE_REQUIRED ||
	    (t->cert_requested && !t->cert_sent &&
	     (alert == GNUTLS_A_HANDSHAKE_FAILURE ||
	      alert == GNUTLS_A_BAD_CERTIFICATE ||
	      alert == GNUTLS_A_ACCESS_DENIED)))
		return h->set_error(
		    h, SPOP_ERR_NO_CLIENT_CERT,
		    "%s demanded a client certificate and none "
		    "was set (SSLCertStore, SSLCertSubject); it "
		    "ended the %s with alert '%s'.",
		    t->name, what, name);
	if (t->cert_sent && (alert == GNUTLS_A_BAD_CERTIFICATE ||
			     alert == GNUTLS_A_UNKNOWN_CA ||
			     alert == GNUTLS_A_CERTIFICATE_UNKNOWN ||
			     alert == GNUTLS_A_UNSUPPORTED_CERTIFICATE ||
			     alert == GNUTLS_A_CERTIFICATE_EXPIRED ||
			     alert == GNUTLS_A_CERTIFICATE_REVOKED ||
			     alert == GNUTLS_A_ACCESS_DENIED))
		hint = " (it refused the client certificate)";
	else if (!t->verify_called && !t->handshake_done &&
		 (r == GNUTLS_E_UNEXPECTED_PACKET ||
		  r == GNUTLS_E_UNEXPECTED_PACKET_LENGTH ||
		  r == GNUTLS_E_UNSUPPORTED_VERSION_PACKET) &&
		 alert < 0)
		hint = " (is this a TLS port? the server's first bytes are not "
		       "TLS)";
	else if (!t->verify_called && !t->handshake_done &&
		 (alert == GNUTLS_A_HANDSHAKE_FAILURE ||
		  alert == GNUTLS_A_PROTOCOL_VERSION ||
		  alert == GNUTLS_A_INSUFFICIENT_SECURITY ||
		  r == GNUTLS_E_PREMATURE_TERMINATION ||
		  r == GNUTLS_E_PULL_ERROR))
		hint =
		    " (before it sent its certificate: it may accept none of "
		    "the TLS versions, cipher suites, groups or signature "
		    "algorithms the SSL settings allow)";
	else if (t->refused_renegotiation)
		hint = " (after the client refused to renegotiate: "
		       "SSLEnableRenegotiation is False or the server lacks "
		       "RFC 5746)";
	if (alert >= 0)
		return h->set_error(h, SPOP_ERR_HANDSHAKE,
				    "%s with %s failed: the server sent alert "
				    "'%s'%s.",
				    what, t->name, name, hint);
	if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PULL_ERROR)
		return h->set_error(h, SPOP_ERR_HANDSHAKE,
				    "%s with %s failed: the server closed the "
				    "connection%s.",
				    what, t->name, hint);
	return h->set_error(h, SPOP_ERR_HANDSHAKE, "%s with %s failed: %s%s.",
			    what, t->name, reason(r), hint);
}

/* Name the negotiated suite in the reference's list's form. */
static int check_suite(struct gtls *t)
{
	const char *name = gnutls_ciphersuite_get(t->session);
	int ok = 0;

	if (!t->n_suites)
		return 0;
	if (name) {
		char *key = suite_key(t->host, name);

		ok = in_list(t->suites, t->n_suites, key);
		t->host->free(t->host, key);
	}
	if (ok)
		return 0;
	t->broken = 1;
	return t->host->set_error(
	    t->host, SPOP_ERR_HANDSHAKE,
	    "%s chose cipher suite %s, which SSLEnabledCipherSuites does not "
	    "list (GnuTLS can only narrow the suites by their parts, so the "
	    "" PROVIDER " provider checks the choice after the handshake).",
	    t->name, name ? name : "(unknown)");
}

/* One step of a handshake; 0 done, an AGAIN value, APP_DATA (a
 * renegotiation met application data: read it, then go on), or a code. */
#define APP_DATA 1
static int handshake_step(struct gtls *t)
{
	for (;;) {
		int r;

		t->want = 0;
		t->below_rc = 0;
		r = gnutls_handshake(t->session);
		if (r == GNUTLS_E_SUCCESS)
			return 0;
		if (t->rc) {
			/* Tell the server why, as OpenSSL does; best effort,
			 * the layer below is non-blocking and may refuse. */
			if (t->rc == SPOP_ERR_CERT_VERIFY)
				gnutls_alert_send(t->session, GNUTLS_AL_FATAL,
						  GNUTLS_A_BAD_CERTIFICATE);
			t->broken = 1;
			return t->rc;
		}
		if (t->below_rc) {
			t->broken = 1;
			return t->below_rc;
		}
		if (r == GNUTLS_E_AGAIN)
			return wanted(t) == SPOP_WAIT_READ
				   ? SPOP_IO_AGAIN_READ
				   : SPOP_IO_AGAIN_WRITE;
		if (r == GNUTLS_E_GOT_APPLICATION_DATA && t->handshake_done)
			return APP_DATA;
		if (r == GNUTLS_E_INTERRUPTED ||
		    (r != GNUTLS_E_GOT_APPLICATION_DATA &&
		     !gnutls_error_is_fatal(r)))
			continue;
		return handshake_error(t, r);
	}
}

static int gtls_handshake(struct spop_host *h, void *session)
{
	struct gtls *t = session;
	char msg[512];
	size_t len = 0;
	const void *cached = NULL;
	int rc;

	t->host = h;
	if (SPOP_OPS_HAS(struct spop_host, h, session_cache_get))
		cached = h->session_cache_get(h, &len);
	if (cached && len) {
		int r = gnutls_session_set_data(t->session, cached, len);

		snprintf(msg, sizeof(msg),
			 r < 0 ? "The saved TLS session for %s is unusable; "
				 "starting a new one."
			       : "Offering %s the saved TLS session to resume.",
			 t->name);
		h->ssl_status(h, msg);
	}
	t->verify_called = 0;
	while ((rc = handshake_step(t)) == SPOP_IO_AGAIN_READ ||
	       rc == SPOP_IO_AGAIN_WRITE) {
		rc = h->io_wait(h, rc == SPOP_IO_AGAIN_READ ? SPOP_WAIT_READ
							    : SPOP_WAIT_WRITE);
		if (rc) {
			t->broken = 1;
			return rc; /* Timeout or Interrupt, with its error */
		}
	}
	if (rc)
		return rc;
	t->handshake_done = 1;
	rc = check_suite(t);
	/* A resumed session sends no certificate, so GnuTLS does not call
	 * the check: it runs on the stored one, as the core asks once per
	 * handshake. */
	if (!rc && !t->verify_called && (rc = check_server(t)))
		t->broken = 1;
	if (rc)
		return rc;
	/* The core announces the session with the values of info(). */
	store_session(t);
	return 0;
}

/* After the handshake: errors of reads and writes. */
static ssize_t io_error(struct gtls *t, ssize_t r, const char *what)
{
	struct spop_host *h = t->host;

	t->broken = 1;
	if (t->rc)
		return -t->rc;
	if (t->below_rc)
		return -t->below_rc;
	switch (r) {
	case GNUTLS_E_PREMATURE_TERMINATION:
	case GNUTLS_E_PULL_ERROR:
	case GNUTLS_E_PUSH_ERROR:
		return -h->set_error(h, SPOP_ERR_DROPPED,
				     "%s closed the connection without ending "
				     "the TLS session (no close_notify).",
				     t->name);
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		/* TLS 1.3: a server refusing the client's certificate (or its
		 * absence) says so after the client's handshake is done */
		return -handshake_error(t, (int)r);
	case GNUTLS_E_DECRYPTION_FAILED:
	case GNUTLS_E_UNEXPECTED_PACKET_LENGTH:
	case GNUTLS_E_RECORD_OVERFLOW:
	case GNUTLS_E_UNEXPECTED_PACKET:
		return -h->set_error(h, SPOP_ERR_DECRYPT,
				     "A TLS record from %s could not be "
				     "decrypted or was malformed: %s.",
				     t->name, reason((int)r));
	default:
		return -h->set_error(h, SPOP_ERR_COMMUNICATION,
				     "TLS %s %s failed: %s.", what, t->name,
				     reason((int)r));
	}
}

/* A TLS 1.2 server asked for a new handshake: run it when renegotiation
 * is on and safe (RFC 5746), otherwise refuse politely. */
static int renegotiate(struct gtls *t)
{
	char msg[256];
	int rc;

	if (t->refuse_pending) {
		t->want = 0;
		int r = gnutls_alert_send(t->session, GNUTLS_AL_WARNING,
					  GNUTLS_A_NO_RENEGOTIATION);
		if (r == GNUTLS_E_AGAIN && !t->below_rc)
			return wanted(t) == SPOP_WAIT_READ
				   ? SPOP_IO_AGAIN_READ
				   : SPOP_IO_AGAIN_WRITE;
		if (r < 0)
			return (int)-io_error(t, r,
					      "refusal to renegotiate with");
		t->refuse_pending = 0;
		return 0;
	}
	rc = handshake_step(t);
	if (rc == SPOP_IO_AGAIN_READ || rc == SPOP_IO_AGAIN_WRITE)
		return rc;
	if (rc == APP_DATA)
		return 0; /* still renegotiating */
	t->renegotiating = 0;
	if (!rc && !t->verify_called && (rc = check_server(t)))
		t->broken = 1;
	if (!rc) {
		snprintf(msg, sizeof(msg), "TLS renegotiation with %s done.",
			 t->name);
		t->host->ssl_status(t->host, msg);
	}
	return rc;
}

static ssize_t gtls_read(struct spop_host *h, void *session, void *buf,
			 size_t len)
{
	struct gtls *t = session;

	t->host = h;
	if (t->broken)
		return -h->set_error(h, SPOP_ERR_COMMUNICATION,
				     "The TLS session with %s has failed "
				     "before.",
				     t->name);
	for (;;) {
		ssize_t r;

		if (t->renegotiating || t->refuse_pending) {
			int rc = renegotiate(t);

			if (rc == SPOP_IO_AGAIN_READ ||
			    rc == SPOP_IO_AGAIN_WRITE)
				return rc;
			if (rc) {
				t->broken = 1;
				return -rc;
			}
		}
		t->want = 0;
		t->below_rc = 0;
		r = gnutls_record_recv(t->session, buf, len);
		if (r > 0) {
			store_session(t);
			return r;
		}
		if (r == 0) {
			t->closed = 1;
			return 0;
		}
		if (r == GNUTLS_E_AGAIN && !t->below_rc) {
			store_session(t);
			return wanted(t) == SPOP_WAIT_READ
				   ? SPOP_IO_AGAIN_READ
				   : SPOP_IO_AGAIN_WRITE;
		}
		if (r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r == GNUTLS_E_REHANDSHAKE) {
			char msg[256];
			int ok = t->renegotiation &&
				 gnutls_safe_renegotiation_status(t->session);

			snprintf(msg, sizeof(msg),
				 "%s asked to renegotiate TLS; %s.", t->name,
				 ok ? "renegotiating" : "refused");
			h->ssl_status(h, msg);
			t->verify_called = 0;
			if (ok)
				t->renegotiating = 1;
			else
				t->refuse_pending = t->refused_renegotiation =
				    1;
			continue;
		}
		if (r == GNUTLS_E_WARNING_ALERT_RECEIVED)
			continue;
		if (r == GNUTLS_E_PREMATURE_TERMINATION)
			t->closed = 1;
		return io_error(t, r, "read from");
	}
}

static ssize_t gtls_write(struct spop_host *h, void *session, const void *buf,
			  size_t len)
{
	struct gtls *t = session;

	t->host = h;
	if (t->broken)
		return -h->set_error(h, SPOP_ERR_COMMUNICATION,
				     "The TLS session with %s has failed "
				     "before.",
				     t->name);
	for (;;) {
		ssize_t r;

		t->want = 0;
		t->below_rc = 0;
		r = gnutls_record_send(t->session, buf, len);
		if (r > 0)
			return r;
		if (r == GNUTLS_E_AGAIN && !t->below_rc)
			return wanted(t) == SPOP_WAIT_READ
				   ? SPOP_IO_AGAIN_READ
				   : SPOP_IO_AGAIN_WRITE;
		if (r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r == 0)
			return -h->set_error(h, SPOP_ERR_COMMUNICATION,
					     "TLS write to %s took no bytes.",
					     t->name);
		return io_error(t, r, "write to");
	}
}

static size_t gtls_pending(struct spop_host *h, void *session)
{
	struct gtls *t = session;

	return t && t->session ? gnutls_record_check_pending(t->session) : 0;
}

/* Bits of a named group: X25519 255, SECP256R1 256, FFDHE2048 2048. */
static int group_bits(const char *name)
{
	if (!strcmp(name, "X25519"))
		return 255;
	for (; *name; name++)
		if (isdigit((unsigned char)*name))
			return atoi(name);
	return 0;
}

static int gtls_info(struct spop_host *h, void *session,
		     struct spop_tls_info *info)
{
	struct gtls *t = session;
	gnutls_session_t s = t->session;
	gnutls_protocol_t v = gnutls_protocol_get_version(s);
	gnutls_cipher_algorithm_t c = gnutls_cipher_get(s);
	gnutls_group_t g = gnutls_group_get(s);
	gnutls_kx_algorithm_t kx = gnutls_kx_get(s);
	unsigned n = 0;
	const gnutls_datum_t *peers = gnutls_certificate_get_peers(s, &n);
	const char *cn = gnutls_cipher_get_name(c);

	if (!t->handshake_done)
		return h->set_error(h, SPOP_ERR_STATE,
				    "The TLS session with %s has no handshake "
				    "yet.",
				    t->name);
	snprintf(info->version, sizeof(info->version), "%s",
		 v == GNUTLS_TLS1_3   ? "TLS1.3"
		 : v == GNUTLS_TLS1_2 ? "TLS1.2"
		 : v == GNUTLS_TLS1_1 ? "TLS1.1"
		 : v == GNUTLS_TLS1_0 ? "TLS1.0"
				      : gnutls_protocol_get_name(v));
	/* GnuTLS's names are already upper case with dashes */
	snprintf(info->cipher, sizeof(info->cipher), "%s",
		 c == GNUTLS_CIPHER_3DES_CBC	  ? "3DES-EDE-CBC"
		 : c == GNUTLS_CIPHER_ARCFOUR_128 ? "RC4-128"
		 : cn				  ? cn
						  : "");
	info->cipher_strength = cipher_bits(c);
	if (g != GNUTLS_GROUP_INVALID && gnutls_group_get_name(g)) {
		snprintf(info->key_exchange, sizeof(info->key_exchange), "%s",
			 gnutls_group_get_name(g));
		info->key_exchange_strength = group_bits(info->key_exchange);
	} else if (kx == GNUTLS_KX_RSA) {
		gnutls_x509_crt_t crt;
		unsigned bits = 0;

		snprintf(info->key_exchange, sizeof(info->key_exchange), "RSA");
		if (n && gnutls_x509_crt_init(&crt) >= 0) {
			if (gnutls_x509_crt_import(crt, &peers[0],
						   GNUTLS_X509_FMT_DER) >= 0)
				gnutls_x509_crt_get_pk_algorithm(crt, &bits);
			gnutls_x509_crt_deinit(crt);
		}
		info->key_exchange_strength = (int)bits;
	} else {
		/* DHE with the server's own (unnamed) parameters */
		snprintf(info->key_exchange, sizeof(info->key_exchange), "%s",
			 kx == GNUTLS_KX_DHE_RSA || kx == GNUTLS_KX_DHE_DSS
			     ? "DHE"
			     : gnutls_kx_get_name(kx));
		info->key_exchange_strength = gnutls_dh_get_prime_bits(s);
	}
	info->peer_der = NULL;
	info->peer_der_len = 0;
	if (peers && n) {
		info->peer_der = h->alloc(h, peers[0].size);
		memcpy(info->peer_der, peers[0].data, peers[0].size);
		info->peer_der_len = peers[0].size;
	}
	if (info->size >=
	    offsetof(struct spop_tls_info, resumed) + sizeof(info->resumed)) {
		const char *suite = gnutls_ciphersuite_get(s);

		snprintf(info->cipher_suite, sizeof(info->cipher_suite), "%s",
			 suite ? suite : "");
		info->resumed = gnutls_session_is_resumed(s) != 0;
	}
	return 0;
}

static int gtls_channel_binding(struct spop_host *h, void *session,
				const char *type, unsigned char **data,
				size_t *len)
{
	struct gtls *t = session;
	gnutls_channel_binding_t cb;
	gnutls_datum_t d = {NULL, 0};
	int r;

	if (!strcmp(type, "tls-server-end-point"))
		cb = GNUTLS_CB_TLS_SERVER_END_POINT;
	else if (!strcmp(type, "tls-exporter"))
		cb = GNUTLS_CB_TLS_EXPORTER;
	else if (!strcmp(type, "tls-unique"))
		cb = GNUTLS_CB_TLS_UNIQUE;
	else
		return h->set_error(
		    h, SPOP_ERR_NOT_AVAILABLE,
		    "The " PROVIDER " provider has no channel "
		    "binding '%s' (it has tls-server-end-point, "
		    "tls-exporter and tls-unique).",
		    type);
	if (!t->handshake_done)
		return h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
				    "Channel binding '%s' needs a finished TLS "
				    "handshake with %s.",
				    type, t->name);
	r = gnutls_session_channel_binding(t->session, cb, &d);
	if (r < 0)
		return h->set_error(
		    h, SPOP_ERR_NOT_AVAILABLE,
		    "Channel binding '%s' is not available on this %s session "
		    "with %s: %s%s.",
		    type,
		    gnutls_protocol_get_name(
			gnutls_protocol_get_version(t->session)),
		    t->name, reason(r),
		    cb == GNUTLS_CB_TLS_UNIQUE
			? " (tls-unique is defined up to TLS 1.2; use "
			  "tls-exporter)"
		    : cb == GNUTLS_CB_TLS_EXPORTER
			? " (tls-exporter needs TLS 1.3, or TLS 1.2 with the "
			  "extended master secret)"
			: "");
	*data = h->alloc(h, d.size);
	memcpy(*data, d.data, d.size);
	*len = d.size;
	gnutls_free(d.data);
	return 0;
}

static void gtls_free(struct spop_host *h, void *session)
{
	struct gtls *t = session;

	if (!t)
		return;
	t->host = h;
	if (t->session) {
		store_session(t);
		/* One attempt at close_notify, never waiting: a peer that is
		 * gone or slow is not worth blocking (or an error) for. */
		if (t->handshake_done && !t->broken && !t->closed) {
			t->want = 0;
			t->below_rc = 0;
			gnutls_bye(t->session, GNUTLS_SHUT_WR);
		}
		gnutls_deinit(t->session);
	}
	free_client_cert(t);
	trust_cache_release(&trust_anchors, t->trust);
	if (t->prio)
		gnutls_priority_deinit(t->prio);
	if (t->suites)
		free_list(h, t->suites, t->n_suites);
	h->free(h, t->name);
	h->free(h, t);
}

static const struct spop_tls_ops ops = {
    .size = sizeof(struct spop_tls_ops),
    .handshake = gtls_handshake,
    .read = gtls_read,
    .write = gtls_write,
    .pending = gtls_pending,
    .info = gtls_info,
    .session_free = gtls_free,
    .session_new_io = gtls_new_io,
    .channel_binding = gtls_channel_binding,
};

static const int32_t selectors[] = {0, 2};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_TLS,
    .name = "gnutls",
    .version = "1.0",
    .description = "TLS 1.0-1.3 with GnuTLS (SSLProvider Internal)",
    .selectors = selectors,
    .n_selectors = 2,
    .capabilities = SPOP_CAP_TLS_1_3 | SPOP_CAP_TLS_CLIENT_CERT,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
