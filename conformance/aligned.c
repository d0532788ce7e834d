/* aligned_alloc, posix_memalign, memalign, valloc, pvalloc: every power-of-two alignment from
 * 1 to 2^26 at sizes below, equal to and above it; alignment == size repeated (mimalloc issue
 * 700); invalid alignments (C17 7.22.3.1p2 after DR 460: NULL; POSIX: EINVAL); sizes that are
 * not a multiple of the alignment (allowed since C17, required to be a multiple in C11);
 * posix_memalign's error contract; page alignment and rounding of valloc/pvalloc. */
#include <errno.h>

#include "conformance/checks.h"
#include "conformance/util.h"

#define MAX_ALIGN_LOG 26

/* Allocates with f at (al, size), checks alignment and the first and last byte (the whole
 * block when small), frees. Returns false after a failure. */
static bool probe(check_ctx_t *c, alloc_fn_t f, size_t al, size_t size)
{
    int err;
    unsigned char *p = ck_alloc(c->a, f, al, size, &err);

    if (p == NULL) {
        ck_align_refused(c, f, al, size, err);
        return false;
    }
    if (!ck_expect_aligned(c, f, al, size, p)) {
        c->a->free(c->a->ctx, p);
        return false;
    }
    if (size <= 65536)
        ck_fill(p, size, 2);
    p[0] = 1;
    p[size - 1] = 2;
    c->a->free(c->a->ctx, p);
    return true;
}

static void pow2_sweep(check_ctx_t *c, alloc_fn_t f)
{
    size_t lo = f == AF_POSIX_MEMALIGN ? sizeof(void *) : 1;

    for (size_t al = lo; al <= (size_t)1 << MAX_ALIGN_LOG; al <<= 1) {
        /* aligned_alloc stays on multiples here: C11's rule has its own check. */
        size_t sizes[] = { al > 1 ? al - 1 : 1, al, al + 1, 3 * al + 5, 1, 24 };
        size_t mult[] = { al, 2 * al, al };
        size_t *s = f == AF_ALIGNED_ALLOC ? mult : sizes;
        size_t n = f == AF_ALIGNED_ALLOC ? 3 : 6;

        for (size_t i = 0; i < n; i++)
            if (!probe(c, f, al, s[i]))
                return;
    }
}

#define EQ_LIVE 16

/* alignment == size, 16 blocks live at once per alignment, for 2^0..2^20. */
static void align_eq_size(check_ctx_t *c, alloc_fn_t f)
{
    void *p[EQ_LIVE];
    int err;

    for (size_t al = f == AF_POSIX_MEMALIGN ? sizeof(void *) : 1; al <= 1 << 20; al <<= 1) {
        size_t k;

        for (k = 0; k < EQ_LIVE; k++) {
            p[k] = ck_alloc(c->a, f, al, al, &err);
            if (p[k] == NULL || !ck_expect_aligned(c, f, al, al, p[k]))
                break;
        }
        bool refused = k < EQ_LIVE && p[k] == NULL;
        for (size_t j = 0; j < k + (k < EQ_LIVE && p[k] != NULL); j++)
            c->a->free(c->a->ctx, p[j]);
        if (refused && ck_align_refused(c, f, al, al, err))
            return;
        require_true(c, k == EQ_LIVE, "%s(align %zu, size %zu) #%zu: %s", ck_name(f), al, al,
                     k, refused ? "failed" : "misaligned");
    }
}

static const size_t bad_aligns[] = { 3, 5, 6, 7, 12, 24, 48, 100, 1000, 4097, 3 << 20,
                                     SIZE_MAX, (SIZE_MAX >> 1) + 2, 0 };
#define NBAD (sizeof bad_aligns / sizeof bad_aligns[0])

/* C17 7.22.3.1p2 (DR 460): an alignment that is not valid (not a power of two, 6.2.8p4)
 * makes aligned_alloc fail with NULL. In C11 the behaviour was undefined. glibc < 2.38
 * accepts these. errno is POSIX.1-2024's [EINVAL] and has its own check. */
static void run_aligned_alloc_nonpow2(check_ctx_t *c)
{
    for (size_t i = 0; i < NBAD; i++) {
        void *p = c->a->aligned_alloc(c->a->ctx, bad_aligns[i], 64);

        if (p == NULL)
            continue;
        if (c->profile == PROFILE_C11)
            check_diverge(c, "aligned_alloc(%zu, 64) returned %p (undefined in C11)",
                          bad_aligns[i], p);
        else
            check_fail(c, "aligned_alloc(%zu, 64) returned %p: an invalid alignment must fail "
                       "(C17 7.22.3.1p2)", bad_aligns[i], p);
        c->a->free(c->a->ctx, p);
    }
}

/* Every invalid alignment the allocator refuses must say EINVAL; the ones it accepts are
 * aligned-alloc-nonpow2-null's business. */
static void run_aligned_alloc_nonpow2_einval(check_ctx_t *c)
{
    size_t refused = 0;

    for (size_t i = 0; i < NBAD; i++) {
        void *p;

        errno = 0;
        p = c->a->aligned_alloc(c->a->ctx, bad_aligns[i], 64);
        if (p != NULL) {
            c->a->free(c->a->ctx, p);
            continue;
        }
        refused++;
        expect_true(c, errno == EINVAL, "aligned_alloc(%zu, 64) failed with errno %d, not "
                    "EINVAL", bad_aligns[i], errno);
    }
    if (refused == 0)
        check_skip(c, "aligned_alloc accepts every invalid alignment (aligned-alloc-nonpow2)");
}

/* C17 7.22.3.1 dropped C11's "size shall be an integral multiple of alignment" (DR 460). */
static void run_aligned_alloc_size_not_multiple(check_ctx_t *c)
{
    static const size_t args[][2] = { { 16, 1 }, { 16, 17 }, { 64, 100 }, { 4096, 5000 },
                                      { 4096, 1 }, { 1 << 16, 3 }, { 32, 48 } };

    for (size_t i = 0; i < 7; i++) {
        void *p = c->a->aligned_alloc(c->a->ctx, args[i][0], args[i][1]);

        if (p == NULL) {
            if (c->profile == PROFILE_C11)
                check_diverge(c, "aligned_alloc(%zu, %zu) fails: C11 required a multiple",
                              args[i][0], args[i][1]);
            else
                check_fail(c, "aligned_alloc(%zu, %zu) failed (errno %d): C17 allows sizes "
                           "that are not a multiple of the alignment", args[i][0], args[i][1],
                           errno);
            continue;
        }
        ck_expect_aligned(c, AF_ALIGNED_ALLOC, args[i][0], args[i][1], p);
        ck_fill(p, args[i][1], 3);
        c->a->free(c->a->ctx, p);
    }
}

/* POSIX.1-2024 posix_memalign: [EINVAL] unless a power of two multiple of sizeof(void *);
 * on failure *memptr is left unmodified or set to NULL. */
static void run_posix_memalign_einval(check_ctx_t *c)
{
    static const size_t al[] = { 0, 1, 2, 4, 3, 12, 24, 40, 48, 100, 4097, SIZE_MAX };
    void *const canary = (void *)0x5a5a5a5a5a5a5a50ull;

    for (size_t i = 0; i < sizeof al / sizeof al[0]; i++) {
        void *p = canary;
        int rc = c->a->posix_memalign(c->a->ctx, &p, al[i], 64);

        if (rc == 0) {
            check_fail(c, "posix_memalign(align %zu) succeeded (%p), must fail EINVAL", al[i], p);
            c->a->free(c->a->ctx, p);
            continue;
        }
        expect_true(c, rc == EINVAL, "posix_memalign(align %zu) returned %d, not EINVAL",
                    al[i], rc);
        expect_true(c, p == canary || p == NULL, "failed posix_memalign set *memptr to %p", p);
    }
}

/* POSIX.1-2024 posix_memalign: on success the address is stored in *memptr, size 0 included
 * (then NULL or a unique pointer, but stored). */
static void run_posix_memalign_stores(check_ctx_t *c)
{
    static const size_t sizes[] = { 0, 1, 64, 4096, 100000 };
    static const size_t aligns[] = { sizeof(void *), 64, 4096 };
    void *const canary = (void *)0x5a5a5a5a5a5a5a50ull;

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (size_t k = 0; k < sizeof aligns / sizeof aligns[0]; k++) {
            void *p = canary;
            int rc = c->a->posix_memalign(c->a->ctx, &p, aligns[k], sizes[i]);

            if (rc != 0)
                continue;
            require_true(c, p != canary, "posix_memalign(&p, %zu, %zu) returned 0 but left *memptr"
                         " unchanged", aligns[k], sizes[i]);
            c->a->free(c->a->ctx, p);
        }
}

static void run_posix_memalign_memptr_on_failure(check_ctx_t *c)
{
    void *const canary = (void *)0x5a5a5a5a5a5a5a50ull;
    void *p = canary;
    int rc = c->a->posix_memalign(c->a->ctx, &p, 64, SIZE_MAX - 63);

    require_true(c, rc != 0, "posix_memalign(64, SIZE_MAX-63) succeeded");
    require_true(c, p == canary || p == NULL, "failed posix_memalign (ENOMEM path) set *memptr "
                 "to %p", p);
    check_behaviour(c, "a failed posix_memalign %s *memptr",
                    p == canary ? "leaves" : "sets to NULL");
}

/* posix_memalign reports through its return value; its man page says errno is not set, and
 * glibc keeps it intact. Changes are allowed by POSIX (errno after a call is unspecified
 * unless stated), so they diverge. */
static void run_posix_memalign_errno(check_ctx_t *c)
{
    static const size_t cases[][2] = { { 64, 100 }, { 4096, 1 << 20 }, { 3, 10 },
                                       { 64, SIZE_MAX - 63 } };

    for (size_t i = 0; i < 4; i++) {
        void *p = NULL;
        int rc;

        errno = 4242;
        rc = c->a->posix_memalign(c->a->ctx, &p, cases[i][0], cases[i][1]);
        if (errno != 4242)
            check_diverge(c, "posix_memalign(%zu, %zu) (returned %d) changed errno to %d",
                          cases[i][0], cases[i][1], rc, errno);
        if (rc == 0)
            c->a->free(c->a->ctx, p);
    }
}

/* memalign is in no standard; the glibc manual wants a power of two. Reported only. */
static void run_memalign_nonpow2(check_ctx_t *c)
{
    int ok = 0;

    for (size_t i = 0; i < NBAD; i++) {
        void *p = c->a->memalign(c->a->ctx, bad_aligns[i], 64);

        ok += p != NULL;
        c->a->free(c->a->ctx, p);
    }
    check_behaviour(c, "memalign accepts %d of %zu invalid alignments", ok, NBAD);
}

/* pvalloc rounds the size up to a page multiple: the usable size shows it. */
static void run_pvalloc_rounds_up(check_ctx_t *c)
{
    static const size_t sizes[] = { 1, 100, 4095, 4096, 4097, 10000, 200000 };
    size_t pg = ck_page_size();

    for (size_t i = 0; i < 7; i++) {
        unsigned char *p = c->a->pvalloc(c->a->ctx, sizes[i]);
        size_t want = (sizes[i] + pg - 1) / pg * pg;

        require_true(c, p != NULL, "pvalloc(%zu) failed", sizes[i]);
        ck_expect_aligned(c, AF_PVALLOC, 0, sizes[i], p);
        if (c->a->usable_size)
            expect_true(c, c->a->usable_size(c->a->ctx, p) >= want, "pvalloc(%zu) usable "
                        "size %zu < page-rounded %zu", sizes[i],
                        c->a->usable_size(c->a->ctx, p), want);
        ck_fill(p, want, 4);
        c->a->free(c->a->ctx, p);
    }
}

static void run_valloc_pvalloc_zero(check_ctx_t *c)
{
    for (int k = 0; k < 2; k++) {
        void *(*fn)(void *, size_t) = k ? c->a->pvalloc : c->a->valloc;
        void *p;

        if (fn == NULL)
            continue;
        p = fn(c->a->ctx, 0);
        check_behaviour(c, "%s(0) returns %s", k ? "pvalloc" : "valloc",
                        p ? "a page-aligned pointer" : "NULL");
        if (p)
            ck_expect_aligned(c, k ? AF_PVALLOC : AF_VALLOC, 0, 0, p);
        c->a->free(c->a->ctx, p);
    }
}

#define ALIGNED_SWEEPS(n, f, s, clause) \
    static void run_##n##_pow2(check_ctx_t *c) { pow2_sweep(c, f); } \
    static void run_##n##_eq(check_ctx_t *c) { align_eq_size(c, f); } \
    const check_t check_##n##_pow2 = { s "-pow2-sweep", #n, clause, \
        "every power-of-two alignment 1..2^26 at sizes below, at and above it", \
        CK_NEEDS(f), 0, run_##n##_pow2 }; \
    const check_t check_##n##_eq = { s "-align-equals-size", #n, clause, \
        "alignment == size (2^0..2^20), 16 live blocks each, all aligned", \
        CK_NEEDS(f), 0, run_##n##_eq };
ALIGNED_SWEEPS(aligned_alloc, AF_ALIGNED_ALLOC, "aligned-alloc", "C17 7.22.3.1p2")
ALIGNED_SWEEPS(posix_memalign, AF_POSIX_MEMALIGN, "posix-memalign", "POSIX.1-2024 posix_memalign")
ALIGNED_SWEEPS(memalign, AF_MEMALIGN, "memalign", "glibc manual memalign")

#define ALIGNED_CHECK(n, fn, id, clause, desc, needs) \
    const check_t check_##n = { id, fn, clause, desc, (needs) | AF_BIT(AF_FREE), 0, run_##n };
ALIGNED_CHECK(aligned_alloc_nonpow2, "aligned_alloc", "aligned-alloc-nonpow2-null",
              "C17 7.22.3.1p2 (DR 460); C17 6.2.8p4",
              "invalid alignments (0, not a power of two) fail with NULL",
              AF_BIT(AF_ALIGNED_ALLOC))
const check_t check_aligned_alloc_nonpow2_einval = {
    "aligned-alloc-nonpow2-einval", "aligned_alloc", "POSIX.1-2024 aligned_alloc [EINVAL]",
    "invalid alignments set errno EINVAL", AF_BIT(AF_ALIGNED_ALLOC) | AF_BIT(AF_FREE),
    CHECK_ERRNO, run_aligned_alloc_nonpow2_einval };
ALIGNED_CHECK(aligned_alloc_size_not_multiple, "aligned_alloc",
              "aligned-alloc-size-not-multiple", "C17 7.22.3.1p2 (DR 460)",
              "sizes not a multiple of the alignment succeed, aligned",
              AF_BIT(AF_ALIGNED_ALLOC))
ALIGNED_CHECK(posix_memalign_einval, "posix_memalign", "posix-memalign-nopow2-einval",
              "POSIX.1-2024 posix_memalign [EINVAL]",
              "alignments not a power-of-two multiple of sizeof(void *) return EINVAL",
              AF_BIT(AF_POSIX_MEMALIGN))
ALIGNED_CHECK(posix_memalign_stores, "posix_memalign", "posix-memalign-stores-memptr",
              "POSIX.1-2024 posix_memalign",
              "a successful call stores the block in *memptr, size 0 included",
              AF_BIT(AF_POSIX_MEMALIGN))
ALIGNED_CHECK(posix_memalign_memptr_on_failure, "posix_memalign",
              "posix-memalign-memptr-on-failure", "POSIX.1-2024 posix_memalign",
              "a failed call leaves *memptr unmodified or NULL (reported)",
              AF_BIT(AF_POSIX_MEMALIGN))
const check_t check_posix_memalign_errno = {
    "posix-memalign-errno-kept", "posix_memalign",
    "posix_memalign(3) RETURN VALUE (errno is not set)",
    "errno is left alone on success and failure (a change diverges)",
    AF_BIT(AF_POSIX_MEMALIGN) | AF_BIT(AF_FREE), CHECK_INFO, run_posix_memalign_errno };
const check_t check_memalign_nonpow2 = {
    "memalign-nonpow2", "memalign", "glibc manual memalign",
    "invalid alignments: accepted or refused (reported)", AF_BIT(AF_MEMALIGN) | AF_BIT(AF_FREE),
    CHECK_INFO, run_memalign_nonpow2 };
ALIGNED_CHECK(pvalloc_rounds_up, "pvalloc", "pvalloc-rounds-up", "posix_memalign(3) pvalloc",
              "pvalloc blocks are page aligned with a page-rounded usable size",
              AF_BIT(AF_PVALLOC))
ALIGNED_CHECK(valloc_pvalloc_zero, "valloc", "valloc-pvalloc-zero",
              "glibc manual valloc; posix_memalign(3) pvalloc",
              "valloc(0) and pvalloc(0) classified", AF_BIT(AF_VALLOC))
