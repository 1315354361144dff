/* Cert store "pkcs11" (CertStoreType 23): the certificates of a PKCS#11
 * token, with handles on the token's private keys. Keys never leave the
 * token: they sign, decrypt (RSA) and derive (ECDH) inside it, and
 * key_export is refused.
 *
 * CertStore names the token in one of two forms:
 *
 *   MODULE[;token=LABEL]
 *       MODULE is the path of a PKCS#11 module (a shared library, e.g.
 *       /usr/lib/softhsm/libsofthsm2.so). Without ";token=" the store is the
 *       first token of the module (in slot order) that shows a certificate
 *       before login, or the module's first token when none does; with it,
 *       the token whose label is LABEL (the text after "token=", as is, up
 *       to 32 bytes). The last ";token=" of the value counts, so a path
 *       may hold ';'.
 *
 *   pkcs11:ATTRIBUTES  (an RFC 7512 PKCS#11 URI)
 *       module-path= names the module; without it the modules registered
 *       with p11-kit are searched (module-name= picks one of them by its
 *       p11-kit name). token=, manufacturer=, model=, serial= (and
 *       slot-*, library-*) select the token, as above when several match.
 *       id= and object= keep only the certificates with that CKA_ID /
 *       CKA_LABEL; type= is ignored (entries are certificates). pin-value=
 *       is the PIN when CertStorePassword is empty; it is never shown in
 *       a message.
 *
 * CertStorePassword is the user PIN. Opening logs in exactly once
 * (C_Login; a wrong PIN is never retried, by this plugin or by GnuTLS) and
 * stays logged in until the store is closed. A wrong PIN is 273, and the
 * message says what the token reports about the tries left
 * (CKF_USER_PIN_COUNT_LOW, _FINAL_TRY, _LOCKED); a PIN the token reports
 * locked is not tried at all. An empty PIN logs in only on a token with a
 * protected authentication path (a PIN pad); otherwise the store shows the
 * certificates the token shows without login, none of them with a key.
 * Within one process a token stays logged in while any store on it is
 * open: PKCS#11 keeps one login per application, so a second open then
 * does not check its PIN again.
 *
 * Entries are the token's X.509 certificates in the token's order; an
 * entry carries a key when the token holds a private key of the same
 * CKA_ID and of the certificate's algorithm (RSA or EC). Certificates,
 * listing, signing and RSA PKCS#1 v1.5 decryption go through GnuTLS's
 * PKCS#11 support (p11-kit underneath); RSA-OAEP and ECDH, which GnuTLS
 * 3.7 does not offer on a token, through the PKCS#11 API directly
 * (CKM_RSA_PKCS_OAEP, CKM_ECDH1_DERIVE). ECDSA signatures are DER
 * (ECDSA-Sig-Value), as every store gives them.
 *
 * probe() always says no: Auto (99) never picks a token, whose name is a
 * module path rather than data. */
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/pkcs11.h>
#include <gnutls/x509.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <spop/plugin.h>

/* Longest CertStore value taken: a path or a URI, never near it. */
#define MAX_STORE_LEN 4096

struct p11_store;

/* A private key on the token. */
struct p11_key {
	struct p11_store *st;
	gnutls_privkey_t priv;	  /* GnuTLS's handle: sign, PKCS#1 decrypt */
	CK_OBJECT_HANDLE obj;	  /* in st->session: OAEP, ECDH */
	CK_KEY_TYPE type;	  /* CKK_RSA or CKK_EC */
	gnutls_ecc_curve_t curve; /* EC: the certificate's curve */
	unsigned char *id;	  /* CKA_ID */
	size_t id_len;
	char *id_hex; /* the same in hex, for messages */
};

struct p11_cert {
	gnutls_datum_t der; /* gnutls-allocated */
	struct p11_key *key;
};

struct p11_store {
	char *name; /* "PKCS#11 token 'x' (module /path)" */
	CK_FUNCTION_LIST *mod;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE session;
	bool has_session;
	bool logged_in;
	pthread_mutex_t lock; /* the session is used by one call at a time */
	struct p11_cert *certs;
	size_t n_certs;
	struct p11_key **keys;
	size_t n_keys;
};

/* ---- small helpers -------------------------------------------------- */

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}

static char *xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static char *hex(const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(n * 2 + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

/* GnuTLS's reason without its full stop, for the middle of a sentence. */
static const char *reason(int ret, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "%s", gnutls_strerror(ret));
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	return buf;
}

#define REASON(ret) reason((ret), (char[160]){0}, 160)

/* A space-padded PKCS#11 text field without its padding. */
static char *field(const unsigned char *p, size_t n)
{
	char *s = p11_kit_space_strdup(p, n);

	return s ? s : xstrdup("");
}

/* The CertStore value for messages: a URI's pin-value is hidden. */
static char *shown(const char *value)
{
	const char *pin = strcasestr(value, "pin-value=");
	const char *end;

	if (strncasecmp(value, "pkcs11:", 7) != 0 || !pin)
		return xstrdup(value);
	end = pin + strlen("pin-value=");
	end += strcspn(end, ";&?");
	return xasprintf("%.*spin-value=(hidden)%s", (int)(pin - value), value,
			 end);
}

/* ---- descriptor of the CertStore value ------------------------------ */

struct target {
	char *shown;	   /* the value, for messages */
	char *module_path; /* NULL: p11-kit's registered modules */
	char *module_name; /* p11-kit module name from the URI, or NULL */
	P11KitUri *uri;	   /* token, module info and object filters */
	const char *pin;   /* CertStorePassword, else the URI's pin-value */
	bool token_named;  /* the value names a token */
};

static void target_clear(struct target *t)
{
	free(t->shown);
	free(t->module_path);
	free(t->module_name);
	if (t->uri)
		p11_kit_uri_free(t->uri);
	memset(t, 0, sizeof(*t));
}

static bool uri_names_token(P11KitUri *uri)
{
	CK_TOKEN_INFO *ti = p11_kit_uri_get_token_info(uri);
	static const CK_TOKEN_INFO none;

	return memcmp(ti->label, none.label, sizeof(ti->label)) ||
	       memcmp(ti->manufacturerID, none.manufacturerID,
		      sizeof(ti->manufacturerID)) ||
	       memcmp(ti->model, none.model, sizeof(ti->model)) ||
	       memcmp(ti->serialNumber, none.serialNumber,
		      sizeof(ti->serialNumber));
}

static int parse_target(struct spop_host *host, const char *value,
			const char *password, struct target *t)
{
	int r;

	memset(t, 0, sizeof(*t));
	t->shown = shown(value);
	t->uri = p11_kit_uri_new();
	if (!t->shown || !t->uri)
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the PKCS#11 store: out of "
				       "memory.");
	if (strncasecmp(value, "pkcs11:", 7) == 0) {
		r = p11_kit_uri_parse(value, P11_KIT_URI_FOR_ANY, t->uri);
		if (r != P11_KIT_URI_OK)
			return host->set_error(
			    host, SPOP_ERR_CERT_STORE,
			    "Cannot open the PKCS#11 store '%s': it is not a "
			    "valid PKCS#11 URI (RFC 7512): %s.",
			    t->shown, p11_kit_uri_message(r));
		if (p11_kit_uri_get_module_path(t->uri))
			t->module_path =
			    xstrdup(p11_kit_uri_get_module_path(t->uri));
		if (p11_kit_uri_get_module_name(t->uri))
			t->module_name =
			    xstrdup(p11_kit_uri_get_module_name(t->uri));
		t->token_named = uri_names_token(t->uri);
		if (!*password && p11_kit_uri_get_pin_value(t->uri))
			password = p11_kit_uri_get_pin_value(t->uri);
	} else {
		const char *label = NULL, *p = value;

		/* the last ";token=" counts: a path may hold ';' */
		while ((p = strstr(p, ";token="))) {
			label = p;
			p++;
		}
		if (label) {
			size_t n = strlen(label + 7);
			CK_TOKEN_INFO *ti = p11_kit_uri_get_token_info(t->uri);

			if (n == 0 || n > sizeof(ti->label))
				return host->set_error(
				    host, SPOP_ERR_CERT_STORE,
				    "Cannot open the PKCS#11 store '%s': a "
				    "token label has 1 to %zu bytes, '%s' has "
				    "%zu.",
				    t->shown, sizeof(ti->label), label + 7, n);
			memset(ti->label, ' ', sizeof(ti->label));
			memcpy(ti->label, label + 7, n);
			t->token_named = true;
			t->module_path = malloc((size_t)(label - value) + 1);
			if (t->module_path) {
				memcpy(t->module_path, value,
				       (size_t)(label - value));
				t->module_path[label - value] = '\0';
			}
		} else {
			t->module_path = xstrdup(value);
		}
		if (!t->module_path)
			return host->set_error(host, SPOP_ERR_CERT_STORE,
					       "Cannot open the PKCS#11 store: "
					       "out of memory.");
		if (!*t->module_path)
			return host->set_error(
			    host, SPOP_ERR_CERT_STORE,
			    "Cannot open the PKCS#11 store '%s': CertStore "
			    "names no module (a module path, or a pkcs11: "
			    "URI).",
			    t->shown);
	}
	t->pin = password;
	return 0;
}

/* ---- modules and tokens --------------------------------------------- */

static void module_done(CK_FUNCTION_LIST *m)
{
	p11_kit_module_finalize(m);
	p11_kit_module_release(m);
}

/* The modules to search: the one named by path, or p11-kit's registered
 * ones (optionally only the one of module-name). NULL-terminated,
 * initialised; release each with module_done and the array with free. */
static int load_modules(struct spop_host *host, const struct target *t,
			CK_FUNCTION_LIST ***out)
{
	CK_FUNCTION_LIST **list, *m;
	CK_RV rv;
	size_t n = 0;

	*out = NULL;
	if (t->module_path) {
		m = p11_kit_module_load(t->module_path, 0);
		if (!m)
			return host->set_error(
			    host, SPOP_ERR_CERT_STORE,
			    "Cannot open the PKCS#11 store '%s': the module "
			    "'%s' cannot be loaded: %s.",
			    t->shown, t->module_path,
			    p11_kit_message() ? p11_kit_message()
					      : "no reason given");
		rv = p11_kit_module_initialize(m);
		if (rv != CKR_OK) {
			p11_kit_module_release(m);
			return host->set_error(
			    host, SPOP_ERR_CERT_STORE,
			    "Cannot open the PKCS#11 store '%s': the module "
			    "'%s' fails to initialise: %s.",
			    t->shown, t->module_path, p11_kit_strerror(rv));
		}
		list = calloc(2, sizeof(*list));
		if (!list) {
			module_done(m);
			return host->set_error(host, SPOP_ERR_CERT_STORE,
					       "Cannot open the PKCS#11 store: "
					       "out of memory.");
		}
		list[0] = m;
		*out = list;
		return 0;
	}
	CK_FUNCTION_LIST **all = p11_kit_modules_load(NULL, 0);
	size_t count = 0;

	for (size_t i = 0; all && all[i]; i++)
		count++;
	list = calloc(count + 1, sizeof(*list));
	if (!list) {
		if (all)
			p11_kit_modules_release(all);
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the PKCS#11 store: out of "
				       "memory.");
	}
	for (size_t i = 0; i < count; i++) {
		char *name = p11_kit_module_get_name(all[i]);
		bool wanted = !t->module_name ||
			      (name && strcmp(name, t->module_name) == 0);

		free(name);
		if (wanted && p11_kit_module_initialize(all[i]) == CKR_OK)
			list[n++] = all[i];
		else
			p11_kit_module_release(all[i]);
	}
	free(all); /* the modules now belong to list */
	if (n == 0) {
		free(list);
		if (t->module_name)
			return host->set_error(
			    host, SPOP_ERR_CERT_STORE,
			    "Cannot open the PKCS#11 store '%s': p11-kit has "
			    "no usable module named '%s' (the URI has no "
			    "module-path).",
			    t->shown, t->module_name);
		return host->set_error(
		    host, SPOP_ERR_CERT_STORE,
		    "Cannot open the PKCS#11 store '%s': the URI has no "
		    "module-path, and p11-kit has no usable registered "
		    "module.",
		    t->shown);
	}
	*out = list;
	return 0;
}

static void modules_done(CK_FUNCTION_LIST **list, CK_FUNCTION_LIST *keep)
{
	for (size_t i = 0; list && list[i]; i++)
		if (list[i] != keep)
			module_done(list[i]);
	free(list);
}

/* Whether the token in slot shows a certificate before login. */
static bool shows_certificate(CK_FUNCTION_LIST *m, CK_SLOT_ID slot)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_ATTRIBUTE a = {CKA_CLASS, &cls, sizeof(cls)};
	CK_OBJECT_HANDLE h;
	CK_ULONG n = 0;

	if (m->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s) !=
	    CKR_OK)
		return false;
	if (m->C_FindObjectsInit(s, &a, 1) == CKR_OK) {
		if (m->C_FindObjects(s, &h, 1, &n) != CKR_OK)
			n = 0;
		m->C_FindObjectsFinal(s);
	}
	m->C_CloseSession(s);
	return n > 0;
}

struct found {
	CK_FUNCTION_LIST *mod;
	CK_SLOT_ID slot;
	CK_TOKEN_INFO info;
};

/* Chooses the token: the first matching one with a certificate when the
 * value names none, else the first match. *labels lists every token seen,
 * for the message when none matches. */
static int find_token(struct spop_host *host, const struct target *t,
		      CK_FUNCTION_LIST **mods, struct found *out)
{
	struct found first = {0};
	bool have_first = false, done = false;
	char seen[1024] = "";
	size_t n_tokens = 0;

	for (size_t i = 0; mods[i] && !done; i++) {
		CK_FUNCTION_LIST *m = mods[i];
		CK_SLOT_ID *slots = NULL;
		CK_ULONG n = 0;
		CK_INFO minfo;

		if (m->C_GetInfo(&minfo) != CKR_OK ||
		    !p11_kit_uri_match_module_info(t->uri, &minfo))
			continue;
		if (m->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK || n == 0)
			continue;
		slots = calloc(n, sizeof(*slots));
		if (!slots || m->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK) {
			free(slots);
			continue;
		}
		for (CK_ULONG j = 0; j < n && !done; j++) {
			CK_TOKEN_INFO ti;
			CK_SLOT_INFO si;

			if (m->C_GetTokenInfo(slots[j], &ti) != CKR_OK ||
			    !(ti.flags & CKF_TOKEN_INITIALIZED))
				continue;
			char *label = field(ti.label, sizeof(ti.label));
			size_t used = strlen(seen);

			if (label && used + strlen(label) + 8 < sizeof(seen))
				snprintf(seen + used, sizeof(seen) - used,
					 "%s'%s'", n_tokens ? ", " : "", label);
			free(label);
			n_tokens++;
			if (!p11_kit_uri_match_token_info(t->uri, &ti))
				continue;
			if (m->C_GetSlotInfo(slots[j], &si) == CKR_OK &&
			    !p11_kit_uri_match_slot_info(t->uri, &si))
				continue;
			struct found f = {m, slots[j], ti};

			if (!have_first) {
				first = f;
				have_first = true;
			}
			if (t->token_named || shows_certificate(m, slots[j])) {
				*out = f;
				done = true;
			}
		}
		free(slots);
	}
	if (done)
		return 0;
	if (have_first) {
		*out = first;
		return 0;
	}
	if (n_tokens == 0)
		return host->set_error(
		    host, SPOP_ERR_CERT_STORE,
		    "Cannot open the PKCS#11 store '%s': %s has no "
		    "initialised token (no slot with a token present).",
		    t->shown,
		    t->module_path ? "the module" : "no p11-kit module");
	return host->set_error(host, SPOP_ERR_CERT_STORE,
			       "Cannot open the PKCS#11 store '%s': no token "
			       "matches it (token%s found: %s).",
			       t->shown, n_tokens == 1 ? "" : "s", seen);
}

/* ---- login ------------------------------------------------------------ */

static const char *tries_left(CK_FLAGS flags)
{
	if (flags & CKF_USER_PIN_LOCKED)
		return "The token now reports the user PIN locked: unlock it "
		       "with the SO PIN before using the token again.";
	if (flags & CKF_USER_PIN_FINAL_TRY)
		return "The token reports one try left: one more wrong PIN "
		       "locks it.";
	if (flags & CKF_USER_PIN_COUNT_LOW)
		return "The token reports that few tries are left (it does "
		       "not say how many).";
	return "The token reports no shortage of tries.";
}

static int login(struct spop_host *host, struct p11_store *st,
		 const struct target *t, const CK_TOKEN_INFO *ti)
{
	CK_TOKEN_INFO now;
	CK_RV rv;

	if (!*t->pin) {
		if (!(ti->flags & CKF_PROTECTED_AUTHENTICATION_PATH))
			return 0; /* public objects only */
		rv = st->mod->C_Login(st->session, CKU_USER, NULL, 0);
	} else {
		if (ti->flags & CKF_USER_PIN_LOCKED)
			return host->set_error(
			    host, SPOP_ERR_CREDENTIALS,
			    "The user PIN of the %s is locked (the token "
			    "says so); the PIN was not tried. Unlock it with "
			    "the SO PIN.",
			    st->name);
		if (!(ti->flags & CKF_USER_PIN_INITIALIZED))
			return host->set_error(host, SPOP_ERR_CREDENTIALS,
					       "The %s has no user PIN set "
					       "yet; nobody can log in to it.",
					       st->name);
		/* One try, never repeated: a token counts wrong PINs. */
		rv = st->mod->C_Login(st->session, CKU_USER,
				      (CK_UTF8CHAR *)t->pin, strlen(t->pin));
	}
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
		st->logged_in = true;
		return 0;
	}
	switch (rv) {
	case CKR_PIN_INCORRECT:
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
		if (st->mod->C_GetTokenInfo(st->slot, &now) != CKR_OK)
			now.flags = 0;
		return host->set_error(host, SPOP_ERR_CREDENTIALS,
				       "Wrong PIN (CertStorePassword) for the "
				       "%s: %s; it was tried once and not "
				       "again. %s",
				       st->name, p11_kit_strerror(rv),
				       tries_left(now.flags));
	case CKR_PIN_LOCKED:
		return host->set_error(host, SPOP_ERR_CREDENTIALS,
				       "The user PIN of the %s is locked: "
				       "unlock it with the SO PIN.",
				       st->name);
	case CKR_PIN_EXPIRED:
		return host->set_error(host, SPOP_ERR_CREDENTIALS,
				       "The user PIN of the %s has expired: "
				       "set a new one first.",
				       st->name);
	default:
		return host->set_error(host, SPOP_ERR_CREDENTIALS,
				       "Login to the %s failed: %s.", st->name,
				       p11_kit_strerror(rv));
	}
}

/* ---- keys --------------------------------------------------------------- */

/* GnuTLS asks for a PIN only when the token is not logged in: the store
 * logged in once and never gives GnuTLS a PIN to try again with. */
static int refuse_pin(void *userdata, int attempt, const char *token_url,
		      const char *token_label, unsigned int flags, char *pin,
		      size_t pin_max)
{
	(void)userdata;
	(void)attempt;
	(void)token_url;
	(void)token_label;
	(void)flags;
	(void)pin;
	(void)pin_max;
	return GNUTLS_E_PKCS11_PIN_ERROR;
}

static void key_free(struct p11_key *k)
{
	if (!k)
		return;
	if (k->priv)
		gnutls_privkey_deinit(k->priv);
	free(k->id);
	free(k->id_hex);
	free(k);
}

/* The private key with CKA_ID id (of type want), or NULL with no error
 * when there is none; -1 with the error set when GnuTLS cannot use it. */
static int find_key(struct spop_host *host, struct p11_store *st,
		    const CK_TOKEN_INFO *ti, const unsigned char *id,
		    size_t id_len, CK_KEY_TYPE want, gnutls_ecc_curve_t curve,
		    struct p11_key **out)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE a[2] = {{CKA_CLASS, &cls, sizeof(cls)},
			     {CKA_ID, (void *)id, id_len}};
	CK_OBJECT_HANDLE o;
	CK_ULONG n = 0;
	CK_KEY_TYPE type = (CK_KEY_TYPE)-1;
	CK_ATTRIBUTE ta = {CKA_KEY_TYPE, &type, sizeof(type)};
	struct p11_key *k;
	P11KitUri *uri;
	char *url = NULL;
	int ret;

	*out = NULL;
	for (size_t i = 0; i < st->n_keys; i++)
		if (st->keys[i]->type == want &&
		    st->keys[i]->id_len == id_len &&
		    memcmp(st->keys[i]->id, id, id_len) == 0) {
			*out = st->keys[i];
			return 0;
		}
	if (st->mod->C_FindObjectsInit(st->session, a, 2) != CKR_OK)
		return 0;
	if (st->mod->C_FindObjects(st->session, &o, 1, &n) != CKR_OK)
		n = 0;
	st->mod->C_FindObjectsFinal(st->session);
	if (n == 0)
		return 0;
	if (st->mod->C_GetAttributeValue(st->session, o, &ta, 1) != CKR_OK ||
	    type != want)
		return 0; /* a key of another algorithm: not this one's */

	k = calloc(1, sizeof(*k));
	if (!k)
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the %s: out of memory.",
				       st->name),
		       -1;
	k->st = st;
	k->obj = o;
	k->type = type;
	k->curve = curve;
	k->id_hex = hex(id, id_len);
	k->id = malloc(id_len);
	if (k->id)
		memcpy(k->id, id, id_len);
	k->id_len = id_len;
	uri = p11_kit_uri_new();
	if (uri) {
		CK_ATTRIBUTE ua[2] = {{CKA_CLASS, &cls, sizeof(cls)},
				      {CKA_ID, (void *)id, id_len}};

		memcpy(p11_kit_uri_get_token_info(uri), ti, sizeof(*ti));
		p11_kit_uri_set_attributes(uri, ua, 2);
		if (p11_kit_uri_format(uri, P11_KIT_URI_FOR_OBJECT_ON_TOKEN,
				       &url) != P11_KIT_URI_OK)
			url = NULL;
		p11_kit_uri_free(uri);
	}
	ret = url ? gnutls_privkey_init(&k->priv) : GNUTLS_E_MEMORY_ERROR;
	if (ret >= 0) {
		gnutls_privkey_set_pin_function(k->priv, refuse_pin, NULL);
		ret = gnutls_privkey_import_url(k->priv, url, 0);
	}
	free(url);
	if (ret < 0 || !k->id_hex || !k->id) {
		host->set_error(host, SPOP_ERR_CREDENTIALS,
				"Cannot open the %s: GnuTLS cannot use its "
				"private key with CKA_ID %s: %s.",
				st->name, k->id_hex ? k->id_hex : "?",
				REASON(ret));
		key_free(k);
		return -1;
	}
	struct p11_key **keys =
	    realloc(st->keys, (st->n_keys + 1) * sizeof(*keys));
	if (!keys) {
		key_free(k);
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the %s: out of memory.",
				       st->name),
		       -1;
	}
	st->keys = keys;
	st->keys[st->n_keys++] = k;
	*out = k;
	return 0;
}

/* ---- certificates ----------------------------------------------------- */

/* Adds one certificate object and attaches its key. */
static int add_cert(struct spop_host *host, struct p11_store *st,
		    const CK_TOKEN_INFO *ti, gnutls_pkcs11_obj_t obj)
{
	gnutls_datum_t der = {NULL, 0};
	gnutls_x509_crt_t crt = NULL;
	unsigned char id[256];
	size_t id_len = sizeof(id);
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	CK_KEY_TYPE want = (CK_KEY_TYPE)-1;
	struct p11_key *key = NULL;
	int ret, pk;

	ret = gnutls_pkcs11_obj_export3(obj, GNUTLS_X509_FMT_DER, &der);
	if (ret >= 0)
		ret = gnutls_x509_crt_init(&crt);
	if (ret >= 0)
		ret = gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER);
	if (ret < 0) {
		char label[128];
		size_t ll = sizeof(label);

		if (gnutls_pkcs11_obj_get_info(obj, GNUTLS_PKCS11_OBJ_LABEL,
					       label, &ll) < 0)
			strcpy(label, "?");
		if (crt)
			gnutls_x509_crt_deinit(crt);
		gnutls_free(der.data);
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the %s: its certificate "
				       "'%s' cannot be read: %s.",
				       st->name, label, REASON(ret));
	}
	pk = gnutls_x509_crt_get_pk_algorithm(crt, NULL);
	if (pk == GNUTLS_PK_RSA) {
		want = CKK_RSA;
	} else if (pk == GNUTLS_PK_ECDSA) {
		gnutls_datum_t x = {NULL, 0}, y = {NULL, 0};

		want = CKK_EC;
		if (gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, &x, &y) < 0)
			curve = GNUTLS_ECC_CURVE_INVALID;
		gnutls_free(x.data);
		gnutls_free(y.data);
	}
	gnutls_x509_crt_deinit(crt);

	if (st->logged_in && want != (CK_KEY_TYPE)-1 &&
	    gnutls_pkcs11_obj_get_info(obj, GNUTLS_PKCS11_OBJ_ID, id,
				       &id_len) >= 0 &&
	    id_len > 0 &&
	    find_key(host, st, ti, id, id_len, want, curve, &key) < 0) {
		gnutls_free(der.data);
		return SPOP_ERR_CREDENTIALS;
	}
	struct p11_cert *certs =
	    realloc(st->certs, (st->n_certs + 1) * sizeof(*certs));
	if (!certs) {
		gnutls_free(der.data);
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the %s: out of memory.",
				       st->name);
	}
	st->certs = certs;
	st->certs[st->n_certs].der = der;
	st->certs[st->n_certs].key = key;
	st->n_certs++;
	return 0;
}

static int list_certs(struct spop_host *host, struct p11_store *st,
		      const struct target *t, const CK_TOKEN_INFO *ti)
{
	gnutls_pkcs11_obj_t *objs = NULL;
	unsigned n = 0;
	P11KitUri *uri = p11_kit_uri_new();
	char *url = NULL;
	int ret, rc = 0;

	if (uri) {
		CK_ATTRIBUTE *a;

		memcpy(p11_kit_uri_get_token_info(uri), ti, sizeof(*ti));
		if ((a = p11_kit_uri_get_attribute(t->uri, CKA_ID)))
			p11_kit_uri_set_attribute(uri, a);
		if ((a = p11_kit_uri_get_attribute(t->uri, CKA_LABEL)))
			p11_kit_uri_set_attribute(uri, a);
		if (p11_kit_uri_format(uri, P11_KIT_URI_FOR_OBJECT_ON_TOKEN,
				       &url) != P11_KIT_URI_OK)
			url = NULL;
		p11_kit_uri_free(uri);
	}
	if (!url)
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the %s: out of memory.",
				       st->name);
	ret = gnutls_pkcs11_obj_list_import_url4(&objs, &n, url,
						 GNUTLS_PKCS11_OBJ_FLAG_CRT);
	free(url);
	if (ret < 0)
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the %s: GnuTLS cannot "
				       "list its certificates: %s.",
				       st->name, REASON(ret));
	for (unsigned i = 0; i < n; i++) {
		if (!rc)
			rc = add_cert(host, st, ti, objs[i]);
		gnutls_pkcs11_obj_deinit(objs[i]);
	}
	gnutls_free(objs);
	return rc;
}

/* ---- open / close --------------------------------------------------- */

/* GnuTLS's list of PKCS#11 modules is the process's; adding to it is not
 * thread-safe. */
static pthread_mutex_t provider_lock = PTHREAD_MUTEX_INITIALIZER;

static int tell_gnutls(struct spop_host *host, struct p11_store *st,
		       const struct target *t)
{
	char *path = t->module_path ? xstrdup(t->module_path)
				    : p11_kit_module_get_filename(st->mod);
	int ret;

	if (!path)
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the %s: p11-kit does not "
				       "say which file the module is.",
				       st->name);
	pthread_mutex_lock(&provider_lock);
	/* 0 as well when GnuTLS has the module already */
	ret = gnutls_pkcs11_add_provider(path, NULL);
	pthread_mutex_unlock(&provider_lock);
	if (ret < 0) {
		int rc = host->set_error(host, SPOP_ERR_CERT_STORE,
					 "Cannot open the %s: GnuTLS cannot "
					 "use the module '%s': %s.",
					 st->name, path, REASON(ret));
		free(path);
		return rc;
	}
	free(path);
	return 0;
}

static void store_free(struct p11_store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_keys; i++)
		key_free(st->keys[i]);
	free(st->keys);
	for (size_t i = 0; i < st->n_certs; i++)
		gnutls_free(st->certs[i].der.data);
	free(st->certs);
	/* Closing the session ends the login once no other session of the
	 * process is open on the token (no C_Logout: another store of the
	 * process may be using the same token). */
	if (st->has_session)
		st->mod->C_CloseSession(st->session);
	if (st->mod)
		module_done(st->mod);
	pthread_mutex_destroy(&st->lock);
	free(st->name);
	free(st);
}

static int pkcs11_open(struct spop_host *host, int store_type,
		       const unsigned char *store, size_t store_len,
		       const char *password, void **handle)
{
	struct target t;
	struct p11_store *st = NULL;
	CK_FUNCTION_LIST **mods = NULL;
	struct found f;
	char *value;
	int rc;

	*handle = NULL;
	if (store_type != 23)
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "The pkcs11 store serves CertStoreType "
				       "23 (PKCS11), not %d.",
				       store_type);
	if (!store || store_len == 0 || store_len > MAX_STORE_LEN ||
	    memchr(store, '\0', store_len))
		return host->set_error(
		    host, SPOP_ERR_CERT_STORE,
		    "Cannot open the PKCS#11 store: CertStore must name a "
		    "PKCS#11 module path or a pkcs11: URI (1 to %d bytes, no "
		    "NUL), not %zu bytes.",
		    MAX_STORE_LEN, store_len);
	value = malloc(store_len + 1);
	if (!value)
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the PKCS#11 store: out "
				       "of memory.");
	memcpy(value, store, store_len);
	value[store_len] = '\0';
	rc = parse_target(host, value, password ? password : "", &t);
	free(value);
	if (!rc)
		rc = load_modules(host, &t, &mods);
	if (!rc)
		rc = find_token(host, &t, mods, &f);
	if (rc)
		goto out;
	st = calloc(1, sizeof(*st));
	if (!st) {
		rc = host->set_error(host, SPOP_ERR_CERT_STORE,
				     "Cannot open the PKCS#11 store '%s': out "
				     "of memory.",
				     t.shown);
		goto out;
	}
	pthread_mutex_init(&st->lock, NULL);
	st->mod = f.mod;
	st->slot = f.slot;
	modules_done(mods, f.mod);
	mods = NULL;
	{
		char *label = field(f.info.label, sizeof(f.info.label));
		char *path = t.module_path
				 ? xstrdup(t.module_path)
				 : p11_kit_module_get_filename(st->mod);

		st->name = xasprintf("PKCS#11 token '%s' (module %s)",
				     label ? label : "?",
				     path ? path : "registered with p11-kit");
		free(label);
		free(path);
	}
	if (!st->name) {
		rc = host->set_error(host, SPOP_ERR_CERT_STORE,
				     "Cannot open the PKCS#11 store '%s': out "
				     "of memory.",
				     t.shown);
		goto out;
	}
	CK_RV rv = st->mod->C_OpenSession(st->slot, CKF_SERIAL_SESSION, NULL,
					  NULL, &st->session);
	if (rv != CKR_OK) {
		rc = host->set_error(host, SPOP_ERR_CERT_STORE,
				     "Cannot open the %s: no session: %s.",
				     st->name, p11_kit_strerror(rv));
		goto out;
	}
	st->has_session = true;
	rc = login(host, st, &t, &f.info);
	if (!rc)
		rc = tell_gnutls(host, st, &t);
	if (!rc)
		rc = list_certs(host, st, &t, &f.info);
out:
	if (mods)
		modules_done(mods, NULL);
	target_clear(&t);
	if (rc) {
		store_free(st);
		return rc;
	}
	*handle = st;
	return 0;
}

static void pkcs11_close(struct spop_host *host, void *handle)
{
	(void)host;
	store_free(handle);
}

static int pkcs11_probe(struct spop_host *host, const unsigned char *data,
			size_t len, int is_file)
{
	(void)host;
	(void)data;
	(void)len;
	(void)is_file;
	return 0; /* Auto never picks a token */
}

static int pkcs11_entry(struct spop_host *host, void *handle, size_t index,
			struct spop_cert_entry *entry)
{
	struct p11_store *st = handle;

	if (index >= st->n_certs)
		return host->set_error(host, SPOP_ERR_CERT_NOT_FOUND,
				       "No entry %zu in the %s: it has %zu "
				       "certificate%s.",
				       index, st->name, st->n_certs,
				       st->n_certs == 1 ? "" : "s");
	entry->size = sizeof(*entry);
	entry->der = st->certs[index].der.data;
	entry->der_len = st->certs[index].der.size;
	entry->key = st->certs[index].key;
	return 0;
}

/* ---- key operations ----------------------------------------------------- */

static int hand_out(struct spop_host *host, const void *data, size_t len,
		    unsigned char **out, size_t *out_len)
{
	unsigned char *p = host->alloc(host, len ? len : 1);

	if (!p)
		return -1;
	memcpy(p, data, len);
	*out = p;
	*out_len = len;
	return 0;
}

static const char *key_kind(const struct p11_key *k)
{
	return k->type == CKK_RSA ? "RSA" : k->type == CKK_EC ? "EC" : "?";
}

struct hash_map {
	int id;
	gnutls_digest_algorithm_t dig;
	CK_MECHANISM_TYPE mech;
	CK_RSA_PKCS_MGF_TYPE mgf;
};

static const struct hash_map hashes[] = {
    {SPOP_HASH_SHA1, GNUTLS_DIG_SHA1, CKM_SHA_1, CKG_MGF1_SHA1},
    {SPOP_HASH_SHA224, GNUTLS_DIG_SHA224, CKM_SHA224, CKG_MGF1_SHA224},
    {SPOP_HASH_SHA256, GNUTLS_DIG_SHA256, CKM_SHA256, CKG_MGF1_SHA256},
    {SPOP_HASH_SHA384, GNUTLS_DIG_SHA384, CKM_SHA384, CKG_MGF1_SHA384},
    {SPOP_HASH_SHA512, GNUTLS_DIG_SHA512, CKM_SHA512, CKG_MGF1_SHA512},
    {SPOP_HASH_MD5, GNUTLS_DIG_MD5, CKM_MD5, 0},
};

static const struct hash_map *find_hash(int id)
{
	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (hashes[i].id == id)
			return &hashes[i];
	return NULL;
}

static gnutls_sign_algorithm_t pss_sign(gnutls_digest_algorithm_t dig)
{
	switch (dig) {
	case GNUTLS_DIG_SHA256: return GNUTLS_SIGN_RSA_PSS_RSAE_SHA256;
	case GNUTLS_DIG_SHA384: return GNUTLS_SIGN_RSA_PSS_RSAE_SHA384;
	case GNUTLS_DIG_SHA512: return GNUTLS_SIGN_RSA_PSS_RSAE_SHA512;
	default: return GNUTLS_SIGN_UNKNOWN;
	}
}

static int pkcs11_key_sign(struct spop_host *host, void *key, int scheme,
			   int hash, const unsigned char *digest,
			   size_t digest_len, unsigned char **sig,
			   size_t *sig_len)
{
	struct p11_key *k = key;
	const struct hash_map *hm = find_hash(hash);
	gnutls_sign_algorithm_t sign = GNUTLS_SIGN_UNKNOWN;
	gnutls_datum_t h, s = {NULL, 0};
	const char *sname;
	bool fits;
	int ret;

	*sig = NULL;
	*sig_len = 0;
	if (!hm)
		return host->set_error(
		    host, SPOP_ERR_INVALID_VALUE,
		    "Cannot sign with the key (id %s) of the %s: "
		    "unknown hash identifier %d.",
		    k->id_hex, k->st->name, hash);
	if (!digest || digest_len != gnutls_hash_get_len(hm->dig))
		return host->set_error(
		    host, SPOP_ERR_INVALID_VALUE,
		    "Cannot sign with the key (id %s) of the %s: a %s digest "
		    "is "
		    "%u bytes, not %zu.",
		    k->id_hex, k->st->name, gnutls_digest_get_name(hm->dig),
		    gnutls_hash_get_len(hm->dig), digest_len);
	switch (scheme) {
	case SPOP_KEY_RSA_PKCS1:
		sname = "RSA PKCS#1 v1.5";
		fits = k->type == CKK_RSA;
		sign = gnutls_pk_to_sign(GNUTLS_PK_RSA, hm->dig);
		break;
	case SPOP_KEY_RSA_PSS:
		sname = "RSA-PSS";
		fits = k->type == CKK_RSA;
		sign = pss_sign(hm->dig);
		break;
	case SPOP_KEY_ECDSA:
		sname = "ECDSA";
		fits = k->type == CKK_EC;
		sign = gnutls_pk_to_sign(GNUTLS_PK_ECDSA, hm->dig);
		break;
	default:
		return host->set_error(
		    host, SPOP_ERR_INVALID_VALUE,
		    "Cannot sign with the key (id %s) of the %s: "
		    "unknown signature scheme %d.",
		    k->id_hex, k->st->name, scheme);
	}
	if (!fits)
		return host->set_error(
		    host, SPOP_ERR_CREDENTIALS,
		    "Cannot sign with %s: the key (id %s) of the "
		    "%s is an %s key.",
		    sname, k->id_hex, k->st->name, key_kind(k));
	if (sign == GNUTLS_SIGN_UNKNOWN)
		return host->set_error(
		    host, SPOP_ERR_NOT_AVAILABLE,
		    "Cannot sign with the key (id %s) of the %s: GnuTLS has no "
		    "%s with %s%s.",
		    k->id_hex, k->st->name, sname,
		    gnutls_digest_get_name(hm->dig),
		    scheme == SPOP_KEY_RSA_PSS
			? " (only SHA-256, SHA-384 and SHA-512)"
			: "");
	h.data = (unsigned char *)digest;
	h.size = (unsigned)digest_len;
	ret = gnutls_privkey_sign_hash2(k->priv, sign, 0, &h, &s);
	if (ret < 0)
		return host->set_error(host, SPOP_ERR_ENCRYPT,
				       "Signing with the key (id %s) of the %s "
				       "(%s) failed: %s.",
				       k->id_hex, k->st->name,
				       gnutls_sign_get_name(sign), REASON(ret));
	ret = hand_out(host, s.data, s.size, sig, sig_len);
	gnutls_free(s.data);
	if (ret)
		return host->set_error(
		    host, SPOP_ERR_ENCRYPT,
		    "Signing with the key (id %s) of the %s: out "
		    "of memory.",
		    k->id_hex, k->st->name);
	return 0;
}

/* RSA-OAEP inside the token (GnuTLS 3.7 has no OAEP). */
static int oaep_decrypt(struct spop_host *host, struct p11_key *k,
			const struct hash_map *hm, const unsigned char *in,
			size_t in_len, unsigned char **out, size_t *out_len)
{
	struct p11_store *st = k->st;
	CK_RSA_PKCS_OAEP_PARAMS params = {hm->mech, hm->mgf, CKZ_DATA_SPECIFIED,
					  NULL, 0};
	CK_MECHANISM mech = {CKM_RSA_PKCS_OAEP, &params, sizeof(params)};
	CK_MECHANISM_INFO mi;
	unsigned char *buf = NULL;
	CK_ULONG len = 0;
	CK_RV rv;
	int rc = 0;

	if (st->mod->C_GetMechanismInfo(st->slot, CKM_RSA_PKCS_OAEP, &mi) !=
		CKR_OK ||
	    !(mi.flags & CKF_DECRYPT))
		return host->set_error(
		    host, SPOP_ERR_NOT_AVAILABLE,
		    "RSA-OAEP decryption with the key (id %s) "
		    "of the %s: the token does not offer "
		    "CKM_RSA_PKCS_OAEP for decryption.",
		    k->id_hex, st->name);
	pthread_mutex_lock(&st->lock);
	rv = st->mod->C_DecryptInit(st->session, &mech, k->obj);
	if (rv == CKR_OK)
		rv = st->mod->C_Decrypt(st->session, (CK_BYTE *)in, in_len,
					NULL, &len);
	if (rv == CKR_OK) {
		buf = malloc(len ? len : 1);
		rv = buf ? st->mod->C_Decrypt(st->session, (CK_BYTE *)in,
					      in_len, buf, &len)
			 : CKR_HOST_MEMORY;
	}
	pthread_mutex_unlock(&st->lock);
	if (rv != CKR_OK)
		rc = host->set_error(host, SPOP_ERR_DECRYPT,
				     "RSA-OAEP (%s) decryption with the key "
				     "%s of the %s failed: the token says %s "
				     "(wrong key, hash or padding, or a hash "
				     "the token does not do).",
				     gnutls_digest_get_name(hm->dig), k->id_hex,
				     st->name, p11_kit_strerror(rv));
	else if (hand_out(host, buf, len, out, out_len))
		rc = host->set_error(
		    host, SPOP_ERR_DECRYPT,
		    "Decryption with the key (id %s) of the %s: "
		    "out of memory.",
		    k->id_hex, st->name);
	if (buf) {
		gnutls_memset(buf, 0, len);
		free(buf);
	}
	return rc;
}

static int pkcs11_key_decrypt(struct spop_host *host, void *key, int padding,
			      int oaep_hash, const unsigned char *in,
			      size_t in_len, unsigned char **out,
			      size_t *out_len)
{
	struct p11_key *k = key;
	gnutls_datum_t c, plain = {NULL, 0};
	const struct hash_map *hm;
	int ret;

	*out = NULL;
	*out_len = 0;
	if (k->type != CKK_RSA)
		return host->set_error(
		    host, SPOP_ERR_DECRYPT,
		    "Cannot decrypt with the key (id %s) of the "
		    "%s: it is an %s key, and only RSA keys "
		    "decrypt.",
		    k->id_hex, k->st->name, key_kind(k));
	if (!in || in_len == 0)
		return host->set_error(
		    host, SPOP_ERR_DECRYPT,
		    "Cannot decrypt with the key (id %s) of the "
		    "%s: the ciphertext is empty.",
		    k->id_hex, k->st->name);
	switch (padding) {
	case SPOP_KEY_RSA_PKCS1:
		c.data = (unsigned char *)in;
		c.size = (unsigned)in_len;
		ret = gnutls_privkey_decrypt_data(k->priv, 0, &c, &plain);
		if (ret < 0)
			return host->set_error(host, SPOP_ERR_DECRYPT,
					       "RSA PKCS#1 v1.5 decryption "
					       "with the key (id %s) of "
					       "the %s failed: %s.",
					       k->id_hex, k->st->name,
					       REASON(ret));
		ret = hand_out(host, plain.data, plain.size, out, out_len);
		gnutls_memset(plain.data, 0, plain.size);
		gnutls_free(plain.data);
		if (ret)
			return host->set_error(
			    host, SPOP_ERR_DECRYPT,
			    "Decryption with the key (id %s) of "
			    "the %s: out of memory.",
			    k->id_hex, k->st->name);
		return 0;
	case SPOP_KEY_RSA_OAEP:
		/* RFC 8017's default OAEP hash is SHA-1. */
		hm = find_hash(oaep_hash ? oaep_hash : SPOP_HASH_SHA1);
		if (!hm || hm->id == SPOP_HASH_MD5)
			return host->set_error(
			    host, SPOP_ERR_DECRYPT,
			    "Cannot decrypt with the key (id %s) "
			    "of the %s: OAEP hash identifier "
			    "%d is not SHA-1, SHA-224, "
			    "SHA-256, SHA-384 or SHA-512.",
			    k->id_hex, k->st->name, oaep_hash);
		return oaep_decrypt(host, k, hm, in, in_len, out, out_len);
	default:
		return host->set_error(
		    host, SPOP_ERR_DECRYPT,
		    "Cannot decrypt with the key (id %s) of the "
		    "%s: unknown padding %d (RSA PKCS#1 "
		    "v1.5 and OAEP only).",
		    k->id_hex, k->st->name, padding);
	}
}

static int pkcs11_key_export(struct spop_host *host, void *key,
			     unsigned char **pkcs8, size_t *len)
{
	struct p11_key *k = key;

	*pkcs8 = NULL;
	*len = 0;
	return host->set_error(
	    host, SPOP_ERR_CREDENTIALS,
	    "The key (id %s) is held in the %s and never leaves "
	    "it: it signs, decrypts and derives inside the "
	    "token, and cannot be exported.",
	    k->id_hex, k->st->name);
}

/* ECDH inside the token: CKM_ECDH1_DERIVE with CKD_NULL gives the shared
 * X coordinate as a session secret key that may be read, read once and
 * destroyed. */
static int pkcs11_key_derive(struct spop_host *host, void *key,
			     const unsigned char *peer, size_t peer_len,
			     unsigned char **secret, size_t *secret_len)
{
	struct p11_key *k = key;
	struct p11_store *st = k->st;
	size_t size;
	CK_ECDH1_DERIVE_PARAMS params;
	CK_MECHANISM mech = {CKM_ECDH1_DERIVE, &params, sizeof(params)};
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
	CK_ULONG value_len;
	CK_OBJECT_HANDLE derived = CK_INVALID_HANDLE;
	unsigned char *value = NULL;
	CK_ULONG got = 0;
	CK_RV rv;
	int rc = 0;

	*secret = NULL;
	*secret_len = 0;
	if (k->type != CKK_EC)
		return host->set_error(
		    host, SPOP_ERR_CREDENTIALS,
		    "Cannot derive (ECDH) with the key (id %s) of "
		    "the %s: it is an %s key, not EC.",
		    k->id_hex, st->name, key_kind(k));
	size = gnutls_ecc_curve_get_size(k->curve);
	if (size == 0)
		return host->set_error(
		    host, SPOP_ERR_CREDENTIALS,
		    "Cannot derive (ECDH) with the key (id %s) of "
		    "the %s: its certificate's curve is not "
		    "one GnuTLS knows.",
		    k->id_hex, st->name);
	if (!peer || peer_len != 1 + 2 * size || peer[0] != 0x04)
		return host->set_error(
		    host, SPOP_ERR_CREDENTIALS,
		    "Cannot derive (ECDH) with the key (id %s) of the %s: the "
		    "peer's point is not an uncompressed point on %s "
		    "(0x04 then %zu bytes; %zu bytes given).",
		    k->id_hex, st->name, gnutls_ecc_curve_get_name(k->curve),
		    2 * size, peer_len);
	value_len = size;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_KEY_TYPE, &kt, sizeof(kt)},
	    {CKA_TOKEN, &no, sizeof(no)},
	    {CKA_SENSITIVE, &no, sizeof(no)},
	    {CKA_EXTRACTABLE, &yes, sizeof(yes)},
	    {CKA_VALUE_LEN, &value_len, sizeof(value_len)},
	};
	params.kdf = CKD_NULL;
	params.ulSharedDataLen = 0;
	params.pSharedData = NULL;
	params.ulPublicDataLen = peer_len;
	params.pPublicData = (CK_BYTE *)peer;

	pthread_mutex_lock(&st->lock);
	rv = st->mod->C_DeriveKey(st->session, &mech, k->obj, tmpl,
				  sizeof(tmpl) / sizeof(tmpl[0]), &derived);
	if (rv == CKR_OK) {
		CK_ATTRIBUTE a = {CKA_VALUE, NULL, 0};

		rv = st->mod->C_GetAttributeValue(st->session, derived, &a, 1);
		if (rv == CKR_OK) {
			got = a.ulValueLen;
			value = malloc(got ? got : 1);
			a.pValue = value;
			rv = value ? st->mod->C_GetAttributeValue(
					 st->session, derived, &a, 1)
				   : CKR_HOST_MEMORY;
		}
		st->mod->C_DestroyObject(st->session, derived);
	}
	pthread_mutex_unlock(&st->lock);
	if (rv != CKR_OK) {
		const char *why =
		    rv == CKR_KEY_FUNCTION_NOT_PERMITTED
			? " (the key does not allow derivation: CKA_DERIVE "
			  "is false)"
		    : rv == CKR_MECHANISM_INVALID
			? " (the token has no CKM_ECDH1_DERIVE)"
			: " (is the point on the key's curve?)";

		rc = host->set_error(
		    host, SPOP_ERR_CREDENTIALS,
		    "ECDH with the key (id %s) of the %s on %s "
		    "failed: the token says %s%s.",
		    k->id_hex, st->name, gnutls_ecc_curve_get_name(k->curve),
		    p11_kit_strerror(rv), why);
	} else if (got != size) {
		rc = host->set_error(
		    host, SPOP_ERR_CREDENTIALS,
		    "ECDH with the key (id %s) of the %s gave %lu "
		    "bytes, not the %zu of %s.",
		    k->id_hex, st->name, (unsigned long)got, size,
		    gnutls_ecc_curve_get_name(k->curve));
	} else if (hand_out(host, value, got, secret, secret_len)) {
		rc = host->set_error(
		    host, SPOP_ERR_CREDENTIALS,
		    "ECDH with the key (id %s) of the %s: out of "
		    "memory.",
		    k->id_hex, st->name);
	}
	if (value) {
		gnutls_memset(value, 0, got);
		free(value);
	}
	return rc;
}

static const struct spop_certstore_ops ops = {
    .size = sizeof(struct spop_certstore_ops),
    .probe = pkcs11_probe,
    .open = pkcs11_open,
    .entry = pkcs11_entry,
    .key_sign = pkcs11_key_sign,
    .key_decrypt = pkcs11_key_decrypt,
    .key_export = pkcs11_key_export,
    .close = pkcs11_close,
    .key_derive = pkcs11_key_derive,
};

static const int32_t selectors[] = {23};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_CERTSTORE,
    .name = "pkcs11",
    .version = "1.0",
    .description = "PKCS#11 token (module path or pkcs11: URI; keys stay "
		   "in the token)",
    .selectors = selectors,
    .n_selectors = 1,
    .capabilities = SPOP_CAP_CERTSTORE_PRIVATE_KEYS,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
