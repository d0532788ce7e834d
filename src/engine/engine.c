/* The supervisor and the built-in fuzzing loop (see engine.h).
 * Why this design: allocator code only ever runs in a forked child. The parent never calls
 * the allocator, so its state is fresh for every child it forks, and a child that dies or
 * spins cannot take the tool with it. The child publishes, in MAP_SHARED memory, the index of
 * the sequence it is about to run and (through exec_run's `progress`) the op about to run;
 * the parent waits on a pidfd with a watchdog that fires when neither moves for hang_ms.
 * Everything the parent needs to rebuild the failing input is (seed, sequence index, op
 * index): sequences are regenerated, never shipped, so the child's heap can be garbage.
 * The child (src/base/children.h: own process group, limits, killed with its group on every exit
 * path) writes stdout and stderr to a memfd whose tail becomes the finding's "last words".
 * A stop signal kills the child at the watchdog's next look and unwinds with -EINTR. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/base/outfile.h"
#include "src/base/children.h"
#include "src/engine/engine.h"
#include "src/engine/resources.h"
#include "src/engine/warmup.h"
#include "src/trace/trace.h"

enum { ST_RUNNING, ST_FINDING, ST_DONE, ST_ERROR };

typedef struct sup_shm {
    volatile size_t progress;     /* exec_run's op index */
    volatile uint64_t seq;        /* the sequence running */
    volatile uint64_t sequences;  /* finished so far by this child */
    volatile uint64_t ops;
    volatile size_t live_blocks;
    volatile int stop;            /* parent -> child: stop at the next sequence */
    volatile int state;
    volatile int err;
    finding_t finding;
    retention_t retention;        /* with --resources: sampled after clean sequences, and
                                     after the last one with malloc_trim */
} sup_shm_t;

typedef struct child {
    pid_t pid;
    int pidfd;
    int errfd;                    /* memfd holding the child's stdout and stderr */
    bool stopped;                 /* watch killed it for a stop signal */
    sup_shm_t *sh;
} child_t;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int child_setup(child_t *c)
{
    c->sh = worker_shared_new(sizeof *c->sh);   /* crosses a preload worker's exec */
    if (!c->sh)
        return -errno;
    c->errfd = memfd_create("allocheck-child-stderr", MFD_CLOEXEC);
    if (c->errfd < 0) {
        int e = -errno;
        worker_shared_free(c->sh, sizeof *c->sh);
        return e;
    }
    c->pid = -1;
    c->pidfd = -1;
    return 0;
}

static void child_teardown(child_t *c)
{
    worker_shared_free(c->sh, sizeof *c->sh);
    close(c->errfd);
}

/* Forks; in the child calls body(arg) and _exits. Returns 0 in the parent or -errno. */
static int child_spawn(child_t *c, void (*body)(void *arg, sup_shm_t *sh), void *arg)
{
    memset((void *)c->sh, 0, sizeof *c->sh);
    if (ftruncate(c->errfd, 0) < 0 || lseek(c->errfd, 0, SEEK_SET) < 0)
        return -errno;
    const children_limits_t *lim = children_default_limits();
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        /* stdout too: a plugin that prints must not reach our reports. */
        children_enter(parent, c->errfd, lim);
        body(arg, c->sh);
        _exit(0);
    }
    children_add(pid);
    c->pid = pid;
    c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    return 0;
}

/* The child is dead or dying: kill what it left in its group, reap it, sweep. */
static void child_reap(child_t *c, int *wstatus)
{
    children_kill(c->pid);
    while (waitpid(c->pid, wstatus, 0) < 0 && errno == EINTR)
        ;
    if (c->pidfd >= 0)
        close(c->pidfd);
    children_reaped(c->pid);
    c->pid = -1;
}

/* Waits up to ms for the child to exit. Returns 1 with *wstatus if it did, else 0. */
static int child_wait(child_t *c, int ms, int *wstatus)
{
    siginfo_t si = { 0 };
    if (c->pidfd >= 0) {
        struct pollfd p = { .fd = c->pidfd, .events = POLLIN };
        if (poll(&p, 1, ms) <= 0)   /* a timeout, or EINTR (a stop signal): look again */
            return 0;
    } else {
        struct timespec ts = { 0, 5000000 };
        nanosleep(&ts, NULL);
    }
    /* WNOWAIT: the zombie keeps its group alive for child_reap's kill. */
    if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != c->pid)
        return 0;
    child_reap(c, wstatus);
    return 1;
}

static void child_kill(child_t *c, int *wstatus)
{
    child_reap(c, wstatus);
}

static void read_lastwords(const child_t *c, char *buf, size_t len)
{
    off_t end = lseek(c->errfd, 0, SEEK_END);
    off_t from = end > (off_t)len - 1 ? end - (off_t)len + 1 : 0;
    ssize_t n = end > 0 ? pread(c->errfd, buf, (size_t)(end - from), from) : 0;
    buf[n > 0 ? n : 0] = '\0';
}

/* Describes a dead or hung child as a crash/timeout finding at op `idx` of t. */
static void death_finding(finding_t *f, int wstatus, bool hung, unsigned hang_ms,
                          const trace_t *t, size_t idx)
{
    char opbuf[160] = "end of run";
    if (t && idx < t->len)
        op_format(&t->ops[idx], opbuf, sizeof opbuf);
    memset(f, 0, sizeof *f);
    f->op_index = idx;
    f->line = t && idx < t->len ? t->ops[idx].line : 0;
    if (hung) {
        snprintf(f->oracle, sizeof f->oracle, "%s", ORACLE_TIMEOUT);
        snprintf(f->message, sizeof f->message, "no progress for %u ms in op %zu (%s)",
                 hang_ms, idx, opbuf);
    } else if (WIFSIGNALED(wstatus)) {
        const char *abbrev = sigabbrev_np(WTERMSIG(wstatus));
        snprintf(f->oracle, sizeof f->oracle, "%s", ORACLE_CRASH);
        snprintf(f->message, sizeof f->message, "killed by SIG%s (%s) in op %zu (%s)",
                 abbrev ? abbrev : "?", strsignal(WTERMSIG(wstatus)), idx, opbuf);
    } else {
        snprintf(f->oracle, sizeof f->oracle, "%s", ORACLE_CRASH);
        snprintf(f->message, sizeof f->message, "the process exited with status %d in op %zu (%s)",
                 WEXITSTATUS(wstatus), idx, opbuf);
    }
}

/* ---- one trace in a child ---- */

/* Under preload:, a child's body runs in an exec'd worker (src/load/worker.h), which reaches
 * engine_worker_body. Returns only if the exec failed, as a harness error. */
static void in_worker(const alloc_t *a, worker_kind_t kind, const worker_part_t *parts,
                      size_t nparts, sup_shm_t *sh, void *probes)
{
    void *shared[] = { sh, probes };
    sh->err = worker_exec(a, kind, parts, nparts, shared, probes ? 2 : 1);
    sh->state = ST_ERROR;
}

typedef struct one_arg {
    const alloc_t *a;
    const exec_opts_t *eo;
    const trace_t *t;
} one_arg_t;

static void one_body(void *arg, sup_shm_t *sh)
{
    const one_arg_t *x = arg;
    if (alloc_is_remote(x->a)) {
        worker_part_t parts[] = { { x->eo, sizeof *x->eo },
                                  { x->t->ops, x->t->len * sizeof *x->t->ops } };
        in_worker(x->a, WORKER_TRACE, parts, 2, sh, NULL);
        return;
    }
    exec_t *e = exec_new(x->a, x->eo);
    if (!e) {
        sh->err = -errno;
        sh->state = ST_ERROR;
        return;
    }
    finding_t f;
    resources_t rs;
    resources_begin(&rs, x->a, x->eo);
    int r = exec_run(e, x->t, &f, &sh->progress);
    if (r == 0)
        r = resources_after_run(&rs, e, x->t, true, &f, &sh->progress);
    if (r == 1)
        sh->finding = f;
    sh->err = r < 0 ? r : 0;
    sh->state = r == 1 ? ST_FINDING : r < 0 ? ST_ERROR : ST_DONE;
}

/* Waits for c, firing the watchdog when (seq, progress) stays still for hang_ms.
 * tick(arg) runs about every 250 ms when given. A stop signal kills the child at once: its
 * state is of no use any more (the caller looks at children_stop()). */
static int watch(child_t *c, unsigned hang_ms, bool *hung,
                 void (*tick)(void *arg, sup_shm_t *sh), void *arg)
{
    int wstatus = 0;
    uint64_t last = now_ms(), seq = c->sh->seq;
    size_t prog = c->sh->progress;
    *hung = false;
    c->stopped = false;
    while (!child_wait(c, CHILDREN_POLL_MS, &wstatus)) {
        uint64_t t = now_ms();
        if (children_stop()) {
            child_kill(c, &wstatus);
            c->stopped = true;
            break;
        }
        if (c->sh->seq != seq || c->sh->progress != prog) {
            seq = c->sh->seq;
            prog = c->sh->progress;
            last = t;
        } else if (t - last > hang_ms) {
            *hung = true;
            child_kill(c, &wstatus);
            break;
        }
        if (tick)
            tick(arg, c->sh);
    }
    return wstatus;
}

uint64_t engine_now_ms(void)
{
    return now_ms();
}

/* What a budgeted replay gives up on; `gave_up` says why (0: it did not). */
typedef struct budget {
    child_t *c;
    uint64_t deadline_ms;
    const volatile int *stop;
    int gave_up;
} budget_t;

static void budget_tick(void *arg, sup_shm_t *sh)
{
    (void)sh;
    budget_t *b = arg;
    if (b->gave_up || b->c->pid <= 0)
        return;
    if (b->stop && *b->stop)
        b->gave_up = -EINTR;
    else if (b->deadline_ms && now_ms() >= b->deadline_ms)
        b->gave_up = -ETIMEDOUT;
    if (b->gave_up)
        kill(b->c->pid, SIGKILL);   /* watch() reaps it */
}

int sup_run_trace(const alloc_t *a, const exec_opts_t *eo, const trace_t *t,
                  unsigned hang_ms, sup_result_t *res)
{
    return sup_run_trace_until(a, eo, t, hang_ms, 0, NULL, res);
}

int sup_run_trace_until(const alloc_t *a, const exec_opts_t *eo, const trace_t *t,
                        unsigned hang_ms, uint64_t deadline_ms, const volatile int *stop,
                        sup_result_t *res)
{
    child_t c;
    one_arg_t x = { a, eo, t };
    int r = child_setup(&c);
    if (r)
        return r;
    memset(res, 0, sizeof *res);
    r = child_spawn(&c, one_body, &x);
    if (r) {
        child_teardown(&c);
        return r;
    }
    bool hung;
    budget_t b = { &c, deadline_ms, stop, 0 };
    bool budgeted = deadline_ms || stop;
    int wstatus = watch(&c, hang_ms, &hung, budgeted ? budget_tick : NULL, &b);
    if (c.stopped && !b.gave_up)
        b.gave_up = -EINTR;   /* a stop signal: watch() killed it */
    read_lastwords(&c, res->lastwords, sizeof res->lastwords);
    if (b.gave_up) {
        r = b.gave_up;
    } else if (!hung && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 &&
               c.sh->state != ST_RUNNING) {
        r = c.sh->state == ST_ERROR ? c.sh->err : 0;
        res->status = c.sh->state == ST_FINDING;
        res->f = c.sh->finding;
    } else {
        res->status = 1;
        death_finding(&res->f, wstatus, hung, hang_ms, t, c.sh->progress);
    }
    child_teardown(&c);
    return r;
}

/* ---- the fuzzing loop ---- */

void engine_exec_defaults(exec_opts_t *eo)
{
    exec_opts_default(eo);
    /* C23 7.24.3p1 (DR 445): a block need only be aligned for objects that fit in it, so
     * malloc(0) or malloc(8) returning an 8-aligned pointer (mimalloc, by design) is no bug;
     * 16 bytes and more must still be 16-aligned. */
    eo->size_dependent_align = true;
}

void engine_opts_default(engine_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->hang_ms = 3000;
    engine_exec_defaults(&o->exec);
    gen_opts_default(&o->gen);
}

/* What each run's end-of-run reuse check allocated (exec_stats_t.reuse_probe), by sequence,
 * written by the fuzzing child into shared memory: a candidate that joins sequences replays
 * those mallocs and frees too, so the heap it builds is the child's. A ring: a candidate
 * that reaches further back than PROBE_RING sequences goes without the oldest ones. */
#define PROBE_RING 32768

typedef struct probe {
    uint64_t seq;             /* + 1; 0: never written */
    size_t size[2];
} probe_t;

typedef struct fuzz_arg {
    const alloc_t *a;
    const engine_opts_t *o;
    warm_span_t span;         /* what this child runs (src/engine/warmup.h) */
    probe_t *probes;          /* PROBE_RING entries, shared with the parent */
} fuzz_arg_t;

/* The most blocks t keeps live at once (as written; failed allocations aside): exec_run
 * frees everything before returning, so this is what the progress line can show. */
static size_t peak_live(const trace_t *t)
{
    static uint8_t live[OPS_SLOTS];
    size_t n = 0, peak = 0;
    memset(live, 0, sizeof live);
    for (size_t i = 0; i < t->len; i++) {
        const op_t *op = &t->ops[i];
        if (op->kind < OP_FREE && !live[op->slot]) {
            live[op->slot] = 1;
            peak = ++n > peak ? n : peak;
        } else if (op->kind >= OP_FREE && op->kind <= OP_FREE_ALIGNED_SIZED && live[op->slot]) {
            live[op->slot] = 0;
            n--;
        }
    }
    return peak;
}

/* Warmup sequences keep their probes in the ring's other end: both kinds stay found. */
static probe_t *probe_at(probe_t *probes, uint64_t i)
{
    uint64_t k = i & ENGINE_WARMUP ? PROBE_RING - 1 - (i & ~ENGINE_WARMUP) % PROBE_RING : i;
    return &probes[k % PROBE_RING];
}

static void fuzz_body(void *arg, sup_shm_t *sh)
{
    const fuzz_arg_t *x = arg;
    if (alloc_is_remote(x->a)) {
        engine_opts_t o = *x->o;
        o.interrupted = NULL;   /* a pointer: the worker gets only the POD rest */
        worker_part_t parts[] = { { &o, sizeof o }, { &x->span, sizeof x->span } };
        in_worker(x->a, WORKER_FUZZ, parts, 2, sh, x->probes);
        return;
    }
    exec_t *e = exec_new(x->a, &x->o->exec);
    trace_t t;
    trace_init(&t);
    resources_t rs;
    resources_begin(&rs, x->a, &x->o->exec);
    for (uint64_t p = 0; e && !sh->stop; p++) {
        uint64_t i = warm_span_seq(x->o, &x->span, p);
        if (!(i & ENGINE_WARMUP) && x->o->runs && i >= x->o->runs)
            break;
        trace_clear(&t);
        if (engine_gen_sequence(&t, x->o, i) < 0)
            break;
        sh->progress = 0;
        sh->seq = i;
        exec_set_bursts_for_runs(e, engine_seq_bursts(x->o, i));
        finding_t f;
        int r = exec_run(e, &t, &f, &sh->progress);
        if (r == 0)
            r = resources_after_run(&rs, e, &t, false, &f, &sh->progress);
        if (r == 0)
            resources_sample(&rs, &sh->retention);
        exec_stats_t st;
        exec_get_stats(e, &st);
        sh->ops = st.ops;
        sh->live_blocks = peak_live(&t);
        if (r == 0)
            *probe_at(x->probes, i) = (probe_t){ i + 1, { st.reuse_probe[0],
                                                           st.reuse_probe[1] } };
        sh->sequences++;
        if (r != 0) {
            sh->finding = f;
            sh->err = r < 0 ? r : 0;
            sh->state = r == 1 ? ST_FINDING : ST_ERROR;
            return;
        }
    }
    if (e)
        resources_end(&rs, &sh->retention);
    sh->err = e ? 0 : -errno;
    sh->state = e ? ST_DONE : ST_ERROR;
}

typedef struct loop {
    const engine_opts_t *o;
    const engine_cb_t *cb;
    uint64_t t0, last_tick;
    uint64_t base_seqs, base_ops;   /* totals of the children that already ended */
    uint64_t warm_from;             /* the next child's first warmup sequence */
    unsigned findings, duplicates;
    probe_t *probes;                /* PROBE_RING, shared with the fuzzing child */
    retention_t retention;          /* the last child's that measured it */
} loop_t;

static void fuzz_tick(void *arg, sup_shm_t *sh)
{
    loop_t *l = arg;
    uint64_t t = now_ms();
    if ((l->o->time_ms && t - l->t0 >= l->o->time_ms) ||
        (l->o->interrupted && *l->o->interrupted))
        sh->stop = 1;
    if (!l->cb->progress || t - l->last_tick < 250)
        return;
    l->last_tick = t;
    engine_progress_t p = {
        .elapsed_ms = t - l->t0, .sequences = l->base_seqs + sh->sequences,
        .ops = l->base_ops + sh->ops, .live_blocks = sh->live_blocks,
        .findings = l->findings, .duplicates = l->duplicates,
    };
    l->cb->progress(l->cb->arg, &p);
}

/* Appends the end-of-run reuse check of sequence i as ops: malloc of each probe size (slot
 * 0 is free by then), each followed by its free, in check_reuse's order. */
static int append_probe(trace_t *t, probe_t *probes, uint64_t i)
{
    const probe_t *pr = probes ? probe_at(probes, i) : NULL;
    if (!pr || pr->seq != i + 1)
        return 0;
    int r = 0;
    for (unsigned k = 0; k < 2 && !r; k++) {
        op_t m = { .kind = OP_MALLOC, .slot = 0, .size = pr->size[k] };
        op_t f = { .kind = OP_FREE, .slot = 0 };
        if (pr->size[k] && !(r = trace_push(t, &m)))
            r = trace_push(t, &f);
    }
    return r;
}

/* Appends sequence i, then frees of every slot it may leave live and a switch back to
 * thread 0, so the next sequence starts the way exec_run starts it, and the reuse check that
 * ended its run (see probe_t). */
static int append_sequence(trace_t *t, const engine_opts_t *o, uint64_t i, bool closing,
                           probe_t *probes)
{
    size_t from = t->len;
    int r = engine_gen_sequence(t, o, i);
    if (r || !closing)
        return r;
    static uint8_t used[OPS_SLOTS];
    memset(used, 0, sizeof used);
    bool threads = false;
    for (size_t k = from; k < t->len; k++) {
        if (t->ops[k].kind == OP_THREAD)
            threads = true;
        else if (t->ops[k].kind < OP_FREE)
            used[t->ops[k].slot] = 1;
    }
    if (threads) {
        op_t th = { .kind = OP_THREAD, .slot = 0 };
        r = trace_push(t, &th);
    }
    for (unsigned s = 0; s < OPS_SLOTS && !r; s++) {
        op_t fr = { .kind = OP_FREE, .slot = (uint16_t)s };
        if (used[s])
            r = trace_push(t, &fr);
    }
    return r ? r : append_probe(t, probes, i);
}

/* Builds the sequences a child of span sp ran at positions first..last (the last truncated
 * after op `idx` of it) into t. */
static int build_candidate(trace_t *t, const engine_opts_t *o, probe_t *probes,
                           const warm_span_t *sp, uint64_t first, uint64_t last, size_t idx)
{
    trace_clear(t);
    for (uint64_t p = first; p < last; p++) {
        int r = append_sequence(t, o, warm_span_seq(o, sp, p), true, probes);
        if (r)
            return r;
    }
    size_t base = t->len;
    int r = append_sequence(t, o, warm_span_seq(o, sp, last), false, NULL);
    if (!r && base + idx + 1 < t->len)
        t->len = base + idx + 1;
    return r;
}

#define REPRO_MAX_OPS (4u << 20)

/* Replays of one candidate of a racy finding before a longer one is tried: a race that
 * shows in a third of the replays is then missed by 1 candidate in 5. A short candidate gets
 * more, up to RACE_TRIES_MAX, while they stay within RACE_REPLAY_OPS ops: a race that needed
 * the 3 sequences before it showed in none of 4 replays now and then on 2 loaded CPUs, and
 * in 40 of 40 at another time. */
#define RACE_TRIES 4
#define RACE_TRIES_MAX 32
#define RACE_REPLAY_OPS (1u << 16)

static unsigned race_tries(const trace_t *cand)
{
    size_t n = RACE_REPLAY_OPS / (cand->len ? cand->len : 1);
    return n < RACE_TRIES ? RACE_TRIES : n > RACE_TRIES_MAX ? RACE_TRIES_MAX : (unsigned)n;
}

bool engine_racy(const exec_opts_t *eo, const trace_t *t)
{
    if (!eo->concurrent)
        return false;
    for (size_t i = 0; i < t->len; i++)
        if (t->ops[i].kind == OP_THREAD && t->ops[i].slot % OPS_THREADS)
            return true;
    return false;
}

bool engine_seq_bursts(const engine_opts_t *o, uint64_t seq)
{
    if (!o->exec.concurrent)
        return false;
    if (o->bursts_every < 2)
        return true;
    uint64_t z = (o->seed ^ 0x6275727374730000ull) + seq * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (z ^ (z >> 31)) % o->bursts_every == 0;
}

exec_opts_t engine_seq_exec(const engine_opts_t *o, uint64_t seq)
{
    exec_opts_t eo = o->exec;
    eo.concurrent = engine_seq_bursts(o, seq);
    return eo;
}

int engine_rate(const alloc_t *a, const exec_opts_t *eo, unsigned hang_ms, uint64_t deadline_ms,
                const volatile int *stop, const trace_t *t, const char *oracle, unsigned runs,
                unsigned *hits, unsigned *done)
{
    sup_result_t res;
    *hits = *done = 0;
    for (unsigned i = 0; i < runs; i++) {
        int r = sup_run_trace_until(a, eo, t, hang_ms, deadline_ms, stop, &res);
        if (r == -ETIMEDOUT || r == -EINTR)
            return 0;
        if (r)
            return r;
        ++*done;
        *hits += res.status == 1 && strcmp(res.f.oracle, oracle) == 0;
    }
    return 0;
}

/* Runs a reproduction candidate up to `tries` times: 1 if it failed with oracle (ef->res
 * holds it), 0 if not, -ETIMEDOUT or -EINTR at the budget, or an error. */
static int try_reproduce(const alloc_t *a, const engine_opts_t *o, const exec_opts_t *eo,
                         const trace_t *cand, const char *oracle, engine_finding_t *ef,
                         unsigned tries)
{
    for (unsigned i = 0; i < tries; i++) {
        int r = sup_run_trace_until(a, eo, cand, o->hang_ms, ef->deadline_ms, o->interrupted,
                                    &ef->res);
        if (r)
            return r;
        if (ef->res.status == 1 && strcmp(ef->res.f.oracle, oracle) == 0)
            return 1;
    }
    return 0;
}

/* Whether any sequence of the span [first, last] ran in bursts: a race in one of them can
 * leave a heap that fails later, in a sequence that took turns (seen with the seeded racy
 * free: an overlap in a turns sequence), so a candidate holding one replays in bursts. */
static bool span_bursts(const engine_opts_t *o, const warm_span_t *sp, uint64_t first,
                        uint64_t last)
{
    for (uint64_t p = first; p <= last; p++)
        if (engine_seq_bursts(o, warm_span_seq(o, sp, p)))
            return true;
    return false;
}

/* One pass over the candidates, seq alone first: one replay each in pass 0, race_tries - 1
 * more for a racy one in pass 1; a candidate runs in bursts if any of its sequences did. */
static int reproduce_pass(const alloc_t *a, const engine_opts_t *o, const exec_opts_t *eo,
                          probe_t *probes, const warm_span_t *sp, uint64_t seq, size_t idx,
                          const char *oracle, trace_t *t, engine_finding_t *ef, trace_t *cand,
                          unsigned pass)
{
    uint64_t last = warm_span_pos(o, sp, seq);
    for (uint64_t k = 1;; k *= 4) {
        uint64_t first = last + 1 > k ? last - k + 1 : 0;
        int r = build_candidate(cand, o, probes, sp, first, last, idx);
        if (r || cand->len > REPRO_MAX_OPS)
            return r;
        exec_opts_t ceo = *eo;
        ceo.concurrent = span_bursts(o, sp, first, last);
        bool again = pass && !engine_racy(&ceo, cand);   /* would fail as it did */
        unsigned tries = pass ? race_tries(cand) - 1 : 1;
        r = again ? 0 : try_reproduce(a, o, &ceo, cand, oracle, ef, tries);
        if (r == -ETIMEDOUT || r == -EINTR)
            return 0;
        if (r < 0)
            return r;
        if (r == 1) {
            ef->reproduced = true;
            ef->exec.concurrent = ceo.concurrent;
            return trace_copy(t, cand);
        }
        if (first == 0)
            return 0;
    }
}

/* Finds the shortest run of sequences ending at `seq` that reproduces the finding from a
 * fresh process: seq alone, then 4, 16, ... sequences back to the child's first one (its
 * first warmup sequence, if it ran any). */
static int reproduce(const alloc_t *a, const engine_opts_t *o, probe_t *probes,
                     const warm_span_t *sp, uint64_t seq,
                     size_t idx, const char *oracle, trace_t *t, engine_finding_t *ef)
{
    /* Past the run's deadline or on ^C the finding stays unreproduced: the caller reports
     * the fuzzing child's sequence, flagged, rather than overrun --time. */
    trace_t cand;
    trace_init(&cand);
    int r = 0;
    ef->reproduced = false;
    exec_opts_t eo = ef->exec;   /* the schedule the sequence ran under */
    resources_only_for(&eo, oracle);
    /* One replay per candidate first, so a finding that needs a long history costs what it
     * did; a racy one gets race_tries - 1 more per candidate after, shortest first. */
    for (unsigned pass = 0; pass < 2 && !ef->reproduced && !r; pass++)
        r = reproduce_pass(a, o, &eo, probes, sp, seq, idx, oracle, t, ef, &cand, pass);
    trace_release(&cand);
    return r;
}


/* One child's ending: a finding (reported, reproduced) or the end of the run. */
static int handle_end(loop_t *l, const alloc_t *a, child_t *c, uint64_t start, int wstatus,
                      bool hung, uint64_t *next)
{
    const engine_opts_t *o = l->o;
    sup_shm_t *sh = c->sh;
    bool clean_exit = !hung && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
    if (clean_exit && sh->state == ST_DONE)
        return 1;
    if (clean_exit && sh->state == ST_ERROR)
        return sh->err < 0 ? sh->err : -EIO;

    uint64_t seq = sh->seq;
    warm_span_t sp = { l->warm_from, start };
    uint64_t pos = warm_span_pos(o, &sp, seq);
    trace_t t;
    trace_init(&t);
    engine_finding_t ef = { .trace = &t, .sequence = seq, .reproduced = false,
                            .elapsed_ms = now_ms() - l->t0,
                            .deadline_ms = o->time_ms ? l->t0 + o->time_ms : 0,
                            .exec = engine_seq_exec(o, seq) };
    int r = build_candidate(&t, o, NULL, &sp, pos, pos,
                            clean_exit ? sh->finding.op_index : sh->progress);
    if (r)
        goto out;
    if (clean_exit)
        ef.res.f = sh->finding;
    else
        death_finding(&ef.res.f, wstatus, hung, o->hang_ms, &t, sh->progress);
    ef.res.status = 1;
    read_lastwords(c, ef.res.lastwords, sizeof ef.res.lastwords);
    char oracle[sizeof ef.res.f.oracle];
    memcpy(oracle, ef.res.f.oracle, sizeof oracle);
    engine_finding_t kept = ef;
    if (l->cb->found && l->cb->found(l->cb->arg, &ef)) {
        l->duplicates++;
        warm_advance(&sp, seq, next);
        l->warm_from = sp.warm_from;
        r = o->keep_going ? 0 : 1;
        goto out;
    }
    r = reproduce(a, o, l->probes, &sp, seq,
                  clean_exit ? sh->finding.op_index : sh->progress, oracle,
                  &t, &ef);
    if (r == -EINTR)
        l->findings++;   /* stopped while reproducing: found() saved it, so it counts */
    if (r)
        goto out;
    if (!ef.reproduced) {
        /* Report what the fuzzing child saw; the trace is its sequence, flagged. A race
         * that no replay of its sequence showed is reported at that rate, 0 of the tries. */
        build_candidate(&t, o, NULL, &sp, pos, pos, kept.res.f.op_index);
        ef.res = kept.res;
        if (engine_racy(&ef.exec, &t))
            ef.rate_runs = race_tries(&t);
    } else if (engine_racy(&ef.exec, &t)) {
        ef.rate_runs = ENGINE_RATE_RUNS;
        r = engine_rate(a, &ef.exec, o->hang_ms, ef.deadline_ms, o->interrupted, &t, oracle,
                        ENGINE_RATE_RUNS, &ef.rate_hits, &ef.rate_runs);
        if (r)
            goto out;
    }
    l->findings++;
    r = l->cb->finding && l->cb->finding(l->cb->arg, &ef) ? 1 : 0;
    if (!o->keep_going)
        r = 1;
    warm_advance(&sp, seq, next);
    l->warm_from = sp.warm_from;
out:
    trace_release(&t);
    return r;
}

int engine_fuzz(const alloc_t *a, const engine_opts_t *o, const engine_cb_t *cb)
{
    child_t c;
    int r = child_setup(&c);
    if (r)
        return r;
    size_t ring_len = PROBE_RING * sizeof(probe_t);
    probe_t *probes = worker_shared_new(ring_len);
    if (!probes) {
        r = -errno;
        child_teardown(&c);
        return r;
    }
    loop_t l = { .o = o, .cb = cb, .t0 = now_ms(), .probes = probes };
    uint64_t next = 0;
    for (;;) {
        if ((o->runs && next >= o->runs) || (o->time_ms && now_ms() - l.t0 >= o->time_ms) ||
            (o->interrupted && *o->interrupted) || children_stop())
            break;
        fuzz_arg_t x = { a, o, { l.warm_from, next }, probes };
        uint64_t start = next;
        if ((r = child_spawn(&c, fuzz_body, &x)) != 0)
            break;
        bool hung;
        int wstatus = watch(&c, o->hang_ms, &hung, fuzz_tick, &l);
        l.base_seqs += c.sh->sequences;
        l.base_ops += c.sh->ops;
        if (c.sh->retention.valid)
            l.retention = c.sh->retention;
        if (c.stopped)
            break;   /* killed for a stop signal: nothing it did is a finding */
        r = handle_end(&l, a, &c, start, wstatus, hung, &next);
        if (r)
            break;
    }
    if (cb->progress) {
        /* The totals, for the caller's closing line: ticks come only every 250 ms. */
        engine_progress_t p = { .elapsed_ms = now_ms() - l.t0, .sequences = l.base_seqs,
                                .ops = l.base_ops, .findings = l.findings,
                                .duplicates = l.duplicates, .retention = l.retention };
        cb->progress(cb->arg, &p);
    }
    worker_shared_free(probes, ring_len);
    child_teardown(&c);
    if (r == -EINTR)
        r = 0;
    return r < 0 ? r : (int)l.findings;
}

void engine_worker_body(worker_kind_t kind, const alloc_t *a, const worker_part_t *parts,
                        void *const *shared)
{
    if (kind == WORKER_TRACE) {
        size_t n = parts[1].len / sizeof(op_t);
        trace_t t = { (op_t *)parts[1].data, n, n };
        one_arg_t x = { a, parts[0].data, &t };
        one_body(&x, shared[0]);
    } else if (kind == WORKER_FUZZ) {
        fuzz_arg_t x = { a, parts[0].data, { 0, 0 }, shared[1] };
        memcpy(&x.span, parts[1].data, sizeof x.span);
        fuzz_body(&x, shared[0]);
    }
}

void engine_finding_signature(const finding_t *f, const trace_t *t, char *buf, size_t len)
{
    const char *fn = f->op_index < t->len ? op_name(t->ops[f->op_index].kind) : "end";
    int n = snprintf(buf, len, "%s %s: ", f->oracle, fn);
    if (n < 0 || (size_t)n >= len)
        return;
    char *o = buf + n, *end = buf + len - 1;
    for (const char *m = f->message; *m && o < end;) {
        bool hex = m[0] == '0' && m[1] == 'x';
        if (!hex && !(*m >= '0' && *m <= '9')) {
            *o++ = *m++;
            continue;
        }
        m += hex ? 2 : 0;
        while ((*m >= '0' && *m <= '9') || (hex && ((*m >= 'a' && *m <= 'f') ||
                                                    (*m >= 'A' && *m <= 'F'))))
            m++;
        *o++ = '#';
    }
    *o = '\0';
}

int engine_parse_check(const char *s, check_level_t *out)
{
    static const char *const names[] = { "full", "sampled", "none" };
    static const check_level_t levels[] = { CHECK_LEVEL_FULL, CHECK_LEVEL_SAMPLED,
                                            CHECK_LEVEL_NONE };
    for (unsigned i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = levels[i];
            return 0;
        }
    return -EINVAL;
}

/* ---- finding files ---- */

void engine_finding_name(const char *oracle, const alloc_t *a, const trace_t *t,
                         char *buf, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < t->len; i++) {
        const op_t *op = &t->ops[i];
        uint64_t v[5] = { op->kind, op->slot, op->nmemb, op->size, op->align };
        for (unsigned k = 0; k < 5; k++)
            h = (h ^ v[k]) * 0x100000001b3ull;
    }
    char name[sizeof a->name];
    snprintf(name, sizeof name, "%s", a->name[0] ? a->name : "allocator");
    for (char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
            *p = '_';
    snprintf(buf, len, "%s-%s-%016llx", oracle, name, (unsigned long long)h);
}

int engine_save_trace(const char *path, const trace_t *t, const char *comment)
{
    outfile_t af;
    int r = outfile_open(&af, path);
    if (r)
        return r;
    if (fflush(af.f) != 0 || (r = trace_write_text(t, af.fd)) != 0 ||
        (comment && fprintf(af.f, "%s", comment) < 0))
        return outfile_fail(&af, r);
    return outfile_commit(&af);
}
