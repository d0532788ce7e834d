/* allocheck harden: what allocators do with misuse, side by side. Runs the misuse catalogue
 * (misuse/) and the properties against each -a allocator and writes the matrix. The matrix is
 * information, not a verdict: exit 0 unless a case ran into a harness error (2), or
 * --require CLASS found a selected case that is not at least CLASS (1). --repro ID runs one
 * case and writes a standalone C reproducer of the outcome it saw instead. Only this file
 * prints. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/base/outfile.h"
#include "src/cli/cli.h"
#include "src/cli/cmds.h"
#include "src/conform/conform.h"
#include "src/harden/harden.h"
#include "src/harden/props.h"
#include "src/harden/propsrun.h"
#include "src/harden/report.h"
#include "src/harden/repro.h"

#define MAX_GLOBS 64
#define MAX_PROPS 64

enum { OPT_ONLY = 0x100, OPT_SKIP, OPT_RUNS, OPT_REQUIRE, OPT_REPRO, OPT_NO_PROPS };

typedef struct args {
    cli_allocs_t allocs;
    harden_opts_t opts;
    report_format_t format;
    const char *output, *repro;
    const char *only[MAX_GLOBS], *skip[MAX_GLOBS];
    size_t nonly, nskip;
    harden_class_t require;   /* HC_NA: none */
    const char *require_globs;
    bool no_props;
} args_t;

static const struct argp_option options[] = {
    CLI_OPTION_ALLOCATOR,
    { "jobs", 'j', "N", 0, "Runs at once (default: the number of CPUs)", 0 },
    { "runs", OPT_RUNS, "N", 0, "Fresh processes per case and allocator (default 5); a cell "
      "whose runs disagree shows each outcome's share", 0 },
    { "timeout", 't', "SECONDS", 0, "Per run (default 3): past it the allocator hangs", 0 },
    { "only", OPT_ONLY, "GLOB", 0, "Run only the cases whose id matches; repeatable, or comma-separated", 0 },
    { "skip", OPT_SKIP, "GLOB", 0, "Leave out the cases whose id matches; repeatable, or comma-separated", 0 },
    { "format", 'f', "FMT", 0, "human (default), markdown, json, junit", 0 },
    { "output", 'o', "FILE", 0, "Write the report (or the --repro source) to FILE, atomically", 0 },
    { "require", OPT_REQUIRE, "CLASS[:GLOB,...]", 0, "Exit 1 when a case (matching the globs) "
      "is not at least CLASS: detected, or trapped (detected or trapped)", 0 },
    { "repro", OPT_REPRO, "ID", 0, "Run case ID on the one -a allocator and write a standalone "
      "C reproducer of its outcome to -o FILE", 0 },
    { "no-properties", OPT_NO_PROPS, 0, 0, "Leave out the property rows", 0 },
    { 0 },
};

static void add_glob(const char **list, size_t *n, const char *arg, struct argp_state *state)
{
    if (*n == MAX_GLOBS)
        argp_failure(state, EXIT_USAGE, 0, "at most %d --only/--skip options", MAX_GLOBS);
    list[(*n)++] = arg;
}

static void parse_require(args_t *args, const char *arg, struct argp_state *state)
{
    size_t len = strcspn(arg, ":");
    if (len == 8 && strncmp(arg, "detected", 8) == 0)
        args->require = HC_DETECTED;
    else if (len == 7 && strncmp(arg, "trapped", 7) == 0)
        args->require = HC_TRAPPED;
    else
        argp_failure(state, EXIT_USAGE, 0, "--require: '%s' is not detected or trapped "
                     "(optionally :GLOB,...)", arg);
    args->require_globs = arg[len] ? arg + len + 1 : NULL;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
    args_t *args = state->input;
    switch (key) {
    case 'a': cli_add_alloc(&args->allocs, arg, state); return 0;
    case 'j': args->opts.jobs = (unsigned)cli_parse_range("-j", arg, 1, 64, state); return 0;
    case OPT_RUNS:
        args->opts.runs = (unsigned)cli_parse_range("--runs", arg, 1, 1000, state);
        return 0;
    case 't': {
        unsigned long long ms = cli_parse_duration_ms("--timeout", arg, state);
        if (ms < 1 || ms > 3600 * 1000)
            argp_failure(state, EXIT_USAGE, 0, "--timeout: '%s' is out of range", arg);
        args->opts.timeout_ms = (unsigned)ms;
        return 0;
    }
    case OPT_ONLY: add_glob(args->only, &args->nonly, arg, state); return 0;
    case OPT_SKIP: add_glob(args->skip, &args->nskip, arg, state); return 0;
    case 'f':
        args->format = cli_parse_format(arg, 1u << FORMAT_HUMAN | 1u << FORMAT_MARKDOWN |
                                        1u << FORMAT_JSON | 1u << FORMAT_JUNIT, state);
        return 0;
    case 'o': args->output = arg; return 0;
    case OPT_REQUIRE: parse_require(args, arg, state); return 0;
    case OPT_REPRO: args->repro = arg; return 0;
    case OPT_NO_PROPS: args->no_props = true; return 0;
    case ARGP_KEY_ARG: argp_failure(state, EXIT_USAGE, 0, "unexpected argument '%s'", arg);
        return 0;
    default: return ARGP_ERR_UNKNOWN;
    }
}

static bool to_stdout(const args_t *args)
{
    return !args->output || strcmp(args->output, "-") == 0;
}

/* Whether the result meets --require for a case. */
static bool meets(const args_t *args, const misuse_t *c, const harden_result_t *res)
{
    if (args->require == HC_NA || harden_class_of(res->outcome) == HC_NA)
        return true;
    if (args->require_globs && !conform_selected(c->id, &args->require_globs, 1, NULL, 0))
        return true;
    harden_class_t got = harden_class_of(res->outcome);
    return got == HC_DETECTED || (args->require == HC_TRAPPED && got == HC_TRAPPED);
}

static int status_of(const args_t *args, const harden_report_t *rep)
{
    int status = EXIT_CLEAN;
    for (size_t ai = 0; ai < rep->nallocs; ai++)
        for (size_t ci = 0; ci < rep->ncases; ci++) {
            const harden_result_t *res = &rep->results[ai * rep->ncases + ci];
            if (res->outcome == HO_ERROR)
                return EXIT_USAGE;
            if (!meets(args, rep->cases[ci], res))
                status = EXIT_FINDING;
        }
    return status;
}

static int emit(const args_t *args, const harden_report_t *rep, outfile_t *af)
{
    if (to_stdout(args))
        return harden_report_write(stdout, rep, args->format);
    int rc = harden_report_write(af->f, rep, args->format);
    return rc ? outfile_fail(af, rc) : outfile_commit(af);
}

/* The property rows: ids, and values per allocator. */
static int props(const args_t *args, const alloc_t *allocs, size_t nallocs,
                 harden_report_t *rep, const char **ids, char (**values)[HARDEN_PROP_VALUE])
{
    size_t n = args->no_props ? 0 : harden_prop_count();
    n = n > MAX_PROPS ? MAX_PROPS : n;
    for (size_t i = 0; i < n; i++)
        ids[i] = harden_prop_id(i);
    rep->nprops = n;
    rep->prop_ids = ids;
    if (!n)
        return 0;
    *values = calloc(nallocs * n, sizeof **values);
    if (!*values)
        return -ENOMEM;
    return harden_props_run(allocs, nallocs, args->opts.timeout_ms ? args->opts.timeout_ms
                                                                   : 10000, *values);
}

static int run(const args_t *args, const alloc_t *allocs, size_t nallocs,
               const misuse_t **sel, size_t nsel, outfile_t *af)
{
    const char *labels[CLI_MAX_ALLOCS];
    for (size_t i = 0; i < nallocs; i++)
        labels[i] = cli_alloc_label(&allocs[i]);
    harden_result_t *res = calloc(nallocs * nsel, sizeof *res);
    const char *ids[MAX_PROPS];
    char (*values)[HARDEN_PROP_VALUE] = NULL;
    harden_report_t rep = { .labels = labels, .nallocs = nallocs, .cases = sel, .ncases = nsel,
                            .results = res, .runs = args->opts.runs ? args->opts.runs
                                                                    : HARDEN_DEFAULT_RUNS };
    int rc = res ? harden_run(allocs, nallocs, sel, nsel, &args->opts, res) : -ENOMEM;
    if (!rc)
        rc = props(args, allocs, nallocs, &rep, ids, &values);
    const char *pv[nallocs * (rep.nprops ? rep.nprops : 1)];
    for (size_t i = 0; values && i < nallocs * rep.nprops; i++)
        pv[i] = values[i];
    rep.prop_values = pv;
    int status = EXIT_USAGE;
    if (rc < 0) {
        cli_error("harden: running the cases: %s", strerror(-rc));
        if (!to_stdout(args))
            outfile_abort(af);
    } else if ((rc = emit(args, &rep, af)) < 0) {
        cli_error("%s: cannot write the report: %s",
                  cli_name(args->output ? args->output : "stdout"), strerror(-rc));
    } else {
        status = status_of(args, &rep);
    }
    free(values);
    free(res);
    return status;
}

/* Runs the case once more (--runs times) to know its outcome, then writes the reproducer. */
static int repro(const args_t *args, const alloc_t *a, const misuse_t *c, outfile_t *af)
{
    harden_result_t res;
    int rc = harden_run(a, 1, &c, 1, &args->opts, &res);
    if (rc < 0) {
        outfile_abort(af);
        cli_error("harden: running %s: %s", c->id, strerror(-rc));
        return EXIT_USAGE;
    }
    rc = harden_repro_write(af->f, c, a, harden_outcome_name(res.outcome));
    rc = rc ? outfile_fail(af, rc) : outfile_commit(af);
    if (rc < 0) {
        cli_error("%s: cannot write the reproducer: %s", cli_name(args->output), strerror(-rc));
        return EXIT_USAGE;
    }
    fprintf(stderr, "allocheck: %s: %s on %s: %s\n", cli_name(args->output), c->id,
            cli_alloc_label(a), harden_outcome_name(res.outcome));
    return res.outcome == HO_ERROR ? EXIT_USAGE : EXIT_CLEAN;
}

/* --repro's checks before anything runs: the case exists, one allocator, a file to write. */
static const misuse_t *repro_case(const args_t *args)
{
    const misuse_t *c = harden_find(args->repro);
    if (!c)
        cli_error("harden: --repro: no case '%s' (allocheck harden -f json lists them)",
                  cli_name(args->repro));
    else if (to_stdout(args) || args->allocs.n > 1)
        cli_error("harden: --repro needs -o FILE and at most one -a");
    else
        return c;
    return NULL;
}

static size_t select_cases(const args_t *args, const misuse_t **sel)
{
    size_t n = 0;
    for (size_t i = 0; i < misuse_case_count; i++)
        if (conform_selected(misuse_cases[i]->id, args->only, args->nonly, args->skip,
                             args->nskip))
            sel[n++] = misuse_cases[i];
    return n;
}

int cmd_harden(int argc, char **argv)
{
    static args_t args;
    static alloc_t allocs[CLI_MAX_ALLOCS];
    args.format = FORMAT_HUMAN;
    struct argp argp = { options, parse_opt, 0,
        "What allocators do with misuse: a matrix of outcomes per case (detected, trapped, "
        "ignored, corrupted, leaked). Exit 0 unless a harness error, or --require failed.",
        0, 0, 0 };
    if (cli_argp_parse(&argp, argc, argv, 0, &args))
        return EXIT_USAGE;
    const misuse_t *sel[misuse_case_count + 1];
    size_t nsel = select_cases(&args, sel);
    const misuse_t *rc_case = args.repro ? repro_case(&args) : NULL;
    if (args.repro && !rc_case)
        return EXIT_USAGE;
    if (nsel == 0 && !args.repro) {
        cli_error("harden: --only/--skip leave no case to run");
        return EXIT_USAGE;
    }
    int rc = to_stdout(&args) ? 0 : outfile_check(args.output);
    int n = 0;
    if (!rc && (rc = cli_load_allocs(&args.allocs, allocs, &n)) != 0)
        return rc;
    const char *why = rc_case ? harden_repro_unsupported(&allocs[0]) : NULL;
    if (why) {
        cli_error("harden: --repro: %s: %s", cli_alloc_label(&allocs[0]), why);
        return EXIT_USAGE;
    }
    outfile_t af;
    if (!rc && !to_stdout(&args))
        rc = outfile_open(&af, args.output);
    if (rc) {
        cli_error("%s: cannot write the report: %s", cli_name(args.output), strerror(-rc));
        return EXIT_USAGE;
    }
    if (rc_case)
        return repro(&args, &allocs[0], rc_case, &af);
    return run(&args, allocs, (size_t)n, sel, nsel, &af);
}
