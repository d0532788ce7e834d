/* calloc's own checks: zeroed memory at every size class, also when the memory was dirtied
 * and freed first; nmemb*size overflow in both argument orders; zero arguments. */
#include <errno.h>
#include <string.h>

#include "conformance/checks.h"
#include "conformance/util.h"

#define CA(c, n, s) ((c)->a->calloc((c)->a->ctx, (n), (s)))
#define F(c, p) ((c)->a->free((c)->a->ctx, (p)))

/* C17 7.22.3.2p2: "the space is initialized to all bits zero". */
static void zero_sweep(check_ctx_t *c, size_t lo, size_t hi)
{
    for (size_t i = 0; i < ck_size_count; i++) {
        size_t n = ck_sizes[i];
        unsigned char *p;
        ptrdiff_t off;

        if (n < lo || n > hi)
            continue;
        p = CA(c, 1, n);
        require_true(c, p != NULL, "calloc(1, %zu) failed", n);
        off = ck_find_not(p, n, 0);
        expect_true(c, off < 0, "calloc(1, %zu) = %p: byte %td is %#x, not zero", n,
                    (void *)p, off, off < 0 ? 0 : p[off]);
        F(c, p);
    }
}

static void run_calloc_zeroed_small(check_ctx_t *c) { zero_sweep(c, 1, 4096); }
static void run_calloc_zeroed_large(check_ctx_t *c) { zero_sweep(c, 4097, 131071); }
static void run_calloc_zeroed_mmap(check_ctx_t *c) { zero_sweep(c, 131072, SIZE_MAX); }

/* Dirty (0xA5) and free, then calloc the same size many times: recycled memory is zero too. */
static void run_calloc_zeroed_recycled(check_ctx_t *c)
{
    static const size_t sizes[] = { 1, 8, 16, 24, 100, 256, 1000, 4096, 10000, 65536,
                                    131072, 300000, 1 << 21 };

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int round = 0; round < (sizes[i] > 65536 ? 4 : 32); round++) {
            unsigned char *d = c->a->malloc(c->a->ctx, sizes[i]);
            unsigned char *p;
            ptrdiff_t off;

            require_true(c, d != NULL, "malloc(%zu) failed", sizes[i]);
            memset(d, 0xA5, ck_usable(c->a, d, sizes[i]));
            F(c, d);
            p = CA(c, 1, sizes[i]);
            require_true(c, p != NULL, "calloc(1, %zu) failed", sizes[i]);
            off = ck_find_not(p, sizes[i], 0);
            expect_true(c, off < 0, "calloc(1, %zu) of recycled memory = %p: byte %td is %#x",
                        sizes[i], (void *)p, off, off < 0 ? 0 : p[off]);
            memset(p, 0xA5, sizes[i]);
            F(c, p);
        }
    }
}

static const size_t overflow_pairs[][2] = {
    { SIZE_MAX, 2 }, { (size_t)1 << 32, (size_t)1 << 32 }, { ((size_t)1 << 32) + 1, (size_t)1 << 32 },
    { (SIZE_MAX / 16) + 1, 16 }, { (SIZE_MAX / 3) + 1, 3 }, { (size_t)PTRDIFF_MAX, 2 },
    { 65537, (SIZE_MAX / 65537) + 1 }, { SIZE_MAX, SIZE_MAX }, { (size_t)1 << 63, 2 },
    { (SIZE_MAX / 24) + 1, 24 },
};
#define NPAIRS (sizeof overflow_pairs / sizeof overflow_pairs[0])

/* C17 7.22.3.2: nmemb*size that does not fit in size_t cannot be allocated; a wrapped
 * product must never yield a (small) block. Both argument orders. */
static void run_calloc_overflow_null(check_ctx_t *c)
{
    for (size_t i = 0; i < NPAIRS; i++) {
        for (int o = 0; o < 2; o++) {
            size_t n = overflow_pairs[i][o], s = overflow_pairs[i][!o];
            void *p = CA(c, n, s);

            require_true(c, p == NULL, "calloc(%#zx, %#zx) returned %p: the product wrapped",
                         n, s, p);
        }
    }
}

static void run_calloc_overflow_enomem(check_ctx_t *c)
{
    for (size_t i = 0; i < NPAIRS; i++) {
        for (int o = 0; o < 2; o++) {
            size_t n = overflow_pairs[i][o], s = overflow_pairs[i][!o];
            void *p;

            errno = 0;
            p = CA(c, n, s);
            require_true(c, p == NULL, "calloc(%#zx, %#zx) returned %p", n, s, p);
            expect_true(c, errno == ENOMEM, "calloc(%#zx, %#zx) failed with errno %d, not "
                        "ENOMEM", n, s, errno);
        }
    }
}

/* calloc(0, n), calloc(n, 0), calloc(0, 0): NULL or a unique pointer, like malloc(0). */
static void run_calloc_zero_args(check_ctx_t *c)
{
    static const size_t args[][2] = { { 0, 16 }, { 16, 0 }, { 0, 0 }, { 0, SIZE_MAX },
                                      { SIZE_MAX, 0 } };
    int nonnull = 0;

    for (size_t i = 0; i < 5; i++) {
        void *p = CA(c, args[i][0], args[i][1]);

        nonnull += p != NULL;
        F(c, p);
    }
    check_behaviour(c, "calloc with a zero argument returns %s",
                    nonnull == 5 ? "a non-NULL pointer" : nonnull ? "a pointer or NULL by case"
                                                                  : "NULL");
}

/* nmemb > 1: the whole nmemb*size bytes exist and are zero. */
static void run_calloc_array(check_ctx_t *c)
{
    static const size_t args[][2] = { { 3, 1000 }, { 1000, 3 }, { 7, 4099 }, { 4096, 64 },
                                      { 100000, 8 }, { 2, 8 }, { 3, 5 } };

    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) {
        size_t n = args[i][0] * args[i][1];
        unsigned char *p = CA(c, args[i][0], args[i][1]);
        ptrdiff_t off;

        require_true(c, p != NULL, "calloc(%zu, %zu) failed", args[i][0], args[i][1]);
        /* The object is the whole array: aligned and usable for the product, not for size. */
        ck_expect_aligned(c, AF_CALLOC, 0, n, p);
        expect_true(c, ck_usable(c->a, p, n) >= n, "calloc(%zu, %zu): usable size %zu is less "
                    "than the %zu bytes asked for", args[i][0], args[i][1],
                    ck_usable(c->a, p, n), n);
        off = ck_find_not(p, n, 0);
        expect_true(c, off < 0, "calloc(%zu, %zu): byte %td not zero", args[i][0], args[i][1],
                    off);
        ck_fill(p, n, 7);
        expect_true(c, ck_verify(p, n, 7) < 0, "calloc(%zu, %zu) block not writable in full",
                    args[i][0], args[i][1]);
        F(c, p);
    }
}

#define CALLOC_NEEDS (AF_BIT(AF_CALLOC) | AF_BIT(AF_FREE))
#define CALLOC_CHECK(n, id, clause, desc, needs) \
    const check_t check_##n = { id, "calloc", clause, desc, needs, 0, run_##n };
CALLOC_CHECK(calloc_zeroed_small, "calloc-zeroed-small", "C17 7.22.3.2p2",
             "blocks up to a page are all bits zero", CALLOC_NEEDS)
CALLOC_CHECK(calloc_zeroed_large, "calloc-zeroed-large", "C17 7.22.3.2p2",
             "blocks of a page to 128 KiB are all bits zero", CALLOC_NEEDS)
CALLOC_CHECK(calloc_zeroed_mmap, "calloc-zeroed-mmap", "C17 7.22.3.2p2",
             "mmap-sized blocks (128 KiB to 16 MiB) are all bits zero", CALLOC_NEEDS)
CALLOC_CHECK(calloc_zeroed_recycled, "calloc-zeroed-recycled", "C17 7.22.3.2p2",
             "memory dirtied with 0xA5 and freed comes back zeroed", CALLOC_NEEDS | AF_BIT(AF_MALLOC))
CALLOC_CHECK(calloc_overflow_null, "calloc-overflow-null", "C17 7.22.3.2p2",
             "nmemb*size overflow returns NULL, both argument orders", CALLOC_NEEDS)
const check_t check_calloc_overflow_enomem = {
    "calloc-overflow-enomem", "calloc", "POSIX.1-2024 calloc [ENOMEM]",
    "nmemb*size overflow sets errno ENOMEM", CALLOC_NEEDS, CHECK_ERRNO,
    run_calloc_overflow_enomem };
const check_t check_calloc_zero_args = {
    "calloc-zero-args", "calloc", "C17 7.22.3p1",
    "calloc with a zero argument: NULL or unique pointer (reported)", CALLOC_NEEDS, CHECK_INFO,
    run_calloc_zero_args };
CALLOC_CHECK(calloc_array, "calloc-array", "C17 7.22.3.2p2",
             "nmemb > 1: all nmemb*size bytes exist, are zero, aligned and usable as one object",
             CALLOC_NEEDS)
