/* A first-fit heap over memory its caller owns: the small, correct allocator that the embedded
 * test allocators (pool.c, and the TLSF-named API in tlsf.c that the README's plugin example
 * compiles against) are built from. Not thread-safe, never touches errno.
 * Terms: "grain" is the payload alignment and size granularity (4 or 8 bytes, as firmware heaps
 * use); a chunk is a grain-sized header holding its size (low bit: in use) and the payload. */
#ifndef ALLOCHECK_TESTS_BUGS_DECLARED_FFHEAP_H
#define ALLOCHECK_TESTS_BUGS_DECLARED_FFHEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct ffheap {
    unsigned char *base;
    uint32_t size, grain, free_head;
} ffheap_t;

/* Sets h up over [mem, mem + bytes); mem aligned to grain, bytes < 4 GiB. */
void ff_init(ffheap_t *h, void *mem, size_t bytes, uint32_t grain);
void *ff_malloc(ffheap_t *h, size_t n);
void *ff_calloc(ffheap_t *h, size_t m, size_t n);
void *ff_realloc(ffheap_t *h, void *p, size_t n);
/* Any power-of-two alignment the heap can hold. */
void *ff_memalign(ffheap_t *h, size_t al, size_t n);
void ff_free(ffheap_t *h, void *p);
size_t ff_usable(ffheap_t *h, void *p);

#endif
