/* free keeps errno when a system call inside it fails (POSIX.1-2024 free). At the process's
 * map-count limit (vm.max_map_count) munmap of the middle of a mapping fails with ENOMEM, the
 * case glibc's tst-free-errno drives: an allocator that looks correct everywhere else leaks
 * that ENOMEM into errno here. Large blocks, whose release tends to munmap, are allocated first
 * and back to back (their mappings tend to merge, so releasing one splits a mapping); then the
 * map count is filled with pages of alternating protection, which cannot merge; then the blocks
 * are freed with errno set to a canary, and the filler is unmapped.
 * Terms: "filler", the PROT_NONE reservation whose every other page is made readable.
 * Leaves out: limits above FILL_MAX maps (filling takes too long) and whether munmap did fail
 * (the verdict is about errno either way). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conformance/checks.h"
#include "conformance/util.h"

#define FILL_MAX 262144L
#define EXTRA 64
static const size_t big_sizes[] = { 256 << 10, 1 << 20, 4 << 20, 16 << 20,
                                    256 << 10, 1 << 20, 4 << 20, 16 << 20 };
#define NBIG (sizeof big_sizes / sizeof big_sizes[0])

typedef struct filler {
    char *base;
    size_t len;
    void *extra[EXTRA];
    unsigned nextra;
} filler_t;

static long max_map_count(void)
{
    char buf[32] = { 0 };
    int fd = open("/proc/sys/vm/max_map_count", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);

    if (fd >= 0)
        close(fd);
    return n > 0 ? strtol(buf, NULL, 10) : -1;
}

/* Fills the map count to its limit. True when a last mmap failed with ENOMEM. */
static bool fill_maps(filler_t *f, long max)
{
    size_t page = ck_page_size(), pages = (size_t)max + 16;
    void *p = mmap(NULL, pages * page, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (p == MAP_FAILED)
        return false;
    f->base = p;
    f->len = pages * page;
    for (size_t i = 1; i + 1 < pages; i += 2)
        if (mprotect(f->base + i * page, page, PROT_READ) < 0)
            break;
    while (f->nextra < EXTRA) {
        p = mmap(NULL, page, f->nextra % 2 ? PROT_READ : PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return errno == ENOMEM;
        f->extra[f->nextra++] = p;
    }
    return false;
}

static void unfill(filler_t *f)
{
    while (f->nextra > 0)
        munmap(f->extra[--f->nextra], ck_page_size());
    if (f->base)
        munmap(f->base, f->len);
}

/* Frees every block, the ones between others first, errno a canary before each. */
static void free_at_limit(check_ctx_t *c, void **blk)
{
    for (int pass = 1; pass >= 0; pass--) {
        for (size_t i = (size_t)pass; i < NBIG; i += 2) {
            errno = 4242;
            c->a->free(c->a->ctx, blk[i]);
            ck_expect_errno(c, errno, 4242, "at the map-count limit, freeing a %zu-byte block "
                            "changed errno to %d", big_sizes[i], errno);
        }
    }
}

static void run_free_errno_map_limit(check_ctx_t *c)
{
    long max = max_map_count();
    void *blk[NBIG];
    filler_t f = { 0 };

    if (max <= 0 || max > FILL_MAX) {
        check_skip(c, "vm.max_map_count is %ld: not between 1 and %ld", max, FILL_MAX);
        return;
    }
    for (size_t i = 0; i < NBIG; i++) {
        blk[i] = c->a->malloc(c->a->ctx, big_sizes[i]);
        require_true(c, blk[i] != NULL, "malloc(%zu) failed", big_sizes[i]);
        ck_fill(blk[i], big_sizes[i], (uint32_t)i);
    }
    if (fill_maps(&f, max))
        free_at_limit(c, blk);
    else
        check_skip(c, "could not bring the map count to its limit (%ld)", max);
    unfill(&f);
}

const check_t check_free_errno_map_limit = {
    "free-errno-map-limit", "free", "POSIX.1-2024 free",
    "free of large blocks at the map-count limit (munmap failing with ENOMEM) leaves errno alone",
    AF_BIT(AF_MALLOC) | AF_BIT(AF_FREE), CHECK_ERRNO | CHECK_SLOW, run_free_errno_map_limit };
