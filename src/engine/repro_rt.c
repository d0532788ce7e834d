/* The runtime of an allocheck reproducer: it loads the allocator as allocheck did (a plugin's
 * calls to its own functions bound to them, a descriptor copied before init writes its
 * context), runs the ops, and judges every result by allocheck's own rules (src/exec/exec.c and
 * src/exec/shadow.c in allocheck's sources): the same requests must or may fail, errno is set to
 * a sentinel before each call and judged by what the call left in it, the same alignment
 * (C23's size-dependent rule included), budget, overlap, contents, calloc-zero, usable-size
 * and reuse checks, the same fill pattern, the same sampled set; with LEAK_CHECK (allocheck's
 * --resources) the ops run again and a footprint that keeps growing is a leak. A crash, an exit from inside
 * the allocator and a hang are reported as allocheck's crash and timeout findings.
 * Terms: "slot" and "extent" as in allocheck's traces and shadow model.
 * Exit status: 1 with "FAIL ORACLE at op N (OP): MESSAGE" while the bug is there, 0 once it
 * is fixed, 2 when the allocator cannot be loaded; a crash ends it by the signal.
 * Set ALLOCHECK_REPRO_LIB=PATH to load the allocator from another path.
 * Leaves out: the supervisor's hang detection by progress (an alarm per op stands in). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

enum { K_MALLOC, K_CALLOC, K_REALLOC, K_REALLOCARRAY, K_ALIGNED_ALLOC, K_POSIX_MEMALIGN,
       K_MEMALIGN, K_VALLOC, K_PVALLOC, K_FREE, K_FREE_SIZED, K_FREE_ALIGNED_SIZED, K_USABLE,
       K_CHECK, K_THREAD, K_COUNT };
enum { F_MALLOC, F_CALLOC, F_REALLOC, F_REALLOCARRAY, F_FREE, F_ALIGNED_ALLOC,
       F_POSIX_MEMALIGN, F_MEMALIGN, F_VALLOC, F_PVALLOC, F_MALLOC_USABLE_SIZE, F_FREE_SIZED,
       F_FREE_ALIGNED_SIZED, F_MALLOC_SIZE, F_COUNT };
/* MODE: how the allocator is reached. CHECK: allocheck's --check level. */
enum { MODE_LIBC, MODE_NAMES, MODE_DESCRIPTOR, MODE_PRELOAD };
enum { CHECK_FULL, CHECK_SAMPLED, CHECK_NONE };
struct op { int kind; unsigned slot; unsigned long long nmemb, size, align; const char *text; };

#include "repro_rt_stub.h"

#define SLOTS 1024
#define THREADS 8
#define ERRNO_SENTINEL 0x5eed5eed
#define MEMPTR_SENTINEL ((void *)(uintptr_t)0x5eed0001)
#define ALIGN_IMPOSSIBLE ((size_t)1 << 56)
/* Without a declared max-align, alignments above this may be refused (ALLOC_ALIGN_SERVED). */
#define ALIGN_SERVED ((size_t)64 << 10)
#define USABLE_SLACK ((size_t)64 << 20)
#define PATTERN_STEP 0x9e3779b97f4a7c15ull
#define SAMPLE_EDGE 64
#define NOT_FOUND SIZE_MAX

static const char *const kind_name[K_COUNT] = {
    "malloc", "calloc", "realloc", "reallocarray", "aligned_alloc", "posix_memalign",
    "memalign", "valloc", "pvalloc", "free", "free_sized", "free_aligned_sized", "usable",
    "check", "thread",
};

/* ---- the allocator: the layout of allocheck's plugin descriptor ---- */

struct plugin {
    uint32_t abi_version, struct_size;
    const char *name;
    void *ctx;
    int (*init)(void **ctx);
    void (*fini)(void *ctx);
    void *(*malloc)(void *, size_t);
    void *(*calloc)(void *, size_t, size_t);
    void *(*realloc)(void *, void *, size_t);
    void *(*reallocarray)(void *, void *, size_t, size_t);
    void (*free)(void *, void *);
    void *(*aligned_alloc)(void *, size_t, size_t);
    int (*posix_memalign)(void *, void **, size_t, size_t);
    void *(*memalign)(void *, size_t, size_t);
    void *(*valloc)(void *, size_t);
    void *(*pvalloc)(void *, size_t);
    size_t (*malloc_usable_size)(void *, void *);
    void (*free_sized)(void *, void *, size_t);
    void (*free_aligned_sized)(void *, void *, size_t, size_t);
    size_t min_alignment, heap_size;
    uint32_t flags, reserved0;
    uint64_t reserved[6];
};
/* A copy: the plugin's own descriptor may be const, and init writes the context. */
static struct plugin D;
static int use_descriptor;
static void *ctx;
static void *fn[F_COUNT];

#define RAW(f, type) ((type)fn[f])
static void *x_malloc(size_t n)
{
    return use_descriptor ? D.malloc(ctx, n) : RAW(F_MALLOC, void *(*)(size_t))(n);
}
static void *x_calloc(size_t m, size_t n)
{
    return use_descriptor ? D.calloc(ctx, m, n) : RAW(F_CALLOC, void *(*)(size_t, size_t))(m, n);
}
static void *x_realloc(void *p, size_t n)
{
    return use_descriptor ? D.realloc(ctx, p, n)
                          : RAW(F_REALLOC, void *(*)(void *, size_t))(p, n);
}
static void *x_reallocarray(void *p, size_t m, size_t n)
{
    return use_descriptor ? D.reallocarray(ctx, p, m, n)
                          : RAW(F_REALLOCARRAY, void *(*)(void *, size_t, size_t))(p, m, n);
}
static void x_free(void *p)
{
    if (use_descriptor)
        D.free(ctx, p);
    else
        RAW(F_FREE, void (*)(void *))(p);
}
static void *x_aligned_alloc(size_t a, size_t n)
{
    return use_descriptor ? D.aligned_alloc(ctx, a, n)
                          : RAW(F_ALIGNED_ALLOC, void *(*)(size_t, size_t))(a, n);
}
static int x_posix_memalign(void **m, size_t a, size_t n)
{
    return use_descriptor ? D.posix_memalign(ctx, m, a, n)
                          : RAW(F_POSIX_MEMALIGN, int (*)(void **, size_t, size_t))(m, a, n);
}
static void *x_memalign(size_t a, size_t n)
{
    return use_descriptor ? D.memalign(ctx, a, n)
                          : RAW(F_MEMALIGN, void *(*)(size_t, size_t))(a, n);
}
static void *x_valloc(size_t n)
{
    return use_descriptor ? D.valloc(ctx, n) : RAW(F_VALLOC, void *(*)(size_t))(n);
}
static void *x_pvalloc(size_t n)
{
    return use_descriptor ? D.pvalloc(ctx, n) : RAW(F_PVALLOC, void *(*)(size_t))(n);
}
static void x_free_sized(void *p, size_t n)
{
    if (use_descriptor)
        D.free_sized(ctx, p, n);
    else
        RAW(F_FREE_SIZED, void (*)(void *, size_t))(p, n);
}
static void x_free_aligned_sized(void *p, size_t a, size_t n)
{
    if (use_descriptor)
        D.free_aligned_sized(ctx, p, a, n);
    else
        RAW(F_FREE_ALIGNED_SIZED, void (*)(void *, size_t, size_t))(p, a, n);
}
/* malloc_usable_size, else a usable-size equivalent (allocheck's order). */
static size_t x_usable(void *p)
{
    if (use_descriptor)
        return D.malloc_usable_size(ctx, p);
    int f = fn[F_MALLOC_USABLE_SIZE] ? F_MALLOC_USABLE_SIZE : F_MALLOC_SIZE;
    return RAW(f, size_t (*)(void *))(p);
}

static const char *lib_path(void)
{
    const char *env = getenv("ALLOCHECK_REPRO_LIB");
    return env && env[0] ? env : LIB;
}

/* Re-executes once with glibc's static TLS reserve raised: jemalloc and scudo need it to be
 * dlopen'ed (allocheck does the same). */
static void reexec_for_tls(char **argv)
{
    const char *t = getenv("GLIBC_TUNABLES");
    if (t && strstr(t, "glibc.rtld.optional_static_tls"))
        return;
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s%sglibc.rtld.optional_static_tls=16384", t ? t : "",
             t ? ":" : "");
    setenv("GLIBC_TUNABLES", buf, 1);
    execv("/proc/self/exe", argv);
}

/* Set once the program ends on its own terms (on_exit_early tells the other exits). */
static volatile int finished;

/* One line on stderr, exit 2: the allocator (or the program) cannot be set up. */
static void load_failed(const char *what, const char *why)
{
    finished = 1;   /* no "exited inside the allocator" for this exit */
    fprintf(stderr, "%s: %s\n", what ? what : MODE == MODE_LIBC ? "the C library" : lib_path(),
            why);
    exit(2);
}

static void load_descriptor(void *h)
{
    const struct plugin *p = dlsym(h, "allocheck_plugin");
    if (!p || p->abi_version != 1 || p->struct_size < offsetof(struct plugin, min_alignment)
        || !p->malloc || !p->free)
        load_failed(NULL, "no usable allocheck_plugin descriptor");
    memcpy(&D, p, p->struct_size < sizeof D ? p->struct_size : sizeof D);
    ctx = D.ctx;
    if (D.init && D.init(&ctx) != 0)
        load_failed(NULL, "the plugin's init failed");
    void *const tab[F_COUNT] = {
        (void *)D.malloc, (void *)D.calloc, (void *)D.realloc, (void *)D.reallocarray,
        (void *)D.free, (void *)D.aligned_alloc, (void *)D.posix_memalign, (void *)D.memalign,
        (void *)D.valloc, (void *)D.pvalloc, (void *)D.malloc_usable_size,
        (void *)D.free_sized, (void *)D.free_aligned_sized, NULL,
    };
    memcpy(fn, tab, sizeof fn);
    use_descriptor = 1;
}

/* ---- self-binding, as allocheck does it: a plugin's calls to its own allocation functions
 * by name reach its own definitions. Loaded RTLD_LOCAL without -Bsymbolic, a plugin whose
 * realloc calls malloc would otherwise call the C library's (first in the global scope). The
 * GOT entries are rewritten (RELA platforms); RELRO is opened only for the write. ---- */

static const void *dyn_ptr(const struct link_map *lm, ElfW(Addr) v)
{
    return (const void *)(v < lm->l_addr ? v + lm->l_addr : v);
}

struct relro { const struct link_map *lm; uintptr_t start, end; };

static int find_relro(struct dl_phdr_info *info, size_t size, void *data)
{
    struct relro *r = data;
    (void)size;
    if (info->dlpi_addr != r->lm->l_addr || strcmp(info->dlpi_name, r->lm->l_name) != 0)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_GNU_RELRO) {
            r->start = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
            r->end = r->start + info->dlpi_phdr[i].p_memsz;
        }
    return 1;
}

static void write_slot(const struct relro *r, void **slot, void *value)
{
    uintptr_t a = (uintptr_t)slot, page = (uintptr_t)sysconf(_SC_PAGESIZE);
    if (*slot == value)
        return;
    if (a < r->start || a >= r->end) {
        *slot = value;
        return;
    }
    if (mprotect((void *)(a & ~(page - 1)), page, PROT_READ | PROT_WRITE) != 0)
        return;
    *slot = value;
    mprotect((void *)(a & ~(page - 1)), page, PROT_READ);
}

static int is_pointer_reloc(unsigned type)
{
#if defined(__x86_64__)
    return type == R_X86_64_GLOB_DAT || type == R_X86_64_JUMP_SLOT || type == R_X86_64_64;
#elif defined(__aarch64__)
    return type == R_AARCH64_GLOB_DAT || type == R_AARCH64_JUMP_SLOT || type == R_AARCH64_ABS64;
#else
    (void)type;
    return 0;
#endif
}

static void rebind_table(const struct link_map *lm, const struct relro *relro,
                         const ElfW(Sym) *symtab, const char *strtab, const ElfW(Rela) *r,
                         size_t bytes)
{
    for (size_t k = 0; r && k < bytes / sizeof *r; k++) {
        unsigned sym = (unsigned)ELF64_R_SYM(r[k].r_info);
        if (!is_pointer_reloc((unsigned)ELF64_R_TYPE(r[k].r_info)) || !sym || r[k].r_addend)
            continue;
        for (int f = 0; f < F_COUNT; f++)
            if (SYM[f] && fn[f] && strcmp(SYM[f], strtab + symtab[sym].st_name) == 0)
                write_slot(relro, (void **)(lm->l_addr + r[k].r_offset), fn[f]);
    }
}

static void bind_to_itself(void *h)
{
    struct link_map *lm = NULL;
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    const ElfW(Rela) *rela = NULL, *jmprel = NULL;
    size_t relasz = 0, pltrelsz = 0;
    if (dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0 || !lm)
        return;
    for (const ElfW(Dyn) *d = lm->l_ld; d && d->d_tag != DT_NULL; d++) {
        if (d->d_tag == DT_SYMTAB) symtab = dyn_ptr(lm, d->d_un.d_ptr);
        if (d->d_tag == DT_STRTAB) strtab = dyn_ptr(lm, d->d_un.d_ptr);
        if (d->d_tag == DT_RELA) rela = dyn_ptr(lm, d->d_un.d_ptr);
        if (d->d_tag == DT_RELASZ) relasz = d->d_un.d_val;
        if (d->d_tag == DT_JMPREL) jmprel = dyn_ptr(lm, d->d_un.d_ptr);
        if (d->d_tag == DT_PLTRELSZ) pltrelsz = d->d_un.d_val;
    }
    if (!symtab || !strtab)
        return;
    struct relro relro = { lm, 0, 0 };
    dl_iterate_phdr(find_relro, &relro);
    rebind_table(lm, &relro, symtab, strtab, rela, relasz);
    rebind_table(lm, &relro, symtab, strtab, jmprel, pltrelsz);
}

static void load(char **argv)
{
    if (MODE == MODE_PRELOAD && !getenv("ALLOCHECK_REPRO_PRELOADED")) {
        setenv("ALLOCHECK_REPRO_PRELOADED", "1", 1);
        setenv("LD_PRELOAD", lib_path(), 1);
        execv("/proc/self/exe", argv);
        load_failed(NULL, "cannot re-execute with LD_PRELOAD");
    }
    int from_file = MODE == MODE_NAMES || MODE == MODE_DESCRIPTOR;
    if (from_file)
        reexec_for_tls(argv);
    void *h = from_file ? dlopen(lib_path(), RTLD_NOW | RTLD_LOCAL) : RTLD_DEFAULT;
    if (from_file && !h)
        load_failed("cannot load the allocator", dlerror());
    if (MODE == MODE_DESCRIPTOR) {
        load_descriptor(h);
        return;
    }
    for (int f = 0; f < F_COUNT; f++)
        fn[f] = SYM[f] ? dlsym(h, SYM[f]) : NULL;
    if (!fn[F_MALLOC] || !fn[F_FREE])
        load_failed(NULL, "no malloc or free");
    if (MODE == MODE_NAMES)
        bind_to_itself(h);
}

/* ---- the state: one object, so a block handed out inside it is caught ---- */

struct block {
    unsigned char *p;
    size_t size, extent, align;
    uint64_t key;
    int origin, thread, live;
};

static struct state {
    struct block slot[SLOTS];
    unsigned short live[SLOTS], live_pos[SLOTS];  /* live slots densely, as allocheck keeps */
    size_t live_blocks, live_bytes;
    uint32_t allocs;
    size_t reuse_max, reuse_last;
    size_t page;
    volatile size_t op_index;
} S;

static const char *op_text(size_t i)
{
    return i < sizeof OPS / sizeof OPS[0] ? OPS[i].text : "end of run";
}

static void fail(const char *oracle, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(const char *oracle, const char *fmt, ...)
{
    char msg[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    finished = 1;
    printf("FAIL %s at op %zu (%s): %s\nthe bug is still there\n", oracle, S.op_index,
           op_text(S.op_index), msg);
    fflush(stdout);
    _exit(1);
}

static const char *errno_name(int e)
{
    const char *n = strerrorname_np(e);
    return n ? n : "?";
}

/* ---- the pattern (allocheck's: word i of a block is key + i * PATTERN_STEP) ---- */

static uint64_t key_of(unsigned slot, uint32_t gen)
{
    uint64_t z = SEED ^ ((uint64_t)slot << 32) ^ gen;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned char pat(uint64_t key, size_t off)
{
    uint64_t w = key + (uint64_t)(off / 8) * PATTERN_STEP;
    unsigned char b[8];
    memcpy(b, &w, 8);
    return b[off % 8];
}

static void fill_range(unsigned char *p, size_t from, size_t to, uint64_t key)
{
    size_t off = from;
    for (; off < to && off % 8; off++)
        p[off] = pat(key, off);
    for (; off + 8 <= to; off += 8) {
        uint64_t w = key + (uint64_t)(off / 8) * PATTERN_STEP;
        memcpy(p + off, &w, 8);
    }
    for (; off < to; off++)
        p[off] = pat(key, off);
}

/* The first byte in [from, to) that is not the pattern (or not zero), or NOT_FOUND. */
static size_t bad_in_range(const unsigned char *p, size_t from, size_t to, uint64_t key,
                           int zero)
{
    size_t off = from;
    for (; off < to && off % 8; off++)
        if (p[off] != (zero ? 0 : pat(key, off)))
            return off;
    for (; off + 8 <= to; off += 8) {
        uint64_t w, want = zero ? 0 : key + (uint64_t)(off / 8) * PATTERN_STEP;
        memcpy(&w, p + off, 8);
        if (w != want)
            break;
    }
    for (; off < to; off++)
        if (p[off] != (zero ? 0 : pat(key, off)))
            return off;
    return NOT_FOUND;
}

/* Sampled mode's set of a len-byte block: first and last 64 bytes, and the word at each
 * power-of-two offset from 128. Checks (or, with fill, writes) the part below limit. */
static size_t each_sample(unsigned char *p, size_t len, size_t limit, uint64_t key, int zero,
                          int fill)
{
    size_t r[64][2], n = 0;
    r[n][0] = 0, r[n++][1] = len < SAMPLE_EDGE ? len : SAMPLE_EDGE;
    for (size_t o = 2 * SAMPLE_EDGE; o + 8 <= len && o; o <<= 1)
        r[n][0] = o, r[n++][1] = o + 8;
    r[n][0] = len > SAMPLE_EDGE ? len - SAMPLE_EDGE : 0, r[n++][1] = len;
    for (size_t i = 0; i < n; i++) {
        size_t from = r[i][0], to = r[i][1] < limit ? r[i][1] : limit;
        if (from >= to)
            continue;
        if (fill)
            fill_range(p, from, to, key);
        else if (bad_in_range(p, from, to, key, zero) != NOT_FOUND)
            return bad_in_range(p, from, to, key, zero);
    }
    return NOT_FOUND;
}

static int sampled_for(size_t len)
{
    return CHECK == CHECK_SAMPLED || (FULL_CHECK_MAX && len > FULL_CHECK_MAX);
}

static size_t find_bad(unsigned char *p, size_t len, size_t limit, uint64_t key, int zero)
{
    if (sampled_for(len))
        return each_sample(p, len, limit, key, zero, 0);
    return bad_in_range(p, 0, len < limit ? len : limit, key, zero);
}

static void fill_block(unsigned char *p, size_t from, size_t len, uint64_t key)
{
    if (sampled_for(len))
        each_sample(p, len, len, key, 0, 1);
    else
        fill_range(p, from, len, key);
}

static void verify_block(unsigned s, const char *oracle, const char *when)
{
    const struct block *b = &S.slot[s];
    if (CHECK == CHECK_NONE)
        return;
    size_t off = find_bad(b->p, b->extent, b->extent, b->key, 0);
    if (off != NOT_FOUND)
        fail(oracle, "%s: slot %u (%s of %zu bytes at %p, thread %d) byte %zu: expected 0x%02x, "
             "found 0x%02x", when, s, kind_name[b->origin], b->size, (void *)b->p, b->thread,
             off, pat(b->key, off), b->p[off]);
}

/* ---- the shadow table ---- */

static void insert(unsigned s, const struct block *b)
{
    S.slot[s] = *b;
    S.slot[s].live = 1;
    S.live_bytes += b->size;
    S.live_pos[s] = (unsigned short)S.live_blocks;
    S.live[S.live_blocks++] = (unsigned short)s;
}

static void forget(unsigned s)
{
    S.live_bytes -= S.slot[s].size;
    size_t at = S.live_pos[s];
    S.live[at] = S.live[--S.live_blocks];
    S.live_pos[S.live[at]] = (unsigned short)at;
    S.slot[s].live = 0;
}

static uintptr_t end_of(uintptr_t p, size_t len)
{
    uintptr_t e = p + (len ? len : 1);
    return e < p ? UINTPTR_MAX : e;
}

#define OVERLAP_NONE (-1)
#define OVERLAP_HARNESS (-2)

/* A live block other than `except` that [p, p + len) overlaps, the harness's own memory
 * (OVERLAP_HARNESS), or OVERLAP_NONE. */
static int overlap(const void *p, size_t len, int except)
{
    uintptr_t lo = (uintptr_t)p, hi = end_of(lo, len);
    uintptr_t regions[2][2] = {
        { (uintptr_t)&S, (uintptr_t)(&S + 1) }, { (uintptr_t)OPS, (uintptr_t)(&OPS + 1) },
    };
    for (int i = 0; i < 2; i++)
        if (lo < regions[i][1] && regions[i][0] < hi)
            return OVERLAP_HARNESS;
    for (int s = 0; s < SLOTS; s++) {
        const struct block *b = &S.slot[s];
        if (s != except && b->live && lo < end_of((uintptr_t)b->p, b->extent)
            && (uintptr_t)b->p < hi)
            return s;
    }
    return OVERLAP_NONE;
}

/* ---- freeing ---- */

enum { FREE_PLAIN, FREE_SIZED, FREE_ALIGNED_SIZED };

static int malloc_family(int origin)
{
    return origin == K_MALLOC || origin == K_CALLOC || origin == K_REALLOC
        || origin == K_REALLOCARRAY;
}

static int free_variant(int kind, int origin)
{
    if (kind == K_FREE_SIZED || kind == K_FREE_ALIGNED_SIZED) {
        if (malloc_family(origin) && fn[F_FREE_SIZED])
            return FREE_SIZED;
        if (origin == K_ALIGNED_ALLOC && fn[F_FREE_ALIGNED_SIZED])
            return FREE_ALIGNED_SIZED;
    }
    return FREE_PLAIN;
}

static void check_free_errno(int after, const char *what)
{
    if (!CHECK_ERRNO || CHECK == CHECK_NONE || after == ERRNO_SENTINEL)
        return;
    /* POSIX.1-2024 free(): "shall not modify errno" for a valid pointer. */
    fail("errno", "%s changed errno (set to a sentinel before the call) to %d (%s)", what,
         after, errno_name(after));
}

static void release(unsigned s, int how, const char *when)
{
    static const char *const how_name[] = { "free", "free_sized", "free_aligned_sized" };
    verify_block(s, "contents", when);
    struct block b = S.slot[s];
    forget(s);
    errno = ERRNO_SENTINEL;
    if (how == FREE_SIZED)
        x_free_sized(b.p, b.size);
    else if (how == FREE_ALIGNED_SIZED)
        x_free_aligned_sized(b.p, b.align, b.size);
    else
        x_free(b.p);
    check_free_errno(errno, how_name[how]);
}

/* ---- allocation requests (allocheck's make_req) ---- */

struct req { size_t size, align, budget; int must_fail, may_fail; };

static int is_pow2(size_t x)
{
    return x && !(x & (x - 1));
}

static size_t floor_pow2(size_t x)
{
    return x ? (size_t)1 << (63 - __builtin_clzll(x)) : 1;
}

static size_t malloc_align_for(size_t size)
{
    size_t al = MALLOC_ALIGN;
    /* C23 7.24.3p1: suitably aligned for any type that fits in the size. */
    if (SIZE_DEPENDENT_ALIGN && floor_pow2(size ? size : 1) < al)
        al = floor_pow2(size ? size : 1);
    return al;
}

static void make_req(const struct op *op, struct req *r)
{
    size_t n = op->size, al = op->align;
    int ovf = 0;
    if (op->kind == K_CALLOC || op->kind == K_REALLOCARRAY)
        ovf = __builtin_mul_overflow((size_t)op->nmemb, n, &n);
    r->size = n;
    r->must_fail = ovf || n > PTRDIFF_MAX;
    r->may_fail = n == 0;
    r->align = malloc_align_for(n);
    /* An alignment the allocator may refuse (C17 7.22.3.1p2), as alloc_may_refuse_align. */
    if (op->kind >= K_ALIGNED_ALLOC && op->kind <= K_MEMALIGN && is_pow2(al))
        r->may_fail |= MAX_ALIGN ? al > MAX_ALIGN : al > ALIGN_SERVED;
    if (op->kind == K_ALIGNED_ALLOC) {
        r->align = floor_pow2(al);
        r->must_fail |= !is_pow2(al) || al >= ALIGN_IMPOSSIBLE;
    } else if (op->kind == K_MEMALIGN) {
        r->align = is_pow2(al) ? al : r->align;
        r->may_fail |= !is_pow2(al);
        r->must_fail |= al >= ALIGN_IMPOSSIBLE;
    } else if (op->kind == K_POSIX_MEMALIGN) {
        r->align = floor_pow2(al);
        r->must_fail |= !is_pow2(al) || al % sizeof(void *) || al >= ALIGN_IMPOSSIBLE;
    } else if (op->kind == K_VALLOC || op->kind == K_PVALLOC) {
        r->align = S.page;
    }
    r->budget = n;
    if (r->align > S.page && __builtin_add_overflow(n, r->align, &r->budget))
        r->budget = SIZE_MAX;
}

/* Beyond the live-bytes budget: allocheck skips the op (the slot's old block not counted). */
static int over_budget(const struct req *r, unsigned s)
{
    if (r->must_fail)
        return 0;
    size_t live = S.live_bytes - (S.slot[s].live ? S.slot[s].size : 0);
    return r->budget > MAX_LIVE || live > MAX_LIVE - r->budget;
}

static const int fn_of[K_COUNT] = {
    F_MALLOC, F_CALLOC, F_REALLOC, F_REALLOCARRAY, F_ALIGNED_ALLOC, F_POSIX_MEMALIGN,
    F_MEMALIGN, F_VALLOC, F_PVALLOC, F_FREE, F_FREE_SIZED, F_FREE_ALIGNED_SIZED,
    F_MALLOC_USABLE_SIZE, -1, -1,
};

/* errno is the sentinel before each call; *err gets what the call left (or posix_memalign's
 * result), *memptr what posix_memalign stored. */
static unsigned char *call_alloc(const struct op *op, int *err, void **memptr)
{
    void *p = NULL;
    size_t n = op->size, al = op->align;
    errno = ERRNO_SENTINEL;
    switch (op->kind) {
    case K_MALLOC: p = x_malloc(n); break;
    case K_CALLOC: p = x_calloc(op->nmemb, n); break;
    case K_ALIGNED_ALLOC: p = x_aligned_alloc(al, n); break;
    case K_MEMALIGN: p = x_memalign(al, n); break;
    case K_VALLOC: p = x_valloc(n); break;
    case K_PVALLOC: p = x_pvalloc(n); break;
    default:
        *memptr = MEMPTR_SENTINEL;
        *err = x_posix_memalign(memptr, al, n);
        return *err ? NULL : *memptr;
    }
    *err = errno;
    return p;
}

/* What a failed call said: "errno left unchanged", "errno 12 (ENOMEM)", "result 22 (EINVAL)". */
static const char *said(int kind, int err, char *buf, size_t len)
{
    if (kind != K_POSIX_MEMALIGN && err == ERRNO_SENTINEL)
        return "errno left unchanged";
    snprintf(buf, len, "%s %d (%s)", kind == K_POSIX_MEMALIGN ? "result" : "errno", err,
             errno_name(err));
    return buf;
}

/* memalign, valloc and pvalloc are in no standard: their errno is not judged. */
static int errno_promised(int kind)
{
    return kind != K_MEMALIGN && kind != K_VALLOC && kind != K_PVALLOC;
}

/* The size of the biggest live block, for a spurious-oom message (as src/exec/exec.c). */
static size_t largest_live(void)
{
    size_t m = 0;
    for (size_t i = 0; i < S.live_blocks; i++)
        if (S.slot[S.live[i]].size > m)
            m = S.slot[S.live[i]].size;
    return m;
}

/* A fixed heap may have run out unless it is empty and r takes at most half of it; with a
 * quarantine it always may (src/exec/exec.c heap_may_be_full). */
static int heap_may_be_full(const struct req *r)
{
    if (!FIXED_HEAP)
        return 0;
    return S.live_bytes || r->budget > HEAP_SIZE / 2 || DELAYED_REUSE;
}

/* A valid request refused as invalid (EINVAL) is failure-path; any other NULL within the
 * budget spurious-oom, as src/exec/exec.c on_null judges. */
static void on_null(const struct op *op, const struct req *r, int err)
{
    const char *f = kind_name[op->kind];
    char buf[64];
    if (CHECK == CHECK_NONE)
        return;
    if (!r->must_fail && !r->may_fail && heap_may_be_full(r))
        return;
    if (!r->must_fail && !r->may_fail && err == EINVAL)
        fail("failure-path", "%s refused a valid request of %zu bytes with EINVAL", f, r->size);
    if (!r->must_fail && !r->may_fail)
        fail("spurious-oom", "%s failed (NULL, %s) for %zu bytes within the live budget "
             "(%zu of %zu bytes live, the largest live block %zu bytes)", f,
             said(op->kind, err, buf, sizeof buf), r->size, S.live_bytes, (size_t)MAX_LIVE,
             largest_live());
    if (CHECK_ERRNO && errno_promised(op->kind) && (r->must_fail || r->size)
        && err != ENOMEM && err != EINVAL) {
        if (op->kind != K_POSIX_MEMALIGN && err == ERRNO_SENTINEL)
            fail("errno", "%s failed with errno left unchanged, not ENOMEM or EINVAL", f);
        if (op->kind == K_POSIX_MEMALIGN)
            fail("errno", "%s failed with result %d (%s), not ENOMEM or EINVAL", f, err,
                 errno_name(err));
        fail("errno", "%s failed and set errno to %d (%s), not ENOMEM or EINVAL", f, err,
             errno_name(err));
    }
}

static void posix_memalign_result(const struct op *op, const struct req *r, int err,
                                  void *memptr)
{
    if (CHECK == CHECK_NONE)
        return;
    if (err && memptr != MEMPTR_SENTINEL && memptr != NULL)
        fail("failure-path", "posix_memalign failed (%d) but set *memptr to %p", err, memptr);
    if (!err && (memptr == MEMPTR_SENTINEL || (memptr == NULL && r->size)))
        fail("failure-path", "posix_memalign returned 0 but *memptr is %s",
             memptr == MEMPTR_SENTINEL ? "untouched" : "NULL");
    int valid = is_pow2(op->align) && op->align % sizeof(void *) == 0;
    if (!err && r->must_fail && memptr == NULL && !(r->size == 0 && valid))
        fail("failure-path", "posix_memalign(alignment %zu, %zu bytes) returned 0; it must fail",
             (size_t)op->align, r->size);
    if (err && CHECK_ERRNO && !is_pow2(op->align) && err != EINVAL)
        fail("errno", "posix_memalign(alignment %zu) returned %d (%s), not EINVAL",
             (size_t)op->align, err, errno_name(err));
}

/* ---- a new block ---- */

static void on_forbidden(const struct op *op, unsigned s, unsigned char *p)
{
    if (S.slot[s].live)
        forget(s);
    if (CHECK != CHECK_NONE)
        fail("failure-path", "%s returned %p for a request that must fail (nmemb %zu, size %zu, "
             "alignment %zu)", kind_name[op->kind], (void *)p, (size_t)op->nmemb,
             (size_t)op->size, (size_t)op->align);
    (void)p;   /* leaked: its heap keeps a wrong size for it, as allocheck does */
}

static void fail_misaligned(const struct op *op, const struct block *b, size_t align)
{
    if (b->align)
        fail("alignment", "%s(alignment %zu, %zu bytes) returned %p, not aligned to %zu",
             kind_name[op->kind], b->align, b->size, (void *)b->p, align);
    fail("alignment", "%s(%zu bytes) returned %p, not aligned to %zu", kind_name[op->kind],
         b->size, (void *)b->p, align);
}

static void check_placement(const struct op *op, const struct block *b, int except,
                            size_t align)
{
    int o = overlap(b->p, b->size, except);
    if (o == OVERLAP_HARNESS)
        fail("overlap", "%s returned [%p, +%zu) inside the harness's own memory",
             kind_name[op->kind], (void *)b->p, b->size);
    if (o >= 0) {
        const struct block *v = &S.slot[o];
        fail("overlap", "%s returned [%p, +%zu) overlapping live slot %d (%s [%p, +%zu), thread "
             "%d)", kind_name[op->kind], (void *)b->p, b->size, o, kind_name[v->origin],
             (void *)v->p, v->extent, v->thread);
    }
    if ((uintptr_t)b->p & (align - 1))
        fail_misaligned(op, b, align);
}

static void calloc_fill(unsigned s, const struct block *b)
{
    size_t off = sampled_for(b->size) ? each_sample(b->p, b->size, b->size, 0, 1, 0)
                                      : bad_in_range(b->p, 0, b->size, 0, 1);
    if (off != NOT_FOUND)
        fail("calloc-zero", "calloc block of %zu bytes at %p (slot %u) byte %zu is 0x%02x, not "
             "zero", b->size, (void *)b->p, s, off, b->p[off]);
    fill_block(b->p, 0, b->size, b->key);
}

static void plain_fill(const struct op *op, unsigned s, const struct block *b,
                       const struct block *old)
{
    size_t keep = old ? (old->size < b->size ? old->size : b->size) : 0;
    size_t off = old ? find_bad(b->p, old->extent, keep, old->key, 0) : NOT_FOUND;
    if (off != NOT_FOUND)
        fail("realloc-contents", "%s of slot %u from %zu to %zu bytes (%p -> %p) byte %zu: "
             "expected 0x%02x, found 0x%02x", kind_name[op->kind], s, old->size, b->size,
             (void *)old->p, (void *)b->p, off, pat(old->key, off), b->p[off]);
    /* A kept prefix that held only the old block's sampled set is written whole. */
    int rewrite = old && sampled_for(old->extent) && !sampled_for(b->size);
    fill_block(b->p, rewrite ? 0 : keep, b->size, b->key);
}

static void on_block(const struct op *op, unsigned s, int self, const struct req *r,
                     unsigned char *p, const struct block *old)
{
    int aligned = op->kind >= K_ALIGNED_ALLOC && op->kind <= K_MEMALIGN;
    struct block b = { p, r->size, r->size, aligned ? op->align : 0, 0, op->kind, self, 1 };
    b.key = old ? old->key : key_of(s, S.allocs++);
    if (r->must_fail) {
        on_forbidden(op, s, p);
        return;
    }
    if (CHECK != CHECK_NONE) {
        check_placement(op, &b, old ? (int)s : -1, r->align);
        if (op->kind == K_CALLOC)
            calloc_fill(s, &b);
        else
            plain_fill(op, s, &b, old);
        S.reuse_last = r->size;
        S.reuse_max = r->size > S.reuse_max ? r->size : S.reuse_max;
    }
    if (S.slot[s].live)
        forget(s);
    insert(s, &b);
}

/* ---- the ops ---- */

static void op_alloc(const struct op *op, unsigned s, int self)
{
    struct req r;
    make_req(op, &r);
    if (over_budget(&r, s))
        return;
    if (S.slot[s].live)
        release(s, FREE_PLAIN, "before reuse of the slot");
    int err = 0;
    void *memptr = NULL;
    unsigned char *p = call_alloc(op, &err, &memptr);
    if (op->kind == K_POSIX_MEMALIGN) {
        posix_memalign_result(op, &r, err, memptr);
        if (!err && !p)
            return;   /* a NULL success is no failure: judged above */
    }
    if (!p)
        on_null(op, &r, err);
    else
        on_block(op, s, self, &r, p, NULL);
}

static void op_realloc(const struct op *op, unsigned s, int self)
{
    struct req r;
    make_req(op, &r);
    if (over_budget(&r, s))
        return;
    struct block old = S.slot[s];
    if (old.live)
        verify_block(s, "contents", "before realloc");
    errno = ERRNO_SENTINEL;
    unsigned char *q = op->kind == K_REALLOC ? x_realloc(old.live ? old.p : NULL, op->size)
        : x_reallocarray(old.live ? old.p : NULL, op->nmemb, op->size);
    int err = errno;
    if (q) {
        on_block(op, s, self, &r, q, old.live ? &old : NULL);
        return;
    }
    /* realloc(p, 0) returning NULL counts as having freed p (allocheck's reading). */
    if (r.size == 0 && old.live && !r.must_fail) {
        forget(s);
        return;
    }
    on_null(op, &r, err);
    if (old.live)   /* C17 7.22.3.5p4: a failed realloc leaves the old block intact */
        verify_block(s, "failure-path", "after a failed realloc");
}

static void op_free(const struct op *op, unsigned s)
{
    if (!S.slot[s].live) {
        if (op->kind != K_FREE)
            return;
        errno = ERRNO_SENTINEL;
        x_free(NULL);
        check_free_errno(errno, "free(NULL)");
        return;
    }
    release(s, free_variant(op->kind, S.slot[s].origin), "before free");
}

static void op_usable(unsigned s)
{
    struct block *b = &S.slot[s];
    if (!b->live)
        return;
    size_t u = x_usable(b->p);
    if (CHECK == CHECK_NONE)
        return;
    if (u < b->size || u - b->size > b->size + USABLE_SLACK)
        fail("usable-size", "usable size of slot %u (%s of %zu bytes at %p) is %zu", s,
             kind_name[b->origin], b->size, (void *)b->p, u);
    int o = overlap(b->p, u, (int)s);
    if (o != OVERLAP_NONE)
        fail("usable-size", "usable size %zu of slot %u (%zu bytes at %p) reaches into %s %d", u,
             s, b->size, (void *)b->p, o == OVERLAP_HARNESS ? "harness memory" : "live slot", o);
    size_t from = b->extent;
    if (u > from)
        b->extent = u;
    fill_block(b->p, from < u ? from : u, u, b->key);
}

static int present(int kind)
{
    if (kind == K_USABLE)
        return fn[F_MALLOC_USABLE_SIZE] || fn[F_MALLOC_SIZE];
    return fn_of[kind] < 0 || fn[fn_of[kind]];
}

static void run_op(size_t i, int self)
{
    const struct op *op = &OPS[i];
    unsigned s = op->slot % SLOTS;
    S.op_index = i;
    if (!present(op->kind))
        return;   /* allocheck skips an op whose function the allocator lacks */
    if (op->kind == K_REALLOC || op->kind == K_REALLOCARRAY)
        op_realloc(op, s, self);
    else if (op->kind <= K_PVALLOC)
        op_alloc(op, s, self);
    else if (op->kind <= K_FREE_ALIGNED_SIZED)
        op_free(op, s);
    else if (op->kind == K_USABLE)
        op_usable(s);
    else if (op->kind == K_CHECK)
        for (size_t k = 0; k < S.live_blocks; k++)
            verify_block(S.live[k], "contents", "check");
}

/* ---- the end of the run ---- */

/* One probe at a time, none above half a fixed heap; with a quarantine a NULL is no finding
 * (src/exec/exec.c check_reuse). */
static void check_reuse(void)
{
    size_t sizes[2] = { S.reuse_max, S.reuse_last };
    if (CHECK == CHECK_NONE)
        return;
    for (int i = 0; i < 2; i++) {
        if (!sizes[i] || (i == 1 && sizes[1] == sizes[0])
            || (FIXED_HEAP && sizes[i] > HEAP_SIZE / 2))
            continue;
        void *p = x_malloc(sizes[i]);
        if (p)
            x_free(p);
        else if (!DELAYED_REUSE)
            fail("reuse", "after every block was freed, malloc(%zu) failed although it "
                 "succeeded during the run", sizes[i]);
    }
}

/* ---- threads: `thread T` hands the following ops to worker T, one thread at a time ---- */

static sem_t go[THREADS], done;
static size_t job[THREADS];
static int started[THREADS];

static void arm_hang_timer(void)
{
    struct itimerval it = { { 0, 0 }, { HANG_MS / 1000, (HANG_MS % 1000) * 1000 } };
    setitimer(ITIMER_REAL, &it, NULL);
}

static void *worker_main(void *arg)
{
    int t = (int)(uintptr_t)arg;
    for (;;) {
        sem_wait(&go[t]);
        run_op(job[t], t);
        sem_post(&done);
    }
    return NULL;
}

static void run_on(int t, size_t i)
{
    arm_hang_timer();
    if (t == 0) {
        run_op(i, 0);
        return;
    }
    if (!started[t]) {
        pthread_t tid;
        sem_init(&go[t], 0, 0);
        if (pthread_create(&tid, NULL, worker_main, (void *)(uintptr_t)t) != 0)
            load_failed("reproducer", "cannot start a thread");
        started[t] = 1;
    }
    job[t] = i;
    sem_post(&go[t]);
    sem_wait(&done);
}

/* ---- crashes, exits and hangs inside the allocator ---- */

static void say(const char *s)
{
    ssize_t r = write(1, s, strlen(s));
    (void)r;
}

static void say_num(size_t i)
{
    char num[24], *d = num + sizeof num;
    *--d = '\0';
    do
        *--d = (char)('0' + i % 10);
    while (i /= 10);
    say(d);
}

static void say_op(void)
{
    say(" at op ");
    say_num(S.op_index);
    say(" (");
    say(op_text(S.op_index));
    say(")");
}

static void on_signal(int sig)
{
    if (sig == SIGALRM) {
        say("FAIL timeout");
        say_op();
        say(": no progress for ");
        say_num(HANG_MS);
        say(" ms\nthe bug is still there\n");
        _exit(1);
    }
    const char *abbrev = sigabbrev_np(sig);
    say("FAIL crash");
    say_op();
    say(": killed by SIG");
    say(abbrev ? abbrev : "?");
    say("\nthe bug is still there\n");
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_exit_early(void)
{
    if (finished)
        return;
    say("FAIL crash");
    say_op();
    say(": the process exited inside the allocator\nthe bug is still there\n");
    _exit(1);
}

static void watch(void)
{
    static char altstack[1 << 16];
    static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGALRM };
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_ONSTACK;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    atexit(on_exit_early);
}

/* Runs every op, then frees what is left live and probes reuse, as exec_run does. */
static void run_all(void)
{
    int t = 0;
    size_t n = sizeof OPS / sizeof OPS[0];
    for (size_t i = 0; i < n; i++) {
        if (OPS[i].kind == K_THREAD)
            t = (int)(OPS[i].slot % THREADS);
        else
            run_on(t, i);
    }
    S.op_index = n;
    arm_hang_timer();
    for (unsigned s = 0; s < SLOTS; s++)
        if (S.slot[s].live)
            release(s, FREE_PLAIN, "at the end of the run");
    check_reuse();
}

/* ---- the leak check (allocheck --resources; src/footprint/leak.h has the rule) ---- */

enum { LEAK_REPS = 4, LEAK_SETTLE_REPS = 8, LEAK_MIN_STEP = 4096, LEAK_MIN_TOTAL = 64 << 10 };

/* Resident and mapped bytes of the private anonymous mappings ([heap], unnamed, [anon:..]),
 * from /proc/self/smaps with read(2): stdio would allocate while measuring. */
static void footprint(long long out[2])
{
    static char buf[1 << 16];
    int fd = open("/proc/self/smaps", O_RDONLY), counted = 0;
    size_t len = 0;
    ssize_t n;
    out[0] = out[1] = 0;
    while (fd >= 0 && (n = read(fd, buf + len, sizeof buf - len - 1)) > 0) {
        len += (size_t)n;
        buf[len] = '\0';
        char *s = buf, *nl;
        while ((nl = strchr(s, '\n')) != NULL) {
            *nl = '\0';
            if ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')) {
                char perms[8] = "", path[64] = "";
                sscanf(s, "%*x-%*x %7s %*s %*s %*s %63s", perms, path);
                counted = perms[3] == 'p' && (!path[0] || !strcmp(path, "[heap]") ||
                                              !strncmp(path, "[anon:", 6));
            } else if (counted && !strncmp(s, "Rss:", 4)) {
                out[0] += atoll(s + 4) * 1024;
            } else if (counted && !strncmp(s, "Size:", 5)) {
                out[1] += atoll(s + 5) * 1024;
            }
            s = nl + 1;
        }
        len = (size_t)(buf + len - s);
        memmove(buf, s, len);
    }
    if (fd >= 0)
        close(fd);
}

/* LEAK_REPS more runs after `skip` unmeasured ones; 1 when every step grew about the same. */
static int grows(int skip, long long step[2][LEAK_REPS])
{
    long long f[LEAK_REPS + 1][2];
    int steady = 0;
    for (int i = 0; i <= skip + LEAK_REPS; i++) {
        if (i)
            run_all();
        if (i >= skip)
            footprint(f[i - skip]);
    }
    for (int m = 0; m < 2; m++) {
        long long lo = LLONG_MAX, hi = 0, sum = 0;
        for (int i = 0; i < LEAK_REPS; i++) {
            step[m][i] = f[i + 1][m] - f[i][m];
            lo = step[m][i] < lo ? step[m][i] : lo;
            hi = step[m][i] > hi ? step[m][i] : hi;
            sum += step[m][i];
        }
        steady |= lo >= LEAK_MIN_STEP && sum >= LEAK_MIN_TOTAL && lo * 4 >= hi;
    }
    return steady;
}

static void check_leak(void)
{
    long long step[2][LEAK_REPS];
    if (!grows(0, step) || !grows(LEAK_SETTLE_REPS, step))
        return;
    S.op_index = sizeof OPS / sizeof OPS[0];
    printf("FAIL leak at op %zu (end of run): run %d more times, the ops (which free "
           "everything) grew the footprint in each of the last %d: resident", S.op_index,
           2 * LEAK_REPS + LEAK_SETTLE_REPS, LEAK_REPS);
    for (int m = 0; m < 2; m++)
        for (int i = 0; i < LEAK_REPS; i++)
            printf("%s%lld", i ? ", +" : m ? " bytes, mapped +" : " +", step[m][i]);
    printf(" bytes\nthe bug is still there\n");
    finished = 1;
    exit(1);
}

int main(int argc, char **argv)
{
    (void)argc;
    load(argv);
    S.page = (size_t)sysconf(_SC_PAGESIZE);
    sem_init(&done, 0, 0);
    watch();
    run_all();
    if (LEAK_CHECK)
        check_leak();
    finished = 1;
    printf("no failure: the ops ran clean (the bug looks fixed)\n");
    return 0;
}
