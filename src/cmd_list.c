/* allocheck list: every conformance check with its function, clause and description, as a
 * table or as JSON ([{"id","function","clause","description"}]) for scripts and CI. */
#include <string.h>

#include "conformance/check.h"
#include "src/cli.h"
#include "src/cmds.h"
#include "src/report.h"

static const struct argp_option options[] = {
    { "format", 'f', "FMT", 0, "human (default) or json", 0 },
    { 0 },
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
    cli_format_t *format = state->input;
    switch (key) {
    case 'f':
        *format = cli_parse_format(arg, 1u << FORMAT_HUMAN | 1u << FORMAT_JSON, state);
        return 0;
    case ARGP_KEY_ARG: argp_failure(state, EXIT_USAGE, 0, "unexpected argument '%s'", arg);
        return 0;
    default: return ARGP_ERR_UNKNOWN;
    }
}

int cmd_list(int argc, char **argv)
{
    cli_format_t format = FORMAT_HUMAN;
    struct argp argp = { options, parse_opt, 0, "List every conformance check.", 0, 0, 0 };
    cli_argp_parse(&argp, argc, argv, 0, &format);
    int rc = report_list(stdout, conform_checks, conform_check_count, format);
    if (rc < 0) {
        cli_error("list: cannot write to stdout: %s", strerror(-rc));
        return EXIT_USAGE;
    }
    return EXIT_CLEAN;
}
