/* Shared by the libFuzzer targets (tests/fuzz/README.md): the entry point
 * and a NUL-terminated copy of the input for parsers that take C strings. */
#ifndef SPOP_FUZZ_H
#define SPOP_FUZZ_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a string, cut at its first NUL (a C-string parser never
 * sees past one); g_free() it. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	return g_strndup((const char *)data, size);
}

#endif
