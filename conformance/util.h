/* Helpers shared by the check families: a uniform way to call any allocating function, the
 * alignment each result is owed, byte patterns that name their block, harness memory that never
 * comes from the allocator under test, and waiting for a child with a deadline.
 * Terms: "fn" is an alloc_fn_t; an "allocating" fn returns a block (malloc ... pvalloc). */
#ifndef ALLOCHECK_CONFORMANCE_UTIL_H
#define ALLOCHECK_CONFORMANCE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conformance/check.h"

/* alignof(max_align_t) on this platform; C17 7.22.3p1 owes it to every block. */
#define CK_MAX_ALIGN ((size_t)16)

/* X(name, fn, id-prefix, clause of the function) for every allocating function, so a family
 * can define one check per function from one table row. */
#define CK_FOR_EACH_ALLOC_FN(X) \
    X(malloc, AF_MALLOC, "malloc", "C17 7.22.3.4") \
    X(calloc, AF_CALLOC, "calloc", "C17 7.22.3.2") \
    X(realloc, AF_REALLOC, "realloc", "C17 7.22.3.5") \
    X(reallocarray, AF_REALLOCARRAY, "reallocarray", "POSIX.1-2024 reallocarray") \
    X(aligned_alloc, AF_ALIGNED_ALLOC, "aligned-alloc", "C17 7.22.3.1") \
    X(posix_memalign, AF_POSIX_MEMALIGN, "posix-memalign", "POSIX.1-2024 posix_memalign") \
    X(memalign, AF_MEMALIGN, "memalign", "glibc manual memalign") \
    X(valloc, AF_VALLOC, "valloc", "glibc manual valloc") \
    X(pvalloc, AF_PVALLOC, "pvalloc", "posix_memalign(3) pvalloc")

/* The clause for f's ENOMEM on failure, per function: each POSIX.1-2024 page states its own
 * [ENOMEM]; memalign, valloc and pvalloc are in no standard, the glibc manual documents it.
 * Pasted by name (CK_ENOMEM_##n) from a CK_FOR_EACH_ALLOC_FN row. */
#define CK_ENOMEM_malloc "POSIX.1-2024 malloc [ENOMEM]"
#define CK_ENOMEM_calloc "POSIX.1-2024 calloc [ENOMEM]"
#define CK_ENOMEM_realloc "POSIX.1-2024 realloc [ENOMEM]"
#define CK_ENOMEM_reallocarray "POSIX.1-2024 reallocarray [ENOMEM]"
#define CK_ENOMEM_aligned_alloc "POSIX.1-2024 aligned_alloc [ENOMEM]"
#define CK_ENOMEM_posix_memalign "POSIX.1-2024 posix_memalign [ENOMEM]"
#define CK_ENOMEM_memalign "glibc manual memalign (ENOMEM)"
#define CK_ENOMEM_valloc "glibc manual valloc (ENOMEM)"
#define CK_ENOMEM_pvalloc "posix_memalign(3) pvalloc [ENOMEM]"

/* A check sweeping with f needs f itself and free. */
#define CK_NEEDS(f) (AF_BIT(f) | AF_BIT(AF_FREE))

/* Sizes that cross the size classes of common allocators: tiny, small, page, the mmap
 * threshold (glibc 128 KiB), huge. Every entry is nonzero. */
extern const size_t ck_sizes[];
extern const size_t ck_size_count;

/* The functions that hand out a block, in a fixed order, for per-function sweeps. */
extern const alloc_fn_t ck_alloc_fns[];
extern const size_t ck_alloc_fn_count;

/* True for aligned_alloc, posix_memalign and memalign (an alignment argument). */
bool ck_takes_align(alloc_fn_t f);

/* Allocates size bytes with f (calloc as (1, size); realloc and reallocarray from NULL; the
 * aligned functions with align, or CK_MAX_ALIGN when align is 0). Returns the block or NULL;
 * *err is 0 on success, else errno after the call (posix_memalign: its return value).
 * errno is cleared before the call. */
void *ck_alloc(const alloc_t *a, alloc_fn_t f, size_t align, size_t size, int *err);

/* size, rounded up to a multiple of the alignment for aligned_alloc: the sweeps that are not
 * about C11's multiple-of-alignment rule (DR 460) stay clear of it. */
size_t ck_sweep_size(alloc_fn_t f, size_t align, size_t size);

/* The alignment a block from ck_alloc(f, align, size) is owed under c's profile:
 * the requested alignment for the aligned functions, the page for valloc/pvalloc, else
 * expected_align(c, size). */
size_t ck_owed_align(const check_ctx_t *c, alloc_fn_t f, size_t align, size_t size);

/* The alignment a malloc-like block of size bytes is owed: a->min_alignment when a
 * descriptor declared one; under PROFILE_C23 the largest power of two <= size for blocks
 * smaller than alignof(max_align_t) (C23 7.24.3p1); else alignof(max_align_t). */
size_t expected_align(const check_ctx_t *c, size_t size);

static inline bool ck_aligned(const void *p, size_t align)
{
    return align == 0 || ((uintptr_t)p & (align - 1)) == 0;
}

size_t ck_page_size(void);

/* Fills or verifies n bytes with a pattern derived from (seed, offset). ck_verify returns the
 * first differing offset, or -1 when all bytes match. */
void ck_fill(void *p, size_t n, uint32_t seed);
ptrdiff_t ck_verify(const void *p, size_t n, uint32_t seed);
/* Offset of the first byte of [p, p+n) that is not v, or -1. */
ptrdiff_t ck_find_not(const void *p, size_t n, unsigned char v);

/* Harness memory, mmap'ed: never from the allocator under test nor libc's heap. */
void *ck_map(size_t n);
void ck_unmap(void *p, size_t n);

/* VmSize of this process in bytes (from /proc/self/status), 0 if unknown. */
size_t ck_vm_size(void);

/* Resident set of this process in bytes (from /proc/self/statm), 0 if unknown. */
size_t ck_rss_size(void);

/* Waits for pid. After ms milliseconds a child that is blocked (asleep at every poll for
 * 50 ms: single-threaded, it can only be waiting for a lock nobody will release) or that /proc
 * cannot describe is killed (SIGKILL) and -ETIMEDOUT returned; a child still running or
 * runnable (slow on a loaded machine) gets until max_ms. Returns 0 with the wait status in
 * *status otherwise. */
int ck_wait_child(pid_t pid, unsigned ms, unsigned max_ms, int *status);

/* "malloc", "aligned_alloc", ... for messages. */
const char *ck_name(alloc_fn_t f);

/* Records a failure unless p (from ck_alloc(f, align, size)) has the alignment it is owed.
 * A small block aligned only by C23's size-dependent rule is a divergence under the other
 * profiles: C17 7.22.3p1 read literally owes it alignof(max_align_t), N2293 relaxed that.
 * Returns false when p was not aligned as owed. */
bool ck_expect_aligned(check_ctx_t *c, alloc_fn_t f, size_t align, size_t size, const void *p);

/* Judges a refused request for a valid power-of-two alignment al (docs/CHECKS.md, "Large
 * alignments"): above a declared max_alignment it is behaviour; with none declared, above
 * ALLOC_ALIGN_SERVED a divergence; else a failure. Returns true when the refusal is allowed. */
bool ck_align_refused(check_ctx_t *c, alloc_fn_t f, size_t al, size_t size, int err);

/* Whether errno is owed under c's profile and the allocator's declarations: POSIX.1-2024
 * only, and not for an allocator declaring ALLOCHECK_PLUGIN_NO_ERRNO. */
bool ck_errno_required(const check_ctx_t *c);

/* Records that errno is got where want is owed: a failure where errno is required, else
 * behaviour ("... (errno is not required: profile c17)"). Nothing when got == want. */
void ck_expect_errno(check_ctx_t *c, int got, int want, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A block's extent [lo, hi), for overlap tests; ck_sort_spans orders them by lo. */
typedef struct ck_span {
    uintptr_t lo, hi;
} ck_span_t;
void ck_sort_spans(ck_span_t *s, size_t n);

/* The sizes kept live together by the sweeps that need neighbours (alignment, usable-size
 * extents): small, where heaps pack blocks, and few enough for a small fixed heap. */
#define CK_LIVE_MAX 4096

/* Allocates `copies` blocks of f at align of every table size up to CK_LIVE_MAX, all live at
 * once, into p (room for ck_size_count * copies) and returns how many it got; a NULL fails
 * the check and ends the set. Free them with ck_free_all. */
size_t ck_alloc_small_live(check_ctx_t *c, alloc_fn_t f, size_t align, int copies, void **p);
void ck_free_all(const alloc_t *a, void **p, size_t n);

/* Usable size of p when the allocator reports one, else size. */
size_t ck_usable(const alloc_t *a, void *p, size_t size);

#endif
