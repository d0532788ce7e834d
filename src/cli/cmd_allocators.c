/* allocheck allocators: where each allocator was loaded from and which of the 14 functions it
 * provides, as text or JSON. The quickest way to see that a SPEC means what you think. */
#include <stdio.h>
#include <string.h>

#include "src/base/escape.h"
#include "src/cli/cli.h"
#include "src/cli/cmds.h"

typedef struct args {
    cli_allocs_t allocs;
    report_format_t format;
} args_t;

static const char *const kind_names[] = {
    [ALLOC_REFERENCE] = "reference", [ALLOC_SYSTEM] = "system", [ALLOC_NAMES] = "names",
    [ALLOC_PREFIX] = "prefix", [ALLOC_DESCRIPTOR] = "descriptor", [ALLOC_PRELOAD] = "preload",
};

static void print_human(const alloc_t *a)
{
    uint32_t present = alloc_present(a);
    printf("%s\n  name:      %s\n  kind:      %s\n  loaded:    %s\n", a->spec, a->name,
           kind_names[a->kind], a->path);
    if (a->prefix[0])
        printf("  prefix:    %s\n", a->prefix);
    char decl[512];
    alloc_declarations(a, decl, sizeof decl);
    printf("  declares:  %s\n", decl[0] ? decl : "nothing (the standards' defaults)");
    printf("  functions: %d of %d\n", __builtin_popcount(present), AF_COUNT);
    for (int f = 0; f < AF_COUNT; f++)
        printf("    %-20s %s\n", alloc_fn_names[f],
               present & AF_BIT(f) ? (a->symbol[f] ? a->symbol[f] : "yes") : "-");
}

static void print_json(const alloc_t *a, int last)
{
    uint32_t present = alloc_present(a);
    printf("    {\"spec\": ");
    esc_json(stdout, a->spec);
    printf(", \"name\": ");
    esc_json(stdout, a->name);
    printf(", \"kind\": \"%s\", \"path\": ", kind_names[a->kind]);
    esc_json(stdout, a->path);
    char decl[512];
    alloc_declarations(a, decl, sizeof decl);
    printf(", \"min_alignment\": %zu, \"max_alignment\": %zu, \"heap_size\": %zu, "
           "\"flags\": %u, \"declarations\": ", a->min_alignment, a->max_alignment,
           a->heap_size, a->flags);
    esc_json(stdout, decl);
    printf(",\n     \"functions\": {");
    for (int f = 0; f < AF_COUNT; f++) {
        printf("%s\"%s\": ", f ? ", " : "", alloc_fn_names[f]);
        if (present & AF_BIT(f))
            esc_json(stdout, a->symbol[f] ? a->symbol[f] : alloc_fn_names[f]);
        else
            printf("null");
    }
    printf("}}%s\n", last ? "" : ",");
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
    args_t *args = state->input;
    switch (key) {
    case 'a': cli_add_alloc(&args->allocs, arg, state); return 0;
    case 'f':
        args->format = cli_parse_format(arg, 1u << FORMAT_HUMAN | 1u << FORMAT_JSON, state);
        return 0;
    case ARGP_KEY_ARG: argp_error(state, "unexpected argument '%s'", arg); return 0;
    default: return ARGP_ERR_UNKNOWN;
    }
}

int cmd_allocators(int argc, char **argv)
{
    static const struct argp_option options[] = {
        CLI_OPTION_ALLOCATOR,
        { "format", 'f', "FORMAT", 0, "Output format: human (default) or json", 0 },
        { 0 },
    };
    static const struct argp argp = { options, parse_opt, "",
        "Show where each allocator loads from and which of the 14 functions it provides.", 0, 0, 0 };
    args_t args = { .format = FORMAT_HUMAN };
    if (cli_argp_parse(&argp, argc, argv, 0, &args))
        return EXIT_USAGE;
    static alloc_t allocs[CLI_MAX_ALLOCS];
    int n = 0;
    if (cli_load_allocs(&args.allocs, allocs, &n))
        return EXIT_USAGE;
    if (args.format == FORMAT_JSON)
        printf("{\"allocators\": [\n");
    for (int i = 0; i < n; i++) {
        if (args.format == FORMAT_JSON)
            print_json(&allocs[i], i == n - 1);
        else
            print_human(&allocs[i]);
    }
    if (args.format == FORMAT_JSON)
        printf("]}\n");
    return fflush(stdout) == 0 ? EXIT_CLEAN : EXIT_USAGE;
}
