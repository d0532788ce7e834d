/* Unit tests of the executor and its oracles: clean runs against glibc (with threads, at every
 * check level) give no finding, and small deliberately broken allocators built here trip each
 * oracle with its name at the right op. Each case runs in a forked child (tests/tap.h); output is
 * TAP. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/exec/exec.h"
#include "src/exec/shadow.h"
#include "tests/tap.h"

#define OP(k, s, ...) { .kind = (k), .slot = (s), __VA_ARGS__ }
#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- glibc adapters ---- */

static void *g_malloc(void *c, size_t n) { return malloc(n); }
static void *g_calloc(void *c, size_t m, size_t n) { return calloc(m, n); }
static void *g_realloc(void *c, void *p, size_t n) { return realloc(p, n); }
static void *g_reallocarray(void *c, void *p, size_t m, size_t n)
{
    return reallocarray(p, m, n);
}
static void g_free(void *c, void *p) { free(p); }
/* Through pointers: glibc declares these alloc_align, and UBSan rejects the invalid
 * alignments the random traces pass on purpose. */
static void *(*volatile aligned_alloc_fn)(size_t, size_t) = aligned_alloc;
static void *(*volatile memalign_fn)(size_t, size_t) = memalign;
/* C17's aligned_alloc (DR 460) over whatever the process allocator is: glibc before 2.38
 * accepts alignments that are not powers of two, which must fail, and ASan's refuses a size
 * that is not a multiple of the alignment (C11's rule), which must succeed. Both are bugs the
 * conformance suite reports; the clean runs test the executor, not them. */
static void *g_aligned_alloc(void *c, size_t a, size_t n)
{
    if (a & (a - 1) || !a) {
        errno = EINVAL;
        return NULL;
    }
    size_t whole = n % a ? n + (a - n % a) : n;
    return aligned_alloc_fn(a, whole < n ? n : whole);
}
static int g_posix_memalign(void *c, void **m, size_t a, size_t n)
{
    return posix_memalign(m, a, n);
}
static void *g_memalign(void *c, size_t a, size_t n) { return memalign_fn(a, n); }
static void *g_valloc(void *c, size_t n) { return valloc(n); }
static void *g_pvalloc(void *c, size_t n) { return pvalloc(n); }
static size_t g_usable(void *c, void *p) { return malloc_usable_size(p); }
static void g_free_sized(void *c, void *p, size_t n) { free(p); }
static void g_free_aligned_sized(void *c, void *p, size_t a, size_t n) { free(p); }

static alloc_t glibc_alloc(void)
{
    alloc_t a;
    memset(&a, 0, sizeof a);
    snprintf(a.name, sizeof a.name, "glibc");
    a.malloc = g_malloc, a.calloc = g_calloc, a.realloc = g_realloc;
    a.reallocarray = g_reallocarray, a.free = g_free, a.aligned_alloc = g_aligned_alloc;
    a.posix_memalign = g_posix_memalign, a.memalign = g_memalign, a.valloc = g_valloc;
    a.pvalloc = g_pvalloc, a.malloc_usable_size = g_usable, a.usable_size = g_usable;
    a.free_sized = g_free_sized, a.free_aligned_sized = g_free_aligned_sized;
    return a;
}

/* ---- a bump arena for broken allocators: deterministic, adjacent blocks ---- */

static uint8_t *arena;
static size_t arena_used, arena_cap = 1 << 20, bump_header = 16;
static unsigned bump_calls;

static void *bump(size_t n)
{
    if (!arena)
        arena = mmap(NULL, arena_cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    size_t need = bump_header + ((n + 15) & ~(size_t)15);
    if (n > arena_cap || arena_used + need > arena_cap) {
        errno = ENOMEM;
        return NULL;
    }
    uint8_t *p = arena + arena_used + bump_header;
    memcpy(p - 8, &n, 8);
    arena_used += need;
    return p;
}

static size_t bump_size(void *p) { size_t n; memcpy(&n, (uint8_t *)p - 8, 8); return n; }
static void *b_malloc(void *c, size_t n) { return bump(n); }
static void b_free(void *c, void *p) { }
static size_t b_usable(void *c, void *p) { return bump_size(p); }

static void *dup_malloc(void *c, size_t n)
{
    static void *last;
    void *p = (bump_calls++ % 2 && last) ? last : bump(n);
    return last = p;
}

static void *nozero_calloc(void *c, size_t m, size_t n)
{
    uint8_t *p = bump(m * n);
    if (p && m * n != 0)
        p[m * n / 2] = 1;
    return p;
}

static void *short_realloc(void *c, void *p, size_t n)
{
    void *q = bump(n);
    if (q && p) {
        size_t old = bump_size(p);
        memcpy(q, p, (old < n ? old : n) / 2);
    }
    return q;
}

static void *scribbling_realloc(void *c, void *p, size_t n)
{
    if (n > PTRDIFF_MAX) {
        if (p)
            ((uint8_t *)p)[0] ^= 0xff;
        errno = ENOMEM;
        return NULL;
    }
    return short_realloc(c, p, n);
}

static size_t small_usable(void *c, void *p) { return bump_size(p) / 2; }
static size_t big_usable(void *c, void *p) { return bump_size(p) + 64; }

static void neighbour_free(void *c, void *p)
{
    uint8_t *next = (uint8_t *)p + ((bump_size(p) + 15) & ~(size_t)15) + bump_header;
    next[3] ^= 0x40;
}

static void *noerrno_malloc(void *c, size_t n)
{
    return n > PTRDIFF_MAX ? NULL : bump(n);
}

static void errno_free(void *c, void *p) { errno = EINVAL; }

static void *greedy_malloc(void *c, size_t n) { return bump(n % 4096); }

static void *overflow_calloc(void *c, size_t m, size_t n) { return bump(m * n); }

static void *page_aligned_alloc(void *c, size_t a, size_t n) { return bump(n); }

static int lenient_posix_memalign(void *c, void **m, size_t a, size_t n)
{
    *m = bump(n);
    return 0;
}

/* free_sized and free_aligned_sized must get the block's requested size and alignment. */
static unsigned sized_calls, sized_bad;

static void check_sized(void *c, void *p, size_t n)
{
    sized_calls++;
    sized_bad += n != bump_size(p);
}

static void check_aligned_sized(void *c, void *p, size_t a, size_t n)
{
    sized_calls++;
    sized_bad += n != bump_size(p) || a != 64;
}

static void *aligned_bump(void *c, size_t a, size_t n)
{
    uint8_t *p = bump(n + 64);
    if (!p)
        return NULL;
    uint8_t *q = (uint8_t *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
    if (q - p < 16)
        q += 64;
    memcpy(q - 8, &n, 8);
    return q;
}

static const trace_t *current_trace;
static void *harness_malloc(void *c, size_t n) { return current_trace->ops; }

/* After `shift_before` ordinary blocks, the next malloc is "the first block" and the one after
 * returns the first plus `shift_delta`: an overlap or an adjacency. */
static long shift_delta;
static unsigned shift_before, shift_calls;
static uint8_t *shift_first;

static void *shift_malloc(void *c, size_t n)
{
    unsigned call = shift_calls++;
    if (call < shift_before)
        return bump(n);
    if (call == shift_before) {
        bump(1 << 17);          /* room before the first block for negative deltas */
        return shift_first = bump(n);
    }
    return shift_first + shift_delta;
}

static alloc_t bump_alloc(void)
{
    alloc_t a;
    memset(&a, 0, sizeof a);
    a.malloc = b_malloc, a.free = b_free, a.usable_size = b_usable;
    return a;
}

/* ---- running ---- */

static int run(const alloc_t *a, const exec_opts_t *o, op_t *ops, size_t n, finding_t *f)
{
    trace_t t = { .ops = ops, .len = n, .cap = n };
    exec_opts_t def;
    exec_opts_default(&def);
    exec_t *e = exec_new(a, o ? o : &def);
    if (!e)
        return -errno;
    current_trace = &t;
    volatile size_t progress = SIZE_MAX;
    memset(f, 0, sizeof *f);
    int r = exec_run(e, &t, f, &progress);
    exec_free(e);
    return r;
}

static check_level_t expect_level = CHECK_LEVEL_FULL;

/* Expects exactly one finding of `oracle` at op `at` (at expect_level). */
static int expect(const alloc_t *a, op_t *ops, size_t n, const char *oracle, size_t at)
{
    finding_t f;
    exec_opts_t o;
    exec_opts_default(&o);
    o.check = expect_level;
    int r = run(a, &o, ops, n, &f);
    printf("# result %d: %s at op %zu: %s\n", r, f.oracle, f.op_index, f.message);
    if (r != 1 || strcmp(f.oracle, oracle) || f.op_index != at) {
        printf("# expected %s at op %zu\n", oracle, at);
        return 1;
    }
    return 0;
}

/* ---- the cases ---- */

static int t_misaligned(void)
{
    alloc_t a = bump_alloc();
    bump_header = 8;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 24), OP(OP_MALLOC, 1, .size = 40) };
    return expect(&a, ops, LEN(ops), ORACLE_ALIGNMENT, 0);
}

static int t_aligned_misaligned(void)
{
    alloc_t a = bump_alloc();
    a.aligned_alloc = page_aligned_alloc;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 24),
                   OP(OP_ALIGNED_ALLOC, 1, .align = 4096, .size = 4096) };
    return expect(&a, ops, LEN(ops), ORACLE_ALIGNMENT, 1);
}

static int t_duplicate(void)
{
    alloc_t a = bump_alloc();
    a.malloc = dup_malloc;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 24), OP(OP_MALLOC, 1, .size = 24) };
    return expect(&a, ops, LEN(ops), ORACLE_OVERLAP, 1);
}

/* Small and large blocks sit in different indexes: every pairing is caught, and adjacent
 * blocks are not an overlap. With `crowd` small blocks live elsewhere, the checks probe the
 * granule hash instead of scanning the few small blocks. */
static int overlap_table(unsigned crowd)
{
    static const struct { uint64_t first, second; long delta; bool overlap; } rows[] = {
        { 100, 100, 99, true }, { 100, 100, 100, false }, { 100, 100, -100, false },
        { 100, 100, -99, true }, { 20000, 64, 8192, true }, { 20000, 64, 20000, false },
        { 64, 20000, -32, true }, { 64, 20000, -20000, false }, { 64, 100000, -32, true },
        { 20000, 20000, 19999, true }, { 20000, 20000, -19999, true },
        { 20000, 20000, -20000, false }, { 0, 0, 0, true }, { 0, 8, 1, false },
    };
    exec_opts_t o;
    exec_opts_default(&o);
    o.malloc_align = 1;             /* adjacency at odd offsets is not the question here */
    int bad = 0;
    for (size_t i = 0; i < LEN(rows); i++) {
        alloc_t a = bump_alloc();
        a.malloc = shift_malloc;
        shift_first = NULL;
        shift_delta = rows[i].delta;
        shift_before = crowd;
        shift_calls = 0;
        arena_used = 0;                 /* bump's free is a no-op: start each row afresh */
        static op_t ops[OPS_SLOTS];
        for (unsigned k = 0; k < crowd; k++)
            ops[k] = (op_t)OP(OP_MALLOC, 2 + k, .size = 16);
        ops[crowd] = (op_t)OP(OP_MALLOC, 0, .size = rows[i].first);
        ops[crowd + 1] = (op_t)OP(OP_MALLOC, 1, .size = rows[i].second);
        finding_t f;
        int r = run(&a, &o, ops, crowd + 2, &f);
        bool hit = r == 1 && !strcmp(f.oracle, ORACLE_OVERLAP) && f.op_index == crowd + 1;
        if (hit != rows[i].overlap || (r && !hit)) {
            printf("# row %zu: result %d %s: %s\n", i, r, f.oracle, f.message);
            bad = 1;
        }
    }
    return bad;
}

static int t_overlap_table(void) { return overlap_table(0); }
static int t_overlap_crowd(void) { return overlap_table(900); }

/* A usable-size query that grows a small block past the hash granule moves it to the
 * sorted index, where it must still be found. */
static int t_usable_reindex(void)
{
    alloc_t a = bump_alloc();
    a.malloc = shift_malloc;
    a.usable_size = big_usable;     /* 64 bytes more than requested */
    shift_delta = 560;              /* past the 500 requested, inside the 564 usable */
    shift_before = 0;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 500), OP(OP_USABLE, 0),
                   OP(OP_MALLOC, 1, .size = 8) };
    return expect(&a, ops, LEN(ops), ORACLE_OVERLAP, 2);
}

static int t_harness_overlap(void)
{
    alloc_t a = bump_alloc();
    a.malloc = harness_malloc;
    op_t ops[] = { OP(OP_CHECK, 0), OP(OP_MALLOC, 0, .size = 16) };
    return expect(&a, ops, LEN(ops), ORACLE_OVERLAP, 1);
}

static int t_calloc_zero(void)
{
    alloc_t a = bump_alloc();
    a.calloc = nozero_calloc;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 24), OP(OP_CALLOC, 1, .nmemb = 10, .size = 30) };
    return expect(&a, ops, LEN(ops), ORACLE_CALLOC_ZERO, 1);
}

static int t_realloc_contents(void)
{
    alloc_t a = bump_alloc();
    a.realloc = short_realloc;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 100), OP(OP_REALLOC, 0, .size = 300) };
    return expect(&a, ops, LEN(ops), ORACLE_REALLOC_CONTENTS, 1);
}

static int t_usable_small(void)
{
    alloc_t a = bump_alloc();
    a.usable_size = small_usable;
    op_t ops[] = { OP(OP_MALLOC, 3, .size = 100), OP(OP_USABLE, 3) };
    return expect(&a, ops, LEN(ops), ORACLE_USABLE_SIZE, 1);
}

static int t_usable_big(void)
{
    alloc_t a = bump_alloc();
    a.usable_size = big_usable;
    op_t ops[] = { OP(OP_MALLOC, 3, .size = 32), OP(OP_MALLOC, 4, .size = 32), OP(OP_USABLE, 3) };
    return expect(&a, ops, LEN(ops), ORACLE_USABLE_SIZE, 2);
}

static int t_neighbour(void)
{
    alloc_t a = bump_alloc();
    a.free = neighbour_free;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 32), OP(OP_MALLOC, 1, .size = 32),
                   OP(OP_FREE, 0), OP(OP_MALLOC, 2, .size = 8), OP(OP_FREE, 1) };
    return expect(&a, ops, LEN(ops), ORACLE_CONTENTS, 4);
}

static int t_neighbour_check(void)
{
    alloc_t a = bump_alloc();
    a.free = neighbour_free;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 5000), OP(OP_MALLOC, 1, .size = 5000),
                   OP(OP_FREE, 0), OP(OP_CHECK, 0) };
    return expect(&a, ops, LEN(ops), ORACLE_CONTENTS, 3);
}

static int t_free_sized_args(void)
{
    alloc_t a = bump_alloc();
    a.free_sized = check_sized;
    a.free_aligned_sized = check_aligned_sized;
    a.aligned_alloc = aligned_bump;
    a.calloc = overflow_calloc;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 100), OP(OP_CALLOC, 1, .nmemb = 3, .size = 10),
                   OP(OP_ALIGNED_ALLOC, 2, .align = 64, .size = 128), OP(OP_USABLE, 0),
                   OP(OP_MALLOC, 3, .size = 7), OP(OP_FREE_SIZED, 0), OP(OP_FREE_SIZED, 1),
                   OP(OP_FREE_ALIGNED_SIZED, 2), OP(OP_FREE_ALIGNED_SIZED, 3) };
    finding_t f;
    int r = run(&a, NULL, ops, LEN(ops), &f);
    printf("# result %d (%s), %u sized calls, %u with wrong arguments\n", r, f.message,
           sized_calls, sized_bad);
    return r != 0 || sized_calls != 4 || sized_bad != 0;
}

static void *noerrno_memalign(void *c, size_t a, size_t n)
{
    return n > PTRDIFF_MAX ? NULL : bump(n + a);
}

/* One block at the start of a 4 MiB mapping, whose usable size is what `roomy_usable` says. */
static uint8_t *roomy;
static size_t roomy_usable_size;
static void *roomy_malloc(void *c, size_t n)
{
    if (!roomy)
        roomy = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return n <= 4 << 20 ? roomy : NULL;
}
static size_t roomy_usable(void *c, void *p) { return roomy_usable_size; }

/* A usable size far above the request is fine while it is all there (glibc: 1.6 MiB for
 * memalign(2 MiB, 0) in a thread's arena); 128 MiB more than asked is a finding. */
static int t_usable_roomy(void)
{
    alloc_t a = bump_alloc();
    a.malloc = roomy_malloc;
    a.usable_size = roomy_usable;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 0), OP(OP_USABLE, 0) };
    finding_t f;
    roomy_usable_size = 2 << 20;
    int bad = run(&a, NULL, ops, LEN(ops), &f) != 0;
    printf("# usable 2 MiB for malloc(0): %s\n", bad ? f.message : "clean");
    roomy_usable_size = (size_t)128 << 20;
    return bad | expect(&a, ops, LEN(ops), ORACLE_USABLE_SIZE, 1);
}

/* Aligned functions that take any alignment and size and return a 16-aligned block, and an
 * aligned_alloc with C11's rule (the size must be a multiple of the alignment). */
static void *lax_aligned(void *c, size_t a, size_t n) { return bump(n); }
static void *c11_aligned_alloc(void *c, size_t a, size_t n)
{
    if (n % a) {
        errno = EINVAL;
        return NULL;
    }
    return bump(n);
}

/* The rules of the conformance suite: aligned_alloc must refuse an alignment that is not a
 * power of two and accept any size (C17 7.22.3.1, DR 460); memalign with such an alignment
 * may do anything malloc may (no standard has it). */
static int t_aligned_rules(void)
{
    alloc_t a = bump_alloc();
    a.memalign = lax_aligned;
    a.aligned_alloc = lax_aligned;
    op_t lax_memalign[] = { OP(OP_MEMALIGN, 0, .align = 48, .size = 1),
                            OP(OP_MEMALIGN, 1, .align = 24, .size = 100) };
    finding_t f;
    int bad = run(&a, NULL, lax_memalign, LEN(lax_memalign), &f) != 0;
    printf("# memalign(48, 1) and (24, 100) 16-aligned: %s\n", bad ? f.message : "clean");
    op_t nonpow2[] = { OP(OP_MALLOC, 0, .size = 8), OP(OP_ALIGNED_ALLOC, 1, .align = 48,
                                                     .size = 1) };
    bad |= expect(&a, nonpow2, LEN(nonpow2), ORACLE_FAILURE_PATH, 1);
    a.aligned_alloc = c11_aligned_alloc;
    op_t c11[] = { OP(OP_ALIGNED_ALLOC, 0, .align = 16, .size = 32),
                   OP(OP_ALIGNED_ALLOC, 1, .align = 16, .size = 1) };
    bad |= expect(&a, c11, LEN(c11), ORACLE_FAILURE_PATH, 1);
    return bad;
}

static int null_posix_memalign(void *c, void **m, size_t a, size_t n)
{
    *m = NULL;
    return 0;
}

/* posix_memalign(2^63, 0) may succeed with NULL (size 0: POSIX); for 8 bytes it must fail. */
static int t_posix_memalign_null(void)
{
    alloc_t a = bump_alloc();
    a.posix_memalign = null_posix_memalign;
    op_t ops[] = { OP(OP_POSIX_MEMALIGN, 0, .align = (size_t)1 << 63, .size = 0),
                   OP(OP_POSIX_MEMALIGN, 1, .align = (size_t)1 << 63, .size = 8) };
    return expect(&a, ops, LEN(ops), ORACLE_FAILURE_PATH, 1);
}

/* malloc must set errno on failure (POSIX); memalign, valloc and pvalloc need not (no
 * standard has them), so the same failure there is no finding. */
static int t_noerrno(void)
{
    alloc_t a = bump_alloc();
    a.malloc = noerrno_malloc;
    a.memalign = noerrno_memalign;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 8),
                   OP(OP_MEMALIGN, 2, .align = 16, .size = SIZE_MAX - 16),
                   OP(OP_MALLOC, 1, .size = SIZE_MAX - 16) };
    return expect(&a, ops, LEN(ops), ORACLE_ERRNO, 2);
}

static int t_free_errno(void)
{
    alloc_t a = bump_alloc();
    a.free = errno_free;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 8), OP(OP_MALLOC, 1, .size = 8), OP(OP_FREE, 1) };
    return expect(&a, ops, LEN(ops), ORACLE_ERRNO, 2);
}

static int t_must_fail(void)
{
    alloc_t a = bump_alloc();
    a.malloc = greedy_malloc;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 8), OP(OP_MALLOC, 1, .size = SIZE_MAX) };
    return expect(&a, ops, LEN(ops), ORACLE_FAILURE_PATH, 1);
}

/* A block returned for an impossible size is never freed: such a heap keeps a wrong size for
 * it, and a free that hangs or crashes on it would report a timeout instead of the finding. */
static void *impossible_block;
static unsigned impossible_frees;
static void *wrapping_malloc(void *c, size_t n)
{
    void *p = bump(n % 4096);
    if (n > PTRDIFF_MAX)
        impossible_block = p;
    return p;
}
static void counting_free(void *c, void *p) { impossible_frees += p && p == impossible_block; }

static int t_must_fail_not_freed(void)
{
    alloc_t a = bump_alloc();
    a.malloc = wrapping_malloc;
    a.free = counting_free;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 8), OP(OP_MALLOC, 1, .size = SIZE_MAX),
                   OP(OP_MALLOC, 2, .size = 8) };
    int bad = expect(&a, ops, LEN(ops), ORACLE_FAILURE_PATH, 1);
    printf("# the impossible block was freed %u times\n", impossible_frees);
    return bad | (impossible_frees != 0);
}

/* memalign(24, 16) is owed malloc's alignment only, but the message names the 24 asked for. */
static int t_misaligned_names_alignment(void)
{
    alloc_t a = bump_alloc();
    a.memalign = page_aligned_alloc;
    size_t header = bump_header;
    bump_header = 8;
    arena_used = (arena_used + 15) & ~(size_t)15;
    op_t ops[] = { OP(OP_MEMALIGN, 0, .align = 24, .size = 16) };
    finding_t f;
    int r = run(&a, NULL, ops, LEN(ops), &f);
    bump_header = header;
    printf("# result %d: %s: %s\n", r, f.oracle, f.message);
    return r != 1 || strcmp(f.oracle, ORACLE_ALIGNMENT) ||
           !strstr(f.message, "memalign(alignment 24, 16 bytes)");
}

static int t_calloc_overflow(void)
{
    alloc_t a = bump_alloc();
    a.calloc = overflow_calloc;
    op_t ops[] = { OP(OP_CALLOC, 0, .nmemb = (SIZE_MAX >> 1) + 2, .size = 2) };
    return expect(&a, ops, LEN(ops), ORACLE_FAILURE_PATH, 0);
}

static int t_posix_memalign_einval(void)
{
    alloc_t a = bump_alloc();
    a.posix_memalign = lenient_posix_memalign;
    op_t ops[] = { OP(OP_POSIX_MEMALIGN, 0, .align = 16, .size = 8),
                   OP(OP_POSIX_MEMALIGN, 1, .align = 24, .size = 8) };
    return expect(&a, ops, LEN(ops), ORACLE_FAILURE_PATH, 1);
}

static int t_failed_realloc_damage(void)
{
    alloc_t a = bump_alloc();
    a.realloc = scribbling_realloc;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 64), OP(OP_REALLOC, 0, .size = SIZE_MAX - 4096) };
    return expect(&a, ops, LEN(ops), ORACLE_FAILURE_PATH, 1);
}

static int t_reuse(void)
{
    alloc_t a = bump_alloc();
    arena_cap = 64 << 10;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 40000), OP(OP_FREE, 0) };
    return expect(&a, ops, LEN(ops), ORACLE_REUSE, 2);
}

static int t_null_within_budget(void)
{
    alloc_t a = bump_alloc();
    arena_cap = 64 << 10;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 40000), OP(OP_MALLOC, 1, .size = 40000) };
    if (expect(&a, ops, LEN(ops), ORACLE_SPURIOUS_OOM, 1))
        return 1;
    /* The message says how little was live: the live bytes and the largest live block. */
    finding_t f;
    exec_opts_t o;
    exec_opts_default(&o);
    arena_used = 0;
    run(&a, &o, ops, LEN(ops), &f);
    return !strstr(f.message, "(40000 of 268435456 bytes live, the largest live block 40000 "
                   "bytes)");
}

/* ---- declarations (alloc_t flags, max_alignment, heap_size) ---- */

/* Runs ops expecting no finding; says what it got otherwise. */
static int expect_clean(const alloc_t *a, op_t *ops, size_t n, const char *what)
{
    finding_t f;
    int r = run(a, NULL, ops, n, &f);
    printf("# %s: result %d %s %s\n", what, r, f.oracle, f.message);
    return r != 0;
}

/* Serves alignments up to 4096 and refuses larger ones with EINVAL. */
static void *refusing_aligned(void *c, size_t a, size_t n)
{
    if (a > 4096) {
        errno = EINVAL;
        return NULL;
    }
    return aligned_bump(c, a, n);
}

static int t_decl_align_refusal(void)
{
    alloc_t a = bump_alloc();
    a.aligned_alloc = refusing_aligned;
    op_t big[] = { OP(OP_ALIGNED_ALLOC, 0, .align = 128 << 10, .size = 64) };
    op_t mid[] = { OP(OP_ALIGNED_ALLOC, 0, .align = 8192, .size = 64) };
    int bad = expect_clean(&a, big, LEN(big), "128 KiB refused, none declared");
    bad |= expect(&a, mid, LEN(mid), ORACLE_FAILURE_PATH, 0);   /* within 64 KiB */
    a.max_alignment = 4096;
    bad |= expect_clean(&a, mid, LEN(mid), "8 KiB refused above max-align 4096");
    a.max_alignment = 4096 << 2;
    return bad | expect(&a, mid, LEN(mid), ORACLE_FAILURE_PATH, 0);
}

static int t_decl_no_errno(void)
{
    alloc_t a = bump_alloc();
    a.malloc = noerrno_malloc;
    a.free = errno_free;
    a.flags = ALLOCHECK_PLUGIN_NO_ERRNO;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 8), OP(OP_MALLOC, 1, .size = SIZE_MAX - 16),
                   OP(OP_FREE, 0) };
    int bad = expect_clean(&a, ops, LEN(ops), "no-errno declared");
    a.flags = 0;
    return bad | expect(&a, ops, LEN(ops), ORACLE_ERRNO, 1);
}

/* A heap that holds one block at a time. */
static bool one_busy;
static void *one_malloc(void *c, size_t n)
{
    if (one_busy)
        return NULL;
    one_busy = true;
    return bump(n);
}
static void one_free(void *c, void *p) { one_busy = false; }

/* The end-of-run probes go one at a time: the first is freed before the second. */
static int t_decl_reuse_one_at_a_time(void)
{
    alloc_t a = bump_alloc();
    a.malloc = one_malloc, a.free = one_free;
    a.flags = ALLOCHECK_PLUGIN_FIXED_HEAP, a.heap_size = 64 << 10;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 1000), OP(OP_FREE, 0),
                   OP(OP_MALLOC, 0, .size = 100), OP(OP_FREE, 0) };
    return expect_clean(&a, ops, LEN(ops), "two probes, one block at a time");
}

/* On a fixed heap no probe above half of it is made: a 4 KiB heap that cannot serve a block
 * twice (bump) passes; the same with a 64 KiB heap declared is a reuse finding. */
static int t_decl_reuse_half_heap(void)
{
    alloc_t a = bump_alloc();
    arena_cap = 4096;
    a.flags = ALLOCHECK_PLUGIN_FIXED_HEAP, a.heap_size = 4096;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 3000), OP(OP_FREE, 0) };
    int bad = expect_clean(&a, ops, LEN(ops), "3000-byte probe on a 4 KiB heap");
    arena_used = 0;
    a.heap_size = 64 << 10;
    return bad | expect(&a, ops, LEN(ops), ORACLE_REUSE, 2);
}

static int t_decl_delayed_reuse(void)
{
    alloc_t a = bump_alloc();
    arena_cap = 64 << 10;
    a.flags = ALLOCHECK_PLUGIN_DELAYED_REUSE;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 40000), OP(OP_FREE, 0) };
    return expect_clean(&a, ops, LEN(ops), "reuse probe NULL with delayed reuse");
}

static void *null_malloc(void *c, size_t n)
{
    errno = ENOMEM;
    return NULL;
}

/* A fixed heap's NULL is capacity while anything is live or above half the heap; on an empty
 * heap, at most half of it, it is spurious-oom. */
static int t_decl_fixed_heap(void)
{
    alloc_t a = bump_alloc();
    arena_cap = 64 << 10;
    a.flags = ALLOCHECK_PLUGIN_FIXED_HEAP, a.heap_size = 64 << 10;
    op_t full[] = { OP(OP_MALLOC, 0, .size = 40000), OP(OP_MALLOC, 1, .size = 40000) };
    int bad = expect_clean(&a, full, LEN(full), "second 40000 bytes on a 64 KiB heap");
    a.malloc = null_malloc;
    op_t big[] = { OP(OP_MALLOC, 0, .size = 40000) };
    bad |= expect_clean(&a, big, LEN(big), "40000 bytes of an empty 64 KiB heap");
    op_t small[] = { OP(OP_MALLOC, 0, .size = 100) };
    bad |= expect(&a, small, LEN(small), ORACLE_SPURIOUS_OOM, 0);
    a.flags |= ALLOCHECK_PLUGIN_DELAYED_REUSE;
    return bad | expect_clean(&a, small, LEN(small), "100 bytes, fixed heap and quarantine");
}

static int t_finding_on_thread(void)
{
    alloc_t a = bump_alloc();
    a.calloc = nozero_calloc;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 24), OP(OP_THREAD, 3), OP(OP_MALLOC, 1, .size = 8),
                   OP(OP_THREAD, 5), OP(OP_CALLOC, 2, .nmemb = 1, .size = 64) };
    return expect(&a, ops, LEN(ops), ORACLE_CALLOC_ZERO, 4);
}

/* ---- co-location: how many CPUs each malloc's thread may run on ---- */

static int cpus_allowed(void)
{
    cpu_set_t m;
    return sched_getaffinity(0, sizeof m, &m) ? -1 : CPU_COUNT(&m);
}

static int seen_cpus[4], nseen;
static void *cpus_malloc(void *c, size_t n)
{
    if (nseen < 4)
        seen_cpus[nseen++] = cpus_allowed();
    return malloc(n);
}

/* A run with handoffs: malloc on threads 0, 2, 5, then 0 again; seen_cpus gets how many CPUs
 * each malloc's thread was allowed. 0, or -1 when the run itself failed. */
static int colocation_run(bool spread)
{
    alloc_t a = glibc_alloc();
    a.malloc = cpus_malloc;
    exec_opts_t o;
    exec_opts_default(&o);
    o.spread_threads = spread;
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 8), OP(OP_THREAD, 2), OP(OP_MALLOC, 1, .size = 8),
                   OP(OP_THREAD, 5), OP(OP_MALLOC, 2, .size = 8), OP(OP_THREAD, 0),
                   OP(OP_MALLOC, 3, .size = 8) };
    finding_t f;
    nseen = 0;
    int r = run(&a, &o, ops, LEN(ops), &f);
    printf("# spread %d: CPUs allowed at each malloc: %d %d %d %d\n", spread, seen_cpus[0],
           seen_cpus[1], seen_cpus[2], seen_cpus[3]);
    return r == 0 && nseen == 4 ? 0 : -1;
}

/* From a run's first handoff on, all its threads run on one CPU (the first malloc comes before
 * it); thread 0 gets its own mask back when the executor goes (run() frees it); with
 * spread_threads nobody is pinned. Needs two CPUs to tell. */
static int t_colocation(void)
{
    int all = cpus_allowed();
    if (all < 2) {
        printf("# one CPU allowed: nothing to tell\n");
        return 0;
    }
    int bad = colocation_run(false) != 0 || seen_cpus[0] != all || seen_cpus[1] != 1
        || seen_cpus[2] != 1 || seen_cpus[3] != 1;
    int after = cpus_allowed();
    printf("# %d CPUs before the run, %d after\n", all, after);
    bad |= after != all;
    bad |= colocation_run(true) != 0 || seen_cpus[0] != all || seen_cpus[1] != all
        || seen_cpus[2] != all || seen_cpus[3] != all;
    return bad;
}

/* Sampled mode fills and checks only head, tail and power-of-two words, and still catches
 * what lands there: the broken copies, zeroes and neighbours above, sampled. */
static int t_sampled(void)
{
    expect_level = CHECK_LEVEL_SAMPLED;
    int bad = t_realloc_contents() | t_neighbour_check() | t_usable_big() | t_duplicate();
    alloc_t a = bump_alloc();
    a.calloc = nozero_calloc;       /* byte 128 of 256: a sampled word */
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 24), OP(OP_CALLOC, 1, .nmemb = 1, .size = 256) };
    return bad | expect(&a, ops, LEN(ops), ORACLE_CALLOC_ZERO, 1);
}

/* The address index against a naive scan: random blocks of every size class in a small
 * address range (so they collide), random queries, random removals and usable growth. */
static bool naive_overlap(const shadow_t *s, uintptr_t p, size_t len, int except)
{
    uintptr_t e = p + (len ? len : 1);
    for (unsigned q = 0; q < OPS_SLOTS; q++) {
        const shadow_block_t *b = &s->slot[q];
        uintptr_t end = b->ptr + (b->extent ? b->extent : 1);
        if (b->live && (int)q != except && b->ptr < e && end > p)
            return true;
    }
    return false;
}

static uint64_t srng = 99;

/* shadow_next_live walks exactly the live slots, in slot order. */
static bool live_walk_ok(const shadow_t *s)
{
    int at = shadow_next_live(s, 0);
    for (unsigned q = 0; q < OPS_SLOTS; q++) {
        if (!s->slot[q].live)
            continue;
        if (at != (int)q)
            return false;
        at = shadow_next_live(s, q + 1);
    }
    return at == -1;
}

static uint64_t snext(void)
{
    srng ^= srng << 13, srng ^= srng >> 7, srng ^= srng << 17;
    return srng;
}

static size_t shadow_len(void)
{
    static const size_t scale[] = { 16, 600, 5000, 70000, 1 << 20 };
    return snext() % scale[snext() % LEN(scale)];
}

static int t_shadow_index(void)
{
    shadow_t *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
    const uintptr_t base = (uintptr_t)1 << 40;
    unsigned mismatches = 0, overlaps = 0;
    for (int round = 0; round < 2; round++) {
        shadow_reset(s, true);
        for (int i = 0; i < 30000; i++) {
            if (i % 1000 == 0 && !live_walk_ok(s))
                mismatches++;
            uintptr_t p = base + snext() % (64u << 20);
            size_t len = shadow_len();
            unsigned slot = snext() % OPS_SLOTS;
            int except = snext() % 4 ? -1 : (int)slot;
            int got = shadow_overlap(s, p, len, except);
            bool want = naive_overlap(s, p, len, except);
            overlaps += want;
            if ((got >= 0) != want || (got >= 0 && (got == except || !s->slot[got].live)))
                mismatches++;
            if (s->slot[slot].live && snext() % 2) {
                shadow_remove(s, slot);
            } else if (!want && !s->slot[slot].live) {
                shadow_block_t b = { .ptr = p, .size = len, .extent = len };
                shadow_insert(s, slot, &b);
            } else if (s->slot[slot].live && snext() % 4 == 0) {
                shadow_block_t *b = &s->slot[slot];
                size_t grown = b->extent + snext() % 1024;
                if (!naive_overlap(s, b->ptr, grown, (int)slot))
                    shadow_set_extent(s, slot, grown);
            }
        }
    }
    printf("# %u overlapping queries, %u mismatches\n", overlaps, mismatches);
    munmap(s, sizeof *s);
    return mismatches != 0 || overlaps == 0;
}

/* ---- a long random trace against glibc ---- */

static uint64_t rng = 0x1234567;

static uint64_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static uint64_t random_size(void)
{
    static const uint64_t edges[] = { 0, 1, 15, 16, 17, 4095, 4096, 4097, 131072, 200000,
                                      SIZE_MAX, SIZE_MAX - 16, PTRDIFF_MAX,
                                      (size_t)PTRDIFF_MAX + 1 };
    switch (next() % 8) {
    case 0: return edges[next() % LEN(edges)];
    case 1: return next() % 70000;
    default: return next() % 300;
    }
}

static void random_op(op_t *op, bool threads)
{
    static const uint64_t aligns[] = { 0, 1, 8, 16, 24, 64, 4096, 65536, (size_t)1 << 60 };
    memset(op, 0, sizeof *op);
    op->kind = next() % OP_COUNT;
    op->slot = next() % 64;
    if ((op->kind == OP_THREAD && !threads) || op->kind == OP_FORK)
        op->kind = OP_CHECK;   /* a fork costs milliseconds: t_fork_* test it */
    if (op->kind == OP_THREAD)
        op->slot = next() % OPS_THREADS;
    op->size = random_size();
    op->align = aligns[next() % LEN(aligns)];
    op->nmemb = next() % 4 ? next() % 9 : random_size();
    if (op->kind >= OP_FREE && op->kind <= OP_FREE_ALIGNED_SIZED && next() % 2)
        op->kind = OP_FREE;
}

static int clean_run(check_level_t level, bool threads, int runs, size_t full_max)
{
    static op_t ops[4000];
    alloc_t a = glibc_alloc();
    exec_opts_t o;
    exec_opts_default(&o);
    o.check = level;
    o.max_live = 8 << 20;   /* calloc products reach 256 MiB: keep the test seconds long */
    o.full_check_max = full_max;
    exec_t *e = exec_new(&a, &o);
    int bad = 0;
    for (int r = 0; r < runs && !bad; r++) {
        for (size_t i = 0; i < LEN(ops); i++)
            random_op(&ops[i], threads);
        trace_t t = { .ops = ops, .len = LEN(ops), .cap = LEN(ops) };
        finding_t f;
        volatile size_t progress = 0;
        int res = exec_run(e, &t, &f, &progress);
        exec_stats_t s;
        exec_get_stats(e, &s);
        printf("# run %d: result %d, %llu ops, %llu skipped, %zu live\n", r, res,
               (unsigned long long)s.ops, (unsigned long long)s.skipped, s.live_blocks);
        if (res)
            printf("# %s at op %zu: %s\n", f.oracle, f.op_index, f.message);
        bad = res != 0 || s.live_blocks != 0 || progress != LEN(ops) - 1;
    }
    exec_free(e);
    return bad;
}

static int t_clean_full(void) { return clean_run(CHECK_LEVEL_FULL, false, 3, 0); }
static int t_clean_threads(void) { return clean_run(CHECK_LEVEL_FULL, true, 4, 0); }
static int t_clean_sampled(void) { return clean_run(CHECK_LEVEL_SAMPLED, true, 2, 0); }
static int t_clean_none(void) { return clean_run(CHECK_LEVEL_NONE, true, 2, 0); }
/* Blocks cross the limit both ways (realloc, usable): a block's fill and checks must agree. */
static int t_clean_full_max(void) { return clean_run(CHECK_LEVEL_FULL, true, 4, 200); }

/* Above full_check_max a block gets the sampled check: a broken copy at a sampled offset is
 * still found, and one below the limit is found wherever it lands. */
static int t_full_max(void)
{
    alloc_t a = bump_alloc();
    a.realloc = short_realloc;
    exec_opts_t o;
    exec_opts_default(&o);
    o.full_check_max = 64;
    finding_t f;
    op_t big[] = { OP(OP_MALLOC, 0, .size = 1000), OP(OP_REALLOC, 0, .size = 3000) };
    op_t small[] = { OP(OP_MALLOC, 0, .size = 40), OP(OP_REALLOC, 0, .size = 60) };
    int bad = 0;
    for (int i = 0; i < 2; i++) {
        int r = run(&a, &o, i ? small : big, 2, &f);
        printf("# result %d: %s at op %zu: %s\n", r, f.oracle, f.op_index, f.message);
        bad |= r != 1 || strcmp(f.oracle, ORACLE_REALLOC_CONTENTS) || f.op_index != 1;
    }
    return bad;
}

/* ---- fork ---- */

/* True when this process has no child left (the executor reaped or killed every one). */
static bool no_children(void)
{
    return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

static int t_fork_clean(void)
{
#ifdef ALLOCHECK_SANITIZED
    return TAP_SKIP;   /* "glibc" is the sanitizer's allocator, whose hammers and children differ */
#endif
    alloc_t a = glibc_alloc();
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 100), OP(OP_CALLOC, 1, .nmemb = 3, .size = 40),
                   OP(OP_ALIGNED_ALLOC, 2, .align = 256, .size = 1000),
                   OP(OP_MALLOC, 3, .size = 300000), OP(OP_FORK, 0), OP(OP_FORK, 3),
                   OP(OP_FREE, 1), OP(OP_FORK, 1), OP(OP_CHECK, 0) };
    return expect_clean(&a, ops, LEN(ops), "forks of glibc, quiet and busy") || !no_children();
}

/* glibc behind one global lock and no pthread_atfork handler: a child forked while a hammer
 * holds it waits for it forever. */
static pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER;
static void *locked_malloc(void *c, size_t n)
{
    pthread_mutex_lock(&big_lock);
    void *p = malloc(n);
    pthread_mutex_unlock(&big_lock);
    return p;
}
static void locked_free(void *c, void *p)
{
    pthread_mutex_lock(&big_lock);
    free(p);
    pthread_mutex_unlock(&big_lock);
}

static int t_fork_deadlock(void)
{
    alloc_t a = { .malloc = locked_malloc, .free = locked_free };
    exec_opts_t o;
    exec_opts_default(&o);
    o.fork_wait_ms = 300;
    /* Each busy fork tries 8 times; three of them miss the lock with odds below 1e-6. */
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 100), OP(OP_FORK, 2), OP(OP_FORK, 2),
                   OP(OP_FORK, 2) };
    finding_t f;
    int r = run(&a, &o, ops, LEN(ops), &f);
    printf("# result %d: %s at op %zu: %s\n", r, f.oracle, f.op_index, f.message);
    return r != 1 || strcmp(f.oracle, ORACLE_TIMEOUT) || f.op_index < 1
        || !strstr(f.message, "did not finish within 300 ms") || !no_children();
}

/* A quiet fork of the same allocator is fine: nobody held the lock. */
static int t_fork_quiet(void)
{
    alloc_t a = { .malloc = locked_malloc, .free = locked_free };
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 100), OP(OP_FORK, 0), OP(OP_FORK, 0) };
    return expect_clean(&a, ops, LEN(ops), "quiet forks of a lock without atfork");
}

static pid_t first_pid;
static void *child_crash_calloc(void *c, size_t m, size_t n)
{
    if (getpid() != first_pid)
        raise(SIGSEGV);
    return calloc(m, n);
}

static int t_fork_child_crash(void)
{
    alloc_t a = glibc_alloc();
    a.calloc = child_crash_calloc;
    first_pid = getpid();
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 100), OP(OP_CALLOC, 1, .nmemb = 2, .size = 8),
                   OP(OP_FORK, 0), OP(OP_CHECK, 0) };
    if (expect(&a, ops, LEN(ops), ORACLE_CRASH, 2))
        return 1;
    finding_t f;
    run(&a, NULL, ops, LEN(ops), &f);
    return !strstr(f.message, "the child of fork was killed by SIGSEGV") || !no_children();
}

/* A bump heap that does not zero calloc, only in a fork child: the child's verdict comes back
 * as the fork op's finding, its message named. */
static void *child_dirty_calloc(void *c, size_t m, size_t n)
{
    void *p = calloc(m, n);
    if (p && getpid() != first_pid)
        memset(p, 0xa5, m * n);
    return p;
}

static int t_fork_child_finding(void)
{
    alloc_t a = glibc_alloc();
    a.calloc = child_dirty_calloc;
    first_pid = getpid();
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 100), OP(OP_FORK, 0), OP(OP_CHECK, 0) };
    if (expect(&a, ops, LEN(ops), ORACLE_CALLOC_ZERO, 1))
        return 1;
    finding_t f;
    run(&a, NULL, ops, LEN(ops), &f);
    return strncmp(f.message, "in the child of fork: calloc block of 100 bytes", 47) != 0;
}

/* ---- valid sizes that cannot be met ---- */

/* What allocheck's children run under: RLIMIT_AS of VmSize + 1 TiB. */
static void limit_as(void)
{
    struct rlimit rl = { (rlim_t)1 << 41, (rlim_t)1 << 41 };
    setrlimit(RLIMIT_AS, &rl);
}

static int t_unmeetable_clean(void)
{
#ifdef ALLOCHECK_SANITIZED
    return TAP_SKIP;   /* "glibc" is the sanitizer's allocator, which fails under an RLIMIT_AS */
#endif
    alloc_t a = glibc_alloc();
    limit_as();
    op_t ops[] = {
        OP(OP_MALLOC, 0, .size = 1ull << 45), OP(OP_CALLOC, 0, .nmemb = 2, .size = 1ull << 50),
        OP(OP_ALIGNED_ALLOC, 0, .align = 64, .size = 1ull << 46),
        OP(OP_POSIX_MEMALIGN, 0, .align = 4096, .size = 1ull << 55),
        OP(OP_MEMALIGN, 0, .align = 64, .size = 1ull << 60),
        OP(OP_VALLOC, 0, .size = 1ull << 47), OP(OP_PVALLOC, 0, .size = 1ull << 62),
        OP(OP_MALLOC, 1, .size = 100), OP(OP_REALLOC, 1, .size = 1ull << 45),
        OP(OP_USABLE, 1), OP(OP_REALLOCARRAY, 1, .nmemb = 1024, .size = 1ull << 50),
        OP(OP_CHECK, 0) };
    return expect_clean(&a, ops, LEN(ops), "glibc: sizes 2^45..2^62 fail, blocks kept");
}

/* Refuses sizes past PTRDIFF_MAX up front, but frees the block when it cannot map a valid
 * size (here: anything from 2^44 up). */
static void *oom_frees_realloc(void *c, void *p, size_t n)
{
    if (n > PTRDIFF_MAX || n < (1ull << 44))
        return n > PTRDIFF_MAX ? (errno = ENOMEM, NULL) : realloc(p, n);
    free(p);
    errno = ENOMEM;
    return NULL;
}

static int t_unmeetable_realloc_frees(void)
{
#ifdef ALLOCHECK_SANITIZED
    return TAP_SKIP;   /* "glibc" is the sanitizer's allocator, which fails under an RLIMIT_AS */
#endif
    alloc_t a = glibc_alloc();
    a.realloc = oom_frees_realloc;
    limit_as();
    op_t ops[] = { OP(OP_MALLOC, 0, .size = 100), OP(OP_REALLOC, 0, .size = SIZE_MAX - 16),
                   OP(OP_REALLOC, 0, .size = 1ull << 45), OP(OP_CHECK, 0) };
    return expect(&a, ops, LEN(ops), ORACLE_FAILURE_PATH, 2);
}

static const struct tap_case cases[] = {
    { "misaligned", "alignment: malloc returns 8-aligned blocks", t_misaligned },
    { "aligned-misaligned", "alignment: aligned_alloc ignores the alignment",
      t_aligned_misaligned },
    { "duplicate", "overlap: the same block twice", t_duplicate },
    { "overlap-table", "overlap: small and large blocks, overlapping and adjacent",
      t_overlap_table },
    { "overlap-crowd", "overlap: the same among 900 small blocks (hash probes)",
      t_overlap_crowd },
    { "usable-reindex", "overlap: a block grown by usable is still indexed", t_usable_reindex },
    { "shadow-index", "the address index and the live-slot walk agree with a naive scan",
      t_shadow_index },
    { "harness-overlap", "overlap: a block inside the harness's trace", t_harness_overlap },
    { "calloc-zero", "calloc-zero: calloc does not zero", t_calloc_zero },
    { "realloc-contents", "realloc-contents: realloc copies half", t_realloc_contents },
    { "usable-small", "usable-size: smaller than requested", t_usable_small },
    { "usable-big", "usable-size: reaches into the next block", t_usable_big },
    { "usable-roomy", "usable-size: 2 MiB for malloc(0) is fine, 128 MiB is a finding",
      t_usable_roomy },
    { "neighbour-free", "contents: free corrupts the neighbour (seen at its free)", t_neighbour },
    { "neighbour-check", "contents: free corrupts the neighbour (seen at check)",
      t_neighbour_check },
    { "free-sized-args", "free_sized/free_aligned_sized get the requested size and alignment",
      t_free_sized_args },
    { "no-errno", "errno: NULL without errno", t_noerrno },
    { "posix-memalign-null", "posix_memalign: NULL success only for size 0",
      t_posix_memalign_null },
    { "aligned-rules", "aligned_alloc: non-power-of-two must fail, any size goes; memalign: "
      "anything malloc may", t_aligned_rules },
    { "free-errno", "errno: free changes errno", t_free_errno },
    { "must-fail", "failure-path: malloc(SIZE_MAX) succeeds", t_must_fail },
    { "must-fail-not-freed", "failure-path: a block for an impossible size is not freed",
      t_must_fail_not_freed },
    { "misaligned-names-alignment", "alignment: memalign(24, 16) names the 24 asked for",
      t_misaligned_names_alignment },
    { "calloc-overflow", "failure-path: calloc overflow succeeds", t_calloc_overflow },
    { "posix-memalign-einval", "failure-path: posix_memalign accepts alignment 24",
      t_posix_memalign_einval },
    { "failed-realloc", "failure-path: failed realloc damages the old block",
      t_failed_realloc_damage },
    { "null-in-budget", "spurious-oom: NULL within the live budget", t_null_within_budget },
    { "reuse", "reuse: memory not handed out again", t_reuse },
    { "decl-align-refusal", "declared max-align: refusals above it (or 64 KiB) are no "
      "finding, within it they are", t_decl_align_refusal },
    { "decl-no-errno", "declared no-errno: errno is not judged", t_decl_no_errno },
    { "decl-reuse-one-at-a-time", "reuse: the probes are freed one before the next",
      t_decl_reuse_one_at_a_time },
    { "decl-reuse-half-heap", "fixed heap: no reuse probe above half the heap",
      t_decl_reuse_half_heap },
    { "decl-delayed-reuse", "declared delayed-reuse: a probe's NULL is no reuse finding",
      t_decl_delayed_reuse },
    { "decl-fixed-heap", "fixed heap: capacity NULLs are no finding, an empty heap's are",
      t_decl_fixed_heap },
    { "sampled", "sampled mode: realloc, neighbour, usable, duplicate, calloc findings",
      t_sampled },
    { "thread-finding", "a finding on a worker thread", t_finding_on_thread },
    { "colocation", "threads share one CPU during a run; spread_threads opts out",
      t_colocation },
    { "clean-full", "clean: glibc, random ops, full", t_clean_full },
    { "clean-threads", "clean: glibc, random ops with threads, full", t_clean_threads },
    { "clean-sampled", "clean: glibc, random ops with threads, sampled", t_clean_sampled },
    { "clean-none", "clean: glibc, random ops with threads, none", t_clean_none },
    { "clean-full-max", "clean: glibc, random ops with threads, full up to 200 bytes",
      t_clean_full_max },
    { "full-max", "realloc-contents: found above and below full_check_max", t_full_max },
    { "fork-clean", "fork: glibc's children check clean, quiet and busy; none is left",
      t_fork_clean },
    { "fork-deadlock", "timeout: a lock without atfork deadlocks a busy fork's child",
      t_fork_deadlock },
    { "fork-quiet", "fork: a quiet fork of that allocator is clean", t_fork_quiet },
    { "fork-child-crash", "crash: the child of a fork dies in calloc", t_fork_child_crash },
    { "fork-child-finding", "calloc-zero: a finding in the child is the fork op's",
      t_fork_child_finding },
    { "unmeetable-clean", "valid sizes that cannot be met: glibc fails them, keeps blocks",
      t_unmeetable_clean },
    { "unmeetable-realloc-frees", "failure-path: realloc frees the block when 2^45 fails",
      t_unmeetable_realloc_frees },
};

/* With an argument, runs the case of that id; without, all of them (one Meson test). */
int main(int argc, char **argv)
{
    return tap_main(cases, LEN(cases), argc, argv);
}
