/* A flaky allocator for `conform --repeat`: glibc's, except that malloc_usable_size reports 0 in
 * every other process that asks it (counted in the file $FLAKY_COUNTER), so a
 * check of usable sizes fails and passes by turns, as a racy or randomised allocator's might. */
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

void *__libc_malloc(size_t);
void __libc_free(void *);

__attribute__((visibility("default"))) void *malloc(size_t n) { return __libc_malloc(n); }
__attribute__((visibility("default"))) void free(void *p) { __libc_free(p); }

/* Whether this process is an odd one: the first call in a process bumps the shared count. */
static int odd_process(void)
{
    static pid_t seen;
    static int odd;
    if (seen == getpid())
        return odd;
    seen = getpid();
    const char *path = getenv("FLAKY_COUNTER");
    int fd = path ? open(path, O_RDWR | O_CREAT, 0600) : -1;
    unsigned char count = 0;
    if (fd >= 0 && lockf(fd, F_LOCK, 0) == 0) {
        if (pread(fd, &count, 1, 0) != 1)
            count = 0;
        count++;
        (void)!pwrite(fd, &count, 1, 0);
        lockf(fd, F_ULOCK, 0);
    }
    if (fd >= 0)
        close(fd);
    odd = count & 1;
    return odd;
}

__attribute__((visibility("default"))) size_t malloc_usable_size(void *p)
{
    static size_t (*real)(void *);
    if (!real)
        real = (size_t (*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
    if (!p || !real)
        return 0;
    return odd_process() ? 0 : real(p);
}
