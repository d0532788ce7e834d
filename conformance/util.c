/* Shared helpers of the conformance checks (see util.h). Nothing here allocates from the
 * allocator under test except ck_alloc itself, nor from libc's heap. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conformance/util.h"

const alloc_fn_t ck_alloc_fns[] = {
    AF_MALLOC, AF_CALLOC, AF_REALLOC, AF_REALLOCARRAY, AF_ALIGNED_ALLOC,
    AF_POSIX_MEMALIGN, AF_MEMALIGN, AF_VALLOC, AF_PVALLOC,
};
const size_t ck_alloc_fn_count = sizeof ck_alloc_fns / sizeof ck_alloc_fns[0];

const size_t ck_sizes[] = {
    1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 96, 100, 127, 128, 129,
    255, 256, 257, 500, 512, 1000, 1024, 1500, 2048, 3000, 4095, 4096, 4097, 8191, 8192, 10000,
    16384, 32768, 65536, 100000, 131071, 131072, 131073, 262144, 500000, 1048576, 4194304,
    16777216 + 1,
};
const size_t ck_size_count = sizeof ck_sizes / sizeof ck_sizes[0];

const char *ck_name(alloc_fn_t f)
{
    return f < AF_COUNT ? alloc_fn_names[f] : "?";
}

bool ck_takes_align(alloc_fn_t f)
{
    return f == AF_ALIGNED_ALLOC || f == AF_POSIX_MEMALIGN || f == AF_MEMALIGN;
}

static void *call_aligned(const alloc_t *a, alloc_fn_t f, size_t align, size_t size, int *err)
{
    void *p = NULL;
    int rc;

    if (f == AF_ALIGNED_ALLOC)
        return a->aligned_alloc(a->ctx, align, size);
    if (f == AF_MEMALIGN)
        return a->memalign(a->ctx, align, size);
    rc = a->posix_memalign(a->ctx, &p, align, size);
    *err = rc;
    return rc == 0 ? p : NULL;
}

void *ck_alloc(const alloc_t *a, alloc_fn_t f, size_t align, size_t size, int *err)
{
    void *p = NULL;

    *err = 0;
    errno = 0;
    switch (f) {
    case AF_MALLOC: p = a->malloc(a->ctx, size); break;
    case AF_CALLOC: p = a->calloc(a->ctx, 1, size); break;
    case AF_REALLOC: p = a->realloc(a->ctx, NULL, size); break;
    case AF_REALLOCARRAY: p = a->reallocarray(a->ctx, NULL, 1, size); break;
    case AF_VALLOC: p = a->valloc(a->ctx, size); break;
    case AF_PVALLOC: p = a->pvalloc(a->ctx, size); break;
    default:
        p = call_aligned(a, f, align ? align : CK_MAX_ALIGN, size, err);
        if (f == AF_POSIX_MEMALIGN)
            return p;
        break;
    }
    if (p == NULL)
        *err = errno;
    return p;
}

size_t expected_align(const check_ctx_t *c, size_t size)
{
    size_t al = CK_MAX_ALIGN;

    if (c->a->min_alignment)
        return c->a->min_alignment;
    if (c->profile == PROFILE_C23 && size < CK_MAX_ALIGN) {
        /* C23 7.24.3p1: aligned for any type whose size is <= size. */
        al = 1;
        while (al * 2 <= size)
            al *= 2;
    }
    return al;
}

size_t ck_sweep_size(alloc_fn_t f, size_t align, size_t size)
{
    size_t al = align ? align : CK_MAX_ALIGN;

    if (f != AF_ALIGNED_ALLOC || size % al == 0)
        return size;
    return size + (al - size % al);
}

size_t ck_owed_align(const check_ctx_t *c, alloc_fn_t f, size_t align, size_t size)
{
    /* C17 7.22.3p1 covers aligned_alloc too: a small requested alignment (1, 2, 4, 8) still
     * owes the fundamental one (C23: for what fits in size). posix_memalign and memalign
     * promise only the alignment asked for. */
    if (f == AF_ALIGNED_ALLOC && align && align < expected_align(c, size))
        return expected_align(c, size);
    if (ck_takes_align(f))
        return align ? align : CK_MAX_ALIGN;
    if (f == AF_VALLOC || f == AF_PVALLOC)
        return ck_page_size();
    return expected_align(c, size);
}

size_t ck_page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* Byte i of a pattern is byte i%8 of a hash of (i/8, seed): cheap to fill word-wise. */
static inline uint64_t pattern_word(size_t w, uint32_t seed)
{
    uint64_t x = (w + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)seed * 0xC2B2AE3D27D4EB4Full;

    return x ^ (x >> 29);
}

void ck_fill(void *p, size_t n, uint32_t seed)
{
    unsigned char *b = p;
    size_t w = 0;

    for (; (w + 1) * 8 <= n; w++) {
        uint64_t v = pattern_word(w, seed);
        memcpy(b + w * 8, &v, 8);
    }
    for (size_t i = w * 8; i < n; i++)
        b[i] = (unsigned char)(pattern_word(w, seed) >> (8 * (i % 8)));
}

ptrdiff_t ck_verify(const void *p, size_t n, uint32_t seed)
{
    const unsigned char *b = p;
    size_t w = 0;

    for (; (w + 1) * 8 <= n; w++) {
        uint64_t v = pattern_word(w, seed), got;

        memcpy(&got, b + w * 8, 8);
        if (got != v)
            break;
    }
    for (size_t i = w * 8; i < n; i++)
        if (b[i] != (unsigned char)(pattern_word(i / 8, seed) >> (8 * (i % 8))))
            return (ptrdiff_t)i;
    return -1;
}

ptrdiff_t ck_find_not(const void *p, size_t n, unsigned char v)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        if (b[i] != v)
            return (ptrdiff_t)i;
    return -1;
}

void *ck_map(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}

void ck_unmap(void *p, size_t n)
{
    if (p)
        munmap(p, n);
}

/* Reads a small /proc file into buf (NUL-terminated) without stdio, which may allocate from
 * the allocator under test. Returns false if it cannot. */
static bool read_proc(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return true;
}

size_t ck_vm_size(void)
{
    char buf[4096];
    unsigned long kb = 0;
    const char *s = NULL;
    if (read_proc("/proc/self/status", buf, sizeof buf))
        s = strstr(buf, "VmSize:");
    if (s == NULL || sscanf(s + 7, "%lu", &kb) != 1)
        return 0;
    return (size_t)kb * 1024;
}

size_t ck_rss_size(void)
{
    char buf[128];
    unsigned long size, pages;
    if (!read_proc("/proc/self/statm", buf, sizeof buf) ||
        sscanf(buf, "%lu %lu", &size, &pages) != 2)
        return 0;
    return (size_t)pages * ck_page_size();
}

/* The scheduler state of pid ('R' running or runnable, 'S' asleep, 'D' in the kernel, ...),
 * or 0 when /proc cannot tell. */
static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    const char *paren;
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    paren = strrchr(buf, ')');  /* the command name may hold spaces and parentheses */
    return paren && paren[1] == ' ' ? paren[2] : 0;
}

/* A child counts as blocked once it has been asleep at every 1 ms poll for this long. */
#define CK_ASLEEP_MS 50

int ck_wait_child(pid_t pid, unsigned ms, unsigned max_ms, int *status)
{
    struct timespec tick = { 0, 1000000 };
    unsigned asleep = 0;

    for (unsigned waited = 0;; waited++) {
        pid_t r = waitpid(pid, status, WNOHANG);

        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -errno;
        if (waited >= ms) {
            char st = proc_state(pid);

            asleep = st == 'S' || st == 0 ? asleep + 1 : 0;
            if (asleep >= (st ? CK_ASLEEP_MS : 1) || waited >= max_ms)
                break;
        }
        nanosleep(&tick, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, status, 0);
    return -ETIMEDOUT;
}

static size_t c23_align(size_t size)
{
    size_t al = 1;

    while (al * 2 <= size && al < CK_MAX_ALIGN)
        al *= 2;
    return al;
}

bool ck_expect_aligned(check_ctx_t *c, alloc_fn_t f, size_t align, size_t size, const void *p)
{
    size_t owed = ck_owed_align(c, f, align, size);
    bool malloc_like = (!ck_takes_align(f) && f != AF_VALLOC && f != AF_PVALLOC) ||
                       (f == AF_ALIGNED_ALLOC && align < owed);

    if (ck_aligned(p, owed))
        return true;
    if (malloc_like && size < CK_MAX_ALIGN && c->a->min_alignment == 0 &&
        ck_aligned(p, c23_align(size))) {
        char call[64];
        if (ck_takes_align(f))
            snprintf(call, sizeof call, "%s(align %zu, size %zu)", ck_name(f), align, size);
        else
            snprintf(call, sizeof call, "%s(%zu)", ck_name(f), size);
        check_diverge(c, "%s = %p is aligned to %zu only: C23 7.24.3p1's size-dependent rule "
                      "allows that, C17 7.22.3p1 owes alignof(max_align_t) = %zu", call, p,
                      (size_t)((uintptr_t)p & -(uintptr_t)p), owed);
        return true;
    }
    if (ck_takes_align(f))
        check_fail(c, "%s(align %zu, size %zu) = %p is not aligned to %zu", ck_name(f), align,
                   size, p, owed);
    else
        check_fail(c, "%s(%zu) = %p is not aligned to %zu", ck_name(f), size, p, owed);
    return false;
}

size_t ck_usable(const alloc_t *a, void *p, size_t size)
{
    size_t u;

    if (a->usable_size == NULL)
        return size;
    u = a->usable_size(a->ctx, p);
    return u > size ? u : size;
}

bool ck_errno_required(const check_ctx_t *c)
{
    return c->profile == PROFILE_POSIX2024 && !(c->a->flags & ALLOCHECK_PLUGIN_NO_ERRNO);
}

void ck_expect_errno(check_ctx_t *c, int got, int want, const char *fmt, ...)
{
    char what[512];
    va_list ap;

    if (got == want)
        return;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (ck_errno_required(c))
        check_fail(c, "%s", what);
    else if (c->a->flags & ALLOCHECK_PLUGIN_NO_ERRNO)
        check_behaviour(c, "%s (declared no-errno)", what);
    else
        check_behaviour(c, "%s (errno is POSIX's, not required by ISO C)", what);
}

bool ck_align_refused(check_ctx_t *c, alloc_fn_t f, size_t al, size_t size, int err)
{
    /* A fixed heap that is full refuses every size: that says nothing about alignments. */
    if (c->capacity_hit) {
        check_fail(c, "%s(align %zu, size %zu) failed", ck_name(f), al, size);
        return true;
    }
    if (!alloc_may_refuse_align(c->a, al)) {
        check_fail(c, "%s(align %zu, size %zu) failed (error %d)%s", ck_name(f), al, size, err,
                   c->a->max_alignment ? ": within the declared max-align" : "");
        return false;
    }
    if (c->a->max_alignment)
        check_behaviour(c, "%s refuses alignments above its declared max-align %zu",
                        ck_name(f), c->a->max_alignment);
    else
        check_diverge(c, "%s(align %zu, size %zu) fails (error %d): an alignment above %zu KiB "
                      "is refused (C17 7.22.3.1p2 allows refusing unsupported alignments; "
                      "declare max-align to say so)", ck_name(f), al, size, err,
                      ALLOC_ALIGN_SERVED >> 10);
    return true;
}

void ck_sort_spans(ck_span_t *s, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        ck_span_t v = s[i];
        size_t j = i;

        for (; j > 0 && s[j - 1].lo > v.lo; j--)
            s[j] = s[j - 1];
        s[j] = v;
    }
}

size_t ck_alloc_small_live(check_ctx_t *c, alloc_fn_t f, size_t align, int copies, void **p)
{
    size_t n = 0;
    int err;

    for (size_t i = 0; i < ck_size_count && ck_sizes[i] <= CK_LIVE_MAX; i++)
        for (int k = 0; k < copies; k++) {
            size_t size = ck_sweep_size(f, align, ck_sizes[i]);
            if ((p[n] = ck_alloc(c->a, f, align, size, &err)) == NULL) {
                check_fail(c, "%s(%zu) failed (errno %d)", ck_name(f), size, err);
                return n;
            }
            n++;
        }
    return n;
}

void ck_free_all(const alloc_t *a, void **p, size_t n)
{
    while (n-- > 0)
        a->free(a->ctx, p[n]);
}
