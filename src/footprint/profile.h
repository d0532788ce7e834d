/* allocheck profile: what an allocator costs in memory and time, side by side. A "cell" is
 * one measurement of one allocator (a workload, one size of the overhead sweep, a threads
 * test), run in its own child; the runner fills a profile_t, the writers print it.
 * Terms: "footprint" is the allocator's resident and mapped bytes above what the child held
 * before the cell began (src/footprint/measure.h); "live" is what the program holds (sum of
 * requested sizes); "fragmentation" is peak footprint / peak live; "retention" is the
 * footprint left after everything was freed (and after malloc_trim where the allocator has
 * one); "blowup" is fragmentation with blocks freed by another thread than their owner.
 * Leaves out: preload: specs (they run in exec'd workers, which profile does not drive). */
#ifndef ALLOCHECK_SRC_FOOTPRINT_PROFILE_H
#define ALLOCHECK_SRC_FOOTPRINT_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "src/load/alloc.h"
#include "src/trace/ops.h"

#define FP_SAMPLES 48       /* footprint samples per workload run (the plot over time) */
#define FP_MAX_SIZES 160    /* sizes in the overhead sweep */
#define FP_MAX_REPS 9
#define FP_THREAD_COUNTS 3  /* 1, 2 and 4 threads */
#define FP_MAX_ALLOCS 16    /* as many as -a takes */

typedef enum fp_status {
    FP_OK,
    FP_SKIPPED,   /* note says why (a function missing, not thread-safe, ...) */
    FP_CRASHED,   /* note holds the signal and the allocator's last words */
    FP_HUNG,      /* it overran the cell's time limit */
} fp_status_t;

typedef struct fp_sample {
    uint64_t op, live, resident, mapped;
} fp_sample_t;

/* What one child reports; lives in shared memory while the child runs. */
typedef struct fp_result {
    fp_status_t status;
    char note[200];
    uint64_t ops, ns;                       /* ops run and the time spent in them */
    uint64_t peak_live, peak_resident, peak_mapped;
    double frag_peak;                       /* max over samples: resident / peak live so far */
    uint64_t free_resident, free_mapped;    /* after free-all */
    uint64_t trim_resident, trim_mapped;    /* after malloc_trim(0), when trimmed */
    bool trimmed;
    uint32_t nsamples;
    fp_sample_t sample[FP_SAMPLES];
    uint64_t size, usable, nblocks;         /* overhead cells */
} fp_result_t;

typedef enum fp_workload {
    WL_SAWTOOTH,
    WL_RANDOM,
    WL_REALLOC,
    WL_ROBSON,
    WL_TRACE,     /* --workload FILE; one per file */
} fp_workload_t;

#define FP_MAX_WORKLOADS 12

typedef struct fp_opts {
    bool quick;
    unsigned reps;            /* speed runs per workload (median, spread) */
    unsigned timeout_ms;      /* per cell: past it the cell is FP_HUNG */
    uint64_t seed;
    const char *files[FP_MAX_WORKLOADS - WL_TRACE];
    const trace_t *traces[FP_MAX_WORKLOADS - WL_TRACE];
    int nfiles;
} fp_opts_t;

/* A workload's figures for one allocator: footprint from the first run, speed over all. */
typedef struct fp_cell {
    fp_result_t r;            /* the first run */
    double ns_op[FP_MAX_REPS];
    unsigned nreps;
    double ns_median, ns_min, ns_max;
} fp_cell_t;

typedef struct fp_alloc_report {
    const alloc_t *a;
    const char *label;
    bool has_trim;
    fp_cell_t work[FP_MAX_WORKLOADS];
    fp_result_t size[FP_MAX_SIZES];
    fp_cell_t xthread[FP_THREAD_COUNTS];   /* producer/consumer: blowup, ops/s */
    fp_cell_t tput[FP_THREAD_COUNTS];      /* each thread its own mallocs: ops/s */
} fp_alloc_report_t;

typedef struct profile {
    fp_opts_t opts;
    int nallocs;
    int nworkloads;
    const char *workload_name[FP_MAX_WORKLOADS];
    int nsizes;
    uint64_t sizes[FP_MAX_SIZES];
    fp_alloc_report_t *alloc;           /* nallocs of them */
    double seconds;                     /* wall time of the whole run */
} profile_t;

extern const unsigned fp_thread_counts[FP_THREAD_COUNTS];

/* In a child: runs workload w (index into the profile's list) against a into r. */
void fp_run_workload(const alloc_t *a, const fp_opts_t *o, int w, fp_result_t *r);
/* In a child: n blocks of `size` live, their usable size and footprint per block. */
void fp_run_size(const alloc_t *a, uint64_t size, uint64_t n, fp_result_t *r);
/* In a child: producer/consumer pairs (threads/2, or one thread doing both) into r. */
void fp_run_xthread(const alloc_t *a, const fp_opts_t *o, unsigned threads, fp_result_t *r);
/* In a child: `threads` threads each mallocing and freeing its own blocks into r. */
void fp_run_tput(const alloc_t *a, const fp_opts_t *o, unsigned threads, fp_result_t *r);

/* The sizes of the overhead sweep: powers of two and their neighbours from 1 B to 1 MiB,
 * and the class edges the first allocator shows (its usable sizes and one past them),
 * sorted and unique. Returns how many. */
int fp_sweep_sizes(const alloc_t *first, bool quick, uint64_t *out, int max);

/* Runs everything for every allocator; progress lines go to `progress` when not NULL.
 * Returns 0, or -EINTR when a stop signal ended the run early (what ran is kept). */
int profile_run(profile_t *p, alloc_t *allocs, int n, FILE *progress);
void profile_release(profile_t *p);

/* Whether a's library defines malloc_trim (its own, not one reached through its
 * dependencies), and the function. */
int (*fp_trim_fn(const alloc_t *a))(size_t);

/* Figures the writers share. */
double fp_frag(const fp_result_t *r);                        /* peak resident / peak live */
double fp_ratio(const profile_t *p, int k, const fp_cell_t *c, const fp_cell_t *first);

typedef enum fp_format { FPF_HUMAN, FPF_JSON, FPF_CSV, FPF_MARKDOWN, FPF_HTML } fp_format_t;

/* Writes the report in format fmt to f. Returns 0 or -errno of a failed write (ferror). */
int profile_write(const profile_t *p, fp_format_t fmt, FILE *f);
int profile_write_html(const profile_t *p, FILE *f);

#endif
