/* Genuine out-of-memory: RLIMIT_AS set to the current VmSize plus 256 MiB (an allocator may
 * already have reserved a lot of address space), then 8 MiB requests until one fails. The
 * failure must be NULL with ENOMEM (not a crash), and after freeing, allocation works again.
 * A declared fixed heap runs out without a limit: a sixteenth of it at a time. */
#include <errno.h>
#include <sys/resource.h>

#include "conformance/checks.h"
#include "conformance/util.h"

#define CHUNK ((size_t)8 << 20)
#define MAX_CHUNKS 256   /* 2 GiB: far past the limit */
#define HEADROOM ((size_t)256 << 20)

/* Allocator initialisation may reserve its arenas (scudo: ~180 GiB of address space) on first
 * use: do that before measuring VmSize, so the limit bites on the allocations, not on init. */
static void warm_up(const alloc_t *a, alloc_fn_t f)
{
    static const size_t sizes[] = { 16, 1000, 100000, 2 << 20 };
    int err;

    for (size_t i = 0; i < 4; i++)
        a->free(a->ctx, ck_alloc(a, f, 4096, sizes[i], &err));
}

/* The failure's error: posix_memalign's return value is its own contract; errno is POSIX's
 * (and glibc's manual's for memalign, valloc, pvalloc, which diverge). */
static void judge_errno(check_ctx_t *c, alloc_fn_t f, int err)
{
    bool glibc_only = f == AF_MEMALIGN || f == AF_VALLOC || f == AF_PVALLOC;
    if (err == ENOMEM)
        return;
    if (f == AF_POSIX_MEMALIGN)
        check_fail(c, "posix_memalign failed when memory ran out with return value %d, not "
                   "ENOMEM", err);
    else if (glibc_only && ck_errno_required(c))
        check_diverge(c, "%s failed when memory ran out with errno %d, not ENOMEM", ck_name(f),
                      err);
    else
        ck_expect_errno(c, err, ENOMEM, "%s failed when memory ran out with errno %d, not "
                        "ENOMEM", ck_name(f), err);
}

/* After everything was freed, memory is usable again; an allocator that declares delayed
 * reuse (a quarantine) may keep freed regions back for a while, and reports that instead. */
static void judge_reuse(check_ctx_t *c, alloc_fn_t f, size_t chunk)
{
    int err;
    void *q = ck_alloc(c->a, f, 4096, chunk, &err);

    if (q != NULL)
        c->a->free(c->a->ctx, q);
    else if (c->a->flags & ALLOCHECK_PLUGIN_DELAYED_REUSE)
        check_behaviour(c, "%s(%zu) still fails right after everything was freed (declared "
                        "delayed-reuse)", ck_name(f), chunk);
    else
        check_fail(c, "%s(%zu) still fails after everything was freed", ck_name(f), chunk);
}

/* Fills the heap with chunk-byte blocks until one fails; returns how many succeeded. */
static size_t fill(check_ctx_t *c, alloc_fn_t f, void **p, size_t chunk, int *err)
{
    size_t n = 0;
    for (; n < MAX_CHUNKS; n++) {
        p[n] = ck_alloc(c->a, f, 4096, chunk, err);
        if (p[n] == NULL)
            break;
        ((volatile char *)p[n])[0] = 1;
    }
    return n;
}

/* A fixed heap needs no rlimit to run out: chunks of a sixteenth of it until one fails. */
static void oom_fixed(check_ctx_t *c, alloc_fn_t f, void **p)
{
    size_t chunk = c->a->heap_size / 16, n;
    int err = 0;

    n = fill(c, f, p, chunk, &err);
    require_true(c, n > 0, "%s(%zu) failed on an empty %zu-byte heap", ck_name(f), chunk,
                 c->a->heap_size);
    check_behaviour(c, "%s failed after %zu blocks of %zu bytes in a %zu-byte heap", ck_name(f),
                    n, chunk, c->a->heap_size);
    if (n < MAX_CHUNKS)
        judge_errno(c, f, err);
    for (size_t i = n; i-- > 0;)
        c->a->free(c->a->ctx, p[i]);
    if (n < MAX_CHUNKS)
        judge_reuse(c, f, chunk);
}

static void oom(check_ctx_t *c, alloc_fn_t f)
{
    void **p = ck_map(MAX_CHUNKS * sizeof *p);
    struct rlimit rl;
    size_t vm, n = 0;

    if (p && (c->a->flags & ALLOCHECK_PLUGIN_FIXED_HEAP) && c->a->heap_size >= 16) {
        oom_fixed(c, f, p);
        ck_unmap(p, MAX_CHUNKS * sizeof *p);
        return;
    }
    int err = 0;

    warm_up(c->a, f);
    vm = ck_vm_size();
    require_true(c, p != NULL && vm != 0, "harness setup failed");
    rl.rlim_cur = rl.rlim_max = vm + HEADROOM;
    require_true(c, setrlimit(RLIMIT_AS, &rl) == 0, "setrlimit(RLIMIT_AS) failed");
    n = fill(c, f, p, CHUNK, &err);
    if (n == 0) {
        /* Not one block fitted: a statement about the allocator's reservations (one that maps
         * 256 MiB-aligned spans), not about failing well or reusing memory. */
        check_skip(c, "not one %s(8 MiB) succeeded under a limit %zu MiB above VmSize: the "
                   "allocator reserves more address space per mapping", ck_name(f),
                   HEADROOM >> 20);
        ck_unmap(p, MAX_CHUNKS * sizeof *p);
        return;
    }
    if (n < MAX_CHUNKS)
        check_behaviour(c, "%s failed after %zu MiB under a limit %zu MiB above VmSize",
                        ck_name(f), n * (CHUNK >> 20), HEADROOM >> 20);
    if (n == MAX_CHUNKS)
        check_skip(c, "2 GiB allocated under a %zu MiB address-space limit: served from "
                   "reserved space", (vm + HEADROOM) >> 20);
    else
        judge_errno(c, f, err);
    size_t got = n;
    while (n-- > 0)
        c->a->free(c->a->ctx, p[n]);
    if (got > 0 && got < MAX_CHUNKS)
        judge_reuse(c, f, CHUNK);
    ck_unmap(p, MAX_CHUNKS * sizeof *p);
}

#define OOM_CHECKS(n, f, s, clause) \
    static void run_##n##_oom(check_ctx_t *c) { oom(c, f); } \
    const check_t check_##n##_oom = { s "-oom-rlimit", #n, \
        "C17 7.22.3p1; " CK_ENOMEM_##n, \
        "under RLIMIT_AS: NULL with ENOMEM, and usable again after frees", CK_NEEDS(f), \
        CHECK_NOLIMIT, run_##n##_oom };
CK_FOR_EACH_ALLOC_FN(OOM_CHECKS)
