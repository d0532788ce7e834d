/* allocheck minimize: shrinks a failing trace to the fewest ops that still fail with the same
 * oracle (src/minimize.h) and writes it as a text trace. Exit 0 when OUT is written, 1 never,
 * 2 when the trace does not fail, or on a usage, input or load error. */
#include <stdio.h>
#include <string.h>

#include "src/atomic.h"
#include "src/cli.h"
#include "src/cmds.h"
#include "src/engine.h"
#include "src/minimize.h"
#include "src/trace.h"


static const struct argp_option options[] = {
    CLI_OPTION_ALLOCATOR,
    { "output", 'o', "OUT", 0, "Where the minimized trace goes (required; - for stdout)", 0 },
    { 0 },
};

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
    if ((r = minimize_finding(a, &x->exec, x->hang_ms, t, &res, &ms)) != 0) {
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
    fprintf(stderr, "%s: %s at op %zu: %s\nminimized from %zu to %zu ops (%u candidates tried)\n",
            x->file, res.f.oracle, res.f.op_index, res.f.message, ms.before, ms.after, ms.tests);
    return EXIT_CLEAN;
}

int cmd_minimize(int argc, char **argv)
{
    static cli_trace_job_t x;
    engine_exec_defaults(&x.exec);
    x.hang_ms = 3000;
    struct argp argp = { options, cli_parse_trace_job, "FILE",
        "Shrink a failing trace to the fewest ops that fail with the same oracle.",
        cli_checking_children, 0, 0 };
    if (cli_argp_parse(&argp, argc, argv, 0, &x))
        return EXIT_USAGE;
    static alloc_t a;
    /* Checked before the minimizing, which can take a while, finds nowhere to write. */
    int rc = atomic_check(x.out);
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
