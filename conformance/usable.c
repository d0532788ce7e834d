/* malloc_usable_size (or the allocator's equivalent), as malloc_usable_size(3) states it today
 * (man-pages 6.x, RETURN VALUE): at least the requested size for blocks of every function,
 * 0 for NULL; stable, and following realloc. The usable bytes are the block's own, so with
 * blocks live side by side no usable size reaches into the next block. Whether the excess
 * may be written is common.c's -writable (a divergence: the page no longer promises it). */
#include "conformance/checks.h"
#include "conformance/util.h"

#define DISJOINT_COPIES 2

/* Small blocks live side by side, where a heap packs them: a usable size that reaches the
 * next live block counts another object's bytes as this one's (C17 7.22.3p1: distinct
 * objects). Writing there is what corrupts a neighbour; this catches the lie without it. */
static void usable_disjoint(check_ctx_t *c, alloc_fn_t f)
{
    size_t cap = ck_size_count * DISJOINT_COPIES;
    void **p = ck_map(cap * sizeof *p);
    ck_span_t *e = ck_map(cap * sizeof *e);

    require_true(c, p && e, "harness mmap failed");
    size_t n = ck_alloc_small_live(c, f, 64, DISJOINT_COPIES, p);
    for (size_t i = 0; i < n; i++)
        e[i] = (ck_span_t){ (uintptr_t)p[i],
                            (uintptr_t)p[i] + c->a->usable_size(c->a->ctx, p[i]) };
    ck_sort_spans(e, n);
    for (size_t i = 1; i < n && c->verdict != VERDICT_FAIL; i++)
        expect_true(c, e[i - 1].hi <= e[i].lo, "usable size of %s block %#lx is %zu: it "
                    "reaches into the live block %#lx (malloc_usable_size(3): the usable bytes "
                    "of the block itself)", ck_name(f), (unsigned long)e[i - 1].lo,
                    (size_t)(e[i - 1].hi - e[i - 1].lo), (unsigned long)e[i].lo);
    ck_free_all(c->a, p, n);
    ck_unmap(p, cap * sizeof *p);
    ck_unmap(e, cap * sizeof *e);
}

static void usable_sweep(check_ctx_t *c, alloc_fn_t f)
{
    int err;

    if (c->a->usable_size == NULL) {
        check_skip(c, "no malloc_usable_size or equivalent");
        return;
    }
    for (size_t i = 0; i < ck_size_count; i++) {
        size_t size = ck_sweep_size(f, 64, ck_sizes[i]);
        void *p = ck_alloc(c->a, f, 64, size, &err);
        size_t u;

        require_true(c, p != NULL, "%s(%zu) failed", ck_name(f), size);
        u = c->a->usable_size(c->a->ctx, p);
        expect_true(c, u >= size, "usable size of %s(%zu) = %p is %zu, less than requested",
                    ck_name(f), size, p, u);
        expect_true(c, c->a->usable_size(c->a->ctx, p) == u, "usable size of %p changed "
                    "between two calls", p);
        c->a->free(c->a->ctx, p);
    }
    usable_disjoint(c, f);
}

static void run_usable_null(check_ctx_t *c)
{
    size_t u;

    if (c->a->usable_size == NULL) {
        check_skip(c, "no malloc_usable_size or equivalent");
        return;
    }
    u = c->a->usable_size(c->a->ctx, NULL);
    expect_true(c, u == 0, "malloc_usable_size(NULL) = %zu, not 0", u);
}

static void run_usable_after_realloc(check_ctx_t *c)
{
    static const size_t steps[] = { 10, 100, 5000, 300000, 40, 1, 70000 };
    void *p = NULL;

    if (c->a->usable_size == NULL) {
        check_skip(c, "no malloc_usable_size or equivalent");
        return;
    }
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        void *q = c->a->realloc(c->a->ctx, p, steps[i]);
        size_t u;

        require_true(c, q != NULL, "realloc to %zu failed", steps[i]);
        p = q;
        u = c->a->usable_size(c->a->ctx, p);
        expect_true(c, u >= steps[i], "usable size after realloc to %zu is %zu", steps[i], u);
    }
    c->a->free(c->a->ctx, p);
}

#define USABLE_CHECKS(n, f, s, clause) \
    static void run_usable_##n(check_ctx_t *c) { usable_sweep(c, f); } \
    const check_t check_usable_##n = { "usable-size-" s, "malloc_usable_size", \
        "malloc_usable_size(3) RETURN VALUE; C17 7.22.3p1; " clause, \
        "usable size >= requested for every size, stable across calls, never reaching into " \
        "the next live block", CK_NEEDS(f), 0, \
        run_usable_##n };
CK_FOR_EACH_ALLOC_FN(USABLE_CHECKS)

const check_t check_usable_null = {
    "usable-size-null", "malloc_usable_size", "malloc_usable_size(3) RETURN VALUE",
    "malloc_usable_size(NULL) returns 0", 0, 0, run_usable_null };
const check_t check_usable_after_realloc = {
    "usable-size-after-realloc", "malloc_usable_size", "malloc_usable_size(3) RETURN VALUE",
    "usable size follows realloc up and down", AF_BIT(AF_REALLOC) | AF_BIT(AF_FREE), 0,
    run_usable_after_realloc };
