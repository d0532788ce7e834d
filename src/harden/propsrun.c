/* Measures every property (src/harden/props.h) of every allocator, each in its own child
 * (src/children.h) with a timeout, so a property that crashes the allocator costs one cell.
 * The value crosses back in a MAP_SHARED buffer. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/children.h"
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

static void measure(const alloc_t *a, size_t i, unsigned ms, pslot_t *s, char *out)
{
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
