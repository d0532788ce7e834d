/* allocheck harden: what an allocator does with misuse. Runs each case of the misuse
 * catalogue (misuse/) in its own child, N runs each, and decides the outcome from what it
 * sees, never from the case: the child's death during or after the misuse (a message on
 * stderr, a fault), or, when it lives, what the probe after the misuse found (src/harden/probe.c).
 * Terms: an "outcome" is a class with, for corrupted, the primitive the misuse gave
 * (duplicate, overlapping, arbitrary, restricted write; a late fault or a hang when the
 * allocator's own state broke); a "task" is one (allocator, case) pair, run `runs` times.
 * Leaves out: option parsing and report formats (src/cli/cmd_harden.c, src/harden/report.c). */
#ifndef ALLOCHECK_SRC_HARDEN_HARDEN_H
#define ALLOCHECK_SRC_HARDEN_HARDEN_H

#include <stdbool.h>
#include <stddef.h>

#include "misuse/misuse.h"
#include "src/load/alloc.h"

typedef enum harden_outcome {
    HO_NA,            /* a function the case needs is absent, or its setup failed */
    HO_ERROR,         /* the harness could not run it (fork failed, died before the misuse) */
    HO_DETECTED,      /* aborted or exited, with its message, during or after the misuse */
    HO_TRAPPED,       /* SIGSEGV/SIGBUS at the misuse itself */
    HO_IGNORED,       /* the probe after the misuse saw nothing */
    HO_LEAKED,        /* freed data readable later, or stale data from malloc or calloc */
    HO_DUPLICATE,     /* corrupted: a block handed out while it is live */
    HO_OVERLAPPING,   /* corrupted: a block overlapping a live one */
    HO_ARBITRARY,     /* corrupted: a block outside memory the allocator owns */
    HO_RESTRICTED,    /* corrupted: the allocator wrote into memory it does not own */
    HO_LATE_FAULT,    /* corrupted: a fault in the allocator after the misuse */
    HO_HANG,          /* corrupted: the allocator stopped making progress */
    HO_COUNT
} harden_outcome_t;

/* The classes, for --require and summaries. */
typedef enum harden_class {
    HC_NA, HC_ERROR, HC_DETECTED, HC_TRAPPED, HC_IGNORED, HC_LEAKED, HC_CORRUPTED, HC_COUNT
} harden_class_t;

harden_class_t harden_class_of(harden_outcome_t o);
/* "detected", "corrupted: duplicate", "n/a", ... */
const char *harden_outcome_name(harden_outcome_t o);
/* "detected", "corrupted", ... */
const char *harden_class_name(harden_class_t c);

#define HARDEN_DEFAULT_TIMEOUT_MS 3000u
#define HARDEN_DEFAULT_RUNS 5u   /* the whole six-allocator matrix in ~15 s at -j 2 */
#define HARDEN_MSG 400

typedef struct harden_opts {
    unsigned jobs;        /* children at once; 0 = online CPUs */
    unsigned runs;        /* fresh processes per task; 0 = HARDEN_DEFAULT_RUNS */
    unsigned timeout_ms;  /* per run; 0 = HARDEN_DEFAULT_TIMEOUT_MS */
} harden_opts_t;

typedef struct harden_result {
    harden_outcome_t outcome;     /* the most frequent over the runs (ties: the worse) */
    unsigned runs;
    unsigned count[HO_COUNT];     /* runs per outcome */
    unsigned ms;                  /* wall time of all runs */
    char msg[HARDEN_MSG];         /* the allocator's message, what the probe saw, or why */
} harden_result_t;

/* Runs cases[0..ncases) against allocs[0..nallocs), results[ai * ncases + ci]. Returns 0, or
 * a negative errno when the runner itself failed. After a stop signal (children_stop) it
 * returns within CHILDREN_POLL_MS; unfinished tasks are errors saying so. */
int harden_run(const alloc_t *allocs, size_t nallocs, const misuse_t *const *cases,
               size_t ncases, const harden_opts_t *opts, harden_result_t *results);

/* Why case c is n/a for a without running it (a function it needs is absent, threads on an
 * allocator that disclaims them), into msg; false when it must run. */
bool harden_na_reason(const alloc_t *a, const misuse_t *c, char *msg, size_t len);

/* The case with this id, or NULL. */
const misuse_t *harden_find(const char *id);

/* What a run's child writes, in shared memory (src/harden/probe.c fills it). */
typedef struct harden_slot {
    volatile int phase;          /* HARDEN_PHASE_*: how far the child got */
    harden_outcome_t found;      /* HO_IGNORED, or what the probe found */
    char msg[HARDEN_MSG];
} harden_slot_t;

enum {
    HARDEN_PHASE_SETUP,     /* before mz_begin */
    HARDEN_PHASE_MISUSE,    /* between mz_begin and mz_end */
    HARDEN_PHASE_PROBE,     /* the harness's probe */
    HARDEN_PHASE_CLEANUP,   /* the probe's verdict is in; freeing its blocks */
    HARDEN_PHASE_DONE,
    HARDEN_PHASE_NA,        /* the case could not be set up */
};

/* In the child: runs case c on a, then the probe, writing into slot. Returns normally. */
void harden_child(const alloc_t *a, const misuse_t *c, harden_slot_t *slot);

#endif
