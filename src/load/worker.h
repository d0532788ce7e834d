/* Preload workers: how allocator code of a preload: spec runs without the supervising process
 * ever running on that allocator. A child that would run allocator code (the load probe, a
 * conformance check, a fuzzing child, a replay or minimize candidate) is forked as usual and
 * then re-executes /proc/self/exe in a hidden mode, with LD_PRELOAD=X in its own environment
 * only. There it loads "system" restricted to the functions X itself defines and runs the same
 * body the forked child would have run.
 * Terms: the "supervisor" is the process the user started; a "worker" is the exec'd child; a
 * "job" is what crosses the exec: a kind, the library, POD parts copied byte for byte (same
 * binary, so same layout; never pointers), and "shared areas", memfd-backed MAP_SHARED
 * mappings the supervisor watches, mapped again by the worker.
 * Leaves out: what the bodies do (src/engine/engine.c, src/conform/conform.c) and how a child is watched. */
#ifndef ALLOCHECK_SRC_LOAD_WORKER_H
#define ALLOCHECK_SRC_LOAD_WORKER_H

#include <stddef.h>

#include "src/load/alloc.h"

/* The hidden subcommand; main hands argv to worker_main when argv[1] is this. */
#define WORKER_ARG "__preload-worker"

/* A preload: library must finish loading (its constructors) within this long. */
#define WORKER_LOAD_TIMEOUT_MS 5000u

#define WORKER_MAX_PARTS 4
#define WORKER_MAX_SHARED 4

typedef enum worker_kind {
    WORKER_PROBE,   /* load X and say which functions it defines */
    WORKER_TRACE,   /* engine.c: one trace (replay, minimize, reproduce) */
    WORKER_FUZZ,    /* engine.c: the fuzzing child */
    WORKER_CHECK,   /* conform.c: one conformance check */
} worker_kind_t;

typedef struct worker_part {
    const void *data;
    size_t len;
} worker_part_t;

/* Zeroed shared memory that can cross an exec (MAP_SHARED over a memfd). NULL with errno set
 * on failure. Release with worker_shared_free. */
void *worker_shared_new(size_t len);
void worker_shared_free(void *p, size_t len);

/* In a forked child of the supervisor: re-executes as a worker for a (an ALLOC_PRELOAD spec)
 * that runs `kind` with copies of parts and the shared areas (each from worker_shared_new)
 * mapped again, in order. Returns only on failure: a negative errno. */
int worker_exec(const alloc_t *a, worker_kind_t kind, const worker_part_t *parts,
                size_t nparts, void *const *shared, size_t nshared);

/* What a worker of one kind runs once its allocator is loaded; it may return (the worker then
 * exits 0). The rooms above this one (the conformance runner, the engine) provide these, so
 * loading never depends on what is run. */
typedef void worker_body_fn(worker_kind_t kind, const alloc_t *a, const worker_part_t *parts,
                            void *const *shared);

/* The hidden mode (argv[1] == WORKER_ARG, argv[2] the job's fd). Refuses, with one line and
 * exit 2, anything but a job worker_exec made. Runs bodies[kind] (indexed by worker_kind_t;
 * WORKER_PROBE needs none). Does not return. */
int worker_main(int argc, char **argv, worker_body_fn *const *bodies, size_t nbodies);

/* In the supervisor: runs a probe worker for a (recorded by alloc_load as ALLOC_PRELOAD) and
 * fills in the functions X defines. A probe that crashes, exits or outlives
 * WORKER_LOAD_TIMEOUT_MS is a load error. Returns 0, or a negative errno with a one-line
 * reason (without the spec) in err. */
int worker_probe(alloc_t *a, char *err, size_t errlen);

#endif
