/* allocheck replay: runs trace files (text or binary) against an allocator under the
 * supervisor, every promise checked. A violation, a crash or a hang is a finding: it prints
 * the oracle, op index, trace line and message and exits 1. Exit 0 when all run clean,
 * 2 on a usage, input or load error. */
#include <stdio.h>
#include <string.h>

#include "src/cli.h"
#include "src/cmds.h"
#include "src/engine.h"
#include "src/trace.h"

enum { OPT_CHECK = 0x100, OPT_HANG, OPT_MAX_LIVE, OPT_IGNORE_ERRNO };

typedef struct args {
    cli_allocs_t allocs;
    exec_opts_t exec;
    unsigned hang_ms;
    char **files;
    int nfiles;
} args_t;

static const struct argp_option options[] = {
    CLI_OPTION_ALLOCATOR,
    { "check", OPT_CHECK, "LEVEL", 0, "full (default), sampled or none (a benchmark)", 0 },
    { "hang", OPT_HANG, "SECONDS", 0, "An op without progress for this long is a hang "
      "(default 3)", 0 },
    { "max-live", OPT_MAX_LIVE, "BYTES", 0, "Live-bytes budget (default 256 MiB)", 0 },
    { "ignore-errno", OPT_IGNORE_ERRNO, 0, 0, "Do not check errno after failures and frees "
      "(POSIX asks for ENOMEM; several allocators leave errno alone on some paths)", 0 },
    { 0 },
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
    args_t *x = state->input;
    switch (key) {
    case 'a': cli_add_alloc(&x->allocs, arg, state); return 0;
    case OPT_CHECK:
        if (engine_parse_check(arg, &x->exec.check))
            argp_error(state, "--check: '%s' is not full, sampled or none", arg);
        return 0;
    case OPT_HANG: {
        unsigned long long ms = cli_parse_duration_ms("--hang", arg, state);
        if (ms < 10 || ms > 3600000)
            argp_error(state, "--hang: '%s' is out of range", arg);
        x->hang_ms = (unsigned)ms;
        return 0;
    }
    case OPT_IGNORE_ERRNO: x->exec.check_errno = false; return 0;
    case OPT_MAX_LIVE: x->exec.max_live = cli_parse_ull("--max-live", arg, state); return 0;
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
    if (r) {
        cli_error("%s: %s", file, strerror(-r));
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
        "inside the allocator is reported as a finding.", 0, 0, 0 };
    cli_argp_parse(&argp, argc, argv, 0, &x);
    int n = 0, rc = cli_load_allocs(&x.allocs, allocs, &n);
    if (rc)
        return rc;
    trace_t t;
    trace_init(&t);
    int worst = EXIT_CLEAN;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < x.nfiles; i++) {
            rc = replay_one(&x, &allocs[k], x.files[i], &t);
            worst = rc > worst ? rc : worst;
        }
    trace_release(&t);
    return worst;
}
