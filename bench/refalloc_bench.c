/* The reference allocator against glibc on one seeded workload: random malloc / calloc /
 * realloc / free of mixed sizes (mostly small, some medium, a few large) on 1, 2 and 4
 * threads. `refalloc_bench SO` re-executes itself plain (glibc) and with LD_PRELOAD=SO, five
 * times each, interleaved, and prints medians: wall and CPU time ratios vs glibc, and peak
 * RSS (VmHWM) over the workload's peak live bytes. `refalloc_bench --run THREADS` is one measured run. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { TOTAL_SLOTS = 32768, TOTAL_OPS = 1500000, RUNS = 5, MAXT = 16 };

typedef struct {
    _Alignas(64) size_t live;
} counter_t;

static counter_t live[MAXT];
static atomic_size_t peak_live;
static int nthreads;

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* 90 % 8..512 bytes, 9.9 % up to 16 KiB, 0.1 % 128 KiB..1 MiB. */
static size_t pick_size(uint64_t r)
{
    unsigned k = (unsigned)(r % 1000);
    uint64_t x = r >> 12;
    return k < 900 ? 8 + x % 505 : k < 999 ? 512 + x % 15873 : (128u << 10) + x % (896u << 10);
}

/* What a program does with its memory: the first bytes and one byte per page. */
static void touch(unsigned char *p, size_t n)
{
    memset(p, 0xab, n < 64 ? n : 64);
    for (size_t i = 4096; i < n; i += 4096)
        p[i] = 1;
}

static void publish(int id, size_t mine)
{
    live[id].live = mine;
    size_t sum = 0;
    for (int i = 0; i < nthreads; i++)
        sum += __atomic_load_n(&live[i].live, __ATOMIC_RELAXED);
    size_t old = atomic_load(&peak_live);
    while (sum > old && !atomic_compare_exchange_weak(&peak_live, &old, sum))
        ;
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    int nslots = TOTAL_SLOTS / nthreads, ops = TOTAL_OPS / nthreads;
    void **slot = calloc((size_t)nslots, sizeof *slot);
    size_t *size = calloc((size_t)nslots, sizeof *size), mine = 0;
    uint64_t s = 0x243f6a8885a308d3ull ^ (uint64_t)(id + 1) * 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < ops; i++) {
        uint64_t r = next_rand(&s);
        int k = (int)((r >> 40) % (uint64_t)nslots);
        size_t n = pick_size(next_rand(&s));
        if (slot[k] && r % 10 < 6) {
            free(slot[k]);
            mine -= size[k];
            slot[k] = NULL;
            size[k] = 0;
            continue;
        }
        void *p = slot[k] ? realloc(slot[k], n) : r % 10 == 6 ? calloc(1, n) : malloc(n);
        if (!p)
            abort();
        mine += n - size[k];
        slot[k] = p;
        size[k] = n;
        touch(p, n);
        if (i % 1024 == 0)
            publish(id, mine);
    }
    for (int k = 0; k < nslots; k++)
        free(slot[k]);
    free(slot);
    free(size);
    return NULL;
}

static long vm_hwm_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kib = atol(line + 6);
    if (f)
        fclose(f);
    return kib;
}

/* The file the running malloc comes from: proves which allocator a run measured. */
static const char *malloc_owner(void)
{
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    return sym && dladdr(sym, &info) && info.dli_fname ? info.dli_fname : "?";
}

/* One measured run: prints "seconds peak_rss_bytes peak_live_bytes malloc's file". */
static int run(int threads)
{
    pthread_t t[MAXT];
    struct timespec a, b;
    nthreads = threads;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double sec = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%.6f %ld %zu %s\n", sec, vm_hwm_kib() * 1024, atomic_load(&peak_live),
           malloc_owner());
    return 0;
}

/* Whether the run's malloc came from so (or, for so == NULL, from anything else). */
static int measured_right(const char *so, const char *owner)
{
    char a[PATH_MAX], b[PATH_MAX];
    int same = so && realpath(so, a) && realpath(owner, b) && !strcmp(a, b);
    return so ? same : strstr(owner, "libc.so") != NULL;
}

/* Runs self --run THREADS, with LD_PRELOAD=so when so is not NULL. out: wall seconds, peak
 * RSS, peak live, CPU seconds (user + system, from wait4). 0, -1 if the run failed, -2 if
 * it ran on another allocator than it should have (owner names the one it ran on). */
static int measure(const char *self, const char *so, int threads, double out[4],
                   char owner[PATH_MAX])
{
    int fd[2];
    char arg[16], buf[PATH_MAX + 128];
    snprintf(arg, sizeof arg, "%d", threads);
    if (pipe(fd))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        if (so)
            setenv("LD_PRELOAD", so, 1);
        else
            unsetenv("LD_PRELOAD");
        execl(self, self, "--run", arg, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    ssize_t n = read(fd[0], buf, sizeof buf - 1);
    close(fd[0]);
    int st;
    struct rusage ru;
    wait4(pid, &st, 0, &ru);
    buf[n > 0 ? n : 0] = 0;
    out[3] = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
             (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    int fields = sscanf(buf, "%lf %lf %lf %4095s", &out[0], &out[1], &out[2], owner);
    if (!WIFEXITED(st) || WEXITSTATUS(st) || fields != 4)
        return -1;
    return measured_right(so, owner) ? 0 : -2;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Medians over RUNS runs of each measure, glibc (g) and refalloc (r) runs interleaved so that
 * both see the same load on a shared machine. */
static int medians(const char *self, const char *so, int threads, double g[4], double r[4],
                   char owner[PATH_MAX])
{
    double v[2][4][RUNS], one[4];
    for (int k = 0; k < RUNS; k++)
        for (int a = 0; a < 2; a++) {
            int rc = measure(self, a ? so : NULL, threads, one, owner);
            if (rc)
                return rc;
            for (int i = 0; i < 4; i++)
                v[a][i][k] = one[i];
        }
    for (int a = 0; a < 2; a++)
        for (int i = 0; i < 4; i++) {
            qsort(v[a][i], RUNS, sizeof(double), cmp_double);
            (a ? r : g)[i] = v[a][i][RUNS / 2];
        }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--run"))
        return run(atoi(argv[2]) < 1 ? 1 : atoi(argv[2]) > MAXT ? MAXT : atoi(argv[2]));
    if (argc != 2) {
        fprintf(stderr, "usage: %s liballocheck-ref.so | --run THREADS\n", argv[0]);
        return 2;
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0)
        return 2;
    self[n] = 0;
    char real[PATH_MAX];
    if (!realpath(argv[1], real)) {
        fprintf(stderr, "refalloc_bench: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    for (int threads = 1; threads <= 4; threads *= 2) {
        double g[4], r[4];
        char owner[PATH_MAX] = "?";
        int rc = medians(self, argv[1], threads, g, r, owner);
        if (rc == -2) {
            fprintf(stderr, "refalloc_bench: %s: not what the run measured (its malloc came "
                    "from %s)\n", argv[1], owner);
            return 2;
        }
        if (rc) {
            fprintf(stderr, "refalloc_bench: a run failed\n");
            return 1;
        }
        if (threads == 1)
            printf("%-7s %8s %8s %6s %9s %9s %10s %9s %8s %8s\n", "threads", "glibc s",
                   "ref s", "ratio", "cpu ratio", "live MiB", "glibc MiB", "ref MiB", "glibc/l",
                   "ref/live");
        printf("%-7d %8.3f %8.3f %6.2f %9.2f %9.1f %10.1f %9.1f %8.2f %8.2f\n", threads, g[0],
               r[0], r[0] / g[0], r[3] / g[3], r[2] / 1048576, g[1] / 1048576, r[1] / 1048576,
               g[1] / g[2], r[1] / r[2]);
    }
    return 0;
}
