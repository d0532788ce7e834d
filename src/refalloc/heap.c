/* refalloc's heap: size classes, slabs, per-thread caches, block validation, init and fork.
 * Lock order: a class lock, then ref_large_lock, then meta_lock (pools and radix leaves).
 * The tcache fast paths are inline in meta.h; everything that takes a lock is here. */
#include "src/refalloc/meta.h"

#include "src/refalloc/glue.h"

typedef struct class {
    glue_lock_t lock;
    slab_t *slabs;         /* slabs with room (free list or unbumped slots) */
    slab_t *spare;         /* an empty slab kept for reuse, on no list: used last */
    bool purging;          /* a spare-to-be is being purged without the lock */
    uint32_t size, span, nslots, batch;
} class_t;

/* Fixed-size objects carved from mappings; lives under meta_lock. */
typedef struct pool {
    void *free;
    char *bump, *end;
    size_t size;
} pool_t;

uint64_t ref_secret;
uintptr_t *ref_radix[1u << 16];
__thread tcache_t *ref_tc __attribute__((tls_model("initial-exec")));

static class_t classes[REF_NCLASSES];
static glue_lock_t meta_lock = GLUE_LOCK_INIT;
static glue_lock_t init_lock = GLUE_LOCK_INIT;
static pool_t slab_pool = { .size = sizeof(slab_t) };
static pool_t tcache_pool = { .size = sizeof(tcache_t) };
static int ready;
static pthread_key_t tc_key;
/* What a thread's tcache becomes once it exited: limit 0, so every call takes the slow path,
 * which then works on the class directly. */
static tcache_t tc_dead;

size_t ref_page_size(void)
{
    static size_t page;   /* threads may race to fill it in, with the same value */
    size_t p = __atomic_load_n(&page, __ATOMIC_RELAXED);
    if (!p) {
        p = glue_page();
        __atomic_store_n(&page, p, __ATOMIC_RELAXED);
    }
    return p;
}

/* Bytes of spare slabs kept with their pages rather than purged, all classes together. A
 * class whose last slab empties and soon refills (a loop's working set, a fuzz input's) then
 * costs no page faults, and what an idle heap holds on to stays bounded. */
#define SPARE_DIRTY_MAX ((size_t)512 << 10)
static size_t spare_dirty;

/* Whether the spare-to-be s may keep its pages: the budget has room for them. */
static bool spare_keep(slab_t *s)
{
    if (__atomic_add_fetch(&spare_dirty, s->span, __ATOMIC_RELAXED) > SPARE_DIRTY_MAX) {
        __atomic_sub_fetch(&spare_dirty, s->span, __ATOMIC_RELAXED);
        return false;
    }
    s->dirty = 1;
    return true;
}

/* A spare taken into use leaves the budget. */
static void spare_taken(slab_t *s)
{
    if (s->dirty)
        __atomic_sub_fetch(&spare_dirty, s->span, __ATOMIC_RELAXED);
    s->dirty = 0;
}

static void *pool_get(pool_t *pl)
{
    void *o = pl->free;
    if (o) {
        pl->free = *(void **)o;
        return o;
    }
    if ((size_t)(pl->end - pl->bump) < pl->size) {
        char *m = glue_map(256 << 10, 1);
        if (!m)
            return NULL;
        pl->bump = m;
        pl->end = m + (256 << 10);
    }
    o = pl->bump;
    pl->bump += pl->size;
    return o;
}

static void pool_put(pool_t *pl, void *o)
{
    *(void **)o = pl->free;
    pl->free = o;
}

/* Registers v as the owner of p's chunk; the leaf is created under meta_lock. */
int ref_radix_set(const void *p, uintptr_t v)
{
    uintptr_t a = (uintptr_t)p;
    uintptr_t **top = &ref_radix[a >> 32];
    uintptr_t *leaf = __atomic_load_n(top, __ATOMIC_ACQUIRE);
    if (!leaf) {
        glue_lock(&meta_lock);
        leaf = *top;
        if (!leaf && (leaf = glue_map(sizeof(uintptr_t) << 16, 1)))
            __atomic_store_n(top, leaf, __ATOMIC_RELEASE);
        glue_unlock(&meta_lock);
        if (!leaf)
            return -ENOMEM;
    }
    __atomic_store_n(&leaf[(a >> REF_CHUNK_SHIFT) & 0xffff], v, __ATOMIC_RELEASE);
    return 0;
}

/* The smallest span (1..16 chunks) wasting at most 1/32 of itself, else the least wasteful. */
static void class_setup(class_t *c, unsigned ci)
{
    size_t size = ref_class_size(ci), best = 0, best_waste = SIZE_MAX;
    for (size_t span = REF_CHUNK; span <= 16 * REF_CHUNK; span += REF_CHUNK) {
        size_t waste = (span - REF_SLOT0) % size + REF_SLOT0;
        if (!best || waste * best < best_waste * span) {
            best = span;
            best_waste = waste;
        }
        if (waste * 32 <= span)
            break;
    }
    c->size = (uint32_t)size;
    c->span = (uint32_t)best;
    c->nslots = (uint32_t)((best - REF_SLOT0) / size);
    size_t batch = (16u << 10) / size;
    c->batch = batch < 1 ? 1 : batch > REF_BATCH_MAX ? REF_BATCH_MAX : (uint32_t)batch;
}

static void tcache_setup(tcache_t *tc)
{
    for (unsigned i = 0; i < REF_NCLASSES; i++)
        tc->bin[i] = (bin_t){ NULL, 0, 2 * classes[i].batch };
}

static void slab_link(class_t *c, slab_t *s)
{
    s->prev = NULL;
    s->next = c->slabs;
    if (c->slabs)
        c->slabs->prev = s;
    c->slabs = s;
    s->listed = 1;
}

static void slab_unlink(class_t *c, slab_t *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        c->slabs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->listed = 0;
}

static int slab_register(slab_t *s, uintptr_t v)
{
    for (size_t off = 0; off < s->span; off += REF_CHUNK)
        if (ref_radix_set(s->base + off, v))
            return -ENOMEM;
    return 0;
}

/* A chunk-aligned mapping of span bytes, cut from a larger one. */
static char *map_aligned(size_t span)
{
    char *m = glue_map(span + REF_CHUNK, 1);
    if (!m)
        return NULL;
    char *base = (char *)(((uintptr_t)m + REF_CHUNK - 1) & ~(REF_CHUNK - 1));
    glue_unmap(m, (size_t)(base - m));
    glue_unmap(base + span, (size_t)(m + REF_CHUNK - base));
    return base;
}

/* A new slab for class ci, registered in the radix map but on no list; NULL if out of memory.
 * Called without the class lock. */
static slab_t *slab_new(class_t *c, unsigned ci)
{
    char *base = map_aligned(c->span);
    if (!base)
        return NULL;
    glue_lock(&meta_lock);
    slab_t *s = pool_get(&slab_pool);
    glue_unlock(&meta_lock);
    if (!s) {
        glue_unmap(base, c->span);
        return NULL;
    }
    *s = (slab_t){ .base = base, .size = c->size, .nslots = c->nslots, .span = c->span,
                   .cls = (uint8_t)ci, .recip = ((1ull << 44) + c->size - 1) / c->size };
    if (slab_register(s, (uintptr_t)s)) {
        slab_register(s, 0);
        glue_unmap(base, c->span);
        glue_lock(&meta_lock);
        pool_put(&slab_pool, s);
        glue_unlock(&meta_lock);
        return NULL;
    }
    return s;
}

static void slab_release(slab_t *s)
{
    slab_register(s, 0);
    glue_unmap(s->base, s->span);
    glue_lock(&meta_lock);
    pool_put(&slab_pool, s);
    glue_unlock(&meta_lock);
}

/* Up to want slots of class ci from its listed slabs into out; the class lock is held. */
static unsigned class_take(unsigned ci, void **out, unsigned want)
{
    class_t *c = &classes[ci];
    unsigned n = 0;
    while (n < want) {
        slab_t *s = c->slabs;
        /* Partly used slabs first: filling them keeps the empty one empty. */
        if (!s && (s = c->spare)) {
            c->spare = NULL;
            spare_taken(s);
            slab_link(c, s);
        }
        if (!s)
            break;
        for (; n < want && s->free; s->used++) {
            out[n++] = s->free;
            s->free = *(void **)s->free;
        }
        /* bump is read without the lock by slab_slot_of, hence the atomic store. */
        uint32_t bump = s->bump;
        for (; n < want && bump < s->nslots; s->used++)
            out[n++] = s->base + REF_SLOT0 + REF_HDR + (size_t)bump++ * s->size;
        __atomic_store_n(&s->bump, bump, __ATOMIC_RELAXED);
        if (!s->free && s->bump == s->nslots)
            slab_unlink(c, s);
    }
    return n;
}

/* Up to want slots of class ci, mapping a new slab when the class has none to give; the
 * mapping is made without the lock, since mmap is slow and other threads need the class.
 * If another thread added room meanwhile, the new slab becomes the spare or is unmapped. */
static unsigned take(unsigned ci, void **v, unsigned want)
{
    class_t *c = &classes[ci];
    slab_t *s = NULL;
    glue_lock(&c->lock);
    unsigned n = class_take(ci, v, want);
    while (!n) {
        glue_unlock(&c->lock);
        s = slab_new(c, ci);
        glue_lock(&c->lock);
        if (!s)
            break;
        if (!(n = class_take(ci, v, want))) {
            slab_link(c, s);
            n = class_take(ci, v, want);
            s = NULL;
        } else if (!c->spare && !c->purging) {
            c->spare = s;
            s = NULL;
        }
    }
    glue_unlock(&c->lock);
    if (s)
        slab_release(s);
    return n;
}

/* An empty slab, on no list and owning no live slot: it becomes the class's spare (its pages
 * purged first, without the lock, unless the budget of spare_keep() keeps them) or goes back
 * to the kernel. No lock held on entry. */
static void slab_retire(class_t *c, slab_t *s)
{
    glue_lock(&c->lock);
    bool keep = !c->spare && !c->purging;
    c->purging |= keep;
    glue_unlock(&c->lock);
    if (!keep) {
        slab_release(s);
        return;
    }
    if (!spare_keep(s))
        glue_purge(s->base, s->span);
    s->free = NULL;
    __atomic_store_n(&s->bump, 0, __ATOMIC_RELAXED);
    glue_lock(&c->lock);
    c->spare = s;
    c->purging = false;
    glue_unlock(&c->lock);
}

/* Returns n slots of class ci to their slabs (sl[i] owns v[i]); the class lock is held.
 * Slabs left empty are unlinked and chained through next for slab_retire. */
static slab_t *class_give(unsigned ci, void **v, slab_t **sl, unsigned n)
{
    class_t *c = &classes[ci];
    slab_t *empty = NULL;
    for (unsigned i = 0; i < n; i++) {
        slab_t *s = sl[i];
        *(void **)v[i] = s->free;
        s->free = v[i];
        if (!s->listed)
            slab_link(c, s);
        if (--s->used == 0) {
            slab_unlink(c, s);
            s->next = empty;
            empty = s;
        }
    }
    return empty;
}

/* Gives n slots back; the owners are looked up (and their cache lines fetched) before the
 * lock is taken, so that the lock is held for list work only. */
static void give_back(unsigned ci, void **v, unsigned n)
{
    slab_t *sl[REF_BATCH_MAX * 2];
    for (unsigned i = 0; i < n; i++) {
        sl[i] = (slab_t *)ref_radix_get(v[i]);
        __builtin_prefetch(sl[i], 1);
    }
    glue_lock(&classes[ci].lock);
    slab_t *empty = class_give(ci, v, sl, n);
    glue_unlock(&classes[ci].lock);
    while (empty) {
        slab_t *next = empty->next;
        slab_retire(&classes[ci], empty);
        empty = next;
    }
}

static void bin_flush(bin_t *b, unsigned ci, unsigned n)
{
    void *v[REF_BATCH_MAX * 2];
    unsigned k = 0;
    for (; k < n && b->head; k++) {
        v[k] = b->head;
        b->head = *(void **)b->head;
    }
    b->count -= k;
    give_back(ci, v, k);
}

static void tcache_exit(void *arg)
{
    tcache_t *tc = arg;
    for (unsigned i = 0; i < REF_NCLASSES; i++)
        bin_flush(&tc->bin[i], i, tc->bin[i].count);
    ref_tc = &tc_dead;
    glue_lock(&meta_lock);
    pool_put(&tcache_pool, tc);
    glue_unlock(&meta_lock);
}

static void tcache_create(void)
{
    ref_init();
    glue_lock(&meta_lock);
    tcache_t *tc = pool_get(&tcache_pool);
    glue_unlock(&meta_lock);
    if (!tc) {
        ref_tc = &tc_dead;
        return;
    }
    tcache_setup(tc);
    /* Set first: pthread_setspecific may itself allocate (keys >= 32 in glibc). */
    ref_tc = tc;
    glue_thread_set(tc_key, tc);
}

void *ref_small_slow(unsigned cls)
{
    if (!ref_tc)
        tcache_create();
    tcache_t *tc = ref_tc;
    void *v[REF_BATCH_MAX];
    unsigned n = take(cls, v, tc == &tc_dead ? 1 : classes[cls].batch);
    if (!n) {
        errno = ENOMEM;
        return NULL;
    }
    bin_t *b = &tc->bin[cls];
    for (unsigned i = 1; i < n; i++) {
        *(void **)v[i] = b->head;
        b->head = v[i];
    }
    if (n > 1)
        b->count += n - 1;
    return v[0];
}

void ref_free_slow(char *slot, unsigned cls)
{
    if (!ref_tc)
        tcache_create();
    tcache_t *tc = ref_tc;
    if (tc == &tc_dead) {
        void *v[1] = { slot };
        give_back(cls, v, 1);
        return;
    }
    bin_t *b = &tc->bin[cls];
    if (b->count >= b->limit)
        bin_flush(b, cls, classes[cls].batch);
    *(void **)slot = b->head;
    b->head = slot;
    b->count++;
}

/* p's slot, given p's header fields; NULL when p is not where such a block can start. */
static char *slab_slot_of(const slab_t *s, const char *p, uint32_t fields)
{
    size_t off = (size_t)(p - s->base);
    size_t in = fields & REF_F_ALIGNED ? REF_OFF(fields) : 0;
    if (off < REF_SLOT0 + REF_HDR + in)
        return NULL;
    /* Exact for off < 2^20 (spans are at most 16 chunks) and size <= 2^17. */
    size_t rel = off - REF_SLOT0 - REF_HDR - in, idx = (size_t)((rel * s->recip) >> 44);
    if (idx * s->size != rel || idx >= __atomic_load_n(&s->bump, __ATOMIC_RELAXED))
        return NULL;
    return (char *)p - in;
}

static void large_find(void *p, block_t *b, large_t *d, const char *fn)
{
    uint32_t f;
    if (d->seal != ref_large_seal(d) || (char *)p != d->base + REF_PAGE)
        glue_die("invalid pointer", p, fn);
    if (!ref_hdr_get(p, &f) || f != (REF_USED | REF_F_LARGE))
        glue_die("corrupted header of", p, fn);
    *b = (block_t){ .large = d, .slot = p, .usable = d->len - REF_PAGE, .fields = f };
}

/* Validates p (a live block of ours) or reports what is wrong with it and aborts. */
void ref_block_find(void *p, block_t *b, const char *fn)
{
    uintptr_t owner = ref_radix_get(p);
    uint32_t f;
    if (!owner || (uintptr_t)p % REF_ALIGN)
        glue_die("invalid pointer", p, fn);
    if (owner & 1) {
        large_find(p, b, (large_t *)(owner - 1), fn);
        return;
    }
    slab_t *s = (slab_t *)owner;
    if ((char *)p < s->base + REF_SLOT0 + REF_HDR)
        glue_die("invalid pointer", p, fn);
    bool ok = ref_hdr_get(p, &f);
    char *slot = ok ? slab_slot_of(s, p, f) : NULL;
    if (!ok || !slot) {
        if (slab_slot_of(s, p, 0))
            glue_die("corrupted header of", p, fn);
        glue_die("invalid pointer", p, fn);
    }
    if (REF_STATE(f) == REF_FREE)
        glue_die("double free of", p, fn);
    if (REF_STATE(f) != REF_USED || (f & REF_F_LARGE))
        glue_die("corrupted header of", p, fn);
    *b = (block_t){ .slab = s, .slot = slot, .usable = (size_t)(slot + s->size - REF_HDR - (char *)p),
                    .fields = f };
}

void ref_block_free(void *p, const block_t *b)
{
    if (b->large) {
        ref_large_free(b->large);
        return;
    }
    ref_hdr_set(p, (b->fields & ~0xffu) | REF_FREE);
    ref_slot_put(b->slot, b->slab->cls);
}

/* fork: take every lock so the child inherits consistent lists, then start them afresh. */
static void fork_prepare(void)
{
    glue_lock(&init_lock);
    for (unsigned i = 0; i < REF_NCLASSES; i++)
        glue_lock(&classes[i].lock);
    glue_lock(&ref_large_lock);
    glue_lock(&meta_lock);
}

static void fork_parent(void)
{
    glue_unlock(&meta_lock);
    glue_unlock(&ref_large_lock);
    for (unsigned i = 0; i < REF_NCLASSES; i++)
        glue_unlock(&classes[i].lock);
    glue_unlock(&init_lock);
}

/* The child's one thread is the one that took every lock, so it releases them like the parent
 * does. Re-initialising held mutexes instead left ThreadSanitizer believing them held, and the
 * child's next lock a "double lock". */
static void fork_child(void)
{
    fork_parent();
}

/* The fork hooks are registered at load time, while the process is still single-threaded.
 * Registering them on first use left a window where another thread allocated before they
 * existed, and a fork in that window handed the child a held lock. */
__attribute__((constructor)) static void fork_hooks_register(void)
{
    glue_atfork(fork_prepare, fork_parent, fork_child);
}

/* Once per process, before the first block: the secret every header hash depends on, and
 * the class table. */
void ref_init(void)
{
    if (__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
        return;
    glue_lock(&init_lock);
    if (!ready) {
        ref_secret = glue_secret();
        for (unsigned i = 0; i < REF_NCLASSES; i++) {
            glue_lock_reinit(&classes[i].lock);
            class_setup(&classes[i], i);
        }
        glue_thread_key(&tc_key, tcache_exit);
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    glue_unlock(&init_lock);
}
