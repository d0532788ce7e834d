/* fork: a child must be able to use every function, whether it forked before the allocator
 * was first used, with live blocks, or while other threads were inside the allocator (the
 * allocator must hold its locks across fork, as glibc's and POSIX's pthread_atfork model
 * expects). A child that does not finish is reported as deadlocked after fork. */
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

/* Forks a child that runs exercise() (after verifying `live` if given) and waits for it with
 * a deadline. Returns false after recording a failure. */
static bool fork_and_use(check_ctx_t *c, void *live, size_t live_n, unsigned ms)
{
    pid_t pid = fork();
    int st = 0, rc;

    if (pid < 0) {
        check_fail(c, "fork failed");
        return false;
    }
    if (pid == 0) {
        int bad = live && ck_verify(live, live_n, 77) >= 0 ? 100 : 0;

        if (live)
            c->a->free(c->a->ctx, live);
        _exit(bad ? bad : exercise(c->a));
    }
    rc = ck_wait_child(pid, ms, &st);
    if (rc == -ETIMEDOUT) {
        check_fail(c, "child deadlocked after fork (no exit within %u ms)", ms);
        return false;
    }
    if (WIFSIGNALED(st)) {
        check_fail(c, "child died of signal %d after fork", WTERMSIG(st));
        return false;
    }
    if (WEXITSTATUS(st) == 100)
        check_fail(c, "a block allocated before fork changed in the child");
    else if (WEXITSTATUS(st) != 0)
        check_fail(c, "%s failed in the child after fork", ck_name(WEXITSTATUS(st) - 1));
    return WEXITSTATUS(st) == 0;
}

static unsigned child_ms(const check_ctx_t *c)
{
    return c->timeout_ms ? c->timeout_ms / 4 : 1000;
}

/* Nothing has been allocated by this process yet (the runner's child starts clean). */
static void run_fork_before_first_use(check_ctx_t *c)
{
    if (fork_and_use(c, NULL, 0, child_ms(c)))
        expect_true(c, exercise(c->a) == 0, "the parent's allocator failed after fork");
}

/* A block allocated before fork is intact in the child, which can free it. */
static void run_fork_child_uses_every_function(check_ctx_t *c)
{
    void *p = c->a->malloc(c->a->ctx, 5000);

    require_true(c, p != NULL, "malloc(5000) failed");
    ck_fill(p, 5000, 77);
    if (fork_and_use(c, p, 5000, child_ms(c)))
        expect_true(c, ck_verify(p, 5000, 77) < 0 && exercise(c->a) == 0,
                    "the parent's block or allocator broke after fork");
    c->a->free(c->a->ctx, p);
}

typedef struct hammer {
    const alloc_t *a;
    atomic_int stop;
    alloc_fn_t fn;
} hammer_t;

/* A thread that stays inside one function (alloc + free) as much as it can. */
static void *hammer_body(void *arg)
{
    hammer_t *h = arg;
    size_t n = 16;
    int err;

    while (!atomic_load(&h->stop)) {
        void *p = ck_alloc(h->a, h->fn, 64, ck_sweep_size(h->fn, 64, n), &err);

        if (p && h->a->realloc && h->fn == AF_MALLOC)
            p = h->a->realloc(h->a->ctx, p, n * 3);
        h->a->free(h->a->ctx, p);
        n = n * 5 % 200003 + 16;
    }
    return NULL;
}

#define HAMMERS 9
#define FORKS 24

static unsigned now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (unsigned)(t.tv_sec * 1000 + t.tv_nsec / 1000000);
}

/* One thread per present function, then fork up to 24 times within a budget of a fifth of
 * the timeout (fork waits for every arena lock: glibc takes ~100 ms a fork under this load). */
static void run_fork_while_busy(check_ctx_t *c)
{
    hammer_t *h = ck_map(HAMMERS * sizeof *h);
    pthread_t t[HAMMERS];
    size_t n = 0;
    unsigned start, budget = c->timeout_ms ? c->timeout_ms / 5 : 1000;
    int k = 0;

    require_true(c, h != NULL, "harness mmap failed");
    for (size_t i = 0; i < ck_alloc_fn_count && n < HAMMERS; i++) {
        if (!alloc_has(c->a, ck_alloc_fns[i]))
            continue;
        h[n] = (hammer_t){ .a = c->a, .fn = ck_alloc_fns[i] };
        require_true(c, pthread_create(&t[n], NULL, hammer_body, &h[n]) == 0,
                     "pthread_create failed");
        n++;
    }
    start = now_ms();
    while (k < FORKS && (k == 0 || now_ms() - start < budget) &&
           fork_and_use(c, NULL, 0, child_ms(c)))
        k++;
    check_behaviour(c, "%d forks in %u ms with %zu threads inside the allocator", k,
                    now_ms() - start, n);
    for (size_t i = 0; i < n; i++)
        atomic_store(&h[i].stop, 1);
    for (size_t i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    expect_true(c, exercise(c->a) == 0, "the parent's allocator failed after the forks");
    ck_unmap(h, HAMMERS * sizeof *h);
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
    "fork-while-busy", "*", "POSIX.1-2024 fork; glibc rule (malloc usable after fork)",
    "forks while threads are inside every entry point; each child uses every function",
    FORK_NEEDS, CHECK_FORK | CHECK_THREADS | CHECK_SLOW, run_fork_while_busy };
