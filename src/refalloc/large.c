/* refalloc's large blocks: requests above the largest class get their own mapping, with a
 * header page (large_t, then the block header) before the user pointer, and go back to the
 * kernel on free. A mapping spans at least one chunk past the user pointer so no two large
 * blocks' user pointers share a chunk of the radix map. */
#include "src/refalloc/meta.h"

#include "src/refalloc/glue.h"

uint64_t ref_large_seal(const large_t *d)
{
    return (uint64_t)ref_hash((uintptr_t)d->base, d->len) << 32 | ref_hash(d->req, 0x1a);
}

/* Bytes to map for n user bytes: header page + n, at least one chunk, page rounded. */
static size_t large_len(size_t n)
{
    size_t body = n < REF_CHUNK ? REF_CHUNK : n;
    return REF_PAGE + ((body + REF_PAGE - 1) & ~(REF_PAGE - 1));
}

/* A mapping of len bytes whose byte REF_PAGE is align-aligned. Over-aligned requests reserve
 * inaccessible address space first, so 2^40 alignment costs no commit charge. */
static char *large_map(size_t len, size_t align)
{
    if (align <= REF_PAGE)
        return glue_map(len, 1);
    char *m = glue_map(len + align, 0);
    if (!m)
        return NULL;
    char *p = (char *)(((uintptr_t)m + REF_PAGE + align - 1) & ~(uintptr_t)(align - 1));
    char *base = p - REF_PAGE;
    glue_unmap(m, (size_t)(base - m));
    glue_unmap(base + len, (size_t)(m + align - base));
    if (glue_protect_rw(base, len)) {
        glue_unmap(base, len);
        errno = ENOMEM;
        return NULL;
    }
    return base;
}

void *ref_large_alloc(size_t n, size_t align)
{
    if (n >= REF_MAX_REQ || align >= REF_MAX_REQ) {
        errno = ENOMEM;
        return NULL;
    }
    ref_init();
    size_t len = large_len(n);
    char *base = large_map(len, align);
    if (!base)
        return NULL;
    large_t *d = (large_t *)base;
    *d = (large_t){ .base = base, .len = len, .req = n };
    d->seal = ref_large_seal(d);
    char *p = base + REF_PAGE;
    ref_hdr_set(p, REF_USED | REF_F_LARGE);
    if (ref_radix_set(p, (uintptr_t)d | 1)) {
        glue_unmap(base, len);
        errno = ENOMEM;
        return NULL;
    }
    return p;
}

void ref_large_free(large_t *d)
{
    ref_radix_set(d->base + REF_PAGE, 0);
    glue_unmap(d->base, d->len);
}

/* Resizes in place (mremap without moving); NULL with errno ENOMEM leaves p intact. */
void *ref_large_resize(void *p, large_t *d, size_t n)
{
    size_t len = large_len(n);
    if (len != d->len && glue_resize(d->base, d->len, len)) {
        errno = ENOMEM;
        return NULL;
    }
    d->len = len;
    d->req = n;
    d->seal = ref_large_seal(d);
    return p;
}
