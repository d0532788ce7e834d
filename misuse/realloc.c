/* realloc and reallocarray of what they must not get: a freed block (a double free that also
 * copies), a foreign or inner pointer, a wild value, and a block whose header an overflow or
 * underflow has just overwritten. The block realloc returns joins the probe: if it is the
 * freed block handed out again, the harness sees the duplicate. */
#include <string.h>

#include "misuse/cases.h"

#define RE AF_BIT(AF_REALLOC)
#define RA AF_BIT(AF_REALLOCARRAY)

static void *re(mz_t *h, void *p, size_t n)
{
    return mz_alloc(h)->realloc(mz_alloc(h)->ctx, p, n);
}

static void *ra(mz_t *h, void *p, size_t n)
{
    return mz_alloc(h)->reallocarray(mz_alloc(h)->ctx, p, n, 1);
}

/* Frees a size block, then resizes it to `to` bytes with realloc (or reallocarray). */
static void resize_freed(mz_t *h, size_t size, size_t to, bool array)
{
    void *p = mz_must(h, size);
    if (!p)
        return;
    mz_begin(h, to);
    mz_free(h, p);
    void *r = array ? ra(h, p, to) : re(h, p, to);
    mz_got(h, r, to);
    mz_end(h);
}

#define RF_CASE(n, size, to, array, id, what, cite, needs) \
    static void run_##n(mz_t *h) { resize_freed(h, size, to, array); } \
    MISUSE(n, id, what, cite, needs, 0)
RF_CASE(rf_small, 32, 64, false, "realloc-freed-small", "realloc of a freed 32-byte block",
        "new", RE)
RF_CASE(rf_shrink, 64, 16, false, "realloc-freed-shrink", "realloc to 16 of a freed 64-byte block",
        "new", RE)
RF_CASE(rf_same, 48, 48, false, "realloc-freed-same", "realloc to the same size of a freed block",
        "new", RE)
RF_CASE(rf_large, 4096, 8192, false, "realloc-freed-large", "realloc of a freed 4 KiB block",
        "new", RE)
RF_CASE(rf_mmap, 256 << 10, 512 << 10, false, "realloc-freed-mmap",
        "realloc of a freed 256 KiB block", "new", RE)
RF_CASE(rarr_small, 32, 64, true, "reallocarray-freed-small",
        "reallocarray of a freed 32-byte block", "new", RA)
RF_CASE(rarr_large, 4096, 8192, true, "reallocarray-freed-large",
        "reallocarray of a freed 4 KiB block", "new", RA)

/* realloc(p, 0) frees p on some allocators: the program's later free is then a double free. */
static void run_r0_free(mz_t *h)
{
    void *p = mz_must(h, 32);
    if (!p)
        return;
    mz_begin(h, 32);
    void *r = re(h, p, 0);
    if (r)
        mz_free(h, r);
    mz_free(h, p);
    mz_end(h);
}
MISUSE(r0_free, "realloc-zero-then-free",
       "free after realloc(p, 0), which frees p where it returns NULL", "new", RE, 0)

static void resize_foreign(mz_t *h, bool array)
{
    _Alignas(64) char buf[256];
    memset(buf, 0, sizeof buf);
    mz_foreign(h, buf, sizeof buf);
    mz_begin(h, 64);
    void *r = array ? ra(h, buf + 64, 64) : re(h, buf + 64, 64);
    mz_got(h, r, 64);
    mz_end(h);
}

static void run_rs_stack(mz_t *h) { resize_foreign(h, false); }
MISUSE(rs_stack, "realloc-stack", "realloc of a stack address", "new", RE, 0)
static void run_ras_stack(mz_t *h) { resize_foreign(h, true); }
MISUSE(ras_stack, "reallocarray-stack", "reallocarray of a stack address", "new", RA, 0)

static void run_r_wild(mz_t *h)
{
    mz_begin(h, 64);
    void *r = re(h, (void *)(uintptr_t)0x4141414141414140ull, 64);
    mz_got(h, r, 64);
    mz_end(h);
}
MISUSE(r_wild, "realloc-wild", "realloc of a wild (uninitialised) pointer value",
       "hardened_malloc test/uninitialized_realloc", RE, 0)

static void run_r_inner(mz_t *h)
{
    char *p = mz_must(h, 64);
    if (!p)
        return;
    mz_begin(h, 128);
    void *r = re(h, p + 16, 128);
    mz_got(h, r, 128);
    mz_end(h);
    mz_live(h, p, 64);
}
MISUSE(r_inner, "realloc-inner", "realloc of a pointer 16 bytes into a block", "new", RE, 0)

/* Overwrites the 8 bytes after (or before) a size block, then grows it with realloc: the copy
 * and the header read trust what the overflow wrote. */
static void overflow_realloc(mz_t *h, size_t size, bool under, size_t to)
{
    char *p = mz_must(h, size);
    char *q = mz_must(h, size);
    if (!p || !q)
        return;
    mz_begin(h, to);
    memset(under ? p - 8 : p + size, 0x41, 8);
    void *r = re(h, p, to);
    mz_got(h, r, to);
    mz_end(h);
    mz_live(h, q, size);
}

#define OR_CASE(n, size, under, to, id, what) \
    static void run_##n(mz_t *h) { overflow_realloc(h, size, under, to); } \
    MISUSE(n, id, what, "new", RE, 0)
OR_CASE(or_small, 24, false, 200, "overflow-then-realloc-small",
        "8-byte overflow of a 24-byte block, then realloc to 200")
OR_CASE(or_large, 4096, false, 16384, "overflow-then-realloc-large",
        "8-byte overflow of a 4 KiB block, then realloc to 16 KiB")
OR_CASE(ur_small, 24, true, 200, "underflow-then-realloc-small",
        "8-byte underflow of a 24-byte block, then realloc to 200")
OR_CASE(ur_mmap, 256 << 10, true, 512 << 10, "underflow-then-realloc-mmap",
        "8-byte underflow of a 256 KiB block, then realloc to 512 KiB")
