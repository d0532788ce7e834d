/* Capacity accounting for allocators that declare a fixed heap (ALLOCHECK_PLUGIN_FIXED_HEAP):
 * while a check runs, every call goes through a shim that counts the bytes the check holds, so
 * a NULL that the heap's size explains is told apart from one that breaks a promise.
 * Why: a 256 KiB embedded heap cannot hold a check's 1 MiB working set, and "malloc(262144)
 * failed" is then a statement about the check, not the allocator. The rule: a request below
 * 2^47 bytes (above that no machine can serve it, so its NULL is owed, never a capacity limit)
 * that fails while the bytes held plus the request exceed half the declared heap is a capacity
 * failure; the half leaves room for the allocator's headers, alignment padding and
 * fragmentation. A check that then fails records a skip saying so (check_fail, check.c).
 * Terms: "held" is the sum of the sizes requested of live blocks, with an aligned block's
 * alignment added as the padding it may cost, counted by this shim.
 * Leaves out: allocators without the declaration, which run unwrapped. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "conformance/check.h"

#define SLOTS (1u << 16)            /* live blocks tracked; beyond that, held is a low bound */
#define HUGE_REQUEST ((size_t)1 << 47)

typedef struct entry {
    void *p;
    size_t n;
} entry_t;

typedef struct cap {
    alloc_t a;                      /* what the check calls */
    const alloc_t *real;
    check_ctx_t *c;
    size_t held;
    volatile int lock;              /* checks with threads share the table */
    entry_t table[SLOTS];
} cap_t;

static void lock(cap_t *k)
{
    while (__atomic_exchange_n(&k->lock, 1, __ATOMIC_ACQUIRE))
        ;
}

static void unlock(cap_t *k)
{
    __atomic_store_n(&k->lock, 0, __ATOMIC_RELEASE);
}

static size_t slot_of(const void *p)
{
    return (size_t)(((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull >> 48) & (SLOTS - 1);
}

static void held_add(cap_t *k, void *p, size_t n)
{
    lock(k);
    for (size_t i = slot_of(p), probes = 0; probes < SLOTS; i = (i + 1) & (SLOTS - 1), probes++)
        if (k->table[i].p == NULL) {
            k->table[i] = (entry_t){ p, n };
            k->held += n;
            break;
        }
    unlock(k);
}

static void held_remove(cap_t *k, void *p)
{
    if (!p)
        return;
    lock(k);
    for (size_t i = slot_of(p), probes = 0; probes < SLOTS; i = (i + 1) & (SLOTS - 1), probes++)
        if (k->table[i].p == p) {
            k->held -= k->table[i].n;
            k->table[i] = (entry_t){ NULL, 0 };
            /* Re-insert the rest of the run, so later probes still find them. */
            for (size_t j = (i + 1) & (SLOTS - 1); k->table[j].p; j = (j + 1) & (SLOTS - 1)) {
                entry_t e = k->table[j];
                k->table[j] = (entry_t){ NULL, 0 };
                size_t s = slot_of(e.p);
                while (k->table[s].p)
                    s = (s + 1) & (SLOTS - 1);
                k->table[s] = e;
            }
            break;
        }
    unlock(k);
}

/* After a call that asked for n bytes (plus alignment padding) returned p. */
static void *outcome(cap_t *k, const char *fn, size_t n, size_t pad, void *p)
{
    check_ctx_t *c = k->c;
    size_t want = n + pad < n ? n : n + pad;   /* an aligned block may cost its padding */
    if (p) {
        held_add(k, p, want);
        c->capacity_hit = false;
        return p;
    }
    if (n < HUGE_REQUEST && k->held + want > k->real->heap_size / 2) {
        c->capacity_hit = true;
        snprintf(c->capacity_msg, sizeof c->capacity_msg,
                 "%s(%zu) failed with %zu bytes held of a %zu-byte heap", fn, n, k->held,
                 k->real->heap_size);
    }
    return NULL;
}

#define K ((cap_t *)ctx)
#define R (K->real)
static void *c_malloc(void *ctx, size_t n)
{
    return outcome(K, "malloc", n, 0, R->malloc(R->ctx, n));
}
static void *c_calloc(void *ctx, size_t m, size_t n)
{
    size_t t;
    void *p = R->calloc(R->ctx, m, n);
    return __builtin_mul_overflow(m, n, &t) ? p : outcome(K, "calloc", t, 0, p);
}
static void *c_realloc(void *ctx, void *p, size_t n)
{
    void *q = R->realloc(R->ctx, p, n);
    if (q || n == 0)
        held_remove(K, p);
    return n == 0 && !q ? NULL : outcome(K, "realloc", n, 0, q);
}
static void *c_reallocarray(void *ctx, void *p, size_t m, size_t n)
{
    size_t t;
    void *q = R->reallocarray(R->ctx, p, m, n);
    bool over = __builtin_mul_overflow(m, n, &t);
    if (q || (!over && t == 0))
        held_remove(K, p);
    return over || (t == 0 && !q) ? q : outcome(K, "reallocarray", t, 0, q);
}
static void c_free(void *ctx, void *p)
{
    held_remove(K, p);
    R->free(R->ctx, p);
}
static void *c_aligned_alloc(void *ctx, size_t al, size_t n)
{
    return outcome(K, "aligned_alloc", n, al, R->aligned_alloc(R->ctx, al, n));
}
static int c_posix_memalign(void *ctx, void **mp, size_t al, size_t n)
{
    int rc = R->posix_memalign(R->ctx, mp, al, n);
    outcome(K, "posix_memalign", n, al, rc == 0 ? *mp : NULL);
    return rc;
}
static void *c_memalign(void *ctx, size_t al, size_t n)
{
    return outcome(K, "memalign", n, al, R->memalign(R->ctx, al, n));
}
static void *c_valloc(void *ctx, size_t n)
{
    return outcome(K, "valloc", n, 4096, R->valloc(R->ctx, n));
}
static void *c_pvalloc(void *ctx, size_t n)
{
    return outcome(K, "pvalloc", n, 4096, R->pvalloc(R->ctx, n));
}
static size_t c_usable(void *ctx, void *p)
{
    return R->usable_size(R->ctx, p);
}
static void c_free_sized(void *ctx, void *p, size_t n)
{
    held_remove(K, p);
    R->free_sized(R->ctx, p, n);
}
static void c_free_aligned_sized(void *ctx, void *p, size_t al, size_t n)
{
    held_remove(K, p);
    R->free_aligned_sized(R->ctx, p, al, n);
}
#undef K
#undef R

/* The shim for a, with each entry point present exactly where a has it. */
static void wrap(cap_t *k, const alloc_t *a)
{
    k->a = *a;
    k->a.ctx = k;
#define WRAP(f, fn) k->a.f = a->f ? fn : NULL
    WRAP(malloc, c_malloc); WRAP(calloc, c_calloc); WRAP(realloc, c_realloc);
    WRAP(reallocarray, c_reallocarray); WRAP(free, c_free);
    WRAP(aligned_alloc, c_aligned_alloc); WRAP(posix_memalign, c_posix_memalign);
    WRAP(memalign, c_memalign); WRAP(valloc, c_valloc); WRAP(pvalloc, c_pvalloc);
    WRAP(free_sized, c_free_sized); WRAP(free_aligned_sized, c_free_aligned_sized);
    WRAP(usable_size, c_usable); WRAP(malloc_usable_size, c_usable); WRAP(malloc_size, c_usable);
#undef WRAP
}

void check_run(const check_t *chk, check_ctx_t *c)
{
    const alloc_t *a = c->a;
    cap_t *k = NULL;
    if ((a->flags & ALLOCHECK_PLUGIN_FIXED_HEAP) && a->heap_size) {
        k = mmap(NULL, sizeof *k, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (k == MAP_FAILED)
            k = NULL;
    }
    if (k) {
        k->real = a;
        k->c = c;
        wrap(k, a);
        c->a = &k->a;
    }
    chk->run(c);
    c->a = a;
}
