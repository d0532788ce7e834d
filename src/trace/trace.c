/* Traces (trace.h): the op sequence itself — growth in mmap'ed memory, op names, equality —
 * and loading a file in either form, read as a stream within the limits of trace.h (an endless
 * input ends in an error, never in the memory limit). The text form lives in trace_text.c,
 * the binary form in trace_bin.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "src/trace/trace.h"
#include "src/trace/trace_mem.h"

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

/* Indexed by op_kind_t: what each op needs of the harness (OPF_*). A new op that runs more
 * threads or processes than the one it is in says so here, and every target that leaves such
 * ops out (fuzz/fuzz_ops.c) leaves it out with no list of its own. */
static const uint8_t op_flags[OP_COUNT] = {
    [OP_THREAD] = OPF_THREADS,
};

unsigned op_needs(op_kind_t k)
{
    return (unsigned)k < OP_COUNT ? op_flags[k] : 0;
}

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

/* A trace file read in chunks: buf holds at most one partial line (text) or the bytes the
 * binary decoder can use, plus one chunk. */
#define CHUNK (64u << 10)
#define LINE_MAX_STR "65536"
_Static_assert(TRACE_TEXT_MAX_LINE == 65536, "LINE_MAX_STR");
#define BIN_KEEP (TRACE_BIN_HEADER_LEN + TRACE_BIN_MAX_OPS * TRACE_BIN_RECORD_MAX)
#define BUF_BYTES ((TRACE_TEXT_MAX_LINE > BIN_KEEP ? TRACE_TEXT_MAX_LINE : BIN_KEEP) + CHUNK)

typedef struct input {
    int fd;
    uint8_t *buf;
    size_t cap, len;          /* buf's size; bytes in it */
    unsigned long long total; /* bytes read so far */
    bool eof;
    char *why;
    size_t whylen;
} input_t;

/* Reads into buf[len..want) until it is full or the input ends. Returns 0 or -errno. */
static int fill(input_t *in, size_t want)
{
    while (in->len < want && !in->eof) {
        ssize_t n = read(in->fd, in->buf + in->len, want - in->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        in->eof = n == 0;
        in->len += (size_t)n;
        in->total += (unsigned long long)n;
    }
    return 0;
}

static int input_fail(input_t *in, int rc, const char *fmt, unsigned long long limit)
{
    snprintf(in->why, in->whylen, fmt, limit);
    return rc;
}

static int line_too_long(input_t *in, const text_parser_t *ps)
{
    return input_fail(in, -EFBIG, "line %llu: longer than " LINE_MAX_STR " bytes, the most a "
                      "line may have", ps->line + 1ull);
}

/* Parses every complete line in buf, keeps the partial one at the front. */
static int text_lines(input_t *in, text_parser_t *ps)
{
    size_t pos = 0;
    for (;;) {
        uint8_t *nl = memchr(in->buf + pos, '\n', in->len - pos);
        if (!nl && !(in->eof && pos < in->len))
            break;
        size_t n = nl ? (size_t)(nl - (in->buf + pos)) : in->len - pos;
        if (n > TRACE_TEXT_MAX_LINE)
            return line_too_long(in, ps);
        int rc = text_parse_line(ps, (const char *)in->buf + pos, n);
        if (rc)
            return rc;
        pos += n + (nl != NULL);
    }
    memmove(in->buf, in->buf + pos, in->len - pos);
    in->len -= pos;
    return 0;
}

static int load_text(trace_t *t, input_t *in)
{
    text_parser_t ps;
    text_parser_init(&ps, t, in->why, in->whylen);
    for (;;) {
        int rc = text_lines(in, &ps);
        if (rc || in->eof)
            return rc;
        if (in->len > TRACE_TEXT_MAX_LINE)
            return line_too_long(in, &ps);
        if ((rc = fill(in, in->len + CHUNK)) != 0)
            return rc;
        if (in->total > TRACE_TEXT_MAX_BYTES)
            return input_fail(in, -EFBIG, "longer than %llu bytes, the most a text trace "
                              "may have", TRACE_TEXT_MAX_BYTES);
    }
}

/* The decoder uses at most BIN_KEEP bytes; the rest is read only to find where it ends. */
static int load_binary(trace_t *t, input_t *in)
{
    int rc = fill(in, BIN_KEEP);
    size_t keep = in->len;
    while (!rc && !in->eof && in->total <= TRACE_BIN_MAX_BYTES) {
        in->len = keep;
        rc = fill(in, keep + CHUNK);
    }
    if (rc)
        return rc;
    if (in->total > TRACE_BIN_MAX_BYTES)
        return input_fail(in, -EFBIG, "longer than %llu bytes, the most a binary trace may "
                          "have", TRACE_BIN_MAX_BYTES);
    if (trace_is_binary(in->buf, keep) && keep < TRACE_BIN_HEADER_LEN) {
        /* The decoder would read this as no ops; a file cut inside its header is an input
         * error worth saying, not an empty trace. */
        snprintf(in->why, in->whylen, "truncated binary trace: %zu of the %d header bytes",
                 keep, TRACE_BIN_HEADER_LEN);
        return -EINVAL;
    }
    return trace_decode_binary(t, in->buf, keep);
}

static bool form_is_text(const uint8_t *data, size_t len, bool more)
{
    if (trace_is_binary(data, len))
        return false;
    if (trace_text_has_header(data, len))
        return true;
    return trace_text_bad_byte(data, len, more) == len;
}

bool trace_bytes_are_text(const uint8_t *data, size_t len)
{
    return form_is_text(data, len, false);
}

/* Which form: see trace_load_file in trace.h. */
static bool is_text(const input_t *in)
{
    return form_is_text(in->buf, in->len, !in->eof);
}

static int load_fd(trace_t *t, input_t *in)
{
    void *p = NULL;
    in->cap = 0;
    int rc = trace_mem_reserve(&p, &in->cap, BUF_BYTES);
    in->buf = p;
    if (!rc)
        rc = fill(in, CHUNK);
    if (!rc)
        rc = is_text(in) ? load_text(t, in) : load_binary(t, in);
    if (rc && !in->why[0])
        snprintf(in->why, in->whylen, "%s", strerror(-rc));
    trace_mem_release(in->buf, in->cap);
    return rc;
}

int trace_load(trace_t *t, const char *path, char *why, size_t whylen)
{
    bool is_stdin = strcmp(path, "-") == 0;
    input_t in = { .fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC),
                   .why = why, .whylen = whylen };
    why[0] = '\0';
    if (in.fd < 0) {
        int err = errno;
        snprintf(why, whylen, "%s", strerror(err));
        return -err;
    }
    int rc = load_fd(t, &in);
    if (!is_stdin)
        close(in.fd);
    return rc;
}

int trace_load_file(trace_t *t, const char *path, char *err, size_t errlen)
{
    char why[512];
    int rc = trace_load(t, path, why, sizeof why);
    if (rc)
        snprintf(err, errlen, "%s: %s", path, why);
    return rc;
}
