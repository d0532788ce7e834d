/* free, free_sized and free_aligned_sized: free(NULL) is a no-op, no successful free variant
 * changes errno (POSIX.1-2024 free), and correct-size frees (C23 7.24.3.4, 7.24.3.5) release
 * blocks of every family they apply to while the allocator keeps working. */
#include <errno.h>

#include "conformance/checks.h"
#include "conformance/util.h"

static const size_t free_sizes[] = { 1, 16, 100, 1000, 4096, 20000, 200000, 1 << 21 };
#define NFREE (sizeof free_sizes / sizeof free_sizes[0])

/* A sentinel block that must survive everything a check does to other blocks. */
static void *sentinel(check_ctx_t *c)
{
    void *s = c->a->malloc(c->a->ctx, 200);

    if (s)
        ck_fill(s, 200, 0xfeed);
    return s;
}

static void end_sentinel(check_ctx_t *c, void *s)
{
    expect_true(c, ck_verify(s, 200, 0xfeed) < 0, "a block not freed was corrupted by frees");
    c->a->free(c->a->ctx, s);
}

static void run_free_null(check_ctx_t *c)
{
    void *s = sentinel(c);

    require_true(c, s != NULL, "malloc(200) failed");
    for (int i = 0; i < 100; i++)
        c->a->free(c->a->ctx, NULL);
    end_sentinel(c, s);
}

/* How a check frees p (allocated by f with align, size). */
typedef enum free_how { BY_FREE, BY_FREE_SIZED, BY_FREE_ALIGNED_SIZED } free_how_t;

static void release(const alloc_t *a, free_how_t how, void *p, size_t align, size_t size)
{
    if (how == BY_FREE_SIZED)
        a->free_sized(a->ctx, p, size);
    else if (how == BY_FREE_ALIGNED_SIZED)
        a->free_aligned_sized(a->ctx, p, align, size);
    else
        a->free(a->ctx, p);
}

/* Allocates with f at every size of free_sizes, frees with how, three rounds, checking errno
 * (set to a canary before each free) is untouched and the allocator keeps working. */
static void free_sweep(check_ctx_t *c, alloc_fn_t f, free_how_t how)
{
    void *s = sentinel(c);
    int err;

    require_true(c, s != NULL, "malloc(200) failed");
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < NFREE; i++) {
            size_t size = ck_sweep_size(f, 64, free_sizes[i]);
            void *p = ck_alloc(c->a, f, 64, size, &err);

            require_true(c, p != NULL, "%s(%zu) failed", ck_name(f), size);
            ck_fill(p, size, 1);
            errno = 4242;
            release(c->a, how, p, 64, size);
            ck_expect_errno(c, errno, 4242, "freeing a %zu-byte %s block changed errno to %d",
                            size, ck_name(f), errno);
        }
    }
    end_sentinel(c, s);
}

/* POSIX.1-2024 free: "The free() function shall not modify errno." */
static void run_free_errno(check_ctx_t *c)
{
    for (size_t i = 0; i < ck_alloc_fn_count; i++)
        if (alloc_has(c->a, ck_alloc_fns[i]))
            free_sweep(c, ck_alloc_fns[i], BY_FREE);
}

static void run_free_null_errno(check_ctx_t *c)
{
    errno = 4242;
    c->a->free(c->a->ctx, NULL);
    expect_true(c, errno == 4242, "free(NULL) changed errno to %d", errno);
}

static void run_free_sized_malloc(check_ctx_t *c) { free_sweep(c, AF_MALLOC, BY_FREE_SIZED); }
static void run_free_sized_calloc(check_ctx_t *c) { free_sweep(c, AF_CALLOC, BY_FREE_SIZED); }
static void run_free_sized_realloc(check_ctx_t *c) { free_sweep(c, AF_REALLOC, BY_FREE_SIZED); }
static void run_free_aligned_sized_aligned_alloc(check_ctx_t *c)
{
    free_sweep(c, AF_ALIGNED_ALLOC, BY_FREE_ALIGNED_SIZED);
}

/* Blocks resized by realloc are freed with their new size. */
static void run_free_sized_after_resize(check_ctx_t *c)
{
    for (size_t i = 0; i + 1 < NFREE; i++) {
        void *p = c->a->malloc(c->a->ctx, free_sizes[i]);

        require_true(c, p != NULL, "malloc(%zu) failed", free_sizes[i]);
        p = c->a->realloc(c->a->ctx, p, free_sizes[i + 1]);
        require_true(c, p != NULL, "realloc to %zu failed", free_sizes[i + 1]);
        errno = 4242;
        c->a->free_sized(c->a->ctx, p, free_sizes[i + 1]);
        ck_expect_errno(c, errno, 4242, "free_sized changed errno to %d", errno);
    }
}

/* C23 7.24.3.4p2/7.24.3.5p2: a null pointer does nothing. */
static void run_free_sized_null(check_ctx_t *c)
{
    errno = 4242;
    c->a->free_sized(c->a->ctx, NULL, 0);
    c->a->free_sized(c->a->ctx, NULL, 100);
    ck_expect_errno(c, errno, 4242, "free_sized(NULL) changed errno to %d", errno);
}

static void run_free_aligned_sized_null(check_ctx_t *c)
{
    errno = 4242;
    c->a->free_aligned_sized(c->a->ctx, NULL, 64, 0);
    c->a->free_aligned_sized(c->a->ctx, NULL, 4096, 100);
    ck_expect_errno(c, errno, 4242, "free_aligned_sized(NULL) changed errno to %d", errno);
}

#define FREE_BIT AF_BIT(AF_FREE)
#define FS_BIT AF_BIT(AF_FREE_SIZED)
#define FAS_BIT AF_BIT(AF_FREE_ALIGNED_SIZED)
#define FREE_CHECK_F(n, fn, id, clause, desc, needs, flags) \
    const check_t check_##n = { id, fn, clause, desc, (needs) | FREE_BIT | AF_BIT(AF_MALLOC), \
                                flags, run_##n };
#define FREE_CHECK(n, fn, id, clause, desc, needs) \
    FREE_CHECK_F(n, fn, id, clause, desc, needs, 0)
FREE_CHECK(free_null, "free", "free-null", "C17 7.22.3.3p2", "free(NULL) does nothing", 0)
FREE_CHECK_F(free_null_errno, "free", "free-null-errno", "POSIX.1-2024 free",
             "free(NULL) leaves errno alone", 0, CHECK_ERRNO)
FREE_CHECK_F(free_errno, "free", "free-errno-preserved", "POSIX.1-2024 free",
             "free of small, large and mmap-sized blocks of every function leaves errno alone", 0,
             CHECK_ERRNO)
FREE_CHECK(free_sized_malloc, "free_sized", "free-sized-malloc", "C23 7.24.3.4",
           "free_sized with the requested size releases malloc blocks, errno kept", FS_BIT)
FREE_CHECK(free_sized_calloc, "free_sized", "free-sized-calloc", "C23 7.24.3.4",
           "free_sized releases calloc blocks, errno kept", FS_BIT | AF_BIT(AF_CALLOC))
FREE_CHECK(free_sized_realloc, "free_sized", "free-sized-realloc", "C23 7.24.3.4",
           "free_sized releases realloc(NULL, n) blocks, errno kept",
           FS_BIT | AF_BIT(AF_REALLOC))
FREE_CHECK(free_sized_after_resize, "free_sized", "free-sized-after-resize", "C23 7.24.3.4",
           "free_sized with the new size after realloc", FS_BIT | AF_BIT(AF_REALLOC))
FREE_CHECK(free_sized_null, "free_sized", "free-sized-null", "C23 7.24.3.4p2",
           "free_sized(NULL, n) does nothing and keeps errno", FS_BIT)
FREE_CHECK(free_aligned_sized_aligned_alloc, "free_aligned_sized",
           "free-aligned-sized-aligned-alloc", "C23 7.24.3.5",
           "free_aligned_sized releases aligned_alloc blocks, errno kept",
           FAS_BIT | AF_BIT(AF_ALIGNED_ALLOC))
FREE_CHECK(free_aligned_sized_null, "free_aligned_sized", "free-aligned-sized-null",
           "C23 7.24.3.5p2", "free_aligned_sized(NULL, a, n) does nothing and keeps errno",
           FAS_BIT)
