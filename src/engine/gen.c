/* The generator's grammar: a sequence is a run of scenarios, each a short burst of ops that
 * drives an allocator into a state where one class of bug shows (see gen.h). Sizes and
 * alignments are drawn with a bias toward the values that break allocators: size-class edges,
 * powers of two +- 1, page and mmap-threshold boundaries, alignment == size, and sizes that
 * must fail (near SIZE_MAX, past PTRDIFF_MAX, overflowing products), sizes that are valid but
 * no machine can meet (2^45..2^62), and now and then a fork while other threads are busy in
 * the allocator. */
#include <errno.h>

#include "src/load/alloc.h"
#include "src/engine/gen.h"
#include "src/trace/trace.h"

#define LONG_SLOT_BASE 960u   /* slots 960..1023 hold long-lived blocks */

typedef struct gen {
    gen_rng_t r;
    gen_rng_t side;           /* decides the extras (forks, unmeetable sizes) between scenarios,
                                 so adding them left the scenarios of every seed as they were */
    trace_t *t;
    const gen_opts_t *o;
    unsigned width;           /* ordinary scenarios use slots 0..width-1 */
    unsigned thread;          /* the thread the next op runs on */
    int err;
} gen_t;

uint64_t gen_next(gen_rng_t *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t gen_below(gen_rng_t *r, uint64_t n)
{
    return n ? gen_next(r) % n : 0;
}

void gen_opts_default(gen_opts_t *o)
{
    o->min_ops = 32;
    o->max_ops = 2048;
    o->threads = 1;
    o->max_size = 4u << 20;
    o->sizes = GEN_SIZES_STRESS;
    o->present = 0;
    o->big_heap = 0;
    o->big_heap_one_in = 0;
}

uint64_t gen_seq_seed(uint64_t seed, uint64_t index)
{
    gen_rng_t r = { seed ^ (index * 0xd1342543de82ef95ull) };
    gen_next(&r);
    return gen_next(&r) ^ index;
}

static unsigned pick(gen_t *g, unsigned n)
{
    return (unsigned)gen_below(&g->r, n);
}

/* A choice among weighted alternatives: weights[i] for alternative i. */
static unsigned pick_weighted(gen_t *g, const unsigned *w, unsigned n)
{
    unsigned total = 0;
    for (unsigned i = 0; i < n; i++)
        total += w[i];
    unsigned x = pick(g, total);
    for (unsigned i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

/* ---- emitting ops, with substitutes for functions the allocator lacks ---- */

static const int8_t op_fn[OP_COUNT] = {
    [OP_MALLOC] = AF_MALLOC, [OP_CALLOC] = AF_CALLOC, [OP_REALLOC] = AF_REALLOC,
    [OP_REALLOCARRAY] = AF_REALLOCARRAY, [OP_ALIGNED_ALLOC] = AF_ALIGNED_ALLOC,
    [OP_POSIX_MEMALIGN] = AF_POSIX_MEMALIGN, [OP_MEMALIGN] = AF_MEMALIGN,
    [OP_VALLOC] = AF_VALLOC, [OP_PVALLOC] = AF_PVALLOC, [OP_FREE] = AF_FREE,
    [OP_FREE_SIZED] = AF_FREE_SIZED, [OP_FREE_ALIGNED_SIZED] = AF_FREE_ALIGNED_SIZED,
    [OP_USABLE] = AF_MALLOC_USABLE_SIZE, [OP_CHECK] = -1, [OP_THREAD] = -1, [OP_FORK] = -1,
};

static bool fn_present(const gen_t *g, unsigned kind)
{
    uint32_t p = g->o->present;
    if (!p || op_fn[kind] < 0)
        return true;
    if (kind == OP_USABLE)
        return (p & (AF_BIT(AF_MALLOC_USABLE_SIZE) | AF_BIT(AF_MALLOC_SIZE))) != 0;
    return (p & AF_BIT(op_fn[kind])) != 0;
}

static void emit(gen_t *g, unsigned kind, unsigned slot, uint64_t nmemb, uint64_t size,
                 uint64_t align)
{
    if (g->err)
        return;
    if (!fn_present(g, kind)) {
        if (kind == OP_USABLE)
            return;
        kind = kind >= OP_FREE ? OP_FREE : OP_MALLOC;
        if (!fn_present(g, kind))
            return;
    }
    op_t op = { .kind = (uint8_t)kind, .slot = (uint16_t)slot, .nmemb = nmemb,
                .size = size, .align = align };
    if (kind == OP_THREAD)
        g->thread = slot;
    g->err = trace_push(g->t, &op);
}

static void emit_alloc(gen_t *g, unsigned slot, uint64_t size)
{
    emit(g, OP_MALLOC, slot, 0, size, 0);
}

static void emit_free(gen_t *g, unsigned slot)
{
    static const unsigned w[] = { 6, 3, 1 };
    static const uint8_t kinds[] = { OP_FREE, OP_FREE_SIZED, OP_FREE_ALIGNED_SIZED };
    emit(g, kinds[pick_weighted(g, w, 3)], slot, 0, 0, 0);
}

/* ---- sizes and alignments ---- */

static const uint32_t class_edges[] = {
    8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640,
    768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192,
    10240, 12288, 14336, 16384, 20480, 24576, 28672, 32768, 40960, 49152, 57344, 65536,
    81920, 98304, 114688, 131072, 163840, 196608, 229376, 262144,
};
#define N_EDGES (sizeof class_edges / sizeof class_edges[0])

static const uint32_t round_sizes[] = {
    10, 24, 40, 100, 200, 250, 500, 1000, 1000, 1500, 2000, 3000, 5000, 10000, 50000,
    100000, 1000000,
};

static const uint64_t huge_sizes[] = {
    UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - 7, UINT64_MAX - 15, UINT64_MAX - 16,
    UINT64_MAX - 4095, UINT64_MAX - 4096, UINT64_MAX - 65536, UINT64_MAX / 2,
    (uint64_t)INT64_MAX + 1, (uint64_t)INT64_MAX + 4096, (uint64_t)INT64_MAX - 4095,
    1ull << 62, 1ull << 48,
};

static int64_t jitter(gen_t *g)
{
    static const int8_t j[] = { -1, 0, 0, 0, 1, 1 };
    return j[pick(g, sizeof j)];
}

/* Mostly small sizes (where allocators keep their size classes and most of their bugs);
 * big blocks are rarer because checking them costs time in proportion to their size. */
static uint64_t size_raw(gen_t *g)
{
    static const unsigned w[] = { 36, 30, 10, 8, 10, 5, 1 };
    switch (pick_weighted(g, w, 7)) {
    case 0: return gen_below(&g->r, 129);
    case 1: return class_edges[pick(g, 1 + pick(g, N_EDGES))] + jitter(g);
    case 2: return (1ull << pick(g, 1 + pick(g, 23))) + jitter(g);
    case 3: return round_sizes[pick(g, sizeof round_sizes / sizeof round_sizes[0])];
    case 4: { unsigned k = pick(g, 1 + pick(g, 21)); return (1ull << k) + gen_below(&g->r, 1ull << k); }
    case 5: return 4096ull * (1 + pick(g, 1 + pick(g, 64))) + jitter(g);
    default: return (128ull << 10) + gen_below(&g->r, 1u << 20) - (64u << 10);
    }
}

/* A size in [lo, hi), log-uniform (uniform exponent, then uniform within the power of two):
 * within a band, smaller sizes are the more common, as in the studies cited below. */
static uint64_t log_uniform(gen_t *g, unsigned lo_bits, unsigned hi_bits)
{
    unsigned k = lo_bits + pick(g, hi_bits - lo_bits);
    return (1ull << k) + gen_below(&g->r, 1ull << k);
}

/* Real programs' requests: most are small, a tail is medium, few are large (Zorn and
 * Grunwald, "Empirical measurements of six allocation-intensive C programs", 1992; Wilson et
 * al., "Dynamic storage allocation: a survey and critical review", IWMM 1995, sec. 3: a few
 * small sizes dominate; Hunter et al., "Beyond malloc efficiency to fleet efficiency", OSDI
 * 2021: in Google's fleet most allocations by count are small, while the bytes are
 * dominated by rare large ones). The bands (request counts): 60% up to 64 bytes, 28% up to
 * 512, 9% up to 4 KiB, 2.8% up to 64 KiB, 0.2% up to 1 MiB; log-uniform within a band. */
static uint64_t size_realistic(gen_t *g)
{
    unsigned r = pick(g, 1000);
    if (r < 600)
        return 1 + gen_below(&g->r, 64);
    if (r < 880)
        return log_uniform(g, 6, 9);
    if (r < 970)
        return log_uniform(g, 9, 12);
    if (r < 998)
        return log_uniform(g, 12, 16);
    return log_uniform(g, 16, 20);
}

static uint64_t gen_size(gen_t *g)
{
    uint64_t s = g->o->sizes == GEN_SIZES_REALISTIC ? size_realistic(g) : size_raw(g);
    return s > g->o->max_size ? s % (g->o->max_size + 1) : s;
}

/* Power-of-two alignments, mostly 8..4096, sometimes up to 2 MiB; rarely invalid ones. */
static uint64_t gen_align(gen_t *g)
{
    static const uint64_t bad[] = { 0, 1, 3, 24, 48, 100, 12288, UINT64_MAX / 2 + 1 };
    unsigned r = pick(g, 100);
    if (r < 4)
        return bad[pick(g, sizeof bad / sizeof bad[0])];
    if (r < 80 || g->o->sizes == GEN_SIZES_REALISTIC)   /* programs align to cache lines, pages */
        return 1ull << (3 + pick(g, 10));
    return 1ull << (3 + pick(g, 19));
}

static unsigned slot(gen_t *g)
{
    return pick(g, g->width);
}

/* ---- scenarios ---- */

static void sc_random(gen_t *g)
{
    static const unsigned w[OP_COUNT] = {
        [OP_MALLOC] = 20, [OP_CALLOC] = 8, [OP_REALLOC] = 12, [OP_REALLOCARRAY] = 3,
        [OP_ALIGNED_ALLOC] = 5, [OP_POSIX_MEMALIGN] = 4, [OP_MEMALIGN] = 3, [OP_VALLOC] = 1,
        [OP_PVALLOC] = 1, [OP_FREE] = 20, [OP_FREE_SIZED] = 6, [OP_FREE_ALIGNED_SIZED] = 3,
        [OP_USABLE] = 6, [OP_CHECK] = 0, [OP_THREAD] = 3,
    };
    unsigned k = pick_weighted(g, w, OP_COUNT);
    if (k == OP_THREAD) {
        if (g->o->threads > 1)
            emit(g, OP_THREAD, pick(g, g->o->threads), 0, 0, 0);
        return;
    }
    uint64_t size = gen_size(g), nmemb = 1;
    if (k == OP_CALLOC || k == OP_REALLOCARRAY) {
        nmemb = 1 + gen_below(&g->r, 16);
        size /= nmemb;
    }
    bool aligned = k == OP_ALIGNED_ALLOC || k == OP_POSIX_MEMALIGN || k == OP_MEMALIGN;
    emit(g, k, slot(g), nmemb, size, aligned ? gen_align(g) : 0);
}

/* Size-class walk: consecutive classes into consecutive slots, then free them. */
static void sc_walk(gen_t *g)
{
    /* Realistic workloads walk the small classes (up to 4 KiB, index 29) only. */
    unsigned starts = g->o->sizes == GEN_SIZES_REALISTIC ? 30 : N_EDGES;
    unsigned n = 4 + pick(g, 28), base = slot(g), first = pick(g, starts);
    int64_t delta = (int64_t)pick(g, 3) - 1;   /* not unsigned: -1 must not wrap to 2^32 - 1 */
    if (g->o->sizes == GEN_SIZES_REALISTIC && n > 12)
        n = 12;
    for (unsigned i = 0; i < n && first + i < N_EDGES; i++)
        emit_alloc(g, (base + i) % g->width, class_edges[first + i] + delta);
    if (pick(g, 4) == 0)
        emit(g, OP_CHECK, 0, 0, 0, 0);
    bool reverse = pick(g, 2);
    for (unsigned i = 0; i < n && first + i < N_EDGES; i++)
        if (pick(g, 4))
            emit_free(g, (base + (reverse ? n - 1 - i : i)) % g->width);
}

/* Fragmentation: a run of equal blocks, every other one freed, then slightly bigger
 * requests that cannot fit the holes. */
static void sc_frag(gen_t *g)
{
    unsigned n = 8 + pick(g, 57), base = slot(g), step = 2 + pick(g, 2);
    uint64_t a = gen_size(g) % 8193, b = a + 1 + gen_below(&g->r, a + 16);
    for (unsigned i = 0; i < n; i++)
        emit_alloc(g, (base + i) % g->width, a);
    for (unsigned i = 0; i < n; i += step)
        emit(g, OP_FREE, (base + i) % g->width, 0, 0, 0);
    for (unsigned i = 0; i < n; i += step)
        emit(g, pick(g, 3) ? OP_MALLOC : OP_CALLOC, (base + i) % g->width, 1, b, 0);
    if (pick(g, 4) == 0)
        emit(g, OP_CHECK, 0, 0, 0, 0);
}

/* A realloc growth chain across size classes, sometimes shrinking, with usable queries. */
static void sc_chain(gen_t *g)
{
    unsigned s = slot(g), n = 4 + pick(g, 16);
    uint64_t size = gen_below(&g->r, 64), ceil = g->o->max_size;
    /* A realistic buffer stops growing near its final size, drawn from the realistic mix. */
    if (g->o->sizes == GEN_SIZES_REALISTIC && 64 + 4 * size_realistic(g) < ceil)
        ceil = 64 + 4 * size_realistic(g);
    emit_alloc(g, s, size);
    for (unsigned i = 0; i < n; i++) {
        if (pick(g, 6) == 0)
            size = size / (2 + pick(g, 4));
        else
            size = size + size * (1 + pick(g, 20)) / 10 + gen_below(&g->r, 32);
        if (size > ceil)
            size = ceil / (1 + pick(g, 8));
        emit(g, pick(g, 8) ? OP_REALLOC : OP_REALLOCARRAY, s, 1, size, 0);
        if (pick(g, 5) == 0)
            emit(g, OP_USABLE, s, 0, 0, 0);
    }
    if (pick(g, 2))
        emit_free(g, s);
}

/* Aligned requests; size == alignment half the time (mimalloc issue 700's shape). */
static void sc_aligned(gen_t *g)
{
    static const unsigned w[] = { 5, 3, 2 };
    static const uint8_t kinds[] = { OP_ALIGNED_ALLOC, OP_POSIX_MEMALIGN, OP_MEMALIGN };
    unsigned n = 1 + pick(g, 8);
    for (unsigned i = 0; i < n; i++) {
        uint64_t align = gen_align(g), size;
        unsigned r = pick(g, 10);
        if (r < 5)
            size = align;
        else if (r < 7)
            size = align * (1 + pick(g, 4));
        else if (r < 9)
            size = gen_below(&g->r, 512);
        else
            size = align + jitter(g);
        if (size > g->o->max_size)
            size = align;
        unsigned s = slot(g);
        emit(g, kinds[pick_weighted(g, w, 3)], s, 0, size, align);
        if (pick(g, 3) == 0)
            emit(g, pick(g, 2) ? OP_FREE_ALIGNED_SIZED : OP_FREE, s, 0, 0, 0);
    }
}

/* calloc of recycled memory: dirty a block, free it, calloc the same total size. */
static void sc_calloc_recycle(gen_t *g)
{
    unsigned s = slot(g), s2 = pick(g, 2) ? s : slot(g);
    uint64_t size = gen_size(g), nmemb = 1;
    emit_alloc(g, s, size);
    if (pick(g, 2))
        emit(g, OP_USABLE, s, 0, 0, 0);
    emit_free(g, s);
    static const uint8_t divs[] = { 1, 1, 2, 4, 8, 3 };
    nmemb = divs[pick(g, sizeof divs)];
    emit(g, OP_CALLOC, s2, nmemb, size / nmemb, 0);
}

/* glibc CVE-2026-0861's shape: an alignment of 2^62 and up (memalign rounds one that is not
 * a power of two up) with a size near PTRDIFF_MAX, SIZE_MAX - alignment or small, where the
 * size plus the alignment plus a header wraps to a few bytes when only the size is bounded.
 * No address space holds such a block: every one must fail. */
static void align_wrap(gen_t *g, unsigned s)
{
    static const uint64_t aligns[] = { 1ull << 62, (1ull << 62) + 1, 3ull << 61,
                                       (1ull << 63) - 1, 1ull << 63, (1ull << 63) + 1,
                                       UINT64_MAX };
    static const uint8_t kinds[] = { OP_ALIGNED_ALLOC, OP_POSIX_MEMALIGN, OP_MEMALIGN };
    uint64_t al = aligns[pick(g, sizeof aligns / sizeof aligns[0])];
    uint64_t d = pick(g, 4) ? pick(g, 65) : 4095 + pick(g, 2), size;
    switch (pick(g, 4)) {
    case 0: size = (uint64_t)PTRDIFF_MAX - d; break;
    case 1: size = (uint64_t)PTRDIFF_MAX - al + d; break;   /* wraps on purpose */
    case 2: size = UINT64_MAX - al + d; break;
    default: size = d; break;
    }
    emit(g, kinds[pick(g, sizeof kinds)], s, 0, size, al);
}

/* Requests that must fail, on empty and on live slots (a failed realloc keeps the block). */
static void sc_huge(gen_t *g)
{
    uint64_t h = huge_sizes[pick(g, sizeof huge_sizes / sizeof huge_sizes[0])];
    unsigned s = slot(g);
    switch (pick(g, 10)) {
    case 8: align_wrap(g, s); break;
    case 0: emit(g, OP_MALLOC, s, 0, h, 0); break;
    case 1: {
        /* nmemb * size wraps to a small product: only an overflow check refuses it. */
        uint64_t size = 1ull << (3 + pick(g, 8));
        emit(g, OP_CALLOC, s, (UINT64_MAX / size) + 1 + pick(g, 4), size, 0);
        break;
    }
    case 2: emit(g, OP_CALLOC, s, 2 + pick(g, 14), h / 2 + 1, 0); break;
    case 3:
        emit_alloc(g, s, gen_size(g));
        emit(g, OP_REALLOC, s, 0, h, 0);
        break;
    case 4:
        emit_alloc(g, s, gen_size(g));
        emit(g, OP_REALLOCARRAY, s, (UINT64_MAX >> (3 + pick(g, 8))) + 2, 1ull << (3 + pick(g, 8)), 0);
        break;
    case 5: emit(g, OP_ALIGNED_ALLOC, s, 0, h, 1ull << (3 + pick(g, 10))); break;
    case 6: emit(g, OP_POSIX_MEMALIGN, s, 0, h, 1ull << (3 + pick(g, 10))); break;
    case 7: emit(g, OP_PVALLOC, s, 0, h, 0); break;
    default: emit(g, OP_VALLOC, s, 0, h, 0); break;
    }
}

/* Valid sizes no machine can meet (2^45..2^62, above any RLIMIT_AS the tool sets and far
 * below PTRDIFF_MAX, so an allocator's size check lets them through to where it maps): every
 * allocating function on an empty slot, realloc and reallocarray on a live block, whose
 * failure must leave the block live (then queried and checked). */
static void sc_unmeetable(gen_t *g)
{
    static const uint8_t kinds[] = { OP_MALLOC, OP_CALLOC, OP_ALIGNED_ALLOC, OP_POSIX_MEMALIGN,
                                     OP_MEMALIGN, OP_VALLOC, OP_PVALLOC };
    uint64_t h = (1ull << (45 + pick(g, 18))) + (uint64_t)(jitter(g) * 4096);
    unsigned s = slot(g), r = pick(g, 10);
    if (r < 3) {
        unsigned k = kinds[pick(g, sizeof kinds)];
        emit(g, k, s, k == OP_CALLOC ? 2 : 1, k == OP_CALLOC ? h / 2 : h, 64);
        return;
    }
    emit(g, pick(g, 3) ? OP_MALLOC : OP_CALLOC, s, 1, gen_size(g), 0);
    if (r < 7)
        emit(g, OP_REALLOC, s, 0, h, 0);
    else
        emit(g, OP_REALLOCARRAY, s, 32, h >> 5, 0);
    emit(g, pick(g, 2) ? OP_USABLE : OP_CHECK, s, 0, 0, 0);
}

/* Blocks allocated on one thread, used and freed on another. */
static void sc_handoff(gen_t *g)
{
    if (g->o->threads < 2) {
        sc_random(g);
        return;
    }
    unsigned a = pick(g, g->o->threads), b = (a + 1 + pick(g, g->o->threads - 1)) % g->o->threads;
    unsigned n = 1 + pick(g, 16), base = slot(g);
    emit(g, OP_THREAD, a, 0, 0, 0);
    for (unsigned i = 0; i < n; i++)
        emit(g, pick(g, 4) ? OP_MALLOC : OP_CALLOC, (base + i) % g->width, 1, gen_size(g), 0);
    emit(g, OP_THREAD, b, 0, 0, 0);
    for (unsigned i = 0; i < n; i++) {
        unsigned s = (base + i) % g->width;
        unsigned r = pick(g, 4);
        if (r == 0)
            emit(g, OP_REALLOC, s, 0, gen_size(g), 0);
        else if (r == 1)
            emit(g, OP_USABLE, s, 0, 0, 0);
        else
            emit_free(g, s);
    }
}

/* Threads churning one size class at once, each on its own band of slots (so the burst
 * runner, src/exec/exec_threads.c, runs them together), then each band freed by the next thread:
 * a lock-free path racing a locked one needs two threads in the same class at the same time. */
static void sc_race(gen_t *g)
{
    unsigned k = 2 + pick(g, (g->o->threads < 4 ? g->o->threads : 4) - 1);
    unsigned m = 2 + pick(g, 7), first = pick(g, g->o->threads), base = slot(g);
    m = k * m > g->width ? g->width / k : m;
    /* Small blocks: the harness fills every byte, so small ones keep the threads in the
     * allocator for more of the burst (and fast paths are for small blocks). */
    uint64_t size = 1 + gen_size(g) % (pick(g, 4) ? 256 : 4096);
    unsigned rounds = 4 + pick(g, 13), hand = pick(g, 2);
    for (unsigned r = 0; r <= rounds; r++) {
        for (unsigned j = 0; j < k; j++) {
            emit(g, OP_THREAD, (first + j + (r == rounds) * hand) % g->o->threads, 0, 0, 0);
            for (unsigned i = 0; i < m; i++) {
                unsigned s = (base + j * m + i) % g->width;
                if (r == rounds)
                    emit_free(g, s);
                else
                    emit(g, pick(g, 4) ? OP_MALLOC : OP_CALLOC, s, 1, size, 0);
            }
        }
    }
}

static void sc_usable(gen_t *g)
{
    unsigned s = slot(g);
    emit(g, pick(g, 4) ? OP_MALLOC : OP_CALLOC, s, 1, gen_size(g), 0);
    emit(g, OP_USABLE, s, 0, 0, 0);
    if (pick(g, 2)) {
        emit(g, OP_REALLOC, s, 0, gen_size(g), 0);
        emit(g, OP_USABLE, s, 0, 0, 0);
    }
}

static void sc_page(gen_t *g)
{
    unsigned s = slot(g);
    emit(g, pick(g, 2) ? OP_VALLOC : OP_PVALLOC, s, 0, gen_size(g) % 20000, 0);
    if (pick(g, 2))
        emit(g, OP_USABLE, s, 0, 0, 0);
}

/* ---- big heaps ---- */

/* A medium size: mostly 4..64 KiB (the largest size classes of most allocators), some
 * 64 KiB..1 MiB (glibc's mmap threshold starts at 128 KiB and climbs toward 32 MiB as mmapped
 * blocks are freed, so a big heap crosses it more than once), rarely up to 8 MiB. */
static uint64_t medium_size(gen_t *g)
{
    unsigned r = pick(g, 100);
    uint64_t s = r < 80 ? log_uniform(g, 12, 16) : r < 97 ? log_uniform(g, 16, 20)
                                                          : log_uniform(g, 20, 23);
    s += jitter(g);
    return s > g->o->max_size ? g->o->max_size : s;
}

/* Holes beside live neighbours (every step-th block freed), a check while they are fresh,
 * holes refilled with other sizes, blocks moved across the thresholds by realloc, a last
 * check; half the time it is all freed from the top, else the sequence's end frees it. */
static void big_heap_churn(gen_t *g, unsigned n)
{
    unsigned step = 2 + pick(g, 2);
    for (unsigned s = pick(g, step); s < n; s += step)
        emit_free(g, s);
    emit(g, OP_CHECK, 0, 0, 0, 0);
    for (unsigned s = 0; s < n; s += 2 * step)
        emit(g, OP_MALLOC, s, 0, medium_size(g), 0);
    for (unsigned i = 0; i < 16 && n; i++)
        emit(g, OP_REALLOC, pick(g, n), 0, medium_size(g), 0);
    emit(g, OP_CHECK, 0, 0, 0, 0);
    for (unsigned s = n; s-- > 0 && pick(g, 2);)
        emit_free(g, s);
}

/* Tens of megabytes of medium blocks in up to LONG_SLOT_BASE slots, from every thread in
 * turn (64 blocks each), so multi-arena allocators spread it over several arenas. The live
 * budget (--max-live) still bounds it: the executor skips what would exceed it. */
static void sc_big_heap(gen_t *g)
{
    uint64_t half = g->o->big_heap / 2, target = half + gen_below(&g->r, half + 1), total = 0;
    unsigned n = 0, threads = g->o->threads;
    for (; n < LONG_SLOT_BASE && total < target; n++) {
        if (threads > 1 && n % 64 == 0)
            emit(g, OP_THREAD, (n / 64) % threads, 0, 0, 0);
        uint64_t size = medium_size(g);
        total += size;
        emit(g, pick(g, 8) ? OP_MALLOC : OP_CALLOC, n, 1, size, 0);
    }
    big_heap_churn(g, n);
}

typedef void (*scenario_fn)(gen_t *g);

static const struct { scenario_fn fn; unsigned weight; } scenarios[] = {
    { sc_random, 40 }, { sc_walk, 4 }, { sc_frag, 3 }, { sc_chain, 5 }, { sc_aligned, 6 },
    { sc_calloc_recycle, 5 }, { sc_huge, 3 }, { sc_handoff, 4 }, { sc_usable, 4 },
    { sc_page, 1 }, { sc_race, 6 },
};
#define N_SCENARIOS (sizeof scenarios / sizeof scenarios[0])
/* Without threads sc_race (the last) is never drawn, so single-threaded runs draw as before. */
#define N_SINGLE (N_SCENARIOS - 1)

/* Long lives: blocks in the top slots, made first and checked at the end. */
static void long_lives(gen_t *g, unsigned n, bool end)
{
    for (unsigned i = 0; i < n; i++) {
        if (end)
            emit_free(g, LONG_SLOT_BASE + i);
        else
            emit(g, pick(g, 3) ? OP_MALLOC : OP_CALLOC, LONG_SLOT_BASE + i, 1, gen_size(g), 0);
    }
}

/* One scenario in this many is followed by a fork, about one in 300,000 ops: a busy fork
 * costs tens of milliseconds of CPU (hammers running while the forking thread waits to see
 * each preempted mid-call; eight children forked, run and reaped). At this rate
 * bench/fuzz_rate.sh measured +2 % CPU per op against the same tree with no fork, and
 * bug_fork_deadlock was found in a median of 3.1 s (seeds 1-5); see docs/FUZZING.md, "What
 * forks cost". */
#define FORK_ONE_IN 40000
/* One scenario in this many is followed by requests of sizes that cannot be met. */
#define UNMEETABLE_ONE_IN 40

/* The extras between scenarios, drawn from the side generator: `fork B` with B of the other
 * threads busy in the allocator (at least one when the run has threads at all: a fork while
 * a lock is held is the case that breaks allocators), and sc_unmeetable. */
static void extras(gen_t *g)
{
    gen_rng_t main = g->r;
    g->r = g->side;
    if (!pick(g, UNMEETABLE_ONE_IN))
        sc_unmeetable(g);
    if (!pick(g, FORK_ONE_IN)) {
        unsigned others = g->o->threads > 1 ? g->o->threads - 1 : 0;
        emit(g, OP_FORK, others ? 1 + pick(g, others < 3 ? others : 3) : 0, 0, 0, 0);
    }
    g->side = g->r;
    g->r = main;
}

int gen_sequence(trace_t *t, uint64_t seq_seed, const gen_opts_t *o)
{
    static const unsigned widths[] = { 4, 8, 16, 64, 256, LONG_SLOT_BASE };
    gen_t g = { .r = { seq_seed }, .side = { seq_seed ^ 0x666f726b756e6d74ull }, .t = t, .o = o };
    g.width = widths[pick(&g, sizeof widths / sizeof widths[0])];
    unsigned w[N_SCENARIOS], n = o->threads > 1 ? N_SCENARIOS : N_SINGLE;
    for (unsigned i = 0; i < N_SCENARIOS; i++)
        w[i] = i < n ? scenarios[i].weight : 0;
    w[pick(&g, n)] += 40;   /* each sequence favours one scenario */

    size_t span = o->max_ops > o->min_ops ? o->max_ops - o->min_ops : 1;
    size_t target = o->min_ops + gen_below(&g.r, 1 + gen_below(&g.r, span));
    size_t start = t->len;
    unsigned nlong = pick(&g, 9);
    long_lives(&g, nlong, false);
    /* Only when asked for: filling tens of megabytes costs as much as hundreds of ordinary
     * scenarios, and without it the random stream is the one sequences always had. */
    if (o->big_heap && pick(&g, o->big_heap_one_in ? o->big_heap_one_in : 1) == 0)
        sc_big_heap(&g);
    while (!g.err && t->len - start < target) {
        scenarios[pick_weighted(&g, w, N_SCENARIOS)].fn(&g);
        extras(&g);
    }
    emit(&g, OP_CHECK, 0, 0, 0, 0);
    if (pick(&g, 2))
        long_lives(&g, nlong, true);
    return g.err;
}

/* A workload is sequences back to back without their `check` sweeps: blocks outlive their
 * sequence, so sweeps would grow with the trace and measure the sweep, not the ops. */
int gen_workload(trace_t *t, uint64_t seed, size_t nops, const gen_opts_t *o)
{
    size_t start = t->len;
    for (uint64_t i = 0; t->len - start < nops; i++) {
        size_t from = t->len;
        int r = gen_sequence(t, gen_seq_seed(seed, i), o);
        if (r)
            return r;
        size_t k = from;
        for (size_t j = from; j < t->len; j++)
            if (t->ops[j].kind != OP_CHECK)
                t->ops[k++] = t->ops[j];
        t->len = k;
    }
    t->len = start + nops;
    return 0;
}
