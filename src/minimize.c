/* Delta debugging over ops (Zeller's ddmin, simplified to "remove a chunk if the failure
 * stays"): chunk sizes n/2, n/4, ..., 1, then value simplification. A removal that keeps the
 * failure is kept, so later passes work on the smaller trace. See minimize.h. */
#include <errno.h>
#include <string.h>

#include "src/minimize.h"
#include "src/trace.h"

typedef struct mz {
    trace_t *t;
    trace_t cand;
    minimize_test_fn test;
    void *arg;
    unsigned tests, max_tests;
    uint64_t spent;           /* ops run by all candidates so far */
    int err;
} mz_t;

/* Bounds the work as well as the candidate count, so a long trace (a finding that needed
 * many sequences to reproduce) minimizes in seconds; counting ops keeps it deterministic.
 * At 8 M ops a no-reuse arena's 7,000-op finding took 83 s to minimize; at 2 M, 20 s. */
#define MINIMIZE_OPS_BUDGET (2u << 20)

/* Tries cand; if it still fails, it becomes the trace. Returns 1 if kept. */
static int try_cand(mz_t *m)
{
    if (m->err || m->tests >= m->max_tests || m->spent > MINIMIZE_OPS_BUDGET)
        return 0;
    m->tests++;
    m->spent += m->cand.len;
    int r = m->test(m->arg, &m->cand);
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
    for (size_t n = m->t->len / 2; n >= 1 && !m->err; n /= 2) {
        for (size_t from = 0; from < m->t->len && !m->err && m->tests < m->max_tests &&
                            m->spent <= MINIMIZE_OPS_BUDGET;) {
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
        if ((m->err = trace_copy(&m->cand, m->t)) != 0)
            return;
        memcpy((char *)&m->cand.ops[i] + field_off, &simple[k], sizeof cur);
        if (try_cand(m))
            return;
    }
    for (uint64_t v = cur / 2; v > 0 && !m->err && m->tests < m->max_tests; v /= 2) {
        if ((m->err = trace_copy(&m->cand, m->t)) != 0)
            return;
        memcpy((char *)&m->cand.ops[i] + field_off, &v, sizeof v);
        if (!try_cand(m))
            break;
    }
}

static void simplify_values(mz_t *m)
{
    for (size_t i = 0; i < m->t->len && !m->err; i++) {
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
    if ((m->err = trace_copy(&m->cand, m->t)) != 0)
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

int minimize_trace(trace_t *t, minimize_test_fn test, void *arg, unsigned max_tests,
                   minimize_stats_t *st)
{
    mz_t m = { .t = t, .test = test, .arg = arg, .max_tests = max_tests };
    trace_init(&m.cand);
    st->before = t->len;
    remove_chunks(&m);
    simplify_values(&m);
    renumber_slots(&m);
    remove_chunks(&m);   /* simpler values often make more ops removable */
    st->after = t->len;
    st->tests = m.tests;
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
    sup_result_t *res;
    sup_result_t tmp;
} fin_arg_t;

static int same_failure(void *arg, const trace_t *cand)
{
    fin_arg_t *x = arg;
    int r = sup_run_trace(x->a, x->eo, cand, x->hang_ms, &x->tmp);
    if (r)
        return r;
    if (x->tmp.status != 1 || strcmp(x->tmp.f.oracle, x->oracle) != 0)
        return 0;
    *x->res = x->tmp;
    return 1;
}

int minimize_finding(const alloc_t *a, const exec_opts_t *eo, unsigned hang_ms, trace_t *t,
                     sup_result_t *res, minimize_stats_t *st)
{
    char oracle[sizeof res->f.oracle];
    memcpy(oracle, res->f.oracle, sizeof oracle);
    fin_arg_t x = { a, eo, hang_ms, oracle, res, { 0 } };
    unsigned budget = 3000;
    if (strcmp(oracle, ORACLE_TIMEOUT) == 0) {
        /* Each candidate that still hangs costs the whole watchdog: few candidates, and a
         * shorter watchdog (a hang in the allocator never ends; a clean op is quick). */
        budget = 12;
        x.hang_ms = hang_ms / 2 > 1000 ? hang_ms / 2 : (hang_ms < 1000 ? hang_ms : 1000);
    }
    if (res->f.op_index + 1 < t->len)
        t->len = res->f.op_index + 1;
    return minimize_trace(t, same_failure, &x, budget, st);
}
