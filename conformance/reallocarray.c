/* reallocarray (POSIX.1-2024, from OpenBSD): realloc with an overflow-checked nmemb*size.
 * Overflow must fail with NULL and leave the block intact; errno ENOMEM is POSIX's answer,
 * EOVERFLOW (OpenBSD's first choice) is reported as a divergence. */
#include <errno.h>

#include "conformance/checks.h"
#include "conformance/util.h"

#define RAA(c, p, n, s) ((c)->a->reallocarray((c)->a->ctx, (p), (n), (s)))
#define F(c, p) ((c)->a->free((c)->a->ctx, (p)))

static const size_t pairs[][2] = {
    { SIZE_MAX, 2 }, { (size_t)1 << 32, (size_t)1 << 32 }, { (SIZE_MAX / 16) + 1, 16 },
    { (SIZE_MAX / 3) + 1, 3 }, { (size_t)1 << 63, 2 }, { SIZE_MAX, SIZE_MAX },
};
#define NPAIRS (sizeof pairs / sizeof pairs[0])

static void run_reallocarray_overflow_null(check_ctx_t *c)
{
    for (size_t i = 0; i < NPAIRS; i++)
        for (int o = 0; o < 2; o++) {
            void *p = RAA(c, NULL, pairs[i][o], pairs[i][!o]);

            require_true(c, p == NULL, "reallocarray(NULL, %#zx, %#zx) returned %p: the "
                         "product wrapped", pairs[i][o], pairs[i][!o], p);
        }
}

static void run_reallocarray_overflow_errno(check_ctx_t *c)
{
    int eoverflow = 0;

    for (size_t i = 0; i < NPAIRS; i++) {
        void *p;

        errno = 0;
        p = RAA(c, NULL, pairs[i][0], pairs[i][1]);
        require_true(c, p == NULL, "reallocarray overflow returned %p", p);
        if (errno == EOVERFLOW)
            eoverflow++;
        else
            expect_true(c, errno == ENOMEM, "reallocarray(NULL, %#zx, %#zx) failed with errno "
                        "%d, not ENOMEM", pairs[i][0], pairs[i][1], errno);
    }
    if (eoverflow)
        check_diverge(c, "reallocarray overflow sets EOVERFLOW, POSIX.1-2024 lists ENOMEM");
}

static void run_reallocarray_fail_keeps_block(check_ctx_t *c)
{
    void *p = RAA(c, NULL, 10, 30), *q;

    require_true(c, p != NULL, "reallocarray(NULL, 10, 30) failed");
    ck_fill(p, 300, 6);
    for (size_t i = 0; i < NPAIRS; i++) {
        q = RAA(c, p, pairs[i][0], pairs[i][1]);
        require_true(c, q == NULL, "reallocarray(p, %#zx, %#zx) returned %p", pairs[i][0],
                     pairs[i][1], q);
        require_true(c, ck_verify(p, 300, 6) < 0, "a failed reallocarray changed the block");
    }
    q = RAA(c, p, 20, 30);
    require_true(c, q != NULL && ck_verify(q, 300, 6) < 0,
                 "the block kept by a failed reallocarray could not be resized intact");
    F(c, q);
}

static void run_reallocarray_keeps(check_ctx_t *c)
{
    static const size_t steps[][2] = { { 1, 1 }, { 3, 8 }, { 100, 10 }, { 7, 4096 },
                                       { 1000, 200 }, { 5, 5 }, { 1, 3 } };
    void *p = NULL;
    size_t have = 0;

    for (size_t i = 0; i < 7; i++) {
        size_t n = steps[i][0] * steps[i][1], keep = have < n ? have : n;
        void *q = RAA(c, p, steps[i][0], steps[i][1]);

        require_true(c, q != NULL, "reallocarray(%p, %zu, %zu) failed", p, steps[i][0],
                     steps[i][1]);
        require_true(c, ck_verify(q, keep, 12) < 0, "reallocarray to %zu*%zu lost bytes",
                     steps[i][0], steps[i][1]);
        ck_fill(q, n, 12);
        p = q;
        have = n;
    }
    F(c, p);
}

static void run_reallocarray_null_zero(check_ctx_t *c)
{
    void *p = RAA(c, NULL, 0, 16), *q = RAA(c, NULL, 16, 0);

    check_behaviour(c, "reallocarray(NULL, 0, n) returns %s; reallocarray(NULL, n, 0) "
                    "returns %s", p ? "a unique pointer" : "NULL",
                    q ? "a unique pointer" : "NULL");
    expect_true(c, p == NULL || p != q, "two zero-size reallocarray blocks share %p", p);
    F(c, p);
    F(c, q);
}

/* A live block resized to a zero product, each factor zero in turn: as realloc(p, 0),
 * implementation-defined (reported), and under POSIX.1-2024 a NULL return sets EINVAL. */
static void run_reallocarray_zero(check_ctx_t *c)
{
    for (int o = 0; o < 2; o++) {
        void *p = RAA(c, NULL, 4, 16), *q;

        require_true(c, p != NULL, "reallocarray(NULL, 4, 16) failed");
        errno = 0;
        q = o ? RAA(c, p, 16, 0) : RAA(c, p, 0, 16);
        /* When q is NULL we cannot tell whether p was freed; leaking it is the safe choice. */
        check_behaviour(c, "reallocarray(p, %s) %s", o ? "n, 0" : "0, n",
                        q == NULL ? "returns NULL" : q == p ? "returns p" : "returns a new pointer");
        if (q == NULL)
            ck_expect_errno(c, errno, EINVAL, "reallocarray(p, %s) returned NULL with errno %d, "
                            "not EINVAL (POSIX.1-2024 reallocarray)", o ? "n, 0" : "0, n", errno);
        F(c, q);
    }
}

#define RAA_NEEDS (AF_BIT(AF_REALLOCARRAY) | AF_BIT(AF_FREE))
#define RAA_CHECK_F(n, id, clause, desc, flags) \
    const check_t check_##n = { id, "reallocarray", clause, desc, RAA_NEEDS, flags, run_##n };
#define RAA_CHECK(n, id, clause, desc) RAA_CHECK_F(n, id, clause, desc, 0)
RAA_CHECK(reallocarray_overflow_null, "reallocarray-overflow-null", "POSIX.1-2024 reallocarray",
          "nmemb*size overflow returns NULL, both argument orders")
RAA_CHECK_F(reallocarray_overflow_errno, "reallocarray-overflow-enomem",
            "POSIX.1-2024 reallocarray [ENOMEM]",
            "overflow sets errno ENOMEM (EOVERFLOW is a divergence)", CHECK_ERRNO)
RAA_CHECK(reallocarray_fail_keeps_block, "reallocarray-fail-keeps-block",
          "POSIX.1-2024 reallocarray", "a failed reallocarray leaves the block intact and usable")
RAA_CHECK(reallocarray_keeps, "reallocarray-keeps-contents", "POSIX.1-2024 reallocarray",
          "resizing keeps min(old, new) bytes")
RAA_CHECK(reallocarray_null_zero, "reallocarray-null-zero", "POSIX.1-2024 reallocarray",
          "reallocarray(NULL, 0, n) classified like malloc(0)")
RAA_CHECK_F(reallocarray_zero, "reallocarray-zero", "POSIX.1-2024 reallocarray [EINVAL]",
            "reallocarray(p, 0, n) on a live block classified like realloc(p, 0)", CHECK_INFO)
