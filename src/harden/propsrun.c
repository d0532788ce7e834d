/* Measures every property (src/harden/props.h) of every allocator, each in its own child
 * (src/base/children.h) with a timeout, so a property that crashes the allocator costs one cell.
 * The value crosses back in a MAP_SHARED buffer. A property that needs fresh address spaces
 * (entropy: a fork shares its parent's layout) is sampled in HARDEN_PROP_SAMPLES children that
 * each exec allocheck's hidden sample mode, which prints one address. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/base/children.h"
#include "src/harden/props.h"
#include "src/harden/propsrun.h"

typedef struct pslot {
    int rc;
    char buf[HARDEN_PROP_VALUE];
} pslot_t;

static void measure_child(const alloc_t *a, size_t i, pslot_t *s, pid_t parent)
{
    children_enter(parent, open("/dev/null", O_WRONLY | O_CLOEXEC), children_default_limits());
    s->rc = alloc_is_remote(a) ? -1 : harden_prop_measure(i, a, s->buf, sizeof s->buf);
    if (alloc_is_remote(a))
        snprintf(s->buf, sizeof s->buf, "preload: not supported");
    _exit(0);
}

/* Waits for pid up to ms; false when it had to be killed. */
static bool wait_for(pid_t pid, unsigned ms, int *status)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    for (unsigned waited = 0; fd >= 0 && waited < ms && !children_stop();
         waited += CHILDREN_POLL_MS) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, CHILDREN_POLL_MS) > 0)
            break;
    }
    bool done = waitpid(pid, status, WNOHANG) == pid;
    if (!done) {
        kill(-pid, SIGKILL);
        waitpid(pid, status, 0);
    }
    if (fd >= 0)
        close(fd);
    children_reaped(pid);
    return done;
}

/* One fresh process's sample: -1 when it failed. */
static int sample_one(const alloc_t *a, unsigned ms, uintptr_t *v)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    fflush(NULL);
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        children_enter(parent, fds[1], children_default_limits());
        char *argv[] = { "allocheck", HARDEN_SAMPLE_ARG, (char *)a->spec, NULL };
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return -1;
    }
    children_add(pid);
    char buf[256];
    ssize_t n = read(fds[0], buf, sizeof buf - 1);   /* one short line, then exit */
    close(fds[0]);
    int status = 0;
    bool done = wait_for(pid, ms, &status);
    buf[n > 0 ? n : 0] = 0;
    return done && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
           sscanf(buf, "sample %" SCNxPTR, v) == 1 ? 0 : -1;
}

static void sampled(const alloc_t *a, unsigned ms, char *out)
{
    uintptr_t v[HARDEN_PROP_SAMPLES];
    size_t n = 0;
    if (alloc_is_remote(a)) {
        snprintf(out, HARDEN_PROP_VALUE, "n/a: preload: not supported");
        return;
    }
    while (n < HARDEN_PROP_SAMPLES && !children_stop() && sample_one(a, ms, &v[n]) == 0)
        n++;
    char buf[HARDEN_PROP_VALUE - 8];
    if (harden_prop_entropy(v, n, buf, sizeof buf) < 0)
        snprintf(out, HARDEN_PROP_VALUE, "n/a: %s", buf);
    else
        snprintf(out, HARDEN_PROP_VALUE, "%s", buf);
}

int harden_sample_main(int argc, char **argv)
{
    static alloc_t a;
    char err[256];
    if (argc != 3 || alloc_load(&a, argv[2], err, sizeof err) < 0)
        return 2;
    printf("sample %" PRIxPTR "\n", harden_prop_sample(&a));
    return fflush(stdout) == 0 ? 0 : 2;
}

static void measure(const alloc_t *a, size_t i, unsigned ms, pslot_t *s, char *out)
{
    if (harden_prop_needs_samples(i)) {
        sampled(a, ms, out);
        return;
    }
    memset(s, 0, sizeof *s);
    fflush(NULL);
    pid_t parent = getpid(), pid = fork();
    if (pid == 0)
        measure_child(a, i, s, parent);
    if (pid < 0) {
        snprintf(out, HARDEN_PROP_VALUE, "error: fork: %s", strerror(errno));
        return;
    }
    children_add(pid);
    int status = 0;
    if (!wait_for(pid, ms, &status))
        snprintf(out, HARDEN_PROP_VALUE, "error: timed out");
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        snprintf(out, HARDEN_PROP_VALUE, "error: the measurement died (%s)",
                 WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) ?: "?" : "exit");
    else
        snprintf(out, HARDEN_PROP_VALUE, "%s%.80s", s->rc ? "n/a: " : "", s->buf);
}

int harden_props_run(const alloc_t *allocs, size_t nallocs, unsigned timeout_ms,
                     char (*values)[HARDEN_PROP_VALUE])
{
    pslot_t *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                      -1, 0);
    if (s == MAP_FAILED)
        return -ENOMEM;
    size_t n = harden_prop_count();
    for (size_t ai = 0; ai < nallocs; ai++)
        for (size_t i = 0; i < n; i++)
            measure(&allocs[ai], i, timeout_ms, s, values[ai * n + i]);
    munmap(s, sizeof *s);
    return 0;
}
