/* refalloc's large blocks: requests above the largest class get their own mapping, with a
 * header page (large_t, then the block header) before the user pointer (see large_t for the
 * mapping of an over-aligned block). On free a mapping goes
 * back to the kernel, unless it fits the small cache of recent ones (LARGE_CACHE_* bound its
 * resident cost). A mapping spans at least one chunk past the user pointer so no two large
 * blocks' user pointers share a chunk of the radix map. */
#include "src/refalloc/meta.h"

#include "src/refalloc/glue.h"

#define LARGE_CACHE_N 8
#define LARGE_CACHE_BYTES ((size_t)2 << 20)
#define LARGE_ALIGN_RW ((size_t)2 << 20)
#define LARGE_CLEAR ((size_t)64 << 10)
#define LARGE_MIN (REF_PAGE + REF_CHUNK)   /* the smallest mapping, large_len(1) */

pthread_mutex_t ref_large_lock = GLUE_LOCK_INIT;
static struct {
    char *base;
    size_t len;
} cache[LARGE_CACHE_N];        /* most recent last */
static unsigned ncached;
static size_t cached_bytes;

uint64_t ref_large_seal(const large_t *d)
{
    return (uint64_t)ref_hash((uintptr_t)d->base, d->len) << 32
        | ref_hash(d->req ^ (uintptr_t)d->map, d->map_len);
}

/* Bytes to map for n user bytes: header page + n, at least one chunk, page rounded. */
static size_t large_len(size_t n)
{
    size_t body = n < REF_CHUNK ? REF_CHUNK : n;
    return REF_PAGE + ((body + REF_PAGE - 1) & ~(REF_PAGE - 1));
}

/* A mapping (*map, *map_len) holding len bytes whose byte REF_PAGE is align-aligned; returns
 * where those len bytes start. Alignments up to LARGE_ALIGN_RW map len + align bytes writable
 * and keep the slack (untouched, it costs address space and commit charge, no memory); larger
 * ones reserve inaccessible address space, so that 2^40 alignment costs no commit charge, and
 * pay for trimming it and an mprotect. */
static char *large_map(size_t len, size_t align, char **map, size_t *map_len)
{
    bool rw = align <= LARGE_ALIGN_RW;
    size_t total = align <= REF_PAGE ? len : len + align;
    char *m = glue_map(total, rw || align <= REF_PAGE);
    if (!m)
        return NULL;
    char *p = (char *)(((uintptr_t)m + REF_PAGE + align - 1) & ~(uintptr_t)(align - 1));
    char *base = align <= REF_PAGE ? m : p - REF_PAGE;
    *map = m;
    *map_len = total;
    if (rw || align <= REF_PAGE)
        return base;
    glue_unmap(m, (size_t)(base - m));
    glue_unmap(base + len, (size_t)(m + align - base));
    *map = base;
    *map_len = len;
    if (glue_protect_rw(base, len)) {
        glue_unmap(base, len);
        errno = ENOMEM;
        return NULL;
    }
    return base;
}

static void cache_drop(unsigned i)
{
    cached_bytes -= cache[i].len;
    cache[i] = cache[--ncached];
}

/* Where a block of len bytes whose byte REF_PAGE is align-aligned starts in the mapping
 * [m, m + have), or NULL when it does not fit there. */
static char *fit_in(char *m, size_t have, size_t len, size_t align)
{
    uintptr_t user = ((uintptr_t)m + REF_PAGE + align - 1) & ~(uintptr_t)(align - 1);
    char *base = (char *)(user - REF_PAGE);
    return (size_t)(base - m) <= have && len <= have - (size_t)(base - m) ? base : NULL;
}

/* Whether cached mapping i can serve the request without resizing: an over-aligned one
 * takes a mapping no bigger than large_map would have made (len + align), so the slack it
 * keeps stays what it would have been anyway. */
static bool serves(unsigned i, size_t len, size_t align)
{
    if (align <= REF_PAGE)
        return cache[i].len >= len;
    return cache[i].len <= len + align && fit_in(cache[i].base, cache[i].len, len, align);
}

/* Picks the cached mapping for a request: the smallest that serves it, else, for page
 * alignment, the biggest (resized after); removes it from the cache. -1 if none. */
static int cache_pick(size_t len, size_t align)
{
    int best = -1;
    for (unsigned i = 0; i < ncached; i++) {
        bool fits = serves(i, len, align);
        bool best_fits = best >= 0 && serves((unsigned)best, len, align);
        if (fits ? !best_fits || cache[i].len < cache[best].len
                 : align <= REF_PAGE && !best_fits && (best < 0 || cache[i].len > cache[best].len))
            best = (int)i;
    }
    return best;
}

/* Keeps a freed mapping for reuse, evicting the oldest beyond the bounds; false when the
 * mapping itself is too big to keep. */
static bool cache_put(char *base, size_t len)
{
    if (len > LARGE_CACHE_BYTES / 2)
        return false;
    char *old[LARGE_CACHE_N];
    size_t old_len[LARGE_CACHE_N];
    unsigned nold = 0;
    glue_lock(&ref_large_lock);
    while (ncached && (ncached == LARGE_CACHE_N || cached_bytes + len > LARGE_CACHE_BYTES)) {
        old[nold] = cache[0].base;
        old_len[nold++] = cache[0].len;
        cached_bytes -= cache[0].len;
        memmove(&cache[0], &cache[1], --ncached * sizeof cache[0]);
    }
    cache[ncached].base = base;
    cache[ncached++].len = len;
    cached_bytes += len;
    glue_unlock(&ref_large_lock);
    while (nold--)
        glue_unmap(old[nold], old_len[nold]);
    return true;
}

/* Trims the mapping [map, map + have) of a block that needs `need` of its bytes, and returns
 * the length it keeps: all of it when the rest is shorter than the smallest large mapping
 * (slack of at most LARGE_MIN; sizes that differ by a few pages then cost no mremap, which
 * zaps every page it drops), else `need`, the rest going back to the kernel. */
static size_t trim_mapping(char *map, size_t have, size_t need)
{
    if (have - need < LARGE_MIN || glue_resize(map, have, need))
        return have;
    return need;
}

/* A cached mapping holding the request, its block at the returned base; NULL if none. One
 * too small is grown with mremap, which moves page tables, so the pages kept cost no fault
 * and no zeroing; that is most of what a fresh large block costs. One too big is shrunk
 * (see trim_mapping). An over-aligned request takes a mapping as it is (see serves()).
 * *dirty gets how many bytes from base may hold old contents; the rest read as zero. */
static char *cache_take(size_t len, size_t align, char **map, size_t *map_len, size_t *dirty)
{
    glue_lock(&ref_large_lock);
    int i = cache_pick(len, align);
    char *m = i >= 0 ? cache[i].base : NULL;
    size_t have = i >= 0 ? cache[i].len : 0;
    if (i >= 0)
        cache_drop((unsigned)i);
    glue_unlock(&ref_large_lock);
    if (!m)
        return NULL;
    if (align > REF_PAGE) {
        char *base = fit_in(m, have, len, align);
        *map = m, *map_len = have, *dirty = len;
        return base;
    }
    *dirty = have < len ? have : len;
    if (have >= len) {
        *map = m, *map_len = trim_mapping(m, have, len);
        return m;
    }
    char *moved = glue_remap(m, have, len);
    if (!moved)
        glue_unmap(m, have);
    *map = moved, *map_len = len;
    return moved;
}

static void large_describe(char *base, size_t len, size_t n, char *map, size_t map_len)
{
    large_t *d = (large_t *)base;
    *d = (large_t){ .base = base, .len = len, .req = n, .map = map, .map_len = map_len };
    d->seal = ref_large_seal(d);
}

/* Zeroes the first n bytes of a reused mapping at p, of which only the first `dirty` can hold
 * old bytes (the pages mremap added are fresh). The first LARGE_CLEAR bytes are cleared,
 * where the caller starts; the pages after them are handed back, to be zeroed by the kernel
 * when touched, so pages the caller never uses cost nothing, as with glibc's mmapped chunks.
 * All cleared with memset, the fuzz target ran 8% slower (3 runs of 15 s): it touches a few
 * pages of each big block, and memset faulted in every one. */
static void large_zero(char *p, size_t n, size_t dirty)
{
    size_t used = (n + REF_PAGE - 1) & ~(REF_PAGE - 1);
    size_t clear = used < dirty ? used : dirty, head = clear < LARGE_CLEAR ? clear : LARGE_CLEAR;
    memset(p, 0, head);
    if (clear > head)
        glue_purge(p + head, clear - head);
}

void *ref_large_alloc(size_t n, size_t align, bool zero)
{
    if (n >= REF_MAX_REQ || align >= REF_MAX_REQ) {
        errno = ENOMEM;
        return NULL;
    }
    ref_init();
    size_t len = large_len(n), dirty = 0, map_len = len;
    char *map = NULL, *base = cache_take(len, align, &map, &map_len, &dirty);
    if (base && zero)
        large_zero(base + REF_PAGE, n, dirty - REF_PAGE);
    else if (!base && !(base = large_map(len, align, &map, &map_len)))
        return NULL;
    large_describe(base, len, n, map, map_len);
    char *p = base + REF_PAGE;
    ref_hdr_set(p, REF_USED | REF_F_LARGE);
    if (ref_radix_set(p, (uintptr_t)base | 1)) {
        glue_unmap(map, map_len);
        errno = ENOMEM;
        return NULL;
    }
    return p;
}

void ref_large_free(large_t *d)
{
    ref_radix_set(d->base + REF_PAGE, 0);
    if (!cache_put(d->map, d->map_len))
        glue_unmap(d->map, d->map_len);
}

/* Moves p's mapping to one of map_len bytes at the same offset (its pages move with their
 * page tables, so nothing is copied); returns the new mapping. The destination is reserved
 * and registered first: every step can fail with p still intact, and p's chunk is
 * unregistered before its mapping goes, so that a mapping another thread makes there cannot
 * lose its registration to us. */
static char *large_move(void *p, large_t *d, size_t map_len)
{
    size_t lead = (size_t)(d->base - d->map);
    char *to = glue_map(map_len, 0);
    if (!to)
        return NULL;
    char *q = to + lead + REF_PAGE;
    if (ref_radix_set(q, (uintptr_t)(to + lead) | 1)) {
        glue_unmap(to, map_len);
        return NULL;
    }
    ref_radix_set(p, 0);
    if (glue_move(d->map, d->map_len, to, map_len)) {
        ref_radix_set(p, (uintptr_t)d | 1);
        ref_radix_set(q, 0);
        glue_unmap(to, map_len);
        return NULL;
    }
    return to;
}

/* Resizes p's mapping in place, or else moves it (the alignment of an aligned_alloc block is
 * not kept, which realloc does not promise). Returns the block, or NULL with p intact. */
void *ref_large_resize(void *p, large_t *d, size_t n)
{
    size_t len = large_len(n), lead = (size_t)(d->base - d->map), map_len = lead + len;
    if (map_len <= d->map_len) {
        large_describe(d->base, len, n, d->map, trim_mapping(d->map, d->map_len, map_len));
        return p;
    }
    if (!glue_resize(d->map, d->map_len, map_len)) {
        large_describe(d->base, len, n, d->map, map_len);
        return p;
    }
    char *map = large_move(p, d, map_len);
    if (!map)
        return NULL;
    large_describe(map + lead, len, n, map, map_len);
    ref_hdr_set(map + lead + REF_PAGE, REF_USED | REF_F_LARGE);   /* its hash covers p */
    return map + lead + REF_PAGE;
}
