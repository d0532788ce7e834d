/* talloc (Samba's hierarchical allocator) as a descriptor plugin: every block is a child of
 * one root context the plugin makes in init, so the context pointer is the ABI's ctx.
 * What talloc is, and what the shim must not hide:
 *  - talloc_realloc_size(ctx, p, 0) frees p and returns NULL (realloc-zero classifies it);
 *  - a request of MAX_TALLOC_SIZE (256 MiB) or more fails: within the fuzzer's default
 *    live budget, so runs pass --max-live below it;
 *  - talloc_get_size is the requested size exactly, 0 for NULL;
 *  - no aligned allocation at all: those checks and ops are skipped, never failed;
 *  - not thread-safe (talloc(3): one context tree per thread), declared;
 *  - errno is not talloc's promise (a refused size leaves it alone), declared no-errno.
 * The shim adds only what the ABI asks of a calloc: the overflow check of nmemb * size, since
 * talloc's own array helpers take a 32-bit count.
 * Leaves out: talloc's destructors, names and reparenting, which have no malloc-family
 * counterpart. */
#include <errno.h>
#include <stdint.h>
#include <talloc.h>

#include "include/allocheck/plugin.h"

static int t_init(void **ctx)
{
    *ctx = talloc_named_const(NULL, 0, "allocheck");
    return *ctx ? 0 : -ENOMEM;
}

static void t_fini(void *ctx)
{
    talloc_free(ctx);
}

static void *t_malloc(void *ctx, size_t n)
{
    return talloc_size(ctx, n);
}

static void *t_calloc(void *ctx, size_t nmemb, size_t n)
{
    size_t total;
    if (__builtin_mul_overflow(nmemb, n, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return talloc_zero_size(ctx, total);
}

static void *t_realloc(void *ctx, void *p, size_t n)
{
    return talloc_realloc_size(ctx, p, n);
}

static void t_free(void *ctx, void *p)
{
    (void)ctx;
    talloc_free(p);
}

static size_t t_size(void *ctx, void *p)
{
    (void)ctx;
    return talloc_get_size(p);
}

ALLOCHECK_PLUGIN_EXPORT const struct allocheck_plugin allocheck_plugin = {
    .abi_version = ALLOCHECK_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct allocheck_plugin),
    .name = "talloc",
    .init = t_init,
    .fini = t_fini,
    .malloc = t_malloc,
    .calloc = t_calloc,
    .realloc = t_realloc,
    .free = t_free,
    .malloc_usable_size = t_size,
    .flags = ALLOCHECK_PLUGIN_NOT_THREAD_SAFE | ALLOCHECK_PLUGIN_NO_ERRNO,
};
