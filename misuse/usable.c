/* malloc_usable_size of what it must not get: an inner or unaligned pointer, a freed block, a
 * wild value. A size read from a forged or stale header tells the program it may write past
 * its block. */
#include "misuse/cases.h"

#define US AF_BIT(AF_MALLOC_USABLE_SIZE)

static void usable(mz_t *h, size_t off, bool freed)
{
    char *p = mz_must(h, 64), *q = mz_must(h, 64);
    if (!p || !q)
        return;
    mz_live(h, q, 64);
    mz_begin(h, 64);
    if (freed)
        mz_free(h, p);
    volatile size_t n = mz_alloc(h)->malloc_usable_size(mz_alloc(h)->ctx, p + off);
    (void)n;
    mz_end(h);
    if (!freed)
        mz_live(h, p, 64);
}

static void run_us_inner(mz_t *h) { usable(h, 16, false); }
MISUSE(us_inner, "usable-size-inner", "malloc_usable_size of a pointer 16 bytes into a block",
       "hardened_malloc test/invalid_malloc_usable_size_small", US, 0)
static void run_us_unaligned(mz_t *h) { usable(h, 1, false); }
MISUSE(us_unaligned, "usable-size-unaligned", "malloc_usable_size of a block's address + 1",
       "hardened_malloc test/unaligned_malloc_usable_size_small", US, 0)
static void run_us_freed(mz_t *h) { usable(h, 0, true); }
MISUSE(us_freed, "usable-size-freed", "malloc_usable_size of a freed block",
       "hardened_malloc test/invalid_malloc_usable_size_small_quarantine", US, 0)

static void run_us_wild(mz_t *h)
{
    mz_begin(h, 64);
    volatile size_t n = mz_alloc(h)->malloc_usable_size(mz_alloc(h)->ctx,
                                                        (void *)(uintptr_t)0x4141414141414140ull);
    (void)n;
    mz_end(h);
}
MISUSE(us_wild, "usable-size-wild", "malloc_usable_size of a wild pointer value",
       "hardened_malloc test/uninitialized_malloc_usable_size", US, 0)
