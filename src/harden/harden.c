/* The runner of `allocheck harden` (src/harden/harden.h). One child per run of a task, run by
 * the pool of watched children (src/base/pool.h): the probe's verdict comes through the job's
 * MAP_SHARED slot, the allocator's message through its output's tail. The outcome of a run is
 * decided here, from how the child ended and how far it got (judge()). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/base/children.h"
#include "src/base/pool.h"
#include "src/harden/harden.h"

#define TAIL 300

typedef struct run {
    const alloc_t *allocs;
    const misuse_t *const *cases;
    size_t ncases, ntasks, nruns, next;   /* next: index into tasks * runs */
    unsigned runs, timeout_ms;
    harden_result_t *res;
    children_limits_t lim;
    pool_t pool;
} run_t;

static const char *const outcome_names[HO_COUNT] = {
    [HO_NA] = "n/a", [HO_ERROR] = "error", [HO_DETECTED] = "detected",
    [HO_TRAPPED] = "trapped", [HO_IGNORED] = "ignored", [HO_LEAKED] = "leaked",
    [HO_DUPLICATE] = "corrupted: duplicate", [HO_OVERLAPPING] = "corrupted: overlapping",
    [HO_ARBITRARY] = "corrupted: arbitrary", [HO_RESTRICTED] = "corrupted: restricted write",
    [HO_LATE_FAULT] = "corrupted: late fault", [HO_HANG] = "corrupted: hang",
};
static const char *const class_names[HC_COUNT] = {
    [HC_NA] = "n/a", [HC_ERROR] = "error", [HC_DETECTED] = "detected", [HC_TRAPPED] = "trapped",
    [HC_IGNORED] = "ignored", [HC_LEAKED] = "leaked", [HC_CORRUPTED] = "corrupted",
};

harden_class_t harden_class_of(harden_outcome_t o)
{
    return o >= HO_DUPLICATE ? HC_CORRUPTED : (harden_class_t)o;
}

const char *harden_outcome_name(harden_outcome_t o)
{
    return o < HO_COUNT ? outcome_names[o] : "?";
}

const char *harden_class_name(harden_class_t c)
{
    return c < HC_COUNT ? class_names[c] : "?";
}

const misuse_t *harden_find(const char *id)
{
    for (size_t i = 0; i < misuse_case_count; i++)
        if (strcmp(misuse_cases[i]->id, id) == 0)
            return misuse_cases[i];
    return NULL;
}

bool harden_na_reason(const alloc_t *a, const misuse_t *c, char *msg, size_t len)
{
    uint32_t missing = c->needs & ~alloc_present(a);
    if (missing) {
        size_t off = (size_t)snprintf(msg, len, "no");
        for (int f = 0; f < AF_COUNT && off < len; f++)
            if (missing & AF_BIT(f))
                off += (size_t)snprintf(msg + off, len - off, "%s %s", off > 2 ? "," : "",
                                        alloc_fn_names[f]);
        return true;
    }
    if ((c->flags & MISUSE_THREADS) && (a->flags & ALLOCHECK_PLUGIN_NOT_THREAD_SAFE)) {
        snprintf(msg, len, "the allocator declares itself not thread-safe");
        return true;
    }
    return false;
}

static const alloc_t *alloc_of(const run_t *r, size_t task)
{
    return &r->allocs[task / r->ncases];
}

static const misuse_t *case_of(const run_t *r, size_t task)
{
    return r->cases[task % r->ncases];
}

/* In the child (src/base/pool.h has isolated and limited it). */
static void body(void *arg, size_t task, void *slot)
{
    const run_t *r = arg;
    harden_slot_t *s = slot;
    if (alloc_is_remote(alloc_of(r, task))) {
        snprintf(s->msg, sizeof s->msg, "preload: specs are not supported by harden");
        _exit(3);
    }
    harden_child(alloc_of(r, task), case_of(r, task), s);
}

/* The child's last words on one line: newlines become " / ", blanks at the ends go. */
static void words(const pool_end_t *e, char *out, size_t len)
{
    size_t o = 0, i = 0, n = e->tail_len;
    while (i < n && (e->tail[i] == '\n' || e->tail[i] == ' '))
        i++;
    while (n > i && (e->tail[n - 1] == '\n' || e->tail[n - 1] == ' '))
        n--;
    for (; i < n && o + 4 < len; i++) {
        char ch = e->tail[i];
        if (ch == '\n') {
            memcpy(out + o, " / ", 3);
            o += 3;
        } else {
            out[o++] = (ch >= 0x20 && ch < 0x7f) ? ch : '?';
        }
    }
    out[o] = 0;
}

static const char *phase_name(int phase)
{
    return phase == HARDEN_PHASE_MISUSE ? "during the misuse"
           : phase == HARDEN_PHASE_PROBE ? "in the probe after the misuse"
                                         : "freeing the probe's blocks";
}

/* How the child ended, as an outcome and a message. */
static harden_outcome_t judge(const run_t *r, const pool_end_t *e, char *msg, size_t len)
{
    const harden_slot_t *s = e->slot;
    const siginfo_t *si = &e->si;
    char said[TAIL + 64];
    words(e, said, sizeof said);
    bool clean = !e->timed_out && si->si_code == CLD_EXITED && si->si_status == 0;
    int phase = s->phase;
    if (phase == HARDEN_PHASE_NA || (si->si_code == CLD_EXITED && si->si_status == 3)) {
        snprintf(msg, len, "%.*s", (int)sizeof s->msg, s->msg);
        return phase == HARDEN_PHASE_NA ? HO_NA : HO_ERROR;
    }
    if (phase == HARDEN_PHASE_SETUP) {
        snprintf(msg, len, "%s before the misuse began%s%.300s",
                 clean ? "the case ended" : e->timed_out ? "timed out" : "died",
                 said[0] ? ": " : "", said);
        return HO_ERROR;
    }
    /* A probe verdict in before the death stands: the attacker already had the primitive. */
    if (s->found != HO_IGNORED && phase >= HARDEN_PHASE_CLEANUP) {
        snprintf(msg, len, "%.*s", (int)sizeof s->msg, s->msg);
        return s->found;
    }
    if (clean && phase == HARDEN_PHASE_DONE) {
        snprintf(msg, len, "%.300s", said);
        return said[0] ? HO_DETECTED : HO_IGNORED;
    }
    if (e->timed_out) {
        snprintf(msg, len, "no progress for %u ms %s", r->timeout_ms, phase_name(phase));
        return HO_HANG;
    }
    if (si->si_code != CLD_EXITED && (si->si_status == SIGSEGV || si->si_status == SIGBUS)) {
        snprintf(msg, len, "SIG%s %s%s%.300s", sigabbrev_np(si->si_status), phase_name(phase),
                 said[0] ? ": " : "", said);
        return phase == HARDEN_PHASE_MISUSE ? HO_TRAPPED : HO_LATE_FAULT;
    }
    if (si->si_code != CLD_EXITED && si->si_status == SIGKILL) {
        snprintf(msg, len, "killed by SIGKILL %s (out of memory?)", phase_name(phase));
        return HO_ERROR;
    }
    if (si->si_code == CLD_EXITED)
        snprintf(msg, len, "exit %d %s%s%.300s", si->si_status, phase_name(phase),
                 said[0] ? ": " : "", said);
    else
        snprintf(msg, len, "%.300s%sSIG%s %s", said, said[0] ? " / " : "",
                 sigabbrev_np(si->si_status) ?: "?", phase_name(phase));
    return HO_DETECTED;
}

/* Worse outcomes first when counts tie: what an attacker can get decides. */
static int rank(harden_outcome_t o)
{
    static const int r[HO_COUNT] = {
        [HO_DUPLICATE] = 12, [HO_OVERLAPPING] = 11, [HO_ARBITRARY] = 10, [HO_RESTRICTED] = 9,
        [HO_LATE_FAULT] = 8, [HO_HANG] = 7, [HO_LEAKED] = 6, [HO_IGNORED] = 5,
        [HO_TRAPPED] = 4, [HO_DETECTED] = 3, [HO_ERROR] = 2, [HO_NA] = 1,
    };
    return r[o];
}

static void record(run_t *r, const pool_end_t *e, harden_outcome_t o, const char *msg)
{
    harden_result_t *res = &r->res[e->task];
    res->count[o]++;
    res->runs++;
    res->ms += (unsigned)e->ms;
    harden_outcome_t best = res->outcome;
    bool first = res->runs == 1;
    if (first || res->count[o] > res->count[best] ||
        (res->count[o] == res->count[best] && rank(o) > rank(best))) {
        if (first || o != best)
            snprintf(res->msg, sizeof res->msg, "%s", msg);
        res->outcome = o;
    }
}

/* Every end counts, a stop's too: its run is in, as how the child was made to end. */
static void done(void *arg, const pool_end_t *e)
{
    run_t *r = arg;
    char msg[HARDEN_MSG];
    record(r, e, judge(r, e, msg, sizeof msg), msg);
}

static void na_task(run_t *r, size_t task)
{
    harden_result_t *res = &r->res[task];
    if (res->runs)
        return;
    harden_na_reason(alloc_of(r, task), case_of(r, task), res->msg, sizeof res->msg);
    res->outcome = HO_NA;
    res->runs = 1;
    res->count[HO_NA] = 1;
}

static int fill(run_t *r)
{
    while (r->next < r->nruns && pool_has_room(&r->pool)) {
        size_t task = r->next % r->ntasks;
        char why[8];
        if (harden_na_reason(alloc_of(r, task), case_of(r, task), why, sizeof why)) {
            na_task(r, task);
            r->next++;
            continue;
        }
        int err = pool_start(&r->pool, task, &r->lim);
        if (err == -EAGAIN && r->pool.running > 0)
            return 0;
        if (err < 0)
            return err;
        r->next++;
    }
    return 0;
}

/* After a stop signal: a task none of whose runs finished is an error saying so; one with
 * some runs in keeps their outcome (its cell shows how many). */
static void abandon(run_t *r)
{
    pool_stop(&r->pool);
    for (size_t t = 0; t < r->ntasks; t++) {
        harden_result_t *res = &r->res[t];
        if (res->runs >= r->runs || res->outcome == HO_NA)
            continue;
        if (res->runs == 0) {   /* the runs already in keep their outcome */
            res->outcome = HO_ERROR;
            snprintf(res->msg, sizeof res->msg, "not run: allocheck was interrupted");
        }
    }
}

int harden_run(const alloc_t *allocs, size_t nallocs, const misuse_t *const *cases,
               size_t ncases, const harden_opts_t *opts, harden_result_t *results)
{
    static run_t r;   /* large (jobs hold their last words); not reentrant */
    r = (run_t){ .allocs = allocs, .cases = cases, .ncases = ncases, .res = results,
                 .ntasks = nallocs * ncases };
    r.runs = opts->runs ? opts->runs : HARDEN_DEFAULT_RUNS;
    r.nruns = r.ntasks * r.runs;
    r.timeout_ms = opts->timeout_ms ? opts->timeout_ms : HARDEN_DEFAULT_TIMEOUT_MS;
    children_pick_limits(&r.lim, children_data_headroom(8ull << 30));
    memset(results, 0, r.ntasks * sizeof *results);
    pool_opts_t po = { .jobs = pool_pick_jobs(opts->jobs, r.nruns), .timeout_ms = r.timeout_ms,
                       .slot_size = sizeof(harden_slot_t), .tail_size = TAIL,
                       .body = body, .done = done, .arg = &r };
    int err = pool_open(&r.pool, &po);
    if (err)
        return err;
    while (!err && !children_stop() && (r.next < r.nruns || r.pool.running > 0)) {
        err = fill(&r);
        if (!err && r.pool.running > 0)
            pool_wait(&r.pool);
    }
    abandon(&r);
    pool_close(&r.pool);
    return err;
}
