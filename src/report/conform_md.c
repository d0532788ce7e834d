/* The conformance report as markdown: every row, then failures' messages and the behaviour
 * profile. */
#include "src/report/writers.h"

#include "allocheck_config.h"

static void md_cell(FILE *f, const char *s)
{
    fputs(" ", f);
    esc_md_cell(f, s[0] ? s : "-");
    fputs(" |", f);
}

static void md_header(FILE *f, const report_t *r, const char *first, int extra)
{
    fprintf(f, "| %s |", first);
    for (int k = 0; k < extra; k++)
        fputs(k ? " clause |" : " function |", f);
    for (size_t ai = 0; ai < r->nallocs; ai++)
        md_cell(f, rpt_label(r, ai));
    fputs("\n|", f);
    for (size_t k = 0; k < r->nallocs + 1 + (size_t)extra; k++)
        fputs(" --- |", f);
    fputc('\n', f);
}

static void md_tables(FILE *f, const report_t *r)
{
    md_header(f, r, "function", 0);
    for (int fn = 0; fn < AF_COUNT; fn++) {
        fprintf(f, "| %s |", alloc_fn_names[fn]);
        for (size_t ai = 0; ai < r->nallocs; ai++)
            fputs(alloc_present(&r->allocs[ai]) & AF_BIT(fn) ? " yes |" : " no |", f);
        fputc('\n', f);
    }
    fputs("\n## Results\n\n", f);
    md_header(f, r, "check", 2);
    for (size_t ci = 0; ci < r->nchecks; ci++) {
        fputc('|', f);
        md_cell(f, r->checks[ci]->id);
        md_cell(f, r->checks[ci]->function);
        md_cell(f, r->checks[ci]->clause);
        for (size_t ai = 0; ai < r->nallocs; ai++)
            fprintf(f, " %s |", rpt_verdict_tag(rpt_cell(r, ai, ci)->verdict));
        fputc('\n', f);
    }
}

static void md_notes(FILE *f, const report_t *r)
{
    bool header = false;
    for (size_t ai = 0; ai < r->nallocs; ai++) {
        for (size_t ci = 0; ci < r->nchecks; ci++) {
            const conform_result_t *res = rpt_cell(r, ai, ci);
            if (res->verdict != VERDICT_FAIL && res->verdict != VERDICT_DIVERGENCE)
                continue;
            if (!header)
                fputs("\n## Failures and divergences\n\n| allocator | check | verdict | message |\n"
                      "| --- | --- | --- | --- |\n", f);
            header = true;
            fputc('|', f);
            md_cell(f, rpt_label(r, ai));
            md_cell(f, r->checks[ci]->id);
            md_cell(f, rpt_verdict_tag(res->verdict));
            md_cell(f, res->msg);
            fputc('\n', f);
        }
    }
}

static void md_behaviour(FILE *f, const report_t *r)
{
    bool header = false;
    for (size_t ci = 0; ci < r->nchecks; ci++) {
        if (!rpt_any_behaviour(r, ci))
            continue;
        if (!header) {
            fputs("\n## Behaviour profile\n\n", f);
            md_header(f, r, "check", 0);
        }
        header = true;
        fputc('|', f);
        md_cell(f, r->checks[ci]->id);
        for (size_t ai = 0; ai < r->nallocs; ai++)
            md_cell(f, rpt_cell(r, ai, ci)->behaviour);
        fputc('\n', f);
    }
}

void report_markdown(FILE *f, const report_t *r)
{
    fprintf(f, "# allocheck %s conformance (profile %s)\n\n## Functions\n\n", ALLOCHECK_VERSION,
            conform_profile_name(r->profile));
    md_tables(f, r);
    md_notes(f, r);
    md_behaviour(f, r);
}

