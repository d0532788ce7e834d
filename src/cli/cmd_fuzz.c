/* allocheck fuzz: the built-in engine (src/engine/engine.h) against one allocator. Shows a progress
 * line on a terminal, and for each finding: saves the trace and says so at once, minimizes it
 * with what is left of the time budget, writes the C reproducer beside it, and prints a
 * one-paragraph summary. --time bounds the whole run, wall clock, minimization included;
 * SIGINT/SIGTERM end minimization early with the smallest trace so far. Exit 1 on a finding,
 * 0 if clean, 2 on a usage, load or harness error. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "allocheck_config.h"
#include "src/base/escape.h"
#include "src/base/outfile.h"
#include "src/base/children.h"
#include "src/cli/cli.h"
#include "src/cli/cmds.h"
#include "src/engine/engine.h"
#include "src/engine/minimize.h"
#include "src/engine/repro.h"
#include "src/trace/trace.h"

enum {
    OPT_KEEP_GOING = 0x100, OPT_MAX_OPS, OPT_MINIMIZE_TIME, OPT_WARMUP, OPT_BIG_HEAP,
};

typedef struct args {
    cli_allocs_t allocs;
    engine_opts_t eo;
    cli_checking_t checking;
    const char *out;
    bool threads_given;
    uint64_t minimize_ms;     /* --minimize-time; 0: the default (see minimize_deadline) */
    report_format_t format;   /* human, or json: one summary object on stdout at the end */
} args_t;

/* A distinct finding: the first of its signature gets the files; later ones are counted. */
typedef struct distinct {
    char sig[256];
    char name[256];
    unsigned seen;
    /* a racy finding's rates (0 runs: not racy, or not measured): its trace's, the
     * minimized trace's */
    unsigned hits, runs, min_hits, min_runs;
} distinct_t;

#define MAX_DISTINCT 64

typedef struct state {
    const args_t *args;
    const alloc_t *a;
    bool tty;
    char name[256];           /* NAME of the current finding */
    char path[4096];
    unsigned findings;
    int error;
    engine_progress_t last;   /* the latest progress report, for the closing line */
    distinct_t distinct[MAX_DISTINCT];
    unsigned ndistinct;
} state_t;

static const struct argp_option options[] = {
    CLI_OPTION_ALLOCATOR,
    { "seed", 's', "N", 0, "Seed of every random choice (default 1)", 0 },
    { "time", 't', "SECONDS", 0, "Stop after this long (30, 30s, 2m), wall clock, replaying "
      "and minimizing findings included", 0 },
    { "minimize-time", OPT_MINIMIZE_TIME, "SECONDS", 0, "Longest minimization of one finding "
      "(default a quarter of --time, at least 60 s; never past --time)", 0 },
    { "runs", 'n', "N", 0, "Stop after N sequences", 0 },
    { "threads", 'T', "N", 0, "Threads the generated sequences hand blocks between (1-8; "
      "default 2, 1 for a plugin that is not thread-safe)", 0 },
    { "out", 'o', "DIR", 0, "Where findings go (default ./findings)", 0 },
    { "keep-going", OPT_KEEP_GOING, 0, 0, "Continue after a finding; a repeat of one already "
      "reported (same oracle, function and message up to numbers) is only counted", 0 },
    { "max-ops", OPT_MAX_OPS, "N", 0, "Longest sequence (default 2048 ops)", 0 },
    { "format", 'f', "FMT", 0, "human (default), or json: the closing summary as one JSON "
      "object on stdout (the findings' paragraphs then go to stderr)", 0 },
    { "warmup", OPT_WARMUP, "N", 0, "Run N sequences, each opening with a big heap, before "
      "the others in every fuzzing child (checked too), for bugs that need a warm heap", 0 },
    { "big-heap", OPT_BIG_HEAP, "BYTES", 0, "One sequence in 8 opens with a heap of up to "
      "BYTES of medium blocks (also the warmup's heap; default 64 MiB, at most half of "
      "--max-live)", 0 },
    { 0 },
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
    args_t *x = state->input;
    switch (key) {
    case ARGP_KEY_INIT:
        cli_checking_init(state, &x->checking, &x->eo.exec, &x->eo.hang_ms);
        return 0;
    case 'a': cli_add_alloc(&x->allocs, arg, state); return 0;
    case 's': x->eo.seed = cli_parse_ull("--seed", arg, state); return 0;
    case 't': x->eo.time_ms = cli_parse_duration_ms("--time", arg, state); return 0;
    case 'n': x->eo.runs = cli_parse_ull("--runs", arg, state); return 0;
    case 'T':
        x->eo.gen.threads = (unsigned)cli_parse_range("--threads", arg, 1, OPS_THREADS, state);
        x->threads_given = true;
        return 0;
    case 'o': x->out = arg; return 0;
    case 'f':
        x->format = cli_parse_format(arg, 1u << FORMAT_HUMAN | 1u << FORMAT_JSON, state);
        return 0;
    case OPT_KEEP_GOING: x->eo.keep_going = true; return 0;
    case OPT_MINIMIZE_TIME:
        x->minimize_ms = cli_parse_duration_ms("--minimize-time", arg, state);
        return 0;
    case OPT_MAX_OPS:
        x->eo.gen.max_ops = cli_parse_range("--max-ops", arg, 1, 1000000, state);
        if (x->eo.gen.min_ops > x->eo.gen.max_ops)
            x->eo.gen.min_ops = x->eo.gen.max_ops;
        return 0;
    case OPT_WARMUP:
        x->eo.warmup = cli_parse_range("--warmup", arg, 0, 1000000, state);
        return 0;
    case OPT_BIG_HEAP:
        x->eo.gen.big_heap = cli_parse_range("--big-heap", arg, 1, (uint64_t)1 << 40, state);
        x->eo.gen.big_heap_one_in = 8;
        return 0;
    case ARGP_KEY_ARG: argp_error(state, "unexpected argument '%s'", arg); return 0;
    default: return ARGP_ERR_UNKNOWN;
    }
}

static void show_progress(void *arg, const engine_progress_t *p)
{
    state_t *st = arg;
    st->last = *p;
    if (!st->tty)
        return;
    double s = p->elapsed_ms ? p->elapsed_ms / 1000.0 : 0.001;
    fprintf(stderr, "\r\033[K[fuzz] %.0fs  %llu seqs (%.0f/s)  %.2fM ops (%.0fk ops/s)  "
            "live %zu  findings %u (+%u repeats)", s, (unsigned long long)p->sequences,
            p->sequences / s, p->ops / 1e6, p->ops / s / 1000, p->live_blocks, p->findings,
            p->duplicates);
}

/* "sequence N" or "warmup sequence N" (see ENGINE_WARMUP). */
static const char *seq_label(uint64_t seq, char *buf, size_t len)
{
    snprintf(buf, len, "%ssequence %llu", seq & ENGINE_WARMUP ? "warmup " : "",
             (unsigned long long)(seq & ~ENGINE_WARMUP));
    return buf;
}

/* The comment lines of a saved finding: deterministic (no pointers, no dates). */
static void finding_comment(const state_t *st, const engine_finding_t *f, const finding_t *fd,
                            const char *what, char *buf, size_t len)
{
    char seq[48], warm[48] = "";
    if (st->args->eo.warmup)
        snprintf(warm, sizeof warm, " --warmup %llu", (unsigned long long)st->args->eo.warmup);
    snprintf(buf, len, "# %s: %s at op %zu\n# allocator: %s\n# found by: allocheck fuzz "
             "--seed %llu%s (%s)%s%s\n", what, fd->oracle, fd->op_index,
             cli_alloc_label(st->a), (unsigned long long)st->args->eo.seed, warm,
             seq_label(f->sequence, seq, sizeof seq),
             engine_racy(&f->exec, f->trace)
                 ? "\n# schedule: bursts (replay, minimize and repro need --schedule=bursts)" : "",
             f->reproduced ? "" : "\n# note: did not reproduce from a fresh process");
}

/* Returns whether the file was written (the summary lists only those). */
static bool save(state_t *st, const char *suffix, const trace_t *t, const char *comment)
{
    snprintf(st->path, sizeof st->path, "%s/%s%s", st->args->out, st->name, suffix);
    int r = engine_save_trace(st->path, t, comment);
    if (r) {
        cli_error("%s: %s", cli_name(st->path), strerror(-r));
        st->error = r;
    }
    return r == 0;
}

/* The distinct finding f repeats, or NULL; a new one is recorded (while there is room). */
static distinct_t *repeat_of(state_t *st, const engine_finding_t *f)
{
    char sig[sizeof st->distinct[0].sig];
    engine_finding_signature(&f->res.f, f->trace, sig, sizeof sig);
    for (unsigned i = 0; i < st->ndistinct; i++)
        if (strcmp(st->distinct[i].sig, sig) == 0)
            return &st->distinct[i];
    if (st->ndistinct < MAX_DISTINCT) {
        distinct_t *d = &st->distinct[st->ndistinct++];
        snprintf(d->sig, sizeof d->sig, "%s", sig);
        snprintf(d->name, sizeof d->name, "%s", st->name);
        d->seen = 1;
    }
    return NULL;
}

/* Saves a new finding's trace before anything else; a repeat of one already reported (same
 * signature) is only counted: --keep-going on an allocator with a real bug would otherwise
 * save and minimize that bug hundreds of times a minute. */
static int on_found(void *arg, const engine_finding_t *f)
{
    state_t *st = arg;
    char comment[1024];
    engine_finding_name(f->res.f.oracle, st->a, f->trace, st->name, sizeof st->name);
    distinct_t *d = repeat_of(st, f);
    if (d) {
        d->seen++;
        return 1;
    }
    finding_comment(st, f, &f->res.f, "finding", comment, sizeof comment);
    (void)save(st, ".trace", f->trace, comment);
    return 0;
}

/* After --keep-going: each distinct finding once, with how often it came up. */
static void distinct_summary(const state_t *st)
{
    unsigned total = 0;
    for (unsigned i = 0; i < st->ndistinct; i++)
        total += st->distinct[i].seen;
    printf("%u distinct findings (%u in all) in %s:\n", st->ndistinct, total,
           cli_alloc_label(st->a));
    for (unsigned i = 0; i < st->ndistinct; i++)
        printf("  %5u x %s\n          %s/%s.min.trace\n", st->distinct[i].seen,
               st->distinct[i].sig, st->args->out, st->distinct[i].name);
}

static int write_repro(state_t *st, const exec_opts_t *eo, const trace_t *t, const finding_t *f,
                       const minimize_stats_t *ms)
{
    char ref[4096];
    repro_info_t info = { cli_alloc_label(st->a), repro_find_ref_so(ref, sizeof ref),
                          ALLOCHECK_VERSION, f, st->args->eo.hang_ms, ms->rate_hits,
                          ms->rate_runs };
    snprintf(st->path, sizeof st->path, "%s/%s.c", st->args->out, st->name);
    outfile_t af;
    int r = outfile_open(&af, st->path);
    if (r)
        return r;
    r = repro_write(af.f, st->a, eo, t, &info);
    return r ? outfile_fail(&af, r) : outfile_commit(&af);
}

/* The files of a finding that were written, in FILE_* bits. */
enum { FILE_TRACE = 1, FILE_MIN = 2, FILE_C = 4 };

static void list_files(const state_t *st, unsigned written)
{
    static const char *const suffix[] = { ".trace", ".min.trace", ".c" };
    printf("  files:");
    const char *sep = " ";
    for (unsigned i = 0; i < 3; i++) {
        if (!(written & (1u << i)))
            continue;
        printf("%s%s/%s%s", sep, st->args->out, st->name, suffix[i]);
        sep = ", ";
    }
    printf("%s\n", written ? "" : " none written (see the errors above)");
}

/* Said as soon as a finding's trace is saved: a run killed while minimizing still leaves
 * the finding and this line behind. */
static void announce(const state_t *st, const engine_finding_t *f, uint64_t minimize_ms)
{
    printf("%s%s found in %s after %.2f s: %s\n", st->tty ? "\r\033[K" : "", f->res.f.oracle,
           cli_alloc_label(st->a), f->elapsed_ms / 1000.0, f->res.f.message);
    printf("  saved %s/%s.trace (%zu ops); minimizing for up to %.1f s\n", st->args->out,
           st->name, f->trace->len, minimize_ms / 1000.0);
    fflush(stdout);
}

static void summary(const state_t *st, const engine_finding_t *f, const sup_result_t *min,
                    const minimize_stats_t *ms, unsigned written)
{
    const char *dir = st->args->out, *n = st->name;
    char seq[48];
    printf("%s%s in %s: %s\n", st->tty ? "\r\033[K" : "", min->f.oracle, cli_alloc_label(st->a),
           min->f.message);
    printf("  found after %.2f s in %s of seed %llu; minimized from %zu to %zu "
           "ops in %.1f s%s.\n", f->elapsed_ms / 1000.0, seq_label(f->sequence, seq, sizeof seq),
           (unsigned long long)st->args->eo.seed, ms->before, ms->after, ms->ms / 1000.0,
           !ms->cut_short ? "" : children_stop() ? " (interrupted: the smallest trace so far)"
                                             : " (time budget spent: the smallest trace so far)");
    if (!f->reproduced)
        printf("  warning: it did not reproduce from a fresh process; the trace is the "
               "sequence as the fuzzer ran it.\n");
    if (f->rate_runs)
        printf("  reproduced %u/%u from a fresh process (its threads run at once: it needs an "
               "interleaving)\n", f->rate_hits, f->rate_runs);
    if (ms->rate_lost)
        printf("  the smallest trace the minimizer kept reproduced only %u/%u: the finding's "
               "own trace is kept as the minimized one\n", ms->lost_hits, ms->rate_runs);
    else if (ms->rate_runs)
        printf("  the minimized trace reproduced %u/%u\n", ms->rate_hits, ms->rate_runs);
    if (min->lastwords[0])
        printf("  the allocator's last words (stderr):\n    %.*s\n",
               (int)strcspn(min->lastwords, "\0"), min->lastwords);
    list_files(st, written);
    if (written & FILE_MIN)
        printf("  replay: allocheck replay -a %s%s%s %s/%s.min.trace\n", cli_alloc_label(st->a),
               st->args->eo.exec.resources ? " --resources" : "",
               engine_racy(&f->exec, f->trace) ? " --schedule=bursts" : "", dir, n);
    if (written & FILE_C)
        printf("  reproduce: cc %s/%s.c -ldl -o repro && ./repro\n", dir, n);
    fflush(stdout);
}

/* Writing the minimized trace and the reproducer comes after minimizing, inside --time. */
#define WRITE_MARGIN_MS 500

/* When minimizing must stop: after --minimize-time (default a quarter of --time, at least
 * 60 s), and never past the run's deadline less the time to write the files. */
static uint64_t minimize_deadline(const state_t *st, const engine_finding_t *f)
{
    const args_t *x = st->args;
    uint64_t now = engine_now_ms(), share = x->eo.time_ms / 4;
    uint64_t end = now + (x->minimize_ms ? x->minimize_ms : share > 60000 ? share : 60000);
    if (f->deadline_ms) {
        uint64_t last = f->deadline_ms > now + WRITE_MARGIN_MS ? f->deadline_ms - WRITE_MARGIN_MS
                                                                : now;
        end = last < end ? last : end;
    }
    return end;
}

/* For the JSON summary: the rates of the distinct finding just reported. */
static void note_rates(state_t *st, const engine_finding_t *f, const minimize_stats_t *ms)
{
    for (unsigned i = 0; i < st->ndistinct; i++) {
        distinct_t *d = &st->distinct[i];
        if (strcmp(d->name, st->name) != 0)
            continue;
        d->hits = f->rate_hits;
        d->runs = f->rate_runs;
        d->min_hits = ms->rate_lost ? f->rate_hits : ms->rate_hits;
        d->min_runs = ms->rate_lost ? f->rate_runs : ms->rate_runs;
    }
}

static int on_finding(void *arg, const engine_finding_t *f)
{
    state_t *st = arg;
    char comment[1024];
    st->findings++;
    finding_comment(st, f, &f->res.f, "finding", comment, sizeof comment);
    /* the trace that replays from a fresh process */
    unsigned written = save(st, ".trace", f->trace, comment) ? FILE_TRACE : 0;
    minimize_opts_t mo = { .deadline_ms = minimize_deadline(st, f),
                           .stop = children_stop_flag(), .rate_hits = f->rate_hits,
                           .rate_runs = f->rate_runs };
    uint64_t now = engine_now_ms();
    announce(st, f, mo.deadline_ms > now ? mo.deadline_ms - now : 0);

    trace_t t;
    trace_init(&t);
    sup_result_t min = f->res;
    minimize_stats_t ms = { .before = f->trace->len, .after = f->trace->len };
    int r = trace_copy(&t, f->trace);
    if (!r && f->reproduced)
        r = minimize_finding(st->a, &f->exec, st->args->eo.hang_ms, &t, &min, &mo, &ms);
    if (!r) {
        finding_comment(st, f, &min.f, "minimized finding", comment, sizeof comment);
        written |= save(st, ".min.trace", &t, comment) ? FILE_MIN : 0;
        r = write_repro(st, &f->exec, &t, &min.f, &ms);
        if (r)
            cli_error("%s: %s", cli_name(st->path), strerror(-r));
        written |= r ? 0 : FILE_C;
    } else {
        cli_error("minimizing %s: %s", st->name, strerror(-r));
    }
    summary(st, f, &min, &ms, written);
    note_rates(st, f, &ms);
    trace_release(&t);
    return 0;
}

/* A racy finding's rates: "reproduced" {hits, runs} from a fresh process, and the
 * minimized trace's; nothing for a finding whose threads did not run at once. */
static void json_rates(FILE *f, const distinct_t *d)
{
    if (!d->runs)
        return;
    fprintf(f, ", \"reproduced\": {\"hits\": %u, \"runs\": %u}", d->hits, d->runs);
    if (d->min_runs)
        fprintf(f, ", \"minimized_reproduced\": {\"hits\": %u, \"runs\": %u}", d->min_hits,
                d->min_runs);
}

/* The closing summary as one JSON object: the run, each distinct finding, the retention. */
static void json_summary(FILE *f, const state_t *st, int found)
{
    const engine_progress_t *p = &st->last;
    fputs("{\"allocator\": ", f);
    esc_json(f, cli_alloc_label(st->a));
    fprintf(f, ", \"seed\": %llu, \"elapsed_s\": %.3f, \"sequences\": %llu, \"ops\": %llu, "
            "\"findings\": %d, \"resources\": %s, \"distinct\": [",
            (unsigned long long)st->args->eo.seed, p->elapsed_ms / 1000.0,
            (unsigned long long)p->sequences, (unsigned long long)p->ops, found > 0 ? found : 0,
            st->args->eo.exec.resources ? "true" : "false");
    for (unsigned i = 0; i < st->ndistinct; i++) {
        fputs(i ? ", {\"signature\": " : "{\"signature\": ", f);
        esc_json(f, st->distinct[i].sig);
        fputs(", \"name\": ", f);
        esc_json(f, st->distinct[i].name);
        fprintf(f, ", \"seen\": %u", st->distinct[i].seen);
        json_rates(f, &st->distinct[i]);
        fputc('}', f);
    }
    fputs("], \"retention\": ", f);
    retention_json(f, &p->retention);
    fputs("}\n", f);
    fclose(f);
}

static int make_dir(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return mkdir(buf, 0777) < 0 && errno != EEXIST ? -errno : 0;
}

/* The default schedule with threads: one sequence in this many runs in bursts, the others
 * take turns. Why not all: on 2 loaded CPUs bursts took 1.3x to 2.3x the time of turns, and
 * with one in 4 the seeded races (tests/bugs racy_free, data_race) are still found within
 * 3 s (docs/FUZZING.md, "Cost of threads at once"). */
#define FUZZ_BURSTS_EVERY 4

static int run(args_t *x, const alloc_t *a)
{
    state_t st = { .args = x, .a = a, .tty = isatty(STDERR_FILENO) };
    engine_cb_t cb = { &st, show_progress, on_found, on_finding };
    if (!x->threads_given)
        x->eo.gen.threads = (a->flags & ALLOCHECK_PLUGIN_NOT_THREAD_SAFE) ? 1 : 2;
    if (!x->checking.schedule_given) {
        x->eo.exec.concurrent = x->eo.gen.threads > 1;
        x->eo.bursts_every = FUZZ_BURSTS_EVERY;
    }
    x->eo.gen.present = alloc_present(a);
    x->eo.interrupted = children_stop_flag();   /* SIGINT, SIGTERM, SIGHUP (see main.c) */
    /* Checked before any fuzzing: a finding with nowhere to go is lost. */
    int r = make_dir(x->out);
    if (!r)
        r = outfile_check_dir(x->out);
    if (r) {
        cli_error("%s: %s", cli_name(x->out), strerror(-r));
        return EXIT_USAGE;
    }
    /* JSON: the object alone on stdout; what people read goes to stderr. */
    FILE *json = NULL;
    if (x->format == FORMAT_JSON) {
        fflush(stdout);
        int fd = dup(STDOUT_FILENO);
        json = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!json || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
            cli_error("fuzz: stdout: %s", strerror(errno));
            return EXIT_USAGE;
        }
    }
    r = engine_fuzz(a, &x->eo, &cb);
    if (st.tty)
        fprintf(stderr, "\r\033[K");
    if (r < 0) {
        cli_error("fuzz: %s", strerror(-r));
        return EXIT_USAGE;
    }
    if (st.error)
        return EXIT_USAGE;
    if (r > 0 && x->eo.keep_going)
        distinct_summary(&st);
    if (r == 0)
        printf("no findings in %s: %llu sequences, %llu ops in %.1f s (seed %llu)\n",
               cli_alloc_label(a), (unsigned long long)st.last.sequences,
               (unsigned long long)st.last.ops, st.last.elapsed_ms / 1000.0,
               (unsigned long long)x->eo.seed);
    if (x->eo.exec.resources) {
        char line[256];
        retention_format(&st.last.retention, line, sizeof line);
        printf("%s\n", line);
    }
    if (json)
        json_summary(json, &st, r);
    return r > 0 ? EXIT_FINDING : EXIT_CLEAN;
}

int cmd_fuzz(int argc, char **argv)
{
    static args_t x;
    static alloc_t allocs[CLI_MAX_ALLOCS];
    engine_opts_default(&x.eo);
    x.out = "findings";
    x.format = FORMAT_HUMAN;
    struct argp argp = { options, parse_opt, NULL,
        "Fuzz an allocator with generated operation sequences; every finding is saved, "
        "minimized and turned into a C reproducer.", cli_checking_children, 0, 0 };
    if (cli_argp_parse(&argp, argc, argv, 0, &x))
        return EXIT_USAGE;
    int n = 0;
    if (x.allocs.n > 1) {
        cli_error("fuzz takes one allocator; run it once per -a");
        return EXIT_USAGE;
    }
    int rc = cli_load_allocs(&x.allocs, allocs, &n);
    if (rc)
        return rc;
    return run(&x, &allocs[0]);
}
