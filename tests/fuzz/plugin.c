/* Tiny broken allocators for the engine's own tests, over glibc through the descriptor ABI;
 * one bug per -D flag: CRASH_ON (malloc of that size segfaults), HANG_ON (malloc of that
 * size never returns), DIRTY_CALLOC (calloc does not zero: recycled memory shows; 1: at any
 * size, else at that total size only). Not a bug: COUNT_FORKS appends a byte to the file
 * ALLOCHECK_TEST_FORK_LOG names in each forked child. */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allocheck/plugin.h"

#ifdef COUNT_FORKS
static void count_child(void)
{
    const char *path = getenv("ALLOCHECK_TEST_FORK_LOG");
    int fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;
    if (fd >= 0 && write(fd, "f", 1) == 1)
        close(fd);
}

__attribute__((constructor)) static void count_forks(void)
{
    pthread_atfork(NULL, NULL, count_child);
}
#endif

static void *p_malloc(void *ctx, size_t n)
{
#ifdef CRASH_ON
    if (n == CRASH_ON)
        raise(SIGSEGV);   /* what a wild write through a bad pointer ends in */
#endif
#ifdef HANG_ON
    if (n == HANG_ON)
        for (volatile int spin = 1; spin;)
            ;
#endif
    return malloc(n);
}

static void *p_calloc(void *ctx, size_t m, size_t n)
{
#ifdef DIRTY_CALLOC
    size_t t;
    if (__builtin_mul_overflow(m, n, &t))
        return NULL;
    if (DIRTY_CALLOC == 1 || t == DIRTY_CALLOC)
        return malloc(t);
    return calloc(m, n);
#else
    return calloc(m, n);
#endif
}

static void *p_realloc(void *ctx, void *p, size_t n) { return realloc(p, n); }
static void p_free(void *ctx, void *p) { free(p); }
static int p_posix_memalign(void *ctx, void **m, size_t a, size_t n) { return posix_memalign(m, a, n); }
static size_t p_usable(void *ctx, void *p) { return malloc_usable_size(p); }

ALLOCHECK_PLUGIN_EXPORT const struct allocheck_plugin allocheck_plugin = {
    .abi_version = ALLOCHECK_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(struct allocheck_plugin),
    .name = "engine-test",
    .malloc = p_malloc,
    .calloc = p_calloc,
    .realloc = p_realloc,
    .free = p_free,
    .posix_memalign = p_posix_memalign,
    .malloc_usable_size = p_usable,
};
