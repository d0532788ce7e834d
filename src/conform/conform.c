/* The conformance runner (src/conform/conform.h). One child per (allocator, check) task, run
 * by the pool of watched children (src/base/pool.h): the verdict comes through the job's
 * MAP_SHARED slot, the allocator's last words through its output. Here: which tasks run in
 * what order, and what each end means. */
#include "src/conform/conform.h"
#include "src/base/children.h"
#include "src/base/pool.h"

#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* What a child writes: the check's context, then a mark that run() returned. */
typedef struct slot {
    check_ctx_t ctx;
    volatile int done;
} slot_t;

typedef struct run {
    const alloc_t *allocs;
    const check_t *const *checks;
    size_t nallocs, nchecks, ntasks, next;
    conform_result_t *results;
    profile_t profile;
    unsigned timeout_ms;
    size_t *order;            /* tasks in start order, CHECK_SLOW first */
    children_limits_t lim;
    pool_t pool;
} run_t;

static const char *const profile_names[PROFILE_COUNT] = {
    [PROFILE_C11] = "c11", [PROFILE_C17] = "c17",
    [PROFILE_C23] = "c23", [PROFILE_POSIX2024] = "posix2024",
};
static const char *const verdict_names[VERDICT_COUNT] = {
    [VERDICT_PASS] = "pass", [VERDICT_FAIL] = "fail",
    [VERDICT_DIVERGENCE] = "divergence", [VERDICT_SKIP] = "skip", [VERDICT_INFO] = "info",
};

const char *conform_profile_name(profile_t p)
{
    return p < PROFILE_COUNT ? profile_names[p] : "?";
}

int conform_profile_parse(const char *s, profile_t *p)
{
    for (int i = 0; i < PROFILE_COUNT; i++) {
        if (strcmp(s, profile_names[i]) == 0) {
            *p = (profile_t)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *conform_verdict_name(verdict_t v)
{
    return v < VERDICT_COUNT ? verdict_names[v] : "?";
}

static bool match_any(const char *id, const char *const *globs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (const char *s = globs[i]; *s;) {
            size_t len = strcspn(s, ",");
            char pat[256];
            snprintf(pat, sizeof pat, "%.*s", (int)len, s);
            if (len > 0 && fnmatch(pat, id, 0) == 0)
                return true;
            s += len + (s[len] == ',');
        }
    }
    return false;
}

bool conform_selected(const char *id, const char *const *only, size_t nonly,
                      const char *const *skip, size_t nskip)
{
    return (nonly == 0 || match_any(id, only, nonly)) && !match_any(id, skip, nskip);
}

/* Only the slots are MAP_SHARED: results and plans stay private to the parent, so a child
 * whose allocator scribbles cannot reach them. */
static void *map_anon(size_t len, int share)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, share | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

conform_result_t *conform_results_new(size_t n)
{
    return map_anon((n ? n : 1) * sizeof(conform_result_t), MAP_PRIVATE);
}

void conform_results_free(conform_result_t *r, size_t n)
{
    if (r)
        munmap(r, (n ? n : 1) * sizeof(conform_result_t));
}

/* A check of errno alone, where errno is not owed. */
static bool errno_skip(const alloc_t *a, const check_t *c, profile_t p, char *msg, size_t len)
{
    if (!(c->flags & CHECK_ERRNO))
        return false;
    if (a->flags & ALLOCHECK_PLUGIN_NO_ERRNO)
        snprintf(msg, len, "the allocator declares no-errno");
    else if (p != PROFILE_POSIX2024)
        snprintf(msg, len, "errno is POSIX's, not ISO C's (profile %s)", profile_names[p]);
    else
        return false;
    return true;
}

bool conform_skip_reason(const alloc_t *a, const check_t *c, profile_t p, char *msg,
                         size_t len)
{
    uint32_t missing = c->needs & ~alloc_present(a);
    if (missing) {
        size_t off = (size_t)snprintf(msg, len, "no");
        for (int f = 0; f < AF_COUNT && off < len; f++)
            if (missing & AF_BIT(f))
                off += (size_t)snprintf(msg + off, len - off, "%s %s",
                                        off > 2 ? "," : "", alloc_fn_names[f]);
        return true;
    }
    if ((c->flags & CHECK_THREADS) && (a->flags & ALLOCHECK_PLUGIN_NOT_THREAD_SAFE)) {
        snprintf(msg, len, "the allocator declares itself not thread-safe");
        return true;
    }
    if ((c->flags & CHECK_FORK) && (a->flags & ALLOCHECK_PLUGIN_NOT_FORK_SAFE)) {
        snprintf(msg, len, "the allocator declares itself not fork-safe");
        return true;
    }
    return errno_skip(a, c, p, msg, len);
}

/* Runs c and marks the slot done; also what a preload worker runs (src/load/worker.h). */
static _Noreturn void run_check(const alloc_t *a, const check_t *c, slot_t *slot)
{
    slot->ctx.a = a;
    check_run(c, &slot->ctx);
    slot->done = 1;
    _exit(0);
}

void conform_worker_check(worker_kind_t kind, const alloc_t *a, const worker_part_t *parts,
                          void *const *shared)
{
    size_t i;
    memcpy(&i, parts[0].data, sizeof i);
    if (i < conform_check_count)
        run_check(a, conform_checks[i], shared[0]);
}

/* Under preload:, the check runs in an exec'd worker that finds it by its registry index.
 * If that fails, the check fails saying why. Never returns. */
static _Noreturn void in_worker(const check_t *c, slot_t *slot)
{
    size_t i = 0;
    while (i < conform_check_count && conform_checks[i] != c)
        i++;
    worker_part_t part = { &i, sizeof i };
    void *shared[] = { slot };
    int err = i < conform_check_count
                  ? worker_exec(slot->ctx.a, WORKER_CHECK, &part, 1, shared, 1) : -ENOENT;
    check_fail(&slot->ctx, "cannot run the check in a preload worker: %s", strerror(-err));
    slot->done = 1;
    _exit(0);
}

/* In the child (src/base/pool.h has isolated and limited it): run, mark done. */
static void body(void *arg, size_t task, void *s)
{
    const run_t *r = arg;
    slot_t *slot = s;
    slot->ctx.a = &r->allocs[task / r->nchecks];
    slot->ctx.profile = r->profile;
    slot->ctx.verdict = VERDICT_PASS;
    slot->ctx.timeout_ms = r->timeout_ms;
    const check_t *c = r->checks[task % r->nchecks];
    if (alloc_is_remote(slot->ctx.a))
        in_worker(c, slot);
    run_check(slot->ctx.a, c, slot);
}

/* "timed out after 5 s", "killed by SIGSEGV (Segmentation fault)", ... */
static size_t describe_death(const run_t *r, const pool_end_t *e, char *m, size_t len)
{
    unsigned t = r->timeout_ms;
    int n;
    if (e->timed_out)
        n = t % 1000 ? snprintf(m, len, "timed out after %u ms (deadlock or hang?)", t)
                     : snprintf(m, len, "timed out after %u s (deadlock or hang?)", t / 1000);
    else if (e->si.si_code == CLD_EXITED)
        n = snprintf(m, len, "exited with status %d before finishing the check "
                     "(exit() inside the allocator?)", e->si.si_status);
    else
        n = snprintf(m, len, "killed by SIG%s (%s)%s", sigabbrev_np(e->si.si_status) ?: "?",
                     sigdescr_np(e->si.si_status) ?: "unknown signal",
                     e->si.si_status == SIGKILL ? ", out of memory?" : "");
    return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

/* A report-only check whose child the allocator stopped on purpose (abort, a trap, exit: an
 * assertion on a documented precondition) has met a refusal, not broken a promise. */
static bool refused_on_purpose(const run_t *r, const pool_end_t *e)
{
    if (!(r->checks[e->task % r->nchecks]->flags & CHECK_INFO) || e->timed_out)
        return false;
    if (e->si.si_code == CLD_EXITED)
        return true;
    int sig = e->si.si_status;
    return sig == SIGABRT || sig == SIGTRAP || sig == SIGILL;
}

/* A check driving undefined behaviour, whose child died of it: any death is an answer. */
static bool died_of_ub(const run_t *r, const pool_end_t *e)
{
    return (r->checks[e->task % r->nchecks]->flags & CHECK_UB) && !e->timed_out;
}

/* The verdict of a check that ran to its end: a report's PASS is INFO. */
static verdict_t finished_verdict(const run_t *r, const pool_end_t *e, verdict_t v)
{
    if (v >= VERDICT_COUNT)
        return VERDICT_FAIL;
    bool info = r->checks[e->task % r->nchecks]->flags & (CHECK_INFO | CHECK_UB);
    return info && v == VERDICT_PASS ? VERDICT_INFO : v;
}

/* Turns a dead child into its result: the check's own verdict, or a failure saying how it
 * died, what the check had noted, and the allocator's last words. */
static void judge(const run_t *r, const pool_end_t *e)
{
    conform_result_t *res = &r->results[e->task];
    const slot_t *slot = e->slot;
    const check_ctx_t *c = &slot->ctx;
    int msglen = (int)strnlen(c->msg, sizeof c->msg);
    res->ms = (unsigned)e->ms;
    snprintf(res->behaviour, sizeof res->behaviour, "%.*s",
             (int)strnlen(c->behaviour, sizeof c->behaviour), c->behaviour);
    if (!e->timed_out && e->si.si_code == CLD_EXITED && slot->done) {
        res->verdict = finished_verdict(r, e, c->verdict);
        snprintf(res->msg, sizeof res->msg, "%.*s", msglen, c->msg);
        return;
    }
    res->verdict = died_of_ub(r, e) ? VERDICT_INFO
                   : refused_on_purpose(r, e) ? VERDICT_DIVERGENCE : VERDICT_FAIL;
    size_t off = describe_death(r, e, res->msg, sizeof res->msg);
    if (died_of_ub(r, e) && !res->behaviour[0])
        snprintf(res->behaviour, sizeof res->behaviour, "dies: %.*s", (int)off,
                 res->msg);
    if (msglen > 0)
        off += (size_t)snprintf(res->msg + off, sizeof res->msg - off,
                                "; the check had noted: %.*s", msglen, c->msg);
    if (e->tail_len > 0 && off < sizeof res->msg)
        snprintf(res->msg + off, sizeof res->msg - off, "\nlast words: %.*s",
                 (int)e->tail_len, e->tail);
}

/* A check a stop signal cut short has no verdict: a skip saying so, never a failure. */
static void done(void *arg, const pool_end_t *e)
{
    const run_t *r = arg;
    if (!e->stopped) {
        judge(r, e);
        return;
    }
    r->results[e->task] = (conform_result_t){ .verdict = VERDICT_SKIP };
    snprintf(r->results[e->task].msg, sizeof r->results[e->task].msg,
             "not finished: allocheck was interrupted");
}

/* Starts tasks until every job is busy. Skips need no child. */
static int fill(run_t *r)
{
    while (r->next < r->ntasks && pool_has_room(&r->pool)) {
        size_t task = r->order[r->next];
        conform_result_t *res = &r->results[task];
        const check_t *c = r->checks[task % r->nchecks];
        if (conform_skip_reason(&r->allocs[task / r->nchecks], c, r->profile, res->msg,
                                sizeof res->msg)) {
            res->verdict = VERDICT_SKIP;
            r->next++;
            continue;
        }
        int err = pool_start(&r->pool, task, c->flags & CHECK_NOLIMIT ? NULL : &r->lim);
        if (err == -EAGAIN && r->pool.running > 0)
            return 0;  /* out of processes: retry when a child ends */
        if (err < 0)
            return err;
        r->next++;
    }
    return 0;
}

/* Start order: CHECK_SLOW checks first so a long check does not end the run alone. */
static void plan(run_t *r)
{
    size_t k = 0;
    for (int slow = 1; slow >= 0; slow--)
        for (size_t ci = 0; ci < r->nchecks; ci++)
            if (!!(r->checks[ci]->flags & CHECK_SLOW) == slow)
                for (size_t ai = 0; ai < r->nallocs; ai++)
                    r->order[k++] = ai * r->nchecks + ci;
}

/* After a stop signal: the checks cut short and every check not started are skips. */
static void abandon(run_t *r)
{
    pool_stop(&r->pool);
    for (; r->next < r->ntasks; r->next++) {
        conform_result_t *res = &r->results[r->order[r->next]];
        res->verdict = VERDICT_SKIP;
        snprintf(res->msg, sizeof res->msg, "not run: allocheck was interrupted");
    }
}

static int open_pool(run_t *r, const conform_opts_t *opts)
{
    pool_opts_t po = {
        .jobs = pool_pick_jobs(opts->jobs, r->ntasks), .timeout_ms = r->timeout_ms,
        .slot_size = sizeof(slot_t), .tail_size = CONFORM_LAST_WORDS,
        .body = body, .done = done, .arg = r,
        /* the slots cross a preload worker's exec */
        .slot_new = worker_shared_new, .slot_free = worker_shared_free,
    };
    return pool_open(&r->pool, &po);
}

int conform_run(const alloc_t *allocs, size_t nallocs, const check_t *const *checks,
                size_t nchecks, const conform_opts_t *opts, conform_result_t *results)
{
    static run_t r;  /* large (jobs hold their last words); the runner is not reentrant */
    r = (run_t){ .allocs = allocs, .checks = checks, .nallocs = nallocs, .nchecks = nchecks,
                 .ntasks = nallocs * nchecks, .results = results, .profile = opts->profile };
    r.timeout_ms = opts->timeout_ms ? opts->timeout_ms : CONFORM_DEFAULT_TIMEOUT_MS;
    children_pick_limits(&r.lim, opts->data_limit ? opts->data_limit
                                  : children_data_headroom(CONFORM_DEFAULT_DATA_LIMIT));
    size_t order_len = (r.ntasks ? r.ntasks : 1) * sizeof(size_t);
    if (!(r.order = map_anon(order_len, MAP_PRIVATE)))
        return -ENOMEM;
    int err = open_pool(&r, opts);
    if (err) {
        munmap(r.order, order_len);
        return err;
    }
    memset(results, 0, r.ntasks * sizeof *results);
    plan(&r);
    while (!err && !children_stop() && (r.next < r.ntasks || r.pool.running > 0)) {
        err = fill(&r);
        if (!err && r.pool.running > 0)
            pool_wait(&r.pool);
    }
    if (children_stop())
        abandon(&r);
    pool_close(&r.pool);
    munmap(r.order, order_len);
    return err;
}


static bool repeatable(verdict_t v)
{
    return v == VERDICT_FAIL || v == VERDICT_DIVERGENCE;
}

static void mark_unstable(conform_result_t *r)
{
    char msg[sizeof r->msg];
    snprintf(msg, sizeof msg, "%s", r->msg);
    snprintf(r->msg, sizeof r->msg, "unstable (%u of %u runs gave %s): %.900s", r->same + 1,
             r->repeats + 1, conform_verdict_name(r->verdict), msg);
}

/* The repeats of one allocator's failing and diverging checks. */
static int repeat_one(const alloc_t *a, const check_t *const *checks, size_t nchecks,
                      const conform_opts_t *opts, conform_result_t *res, unsigned n)
{
    const check_t *sub[nchecks ? nchecks : 1];
    size_t idx[nchecks ? nchecks : 1], nsub = 0;
    for (size_t ci = 0; ci < nchecks; ci++)
        if (repeatable(res[ci].verdict)) {
            idx[nsub] = ci;
            sub[nsub++] = checks[ci];
        }
    conform_result_t *tmp = nsub ? conform_results_new(nsub) : NULL;
    if (nsub && !tmp)
        return -ENOMEM;
    int rc = 0;
    for (unsigned rep = 0; rep < n && nsub && !rc; rep++) {
        rc = conform_run(a, 1, sub, nsub, opts, tmp);
        for (size_t k = 0; k < nsub && !rc; k++) {
            res[idx[k]].repeats++;
            res[idx[k]].same += tmp[k].verdict == res[idx[k]].verdict;
        }
    }
    for (size_t k = 0; k < nsub && !rc; k++)
        if (res[idx[k]].same < res[idx[k]].repeats)
            mark_unstable(&res[idx[k]]);
    if (tmp)
        conform_results_free(tmp, nsub);
    return rc;
}

int conform_repeat(const alloc_t *allocs, size_t nallocs, const check_t *const *checks,
                   size_t nchecks, const conform_opts_t *opts, conform_result_t *results,
                   unsigned n)
{
    for (size_t ai = 0; ai < nallocs; ai++) {
        int rc = repeat_one(&allocs[ai], checks, nchecks, opts, results + ai * nchecks, n);
        if (rc)
            return rc;
    }
    return 0;
}
