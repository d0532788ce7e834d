/* The conformance report as JUnit XML: a testsuite per allocator, a testcase per check. */
#include "src/report/writers.h"

static void junit_case(FILE *f, const report_t *r, size_t ai, size_t ci)
{
    const check_t *c = r->checks[ci];
    const conform_result_t *res = rpt_cell(r, ai, ci);
    fputs("    <testcase classname=\"", f);
    esc_xml_attr(f, c->function);
    fputs("\" name=\"", f);
    esc_xml_attr(f, c->id);
    fprintf(f, "\" time=\"%.3f\">\n", res->ms / 1000.0);
    if (res->verdict == VERDICT_FAIL || res->verdict == VERDICT_SKIP) {
        const char *el = res->verdict == VERDICT_FAIL ? "failure" : "skipped";
        fprintf(f, "      <%s message=\"", el);
        esc_xml_attr(f, res->msg);
        fputs("\">", f);
        esc_xml_text(f, c->clause);
        fprintf(f, "</%s>\n", el);
    }
    if (res->verdict == VERDICT_DIVERGENCE || res->behaviour[0]) {
        fputs("      <system-out>", f);
        if (res->verdict == VERDICT_DIVERGENCE) {
            fputs("divergence: ", f);
            esc_xml_text(f, res->msg);
            fputc('\n', f);
        }
        if (res->behaviour[0]) {
            fputs("behaviour: ", f);
            esc_xml_text(f, res->behaviour);
        }
        fputs("</system-out>\n", f);
    }
    fputs("    </testcase>\n", f);
}

void report_junit(FILE *f, const report_t *r)
{
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<testsuites name=\"allocheck conform\" tests=\"%zu\" failures=\"%zu\" "
            "skipped=\"%zu\">\n", r->nallocs * r->nchecks, report_count(r, VERDICT_FAIL),
            report_count(r, VERDICT_SKIP));
    for (size_t ai = 0; ai < r->nallocs; ai++) {
        fputs("  <testsuite name=\"", f);
        esc_xml_attr(f, rpt_label(r, ai));
        fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\">\n",
                r->nchecks, rpt_count_alloc(r, ai, VERDICT_FAIL), rpt_count_alloc(r, ai, VERDICT_SKIP));
        fprintf(f, "    <properties>\n      <property name=\"profile\" value=\"%s\"/>\n"
                "      <property name=\"path\" value=\"", conform_profile_name(r->profile));
        esc_xml_attr(f, r->allocs[ai].path);
        fputs("\"/>\n    </properties>\n", f);
        for (size_t ci = 0; ci < r->nchecks; ci++)
            junit_case(f, r, ai, ci);
        fputs("  </testsuite>\n", f);
    }
    fputs("</testsuites>\n", f);
}

