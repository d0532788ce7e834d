/* allocheck plugin ABI: how an allocator with its own names, or one that needs a context
 * pointer (TLSF, o1heap, an embedded heap), presents itself to allocheck.
 *
 * A plugin is a shared object exporting one data symbol, `allocheck_plugin`, of type
 * `struct allocheck_plugin`. allocheck checks `abi_version` and `struct_size`, calls `init`
 * once, and then calls the function pointers with `ctx` as their first argument. Any function
 * pointer may be NULL: checks and operations that need it are skipped, never failed.
 *
 * Semantics expected of each function are those of the standard function of the same name
 * (C17 7.22.3, C23 7.24.3, POSIX.1-2024); allocheck reports where the plugin differs.
 * Leaves out: anything about how the plugin gets its memory. */
#ifndef ALLOCHECK_PLUGIN_H
#define ALLOCHECK_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ALLOCHECK_PLUGIN_ABI_VERSION 1u
#define ALLOCHECK_PLUGIN_SYMBOL "allocheck_plugin"

/* Declared properties (the `flags` field). */
enum {
    /* The allocator may only be called from one thread at a time: thread checks are skipped. */
    ALLOCHECK_PLUGIN_NOT_THREAD_SAFE = 1u << 0,
    /* The allocator is not usable in a child after fork(): fork checks are skipped. */
    ALLOCHECK_PLUGIN_NOT_FORK_SAFE = 1u << 1,
    /* The heap has a fixed capacity (`heap_size`): running out of it is expected, not a bug.
     * Checks whose working set does not fit skip with the reason. */
    ALLOCHECK_PLUGIN_FIXED_HEAP = 1u << 2,
    /* The allocator never sets errno (freestanding code has none): errno requirements, which
     * are POSIX's and not ISO C's, are reported as behaviour, never failed. */
    ALLOCHECK_PLUGIN_NO_ERRNO = 1u << 3,
    /* Freed memory comes back only after a delay (a quarantine, as hardened allocators keep):
     * checks that free and at once expect the memory back report that as behaviour. */
    ALLOCHECK_PLUGIN_DELAYED_REUSE = 1u << 4,
};

struct allocheck_plugin {
    uint32_t abi_version;   /* ALLOCHECK_PLUGIN_ABI_VERSION */
    uint32_t struct_size;   /* sizeof(struct allocheck_plugin) as the plugin was built */
    const char *name;       /* shown in reports, e.g. "tlsf 3.1" */
    void *ctx;              /* passed to every call; init may replace it */

    /* Optional. Called once before any other call; returns 0, or a negative errno to refuse
     * loading. May set *ctx (initially the `ctx` field). */
    int (*init)(void **ctx);
    /* Optional. Called at most once, after the last call. */
    void (*fini)(void *ctx);

    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nmemb, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t size);
    void *(*reallocarray)(void *ctx, void *ptr, size_t nmemb, size_t size);
    void (*free)(void *ctx, void *ptr);
    void *(*aligned_alloc)(void *ctx, size_t alignment, size_t size);
    int (*posix_memalign)(void *ctx, void **memptr, size_t alignment, size_t size);
    void *(*memalign)(void *ctx, size_t alignment, size_t size);
    void *(*valloc)(void *ctx, size_t size);
    void *(*pvalloc)(void *ctx, size_t size);
    size_t (*malloc_usable_size)(void *ctx, void *ptr);
    void (*free_sized)(void *ctx, void *ptr, size_t size);
    void (*free_aligned_sized)(void *ctx, void *ptr, size_t alignment, size_t size);

    /* Properties. 0 means "the standard's": */
    size_t min_alignment;   /* alignment of every malloc result; 0 = alignof(max_align_t) */
    size_t heap_size;       /* capacity in bytes with ALLOCHECK_PLUGIN_FIXED_HEAP */
    uint32_t flags;         /* ALLOCHECK_PLUGIN_* */
    uint32_t reserved0;
    /* The largest alignment the aligned functions serve (a power of two); larger ones are
     * refused, as C17 7.22.3.1 allows for unsupported alignments. 0 = no declared limit. */
    uint64_t max_alignment;
    uint64_t reserved[5];   /* zero; room to grow without a new ABI version */
};

/* Marks the descriptor for export even when the plugin builds with -fvisibility=hidden. */
#define ALLOCHECK_PLUGIN_EXPORT __attribute__((visibility("default")))

#ifdef __cplusplus
}
#endif
#endif
