/* tlsf.h over ffheap: the control structure lives at the start of the pool, as TLSF's does. */
#include "tests/bugs/declared/ffheap.h"
#include "tests/bugs/declared/tlsf.h"

tlsf_t tlsf_create_with_pool(void *mem, size_t bytes)
{
    if (!mem || bytes < 4096 || bytes >= ((size_t)1 << 32) || ((uintptr_t)mem & 7))
        return NULL;
    ffheap_t *h = mem;
    ff_init(h, (unsigned char *)mem + 64, bytes - 64, 8);
    return h;
}

void *tlsf_malloc(tlsf_t t, size_t bytes) { return ff_malloc(t, bytes); }
void *tlsf_memalign(tlsf_t t, size_t align, size_t bytes) { return ff_memalign(t, align, bytes); }
void *tlsf_realloc(tlsf_t t, void *ptr, size_t size) { return ff_realloc(t, ptr, size); }
void tlsf_free(tlsf_t t, void *ptr) { ff_free(t, ptr); }
