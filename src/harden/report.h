/* Reports of `allocheck harden`: the side-by-side matrix (one row per case, one column per
 * allocator, a cell per outcome with its probability when runs disagree), then the properties
 * and a count per class, as human text, markdown, JSON or JUnit XML. What an allocator wrote
 * goes through src/base/escape.h, as in every report.
 * Leaves out: choosing the stream and atomic files (src/cli/cmd_harden.c). */
#ifndef ALLOCHECK_SRC_HARDEN_REPORT_H
#define ALLOCHECK_SRC_HARDEN_REPORT_H

#include <stdio.h>

#include "src/report/format.h"
#include "src/harden/harden.h"

typedef struct harden_report {
    const char *const *labels;        /* one per allocator */
    size_t nallocs;
    const misuse_t *const *cases;
    size_t ncases;
    const harden_result_t *results;   /* results[ai * ncases + ci] */
    size_t nprops;
    const char *const *prop_ids;      /* nprops */
    const char *const *prop_values;   /* [ai * nprops + pi] */
    unsigned runs;
} harden_report_t;

/* Writes the report in fmt (human, markdown, json or junit). Returns 0 or -EIO. */
int harden_report_write(FILE *f, const harden_report_t *r, report_format_t fmt);

/* "detected", or "corrupted: duplicate 3/5, ignored 2/5" when the runs disagree, into buf. */
const char *harden_cell(const harden_result_t *res, char *buf, size_t len);

#endif
