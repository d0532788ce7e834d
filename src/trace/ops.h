/* The operation model (docs/TRACE_FORMAT.md): a test or fuzz input is a sequence of operations over a
 * fixed table of slots. Text traces, binary fuzz inputs, the generator, the executor and the
 * reproducer writer all speak op_t.
 * Terms: "slot" is an index into the table of live blocks (0..OPS_SLOTS-1); an op on an empty
 * slot frees nothing / reallocs NULL; an allocation into a full slot frees the old block first.
 * For OP_THREAD, `slot` holds the thread index (0..OPS_THREADS-1); for OP_FORK, the number of
 * other harness threads kept busy in the allocator while the fork happens (0..OPS_THREADS-1). */
#ifndef ALLOCHECK_SRC_TRACE_OPS_H
#define ALLOCHECK_SRC_TRACE_OPS_H

#include <stddef.h>
#include <stdint.h>

#define OPS_SLOTS 1024
#define OPS_THREADS 8

typedef enum op_kind {
    OP_MALLOC,              /* malloc S N            size */
    OP_CALLOC,              /* calloc S NMEMB N      nmemb, size */
    OP_REALLOC,             /* realloc S N           size */
    OP_REALLOCARRAY,        /* reallocarray S NMEMB N nmemb, size */
    OP_ALIGNED_ALLOC,       /* aligned_alloc S ALIGN N  align, size */
    OP_POSIX_MEMALIGN,      /* posix_memalign S ALIGN N align, size */
    OP_MEMALIGN,            /* memalign S ALIGN N    align, size */
    OP_VALLOC,              /* valloc S N            size */
    OP_PVALLOC,             /* pvalloc S N           size */
    OP_FREE,                /* free S */
    OP_FREE_SIZED,          /* free_sized S          (the block's requested size) */
    OP_FREE_ALIGNED_SIZED,  /* free_aligned_sized S  (its alignment and size) */
    OP_USABLE,              /* usable S: query the usable size and write all of it */
    OP_CHECK,               /* check: verify every live block */
    OP_THREAD,              /* thread T: the ops that follow run on thread T */
    OP_FORK,                /* fork B: fork while B other threads are busy in the allocator;
                               the child checks what it inherited and uses every function
                               (trace format v2) */
    OP_COUNT
} op_kind_t;

typedef struct op {
    uint8_t kind;       /* op_kind_t */
    uint8_t reserved;
    uint16_t slot;      /* slot, thread index for OP_THREAD, busy threads for OP_FORK */
    uint32_t line;      /* line in the text trace it came from; 0 when generated */
    uint64_t nmemb;     /* calloc, reallocarray */
    uint64_t size;      /* bytes (per member for calloc/reallocarray) */
    uint64_t align;     /* aligned_alloc, posix_memalign, memalign */
} op_t;

/* A growable sequence of ops. Its memory comes from mmap, never from any malloc, so a
 * scribbling allocator cannot corrupt it and it works under preload: specs. */
typedef struct trace {
    op_t *ops;
    size_t len;
    size_t cap;
} trace_t;

#endif
