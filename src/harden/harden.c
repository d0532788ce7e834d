/* The runner of `allocheck harden` (src/harden/harden.h). One forked child per run of a task,
 * in its own process group (src/base/children.h), stdout+stderr into a pipe whose tail is kept as
 * the allocator's message, the probe's verdict in a MAP_SHARED slot. The parent waits with
 * poll(2) on pidfds and pipes and SIGKILLs a group whose deadline passed. The outcome of a run
 * is decided here, from how the child ended and how far it got (judge()). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/base/children.h"
#include "src/harden/harden.h"

#define MAX_JOBS 64
#define TAIL 300

typedef struct job {
    pid_t pid;                /* 0: free */
    int pidfd, out;
    size_t task;
    harden_slot_t *slot;
    long long start_ms, deadline_ms;
    bool timed_out;
    size_t tail_len;
    char tail[TAIL];
} job_t;

typedef struct run {
    const alloc_t *allocs;
    const misuse_t *const *cases;
    size_t ncases, ntasks, nruns, next;   /* next: index into tasks * runs */
    unsigned runs, njobs, running, timeout_ms;
    harden_result_t *res;
    children_limits_t lim;
    job_t jobs[MAX_JOBS];
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

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const alloc_t *alloc_of(const run_t *r, size_t task)
{
    return &r->allocs[task / r->ncases];
}

static const misuse_t *case_of(const run_t *r, size_t task)
{
    return r->cases[task % r->ncases];
}

static _Noreturn void child_main(const run_t *r, job_t *j, int outw, pid_t parent)
{
    children_enter(parent, outw, &r->lim);
    static const int crash[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGPIPE, SIGTRAP };
    for (size_t i = 0; i < sizeof crash / sizeof crash[0]; i++)
        signal(crash[i], SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (alloc_is_remote(alloc_of(r, j->task))) {
        snprintf(j->slot->msg, sizeof j->slot->msg, "preload: specs are not supported by harden");
        _exit(3);
    }
    harden_child(alloc_of(r, j->task), case_of(r, j->task), j->slot);
    _exit(0);
}

static int start(run_t *r, job_t *j, size_t task)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    memset(j->slot, 0, sizeof *j->slot);
    j->task = task;
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) {
        int err = -errno;
        close(fds[0]);
        close(fds[1]);
        return err;
    }
    if (pid == 0)
        child_main(r, j, fds[1], parent);
    children_add(pid);
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    j->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (j->pidfd < 0) {
        int err = -errno;
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        children_reaped(pid);
        close(fds[0]);
        return err;
    }
    j->pid = pid;
    j->out = fds[0];
    j->start_ms = now_ms();
    j->deadline_ms = j->start_ms + r->timeout_ms;
    j->timed_out = false;
    j->tail_len = 0;
    r->running++;
    return 0;
}

static void drain(job_t *j)
{
    char buf[4096];
    while (j->out >= 0) {
        ssize_t n = read(j->out, buf, sizeof buf);
        if (n > 0) {
            size_t k = (size_t)n > TAIL ? TAIL : (size_t)n, keep = j->tail_len;
            if (keep + k > TAIL)
                keep = TAIL - k;
            memmove(j->tail, j->tail + j->tail_len - keep, keep);
            memcpy(j->tail + keep, buf + (size_t)n - k, k);
            j->tail_len = keep + k;
        } else if (n == 0 || errno != EINTR) {
            if (n < 0 && errno == EAGAIN)
                return;
            close(j->out);
            j->out = -1;
        }
    }
}

/* The child's last words on one line: newlines become " / ", blanks at the ends go. */
static void words(const job_t *j, char *out, size_t len)
{
    size_t o = 0, i = 0, n = j->tail_len;
    while (i < n && (j->tail[i] == '\n' || j->tail[i] == ' '))
        i++;
    while (n > i && (j->tail[n - 1] == '\n' || j->tail[n - 1] == ' '))
        n--;
    for (; i < n && o + 4 < len; i++) {
        char ch = j->tail[i];
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
static harden_outcome_t judge(const run_t *r, const job_t *j, const siginfo_t *si, char *msg,
                              size_t len)
{
    const harden_slot_t *s = j->slot;
    char said[TAIL + 64];
    words(j, said, sizeof said);
    bool clean = !j->timed_out && si->si_code == CLD_EXITED && si->si_status == 0;
    int phase = s->phase;
    if (phase == HARDEN_PHASE_NA || (si->si_code == CLD_EXITED && si->si_status == 3)) {
        snprintf(msg, len, "%.*s", (int)sizeof s->msg, s->msg);
        return phase == HARDEN_PHASE_NA ? HO_NA : HO_ERROR;
    }
    if (phase == HARDEN_PHASE_SETUP) {
        snprintf(msg, len, "%s before the misuse began%s%.300s",
                 clean ? "the case ended" : j->timed_out ? "timed out" : "died",
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
    if (j->timed_out) {
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

static void record(run_t *r, const job_t *j, harden_outcome_t o, const char *msg)
{
    harden_result_t *res = &r->res[j->task];
    res->count[o]++;
    res->runs++;
    res->ms += (unsigned)(now_ms() - j->start_ms);
    harden_outcome_t best = res->outcome;
    bool first = res->runs == 1;
    if (first || res->count[o] > res->count[best] ||
        (res->count[o] == res->count[best] && rank(o) > rank(best))) {
        if (first || o != best)
            snprintf(res->msg, sizeof res->msg, "%s", msg);
        res->outcome = o;
    }
}

static void finish(run_t *r, job_t *j)
{
    siginfo_t si = { 0 };
    while (waitid(P_PID, (id_t)j->pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
        ;
    kill(-j->pid, SIGKILL);
    drain(j);
    char msg[HARDEN_MSG];
    record(r, j, judge(r, j, &si, msg, sizeof msg), msg);
    while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (j->out >= 0)
        close(j->out);
    close(j->pidfd);
    children_reaped(j->pid);
    j->pid = 0;
    r->running--;
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
    while (r->next < r->nruns && r->running < r->njobs) {
        size_t task = r->next % r->ntasks;
        char why[8];
        if (harden_na_reason(alloc_of(r, task), case_of(r, task), why, sizeof why)) {
            na_task(r, task);
            r->next++;
            continue;
        }
        job_t *j = r->jobs;
        while (j->pid != 0)
            j++;
        int err = start(r, j, task);
        if (err == -EAGAIN && r->running > 0)
            return 0;
        if (err < 0)
            return err;
        r->next++;
    }
    return 0;
}

static void wait_some(run_t *r)
{
    struct pollfd pfd[2 * MAX_JOBS];
    job_t *owner[2 * MAX_JOBS];
    nfds_t n = 0;
    long long now = now_ms(), next = now + CHILDREN_POLL_MS;
    for (unsigned i = 0; i < r->njobs; i++) {
        job_t *j = &r->jobs[i];
        if (j->pid == 0)
            continue;
        pfd[n] = (struct pollfd){ .fd = j->pidfd, .events = POLLIN };
        owner[n++] = j;
        if (j->out >= 0) {
            pfd[n] = (struct pollfd){ .fd = j->out, .events = POLLIN };
            owner[n++] = j;
        }
        if (!j->timed_out && j->deadline_ms < next)
            next = j->deadline_ms;
    }
    if (poll(pfd, n, next > now ? (int)(next - now) : 0) > 0) {
        for (nfds_t i = 0; i < n; i++)
            if (pfd[i].revents && pfd[i].fd == owner[i]->out)
                drain(owner[i]);
        for (nfds_t i = 0; i < n; i++)
            if (pfd[i].revents && pfd[i].fd == owner[i]->pidfd && owner[i]->pid)
                finish(r, owner[i]);
    }
    now = now_ms();
    for (unsigned i = 0; i < r->njobs; i++) {
        job_t *j = &r->jobs[i];
        if (j->pid != 0 && !j->timed_out && now >= j->deadline_ms) {
            kill(-j->pid, SIGKILL);
            j->timed_out = true;
        }
    }
}

/* After a stop signal: a task none of whose runs finished is an error saying so; one with
 * some runs in keeps their outcome (its cell shows how many). */
static void abandon(run_t *r)
{
    for (unsigned i = 0; i < r->njobs; i++)
        if (r->jobs[i].pid) {
            kill(-r->jobs[i].pid, SIGKILL);
            finish(r, &r->jobs[i]);
        }
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

static unsigned pick_jobs(const harden_opts_t *o, size_t n)
{
    long j = o->jobs ? (long)o->jobs : sysconf(_SC_NPROCESSORS_ONLN);
    j = j < 1 ? 1 : j > MAX_JOBS ? MAX_JOBS : j;
    return (size_t)j > n ? (unsigned)(n ? n : 1) : (unsigned)j;
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
    r.njobs = pick_jobs(opts, r.nruns);
    children_pick_limits(&r.lim, children_data_headroom(8ull << 30));
    memset(results, 0, r.ntasks * sizeof *results);
    int err = 0;
    for (unsigned i = 0; i < r.njobs && !err; i++) {
        void *m = mmap(NULL, sizeof(harden_slot_t), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            err = -ENOMEM;
        else
            r.jobs[i].slot = m;
    }
    fflush(NULL);
    while (!err && !children_stop() && (r.next < r.nruns || r.running > 0)) {
        err = fill(&r);
        if (!err && r.running > 0)
            wait_some(&r);
    }
    abandon(&r);
    for (unsigned i = 0; i < r.njobs; i++)
        if (r.jobs[i].slot)
            munmap(r.jobs[i].slot, sizeof(harden_slot_t));
    return err;
}
