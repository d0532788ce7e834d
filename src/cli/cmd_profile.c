/* allocheck profile: what each allocator costs in memory and time, side by side: per-size
 * overhead, fragmentation on workloads that fragment (and on trace files given with
 * --workload), retention after free-all, producer/consumer blowup and speed with 1, 2 and 4
 * threads. Every measurement runs in its own child (src/footprint/runner.c), so a crashing
 * or hanging allocator is a cell of the report, never a dead run. Exit 0 when every cell ran,
 * 1 when one crashed or hung, 2 on a usage, input or load error.
 * Leaves out: preload: specs (refused with one line; they run only in exec'd workers). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "src/base/outfile.h"
#include "src/base/children.h"
#include "src/cli/cli.h"
#include "src/cli/cmds.h"
#include "src/footprint/profile.h"
#include "src/trace/trace.h"

enum { OPT_QUICK = 1000, OPT_WORKLOAD, OPT_REPS, OPT_TIMEOUT, OPT_SEED };

typedef struct args {
    cli_allocs_t allocs;
    fp_format_t format;
    const char *out;
    fp_opts_t opts;
    bool reps_given;
} args_t;

static const struct argp_option options[] = {
    CLI_OPTION_ALLOCATOR,
    { "format", 'f', "FMT", 0, "human (default), json, csv, markdown, or html (a "
      "self-contained page with plots)", 0 },
    { "output", 'o', "FILE", 0, "write the report to FILE (atomically) instead of stdout", 0 },
    { "quick", OPT_QUICK, 0, 0, "smaller workloads, fewer sizes and runs (for CI)", 0 },
    { "workload", OPT_WORKLOAD, "FILE", 0, "also profile a trace file (text or binary), "
      "repeatable", 0 },
    { "reps", OPT_REPS, "N", 0, "speed runs per workload (1 to 9; default 5, with --quick 3)", 0 },
    { "timeout", OPT_TIMEOUT, "DURATION", 0, "time limit of one measurement (default 30s, "
      "quick 10s); past it the cell is reported hung", 0 },
    { "seed", OPT_SEED, "N", 0, "seed of the random workloads (default 1)", 0 },
    { 0 },
};

static fp_format_t parse_format(const char *arg, struct argp_state *state)
{
    static const char *const names[] = { "human", "json", "csv", "markdown", "html" };
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(arg, names[i]) == 0)
            return (fp_format_t)i;
    argp_error(state, "--format: unknown format '%s' (human, json, csv, markdown, html)", arg);
    return FPF_HUMAN;
}

static void add_workload(args_t *x, char *arg, struct argp_state *state)
{
    if (x->opts.nfiles >= FP_MAX_WORKLOADS - WL_TRACE)
        argp_error(state, "--workload: at most %d trace files", FP_MAX_WORKLOADS - WL_TRACE);
    x->opts.files[x->opts.nfiles++] = arg;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
    args_t *x = state->input;
    switch (key) {
    case 'a': cli_add_alloc(&x->allocs, arg, state); return 0;
    case 'f': x->format = parse_format(arg, state); return 0;
    case 'o': x->out = arg; return 0;
    case OPT_QUICK: x->opts.quick = true; return 0;
    case OPT_WORKLOAD: add_workload(x, arg, state); return 0;
    case OPT_REPS:
        x->opts.reps = (unsigned)cli_parse_range("--reps", arg, 1, FP_MAX_REPS, state);
        x->reps_given = true;
        return 0;
    case OPT_TIMEOUT: {
        unsigned long long ms = cli_parse_duration_ms("--timeout", arg, state);
        if (ms > 3600000)
            argp_error(state, "--timeout: '%s' is longer than an hour", arg);
        x->opts.timeout_ms = (unsigned)ms;
        return 0;
    }
    case OPT_SEED: x->opts.seed = cli_parse_ull("--seed", arg, state); return 0;
    case ARGP_KEY_ARG: argp_error(state, "unexpected argument '%s'", arg); return 0;
    default: return ARGP_ERR_UNKNOWN;
    }
}

static int refuse_preload(const cli_allocs_t *c)
{
    for (int i = 0; i < c->n; i++)
        if (strncmp(c->spec[i], "preload:", 8) == 0) {
            cli_error("%s: profile cannot measure a preload: allocator; give the library "
                      "itself (-a PATH.so)", cli_name(c->spec[i]));
            return EXIT_USAGE;
        }
    return 0;
}

static int load_traces(args_t *x, trace_t *t)
{
    for (int i = 0; i < x->opts.nfiles; i++) {
        trace_init(&t[i]);
        int rc = cli_load_trace(&t[i], x->opts.files[i]);
        if (rc)
            return rc;
        x->opts.traces[i] = &t[i];
    }
    return 0;
}

static int write_report(const args_t *x, const profile_t *p)
{
    if (!x->out) {
        int rc = profile_write(p, x->format, stdout);
        return fflush(stdout) == 0 && rc == 0 ? 0 : -EIO;
    }
    outfile_t af;
    int rc = outfile_open(&af, x->out);
    if (rc)
        return rc;
    rc = profile_write(p, x->format, af.f);
    return rc ? outfile_fail(&af, rc) : outfile_commit(&af);
}

static void defaults(args_t *x)
{
    x->opts.reps = x->reps_given ? x->opts.reps : x->opts.quick ? 3 : 5;
    if (!x->opts.timeout_ms)
        x->opts.timeout_ms = x->opts.quick ? 10000 : 30000;
    if (!x->opts.seed)
        x->opts.seed = 1;
}

static int check_output(const char *out)
{
    int rc = out ? outfile_check(out) : 0;
    if (rc)
        cli_error("%s: %s", cli_name(out), strerror(-rc));
    return rc ? EXIT_USAGE : 0;
}

static bool failed(const fp_result_t *r)
{
    return r->status == FP_CRASHED || r->status == FP_HUNG;
}

/* Exit 1 when any cell crashed or hung: the report is complete, the allocator is not. */
static int any_failed(const profile_t *p)
{
    for (int k = 0; k < p->nallocs; k++) {
        const fp_alloc_report_t *ar = &p->alloc[k];
        for (int w = 0; w < p->nworkloads; w++)
            if (failed(&ar->work[w].r))
                return EXIT_FINDING;
        for (int i = 0; i < p->nsizes; i++)
            if (failed(&ar->size[i]))
                return EXIT_FINDING;
        for (int t = 0; t < FP_THREAD_COUNTS; t++)
            if (failed(&ar->xthread[t].r) || failed(&ar->tput[t].r))
                return EXIT_FINDING;
    }
    return EXIT_CLEAN;
}

int cmd_profile(int argc, char **argv)
{
    static args_t x;
    static alloc_t allocs[CLI_MAX_ALLOCS];
    static trace_t traces[FP_MAX_WORKLOADS];
    static profile_t p;
    struct argp argp = { options, parse_opt, 0,
        "Profile allocators side by side: per-size overhead, fragmentation, retention, "
        "cross-thread blowup and speed, each measurement in its own process.", 0, 0, 0 };
    if (cli_argp_parse(&argp, argc, argv, 0, &x))
        return EXIT_USAGE;
    defaults(&x);
    int n = 0, rc = refuse_preload(&x.allocs);
    if (!rc)
        rc = load_traces(&x, traces);
    if (!rc)
        rc = check_output(x.out);
    if (!rc)
        rc = cli_load_allocs(&x.allocs, allocs, &n);
    if (rc)
        return rc;
    p.opts = x.opts;
    rc = profile_run(&p, allocs, n, isatty(2) ? stderr : NULL);
    if (rc && rc != -EINTR) {
        cli_error("profile: %s", strerror(-rc));
        return EXIT_USAGE;
    }
    int wr = write_report(&x, &p);
    if (wr) {
        cli_error("%s: %s", cli_name(x.out ? x.out : "stdout"), strerror(-wr));
        return EXIT_USAGE;
    }
    return any_failed(&p);
}
