/* The sequence generator of the built-in fuzzer and of `allocheck generate`: a grammar of
 * allocation scenarios (long lives, fragmentation, size-class walks, realloc growth chains,
 * aligned requests with size == alignment, calloc of recycled memory, usable-size writes,
 * huge and overflowing sizes, blocks handed between threads, big heaps of medium blocks)
 * expanded into ops (src/trace/ops.h).
 * Terms: a "sequence" is one trace generated from one 64-bit sequence seed; the fuzzer derives
 * sequence i's seed from the run seed with gen_seq_seed(), so every sequence can be rebuilt.
 * Leaves out: time. Nothing here reads a clock; equal seeds give equal traces. */
#ifndef ALLOCHECK_SRC_ENGINE_GEN_H
#define ALLOCHECK_SRC_ENGINE_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "src/trace/ops.h"

/* The mix of ordinary request sizes. STRESS (the fuzzer's) favours the sizes that break
 * allocators: class edges, powers of two +- 1, page and mmap-threshold boundaries, blocks up
 * to max_size. REALISTIC (generate's default) is shaped like real programs' requests: mostly
 * small, a tail of medium, rare large (see size_realistic() in gen.c for the sources). */
typedef enum gen_sizes {
    GEN_SIZES_STRESS,
    GEN_SIZES_REALISTIC,
} gen_sizes_t;

typedef struct gen_opts {
    size_t min_ops;       /* a sequence has between min_ops and max_ops ops (roughly) */
    size_t max_ops;
    unsigned threads;     /* 1: no `thread` ops; up to OPS_THREADS */
    uint64_t max_size;    /* largest ordinary request (huge must-fail sizes aside) */
    gen_sizes_t sizes;    /* the size mix (and, when realistic, alignments up to a page) */
    uint32_t present;     /* AF_BIT() mask of the allocator's functions; 0 = all */
    uint64_t big_heap;    /* a big-heap scenario builds between half of this and this many
                             bytes of medium blocks; 0: none */
    unsigned big_heap_one_in;  /* a sequence opens with one with chance 1 in this (0, 1: all) */
} gen_opts_t;

/* A small, fast PRNG (splitmix64); all generator randomness comes from it. */
typedef struct gen_rng {
    uint64_t s;
} gen_rng_t;

uint64_t gen_next(gen_rng_t *r);
/* Uniform in [0, n); n > 0. */
uint64_t gen_below(gen_rng_t *r, uint64_t n);

/* Defaults: 32..2048 ops, 1 thread, stress sizes up to 4 MiB, every function. */
void gen_opts_default(gen_opts_t *o);

/* The seed of sequence `index` of a run seeded with `seed`. */
uint64_t gen_seq_seed(uint64_t seed, uint64_t index);

/* Appends one sequence generated from seq_seed to t. Returns 0 or -ENOMEM. */
int gen_sequence(trace_t *t, uint64_t seq_seed, const gen_opts_t *o);

/* Appends exactly `nops` ops (a long workload for benchmarks) from seed. 0 or -ENOMEM. */
int gen_workload(trace_t *t, uint64_t seed, size_t nops, const gen_opts_t *o);

#endif
