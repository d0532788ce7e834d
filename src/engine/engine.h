/* The built-in fuzzing engine and the supervisor every runner of untrusted allocator code
 * shares (fuzz, replay, minimize): allocator code runs in a forked child, so a crash or a
 * hang inside the allocator becomes a finding (oracle `crash` or `timeout`), not a dead tool.
 * Terms: "sequence i" is gen_sequence(gen_seq_seed(seed, i)); a "finding trace" is the trace
 * that reproduces a finding from a fresh process, truncated after the failing op.
 * Leaves out: printing. Progress and findings reach the caller through callbacks. */
#ifndef ALLOCHECK_SRC_ENGINE_ENGINE_H
#define ALLOCHECK_SRC_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/load/alloc.h"
#include "src/exec/exec.h"
#include "src/engine/gen.h"
#include "src/footprint/leak.h"
#include "src/trace/ops.h"
#include "src/load/worker.h"

#define ENGINE_LASTWORDS 1024   /* bytes of a dead child's stderr kept for the report */

/* ---- supervisor: run one trace in a child ---- */

typedef struct sup_result {
    int status;               /* 0 clean, 1 finding (f filled) */
    finding_t f;
    char lastwords[ENGINE_LASTWORDS];   /* the tail of the child's stderr */
} sup_result_t;

/* Runs t against a in a forked child under a watchdog of hang_ms without progress.
 * A child killed by a signal gives oracle "crash" (message names the signal); no progress
 * for hang_ms gives "timeout"; the op index is the op that was running.
 * Returns 0 with *res filled, -EINTR after a stop signal (children_stop), or another
 * negative errno on a harness failure. */
int sup_run_trace(const alloc_t *a, const exec_opts_t *eo, const trace_t *t,
                  unsigned hang_ms, sup_result_t *res);

/* The same, but gives up when engine_now_ms() reaches deadline_ms (0: never) or *stop
 * (may be NULL) becomes nonzero: the child is killed and -ETIMEDOUT or -EINTR returned, so a
 * long replay cannot carry a run past its time budget. */
int sup_run_trace_until(const alloc_t *a, const exec_opts_t *eo, const trace_t *t,
                        unsigned hang_ms, uint64_t deadline_ms, const volatile int *stop,
                        sup_result_t *res);

/* Whether t's `thread T` ops run at once under eo (exec_opts_t.concurrent): a failure may
 * then need one interleaving, and shows only in some replays. */
bool engine_racy(const exec_opts_t *eo, const trace_t *t);

/* Replays of a racy finding's trace when its rate is measured. */
#define ENGINE_RATE_RUNS 10

/* Replays t up to `runs` times from fresh processes and counts in *hits those that fail with
 * `oracle`; *done gets the replays made (fewer when the deadline or *stop ends it). Returns 0
 * or a negative errno other than -ETIMEDOUT and -EINTR. */
int engine_rate(const alloc_t *a, const exec_opts_t *eo, unsigned hang_ms, uint64_t deadline_ms,
                const volatile int *stop, const trace_t *t, const char *oracle, unsigned runs,
                unsigned *hits, unsigned *done);

/* Milliseconds of CLOCK_MONOTONIC: the clock of every deadline here. */
uint64_t engine_now_ms(void);

/* ---- the fuzzing loop ---- */

typedef struct engine_opts {
    uint64_t seed;
    uint64_t runs;            /* sequences to run; 0 = no bound */
    uint64_t time_ms;         /* wall-time bound of the whole run, replaying a finding
                                 included; 0 = none */
    bool keep_going;          /* continue after a finding */
    unsigned hang_ms;         /* watchdog: no progress for this long is a hang */
    exec_opts_t exec;
    gen_opts_t gen;
    uint64_t warmup;          /* sequences each fuzzing child runs before the checked ones,
                                 checked too (src/engine/warmup.h); 0: none */
    const volatile int *interrupted;  /* nonzero: stop at the next sequence (may be NULL) */
    /* With exec.concurrent: 0 or 1, every sequence runs in bursts; K > 1, one in about K
     * (engine_seq_bursts), the others take turns (a mixed schedule). */
    unsigned bursts_every;
} engine_opts_t;

/* Whether sequence seq (a warmup one too) runs in bursts under o: a function of the seed and
 * the sequence, so a replay knows the schedule its finding was found under. */
bool engine_seq_bursts(const engine_opts_t *o, uint64_t seq);

/* The exec options sequence seq ran under: o->exec, concurrent only if it ran in bursts. */
exec_opts_t engine_seq_exec(const engine_opts_t *o, uint64_t seq);

typedef struct engine_progress {
    uint64_t elapsed_ms;
    uint64_t sequences;
    uint64_t ops;
    size_t live_blocks;       /* the peak of the last sequence */
    unsigned findings;
    unsigned duplicates;      /* findings `found` called repeats */
    retention_t retention;    /* the closing report only, with --resources (else .valid 0) */
} engine_progress_t;

typedef struct engine_finding {
    const trace_t *trace;     /* reproduces from a fresh process (or the best we found) */
    bool reproduced;          /* false if even the longest candidate did not replay it */
    uint64_t sequence;        /* the sequence index it happened in */
    uint64_t elapsed_ms;      /* since the run started, when the child failed */
    uint64_t deadline_ms;     /* when the run must end (engine_now_ms), or 0 */
    sup_result_t res;
    /* Its threads ran at once (engine_racy): of rate_runs replays of `trace` from a fresh
     * process, rate_hits failed with the same oracle. rate_runs 0: not racy. */
    unsigned rate_hits, rate_runs;
    /* What its sequence ran under (engine_seq_exec): reproduction, rate, minimization and
     * the reproducer use the same schedule. */
    exec_opts_t exec;
} engine_finding_t;

typedef struct engine_cb {
    void *arg;
    /* Called about 4 times a second. */
    void (*progress)(void *arg, const engine_progress_t *p);
    /* Called first for each finding, with the failing sequence as the fuzzing child ran
     * it (not yet replayed from a fresh process): save it before anything else. A nonzero
     * return says it repeats a finding already reported (see engine_finding_signature):
     * it is counted in `duplicates` and not reproduced, minimized or passed to `finding`. */
    int (*found)(void *arg, const engine_finding_t *f);
    /* Called for each finding once reproduced; a nonzero return stops the run. */
    int (*finding)(void *arg, const engine_finding_t *f);
} engine_cb_t;

void engine_opts_default(engine_opts_t *o);

/* Warmup sequence w is numbered ENGINE_WARMUP | w; the others are numbered from 0. */
#define ENGINE_WARMUP ((uint64_t)1 << 63)

/* Appends sequence i (a warmup one too) as a fuzzing child of o generates it. 0 or -ENOMEM. */
int engine_gen_sequence(trace_t *t, const engine_opts_t *o, uint64_t i);

/* exec_opts_default() with the alignment rule every fuzzing command uses (C23's
 * size-dependent rule), so replay, minimize and repro judge a finding as fuzz did. */
void engine_exec_defaults(exec_opts_t *eo);

/* Fuzzes a with sequences 0, 1, ... of o->seed. Returns the number of findings, or a
 * negative errno on a harness failure. */
int engine_fuzz(const alloc_t *a, const engine_opts_t *o, const engine_cb_t *cb);

/* In a preload worker (src/load/worker.h): the body a supervisor child would have run for kind
 * WORKER_TRACE or WORKER_FUZZ, with the parts and shared areas that child packed. */
void engine_worker_body(worker_kind_t kind, const alloc_t *a, const worker_part_t *parts,
                        void *const *shared);

/* Parses "full", "sampled" or "none". Returns 0 or -EINVAL. */
int engine_parse_check(const char *s, check_level_t *out);

/* ---- finding files ---- */

/* "<oracle>-<allocator name>-<16 hex digits of the trace hash>" into buf. */
void engine_finding_name(const char *oracle, const alloc_t *a, const trace_t *t,
                         char *buf, size_t len);

/* What makes two findings the same bug, as far as the engine can tell without a debugger:
 * "<oracle> <function of the failing op>: <message with every number and address as #>",
 * e.g. "alignment memalign: memalign(alignment #, # bytes) returned #, not aligned to #". The
 * failing op is t's op f->op_index ("end" past the last op). */
void engine_finding_signature(const finding_t *f, const trace_t *t, char *buf, size_t len);

/* Writes t as a text trace to path atomically, with comment lines (may be NULL) first.
 * Returns 0 or -errno. */
int engine_save_trace(const char *path, const trace_t *t, const char *comment);

#endif
