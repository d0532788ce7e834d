/* refalloc internals: every struct, constant and inline helper of the reference allocator.
 *
 * Glossary
 *   chunk   a 64 KiB-aligned, 64 KiB piece of address space. The radix map (chunk -> owner)
 *           is how a pointer is recognised: a chunk nobody registered is not ours.
 *   slab    1..16 chunks cut into equal slots of one size class. Its descriptor (slab_t)
 *           lives out of band, in the meta pool, where an overflowing block cannot reach it.
 *   slot    one block of a slab: 8 header bytes, then the user's bytes (usable = size - 8).
 *           Slot i starts at base + REF_SLOT0 + i * size, so its user pointer (8 bytes on)
 *           is 16-aligned.
 *   header  the 8 bytes before every user pointer: 32 bits of fields (state, flags, offset
 *           of an aligned pointer inside its slot) and 32 bits of a keyed hash of (pointer,
 *           fields). A double free, a foreign pointer or a stray write is caught on free.
 *   class   one of REF_NCLASSES slot sizes: 16..128 by 16, then 8 steps per power of two up
 *           to 128 KiB (at most 1/8 lost to rounding). Larger requests are "large": their
 *           own mapping, a header page first.
 *   tcache  per-thread stacks of free slots, one per class. malloc and free touch only it;
 *           refills and flushes move a batch under the class lock.
 *   spare   one empty slab a class keeps so that a slab emptying and refilling does not
 *           cost mmap/munmap every time; its pages are purged, except while all classes'
 *           spares together keep less than 512 KiB (then refilling costs no page faults).
 *   cache   a few recently freed large mappings (a few MiB in all), reused for a request of
 *           about the same size: mmap, page faults and munmap's TLB shootdowns across threads
 *           are what large blocks cost.
 * Leaves out: arenas, size-class tuning per workload, huge pages. */
#ifndef ALLOCHECK_REFALLOC_META_H
#define ALLOCHECK_REFALLOC_META_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define REF_HDR 8u                      /* header bytes before each user pointer */
#define REF_ALIGN ((unsigned)_Alignof(max_align_t))   /* what malloc's blocks are aligned to */
#define REF_PAGE ref_page_size()        /* the system's page: valloc, pvalloc, large mappings */
#define REF_CHUNK_SHIFT 16
#define REF_CHUNK ((size_t)1 << REF_CHUNK_SHIFT)
#define REF_CLASS_STEPS 8             /* classes per power of two above 128 */
#define REF_NCLASSES (8 + 10 * REF_CLASS_STEPS)
#define REF_SLOT_MAX ((size_t)128 << 10)              /* largest slot */
#define REF_SMALL_MAX (REF_SLOT_MAX - REF_HDR)        /* largest request a slab serves */
#define REF_MAX_REQ ((size_t)1 << 47)                 /* requests >= this fail: ENOMEM */
#define REF_BATCH_MAX 64u
#define REF_SLOT0 (REF_ALIGN - REF_HDR)               /* offset of slot 0 in its slab */

/* Header fields (low 32 bits of the header word). */
#define REF_USED 0xa5u
#define REF_FREE 0x5au
#define REF_F_ALIGNED (1u << 8)         /* pointer inside its slot, offset in bits 16..31 */
#define REF_F_LARGE (2u << 8)
#define REF_STATE(f) ((f) & 0xffu)
#define REF_OFF(f) ((size_t)((f) >> 16) * REF_ALIGN)

typedef struct slab {
    char *base;            /* first byte of the span, chunk aligned */
    uint64_t recip;        /* ceil(2^44 / size): slot index by multiplication, not division */
    void *free;            /* free slots (linked through their first word) */
    struct slab *next, *prev;
    uint32_t size;         /* slot size */
    uint32_t nslots;
    uint32_t bump;         /* slots [0, bump) have been handed out at least once */
    uint32_t used;         /* slots not on the free list: live or in some tcache */
    uint32_t span;         /* bytes mapped */
    uint8_t cls;
    uint8_t listed;        /* on its class's list of slabs with room */
    uint8_t dirty;         /* a spare whose pages were kept (counted in heap.c's spare_dirty) */
} slab_t;

/* The header page of a large block, at base; the user pointer is base + REF_PAGE. An
 * over-aligned block keeps the slack of the mapping it was cut from (unmapping it would cost
 * two more syscalls): its mapping is [map, map + map_len), writable throughout. */
typedef struct large {
    uint64_t seal;         /* keyed hash of the fields below */
    char *base;
    size_t len;            /* the block's bytes from base */
    size_t req;            /* the size asked for (free_sized checks it exactly) */
    char *map;
    size_t map_len;
} large_t;

typedef struct bin {
    void *head;
    uint32_t count, limit;
} bin_t;

typedef struct tcache {
    bin_t bin[REF_NCLASSES];
    struct tcache *next_free;
} tcache_t;

/* A validated block, as ref_block_find reports it. */
typedef struct block {
    slab_t *slab;          /* or NULL for a large block */
    large_t *large;
    char *slot;            /* user pointer of the slot (differs from p when aligned) */
    size_t usable;
    uint32_t fields;
} block_t;

extern uint64_t ref_secret;
extern uintptr_t *ref_radix[1u << 16];
extern __thread tcache_t *ref_tc __attribute__((tls_model("initial-exec")));
extern pthread_mutex_t ref_large_lock; /* the large cache's; heap.c's fork hooks take it */

/* heap.c: slabs, tcaches, init, fork. */
void ref_init(void);
void *ref_small_slow(unsigned cls);
void ref_free_slow(char *slot, unsigned cls);
void ref_block_find(void *p, block_t *b, const char *fn);
void ref_block_free(void *p, const block_t *b);
/* large.c: blocks with their own mapping. */
void *ref_large_alloc(size_t n, size_t align, bool zero);
void ref_large_free(large_t *d);
void *ref_large_resize(void *p, large_t *d, size_t n);
uint64_t ref_large_seal(const large_t *d);
int ref_radix_set(const void *p, uintptr_t v);
/* aligned.c: the aligned allocation every aligned entry point shares. */
void *ref_aligned(size_t align, size_t n);

/* need = request + REF_HDR, 1..REF_SLOT_MAX. */
static inline unsigned ref_class_of(size_t need)
{
    if (need <= 128)
        return need ? (unsigned)((need + 15) / 16 - 1) : 0;
    unsigned k = 63u - (unsigned)__builtin_clzll(need - 1);
    return 8 + (k - 7) * REF_CLASS_STEPS + (unsigned)((need - 1 - ((size_t)1 << k)) >> (k - 3));
}

static inline size_t ref_class_size(unsigned c)
{
    if (c < 8)
        return 16 * ((size_t)c + 1);
    unsigned k = 7 + (c - 8) / REF_CLASS_STEPS, i = (c - 8) % REF_CLASS_STEPS;
    return ((size_t)1 << k) + (((size_t)i + 1) << (k - 3));
}

static inline uint32_t ref_hash(uintptr_t a, uint64_t b)
{
    uint64_t x = (a ^ ref_secret) * 0x9e3779b97f4a7c15ull;
    x ^= (b + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull;
    x ^= x >> 31;
    return (uint32_t)(x * 0x94d049bb133111ebull >> 32);
}

static inline void ref_hdr_set(char *p, uint32_t fields)
{
    uint64_t h = (uint64_t)ref_hash((uintptr_t)p, fields) << 32 | fields;
    memcpy(p - REF_HDR, &h, sizeof h);
}

/* The header's fields, or false when its hash does not match (not a header we wrote). */
static inline bool ref_hdr_get(const char *p, uint32_t *fields)
{
    uint64_t h;
    memcpy(&h, p - REF_HDR, sizeof h);
    *fields = (uint32_t)h;
    return (uint32_t)(h >> 32) == ref_hash((uintptr_t)p, (uint32_t)h);
}

/* The owner registered for p's chunk: a slab_t *, a large_t * | 1, or 0. */
static inline uintptr_t ref_radix_get(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (a >> 48)
        return 0;
    uintptr_t *leaf = __atomic_load_n(&ref_radix[a >> 32], __ATOMIC_ACQUIRE);
    return leaf ? __atomic_load_n(&leaf[(a >> REF_CHUNK_SHIFT) & 0xffff], __ATOMIC_ACQUIRE) : 0;
}

/* One free slot of class cls (its user pointer), or NULL with errno ENOMEM. */
static inline char *ref_slot_get(unsigned cls)
{
    tcache_t *tc = ref_tc;
    if (__builtin_expect(tc != NULL, 1)) {
        bin_t *b = &tc->bin[cls];
        char *p = b->head;
        if (__builtin_expect(p != NULL, 1)) {
            b->head = *(void **)p;
            b->count--;
            return p;
        }
    }
    return ref_small_slow(cls);
}

static inline void ref_slot_put(char *slot, unsigned cls)
{
    tcache_t *tc = ref_tc;
    if (__builtin_expect(tc != NULL, 1)) {
        bin_t *b = &tc->bin[cls];
        if (__builtin_expect(b->count < b->limit, 1)) {
            *(void **)slot = b->head;
            b->head = slot;
            b->count++;
            return;
        }
    }
    ref_free_slow(slot, cls);
}

/* malloc's whole job; n <= REF_SMALL_MAX goes to a slot, the rest to its own mapping. */
static inline void *ref_alloc(size_t n)
{
    if (n > REF_SMALL_MAX)
        return ref_large_alloc(n, REF_ALIGN, false);
    char *p = ref_slot_get(ref_class_of(n + REF_HDR));
    if (p)
        ref_hdr_set(p, REF_USED);
    return p;
}

/* The page size, read from the system once (4 KiB on x86-64, 16 KiB on some arm64). */
size_t ref_page_size(void);

#endif
