/* The core's half of TLS without a provider: the decision on a server
 * certificate (SSLSecurityFlags, the pin, SSLServerAuthentication), the
 * reference's subject text, certificate properties, the SSL settings, the
 * session cache and the key-log file. Certificates are made here by
 * GnuTLS, as a provider would receive them. */
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>
#include <unistd.h>

#include "test-runner.h"
#include "tls/tls.h"

struct cert {
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;
	gnutls_datum_t der;
};

static struct cert ca, leaf, other;

static void make(struct cert *c, const char *dn, struct cert *issuer)
{
	time_t now = time(NULL);
	unsigned char serial[4] = {1, 2, 3, (unsigned char)(dn[3])};

	gnutls_x509_privkey_init(&c->key);
	gnutls_x509_privkey_generate(
	    c->key, GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	gnutls_x509_crt_init(&c->crt);
	gnutls_x509_crt_set_version(c->crt, 3);
	gnutls_x509_crt_set_serial(c->crt, serial, sizeof serial);
	gnutls_x509_crt_set_activation_time(c->crt, now - 3600);
	gnutls_x509_crt_set_expiration_time(c->crt, now + 3600);
	gnutls_x509_crt_set_dn(c->crt, dn, NULL);
	gnutls_x509_crt_set_key(c->crt, c->key);
	gnutls_x509_crt_set_basic_constraints(c->crt, issuer == NULL, -1);
	if (issuer)
		gnutls_x509_crt_sign2(c->crt, issuer->crt, issuer->key,
				      GNUTLS_DIG_SHA256, 0);
	else
		gnutls_x509_crt_sign2(c->crt, c->crt, c->key, GNUTLS_DIG_SHA256,
				      0);
	/* runs in the suite's init, outside any test: no CU_ASSERT here */
	g_assert(
	    gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_DER, &c->der) >= 0);
}

static void drop(struct cert *c)
{
	gnutls_free(c->der.data);
	gnutls_x509_crt_deinit(c->crt);
	gnutls_x509_privkey_deinit(c->key);
}

static int init(void)
{
	make(&ca, "CN=Test CA,O=libspop tests", NULL);
	make(&leaf, "CN=pop.example.org,O=Example\\, Inc.,C=DE", &ca);
	make(&other, "CN=other.example.org", &ca);
	return 0;
}

static int cleanup(void)
{
	drop(&ca);
	drop(&leaf);
	drop(&other);
	return 0;
}

/* ---- what the application sees ---- */

struct seen {
	int calls;
	int accept_in;
	int accept_out; /* what the handler answers; -1 leaves it */
	char *subject, *issuer, *status, *pem;
};

static void on_auth(spop_t *s, struct spop_ssl_server_authentication_event *e,
		    void *ud)
{
	struct seen *v = ud;

	v->calls++;
	v->accept_in = e->accept;
	g_free(v->subject);
	g_free(v->issuer);
	g_free(v->status);
	g_free(v->pem);
	v->subject = g_strdup(e->cert_subject);
	v->issuer = g_strdup(e->cert_issuer);
	v->status = g_strdup(e->status);
	v->pem = g_strndup(e->cert_encoded, e->cert_encoded_len);
	if (v->accept_out >= 0)
		e->accept = v->accept_out;
}

static void seen_clear(struct seen *v)
{
	g_free(v->subject);
	g_free(v->issuer);
	g_free(v->status);
	g_free(v->pem);
	memset(v, 0, sizeof *v);
	v->accept_out = -1;
}

static struct spop_cert_report report(const struct cert *c, uint32_t failures,
				      const char *status)
{
	return (struct spop_cert_report){
	    .size = sizeof(struct spop_cert_report),
	    .der = c->der.data,
	    .der_len = c->der.size,
	    .status = status,
	    .verified = failures == 0,
	    .failures = failures,
	};
}

static spop_t *client(struct seen *v)
{
	spop_t *s = spop_new();

	spop_set_mail_server(s, "pop.example.org");
	spop_set_mail_port(s, 995);
	seen_clear(v);
	spop_on_ssl_server_authentication(s, on_auth, v);
	return s;
}

static void test_subject_text(void)
{
	char *subject = spi_cert_subject(leaf.der.data, leaf.der.size);
	char *issuer = spi_cert_issuer(leaf.der.data, leaf.der.size);

	/* the reference's form: ", " between fields, commas escaped */
	CU_ASSERT_STRING_EQUAL(subject,
			       "CN=pop.example.org, O=Example\\, Inc., C=DE");
	CU_ASSERT_STRING_EQUAL(issuer, "CN=Test CA, O=libspop tests");
	g_free(subject);
	g_free(issuer);
	char *none = spi_cert_subject((const unsigned char *)"junk", 4);
	CU_ASSERT_STRING_EQUAL(none, "");
	g_free(none);
}

static void test_verified_goes_on(void)
{
	struct seen v = {0};
	spop_t *s = client(&v);
	struct spop_cert_report r = report(&leaf, 0, "OK");

	CU_ASSERT_EQUAL(spi_tls_server_certificate(s, &r), 1);
	CU_ASSERT_EQUAL(v.calls, 1);
	CU_ASSERT_EQUAL(v.accept_in, 1);
	CU_ASSERT_STRING_EQUAL(v.status, "OK");
	CU_ASSERT_STRING_EQUAL(v.issuer, "CN=Test CA, O=libspop tests");
	CU_ASSERT_PTR_NOT_NULL(strstr(v.pem, "-----BEGIN CERTIFICATE-----"));
	/* SSLServerCertEncoded is that certificate */
	const char *pem;
	size_t len;
	spop_get_ssl_server_cert_encoded(s, &pem, &len);
	GBytes *der = spi_cert_decode(pem, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	CU_ASSERT_EQUAL(g_bytes_get_size(der), leaf.der.size);
	CU_ASSERT_EQUAL(
	    memcmp(g_bytes_get_data(der, NULL), leaf.der.data, leaf.der.size),
	    0);
	g_bytes_unref(der);
	spop_free(s);
	seen_clear(&v);
}

static void test_failure_refused_with_280(void)
{
	struct seen v = {0};
	spop_t *s = client(&v);
	struct spop_cert_report r =
	    report(&leaf, SPOP_CERT_FAIL_NAME, "name mismatch");

	CU_ASSERT_EQUAL(spi_tls_server_certificate(s, &r), 0);
	CU_ASSERT_EQUAL(spop_last_error_code(s), 280);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(spop_last_error(s), "pop.example.org:995"));
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "name mismatch"));
	CU_ASSERT_EQUAL(v.accept_in, 0);
	CU_ASSERT_STRING_EQUAL(v.status, "name mismatch");
	spop_free(s);
	seen_clear(&v);
}

static void test_event_overturns(void)
{
	struct seen v = {0};
	spop_t *s = client(&v);
	struct spop_cert_report r =
	    report(&leaf, SPOP_CERT_FAIL_UNKNOWN_CA, "unknown issuer");

	v.accept_out = 1;
	CU_ASSERT_EQUAL(spi_tls_server_certificate(s, &r), 1);
	CU_ASSERT_EQUAL(v.accept_in, 0);
	/* and the other way round: a verified certificate refused */
	struct spop_cert_report ok = report(&leaf, 0, "OK");
	v.accept_out = 0;
	CU_ASSERT_EQUAL(spi_tls_server_certificate(s, &ok), 0);
	CU_ASSERT_EQUAL(spop_last_error_code(s), 280);
	spop_free(s);
	seen_clear(&v);
}

static void test_security_flags(void)
{
	struct seen v = {0};
	spop_t *s = client(&v);
	static const struct {
		uint32_t failure;
		const char *flags;
		int go_on;
	} cases[] = {
	    {SPOP_CERT_FAIL_NAME, "SSLSecurityFlags=0x80000000", 1},
	    {SPOP_CERT_FAIL_NAME, "SSLSecurityFlags=0x1", 0},
	    {SPOP_CERT_FAIL_TIME, "SSLSecurityFlags=1", 1},
	    {SPOP_CERT_FAIL_TIME, "SSLSecurityFlags=0x10", 0},
	    {SPOP_CERT_FAIL_UNKNOWN_CA, "SSLSecurityFlags=0x10", 1},
	    {SPOP_CERT_FAIL_UNKNOWN_CA | SPOP_CERT_FAIL_TIME,
	     "SSLSecurityFlags=0x10", 0},
	    {SPOP_CERT_FAIL_UNKNOWN_CA | SPOP_CERT_FAIL_TIME,
	     "SSLSecurityFlags=0x11", 1},
	    {SPOP_CERT_FAIL_USAGE, "SSLSecurityFlags=0x20", 1},
	    {SPOP_CERT_FAIL_REVOCATION, "SSLSecurityFlags=0x100", 1},
	    /* no flag lets a bad signature through */
	    {SPOP_CERT_FAIL_INVALID, "SSLSecurityFlags=0xFFFFFFFF", 0},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		CU_ASSERT_PTR_NOT_NULL(spop_config(s, cases[i].flags));
		struct spop_cert_report r =
		    report(&leaf, cases[i].failure, "bad");
		int got = spi_tls_server_certificate(s, &r);
		CU_ASSERT_EQUAL(got, cases[i].go_on);
		if (got != cases[i].go_on)
			fprintf(stderr, "\ncase %zu (%s)\n", i, cases[i].flags);
		/* the event says what the flags made of it */
		CU_ASSERT_EQUAL(v.accept_in, cases[i].go_on);
	}
	/* a provider saying "not verified" without bits fails closed */
	struct spop_cert_report bare = report(&leaf, 0, "bad");
	bare.verified = 0;
	CU_ASSERT_EQUAL(spi_tls_server_certificate(s, &bare), 0);
	spop_free(s);
	seen_clear(&v);
}

static void test_pin(void)
{
	struct seen v = {0};
	spop_t *s = client(&v);
	char *pem = spi_cert_pem((const unsigned char *const *)&other.der.data,
				 &(size_t){other.der.size}, 1);

	/* the pinned certificate passes whatever its checks said */
	CU_ASSERT_EQUAL(
	    spop_set_ssl_accept_server_cert_encoded(s, pem, strlen(pem)), 0);
	struct spop_cert_report pinned = report(
	    &other, SPOP_CERT_FAIL_NAME | SPOP_CERT_FAIL_UNKNOWN_CA, "x");
	CU_ASSERT_EQUAL(spi_tls_server_certificate(s, &pinned), 1);
	/* any other is refused, even a verified one */
	struct spop_cert_report good = report(&leaf, 0, "OK");
	CU_ASSERT_EQUAL(spi_tls_server_certificate(s, &good), 0);
	CU_ASSERT_EQUAL(spop_last_error_code(s), 280);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(spop_last_error(s), "SSLAcceptServerCertEncoded"));
	/* the pin reads back as PEM; DER and bare base64 are taken too */
	const char *back;
	size_t len;
	spop_get_ssl_accept_server_cert_encoded(s, &back, &len);
	CU_ASSERT_STRING_EQUAL(back, pem);
	CU_ASSERT_EQUAL(spop_set_ssl_accept_server_cert_encoded(
			    s, (const char *)leaf.der.data, leaf.der.size),
			0);
	CU_ASSERT_EQUAL(spi_tls_server_certificate(s, &good), 1);
	char *b64 = g_base64_encode(other.der.data, other.der.size);
	CU_ASSERT_PTR_NOT_NULL(spop_config(
	    s, (g_free(pem),
		pem = g_strdup_printf("SSLAcceptServerCertEncoded=%s", b64))));
	CU_ASSERT_EQUAL(spi_tls_server_certificate(s, &pinned), 1);
	CU_ASSERT_EQUAL(spop_set_ssl_accept_server_cert_encoded(s, "junk", 4),
			1211);
	g_free(b64);
	g_free(pem);
	spop_free(s);
	seen_clear(&v);
}

static void test_chain_in_event(void)
{
	struct seen v = {0};
	spop_t *s = client(&v);
	const unsigned char *chain[] = {leaf.der.data, ca.der.data};
	size_t lens[] = {leaf.der.size, ca.der.size};
	struct spop_cert_report r = report(&leaf, 0, "OK");

	r.chain_der = chain;
	r.chain_len = lens;
	r.n_chain = 2;
	CU_ASSERT_EQUAL(spi_tls_server_certificate(s, &r), 1);
	CU_ASSERT_PTR_NULL(strstr(strstr(v.pem, "BEGIN") + 1, "BEGIN"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "SSLIncludeCertChain=True"));
	CU_ASSERT_EQUAL(spi_tls_server_certificate(s, &r), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(strstr(v.pem, "BEGIN") + 1, "BEGIN"));
	spop_free(s);
	seen_clear(&v);
}

static void test_settings(void)
{
	spop_t *s = spop_new();

	/* defaults: the reference's, TLS 1.2 + 1.3 for the protocols */
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLEnabledProtocols"), "15360");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLEnabledCipherSuites"), "*");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "OpenSSLCipherList"), "DEFAULT");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLEnableRenegotiation"),
			       "True");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "ReuseSSLSession"), "False");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "UseInternalSecurityAPI"),
			       "True");
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_config(s, "SSLCACertFilePaths"),
				      "/etc/ssl/certs/ca-certificates.crt"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(spop_config(s, "TLS13SupportedGroups"), "ffdhe_8192"));
	/* SSL 2 and 3 are refused by name; junk bits too */
	CU_ASSERT_PTR_NULL(spop_config(s, "SSLEnabledProtocols=4080"));
	CU_ASSERT_EQUAL(spop_last_error_code(s), 1211);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "SSL 3.0"));
	CU_ASSERT_PTR_NULL(spop_config(s, "SSLEnabledProtocols=12"));
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "SSL 2.0"));
	CU_ASSERT_PTR_NULL(spop_config(s, "SSLEnabledProtocols=1"));
	CU_ASSERT_EQUAL(spop_last_error_code(s), 1211);
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "SSLEnabledProtocols=0xC00"));
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLEnabledProtocols"), "3072");
	/* flags are written in hex by the reference */
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "SSLSecurityFlags=0x80000010"));
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLSecurityFlags"),
			       "2147483664");
	CU_ASSERT_PTR_NULL(spop_config(s, "SSLSecurityFlags=0x100000000"));
	CU_ASSERT_PTR_NULL(spop_config(s, "SSLSecurityFlags=-1"));
	/* negotiated values are empty before any session */
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLNegotiatedVersion"), "");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLNegotiatedCipherStrength"),
			       "0");
	CU_ASSERT_PTR_NULL(spop_config(s, "SSLNegotiatedVersion=TLS1.3"));
	CU_ASSERT_EQUAL(spop_last_error_code(s), 1211);
	/* cert store type: the reference's values only */
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLCertStoreType"), "0");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLCertStore"), "MY");
	CU_ASSERT_PTR_NULL(spop_config(s, "SSLCertStoreType=42"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "SSLCertStoreType=99"));
	/* a plugin reads them by name */
	spop_free(s);
}

static void test_negotiated(void)
{
	spop_t *s = spop_new();
	struct spop_tls_info info = {.size = sizeof info};

	g_strlcpy(info.version, "TLS1.3", sizeof info.version);
	g_strlcpy(info.cipher, "AES-256-GCM", sizeof info.cipher);
	info.cipher_strength = 256;
	g_strlcpy(info.key_exchange, "X25519", sizeof info.key_exchange);
	info.key_exchange_strength = 255;
	g_strlcpy(info.cipher_suite, "TLS_AES_256_GCM_SHA384",
		  sizeof info.cipher_suite);
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLProviderName"), "");
	spi_tls_begin(s, "test");
	spi_tls_established(s, "test", &info);
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLProviderName"), "test");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLNegotiatedVersion"),
			       "TLS1.3");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLNegotiatedCipher"),
			       "AES-256-GCM");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLNegotiatedCipherSuite"),
			       "TLS_AES_256_GCM_SHA384");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLNegotiatedKeyExchange"),
			       "X25519");
	CU_ASSERT_STRING_EQUAL(
	    spop_config(s, "SSLNegotiatedKeyExchangeStrength"), "255");
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLNegotiatedCipherStrength"),
			       "256");
	spi_tls_forget(s);
	CU_ASSERT_STRING_EQUAL(spop_config(s, "SSLNegotiatedVersion"), "");
	spop_free(s);
}

static void test_session_cache(void)
{
	spop_t *s = spop_new();
	size_t len;

	spop_set_mail_server(s, "a.example");
	spi_tls_cache_put(s, "gnutls", "blob", 4);
	CU_ASSERT_PTR_NULL(spi_tls_cache_get(s, "gnutls", &len));
	spop_config(s, "ReuseSSLSession=True");
	spi_tls_cache_put(s, "gnutls", "blob", 4);
	const char *got = spi_tls_cache_get(s, "gnutls", &len);
	CU_ASSERT_EQUAL(len, 4);
	CU_ASSERT_PTR_NOT_NULL(got);
	/* another provider, server or port: nothing */
	CU_ASSERT_PTR_NULL(spi_tls_cache_get(s, "openssl", &len));
	CU_ASSERT_EQUAL(len, 0);
	spop_set_mail_port(s, 995);
	CU_ASSERT_PTR_NULL(spi_tls_cache_get(s, "gnutls", &len));
	spop_set_mail_port(s, 110);
	spop_set_mail_server(s, "b.example");
	CU_ASSERT_PTR_NULL(spi_tls_cache_get(s, "gnutls", &len));
	spop_free(s);
}

static void test_key_log(void)
{
	spop_t *s = spop_new();
	char *dir = g_dir_make_tmp("spop-keylog-XXXXXX", NULL);
	char *path = g_build_filename(dir, "keys.log", NULL);
	char *setting = g_strdup_printf("SSLKeyLogFile=%s", path);
	char *text = NULL;

	spi_tls_key_log(s, "CLIENT_RANDOM 00 11"); /* not set: nothing */
	CU_ASSERT_FALSE(g_file_test(path, G_FILE_TEST_EXISTS));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, setting));
	spi_tls_key_log(s, "CLIENT_RANDOM 00 11");
	spi_tls_key_log(s, "CLIENT_RANDOM 22 33");
	CU_ASSERT_TRUE(g_file_get_contents(path, &text, NULL, NULL));
	CU_ASSERT_STRING_EQUAL(text,
			       "CLIENT_RANDOM 00 11\nCLIENT_RANDOM 22 33\n");
	g_free(text);
	/* appended across objects, never truncated */
	spop_t *t = spop_new();
	spop_config(t, setting);
	spi_tls_key_log(t, "CLIENT_RANDOM 44 55");
	CU_ASSERT_TRUE(g_file_get_contents(path, &text, NULL, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "00 11\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "44 55\n"));
	g_free(text);
	spop_free(t);
	unlink(path);
	rmdir(dir);
	g_free(setting);
	g_free(path);
	g_free(dir);
	spop_free(s);
}

static void test_cert_subject_needs_store(void)
{
	spop_t *s = spop_new();

	/* no cert-store plugin serves the User store in this build: the
	 * search fails with the selector named, and nothing is chosen */
	spop_config(s, "PluginPath=/nonexistent");
	CU_ASSERT_NOT_EQUAL(spop_set_ssl_cert_subject(s, "*"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "SSLCertStoreType"));
	CU_ASSERT_STRING_EQUAL(spop_get_ssl_cert_subject(s), "");
	/* what was asked for is looked for again at Connect, and failing
	 * there is an error, not a session without the certificate */
	struct spi_cert_choice *c = NULL;
	CU_ASSERT_NOT_EQUAL(spi_cert_choice_open(s, &s->ssl_cert, true, &c), 0);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_EQUAL(spop_set_ssl_cert_subject(s, ""), 0);
	CU_ASSERT_EQUAL(spi_cert_choice_open(s, &s->ssl_cert, true, &c), 0);
	CU_ASSERT_PTR_NULL(c);
	/* SSLCertEncoded must be a certificate */
	CU_ASSERT_EQUAL(spop_set_ssl_cert_encoded(s, "junk", 4), 1211);
	spop_free(s);
}

/* An event handler reading Config while a method runs (a TLS failure being
 * reported) must not wipe the method's error. */
static void test_config_in_event_keeps_error(void)
{
	spop_t *s = spop_new();

	s->busy = 1; /* as inside an event of a running method */
	spi_fail(s, 280, "rejected");
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "SSLNegotiatedVersion"));
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "SSLIncludeCertChain=True"));
	CU_ASSERT_EQUAL(spop_last_error_code(s), 280);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), "rejected"));
	/* a failing Config call still says why it failed */
	CU_ASSERT_PTR_NULL(spop_config(s, "NoSuchSetting"));
	CU_ASSERT_EQUAL(spop_last_error_code(s), 1210);
	s->busy = 0;
	/* outside a method, Config starts afresh */
	CU_ASSERT_PTR_NOT_NULL(spop_config(s, "Timeout"));
	CU_ASSERT_EQUAL(spop_last_error_code(s), 0);
	spop_free(s);
}

static const struct test_case cases[] = {
    {"Config inside an event keeps the method's error",
     test_config_in_event_keeps_error},
    {"subject and issuer text", test_subject_text},
    {"verified certificate goes on", test_verified_goes_on},
    {"failed check refused with 280", test_failure_refused_with_280},
    {"the event overturns the verdict", test_event_overturns},
    {"SSLSecurityFlags ignore what they name", test_security_flags},
    {"SSLAcceptServerCertEncoded pins one certificate", test_pin},
    {"SSLIncludeCertChain", test_chain_in_event},
    {"SSL settings", test_settings},
    {"SSLNegotiated*", test_negotiated},
    {"ReuseSSLSession cache", test_session_cache},
    {"SSLKeyLogFile appends", test_key_log},
    {"SSLCertSubject search", test_cert_subject_needs_store},
    {NULL, NULL},
};

int main(void)
{
	static const struct test_suite suites[] = {
	    {"tls core", init, cleanup, cases},
	    {NULL},
	};

	return test_run(suites);
}
