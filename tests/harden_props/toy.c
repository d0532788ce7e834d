/* Toy allocators whose hardening properties are known by construction, one per -DTOY_X=1
 * switch, so that each measured property (src/harden/props.c) can be checked against the
 * answer: TOY_LIFO (free list linked through the freed block), TOY_FIFO (an out-of-band
 * queue), TOY_QUARANTINE (a freed block waits for 8 more frees, then a LIFO stack),
 * TOY_GUARD (an inaccessible page after every large block), TOY_ZERO (clears on free, a
 * 16-byte inline header, an executable heap at a fixed address: no entropy).
 * Terms: "slot" is one 64-byte small block (80 with TOY_ZERO's header); requests above 64
 * bytes get their own mapping. Single-threaded: the property driver calls it from one thread.
 * Leaves out: realloc, aligned allocation, threads, giving memory back. */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifndef TOY_GUARD
#define TOY_GUARD 0
#endif
#ifndef TOY_ZERO
#define TOY_ZERO 0
#endif

#define SLOT 64u
#define ARENA ((size_t)64 << 20)
#define QUAR 8u
#define PAGE 4096u

#if TOY_ZERO
#define HDR 16u
#define PROT (PROT_READ | PROT_WRITE | PROT_EXEC)
#define FIXED_AT ((void *)0x300000000000ull)
#else
#define HDR 0u
#define PROT (PROT_READ | PROT_WRITE)
#define FIXED_AT NULL
#endif
#define STRIDE (SLOT + HDR)
#define NSLOTS (ARENA / STRIDE)

#define EXPORT __attribute__((visibility("default")))

static char *arena;
static size_t bump;
#define UNUSED __attribute__((unused))
static char *stack[NSLOTS] UNUSED;   /* out-of-band free slots: a stack, or a queue (TOY_FIFO) */
static size_t top UNUSED, head UNUSED;
static char *quar[QUAR + 1] UNUSED;
static size_t nquar UNUSED;
static void *lifo_head UNUSED;      /* TOY_LIFO: linked through the blocks' first word */

static int arena_init(void)
{
    if (arena)
        return 0;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | (FIXED_AT ? MAP_FIXED_NOREPLACE : 0);
    void *m = mmap(FIXED_AT, ARENA, PROT, flags, -1, 0);
    if (m == MAP_FAILED)
        return -1;
    arena = m;
    return 0;
}

static char *slot_new(void)
{
    if (bump == NSLOTS)
        return NULL;
    char *s = arena + bump++ * STRIDE;
    if (HDR)
        memcpy(s, "toy-hdr:64bytes", HDR);
    return s + HDR;
}

static char *slot_reused(void)
{
#if TOY_LIFO
    char *p = lifo_head;
    if (p)
        lifo_head = *(void **)p;
    return p;
#elif TOY_FIFO
    return head < top ? stack[head++] : NULL;
#else
    return top ? stack[--top] : NULL;
#endif
}

static void slot_release(char *p)
{
#if TOY_LIFO
    *(void **)p = lifo_head;
    lifo_head = p;
#elif TOY_QUARANTINE
    quar[nquar++] = p;
    if (nquar <= QUAR)
        return;
    stack[top++] = quar[0];
    memmove(quar, quar + 1, QUAR * sizeof *quar);
    nquar--;
#else
    stack[top++] = p;
#endif
}

/* A large block: its own mapping, a header page first, with TOY_GUARD a no-access page last. */
static void *large_new(size_t n)
{
    size_t len = (PAGE + n + PAGE - 1) / PAGE * PAGE, guard = TOY_GUARD ? PAGE : 0;
    char *m = mmap(NULL, len + guard, PROT, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    if (guard)
        mprotect(m + len, guard, PROT_NONE);
    memcpy(m, &len, sizeof len);
    return m + PAGE;
}

static int is_small(const char *p)
{
    return p >= arena && p < arena + ARENA;
}

EXPORT void *malloc(size_t n)
{
    if (n > SLOT)
        return large_new(n);
    if (arena_init())
        return NULL;
    char *p = slot_reused();
    return p ? p : slot_new();
}

EXPORT void free(void *v)
{
    char *p = v;
    if (!p)
        return;
    if (!is_small(p)) {
        size_t len;
        memcpy(&len, p - PAGE, sizeof len);
        munmap(p - PAGE, len + (TOY_GUARD ? PAGE : 0));
        return;
    }
    if (TOY_ZERO)
        memset(p, 0, SLOT);
    slot_release(p);
}

EXPORT void *calloc(size_t m, size_t n)
{
    size_t t;
    if (__builtin_mul_overflow(m, n, &t))
        return NULL;
    char *p = malloc(t);
    if (p && is_small(p))
        memset(p, 0, t);
    return p;
}

EXPORT size_t malloc_usable_size(void *v)
{
    char *p = v;
    if (!p)
        return 0;
    if (is_small(p))
        return SLOT;
    size_t len;
    memcpy(&len, p - PAGE, sizeof len);
    return len - PAGE;
}
