/* The executor's check cost: a generated 2-million-op workload (mostly small blocks over 1024
 * slots, some reallocs, callocs and medium blocks, a `check` every 4096 ops) run against glibc
 * with CHECK_LEVEL_FULL, SAMPLED and NONE in the same process; prints the median of 5 runs of
 * each and the ratios to NONE (process CPU time: the machine is shared). The goal is FULL <=
 * 3x NONE. Builds the executor on its own. `exec_bench FILE` runs a trace file instead (e.g.
 * from `allocheck generate -n 2000000`), timing the executor without the parsing. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "src/exec/exec.h"
#include "src/trace/trace.h"

#define OPS 2000000
#define RUNS 5

static void *g_malloc(void *c, size_t n) { return malloc(n); }
static void *g_calloc(void *c, size_t m, size_t n) { return calloc(m, n); }
static void *g_realloc(void *c, void *p, size_t n) { return realloc(p, n); }
static void g_free(void *c, void *p) { free(p); }
static void *g_reallocarray(void *c, void *p, size_t m, size_t n)
{
    return reallocarray(p, m, n);
}
static void *g_aligned_alloc(void *c, size_t a, size_t n) { return aligned_alloc(a, n); }
static int g_posix_memalign(void *c, void **m, size_t a, size_t n)
{
    return posix_memalign(m, a, n);
}
static void *g_memalign(void *c, size_t a, size_t n) { return memalign(a, n); }
static void *g_valloc(void *c, size_t n) { return valloc(n); }
static void *g_pvalloc(void *c, size_t n) { return pvalloc(n); }
static void g_free_sized(void *c, void *p, size_t n) { free(p); }
static void g_free_aligned_sized(void *c, void *p, size_t a, size_t n) { free(p); }
static size_t g_usable(void *c, void *p) { return malloc_usable_size(p); }

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static uint64_t size_of_op(void)
{
    unsigned r = next() % 100;
    return r < 80 ? next() % 257 : r < 97 ? next() % 4097 : next() % 65537;
}

static void generate(op_t *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        op_t *op = &ops[i];
        unsigned r = next() % 100;
        memset(op, 0, sizeof *op);
        op->slot = next() % OPS_SLOTS;
        op->size = size_of_op();
        op->kind = r < 40 ? OP_MALLOC : r < 45 ? OP_CALLOC : r < 55 ? OP_REALLOC
                 : r < 58 ? OP_ALIGNED_ALLOC : r < 60 ? OP_USABLE : OP_FREE;
        op->nmemb = 1 + next() % 4;
        op->align = (size_t)16 << (next() % 5);
        if (i % 4096 == 4095)
            op->kind = OP_CHECK;
    }
}

static double run_once(const alloc_t *a, check_level_t level, const trace_t *t)
{
    exec_opts_t o;
    exec_opts_default(&o);
    o.check = level;
    exec_t *e = exec_new(a, &o);
    finding_t f;
    struct timespec t0, t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    int r = exec_run(e, t, &f, NULL);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    exec_free(e);
    if (r)
        fprintf(stderr, "run: %d %s at %zu: %s\n", r, f.oracle, f.op_index, f.message);
    return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
    alloc_t a;
    memset(&a, 0, sizeof a);
    a.malloc = g_malloc, a.calloc = g_calloc, a.realloc = g_realloc, a.free = g_free;
    a.aligned_alloc = g_aligned_alloc, a.usable_size = g_usable;
    a.reallocarray = g_reallocarray, a.posix_memalign = g_posix_memalign;
    a.memalign = g_memalign, a.valloc = g_valloc, a.pvalloc = g_pvalloc;
    a.free_sized = g_free_sized, a.free_aligned_sized = g_free_aligned_sized;
    trace_t t = { .len = OPS, .cap = OPS };
    if (argc > 1) {
        char err[256];
        trace_init(&t);
        if (trace_load_file(&t, argv[1], err, sizeof err) < 0) {
            fprintf(stderr, "exec_bench: %s\n", err);
            return 2;
        }
    } else {
        t.ops = mmap(NULL, OPS * sizeof(op_t), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (t.ops == MAP_FAILED)
            return 1;
        generate(t.ops, OPS);
    }
    static const char *const names[] = { "full", "sampled", "none" };
    double med[3];
    for (int level = 0; level < 3; level++) {
        double s[RUNS];
        for (int i = 0; i < RUNS; i++)
            s[i] = run_once(&a, (check_level_t)level, &t);
        qsort(s, RUNS, sizeof s[0], cmp_double);
        med[level] = s[RUNS / 2];
        printf("%-8s median %.3f s (%.0f ns/op)\n", names[level], med[level],
               med[level] * 1e9 / (double)t.len);
    }
    printf("full/none %.2fx (goal <= 3x), sampled/none %.2fx\n", med[0] / med[2],
           med[1] / med[2]);
    return 0;
}
