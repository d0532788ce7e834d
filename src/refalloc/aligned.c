/* The aligned allocations: aligned_alloc (C17 7.22.3.1, DR 460), posix_memalign (POSIX),
 * memalign, valloc and pvalloc (glibc). Alignment up to a chunk with a small size is served
 * from a slot big enough to hold an aligned pointer (its header records the offset, which
 * fits 16 bits of 16-byte units below 1 MiB); the rest gets its own mapping, aligned by
 * trimming a larger one. A mapping per request costs mmap, munmap and fresh pages each time;
 * a slot is recycled like any other. */
#include <errno.h>
#include <stdint.h>

#include "src/refalloc/meta.h"
#include "src/refalloc/refalloc.h"

/* pre: align is a power of two. */
void *ref_aligned(size_t align, size_t n)
{
    if (align <= REF_ALIGN)
        return ref_alloc(n);
    if (n >= REF_MAX_REQ || align >= REF_MAX_REQ) {
        errno = ENOMEM;
        return NULL;
    }
    if (align > REF_CHUNK || n + align - REF_ALIGN > REF_SMALL_MAX)
        return ref_large_alloc(n, align, false);
    char *slot = ref_slot_get(ref_class_of(n + align - REF_ALIGN + REF_HDR));
    if (!slot)
        return NULL;
    char *p = (char *)(((uintptr_t)slot + align - 1) & ~(uintptr_t)(align - 1));
    ref_hdr_set(p, REF_USED | REF_F_ALIGNED | (uint32_t)((size_t)(p - slot) / REF_ALIGN) << 16);
    return p;
}

static bool pow2(size_t a)
{
    return a && !(a & (a - 1));
}

REF_EXPORT void *REF_API(aligned_alloc)(size_t alignment, size_t size)
{
    if (!pow2(alignment)) {
        errno = EINVAL;
        return NULL;
    }
    return ref_aligned(alignment, size);
}

REF_EXPORT int REF_API(posix_memalign)(void **memptr, size_t alignment, size_t size)
{
    if (!pow2(alignment) || alignment % sizeof(void *))
        return EINVAL;
    /* POSIX: the error is the return value; errno and *memptr stay as they were. */
    int saved = errno;
    void *p = ref_aligned(alignment, size);
    errno = saved;
    if (!p)
        return ENOMEM;
    *memptr = p;
    return 0;
}

REF_EXPORT void *REF_API(memalign)(size_t alignment, size_t size)
{
    return REF_API(aligned_alloc)(alignment, size);
}

REF_EXPORT void *REF_API(valloc)(size_t size)
{
    return ref_aligned(REF_PAGE, size);
}

REF_EXPORT void *REF_API(pvalloc)(size_t size)
{
    if (size > REF_MAX_REQ) {
        errno = ENOMEM;
        return NULL;
    }
    size_t n = size ? (size + REF_PAGE - 1) & ~(REF_PAGE - 1) : REF_PAGE;
    return ref_aligned(REF_PAGE, n);
}
