/* Hammers and the bounded wait of the executor's fork op (see exec_fork.h).
 * Why a timer signal stops each hammer: the child must inherit the allocator in the middle of
 * the hammers' calls, holding whatever locks they took. A per-hammer timer, armed a few
 * microseconds ahead, interrupts the hammer at whatever instruction it is running; inside a
 * call its handler stays there until the fork is done, outside one it re-arms the timer. The
 * hammers run only while a fork waits for them, so a fork costs them tens of microseconds,
 * where waiting to see each of them preempted mid-call (pinned to the forking thread's CPU)
 * cost whole scheduler time slices: about 90 % of a busy fork's CPU (perf). Why the stop is
 * bounded once fork() was called: an allocator with pthread_atfork handlers (and glibc's fork
 * for its own malloc) takes every lock first, and so waits for a stopped hammer's.
 * Terms: a "freeze" is one such stop; thaws counts the ends of forks, so a handler can tell
 * the fork it froze for from a newer one. All state is mmap'ed (exec.h). */
#include "src/exec/exec_fork.h"

#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HAMMERS 7
#define HAMMER_STACK (256u << 10)
#define READY_WAIT_NS (20 * 1000000ll)   /* how long a fork waits to see every hammer frozen */
#define FREEZE_MAX_NS (20 * 1000000ll)   /* a freeze's bound when the fork never comes */
#define FORKING_MAX_NS (2 * 1000000ll)   /* ... and once fork() was called (see above) */
#define HOLD_POLL_NS 500000ll
#define ARM_MIN_NS 5000
#define ARM_SPAN_NS 30000                /* timers fire 5 to 35 us ahead: a fresh point */

enum { H_IDLE, H_FROZEN };

typedef struct hammer {
    struct hammers *h;
    uint32_t go;        /* 0: park, 1: run, 2: exit */
    uint32_t in_call;   /* 1 while inside an allocator call */
    uint32_t parked;    /* 1 while waiting for go */
    uint32_t ready;     /* 1: the thread made its timer (2: it could not) */
    uint32_t state;
    uint32_t frozen_in; /* h->thaws when the hammer froze */
    uint64_t calls;
    uint64_t rng;
    bool started;
    timer_t timer;
    void *stack;
    pthread_t tid;
} hammer_t;

struct hammers {
    const alloc_t *a;
    unsigned running;
    uint32_t thaws;     /* futex word: bumped when the fork is done */
    uint32_t answers;   /* futex word: bumped at each freeze, which the forking thread awaits */
    int64_t fork_at;    /* when fork() was called; 0 while none is under way */
    struct sigaction old;
    hammer_t m[HAMMERS];
};

static int freeze_signal(void)
{
    return SIGRTMAX - 3;
}

static void futex_wait(uint32_t *w, uint32_t v, int64_t ns)
{
    struct timespec ts = { ns / 1000000000ll, ns % 1000000000ll };
    syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, ns ? &ts : NULL, NULL, 0);
}

static void futex_wake(uint32_t *w, int n)
{
    syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
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

/* Sets m's timer a random few microseconds ahead. Async-signal-safe. */
static void arm(hammer_t *m)
{
    m->rng = m->rng * 6364136223846793005ull + 1442695040888963407ull;
    struct itimerspec it = { .it_value = { 0, ARM_MIN_NS + (long)((m->rng >> 33) % ARM_SPAN_NS) } };
    timer_settime(m->timer, 0, &it, NULL);
}

/* In the signal handler: waits while the fork this freeze is for is not done, bounded. */
static void hold(hammers_t *h, uint32_t thaws)
{
    int64_t t0 = now_ns();
    for (;;) {
        int64_t t = now_ns(), at = __atomic_load_n(&h->fork_at, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&h->thaws, __ATOMIC_ACQUIRE) != thaws || t - t0 > FREEZE_MAX_NS
            || (at && t - at > FORKING_MAX_NS))
            return;
        futex_wait(&h->thaws, thaws, HOLD_POLL_NS);
    }
}

/* The timer's signal: inside a call the hammer stays there for the fork; outside one (or
 * parked) it tries again a little later. A signal after the fork (go 0) does nothing. */
static void on_freeze(int sig, siginfo_t *si, void *uc)
{
    hammer_t *m = si->si_code == SI_TIMER ? si->si_value.sival_ptr : NULL;
    (void)sig, (void)uc;
    if (!m || __atomic_load_n(&m->go, __ATOMIC_ACQUIRE) != 1)
        return;
    int saved = errno;
    if (!__atomic_load_n(&m->in_call, __ATOMIC_RELAXED)) {
        arm(m);
    } else {
        hammers_t *h = m->h;
        uint32_t thaws = __atomic_load_n(&h->thaws, __ATOMIC_ACQUIRE);
        m->frozen_in = thaws;
        __atomic_store_n(&m->state, H_FROZEN, __ATOMIC_RELEASE);
        __atomic_add_fetch(&h->answers, 1, __ATOMIC_RELEASE);
        futex_wake(&h->answers, 1);
        hold(h, thaws);
        __atomic_store_n(&m->state, H_IDLE, __ATOMIC_RELEASE);
    }
    errno = saved;
}

/* The timer signals this thread only: it is made here, where the thread's id is known. */
static bool make_timer(hammer_t *m)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, freeze_signal());
    struct sigevent ev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = freeze_signal(),
                           .sigev_value.sival_ptr = m };
    ev._sigev_un._tid = gettid();   /* sigev_notify_thread_id, which glibc 2.36 lacks */
    return !pthread_sigmask(SIG_UNBLOCK, &s, NULL)
        && !timer_create(CLOCK_MONOTONIC, &ev, &m->timer);
}

/* Once fork() was called, a hammer that left its freeze (see hold) makes no new call: it
 * would only spin until the fork is done. True when it waited. */
static bool wait_fork(hammers_t *h)
{
    uint32_t thaws = __atomic_load_n(&h->thaws, __ATOMIC_ACQUIRE);
    if (!__atomic_load_n(&h->fork_at, __ATOMIC_ACQUIRE))
        return false;
    futex_wait(&h->thaws, thaws, HOLD_POLL_NS);
    return true;
}

static void *hammer_main(void *arg)
{
    hammer_t *m = arg;
    __atomic_store_n(&m->ready, make_timer(m) ? 1 : 2, __ATOMIC_RELEASE);
    futex_wake(&m->ready, 1);
    for (;;) {
        uint32_t g;
        __atomic_store_n(&m->parked, 1, __ATOMIC_RELEASE);
        while ((g = __atomic_load_n(&m->go, __ATOMIC_ACQUIRE)) == 0)
            futex_wait(&m->go, 0, 0);
        if (g == 2)
            break;
        __atomic_store_n(&m->parked, 0, __ATOMIC_RELEASE);
        while (__atomic_load_n(&m->go, __ATOMIC_ACQUIRE) == 1)
            if (!wait_fork(m->h))
                one_call(m);
    }
    if (m->ready == 1)
        timer_delete(m->timer);
    return NULL;
}

hammers_t *hammers_new(const alloc_t *a)
{
    hammers_t *h = mmap(NULL, sizeof *h, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    if (h == MAP_FAILED)
        return NULL;
    struct sigaction sa = { .sa_sigaction = on_freeze, .sa_flags = SA_SIGINFO | SA_RESTART };
    sigfillset(&sa.sa_mask);
    if (sigaction(freeze_signal(), &sa, &h->old)) {
        int err = errno;
        munmap(h, sizeof *h);
        errno = err;
        return NULL;
    }
    h->a = a;
    for (unsigned i = 0; i < HAMMERS; i++) {
        h->m[i].h = h;
        h->m[i].rng = i + 1;
    }
    return h;
}

static int start_thread(hammer_t *m)
{
    pthread_attr_t attr;
    int r = pthread_attr_init(&attr);
    if (!r)
        r = pthread_attr_setstack(&attr, m->stack, HAMMER_STACK);
    m->go = 0;
    m->parked = 0;
    m->ready = 0;
    m->state = H_IDLE;
    if (!r)
        r = pthread_create(&m->tid, &attr, hammer_main, m);
    pthread_attr_destroy(&attr);
    if (r)
        return -r;
    m->started = true;
    while (!__atomic_load_n(&m->ready, __ATOMIC_ACQUIRE))
        futex_wait(&m->ready, 0, 0);
    return m->ready == 1 ? 0 : -EAGAIN;
}

static int ensure_hammer(hammer_t *m)
{
    if (m->started)
        return m->ready == 1 ? 0 : -EAGAIN;
    if (!m->stack) {
        void *s = mmap(NULL, HAMMER_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
        if (s == MAP_FAILED)
            return -errno;
        m->stack = s;
    }
    return start_thread(m);
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
    h->running = n;
    return 0;
}

static void set_go(hammers_t *h, uint32_t go)
{
    for (unsigned i = 0; i < h->running; i++) {
        __atomic_store_n(&h->m[i].go, go, __ATOMIC_RELEASE);
        if (go)
            futex_wake(&h->m[i].go, 1);
    }
}

static unsigned frozen(hammers_t *h)
{
    unsigned n = 0;
    uint32_t thaws = __atomic_load_n(&h->thaws, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < h->running; i++)
        n += __atomic_load_n(&h->m[i].state, __ATOMIC_ACQUIRE) == H_FROZEN
             && h->m[i].frozen_in == thaws;
    return n;
}

void hammers_freeze(hammers_t *h)
{
    set_go(h, 1);
    for (unsigned i = 0; i < h->running; i++)
        arm(&h->m[i]);
    int64_t until = now_ns() + READY_WAIT_NS;
    for (;;) {
        uint32_t seen = __atomic_load_n(&h->answers, __ATOMIC_ACQUIRE);
        int64_t left = until - now_ns();
        if (frozen(h) == h->running || left <= 0)
            break;
        futex_wait(&h->answers, seen, left);
    }
    __atomic_store_n(&h->fork_at, now_ns(), __ATOMIC_RELEASE);
}

void hammers_thaw(hammers_t *h)
{
    set_go(h, 0);
    __atomic_store_n(&h->fork_at, 0, __ATOMIC_RELEASE);
    __atomic_add_fetch(&h->thaws, 1, __ATOMIC_RELEASE);
    futex_wake(&h->thaws, HAMMERS);
}

void hammers_stop(hammers_t *h)
{
    set_go(h, 0);
    for (unsigned i = 0; i < h->running; i++)
        while (!__atomic_load_n(&h->m[i].parked, __ATOMIC_ACQUIRE))
            futex_wait(&h->m[i].parked, 0, 100000);
    h->running = 0;
}

void hammers_forget(hammers_t *h)
{
    for (unsigned i = 0; i < HAMMERS; i++)
        h->m[i].started = false;
    h->running = 0;
    h->fork_at = 0;
}

void hammers_free(hammers_t *h)
{
    if (!h)
        return;
    for (unsigned i = 0; i < HAMMERS; i++) {
        hammer_t *m = &h->m[i];
        if (m->started) {
            __atomic_store_n(&m->go, 2, __ATOMIC_RELEASE);
            futex_wake(&m->go, 1);
            pthread_join(m->tid, NULL);
        }
        if (m->stack)
            munmap(m->stack, HAMMER_STACK);
    }
    sigaction(freeze_signal(), &h->old, NULL);
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
