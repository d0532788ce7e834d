/* The leak oracle and the retention figure (see leak.h).
 * Why repetitions and not one reading: an allocator may take memory the first time a
 * sequence runs (caches, size-class chunks, arenas per thread) and keep it, which is
 * retention, not a leak. Run the same sequence again and a correct allocator serves it from
 * what it kept; one that leaks takes about the same amount again each time. LEAK_REPS = 4
 * steps, each at least a page and within 4x of each other, separate the two: a cache that
 * warms up grows once or twice, by different amounts; noise (a page touched by the harness,
 * a decay thread giving pages back) does not grow four times in a row. Some correct
 * allocators do grow for several rounds before their free lists settle (glibc with 1 MiB
 * aligned blocks and two threads: 4, 2, 4, 4, 2 MiB mapped, then nothing, measured on a
 * fuzz sequence), so growth must still be there after LEAK_SETTLE_REPS more rounds. */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#include "src/footprint/leak.h"

/* Steps of one measure: a leak when every step is a loss of about the same size. */
static bool steady_growth(const int64_t step[LEAK_REPS])
{
    int64_t lo = step[0], hi = step[0], sum = 0;
    for (unsigned i = 0; i < LEAK_REPS; i++) {
        lo = step[i] < lo ? step[i] : lo;
        hi = step[i] > hi ? step[i] : hi;
        sum += step[i];
    }
    return lo >= (int64_t)LEAK_MIN_STEP && sum >= (int64_t)LEAK_MIN_TOTAL && lo * 4 >= hi;
}

/* Shrinking steps print as 0: the message's shape (its signature, engine.h) must not depend
 * on the sign of a measure that did not leak. */
static void steps_text(const int64_t step[LEAK_REPS], char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < LEAK_REPS && n < len; i++) {
        int w = snprintf(buf + n, len - n, "%s%lld", i ? ", " : "",
                         (long long)(step[i] > 0 ? step[i] : 0));
        n += w > 0 ? (size_t)w : 0;
    }
}

/* Runs `skip` repetitions unmeasured, then LEAK_REPS measured ones into res[] and map[].
 * Returns 1 when they grew steadily, 0, or what stopped run. */
static int measured_reps(leak_run_fn run, void *arg, unsigned skip, int64_t res[LEAK_REPS],
                         int64_t map[LEAK_REPS])
{
    struct footprint f[LEAK_REPS + 1];
    for (unsigned i = 0; i <= skip + LEAK_REPS; i++) {
        int r = i ? run(arg) : 0;
        if (r)
            return r == LEAK_RUN_LIVE ? 0 : r;
        if (i >= skip && footprint_read(&f[i - skip]))
            return -errno;
    }
    for (unsigned i = 0; i < LEAK_REPS; i++) {
        res[i] = (int64_t)f[i + 1].resident - (int64_t)f[i].resident;
        map[i] = (int64_t)f[i + 1].mapped - (int64_t)f[i].mapped;
    }
    return steady_growth(res) || steady_growth(map);
}

int leak_probe(leak_run_fn run, void *arg, char *msg, size_t len)
{
    int64_t res[LEAK_REPS], map[LEAK_REPS];
    int r = measured_reps(run, arg, 0, res, map);
    if (r == 1)
        r = measured_reps(run, arg, LEAK_SETTLE_REPS, res, map);
    if (r != 1)
        return r;
    char rs[128], ms[128];
    steps_text(res, rs, sizeof rs);
    steps_text(map, ms, sizeof ms);
    snprintf(msg, len, "a sequence that frees everything, run %u more times, grew the "
             "footprint in each of the last %u: by %s bytes resident and %s bytes mapped",
             2 * LEAK_REPS + LEAK_SETTLE_REPS, LEAK_REPS, rs, ms);
    return 1;
}

bool leak_watch_due(leak_watch_t *w)
{
    uint64_t now = footprint_coarse();
    if (now < w->high + LEAK_WATCH_SLACK)
        return false;
    w->high = now;
    return true;
}

/* The object that defines addr, or NULL. */
static struct link_map *owner_of(const void *addr)
{
    Dl_info info;
    struct link_map *lm = NULL;
    if (!addr || !dladdr1(addr, &info, (void **)&lm, RTLD_DL_LINKMAP))
        return NULL;
    return lm;
}

trim_fn_t retention_find_trim(const alloc_t *a)
{
    struct link_map *lm = owner_of(a->raw[AF_MALLOC]);
    if (a->kind == ALLOC_DESCRIPTOR || a->kind == ALLOC_REFERENCE || !lm)
        return NULL;
    /* The main program (l_name "") is reached through dlopen(NULL). */
    void *h = dlopen(lm->l_name[0] ? lm->l_name : NULL, RTLD_LAZY | RTLD_NOLOAD);
    if (!h)
        return NULL;
    char name[96];
    snprintf(name, sizeof name, "%smalloc_trim", a->prefix);
    void *p = dlsym(h, name);
    dlclose(h);   /* NOLOAD: only drops the reference this took */
    return p && owner_of(p) == lm ? (trim_fn_t)p : NULL;
}

void retention_measure(const struct footprint *base, trim_fn_t trim, retention_t *out)
{
    struct footprint now;
    memset(out, 0, sizeof *out);
    if (footprint_read(&now))
        return;
    out->valid = 1;
    out->resident = (int64_t)now.resident - (int64_t)base->resident;
    out->mapped = (int64_t)now.mapped - (int64_t)base->mapped;
    out->trimmed_resident = out->resident;
    out->trimmed_mapped = out->mapped;
    if (!trim)
        return;
    trim(0);
    if (footprint_read(&now))
        return;
    out->has_trim = 1;
    out->trimmed_resident = (int64_t)now.resident - (int64_t)base->resident;
    out->trimmed_mapped = (int64_t)now.mapped - (int64_t)base->mapped;
}

static double mib(int64_t bytes)
{
    return (double)bytes / (1 << 20);
}

void retention_format(const retention_t *r, char *buf, size_t len)
{
    if (!r->valid) {
        snprintf(buf, len, "retained after free-all: not measured");
        return;
    }
    int n = snprintf(buf, len, "retained after free-all: %.2f MiB resident, %.2f MiB mapped",
                     mib(r->resident), mib(r->mapped));
    if (n < 0 || (size_t)n >= len)
        return;
    if (r->has_trim)
        snprintf(buf + n, len - (size_t)n, "; after malloc_trim: %.2f MiB resident, "
                 "%.2f MiB mapped", mib(r->trimmed_resident), mib(r->trimmed_mapped));
    else
        snprintf(buf + n, len - (size_t)n, "; no malloc_trim");
}

void retention_json(FILE *f, const retention_t *r)
{
    if (!r->valid) {
        fputs("null", f);
        return;
    }
    fprintf(f, "{\"resident\": %lld, \"mapped\": %lld, \"trimmed\": ",
            (long long)r->resident, (long long)r->mapped);
    if (r->has_trim)
        fprintf(f, "{\"resident\": %lld, \"mapped\": %lld}}", (long long)r->trimmed_resident,
                (long long)r->trimmed_mapped);
    else
        fputs("null}", f);
}
