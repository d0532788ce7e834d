/* The binary trace form fuzzers mutate (docs/TRACE_FORMAT.md): an 8-byte header, then
 * records of an opcode byte, a slot (1 or 2 bytes) and value selectors that pick from tables
 * of boundary sizes and alignments, with escapes for raw values.
 * The decoder is total: every byte string is a valid trace; a missing byte reads as 0, and
 * input that does not start with the magic is all records under a default header (v1).
 * Versions: v1 knows 15 op kinds (opcode % 15), v2 adds fork (opcode % 16); the encoder
 * writes v2 only for a trace with a fork, so other traces keep their v1 bytes. */
#include <errno.h>
#include <string.h>

#include "src/trace/trace.h"
#include "src/trace/trace_mem.h"

#define SEL_RAW16 0xfe          /* two little-endian bytes follow */
#define SEL_RAW64 0xff          /* eight little-endian bytes follow */
#define SLOT_WIDE 0xc0          /* a slot byte at or above this takes a second byte */
#define SLOT_NARROW 32          /* slots 0..31 fit in one byte: mutations hit the same blocks */

#define P2(k) ((uint64_t)1 << (k))
#define AROUND(v) (v) - 1, (v), (v) + 1

/* Sizes that break allocators: size-class edges, powers of two +-1, the page, the common
 * mmap thresholds, calloc overflow factors, and the signed/unsigned limits. Part of the
 * format: append only (an index must keep its value). */
static const uint64_t size_table[] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 15, 16, 17, 20, 23, 24, 25, 31, 32, 33, 40,
    47, 48, 49, 56, 63, 64, 65, 72, 80, 96, 100, 112, AROUND(128), 144, 160, 176, 192, 208,
    224, 240, AROUND(256), 320, 384, 448, AROUND(512), 640, 768, 896, 1000, AROUND(1024),
    1280, 1536, 1792, AROUND(2048), 2560, 3072, 3584, AROUND(4096), 6144, AROUND(8192),
    12288, AROUND(16384), AROUND(32768), AROUND(65536), AROUND(P2(17)), AROUND(P2(18)),
    AROUND(P2(20)), P2(21), P2(22), AROUND(P2(24)), P2(25), AROUND(P2(26)), P2(28), P2(30),
    P2(31), AROUND(P2(32)), P2(33), P2(40), P2(48), P2(62), INT64_MAX - 4096, INT64_MAX - 1,
    INT64_MAX, P2(63), P2(63) + 1, UINT64_MAX - 4096, UINT64_MAX - 64, UINT64_MAX - 16,
    UINT64_MAX - 1, UINT64_MAX,
};

/* Alignments: every power of two the functions are asked for, then invalid ones (0, not a
 * power of two, absurdly large) for the EINVAL paths. Append only. */
static const uint64_t align_table[] = {
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536,
    P2(17), P2(20), P2(21), P2(24), P2(26), P2(30), 0, 3, 12, 24, 48, 100, 4095, 4097,
    P2(62), P2(63), UINT64_MAX,
};

#define NSIZES (sizeof size_table / sizeof size_table[0])
#define NALIGNS (sizeof align_table / sizeof align_table[0])
_Static_assert(NSIZES < SEL_RAW16 && NALIGNS < SEL_RAW16, "selector tables too long");

/* Which values each op kind's record carries after its slot. */
enum { REC_NONE, REC_SLOT, REC_SIZE, REC_NMEMB_SIZE, REC_ALIGN_SIZE, REC_THREAD, REC_FORK };

/* Op kinds a version's opcodes reach: v1 ends at thread. */
#define KINDS_V1 (OP_THREAD + 1)

static const uint8_t record_shape[OP_COUNT] = {
    [OP_MALLOC] = REC_SIZE,
    [OP_CALLOC] = REC_NMEMB_SIZE,
    [OP_REALLOC] = REC_SIZE,
    [OP_REALLOCARRAY] = REC_NMEMB_SIZE,
    [OP_ALIGNED_ALLOC] = REC_ALIGN_SIZE,
    [OP_POSIX_MEMALIGN] = REC_ALIGN_SIZE,
    [OP_MEMALIGN] = REC_ALIGN_SIZE,
    [OP_VALLOC] = REC_SIZE,
    [OP_PVALLOC] = REC_SIZE,
    [OP_FREE] = REC_SLOT,
    [OP_FREE_SIZED] = REC_SLOT,
    [OP_FREE_ALIGNED_SIZED] = REC_SLOT,
    [OP_USABLE] = REC_SLOT,
    [OP_CHECK] = REC_NONE,
    [OP_THREAD] = REC_THREAD,
    [OP_FORK] = REC_FORK,
};

bool trace_is_binary(const uint8_t *data, size_t len)
{
    return len >= TRACE_BIN_MAGIC_LEN && memcmp(data, TRACE_BIN_MAGIC, TRACE_BIN_MAGIC_LEN) == 0;
}

typedef struct reader {
    const uint8_t *p;
    size_t n, i;
    unsigned kinds;     /* opcode % kinds is the op kind (by version) */
} reader_t;

/* Past the end every byte reads as 0, so a truncated record is still a record. */
static uint8_t next_byte(reader_t *r)
{
    return r->i < r->n ? r->p[r->i++] : 0;
}

static uint64_t next_le(reader_t *r, int bytes)
{
    uint64_t v = 0;
    for (int k = 0; k < bytes; k++)
        v |= (uint64_t)next_byte(r) << (8 * k);
    return v;
}

static uint64_t next_value(reader_t *r, const uint64_t *table, size_t n)
{
    uint8_t sel = next_byte(r);
    if (sel == SEL_RAW16)
        return next_le(r, 2);
    if (sel == SEL_RAW64)
        return next_le(r, 8);
    return table[sel % n];
}

static uint16_t next_slot(reader_t *r)
{
    uint8_t b = next_byte(r);
    if (b < SLOT_WIDE)
        return b % SLOT_NARROW;
    return (uint16_t)((((unsigned)(b - SLOT_WIDE) << 8) | next_byte(r)) % OPS_SLOTS);
}

static op_t next_op(reader_t *r)
{
    op_t op = { .kind = next_byte(r) % r->kinds };
    switch (record_shape[op.kind]) {
    case REC_THREAD:
    case REC_FORK:
        op.slot = next_byte(r) % OPS_THREADS;
        break;
    case REC_NMEMB_SIZE:
        op.slot = next_slot(r);
        op.nmemb = next_value(r, size_table, NSIZES);
        op.size = next_value(r, size_table, NSIZES);
        break;
    case REC_ALIGN_SIZE:
        op.slot = next_slot(r);
        op.align = next_value(r, align_table, NALIGNS);
        op.size = next_value(r, size_table, NSIZES);
        break;
    case REC_SIZE:
        op.slot = next_slot(r);
        op.size = next_value(r, size_table, NSIZES);
        break;
    case REC_SLOT:
        op.slot = next_slot(r);
        break;
    }
    return op;
}

int trace_decode_binary(trace_t *t, const uint8_t *data, size_t len)
{
    reader_t r = { data, len, 0, KINDS_V1 };
    /* Header: magic, version, flags, two reserved bytes. No version defines flags; the
     * decoder ignores flags and reserved bytes so inputs survive format growth. A version
     * byte of 2 or more reads as 2 (the newest this decoder knows); 0 and 1 as 1. */
    if (trace_is_binary(data, len)) {
        r.i = len < TRACE_BIN_HEADER_LEN ? len : TRACE_BIN_HEADER_LEN;
        if (len > TRACE_BIN_MAGIC_LEN && data[TRACE_BIN_MAGIC_LEN] >= TRACE_BIN_VERSION_FORK)
            r.kinds = OP_COUNT;
    }
    for (size_t count = 0; r.i < r.n && count < TRACE_BIN_MAX_OPS; count++) {
        op_t op = next_op(&r);
        int rc = trace_push(t, &op);
        if (rc)
            return rc;
    }
    return 0;
}

typedef struct writer {
    uint8_t *p;
    size_t n;
} writer_t;

static void put_value(writer_t *w, uint64_t v, const uint64_t *table, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (table[k] == v) {
            w->p[w->n++] = (uint8_t)k;
            return;
        }
    }
    int bytes = v <= 0xffff ? 2 : 8;
    w->p[w->n++] = bytes == 2 ? SEL_RAW16 : SEL_RAW64;
    for (int k = 0; k < bytes; k++)
        w->p[w->n++] = (uint8_t)(v >> (8 * k));
}

static void put_slot(writer_t *w, uint16_t slot)
{
    if (slot < SLOT_NARROW) {
        w->p[w->n++] = (uint8_t)slot;
        return;
    }
    w->p[w->n++] = (uint8_t)(SLOT_WIDE + (slot >> 8));
    w->p[w->n++] = (uint8_t)slot;
}

static int put_op(writer_t *w, const op_t *op)
{
    if (op->kind >= OP_COUNT)
        return -EINVAL;
    int shape = record_shape[op->kind];
    if (op->slot >= (shape == REC_THREAD || shape == REC_FORK ? OPS_THREADS : OPS_SLOTS))
        return -EINVAL;
    w->p[w->n++] = op->kind;
    if (shape == REC_THREAD || shape == REC_FORK)
        w->p[w->n++] = (uint8_t)op->slot;
    else if (shape != REC_NONE)
        put_slot(w, op->slot);
    if (shape == REC_NMEMB_SIZE)
        put_value(w, op->nmemb, size_table, NSIZES);
    if (shape == REC_ALIGN_SIZE)
        put_value(w, op->align, align_table, NALIGNS);
    if (shape == REC_SIZE || shape == REC_NMEMB_SIZE || shape == REC_ALIGN_SIZE)
        put_value(w, op->size, size_table, NSIZES);
    return 0;
}

int trace_encode_binary(const trace_t *t, uint8_t **out, size_t *outlen)
{
    if (t->len > TRACE_BIN_MAX_OPS)
        return -E2BIG;
    void *p = NULL;
    size_t cap = 0;
    int rc = trace_mem_reserve(&p, &cap, TRACE_BIN_HEADER_LEN + t->len * TRACE_BIN_RECORD_MAX);
    if (rc)
        return rc;
    writer_t w = { p, 0 };
    uint8_t header[TRACE_BIN_HEADER_LEN - TRACE_BIN_MAGIC_LEN] = {
        (uint8_t)trace_version_needed(t), 0, 0, 0 };
    memcpy(w.p, TRACE_BIN_MAGIC, TRACE_BIN_MAGIC_LEN);
    memcpy(w.p + TRACE_BIN_MAGIC_LEN, header, sizeof header);
    w.n = TRACE_BIN_HEADER_LEN;
    for (size_t i = 0; i < t->len && rc == 0; i++)
        rc = put_op(&w, &t->ops[i]);
    if (rc) {
        trace_mem_release(p, cap);
        return rc;
    }
    trace_mem_trim(p, cap, w.n);
    *out = w.p;
    *outlen = w.n;
    return 0;
}
