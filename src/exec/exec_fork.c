/* Hammers and the bounded wait of the executor's fork op (see exec_fork.h).
 * Why hammers are pinned to the forking thread's CPU: there the forking thread runs only while
 * every hammer is preempted, and it forks once it has seen each of them inside a call, so the
 * child inherits the allocator in the middle of those calls (holding whatever locks they
 * took) far more often than a race across CPUs would give. All state is mmap'ed (exec.h). */
#include "src/exec/exec_fork.h"

#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HAMMERS 7
#define HAMMER_STACK (256u << 10)
#define START_WAIT_NS (20 * 1000000ll)   /* how long to wait to see every hammer mid-call */

typedef struct hammer {
    struct hammers *h;
    uint32_t go;        /* 0: park, 1: run, 2: exit */
    uint32_t in_call;   /* 1 while inside an allocator call */
    uint32_t parked;    /* 1 while waiting for go */
    uint64_t calls;
    bool started;
    void *stack;
    pthread_t tid;
} hammer_t;

struct hammers {
    const alloc_t *a;
    unsigned running;
    bool pinned;        /* the caller's own mask is in mask0 */
    cpu_set_t mask0;
    hammer_t m[HAMMERS];
};

static void futex_wait(uint32_t *w, uint32_t v)
{
    syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void futex_wake(uint32_t *w)
{
    syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* One round: allocate by one of the functions in turn, at a size in turn, and free. Small
 * sizes only: their calls are short and spend much of their time under the allocator's locks,
 * where a big block's calls spend it in mmap, outside them. */
static void one_call(hammer_t *m)
{
    static const size_t sizes[] = { 16, 24, 40, 64, 100, 256, 1000, 4000 };
    const alloc_t *a = m->h->a;
    size_t n = sizes[m->calls % 8];
    void *p = NULL;
    __atomic_store_n(&m->in_call, 1, __ATOMIC_RELAXED);
    switch ((m->calls / 8) % 4) {
    case 1: p = a->calloc ? a->calloc(a->ctx, 1, n) : NULL; break;
    case 2: p = a->memalign ? a->memalign(a->ctx, 64, n) : NULL; break;
    case 3:
        p = a->realloc ? a->realloc(a->ctx, NULL, n) : NULL;
        if (p) {
            void *q = a->realloc(a->ctx, p, 2 * n);
            p = q ? q : p;
        }
        break;
    default: p = a->malloc ? a->malloc(a->ctx, n) : NULL; break;
    }
    if (p)
        a->free(a->ctx, p);
    __atomic_store_n(&m->in_call, 0, __ATOMIC_RELAXED);
    m->calls++;
}

static void *hammer_main(void *arg)
{
    hammer_t *m = arg;
    for (;;) {
        uint32_t g;
        __atomic_store_n(&m->parked, 1, __ATOMIC_RELEASE);
        while ((g = __atomic_load_n(&m->go, __ATOMIC_ACQUIRE)) == 0)
            futex_wait(&m->go, 0);
        if (g == 2)
            return NULL;
        __atomic_store_n(&m->parked, 0, __ATOMIC_RELEASE);
        while (__atomic_load_n(&m->go, __ATOMIC_ACQUIRE) == 1)
            one_call(m);
    }
}

hammers_t *hammers_new(const alloc_t *a)
{
    hammers_t *h = mmap(NULL, sizeof *h, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    if (h == MAP_FAILED)
        return NULL;
    h->a = a;
    for (unsigned i = 0; i < HAMMERS; i++)
        h->m[i].h = h;
    return h;
}

static int ensure_hammer(hammer_t *m)
{
    if (m->started)
        return 0;
    if (!m->stack) {
        void *s = mmap(NULL, HAMMER_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
        if (s == MAP_FAILED)
            return -errno;
        m->stack = s;
    }
    pthread_attr_t attr;
    int r = pthread_attr_init(&attr);
    if (!r)
        r = pthread_attr_setstack(&attr, m->stack, HAMMER_STACK);
    m->go = 0;
    m->parked = 0;
    if (!r)
        r = pthread_create(&m->tid, &attr, hammer_main, m);
    pthread_attr_destroy(&attr);
    if (r)
        return -r;
    m->started = true;
    return 0;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Puts the caller and the first n hammers on the caller's CPU (see the file comment). */
static void pin_together(hammers_t *h, unsigned n)
{
    int cpu = sched_getcpu();
    cpu_set_t one;
    if (cpu < 0 || sched_getaffinity(0, sizeof h->mask0, &h->mask0))
        return;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    h->pinned = !sched_setaffinity(0, sizeof one, &one);
    for (unsigned i = 0; i < n; i++)
        pthread_setaffinity_np(h->m[i].tid, sizeof one, &one);
}

static bool all_mid_call(const hammers_t *h, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (!__atomic_load_n(&h->m[i].in_call, __ATOMIC_RELAXED)
            || !__atomic_load_n(&h->m[i].calls, __ATOMIC_RELAXED))
            return false;
    return true;
}

int hammers_start(hammers_t *h, unsigned n)
{
    n = n < HAMMERS ? n : HAMMERS;
    if (!h->a->free)
        n = 0;
    for (unsigned i = 0; i < n; i++) {
        int r = ensure_hammer(&h->m[i]);
        if (r)
            return r;
    }
    pin_together(h, n);
    h->running = n;
    for (unsigned i = 0; i < n; i++) {
        __atomic_store_n(&h->m[i].go, 1, __ATOMIC_RELEASE);
        futex_wake(&h->m[i].go);
    }
    hammers_mid_call(h);
    return 0;
}

void hammers_mid_call(hammers_t *h)
{
    for (unsigned i = 0; i < h->running; i++)
        h->m[i].calls = 0;
    int64_t until = now_ns() + START_WAIT_NS;
    while (h->running && !all_mid_call(h, h->running) && now_ns() < until)
        sched_yield();
}

void hammers_stop(hammers_t *h)
{
    for (unsigned i = 0; i < h->running; i++)
        __atomic_store_n(&h->m[i].go, 0, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < h->running; i++)
        while (!__atomic_load_n(&h->m[i].parked, __ATOMIC_ACQUIRE))
            sched_yield();
    h->running = 0;
    if (h->pinned)
        sched_setaffinity(0, sizeof h->mask0, &h->mask0);
    h->pinned = false;
}

void hammers_forget(hammers_t *h)
{
    for (unsigned i = 0; i < HAMMERS; i++)
        h->m[i].started = false;
    h->running = 0;
    if (h->pinned)   /* the child may run on any CPU, not queue behind the parent's hammers */
        sched_setaffinity(0, sizeof h->mask0, &h->mask0);
    h->pinned = false;
}

void hammers_free(hammers_t *h)
{
    if (!h)
        return;
    for (unsigned i = 0; i < HAMMERS; i++) {
        hammer_t *m = &h->m[i];
        if (m->started) {
            __atomic_store_n(&m->go, 2, __ATOMIC_RELEASE);
            futex_wake(&m->go);
            pthread_join(m->tid, NULL);
        }
        if (m->stack)
            munmap(m->stack, HAMMER_STACK);
    }
    munmap(h, sizeof *h);
}

static void reap(pid_t pid, int *status)
{
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
}

fork_end_t fork_wait(pid_t pid, int fd, void *report, size_t len, unsigned ms, int *status)
{
    int64_t until = now_ns() + (int64_t)ms * 1000000ll;
    size_t got = 0;
    *status = 0;
    for (;;) {
        int64_t left = until - now_ns();
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r = poll(&p, 1, left > 0 ? (int)(left / 1000000ll) + 1 : 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t n = read(fd, (char *)report + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0 && (got += (size_t)n) < len)
            continue;
        reap(pid, status);
        return got == len ? FORK_REPORTED : FORK_DIED;
    }
    kill(-pid, SIGKILL);   /* the group, in case the child forked too */
    kill(pid, SIGKILL);
    reap(pid, status);
    return FORK_HUNG;
}
