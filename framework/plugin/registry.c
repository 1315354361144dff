/* Plugin registry: finds plugin modules on the search path, loads each once
 * per process with GModule, checks its descriptor, and selects one by seed
 * selector value or by name. Modules are never unloaded, so descriptors and
 * ops tables stay valid for the life of the process. */
#include <gmodule.h>
#include <string.h>
#include <unistd.h>

#include "spop-build.h"
#include "spop-private.h"

struct spi_registry_entry {
	char *path;
	GModule *module;
	const struct spop_plugin_descriptor *desc;
	int error_code;
	char *error;
};

static GMutex registry_lock;
static GHashTable *loaded; /* path -> struct spi_registry_entry* */

static gint compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *const kind_names[] = {
    NULL, "transport", "tls", "auth", "certstore", "smime",
};

const char *spi_kind_name(int kind)
{
	if (kind <= 0 || kind >= (int)G_N_ELEMENTS(kind_names))
		return "unknown";
	return kind_names[kind];
}

/* Search order: Config PluginPath, SPOP_PLUGIN_PATH, the install
 * directory. The environment is ignored in set-id processes, as Cyrus SASL
 * does, so a caller cannot make a privileged program load its code. */
static GPtrArray *search_dirs(struct spop *s)
{
	GPtrArray *dirs = g_ptr_array_new_with_free_func(g_free);
	const char *sources[2] = {s->cfg.plugin_path, NULL};

	if (getuid() == geteuid() && getgid() == getegid())
		sources[1] = g_getenv("SPOP_PLUGIN_PATH");
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

/* File names are spop-KIND-NAME.so; the descriptor must agree. */
static bool parse_file_name(const char *base, int *kind, char **name)
{
	if (!g_str_has_prefix(base, "spop-") || !g_str_has_suffix(base, ".so"))
		return false;
	const char *rest = base + 5;
	for (int k = 1; k < (int)G_N_ELEMENTS(kind_names); k++) {
		size_t n = strlen(kind_names[k]);

		if (!strncmp(rest, kind_names[k], n) && rest[n] == '-') {
			const char *nm = rest + n + 1;
			size_t len = strlen(nm) - 3;

			if (!len)
				return false;
			*kind = k;
			*name = g_strndup(nm, len);
			return true;
		}
	}
	return false;
}

static int fail_entry(struct spi_registry_entry *e, int code, char *msg)
{
	e->error_code = code;
	e->error = msg;
	e->desc = NULL;
	return code;
}

static void check_entry(struct spi_registry_entry *e, int want_kind,
			const char *want_name)
{
	spop_plugin_entry_fn entry;

	e->module =
	    g_module_open(e->path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
	if (!e->module) {
		fail_entry(e, 1203,
			   g_strdup_printf("cannot load plugin module %s: %s",
					   e->path, g_module_error()));
		return;
	}
	if (!g_module_symbol(e->module, SPOP_PLUGIN_ENTRY_SYMBOL,
			     (gpointer *)&entry) ||
	    !entry) {
		fail_entry(
		    e, 1203,
		    g_strdup_printf("plugin module %s does not export %s",
				    e->path, SPOP_PLUGIN_ENTRY_SYMBOL));
		return;
	}
	const struct spop_plugin_descriptor *d = entry();
	if (!d) {
		fail_entry(
		    e, 1203,
		    g_strdup_printf("plugin module %s returned no descriptor",
				    e->path));
		return;
	}
	if (d->abi_major != SPOP_PLUGIN_ABI_MAJOR) {
		fail_entry(e, 1202,
			   g_strdup_printf(
			       "plugin %s was built for plugin ABI %u.%u; this "
			       "libspop supports ABI %d.%d",
			       e->path, d->abi_major, d->abi_minor,
			       SPOP_PLUGIN_ABI_MAJOR, SPOP_PLUGIN_ABI_MINOR));
		return;
	}
	if (d->abi_minor > SPOP_PLUGIN_ABI_MINOR) {
		fail_entry(
		    e, 1202,
		    g_strdup_printf(
			"plugin %s needs plugin ABI %u.%u, newer than this "
			"libspop's %d.%d",
			e->path, d->abi_major, d->abi_minor,
			SPOP_PLUGIN_ABI_MAJOR, SPOP_PLUGIN_ABI_MINOR));
		return;
	}
	if (d->size < offsetof(struct spop_plugin_descriptor, reserved) ||
	    !d->name || !d->ops ||
	    *(const uint32_t *)d->ops < sizeof(uint32_t)) {
		fail_entry(
		    e, 1203,
		    g_strdup_printf(
			"plugin %s has an incomplete descriptor (size %u, "
			"name %s, ops %s)",
			e->path, d->size, d->name ? d->name : "missing",
			d->ops ? "present" : "missing"));
		return;
	}
	if ((int)d->kind != want_kind || strcmp(d->name, want_name)) {
		fail_entry(
		    e, 1203,
		    g_strdup_printf(
			"plugin %s declares %s plugin '%s', but its file name "
			"says %s plugin '%s'",
			e->path, spi_kind_name(d->kind), d->name,
			spi_kind_name(want_kind), want_name));
		return;
	}
	e->desc = d;
}

/* Loads (once per process) the module at path. Caller holds the lock. */
static struct spi_registry_entry *load(const char *path, int kind,
				       const char *name)
{
	if (!loaded)
		loaded = g_hash_table_new(g_str_hash, g_str_equal);
	struct spi_registry_entry *e = g_hash_table_lookup(loaded, path);
	if (e)
		return e;
	e = g_new0(struct spi_registry_entry, 1);
	e->path = g_strdup(path);
	check_entry(e, kind, name);
	g_hash_table_insert(loaded, e->path, e);
	return e;
}

typedef bool (*visit_fn)(struct spi_registry_entry *e, int kind,
			 const char *name, void *ud);

/* Visits every plugin file in search order; a name found in an earlier
 * directory shadows the same file name later. Stops when fn returns true. */
static void scan(struct spop *s, GPtrArray *dirs, int only_kind, visit_fn fn,
		 void *ud)
{
	GHashTable *seen =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	g_mutex_lock(&registry_lock);
	for (guint i = 0; i < dirs->len; i++) {
		GDir *dir = g_dir_open(dirs->pdata[i], 0, NULL);
		const char *base;
		GPtrArray *names = g_ptr_array_new_with_free_func(g_free);

		if (!dir)
			continue;
		while ((base = g_dir_read_name(dir)))
			g_ptr_array_add(names, g_strdup(base));
		g_dir_close(dir);
		/* Directory order is arbitrary; sorted order is repeatable. */
		g_ptr_array_sort(names, compare_names);
		bool stop = false;
		for (guint j = 0; j < names->len && !stop; j++) {
			const char *b = names->pdata[j];
			int kind;
			char *name;

			if (!parse_file_name(b, &kind, &name))
				continue;
			if ((only_kind && kind != only_kind) ||
			    g_hash_table_contains(seen, b)) {
				g_free(name);
				continue;
			}
			g_hash_table_add(seen, g_strdup(b));
			char *path = g_build_filename(dirs->pdata[i], b, NULL);
			struct spi_registry_entry *e = load(path, kind, name);

			stop = fn(e, kind, name, ud);
			g_free(path);
			g_free(name);
		}
		g_ptr_array_free(names, TRUE);
		if (stop)
			break;
	}
	g_mutex_unlock(&registry_lock);
	g_hash_table_destroy(seen);
}

struct select_ctx {
	int selector;
	const char *name; /* by name when set */
	struct spi_registry_entry *best;
	struct spi_registry_entry *named; /* by name: the file found */
	GString *available;
	GString *broken;
};

static bool select_visit(struct spi_registry_entry *e, int kind,
			 const char *name, void *ud)
{
	struct select_ctx *c = ud;

	if (!e->desc) {
		g_string_append_printf(c->broken, "; %s", e->error);
		if (c->name && !strcmp(c->name, name)) {
			c->named = e;
			return true;
		}
		return false;
	}
	g_string_append_printf(c->available, "%s%s",
			       c->available->len ? ", " : "", e->desc->name);
	if (c->name) {
		if (!strcmp(c->name, name)) {
			c->named = e;
			return true;
		}
		return false;
	}
	for (uint32_t i = 0; e->desc->selectors && i < e->desc->n_selectors;
	     i++)
		if (e->desc->selectors[i] == c->selector &&
		    (!c->best || e->desc->rank > c->best->desc->rank))
			c->best = e;
	return false;
}

static int select_common(struct spop *s, int kind, const char *selector_name,
			 int selector, const char *name,
			 const struct spop_plugin_descriptor **out)
{
	GPtrArray *dirs = search_dirs(s);
	struct select_ctx c = {
	    selector, name, NULL, NULL, g_string_new(NULL), g_string_new(NULL)};
	int rc = 0;

	scan(s, dirs, kind, select_visit, &c);
	struct spi_registry_entry *hit = name ? c.named : c.best;
	char *where = dirs_text(dirs);

	if (hit && hit->desc) {
		*out = hit->desc;
	} else if (hit) {
		rc = spi_fail(s, hit->error_code, "%s plugin '%s': %s.",
			      spi_kind_name(kind), name, hit->error);
	} else if (name) {
		rc = spi_fail(s, 1201,
			      "No %s plugin named '%s' (searched %s; "
			      "available: %s%s).",
			      spi_kind_name(kind), name, where,
			      c.available->len ? c.available->str : "none",
			      c.broken->str);
	} else {
		rc = spi_fail(s, 1201,
			      "No %s plugin serves %s=%d (searched "
			      "%s; available: %s%s).",
			      spi_kind_name(kind), selector_name, selector,
			      where,
			      c.available->len ? c.available->str : "none",
			      c.broken->str);
	}
	g_free(where);
	g_string_free(c.available, TRUE);
	g_string_free(c.broken, TRUE);
	g_ptr_array_free(dirs, TRUE);
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

struct listed {
	struct spi_registry_entry *entry; /* lives as long as the process */
	int kind;
	char *name;
};

static bool list_visit(struct spi_registry_entry *e, int kind, const char *name,
		       void *ud)
{
	struct listed l = {e, kind, g_strdup(name)};

	g_array_append_val(ud, l);
	return false;
}

SPI_EXPORT int spop_list_plugins(spop_t *s, spop_plugin_list_cb cb, void *ud)
{
	if (!cb)
		return spi_fail(s, 1211, "spop_list_plugins needs a callback.");
	GPtrArray *dirs = search_dirs(s);
	GArray *found = g_array_new(FALSE, FALSE, sizeof(struct listed));

	spi_clear_error(s);
	scan(s, dirs, 0, list_visit, found);
	g_ptr_array_free(dirs, TRUE);
	/* The callback runs outside the registry lock, so it may call back
	 * into libspop (even list again) without deadlocking. */
	for (guint i = 0; i < found->len; i++) {
		struct listed *l = &g_array_index(found, struct listed, i);
		const struct spop_plugin_descriptor *d = l->entry->desc;
		struct spop_plugin_info info = {
		    .kind = l->kind,
		    .kind_name = spi_kind_name(l->kind),
		    .name = d ? d->name : l->name,
		    .version = d ? d->version : "",
		    .description = d ? d->description : "",
		    .path = l->entry->path,
		    .error = l->entry->error,
		};
		cb(&info, ud);
		g_free(l->name);
	}
	g_array_free(found, TRUE);
	return 0;
}
