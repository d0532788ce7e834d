/* A hardened-style allocator: glibc's heap behind a quarantine, as hardened allocators keep one.
 * A freed block is poisoned (0xdd; a large one over its first 64 KiB) and held back in a FIFO, 1,024 small blocks and 64 large
 * ones (64 KiB and up), before it really goes back; so memory freed a moment ago does not come
 * back at once. That trait is documented, not a bug: declared with the SPEC option
 * `:delayed-reuse`, allocheck must report no failure. -DQUAR_BUG_REALLOC_AFTER_POISON=1 seeds a
 * real bug that must still be caught: realloc quarantines (and poisons) the old block before
 * copying from it.
 * Leaves out: randomisation and guard pages. One mutex, fork-safe. */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))
#define SMALL_SLOTS 1024
#define LARGE_SLOTS 64
#define LARGE ((size_t)64 << 10)

void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);

typedef struct ring {
    void **slot;
    size_t cap, head, len;
} ring_t;

static void *small_slots[SMALL_SLOTS], *large_slots[LARGE_SLOTS];
static ring_t small = { small_slots, SMALL_SLOTS, 0, 0 }, large = { large_slots, LARGE_SLOTS, 0, 0 };
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static size_t (*libc_usable)(void *);

static void before_fork(void) { pthread_mutex_lock(&lock); }
static void after_fork(void) { pthread_mutex_unlock(&lock); }

__attribute__((constructor)) static void quarantine_init(void)
{
    libc_usable = (size_t (*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
    pthread_atfork(before_fork, after_fork, after_fork);
}

/* Holds p back; returns the block that leaves the quarantine to make room, or NULL. */
static void *hold(ring_t *r, void *p)
{
    void *out = NULL;
    if (r->len == r->cap) {
        out = r->slot[r->head];
        r->head = (r->head + 1) % r->cap;
        r->len--;
    }
    r->slot[(r->head + r->len) % r->cap] = p;
    r->len++;
    return out;
}

static size_t usable(void *p)
{
    return libc_usable ? libc_usable(p) : 0;
}

static void quarantine(void *p)
{
    if (!p)
        return;
    size_t n = usable(p);
    memset(p, 0xdd, n < LARGE ? n : LARGE);   /* large blocks: the head, as a canary */
    pthread_mutex_lock(&lock);
    void *out = hold(n >= LARGE ? &large : &small, p);
    pthread_mutex_unlock(&lock);
    __libc_free(out);
}

EXPORT void free(void *p)
{
    int saved = errno;
    quarantine(p);
    errno = saved;
}

EXPORT void *malloc(size_t n) { return __libc_malloc(n); }
EXPORT void *calloc(size_t m, size_t n) { return __libc_calloc(m, n); }
EXPORT size_t malloc_usable_size(void *p) { return p ? usable(p) : 0; }

EXPORT void *realloc(void *p, size_t n)
{
    if (!p)
        return __libc_malloc(n);
    if (n == 0) {
        free(p);
        errno = EINVAL;
        return NULL;
    }
    size_t have = usable(p);
    if (n <= have)
        return p;
    void *q = __libc_malloc(n);
    if (!q)
        return NULL;
#if QUAR_BUG_REALLOC_AFTER_POISON
    void *volatile old = p;   /* the bug reads a block it has just freed */
    free(old);
    memcpy(q, old, have);
#else
    memcpy(q, p, have);
    free(p);
#endif
    return q;
}

EXPORT void *memalign(size_t al, size_t n) { return __libc_memalign(al, n); }

EXPORT void *aligned_alloc(size_t al, size_t n)
{
    if (al == 0 || (al & (al - 1))) {
        errno = EINVAL;
        return NULL;
    }
    return __libc_memalign(al, n);
}

EXPORT int posix_memalign(void **mp, size_t al, size_t n)
{
    if (al < sizeof(void *) || (al & (al - 1)))
        return EINVAL;
    int saved = errno;
    void *p = __libc_memalign(al, n);
    int err = errno;
    errno = saved;
    if (!p)
        return err;
    *mp = p;
    return 0;
}
