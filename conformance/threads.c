/* Threads: concurrent allocation with every function, blocks freed by another thread (also
 * after the allocating thread exited), and an 8-thread stress that trades blocks through a
 * shared table, checking contents. Harness state is mmap'ed; threads come from libc. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "conformance/checks.h"
#include "conformance/util.h"

typedef struct worker {
    check_ctx_t *c;
    alloc_fn_t fn;     /* AF_COUNT: every present function in turn */
    unsigned id;
    atomic_int *stop;
    void *shared;
    int failed;        /* written by the worker, read after join */
} worker_t;

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The function to use for draw r: w->fn, or a present allocating function. */
static alloc_fn_t pick_fn(const worker_t *w, uint64_t r)
{
    if (w->fn != AF_COUNT)
        return w->fn;
    for (size_t k = 0; k < ck_alloc_fn_count; k++) {
        alloc_fn_t f = ck_alloc_fns[(r + k) % ck_alloc_fn_count];

        if (alloc_has(w->c->a, f))
            return f;
    }
    return AF_MALLOC;
}

static size_t pick_size(uint64_t r)
{
    static const size_t caps[] = { 32, 256, 4096, 70000 };

    return (r >> 8) % caps[(r >> 4) % 4] + 1;
}

#define RING 16

/* Each thread: allocate, fill, keep RING blocks live, verify and free the oldest. */
static void *churn(void *arg)
{
    worker_t *w = arg;
    const alloc_t *a = w->c->a;
    void *ring[RING] = { 0 };
    size_t sz[RING];
    uint64_t s = 0x9E3779B97F4A7C15ull * (w->id + 1);
    int err;

    for (unsigned i = 0; i < 1500 && !w->failed; i++) {
        unsigned k = i % RING;
        uint64_t r = rng(&s);
        alloc_fn_t f = pick_fn(w, r);

        if (ring[k]) {
            w->failed |= ck_verify(ring[k], sz[k], w->id * 1000 + k) >= 0;
            a->free(a->ctx, ring[k]);
        }
        sz[k] = ck_sweep_size(f, 32, pick_size(r));
        ring[k] = ck_alloc(a, f, 32, sz[k], &err);
        if (ring[k] == NULL) {
            w->failed = 2;
            break;
        }
        ck_fill(ring[k], sz[k], w->id * 1000 + k);
    }
    for (unsigned k = 0; k < RING; k++)
        if (ring[k])
            a->free(a->ctx, ring[k]);
    return NULL;
}

#define MAX_WORKERS 8

static void run_workers(check_ctx_t *c, alloc_fn_t f, unsigned n, void *(*body)(void *),
                        void *shared)
{
    pthread_t t[MAX_WORKERS];
    worker_t *w = ck_map(sizeof(worker_t) * MAX_WORKERS);
    atomic_int *stop = ck_map(sizeof *stop);

    require_true(c, w && stop, "harness mmap failed");
    for (unsigned i = 0; i < n; i++) {
        w[i] = (worker_t){ c, f, i, stop, shared, 0 };
        require_true(c, pthread_create(&t[i], NULL, body, &w[i]) == 0, "pthread_create failed");
    }
    for (unsigned i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        expect_true(c, w[i].failed == 0, "thread %u: %s", i,
                    w[i].failed == 2 ? "an allocation failed" : "a block's contents changed");
    }
    ck_unmap(w, sizeof(worker_t) * MAX_WORKERS);
    ck_unmap(stop, sizeof *stop);
}

#define THREAD_CHECKS(n, f, s, clause) \
    static void run_threads_##n(check_ctx_t *c) { run_workers(c, f, 4, churn, NULL); } \
    const check_t check_threads_##n = { "threads-" s, #n, "C17 7.22.3p2; " clause, \
        "4 threads allocate and free concurrently, contents checked", CK_NEEDS(f), \
        CHECK_THREADS, run_threads_##n };
CK_FOR_EACH_ALLOC_FN(THREAD_CHECKS)

/* A table of slots traded between threads: a slot is taken by swapping its pointer out. */
#define SLOTS 1024
typedef struct slot {
    _Atomic(void *) p;
    size_t size;
    uint32_t seed;
} slot_t;

/* Take a slot's block (verify, then free or realloc it) or fill an empty slot. */
static void trade(worker_t *w, slot_t *sl, uint64_t r)
{
    const alloc_t *a = w->c->a;
    void *p = atomic_exchange(&sl->p, (void *)1);  /* 1 = busy */
    int err;

    if (p == (void *)1)
        return;
    if (p != NULL) {
        w->failed |= ck_verify(p, sl->size, sl->seed) >= 0;
        if ((r & 3) == 0 && a->realloc) {
            size_t n = pick_size(r >> 16), keep = n < sl->size ? n : sl->size;
            void *q = a->realloc(a->ctx, p, n);

            if (q == NULL) {
                w->failed = 2;
                q = p;
                n = sl->size;
            }
            w->failed |= ck_verify(q, keep, sl->seed) >= 0;
            ck_fill(q, n, sl->seed);
            sl->size = n;
            atomic_store(&sl->p, q);
            return;
        }
        a->free(a->ctx, p);
        atomic_store(&sl->p, NULL);
        return;
    }
    alloc_fn_t f = pick_fn(w, r);
    sl->size = ck_sweep_size(f, 64, pick_size(r));
    sl->seed = (uint32_t)(r >> 32);
    p = ck_alloc(a, f, 64, sl->size, &err);
    if (p == NULL)
        w->failed = 2;
    else
        ck_fill(p, sl->size, sl->seed);
    atomic_store(&sl->p, p);
}

static void *stress_body(void *arg)
{
    worker_t *w = arg;
    uint64_t s = 0x2545F4914F6CDD1Dull * (w->id + 1);

    while (!atomic_load(w->stop) && !w->failed) {
        for (int i = 0; i < 256; i++) {
            uint64_t r = rng(&s);

            trade(w, (slot_t *)w->shared + (r >> 40) % SLOTS, r);
        }
    }
    return NULL;
}

static void *cross_body(void *arg)
{
    worker_t *w = arg;
    uint64_t s = 0x9E3779B97F4A7C15ull * (w->id + 7);

    for (int i = 0; i < 8000 && !w->failed; i++) {
        uint64_t r = rng(&s);

        trade(w, (slot_t *)w->shared + (r >> 40) % 64, r);
    }
    return NULL;
}

static void free_slots(check_ctx_t *c, slot_t *sl, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void *p = atomic_load(&sl[i].p);

        if (p == NULL)
            continue;
        expect_true(c, ck_verify(p, sl[i].size, sl[i].seed) < 0, "slot %zu's block changed", i);
        c->a->free(c->a->ctx, p);
    }
}

/* 4 threads over 64 slots: nearly every block is freed by a thread that did not allocate it. */
static void run_threads_cross_free(check_ctx_t *c)
{
    slot_t *sl = ck_map(SLOTS * sizeof *sl);

    require_true(c, sl != NULL, "harness mmap failed");
    run_workers(c, AF_COUNT, 4, cross_body, sl);
    free_slots(c, sl, 64);
    ck_unmap(sl, SLOTS * sizeof *sl);
}

typedef struct stress {
    slot_t *sl;
    atomic_int stop;
} stress_t;

static void *stopper(void *arg)
{
    worker_t *w = arg;
    unsigned ms = w->c->timeout_ms ? w->c->timeout_ms * 3 / 10 : 1500;
    struct timespec d;

    if (ms > 1800)
        ms = 1800;
    d = (struct timespec){ ms / 1000, (long)(ms % 1000) * 1000000 };
    nanosleep(&d, NULL);
    atomic_store(w->stop, 1);
    return NULL;
}

/* 8 threads for ~1.5 s (30% of the timeout, at most 1.8 s) trading 1024 slots. */
static void run_threads_stress(check_ctx_t *c)
{
    pthread_t t[MAX_WORKERS + 1];
    worker_t *w = ck_map(sizeof(worker_t) * (MAX_WORKERS + 1));
    slot_t *sl = ck_map(SLOTS * sizeof *sl);
    atomic_int *stop = ck_map(sizeof *stop);

    require_true(c, w && sl && stop, "harness mmap failed");
    for (unsigned i = 0; i <= MAX_WORKERS; i++) {
        w[i] = (worker_t){ c, AF_COUNT, i, stop, sl, 0 };
        require_true(c, pthread_create(&t[i], NULL, i == MAX_WORKERS ? stopper : stress_body,
                                       &w[i]) == 0, "pthread_create failed");
    }
    for (unsigned i = 0; i <= MAX_WORKERS; i++) {
        pthread_join(t[i], NULL);
        expect_true(c, w[i].failed == 0, "thread %u: %s", i,
                    w[i].failed == 2 ? "an allocation failed" : "a block's contents changed");
    }
    free_slots(c, sl, SLOTS);
    ck_unmap(w, sizeof(worker_t) * (MAX_WORKERS + 1));
    ck_unmap(sl, SLOTS * sizeof *sl);
    ck_unmap(stop, sizeof *stop);
}

/* Threads allocate with every function and exit; the main thread then verifies and frees. */
#define ORPHANS 256
static void *orphan_body(void *arg)
{
    worker_t *w = arg;
    slot_t *sl = (slot_t *)w->shared + w->id * ORPHANS;
    uint64_t s = 0x1234567ull * (w->id + 1);
    int err;

    for (unsigned i = 0; i < ORPHANS; i++) {
        uint64_t r = rng(&s);
        alloc_fn_t f = pick_fn(w, r);
        void *p;

        sl[i].size = ck_sweep_size(f, 64, pick_size(r));
        sl[i].seed = (uint32_t)r;
        p = ck_alloc(w->c->a, f, 64, sl[i].size, &err);
        if (p == NULL) {
            w->failed = 2;
            break;
        }
        ck_fill(p, sl[i].size, sl[i].seed);
        atomic_store(&sl[i].p, p);
    }
    return NULL;
}

static void run_threads_free_after_exit(check_ctx_t *c)
{
    slot_t *sl = ck_map(4 * ORPHANS * sizeof *sl);

    require_true(c, sl != NULL, "harness mmap failed");
    run_workers(c, AF_COUNT, 4, orphan_body, sl);
    free_slots(c, sl, 4 * ORPHANS);
    ck_unmap(sl, 4 * ORPHANS * sizeof *sl);
}

#define THREADS_NEEDS (AF_BIT(AF_MALLOC) | AF_BIT(AF_FREE))
const check_t check_threads_cross_free = {
    "threads-cross-free", "*", "C17 7.22.3p2",
    "blocks of every function freed and resized by threads that did not allocate them",
    THREADS_NEEDS, CHECK_THREADS, run_threads_cross_free };
const check_t check_threads_free_after_exit = {
    "threads-free-after-exit", "*", "C17 7.22.3p2",
    "blocks outlive the thread that allocated them and are freed by another",
    THREADS_NEEDS, CHECK_THREADS, run_threads_free_after_exit };
const check_t check_threads_stress = {
    "threads-stress", "*", "C17 7.22.3p2",
    "8 threads trade blocks of every function for ~1.5 s, contents checked",
    THREADS_NEEDS, CHECK_THREADS | CHECK_SLOW, run_threads_stress };

/* C17 7.22.3p2: a free that deallocates memory synchronizes with the allocation that later
 * returns it. Thread A allocates a block, writes it and hands it to B (release/acquire, as a
 * program must); B writes it and frees it; A then allocates the same size, often getting that
 * memory back (the remote-free path of thread-caching allocators), and writes it. B tells A its
 * turn is over with relaxed atomics, which order nothing: only the allocator's synchronisation
 * orders B's writes before A's. Without it the contents check sees a torn block only rarely;
 * ThreadSanitizer (.ci/run) sees the race. */
#define HB_ROUNDS 2000
#define HB_FAILED ((void *)1)
#define HB_RING 64
typedef struct turn {
    void *_Atomic handed;  /* A to B: release/acquire, the program's own synchronisation */
    atomic_uint round;     /* B to A: relaxed on purpose, the allocator must give the order */
    void *_Atomic freed[HB_RING];  /* B's last frees, compared only, never dereferenced */
    atomic_uint reused;
} turn_t;

static size_t hb_size(unsigned i)
{
    static const size_t sizes[] = { 64, 264, 2000, 100000 };

    return sizes[(i / 8) % 4];
}

static bool hb_was_freed(turn_t *t, const void *p)
{
    for (unsigned k = 0; k < HB_RING; k++)
        if (atomic_load_explicit(&t->freed[k], memory_order_relaxed) == p)
            return true;
    return false;
}

static void *hb_a(void *arg)
{
    worker_t *w = arg;
    turn_t *t = w->shared;
    const alloc_t *a = w->c->a;

    for (unsigned i = 0; i < HB_ROUNDS; i++) {  /* to the end even failed: B waits */
        while (atomic_load_explicit(&t->round, memory_order_relaxed) != i)
            sched_yield();
        void *p = a->malloc(a->ctx, hb_size(i));
        if (p == NULL) {
            w->failed = 2;
            p = HB_FAILED;
        } else {
            if (hb_was_freed(t, p))
                atomic_fetch_add_explicit(&t->reused, 1, memory_order_relaxed);
            ck_fill(p, hb_size(i), i);
        }
        atomic_store_explicit(&t->handed, p, memory_order_release);
    }
    return NULL;
}

static void *hb_b(void *arg)
{
    worker_t *w = arg;
    turn_t *t = w->shared;
    const alloc_t *a = w->c->a;

    for (unsigned i = 0; i < HB_ROUNDS; i++) {
        void *p;
        while ((p = atomic_exchange_explicit(&t->handed, NULL, memory_order_acquire)) == NULL)
            sched_yield();
        if (p != HB_FAILED) {
            w->failed |= ck_verify(p, hb_size(i), i) >= 0;
            ck_fill(p, hb_size(i), ~i);
            w->failed |= ck_verify(p, hb_size(i), ~i) >= 0;
            atomic_store_explicit(&t->freed[i % HB_RING], p, memory_order_relaxed);
            a->free(a->ctx, p);
        }
        atomic_store_explicit(&t->round, i + 1, memory_order_relaxed);
    }
    return NULL;
}

static void *hb_body(void *arg)
{
    return ((worker_t *)arg)->id == 0 ? hb_a(arg) : hb_b(arg);
}

static void run_threads_happens_before(check_ctx_t *c)
{
    turn_t *t = ck_map(sizeof *t);

    require_true(c, t != NULL, "harness mmap failed");
    run_workers(c, AF_MALLOC, 2, hb_body, t);
    check_behaviour(c, "%u of %d blocks were memory the other thread had freed lately",
                    atomic_load(&t->reused), HB_ROUNDS);
    ck_unmap(t, sizeof *t);
}

const check_t check_threads_happens_before = {
    "threads-happens-before", "*", "C17 7.22.3p2",
    "a block freed by one thread comes back to another: its old writes come before the new",
    THREADS_NEEDS, CHECK_THREADS, run_threads_happens_before };
