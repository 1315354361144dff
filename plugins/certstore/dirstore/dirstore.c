/* Cert store "dirstore" (CertStoreType 0 User, 1 Machine): the reference's
 * Windows system stores, as directories of certificate files (there is no
 * registry here). CertStore names the store inside a base directory:
 *
 *   User     $SPOP_CERT_DIR/<STORE> when SPOP_CERT_DIR is set, else
 *            $XDG_DATA_HOME/spop/certs/<STORE> (XDG_DATA_HOME when it is an
 *            absolute path), else ~/.local/share/spop/certs/<STORE>
 *   Machine  $SPOP_MACHINE_CERT_DIR/<STORE> when set, else
 *            /etc/spop/certs/<STORE>
 *
 * (the environment is not read in setuid or setgid processes). STORE is
 * "MY", "CA", "ROOT" or any other name of [A-Za-z0-9_-] (at most 255);
 * anything else ("../x", "", "a/b") is 271. The directory of that exact
 * name is used; when there is none, one whose name differs only in case
 * ("My" for "MY"), as Windows store names are case-insensitive. A missing
 * directory is 271 naming the path.
 *
 * Files, in byte order of their names (strcmp; names starting with '.'
 * and anything but regular files are ignored):
 *  - *.pfx and *.p12 (any case): PKCS#12, opened with CertStorePassword,
 *    read as the pfx store reads it (keyed certificates first);
 *  - any other file: PEM text as the pemkey store reads it (certificates in
 *    text order, keys in the same file attached, encrypted keys with
 *    CertStorePassword; certificates alone are fine here), or one DER
 *    certificate; a file that is neither is skipped with a trail line.
 * Entries are the files' entries, file after file, each file's in its own
 * order. A key is attached only to a certificate of its own file.
 *
 * Passwords: one CertStorePassword for the whole store. A file it does not
 * open (wrong or missing password) is skipped, named in a PITrail info line
 * and in the 272 past the last entry; when no file opened and some were
 * skipped for the password, open fails with 273 naming them. Any other
 * damaged file fails the open with 271 naming it. An empty store opens;
 * its entry 0 is 272. */
#include "certstore.h"

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_NAME_MAX 255

struct dirstore {
	char *name; /* "User store 'MY' (directory '/home/u/...')" */
	struct certstore **parts;
	size_t n_parts;
	size_t n_entries;
	char *skipped; /* "b.pfx, c.pem": files the password did not open */
};

static char *str_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *str_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static const char *env(const char *name)
{
	const char *v = secure_getenv(name);

	return v && *v ? v : NULL;
}

/* The base directory of the stores of this type, malloc'd; NULL with the
 * error set. */
static char *base_dir(struct spop_host *host, int store_type)
{
	const char *v, *home;
	char *base;

	if (store_type == 1) {
		v = env("SPOP_MACHINE_CERT_DIR");
		base = strdup(v ? v : "/etc/spop/certs");
	} else if ((v = env("SPOP_CERT_DIR"))) {
		base = strdup(v);
	} else if ((v = env("XDG_DATA_HOME")) && v[0] == '/') {
		base = str_printf("%s/spop/certs", v);
	} else {
		struct passwd pw, *found = NULL;
		char buf[4096];

		home = env("HOME");
		if (!home &&
		    getpwuid_r(getuid(), &pw, buf, sizeof(buf), &found) == 0 &&
		    found)
			home = found->pw_dir;
		if (!home || !*home) {
			host->set_error(host, SPOP_ERR_CERT_STORE,
					"Cannot open the User certificate "
					"store: neither SPOP_CERT_DIR, "
					"XDG_DATA_HOME nor HOME is set, and "
					"the user has no home directory.");
			return NULL;
		}
		base = str_printf("%s/.local/share/spop/certs", home);
	}
	if (!base)
		host->set_error(host, SPOP_ERR_CERT_STORE,
				"Cannot open the certificate store: out of "
				"memory.");
	return base;
}

static bool valid_store_name(const unsigned char *s, size_t len)
{
	if (len == 0 || len > STORE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* base/store, or base/<a name equal to store but for case> when only
 * that exists. */
static char *store_dir(const char *base, const char *store)
{
	char *dir = str_printf("%s/%s", base, store);
	struct stat stbuf;
	struct dirent *de;
	DIR *d;

	if (!dir || stat(dir, &stbuf) == 0 || errno != ENOENT)
		return dir;
	d = opendir(base);
	if (!d)
		return dir;
	while ((de = readdir(d)))
		if (strcasecmp(de->d_name, store) == 0) {
			char *other = str_printf("%s/%s", base, de->d_name);

			if (other) {
				free(dir);
				dir = other;
			}
			break;
		}
	closedir(d);
	return dir;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The regular files of dir (not hidden), sorted. 271 when dir cannot be
 * listed. */
static int list_files(struct spop_host *host, const char *what, const char *dir,
		      char ***out, size_t *n_out)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n_out = 0;
	d = opendir(dir);
	if (!d)
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "Cannot open the %s: directory '%s': "
				       "%s.",
				       what, dir, strerror(errno));
	while ((de = readdir(d))) {
		struct stat stbuf;
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = str_printf("%s/%s", dir, de->d_name);
		/* stat follows links: a link to a file is a file. */
		if (!p || stat(p, &stbuf) != 0 || !S_ISREG(stbuf.st_mode)) {
			free(p);
			continue;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nn = realloc(names, ncap * sizeof(*names));

			if (!nn) {
				free(p);
				free_names(names, n);
				closedir(d);
				return host->set_error(
				    host, SPOP_ERR_CERT_STORE,
				    "Cannot open the %s: out of memory.", what);
			}
			names = nn;
			cap = ncap;
		}
		names[n++] = p;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	*out = names;
	*n_out = n;
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcasecmp(s + n - m, suffix) == 0;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Reads one file into a quiet store: 0 and *out (NULL when the file is no
 * certificate file, after a trail line), or an error code with st->why. */
static int read_file(struct spop_host *host, struct dirstore *ds,
		     const char *path, const char *password,
		     struct certstore **out)
{
	bool pfx = ends_with(path, ".pfx") || ends_with(path, ".p12");
	struct certstore_input in;
	struct certstore *st;
	gnutls_pkcs12_t p12 = NULL;
	int rc, ret;

	*out = NULL;
	rc = certstore_input_file(host, pfx ? "PFX" : "PEM",
				  (const unsigned char *)path, strlen(path),
				  false, &in);
	if (rc)
		return rc;
	if (!pfx && !certstore_pem_has_begin(in.data, in.len) &&
	    !certstore_is_x509_der(in.data, in.len)) {
		char *line = str_printf("%s: skipped '%s': neither PEM text, "
					"a DER certificate nor (by its name) "
					"a .pfx/.p12 file.",
					ds->name, base_name(path));

		if (line)
			host->trail(host, SPOP_TRAIL_INFO, line);
		free(line);
		certstore_input_clear(&in);
		return 0;
	}
	if (pfx) {
		ret = certstore_pkcs12_parse(host, &in, false, &p12);
		if (ret < 0) {
			rc = host->set_error(
			    host, SPOP_ERR_CERT_STORE,
			    "Cannot open the %s: its %s is not "
			    "a PKCS#12 (PFX) file: %s.",
			    ds->name, in.name, gnutls_strerror(ret));
			certstore_input_clear(&in);
			return rc;
		}
	} else if (!certstore_pem_has_begin(in.data, in.len)) {
		char *name = str_printf("DER certificate file '%s'", path);

		if (name) {
			free(in.name);
			in.name = name;
		}
	}
	rc = certstore_new(host, &in, &st);
	if (rc)
		goto out;
	st->quiet = true;
	if (pfx) {
		rc = certstore_pkcs12_read(host, st, p12, password);
	} else if (certstore_pem_has_begin(in.data, in.len)) {
		rc = certstore_pem_read(host, st, in.data, in.len, password,
					true);
	} else {
		gnutls_datum_t der = {in.data, (unsigned)in.len};

		rc = certstore_add_cert_data(
		    host, st, &der, GNUTLS_X509_FMT_DER, "its DER data");
	}
	if (!rc)
		rc = certstore_attach_keys(host, st, pfx);
	/* On failure too: the caller reads st->why and frees it. */
	*out = st;
out:
	if (p12)
		gnutls_pkcs12_deinit(p12);
	certstore_input_clear(&in);
	return rc;
}

static void dirstore_free(struct dirstore *ds)
{
	if (!ds)
		return;
	for (size_t i = 0; i < ds->n_parts; i++)
		certstore_free(ds->parts[i]);
	free(ds->parts);
	free(ds->skipped);
	free(ds->name);
	free(ds);
}

static bool note_skipped(struct dirstore *ds, const char *path)
{
	char *s = ds->skipped
		      ? str_printf("%s, %s", ds->skipped, base_name(path))
		      : strdup(base_name(path));

	if (!s)
		return false;
	free(ds->skipped);
	ds->skipped = s;
	return true;
}

/* Reads every file of the directory into ds. */
static int read_files(struct spop_host *host, struct dirstore *ds, char **files,
		      size_t n_files, const char *password)
{
	size_t opened = 0, wrong_password = 0;
	char *whys = NULL;
	int rc = 0;

	for (size_t i = 0; i < n_files && !rc; i++) {
		struct certstore *st = NULL, **parts;

		rc = read_file(host, ds, files[i], password, &st);
		if (rc && st && st->wrong_password) {
			char *line =
			    str_printf("%s: skipped '%s': %s", ds->name,
				       base_name(files[i]), st->why);
			char *w = whys ? str_printf("%s %s", whys, st->why)
				       : strdup(st->why);

			if (line)
				host->trail(host, SPOP_TRAIL_INFO, line);
			free(line);
			free(whys);
			whys = w;
			certstore_free(st);
			wrong_password++;
			rc = 0;
			if (!w || !note_skipped(ds, files[i]))
				rc = host->set_error(host, SPOP_ERR_CERT_STORE,
						     "Cannot open the %s: out "
						     "of memory.",
						     ds->name);
			continue;
		}
		if (rc) {
			/* A quiet store's reason; a read error is set. */
			if (st && st->why)
				rc = host->set_error(host, rc, "%s (in the %s)",
						     st->why, ds->name);
			certstore_free(st);
			break;
		}
		if (!st)
			continue;
		parts = realloc(ds->parts, (ds->n_parts + 1) * sizeof(*parts));
		if (!parts) {
			certstore_free(st);
			rc = host->set_error(host, SPOP_ERR_CERT_STORE,
					     "Cannot open the %s: out of "
					     "memory.",
					     ds->name);
			break;
		}
		ds->parts = parts;
		ds->parts[ds->n_parts++] = st;
		ds->n_entries += st->n_certs;
		opened++;
	}
	if (!rc && opened == 0 && wrong_password > 0)
		rc = host->set_error(
		    host, SPOP_ERR_CREDENTIALS,
		    "Cannot open the %s: the store password opens none of its "
		    "files. %s",
		    ds->name, whys);
	free(whys);
	return rc;
}

static int dirstore_open(struct spop_host *host, int store_type,
			 const unsigned char *store, size_t store_len,
			 const char *password, void **handle)
{
	const char *what = store_type == 1 ? "Machine" : "User";
	struct dirstore *ds = NULL;
	char *base = NULL, *dir = NULL, *name = NULL, **files = NULL, *line;
	size_t n_files = 0;
	int rc;

	*handle = NULL;
	if (store_type != 0 && store_type != 1)
		return host->set_error(host, SPOP_ERR_CERT_STORE,
				       "The dirstore store serves "
				       "CertStoreType 0 (User) and 1 "
				       "(Machine), not %d.",
				       store_type);
	if (!store || !valid_store_name(store, store_len))
		return host->set_error(
		    host, SPOP_ERR_CERT_STORE,
		    "Cannot open the %s certificate store '%.*s': a store name "
		    "(CertStore) is 1 to %d letters, digits, '_' or '-', such "
		    "as MY, CA or ROOT.",
		    what, store && store_len <= 512 ? (int)store_len : 0,
		    store ? (const char *)store : "", STORE_NAME_MAX);
	name = strndup((const char *)store, store_len);
	base = base_dir(host, store_type);
	if (!name || !base) {
		rc = name ? SPOP_ERR_CERT_STORE
			  : host->set_error(host, SPOP_ERR_CERT_STORE,
					    "Cannot open the %s certificate "
					    "store: out of memory.",
					    what);
		goto out;
	}
	dir = store_dir(base, name);
	ds = calloc(1, sizeof(*ds));
	if (ds && dir)
		ds->name = str_printf("%s store '%s' (directory '%s')", what,
				      name, dir);
	if (!ds || !dir || !ds->name) {
		rc = host->set_error(host, SPOP_ERR_CERT_STORE,
				     "Cannot open the %s certificate store: "
				     "out of memory.",
				     what);
		goto out;
	}
	rc = list_files(host, ds->name, dir, &files, &n_files);
	if (rc)
		goto out;
	rc = read_files(host, ds, files, n_files, password);
	if (rc)
		goto out;
	line =
	    str_printf("%s: %zu entr%s from %zu file%s%s%s%s.", ds->name,
		       ds->n_entries, ds->n_entries == 1 ? "y" : "ies",
		       ds->n_parts, ds->n_parts == 1 ? "" : "s",
		       ds->skipped ? " (skipped for the password: " : "",
		       ds->skipped ? ds->skipped : "", ds->skipped ? ")" : "");
	if (line)
		host->trail(host, SPOP_TRAIL_INFO, line);
	free(line);
	*handle = ds;
	ds = NULL;
out:
	free_names(files, n_files);
	dirstore_free(ds);
	free(dir);
	free(base);
	free(name);
	return rc;
}

static int dirstore_entry(struct spop_host *host, void *handle, size_t index,
			  struct spop_cert_entry *entry)
{
	struct dirstore *ds = handle;
	size_t i = index;

	for (size_t p = 0; p < ds->n_parts; p++) {
		if (i < ds->parts[p]->n_certs)
			return certstore_entry(host, ds->parts[p], i, entry);
		i -= ds->parts[p]->n_certs;
	}
	if (ds->n_entries == 0)
		return host->set_error(
		    host, SPOP_ERR_CERT_NOT_FOUND,
		    "No entry %zu in the %s: it holds no certificate%s%s%s.",
		    index, ds->name,
		    ds->skipped ? " (files skipped because the store password "
				  "does not open them: "
				: "",
		    ds->skipped ? ds->skipped : "", ds->skipped ? ")" : "");
	return host->set_error(
	    host, SPOP_ERR_CERT_NOT_FOUND,
	    "No entry %zu in the %s: it has %zu entr%s (0 to %zu)%s%s.", index,
	    ds->name, ds->n_entries, ds->n_entries == 1 ? "y" : "ies",
	    ds->n_entries - 1,
	    ds->skipped ? "; files skipped because the store password does "
			  "not open them: "
			: "",
	    ds->skipped ? ds->skipped : "");
}

static void dirstore_close(struct spop_host *host, void *handle)
{
	dirstore_free(handle);
}

static const struct spop_certstore_ops ops = {
    .size = sizeof(struct spop_certstore_ops),
    .open = dirstore_open,
    .entry = dirstore_entry,
    .key_sign = certstore_key_sign,
    .key_decrypt = certstore_key_decrypt,
    .key_export = certstore_key_export,
    .close = dirstore_close,
    .key_derive = certstore_key_derive,
};

static const int32_t selectors[] = {0, 1};

static const struct spop_plugin_descriptor descriptor = {
    .abi_major = SPOP_PLUGIN_ABI_MAJOR,
    .abi_minor = SPOP_PLUGIN_ABI_MINOR,
    .size = sizeof(struct spop_plugin_descriptor),
    .kind = SPOP_PLUGIN_CERTSTORE,
    .name = "dirstore",
    .version = "1.0",
    .description = "User and Machine stores: directories of PEM and PFX "
		   "files",
    .selectors = selectors,
    .n_selectors = 2,
    .capabilities = SPOP_CAP_CERTSTORE_PRIVATE_KEYS,
    .ops = &ops,
};

SPOP_PLUGIN_DEFINE(descriptor)
