/* Plugin registry: the search path, an index of what it offers (read from
 * key-files, see keyfile.c, or by loading a module that has none), loading
 * the chosen module once per process with GModule and checking its
 * descriptor, selection by value or by name, and spop_list_plugins().
 * Modules are never unloaded, so descriptors, ops tables and setting
 * declarations stay valid for the life of the process. */
#include <gmodule.h>
#include <stdlib.h>
#include <string.h>

#include "spop-build.h"
#include "registry-private.h"

pthread_mutex_t spi_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static GHashTable *loaded; /* path -> struct spi_registry_entry* */
static GHashTable *warned; /* paths warned about a missing key-file */

/* ---- kinds, the search path, file names ---- */

static const char *const kind_names[] = {
    NULL, "transport", "tls", "auth", "certstore", "smime",
};

const char *spi_kind_name(int kind)
{
	if (kind <= 0 || kind >= (int)G_N_ELEMENTS(kind_names))
		return "unknown";
	return kind_names[kind];
}

int spi_kind_from_name(const char *name)
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
GPtrArray *spi_registry_search_dirs(struct spop *s)
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
bool spi_parse_plugin_file_name(const char *base, const char *suffix, int *kind,
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
	char *why = spi_settings_problem(d);
	if (why) {
		fail_entry(e, SPOP_ERR_PLUGIN_INVALID,
			   g_strdup_printf("plugin %s %s", e->path, why));
		g_free(why);
		return;
	}
	e->desc = d;
	spi_register_settings(d, e->path);
}

/* Loads (once per process) the module at path. Caller holds the lock. */
struct spi_registry_entry *spi_registry_load(const char *path)
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

/* ---- the index: what the search path offers ---- */

void spi_plugin_meta_free(gpointer p)
{
	struct spi_plugin_meta *m = p;

	g_free(m->name);
	g_free(m->selectors);
	g_free(m->module);
	g_free(m->keyfile);
	g_free(m->description);
	g_strfreev(m->settings);
	g_free(m->error);
	g_free(m);
}

struct spi_plugin_meta *spi_plugin_meta_broken(int kind, const char *name,
					       char *module, char *keyfile,
					       int code, char *error)
{
	struct spi_plugin_meta *m = g_new0(struct spi_plugin_meta, 1);

	m->kind = kind;
	m->name = g_strdup(name);
	m->module = module;
	m->keyfile = keyfile;
	m->settings = g_new0(char *, 1);
	m->error_code = code;
	m->error = error;
	return m;
}

/* A module without a key-file: load it to learn what it is. */
static struct spi_plugin_meta *scan_module(const char *dir, const char *base,
					   int kind, const char *name)
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
	struct spi_registry_entry *e = spi_registry_load(path);
	const struct spop_plugin_descriptor *d = e->desc;

	if (!d)
		return spi_plugin_meta_broken(
		    kind, name, path, NULL, e->error_code, g_strdup(e->error));
	if ((int)d->kind != kind || g_ascii_strcasecmp(d->name, name))
		return spi_plugin_meta_broken(
		    kind, name, path, NULL, SPOP_ERR_PLUGIN_INVALID,
		    g_strdup_printf("plugin %s declares %s plugin '%s', but "
				    "its file name says %s plugin '%s'",
				    path, spi_kind_name(d->kind), d->name,
				    spi_kind_name(kind), name));

	struct spi_plugin_meta *m = g_new0(struct spi_plugin_meta, 1);
	const struct spop_setting_decl *list = spi_descriptor_settings(d);
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
GPtrArray *spi_registry_index(GPtrArray *dirs, int only_kind)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(spi_plugin_meta_free);
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

			if (!spi_parse_plugin_file_name(b, ".plugin", &kind,
							&name))
				continue;
			if (!only_kind || kind == only_kind) {
				struct spi_plugin_meta *m =
				    spi_keyfile_read(dir, b, kind, name);

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
			struct spi_plugin_meta *m =
			    g_hash_table_lookup(metas, b);
			int kind;
			char *name = NULL;

			if (!m &&
			    spi_parse_plugin_file_name(b, ".so", &kind,
						       &name) &&
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
				spi_plugin_meta_free(m);
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

/* ---- selection ---- */

/* Loads the module m describes and checks it. Returns its descriptor, or
 * NULL with *code and *error (to free) set. Caller holds the lock. */
const struct spop_plugin_descriptor *
spi_registry_resolve(const struct spi_plugin_meta *m, int *code, char **error)
{
	if (m->error) {
		*code = m->error_code;
		*error = g_strdup(m->error);
		return NULL;
	}
	struct spi_registry_entry *e = spi_registry_load(m->module);
	if (!e->desc) {
		*code = e->error_code;
		*error = g_strdup(e->error);
		return NULL;
	}
	if (m->keyfile && (*error = spi_keyfile_disagreement(m, e->desc))) {
		*code = SPOP_ERR_PLUGIN_INVALID;
		return NULL;
	}
	return e->desc;
}

static bool serves(const struct spi_plugin_meta *m, int selector)
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
		const struct spi_plugin_meta *m = metas->pdata[i];
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
	GPtrArray *dirs = spi_registry_search_dirs(s);
	const struct spi_plugin_meta *hit = NULL;
	int code = 0;
	char *error = NULL;

	pthread_mutex_lock(&spi_registry_lock);
	GPtrArray *metas = spi_registry_index(dirs, kind);
	for (guint i = 0; i < metas->len; i++) {
		const struct spi_plugin_meta *m = metas->pdata[i];

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
		*out = spi_registry_resolve(hit, &code, &error);
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
	pthread_mutex_unlock(&spi_registry_lock);
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

/* ---- listings ---- */

/* Everything the search path offers, each loaded and checked: a listing
 * says what is loadable, which only loading can tell (as gst-inspect). */
GArray *spi_registry_collect(struct spop *s)
{
	GPtrArray *dirs = spi_registry_search_dirs(s);
	GArray *found = g_array_new(FALSE, FALSE, sizeof(struct spi_listed));

	pthread_mutex_lock(&spi_registry_lock);
	GPtrArray *metas = spi_registry_index(dirs, 0);
	for (guint i = 0; i < metas->len; i++) {
		const struct spi_plugin_meta *m = metas->pdata[i];
		struct spi_listed l = {
		    m->kind, g_strdup(m->name),
		    g_strdup(m->module ? m->module : m->keyfile), NULL, NULL};
		int code;

		l.desc = spi_registry_resolve(m, &code, &l.error);
		g_array_append_val(found, l);
	}
	g_ptr_array_free(metas, TRUE);
	pthread_mutex_unlock(&spi_registry_lock);
	g_ptr_array_free(dirs, TRUE);
	return found;
}

void spi_registry_listed_free(GArray *found)
{
	for (guint i = 0; i < found->len; i++) {
		struct spi_listed *l =
		    &g_array_index(found, struct spi_listed, i);

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

	GArray *found = spi_registry_collect(s);
	/* The callback runs outside the registry lock, so it may call back
	 * into libspop (even list again) without deadlocking. */
	for (guint i = 0; i < found->len; i++) {
		struct spi_listed *l =
		    &g_array_index(found, struct spi_listed, i);
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
	spi_registry_listed_free(found);
	return 0;
}
