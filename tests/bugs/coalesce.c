/* A small correct allocator for the footprint and speed bugs of allocheck profile: boundary
 * tags (each block's header holds its size and its predecessor's), free blocks in bins (exact
 * 16-byte bins below 1 KiB, one bin per power of two above), first fit from the request's own
 * bin upward, split on allocation, neighbours merged on free (into the top of the heap when
 * the block borders it), and the top's pages given back once 1 MiB lies unused past it.
 * Blocks over 1 MiB are mmap'ed. One mutex. The standard names malloc, calloc, realloc, free
 * and malloc_usable_size; the other functions are absent (allocheck skips what a plugin lacks).
 * Seeded bugs, each a few lines under its switch (tests/bugs/README.md, Footprint bugs):
 * - BUG_NO_COALESCE: free never merges a block with its neighbours or the top, so holes
 *   left by small blocks can never serve larger ones;
 * - BUG_FIRST_FIT_WALK: the search starts from the smallest bin and walks every block of
 *   every bin until one fits, so many small free blocks make every larger request slow.
 * And one switch that is not a bug but a test's tool: CRASH_OVER=N makes any request over N
 * bytes write through NULL (allocheck profile must show it as a crashed cell).
 * Leaves out: aligned allocation, fork handlers, returning memory from the middle of the heap. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define EXPORT __attribute__((visibility("default")))

enum { HDR = 16, MIN_BLOCK = 32, EXACT_BINS = 64, NBINS = EXACT_BINS + 48 };
#define HEAP_RESERVE ((size_t)1 << 30)
#define BIG ((size_t)1 << 20)
#define IN_USE ((size_t)1)
#define MAPPED ((size_t)2)

typedef struct block {
    size_t prev_size;     /* the size of the block before (0: none) */
    size_t size;          /* this block's size, header included, | IN_USE | MAPPED */
    struct block *next, *prev;   /* in its bin, while free */
} block_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *heap, *top, *hiwater;
static size_t top_prev;   /* the size of the block just below the top (0: none) */
static block_t *bin[NBINS];

static size_t bsize(const block_t *b)
{
    return b->size & ~(IN_USE | MAPPED);
}

static block_t *after(block_t *b)
{
    return (block_t *)((char *)b + bsize(b));
}

static int bin_of(size_t sz)
{
    if (sz < (size_t)EXACT_BINS * 16)
        return (int)(sz / 16);
    int k = 63 - __builtin_clzll(sz);
    return EXACT_BINS + k - 10 < NBINS ? EXACT_BINS + k - 10 : NBINS - 1;
}

static void bin_push(block_t *b)
{
    int i = bin_of(bsize(b));
    b->prev = NULL, b->next = bin[i];
    if (bin[i])
        bin[i]->prev = b;
    bin[i] = b;
}

static void bin_unlink(block_t *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        bin[bin_of(bsize(b))] = b->next;
    if (b->next)
        b->next->prev = b->prev;
}

/* Tells the block after b (if any) how big b is. */
static void set_size(block_t *b, size_t sz, size_t flags)
{
    b->size = sz | flags;
    if ((char *)b + sz < top)
        after(b)->prev_size = sz;
    else
        top_prev = sz;
}

static block_t *search(size_t sz)
{
#if BUG_FIRST_FIT_WALK
    int from = 0;
#else
    int from = bin_of(sz);
#endif
    for (int i = from; i < NBINS; i++)
        for (block_t *b = bin[i]; b; b = b->next)
            if (bsize(b) >= sz)
                return b;
    return NULL;
}

static block_t *take(block_t *b, size_t sz)
{
    bin_unlink(b);
    size_t have = bsize(b);
    if (have - sz >= MIN_BLOCK) {
        set_size(b, sz, IN_USE);
        block_t *rest = after(b);
        rest->prev_size = sz;
        set_size(rest, have - sz, 0);
        bin_push(rest);
    } else {
        set_size(b, have, IN_USE);
    }
    return b;
}

static block_t *grow(size_t sz)
{
    if (!heap) {
        void *m = mmap(NULL, HEAP_RESERVE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        heap = top = hiwater = m;
    }
    if ((size_t)(heap + HEAP_RESERVE - top) < sz)
        return NULL;
    block_t *b = (block_t *)top;
    b->prev_size = top_prev;
    top_prev = sz;
    top += sz;
    hiwater = top > hiwater ? top : hiwater;
    b->size = sz | IN_USE;
    return b;
}

static void *big_alloc(size_t sz)
{
    sz = (sz + 4095) & ~(size_t)4095;
    block_t *b = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b == MAP_FAILED)
        return NULL;
    b->prev_size = 0, b->size = sz | MAPPED | IN_USE;
    return (char *)b + HDR;
}

static size_t request(size_t n)
{
    if (n > ((size_t)1 << 46))
        return 0;
    size_t sz = (n + HDR + 15) & ~(size_t)15;
    return sz < MIN_BLOCK ? MIN_BLOCK : sz;
}

EXPORT void *malloc(size_t n)
{
#ifdef CRASH_OVER
    if (n > CRASH_OVER)
        *(volatile int *)(uintptr_t)n = 0;
#endif
    size_t sz = request(n);
    if (!sz) {
        errno = ENOMEM;
        return NULL;
    }
    if (sz > BIG)
        return big_alloc(sz);
    pthread_mutex_lock(&lock);
    block_t *b = search(sz);
    b = b ? take(b, sz) : grow(sz);
    pthread_mutex_unlock(&lock);
    if (!b)
        errno = ENOMEM;
    return b ? (char *)b + HDR : NULL;
}

/* Gives back the pages past the top once a megabyte lies unused there. */
__attribute__((unused)) static void trim_top(void)
{
    char *from = (char *)(((uintptr_t)top + 4095) & ~(uintptr_t)4095);
    if (hiwater > from && (size_t)(hiwater - from) >= BIG) {
        madvise(from, (size_t)(hiwater - from), MADV_DONTNEED);
        hiwater = from;
    }
}

#if !BUG_NO_COALESCE
static block_t *merge(block_t *b)
{
    if ((char *)b != heap && b->prev_size) {
        block_t *p = (block_t *)((char *)b - b->prev_size);
        if (!(p->size & IN_USE)) {
            bin_unlink(p);
            set_size(p, bsize(p) + bsize(b), 0);
            b = p;
        }
    }
    block_t *n = after(b);
    if ((char *)n < top && !(n->size & IN_USE)) {
        bin_unlink(n);
        set_size(b, bsize(b) + bsize(n), 0);
    }
    return b;
}
#endif

static void release(block_t *b)
{
    b->size &= ~IN_USE;
#if !BUG_NO_COALESCE
    b = merge(b);
    if ((char *)after(b) == top) {
        top = (char *)b;
        top_prev = b->prev_size;
        trim_top();
        return;
    }
#endif
    bin_push(b);
}

EXPORT void free(void *p)
{
    if (!p)
        return;
    block_t *b = (block_t *)((char *)p - HDR);
    if (b->size & MAPPED) {
        munmap(b, bsize(b));
        return;
    }
    pthread_mutex_lock(&lock);
    release(b);
    pthread_mutex_unlock(&lock);
}

EXPORT size_t malloc_usable_size(void *p)
{
    return p ? bsize((block_t *)((char *)p - HDR)) - HDR : 0;
}

EXPORT void *calloc(size_t nmemb, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = malloc(n);
    if (p)
        memset(p, 0, n);
    return p;
}

EXPORT void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    if (n == 0) {
        free(p);
        return NULL;
    }
    size_t have = malloc_usable_size(p);
    if (have >= n)
        return p;
    void *q = malloc(n);
    if (q) {
        memcpy(q, p, have < n ? have : n);
        free(p);
    }
    return q;
}
