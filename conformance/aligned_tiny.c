/* The aligned functions at size 0 and at tiny sizes (1..15), for every power-of-two alignment
 * 1..2^16: the alignment promise (C17 7.22.3.1p2, POSIX.1-2024 posix_memalign, the glibc
 * manual's memalign and valloc, the posix_memalign(3) man page's pvalloc) holds for every successful call whatever the size, and
 * size 0 is implementation-defined (C17 7.22.3p1: NULL or a unique pointer; reported).
 * Blocks stay live with small malloc blocks between them, so an allocator that serves these
 * from malloc's smallest class shows it (jemalloc 5.3: memalign(a, 0) and valloc(0)). */
#include "conformance/checks.h"
#include "conformance/util.h"

#define TINY_MAX_ALIGN_LOG 16
#define TINY_LIVE 4           /* blocks of f live at once per (alignment, size) */
#define TINY_SLOTS (2 * TINY_LIVE)

/* A round: TINY_LIVE calls f(al, size), each followed by a live malloc(1..4). */
typedef struct round_stats {
    unsigned calls, nulls;
} round_stats_t;

/* C11 7.22.3.1p2 required size to be a multiple of the alignment: outside that, a misaligned
 * aligned_alloc result is undefined territory there, a divergence. */
static bool c11_undefined(const check_ctx_t *c, alloc_fn_t f, size_t al, size_t size)
{
    return c->profile == PROFILE_C11 && f == AF_ALIGNED_ALLOC && size % al != 0;
}

/* Records a failure unless p is aligned as owed. Returns false after a failure. */
static bool tiny_aligned(check_ctx_t *c, alloc_fn_t f, size_t al, size_t size, void *p)
{
    if (ck_aligned(p, ck_owed_align(c, f, al, size)))
        return true;
    if (c11_undefined(c, f, al, size)) {
        check_diverge(c, "aligned_alloc(%zu, %zu) = %p is misaligned (size not a multiple of "
                      "the alignment: undefined in C11)", al, size, p);
        return true;
    }
    return ck_expect_aligned(c, f, al, size, p);
}

/* C17 7.22.3p1: every non-NULL result, size 0 included, is disjoint from every other live
 * object, so no two live pointers are equal. */
static bool all_distinct(check_ctx_t *c, alloc_fn_t f, size_t al, size_t size, void **p, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (p[i] != NULL && p[i] == p[j]) {
                check_fail(c, "%s(align %zu, size %zu) returned %p while it was live (C17 "
                           "7.22.3p1: a unique pointer)", ck_name(f), al, size, p[i]);
                return false;
            }
    return true;
}

static bool tiny_round(check_ctx_t *c, alloc_fn_t f, size_t al, size_t size, round_stats_t *st)
{
    void *p[TINY_SLOTS] = { 0 };
    bool ok = true;
    int err;

    for (int k = 0; k < TINY_LIVE && ok; k++) {
        p[2 * k] = ck_alloc(c->a, f, al, size, &err);
        p[2 * k + 1] = c->a->malloc(c->a->ctx, (size_t)k + 1);
        st->calls++;
        st->nulls += p[2 * k] == NULL;
        if (p[2 * k] != NULL)
            ok = tiny_aligned(c, f, al, size, p[2 * k]);
    }
    if (ok)
        ok = all_distinct(c, f, al, size, p, TINY_SLOTS);
    for (int k = 0; k < TINY_SLOTS; k++)
        c->a->free(c->a->ctx, p[k]);
    return ok;
}

/* Every power-of-two alignment the function takes (valloc and pvalloc take none: the loop
 * only repeats them, each result owed the page), at sizes lo..hi. */
static void tiny_sweep(check_ctx_t *c, alloc_fn_t f, size_t lo, size_t hi, round_stats_t *st)
{
    size_t first = f == AF_POSIX_MEMALIGN ? sizeof(void *) : 1;

    for (size_t al = first; al <= (size_t)1 << TINY_MAX_ALIGN_LOG; al <<= 1)
        for (size_t size = lo; size <= hi; size++)
            if (!tiny_round(c, f, al, size, st))
                return;
}

static void zero_size(check_ctx_t *c, alloc_fn_t f)
{
    round_stats_t st = { 0, 0 };

    tiny_sweep(c, f, 0, 0, &st);
    if (st.nulls == 0)
        check_behaviour(c, "%s with size 0 returns a unique pointer", ck_name(f));
    else if (st.nulls == st.calls)
        check_behaviour(c, "%s with size 0 returns NULL", ck_name(f));
    else
        check_behaviour(c, "%s with size 0 returns NULL %u of %u times", ck_name(f), st.nulls,
                        st.calls);
}

/* NULL is not a failure here: aligned_alloc's C17 duty to serve sizes that are not a
 * multiple has its own check (aligned-alloc-size-not-multiple). */
static void tiny_size(check_ctx_t *c, alloc_fn_t f)
{
    round_stats_t st = { 0, 0 };

    tiny_sweep(c, f, 1, 15, &st);
    if (st.nulls)
        check_behaviour(c, "%s fails %u of %u tiny requests", ck_name(f), st.nulls, st.calls);
}

#define TINY_NEEDS(f) (CK_NEEDS(f) | AF_BIT(AF_MALLOC))
#define TINY_CHECKS(n, f, s, clause) \
    static void run_##n##_zero_size(check_ctx_t *c) { zero_size(c, f); } \
    static void run_##n##_tiny_size(check_ctx_t *c) { tiny_size(c, f); } \
    const check_t check_##n##_zero_size = { s "-zero-size-aligned", #n, \
        "C17 7.22.3p1; " clause, \
        "size 0 at every alignment 1..2^16: NULL or a unique, aligned pointer (reported)", \
        TINY_NEEDS(f), 0, run_##n##_zero_size }; \
    const check_t check_##n##_tiny_size = { s "-tiny-size-aligned", #n, clause, \
        "sizes 1..15 at every alignment 1..2^16: NULL or aligned as requested", \
        TINY_NEEDS(f), 0, run_##n##_tiny_size };
TINY_CHECKS(aligned_alloc, AF_ALIGNED_ALLOC, "aligned-alloc", "C17 7.22.3.1p2")
TINY_CHECKS(posix_memalign, AF_POSIX_MEMALIGN, "posix-memalign", "POSIX.1-2024 posix_memalign")
TINY_CHECKS(memalign, AF_MEMALIGN, "memalign", "glibc manual memalign")
TINY_CHECKS(valloc, AF_VALLOC, "valloc", "glibc manual valloc")
TINY_CHECKS(pvalloc, AF_PVALLOC, "pvalloc", "posix_memalign(3) pvalloc")
