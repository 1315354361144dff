/* Trust anchors loaded once per process and shared by the connections of
 * a TLS provider (gnutls, openssl). Loading Debian's CA bundle costs
 * about 20 ms of CPU and 3.8 MiB with GnuTLS (61 ms and 0.9 MiB with
 * OpenSSL); a process that opens a thousand connections paid it a
 * thousand times. The cache is keyed by the trust settings' values and,
 * for every file or directory they name, its identity and change time:
 * a changed or replaced bundle is loaded afresh by the next connection,
 * and the connections already running keep what they verified with.
 * Modules are never unloaded (framework/plugin/registry.c), so the
 * anchors live until the process ends. Thread-safe. */
#ifndef SPOP_TLS_TRUST_CACHE_H
#define SPOP_TLS_TRUST_CACHE_H

#include <pthread.h>
#include <stddef.h>

/* The key of one set of trust settings: built with trust_key_*, owned by
 * the caller until trust_cache_put takes it. malloc'd, never NULL. */
struct trust_key {
	char *s;
	size_t len, cap;
};

void trust_key_init(struct trust_key *k);
/* A setting's value, as given. */
void trust_key_text(struct trust_key *k, const char *value);
/* A path a setting names: its identity, size and change times, or that
 * it is absent. */
void trust_key_path(struct trust_key *k, const char *path);
/* Each path of a list separated by any of seps. */
void trust_key_paths(struct trust_key *k, const char *list, const char *seps);
void trust_key_clear(struct trust_key *k);

struct trust_entry;

/* One provider's cache: a few entries, most recently used first. */
struct trust_cache {
	pthread_mutex_t lock;		/* the list and the references */
	pthread_mutex_t load_lock;	/* one load at a time: threads that
					   start together load a bundle once */
	void (*release)(void *anchors); /* frees what a load made */
	struct trust_entry *head;
};

#define TRUST_CACHE_INIT(release_fn)                                           \
	{                                                                      \
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,          \
		    (release_fn), NULL                                         \
	}

/* Makes the anchors for a key that is not cached: 0 and *anchors, or the
 * error code it set on the host. */
typedef int (*trust_load_fn)(void *arg, void **anchors);

/* *e: the anchors cached under k, referenced for the caller, who gives
 * them back through trust_cache_release; loaded by load(arg) first when
 * they are not cached. Returns 0, or load's error (*e NULL). k stays the
 * caller's. */
int trust_cache_obtain(struct trust_cache *c, const struct trust_key *k,
		       trust_load_fn load, void *arg, struct trust_entry **e);
void *trust_entry_anchors(const struct trust_entry *e);
void trust_cache_release(struct trust_cache *c, struct trust_entry *e);

#endif
