/* Tiny broken allocators for the engine's own tests, over glibc through the descriptor ABI;
 * one bug per -D flag: CRASH_ON (malloc of that size segfaults), HANG_ON (malloc of that
 * size never returns), DIRTY_CALLOC (calloc does not zero: recycled memory shows). */
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "allocheck/plugin.h"

static void *p_malloc(void *ctx, size_t n)
{
#ifdef CRASH_ON
    if (n == CRASH_ON)
        raise(SIGSEGV);   /* what a wild write through a bad pointer ends in */
#endif
#ifdef HANG_ON
    if (n == HANG_ON)
        for (volatile int spin = 1; spin;)
            ;
#endif
    return malloc(n);
}

static void *p_calloc(void *ctx, size_t m, size_t n)
{
#ifdef DIRTY_CALLOC
    size_t t;
    return __builtin_mul_overflow(m, n, &t) ? NULL : malloc(t);
#else
    return calloc(m, n);
#endif
}

static void *p_realloc(void *ctx, void *p, size_t n) { return realloc(p, n); }
static void p_free(void *ctx, void *p) { free(p); }
static int p_posix_memalign(void *ctx, void **m, size_t a, size_t n) { return posix_memalign(m, a, n); }
static size_t p_usable(void *ctx, void *p) { return malloc_usable_size(p); }

ALLOCHECK_PLUGIN_EXPORT const struct allocheck_plugin allocheck_plugin = {
    .abi_version = ALLOCHECK_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct allocheck_plugin),
    .name = "engine-test",
    .malloc = p_malloc,
    .calloc = p_calloc,
    .realloc = p_realloc,
    .free = p_free,
    .posix_memalign = p_posix_memalign,
    .malloc_usable_size = p_usable,
};
