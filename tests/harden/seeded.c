/* Seeded allocators for `allocheck harden`, one per outcome class, built from this one source:
 * every block its own mapping with its record out of band (so only the switch under test can
 * corrupt anything), freed blocks kept on a LIFO stack for reuse by blocks of the same size.
 *   HZ_ABORT  a double or invalid free prints "seeded: ..." and aborts     -> detected
 *   HZ_GUARD  blocks end at a PROT_NONE page and start after one           -> trapped
 *   HZ_DUP    a double free pushes the block on the stack a second time    -> corrupted: duplicate
 *   HZ_DIRTY  freed blocks are reused as they are                          -> leaked
 *   HZ_CLEAN  all of it done right: guards, checks that abort, zeroing on free; no case may
 *             come out corrupted or leaked.
 * Exports malloc, calloc, realloc and free. Built with -fno-builtin: gcc turns calloc's malloc +
 * memset into a call to calloc. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define MAX 8192
#define PAGE 4096u

#ifndef HZ_ABORT
#define HZ_ABORT 0
#endif
#ifndef HZ_GUARD
#define HZ_GUARD 0
#endif
#ifndef HZ_DUP
#define HZ_DUP 0
#endif
#ifndef HZ_DIRTY
#define HZ_DIRTY 0
#endif
#ifndef HZ_CLEAN
#define HZ_CLEAN 0
#endif

#if HZ_CLEAN
#define GUARD 1
#define CHECKS 1
#define ZERO 1
#else
#define GUARD HZ_GUARD
#define CHECKS HZ_ABORT
#define ZERO (!HZ_DIRTY && !HZ_DUP && !HZ_ABORT && !HZ_GUARD)
#endif

typedef struct rec {
    char *base, *ptr;
    size_t len, size;   /* the mapping; the block's size rounded to 16 */
    int state;          /* 0 unused, 1 live, 2 free */
} rec_t;

static rec_t recs[MAX];
static int nrecs, stack[MAX * 2], top;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void die(const char *what)
{
    static const char pre[] = "seeded: ";
    write(2, pre, sizeof pre - 1);
    write(2, what, strlen(what));
    write(2, "\n", 1);
    abort();
}

static rec_t *find(const void *p)
{
    for (int i = 0; i < nrecs; i++)
        if (recs[i].ptr == p)
            return &recs[i];
    return NULL;
}

/* A new mapping with the block at its end (before the guard page, when there is one). */
static rec_t *fresh(size_t size)
{
    if (nrecs == MAX || size > (1ull << 40))
        return NULL;
    size_t body = (size + PAGE - 1) / PAGE * PAGE, len = body + (GUARD ? 2 * PAGE : 0);
    char *m = mmap(NULL, len ? len : PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    if (GUARD) {
        mprotect(m, PAGE, PROT_NONE);
        mprotect(m + PAGE + body, PAGE, PROT_NONE);
    }
    rec_t *r = &recs[nrecs++];
    *r = (rec_t){ m, m + (GUARD ? PAGE : 0) + body - size, len, size, 1 };
    return r;
}

static rec_t *reuse(size_t size)
{
    for (int i = top - 1; i >= 0; i--) {
        rec_t *r = &recs[stack[i]];
        if (r->size == size) {
            memmove(&stack[i], &stack[i + 1], (size_t)(top - i - 1) * sizeof stack[0]);
            top--;
            r->state = 1;
            return r;
        }
    }
    return NULL;
}

EXPORT void *malloc(size_t n)
{
    size_t size = n ? (n + 15) & ~(size_t)15 : 16;
    if (size < n)
        return NULL;
    pthread_mutex_lock(&lock);
    rec_t *r = reuse(size);
    if (!r)
        r = fresh(size);
    pthread_mutex_unlock(&lock);
    return r ? r->ptr : NULL;
}

EXPORT void free(void *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&lock);
    rec_t *r = find(p);
    if (!r || r->state == 2) {
        pthread_mutex_unlock(&lock);
        if (CHECKS)
            die(r ? "double free" : "invalid free");
        if (!HZ_DUP || !r)
            return;
        pthread_mutex_lock(&lock);
    } else if (ZERO) {
        memset(r->ptr, 0, r->size);
    }
    r->state = 2;
    if (top < MAX * 2)
        stack[top++] = (int)(r - recs);
    pthread_mutex_unlock(&lock);
}

EXPORT void *calloc(size_t n, size_t m)
{
    if (m && n > SIZE_MAX / m)
        return NULL;
    void *p = malloc(n * m);
    if (p)
        memset(p, 0, n * m);
    return p;
}

EXPORT void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    pthread_mutex_lock(&lock);
    rec_t *r = find(p);
    size_t old = r && r->state == 1 ? r->size : 0;
    pthread_mutex_unlock(&lock);
    if (!r || !old) {
        if (CHECKS)
            die("realloc of a block not live");
        return NULL;
    }
    void *q = malloc(n);
    if (q) {
        memcpy(q, p, old < n ? old : n);
        free(p);
    }
    return q;
}
