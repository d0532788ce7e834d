/* The shadow model: what the harness knows about every live block of the allocator under test
 * (docs/ARCHITECTURE.md, Executor and shadow model), and the fill pattern that lets a
 * corrupted byte name its victim.
 * Terms: a block's "extent" is the bytes the harness owns and fills: its requested size (at
 * least 1, since two live blocks must be distinct even at size 0) or, once queried, its usable
 * size. The "key" seeds the block's pattern; it stays with the block across realloc.
 * Everything lives in one mmap'ed shadow_t, never in any malloc heap. Leaves out: calling the
 * allocator (src/exec/exec.c). */
#ifndef ALLOCHECK_SRC_EXEC_SHADOW_H
#define ALLOCHECK_SRC_EXEC_SHADOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/trace/ops.h"

/* Harness regions a block must never overlap: the shadow/executor mapping, worker stacks, the
 * trace being run, the caller's finding and progress words. */
#define SHADOW_HARNESS_MAX 16

/* shadow_overlap() results besides a slot index. */
#define SHADOW_NONE (-1)
#define SHADOW_HARNESS (-2)

typedef struct shadow_block {
    uintptr_t ptr;
    size_t size;        /* requested size (realloc keeps min(size, new)) */
    size_t extent;      /* bytes filled with the pattern and covered by overlap checks */
    size_t align;       /* requested alignment, 0 for the malloc family */
    uint64_t key;       /* pattern seed */
    uint8_t origin;     /* op_kind_t that created it */
    uint8_t thread;     /* thread that created it */
    uint8_t live;
    uint8_t reserved;
} shadow_block_t;

typedef struct shadow_region {
    uintptr_t lo, hi;   /* [lo, hi); lo == hi when unused */
} shadow_region_t;

#define SHADOW_GRANULE_SHIFT 9
#define SHADOW_HASH_BITS 12

/* The address index has two parts, so the common case costs O(1):
 *  - small blocks (extent <= one 512-byte granule) sit in a hash of the granule they start
 *    in, chained through next/prev; a block overlapping [p, e) must start in one of the
 *    granules from p - 512 to e, a handful of probes;
 *  - large blocks sit in an address-sorted array (few of them, so insertion is a short
 *    memmove), where disjointness means only the nearest neighbours can overlap: O(log n). */
typedef struct shadow {
    shadow_block_t slot[OPS_SLOTS];
    uint16_t bucket[1u << SHADOW_HASH_BITS];
    uint16_t next[OPS_SLOTS], prev[OPS_SLOTS];
    shadow_region_t range[OPS_SLOTS];  /* [ptr, ptr + max(extent, 1)) of indexed blocks */
    uint8_t ix[OPS_SLOTS];             /* where each slot is indexed (none/hash/sorted) */
    /* The hashed slots again, densely with their ranges, for a block too big to probe. */
    uintptr_t small_lo[OPS_SLOTS], small_hi[OPS_SLOTS];
    uint16_t small[OPS_SLOTS];
    uint16_t small_pos[OPS_SLOTS];     /* index of a hashed slot in small[] */
    uintptr_t large_ptr[OPS_SLOTS];
    uint16_t large[OPS_SLOTS];
    size_t nlarge, nsmall;
    bool indexed;       /* false: slots only, no address index (CHECK_LEVEL_NONE) */
    bool ready;         /* buckets initialized */
    size_t live_bytes;  /* sum of requested sizes */
    size_t live_blocks;
    uint16_t live[OPS_SLOTS];          /* the live slots, densely (live_blocks of them) */
    uint16_t live_pos[OPS_SLOTS];      /* index of a live slot in live[] */
    uint64_t live_map[OPS_SLOTS / 64]; /* bit s: slot s is live (slot order, for free_all) */
    uint32_t allocs;    /* new blocks this run: the generation in pattern keys */
    shadow_region_t harness[SHADOW_HARNESS_MAX];
    unsigned nharness;  /* regions in use are below this index */
} shadow_t;

/* Empties the table for a new run; `indexed` selects the address index. */
void shadow_reset(shadow_t *s, bool indexed);

/* The first live slot >= from, or -1. */
static inline int shadow_next_live(const shadow_t *s, unsigned from)
{
    for (unsigned w = from / 64; w < OPS_SLOTS / 64; w++) {
        uint64_t bits = s->live_map[w] & (w == from / 64 ? ~0ull << (from % 64) : ~0ull);
        if (bits)
            return (int)(w * 64 + (unsigned)__builtin_ctzll(bits));
    }
    return -1;
}

/* Records harness region idx (< SHADOW_HARNESS_MAX) as [p, p+len); len 0 clears it. */
void shadow_set_harness(shadow_t *s, unsigned idx, const void *p, size_t len);

/* The slot of a live block overlapping [p, p+extent) other than `except` (-1 for none),
 * SHADOW_HARNESS if it overlaps harness memory, else SHADOW_NONE. O(log n).
 * pre: the shadow is indexed. */
int shadow_overlap(const shadow_t *s, uintptr_t p, size_t extent, int except);

/* Makes b the live block of slot (which must be empty) and indexes it. */
void shadow_insert(shadow_t *s, unsigned slot, const shadow_block_t *b);

/* Empties slot (which must be live). */
void shadow_remove(shadow_t *s, unsigned slot);

/* Changes the extent of the live block of slot (a usable-size query), keeping it indexed. */
void shadow_set_extent(shadow_t *s, unsigned slot, size_t extent);

/* The pattern key of a new block: mixes seed, slot and generation (s->allocs). */
uint64_t shadow_key(uint64_t seed, unsigned slot, uint32_t gen);

/* Writes the pattern of `key` over bytes [from, to) of the block at p (offsets relative to p,
 * so a realloc'ed block continues its pattern). */
void shadow_fill(void *p, size_t from, size_t to, uint64_t key);

/* Offset of the first byte in [from, to) that differs from the pattern, or SIZE_MAX. */
size_t shadow_find_bad(const void *p, size_t from, size_t to, uint64_t key);

/* Checks that the len bytes at p are zero and fills them with the pattern, in one pass.
 * Returns SIZE_MAX, or the offset of the first non-zero byte (where it stopped filling). */
size_t shadow_fill_zeroed(void *p, size_t len, uint64_t key);

/* Offset of the first non-zero byte in [from, to), or SIZE_MAX. */
size_t shadow_find_nonzero(const void *p, size_t from, size_t to);

/* The pattern byte of `key` at offset off. */
uint8_t shadow_pattern_byte(uint64_t key, size_t off);

/* Sampled mode touches only a block's sampled set: its first and last 64 bytes and the word
 * at each power-of-two offset from 128 on (O(log len) bytes; a function of len alone).
 * shadow_fill_sampled writes the pattern there; shadow_find_bad_sampled checks the part of
 * the set of a len-byte block below limit (the kept prefix after realloc), for the pattern or
 * (zero) for zeroes. Offset of the first bad byte, or SIZE_MAX. */
void shadow_fill_sampled(void *p, size_t len, uint64_t key);
size_t shadow_find_bad_sampled(const void *p, size_t len, size_t limit, uint64_t key, bool zero);

#endif
