/* Trust anchors shared per process by a TLS provider's connections: see
 * trust-cache.h. */
#include "trust-cache.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Entries kept besides those in use: enough for a process that talks to
 * a few servers with their own CA settings. */
#define KEEP 4

struct trust_entry {
	struct trust_entry *next;
	char *key;
	void *anchors;
	unsigned refs; /* the cache's (while listed) and the callers' */
};

static void add(struct trust_key *k, const char *s, size_t n)
{
	if (k->len + n + 1 > k->cap) {
		size_t cap = k->cap ? k->cap : 256;
		char *p;

		while (k->len + n + 1 > cap)
			cap *= 2;
		p = realloc(k->s, cap);
		if (!p)
			abort(); /* as the host's alloc: no half-built key */
		k->s = p;
		k->cap = cap;
	}
	memcpy(k->s + k->len, s, n);
	k->len += n;
	k->s[k->len] = '\0';
}

void trust_key_init(struct trust_key *k)
{
	memset(k, 0, sizeof(*k));
	add(k, "", 0);
}

/* Length-prefixed, so no value can pass for two. */
void trust_key_text(struct trust_key *k, const char *value)
{
	char n[32];
	size_t len = strlen(value);

	snprintf(n, sizeof(n), "%zu:", len);
	add(k, n, strlen(n));
	add(k, value, len);
}

void trust_key_path(struct trust_key *k, const char *path)
{
	struct stat st;
	char id[160];

	trust_key_text(k, path);
	if (stat(path, &st)) {
		add(k, "-;", 2);
		return;
	}
	snprintf(id, sizeof(id),
		 "%" PRIuMAX ",%" PRIuMAX ",%" PRIuMAX ",%" PRIdMAX
		 ".%ld,%" PRIdMAX ".%ld;",
		 (uintmax_t)st.st_dev, (uintmax_t)st.st_ino,
		 (uintmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
		 st.st_mtim.tv_nsec, (intmax_t)st.st_ctim.tv_sec,
		 st.st_ctim.tv_nsec);
	add(k, id, strlen(id));
}

void trust_key_paths(struct trust_key *k, const char *list, const char *seps)
{
	while (*list) {
		size_t n = strcspn(list, seps);
		char *path = malloc(n + 1);

		if (!path)
			abort();
		memcpy(path, list, n);
		path[n] = '\0';
		if (n)
			trust_key_path(k, path);
		free(path);
		list += n;
		if (*list)
			list++;
	}
}

void trust_key_clear(struct trust_key *k)
{
	free(k->s);
	memset(k, 0, sizeof(*k));
}

/* Under the lock: the reference dropped; the entry is freed with its
 * last. */
static void unref(struct trust_cache *c, struct trust_entry *e)
{
	if (--e->refs)
		return;
	c->release(e->anchors);
	free(e->key);
	free(e);
}

/* The entry for key, referenced, moved to the front; NULL if none. */
static struct trust_entry *lookup(struct trust_cache *c, const char *key)
{
	struct trust_entry **p, *e = NULL;

	pthread_mutex_lock(&c->lock);
	for (p = &c->head; *p; p = &(*p)->next)
		if (!strcmp((*p)->key, key)) {
			e = *p;
			*p = e->next;
			e->next = c->head;
			c->head = e;
			e->refs++;
			break;
		}
	pthread_mutex_unlock(&c->lock);
	return e;
}

/* A new entry in front, referenced for the caller; the least recently
 * used beyond KEEP leave the list (and go with their last reference). */
static struct trust_entry *insert(struct trust_cache *c, const char *key,
				  void *anchors)
{
	struct trust_entry *e = calloc(1, sizeof(*e)), **p;
	unsigned n = 0;

	if (!e || !(e->key = strdup(key)))
		abort();
	e->anchors = anchors;
	e->refs = 2;
	pthread_mutex_lock(&c->lock);
	e->next = c->head;
	c->head = e;
	for (p = &c->head; *p;) {
		struct trust_entry *old = *p;

		if (++n <= KEEP) {
			p = &old->next;
			continue;
		}
		*p = old->next;
		unref(c, old);
	}
	pthread_mutex_unlock(&c->lock);
	return e;
}

int trust_cache_obtain(struct trust_cache *c, const struct trust_key *k,
		       trust_load_fn load, void *arg, struct trust_entry **e)
{
	void *anchors;
	int rc = 0;

	if ((*e = lookup(c, k->s)))
		return 0;
	pthread_mutex_lock(&c->load_lock);
	/* another thread may have loaded them while this one waited */
	if (!(*e = lookup(c, k->s)) && !(rc = load(arg, &anchors)))
		*e = insert(c, k->s, anchors);
	pthread_mutex_unlock(&c->load_lock);
	return rc;
}

void *trust_entry_anchors(const struct trust_entry *e)
{
	return e->anchors;
}

void trust_cache_release(struct trust_cache *c, struct trust_entry *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&c->lock);
	unref(c, e);
	pthread_mutex_unlock(&c->lock);
}
