/* The single-threaded workloads of allocheck profile and the per-size sweep, run inside a
 * cell's child. Every block the workload holds is counted in `live` (its requested size) and
 * touched once per page, so the footprint read is the memory the allocator really used; the
 * footprint is sampled FP_SAMPLES times over the run, and the time spent reading it is left
 * out of ns/op. That time is the thread's CPU time (user and system, page faults included),
 * not the wall clock: on a loaded machine the wall clock measures the other processes.
 * Terms: a "slot" holds one block of the workload (its pointer and requested size); the
 * slot table is mmap'ed and excluded from the footprint.
 * Leaves out: checking the allocator's answers (conform and fuzz do that): a NULL is only
 * counted as a failed op. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "src/footprint/measure.h"
#include "src/footprint/work.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t fp_rand(fp_ctx_t *c)
{
    /* xorshift64*: deterministic per seed, no libc state shared with the allocator. */
    uint64_t x = c->rng;
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    c->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

void *fp_map(fp_ctx_t *c, size_t len)
{
    (void)c;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    footprint_exclude(p, len);
    return p;
}

static uint64_t sub0(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

static void read_fp(fp_ctx_t *c, uint64_t *res, uint64_t *map)
{
    struct footprint f = { 0, 0 };
    footprint_read(&f);
    *res = sub0(f.resident, c->base.resident);
    *map = sub0(f.mapped, c->base.mapped);
}

/* Samples the footprint; the clock stops meanwhile. */
static void sample(fp_ctx_t *c)
{
    c->r->ns += now_ns() - c->t0;
    fp_result_t *r = c->r;
    uint64_t res, map;
    read_fp(c, &res, &map);
    if (res > r->peak_resident)
        r->peak_resident = res;
    if (map > r->peak_mapped)
        r->peak_mapped = map;
    if (r->peak_live && (double)res / (double)r->peak_live > r->frag_peak)
        r->frag_peak = (double)res / (double)r->peak_live;
    if (r->nsamples < FP_SAMPLES)
        r->sample[r->nsamples++] = (fp_sample_t){ r->ops, c->live, res, map };
    c->next_sample += c->sample_every;
    c->t0 = now_ns();
}

int fp_ctx_init(fp_ctx_t *c, const alloc_t *a, fp_result_t *r, size_t nslots,
                uint64_t expected_ops, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    c->a = a, c->r = r, c->nslots = nslots;
    c->rng = seed * 0x9E3779B97F4A7C15ull + 1;
    c->slot = fp_map(c, nslots * sizeof *c->slot);
    if (!c->slot)
        return -ENOMEM;
    c->sample_every = expected_ops / (FP_SAMPLES - 2) + 1;
    c->next_sample = c->sample_every;
    struct footprint f = { 0, 0 };
    if (footprint_read(&f) < 0) {
        snprintf(r->note, sizeof r->note, "the footprint cannot be read here");
        r->status = FP_SKIPPED;
        return -ENOSYS;
    }
    c->base = f;
    c->t0 = now_ns();
    return 0;
}

/* One write per page: the pages the program would use become resident. Past TOUCH_MAX a
 * block is left untouched: a trace's 4 GiB request would otherwise take minutes and the
 * machine's memory (its footprint is then its mapping, not its resident pages). */
#define TOUCH_MAX ((size_t)16 << 20)
static void touch(void *p, size_t n)
{
    for (size_t i = 0; i < n && i < TOUCH_MAX; i += 4096)
        ((volatile char *)p)[i] = 1;
}

void fp_count_op(fp_ctx_t *c)
{
    if (++c->r->ops >= c->next_sample)
        sample(c);
}

void fp_hold(fp_ctx_t *c, size_t i, void *p, size_t n)
{
    if (!p) {
        c->failed++;
        return;
    }
    touch(p, n ? n : 1);
    c->slot[i].p = p, c->slot[i].n = n;
    c->live += n;
    if (c->live > c->r->peak_live)
        c->r->peak_live = c->live;
}

void fp_free(fp_ctx_t *c, size_t i)
{
    if (!c->slot[i].p)
        return;
    c->a->free(c->a->ctx, c->slot[i].p);
    c->live -= c->slot[i].n;
    c->slot[i].p = NULL, c->slot[i].n = 0;
    fp_count_op(c);
}

void fp_malloc(fp_ctx_t *c, size_t i, size_t n)
{
    fp_free(c, i);
    fp_hold(c, i, c->a->malloc(c->a->ctx, n), n);
    fp_count_op(c);
}

void fp_realloc(fp_ctx_t *c, size_t i, size_t n)
{
    void *p = c->a->realloc(c->a->ctx, c->slot[i].p, n);
    if (!p && n) {
        c->failed++;
        fp_count_op(c);
        return;
    }
    c->live -= c->slot[i].n;
    c->slot[i].p = NULL, c->slot[i].n = 0;
    if (p)   /* else realloc(p, 0) freed it */
        fp_hold(c, i, p, n);
    fp_count_op(c);
}

static void call_trim(fp_ctx_t *c)
{
    int (*trim)(size_t) = fp_trim_fn(c->a);
    if (!trim)
        return;
    trim(0);
    read_fp(c, &c->r->trim_resident, &c->r->trim_mapped);
    c->r->trimmed = true;
}

void fp_ctx_finish(fp_ctx_t *c)
{
    sample(c);
    c->r->ns += now_ns() - c->t0;
    for (size_t i = 0; i < c->nslots; i++)
        if (c->slot[i].p)
            c->a->free(c->a->ctx, c->slot[i].p);
    read_fp(c, &c->r->free_resident, &c->r->free_mapped);
    call_trim(c);
    if (c->failed && !c->r->note[0])
        snprintf(c->r->note, sizeof c->r->note, "%llu allocations returned NULL",
                 (unsigned long long)c->failed);
}

void fp_run_size(const alloc_t *a, uint64_t size, uint64_t n, fp_result_t *r)
{
    fp_ctx_t c;
    if (fp_ctx_init(&c, a, r, n, 4 * n, 1))
        return;
    c.sample_every = UINT64_MAX;   /* two reads only: before and after */
    for (size_t i = 0; i < n; i++)
        fp_hold(&c, i, a->malloc(a->ctx, size), size);
    uint64_t res, map;
    read_fp(&c, &res, &map);
    r->size = size, r->nblocks = n, r->peak_live = c.live;
    r->peak_resident = res, r->peak_mapped = map;
    r->usable = c.slot[0].p && a->usable_size ? a->usable_size(a->ctx, c.slot[0].p) : 0;
    for (size_t i = 0; i < n; i++)
        if (c.slot[i].p)
            a->free(a->ctx, c.slot[i].p);
    if (c.failed)
        snprintf(r->note, sizeof r->note, "%llu of %llu mallocs returned NULL",
                 (unsigned long long)c.failed, (unsigned long long)n);
}

static int add_size(uint64_t *out, int n, int max, uint64_t s)
{
    if (s >= 1 && s <= (1u << 20) && n < max)
        out[n++] = s;
    return n;
}

/* Each class's last size and the next class's first, as the allocator's usable sizes show. */
static int class_edges(const alloc_t *a, uint64_t *out, int n, int max)
{
    for (uint64_t s = 1; s <= (1u << 20) && n < max;) {
        void *p = a->malloc(a->ctx, s);
        uint64_t u = p ? a->usable_size(a->ctx, p) : s;
        if (p)
            a->free(a->ctx, p);
        if (u >= s)
            n = add_size(out, n, max, u), n = add_size(out, n, max, u + 1);
        s = u + 1 > 2 * s ? u + 1 : 2 * s + 1;
    }
    return n;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

int fp_sweep_sizes(const alloc_t *first, bool quick, uint64_t *out, int max)
{
    int n = 0;
    for (int k = 0; k <= 20; k += quick ? 4 : 1) {
        uint64_t p = 1ull << k;
        n = add_size(out, n, max, p - 1), n = add_size(out, n, max, p);
        n = add_size(out, n, max, p + 1);
    }
    if (!quick && first->malloc && first->usable_size)
        n = class_edges(first, out, n, max);
    qsort(out, (size_t)n, sizeof *out, cmp_u64);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (m == 0 || out[i] != out[m - 1])
            out[m++] = out[i];
    return m;
}
