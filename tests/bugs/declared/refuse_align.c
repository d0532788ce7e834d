/* An allocator that serves alignments up to REFUSE_ABOVE and refuses larger ones with EINVAL,
 * as C17 7.22.3.1p2 lets it (an unsupported alignment fails), over the C library's heap.
 * Terms: declared with the SPEC option max-align=N, a refusal above N is behaviour; within
 * what it declares (or within 64 KiB without a declaration) a refusal is a finding.
 * Leaves out: everything but the aligned functions' refusal; the rest is glibc's. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>

#include "allocheck/plugin.h"

#ifndef REFUSE_ABOVE
#define REFUSE_ABOVE 4096
#endif

static void *m(void *c, size_t n) { return malloc(n); }
static void *ca(void *c, size_t k, size_t n) { return calloc(k, n); }
static void *r(void *c, void *p, size_t n) { return realloc(p, n); }
static void f(void *c, void *p) { free(p); }
static size_t u(void *c, void *p) { return malloc_usable_size(p); }

/* Only powers of two reach glibc: its memalign rounds others up, and they are judged apart. */
static int refused(size_t a)
{
    return a > REFUSE_ABOVE || (a & (a - 1)) || !a;
}

static void *al(void *c, size_t a, size_t n)
{
    if (refused(a)) {
        errno = EINVAL;
        return NULL;
    }
    return memalign(a, n);
}

static int pm(void *c, void **out, size_t a, size_t n)
{
    if (refused(a) || a % sizeof(void *))
        return EINVAL;
    return posix_memalign(out, a, n);
}

ALLOCHECK_PLUGIN_EXPORT const struct allocheck_plugin allocheck_plugin = {
    .abi_version = ALLOCHECK_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct allocheck_plugin),
    .name = "refuse-align",
    .malloc = m, .calloc = ca, .realloc = r, .free = f, .malloc_usable_size = u,
    .aligned_alloc = al, .memalign = al, .posix_memalign = pm,
};
