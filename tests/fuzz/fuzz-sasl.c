/* The SASL challenge parsers of the auth plugins, each module loaded
 * through the registry and driven through the core's own host as the
 * plugin tests do (tests/plugin/test-*.c): the first input byte picks the
 * mechanism, the rest split at SEP is the server's successive challenges,
 * decoded, as sasl_step receives them. host->random and host->now are
 * fixed, so a run replays. Checked: start, each step and finish return 0
 * or an error code a challenge can cause (171, or 280 for a server proof
 * that does not verify) with a message set; a refused step ends the
 * exchange; sasl_done frees the state (LeakSanitizer). FUZZ_SASL_VERBOSE
 * in the environment prints every call's code, to check what a seed
 * reaches. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spop-private.h"

/* Between two challenges; make-seeds-sasl.py checks no seed's challenge
 * holds it. */
#define SEP	"\x1e\x1f\x1e"
#define SEP_LEN 3
/* At most this many steps: no mechanism here takes more than three. */
#define STEPS_MAX 6
/* A SCRAM iteration count above this is a slow input, not a parser case
 * (scram.c allows up to 10^7: seconds of PBKDF2 per run). */
#define ITER_DIGITS_FUZZ 4

static const char *const mechs[] = {
    "cram-md5",	   "login",	    "digest-md5", "ntlm",
    "scram-sha-1", "scram-sha-256", "xoauth2",	  "oauthbearer",
};

static spop_t *s;
static struct spi_host host;
static const struct spop_plugin_descriptor *desc[G_N_ELEMENTS(mechs)];

static int fixed_random(struct spop_host *h, void *buf, size_t len)
{
	(void)h;
	memset(buf, 0xaa, len);
	return 0;
}

/* 2020-01-01T00:00:00Z: NTLMv2's timestamp when the server sends none. */
static int64_t fixed_now(struct spop_host *h)
{
	(void)h;
	return 1577836800ll * 1000000;
}

static void init(void)
{
	fuzz_use_plugins(PLUGIN_DIR);
	s = spop_new();
	for (size_t i = 0; i < G_N_ELEMENTS(mechs); i++)
		if (spi_plugin_by_name(s, SPOP_PLUGIN_AUTH, mechs[i],
				       &desc[i]) ||
		    !desc[i]) {
			fprintf(stderr, "fuzz-sasl: no %s plugin in %s: %s\n",
				mechs[i], PLUGIN_DIR, spop_last_error(s));
			abort();
		}
	spop_set_user(s, "chris");
	spop_set_password(s, "secret");
	spop_set_mail_server(s, "elwood.innosoft.com");
	if (!spop_config(s, "AuthorizationIdentity=") ||
	    !spop_config(s, "DigestMD5Service=pop"))
		abort();
	spi_host_init(&host, s, NULL);
	host.pub.random = fixed_random;
	host.pub.now = fixed_now;
}

/* rc is 0, or a challenge's error with its message set. */
static void check(const char *mech, const char *what, int rc)
{
	const char *e;

	if (!rc) {
		if (g_getenv("FUZZ_SASL_VERBOSE"))
			fprintf(stderr, "fuzz-sasl: %s %s: 0\n", mech, what);
		return;
	}
	e = spop_last_error(s);
	if (g_getenv("FUZZ_SASL_VERBOSE"))
		fprintf(stderr, "fuzz-sasl: %s %s: %d %s\n", mech, what, rc,
			e ? e : "");
	if (rc != SPOP_ERR_PROTOCOL && rc != SPOP_ERR_CERT_VERIFY) {
		fprintf(stderr, "fuzz-sasl: %s %s returned %d: %s\n", mech,
			what, rc, e ? e : "(no message)");
		abort();
	}
	if (spop_last_error_code(s) != rc || !e || !*e) {
		fprintf(stderr,
			"fuzz-sasl: %s %s returned %d, error set is %d "
			"\"%s\"\n",
			mech, what, rc, spop_last_error_code(s), e ? e : "");
		abort();
	}
}

/* A SCRAM server-first with an iteration count of more digits than
 * ITER_DIGITS_FUZZ. */
static bool slow_scram(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		size_t d = 0;

		if (p[i] != 'i' || p[i + 1] != '=')
			continue;
		while (i + 2 + d < n && p[i + 2 + d] >= '0' &&
		       p[i + 2 + d] <= '9')
			d++;
		if (d > ITER_DIGITS_FUZZ)
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct spop_auth_ops *ops;
	const char *mech;
	void *state = NULL;
	unsigned char *out = NULL;
	size_t out_len = 0;
	const uint8_t *p, *end;
	int rc, steps = 0;

	if (!s)
		init();
	if (!size)
		return 0;
	mech = mechs[data[0] % G_N_ELEMENTS(mechs)];
	ops = desc[data[0] % G_N_ELEMENTS(mechs)]->ops;
	p = data + 1;
	end = data + size;
	if (!strncmp(mech, "scram", 5) && slow_scram(p, (size_t)(end - p)))
		return -1;

	spi_clear_error(s);
	rc = ops->sasl_start(&host.pub, &state, &out, &out_len);
	check(mech, "start", rc);
	host.pub.free(&host.pub, out);
	out = NULL;
	if (rc) {
		/* as the driver does: state set is state to free */
		if (state)
			ops->sasl_done(&host.pub, state);
		return 0;
	}
	for (;;) {
		const uint8_t *sep = memmem(p, (size_t)(end - p), SEP, SEP_LEN);
		size_t len = (size_t)((sep ? sep : end) - p);
		/* a copy of its own size: an over-read is ASan's to see
		 * (an empty one is a valid pointer to no bytes) */
		unsigned char *challenge = g_malloc(len ? len : 1);

		memcpy(challenge, p, len);

		if (++steps > STEPS_MAX) {
			g_free(challenge);
			break;
		}
		spi_clear_error(s);
		rc = ops->sasl_step(&host.pub, state, challenge, len, &out,
				    &out_len);
		g_free(challenge);
		check(mech, "step", rc);
		if (rc) {
			if (out) {
				fprintf(stderr,
					"fuzz-sasl: %s step failed with a "
					"response\n",
					mech);
				abort();
			}
		} else if (!out) {
			fprintf(stderr, "fuzz-sasl: %s step gave no response\n",
				mech);
			abort();
		}
		host.pub.free(&host.pub, out);
		out = NULL;
		if (rc || !sep)
			break;
		p = sep + SEP_LEN;
	}
	if (!rc && ops->sasl_finish) {
		spi_clear_error(s);
		check(mech, "finish", ops->sasl_finish(&host.pub, state));
	}
	if (ops->sasl_refusal) {
		const char *why = ops->sasl_refusal(&host.pub, state);

		if (why)
			(void)strlen(why);
	}
	ops->sasl_done(&host.pub, state);
	return 0;
}
