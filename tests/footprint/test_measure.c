/* footprint_read() against figures known independently: mappings this test makes itself,
 * N pages mapped and K of them touched (mincore confirms K), must move the reading by N and
 * K pages within 5 %; registered ranges must drop out of it, whole or in part. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "src/footprint/measure.h"
#include "tests/tap.h"

static size_t ps;
static void *volatile sink;

static int within5(uint64_t got, uint64_t want)
{
    uint64_t d = got > want ? got - want : want - got;
    return d * 20 <= want;
}

static char *map_pages(size_t n)
{
    char *p = mmap(NULL, n * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Touches k of the n pages, spread out, and returns how many mincore finds resident. */
static size_t touch(char *p, size_t n, size_t k)
{
    for (size_t i = 0; i < k; i++)
        p[(i * n / k) * ps] = 1;
    unsigned char *vec = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                              -1, 0);
    size_t res = 0;
    if (vec != MAP_FAILED && mincore(p, n * ps, vec) == 0)
        for (size_t i = 0; i < n; i++)
            res += vec[i] & 1;
    if (vec != MAP_FAILED)
        munmap(vec, n);
    return res;
}

static void known_mapping(size_t n, size_t k)
{
    struct footprint a, b;
    int r0 = footprint_read(&a);
    char *p = map_pages(n);
    size_t res = p ? touch(p, n, k) : 0;
    int r1 = footprint_read(&b);
    CHECK(r0 == 0 && r1 == 0 && p, "%zu pages mapped, %zu touched: both readings work", n, k);
    CHECK(res == k, "mincore sees the %zu touched pages resident (%zu)", k, res);
    CHECK(within5(b.mapped - a.mapped, n * ps), "mapped grew by %zu pages within 5 %% "
          "(%llu bytes for %zu)", n, (unsigned long long)(b.mapped - a.mapped), n * ps);
    CHECK(within5(b.resident - a.resident, res * ps), "resident grew by %zu pages within "
          "5 %% (%llu bytes for %zu)", res, (unsigned long long)(b.resident - a.resident),
          res * ps);
    if (p)
        munmap(p, n * ps);
}

static void excluded_mapping(void)
{
    size_t n = 2048, k = 1024;
    struct footprint a, b, c, d;
    footprint_read(&a);
    char *p = map_pages(n);
    touch(p, n, k);
    footprint_exclude(p, n * ps);
    footprint_read(&b);
    CHECK(within5(a.resident + ps * 64, b.resident + ps * 64) && b.mapped <= a.mapped + 64 * ps,
          "a registered mapping drops out (resident %llu -> %llu, touched %zu pages)",
          (unsigned long long)a.resident, (unsigned long long)b.resident, k);
    footprint_include(p, n * ps);
    footprint_exclude(p, n / 2 * ps);   /* the first half: every other page of it touched */
    footprint_read(&c);
    uint64_t want = (k / 2) * ps;
    CHECK(within5(c.resident - a.resident, want), "half of it registered: the other half "
          "counts (%llu bytes resident for %llu)", (unsigned long long)(c.resident - a.resident),
          (unsigned long long)want);
    CHECK(within5(c.mapped - a.mapped, n / 2 * ps), "and its mapped half (%llu for %zu)",
          (unsigned long long)(c.mapped - a.mapped), n / 2 * ps);
    footprint_include(p, n * ps);
    footprint_read(&d);
    CHECK(within5(d.resident - a.resident, k * ps), "forgotten again, it all counts (%llu "
          "for %zu)", (unsigned long long)(d.resident - a.resident), k * ps);
    munmap(p, n * ps);
}

/* glibc's malloc serves this from its own mmap: the allocator's memory, seen as such. */
static void malloc_block(void)
{
    size_t len = 8u << 20;
    struct footprint a, b;
    footprint_read(&a);
    char *p = malloc(len);
    sink = p;   /* escapes, so neither the pair nor the memset is optimized away */
    if (p)
        memset(p, 1, len);
    footprint_read(&b);
    CHECK(p && within5(b.resident - a.resident, len), "an 8 MiB malloc'ed and written block "
          "shows as 8 MiB resident (%llu)", (unsigned long long)(b.resident - a.resident));
    free(p);
}

int main(void)
{
    ps = (size_t)sysconf(_SC_PAGESIZE);
    struct footprint f = { 0, 0 };
    int r = footprint_read(&f);
    CHECK(r == 0 && f.mapped >= f.resident && f.resident > 0, "a reading: %llu resident of "
          "%llu mapped", (unsigned long long)f.resident, (unsigned long long)f.mapped);
    known_mapping(1024, 1024);
    known_mapping(1024, 300);
    known_mapping(16384, 1000);
    excluded_mapping();
    malloc_block();
    CHECK(footprint_coarse() > 0, "the coarse reading works");
    return tap_done();
}
