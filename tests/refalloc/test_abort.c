/* The consistency checks that stay on in release builds: each misuse runs in a child, which
 * must die of SIGABRT after writing the expected one-line report to stderr. */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/refalloc/refalloc.h"
#include "tests/tap.h"

static void double_free(void)
{
    void *p = refalloc_malloc(32);
    refalloc_free(p);
    refalloc_free(p);
}

static void double_free_sized(void)
{
    void *p = refalloc_malloc(500);
    refalloc_free(p);
    refalloc_free_sized(p, 500);
}

static void double_free_aligned(void)
{
    void *p = refalloc_aligned_alloc(256, 100);
    refalloc_free(p);
    refalloc_free(p);
}

static void realloc_freed(void)
{
    void *p = refalloc_malloc(32);
    refalloc_free(p);
    p = refalloc_realloc(p, 64);
}

static void free_stack(void)
{
    long x[4] = { 0 };
    refalloc_free(&x[2]);
}

static void free_interior(void)
{
    char *p = refalloc_malloc(200);
    refalloc_free(p + 32);
}

/* The slab's first bytes: a header read there would fall before the mapping. */
static void free_slab_base(void)
{
    char *p = refalloc_malloc(16);
    refalloc_free((void *)((uintptr_t)p & ~(uintptr_t)0xffff));
}

static void free_interior_large(void)
{
    char *p = refalloc_malloc(1 << 20);
    refalloc_free(p + 4096);
}

static void free_large_twice(void)
{
    char *p = refalloc_malloc(1 << 20);
    refalloc_free(p);
    refalloc_free(p);
}

static void usable_invalid(void)
{
    static char buf[64];
    refalloc_malloc_usable_size(buf + 16);
}

/* A real overflow: the lower of two neighbouring slots writes 8 bytes past its usable size
 * into the upper one's header; then one of the two is freed. */
static void overflow_then_free(bool free_overflower)
{
    char *v[16];
    for (int i = 0; i < 16; i++)
        v[i] = refalloc_malloc(40);
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) {
            size_t u = refalloc_malloc_usable_size(v[i]);
            if (v[i] + u + 8 == v[j]) {
                memset(v[i], 'A', u + 8);
                refalloc_free(free_overflower ? v[i] : v[j]);
            }
        }
    _exit(3);
}

/* Freeing the upper block notices its header. */
static void overflow_into_header(void)
{
    overflow_then_free(false);
}

/* Freeing the block that overflowed notices too: its neighbour's header is checked. */
static void overflow_seen_at_free(void)
{
    overflow_then_free(true);
}

/* A write after free points a freed block's free-list link at memory of the writer's choice;
 * the allocation that would return that memory stops instead. */
static void free_list_poisoned(void)
{
    static _Alignas(16) char target[64];
    char *p = refalloc_malloc(40), *q = refalloc_malloc(40);
    refalloc_free(q);
    refalloc_free(p);
    *(void **)p = target + 16;
    refalloc_malloc(40);
    refalloc_malloc(40);
    _exit(3);
}

/* A calloc block's link poisoned the same way: every allocation function takes slots from the
 * same lists. */
static void free_list_poisoned_calloc(void)
{
    static _Alignas(16) char target[64];
    char *p = refalloc_malloc(200);
    refalloc_free(p);
    *(void **)p = target + 16;
    refalloc_calloc(1, 200);
    refalloc_calloc(1, 200);
    _exit(3);
}

static void *free_it(void *p)
{
    refalloc_free(p);
    return NULL;
}

/* The header is the block's, not the thread's: a second free from another thread is seen. */
static void double_free_across_threads(void)
{
    void *p = refalloc_malloc(64);
    pthread_t t;
    pthread_create(&t, NULL, free_it, p);
    pthread_join(t, NULL);
    refalloc_free(p);
}

static void header_scribbled(void)
{
    char *p = refalloc_malloc(5000);
    p[-3] ^= 0x10;
    refalloc_free(p);
}

static void wrong_size(void)
{
    void *p = refalloc_malloc(100);
    refalloc_free_sized(p, 5000);
}

static void wrong_size_large(void)
{
    void *p = refalloc_malloc(300000);
    refalloc_free_sized(p, 300001);
}

static void wrong_alignment(void)
{
    void *p = refalloc_aligned_alloc(64, 64);
    refalloc_free_aligned_sized((char *)p, 1 << 20, 64);
}

static const struct {
    const char *name;
    void (*fn)(void);
    const char *expect;
} cases[] = {
    { "double free", double_free, "double free of 0x" },
    { "double free through free_sized", double_free_sized, "in free_sized()" },
    { "double free of an aligned block", double_free_aligned, "double free of 0x" },
    { "realloc of a freed block", realloc_freed, "double free of 0x" },
    { "free of a stack address", free_stack, "invalid pointer 0x" },
    { "free of a pointer inside a block", free_interior, "invalid pointer 0x" },
    { "free of a slab's first address", free_slab_base, "invalid pointer 0x" },
    { "free of a pointer inside a large block", free_interior_large, "invalid pointer 0x" },
    { "double free of a large block", free_large_twice, "invalid pointer 0x" },
    { "malloc_usable_size of a foreign pointer", usable_invalid, "in malloc_usable_size()" },
    { "overflow into the next header", overflow_into_header, "corrupted header of 0x" },
    { "overflow seen when the overflowing block is freed", overflow_seen_at_free,
      "overflow past the end of 0x" },
    { "free-list link overwritten after free", free_list_poisoned, "corrupted free list at 0x" },
    { "free-list link overwritten, then calloc", free_list_poisoned_calloc,
      "corrupted free list at 0x" },
    { "double free across threads", double_free_across_threads, "double free of 0x" },
    { "one header bit flipped", header_scribbled, "corrupted header of 0x" },
    { "free_sized with the wrong size", wrong_size, "size mismatch for 0x" },
    { "free_sized of a large block, size off by one", wrong_size_large, "size mismatch for" },
    { "free_aligned_sized with the wrong alignment", wrong_alignment, "alignment mismatch" },
};

/* Runs fn in a child with stderr on a pipe; returns its wait status and its stderr text. */
static int run_child(void (*fn)(void), char *out, size_t len)
{
    int fd[2];
    if (pipe(fd))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        alarm(10);
        fn();
        _exit(0);
    }
    close(fd[1]);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < len && (r = read(fd[0], out + got, len - 1 - got)) > 0)
        got += (size_t)r;
    out[got] = 0;
    close(fd[0]);
    int status = -1;
    waitpid(pid, &status, 0);
    return status;
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char err[512];
        int st = run_child(cases[i].fn, err, sizeof err);
        err[strcspn(err, "\n")] = 0;
        bool sig = WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
        CHECK(sig && strstr(err, cases[i].expect) && !strncmp(err, "refalloc: ", 10),
              "%s: SIGABRT, stderr \"%s\"", cases[i].name, err);
    }
    return tap_done();
}
