/* Conformance reports: the results of one run (src/conform/conform.h) written as a human summary or
 * side-by-side matrix, TAP, JUnit XML, JSON or a markdown table, and the check list of
 * `allocheck list`. Every byte a check or an allocator produced is escaped for its format
 * (control characters, quotes, invalid UTF-8 from an allocator's last words).
 * Leaves out: choosing the stream, colour detection and atomic files (src/cli/cmd_conform.c). */
#ifndef ALLOCHECK_SRC_REPORT_REPORT_H
#define ALLOCHECK_SRC_REPORT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "conformance/check.h"
#include "src/load/alloc.h"
#include "src/report/format.h"
#include "src/conform/conform.h"

typedef struct report {
    const alloc_t *allocs;
    const char *const *labels;        /* shown name per allocator (cli_alloc_label) */
    size_t nallocs;
    const check_t *const *checks;
    size_t nchecks;
    const conform_result_t *results;  /* results[ai * nchecks + ci] */
    profile_t profile;
    bool colour;                      /* ANSI colours (human only) */
    bool all;                         /* human: list passes too / every matrix row */
} report_t;

/* Writes the report in fmt (human, tap, junit, json or markdown). Returns 0 or -EIO. */
int report_write(FILE *f, const report_t *r, report_format_t fmt);

/* Writes the check list (human or json: [{"id","function","clause","description"}]).
 * Returns 0 or -EIO. */
int report_list(FILE *f, const check_t *const *checks, size_t n, report_format_t fmt,
                const alloc_t *allocs, size_t nallocs);

/* Number of results with verdict v. */
size_t report_count(const report_t *r, verdict_t v);

#endif
