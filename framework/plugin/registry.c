/* Plugin registry: reads the key-file beside each plugin module to choose
 * one without loading the others (as libpeas reads .plugin files), loads
 * the chosen module once per process with GModule, and checks that its
 * descriptor agrees with what its key-file promised. A module without a
 * key-file is still found, by loading it to read its descriptor. Modules
 * are never unloaded, so descriptors, ops tables and setting declarations
 * stay valid for the life of the process. */
#include <gmodule.h>
#include <stdlib.h>
#include <string.h>

#include "spop-build.h"
#include "spop-private.h"

#define KEYFILE_GROUP "Plugin"
/* A declaration list without its NULL end would run on forever. */
#define MAX_DECLS 256

/* One loaded (or unloadable) module; cached by path for the process. */
struct spi_registry_entry {
	char *path;
	GModule *module;
	const struct spop_plugin_descriptor *desc;
	int error_code;
	char *error;
};

/* What selection knows of a plugin before loading it: read from its
 * key-file, or, for a module without one, from its loaded descriptor. */
struct meta {
	int kind;
	char *name;
	gint *selectors;
	gsize n_selectors;
	int rank;
	char *module;	   /* path of the .so */
	char *keyfile;	   /* path of the key-file; NULL when scanned */
	char *description; /* from the key-file */
	char **settings;   /* declared setting names; never NULL */
	int error_code;	   /* a broken key-file or scanned module */
	char *error;
};

/* A setting declared by a loaded plugin (process-wide). */
struct declared {
	const struct spop_setting_decl *decl;
	const struct spop_plugin_descriptor *owner;
};

static GMutex registry_lock;
static GHashTable *loaded;   /* path -> struct spi_registry_entry* */
static GHashTable *warned;   /* paths warned about a missing key-file */
static GHashTable *declared; /* lower-case name -> struct declared* */

static const char *const kind_names[] = {
    NULL, "transport", "tls", "auth", "certstore", "smime",
};

const char *spi_kind_name(int kind)
{
	if (kind <= 0 || kind >= (int)G_N_ELEMENTS(kind_names))
		return "unknown";
	return kind_names[kind];
}

static int kind_from_name(const char *name)
{
	for (int k = 1; k < (int)G_N_ELEMENTS(kind_names); k++)
		if (!g_ascii_strcasecmp(name, kind_names[k]))
			return k;
	return 0;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Search order: Config PluginPath, SPOP_PLUGIN_PATH, the install
 * directory. secure_getenv() ignores the environment in set-id and
 * otherwise AT_SECURE processes (file capabilities included), as Cyrus
 * SASL does, so a caller cannot make a privileged program load its code. */
static GPtrArray *search_dirs(struct spop *s)
{
	GPtrArray *dirs = g_ptr_array_new_with_free_func(g_free);
	const char *sources[2] = {s->cfg.plugin_path,
				  secure_getenv("SPOP_PLUGIN_PATH")};

	for (size_t i = 0; i < G_N_ELEMENTS(sources); i++) {
		if (!sources[i] || !*sources[i])
			continue;
		char **parts =
		    g_strsplit(sources[i], G_SEARCHPATH_SEPARATOR_S, -1);
		for (char **p = parts; *p; p++)
			if (**p)
				g_ptr_array_add(dirs, g_strdup(*p));
		g_strfreev(parts);
	}
	g_ptr_array_add(dirs, g_strdup(SPOP_PLUGINSDIR));
	return dirs;
}

static char *dirs_text(GPtrArray *dirs)
{
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < dirs->len; i++)
		g_string_append_printf(out, "%s%s", i ? ":" : "",
				       (char *)dirs->pdata[i]);
	return g_string_free(out, FALSE);
}

/* File names are spop-KIND-NAME.so (modules) and spop-KIND-NAME.plugin
 * (key-files). */
static bool parse_file_name(const char *base, const char *suffix, int *kind,
			    char **name)
{
	if (!g_str_has_prefix(base, "spop-") || !g_str_has_suffix(base, suffix))
		return false;
	const char *rest = base + 5;
	for (int k = 1; k < (int)G_N_ELEMENTS(kind_names); k++) {
		size_t n = strlen(kind_names[k]);

		if (!strncmp(rest, kind_names[k], n) && rest[n] == '-') {
			const char *nm = rest + n + 1;
			size_t len = strlen(nm) - strlen(suffix);

			if (!len)
				return false;
			*kind = k;
			*name = g_strndup(nm, len);
			return true;
		}
	}
	return false;
}

/* ---- loading and checking one module ---- */

static void fail_entry(struct spi_registry_entry *e, int code, char *msg)
{
	e->error_code = code;
	e->error = msg;
	e->desc = NULL;
}

static bool valid_setting_name(const char *name)
{
	if (!name || !g_ascii_isalpha(*name))
		return false;
	for (const char *p = name; *p; p++)
		if (!g_ascii_isalnum(*p))
			return false;
	return true;
}

/* Why decl is unusable, or NULL. Values are checked the way spop_config()
 * will check the user's, so a bad default cannot reach a plugin. */
static char *decl_problem(const struct spop_setting_decl *d)
{
	bool b;
	long long v;
	char *end;

	if (d->size < sizeof(struct spop_setting_decl))
		return g_strdup_printf("has size %u, less than the %zu of "
				       "ABI 1.1",
				       d->size,
				       sizeof(struct spop_setting_decl));
	if (!valid_setting_name(d->name))
		return g_strdup("has a name that is not a letter followed by "
				"letters and digits");
	switch (d->type) {
	case SPOP_SETTING_STRING: return NULL;
	case SPOP_SETTING_BOOL:
		if (d->default_value && spi_parse_bool(d->default_value, &b))
			return g_strdup_printf("has default '%s', not a "
					       "boolean",
					       d->default_value);
		return NULL;
	case SPOP_SETTING_INT:
		if (d->min > d->max)
			return g_strdup_printf("has min %lld above max %lld",
					       d->min, d->max);
		if (!d->default_value)
			return d->min <= 0 && 0 <= d->max
				   ? NULL
				   : g_strdup("has no default and 0 is out "
					      "of its range");
		v = strtoll(d->default_value, &end, 10);
		if (end == d->default_value || *end || v < d->min || v > d->max)
			return g_strdup_printf("has default '%s', not a whole "
					       "number from %lld to %lld",
					       d->default_value, d->min,
					       d->max);
		return NULL;
	default: return g_strdup_printf("has unknown type %u", d->type);
	}
}

/* The settings a descriptor declares, or NULL: read only when the plugin
 * was built for 1.1 or later and its descriptor is long enough to hold
 * the member (in 1.0 it was reserved padding). */
static const struct spop_setting_decl *
descriptor_settings(const struct spop_plugin_descriptor *d)
{
	if (d->abi_minor < 1 ||
	    d->size < offsetof(struct spop_plugin_descriptor, settings) +
			  sizeof(d->settings))
		return NULL;
	return d->settings;
}

static char *settings_problem(const struct spop_plugin_descriptor *d)
{
	const struct spop_setting_decl *list = descriptor_settings(d);

	for (size_t i = 0; list && list[i].name; i++) {
		if (i == MAX_DECLS)
			return g_strdup_printf("declares more than %d "
					       "settings (is the list ended "
					       "by an entry with name NULL?)",
					       MAX_DECLS);
		char *why = decl_problem(&list[i]);
		if (why) {
			char *msg = g_strdup_printf(
			    "declares setting %zu ('%s'), which %s", i,
			    list[i].name ? list[i].name : "", why);
			g_free(why);
			return msg;
		}
		for (size_t j = 0; j < i; j++)
			if (!g_ascii_strcasecmp(list[j].name, list[i].name))
				return g_strdup_printf("declares setting "
						       "'%s' twice",
						       list[i].name);
	}
	return NULL;
}

/* Makes a loaded plugin's settings known to Config and host->setting. */
static void register_settings(const struct spop_plugin_descriptor *d,
			      const char *path)
{
	const struct spop_setting_decl *list = descriptor_settings(d);

	if (!declared)
		declared = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, g_free);
	for (size_t i = 0; list && list[i].name; i++) {
		char *key = g_ascii_strdown(list[i].name, -1);
		struct declared *prev = g_hash_table_lookup(declared, key);

		if (spi_setting_is_core(list[i].name)) {
			g_warning("plugin %s declares setting '%s', which "
				  "libspop already has; the declaration is "
				  "ignored",
				  path, list[i].name);
			g_free(key);
		} else if (prev) {
			g_warning("plugin %s declares setting '%s', already "
				  "declared by %s plugin '%s'; that one is "
				  "used",
				  path, list[i].name,
				  spi_kind_name(prev->owner->kind),
				  prev->owner->name);
			g_free(key);
		} else {
			struct declared *dd = g_new(struct declared, 1);

			dd->decl = &list[i];
			dd->owner = d;
			g_hash_table_insert(declared, key, dd);
		}
	}
}

static void check_entry(struct spi_registry_entry *e)
{
	spop_plugin_entry_fn entry;

	e->module =
	    g_module_open(e->path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
	if (!e->module) {
		fail_entry(e, SPOP_ERR_PLUGIN_INVALID,
			   g_strdup_printf("cannot load plugin module %s: %s",
					   e->path, g_module_error()));
		return;
	}
	if (!g_module_symbol(e->module, SPOP_PLUGIN_ENTRY_SYMBOL,
			     (gpointer *)&entry) ||
	    !entry) {
		fail_entry(
		    e, SPOP_ERR_PLUGIN_INVALID,
		    g_strdup_printf("plugin module %s does not export %s",
				    e->path, SPOP_PLUGIN_ENTRY_SYMBOL));
		return;
	}
	const struct spop_plugin_descriptor *d = entry();
	if (!d) {
		fail_entry(
		    e, SPOP_ERR_PLUGIN_INVALID,
		    g_strdup_printf("plugin module %s returned no descriptor",
				    e->path));
		return;
	}
	if (d->abi_major != SPOP_PLUGIN_ABI_MAJOR) {
		fail_entry(e, SPOP_ERR_PLUGIN_ABI,
			   g_strdup_printf(
			       "plugin %s was built for plugin ABI %u.%u; this "
			       "libspop supports ABI %d.%d",
			       e->path, d->abi_major, d->abi_minor,
			       SPOP_PLUGIN_ABI_MAJOR, SPOP_PLUGIN_ABI_MINOR));
		return;
	}
	/* Policy (plugin.h): a plugin built for 1.N needs a core of 1.N or
	 * later, so it never meets a core that lacks what it may use. */
	if (d->abi_minor > SPOP_PLUGIN_ABI_MINOR) {
		fail_entry(
		    e, SPOP_ERR_PLUGIN_ABI,
		    g_strdup_printf(
			"plugin %s needs plugin ABI %u.%u, newer than this "
			"libspop's %d.%d",
			e->path, d->abi_major, d->abi_minor,
			SPOP_PLUGIN_ABI_MAJOR, SPOP_PLUGIN_ABI_MINOR));
		return;
	}
	if (d->size < offsetof(struct spop_plugin_descriptor, settings) ||
	    !d->name || !d->ops ||
	    *(const uint32_t *)d->ops < sizeof(uint32_t)) {
		fail_entry(
		    e, SPOP_ERR_PLUGIN_INVALID,
		    g_strdup_printf(
			"plugin %s has an incomplete descriptor (size %u, "
			"name %s, ops %s)",
			e->path, d->size, d->name ? d->name : "missing",
			d->ops ? "present" : "missing"));
		return;
	}
	/* Padding is only reusable later if every plugin leaves it zero; in
	 * 1.0 the settings member was padding too. */
	bool dirty =
	    d->abi_minor < 1 &&
	    d->size >= offsetof(struct spop_plugin_descriptor, settings) +
			   sizeof(d->settings) &&
	    d->settings;
	for (size_t i = 0; i < G_N_ELEMENTS(d->reserved); i++)
		if (d->size >=
			offsetof(struct spop_plugin_descriptor, reserved) +
			    (i + 1) * sizeof(d->reserved[0]) &&
		    d->reserved[i])
			dirty = true;
	if (dirty) {
		fail_entry(e, SPOP_ERR_PLUGIN_INVALID,
			   g_strdup_printf("plugin %s sets reserved descriptor "
					   "members, which must be zero",
					   e->path));
		return;
	}
	char *why = settings_problem(d);
	if (why) {
		fail_entry(e, SPOP_ERR_PLUGIN_INVALID,
			   g_strdup_printf("plugin %s %s", e->path, why));
		g_free(why);
		return;
	}
	e->desc = d;
	register_settings(d, e->path);
}

/* Loads (once per process) the module at path. Caller holds the lock. */
static struct spi_registry_entry *load(const char *path)
{
	if (!loaded)
		loaded = g_hash_table_new(g_str_hash, g_str_equal);
	struct spi_registry_entry *e = g_hash_table_lookup(loaded, path);
	if (e)
		return e;
	e = g_new0(struct spi_registry_entry, 1);
	e->path = g_strdup(path);
	check_entry(e);
	g_hash_table_insert(loaded, e->path, e);
	return e;
}

/* ---- metadata: key-files, or scanning for modules without one ---- */

static void meta_free(gpointer p)
{
	struct meta *m = p;

	g_free(m->name);
	g_free(m->selectors);
	g_free(m->module);
	g_free(m->keyfile);
	g_free(m->description);
	g_strfreev(m->settings);
	g_free(m->error);
	g_free(m);
}

static struct meta *meta_broken(int kind, const char *name, char *module,
				char *keyfile, int code, char *error)
{
	struct meta *m = g_new0(struct meta, 1);

	m->kind = kind;
	m->name = g_strdup(name);
	m->module = module;
	m->keyfile = keyfile;
	m->settings = g_new0(char *, 1);
	m->error_code = code;
	m->error = error;
	return m;
}

/* Reads dir/base, a key-file named for kind and name. */
static struct meta *read_keyfile(const char *dir, const char *base, int kind,
				 const char *name)
{
	char *path = g_build_filename(dir, base, NULL);
	GKeyFile *kf = g_key_file_new();
	GError *err = NULL;
	struct meta *m = NULL;
	char *kind_text = NULL, *module = NULL;
	const char *key = NULL; /* being read, for the error */

	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &err))
		goto bad;
	key = "Kind";
	kind_text = g_key_file_get_string(kf, KEYFILE_GROUP, "Kind", &err);
	if (!kind_text)
		goto bad;
	m = g_new0(struct meta, 1);
	m->kind = kind_from_name(kind_text);
	m->keyfile = path;
	path = NULL;
	key = "Name";
	if (!(m->name = g_key_file_get_string(kf, KEYFILE_GROUP, "Name", &err)))
		goto bad;
	if (m->kind != kind || g_ascii_strcasecmp(m->name, name)) {
		key = NULL;
		err =
		    g_error_new(G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE,
				"it says %s plugin '%s', but its file name "
				"says %s plugin '%s'",
				kind_text, m->name, spi_kind_name(kind), name);
		goto bad;
	}
	/* No Selectors (or an empty list) means "by name only"; a list must
	 * be numbers. */
	char *sel = g_key_file_get_value(kf, KEYFILE_GROUP, "Selectors", NULL);
	bool has_sel = sel && *g_strstrip(sel);
	g_free(sel);
	key = "Selectors";
	if (has_sel) {
		m->selectors = g_key_file_get_integer_list(
		    kf, KEYFILE_GROUP, "Selectors", &m->n_selectors, &err);
		if (err)
			goto bad;
	}
	key = "Rank";
	if (g_key_file_has_key(kf, KEYFILE_GROUP, "Rank", NULL)) {
		m->rank =
		    g_key_file_get_integer(kf, KEYFILE_GROUP, "Rank", &err);
		if (err)
			goto bad;
	}
	key = "Module";
	module = g_key_file_get_string(kf, KEYFILE_GROUP, "Module", &err);
	if (!module)
		goto bad;
	/* The module lies beside its key-file: a path could point anywhere. */
	if (!*module || strchr(module, '/') || !strcmp(module, ".") ||
	    !strcmp(module, "..")) {
		err = g_error_new(G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE,
				  "'%s' is not a file name in the "
				  "key-file's directory",
				  module);
		goto bad;
	}
	m->module = g_build_filename(dir, module, NULL);
	m->description =
	    g_key_file_get_string(kf, KEYFILE_GROUP, "Description", NULL);
	m->settings = g_key_file_get_string_list(kf, KEYFILE_GROUP, "Settings",
						 NULL, NULL);
	if (!m->settings)
		m->settings = g_new0(char *, 1);
	g_free(module);
	g_free(kind_text);
	g_key_file_unref(kf);
	return m;

bad:;
	char *keyfile = m ? g_strdup(m->keyfile) : path;
	struct meta *broken = meta_broken(
	    kind, name, NULL, keyfile, SPOP_ERR_PLUGIN_INVALID,
	    g_strdup_printf("plugin key-file %s is not usable: %s%s%s", keyfile,
			    key ? key : "", key ? ": " : "",
			    err ? err->message : "unknown error"));
	if (m)
		meta_free(m);
	else
		path = NULL;
	g_free(path);
	g_clear_error(&err);
	g_free(module);
	g_free(kind_text);
	g_key_file_unref(kf);
	return broken;
}

/* A module without a key-file: load it to learn what it is. */
static struct meta *scan_module(const char *dir, const char *base, int kind,
				const char *name)
{
	char *path = g_build_filename(dir, base, NULL);

	if (!warned)
		warned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					       NULL);
	if (!g_hash_table_contains(warned, path)) {
		g_warning("plugin module %s has no key-file spop-%s-%s.plugin "
			  "beside it; it is loaded to read its descriptor, "
			  "and again whenever a %s plugin is chosen",
			  path, spi_kind_name(kind), name, spi_kind_name(kind));
		g_hash_table_add(warned, g_strdup(path));
	}
	struct spi_registry_entry *e = load(path);
	const struct spop_plugin_descriptor *d = e->desc;

	if (!d)
		return meta_broken(kind, name, path, NULL, e->error_code,
				   g_strdup(e->error));
	if ((int)d->kind != kind || g_ascii_strcasecmp(d->name, name))
		return meta_broken(
		    kind, name, path, NULL, SPOP_ERR_PLUGIN_INVALID,
		    g_strdup_printf("plugin %s declares %s plugin '%s', but "
				    "its file name says %s plugin '%s'",
				    path, spi_kind_name(d->kind), d->name,
				    spi_kind_name(kind), name));

	struct meta *m = g_new0(struct meta, 1);
	const struct spop_setting_decl *list = descriptor_settings(d);
	GPtrArray *names = g_ptr_array_new();

	m->kind = kind;
	m->name = g_strdup(d->name);
	m->n_selectors = d->selectors ? d->n_selectors : 0;
	m->selectors = g_new0(gint, m->n_selectors + 1);
	for (gsize i = 0; i < m->n_selectors; i++)
		m->selectors[i] = d->selectors[i];
	m->rank = (int)d->rank;
	m->module = path;
	m->description = g_strdup(d->description);
	for (size_t i = 0; list && list[i].name; i++)
		g_ptr_array_add(names, g_strdup(list[i].name));
	g_ptr_array_add(names, NULL);
	m->settings = (char **)g_ptr_array_free(names, FALSE);
	return m;
}

/* What the search path offers of kind (0: every kind), in search order; a
 * plugin found in an earlier directory shadows one of the same kind and
 * name later. Loads nothing but modules that have no key-file. Caller
 * holds the lock. */
static GPtrArray *index_plugins(GPtrArray *dirs, int only_kind)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(meta_free);
	GHashTable *seen =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	for (guint i = 0; i < dirs->len; i++) {
		const char *dir = dirs->pdata[i];
		GDir *d = g_dir_open(dir, 0, NULL);
		const char *base;
		GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
		GHashTable *metas = g_hash_table_new(g_str_hash, g_str_equal);
		GHashTable *claimed = g_hash_table_new_full(
		    g_str_hash, g_str_equal, g_free, NULL);

		if (!d) {
			g_ptr_array_free(names, TRUE);
			g_hash_table_destroy(metas);
			g_hash_table_destroy(claimed);
			continue;
		}
		while ((base = g_dir_read_name(d)))
			g_ptr_array_add(names, g_strdup(base));
		g_dir_close(d);
		/* Directory order is arbitrary; sorted order is repeatable. */
		g_ptr_array_sort(names, compare_names);

		/* Key-files first, so their modules are not scanned. */
		for (guint j = 0; j < names->len; j++) {
			const char *b = names->pdata[j];
			int kind;
			char *name;

			if (!parse_file_name(b, ".plugin", &kind, &name))
				continue;
			if (!only_kind || kind == only_kind) {
				struct meta *m =
				    read_keyfile(dir, b, kind, name);

				g_hash_table_insert(metas, (gpointer)b, m);
				if (m->module)
					g_hash_table_add(
					    claimed,
					    g_path_get_basename(m->module));
			}
			g_free(name);
		}
		for (guint j = 0; j < names->len; j++) {
			const char *b = names->pdata[j];
			struct meta *m = g_hash_table_lookup(metas, b);
			int kind;
			char *name = NULL;

			if (!m && parse_file_name(b, ".so", &kind, &name) &&
			    (!only_kind || kind == only_kind) &&
			    !g_hash_table_contains(claimed, b))
				m = scan_module(dir, b, kind, name);
			g_free(name);
			if (!m)
				continue;
			char *key = g_strdup_printf("%d:%s", m->kind, m->name);
			char *lower = g_ascii_strdown(key, -1);

			g_free(key);
			if (g_hash_table_contains(seen, lower)) {
				meta_free(m);
				g_free(lower);
				continue;
			}
			g_hash_table_add(seen, lower);
			g_ptr_array_add(out, m);
		}
		g_hash_table_destroy(metas);
		g_hash_table_destroy(claimed);
		g_ptr_array_free(names, TRUE);
	}
	g_hash_table_destroy(seen);
	return out;
}

static gint compare_ints(gconstpointer a, gconstpointer b)
{
	gint x = *(const gint *)a, y = *(const gint *)b;

	return (x > y) - (x < y);
}

static char *ints_text(const gint *v, gsize n)
{
	GString *out = g_string_new(NULL);

	for (gsize i = 0; i < n; i++)
		g_string_append_printf(out, "%s%d", i ? "," : "", v[i]);
	if (!n)
		g_string_append(out, "none");
	return g_string_free(out, FALSE);
}

/* Whether the sets of setting names agree, case-insensitively. */
static bool same_settings(char **names, const struct spop_setting_decl *list)
{
	size_t n = 0;

	for (; list && list[n].name; n++) {
		bool found = false;

		for (char **p = names; *p && !found; p++)
			found = !g_ascii_strcasecmp(*p, list[n].name);
		if (!found)
			return false;
	}
	return g_strv_length(names) == n;
}

static char *settings_text(char **names)
{
	return names[0] ? g_strjoinv(",", names) : g_strdup("none");
}

/* Why a loaded descriptor contradicts its key-file, or NULL. A stale
 * key-file would otherwise choose a plugin for values it does not serve. */
static char *disagreement(const struct meta *m,
			  const struct spop_plugin_descriptor *d)
{
	gsize n = d->selectors ? d->n_selectors : 0;
	gint *theirs = g_new0(gint, n + 1);
	gint *ours = g_new0(gint, m->n_selectors + 1);
	bool same = (int)d->kind == m->kind &&
		    !g_ascii_strcasecmp(d->name, m->name) &&
		    n == m->n_selectors;
	const struct spop_setting_decl *list = descriptor_settings(d);
	char *msg = NULL;

	for (gsize i = 0; i < n; i++)
		theirs[i] = d->selectors[i];
	if (m->n_selectors)
		memcpy(ours, m->selectors, m->n_selectors * sizeof(gint));
	qsort(theirs, n, sizeof(gint), compare_ints);
	qsort(ours, m->n_selectors, sizeof(gint), compare_ints);
	if (same && n)
		same = !memcmp(theirs, ours, n * sizeof(gint));
	if (same)
		same = same_settings(m->settings, list);
	if (!same) {
		GPtrArray *dn = g_ptr_array_new();

		for (size_t i = 0; list && list[i].name; i++)
			g_ptr_array_add(dn, (gpointer)list[i].name);
		g_ptr_array_add(dn, NULL);

		char *ds = ints_text(theirs, n);
		char *ks = ints_text(ours, m->n_selectors);
		char *dset = settings_text((char **)dn->pdata);
		char *kset = settings_text(m->settings);

		msg = g_strdup_printf(
		    "plugin %s declares %s plugin '%s' (selectors %s; "
		    "settings %s), but its key-file %s says %s plugin '%s' "
		    "(selectors %s; settings %s)",
		    m->module, spi_kind_name(d->kind), d->name, ds, dset,
		    m->keyfile, spi_kind_name(m->kind), m->name, ks, kset);
		g_free(ds);
		g_free(ks);
		g_free(dset);
		g_free(kset);
		g_ptr_array_free(dn, TRUE);
	}
	g_free(theirs);
	g_free(ours);
	return msg;
}

/* Loads the module m describes and checks it. Returns its descriptor, or
 * NULL with *code and *error (to free) set. Caller holds the lock. */
static const struct spop_plugin_descriptor *resolve(const struct meta *m,
						    int *code, char **error)
{
	if (m->error) {
		*code = m->error_code;
		*error = g_strdup(m->error);
		return NULL;
	}
	struct spi_registry_entry *e = load(m->module);
	if (!e->desc) {
		*code = e->error_code;
		*error = g_strdup(e->error);
		return NULL;
	}
	if (m->keyfile && (*error = disagreement(m, e->desc))) {
		*code = SPOP_ERR_PLUGIN_INVALID;
		return NULL;
	}
	return e->desc;
}

static bool serves(const struct meta *m, int selector)
{
	for (gsize i = 0; m->selectors && i < m->n_selectors; i++)
		if (m->selectors[i] == selector)
			return true;
	return false;
}

/* Broken plugins are named too, so a user sees why one was skipped:
 * broken key-files, modules that failed when scanned, and modules this
 * process already failed to load. */
static void describe_offer(GPtrArray *metas, GString *available,
			   GString *broken)
{
	for (guint i = 0; i < metas->len; i++) {
		const struct meta *m = metas->pdata[i];
		struct spi_registry_entry *e =
		    m->module && loaded ? g_hash_table_lookup(loaded, m->module)
					: NULL;

		if (m->error)
			g_string_append_printf(broken, "; %s", m->error);
		else if (e && e->error)
			g_string_append_printf(broken, "; %s", e->error);
		else
			g_string_append_printf(available, "%s%s",
					       available->len ? ", " : "",
					       m->name);
	}
}

static int select_common(struct spop *s, int kind, const char *selector_name,
			 int selector, const char *name,
			 const struct spop_plugin_descriptor **out)
{
	GPtrArray *dirs = search_dirs(s);
	const struct meta *hit = NULL;
	int code = 0;
	char *error = NULL;

	g_mutex_lock(&registry_lock);
	GPtrArray *metas = index_plugins(dirs, kind);
	for (guint i = 0; i < metas->len; i++) {
		const struct meta *m = metas->pdata[i];

		/* SASL names are case-insensitive, so every name is. */
		if (name && !g_ascii_strcasecmp(m->name, name)) {
			hit = m;
			break;
		}
		/* Ties keep the earlier one: search order decides. */
		if (!name && !m->error && serves(m, selector) &&
		    (!hit || m->rank > hit->rank))
			hit = m;
	}
	if (hit) {
		*out = resolve(hit, &code, &error);
	} else {
		GString *available = g_string_new(NULL);
		GString *broken = g_string_new(NULL);
		char *where = dirs_text(dirs);

		describe_offer(metas, available, broken);
		code = SPOP_ERR_PLUGIN_NOT_FOUND;
		if (name)
			error = g_strdup_printf(
			    "No %s plugin named '%s' (searched %s; "
			    "available: %s%s).",
			    spi_kind_name(kind), name, where,
			    available->len ? available->str : "none",
			    broken->str);
		else
			error = g_strdup_printf(
			    "No %s plugin serves %s=%d (searched %s; "
			    "available: %s%s).",
			    spi_kind_name(kind), selector_name, selector, where,
			    available->len ? available->str : "none",
			    broken->str);
		g_free(where);
		g_string_free(available, TRUE);
		g_string_free(broken, TRUE);
	}
	char *hit_name = hit ? g_strdup(hit->name) : NULL;
	g_ptr_array_free(metas, TRUE);
	g_mutex_unlock(&registry_lock);
	g_ptr_array_free(dirs, TRUE);

	int rc = 0;
	if (code == SPOP_ERR_PLUGIN_NOT_FOUND)
		rc = spi_fail(s, code, "%s", error);
	else if (code)
		rc = spi_fail(s, code, "%s plugin '%s': %s.",
			      spi_kind_name(kind), hit_name, error);
	g_free(hit_name);
	g_free(error);
	return rc;
}

int spi_plugin_select(struct spop *s, int kind, const char *selector_name,
		      int selector, const struct spop_plugin_descriptor **out)
{
	return select_common(s, kind, selector_name, selector, NULL, out);
}

int spi_plugin_by_name(struct spop *s, int kind, const char *name,
		       const struct spop_plugin_descriptor **out)
{
	return select_common(s, kind, NULL, 0, name, out);
}

/* ---- declared settings ---- */

const struct spop_setting_decl *spi_plugin_setting_loaded(const char *name)
{
	char *key = g_ascii_strdown(name, -1);
	const struct spop_setting_decl *d = NULL;

	g_mutex_lock(&registry_lock);
	struct declared *dd =
	    declared ? g_hash_table_lookup(declared, key) : NULL;
	if (dd)
		d = dd->decl;
	g_mutex_unlock(&registry_lock);
	g_free(key);
	return d;
}

int spi_plugin_find_setting(struct spop *s, const char *name,
			    const struct spop_setting_decl **decl)
{
	GPtrArray *dirs = search_dirs(s);
	int code = 0;
	char *error = NULL;
	const struct meta *owner = NULL;

	*decl = NULL;
	g_mutex_lock(&registry_lock);
	GPtrArray *metas = index_plugins(dirs, 0);
	/* The first plugin in search order whose key-file lists the name is
	 * the one loaded; no other module is touched. */
	for (guint i = 0; i < metas->len && !owner; i++) {
		const struct meta *m = metas->pdata[i];

		for (char **p = m->settings; *p && !owner; p++)
			if (!g_ascii_strcasecmp(*p, name))
				owner = m;
	}
	if (owner && resolve(owner, &code, &error)) {
		char *key = g_ascii_strdown(name, -1);
		struct declared *dd = g_hash_table_lookup(declared, key);

		/* Absent when the core has the name, which Config asked
		 * before coming here: then no plugin may take it. */
		if (dd)
			*decl = dd->decl;
		g_free(key);
	}
	char *owner_text =
	    owner ? g_strdup_printf("%s plugin '%s'",
				    spi_kind_name(owner->kind), owner->name)
		  : NULL;
	g_ptr_array_free(metas, TRUE);
	g_mutex_unlock(&registry_lock);
	g_ptr_array_free(dirs, TRUE);

	int rc = 0;
	if (code)
		rc = spi_fail(s, code,
			      "Config setting '%s' is declared by %s, which "
			      "cannot be used: %s.",
			      name, owner_text, error);
	g_free(owner_text);
	g_free(error);
	return rc;
}

/* ---- listings ---- */

struct listed {
	int kind;
	char *name;
	char *path;
	const struct spop_plugin_descriptor *desc; /* NULL when broken */
	char *error;
};

/* Everything the search path offers, each loaded and checked: a listing
 * says what is loadable, which only loading can tell (as gst-inspect). */
static GArray *collect(struct spop *s)
{
	GPtrArray *dirs = search_dirs(s);
	GArray *found = g_array_new(FALSE, FALSE, sizeof(struct listed));

	g_mutex_lock(&registry_lock);
	GPtrArray *metas = index_plugins(dirs, 0);
	for (guint i = 0; i < metas->len; i++) {
		const struct meta *m = metas->pdata[i];
		struct listed l = {m->kind, g_strdup(m->name),
				   g_strdup(m->module ? m->module : m->keyfile),
				   NULL, NULL};
		int code;

		l.desc = resolve(m, &code, &l.error);
		g_array_append_val(found, l);
	}
	g_ptr_array_free(metas, TRUE);
	g_mutex_unlock(&registry_lock);
	g_ptr_array_free(dirs, TRUE);
	return found;
}

static void listed_free(GArray *found)
{
	for (guint i = 0; i < found->len; i++) {
		struct listed *l = &g_array_index(found, struct listed, i);

		g_free(l->name);
		g_free(l->path);
		g_free(l->error);
	}
	g_array_free(found, TRUE);
}

SPI_EXPORT int spop_list_plugins(spop_t *s, spop_plugin_list_cb cb, void *ud)
{
	if (!cb)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"spop_list_plugins needs a callback.");
	spi_clear_error(s);

	GArray *found = collect(s);
	/* The callback runs outside the registry lock, so it may call back
	 * into libspop (even list again) without deadlocking. */
	for (guint i = 0; i < found->len; i++) {
		struct listed *l = &g_array_index(found, struct listed, i);
		const struct spop_plugin_descriptor *d = l->desc;
		struct spop_plugin_info info = {
		    .kind = l->kind,
		    .kind_name = spi_kind_name(l->kind),
		    .name = d ? d->name : l->name,
		    .version = d ? d->version : "",
		    .description = d ? d->description : "",
		    .path = l->path,
		    .error = l->error,
		};
		cb(&info, ud);
	}
	listed_free(found);
	return 0;
}

static const char *const type_names[] = {NULL, "string", "int", "bool"};

SPI_EXPORT int spop_list_settings(spop_t *s, spop_setting_list_cb cb, void *ud)
{
	if (!cb)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"spop_list_settings needs a callback.");
	spi_clear_error(s);

	GArray *found = collect(s);
	for (guint i = 0; i < found->len; i++) {
		struct listed *l = &g_array_index(found, struct listed, i);
		const struct spop_setting_decl *list =
		    l->desc ? descriptor_settings(l->desc) : NULL;

		for (size_t j = 0; list && list[j].name; j++) {
			const struct spop_setting_decl *d = &list[j];
			bool secret = d->flags & SPOP_SETTING_SECRET;
			const char *def =
			    d->default_value ? d->default_value : "";
			char *shown = NULL;

			/* Shadowed by a core name or an earlier plugin:
			 * not what Config would use, so not listed. */
			if (spi_plugin_setting_loaded(d->name) != d)
				continue;
			if (d->type == SPOP_SETTING_BOOL) {
				bool b = false;

				spi_parse_bool(def, &b);
				def = b ? "True" : "False";
			}
			if (secret && *def)
				def = shown = g_strdup("********");
			struct spop_setting_info info = {
			    .size = sizeof(info),
			    .name = d->name,
			    .type = (int)d->type,
			    .type_name = type_names[d->type],
			    .default_value = def,
			    .description = d->description ? d->description : "",
			    .min = d->type == SPOP_SETTING_INT ? d->min : 0,
			    .max = d->type == SPOP_SETTING_INT ? d->max : 0,
			    .secret = secret,
			    .plugin_kind_name = spi_kind_name(l->kind),
			    .plugin_name = l->desc->name,
			};
			cb(&info, ud);
			g_free(shown);
		}
	}
	listed_free(found);
	return 0;
}

/* ---- key-files from descriptors (the build's plugin-keyfile tool) ---- */

int spi_plugin_keyfile(const char *module_path, char **text, char **error)
{
	char *base = g_path_get_basename(module_path);
	int kind;
	char *name = NULL;
	int rc = 0;

	*text = NULL;
	*error = NULL;
	g_mutex_lock(&registry_lock);
	struct spi_registry_entry *e = load(module_path);
	const struct spop_plugin_descriptor *d = e->desc;

	if (!d) {
		rc = e->error_code;
		*error = g_strdup(e->error);
	} else if (!parse_file_name(base, ".so", &kind, &name) ||
		   kind != (int)d->kind || strcmp(name, d->name)) {
		rc = SPOP_ERR_PLUGIN_INVALID;
		*error = g_strdup_printf("module %s must be named "
					 "spop-%s-%s.so after its descriptor",
					 module_path, spi_kind_name(d->kind),
					 d->name);
	} else {
		GKeyFile *kf = g_key_file_new();
		const struct spop_setting_decl *list = descriptor_settings(d);
		GPtrArray *names = g_ptr_array_new();
		gint *sel = g_new0(gint, d->n_selectors + 1);

		for (uint32_t i = 0; d->selectors && i < d->n_selectors; i++)
			sel[i] = d->selectors[i];
		for (size_t i = 0; list && list[i].name; i++)
			g_ptr_array_add(names, (gpointer)list[i].name);
		g_key_file_set_string(kf, KEYFILE_GROUP, "Kind",
				      spi_kind_name(d->kind));
		g_key_file_set_string(kf, KEYFILE_GROUP, "Name", d->name);
		g_key_file_set_integer_list(kf, KEYFILE_GROUP, "Selectors", sel,
					    d->selectors ? d->n_selectors : 0);
		g_key_file_set_integer(kf, KEYFILE_GROUP, "Rank", (int)d->rank);
		g_key_file_set_string(kf, KEYFILE_GROUP, "Module", base);
		g_key_file_set_string(kf, KEYFILE_GROUP, "Description",
				      d->description ? d->description : "");
		if (names->len)
			g_key_file_set_string_list(
			    kf, KEYFILE_GROUP, "Settings",
			    (const char *const *)names->pdata, names->len);
		g_key_file_set_comment(kf, NULL, NULL,
				       " Written from the module's descriptor "
				       "at build time. libspop reads it to\n"
				       " choose plugins without loading them "
				       "(see <spop/plugin.h>).",
				       NULL);
		*text = g_key_file_to_data(kf, NULL, NULL);
		g_free(sel);
		g_ptr_array_free(names, TRUE);
		g_key_file_unref(kf);
	}
	g_mutex_unlock(&registry_lock);
	g_free(name);
	g_free(base);
	return rc;
}
