/* Operation-level minimization of a failing trace: structural cuts first (the failing
 * sequence alone, the slots the failure names, whole groups of block lifetimes, the prefix by
 * bisection over quiescent points), then delta debugging (remove chunks of ops, then single
 * ops), then simpler sizes and slot numbers, keeping every candidate that still fails the
 * same way. Candidates run under the supervisor (src/engine/engine.h), so a crashing or hanging
 * candidate is just an answer.
 * Terms: a "lifetime" is an allocation into a slot and every op on that slot up to and
 * including the op that frees it; a "quiescent point" is a place between two ops where no
 * slot is live and thread 0 runs (where one fuzzing sequence ends and the next begins).
 * Budgets: candidates and ops run are counted (deterministic: the same trace minimizes the
 * same way however fast the machine); a deadline and a stop flag end it early, keeping the
 * best trace so far.
 * Leaves out: replaying from a warm child (each candidate runs from a fresh process). */
#ifndef ALLOCHECK_SRC_ENGINE_MINIMIZE_H
#define ALLOCHECK_SRC_ENGINE_MINIMIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "src/engine/engine.h"

/* Returns 1 if cand still fails the way wanted, 0 if not, or a negative errno; -ETIMEDOUT
 * and -EINTR say the budget ran out (the minimizer stops and keeps what it has). */
typedef int (*minimize_test_fn)(void *arg, const trace_t *cand);

typedef struct minimize_opts {
    unsigned max_tests;       /* candidates to try; 0: the default (3000) */
    uint64_t deadline_ms;     /* engine_now_ms() when to stop; 0: none */
    const volatile int *stop; /* nonzero: stop now (may be NULL) */
    const finding_t *f;       /* the failure (its slots guide a cut); may be NULL */
    /* A racy finding (engine_racy) failed in rate_hits of rate_runs replays: a candidate is
     * replayed several times and kept if it fails at about that rate (minimize_tries). 0:
     * measured by minimize_finding when racy, else one replay per candidate. */
    unsigned rate_hits, rate_runs;
} minimize_opts_t;

typedef struct minimize_stats {
    size_t before, after;     /* op counts */
    unsigned tests;           /* candidates tried */
    bool cut_short;           /* the deadline or the stop flag ended it */
    uint64_t ms;              /* how long it took */
    unsigned rate_hits, rate_runs;  /* racy: the minimized trace's rate (0 runs: not racy) */
    /* racy: the minimized trace failed at lost_hits of rate_runs, less than half the
     * finding's rate, so the finding's own trace was kept (after == before) */
    bool rate_lost;
    unsigned lost_hits;
} minimize_stats_t;

/* The replays a candidate gets (*tries) and how many must fail (*need) for a finding that
 * failed in hits of runs replays: about three times the replays it takes on average (at most
 * 10), and half the failures expected in them; 1 and 1 when runs is 0. */
void minimize_tries(unsigned hits, unsigned runs, unsigned *tries, unsigned *need);

/* Shrinks t in place. t's last op is the failing one. mo may be NULL (defaults).
 * Returns 0 (also when cut short) or a negative errno. */
int minimize_trace(trace_t *t, minimize_test_fn test, void *arg, const minimize_opts_t *mo,
                   minimize_stats_t *st);

/* Shrinks a finding's trace against a, keeping its oracle and signature
 * (engine_finding_signature). On return, *res holds the minimized trace's finding.
 * Returns 0 or a negative errno. */
int minimize_finding(const alloc_t *a, const exec_opts_t *eo, unsigned hang_ms, trace_t *t,
                     sup_result_t *res, const minimize_opts_t *mo, minimize_stats_t *st);

#endif
