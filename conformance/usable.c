/* malloc_usable_size (or the allocator's equivalent): at least the requested size for blocks
 * of every function (the glibc manual's contract), 0 for NULL, stable, and following realloc.
 * That the whole usable size is writable without harm is checked by common.c's -writable. */
#include "conformance/checks.h"
#include "conformance/util.h"

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
        "glibc manual malloc_usable_size; " clause, \
        "usable size >= requested for every size, stable across calls", CK_NEEDS(f), 0, \
        run_usable_##n };
CK_FOR_EACH_ALLOC_FN(USABLE_CHECKS)

const check_t check_usable_null = {
    "usable-size-null", "malloc_usable_size", "glibc manual malloc_usable_size",
    "malloc_usable_size(NULL) returns 0", 0, 0, run_usable_null };
const check_t check_usable_after_realloc = {
    "usable-size-after-realloc", "malloc_usable_size", "glibc manual malloc_usable_size",
    "usable size follows realloc up and down", AF_BIT(AF_REALLOC) | AF_BIT(AF_FREE), 0,
    run_usable_after_realloc };
