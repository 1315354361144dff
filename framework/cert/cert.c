/* Certificates the application names: decoding the reference's "Binary
 * String" forms, the reference's subject text, and the search of a
 * cert-store plugin's entries that SSLCertSubject and SSLCertEncoded start.
 * Written once for every certificate group (SSLCert* now; Cert* and
 * SignerCert* use the same functions). */
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "cert.h"

GBytes *spi_cert_decode(const void *data, size_t len)
{
	gnutls_datum_t in = {(unsigned char *)data, (unsigned)len};
	gnutls_x509_crt_t crt;
	GBytes *out = NULL;

	if (!data || !len || len > G_MAXUINT)
		return NULL;
	if (gnutls_x509_crt_init(&crt) < 0)
		return NULL;
	/* PEM first, then DER, then bare base64 of DER (the reference's
	 * "PEM/base64 encoded"). GnuTLS reads the formats; only the last
	 * needs unwrapping. */
	if (gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_PEM) >= 0 ||
	    gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_DER) >= 0) {
		gnutls_datum_t der;

		if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) >=
		    0) {
			out = g_bytes_new(der.data, der.size);
			gnutls_free(der.data);
		}
	} else {
		char *text = g_strndup(data, len);
		g_strstrip(text);
		gsize n = 0;
		guchar *raw = spi_base64_decode_strict(text, &n);

		g_free(text);
		if (raw) {
			gnutls_datum_t d = {raw, (unsigned)n};
			if (gnutls_x509_crt_import(crt, &d,
						   GNUTLS_X509_FMT_DER) >= 0)
				out = g_bytes_new(raw, n);
			g_free(raw);
		}
	}
	gnutls_x509_crt_deinit(crt);
	return out;
}

char *spi_cert_pem(const unsigned char *const *der, const size_t *len, size_t n)
{
	GString *pem = g_string_new(NULL);

	for (size_t i = 0; i < n; i++) {
		char *b64 = g_base64_encode(der[i], len[i]);
		size_t blen = strlen(b64);

		g_string_append(pem, "-----BEGIN CERTIFICATE-----\r\n");
		for (size_t at = 0; at < blen; at += 64) {
			g_string_append_len(pem, b64 + at, MIN(64, blen - at));
			g_string_append(pem, "\r\n");
		}
		g_string_append(pem, "-----END CERTIFICATE-----\r\n");
		g_free(b64);
	}
	return g_string_free(pem, FALSE);
}

/* GnuTLS gives RFC 4514 text ("CN=a,O=b\,c,C=DE"); the reference writes
 * "CN=a, O=b\,c, C=DE" and names the e-mail field E. */
static char *reference_dn(const gnutls_datum_t *dn)
{
	GString *out = g_string_sized_new(dn->size + 16);
	const char *p = (const char *)dn->data;
	const char *end = p + dn->size;
	bool start = true;

	while (p < end) {
		if (start && end - p > 13 &&
		    !g_ascii_strncasecmp(p, "EMAILADDRESS=", 13)) {
			g_string_append(out, "E=");
			p += 13;
		} else if (start && end - p > 6 &&
			   !g_ascii_strncasecmp(p, "EMAIL=", 6)) {
			g_string_append(out, "E=");
			p += 6;
		}
		start = false;
		if (*p == '\\' && p + 1 < end) {
			g_string_append_len(out, p, 2);
			p += 2;
			continue;
		}
		if (*p == ',') {
			g_string_append(out, ", ");
			start = true;
		} else {
			g_string_append_c(out, *p);
		}
		p++;
	}
	return g_string_free(out, FALSE);
}

static char *cert_dn(const unsigned char *der, size_t len, bool issuer)
{
	gnutls_datum_t in = {(unsigned char *)der, (unsigned)len};
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn = {NULL, 0};
	char *out = NULL;

	if (!der || !len || gnutls_x509_crt_init(&crt) < 0)
		return g_strdup("");
	if (gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_DER) >= 0 &&
	    (issuer ? gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0)
		    : gnutls_x509_crt_get_dn3(crt, &dn, 0)) >= 0)
		out = reference_dn(&dn);
	gnutls_free(dn.data);
	gnutls_x509_crt_deinit(crt);
	return out ? out : g_strdup("");
}

char *spi_cert_subject(const unsigned char *der, size_t len)
{
	return cert_dn(der, len, false);
}

char *spi_cert_issuer(const unsigned char *der, size_t len)
{
	return cert_dn(der, len, true);
}

char *spi_cert_serial(const unsigned char *der, size_t len)
{
	gnutls_datum_t in = {(unsigned char *)der, (unsigned)len};
	gnutls_x509_crt_t crt;
	unsigned char serial[64];
	size_t n = sizeof serial;
	GString *out = g_string_new(NULL);

	if (der && len && gnutls_x509_crt_init(&crt) >= 0) {
		if (gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_DER) >=
			0 &&
		    gnutls_x509_crt_get_serial(crt, serial, &n) >= 0) {
			/* The DER INTEGER's sign byte is not part of the
			 * number (openssl x509 -serial drops it too). */
			size_t i = 0;
			while (i + 1 < n && serial[i] == 0)
				i++;
			for (; i < n; i++)
				g_string_append_printf(out, "%02X", serial[i]);
		}
		gnutls_x509_crt_deinit(crt);
	}
	return g_string_free(out, FALSE);
}

/* ---- groups ---- */

void spi_cert_group_init(struct spi_cert_group *g, const char *prefix,
			 bool star_needs_key)
{
	*g = (struct spi_cert_group){.prefix = prefix,
				     .star_needs_key = star_needs_key,
				     .store_type = SPOP_CST_USER,
				     .store = g_bytes_new_static("MY", 2),
				     .password = g_strdup(""),
				     .subject = g_strdup("")};
}

void spi_cert_group_clear(struct spi_cert_group *g)
{
	g_clear_pointer(&g->store, g_bytes_unref);
	g_clear_pointer(&g->der, g_bytes_unref);
	if (g->password)
		memset(g->password, 0, strlen(g->password));
	g_clear_pointer(&g->password, g_free);
	g_clear_pointer(&g->subject, g_free);
	g_clear_pointer(&g->wanted, g_free);
	g_clear_pointer(&g->out_pem, g_free);
	g_clear_pointer(&g->out_issuer, g_free);
	g_clear_pointer(&g->out_serial, g_free);
}

struct spi_cert_choice {
	const struct spop_plugin_descriptor *plugin;
	const struct spop_certstore_ops *ops;
	struct spi_host host; /* fixed address for the store's life */
	void *handle;
	struct spop_cert_entry entry;
	/* the credential handed to a TLS provider */
	struct spop_tls_credential cred;
	GPtrArray *chain; /* GBytes*: entry, then the CA certificates */
	const unsigned char **chain_der;
	size_t *chain_len;
};

void spi_cert_choice_free(struct spi_cert_choice *c)
{
	if (!c)
		return;
	if (c->handle && c->ops->close)
		c->ops->close(&c->host.pub, c->handle);
	if (c->chain)
		g_ptr_array_free(c->chain, TRUE);
	g_free(c->chain_der);
	g_free(c->chain_len);
	g_free(c);
}

/* The reference's store types that no plugin here serves, with why. */
static const char *unsupported_type(int type)
{
	switch (type) {
	case SPOP_CST_JKSFILE:
	case SPOP_CST_JKSBLOB:
		return "a Java key store (JKS), which the reference offers in "
		       "Java only";
	case SPOP_CST_BCFKSFILE:
	case SPOP_CST_BCFKSBLOB:
		return "a Bouncy Castle FIPS key store (BCFKS), which the "
		       "reference offers in Java and .NET only";
	case SPOP_CST_SSHPUBLIC_KEY_BLOB:
	case SPOP_CST_SSHPUBLIC_KEY_FILE:
		return "an SSH public key, which holds no certificate";
	case SPOP_CST_PPKFILE:
	case SPOP_CST_PPKBLOB:
		return "a PuTTY private key (PPK), which holds no certificate";
	case SPOP_CST_XMLFILE:
	case SPOP_CST_XMLBLOB: return "an XML key (.NET's format)";
	case SPOP_CST_SECURITY_KEY:
		return "a security key of the reference's CertMgr; use "
		       "PKCS#11 (23) for tokens";
	case SPOP_CST_JWKFILE:
	case SPOP_CST_JWKBLOB: return "a JSON Web Key";
	default: return NULL;
	}
}

static int open_with(struct spop *s, const struct spop_plugin_descriptor *d,
		     int type, const struct spi_cert_group *g,
		     struct spi_cert_choice **out)
{
	const struct spop_certstore_ops *ops = d->ops;

	if (!SPOP_OPS_HAS(struct spop_certstore_ops, ops, open) ||
	    !SPOP_OPS_HAS(struct spop_certstore_ops, ops, entry))
		return spi_fail(s, SPOP_ERR_PLUGIN_INVALID,
				"Cert-store plugin '%s' lacks open or entry.",
				d->name);

	struct spi_cert_choice *c = g_new0(struct spi_cert_choice, 1);
	c->plugin = d;
	c->ops = ops;
	spi_host_init(&c->host, s, NULL);
	gsize len = 0;
	const unsigned char *data =
	    g->store ? g_bytes_get_data(g->store, &len) : NULL;
	int rc = ops->open(&c->host.pub, type, data ? data : (void *)"", len,
			   spi_str(g->password), &c->handle);
	if (rc) {
		c->handle = NULL;
		spi_cert_choice_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* Auto (99): whether CertStore names a file, then each store plugin's
 * probe in the documented order (README): pfx, pemkey, p7b, publickey,
 * jwk. Tokens and directory stores are never guessed. */
static int open_auto(struct spop *s, const struct spi_cert_group *g,
		     struct spi_cert_choice **out)
{
	static const struct {
		int file, blob;
	} order[] = {
	    {SPOP_CST_PFXFILE, SPOP_CST_PFXBLOB},
	    {SPOP_CST_PEMKEY_FILE, SPOP_CST_PEMKEY_BLOB},
	    {SPOP_CST_P7BFILE, SPOP_CST_P7BBLOB},
	    {SPOP_CST_PUBLIC_KEY_FILE, SPOP_CST_PUBLIC_KEY_BLOB},
	    {SPOP_CST_JWKFILE, SPOP_CST_JWKBLOB},
	};
	char selector[64];
	gsize len = 0;
	const unsigned char *data =
	    g->store ? g_bytes_get_data(g->store, &len) : NULL;
	char *name = data && len && !memchr(data, 0, len)
			 ? g_strndup((const char *)data, len)
			 : NULL;
	bool is_file = name && g_file_test(name, G_FILE_TEST_IS_REGULAR);
	GString *tried = g_string_new(NULL);

	g_free(name);
	g_snprintf(selector, sizeof selector, "%sStoreType", g->prefix);
	struct spi_saved_error saved = spi_error_save(s);
	for (size_t i = 0; i < G_N_ELEMENTS(order); i++) {
		int type = is_file ? order[i].file : order[i].blob;
		const struct spop_plugin_descriptor *d;

		if (spi_plugin_select(s, SPOP_PLUGIN_CERTSTORE, selector, type,
				      &d))
			continue; /* not in this build: not a candidate */
		const struct spop_certstore_ops *ops = d->ops;
		g_string_append_printf(tried, "%s%s", tried->len ? ", " : "",
				       d->name);
		if (!SPOP_OPS_HAS(struct spop_certstore_ops, ops, probe))
			continue;
		struct spi_host host;
		spi_host_init(&host, s, NULL);
		if (!ops->probe(&host.pub, data ? data : (void *)"", len,
				is_file))
			continue;
		spi_error_restore(s, &saved);
		g_string_free(tried, TRUE);
		return open_with(s, d, type, g, out);
	}
	spi_error_forget(&saved);
	int rc = spi_fail(s, SPOP_ERR_CERT_STORE,
			  "%sStore (%s) is not a store any plugin recognises "
			  "(%sStoreType 99, Auto; tried %s).",
			  g->prefix, is_file ? "a file" : "a blob", g->prefix,
			  tried->len ? tried->str : "no store plugin found");
	g_string_free(tried, TRUE);
	return rc;
}

/* Opens the group's store through the plugin serving its type. */
static int open_store(struct spop *s, const struct spi_cert_group *g,
		      struct spi_cert_choice **out)
{
	char selector[64];
	const struct spop_plugin_descriptor *d;

	*out = NULL;
	if (g->store_type == SPOP_CST_AUTO)
		return open_auto(s, g, out);
	g_snprintf(selector, sizeof selector, "%sStoreType", g->prefix);
	int rc = spi_plugin_select(s, SPOP_PLUGIN_CERTSTORE, selector,
				   g->store_type, &d);
	const char *why = unsupported_type(g->store_type);
	if (rc == SPOP_ERR_PLUGIN_NOT_FOUND && why)
		return spi_fail(s, SPOP_ERR_NOT_AVAILABLE,
				"%sStoreType %d is %s: not supported on this "
				"platform.",
				g->prefix, g->store_type, why);
	if (rc)
		return rc;
	return open_with(s, d, g->store_type, g, out);
}

/* Entry i, or 272 past the end (the error is only kept when the caller
 * reports it). */
static int entry_at(struct spi_cert_choice *c, size_t i)
{
	c->entry = (struct spop_cert_entry){.size = sizeof c->entry};
	return c->ops->entry(&c->host.pub, c->handle, i, &c->entry);
}

enum match { BY_DER, EXACT, CONTAINS, ANY_WITH_KEY, ANY };

static bool entry_matches(const struct spi_cert_choice *c, enum match how,
			  const char *want, GBytes *der)
{
	if (how == BY_DER)
		return c->entry.der_len == g_bytes_get_size(der) &&
		       !memcmp(c->entry.der, g_bytes_get_data(der, NULL),
			       c->entry.der_len);
	if (how == ANY_WITH_KEY)
		return c->entry.key != NULL;
	if (how == ANY)
		return true;
	char *subject = spi_cert_subject(c->entry.der, c->entry.der_len);
	bool hit;
	if (how == EXACT) {
		hit = !g_ascii_strcasecmp(subject, want);
	} else {
		char *a = g_ascii_strdown(subject, -1);
		char *b = g_ascii_strdown(want, -1);
		hit = strstr(a, b) != NULL;
		g_free(a);
		g_free(b);
	}
	g_free(subject);
	return hit;
}

/* Walks the entries for the first that matches: 0 with c->entry set, or
 * 272 naming what was looked for. */
static int find_entry(struct spop *s, struct spi_cert_choice *c,
		      const struct spi_cert_group *g, enum match how,
		      const char *want, GBytes *der, const char *what)
{
	size_t i;
	for (i = 0;; i++) {
		int rc = entry_at(c, i);
		if (rc == SPOP_ERR_CERT_NOT_FOUND)
			break;
		if (rc)
			return rc;
		if (entry_matches(c, how, want, der))
			return 0;
	}
	/* The store's own words on its end (a directory store names the
	 * files a password did not open) are kept. */
	char *store_says = g_strdup(s->error_text);
	spi_fail(s, SPOP_ERR_CERT_NOT_FOUND,
		 "No certificate %s among the %zu in %sStore (%sStoreType "
		 "%d, cert-store plugin '%s')%s%s",
		 what, i, g->prefix, g->prefix, g->store_type, c->plugin->name,
		 store_says ? ": " : ".", store_says ? store_says : "");
	g_free(store_says);
	return SPOP_ERR_CERT_NOT_FOUND;
}

static int search(struct spop *s, const struct spi_cert_group *g,
		  const char *subject, GBytes *der,
		  struct spi_cert_choice **out)
{
	struct spi_cert_choice *c;
	int rc = open_store(s, g, &c);

	if (rc)
		return rc;
	if (der) {
		rc = find_entry(s, c, g, BY_DER, NULL, der,
				"equal to the one given");
	} else if (!strcmp(subject, "*")) {
		rc = g->star_needs_key
			 ? find_entry(s, c, g, ANY_WITH_KEY, NULL, NULL,
				      "with a private key")
			 : find_entry(s, c, g, ANY, NULL, NULL, "at all");
	} else {
		char *what = g_strdup_printf("with subject '%s'", subject);
		rc = find_entry(s, c, g, EXACT, subject, NULL, what);
		if (rc == SPOP_ERR_CERT_NOT_FOUND) {
			spi_clear_error(s);
			rc = find_entry(s, c, g, CONTAINS, subject, NULL, what);
		}
		g_free(what);
	}
	if (rc) {
		spi_cert_choice_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int spi_cert_group_set_subject(struct spop *s, struct spi_cert_group *g,
			       const char *subject)
{
	struct spi_cert_choice *c;

	g_clear_pointer(&g->der, g_bytes_unref);
	g_free(g->subject);
	g->subject = g_strdup("");
	g_free(g->wanted);
	g->wanted = subject && *subject ? g_strdup(subject) : NULL;
	if (!g->wanted)
		return 0;
	int rc = search(s, g, subject, NULL, &c);
	if (rc)
		return rc;
	g->der = g_bytes_new(c->entry.der, c->entry.der_len);
	g_free(g->subject);
	g->subject = spi_cert_subject(c->entry.der, c->entry.der_len);
	spi_cert_choice_free(c);
	return 0;
}

int spi_cert_group_set_encoded(struct spop *s, struct spi_cert_group *g,
			       const void *data, size_t len)
{
	struct spi_cert_choice *c;

	g_clear_pointer(&g->der, g_bytes_unref);
	g_free(g->subject);
	g->subject = g_strdup("");
	g_clear_pointer(&g->wanted, g_free);
	if (!data || !len)
		return 0;
	GBytes *der = spi_cert_decode(data, len);
	if (!der)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"%sEncoded is not a certificate (PEM, "
				"base64 or DER).",
				g->prefix);
	g->der = der;
	/* The reference: the store is searched for the certificate's key;
	 * SSLCertSubject tells whether it was found. Not finding it is no
	 * error here; using the certificate later is. */
	if (!search(s, g, NULL, der, &c)) {
		if (c->entry.key) {
			g_free(g->subject);
			g->subject =
			    spi_cert_subject(c->entry.der, c->entry.der_len);
		}
		spi_cert_choice_free(c);
	}
	spi_clear_error(s);
	return 0;
}

int spi_cert_choice_open(struct spop *s, const struct spi_cert_group *g,
			 bool need_key, struct spi_cert_choice **out)
{
	struct spi_cert_choice *c;

	*out = NULL;
	/* A subject whose search failed when it was set (the store, its type
	 * or password set after it, against the reference's order) is looked
	 * for again now, and not finding it is an error: a client
	 * certificate the application asked for is never silently left
	 * out. */
	if (!g->der && !g->wanted)
		return 0;
	int rc = g->der ? search(s, g, NULL, g->der, &c)
			: search(s, g, g->wanted, NULL, &c);
	if (rc)
		return rc;
	if (need_key && !c->entry.key) {
		char *subject =
		    spi_cert_subject(c->entry.der, c->entry.der_len);
		rc = spi_fail(s, SPOP_ERR_CREDENTIALS,
			      "The %s store holds no private key for "
			      "'%s', so it cannot be a client certificate.",
			      c->plugin->name, subject);
		g_free(subject);
		spi_cert_choice_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

const struct spop_certstore_ops *
spi_cert_choice_entry(const struct spi_cert_choice *c,
		      const struct spop_cert_entry **entry)
{
	*entry = &c->entry;
	return c->ops;
}

/* Every certificate block in a PEM text (SSLCACerts). */
static void add_pem_certs(GPtrArray *chain, const char *pem)
{
	gnutls_datum_t in = {(unsigned char *)pem, (unsigned)strlen(pem)};
	gnutls_x509_crt_t *list = NULL;
	unsigned n = 0;

	if (!*pem || gnutls_x509_crt_list_import2(&list, &n, &in,
						  GNUTLS_X509_FMT_PEM, 0) < 0)
		return;
	for (unsigned i = 0; i < n; i++) {
		gnutls_datum_t der;

		if (gnutls_x509_crt_export2(list[i], GNUTLS_X509_FMT_DER,
					    &der) >= 0) {
			g_ptr_array_add(chain, g_bytes_new(der.data, der.size));
			gnutls_free(der.data);
		}
		gnutls_x509_crt_deinit(list[i]);
	}
	gnutls_free(list);
}

const struct spop_tls_credential *
spi_cert_choice_credential(struct spi_cert_choice *c, const char *ca_certs)
{
	if (!c->chain) {
		c->chain = g_ptr_array_new_with_free_func(
		    (GDestroyNotify)g_bytes_unref);
		g_ptr_array_add(c->chain,
				g_bytes_new(c->entry.der, c->entry.der_len));
		add_pem_certs(c->chain, spi_str(ca_certs));
		c->chain_der = g_new0(const unsigned char *, c->chain->len);
		c->chain_len = g_new0(size_t, c->chain->len);
		for (guint i = 0; i < c->chain->len; i++) {
			gsize n;
			c->chain_der[i] =
			    g_bytes_get_data(c->chain->pdata[i], &n);
			c->chain_len[i] = n;
		}
	}
	c->cred = (struct spop_tls_credential){
	    .size = sizeof c->cred,
	    .chain_der = c->chain_der,
	    .chain_len = c->chain_len,
	    .n_chain = c->chain->len,
	    .store_ops = c->ops,
	    .key = c->entry.key,
	};
	return &c->cred;
}

int spi_cert_group_list(struct spop *s, const struct spi_cert_group *g,
			spop_cert_list_cb cb, void *ud)
{
	struct spi_cert_choice *c;
	int rc = open_store(s, g, &c);

	if (rc)
		return rc;
	for (size_t i = 0;; i++) {
		rc = entry_at(c, i);
		if (rc == SPOP_ERR_CERT_NOT_FOUND) {
			spi_clear_error(s);
			rc = 0;
			break;
		}
		if (rc)
			break;
		char *subject =
		    spi_cert_subject(c->entry.der, c->entry.der_len);
		char *issuer = spi_cert_issuer(c->entry.der, c->entry.der_len);
		char *serial = spi_cert_serial(c->entry.der, c->entry.der_len);
		const unsigned char *der = c->entry.der;
		size_t der_len = c->entry.der_len;
		char *pem = spi_cert_pem(&der, &der_len, 1);
		struct spop_cert_info info = {
		    .size = sizeof info,
		    .subject = subject,
		    .issuer = issuer,
		    .serial_number = serial,
		    .encoded = pem,
		    .encoded_len = strlen(pem),
		    .has_private_key = c->entry.key != NULL,
		};
		s->in_event++;
		cb(&info, ud);
		s->in_event--;
		g_free(subject);
		g_free(issuer);
		g_free(serial);
		g_free(pem);
	}
	spi_cert_choice_free(c);
	return rc;
}
