/* Real concurrency for the executor: with exec_opts_t.concurrent, the `thread T` ops of a
 * trace run at once on real CPUs, in bursts between barriers, instead of taking turns.
 * Terms: a "burst" is a stretch of the trace in which no slot is touched by two threads and
 * no `check` op runs; each thread runs its own ops of the burst in trace order, all threads
 * at once, and everyone waits at a barrier before the next burst. The "schedule" is the
 * bursts (a function of the trace alone) and each thread's start delay in each burst (a
 * function of the pattern seed): the same trace and seed give the same schedule, and the
 * interleaving inside a burst is then up to the CPUs.
 * Private to the executor: exec.c calls conc_*, exec_threads.c calls exec_step and friends.
 * Leaves out: the shadow's locking (exec.c's sh_lock), ops on the allocator. */
#ifndef ALLOCHECK_SRC_EXEC_THREADS_H
#define ALLOCHECK_SRC_EXEC_THREADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/exec/exec.h"

typedef struct conc conc_t;

/* The runner's state, mmap'ed. NULL on failure. */
conc_t *conc_new(uint64_t seed);
void conc_free(conc_t *c);

/* Whether t hands ops to a thread other than 0 (else it runs the ordinary way). */
bool conc_wanted(const trace_t *t);

/* Runs t in bursts on thread 0, its workers woken for it. 0 (a finding is in exec's state)
 * or a negative errno. */
int conc_run(exec_t *e, conc_t *c, const trace_t *t);

/* A worker's part of a run: its ops of every burst, until the run ends. */
void conc_worker(exec_t *e, conc_t *c, unsigned self);

/* In exec.c: runs op pc (not a `thread` op) on thread self; 0, 1 (a finding, which stops
 * the run) or -1 (skipped). */
int exec_step(exec_t *e, size_t pc, unsigned self);
/* Whether a finding or exec_free has stopped the run. */
bool exec_halted(const exec_t *e);
/* Starts worker id if need be and wakes it (it then calls conc_worker). */
int exec_start_worker(exec_t *e, unsigned id);
/* Marks bursts on (the shadow index is locked) or off, and counts ops run. */
void exec_set_bursts(exec_t *e, bool on, uint64_t ops);

#endif
