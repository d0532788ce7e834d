/* free, and C23's free_sized / free_aligned_sized (7.24.3.4-5), which also check that the
 * size (and alignment) given match the block: a mismatch is undefined behaviour we report.
 * Every variant keeps errno: freeing can munmap or madvise, and callers do not expect free to
 * clobber the errno of the call before it. */
#include <errno.h>
#include <stdint.h>

#include "src/refalloc/glue.h"
#include "src/refalloc/meta.h"
#include "src/refalloc/refalloc.h"

/* Whether size is what the block was allocated with, as far as the block can tell: exactly for
 * a large block, by size class for a plain slot, as an upper bound for an aligned slot. */
static bool size_matches(const block_t *b, size_t size)
{
    if (b->large)
        return size == b->large->req;
    if (b->fields & REF_F_ALIGNED)
        return size <= b->usable;
    return size <= REF_SMALL_MAX && ref_class_of(size + REF_HDR) == b->slab->cls;
}

static void free_checked(void *p, size_t align, size_t size, bool sized, const char *fn)
{
    if (!p)
        return;
    int saved = errno;
    block_t b;
    ref_block_find(p, &b, fn);
    if (REF_CHECKS && sized && !size_matches(&b, size))
        glue_die("size mismatch for", p, fn);
    if (REF_CHECKS && align && (align & (align - 1) || (uintptr_t)p % align))
        glue_die("alignment mismatch for", p, fn);
    ref_block_free(p, &b);
    errno = saved;
}

REF_EXPORT void REF_API(free)(void *ptr)
{
    free_checked(ptr, 0, 0, false, "free()");
}

REF_EXPORT void REF_API(free_sized)(void *ptr, size_t size)
{
    free_checked(ptr, 0, size, true, "free_sized()");
}

REF_EXPORT void REF_API(free_aligned_sized)(void *ptr, size_t alignment, size_t size)
{
    /* Zero is no valid alignment: report it like any other mismatch. */
    free_checked(ptr, alignment ? alignment : 3, size, true, "free_aligned_sized()");
}
