/* Decrypt, VerifySignature and DecryptAndVerifySignature through the public
 * API, on whole mail made at test time by `openssl smime`
 * (make-smime-mail.sh): read from files with spop_set_message() and
 * fetched from a private Dovecot with Retrieve. One source, run once per
 * S/MIME engine (SPOP_TEST_SMIME_ENGINE=cms|openssl; a missing engine
 * fails the run). */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#ifndef MAIL_SCRIPT
#error "MAIL_SCRIPT must name make-smime-mail.sh"
#endif

#define SMIME_USER     "smime"
#define SMIME_PASSWORD "smime-secret"
#define PEM_FILE       6

static const char *engine;
static char *dir;

static char *path(const char *name)
{
	return g_build_filename(dir, name, NULL);
}

static char *slurp(const char *name, size_t *len)
{
	char *p = path(name), *data = NULL;
	gsize n = 0;

	if (!g_file_get_contents(p, &data, &n, NULL))
		fprintf(stderr, "\ncannot read %s\n", p);
	g_free(p);
	*len = n;
	return data;
}

/* A client for engine with ca.crt as the only extra trust anchor. */
static spop_t *client(void)
{
	spop_t *s = spop_new();
	char *set = g_strdup_printf("SMIMEEngine=%s", engine);
	char *ca = path("ca.crt");
	char *ca_set = g_strdup_printf("SMIMETrustedCerts=%s", ca);

	CU_ASSERT_PTR_NOT_NULL(spop_config(s, set));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, ca_set));
	g_free(set);
	g_free(ca);
	g_free(ca_set);
	return s;
}

static void use_cert(spop_t *s, const char *pem)
{
	char *p = path(pem);

	ASSERT_OK(spop_set_cert_store_type(s, PEM_FILE));
	ASSERT_OK(spop_set_cert_store(s, p, strlen(p)));
	ASSERT_OK(spop_set_cert_subject(s, "*"));
	g_free(p);
}

static spop_t *load(const char *name)
{
	spop_t *s = client();
	size_t len;
	char *data = slurp(name, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	ASSERT_OK(spop_set_message(s, data, len));
	g_free(data);
	return s;
}

static struct spop_smime_status status(spop_t *s)
{
	struct spop_smime_status st = {.size = sizeof st};

	CU_ASSERT_EQUAL(spop_get_smime_status(s, &st), 0);
	return st;
}

static struct spop_smime_signer_info signer(spop_t *s, int i)
{
	struct spop_smime_signer_info g = {.size = sizeof g};

	CU_ASSERT_EQUAL(spop_get_smime_signer(s, i, &g), 0);
	return g;
}

/* The protected entity came out: its body, with CRLF line ends. */
static void body_is_the_secret(spop_t *s)
{
	const char *text;
	size_t len;

	ASSERT_OK(spop_get_message_text(s, &text, &len));
	CU_ASSERT_EQUAL(len, strlen("Hello Bob,\r\nthis is the secret.\r\n"));
	CU_ASSERT_TRUE(
	    len && !memcmp(text, "Hello Bob,\r\nthis is the secret.\r\n", len));
	if (len && !strstr(text, "this is the secret"))
		fprintf(stderr, "\n  MessageText: [%.*s]\n", (int)len, text);
	CU_ASSERT_EQUAL(spop_get_message_signed(s), 0);
	CU_ASSERT_EQUAL(spop_get_message_encrypted(s), 0);
}

/* The unwrapped message keeps the outer headers and the entity's type. */
static void headers_kept(spop_t *s, const char *subject)
{
	CU_ASSERT_STRING_EQUAL(spop_get_message_subject(s), subject);
	CU_ASSERT_STRING_EQUAL(spop_get_message_from(s), "alice@example.org");
	CU_ASSERT_STRING_EQUAL(spop_get_message_to(s), "bob@example.org");
	const char *ct = spop_config(s, "MessageHeadersString");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ct);
	CU_ASSERT_PTR_NOT_NULL(strstr(ct, "text/plain"));
	CU_ASSERT_PTR_NULL(strstr(ct, "pkcs7"));
	CU_ASSERT_PTR_NULL(strstr(ct, "multipart/signed"));
}

static void verify_ok(spop_t *s, const char *subject)
{
	int rc = spop_verify_signature(s);

	if (rc)
		fprintf(stderr, "\n  verify: %d %s\n", rc, spop_last_error(s));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	struct spop_smime_status st = status(s);
	CU_ASSERT_STRING_EQUAL(st.engine, engine);
	CU_ASSERT_STRING_EQUAL(st.layers, "signed");
	CU_ASSERT_EQUAL(st.verified, 1);
	CU_ASSERT_EQUAL(st.trusted, 1);
	CU_ASSERT_EQUAL(st.from_matches, 1);
	CU_ASSERT_EQUAL(st.weak, 0);
	CU_ASSERT_EQUAL(st.decrypted, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st.signed_part);
	CU_ASSERT_STRING_EQUAL(st.signed_part, "");
	CU_ASSERT_PTR_NULL(st.encrypted_part);
	CU_ASSERT_EQUAL(st.signer_count, 1);
	struct spop_smime_signer_info g = signer(s, 0);
	CU_ASSERT_EQUAL(g.signature_ok, 1);
	CU_ASSERT_EQUAL(g.trusted, 1);
	CU_ASSERT_EQUAL(g.trust_failures, 0);
	CU_ASSERT_EQUAL(g.from_matches, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(g.subject, "CN=alice"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g.issuer, "S-MIME test CA"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g.emails, "alice@example.org"));
	CU_ASSERT_STRING_EQUAL(g.digest_algorithm, "SHA-256");
	CU_ASSERT_STRING_EQUAL(g.signature_algorithm, "RSA");
	CU_ASSERT_TRUE(g.signing_time > 1700000000);
	CU_ASSERT_TRUE(g_str_has_prefix(g.encoded, "-----BEGIN CERTIFICATE"));
	/* the reference: SignerCert* describe the signer afterwards */
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(spop_get_signer_cert_subject(s), "CN=alice"));
	CU_ASSERT_STRING_EQUAL(spop_get_signer_cert_serial_number(s), "65");
	CU_ASSERT_TRUE(spop_get_signer_cert_chain_count(s) >= 1);
	CU_ASSERT_STRING_EQUAL(spop_get_signing_algorithm(s),
			       "2.16.840.1.101.3.4.2.1");
	body_is_the_secret(s);
	headers_kept(s, subject);
}

/* ---- verification ---- */

static void test_detached(void)
{
	spop_t *s = load("m01-signed.eml");

	CU_ASSERT_EQUAL(spop_check_message_signed(s), 1);
	CU_ASSERT_EQUAL(spop_check_message_encrypted(s), 0);
	verify_ok(s, "signed");
	spop_free(s);
}

static void test_opaque(void)
{
	spop_t *s = load("m02-opaque.eml");

	CU_ASSERT_EQUAL(spop_check_message_signed(s), 1);
	verify_ok(s, "opaque");
	spop_free(s);
}

/* Without our CA the signature still holds, but the signer is not
 * trusted: 0 from VerifySignature (the reference), trusted false. */
static void test_untrusted(void)
{
	spop_t *s = load("m01-signed.eml");

	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "SMIMETrustedCerts="));
	ASSERT_OK(spop_verify_signature(s));
	struct spop_smime_status st = status(s);
	CU_ASSERT_EQUAL(st.verified, 1);
	CU_ASSERT_EQUAL(st.trusted, 0);
	struct spop_smime_signer_info g = signer(s, 0);
	CU_ASSERT_EQUAL(g.signature_ok, 1);
	CU_ASSERT_EQUAL(g.trusted, 0);
	CU_ASSERT_TRUE(g.trust_failures & SPOP_SMIME_TRUST_UNKNOWN_CA);
	spop_free(s);
}

static void test_tampered(void)
{
	spop_t *s = load("m06-tampered.eml");
	const char *before, *after;
	size_t before_len, after_len;

	spop_get_message(s, &before, &before_len);
	char *copy = g_strndup(before, before_len);
	CU_ASSERT_EQUAL(spop_verify_signature(s), 280);
	ERROR_HAS(s, "signer 1 of 1");
	ERROR_HAS(s, "CN=alice");
	struct spop_smime_status st = status(s);
	CU_ASSERT_EQUAL(st.verified, 0);
	CU_ASSERT_EQUAL(st.signer_count, 1);
	CU_ASSERT_EQUAL(signer(s, 0).signature_ok, 0);
	/* nothing replaced: Message is the signed message as it came */
	spop_get_message(s, &after, &after_len);
	CU_ASSERT_EQUAL(after_len, before_len);
	CU_ASSERT_TRUE(!memcmp(copy, after, after_len));
	CU_ASSERT_EQUAL(spop_get_message_signed(s), 1);
	g_free(copy);
	spop_free(s);
}

static void test_from_mismatch(void)
{
	spop_t *s = load("m07-from-mallory.eml");

	ASSERT_OK(spop_verify_signature(s));
	struct spop_smime_status st = status(s);
	CU_ASSERT_EQUAL(st.verified, 1);
	CU_ASSERT_EQUAL(st.trusted, 1);
	CU_ASSERT_EQUAL(st.from_matches, 0);
	CU_ASSERT_EQUAL(signer(s, 0).from_matches, 0);
	CU_ASSERT_STRING_EQUAL(spop_get_message_from(s), "mallory@example.org");
	spop_free(s);
}

/* A signed part inside an unsigned multipart: the signature holds, but
 * only over part 2, and the unsigned part stays in the message. */
static void test_wrapped(void)
{
	spop_t *s = load("m08-wrapped.eml");

	ASSERT_OK(spop_verify_signature(s));
	struct spop_smime_status st = status(s);
	CU_ASSERT_EQUAL(st.verified, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st.signed_part);
	CU_ASSERT_STRING_EQUAL(st.signed_part, "2");
	const char *text;
	size_t len;
	ASSERT_OK(spop_get_message_text(s, &text, &len));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "Pay mallory"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "this is the secret"));
	CU_ASSERT_PTR_NULL(strstr(text, "pkcs7-signature"));
	spop_free(s);
}

static void test_expired(void)
{
	spop_t *s = load("m09-expired.eml");

	ASSERT_OK(spop_verify_signature(s));
	struct spop_smime_status st = status(s);
	CU_ASSERT_EQUAL(st.verified, 1);
	CU_ASSERT_EQUAL(st.trusted, 0);
	CU_ASSERT_TRUE(signer(s, 0).trust_failures & SPOP_SMIME_TRUST_TIME);
	spop_free(s);
}

static void test_revoked(void)
{
	spop_t *s = load("m01-signed.eml");
	char *crl = path("crl-alice.pem");
	char *set = g_strdup_printf("SMIMECRLFile=%s", crl);

	CU_ASSERT_PTR_NOT_NULL(spop_config(s, set));
	ASSERT_OK(spop_verify_signature(s));
	CU_ASSERT_EQUAL(status(s).trusted, 0);
	CU_ASSERT_TRUE(signer(s, 0).trust_failures &
		       SPOP_SMIME_TRUST_REVOCATION);
	g_free(crl);
	g_free(set);
	spop_free(s);
}

/* Two signers, one of them expired: both signatures hold, but "one
 * trusted" is not "trusted". */
static void test_two_signers(void)
{
	spop_t *s = load("m16-two-signers.eml");

	ASSERT_OK(spop_verify_signature(s));
	struct spop_smime_status st = status(s);
	CU_ASSERT_EQUAL(st.signer_count, 2);
	CU_ASSERT_EQUAL(st.verified, 1);
	CU_ASSERT_EQUAL(st.trusted, 0);
	int trusted = 0, expired = 0;
	for (int i = 0; i < 2; i++) {
		struct spop_smime_signer_info g = signer(s, i);
		CU_ASSERT_EQUAL(g.signature_ok, 1);
		trusted += g.trusted;
		expired += (g.trust_failures & SPOP_SMIME_TRUST_TIME) != 0;
	}
	CU_ASSERT_EQUAL(trusted, 1);
	CU_ASSERT_EQUAL(expired, 1);
	spop_free(s);
}

/* A multipart/signed with a third part: refused, not half-checked. */
static void test_three_parts(void)
{
	size_t len;
	char *data = slurp("m01-signed.eml", &len);
	const char *b = strstr(data, "boundary=\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	char *boundary = g_strndup(b + 10, strcspn(b + 10, "\""));
	char *close = g_strdup_printf("--%s--", boundary);
	char *at = strstr(data, close);
	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	*at = '\0';
	/* before the closing delimiter: a third body part */
	char *msg = g_strdup_printf("%s--%s\nContent-Type: text/plain\n\n"
				    "Added later.\n%s\n",
				    data, boundary, close);
	spop_t *s = client();

	ASSERT_OK(spop_set_message(s, msg, strlen(msg)));
	CU_ASSERT_EQUAL(spop_verify_signature(s), 280);
	ERROR_HAS(s, "3 parts");
	CU_ASSERT_EQUAL(status(s).verified, 0);
	spop_free(s);
	g_free(msg);
	g_free(close);
	g_free(boundary);
	g_free(data);
}

/* No certificate in the message: 272 until SignerCert* has it. */
static void test_no_certs(void)
{
	spop_t *s = load("m12-nocerts.eml");
	size_t len;
	char *alice = slurp("alice.crt", &len);

	CU_ASSERT_EQUAL(spop_verify_signature(s), 272);
	ERROR_HAS(s, "SignerCert");
	ASSERT_OK(spop_set_signer_cert_encoded(s, alice, len));
	ASSERT_OK(spop_verify_signature(s));
	CU_ASSERT_EQUAL(status(s).verified, 1);
	CU_ASSERT_EQUAL(spop_get_signer_cert_chain_count(s), 0);
	body_is_the_secret(s);
	g_free(alice);
	spop_free(s);
}

static void test_weak_digest(void)
{
	spop_t *s = load("m13-sha1.eml");

	CU_ASSERT_EQUAL(spop_verify_signature(s), 280);
	ERROR_HAS(s, "SHA-1");
	CU_ASSERT_EQUAL(status(s).weak, 1);
	CU_ASSERT_EQUAL(status(s).verified, 0);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "SMIMEAllowWeakDigests=True"));
	ASSERT_OK(spop_verify_signature(s));
	CU_ASSERT_EQUAL(status(s).weak, 1);
	CU_ASSERT_EQUAL(status(s).verified, 1);
	CU_ASSERT_STRING_EQUAL(spop_get_signing_algorithm(s), "1.3.14.3.2.26");
	spop_free(s);
}

static void test_not_signed(void)
{
	spop_t *s = load("m03-encrypted.eml");

	CU_ASSERT_EQUAL(spop_verify_signature(s), 280);
	ERROR_HAS(s, "not S/MIME signed");
	spop_free(s);
}

/* Corrupted CMS is an error naming what failed, never a crash. */
static void test_corrupt(void)
{
	spop_t *s = load("m15-corrupt-sig.eml");

	CU_ASSERT_EQUAL(spop_verify_signature(s), 280);
	ERROR_HAS(s, "not readable CMS");
	CU_ASSERT_EQUAL(status(s).verified, 0);
	CU_ASSERT_EQUAL(spop_get_message_signed(s), 1);
	spop_free(s);

	s = load("m14-corrupt-enc.eml");
	use_cert(s, "bob.pem");
	CU_ASSERT_EQUAL(spop_decrypt(s), 284);
	CU_ASSERT_EQUAL(spop_decrypt_and_verify_signature(s), 284);
	CU_ASSERT_EQUAL(spop_get_message_encrypted(s), 1);
	spop_free(s);
}

/* Signed content GMime builds no entity from (a header line, then a
 * fragment with no line end) is kept as an application/octet-stream part
 * holding exactly the signed bytes; it was once handed to GMime as NULL,
 * leaving the message as it was (fuzz-smime-mime, corpus/smime-mime/
 * crash-cut-short-content-not-an-entity). */
static void test_cut_short(void)
{
	spop_t *s = load("cut-short.msg");
	size_t want_len, len, n = 0;
	char *want = slurp("cut-short.txt", &want_len);
	const char *text;

	ASSERT_OK(spop_verify_signature(s));
	CU_ASSERT_EQUAL(status(s).verified, 1);
	CU_ASSERT_STRING_EQUAL(status(s).layers, "signed");
	const char *headers = spop_config(s, "MessageHeadersString");
	CU_ASSERT_PTR_NOT_NULL_FATAL(headers);
	CU_ASSERT_PTR_NOT_NULL(strstr(headers, "application/octet-stream"));
	CU_ASSERT_PTR_NULL(strstr(headers, "pkcs7"));
	ASSERT_OK(spop_get_message_text(s, &text, &len));
	/* the part's body: base64 lines */
	char *b64 = g_malloc(len + 1), *o = b64;
	for (size_t i = 0; i < len; i++)
		if (text[i] != '\r' && text[i] != '\n')
			*o++ = text[i];
	*o = '\0';
	guchar *got = g_base64_decode(b64, &n);
	CU_ASSERT_EQUAL(n, want_len);
	CU_ASSERT_TRUE(n == want_len && !memcmp(got, want, n));
	g_free(got);
	g_free(b64);
	g_free(want);
	spop_free(s);
}

/* ---- decryption ---- */

static void test_decrypt(void)
{
	spop_t *s = load("m03-encrypted.eml");

	CU_ASSERT_EQUAL(spop_check_message_encrypted(s), 1);
	use_cert(s, "bob.pem");
	int rc = spop_decrypt(s);
	if (rc)
		fprintf(stderr, "\n  decrypt: %d %s\n", rc, spop_last_error(s));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	struct spop_smime_status st = status(s);
	CU_ASSERT_EQUAL(st.decrypted, 1);
	CU_ASSERT_STRING_EQUAL(st.layers, "enveloped");
	CU_ASSERT_STRING_EQUAL(st.algorithm, "AES-256-CBC");
	CU_ASSERT_STRING_EQUAL(st.key_algorithm, "RSA");
	CU_ASSERT_PTR_NOT_NULL_FATAL(st.encrypted_part);
	CU_ASSERT_STRING_EQUAL(st.encrypted_part, "");
	CU_ASSERT_EQUAL(st.verified, 0);
	CU_ASSERT_EQUAL(st.signer_count, 0);
	body_is_the_secret(s);
	headers_kept(s, "encrypted");
	spop_free(s);
}

static void test_decrypt_errors(void)
{
	spop_t *s = load("m03-encrypted.eml");

	CU_ASSERT_EQUAL(spop_decrypt(s), 272);
	ERROR_HAS(s, "CertStore");
	use_cert(s, "carol.pem");
	CU_ASSERT_EQUAL(spop_decrypt(s), 284);
	CU_ASSERT_EQUAL(status(s).decrypted, 0);
	CU_ASSERT_EQUAL(spop_get_message_encrypted(s), 1);
	spop_free(s);

	s = load("m01-signed.eml");
	use_cert(s, "bob.pem");
	CU_ASSERT_EQUAL(spop_decrypt(s), 284);
	ERROR_HAS(s, "not S/MIME encrypted");
	spop_free(s);

	s = client();
	CU_ASSERT_EQUAL(spop_decrypt(s), 211);
	spop_free(s);
}

static void test_two_recipients(void)
{
	spop_t *s = load("m11-two-rcpt.eml");

	use_cert(s, "bob.pem");
	ASSERT_OK(spop_decrypt(s));
	body_is_the_secret(s);
	spop_free(s);
}

/* ---- both layers ---- */

static void test_sign_then_encrypt(void)
{
	spop_t *s = load("m04-sign-encrypt.eml");

	use_cert(s, "bob.pem");
	/* Decrypt alone: the signed entity appears (and is signed now) */
	ASSERT_OK(spop_decrypt(s));
	CU_ASSERT_EQUAL(spop_get_message_signed(s), 1);
	CU_ASSERT_EQUAL(spop_check_message_signed(s), 1);
	spop_free(s);

	s = load("m04-sign-encrypt.eml");
	use_cert(s, "bob.pem");
	int rc = spop_decrypt_and_verify_signature(s);
	if (rc)
		fprintf(stderr, "\n  both: %d %s\n", rc, spop_last_error(s));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	struct spop_smime_status st = status(s);
	CU_ASSERT_STRING_EQUAL(st.layers, "enveloped,signed");
	CU_ASSERT_EQUAL(st.decrypted, 1);
	CU_ASSERT_EQUAL(st.verified, 1);
	CU_ASSERT_EQUAL(st.trusted, 1);
	CU_ASSERT_EQUAL(st.from_matches, 1);
	CU_ASSERT_EQUAL(signer(s, 0).layer, 1);
	body_is_the_secret(s);
	headers_kept(s, "sign then encrypt");
	spop_free(s);
}

static void test_encrypt_then_sign(void)
{
	spop_t *s = load("m05-encrypt-sign.eml");

	use_cert(s, "bob.pem");
	ASSERT_OK(spop_decrypt_and_verify_signature(s));
	struct spop_smime_status st = status(s);
	CU_ASSERT_STRING_EQUAL(st.layers, "signed,enveloped");
	CU_ASSERT_EQUAL(st.decrypted, 1);
	CU_ASSERT_EQUAL(st.verified, 1);
	CU_ASSERT_EQUAL(signer(s, 0).layer, 0);
	body_is_the_secret(s);
	headers_kept(s, "encrypt then sign");
	spop_free(s);
}

/* ---- from the server ---- */

/* Every message of the smime mailbox, retrieved and unwrapped: what the
 * files gave, the server gives. */
static void test_retrieve(void)
{
	static const struct {
		const char *name;
		int rc;
	} want[] = {
	    {"m01-signed", 0},	      {"m02-opaque", 0},
	    {"m03-encrypted", 0},     {"m04-sign-encrypt", 0},
	    {"m05-encrypt-sign", 0},  {"m06-tampered", 280},
	    {"m07-from-mallory", 0},  {"m08-wrapped", 0},
	    {"m09-expired", 0},	      {"m10-to-carol", 284},
	    {"m11-two-rcpt", 0},      {"m12-nocerts", 272},
	    {"m13-sha1", 280},	      {"m14-corrupt-enc", 284},
	    {"m15-corrupt-sig", 280}, {"m16-two-signers", 0},
	};
	spop_t *s = client_new(SMIME_USER, SMIME_PASSWORD, NULL);
	char *set = g_strdup_printf("SMIMEEngine=%s", engine);
	char *ca = path("ca.crt");
	char *ca_set = g_strdup_printf("SMIMETrustedCerts=%s", ca);

	CU_ASSERT_PTR_NOT_NULL(spop_config(s, set));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, ca_set));
	use_cert(s, "bob.pem");
	ASSERT_OK(spop_connect(s));
	CU_ASSERT_EQUAL(spop_get_message_count(s), (int)G_N_ELEMENTS(want));
	for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
		ASSERT_OK(spop_set_message_number(s, (int)i + 1));
		ASSERT_OK(spop_retrieve(s));
		int rc = spop_decrypt_and_verify_signature(s);
		if (rc != want[i].rc)
			fprintf(stderr, "\n  %s: %d %s\n", want[i].name, rc,
				spop_last_error(s));
		CU_ASSERT_EQUAL(rc, want[i].rc);
		if (rc)
			continue;
		const char *text;
		size_t len;
		ASSERT_OK(spop_get_message_text(s, &text, &len));
		CU_ASSERT_PTR_NOT_NULL(
		    g_strstr_len(text, (gssize)len, "this is the secret"));
	}
	spop_disconnect(s);
	g_free(set);
	g_free(ca);
	g_free(ca_set);
	spop_free(s);
}

static const struct test_case local_cases[] = {
    {"detached signature: verified, trusted, From matches", test_detached},
    {"opaque signed-data", test_opaque},
    {"untrusted signer: signature holds, not trusted", test_untrusted},
    {"tampered text: 280, nothing replaced", test_tampered},
    {"From another address than the signer's", test_from_mismatch},
    {"signed part inside an unsigned multipart: part 2", test_wrapped},
    {"expired signer: not trusted (time)", test_expired},
    {"signer revoked by SMIMECRLFile", test_revoked},
    {"two signers, one expired: verified, not trusted", test_two_signers},
    {"multipart/signed with three parts", test_three_parts},
    {"no certificate in the message: SignerCert*", test_no_certs},
    {"SHA-1 refused unless SMIMEAllowWeakDigests", test_weak_digest},
    {"VerifySignature on an unsigned message", test_not_signed},
    {"corrupted CMS: 280 and 284", test_corrupt},
    {"content that is no MIME entity: kept as octet-stream", test_cut_short},
    {"Decrypt with Cert*", test_decrypt},
    {"Decrypt errors: no Cert*, wrong key, not encrypted", test_decrypt_errors},
    {"two recipients", test_two_recipients},
    {"sign then encrypt, both layers", test_sign_then_encrypt},
    {"encrypt then sign, both layers", test_encrypt_then_sign},
    {NULL, NULL},
};

static const struct test_case server_cases[] = {
    {"Retrieve from Dovecot, then DecryptAndVerifySignature", test_retrieve},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"smime-local", NULL, NULL, local_cases},
    {"smime-retrieve", NULL, NULL, server_cases},
    {NULL},
};

int main(int argc, char **argv)
{
	GError *err = NULL;
	int status;

	engine = argc > 1 ? argv[1] : g_getenv("SPOP_TEST_SMIME_ENGINE");
	if (!engine || !*engine)
		engine = "cms";
	dir = g_dir_make_tmp("spop-smime-XXXXXX", &err);
	if (!dir) {
		fprintf(stderr, "no temporary directory: %s\n", err->message);
		return 1;
	}
	char *argv_script[] = {MAIL_SCRIPT, dir, NULL};
	if (!g_spawn_sync(NULL, argv_script, NULL, G_SPAWN_DEFAULT, NULL, NULL,
			  NULL, NULL, &status, &err) ||
	    !g_spawn_check_wait_status(status, NULL)) {
		fprintf(stderr, "%s failed%s%s\n", MAIL_SCRIPT, err ? ": " : "",
			err ? err->message : "");
		return 1;
	}
	g_setenv("HARNESS_EXTRA_USERS", SMIME_USER ":" SMIME_PASSWORD ":files",
		 TRUE);
	g_setenv("HARNESS_MAIL_FILES_DIR", dir, TRUE);
	/* smime-cms and smime-openssl may run at once: each its own
	 * Dovecot directory. */
	char *name = g_strdup_printf("smime-%s", engine);
	int rc = integration_main(name, suites);

	g_free(name);
	char *rm[] = {"rm", "-rf", dir, NULL};
	g_spawn_sync(NULL, rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
		     NULL, NULL, NULL);
	g_free(dir);
	return rc;
}
