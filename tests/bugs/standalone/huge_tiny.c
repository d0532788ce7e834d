/* A seeded bug too unlike base.c to be one of its switches: malloc rounds the size up before
 * checking it, so a size near SIZE_MAX wraps to a tiny block, and the header keeps the size as
 * asked. free then walks that size a page at a time (as an allocator returning pages to the
 * system would) and never finishes. A harness that frees the block it got for an impossible
 * size hangs in free and reports a timeout instead of the wrapped size: the checks must leak
 * such a block and name the overflow. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define EXPORT __attribute__((visibility("default")))
#define ARENA ((size_t)1 << 30)
#define HDR 16

static char *base, *top;
static volatile size_t pages_walked;

static char *arena(void)
{
    if (!base) {
        base = mmap(NULL, ARENA, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (base == MAP_FAILED)
            return base = NULL;
        top = base;
    }
    return base;
}

/* Not named malloc, so the compiler cannot turn calloc's grab + memset into a call to
 * calloc itself. */
static void *grab(size_t n)
{
    size_t want = (n + HDR + 15) & ~(size_t)15;   /* wraps for n near SIZE_MAX: the bug */

    if (!arena() || want > ARENA - (size_t)(top - base)) {
        errno = ENOMEM;
        return NULL;
    }
    /* The bump is atomic: the fuzzer runs threads at once (--schedule=bursts), and a racy
     * bump would be a bug of its own, found before the one seeded here. */
    char *at = __atomic_fetch_add(&top, want, __ATOMIC_RELAXED);
    *(size_t *)at = n;
    return at + HDR;
}

EXPORT void *malloc(size_t n)
{
    return grab(n);
}

EXPORT void free(void *p)
{
    if (!p)
        return;
    size_t n = *(size_t *)((char *)p - HDR);
    for (size_t off = 0; off < n; off += 4096)
        pages_walked++;   /* 2^52 steps for a wrapped size: a hang */
}

EXPORT void *calloc(size_t m, size_t n)
{
    size_t t;
    if (__builtin_mul_overflow(m, n, &t)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = grab(t);
    return p ? memset(p, 0, t) : NULL;
}

EXPORT void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    size_t old = *(size_t *)((char *)p - HDR);
    void *q = grab(n);
    if (q) {
        memcpy(q, p, old < n ? old : n);
        free(p);
    }
    return q;
}
