/* The runtime of `allocheck harden --repro` reproducers: everything a misuse case (misuse/)
 * needs to run outside allocheck, and the same decision the harness makes. The tool embeds this
 * file and writes, where it includes repro_case.h, the allocator, the case id, the outcome the
 * harness saw, and the case's family source. The reproducer loads the allocator (dlopen and
 * dlsym of the standard names, or the C library's), runs the case in a child with the probe
 * every case shares (the blocks the misused call returned, then 8 allocations of the probe
 * size, malloc and calloc alternately, each checked against the live blocks, each other and
 * foreign memory, then every block and watched byte verified), decides the outcome from the
 * child's death or the probe, prints it and exits 0 when it is the expected one, else 1.
 * Build: cc -o repro repro.c -ldl -lpthread. Leaves out: the shadow model's index (a linear
 * scan serves a probe's few blocks) and descriptor plugins. */
#include <alloca.h>
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* The allocator, as the cases call it: the same fields as allocheck's alloc_t. */
enum { AF_MALLOC, AF_CALLOC, AF_REALLOC, AF_REALLOCARRAY, AF_FREE, AF_ALIGNED_ALLOC,
       AF_POSIX_MEMALIGN, AF_MEMALIGN, AF_VALLOC, AF_PVALLOC, AF_MALLOC_USABLE_SIZE,
       AF_FREE_SIZED, AF_FREE_ALIGNED_SIZED, AF_COUNT };
#define AF_BIT(f) (1u << (f))
typedef struct alloc {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nmemb, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t size);
    void *(*reallocarray)(void *ctx, void *ptr, size_t nmemb, size_t size);
    void (*free)(void *ctx, void *ptr);
    void *(*aligned_alloc)(void *ctx, size_t alignment, size_t size);
    void *(*memalign)(void *ctx, size_t alignment, size_t size);
    size_t (*malloc_usable_size)(void *ctx, void *ptr);
    void (*free_sized)(void *ctx, void *ptr, size_t size);
    void (*free_aligned_sized)(void *ctx, void *ptr, size_t alignment, size_t size);
    void *raw[AF_COUNT];
} alloc_t;

typedef struct mz mz_t;
/* A family uses only some of the API. */
#define RT_API static __attribute__((unused))
enum { MISUSE_THREADS = 1 };
typedef struct misuse {
    const char *id, *property, *cite;
    uint32_t needs, flags;
    void (*run)(mz_t *h);
} misuse_t;

RT_API const alloc_t *mz_alloc(mz_t *h);
RT_API void mz_na(mz_t *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
RT_API void mz_live(mz_t *h, void *p, size_t size);
RT_API void mz_foreign(mz_t *h, void *p, size_t len);
RT_API void mz_secret(mz_t *h, void *p, size_t len);
RT_API void mz_got(mz_t *h, void *p, size_t size);
RT_API void mz_read_freed(mz_t *h, const void *p, size_t len);
RT_API void mz_begin(mz_t *h, size_t probe_size);
RT_API void mz_end(mz_t *h);
RT_API void *mz_must(mz_t *h, size_t n);
RT_API inline void *mz_malloc(mz_t *h, size_t n) { return mz_alloc(h)->malloc(mz_alloc(h)->ctx, n); }
RT_API inline void mz_free(mz_t *h, void *p) { mz_alloc(h)->free(mz_alloc(h)->ctx, p); }

static const misuse_t *rt_case;
#define MISUSE(n, id_, property, cite, needs, flags) \
    static const misuse_t misuse_##n = { id_, property, cite, needs, flags, run_##n }; \
    __attribute__((constructor)) static void rt_register_##n(void) \
    { \
        if (strcmp(misuse_##n.id, REPRO_CASE) == 0) \
            rt_case = &misuse_##n; \
    }

#include "src/harden/repro_case.h"

/* ---- the probe, as src/harden/probe.c does it ---- */
enum { PH_SETUP, PH_MISUSE, PH_PROBE, PH_CLEANUP, PH_DONE, PH_NA };
typedef struct rt_slot {
    volatile int phase;
    char found[40];      /* "" or the outcome the probe saw */
    char msg[400];
} rt_slot_t;

#define RT_BLOCKS 256
#define RT_FILL_CAP ((size_t)1 << 20)
#define RT_SECRET 0x21544552434553ull

struct mz {
    const alloc_t *a;
    rt_slot_t *slot;
    size_t probe_size;
    struct { uintptr_t p; size_t size; uint64_t key; } b[RT_BLOCKS];
    unsigned nb, probe_from;
    struct { void *p; size_t size; } got[32];
    unsigned ngot;
    struct { unsigned char *p; size_t len; unsigned char was[1024]; } foreign[4];
    unsigned nforeign;
    unsigned leaked, words;
};

RT_API const alloc_t *mz_alloc(mz_t *h) { return h->a; }

static void rt_found(mz_t *h, const char *what, const char *fmt, ...)
{
    rt_slot_t *s = h->slot;
    if (s->found[0] && !(strcmp(s->found, "leaked") == 0 && strcmp(what, "leaked") != 0))
        return;
    snprintf(s->found, sizeof s->found, "%s", what);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    va_end(ap);
}

RT_API void mz_na(mz_t *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->slot->msg, sizeof h->slot->msg, fmt, ap);
    va_end(ap);
    h->slot->phase = PH_NA;
}

RT_API void *mz_must(mz_t *h, size_t n)
{
    void *p = mz_malloc(h, n);
    if (!p)
        mz_na(h, "setup: malloc(%zu) failed", n);
    return p;
}

static size_t rt_cap(size_t n) { return n < RT_FILL_CAP ? n : RT_FILL_CAP; }

static uint8_t rt_byte(uint64_t key, size_t off)
{
    uint64_t x = (key + off / 8) * 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return (uint8_t)(x >> (8 * (off % 8)));
}

static void rt_track(mz_t *h, void *p, size_t size)
{
    if (h->nb == RT_BLOCKS)
        return;
    unsigned i = h->nb++;
    h->b[i].p = (uintptr_t)p;
    h->b[i].size = size ? size : 1;
    h->b[i].key = 0x6861726465ull + i * 7919;
    for (size_t off = 0; off < rt_cap(size); off++)
        ((unsigned char *)p)[off] = rt_byte(h->b[i].key, off);
}

RT_API void mz_live(mz_t *h, void *p, size_t size)
{
    if (p && h->slot->phase != PH_NA)
        rt_track(h, p, size);
}

RT_API void mz_foreign(mz_t *h, void *p, size_t len)
{
    if (h->nforeign == 4)
        return;
    unsigned i = h->nforeign++;
    h->foreign[i].p = p;
    h->foreign[i].len = len < 1024 ? len : 1024;
    memcpy(h->foreign[i].was, p, h->foreign[i].len);
}

RT_API void mz_secret(mz_t *h, void *p, size_t len)
{
    uint64_t w = RT_SECRET;
    (void)h;
    for (size_t off = 0; off + 8 <= len; off += 8)
        memcpy((char *)p + off, &w, 8);
}

RT_API void mz_got(mz_t *h, void *p, size_t size)
{
    if (p && h->ngot < 32) {
        h->got[h->ngot].p = p;
        h->got[h->ngot++].size = size;
    }
}

RT_API void mz_read_freed(mz_t *h, const void *p, size_t len)
{
    const volatile unsigned char *v = p;
    for (size_t off = 0; off + 8 <= len; off += 8) {
        uint64_t w = 0;
        for (int i = 0; i < 8; i++)
            w |= (uint64_t)v[off + (size_t)i] << (8 * i);
        h->words++;
        h->leaked += w == RT_SECRET;
    }
}

RT_API void mz_begin(mz_t *h, size_t probe_size)
{
    h->probe_size = probe_size ? probe_size : 32;
    h->slot->phase = PH_MISUSE;
}

RT_API void mz_end(mz_t *h)
{
    if (h->slot->phase == PH_MISUSE)
        h->slot->phase = PH_PROBE;
}

static bool rt_mapped(const void *p)
{
    long page = sysconf(_SC_PAGESIZE);
    unsigned char v;
    void *base = (void *)((uintptr_t)p & ~(uintptr_t)(page - 1));
    return mincore(base, (size_t)page, &v) == 0 || errno != ENOMEM;
}

static bool rt_hits(uintptr_t p, size_t n, uintptr_t lo, size_t len)
{
    uintptr_t e = p + n < p ? UINTPTR_MAX : p + n;
    return p < lo + len && lo < e;
}

static bool rt_check_new(mz_t *h, void *p, size_t size, const char *how)
{
    uintptr_t u = (uintptr_t)p;
    if (!rt_mapped(p)) {
        rt_found(h, "corrupted: arbitrary", "%s returned %p, where nothing is mapped", how, p);
        return false;
    }
    for (unsigned i = 0; i < h->nforeign; i++)
        if (rt_hits(u, size ? size : 1, (uintptr_t)h->foreign[i].p, h->foreign[i].len) ||
            rt_hits(u, size ? size : 1, (uintptr_t)h, sizeof *h) ||
            rt_hits(u, size ? size : 1, (uintptr_t)h->slot, sizeof *h->slot)) {
            rt_found(h, "corrupted: arbitrary", "%s returned %p, inside memory the allocator "
                     "does not own", how, p);
            return false;
        }
    for (unsigned i = 0; i < h->nb; i++)
        if (rt_hits(u, size ? size : 1, h->b[i].p, h->b[i].size)) {
            bool same = h->b[i].p == u;
            rt_found(h, same ? "corrupted: duplicate" : "corrupted: overlapping",
                     "%s returned %p, %s the live %zu-byte block at %p", how, p,
                     same ? "again: it is" : "overlapping", h->b[i].size, (void *)h->b[i].p);
            return false;
        }
    return true;
}

static void rt_take(mz_t *h, void *p, size_t size, bool zero, const char *how)
{
    if (!p || !rt_check_new(h, p, size, how))
        return;
    const unsigned char *c = p;
    for (size_t off = 0; off + 8 <= rt_cap(size); off += 8) {
        uint64_t w;
        memcpy(&w, c + off, 8);
        if (w == RT_SECRET) {
            rt_found(h, "leaked", "%s returned %p holding data written before a free", how, p);
            break;
        }
    }
    for (size_t off = 0; zero && off < rt_cap(size); off++)
        if (c[off]) {
            rt_found(h, "leaked", "%s returned %p with non-zero bytes", how, p);
            break;
        }
    rt_track(h, p, size);
}

static void rt_probe(mz_t *h)
{
    const alloc_t *a = h->a;
    char how[64];
    for (unsigned i = 0; i < h->ngot; i++)
        rt_take(h, h->got[i].p, h->got[i].size, false, "the misused call");
    h->probe_from = h->nb;
    for (int i = 0; i < 8; i++) {
        bool c = (i & 1) && a->calloc;
        snprintf(how, sizeof how, "%s %d of the probe (%zu bytes)", c ? "calloc" : "malloc",
                 i + 1, h->probe_size);
        rt_take(h, c ? a->calloc(a->ctx, 1, h->probe_size) : a->malloc(a->ctx, h->probe_size),
                h->probe_size, c, how);
    }
}

static void rt_verify(mz_t *h)
{
    for (unsigned i = 0; i < h->nb; i++)
        for (size_t off = 0; off < rt_cap(h->b[i].size); off++)
            if (((unsigned char *)h->b[i].p)[off] != rt_byte(h->b[i].key, off)) {
                rt_found(h, "corrupted: restricted write", "byte %zu of the %s block at %p was "
                         "overwritten", off, i >= h->probe_from ? "probe's" : "live",
                         (void *)h->b[i].p);
                break;
            }
    for (unsigned i = 0; i < h->nforeign; i++)
        if (memcmp(h->foreign[i].p, h->foreign[i].was, h->foreign[i].len) != 0)
            rt_found(h, "corrupted: restricted write", "the allocator wrote into foreign "
                     "memory at %p", (void *)h->foreign[i].p);
}

static void rt_child(const alloc_t *a, rt_slot_t *slot)
{
    mz_t *h = mmap(NULL, sizeof *h, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (h == MAP_FAILED)
        _exit(3);
    h->a = a;
    h->slot = slot;
    rt_case->run(h);
    if (slot->phase == PH_NA || slot->phase == PH_SETUP)
        return;
    slot->phase = PH_PROBE;
    if (h->leaked)
        rt_found(h, "leaked", "%u of %u words written before the free were still readable "
                 "through the dangling pointer", h->leaked, h->words);
    rt_probe(h);
    rt_verify(h);
    slot->phase = PH_CLEANUP;
    for (unsigned i = h->probe_from; i < h->nb; i++)
        a->free(a->ctx, (void *)h->b[i].p);
    slot->phase = PH_DONE;
}

/* ---- loading the allocator ---- */
static void *rt_sym(void *lib, const char *name)
{
    char full[128];
    snprintf(full, sizeof full, "%s%s", REPRO_PREFIX, name);
    return lib ? dlsym(lib, full) : NULL;
}

static alloc_t rt_a;
static void *rt_malloc(void *c, size_t n) { (void)c; return ((void *(*)(size_t))rt_a.raw[AF_MALLOC])(n); }
static void *rt_calloc(void *c, size_t n, size_t m) { (void)c; return ((void *(*)(size_t, size_t))rt_a.raw[AF_CALLOC])(n, m); }
static void *rt_realloc(void *c, void *p, size_t n) { (void)c; return ((void *(*)(void *, size_t))rt_a.raw[AF_REALLOC])(p, n); }
static void *rt_reallocarray(void *c, void *p, size_t n, size_t m) { (void)c; return ((void *(*)(void *, size_t, size_t))rt_a.raw[AF_REALLOCARRAY])(p, n, m); }
static void rt_free(void *c, void *p) { (void)c; ((void (*)(void *))rt_a.raw[AF_FREE])(p); }
static void *rt_aligned_alloc(void *c, size_t al, size_t n) { (void)c; return ((void *(*)(size_t, size_t))rt_a.raw[AF_ALIGNED_ALLOC])(al, n); }
static void *rt_memalign(void *c, size_t al, size_t n) { (void)c; return ((void *(*)(size_t, size_t))rt_a.raw[AF_MEMALIGN])(al, n); }
static size_t rt_usable(void *c, void *p) { (void)c; return ((size_t (*)(void *))rt_a.raw[AF_MALLOC_USABLE_SIZE])(p); }
static void rt_free_sized(void *c, void *p, size_t n) { (void)c; ((void (*)(void *, size_t))rt_a.raw[AF_FREE_SIZED])(p, n); }
static void rt_free_aligned_sized(void *c, void *p, size_t al, size_t n) { (void)c; ((void (*)(void *, size_t, size_t))rt_a.raw[AF_FREE_ALIGNED_SIZED])(p, al, n); }

static const char *const rt_names[AF_COUNT] = {
    "malloc", "calloc", "realloc", "reallocarray", "free", "aligned_alloc", "posix_memalign",
    "memalign", "valloc", "pvalloc", "malloc_usable_size", "free_sized", "free_aligned_sized",
};

static int rt_load(void)
{
    void *lib = REPRO_LIB[0] ? dlopen(REPRO_LIB, RTLD_NOW | RTLD_LOCAL) : NULL;
    if (REPRO_LIB[0] && !lib) {
        fprintf(stderr, "repro: cannot load %s: %s\n", REPRO_LIB, dlerror());
        return -1;
    }
    for (int f = 0; f < AF_COUNT; f++)
        rt_a.raw[f] = REPRO_LIB[0] ? rt_sym(lib, rt_names[f]) : dlsym(RTLD_DEFAULT, rt_names[f]);
    void *(*const fns[AF_COUNT]) = {
        [AF_MALLOC] = (void *)rt_malloc, [AF_CALLOC] = (void *)rt_calloc,
        [AF_REALLOC] = (void *)rt_realloc, [AF_REALLOCARRAY] = (void *)rt_reallocarray,
        [AF_FREE] = (void *)rt_free, [AF_ALIGNED_ALLOC] = (void *)rt_aligned_alloc,
        [AF_MEMALIGN] = (void *)rt_memalign, [AF_MALLOC_USABLE_SIZE] = (void *)rt_usable,
        [AF_FREE_SIZED] = (void *)rt_free_sized,
        [AF_FREE_ALIGNED_SIZED] = (void *)rt_free_aligned_sized,
    };
    void **slots[AF_COUNT] = {
        [AF_MALLOC] = (void **)&rt_a.malloc, [AF_CALLOC] = (void **)&rt_a.calloc,
        [AF_REALLOC] = (void **)&rt_a.realloc, [AF_REALLOCARRAY] = (void **)&rt_a.reallocarray,
        [AF_FREE] = (void **)&rt_a.free, [AF_ALIGNED_ALLOC] = (void **)&rt_a.aligned_alloc,
        [AF_MEMALIGN] = (void **)&rt_a.memalign,
        [AF_MALLOC_USABLE_SIZE] = (void **)&rt_a.malloc_usable_size,
        [AF_FREE_SIZED] = (void **)&rt_a.free_sized,
        [AF_FREE_ALIGNED_SIZED] = (void **)&rt_a.free_aligned_sized,
    };
    for (int f = 0; f < AF_COUNT; f++)
        if (slots[f] && rt_a.raw[f])
            *slots[f] = fns[f];
    return rt_a.malloc && rt_a.free ? 0 : -1;
}

/* ---- deciding, as src/harden/harden.c does ---- */
static const char *rt_judge(const rt_slot_t *s, int status, bool hung, bool said)
{
    bool clean = !hung && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (s->phase == PH_NA)
        return "n/a";
    if (s->phase == PH_SETUP)
        return "error";
    if (s->found[0] && s->phase >= PH_CLEANUP)
        return s->found;
    if (clean && s->phase == PH_DONE)
        return said ? "detected" : "ignored";
    if (hung)
        return "corrupted: hang";
    if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS))
        return s->phase == PH_MISUSE ? "trapped" : "corrupted: late fault";
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        return "error";
    return "detected";
}

/* jemalloc and scudo need surplus static TLS to be dlopen'ed: run again with it once. */
static void rt_tls(char **argv)
{
    const char *t = getenv("GLIBC_TUNABLES");
    if (!REPRO_LIB[0] || (t && strstr(t, "optional_static_tls")))
        return;
    char v[1024];
    snprintf(v, sizeof v, "%s%sglibc.rtld.optional_static_tls=65536", t ? t : "", t ? ":" : "");
    setenv("GLIBC_TUNABLES", v, 1);
    execv("/proc/self/exe", argv);
}

int main(int argc, char **argv)
{
    (void)argc;
    rt_tls(argv);
    if (!rt_case || rt_load() < 0) {
        fprintf(stderr, "repro: %s\n", rt_case ? "the allocator lacks malloc or free"
                                               : "no case " REPRO_CASE);
        return 2;
    }
    rt_slot_t *slot = mmap(NULL, sizeof *slot, PROT_READ | PROT_WRITE,
                           MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int fds[2];
    if (slot == MAP_FAILED || pipe(fds) < 0)
        return 2;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        dup2(fds[1], 1);
        close(fds[0]);
        alarm(3);
        signal(SIGALRM, SIG_DFL);
        rt_child(&rt_a, slot);
        _exit(0);
    }
    close(fds[1]);
    char said[4096];
    size_t n = 0;
    ssize_t k;
    while ((k = read(fds[0], said + n, sizeof said - 1 - n)) > 0)
        n += (size_t)k;
    said[n] = 0;
    int status = 0;
    waitpid(pid, &status, 0);
    bool hung = WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM;
    const char *got = rt_judge(slot, status, hung, n > 0);
    printf("case: %s\nallocator: %s\noutcome: %s\nexpected: %s\n", REPRO_CASE,
           REPRO_LIB[0] ? REPRO_LIB : "the C library's", got, REPRO_EXPECT);
    if (slot->msg[0])
        printf("probe: %s\n", slot->msg);
    if (n)
        printf("the allocator said: %s", said);
    return strcmp(got, REPRO_EXPECT) == 0 ? 0 : 1;
}
