/* allocheck generate: writes a random workload trace from the fuzzer's grammar (src/engine/gen.h),
 * text by default or binary; with `replay --check=none` it is also an allocator benchmark.
 * Sizes follow a realistic mix by default (a workload should look like a program's);
 * --max-size (or --sizes=stress) selects the fuzzer's stress mix, as before.
 * Exit 0, or 2 on a usage or output error. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "src/base/outfile.h"
#include "src/cli/cli.h"
#include "src/cli/cmds.h"
#include "src/engine/gen.h"
#include "src/trace/trace.h"

enum { OPT_BINARY = 0x100, OPT_MAX_SIZE, OPT_SIZES };

typedef struct args {
    uint64_t seed, ops, max_size;
    unsigned threads;
    int sizes;          /* gen_sizes_t, or -1: realistic unless --max-size is given */
    bool binary, ops_given;
    const char *out;
    cli_allocs_t allocs;
} args_t;

static const struct argp_option options[] = {
    { "seed", 's', "N", 0, "Seed (default 1)", 0 },
    { "ops", 'n', "N", 0, "Number of ops (default 10000; with --binary 4096, the most the "
      "binary form holds; at most 4194304, the most a trace file may hold)", 0 },
    { "threads", 'T', "N", 0, "Threads the ops are spread over (1-8, default 1)", 0 },
    { "binary", OPT_BINARY, 0, 0, "Write the binary form (what fuzzers mutate)", 0 },
    { "sizes", OPT_SIZES, "MIX", 0, "Size mix: realistic (default: mostly small, a tail of "
      "medium, rare large up to 1 MiB) or stress (the fuzzer's: class edges, powers of two, "
      "mmap thresholds, up to 4 MiB)", 0 },
    { "max-size", OPT_MAX_SIZE, "BYTES", 0, "Largest ordinary request; implies --sizes=stress "
      "unless --sizes is given (requests that must fail are always in)", 0 },
    { "output", 'o', "FILE", 0, "Output file (default - : stdout)", 0 },
    { "allocator", 'a', "SPEC", 0, "Use only the functions this allocator provides (and one "
      "thread if it declares itself not thread-safe); repeatable: what they all provide", 0 },
    { 0 },
};

/* The binary form holds at most TRACE_BIN_MAX_OPS ops (its decoder's bound), so that is
 * --binary's default, and a longer --ops is refused before any work, saying the limit. */
static void binary_ops(args_t *x, struct argp_state *state)
{
    if (!x->binary)
        return;
    if (!x->ops_given)
        x->ops = TRACE_BIN_MAX_OPS;
    else if (x->ops > TRACE_BIN_MAX_OPS)
        argp_error(state, "--ops: %llu is more than the binary form holds (%d ops); leave out "
                   "--binary for longer traces", (unsigned long long)x->ops, TRACE_BIN_MAX_OPS);
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
    args_t *x = state->input;
    switch (key) {
    case 's': x->seed = cli_parse_ull("--seed", arg, state); return 0;
    case 'n':
        /* No more than a trace file may hold, so every workload written replays. */
        x->ops = cli_parse_range("--ops", arg, 0, TRACE_MAX_OPS, state);
        x->ops_given = true;
        return 0;
    case 'T':
        x->threads = (unsigned)cli_parse_range("--threads", arg, 1, OPS_THREADS, state);
        return 0;
    case OPT_BINARY: x->binary = true; return 0;
    case OPT_SIZES:
        if (!strcmp(arg, "realistic"))
            x->sizes = GEN_SIZES_REALISTIC;
        else if (!strcmp(arg, "stress"))
            x->sizes = GEN_SIZES_STRESS;
        else
            argp_error(state, "--sizes: '%s' is not realistic or stress", arg);
        return 0;
    case OPT_MAX_SIZE:
        x->max_size = cli_parse_range("--max-size", arg, 1, SIZE_MAX, state);
        return 0;
    case 'o': x->out = arg; return 0;
    case 'a': cli_add_alloc(&x->allocs, arg, state); return 0;
    case ARGP_KEY_ARG: argp_error(state, "unexpected argument '%s'", arg); return 0;
    case ARGP_KEY_END: binary_ops(x, state); return 0;
    default: return ARGP_ERR_UNKNOWN;
    }
}

/* Writes t to af (opened before the work, so a bad -o is said first) and commits it. */
static int write_out(const args_t *x, const trace_t *t, outfile_t *af)
{
    int r = 0;
    if (x->binary) {
        uint8_t *buf;
        size_t len;
        if ((r = trace_encode_binary(t, &buf, &len)) != 0)
            return outfile_fail(af, r);
        if (fwrite(buf, 1, len, af->f) != len)
            r = -EIO;
        trace_buf_release(buf, len);
    } else if (fflush(af->f) != 0 || (r = trace_write_text(t, af->fd)) != 0) {
        r = r ? r : -EIO;  /* outfile_fail says the write error fflush met */
    }
    return r ? outfile_fail(af, r) : outfile_commit(af);
}

/* A workload for particular allocators: only the functions all of them provide. */
static int fit_allocators(args_t *x, gen_opts_t *o)
{
    static alloc_t allocs[CLI_MAX_ALLOCS];
    int n = 0;
    if (cli_load_allocs(&x->allocs, allocs, &n))
        return EXIT_USAGE;
    o->present = (1u << AF_COUNT) - 1;
    for (int i = 0; i < n; i++) {
        o->present &= alloc_present(&allocs[i]);
        if (allocs[i].flags & ALLOCHECK_PLUGIN_NOT_THREAD_SAFE)
            o->threads = 1;
    }
    return 0;
}

int cmd_generate(int argc, char **argv)
{
    static args_t x = { .seed = 1, .ops = 10000, .threads = 1, .sizes = -1, .out = "-" };
    struct argp argp = { options, parse_opt, NULL,
        "Write a random workload trace (the fuzzer's grammar, all randomness from --seed).",
        0, 0, 0 };
    if (cli_argp_parse(&argp, argc, argv, 0, &x))
        return EXIT_USAGE;
    gen_opts_t o;
    gen_opts_default(&o);
    o.threads = x.threads;
    if (x.sizes < 0)
        x.sizes = x.max_size ? GEN_SIZES_STRESS : GEN_SIZES_REALISTIC;
    o.sizes = (gen_sizes_t)x.sizes;
    if (o.sizes == GEN_SIZES_REALISTIC)
        o.max_size = 1u << 20;
    if (x.max_size)
        o.max_size = x.max_size;
    if (x.allocs.n && fit_allocators(&x, &o))
        return EXIT_USAGE;
    outfile_t af;
    int r = outfile_open(&af, x.out);
    if (r) {
        cli_error("%s: %s", cli_name(x.out), strerror(-r));
        return EXIT_USAGE;
    }
    trace_t t;
    trace_init(&t);
    r = gen_workload(&t, x.seed, x.ops, &o);
    r = r ? outfile_fail(&af, r) : write_out(&x, &t, &af);
    trace_release(&t);
    if (r) {
        cli_error("%s: %s", cli_name(x.out), strerror(-r));
        return EXIT_USAGE;
    }
    return EXIT_CLEAN;
}
