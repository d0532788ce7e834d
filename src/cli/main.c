/* allocheck: tells whether a memory allocator keeps its promises.
 * The entry point only re-executes for plugin loading (src/load/alloc.h), picks the subcommand,
 * and hands it the rest of the command line. For the commands that run allocator code it
 * also owns the children's lifetime (src/base/children.h): it sets up the stop flag first, and
 * afterwards kills what is left and gives an interrupted run its exit status. */
#include <argp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocheck_config.h"
#include "src/load/alloc.h"
#include "src/base/children.h"
#include "src/cli/cli.h"
#include "src/cli/cmds.h"
#include "src/conform/conform.h"
#include "src/engine/engine.h"
#include "src/harden/propsrun.h"
#include "src/load/worker.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *doc;
    bool supervises;          /* runs allocator code in children (see children.h) */
} command_t;

static const command_t commands[] = {
    { "conform", cmd_conform, "run the conformance suite against allocators", true },
    { "fuzz", cmd_fuzz, "fuzz an allocator with random operation sequences", true },
    { "replay", cmd_replay, "replay traces against an allocator, checking every promise", true },
    { "minimize", cmd_minimize, "shrink a failing trace to the fewest operations", true },
    { "repro", cmd_repro, "write a standalone C reproducer for a failing trace", true },
    { "generate", cmd_generate, "write a random workload trace", false },
    { "trace", cmd_trace, "convert traces between text and binary", false },
    { "harden", cmd_harden, "what allocators do with misuse: a matrix per case", true },
    { "list", cmd_list, "list every conformance check", true },
    { "allocators", cmd_allocators, "show where allocators load from and what they provide", true },
};

/* Read by glibc's argp, so they must be visible despite -fvisibility=hidden. */
__attribute__((visibility("default"))) const char *argp_program_version =
    "allocheck " ALLOCHECK_VERSION;
__attribute__((visibility("default"))) const char *argp_program_bug_address =
    ALLOCHECK_BUG_ADDRESS;

/* The command list is printed from commands[] (help_filter), so it is written once. */
static const char doc[] =
    "allocheck -- tells whether a memory allocator keeps its promises.\n\n"
    "Commands:\n"
    "\vRun 'allocheck COMMAND --help' for a command's options. Exit status: 0 clean, "
    "1 a failure or finding, 2 a usage, input or load error, 128+N when signal N (SIGINT, "
    "SIGTERM, SIGHUP) stopped a run that had found nothing.\n\n"
    "Allocator SPECs: reference, system, PATH.so, PATH.so:prefix=P, preload:PATH.so, "
    "jemalloc, mimalloc, tcmalloc, scudo; any with declared limits after a colon: "
    "SPEC:heap=N,min-align=N,max-align=N,no-errno,delayed-reuse,not-thread-safe,"
    "not-fork-safe.";

static char *help_filter(int key, const char *text, void *input)
{
    if (key != ARGP_KEY_HELP_PRE_DOC || !text)
        return (char *)text;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return (char *)text;
    fputs(text, f);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].doc);
    if (fclose(f) != 0)
        return (char *)text;
    return out;
}

static error_t parse_top(int key, char *arg, struct argp_state *state)
{
    if (key == ARGP_KEY_ARG) {
        /* The command is found before argp is called; any word here is not one. */
        argp_error(state, "unknown command '%s'", arg);
    }
    if (key == ARGP_KEY_NO_ARGS)
        argp_error(state, "no command given");
    return ARGP_ERR_UNKNOWN;
}

static const command_t *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* Commands that run allocator code own their children and stop on SIGINT/SIGTERM/SIGHUP at
 * the next look at the flag; the others keep the default (die at once: nothing to save). */
static int supervise(void)
{
    const char *why = NULL, *bad = children_check_env(&why);
    if (bad) {
        cli_error("%s=%s: %s", bad, getenv(bad), why);
        return -1;
    }
    children_init();
    return 0;
}

/* What a preload worker runs, by job kind: the bodies live in the rooms that own them. */
static worker_body_fn *const worker_bodies[] = {
    [WORKER_TRACE] = engine_worker_body,
    [WORKER_FUZZ] = engine_worker_body,
    [WORKER_CHECK] = conform_worker_check,
};
#define WORKER_KINDS (sizeof worker_bodies / sizeof worker_bodies[0])

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], WORKER_ARG) == 0)
        return worker_main(argc, argv, worker_bodies, WORKER_KINDS);   /* src/load/worker.h */
    argp_err_exit_status = EXIT_USAGE;
    alloc_reexec_for_tls(argv);
    if (argc > 1 && strcmp(argv[1], HARDEN_SAMPLE_ARG) == 0)
        return harden_sample_main(argc, argv);   /* one fresh process: src/harden/propsrun.h */

    const command_t *cmd = argc > 1 ? find_command(argv[1]) : NULL;
    if (!cmd) {
        struct argp top = { 0, parse_top, "COMMAND [ARG...]", doc, 0, help_filter, 0 };
        cli_argp_parse(&top, argc, argv, ARGP_IN_ORDER, NULL);
        return EXIT_USAGE;
    }
    /* argp names the program in its messages: make that "allocheck COMMAND". */
    static char prog[64];
    snprintf(prog, sizeof prog, "allocheck %s", cmd->name);
    /* A copy with "allocheck COMMAND" as the program name. */
    static char *sub[4096];
    if (argc > (int)(sizeof sub / sizeof sub[0])) {
        cli_error("too many arguments");
        return EXIT_USAGE;
    }
    sub[0] = prog;
    for (int i = 2; i <= argc; i++)
        sub[i - 1] = argv[i];
    if (cmd->supervises && supervise() != 0)
        return EXIT_USAGE;
    int status = cmd->run(argc - 1, sub);
    if (cmd->supervises) {
        fflush(NULL);
        children_end();
        status = children_exit_status(status);
    }
    return status;
}
