/* The human conformance report: per allocator its results (failures first, one line per
 * problem) and counts, then a matrix of the rows where allocators differ, then behaviours. */
#include "src/report/writers.h"

#include "allocheck_config.h"

#include <string.h>

static const char *const verdict_colour[VERDICT_COUNT] = {
    [VERDICT_PASS] = "\033[32m", [VERDICT_FAIL] = "\033[1;31m", [VERDICT_DIVERGENCE] = "\033[33m",
    [VERDICT_SKIP] = "\033[2m", [VERDICT_INFO] = "\033[36m",
};

static void put_tag(FILE *f, const report_t *r, verdict_t v, int width)
{
    const char *tag = rpt_verdict_tag(v);
    if (r->colour && v < VERDICT_COUNT)
        fprintf(f, "%s%-*s\033[0m", verdict_colour[v], width, tag);
    else
        fprintf(f, "%-*s", width, tag);
}

static void human_functions(FILE *f, const report_t *r)
{
    fputs("Allocators and the functions they provide:\n", f);
    for (size_t ai = 0; ai < r->nallocs; ai++) {
        const alloc_t *a = &r->allocs[ai];
        uint32_t has = alloc_present(a);
        fprintf(f, "  %s", rpt_label(r, ai));
        if (a->path[0] && strcmp(a->path, rpt_label(r, ai)) != 0)
            fprintf(f, " (%s)", a->path);
        for (int pass = 0; pass < 2; pass++) {
            fputs(pass ? "\n    lacks:" : "\n    has:  ", f);
            int any = 0;
            for (int fn = 0; fn < AF_COUNT; fn++)
                if ((int)!(has & AF_BIT(fn)) == pass && ++any)
                    fprintf(f, " %s", alloc_fn_names[fn]);
            if (!any)
                fputs(" -", f);
        }
        fputc('\n', f);
    }
}

/* The other checks with ci's problem, on one line under it. */
static void human_same(FILE *f, const report_t *r, size_t ai, size_t ci)
{
    size_t n = 0;
    for (size_t k = ci + 1; k < r->nchecks; k++)
        if (rpt_same_problem(rpt_cell(r, ai, ci), rpt_cell(r, ai, k)))
            fprintf(f, "%s%s", n++ ? ", " : "         the same failure in: ", r->checks[k]->id);
    if (n)
        fputc('\n', f);
}

/* One result with its message, indented under the tag; a failure stands for its problem. */
static void human_result(FILE *f, const report_t *r, size_t ai, size_t ci, bool with_alloc)
{
    const check_t *c = r->checks[ci];
    const conform_result_t *res = rpt_cell(r, ai, ci);
    if (res->verdict == VERDICT_FAIL && rpt_problem_head(r, ai, ci) != ci)
        return;
    fputs("  ", f);
    put_tag(f, r, res->verdict, 5);
    fprintf(f, "%s%s%s  (%s, %s)\n", with_alloc ? rpt_label(r, ai) : "", with_alloc ? ": " : "",
            c->id, c->function, c->clause);
    if (res->msg[0]) {
        fputs("         ", f);
        esc_text(f, res->msg, "         ");
        fputc('\n', f);
    }
    if (res->verdict == VERDICT_FAIL)
        human_same(f, r, ai, ci);
}

/* Failures, then divergences, then (with --all) passes and skips of one allocator. */
static void human_results(FILE *f, const report_t *r, size_t ai, bool with_alloc)
{
    static const verdict_t order[] = { VERDICT_FAIL, VERDICT_DIVERGENCE, VERDICT_PASS,
                                       VERDICT_INFO, VERDICT_SKIP };
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        if (k >= 2 && !r->all)
            break;
        for (size_t ci = 0; ci < r->nchecks; ci++)
            if (rpt_cell(r, ai, ci)->verdict == order[k])
                human_result(f, r, ai, ci, with_alloc);
    }
}

static void human_counts(FILE *f, const report_t *r, size_t ai)
{
    fprintf(f, "  %s: %zu problem%s in %zu failed checks, %zu diverged, %zu passed, %zu skipped, "
            "%zu reported\n", rpt_label(r, ai), rpt_count_problems(r, ai),
            rpt_count_problems(r, ai) == 1 ? "" : "s", rpt_count_alloc(r, ai, VERDICT_FAIL),
            rpt_count_alloc(r, ai, VERDICT_DIVERGENCE),
            rpt_count_alloc(r, ai, VERDICT_PASS), rpt_count_alloc(r, ai, VERDICT_SKIP),
            rpt_count_alloc(r, ai, VERDICT_INFO));
}

static int column_width(const report_t *r)
{
    int w = 4;
    for (size_t ai = 0; ai < r->nallocs; ai++) {
        int len = (int)strlen(r->allocs[ai].name[0] ? r->allocs[ai].name : rpt_label(r, ai));
        w = len > w ? len : w;
    }
    return w > 20 ? 20 : w;
}

static int id_width(const report_t *r)
{
    int w = 5;
    for (size_t ci = 0; ci < r->nchecks; ci++) {
        int len = (int)strlen(r->checks[ci]->id);
        w = len > w ? len : w;
    }
    return w;
}

static bool row_interesting(const report_t *r, size_t ci)
{
    for (size_t ai = 0; ai < r->nallocs; ai++) {
        verdict_t v = rpt_cell(r, ai, ci)->verdict;
        if (v != VERDICT_PASS && v != VERDICT_INFO)
            return true;
    }
    return r->all;
}

/* Side by side: one row per check, one column per allocator. */
static void human_matrix(FILE *f, const report_t *r)
{
    int cw = column_width(r), iw = id_width(r);
    fprintf(f, "\nMatrix (%s):\n  %-*s", r->all ? "every check"
            : "checks some allocator does not pass; --all for every check", iw, "check");
    for (size_t ai = 0; ai < r->nallocs; ai++) {
        const char *name = r->allocs[ai].name[0] ? r->allocs[ai].name : rpt_label(r, ai);
        fprintf(f, "  %-*.*s", cw, cw, name);
    }
    fputc('\n', f);
    for (size_t ci = 0; ci < r->nchecks; ci++) {
        if (!row_interesting(r, ci))
            continue;
        fprintf(f, "  %-*s", iw, r->checks[ci]->id);
        for (size_t ai = 0; ai < r->nallocs; ai++) {
            fputs("  ", f);
            put_tag(f, r, rpt_cell(r, ai, ci)->verdict, cw);
        }
        fputc('\n', f);
    }
}


/* Per check, what each allocator does where the standard leaves it a choice. */
static void human_behaviour(FILE *f, const report_t *r)
{
    int cw = column_width(r);
    bool header = false;
    for (size_t ci = 0; ci < r->nchecks; ci++) {
        if (!rpt_any_behaviour(r, ci))
            continue;
        if (!header)
            fputs("\nBehaviour profile:\n", f);
        header = true;
        fprintf(f, "  %s\n", r->checks[ci]->id);
        for (size_t ai = 0; ai < r->nallocs; ai++) {
            const char *b = rpt_cell(r, ai, ci)->behaviour;
            const char *name = r->allocs[ai].name[0] ? r->allocs[ai].name : rpt_label(r, ai);
            fprintf(f, "    %-*.*s  ", cw, cw, name);
            esc_text(f, b[0] ? b : "-", "      ");
            fputc('\n', f);
        }
    }
}

void report_human(FILE *f, const report_t *r)
{
    fprintf(f, "allocheck %s conformance, profile %s\n\n", ALLOCHECK_VERSION,
            conform_profile_name(r->profile));
    human_functions(f, r);
    if (r->nallocs > 1)
        human_matrix(f, r);
    fputs("\nResults:\n", f);
    if (!r->all && !report_count(r, VERDICT_FAIL) && !report_count(r, VERDICT_DIVERGENCE))
        fputs("  no failures and no divergences (--all lists every result)\n", f);
    for (size_t ai = 0; ai < r->nallocs; ai++)
        human_results(f, r, ai, r->nallocs > 1);
    human_behaviour(f, r);
    fputs("\nSummary:\n", f);
    for (size_t ai = 0; ai < r->nallocs; ai++)
        human_counts(f, r, ai);
}

