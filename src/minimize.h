/* Operation-level minimization of a failing trace (delta debugging): remove chunks of ops,
 * then single ops, then simplify sizes, alignments and slots, keeping every candidate that
 * still fails with the same oracle. Candidates run under the supervisor (src/engine.h), so a
 * crashing or hanging candidate is just an answer.
 * Deterministic: the test budget counts candidates, never time. */
#ifndef ALLOCHECK_SRC_MINIMIZE_H
#define ALLOCHECK_SRC_MINIMIZE_H

#include <stddef.h>

#include "src/engine.h"

/* Returns 1 if cand still fails the way wanted, 0 if not, or a negative errno. */
typedef int (*minimize_test_fn)(void *arg, const trace_t *cand);

typedef struct minimize_stats {
    size_t before, after;     /* op counts */
    unsigned tests;           /* candidates tried */
} minimize_stats_t;

/* Shrinks t in place with the generic algorithm. max_tests bounds the candidates tried.
 * Returns 0 or a negative errno. */
int minimize_trace(trace_t *t, minimize_test_fn test, void *arg, unsigned max_tests,
                   minimize_stats_t *st);

/* Shrinks a finding's trace against a, keeping oracle (res->f.oracle). On return, *res holds
 * the minimized trace's finding. Returns 0 or a negative errno. */
int minimize_finding(const alloc_t *a, const exec_opts_t *eo, unsigned hang_ms, trace_t *t,
                     sup_result_t *res, minimize_stats_t *st);

#endif
