/* The harden reports (src/harden/report.h). */
#include <errno.h>
#include <string.h>

#include "src/base/escape.h"
#include "src/harden/report.h"

static const harden_result_t *res_of(const harden_report_t *r, size_t ai, size_t ci)
{
    return &r->results[ai * r->ncases + ci];
}

const char *harden_cell(const harden_result_t *res, char *buf, size_t len)
{
    if (res->count[res->outcome] == res->runs) {
        snprintf(buf, len, "%s", harden_outcome_name(res->outcome));
        return buf;
    }
    size_t off = 0;
    for (int pass = 0; pass < 2; pass++)   /* the leading outcome first, then the others */
        for (int o = 0; o < HO_COUNT && off < len; o++) {
            if (!res->count[o] || (pass == 0) != (o == (int)res->outcome))
                continue;
            off += (size_t)snprintf(buf + off, len - off, "%s%s %u/%u", off ? ", " : "",
                                    harden_outcome_name((harden_outcome_t)o), res->count[o],
                                    res->runs);
        }
    return buf;
}

static void counts(const harden_report_t *r, size_t ai, unsigned n[HC_COUNT])
{
    memset(n, 0, HC_COUNT * sizeof *n);
    for (size_t ci = 0; ci < r->ncases; ci++)
        n[harden_class_of(res_of(r, ai, ci)->outcome)]++;
}

static void summary_human(FILE *f, const harden_report_t *r, size_t ai)
{
    unsigned n[HC_COUNT];
    counts(r, ai, n);
    fprintf(f, "  %s:", r->labels[ai]);
    for (int c = HC_DETECTED; c < HC_COUNT; c++)
        fprintf(f, " %s %u,", harden_class_name((harden_class_t)c), n[c]);
    fprintf(f, " n/a %u, error %u\n", n[HC_NA], n[HC_ERROR]);
}

static void write_human(FILE *f, const harden_report_t *r)
{
    char cell[160];
    fprintf(f, "%-38s", "case");
    for (size_t ai = 0; ai < r->nallocs; ai++)
        fprintf(f, " | %-22.22s", r->labels[ai]);
    fputc('\n', f);
    for (size_t ci = 0; ci < r->ncases; ci++) {
        fprintf(f, "%-38s", r->cases[ci]->id);
        for (size_t ai = 0; ai < r->nallocs; ai++)
            fprintf(f, " | %-22s", harden_cell(res_of(r, ai, ci), cell, sizeof cell));
        fputc('\n', f);
    }
    for (size_t pi = 0; pi < r->nprops; pi++) {
        fprintf(f, "%-38s", r->prop_ids[pi]);
        for (size_t ai = 0; ai < r->nallocs; ai++)
            fprintf(f, " | %-22s", r->prop_values[ai * r->nprops + pi]);
        fputc('\n', f);
    }
    fprintf(f, "\n%zu cases, %u run%s each; per allocator:\n", r->ncases, r->runs,
            r->runs == 1 ? "" : "s");
    for (size_t ai = 0; ai < r->nallocs; ai++)
        summary_human(f, r, ai);
}

static void write_markdown(FILE *f, const harden_report_t *r)
{
    char cell[160];
    fputs("| case |", f);
    for (size_t ai = 0; ai < r->nallocs; ai++) {
        fputc(' ', f);
        esc_md_cell(f, r->labels[ai]);
        fputs(" |", f);
    }
    fputs("\n| --- |", f);
    for (size_t ai = 0; ai < r->nallocs; ai++)
        fputs(" --- |", f);
    fputc('\n', f);
    for (size_t ci = 0; ci < r->ncases; ci++) {
        fprintf(f, "| `%s` |", r->cases[ci]->id);
        for (size_t ai = 0; ai < r->nallocs; ai++) {
            fputc(' ', f);
            esc_md_cell(f, harden_cell(res_of(r, ai, ci), cell, sizeof cell));
            fputs(" |", f);
        }
        fputc('\n', f);
    }
    for (size_t pi = 0; pi < r->nprops; pi++) {
        fprintf(f, "| property `%s` |", r->prop_ids[pi]);
        for (size_t ai = 0; ai < r->nallocs; ai++) {
            fputc(' ', f);
            esc_md_cell(f, r->prop_values[ai * r->nprops + pi]);
            fputs(" |", f);
        }
        fputc('\n', f);
    }
    fputs("\n| allocator |", f);
    for (int c = HC_DETECTED; c < HC_COUNT; c++)
        fprintf(f, " %s |", harden_class_name((harden_class_t)c));
    fputs(" n/a | error |\n| --- |", f);
    for (int c = HC_DETECTED; c <= HC_COUNT; c++)
        fputs(" --- |", f);
    fputs(" --- |\n", f);
    for (size_t ai = 0; ai < r->nallocs; ai++) {
        unsigned n[HC_COUNT];
        counts(r, ai, n);
        fputs("| ", f);
        esc_md_cell(f, r->labels[ai]);
        fputs(" |", f);
        for (int c = HC_DETECTED; c < HC_COUNT; c++)
            fprintf(f, " %u |", n[c]);
        fprintf(f, " %u | %u |\n", n[HC_NA], n[HC_ERROR]);
    }
}

static void json_str(FILE *f, const char *key, const char *v, bool comma)
{
    fprintf(f, "\"%s\": ", key);
    esc_json(f, v);
    fputs(comma ? ", " : "", f);
}

/* Each cell names the command that writes its reproducer. */
static void json_result(FILE *f, const harden_result_t *res, const char *id, const char *label)
{
    char repro[1024];
    snprintf(repro, sizeof repro, "allocheck harden --repro %s -a %s -o %s.c", id, label, id);
    fputs("{", f);
    json_str(f, "repro", repro, true);
    json_str(f, "outcome", harden_outcome_name(res->outcome), true);
    json_str(f, "class", harden_class_name(harden_class_of(res->outcome)), true);
    fprintf(f, "\"runs\": %u, \"probability\": %.3f, \"counts\": {", res->runs,
            res->runs ? (double)res->count[res->outcome] / res->runs : 0.0);
    bool first = true;
    for (int o = 0; o < HO_COUNT; o++)
        if (res->count[o]) {
            fprintf(f, "%s\"%s\": %u", first ? "" : ", ",
                    harden_outcome_name((harden_outcome_t)o), res->count[o]);
            first = false;
        }
    fputs("}, ", f);
    json_str(f, "message", res->msg, false);
    fputs("}", f);
}

static void write_json(FILE *f, const harden_report_t *r)
{
    fprintf(f, "{\"runs\": %u, \"allocators\": [", r->runs);
    for (size_t ai = 0; ai < r->nallocs; ai++) {
        fputs(ai ? ", " : "", f);
        esc_json(f, r->labels[ai]);
    }
    fputs("],\n \"cases\": [", f);
    for (size_t ci = 0; ci < r->ncases; ci++) {
        const misuse_t *c = r->cases[ci];
        fprintf(f, "%s\n  {", ci ? "," : "");
        json_str(f, "id", c->id, true);
        json_str(f, "property", c->property, true);
        json_str(f, "cite", c->cite, true);
        fputs("\"results\": [", f);
        for (size_t ai = 0; ai < r->nallocs; ai++) {
            fputs(ai ? ", " : "", f);
            json_result(f, res_of(r, ai, ci), c->id, r->labels[ai]);
        }
        fputs("]}", f);
    }
    fputs("],\n \"properties\": [", f);
    for (size_t pi = 0; pi < r->nprops; pi++) {
        fprintf(f, "%s{", pi ? ", " : "");
        json_str(f, "id", r->prop_ids[pi], true);
        fputs("\"values\": [", f);
        for (size_t ai = 0; ai < r->nallocs; ai++) {
            fputs(ai ? ", " : "", f);
            esc_json(f, r->prop_values[ai * r->nprops + pi]);
        }
        fputs("]}", f);
    }
    fputs("]}\n", f);
}

/* JUnit: one suite per allocator; a case is a failure only where it is corrupted or leaked
 * (what an attacker gets), an error where the harness failed, skipped where n/a. */
static void write_junit(FILE *f, const harden_report_t *r)
{
    char cell[160];
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"allocheck harden\">\n", f);
    for (size_t ai = 0; ai < r->nallocs; ai++) {
        fputs(" <testsuite name=\"", f);
        esc_xml_attr(f, r->labels[ai]);
        fprintf(f, "\" tests=\"%zu\">\n", r->ncases);
        for (size_t ci = 0; ci < r->ncases; ci++) {
            const harden_result_t *res = res_of(r, ai, ci);
            harden_class_t c = harden_class_of(res->outcome);
            fprintf(f, "  <testcase classname=\"harden\" name=\"%s\">", r->cases[ci]->id);
            const char *tag = c == HC_NA ? "skipped" : c == HC_ERROR ? "error"
                              : (c == HC_CORRUPTED || c == HC_LEAKED) ? "failure" : NULL;
            if (tag) {
                fprintf(f, "<%s message=\"", tag);
                esc_xml_attr(f, harden_cell(res, cell, sizeof cell));
                fputs("\">", f);
                esc_xml_text(f, res->msg);
                fprintf(f, "</%s>", tag);
            } else {
                fputs("<system-out>", f);
                esc_xml_text(f, harden_cell(res, cell, sizeof cell));
                fputs(res->msg[0] ? ": " : "", f);
                esc_xml_text(f, res->msg);
                fputs("</system-out>", f);
            }
            fputs("</testcase>\n", f);
        }
        fputs(" </testsuite>\n", f);
    }
    fputs("</testsuites>\n", f);
}

int harden_report_write(FILE *f, const harden_report_t *r, report_format_t fmt)
{
    if (fmt == FORMAT_MARKDOWN)
        write_markdown(f, r);
    else if (fmt == FORMAT_JSON)
        write_json(f, r);
    else if (fmt == FORMAT_JUNIT)
        write_junit(f, r);
    else
        write_human(f, r);
    return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}
