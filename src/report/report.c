/* Conformance reports (src/report/report.h): what every format's writer shares, the table of
 * writers, and the check list. One writer per format lives in its own conform_<format>.c; the
 * escaping of quoted text is src/base/escape.c's, so an allocator's raw last words can never
 * break a parser downstream.
 * Leaves out: where the output goes (the command opens the stream). */
#include "src/report/writers.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

const conform_result_t *rpt_cell(const report_t *r, size_t ai, size_t ci)
{
    return &r->results[ai * r->nchecks + ci];
}

size_t report_count(const report_t *r, verdict_t v)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nallocs * r->nchecks; i++)
        n += r->results[i].verdict == v;
    return n;
}

size_t rpt_count_alloc(const report_t *r, size_t ai, verdict_t v)
{
    size_t n = 0;
    for (size_t ci = 0; ci < r->nchecks; ci++)
        n += rpt_cell(r, ai, ci)->verdict == v;
    return n;
}

/* ---- one problem per root cause ---- */

static bool is_fn_name(const char *s, size_t n)
{
    for (int f = 0; f < AF_COUNT; f++)
        if (strlen(alloc_fn_names[f]) == n && strncmp(alloc_fn_names[f], s, n) == 0)
            return true;
    return false;
}

/* A failure's shape: its message with every number and address as '#' and every call as
 * "FN(...)", so "malloc(0xffffffffffffffc0) failed with errno 2" and "calloc(SIZE_MAX, 2)
 * failed with errno 0" share one: the same cause seen through several checks. */
static void shape_of(const char *msg, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = msg; *p && o + 3 < len;) {
        size_t n = 0;
        if (*p >= '0' && *p <= '9') {
            n = p[0] == '0' && (p[1] == 'x' || p[1] == 'X') ? 2 : 0;
            while (isxdigit((unsigned char)p[n]) || (n == 0 && isdigit((unsigned char)p[n])))
                n++;
            out[o++] = '#';
        } else if (isalpha((unsigned char)*p) || *p == '_') {
            while (isalnum((unsigned char)p[n]) || p[n] == '_')
                n++;
            bool fn = is_fn_name(p, n);
            if (fn && p[n] == '(') {   /* the arguments say how, not what went wrong */
                const char *close = strchr(p + n, ')');
                n = close ? (size_t)(close - p) + 1 : n;
            }
            const char *put = fn ? (p[n - 1] == ')' ? "FN(...)" : "FN") : p;
            size_t k = fn ? strlen(put) : n;
            k = k < len - o - 1 ? k : len - o - 1;
            memcpy(out + o, put, k);
            o += k;
        } else {
            out[o++] = *p;
            n = 1;
        }
        p += n ? n : 1;
    }
    out[o] = '\0';
}

bool rpt_same_problem(const conform_result_t *a, const conform_result_t *b)
{
    char x[sizeof a->msg], y[sizeof b->msg];
    if (a->verdict != VERDICT_FAIL || b->verdict != VERDICT_FAIL)
        return false;
    shape_of(a->msg, x, sizeof x);
    shape_of(b->msg, y, sizeof y);
    return strcmp(x, y) == 0;
}

/* The first failing check of allocator ai with ci's problem (ci itself when it is first). */
size_t rpt_problem_head(const report_t *r, size_t ai, size_t ci)
{
    for (size_t k = 0; k < ci; k++)
        if (rpt_same_problem(rpt_cell(r, ai, k), rpt_cell(r, ai, ci)))
            return k;
    return ci;
}

/* Distinct problems among allocator ai's failures. */
size_t rpt_count_problems(const report_t *r, size_t ai)
{
    size_t n = 0;
    for (size_t ci = 0; ci < r->nchecks; ci++)
        n += rpt_cell(r, ai, ci)->verdict == VERDICT_FAIL && rpt_problem_head(r, ai, ci) == ci;
    return n;
}

const char *rpt_label(const report_t *r, size_t ai)
{
    return r->labels && r->labels[ai] ? r->labels[ai] : r->allocs[ai].spec;
}

const char *rpt_verdict_tag(verdict_t v)
{
    static const char *const tags[VERDICT_COUNT] = {
        [VERDICT_PASS] = "PASS", [VERDICT_FAIL] = "FAIL", [VERDICT_DIVERGENCE] = "DIV",
        [VERDICT_SKIP] = "skip", [VERDICT_INFO] = "info",
    };
    return (unsigned)v < VERDICT_COUNT ? tags[v] : "?";
}

bool rpt_any_behaviour(const report_t *r, size_t ci)
{
    for (size_t ai = 0; ai < r->nallocs; ai++)
        if (rpt_cell(r, ai, ci)->behaviour[0])
            return true;
    return false;
}

int rpt_finish(FILE *f)
{
    return fflush(f) || ferror(f) ? -EIO : 0;
}

int report_write(FILE *f, const report_t *r, report_format_t fmt)
{
    static void (*const writers[])(FILE *, const report_t *) = {
        [FORMAT_HUMAN] = report_human, [FORMAT_TAP] = report_tap, [FORMAT_JUNIT] = report_junit,
        [FORMAT_JSON] = report_json, [FORMAT_MARKDOWN] = report_markdown,
    };
    if ((size_t)fmt >= sizeof writers / sizeof writers[0] || !writers[fmt])
        return -EINVAL;
    writers[fmt](f, r);
    return rpt_finish(f);
}

/* ---- allocheck list ---- */

/* With allocators given, a check that one of them would skip says so: in JSON as
 * "skipped": {"SPEC": "reason"}, absent when every allocator runs it. */
static void list_json(FILE *f, const check_t *const *checks, size_t n, const alloc_t *allocs,
                      size_t nallocs)
{
    fputs("[\n", f);
    for (size_t i = 0; i < n; i++) {
        const check_t *c = checks[i];
        fputs("  {\"id\": ", f);
        esc_json(f, c->id);
        fputs(", \"function\": ", f);
        esc_json(f, c->function);
        fputs(", \"clause\": ", f);
        esc_json(f, c->clause);
        fputs(", \"description\": ", f);
        esc_json(f, c->description);
        bool opened = false;
        for (size_t a = 0; a < nallocs; a++) {
            char why[256];
            if (!conform_skip_reason(&allocs[a], c, CONFORM_DEFAULT_PROFILE, why, sizeof why))
                continue;
            fputs(opened ? ", " : ", \"skipped\": {", f);
            esc_json(f, allocs[a].spec);
            fputs(": ", f);
            esc_json(f, why);
            opened = true;
        }
        fprintf(f, "%s}%s\n", opened ? "}" : "", i + 1 < n ? "," : "");
    }
    fputs("]\n", f);
}

static void list_human(FILE *f, const check_t *const *checks, size_t n, const alloc_t *allocs,
                       size_t nallocs)
{
    int w[3] = { 2, 8, 6 };
    for (size_t i = 0; i < n; i++) {
        const char *col[3] = { checks[i]->id, checks[i]->function, checks[i]->clause };
        for (int k = 0; k < 3; k++)
            w[k] = (int)strlen(col[k]) > w[k] ? (int)strlen(col[k]) : w[k];
    }
    fprintf(f, "%-*s  %-*s  %-*s  %s\n", w[0], "id", w[1], "function", w[2], "clause",
            "description");
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%-*s  %-*s  %-*s  %s\n", w[0], checks[i]->id, w[1], checks[i]->function,
                w[2], checks[i]->clause, checks[i]->description);
        for (size_t a = 0; a < nallocs; a++) {
            char why[256];
            if (conform_skip_reason(&allocs[a], checks[i], CONFORM_DEFAULT_PROFILE, why,
                                    sizeof why))
                fprintf(f, "%-*s  skipped for %s: %s\n", w[0], "", allocs[a].spec, why);
        }
    }
    fprintf(f, "%zu checks\n", n);
}

int report_list(FILE *f, const check_t *const *checks, size_t n, report_format_t fmt,
                const alloc_t *allocs, size_t nallocs)
{
    if (fmt == FORMAT_JSON)
        list_json(f, checks, n, allocs, nallocs);
    else if (fmt == FORMAT_HUMAN)
        list_human(f, checks, n, allocs, nallocs);
    else
        return -EINVAL;
    return rpt_finish(f);
}

