/* An AuthEnvelopedData with authenticated attributes (RFC 5083 2.1) for
 * the S/MIME engine suites. Include after suite-data.h (path, slurp,
 * run_out). */
#ifndef SPOP_TEST_AUTHATTRS_H
#define SPOP_TEST_AUTHATTRS_H

#include <gcrypt.h>
#include <glib.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdarg.h>

/* No tool at hand writes authAttrs the RFC's way (openssl cms has no
 * option for them, and OpenSSL 3.0 reads the field with the wrong tag),
 * so this message is put together here, field by field: the content key
 * wrapped by openssl pkeyutl to rsa.crt, the content sealed by libgcrypt's
 * AES-128-GCM with the attributes as additional data, encoded per RFC 5083
 * 2.1 with their SET OF tag (0x31). */

static GByteArray *tlv(unsigned char tag, const void *data, size_t len)
{
	GByteArray *b = g_byte_array_new();
	unsigned char head[5] = {tag};
	size_t n = 1;

	if (len < 0x80) {
		head[n++] = (unsigned char)len;
	} else if (len < 0x100) {
		head[n++] = 0x81;
		head[n++] = (unsigned char)len;
	} else {
		head[n++] = 0x82;
		head[n++] = (unsigned char)(len >> 8);
		head[n++] = (unsigned char)len;
	}
	g_byte_array_append(b, head, (guint)n);
	g_byte_array_append(b, data, (guint)len);
	return b;
}

/* tag over the concatenation of the arrays given (NULL-ended), which it
 * frees. */
static GByteArray *wrap(unsigned char tag, ...)
{
	GByteArray *all = g_byte_array_new(), *part, *out;
	va_list ap;

	va_start(ap, tag);
	while ((part = va_arg(ap, GByteArray *))) {
		g_byte_array_append(all, part->data, part->len);
		g_byte_array_free(part, TRUE);
	}
	va_end(ap);
	out = tlv(tag, all->data, all->len);
	g_byte_array_free(all, TRUE);
	return out;
}

static GByteArray *raw(const void *data, size_t len)
{
	GByteArray *b = g_byte_array_new();

	g_byte_array_append(b, data, (guint)len);
	return b;
}

static const unsigned char oid_auth_env[] = {0x06, 0x0b, 0x2a, 0x86, 0x48,
					     0x86, 0xf7, 0x0d, 0x01, 0x09,
					     0x10, 0x01, 0x17};
static const unsigned char oid_rsa[] = {0x06, 0x09, 0x2a, 0x86, 0x48,
					0x86, 0xf7, 0x0d, 0x01, 0x01,
					0x01, 0x05, 0x00};
static const unsigned char oid_data[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
					 0xf7, 0x0d, 0x01, 0x07, 0x01};
static const unsigned char oid_gcm128[] = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					   0x65, 0x03, 0x04, 0x01, 0x06};
static const unsigned char oid_ctype[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
					  0xf7, 0x0d, 0x01, 0x09, 0x03};
static const unsigned char int0[] = {0x02, 0x01, 0x00};
static const unsigned char int16[] = {0x02, 0x01, 0x10};

/* The message, made for rsa.crt of the suite's data directory; aad_tag is
 * the tag the MAC is computed over (0x31 is right). */
static G_GNUC_UNUSED GByteArray *auth_message(const unsigned char *plain,
					      size_t plain_len,
					      unsigned char aad_tag)
{
	unsigned char cek[16], nonce[12], mac[16], serial[64];
	size_t serial_len = sizeof(serial), ek_len;
	gnutls_x509_crt_t crt;
	gnutls_datum_t pem_d, issuer;
	gcry_cipher_hd_t c;
	char *pem_text;
	gsize pem_len;
	unsigned char *ek, *ct = g_memdup2(plain, plain_len);
	char *kp = path("cek.bin"), *ekp = path("ek.bin"),
	     *crt_p = path("rsa.crt");
	char *argv[] = {"openssl", "pkeyutl", "-encrypt", "-certin",
			"-inkey",  crt_p,     "-in",	  kp,
			"-out",	   ekp,	      NULL};

	gcry_check_version(NULL);
	gcry_randomize(cek, sizeof(cek), GCRY_STRONG_RANDOM);
	gcry_randomize(nonce, sizeof(nonce), GCRY_STRONG_RANDOM);
	g_file_set_contents(kp, (char *)cek, sizeof(cek), NULL);
	CU_ASSERT_EQUAL(run_out(argv, NULL), 0);
	ek = slurp("ek.bin", &ek_len);
	CU_ASSERT_FATAL(ek && ek_len == 256);
	CU_ASSERT_FATAL(g_file_get_contents(crt_p, &pem_text, &pem_len, NULL));
	pem_d.data = (unsigned char *)pem_text;
	pem_d.size = (unsigned)pem_len;
	gnutls_x509_crt_init(&crt);
	CU_ASSERT_FATAL(
	    gnutls_x509_crt_import(crt, &pem_d, GNUTLS_X509_FMT_PEM) == 0);
	CU_ASSERT_FATAL(gnutls_x509_crt_get_raw_issuer_dn(crt, &issuer) == 0);
	CU_ASSERT_FATAL(gnutls_x509_crt_get_serial(crt, serial, &serial_len) ==
			0);

	/* authAttrs: one contentType attribute */
	GByteArray *attr =
	    wrap(0x30, raw(oid_ctype, sizeof(oid_ctype)),
		 wrap(0x31, raw(oid_data, sizeof(oid_data)), NULL), NULL);
	GByteArray *aad = wrap(aad_tag, raw(attr->data, attr->len), NULL);

	gcry_cipher_open(&c, GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_GCM, 0);
	gcry_cipher_setkey(c, cek, sizeof(cek));
	gcry_cipher_setiv(c, nonce, sizeof(nonce));
	gcry_cipher_authenticate(c, aad->data, aad->len);
	gcry_cipher_final(c);
	gcry_cipher_encrypt(c, ct, plain_len, NULL, 0);
	gcry_cipher_gettag(c, mac, sizeof(mac));
	gcry_cipher_close(c);
	g_byte_array_free(aad, TRUE);

	GByteArray *ktri = wrap(0x30, raw(int0, sizeof(int0)),
				wrap(0x30, raw(issuer.data, issuer.size),
				     tlv(0x02, serial, serial_len), NULL),
				wrap(0x30, raw(oid_rsa, sizeof(oid_rsa)), NULL),
				tlv(0x04, ek, ek_len), NULL);
	GByteArray *eci = wrap(0x30, raw(oid_data, sizeof(oid_data)),
			       wrap(0x30, raw(oid_gcm128, sizeof(oid_gcm128)),
				    wrap(0x30, tlv(0x04, nonce, sizeof(nonce)),
					 raw(int16, sizeof(int16)), NULL),
				    NULL),
			       tlv(0x80, ct, plain_len), NULL);
	GByteArray *aed =
	    wrap(0x30, raw(int0, sizeof(int0)), wrap(0x31, ktri, NULL), eci,
		 wrap(0xa1, attr, NULL), tlv(0x04, mac, sizeof(mac)), NULL);
	GByteArray *msg = wrap(0x30, raw(oid_auth_env, sizeof(oid_auth_env)),
			       wrap(0xa0, aed, NULL), NULL);

	gnutls_free(issuer.data);
	gnutls_x509_crt_deinit(crt);
	g_free(pem_text);
	g_free(ek);
	g_free(ct);
	g_free(kp);
	g_free(ekp);
	g_free(crt_p);
	return msg;
}

#endif
