/* The resource oracles (src/footprint/leak.h) as the runners of traces use them: one
 * resources_t per child that runs allocator code, begun before its first sequence, asked after
 * each clean run, ended after its last one.
 * Leaves out: everything when exec_opts_t.resources is off (then nothing is read or run). */
#ifndef ALLOCHECK_SRC_ENGINE_RESOURCES_H
#define ALLOCHECK_SRC_ENGINE_RESOURCES_H

#include <stdbool.h>
#include <stdint.h>

#include "src/exec/exec.h"
#include "src/footprint/leak.h"

typedef struct resources {
    bool on;
    leak_watch_t watch;
    trim_fn_t trim;
    struct footprint base;
    uint64_t sampled_ms;      /* CLOCK_MONOTONIC of the last resources_sample; 0: none yet */
    uint64_t run_ops;         /* ops of the sequences run, and of the probes' repetitions */
    uint64_t probe_ops;
} resources_t;

/* The probes' repetitions may cost at most 1 / RESOURCES_PROBE_SHARE of the ops the child ran
 * (the confirming round of a suspected leak aside): a child that only starts, or an allocator
 * whose footprint keeps rising without a leak, cannot make --resources much slower. */
#define RESOURCES_PROBE_SHARE 10

/* How often a fuzzing child refreshes its retention figure between sequences. */
#define RESOURCES_SAMPLE_MS 1000

/* Before the first sequence (and after exec_new): finds malloc_trim, reads the baseline. */
void resources_begin(resources_t *rs, const alloc_t *a, const exec_opts_t *eo);

/* After exec_run(e, t) returned 0: the leak probe, every time when `always` (a replay), else
 * only when the footprint rose (leak_watch_due) and the budget allows it. Returns 1 with *f filled (a leak, or a
 * finding of another oracle during a repetition), 0, or a negative errno. */
int resources_after_run(resources_t *rs, exec_t *e, const trace_t *t, bool always,
                        finding_t *f, volatile size_t *progress);

/* Keeps eo->resources only for a `leak` finding: reproducing or minimizing a finding of
 * another oracle needs no probes, and each would cost LEAK_REPS more runs of a candidate. */
void resources_only_for(exec_opts_t *eo, const char *oracle);

/* After a clean sequence (everything freed): the retention figure without malloc_trim, at most
 * every RESOURCES_SAMPLE_MS, so a child that ends in a finding still leaves one (trimming
 * mid-run would change the heap the next sequences see). */
void resources_sample(resources_t *rs, retention_t *out);

/* After the last sequence, everything freed: the retention figure (out->valid 0 when off). */
void resources_end(resources_t *rs, retention_t *out);

#endif
