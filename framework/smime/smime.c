/* Decrypt, VerifySignature and DecryptAndVerifySignature: the core's half of
 * S/MIME (plugin.h, "S/MIME engine"). GMime finds the CMS object in the
 * message and the signed content, canonicalised (RFC 8551); the engine
 * named by Config SMIMEEngine does CMS; the unwrapped entity then replaces
 * the S/MIME entity in the message, which is stored again as Message.
 * The core also judges what an engine cannot see: which MIME part was
 * signed, and whether the signer's address is the From address (the
 * spoofing classes of "Johnny, you are fired", USENIX Security 2019). */
#include <gmime/gmime.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

#include "cert/cert.h"
#include "message-parse.h"
#include "spop-private.h"

#define MAX_LAYERS 4 /* sign-then-encrypt-then-sign... is not mail */

enum kind { K_NONE, K_ENVELOPED, K_OPAQUE, K_DETACHED };
#define WANT_ENVELOPED (1u << K_ENVELOPED)
#define WANT_SIGNED    ((1u << K_OPAQUE) | (1u << K_DETACHED))

struct signer {
	struct spop_smime_signer_info info; /* points into the strings below */
	char *status, *subject, *issuer, *serial, *emails, *pem;
	char *digest, *sigalg;
};

struct spi_smime {
	char *engine;
	GString *layers;
	int decrypted, verified, trusted, from_matches, weak;
	char *signed_part, *encrypted_part;
	char algorithm[64], key_algorithm[64];
	GPtrArray *signers;	 /* struct signer* */
	GPtrArray *chain;	 /* char*: PEM of each certificate carried */
	char *signing_algorithm; /* SigningAlgorithm, an OID or "" */
};

/* ---- SigningAlgorithm ---- */

static const struct digest {
	const char *key; /* lower case, without '-' */
	const char *oid;
} digests[] = {
    {"md5", "1.2.840.113549.2.5"},	  {"sha1", "1.3.14.3.2.26"},
    {"sha224", "2.16.840.1.101.3.4.2.4"}, {"sha256", "2.16.840.1.101.3.4.2.1"},
    {"sha384", "2.16.840.1.101.3.4.2.2"}, {"sha512", "2.16.840.1.101.3.4.2.3"},
};

/* The OID of a digest name ("SHA-256", "sha256", "sha-256") or of a dotted
 * OID given as such; NULL when it is neither. */
static const char *digest_oid(const char *name)
{
	char key[16];
	size_t n = 0;
	bool dotted = *name != '\0';

	for (const char *p = name; *p; p++)
		if (!g_ascii_isdigit(*p) && *p != '.')
			dotted = false;
	if (dotted && strchr(name, '.'))
		return name;
	for (const char *p = name; *p && n < sizeof key - 1; p++)
		if (*p != '-' && *p != '_')
			key[n++] = g_ascii_tolower(*p);
	key[n] = '\0';
	for (size_t i = 0; i < G_N_ELEMENTS(digests); i++)
		if (!strcmp(key, digests[i].key))
			return digests[i].oid;
	return NULL;
}

/* ---- state ---- */

static void signer_free(gpointer p)
{
	struct signer *g = p;

	g_free(g->status);
	g_free(g->subject);
	g_free(g->issuer);
	g_free(g->serial);
	g_free(g->emails);
	g_free(g->pem);
	g_free(g->digest);
	g_free(g->sigalg);
	g_free(g);
}

static struct spi_smime *state(struct spop *s)
{
	if (!s->smime) {
		s->smime = g_new0(struct spi_smime, 1);
		s->smime->signing_algorithm = g_strdup(digests[3].oid);
	}
	return s->smime;
}

void spi_smime_reset(struct spop *s)
{
	struct spi_smime *m = s->smime;

	if (!m)
		return;
	g_clear_pointer(&m->engine, g_free);
	if (m->layers)
		g_string_free(m->layers, TRUE);
	m->layers = NULL;
	g_clear_pointer(&m->signed_part, g_free);
	g_clear_pointer(&m->encrypted_part, g_free);
	g_clear_pointer(&m->signers, g_ptr_array_unref);
	g_clear_pointer(&m->chain, g_ptr_array_unref);
	m->decrypted = m->verified = m->trusted = m->from_matches = 0;
	m->weak = 0;
	m->algorithm[0] = m->key_algorithm[0] = '\0';
}

void spi_smime_free(struct spop *s)
{
	if (!s->smime)
		return;
	spi_smime_reset(s);
	g_free(s->smime->signing_algorithm);
	g_clear_pointer(&s->smime, g_free);
}

/* ---- finding the S/MIME entity (GMime) ---- */

struct found {
	GMimeObject *obj;
	GMimeMultipart *parent; /* NULL: the message's top part */
	int index;
	char *path; /* "" whole message, "2", "2.1" */
	enum kind kind;
};

static enum kind kind_of(GMimeObject *o)
{
	const char *ct = g_mime_object_get_header(o, "Content-Type");

	if (!ct)
		return K_NONE;
	if (GMIME_IS_MULTIPART(o))
		return spi_content_type_is_signed(ct) ? K_DETACHED : K_NONE;
	if (spi_content_type_is_encrypted(ct))
		return K_ENVELOPED;
	if (spi_content_type_is_signed(ct))
		return K_OPAQUE;
	return K_NONE;
}

/* Depth-first, the first entity of a wanted kind. An S/MIME entity that is
 * not wanted is not looked into: decrypting inside a signature would break
 * it. Attached messages (message/rfc822) are other messages. */
static bool find(GMimeObject *o, GMimeMultipart *parent, int index,
		 const char *path, unsigned want, struct found *f)
{
	enum kind k = kind_of(o);

	if (k != K_NONE && (want & (1u << k))) {
		*f = (struct found){o, parent, index, g_strdup(path), k};
		return true;
	}
	if (k != K_NONE || !GMIME_IS_MULTIPART(o))
		return false;
	GMimeMultipart *mp = GMIME_MULTIPART(o);
	int n = g_mime_multipart_get_count(mp);
	for (int i = 0; i < n; i++) {
		char *sub = *path ? g_strdup_printf("%s.%d", path, i + 1)
				  : g_strdup_printf("%d", i + 1);
		bool hit =
		    find(g_mime_multipart_get_part(mp, i), mp, i, sub, want, f);
		g_free(sub);
		if (hit)
			return true;
	}
	return false;
}

/* A memory stream with room for reserve bytes: growing by doubling would
 * hold the old and the new buffer at once, and a reservation costs no
 * memory until it is written (the pages are mapped lazily). */
static GMimeStream *mem_stream(size_t reserve)
{
	return g_mime_stream_mem_new_with_byte_array(
	    g_byte_array_sized_new((guint)MIN(reserve, G_MAXUINT)));
}

/* A stream's bytes, taken from it. */
static GByteArray *take_bytes(GMimeStream *mem)
{
	GByteArray *b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));

	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_object_unref(mem);
	return b;
}

/* The decoded content of a leaf part (base64 or binary CMS); NULL for a
 * multipart. */
static GByteArray *part_content(GMimeObject *o, size_t reserve)
{
	GMimeDataWrapper *w =
	    GMIME_IS_PART(o) ? g_mime_part_get_content(GMIME_PART(o)) : NULL;
	GMimeStream *mem;

	if (!w)
		return NULL;
	mem = mem_stream(reserve);
	g_mime_data_wrapper_write_to_stream(w, mem);
	return take_bytes(mem);
}

/* An object written as GMime keeps it (raw header values, the content as
 * received), with CRLF line ends: the canonical form RFC 8551 sec. 3.1.1
 * signs. GMime's own multipart/signed verification does the same. */
static GByteArray *canonical(GMimeObject *o, size_t reserve)
{
	GMimeStream *mem = mem_stream(reserve);
	GMimeStream *f = g_mime_stream_filter_new(mem);
	GMimeFilter *crlf = g_mime_filter_unix2dos_new(FALSE);

	g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), crlf);
	g_object_unref(crlf);
	g_mime_object_write_to_stream(o, NULL, f);
	g_mime_stream_flush(f);
	g_object_unref(f);
	return take_bytes(mem);
}

/* The content as one application/octet-stream part, base64 when stored. */
static GMimeObject *octet_part(const unsigned char *data, size_t len)
{
	GMimePart *p = g_mime_part_new_with_type("application", "octet-stream");
	GMimeStream *st =
	    g_mime_stream_mem_new_with_buffer((const char *)data, len);
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(
	    st, GMIME_CONTENT_ENCODING_DEFAULT);

	g_mime_part_set_content(p, w);
	g_mime_part_set_content_encoding(p, GMIME_CONTENT_ENCODING_BASE64);
	g_object_unref(w);
	g_object_unref(st);
	return GMIME_OBJECT(p);
}

/* Whether the content starts with a header line. */
static bool looks_like_entity(const unsigned char *d, size_t len)
{
	size_t i = 0;

	while (i < len && d[i] > ' ' && d[i] < 127 && d[i] != ':')
		i++;
	return i > 0 && i < len && d[i] == ':';
}

/* What an engine gave back, as the entity that replaces the S/MIME one.
 * Content that does not start with a header line is not a MIME entity
 * (gpgsm encrypts files, not mail), and GMime builds no entity from some
 * that do (a Content-Type it cannot read): either becomes an octet-stream
 * part, so the decrypted or verified bytes are kept rather than lost or
 * read wrongly. */
static GMimeObject *parse_entity(const unsigned char *data, size_t len)
{
	GMimeObject *o = NULL;

	if (looks_like_entity(data, len)) {
		GMimeStream *st =
		    g_mime_stream_mem_new_with_buffer((const char *)data, len);
		GMimeParser *parser = g_mime_parser_new_with_stream(st);

		o = g_mime_parser_construct_part(parser, NULL);
		g_object_unref(parser);
		g_object_unref(st);
	}
	return o ? o : octet_part(data, len);
}

static void replace(GMimeMessage *msg, const struct found *f, GMimeObject *by)
{
	if (f->parent) {
		GMimeObject *old =
		    g_mime_multipart_replace(f->parent, f->index, by);
		if (old)
			g_object_unref(old);
	} else {
		g_mime_message_set_mime_part(msg, by);
	}
}

/* ---- keys and trust ---- */

struct keyset {
	struct spop_smime_keys k;
	struct spi_cert_choice *choice;	    /* Cert*, for decryption */
	GPtrArray *signer, *anchors, *crls; /* GBytes* (DER) */
	const unsigned char **p[3];
	size_t *len[3];
};

static void keyset_clear(struct keyset *ks)
{
	spi_cert_choice_free(ks->choice);
	GPtrArray *lists[3] = {ks->signer, ks->anchors, ks->crls};
	for (int i = 0; i < 3; i++) {
		if (lists[i])
			g_ptr_array_unref(lists[i]);
		g_free(ks->p[i]);
		g_free(ks->len[i]);
	}
	memset(ks, 0, sizeof(*ks));
}

/* DER pointers and lengths of a list, for the engine. */
static size_t flatten(struct keyset *ks, int i, GPtrArray *list)
{
	ks->p[i] = g_new0(const unsigned char *, list->len + 1);
	ks->len[i] = g_new0(size_t, list->len + 1);
	for (guint j = 0; j < list->len; j++) {
		gsize n;
		ks->p[i][j] = g_bytes_get_data(list->pdata[j], &n);
		ks->len[i][j] = n;
	}
	return list->len;
}

/* An exported DER object joins out; the count of those added. */
static int add_der(GPtrArray *out, int exported, gnutls_datum_t *d)
{
	if (exported < 0)
		return 0;
	g_ptr_array_add(out, g_bytes_new(d->data, d->size));
	gnutls_free(d->data);
	return 1;
}

static int certs_der(const gnutls_datum_t *in, gnutls_x509_crt_fmt_t fmt,
		     GPtrArray *out)
{
	gnutls_x509_crt_t *list = NULL;
	unsigned count = 0;
	int n = 0;

	if (gnutls_x509_crt_list_import2(&list, &count, in, fmt, 0) < 0)
		return 0;
	for (unsigned i = 0; i < count; i++) {
		gnutls_datum_t d;
		n += add_der(
		    out,
		    gnutls_x509_crt_export2(list[i], GNUTLS_X509_FMT_DER, &d),
		    &d);
		gnutls_x509_crt_deinit(list[i]);
	}
	gnutls_free(list);
	return n;
}

static int crls_der(const gnutls_datum_t *in, gnutls_x509_crt_fmt_t fmt,
		    GPtrArray *out)
{
	gnutls_x509_crl_t *list = NULL;
	unsigned count = 0;
	int n = 0;

	if (gnutls_x509_crl_list_import2(&list, &count, in, fmt, 0) < 0)
		return 0;
	for (unsigned i = 0; i < count; i++) {
		gnutls_datum_t d;
		n += add_der(
		    out,
		    gnutls_x509_crl_export2(list[i], GNUTLS_X509_FMT_DER, &d),
		    &d);
		gnutls_x509_crl_deinit(list[i]);
	}
	gnutls_free(list);
	return n;
}

/* Every certificate (crl false) or CRL (crl true) of a PEM or DER file. */
static int load_der_file(struct spop *s, const char *setting, const char *file,
			 bool crl, GPtrArray *out)
{
	gchar *text = NULL;
	gsize len = 0;
	GError *err = NULL;
	int n = 0;

	if (!g_file_get_contents(file, &text, &len, &err)) {
		int rc = spi_fail(s, SPOP_ERR_FILE,
				  "Config %s: cannot read '%s': %s", setting,
				  file, err->message);
		g_error_free(err);
		return rc;
	}
	gnutls_datum_t in = {(unsigned char *)text, (unsigned)len};
	gnutls_x509_crt_fmt_t fmt = strstr(text, "-----BEGIN")
					? GNUTLS_X509_FMT_PEM
					: GNUTLS_X509_FMT_DER;
	n = crl ? crls_der(&in, fmt, out) : certs_der(&in, fmt, out);
	g_free(text);
	if (!n)
		return spi_fail(
		    s, SPOP_ERR_INVALID_VALUE,
		    "Config %s: '%s' holds no %s (PEM or DER).", setting, file,
		    crl ? "certificate revocation list" : "certificate");
	return 0;
}

static int keyset_for_verify(struct spop *s, struct keyset *ks)
{
	int rc;

	ks->signer =
	    g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	ks->anchors =
	    g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	ks->crls =
	    g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	if (s->signer_cert.der)
		g_ptr_array_add(ks->signer, g_bytes_ref(s->signer_cert.der));
	if (*s->cfg.smime_trusted_certs &&
	    (rc =
		 load_der_file(s, "SMIMETrustedCerts",
			       s->cfg.smime_trusted_certs, false, ks->anchors)))
		return rc;
	if (*s->cfg.smime_crl_file &&
	    (rc = load_der_file(s, "SMIMECRLFile", s->cfg.smime_crl_file, true,
				ks->crls)))
		return rc;
	ks->k.n_signer_certs = flatten(ks, 0, ks->signer);
	ks->k.signer_certs = ks->p[0];
	ks->k.signer_cert_lens = ks->len[0];
	ks->k.n_trust = flatten(ks, 1, ks->anchors);
	ks->k.trust_der = ks->p[1];
	ks->k.trust_len = ks->len[1];
	ks->k.n_crl = flatten(ks, 2, ks->crls);
	ks->k.crl_der = ks->p[2];
	ks->k.crl_len = ks->len[2];
	ks->k.allow_weak = s->cfg.smime_allow_weak_digests;
	ks->k.use_system_trust = s->cfg.smime_use_system_trust;
	return 0;
}

static int keyset_for_decrypt(struct spop *s, struct keyset *ks)
{
	const struct spop_cert_entry *entry;
	int rc = spi_cert_choice_open(s, &s->cert, true, &ks->choice);

	if (rc)
		return rc;
	if (!ks->choice)
		return spi_fail(s, SPOP_ERR_CERT_NOT_FOUND,
				"Decrypt needs the recipient's certificate "
				"and private key: set CertStoreType, "
				"CertStore (and CertStorePassword), then "
				"CertSubject or CertEncoded.");
	ks->k.store_ops = spi_cert_choice_entry(ks->choice, &entry);
	ks->k.entries = entry;
	ks->k.n_entries = 1;
	return 0;
}

/* ---- the From match ---- */

/* The certificate's e-mail addresses: SAN rfc822Name and E=. */
static GPtrArray *cert_emails(const unsigned char *der, size_t len)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	gnutls_x509_crt_t crt;
	gnutls_datum_t d = {(unsigned char *)der, (unsigned)len};
	char buf[512];
	size_t size;

	if (!der || gnutls_x509_crt_init(&crt) < 0)
		return out;
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) >= 0) {
		for (unsigned i = 0;; i++) {
			size = sizeof buf - 1;
			int t = gnutls_x509_crt_get_subject_alt_name(
			    crt, i, buf, &size, NULL);
			if (t == GNUTLS_E_SHORT_MEMORY_BUFFER)
				continue;
			if (t < 0)
				break;
			buf[size] = '\0';
			if (t == GNUTLS_SAN_RFC822NAME)
				g_ptr_array_add(out, g_strdup(buf));
		}
		for (unsigned i = 0;; i++) {
			size = sizeof buf - 1;
			if (gnutls_x509_crt_get_dn_by_oid(
				crt, GNUTLS_OID_PKCS9_EMAIL, i, 0, buf, &size) <
			    0)
				break;
			buf[size] = '\0';
			g_ptr_array_add(out, g_strdup(buf));
		}
	}
	gnutls_x509_crt_deinit(crt);
	return out;
}

/* Every From address is one of the certificate's; at least one. */
static bool from_matches(GPtrArray *from, GPtrArray *emails)
{
	if (!from->len)
		return false;
	for (guint i = 0; i < from->len; i++) {
		const struct spi_recipient *r = from->pdata[i];
		bool hit = false;

		for (guint j = 0; j < emails->len && !hit; j++)
			hit = r->address &&
			      !g_ascii_strcasecmp(r->address, emails->pdata[j]);
		if (!hit)
			return false;
	}
	return true;
}

/* ---- one method run ---- */

struct run {
	struct spop *s;
	struct spi_smime *m;
	struct spi_host host;
	const struct spop_smime_ops *ops;
	GMimeMessage *msg;
	GPtrArray *from; /* struct spi_recipient*: the outer From */
	bool changed;	 /* msg differs from Message */
	size_t reserve;	 /* Message's length: room for what comes out */
};

static void record_signer(struct run *r, const struct spop_smime_signer *in,
			  int layer)
{
	struct signer *g = g_new0(struct signer, 1);
	const unsigned char *der = in->cert_der;
	size_t len = in->cert_der_len;
	GPtrArray *emails = cert_emails(der, len);
	GString *joined = g_string_new(NULL);

	for (guint i = 0; i < emails->len; i++)
		g_string_append_printf(joined, "%s%s", i ? ", " : "",
				       (const char *)emails->pdata[i]);
	g->status = g_strndup(in->status, sizeof in->status);
	g->subject = der ? spi_cert_subject(der, len) : g_strdup("");
	g->issuer = der ? spi_cert_issuer(der, len) : g_strdup("");
	g->serial = der ? spi_cert_serial(der, len) : g_strdup("");
	g->emails = g_string_free(joined, FALSE);
	g->pem = der ? spi_cert_pem(&der, &len, 1) : g_strdup("");
	g->digest =
	    g_strndup(in->digest_algorithm, sizeof in->digest_algorithm);
	g->sigalg =
	    g_strndup(in->signature_algorithm, sizeof in->signature_algorithm);
	g->info = (struct spop_smime_signer_info){
	    .size = sizeof g->info,
	    .layer = layer,
	    .signature_ok = in->signature_ok != 0,
	    .trusted = in->trusted != 0,
	    .trust_failures = in->trust_failures,
	    .weak = in->weak != 0,
	    .from_matches = der && from_matches(r->from, emails),
	    .status = g->status,
	    .subject = g->subject,
	    .issuer = g->issuer,
	    .serial_number = g->serial,
	    .emails = g->emails,
	    .encoded = g->pem,
	    .encoded_len = strlen(g->pem),
	    .digest_algorithm = g->digest,
	    .signature_algorithm = g->sigalg,
	    .signing_time = in->signing_time,
	};
	g_ptr_array_unref(emails);
	g_ptr_array_add(r->m->signers, g);
}

static void add_layer(struct run *r, const char *what)
{
	if (r->m->layers->len)
		g_string_append_c(r->m->layers, ',');
	g_string_append(r->m->layers, what);
}

static int decrypt_layer(struct run *r, const struct found *f)
{
	struct spop *s = r->s;
	struct keyset ks = {.k.size = sizeof ks.k};
	struct spop_smime_result res = {.size = sizeof res};
	GByteArray *cms = part_content(f->obj, r->reserve);
	int rc = keyset_for_decrypt(s, &ks);

	if (!rc && (!cms || !cms->len))
		rc = spi_fail(s, SPOP_ERR_DECRYPT,
			      "The encrypted part%s%s holds no CMS data.",
			      *f->path ? " " : "", f->path);
	if (!rc)
		rc = r->ops->decrypt(&r->host.pub, cms->data, cms->len, &ks.k,
				     &res);
	if (cms)
		g_byte_array_free(cms, TRUE);
	keyset_clear(&ks);
	if (!rc && !res.decrypted)
		rc = spi_fail(s, SPOP_ERR_DECRYPT,
			      "The %s engine decrypted nothing.", r->m->engine);
	if (!rc) {
		GMimeObject *inner = parse_entity(res.content, res.content_len);
		replace(r->msg, f, inner);
		g_object_unref(inner);
		r->changed = true;
		r->m->decrypted = 1;
		g_strlcpy(r->m->algorithm, res.algorithm,
			  sizeof r->m->algorithm);
		g_strlcpy(r->m->key_algorithm, res.key_algorithm,
			  sizeof r->m->key_algorithm);
		if (!r->m->encrypted_part)
			r->m->encrypted_part = g_strdup(f->path);
		add_layer(r, "enveloped");
	} else if (s->error_code != SPOP_ERR_DECRYPT &&
		   rc == SPOP_ERR_DECRYPT) {
		spi_fail(s, rc, "The message could not be decrypted.");
	}
	r->ops->result_clear(&r->host.pub, &res);
	return rc;
}

/* The reference: after a successful verification SignerCert* describes
 * the signer and SignerCertChain* the certificates the message carried. */
static void adopt_signer(struct run *r, const struct spop_smime_result *res)
{
	struct spop *s = r->s;
	struct spi_cert_group *g = &s->signer_cert;

	if (res->n_signers && res->signers[0].cert_der) {
		g_clear_pointer(&g->der, g_bytes_unref);
		g->der = g_bytes_new(res->signers[0].cert_der,
				     res->signers[0].cert_der_len);
		g_free(g->subject);
		g->subject = spi_cert_subject(res->signers[0].cert_der,
					      res->signers[0].cert_der_len);
		g_clear_pointer(&g->wanted, g_free);
		const char *oid = digest_oid(res->signers[0].digest_algorithm);
		g_free(r->m->signing_algorithm);
		r->m->signing_algorithm = g_strdup(oid ? oid : "");
	}
	g_ptr_array_set_size(r->m->chain, 0);
	for (size_t i = 0; i < res->n_chain; i++) {
		const unsigned char *der = res->chain_der[i];
		g_ptr_array_add(r->m->chain,
				spi_cert_pem(&der, &res->chain_len[i], 1));
	}
}

/* The first failing signer of this layer, as an error; 0 when all hold. */
static int judge_signers(struct run *r, const struct spop_smime_result *res,
			 const char *path)
{
	struct spop *s = r->s;
	const char *where = *path ? " of part " : "";

	if (!res->n_signers)
		return spi_fail(s, SPOP_ERR_CERT_VERIFY,
				"The signed data%s%s has no signer.", where,
				path);
	for (size_t i = 0; i < res->n_signers; i++) {
		const struct spop_smime_signer *g = &res->signers[i];
		char *who = g->cert_der
				? spi_cert_subject(g->cert_der, g->cert_der_len)
				: NULL;
		int rc = 0;

		if (!g->cert_der)
			rc = spi_fail(
			    s, SPOP_ERR_CERT_NOT_FOUND,
			    "No certificate for signer %zu of %zu%s%s: "
			    "the message carries none that matches "
			    "and SignerCert* has none (%.*s).",
			    i + 1, res->n_signers, where, path,
			    (int)sizeof g->status, g->status);
		else if (!g->signature_ok)
			rc = spi_fail(s, SPOP_ERR_CERT_VERIFY,
				      "The signature of signer %zu of %zu "
				      "('%s')%s%s does not verify: %.*s",
				      i + 1, res->n_signers, who, where, path,
				      (int)sizeof g->status, g->status);
		g_free(who);
		if (rc)
			return rc;
	}
	return 0;
}

static int verify_layer(struct run *r, const struct found *f, int layer)
{
	struct spop *s = r->s;
	struct keyset ks = {.k.size = sizeof ks.k};
	struct spop_smime_result res = {.size = sizeof res};
	GByteArray *cms = NULL, *content = NULL;
	GMimeObject *signed_obj = NULL;
	int rc;

	if (f->kind == K_DETACHED) {
		GMimeMultipart *mp = GMIME_MULTIPART(f->obj);
		if (g_mime_multipart_get_count(mp) != 2)
			return spi_fail(s, SPOP_ERR_CERT_VERIFY,
					"The multipart/signed entity%s%s has "
					"%d parts, not 2 (content and "
					"signature).",
					*f->path ? " at part " : "", f->path,
					g_mime_multipart_get_count(mp));
		signed_obj = g_mime_multipart_get_part(mp, 0);
		content = canonical(signed_obj, r->reserve);
		cms = part_content(g_mime_multipart_get_part(mp, 1), 0);
	} else {
		cms = part_content(f->obj, r->reserve);
	}
	rc = keyset_for_verify(s, &ks);
	if (!rc && (!cms || !cms->len))
		rc = spi_fail(s, SPOP_ERR_CERT_VERIFY,
			      "The signature%s%s holds no CMS data.",
			      *f->path ? " of part " : "", f->path);
	if (!rc)
		rc = r->ops->verify(&r->host.pub, cms->data, cms->len,
				    content ? content->data : NULL,
				    content ? content->len : 0, &ks.k, &res);
	if (cms)
		g_byte_array_free(cms, TRUE);
	if (content)
		g_byte_array_free(content, TRUE);
	keyset_clear(&ks);
	/* An engine says 284 for CMS it cannot read; for a verification the
	 * reference's word is 280, with the engine's reason kept. */
	if (rc == SPOP_ERR_DECRYPT) {
		char *why = g_strdup(spi_str(s->error_text));
		rc = spi_fail(s, SPOP_ERR_CERT_VERIFY,
			      "The signature%s%s is not readable CMS: %s",
			      *f->path ? " of part " : "", f->path, why);
		g_free(why);
	}
	if (!rc) {
		for (size_t i = 0; i < res.n_signers; i++)
			record_signer(r, &res.signers[i], layer);
		if (!r->m->signed_part)
			r->m->signed_part = g_strdup(f->path);
		rc = judge_signers(r, &res, f->path);
	}
	if (!rc && f->kind == K_OPAQUE && !res.content)
		rc = spi_fail(s, SPOP_ERR_CERT_VERIFY,
			      "The signed data%s%s carries no content.",
			      *f->path ? " of part " : "", f->path);
	if (!rc) {
		GMimeObject *inner =
		    f->kind == K_DETACHED
			? g_object_ref(signed_obj)
			: parse_entity(res.content, res.content_len);
		replace(r->msg, f, inner);
		g_object_unref(inner);
		r->changed = true;
		adopt_signer(r, &res);
		add_layer(r, "signed");
	}
	r->ops->result_clear(&r->host.pub, &res);
	return rc;
}

/* Writes the unwrapped message back as Message (CRLF line ends). raw,
 * the old Message GMime read in place, is freed as soon as GMime lets go
 * of it, before the new Message is built. */
static void store_message(struct run *r, GByteArray *raw)
{
	GMimeStream *mem = mem_stream(r->reserve);
	GMimeStream *f = g_mime_stream_filter_new(mem);
	GMimeFilter *crlf = g_mime_filter_unix2dos_new(FALSE);

	g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), crlf);
	g_object_unref(crlf);
	g_mime_object_write_to_stream(GMIME_OBJECT(r->msg), NULL, f);
	g_mime_stream_flush(f);
	g_object_unref(f);
	g_clear_object(&r->msg);
	g_byte_array_free(raw, TRUE);
	GByteArray *b = take_bytes(mem);
	spi_message_load(r->s, (const char *)b->data, b->len);
	g_byte_array_free(b, TRUE);
}

/* GMime reads Message in place rather than a copy, which would cost the
 * message's size again at the peak: the GString's buffer moves into a
 * GByteArray (GString -> GBytes -> GByteArray keep the pointer while
 * nothing else holds it) and back when Message is kept. */
static GByteArray *lend_raw(struct spop *s)
{
	GBytes *b = g_string_free_to_bytes(s->msg.raw);

	s->msg.raw = NULL;
	return g_bytes_unref_to_array(b);
}

static void return_raw(struct spop *s, GByteArray *a)
{
	gsize len;
	char *data = g_bytes_unref_to_data(g_byte_array_free_to_bytes(a), &len);
	GString *g = g_string_new(NULL);

	/* The buffer came from a GString: it still ends with the NUL at
	 * len (GBytes and GByteArray only hide it). */
	g_free(g->str);
	g->str = data;
	g->len = len;
	g->allocated_len = len + 1;
	s->msg.raw = g;
}

static const char *what_for(unsigned want)
{
	if (want == WANT_ENVELOPED)
		return "encrypted";
	if (want == WANT_SIGNED)
		return "signed";
	return "encrypted or signed";
}

static int open_engine(struct run *r)
{
	struct spop *s = r->s;
	const struct spop_plugin_descriptor *d;
	int rc =
	    spi_plugin_by_name(s, SPOP_PLUGIN_SMIME, s->cfg.smime_engine, &d);

	if (rc)
		return rc;
	r->ops = d->ops;
	if (!r->ops || !r->ops->decrypt || !r->ops->verify ||
	    !r->ops->result_clear)
		return spi_fail(s, SPOP_ERR_PLUGIN_INVALID,
				"The S/MIME engine '%s' lacks decrypt, verify "
				"or result_clear.",
				d->name);
	r->m->engine = g_strdup(d->name);
	spi_host_init(&r->host, s, NULL);
	return 0;
}

static int run_layers(struct run *r, unsigned want, int max_layers)
{
	struct spop *s = r->s;
	int done = 0, rc = 0;

	while (done < max_layers) {
		struct found f;
		GMimeObject *top = g_mime_message_get_mime_part(r->msg);

		if (!top || !find(top, NULL, 0, "", want, &f))
			break;
		rc = f.kind == K_ENVELOPED ? decrypt_layer(r, &f)
					   : verify_layer(r, &f, done);
		g_free(f.path);
		if (rc)
			break;
		done++;
	}
	if (!rc && !done)
		rc =
		    spi_fail(s,
			     want == WANT_SIGNED ? SPOP_ERR_CERT_VERIFY
						 : SPOP_ERR_DECRYPT,
			     "The message is not S/MIME %s (Content-Type: "
			     "%s).",
			     what_for(want),
			     *spi_str(s->msg.content_type) ? s->msg.content_type
							   : "none");
	return rc;
}

/* Aggregates the signers' verdicts: none of them may be read as "valid"
 * unless all are. */
static void aggregate(struct spi_smime *m)
{
	m->verified = m->trusted = m->from_matches = m->signers->len > 0;
	for (guint i = 0; i < m->signers->len; i++) {
		const struct signer *g = m->signers->pdata[i];
		m->verified &= g->info.signature_ok;
		m->trusted &= g->info.trusted;
		m->from_matches &= g->info.from_matches;
		m->weak |= g->info.weak;
	}
}

static int smime_method(struct spop *s, unsigned want, int max_layers)
{
	struct run r = {.s = s};
	int rc = spi_enter(s);

	if (rc)
		return rc;
	spi_smime_reset(s);
	r.m = state(s);
	r.m->layers = g_string_new(NULL);
	r.m->signers = g_ptr_array_new_with_free_func(signer_free);
	r.m->chain = g_ptr_array_new_with_free_func(g_free);
	/* a body Retrieve sent to LocalFile or a stream is read back first */
	rc = spi_message_complete(s, true);
	if (rc)
		goto out;
	if (!s->msg.raw || !s->msg.raw->len) {
		rc = spi_fail(s, SPOP_ERR_STATE,
			      "There is no message to work on: Retrieve one "
			      "(or load one with spop_set_message) first.");
		goto out;
	}
	if (s->msg.raw_truncated) {
		rc = spi_fail(s, SPOP_ERR_STATE,
			      "Message holds only the first %lld bytes of "
			      "this message (MessageMemoryLimit): raise the "
			      "limit to decrypt or verify it.",
			      s->cfg.message_memory_limit);
		goto out;
	}
	rc = open_engine(&r);
	if (rc)
		goto out;

	spi_gmime_init();
	r.from =
	    g_ptr_array_new_with_free_func((GDestroyNotify)spi_recipient_free);
	spi_parse_address_list(s->msg.from, 0, r.from);
	r.reserve = s->msg.raw->len;
	GByteArray *raw = lend_raw(s);
	GMimeStream *st = g_mime_stream_mem_new_with_byte_array(raw);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(st), FALSE);
	GMimeParser *parser = g_mime_parser_new_with_stream(st);
	r.msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(st);
	if (!r.msg) {
		rc = spi_fail(s, SPOP_ERR_STATE,
			      "Message is not a MIME message GMime can read.");
	} else {
		rc = run_layers(&r, want, max_layers);
		aggregate(r.m);
	}
	/* What was unwrapped stays unwrapped, even when a later layer fails:
	 * a decrypted message is not thrown away because its signature is
	 * bad. */
	if (r.changed) {
		store_message(&r, raw);
	} else {
		g_clear_object(&r.msg);
		return_raw(s, raw);
	}
	g_ptr_array_unref(r.from);
out:
	return spi_leave(s, rc);
}

SPI_EXPORT int spop_decrypt(spop_t *s)
{
	return smime_method(s, WANT_ENVELOPED, 1);
}

SPI_EXPORT int spop_verify_signature(spop_t *s)
{
	return smime_method(s, WANT_SIGNED, 1);
}

SPI_EXPORT int spop_decrypt_and_verify_signature(spop_t *s)
{
	return smime_method(s, WANT_ENVELOPED | WANT_SIGNED, MAX_LAYERS);
}

SPI_EXPORT int spop_set_message(spop_t *s, const char *data, size_t len)
{
	if (!data && len)
		return spi_fail(s, SPOP_ERR_INVALID_ARGUMENT,
				"spop_set_message: no data for %zu bytes.",
				len);
	if (s->busy || s->in_event)
		return spi_fail(s, SPOP_ERR_BUSY,
				"spop_set_message: busy executing the current "
				"method.");
	if ((long long)len > s->cfg.message_memory_limit)
		return spi_fail(s, SPOP_ERR_MESSAGE_TOO_LONG,
				"The message (%zu bytes) is larger than "
				"MessageMemoryLimit (%lld bytes).",
				len, s->cfg.message_memory_limit);
	spi_smime_reset(s);
	spi_message_load(s, data ? data : "", len);
	spi_clear_error(s);
	return 0;
}

/* ---- properties and verdicts ---- */

SPI_EXPORT int spop_get_signer_cert_chain_count(spop_t *s)
{
	return s->smime && s->smime->chain ? (int)s->smime->chain->len : 0;
}

SPI_EXPORT int spop_get_signer_cert_chain_encoded(spop_t *s, int index,
						  const char **data,
						  size_t *len)
{
	*data = "";
	*len = 0;
	if (index < 0 || index >= spop_get_signer_cert_chain_count(s))
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"SignerCertChain index %d is out of range (%d "
				"certificates).",
				index, spop_get_signer_cert_chain_count(s));
	*data = s->smime->chain->pdata[index];
	*len = strlen(*data);
	return 0;
}

SPI_EXPORT const char *spop_get_signing_algorithm(spop_t *s)
{
	return state(s)->signing_algorithm;
}

SPI_EXPORT int spop_set_signing_algorithm(spop_t *s, const char *value)
{
	const char *oid = value ? digest_oid(value) : NULL;

	if (!oid)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"SigningAlgorithm '%s' is none of md5, sha1, "
				"sha-224, sha-256, sha-384, sha-512 or an "
				"OID.",
				spi_str(value));
	char *copy = g_strdup(oid);
	g_free(state(s)->signing_algorithm);
	s->smime->signing_algorithm = copy;
	return 0;
}

/* Copies as much of a struct as the caller's size says it has. */
static int copy_out(struct spop *s, void *out, const void *in, size_t ours,
		    const char *what)
{
	size_t theirs;

	if (!out)
		return spi_fail(s, SPOP_ERR_INVALID_ARGUMENT, "%s: NULL.",
				what);
	memcpy(&theirs, out, sizeof theirs);
	if (theirs < sizeof(size_t))
		return spi_fail(s, SPOP_ERR_INVALID_ARGUMENT,
				"%s: set its size member first.", what);
	theirs = MIN(theirs, ours);
	memcpy(out, in, theirs);
	memcpy(out, &theirs, sizeof theirs);
	return 0;
}

SPI_EXPORT int spop_get_smime_status(spop_t *s, struct spop_smime_status *out)
{
	const struct spi_smime *m = s->smime;
	struct spop_smime_status st = {.size = sizeof st};

	st.engine = m && m->engine ? m->engine : "";
	st.layers = m && m->layers ? m->layers->str : "";
	if (m) {
		st.decrypted = m->decrypted;
		st.verified = m->verified;
		st.trusted = m->trusted;
		st.from_matches = m->from_matches;
		st.weak = m->weak;
		st.signed_part = m->signed_part;
		st.encrypted_part = m->encrypted_part;
		st.signer_count = m->signers ? (int)m->signers->len : 0;
	}
	st.algorithm = m ? m->algorithm : "";
	st.key_algorithm = m ? m->key_algorithm : "";
	return copy_out(s, out, &st, sizeof st, "spop_get_smime_status");
}

SPI_EXPORT int spop_get_smime_signer(spop_t *s, int index,
				     struct spop_smime_signer_info *out)
{
	struct spop_smime_status st = {.size = sizeof st};

	spop_get_smime_status(s, &st);
	if (index < 0 || index >= st.signer_count)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"S/MIME signer %d is out of range (%d "
				"signers).",
				index, st.signer_count);
	const struct signer *g = s->smime->signers->pdata[index];
	return copy_out(s, out, &g->info, sizeof g->info,
			"spop_get_smime_signer");
}
