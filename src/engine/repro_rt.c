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
 * With CONCURRENT the `thread T` ops run at once in allocheck's bursts (src/exec/exec_threads.c:
 * the same bursts, start delays and one CPU per thread), the shadow table under a lock; a
 * race shows in some runs only, so ATTEMPTS runs are made, each in a fresh child process.
 * A `fork B` op forks while B hammer threads are inside the allocator and judges the child as
 * allocheck does (the same child ops, the same bounded wait); as allocheck's children run
 * under an address-space limit, so does this program (VmSize + 1 TiB), which decides which
 * valid sizes cannot be met.
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
#include <sched.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { K_MALLOC, K_CALLOC, K_REALLOC, K_REALLOCARRAY, K_ALIGNED_ALLOC, K_POSIX_MEMALIGN,
       K_MEMALIGN, K_VALLOC, K_PVALLOC, K_FREE, K_FREE_SIZED, K_FREE_ALIGNED_SIZED, K_USABLE,
       K_CHECK, K_THREAD, K_FORK, K_COUNT };
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
#define MAP_IMPOSSIBLE ((size_t)1 << 57)
#define AS_HEADROOM (1ull << 40)   /* allocheck's children: RLIMIT_AS of VmSize + this */
/* Without a declared max-align, alignments above this may be refused (ALLOC_ALIGN_SERVED). */
#define ALIGN_SERVED ((size_t)64 << 10)
#define USABLE_SLACK ((size_t)64 << 20)
#define PATTERN_STEP 0x9e3779b97f4a7c15ull
#define SAMPLE_EDGE 64
#define NOT_FOUND SIZE_MAX

static const char *const kind_name[K_COUNT] = {
    "malloc", "calloc", "realloc", "reallocarray", "aligned_alloc", "posix_memalign",
    "memalign", "valloc", "pvalloc", "free", "free_sized", "free_aligned_sized", "usable",
    "check", "thread", "fork",
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
static pid_t main_pid;

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
    size_t map_limit;   /* valid requests above this cannot be met */
    int report_fd;      /* in a fork child: where fail() sends the finding; else -1 */
    size_t full_max;    /* FULL_CHECK_MAX, lowered in a fork child as allocheck does */
    volatile size_t op_index;
} S;

/* The op each thread runs (a thread of a burst names its own when it fails or crashes). */
static __thread size_t op_index;
/* Bursts run: every use of the shadow table is locked (never an allocator call). */
static int bursts_on;
static pthread_mutex_t sh_mu = PTHREAD_MUTEX_INITIALIZER;

static void lock(void)
{
    if (bursts_on)
        pthread_mutex_lock(&sh_mu);
}

static void unlock(void)
{
    if (bursts_on)
        pthread_mutex_unlock(&sh_mu);
}

static const char *op_text(size_t i)
{
    return i < sizeof OPS / sizeof OPS[0] ? OPS[i].text : "end of run";
}

__attribute__((noreturn)) static void fork_child_report(const char *oracle, const char *msg);
static int present(int kind);
static void fail(const char *oracle, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(const char *oracle, const char *fmt, ...)
{
    char msg[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (S.report_fd >= 0)
        fork_child_report(oracle, msg);
    static int failing;
    if (__atomic_exchange_n(&failing, 1, __ATOMIC_ACQ_REL))
        for (;;)
            pause();   /* another thread of the burst failed first: it reports */
    finished = 1;
    printf("FAIL %s at op %zu (%s): %s\nthe bug is still there\n", oracle, op_index,
           op_text(op_index), msg);
    fflush(stdout);
    _exit(1);
}

/* A fork child's finding, as allocheck's executor sends it: a fixed-size record. */
struct fork_report { char oracle[32]; char message[512]; };

__attribute__((noreturn)) static void fork_child_report(const char *oracle, const char *msg)
{
    struct fork_report rep;
    memset(&rep, 0, sizeof rep);
    size_t no = strlen(oracle), nm = strlen(msg);
    memcpy(rep.oracle, oracle, no < sizeof rep.oracle ? no : sizeof rep.oracle - 1);
    memcpy(rep.message, msg, nm < sizeof rep.message ? nm : sizeof rep.message - 1);
    ssize_t w = write(S.report_fd, &rep, sizeof rep);
    _exit(w == (ssize_t)sizeof rep ? 0 : 3);
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
    return CHECK == CHECK_SAMPLED || (S.full_max && len > S.full_max);
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
    for (size_t k = 0; k < S.live_blocks; k++) {   /* the live ones: short under the lock */
        int s = S.live[k];
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
    lock();
    forget(s);
    unlock();
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

struct req { size_t size, align, budget; int must_fail, may_fail, unmeetable; };

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
    if (op->kind == K_PVALLOC && n && n <= PTRDIFF_MAX - S.page)   /* whole pages owed */
        n = (n + S.page - 1) & ~(S.page - 1);
    r->size = n;
    r->must_fail = ovf || n > PTRDIFF_MAX;
    r->unmeetable = !r->must_fail && n > S.map_limit;
    r->may_fail = n == 0 || r->unmeetable;
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
    if (r->must_fail || r->unmeetable)
        return 0;
    size_t live = S.live_bytes - (S.slot[s].live ? S.slot[s].size : 0);
    return r->budget > MAX_LIVE || live > MAX_LIVE - r->budget;
}

static const int fn_of[K_COUNT] = {
    F_MALLOC, F_CALLOC, F_REALLOC, F_REALLOCARRAY, F_ALIGNED_ALLOC, F_POSIX_MEMALIGN,
    F_MEMALIGN, F_VALLOC, F_PVALLOC, F_FREE, F_FREE_SIZED, F_FREE_ALIGNED_SIZED,
    F_MALLOC_USABLE_SIZE, -1, -1, -1,
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
    lock();
    if (S.slot[s].live)
        forget(s);
    unlock();
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
    b.key = old ? old->key : key_of(s, __atomic_fetch_add(&S.allocs, 1, __ATOMIC_RELAXED));
    if (r->must_fail) {
        on_forbidden(op, s, p);
        return;
    }
    if (r->unmeetable) {   /* served from some reservation: freed unwritten, as allocheck does */
        lock();
        if (S.slot[s].live)
            forget(s);
        unlock();
        x_free(p);
        return;
    }
    /* Placed and entered under one lock (a block two threads get at once is caught), filled
     * after: allocheck's order. */
    lock();
    if (CHECK != CHECK_NONE)
        check_placement(op, &b, old ? (int)s : -1, r->align);
    if (S.slot[s].live)
        forget(s);
    insert(s, &b);
    unlock();
    if (CHECK != CHECK_NONE) {
        if (op->kind == K_CALLOC)
            calloc_fill(s, &b);
        else
            plain_fill(op, s, &b, old);
        S.reuse_last = r->size;
        S.reuse_max = r->size > S.reuse_max ? r->size : S.reuse_max;
    }
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

/* allocheck's check that a failed realloc kept the block live: a malloc of its size may not
 * land in it, its contents and usable size stay. */
static void kept_block(unsigned s)
{
    const struct block *b = &S.slot[s];
    if (CHECK == CHECK_NONE)
        return;
    if (fn[F_MALLOC] && fn[F_FREE] && b->size && !FIXED_HEAP) {
        unsigned char *q = x_malloc(b->size);
        if (q)
            x_free(q);
        if (q && q < b->p + b->size && b->p < q + b->size)
            fail("failure-path", "a failed realloc freed slot %u: malloc(%zu) then returned %p, "
                 "inside its block at %p", s, b->size, (void *)q, (void *)b->p);
    }
    verify_block(s, "failure-path", "after a failed realloc");
    size_t u = present(K_USABLE) ? x_usable(b->p) : SIZE_MAX;
    if (u < b->size)
        fail("failure-path", "after a failed realloc the usable size of slot %u (%zu bytes at "
             "%p) is %zu", s, b->size, (void *)b->p, u);
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
    /* In a burst the old block leaves the table first (realloc may free it for another
     * thread to get), and comes back if the call fails. */
    int out = bursts_on && old.live;
    if (out) {
        lock();
        forget(s);
        unlock();
    }
    errno = ERRNO_SENTINEL;
    unsigned char *q = op->kind == K_REALLOC ? x_realloc(old.live ? old.p : NULL, op->size)
        : x_reallocarray(old.live ? old.p : NULL, op->nmemb, op->size);
    int err = errno;
    if (!q && out && (r.size || r.must_fail)) {   /* realloc(p, 0) freed it */
        lock();
        insert(s, &old);
        unlock();
    }
    if (q) {
        on_block(op, s, self, &r, q, old.live ? &old : NULL);
        return;
    }
    /* realloc(p, 0) returning NULL counts as having freed p (allocheck's reading). */
    if (r.size == 0 && old.live && !r.must_fail) {
        lock();
        if (!out)
            forget(s);
        unlock();
        return;
    }
    on_null(op, &r, err);
    if (old.live)   /* C17 7.22.3.5p4: a failed realloc leaves the old block intact */
        kept_block(s);
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
    if (!b->live) {
        size_t u = x_usable(NULL);   /* malloc_usable_size(3): 0 for NULL */
        if (CHECK != CHECK_NONE && u != 0)
            fail("usable-size", "usable size of NULL is %zu, not 0", u);
        return;
    }
    size_t u = x_usable(b->p);
    if (CHECK == CHECK_NONE)
        return;
    if (u < b->size || u - b->size > b->size + USABLE_SLACK)
        fail("usable-size", "usable size of slot %u (%s of %zu bytes at %p) is %zu", s,
             kind_name[b->origin], b->size, (void *)b->p, u);
    lock();
    int o = overlap(b->p, u, (int)s);
    if (o != OVERLAP_NONE)
        fail("usable-size", "usable size %zu of slot %u (%zu bytes at %p) reaches into %s %d", u,
             s, b->size, (void *)b->p, o == OVERLAP_HARNESS ? "harness memory" : "live slot", o);
    size_t from = b->extent;
    if (u > from)
        b->extent = u;
    unlock();
    fill_block(b->p, from < u ? from : u, u, b->key);
}

static int present(int kind)
{
    if (kind == K_USABLE)
        return fn[F_MALLOC_USABLE_SIZE] || fn[F_MALLOC_SIZE];
    return fn_of[kind] < 0 || fn[fn_of[kind]];
}

/* ---- fork (allocheck's op_fork): hammers, the child's ops, the bounded wait ---- */

#define HAMMERS 7
#define FORK_BUSY_TRIES 8
#define FORK_CHILD_SIZE 100
#define FORK_CHILD_ALIGN 64
#define FORK_CHILD_FULL_MAX 4096   /* allocheck's: blocks above get the sampled check */

static struct hammer {
    pthread_t tid;
    int started;
    volatile int go, in_call, parked;
    volatile unsigned long calls;
} H[HAMMERS];

/* allocheck's hammer round: small sizes, each allocating function in turn, then free. */
static void hammer_call(struct hammer *m)
{
    static const size_t sizes[] = { 16, 24, 40, 64, 100, 256, 1000, 4000 };
    size_t n = sizes[m->calls % 8];
    void *p = NULL;
    m->in_call = 1;
    switch ((m->calls / 8) % 4) {
    case 1: p = fn[F_CALLOC] ? x_calloc(1, n) : NULL; break;
    case 2: p = fn[F_MEMALIGN] ? x_memalign(64, n) : NULL; break;
    case 3:
        p = fn[F_REALLOC] ? x_realloc(NULL, n) : NULL;
        if (p) {
            void *q = x_realloc(p, 2 * n);
            p = q ? q : p;
        }
        break;
    default: p = fn[F_MALLOC] ? x_malloc(n) : NULL; break;
    }
    if (p)
        x_free(p);
    m->in_call = 0;
    m->calls++;
}

static void *hammer_main(void *arg)
{
    struct hammer *m = arg;
    for (;;) {
        m->parked = 1;
        while (!__atomic_load_n(&m->go, __ATOMIC_ACQUIRE))
            syscall(SYS_futex, &m->go, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
        m->parked = 0;
        while (__atomic_load_n(&m->go, __ATOMIC_ACQUIRE))
            hammer_call(m);
    }
    return NULL;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Waits (up to 20 ms) to see each of n hammers make a call and be inside one again. */
static void hammers_mid_call(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        H[i].calls = 0;
    long long until = now_ns() + 20000000ll;
    for (unsigned i = 0; i < n && now_ns() < until;)
        if (H[i].in_call && H[i].calls)
            i++;
        else
            sched_yield();
}

/* Starts n hammers on this thread's CPU. */
static void hammers_start(unsigned n, cpu_set_t *mask0)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    sched_getaffinity(0, sizeof *mask0, mask0);
    sched_setaffinity(0, sizeof one, &one);
    for (unsigned i = 0; i < n; i++) {
        if (!H[i].started && pthread_create(&H[i].tid, NULL, hammer_main, &H[i]) != 0)
            load_failed("reproducer", "cannot start a thread");
        H[i].started = 1;
        pthread_setaffinity_np(H[i].tid, sizeof one, &one);
        __atomic_store_n(&H[i].go, 1, __ATOMIC_RELEASE);
        syscall(SYS_futex, &H[i].go, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
}

static void hammers_stop(unsigned n, const cpu_set_t *mask0)
{
    for (unsigned i = 0; i < n; i++)
        __atomic_store_n(&H[i].go, 0, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < n; i++)
        while (!H[i].parked)
            sched_yield();
    sched_setaffinity(0, sizeof *mask0, mask0);
}

static void child_op(int kind, unsigned s, unsigned long long nmemb, unsigned long long size,
                     int self)
{
    struct op op = { kind, s, nmemb, size, FORK_CHILD_ALIGN, "" };
    if (!present(kind))
        return;
    if (kind == K_REALLOC || kind == K_REALLOCARRAY)
        op_realloc(&op, s, self);
    else if (kind <= K_PVALLOC)
        op_alloc(&op, s, self);
    else if (kind <= K_FREE_ALIGNED_SIZED)
        op_free(&op, s);
    else if (kind == K_USABLE)
        op_usable(s);
    else
        for (size_t k = 0; k < S.live_blocks; k++)
            verify_block(S.live[k], "contents", "check");
}

static int lowest_live(unsigned from)
{
    for (unsigned s = from; s < SLOTS; s++)
        if (S.slot[s].live)
            return (int)s;
    return -1;
}

/* allocheck's child ops: with `whole` (the first child of a fork op), check and usable of
 * every inherited block; a block from every allocating function in the highest free slots,
 * the lowest inherited block grown, all freed by free, free_sized and free_aligned_sized in
 * turn. A finding goes through fail(). */
__attribute__((noreturn)) static void fork_child(int fd, int self, const cpu_set_t *mask0,
                                                 int whole)
{
    static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGALRM };
    unsigned mine[K_PVALLOC - K_MALLOC + 2], n = 0;   /* one per allocating kind, and the grown one */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setpgid(0, 0);
    if (mask0)
        sched_setaffinity(0, sizeof *mask0, mask0);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);   /* a crash is the parent's to report */
    S.report_fd = fd;
    if (!S.full_max || S.full_max > FORK_CHILD_FULL_MAX)
        S.full_max = FORK_CHILD_FULL_MAX;
    int first = lowest_live(0);
    if (whole)
        child_op(K_CHECK, 0, 0, 0, self);
    for (int s = first; whole && s >= 0; s = lowest_live((unsigned)s + 1))
        child_op(K_USABLE, (unsigned)s, 0, 0, self);
    for (int s = SLOTS - 1, k = K_MALLOC; s >= 0 && k <= K_PVALLOC; s--) {
        if (S.slot[s].live)
            continue;
        int arr = k == K_CALLOC || k == K_REALLOCARRAY;
        child_op(k++, (unsigned)s, arr ? 4 : 1, arr ? FORK_CHILD_SIZE / 4 : FORK_CHILD_SIZE,
                 self);
        mine[n++] = (unsigned)s;
    }
    if (first >= 0) {
        child_op(K_REALLOC, (unsigned)first, 0, S.slot[first].size + 100, self);
        mine[n++] = (unsigned)first;
    }
    for (unsigned i = 0; i < n; i++)
        child_op(K_FREE + (int)(i % 3), mine[i], 0, 0, self);
    struct fork_report rep;
    memset(&rep, 0, sizeof rep);
    ssize_t w = write(fd, &rep, sizeof rep);
    _exit(w == (ssize_t)sizeof rep ? 0 : 3);
}

/* Waits up to ns for the child's report as allocheck's fork_wait does: 1 reported, 0 died,
 * -1 hung (killed). */
static int fork_wait(pid_t pid, int fd, struct fork_report *rep, int *status, long long ns)
{
    long long until = now_ns() + ns;
    size_t got = 0;
    *status = 0;
    for (;;) {
        long long left = until - now_ns();
        struct pollfd p = { fd, POLLIN, 0 };
        int r = poll(&p, 1, left > 0 ? (int)(left / 1000000ll) + 1 : 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t k = read(fd, (char *)rep + got, sizeof *rep - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k > 0 && (got += (size_t)k) < sizeof *rep)
            continue;
        while (waitpid(pid, status, 0) < 0 && errno == EINTR)
            ;
        return got == sizeof *rep;
    }
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
    return -1;
}

/* One child forked (allocheck's fork_spawn); its pipe's read end in *fd. */
static pid_t fork_spawn(unsigned busy, int self, const cpu_set_t *mask0, int whole, int *fd)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC))
        load_failed("reproducer", "cannot make a pipe");
    if (busy)
        hammers_mid_call(busy);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        fork_child(fds[1], self, mask0, whole);
    }
    close(fds[1]);
    if (pid < 0)
        load_failed("reproducer", "cannot fork");
    setpgid(pid, pid);
    *fd = fds[0];
    return pid;
}

/* allocheck's fork_verdict on one child. */
static void fork_judge(int end, const struct fork_report *rep, int status, unsigned busy)
{
    if (end < 0)
        fail("timeout", "the child of fork (with %u thread%s busy in the allocator) did not "
             "finish within %u ms: deadlocked, a lock held at the fork was never released in "
             "the child (no pthread_atfork handler?)", busy, busy == 1 ? "" : "s", FORK_WAIT_MS);
    if (end == 0 && WIFSIGNALED(status))
        fail("crash", "the child of fork was killed by SIG%s",
             sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
    if (end == 0)
        fail("crash", "the child of fork exited with status %d inside the allocator",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    if (rep->oracle[0])
        fail(rep->oracle, "in the child of fork: %s", rep->message);
}

/* allocheck's `fork B`: FORK_BUSY_TRIES children forked while B hammers run (else one),
 * waited for together against one deadline, judged in fork order. */
static void op_fork(const struct op *op, int self)
{
    unsigned busy = NOT_THREAD_SAFE ? 0 : op->slot % THREADS, n = busy ? FORK_BUSY_TRIES : 1;
    cpu_set_t mask0;
    pid_t pid[FORK_BUSY_TRIES];
    int fd[FORK_BUSY_TRIES], end[FORK_BUSY_TRIES], status[FORK_BUSY_TRIES];
    struct fork_report rep[FORK_BUSY_TRIES];
    if (NOT_FORK_SAFE)
        return;   /* allocheck skips a fork for an allocator declared not fork-safe */
    if (busy)
        hammers_start(busy, &mask0);
    for (unsigned i = 0; i < n; i++)
        pid[i] = fork_spawn(busy, self, busy ? &mask0 : NULL, i == 0, &fd[i]);
    if (busy)
        hammers_stop(busy, &mask0);
    long long until = now_ns() + (long long)FORK_WAIT_MS * 1000000ll;
    for (unsigned i = 0; i < n; i++) {
        long long left = until - now_ns();
        end[i] = fork_wait(pid[i], fd[i], &rep[i], &status[i], left > 0 ? left : 0);
        close(fd[i]);
    }
    for (unsigned i = 0; i < n; i++)
        fork_judge(end[i], &rep[i], status[i], busy);
}

/* allocheck's children run under RLIMIT_AS of their VmSize + 1 TiB; the limit (or 2^57, more
 * than any address space maps) is where valid requests stop being meetable. */
static void limit_address_space(void)
{
    struct rlimit rl;
    unsigned long long vm = 0;
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmSize:", 7) == 0)
            vm = strtoull(line + 7, NULL, 10) * 1024;
    if (f)
        fclose(f);
    getrlimit(RLIMIT_AS, &rl);
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > vm + AS_HEADROOM) {
        rl.rlim_cur = vm + AS_HEADROOM;
        setrlimit(RLIMIT_AS, &rl);
    }
    getrlimit(RLIMIT_AS, &rl);
    S.map_limit = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > MAP_IMPOSSIBLE
        ? MAP_IMPOSSIBLE : (size_t)rl.rlim_cur;
}

static void run_op(size_t i, int self)
{
    const struct op *op = &OPS[i];
    unsigned s = op->slot % SLOTS;
    op_index = i;
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
    else if (op->kind == K_FORK)
        op_fork(op, self);
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

/* ---- threads at once: allocheck's bursts (src/exec/exec_threads.c) ---- */

#define BURST_MAX_OPS 512
#define DELAY_MAX 64

static pthread_barrier_t bar;
static size_t b_lo, b_hi, b_count;
static int b_first, b_done, b_cpu[THREADS];
static unsigned char owner[SLOTS];
static size_t owned[SLOTS];

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The burst from lo, where thread *cur runs: up to the first op on a slot another thread
 * of it touched, a `check` (alone), or BURST_MAX_OPS ops. */
static size_t plan_burst(size_t lo, int *cur, unsigned *mask)
{
    size_t n_ops = sizeof OPS / sizeof OPS[0], i = lo, n = 0, stamp = ++b_count;
    *mask = 0;
    for (; i < n_ops; i++) {
        const struct op *op = &OPS[i];
        if (op->kind == K_THREAD) {
            *cur = (int)(op->slot % THREADS);
            continue;
        }
        int check = op->kind == K_CHECK;
        unsigned s = op->slot % SLOTS;
        if (check ? n > 0 : owned[s] == stamp && owner[s] != *cur)
            break;
        if (!check) {
            owned[s] = stamp;
            owner[s] = (unsigned char)*cur;
        }
        *mask |= 1u << *cur;
        if (check || ++n == BURST_MAX_OPS) {
            i++;
            break;
        }
    }
    return i;
}

static unsigned b_parties, b_running;

/* After the start barrier, waits up to 200 us for every thread to be running (a thread woken
 * from the barrier's futex is late, and would miss most of the burst). */
static void rendezvous(uint32_t burst)
{
    unsigned want = (burst + 1) * b_parties;
    __atomic_add_fetch(&b_running, 1, __ATOMIC_ACQ_REL);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 0; __atomic_load_n(&b_running, __ATOMIC_ACQUIRE) < want; i++) {
        __builtin_ia32_pause();
        if (i % 64)
            continue;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000000000L + now.tv_nsec - t0.tv_nsec > 200000)
            return;
    }
}

static void run_slice(int self, uint32_t burst)
{
    rendezvous(burst);
    uint64_t d = mix(SEED ^ ((uint64_t)burst << 8) ^ (unsigned)self) % DELAY_MAX;
    for (uint64_t k = 0; k < d; k++)
        __builtin_ia32_pause();
    int cur = b_first;
    for (size_t i = b_lo; i < b_hi; i++) {
        if (OPS[i].kind == K_THREAD)
            cur = (int)(OPS[i].slot % THREADS);
        else if (cur == self)
            run_op(i, self);
    }
}

static void pin(int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (cpu >= 0)
        sched_setaffinity(0, sizeof one, &one);
}

static uint32_t b_burst;

static void *burst_worker(void *arg)
{
    int self = (int)(uintptr_t)arg;
    pin(b_cpu[self]);
    for (;;) {
        pthread_barrier_wait(&bar);
        if (b_done)
            return NULL;
        run_slice(self, b_burst);
        pthread_barrier_wait(&bar);
    }
}

/* One CPU per thread, the next ones after the main thread's (allocheck's placement). */
static void place(unsigned used)
{
    cpu_set_t mask;
    int cpu0 = sched_getcpu(), k = 0;
    for (int i = 0; i < THREADS; i++)
        b_cpu[i] = -1;
    if (cpu0 < 0 || sched_getaffinity(0, sizeof mask, &mask) || CPU_COUNT(&mask) < 2)
        return;
    for (int i = 0; i < THREADS; i++) {
        if (!(used & (1u << i)))
            continue;
        int cpu = cpu0;
        for (int step = k++ % CPU_COUNT(&mask); step > 0; step--)
            do
                cpu = (cpu + 1) % CPU_SETSIZE;
            while (!CPU_ISSET(cpu, &mask));
        b_cpu[i] = cpu;
    }
    pin(b_cpu[0]);
}

static void run_bursts(unsigned used)
{
    size_t n = sizeof OPS / sizeof OPS[0], pc = 0;
    b_done = 0;   /* the leak check runs the ops several times */
    b_burst = 0;
    b_running = 0;
    place(used);
    b_parties = (unsigned)__builtin_popcount(used);
    pthread_barrier_init(&bar, NULL, b_parties);
    bursts_on = 1;
    for (int t = 1; t < THREADS; t++) {
        pthread_t tid;
        if ((used & (1u << t))
            && pthread_create(&tid, NULL, burst_worker, (void *)(uintptr_t)t) != 0)
            load_failed("reproducer", "cannot start a thread");
    }
    int cur = 0;
    while (pc < n) {
        unsigned mask;
        b_first = cur;
        b_lo = pc;
        b_hi = plan_burst(pc, &cur, &mask);
        arm_hang_timer();
        pthread_barrier_wait(&bar);
        run_slice(0, b_burst);
        pthread_barrier_wait(&bar);
        b_burst++;
        pc = b_hi;
    }
    b_done = 1;
    pthread_barrier_wait(&bar);
    bursts_on = 0;
}

/* The threads the ops use, thread 0 always, as a bit mask; 1 alone: no bursts. */
static unsigned threads_used(void)
{
    unsigned mask = 1;
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
        if (OPS[i].kind == K_THREAD)
            mask |= 1u << (OPS[i].slot % THREADS);
    return mask;
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
    say_num(op_index);
    say(" (");
    say(op_text(op_index));
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

/* A race shows in some runs only: each of ATTEMPTS runs in a child of its own, and the first
 * that fails (it says how) ends the reproducer with its status. */
static void attempts(void)
{
    for (unsigned k = 1; k < ATTEMPTS; k++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            return;
        if (pid == 0)
            return;   /* the child runs the ops below */
        int st;
        if (waitpid(pid, &st, 0) < 0)
            continue;
        if (WIFSIGNALED(st)) {
            signal(WTERMSIG(st), SIG_DFL);
            raise(WTERMSIG(st));
        }
        if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
            exit(WEXITSTATUS(st));
    }
}

/* Runs every op (in bursts with CONCURRENT), then frees what is left live and probes reuse,
 * as exec_run does. */
static void run_all(void)
{
    unsigned used = threads_used();
    size_t n = sizeof OPS / sizeof OPS[0];
    if (CONCURRENT && used != 1) {
        run_bursts(used);
    } else {
        int t = 0;
        for (size_t i = 0; i < n; i++) {
            if (OPS[i].kind == K_THREAD)
                t = (int)(OPS[i].slot % THREADS);
            else
                run_on(t, i);
        }
    }
    op_index = n;
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
    op_index = sizeof OPS / sizeof OPS[0];
    printf("FAIL leak at op %zu (end of run): run %d more times, the ops (which free "
           "everything) grew the footprint in each of the last %d: resident", op_index,
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
    S.report_fd = -1;
    S.full_max = FULL_CHECK_MAX;
    limit_address_space();
    sem_init(&done, 0, 0);
    main_pid = getpid();
    attempts();
    watch();
    run_all();
    if (LEAK_CHECK)
        check_leak();
    finished = 1;
    if (getpid() != main_pid)
        _exit(0);   /* one clean attempt of several: the parent goes on */
    printf("no failure: the ops ran clean (the bug looks fixed)\n");
    return 0;
}
