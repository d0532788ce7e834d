/* What trace*.c share and nobody else uses: memory for traces and their encoded forms
 * (anonymous mappings grown with mremap, so nothing here touches any malloc: the allocator
 * under test may be the process's malloc under preload: specs, and may scribble over its own
 * heap), and the text parser one line at a time, for reading a file as a stream. */
#ifndef ALLOCHECK_SRC_TRACE_TRACE_MEM_H
#define ALLOCHECK_SRC_TRACE_TRACE_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/trace/trace.h"

/* Makes *p (a mapping of *cap bytes, or NULL with *cap 0) hold at least need bytes, growing
 * geometrically; *cap stays a multiple of the page size. Returns 0 or -ENOMEM. */
int trace_mem_reserve(void **p, size_t *cap, size_t need);

/* Shrinks a mapping of cap bytes to the pages covering len bytes (at least one page), so
 * trace_buf_release(p, len) frees all of it. */
void trace_mem_trim(void *p, size_t cap, size_t len);

/* Unmaps the pages covering len bytes at p (nothing when p is NULL). */
void trace_mem_release(void *p, size_t len);

/* The text parser's state between lines. */
typedef struct text_parser {
    trace_t *t;
    uint32_t line;
    unsigned version;   /* the header's (1 or 2); 0 before a header line or without one */
    char *err;
    size_t errlen;
} text_parser_t;

void text_parser_init(text_parser_t *ps, trace_t *t, char *err, size_t errlen);
/* Parses the next line (n bytes, without its '\n'). Returns 0, -EINVAL with "line N: ..." in
 * the parser's err, or -ENOMEM. */
int text_parse_line(text_parser_t *ps, const char *s, size_t n);

/* True if data starts with the text header's prefix: such a file is text, whatever follows. */
bool trace_text_has_header(const uint8_t *data, size_t len);
/* The index of the first byte that cannot be in a text trace (a control byte other than tab
 * and line ends, or invalid UTF-8), or n. With more, a UTF-8 sequence cut at n is fine. */
size_t trace_text_bad_byte(const uint8_t *s, size_t n, bool more);

#endif
