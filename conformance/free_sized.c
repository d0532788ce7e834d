/* free_sized and free_aligned_sized really release, and what they do with a wrong size or
 * alignment. A variant that only forgets its blocks passes every contents check, so the release
 * checks keep 64 MiB live per round, several rounds over, and require the resident peak of the
 * last round to stay near the first's: released memory is what the next round gets.
 * A wrong size or alignment is undefined behaviour (C23 7.24.3.4p2, 7.24.3.5p2): those checks
 * report what happens (CHECK_UB), they never fail.
 * Leaves out: whether memory goes back to the system (keeping it for reuse is allowed). */
#include "conformance/checks.h"
#include "conformance/util.h"

#define ROUND_BYTES ((size_t)64 << 20)
#define ROUNDS 4
#define MAX_BLOCKS 1024      /* ROUND_BYTES in the smallest blocks, 64 KiB */
#define REL_ALIGN 4096

/* 64 KiB .. 1 MiB, off the page boundary so size classes, not pages, decide. */
static size_t block_size(unsigned i)
{
    return ((size_t)64 << 10 << (i % 5)) + (i % 7) * 48;
}

static void *take(const alloc_t *a, bool aligned, size_t size)
{
    return aligned ? a->aligned_alloc(a->ctx, REL_ALIGN, size) : a->malloc(a->ctx, size);
}

static void give_back(const alloc_t *a, bool aligned, void *p, size_t size)
{
    if (aligned)
        a->free_aligned_sized(a->ctx, p, REL_ALIGN, size);
    else
        a->free_sized(a->ctx, p, size);
}

/* One round: ROUND_BYTES live, every page touched, then all freed. Returns the resident size
 * while all was live, 0 after recording a failure. */
static size_t one_round(check_ctx_t *c, bool aligned, void **blk, size_t *sz)
{
    size_t n = 0, total = 0, page = ck_page_size(), peak;

    while (total < ROUND_BYTES && n < MAX_BLOCKS) {
        sz[n] = ck_sweep_size(aligned ? AF_ALIGNED_ALLOC : AF_MALLOC, REL_ALIGN, block_size(n));
        blk[n] = take(c->a, aligned, sz[n]);
        if (blk[n] == NULL) {
            check_fail(c, "allocating %zu bytes failed with %zu MiB live", sz[n], total >> 20);
            break;
        }
        for (size_t off = 0; off < sz[n]; off += page)
            ((volatile char *)blk[n])[off] = 1;
        total += sz[n++];
    }
    peak = ck_rss_size();
    for (size_t i = 0; i < n; i++)
        give_back(c->a, aligned, blk[i], sz[i]);
    return total < ROUND_BYTES ? 0 : peak;
}

static void release_rounds(check_ctx_t *c, bool aligned)
{
    void **blk = ck_map(MAX_BLOCKS * sizeof *blk);
    size_t *sz = ck_map(MAX_BLOCKS * sizeof *sz), first = 0, peak = 0;
    const char *fn = aligned ? "free_aligned_sized" : "free_sized";

    require_true(c, blk && sz, "harness mmap failed");
    for (int r = 0; r < ROUNDS && (peak = one_round(c, aligned, blk, sz)) != 0; r++) {
        first = r == 0 ? peak : first;
        expect_true(c, peak <= first + ROUND_BYTES / 2,
                    "with %zu MiB live, resident memory grew from %zu MiB in round 1 to %zu MiB "
                    "in round %d: %s does not release", ROUND_BYTES >> 20, first >> 20,
                    peak >> 20, r + 1, fn);
    }
    if (first == 0 && c->verdict == VERDICT_PASS)
        check_skip(c, "resident size unknown (/proc/self/statm)");
    ck_unmap(blk, MAX_BLOCKS * sizeof *blk);
    ck_unmap(sz, MAX_BLOCKS * sizeof *sz);
}

static void run_free_sized_releases(check_ctx_t *c) { release_rounds(c, false); }
static void run_free_aligned_sized_releases(check_ctx_t *c) { release_rounds(c, true); }

#define PROBES 8

/* After a mismatched free: blocks of both sizes taken together must not overlap. */
static void probe_heap(check_ctx_t *c, size_t s1, size_t s2, const char *what)
{
    void *p[2 * PROBES];
    size_t sz[2 * PROBES];
    bool torn = false;

    for (unsigned i = 0; i < 2 * PROBES; i++) {
        sz[i] = i % 2 ? s2 : s1;
        p[i] = c->a->malloc(c->a->ctx, sz[i]);
        if (p[i])
            ck_fill(p[i], sz[i], 500 + i);
    }
    for (unsigned i = 0; i < 2 * PROBES; i++) {
        torn |= p[i] && ck_verify(p[i], sz[i], 500 + i) >= 0;
        c->a->free(c->a->ctx, p[i]);
    }
    check_behaviour(c, "%s: %s", what, torn ? "accepted, later blocks overlap (heap corrupted)"
                                             : "accepted silently, later blocks intact");
}

static const size_t ub_sizes[] = { 100, 5000, 300000 };

/* Freed with four times its size plus a page: across every size class. */
static void run_free_sized_wrong_size(check_ctx_t *c)
{
    for (size_t i = 0; i < sizeof ub_sizes / sizeof ub_sizes[0]; i++) {
        void *p = c->a->malloc(c->a->ctx, ub_sizes[i]);

        require_true(c, p != NULL, "malloc(%zu) failed", ub_sizes[i]);
        ck_fill(p, ub_sizes[i], 7);
        c->a->free_sized(c->a->ctx, p, ub_sizes[i] * 4 + 4096);
    }
    probe_heap(c, 100, 100 * 4 + 4096, "free_sized with a wrong size");
}

/* The alignment claimed is the smallest power of two the block does not have. */
static void run_free_aligned_sized_wrong_align(check_ctx_t *c)
{
    void *p = c->a->aligned_alloc(c->a->ctx, 64, 256);
    size_t al = 128;

    require_true(c, p != NULL, "aligned_alloc(64, 256) failed");
    while (ck_aligned(p, al))
        al <<= 1;
    c->a->free_aligned_sized(c->a->ctx, p, al, 256);
    probe_heap(c, 256, 512, "free_aligned_sized with a wrong alignment");
}

#define FS_NEEDS (AF_BIT(AF_FREE_SIZED) | AF_BIT(AF_MALLOC) | AF_BIT(AF_FREE))
#define FAS_NEEDS (AF_BIT(AF_FREE_ALIGNED_SIZED) | AF_BIT(AF_ALIGNED_ALLOC) | \
                   AF_BIT(AF_MALLOC) | AF_BIT(AF_FREE))
const check_t check_free_sized_releases = {
    "free-sized-releases", "free_sized", "C23 7.24.3.4p2",
    "free_sized releases: 4 rounds of 64 MiB in 64 KiB..1 MiB blocks keep the resident peak",
    FS_NEEDS, CHECK_SLOW, run_free_sized_releases };
const check_t check_free_aligned_sized_releases = {
    "free-aligned-sized-releases", "free_aligned_sized", "C23 7.24.3.5p2",
    "free_aligned_sized releases: 4 rounds of 64 MiB of aligned_alloc blocks keep the peak",
    FAS_NEEDS, CHECK_SLOW, run_free_aligned_sized_releases };
const check_t check_free_sized_wrong_size = {
    "free-sized-wrong-size", "free_sized", "C23 7.24.3.4p2",
    "what free_sized does with a wrong size (undefined: abort, ignore or corrupt)",
    FS_NEEDS, CHECK_UB, run_free_sized_wrong_size };
const check_t check_free_aligned_sized_wrong_align = {
    "free-aligned-sized-wrong-align", "free_aligned_sized", "C23 7.24.3.5p2",
    "what free_aligned_sized does with a wrong alignment (undefined: abort, ignore or corrupt)",
    FAS_NEEDS, CHECK_UB, run_free_aligned_sized_wrong_align };
