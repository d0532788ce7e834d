/* The shape of a misuse case and what a case may tell the harness.
 * A case is one misuse of one function (a double free, a free of a stack pointer, an overflow
 * before free), named by what it does, citing the anchor test it corresponds to. It only
 * drives the allocator: it marks where the misuse starts and ends (mz_begin, mz_end) and
 * hands the harness the blocks it still holds, the memory the allocator does not own, and the
 * data it treats as secret. What came of the misuse (detected, trapped, ignored, corrupted,
 * leaked) is decided by the harness (src/harden/), never here.
 * Terms: "live" blocks are the program's own and must come out untouched; "foreign" memory is
 * memory the allocator never handed out (a stack buffer, a harness mapping); a "secret" is
 * data the program wrote before freeing, which no later allocation may show.
 * Leaves out: running cases, the probe that follows every misuse, and reports. */
#ifndef ALLOCHECK_MISUSE_MISUSE_H
#define ALLOCHECK_MISUSE_MISUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/load/alloc.h"

typedef struct mz mz_t;   /* the harness's record of one run (src/harden/probe.c) */

enum misuse_flags {
    MISUSE_THREADS = 1u << 0,   /* starts threads: needs a thread-safe allocator */
};

typedef struct misuse {
    const char *id;        /* "double-free-small-delayed": unique, what the program does */
    const char *property;  /* one line: the misuse and what it would give an attacker */
    const char *cite;      /* the anchor test: "hardened_malloc test/double_free_small",
                              "mimalloc-bench bench/security/...", "HardsHeap ...", or "new" */
    uint32_t needs;        /* AF_BIT() mask: n/a when one is absent */
    uint32_t flags;        /* enum misuse_flags */
    void (*run)(mz_t *h);
    const char *file;      /* the family's source file (__FILE__), for reproducers */
} misuse_t;

/* Every case, in a stable order (misuse/registry.c). */
extern const misuse_t *const misuse_cases[];
extern const size_t misuse_case_count;

/* The allocator the case drives. */
const alloc_t *mz_alloc(mz_t *h);

/* Records that the case cannot be set up here (an allocation it needs failed): n/a, with why.
 * The case returns right after. */
void mz_na(mz_t *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A block of size bytes the program still holds: the harness fills it with its pattern now
 * and requires it untouched and never handed out again. */
void mz_live(mz_t *h, void *p, size_t size);

/* Memory the allocator does not own (at most 1 KiB of it is watched): its bytes are
 * remembered now; a block handed out inside it is an arbitrary-address primitive, a change to
 * it a write the allocator had no right to make. */
void mz_foreign(mz_t *h, void *p, size_t len);

/* Fills [p, p+len) with the secret words; no later allocation may show them. */
void mz_secret(mz_t *h, void *p, size_t len);

/* A block the allocator returned during the misuse (realloc of a freed pointer, ...): it joins
 * the probe's blocks, so a duplicate or overlap it makes is found. */
void mz_got(mz_t *h, void *p, size_t size);

/* Reads len bytes of freed memory (the misuse itself): the harness notes whether the secret
 * is still readable through the dangling pointer. */
void mz_read_freed(mz_t *h, const void *p, size_t len);

/* The misuse starts: a death from here on is the allocator's answer to it. The probe that
 * follows allocates blocks of probe_size (0: the harness's small default). */
void mz_begin(mz_t *h, size_t probe_size);
/* The misuse is over; what follows is the harness's probe. */
void mz_end(mz_t *h);

/* Short forms for the calls a case makes. */
static inline void *mz_malloc(mz_t *h, size_t n) { return mz_alloc(h)->malloc(mz_alloc(h)->ctx, n); }
static inline void mz_free(mz_t *h, void *p) { mz_alloc(h)->free(mz_alloc(h)->ctx, p); }

/* A small block, or n/a when even that fails: the common first line of a case. */
void *mz_must(mz_t *h, size_t n);

#endif
