/* fork: a child must be able to use every function, whether it forked before the allocator
 * was first used, with live blocks, or while other threads were inside the allocator (the
 * allocator must hold its locks across fork with pthread_atfork handlers, as glibc's does).
 * The last is glibc practice, not POSIX: POSIX.1-2024 fork lets the child of a multithreaded
 * process make only async-signal-safe calls until it execs, and malloc is not one; programs
 * rely on glibc's behaviour all the same, so a deadlock there stays a failure. A child still blocked after a deadline is reported as deadlocked after fork; one
 * that is merely slow (runnable on a loaded machine) is given longer. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conformance/checks.h"
#include "conformance/util.h"

/* Uses every present function once or twice; returns 0, or the alloc_fn_t + 1 that failed. */
static int exercise(const alloc_t *a)
{
    for (size_t i = 0; i < ck_alloc_fn_count; i++) {
        alloc_fn_t f = ck_alloc_fns[i];
        int err;

        if (!alloc_has(a, f))
            continue;
        for (size_t n = 24; n < 300000; n *= 37) {
            void *p = ck_alloc(a, f, 64, ck_sweep_size(f, 64, n), &err);

            if (p == NULL)
                return (int)f + 1;
            ck_fill(p, n, 1);
            if (a->usable_size && a->usable_size(a->ctx, p) < n)
                return (int)AF_MALLOC_USABLE_SIZE + 1;
            if (a->realloc && (p = a->realloc(a->ctx, p, n * 2)) == NULL)
                return (int)AF_REALLOC + 1;
            a->free(a->ctx, p);
        }
    }
    return 0;
}

/* How long a child may take before a blocked one counts as deadlocked: a correct child's
 * calls take milliseconds, but it may wait for the CPU on a loaded machine. */
static unsigned child_ms(const check_ctx_t *c)
{
    return c->timeout_ms ? c->timeout_ms / 10 : 500;
}

typedef struct crew crew_t;

typedef struct hammer {
    const alloc_t *a;
    crew_t *crew;
    uint32_t seed;
} hammer_t;

#define HAMMERS 4        /* few enough that the forking thread and each child get the CPU */
#define HAMMER_BATCH 64  /* more than a thread cache keeps: frees reach the shared heap */

/* Threads kept inside the allocator while the check forks, in harness memory. */
struct crew {
    atomic_int stop;
    atomic_int pause;      /* set while a child runs, so it is not starved of CPU */
    atomic_uint batches;   /* batches done by all hammers: shows they are running */
    alloc_fn_t fns[AF_COUNT];  /* the present allocating functions */
    size_t nfns;
    hammer_t h[HAMMERS];
    pthread_t t[HAMMERS];
    size_t n;
};

static void sleep_us(long us)
{
    struct timespec t = { 0, us * 1000 };

    nanosleep(&t, NULL);
}

/* Lets the hammers run again and waits (up to 20 ms) until they have done a batch each. */
static void resume_crew(crew_t *w)
{
    unsigned from = atomic_load(&w->batches);

    atomic_store(&w->pause, 0);
    for (int i = 0; i < 200 && atomic_load(&w->batches) - from < w->n; i++)
        sleep_us(100);
}

/* Forks a child (fork number nth, from 1) that runs exercise() (after verifying `live` if
 * given) and waits for it with a deadline; w's hammers (if any) pause meanwhile. Returns
 * false after recording a failure. */
static bool fork_and_use(check_ctx_t *c, void *live, size_t live_n, int nth, crew_t *w)
{
    pid_t pid = fork();
    int st = 0, rc;

    if (pid == 0) {
        int bad = live && ck_verify(live, live_n, 77) >= 0 ? 100 : 0;

        if (live)
            c->a->free(c->a->ctx, live);
        _exit(bad ? bad : exercise(c->a));
    }
    if (w)
        atomic_store(&w->pause, 1);
    rc = pid < 0 ? 0 : ck_wait_child(pid, child_ms(c), c->timeout_ms ? c->timeout_ms / 3 : 1666,
                                     &st);
    if (w)
        resume_crew(w);
    if (pid < 0 || rc == -ETIMEDOUT) {
        check_fail(c, pid < 0 ? "fork #%d failed" : "child deadlocked after fork #%d "
                   "(blocked, no exit within %u ms)", nth, child_ms(c));
        return false;
    }
    if (WIFSIGNALED(st)) {
        check_fail(c, "child died of signal %d after fork #%d", WTERMSIG(st), nth);
        return false;
    }
    if (WEXITSTATUS(st) == 100)
        check_fail(c, "a block allocated before fork changed in the child");
    else if (WEXITSTATUS(st) != 0)
        check_fail(c, "%s failed in the child after fork", ck_name(WEXITSTATUS(st) - 1));
    return WEXITSTATUS(st) == 0;
}

/* Nothing has been allocated by this process yet (the runner's child starts clean). */
static void run_fork_before_first_use(check_ctx_t *c)
{
    if (fork_and_use(c, NULL, 0, 1, NULL))
        expect_true(c, exercise(c->a) == 0, "the parent's allocator failed after fork");
}

/* A block allocated before fork is intact in the child, which can free it. */
static void run_fork_child_uses_every_function(check_ctx_t *c)
{
    void *p = c->a->malloc(c->a->ctx, 5000);

    require_true(c, p != NULL, "malloc(5000) failed");
    ck_fill(p, 5000, 77);
    if (fork_and_use(c, p, 5000, 1, NULL))
        expect_true(c, ck_verify(p, 5000, 77) < 0 && exercise(c->a) == 0,
                    "the parent's block or allocator broke after fork");
    c->a->free(c->a->ctx, p);
}

/* One block for a hammer: small mostly (the hot path, where a lock is held most often), one
 * in 256 big (the mmap path). Three blocks in four come from malloc, the fourth from any
 * present function: threads only in memalign hold glibc's arena locks so often that each fork
 * waits seconds for them. malloc also asks for usable sizes; realloc grows a small block. */
static void *hammer_alloc(const hammer_t *h, uint32_t x)
{
    const alloc_t *a = h->a;
    size_t n = x % 256 == 0 ? 70000 + x % 200000 : 1 + (x >> 8) % 1024;
    alloc_fn_t f = x % 4 ? AF_MALLOC : h->crew->fns[(x >> 20) % h->crew->nfns];
    void *p, *q;
    int err;

    switch (f) {
    case AF_MALLOC:
        p = a->malloc(a->ctx, n);
        if (p != NULL && a->usable_size && x % 16 == 1)
            (void)a->usable_size(a->ctx, p);
        return p;
    case AF_REALLOC:
        p = a->malloc(a->ctx, n / 2 + 1);
        q = p ? a->realloc(a->ctx, p, n) : NULL;
        return q ? q : p;
    default:
        return ck_alloc(a, f, 64, ck_sweep_size(f, 64, n), &err);
    }
}

/* A thread that stays inside the allocator until told to stop: batches of allocations, then
 * frees, in a tight loop; it idles while the crew is paused. */
static void *hammer_body(void *arg)
{
    hammer_t *h = arg;
    crew_t *w = h->crew;
    void *p[HAMMER_BATCH];
    uint32_t x = h->seed;

    while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
        if (atomic_load_explicit(&w->pause, memory_order_relaxed)) {
            sleep_us(200);
            continue;
        }
        for (size_t i = 0; i < HAMMER_BATCH; i++) {
            x = x * 1664525u + 1013904223u;
            p[i] = hammer_alloc(h, x >> 3);
        }
        for (size_t i = 0; i < HAMMER_BATCH; i++)
            h->a->free(h->a->ctx, p[i]);
        atomic_fetch_add_explicit(&w->batches, 1, memory_order_relaxed);
    }
    return NULL;
}

static unsigned now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (unsigned)(t.tv_sec * 1000 + t.tv_nsec / 1000000);
}

/* Starts the hammers, then waits until they have done a batch each (thread caches set up).
 * False when none could start. */
static bool start_crew(const alloc_t *a, crew_t *w)
{
    for (size_t i = 0; i < ck_alloc_fn_count; i++)
        if (alloc_has(a, ck_alloc_fns[i]))
            w->fns[w->nfns++] = ck_alloc_fns[i];
    for (size_t i = 0; i < HAMMERS; i++) {
        w->h[w->n] = (hammer_t){ .a = a, .crew = w, .seed = (uint32_t)i * 2654435761u };
        if (pthread_create(&w->t[w->n], NULL, hammer_body, &w->h[w->n]) != 0)
            break;
        w->n++;
    }
    resume_crew(w);
    return w->n > 0;
}

static void stop_crew(crew_t *w)
{
    atomic_store(&w->stop, 1);
    for (size_t i = 0; i < w->n; i++)
        pthread_join(w->t[i], NULL);
}

/* Threads loop in every present function (small mallocs mostly); the check forks until its
 * budget (a fifth of the timeout) is spent, and each child must use every function (see
 * fork_and_use for its deadline). An allocator without atfork handlers hands a child a lock
 * some thread held at fork: the child blocks at its first call. A fork catches a held lock
 * about one time in ten, so the hammers pause while each child runs: children are not starved
 * and a budget holds a hundred forks or more. The allocator and each thread's first calls
 * come before the first fork: this check is about a busy allocator, fork-before-first-use
 * about a fresh one. */
static void run_fork_while_busy(check_ctx_t *c)
{
    crew_t *w = ck_map(sizeof *w);
    unsigned start, budget = c->timeout_ms ? c->timeout_ms / 5 : 1000;
    int k = 0;

    require_true(c, w != NULL, "harness mmap failed");
    if (exercise(c->a) != 0 || !start_crew(c->a, w)) {
        check_fail(c, "the allocator or pthread_create failed before any fork");
        stop_crew(w);
        ck_unmap(w, sizeof *w);
        return;
    }
    start = now_ms();
    while (fork_and_use(c, NULL, 0, ++k, w) && now_ms() - start < budget)
        ;
    check_behaviour(c, "%d forks in %u ms with %zu threads inside the allocator", k,
                    now_ms() - start, w->n);
    stop_crew(w);
    expect_true(c, exercise(c->a) == 0, "the parent's allocator failed after the forks");
    ck_unmap(w, sizeof *w);
}

#define FORK_NEEDS (AF_BIT(AF_MALLOC) | AF_BIT(AF_FREE))
const check_t check_fork_before_first_use = {
    "fork-before-first-use", "*", "POSIX.1-2024 fork",
    "a child forked before any allocation uses every function", FORK_NEEDS, CHECK_FORK,
    run_fork_before_first_use };
const check_t check_fork_child_uses_every_function = {
    "fork-child-uses-every-function", "*", "POSIX.1-2024 fork",
    "a child keeps the parent's blocks, frees them and uses every function", FORK_NEEDS,
    CHECK_FORK, run_fork_child_uses_every_function };
const check_t check_fork_while_busy = {
    "fork-while-busy", "*", "glibc practice (POSIX.1-2024 fork allows the child of a "
    "multithreaded process only async-signal-safe calls)",
    "forks while threads are inside every entry point; each child uses every function",
    FORK_NEEDS, CHECK_FORK | CHECK_THREADS | CHECK_SLOW, run_fork_while_busy };
