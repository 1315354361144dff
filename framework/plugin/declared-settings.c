/* Settings that plugins declare (plugin ABI 1.1): checking a descriptor's
 * declarations when its module loads, making them known process-wide to
 * Config and host->setting, finding the plugin that declares a name, and
 * spop_list_settings(). */
#include <stdlib.h>

#include "registry-private.h"

/* A declaration list without its NULL end would run on forever. */
#define MAX_DECLS 256

/* A setting declared by a loaded plugin (process-wide). */
struct declared {
	const struct spop_setting_decl *decl;
	const struct spop_plugin_descriptor *owner;
};

/* Guarded by spi_registry_lock. */
static GHashTable *declared; /* lower-case name -> struct declared* */

/* ---- checking and registering a loaded plugin's declarations ---- */

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
const struct spop_setting_decl *
spi_descriptor_settings(const struct spop_plugin_descriptor *d)
{
	if (d->abi_minor < 1 ||
	    d->size < offsetof(struct spop_plugin_descriptor, settings) +
			  sizeof(d->settings))
		return NULL;
	return d->settings;
}

char *spi_settings_problem(const struct spop_plugin_descriptor *d)
{
	const struct spop_setting_decl *list = spi_descriptor_settings(d);

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
void spi_register_settings(const struct spop_plugin_descriptor *d,
			   const char *path)
{
	const struct spop_setting_decl *list = spi_descriptor_settings(d);

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

/* ---- lookups for Config and host->setting ---- */

const struct spop_setting_decl *spi_plugin_setting_loaded(const char *name)
{
	char *key = g_ascii_strdown(name, -1);
	const struct spop_setting_decl *d = NULL;

	pthread_mutex_lock(&spi_registry_lock);
	struct declared *dd =
	    declared ? g_hash_table_lookup(declared, key) : NULL;
	if (dd)
		d = dd->decl;
	pthread_mutex_unlock(&spi_registry_lock);
	g_free(key);
	return d;
}

int spi_plugin_find_setting(struct spop *s, const char *name,
			    const struct spop_setting_decl **decl)
{
	GPtrArray *dirs = spi_registry_search_dirs(s);
	int code = 0;
	char *error = NULL;
	const struct spi_plugin_meta *owner = NULL;

	*decl = NULL;
	pthread_mutex_lock(&spi_registry_lock);
	GPtrArray *metas = spi_registry_index(dirs, 0);
	/* The first plugin in search order whose key-file lists the name is
	 * the one loaded; no other module is touched. */
	for (guint i = 0; i < metas->len && !owner; i++) {
		const struct spi_plugin_meta *m = metas->pdata[i];

		for (char **p = m->settings; *p && !owner; p++)
			if (!g_ascii_strcasecmp(*p, name))
				owner = m;
	}
	if (owner && spi_registry_resolve(owner, &code, &error)) {
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
	pthread_mutex_unlock(&spi_registry_lock);
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

/* ---- listing ---- */

static const char *const type_names[] = {NULL, "string", "int", "bool"};

SPI_EXPORT int spop_list_settings(spop_t *s, spop_setting_list_cb cb, void *ud)
{
	if (!cb)
		return spi_fail(s, SPOP_ERR_INVALID_VALUE,
				"spop_list_settings needs a callback.");
	spi_clear_error(s);

	GArray *found = spi_registry_collect(s);
	for (guint i = 0; i < found->len; i++) {
		struct spi_listed *l =
		    &g_array_index(found, struct spi_listed, i);
		const struct spop_setting_decl *list =
		    l->desc ? spi_descriptor_settings(l->desc) : NULL;

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
	spi_registry_listed_free(found);
	return 0;
}
