/* The minimizer (see minimize.h). Why this order: a finding from a long fuzzing run is a
 * trace of up to millions of ops, and every candidate replays all of it, so the cuts that can
 * drop most of a trace in one candidate come first: the failing sequence alone, ops on the
 * slots the failure does not name, whole groups of lifetimes (all small blocks, all blocks
 * of one function, every free), then the prefix (bisection over quiescent points), each a
 * well-formed trace: nothing refers to a block whose allocation was cut. Chunk
 * removal (Zeller's ddmin, simplified to "remove a chunk if the failure stays"), whose
 * candidate count grows with the ops that must stay, then works on what is left. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "src/engine/minimize.h"
#include "src/engine/resources.h"
#include "src/trace/trace.h"

#define NONE SIZE_MAX

typedef struct mz {
    trace_t *t;
    trace_t cand;
    minimize_test_fn test;
    void *arg;
    const minimize_opts_t *o;
    unsigned tests, max_tests;
    uint64_t spent, ops_budget; /* ops run by all candidates so far, and their bound */
    bool cut_short;
    int err;
} mz_t;

/* Bounds the work as well as the candidate count; counting ops keeps it deterministic. The
 * fixed part is for ddmin on short traces (at 8 M ops a no-reuse arena's 7,000-op finding
 * took 83 s to minimize; at 2 M, 20 s); the part per op of the trace pays for the structural
 * cuts, each a replay of at most the whole trace. */
#define MINIMIZE_OPS_BUDGET (2u << 20)
#define OPS_BUDGET_PER_OP 16u

/* True once no more candidates may run. */
static bool spent(mz_t *m)
{
    if (m->err || m->cut_short)
        return true;
    if (m->tests >= m->max_tests || m->spent > m->ops_budget)
        return true;
    const minimize_opts_t *o = m->o;
    if ((o->stop && *o->stop) || (o->deadline_ms && engine_now_ms() >= o->deadline_ms))
        m->cut_short = true;
    return m->cut_short;
}

/* Tries cand; if it still fails, it becomes the trace. Returns 1 if kept. */
static int try_cand(mz_t *m)
{
    if (spent(m))
        return 0;
    unsigned tries, need;
    minimize_tries(m->o->rate_hits, m->o->rate_runs, &tries, &need);
    m->tests++;
    m->spent += m->cand.len * tries;   /* every replay counts against the ops budget */
    int r = m->test(m->arg, &m->cand);
    if (r == -ETIMEDOUT || r == -EINTR) {
        m->cut_short = true;
        return 0;
    }
    if (r < 0) {
        m->err = r;
        return 0;
    }
    if (r == 1) {
        m->err = trace_copy(m->t, &m->cand);
        return !m->err;
    }
    return 0;
}

/* Scratch arrays from mmap: the tool's own heap may be the allocator under test (preload:). */
static void *scratch(size_t bytes)
{
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void scratch_free(void *p, size_t bytes)
{
    if (p)
        munmap(p, bytes ? bytes : 1);
}

static bool is_free(uint8_t k)
{
    return k >= OP_FREE && k <= OP_FREE_ALIGNED_SIZED;
}

/* ---- structural cuts ---- */

/* owner[i]: the index of the op that began the lifetime op i belongs to, or NONE (thread
 * and check ops, frees and queries of an empty slot). */
static void find_owners(const trace_t *t, size_t *owner)
{
    static size_t cur[OPS_SLOTS];
    for (unsigned s = 0; s < OPS_SLOTS; s++)
        cur[s] = NONE;
    for (size_t i = 0; i < t->len; i++) {
        const op_t *op = &t->ops[i];
        unsigned s = op->slot % OPS_SLOTS;
        bool resize = op->kind == OP_REALLOC || op->kind == OP_REALLOCARRAY;
        if (op->kind == OP_CHECK || op->kind == OP_THREAD) {
            owner[i] = NONE;
        } else if (op->kind < OP_FREE && !(resize && cur[s] != NONE)) {
            owner[i] = cur[s] = i;
        } else {
            owner[i] = cur[s];
            if (is_free(op->kind))
                cur[s] = NONE;
        }
    }
}

/* Fills start[] with where each segment between quiescent points begins (start[0] = 0) and
 * returns how many there are. A failed allocation counts as live: a cut there is only
 * missed, never wrong, since every candidate is tested. */
static size_t segments(const trace_t *t, size_t *start)
{
    static uint8_t live[OPS_SLOTS];
    memset(live, 0, sizeof live);
    size_t n = 0, nlive = 0;
    unsigned thread = 0;
    start[n++] = 0;
    for (size_t i = 0; i + 1 < t->len; i++) {
        const op_t *op = &t->ops[i];
        unsigned s = op->slot % OPS_SLOTS;
        if (op->kind == OP_THREAD) {
            thread = op->slot;
        } else if (op->kind < OP_FREE && !live[s]) {
            live[s] = 1;
            nlive++;
        } else if (is_free(op->kind) && live[s]) {
            live[s] = 0;
            nlive--;
        }
        if (nlive == 0 && thread == 0)
            start[n++] = i + 1;
    }
    return n;
}

/* cand = src from op `from` on. */
static int try_suffix(mz_t *m, const trace_t *src, size_t from)
{
    trace_clear(&m->cand);
    for (size_t i = from; i < src->len; i++)
        if (trace_push(&m->cand, &src->ops[i])) {
            m->err = -ENOMEM;
            return 0;
        }
    return try_cand(m);
}

/* The failing sequence alone: one short candidate. */
static void cut_to_last_segment(mz_t *m)
{
    size_t len = m->t->len;
    size_t *start = scratch(len * sizeof *start);
    if (!start) {
        m->err = -ENOMEM;
        return;
    }
    size_t n = segments(m->t, start);
    if (n > 1)
        try_suffix(m, m->t, start[n - 1]);   /* cand is built before t changes */
    scratch_free(start, len * sizeof *start);
}

/* The last 1, 2, 4, ... segments up to half of them; after the first that fails as wanted,
 * bisection between it and the last that did not. A failure that needs most of the history
 * costs about one replay of it here. */
static void cut_prefix(mz_t *m)
{
    size_t len = m->t->len;
    size_t *start = scratch(len * sizeof *start);
    trace_t orig;
    trace_init(&orig);
    if (!start || trace_copy(&orig, m->t)) {
        m->err = -ENOMEM;
        goto out;
    }
    size_t n = segments(&orig, start), good = n, bad = 0;
    for (size_t k = 1; k <= n / 2 && !spent(m); k *= 2) {
        if (try_suffix(m, &orig, start[n - k])) {
            good = k;
            break;
        }
        bad = k;
    }
    while (good < n && good - bad > 1 && !spent(m)) {
        size_t mid = bad + (good - bad) / 2;
        if (try_suffix(m, &orig, start[n - mid]))
            good = mid;
        else
            bad = mid;
    }
out:
    scratch_free(start, len * sizeof *start);
    trace_release(&orig);
}

/* The slots the failure involves: the failing op's, and every "slot N" its message names
 * (the other block of an overlap, the damaged block of a contents finding). */
static void failure_slots(const mz_t *m, uint8_t *rel)
{
    const op_t *last = &m->t->ops[m->t->len - 1];
    if (last->kind != OP_THREAD && last->kind != OP_CHECK)
        rel[last->slot % OPS_SLOTS] = 1;
    const char *msg = m->o->f ? m->o->f->message : "";
    for (const char *p = strstr(msg, "slot "); p; p = strstr(p + 5, "slot ")) {
        char *end;
        unsigned long s = strtoul(p + 5, &end, 10);
        if (end != p + 5 && s < OPS_SLOTS)
            rel[s] = 1;
    }
}

/* Drops every op on a slot the failure does not involve (thread and check ops stay). */
static void cut_unrelated_slots(mz_t *m)
{
    static uint8_t rel[OPS_SLOTS];
    memset(rel, 0, sizeof rel);
    failure_slots(m, rel);
    trace_clear(&m->cand);
    bool dropped = false;
    for (size_t i = 0; i < m->t->len; i++) {
        const op_t *op = &m->t->ops[i];
        bool keep = i + 1 == m->t->len || op->kind == OP_THREAD || op->kind == OP_CHECK ||
                    rel[op->slot % OPS_SLOTS];
        if (keep && trace_push(&m->cand, op)) {
            m->err = -ENOMEM;
            return;
        }
        dropped |= !keep;
    }
    if (dropped)
        try_cand(m);
}

/* What a lifetime is judged by: its first op's kind, the most memory it asked for, its
 * alignment; and which of its ops go (all, or only its free). */
typedef struct group {
    int kind;                 /* the allocating function, or -1 for any */
    uint64_t below;           /* footprint (bytes + alignment) below this, or 0 for any */
    uint64_t align_below;     /* the first op's alignment below this, or 0 for any */
    uint64_t size_from;       /* the first op's bytes at least this, or 0 for any */
    bool frees_only;          /* drop only its free: the block stays live */
    bool loose;               /* instead: the ops of no lifetime (thread switches, checks,
                                 frees of empty slots) */
    int op_kind;              /* instead, if > 0: every op of this kind (realloc, usable) */
} group_t;

static uint64_t footprint(const op_t *op)
{
    uint64_t n = op->size, sum;
    if ((op->kind == OP_CALLOC || op->kind == OP_REALLOCARRAY) &&
        __builtin_mul_overflow(op->nmemb, op->size, &n))
        return UINT64_MAX;
    return __builtin_add_overflow(n, op->align, &sum) ? UINT64_MAX : sum;
}

/* Whether op i, of lifetime o (NONE: of none), is in group g. The failing op and its
 * lifetime never are. */
static bool in_group(const group_t *g, const trace_t *t, size_t i, size_t o, size_t keep_life,
                     const uint64_t *foot)
{
    const op_t *first = o != NONE ? &t->ops[o] : NULL;
    if (i + 1 == t->len)
        return false;
    if (g->op_kind > 0)
        return t->ops[i].kind == g->op_kind;
    if (g->loose)
        return o == NONE;
    return first && o != keep_life && (g->kind < 0 || first->kind == g->kind) &&
           (!g->below || foot[o] < g->below) &&
           (!g->align_below || first->align < g->align_below) &&
           (!g->size_from || footprint(first) - first->align >= g->size_from) &&
           (!g->frees_only || is_free(t->ops[i].kind));
}

/* cand = t without the ops of group g. Returns how many it dropped. foot[] is scratch (one
 * entry per op). */
static size_t without_group(mz_t *m, const group_t *g, const size_t *owner, uint64_t *foot)
{
    const trace_t *t = m->t;
    for (size_t i = 0; i < t->len; i++)
        if (owner[i] != NONE) {
            uint64_t f = footprint(&t->ops[i]);
            foot[owner[i]] = owner[i] == i || f > foot[owner[i]] ? f : foot[owner[i]];
        }
    size_t keep_life = owner[t->len - 1], dropped = 0;
    trace_clear(&m->cand);
    for (size_t i = 0; i < t->len; i++) {
        if (in_group(g, t, i, owner[i], keep_life, foot))
            dropped++;
        else if (trace_push(&m->cand, &t->ops[i]))
            m->err = -ENOMEM;
    }
    return m->err ? 0 : dropped;
}

static int try_group(mz_t *m, const group_t *g)
{
    size_t len = m->t->len;
    size_t *owner = scratch(len * sizeof *owner);
    uint64_t *foot = scratch(len * sizeof *foot);
    int kept = 0;
    if (!owner || !foot) {
        m->err = -ENOMEM;
    } else {
        find_owners(m->t, owner);
        if (without_group(m, g, owner, foot) > 0)
            kept = try_cand(m);
    }
    scratch_free(owner, len * sizeof *owner);
    scratch_free(foot, len * sizeof *foot);
    return kept;
}

/* The first of g[0..n) that still fails as wanted (each one keeps more than the one
 * before it): the boldest cut is the shortest candidate, cheap even when it does not fail. */
static void try_boldest(mz_t *m, const group_t *g, unsigned n)
{
    for (unsigned i = 0; i < n && !spent(m); i++)
        if (try_group(m, &g[i]))
            return;
}

/* Blocks by alignment, by footprint, by size, each boldest first; then each allocating
 * function's blocks; then every free, and the ops outside lifetimes. A failure that needs
 * many small over-aligned blocks to have been allocated, say, keeps just those allocations
 * after a few candidates. */
static void cut_groups(mz_t *m)
{
    static const group_t bolder[][4] = {
        { { .kind = -1, .align_below = 1u << 20 }, { .kind = -1, .align_below = 65536 },
          { .kind = -1, .align_below = 4096 }, { .kind = -1, .align_below = 256 } },
        { { .kind = -1, .below = 1u << 20 }, { .kind = -1, .below = 65536 },
          { .kind = -1, .below = 4096 }, { .kind = -1, .below = 256 } },
        { { .kind = -1, .size_from = 4096 }, { .kind = -1, .size_from = 65536 },
          { .kind = -1, .size_from = 1u << 20 }, { .kind = -1, .size_from = 1u << 24 } },
    };
    for (unsigned d = 0; d < sizeof bolder / sizeof bolder[0]; d++)
        try_boldest(m, bolder[d], 4);
    for (int k = OP_MALLOC; k < OP_FREE && !spent(m); k++)
        try_group(m, &(group_t){ .kind = k });
    /* Leaks need no frees; once a free is gone, a later free of that slot (the closing
     * frees between sequences) frees the block instead, so again until nothing changes. */
    bool more = true;
    while (more && !spent(m)) {
        more = try_group(m, &(group_t){ .kind = -1, .frees_only = true });
        more |= try_group(m, &(group_t){ .loose = true });
    }
    static const int op_kinds[] = { OP_USABLE, OP_REALLOC, OP_REALLOCARRAY };
    for (unsigned i = 0; i < sizeof op_kinds / sizeof op_kinds[0] && !spent(m); i++)
        try_group(m, &(group_t){ .op_kind = op_kinds[i] });
}

/* ---- delta debugging and simplification ---- */

/* cand = t without lifetimes [from, from + n) in order of their first op (the failing op's
 * own stays). Returns how many lifetimes t has; *dropped says whether cand is shorter. */
static size_t without_lifetimes(mz_t *m, size_t *owner, size_t *rank, size_t from, size_t n,
                                bool *dropped)
{
    const trace_t *t = m->t;
    size_t nlife = 0;
    find_owners(t, owner);
    for (size_t i = 0; i < t->len; i++)
        if (owner[i] == i)
            rank[i] = nlife++;
    size_t keep_life = owner[t->len - 1];
    trace_clear(&m->cand);
    *dropped = false;
    for (size_t i = 0; i < t->len && !m->err; i++) {
        size_t o = owner[i];
        bool drop = o != NONE && o != keep_life && rank[o] >= from && rank[o] - from < n;
        if (!drop && trace_push(&m->cand, &t->ops[i]))
            m->err = -ENOMEM;
        *dropped |= drop;
    }
    return nlife;
}

/* Chunk removal over whole lifetimes: every candidate is well-formed, and there are about
 * half as many lifetimes as ops, so it gets further than ops within the same budget. */
static void remove_lifetime_chunks(mz_t *m)
{
    size_t len = m->t->len;
    size_t *owner = scratch(len * sizeof *owner), *rank = scratch(len * sizeof *rank);
    if (!owner || !rank) {
        m->err = -ENOMEM;
        goto out;
    }
    bool dropped;
    size_t nlife = without_lifetimes(m, owner, rank, 0, 0, &dropped);
    for (size_t n = nlife / 2; n >= 1 && !spent(m); n /= 2) {
        for (size_t from = 0; from < nlife && !spent(m);) {
            nlife = without_lifetimes(m, owner, rank, from, n, &dropped);
            if (!m->err && !(dropped && try_cand(m)))
                from += n;
        }
        if (n == 1)
            break;
    }
out:
    scratch_free(owner, len * sizeof *owner);
    scratch_free(rank, len * sizeof *rank);
}

/* cand = t without ops [from, from + n). */
static int without(mz_t *m, size_t from, size_t n)
{
    trace_clear(&m->cand);
    for (size_t i = 0; i < m->t->len; i++)
        if ((i < from || i >= from + n) && trace_push(&m->cand, &m->t->ops[i]))
            return -ENOMEM;
    return 0;
}

static void remove_chunks(mz_t *m)
{
    for (size_t n = m->t->len / 2; n >= 1 && !spent(m); n /= 2) {
        for (size_t from = 0; from < m->t->len && !spent(m);) {
            if ((m->err = without(m, from, n)) != 0)
                return;
            if (!try_cand(m))
                from += n;
        }
        if (n == 1)
            break;
    }
}

/* Simpler values for one field: zero-ish first, then halves. */
static void simplify_field(mz_t *m, size_t i, size_t field_off)
{
    static const uint64_t simple[] = { 0, 1, 8, 16, 64, 256, 4096 };
    uint64_t cur;
    memcpy(&cur, (char *)&m->t->ops[i] + field_off, sizeof cur);
    for (unsigned k = 0; k < sizeof simple / sizeof simple[0] && simple[k] < cur; k++) {
        if (spent(m) || (m->err = trace_copy(&m->cand, m->t)) != 0)
            return;
        memcpy((char *)&m->cand.ops[i] + field_off, &simple[k], sizeof cur);
        if (try_cand(m))
            return;
    }
    for (uint64_t v = cur / 2; v > 0 && !spent(m); v /= 2) {
        if ((m->err = trace_copy(&m->cand, m->t)) != 0)
            return;
        memcpy((char *)&m->cand.ops[i] + field_off, &v, sizeof v);
        if (!try_cand(m))
            break;
    }
}

static void simplify_values(mz_t *m)
{
    for (size_t i = 0; i < m->t->len && !spent(m); i++) {
        uint8_t k = m->t->ops[i].kind;
        if (k == OP_CHECK || k == OP_THREAD || (k >= OP_FREE && k <= OP_USABLE))
            continue;
        if (k == OP_CALLOC || k == OP_REALLOCARRAY)
            simplify_field(m, i, offsetof(op_t, nmemb));
        simplify_field(m, i, offsetof(op_t, size));
    }
}

/* Renumbers slots in order of first use (0, 1, 2, ...): same failure, easier to read. */
static void renumber_slots(mz_t *m)
{
    static int16_t map[OPS_SLOTS];
    memset(map, -1, sizeof map);
    int16_t next = 0;
    if (spent(m) || (m->err = trace_copy(&m->cand, m->t)) != 0)
        return;
    bool changed = false;
    for (size_t i = 0; i < m->cand.len; i++) {
        op_t *op = &m->cand.ops[i];
        if (op->kind == OP_CHECK || op->kind == OP_THREAD)
            continue;
        if (map[op->slot] < 0)
            map[op->slot] = next++;
        changed |= op->slot != (uint16_t)map[op->slot];
        op->slot = (uint16_t)map[op->slot];
    }
    if (changed)
        try_cand(m);
}

int minimize_trace(trace_t *t, minimize_test_fn test, void *arg, const minimize_opts_t *mo,
                   minimize_stats_t *st)
{
    static const minimize_opts_t defaults;
    mz_t m = { .t = t, .test = test, .arg = arg, .o = mo ? mo : &defaults };
    m.max_tests = m.o->max_tests ? m.o->max_tests : 3000;
    m.ops_budget = MINIMIZE_OPS_BUDGET + (uint64_t)OPS_BUDGET_PER_OP * t->len;
    uint64_t t0 = engine_now_ms();
    trace_init(&m.cand);
    st->before = t->len;
    if (t->len > 1) {
        cut_to_last_segment(&m);
        cut_unrelated_slots(&m);
        cut_groups(&m);
        cut_prefix(&m);   /* after the cuts above, cheaper, and often a shorter history */
        remove_lifetime_chunks(&m);
        remove_chunks(&m);
        simplify_values(&m);
        renumber_slots(&m);
        remove_chunks(&m);   /* simpler values often make more ops removable */
    }
    st->after = t->len;
    st->tests = m.tests;
    st->cut_short = m.cut_short;
    st->ms = engine_now_ms() - t0;
    trace_release(&m.cand);
    for (size_t i = 0; i < t->len; i++)
        t->ops[i].line = 0;
    return m.err;
}

/* ---- against an allocator, under the supervisor ---- */

typedef struct fin_arg {
    const alloc_t *a;
    const exec_opts_t *eo;
    unsigned hang_ms;
    const char *oracle;
    char sig[256];            /* engine_finding_signature of the original finding */
    const minimize_opts_t *mo;
    sup_result_t *res;
    sup_result_t tmp;
} fin_arg_t;

#define RATE_TRIES_MAX 10

void minimize_tries(unsigned hits, unsigned runs, unsigned *tries, unsigned *need)
{
    *tries = *need = 1;
    if (!runs || !hits)
        return;
    unsigned t = (3 * runs + hits - 1) / hits;
    *tries = t < 2 ? 2 : t > RATE_TRIES_MAX ? RATE_TRIES_MAX : t;
    unsigned n = (hits * *tries + 2 * runs - 1) / (2 * runs);
    *need = n ? n : 1;
}

/* The same finding: same oracle and same signature (function of the failing op, message up
 * to numbers), so a cut that turns one bug into another is not kept. */
static int same_failure_once(void *arg, const trace_t *cand)
{
    fin_arg_t *x = arg;
    int r = sup_run_trace_until(x->a, x->eo, cand, x->hang_ms, x->mo->deadline_ms,
                                x->mo->stop, &x->tmp);
    if (r)
        return r;
    if (x->tmp.status != 1 || strcmp(x->tmp.f.oracle, x->oracle) != 0)
        return 0;
    char sig[sizeof x->sig];
    engine_finding_signature(&x->tmp.f, cand, sig, sizeof sig);
    if (strcmp(sig, x->sig) != 0)
        return 0;
    *x->res = x->tmp;
    return 1;
}

/* One batch of a racy candidate's replays: 1 once enough failed, 0 once too few are left to
 * get there. */
static int failing_batch(void *arg, const trace_t *cand, unsigned tries, unsigned need)
{
    unsigned got = 0;
    for (unsigned i = 0; i < tries; i++) {
        int r = same_failure_once(arg, cand);
        if (r < 0)
            return r;
        got += (unsigned)r;
        if (got >= need)
            return 1;
        if (got + (tries - i - 1) < need)
            return 0;
    }
    return 0;
}

/* A racy finding's candidate fails at about the finding's rate. Why a second batch to keep
 * one: of the hundreds of candidates a minimization tries, those that lost the race pass one
 * batch now and then by luck, and every lucky one kept lowers the rate of all that follow
 * (seen: a race at 10/10 minimized to a trace at 0/10). */
static int same_failure(void *arg, const trace_t *cand)
{
    fin_arg_t *x = arg;
    unsigned tries, need;
    minimize_tries(x->mo->rate_hits, x->mo->rate_runs, &tries, &need);
    int r = failing_batch(arg, cand, tries, need);
    if (r == 1 && x->mo->rate_runs)
        r = failing_batch(arg, cand, tries, need);
    return r;
}

/* Measures the rate of a racy trace into *hits and *runs (0 runs: not racy). */
static int measure_rate(const alloc_t *a, const exec_opts_t *eo, unsigned hang_ms,
                        const minimize_opts_t *o, const trace_t *t, const char *oracle,
                        unsigned *hits, unsigned *runs)
{
    *hits = *runs = 0;
    if (!engine_racy(eo, t))
        return 0;
    return engine_rate(a, eo, hang_ms, o->deadline_ms, o->stop, t, oracle, ENGINE_RATE_RUNS,
                       hits, runs);
}

/* Whether the minimized trace of a racy finding fails at less than half its finding's rate. */
static bool lost_rate(const minimize_opts_t *o, const minimize_stats_t *st)
{
    return o->rate_runs && st->rate_runs && st->after < st->before
        && 2 * st->rate_hits * o->rate_runs < o->rate_hits * st->rate_runs;
}

/* A minimized racy trace that lost its rate is worth less than the finding's own trace, which
 * is given back with its rate (the minimization counts as spent, nothing cut). */
static int keep_original(trace_t *t, const trace_t *orig, sup_result_t *res, const finding_t *f,
                         minimize_stats_t *st, const minimize_opts_t *o)
{
    int r = trace_copy(t, orig);
    res->f = *f;
    st->rate_lost = true;
    st->lost_hits = st->rate_hits;
    st->after = st->before;
    st->rate_hits = o->rate_hits;
    st->rate_runs = o->rate_runs;
    return r;
}

int minimize_finding(const alloc_t *a, const exec_opts_t *eo, unsigned hang_ms, trace_t *t,
                     sup_result_t *res, const minimize_opts_t *mo, minimize_stats_t *st)
{
    static const minimize_opts_t defaults;
    minimize_opts_t o = mo ? *mo : defaults;
    char oracle[sizeof res->f.oracle];
    memcpy(oracle, res->f.oracle, sizeof oracle);
    if (res->f.op_index + 1 < t->len)
        t->len = res->f.op_index + 1;
    exec_opts_t eo_min = *eo;
    resources_only_for(&eo_min, oracle);
    fin_arg_t x = { a, &eo_min, hang_ms, oracle, "", &o, res, { 0 } };
    engine_finding_signature(&res->f, t, x.sig, sizeof x.sig);
    finding_t f = res->f;
    o.f = &f;
    if (strcmp(oracle, ORACLE_TIMEOUT) == 0) {
        /* Each candidate that still hangs costs the whole watchdog: few candidates, and a
         * shorter watchdog (a hang in the allocator never ends; a clean op is quick). */
        o.max_tests = 12;
        x.hang_ms = hang_ms / 2 > 1000 ? hang_ms / 2 : (hang_ms < 1000 ? hang_ms : 1000);
    }
    trace_t orig;
    trace_init(&orig);
    int r = trace_copy(&orig, t);
    if (!r && !o.rate_runs)
        r = measure_rate(a, eo, hang_ms, &o, t, oracle, &o.rate_hits, &o.rate_runs);
    /* A race no replay showed would spend the whole budget on candidates that cannot be
     * told from cuts that lost it: the trace is kept as it is. */
    bool hopeless = o.rate_runs && !o.rate_hits;
    if (!r && hopeless && st)
        *st = (minimize_stats_t){ .before = t->len, .after = t->len };
    else if (!r)
        r = minimize_trace(t, same_failure, &x, &o, st);
    /* A trace nothing was cut from is the finding's own: its rate is the finding's. */
    if (!r && st && st->after < st->before)
        r = measure_rate(a, eo, hang_ms, &o, t, oracle, &st->rate_hits, &st->rate_runs);
    else if (!r && st)
        st->rate_hits = o.rate_hits, st->rate_runs = o.rate_runs;
    if (!r && st && lost_rate(&o, st))
        r = keep_original(t, &orig, res, &f, st, &o);
    trace_release(&orig);
    return r;
}
