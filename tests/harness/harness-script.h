/* What the harness's C files share, not for suites: running a harness
 * script, reading the port files it leaves, stopping at exit what a suite
 * left running, and reading a server's log from an offset. */
#ifndef SPOP_TEST_HARNESS_SCRIPT_H
#define SPOP_TEST_HARNESS_SCRIPT_H

#include <stddef.h>

#include <glib.h>

/* Runs argv (a script and its arguments) with envp (NULL: this process's
 * environment). 0, or -1 after printing its command line, status and
 * output. */
int harness_spawn(const char *const *argv, char **envp);

/* The instance directory: dir if absolute, else HARNESS_WORK_DIR/kind/dir
 * (beside the test executables a name could be taken already), into
 * out[size]. 0, or -1 after printing why. */
int harness_instance_dir(char *out, size_t size, const char *kind,
			 const char *dir);

/* The number in the file dir/name, or 0 after printing why when it holds
 * no valid port. */
int harness_read_port(const char *dir, const char *name);

/* Records (running TRUE) or forgets the server in dir, which stop(dir)
 * stops. exit() stops every one still recorded, in the process that
 * recorded it only (a forked child's exit leaves them alone). Directories,
 * not the callers' structs, are kept: those may be gone by then. */
void harness_remember_running(void (*stop)(const char *dir), const char *dir,
			      gboolean running);

/* The file at path from byte offset on (an offset past its end or below 0:
 * from its end, so ""); "" when it cannot be read. Free with g_free(). */
char *harness_file_from(const char *path, long long offset);

/* Its size in bytes, 0 when it does not exist. */
long long harness_file_size(const char *path);

#endif
