/* A seeded bug too unlike base.c to be one of its switches: free_sized and free_aligned_sized
 * return without releasing (a "sized free is only a hint" shortcut). Nothing breaks for a
 * caller, every contents and errno check passes; only memory that never comes back shows it,
 * caught by free-sized-releases and free-aligned-sized-releases. */
#include "bump_arena.h"

#define EXPORT __attribute__((visibility("default")))

/* C23's, not yet in this libc's <stdlib.h>. */
void free_sized(void *p, size_t n);
void free_aligned_sized(void *p, size_t align, size_t n);

EXPORT void *malloc(size_t n) { return bump(n, 16); }

EXPORT void *aligned_alloc(size_t align, size_t n)
{
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    return bump(n, align);
}

EXPORT void free(void *p)
{
    int saved = errno;

    if (p)
        munmap(block_base(p), block_len(p));
    errno = saved;
}

EXPORT void free_sized(void *p, size_t n) { (void)p; (void)n; }
EXPORT void free_aligned_sized(void *p, size_t align, size_t n) { (void)p; (void)align; (void)n; }
