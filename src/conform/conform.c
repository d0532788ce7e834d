/* The conformance runner (src/conform/conform.h). One forked child per (allocator, check) task, in its
 * own process group, stdout+stderr into a pipe whose last bytes are kept, the verdict written
 * into a MAP_SHARED slot. The parent waits on pidfds and pipes with poll(2), never sleeps, and
 * SIGKILLs a group whose deadline passed. Harness memory is mmap'ed: under preload: specs libc
 * malloc is the allocator under test. */
#include "src/conform/conform.h"
#include "src/base/children.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_JOBS 64

/* What a child writes: the check's context, then a mark that run() returned. */
typedef struct slot {
    check_ctx_t ctx;
    volatile int done;
} slot_t;

typedef struct job {
    pid_t pid;                /* 0: the job is free */
    int pidfd;
    int out;                  /* read end of the child's stdout+stderr; -1 after EOF */
    size_t task;
    slot_t *slot;
    long long start_ms, deadline_ms;
    bool timed_out;
    size_t tail_len;
    char tail[CONFORM_LAST_WORDS];
} job_t;

typedef struct run {
    const alloc_t *allocs;
    const check_t *const *checks;
    size_t nallocs, nchecks, ntasks, next;
    conform_result_t *results;
    profile_t profile;
    unsigned timeout_ms, njobs, running;
    size_t *order;            /* tasks in start order, CHECK_SLOW first */
    children_limits_t lim;
    job_t jobs[MAX_JOBS];
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

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/* In the child: isolate, limit, run, mark done. Never returns. */
static void child_main(const run_t *r, const check_t *c, slot_t *slot, int outw, pid_t parent)
{
    children_enter(parent, outw, c->flags & CHECK_NOLIMIT ? NULL : &r->lim);
    /* A crash must be a signal in every build: a sanitizer's handler would turn it into
     * exit(1) and hide which signal it was. */
    static const int crash[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGPIPE };
    for (size_t i = 0; i < sizeof crash / sizeof crash[0]; i++)
        signal(crash[i], SIG_DFL);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (unsigned i = 0; i < r->njobs; i++)  /* other checks' verdicts are out of reach */
        if (r->jobs[i].slot != slot)
            munmap(r->jobs[i].slot, sizeof *slot);
    if (alloc_is_remote(slot->ctx.a))
        in_worker(c, slot);
    run_check(slot->ctx.a, c, slot);
}

static void reset_slot(const run_t *r, slot_t *slot, size_t task)
{
    memset(slot, 0, sizeof *slot);
    slot->ctx.a = &r->allocs[task / r->nchecks];
    slot->ctx.profile = r->profile;
    slot->ctx.verdict = VERDICT_PASS;
    slot->ctx.timeout_ms = r->timeout_ms;
}

/* Forks the child of task into job j. Returns 0 or a negative errno. */
static int start_job(run_t *r, job_t *j, size_t task)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    reset_slot(r, j->slot, task);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int err = -errno;
        close(fds[0]);
        close(fds[1]);
        return err;
    }
    if (pid == 0)
        child_main(r, r->checks[task % r->nchecks], j->slot, fds[1], parent);
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
    j->task = task;
    j->start_ms = now_ms();
    j->deadline_ms = j->start_ms + r->timeout_ms;
    j->timed_out = false;
    j->tail_len = 0;
    r->running++;
    return 0;
}

/* Keeps the last CONFORM_LAST_WORDS bytes the child wrote. */
static void tail_push(job_t *j, const char *buf, size_t n)
{
    size_t cap = sizeof j->tail;
    if (n >= cap) {
        memcpy(j->tail, buf + n - cap, cap);
        j->tail_len = cap;
        return;
    }
    if (j->tail_len + n > cap) {
        size_t drop = j->tail_len + n - cap;
        memmove(j->tail, j->tail + drop, j->tail_len - drop);
        j->tail_len -= drop;
    }
    memcpy(j->tail + j->tail_len, buf, n);
    j->tail_len += n;
}

static void drain(job_t *j)
{
    char buf[4096];
    while (j->out >= 0) {
        ssize_t n = read(j->out, buf, sizeof buf);
        if (n > 0) {
            tail_push(j, buf, (size_t)n);
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            close(j->out);
            j->out = -1;
        } else if (errno == EAGAIN) {
            return;
        }
    }
}

/* "timed out after 5 s", "killed by SIGSEGV (Segmentation fault)", ... */
static size_t describe_death(const run_t *r, const job_t *j, const siginfo_t *si, char *m,
                             size_t len)
{
    unsigned t = r->timeout_ms;
    int n;
    if (j->timed_out)
        n = t % 1000 ? snprintf(m, len, "timed out after %u ms (deadlock or hang?)", t)
                     : snprintf(m, len, "timed out after %u s (deadlock or hang?)", t / 1000);
    else if (si->si_code == CLD_EXITED)
        n = snprintf(m, len, "exited with status %d before finishing the check "
                     "(exit() inside the allocator?)", si->si_status);
    else
        n = snprintf(m, len, "killed by SIG%s (%s)%s", sigabbrev_np(si->si_status) ?: "?",
                     sigdescr_np(si->si_status) ?: "unknown signal",
                     si->si_status == SIGKILL ? ", out of memory?" : "");
    return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

/* A report-only check whose child the allocator stopped on purpose (abort, a trap, exit: an
 * assertion on a documented precondition) has met a refusal, not broken a promise. */
static bool refused_on_purpose(const run_t *r, const job_t *j, const siginfo_t *si)
{
    if (!(r->checks[j->task % r->nchecks]->flags & CHECK_INFO) || j->timed_out)
        return false;
    if (si->si_code == CLD_EXITED)
        return true;
    return si->si_status == SIGABRT || si->si_status == SIGTRAP || si->si_status == SIGILL;
}

/* A check driving undefined behaviour, whose child died of it: any death is an answer. */
static bool died_of_ub(const run_t *r, const job_t *j)
{
    return (r->checks[j->task % r->nchecks]->flags & CHECK_UB) && !j->timed_out;
}

/* The verdict of a check that ran to its end: a report's PASS is INFO. */
static verdict_t finished_verdict(const run_t *r, const job_t *j, verdict_t v)
{
    if (v >= VERDICT_COUNT)
        return VERDICT_FAIL;
    bool info = r->checks[j->task % r->nchecks]->flags & (CHECK_INFO | CHECK_UB);
    return info && v == VERDICT_PASS ? VERDICT_INFO : v;
}

/* Turns a dead child into its result: the check's own verdict, or a failure saying how it
 * died, what the check had noted, and the allocator's last words. */
static void judge(const run_t *r, const job_t *j, const siginfo_t *si)
{
    conform_result_t *res = &r->results[j->task];
    const check_ctx_t *c = &j->slot->ctx;
    int msglen = (int)strnlen(c->msg, sizeof c->msg);
    res->ms = (unsigned)(now_ms() - j->start_ms);
    snprintf(res->behaviour, sizeof res->behaviour, "%.*s",
             (int)strnlen(c->behaviour, sizeof c->behaviour), c->behaviour);
    if (!j->timed_out && si->si_code == CLD_EXITED && j->slot->done) {
        res->verdict = finished_verdict(r, j, c->verdict);
        snprintf(res->msg, sizeof res->msg, "%.*s", msglen, c->msg);
        return;
    }
    res->verdict = died_of_ub(r, j) ? VERDICT_INFO
                   : refused_on_purpose(r, j, si) ? VERDICT_DIVERGENCE : VERDICT_FAIL;
    size_t off = describe_death(r, j, si, res->msg, sizeof res->msg);
    if (died_of_ub(r, j) && !res->behaviour[0])
        snprintf(res->behaviour, sizeof res->behaviour, "dies: %.*s", (int)off,
                 res->msg);
    if (msglen > 0)
        off += (size_t)snprintf(res->msg + off, sizeof res->msg - off,
                                "; the check had noted: %.*s", msglen, c->msg);
    if (j->tail_len > 0 && off < sizeof res->msg)
        snprintf(res->msg + off, sizeof res->msg - off, "\nlast words: %.*s",
                 (int)j->tail_len, j->tail);
}

/* Kills what is left of j's group, reaps the child and frees the job. */
static void release_job(run_t *r, job_t *j)
{
    kill(-j->pid, SIGKILL);
    while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (j->out >= 0)
        close(j->out);
    close(j->pidfd);
    children_reaped(j->pid);
    j->pid = 0;
    r->running--;
}

/* The child has exited: kill what it left in its group, collect, reap, free the job. */
static void finish(run_t *r, job_t *j)
{
    siginfo_t si = { 0 };
    while (waitid(P_PID, (id_t)j->pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
        ;
    kill(-j->pid, SIGKILL);
    drain(j);
    judge(r, j, &si);
    release_job(r, j);
}

/* Starts tasks until every job is busy. Skips need no child. */
static int fill(run_t *r)
{
    while (r->next < r->ntasks && r->running < r->njobs) {
        size_t task = r->order[r->next];
        conform_result_t *res = &r->results[task];
        const check_t *c = r->checks[task % r->nchecks];
        if (conform_skip_reason(&r->allocs[task / r->nchecks], c, r->profile, res->msg,
                                sizeof res->msg)) {
            res->verdict = VERDICT_SKIP;
            r->next++;
            continue;
        }
        job_t *j = r->jobs;
        while (j->pid != 0)
            j++;
        int err = start_job(r, j, task);
        if (err == -EAGAIN && r->running > 0)
            return 0;  /* out of processes: retry when a child ends */
        if (err < 0)
            return err;
        r->next++;
    }
    return 0;
}

/* The timeout is the check's own time: the time it waited for a CPU moves its deadline, so
 * a loaded machine makes a CPU-bound check slow, never hung. */
static void check_deadline(const run_t *r, job_t *j, long long now)
{
    j->deadline_ms = j->start_ms + r->timeout_ms + children_cpu_wait_ms(j->pid);
    if (now < j->deadline_ms)
        return;
    kill(-j->pid, SIGKILL);
    j->timed_out = true;
}

/* Waits for any child to end, write or pass its deadline, and handles what happened. */
static void wait_some(run_t *r)
{
    struct pollfd pfd[2 * MAX_JOBS];
    job_t *owner[2 * MAX_JOBS];
    nfds_t n = 0;
    /* Never longer than CHILDREN_POLL_MS: a stop signal between a look at the flag and
     * poll() would otherwise wait for the next deadline. */
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
            if (pfd[i].revents && pfd[i].fd == owner[i]->pidfd)
                finish(r, owner[i]);
    }
    now = now_ms();
    for (unsigned i = 0; i < r->njobs; i++) {
        job_t *j = &r->jobs[i];
        if (j->pid != 0 && !j->timed_out && now >= j->deadline_ms)
            check_deadline(r, j, now);
    }
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

/* After a stop signal: a check that was cut short has no verdict; it and every check not
 * started are skips saying so, never failures. */
static void abandon(run_t *r)
{
    for (unsigned i = 0; i < r->njobs; i++) {
        job_t *j = &r->jobs[i];
        if (j->pid == 0)
            continue;
        release_job(r, j);
        r->results[j->task] = (conform_result_t){ .verdict = VERDICT_SKIP };
        snprintf(r->results[j->task].msg, sizeof r->results[j->task].msg,
                 "not finished: allocheck was interrupted");
    }
    for (; r->next < r->ntasks; r->next++) {
        conform_result_t *res = &r->results[r->order[r->next]];
        res->verdict = VERDICT_SKIP;
        snprintf(res->msg, sizeof res->msg, "not run: allocheck was interrupted");
    }
}

static void kill_all(run_t *r)
{
    for (unsigned i = 0; i < r->njobs; i++) {
        if (r->jobs[i].pid != 0) {
            kill(-r->jobs[i].pid, SIGKILL);
            finish(r, &r->jobs[i]);
        }
    }
}

static unsigned pick_jobs(const conform_opts_t *o, size_t ntasks)
{
    long n = o->jobs ? (long)o->jobs : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > MAX_JOBS)
        n = MAX_JOBS;
    if ((size_t)n > ntasks)
        n = ntasks ? (long)ntasks : 1;
    return (unsigned)n;
}

int conform_run(const alloc_t *allocs, size_t nallocs, const check_t *const *checks,
                size_t nchecks, const conform_opts_t *opts, conform_result_t *results)
{
    static run_t r;  /* large (jobs hold their last words); the runner is not reentrant */
    r = (run_t){ .allocs = allocs, .checks = checks, .nallocs = nallocs, .nchecks = nchecks,
                 .ntasks = nallocs * nchecks, .results = results, .profile = opts->profile };
    r.timeout_ms = opts->timeout_ms ? opts->timeout_ms : CONFORM_DEFAULT_TIMEOUT_MS;
    r.njobs = pick_jobs(opts, r.ntasks);
    children_pick_limits(&r.lim, opts->data_limit ? opts->data_limit
                                  : children_data_headroom(CONFORM_DEFAULT_DATA_LIMIT));
    size_t order_len = (r.ntasks ? r.ntasks : 1) * sizeof(size_t);
    int err = (r.order = map_anon(order_len, MAP_PRIVATE)) ? 0 : -ENOMEM;
    for (unsigned i = 0; i < r.njobs && !err; i++)
        if (!(r.jobs[i].slot = worker_shared_new(sizeof(slot_t))))   /* crosses an exec */
            err = -ENOMEM;
    if (err)
        goto out;
    memset(results, 0, r.ntasks * sizeof *results);
    plan(&r);
    fflush(NULL);  /* or children would inherit and repeat buffered output */
    while (!err && !children_stop() && (r.next < r.ntasks || r.running > 0)) {
        err = fill(&r);
        if (!err && r.running > 0)
            wait_some(&r);
    }
    if (children_stop())
        abandon(&r);
    kill_all(&r);
out:
    for (unsigned i = 0; i < r.njobs; i++)
        if (r.jobs[i].slot)
            worker_shared_free(r.jobs[i].slot, sizeof(slot_t));
    if (r.order)
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
