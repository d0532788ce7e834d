/* The reference allocator's entry points. Built twice from the same sources: into the tool
 * with REFALLOC_PREFIXED (names refalloc_malloc, ...; hidden), and as liballocheck-ref.so with
 * the standard names (exported, LD_PRELOAD-able). REF_API(name) picks the spelling. */
#ifndef ALLOCHECK_REFALLOC_H
#define ALLOCHECK_REFALLOC_H

#include <stddef.h>

#ifdef REFALLOC_PREFIXED
#define REF_API(name) refalloc_##name
#else
#define REF_API(name) name
#endif

void *REF_API(malloc)(size_t size);
void *REF_API(calloc)(size_t nmemb, size_t size);
void *REF_API(realloc)(void *ptr, size_t size);
void *REF_API(reallocarray)(void *ptr, size_t nmemb, size_t size);
void REF_API(free)(void *ptr);
void *REF_API(aligned_alloc)(size_t alignment, size_t size);
int REF_API(posix_memalign)(void **memptr, size_t alignment, size_t size);
void *REF_API(memalign)(size_t alignment, size_t size);
void *REF_API(valloc)(size_t size);
void *REF_API(pvalloc)(size_t size);
size_t REF_API(malloc_usable_size)(void *ptr);
void REF_API(free_sized)(void *ptr, size_t size);
void REF_API(free_aligned_sized)(void *ptr, size_t alignment, size_t size);

/* The tool always sees the prefixed names; alloc.c includes this with REFALLOC_PREFIXED. */
void *refalloc_malloc(size_t size);
void *refalloc_calloc(size_t nmemb, size_t size);
void *refalloc_realloc(void *ptr, size_t size);
void *refalloc_reallocarray(void *ptr, size_t nmemb, size_t size);
void refalloc_free(void *ptr);
void *refalloc_aligned_alloc(size_t alignment, size_t size);
int refalloc_posix_memalign(void **memptr, size_t alignment, size_t size);
void *refalloc_memalign(size_t alignment, size_t size);
void *refalloc_valloc(size_t size);
void *refalloc_pvalloc(size_t size);
size_t refalloc_malloc_usable_size(void *ptr);
void refalloc_free_sized(void *ptr, size_t size);
void refalloc_free_aligned_sized(void *ptr, size_t alignment, size_t size);

#endif
