/* A descriptor plugin declared const, as the README's example is, whose init gives it a
 * context: every call checks it got that context (else it aborts), so a reproducer that
 * writes the context into the read-only descriptor, or passes the descriptor's initial one,
 * fails loudly. Over glibc; -DDIRTY_CALLOC=1 seeds one bug (calloc does not zero, so
 * recycled memory shows: a calloc-zero finding), -DWRONG_ERRNO=1 another (a malloc beyond
 * PTRDIFF_MAX fails with ERANGE, not ENOMEM), -DEXIT_ON=N a third (malloc(N) ends the
 * process with status 0: a crash finding, though the exit status says all is well). */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include "allocheck/plugin.h"

static struct heap { unsigned long magic; } heap = { 0x600d6ea9 };

static void *own(void *ctx)
{
    if (ctx != &heap || heap.magic != 0x600d6ea9)
        abort();
    return ctx;
}

static int init(void **ctx)
{
    *ctx = &heap;
    return 0;
}

static void *c_malloc(void *ctx, size_t n)
{
    own(ctx);
#ifdef EXIT_ON
    if (n == EXIT_ON)
        exit(0);
#endif
#if WRONG_ERRNO
    if (n > PTRDIFF_MAX) {
        errno = ERANGE;
        return NULL;
    }
#endif
    return malloc(n);
}

static void *c_calloc(void *ctx, size_t m, size_t n)
{
    own(ctx);
#if DIRTY_CALLOC
    size_t t;
    if (__builtin_mul_overflow(m, n, &t)) {
        errno = ENOMEM;
        return NULL;
    }
    return malloc(t);
#else
    return calloc(m, n);
#endif
}

static void *c_realloc(void *ctx, void *p, size_t n)
{
    own(ctx);
    return realloc(p, n);
}

static void c_free(void *ctx, void *p)
{
    own(ctx);
    free(p);
}

/* glibc 2.36 accepts any alignment here; C17 (DR 460) wants a power of two. */
static void *c_aligned_alloc(void *ctx, size_t a, size_t n)
{
    own(ctx);
    if (!a || (a & (a - 1))) {
        errno = EINVAL;
        return NULL;
    }
    return aligned_alloc(a, n);
}

static int c_posix_memalign(void *ctx, void **m, size_t a, size_t n)
{
    own(ctx);
    return posix_memalign(m, a, n);
}

static size_t c_usable(void *ctx, void *p)
{
    own(ctx);
    return malloc_usable_size(p);
}

ALLOCHECK_PLUGIN_EXPORT const struct allocheck_plugin allocheck_plugin = {
    .abi_version = ALLOCHECK_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct allocheck_plugin),
    .name = "const-descriptor",
    .init = init,
    .malloc = c_malloc,
    .calloc = c_calloc,
    .realloc = c_realloc,
    .free = c_free,
    .aligned_alloc = c_aligned_alloc,
    .posix_memalign = c_posix_memalign,
    .malloc_usable_size = c_usable,
};
