/* The reference allocator's API checklist: each function's edge cases, one named check each,
 * sweeps as tables. Calls the refalloc_ names linked in from refalloc_lib. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "src/refalloc/refalloc.h"
#include "tests/tap.h"

#define PAGE 4096u

static const size_t huge[] = {
    SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 4096, SIZE_MAX - (1u << 14) + 1,
    (size_t)PTRDIFF_MAX + 1, (size_t)PTRDIFF_MAX, (size_t)1 << 47,
};
static const size_t aligns[] = { 1, 2, 8, 16, 32, 64, 256, 4096, 8192, 1u << 16, 1u << 20, 1u << 26 };
static const size_t sizes[] = { 0, 1, 8, 15, 16, 17, 100, 1000, 4095, 4096, 65536, 131064,
                                131065, 200000, 1u << 22 };

static bool aligned(const void *p, size_t a)
{
    return (uintptr_t)p % a == 0;
}

/* Writes the whole usable size and reads it back: catches usable sizes that overlap. */
static bool fill_usable(void *p, int c)
{
    size_t n = refalloc_malloc_usable_size(p);
    memset(p, c, n);
    for (size_t i = 0; i < n; i += 61)
        if (((unsigned char *)p)[i] != (unsigned char)c)
            return false;
    return true;
}

static void test_malloc(void)
{
    void *a = refalloc_malloc(0), *b = refalloc_malloc(0);
    CHECK(a && b && a != b, "malloc(0) returns unique pointers");
    refalloc_free(a);
    refalloc_free(b);
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        void *p = refalloc_malloc(sizes[i]);
        size_t u = refalloc_malloc_usable_size(p);
        CHECK(p && aligned(p, 16) && u >= sizes[i] && fill_usable(p, 0x5c),
              "malloc(%zu): 16-aligned, usable %zu >= size, all usable", sizes[i], u);
        refalloc_free_sized(p, sizes[i]);
    }
    CHECK(refalloc_malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) == 0");
    errno = 0;
    refalloc_free(NULL);
    refalloc_free_sized(NULL, 10);
    refalloc_free_aligned_sized(NULL, 64, 10);
    CHECK(errno == 0, "free(NULL), free_sized(NULL), free_aligned_sized(NULL) are no-ops");
}

static void test_huge(void)
{
    for (size_t i = 0; i < sizeof huge / sizeof *huge; i++) {
        size_t n = huge[i];
        int bad = 0;
        void *p, *q = refalloc_malloc(10), *mp = &bad;
#define EXPECT_ENOMEM(call) (errno = 0, p = (call), bad += p != NULL || errno != ENOMEM)
        EXPECT_ENOMEM(refalloc_malloc(n));
        EXPECT_ENOMEM(refalloc_calloc(1, n));
        EXPECT_ENOMEM(refalloc_calloc(n, 1));
        EXPECT_ENOMEM(refalloc_realloc(NULL, n));
        EXPECT_ENOMEM(refalloc_realloc(q, n));
        EXPECT_ENOMEM(refalloc_reallocarray(q, 1, n));
        EXPECT_ENOMEM(refalloc_valloc(n));
        EXPECT_ENOMEM(refalloc_pvalloc(n));
        for (size_t j = 0; j < sizeof aligns / sizeof *aligns; j++) {
            EXPECT_ENOMEM(refalloc_aligned_alloc(aligns[j], n));
            EXPECT_ENOMEM(refalloc_memalign(aligns[j], n));
            errno = 1234;
            int r = refalloc_posix_memalign(&mp, aligns[j] < 8 ? 8 : aligns[j], n);
            bad += r != ENOMEM || errno != 1234 || mp != &bad;
        }
        CHECK(bad == 0 && refalloc_malloc_usable_size(q) >= 10,
              "size %#zx fails with ENOMEM in every function and alignment", n);
        refalloc_free(q);
    }
    void *p = refalloc_calloc(SIZE_MAX / 2, 3);
    CHECK(!p && errno == ENOMEM, "calloc nmemb*size overflow: NULL + ENOMEM");
    void *q = refalloc_malloc(100);
    memset(q, 7, 100);
    errno = 0;
    p = refalloc_reallocarray(q, SIZE_MAX / 2, 3);
    CHECK(!p && errno == ENOMEM && ((char *)q)[99] == 7, "reallocarray overflow keeps the block");
    refalloc_free(q);
}

static void test_aligned(void)
{
    for (size_t j = 0; j < sizeof aligns / sizeof *aligns; j++) {
        int bad = 0;
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            size_t a = aligns[j], n = sizes[i];
            void *p = refalloc_aligned_alloc(a, n), *q = refalloc_memalign(a, n), *r = NULL;
            int e = refalloc_posix_memalign(&r, a < 8 ? 8 : a, n);
            bad += !p || !q || e || !aligned(p, a) || !aligned(q, a) || !aligned(r, a);
            bad += refalloc_malloc_usable_size(p) < n || !fill_usable(p, 1) || !fill_usable(q, 2);
            refalloc_free_aligned_sized(p, a, n);
            refalloc_free_aligned_sized(q, a, n);
            refalloc_free(r);
        }
        CHECK(bad == 0, "alignment %zu: aligned_alloc/memalign/posix_memalign over all sizes",
              aligns[j]);
    }
    size_t bigs[] = { (size_t)1 << 30, (size_t)1 << 40 };
    for (size_t i = 0; i < 2; i++) {
        errno = 0;
        void *p = refalloc_aligned_alloc(bigs[i], 64);
        CHECK(p ? aligned(p, bigs[i]) : errno == ENOMEM,
              "aligned_alloc(%#zx, 64): aligned, or NULL + ENOMEM", bigs[i]);
        refalloc_free(p);
    }
    errno = 0;
    CHECK(!refalloc_aligned_alloc((size_t)1 << 62, 64) && errno == ENOMEM,
          "aligned_alloc(2^62, 64): NULL + ENOMEM");
}

static void test_bad_alignment(void)
{
    static const size_t bad[] = { 0, 3, 24, 48, 100, SIZE_MAX };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        errno = 0;
        void *p = refalloc_aligned_alloc(bad[i], 64);
        bool ok1 = !p && errno == EINVAL;
        errno = 0;
        p = refalloc_memalign(bad[i], 64);
        CHECK(ok1 && !p && errno == EINVAL, "aligned_alloc/memalign(%zu): NULL + EINVAL", bad[i]);
    }
    static const size_t pm_bad[] = { 0, 1, 2, 4, 12, 24, 3 };
    for (size_t i = 0; i < sizeof pm_bad / sizeof *pm_bad; i++) {
        void *p = &errno;
        errno = 77;
        int r = refalloc_posix_memalign(&p, pm_bad[i], 64);
        CHECK(r == EINVAL && p == &errno && errno == 77,
              "posix_memalign(%zu): EINVAL, *memptr and errno untouched", pm_bad[i]);
    }
}

static void test_page(void)
{
    void *v = refalloc_valloc(10), *z = refalloc_pvalloc(0), *w = refalloc_pvalloc(5000);
    CHECK(v && aligned(v, PAGE), "valloc is page aligned");
    CHECK(z && aligned(z, PAGE) && refalloc_malloc_usable_size(z) >= PAGE && fill_usable(z, 3),
          "pvalloc(0) gives one whole page");
    CHECK(w && aligned(w, PAGE) && refalloc_malloc_usable_size(w) >= 2 * PAGE,
          "pvalloc(5000) rounds up to two pages");
    refalloc_free(v);
    refalloc_free(z);
    refalloc_free(w);
}

static bool pattern_ok(const unsigned char *p, size_t n, unsigned char seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed + i * 7))
            return false;
    return true;
}

static void pattern(unsigned char *p, size_t n, unsigned char seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed + i * 7);
}

static void test_realloc(void)
{
    static const size_t steps[] = { 1, 24, 200, 5000, 131064, 300000, 2000000, 150000, 100, 8 };
    unsigned char *p = refalloc_realloc(NULL, 10);
    CHECK(p != NULL, "realloc(NULL, 10) acts as malloc");
    pattern(p, 10, 9);
    size_t have = 10;
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        unsigned char *q = refalloc_realloc(p, steps[i]);
        size_t keep = have < steps[i] ? have : steps[i];
        CHECK(q && aligned(q, 16) && pattern_ok(q, keep, 9) &&
                  refalloc_malloc_usable_size(q) >= steps[i],
              "realloc %zu -> %zu keeps min(old, new) bytes", have, steps[i]);
        pattern(q, steps[i], 9);
        p = q;
        have = steps[i];
    }
    errno = 0;
    CHECK(!refalloc_realloc(p, (size_t)1 << 46) && errno == ENOMEM && pattern_ok(p, have, 9),
          "a failed realloc returns NULL + ENOMEM and keeps the block");
    errno = 55;
    CHECK(refalloc_realloc(p, 0) == NULL && errno == EINVAL,
          "realloc(p, 0) frees p and returns NULL with EINVAL (POSIX.1-2024)");
    void *c = refalloc_malloc(300);
    CHECK(refalloc_realloc(c, 290) == c, "realloc within the size class stays in place");
    refalloc_free_sized(c, 290);
}

/* calloc after blocks of the dirtied size were written and freed: the same size reuses a
 * slot or a cached mapping as it is; other sizes reuse a cached mapping shrunk, grown, or
 * with a few pages of slack left from its last use (500000 then 460000). */
static void test_calloc(void)
{
    static const size_t n[][2] = { { 1, 1 }, { 48, 48 }, { 1000, 1000 }, { 70000, 70000 },
                                   { 131064, 131064 }, { 500000, 500000 }, { 600000, 300000 },
                                   { 500000, 460000 }, { 200000, 900000 } };
    for (size_t i = 0; i < sizeof n / sizeof *n; i++) {
        size_t dirty = n[i][0], ask = n[i][1];
        for (int k = 0; k < 3; k++) {
            void *d = refalloc_malloc(dirty);
            memset(d, 0xff, dirty);
            refalloc_free(d);
        }
        unsigned char *p = refalloc_calloc(ask, 1);
        size_t nz = 0;
        for (size_t j = 0; p && j < ask; j++)
            nz += p[j] != 0;
        CHECK(p && nz == 0, "calloc(%zu, 1) is zero after blocks of %zu were dirtied", ask,
              dirty);
        refalloc_free_sized(p, ask);
    }
}

/* A large block whose mapping cannot grow in place (another mapping sits right after it) is
 * moved by realloc: its bytes come along, and the moved block is a valid block. */
static void test_realloc_move(void)
{
    enum { N = 300000, M = 2000000 };
    unsigned char *p = refalloc_malloc(N);
    size_t len = refalloc_malloc_usable_size(p);
    void *wall = mmap(p + len, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS
                      | MAP_FIXED_NOREPLACE, -1, 0);
    bool walled = wall == p + len || (wall == MAP_FAILED && errno == EEXIST);
    pattern(p, N, 3);
    unsigned char *q = refalloc_realloc(p, M);
    CHECK(walled && q && q != p && pattern_ok(q, N, 3) && refalloc_malloc_usable_size(q) >= M
              && fill_usable(q, 0x11),
          "realloc %d -> %d with no room after the mapping moves the block with its bytes", N, M);
    unsigned char *r = refalloc_realloc(q, N / 2);
    CHECK(r && r[0] == 0x11 && r[N / 2 - 1] == 0x11, "the moved block reallocs again");
    refalloc_free_sized(r, N / 2);
    if (wall != MAP_FAILED)
        munmap(wall, PAGE);
    /* An over-aligned block keeps the slack of its mapping: it grows into it, shrinks,
     * moves, and frees like any other. */
    static const size_t al[] = { 1u << 17, 1u << 20, 1u << 22 };
    for (size_t i = 0; i < sizeof al / sizeof *al; i++) {
        unsigned char *a = refalloc_aligned_alloc(al[i], N);
        pattern(a, N, 5);
        unsigned char *b = refalloc_realloc(a, M), *c = b ? refalloc_realloc(b, N / 3) : NULL;
        CHECK(a && aligned(a, al[i]) && b && c && pattern_ok(c, N / 3, 5)
                  && refalloc_malloc_usable_size(c) >= N / 3 && fill_usable(c, 0x22),
              "aligned_alloc(%zu, %d) reallocs to %d and back to %d with its bytes", al[i], N,
              M, N / 3);
        refalloc_free_sized(c, N / 3);
    }
}

/* An over-aligned large block's mapping goes to the cache when freed, and a later request of
 * the same shape gets it back: its old bytes are still there (a fresh mapping reads zero),
 * and it is aligned and whole. A cached mapping too small to hold an aligned block is not
 * taken for one. */
static void test_aligned_reuse(void)
{
    static const size_t al[] = { 1u << 13, 1u << 17 };
    enum { N = 300000 };
    for (size_t i = 0; i < sizeof al / sizeof *al; i++) {
        unsigned char *a = refalloc_aligned_alloc(al[i], N);
        pattern(a, N, 7);
        refalloc_free(a);
        unsigned char *b = refalloc_aligned_alloc(al[i], N);
        CHECK(b && aligned(b, al[i]) && pattern_ok(b + N / 2, N / 2, (unsigned char)(7 + N / 2 * 7))
                  && refalloc_malloc_usable_size(b) >= N && fill_usable(b, 0x33),
              "aligned_alloc(%zu, %d) reuses the cached mapping of a freed one", al[i], N);
        unsigned char *c = refalloc_memalign(al[i], 4 * N);
        CHECK(c && aligned(c, al[i]) && refalloc_malloc_usable_size(c) >= 4 * N
                  && fill_usable(c, 0x44),
              "memalign(%zu, %d) does not squeeze into a smaller cached mapping", al[i], 4 * N);
        refalloc_free(b);
        refalloc_free(c);
    }
}

/* A slab that empties becomes its class's spare with its pages kept (within a budget for all
 * classes): 200 blocks of 4000 bytes written and freed, then 200 more, and those that come
 * back with the old bytes are the ones from the thread cache and the partly used slab (45
 * when this was written) plus every slot of the spare (31 more). A purged spare reads zero.
 * Runs first, while the budget is unused. */
static void test_spare_keeps_pages(void)
{
    enum { N = 200, SZ = 4000 };
    static unsigned char *v[N];
    for (int i = 0; i < N; i++) {
        v[i] = refalloc_malloc(SZ);
        memset(v[i], 0xab, SZ);
    }
    for (int i = 0; i < N; i++)
        refalloc_free(v[i]);
    int old = 0;
    for (int i = 0; i < N; i++) {
        v[i] = refalloc_malloc(SZ);
        old += v[i] && v[i][SZ / 2] == 0xab;
    }
    CHECK(old >= 60, "an emptied slab's pages are kept for reuse (%d of %d blocks kept their "
          "bytes)", old, N);
    for (int i = 0; i < N; i++)
        refalloc_free(v[i]);
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void test_errno_and_reuse(void)
{
    static const size_t n[] = { 16, 5000, 1u << 20 };
    for (size_t i = 0; i < 3; i++) {
        void *p = refalloc_malloc(n[i]), *q = refalloc_malloc(n[i]), *r = refalloc_malloc(n[i]);
        errno = 4321;
        refalloc_free(p);
        refalloc_free_sized(q, n[i]);
        refalloc_free_aligned_sized(r, 16, n[i]);
        CHECK(errno == 4321, "free variants preserve errno (size %zu)", n[i]);
    }
    enum { N = 4096 };
    static void *v[N], *w[N];
    for (int i = 0; i < N; i++)
        v[i] = refalloc_malloc(64);
    for (int i = 0; i < N; i++)
        refalloc_free(v[i]);
    qsort(v, N, sizeof *v, cmp_ptr);
    int reused = 0;
    for (int i = 0; i < N; i++) {
        w[i] = refalloc_malloc(64);
        reused += bsearch(&w[i], v, N, sizeof *v, cmp_ptr) != NULL;
    }
    /* Not all: empty slabs beyond one spare per class go back to the kernel. */
    CHECK(reused >= N / 2, "freed blocks are handed out again (%d of %d reused)", reused, N);
    for (int i = 0; i < N; i++)
        refalloc_free(w[i]);
}

int main(void)
{
    test_spare_keeps_pages();
    test_malloc();
    test_huge();
    test_aligned();
    test_bad_alignment();
    test_page();
    test_realloc();
    test_realloc_move();
    test_aligned_reuse();
    test_calloc();
    test_errno_and_reuse();
    return tap_done();
}
