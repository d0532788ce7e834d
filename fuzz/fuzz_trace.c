/* The trace parsers' fuzz target: every input goes to the text parser, to the binary decoder
 * and to the file loader, and each trace they produce must keep its ops through the other
 * form. A broken property is printed and abort()ed, so libFuzzer, AFL++ and the standalone
 * driver all see a crash. No allocator runs.
 * Properties:
 * - text that parses survives text -> binary -> decode, and its canonical text parses back
 *   to the same ops and formats to the same bytes again (a fixed point);
 * - any bytes decode (the decoder is total, at most TRACE_BIN_MAX_OPS ops) and survive
 *   binary -> text -> parse -> binary -> decode with the same ops, and re-encoding gives the
 *   same bytes (the encoding is canonical);
 * - every error is one non-empty line; a parse error names its line;
 * - the file loader gives the ops of one of the two readings; a file that starts with the v1
 *   header line is text, always: it loads exactly when it parses, to the same ops.
 * Leaves out: running the ops (fuzz_ops.c does that). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "src/trace/trace.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The two readings of the input, and scratch traces for the round trips. */
static trace_t as_text, as_binary, back, again;
static bool text_ok;
static int memfd = -1;
static char memfd_path[64];

static _Noreturn void broken(const char *what, const char *detail)
{
    fprintf(stderr, "==fuzz_trace== %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static void require(bool cond, const char *what)
{
    if (!cond)
        broken(what, NULL);
}

/* Raw fields, not op_format: the formatter is one of the things under test. */
static void describe(const op_t *op, char *buf, size_t len)
{
    snprintf(buf, len, "%s slot %u nmemb %" PRIu64 " size %" PRIu64 " align %" PRIu64,
             op_name(op->kind), op->slot, op->nmemb, op->size, op->align);
}

static void same_ops(const trace_t *a, const trace_t *b, const char *what)
{
    char detail[512], x[192], y[192];
    if (a->len != b->len) {
        snprintf(detail, sizeof detail, "%zu ops became %zu", a->len, b->len);
        broken(what, detail);
    }
    for (size_t i = 0; i < a->len; i++) {
        if (op_equal(&a->ops[i], &b->ops[i]))
            continue;
        describe(&a->ops[i], x, sizeof x);
        describe(&b->ops[i], y, sizeof y);
        snprintf(detail, sizeof detail, "op %zu (%s) became (%s)", i, x, y);
        broken(what, detail);
    }
}

/* An error message is one line: tools print it after "allocheck: " as the only stderr line. */
static void one_line(const char *err, const char *must_start)
{
    require(err[0] != '\0', "an error without a message");
    if (strchr(err, '\n') || strncmp(err, must_start, strlen(must_start)) != 0)
        broken("a malformed error message", err);
}

static int parse(trace_t *t, const char *text, size_t len, char *err, size_t errlen)
{
    trace_clear(t);
    return trace_parse_text(t, text, len, err, errlen);
}

/* The canonical text of t parses back to t's ops and is its own canonical text. */
static void text_fixed_point(const trace_t *t, const char *what)
{
    char *text, *text2, err[512];
    size_t len, len2;
    require(trace_format_text(t, &text, &len) == 0, "trace_format_text failed");
    if (parse(&back, text, len, err, sizeof err) != 0)
        broken("canonical text does not parse", err);
    same_ops(t, &back, what);
    require(trace_format_text(&back, &text2, &len2) == 0, "trace_format_text failed");
    require(len == len2 && memcmp(text, text2, len) == 0, "canonical text is not a fixed point");
    trace_buf_release((uint8_t *)text, len);
    trace_buf_release((uint8_t *)text2, len2);
}

/* t's binary encoding decodes to t's ops and re-encodes to the same bytes; a trace longer
 * than the decoder reads is refused, never cut. */
static void binary_fixed_point(const trace_t *t, const char *what)
{
    uint8_t *bin, *bin2;
    size_t len, len2;
    int rc = trace_encode_binary(t, &bin, &len);
    if (t->len > TRACE_BIN_MAX_OPS) {
        require(rc == -E2BIG, "a trace over TRACE_BIN_MAX_OPS was encoded");
        return;
    }
    require(rc == 0, "trace_encode_binary refused a valid trace");
    trace_clear(&again);
    require(trace_decode_binary(&again, bin, len) == 0, "trace_decode_binary failed");
    same_ops(t, &again, what);
    require(trace_encode_binary(&again, &bin2, &len2) == 0, "re-encoding failed");
    require(len == len2 && memcmp(bin, bin2, len) == 0, "binary encoding is not canonical");
    trace_buf_release(bin, len);
    trace_buf_release(bin2, len2);
}

static void text_reading(const uint8_t *data, size_t size)
{
    char err[512];
    text_ok = parse(&as_text, (const char *)data, size, err, sizeof err) == 0;
    if (!text_ok) {
        one_line(err, "line ");
        return;
    }
    binary_fixed_point(&as_text, "text -> binary -> text changed the ops");
    text_fixed_point(&as_text, "text -> canonical text -> parse changed the ops");
}

static void binary_reading(const uint8_t *data, size_t size)
{
    trace_clear(&as_binary);
    require(trace_decode_binary(&as_binary, data, size) == 0, "the decoder is not total");
    require(as_binary.len <= TRACE_BIN_MAX_OPS, "the decoder read past TRACE_BIN_MAX_OPS");
    text_fixed_point(&as_binary, "binary -> text -> parse changed the ops");
    binary_fixed_point(&back, "binary -> text -> binary changed the ops");
}

static bool ops_equal(const trace_t *a, const trace_t *b)
{
    if (a->len != b->len)
        return false;
    for (size_t i = 0; i < a->len; i++)
        if (!op_equal(&a->ops[i], &b->ops[i]))
            return false;
    return true;
}

/* The header line exactly (a CR before its line end allowed), as allocheck writes it. */
static bool has_header_line(const uint8_t *data, size_t size)
{
    size_t n = sizeof TRACE_TEXT_MAGIC - 1;
    if (size < n || memcmp(data, TRACE_TEXT_MAGIC, n) != 0)
        return false;
    if (size > n && data[n] == '\r')
        n++;
    return size == n || data[n] == '\n';
}

/* The loader reads the input as a file (a memfd), as replay, minimize and repro do. */
static void file_reading(const uint8_t *data, size_t size)
{
    char err[1024];
    require(ftruncate(memfd, 0) == 0 && pwrite(memfd, data, size, 0) == (ssize_t)size,
            "cannot write the memfd");
    trace_clear(&back);
    int rc = trace_load_file(&back, memfd_path, err, sizeof err);
    if (rc)
        one_line(err, memfd_path);
    if (has_header_line(data, size)) {
        if ((rc == 0) != text_ok)
            broken(rc ? "a file with the v1 header that parses does not load"
                      : "a file with the v1 header that does not parse loads", rc ? err : NULL);
        if (rc == 0)
            same_ops(&as_text, &back, "a file with the v1 header was not read as text");
        return;
    }
    if (rc == 0)
        require((text_ok && ops_equal(&as_text, &back)) || ops_equal(&as_binary, &back),
                "the loader's ops are neither the text nor the binary reading");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    memfd = memfd_create("fuzz_trace", MFD_CLOEXEC);
    if (memfd < 0) {
        perror("fuzz_trace: memfd_create");
        exit(2);
    }
    snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
    trace_init(&as_text);
    trace_init(&as_binary);
    trace_init(&back);
    trace_init(&again);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memfd < 0)
        LLVMFuzzerInitialize(&(int){ 0 }, &(char **){ NULL });
    text_reading(data, size);
    binary_reading(data, size);
    file_reading(data, size);
    return 0;
}
