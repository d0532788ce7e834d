/* The conformance report as JSON: the allocators, then every cell with its problem. */
#include "src/report/writers.h"

#include "allocheck_config.h"

static void json_allocator(FILE *f, const report_t *r, size_t ai)
{
    const alloc_t *a = &r->allocs[ai];
    uint32_t has = alloc_present(a);
    fputs("    {\"spec\": ", f);
    esc_json(f, rpt_label(r, ai));
    fputs(", \"name\": ", f);
    esc_json(f, a->name);
    fputs(", \"path\": ", f);
    esc_json(f, a->path);
    fputs(", \"functions\": [", f);
    const char *sep = "";
    for (int fn = 0; fn < AF_COUNT; fn++) {
        if (has & AF_BIT(fn)) {
            fprintf(f, "%s\"%s\"", sep, alloc_fn_names[fn]);
            sep = ", ";
        }
    }
    fprintf(f, "]}%s\n", ai + 1 < r->nallocs ? "," : "");
}

static void json_result(FILE *f, const report_t *r, size_t ai, size_t ci, bool last)
{
    const check_t *c = r->checks[ci];
    const conform_result_t *res = rpt_cell(r, ai, ci);
    const char *const keys[] = { "allocator", "id", "function", "clause", "verdict",
                                 "message", "behaviour" };
    const char *const vals[] = { rpt_label(r, ai), c->id, c->function, c->clause,
                                 conform_verdict_name(res->verdict), res->msg, res->behaviour };
    fputs("    {", f);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        fprintf(f, "%s\"%s\": ", k ? ", " : "", keys[k]);
        esc_json(f, vals[k]);
    }
    if (res->repeats)
        fprintf(f, ", \"runs\": %u, \"same\": %u", res->repeats + 1, res->same + 1);
    if (res->verdict == VERDICT_FAIL) {
        fputs(", \"problem\": ", f);
        esc_json(f, r->checks[rpt_problem_head(r, ai, ci)]->id);
    }
    fprintf(f, "}%s\n", last ? "" : ",");
}

void report_json(FILE *f, const report_t *r)
{
    fprintf(f, "{\"allocheck\": \"%s\", \"profile\": \"%s\",\n  \"allocators\": [\n",
            ALLOCHECK_VERSION, conform_profile_name(r->profile));
    for (size_t ai = 0; ai < r->nallocs; ai++)
        json_allocator(f, r, ai);
    fputs("  ],\n  \"results\": [\n", f);
    for (size_t ai = 0; ai < r->nallocs; ai++)
        for (size_t ci = 0; ci < r->nchecks; ci++)
            json_result(f, r, ai, ci, ai + 1 == r->nallocs && ci + 1 == r->nchecks);
    fputs("  ]\n}\n", f);
}

