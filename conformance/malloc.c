/* malloc's own checks: malloc(0) classified, SIZE_MAX, every small size side by side,
 * contents surviving other blocks' frees, large blocks, and memory handed out again after
 * everything was freed. Alignment, overlap and huge sizes are in common.c and overflow.c. */
#include <errno.h>
#include <stdio.h>

#include "conformance/checks.h"
#include "conformance/util.h"

#define M(c, n) ((c)->a->malloc((c)->a->ctx, (n)))
#define F(c, p) ((c)->a->free((c)->a->ctx, (p)))

/* C17 7.22.3p1: implementation-defined whether malloc(0) is NULL or a unique pointer. */
/* 32 live malloc(0) results, as many as malloc-zero-unique takes, so the profile says
 * "distinct" only when they all are (whether they must be is malloc-zero-unique's question). */
static void run_malloc_zero(check_ctx_t *c)
{
    void *p[32];
    int nulls = 0, shared = 0;

    for (int i = 0; i < 32; i++) {
        p[i] = M(c, 0);
        nulls += p[i] == NULL;
        for (int j = 0; j < i; j++)
            shared += p[i] && p[i] == p[j];
    }
    if (nulls)
        check_behaviour(c, "malloc(0) returns NULL%s", nulls < 32 ? " sometimes" : "");
    else
        check_behaviour(c, "malloc(0) returns %s", shared ? "non-NULL pointers, some shared"
                                                          : "distinct non-NULL pointers");
    for (int i = 0; i < 32; i++) {
        bool seen = false;
        for (int j = 0; j < i; j++)
            seen |= p[j] == p[i];
        if (!seen)
            F(c, p[i]);
    }
}

/* "as if the size were some nonzero value": each non-NULL malloc(0) is a distinct object. */
static void run_malloc_zero_unique(check_ctx_t *c)
{
    void *p[32];

    for (int i = 0; i < 32; i++) {
        p[i] = M(c, 0);
        if (p[i] == NULL) {
            check_behaviour(c, "malloc(0) returns NULL");
            for (int j = 0; j < i; j++)
                F(c, p[j]);
            return;
        }
        for (int j = 0; j < i; j++)
            expect_true(c, p[i] != p[j], "two live malloc(0) blocks share the address %p", p[i]);
    }
    for (int i = 0; i < 32; i++)
        F(c, p[i]);
}

static void run_malloc_size_max(check_ctx_t *c)
{
    void *p;

    errno = 0;
    p = M(c, SIZE_MAX);
    require_true(c, p == NULL, "malloc(SIZE_MAX) returned %p", p);
    ck_expect_errno(c, errno, ENOMEM, "malloc(SIZE_MAX) failed with errno %d, not ENOMEM",
                    errno);
}

#define SMALL_MAX 2048

/* Every size 1..2048 live at once, each holding its own pattern. */
static void run_malloc_every_small_size(check_ctx_t *c)
{
    void **p = ck_map(SMALL_MAX * sizeof *p);

    require_true(c, p != NULL, "harness mmap failed");
    for (size_t n = 1; n < SMALL_MAX; n++) {
        p[n] = M(c, n);
        require_true(c, p[n] != NULL, "malloc(%zu) failed", n);
        ck_fill(p[n], n, (uint32_t)n);
    }
    for (size_t n = 1; n < SMALL_MAX; n++) {
        ptrdiff_t off = ck_verify(p[n], n, (uint32_t)n);

        expect_true(c, off < 0, "malloc(%zu) block %p: byte %td was overwritten", n, p[n], off);
        F(c, p[n]);
    }
    ck_unmap(p, SMALL_MAX * sizeof *p);
}

#define KEEP_N 1024

/* Free every other block, allocate again into the holes: survivors keep their bytes. */
static void run_malloc_contents_kept(check_ctx_t *c)
{
    void **p = ck_map(KEEP_N * sizeof *p);

    require_true(c, p != NULL, "harness mmap failed");
    for (size_t i = 0; i < KEEP_N; i++) {
        p[i] = M(c, 8 + i % 300);
        require_true(c, p[i] != NULL, "malloc(%zu) failed", 8 + i % 300);
        ck_fill(p[i], 8 + i % 300, (uint32_t)i);
    }
    for (size_t i = 0; i < KEEP_N; i += 2)
        F(c, p[i]);
    for (size_t i = 0; i < KEEP_N; i += 2) {
        p[i] = M(c, 8 + (i * 7) % 300);
        require_true(c, p[i] != NULL, "malloc failed after frees");
        ck_fill(p[i], 8 + (i * 7) % 300, (uint32_t)i);
    }
    for (size_t i = 0; i < KEEP_N; i++) {
        size_t n = i % 2 ? 8 + i % 300 : 8 + (i * 7) % 300;
        ptrdiff_t off = ck_verify(p[i], n, (uint32_t)i);

        expect_true(c, off < 0, "block %p of %zu bytes: byte %td changed", p[i], n, off);
        F(c, p[i]);
    }
    ck_unmap(p, KEEP_N * sizeof *p);
}

/* Small sizes that every allocator serves from its own free lists or slabs (most mmap and
 * munmap 1 MiB blocks, so big rounds alone cannot see a heap that never recycles). */
static const size_t reuse_sizes[] = { 16, 48, 128, 256, 512, 1024, 2048, 4096 };
#define REUSE_LIVE 256    /* blocks live at once: at most 1 MiB */
#define REUSE_ROUNDS 64   /* per size: 16 Ki blocks, 130 MiB cycled over all sizes */

/* REUSE_ROUNDS times: REUSE_LIVE blocks of n bytes, both ends written, then all freed.
 * Adds the bytes handed out to *cycled; false after recording a failure. */
static bool reuse_small_size(check_ctx_t *c, size_t n, void **p, size_t *cycled)
{
    for (int round = 0; round < REUSE_ROUNDS; round++) {
        for (int i = 0; i < REUSE_LIVE; i++) {
            p[i] = M(c, n);
            if (p[i] == NULL) {
                check_fail(c, "malloc(%zu) failed after %zu MiB cycled with at most %zu KiB "
                           "live: freed small blocks are not reused", n, *cycled >> 20,
                           REUSE_LIVE * n >> 10);
                while (i-- > 0)
                    F(c, p[i]);
                return false;
            }
            ((volatile char *)p[i])[0] = 1;
            ((volatile char *)p[i])[n - 1] = 1;
            *cycled += n;
        }
        for (int i = 0; i < REUSE_LIVE; i++)
            F(c, p[i]);
    }
    return true;
}

/* C17 7.22.3.3p2: free makes the space "available for further allocation". With at most
 * 1 MiB live, no allocation may fail and resident memory may not grow by a quarter of the
 * 130 MiB handed out (real heaps keep caches of a few MiB; a heap that never reuses grows by
 * all of it). Returns false after recording a failure. */
static bool reuse_small(check_ctx_t *c)
{
    void **p = ck_map(REUSE_LIVE * sizeof *p);
    size_t cycled = 0, rss0 = ck_rss_size(), rss1;
    bool ok = true;

    if (p == NULL) {
        check_fail(c, "harness mmap failed");
        return false;
    }
    for (size_t s = 0; ok && s < sizeof reuse_sizes / sizeof *reuse_sizes; s++)
        ok = reuse_small_size(c, reuse_sizes[s], p, &cycled);
    rss1 = ck_rss_size();
    if (ok && rss0 && rss1 > rss0 + cycled / 4) {
        check_fail(c, "%zu MiB handed out in blocks of 16..4096 bytes with at most 1 MiB live "
                   "grew resident memory by %zu MiB: freed small blocks are not reused",
                   cycled >> 20, (rss1 - rss0) >> 20);
        ok = false;
    }
    ck_unmap(p, REUSE_LIVE * sizeof *p);
    return ok;
}

/* Memory freed can be handed out again: small blocks first (before big rounds can leave a
 * heap grown in resident memory), then 64 MiB in 1 MiB blocks, 16 rounds. */
static void run_malloc_free_reuse(check_ctx_t *c)
{
    void *p[64];

    if (!reuse_small(c))
        return;
    for (int round = 0; round < 16; round++) {
        for (int i = 0; i < 64; i++) {
            p[i] = M(c, (size_t)1 << 20);
            if (p[i] == NULL) {
                check_fail(c, "round %d: malloc(1 MiB) #%d failed: freed memory is not reused",
                           round, i);
                while (i-- > 0)
                    F(c, p[i]);
                return;
            }
            ((volatile char *)p[i])[(i * 4099) % (1 << 20)] = 1;
        }
        for (int i = 0; i < 64; i++)
            F(c, p[i]);
    }
}

/* Blocks of 16 MiB and 64 MiB (mmap territory) exist in full: first, last, every page. */
static void run_malloc_large(check_ctx_t *c)
{
    static const size_t sizes[] = { (size_t)16 << 20, (size_t)64 << 20 };
    size_t pg = ck_page_size();

    for (size_t i = 0; i < 2; i++) {
        unsigned char *p = M(c, sizes[i]);

        require_true(c, p != NULL, "malloc(%zu) failed", sizes[i]);
        for (size_t o = 0; o < sizes[i]; o += pg)
            p[o] = (unsigned char)(o / pg);
        p[sizes[i] - 1] = 0x7e;
        for (size_t o = 0; o < sizes[i]; o += pg)
            expect_true(c, p[o] == (unsigned char)(o / pg), "page %zu of malloc(%zu) lost its "
                        "byte", o / pg, sizes[i]);
        F(c, p);
    }
}

#define MALLOC_NEEDS (AF_BIT(AF_MALLOC) | AF_BIT(AF_FREE))
const check_t check_malloc_zero = {
    "malloc-zero", "malloc", "C17 7.22.3p1", "malloc(0) is NULL or a unique pointer (reported)",
    MALLOC_NEEDS, CHECK_INFO, run_malloc_zero };
const check_t check_malloc_zero_unique = {
    "malloc-zero-unique", "malloc", "C17 7.22.3p1",
    "non-NULL malloc(0) results are distinct objects", MALLOC_NEEDS, 0,
    run_malloc_zero_unique };
const check_t check_malloc_size_max = {
    "malloc-size-max", "malloc", "C17 7.22.3.4p3; POSIX.1-2024 malloc [ENOMEM]",
    "malloc(SIZE_MAX) returns NULL with errno ENOMEM", MALLOC_NEEDS, 0, run_malloc_size_max };
const check_t check_malloc_every_small_size = {
    "malloc-every-small-size", "malloc", "C17 7.22.3.4p2",
    "every size 1..2047 live at once keeps its bytes", MALLOC_NEEDS, 0,
    run_malloc_every_small_size };
const check_t check_malloc_contents_kept = {
    "malloc-contents-kept", "malloc", "C17 7.22.3p1",
    "blocks keep their bytes while neighbours are freed and reallocated", MALLOC_NEEDS, 0,
    run_malloc_contents_kept };
const check_t check_malloc_free_reuse = {
    "malloc-free-reuse", "malloc", "C17 7.22.3.3p2",
    "freed memory is made available again: 130 MiB of 16..4096-byte blocks with 1 MiB live "
    "(no failure, resident growth < 1/4), 16 rounds of 64 MiB", MALLOC_NEEDS, 0,
    run_malloc_free_reuse };
const check_t check_malloc_large = {
    "malloc-large", "malloc", "C17 7.22.3.4p2",
    "16 MiB and 64 MiB blocks exist in full", MALLOC_NEEDS, 0, run_malloc_large };
