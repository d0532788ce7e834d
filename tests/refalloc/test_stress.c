/* Eight threads share a table of blocks: each op swaps a fresh block (any allocation function)
 * into a random slot and checks, then frees, the block it took out, which another thread
 * usually made. Covers cross-thread frees, cache flushes, slab reuse and thread exit.
 * A fixed op count, not a duration: it finishes in about a second on two cores. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "src/refalloc/refalloc.h"
#include "tests/tap.h"

enum { THREADS = 8, SLOTS = 4096, OPS = 60000 };

typedef struct blk {
    size_t size;
    uint64_t tag;
} blk_t;

static blk_t *slots[SLOTS];
static int errors[THREADS];

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Mostly small, some medium, a few large. */
static size_t pick_size(uint64_t r)
{
    unsigned k = r % 100;
    size_t x = r >> 8;
    return k < 85 ? 16 + x % 240 : k < 98 ? 256 + x % 16000 : 140000 + x % 200000;
}

static void stamp(blk_t *b, size_t size, uint64_t tag)
{
    b->size = size;
    b->tag = tag;
    unsigned char *p = (unsigned char *)(b + 1);
    size_t n = size - sizeof *b;
    memset(p, (int)(tag & 0xff), n < 64 ? n : 64);
    if (n > 64)
        memset(p + n - 64, (int)(tag & 0xff), 64);
}

static bool intact(const blk_t *b)
{
    const unsigned char *p = (const unsigned char *)(b + 1);
    size_t n = b->size - sizeof *b;
    unsigned char c = (unsigned char)(b->tag & 0xff);
    for (size_t i = 0; i < n; i = (i == 63 && n > 128) ? n - 64 : i + 1)
        if (p[i] != c)
            return false;
    return true;
}

static blk_t *make(uint64_t r, size_t size)
{
    switch ((r >> 40) % 6) {
    case 0: return refalloc_calloc(1, size);
    case 1: return refalloc_aligned_alloc(64, size);
    case 2: {
        void *p = NULL;
        return refalloc_posix_memalign(&p, 256, size) ? NULL : p;
    }
    case 3: return refalloc_realloc(refalloc_malloc(size / 2), size);
    default: return refalloc_malloc(size);
    }
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
    for (int i = 0; i < OPS; i++) {
        uint64_t r = next_rand(&s);
        size_t size = pick_size(r);
        blk_t *b = make(r, size);
        if (!b) {
            errors[id]++;
            continue;
        }
        stamp(b, size, r);
        blk_t *old = __atomic_exchange_n(&slots[r % SLOTS], b, __ATOMIC_ACQ_REL);
        if (!old)
            continue;
        errors[id] += !intact(old) || refalloc_malloc_usable_size(old) < old->size;
        if (r & (1ull << 50))
            refalloc_free(old);
        else
            refalloc_free_sized(old, old->size);
    }
    return NULL;
}

enum { EXIT_BLOCKS = 8, EXIT_SIZE = 3000 };
static void *exited_blocks[EXIT_BLOCKS];

static void *alloc_free_exit(void *arg)
{
    for (int i = 0; i < EXIT_BLOCKS; i++)
        exited_blocks[i] = refalloc_malloc(EXIT_SIZE);
    for (int i = 0; i < EXIT_BLOCKS; i++)
        refalloc_free(exited_blocks[i]);
    return arg;
}

/* Blocks a thread freed into its cache come back to the heap when it exits: this thread's
 * next allocations of that class get them (a leaked cache would leave fresh slots instead). */
static void check_exit_returns_cache(void)
{
    pthread_t t;
    pthread_create(&t, NULL, alloc_free_exit, NULL);
    pthread_join(t, NULL);
    void *mine[4 * EXIT_BLOCKS];
    int found = 0;
    for (int i = 0; i < 4 * EXIT_BLOCKS; i++) {
        mine[i] = refalloc_malloc(EXIT_SIZE);
        for (int j = 0; j < EXIT_BLOCKS; j++)
            found += mine[i] == exited_blocks[j];
    }
    for (int i = 0; i < 4 * EXIT_BLOCKS; i++)
        refalloc_free(mine[i]);
    CHECK(found == EXIT_BLOCKS, "an exited thread's cached blocks are reused (%d of %d)", found,
          EXIT_BLOCKS);
}

int main(void)
{
    check_exit_returns_cache();
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    int total = 0;
    for (int i = 0; i < THREADS; i++)
        total += errors[i];
    CHECK(total == 0, "8 threads, %d ops each, cross-thread frees: %d bad blocks", OPS, total);
    int left = 0;
    for (int i = 0; i < SLOTS; i++)
        if (slots[i]) {
            left += !intact(slots[i]);
            refalloc_free(slots[i]);
        }
    CHECK(left == 0, "blocks left over by exited threads are intact and freeable");
    return tap_done();
}
