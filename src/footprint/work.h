/* Inside a cell's child: the context every workload runs its operations through, so that
 * live bytes, op counts, time and footprint samples are kept the same way for all of them
 * (src/footprint/workload.c).
 * Terms: as in profile.h; `failed` counts allocations that returned NULL.
 * Leaves out: threads (src/footprint/threads.c keeps its own counters). */
#ifndef ALLOCHECK_SRC_FOOTPRINT_WORK_H
#define ALLOCHECK_SRC_FOOTPRINT_WORK_H

#include "src/footprint/measure.h"
#include "src/footprint/profile.h"

typedef struct fp_slot {
    void *p;
    size_t n;
} fp_slot_t;

typedef struct fp_ctx {
    const alloc_t *a;
    fp_result_t *r;
    struct footprint base;      /* what the child held before the cell began */
    fp_slot_t *slot;
    size_t nslots;
    uint64_t live, failed, rng;
    uint64_t sample_every, next_sample;
    uint64_t t0;                /* when the clock last started */
} fp_ctx_t;

/* Maps the slot table and reads the baseline; expected_ops spreads the samples. Returns 0,
 * or -errno with r filled (skipped) when the footprint cannot be read. */
int fp_ctx_init(fp_ctx_t *c, const alloc_t *a, fp_result_t *r, size_t nslots,
                uint64_t expected_ops, uint64_t seed);
/* Last sample, then frees every slot and records retention (and after malloc_trim). */
void fp_ctx_finish(fp_ctx_t *c);

/* Slot i gets a new block of n bytes (freeing what it held); NULL counts as failed. */
void fp_malloc(fp_ctx_t *c, size_t i, size_t n);
void fp_realloc(fp_ctx_t *c, size_t i, size_t n);
void fp_free(fp_ctx_t *c, size_t i);
uint64_t fp_rand(fp_ctx_t *c);
/* Records block p (NULL: a failed allocation) of n bytes in the empty slot i and touches
 * it; fp_count_op counts one op and samples when due. */
void fp_hold(fp_ctx_t *c, size_t i, void *p, size_t n);
void fp_count_op(fp_ctx_t *c);
/* Anonymous memory the footprint leaves out; NULL on failure. */
void *fp_map(fp_ctx_t *c, size_t len);

#endif
