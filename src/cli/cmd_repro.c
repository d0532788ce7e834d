/* allocheck repro: writes a standalone C program (src/engine/repro.h) that replays a trace against
 * the same allocator with the checks inline; it exits 1 while the bug is there. The trace is
 * run once first so the program's header names the finding. Exit 0 when OUT is written, 2 on
 * a usage, input or load error. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "allocheck_config.h"
#include "src/base/outfile.h"
#include "src/cli/cli.h"
#include "src/cli/cmds.h"
#include "src/engine/engine.h"
#include "src/engine/repro.h"
#include "src/trace/trace.h"


static const struct argp_option options[] = {
    CLI_OPTION_ALLOCATOR,
    { "output", 'o', "OUT.c", 0, "Where the C program goes (required; - for stdout)", 0 },
    { 0 },
};

/* OUT is opened before the trace runs, so a bad path is reported first and for itself. */
static int write_program(const cli_trace_job_t *x, const alloc_t *a, const trace_t *t)
{
    outfile_t af;
    int r = outfile_open(&af, x->out);
    if (r) {
        cli_error("%s: %s", cli_name(x->out), strerror(-r));
        return EXIT_USAGE;
    }
    sup_result_t res;
    r = sup_run_trace(a, &x->exec, t, x->hang_ms, &res);
    char ref[4096];
    repro_info_t info = { cli_alloc_label(a), repro_find_ref_so(ref, sizeof ref),
                          ALLOCHECK_VERSION, !r && res.status == 1 ? &res.f : NULL,
                          x->hang_ms };
    int w = repro_write(af.f, a, &x->exec, t, &info);
    if (w == -ENOENT && !af.write_err) {
        outfile_abort(&af);
        cli_error("%s: cannot find liballocheck-ref.so (set ALLOCHECK_REF_SO)",
                  cli_name(x->out));
        return EXIT_USAGE;
    }
    r = w ? outfile_fail(&af, w) : outfile_commit(&af);
    if (r) {
        cli_error("%s: %s", cli_name(x->out), strerror(-r));
        return EXIT_USAGE;
    }
    return EXIT_CLEAN;
}

int cmd_repro(int argc, char **argv)
{
    static cli_trace_job_t x;
    engine_exec_defaults(&x.exec);
    x.hang_ms = 3000;
    struct argp argp = { options, cli_parse_trace_job, "FILE",
        "Write a standalone C program that reproduces a trace's failure "
        "(cc OUT.c -ldl; exit 1 while the bug is there).", cli_checking_children, 0, 0 };
    if (cli_argp_parse(&argp, argc, argv, 0, &x))
        return EXIT_USAGE;
    static alloc_t a;
    int rc = cli_load_single(&x.allocs, &a, "repro");
    if (rc)
        return rc;
    trace_t t;
    trace_init(&t);
    if ((rc = cli_load_trace(&t, x.file)) != 0)
        return rc;
    rc = write_program(&x, &a, &t);
    trace_release(&t);
    return rc;
}
