/* The output formats commands write, named once: conform and list use the first five, profile
 * and harden add their own from the same list. */
#ifndef ALLOCHECK_SRC_REPORT_FORMAT_H
#define ALLOCHECK_SRC_REPORT_FORMAT_H

typedef enum report_format {
    FORMAT_HUMAN,
    FORMAT_TAP,
    FORMAT_JUNIT,
    FORMAT_JSON,
    FORMAT_MARKDOWN,
    FORMAT_CSV,
    FORMAT_HTML,
    FORMAT_COUNT,
} report_format_t;

/* The name --format takes for fmt ("human", "tap", ...). */
const char *report_format_name(report_format_t fmt);
/* The format named name, or -1. */
int report_format_parse(const char *name);

#endif
