/* Checks across every function: which functions exist, alignment of every result, distinct
 * live blocks never overlapping, and every requested byte of a block writable without touching
 * a neighbour (the excess up to the usable size too, judged as a divergence). Sweeps are
 * tables of sizes run against each function. */
#include <stdio.h>
#include <string.h>

#include "conformance/checks.h"
#include "conformance/util.h"

static void run_functions_present(check_ctx_t *c)
{
    char list[256] = "";
    size_t len = 0;
    int n = 0;

    for (int f = 0; f < AF_COUNT; f++) {
        if (!alloc_has(c->a, (alloc_fn_t)f))
            continue;
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", n ? " " : "",
                                alloc_fn_names[f]);
        if (len >= sizeof list)
            break;
        n++;
    }
    check_behaviour(c, "%d of %d functions present: %s", n, (int)AF_COUNT, list);
    expect_true(c, alloc_has(c->a, AF_MALLOC) && alloc_has(c->a, AF_FREE),
                "malloc and free are required (C17 7.22.3), present: %s", list);
}

const check_t check_functions_present = {
    "functions-present", "*", "C17 7.22.3",
    "reports which of the 14 entry points the allocator provides", 0, CHECK_INFO,
    run_functions_present,
};

#define ALIGN_COPIES 3

/* Every small size of the table, ALIGN_COPIES blocks of each, all live at once: in a fresh
 * heap one block at a time keeps landing at the same (aligned) address, so a heap that packs
 * blocks at 8 bytes only shows it with neighbours. */
static void align_live(check_ctx_t *c, alloc_fn_t f, size_t align)
{
    size_t cap = ck_size_count * ALIGN_COPIES;
    void **p = ck_map(cap * sizeof *p);

    require_true(c, p != NULL, "harness mmap failed");
    size_t n = ck_alloc_small_live(c, f, align, ALIGN_COPIES, p);
    for (size_t i = 0; i < n; i++)
        ck_expect_aligned(c, f, align, ck_sweep_size(f, align, ck_sizes[i / ALIGN_COPIES]),
                          p[i]);
    ck_free_all(c->a, p, n);
    ck_unmap(p, cap * sizeof *p);
}

/* Every size of the table, one block at a time, aligned as owed; then the small ones live
 * together. */
static void sweep_align(check_ctx_t *c, alloc_fn_t f)
{
    static const size_t aligns[] = { 0, 32, 64, 256, 4096 };
    size_t naligns = ck_takes_align(f) ? sizeof aligns / sizeof aligns[0] : 1;
    int err;

    for (size_t k = 0; k < naligns && c->verdict != VERDICT_FAIL; k++)
        align_live(c, f, aligns[k]);
    for (size_t k = 0; k < naligns; k++) {
        for (size_t i = 0; i < ck_size_count; i++) {
            size_t size = ck_sweep_size(f, aligns[k], ck_sizes[i]);
            void *p = ck_alloc(c->a, f, aligns[k], size, &err);

            if (p == NULL) {
                check_fail(c, "%s(%zu) failed (errno %d)", ck_name(f), size, err);
                return;
            }
            ck_expect_aligned(c, f, aligns[k], size, p);
            c->a->free(c->a->ctx, p);
        }
    }
}

#define OVERLAP_BLOCKS 320

/* Many live blocks of mixed sizes (with some freed and reallocated in between, so recycled
 * memory is in play): no two [p, p+size) ranges may share a byte (C17 7.22.3p1). */
static void sweep_overlap(check_ctx_t *c, alloc_fn_t f)
{
    ck_span_t *s = ck_map(OVERLAP_BLOCKS * sizeof *s);
    int err;

    require_true(c, s != NULL, "harness mmap failed");
    for (size_t i = 0; i < OVERLAP_BLOCKS; i++) {
        size_t size = ck_sweep_size(f, 0, ck_sizes[(i * 7) % ck_size_count] % 70000 + 1);
        void *p = ck_alloc(c->a, f, 0, size, &err);

        if (p == NULL) {
            check_fail(c, "%s(%zu) failed (errno %d)", ck_name(f), size, err);
            break;
        }
        s[i] = (ck_span_t){ (uintptr_t)p, (uintptr_t)p + size };
        if (i % 5 == 4) {  /* free one earlier block, then refill its slot */
            size_t v = i - 3;
            c->a->free(c->a->ctx, (void *)s[v].lo);
            p = ck_alloc(c->a, f, 0, s[v].hi - s[v].lo, &err);
            s[v] = (ck_span_t){ (uintptr_t)p, (uintptr_t)p + (s[v].hi - s[v].lo) };
            require_true(c, p != NULL, "%s failed after a free (errno %d)", ck_name(f), err);
        }
    }
    if (c->verdict != VERDICT_FAIL) {
        ck_sort_spans(s, OVERLAP_BLOCKS);
        for (size_t i = 1; i < OVERLAP_BLOCKS; i++)
            expect_true(c, s[i - 1].hi <= s[i].lo, "%s blocks overlap: [%#lx, %#lx) and "
                        "[%#lx, %#lx)", ck_name(f), (unsigned long)s[i - 1].lo,
                        (unsigned long)s[i - 1].hi, (unsigned long)s[i].lo,
                        (unsigned long)s[i].hi);
    }
    for (size_t i = 0; i < OVERLAP_BLOCKS && s[i].lo; i++)
        c->a->free(c->a->ctx, (void *)s[i].lo);
    ck_unmap(s, OVERLAP_BLOCKS * sizeof *s);
}

/* The first byte of any of the n blocks that lost its pattern over [0, len[i]), reported as
 * `what`: a failure for the requested bytes, a divergence for the excess. True when all held. */
static bool verify_all(check_ctx_t *c, alloc_fn_t f, void **p, const size_t *len, size_t n,
                       bool excess)
{
    for (size_t i = 0; i < n; i++) {
        ptrdiff_t off = ck_verify(p[i], len[i], (uint32_t)i);

        if (off < 0)
            continue;
        if (!excess)
            check_fail(c, "%s block %p: byte %td of %zu changed after its neighbours were "
                       "written", ck_name(f), p[i], off, len[i]);
        else
            check_diverge(c, "%s block %p: byte %td of %zu changed after every block's excess "
                          "up to its usable size was written (malloc_usable_size(3) CAVEATS: "
                          "writing the excess is not supported)", ck_name(f), p[i], off,
                          len[i]);
        return false;
    }
    return true;
}

/* Every size of the table live at once, each filled over its requested size with its own
 * pattern; every block must still hold it (a failure). Then the excess up to each usable size
 * is written too: damage from that is a divergence, since the man page no longer promises the
 * excess is writable. The pattern depends on the offset only, so the second fill leaves the
 * requested bytes as they were. */
static void sweep_writable(check_ctx_t *c, alloc_fn_t f)
{
    size_t n = ck_size_count;
    void **p = ck_map(n * sizeof *p);
    size_t *s = ck_map(n * sizeof *s), *u = ck_map(n * sizeof *u);
    size_t got = 0;
    int err;

    require_true(c, p && s && u, "harness mmap failed");
    for (; got < n; got++) {
        s[got] = ck_sweep_size(f, 0, ck_sizes[got]);
        if ((p[got] = ck_alloc(c->a, f, 0, s[got], &err)) == NULL) {
            check_fail(c, "%s(%zu) failed (errno %d)", ck_name(f), s[got], err);
            break;
        }
        u[got] = ck_usable(c->a, p[got], s[got]);
        ck_fill(p[got], s[got], (uint32_t)got);
    }
    if (got == n && verify_all(c, f, p, s, n, false)) {
        for (size_t i = 0; i < n; i++)
            ck_fill(p[i], u[i], (uint32_t)i);
        verify_all(c, f, p, u, n, true);
    }
    for (size_t i = 0; i < got; i++)
        c->a->free(c->a->ctx, p[i]);
    ck_unmap(p, n * sizeof *p);
    ck_unmap(s, n * sizeof *s);
    ck_unmap(u, n * sizeof *u);
}

#define COMMON_CHECKS(n, f, s, clause) \
    static void run_##n##_align(check_ctx_t *c) { sweep_align(c, f); } \
    static void run_##n##_no_overlap(check_ctx_t *c) { sweep_overlap(c, f); } \
    static void run_##n##_writable(check_ctx_t *c) { sweep_writable(c, f); } \
    const check_t check_##n##_align = { s "-align", #n, "C17 7.22.3p1; " clause, \
        "every block is aligned as owed (max_align_t, or the requested alignment)", \
        CK_NEEDS(f), 0, run_##n##_align }; \
    const check_t check_##n##_no_overlap = { s "-no-overlap", #n, "C17 7.22.3p1", \
        "distinct live blocks share no byte, also after frees recycle memory", \
        CK_NEEDS(f), 0, run_##n##_no_overlap }; \
    const check_t check_##n##_writable = { s "-writable", #n, \
        "C17 7.22.3p1; " clause "; malloc_usable_size(3) CAVEATS (man-pages 6.x)", \
        "the requested bytes are writable without touching neighbours; writing on up to the " \
        "usable size harms none (a divergence: no longer promised)", \
        CK_NEEDS(f), 0, run_##n##_writable };
CK_FOR_EACH_ALLOC_FN(COMMON_CHECKS)
