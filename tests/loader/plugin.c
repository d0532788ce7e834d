/* A tiny but correct allocator used to test loading in every SPEC form: one mmap per block,
 * a header carrying a magic number so a block from another allocator is caught at once.
 * Built several ways by tests/loader/meson.build:
 *   default             the standard names, -Bsymbolic
 *   -DPREFIX=tp_        the names with a prefix
 *   -DDESCRIPTOR        only the allocheck_plugin descriptor, with a context pointer
 *   -DNAIVE_REALLOC     realloc calls malloc/free by name, linked WITHOUT -Bsymbolic */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "allocheck/plugin.h"

#define MAGIC 0x7470a110c4ec4ULL
#define EXPORT __attribute__((visibility("default")))

#ifdef DESCRIPTOR
#define API static
#define NAME(n) tp_##n
#else
#define API EXPORT
#ifdef PREFIX
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define NAME(n) CAT(PREFIX, n)
#else
#define NAME(n) n
#endif
#endif

API void *NAME(malloc)(size_t size);
API void NAME(free)(void *p);
API size_t NAME(malloc_usable_size)(void *p);
API void *NAME(calloc)(size_t n, size_t size);
API void *NAME(aligned_alloc)(size_t align, size_t size);
API void *NAME(realloc)(void *p, size_t size);

typedef struct header {
    uint64_t magic;
    size_t size;
    void *base;
    size_t maplen;
} header_t;

static header_t *header_of(void *p)
{
    header_t *h = (header_t *)p - 1;
    if (h->magic != MAGIC) {
        static const char msg[] = "test plugin: pointer it did not allocate\n";
        (void)!write(2, msg, sizeof msg - 1);
        abort();
    }
    return h;
}

static void *block(size_t align, size_t size)
{
    if (align < 16)
        align = 16;
    if (size > PTRDIFF_MAX / 2 || align > PTRDIFF_MAX / 2 || (align & (align - 1))) {
        errno = align & (align - 1) ? EINVAL : ENOMEM;
        return NULL;
    }
    size_t len = size + align + sizeof(header_t);
    char *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        errno = ENOMEM;
        return NULL;
    }
    uintptr_t data = ((uintptr_t)base + sizeof(header_t) + align - 1) & ~(uintptr_t)(align - 1);
    header_t *h = (header_t *)data - 1;
    *h = (header_t){ MAGIC, size, base, len };
    return (void *)data;
}

API void *NAME(malloc)(size_t size) { return block(16, size); }
API void NAME(free)(void *p)
{
    if (!p)
        return;
    int saved = errno;
    header_t *h = header_of(p);
    h->magic = 0;
    munmap(h->base, h->maplen);
    errno = saved;
}
API size_t NAME(malloc_usable_size)(void *p) { return p ? header_of(p)->size : 0; }
API void *NAME(calloc)(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return block(16, n * size);  /* fresh mmap memory is zero */
}
API void *NAME(aligned_alloc)(size_t align, size_t size) { return block(align, size); }

#ifdef NAIVE_REALLOC
/* Calls malloc and free by name, as many small allocators do: without -Bsymbolic these calls
 * bind to whatever malloc comes first in the global scope. */
API void *NAME(realloc)(void *p, size_t size)
{
    void *q = malloc(size);
    if (q && p) {
        size_t old = malloc_usable_size(p);
        memcpy(q, p, old < size ? old : size);
        free(p);
    }
    return q;
}
#else
API void *NAME(realloc)(void *p, size_t size)
{
    void *q = NAME(malloc)(size);
    if (q && p) {
        size_t old = header_of(p)->size;
        memcpy(q, p, old < size ? old : size);
        NAME(free)(p);
    }
    return q;
}
#endif

#ifdef DESCRIPTOR
static int ctx_token;
static void check_ctx(void *ctx)
{
    if (ctx != &ctx_token)
        abort();  /* the harness must pass back the context init chose */
}
static int d_init(void **ctx) { *ctx = &ctx_token; return 0; }
static void *d_malloc(void *c, size_t n) { check_ctx(c); return tp_malloc(n); }
static void d_free(void *c, void *p) { check_ctx(c); tp_free(p); }
static void *d_calloc(void *c, size_t n, size_t s) { check_ctx(c); return tp_calloc(n, s); }
static void *d_realloc(void *c, void *p, size_t n) { check_ctx(c); return tp_realloc(p, n); }
static size_t d_usable(void *c, void *p) { check_ctx(c); return tp_malloc_usable_size(p); }
static void *d_aligned(void *c, size_t al, size_t n) { check_ctx(c); return tp_aligned_alloc(al, n); }

ALLOCHECK_PLUGIN_EXPORT const struct allocheck_plugin allocheck_plugin = {
    .abi_version = ALLOCHECK_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct allocheck_plugin),
    .name = "test descriptor plugin",
    .init = d_init,
    .malloc = d_malloc,
    .calloc = d_calloc,
    .realloc = d_realloc,
    .free = d_free,
    .malloc_usable_size = d_usable,
    .aligned_alloc = d_aligned,
    .min_alignment = 16,
    .flags = ALLOCHECK_PLUGIN_NOT_FORK_SAFE,
};
#endif
