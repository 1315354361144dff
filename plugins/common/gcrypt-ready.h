/* libgcrypt, initialised the same way by every plugin that uses it (the
 * cert stores, the cms engine, SCRAM, NTLM). The application or another
 * plugin may have initialised it already; only if nobody did is it done
 * here: no privilege drop, a secure-memory pool for secrets when the
 * process may lock memory, so whichever comes first leaves the same state
 * behind. Each module includes this and keeps its own once-flag; the
 * library's INITIALIZATION_FINISHED_P says whether the work is done. */
#ifndef SPOP_PLUGIN_GCRYPT_READY_H
#define SPOP_PLUGIN_GCRYPT_READY_H

#include <gcrypt.h>
#include <pthread.h>
#include <stdbool.h>

struct spop_gcrypt {
	bool ok;     /* at least the version the plugin was built with */
	bool secmem; /* this module set up the secure-memory pool */
};

static inline struct spop_gcrypt *spop_gcrypt_state(void)
{
	static struct spop_gcrypt state;

	return &state;
}

static inline void spop_gcrypt_init_once(void)
{
	struct spop_gcrypt *g = spop_gcrypt_state();

	if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
		if (!gcry_check_version(GCRYPT_VERSION))
			return;
		gcry_control(GCRYCTL_DISABLE_PRIV_DROP, 0);
		gcry_control(GCRYCTL_DISABLE_SECMEM_WARN, 0);
		g->secmem = gcry_control(GCRYCTL_INIT_SECMEM, 65536, 0) == 0;
		if (g->secmem)
			gcry_control(GCRYCTL_AUTO_EXPAND_SECMEM, 65536, 0);
		gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	}
	g->ok = gcry_check_version(GCRYPT_VERSION) != NULL;
}

/* Initialises on first use; the state says whether libgcrypt can be
 * used (ok) and whether secrets may go to secure memory (secmem). */
static inline const struct spop_gcrypt *spop_gcrypt_ready(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, spop_gcrypt_init_once);
	return spop_gcrypt_state();
}

#endif
