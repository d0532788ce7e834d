/* Unit tests of the trace forms (src/trace/trace.h): every op and number form parses, every kind
 * of error names its line and token, print/parse and binary/text round trips are identities,
 * the binary decoder is total on random and adversarial bytes, and files are read as a
 * stream (same ops as parsing them whole, the form decided by their start) within limits.
 * Usage: test-trace [CASE | --list | doc-tables DOC]; prints TAP, each case in its own process. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "src/trace/trace.h"
#include "tests/tap.h"

static int parse(trace_t *t, const char *text, char *err, size_t errlen)
{
    trace_clear(t);
    err[0] = '\0';
    return trace_parse_text(t, text, strlen(text), err, errlen);
}

static bool same_ops(const trace_t *a, const trace_t *b)
{
    if (a->len != b->len)
        return false;
    for (size_t i = 0; i < a->len; i++) {
        if (!op_equal(&a->ops[i], &b->ops[i]))
            return false;
    }
    return true;
}

/* Every op kind, with the fields it should produce. */
static int case_ops(void)
{
    static const struct {
        const char *line;
        op_t want;
    } table[] = {
        { "malloc 3 48", { .kind = OP_MALLOC, .slot = 3, .size = 48 } },
        { "calloc 4 10 24", { .kind = OP_CALLOC, .slot = 4, .nmemb = 10, .size = 24 } },
        { "realloc 3 4000", { .kind = OP_REALLOC, .slot = 3, .size = 4000 } },
        { "reallocarray 1023 7 9",
          { .kind = OP_REALLOCARRAY, .slot = 1023, .nmemb = 7, .size = 9 } },
        { "aligned_alloc 5 256 512",
          { .kind = OP_ALIGNED_ALLOC, .slot = 5, .align = 256, .size = 512 } },
        { "posix_memalign 6 64 100",
          { .kind = OP_POSIX_MEMALIGN, .slot = 6, .align = 64, .size = 100 } },
        { "memalign 7 32 1", { .kind = OP_MEMALIGN, .slot = 7, .align = 32, .size = 1 } },
        { "valloc 8 PAGE", { .kind = OP_VALLOC, .slot = 8, .size = 4096 } },
        { "pvalloc 9 0", { .kind = OP_PVALLOC, .slot = 9, .size = 0 } },
        { "free 3", { .kind = OP_FREE, .slot = 3 } },
        { "free_sized 4", { .kind = OP_FREE_SIZED, .slot = 4 } },
        { "free_aligned_sized 5", { .kind = OP_FREE_ALIGNED_SIZED, .slot = 5 } },
        { "usable 0", { .kind = OP_USABLE, .slot = 0 } },
        { "check", { .kind = OP_CHECK } },
        { "thread 7", { .kind = OP_THREAD, .slot = 7 } },
    };
    trace_t t;
    trace_init(&t);
    char err[256];
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        int rc = parse(&t, table[i].line, err, sizeof err);
        CHECK(rc == 0 && t.len == 1, "'%s': rc %d len %zu %s", table[i].line, rc, t.len, err);
        if (rc == 0 && t.len == 1) {
            CHECK(op_equal(&t.ops[0], &table[i].want), "'%s' parsed wrong", table[i].line);
            CHECK(t.ops[0].line == 1, "'%s' line %u", table[i].line, t.ops[0].line);
        }
    }
    trace_release(&t);
    return 0;
}

/* Number forms: decimal, hex, named constants, powers, sums and differences. */
static int case_numbers(void)
{
    static const struct {
        const char *expr;
        uint64_t want;
    } table[] = {
        { "0", 0 },
        { "48", 48 },
        { "18446744073709551615", UINT64_MAX },
        { "0x10", 16 },
        { "0XfF", 255 },
        { "0xffffffffffffffff", UINT64_MAX },
        { "SIZE_MAX", UINT64_MAX },
        { "SIZE_MAX-16", UINT64_MAX - 16 },
        { "PTRDIFF_MAX", INT64_MAX },
        { "PTRDIFF_MAX+1", (uint64_t)INT64_MAX + 1 },
        { "PAGE", 4096 },
        { "PAGE+1", 4097 },
        { "2^0", 1 },
        { "2^20", 1u << 20 },
        { "2^20+1", (1u << 20) + 1 },
        { "2^63", (uint64_t)1 << 63 },
        { "2^64-1", UINT64_MAX },
        { "SIZE_MAX+1-1", UINT64_MAX },
        { "PAGE-PAGE", 0 },
        { "-1+1", 0 },
        { "0x10+2^4-PAGE+PAGE", 32 },
    };
    trace_t t;
    trace_init(&t);
    char line[128], err[256];
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        snprintf(line, sizeof line, "malloc 0 %s\n", table[i].expr);
        int rc = parse(&t, line, err, sizeof err);
        CHECK(rc == 0 && t.len == 1, "'%s': rc %d %s", table[i].expr, rc, err);
        if (rc == 0 && t.len == 1)
            CHECK(t.ops[0].size == table[i].want, "'%s' = %" PRIu64 ", want %" PRIu64,
                  table[i].expr, t.ops[0].size, table[i].want);
    }
    CHECK(parse(&t, "free 0x3ff", err, sizeof err) == 0 && t.ops[0].slot == 1023, "%s", err);
    trace_release(&t);
    return 0;
}

/* Comments, blank lines, CRLF, a missing header, a missing final newline. */
static int case_layout(void)
{
    trace_t t;
    trace_init(&t);
    char err[256];
    const char *text = "# allocheck trace v1\n\n   # a comment\n\tmalloc 1 2 # trailing\r\n"
                       "\r\n  free   1  \nmalloc 2 3";
    CHECK(parse(&t, text, err, sizeof err) == 0, "%s", err);
    CHECK(t.len == 3, "len %zu", t.len);
    if (t.len == 3) {
        CHECK(t.ops[0].line == 4 && t.ops[1].line == 6 && t.ops[2].line == 7, "lines %u %u %u",
              t.ops[0].line, t.ops[1].line, t.ops[2].line);
        CHECK(t.ops[2].kind == OP_MALLOC && t.ops[2].size == 3, "last op");
    }
    CHECK(parse(&t, "malloc 1 2\n", err, sizeof err) == 0 && t.len == 1, "no header: %s", err);
    CHECK(parse(&t, "", err, sizeof err) == 0 && t.len == 0, "empty: %s", err);
    CHECK(parse(&t, "# allocheck trace v1\n", err, sizeof err) == 0 && t.len == 0, "%s", err);
    /* UTF-8 in comments, with or without the header (TRACE_FORMAT.md). */
    CHECK(parse(&t, "# allocheck trace v1\n# caf\xc3\xa9\nmalloc 1 2 # \xe2\x9c\x93 "
                    "\xf0\x9d\x84\x9e\n", err, sizeof err) == 0 && t.len == 1, "utf-8: %s", err);
    trace_release(&t);
    return 0;
}

/* Every kind of error: -EINVAL and "line N: ..." naming the token. */
static int case_errors(void)
{
    static const struct {
        const char *text;
        const char *want;
    } table[] = {
        { "malloc 1 2\n\n\n\n\n\nmallocc 1 2\n", "line 7: unknown op 'mallocc'" },
        { "\n\nmalloc 5000 1\n", "line 3: slot 5000 out of range 0..1023" },
        { "free 0x400\n", "line 1: slot 0x400 out of range 0..1023" },
        { "free SIZE_MAX+1\n", "line 1: slot SIZE_MAX+1 out of range 0..1023" },
        { "\n\n\nmalloc 1\n", "line 4: malloc takes 2 arguments, got 1" },
        { "calloc 1 2 3 4\n", "line 1: calloc takes 3 arguments, got 4" },
        { "free\n", "line 1: free takes 1 argument, got 0" },
        { "check 1\n", "line 1: check takes 0 arguments, got 1" },
        { "#\n#\n#\n#\n#\n#\n#\n#\nmalloc 1 abc\n", "line 9: bad number 'abc'" },
        { "malloc 1 12abc\n", "line 1: bad number '12abc'" },
        { "malloc 1 0x\n", "line 1: bad number '0x'" },
        { "malloc 1 2^\n", "line 1: bad number '2^'" },
        { "malloc 1 3^2\n", "line 1: bad number '3^2'" },
        { "malloc 1 1+\n", "line 1: bad number '1+'" },
        { "malloc 1 1++1\n", "line 1: bad number '1++1'" },
        { "malloc 1 size_max\n", "line 1: bad number 'size_max'" },
        { "malloc x 1\n", "line 1: bad number 'x'" },
        { "malloc 1 SIZE_MAX+1\n", "line 1: number 'SIZE_MAX+1' out of range" },
        { "malloc 1 2^64\n", "line 1: number '2^64' out of range" },
        { "malloc 1 2^65-2^64\n", "line 1: number '2^65-2^64' out of range" },
        { "malloc 1 18446744073709551616\n", "line 1: number '18446744073709551616' out of" },
        { "malloc 1 0-1\n", "line 1: number '0-1' out of range" },
        { "aligned_alloc 1 -PAGE 8\n", "line 1: number '-PAGE' out of range" },
        { "thread 8\n", "line 1: thread 8 out of range 0..7" },
        { "# allocheck trace v2\nmalloc 1 2\n", "line 1: unsupported trace version 'v2'" },
        { "malloc 1 2\nfree \x01\n", "line 2: byte 0x01 is not text" },
        /* A file with the header is text, always: a bad byte is an error, not binary. */
        { "# allocheck trace v1\nmalloc 1 2\x01\n", "line 2: byte 0x01 is not text" },
        { "# allocheck trace v1\n\nfree 1 # caf\xc3\n", "line 3: byte 0xc3 is not text" },
        { "# allocheck trace v1\nfree 1 # \xed\xa0\x80\n", "line 2: byte 0xed is not text" },
        { "# allocheck trace v1\nfree 1 # \xc0\xaf\n", "line 2: byte 0xc0 is not text" },
        { "# allocheck trace v1\ncheck\x7f\n", "line 2: byte 0x7f is not text" },
        /* The header with a blank and no version: nothing past the line is read. */
        { "# allocheck trace \n", "line 1: missing trace version, expected v1" },
        { "# allocheck trace \t ", "line 1: missing trace version, expected v1" },
    };
    trace_t t;
    trace_init(&t);
    char err[256];
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        int rc = parse(&t, table[i].text, err, sizeof err);
        CHECK(rc == -EINVAL, "case %zu: rc %d", i, rc);
        CHECK(strncmp(err, table[i].want, strlen(table[i].want)) == 0,
              "case %zu: got '%s', want '%s...'", i, err, table[i].want);
    }
    /* A long bad token is cut in the message, which stays one short line. */
    char text[600];
    memset(text, 'z', sizeof text);
    text[sizeof text - 1] = '\0';
    CHECK(parse(&t, text, err, sizeof err) == -EINVAL && strlen(err) < 100 && !strchr(err, '\n'),
          "long token: '%s'", err);
    trace_release(&t);
    return 0;
}

/* Extreme values in every field; used by the text <-> binary identity too. */
static const char extreme_text[] =
    "# allocheck trace v1\n"
    "malloc 0 0\nmalloc 1 SIZE_MAX\nmalloc 2 SIZE_MAX-1\nmalloc 31 SIZE_MAX-4097\n"
    "malloc 32 PTRDIFF_MAX\nmalloc 1023 PTRDIFF_MAX+1\nmalloc 500 PTRDIFF_MAX+4097\n"
    "realloc 3 2^20+1\nrealloc 3 2^20+17\nrealloc 4 12345678901234\nrealloc 5 65535\n"
    "realloc 5 65536\nrealloc 5 65537\nrealloc 5 99999\nvalloc 6 PAGE-1\npvalloc 7 1\n"
    "calloc 8 SIZE_MAX SIZE_MAX\ncalloc 9 2^32 2^32\ncalloc 10 0 0\ncalloc 11 3 77777777\n"
    "reallocarray 12 PTRDIFF_MAX 2\nreallocarray 13 1 0x123456789abcdef0\n"
    "aligned_alloc 14 0 0\naligned_alloc 15 SIZE_MAX SIZE_MAX\naligned_alloc 16 3 5\n"
    "posix_memalign 17 2^63 1\nposix_memalign 18 65535 65535\nmemalign 19 2^40 2^40\n"
    "memalign 1022 0x10001 7\nfree 0\nfree_sized 1\nfree_aligned_sized 1023\nusable 31\n"
    "usable 32\ncheck\nthread 0\nthread 7\n";

static int case_print_roundtrip(void)
{
    trace_t a, b;
    trace_init(&a);
    trace_init(&b);
    char err[256];
    CHECK(parse(&a, extreme_text, err, sizeof err) == 0, "%s", err);
    char *text;
    size_t len;
    CHECK(trace_format_text(&a, &text, &len) == 0, "format");
    CHECK(len > sizeof TRACE_TEXT_MAGIC && memcmp(text, TRACE_TEXT_MAGIC "\n",
                                                  sizeof TRACE_TEXT_MAGIC) == 0, "header");
    CHECK(trace_parse_text(&b, text, len, err, sizeof err) == 0, "reparse: %s", err);
    CHECK(same_ops(&a, &b), "print/parse changed the ops (%zu vs %zu)", a.len, b.len);
    /* The printer's canonical form reads the edges naturally. */
    CHECK(memmem(text, len, "malloc 2 SIZE_MAX-1\n", 20) != NULL, "SIZE_MAX-1 not printed");
    CHECK(memmem(text, len, "malloc 1023 PTRDIFF_MAX+1\n", 26) != NULL, "PTRDIFF_MAX+1");
    char line[96];
    op_t op = { .kind = OP_CALLOC, .slot = 9, .nmemb = 10, .size = 24 };
    CHECK(op_format(&op, line, sizeof line) == 14 && strcmp(line, "calloc 9 10 24") == 0,
          "op_format gave '%s'", line);
    trace_buf_release((uint8_t *)text, len);
    trace_release(&a);
    trace_release(&b);
    return 0;
}

static int case_text_binary_text(void)
{
    trace_t a, b, c;
    trace_init(&a);
    trace_init(&b);
    trace_init(&c);
    char err[256];
    CHECK(parse(&a, extreme_text, err, sizeof err) == 0, "%s", err);
    uint8_t *bin, *bin2;
    size_t len, len2;
    CHECK(trace_encode_binary(&a, &bin, &len) == 0, "encode");
    CHECK(trace_is_binary(bin, len), "encoded bytes not recognised as binary");
    CHECK(trace_decode_binary(&b, bin, len) == 0, "decode");
    CHECK(same_ops(&a, &b), "text->binary->text changed the ops (%zu vs %zu)", a.len, b.len);
    /* binary -> text -> binary: the same bytes, as the encoder is canonical. */
    char *text;
    size_t tlen;
    CHECK(trace_format_text(&b, &text, &tlen) == 0, "format");
    CHECK(trace_parse_text(&c, text, tlen, err, sizeof err) == 0, "%s", err);
    CHECK(trace_encode_binary(&c, &bin2, &len2) == 0, "encode 2");
    CHECK(len == len2 && memcmp(bin, bin2, len) == 0, "binary->text->binary differs");
    /* The decoder ignores flags and reserved bytes (format growth keeps old corpora). */
    bin[5] = 0xff, bin[6] = 0x5a, bin[7] = 0xa5;
    trace_clear(&c);
    CHECK(trace_decode_binary(&c, bin, len) == 0 && same_ops(&a, &c), "reserved bytes used");
    trace_buf_release(bin, len);
    trace_buf_release(bin2, len2);
    trace_buf_release((uint8_t *)text, tlen);
    trace_release(&a);
    trace_release(&b);
    trace_release(&c);
    return 0;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static bool ops_in_range(const trace_t *t)
{
    if (t->len > TRACE_BIN_MAX_OPS)
        return false;
    for (size_t i = 0; i < t->len; i++) {
        const op_t *op = &t->ops[i];
        if (op->kind >= OP_COUNT || op->slot >= (op->kind == OP_THREAD ? OPS_THREADS : OPS_SLOTS))
            return false;
    }
    return true;
}

/* Fills buf with one of several input shapes: random, biased to the escapes and wide slots,
 * a header then garbage, a truncated header, runs of one byte. Returns the length. */
static size_t make_input(uint8_t *buf, size_t cap, unsigned shape)
{
    size_t len = rng() % (shape % 7 == 6 ? cap : 96);
    static const uint8_t hot[] = { 0x00, 0xfe, 0xff, 0xc0, 0xc3, 0xff, 0x7f, 0x0e };
    for (size_t i = 0; i < len; i++) {
        uint64_t r = rng();
        buf[i] = shape % 7 == 1 ? hot[r % sizeof hot] : shape % 7 == 4 ? buf[0] : (uint8_t)r;
    }
    if (shape % 7 == 2 || shape % 7 == 3) {
        size_t keep = shape % 7 == 2 ? TRACE_BIN_HEADER_LEN : rng() % TRACE_BIN_HEADER_LEN;
        len = len > keep ? len : keep;
        memcpy(buf, TRACE_BIN_MAGIC "\x01", keep < 5 ? keep : 5);
    }
    return len;
}

/* Every byte string decodes to a valid trace, and decode -> encode -> decode -> encode is
 * stable (the same ops, then the same bytes). */
static int case_decode_total(void)
{
    static uint8_t input[64 * 1024];
    trace_t a, b;
    trace_init(&a);
    trace_init(&b);
    unsigned bad = 0;
    for (unsigned n = 0; n < 100000 && bad < 5; n++) {
        size_t len = make_input(input, n % 500 == 0 ? sizeof input : 512, n);
        trace_clear(&a);
        trace_clear(&b);
        uint8_t *e1, *e2;
        size_t l1, l2;
        int ok = trace_decode_binary(&a, input, len) == 0 && ops_in_range(&a) &&
                 trace_encode_binary(&a, &e1, &l1) == 0;
        if (!ok) {
            CHECK(ok, "input %u (len %zu) did not decode to a valid trace", n, len);
            bad++;
            continue;
        }
        ok = trace_decode_binary(&b, e1, l1) == 0 && same_ops(&a, &b) &&
             trace_encode_binary(&b, &e2, &l2) == 0;
        ok = ok && l1 == l2 && memcmp(e1, e2, l1) == 0;
        CHECK(ok, "input %u (len %zu): encode/decode/encode not stable", n, len);
        bad += !ok;
        trace_buf_release(e1, l1);
        if (ok)
            trace_buf_release(e2, l2);
    }
    CHECK(trace_decode_binary(&a, NULL, 0) == 0, "empty input");
    trace_release(&a);
    trace_release(&b);
    return 0;
}

/* Every op kind and slot is reachable from bytes; decoding is bounded; encoding refuses what
 * would not decode back. */
static int case_binary_limits(void)
{
    trace_t t;
    trace_init(&t);
    for (unsigned k = 0; k < OP_COUNT; k++) {
        uint8_t rec[] = { (uint8_t)k, 0xc3, 0xff, 0, 0 };
        trace_clear(&t);
        trace_decode_binary(&t, rec, sizeof rec);
        CHECK(t.len >= 1 && t.ops[0].kind == k, "kind %u not reachable", k);
    }
    uint8_t wide[] = { OP_FREE, 0xc3, 0xff };
    trace_clear(&t);
    trace_decode_binary(&t, wide, sizeof wide);
    CHECK(t.len == 1 && t.ops[0].slot == 1023, "slot 1023 not reachable");
    static uint8_t checks_only[3 * TRACE_BIN_MAX_OPS];
    memset(checks_only, OP_CHECK, sizeof checks_only);
    trace_clear(&t);
    trace_decode_binary(&t, checks_only, sizeof checks_only);
    CHECK(t.len == TRACE_BIN_MAX_OPS, "decoded %zu ops, bound is %d", t.len, TRACE_BIN_MAX_OPS);
    uint8_t *buf;
    size_t len;
    op_t check = { .kind = OP_CHECK };
    trace_push(&t, &check);
    CHECK(trace_encode_binary(&t, &buf, &len) == -E2BIG, "over-long trace encoded");
    trace_clear(&t);
    op_t bad_slot = { .kind = OP_FREE, .slot = OPS_SLOTS };
    trace_push(&t, &bad_slot);
    CHECK(trace_encode_binary(&t, &buf, &len) == -EINVAL, "out-of-range slot encoded");
    trace_release(&t);
    return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        printf("Bail out! cannot write %s\n", path);
        exit(1);
    }
}

static int case_load_file(void)
{
    char dir[] = "/tmp/test-trace-XXXXXX", path[128], err[512], want[256];
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp\n");
        exit(1);
    }
    trace_t t;
    trace_init(&t);
    snprintf(path, sizeof path, "%s/a.txt", dir);
    write_file(path, extreme_text, strlen(extreme_text));
    CHECK(trace_load_file(&t, path, err, sizeof err) == 0 && t.len > 30, "%s", err);
    uint8_t *bin;
    size_t len;
    CHECK(trace_encode_binary(&t, &bin, &len) == 0, "encode");
    snprintf(path, sizeof path, "%s/a.bin", dir);
    write_file(path, bin, len);
    trace_buf_release(bin, len);
    size_t n = t.len;
    trace_clear(&t);
    CHECK(trace_load_file(&t, path, err, sizeof err) == 0 && t.len == n, "%s", err);
    snprintf(path, sizeof path, "%s/bad.txt", dir);
    write_file(path, "malloc 1 2\nfree 1 2\n", 20);
    snprintf(want, sizeof want, "%s: line 2: free takes 1 argument, got 2", path);
    CHECK(trace_load_file(&t, path, err, sizeof err) == -EINVAL && strcmp(err, want) == 0,
          "got '%s'", err);
    remove(path);
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    CHECK(trace_load_file(&t, path, err, sizeof err) == -ENOENT && strcmp(err, want) == 0,
          "got '%s'", err);
    snprintf(path, sizeof path, "%s/a.txt", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/a.bin", dir);
    remove(path);
    remove(dir);
    trace_release(&t);
    return 0;
}

/* Text built from random fragments either parses and survives print/parse, or fails with a
 * single "line N: ..." message; never anything else. */
static int case_text_random(void)
{
    static const char *const frag[] = {
        "malloc", "calloc", "realloc", "aligned_alloc", "free", "thread", "check", "usable",
        " ", " ", " ", "\n", "\n", "#", "\r", "\t", "0", "1", "7", "1023", "1024", "0x", "ff",
        "SIZE_MAX", "PTRDIFF_MAX", "PAGE", "2^", "64", "+", "-", "\x01", "z",
    };
    char text[256], err[256];
    trace_t a, b;
    trace_init(&a);
    trace_init(&b);
    unsigned bad = 0;
    for (unsigned n = 0; n < 20000 && bad < 5; n++) {
        size_t len = 0;
        for (unsigned k = rng() % 24; k > 0; k--)
            len += (size_t)snprintf(text + len, sizeof text - len, "%s",
                                    frag[rng() % (sizeof frag / sizeof frag[0])]);
        int rc = parse(&a, text, err, sizeof err);
        bool ok = rc == 0 || (rc == -EINVAL && strncmp(err, "line ", 5) == 0 &&
                              !strchr(err, '\n'));
        if (ok && rc == 0) {
            char *out;
            size_t olen;
            trace_clear(&b);
            ok = trace_format_text(&a, &out, &olen) == 0 &&
                 trace_parse_text(&b, out, olen, err, sizeof err) == 0 && same_ops(&a, &b);
            trace_buf_release((uint8_t *)out, olen);
        }
        CHECK(ok, "input %u: rc %d err '%s'", n, rc, err);
        bad += !ok;
    }
    trace_release(&a);
    trace_release(&b);
    return 0;
}

/* The value a selector byte picks, through the decoder: for sizes a malloc record, for
 * alignments an aligned_alloc record. */
static uint64_t selected(bool align, uint8_t sel)
{
    uint8_t rec[] = { align ? OP_ALIGNED_ALLOC : OP_MALLOC, 0, sel, 0 };
    trace_t t;
    trace_init(&t);
    trace_decode_binary(&t, rec, align ? 4 : 3);
    uint64_t v = t.len == 1 ? (align ? t.ops[0].align : t.ops[0].size) : 0xdead;
    trace_release(&t);
    return v;
}

/* docs/TRACE_FORMAT.md's selector tables are what the decoder does (third parties write
 * seeds from them). Rows read "| INDEX | v | v | ... |" after each table's heading. */
static void case_doc_tables(const char *doc)
{
    trace_t t;
    trace_init(&t);
    char err[512];
    FILE *f = fopen(doc, "r");
    CHECK(f != NULL, "cannot open %s", doc);
    char line[1024];
    int table = -1, seen[2] = { 0, 0 };
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "### ", 4) == 0)
            table = strstr(line, "Size table") ? 0 : strstr(line, "Alignment table") ? 1 : -1;
        unsigned base;
        int off;
        if (table < 0 || sscanf(line, "| %u |%n", &base, &off) != 1)
            continue;
        char *cell = strtok(line + off, "|\n");
        for (unsigned k = 0; cell; k++, cell = strtok(NULL, "|\n")) {
            char expr[64], op[96];
            if (sscanf(cell, " %63s", expr) != 1)
                continue;
            snprintf(op, sizeof op, "malloc 0 %s", expr);
            CHECK(parse(&t, op, err, sizeof err) == 0, "doc cell '%s': %s", expr, err);
            CHECK(t.len == 1 && t.ops[0].size == selected(table, (uint8_t)(base + k)),
                  "table %d entry %u: doc says %s", table, base + k, expr);
            seen[table]++;
        }
    }
    CHECK(seen[0] > 100 && seen[1] > 30, "doc tables have %d and %d entries", seen[0], seen[1]);
    CHECK(selected(false, (uint8_t)seen[0]) == 0, "size table longer than documented");
    CHECK(selected(true, (uint8_t)seen[1]) == 1, "alignment table longer than documented");
    if (f)
        fclose(f);
    trace_release(&t);
}

/* A scratch directory for the file cases. */
static void scratch_dir(char *dir)
{
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp\n");
        exit(1);
    }
}

/* Text of n random ops with comments, lines of every length, so lines cross the loader's
 * 64 KiB chunks at every offset. Returns a mapping of *len bytes. */
static char *long_text(size_t n, size_t *len)
{
    size_t cap = 64 + n * 200;
    char *s = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    size_t k = (size_t)sprintf(s, "%s\n", TRACE_TEXT_MAGIC);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        k += (size_t)sprintf(s + k, "malloc %u %u  # %.*s\n", (unsigned)(x % 1024),
                             (unsigned)(x >> 40), (int)(x % 97), "pad pad pad pad pad pad "
                             "pad pad pad pad pad pad pad pad pad pad pad pad pad pad pad pad"
                             " pad pad pad");
        if (x % 5 == 0)
            k += (size_t)sprintf(s + k, "\n# caf\xc3\xa9 \xe2\x9c\x93\nfree %u\n",
                                 (unsigned)(x % 1024));
    }
    *len = k;
    return s;
}

/* A file is read as a stream: the ops and line numbers are those of parsing it whole. */
static int case_load_stream(void)
{
    char dir[] = "/tmp/test-trace-XXXXXX", path[128], err[512];
    scratch_dir(dir);
    snprintf(path, sizeof path, "%s/long.txt", dir);
    size_t len;
    char *text = long_text(40000, &len);
    write_file(path, text, len);
    trace_t a, b;
    trace_init(&a);
    trace_init(&b);
    CHECK(len > 4 * 65536, "only %zu bytes", len);
    CHECK(trace_parse_text(&a, text, len, err, sizeof err) == 0, "%s", err);
    CHECK(trace_load_file(&b, path, err, sizeof err) == 0, "%s", err);
    bool lines = a.len == b.len;
    for (size_t i = 0; lines && i < a.len; i++)
        lines = a.ops[i].line == b.ops[i].line;
    CHECK(same_ops(&a, &b) && lines, "%zu ops read, %zu parsed", b.len, a.len);
    /* A NUL far past the first chunk of a file with the header: a line-numbered error. */
    size_t at = len - 10;
    while (text[at - 1] != '\n')
        at--;
    text[at] = '\0';
    write_file(path, text, len);
    uint32_t want_line = 1;
    for (size_t i = 0; i < at; i++)
        want_line += text[i] == '\n';
    char want[256];
    snprintf(want, sizeof want, "%s: line %u: byte 0x00 is not text", path, want_line);
    trace_clear(&b);
    CHECK(trace_load_file(&b, path, err, sizeof err) == -EINVAL &&
          strncmp(err, want, strlen(want)) == 0, "got '%s', want '%s'", err, want);
    munmap(text, 64 + 40000 * 200);
    remove(path);
    remove(dir);
    trace_release(&a);
    trace_release(&b);
    return 0;
}

/* Without the header, the form is read from the first 64 KiB: a UTF-8 character cut by the
 * chunk's end is still text. */
static int case_load_sniff(void)
{
    char dir[] = "/tmp/test-trace-XXXXXX", path[128], err[512];
    scratch_dir(dir);
    snprintf(path, sizeof path, "%s/utf8.txt", dir);
    static char text[65536 + 64];
    memset(text, ' ', sizeof text);
    for (size_t i = 63; i < 65500; i += 64)
        text[i] = '\n';
    memcpy(text, "malloc 1 2 #", 12);
    text[65534] = '#';
    memcpy(text + 65535, "\xc3\xa9\nfree 1\n", 10);
    write_file(path, text, 65535 + 10);
    trace_t t;
    trace_init(&t);
    CHECK(trace_load_file(&t, path, err, sizeof err) == 0 && t.len == 2, "%s (%zu ops)", err,
          t.len);
    remove(path);
    remove(dir);
    trace_release(&t);
    return 0;
}

/* The fuzz targets' reading of an input agrees with trace_load_file's: a file with the text
 * header is text even when it does not parse (replay then refuses it), binary magic is binary,
 * and headerless bytes are text only when every byte can be. */
static int case_form(void)
{
    static const struct { const char *bytes; size_t len; bool text; } forms[] = {
        { TRACE_TEXT_MAGIC "\nmalloc 0 zz\n", sizeof TRACE_TEXT_MAGIC + 12, true },
        { TRACE_TEXT_PREFIX "v9\n\x01\x02", sizeof TRACE_TEXT_PREFIX + 4, true },
        { "malloc 1 2\nfree 1\n", 18, true },
        { "malloc 1 2\x01\x7f", 12, false },
        { TRACE_BIN_MAGIC "\x01\0\0\0", TRACE_BIN_HEADER_LEN, false },
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        CHECK(trace_bytes_are_text((const uint8_t *)forms[i].bytes, forms[i].len) ==
              forms[i].text, "form %zu: %s", i, forms[i].text ? "text" : "binary");
    return 0;
}

/* Every limit is an error naming it, not memory: a line, a binary file, an endless input,
 * the ops of a trace. */
static int case_load_limits(void)
{
    char dir[] = "/tmp/test-trace-XXXXXX", path[128], err[512], want[256];
    scratch_dir(dir);
    trace_t t;
    trace_init(&t);
    static char line[TRACE_TEXT_MAX_LINE + 2];
    memset(line, '#', sizeof line);
    snprintf(path, sizeof path, "%s/line.txt", dir);
    write_file(path, line, sizeof line);
    snprintf(want, sizeof want, "%s: line 1: longer than 65536 bytes", path);
    CHECK(trace_load_file(&t, path, err, sizeof err) == -EFBIG &&
          strncmp(err, want, strlen(want)) == 0, "got '%s'", err);
    static uint8_t bin[TRACE_BIN_MAX_BYTES + 1];
    memcpy(bin, TRACE_BIN_MAGIC "\x01\0\0\0", TRACE_BIN_HEADER_LEN);
    snprintf(path, sizeof path, "%s/max.bin", dir);
    write_file(path, bin, TRACE_BIN_MAX_BYTES);
    CHECK(trace_load_file(&t, path, err, sizeof err) == 0 && t.len == TRACE_BIN_MAX_OPS,
          "%s (%zu ops)", err, t.len);
    write_file(path, bin, sizeof bin);
    snprintf(want, sizeof want, "%s: longer than 1048576 bytes", path);
    CHECK(trace_load_file(&t, path, err, sizeof err) == -EFBIG &&
          strncmp(err, want, strlen(want)) == 0, "got '%s'", err);
    CHECK(trace_load_file(&t, "/dev/zero", err, sizeof err) == -EFBIG &&
          strncmp(err, "/dev/zero: longer than 1048576 bytes", 36) == 0, "got '%s'", err);
    remove(path);
    snprintf(path, sizeof path, "%s/line.txt", dir);
    remove(path);
    remove(dir);
    /* One op past the cap, in memory: the parser counts, whatever reads the bytes. */
    size_t n = (size_t)TRACE_MAX_OPS + 1, len = n * 6;
    char *text = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < n; i++)
        memcpy(text + 6 * i, "check\n", 6);
    trace_clear(&t);
    snprintf(want, sizeof want, "line %zu: more than %u ops", n, TRACE_MAX_OPS);
    CHECK(trace_parse_text(&t, text, len, err, sizeof err) == -EINVAL &&
          strncmp(err, want, strlen(want)) == 0 && t.len == TRACE_MAX_OPS, "got '%s'", err);
    munmap(text, len);
    trace_release(&t);
    return 0;
}

static const struct tap_case cases[] = {
    { "ops", NULL, case_ops },
    { "numbers", NULL, case_numbers },
    { "layout", NULL, case_layout },
    { "errors", NULL, case_errors },
    { "print-roundtrip", NULL, case_print_roundtrip },
    { "text-binary-text", NULL, case_text_binary_text },
    { "decode-total", NULL, case_decode_total },
    { "binary-limits", NULL, case_binary_limits },
    { "load-file", NULL, case_load_file },
    { "text-random", NULL, case_text_random },
    { "load-stream", NULL, case_load_stream },
    { "load-sniff", NULL, case_load_sniff },
    { "load-limits", NULL, case_load_limits },
    { "form", NULL, case_form },
};

/* `doc-tables DOC` checks the number tables of docs/TRACE_FORMAT.md; otherwise the case
 * table runs (tests/tap.h: all cases, --list, or one by id). */
int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "doc-tables") == 0) {
        tap_in_case = true;
        case_doc_tables(argv[2]);
        tap_in_case = false;
        CHECK(tap_bad == 0, "doc-tables (%d checks)", tap_checks);
        return tap_done();
    }
    return tap_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
