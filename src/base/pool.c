/* The pool of watched children (see pool.h).
 * Why pidfds and a pipe per child, polled together: the end of a child is its pidfd, not the
 * pipe's EOF (a grandchild may hold the pipe), and the pipe must be read while the child runs
 * or a child that writes a lot blocks on it and looks hung. */
#include "src/base/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *anon_new(size_t len)
{
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

static void anon_free(void *m, size_t len)
{
    munmap(m, len);
}

int pool_open(pool_t *p, const pool_opts_t *o)
{
    memset(p, 0, offsetof(pool_t, jobs));
    p->o = *o;
    if (!p->o.slot_new || !p->o.slot_free)
        p->o.slot_new = anon_new, p->o.slot_free = anon_free;
    if (p->o.tail_size > POOL_MAX_TAIL)
        p->o.tail_size = POOL_MAX_TAIL;
    p->o.jobs = pool_pick_jobs(o->jobs ? o->jobs : 1, 0);
    children_init();
    for (unsigned i = 0; i < p->o.jobs; i++)
        p->jobs[i].pid = 0, p->jobs[i].slot = NULL;
    for (unsigned i = 0; i < p->o.jobs; i++) {
        if (p->o.slot_size && !(p->jobs[i].slot = p->o.slot_new(p->o.slot_size))) {
            int err = -errno;
            pool_close(p);
            return err ? err : -ENOMEM;
        }
    }
    return 0;
}

bool pool_has_room(const pool_t *p)
{
    return p->running < p->o.jobs;
}

/* In the child: isolated, limited, crashes as signals, other jobs' slots out of reach. */
static _Noreturn void child_main(pool_t *p, pool_job_t *j, int outw, pid_t parent,
                                 const children_limits_t *lim)
{
    children_enter(parent, outw, lim);
    /* A sanitizer's handler would turn a crash into exit(1) and hide which signal it was. */
    static const int crash[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGPIPE, SIGTRAP };
    for (size_t i = 0; i < sizeof crash / sizeof crash[0]; i++)
        signal(crash[i], SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (unsigned i = 0; i < p->o.jobs; i++)
        if (p->jobs[i].slot && p->jobs[i].slot != j->slot)
            p->o.slot_free(p->jobs[i].slot, p->o.slot_size);
    p->o.body(p->o.arg, j->task, j->slot);
    _exit(0);
}

/* Watches pid from job j. Returns 0, or a negative errno with the child killed and reaped. */
static int watch(pool_t *p, pool_job_t *j, pid_t pid, int out)
{
    children_add(pid);
    fcntl(out, F_SETFL, O_NONBLOCK);
    j->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (j->pidfd < 0) {
        int err = -errno;
        kill(-pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        children_reaped(pid);
        close(out);
        return err;
    }
    j->pid = pid;
    j->out = out;
    j->start_ms = now_ms();
    j->deadline_ms = j->start_ms + p->o.timeout_ms;
    j->timed_out = false;
    j->tail_len = 0;
    p->running++;
    return 0;
}

int pool_start(pool_t *p, size_t task, const children_limits_t *lim)
{
    pool_job_t *j = p->jobs;
    while (j < p->jobs + p->o.jobs && j->pid != 0)
        j++;
    if (j == p->jobs + p->o.jobs)
        return -EBUSY;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    if (j->slot)
        memset(j->slot, 0, p->o.slot_size);
    j->task = task;
    pid_t parent = getpid();
    fflush(NULL);   /* or the child would inherit and repeat buffered output */
    pid_t pid = fork();
    if (pid == 0)
        child_main(p, j, fds[1], parent, lim);
    int err = pid < 0 ? -errno : 0;
    close(fds[1]);
    if (err) {
        close(fds[0]);
        return err;
    }
    return watch(p, j, pid, fds[0]);
}

/* Keeps the last tail_size bytes the child wrote. */
static void tail_push(const pool_t *p, pool_job_t *j, const char *buf, size_t n)
{
    size_t cap = p->o.tail_size;
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

static void drain(const pool_t *p, pool_job_t *j)
{
    char buf[4096];
    while (j->out >= 0) {
        ssize_t n = read(j->out, buf, sizeof buf);
        if (n > 0) {
            tail_push(p, j, buf, (size_t)n);
        } else if (n < 0 && errno == EAGAIN) {
            return;
        } else if (n == 0 || errno != EINTR) {
            close(j->out);
            j->out = -1;
        }
    }
}

/* The child has ended (or was killed): kills what it left in its group, collects what it
 * wrote, hands the end to done, reaps it and frees the job. */
static void finish(pool_t *p, pool_job_t *j, bool stopped)
{
    pool_end_t e = { .task = j->task, .timed_out = j->timed_out, .stopped = stopped,
                     .slot = j->slot, .tail = j->tail };
    while (waitid(P_PID, (id_t)j->pid, &e.si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
        ;
    kill(-j->pid, SIGKILL);
    drain(p, j);
    e.ms = now_ms() - j->start_ms;
    e.tail_len = j->tail_len;
    p->o.done(p->o.arg, &e);
    while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (j->out >= 0)
        close(j->out);
    close(j->pidfd);
    children_reaped(j->pid);
    j->pid = 0;
    p->running--;
}

/* The deadline is in the child's own time: its wait for a CPU moves it, so a loaded machine
 * makes a CPU-bound child slow, never hung. */
static void check_deadline(const pool_t *p, pool_job_t *j, long long now)
{
    j->deadline_ms = j->start_ms + p->o.timeout_ms + children_cpu_wait_ms(j->pid);
    if (now < j->deadline_ms)
        return;
    kill(-j->pid, SIGKILL);
    j->timed_out = true;
}

/* Fills pfd with every running job's pidfd and pipe; returns how long poll may sleep. */
static int gather(pool_t *p, struct pollfd *pfd, pool_job_t **owner, nfds_t *n)
{
    /* Never longer than CHILDREN_POLL_MS: a stop signal between a look at the flag and
     * poll() would otherwise wait for the next deadline. */
    long long now = now_ms(), next = now + CHILDREN_POLL_MS;
    *n = 0;
    for (unsigned i = 0; i < p->o.jobs; i++) {
        pool_job_t *j = &p->jobs[i];
        if (j->pid == 0)
            continue;
        pfd[*n] = (struct pollfd){ .fd = j->pidfd, .events = POLLIN };
        owner[(*n)++] = j;
        if (j->out >= 0) {
            pfd[*n] = (struct pollfd){ .fd = j->out, .events = POLLIN };
            owner[(*n)++] = j;
        }
        if (!j->timed_out && j->deadline_ms < next)
            next = j->deadline_ms;
    }
    return next > now ? (int)(next - now) : 0;
}

void pool_wait(pool_t *p)
{
    struct pollfd pfd[2 * POOL_MAX_JOBS];
    pool_job_t *owner[2 * POOL_MAX_JOBS];
    nfds_t n;
    int ms = gather(p, pfd, owner, &n);
    if (poll(pfd, n, ms) > 0) {
        for (nfds_t i = 0; i < n; i++)
            if (pfd[i].revents && pfd[i].fd == owner[i]->out)
                drain(p, owner[i]);
        for (nfds_t i = 0; i < n; i++)
            if (pfd[i].revents && pfd[i].fd == owner[i]->pidfd && owner[i]->pid)
                finish(p, owner[i], false);
    }
    long long now = now_ms();
    for (unsigned i = 0; i < p->o.jobs; i++) {
        pool_job_t *j = &p->jobs[i];
        if (j->pid != 0 && !j->timed_out && now >= j->deadline_ms)
            check_deadline(p, j, now);
    }
}

void pool_stop(pool_t *p)
{
    for (unsigned i = 0; i < p->o.jobs; i++)
        if (p->jobs[i].pid != 0) {
            kill(-p->jobs[i].pid, SIGKILL);
            finish(p, &p->jobs[i], true);
        }
}

void pool_close(pool_t *p)
{
    pool_stop(p);
    for (unsigned i = 0; i < p->o.jobs; i++)
        if (p->jobs[i].slot) {
            p->o.slot_free(p->jobs[i].slot, p->o.slot_size);
            p->jobs[i].slot = NULL;
        }
}

unsigned pool_pick_jobs(unsigned n, size_t tasks)
{
    long j = n ? (long)n : sysconf(_SC_NPROCESSORS_ONLN);
    j = j < 1 ? 1 : j > POOL_MAX_JOBS ? POOL_MAX_JOBS : j;
    if (tasks && (size_t)j > tasks)
        j = (long)tasks;
    return (unsigned)j;
}
