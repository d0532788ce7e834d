/* refalloc's only contact with the OS: mappings, locks, fork and thread-exit hooks, the
 * per-process secret and the fatal error report. Everything here is static inline so each
 * entry-point file stays free of system headers beyond this one.
 * Contract: no function here calls malloc (directly or through stdio); the error report is
 * formatted in a stack buffer and written with write(2). */
#ifndef ALLOCHECK_REFALLOC_GLUE_H
#define ALLOCHECK_REFALLOC_GLUE_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

typedef pthread_mutex_t glue_lock_t;
#define GLUE_LOCK_INIT PTHREAD_MUTEX_INITIALIZER

static inline void glue_lock(glue_lock_t *l) { pthread_mutex_lock(l); }
static inline void glue_unlock(glue_lock_t *l) { pthread_mutex_unlock(l); }
/* In a fork child the lock may be held by a thread that no longer exists: start afresh. */
static inline void glue_lock_reinit(glue_lock_t *l) { pthread_mutex_init(l, NULL); }

/* The system's page size from the auxiliary vector (no allocation, no syscall). */
static inline size_t glue_page(void)
{
    unsigned long page = getauxval(AT_PAGESZ);
    return page ? (size_t)page : 4096;
}

/* pre: len is a multiple of the page size. Returns NULL (errno ENOMEM) on failure.
 * An inaccessible mapping costs no commit charge; no MAP_NORESERVE, so that a part made
 * writable later is charged like any other (and mremap cannot grow it past the limit). */
static inline void *glue_map(size_t len, int writable)
{
    int prot = writable ? PROT_READ | PROT_WRITE : PROT_NONE;
    void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        errno = ENOMEM;
        return NULL;
    }
    return p;
}

static inline void glue_unmap(void *p, size_t len)
{
    if (len)
        munmap(p, len);
}

static inline int glue_protect_rw(void *p, size_t len)
{
    return mprotect(p, len, PROT_READ | PROT_WRITE);
}

/* Gives the pages back to the kernel; they read as zero next time (Linux MADV_DONTNEED). */
static inline void glue_purge(void *p, size_t len)
{
    madvise(p, len, MADV_DONTNEED);
}

/* Grows or shrinks a mapping without moving it; 0 or -1. */
static inline int glue_resize(void *p, size_t old_len, size_t new_len)
{
    return mremap(p, old_len, new_len, 0) == MAP_FAILED ? -1 : 0;
}

/* Resizes a mapping, moving it if need be (page tables move; pages are not copied). Returns
 * the new address or NULL. */
static inline void *glue_remap(void *p, size_t old_len, size_t new_len)
{
#ifdef ALLOCHECK_SANITIZED
    /* ThreadSanitizer does not intercept mremap: memory moved to an address it saw used
     * before would carry stale shadow state and false race reports. Callers fall back to a
     * fresh mapping. */
    if (p)
        return NULL;
#endif
    void *q = mremap(p, old_len, new_len, MREMAP_MAYMOVE);
    return q == MAP_FAILED ? NULL : q;
}

/* Moves the mapping at p onto the one at `to` (which it replaces), resized to new_len; 0 or
 * -1 with both left as they were. */
static inline int glue_move(void *p, size_t old_len, void *to, size_t new_len)
{
#ifdef ALLOCHECK_SANITIZED
    (void)p, (void)old_len, (void)to, (void)new_len;
    return -1;   /* see glue_remap */
#else
    void *q = mremap(p, old_len, new_len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
    return q == MAP_FAILED ? -1 : 0;
#endif
}

/* 8 random bytes from the kernel's AT_RANDOM block: no syscall, no allocation. */
static inline uint64_t glue_secret(void)
{
    const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
    uint64_t s = 0x6a09e667f3bcc909ull;
    for (int i = 0; r && i < 8; i++)
        s = s << 8 | r[i + 8];
    return s ^ (uint64_t)(uintptr_t)&s;
}

static inline int glue_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    return pthread_atfork(prepare, parent, child);
}

/* The thread-exit hook: dtor(value) runs when a thread that set a value exits. */
static inline int glue_thread_key(pthread_key_t *key, void (*dtor)(void *))
{
    return pthread_key_create(key, dtor);
}

static inline void glue_thread_set(pthread_key_t key, void *v) { pthread_setspecific(key, v); }

static inline char *glue_put(char *o, const char *s)
{
    while (*s)
        *o++ = *s++;
    return o;
}

/* "refalloc: WHAT 0xPTR in FN\n" to stderr, then abort(). */
__attribute__((noreturn, cold, unused)) static void glue_die(const char *what, const void *p,
                                                               const char *fn)
{
    char buf[256], *o = glue_put(buf, "refalloc: ");
    o = glue_put(glue_put(o, what), " 0x");
    uintptr_t v = (uintptr_t)p;
    int shift = 60;
    while (shift > 0 && !(v >> shift))
        shift -= 4;
    for (; shift >= 0; shift -= 4)
        *o++ = "0123456789abcdef"[(v >> shift) & 15];
    o = glue_put(glue_put(glue_put(o, " in "), fn), "\n");
    ssize_t r = write(2, buf, (size_t)(o - buf));
    (void)r;
    abort();
}

#endif
