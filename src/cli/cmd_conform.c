/* allocheck conform: runs the conformance suite (conformance/) against one or more allocators
 * and reports. Exit 0 when no check failed (divergences and skips are fine), 1 when any did,
 * 2 on a usage or load error. The checks run in children (src/conform/conform.c); only this file prints. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance/check.h"
#include "src/base/outfile.h"
#include "src/cli/cli.h"
#include "src/cli/cmds.h"
#include "src/conform/conform.h"
#include "src/report/report.h"

#define MAX_GLOBS 64

enum { OPT_ONLY = 0x100, OPT_SKIP, OPT_ALL, OPT_REPEAT };

typedef struct args {
    cli_allocs_t allocs;
    conform_opts_t opts;
    report_format_t format;
    const char *output;
    const char *only[MAX_GLOBS], *skip[MAX_GLOBS];
    size_t nonly, nskip;
    bool all;
    unsigned repeat;
} args_t;

static const struct argp_option options[] = {
    CLI_OPTION_ALLOCATOR,
    { "profile", 'p', "NAME", 0, "Standards profile: posix2024 (C17 + POSIX.1-2024, default), "
      "or ISO C alone: c11, c17, c23 (no errno requirements)", 0 },
    { "timeout", 't', "SECONDS", 0, "Per-check timeout (default 5; also 500ms, 1m)", 0 },
    { "jobs", 'j', "N", 0, "Checks run at once (default: the number of CPUs)", 0 },
    { "only", OPT_ONLY, "GLOB", 0, "Run only the checks whose id matches; repeatable, or comma-separated", 0 },
    { "skip", OPT_SKIP, "GLOB", 0, "Leave out the checks whose id matches; repeatable, or comma-separated", 0 },
    { "format", 'f', "FMT", 0, "human (default), tap, junit, json, markdown", 0 },
    { "output", 'o', "FILE", 0, "Write the report to FILE (atomically) instead of stdout", 0 },
    { "all", OPT_ALL, 0, 0, "Human output: list passes and every matrix row", 0 },
    { "repeat", OPT_REPEAT, "N", 0, "Run each failing or diverging check N more times and "
      "mark the ones whose verdict changes 'unstable (k of N+1 runs ...)'", 0 },
    { 0 },
};

static void add_glob(const char **list, size_t *n, const char *arg, struct argp_state *state)
{
    if (*n == MAX_GLOBS)
        argp_failure(state, EXIT_USAGE, 0, "at most %d --only/--skip options", MAX_GLOBS);
    list[(*n)++] = arg;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
    args_t *args = state->input;
    switch (key) {
    case 'a': cli_add_alloc(&args->allocs, arg, state); return 0;
    case 'p':
        if (conform_profile_parse(arg, &args->opts.profile) < 0)
            argp_failure(state, EXIT_USAGE, 0, "--profile: unknown profile '%s' "
                         "(c11, c17, c23, posix2024)", arg);
        return 0;
    case 't': {
        unsigned long long ms = cli_parse_duration_ms("--timeout", arg, state);
        if (ms < 1 || ms > 24ull * 3600 * 1000)
            argp_failure(state, EXIT_USAGE, 0, "--timeout: '%s' is out of range", arg);
        args->opts.timeout_ms = (unsigned)ms;
        return 0;
    }
    case 'j': args->opts.jobs = (unsigned)cli_parse_range("-j", arg, 1, 64, state); return 0;
    case OPT_ONLY: add_glob(args->only, &args->nonly, arg, state); return 0;
    case OPT_SKIP: add_glob(args->skip, &args->nskip, arg, state); return 0;
    case 'f': args->format = cli_parse_format(arg, 0x1f, state); return 0;
    case 'o': args->output = arg; return 0;
    case OPT_ALL: args->all = true; return 0;
    case OPT_REPEAT:
        args->repeat = (unsigned)cli_parse_range("--repeat", arg, 1, 100, state);
        return 0;
    case ARGP_KEY_ARG: argp_failure(state, EXIT_USAGE, 0, "unexpected argument '%s'", arg);
        return 0;
    default: return ARGP_ERR_UNKNOWN;
    }
}

static bool to_stdout(const args_t *args)
{
    return !args->output || strcmp(args->output, "-") == 0;
}

/* Writes the report to stdout or to -o FILE, opened (af) before the checks ran. */
static int emit(const args_t *args, report_t *rep, outfile_t *af)
{
    if (to_stdout(args)) {
        rep->colour = args->format == FORMAT_HUMAN && isatty(STDOUT_FILENO) &&
                      !getenv("NO_COLOR");
        return report_write(stdout, rep, args->format);
    }
    int rc = report_write(af->f, rep, args->format);
    return rc ? outfile_fail(af, rc) : outfile_commit(af);
}

/* Runs the selected checks and reports; returns the exit status. */
static int run(const args_t *args, const alloc_t *allocs, size_t nallocs,
               const check_t **sel, size_t nsel, outfile_t *af)
{
    const char *labels[CLI_MAX_ALLOCS];
    for (size_t i = 0; i < nallocs; i++)
        labels[i] = cli_alloc_label(&allocs[i]);
    conform_result_t *res = conform_results_new(nallocs * nsel);
    if (!res) {
        cli_error("conform: %s", strerror(ENOMEM));
        if (!to_stdout(args))
            outfile_abort(af);
        return EXIT_USAGE;
    }
    int rc = conform_run(allocs, nallocs, sel, nsel, &args->opts, res);
    if (rc >= 0 && args->repeat)
        rc = conform_repeat(allocs, nallocs, sel, nsel, &args->opts, res, args->repeat);
    report_t rep = { .allocs = allocs, .labels = labels, .nallocs = nallocs, .checks = sel,
                     .nchecks = nsel, .results = res, .profile = args->opts.profile,
                     .all = args->all };
    if (rc < 0) {
        cli_error("conform: running the checks: %s", strerror(-rc));
        if (!to_stdout(args))
            outfile_abort(af);
    } else if ((rc = emit(args, &rep, af)) < 0) {
        cli_error("%s: cannot write the report: %s",
                  cli_name(args->output ? args->output : "stdout"), strerror(-rc));
    }
    int status = rc < 0 ? EXIT_USAGE : report_count(&rep, VERDICT_FAIL) ? EXIT_FINDING
                                                                          : EXIT_CLEAN;
    conform_results_free(res, nallocs * nsel);
    return status;
}

int cmd_conform(int argc, char **argv)
{
    static args_t args;  /* static: the globs and loaded allocators outlive nothing else */
    static alloc_t allocs[CLI_MAX_ALLOCS];
    args.opts.profile = CONFORM_DEFAULT_PROFILE;
    args.format = FORMAT_HUMAN;
    struct argp argp = { options, parse_opt, 0,
        "Run the conformance suite against allocators; exit 1 if any check failed.", 0, 0, 0 };
    if (cli_argp_parse(&argp, argc, argv, 0, &args))
        return EXIT_USAGE;

    const check_t *sel[conform_check_count + 1];
    size_t nsel = 0;
    for (size_t i = 0; i < conform_check_count; i++)
        if (conform_selected(conform_checks[i]->id, args.only, args.nonly, args.skip,
                             args.nskip))
            sel[nsel++] = conform_checks[i];
    if (nsel == 0) {
        cli_error("conform: --only/--skip leave no check to run (see allocheck list)");
        return EXIT_USAGE;
    }
    /* -o is checked first and opened before the suite runs: a bad path costs a line now,
     * not the results later. Checked before loading too, which may re-execute. */
    int rc = to_stdout(&args) ? 0 : outfile_check(args.output);
    int n = 0;
    if (!rc && (rc = cli_load_allocs(&args.allocs, allocs, &n)) != 0)
        return rc;
    outfile_t af;
    if (!rc && !to_stdout(&args))
        rc = outfile_open(&af, args.output);
    if (rc) {
        cli_error("%s: cannot write the report: %s", cli_name(args.output), strerror(-rc));
        return EXIT_USAGE;
    }
    return run(&args, allocs, (size_t)n, sel, nsel, &af);
}
