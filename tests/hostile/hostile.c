/* Hostile allocators: one source, one misbehaviour per -DHOSTILE_X=1 switch (meson.build builds
 * one plugin per switch). Each exports the standard names and forwards to glibc's own entry
 * points (__libc_malloc and friends), so the only thing wrong with a plugin is its switch.
 * They test the supervisor, not the oracles: whatever a plugin does to the process it runs in
 * (blocks, prints, forks, signals, exits, closes fds, escapes the process group), allocheck
 * must report it, exit with the right status, lose nothing and leave no process behind.
 * Leaves out: seeded correctness bugs, which live in tests/bugs/. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* The _NOW variants misbehave from the first call, so whatever process runs on them at all
 * (under preload:, a supervisor would too) is hit; the others wait for the 32nd call. */
#if HOSTILE_MALLOC_NULL_NOW
#define HOSTILE_MALLOC_NULL 1
#elif HOSTILE_FREE_ABORT_NOW
#define HOSTILE_FREE_ABORT 1
#endif
#if HOSTILE_MALLOC_NULL_NOW || HOSTILE_FREE_ABORT_NOW
#define HOSTILE_FROM 1
#else
#define HOSTILE_FROM 32
#endif
#ifndef HOSTILE_MALLOC_NULL
#define HOSTILE_MALLOC_NULL 0
#endif

void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);

/* Calls of malloc so far: lets a switch wait until the harness is running ops. */
static unsigned long calls;

__attribute__((unused)) static void say(const char *s)
{
    (void)!write(2, s, strlen(s));
}

#if HOSTILE_SEGV_LOOP
/* Returning from a SIGSEGV handler re-runs the faulting store: the process spins forever. */
static void ignore_segv(int sig) { (void)sig; }
#endif

#if HOSTILE_BG_THREAD
static void *background(void *arg)
{
    for (;;) {
        void *p = __libc_malloc(64);
        __libc_free(p);
        usleep(1000);
    }
    return arg;
}
#endif

__attribute__((constructor)) static void hostile_init(void)
{
#if HOSTILE_CTOR_BLOCK
    pause();
#elif HOSTILE_CTOR_FORK
    /* The grandchild keeps every inherited fd open (the loader's pipes) for 5 s. */
    if (fork() == 0) {
        sleep(5);
        _exit(0);
    }
#elif HOSTILE_CTOR_PRINT
    printf("hostile: hello from the constructor\n");
    fflush(stdout);
#elif HOSTILE_CTOR_EXIT
    say("hostile: constructor exits\n");
    exit(3);
#elif HOSTILE_CTOR_CRASH
    raise(SIGSEGV);
#elif HOSTILE_BG_THREAD
    pthread_t t;
    pthread_create(&t, NULL, background, NULL);
#endif
}

/* The misbehaviour of malloc, from the 32nd call on (after loading and probing), or the first. */
static void *misbehave(size_t n)
{
    (void)n;
#if HOSTILE_MALLOC_NULL
    errno = ENOMEM;
    return NULL;
#elif HOSTILE_MALLOC_SAME
    static _Alignas(64) char same[1 << 20];
    return same;
#elif HOSTILE_MALLOC_STACK
    char frame[64];
    void *volatile p = frame;
    return p;
#elif HOSTILE_MALLOC_ONE
    return (void *)1;
#elif HOSTILE_KILL_GROUP
    kill(0, SIGTERM);
#elif HOSTILE_SETSID
    /* A grandchild that leaves the process group and the session: only a subreaper finds it. */
    if (fork() == 0) {
        setsid();
        for (;;)
            pause();
    }
#elif HOSTILE_SIGSTOP
    raise(SIGSTOP);
#elif HOSTILE_SEGV_LOOP
    signal(SIGSEGV, ignore_segv);
    volatile int *volatile bad = (int *)(uintptr_t)8;
    *bad = 1;
#elif HOSTILE_PRINT
    printf("hostile: malloc(%zu)\n", n);
    fflush(stdout);
#elif HOSTILE_SHOW_LIMITS
    /* Tells the harness what it runs under, through the last words, then dies. */
    struct rlimit data;
    getrlimit(RLIMIT_DATA, &data);
    char line[160];
    snprintf(line, sizeof line, "limits: data %s, own group %s\n",
             data.rlim_cur == RLIM_INFINITY ? "unlimited" : "limited",
             getpgrp() == getpid() ? "yes" : "no");
    say(line);
    abort();
#elif HOSTILE_EAT_MEMORY
    for (;;) {
        char *p = __libc_malloc(64 << 20);
        if (!p)
            break;
        memset(p, 1, 64 << 20);
    }
#endif
    return NULL;
}

EXPORT void *malloc(size_t n)
{
    if (++calls >= HOSTILE_FROM) {
        void *p = misbehave(n);
        if (p || HOSTILE_MALLOC_NULL)
            return p;
    }
    return __libc_malloc(n);
}

EXPORT void free(void *p)
{
#if HOSTILE_FREE_ABORT
    if (p && calls >= HOSTILE_FROM) {
        say("hostile: free refuses\n");
        abort();
    }
#elif HOSTILE_FREE_CLOSE_FDS
    static int closed;
    if (p && calls >= 32 && !closed) {
        closed = 1;
        close(0);
        close(1);
        close(2);
    }
#endif
    __libc_free(p);
}

EXPORT void *calloc(size_t m, size_t n)
{
#if HOSTILE_MALLOC_NULL
    if (calls >= HOSTILE_FROM) {
        errno = ENOMEM;
        return NULL;
    }
#endif
    return __libc_calloc(m, n);
}

EXPORT void *realloc(void *p, size_t n)
{
    return __libc_realloc(p, n);
}

/* ASan intercepts __libc_memalign (the dynamic linker's TLS uses it), so in a sanitized build
 * its blocks would reach glibc's free: there the plugins have no aligned functions, which
 * makes them absent (skipped), not wrong. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HOSTILE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define HOSTILE_ASAN 1
#endif

#if !HOSTILE_ASAN
EXPORT void *memalign(size_t al, size_t n)
{
    return __libc_memalign(al, n);
}

EXPORT void *aligned_alloc(size_t al, size_t n)
{
    return __libc_memalign(al, n);
}

EXPORT int posix_memalign(void **mp, size_t al, size_t n)
{
    if (al < sizeof(void *) || (al & (al - 1)))
        return EINVAL;
    void *p = __libc_memalign(al, n);
    if (!p)
        return ENOMEM;
    *mp = p;
    return 0;
}
#endif
