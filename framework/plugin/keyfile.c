/* Plugin key-files, spop-KIND-NAME.plugin beside each module (as libpeas'
 * .plugin files): reading one, so the registry chooses without loading
 * modules; checking a loaded descriptor against it; and writing one from a
 * module's descriptor for the build's plugin-keyfile tool. */
#include <stdlib.h>
#include <string.h>

#include "registry-private.h"

#define KEYFILE_GROUP "Plugin"

/* ---- reading ---- */

/* Reads dir/base, a key-file named for kind and name. */
struct spi_plugin_meta *spi_keyfile_read(const char *dir, const char *base,
					 int kind, const char *name)
{
	char *path = g_build_filename(dir, base, NULL);
	GKeyFile *kf = g_key_file_new();
	GError *err = NULL;
	struct spi_plugin_meta *m = NULL;
	char *kind_text = NULL, *module = NULL;
	const char *key = NULL; /* being read, for the error */

	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &err))
		goto bad;
	key = "Kind";
	kind_text = g_key_file_get_string(kf, KEYFILE_GROUP, "Kind", &err);
	if (!kind_text)
		goto bad;
	m = g_new0(struct spi_plugin_meta, 1);
	m->kind = spi_kind_from_name(kind_text);
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
	struct spi_plugin_meta *broken = spi_plugin_meta_broken(
	    kind, name, NULL, keyfile, SPOP_ERR_PLUGIN_INVALID,
	    g_strdup_printf("plugin key-file %s is not usable: %s%s%s", keyfile,
			    key ? key : "", key ? ": " : "",
			    err ? err->message : "unknown error"));
	if (m)
		spi_plugin_meta_free(m);
	else
		path = NULL;
	g_free(path);
	g_clear_error(&err);
	g_free(module);
	g_free(kind_text);
	g_key_file_unref(kf);
	return broken;
}

/* ---- checking a loaded descriptor against its key-file ---- */

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
char *spi_keyfile_disagreement(const struct spi_plugin_meta *m,
			       const struct spop_plugin_descriptor *d)
{
	gsize n = d->selectors ? d->n_selectors : 0;
	gint *theirs = g_new0(gint, n + 1);
	gint *ours = g_new0(gint, m->n_selectors + 1);
	bool same = (int)d->kind == m->kind &&
		    !g_ascii_strcasecmp(d->name, m->name) &&
		    n == m->n_selectors;
	const struct spop_setting_decl *list = spi_descriptor_settings(d);
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

/* ---- writing, from descriptors (the build's plugin-keyfile tool) ---- */

int spi_plugin_keyfile(const char *module_path, char **text, char **error)
{
	char *base = g_path_get_basename(module_path);
	int kind;
	char *name = NULL;
	int rc = 0;

	*text = NULL;
	*error = NULL;
	pthread_mutex_lock(&spi_registry_lock);
	struct spi_registry_entry *e = spi_registry_load(module_path);
	const struct spop_plugin_descriptor *d = e->desc;

	if (!d) {
		rc = e->error_code;
		*error = g_strdup(e->error);
	} else if (!spi_parse_plugin_file_name(base, ".so", &kind, &name) ||
		   kind != (int)d->kind || strcmp(name, d->name)) {
		rc = SPOP_ERR_PLUGIN_INVALID;
		*error = g_strdup_printf("module %s must be named "
					 "spop-%s-%s.so after its descriptor",
					 module_path, spi_kind_name(d->kind),
					 d->name);
	} else {
		GKeyFile *kf = g_key_file_new();
		const struct spop_setting_decl *list =
		    spi_descriptor_settings(d);
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
	pthread_mutex_unlock(&spi_registry_lock);
	g_free(name);
	g_free(base);
	return rc;
}
