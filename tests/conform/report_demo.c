/* Writes a conformance report of made-up results in the format named by argv[1], for
 * test_reports.sh to parse with real parsers. The messages carry what an allocator's last
 * words can: quotes, markup, control characters, invalid UTF-8, '#' and line breaks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/report/report.h"

static void *demo_malloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void demo_free(void *ctx, void *p) { (void)ctx; free(p); }
static void run_nothing(check_ctx_t *c) { (void)c; }

static const check_t checks[] = {
    { "malloc-align", "malloc", "C17 7.22.3p1", "aligned", 0, 0, run_nothing },
    { "calloc-overflow", "calloc", "C17 7.22.3.2p2 <&>", "overflow", 0, 0, run_nothing },
    { "malloc-zero", "malloc", "C17 7.22.3p1", "malloc(0)", 0, 0, run_nothing },
    { "pvalloc-page", "pvalloc", "glibc", "page # rounded", 0, 0, run_nothing },
};
static const check_t *const table[] = { &checks[0], &checks[1], &checks[2], &checks[3] };

static void fill(conform_result_t *r, verdict_t v, const char *msg, const char *behaviour)
{
    r->verdict = v;
    r->ms = 12;
    snprintf(r->msg, sizeof r->msg, "%s", msg);
    snprintf(r->behaviour, sizeof r->behaviour, "%s", behaviour);
}

static const char nasty[] = "killed by SIGABRT (Aborted)\nlast words: \"bad\" <free> & \x01\x1b[31m"
                            " \xff\xfe\xc3 caf\xc3\xa9 # not a directive \\ | pipe";

int main(int argc, char **argv)
{
    static const char *const names[] = { "human", "tap", "junit", "json", "markdown" };
    static alloc_t allocs[2] = {
        { .spec = "reference", .name = "reference", .malloc = demo_malloc, .free = demo_free },
        { .spec = "/x/lib\"odd\".so", .name = "lib\"odd\".so", .path = "/x/lib\"odd\".so",
          .malloc = demo_malloc },
    };
    conform_result_t res[8] = { 0 };
    fill(&res[0], VERDICT_PASS, "", "");
    fill(&res[1], VERDICT_FAIL, "calloc(SIZE_MAX, 2) returned non-NULL", "");
    fill(&res[2], VERDICT_DIVERGENCE, "malloc(0) returns NULL", "malloc(0) returns NULL");
    fill(&res[3], VERDICT_SKIP, "no pvalloc", "");
    fill(&res[4], VERDICT_FAIL, nasty, "");
    fill(&res[5], VERDICT_PASS, "", "");
    fill(&res[6], VERDICT_PASS, "", "malloc(0) returns a unique pointer \x02\xff");
    fill(&res[7], VERDICT_SKIP, "no pvalloc\nsecond line", "");
    report_t r = { .allocs = allocs, .nallocs = argc > 2 ? 1 : 2, .checks = table,
                   .nchecks = 4, .results = res, .profile = PROFILE_C17 };
    for (int f = 0; argc > 1 && f < 5; f++)
        if (strcmp(argv[1], names[f]) == 0)
            return report_write(stdout, &r, (report_format_t)f) < 0;
    if (argc > 1 && strcmp(argv[1], "list") == 0)
        return report_list(stdout, table, 4, FORMAT_JSON, NULL, 0) < 0;
    fprintf(stderr, "usage: report_demo human|tap|junit|json|markdown|list [one]\n");
    return 2;
}
