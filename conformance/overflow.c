/* Huge sizes, for every function: no request that cannot be met may "succeed" because a size
 * computation wrapped (header + size, size rounded to a page, size + alignment padding: the
 * pattern of glibc CVE-2013-4332 and CVE-2026-0861). Sizes are the top 2^14 values below
 * SIZE_MAX (all of them for the plain functions, sampled per alignment for the aligned ones),
 * PTRDIFF_MAX and above, and high-bit patterns; every power-of-two alignment until it wraps. */
#include <errno.h>
#include <stdio.h>

#include "conformance/checks.h"
#include "conformance/util.h"

#define TOP_SPAN ((size_t)1 << 14)
/* No block this large fits in a 48-bit (or 57-bit) address space. */
#define IMPOSSIBLE ((size_t)1 << 58)

/* Calls f(align, size), which must fail. Returns false (and records why) if it did not. */
static bool expect_null(check_ctx_t *c, alloc_fn_t f, size_t align, size_t size)
{
    int err;
    void *p = ck_alloc(c->a, f, align, size, &err);

    if (p == NULL)
        return true;
    if (ck_takes_align(f))
        check_fail(c, "%s(align %#zx, size %#zx) returned %p: a size that cannot be met "
                   "succeeded (the size computation wrapped)", ck_name(f), align, size, p);
    else
        check_fail(c, "%s(%#zx) returned %p: a size that cannot be met succeeded (the size "
                   "computation wrapped)", ck_name(f), size, p);
    return false;
}

/* The alignments a sweep of f uses: 0 (none) for the plain functions, else every power of
 * two the function accepts, up to 2^63. Returns the count. */
static size_t sweep_aligns(alloc_fn_t f, size_t *out)
{
    size_t n = 0;

    if (!ck_takes_align(f)) {
        out[n++] = 0;
        return n;
    }
    for (size_t al = f == AF_POSIX_MEMALIGN ? sizeof(void *) : 1; al; al <<= 1)
        out[n++] = al;
    return n;
}

/* Sizes near SIZE_MAX and near SIZE_MAX - k*align: where size + align + header wraps. */
static bool top_for_align(check_ctx_t *c, alloc_fn_t f, size_t al)
{
    size_t step = al ? 61 : 1;

    for (size_t k = 0; k < TOP_SPAN; k += step)
        if (!expect_null(c, f, al, SIZE_MAX - k))
            return false;
    for (size_t m = 1; al && m <= 2; m++) {
        for (size_t d = 0; d < 128; d++) {
            size_t size = SIZE_MAX - m * al + 64 - d;

            if (size >= IMPOSSIBLE && !expect_null(c, f, al, size))
                return false;
        }
    }
    /* Just below PTRDIFF_MAX, where a size passes the ptrdiff check and size + alignment
     * + header wraps for alignments of 2^62 and up (CVE-2026-0861). */
    for (size_t d = 0; al && d < 64; d++) {
        size_t below[] = { (size_t)PTRDIFF_MAX - d * 8, (size_t)PTRDIFF_MAX - al - d * 8,
                           ((size_t)1 << 62) + d * 8 };

        for (size_t i = 0; i < 3; i++)
            if (below[i] >= IMPOSSIBLE && !expect_null(c, f, al, below[i]))
                return false;
    }
    return true;
}

static void sweep_top(check_ctx_t *c, alloc_fn_t f)
{
    size_t aligns[64];
    size_t n = sweep_aligns(f, aligns);

    for (size_t i = 0; i < n; i++)
        if (!top_for_align(c, f, aligns[i]))
            return;
}

static const size_t high_bits[] = {
    (size_t)PTRDIFF_MAX, (size_t)PTRDIFF_MAX + 1, (size_t)PTRDIFF_MAX + 2,
    (size_t)PTRDIFF_MAX - 4095, (size_t)PTRDIFF_MAX + 4096, (size_t)1 << 58,
    (size_t)1 << 60, (size_t)1 << 62, 0x8000000000000001ull, 0xAAAAAAAAAAAAAAAAull,
    0x5555555555555555ull, 0xFFFF000000000000ull, 0xFFFFFFFF00000000ull, 0xFFFFFFFFFFFF0000ull,
    0xFFFFFFFFFFFFF000ull, 0xFFFFFFFFFFFFFFF0ull, 0xC000000000000000ull, 0x7FFFFFFFFFFFF000ull,
    0x0FFFFFFFFFFFFFFFull, 0x8000000000001000ull,
};

static void sweep_high_bits(check_ctx_t *c, alloc_fn_t f)
{
    size_t aligns[64];
    size_t n = sweep_aligns(f, aligns);

    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof high_bits / sizeof high_bits[0]; k++)
            if (!expect_null(c, f, aligns[i], high_bits[k]))
                return;
}

/* POSIX.1-2024 (the pages of malloc, calloc, realloc, reallocarray, aligned_alloc,
 * posix_memalign): [ENOMEM] on failure. memalign, valloc and pvalloc are in no standard: the glibc manual
 * documents ENOMEM, an allocator that leaves errno alone there diverges. Sizes are multiples
 * of the alignment so C11's aligned_alloc rule (EINVAL) stays out of it. */
static void huge_enomem(check_ctx_t *c, alloc_fn_t f)
{
    static const size_t sizes[] = { SIZE_MAX - 63, SIZE_MAX - 4095, (size_t)PTRDIFF_MAX + 1,
                                    (size_t)1 << 60 };
    bool standard = f != AF_MEMALIGN && f != AF_VALLOC && f != AF_PVALLOC;
    int err;

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = ck_alloc(c->a, f, 64, sizes[i], &err);

        if (p != NULL) {
            check_fail(c, "%s(%#zx) returned %p", ck_name(f), sizes[i], p);
            return;
        }
        if (err == ENOMEM)
            continue;
        if (standard)
            check_fail(c, "%s(%#zx) failed with %s %d, not ENOMEM", ck_name(f), sizes[i],
                       f == AF_POSIX_MEMALIGN ? "return value" : "errno", err);
        else
            check_diverge(c, "%s(%#zx) failed with errno %d, not ENOMEM as glibc documents",
                          ck_name(f), sizes[i], err);
    }
}

/* An alignment no address space can honour must fail, whatever the size. */
static void huge_align(check_ctx_t *c, alloc_fn_t f)
{
    static const size_t sizes[] = { 1, 16, 4096, 1 << 20 };

    for (size_t al = (size_t)1 << 48; al; al <<= 1)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            if (!expect_null(c, f, al, sizes[i]))
                return;
}

#define OVERFLOW_CHECKS(n, f, s, clause) \
    static void run_##n##_huge_top(check_ctx_t *c) { sweep_top(c, f); } \
    static void run_##n##_huge_high_bits(check_ctx_t *c) { sweep_high_bits(c, f); } \
    static void run_##n##_huge_enomem(check_ctx_t *c) { huge_enomem(c, f); } \
    const check_t check_##n##_huge_top = { s "-huge-top-null", #n, clause, \
        "every size in (SIZE_MAX-2^14, SIZE_MAX] fails with NULL, at every alignment", \
        CK_NEEDS(f), 0, run_##n##_huge_top }; \
    const check_t check_##n##_huge_high_bits = { s "-huge-high-bits-null", #n, clause, \
        "PTRDIFF_MAX and above and high-bit sizes fail with NULL, at every alignment", \
        CK_NEEDS(f), 0, run_##n##_huge_high_bits }; \
    const check_t check_##n##_huge_enomem = { s "-huge-enomem", #n, \
        CK_ENOMEM_##n, \
        "a huge request fails with ENOMEM", CK_NEEDS(f), \
        (f) == AF_POSIX_MEMALIGN ? 0u : CHECK_ERRNO, run_##n##_huge_enomem };
CK_FOR_EACH_ALLOC_FN(OVERFLOW_CHECKS)

#define HUGE_ALIGN_CHECK(n, f, s, clause) \
    static void run_##n##_huge_align(check_ctx_t *c) { huge_align(c, f); } \
    const check_t check_##n##_huge_align = { s "-huge-align-null", #n, clause, \
        "alignments of 2^48 and above cannot be honoured: NULL for any size", \
        CK_NEEDS(f), 0, run_##n##_huge_align };
HUGE_ALIGN_CHECK(aligned_alloc, AF_ALIGNED_ALLOC, "aligned-alloc", "C17 7.22.3.1")
HUGE_ALIGN_CHECK(posix_memalign, AF_POSIX_MEMALIGN, "posix-memalign", "POSIX.1-2024 posix_memalign")
HUGE_ALIGN_CHECK(memalign, AF_MEMALIGN, "memalign", "glibc manual memalign")

/* glibc CVE-2026-0861 (GLIBC-SA-2026-0001, glibc 2.30..2.42): _int_memalign adds the
 * alignment and a header to the padded size; with an alignment in (2^62, 2^63] (memalign
 * rounds one that is not a power of two up to the next) and a size just below PTRDIFF_MAX the
 * sum wraps and a tiny chunk is returned as a huge, aligned block. Every alignment here is at
 * least 2^62, so no result can exist in any address space: anything but NULL is a failure. */
static const size_t cve_aligns[] = {
    (size_t)1 << 62, ((size_t)1 << 62) + 1, (size_t)3 << 61, ((size_t)1 << 63) - 1,
    (size_t)1 << 63, ((size_t)1 << 63) + 1, SIZE_MAX,
};
/* Offsets: small, header-sized, and around a page. */
static const size_t cve_deltas[] = { 0, 1, 7, 8, 15, 16, 24, 31, 32, 33, 40, 47, 48, 63, 64,
                                     127, 4095, 4096 };
#define CVE_NALIGN (sizeof cve_aligns / sizeof cve_aligns[0])
#define CVE_NDELTA (sizeof cve_deltas / sizeof cve_deltas[0])
#define CVE_NBASE 6

/* Sizes around PTRDIFF_MAX (below and above), PTRDIFF_MAX - al, SIZE_MAX - al and
 * SIZE_MAX / 2: where size + al + header wraps. Computed modulo 2^64 on purpose. */
static size_t cve_size(size_t al, size_t base, size_t d)
{
    switch (base) {
    case 0: return (size_t)PTRDIFF_MAX - d;
    case 1: return (size_t)PTRDIFF_MAX + 1 + d;
    case 2: return (size_t)PTRDIFF_MAX - al + d;
    case 3: return SIZE_MAX - al + d;
    case 4: return SIZE_MAX / 2 - d;
    default: return SIZE_MAX - d;
    }
}

/* C11 7.22.3.1p2 made an invalid alignment, or a size that is not a multiple of it,
 * undefined for aligned_alloc: under that profile such calls are not made at all. */
static bool cve_undefined(const check_ctx_t *c, alloc_fn_t f, size_t al, size_t size)
{
    return c->profile == PROFILE_C11 && f == AF_ALIGNED_ALLOC &&
           ((al & (al - 1)) != 0 || size % al != 0);
}

/* A block came back: it is leaked, never freed. The heap keeps a size for it that cannot be
 * true, and a free walking that size may hang or crash, burying this finding under a timeout. */
static void cve_report(check_ctx_t *c, alloc_fn_t f, size_t al, size_t size, void *p)
{
    size_t usable = c->a->usable_size ? c->a->usable_size(c->a->ctx, p) : 0;

    check_fail(c, "%s(align %#zx, size %#zx) returned %p (usable size %#zx): the size + "
               "alignment arithmetic wrapped (glibc CVE-2026-0861)", ck_name(f), al, size, p,
               usable);
}

static void huge_alignment_overflow(check_ctx_t *c, alloc_fn_t f)
{
    unsigned bad = 0, calls = 0;
    int err;

    for (size_t i = 0; i < CVE_NALIGN; i++)
        for (size_t b = 0; b < CVE_NBASE; b++)
            for (size_t k = 0; k < CVE_NDELTA; k++) {
                size_t size = cve_size(cve_aligns[i], b, cve_deltas[k]);
                void *p;

                if (cve_undefined(c, f, cve_aligns[i], size))
                    continue;
                p = ck_alloc(c->a, f, cve_aligns[i], size, &err);
                calls++;
                if (p == NULL)
                    continue;
                bad++;
                cve_report(c, f, cve_aligns[i], size, p);
            }
    if (bad)
        check_behaviour(c, "%u of %u huge-alignment requests returned a block", bad, calls);
}

#define CVE_CHECK(n, f, s, clause) \
    static void run_##n##_cve(check_ctx_t *c) { huge_alignment_overflow(c, f); } \
    const check_t check_##n##_huge_alignment_overflow = { s "-huge-alignment-overflow", #n, \
        "glibc CVE-2026-0861 / GLIBC-SA-2026-0001; " clause, \
        "alignments 2^62..SIZE_MAX x sizes near PTRDIFF_MAX, SIZE_MAX - alignment, " \
        "SIZE_MAX/2: always NULL", CK_NEEDS(f), 0, run_##n##_cve };
CVE_CHECK(aligned_alloc, AF_ALIGNED_ALLOC, "aligned-alloc", "C17 7.22.3.1")
CVE_CHECK(posix_memalign, AF_POSIX_MEMALIGN, "posix-memalign", "POSIX.1-2024 posix_memalign")
CVE_CHECK(memalign, AF_MEMALIGN, "memalign", "glibc manual memalign")
