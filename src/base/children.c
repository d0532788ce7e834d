/* The supervisor's hold on its children (see children.h).
 * Why a registry and a sweep both: a runner waits for the children it registered and judges
 * how each died, so the sweep must leave those alone; anything else that is our child can
 * only be something allocator code started behind our back, and nothing waits for it. */
#include "src/base/children.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILDREN 256
#define DEFAULT_DATA_HEADROOM (8ull << 30)
#define DEFAULT_LOAD_TIMEOUT_MS 10000u

static volatile int stop_sig;
static pid_t owner;                    /* the process that called children_init */
static pid_t registered[MAX_CHILDREN];
/* Children this process had before it ran allocheck (a shell's `cmd & exec allocheck`):
 * not ours to sweep. */
static pid_t inherited[64];

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };

static void on_stop(int sig)
{
    stop_sig = sig;
}

static void end_at_exit(void)
{
    children_end();
}

static void note_inherited(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    FILE *f = fopen(path, "re");
    long pid;
    for (unsigned n = 0; f && n < sizeof inherited / sizeof inherited[0] &&
                         fscanf(f, "%ld", &pid) == 1; n++)
        inherited[n] = (pid_t)pid;
    if (f)
        fclose(f);
}

void children_init(void)
{
    if (owner == getpid())
        return;
    owner = getpid();
    note_inherited();
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    struct sigaction sa = { .sa_handler = on_stop, .sa_flags = SA_RESTART };
    sigemptyset(&sa.sa_mask);
    for (unsigned i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++)
        sigaction(stop_signals[i], &sa, NULL);
    static int registered_exit;
    if (!registered_exit)
        registered_exit = atexit(end_at_exit) == 0;
}

int children_stop(void)
{
    return stop_sig;
}

const volatile int *children_stop_flag(void)
{
    return &stop_sig;
}

/* "512M", "8G", "1048576": bytes; 0 when malformed. */
static unsigned long long parse_bytes(const char *s)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        return 0;
    unsigned shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
    if (shift)
        end++;
    if (*end || v > (~0ull >> shift))
        return 0;
    return v << shift;
}

/* Seconds (fractions allowed) in milliseconds; 0 when malformed or out of 0.01..3600. */
static unsigned parse_seconds(const char *s)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0.01 && v <= 3600))
        return 0;
    return (unsigned)(v * 1000 + 0.5);
}

const char *children_check_env(const char **why)
{
    const char *v = getenv("ALLOCHECK_DATA_LIMIT");
    if (v && !parse_bytes(v)) {
        *why = "is not a size in bytes (e.g. 512M, 8G)";
        return "ALLOCHECK_DATA_LIMIT";
    }
    v = getenv("ALLOCHECK_LOAD_TIMEOUT");
    if (v && !parse_seconds(v)) {
        *why = "is not a number of seconds from 0.01 to 3600";
        return "ALLOCHECK_LOAD_TIMEOUT";
    }
    return NULL;
}

unsigned long long children_data_headroom(unsigned long long fallback)
{
    const char *v = getenv("ALLOCHECK_DATA_LIMIT");
    unsigned long long b = v ? parse_bytes(v) : 0;
    return b ? b : fallback ? fallback : DEFAULT_DATA_HEADROOM;
}

unsigned children_load_timeout_ms(void)
{
    const char *v = getenv("ALLOCHECK_LOAD_TIMEOUT");
    unsigned ms = v ? parse_seconds(v) : 0;
    return ms ? ms : DEFAULT_LOAD_TIMEOUT_MS;
}

/* Reads "Key:   N kB" from /proc/self/status, in bytes; 0 if absent. */
static unsigned long long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    unsigned long long v = 0;
    size_t klen = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0)
            v = strtoull(line + klen, NULL, 10) * 1024;
    if (f)
        fclose(f);
    return v;
}

void children_pick_limits(children_limits_t *l, unsigned long long data_headroom)
{
    unsigned long long data = data_headroom + status_kb("VmData:");
    unsigned long long as = status_kb("VmSize:") + (1ull << 40);
    getrlimit(RLIMIT_DATA, &l->data);
    getrlimit(RLIMIT_AS, &l->as);
    /* Never above the current hard limit: raising it would fail with EPERM. */
    if (l->data.rlim_max == RLIM_INFINITY || data < l->data.rlim_max)
        l->data = (struct rlimit){ data, data };
    if (l->as.rlim_max == RLIM_INFINITY || as < l->as.rlim_max)
        l->as = (struct rlimit){ as, as };
}

const children_limits_t *children_default_limits(void)
{
    static children_limits_t l;
    static bool picked;
    if (!picked)
        children_pick_limits(&l, children_data_headroom(0));
    picked = true;
    return &l;
}

void children_enter(pid_t parent, int out_fd, const children_limits_t *lim)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);   /* a dying tool takes its children with it */
    if (getppid() != parent)            /* it died before prctl: nobody will read us */
        _exit(127);
    owner = 0;                          /* the exit-time sweep is the parent's alone */
    memset(registered, 0, sizeof registered);
    memset(inherited, 0, sizeof inherited);
    for (unsigned i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++)
        signal(stop_signals[i], SIG_DFL);
    struct rlimit none = { 0, 0 };
    setrlimit(RLIMIT_CORE, &none);      /* a crash is a finding, not a core file */
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0 && null != STDIN_FILENO) {
        dup2(null, STDIN_FILENO);
        close(null);
    }
    if (out_fd >= 0) {
        dup2(out_fd, STDOUT_FILENO);
        dup2(out_fd, STDERR_FILENO);
    }
    if (lim) {
        setrlimit(RLIMIT_DATA, &lim->data);
        setrlimit(RLIMIT_AS, &lim->as);
    }
}

void children_add(pid_t pid)
{
    setpgid(pid, pid);
    for (unsigned i = 0; i < MAX_CHILDREN; i++)
        if (registered[i] == 0) {
            registered[i] = pid;
            return;
        }
}

long long children_cpu_wait_ms(pid_t pid)
{
    char path[64], buf[128];
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    unsigned long long ran, waited;
    buf[n > 0 ? n : 0] = '\0';
    /* "<ns on a CPU> <ns waiting for one> <timeslices>" */
    if (sscanf(buf, "%llu %llu", &ran, &waited) != 2)
        return 0;
    return (long long)(waited / 1000000);
}

void children_kill(pid_t pid)
{
    if (pid > 0)
        kill(-pid, SIGKILL);
}

static bool is_registered(pid_t pid)
{
    for (unsigned i = 0; i < MAX_CHILDREN; i++)
        if (registered[i] == pid)
            return true;
    return false;
}

static bool is_inherited(pid_t pid)
{
    for (unsigned i = 0; i < sizeof inherited / sizeof inherited[0]; i++)
        if (inherited[i] == pid)
            return true;
    return false;
}

void children_reaped(pid_t pid)
{
    for (unsigned i = 0; i < MAX_CHILDREN; i++)
        if (registered[i] == pid)
            registered[i] = 0;
    children_sweep();
}

/* Kills and reaps the unregistered children one thread's children file lists; returns
 * how many it found. All are killed before any is waited for, so they die in parallel. */
static unsigned sweep_file(const char *path)
{
    static pid_t strays[4096];
    FILE *f = fopen(path, "re");
    unsigned n = 0;
    long pid;
    while (f && n < sizeof strays / sizeof strays[0] && fscanf(f, "%ld", &pid) == 1) {
        if (pid <= 0 || is_registered((pid_t)pid) || is_inherited((pid_t)pid))
            continue;
        strays[n++] = (pid_t)pid;
        kill((pid_t)-pid, SIGKILL);   /* an escapee leads its own group: its children too */
        kill((pid_t)pid, SIGKILL);
    }
    if (f)
        fclose(f);
    for (unsigned i = 0; i < n; i++)
        while (waitpid(strays[i], NULL, 0) < 0 && errno == EINTR)
            ;
    return n;
}

void children_sweep(void)
{
    /* A stray's own children become ours when it dies: look again until none is left. */
    for (unsigned round = 0; round < 64; round++) {
        DIR *d = opendir("/proc/self/task");
        unsigned found = 0;
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            char path[320];
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
            found += sweep_file(path);
        }
        if (d)
            closedir(d);
        if (!found)
            return;
    }
}

void children_end(void)
{
    if (owner != getpid())
        return;
    for (unsigned i = 0; i < MAX_CHILDREN; i++) {
        pid_t pid = registered[i];
        if (pid <= 0)
            continue;
        kill(-pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        registered[i] = 0;
    }
    children_sweep();
}

int children_exit_status(int status)
{
    return stop_sig && status != 1 ? 128 + stop_sig : status;
}
