/* Double frees: the same block freed twice, at once, after other frees, interleaved with a
 * neighbour's free (the fastbin dup), after the block was handed out again, across threads,
 * and for calloc and aligned blocks. An allocator that lets one through may hand the block out
 * twice: a duplicate-allocation primitive. */
#include <pthread.h>

#include "misuse/cases.h"

#define SMALL 32
#define LARGE 4096
#define MMAP (256 << 10)

typedef enum order { NOW, DELAYED, INTERLEAVED, REUSE } order_t;

/* Frees p twice in the given order; q and r are other blocks of the same size. */
static void double_free(mz_t *h, size_t size, order_t how)
{
    void *p = mz_must(h, size), *q = mz_must(h, size), *r = mz_must(h, size);
    if (!p || !q || !r)
        return;
    mz_begin(h, size);
    mz_free(h, p);
    if (how == DELAYED) {
        mz_free(h, q);
        mz_free(h, r);
    } else if (how == INTERLEAVED) {
        mz_free(h, q);
    } else if (how == REUSE) {
        void *again = mz_malloc(h, size);
        mz_got(h, again, size);
    }
    mz_free(h, p);
    mz_end(h);
    if (how == NOW || how == REUSE)
        mz_live(h, q, size);
    if (how == NOW || how == INTERLEAVED || how == REUSE)
        mz_live(h, r, size);
}

#define DF_CASE(n, size, how, id, cite) \
    static void run_##n(mz_t *h) { double_free(h, size, how); } \
    MISUSE(n, id, "the same block freed twice", cite, 0, 0)

DF_CASE(df_small_now, SMALL, NOW, "double-free-small", "hardened_malloc test/double_free_small")
DF_CASE(df_small_delayed, SMALL, DELAYED, "double-free-small-delayed",
        "mimalloc-bench bench/security/double_free_small_delayed")
DF_CASE(df_small_interleaved, SMALL, INTERLEAVED, "double-free-small-interleaved",
        "mimalloc-bench bench/security/double_free_small_interleaved")
DF_CASE(df_small_reuse, SMALL, REUSE, "double-free-small-reuse",
        "mimalloc-bench bench/security/double_free_small_reuse")
DF_CASE(df_large_now, LARGE, NOW, "double-free-large", "hardened_malloc test/double_free_large")
DF_CASE(df_large_delayed, LARGE, DELAYED, "double-free-large-delayed",
        "mimalloc-bench bench/security/double_free_large_delayed")
DF_CASE(df_large_interleaved, LARGE, INTERLEAVED, "double-free-large-interleaved",
        "mimalloc-bench bench/security/double_free_large_interleaved")
DF_CASE(df_large_reuse, LARGE, REUSE, "double-free-large-reuse",
        "mimalloc-bench bench/security/double_free_large_reuse")
DF_CASE(df_mmap_now, MMAP, NOW, "double-free-mmap", "new")
DF_CASE(df_mmap_delayed, MMAP, DELAYED, "double-free-mmap-delayed", "new")
DF_CASE(df_mmap_interleaved, MMAP, INTERLEAVED, "double-free-mmap-interleaved", "new")
DF_CASE(df_mmap_reuse, MMAP, REUSE, "double-free-mmap-reuse", "new")

/* The hand-checked sequence: free(p); free(q); free(p), then three mallocs. */
static void run_df_pqp(mz_t *h)
{
    double_free(h, 48, INTERLEAVED);
}
MISUSE(df_pqp, "double-free-pqp", "free(p); free(q); free(p) of 48-byte blocks (fastbin dup)",
       "new", 0, 0)

static void run_df_calloc(mz_t *h)
{
    const alloc_t *a = mz_alloc(h);
    void *p = a->calloc(a->ctx, 4, 8);
    if (!p) {
        mz_na(h, "calloc(4, 8) failed");
        return;
    }
    mz_begin(h, 32);
    mz_free(h, p);
    mz_free(h, p);
    mz_end(h);
}
MISUSE(df_calloc, "double-free-calloc", "a calloc block freed twice", "new", AF_BIT(AF_CALLOC), 0)

static void run_df_aligned(mz_t *h)
{
    const alloc_t *a = mz_alloc(h);
    void *p = a->aligned_alloc(a->ctx, 64, 64);
    if (!p) {
        mz_na(h, "aligned_alloc(64, 64) failed");
        return;
    }
    mz_begin(h, 64);
    mz_free(h, p);
    mz_free(h, p);
    mz_end(h);
}
MISUSE(df_aligned, "double-free-aligned", "an aligned_alloc block freed twice", "new",
       AF_BIT(AF_ALIGNED_ALLOC), 0)

typedef struct cross {
    mz_t *h;
    void *p;
} cross_t;

static void *free_there(void *arg)
{
    cross_t *c = arg;
    mz_free(c->h, c->p);
    return NULL;
}

/* One thread frees, a second thread frees again: thread caches see it once each. */
static void run_df_threads(mz_t *h)
{
    void *p = mz_must(h, SMALL);
    if (!p)
        return;
    cross_t c = { h, p };
    pthread_t t;
    mz_begin(h, SMALL);
    for (int i = 0; i < 2; i++) {
        if (pthread_create(&t, NULL, free_there, &c) != 0) {
            mz_na(h, "pthread_create failed");
            return;
        }
        pthread_join(t, NULL);
    }
    mz_end(h);
}
MISUSE(df_threads, "double-free-cross-thread", "a block freed in one thread, then again in another",
       "new", 0, MISUSE_THREADS)

static void run_df_main_thread(mz_t *h)
{
    void *p = mz_must(h, SMALL);
    if (!p)
        return;
    cross_t c = { h, p };
    pthread_t t;
    if (pthread_create(&t, NULL, free_there, &c) != 0) {
        mz_na(h, "pthread_create failed");
        return;
    }
    pthread_join(t, NULL);
    mz_begin(h, SMALL);
    mz_free(h, p);
    mz_end(h);
}
MISUSE(df_main_thread, "double-free-thread-then-main",
       "a block freed by a thread that exited, then again by the main thread", "new", 0,
       MISUSE_THREADS)
