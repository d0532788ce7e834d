/* A multi-threaded program with no idea which malloc it gets, run under
 * LD_PRELOAD=liballocheck-ref.so: four threads pass blocks to each other through a shared
 * table and check their contents. Prints TAP; also checks that malloc really is refalloc's. */
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/refalloc/tap.h"

enum { THREADS = 4, SLOTS = 1024, OPS = 50000 };

static unsigned char *slots[SLOTS];
static int errors;

static void *worker(void *arg)
{
    uint64_t s = (uintptr_t)arg * 0x9e3779b97f4a7c15ull;
    int bad = 0;
    for (int i = 0; i < OPS; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        size_t n = 1 + (s % 100 < 95 ? (s >> 8) % 512 : (s >> 8) % 200000);
        unsigned char *p = (s >> 30) % 4 ? malloc(n) : calloc(n, 1);
        if ((s >> 34) % 8 == 0)
            p = realloc(p, n + 100);
        if (!p) {
            bad++;
            continue;
        }
        p[0] = (unsigned char)n;
        p[n - 1] = (unsigned char)(n >> 3);
        *(size_t *)(void *)(p + (n >= 16 ? 8 : 0)) = n >= 16 ? n : 0;
        unsigned char *old = __atomic_exchange_n(&slots[s % SLOTS], p, __ATOMIC_ACQ_REL);
        if (old && malloc_usable_size(old) < 1)
            bad++;
        free(old);
    }
    __atomic_fetch_add(&errors, bad, __ATOMIC_RELAXED);
    return NULL;
}

int main(void)
{
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    bool ours = sym && dladdr(sym, &info) && strstr(info.dli_fname, "allocheck-ref");
    CHECK(ours, "malloc resolves to liballocheck-ref.so (%s)", ours ? info.dli_fname : "no");
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < SLOTS; i++)
        free(slots[i]);
    CHECK(errors == 0, "%d threads x %d ops with cross-thread frees: %d errors", THREADS, OPS,
          errors);
    return tap_done();
}
