/* Known-answer test of the "ntlm" auth plugin (MS-NLMP 4.2.4, NTLMv2
 * authentication), chosen by AuthMechanism through the registry and driven
 * through the core's own host with its random() and now() fixed, and its
 * refusals of hostile CHALLENGE messages: each must be a clean
 * SPOP_ERR_PROTOCOL naming what was wrong, never an over-read (the ASan
 * build runs this too). The exchange against Cyrus pop3d is in
 * tests/integration/test-auth-ntlm.c. */
#include "test-runner.h"

#include <stddef.h>
#include <string.h>

#include "spop-private.h"

#include "fixture-setup.h"

static struct spi_host host;
static const struct spop_auth_ops *ops;

/* MS-NLMP 4.2.4.3: the CHALLENGE message of the NTLMv2 example. Target
 * name "Server" at 56, version at 48, target information at 68: MsvAvNb-
 * DomainName "Domain", MsvAvNbComputerName "Server", MsvAvEOL. */
static const unsigned char spec_challenge[] = {
    0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x0c, 0x00, 0x0c, 0x00, 0x38, 0x00, 0x00, 0x00, 0x33, 0x82, 0x8a, 0xe2,
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x24, 0x00, 0x44, 0x00, 0x00, 0x00,
    0x06, 0x00, 0x70, 0x17, 0x00, 0x00, 0x00, 0x0f, 0x53, 0x00, 0x65, 0x00,
    0x72, 0x00, 0x76, 0x00, 0x65, 0x00, 0x72, 0x00, 0x02, 0x00, 0x0c, 0x00,
    0x44, 0x00, 0x6f, 0x00, 0x6d, 0x00, 0x61, 0x00, 0x69, 0x00, 0x6e, 0x00,
    0x01, 0x00, 0x0c, 0x00, 0x53, 0x00, 0x65, 0x00, 0x72, 0x00, 0x76, 0x00,
    0x65, 0x00, 0x72, 0x00, 0x00, 0x00, 0x00, 0x00};
#define TI_AT  68 /* target information in spec_challenge */
#define TI_LEN 36

/* The NEGOTIATE message: UNICODE, REQUEST_TARGET, NTLM, ALWAYS_SIGN,
 * EXTENDED_SESSIONSECURITY, TARGET_INFO; no domain, no workstation. */
static const char negotiate_hex[] = "4e544c4d53535000"
				    "01000000"
				    "05828800"
				    "0000000020000000"
				    "0000000020000000";

/* The AUTHENTICATE message for User "Domain\User", Password "Password",
 * client challenge aa..aa, time 0 (MS-NLMP 4.2.1), as MS-NLMP 2.2.1.3
 * lays it out without version, MIC or session key. */
static const char authenticate_hex[] =
    "4e544c4d53535000"
    "03000000"
    "1800180054000000"	       /* LmChallengeResponse: 24 at 84 */
    "540054006c000000"	       /* NtChallengeResponse: 84 at 108 */
    "0c000c0040000000"	       /* DomainName: 12 at 64 */
    "080008004c000000"	       /* UserName: 8 at 76 */
    "0000000054000000"	       /* Workstation: none */
    "00000000c0000000"	       /* EncryptedRandomSessionKey: none */
    "01828800"		       /* the challenge's flags that we asked for */
    "44006f006d00610069006e00" /* "Domain" */
    "5500730065007200"	       /* "User" */
    /* MS-NLMP 4.2.4.2.1 LMv2 response */
    "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa"
    /* MS-NLMP 4.2.4.2.2 NTProofStr, then the client challenge blob:
     * 1, 1, Z(6), time 0, client challenge, Z(4), AV pairs, Z(4) */
    "68cd0ab851e51c96aabc927bebef6a1c"
    "0101000000000000"
    "0000000000000000"
    "aaaaaaaaaaaaaaaa"
    "00000000"
    "02000c0044006f006d00610069006e00"
    "01000c00530065007200760065007200"
    "00000000"
    "00000000";

static int fixed_random(struct spop_host *h, void *buf, size_t len)
{
	memset(buf, 0xaa, len);
	return 0;
}

/* MS-NLMP's time 0 is the FILETIME epoch, 1601-01-01. */
static int64_t fixed_now(struct spop_host *h)
{
	return -11644473600ll * 1000000;
}

static int suite_init(void)
{
	const struct spop_plugin_descriptor *d = NULL;

	if (setup())
		return 1;
	if (spi_plugin_select(s, SPOP_PLUGIN_AUTH, "AuthMechanism",
			      SPOP_AM_NTLM, &d) ||
	    !d) {
		fprintf(stderr, "no ntlm plugin: %s\n", error_text());
		return 1;
	}
	ops = d->ops;
	/* NTLM sends no reusable secret and cannot prove the server. */
	if (d->capabilities != SPOP_CAP_AUTH_SASL) {
		fprintf(stderr, "ntlm capabilities %llx\n",
			(unsigned long long)d->capabilities);
		return 1;
	}
	spi_host_init(&host, s, NULL);
	host.pub.random = fixed_random;
	host.pub.now = fixed_now;
	return 0;
}

static char *hex(const unsigned char *p, size_t len)
{
	GString *g = g_string_new(NULL);

	for (size_t i = 0; i < len; i++)
		g_string_append_printf(g, "%02x", p[i]);
	return g_string_free(g, FALSE);
}

/* start, then one step with challenge: 0 and *type3 (hex), or the error
 * of the step. The type 1 message is checked on the way. */
static int exchange(const unsigned char *challenge, size_t len, char **type3)
{
	void *state = NULL;
	unsigned char *out = NULL;
	size_t out_len = 0;
	int rc = ops->sasl_start(&host.pub, &state, &out, &out_len);

	*type3 = NULL;
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	char *t1 = hex(out, out_len);
	CU_ASSERT_STRING_EQUAL(t1, negotiate_hex);
	g_free(t1);
	g_free(out);
	out = NULL;
	rc = ops->sasl_step(&host.pub, state, challenge, len, &out, &out_len);
	if (!rc) {
		CU_ASSERT_PTR_NOT_NULL(out);
		*type3 = hex(out, out_len);
		g_free(out);
		/* a second challenge is refused, not answered again */
		out = NULL;
		CU_ASSERT_EQUAL(ops->sasl_step(&host.pub, state, challenge, len,
					       &out, &out_len),
				SPOP_ERR_PROTOCOL);
		CU_ASSERT_TRUE(
		    error_is(SPOP_ERR_PROTOCOL, "another NTLM", NULL));
		CU_ASSERT_PTR_NULL(out);
	} else {
		CU_ASSERT_PTR_NULL(out);
	}
	ops->sasl_done(&host.pub, state);
	return rc;
}

static void test_ms_nlmp(void)
{
	char *t3;

	CU_ASSERT_STRING_EQUAL(ops->sasl_name, "NTLM");
	spop_set_user(s, "Domain\\User");
	spop_set_password(s, "Password");
	CU_ASSERT_EQUAL(exchange(spec_challenge, sizeof(spec_challenge), &t3),
			0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t3);
	CU_ASSERT_STRING_EQUAL(t3, authenticate_hex);
	g_free(t3);
}

/* The responses of a challenge, from the type 3's hex: LM (24 bytes) and
 * the NTLMv2 response's blob time. */
static void responses(const char *t3, char **lm, char **ts)
{
	/* offsets of the layout above, for User "Domain\User" */
	*lm = g_strndup(t3 + 2 * 84, 2 * 24);
	*ts = g_strndup(t3 + 2 * (108 + 16 + 8), 2 * 8);
}

/* With MsvAvTimestamp the blob carries the server's time and the LMv2
 * response is Z(24) (MS-NLMP 3.1.5.1.2); without, host->now() as FILETIME,
 * here 2020-01-01T00:00:00Z. */
static int64_t now_2020(struct spop_host *h)
{
	return 1577836800ll * 1000000;
}

static void test_timestamp(void)
{
	static const unsigned char ts_pair[] = {0x07, 0x00, 0x08, 0x00,
						0x11, 0x22, 0x33, 0x44,
						0x55, 0x66, 0x77, 0x88};
	unsigned char m[sizeof(spec_challenge) + sizeof(ts_pair)];
	char *t3, *lm, *ts;

	spop_set_user(s, "Domain\\User");
	spop_set_password(s, "Password");
	/* the timestamp pair goes before the final MsvAvEOL */
	memcpy(m, spec_challenge, TI_AT + TI_LEN - 4);
	memcpy(m + TI_AT + TI_LEN - 4, ts_pair, sizeof(ts_pair));
	memcpy(m + TI_AT + TI_LEN - 4 + sizeof(ts_pair),
	       spec_challenge + TI_AT + TI_LEN - 4, 4);
	m[40] = m[42] = TI_LEN + sizeof(ts_pair);
	CU_ASSERT_EQUAL(exchange(m, sizeof(m), &t3), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t3);
	responses(t3, &lm, &ts);
	CU_ASSERT_STRING_EQUAL(lm, "000000000000000000000000000000000000000000"
				   "000000");
	CU_ASSERT_STRING_EQUAL(ts, "1122334455667788");
	g_free(lm);
	g_free(ts);
	g_free(t3);

	host.pub.now = now_2020;
	CU_ASSERT_EQUAL(exchange(spec_challenge, sizeof(spec_challenge), &t3),
			0);
	host.pub.now = fixed_now;
	CU_ASSERT_PTR_NOT_NULL_FATAL(t3);
	responses(t3, &lm, &ts);
	/* 132223104000000000, little-endian */
	CU_ASSERT_STRING_EQUAL(ts, "0000056936c0d501");
	/* the LMv2 response is there, ending with the client challenge */
	CU_ASSERT_STRING_EQUAL(lm + 32, "aaaaaaaaaaaaaaaa");
	g_free(lm);
	g_free(ts);
	g_free(t3);
}

/* Which user and domain go out: "DOMAIN\user" is split, anything else
 * (a UPN too) is the user name with an empty domain. */
static void test_user_forms(void)
{
	char *t3;

	spop_set_password(s, "Password");
	spop_set_user(s, "user@example.org");
	CU_ASSERT_EQUAL(exchange(spec_challenge, sizeof(spec_challenge), &t3),
			0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t3);
	/* domain: 0 bytes at 64; user: 32 bytes at 64 */
	CU_ASSERT_EQUAL(strncmp(t3 + 2 * 28, "0000000040000000", 16), 0);
	CU_ASSERT_EQUAL(strncmp(t3 + 2 * 36, "2000200040000000", 16), 0);
	CU_ASSERT_EQUAL(
	    strncmp(t3 + 2 * 64, "75007300650072004000650078006100", 32), 0);
	g_free(t3);

	/* non-ASCII: "Ä\bob" in UTF-16LE, user upper-cased only inside
	 * NTOWFv2 */
	spop_set_user(s, "\xc3\x84\\bob");
	CU_ASSERT_EQUAL(exchange(spec_challenge, sizeof(spec_challenge), &t3),
			0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t3);
	CU_ASSERT_EQUAL(strncmp(t3 + 2 * 64, "c40062006f006200", 16), 0);
	g_free(t3);

	spop_set_user(s, "DOMAIN\\");
	CU_ASSERT_EQUAL(exchange(spec_challenge, sizeof(spec_challenge), &t3),
			SPOP_ERR_PROTOCOL);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "empty user name", NULL));
	spop_set_user(s, "\xff\xfe");
	CU_ASSERT_EQUAL(exchange(spec_challenge, sizeof(spec_challenge), &t3),
			SPOP_ERR_CODEPAGE);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_CODEPAGE, "User", "UTF-8", NULL));
}

/* A copy of the spec's challenge with bytes at off replaced. */
static unsigned char *mutated(size_t off, const void *bytes, size_t n)
{
	unsigned char *m = g_memdup2(spec_challenge, sizeof(spec_challenge));

	memcpy(m + off, bytes, n);
	return m;
}

static void refused(const unsigned char *m, size_t len, const char *what1,
		    const char *what2)
{
	char *t3;

	CU_ASSERT_EQUAL(exchange(m, len, &t3), SPOP_ERR_PROTOCOL);
	CU_ASSERT_PTR_NULL(t3);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, what1, what2, NULL));
}

static void test_hostile(void)
{
	static const unsigned char past[] = {0x00, 0x01, 0x00, 0x00};
	static const unsigned char wrap[] = {0x20, 0x00, 0x20, 0x00,
					     0xf0, 0xff, 0xff, 0xff};
	static const unsigned char huge_len[] = {0xff, 0xff, 0xff, 0xff};
	static const unsigned char long_pair[] = {0x40, 0x00};
	static const unsigned char short_ti[] = {0x20, 0x00, 0x20, 0x00};
	static const unsigned char odd_ti[] = {0x22, 0x00, 0x22, 0x00};
	static const unsigned char short_ts[] = {0x07, 0x00, 0x04, 0x00};
	static const unsigned char type3[] = {0x03};
	static const unsigned char oem[] = {0x02};
	unsigned char *m;

	spop_set_user(s, "Domain\\User");
	spop_set_password(s, "Password");

	refused(spec_challenge, 47, "truncated", "47 bytes");
	refused(spec_challenge, 8, "truncated", NULL);
	refused(spec_challenge, 0, "empty", NULL);

	m = mutated(0, "NTLMSSQ", 8);
	refused(m, sizeof(spec_challenge), "NTLMSSP signature", NULL);
	g_free(m);
	m = mutated(8, type3, 1);
	refused(m, sizeof(spec_challenge), "type 3", NULL);
	g_free(m);

	/* target name at offset 256 of a 104-byte message */
	m = mutated(16, past, 4);
	refused(m, sizeof(spec_challenge), "target name", "outside");
	g_free(m);
	/* the target name one byte longer than what is left */
	m = mutated(12, (const unsigned char[]){0x31, 0x00}, 2);
	refused(m, sizeof(spec_challenge), "target name", "outside");
	g_free(m);
	/* offset 0xfffffff0 + 32 wraps to 16 in 32-bit arithmetic */
	m = mutated(40, wrap, 8);
	refused(m, sizeof(spec_challenge), "target information", "outside");
	g_free(m);
	m = mutated(44, huge_len, 4);
	refused(m, sizeof(spec_challenge), "target information", "outside");
	g_free(m);

	/* MsvAvNbComputerName claims 64 bytes of 36 */
	m = mutated(TI_AT + 18, long_pair, 2);
	refused(m, sizeof(spec_challenge), "AV pair 1", "runs past");
	g_free(m);
	/* the list cut before its MsvAvEOL */
	m = mutated(40, short_ti, 4);
	refused(m, sizeof(spec_challenge), "without MsvAvEOL", NULL);
	g_free(m);
	/* ... or cut in the middle of a pair header */
	m = mutated(40, odd_ti, 4);
	refused(m, sizeof(spec_challenge) - 2, "without MsvAvEOL", NULL);
	g_free(m);
	/* MsvAvEOL turned into a 4-byte MsvAvTimestamp past the end */
	m = mutated(TI_AT + TI_LEN - 4, short_ts, 4);
	refused(m, sizeof(spec_challenge), "AV pair 7", "runs past");
	g_free(m);
	/* no Unicode */
	m = mutated(20, oem, 1);
	refused(m, sizeof(spec_challenge), "Unicode", NULL);
	g_free(m);
}

/* The AV-pair walk never reads past the message: the message is cut
 * right after each byte of the target information in turn (ASan watches
 * the heap copy). */
static void test_every_cut(void)
{
	spop_set_user(s, "Domain\\User");
	spop_set_password(s, "Password");
	for (size_t len = 0; len < sizeof(spec_challenge); len++) {
		unsigned char *m = g_memdup2(spec_challenge, len);
		char *t3;

		CU_ASSERT_EQUAL(exchange(m, len, &t3), SPOP_ERR_PROTOCOL);
		g_free(t3);
		g_free(m);
	}
}

static void test_refusals(void)
{
	void *state = NULL;
	unsigned char *out = NULL;
	size_t out_len = 0;

	spop_set_user(s, "");
	CU_ASSERT_EQUAL(ops->sasl_start(&host.pub, &state, &out, &out_len),
			SPOP_ERR_PROTOCOL);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_PROTOCOL, "User is empty", NULL));
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_PTR_NULL(state);

	spop_set_user(s, "User");
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "AuthorizationIdentity=other"));
	CU_ASSERT_EQUAL(ops->sasl_start(&host.pub, &state, &out, &out_len),
			SPOP_ERR_NOT_AVAILABLE);
	CU_ASSERT_TRUE(
	    error_is(SPOP_ERR_NOT_AVAILABLE, "AuthorizationIdentity", NULL));
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_PTR_NULL(state);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "AuthorizationIdentity="));

	/* a core whose host table ends before now() */
	uint32_t size = host.pub.size;
	host.pub.size = offsetof(struct spop_host, now);
	CU_ASSERT_EQUAL(ops->sasl_start(&host.pub, &state, &out, &out_len),
			SPOP_ERR_NOT_AVAILABLE);
	CU_ASSERT_TRUE(error_is(SPOP_ERR_NOT_AVAILABLE, "now()", NULL));
	CU_ASSERT_PTR_NULL(state);
	host.pub.size = size;
}

static const struct test_case cases[] = {
    {"MS-NLMP 4.2.4's NTLMv2 example, byte for byte", test_ms_nlmp},
    {"MsvAvTimestamp: server time, LMv2 Z(24); else now()", test_timestamp},
    {"DOMAIN\\user split, UPN kept, UTF-16LE", test_user_forms},
    {"hostile CHALLENGE messages: clean 171s", test_hostile},
    {"every truncation of the challenge refused", test_every_cut},
    {"no user, an authorization identity, no now(): refused", test_refusals},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"ntlm", suite_init, teardown, cases},
    {NULL},
};

int main(void)
{
	return test_run(suites);
}
