/* realloc's own checks: NULL as malloc, contents kept across every size-class transition in
 * both directions (in place and moved), on blocks from every allocating function; a failed
 * realloc leaves the old block intact; realloc(p, 0) and realloc(NULL, 0) classified. */
#include <errno.h>
#include <string.h>

#include "conformance/checks.h"
#include "conformance/util.h"

#define RA(c, p, n) ((c)->a->realloc((c)->a->ctx, (p), (n)))
#define F(c, p) ((c)->a->free((c)->a->ctx, (p)))

/* tiny -> small -> page -> large -> mmap, crossing glibc/jemalloc/mimalloc class edges. */
static const size_t chain[] = { 1, 8, 16, 17, 24, 40, 100, 500, 1024, 3000, 4097, 20000,
                                70000, 131073, 400000, 1 << 21, 9 << 20 };
#define CHAIN_N (sizeof chain / sizeof chain[0])

/* Walks p (holding `have` bytes of pattern seed) through sizes, checking min(old, new) bytes
 * survive each step (C17 7.22.3.5p2). Returns the final block, or NULL after a failure. */
static void *walk(check_ctx_t *c, void *p, size_t have, const size_t *sizes, size_t n, int dir)
{
    for (size_t k = 0; k < n; k++) {
        size_t to = sizes[dir > 0 ? k : n - 1 - k];
        size_t keep = have < to ? have : to;
        void *q = RA(c, p, to);
        ptrdiff_t off;

        if (q == NULL) {
            check_fail(c, "realloc(%p, %zu) failed", p, to);
            F(c, p);
            return NULL;
        }
        off = ck_verify(q, keep, 99);
        if (off >= 0) {
            check_fail(c, "realloc from %zu to %zu bytes (%p -> %p): byte %td of %zu kept "
                       "bytes changed", have, to, p, q, off, keep);
            F(c, q);
            return NULL;
        }
        ck_fill(q, to, 99);
        have = to;
        p = q;
    }
    return p;
}

static void run_realloc_grow_keeps(check_ctx_t *c)
{
    void *p = c->a->malloc(c->a->ctx, 1);

    require_true(c, p != NULL, "malloc(1) failed");
    ck_fill(p, 1, 99);
    F(c, walk(c, p, 1, chain, CHAIN_N, 1));
}

static void run_realloc_shrink_keeps(check_ctx_t *c)
{
    size_t n = chain[CHAIN_N - 1];
    void *p = c->a->malloc(c->a->ctx, n);

    require_true(c, p != NULL, "malloc(%zu) failed", n);
    ck_fill(p, n, 99);
    F(c, walk(c, p, n, chain, CHAIN_N, -1));
}

/* Grow one byte at a time, then shrink: every step keeps the bytes (off-by-one copies). */
static void run_realloc_byte_steps(check_ctx_t *c)
{
    static size_t steps[600];
    void *p = c->a->malloc(c->a->ctx, 1);

    require_true(c, p != NULL, "malloc(1) failed");
    for (size_t i = 0; i < 600; i++)
        steps[i] = i + 1;
    ck_fill(p, 1, 99);
    p = walk(c, p, 1, steps, 600, 1);
    if (p)
        p = walk(c, p, 600, steps, 600, -1);
    F(c, p);
}

/* Blocks from every allocating function can be resized, keeping their bytes. */
static void run_realloc_from_every_fn(check_ctx_t *c)
{
    for (size_t i = 0; i < ck_alloc_fn_count; i++) {
        alloc_fn_t f = ck_alloc_fns[i];
        int err;
        size_t n = ck_sweep_size(f, 64, 200);
        void *p;

        if (!alloc_has(c->a, f))
            continue;
        p = ck_alloc(c->a, f, 64, n, &err);
        require_true(c, p != NULL, "%s(%zu) failed", ck_name(f), n);
        ck_fill(p, n, 99);
        p = walk(c, p, n, chain + 8, CHAIN_N - 8, 1);
        if (p == NULL) {
            check_fail(c, "a block from %s lost bytes when resized", ck_name(f));
            return;
        }
        F(c, p);
    }
}

/* C17 7.22.3.5p3: realloc(NULL, n) behaves like malloc(n). */
static void run_realloc_null_is_malloc(check_ctx_t *c)
{
    for (size_t i = 0; i < ck_size_count; i += 3) {
        void *p = RA(c, NULL, ck_sizes[i]);

        require_true(c, p != NULL, "realloc(NULL, %zu) failed", ck_sizes[i]);
        ck_fill(p, ck_sizes[i], 5);
        F(c, p);
    }
}

/* C17 7.22.3.5p3: "If memory for the new object cannot be allocated, the old object is not
 * deallocated and its value is unchanged." Then the block must still be usable. */
static void run_realloc_fail_keeps_block(check_ctx_t *c)
{
    static const size_t huge[] = { SIZE_MAX, SIZE_MAX - 4096, (size_t)PTRDIFF_MAX + 1,
                                   (size_t)1 << 60 };
    static const size_t sizes[] = { 24, 1000, 200000 };

    for (size_t s = 0; s < 3; s++) {
        void *p = c->a->malloc(c->a->ctx, sizes[s]);

        require_true(c, p != NULL, "malloc(%zu) failed", sizes[s]);
        ck_fill(p, sizes[s], 3);
        for (size_t i = 0; i < 4; i++) {
            void *q = RA(c, p, huge[i]);

            require_true(c, q == NULL, "realloc(%p, %#zx) returned %p", p, huge[i], q);
            require_true(c, ck_verify(p, sizes[s], 3) < 0, "failed realloc(%p, %#zx) changed "
                         "the old block", p, huge[i]);
        }
        p = RA(c, p, sizes[s] * 2);
        require_true(c, p != NULL && ck_verify(p, sizes[s], 3) < 0,
                     "the block kept by a failed realloc could not be resized intact");
        F(c, p);
    }
}

static void run_realloc_fail_enomem(check_ctx_t *c)
{
    void *p = c->a->malloc(c->a->ctx, 100), *q;

    require_true(c, p != NULL, "malloc(100) failed");
    errno = 0;
    q = RA(c, p, SIZE_MAX - 4095);
    expect_true(c, q == NULL, "realloc(p, SIZE_MAX-4095) returned %p", q);
    expect_true(c, q != NULL || errno == ENOMEM, "realloc(p, SIZE_MAX-4095) failed with errno %d, "
                "not ENOMEM", errno);
    F(c, q ? q : p);
}

/* C17 7.22.3.5p3 (DR 400): implementation-defined; C23 7.24.3.7p3 makes it undefined.
 * POSIX.1-2024 realloc: a null return for size 0 (the block freed) sets errno to EINVAL, so a
 * program can tell it from a failure. */
static void run_realloc_zero(check_ctx_t *c)
{
    void *p = c->a->malloc(c->a->ctx, 64), *q;

    require_true(c, p != NULL, "malloc(64) failed");
    errno = 0;
    q = RA(c, p, 0);
    /* When q is NULL we cannot tell whether p was freed; leaking it is the safe choice. */
    check_behaviour(c, "realloc(p, 0) %s (errno %d)",
                    q == NULL ? "returns NULL" : q == p ? "returns p" : "returns a new pointer",
                    errno);
    if (c->profile == PROFILE_C23)
        check_diverge(c, "realloc(p, 0) is undefined in C23 7.24.3.7p3");
    if (q == NULL)
        ck_expect_errno(c, errno, EINVAL, "realloc(p, 0) returned NULL with errno %d, not EINVAL "
                        "(POSIX.1-2024 realloc)", errno);
    F(c, q);
}

static void run_realloc_null_zero(check_ctx_t *c)
{
    void *p = RA(c, NULL, 0);

    check_behaviour(c, "realloc(NULL, 0) returns %s", p ? "a non-NULL pointer" : "NULL");
    F(c, p);
}

/* Growing within the usable size keeps the bytes (reports whether it stays in place). */
static void run_realloc_within_usable(check_ctx_t *c)
{
    static const size_t sizes[] = { 1, 13, 24, 100, 1000, 5000, 200000 };
    int in_place = 0;

    for (size_t i = 0; i < 7; i++) {
        void *p = c->a->malloc(c->a->ctx, sizes[i]), *q;
        size_t u;

        require_true(c, p != NULL, "malloc(%zu) failed", sizes[i]);
        u = ck_usable(c->a, p, sizes[i]);
        ck_fill(p, sizes[i], 4);
        q = RA(c, p, u);
        require_true(c, q != NULL, "realloc(p, usable size %zu) failed", u);
        expect_true(c, ck_verify(q, sizes[i], 4) < 0, "realloc within the usable size lost "
                    "bytes (%zu -> %zu)", sizes[i], u);
        in_place += q == p;
        F(c, q);
    }
    check_behaviour(c, "growing within the usable size stays in place %d of 7 times", in_place);
}

/* Same size, and shrinking by a byte: the bytes kept, the block usable. */
static void run_realloc_same_size(check_ctx_t *c)
{
    for (size_t i = 0; i < ck_size_count; i += 4) {
        size_t n = ck_sizes[i];
        void *p = c->a->malloc(c->a->ctx, n);

        require_true(c, p != NULL, "malloc(%zu) failed", n);
        ck_fill(p, n, 8);
        p = RA(c, p, n);
        require_true(c, p != NULL && ck_verify(p, n, 8) < 0, "realloc to the same size %zu "
                     "lost bytes", n);
        F(c, p);
    }
}

#define REALLOC_NEEDS (AF_BIT(AF_REALLOC) | AF_BIT(AF_MALLOC) | AF_BIT(AF_FREE))
#define REALLOC_CHECK_F(n, id, clause, desc, flags) \
    const check_t check_##n = { id, "realloc", clause, desc, REALLOC_NEEDS, flags, run_##n };
#define REALLOC_CHECK(n, id, clause, desc) REALLOC_CHECK_F(n, id, clause, desc, 0)
REALLOC_CHECK(realloc_grow_keeps, "realloc-grow-keeps", "C17 7.22.3.5p2",
              "growing across every size class (tiny to mmap) keeps the bytes")
REALLOC_CHECK(realloc_shrink_keeps, "realloc-shrink-keeps", "C17 7.22.3.5p2",
              "shrinking across every size class (mmap to tiny) keeps the bytes")
REALLOC_CHECK(realloc_byte_steps, "realloc-byte-steps", "C17 7.22.3.5p2",
              "growing and shrinking one byte at a time (1..600) keeps the bytes")
REALLOC_CHECK(realloc_from_every_fn, "realloc-from-every-function", "C17 7.22.3.5p2",
              "blocks from calloc and the aligned functions resize keeping their bytes")
REALLOC_CHECK(realloc_null_is_malloc, "realloc-null-is-malloc", "C17 7.22.3.5p3",
              "realloc(NULL, n) behaves like malloc(n)")
REALLOC_CHECK(realloc_fail_keeps_block, "realloc-fail-keeps-block",
              "C17 7.22.3.5p3 (after DR 400: size nonzero, not allocated: not deallocated)",
              "a failed realloc leaves the old block intact and usable")
REALLOC_CHECK_F(realloc_fail_enomem, "realloc-fail-enomem", "POSIX.1-2024 realloc [ENOMEM]",
                "a failed realloc sets errno ENOMEM", CHECK_ERRNO)
const check_t check_realloc_zero = {
    "realloc-zero", "realloc", "C17 7.22.3.5p3 (after DR 400: implementation-defined whether p is "
    "freed), 7.31.12p2 (obsolescent); C23 7.24.3.7p3; POSIX.1-2024 realloc [EINVAL]",
    "realloc(p, 0) classified (implementation-defined; undefined in C23)", REALLOC_NEEDS,
    CHECK_INFO, run_realloc_zero };
const check_t check_realloc_null_zero = {
    "realloc-null-zero", "realloc", "C17 7.22.3.5p3; C17 7.22.3p1",
    "realloc(NULL, 0) classified like malloc(0)", REALLOC_NEEDS, CHECK_INFO,
    run_realloc_null_zero };
REALLOC_CHECK(realloc_within_usable, "realloc-within-usable", "C17 7.22.3.5p2",
              "growing within the usable size keeps the bytes")
REALLOC_CHECK(realloc_same_size, "realloc-same-size", "C17 7.22.3.5p2",
              "realloc to the same size keeps the bytes")
