/* Traces: the text form v1 (stable, human-facing: corpus, replay, findings) and the binary
 * form fuzzers mutate, and lossless conversion between them.
 * Binary: a versioned header with reserved bytes, then compact records. The decoder is total:
 * every byte string decodes to a valid trace; sizes are drawn with a bias toward the
 * boundaries that break allocators. Encoding what the decoder produced gives bytes that decode
 * to the same ops (text -> binary -> text is the identity on ops).
 * Memory for ops comes from mmap (see ops.h). */
#ifndef ALLOCHECK_SRC_TRACE_TRACE_H
#define ALLOCHECK_SRC_TRACE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/trace/ops.h"

#define TRACE_TEXT_MAGIC "# allocheck trace v1"
/* A file starting with this is text, always: a bad byte in it is an error, not binary. */
#define TRACE_TEXT_PREFIX "# allocheck trace "

/* Limits of a trace file, so reading one costs bounded memory and an endless input (a pipe,
 * /dev/zero) ends in an error: the ops a text trace may hold (4 Mi ops, 128 MiB of op_t; the
 * fuzzer's longest sequences are 1 M ops), the longest text line and the bytes a text file
 * may have. A binary file may have TRACE_BIN_MAX_BYTES (the largest AFL++ input); its decoder
 * stops at TRACE_BIN_MAX_OPS anyway. */
#define TRACE_MAX_OPS 4194304u
#define TRACE_TEXT_MAX_LINE 65536u
#define TRACE_TEXT_MAX_BYTES (1ull << 30)
#define TRACE_BIN_MAX_BYTES (1u << 20)

/* Binary header (docs/TRACE_FORMAT.md): 4 magic bytes, a version byte, a flags byte and two
 * reserved bytes the decoder ignores. */
#define TRACE_BIN_MAGIC "\x7f" "ACT"
#define TRACE_BIN_MAGIC_LEN 4
#define TRACE_BIN_VERSION 1
#define TRACE_BIN_HEADER_LEN 8
/* The decoder stops after this many ops so each fuzz input's work is bounded; the encoder
 * refuses longer traces (-E2BIG) rather than write bytes that would not decode back. */
#define TRACE_BIN_MAX_OPS 4096
/* The longest record: opcode, a two-byte slot, two values of a selector and 8 raw bytes. */
#define TRACE_BIN_RECORD_MAX (1 + 2 + 2 * 9)

void trace_init(trace_t *t);
void trace_release(trace_t *t);          /* frees the ops; t is reusable after trace_init */
void trace_clear(trace_t *t);            /* len = 0, keeps capacity */
int trace_push(trace_t *t, const op_t *op);  /* 0 or -ENOMEM */
int trace_copy(trace_t *dst, const trace_t *src);  /* dst (initialised) becomes a copy */

/* True if a and b are the same operation: kind, slot and the arguments the kind uses
 * (line numbers and unused fields are ignored). */
bool op_equal(const op_t *a, const op_t *b);

/* What an op needs of the harness beyond one thread of one process, in OPF_* bits. */
enum { OPF_THREADS = 1, OPF_PROCESSES = 2 };
unsigned op_needs(op_kind_t k);
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

/* Whether a whole input is a text trace by the rule trace_load_file follows (the binary
 * magic: binary; the text header: text, whatever follows; else text when every byte can be),
 * so a fuzz target reads a crash file as replay will. */
bool trace_bytes_are_text(const uint8_t *data, size_t len);

/* Decodes any byte string (total). Appends to t. Returns 0 or -ENOMEM. */
int trace_decode_binary(trace_t *t, const uint8_t *data, size_t len);

/* Encodes t as binary into a buffer from mmap (release with trace_buf_release).
 * Returns 0, -ENOMEM, -EINVAL (an op out of range) or -E2BIG (over TRACE_BIN_MAX_OPS). */
int trace_encode_binary(const trace_t *t, uint8_t **out, size_t *outlen);
void trace_buf_release(uint8_t *buf, size_t len);

/* Reads a file in either form ("-" reads stdin) as a stream: the bytes are never all in
 * memory, only the ops. Appends to t. Errors: -errno with "PATH: reason" or
 * "PATH: line N: ..." in err; -EFBIG past a limit above. The form: binary when the file
 * starts with TRACE_BIN_MAGIC, text when it starts with TRACE_TEXT_PREFIX; otherwise text
 * when its first 64 KiB are text bytes (printable ASCII, tab, line ends, UTF-8), else binary
 * (a fuzzer's crash file need not start with the magic). */
int trace_load_file(trace_t *t, const char *path, char *err, size_t errlen);
/* trace_load_file with only the reason in why (no "PATH: "), for callers that show the
 * path their own way. */
int trace_load(trace_t *t, const char *path, char *why, size_t whylen);

#endif
