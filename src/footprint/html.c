/* allocheck profile's HTML report: one self-contained page (inline CSS and SVG; no script,
 * font or image from anywhere) with a plot per question: footprint over time per workload,
 * overhead against size (log axes), fragmentation per workload, speed per workload (ratio to
 * the first allocator, with the spread), then the text tables.
 * Every plot sits at a fixed place (class "plot", its left/top/width/height in its style), so
 * a screenshot can be checked region by region (tests/profile/html_render.py).
 * Terms: a "frame" is a plot's drawing area inside its margins; "series" one allocator.
 * Leaves out: interactivity (hover values are in <title> elements, which need no script). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/escape.h"
#include "src/footprint/profile.h"

enum { PAGE_W = 1000, PLOT_W = 470, PLOT_H = 280, GAP = 20, HEAD_H = 120 };
enum { ML = 58, MR = 12, MT = 46, MB = 36 };   /* margins of a frame */

static const char *const palette[] = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
};

static const char *color(int k)
{
    return palette[k % (int)(sizeof palette / sizeof palette[0])];
}

typedef struct frame {
    double x0, x1, y0, y1;     /* data range */
    bool logx, logy;
} frame_t;

static double fx(const frame_t *fr, double x)
{
    double a = fr->logx ? log2(x) : x, lo = fr->logx ? log2(fr->x0) : fr->x0;
    double hi = fr->logx ? log2(fr->x1) : fr->x1;
    return ML + (hi > lo ? (a - lo) / (hi - lo) : 0) * (PLOT_W - ML - MR);
}

static double fy(const frame_t *fr, double y)
{
    double a = fr->logy ? log2(y) : y, lo = fr->logy ? log2(fr->y0) : fr->y0;
    double hi = fr->logy ? log2(fr->y1) : fr->y1;
    return PLOT_H - MB - (hi > lo ? (a - lo) / (hi - lo) : 0) * (PLOT_H - MT - MB);
}

static void plot_open(FILE *f, int slot, const char *id, const char *title)
{
    int x = GAP + (slot % 2) * (PLOT_W + GAP), y = HEAD_H + (slot / 2) * (PLOT_H + GAP);
    fprintf(f, "<div class=\"plot\" id=\"%s\" style=\"left:%dpx;top:%dpx;width:%dpx;height:%dpx\">"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">"
            "<text x=\"%d\" y=\"18\" class=\"t\">", id, x, y, PLOT_W, PLOT_H, PLOT_W, PLOT_H,
            PLOT_W, PLOT_H, ML);
    esc_xml_attr(f, title);
    fprintf(f, "</text>\n");
}

static void plot_close(FILE *f)
{
    fprintf(f, "</svg></div>\n");
}

static void legend(FILE *f, const profile_t *p)
{
    double x = ML;
    for (int k = 0; k < p->nallocs; k++) {
        const char *l = p->alloc[k].label;
        fprintf(f, "<rect x=\"%.0f\" y=\"27\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                "<text x=\"%.0f\" y=\"36\" class=\"l\">", x, color(k), x + 13);
        esc_xml_attr(f, l);
        fprintf(f, "</text>");
        x += 22 + 6.2 * (double)(strlen(l) < 18 ? strlen(l) : 18);
    }
    fputc('\n', f);
}

static void fmt_tick(double v, char *out, size_t len)
{
    if (v >= 1 << 20)
        snprintf(out, len, "%gM", v / (1 << 20));
    else if (v >= 1024)
        snprintf(out, len, "%gK", v / 1024);
    else
        snprintf(out, len, "%g", v);
}

/* A step of 1, 2 or 5 times a power of ten giving 3 to 6 gridlines over span. */
static double nice_step(double span)
{
    double p = exp10(floor(log10(span > 0 ? span : 1))), m = span / p;
    return p * (m > 5 ? 2 : m > 2 ? 1 : m > 1 ? 0.5 : 0.2);
}

/* The axis's top, rounded up to a whole step, so the last gridline closes the frame. */
static double nice_top(double y1)
{
    double st = nice_step(y1);
    return ceil(y1 / st - 1e-9) * st;
}

/* Gridlines and labels: linear axes in 4 steps, log axes at powers of two (every k-th). */
static void axes(FILE *f, const frame_t *fr, const char *xlabel, const char *ylabel)
{
    char t[32];
    double step = fr->logy ? 0 : nice_step(fr->y1 - fr->y0);
    for (double v = fr->y0; v <= fr->y1 * 1.0001; v = fr->logy ? v * 2 : v + step) {
        snprintf(t, sizeof t, v >= 10 || v == floor(v) ? "%.0f" : "%.2g", v);
        double y = fy(fr, v);
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"g\"/>"
                "<text x=\"%d\" y=\"%.1f\" class=\"a\" text-anchor=\"end\">%s</text>\n",
                ML, PLOT_W - MR, y, y, ML - 4, y + 4, t);
    }
    for (int i = 0; xlabel && i <= 4 && !fr->logx; i++) {
        double v = fr->x0 + i * (fr->x1 - fr->x0) / 4, x = fx(fr, v);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"a\" text-anchor=\"%s\">%.0f%%</text>\n",
                x, PLOT_H - MB + 14, i == 4 ? "end" : "middle", fr->x1 > fr->x0 ? 100 * (v - fr->x0) / (fr->x1 - fr->x0) : 0);
    }
    for (double v = fr->x0; fr->logx && v <= fr->x1; v *= 16) {
        fmt_tick(v, t, sizeof t);
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" class=\"g\"/>"
                "<text x=\"%.1f\" y=\"%d\" class=\"a\" text-anchor=\"middle\">%s</text>\n",
                fx(fr, v), fx(fr, v), MT, PLOT_H - MB, fx(fr, v), PLOT_H - MB + 14, t);
    }
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"fr\"/>"
            "<text x=\"%d\" y=\"%d\" class=\"a\" text-anchor=\"middle\">%s</text>"
            "<text class=\"a\" text-anchor=\"middle\" transform=\"translate(12 %d) rotate(-90)\">%s</text>\n",
            ML, MT, PLOT_W - ML - MR, PLOT_H - MT - MB, (ML + PLOT_W - MR) / 2, PLOT_H - 6,
            xlabel ? xlabel : "", (MT + PLOT_H - MB) / 2, ylabel);
}

static void polyline_start(FILE *f, int k, bool dashed)
{
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s points=\"",
            k < 0 ? "#888" : color(k), k < 0 ? "1.5" : "2",
            dashed ? " stroke-dasharray=\"5 4\"" : "");
}

static double mib(uint64_t b)
{
    return (double)b / (1 << 20);
}

static double max_resident(const profile_t *p, int w)
{
    double m = 0.01;
    for (int k = 0; k < p->nallocs; k++) {
        const fp_result_t *r = &p->alloc[k].work[w].r;
        for (uint32_t i = 0; i < r->nsamples; i++)
            m = fmax(m, fmax(mib(r->sample[i].resident), mib(r->sample[i].live)));
    }
    return m * 1.05;
}

static void series_over_time(FILE *f, const fp_result_t *r, const frame_t *fr, int k, bool live)
{
    if (r->status != FP_OK || !r->nsamples)
        return;
    polyline_start(f, k, live);
    for (uint32_t i = 0; i < r->nsamples; i++)
        fprintf(f, "%.1f,%.1f ", fx(fr, (double)r->sample[i].op),
                fy(fr, mib(live ? r->sample[i].live : r->sample[i].resident)));
    fprintf(f, "\"/>\n");
}

static void plot_time(FILE *f, const profile_t *p, int w, int slot)
{
    char title[96], id[32];
    snprintf(title, sizeof title, "Footprint over time: %s (dashed: live)", p->workload_name[w]);
    snprintf(id, sizeof id, "time-%d", w);
    plot_open(f, slot, id, title);
    legend(f, p);
    frame_t fr = { 0, 1, 0, nice_top(max_resident(p, w)), false, false };
    for (int k = 0; k < p->nallocs; k++)
        fr.x1 = fmax(fr.x1, (double)p->alloc[k].work[w].r.ops);
    axes(f, &fr, "run", "resident MiB");
    series_over_time(f, &p->alloc[0].work[w].r, &fr, -1, true);
    for (int k = 0; k < p->nallocs; k++)
        series_over_time(f, &p->alloc[k].work[w].r, &fr, k, false);
    plot_close(f);
}

static double per_block(const fp_result_t *r)
{
    return r->nblocks && r->size ? (double)r->peak_resident / (double)r->nblocks / (double)r->size
                                 : 0;
}

static void plot_overhead(FILE *f, const profile_t *p, int slot)
{
    plot_open(f, slot, "overhead", "Overhead: footprint per block / requested size");
    legend(f, p);
    frame_t fr = { 1, 1 << 20, 0.5, 2, true, true };
    for (int k = 0; k < p->nallocs; k++)
        for (int i = 0; i < p->nsizes; i++)
            fr.y1 = fmax(fr.y1, fmin(per_block(&p->alloc[k].size[i]) * 1.1, 64));
    fr.y1 = exp2(ceil(log2(fr.y1)));   /* a whole number of doublings: ticks at the edges */
    axes(f, &fr, "requested size (bytes, log)", "x requested (log)");
    for (int k = 0; k < p->nallocs; k++) {
        polyline_start(f, k, false);
        for (int i = 0; i < p->nsizes; i++) {
            double v = per_block(&p->alloc[k].size[i]);
            if (v > 0)
                fprintf(f, "%.1f,%.1f ", fx(&fr, (double)p->sizes[i]),
                        fy(&fr, fmin(fmax(v, fr.y0), fr.y1)));
        }
        fprintf(f, "\"/>\n");
    }
    plot_close(f);
}

typedef double (*bar_value_fn)(const profile_t *p, int k, int w, double *lo, double *hi);

static double frag_value(const profile_t *p, int k, int w, double *lo, double *hi)
{
    const fp_result_t *r = &p->alloc[k].work[w].r;
    *lo = *hi = 0;
    return r->status == FP_OK ? fp_frag(r) : 0;
}

static double speed_value(const profile_t *p, int k, int w, double *lo, double *hi)
{
    const fp_cell_t *c = &p->alloc[k].work[w], *c0 = &p->alloc[0].work[w];
    if (c->r.status != FP_OK || c0->ns_median <= 0)
        return *lo = *hi = 0;
    *lo = c->ns_min / c0->ns_median, *hi = c->ns_max / c0->ns_median;
    return c->ns_median / c0->ns_median;
}

static void bar(FILE *f, const frame_t *fr, double x, double w, double v, double lo, double hi,
                int k, const char *tip)
{
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
            "<title>%s</title></rect>\n", x, fy(fr, fmin(v, fr->y1)), w,
            fy(fr, 0) - fy(fr, fmin(v, fr->y1)), color(k), tip);
    if (hi > lo)
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"e\"/>\n",
                x + w / 2, x + w / 2, fy(fr, fmin(lo, fr->y1)), fy(fr, fmin(hi, fr->y1)));
}

static void plot_bars(FILE *f, const profile_t *p, int slot, const char *id, const char *title,
                      const char *ylabel, bar_value_fn value)
{
    plot_open(f, slot, id, title);
    legend(f, p);
    frame_t fr = { 0, 1, 0, 1, false, false };
    double lo, hi;
    for (int w = 0; w < p->nworkloads; w++)
        for (int k = 0; k < p->nallocs; k++)
        {
            double v = value(p, k, w, &lo, &hi);
            fr.y1 = fmax(fr.y1, fmin(fmax(v, hi) * 1.1, 50));
        }
    fr.y1 = nice_top(fr.y1);
    axes(f, &fr, NULL, ylabel);
    double group = (double)(PLOT_W - ML - MR) / p->nworkloads, bw = group * 0.8 / p->nallocs;
    for (int w = 0; w < p->nworkloads; w++) {
        double gx = ML + w * group + group * 0.1;
        for (int k = 0; k < p->nallocs; k++) {
            double v = value(p, k, w, &lo, &hi);
            char tip[64];
            snprintf(tip, sizeof tip, "%.2f", v);
            bar(f, &fr, gx + k * bw, bw * 0.9, v, lo, hi, k, tip);
        }
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"a\" text-anchor=\"middle\">", gx + group * 0.4,
                PLOT_H - MB + 14);
        esc_xml_attr(f, p->workload_name[w]);
        fprintf(f, "</text>\n");
    }
    plot_close(f);
}

static const char style[] =
    "body{margin:0;font:14px/1.4 sans-serif;color:#222;background:#fff}"
    "#page{position:relative;width:1000px}"
    "h1{position:absolute;left:20px;top:6px;margin:0;font-size:22px}"
    "#sum{position:absolute;left:20px;top:44px;width:950px;color:#555}"
    ".plot{position:absolute;border:1px solid #ddd;border-radius:4px;background:#fff}"
    ".t{font:bold 14px sans-serif;fill:#222}.l{font:11px sans-serif;fill:#333}"
    ".a{font:10px sans-serif;fill:#555}.g{stroke:#eee}.fr{fill:none;stroke:#bbb}"
    ".e{stroke:#111;stroke-width:1.5}"
    "pre{position:absolute;left:20px;font:12px/1.35 monospace;white-space:pre}";

static void head(FILE *f, const profile_t *p)
{
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>allocheck profile</title><style>%s</style></head>\n<body><div id=\"page\">"
            "<h1>allocheck profile</h1><div id=\"sum\">", style);
    for (int k = 0; k < p->nallocs; k++) {
        fprintf(f, "%s<b style=\"color:%s\">", k ? ", " : "", color(k));
        esc_xml_attr(f, p->alloc[k].label);
        fprintf(f, "</b>");
    }
    fprintf(f, ": %d workloads, %d sizes, %u runs each for speed%s, %.1f s. Fragmentation is "
            "peak footprint / peak live bytes; speed is ns per operation as a ratio to %s "
            "(bars: median, whiskers: fastest and slowest run).</div>\n", p->nworkloads,
            p->nsizes, p->opts.reps, p->opts.quick ? " (quick)" : "", p->seconds,
            p->nallocs ? p->alloc[0].label : "");
}

/* The text tables under the plots, escaped. */
static int tables(FILE *f, const profile_t *p, int top)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return -errno;
    profile_write(p, FPF_HUMAN, m);
    fclose(m);
    fprintf(f, "<pre style=\"top:%dpx\">", top);
    esc_xml_attr(f, buf ? buf : "");
    fprintf(f, "</pre>\n");
    free(buf);
    return 0;
}

int profile_write_html(const profile_t *p, FILE *f)
{
    head(f, p);
    int slot = 0;
    plot_bars(f, p, slot++, "fragmentation", "Fragmentation per workload",
              "peak footprint / peak live", frag_value);
    plot_bars(f, p, slot++, "speed", "Speed per workload (time per op, x first allocator)",
              "x first allocator", speed_value);
    plot_overhead(f, p, slot++);
    for (int w = 0; w < p->nworkloads; w++)
        plot_time(f, p, w, slot++);
    int rc = tables(f, p, HEAD_H + ((slot + 1) / 2) * (PLOT_H + GAP) + 10);
    fprintf(f, "</div></body></html>\n");
    return rc ? rc : ferror(f) ? -EIO : 0;
}
