/* The hardening properties (props.h): one short function per property, each driving the
 * allocator through its alloc_t and reading what it did.
 * Terms: "foreign" bytes are bytes near a block that no block of ours owns (so only the
 * allocator can have written them); a "safe read" copies memory with process_vm_readv, which
 * fails with EFAULT instead of faulting, so a guard page or an unmapped block never kills the
 * caller.
 * Leaves out: randomised allocators' spread within one process (each property is one run; the
 * runner repeats runs), and sizes other than one small class and one large block. */
#include "src/harden/props.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "src/load/alloc.h"

#define SMALL 48u                 /* a small class every allocator has */
#define LARGE ((size_t)1 << 20)   /* above every mmap threshold here */
#define PAGE ((uintptr_t)4096)
#define FILL 0xa5u

static void *a_malloc(const alloc_t *a, size_t n) { return a->malloc(a->ctx, n); }
static void a_free(const alloc_t *a, void *p) { a->free(a->ctx, p); }

static size_t a_usable(const alloc_t *a, void *p, size_t asked)
{
    return a->usable_size ? a->usable_size(a->ctx, p) : asked;
}

static int safe_read(void *dst, uintptr_t src, size_t n)
{
    struct iovec l = { dst, n }, r = { (void *)src, n };
    return process_vm_readv(getpid(), &l, 1, &r, 1, 0) == (ssize_t)n ? 0 : -1;
}

static int fail(char *buf, size_t n, const char *why)
{
    snprintf(buf, n, "%s", why);
    return -1;
}

/* ---- /proc/self/maps, read without malloc (the allocator under test may be the process's) */

static char maps_buf[1 << 20];

/* The permissions ("rw-p") of the mapping holding addr into perm[5]; 0, or -1 if unmapped. */
static int map_perm(uintptr_t addr, char perm[5])
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    ssize_t r;
    while (got + 1 < sizeof maps_buf &&
           (r = read(fd, maps_buf + got, sizeof maps_buf - 1 - got)) > 0)
        got += (size_t)r;
    close(fd);
    maps_buf[got] = 0;
    for (char *line = maps_buf; *line; ) {
        unsigned long lo, hi;
        char p[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && addr >= lo && addr < hi) {
            memcpy(perm, p, 5);
            return 0;
        }
        char *nl = strchr(line, '\n');
        if (!nl)
            break;
        line = nl + 1;
    }
    return -1;
}

/* ---- reuse distance */

enum { ORDER_N = 4, REUSE_MAX = 4096 };
static void *reuse_pool[REUSE_MAX], *reuse_kept[REUSE_MAX];

/* Frees ORDER_N blocks in turn and mallocs once: 'L' when the last one freed comes back
 * first, 'F' the first one freed, '?' another. Only the first comes back for sure: a thread
 * cache may pass the others on to a shared list (tcmalloc's starts one block long). */
static int reuse_order(const alloc_t *a)
{
    void *b[ORDER_N];
    for (int i = 0; i < ORDER_N; i++)
        if (!(b[i] = a_malloc(a, SMALL)))
            return 0;
    for (int i = 0; i < ORDER_N; i++)
        a_free(a, b[i]);
    void *q = a_malloc(a, SMALL);
    return q == b[ORDER_N - 1] ? 'L' : q == b[0] ? 'F' : '?';
}

/* How many further frees before a freed block is handed out again; -1 if not within
 * REUSE_MAX (-2 when malloc failed). Each round mallocs once, then frees one more block. */
static long reuse_frees(const alloc_t *a)
{
    for (int i = 0; i < REUSE_MAX; i++)
        if (!(reuse_pool[i] = a_malloc(a, SMALL)))
            return -2;
    void *t = reuse_pool[0];
    a_free(a, t);
    for (long j = 1; j < REUSE_MAX; j++) {
        void *q = a_malloc(a, SMALL);
        if (q == t)
            return j - 1;
        reuse_kept[j] = q;
        a_free(a, reuse_pool[j]);
    }
    return -1;
}

static int prop_reuse(const alloc_t *a, char *buf, size_t n)
{
    int order = reuse_order(a);
    long d = reuse_frees(a);
    if (!order || d == -2)
        return fail(buf, n, "malloc failed");
    if (d < 0)
        snprintf(buf, n, "not reused within %d frees", REUSE_MAX);
    else if (d > 0)
        snprintf(buf, n, "quarantine %ld", d);
    else
        snprintf(buf, n, "%s", order == 'L' ? "LIFO" : order == 'F' ? "FIFO" : "immediate, unordered");
    return 0;
}

/* ---- adjacency */

enum { ADJ_N = 16 };

static int prop_adjacency(const alloc_t *a, char *buf, size_t n)
{
    char *b[ADJ_N];
    for (int i = 0; i < ADJ_N; i++)
        if (!(b[i] = a_malloc(a, SMALL)))
            return fail(buf, n, "malloc failed");
    long best = 0;
    int best_count = 0;
    for (int i = 1; i < ADJ_N; i++) {
        long d = b[i] - b[i - 1];
        int count = 0;
        for (int j = 1; j < ADJ_N; j++)
            count += b[j] - b[j - 1] == d;
        if (count > best_count)
            best = d, best_count = count;
    }
    if (best_count < (ADJ_N - 1) / 2)
        snprintf(buf, n, "scattered");
    else if (best_count == ADJ_N - 1)
        snprintf(buf, n, "%+ld B", best);
    else
        snprintf(buf, n, "%+ld B in %d of %d", best, best_count, ADJ_N - 1);
    return 0;
}

/* ---- guard pages */

/* 'g' no-access page, 'r' accessible, 'u' unmapped. */
static int page_state(uintptr_t addr)
{
    char perm[5];
    if (map_perm(addr, perm))
        return 'u';
    return perm[0] == '-' && perm[1] == '-' && perm[2] == '-' ? 'g' : 'r';
}

static int prop_guard(const alloc_t *a, char *buf, size_t n)
{
    char *p = a_malloc(a, LARGE);
    if (!p)
        return fail(buf, n, "malloc of 1 MiB failed");
    uintptr_t end = ((uintptr_t)p + a_usable(a, p, LARGE) + PAGE - 1) & ~(PAGE - 1);
    uintptr_t below = ((uintptr_t)p & ~(PAGE - 1)) - PAGE;
    bool after = page_state(end) == 'g', before = page_state(below) == 'g';
    snprintf(buf, n, "%s", after && before ? "yes, both sides" : after ? "yes, after"
                           : before ? "yes, before" : "no");
    return 0;
}

/* ---- zeroing */

/* What bytes [16, len) of a block hold, the first 16 left to the allocator's free list:
 * 'z' zero, 'f' still FILL, 'o' one other byte value (into *other), 'm' mixed, 'u' unreadable. */
static int block_bytes(uintptr_t p, size_t len, unsigned *other)
{
    unsigned char b[SMALL];
    if (safe_read(b, p, len))
        return 'u';
    bool same = true;
    for (size_t i = 17; i < len; i++)
        same &= b[i] == b[16];
    if (!same)
        return 'm';
    *other = b[16];
    return b[16] == 0 ? 'z' : b[16] == FILL ? 'f' : 'o';
}

static int prop_zero_free(const alloc_t *a, char *buf, size_t n)
{
    char *p = a_malloc(a, SMALL);
    if (!p)
        return fail(buf, n, "malloc failed");
    memset(p, FILL, SMALL);
    a_free(a, p);
    unsigned v = 0;
    switch (block_bytes((uintptr_t)p, SMALL, &v)) {
    case 'z': snprintf(buf, n, "yes"); break;
    case 'f': snprintf(buf, n, "no"); break;
    case 'o': snprintf(buf, n, "filled 0x%02x", v); break;
    case 'm': snprintf(buf, n, "partly"); break;
    default: snprintf(buf, n, "unmapped"); break;
    }
    return 0;
}

enum { ZM_N = 32, ZM_REUSED = 8 };

static bool in_set(void *const *set, int count, const void *p)
{
    for (int i = 0; i < count; i++)
        if (set[i] == p)
            return true;
    return false;
}

/* Dirties ZM_N blocks, frees them, then mallocs until ZM_REUSED of them came back (or
 * REUSE_MAX mallocs): stale bytes in any returned one mean malloc does not clear. */
static int prop_zero_malloc(const alloc_t *a, char *buf, size_t n)
{
    void *freed[ZM_N];
    for (int i = 0; i < ZM_N; i++) {
        if (!(freed[i] = a_malloc(a, SMALL)))
            return fail(buf, n, "malloc failed");
        memset(freed[i], FILL, SMALL);
    }
    for (int i = 0; i < ZM_N; i++)
        a_free(a, freed[i]);
    int reused = 0, stale = 0;
    for (int i = 0; i < REUSE_MAX && reused < ZM_REUSED; i++) {
        void *q = reuse_kept[i] = a_malloc(a, SMALL);
        if (!q || !in_set(freed, ZM_N, q))
            continue;
        unsigned v;
        int k = block_bytes((uintptr_t)q, SMALL, &v);
        reused++;
        stale += k == 'f' || k == 'm';
    }
    if (!reused)
        snprintf(buf, n, "no reuse within %d", REUSE_MAX);
    else
        snprintf(buf, n, "%s", stale ? "no" : "yes");
    return 0;
}

/* ---- metadata */

enum { MD_N = 32, MD_LOOK = 16 };

static bool owned(char *const *b, const size_t *u, uintptr_t x)
{
    for (int i = 0; i < MD_N; i++)
        if (x >= (uintptr_t)b[i] && x < (uintptr_t)b[i] + u[i])
            return true;
    return false;
}

/* How many bytes right before blk[i] no block of ours owns (up to MD_LOOK); they end at
 * out[MD_LOOK - 1]. Only the allocator writes there. */
static int foreign_before(char *const *blk, const size_t *u, int i, unsigned char *out)
{
    uintptr_t base = (uintptr_t)blk[i] - MD_LOOK;
    if (safe_read(out, base, MD_LOOK))
        return 0;
    int count = 0;
    while (count < MD_LOOK && !owned(blk, u, base + (uintptr_t)(MD_LOOK - 1 - count)))
        count++;
    return count;
}

static bool any_nonzero(const unsigned char *b, int count)
{
    for (int k = MD_LOOK - count; k < MD_LOOK; k++)
        if (b[k])
            return true;
    return false;
}

/* After a free: did the block's first 16 bytes change while the rest did not all change to
 * one value (a free-list link, not a clearing)? */
static bool link_written(uintptr_t p)
{
    unsigned char b[SMALL];
    if (safe_read(b, p, SMALL))
        return false;
    bool first = false, uniform = true;
    for (size_t i = 0; i < 16; i++)
        first |= b[i] != FILL;
    for (size_t i = 1; i < SMALL; i++)
        uniform &= b[i] == b[0];
    return first && !uniform;
}

static int prop_metadata(const alloc_t *a, char *buf, size_t n)
{
    char *b[MD_N];
    size_t u[MD_N];
    for (int i = 0; i < MD_N; i++) {
        if (!(b[i] = a_malloc(a, SMALL)))
            return fail(buf, n, "malloc failed");
        u[i] = a_usable(a, b[i], SMALL);
        memset(b[i], FILL, u[i]);
    }
    int hdr = 0, mid = MD_N / 2;
    bool nonzero = false;
    unsigned char before[MD_LOOK], after[MD_LOOK];
    for (int i = 1; i < MD_N - 1; i++) {
        int c = foreign_before(b, u, i, before);
        nonzero |= any_nonzero(before, c);
        hdr = c > hdr ? c : hdr;
    }
    int c = foreign_before(b, u, mid, before);
    a_free(a, b[mid]);
    bool changed = c && foreign_before(b, u, mid, after) == c &&
                   memcmp(before + MD_LOOK - c, after + MD_LOOK - c, (size_t)c);
    bool link = link_written((uintptr_t)b[mid]);
    if (hdr && (nonzero || changed))
        snprintf(buf, n, "inline header %d B%s", hdr, link ? ", free list in block" : "");
    else
        snprintf(buf, n, "%s", link ? "free list in block" : "out of band");
    return 0;
}

/* ---- executable heap */

static int exec_state(uintptr_t p)
{
    char perm[5];
    return map_perm(p, perm) ? -1 : perm[2] == 'x';
}

static int prop_exec(const alloc_t *a, char *buf, size_t n)
{
    char *s = a_malloc(a, SMALL), *l = a_malloc(a, LARGE);
    if (!s || !l)
        return fail(buf, n, "malloc failed");
    int xs = exec_state((uintptr_t)s), xl = exec_state((uintptr_t)l);
    if (xs < 0 || xl < 0)
        return fail(buf, n, "block in no mapping of /proc/self/maps");
    snprintf(buf, n, "%s", xs && xl ? "yes" : xs ? "small blocks" : xl ? "large blocks" : "no");
    return 0;
}

/* ---- entropy */

uintptr_t harden_prop_sample(const alloc_t *a)
{
    return (uintptr_t)a_malloc(a, SMALL);
}

int harden_prop_entropy(const uintptr_t *s, size_t n, char *buf, size_t len)
{
    if (n < 2)
        return fail(buf, len, "fewer than 2 samples");
    uintptr_t vary = 0;
    for (size_t i = 0; i < n; i++) {
        if (!s[i])
            return fail(buf, len, "malloc failed in a sample");
        vary |= s[i] ^ s[0];
    }
    snprintf(buf, len, "%d bits, %d below the page", __builtin_popcountl(vary),
             __builtin_popcountl(vary & (PAGE - 1)));
    return 0;
}

static int prop_entropy(const alloc_t *a, char *buf, size_t n)
{
    return fail(buf, n, "needs fresh processes: harden_prop_sample, then harden_prop_entropy");
}

/* ---- the table */

static const struct prop {
    const char *id, *what;
    int (*measure)(const alloc_t *a, char *buf, size_t n);
} props[] = {
    { "reuse-distance", "how many further frees before a freed 48-byte block comes back", prop_reuse },
    { "adjacency", "distance between consecutive 48-byte blocks", prop_adjacency },
    { "entropy-bits", "address bits of the first small block that vary across fresh processes", prop_entropy },
    { "guard-pages", "an inaccessible page right before or after a 1 MiB block", prop_guard },
    { "zero-on-free", "what a freed 48-byte block holds past its first 16 bytes", prop_zero_free },
    { "zero-on-malloc", "whether malloc returns a reused block cleared of old data", prop_zero_malloc },
    { "metadata", "allocator data right before a block, or in the freed block, or neither", prop_metadata },
    { "executable-heap", "PROT_EXEC on the mapping holding a small or a large block", prop_exec },
};

size_t harden_prop_count(void) { return sizeof props / sizeof *props; }
const char *harden_prop_id(size_t i) { return i < harden_prop_count() ? props[i].id : NULL; }
const char *harden_prop_what(size_t i) { return i < harden_prop_count() ? props[i].what : NULL; }
int harden_prop_needs_samples(size_t i) { return i < harden_prop_count() && props[i].measure == prop_entropy; }

int harden_prop_measure(size_t i, const alloc_t *a, char *buf, size_t n)
{
    if (i >= harden_prop_count())
        return fail(buf, n, "no such property");
    if (!a->malloc || !a->free)
        return fail(buf, n, "needs malloc and free");
    return props[i].measure(a, buf, n);
}
