/* The certificate properties of the reference's three groups, one set of
 * functions for all: SSLCert* (TLS client), Cert* (S/MIME decryption) and
 * SignerCert* (S/MIME verification). The search itself is cert.c's. */
#include <string.h>

#include "cert.h"

static int encoded_get(struct spi_cert_group *g, const char **data, size_t *len)
{
	g_free(g->out_pem);
	g->out_pem = NULL;
	if (g->der) {
		gsize n;
		const unsigned char *d = g_bytes_get_data(g->der, &n);
		size_t nl = n;
		g->out_pem = spi_cert_pem(&d, &nl, 1);
	}
	*data = g->out_pem ? g->out_pem : "";
	*len = strlen(*data);
	return 0;
}

static int store_get(struct spi_cert_group *g, const char **data, size_t *len)
{
	gsize n = 0;

	*data = g->store ? g_bytes_get_data(g->store, &n) : NULL;
	if (!*data)
		*data = "";
	*len = n;
	return 0;
}

static int store_set(struct spi_cert_group *g, const char *data, size_t len)
{
	g_clear_pointer(&g->store, g_bytes_unref);
	g->store = g_bytes_new(data ? data : "", data ? len : 0);
	return 0;
}

static int password_set(struct spi_cert_group *g, const char *value)
{
	if (g->password)
		memset(g->password, 0, strlen(g->password));
	g_free(g->password);
	g->password = g_strdup(value ? value : "");
	return 0;
}

static int type_set(struct spop *s, struct spi_cert_group *g, int value)
{
	if (value < 0 || (value > 23 && value != SPOP_CST_AUTO))
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"%sStoreType %d is not one of the "
				"reference's store types (0-23, 99).",
				g->prefix, value);
	g->store_type = value;
	return 0;
}

/* SignerCertIssuer and SignerCertSerialNumber: of the chosen certificate. */
static const char *detail(struct spi_cert_group *g, bool issuer)
{
	char **slot = issuer ? &g->out_issuer : &g->out_serial;
	gsize n = 0;
	const unsigned char *d = g->der ? g_bytes_get_data(g->der, &n) : NULL;

	g_free(*slot);
	*slot = !d	 ? g_strdup("")
		: issuer ? spi_cert_issuer(d, n)
			 : spi_cert_serial(d, n);
	return *slot;
}

#define GROUP(fn, field)                                                       \
	SPI_EXPORT int spop_get_##fn##_encoded(spop_t *s, const char **data,   \
					       size_t *len)                    \
	{                                                                      \
		return encoded_get(&s->field, data, len);                      \
	}                                                                      \
	SPI_EXPORT int spop_set_##fn##_encoded(spop_t *s, const char *data,    \
					       size_t len)                     \
	{                                                                      \
		return spi_cert_group_set_encoded(s, &s->field, data, len);    \
	}                                                                      \
	SPI_EXPORT int spop_get_##fn##_store(spop_t *s, const char **data,     \
					     size_t *len)                      \
	{                                                                      \
		return store_get(&s->field, data, len);                        \
	}                                                                      \
	SPI_EXPORT int spop_set_##fn##_store(spop_t *s, const char *data,      \
					     size_t len)                       \
	{                                                                      \
		return store_set(&s->field, data, len);                        \
	}                                                                      \
	SPI_EXPORT const char *spop_get_##fn##_store_password(spop_t *s)       \
	{                                                                      \
		return spi_str(s->field.password);                             \
	}                                                                      \
	SPI_EXPORT int spop_set_##fn##_store_password(spop_t *s,               \
						      const char *value)       \
	{                                                                      \
		return password_set(&s->field, value);                         \
	}                                                                      \
	SPI_EXPORT int spop_get_##fn##_store_type(spop_t *s)                   \
	{                                                                      \
		return s->field.store_type;                                    \
	}                                                                      \
	SPI_EXPORT int spop_set_##fn##_store_type(spop_t *s, int value)        \
	{                                                                      \
		return type_set(s, &s->field, value);                          \
	}                                                                      \
	SPI_EXPORT const char *spop_get_##fn##_subject(spop_t *s)              \
	{                                                                      \
		return spi_str(s->field.subject);                              \
	}                                                                      \
	SPI_EXPORT int spop_set_##fn##_subject(spop_t *s, const char *value)   \
	{                                                                      \
		return spi_cert_group_set_subject(s, &s->field, value);        \
	}

GROUP(ssl_cert, ssl_cert)
GROUP(cert, cert)
GROUP(signer_cert, signer_cert)

SPI_EXPORT const char *spop_get_signer_cert_issuer(spop_t *s)
{
	return detail(&s->signer_cert, true);
}

SPI_EXPORT const char *spop_get_signer_cert_serial_number(spop_t *s)
{
	return detail(&s->signer_cert, false);
}

SPI_EXPORT int spop_list_certificates(spop_t *s, const char *group,
				      spop_cert_list_cb cb, void *ud)
{
	struct spi_cert_group *g = NULL;

	spi_clear_error(s);
	if (group && !g_ascii_strcasecmp(group, "SSLCert"))
		g = &s->ssl_cert;
	else if (group && !g_ascii_strcasecmp(group, "Cert"))
		g = &s->cert;
	else if (group && !g_ascii_strcasecmp(group, "SignerCert"))
		g = &s->signer_cert;
	if (!g || !cb)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"spop_list_certificates needs a callback and "
				"the group \"SSLCert\", \"Cert\" or "
				"\"SignerCert\" (got \"%s\").",
				group ? group : "(null)");
	return spi_cert_group_list(s, g, cb, ud);
}
