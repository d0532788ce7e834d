/* A seeded bug too unlike base.c to be one of its switches: a stack-like bump heap that packs
 * blocks at 8 bytes. Freeing the newest block rolls the top back, so blocks taken one at a time
 * all land at the first, 16-aligned, address: only blocks live together show that every other
 * one is 8-aligned (C17 7.22.3p1 owes 16). Caught by malloc-align since it keeps blocks live. */
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>

#define EXPORT __attribute__((visibility("default")))
#define ARENA ((size_t)1 << 32)

static char *base, *top, *newest;

EXPORT void *malloc(size_t n)
{
    if (!base) {
        base = mmap(NULL, ARENA, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (base == MAP_FAILED)
            return base = NULL;
        top = base + 8;   /* header at 8, so the first payload is 16-aligned */
    }
    if (n > ARENA / 2 || (size_t)(top - base) > ARENA / 2)
        return NULL;
    n = (n + 8 + 7) & ~(size_t)7;
    char *p = top + 8;
    top += n;
    newest = p;
    return p;
}

EXPORT void free(void *p)
{
    if (p && p == newest) {
        top = (char *)p - 8;
        newest = NULL;
    }
}
