/* Internals shared by the plugin registry's files only: registry.c (search
 * path, index, loading, selection, listing), keyfile.c (key-files) and
 * declared-settings.c (plugin-declared settings). The rest of the
 * framework reaches plugins through spop-private.h. Prefix spi_. */
#ifndef SPI_REGISTRY_PRIVATE_H
#define SPI_REGISTRY_PRIVATE_H

#include <gmodule.h>
#include <pthread.h>

#include "spop-private.h"

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
struct spi_plugin_meta {
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

/* One plugin of a listing: loaded and checked, or why not. */
struct spi_listed {
	int kind;
	char *name;
	char *path;
	const struct spop_plugin_descriptor *desc; /* NULL when broken */
	char *error;
};

/* Guards every process-wide table of the three files (loaded modules,
 * missing-key-file warnings, declared settings); "caller holds the lock"
 * below means this one. A pthread mutex, not a GMutex: GLib's GMutex is
 * built on futexes that ThreadSanitizer cannot see, so it reported every
 * access under this lock as a race (tests/integration/test-threads.c). */
extern pthread_mutex_t spi_registry_lock;

/* ---- registry.c ---- */
/* 0 for a name that is no kind. */
int spi_kind_from_name(const char *name);
/* Splits spop-KIND-NAME followed by suffix; *name is g_malloc'd. */
bool spi_parse_plugin_file_name(const char *base, const char *suffix, int *kind,
				char **name);
GPtrArray *spi_registry_search_dirs(struct spop *s);
/* Loads (once per process) and checks the module at path; the entry holds
 * its descriptor or why it has none. Caller holds the lock. */
struct spi_registry_entry *spi_registry_load(const char *path);
/* What dirs offer of kind (0: every kind), in search order, as
 * struct spi_plugin_meta. Caller holds the lock. */
GPtrArray *spi_registry_index(GPtrArray *dirs, int only_kind);
/* The checked descriptor of m's module, or NULL with *code and *error (to
 * free) set. Caller holds the lock. */
const struct spop_plugin_descriptor *
spi_registry_resolve(const struct spi_plugin_meta *m, int *code, char **error);
/* A meta for a plugin that cannot be used; takes module, keyfile, error. */
struct spi_plugin_meta *spi_plugin_meta_broken(int kind, const char *name,
					       char *module, char *keyfile,
					       int code, char *error);
void spi_plugin_meta_free(gpointer p);
/* Every plugin on s's search path, loaded and checked, as struct
 * spi_listed; takes and releases the lock itself. */
GArray *spi_registry_collect(struct spop *s);
void spi_registry_listed_free(GArray *found);

/* ---- keyfile.c ---- */
/* Reads dir/base, the key-file named for kind and name; a broken one gives
 * a meta with its error set, never NULL. */
struct spi_plugin_meta *spi_keyfile_read(const char *dir, const char *base,
					 int kind, const char *name);
/* Why a loaded descriptor contradicts m's key-file, or NULL. */
char *spi_keyfile_disagreement(const struct spi_plugin_meta *m,
			       const struct spop_plugin_descriptor *d);

/* ---- declared-settings.c ---- */
/* The settings d declares, or NULL (a 1.0 plugin, or too short a
 * descriptor). */
const struct spop_setting_decl *
spi_descriptor_settings(const struct spop_plugin_descriptor *d);
/* Why d's declarations are unusable (g_malloc'd), or NULL. */
char *spi_settings_problem(const struct spop_plugin_descriptor *d);
/* Makes d's settings known process-wide. Caller holds the lock. */
void spi_register_settings(const struct spop_plugin_descriptor *d,
			   const char *path);

#endif
