/* The executor (see exec.h): runs ops against the allocator under test and checks the oracles
 * (docs/ARCHITECTURE.md, Executor and shadow model) against the shadow model. Thread 0 is the
 * caller's thread; `thread T` (T > 0) hands the ops that follow to worker T, created once per
 * exec_t on an mmap'ed stack. Exactly one thread runs at a time (a futex handoff), so a trace
 * replays identically; with opts.concurrent they run at once in bursts (src/exec/exec_threads.c),
 * and every use of the shadow's shared index goes through sh_lock (never an allocator call).
 * Slot semantics beyond ops.h, chosen here:
 *  - `free S` on an empty slot calls free(NULL) (C17 7.22.3.3p2: no action occurs).
 *  - `free_sized S` uses free_sized for malloc/calloc/realloc blocks (C23 7.24.3.4), and for
 *    aligned_alloc blocks free_aligned_sized when present (free_sized is undefined there),
 *    else free. `free_aligned_sized S` uses it for aligned_alloc blocks only (C23 7.24.3.5);
 *    malloc-family blocks get free_sized when present, the rest free. Each op is skipped when
 *    its own function is absent.
 *  - realloc(p, 0) returning NULL counts as having freed p (glibc does; the other reading
 *    leaks at worst, while a wrong guess the other way would double-free).
 * After a contents or overlap finding, or a block returned for a request that must fail, the
 * heap may be corrupt: nothing more is freed (the blocks leak) so the finding cannot turn into
 * a crash or a hang during cleanup.
 * Declarations (alloc_t, docs/FUZZING.md "Declarations"): an alignment the allocator may
 * refuse (alloc_may_refuse_align) may fail; NO_ERRNO judges no errno; a FIXED_HEAP NULL is a
 * capacity failure unless nothing is live and the request takes at most half the heap;
 * DELAYED_REUSE turns a NULL from the end-of-run reuse probe into no finding.
 * Requests that are valid but cannot be met (above what this process may map: RLIMIT_AS,
 * else 2^57, more than any x86_64 address space holds) may fail and are run whatever the live
 * budget; one that succeeds is freed unwritten. A failed realloc of a live block must leave
 * it live: a malloc of its size may not land in it, its contents and usable size stay. */
#include "src/exec/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/exec/exec_threads.h"
#include "src/exec/exec_fork.h"
#include "src/exec/shadow.h"
#include "src/footprint/measure.h"

#define WORKER_STACK_SIZE (1u << 20)
/* errno before each allocating call and each free: odd and far above any E* value, so no
 * allocator sets it, and a failure that leaves it is told apart from one that sets 0. */
#define ERRNO_SENTINEL 0x5eed5eed
#define MEMPTR_SENTINEL ((void *)(uintptr_t)0x5eed0001)
/* No user-space address on x86_64 (even with 5-level paging) is a multiple of this: a
 * request for this alignment can only fail. */
#define ALIGN_IMPOSSIBLE ((size_t)1 << 56)
/* No x86_64 address space (5-level paging: 2^56 bytes for user space) maps a block this big. */
#define MAP_IMPOSSIBLE ((size_t)1 << 57)

enum { H_EXEC, H_TRACE, H_FINDING, H_PROGRESS, H_STACK0 };

typedef struct worker {
    struct exec *e;
    unsigned id;
    bool started;
    bool in_turns;      /* inside run_ops: between turns runs it waits there for its next turn */
    uint32_t go;        /* 0: not its turn, 1: its turn, 2: asleep waiting for it */
    void *stack;
    pthread_t tid;
} worker_t;

struct exec {
    shadow_t sh;
    const alloc_t *a;
    exec_opts_t o;
    size_t page;
    size_t map_len;
    pid_t pid;
    /* the current run */
    const trace_t *t;
    size_t pc;
    volatile size_t *progress;
    int result;
    bool quit;
    bool heap_suspect;
    size_t reuse_max, reuse_last;
    size_t reuse_probe[2];  /* what check_reuse allocated (exec_stats_t) */
    finding_t finding;
    uint64_t ops, skipped;
    worker_t w[OPS_THREADS];
    hammers_t *hammers;     /* for `fork B` with B > 0, made on first use */
    size_t map_limit;       /* requests above this cannot be met (see the file comment) */
    /* co-location (see colocate) */
    bool pinned;            /* thread 0 is pinned; mask0 holds its own mask */
    unsigned pinned_runs;   /* runs since it was pinned */
    int cpu;                /* the CPU the workers are pinned to, or -1 */
    cpu_set_t mask0;
    /* real concurrency (src/exec/exec_threads.c) */
    conc_t *conc;           /* the burst runner, or NULL (opts.concurrent off) */
    bool turns_now;         /* this run takes turns although conc is there (a mixed schedule) */
    bool draining;          /* workers leave run_ops at their next turn (see leave_turns) */
    bool conc_on;           /* a burst runs: the shadow index is shared */
    uint32_t found;         /* a thread has filled `finding` in this run */
    pthread_mutex_t sh_mu;  /* guards the shadow's index while conc_on */
};

/* The op each thread is running in a burst (a finding names it). */
static __thread size_t tl_pc;

static inline void sh_lock(exec_t *e)
{
    if (e->conc_on)
        pthread_mutex_lock(&e->sh_mu);
}

static inline void sh_unlock(exec_t *e)
{
    if (e->conc_on)
        pthread_mutex_unlock(&e->sh_mu);
}

/* An allocation request, normalized. */
typedef struct req {
    size_t size;        /* bytes (nmemb * size for calloc/reallocarray) */
    size_t align;       /* alignment the result must have */
    size_t budget;      /* live bytes it may consume */
    bool must_fail;     /* only NULL is correct */
    bool may_fail;      /* NULL is acceptable */
    bool unmeetable;    /* valid, but above what the process may map: NULL is expected */
} req_t;

static const char *const kind_names[OP_COUNT] = {
    "malloc", "calloc", "realloc", "reallocarray", "aligned_alloc", "posix_memalign",
    "memalign", "valloc", "pvalloc", "free", "free_sized", "free_aligned_sized", "usable",
    "check", "thread", "fork",
};

void exec_opts_default(exec_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->check = CHECK_LEVEL_FULL;
    o->max_live = (size_t)256 << 20;
    o->malloc_align = 16;
    o->check_errno = true;
    o->seed = 0x616c6c6f63686b31ull;
}

__attribute__((format(printf, 3, 4)))
static int finding(exec_t *e, const char *oracle, const char *fmt, ...)
{
    finding_t *f = &e->finding;
    size_t pc = e->conc_on ? tl_pc : e->pc;
    if (e->conc_on && __atomic_exchange_n(&e->found, 1, __ATOMIC_ACQ_REL))
        return 1;   /* another thread's finding came first: this one only stops */
    snprintf(f->oracle, sizeof f->oracle, "%s", oracle);
    f->op_index = pc;
    f->line = pc < e->t->len ? e->t->ops[pc].line : 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
    if (!strcmp(oracle, ORACLE_CONTENTS) || !strcmp(oracle, ORACLE_OVERLAP))
        e->heap_suspect = true;
    return 1;
}

/* ---- threads: a one-at-a-time handoff ---- */

static void give_turn(exec_t *e, unsigned to)
{
    if (__atomic_exchange_n(&e->w[to].go, 1, __ATOMIC_SEQ_CST) == 2)
        syscall(SYS_futex, &e->w[to].go, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Sleeps at once rather than spinning: on a machine with fewer free cores than threads (CI,
 * a loaded fuzzing box) spinning starves the thread that has the turn; measured 2-3x slower
 * handoffs with even 50 pause rounds on 2 busy cores. */
static void await_turn(exec_t *e, unsigned self)
{
    uint32_t *go = &e->w[self].go;
    for (;;) {
        uint32_t v = 0;
        if (__atomic_compare_exchange_n(go, &v, 2, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)
            || v == 2)
            syscall(SYS_futex, go, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        else if (v == 1)
            break;
    }
    __atomic_store_n(go, 0, __ATOMIC_RELAXED);
}

/* Exactly one harness thread runs at a time, so once a run hands off between threads, all of
 * them share the CPU thread 0 is on: a handoff is then a context switch on that CPU instead of
 * a wakeup across CPUs (3.4 against 9 us a round trip, measured on 2 vCPUs), and nothing is
 * lost. Thread 0 gets its own mask back every PIN_RUNS runs (and when the executor goes), so
 * the scheduler can still move parallel fuzzers apart; restoring it after every run cost a
 * third of the gain in syscalls. Workers are re-pinned only when thread 0 is pinned afresh on
 * another CPU; a new worker inherits the mask of the thread that creates it. Opt out:
 * opts.spread_threads. */
#define PIN_RUNS 64

static void colocate(exec_t *e)
{
    if (e->o.spread_threads || e->pinned || sched_getaffinity(0, sizeof e->mask0, &e->mask0))
        return;
    int cpu = sched_getcpu();
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (cpu < 0 || sched_setaffinity(0, sizeof one, &one))
        return;
    e->pinned = true;
    e->pinned_runs = 0;
    if (cpu == e->cpu)
        return;
    e->cpu = cpu;
    for (unsigned i = 1; i < OPS_THREADS; i++)
        if (e->w[i].started)
            pthread_setaffinity_np(e->w[i].tid, sizeof one, &one);
}

/* Called on thread 0 after each run; `now` restores its mask at once. */
static void uncolocate(exec_t *e, bool now)
{
    if (!e->pinned || (!now && ++e->pinned_runs < PIN_RUNS))
        return;
    sched_setaffinity(0, sizeof e->mask0, &e->mask0);
    e->pinned = false;
}

static void run_ops(exec_t *e, unsigned self);

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    exec_t *e = w->e;
    await_turn(e, w->id);
    while (!e->quit) {
        bool bursts = e->conc && !e->turns_now;   /* set before this worker was woken */
        if (bursts) {
            conc_worker(e, e->conc, w->id);   /* bursts until the run ends */
        } else {
            w->in_turns = true;
            run_ops(e, w->id);
            w->in_turns = false;
        }
        if (e->quit)
            break;
        if (!bursts)
            give_turn(e, 0);    /* the trace ended (or a finding) on this thread */
        await_turn(e, w->id);
    }
    return NULL;
}

static int ensure_worker(exec_t *e, unsigned id)
{
    worker_t *w = &e->w[id];
    if (w->started)
        return 0;
    if (!w->stack) {
        void *s = mmap(NULL, WORKER_STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
        if (s == MAP_FAILED)
            return -errno;
        mprotect(s, e->page, PROT_NONE);  /* guard page */
        w->stack = s;
        footprint_exclude(s, WORKER_STACK_SIZE);
        shadow_set_harness(&e->sh, H_STACK0 + id - 1, s, WORKER_STACK_SIZE);
    }
    pthread_attr_t attr;
    int r = pthread_attr_init(&attr);
    if (!r)
        r = pthread_attr_setstack(&attr, w->stack, WORKER_STACK_SIZE);
    if (!r)
        r = pthread_create(&w->tid, &attr, worker_main, w);
    pthread_attr_destroy(&attr);
    if (r)
        return -r;
    w->started = true;
    return 0;
}

/* ---- pattern verification ---- */

/* Whether a len-byte block is checked by its sampled set: in sampled mode, and in full mode
 * above opts.full_check_max. A function of len alone, so a block's fill and its later checks
 * agree (a realloc from a sampled to a fully checked size rewrites the kept prefix). */
static bool sampled_for(const exec_t *e, size_t len)
{
    return e->o.check == CHECK_LEVEL_SAMPLED
        || (e->o.full_check_max && len > e->o.full_check_max);
}

/* The first bad byte of a len-byte block (below limit), or SIZE_MAX: every byte in full
 * mode, the sampled set in sampled mode. */
static size_t find_bad(const exec_t *e, const void *p, size_t len, size_t limit, uint64_t key,
                       bool zero)
{
    if (sampled_for(e, len))
        return shadow_find_bad_sampled(p, len, limit, key, zero);
    len = len < limit ? len : limit;
    return zero ? shadow_find_nonzero(p, 0, len) : shadow_find_bad(p, 0, len, key);
}

/* Writes the pattern over [from, len) in full mode, over the sampled set in sampled mode. */
static void fill_block(const exec_t *e, void *p, size_t from, size_t len, uint64_t key)
{
    if (sampled_for(e, len))
        shadow_fill_sampled(p, len, key);
    else
        shadow_fill(p, from, len, key);
}

static int verify_block(exec_t *e, unsigned slot, const char *oracle, const char *when)
{
    const shadow_block_t *b = &e->sh.slot[slot];
    if (e->o.check == CHECK_LEVEL_NONE)
        return 0;
    size_t off = find_bad(e, (void *)b->ptr, b->extent, b->extent, b->key, false);
    if (off == SIZE_MAX)
        return 0;
    return finding(e, oracle,
                   "%s: slot %u (%s of %zu bytes at %p, thread %u) byte %zu: expected 0x%02x, "
                   "found 0x%02x", when, slot, kind_names[b->origin], b->size, (void *)b->ptr,
                   b->thread, off, shadow_pattern_byte(b->key, off),
                   ((const uint8_t *)b->ptr)[off]);
}

/* ---- freeing ---- */

typedef enum free_how { FREE_PLAIN, FREE_SIZED, FREE_ALIGNED_SIZED } free_how_t;

static bool malloc_family(uint8_t origin)
{
    return origin == OP_MALLOC || origin == OP_CALLOC || origin == OP_REALLOC
        || origin == OP_REALLOCARRAY;
}

/* Which free variant an op uses for a block (see the file comment). */
static free_how_t free_variant(const alloc_t *a, op_kind_t kind, uint8_t origin)
{
    bool sized = a->free_sized != NULL, aligned = a->free_aligned_sized != NULL;
    if (kind == OP_FREE_SIZED || kind == OP_FREE_ALIGNED_SIZED) {
        if (malloc_family(origin) && sized)
            return FREE_SIZED;
        if (origin == OP_ALIGNED_ALLOC && aligned)
            return FREE_ALIGNED_SIZED;
    }
    return FREE_PLAIN;
}

static void call_free(exec_t *e, free_how_t how, const shadow_block_t *b)
{
    const alloc_t *a = e->a;
    void *p = (void *)b->ptr;
    if (how == FREE_SIZED)
        a->free_sized(a->ctx, p, b->size);
    else if (how == FREE_ALIGNED_SIZED)
        a->free_aligned_sized(a->ctx, p, b->align, b->size);
    else if (a->free)
        a->free(a->ctx, p);
}

static const char *errno_name(int err)
{
    const char *n = strerrorname_np(err);
    return n ? n : "?";
}

static int check_free_errno(exec_t *e, int after, const char *fn)
{
    if (!e->o.check_errno || e->o.check == CHECK_LEVEL_NONE || after == ERRNO_SENTINEL)
        return 0;
    /* POSIX.1-2024 free(): "shall not modify errno" for a valid pointer. */
    return finding(e, ORACLE_ERRNO, "%s changed errno (set to a sentinel before the call) to "
                   "%d (%s)", fn, after, errno_name(after));
}

/* Verifies the block of slot, forgets it and frees it. */
static int release(exec_t *e, unsigned slot, free_how_t how, const char *when)
{
    static const char *const how_names[] = { "free", "free_sized", "free_aligned_sized" };
    if (verify_block(e, slot, ORACLE_CONTENTS, when))
        return 1;
    shadow_block_t b = e->sh.slot[slot];
    sh_lock(e);
    shadow_remove(&e->sh, slot);
    sh_unlock(e);
    errno = ERRNO_SENTINEL;
    call_free(e, how, &b);
    return check_free_errno(e, errno, how_names[how]);
}

/* ---- allocation requests ---- */

static bool is_pow2(size_t x)
{
    return x && !(x & (x - 1));
}

static size_t floor_pow2(size_t x)
{
    return x ? (size_t)1 << (63 - __builtin_clzll(x)) : 1;
}

static size_t malloc_align_for(const exec_t *e, size_t size)
{
    size_t al = e->o.malloc_align;
    /* C23 7.24.3p1: the pointer is suitably aligned for any type that fits in the size. */
    if (e->o.size_dependent_align && floor_pow2(size ? size : 1) < al)
        al = floor_pow2(size ? size : 1);
    return al;
}

static void make_req(const exec_t *e, const op_t *op, req_t *r)
{
    size_t n = op->size, al = op->align;
    bool ovf = false;
    if (op->kind == OP_CALLOC || op->kind == OP_REALLOCARRAY)
        ovf = __builtin_mul_overflow((size_t)op->nmemb, n, &n);
    /* pvalloc(3) rounds the size up to whole pages: the block owes all of them (the
     * conformance check pvalloc-rounds-up). pvalloc(0) is left as asked: its result is
     * only classified there. */
    if (op->kind == OP_PVALLOC && n && n <= PTRDIFF_MAX - e->page)
        n = (n + e->page - 1) & ~(e->page - 1);
    /* Objects above PTRDIFF_MAX break pointer subtraction (C17 6.5.6p9): must fail. */
    r->size = n;
    r->must_fail = ovf || n > PTRDIFF_MAX;
    r->unmeetable = !r->must_fail && n > e->map_limit;
    r->may_fail = n == 0 || r->unmeetable;
    r->align = malloc_align_for(e, n);
    /* C17 7.22.3.1p2: an alignment the implementation does not support fails (the rule of
     * docs/CHECKS.md "Large alignments"); within what it serves a NULL is judged as ever. */
    if (op->kind >= OP_ALIGNED_ALLOC && op->kind <= OP_MEMALIGN && is_pow2(al))
        r->may_fail |= alloc_may_refuse_align(e->a, al);
    switch (op->kind) {
    case OP_ALIGNED_ALLOC:
        /* C17 7.22.3.1p2 (DR 460): an alignment the implementation does not support shall
         * fail, and valid alignments are powers of two (6.2.8p4); any size goes (C11's
         * multiple-of-the-alignment rule was dropped). As the conformance suite judges. */
        r->align = floor_pow2(al);
        r->must_fail |= !is_pow2(al) || al >= ALIGN_IMPOSSIBLE;
        break;
    case OP_MEMALIGN:
        /* In no standard; the glibc manual wants a power of two. With any other alignment
         * it may fail, and a result need only be what malloc would give (the conformance
         * suite reports what it does, and fails nothing). */
        r->align = is_pow2(al) ? al : r->align;
        r->may_fail |= !is_pow2(al);
        r->must_fail |= al >= ALIGN_IMPOSSIBLE;
        break;
    case OP_POSIX_MEMALIGN:
        /* POSIX: shall fail with EINVAL unless a power of two multiple of sizeof(void *). */
        r->align = floor_pow2(al);
        r->must_fail |= !is_pow2(al) || al % sizeof(void *) || al >= ALIGN_IMPOSSIBLE;
        break;
    case OP_VALLOC:
    case OP_PVALLOC:
        r->align = e->page;
        break;
    default:
        break;
    }
    r->budget = n;
    if (r->align > e->page && __builtin_add_overflow(n, r->align, &r->budget))
        r->budget = SIZE_MAX;
}

/* True if the op would push the live bytes over the budget (the slot's old block, freed or
 * reallocated by the op, does not count). */
static bool over_budget(const exec_t *e, const req_t *r, unsigned slot)
{
    if (r->must_fail || r->unmeetable)
        return false;
    const shadow_block_t *b = &e->sh.slot[slot];
    size_t live = e->sh.live_bytes - (b->live ? b->size : 0);
    return r->budget > e->o.max_live || live > e->o.max_live - r->budget;
}

static bool alloc_present_for(const alloc_t *a, op_kind_t k)
{
    const void *fn[] = {
        [OP_MALLOC] = (void *)a->malloc, [OP_CALLOC] = (void *)a->calloc,
        [OP_REALLOC] = (void *)a->realloc, [OP_REALLOCARRAY] = (void *)a->reallocarray,
        [OP_ALIGNED_ALLOC] = (void *)a->aligned_alloc,
        [OP_POSIX_MEMALIGN] = (void *)a->posix_memalign, [OP_MEMALIGN] = (void *)a->memalign,
        [OP_VALLOC] = (void *)a->valloc, [OP_PVALLOC] = (void *)a->pvalloc,
    };
    return fn[k] != NULL;
}

/* Calls the allocation function of op with errno at the sentinel; *err gets what the call
 * left in errno (or posix_memalign's result). */
static void *call_alloc(exec_t *e, const op_t *op, int *err, void **memptr)
{
    const alloc_t *a = e->a;
    void *c = a->ctx, *p = NULL;
    size_t n = op->size, al = op->align, nm = op->nmemb;
    errno = ERRNO_SENTINEL;
    switch (op->kind) {
    case OP_MALLOC: p = a->malloc(c, n); break;
    case OP_CALLOC: p = a->calloc(c, nm, n); break;
    case OP_ALIGNED_ALLOC: p = a->aligned_alloc(c, al, n); break;
    case OP_MEMALIGN: p = a->memalign(c, al, n); break;
    case OP_VALLOC: p = a->valloc(c, n); break;
    case OP_PVALLOC: p = a->pvalloc(c, n); break;
    case OP_POSIX_MEMALIGN:
        *memptr = MEMPTR_SENTINEL;
        *err = a->posix_memalign(c, memptr, al, n);
        return *err ? NULL : *memptr;
    default: break;
    }
    *err = errno;
    return p;
}

/* Whether a failure must say why in errno: POSIX.1-2024 gives malloc, calloc, realloc,
 * reallocarray and aligned_alloc [ENOMEM] (posix_memalign returns it). memalign, valloc and
 * pvalloc are in no standard (only glibc's manual promises ENOMEM): the conformance suite
 * reports that as a divergence, so the fuzzer does not call it a finding either. */
static bool errno_promised(op_kind_t k)
{
    return k != OP_MEMALIGN && k != OP_VALLOC && k != OP_PVALLOC;
}

/* What a failed call said: "errno left unchanged", "errno 12 (ENOMEM)", "result 22 (EINVAL)". */
static const char *said(op_kind_t k, int err, char *buf, size_t len)
{
    if (k != OP_POSIX_MEMALIGN && err == ERRNO_SENTINEL)
        return "errno left unchanged";
    snprintf(buf, len, "%s %d (%s)", k == OP_POSIX_MEMALIGN ? "result" : "errno", err,
             errno_name(err));
    return buf;
}

/* POSIX.1-2024: a failure sets errno to ENOMEM (or EINVAL for an alignment). */
static int errno_finding(exec_t *e, const op_t *op, int err)
{
    const char *fn = kind_names[op->kind];
    if (op->kind == OP_POSIX_MEMALIGN)
        return finding(e, ORACLE_ERRNO, "%s failed with result %d (%s), not ENOMEM or EINVAL",
                       fn, err, errno_name(err));
    if (err == ERRNO_SENTINEL)
        return finding(e, ORACLE_ERRNO, "%s failed with errno left unchanged, not ENOMEM or "
                       "EINVAL", fn);
    return finding(e, ORACLE_ERRNO, "%s failed and set errno to %d (%s), not ENOMEM or EINVAL",
                   fn, err, errno_name(err));
}

/* The size of the biggest live block: with live_bytes it tells a fragmented heap (one big
 * block) from a leaking one (little live at all). Called only on a finding. */
static size_t largest_live(const exec_t *e)
{
    size_t m = 0;
    for (size_t i = 0; i < e->sh.live_blocks; i++)
        if (e->sh.slot[e->sh.live[i]].size > m)
            m = e->sh.slot[e->sh.live[i]].size;
    return m;
}

/* Whether a fixed heap may have run out for r. Anything live can split the heap (one small
 * block in the middle halves the largest hole), and headers and alignment padding cost an
 * unknown amount, so only an empty heap and a request of at most half its declared size
 * (the end-of-run reuse probe's bound) must be served. A quarantine (DELAYED_REUSE) holds
 * freed memory the harness cannot see, so it may always have run out. */
static bool heap_may_be_full(const exec_t *e, const req_t *r)
{
    const alloc_t *a = e->a;
    if (!(a->flags & ALLOCHECK_PLUGIN_FIXED_HEAP))
        return false;
    return e->sh.live_bytes || r->budget > a->heap_size / 2
        || (a->flags & ALLOCHECK_PLUGIN_DELAYED_REUSE);
}

/* A NULL result (C17 7.22.3p1: a null pointer when space cannot be allocated). A valid
 * request refused as invalid (EINVAL: scudo's C11 size rule) breaks a rule: `failure-path`.
 * Any other NULL within the budget is `spurious-oom`: C17 lets an allocation fail for want
 * of memory, so it breaks no standard, but with the budget nearly free it is a bug. A fixed
 * heap that may be full (heap_may_be_full) fails either way without a finding. */
static int on_null(exec_t *e, const op_t *op, const req_t *r, int err)
{
    const char *fn = kind_names[op->kind];
    char buf[64];
    if (e->o.check == CHECK_LEVEL_NONE)
        return 0;
    if (!r->must_fail && !r->may_fail && heap_may_be_full(e, r))
        return 0;
    if (!r->must_fail && !r->may_fail && err == EINVAL)
        return finding(e, ORACLE_FAILURE_PATH, "%s refused a valid request of %zu bytes with "
                       "EINVAL", fn, r->size);
    if (!r->must_fail && !r->may_fail)
        return finding(e, ORACLE_SPURIOUS_OOM,
                       "%s failed (NULL, %s) for %zu bytes within the live budget "
                       "(%zu of %zu bytes live, the largest live block %zu bytes)", fn,
                       said(op->kind, err, buf, sizeof buf), r->size, e->sh.live_bytes,
                       e->o.max_live, largest_live(e));
    if (e->o.check_errno && errno_promised(op->kind) && (r->must_fail || r->size)
        && err != ENOMEM && err != EINVAL)
        return errno_finding(e, op, err);
    return 0;
}

static int posix_memalign_result(exec_t *e, const op_t *op, const req_t *r, int err,
                                 void *memptr)
{
    if (e->o.check == CHECK_LEVEL_NONE)
        return 0;
    /* POSIX.1-2024: on failure memptr is left unmodified or set to a null pointer. */
    if (err && memptr != MEMPTR_SENTINEL && memptr != NULL)
        return finding(e, ORACLE_FAILURE_PATH, "posix_memalign failed (%d) but set *memptr "
                       "to %p", err, memptr);
    if (!err && (memptr == MEMPTR_SENTINEL || (memptr == NULL && r->size)))
        return finding(e, ORACLE_FAILURE_PATH, "posix_memalign returned 0 but *memptr is %s",
                       memptr == MEMPTR_SENTINEL ? "untouched" : "NULL");
    /* Size 0 may succeed with NULL (POSIX); an alignment no address meets (valid, but
     * 2^56 or more) only rules out a pointer, so NULL answers it too. */
    bool valid = is_pow2(op->align) && op->align % sizeof(void *) == 0;
    if (!err && r->must_fail && memptr == NULL && !(r->size == 0 && valid))
        return finding(e, ORACLE_FAILURE_PATH, "posix_memalign(alignment %zu, %zu bytes) "
                       "returned 0; it must fail", (size_t)op->align, r->size);
    if (err && e->o.check_errno && !is_pow2(op->align) && err != EINVAL)
        return finding(e, ORACLE_ERRNO, "posix_memalign(alignment %zu) returned %d (%s), not "
                       "EINVAL", (size_t)op->align, err, errno_name(err));
    return 0;
}

/* ---- a new block: the oracles, then the shadow ---- */

static void note_success(exec_t *e, size_t size)
{
    e->reuse_last = size;
    if (size > e->reuse_max)
        e->reuse_max = size;
}

/* Checks a non-NULL result that must not exist; frees it (a guard: it allocated nothing
 * when the allocator is right). The slot's old block, if any, is forgotten. */
static int on_forbidden(exec_t *e, const op_t *op, unsigned slot, const req_t *r, void *p)
{
    sh_lock(e);
    if (e->sh.slot[slot].live)
        shadow_remove(&e->sh, slot);
    sh_unlock(e);
    int res = 0;
    if (e->o.check != CHECK_LEVEL_NONE)
        res = finding(e, ORACLE_FAILURE_PATH, "%s returned %p for a request that must fail "
                      "(nmemb %zu, size %zu, alignment %zu)", kind_names[op->kind], p,
                      (size_t)op->nmemb, (size_t)op->size, (size_t)op->align);
    /* A heap that handed out a block for an impossible size keeps a wrong size for it:
     * freeing it (or anything else there) may hang or crash and bury this finding. */
    e->heap_suspect = true;
    (void)p;
    return res;
}

/* A block for a request above the map limit (a pre-reserved region can serve one): nothing
 * is written into it, and it goes at once. A realloc that moved the slot's block took it. */
static int on_unmet_block(exec_t *e, unsigned slot, void *p)
{
    sh_lock(e);
    if (e->sh.slot[slot].live)
        shadow_remove(&e->sh, slot);
    sh_unlock(e);
    if (e->a->free)
        e->a->free(e->a->ctx, p);
    return 0;
}

static int overlap_finding(exec_t *e, const op_t *op, void *p, size_t len, int o)
{
    if (o == SHADOW_HARNESS)
        return finding(e, ORACLE_OVERLAP, "%s returned [%p, +%zu) inside the harness's own "
                       "memory", kind_names[op->kind], p, len);
    const shadow_block_t *b = &e->sh.slot[o];
    return finding(e, ORACLE_OVERLAP, "%s returned [%p, +%zu) overlapping live slot %d (%s "
                   "[%p, +%zu), thread %u)", kind_names[op->kind], p, len, o,
                   kind_names[b->origin], (void *)b->ptr, b->extent, b->thread);
}

/* calloc's block: zero (C17 7.22.3.2p2) before the harness fills it. 0 or a finding. */
static int calloc_fill(exec_t *e, unsigned slot, void *p, size_t size, uint64_t key)
{
    size_t off;
    bool sampled = sampled_for(e, size);
    if (!sampled)
        off = shadow_fill_zeroed(p, size, key);
    else
        off = shadow_find_bad_sampled(p, size, size, 0, true);
    int res = 0;
    if (off != SIZE_MAX)
        res = finding(e, ORACLE_CALLOC_ZERO, "calloc block of %zu bytes at %p (slot %u) byte "
                      "%zu is 0x%02x, not zero", size, p, slot, off, ((const uint8_t *)p)[off]);
    if (off != SIZE_MAX || sampled)
        fill_block(e, p, 0, size, key);
    return res;
}

/* Any other new block; after realloc (old non-NULL) the old contents must be there up to the
 * lesser size (C17 7.22.3.5p2). Fills the rest with the pattern of key. 0 or a finding. */
static int plain_fill(exec_t *e, const op_t *op, unsigned slot, void *p, size_t size,
                      const shadow_block_t *old, uint64_t key)
{
    size_t keep = old ? (old->size < size ? old->size : size) : 0;
    size_t off = old ? find_bad(e, p, old->extent, keep, old->key, false) : SIZE_MAX;
    int res = 0;
    if (off != SIZE_MAX)
        res = finding(e, ORACLE_REALLOC_CONTENTS, "%s of slot %u from %zu to %zu bytes "
                      "(%p -> %p) byte %zu: expected 0x%02x, found 0x%02x",
                      kind_names[op->kind], slot, old->size, size, (void *)old->ptr, p, off,
                      shadow_pattern_byte(old->key, off), ((const uint8_t *)p)[off]);
    /* A kept prefix that held only the old block's sampled set is written whole. */
    bool rewrite = old && sampled_for(e, old->extent) && !sampled_for(e, size);
    fill_block(e, p, rewrite ? 0 : keep, size, key);
    return res;
}

/* Names the alignment asked for: memalign(24, 16) is owed only malloc's 16, and a message
 * showing just the 16 would hide what the call was. */
static int misaligned(exec_t *e, const op_t *op, const shadow_block_t *b, void *p, size_t owed)
{
    if (b->align)
        return finding(e, ORACLE_ALIGNMENT, "%s(alignment %zu, %zu bytes) returned %p, not "
                       "aligned to %zu", kind_names[op->kind], b->align, b->size, p, owed);
    return finding(e, ORACLE_ALIGNMENT, "%s(%zu bytes) returned %p, not aligned to %zu",
                   kind_names[op->kind], b->size, p, owed);
}

/* A non-NULL result p for op into slot. `old` is the block realloc moved (still indexed, so
 * the overlap check skips it), or NULL. */
static int on_block(exec_t *e, const op_t *op, unsigned slot, unsigned self, const req_t *r,
                    void *p, const shadow_block_t *old)
{
    shadow_block_t b = {
        .ptr = (uintptr_t)p, .size = r->size, .extent = r->size, .origin = op->kind,
        .thread = (uint8_t)self,
        .align = op->kind >= OP_ALIGNED_ALLOC && op->kind <= OP_MEMALIGN ? op->align : 0,
    };
    if (old)
        b.key = old->key;
    else   /* a locked add only while threads share the counter */
        b.key = shadow_key(e->o.seed, slot, e->conc_on
                           ? __atomic_fetch_add(&e->sh.allocs, 1, __ATOMIC_RELAXED)
                           : e->sh.allocs++);
    if (r->must_fail)
        return on_forbidden(e, op, slot, r, p);
    if (r->unmeetable)
        return on_unmet_block(e, slot, p);
    bool none = e->o.check == CHECK_LEVEL_NONE;
    /* Checked and indexed under one lock, so a block two threads get at once is caught;
     * the fill after needs no shadow. */
    sh_lock(e);
    int o = none ? SHADOW_NONE : shadow_overlap(&e->sh, b.ptr, b.size, old ? (int)slot : -1);
    if (o == SHADOW_NONE) {
        if (e->sh.slot[slot].live)
            shadow_remove(&e->sh, slot);
        shadow_insert(&e->sh, slot, &b);
        if (!none)
            note_success(e, b.size);
    }
    sh_unlock(e);
    if (none)
        return 0;
    if (o != SHADOW_NONE)
        return overlap_finding(e, op, p, b.size, o);
    int res;
    if (op->kind == OP_CALLOC)
        res = calloc_fill(e, slot, p, b.size, b.key);
    else
        res = plain_fill(e, op, slot, p, b.size, old, b.key);
    if (b.ptr & (r->align - 1))
        return misaligned(e, op, &b, p, r->align);
    return res;
}

/* ---- the ops ---- */

static int op_alloc(exec_t *e, const op_t *op, unsigned slot, unsigned self)
{
    req_t r;
    if (!alloc_present_for(e->a, op->kind))
        return -1;
    make_req(e, op, &r);
    if (over_budget(e, &r, slot))
        return -1;
    if (e->sh.slot[slot].live && release(e, slot, FREE_PLAIN, "before reuse of the slot"))
        return 1;
    int err = 0;
    void *memptr = NULL;
    void *p = call_alloc(e, op, &err, &memptr);
    if (op->kind == OP_POSIX_MEMALIGN) {
        int res = posix_memalign_result(e, op, &r, err, memptr);
        if (res || (!err && !p))
            return res;   /* a NULL success is no failure: judged above */
    }
    if (!p)
        return on_null(e, op, &r, err);
    return on_block(e, op, slot, self, &r, p, NULL);
}

/* After a failed realloc the old block must still be live (C17 7.22.3.5p4): a malloc of its
 * size must not land in it (an allocator that freed it tends to hand it straight back; a
 * fixed heap is left out, where the probe itself may not fit), its contents are intact and
 * its usable size still covers it. */
static int kept_block(exec_t *e, unsigned slot)
{
    const alloc_t *a = e->a;
    const shadow_block_t *b = &e->sh.slot[slot];
    if (e->o.check == CHECK_LEVEL_NONE)
        return 0;
    if (a->malloc && a->free && b->size && !(a->flags & ALLOCHECK_PLUGIN_FIXED_HEAP)) {
        uintptr_t q = (uintptr_t)a->malloc(a->ctx, b->size);
        if (q)
            a->free(a->ctx, (void *)q);
        if (q && q < b->ptr + b->size && b->ptr < q + b->size) {
            uintptr_t p = b->ptr;
            sh_lock(e);
            shadow_remove(&e->sh, slot);   /* freed already: the cleanup must not free it */
            sh_unlock(e);
            return finding(e, ORACLE_FAILURE_PATH, "a failed realloc freed slot %u: malloc(%zu) "
                           "then returned %p, inside its block at %p", slot, b->size,
                           (void *)q, (void *)p);
        }
    }
    if (verify_block(e, slot, ORACLE_FAILURE_PATH, "after a failed realloc"))
        return 1;
    size_t u = a->usable_size ? a->usable_size(a->ctx, (void *)b->ptr) : SIZE_MAX;
    if (u < b->size)
        return finding(e, ORACLE_FAILURE_PATH, "after a failed realloc the usable size of slot "
                       "%u (%zu bytes at %p) is %zu", slot, b->size, (void *)b->ptr, u);
    return 0;
}

/* A failed realloc leaves the old block intact and still owned (C17 7.22.3.5p4). */
static int on_realloc_null(exec_t *e, const op_t *op, unsigned slot, const req_t *r, int err)
{
    if (r->size == 0 && e->sh.slot[slot].live && !r->must_fail) {
        sh_lock(e);
        shadow_remove(&e->sh, slot);   /* see the file comment on realloc(p, 0) */
        sh_unlock(e);
        return 0;
    }
    int res = on_null(e, op, r, err);
    if (res || !e->sh.slot[slot].live)
        return res;
    return kept_block(e, slot);
}

/* Takes slot out of the index (b NULL) or puts b back, under the shadow lock. */
static void reindex(exec_t *e, unsigned slot, const shadow_block_t *b)
{
    sh_lock(e);
    if (b)
        shadow_insert(&e->sh, slot, b);
    else
        shadow_remove(&e->sh, slot);
    sh_unlock(e);
}

static int op_realloc(exec_t *e, const op_t *op, unsigned slot, unsigned self)
{
    const alloc_t *a = e->a;
    req_t r;
    if (!alloc_present_for(a, op->kind))
        return -1;
    make_req(e, op, &r);
    if (over_budget(e, &r, slot))
        return -1;
    shadow_block_t *b = &e->sh.slot[slot];
    if (b->live && verify_block(e, slot, ORACLE_CONTENTS, "before realloc"))
        return 1;
    shadow_block_t old = *b;
    void *q, *from = old.live ? (void *)old.ptr : NULL;
    /* In a burst the old block leaves the index first: realloc may free it, and another
     * thread may be handed its memory before this one indexes the new block. */
    bool unindexed = e->conc_on && old.live;
    if (unindexed)
        reindex(e, slot, NULL);
    errno = ERRNO_SENTINEL;
    if (op->kind == OP_REALLOC)
        q = a->realloc(a->ctx, from, op->size);
    else
        q = a->reallocarray(a->ctx, from, op->nmemb, op->size);
    int err = errno;
    /* It failed: the old block is still there, unless realloc(p, 0) freed it (see the file
     * comment), when another thread may already have been handed its memory. */
    if (!q && unindexed && (r.size || r.must_fail))
        reindex(e, slot, &old);
    if (!q)
        return on_realloc_null(e, op, slot, &r, err);
    return on_block(e, op, slot, self, &r, q, old.live ? &old : NULL);
}

static int op_free(exec_t *e, const op_t *op, unsigned slot, unsigned self)
{
    const alloc_t *a = e->a;
    void *fn = op->kind == OP_FREE ? (void *)a->free : op->kind == OP_FREE_SIZED
        ? (void *)a->free_sized : (void *)a->free_aligned_sized;
    if (!fn)
        return -1;
    const shadow_block_t *b = &e->sh.slot[slot];
    if (!b->live) {
        if (op->kind != OP_FREE)
            return 0;
        errno = ERRNO_SENTINEL;
        a->free(a->ctx, NULL);
        return check_free_errno(e, errno, "free(NULL)");
    }
    return release(e, slot, free_variant(a, op->kind, b->origin), "before free");
}

/* More than any allocator rounds by: the harness will not write that much. The slack is
 * wide on purpose: glibc gives memalign(2 MiB, 0) in a thread's arena the chunk left over
 * from aligning, 1.6 MiB of usable size, and it is all writable. A usable size that is too
 * big but below this is caught where it matters: writing it reaches a live block (overlap
 * check), the allocator's metadata (a later crash or contents finding), or unmapped memory
 * (a crash at this op). */
#define USABLE_SLACK ((size_t)64 << 20)

static bool implausible_usable(const exec_t *e, size_t u, size_t size)
{
    return u - size > size + USABLE_SLACK;
}

/* malloc_usable_size(3): NULL has no usable bytes (the conformance check usable-size-null).
 * An allocator that reads a header in front of NULL crashes here, a reported result. */
static int usable_null(exec_t *e)
{
    const alloc_t *a = e->a;
    size_t u = a->usable_size(a->ctx, NULL);
    if (e->o.check == CHECK_LEVEL_NONE || u == 0)
        return 0;
    return finding(e, ORACLE_USABLE_SIZE, "usable size of NULL is %zu, not 0", u);
}

static int op_usable(exec_t *e, const op_t *op, unsigned slot, unsigned self)
{
    const alloc_t *a = e->a;
    shadow_block_t *b = &e->sh.slot[slot];
    if (!a->usable_size)
        return -1;
    if (!b->live)
        return usable_null(e);
    size_t u = a->usable_size(a->ctx, (void *)b->ptr);
    if (e->o.check == CHECK_LEVEL_NONE)
        return 0;
    if (u < b->size || implausible_usable(e, u, b->size))
        return finding(e, ORACLE_USABLE_SIZE, "usable size of slot %u (%s of %zu bytes at %p) "
                       "is %zu", slot, kind_names[b->origin], b->size, (void *)b->ptr, u);
    size_t from = b->extent;
    sh_lock(e);
    int o = shadow_overlap(&e->sh, b->ptr, u, (int)slot);
    if (o == SHADOW_NONE && u > b->extent)
        shadow_set_extent(&e->sh, slot, u);
    sh_unlock(e);
    if (o != SHADOW_NONE)
        return finding(e, ORACLE_USABLE_SIZE, "usable size %zu of slot %u (%zu bytes at %p) "
                       "reaches into %s %d", u, slot, b->size, (void *)b->ptr,
                       o == SHADOW_HARNESS ? "harness memory" : "live slot", o);
    /* The bytes below the extent hold the pattern already (checked at the next free or
     * check): only the new ones are written, the whole usable size in sampled mode. */
    fill_block(e, (void *)b->ptr, from < u ? from : u, u, b->key);
    return 0;
}

static int op_check(exec_t *e, const op_t *op, unsigned slot, unsigned self)
{
    for (size_t i = 0; i < e->sh.live_blocks; i++)
        if (verify_block(e, e->sh.live[i], ORACLE_CONTENTS, "check"))
            return 1;
    return 0;
}

typedef int (*op_fn_t)(exec_t *e, const op_t *op, unsigned slot, unsigned self);

static const op_fn_t op_fns[OP_COUNT];

/* ---- fork: the child's work, and the parent's verdict on it ---- */

/* What a fork child sends back: empty oracle when every promise held. */
typedef struct fork_report {
    char oracle[32];
    char message[sizeof(((finding_t *)0)->message)];
} fork_report_t;

/* The size each fresh block in a fork child asks for (per member for calloc/reallocarray). */
#define FORK_CHILD_SIZE 100
#define FORK_CHILD_ALIGN 64
/* In a fork child blocks above this get the sampled check: when each of a busy fork's 8
 * children read every byte of a big live heap, that cost seconds per fork op (measured: 7
 * forks of a 400,000-op trace took 12 s of 17); a lock or free list the fork broke shows at
 * the child's first call anyway. */
#define FORK_CHILD_FULL_MAX 4096

static int child_op(exec_t *e, unsigned kind, unsigned slot, uint64_t nmemb, uint64_t size,
                    unsigned self)
{
    op_t op = { .kind = (uint8_t)kind, .slot = (uint16_t)slot, .nmemb = nmemb, .size = size,
                .align = FORK_CHILD_ALIGN };
    int r = op_fns[kind](e, &op, slot, self);
    return r > 0 ? r : 0;
}

/* The child's ops, run through the same op functions (and oracles) as a trace's: with
 * `whole`, every inherited block verified and its usable size queried and written; a block
 * from every allocating function, in the highest free slots; the lowest inherited block grown
 * by realloc; then all of the child's blocks freed, by free, free_sized and free_aligned_sized
 * in turn. Only the first child of a fork op goes through the whole heap: the others inherit
 * the same blocks (the hammers' are none of them) and are forked to meet a lock at another
 * instant, while reading and writing every block cost each of them pages copied (measured:
 * 20 busy forks over a 64 MiB heap took 4.1 s of CPU, 1.6 s with the first child alone). The
 * reproducer's runtime runs the same list. */
static int fork_child_ops(exec_t *e, unsigned self, bool whole)
{
    unsigned mine[OP_PVALLOC - OP_MALLOC + 2], n = 0;   /* one per allocating kind, and the grown one */
    int first = shadow_next_live(&e->sh, 0), r = whole ? child_op(e, OP_CHECK, 0, 0, 0, self) : 0;
    for (int s = first; whole && !r && s >= 0; s = shadow_next_live(&e->sh, s + 1))
        r = child_op(e, OP_USABLE, (unsigned)s, 0, 0, self);
    for (int s = OPS_SLOTS - 1, k = OP_MALLOC; !r && s >= 0 && k <= OP_PVALLOC; s--) {
        if (e->sh.slot[s].live)
            continue;
        bool arr = k == OP_CALLOC || k == OP_REALLOCARRAY;
        r = child_op(e, (unsigned)k++, (unsigned)s, arr ? 4 : 1,
                     arr ? FORK_CHILD_SIZE / 4 : FORK_CHILD_SIZE, self);
        mine[n++] = (unsigned)s;
    }
    if (!r && first >= 0) {
        r = child_op(e, OP_REALLOC, (unsigned)first, 0, e->sh.slot[first].size + 100, self);
        mine[n++] = (unsigned)first;
    }
    for (unsigned i = 0; !r && i < n; i++)
        r = child_op(e, OP_FREE + i % 3, mine[i], 0, 0, self);
    return r;
}

/* The child of a fork: never returns. The report goes through fd; _exit skips the atexit
 * handlers and stdio buffers the parent owns. */
__attribute__((noreturn))
static void fork_child(exec_t *e, int fd, unsigned self, bool whole, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)   /* it died before the prctl: nothing would kill us */
        _exit(127);
    setpgid(0, 0);
    if (!e->o.full_check_max || e->o.full_check_max > FORK_CHILD_FULL_MAX)
        e->o.full_check_max = FORK_CHILD_FULL_MAX;
    fork_report_t rep = { "", "" };
    if (fork_child_ops(e, self, whole) == 1) {
        memcpy(rep.oracle, e->finding.oracle, sizeof rep.oracle);
        memcpy(rep.message, e->finding.message, sizeof rep.message);
    }
    ssize_t w = write(fd, &rep, sizeof rep);
    _exit(w == (ssize_t)sizeof rep ? 0 : 3);
}

/* The parent's reading of how the child ended. */
static int fork_verdict(exec_t *e, fork_end_t end, const fork_report_t *rep, int status,
                        unsigned busy, unsigned wait_ms)
{
    if (end == FORK_HUNG)
        return finding(e, ORACLE_TIMEOUT, "the child of fork (with %u thread%s busy in the "
                       "allocator) did not finish within %u ms: deadlocked, a lock held at the "
                       "fork was never released in the child (no pthread_atfork handler?)",
                       busy, busy == 1 ? "" : "s", wait_ms);
    if (end == FORK_DIED && WIFSIGNALED(status))
        return finding(e, ORACLE_CRASH, "the child of fork was killed by SIG%s",
                       sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
    if (end == FORK_DIED)
        return finding(e, ORACLE_CRASH, "the child of fork exited with status %d inside the "
                       "allocator", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    if (rep->oracle[0])
        return finding(e, rep->oracle, "in the child of fork: %s", rep->message);
    return 0;
}

/* Forks with busy hammers catch a lock held at the fork only when a hammer was inside it at
 * that moment (about half the time for a small allocator): so many tries make a finding
 * reproduce in all but about 1 in 200 replays. */
#define FORK_BUSY_TRIES 8

typedef struct fork_kid {
    pid_t pid;
    int fd;     /* the read end of its report pipe */
} fork_kid_t;

/* Forks one child (which runs fork_child and never returns here). 0 or -errno. */
static int fork_spawn(exec_t *e, unsigned busy, unsigned self, bool whole, fork_kid_t *k)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC))
        return -errno;
    if (busy)
        hammers_mid_call(e->hammers);
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        close(fds[0]);
        if (e->hammers)
            hammers_forget(e->hammers);
        fork_child(e, fds[1], self, whole, parent);
    }
    int err = errno;
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return -err;
    }
    setpgid(pid, pid);
    *k = (fork_kid_t){ pid, fds[0] };
    return 0;
}

/* Waits for the n children together (they ran side by side: on a loaded machine waiting for
 * each in turn cost the sum of their scheduling delays) and judges them in fork order. */
static int fork_collect(exec_t *e, fork_kid_t *k, unsigned n, unsigned busy, unsigned wait_ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int r = 0;
    for (unsigned i = 0; i < n; i++) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long spent = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        fork_report_t rep;
        int status;
        fork_end_t end = fork_wait(k[i].pid, k[i].fd, &rep, sizeof rep,
                                   spent < wait_ms ? wait_ms - (unsigned)spent : 0, &status);
        close(k[i].fd);
        if (!r)
            r = fork_verdict(e, end, &rep, status, busy, wait_ms);
    }
    return r;
}

/* `fork B`: forks while B hammers are inside the allocator (none for an allocator declared
 * NOT_THREAD_SAFE), FORK_BUSY_TRIES times while they run, and judges each child (see
 * fork_child_ops). Skipped for an allocator declared NOT_FORK_SAFE. */
static int op_fork(exec_t *e, const op_t *op, unsigned slot, unsigned self)
{
    if (e->a->flags & ALLOCHECK_PLUGIN_NOT_FORK_SAFE)
        return -1;
    unsigned busy = (e->a->flags & ALLOCHECK_PLUGIN_NOT_THREAD_SAFE) ? 0 : op->slot % OPS_THREADS;
    unsigned wait_ms = e->o.fork_wait_ms ? e->o.fork_wait_ms : EXEC_FORK_WAIT_MS;
    fork_kid_t kids[FORK_BUSY_TRIES];
    unsigned n = 0;
    (void)slot;
    if (busy && !e->hammers && !(e->hammers = hammers_new(e->a)))
        return -errno;
    int r = busy ? hammers_start(e->hammers, busy) : 0;
    while (!r && n < (busy ? FORK_BUSY_TRIES : 1u) && !(r = fork_spawn(e, busy, self, n == 0, &kids[n])))
        n++;
    if (busy)
        hammers_stop(e->hammers);
    int v = fork_collect(e, kids, n, busy, wait_ms);
    return v ? v : r;
}

/* Each returns 0, 1 (a finding), or -1 (skipped). */
static const op_fn_t op_fns[OP_COUNT] = {
    [OP_MALLOC] = op_alloc, [OP_CALLOC] = op_alloc,
    [OP_REALLOC] = op_realloc, [OP_REALLOCARRAY] = op_realloc,
    [OP_ALIGNED_ALLOC] = op_alloc, [OP_POSIX_MEMALIGN] = op_alloc,
    [OP_MEMALIGN] = op_alloc, [OP_VALLOC] = op_alloc, [OP_PVALLOC] = op_alloc,
    [OP_FREE] = op_free, [OP_FREE_SIZED] = op_free, [OP_FREE_ALIGNED_SIZED] = op_free,
    [OP_USABLE] = op_usable, [OP_CHECK] = op_check, [OP_FORK] = op_fork,
};

static void run_ops(exec_t *e, unsigned self)
{
    while (!e->quit && !e->draining && e->result == 0 && e->pc < e->t->len) {
        const op_t *op = &e->t->ops[e->pc];
        if (e->progress)
            *e->progress = e->pc;
        e->ops++;
        if (op->kind == OP_THREAD) {
            unsigned to = op->slot % OPS_THREADS;
            e->pc++;
            if (to == self)
                continue;
            if (self == 0)
                colocate(e);
            int r = to ? ensure_worker(e, to) : 0;
            if (r < 0) {
                e->result = r;
                break;
            }
            give_turn(e, to);
            await_turn(e, self);
            continue;
        }
        int r = op->kind < OP_COUNT ? op_fns[op->kind](e, op, op->slot % OPS_SLOTS, self) : -1;
        if (r < 0)
            e->skipped++;
        else
            e->result = r;
        if (!e->result)
            e->pc++;
    }
}

/* Before a burst run after runs that took turns: a worker that handed the turn back
 * mid-trace still waits inside run_ops, where a wakeup would run turns; each is sent back to
 * worker_main (it leaves run_ops and hands the turn back), where the burst runner wakes it. */
static void leave_turns(exec_t *e)
{
    e->draining = true;
    for (unsigned i = 1; i < OPS_THREADS; i++) {
        if (!e->w[i].started || !e->w[i].in_turns)
            continue;
        give_turn(e, i);
        await_turn(e, 0);
    }
    e->draining = false;
}

/* ---- the hooks of the burst runner (src/exec/exec_threads.h) ---- */

int exec_step(exec_t *e, size_t pc, unsigned self)
{
    const op_t *op = &e->t->ops[pc];
    tl_pc = pc;
    if (e->progress)
        *e->progress = pc;
    int r = op->kind < OP_THREAD ? op_fns[op->kind](e, op, op->slot % OPS_SLOTS, self) : -1;
    if (r < 0)
        __atomic_fetch_add(&e->skipped, 1, __ATOMIC_RELAXED);
    else if (r)
        __atomic_store_n(&e->result, r, __ATOMIC_RELEASE);
    return r;
}

bool exec_halted(const exec_t *e)
{
    return e->quit || __atomic_load_n(&e->result, __ATOMIC_ACQUIRE) != 0;
}

int exec_start_worker(exec_t *e, unsigned id)
{
    int r = ensure_worker(e, id);
    if (!r)
        give_turn(e, id);
    return r;
}

void exec_set_bursts(exec_t *e, bool on, uint64_t ops)
{
    e->conc_on = on;
    e->ops += ops;
}

/* ---- end of a run ---- */

/* Whether the end-of-run reuse probe of this size is made: on a fixed heap, not above half
 * of it (headers and alignment may need the rest; heap_may_be_full's bound). */
static bool probe_fits(const alloc_t *a, size_t size)
{
    return !(a->flags & ALLOCHECK_PLUGIN_FIXED_HEAP) || size <= a->heap_size / 2;
}

/* After everything is freed, the allocator hands memory out again (the reuse oracle). One probe at a
 * time, each freed before the next, so "after every block was freed" holds for both. With
 * DELAYED_REUSE the freed blocks may all sit in the quarantine: a NULL is then no finding,
 * and the probes still run (a crash or hang in them is still caught by the supervisor). */
static int check_reuse(exec_t *e)
{
    const alloc_t *a = e->a;
    size_t sizes[2] = { e->reuse_max, e->reuse_last };
    bool judge = !(a->flags & ALLOCHECK_PLUGIN_DELAYED_REUSE);
    if (!a->malloc || !a->free || e->o.check == CHECK_LEVEL_NONE)
        return 0;
    for (int i = 0; i < 2; i++) {
        if (!sizes[i] || (i == 1 && sizes[1] == sizes[0]) || !probe_fits(a, sizes[i]))
            continue;
        e->reuse_probe[i] = sizes[i];
        void *p = a->malloc(a->ctx, sizes[i]);
        if (p)
            a->free(a->ctx, p);
        else if (judge)
            return finding(e, ORACLE_REUSE, "after every block was freed, malloc(%zu) failed "
                           "although it succeeded during the run", sizes[i]);
    }
    return 0;
}

/* Frees every live block in slot order: verified on a clean run; unverified after a
 * finding that left the heap sound; not at all when the heap may be corrupt. Slot order
 * because the engine replays a finding that needs earlier sequences' heap state as those
 * sequences joined by `free S` ops in slot order (src/engine/engine.c): the same frees in the same
 * order leave the same heap. */
static int free_all(exec_t *e, bool verify)
{
    for (int s = shadow_next_live(&e->sh, 0); s >= 0; s = shadow_next_live(&e->sh, s + 1)) {
        if (verify) {
            if (release(e, s, FREE_PLAIN, "at the end of the run"))
                return 1;
            continue;
        }
        shadow_block_t b = e->sh.slot[s];
        shadow_remove(&e->sh, s);
        call_free(e, FREE_PLAIN, &b);
    }
    return 0;
}

static int finish_run(exec_t *e)
{
    int r = e->result;
    if (r == 0) {
        r = free_all(e, true);
        if (r == 0)
            r = check_reuse(e);
    } else if (!e->heap_suspect) {
        free_all(e, false);
    }
    return r;
}

/* ---- the interface ---- */

exec_t *exec_new(const alloc_t *a, const exec_opts_t *o)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t len = (sizeof(exec_t) + (size_t)page - 1) & ~((size_t)page - 1);
    exec_t *e = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (e == MAP_FAILED)
        return NULL;
    e->a = a;
    if (o)
        e->o = *o;
    else
        exec_opts_default(&e->o);
    if (!e->o.malloc_align)
        e->o.malloc_align = 16;
    if (a->min_alignment)
        e->o.malloc_align = a->min_alignment;
    if (a->flags & ALLOCHECK_PLUGIN_NO_ERRNO)
        e->o.check_errno = false;   /* freestanding: errno is POSIX's, not ISO C's */
    if (!e->o.max_live)
        e->o.max_live = (size_t)256 << 20;
    e->page = (size_t)page;
    e->map_len = len;
    e->pid = getpid();
    for (unsigned i = 0; i < OPS_THREADS; i++)
        e->w[i] = (worker_t){ .e = e, .id = i };
    e->w[0].started = true;
    e->cpu = -1;
    shadow_set_harness(&e->sh, H_EXEC, e, len);
    footprint_exclude(e, len);   /* the shadow model is no part of the allocator's footprint */
    pthread_mutex_init(&e->sh_mu, NULL);
    if (e->o.concurrent && !(e->conc = conc_new(e->o.seed))) {
        munmap(e, len);
        return NULL;
    }
    return e;
}

static void forget_threads_after_fork(exec_t *e);

void exec_free(exec_t *e)
{
    if (!e)
        return;
    forget_threads_after_fork(e);   /* in a forked child there is nobody to join */
    hammers_free(e->hammers);
    uncolocate(e, true);
    e->quit = true;
    for (unsigned i = 1; i < OPS_THREADS; i++) {
        if (!e->w[i].started)
            continue;
        give_turn(e, i);
        pthread_join(e->w[i].tid, NULL);
    }
    for (unsigned i = 1; i < OPS_THREADS; i++)
        if (e->w[i].stack) {
            footprint_include(e->w[i].stack, WORKER_STACK_SIZE);
            munmap(e->w[i].stack, WORKER_STACK_SIZE);
        }
    conc_free(e->conc);
    footprint_include(e, e->map_len);
    munmap(e, e->map_len);
}

/* Worker threads do not survive fork(): a child starts them afresh (their stacks stay). */
static void forget_threads_after_fork(exec_t *e)
{
    pid_t pid = getpid();
    if (pid == e->pid)
        return;
    e->pid = pid;
    for (unsigned i = 1; i < OPS_THREADS; i++) {
        e->w[i].started = false;
        e->w[i].go = 0;
    }
    e->w[0].go = 0;
    e->cpu = -1;
    if (e->hammers)
        hammers_forget(e->hammers);
    uncolocate(e, true);   /* the child's own thread 0 inherited the pin */
}

/* The largest request this process could map (see the file comment). Read per run: a
 * supervisor sets RLIMIT_AS in the child after the executor was made. */
static size_t map_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > MAP_IMPOSSIBLE)
        return MAP_IMPOSSIBLE;
    return (size_t)rl.rlim_cur;
}

int exec_run(exec_t *e, const trace_t *t, finding_t *f, volatile size_t *progress)
{
    if (!e || !t || !f || (t->len && !t->ops))
        return -EINVAL;
    forget_threads_after_fork(e);
    e->map_limit = map_limit();
    shadow_reset(&e->sh, e->o.check != CHECK_LEVEL_NONE);
    shadow_set_harness(&e->sh, H_TRACE, t->ops, t->cap * sizeof(op_t));
    shadow_set_harness(&e->sh, H_FINDING, f, sizeof *f);
    shadow_set_harness(&e->sh, H_PROGRESS, (const void *)progress, progress ? sizeof *progress : 0);
    e->t = t;
    e->pc = 0;
    e->progress = progress;
    e->result = 0;
    e->heap_suspect = false;
    e->reuse_max = e->reuse_last = 0;
    e->reuse_probe[0] = e->reuse_probe[1] = 0;
    memset(&e->finding, 0, sizeof e->finding);
    e->found = 0;
    if (e->conc && !e->turns_now && conc_wanted(t)) {
        /* The burst runner places the threads itself, from thread 0's own CPU mask; the
         * next run that takes turns pins the workers afresh. */
        leave_turns(e);
        uncolocate(e, true);
        e->cpu = -1;
        int r = conc_run(e, e->conc, t);
        e->result = r < 0 ? r : e->result;
        e->pc = e->result == 1 ? e->finding.op_index : e->pc;
    } else {
        run_ops(e, 0);
    }
    uncolocate(e, false);
    e->pc = e->result ? e->pc : t->len;
    int r = finish_run(e);
    if (r == 1)
        *f = e->finding;
    return r;
}

void exec_set_bursts_for_runs(exec_t *e, bool on)
{
    e->turns_now = !on;
}

void exec_get_stats(const exec_t *e, exec_stats_t *s)
{
    s->ops = e->ops;
    s->live_blocks = e->sh.live_blocks;
    s->live_bytes = e->sh.live_bytes;
    s->skipped = e->skipped;
    s->reuse_probe[0] = e->reuse_probe[0];
    s->reuse_probe[1] = e->reuse_probe[1];
}
