/* The fuzz target's own cost per input, without an engine: the inputs go straight to
 * LLVMFuzzerTestOneInput (fuzz/fuzz_ops.c, linked in) round after round, timed in process
 * CPU time, and the median round is printed in microseconds per input. An engine's exec
 * rate is 1e6 / (this + the engine's own cost per exec); this is the part we control, and
 * unlike a campaign's rate it barely moves on a busy machine.
 * usage: fuzz_cost [ROUNDS [DIR]]   (default: 101 rounds of the 64 generated 64-op inputs of
 * bench/fuzz_speed.sh, `allocheck generate --seed 1..64 --ops 64 --max-size 4194304`, with
 * `--threads 4` for fuzz_cost, the variant with `thread` ops)
 * env: ALLOCHECK_* as for the fuzz targets (the allocator, the live budget, the check). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/engine/gen.h"
#include "src/trace/ops.h"
#include "src/trace/trace.h"

#ifndef FUZZ_OPS_THREADS
#define FUZZ_OPS_THREADS 1   /* the same default as fuzz/fuzz_ops.c */
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_INPUTS = 4096, GENERATED = 64 };

typedef struct input {
    uint8_t *data;
    size_t len;
} input_t;

static input_t inputs[MAX_INPUTS];
static size_t ninputs;

static double seconds(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void generate(void)
{
    gen_opts_t o;
    gen_opts_default(&o);
    o.sizes = GEN_SIZES_STRESS;
    o.max_size = 4u << 20;
    o.threads = FUZZ_OPS_THREADS ? 4 : 1;
    trace_t t;
    trace_init(&t);
    for (uint64_t seed = 1; seed <= GENERATED; seed++) {
        trace_clear(&t);
        input_t *in = &inputs[ninputs++];
        if (gen_workload(&t, seed, 64, &o) || trace_encode_binary(&t, &in->data, &in->len)) {
            fprintf(stderr, "fuzz_cost: out of memory\n");
            exit(2);
        }
    }
    trace_release(&t);
}

static void load_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    uint8_t *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    if (buf && ninputs < MAX_INPUTS)
        inputs[ninputs++] = (input_t){ buf, n };
    else
        free(buf);
}

static void load_dir(const char *dir)
{
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "fuzz_cost: %s: cannot read the directory\n", dir);
        exit(2);
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        if (list[i]->d_name[0] != '.' &&
            snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name) < (int)sizeof path)
            load_file(path);
        free(list[i]);
    }
    free(list);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 101;
    if (rounds < 1 || rounds > 10000) {
        fprintf(stderr, "fuzz_cost: rounds: '%s' is not 1..10000\n", argv[1]);
        return 2;
    }
    int one = 1;
    char *args[] = { argv[0], NULL }, **pargs = args;
    LLVMFuzzerInitialize(&one, &pargs);
    argc > 2 ? load_dir(argv[2]) : generate();
    if (!ninputs) {
        fprintf(stderr, "fuzz_cost: %s: no inputs\n", argv[2]);
        return 2;
    }
    double *us = calloc((size_t)rounds, sizeof *us), *wall = calloc((size_t)rounds, sizeof *wall);
    for (int r = 0; r < rounds; r++) {
        double t = seconds(CLOCK_PROCESS_CPUTIME_ID), w = seconds(CLOCK_MONOTONIC);
        for (size_t i = 0; i < ninputs; i++)
            LLVMFuzzerTestOneInput(inputs[i].data, inputs[i].len);
        us[r] = (seconds(CLOCK_PROCESS_CPUTIME_ID) - t) * 1e6 / (double)ninputs;
        wall[r] = (seconds(CLOCK_MONOTONIC) - w) * 1e6 / (double)ninputs;
    }
    qsort(us, (size_t)rounds, sizeof *us, by_value);
    qsort(wall, (size_t)rounds, sizeof *wall, by_value);
    /* Wall time too: a `thread` op hands the turn to another thread, and the wait for it to
     * wake is time an engine loses but no CPU clock counts. */
    printf("%zu inputs, %d rounds: median %.2f us/input (min %.2f, max %.2f), wall %.2f\n",
           ninputs, rounds, us[rounds / 2], us[0], us[rounds - 1], wall[rounds / 2]);
    free(us);
    free(wall);
    return 0;
}
