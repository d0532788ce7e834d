/* A seeded bug too unlike base.c to be one of its switches: a lock-free free list per size class
 * whose pushes and pops are relaxed, so a free in one thread does not happen before the
 * allocation in another that gets the block back (C17 7.22.3p2). The list stays consistent
 * (single CAS steps), and on x86 the stores land in order anyway: no contents check sees it.
 * ThreadSanitizer does, once this library is built with it: the CI step in .ci/run runs
 * threads-happens-before under build-tsan (suite bugs-tsan). */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>

#define EXPORT __attribute__((visibility("default")))
#define ARENA ((size_t)1 << 32)
#define CLASSES 22             /* 16 B << 0..21: up to 32 MiB */

typedef struct node { struct node *next; } node_t;

static _Atomic(node_t *) lists[CLASSES];
static _Atomic(char *) top;
static char *arena;

static int class_of(size_t n)
{
    int k = 0;

    while (((size_t)16 << k) < n + 16)
        k++;
    return k;
}

/* At load, before any thread: the only race left is the seeded one. */
__attribute__((constructor)) static void map_arena(void)
{
    char *a = mmap(NULL, ARENA, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    arena = a == MAP_FAILED ? NULL : a;
    atomic_store(&top, arena);
}

static char *fresh(size_t len)
{
    char *p = atomic_fetch_add(&top, len);
    return arena && p + len <= arena + ARENA ? p : NULL;
}

EXPORT void *malloc(size_t n)
{
    int k = class_of(n);
    if (k >= CLASSES) {
        errno = ENOMEM;
        return NULL;
    }
    node_t *b = atomic_load_explicit(&lists[k], memory_order_relaxed);
    while (b && !atomic_compare_exchange_weak_explicit(&lists[k], &b, b->next,
                                                       memory_order_relaxed,
                                                       memory_order_relaxed))
        ;
    char *p = b ? (char *)b : fresh((size_t)16 << k);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    *(size_t *)p = (size_t)k;
    return p + 16;
}

EXPORT void free(void *q)
{
    if (!q)
        return;
    node_t *b = (node_t *)((char *)q - 16);
    int k = (int)*(size_t *)b;
    b->next = atomic_load_explicit(&lists[k], memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&lists[k], &b->next, b, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;  /* the bug: relaxed, where a release (push) and an acquire (pop) are owed */
}
