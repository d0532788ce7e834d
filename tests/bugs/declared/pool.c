/* An embedded-style heap as a firmware team would ship it: one static 256 KiB pool, first fit
 * with coalescing, 4-byte grain, no errno (freestanding code has none), no locks (one thread),
 * exported through the descriptor ABI with every one of those traits declared. It is correct:
 * under its declarations allocheck must report no failure, while the -DFF_BUG_X=1 builds
 * (ffheap.c) must still be caught. */
#include "allocheck/plugin.h"
#include "tests/bugs/declared/ffheap.h"

#define POOL_SIZE (256u << 10)

static _Alignas(4096) unsigned char pool[POOL_SIZE];
static ffheap_t heap;

static int pool_init(void **ctx)
{
    ff_init(&heap, pool, sizeof pool, 4);
    *ctx = &heap;
    return 0;
}

static void *m(void *h, size_t n) { return ff_malloc(h, n); }
static void *c(void *h, size_t k, size_t n) { return ff_calloc(h, k, n); }
static void *r(void *h, void *p, size_t n) { return ff_realloc(h, p, n); }
static void *al(void *h, size_t a, size_t n) { return ff_memalign(h, a, n); }
static void f(void *h, void *p) { ff_free(h, p); }
static size_t u(void *h, void *p) { return ff_usable(h, p); }

ALLOCHECK_PLUGIN_EXPORT const struct allocheck_plugin allocheck_plugin = {
    .abi_version = ALLOCHECK_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct allocheck_plugin),
    .name = "pool (256 KiB, 4-byte grain)",
    .init = pool_init,
    .malloc = m, .free = f, .calloc = c, .realloc = r, .memalign = al, .malloc_usable_size = u,
    .min_alignment = 4, .max_alignment = 4096, .heap_size = POOL_SIZE,
    .flags = ALLOCHECK_PLUGIN_FIXED_HEAP | ALLOCHECK_PLUGIN_NO_ERRNO |
             ALLOCHECK_PLUGIN_NOT_THREAD_SAFE,
};
