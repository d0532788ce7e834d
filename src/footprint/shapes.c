/* The shapes of the fragmentation workloads: each is a program that leaves free memory the
 * allocator can only reuse if it merges, splits or sorts its free blocks well.
 * - sawtooth: n blocks of s, every other one freed, n/2 blocks of 2s, all freed; s triples
 *   every round, so a hole one round leaves can only serve the next when merged;
 * - random: random sizes (mostly small, a few up to 512 KiB), random lifetimes;
 * - realloc: growth chains (a buffer growing by 1/4 at a time, as strings and vectors do)
 *   up to 64 KiB, among small pinned blocks that keep it from growing in place;
 * - robson: a Robson-style adversary: every phase frees every other live block in address
 *   order, then fills the live budget with blocks twice the last size, which no hole fits;
 * - trace: a trace file's ops, slot for slot (thread switches are ignored: one thread).
 * Leaves out: timing and footprint (work.h keeps those the same for every shape). */
#include <string.h>

#include "src/footprint/work.h"

typedef struct scale {
    uint64_t budget;   /* bytes a round or phase aims to hold */
    size_t cap;        /* most blocks a round holds */
    uint64_t ops;
} scale_t;

static scale_t scale_of(const fp_opts_t *o)
{
    return o->quick ? (scale_t){ 1u << 20, 3000, 30000 } : (scale_t){ 8u << 20, 20000, 240000 };
}

static size_t min_sz(size_t a, size_t b)
{
    return a < b ? a : b;
}

static void free_all(fp_ctx_t *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fp_free(c, i);
}

static void sawtooth_round(fp_ctx_t *c, size_t s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fp_malloc(c, i, s);
    for (size_t i = 0; i < n; i += 2)
        fp_free(c, i);
    for (size_t j = 0; j < n / 2; j++)
        fp_malloc(c, n + j, 2 * s);
    free_all(c, n + n / 2);
}

static void sawtooth(const alloc_t *a, const fp_opts_t *o, fp_result_t *r)
{
    scale_t sc = scale_of(o);
    fp_ctx_t c;
    int rounds = o->quick ? 6 : 7;
    if (fp_ctx_init(&c, a, r, sc.cap + sc.cap / 2, (uint64_t)rounds * sc.cap * 3, o->seed))
        return;
    for (int k = 0, s = 16; k < rounds; k++, s *= 3)
        sawtooth_round(&c, (size_t)s, min_sz(sc.cap, sc.budget / (size_t)s));
    fp_ctx_finish(&c);
}

/* Mostly small, as programs allocate; a few large ones make the holes that matter. */
static size_t random_size(fp_ctx_t *c)
{
    uint64_t x = fp_rand(c), k = x % 100, y = x >> 8;
    if (k < 70)
        return 8 + y % 248;
    if (k < 95)
        return 256 + y % 3840;
    if (k < 99)
        return 4096 + y % 61440;
    return 65536 + y % 458752;
}

static void random_life(const alloc_t *a, const fp_opts_t *o, fp_result_t *r)
{
    scale_t sc = scale_of(o);
    size_t slots = sc.cap / 5;
    fp_ctx_t c;
    if (fp_ctx_init(&c, a, r, slots, sc.ops, o->seed))
        return;
    while (r->ops < sc.ops) {
        size_t i = fp_rand(&c) % slots;
        if (c.slot[i].p)
            fp_free(&c, i);
        else
            fp_malloc(&c, i, random_size(&c));
    }
    fp_ctx_finish(&c);
}

static void realloc_chains(const alloc_t *a, const fp_opts_t *o, fp_result_t *r)
{
    scale_t sc = scale_of(o);
    enum { CHAINS = 48 };
    size_t pins = sc.cap / 5;
    fp_ctx_t c;
    /* Half the ops of the others: each one copies kilobytes. */
    if (fp_ctx_init(&c, a, r, CHAINS + pins, sc.ops / 2, o->seed))
        return;
    while (r->ops < sc.ops / 2) {
        size_t k = fp_rand(&c) % CHAINS, n = c.slot[k].n;
        if (n > (64u << 10))
            fp_free(&c, k);
        else
            fp_realloc(&c, k, n + n / 4 + 16);
        fp_malloc(&c, CHAINS + fp_rand(&c) % pins, 16 + fp_rand(&c) % 112);
    }
    fp_ctx_finish(&c);
}

/* Live slots to the front, in address order (a shell sort: no allocator is called). */
static size_t compact_sorted(fp_ctx_t *c, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (c->slot[i].p)
            c->slot[m++] = c->slot[i];
    for (size_t i = m; i < n; i++)
        c->slot[i] = (fp_slot_t){ NULL, 0 };
    for (size_t gap = m / 2; gap; gap /= 2)
        for (size_t i = gap; i < m; i++)
            for (size_t j = i; j >= gap && c->slot[j - gap].p > c->slot[j].p; j -= gap) {
                fp_slot_t t = c->slot[j];
                c->slot[j] = c->slot[j - gap], c->slot[j - gap] = t;
            }
    return m;
}

static void robson(const alloc_t *a, const fp_opts_t *o, fp_result_t *r)
{
    scale_t sc = scale_of(o);
    fp_ctx_t c;
    size_t slots = 2 * sc.cap;
    if (fp_ctx_init(&c, a, r, slots, 4 * sc.cap, o->seed))
        return;
    size_t n = 0;
    for (size_t s = 512; s <= (64u << 10); s *= 2) {
        n = compact_sorted(&c, n);
        for (size_t i = 1; i < n; i += 2)
            fp_free(&c, i);
        n = compact_sorted(&c, n);
        while (c.live + s <= sc.budget && n < slots)
            fp_malloc(&c, n++, s);
    }
    fp_ctx_finish(&c);
}

static void *aligned(const alloc_t *a, size_t align, size_t n)
{
    void *p = NULL;
    if (a->aligned_alloc)
        return a->aligned_alloc(a->ctx, align, n);
    if (a->memalign)
        return a->memalign(a->ctx, align, n);
    if (a->posix_memalign && a->posix_memalign(a->ctx, &p, align, n) == 0)
        return p;
    return a->malloc(a->ctx, n);
}

static void trace_op(fp_ctx_t *c, const op_t *op)
{
    const alloc_t *a = c->a;
    size_t i = op->slot % OPS_SLOTS, n = (size_t)(op->size * (op->nmemb ? op->nmemb : 1));
    switch (op->kind) {
    case OP_MALLOC: case OP_VALLOC: case OP_PVALLOC: fp_malloc(c, i, n); return;
    case OP_CALLOC:
        fp_free(c, i);
        fp_hold(c, i, a->calloc ? a->calloc(a->ctx, op->nmemb, op->size)
                                : a->malloc(a->ctx, n), n);
        fp_count_op(c);
        return;
    case OP_REALLOC: case OP_REALLOCARRAY: fp_realloc(c, i, n); return;
    case OP_ALIGNED_ALLOC: case OP_POSIX_MEMALIGN: case OP_MEMALIGN:
        fp_free(c, i);
        fp_hold(c, i, aligned(a, op->align, n), n);
        fp_count_op(c);
        return;
    case OP_FREE: case OP_FREE_SIZED: case OP_FREE_ALIGNED_SIZED: fp_free(c, i); return;
    default: return;   /* usable, check, thread: nothing to allocate */
    }
}

static void replay(const alloc_t *a, const trace_t *t, fp_result_t *r)
{
    fp_ctx_t c;
    if (fp_ctx_init(&c, a, r, OPS_SLOTS, t->len, 1))
        return;
    for (size_t k = 0; k < t->len; k++)
        if (t->ops[k].kind != OP_THREAD)
            trace_op(&c, &t->ops[k]);
    fp_ctx_finish(&c);
}

void fp_run_workload(const alloc_t *a, const fp_opts_t *o, int w, fp_result_t *r)
{
    memset(r, 0, sizeof *r);
    switch (w) {
    case WL_SAWTOOTH: sawtooth(a, o, r); return;
    case WL_RANDOM: random_life(a, o, r); return;
    case WL_REALLOC: realloc_chains(a, o, r); return;
    case WL_ROBSON: robson(a, o, r); return;
    default: replay(a, o->traces[w - WL_TRACE], r); return;
    }
}
