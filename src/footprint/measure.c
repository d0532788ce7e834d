/* Footprint readings (see measure.h).
 * Why /proc/self/smaps and not smaps_rollup: the rollup is cheaper but sums every mapping,
 * and the harness's own anonymous memory (the executor's state, trace buffers) must be left
 * out. smaps gives each mapping's Size and Rss; a registered range that covers part of a
 * mapping is subtracted page by page, its resident part counted with mincore(), so the
 * reading is exact to the page whatever the overlap.
 * Why no stdio and no malloc: under preload: (and for `system`) malloc is the allocator under
 * test; calling it while measuring it would change what is measured. The reading uses a
 * static buffer (in the executable's bss, which is itself left out) and read(2). */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "src/footprint/measure.h"

#define MAX_EXCLUDED 256
#define CHUNK (64u << 10)
#define LINE_MAX_LEN 8192

typedef struct range { uintptr_t lo, hi; } range_t;

static range_t excluded[MAX_EXCLUDED];
static unsigned n_excluded;

/* Linker-defined bounds of the executable (text to the end of bss): the harness's statics. */
extern char __executable_start[], _end[];

typedef struct mapping {
    uintptr_t lo, hi;
    uint64_t size, rss;       /* bytes, from the Size: and Rss: lines */
    int counted;
} mapping_t;

typedef struct reader {
    char buf[CHUNK + LINE_MAX_LEN];
    size_t len;
    mapping_t cur;
    struct footprint sum;
} reader_t;

static reader_t rd;

void footprint_exclude(const void *addr, size_t len)
{
    if (!addr || !len || n_excluded == MAX_EXCLUDED)
        return;   /* a full table only makes readings larger, never wrong in sign */
    excluded[n_excluded++] = (range_t){ (uintptr_t)addr, (uintptr_t)addr + len };
}

void footprint_include(const void *addr, size_t len)
{
    uintptr_t lo = (uintptr_t)addr, hi = lo + len;
    for (unsigned i = 0; i < n_excluded;) {
        if (excluded[i].lo < hi && lo < excluded[i].hi)
            excluded[i] = excluded[--n_excluded];
        else
            i++;
    }
}

static size_t page_size(void)
{
    static size_t ps;
    if (!ps)
        ps = (size_t)sysconf(_SC_PAGESIZE);
    return ps;
}

/* Resident bytes of [lo, hi) (page-aligned), by mincore. */
static uint64_t resident_in(uintptr_t lo, uintptr_t hi)
{
    static unsigned char vec[4096];
    size_t ps = page_size();
    uint64_t n = 0;
    while (lo < hi) {
        size_t pages = (hi - lo) / ps;
        pages = pages > sizeof vec ? sizeof vec : pages;
        if (mincore((void *)lo, pages * ps, vec) == 0)
            for (size_t i = 0; i < pages; i++)
                n += vec[i] & 1;
        lo += pages * ps;
    }
    return n * ps;
}

/* Adds one excluded range's overlap with m to *ov (bytes) and *ov_res (resident bytes). */
static void overlap(const mapping_t *m, range_t r, uint64_t *ov, uint64_t *ov_res)
{
    size_t ps = page_size();
    uintptr_t lo = r.lo > m->lo ? r.lo : m->lo, hi = r.hi < m->hi ? r.hi : m->hi;
    lo &= ~(uintptr_t)(ps - 1);
    hi = (hi + ps - 1) & ~(uintptr_t)(ps - 1);
    lo = lo < m->lo ? m->lo : lo;
    hi = hi > m->hi ? m->hi : hi;
    if (lo >= hi)
        return;
    *ov += hi - lo;
    *ov_res += resident_in(lo, hi);
}

static void finish_mapping(reader_t *r)
{
    mapping_t *m = &r->cur;
    if (!m->counted)
        return;
    uint64_t ov = 0, ov_res = 0;
    range_t self = { (uintptr_t)__executable_start, (uintptr_t)_end };
    overlap(m, self, &ov, &ov_res);
    for (unsigned i = 0; i < n_excluded; i++)
        overlap(m, excluded[i], &ov, &ov_res);
    r->sum.mapped += m->size > ov ? m->size - ov : 0;
    r->sum.resident += m->rss > ov_res ? m->rss - ov_res : 0;
    m->counted = 0;
}

static uintptr_t parse_hex(const char **p)
{
    uintptr_t v = 0;
    for (;; (*p)++) {
        char c = **p;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return v;
        v = v * 16 + (uintptr_t)d;
    }
}

/* "lo-hi perms offset dev inode   [path]": private, and anonymous, [heap] or [anon:NAME]. */
static void parse_header(reader_t *r, const char *s, const char *end)
{
    finish_mapping(r);
    mapping_t *m = &r->cur;
    memset(m, 0, sizeof *m);
    m->lo = parse_hex(&s);
    s++;
    m->hi = parse_hex(&s);
    int private = s + 4 < end && s[4] == 'p';
    for (int field = 0; field < 4 && s < end; field++) {
        while (s < end && *s == ' ')
            s++;
        while (s < end && *s != ' ')
            s++;
    }
    while (s < end && *s == ' ')
        s++;
    size_t n = (size_t)(end - s);
    int anon = n == 0 || (n == 6 && memcmp(s, "[heap]", 6) == 0) ||
               (n > 6 && memcmp(s, "[anon:", 6) == 0);
    m->counted = private && anon;
}

static uint64_t parse_kb(const char *s, const char *end)
{
    uint64_t v = 0;
    while (s < end && (*s < '0' || *s > '9'))
        s++;
    while (s < end && *s >= '0' && *s <= '9')
        v = v * 10 + (uint64_t)(*s++ - '0');
    return v * 1024;
}

static void parse_line(reader_t *r, const char *s, const char *end)
{
    if (s == end)
        return;
    if ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))
        parse_header(r, s, end);
    else if (end - s > 5 && memcmp(s, "Size:", 5) == 0)
        r->cur.size = parse_kb(s + 5, end);
    else if (end - s > 4 && memcmp(s, "Rss:", 4) == 0)
        r->cur.rss = parse_kb(s + 4, end);
}

/* Parses the complete lines in r->buf and keeps the partial last one at its start. */
static void parse_lines(reader_t *r)
{
    char *s = r->buf, *end = r->buf + r->len, *nl;
    while ((nl = memchr(s, '\n', (size_t)(end - s))) != NULL) {
        parse_line(r, s, nl);
        s = nl + 1;
    }
    r->len = (size_t)(end - s);
    if (r->len >= LINE_MAX_LEN)
        r->len = 0;   /* a line longer than any smaps line: drop it */
    memmove(r->buf, s, r->len);
}

int footprint_read(struct footprint *out)
{
    int fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    reader_t *r = &rd;
    memset(&r->cur, 0, sizeof r->cur);
    r->sum = (struct footprint){ 0, 0 };
    r->len = 0;
    ssize_t n;
    while ((n = read(fd, r->buf + r->len, CHUNK)) > 0) {
        r->len += (size_t)n;
        parse_lines(r);
    }
    close(fd);
    if (n < 0)
        return -1;
    finish_mapping(r);
    *out = r->sum;
    return 0;
}

uint64_t footprint_coarse(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const char *s = buf;
    uint64_t size = parse_kb(s, buf + n) / 1024;
    while (*s && *s != ' ')
        s++;
    uint64_t res = parse_kb(s, buf + n) / 1024;
    return (size + res) * page_size();
}
