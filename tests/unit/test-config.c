/* Config by reference name: every property and Config setting the SPOP
 * class reference lists is reachable through spop_config(), array elements
 * as the reference writes them ("MessageRecipientOptions(0)"); a name whose
 * feature is not built yet is 1212, never 1210; booleans read True/False. */
#include "test-runner.h"
#include <string.h>

#include "message-parse.h"
#include "spop-private.h"

/* The reference's Property List and Config Settings list, verbatim. */
static const char *const reference_names[] = {
    "AuthMechanism",
    "CertEncoded",
    "CertStore",
    "CertStorePassword",
    "CertStoreType",
    "CertSubject",
    "Command",
    "Connected",
    "FirewallAutoDetect",
    "FirewallType",
    "FirewallHost",
    "FirewallPassword",
    "FirewallPort",
    "FirewallUser",
    "Idle",
    "IncludeHeaders",
    "LastReply",
    "LocalHost",
    "MailPort",
    "MailServer",
    "MaxLines",
    "Message",
    "MessageCc",
    "MessageCount",
    "MessageDate",
    "MessageEncrypted",
    "MessageFrom",
    "MessageHeaderCount",
    "MessageHeaderField",
    "MessageHeaderValue",
    "MessageHeadersString",
    "MessageNumber",
    "MessageRecipientCount",
    "MessageRecipientAddress",
    "MessageRecipientName",
    "MessageRecipientOptions",
    "MessageRecipientType",
    "MessageReplyTo",
    "MessageSigned",
    "MessageSize",
    "MessageSubject",
    "MessageText",
    "MessageTo",
    "MessageUID",
    "Password",
    "SignerCertEncoded",
    "SignerCertIssuer",
    "SignerCertSerialNumber",
    "SignerCertStore",
    "SignerCertStorePassword",
    "SignerCertStoreType",
    "SignerCertSubject",
    "SignerCertChainCount",
    "SignerCertChainEncoded",
    "SigningAlgorithm",
    "SSLAcceptServerCertEncoded",
    "SSLCertEncoded",
    "SSLCertStore",
    "SSLCertStorePassword",
    "SSLCertStoreType",
    "SSLCertSubject",
    "SSLEnabled",
    "SSLProvider",
    "SSLServerCertEncoded",
    "SSLStartMode",
    "Timeout",
    "TotalSize",
    "User",
    /* Config settings */
    "AuthorizationIdentity",
    "AutoDecodeSubject",
    "GetMessageSize",
    "MaxLineLength",
    "ConnectionTimeout",
    "FirewallAutoDetect",
    "FirewallHost",
    "FirewallPassword",
    "FirewallPort",
    "FirewallType",
    "FirewallUser",
    "KeepAliveInterval",
    "KeepAliveRetryCount",
    "KeepAliveTime",
    "Linger",
    "LingerTime",
    "LocalHost",
    "LocalPort",
    "MaxLineLength",
    "MaxTransferRate",
    "ProxyExceptionsList",
    "TCPKeepAlive",
    "TcpNoDelay",
    "UseIPv6",
    "LogSSLPackets",
    "OpenSSLCADir",
    "OpenSSLCAFile",
    "OpenSSLCipherList",
    "OpenSSLPrngSeedData",
    "ReuseSSLSession",
    "SSLCACertFilePaths",
    "SSLCACerts",
    "SSLCipherStrength",
    "SSLEnabledCipherSuites",
    "SSLEnabledProtocols",
    "SSLEnableRenegotiation",
    "SSLIncludeCertChain",
    "SSLKeyLogFile",
    "SSLNegotiatedCipher",
    "SSLNegotiatedCipherStrength",
    "SSLNegotiatedCipherSuite",
    "SSLNegotiatedKeyExchange",
    "SSLNegotiatedKeyExchangeStrength",
    "SSLNegotiatedVersion",
    "SSLSecurityFlags",
    "SSLServerCACerts",
    "TLS12SignatureAlgorithms",
    "TLS12SupportedGroups",
    "TLS13KeyShareGroups",
    "TLS13SignatureAlgorithms",
    "TLS13SupportedGroups",
    "AbsoluteTimeout",
    "FirewallData",
    "InBufferSize",
    "OutBufferSize",
    "BuildInfo",
    "CodePage",
    "LicenseInfo",
    "MaskSensitive",
    "ProcessIdleEvents",
    "SelectWaitMillis",
    "UseInternalSecurityAPI",
};

/* The reference's arrays (their elements are "Name(index)"). */
static bool is_array(const char *name)
{
	return g_str_has_prefix(name, "MessageHeaderField") ||
	       g_str_has_prefix(name, "MessageHeaderValue") ||
	       (g_str_has_prefix(name, "MessageRecipient") &&
		strcmp(name, "MessageRecipientCount")) ||
	       !strcmp(name, "SignerCertChainEncoded");
}

/* An array that is empty until a method fills it: its element 0 is an
 * index error, not an unknown name. */
static bool empty_array(const char *name)
{
	return !strcmp(name, "SignerCertChainEncoded");
}

static void header_free(gpointer p)
{
	struct spi_header *h = p;

	g_free(h->field);
	g_free(h->value);
	g_free(h);
}

static void add_header(struct spi_message *m, const char *f, const char *v)
{
	struct spi_header *h = g_new0(struct spi_header, 1);

	h->field = g_strdup(f);
	h->value = g_strdup(v);
	g_ptr_array_add(m->headers, h);
}

static void add_recipient(struct spi_message *m, const char *addr,
			  const char *name, int type)
{
	struct spi_recipient *r = g_new0(struct spi_recipient, 1);

	r->address = g_strdup(addr);
	r->name = g_strdup(name);
	r->type = type;
	g_ptr_array_add(m->recipients, r);
}

/* An object holding a retrieved message, as Retrieve leaves it. */
static spop_t *with_message(void)
{
	spop_t *s = spop_new();
	struct spi_message *m = &s->msg;

	m->headers = g_ptr_array_new_with_free_func(header_free);
	m->recipients =
	    g_ptr_array_new_with_free_func((GDestroyNotify)spi_recipient_free);
	add_header(m, "From", "a@x.example");
	add_header(m, "Subject", "Hi");
	add_recipient(m, "b@y.example", "Bob", SPOP_RT_TO);
	add_recipient(m, "c@z.example", "", SPOP_RT_CC);
	m->raw =
	    g_string_new("From: a@x.example\r\nSubject: Hi\r\n\r\nbody\r\n");
	m->text = g_string_new("body\r\n");
	return s;
}

#define CONFIG_IS(s, name, want)                                               \
	do {                                                                   \
		const char *got_ = spop_config(s, name);                       \
		CU_ASSERT_PTR_NOT_NULL(got_);                                  \
		if (got_)                                                      \
			CU_ASSERT_STRING_EQUAL(got_, want);                    \
	} while (0)

#define CONFIG_FAILS(s, name, code, text)                                      \
	do {                                                                   \
		CU_ASSERT_PTR_NULL(spop_config(s, name));                      \
		CU_ASSERT_EQUAL(spop_last_error_code(s), code);                \
		CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), text));      \
	} while (0)

static void test_every_reference_name(void)
{
	spop_t *s = with_message();

	for (size_t i = 0; i < G_N_ELEMENTS(reference_names); i++) {
		const char *n = reference_names[i];
		char *asked =
		    is_array(n) ? g_strdup_printf("%s(0)", n) : g_strdup(n);
		const char *v = spop_config(s, asked);
		int code = spop_last_error_code(s);

		if (empty_array(n)) {
			CU_ASSERT_PTR_NULL(v);
			CU_ASSERT_EQUAL(code, 1211);
		} else if (!strcmp(n, "Command")) {
			/* reachable, but the reference makes it write-only */
			CU_ASSERT_EQUAL(code, 1211);
			CU_ASSERT_PTR_NOT_NULL(
			    strstr(spop_last_error(s), "write-only"));
		} else {
			CU_ASSERT_PTR_NOT_NULL(v);
			CU_ASSERT_EQUAL(code, 0);
		}
		/* whatever happens, the reference's names are known */
		CU_ASSERT_NOT_EQUAL(code, 1210);
		if (code == 1210)
			fprintf(stderr, "\n%s: 1210: %s\n", asked,
				spop_last_error(s));
		g_free(asked);
	}
	spop_free(s);
}

static void test_smime_names(void)
{
	spop_t *s = spop_new();

	CONFIG_IS(s, "SMIMEEngine", "cms");
	CONFIG_IS(s, "SMIMEUseSystemTrust", "True");
	CONFIG_IS(s, "SMIMEAllowWeakDigests", "False");
	CONFIG_IS(s, "SignerCertChainCount", "0");
	CONFIG_FAILS(s, "SignerCertChainEncoded(0)", 1211, "SignerCertChain");
	/* SigningAlgorithm reads back as the OID, whatever was set */
	CONFIG_IS(s, "SigningAlgorithm", "2.16.840.1.101.3.4.2.1");
	CONFIG_IS(s, "SigningAlgorithm=sha1", "");
	CONFIG_IS(s, "SigningAlgorithm", "1.3.14.3.2.26");
	CONFIG_IS(s, "SigningAlgorithm=SHA-384", "");
	CONFIG_IS(s, "SigningAlgorithm", "2.16.840.1.101.3.4.2.2");
	CONFIG_IS(s, "SigningAlgorithm=2.16.840.1.101.3.4.2.3", "");
	CONFIG_IS(s, "SigningAlgorithm", "2.16.840.1.101.3.4.2.3");
	CONFIG_FAILS(s, "SigningAlgorithm=rot13", 1211, "rot13");
	CONFIG_IS(s, "SigningAlgorithm", "2.16.840.1.101.3.4.2.3");
	/* a name the reference does not have at all */
	CONFIG_FAILS(s, "SSLNoSuchThing", 1210,
		     "'SSLNoSuchThing' is not known");
	CONFIG_FAILS(s, "NoSuch(0)", 1210, "'NoSuch(0)' is not known");
	spop_free(s);
}

static void test_arrays(void)
{
	spop_t *s = with_message();

	CONFIG_IS(s, "MessageHeaderCount", "2");
	CONFIG_IS(s, "MessageHeaderField(0)", "From");
	CONFIG_IS(s, "MessageHeaderValue(0)", "a@x.example");
	CONFIG_IS(s, "MessageHeaderField(1)", "Subject");
	CONFIG_IS(s, "messageheadervalue( 1 )", "Hi");
	CONFIG_IS(s, "MessageHeaderField[1]", "Subject");
	CONFIG_IS(s, "MessageRecipientCount", "2");
	CONFIG_IS(s, "MessageRecipientAddress(0)", "b@y.example");
	CONFIG_IS(s, "MessageRecipientName(0)", "Bob");
	CONFIG_IS(s, "MessageRecipientType(0)", "0");
	CONFIG_IS(s, "MessageRecipientAddress(1)", "c@z.example");
	CONFIG_IS(s, "MessageRecipientName(1)", "");
	CONFIG_IS(s, "MessageRecipientType(1)", "1");
	CONFIG_IS(s, "MessageRecipientOptions(1)", "");

	CONFIG_FAILS(s, "MessageHeaderField(2)", 1211,
		     "MessageHeaderField: the index must be a whole number "
		     "from 0 to 1 (the count is 2)");
	CONFIG_FAILS(s, "MessageHeaderField(-1)", 1211, "from 0 to 1");
	CONFIG_FAILS(s, "MessageRecipientName(one)", 1211, "from 0 to 1");
	CONFIG_FAILS(s, "MessageHeaderField", 1211,
		     "MessageHeaderField is an array: ask for one element, "
		     "as in 'MessageHeaderField(0)'");
	CONFIG_FAILS(s, "User(0)", 1211, "User is not an array");
	CONFIG_FAILS(s, "MessageHeaderField(0)=To", 1211, "read-only");
	/* read-only arrays stay as they were */
	CONFIG_IS(s, "MessageHeaderField(0)", "From");
	spop_free(s);

	/* no message: every index is out of range */
	s = spop_new();
	CONFIG_FAILS(s, "MessageRecipientType(0)", 1211, "the count is 0");
	spop_free(s);
}

static void test_message_and_text(void)
{
	spop_t *s = with_message();

	CONFIG_IS(s, "Message",
		  "From: a@x.example\r\nSubject: Hi\r\n\r\nbody\r\n");
	CONFIG_IS(s, "MessageText", "body\r\n");
	CONFIG_FAILS(s, "Message=x", 1211, "read-only");
	CONFIG_FAILS(s, "MessageText=x", 1211, "read-only");
	spop_free(s);

	s = spop_new();
	CONFIG_IS(s, "Message", "");
	CONFIG_IS(s, "MessageText", "");
	spop_free(s);
}

static void test_booleans(void)
{
	static const char *const bools[] = {
	    "Connected",
	    "Idle",
	    "IncludeHeaders",
	    "MessageEncrypted",
	    "MessageSigned",
	    "AutoDecodeSubject",
	    "GetMessageSize",
	    "FirewallAutoDetect",
	    "Linger",
	    "TCPKeepAlive",
	    "TcpNoDelay",
	    "AbsoluteTimeout",
	    "MaskSensitive",
	    "ProcessIdleEvents",
	    "CloseStreamAfterTransfer",
	};
	spop_t *s = with_message();

	for (size_t i = 0; i < G_N_ELEMENTS(bools); i++) {
		const char *v = spop_config(s, bools[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(v);
		CU_ASSERT_TRUE(!strcmp(v, "True") || !strcmp(v, "False"));
	}
	CONFIG_IS(s, "Idle", "True");
	CONFIG_IS(s, "MessageEncrypted", "False");
	CONFIG_IS(s, "MessageSigned", "False");
	s->msg.content_type =
	    g_strdup("application/pkcs7-mime; smime-type=enveloped-data");
	CONFIG_IS(s, "MessageEncrypted", "True");
	g_free(s->msg.content_type);
	s->msg.content_type = g_strdup("multipart/signed; "
				       "protocol=\"application/"
				       "pkcs7-signature\"; micalg=sha-256");
	CONFIG_IS(s, "MessageSigned", "True");
	CONFIG_IS(s, "MessageEncrypted", "False");
	spop_free(s);
}

static const struct test_case cases[] = {
    {"every reference name is reachable", test_every_reference_name},
    {"S/MIME settings and SigningAlgorithm as an OID", test_smime_names},
    {"array elements by index", test_arrays},
    {"Message and MessageText", test_message_and_text},
    {"booleans read True/False", test_booleans},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"config", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return test_run(suites);
}
