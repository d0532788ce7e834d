/* allocheck replay: runs trace files (text or binary) against an allocator under the
 * supervisor, every promise checked. A violation, a crash or a hang is a finding: it prints
 * the oracle, op index, trace line and message and exits 1. Exit 0 when all run clean,
 * 2 on a usage, input or load error; a stop signal ends the run after the files already
 * reported (see main.c for the status). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "src/base/children.h"
#include "src/cli/cli.h"
#include "src/cli/cmds.h"
#include "src/engine/engine.h"
#include "src/trace/trace.h"

typedef struct args {
    cli_allocs_t allocs;
    exec_opts_t exec;
    unsigned hang_ms;
    cli_checking_t checking;
    char **files;
    int nfiles;
} args_t;

static const struct argp_option options[] = {
    CLI_OPTION_ALLOCATOR,
    { 0 },
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
    args_t *x = state->input;
    switch (key) {
    case ARGP_KEY_INIT:
        cli_checking_init(state, &x->checking, &x->exec, &x->hang_ms);
        return 0;
    case 'a': cli_add_alloc(&x->allocs, arg, state); return 0;
    case ARGP_KEY_ARGS:
        x->files = state->argv + state->next;
        x->nfiles = state->argc - state->next;
        return 0;
    case ARGP_KEY_NO_ARGS: argp_error(state, "no trace file given"); return 0;
    default: return ARGP_ERR_UNKNOWN;
    }
}

static void report(const char *file, const trace_t *t, const sup_result_t *res)
{
    const finding_t *f = &res->f;
    char text[192] = "end of run";
    if (f->op_index < t->len)
        op_format(&t->ops[f->op_index], text, sizeof text);
    printf("%s: %s at op %zu", file, f->oracle, f->op_index);
    if (f->line)
        printf(" (line %u: %s)", f->line, text);
    else
        printf(" (%s)", text);
    printf(": %s\n", f->message);
    if (res->lastwords[0])
        printf("  the allocator's last words (stderr):\n    %s\n", res->lastwords);
}

/* Returns the exit status for one file. */
static int replay_one(const args_t *x, const alloc_t *a, const char *file, trace_t *t)
{
    trace_clear(t);
    int r = cli_load_trace(t, file);
    if (r)
        return r;
    sup_result_t res;
    r = sup_run_trace(a, &x->exec, t, x->hang_ms, &res);
    if (r == -EINTR)
        return EXIT_CLEAN;   /* stopped by a signal: main gives the status */
    if (r) {
        cli_error("%s: %s", cli_name(file), strerror(-r));
        return EXIT_USAGE;
    }
    if (res.status == 1) {
        report(file, t, &res);
        return EXIT_FINDING;
    }
    printf("%s: clean, %zu ops\n", file, t->len);
    return EXIT_CLEAN;
}

int cmd_replay(int argc, char **argv)
{
    static args_t x;
    static alloc_t allocs[CLI_MAX_ALLOCS];
    engine_exec_defaults(&x.exec);
    x.hang_ms = 3000;
    struct argp argp = { options, parse_opt, "FILE...",
        "Replay traces against an allocator with every promise checked; a crash or hang "
        "inside the allocator is reported as a finding.", cli_checking_children, 0, 0 };
    if (cli_argp_parse(&argp, argc, argv, 0, &x))
        return EXIT_USAGE;
    int n = 0, rc = cli_load_allocs(&x.allocs, allocs, &n);
    if (rc)
        return rc;
    trace_t t;
    trace_init(&t);
    int worst = EXIT_CLEAN;
    for (int k = 0; k < n && !children_stop(); k++)
        for (int i = 0; i < x.nfiles && !children_stop(); i++) {
            rc = replay_one(&x, &allocs[k], x.files[i], &t);
            worst = rc > worst ? rc : worst;
        }
    trace_release(&t);
    return worst;
}
