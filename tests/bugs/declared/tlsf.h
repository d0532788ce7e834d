/* The TLSF API names (tlsf_create_with_pool, tlsf_malloc, ...) over our own first-fit heap, so
 * the README's TLSF plugin example compiles and runs exactly as printed. Not TLSF's algorithm:
 * only its interface, with its 8-byte alignment and its silence about errno. */
#ifndef ALLOCHECK_TESTS_BUGS_DECLARED_TLSF_H
#define ALLOCHECK_TESTS_BUGS_DECLARED_TLSF_H

#include <stddef.h>

typedef void *tlsf_t;

tlsf_t tlsf_create_with_pool(void *mem, size_t bytes);
void *tlsf_malloc(tlsf_t tlsf, size_t bytes);
void *tlsf_memalign(tlsf_t tlsf, size_t align, size_t bytes);
void *tlsf_realloc(tlsf_t tlsf, void *ptr, size_t size);
void tlsf_free(tlsf_t tlsf, void *ptr);

#endif
