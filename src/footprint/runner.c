/* allocheck profile's runner: every cell in its own child, run by the pool of watched children
 * (src/base/pool.h), so a crash or a hang in one allocator's workload is a reported cell and
 * the run goes on. The child writes its fp_result_t into a shared mapping; the parent keeps
 * it, or how the child ended (past the cell's time limit, or a signal) and its last words.
 * Speed cells run opts.reps times (median and spread); their footprint is the first run's.
 * Leaves out: what a cell measures (workload.c, shapes.c, threads.c). */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/base/children.h"
#include "src/base/pool.h"
#include "src/footprint/measure.h"
#include "src/footprint/profile.h"

const unsigned fp_thread_counts[FP_THREAD_COUNTS] = { 1, 2, 4 };

typedef enum cell_kind { CELL_WORKLOAD, CELL_SIZE, CELL_SWEEP, CELL_XTHREAD, CELL_TPUT } cell_kind_t;

typedef struct cell {
    cell_kind_t kind;
    const alloc_t *a;
    const profile_t *p;
    int index;        /* workload, or thread count */
    uint64_t size, n;
} cell_t;

/* What the child hands back. */
typedef struct shm {
    fp_result_t r;
    int nsizes;
    uint64_t sizes[FP_MAX_SIZES];
} shm_t;

static shm_t *g_shm;

/* One cell's child as the parent saw it. */
typedef struct watch {
    const cell_t *cell;
    pool_end_t end;
    char words[160];   /* the tail of what it printed, on one line */
} watch_t;

static void child_body(const cell_t *c)
{
    footprint_exclude(g_shm, sizeof *g_shm);
    switch (c->kind) {
    case CELL_WORKLOAD: fp_run_workload(c->a, &c->p->opts, c->index, &g_shm->r); break;
    case CELL_SIZE: fp_run_size(c->a, c->size, c->n, &g_shm->r); break;
    case CELL_SWEEP:
        g_shm->nsizes = fp_sweep_sizes(c->a, c->p->opts.quick, g_shm->sizes, FP_MAX_SIZES);
        break;
    case CELL_XTHREAD: fp_run_xthread(c->a, &c->p->opts, (unsigned)c->index, &g_shm->r); break;
    case CELL_TPUT: fp_run_tput(c->a, &c->p->opts, (unsigned)c->index, &g_shm->r); break;
    }
}

static void cell_body(void *arg, size_t task, void *slot)
{
    (void)task, (void)slot;
    child_body(((const watch_t *)arg)->cell);
}

static void cell_done(void *arg, const pool_end_t *e)
{
    watch_t *w = arg;
    w->end = *e;
    size_t n = e->tail_len < sizeof w->words ? e->tail_len : sizeof w->words - 1;
    for (size_t i = 0; i < n; i++) {
        char ch = e->tail[e->tail_len - n + i];
        w->words[i] = ch == '\n' || ch == '\r' || ch == '\t' ? ' ' : ch;
    }
    w->words[n] = 0;
}

static void judge(const watch_t *w, unsigned ms, fp_result_t *r)
{
    const siginfo_t *si = &w->end.si;
    const char *words = w->words;
    if (w->end.timed_out) {
        r->status = FP_HUNG;
        snprintf(r->note, sizeof r->note, "no result within %u ms", ms);
    } else if (si->si_code != CLD_EXITED) {
        r->status = FP_CRASHED;
        snprintf(r->note, sizeof r->note, "killed by %s%s%s", sigabbrev_np(si->si_status) ?
                 sigabbrev_np(si->si_status) : "a signal", words[0] ? ": " : "", words);
    } else if (si->si_status != 0) {
        r->status = FP_CRASHED;
        snprintf(r->note, sizeof r->note, "exited with status %d%s%s", si->si_status,
                 words[0] ? ": " : "", words);
    }
}

/* Runs one cell; the result is in g_shm. Returns 0 or -EINTR / -errno. */
static int run_cell(const cell_t *c)
{
    static pool_t pool;   /* large (its jobs hold last words) */
    watch_t w = { .cell = c };
    unsigned ms = c->p->opts.timeout_ms;
    pool_opts_t po = { .jobs = 1, .timeout_ms = ms, .tail_size = sizeof w.words - 1,
                       .body = cell_body, .done = cell_done, .arg = &w };
    memset(g_shm, 0, sizeof *g_shm);
    int rc = pool_open(&pool, &po);
    if (rc)
        return rc;
    rc = pool_start(&pool, 0, children_default_limits());
    while (!rc && pool.running > 0 && !children_stop())
        pool_wait(&pool);
    pool_close(&pool);
    if (rc)
        return rc;
    if (w.end.stopped)
        return -EINTR;
    judge(&w, ms, &g_shm->r);
    return 0;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static void summarize(fp_cell_t *cell)
{
    double v[FP_MAX_REPS];
    memcpy(v, cell->ns_op, sizeof v);
    qsort(v, cell->nreps, sizeof v[0], cmp_double);
    cell->ns_min = cell->nreps ? v[0] : 0;
    cell->ns_max = cell->nreps ? v[cell->nreps - 1] : 0;
    cell->ns_median = !cell->nreps ? 0 : cell->nreps % 2 ? v[cell->nreps / 2]
                      : (v[cell->nreps / 2 - 1] + v[cell->nreps / 2]) / 2;
}

/* A speed cell: reps runs; the first one's figures, every run's ns/op. */
static int run_reps(cell_t *c, fp_cell_t *out)
{
    memset(out, 0, sizeof *out);
    /* Threaded cells spread less (their runs are long): three runs are enough, and one in
     * quick mode, where the cells' number is what costs on a loaded machine. */
    unsigned most = c->p->opts.quick ? 1 : 3, reps = c->p->opts.reps;
    reps = c->kind == CELL_WORKLOAD || reps < most ? reps : most;
    for (unsigned k = 0; k < reps; k++) {
        int rc = run_cell(c);
        if (rc)
            return rc;
        if (k == 0)
            out->r = g_shm->r;
        if (g_shm->r.status != FP_OK)
            break;
        if (g_shm->r.ops)
            out->ns_op[out->nreps++] = (double)g_shm->r.ns / (double)g_shm->r.ops;
    }
    if (out->r.status == FP_OK && g_shm->r.status != FP_OK)
        out->r.status = g_shm->r.status, memcpy(out->r.note, g_shm->r.note, sizeof out->r.note);
    summarize(out);
    return 0;
}

static uint64_t blocks_for(uint64_t size, bool quick)
{
    uint64_t budget = quick ? (1u << 20) : (4u << 20), n = budget / (size ? size : 1);
    return n < 8 ? 8 : n > 4096 ? 4096 : n;
}

static int run_sizes(profile_t *p, fp_alloc_report_t *ar)
{
    for (int i = 0; i < p->nsizes; i++) {
        cell_t c = { CELL_SIZE, ar->a, p, 0, p->sizes[i], blocks_for(p->sizes[i], p->opts.quick) };
        int rc = run_cell(&c);
        if (rc)
            return rc;
        ar->size[i] = g_shm->r;
    }
    return 0;
}

static int run_alloc(profile_t *p, fp_alloc_report_t *ar)
{
    int rc = 0;
    for (int w = 0; w < p->nworkloads && !rc; w++) {
        cell_t c = { CELL_WORKLOAD, ar->a, p, w, 0, 0 };
        rc = run_reps(&c, &ar->work[w]);
    }
    if (!rc)
        rc = run_sizes(p, ar);
    for (int t = 0; t < FP_THREAD_COUNTS && !rc; t++) {
        cell_t x = { CELL_XTHREAD, ar->a, p, (int)fp_thread_counts[t], 0, 0 };
        rc = run_reps(&x, &ar->xthread[t]);
        cell_t y = { CELL_TPUT, ar->a, p, (int)fp_thread_counts[t], 0, 0 };
        if (!rc)
            rc = run_reps(&y, &ar->tput[t]);
    }
    return rc;
}

/* The sizes come from the first allocator's classes, found in a child. */
static int pick_sizes(profile_t *p, const alloc_t *first)
{
    cell_t c = { CELL_SWEEP, first, p, 0, 0, 0 };
    int rc = run_cell(&c);
    if (rc)
        return rc;
    p->nsizes = g_shm->nsizes;
    if (g_shm->r.status != FP_OK || p->nsizes <= 0) {
        alloc_t none = { 0 };   /* its usable sizes are unknown: powers of two only */
        p->nsizes = fp_sweep_sizes(&none, p->opts.quick, p->sizes, FP_MAX_SIZES);
        return 0;
    }
    memcpy(p->sizes, g_shm->sizes, sizeof p->sizes);
    return 0;
}

static int setup(void)
{
    if (!g_shm) {
        void *m = mmap(NULL, sizeof *g_shm, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                       -1, 0);
        if (m == MAP_FAILED)
            return -errno;
        g_shm = m;
    }
    return 0;
}

static void names(profile_t *p)
{
    static const char *const fixed[] = { "sawtooth", "random", "realloc", "robson" };
    for (int w = 0; w < WL_TRACE; w++)
        p->workload_name[w] = fixed[w];
    for (int i = 0; i < p->opts.nfiles; i++) {
        const char *f = p->opts.files[i], *slash = strrchr(f, '/');
        p->workload_name[WL_TRACE + i] = slash ? slash + 1 : f;
    }
    p->nworkloads = WL_TRACE + p->opts.nfiles;
}

int profile_run(profile_t *p, alloc_t *allocs, int n, FILE *progress)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    children_init();
    int rc = setup();
    if (rc)
        return rc;
    names(p);
    p->alloc = calloc((size_t)n, sizeof *p->alloc);
    if (!p->alloc)
        return -ENOMEM;
    rc = pick_sizes(p, &allocs[0]);
    for (int k = 0; k < n && !rc; k++) {
        fp_alloc_report_t *ar = &p->alloc[k];
        ar->a = &allocs[k], ar->label = allocs[k].spec, ar->has_trim = fp_trim_fn(ar->a) != NULL;
        if (progress)
            fprintf(progress, "profile: %s\n", ar->label), fflush(progress);
        rc = run_alloc(p, ar);
        p->nallocs = k + 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    p->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    return rc;
}

void profile_release(profile_t *p)
{
    free(p->alloc);
    p->alloc = NULL;
}

/* Only a malloc_trim the allocator's own library defines: a dlsym on its handle would also
 * find the C library's through its dependencies, which trims a heap it does not use. */
int (*fp_trim_fn(const alloc_t *a))(size_t)
{
    void *sym = NULL;
    if (a->kind == ALLOC_SYSTEM)
        sym = dlsym(RTLD_DEFAULT, "malloc_trim");
    if (a->kind != ALLOC_NAMES || !a->path[0])
        return (int (*)(size_t))sym;
    void *h = dlopen(a->path, RTLD_LAZY | RTLD_NOLOAD);
    sym = h ? dlsym(h, "malloc_trim") : NULL;
    Dl_info info;
    if (!sym || !dladdr(sym, &info) || !info.dli_fname)
        return NULL;
    char want[4096], got[4096];
    if (!realpath(a->path, want) || !realpath(info.dli_fname, got) || strcmp(want, got) != 0)
        return NULL;
    return (int (*)(size_t))sym;
}
