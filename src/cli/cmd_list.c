/* allocheck list: every conformance check with its function, clause and description, as a
 * table or as JSON ([{"id","function","clause","description"}]) for scripts and CI. */
#include <string.h>

#include "conformance/check.h"
#include "src/cli/cli.h"
#include "src/cli/cmds.h"
#include "src/conform/conform.h"
#include "src/report/report.h"

typedef struct args {
    report_format_t format;
    cli_allocs_t allocs;
} args_t;

static const struct argp_option options[] = {
    { "format", 'f', "FMT", 0, "human (default) or json", 0 },
    { "allocator", 'a', "SPEC", 0,
      "Also say which checks this allocator would skip, and why (repeatable)", 0 },
    { 0 },
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
    args_t *args = state->input;
    switch (key) {
    case 'f':
        args->format = cli_parse_format(arg, 1u << FORMAT_HUMAN | 1u << FORMAT_JSON, state);
        return 0;
    case 'a': cli_add_alloc(&args->allocs, arg, state); return 0;
    case ARGP_KEY_ARG: argp_failure(state, EXIT_USAGE, 0, "unexpected argument '%s'", arg);
        return 0;
    default: return ARGP_ERR_UNKNOWN;
    }
}

int cmd_list(int argc, char **argv)
{
    args_t args = { .format = FORMAT_HUMAN };
    struct argp argp = { options, parse_opt, 0, "List every conformance check.", 0, 0, 0 };
    if (cli_argp_parse(&argp, argc, argv, 0, &args))
        return EXIT_USAGE;
    static alloc_t allocs[CLI_MAX_ALLOCS];
    int n = 0;
    /* Without -a, list describes the suite alone; loading "reference" would add nothing. */
    if (args.allocs.n && cli_load_allocs(&args.allocs, allocs, &n))
        return EXIT_USAGE;
    int rc = report_list(stdout, conform_checks, conform_check_count, args.format, allocs,
                         (size_t)n);
    if (rc < 0) {
        cli_error("list: cannot write to stdout: %s", strerror(-rc));
        return EXIT_USAGE;
    }
    return EXIT_CLEAN;
}
