/* A multi-threaded program with no idea which malloc it gets, run under
 * LD_PRELOAD=liballocheck-ref.so: four threads pass blocks to each other through a shared
 * table; whoever takes a block out checks its contents. Prints TAP; also checks that malloc really is refalloc's. */
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"

enum { THREADS = 4, SLOTS = 1024, OPS = 50000 };

static unsigned char *slots[SLOTS];
static int errors;

/* Every block (17 bytes or more) carries its size and its complement in its first 16 bytes,
 * and a byte derived from its size at its end and on every page: whoever takes it out of the
 * table checks all of them, so a block handed out twice or scribbled on is seen. */
static unsigned char tag(size_t n, size_t i)
{
    return (unsigned char)((n * 31 + i / 4096) | 1);
}

static void stamp(unsigned char *p, size_t n)
{
    size_t head[2] = { n, ~n };
    memcpy(p, head, sizeof head);
    for (size_t i = 4096; i < n; i += 4096)
        p[i] = tag(n, i);
    p[n - 1] = tag(n, n - 1);
}

static int intact(const unsigned char *p)
{
    size_t head[2];
    memcpy(head, p, sizeof head);
    size_t n = head[0];
    if (head[1] != ~n || n < 17 || malloc_usable_size((void *)p) < n)
        return 0;
    for (size_t i = 4096; i < n; i += 4096)
        if (p[i] != tag(n, i))
            return 0;
    return p[n - 1] == tag(n, n - 1);
}

static void *worker(void *arg)
{
    uint64_t s = (uintptr_t)arg * 0x9e3779b97f4a7c15ull;
    int bad = 0;
    for (int i = 0; i < OPS; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        size_t n = 17 + (s % 100 < 95 ? (s >> 8) % 512 : (s >> 8) % 200000);
        unsigned char *p = (s >> 30) % 4 ? malloc(n) : calloc(n, 1);
        if (p && (s >> 34) % 8 == 0) {
            stamp(p, n);
            p = realloc(p, n + 100);
            bad += p && !intact(p);   /* the old contents moved with it */
            n += 100;
        }
        if (!p) {
            bad++;
            continue;
        }
        stamp(p, n);
        unsigned char *old = __atomic_exchange_n(&slots[s % SLOTS], p, __ATOMIC_ACQ_REL);
        bad += old && !intact(old);
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
    for (int i = 0; i < SLOTS; i++) {
        errors += slots[i] && !intact(slots[i]);
        free(slots[i]);
    }
    CHECK(errors == 0, "%d threads x %d ops with cross-thread frees: %d errors", THREADS, OPS,
          errors);
    return tap_done();
}
