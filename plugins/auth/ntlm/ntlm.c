/* Auth "ntlm" (AuthMechanism 2, SASL NTLM): NTLMv2 per MS-NLMP. The
 * NEGOTIATE message (type 1) goes out as the initial response, the
 * server's CHALLENGE (type 2) is parsed with every offset and length
 * checked, and the AUTHENTICATE message (type 3) carries the NTLMv2 and
 * LMv2 responses (MS-NLMP 3.3.2). MD4 and HMAC-MD5 come from libgcrypt,
 * UTF-16LE and upper-casing from GLib.
 *
 * What this mechanism is and is not:
 *  - NTLMv2 only. There is no fallback to NTLMv1 or LM: their responses
 *    are DES over the unsalted MD4 hash and crack offline in hours, so a
 *    server that accepts only those gets no answer that would expose the
 *    password hash.
 *  - No session security: POP3 has no SASL security layer after NTLM, so
 *    no session key is exchanged (no KEY_EXCH, no SEAL/SIGN), no MIC is
 *    sent and nothing is signed; ALWAYS_SIGN is only the customary flag.
 *  - Not a plaintext mechanism: the password never travels, but the
 *    exchange can be attacked offline by anyone who reads it, and the
 *    server is not authenticated (no MUTUAL): prefer SCRAM over TLS.
 *  - User "DOMAIN\user" splits into domain and user name; anything else
 *    (also "user@domain", a UPN) is the user name with an empty domain
 *    (MS-NLMP 3.1.5.1.2). The workstation name is empty: it plays no part
 *    in NTLMv2's proof and would only tell the server this host's name.
 *  - Cyrus SASL's server upper-cases the domain too when it computes
 *    NTOWFv2 (MS-NLMP upper-cases only the user name), so against Cyrus a
 *    domain must be given in upper case. */
#include <gcrypt.h>
#include <glib.h>
#include <string.h>

#include <spop/plugin.h>
#include "../../common/gcrypt-ready.h"

#define NTLM_SIG	   "NTLMSSP" /* with its NUL: 8 bytes */
#define NTLM_NEGOTIATE	   1
#define NTLM_CHALLENGE	   2
#define NTLM_AUTHENTICATE  3
#define CHALLENGE_FIXED	   48 /* up to and with TargetInfoFields */
#define AUTHENTICATE_FIXED 64 /* up to and with NegotiateFlags */

/* MS-NLMP 2.2.2.5 */
#define NEGOTIATE_UNICODE		   0x00000001u
#define REQUEST_TARGET			   0x00000004u
#define NEGOTIATE_NTLM			   0x00000200u
#define NEGOTIATE_ALWAYS_SIGN		   0x00008000u
#define NEGOTIATE_EXTENDED_SESSIONSECURITY 0x00080000u
#define NEGOTIATE_TARGET_INFO		   0x00800000u
#define CLIENT_FLAGS                                                           \
	(NEGOTIATE_UNICODE | REQUEST_TARGET | NEGOTIATE_NTLM |                 \
	 NEGOTIATE_ALWAYS_SIGN | NEGOTIATE_EXTENDED_SESSIONSECURITY |          \
	 NEGOTIATE_TARGET_INFO)

/* MS-NLMP 2.2.2.1 AV_PAIR ids */
#define MSV_AV_EOL	 0
#define MSV_AV_TIMESTAMP 7

#define MD5_LEN	      16
#define CHALLENGE_LEN 8
/* 100-ns intervals from 1601-01-01 to 1970-01-01 */
#define FILETIME_UNIX_EPOCH 116444736000000000ll

struct ntlm {
	int step; /* 0: type 1 sent; 1: type 3 sent */
};

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static int crypto_ready(struct spop_host *h)
{
	if (!spop_gcrypt_ready()->ok)
		return h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
				    "NTLM: libgcrypt %s is older than the %s "
				    "it was built with.",
				    gcry_check_version(NULL), GCRYPT_VERSION);
	return 0;
}

static int md4(struct spop_host *h, const void *data, size_t len,
	       unsigned char out[MD5_LEN])
{
	gcry_md_hd_t md;
	gcry_error_t err = gcry_md_open(&md, GCRY_MD_MD4, 0);

	if (err)
		return h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
				    "NTLM needs MD4, which libgcrypt refuses "
				    "here%s: %s.",
				    gcry_fips_mode_active() ? " (FIPS mode)"
							    : "",
				    gcry_strerror(err));
	gcry_md_write(md, data, len);
	memcpy(out, gcry_md_read(md, GCRY_MD_MD4), MD5_LEN);
	gcry_md_close(md);
	return 0;
}

/* HMAC-MD5 of the concatenation of the n parts. */
static int hmac_md5(struct spop_host *h, const unsigned char key[MD5_LEN],
		    const void *const *parts, const size_t *lens, size_t n,
		    unsigned char out[MD5_LEN])
{
	gcry_mac_hd_t mac = NULL;
	size_t out_len = MD5_LEN;
	gcry_error_t err = gcry_mac_open(&mac, GCRY_MAC_HMAC_MD5, 0, NULL);

	if (!err)
		err = gcry_mac_setkey(mac, key, MD5_LEN);
	for (size_t i = 0; !err && i < n; i++)
		err = gcry_mac_write(mac, parts[i], lens[i]);
	if (!err)
		err = gcry_mac_read(mac, out, &out_len);
	if (mac)
		gcry_mac_close(mac);
	if (err)
		return h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
				    "NTLM needs HMAC-MD5, which libgcrypt "
				    "refuses here%s: %s.",
				    gcry_fips_mode_active() ? " (FIPS mode)"
							    : "",
				    gcry_strerror(err));
	return 0;
}

/* UTF-16LE of UTF-8 text (upper-cased first when upper), in g_malloc'd
 * memory; what names the setting for the error. */
static int utf16le(struct spop_host *h, const char *what, const char *text,
		   size_t len, int upper, unsigned char **out, size_t *out_len)
{
	char *up = NULL;
	glong n = 0;
	gunichar2 *u;

	if (!g_utf8_validate(text, (gssize)len, NULL))
		return h->set_error(h, SPOP_ERR_CODEPAGE,
				    "NTLM: %s is not valid UTF-8, so it has "
				    "no UTF-16 form.",
				    what);
	if (upper) {
		up = g_utf8_strup(text, (gssize)len);
		text = up;
		len = strlen(up);
	}
	u = g_utf8_to_utf16(text, (glong)len, NULL, &n, NULL);
	g_free(up);
	if (!u || n > 0x7fff) {
		g_free(u);
		return h->set_error(h, SPOP_ERR_CODEPAGE,
				    "NTLM: %s is too long for an NTLM "
				    "message or has no UTF-16 form.",
				    what);
	}
	for (glong i = 0; i < n; i++)
		put16((unsigned char *)&u[i], u[i]);
	*out = (unsigned char *)u;
	*out_len = (size_t)n * 2;
	return 0;
}

static void wipe_free(void *p, size_t len)
{
	if (p) {
		memset(p, 0, len);
		g_free(p);
	}
}

static int ntlm_start(struct spop_host *h, void **state, unsigned char **out,
		      size_t *out_len)
{
	const char *authz = h->setting(h, "AuthorizationIdentity");
	const char *user = h->setting(h, "User");
	int rc = crypto_ready(h);

	if (rc)
		return rc;
	/* NTLMv2 carries the time: without the host's clock, no answer. */
	if (!SPOP_OPS_HAS(struct spop_host, h, now))
		return h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
				    "NTLM needs the host's now(), which this "
				    "core (plugin ABI 1.%u) lacks.",
				    h->abi_minor);
	if (!user || !*user)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "User is empty: NTLM needs a user name.");
	if (authz && *authz)
		return h->set_error(h, SPOP_ERR_NOT_AVAILABLE,
				    "NTLM has no authorization identity, and "
				    "AuthorizationIdentity is set.");

	struct ntlm *n = h->alloc(h, sizeof(*n));
	unsigned char *m = h->alloc(h, 32);

	n->step = 0;
	*state = n;
	/* MS-NLMP 2.2.1.1: no domain or workstation supplied, no version. */
	memset(m, 0, 32);
	memcpy(m, NTLM_SIG, 8);
	put32(m + 8, NTLM_NEGOTIATE);
	put32(m + 12, CLIENT_FLAGS);
	put32(m + 20, 32); /* DomainNameFields offset (empty) */
	put32(m + 28, 32); /* WorkstationFields offset (empty) */
	*out = m;
	*out_len = 32;
	return 0;
}

/* A security buffer (len, maxlen, offset) at off must lie inside the
 * message: its start and length when it does. */
static int security_buffer(struct spop_host *h, const unsigned char *msg,
			   size_t msg_len, size_t off, const char *what,
			   size_t *start, size_t *len)
{
	uint16_t l = le16(msg + off);
	uint32_t o = le32(msg + off + 4);

	/* Compared without adding, so no offset + length can wrap. */
	if (l && (o > msg_len || l > msg_len - o))
		return h->set_error(
		    h, SPOP_ERR_PROTOCOL,
		    "The server's NTLM challenge is malformed: its %s "
		    "(%u bytes at offset %u) lies outside the %zu-byte "
		    "message.",
		    what, l, o, msg_len);
	*start = l ? o : 0;
	*len = l;
	return 0;
}

struct challenge {
	uint32_t flags;
	const unsigned char *server_challenge;
	const unsigned char *target_info; /* up to and with MsvAvEOL */
	size_t target_info_len;		  /* 0: none sent */
	const unsigned char *timestamp;	  /* MsvAvTimestamp's 8 bytes, or
					     NULL */
};

static int parse_challenge(struct spop_host *h, const unsigned char *msg,
			   size_t len, struct challenge *c)
{
	size_t tn_at, tn_len, ti_at, ti_len;
	int rc;

	memset(c, 0, sizeof(*c));
	if (len < CHALLENGE_FIXED)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "The server's NTLM challenge is truncated: "
				    "%zu bytes, where its fixed part alone "
				    "has %d.",
				    len, CHALLENGE_FIXED);
	if (memcmp(msg, NTLM_SIG, 8))
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "The server's NTLM challenge does not "
				    "start with the NTLMSSP signature.");
	if (le32(msg + 8) != NTLM_CHALLENGE)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "The server's NTLM message is of type %u "
				    "where a CHALLENGE (type 2) was expected.",
				    le32(msg + 8));
	rc = security_buffer(h, msg, len, 12, "target name", &tn_at, &tn_len);
	if (!rc)
		rc = security_buffer(h, msg, len, 40, "target information",
				     &ti_at, &ti_len);
	if (rc)
		return rc;
	c->flags = le32(msg + 20);
	c->server_challenge = msg + 24;
	if (!(c->flags & NEGOTIATE_UNICODE))
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "The server's NTLM challenge does not "
				    "accept Unicode; OEM code pages are not "
				    "spoken here.");
	/* MS-NLMP 2.2.2.1: AV pairs, each id, length, value, ended by
	 * MsvAvEOL. A server that sends no target information (Cyrus SASL
	 * does not) gets an empty list back in the NTLMv2 blob. */
	for (size_t at = 0; ti_len;) {
		if (ti_len - at < 4)
			return h->set_error(
			    h, SPOP_ERR_PROTOCOL,
			    "The server's NTLM target information ends "
			    "without MsvAvEOL (%zu stray bytes at its end).",
			    ti_len - at);
		uint16_t id = le16(msg + ti_at + at);
		uint16_t alen = le16(msg + ti_at + at + 2);

		if (alen > ti_len - at - 4)
			return h->set_error(
			    h, SPOP_ERR_PROTOCOL,
			    "The server's NTLM target information is "
			    "malformed: AV pair %u of %u bytes at offset %zu "
			    "runs past its end (%zu bytes).",
			    id, alen, at, ti_len);
		if (id == MSV_AV_TIMESTAMP) {
			if (alen != 8)
				return h->set_error(
				    h, SPOP_ERR_PROTOCOL,
				    "The server's NTLM MsvAvTimestamp has %u "
				    "bytes instead of 8.",
				    alen);
			c->timestamp = msg + ti_at + at + 4;
		}
		at += 4u + alen;
		if (id == MSV_AV_EOL) {
			c->target_info = msg + ti_at;
			c->target_info_len = at;
			break;
		}
	}
	return 0;
}

/* Splits "DOMAIN\user"; anything else is all user name. */
static void split_user(const char *user, const char **name, size_t *name_len,
		       const char **domain, size_t *domain_len)
{
	const char *bs = strchr(user, '\\');

	if (bs) {
		*domain = user;
		*domain_len = (size_t)(bs - user);
		*name = bs + 1;
	} else {
		*domain = "";
		*domain_len = 0;
		*name = user;
	}
	*name_len = strlen(*name);
}

/* NTOWFv2 (MS-NLMP 3.3.2): HMAC_MD5(MD4(UTF16LE(password)),
 * UTF16LE(UPPER(user) + domain)). */
static int ntowfv2(struct spop_host *h, const char *pass,
		   const unsigned char *user_up, size_t user_up_len,
		   const unsigned char *dom, size_t dom_len,
		   unsigned char key[MD5_LEN])
{
	unsigned char *p16 = NULL, nt_hash[MD5_LEN];
	size_t p16_len = 0;
	int rc = utf16le(h, "Password", pass, strlen(pass), 0, &p16, &p16_len);

	if (!rc)
		rc = md4(h, p16, p16_len, nt_hash);
	wipe_free(p16, p16_len);
	if (!rc) {
		const void *parts[] = {user_up, dom};
		size_t lens[] = {user_up_len, dom_len};

		rc = hmac_md5(h, nt_hash, parts, lens, 2, key);
	}
	memset(nt_hash, 0, sizeof(nt_hash));
	return rc;
}

/* Appends a security buffer's payload at *at and fills its fields at fld. */
static void put_buffer(unsigned char *m, size_t fld, size_t *at,
		       const unsigned char *data, size_t len)
{
	put16(m + fld, (uint16_t)len);
	put16(m + fld + 2, (uint16_t)len);
	put32(m + fld + 4, (uint32_t)*at);
	if (len)
		memcpy(m + *at, data, len);
	*at += len;
}

static int build_authenticate(struct spop_host *h, const struct challenge *c,
			      unsigned char **out, size_t *out_len)
{
	static const unsigned char eol_only[4] = {0};
	const char *user = h->setting(h, "User");
	const char *pass = h->setting(h, "Password");
	const char *name, *domain;
	size_t name_len, domain_len;
	unsigned char *u16 = NULL, *uu16 = NULL, *d16 = NULL, *blob = NULL;
	size_t u16_len = 0, uu16_len = 0, d16_len = 0, blob_len = 0;
	unsigned char key[MD5_LEN], proof[MD5_LEN], lm[24], cc[8], ts[8];
	const unsigned char *ti = c->target_info ? c->target_info : eol_only;
	size_t ti_len = c->target_info ? c->target_info_len : 4;
	int rc;

	if (!user || !*user)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "User is empty: NTLM needs a user name.");
	pass = pass ? pass : "";
	split_user(user, &name, &name_len, &domain, &domain_len);
	if (!name_len)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "User \"%s\" has an empty user name after "
				    "its domain.",
				    user);
	rc = utf16le(h, "User", name, name_len, 0, &u16, &u16_len);
	if (!rc)
		rc = utf16le(h, "User", name, name_len, 1, &uu16, &uu16_len);
	if (!rc)
		rc = utf16le(h, "User's domain", domain, domain_len, 0, &d16,
			     &d16_len);
	if (!rc)
		rc = ntowfv2(h, pass, uu16, uu16_len, d16, d16_len, key);
	if (!rc)
		rc = h->random(h, cc, sizeof(cc));
	if (rc)
		goto out;

	if (c->timestamp) {
		memcpy(ts, c->timestamp, 8);
	} else {
		int64_t us = h->now(h);

		/* FILETIME: 100-ns intervals since 1601, little-endian. */
		if (us < -FILETIME_UNIX_EPOCH / 10 ||
		    us > (INT64_MAX - FILETIME_UNIX_EPOCH) / 10) {
			rc = h->set_error(h, SPOP_ERR_PROTOCOL,
					  "NTLM: the clock (%lld us since "
					  "1970) has no FILETIME form.",
					  (long long)us);
			goto out;
		}
		uint64_t ft = (uint64_t)(us * 10 + FILETIME_UNIX_EPOCH);

		put32(ts, (uint32_t)ft);
		put32(ts + 4, (uint32_t)(ft >> 32));
	}

	/* MS-NLMP 2.2.2.7 NTLMv2_CLIENT_CHALLENGE ("temp" of 3.3.2):
	 * 1, 1, Z(6), time, client challenge, Z(4), AV pairs, Z(4). */
	blob_len = 28 + ti_len + 4;
	if (blob_len + MD5_LEN > 0xffff) {
		rc = h->set_error(h, SPOP_ERR_PROTOCOL,
				  "The server's NTLM target information "
				  "(%zu bytes) is too long to answer.",
				  ti_len);
		goto out;
	}
	blob = g_malloc0(blob_len);
	blob[0] = 1;
	blob[1] = 1;
	memcpy(blob + 8, ts, 8);
	memcpy(blob + 16, cc, 8);
	memcpy(blob + 28, ti, ti_len);
	{
		const void *parts[] = {c->server_challenge, blob};
		size_t lens[] = {CHALLENGE_LEN, blob_len};

		rc = hmac_md5(h, key, parts, lens, 2, proof);
	}
	if (rc)
		goto out;
	if (c->timestamp) {
		/* MS-NLMP 3.1.5.1.2: with the server's time, Z(24). */
		memset(lm, 0, sizeof(lm));
	} else {
		const void *parts[] = {c->server_challenge, cc};
		size_t lens[] = {CHALLENGE_LEN, sizeof(cc)};

		rc = hmac_md5(h, key, parts, lens, 2, lm);
		memcpy(lm + MD5_LEN, cc, sizeof(cc));
		if (rc)
			goto out;
	}

	/* MS-NLMP 2.2.1.3, without version, MIC or session key. */
	size_t nt_len = MD5_LEN + blob_len;
	size_t total = AUTHENTICATE_FIXED + d16_len + u16_len + 24 + nt_len;

	if (total > 0xffff) {
		rc = h->set_error(h, SPOP_ERR_PROTOCOL,
				  "NTLM: User is too long for an NTLM "
				  "message.");
		goto out;
	}
	unsigned char *m = h->alloc(h, total);
	size_t at = AUTHENTICATE_FIXED;

	memset(m, 0, AUTHENTICATE_FIXED);
	memcpy(m, NTLM_SIG, 8);
	put32(m + 8, NTLM_AUTHENTICATE);
	put_buffer(m, 28, &at, d16, d16_len);
	put_buffer(m, 36, &at, u16, u16_len);
	put_buffer(m, 44, &at, NULL, 0); /* workstation: none */
	put_buffer(m, 12, &at, lm, sizeof(lm));
	put16(m + 20, (uint16_t)nt_len);
	put16(m + 22, (uint16_t)nt_len);
	put32(m + 24, (uint32_t)at);
	memcpy(m + at, proof, MD5_LEN);
	memcpy(m + at + MD5_LEN, blob, blob_len);
	at += nt_len;
	put_buffer(m, 52, &at, NULL, 0); /* no session key */
	put32(m + 60, c->flags & CLIENT_FLAGS);
	*out = m;
	*out_len = total;
out:
	memset(key, 0, sizeof(key));
	memset(proof, 0, sizeof(proof));
	memset(lm, 0, sizeof(lm));
	g_free(u16);
	wipe_free(uu16, uu16_len);
	g_free(d16);
	g_free(blob);
	return rc;
}

static int ntlm_step(struct spop_host *h, void *state,
		     const unsigned char *challenge, size_t challenge_len,
		     unsigned char **out, size_t *out_len)
{
	struct ntlm *n = state;
	struct challenge c;
	int rc;

	if (n->step)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "The server sent another NTLM challenge "
				    "after the AUTHENTICATE message; NTLM has "
				    "a single challenge.");
	if (!challenge_len)
		return h->set_error(h, SPOP_ERR_PROTOCOL,
				    "The server's NTLM challenge is empty; a "
				    "CHALLENGE message (type 2) was "
				    "expected.");
	rc = parse_challenge(h, challenge, challenge_len, &c);
	if (!rc)
		rc = build_authenticate(h, &c, out, out_len);
	if (!rc)
		n->step = 1;
	return rc;
}

static void ntlm_done(struct spop_host *h, void *state)
{
	h->free(h, state);
}

static const struct spop_auth_ops ops = {
    .size = sizeof(struct spop_auth_ops),
    .sasl_name = "NTLM",
    .sasl_start = ntlm_start,
    .sasl_step = ntlm_step,
    .sasl_done = ntlm_done,
};

static const int32_t selectors[] = {2};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_AUTH,
    .name = "ntlm",
    .version = "1.0",
    .description = "SASL NTLM, NTLMv2 only (MS-NLMP)",
    .selectors = selectors,
    .n_selectors = 1,
    .capabilities = SPOP_CAP_AUTH_SASL,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
