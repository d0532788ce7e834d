/* allocheck minimize: shrinks a failing trace to the fewest ops that still fail with the same
 * oracle and signature (src/engine/minimize.h) and writes it as a text trace. --time bounds it; at
 * the bound, or on SIGINT/SIGTERM, the smallest trace found so far is written. Exit 0 when
 * OUT is written, 1 never, 2 when the trace does not fail, or on a usage, input or load
 * error. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "src/base/outfile.h"
#include "src/base/children.h"
#include "src/cli/cli.h"
#include "src/cli/cmds.h"
#include "src/engine/engine.h"
#include "src/engine/minimize.h"
#include "src/trace/trace.h"


enum { OPT_TIME = 0x100 };

static const struct argp_option options[] = {
    CLI_OPTION_ALLOCATOR,
    { "output", 'o', "OUT", 0, "Where the minimized trace goes (required; - for stdout)", 0 },
    { "time", OPT_TIME, "SECONDS", 0, "Stop minimizing after this long (30, 30s, 2m) and "
      "write the smallest trace found so far (default: no bound)", 0 },
    { 0 },
};

static uint64_t time_ms;
static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
    if (key == OPT_TIME) {
        time_ms = cli_parse_duration_ms("--time", arg, state);
        return 0;
    }
    return cli_parse_trace_job(key, arg, state);
}

static int minimize_file(const cli_trace_job_t *x, const alloc_t *a, trace_t *t)
{
    sup_result_t res;
    int r = sup_run_trace(a, &x->exec, t, x->hang_ms, &res);
    if (r) {
        cli_error("%s: %s", cli_name(x->file), strerror(-r));
        return EXIT_USAGE;
    }
    if (res.status != 1) {
        cli_error("%s: runs clean against %s; nothing to minimize", cli_name(x->file),
                  cli_alloc_label(a));
        return EXIT_USAGE;
    }
    minimize_stats_t ms;
    minimize_opts_t mo = { .deadline_ms = time_ms ? engine_now_ms() + time_ms : 0,
                           .stop = children_stop_flag() };
    if ((r = minimize_finding(a, &x->exec, x->hang_ms, t, &res, &mo, &ms)) != 0) {
        cli_error("%s: minimizing: %s", cli_name(x->file), strerror(-r));
        return EXIT_USAGE;
    }
    char comment[768];
    snprintf(comment, sizeof comment, "# minimized finding: %s at op %zu\n# allocator: %s\n",
             res.f.oracle, res.f.op_index, cli_alloc_label(a));
    if ((r = engine_save_trace(x->out, t, comment)) != 0) {
        cli_error("%s: %s", cli_name(x->out), strerror(-r));
        return EXIT_USAGE;
    }
    fprintf(stderr, "%s: %s at op %zu: %s\nminimized from %zu to %zu ops (%u candidates tried) "
            "in %.1f s%s\n", x->file, res.f.oracle, res.f.op_index, res.f.message, ms.before,
            ms.after, ms.tests, ms.ms / 1000.0,
            ms.cut_short ? children_stop() ? "; interrupted, the smallest so far" :
                                         "; --time ran out, the smallest so far" : "");
    return EXIT_CLEAN;
}

int cmd_minimize(int argc, char **argv)
{
    static cli_trace_job_t x;
    engine_exec_defaults(&x.exec);
    x.hang_ms = 3000;
    struct argp argp = { options, parse_opt, "FILE",
        "Shrink a failing trace to the fewest ops that fail with the same oracle.",
        cli_checking_children, 0, 0 };
    if (cli_argp_parse(&argp, argc, argv, 0, &x))
        return EXIT_USAGE;
    static alloc_t a;
    /* Checked before the minimizing, which can take a while, finds nowhere to write. */
    int rc = outfile_check(x.out);
    if (rc) {
        cli_error("%s: %s", cli_name(x.out), strerror(-rc));
        return EXIT_USAGE;
    }
    if ((rc = cli_load_single(&x.allocs, &a, "minimize")) != 0)
        return rc;
    trace_t t;
    trace_init(&t);
    if ((rc = cli_load_trace(&t, x.file)) != 0)
        return rc;
    rc = minimize_file(&x, &a, &t);
    trace_release(&t);
    return rc;
}
