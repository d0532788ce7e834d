/* Use after free and stale data: writes through a dangling pointer (with and without the block
 * handed out again, and a forged free-list link), reads of freed memory, secrets that a later
 * malloc, calloc or realloc shows, zero-size blocks, an executable heap and an impossible size.
 * The secret-bearing cases ask whether freed data reaches the next owner of the memory. */
#include <stdint.h>
#include <string.h>

#include "misuse/cases.h"

#define SMALL 32
#define LARGE (128 << 10)

/* Frees a size block, then writes over it (keeping the first 16 bytes when `keep_link`). */
static void write_after_free(mz_t *h, size_t size, bool reuse, bool keep_link)
{
    char *p = mz_must(h, size);
    if (!p)
        return;
    mz_begin(h, size);
    mz_free(h, p);
    void *q = reuse ? mz_malloc(h, size) : NULL;
    if (keep_link)
        mz_secret(h, p + 16, size - 16);
    else
        memset(p, 0x41, size);
    mz_got(h, q, size);
    mz_end(h);
}

#define WAF_CASE(n, size, reuse, id, what, cite) \
    static void run_##n(mz_t *h) { write_after_free(h, size, reuse, false); } \
    MISUSE(n, id, what, cite, 0, 0)
WAF_CASE(waf_small, SMALL, false, "write-after-free-small", "writes over a freed 32-byte block",
         "hardened_malloc test/write_after_free_small")
WAF_CASE(waf_large, LARGE, false, "write-after-free-large",
         "writes over a freed 128 KiB block", "hardened_malloc test/write_after_free_large")
WAF_CASE(waf_small_reuse, SMALL, true, "write-after-free-small-reuse",
         "writes through a dangling pointer after a 32-byte block was handed out again",
         "hardened_malloc test/write_after_free_small_reuse")
WAF_CASE(waf_large_reuse, LARGE, true, "write-after-free-large-reuse",
         "writes through a dangling pointer after a 128 KiB block was handed out again",
         "hardened_malloc test/write_after_free_large_reuse")
WAF_CASE(waf_mb, 64, false, "write-after-free", "writes over a freed 64-byte block",
         "mimalloc-bench bench/security/write_after_free")
WAF_CASE(waf_mb_reuse, 64, true, "write-after-free-reuse",
         "writes through a dangling pointer after a 64-byte block was handed out again",
         "mimalloc-bench bench/security/write_after_free_reuse")

/* A write after free that leaves the free-list link alone and a calloc afterwards: is the block
 * calloc hands out still zero? */
static void run_waf_calloc(mz_t *h) { write_after_free(h, 256, false, true); }
MISUSE(waf_calloc, "write-after-free-then-calloc",
       "a freed 256-byte block written (past its first 16 bytes), then calloc", "new",
       AF_BIT(AF_CALLOC), 0)
static void run_waf_calloc_large(mz_t *h) { write_after_free(h, LARGE, false, true); }
MISUSE(waf_calloc_large, "write-after-free-then-calloc-large",
       "a freed 128 KiB block written (past its first 16 bytes), then calloc", "new",
       AF_BIT(AF_CALLOC), 0)

/* Forges the freed block's first word to point at a foreign buffer (free-list poisoning). */
static void poison(mz_t *h, size_t size)
{
    static _Alignas(64) char target[1024];
    void **p = mz_must(h, size);
    void *q = mz_must(h, size);
    if (!p || !q)
        return;
    mz_foreign(h, target, sizeof target);
    mz_begin(h, size);
    mz_free(h, q);
    mz_free(h, p);
    p[0] = target + 64;
    mz_end(h);
}

static void run_poison_small(mz_t *h) { poison(h, SMALL); }
MISUSE(poison_small, "write-after-free-link-small",
       "a freed 32-byte block's first word forged to a foreign address", "new", 0, 0)
static void run_poison_large(mz_t *h) { poison(h, 1024); }
MISUSE(poison_large, "write-after-free-link-large",
       "a freed 1 KiB block's first word forged to a foreign address", "new", 0, 0)

/* Reads a freed block through its dangling pointer. */
static void read_after_free(mz_t *h, size_t size)
{
    char *p = mz_must(h, size);
    if (!p)
        return;
    mz_secret(h, p, size);
    mz_begin(h, size);
    mz_free(h, p);
    mz_read_freed(h, p, size);
    mz_end(h);
}

static void run_raf_small(mz_t *h) { read_after_free(h, SMALL); }
MISUSE(raf_small, "read-after-free-small", "reads a freed 32-byte block",
       "hardened_malloc test/read_after_free_small", 0, 0)
static void run_raf_large(mz_t *h) { read_after_free(h, LARGE); }
MISUSE(raf_large, "read-after-free-large", "reads a freed 128 KiB block",
       "hardened_malloc test/read_after_free_large", 0, 0)
static void run_zaf(mz_t *h) { read_after_free(h, 64); }
MISUSE(zaf, "zero-after-free", "reads a freed 64-byte block: was it cleared?",
       "mimalloc-bench bench/security/zero_after_free", 0, 0)

/* Secrets in `count` freed blocks of size: does the next owner of the memory see them? */
static void stale(mz_t *h, size_t size, int count)
{
    void *p[8];
    for (int i = 0; i < count; i++)
        if (!(p[i] = mz_must(h, size)))
            return;
    mz_begin(h, size);
    for (int i = 0; i < count; i++) {
        mz_secret(h, p[i], size);
        mz_free(h, p[i]);
    }
    mz_end(h);
}

static void run_zom(mz_t *h) { stale(h, 64, 1); }
MISUSE(zom, "zero-on-malloc", "a secret in a freed 64-byte block, then malloc of that size",
       "mimalloc-bench bench/security/zero_on_malloc", 0, 0)
static void run_zom_many(mz_t *h) { stale(h, 64, 8); }
MISUSE(zom_many, "zero-on-malloc-many", "secrets in 8 freed 64-byte blocks, then malloc",
       "HardsHeap module uninitialized-read", 0, 0)
static void run_zom_large(mz_t *h) { stale(h, 64 << 10, 2); }
MISUSE(zom_large, "zero-on-malloc-large", "secrets in freed 64 KiB blocks, then malloc",
       "new", 0, 0)
static void run_malloc_reuse(mz_t *h) { stale(h, SMALL, 1); }
MISUSE(malloc_reuse, "malloc-reuse", "a secret in a freed 32-byte block, then malloc",
       "mimalloc-bench bench/security/malloc_reuse", 0, 0)

/* realloc moves a block and frees the old one: does its secret reach the next malloc? */
static void run_realloc_reuse(mz_t *h)
{
    char *p = mz_must(h, SMALL);
    if (!p)
        return;
    mz_secret(h, p, SMALL);
    mz_begin(h, SMALL);
    void *q = mz_alloc(h)->realloc(mz_alloc(h)->ctx, p, 4096);
    mz_end(h);
    if (q)
        mz_live(h, q, 4096);
}
MISUSE(realloc_reuse, "realloc-reuse", "a secret in a block realloc moved away, then malloc",
       "mimalloc-bench bench/security/realloc_reuse", AF_BIT(AF_REALLOC), 0)

/* realloc grows a block into memory that held a freed secret: the new tail is not owed
 * zeroes, but should not be someone else's data. */
static void run_realloc_tail(mz_t *h)
{
    char *s = mz_must(h, 4096), *p = mz_must(h, 64);
    if (!s || !p)
        return;
    mz_secret(h, s, 4096);
    mz_begin(h, 4096);
    mz_free(h, s);
    void *q = mz_alloc(h)->realloc(mz_alloc(h)->ctx, p, 4096);
    mz_got(h, q, 4096);
    mz_end(h);
}
MISUSE(realloc_tail, "uninitialized-read-realloc",
       "realloc grows a block where a freed secret was: is it in the new tail?",
       "HardsHeap module uninitialized-read", AF_BIT(AF_REALLOC), 0)

static void zero_size(mz_t *h, bool write)
{
    volatile char *p = mz_malloc(h, 0);
    if (!p) {
        mz_na(h, "malloc(0) returns NULL");
        return;
    }
    mz_begin(h, 16);
    for (int i = 0; i < 8; i++) {
        if (write)
            p[i] = 'A';
        else
            (void)p[i];
    }
    mz_free(h, (void *)p);
    mz_end(h);
}

static void run_read_zero(mz_t *h) { zero_size(h, false); }
MISUSE(read_zero, "read-zero-size", "reads 8 bytes of a malloc(0) block",
       "hardened_malloc test/read_zero_size", 0, 0)
static void run_write_zero(mz_t *h) { zero_size(h, true); }
MISUSE(write_zero, "write-zero-size", "writes 8 bytes into a malloc(0) block",
       "mimalloc-bench bench/security/write_zero_size", 0, 0)

/* Code written into a heap block and called: it runs only if the heap is executable. */
static void run_exec_heap(mz_t *h)
{
    unsigned char *p = mz_must(h, 64);
    if (!p)
        return;
    p[0] = 0xc3;   /* x86-64 ret */
    mz_begin(h, 64);
    void (*fn)(void);
    memcpy(&fn, &p, sizeof fn);
    fn();
    mz_end(h);
    mz_live(h, p, 64);
}
MISUSE(exec_heap, "executable-heap", "calls code written into a heap block",
       "mimalloc-bench bench/security/executable_heap", 0, 0)

/* A size no address space holds: a block for it would overlap everything. */
static void run_huge(mz_t *h)
{
    void *q = mz_must(h, 64);
    if (!q)
        return;
    mz_live(h, q, 64);
    mz_begin(h, 64);
    size_t n = (size_t)PTRDIFF_MAX - 4096;
    void *p = mz_malloc(h, n);
    mz_got(h, p, n);
    mz_end(h);
}
MISUSE(huge, "impossibly-large-malloc", "malloc(PTRDIFF_MAX - 4096)",
       "hardened_malloc test/impossibly_large_malloc", 0, 0)
