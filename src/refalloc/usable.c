/* malloc_usable_size (glibc): every byte up to the end of the slot or mapping is the
 * caller's to use. A pointer that is not a live block aborts, as free would. */
#include "src/refalloc/meta.h"
#include "src/refalloc/refalloc.h"

REF_EXPORT size_t REF_API(malloc_usable_size)(void *ptr)
{
    if (!ptr)
        return 0;
    block_t b;
    ref_block_find(ptr, &b, "malloc_usable_size()");
    return b.usable;
}
