/* Warmup sequences and the order a fuzzing child runs sequences in (`fuzz --warmup N`).
 * A fuzzing child first runs warmup sequences (each opening with a big heap of medium blocks,
 * see gen.h), then the checked sequences from its start on; warmup ones are checked too, so a
 * bug they hit is a finding like any other, and a candidate rebuilt from a child's history
 * includes the warmup it ran.
 * Terms: warmup sequence w is numbered ENGINE_WARMUP | w (engine.h); a "position" is an index
 * into the order one child runs its sequences in.
 * Leaves out: running anything; engine.c runs what these name. */
#ifndef ALLOCHECK_SRC_WARMUP_H
#define ALLOCHECK_SRC_WARMUP_H

#include <stdint.h>

#include "src/engine/engine.h"

/* What one fuzzing child runs: warmup sequences warm_from..o->warmup-1, then start, ... */
typedef struct warm_span {
    uint64_t warm_from;
    uint64_t start;
} warm_span_t;

/* The sequence a child of span sp runs at position p. */
uint64_t warm_span_seq(const engine_opts_t *o, const warm_span_t *sp, uint64_t p);

/* The position at which a child of span sp runs sequence seq (which it must run). */
uint64_t warm_span_pos(const engine_opts_t *o, const warm_span_t *sp, uint64_t seq);

/* Where a run goes on after a finding in sequence seq of a child of span sp: a warmup
 * finding is not met again (the rest of the warmup runs first, then *next as before);
 * otherwise the sequence after seq. */
void warm_advance(warm_span_t *sp, uint64_t seq, uint64_t *next);

#endif
