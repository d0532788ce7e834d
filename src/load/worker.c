/* Preload workers (see worker.h).
 * Why exec and not just fork with LD_PRELOAD: the dynamic linker reads LD_PRELOAD only when a
 * program starts, and a library linked -z nodlopen cannot be dlopen'ed at all, so the only
 * way to run X as the process's allocator without the supervisor running on it is a fresh
 * process image. The job travels in a sealed memfd: a worker refuses any fd that is not one,
 * so the hidden mode cannot be entered by accident.
 * Inside a worker, malloc is X: everything here uses the stack, mmap and write(2). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/load/worker.h"

#define JOB_MAGIC "ACWJOB1"
#define JOB_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
#define PART_ALIGN 16
#define MAX_AREAS 256
#define MAX_ENV 4096

extern char **environ;

typedef struct job_head {
    char magic[8];
    uint32_t kind, nparts, nshared;
    uint64_t part_len[WORKER_MAX_PARTS];
    uint64_t shared_len[WORKER_MAX_SHARED];
    int32_t shared_fd[WORKER_MAX_SHARED];
    char spec[512];
    char path[4096];
    uint32_t flags;           /* the declarations in force (a SPEC's options included) */
    uint64_t min_alignment, max_alignment, heap_size;
} job_head_t;

/* What a probe worker reports. */
typedef struct probe_out {
    int done;
    int rc;
    uint32_t fns;
    char err[512];
} probe_out_t;

/* ---- shared areas ---- */

typedef struct area {
    void *addr;
    size_t len;
    int fd;
} area_t;

static area_t areas[MAX_AREAS];

void *worker_shared_new(size_t len)
{
    area_t *slot = NULL;
    for (size_t i = 0; i < MAX_AREAS && !slot; i++)
        slot = areas[i].addr ? NULL : &areas[i];
    if (!slot) {
        errno = ENOSPC;
        return NULL;
    }
    int fd = memfd_create("allocheck-shared", MFD_CLOEXEC);
    if (fd < 0)
        return NULL;
    void *p = ftruncate(fd, (off_t)len) == 0
                  ? mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    *slot = (area_t){ p, len, fd };
    return p;
}

void worker_shared_free(void *p, size_t len)
{
    for (size_t i = 0; i < MAX_AREAS; i++)
        if (areas[i].addr == p) {
            close(areas[i].fd);
            areas[i] = (area_t){ 0 };
        }
    munmap(p, len);
}

static const area_t *area_of(const void *p)
{
    for (size_t i = 0; i < MAX_AREAS; i++)
        if (areas[i].addr && areas[i].addr == p)
            return &areas[i];
    return NULL;
}

/* ---- the supervisor's side of the exec ---- */

static int write_all(int fd, const void *data, size_t len)
{
    for (const char *p = data; len;) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fill_head(job_head_t *h, const alloc_t *a, worker_kind_t kind,
                     const worker_part_t *parts, size_t nparts, void *const *shared,
                     size_t nshared)
{
    if (nparts > WORKER_MAX_PARTS || nshared > WORKER_MAX_SHARED)
        return -E2BIG;
    memset(h, 0, sizeof *h);
    memcpy(h->magic, JOB_MAGIC, sizeof h->magic);
    h->kind = kind;
    h->nparts = (uint32_t)nparts;
    h->nshared = (uint32_t)nshared;
    for (size_t i = 0; i < nparts; i++)
        h->part_len[i] = parts[i].len;
    for (size_t i = 0; i < nshared; i++) {
        const area_t *ar = area_of(shared[i]);
        if (!ar)
            return -EINVAL;   /* not from worker_shared_new: it would not cross the exec */
        h->shared_len[i] = ar->len;
        h->shared_fd[i] = ar->fd;
    }
    snprintf(h->spec, sizeof h->spec, "%s", a->spec);
    snprintf(h->path, sizeof h->path, "%s", a->path);
    h->flags = a->flags;
    h->min_alignment = a->min_alignment;
    h->max_alignment = a->max_alignment;
    h->heap_size = a->heap_size;
    return 0;
}

/* The job as a sealed memfd, inherited by the exec. Returns the fd or a negative errno. */
static int write_job(const job_head_t *h, const worker_part_t *parts)
{
    static const char pad[PART_ALIGN];
    int fd = memfd_create("allocheck-job", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    int r = write_all(fd, h, sizeof *h);
    for (uint32_t i = 0; !r && i < h->nparts; i++) {
        r = write_all(fd, parts[i].data, parts[i].len);
        if (!r && parts[i].len % PART_ALIGN)
            r = write_all(fd, pad, PART_ALIGN - parts[i].len % PART_ALIGN);
    }
    if (!r && (fcntl(fd, F_ADD_SEALS, JOB_SEALS) < 0 || fcntl(fd, F_SETFD, 0) < 0))
        r = -errno;
    if (r) {
        close(fd);
        return r;
    }
    return fd;
}

/* environ with LD_PRELOAD=X (ahead of the user's own preloads), without calling malloc. */
static int preload_env(const char *path, char **env, size_t cap, char *value, size_t vlen)
{
    const char *old = getenv("LD_PRELOAD");
    int n = snprintf(value, vlen, "LD_PRELOAD=%s%s%s", path, old && *old ? ":" : "",
                     old ? old : "");
    if (n < 0 || (size_t)n >= vlen)
        return -ENAMETOOLONG;
    size_t k = 0;
    env[k++] = value;
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "LD_PRELOAD=", 11) == 0)
            continue;
        if (k + 1 >= cap)
            return -E2BIG;
        env[k++] = *e;
    }
    env[k] = NULL;
    return 0;
}

int worker_exec(const alloc_t *a, worker_kind_t kind, const worker_part_t *parts,
                size_t nparts, void *const *shared, size_t nshared)
{
    static job_head_t h;   /* a forked child's own copy: large, so not on the stack */
    static char *env[MAX_ENV];
    static char value[8192];
    int r = fill_head(&h, a, kind, parts, nparts, shared, nshared);
    if (!r)
        r = preload_env(a->path, env, MAX_ENV, value, sizeof value);
    for (size_t i = 0; !r && i < nshared; i++)
        if (fcntl(h.shared_fd[i], F_SETFD, 0) < 0)
            r = -errno;
    int fd = r ? r : write_job(&h, parts);
    if (fd < 0)
        return fd;
    char fdarg[16];
    snprintf(fdarg, sizeof fdarg, "%d", fd);
    char *argv[] = { "allocheck", WORKER_ARG, fdarg, NULL };
    execve("/proc/self/exe", argv, env);
    r = -errno;
    close(fd);
    return r;
}

/* ---- the worker ---- */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    n = n < (int)sizeof line - 1 ? n : (int)sizeof line - 2;
    line[n++] = '\n';
    (void)!write(STDERR_FILENO, line, (size_t)n);
}

static _Noreturn void refuse(const char *why)
{
    say("allocheck: %s: %s (an internal mode of allocheck, not for use by hand)", WORKER_ARG,
        why);
    _exit(2);
}

/* Maps the job and checks that worker_exec made it: a sealed memfd of the right shape. */
static const job_head_t *open_job(int argc, char **argv, size_t *size)
{
    char *end = NULL;
    long fd = argc == 3 ? strtol(argv[2], &end, 10) : -1;
    if (argc != 3 || !end || *end || fd < 3 || fd > INT_MAX)
        refuse("expects a job fd");
    struct stat st;
    if (fstat((int)fd, &st) < 0 || fcntl((int)fd, F_GET_SEALS) != JOB_SEALS ||
        (size_t)st.st_size < sizeof(job_head_t))
        refuse("not given a job");
    *size = (size_t)st.st_size;
    void *p = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_PRIVATE, (int)fd, 0);
    close((int)fd);
    const job_head_t *h = p;
    /* What each kind's body reads: parts, then shared areas. */
    static const uint32_t shape[][2] = {
        [WORKER_PROBE] = { 0, 1 }, [WORKER_TRACE] = { 2, 1 },
        [WORKER_FUZZ] = { 2, 2 }, [WORKER_CHECK] = { 1, 1 },
    };
    if (p == MAP_FAILED || memcmp(h->magic, JOB_MAGIC, sizeof h->magic) != 0 ||
        h->kind > WORKER_CHECK || h->nparts != shape[h->kind][0] ||
        h->nshared != shape[h->kind][1] || !memchr(h->path, 0, sizeof h->path) ||
        !memchr(h->spec, 0, sizeof h->spec))
        refuse("not given a job");
    return h;
}

static void map_parts(const job_head_t *h, size_t size, worker_part_t *parts)
{
    size_t off = sizeof *h;
    for (uint32_t i = 0; i < h->nparts; i++) {
        size_t len = (size_t)h->part_len[i];
        if (len > size - off)
            refuse("a truncated job");
        parts[i] = (worker_part_t){ (const char *)h + off, len };
        off += (len + PART_ALIGN - 1) / PART_ALIGN * PART_ALIGN;
    }
}

static void map_shared(const job_head_t *h, void **shared)
{
    for (uint32_t i = 0; i < h->nshared; i++) {
        shared[i] = mmap(NULL, (size_t)h->shared_len[i], PROT_READ | PROT_WRITE, MAP_SHARED,
                         h->shared_fd[i], 0);
        if (shared[i] == MAP_FAILED)
            refuse("cannot map a shared area");
        close(h->shared_fd[i]);
    }
}

/* ---- what X defines, read from its dynamic symbol table ---- */

/* dlsym would do, but a failed lookup (X lacks pvalloc) mallocs and frees an error string:
 * the allocator under test, called before any check runs. Reading X's symbol table calls
 * nothing of X's. */
typedef struct object {
    struct stat want;
    ElfW(Addr) base;
    const ElfW(Dyn) *dyn;
} object_t;

static int find_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    object_t *o = arg;
    struct stat st;
    (void)size;
    if (!info->dlpi_name[0] || stat(info->dlpi_name, &st) != 0 ||
        st.st_dev != o->want.st_dev || st.st_ino != o->want.st_ino)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            o->dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    o->base = info->dlpi_addr;
    return 1;
}

/* glibc relocates d_ptr entries in place on most platforms, not on all: accept both. */
static const void *dyn_ptr(const object_t *o, ElfW(Addr) v)
{
    return (const void *)(v < o->base ? v + o->base : v);
}

/* The number of dynamic symbols: DT_HASH says it; DT_GNU_HASH only through its last chain. */
static size_t count_symbols(const uint32_t *hash, const uint32_t *gnu)
{
    if (hash)
        return hash[1];
    if (!gnu)
        return 0;
    const uint32_t *buckets = gnu + 4 + gnu[2] * (sizeof(ElfW(Addr)) / 4);
    const uint32_t *chain = buckets + gnu[0];
    uint32_t last = 0;
    for (uint32_t i = 0; i < gnu[0]; i++)
        last = buckets[i] > last ? buckets[i] : last;
    if (last < gnu[1])
        return gnu[1];
    while (!(chain[last - gnu[1]] & 1))
        last++;
    return last + 1;
}

typedef struct symtab {
    const ElfW(Sym) *sym;
    const char *str;
    const ElfW(Half) *versym;
    size_t n;
} symtab_t;

static void read_symtab(const object_t *o, symtab_t *t)
{
    const uint32_t *hash = NULL, *gnu = NULL;
    memset(t, 0, sizeof *t);
    for (const ElfW(Dyn) *d = o->dyn; d && d->d_tag != DT_NULL; d++) {
        if (d->d_tag == DT_SYMTAB)
            t->sym = dyn_ptr(o, d->d_un.d_ptr);
        else if (d->d_tag == DT_STRTAB)
            t->str = dyn_ptr(o, d->d_un.d_ptr);
        else if (d->d_tag == DT_VERSYM)
            t->versym = dyn_ptr(o, d->d_un.d_ptr);
        else if (d->d_tag == DT_HASH)
            hash = dyn_ptr(o, d->d_un.d_ptr);
        else if (d->d_tag == DT_GNU_HASH)
            gnu = dyn_ptr(o, d->d_un.d_ptr);
    }
    t->n = t->sym && t->str ? count_symbols(hash, gnu) : 0;
}

/* X's own definition of a function called name (its default version), or NULL. An IFUNC
 * is not followed: its resolver would have to run here. */
static void *defined(const object_t *o, const symtab_t *t, const char *name)
{
    for (size_t i = 1; i < t->n; i++) {
        const ElfW(Sym) *s = &t->sym[i];
        unsigned bind = ELF64_ST_BIND(s->st_info), type = ELF64_ST_TYPE(s->st_info);
        if (s->st_shndx == SHN_UNDEF || type != STT_FUNC ||
            (bind != STB_GLOBAL && bind != STB_WEAK) ||
            ELF64_ST_VISIBILITY(s->st_other) != STV_DEFAULT ||
            (t->versym && (t->versym[i] & 0x8000)) || strcmp(t->str + s->st_name, name) != 0)
            continue;
        return (void *)(o->base + s->st_value);
    }
    return NULL;
}

/* The allocator X as the process calls it, with only the functions X defines: a C library's
 * pvalloc borrowed for an allocator lacking one would hand its blocks to X's free. */
static int load_preloaded(alloc_t *a, const job_head_t *h, char *err, size_t len)
{
    object_t o = { .dyn = NULL };
    if (stat(h->path, &o.want) != 0 || !dl_iterate_phdr(find_object, &o) || !o.dyn)
        return snprintf(err, len, "LD_PRELOAD did not load it"), -ENOEXEC;
    symtab_t t;
    read_symtab(&o, &t);
    void *raw[AF_COUNT];
    for (int f = 0; f < AF_COUNT; f++)
        raw[f] = defined(&o, &t, alloc_fn_names[f]);
    if (!raw[AF_MALLOC] || !raw[AF_FREE])
        return snprintf(err, len, "defines no malloc/free: not an allocator"), -ENOENT;
    int rc = alloc_load_raw(a, raw);
    if (rc)
        return snprintf(err, len, "%s", strerror(-rc)), rc;
    a->kind = ALLOC_PRELOAD;
    a->flags = h->flags;
    a->min_alignment = (size_t)h->min_alignment;
    a->max_alignment = (size_t)h->max_alignment;
    a->heap_size = (size_t)h->heap_size;
    snprintf(a->spec, sizeof a->spec, "%s", h->spec);
    snprintf(a->path, sizeof a->path, "%s", h->path);
    const char *base = strrchr(a->path, '/');
    snprintf(a->name, sizeof a->name, "%.100s (preloaded)", base ? base + 1 : a->path);
    return 0;
}

int worker_main(int argc, char **argv, worker_body_fn *const *bodies, size_t nbodies)
{
    size_t size;
    const job_head_t *h = open_job(argc, argv, &size);
    worker_part_t parts[WORKER_MAX_PARTS] = { { 0 } };
    void *shared[WORKER_MAX_SHARED] = { 0 };
    map_parts(h, size, parts);
    map_shared(h, shared);
    static alloc_t a;
    char err[512] = "";
    int rc = load_preloaded(&a, h, err, sizeof err);
    if (h->kind == WORKER_PROBE) {
        probe_out_t *out = shared[0];
        out->rc = rc;
        out->fns = rc ? 0 : alloc_present(&a);
        snprintf(out->err, sizeof out->err, "%s", err);
        out->done = 1;
        _exit(0);
    }
    if (rc) {
        say("allocheck: %s: %s", h->spec, err);
        _exit(2);
    }
    if ((size_t)h->kind >= nbodies || !bodies[h->kind]) {
        say("allocheck: worker: no body for job kind %d", (int)h->kind);
        _exit(2);
    }
    bodies[h->kind](h->kind, &a, parts, shared);
    _exit(0);
}

/* ---- the load probe ---- */

typedef struct watch {
    pid_t pid;
    int pidfd, out;
    char tail[200];
    size_t tail_len;
} watch_t;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keeps the last bytes the probe printed, flattened to one line. */
static void drain(watch_t *w)
{
    char buf[4096];
    ssize_t n;
    while ((n = read(w->out, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (w->tail_len == sizeof w->tail - 1) {
                memmove(w->tail, w->tail + 1, w->tail_len - 1);
                w->tail_len--;
            }
            char c = buf[i];
            w->tail[w->tail_len++] = c == '\n' || c == '\r' || c == '\t' ? ' ' : c;
        }
    }
    while (w->tail_len && w->tail[w->tail_len - 1] == ' ')
        w->tail_len--;
    w->tail[w->tail_len] = '\0';
}

static _Noreturn void probe_child(const alloc_t *a, probe_out_t *out, int outw)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct rlimit none = { 0, 0 };
    setrlimit(RLIMIT_CORE, &none);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0)
        dup2(null, STDIN_FILENO);
    dup2(outw, STDOUT_FILENO);
    dup2(outw, STDERR_FILENO);
    void *shared[] = { out };
    int r = worker_exec(a, WORKER_PROBE, NULL, 0, shared, 1);
    say("cannot start a preload worker: %s", strerror(-r));
    _exit(127);
}

/* Waits for the probe to exit, or kills its group at the deadline. Returns 1 if it exited. */
static int await(watch_t *w, int *status)
{
    long long deadline = now_ms() + WORKER_LOAD_TIMEOUT_MS;
    int exited = 0;
    for (long long left; !exited && (left = deadline - now_ms()) > 0;) {
        struct pollfd p[2] = { { .fd = w->pidfd, .events = POLLIN },
                               { .fd = w->out, .events = POLLIN } };
        if (poll(p, 2, (int)left) > 0 && p[1].revents)
            drain(w);
        exited = p[0].revents != 0;
    }
    kill(-w->pid, SIGKILL);   /* what it left in its group, or itself at the deadline */
    while (waitpid(w->pid, status, 0) < 0 && errno == EINTR)
        ;
    drain(w);
    return exited;
}

static int judge_probe(const watch_t *w, int exited, int status, const probe_out_t *out,
                       char *err, size_t len)
{
    const char *sep = w->tail_len ? ": " : "";
    if (!exited)
        return snprintf(err, len, "did not finish loading within %u s (a constructor that "
                        "blocks?)%s%s", WORKER_LOAD_TIMEOUT_MS / 1000, sep, w->tail), -ETIMEDOUT;
    if (WIFSIGNALED(status))
        return snprintf(err, len, "plugin crashed while loading (SIG%s)%s%s",
                        sigabbrev_np(WTERMSIG(status)) ?: "?", sep, w->tail), -ECHILD;
    if (!out->done)
        return snprintf(err, len, "plugin exited while loading (status %d)%s%s",
                        WEXITSTATUS(status), sep, w->tail), -ECHILD;
    if (out->rc)
        snprintf(err, len, "%s%s%s", out->err, sep, w->tail);
    return out->rc;
}

static int start_probe(watch_t *w, const alloc_t *a, probe_out_t *out)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    fflush(NULL);
    w->pid = fork();
    if (w->pid == 0)
        probe_child(a, out, fds[1]);
    int e = w->pid < 0 ? -errno : 0;
    close(fds[1]);
    w->out = fds[0];
    if (!e) {
        setpgid(w->pid, w->pid);
        fcntl(w->out, F_SETFL, O_NONBLOCK);
        w->pidfd = (int)syscall(SYS_pidfd_open, w->pid, 0);
    }
    if (!e && w->pidfd < 0) {
        e = -errno;
        kill(-w->pid, SIGKILL);
        waitpid(w->pid, NULL, 0);
    }
    if (e)
        close(w->out);
    return e;
}

int worker_probe(alloc_t *a, char *err, size_t errlen)
{
    probe_out_t *out = worker_shared_new(sizeof *out);
    if (!out)
        return snprintf(err, errlen, "shared memory: %s", strerror(errno)), -errno;
    watch_t w = { 0 };
    int rc = start_probe(&w, a, out);
    if (rc) {
        snprintf(err, errlen, "cannot start a preload worker: %s", strerror(-rc));
    } else {
        int status = 0, exited = await(&w, &status);
        rc = judge_probe(&w, exited, status, out, err, errlen);
        close(w.out);
        close(w.pidfd);
    }
    if (!rc) {
        a->remote_fns = out->fns;
        for (int f = 0; f < AF_COUNT; f++)
            a->symbol[f] = out->fns & AF_BIT(f) ? alloc_fn_names[f] : NULL;
    }
    worker_shared_free(out, sizeof *out);
    return rc;
}
