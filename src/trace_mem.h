/* Memory for traces and their encoded forms, shared by trace*.c only: anonymous mappings
 * grown with mremap, so nothing here touches any malloc (the allocator under test may be the
 * process's malloc under preload: specs, and may scribble over its own heap). */
#ifndef ALLOCHECK_SRC_TRACE_MEM_H
#define ALLOCHECK_SRC_TRACE_MEM_H

#include <stddef.h>

/* Makes *p (a mapping of *cap bytes, or NULL with *cap 0) hold at least need bytes, growing
 * geometrically; *cap stays a multiple of the page size. Returns 0 or -ENOMEM. */
int trace_mem_reserve(void **p, size_t *cap, size_t need);

/* Shrinks a mapping of cap bytes to the pages covering len bytes (at least one page), so
 * trace_buf_release(p, len) frees all of it. */
void trace_mem_trim(void *p, size_t cap, size_t len);

/* Unmaps the pages covering len bytes at p (nothing when p is NULL). */
void trace_mem_release(void *p, size_t len);

#endif
