/* Format names (src/report/format.h), in the order of report_format_t. */
#include "src/report/format.h"

#include <string.h>

static const char *const names[FORMAT_COUNT] = {
    [FORMAT_HUMAN] = "human", [FORMAT_TAP] = "tap", [FORMAT_JUNIT] = "junit",
    [FORMAT_JSON] = "json", [FORMAT_MARKDOWN] = "markdown", [FORMAT_CSV] = "csv",
    [FORMAT_HTML] = "html",
};

const char *report_format_name(report_format_t fmt)
{
    return (unsigned)fmt < FORMAT_COUNT ? names[fmt] : "?";
}

int report_format_parse(const char *name)
{
    for (int i = 0; i < FORMAT_COUNT; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}
