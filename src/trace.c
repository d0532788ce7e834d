/* Traces (trace.h): the op sequence itself — growth in mmap'ed memory, op names, equality —
 * and loading a file in either form. The text form lives in trace_text.c, the binary form in
 * trace_bin.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "src/trace.h"
#include "src/trace_mem.h"

#define PAGE_BYTES 4096u

static size_t round_page(size_t n)
{
    return n == 0 ? PAGE_BYTES : (n + PAGE_BYTES - 1) & ~(size_t)(PAGE_BYTES - 1);
}

int trace_mem_reserve(void **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t want = *cap ? *cap : PAGE_BYTES;
    while (want < need) {
        if (want > SIZE_MAX / 2)
            return -ENOMEM;
        want *= 2;
    }
    void *q = *p ? mremap(*p, *cap, want, MREMAP_MAYMOVE)
                 : mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED)
        return -ENOMEM;
    *p = q;
    *cap = want;
    return 0;
}

void trace_mem_trim(void *p, size_t cap, size_t len)
{
    size_t keep = round_page(len);
    if (p && keep < cap)
        munmap((char *)p + keep, cap - keep);
}

void trace_mem_release(void *p, size_t len)
{
    if (p)
        munmap(p, round_page(len));
}

void trace_buf_release(uint8_t *buf, size_t len)
{
    trace_mem_release(buf, len);
}

void trace_init(trace_t *t)
{
    t->ops = NULL;
    t->len = 0;
    t->cap = 0;
}

void trace_release(trace_t *t)
{
    trace_mem_release(t->ops, t->cap * sizeof(op_t));
    trace_init(t);
}

void trace_clear(trace_t *t)
{
    t->len = 0;
}

static int trace_reserve(trace_t *t, size_t n)
{
    if (n <= t->cap)
        return 0;
    if (n > SIZE_MAX / sizeof(op_t))
        return -ENOMEM;
    void *p = t->ops;
    size_t bytes = t->cap * sizeof(op_t);
    int rc = trace_mem_reserve(&p, &bytes, n * sizeof(op_t));
    if (rc)
        return rc;
    t->ops = p;
    t->cap = bytes / sizeof(op_t);
    return 0;
}

int trace_push(trace_t *t, const op_t *op)
{
    int rc = trace_reserve(t, t->len + 1);
    if (rc)
        return rc;
    t->ops[t->len++] = *op;
    return 0;
}

int trace_copy(trace_t *dst, const trace_t *src)
{
    if (dst == src)
        return 0;
    int rc = trace_reserve(dst, src->len);
    if (rc)
        return rc;
    if (src->len)
        memcpy(dst->ops, src->ops, src->len * sizeof(op_t));
    dst->len = src->len;
    return 0;
}

/* Indexed by op_kind_t; the text form's op names. */
static const char *const op_names[OP_COUNT] = {
    [OP_MALLOC] = "malloc",
    [OP_CALLOC] = "calloc",
    [OP_REALLOC] = "realloc",
    [OP_REALLOCARRAY] = "reallocarray",
    [OP_ALIGNED_ALLOC] = "aligned_alloc",
    [OP_POSIX_MEMALIGN] = "posix_memalign",
    [OP_MEMALIGN] = "memalign",
    [OP_VALLOC] = "valloc",
    [OP_PVALLOC] = "pvalloc",
    [OP_FREE] = "free",
    [OP_FREE_SIZED] = "free_sized",
    [OP_FREE_ALIGNED_SIZED] = "free_aligned_sized",
    [OP_USABLE] = "usable",
    [OP_CHECK] = "check",
    [OP_THREAD] = "thread",
};

const char *op_name(op_kind_t k)
{
    return (unsigned)k < OP_COUNT ? op_names[k] : "?";
}

int op_from_name(const char *name, size_t len)
{
    for (int k = 0; k < OP_COUNT; k++) {
        if (strlen(op_names[k]) == len && memcmp(op_names[k], name, len) == 0)
            return k;
    }
    return -1;
}

bool op_equal(const op_t *a, const op_t *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case OP_CHECK:
        return true;
    case OP_CALLOC:
    case OP_REALLOCARRAY:
        return a->slot == b->slot && a->nmemb == b->nmemb && a->size == b->size;
    case OP_ALIGNED_ALLOC:
    case OP_POSIX_MEMALIGN:
    case OP_MEMALIGN:
        return a->slot == b->slot && a->align == b->align && a->size == b->size;
    case OP_MALLOC:
    case OP_REALLOC:
    case OP_VALLOC:
    case OP_PVALLOC:
        return a->slot == b->slot && a->size == b->size;
    default:
        return a->slot == b->slot;
    }
}

/* Reads all of fd into a mapping (one spare byte so text ends with a NUL the parser never
 * needs but a debugger likes). Returns 0 or -errno. */
static int read_all(int fd, uint8_t **buf, size_t *cap, size_t *len)
{
    *len = 0;
    for (;;) {
        void *p = *buf;
        int rc = trace_mem_reserve(&p, cap, *len + PAGE_BYTES + 1);
        *buf = p;
        if (rc)
            return rc;
        ssize_t n = read(fd, *buf + *len, *cap - *len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        *len += (size_t)n;
    }
}

static int load_fail(int rc, const char *path, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", path, strerror(-rc));
    return rc;
}

/* Text traces are printable ASCII; anything else is what a fuzzer wrote (a libFuzzer or AFL++
 * crash file need not start with the magic) and is read the way the fuzz targets read it. */
static bool looks_like_text(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((data[i] < 0x20 || data[i] > 0x7e) && data[i] != '\n' && data[i] != '\t' &&
            data[i] != '\r')
            return false;
    return true;
}

static int load_bytes(trace_t *t, const char *path, const uint8_t *data, size_t len,
                      char *err, size_t errlen)
{
    if (trace_is_binary(data, len) && len < TRACE_BIN_HEADER_LEN) {
        /* The decoder would read this as no ops; a file cut inside its header is an input
         * error worth saying, not an empty trace. */
        snprintf(err, errlen, "%s: truncated binary trace: %zu of the %d header bytes", path,
                 len, TRACE_BIN_HEADER_LEN);
        return -EINVAL;
    }
    if (trace_is_binary(data, len) || !looks_like_text(data, len))
        return trace_decode_binary(t, data, len) ? load_fail(-ENOMEM, path, err, errlen) : 0;
    char why[512];
    int rc = trace_parse_text(t, (const char *)data, len, why, sizeof why);
    if (rc == -EINVAL)
        snprintf(err, errlen, "%s: %s", path, why);
    else if (rc)
        load_fail(rc, path, err, errlen);
    return rc;
}

int trace_load_file(trace_t *t, const char *path, char *err, size_t errlen)
{
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return load_fail(-errno, path, err, errlen);
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    int rc = read_all(fd, &buf, &cap, &len);
    if (!is_stdin)
        close(fd);
    if (rc)
        load_fail(rc, path, err, errlen);
    else
        rc = load_bytes(t, path, buf, len, err, errlen);
    trace_mem_release(buf, cap);
    return rc;
}
