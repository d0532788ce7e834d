/* Frees of pointers the allocator never returned: the stack, alloca, a pointer close to or far
 * from a real block, an unaligned or inner pointer, a global, and fake chunks whose header
 * looks valid (the "house of spirit"). An allocator that takes one onto its free lists hands
 * that memory out later: an arbitrary-address primitive. */
#include <string.h>
#include <sys/mman.h>

#include "misuse/cases.h"

/* Frees p (foreign memory of len bytes at base), watching the memory around it. */
static void free_foreign(mz_t *h, void *base, size_t len, void *p, size_t probe)
{
    mz_foreign(h, base, len);
    mz_begin(h, probe);
    mz_free(h, p);
    mz_end(h);
}

static void run_if_stack(mz_t *h)
{
    _Alignas(64) char buf[256];
    memset(buf, 0, sizeof buf);
    free_foreign(h, buf, sizeof buf, buf + 64, 32);
}
MISUSE(if_stack, "invalid-free-stack", "free of a stack address",
       "mimalloc-bench bench/security/invalid_free_stack", 0, 0)

static void run_if_alloca(mz_t *h)
{
    char *buf = __builtin_alloca(200);   /* what alloca() is: the case is its block */
    memset(buf, 0, 200);
    free_foreign(h, buf, 200, buf + 16, 32);
}
MISUSE(if_alloca, "invalid-free-alloca", "free of an alloca block",
       "mimalloc-bench bench/security/invalid_free_alloca", 0, 0)

static void run_if_global(mz_t *h)
{
    static _Alignas(64) char buf[256];
    free_foreign(h, buf, sizeof buf, buf + 64, 32);
}
MISUSE(if_global, "invalid-free-global", "free of a static array", "new", 0, 0)

/* A pointer a little past a real block's start. */
static void inner(mz_t *h, size_t size, size_t off, size_t probe)
{
    char *p = mz_must(h, size);
    if (!p)
        return;
    mz_begin(h, probe);
    mz_free(h, p + off);
    mz_end(h);
    mz_live(h, p, size);
}

static void run_if_close(mz_t *h) { inner(h, 64, 16, 32); }
MISUSE(if_close, "invalid-free-close", "free of a pointer 16 bytes into a 64-byte block",
       "mimalloc-bench bench/security/invalid_free_close", 0, 0)
static void run_if_unaligned_small(mz_t *h) { inner(h, 32, 1, 32); }
MISUSE(if_unaligned_small, "invalid-free-unaligned-small", "free of a block's address + 1",
       "hardened_malloc test/unaligned_free_small", 0, 0)
static void run_if_unaligned_large(mz_t *h) { inner(h, 256 << 10, 1, 256 << 10); }
MISUSE(if_unaligned_large, "invalid-free-unaligned-large",
       "free of a 256 KiB block's address + 1", "hardened_malloc test/unaligned_free_large", 0, 0)
static void run_if_inner_large(mz_t *h) { inner(h, 256 << 10, 4096, 256 << 10); }
MISUSE(if_inner_large, "invalid-free-inner-large",
       "free of a pointer one page into a 256 KiB block", "new", 0, 0)
static void run_if_unaligned(mz_t *h) { inner(h, 100, 8, 32); }
MISUSE(if_unaligned, "invalid-free-unaligned", "free of a block's address + 8",
       "mimalloc-bench bench/security/invalid_free_unaligned", 0, 0)

/* Far from any heap: a page of our own mapping. */
static void run_if_far(mz_t *h)
{
    char *m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        mz_na(h, "mmap failed");
        return;
    }
    free_foreign(h, m, 1024, m + 512, 32);
}
MISUSE(if_far, "invalid-free-far", "free of an address in a mapping the allocator never saw",
       "mimalloc-bench bench/security/invalid_free_far", 0, 0)

/* A fake chunk: a glibc-style size word (0x31: 48 bytes, in use) before the pointer. */
static void fake_chunk(mz_t *h, char *mem, size_t len)
{
    memset(mem, 0, len);
    size_t hdr[2] = { 0, 0x31 };
    memcpy(mem + 48, hdr, sizeof hdr);
    size_t next[2] = { 0, 0x21 };       /* the next chunk's size, as free checks it */
    memcpy(mem + 48 + 48, next, sizeof next);
    free_foreign(h, mem, len, mem + 64, 40);
}

static void run_if_fake_stack(mz_t *h)
{
    _Alignas(64) char buf[256];
    fake_chunk(h, buf, sizeof buf);
}
MISUSE(if_fake_stack, "invalid-free-fake-chunk-stack",
       "free of a stack buffer dressed as a 48-byte chunk (house of spirit)",
       "new", 0, 0)

static void run_if_fake_mmap(mz_t *h)
{
    char *m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        mz_na(h, "mmap failed");
        return;
    }
    fake_chunk(h, m, 256);
}
MISUSE(if_fake_mmap, "invalid-free-fake-chunk-far",
       "free of a fake 48-byte chunk in a foreign mapping", "new", 0, 0)

/* A fake mmapped chunk: glibc's IS_MMAPPED bit makes free munmap what the header says. */
static void run_if_fake_mmapped(mz_t *h)
{
    char *m = mmap(NULL, 3 << 12, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        mz_na(h, "mmap failed");
        return;
    }
    size_t hdr[2] = { 0, (2u << 12) | 2 };
    memcpy(m + 4096 - 16, hdr, sizeof hdr);
    free_foreign(h, m, 1024, m + 4096, 32);
}
MISUSE(if_fake_mmapped, "invalid-free-fake-mmapped",
       "free of a foreign page dressed as a mmapped chunk", "new", 0, 0)

static void run_if_uninit(mz_t *h)
{
    mz_begin(h, 32);
    mz_free(h, (void *)(uintptr_t)0x4141414141414140ull);
    mz_end(h);
}
MISUSE(if_uninit, "invalid-free-wild", "free of a wild (uninitialised) pointer value",
       "hardened_malloc test/uninitialized_free", 0, 0)

/* An aligned block's inner pointer: the offset an aligned allocator may store before it. */
static void run_if_aligned_inner(mz_t *h)
{
    const alloc_t *a = mz_alloc(h);
    char *p = a->aligned_alloc(a->ctx, 256, 512);
    if (!p) {
        mz_na(h, "aligned_alloc(256, 512) failed");
        return;
    }
    mz_begin(h, 512);
    mz_free(h, p + 64);
    mz_end(h);
    mz_live(h, p, 512);
}
MISUSE(if_aligned_inner, "invalid-free-aligned-inner",
       "free of a pointer 64 bytes into a 256-aligned block", "new", AF_BIT(AF_ALIGNED_ALLOC), 0)

static void run_if_memalign_inner(mz_t *h)
{
    const alloc_t *a = mz_alloc(h);
    char *p = a->memalign(a->ctx, 4096, 100);
    if (!p) {
        mz_na(h, "memalign(4096, 100) failed");
        return;
    }
    mz_begin(h, 100);
    mz_free(h, p + 16);
    mz_end(h);
    mz_live(h, p, 100);
}
MISUSE(if_memalign_inner, "invalid-free-memalign-inner",
       "free of a pointer 16 bytes into a page-aligned memalign block", "new",
       AF_BIT(AF_MEMALIGN), 0)
