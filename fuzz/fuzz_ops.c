/* The one fuzz target: an input is an op sequence (binary form, or a text trace, see
 * src/trace/trace.h) run by the executor with every shadow oracle against the allocator chosen
 * by ALLOCHECK_ALLOCATOR=SPEC or -allocator=SPEC (default: reference). A broken promise is
 * printed and abort()ed, so libFuzzer, AFL++ and the standalone driver all see a crash. Every
 * op the model has is decoded (src/trace/trace_bin.c); which ones run is decided by what they
 * need of the harness (op_needs, src/trace/trace.c), never by a list here, so a new op reaches
 * the targets with no change to this file. Variants come from -D flags: FUZZ_OPS_THREADS=0
 * drops the ops that need more threads (single-threaded). At run time
 * ALLOCHECK_DROP_OPS=NAME,... drops ops by name (e.g. `fork` under a libFuzzer mode that must
 * not fork), and ALLOCHECK_WARMUP=N runs N of `allocheck fuzz --warmup`'s sequences (big heaps)
 * once before the first input, so every input meets a warm heap. Inputs run under the
 * address-space limit of allocheck fuzz's children (limit_address_space), and an input runs
 * up to its second fork op (see cut_forks). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/children.h"
#include "src/engine/engine.h"
#include "src/load/alloc.h"
#include "src/exec/exec.h"
#include "src/trace/trace.h"

#ifndef FUZZ_OPS_THREADS
#define FUZZ_OPS_THREADS 1
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static alloc_t fuzz_alloc;
static exec_t *fuzz_exec;
static trace_t fuzz_trace;
static uint8_t fuzz_drop[OP_COUNT];   /* 1: the op kind is left out of every input */
static size_t fuzz_cut;               /* ops of this input past its second fork, not run */

static void report(const trace_t *t, const finding_t *f, const char *where)
{
    char text[192] = "end of run";
    if (f->op_index < t->len)
        op_format(&t->ops[f->op_index], text, sizeof text);
    fprintf(stderr, "==allocheck== %s in %s at op %zu%s (%s): %s\n", f->oracle,
            fuzz_alloc.spec, f->op_index, where, text, f->message);
    if (fuzz_cut && f->op_index >= t->len)
        fprintf(stderr, "==allocheck== the input ran up to its second fork op: replay its first "
                "%zu ops\n", t->len);
    abort();
}

/* The ops this build and ALLOCHECK_DROP_OPS leave out; an unknown name is an input error. */
static void choose_ops(void)
{
    unsigned drop = FUZZ_OPS_THREADS ? 0 : OPF_THREADS;
    for (int k = 0; k < OP_COUNT; k++)
        fuzz_drop[k] = (op_needs((op_kind_t)k) & drop) != 0;
    const char *names = getenv("ALLOCHECK_DROP_OPS");
    for (const char *p = names; p && *p;) {
        size_t n = strcspn(p, ",");
        int k = op_from_name(p, n);
        if (k < 0) {
            fprintf(stderr, "fuzz_ops: ALLOCHECK_DROP_OPS: '%.*s' is not an op name\n", (int)n, p);
            exit(2);
        }
        fuzz_drop[k] = 1;
        p += n + (p[n] == ',');
    }
}

/* ALLOCHECK_WARMUP=N: the warmup sequences of allocheck fuzz --seed ALLOCHECK_WARMUP_SEED
 * (default 1), big heaps included, run once with the live budget of allocheck fuzz (256 MiB)
 * on an executor of their own, so the inputs' tighter budget does not shrink them. */
static void warm_up(const exec_opts_t *base)
{
    const char *n = getenv("ALLOCHECK_WARMUP"), *seed = getenv("ALLOCHECK_WARMUP_SEED");
    if (!n || !*n)
        return;
    engine_opts_t o;
    engine_opts_default(&o);
    o.exec = *base;
    o.exec.max_live = (size_t)256 << 20;
    o.seed = seed ? strtoull(seed, NULL, 0) : 1;
    o.gen.threads = FUZZ_OPS_THREADS ? 2 : 1;
    o.gen.present = alloc_present(&fuzz_alloc);
    exec_t *e = exec_new(&fuzz_alloc, &o.exec);
    trace_t t;
    trace_init(&t);
    for (uint64_t w = 0, count = strtoull(n, NULL, 0); e && w < count; w++) {
        finding_t f;
        trace_clear(&t);
        if (engine_gen_sequence(&t, &o, ENGINE_WARMUP | w) == 0 && exec_run(e, &t, &f, NULL) == 1)
            report(&t, &f, " of a warmup sequence");
    }
    trace_release(&t);
    if (e)
        exec_free(e);
}

/* The address-space limit allocheck's fuzzing children run under (VmSize + 1 TiB,
 * src/base/children.c), so a valid size above it (2^41..2^56) is unmeetable here too: the
 * executor runs it whatever the live budget, and an allocator's out-of-memory path (a failed
 * mmap) is reached as the built-in engine reaches it. Without the limit those sizes are only
 * over the budget and skipped. Taken after the allocator is loaded: its own mappings count. */
static void limit_address_space(void)
{
    children_limits_t l;
    children_pick_limits(&l, children_data_headroom(0));
    if (setrlimit(RLIMIT_AS, &l.as) != 0)
        perror("fuzz_ops: setrlimit(RLIMIT_AS)");
}

static const char *allocator_spec(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "-allocator=", 11) == 0)
            return argv[i] + 11;
    const char *env = getenv("ALLOCHECK_ALLOCATOR");
    return env && *env ? env : "reference";
}

/* Loads the allocator once, before AFL++'s fork server starts (its driver calls this
 * first), so every input runs against an already-initialised allocator. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *spec = allocator_spec(*argc, *argv);
    if (strcmp(spec, "reference") != 0 && strcmp(spec, "system") != 0)
        alloc_reexec_for_tls(*argv);   /* jemalloc and scudo need static TLS to dlopen */
    char err[512];
    if (alloc_load(&fuzz_alloc, spec, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_ops: %s: %s\n", spec, err);
        exit(2);
    }
    exec_opts_t o;
    exec_opts_default(&o);
    o.size_dependent_align = true;   /* the same rule as allocheck fuzz (src/engine/engine.c) */
    /* Bound each input's work: checking costs time in proportion to the bytes allocated,
     * and coverage comes from the allocator's paths, not from filling big blocks.
     * ALLOCHECK_MAX_LIVE=BYTES raises it (e.g. to reach mmap-threshold paths). */
    const char *max_live = getenv("ALLOCHECK_MAX_LIVE");
    o.max_live = max_live ? strtoull(max_live, NULL, 0) : 1u << 20;
    /* Blocks above 64 KiB get the sampled check (first and last 64 bytes, a word at every
     * power-of-two offset): filling and verifying them byte by byte was most of an input's
     * time, while allocators keep their metadata, and so their overruns, at block edges.
     * Blocks up to 64 KiB (size classes, where most bugs live) are checked in full.
     * ALLOCHECK_FULL_CHECK_MAX=BYTES moves the limit; 0 checks every byte of every block. */
    const char *full_max = getenv("ALLOCHECK_FULL_CHECK_MAX");
    o.full_check_max = full_max ? strtoull(full_max, NULL, 0) : 64u << 10;
    /* ALLOCHECK_IGNORE_ERRNO=1: like allocheck fuzz --ignore-errno, for allocators that
     * leave errno alone on some failure paths and would stop every campaign there. */
    if (getenv("ALLOCHECK_IGNORE_ERRNO"))
        o.check_errno = false;
    /* ALLOCHECK_SPREAD_THREADS=1: like --spread-threads (see exec_opts_t). */
    if (getenv("ALLOCHECK_SPREAD_THREADS"))
        o.spread_threads = true;
    choose_ops();
    limit_address_space();
    warm_up(&o);
    fuzz_exec = exec_new(&fuzz_alloc, &o);
    if (!fuzz_exec) {
        perror("fuzz_ops: exec_new");
        exit(2);
    }
    trace_init(&fuzz_trace);
    return 0;
}

static void decode(const uint8_t *data, size_t size)
{
    trace_clear(&fuzz_trace);
    char err[128];
    /* Read as `allocheck replay` reads the crash file: a text trace that does not parse is
     * an input error there, so here it runs nothing (never its bytes as binary ops). */
    if (!trace_bytes_are_text(data, size))
        trace_decode_binary(&fuzz_trace, data, size);   /* total: never fails on content */
    else if (trace_parse_text(&fuzz_trace, (const char *)data, size, err, sizeof err) != 0)
        trace_clear(&fuzz_trace);
    size_t k = 0;
    for (size_t i = 0; i < fuzz_trace.len; i++)
        if (!fuzz_drop[fuzz_trace.ops[i].kind])
            fuzz_trace.ops[k++] = fuzz_trace.ops[i];
    fuzz_trace.len = k;
}

/* An input runs up to its second fork op, not past it: a busy fork costs milliseconds (eight
 * children), so fork-heavy inputs, common since fork is one opcode in 16, ran at a few execs
 * a second. Cutting (not skipping later forks) keeps a crash file's replay exact: `allocheck
 * replay` and its C reproducer run the same ops up to the finding's op and stop there. Only
 * a finding at the end of a cut run needs the cut trace (report says so). */
static void cut_forks(trace_t *t)
{
    unsigned forks = 0;
    fuzz_cut = 0;
    for (size_t i = 0; i < t->len; i++)
        if (t->ops[i].kind == OP_FORK && ++forks == 2) {
            fuzz_cut = t->len - i;
            t->len = i;
            return;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_exec)
        LLVMFuzzerInitialize(&(int){ 0 }, &(char **){ NULL });
    decode(data, size);
    cut_forks(&fuzz_trace);
    finding_t f;
    if (exec_run(fuzz_exec, &fuzz_trace, &f, NULL) == 1)
        report(&fuzz_trace, &f, "");
    return 0;
}
