/* realloc (C17 7.22.3.5) and reallocarray (POSIX 2024). realloc(p, 0) frees p and returns
 * NULL, as glibc does (the reason is in refalloc.h). A block stays where it is when the new
 * size keeps its size class; a large block's mapping is resized in place, or moved whole by
 * the kernel; otherwise the bytes are copied to a new block. A failed realloc leaves the old
 * block intact (C17 7.22.3.5p4). */
#include <errno.h>
#include <stdint.h>

#include "src/refalloc/meta.h"
#include "src/refalloc/refalloc.h"

static void *realloc_named(void *p, size_t n, const char *fn)
{
    if (!p)
        return ref_alloc(n);
    block_t b;
    ref_block_find(p, &b, fn);
    if (n == 0) {
        /* POSIX.1-2024: a null return for size 0 says EINVAL, so it is not taken for ENOMEM
         * (with the block still live) by a program that checks errno. */
        ref_block_free(p, &b);
        errno = EINVAL;
        return NULL;
    }
    if (n >= REF_MAX_REQ) {
        errno = ENOMEM;
        return NULL;
    }
    int saved = errno;
    void *q;
    if (b.large && n > REF_SMALL_MAX && (q = ref_large_resize(p, b.large, n)))
        return q;
    errno = saved;
    if (b.slab && !(b.fields & REF_F_ALIGNED) && n <= REF_SMALL_MAX &&
        ref_class_of(n + REF_HDR) == b.slab->cls)
        return p;
    q = ref_alloc(n);
    if (!q)
        return NULL;
    memcpy(q, p, n < b.usable ? n : b.usable);
    saved = errno;
    ref_block_free(p, &b);
    errno = saved;
    return q;
}

REF_EXPORT void *REF_API(realloc)(void *ptr, size_t size)
{
    return realloc_named(ptr, size, "realloc()");
}

REF_EXPORT void *REF_API(reallocarray)(void *ptr, size_t nmemb, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc_named(ptr, n, "reallocarray()");
}
