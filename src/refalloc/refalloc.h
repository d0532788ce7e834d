/* The reference allocator's entry points. Built twice from the same sources: into the tool
 * with REFALLOC_PREFIXED (names refalloc_malloc, ...; hidden), and as liballocheck-ref.so with
 * the standard names (exported, LD_PRELOAD-able). REF_API(name) picks the spelling; REF_EXPORT
 * marks the 13 entry points, the only symbols the .so exports (everything else is hidden).
 *
 * Documented choices (where the standards leave room):
 * - malloc(0) returns a unique pointer with 8 usable bytes.
 * - realloc(p, 0) with p != NULL frees p and returns NULL, as glibc does (C17 7.22.3.5 makes
 *   it implementation-defined and C23 undefined; programs run under LD_PRELOAD were written
 *   against glibc, so freeing is what breaks nobody), and sets errno to EINVAL as
 *   POSIX.1-2024 asks, so a program can tell that NULL from a failure with the block still
 *   live. reallocarray(p, 0, n) does the same.
 * - aligned_alloc accepts any size (C17 DR 460) and any power-of-two alignment; memalign
 *   rejects a non-power-of-two alignment with EINVAL (glibc would round it up).
 * - Requests of 2^47 bytes or more (the x86-64 user address space) fail with ENOMEM, so no
 *   size + alignment + header arithmetic can wrap.
 * - free_sized / free_aligned_sized abort when the size or alignment does not match the block
 *   (C23 7.24.3.4-5 make that undefined; catching it is a feature). Errors found on free
 *   (double free, foreign pointer, overwritten header) print one line and abort().
 * - Misuse it detects, each with one line and abort() (docs/HARDENING-refalloc.md has what
 *   it does not, and the cost): a double free from any thread, a pointer it never returned,
 *   a header overwritten before a block or by an overflow from the block before it, an
 *   overflow past a block into the next slot's header (seen when either block is freed), a
 *   free-list link rewritten after free (seen before the slot is handed out), a size or
 *   alignment that does not match in the sized frees. */
#ifndef ALLOCHECK_REFALLOC_H
#define ALLOCHECK_REFALLOC_H

#include <stddef.h>

#ifdef REFALLOC_PREFIXED
#define REF_API(name) refalloc_##name
#define REF_EXPORT
#else
#define REF_API(name) name
#define REF_EXPORT __attribute__((visibility("default")))
#endif

REF_EXPORT void *REF_API(malloc)(size_t size);
REF_EXPORT void *REF_API(calloc)(size_t nmemb, size_t size);
REF_EXPORT void *REF_API(realloc)(void *ptr, size_t size);
REF_EXPORT void *REF_API(reallocarray)(void *ptr, size_t nmemb, size_t size);
REF_EXPORT void REF_API(free)(void *ptr);
REF_EXPORT void *REF_API(aligned_alloc)(size_t alignment, size_t size);
REF_EXPORT int REF_API(posix_memalign)(void **memptr, size_t alignment, size_t size);
REF_EXPORT void *REF_API(memalign)(size_t alignment, size_t size);
REF_EXPORT void *REF_API(valloc)(size_t size);
REF_EXPORT void *REF_API(pvalloc)(size_t size);
REF_EXPORT size_t REF_API(malloc_usable_size)(void *ptr);
REF_EXPORT void REF_API(free_sized)(void *ptr, size_t size);
REF_EXPORT void REF_API(free_aligned_sized)(void *ptr, size_t alignment, size_t size);

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
