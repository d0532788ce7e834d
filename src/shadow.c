/* The shadow model of live blocks and the fill pattern (see shadow.h).
 * The pattern is word i = key + i * PATTERN_STEP over 8-byte words: one add per word, so fill
 * and verify vectorize, every byte depends on its offset, and each block's key differs. */
#include "src/shadow.h"

#include <string.h>

#define PATTERN_STEP 0x9e3779b97f4a7c15ull  /* odd: every word of a block differs */

static uintptr_t end_of(uintptr_t p, size_t len)
{
    uintptr_t e = p + len;
    return e < p ? UINTPTR_MAX : e;
}

void shadow_reset(shadow_t *s, bool indexed)
{
    memset(s->slot, 0, sizeof s->slot);
    s->n = 0;
    s->indexed = indexed;
    s->live_bytes = 0;
    s->live_blocks = 0;
}

void shadow_set_harness(shadow_t *s, unsigned idx, const void *p, size_t len)
{
    if (idx >= SHADOW_HARNESS_MAX)
        return;
    s->harness[idx].lo = (uintptr_t)p;
    s->harness[idx].hi = len ? end_of((uintptr_t)p, len) : (uintptr_t)p;
}

/* Index of the first ordered entry whose address is > p. */
static size_t upper_bound(const shadow_t *s, uintptr_t p)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->order_ptr[mid] <= p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool overlaps_harness(const shadow_t *s, uintptr_t p, uintptr_t e)
{
    for (unsigned i = 0; i < SHADOW_HARNESS_MAX; i++) {
        const shadow_region_t *r = &s->harness[i];
        if (r->lo < r->hi && p < r->hi && r->lo < e)
            return true;
    }
    return false;
}

int shadow_overlap(const shadow_t *s, uintptr_t p, size_t extent, int except)
{
    uintptr_t e = end_of(p, extent ? extent : 1);
    size_t i = upper_bound(s, p);
    /* Indexed blocks are disjoint, so only the nearest predecessor and successor (skipping
     * the excluded one) can overlap. */
    size_t pred = i;
    while (pred > 0 && s->order[pred - 1] == except)
        pred--;
    if (pred > 0) {
        const shadow_block_t *b = &s->slot[s->order[pred - 1]];
        if (end_of(b->ptr, b->extent ? b->extent : 1) > p)
            return s->order[pred - 1];
    }
    size_t succ = i;
    while (succ < s->n && s->order[succ] == except)
        succ++;
    if (succ < s->n && s->order_ptr[succ] < e)
        return s->order[succ];
    return overlaps_harness(s, p, e) ? SHADOW_HARNESS : SHADOW_NONE;
}

void shadow_insert(shadow_t *s, unsigned slot, const shadow_block_t *b)
{
    uint32_t gen = s->slot[slot].gen;
    s->slot[slot] = *b;
    s->slot[slot].gen = gen;
    s->slot[slot].live = 1;
    s->live_bytes += b->size;
    s->live_blocks++;
    if (!s->indexed)
        return;
    size_t i = upper_bound(s, b->ptr);
    memmove(&s->order_ptr[i + 1], &s->order_ptr[i], (s->n - i) * sizeof s->order_ptr[0]);
    memmove(&s->order[i + 1], &s->order[i], (s->n - i) * sizeof s->order[0]);
    s->order_ptr[i] = b->ptr;
    s->order[i] = (uint16_t)slot;
    s->n++;
}

void shadow_remove(shadow_t *s, unsigned slot)
{
    shadow_block_t *b = &s->slot[slot];
    s->live_bytes -= b->size;
    s->live_blocks--;
    b->live = 0;
    b->gen++;
    if (!s->indexed)
        return;
    /* Blocks are disjoint, so the entry with this address is the last one <= ptr. */
    size_t i = upper_bound(s, b->ptr);
    if (i == 0 || s->order[i - 1] != slot)
        return;
    i--;
    memmove(&s->order_ptr[i], &s->order_ptr[i + 1], (s->n - i - 1) * sizeof s->order_ptr[0]);
    memmove(&s->order[i], &s->order[i + 1], (s->n - i - 1) * sizeof s->order[0]);
    s->n--;
}

uint64_t shadow_key(uint64_t seed, unsigned slot, uint32_t gen)
{
    /* splitmix64 finalizer: nearby slots and generations get unrelated keys. */
    uint64_t z = seed ^ ((uint64_t)slot << 32) ^ gen;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t word_at(uint64_t key, size_t w)
{
    return key + (uint64_t)w * PATTERN_STEP;
}

uint8_t shadow_pattern_byte(uint64_t key, size_t off)
{
    uint64_t w = word_at(key, off / 8);
    uint8_t b[8];
    memcpy(b, &w, 8);
    return b[off % 8];
}

void shadow_fill(void *p, size_t from, size_t to, uint64_t key)
{
    uint8_t *c = p;
    size_t off = from;
    for (; off < to && off % 8; off++)
        c[off] = shadow_pattern_byte(key, off);
    size_t words_end = to & ~(size_t)7;
    for (; off < words_end; off += 8) {
        uint64_t w = word_at(key, off / 8);
        memcpy(c + off, &w, 8);
    }
    for (; off < to; off++)
        c[off] = shadow_pattern_byte(key, off);
}

static size_t first_bad_byte(const uint8_t *c, size_t from, size_t to, uint64_t key, bool zero)
{
    for (size_t off = from; off < to; off++)
        if (c[off] != (zero ? 0 : shadow_pattern_byte(key, off)))
            return off;
    return SIZE_MAX;
}

/* OR of (word ^ expected) over n whole words from word index w0; 0 when all match. Four
 * independent lanes keep the loop free of dependencies so it runs at memory speed. */
static uint64_t diff_words(const uint8_t *c, size_t w0, size_t n, uint64_t key, bool zero)
{
    uint64_t step = zero ? 0 : PATTERN_STEP, v = zero ? 0 : word_at(key, w0);
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, x[4];
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        memcpy(x, c + i * 8, 32);
        a0 |= x[0] ^ v;
        a1 |= x[1] ^ (v + step);
        a2 |= x[2] ^ (v + 2 * step);
        a3 |= x[3] ^ (v + 3 * step);
        v += 4 * step;
    }
    for (; i < n; i++, v += step) {
        memcpy(x, c + i * 8, 8);
        a0 |= x[0] ^ v;
    }
    return a0 | a1 | a2 | a3;
}

/* Checks whole words in chunks; only a failing chunk is rescanned byte by byte to name the
 * first bad offset. */
static size_t find_bad(const void *p, size_t from, size_t to, uint64_t key, bool zero)
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

size_t shadow_find_bad_sampled(const void *p, size_t len, uint64_t key, bool zero)
{
    enum { EDGE = 64, SAMPLES = 4 };
    if (len <= 2 * EDGE + SAMPLES * 8)
        return find_bad(p, 0, len, key, zero);
    size_t bad = find_bad(p, 0, EDGE, key, zero);
    if (bad == SIZE_MAX)
        bad = find_bad(p, len - EDGE, len, key, zero);
    uint64_t r = key | 1;
    for (unsigned i = 0; i < SAMPLES && bad == SIZE_MAX; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        size_t off = EDGE + r % (len - 2 * EDGE - 8);
        bad = find_bad(p, off, off + 8, key, zero);
    }
    return bad;
}
