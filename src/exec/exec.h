/* The executor: runs a trace against an allocator while the shadow model (src/exec/shadow.h)
 * checks every promise (docs/ARCHITECTURE.md, Executor and shadow model) after each operation.
 * Terms: a "finding" is the first broken promise: which oracle, at which op, and a message.
 * An exec_t is reused across many traces (libFuzzer calls it thousands of times a second):
 * worker threads for `thread T` ops are created once. All its state is mmap'ed.
 * Leaves out: crashes and hangs inside the allocator; the supervisor (src/engine/engine.c) owns them. */
#ifndef ALLOCHECK_SRC_EXEC_EXEC_H
#define ALLOCHECK_SRC_EXEC_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/load/alloc.h"
#include "src/trace/ops.h"

typedef enum check_level {
    CHECK_LEVEL_FULL,     /* every byte of every touched block */
    CHECK_LEVEL_SAMPLED,  /* head, tail and a few sampled words */
    CHECK_LEVEL_NONE,     /* run the ops, check nothing (benchmark workloads) */
} check_level_t;

/* Oracle names, used in findings and in seeded-bug expectations. */
#define ORACLE_ALIGNMENT "alignment"
#define ORACLE_OVERLAP "overlap"
#define ORACLE_CONTENTS "contents"
#define ORACLE_REALLOC_CONTENTS "realloc-contents"
#define ORACLE_CALLOC_ZERO "calloc-zero"
#define ORACLE_USABLE_SIZE "usable-size"
#define ORACLE_FAILURE_PATH "failure-path"
/* Not a standard violation (C17 lets any allocation fail) but a real finding: NULL for a
 * request that fits the live budget, with little live. */
#define ORACLE_SPURIOUS_OOM "spurious-oom"
#define ORACLE_ERRNO "errno"
#define ORACLE_REUSE "reuse"
#define ORACLE_CRASH "crash"
#define ORACLE_TIMEOUT "timeout"

typedef struct exec_opts {
    check_level_t check;
    size_t max_live;          /* live-bytes budget; allocations beyond it are skipped */
    size_t malloc_align;      /* expected alignment of malloc/calloc/realloc results */
    bool size_dependent_align;/* C23: small blocks need only the alignment their size allows */
    bool check_errno;         /* failures must set errno to ENOMEM/EINVAL */
    uint64_t seed;            /* pattern seed */
    size_t full_check_max;    /* CHECK_LEVEL_FULL: blocks larger than this get the sampled
                                 check (fuzz targets bound their per-input cost); 0: none */
    bool spread_threads;      /* let the scheduler place `thread T` workers on any CPU (for
                                 allocators with per-CPU caches); default: all harness
                                 threads share one CPU while a run hands off between them */
    bool concurrent;          /* `thread T` ops run at once in bursts on real CPUs
                                 (src/exec/exec_threads.c); default: one thread at a time */
    unsigned fork_wait_ms;    /* how long a `fork` op waits for its child before calling it
                                 deadlocked (a timeout finding); 0: EXEC_FORK_WAIT_MS */
    bool resources;           /* the resource oracles too: leak probes after clean runs, and
                                 the retention figure (src/footprint/resources.h) */
} exec_opts_t;

/* Half the supervisor's default 3 s hang watchdog, so a deadlocked fork child is this op's
 * timeout finding and not a hang of the whole run. */
#define EXEC_FORK_WAIT_MS 1500

typedef struct finding {
    char oracle[32];          /* ORACLE_* */
    size_t op_index;          /* index into the trace of the op that broke the promise */
    uint32_t line;            /* its text line, or 0 */
    char message[512];
} finding_t;

typedef struct exec_stats {
    uint64_t ops;             /* executed so far (all runs) */
    size_t live_blocks;
    size_t live_bytes;
    uint64_t skipped;         /* ops not run: function absent, or over the live budget */
    size_t reuse_probe[2];    /* the last run's end-of-run malloc sizes, in call order (0:
                                 none); they change the heap a next run in this exec sees */
} exec_stats_t;

typedef struct exec exec_t;

/* Sensible defaults: full checks, 256 MiB live budget, 16-byte malloc alignment. */
void exec_opts_default(exec_opts_t *o);

/* Creates an executor for a. NULL on failure (errno set). */
exec_t *exec_new(const alloc_t *a, const exec_opts_t *o);
void exec_free(exec_t *e);

/* Runs t from an empty slot table. Returns 0 if every promise held, 1 with *f filled at the
 * first violation, or a negative errno on a harness failure. Every block still live at the
 * end (or at a violation, where it is safe) is freed, so runs can follow one another.
 * If `progress` is non-NULL, the index of the op about to run is stored there before each
 * op (in shared memory, so a supervisor can name the op that crashed). */
int exec_run(exec_t *e, const trace_t *t, finding_t *f, volatile size_t *progress);

void exec_get_stats(const exec_t *e, exec_stats_t *s);

/* With opts.concurrent, whether the next runs use bursts (the default) or take turns: a
 * mixed schedule picks per sequence. Without opts.concurrent runs always take turns. */
void exec_set_bursts_for_runs(exec_t *e, bool on);

#endif
