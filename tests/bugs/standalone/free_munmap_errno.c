/* A seeded bug too unlike base.c to be one of its switches: free munmaps a block's pages and
 * lets munmap's errno through. Below the map-count limit munmap never fails, so
 * free-errno-preserved passes; at the limit, unmapping pages in the middle of the arena's
 * mapping needs a split the kernel refuses (ENOMEM), and that ENOMEM reaches the caller: what
 * glibc's tst-free-errno drives, caught by free-errno-map-limit. */
#include "bump_arena.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT void *malloc(size_t n) { return bump(n, 16); }

EXPORT void free(void *p)
{
    if (p)
        munmap(block_base(p), block_len(p));  /* the bug: errno not saved and restored */
}
