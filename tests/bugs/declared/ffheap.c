/* The first-fit heap (ffheap.h). Free chunks are kept in address order and merged with their
 * free neighbours on free; a free chunk links to the next through its first payload word (an
 * offset from the base). Each -DFF_BUG_X=1 seeds one real bug for the test allocators.
 * Leaves out: speed (first fit walks the list) and locking. */
#include <string.h>

#include "tests/bugs/declared/ffheap.h"

#define NIL UINT32_MAX

static uint32_t *word(ffheap_t *h, uint32_t off) { return (uint32_t *)(void *)(h->base + off); }
static uint32_t size_of(ffheap_t *h, uint32_t off) { return *word(h, off) & ~1u; }
static uint32_t *next_of(ffheap_t *h, uint32_t off) { return word(h, off + h->grain); }
static void *payload(ffheap_t *h, uint32_t off) { return h->base + off + h->grain; }
static uint32_t min_chunk(const ffheap_t *h) { return 3 * h->grain < 12 ? 12 : 3 * h->grain; }

static uint32_t chunk_of(ffheap_t *h, const void *p)
{
    return (uint32_t)((const unsigned char *)p - h->base) - h->grain;
}

void ff_init(ffheap_t *h, void *mem, size_t bytes, uint32_t grain)
{
    h->base = mem;
    h->grain = grain;
    h->size = (uint32_t)(bytes & ~(size_t)(grain - 1));
    *word(h, 0) = h->size;
    *next_of(h, 0) = NIL;
    h->free_head = 0;
}

static uint32_t round_up(const ffheap_t *h, size_t n)
{
    size_t c = (n + 2 * (size_t)h->grain - 1) & ~(size_t)(h->grain - 1);
    return c < min_chunk(h) ? min_chunk(h) : (uint32_t)c;
}

/* Takes need bytes from the free chunk at cur (prev links to it), splitting off the rest. */
static void *take(ffheap_t *h, uint32_t prev, uint32_t cur, uint32_t need)
{
    uint32_t size = size_of(h, cur), rest = size - need, next = *next_of(h, cur);
    if (rest >= min_chunk(h)) {
#if FF_BUG_SPLIT_OVERLAP /* the remainder starts one grain early, inside the block handed out */
        uint32_t r = cur + need - h->grain;
        *word(h, r) = rest + h->grain;
#else
        uint32_t r = cur + need;
        *word(h, r) = rest;
#endif
        *next_of(h, r) = next;
        next = r;
        size = need;
    }
    if (prev == NIL)
        h->free_head = next;
    else
        *next_of(h, prev) = next;
    *word(h, cur) = size | 1u;
    return payload(h, cur);
}

void *ff_malloc(ffheap_t *h, size_t n)
{
    if (n > h->size)
        return NULL;
    uint32_t need = round_up(h, n);
    for (uint32_t prev = NIL, cur = h->free_head; cur != NIL; prev = cur, cur = *next_of(h, cur))
        if (size_of(h, cur) >= need)
            return take(h, prev, cur, need);
    return NULL;
}

/* Inserts the chunk at off in address order and merges it with free neighbours. */
void ff_free(ffheap_t *h, void *p)
{
    if (!p)
        return;
    uint32_t off = chunk_of(h, p), prev = NIL, cur = h->free_head;
    *word(h, off) = size_of(h, off);
    while (cur != NIL && cur < off) {
        prev = cur;
        cur = *next_of(h, cur);
    }
    *next_of(h, off) = cur;
    if (cur != NIL && off + size_of(h, off) == cur) {
        *word(h, off) = size_of(h, off) + size_of(h, cur);
        *next_of(h, off) = *next_of(h, cur);
    }
    if (prev == NIL) {
        h->free_head = off;
    } else if (prev + size_of(h, prev) == off) {
        *word(h, prev) = size_of(h, prev) + size_of(h, off);
        *next_of(h, prev) = *next_of(h, off);
    } else {
        *next_of(h, prev) = off;
    }
}

size_t ff_usable(ffheap_t *h, void *p)
{
    return p ? size_of(h, chunk_of(h, p)) - h->grain : 0;
}

void *ff_calloc(ffheap_t *h, size_t m, size_t n)
{
    if (n && m > SIZE_MAX / n)
        return NULL;
    void *p = ff_malloc(h, m * n);
#if !FF_BUG_CALLOC_DIRTY /* trusts the heap to be zero, as it was at boot */
    if (p)
        memset(p, 0, m * n);
#endif
    return p;
}

void *ff_realloc(ffheap_t *h, void *p, size_t n)
{
    if (!p)
        return ff_malloc(h, n);
    size_t have = ff_usable(h, p);
    if (n <= have)
        return p;
    void *q = ff_malloc(h, n);
    if (q) {
        memcpy(q, p, have);
        ff_free(h, p);
    }
    return q;
}

/* Over-allocates and gives the gap in front of the aligned payload back to the free list. */
void *ff_memalign(ffheap_t *h, size_t al, size_t n)
{
    if (al <= h->grain)
        return ff_malloc(h, n);
    if (al & (al - 1) || n > h->size || al > h->size)
        return NULL;
    unsigned char *raw = ff_malloc(h, n + al + min_chunk(h));
    if (!raw)
        return NULL;
    uint32_t off = chunk_of(h, raw), total = size_of(h, off);
    uintptr_t want = ((uintptr_t)raw + min_chunk(h) + al - 1) & ~(uintptr_t)(al - 1);
    uint32_t lead = (uint32_t)(want - (uintptr_t)raw);
    *word(h, off) = lead | 1u;
    *word(h, off + lead) = (total - lead) | 1u;
    ff_free(h, payload(h, off));
    return payload(h, off + lead);
}
