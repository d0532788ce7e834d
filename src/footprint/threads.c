/* The threaded cells of allocheck profile, run inside a cell's child.
 * - xthread: Hoard's producer/consumer blowup. A producer mallocs a batch, its consumer frees
 *   it; two batches per pair are in flight, so live memory is bounded, and an allocator whose
 *   freed blocks go back only to the freeing thread's heap keeps growing. With one thread it
 *   frees its own batches (the baseline).
 * - tput: every thread mallocs and frees its own blocks (random sizes 16..1 KiB): throughput.
 * The main thread samples the footprint every millisecond meanwhile.
 * Leaves out: false sharing (cache-line placement is not a footprint). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "src/footprint/measure.h"
#include "src/footprint/profile.h"

enum { BATCH = 256, MAX_THREADS = 4, TPUT_SLOTS = 512 };

typedef struct pair {
    _Atomic int full[2];
    void *buf[2][BATCH];
    size_t len[2][BATCH];
} pair_t;

typedef struct shared {
    const alloc_t *a;
    pair_t pair[MAX_THREADS / 2];
    unsigned rounds;
    uint64_t tput_ops;
    _Atomic uint64_t live, peak_live, ops, failed;
} shared_t;

typedef struct worker {
    shared_t *sh;
    int index;
    uint64_t rng;
} worker_t;

static uint64_t rnd(worker_t *w)
{
    uint64_t x = w->rng;
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    w->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void add_live(shared_t *sh, size_t n)
{
    uint64_t v = atomic_fetch_add(&sh->live, n) + n, peak = atomic_load(&sh->peak_live);
    while (v > peak && !atomic_compare_exchange_weak(&sh->peak_live, &peak, v))
        ;
}

static void fill(worker_t *w, pair_t *p, int b)
{
    const alloc_t *a = w->sh->a;
    for (int i = 0; i < BATCH; i++) {
        size_t n = 16 + rnd(w) % 497;
        void *q = a->malloc(a->ctx, n);
        if (q)
            *(volatile char *)q = 1, add_live(w->sh, n);
        else
            atomic_fetch_add(&w->sh->failed, 1);
        p->buf[b][i] = q, p->len[b][i] = q ? n : 0;
    }
    atomic_fetch_add(&w->sh->ops, BATCH);
}

static void drain(shared_t *sh, pair_t *p, int b)
{
    for (int i = 0; i < BATCH; i++)
        if (p->buf[b][i])
            sh->a->free(sh->a->ctx, p->buf[b][i]), atomic_fetch_sub(&sh->live, p->len[b][i]);
    atomic_fetch_add(&sh->ops, BATCH);
}

static void wait_for(_Atomic int *flag, int want)
{
    while (atomic_load_explicit(flag, memory_order_acquire) != want)
        sched_yield();
}

static void *producer(void *arg)
{
    worker_t *w = arg;
    pair_t *p = &w->sh->pair[w->index];
    for (unsigned r = 0; r < w->sh->rounds; r++) {
        int b = r & 1;
        wait_for(&p->full[b], 0);
        fill(w, p, b);
        atomic_store_explicit(&p->full[b], 1, memory_order_release);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    worker_t *w = arg;
    pair_t *p = &w->sh->pair[w->index];
    for (unsigned r = 0; r < w->sh->rounds; r++) {
        int b = r & 1;
        wait_for(&p->full[b], 1);
        drain(w->sh, p, b);
        atomic_store_explicit(&p->full[b], 0, memory_order_release);
    }
    return NULL;
}

static void *alone(void *arg)
{
    worker_t *w = arg;
    pair_t *p = &w->sh->pair[0];
    for (unsigned r = 0; r < w->sh->rounds; r++)
        fill(w, p, r & 1), drain(w->sh, p, r & 1);
    return NULL;
}

static void *own_blocks(void *arg)
{
    worker_t *w = arg;
    const alloc_t *a = w->sh->a;
    void *slot[TPUT_SLOTS] = { 0 };
    size_t len[TPUT_SLOTS] = { 0 };
    for (uint64_t k = 0; k < w->sh->tput_ops; k++) {
        size_t i = rnd(w) % TPUT_SLOTS;
        if (slot[i]) {
            a->free(a->ctx, slot[i]), atomic_fetch_sub(&w->sh->live, len[i]);
            slot[i] = NULL;
        } else if ((slot[i] = a->malloc(a->ctx, len[i] = 16 + rnd(w) % 1009)) != NULL) {
            *(volatile char *)slot[i] = 1, add_live(w->sh, len[i]);
        }
    }
    for (size_t i = 0; i < TPUT_SLOTS; i++)
        if (slot[i])
            a->free(a->ctx, slot[i]);
    atomic_fetch_add(&w->sh->ops, w->sh->tput_ops);
    return NULL;
}

static uint64_t sub0(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

/* One look at the footprint while the workers run. */
static void sample_once(shared_t *sh, const struct footprint *base, fp_result_t *r)
{
    struct footprint f = { 0, 0 };
    footprint_read(&f);
    uint64_t res = sub0(f.resident, base->resident), map = sub0(f.mapped, base->mapped);
    r->peak_resident = res > r->peak_resident ? res : r->peak_resident;
    r->peak_mapped = map > r->peak_mapped ? map : r->peak_mapped;
    if (r->nsamples < FP_SAMPLES)
        r->sample[r->nsamples++] = (fp_sample_t){ atomic_load(&sh->ops), atomic_load(&sh->live),
                                                  res, map };
}

static bool refuse_threads(const alloc_t *a, unsigned threads, fp_result_t *r)
{
    if (threads < 2 || !(a->flags & ALLOCHECK_PLUGIN_NOT_THREAD_SAFE))
        return false;
    r->status = FP_SKIPPED;
    snprintf(r->note, sizeof r->note, "declared not-thread-safe");
    return true;
}

static void *(*const start_xthread[2])(void *) = { producer, consumer };

static int start(shared_t *sh, unsigned threads, bool xthread, pthread_t *t, worker_t *w)
{
    for (unsigned i = 0; i < threads; i++) {
        w[i] = (worker_t){ sh, xthread ? (int)i / 2 : (int)i, 0x9E3779B97F4A7C15ull * (i + 1) };
        void *(*fn)(void *) = !xthread ? own_blocks : threads == 1 ? alone : start_xthread[i & 1];
        if (pthread_create(&t[i], NULL, fn, &w[i]) != 0)
            return (int)i;
    }
    return (int)threads;
}

static void run_threads(const alloc_t *a, shared_t *sh, unsigned threads, bool xthread,
                        fp_result_t *r)
{
    struct footprint base = { 0, 0 };
    footprint_read(&base);
    sh->a = a;
    pthread_t t[MAX_THREADS];
    worker_t w[MAX_THREADS];
    uint64_t t0 = now_ns();
    int started = start(sh, threads, xthread, t, w);
    for (int i = 0; i < started; i++)
        while (pthread_tryjoin_np(t[i], NULL) != 0) {
            sample_once(sh, &base, r);
            nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
        }
    sample_once(sh, &base, r);   /* what the run left: a short run may end before a sample */
    r->ns = now_ns() - t0;
    r->ops = atomic_load(&sh->ops);
    r->peak_live = atomic_load(&sh->peak_live);
    if (started < (int)threads)
        r->status = FP_SKIPPED, snprintf(r->note, sizeof r->note, "pthread_create failed");
    else if (atomic_load(&sh->failed))
        snprintf(r->note, sizeof r->note, "%llu mallocs returned NULL",
                 (unsigned long long)atomic_load(&sh->failed));
}

static shared_t *shared_new(void)
{
    shared_t *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    if (sh == MAP_FAILED)
        return NULL;
    footprint_exclude(sh, sizeof *sh);
    return sh;
}

static void run(const alloc_t *a, const fp_opts_t *o, unsigned threads, bool xthread,
                fp_result_t *r)
{
    memset(r, 0, sizeof *r);
    if (refuse_threads(a, threads, r))
        return;
    shared_t *sh = shared_new();
    if (!sh) {
        r->status = FP_SKIPPED, snprintf(r->note, sizeof r->note, "no memory for the test");
        return;
    }
    sh->rounds = (o->quick ? 200u : 1600u) / (threads > 1 ? threads / 2 : 1);
    sh->tput_ops = (o->quick ? 100000u : 800000u) / threads;
    run_threads(a, sh, threads, xthread, r);
    r->frag_peak = r->peak_live ? (double)r->peak_resident / (double)r->peak_live : 0;
}

void fp_run_xthread(const alloc_t *a, const fp_opts_t *o, unsigned threads, fp_result_t *r)
{
    run(a, o, threads, true, r);
}

void fp_run_tput(const alloc_t *a, const fp_opts_t *o, unsigned threads, fp_result_t *r)
{
    run(a, o, threads, false, r);
}
