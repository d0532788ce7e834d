/* What the conformance report writers share: a cell's result, a row's problem, the counts, and
 * one writer per format. Internal to src/report/: commands use src/report/report.h.
 * Terms: a "row" is one check across every allocator; a "cell" is one (allocator, check) result. */
#ifndef ALLOCHECK_SRC_REPORT_WRITERS_H
#define ALLOCHECK_SRC_REPORT_WRITERS_H

#include <stdbool.h>
#include <stdio.h>

#include "src/base/escape.h"
#include "src/report/report.h"

const conform_result_t *rpt_cell(const report_t *r, size_t ai, size_t ci);
size_t rpt_count_alloc(const report_t *r, size_t ai, verdict_t v);
/* The first check in allocator ai's results with the same problem as check ci (one root
 * cause shown once), and how many distinct problems ai has. */
bool rpt_same_problem(const conform_result_t *a, const conform_result_t *b);
size_t rpt_problem_head(const report_t *r, size_t ai, size_t ci);
size_t rpt_count_problems(const report_t *r, size_t ai);
/* The name shown for allocator ai. */
const char *rpt_label(const report_t *r, size_t ai);
/* A verdict as every format shows it: PASS, FAIL, DIV, skip, info. */
const char *rpt_verdict_tag(verdict_t v);
/* Whether any allocator recorded a behaviour for check ci. */
bool rpt_any_behaviour(const report_t *r, size_t ci);
/* Flushes f: 0, or -EIO when anything written was lost. */
int rpt_finish(FILE *f);

typedef void report_writer_fn(FILE *f, const report_t *r);
report_writer_fn report_human, report_tap, report_junit, report_json, report_markdown;

#endif
