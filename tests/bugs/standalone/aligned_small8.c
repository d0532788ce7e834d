/* A seeded bug too unlike base.c to be one of its switches: glibc's heap, except that
 * aligned_alloc with a small alignment (1, 2, 4 or 8) takes it at its word and returns a block
 * only that aligned. C17 7.22.3p1 still owes such a block the fundamental alignment (C23: for
 * what fits in its size), so aligned_alloc(8, 64) must be 16-aligned. Caught by
 * aligned-alloc-pow2-sweep. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define EXPORT __attribute__((visibility("default")))

void *__libc_malloc(size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);

EXPORT void *malloc(size_t n) { return __libc_malloc(n); }

/* Blocks handed out 8 bytes into a glibc block carry a tag word in front, so free finds the
 * start (a glibc block's own header never holds this value). */
#define TAG ((uintptr_t)0x5a11a11a5a11a11aull)

EXPORT void free(void *p)
{
    if (p && ((uintptr_t *)p)[-1] == TAG) {
        ((uintptr_t *)p)[-1] = 0;
        p = (char *)p - 8;
    }
    __libc_free(p);
}

EXPORT void *aligned_alloc(size_t al, size_t n)
{
    if (al == 0 || (al & (al - 1)) || n > SIZE_MAX - 8)
        return NULL;
    if (al > 8)
        return __libc_memalign(al, n);
    char *p = __libc_malloc(n + 8);
    if (!p)
        return NULL;
    *(uintptr_t *)(void *)p = TAG;
    return p + 8;   /* 8-aligned only */
}
