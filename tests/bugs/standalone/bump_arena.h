/* The bump heap the page-granular seeded bugs share: one big private mapping, every block
 * rounded to whole pages with its size in the 16 bytes before it, never reused. A block's pages
 * always sit inside the arena's single mapping, so unmapping them splits it. */
#ifndef BUG_BUMP_ARENA_H
#define BUG_BUMP_ARENA_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define ARENA ((size_t)1 << 32)
#define PAGE ((size_t)4096)

static char *arena, *arena_top;

static int arena_lock;

static void *bump_locked(size_t n, size_t align)
{
    if (!arena) {
        arena = mmap(NULL, ARENA, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (arena == MAP_FAILED)
            return arena = NULL;
        arena_top = arena + PAGE;  /* a page kept below, so no block starts the mapping */
    }
    if (align > PAGE || n > ARENA / 4 || (size_t)(arena_top - arena) > ARENA / 2) {
        errno = ENOMEM;
        return NULL;
    }
    size_t len = (n + 16 + PAGE - 1) & ~(PAGE - 1);
    char *p = arena_top + (align > 16 ? PAGE - 16 : 0);  /* keep payload aligned */
    if (align > 16)
        len += PAGE;
    arena_top += len;
    *(size_t *)p = len;
    *(char **)(p + 8) = arena_top - len;
    return p + 16;
}

/* A block of n bytes aligned to align (a power of two up to PAGE): header page, then payload.
 * Locked: the fuzzer runs threads at once (--schedule=bursts), and a racy bump would be a
 * bug of its own, found before the one seeded here. */
static void *bump(size_t n, size_t align)
{
    while (__atomic_exchange_n(&arena_lock, 1, __ATOMIC_ACQUIRE))
        __builtin_ia32_pause();
    void *p = bump_locked(n, align);
    __atomic_store_n(&arena_lock, 0, __ATOMIC_RELEASE);
    return p;
}

static char *block_base(void *p) { return *(char **)((char *)p - 8); }
static size_t block_len(void *p) { return *(size_t *)((char *)p - 16); }

#endif
