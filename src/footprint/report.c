/* allocheck profile's text reports: the terminal table and markdown (the same tables), JSON
 * (every figure, samples included) and CSV (one figure a line).
 * Terms: a "table" has a row per workload (or size range, or thread count) and a column per
 * allocator; speed is shown as ns/op with its spread and as a ratio to the first allocator.
 * Leaves out: plots (html.c). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "src/base/escape.h"
#include "src/footprint/profile.h"

enum { CELL = 64, MAX_ROWS = FP_MAX_WORKLOADS + 4 };

double fp_frag(const fp_result_t *r)
{
    return r->peak_live ? (double)r->peak_resident / (double)r->peak_live : 0;
}

double fp_ratio(const profile_t *p, int k, const fp_cell_t *c, const fp_cell_t *first)
{
    (void)p, (void)k;
    return first->ns_median > 0 ? c->ns_median / first->ns_median : 0;
}

typedef struct table {
    const char *title;
    int nrows;
    char row[MAX_ROWS][32];
    char cell[MAX_ROWS][FP_MAX_ALLOCS][CELL];
} table_t;

static const char *status_word(const fp_result_t *r)
{
    static const char *const w[] = { "", "skipped", "crashed", "hung" };
    return w[r->status];
}

/* The cell text for r, or its status word when it did not run clean. */
static bool bad(const fp_result_t *r, char *out)
{
    if (r->status == FP_OK)
        return false;
    snprintf(out, CELL, "%s", status_word(r));
    return true;
}

static void human_size(uint64_t b, char *out, size_t len)
{
    if (b >= (10u << 20))
        snprintf(out, len, "%.1f MiB", (double)b / (1 << 20));
    else if (b >= (10u << 10))
        snprintf(out, len, "%.0f KiB", (double)b / 1024);
    else
        snprintf(out, len, "%llu B", (unsigned long long)b);
}

static void frag_cell(const fp_cell_t *c, char *out)
{
    if (!bad(&c->r, out))
        snprintf(out, CELL, "%.2f (%.2f)", fp_frag(&c->r), c->r.frag_peak);
}

static void retention_cell(const fp_cell_t *c, char *out)
{
    char a[24], b[24];
    if (bad(&c->r, out))
        return;
    human_size(c->r.free_resident, a, sizeof a);
    human_size(c->r.trim_resident, b, sizeof b);
    snprintf(out, CELL, c->r.trimmed ? "%s -> %s" : "%s", a, b);
}

static void speed_cell(const fp_cell_t *c, const fp_cell_t *first, char *out)
{
    if (bad(&c->r, out))
        return;
    double spread = c->ns_median > 0 ? 50 * (c->ns_max - c->ns_min) / c->ns_median : 0;
    snprintf(out, CELL, "%.1f ±%.0f%% x%.2f", c->ns_median, spread, fp_ratio(0, 0, c, first));
}

static void thread_cell(const fp_cell_t *x, const fp_cell_t *t, const fp_cell_t *t0, char *out)
{
    char a[24];
    if (x->r.status != FP_OK)
        snprintf(a, sizeof a, "%s", status_word(&x->r));
    else
        snprintf(a, sizeof a, "%.2f", x->r.frag_peak);
    if (t->r.status != FP_OK || t->ns_median <= 0)
        snprintf(out, CELL, "%s / %s", a, status_word(&t->r));
    else
        snprintf(out, CELL, "%s / %.1f x%.2f", a, 1e3 / t->ns_median, t0->ns_median / t->ns_median);
}

static const uint64_t ranges[][2] = {
    { 1, 64 }, { 65, 1024 }, { 1025, 65536 }, { 65537, 1u << 20 },
};

static void overhead_cell(const profile_t *p, const fp_alloc_report_t *ar, int g, char *out)
{
    double use = 0, per = 0;
    int n = 0, nu = 0;
    for (int i = 0; i < p->nsizes; i++) {
        const fp_result_t *r = &ar->size[i];
        if (r->size < ranges[g][0] || r->size > ranges[g][1] || r->status || !r->nblocks)
            continue;
        per += (double)r->peak_resident / (double)r->nblocks / (double)r->size, n++;
        if (r->usable)
            use += (double)r->usable / (double)r->size, nu++;
    }
    if (!n)
        snprintf(out, CELL, "-");
    else if (nu)
        snprintf(out, CELL, "x%.2f, x%.2f", use / nu, per / n);
    else
        snprintf(out, CELL, "-, x%.2f", per / n);
}

static void fill_work(const profile_t *p, table_t *t, int what)
{
    t->nrows = p->nworkloads;
    for (int w = 0; w < p->nworkloads; w++) {
        snprintf(t->row[w], sizeof t->row[w], "%s", p->workload_name[w]);
        for (int k = 0; k < p->nallocs; k++) {
            const fp_cell_t *c = &p->alloc[k].work[w];
            if (what == 0)
                frag_cell(c, t->cell[w][k]);
            else if (what == 1)
                retention_cell(c, t->cell[w][k]);
            else
                speed_cell(c, &p->alloc[0].work[w], t->cell[w][k]);
        }
    }
}

static void fill_threads(const profile_t *p, table_t *t)
{
    t->nrows = FP_THREAD_COUNTS;
    for (int i = 0; i < FP_THREAD_COUNTS; i++) {
        snprintf(t->row[i], sizeof t->row[i], "%u thread%s", fp_thread_counts[i], i ? "s" : "");
        for (int k = 0; k < p->nallocs; k++)
            thread_cell(&p->alloc[k].xthread[i], &p->alloc[k].tput[i], &p->alloc[0].tput[i],
                        t->cell[i][k]);
    }
}

static void fill_overhead(const profile_t *p, table_t *t)
{
    t->nrows = 4;
    for (int g = 0; g < 4; g++) {
        snprintf(t->row[g], sizeof t->row[g], "%llu..%llu B", (unsigned long long)ranges[g][0],
                 (unsigned long long)ranges[g][1]);
        for (int k = 0; k < p->nallocs; k++)
            overhead_cell(p, &p->alloc[k], g, t->cell[g][k]);
    }
}

static void print_table(const profile_t *p, const table_t *t, bool md, FILE *f)
{
    fprintf(f, md ? "\n### %s\n\n| |" : "\n%s\n%-16s", t->title, "");
    for (int k = 0; k < p->nallocs; k++)
        fprintf(f, md ? " %s |" : "  %-22.22s", p->alloc[k].label);
    if (md) {
        fprintf(f, "\n| --- |");
        for (int k = 0; k < p->nallocs; k++)
            fprintf(f, " --- |");
    }
    for (int r = 0; r < t->nrows; r++) {
        fprintf(f, md ? "\n| %s |" : "\n%-16s", t->row[r]);
        for (int k = 0; k < p->nallocs; k++)
            fprintf(f, md ? " %s |" : "  %-22s", t->cell[r][k]);
    }
    fputc('\n', f);
}

/* Cells whose note says more than their figure (a crash's signal, NULLs returned). */
static void print_notes(const profile_t *p, FILE *f, bool md)
{
    for (int k = 0; k < p->nallocs; k++)
        for (int w = 0; w < p->nworkloads; w++) {
            const fp_result_t *r = &p->alloc[k].work[w].r;
            if (r->note[0])
                fprintf(f, "%s%s, %s: %s\n", md ? "- " : "note: ", p->alloc[k].label,
                        p->workload_name[w], r->note);
        }
}

static void print_tables(const profile_t *p, bool md, FILE *f)
{
    static table_t t;
    fprintf(f, md ? "## allocheck profile\n\n%d allocators, %d workloads, %d sizes, %.1f s%s\n"
                  : "allocheck profile: %d allocators, %d workloads, %d sizes, %.1f s%s\n",
            p->nallocs, p->nworkloads, p->nsizes, p->seconds, p->opts.quick ? " (quick)" : "");
    const char *titles[] = {
        "fragmentation: peak footprint / peak live (peak of footprint / live so far)",
        "retention: resident after free-all (-> after malloc_trim)",
        "speed: ns/op, median ±half the spread, x the first allocator",
    };
    for (int what = 0; what < 3; what++) {
        memset(&t, 0, sizeof t);
        t.title = titles[what];
        fill_work(p, &t, what);
        print_table(p, &t, md, f);
    }
    memset(&t, 0, sizeof t);
    t.title = "threads: producer/consumer blowup (peak footprint / peak live) / throughput Mops/s, x first";
    fill_threads(p, &t);
    print_table(p, &t, md, f);
    memset(&t, 0, sizeof t);
    t.title = "overhead by size: usable/requested, footprint per block/requested (means)";
    fill_overhead(p, &t);
    print_table(p, &t, md, f);
    fputc('\n', f);
    print_notes(p, f, md);
}

static const char *status_name(fp_status_t s)
{
    static const char *const n[] = { "ok", "skipped", "crashed", "hung" };
    return n[s];
}

static void json_result(FILE *f, const fp_result_t *r)
{
    fprintf(f, "\"status\": \"%s\", \"note\": ", status_name(r->status));
    esc_json(f, r->note);
    fprintf(f, ", \"ops\": %llu, \"peak_live\": %llu, \"peak_resident\": %llu, "
            "\"peak_mapped\": %llu, \"fragmentation\": %.4f, \"fragmentation_peak\": %.4f, "
            "\"free_resident\": %llu, \"free_mapped\": %llu, ",
            (unsigned long long)r->ops, (unsigned long long)r->peak_live,
            (unsigned long long)r->peak_resident, (unsigned long long)r->peak_mapped,
            fp_frag(r), r->frag_peak, (unsigned long long)r->free_resident,
            (unsigned long long)r->free_mapped);
    if (r->trimmed)
        fprintf(f, "\"trim_resident\": %llu, \"trim_mapped\": %llu, ",
                (unsigned long long)r->trim_resident, (unsigned long long)r->trim_mapped);
    else
        fprintf(f, "\"trim_resident\": null, \"trim_mapped\": null, ");
    fprintf(f, "\"samples\": [");
    for (uint32_t i = 0; i < r->nsamples; i++)
        fprintf(f, "%s[%llu, %llu, %llu, %llu]", i ? ", " : "",
                (unsigned long long)r->sample[i].op, (unsigned long long)r->sample[i].live,
                (unsigned long long)r->sample[i].resident, (unsigned long long)r->sample[i].mapped);
    fprintf(f, "]");
}

static void json_speed(FILE *f, const fp_cell_t *c, const fp_cell_t *first)
{
    fprintf(f, "\"ns_per_op\": %.3f, \"ns_per_op_min\": %.3f, \"ns_per_op_max\": %.3f, "
            "\"runs\": %u, \"speed_ratio\": %.4f, ", c->ns_median, c->ns_min, c->ns_max,
            c->nreps, fp_ratio(0, 0, c, first));
}

static void json_alloc(const profile_t *p, int k, FILE *f)
{
    const fp_alloc_report_t *ar = &p->alloc[k];
    fprintf(f, "    {\"allocator\": ");
    esc_json(f, ar->label);
    fprintf(f, ", \"has_malloc_trim\": %s,\n     \"workloads\": [", ar->has_trim ? "true" : "false");
    for (int w = 0; w < p->nworkloads; w++) {
        fprintf(f, "%s\n      {\"name\": ", w ? "," : "");
        esc_json(f, p->workload_name[w]);
        fprintf(f, ", ");
        json_speed(f, &ar->work[w], &p->alloc[0].work[w]);
        json_result(f, &ar->work[w].r);
        fprintf(f, "}");
    }
    fprintf(f, "],\n     \"sizes\": [");
    for (int i = 0; i < p->nsizes; i++) {
        const fp_result_t *r = &ar->size[i];
        double nb = r->nblocks ? (double)r->nblocks : 1;
        fprintf(f, "%s\n      {\"size\": %llu, \"status\": \"%s\", \"usable\": %llu, "
                "\"blocks\": %llu, \"resident_per_block\": %.2f, \"mapped_per_block\": %.2f}",
                i ? "," : "", (unsigned long long)p->sizes[i], status_name(r->status),
                (unsigned long long)r->usable, (unsigned long long)r->nblocks,
                (double)r->peak_resident / nb, (double)r->peak_mapped / nb);
    }
    fprintf(f, "],\n     \"threads\": [");
    for (int i = 0; i < FP_THREAD_COUNTS; i++) {
        const fp_cell_t *x = &ar->xthread[i], *t = &ar->tput[i];
        fprintf(f, "%s\n      {\"threads\": %u, \"xthread\": {", i ? "," : "", fp_thread_counts[i]);
        json_speed(f, x, &p->alloc[0].xthread[i]);
        fprintf(f, "\"blowup\": %.4f, ", x->r.frag_peak);
        json_result(f, &x->r);
        fprintf(f, "}, \"throughput\": {\"ops_per_s\": %.0f, ", t->ns_median > 0 ? 1e9 / t->ns_median : 0);
        json_speed(f, t, &p->alloc[0].tput[i]);
        json_result(f, &t->r);
        fprintf(f, "}}");
    }
    fprintf(f, "]}");
}

static void print_json(const profile_t *p, FILE *f)
{
    fprintf(f, "{\"tool\": \"allocheck profile\", \"quick\": %s, \"seconds\": %.2f, "
            "\"reps\": %u, \"seed\": %llu,\n \"workloads\": [", p->opts.quick ? "true" : "false",
            p->seconds, p->opts.reps, (unsigned long long)p->opts.seed);
    for (int w = 0; w < p->nworkloads; w++)
        fprintf(f, "%s", w ? ", " : ""), esc_json(f, p->workload_name[w]);
    fprintf(f, "],\n \"results\": [\n");
    for (int k = 0; k < p->nallocs; k++) {
        json_alloc(p, k, f);
        fprintf(f, "%s\n", k + 1 < p->nallocs ? "," : "");
    }
    fprintf(f, " ]}\n");
}

static void csv_row(FILE *f, const char *alloc, const char *section, const char *item,
                    const char *metric, double v)
{
    esc_csv(f, alloc);
    fprintf(f, ",%s,", section);
    esc_csv(f, item);
    fprintf(f, ",%s,%.6g\n", metric, v);
}

static void csv_work(FILE *f, const profile_t *p, int k, int w)
{
    const fp_cell_t *c = &p->alloc[k].work[w];
    const char *a = p->alloc[k].label, *n = p->workload_name[w];
    csv_row(f, a, "workload", n, "status", c->r.status);
    csv_row(f, a, "workload", n, "fragmentation", fp_frag(&c->r));
    csv_row(f, a, "workload", n, "fragmentation_peak", c->r.frag_peak);
    csv_row(f, a, "workload", n, "peak_live", (double)c->r.peak_live);
    csv_row(f, a, "workload", n, "peak_resident", (double)c->r.peak_resident);
    csv_row(f, a, "workload", n, "free_resident", (double)c->r.free_resident);
    if (c->r.trimmed)
        csv_row(f, a, "workload", n, "trim_resident", (double)c->r.trim_resident);
    csv_row(f, a, "workload", n, "ns_per_op", c->ns_median);
    csv_row(f, a, "workload", n, "speed_ratio", fp_ratio(0, 0, c, &p->alloc[0].work[w]));
}

static void print_csv(const profile_t *p, FILE *f)
{
    fprintf(f, "allocator,section,item,metric,value\n");
    for (int k = 0; k < p->nallocs; k++) {
        const fp_alloc_report_t *ar = &p->alloc[k];
        for (int w = 0; w < p->nworkloads; w++)
            csv_work(f, p, k, w);
        for (int i = 0; i < p->nsizes; i++) {
            char item[24];
            snprintf(item, sizeof item, "%llu", (unsigned long long)p->sizes[i]);
            double nb = ar->size[i].nblocks ? (double)ar->size[i].nblocks : 1;
            csv_row(f, ar->label, "size", item, "usable", (double)ar->size[i].usable);
            csv_row(f, ar->label, "size", item, "resident_per_block", ar->size[i].peak_resident / nb);
        }
        for (int i = 0; i < FP_THREAD_COUNTS; i++) {
            char item[24];
            snprintf(item, sizeof item, "%u", fp_thread_counts[i]);
            csv_row(f, ar->label, "threads", item, "blowup", ar->xthread[i].r.frag_peak);
            csv_row(f, ar->label, "threads", item, "ops_per_s",
                    ar->tput[i].ns_median > 0 ? 1e9 / ar->tput[i].ns_median : 0);
        }
    }
}

int profile_write(const profile_t *p, fp_format_t fmt, FILE *f)
{
    switch (fmt) {
    case FPF_HUMAN: print_tables(p, false, f); break;
    case FPF_MARKDOWN: print_tables(p, true, f); break;
    case FPF_JSON: print_json(p, f); break;
    case FPF_CSV: print_csv(p, f); break;
    case FPF_HTML: return profile_write_html(p, f);
    }
    return ferror(f) ? -EIO : 0;
}
