/* The S/MIME reading of Content-Type as data: every rule of
 * spi_content_type_is_encrypted/_signed and the near misses. */
#include "test-runner.h"
#include <string.h>

#include "message-parse.h"

static const struct {
	const char *in;
	int encrypted, is_signed;
} cases[] = {
    /* enveloped */
    {"application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m", 1, 0},
    {"application/x-pkcs7-mime; smime-type=enveloped-data", 1, 0},
    {"Application/PKCS7-MIME; SMIME-TYPE=\"Enveloped-Data\"", 1, 0},
    {"application/pkcs7-mime; smime-type=authEnveloped-data", 1, 0},
    {"application/pkcs7-mime; smime-type=authenveloped-data", 1, 0},
    {"application/pkcs7-mime ; smime-type = \" enveloped-data \" ", 1, 0},
    {"application/pkcs7-mime (S/MIME);\r\n\tsmime-type=enveloped-data "
     "(encrypted); name=\"smime.p7m\"",
     1, 0},
    /* no smime-type: the name decides */
    {"application/pkcs7-mime; name=smime.p7m", 1, 0},
    {"application/pkcs7-mime; name=smime.p7m (file)", 1, 0},
    {"application/pkcs7-mime; name=\"smime(1).p7m\"", 1, 0},
    {"application/pkcs7-mime; name=\"smime.p7m(x)\"", 0, 0},
    {"application/x-pkcs7-mime; name=\"SMIME.P7M\"", 1, 0},
    {"application/pkcs7-mime; name*=utf-8''smime.p7m", 1, 0},
    {"application/pkcs7-mime; name*0=smime; name*1=.p7m", 1, 0},
    {"application/pkcs7-mime; smime-type=\"\"; name=smime.p7m", 1, 0},
    {"application/pkcs7-mime", 0, 0},
    {"application/pkcs7-mime; name=smime.p7s", 0, 0},
    {"application/pkcs7-mime; name=smime.p7m.txt", 0, 0},
    /* other smime-types */
    {"application/pkcs7-mime; smime-type=signed-data; name=smime.p7m", 0, 1},
    {"application/x-pkcs7-mime; smime-type=\"Signed-Data\"", 0, 1},
    {"application/pkcs7-mime; smime-type=certs-only; name=smime.p7c", 0, 0},
    {"application/pkcs7-mime; smime-type=certs-only; name=smime.p7m", 0, 0},
    {"application/pkcs7-mime; smime-type=compressed-data; name=smime.p7z", 0,
     0},
    /* multipart/signed */
    {"multipart/signed; protocol=\"application/pkcs7-signature\"; "
     "micalg=sha-256; boundary=\"b\"",
     0, 1},
    {"multipart/signed; protocol=\"application/x-pkcs7-signature\"; "
     "micalg=sha1",
     0, 1},
    {"Multipart/Signed; Protocol=Application/PKCS7-Signature", 0, 1},
    {"multipart/signed; protocol=application/pkcs7-signature (x); "
     "micalg=sha1",
     0, 1},
    {"multipart/signed (c); (c) protocol = \"application/pkcs7-signature\""
     " (c); boundary=x",
     0, 1},
    {"multipart/signed;\r\n\tprotocol=\"application/pkcs7-signature\"", 0, 1},
    {"multipart/signed; protocol=\"application/pgp-signature\"; "
     "micalg=pgp-sha256",
     0, 0},
    {"multipart/signed", 0, 0},
    {"multipart/signed; protocol=application/pkcs7-mime", 0, 0},
    /* near misses */
    {"multipart/encrypted; protocol=\"application/pgp-encrypted\"", 0, 0},
    {"multipart/mixed; protocol=\"application/pkcs7-signature\"", 0, 0},
    {"application/pkcs7-signature; name=smime.p7s", 0, 0},
    {"text/plain; smime-type=enveloped-data", 0, 0},
    {"text/plain; name=x.p7m", 0, 0},
    {"application/octet-stream; name=smime.p7m", 0, 0},
    {"application/pkcs7-mimex; smime-type=enveloped-data", 0, 0},
    {"", 0, 0},
    {"garbage", 0, 0},
    {";;;===\"", 0, 0},
};

static void test_cases(void)
{
	int enc, sig;
	size_t i;
	char *msg;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		enc = spi_content_type_is_encrypted(cases[i].in);
		sig = spi_content_type_is_signed(cases[i].in);
		msg = g_strdup_printf("\"%s\": encrypted %d signed %d, want "
				      "%d %d",
				      cases[i].in, enc, sig, cases[i].encrypted,
				      cases[i].is_signed);
		CU_assertImplementation(enc == cases[i].encrypted &&
					    sig == cases[i].is_signed,
					__LINE__, msg, __FILE__, "", CU_FALSE);
		g_free(msg);
	}
	CU_ASSERT_EQUAL(spi_content_type_is_encrypted(NULL), 0);
	CU_ASSERT_EQUAL(spi_content_type_is_signed(NULL), 0);
}

static const struct test_case content_type_cases0[] = {
    {"S/MIME encrypted and signed", test_cases},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"content-type", NULL, NULL, content_type_cases0},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{

	int rc = test_run(suites);
	return rc;
}
