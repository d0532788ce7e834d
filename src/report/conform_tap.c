/* The conformance report as TAP 13: one test point per cell, messages as YAML-free comments. */
#include "src/report/writers.h"

#include "allocheck_config.h"

/* Descriptions escape '#', which would start a directive (TAP 13 "Directives"). */
static void tap_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '#')
            fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

static void tap_result(FILE *f, const report_t *r, size_t ai, size_t ci, size_t n)
{
    const check_t *c = r->checks[ci];
    const conform_result_t *res = rpt_cell(r, ai, ci);
    fprintf(f, "%s %zu - ", res->verdict == VERDICT_FAIL ? "not ok" : "ok", n);
    tap_text(f, rpt_label(r, ai));
    fputs(": ", f);
    tap_text(f, c->id);
    if (res->verdict == VERDICT_SKIP) {
        fputs(" # SKIP ", f);
        esc_text(f, res->msg, NULL);
    } else if (res->verdict == VERDICT_DIVERGENCE) {
        fputs(" (divergence)", f);
    } else if (res->verdict == VERDICT_INFO) {
        fputs(" (info)", f);
    }
    fputc('\n', f);
    if (res->verdict != VERDICT_SKIP && res->msg[0]) {
        fputs("#   ", f);
        esc_text(f, res->msg, "#   ");
        fputc('\n', f);
    }
    if (res->behaviour[0]) {
        fputs("#   behaviour: ", f);
        esc_text(f, res->behaviour, "#   ");
        fputc('\n', f);
    }
}

void report_tap(FILE *f, const report_t *r)
{
    fprintf(f, "TAP version 13\n1..%zu\n# allocheck %s, profile %s\n",
            r->nallocs * r->nchecks, ALLOCHECK_VERSION, conform_profile_name(r->profile));
    size_t n = 0;
    for (size_t ai = 0; ai < r->nallocs; ai++)
        for (size_t ci = 0; ci < r->nchecks; ci++)
            tap_result(f, r, ai, ci, ++n);
}

