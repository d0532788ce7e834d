/* Traces: the text form v1 (stable, human-facing: corpus, replay, findings) and the binary
 * form fuzzers mutate (DESIGN §4), and lossless conversion between them.
 * Binary: a versioned header with reserved bytes, then compact records. The decoder is total:
 * every byte string decodes to a valid trace; sizes are drawn with a bias toward the
 * boundaries that break allocators. Encoding what the decoder produced gives bytes that decode
 * to the same ops (text -> binary -> text is the identity on ops).
 * Memory for ops comes from mmap (see ops.h). */
#ifndef ALLOCHECK_SRC_TRACE_H
#define ALLOCHECK_SRC_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/ops.h"

#define TRACE_TEXT_MAGIC "# allocheck trace v1"

/* Binary header (docs/TRACE_FORMAT.md): 4 magic bytes, a version byte, a flags byte and two
 * reserved bytes the decoder ignores. */
#define TRACE_BIN_MAGIC "\x7f" "ACT"
#define TRACE_BIN_MAGIC_LEN 4
#define TRACE_BIN_VERSION 1
#define TRACE_BIN_HEADER_LEN 8
/* The decoder stops after this many ops so each fuzz input's work is bounded; the encoder
 * refuses longer traces (-E2BIG) rather than write bytes that would not decode back. */
#define TRACE_BIN_MAX_OPS 4096

void trace_init(trace_t *t);
void trace_release(trace_t *t);          /* frees the ops; t is reusable after trace_init */
void trace_clear(trace_t *t);            /* len = 0, keeps capacity */
int trace_push(trace_t *t, const op_t *op);  /* 0 or -ENOMEM */
int trace_copy(trace_t *dst, const trace_t *src);  /* dst (initialised) becomes a copy */

/* True if a and b are the same operation: kind, slot and the arguments the kind uses
 * (line numbers and unused fields are ignored). */
bool op_equal(const op_t *a, const op_t *b);

const char *op_name(op_kind_t k);        /* "malloc", ..., "thread" */
int op_from_name(const char *name, size_t len);  /* op_kind_t, or -1 */

/* Parses text. On error returns -EINVAL and writes "line N: what is wrong" into err. Ops get
 * their line numbers. Numbers: decimal, 0x hex, and expressions of SIZE_MAX, PTRDIFF_MAX,
 * PAGE (4096), powers like 2^20, combined with + and - ("SIZE_MAX-16"). */
int trace_parse_text(trace_t *t, const char *text, size_t len, char *err, size_t errlen);

/* Writes the text form (header line first) to fd. Returns 0 or -errno. */
int trace_write_text(const trace_t *t, int fd);

/* Formats the text form (header line first) into a buffer from mmap (release with
 * trace_buf_release). Returns 0 or -ENOMEM. */
int trace_format_text(const trace_t *t, char **out, size_t *outlen);

/* Formats one op as a text line without newline. Returns the length snprintf would. */
int op_format(const op_t *op, char *buf, size_t len);

/* True if the bytes look like the binary form's header (versus text). */
bool trace_is_binary(const uint8_t *data, size_t len);

/* Decodes any byte string (total). Appends to t. Returns 0 or -ENOMEM. */
int trace_decode_binary(trace_t *t, const uint8_t *data, size_t len);

/* Encodes t as binary into a buffer from mmap (release with trace_buf_release).
 * Returns 0, -ENOMEM, -EINVAL (an op out of range) or -E2BIG (over TRACE_BIN_MAX_OPS). */
int trace_encode_binary(const trace_t *t, uint8_t **out, size_t *outlen);
void trace_buf_release(uint8_t *buf, size_t len);

/* Reads a file in either form ("-" reads stdin). Appends to t. Errors: -errno with
 * "PATH: reason" or "PATH: line N: ..." in err. */
int trace_load_file(trace_t *t, const char *path, char *err, size_t errlen);

#endif
