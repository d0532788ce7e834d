/* The seeded-bug allocators: one small, correct, thread-safe allocator, and one realistic bug
 * per -DBUG_X=1 switch (tests/bugs/meson.build builds one plugin per bug; README.md lists them).
 * Terms: "raw" is a block as carved (class block from a bump chunk, or an mmap for big ones);
 * "p" is what the caller gets, with a 32-byte header right before it. Free class blocks sit on
 * a LIFO list per class, linked through their first payload word. One global mutex, fork-safe.
 * Leaves out: speed. Every bug is a few lines under #if BUG_X, so the diff to the clean
 * allocator is the bug and nothing else. -DAS_DESCRIPTOR=1 exports allocheck_plugin instead. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "allocheck/plugin.h"

#define HDR 32u                  /* header size: keeps payloads 16-aligned */
#define CHUNK (4u << 20)         /* bump chunk for class blocks */
#define SLACK (128u << 10)       /* unused tail of a chunk (BUG_FREE_CORRUPTS_NEIGHBOUR) */
#define MAX_CLASS (64u << 10)    /* bigger blocks are mmap'ed on their own */
#define NCLASS 64
#define NO_REUSE_ARENA (16u << 20)
#ifndef LATE_FREES
#define LATE_FREES 20000         /* BUG_LATE_FREE_LIST: class frees before the list breaks */
#endif
#ifndef ALIGNED_ARENA_CELLS
#define ALIGNED_ARENA_CELLS 64   /* BUG_ALIGNED_ARENA: small over-aligned blocks it can hold */
#endif
#define ARENA_MIN_ALIGN (64u << 10)
#ifndef PURGE_LIVE
#define PURGE_LIVE (32u << 20)   /* BUG_BIG_HEAP_PURGE: live bytes past which frees purge */
#endif
#define PURGE_MIN (16u << 10)    /* BUG_BIG_HEAP_PURGE: smallest freed block it purges */

typedef struct hdr {
    size_t size;     /* requested size */
    size_t offset;   /* p - raw */
    size_t rawsize;  /* class size, or mmap length for big blocks */
    size_t spare;
} hdr_t;

typedef struct freeblk {
    struct freeblk *next;
} freeblk_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static size_t class_size[NCLASS];
static size_t nclass;
static freeblk_t *free_head[NCLASS];
static char *bump, *bump_end;
static size_t arena_total;
static unsigned long nfrees;
static freeblk_t *last_alloc[NCLASS];

#if BUG_DATA_RACE /* no locking at all: "single-threaded allocator shipped as thread-safe" */
#define LOCK() ((void)0)
#define UNLOCK() ((void)0)
#else
#define LOCK() pthread_mutex_lock(&lock)
#define UNLOCK() pthread_mutex_unlock(&lock)
#endif

static hdr_t *hdr_of(void *p)
{
    return (hdr_t *)((char *)p - HDR);
}

static size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

static bool is_pow2(size_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

static void prepare_fork(void) { LOCK(); }
static void parent_fork(void) { UNLOCK(); }
static void child_fork(void) { pthread_mutex_init(&lock, NULL); }

/* Classes 48..128 by 16, then four per doubling up to MAX_CLASS. Registered outside any lock:
 * glibc's pthread_atfork may call malloc, which under preload: is us. */
__attribute__((constructor)) static void base_init(void)
{
    for (size_t s = 48; s <= 128; s += 16)
        class_size[nclass++] = s;
    for (size_t p2 = 128; p2 < MAX_CLASS; p2 *= 2)
        for (size_t q = 1; q <= 4; q++)
            class_size[nclass++] = p2 + p2 / 4 * q;
#if !BUG_FORK_DEADLOCK /* the bug: no atfork handlers, a child inherits a held lock */
    pthread_atfork(prepare_fork, parent_fork, child_fork);
#else
    (void)prepare_fork, (void)parent_fork, (void)child_fork;
#endif
}

static size_t class_of(size_t need)
{
    for (size_t i = 0; i < nclass; i++)
        if (class_size[i] >= need)
            return i;
    return nclass;
}

static freeblk_t **link_of(char *raw, size_t rawsize)
{
#if BUG_FREE_CORRUPTS_NEIGHBOUR /* link placed with the block size added twice: next payload */
    return (freeblk_t **)(raw + rawsize + HDR);
#else
    (void)rawsize;
    return (freeblk_t **)(raw + HDR);
#endif
}

/* Carves a fresh class block. Called locked. */
static char *carve(size_t rawsize)
{
    if (bump == NULL || (size_t)(bump_end - bump) < rawsize) {
#if BUG_NO_REUSE
        if (arena_total >= NO_REUSE_ARENA)
            return NULL;
#endif
        void *m = mmap(NULL, CHUNK + SLACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        bump = m;
        bump_end = bump + CHUNK;
        arena_total += CHUNK;
    }
    char *raw = bump;
    bump += rawsize;
    return raw;
}

#if BUG_HANG_ON_PATTERN
/* Debug walk for double frees over the class list. */
static bool on_list(size_t c, char *raw)
{
    for (freeblk_t *b = free_head[c]; b != NULL; b = *link_of((char *)b, class_size[c]))
        if ((char *)b == raw)
            return true;
    return false;
}
#endif

/* Pushes a raw class block on its list. Called locked. */
static void push(size_t c, char *raw)
{
#if BUG_NO_REUSE /* an arena allocator used as a general-purpose one: free is a no-op */
    (void)c, (void)raw;
    return;
#endif
#if BUG_HANG_ON_PATTERN
    if (on_list(c, raw))
        return;
    /* "Keep the list address-ordered when cheap": a block above a one-entry list is appended,
     * but its link is set to the head instead of NULL, so the list becomes a cycle and the
     * next free of that class walks it forever. */
    freeblk_t *h = free_head[c];
    if (h != NULL && *link_of((char *)h, class_size[c]) == NULL && raw > (char *)h) {
        *link_of((char *)h, class_size[c]) = (freeblk_t *)raw;
        *link_of(raw, class_size[c]) = h;
        return;
    }
#endif
    *link_of(raw, class_size[c]) = free_head[c];
    free_head[c] = (freeblk_t *)raw;
#if BUG_OVERLAP_DOUBLE_ISSUE /* the "hot block" fast path pushes the newest block once more */
    if (last_alloc[c] == (freeblk_t *)raw) {
        *link_of(raw, class_size[c]) = free_head[c];
        free_head[c] = (freeblk_t *)raw;
        last_alloc[c] = NULL;
    }
#endif
}

/* Takes a block off a class list. Called locked. */
static char *pop(size_t c)
{
#if BUG_HANG_ON_PATTERN
    /* Hands out the lowest-addressed block, found by walking to the end of the list. */
    freeblk_t **lowest = &free_head[c];
    for (freeblk_t **l = lowest; *l != NULL; l = link_of((char *)*l, class_size[c]))
        if (*l < *lowest)
            lowest = l;
    char *raw = (char *)*lowest;
    if (raw != NULL)
        *lowest = *link_of(raw, class_size[c]);
    return raw;
#else
    char *raw = (char *)free_head[c];
    if (raw != NULL)
        free_head[c] = *link_of(raw, class_size[c]);
    return raw;
#endif
}

#if BUG_ALIGNED_ARENA
/* Small over-aligned requests (alignment >= 64 KiB, at most a page) each take the next cell
 * of a side arena: "they are rare, the arena is big". Free gives the block's memory back but
 * never its cell, so after ALIGNED_ARENA_CELLS of them (about a million fuzzing ops for 900)
 * every such request fails while almost nothing is live. */
static size_t cells_used;

static bool arena_full(size_t align, size_t n)
{
    if (align < ARENA_MIN_ALIGN || n > 4096)
        return false;
    LOCK();
    bool full = cells_used >= ALIGNED_ARENA_CELLS;
    cells_used += !full;
    UNLOCK();
    return full;
}
#endif

#if BUG_BIG_NEVER_UNMAPPED
/* Freed big blocks are kept for reuse, never given back: "mmap is slow". */
typedef struct bigblk {
    struct bigblk *next;
    size_t len;
} bigblk_t;
static bigblk_t *big_cache;

static char *big_reuse(size_t len)
{
    LOCK();
    bigblk_t **pp = &big_cache;
    while (*pp && (*pp)->len != len)
        pp = &(*pp)->next;
    bigblk_t *b = *pp;
    if (b)
        *pp = b->next;
    UNLOCK();
    return (char *)b;
}
#endif

/* A raw block of at least need bytes; *rawsize gets its real size. */
static char *raw_alloc(size_t need, size_t *rawsize)
{
    size_t c = class_of(need);
    if (c == nclass) {
        size_t len = (need + page_size() - 1) & ~(page_size() - 1);
#if BUG_BIG_NEVER_UNMAPPED
        char *cached = big_reuse(len);
        if (cached) {   /* zeroed: calloc takes big blocks as fresh mmap memory */
            memset(cached, 0, len);
            *rawsize = len;
            return cached;
        }
#endif
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        *rawsize = len;
        return m == MAP_FAILED ? NULL : m;
    }
    *rawsize = class_size[c];
    LOCK();
    char *raw = pop(c);
    if (raw == NULL)
        raw = carve(class_size[c]);
    last_alloc[c] = (freeblk_t *)raw;
    UNLOCK();
    return raw;
}

#if BUG_BIG_HEAP_PURGE
/* Bytes held by live blocks (raw sizes), class and mmap'ed: the "memory pressure" gauge. */
static size_t live_bytes;

/* Under pressure a freed class block's pages go back to the kernel at once. The range should
 * start at the first page boundary inside the payload; it is rounded down instead, so the page
 * the block shares with the block below is zeroed: that block's tail is lost. Called locked,
 * before the free-list link is written. */
static void pressure_purge(char *raw, size_t rawsize)
{
    if (live_bytes > PURGE_LIVE && rawsize >= PURGE_MIN) {
        uintptr_t from = (uintptr_t)(raw + HDR) & ~(page_size() - 1);
        uintptr_t to = (uintptr_t)(raw + rawsize) & ~(page_size() - 1);
        madvise((void *)from, to - from, MADV_DONTNEED);
    }
}

static void count_bytes(ptrdiff_t delta)
{
    LOCK();
    live_bytes += (size_t)delta;
    UNLOCK();
}
#endif

static void raw_free(char *raw, size_t rawsize)
{
    if (rawsize > MAX_CLASS) {
#if BUG_BIG_NEVER_UNMAPPED
        LOCK();
        *(bigblk_t *)raw = (bigblk_t){ big_cache, rawsize };
        big_cache = (bigblk_t *)raw;
        UNLOCK();
#else
        munmap(raw, rawsize);
#endif
        return;
    }
    LOCK();
#if BUG_BIG_HEAP_PURGE /* only with more than PURGE_LIVE bytes live: a big or warm heap */
    pressure_purge(raw, rawsize);
#endif
#if BUG_FREE_FOOTER_OVERRUN /* a boundary-tag footer meant for the block's last word lands one
                             * header too far: in the next block's payload */
    *(size_t *)(raw + rawsize + HDR) = rawsize;
#endif
    nfrees++;
    push(class_of(rawsize), raw);
#if BUG_LATE_FREE_LIST /* a deferred-coalescing pass, first run after LATE_FREES frees, puts
                        * the block it was handed back on the list a second time: it is then
                        * handed out twice */
    if (nfrees > LATE_FREES)
        push(class_of(rawsize), raw);
#endif
    UNLOCK();
}

#if BUG_EMPTY_HEAP_RETIRED
/* A heap that emptied after holding many blocks is retired; nothing re-arms it. */
static size_t live, peak;
static bool retired;

static void count_live(bool alloc)
{
    LOCK();
    live = alloc ? live + 1 : live - 1;
    peak = live > peak ? live : peak;
    if (live == 0 && peak >= 64)
        retired = true;
    UNLOCK();
}
#endif

/* Per-entry-point bugs: -DBUG_X_FN=k hits only while entry point k (FN_*) is being served,
 * the way a slip in one wrapper or one size path leaves the other functions right. */
enum { FN_MALLOC = 1, FN_CALLOC, FN_REALLOC, FN_REALLOCARRAY, FN_ALIGNED_ALLOC,
       FN_POSIX_MEMALIGN, FN_MEMALIGN, FN_VALLOC, FN_PVALLOC };
#ifndef BUG_MISALIGN_FN
#define BUG_MISALIGN_FN 0
#endif
#ifndef BUG_UNDERSIZE_FN
#define BUG_UNDERSIZE_FN 0
#endif
#ifndef BUG_TRUNC32_FN
#define BUG_TRUNC32_FN 0
#endif
#ifndef BUG_ERRNO_FN
#define BUG_ERRNO_FN 0
#endif
#ifndef BUG_OOM_CRASH_FN
#define BUG_OOM_CRASH_FN 0
#endif
static __thread int entry;
#define AT(fn) ((fn) != 0 && entry == (fn))

static void *nomem(void)
{
#if !BUG_ERRNO_UNSET /* the bug: failures return NULL and leave errno as it was */
    errno = ENOMEM;
#endif
    return NULL;
}

/* The one allocation path: n bytes aligned to align (a power of two >= 16). */
static void *alloc_aligned(size_t align, size_t n)
{
    int saved = errno;
    size_t lead = HDR;
#if BUG_MALLOC_MISALIGNED8 /* a 40-byte header on small blocks: payloads only 8-aligned */
    if (align == 16 && n <= 256)
        lead = HDR + 8;
#endif
#if BUG_ALIGN_PAD_OVERFLOW /* glibc CVE-2026-0861: only the size is bounded, so a huge
                            * alignment's padding wraps `need` around to a few bytes */
    if (n > PTRDIFF_MAX)
        return nomem();
#else
    if (n > PTRDIFF_MAX || align > PTRDIFF_MAX || n > SIZE_MAX - lead - (align - 16))
        return nomem();
#endif
    size_t rawsize, need = n + lead + (align - 16);
    size_t shift = AT(BUG_MISALIGN_FN) ? 8 : 0; /* a tag word put before the payload after
                                                * the alignment was worked out */
    need += shift;
    if (AT(BUG_UNDERSIZE_FN)) /* the block is carved for the size counted in the wrong unit */
        need -= n / 2;
#if BUG_EMPTY_HEAP_RETIRED
    if (retired)
        return nomem();
    count_live(true);
#endif
#if BUG_CRASH_ON_SIZE /* exact-boundary lookup one past the table end, once the lists are warm */
    if (n == 1024 && nfrees >= 3)
        *(volatile size_t *)class_size[NCLASS - 1] = need;
#endif
#if BUG_ALIGNED_ARENA /* the cell is taken for good, whatever free does later */
    if (arena_full(align, n))
        return nomem();
#endif
    char *raw = raw_alloc(need, &rawsize);
    if (raw == NULL && AT(BUG_OOM_CRASH_FN)) /* "mmap does not fail": the header goes through
                                               * NULL when memory runs out */
        raw = (char *)(uintptr_t)page_size();
    if (raw == NULL) {
        errno = saved;
        return nomem();
    }
#if BUG_BIG_HEAP_PURGE
    count_bytes((ptrdiff_t)rawsize);
#endif
    char *p = raw + lead;  /* raw is 16-aligned: only bigger alignments need rounding */
    if (align > 16)
        p += (align - (uintptr_t)p % align) % align;
    p += shift;
    hdr_t *h = hdr_of(p);
    h->size = n;
    h->offset = (size_t)(p - raw);
    h->rawsize = rawsize;
    return p;
}

static size_t usable(void *p)
{
    hdr_t *h = hdr_of(p);
    return h->rawsize - h->offset;
}

#if BUG_ZERO_SHARED /* every malloc(0) gets one static empty block, which free ignores */
static struct {
    hdr_t h;
    char payload[16];
} zero_block __attribute__((aligned(16))) = { { 0, HDR, HDR, 0 }, { 0 } };
#endif

static void x_free(void *p)
{
#if BUG_FREE_NULL_ERRNO /* the invalid-pointer check reports NULL too */
    if (p == NULL)
        errno = EINVAL;
#endif
#if !BUG_FREE_NULL_CRASH /* the bug: no NULL case, the header in front of NULL is read */
    if (p == NULL)
        return;
#endif
#if BUG_ZERO_SHARED
    if (p == zero_block.payload)
        return;
#endif
    int saved = errno;
    hdr_t *h = hdr_of(p);
    char *raw = (char *)p - h->offset;
#if BUG_BIG_HEAP_PURGE
    count_bytes(-(ptrdiff_t)h->rawsize);
#endif
    raw_free(raw, h->rawsize);
#if BUG_EMPTY_HEAP_RETIRED
    count_live(false);
#endif
#if BUG_FREE_CLOBBERS_ERRNO /* a page-release hint on an unaligned address fails: EINVAL leaks */
    (void)saved;
    madvise(raw, 1, MADV_WILLNEED);
#else
    errno = saved;
#endif
}

static void *x_malloc(size_t n)
{
    if (AT(BUG_TRUNC32_FN)) /* an internal interface takes `unsigned` sizes */
        n = (uint32_t)n;
#if BUG_SIZE_WRAP /* rounds to 16 before any size check: n > SIZE_MAX - 15 wraps to 0 */
    n = (n + 15) & ~(size_t)15;
#endif
#if BUG_ZERO_SHARED
    if (n == 0)
        return zero_block.payload;
#endif
#if BUG_CALLOC_WORDS_ONLY /* junk-fills new blocks, as a debugging allocator does */
    void *p = alloc_aligned(16, n);
    if (p != NULL && hdr_of(p)->rawsize <= MAX_CLASS)
        memset(p, 0xA5, n);
    return p;
#else
    return alloc_aligned(16, n);
#endif
}

static bool mul_overflows(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

static void *x_calloc(size_t nmemb, size_t size)
{
    size_t n;
#if BUG_CALLOC_OVERFLOW /* the product is not checked for overflow */
    n = nmemb * size;
#else
    if (mul_overflows(nmemb, size, &n))
        return nomem();
#endif
    void *p = x_malloc(n);
    if (p == NULL)
        return NULL;
#if !BUG_CALLOC_RECYCLED_DIRTY /* the bug: "our memory comes from mmap, it is zero" */
    if (hdr_of(p)->rawsize <= MAX_CLASS)
#if BUG_CALLOC_WORDS_ONLY /* clears whole 8-byte words: the last n % 8 bytes keep the junk */
        memset(p, 0, n & ~(size_t)7);
#else
        memset(p, 0, n);
#endif
#endif
    return p;
}

static void *x_realloc(void *p, size_t n)
{
#if !BUG_REALLOC_NULL_CRASH /* the bug: no NULL case, the header in front of NULL is read */
    if (p == NULL)
        return x_malloc(n);
#endif
    if (n == 0) { /* glibc's choice (C17 7.22.3.5p3), with POSIX.1-2024's EINVAL */
        x_free(p);
        errno = EINVAL;
        return NULL;
    }
    hdr_t *h = hdr_of(p);
    /* In place unless that would strand more than half the block (a big shrink moves, so
     * the memory goes back). */
    if (n <= usable(p) && n >= usable(p) / 2 && h->offset == HDR) {
#if !BUG_SIZED_STALE /* the bug: an in-place resize keeps the size recorded at allocation */
        h->size = n;
#endif
        return p;
    }
    void *q = x_malloc(n);
    if (q == NULL) {
#if BUG_REALLOC_FAIL_FREES /* C17 7.22.3.5p3 says the old object is left intact */
        x_free(p);
#endif
        return NULL;
    }
    size_t keep = h->size < n ? h->size : n;
#if BUG_REALLOC_SHORT_COPY /* off by one in the copy length when the block moves */
    keep -= keep > 0;
#endif
    memcpy(q, p, keep);
#if BUG_REALLOC_LEAK /* the move path forgets the old block of a medium class: "free is below" */
    if (h->rawsize >= 1024 && h->rawsize <= MAX_CLASS)
        return q;
#endif
    x_free(p);
    return q;
}

static void *x_reallocarray(void *p, size_t nmemb, size_t size)
{
    size_t n;
#if BUG_REALLOCARRAY_NO_OVERFLOW /* the product is not checked for overflow */
    n = nmemb * size;
#else
    if (mul_overflows(nmemb, size, &n))
        return nomem();
#endif
    return x_realloc(p, n);
}

static void *x_aligned(size_t align, size_t n)
{
    if (AT(BUG_TRUNC32_FN)) { /* an internal interface takes `unsigned` sizes */
        align = (uint32_t)align;
        n = (uint32_t)n;
    }
    if (align < 16)
        align = 16;
#if BUG_ALIGNED_MISALIGNED /* size == alignment in 128..2048 takes the small-block fast path */
    if (n == align && align >= 128 && align <= 2048)
        align = 16;
#endif
    return alloc_aligned(align, n);
}

static void *x_aligned_alloc(size_t align, size_t n)
{
#if BUG_ALIGNED_NONPOW2_ACCEPTED /* glibc < 2.38: rounds a bad alignment up instead of EINVAL */
    if (align != 0 && !is_pow2(align))
        align = (size_t)1 << (64 - __builtin_clzll(align));
#endif
    if (!is_pow2(align)) { /* C17 DR 460: may fail; POSIX: EINVAL */
        errno = EINVAL;
        return NULL;
    }
    return x_aligned(align, n);
}

static void *x_memalign(size_t align, size_t n)
{
    if (!is_pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
#if BUG_MEMALIGN_ZERO_UNALIGNED /* jemalloc 5.3: size 0 takes the malloc(0) path and drops
                                 * the alignment */
    if (n == 0)
        return x_malloc(0);
#endif
    return x_aligned(align, n);
}

static int x_posix_memalign(void **memptr, size_t align, size_t n)
{
    if (!is_pow2(align) || align % sizeof(void *) != 0) {
#if BUG_POSIX_MEMALIGN_CLOBBERS /* allocates before validating; POSIX: on failure *memptr
                                 * is left unmodified or set to a null pointer */
        *memptr = x_aligned(align < 16 ? 16 : (size_t)1 << (64 - __builtin_clzll(align)), n);
#endif
        return EINVAL;
    }
#if BUG_POSIX_MEMALIGN_ZERO_NOSTORE /* "nothing to allocate": success without a store */
    if (n == 0)
        return 0;
#endif
    int saved = errno;  /* POSIX: returns the error, errno untouched */
    void *p = x_aligned(align, n);
    errno = saved;
    if (p == NULL)
        return ENOMEM;
    *memptr = p;
    return 0;
}

static void *x_valloc(size_t n)
{
#if BUG_VALLOC_NOT_PAGE /* only page-aligns requests of at least a page */
    if (n < page_size())
        return x_malloc(n);
#endif
    return x_aligned(page_size(), n);
}

static void *x_pvalloc(size_t n)
{
    size_t ps = page_size();
#if !BUG_PVALLOC_NO_ROUND /* the bug: the size is not rounded up to a page multiple */
    if (n > SIZE_MAX - ps)
        return nomem();
    n = n == 0 ? ps : (n + ps - 1) & ~(ps - 1);
#endif
    return x_aligned(ps, n);
}

static size_t x_usable_size(void *p)
{
#if !BUG_USABLE_NULL_CRASH /* the bug: reads the header of NULL */
    if (p == NULL)
        return 0;
#endif
#if BUG_USABLE_SIZE_LIES /* counts the next block's header and payload head as its own */
    return usable(p) + 2 * HDR;
#else
    return usable(p);
#endif
}

/* BUG_SIZED_CLOBBERS_ERRNO: the sized frees, added later, send a release hint of their own
 * outside free's errno guard; on an unaligned address it fails with EINVAL. */
static void sized_hint(void *p)
{
#if BUG_SIZED_CLOBBERS_ERRNO
    if (p != NULL)
        madvise(p, 1, MADV_WILLNEED);
#else
    (void)p;
#endif
}

/* C23 7.24.3.4-5: the size is a promise we do not need. */
static void x_free_sized(void *p, size_t n)
{
#if BUG_SIZED_STALE /* a hardened sized free refuses a size that does not match the record */
    if (p != NULL && n != hdr_of(p)->size) {
        errno = EINVAL;
        return;
    }
#endif
    (void)n;
    x_free(p);
    sized_hint(p);
}

static void x_free_aligned_sized(void *p, size_t align, size_t n)
{
    (void)align, (void)n;
    x_free(p);
    sized_hint(p);
}

/* Runs one entry point as `fn`; with BUG_ERRNO_FN a failure puts back the caller's errno
 * (a wrapper that saves errno around its internal calls, and restores it on every path). */
#define ENTRY(fn, call) ({ int e_saved = errno; entry = (fn); __typeof__(call) e_r = (call); \
    entry = 0; if (AT_ERRNO(fn, e_r)) errno = e_saved; e_r; })
#define AT_ERRNO(fn, r) ((fn) == BUG_ERRNO_FN && _Generic((r), int: 0, default: (r) == 0))

/* posix_memalign reports failure as -1 with errno, like the other functions do. */
static int x_posix_memalign_entry(void **pp, size_t a, size_t n)
{
    int r = ENTRY(FN_POSIX_MEMALIGN, x_posix_memalign(pp, a, n));
    if (BUG_ERRNO_FN == FN_POSIX_MEMALIGN && r == ENOMEM) {
        errno = ENOMEM;
        return -1;
    }
    return r;
}

#include "tests/bugs/export.h"
