/* The list of every check, in registry order, as an X-macro: CHECK(name) names the check_t
 * object `check_<name>` defined in its family file. registry.c expands it into
 * conform_checks[]; family files include it for the declarations, so the compiler sees every
 * check declared before it is defined. Add a check: define it in its family, add one line here. */
#ifndef ALLOCHECK_CONFORMANCE_CHECKS_H
#define ALLOCHECK_CONFORMANCE_CHECKS_H

#include "conformance/check.h"

#define CONFORM_CHECK_LIST(CHECK) \
    CHECK(functions_present) \
    CHECK(malloc_align) \
    CHECK(malloc_no_overlap) \
    CHECK(malloc_writable) \
    CHECK(calloc_align) \
    CHECK(calloc_no_overlap) \
    CHECK(calloc_writable) \
    CHECK(realloc_align) \
    CHECK(realloc_no_overlap) \
    CHECK(realloc_writable) \
    CHECK(reallocarray_align) \
    CHECK(reallocarray_no_overlap) \
    CHECK(reallocarray_writable) \
    CHECK(aligned_alloc_align) \
    CHECK(aligned_alloc_no_overlap) \
    CHECK(aligned_alloc_writable) \
    CHECK(posix_memalign_align) \
    CHECK(posix_memalign_no_overlap) \
    CHECK(posix_memalign_writable) \
    CHECK(memalign_align) \
    CHECK(memalign_no_overlap) \
    CHECK(memalign_writable) \
    CHECK(valloc_align) \
    CHECK(valloc_no_overlap) \
    CHECK(valloc_writable) \
    CHECK(pvalloc_align) \
    CHECK(pvalloc_no_overlap) \
    CHECK(pvalloc_writable) \
    CHECK(malloc_huge_top) \
    CHECK(malloc_huge_high_bits) \
    CHECK(malloc_huge_enomem) \
    CHECK(calloc_huge_top) \
    CHECK(calloc_huge_high_bits) \
    CHECK(calloc_huge_enomem) \
    CHECK(realloc_huge_top) \
    CHECK(realloc_huge_high_bits) \
    CHECK(realloc_huge_enomem) \
    CHECK(reallocarray_huge_top) \
    CHECK(reallocarray_huge_high_bits) \
    CHECK(reallocarray_huge_enomem) \
    CHECK(aligned_alloc_huge_top) \
    CHECK(aligned_alloc_huge_high_bits) \
    CHECK(aligned_alloc_huge_enomem) \
    CHECK(posix_memalign_huge_top) \
    CHECK(posix_memalign_huge_high_bits) \
    CHECK(posix_memalign_huge_enomem) \
    CHECK(memalign_huge_top) \
    CHECK(memalign_huge_high_bits) \
    CHECK(memalign_huge_enomem) \
    CHECK(valloc_huge_top) \
    CHECK(valloc_huge_high_bits) \
    CHECK(valloc_huge_enomem) \
    CHECK(pvalloc_huge_top) \
    CHECK(pvalloc_huge_high_bits) \
    CHECK(pvalloc_huge_enomem) \
    CHECK(aligned_alloc_huge_align) \
    CHECK(posix_memalign_huge_align) \
    CHECK(memalign_huge_align) \
    CHECK(malloc_zero) \
    CHECK(malloc_zero_unique) \
    CHECK(malloc_size_max) \
    CHECK(malloc_every_small_size) \
    CHECK(malloc_contents_kept) \
    CHECK(malloc_free_reuse) \
    CHECK(malloc_large) \
    CHECK(calloc_zeroed_small) \
    CHECK(calloc_zeroed_large) \
    CHECK(calloc_zeroed_mmap) \
    CHECK(calloc_zeroed_recycled) \
    CHECK(calloc_overflow_null) \
    CHECK(calloc_overflow_enomem) \
    CHECK(calloc_zero_args) \
    CHECK(calloc_array) \
    CHECK(realloc_grow_keeps) \
    CHECK(realloc_shrink_keeps) \
    CHECK(realloc_byte_steps) \
    CHECK(realloc_from_every_fn) \
    CHECK(realloc_null_is_malloc) \
    CHECK(realloc_fail_keeps_block) \
    CHECK(realloc_fail_enomem) \
    CHECK(realloc_zero) \
    CHECK(realloc_null_zero) \
    CHECK(realloc_within_usable) \
    CHECK(realloc_same_size) \
    CHECK(reallocarray_overflow_null) \
    CHECK(reallocarray_overflow_errno) \
    CHECK(reallocarray_fail_keeps_block) \
    CHECK(reallocarray_keeps) \
    CHECK(reallocarray_null_zero)

#define CONFORM_DECLARE(name) extern const check_t check_##name;
CONFORM_CHECK_LIST(CONFORM_DECLARE)
#undef CONFORM_DECLARE

#endif
