/* The resource oracles (docs/FUZZING.md, Resource oracles): `leak`, memory the program freed
 * that the allocator never makes usable again, and the retention figure, what stays resident
 * and mapped after everything is freed (a property, never a finding).
 * Terms: a "repetition" is one more run of a sequence that frees everything it allocates;
 * a "step" is the footprint's growth over one repetition.
 * Leaves out: running sequences (the caller passes a function that runs one) and printing. */
#ifndef ALLOCHECK_SRC_FOOTPRINT_LEAK_H
#define ALLOCHECK_SRC_FOOTPRINT_LEAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "src/load/alloc.h"
#include "src/footprint/measure.h"

#define ORACLE_LEAK "leak"

/* A leak: in each of LEAK_REPS repetitions after the first run, resident or mapped bytes grow
 * by at least LEAK_MIN_STEP, LEAK_MIN_TOTAL in all, and the smallest step is at least a
 * quarter of the largest (the same loss each time); and they still do so after
 * LEAK_SETTLE_REPS more (an allocator whose free lists settle after a few rounds, as glibc's
 * do under some aligned and threaded patterns, stops growing by then). */
#define LEAK_REPS 4
#define LEAK_SETTLE_REPS 8
#define LEAK_MIN_STEP 4096u
#define LEAK_MIN_TOTAL (64u << 10)

/* Runs the sequence once more from an empty slot table: 0 when it ran clean and the live
 * bytes came back to zero, LEAK_RUN_LIVE when some stayed live (no verdict possible), or
 * anything else (a finding, an error) to stop the probe with that value. */
#define LEAK_RUN_LIVE 2
typedef int (*leak_run_fn)(void *arg);

/* After the caller's first run: reads the footprint, repeats the sequence LEAK_REPS times,
 * reading after each; if it grew, LEAK_SETTLE_REPS + LEAK_REPS more times. Returns 1 for a leak with msg filled (the steps), 0 for none, or what
 * run returned when that stopped it (-errno if the footprint cannot be read). */
int leak_probe(leak_run_fn run, void *arg, char *msg, size_t len);

/* Whether a finished sequence is worth a probe: the process's coarse footprint rose
 * LEAK_WATCH_SLACK above its high-water mark (a leaking allocator keeps raising it; a clean one
 * soon stops). The slack keeps probes rare: each costs LEAK_REPS runs of the sequence. */
#define LEAK_WATCH_SLACK (1u << 20)
typedef struct leak_watch { uint64_t high; } leak_watch_t;
bool leak_watch_due(leak_watch_t *w);

/* What stays after free-all, over a baseline read before the workload (signed: an
 * allocator may give back memory it held at the baseline). */
typedef struct retention {
    int valid;
    int has_trim;             /* the allocator has malloc_trim (trimmed is measured) */
    int64_t resident, mapped;
    int64_t trimmed_resident, trimmed_mapped;
} retention_t;

typedef int (*trim_fn_t)(size_t pad);

/* The allocator's own malloc_trim (prefixed like its other names), found where its malloc
 * is defined; glibc's for `system`; NULL for the reference, descriptors and allocators
 * without one. Call before the baseline: a lookup that misses may allocate. */
trim_fn_t retention_find_trim(const alloc_t *a);

/* Reads the footprint now, calls trim(0) if given, reads again. */
void retention_measure(const struct footprint *base, trim_fn_t trim, retention_t *out);

/* One line for people: "retained after free-all: 1.2 MiB resident, 4.0 MiB mapped; after
 * malloc_trim: ..." (or "no malloc_trim"). */
void retention_format(const retention_t *r, char *buf, size_t len);

/* The JSON value: {"resident": B, "mapped": B, "trimmed": {"resident": B, "mapped": B}|null},
 * or null when not measured. */
void retention_json(FILE *f, const retention_t *r);

#endif
