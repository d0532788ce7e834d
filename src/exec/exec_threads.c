/* The burst runner (see exec_threads.h): the `thread T` ops of a trace run at once, so an
 * allocator's locked and lock-free paths really race, while the shadow model stays exact.
 * Why bursts: two threads working on one slot at once would race in the harness itself (who
 * frees first is then a coin toss, and the shadow cannot say which block is whose), so a
 * burst ends where a slot changes hands; ops on different slots commute in the shadow, so a
 * burst's ops can run in any interleaving and every promise is still judged exactly (the
 * shadow's index is locked around each lookup and update, never around an allocator call).
 * A `check` op reads every block: it runs alone; so does a `fork`, whose children read every
 * block (one another thread is filling would look corrupt) and whose hammers are shared.
 * Why a barrier at both ends and a seeded start delay: the barrier makes every thread start
 * its share of a burst together (a wakeup costs far more than an allocator call, so threads
 * woken one by one would seldom overlap), and the delay, a function of the seed, the burst
 * and the thread, shifts who reaches the allocator first, reproducibly for one seed.
 * Leaves out: which op of one thread meets which op of another; that is the CPUs' to say. */
#include "src/exec/exec_threads.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Long enough that threads overlap for many allocator calls; short enough that a slow
 * thread keeps the others at the barrier only briefly. */
#define BURST_MAX_OPS 512
/* Pause rounds at a barrier before sleeping: a few microseconds, since on a machine with
 * fewer free cores than threads a spinning thread starves the one it waits for. */
#define SPIN_ROUNDS 256
/* Pause rounds of the longest start delay (about a microsecond on current CPUs). */
#define DELAY_MAX 64

struct conc {
    uint64_t seed;
    const trace_t *t;
    size_t lo, hi;            /* the burst: ops [lo, hi) */
    unsigned first;           /* the thread running at lo */
    uint32_t burst;           /* this run's burst number: the delays' input */
    /* Runs are numbered; a worker returns once `ended` has reached the run it was woken for.
     * A flag reset by the next run could be read by a worker still leaving the last barrier.
     * Reached, not equal: such a worker may read `ended` only after later runs that left it
     * out (3 threads or more) ended too, and one that took that for a burst ran another
     * run's ops (seen: false double frees, contents findings and barrier stalls). */
    uint32_t run, ended;
    unsigned parties;         /* threads at each barrier */
    uint32_t arrived, phase, sleepers;   /* the barrier */
    uint32_t running, go_base;          /* the start rendezvous (see rendezvous) */
    bool wide;                /* two threads or more, WIDE_OPS ops or more (see place) */
    uint32_t stamp;           /* bursts planned by this runner: marks owner[] entries */
    uint32_t owned[OPS_SLOTS];          /* stamp of the burst that last claimed the slot */
    uint8_t owner[OPS_SLOTS];           /* the thread that claimed it */
    cpu_set_t mask0;          /* thread 0's CPUs, given back after each run */
    int cpu[OPS_THREADS];     /* each thread's CPU in a wide burst (-1: anywhere) */
    int at[OPS_THREADS];      /* the CPU each thread is pinned to now (-1: unknown) */
    size_t map_len;
};

conc_t *conc_new(uint64_t seed)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = (sizeof(conc_t) + page - 1) & ~(page - 1);
    conc_t *c = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED)
        return NULL;
    c->seed = seed;
    c->map_len = len;
    for (unsigned i = 0; i < OPS_THREADS; i++)
        c->cpu[i] = c->at[i] = -1;
    return c;
}

void conc_free(conc_t *c)
{
    if (c)
        munmap(c, c->map_len);
}

bool conc_wanted(const trace_t *t)
{
    for (size_t i = 0; i < t->len; i++)
        if (t->ops[i].kind == OP_THREAD && t->ops[i].slot % OPS_THREADS)
            return true;
    return false;
}

/* The threads with ops in t, thread 0 always (it plans the bursts), as a bit mask. */
static unsigned threads_of(const trace_t *t)
{
    unsigned mask = 1;
    for (size_t i = 0; i < t->len; i++)
        if (t->ops[i].kind == OP_THREAD)
            mask |= 1u << (t->ops[i].slot % OPS_THREADS);
    return mask;
}

/* ---- the barrier: spin briefly, then sleep on a futex ---- */

static void futex(uint32_t *w, int op, uint32_t val)
{
    syscall(SYS_futex, w, op, val, NULL, NULL, 0);
}

static void barrier(conc_t *c, bool spin)
{
    uint32_t phase = __atomic_load_n(&c->phase, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&c->arrived, 1, __ATOMIC_ACQ_REL) == c->parties) {
        __atomic_store_n(&c->arrived, 0, __ATOMIC_RELAXED);
        c->go_base = __atomic_load_n(&c->running, __ATOMIC_RELAXED);
        __atomic_store_n(&c->phase, phase + 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&c->sleepers, __ATOMIC_SEQ_CST))
            futex(&c->phase, FUTEX_WAKE_PRIVATE, INT_MAX);
        return;
    }
    for (unsigned i = 0; spin && i < SPIN_ROUNDS; i++) {
        if (__atomic_load_n(&c->phase, __ATOMIC_ACQUIRE) != phase)
            return;
        __builtin_ia32_pause();
    }
    __atomic_add_fetch(&c->sleepers, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&c->phase, __ATOMIC_SEQ_CST) == phase)
        futex(&c->phase, FUTEX_WAIT_PRIVATE, phase);
    __atomic_sub_fetch(&c->sleepers, 1, __ATOMIC_SEQ_CST);
}

/* A burst this long is "wide": pinned (see place) and started with a rendezvous; in a
 * shorter one the threads seldom meet anyway. */
#define WIDE_OPS 64
/* How long a thread waits, after the start barrier, for the others to be running too. */
#define RENDEZVOUS_US 200

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* After the start barrier: waits (briefly) until every thread of the burst is past it. A
 * thread woken from the futex takes tens of microseconds to run, and the one that woke it
 * would otherwise be through much of its share alone. */
static void rendezvous(conc_t *c)
{
    uint32_t want = c->go_base + c->parties;
    __atomic_add_fetch(&c->running, 1, __ATOMIC_ACQ_REL);
    uint64_t end = 0;
    for (unsigned i = 0;; i++) {
        if ((int32_t)(__atomic_load_n(&c->running, __ATOMIC_ACQUIRE) - want) >= 0)
            return;
        __builtin_ia32_pause();
        if (i % 64)
            continue;
        uint64_t now = now_us();
        if (!end)
            end = now + RENDEZVOUS_US;
        else if (now >= end)
            return;
    }
}

/* ---- placement: one CPU per thread ---- */

static void pin(int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    sched_setaffinity(0, sizeof one, &one);
}

/* In a wide burst each thread runs on its own CPU, the next ones after thread 0's among
 * those it may use: left to the scheduler, a worker woken by thread 0 is mostly queued on
 * thread 0's CPU and runs only once thread 0 waits (measured: the threads' shares of a burst
 * overlapped 2 % of the time on 2 loaded CPUs, 20 % pinned). In a narrow burst every thread
 * shares thread 0's CPU, as the turns do: the threads seldom meet in a few ops anyway, and a
 * wakeup on the same CPU is a context switch, while one on another busy CPU waits for it
 * (pinned apart for whole runs: 3.5x fewer ops/s with 2 threads at load 25 on 2 CPUs). This
 * picks the CPUs and pins thread 0 for the run; slice() moves the others. */
static void place(conc_t *c, unsigned used)
{
    int cpu0 = sched_getcpu();
    for (unsigned i = 0; i < OPS_THREADS; i++)
        c->cpu[i] = -1;
    c->at[0] = -1;
    if (cpu0 < 0 || sched_getaffinity(0, sizeof c->mask0, &c->mask0))
        return;
    int n = CPU_COUNT(&c->mask0), k = 0;
    if (n < 2)
        return;
    for (unsigned i = 0; i < OPS_THREADS; i++) {
        if (!(used & (1u << i)))
            continue;
        int cpu = cpu0;
        for (int step = k++ % n; step > 0; step--)
            do
                cpu = (cpu + 1) % CPU_SETSIZE;
            while (!CPU_ISSET(cpu, &c->mask0));
        c->cpu[i] = cpu;
    }
    pin(cpu0);
    c->at[0] = cpu0;
}

/* Whether a thread spins at a barrier before it sleeps: only when its CPU is not thread 0's
 * (spinning on a shared CPU holds off the thread it waits for). */
static bool spins(const conc_t *c, unsigned self)
{
    return c->at[self] != c->cpu[0] || (self == 0 && c->wide);
}

/* ---- the schedule ---- */

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void start_delay(const conc_t *c, unsigned self)
{
    uint64_t n = mix(c->seed ^ ((uint64_t)c->burst << 8) ^ self) % DELAY_MAX;
    for (uint64_t i = 0; i < n; i++)
        __builtin_ia32_pause();
}

/* Claims slot s for thread cur in the burst being planned; false if another thread has it. */
static bool claim(conc_t *c, unsigned s, unsigned cur)
{
    if (c->owned[s] == c->stamp && c->owner[s] != cur)
        return false;
    c->owned[s] = c->stamp;
    c->owner[s] = (uint8_t)cur;
    return true;
}

/* Plans the burst from lo, where thread *cur runs: it ends before the first op on a slot
 * another thread of the burst has touched, before a `check` or `fork` (which run alone), or after
 * BURST_MAX_OPS ops. Returns its end; *cur becomes the thread running there, *mask the
 * threads with ops in the burst. */
static size_t plan(conc_t *c, size_t lo, unsigned *cur, unsigned *mask)
{
    const trace_t *t = c->t;
    if (++c->stamp == 0) {
        memset(c->owned, 0, sizeof c->owned);
        c->stamp = 1;
    }
    size_t i = lo, n = 0;
    *mask = 0;
    for (; i < t->len; i++) {
        const op_t *op = &t->ops[i];
        if (op->kind == OP_THREAD) {
            *cur = op->slot % OPS_THREADS;
            continue;
        }
        bool check = op->kind == OP_CHECK || op->kind == OP_FORK;   /* runs alone */
        if ((check && n) || (!check && !claim(c, op->slot % OPS_SLOTS, *cur)))
            break;
        *mask |= 1u << *cur;
        if (check || ++n == BURST_MAX_OPS) {
            i++;
            break;
        }
    }
    return i;
}

/* Thread self's ops of the current burst, in trace order; a wide one on its own CPU, once
 * every thread is running. */
static void slice(exec_t *e, conc_t *c, unsigned self)
{
    int want = c->wide ? c->cpu[self] : c->cpu[0];
    if (want >= 0 && c->at[self] != want)
        pin(want);
    c->at[self] = want;
    if (c->wide)
        rendezvous(c);
    start_delay(c, self);
    unsigned cur = c->first;
    for (size_t i = c->lo; i < c->hi && !exec_halted(e); i++) {
        const op_t *op = &c->t->ops[i];
        if (op->kind == OP_THREAD)
            cur = op->slot % OPS_THREADS;
        else if (cur == self)
            exec_step(e, i, self);
    }
}

void conc_worker(exec_t *e, conc_t *c, unsigned self)
{
    uint32_t run = __atomic_load_n(&c->run, __ATOMIC_ACQUIRE);
    c->at[self] = -1;   /* a worker started afresh inherits thread 0's CPU */
    for (;;) {
        barrier(c, spins(c, self));
        if ((int32_t)(__atomic_load_n(&c->ended, __ATOMIC_ACQUIRE) - run) >= 0)
            return;
        slice(e, c, self);
        barrier(c, spins(c, self));
    }
}

/* Wakes the workers t uses (the barrier counts them all before the first is woken); on a
 * failure the ones already woken are sent home. */
static int wake_workers(exec_t *e, conc_t *c, unsigned used)
{
    unsigned woken = 1;
    c->parties = (unsigned)__builtin_popcount(used);
    for (unsigned id = 1; id < OPS_THREADS; id++) {
        if (!(used & (1u << id)))
            continue;
        int r = exec_start_worker(e, id);
        if (r < 0) {
            __atomic_store_n(&c->parties, woken, __ATOMIC_SEQ_CST);
            __atomic_store_n(&c->ended, c->run, __ATOMIC_RELEASE);
            barrier(c, spins(c, 0));
            return r;
        }
        woken++;
    }
    return 0;
}

int conc_run(exec_t *e, conc_t *c, const trace_t *t)
{
    c->t = t;
    __atomic_add_fetch(&c->run, 1, __ATOMIC_RELEASE);
    c->burst = 0;
    unsigned used = threads_of(t);
    place(c, used);
    int r = wake_workers(e, c, used);
    if (r < 0)
        return r;
    exec_set_bursts(e, true, 0);
    size_t pc = 0;
    unsigned cur = 0;
    while (pc < t->len && !exec_halted(e)) {
        unsigned first = cur, mask;
        size_t hi = plan(c, pc, &cur, &mask);
        c->lo = pc;
        c->hi = hi;
        c->first = first;
        bool alone = !(mask & ~1u);   /* only thread 0: no barrier needed */
        c->wide = !alone && hi - pc >= WIDE_OPS;
        if (!alone)
            barrier(c, spins(c, 0));
        slice(e, c, 0);
        if (!alone)
            barrier(c, spins(c, 0));
        c->burst++;
        exec_set_bursts(e, true, hi - pc);
        pc = hi;
    }
    __atomic_store_n(&c->ended, c->run, __ATOMIC_RELEASE);
    barrier(c, spins(c, 0));
    exec_set_bursts(e, false, 0);
    if (c->cpu[0] >= 0)
        sched_setaffinity(0, sizeof c->mask0, &c->mask0);
    return 0;
}
