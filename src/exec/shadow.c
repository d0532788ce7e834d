/* The shadow model of live blocks and the fill pattern (see shadow.h).
 * The pattern is word i = key + i * PATTERN_STEP over 8-byte words: one add per word, so fill
 * and verify vectorize, every byte depends on its offset, and each block's key differs. */
#include "src/exec/shadow.h"

#include <string.h>

#define PATTERN_STEP 0x9e3779b97f4a7c15ull  /* odd: every word of a block differs */

/* The fill and verify loops are the harness's, not the allocator's: coverage instrumentation
 * there (fuzz builds) only slows every byte down and guides the fuzzer nowhere. */
#if defined(__clang__)
#define HOT_LOOP __attribute__((no_sanitize("coverage")))
#elif defined(__has_attribute)
#if __has_attribute(no_sanitize_coverage)
#define HOT_LOOP __attribute__((no_sanitize_coverage))
#endif
#endif
#ifndef HOT_LOOP
#define HOT_LOOP
#endif

static uintptr_t end_of(uintptr_t p, size_t len)
{
    uintptr_t e = p + len;
    return e < p ? UINTPTR_MAX : e;
}

#define NIL 0xffffu
#define GRANULE ((uintptr_t)1 << SHADOW_GRANULE_SHIFT)
/* A probe (a bucket and its short chain) costs about as much as testing this many small
 * blocks in the dense list: past that, a big block scans the list instead of probing. */
#define PROBE_COST 4

enum { IX_NONE, IX_HASH, IX_SORTED };

static size_t span(const shadow_block_t *b)
{
    return b->extent ? b->extent : 1;
}

static unsigned bucket_of(uintptr_t granule)
{
    return (unsigned)((granule * 0x9e3779b97f4a7c15ull) >> (64 - SHADOW_HASH_BITS));
}

void shadow_reset(shadow_t *s, bool indexed)
{
    /* After a clean run every slot is already empty; only a leaky finding leaves work. */
    if (!s->ready || s->live_blocks || s->nsmall || s->nlarge) {
        memset(s->slot, 0, sizeof s->slot);
        memset(s->live_map, 0, sizeof s->live_map);
        memset(s->ix, IX_NONE, sizeof s->ix);
        memset(s->bucket, 0xff, sizeof s->bucket);
        s->ready = true;
    }
    s->nlarge = s->nsmall = 0;
    s->indexed = indexed;
    s->live_bytes = 0;
    s->live_blocks = 0;
    s->allocs = 0;
}

void shadow_set_harness(shadow_t *s, unsigned idx, const void *p, size_t len)
{
    if (idx >= SHADOW_HARNESS_MAX)
        return;
    s->harness[idx].lo = (uintptr_t)p;
    s->harness[idx].hi = len ? end_of((uintptr_t)p, len) : (uintptr_t)p;
    if (len && idx >= s->nharness)
        s->nharness = idx + 1;
}

/* Index of the first large entry whose address is > p. Branch-free (the comparison becomes
 * a conditional move): addresses are random to the branch predictor. */
static size_t upper_bound(const shadow_t *s, uintptr_t p)
{
    const uintptr_t *a = s->large_ptr;
    size_t base = 0, n = s->nlarge;
    if (n == 0)
        return 0;
    while (n > 1) {
        size_t half = n / 2;
        base = a[base + half] <= p ? base + half : base;
        n -= half;
    }
    return base + (a[base] <= p);
}

static bool overlaps_harness(const shadow_t *s, uintptr_t p, uintptr_t e)
{
    for (unsigned i = 0; i < s->nharness; i++) {
        const shadow_region_t *r = &s->harness[i];
        if (r->lo < r->hi && p < r->hi && r->lo < e)
            return true;
    }
    return false;
}

static bool hits(const shadow_t *s, unsigned q, uintptr_t p, uintptr_t e)
{
    return s->range[q].lo < e && s->range[q].hi > p;
}

static int overlap_large(const shadow_t *s, uintptr_t p, uintptr_t e, int except)
{
    size_t i = upper_bound(s, p);
    /* Large blocks are disjoint, so only the nearest predecessor and successor (skipping
     * the excluded one) can overlap. */
    size_t pred = i;
    while (pred > 0 && s->large[pred - 1] == except)
        pred--;
    if (pred > 0 && hits(s, s->large[pred - 1], p, e))
        return s->large[pred - 1];
    size_t succ = i;
    while (succ < s->nlarge && s->large[succ] == except)
        succ++;
    if (succ < s->nlarge && s->large_ptr[succ] < e)
        return s->large[succ];
    return SHADOW_NONE;
}

static int overlap_small(const shadow_t *s, uintptr_t p, uintptr_t e, int except)
{
    uintptr_t g0 = (p >= GRANULE ? p - GRANULE : 0) >> SHADOW_GRANULE_SHIFT;
    uintptr_t g1 = (e - 1) >> SHADOW_GRANULE_SHIFT;
    if ((g1 - g0) * PROBE_COST > s->nsmall) {
        for (size_t i = 0; i < s->nsmall; i++)
            if (s->small_lo[i] < e && s->small_hi[i] > p && s->small[i] != except)
                return s->small[i];
        return SHADOW_NONE;
    }
    for (uintptr_t g = g0; g <= g1; g++)
        for (unsigned q = s->bucket[bucket_of(g)]; q != NIL; q = s->next[q])
            if ((int)q != except && hits(s, q, p, e))
                return (int)q;
    return SHADOW_NONE;
}

int shadow_overlap(const shadow_t *s, uintptr_t p, size_t extent, int except)
{
    uintptr_t e = end_of(p, extent ? extent : 1);
    int o = s->nlarge ? overlap_large(s, p, e, except) : SHADOW_NONE;
    if (o == SHADOW_NONE && s->nsmall)
        o = overlap_small(s, p, e, except);
    if (o == SHADOW_NONE && overlaps_harness(s, p, e))
        o = SHADOW_HARNESS;
    return o;
}

static void index_add(shadow_t *s, unsigned slot)
{
    shadow_block_t *b = &s->slot[slot];
    s->range[slot].lo = b->ptr;
    s->range[slot].hi = end_of(b->ptr, span(b));
    if (span(b) <= GRANULE) {
        unsigned h = bucket_of(b->ptr >> SHADOW_GRANULE_SHIFT);
        s->next[slot] = s->bucket[h];
        s->prev[slot] = NIL;
        if (s->bucket[h] != NIL)
            s->prev[s->bucket[h]] = (uint16_t)slot;
        s->bucket[h] = (uint16_t)slot;
        s->ix[slot] = IX_HASH;
        s->small_pos[slot] = (uint16_t)s->nsmall;
        s->small_lo[s->nsmall] = s->range[slot].lo;
        s->small_hi[s->nsmall] = s->range[slot].hi;
        s->small[s->nsmall++] = (uint16_t)slot;
        return;
    }
    size_t i = upper_bound(s, b->ptr);
    memmove(&s->large_ptr[i + 1], &s->large_ptr[i], (s->nlarge - i) * sizeof s->large_ptr[0]);
    memmove(&s->large[i + 1], &s->large[i], (s->nlarge - i) * sizeof s->large[0]);
    s->large_ptr[i] = b->ptr;
    s->large[i] = (uint16_t)slot;
    s->nlarge++;
    s->ix[slot] = IX_SORTED;
}

static void index_del(shadow_t *s, unsigned slot)
{
    shadow_block_t *b = &s->slot[slot];
    if (s->ix[slot] == IX_HASH) {
        unsigned n = s->next[slot], pv = s->prev[slot];
        if (pv != NIL)
            s->next[pv] = (uint16_t)n;
        else
            s->bucket[bucket_of(b->ptr >> SHADOW_GRANULE_SHIFT)] = (uint16_t)n;
        if (n != NIL)
            s->prev[n] = (uint16_t)pv;
        size_t at = s->small_pos[slot], last = --s->nsmall;
        s->small[at] = s->small[last];
        s->small_lo[at] = s->small_lo[last];
        s->small_hi[at] = s->small_hi[last];
        s->small_pos[s->small[at]] = (uint16_t)at;
    } else if (s->ix[slot] == IX_SORTED) {
        /* Large blocks are disjoint, so the entry with this address is the last one <= ptr. */
        size_t i = upper_bound(s, b->ptr);
        if (i > 0 && s->large[i - 1] == slot) {
            i--;
            memmove(&s->large_ptr[i], &s->large_ptr[i + 1],
                    (s->nlarge - i - 1) * sizeof s->large_ptr[0]);
            memmove(&s->large[i], &s->large[i + 1], (s->nlarge - i - 1) * sizeof s->large[0]);
            s->nlarge--;
        }
    }
    s->ix[slot] = IX_NONE;
}

void shadow_insert(shadow_t *s, unsigned slot, const shadow_block_t *b)
{
    s->slot[slot] = *b;
    s->slot[slot].live = 1;
    s->live_bytes += b->size;
    s->live_pos[slot] = (uint16_t)s->live_blocks;
    s->live[s->live_blocks++] = (uint16_t)slot;
    s->live_map[slot / 64] |= 1ull << (slot % 64);
    if (s->indexed)
        index_add(s, slot);
}

void shadow_remove(shadow_t *s, unsigned slot)
{
    shadow_block_t *b = &s->slot[slot];
    s->live_bytes -= b->size;
    size_t at = s->live_pos[slot];
    s->live[at] = s->live[--s->live_blocks];
    s->live_pos[s->live[at]] = (uint16_t)at;
    b->live = 0;
    s->live_map[slot / 64] &= ~(1ull << (slot % 64));
    index_del(s, slot);
}

void shadow_set_extent(shadow_t *s, unsigned slot, size_t extent)
{
    shadow_block_t *b = &s->slot[slot];
    bool reindex = s->ix[slot] != IX_NONE;
    if (reindex)
        index_del(s, slot);
    b->extent = extent;
    if (reindex)
        index_add(s, slot);
}

uint64_t shadow_key(uint64_t seed, unsigned slot, uint32_t gen)
{
    /* splitmix64 finalizer: nearby slots and generations get unrelated keys. */
    uint64_t z = seed ^ ((uint64_t)slot << 32) ^ gen;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

HOT_LOOP static inline uint64_t word_at(uint64_t key, size_t w)
{
    return key + (uint64_t)w * PATTERN_STEP;
}

HOT_LOOP uint8_t shadow_pattern_byte(uint64_t key, size_t off)
{
    uint64_t w = word_at(key, off / 8);
    uint8_t b[8];
    memcpy(b, &w, 8);
    return b[off % 8];
}

/* Two lanes of 8-byte words: SSE2 on x86_64 without target flags, 64 bytes per iteration. */
typedef uint64_t lanes_t __attribute__((vector_size(16)));

HOT_LOOP static lanes_t lanes_at(uint64_t key, size_t w, bool zero)
{
    lanes_t v = { word_at(key, w), word_at(key, w + 1) };
    return zero ? (lanes_t){ 0, 0 } : v;
}

/* Writes n whole words of the pattern from word index w0 at c. */
HOT_LOOP static void fill_words(uint8_t *c, size_t w0, size_t n, uint64_t key)
{
    const lanes_t step = { 2 * PATTERN_STEP, 2 * PATTERN_STEP };
    size_t i = 0;
    lanes_t v = lanes_at(key, w0, false);
    for (; i + 8 <= n; i += 8) {
        lanes_t v1 = v + step, v2 = v1 + step, v3 = v2 + step;
        memcpy(c + i * 8, &v, 16);
        memcpy(c + i * 8 + 16, &v1, 16);
        memcpy(c + i * 8 + 32, &v2, 16);
        memcpy(c + i * 8 + 48, &v3, 16);
        v = v3 + step;
    }
    for (; i < n; i++) {
        uint64_t w = word_at(key, w0 + i);
        memcpy(c + i * 8, &w, 8);
    }
}

HOT_LOOP void shadow_fill(void *p, size_t from, size_t to, uint64_t key)
{
    uint8_t *c = p;
    size_t off = from;
    for (; off < to && off % 8; off++)
        c[off] = shadow_pattern_byte(key, off);
    size_t words_end = to & ~(size_t)7;
    if (off < words_end) {
        fill_words(c + off, off / 8, (words_end - off) / 8, key);
        off = words_end;
    }
    for (; off < to; off++)
        c[off] = shadow_pattern_byte(key, off);
}

HOT_LOOP static size_t first_bad_byte(const uint8_t *c, size_t from, size_t to, uint64_t key,
                                      bool zero)
{
    for (size_t off = from; off < to; off++)
        if (c[off] != (zero ? 0 : shadow_pattern_byte(key, off)))
            return off;
    return SIZE_MAX;
}

/* OR of (word ^ expected) over n whole words from word index w0; 0 when all match. Four
 * independent accumulators keep the loop free of dependencies so it runs at memory speed. */
HOT_LOOP static uint64_t diff_words(const uint8_t *c, size_t w0, size_t n, uint64_t key,
                                    bool zero)
{
    const lanes_t step = zero ? (lanes_t){ 0, 0 }
                              : (lanes_t){ 2 * PATTERN_STEP, 2 * PATTERN_STEP };
    lanes_t v = lanes_at(key, w0, zero), a0 = { 0, 0 }, a1 = a0, a2 = a0, a3 = a0, x0, x1, x2, x3;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&x0, c + i * 8, 16);
        memcpy(&x1, c + i * 8 + 16, 16);
        memcpy(&x2, c + i * 8 + 32, 16);
        memcpy(&x3, c + i * 8 + 48, 16);
        a0 |= x0 ^ v;
        a1 |= x1 ^ (v + step);
        a2 |= x2 ^ (v + step + step);
        a3 |= x3 ^ (v + step + step + step);
        v += step + step + step + step;
    }
    a0 |= a1 | a2 | a3;
    uint64_t acc = a0[0] | a0[1];
    for (; i < n; i++) {
        uint64_t w;
        memcpy(&w, c + i * 8, 8);
        acc |= w ^ (zero ? 0 : word_at(key, w0 + i));
    }
    return acc;
}

/* Checks whole words in chunks; only a failing chunk is rescanned byte by byte to name the
 * first bad offset. */
HOT_LOOP static size_t find_bad(const void *p, size_t from, size_t to, uint64_t key, bool zero)
{
    enum { CHUNK = 4096 };
    const uint8_t *c = p;
    size_t head = (from + 7) & ~(size_t)7;
    if (head > to)
        head = to;
    size_t bad = first_bad_byte(c, from, head, key, zero);
    if (bad != SIZE_MAX)
        return bad;
    size_t words_end = to & ~(size_t)7;
    for (size_t off = head; off < words_end;) {
        size_t end = off + CHUNK < words_end ? off + CHUNK : words_end;
        if (diff_words(c + off, off / 8, (end - off) / 8, key, zero))
            return first_bad_byte(c, off, end, key, zero);
        off = end;
    }
    return first_bad_byte(c, words_end > head ? words_end : head, to, key, zero);
}

size_t shadow_find_bad(const void *p, size_t from, size_t to, uint64_t key)
{
    return find_bad(p, from, to, key, false);
}

size_t shadow_find_nonzero(const void *p, size_t from, size_t to)
{
    return find_bad(p, from, to, 0, true);
}

/* The sampled set of a len-byte block: its first and last SAMPLE_EDGE bytes and the word at
 * every power-of-two offset from 2 * SAMPLE_EDGE on: O(log len) bytes, a function of len
 * alone, so a fill and a later check agree, and after realloc the old block's set is checked
 * where it survives. Calls fn on each range clipped to [0, limit); stops at a bad offset. */
#define SAMPLE_EDGE 64

typedef size_t (*range_fn_t)(void *p, size_t from, size_t to, uint64_t key, bool zero);

static size_t each_sample(void *p, size_t len, size_t limit, uint64_t key, bool zero,
                          range_fn_t fn)
{
    size_t ranges[64][2], n = 0;
    ranges[n][0] = 0, ranges[n++][1] = len < SAMPLE_EDGE ? len : SAMPLE_EDGE;
    for (size_t o = 2 * SAMPLE_EDGE; o + 8 <= len && o; o <<= 1)
        ranges[n][0] = o, ranges[n++][1] = o + 8;
    ranges[n][0] = len > SAMPLE_EDGE ? len - SAMPLE_EDGE : 0, ranges[n++][1] = len;
    for (size_t i = 0; i < n; i++) {
        size_t from = ranges[i][0], to = ranges[i][1] < limit ? ranges[i][1] : limit;
        size_t bad = from < to ? fn(p, from, to, key, zero) : SIZE_MAX;
        if (bad != SIZE_MAX)
            return bad;
    }
    return SIZE_MAX;
}

static size_t fill_range(void *p, size_t from, size_t to, uint64_t key, bool zero)
{
    shadow_fill(p, from, to, key);
    return SIZE_MAX;
}

static size_t check_range(void *p, size_t from, size_t to, uint64_t key, bool zero)
{
    return find_bad(p, from, to, key, zero);
}

void shadow_fill_sampled(void *p, size_t len, uint64_t key)
{
    each_sample(p, len, len, key, false, fill_range);
}

size_t shadow_find_bad_sampled(const void *p, size_t len, size_t limit, uint64_t key, bool zero)
{
    return each_sample((void *)p, len, limit, key, zero, check_range);
}

HOT_LOOP size_t shadow_fill_zeroed(void *p, size_t len, uint64_t key)
{
    enum { CHUNK = 4096 };
    uint8_t *c = p;
    size_t words_end = len & ~(size_t)7;
    /* Chunk by chunk, so each is checked and rewritten while it is in L1: one pass. */
    for (size_t off = 0; off < words_end; off += CHUNK) {
        size_t end = off + CHUNK < words_end ? off + CHUNK : words_end;
        if (diff_words(c + off, 0, (end - off) / 8, 0, true))
            return first_bad_byte(c, off, end, 0, true);
        fill_words(c + off, off / 8, (end - off) / 8, key);
    }
    size_t bad = first_bad_byte(c, words_end, len, 0, true);
    if (bad == SIZE_MAX)
        shadow_fill(p, words_end, len, key);
    return bad;
}
