/* The C reproducer writer (see repro.h). The program is a fixed runtime (the two tables
 * below: includes and types, then the allocator loader, the checks and main) around the
 * generated part: how to load the allocator, the options, and the ops as a table whose
 * entries carry their trace text, so a failure names the op as the trace does. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "src/repro.h"
#include "src/trace.h"

static const char *const rt_head[] = {
    "#define _GNU_SOURCE",
    "#include <dlfcn.h>",
    "#include <errno.h>",
    "#include <pthread.h>",
    "#include <semaphore.h>",
    "#include <signal.h>",
    "#include <stdarg.h>",
    "#include <stdint.h>",
    "#include <stdio.h>",
    "#include <stdlib.h>",
    "#include <string.h>",
    "#include <unistd.h>",
    "",
    "enum { K_MALLOC, K_CALLOC, K_REALLOC, K_REALLOCARRAY, K_ALIGNED_ALLOC, K_POSIX_MEMALIGN,",
    "       K_MEMALIGN, K_VALLOC, K_PVALLOC, K_FREE, K_FREE_SIZED, K_FREE_ALIGNED_SIZED, K_USABLE,",
    "       K_CHECK, K_THREAD };",
    "enum { F_MALLOC, F_CALLOC, F_REALLOC, F_REALLOCARRAY, F_FREE, F_ALIGNED_ALLOC,",
    "       F_POSIX_MEMALIGN, F_MEMALIGN, F_VALLOC, F_PVALLOC, F_MALLOC_USABLE_SIZE, F_FREE_SIZED,",
    "       F_FREE_ALIGNED_SIZED, F_MALLOC_SIZE, F_COUNT };",
    "struct op { int kind; unsigned slot; unsigned long long nmemb, size, align; const char *text; };",
    "",
};

static const char *const rt_body[] = {
    "",
    "/* The allocator: the same layout as allocheck's plugin descriptor (include/allocheck/plugin.h). */",
    "struct plugin {",
    "    uint32_t abi_version, struct_size;",
    "    const char *name;",
    "    void *ctx;",
    "    int (*init)(void **ctx);",
    "    void (*fini)(void *ctx);",
    "    void *(*malloc)(void *, size_t);",
    "    void *(*calloc)(void *, size_t, size_t);",
    "    void *(*realloc)(void *, void *, size_t);",
    "    void *(*reallocarray)(void *, void *, size_t, size_t);",
    "    void (*free)(void *, void *);",
    "    void *(*aligned_alloc)(void *, size_t, size_t);",
    "    int (*posix_memalign)(void *, void **, size_t, size_t);",
    "    void *(*memalign)(void *, size_t, size_t);",
    "    void *(*valloc)(void *, size_t);",
    "    void *(*pvalloc)(void *, size_t);",
    "    size_t (*malloc_usable_size)(void *, void *);",
    "    void (*free_sized)(void *, void *, size_t);",
    "    void (*free_aligned_sized)(void *, void *, size_t, size_t);",
    "};",
    "static struct plugin *P;",
    "static void *fn[F_COUNT];",
    "",
    "static int has(int f)",
    "{",
    "    if (!P)",
    "        return fn[f] != NULL;",
    "    void *const tab[F_COUNT] = {",
    "        (void *)P->malloc, (void *)P->calloc, (void *)P->realloc, (void *)P->reallocarray,",
    "        (void *)P->free, (void *)P->aligned_alloc, (void *)P->posix_memalign,",
    "        (void *)P->memalign, (void *)P->valloc, (void *)P->pvalloc,",
    "        (void *)P->malloc_usable_size, (void *)P->free_sized, (void *)P->free_aligned_sized, 0 };",
    "    return tab[f] != NULL;",
    "}",
    "",
    "#define RAW(f, type) ((type)fn[f])",
    "static void *x_malloc(size_t n) { return P ? P->malloc(P->ctx, n) : RAW(F_MALLOC, void *(*)(size_t))(n); }",
    "static void *x_calloc(size_t m, size_t n) { return P ? P->calloc(P->ctx, m, n) : RAW(F_CALLOC, void *(*)(size_t, size_t))(m, n); }",
    "static void *x_realloc(void *p, size_t n) { return P ? P->realloc(P->ctx, p, n) : RAW(F_REALLOC, void *(*)(void *, size_t))(p, n); }",
    "static void *x_reallocarray(void *p, size_t m, size_t n) { return P ? P->reallocarray(P->ctx, p, m, n) : RAW(F_REALLOCARRAY, void *(*)(void *, size_t, size_t))(p, m, n); }",
    "static void x_free(void *p) { if (P) P->free(P->ctx, p); else RAW(F_FREE, void (*)(void *))(p); }",
    "static void *x_aligned_alloc(size_t a, size_t n) { return P ? P->aligned_alloc(P->ctx, a, n) : RAW(F_ALIGNED_ALLOC, void *(*)(size_t, size_t))(a, n); }",
    "static int x_posix_memalign(void **m, size_t a, size_t n) { return P ? P->posix_memalign(P->ctx, m, a, n) : RAW(F_POSIX_MEMALIGN, int (*)(void **, size_t, size_t))(m, a, n); }",
    "static void *x_memalign(size_t a, size_t n) { return P ? P->memalign(P->ctx, a, n) : RAW(F_MEMALIGN, void *(*)(size_t, size_t))(a, n); }",
    "static void *x_valloc(size_t n) { return P ? P->valloc(P->ctx, n) : RAW(F_VALLOC, void *(*)(size_t))(n); }",
    "static void *x_pvalloc(size_t n) { return P ? P->pvalloc(P->ctx, n) : RAW(F_PVALLOC, void *(*)(size_t))(n); }",
    "static void x_free_sized(void *p, size_t n) { if (P) P->free_sized(P->ctx, p, n); else RAW(F_FREE_SIZED, void (*)(void *, size_t))(p, n); }",
    "static void x_free_aligned_sized(void *p, size_t a, size_t n) { if (P) P->free_aligned_sized(P->ctx, p, a, n); else RAW(F_FREE_ALIGNED_SIZED, void (*)(void *, size_t, size_t))(p, a, n); }",
    "static size_t x_usable(void *p)",
    "{",
    "    if (P)",
    "        return P->malloc_usable_size(P->ctx, p);",
    "    return RAW(fn[F_MALLOC_USABLE_SIZE] ? F_MALLOC_USABLE_SIZE : F_MALLOC_SIZE, size_t (*)(void *))(p);",
    "}",
    "",
    "/* Re-executes once with glibc's static TLS reserve raised: jemalloc and scudo need it to be",
    " * dlopen'ed. */",
    "static void reexec_for_tls(char **argv)",
    "{",
    "    const char *t = getenv(\"GLIBC_TUNABLES\");",
    "    if (t && strstr(t, \"glibc.rtld.optional_static_tls\"))",
    "        return;",
    "    static char buf[4096];",
    "    snprintf(buf, sizeof buf, \"%s%sglibc.rtld.optional_static_tls=16384\", t ? t : \"\", t ? \":\" : \"\");",
    "    setenv(\"GLIBC_TUNABLES\", buf, 1);",
    "    execv(\"/proc/self/exe\", argv);",
    "}",
    "",
    "static void load(char **argv)",
    "{",
    "    if (MODE == 3 && !getenv(\"ALLOCHECK_REPRO_PRELOADED\")) {",
    "        setenv(\"ALLOCHECK_REPRO_PRELOADED\", \"1\", 1);",
    "        setenv(\"LD_PRELOAD\", LIB, 1);",
    "        execv(\"/proc/self/exe\", argv);",
    "        perror(\"re-executing with LD_PRELOAD\");",
    "        exit(2);",
    "    }",
    "    if (MODE == 1 || MODE == 2)",
    "        reexec_for_tls(argv);",
    "    void *h = MODE == 1 || MODE == 2 ? dlopen(LIB, RTLD_NOW | RTLD_LOCAL) : RTLD_DEFAULT;",
    "    if ((MODE == 1 || MODE == 2) && !h) {",
    "        fprintf(stderr, \"cannot load the allocator: %s\\n\", dlerror());",
    "        exit(2);",
    "    }",
    "    if (MODE == 2) {",
    "        P = dlsym(h, \"allocheck_plugin\");",
    "        if (!P || (P->init && P->init(&P->ctx) != 0)) {",
    "            fprintf(stderr, \"%s: no usable allocheck_plugin descriptor\\n\", LIB);",
    "            exit(2);",
    "        }",
    "        return;",
    "    }",
    "    for (int f = 0; f < F_COUNT; f++)",
    "        fn[f] = SYM[f] ? dlsym(h, SYM[f]) : NULL;",
    "}",
    "",
    "/* ---- the checks ---- */",
    "",
    "struct block { unsigned char *p; size_t size, req, align; int kind, live; unsigned gen; };",
    "static struct block slot[1024];",
    "static size_t live_bytes, op_index;",
    "static unsigned gen_counter;",
    "static size_t seen[8];",
    "static unsigned nseen;",
    "",
    "static void fail(const char *oracle, const char *fmt, ...) __attribute__((format(printf, 2, 3)));",
    "static void fail(const char *oracle, const char *fmt, ...)",
    "{",
    "    char msg[512];",
    "    va_list ap;",
    "    va_start(ap, fmt);",
    "    vsnprintf(msg, sizeof msg, fmt, ap);",
    "    va_end(ap);",
    "    printf(\"FAIL %s at op %zu (%s): %s\\nthe bug is still there\\n\", oracle, op_index,",
    "           op_index < sizeof OPS / sizeof OPS[0] ? OPS[op_index].text : \"end of run\", msg);",
    "    fflush(stdout);",
    "    _exit(1);",
    "}",
    "",
    "static unsigned char pat(unsigned gen, size_t off)",
    "{",
    "    return (unsigned char)(0xa5u ^ (gen * 37u) ^ (unsigned)(off * 131u) ^ (unsigned)(off >> 9));",
    "}",
    "",
    "static void fill(struct block *b, size_t from)",
    "{",
    "    for (size_t o = from; o < b->size; o++)",
    "        b->p[o] = pat(b->gen, o);",
    "}",
    "",
    "static void verify(unsigned s, const struct block *b, size_t upto, const char *oracle)",
    "{",
    "    for (size_t o = 0; o < upto; o++)",
    "        if (b->p[o] != pat(b->gen, o))",
    "            fail(oracle, \"slot %u: byte %zu of %zu is 0x%02x, expected 0x%02x\", s, o, b->size,",
    "                 b->p[o], pat(b->gen, o));",
    "}",
    "",
    "static int is_pow2(size_t a) { return a && !(a & (a - 1)); }",
    "",
    "/* allocheck's rules (src/exec.c make_req): requests only NULL answers correctly. */",
    "static int must_fail(const struct op *op)",
    "{",
    "    unsigned long long total = op->size;",
    "    int aligned = op->kind == K_ALIGNED_ALLOC || op->kind == K_POSIX_MEMALIGN ||",
    "                  op->kind == K_MEMALIGN;",
    "    if ((op->kind == K_CALLOC || op->kind == K_REALLOCARRAY) &&",
    "        __builtin_mul_overflow(op->nmemb, op->size, &total))",
    "        return 1;",
    "    if (op->kind == K_PVALLOC && total > (unsigned long long)PTRDIFF_MAX - 4096)",
    "        return 1;",
    "    if (aligned && op->align >= (1ull << 56))",
    "        return 1;   /* no address is a multiple of it */",
    "    if (op->kind == K_ALIGNED_ALLOC && !is_pow2(op->align))",
    "        return 1;   /* C17 7.22.3.1p2 (DR 460) */",
    "    if (op->kind == K_POSIX_MEMALIGN && (!is_pow2(op->align) || op->align % sizeof(void *)))",
    "        return 1;   /* POSIX: EINVAL */",
    "    return total > (unsigned long long)PTRDIFF_MAX;",
    "}",
    "",
    "/* Requests NULL answers correctly too (besides must_fail): size 0, memalign with an",
    "   alignment no standard gives meaning to, realloc(p, 0). */",
    "static int may_fail(const struct op *op, size_t total)",
    "{",
    "    return total == 0 || (op->kind == K_MEMALIGN && !is_pow2(op->align));",
    "}",
    "",
    "/* Failures that owe an errno (POSIX.1-2024); memalign, valloc and pvalloc are in no",
    "   standard, posix_memalign returns its error. */",
    "static int owes_errno(const struct op *op)",
    "{",
    "    return op->kind != K_POSIX_MEMALIGN && op->kind != K_MEMALIGN &&",
    "           op->kind != K_VALLOC && op->kind != K_PVALLOC;",
    "}",
    "",
    "static size_t total_of(const struct op *op)",
    "{",
    "    return op->kind == K_CALLOC || op->kind == K_REALLOCARRAY ? op->nmemb * op->size : op->size;",
    "}",
    "",
    "static size_t want_align(const struct op *op, size_t size)",
    "{",
    "    switch (op->kind) {",
    "    case K_ALIGNED_ALLOC: case K_POSIX_MEMALIGN: case K_MEMALIGN:",
    "        if (is_pow2(op->align))",
    "            return op->align;",
    "        break;   /* memalign: what malloc owes (a non-power-of-two aligned_alloc fails) */",
    "    case K_VALLOC: case K_PVALLOC:",
    "        return 4096;",
    "    default:",
    "        break;",
    "    }",
    "    if (SIZE_DEPENDENT_ALIGN) {",
    "        size_t a = 1;",
    "        while (a * 2 <= size && a * 2 <= MALLOC_ALIGN)",
    "            a *= 2;",
    "        return a;",
    "    }",
    "    return MALLOC_ALIGN;",
    "}",
    "",
    "static void check_new(unsigned s, const struct op *op, unsigned char *p, size_t size)",
    "{",
    "    size_t a = want_align(op, size);",
    "    if ((uintptr_t)p % a)",
    "        fail(\"alignment\", \"%p is not aligned to %zu\", (void *)p, a);",
    "    uintptr_t lo = (uintptr_t)p, hi = lo + (size ? size : 1);",
    "    for (unsigned i = 0; i < 1024; i++) {",
    "        const struct block *b = &slot[i];",
    "        if (i == s || !b->live)",
    "            continue;",
    "        uintptr_t blo = (uintptr_t)b->p, bhi = blo + (b->size ? b->size : 1);",
    "        if (lo < bhi && blo < hi)",
    "            fail(\"overlap\", \"[%p, +%zu) overlaps slot %u [%p, +%zu)\", (void *)p, size, i,",
    "                 (void *)b->p, b->size);",
    "    }",
    "}",
    "",
    "static void release(unsigned s, int kind)",
    "{",
    "    struct block *b = &slot[s];",
    "    if (!b->live)",
    "        return;",
    "    verify(s, b, b->size, \"contents\");",
    "    errno = 4242;",
    "    if (kind == K_FREE_ALIGNED_SIZED && b->kind == K_ALIGNED_ALLOC && has(F_FREE_ALIGNED_SIZED))",
    "        x_free_aligned_sized(b->p, b->align, b->req);",
    "    else if (kind != K_FREE && has(F_FREE_SIZED))",
    "        x_free_sized(b->p, b->req);",
    "    else",
    "        x_free(b->p);",
    "    if (CHECK_ERRNO && errno != 4242)",
    "        fail(\"errno\", \"free changed errno to %d\", errno);",
    "    live_bytes -= b->size;",
    "    b->live = 0;",
    "}",
    "",
    "static void remember(size_t size)",
    "{",
    "    for (unsigned i = 0; i < nseen; i++)",
    "        if (seen[i] == size)",
    "            return;",
    "    if (nseen < 8 && size <= (1u << 20))",
    "        seen[nseen++] = size;",
    "}",
    "",
    "/* Calls the allocating function of op; *err gets posix_memalign's result. */",
    "static void *call_alloc(const struct op *op, void *old, int *err)",
    "{",
    "    void *p = NULL;",
    "    *err = 0;",
    "    switch (op->kind) {",
    "    case K_MALLOC: return x_malloc(op->size);",
    "    case K_CALLOC: return x_calloc(op->nmemb, op->size);",
    "    case K_REALLOC: return x_realloc(old, op->size);",
    "    case K_REALLOCARRAY: return x_reallocarray(old, op->nmemb, op->size);",
    "    case K_ALIGNED_ALLOC: return x_aligned_alloc(op->align, op->size);",
    "    case K_MEMALIGN: return x_memalign(op->align, op->size);",
    "    case K_VALLOC: return x_valloc(op->size);",
    "    case K_PVALLOC: return x_pvalloc(op->size);",
    "    default:",
    "        p = (void *)0x5eed;   /* POSIX: *memptr is not modified on failure */",
    "        *err = x_posix_memalign(&p, op->align, op->size);",
    "        if (*err && p != (void *)0x5eed)",
    "            fail(\"failure-path\", \"posix_memalign failed with %d but changed *memptr\", *err);",
    "        if (!*err && (p == (void *)0x5eed || (!p && op->size)))",
    "            fail(\"failure-path\", \"posix_memalign returned 0 but *memptr is %s\",",
    "                 p ? \"untouched\" : \"NULL\");",
    "        return *err ? NULL : p;",
    "    }",
    "}",
    "",
    "static const int fn_of[] = { F_MALLOC, F_CALLOC, F_REALLOC, F_REALLOCARRAY, F_ALIGNED_ALLOC,",
    "    F_POSIX_MEMALIGN, F_MEMALIGN, F_VALLOC, F_PVALLOC, F_FREE, F_FREE_SIZED,",
    "    F_FREE_ALIGNED_SIZED, F_MALLOC_USABLE_SIZE };",
    "",
    "static void do_alloc(unsigned s, const struct op *op)",
    "{",
    "    struct block *b = &slot[s];",
    "    int resize = op->kind == K_REALLOC || op->kind == K_REALLOCARRAY;",
    "    size_t total = total_of(op);",
    "    int mf = must_fail(op);",
    "    if (!mf && live_bytes - (resize && b->live ? b->size : 0) + total > MAX_LIVE)",
    "        return;   /* beyond the live-bytes budget: allocheck skips it too */",
    "    if (!resize)",
    "        release(s, K_FREE);",
    "    errno = 0;",
    "    int err;",
    "    unsigned char *p = call_alloc(op, resize && b->live ? b->p : NULL, &err);",
    "    if (mf && p)",
    "        fail(\"failure-path\", \"a request of %llu x %llu bytes must fail but returned %p\",",
    "             op->nmemb ? op->nmemb : 1, op->size, (void *)p);",
    "    if (!p) {",
    "        if (!mf && !may_fail(op, total))",
    "            fail((err ? err : errno) == EINVAL ? \"failure-path\" : \"spurious-oom\",",
    "                 \"returned NULL for %zu bytes within the live budget\", total);",
    "        if (CHECK_ERRNO && owes_errno(op) && errno == 0 && !(resize && total == 0))",
    "            fail(\"errno\", \"returned NULL without setting errno\");",
    "        if (resize && b->live && total == 0) {",
    "            live_bytes -= b->size;   /* realloc(p, 0) may free p and return NULL */",
    "            b->live = 0;",
    "        } else if (resize && b->live) {",
    "            verify(s, b, b->size, \"failure-path\");   /* C17 7.22.3.5p3: old block intact */",
    "        }",
    "        return;",
    "    }",
    "    size_t keep = 0;",
    "    if (resize && b->live) {",
    "        keep = b->size < total ? b->size : total;",
    "        struct block nb = *b;",
    "        nb.p = p;",
    "        verify(s, &nb, keep, \"realloc-contents\");",
    "        live_bytes -= b->size;",
    "        b->live = 0;",
    "    } else {",
    "        b->gen = ++gen_counter;",
    "    }",
    "    check_new(s, op, p, total);",
    "    if (op->kind == K_CALLOC)",
    "        for (size_t o = 0; o < total; o++)",
    "            if (p[o])",
    "                fail(\"calloc-zero\", \"byte %zu of %zu is 0x%02x\", o, total, p[o]);",
    "    b->p = p;",
    "    b->size = b->req = total;",
    "    b->align = op->align;",
    "    b->kind = op->kind;",
    "    b->live = 1;",
    "    live_bytes += total;",
    "    fill(b, keep);",
    "    remember(total);",
    "}",
    "",
    "static void run_op(size_t i)",
    "{",
    "    const struct op *op = &OPS[i];",
    "    op_index = i;",
    "    struct block *b = &slot[op->slot];",
    "    if (op->kind < K_CHECK && !has(fn_of[op->kind]) &&",
    "        !(op->kind == K_USABLE && has(F_MALLOC_SIZE)))",
    "        return;",
    "    if (op->kind <= K_PVALLOC) {",
    "        do_alloc(op->slot, op);",
    "    } else if (op->kind <= K_FREE_ALIGNED_SIZED) {",
    "        release(op->slot, op->kind);",
    "    } else if (op->kind == K_USABLE && b->live) {",
    "        size_t n = x_usable(b->p);",
    "        if (n < b->size)",
    "            fail(\"usable-size\", \"usable size %zu < requested %zu\", n, b->size);",
    "        if (n - b->size > b->size + ((size_t)64 << 20))   /* src/exec.c USABLE_SLACK */",
    "            fail(\"usable-size\", \"usable size %zu of a %zu-byte block: more than any rounding\",",
    "                 n, b->size);",
    "        verify(op->slot, b, b->size, \"contents\");",
    "        live_bytes += n - b->size;",
    "        size_t from = b->size;",
    "        b->size = n;",
    "        fill(b, from);",
    "        check_new(op->slot, op, b->p, n);",
    "    } else if (op->kind == K_CHECK) {",
    "        for (unsigned s = 0; s < 1024; s++)",
    "            if (slot[s].live)",
    "                verify(s, &slot[s], slot[s].size, \"contents\");",
    "    }",
    "}",
    "",
    "/* ---- threads: `thread T` hands the following ops to worker T, one thread at a time ---- */",
    "",
    "static sem_t go[8], done;",
    "static size_t job[8];",
    "static pthread_t worker[8];",
    "static int started[8];",
    "",
    "static void *worker_main(void *arg)",
    "{",
    "    unsigned t = (unsigned)(uintptr_t)arg;",
    "    for (;;) {",
    "        sem_wait(&go[t]);",
    "        run_op(job[t]);",
    "        sem_post(&done);",
    "    }",
    "    return NULL;",
    "}",
    "",
    "static void run_on(unsigned t, size_t i)",
    "{",
    "    if (t == 0) {",
    "        run_op(i);",
    "        return;",
    "    }",
    "    if (!started[t]) {",
    "        sem_init(&go[t], 0, 0);",
    "        pthread_create(&worker[t], NULL, worker_main, (void *)(uintptr_t)t);",
    "        started[t] = 1;",
    "    }",
    "    job[t] = i;",
    "    sem_post(&go[t]);",
    "    sem_wait(&done);",
    "}",
    "",
    "static void on_alarm(int sig)",
    "{",
    "    (void)sig;",
    "    static const char msg[] = \"FAIL timeout: no progress in 20 s\\nthe bug is still there\\n\";",
    "    write(1, msg, sizeof msg - 1);",
    "    _exit(1);",
    "}",
    "",
    "int main(int argc, char **argv)",
    "{",
    "    (void)argc;",
    "    load(argv);",
    "    sem_init(&done, 0, 0);",
    "    signal(SIGALRM, on_alarm);",
    "    alarm(20);",
    "    unsigned t = 0;",
    "    size_t n = sizeof OPS / sizeof OPS[0];",
    "    for (size_t i = 0; i < n; i++) {",
    "        if (OPS[i].kind == K_THREAD)",
    "            t = OPS[i].slot;",
    "        else",
    "            run_on(t, i);",
    "    }",
    "    op_index = n;",
    "    for (unsigned s = 0; s < 1024; s++)",
    "        release(s, K_FREE);",
    "    /* After everything is freed, the allocator can hand memory out again. */",
    "    for (unsigned i = 0; i < nseen; i++) {",
    "        void *p = x_malloc(seen[i]);",
    "        if (!p)",
    "            fail(\"reuse\", \"malloc(%zu) failed after every block was freed\", seen[i]);",
    "        x_free(p);",
    "    }",
    "    printf(\"no failure: the ops ran clean (the bug looks fixed)\\n\");",
    "    return 0;",
    "}",
    "",
};

static int put_lines(FILE *out, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fputs(lines[i], out) < 0 || fputc('\n', out) < 0)
            return -EIO;
    return 0;
}

/* Writes s as a C string literal. */
static void put_cstr(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        if ((unsigned char)*s < 0x20)
            fprintf(out, "\\%03o", (unsigned char)*s);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

/* Strips a comment's terminator so a message cannot end the stamp comment early. */
static void put_comment_text(FILE *out, const char *s)
{
    for (; *s; s++)
        fputc(s[0] == '*' && s[1] == '/' ? '+' : (*s == '\n' ? ' ' : *s), out);
}

static void put_stamp(FILE *out, const alloc_t *a, const trace_t *t, const repro_info_t *info)
{
    struct utsname u;
    char date[64] = "?";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &tm);
    if (uname(&u) != 0)
        memset(&u, 0, sizeof u);
    fputs("/* allocheck reproducer: ", out);
    if (info->f) {
        put_comment_text(out, info->f->oracle);
        fputs(" at op ", out);
        fprintf(out, "%zu: ", info->f->op_index);
        put_comment_text(out, info->f->message);
    } else {
        fputs("runs a trace with every check", out);
    }
    fputs("\n * allocator: ", out);
    put_comment_text(out, info->label);
    if (a->path[0]) {
        fputs(" (", out);
        put_comment_text(out, a->path);
        fputs(")", out);
    }
    fprintf(out, "\n * platform: %s %s %s %s\n * date: %s\n * allocheck: %s\n", u.sysname,
            u.release, u.version, u.machine, date, info->version);
    fprintf(out, " * ops: %zu\n * build and run: cc repro.c -ldl -o repro && ./repro\n"
                 " * exits 1 while the bug is there, 0 once it is fixed. */\n", t->len);
}

/* MODE: 0 the C library, 1 a .so by symbol names, 2 a descriptor plugin, 3 LD_PRELOAD. */
static int put_loader(FILE *out, const alloc_t *a, const repro_info_t *info)
{
    int mode = 1;
    const char *lib = a->path;
    if (strncmp(info->label, "preload:", 8) == 0) {
        mode = 3;
        lib = info->label + 8;
    } else if (a->kind == ALLOC_SYSTEM) {
        mode = 0;
        lib = "";
    } else if (a->kind == ALLOC_DESCRIPTOR) {
        mode = 2;
    } else if (a->kind == ALLOC_REFERENCE) {
        if (!info->ref_so)
            return -ENOENT;
        lib = info->ref_so;
    }
    fprintf(out, "static const int MODE = %d;\nstatic const char LIB[] = ", mode);
    put_cstr(out, lib);
    fputs(";\nstatic const char *const SYM[F_COUNT] = {\n", out);
    for (int f = 0; f < AF_COUNT; f++) {
        const char *sym = a->symbol[f];
        if (alloc_has(a, (alloc_fn_t)f) && (a->kind == ALLOC_REFERENCE || mode == 3 || !sym))
            sym = alloc_fn_names[f];
        fputs("    ", out);
        if (sym && alloc_has(a, (alloc_fn_t)f))
            put_cstr(out, sym);
        else
            fputs("0", out);
        fputs(",\n", out);
    }
    fputs("};\n", out);
    return 0;
}

static const char *const kind_names[OP_COUNT] = {
    "K_MALLOC", "K_CALLOC", "K_REALLOC", "K_REALLOCARRAY", "K_ALIGNED_ALLOC",
    "K_POSIX_MEMALIGN", "K_MEMALIGN", "K_VALLOC", "K_PVALLOC", "K_FREE", "K_FREE_SIZED",
    "K_FREE_ALIGNED_SIZED", "K_USABLE", "K_CHECK", "K_THREAD",
};

static void put_ops(FILE *out, const trace_t *t)
{
    fputs("static const struct op OPS[] = {\n", out);
    for (size_t i = 0; i < t->len; i++) {
        const op_t *op = &t->ops[i];
        char text[192];
        op_format(op, text, sizeof text);
        fprintf(out, "    { %s, %u, %lluu, %lluu, %lluu, ", kind_names[op->kind], op->slot,
                (unsigned long long)op->nmemb, (unsigned long long)op->size,
                (unsigned long long)op->align);
        put_cstr(out, text);
        fputs(" },\n", out);
    }
    if (t->len == 0)
        fputs("    { K_CHECK, 0, 0, 0, 0, \"check\" },\n", out);
    fputs("};\n", out);
}

int repro_write(FILE *out, const alloc_t *a, const exec_opts_t *eo, const trace_t *t,
                const repro_info_t *info)
{
    put_stamp(out, a, t, info);
    int r = put_lines(out, rt_head, sizeof rt_head / sizeof rt_head[0]);
    if (r)
        return r;
    fputs("/* ---- generated by allocheck: the allocator, the options, the ops ---- */\n", out);
    if ((r = put_loader(out, a, info)) != 0)
        return r;
    fprintf(out, "static const size_t MALLOC_ALIGN = %zu, MAX_LIVE = %zu;\n",
            eo->malloc_align, eo->max_live);
    fprintf(out, "static const int CHECK_ERRNO = %d, SIZE_DEPENDENT_ALIGN = %d;\n",
            eo->check_errno, eo->size_dependent_align);
    put_ops(out, t);
    r = put_lines(out, rt_body, sizeof rt_body / sizeof rt_body[0]);
    return r ? r : (ferror(out) ? -EIO : 0);
}

const char *repro_find_ref_so(char *buf, size_t len)
{
    static const char *const rel[] = {
        "refalloc/liballocheck-ref.so",            /* build tree: src/allocheck */
        "../lib/x86_64-linux-gnu/liballocheck-ref.so",
        "../lib64/liballocheck-ref.so",
        "../lib/liballocheck-ref.so",
    };
    const char *env = getenv("ALLOCHECK_REF_SO");
    if (env && access(env, R_OK) == 0)
        return snprintf(buf, len, "%s", env) < (int)len ? buf : NULL;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char cand[PATH_MAX + 64];
        snprintf(cand, sizeof cand, "%s/%s", exe, rel[i]);
        if (access(cand, R_OK) == 0 && realpath(cand, exe))
            return snprintf(buf, len, "%s", exe) < (int)len ? buf : NULL;
    }
    return NULL;
}
