/* The text trace form, v1 and v2 (docs/TRACE_FORMAT.md): parser and printer. v2 is v1 plus
 * `fork`; a file headed v1 may not hold a fork, one without a header may.
 * Terms: a "token" is a run of non-blank bytes; an op line is an op name and its arguments;
 * a number is an expression of terms (decimal, 0x hex, SIZE_MAX, PTRDIFF_MAX, PAGE, 2^K)
 * joined by + and -, evaluated exactly and required to land in [0, 2^64).
 * The parser works on a caller's buffer and keeps ops in mmap'ed memory (ops.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "src/base/escape.h"
#include "src/trace/trace.h"
#include "src/trace/trace_mem.h"

typedef __int128 wide_t;

#define TWO_64 ((wide_t)1 << 64)
#define MAX_TOKENS 4            /* an op name and at most three arguments */
#define SHOW_MAX 40             /* bytes of a bad token quoted in an error */

typedef struct token {
    const char *s;
    size_t n;
} token_t;

/* What each argument position of an op means. */
typedef enum arg_role { ARG_SLOT, ARG_THREAD, ARG_BUSY, ARG_NMEMB, ARG_SIZE, ARG_ALIGN } arg_role_t;

typedef struct op_shape {
    uint8_t nargs;
    uint8_t role[MAX_TOKENS - 1];
} op_shape_t;

static const op_shape_t op_shapes[OP_COUNT] = {
    [OP_MALLOC] = { 2, { ARG_SLOT, ARG_SIZE } },
    [OP_CALLOC] = { 3, { ARG_SLOT, ARG_NMEMB, ARG_SIZE } },
    [OP_REALLOC] = { 2, { ARG_SLOT, ARG_SIZE } },
    [OP_REALLOCARRAY] = { 3, { ARG_SLOT, ARG_NMEMB, ARG_SIZE } },
    [OP_ALIGNED_ALLOC] = { 3, { ARG_SLOT, ARG_ALIGN, ARG_SIZE } },
    [OP_POSIX_MEMALIGN] = { 3, { ARG_SLOT, ARG_ALIGN, ARG_SIZE } },
    [OP_MEMALIGN] = { 3, { ARG_SLOT, ARG_ALIGN, ARG_SIZE } },
    [OP_VALLOC] = { 2, { ARG_SLOT, ARG_SIZE } },
    [OP_PVALLOC] = { 2, { ARG_SLOT, ARG_SIZE } },
    [OP_FREE] = { 1, { ARG_SLOT } },
    [OP_FREE_SIZED] = { 1, { ARG_SLOT } },
    [OP_FREE_ALIGNED_SIZED] = { 1, { ARG_SLOT } },
    [OP_USABLE] = { 1, { ARG_SLOT } },
    [OP_CHECK] = { 0, { 0 } },
    [OP_THREAD] = { 1, { ARG_THREAD } },
    [OP_FORK] = { 1, { ARG_BUSY } },
};

typedef text_parser_t parser_t;

/* Copies a token for an error message: printable bytes only, cut at SHOW_MAX. */
static const char *show(const token_t *tok, char *buf, size_t len)
{
    size_t n = tok->n < SHOW_MAX ? tok->n : SHOW_MAX;
    size_t i = 0;
    for (; i < n && i + 4 < len; i++)
        buf[i] = tok->s[i] >= 0x20 && tok->s[i] < 0x7f ? tok->s[i] : '?';
    if (n < tok->n && i + 4 < len) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

static int fail(parser_t *ps, const char *fmt, const token_t *tok, const char *more)
{
    char shown[SHOW_MAX + 8], what[256];
    snprintf(what, sizeof what, fmt, tok ? show(tok, shown, sizeof shown) : "", more);
    snprintf(ps->err, ps->errlen, "line %" PRIu32 ": %s", ps->line, what);
    return -EINVAL;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Splits a line into tokens, stopping at a '#' that starts a token (a comment). Stores the
 * first MAX_TOKENS and returns how many there are in all. */
static size_t tokenize(const char *s, size_t n, token_t *tok)
{
    size_t count = 0, i = 0;
    while (i < n) {
        while (i < n && is_blank(s[i]))
            i++;
        if (i == n || s[i] == '#')
            break;
        size_t start = i;
        while (i < n && !is_blank(s[i]))
            i++;
        if (count < MAX_TOKENS)
            tok[count] = (token_t){ s + start, i - start };
        count++;
    }
    return count;
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return 99;
}

/* Reads digits in base at s[*i]; values above 2^64 saturate (they are out of range anyway).
 * Returns false when there is no digit. */
static bool read_digits(const char *s, size_t n, size_t *i, int base, wide_t *v)
{
    size_t start = *i;
    *v = 0;
    for (; *i < n && digit_value(s[*i]) < base; (*i)++) {
        *v = *v * base + digit_value(s[*i]);
        if (*v > TWO_64)
            *v = TWO_64 + 1;
    }
    return *i > start;
}

typedef struct named_value {
    const char *name;
    wide_t value;
} named_value_t;

static const named_value_t named_values[] = {
    { "SIZE_MAX", (wide_t)UINT64_MAX },
    { "PTRDIFF_MAX", (wide_t)INT64_MAX },
    { "PAGE", 4096 },
};

static bool read_name(const char *s, size_t n, size_t *i, wide_t *v)
{
    for (size_t k = 0; k < sizeof named_values / sizeof named_values[0]; k++) {
        size_t len = strlen(named_values[k].name);
        if (n - *i >= len && memcmp(s + *i, named_values[k].name, len) == 0) {
            *i += len;
            *v = named_values[k].value;
            return true;
        }
    }
    return false;
}

/* One term: decimal, 0x hex, 2^K, or a named constant. Returns false when malformed. */
static bool read_term(const char *s, size_t n, size_t *i, wide_t *v)
{
    if (n - *i >= 2 && s[*i] == '0' && (s[*i + 1] == 'x' || s[*i + 1] == 'X')) {
        *i += 2;
        return read_digits(s, n, i, 16, v);
    }
    if (n - *i >= 2 && s[*i] == '2' && s[*i + 1] == '^') {
        wide_t k;
        *i += 2;
        if (!read_digits(s, n, i, 10, &k))
            return false;
        *v = k <= 64 ? (wide_t)1 << (int)k : TWO_64 + 1;
        return true;
    }
    if (read_digits(s, n, i, 10, v))
        return true;
    return read_name(s, n, i, v);
}

/* Evaluates a number expression. Returns 0, -EINVAL (malformed) or -ERANGE. */
static int eval_number(const token_t *tok, uint64_t *out)
{
    size_t i = 0;
    wide_t sum = 0;
    bool too_big = false;
    int sign = 1;
    if (tok->n > 0 && tok->s[0] == '-') {
        sign = -1;
        i = 1;
    }
    for (;;) {
        wide_t term;
        if (!read_term(tok->s, tok->n, &i, &term))
            return -EINVAL;
        too_big |= term > TWO_64;
        sum += sign * term;
        if (i == tok->n)
            break;
        if (tok->s[i] != '+' && tok->s[i] != '-')
            return -EINVAL;
        sign = tok->s[i++] == '+' ? 1 : -1;
    }
    if (too_big || sum < 0 || sum >= TWO_64)
        return -ERANGE;
    *out = (uint64_t)sum;
    return 0;
}

static int parse_arg(parser_t *ps, const token_t *tok, arg_role_t role, op_t *op)
{
    static const unsigned limit[] = { OPS_SLOTS, OPS_THREADS, OPS_THREADS };
    static const char *const what[] = { "slot %s%s", "thread %s%s", "busy threads %s%s" };
    uint64_t v;
    int rc = eval_number(tok, &v);
    if (rc == -EINVAL)
        return fail(ps, "bad number '%s'%s", tok, "");
    if (role <= ARG_BUSY) {
        char range[32];
        snprintf(range, sizeof range, " out of range 0..%u", limit[role] - 1);
        if (rc || v >= limit[role])
            return fail(ps, what[role], tok, range);
        op->slot = (uint16_t)v;
        return 0;
    }
    if (rc)
        return fail(ps, "number '%s' out of range%s", tok, " 0..SIZE_MAX (2^64-1)");
    *(role == ARG_NMEMB ? &op->nmemb : role == ARG_ALIGN ? &op->align : &op->size) = v;
    return 0;
}

static int parse_op(parser_t *ps, const token_t *tok, size_t ntok)
{
    int kind = op_from_name(tok[0].s, tok[0].n);
    if (kind < 0)
        return fail(ps, "unknown op '%s'%s", &tok[0], "");
    const op_shape_t *shape = &op_shapes[kind];
    if (kind == OP_FORK && ps->version == 1)
        return fail(ps, "%s%s", NULL, "fork needs trace v2 (the header says v1)");
    if (ps->t->len >= TRACE_MAX_OPS) {
        char what[96];
        snprintf(what, sizeof what, "more than %u ops, the most a trace may hold",
                 TRACE_MAX_OPS);
        return fail(ps, "%s%s", NULL, what);
    }
    if (ntok - 1 != shape->nargs) {
        char what[96];
        snprintf(what, sizeof what, "%s takes %u argument%s, got %zu", op_name(kind),
                 shape->nargs, shape->nargs == 1 ? "" : "s", ntok - 1);
        return fail(ps, "%s%s", NULL, what);
    }
    op_t op = { .kind = (uint8_t)kind, .line = ps->line };
    for (size_t a = 0; a < shape->nargs; a++) {
        int rc = parse_arg(ps, &tok[a + 1], shape->role[a], &op);
        if (rc)
            return rc;
    }
    return trace_push(ps->t, &op);
}

bool trace_text_has_header(const uint8_t *data, size_t len)
{
    size_t plen = sizeof TRACE_TEXT_PREFIX - 1;
    return len >= plen && memcmp(data, TRACE_TEXT_PREFIX, plen) == 0;
}

/* A header naming another version is refused rather than misread. */
static int check_header(parser_t *ps, const char *s, size_t n)
{
    size_t plen = sizeof TRACE_TEXT_PREFIX - 1, mlen = sizeof TRACE_TEXT_MAGIC - 1;
    if (!trace_text_has_header((const uint8_t *)s, n))
        return 0;
    /* Trailing blanks go, but never into the prefix: the version is what follows it. */
    while (n > plen && is_blank(s[n - 1]))
        n--;
    if (n == mlen && memcmp(s, TRACE_TEXT_MAGIC, mlen) == 0) {
        ps->version = 1;
        return 0;
    }
    if (n == mlen && memcmp(s, TRACE_TEXT_MAGIC_V2, mlen) == 0) {
        ps->version = 2;
        return 0;
    }
    if (n == plen)
        return fail(ps, "%smissing trace version, expected v1 or v2%s", NULL, "");
    token_t ver = { s + plen, n - plen };
    return fail(ps, "unsupported trace version '%s'%s", &ver, ", expected v1 or v2");
}

size_t trace_text_bad_byte(const uint8_t *s, size_t n, bool more)
{
    for (size_t i = 0; i < n;) {
        if (s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || (s[i] >= 0x20 && s[i] < 0x7f)) {
            i++;
            continue;
        }
        int len = s[i] < 0x80 ? 0 : utf8_seq(s + i, n - i);
        if (len < 0 && more)
            return n;
        if (len <= 0)
            return i;
        i += (size_t)len;
    }
    return n;
}

void text_parser_init(text_parser_t *ps, trace_t *t, char *err, size_t errlen)
{
    *ps = (text_parser_t){ .t = t, .line = 0, .err = err, .errlen = errlen };
}

int text_parse_line(text_parser_t *ps, const char *s, size_t n)
{
    ps->line++;
    size_t bad = trace_text_bad_byte((const uint8_t *)s, n, false);
    if (bad < n) {
        char what[64];
        snprintf(what, sizeof what, "byte 0x%02x is not text (ASCII, or UTF-8 in comments)",
                 (uint8_t)s[bad]);
        return fail(ps, "%s%s", NULL, what);
    }
    int rc = ps->line == 1 ? check_header(ps, s, n) : 0;
    token_t tok[MAX_TOKENS];
    size_t ntok = rc ? 0 : tokenize(s, n, tok);
    if (!rc && ntok)
        rc = parse_op(ps, tok, ntok);
    if (rc == -ENOMEM)
        snprintf(ps->err, ps->errlen, "line %" PRIu32 ": out of memory", ps->line);
    return rc;
}

int trace_parse_text(trace_t *t, const char *text, size_t len, char *err, size_t errlen)
{
    parser_t ps;
    text_parser_init(&ps, t, err, errlen);
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        int rc = text_parse_line(&ps, text + pos, n);
        if (rc)
            return rc;
        pos += n + 1;
    }
    return 0;
}

/* Numbers read best near the edges as expressions; parse(format(v)) == v for every v. */
static int format_number(uint64_t v, char *buf, size_t len)
{
    const uint64_t near = 4096, pmax = INT64_MAX;
    if (v >= UINT64_MAX - near)
        return v == UINT64_MAX ? snprintf(buf, len, "SIZE_MAX")
                               : snprintf(buf, len, "SIZE_MAX-%" PRIu64, UINT64_MAX - v);
    if (v == pmax)
        return snprintf(buf, len, "PTRDIFF_MAX");
    if (v >= pmax - near && v <= pmax + near)
        return v < pmax ? snprintf(buf, len, "PTRDIFF_MAX-%" PRIu64, pmax - v)
                        : snprintf(buf, len, "PTRDIFF_MAX+%" PRIu64, v - pmax);
    for (int k = 20; k < 63; k++) {
        uint64_t p = (uint64_t)1 << k;
        if (v == p)
            return snprintf(buf, len, "2^%d", k);
        if (v + 16 >= p && v <= p + 16)
            return snprintf(buf, len, "2^%d%c%" PRIu64, k, v < p ? '-' : '+',
                            v < p ? p - v : v - p);
    }
    return snprintf(buf, len, "%" PRIu64, v);
}

int op_format(const op_t *op, char *buf, size_t len)
{
    if (op->kind >= OP_COUNT)
        return snprintf(buf, len, "# bad op kind %u", op->kind);
    const op_shape_t *shape = &op_shapes[op->kind];
    size_t n = (size_t)snprintf(buf, len, "%s", op_name(op->kind));
    for (size_t a = 0; a < shape->nargs; a++) {
        char num[48];
        arg_role_t role = shape->role[a];
        if (role <= ARG_BUSY)
            snprintf(num, sizeof num, "%u", op->slot);
        else
            format_number(role == ARG_NMEMB ? op->nmemb : role == ARG_ALIGN ? op->align
                                                                               : op->size,
                          num, sizeof num);
        n += (size_t)snprintf(buf + (n < len ? n : len), n < len ? len - n : 0, " %s", num);
    }
    return (int)n;
}

int trace_format_text(const trace_t *t, char **out, size_t *outlen)
{
    void *p = NULL;
    size_t cap = 0, n = 0;
    int rc = trace_mem_reserve(&p, &cap, sizeof TRACE_TEXT_MAGIC + 1);
    if (rc)
        return rc;
    n = (size_t)snprintf(p, cap, "%s\n", trace_version_needed(t) > 1 ? TRACE_TEXT_MAGIC_V2
                                                                      : TRACE_TEXT_MAGIC);
    for (size_t i = 0; i < t->len; i++) {
        /* The longest line is well under 160 bytes (an op name and three 20-digit numbers). */
        rc = trace_mem_reserve(&p, &cap, n + 160);
        if (rc) {
            trace_mem_release(p, cap);
            return rc;
        }
        n += (size_t)op_format(&t->ops[i], (char *)p + n, cap - n);
        ((char *)p)[n++] = '\n';
    }
    trace_mem_trim(p, cap, n);
    *out = p;
    *outlen = n;
    return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int trace_write_text(const trace_t *t, int fd)
{
    char *buf;
    size_t len;
    int rc = trace_format_text(t, &buf, &len);
    if (rc)
        return rc;
    rc = write_all(fd, buf, len);
    trace_buf_release((uint8_t *)buf, len);
    return rc;
}
