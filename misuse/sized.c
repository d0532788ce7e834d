/* The C23 sized frees given what they must not be: a freed block, a foreign pointer, the wrong
 * size (smaller, larger, another size class, a mmapped block's wrong size) or the wrong
 * alignment. An allocator that trusts the size files the block under the wrong class: the
 * next allocation of that class overlaps its neighbour. */
#include <string.h>

#include "misuse/cases.h"

#define FS AF_BIT(AF_FREE_SIZED)
#define FAS (AF_BIT(AF_FREE_ALIGNED_SIZED) | AF_BIT(AF_ALIGNED_ALLOC))

static void sized_free(mz_t *h, void *p, size_t size)
{
    mz_alloc(h)->free_sized(mz_alloc(h)->ctx, p, size);
}

static void aligned_sized_free(mz_t *h, void *p, size_t align, size_t size)
{
    mz_alloc(h)->free_aligned_sized(mz_alloc(h)->ctx, p, align, size);
}

static void run_fs_double(mz_t *h)
{
    void *p = mz_must(h, 32);
    if (!p)
        return;
    mz_begin(h, 32);
    sized_free(h, p, 32);
    sized_free(h, p, 32);
    mz_end(h);
}
MISUSE(fs_double, "free-sized-double", "free_sized of a block already freed", "new", FS, 0)

static void run_fs_stack(mz_t *h)
{
    _Alignas(64) char buf[256];
    memset(buf, 0, sizeof buf);
    mz_foreign(h, buf, sizeof buf);
    mz_begin(h, 32);
    sized_free(h, buf + 64, 32);
    mz_end(h);
}
MISUSE(fs_stack, "free-sized-stack", "free_sized of a stack address", "new", FS, 0)

/* Frees a `size` block as `told` bytes; a neighbour of the same size stays live. */
static void wrong_size(mz_t *h, size_t size, size_t told)
{
    void *p = mz_must(h, size), *q = mz_must(h, size);
    if (!p || !q)
        return;
    mz_live(h, q, size);
    mz_begin(h, told > size ? told : size);
    sized_free(h, p, told);
    mz_end(h);
}

#define WS_CASE(n, size, told, id, what) \
    static void run_##n(mz_t *h) { wrong_size(h, size, told); } \
    MISUSE(n, id, what, "new", FS, 0)
WS_CASE(fs_smaller, 64, 16, "free-sized-smaller", "free_sized(p, 16) of a 64-byte block")
WS_CASE(fs_larger, 32, 512, "free-sized-larger", "free_sized(p, 512) of a 32-byte block")
WS_CASE(fs_class, 48, 64, "free-sized-next-class", "free_sized(p, 64) of a 48-byte block")
WS_CASE(fs_zero, 100, 0, "free-sized-zero", "free_sized(p, 0) of a 100-byte block")
WS_CASE(fs_mmap, 256 << 10, 100, "free-sized-mmap-as-small",
        "free_sized(p, 100) of a 256 KiB block")
WS_CASE(fs_small_as_mmap, 100, 256 << 10, "free-sized-small-as-mmap",
        "free_sized(p, 256 KiB) of a 100-byte block")

static void run_fas_double(mz_t *h)
{
    const alloc_t *a = mz_alloc(h);
    void *p = a->aligned_alloc(a->ctx, 64, 128);
    if (!p) {
        mz_na(h, "aligned_alloc(64, 128) failed");
        return;
    }
    mz_begin(h, 128);
    aligned_sized_free(h, p, 64, 128);
    aligned_sized_free(h, p, 64, 128);
    mz_end(h);
}
MISUSE(fas_double, "free-aligned-sized-double", "free_aligned_sized of a block already freed",
       "new", FAS, 0)

static void wrong_align(mz_t *h, size_t align, size_t told_align, size_t told_size)
{
    const alloc_t *a = mz_alloc(h);
    void *p = a->aligned_alloc(a->ctx, align, 256);
    void *q = a->aligned_alloc(a->ctx, align, 256);
    if (!p || !q) {
        mz_na(h, "aligned_alloc(%zu, 256) failed", align);
        return;
    }
    mz_live(h, q, 256);
    mz_begin(h, 256);
    aligned_sized_free(h, p, told_align, told_size);
    mz_end(h);
}

static void run_fas_align(mz_t *h) { wrong_align(h, 4096, 64, 256); }
MISUSE(fas_align, "free-aligned-sized-wrong-align",
       "free_aligned_sized(p, 64, 256) of a 4096-aligned block", "new", FAS, 0)
static void run_fas_bigger_align(mz_t *h) { wrong_align(h, 64, 4096, 256); }
MISUSE(fas_bigger_align, "free-aligned-sized-larger-align",
       "free_aligned_sized(p, 4096, 256) of a 64-aligned block", "new", FAS, 0)
static void run_fas_size(mz_t *h) { wrong_align(h, 64, 64, 16); }
MISUSE(fas_size, "free-aligned-sized-wrong-size",
       "free_aligned_sized(p, 64, 16) of a 256-byte block", "new", FAS, 0)

static void run_fas_malloc(mz_t *h)
{
    void *p = mz_must(h, 24);
    if (!p)
        return;
    mz_begin(h, 24);
    aligned_sized_free(h, p, 4096, 24);
    mz_end(h);
}
MISUSE(fas_malloc, "free-aligned-sized-malloc",
       "free_aligned_sized(p, 4096, 24) of a malloc block", "new", FAS, 0)
