/* The allocator under test, as every runner sees it: a table of the 14 entry points, each
 * taking a context pointer, loaded from a SPEC (docs/ARCHITECTURE.md, Loading).
 * Terms: "spec" is what the user typed after -a; "function" is one of the 14 entry points
 * (enum alloc_fn); an absent function is a NULL pointer, never a stub.
 * Leaves out: running preload: specs, which only ever run in exec'd workers (src/load/worker.h);
 * alloc_load() only records them. */
#ifndef ALLOCHECK_SRC_LOAD_ALLOC_H
#define ALLOCHECK_SRC_LOAD_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allocheck/plugin.h"

typedef enum alloc_fn {
    AF_MALLOC,
    AF_CALLOC,
    AF_REALLOC,
    AF_REALLOCARRAY,
    AF_FREE,
    AF_ALIGNED_ALLOC,
    AF_POSIX_MEMALIGN,
    AF_MEMALIGN,
    AF_VALLOC,
    AF_PVALLOC,
    AF_MALLOC_USABLE_SIZE,
    AF_FREE_SIZED,
    AF_FREE_ALIGNED_SIZED,
    AF_MALLOC_SIZE,          /* a usable-size equivalent: malloc_size, mi_usable_size, ... */
    AF_COUNT
} alloc_fn_t;

#define AF_BIT(f) (1u << (f))

typedef enum alloc_kind {
    ALLOC_REFERENCE,  /* the bundled reference allocator, linked in */
    ALLOC_SYSTEM,     /* the C library's (whatever the process's malloc resolves to) */
    ALLOC_NAMES,      /* PATH.so with the standard names */
    ALLOC_PREFIX,     /* PATH.so:prefix=P */
    ALLOC_DESCRIPTOR, /* PATH.so exporting allocheck_plugin */
    ALLOC_PRELOAD,    /* preload:PATH.so, run in exec'd workers with LD_PRELOAD */
} alloc_kind_t;

typedef struct alloc {
    char spec[512];          /* as given on the command line */
    char name[128];          /* short display name: "reference", "libjemalloc.so.2", ... */
    char path[4096];         /* resolved file it was loaded from ("" for reference) */
    alloc_kind_t kind;
    char prefix[64];
    void *ctx;               /* first argument of every call below */
    /* Entry points; NULL when absent. Same contracts as the standard functions. */
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
    size_t (*malloc_size)(void *ctx, void *ptr);
    const char *symbol[AF_COUNT];  /* the symbol each function was found as, or NULL */
    /* usable_size: malloc_usable_size, else malloc_size, else NULL. */
    size_t (*usable_size)(void *ctx, void *ptr);
    size_t min_alignment;    /* declared (descriptor or SPEC); 0 = profile default */
    size_t max_alignment;    /* declared largest alignment served; 0 = none declared */
    size_t heap_size;
    uint32_t flags;          /* ALLOCHECK_PLUGIN_* */
    /* A preload: spec in the supervisor, whose entry points stay NULL: the AF_BIT() mask of
     * the functions the library defines, as a probe worker found them. */
    uint32_t remote_fns;
    /* Private to the loader: raw pointers for the standard-name adapters. */
    void *raw[AF_COUNT];
} alloc_t;

/* Names of the functions, indexed by alloc_fn_t ("malloc", ..., "malloc_size"). */
extern const char *const alloc_fn_names[AF_COUNT];

/* Loads SPEC into *a. Returns 0, or a negative errno with a one-line reason (without the
 * spec) in err. Never dlcloses; a constructor that crashes takes the process with it, so
 * callers that must survive that call alloc_probe() first. What a constructor prints on
 * stdout is discarded, and a process it forks is killed (children_sweep).
 * pre: a is zeroed or reusable. */
int alloc_load(alloc_t *a, const char *spec, char *err, size_t errlen);

/* Loads SPEC in a forked child first (src/base/children.h), so a plugin that crashes, aborts,
 * exits or blocks while loading becomes an error message instead of a dead or hung tool:
 * the child has ALLOCHECK_LOAD_TIMEOUT (default 10 s) to send its verdict, and its whole
 * process group is killed afterwards, whatever its constructor forked. Returns 0 or a
 * negative errno + err (-ETIMEDOUT for a timeout, -EINTR after a stop signal). */
int alloc_probe(const char *spec, char *err, size_t errlen);

/* Makes a the standard-name allocator whose entry points are raw[] (NULL: absent), as a
 * preload worker finds them in the preloaded library. Returns 0 or a negative errno. */
int alloc_load_raw(alloc_t *a, void *const raw[AF_COUNT]);

/* True for a preload: spec as the supervisor holds it: its functions can only be called in a
 * preload worker (src/load/worker.h). False for the same spec loaded inside the worker. */
static inline bool alloc_is_remote(const alloc_t *a)
{
    return a->kind == ALLOC_PRELOAD && !a->ctx;
}

/* Alignments every general-purpose allocator here serves; above this, an allocator that has
 * declared no max_alignment may refuse one (C17 7.22.3.1p2: an alignment the implementation
 * does not support makes the call fail). */
#define ALLOC_ALIGN_SERVED ((size_t)64 << 10)

/* Whether a may refuse a request for this (valid, power-of-two) alignment: above its declared
 * max_alignment, or above ALLOC_ALIGN_SERVED when it declared none. The one rule the
 * conformance checks and the fuzzer's oracles share (inline: the executor's unit tests and
 * benchmarks link no loader). */
static inline bool alloc_may_refuse_align(const alloc_t *a, size_t align)
{
    return a->max_alignment ? align > a->max_alignment : align > ALLOC_ALIGN_SERVED;
}

/* The declarations in force, as a SPEC's options would spell them ("heap=262144,min-align=8,
 * no-errno"), into buf ("" for none). */
void alloc_declarations(const alloc_t *a, char *buf, size_t len);

/* Bitmask of AF_BIT() for the functions a provides. */
uint32_t alloc_present(const alloc_t *a);

static inline bool alloc_has(const alloc_t *a, alloc_fn_t f)
{
    return (alloc_present(a) & AF_BIT(f)) != 0;
}

/* Re-executes the process once with GLIBC_TUNABLES=glibc.rtld.optional_static_tls raised
 * (keeping the user's other tunables), so that jemalloc and scudo can be dlopen'ed.
 * Returns only if no re-execution was needed or it failed. */
void alloc_reexec_for_tls(char **argv);

#endif
