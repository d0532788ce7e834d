/* The child's half of `allocheck harden`: runs one misuse case, then the probe every case
 * shares, and writes what it found into the run's shared slot. The probe is the same sequence
 * after every misuse: the blocks the misuse returned, then PROBE_ALLOCS allocations of the
 * probe size (malloc and calloc alternately), each checked under the shadow model (src/exec/shadow.c)
 * against the live blocks, each other and foreign memory before it is filled with its pattern;
 * then every live block, handed-out block and watched foreign byte must be as left. Only after
 * that verdict is written are the probe's blocks freed: a death there is a late answer.
 * Everything here lives in mappings of its own, never in the heap under test.
 * Leaves out: judging the child's death (src/harden/harden.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "src/harden/harden.h"
#include "src/exec/shadow.h"

#define MAX_FOREIGN 4
#define FOREIGN_WATCH 1024
#define MAX_GOT 32
#define PROBE_ALLOCS 8
#define FILL_CAP ((size_t)1 << 20)   /* bytes of a block the probe fills and verifies */
#define SECRET 0x21544552434553ull   /* "SECRET!" little-endian, top byte 0 */

typedef struct block {
    void *p;
    size_t size;
} block_t;

struct mz {
    const alloc_t *a;
    harden_slot_t *slot;
    shadow_t *sh;
    size_t probe_size;
    unsigned nslots;                     /* shadow slots used */
    block_t got[MAX_GOT];
    unsigned ngot;
    struct {
        unsigned char *p;
        size_t len;
        unsigned char was[FOREIGN_WATCH];
    } foreign[MAX_FOREIGN];
    unsigned nforeign;
    unsigned leaked_words, secret_words; /* from mz_read_freed */
    int probe_from;                      /* first shadow slot of the probe's own blocks */
};

const alloc_t *mz_alloc(mz_t *h)
{
    return h->a;
}

/* The first finding wins; a corruption outranks a leak found before it. */
static void found(mz_t *h, harden_outcome_t o, const char *fmt, ...)
{
    harden_slot_t *s = h->slot;
    if (s->found != HO_IGNORED && !(s->found == HO_LEAKED && o != HO_LEAKED))
        return;
    s->found = o;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    va_end(ap);
}

void mz_na(mz_t *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->slot->msg, sizeof h->slot->msg, fmt, ap);
    va_end(ap);
    h->slot->phase = HARDEN_PHASE_NA;
}

void *mz_must(mz_t *h, size_t n)
{
    void *p = mz_malloc(h, n);
    if (!p)
        mz_na(h, "setup: malloc(%zu) failed", n);
    return p;
}

static size_t capped(size_t n)
{
    return n < FILL_CAP ? n : FILL_CAP;
}

static void track(mz_t *h, void *p, size_t size)
{
    if (h->nslots >= OPS_SLOTS)
        return;
    unsigned slot = h->nslots++;
    shadow_block_t b = { .ptr = (uintptr_t)p, .size = size, .extent = size ? size : 1,
                         .key = shadow_key(0x6861726465ull, slot, 0) };
    shadow_insert(h->sh, slot, &b);
    shadow_fill(p, 0, capped(size), b.key);
}

void mz_live(mz_t *h, void *p, size_t size)
{
    if (p && h->slot->phase != HARDEN_PHASE_NA)
        track(h, p, size);
}

void mz_foreign(mz_t *h, void *p, size_t len)
{
    if (h->nforeign == MAX_FOREIGN)
        return;
    unsigned i = h->nforeign++;
    h->foreign[i].p = p;
    h->foreign[i].len = len < FOREIGN_WATCH ? len : FOREIGN_WATCH;
    memcpy(h->foreign[i].was, p, h->foreign[i].len);
    shadow_set_harness(h->sh, 2 + i, p, len);
}

void mz_secret(mz_t *h, void *p, size_t len)
{
    uint64_t w = SECRET;
    for (size_t off = 0; off + sizeof w <= len; off += sizeof w)
        memcpy((char *)p + off, &w, sizeof w);
}

void mz_got(mz_t *h, void *p, size_t size)
{
    if (p && h->ngot < MAX_GOT)
        h->got[h->ngot++] = (block_t){ p, size };
}

void mz_read_freed(mz_t *h, const void *p, size_t len)
{
    const volatile unsigned char *v = p;
    for (size_t off = 0; off + 8 <= len; off += 8) {
        uint64_t w = 0;
        for (int i = 0; i < 8; i++)
            w |= (uint64_t)v[off + (size_t)i] << (8 * i);
        h->secret_words++;
        h->leaked_words += w == SECRET;
    }
}

void mz_begin(mz_t *h, size_t probe_size)
{
    h->probe_size = probe_size ? probe_size : 32;
    h->slot->phase = HARDEN_PHASE_MISUSE;
}

void mz_end(mz_t *h)
{
    if (h->slot->phase == HARDEN_PHASE_MISUSE)
        h->slot->phase = HARDEN_PHASE_PROBE;
}

/* Whether the page of p is mapped at all (mincore fails with ENOMEM where nothing is). */
static bool mapped(const void *p)
{
    long page = sysconf(_SC_PAGESIZE);
    unsigned char v;
    void *base = (void *)((uintptr_t)p & ~(uintptr_t)(page - 1));
    return mincore(base, (size_t)page, &v) == 0 || errno != ENOMEM;
}

static bool has_secret(const void *p, size_t size)
{
    for (size_t off = 0; off + 8 <= capped(size); off += 8) {
        uint64_t w;
        memcpy(&w, (const char *)p + off, sizeof w);
        if (w == SECRET)
            return true;
    }
    return false;
}

/* Where a block the allocator just handed out may not be; false when it must not be used. */
static bool check_new(mz_t *h, void *p, size_t size, const char *how)
{
    if (!mapped(p)) {
        found(h, HO_ARBITRARY, "%s returned %p, where nothing is mapped", how, p);
        return false;
    }
    int o = shadow_overlap(h->sh, (uintptr_t)p, size ? size : 1, -1);
    if (o == SHADOW_HARNESS) {
        found(h, HO_ARBITRARY, "%s returned %p, inside memory the allocator does not own", how, p);
        return false;
    }
    if (o >= 0) {
        const shadow_block_t *b = &h->sh->slot[o];
        bool same = b->ptr == (uintptr_t)p;
        found(h, same ? HO_DUPLICATE : HO_OVERLAPPING, "%s returned %p, %s the live %zu-byte "
              "block at %p", how, p, same ? "again: it is" : "overlapping", b->size,
              (void *)b->ptr);
        return false;
    }
    return true;
}

static void check_contents(mz_t *h, void *p, size_t size, bool zero, const char *how)
{
    if (has_secret(p, size))
        found(h, HO_LEAKED, "%s returned %p holding data written before a free", how, p);
    else if (zero && shadow_find_nonzero(p, 0, capped(size)) != SIZE_MAX)
        found(h, HO_LEAKED, "%s returned %p with non-zero bytes", how, p);
}

static void take(mz_t *h, void *p, size_t size, bool zero, const char *how)
{
    if (!p || !check_new(h, p, size, how))
        return;
    check_contents(h, p, size, zero, how);
    track(h, p, size);
}

/* The same sequence after every misuse. */
static void probe_allocs(mz_t *h)
{
    const alloc_t *a = h->a;
    char how[64];
    for (unsigned i = 0; i < h->ngot; i++)
        take(h, h->got[i].p, h->got[i].size, false, "the misused call");
    h->probe_from = (int)h->nslots;
    for (int i = 0; i < PROBE_ALLOCS; i++) {
        bool c = (i & 1) && a->calloc;
        snprintf(how, sizeof how, "%s %d of the probe (%zu bytes)", c ? "calloc" : "malloc",
                 i + 1, h->probe_size);
        void *p = c ? a->calloc(a->ctx, 1, h->probe_size) : a->malloc(a->ctx, h->probe_size);
        take(h, p, h->probe_size, c, how);
    }
}

/* Every tracked block and watched foreign byte must be as the harness left it. */
static void verify(mz_t *h)
{
    for (unsigned i = 0; i < h->nslots; i++) {
        const shadow_block_t *b = &h->sh->slot[i];
        size_t bad = shadow_find_bad((void *)b->ptr, 0, capped(b->size), b->key);
        if (bad != SIZE_MAX)
            found(h, HO_RESTRICTED, "byte %zu of the %s %zu-byte block at %p was overwritten",
                  bad, (int)i >= h->probe_from ? "probe's" : "live", b->size, (void *)b->ptr);
    }
    for (unsigned i = 0; i < h->nforeign; i++)
        for (size_t off = 0; off < h->foreign[i].len; off++)
            if (h->foreign[i].p[off] != h->foreign[i].was[off]) {
                found(h, HO_RESTRICTED, "the allocator wrote into foreign memory at %p",
                      (void *)(h->foreign[i].p + off));
                break;
            }
}

static void free_probe(mz_t *h)
{
    for (unsigned i = (unsigned)h->probe_from; i < h->nslots; i++)
        h->a->free(h->a->ctx, (void *)h->sh->slot[i].ptr);
}

static void *map(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void harden_child(const alloc_t *a, const misuse_t *c, harden_slot_t *slot)
{
    mz_t *h = map(sizeof *h);
    shadow_t *sh = map(sizeof *sh);
    slot->found = HO_IGNORED;
    if (!h || !sh) {
        mz_na(h ? h : &(mz_t){ .slot = slot }, "harness: mmap failed");
        return;
    }
    *h = (mz_t){ .a = a, .slot = slot, .sh = sh };
    shadow_reset(sh, true);
    shadow_set_harness(sh, 0, slot, sizeof *slot);
    shadow_set_harness(sh, 1, h, sizeof *h);
    c->run(h);
    if (slot->phase == HARDEN_PHASE_NA || slot->phase == HARDEN_PHASE_SETUP)
        return;
    slot->phase = HARDEN_PHASE_PROBE;
    if (h->leaked_words)
        found(h, HO_LEAKED, "%u of %u words written before the free were still readable "
              "through the dangling pointer", h->leaked_words, h->secret_words);
    probe_allocs(h);
    verify(h);
    slot->phase = HARDEN_PHASE_CLEANUP;
    free_probe(h);
    slot->phase = HARDEN_PHASE_DONE;
}
