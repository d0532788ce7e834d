/* malloc and calloc (C17 7.22.3.4, 7.22.3.2). */
#include <errno.h>
#include <stdint.h>

#include "src/refalloc/meta.h"
#include "src/refalloc/refalloc.h"

REF_EXPORT void *REF_API(malloc)(size_t size)
{
    return ref_alloc(size);
}

REF_EXPORT void *REF_API(calloc)(size_t nmemb, size_t size)
{
    size_t n;
    /* C17 7.22.3.2: nmemb * size that cannot be represented is a failure, not a wrap. */
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    if (n > REF_SMALL_MAX)
        return ref_large_alloc(n, REF_ALIGN, true);
    void *p = ref_alloc(n);
    if (p)
        memset(p, 0, n);
    return p;
}
