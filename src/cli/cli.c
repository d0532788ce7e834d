/* Shared CLI pieces (see cli.h). Errors are one line: "allocheck: INPUT: what is wrong".
 * Terms: a "shown name" is a file name or argument as an error line quotes it (cli_name). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/cli/cli.h"
#include "src/engine/engine.h"
#include "src/trace/trace.h"
#include "src/load/worker.h"

/* argp follows each error with a "Try --help" line; our contract is one line per error.
 * While argp parses, stderr goes to a memory stream; if argp exits on an error, the exit
 * handler passes on only the first line. */
static FILE *real_stderr, *capture;
static char *capture_buf;
static size_t capture_len;

static bool is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* Appends s[0..n) to out at o with control bytes escaped (\n, \t, \xNN); out must have
 * room for 4 * n more bytes and a NUL. Returns the new length. */
static size_t escape_into(char *out, size_t o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_control(c))
            out[o++] = (char)c;
        else
            o += (size_t)sprintf(out + o, c == '\n' ? "\\n" : c == '\t' ? "\\t" : "\\x%02x", c);
    }
    out[o] = '\0';
    return o;
}

/* Writes s to f with control bytes escaped, so an argument with a newline stays on one line. */
static void put_escaped(FILE *f, const char *s, size_t n)
{
    char chunk[4 * 64 + 1];
    for (size_t i = 0; i < n; i += 64) {
        size_t k = n - i < 64 ? n - i : 64;
        escape_into(chunk, 0, s + i, k);
        fputs(chunk, f);
    }
}

/* argp's error is "PROG: MESSAGE\nTry `PROG --help' ...": the message may hold newlines of
 * its own (an argument's), so it ends where the "Try" line starts. */
static void print_first_line(const char *buf)
{
    const char *end = strstr(buf, "\nTry `");
    size_t n = end ? (size_t)(end - buf) : strlen(buf);
    while (n && buf[n - 1] == '\n')
        n--;
    if (!n)
        return;
    put_escaped(stderr, buf, n);
    fputc('\n', stderr);
}

static void release_capture(int first_line_only)
{
    if (!capture)
        return;
    fclose(capture);
    capture = NULL;
    stderr = real_stderr;
    if (first_line_only)
        print_first_line(capture_buf);
    else if (capture_len)
        fwrite(capture_buf, 1, capture_len, stderr);
    free(capture_buf);
    capture_buf = NULL;
}

static void release_capture_at_exit(void)
{
    release_capture(1);
}

error_t cli_argp_parse(const struct argp *argp, int argc, char **argv, unsigned flags,
                       void *input)
{
    static int registered;
    if (!registered)
        registered = atexit(release_capture_at_exit) == 0;
    real_stderr = stderr;
    capture = open_memstream(&capture_buf, &capture_len);
    if (capture)
        stderr = capture;
    error_t e = argp_parse(argp, argc, argv, flags, NULL, input);
    release_capture(0);
    /* An error argp returns instead of exiting (ENOMEM, say) leaves the options half read:
     * running on them would ignore some (fuzz without its --out). */
    if (e)
        cli_error("%s: cannot read the command line: %s",
                  strncmp(argv[0], "allocheck ", 10) == 0 ? argv[0] + 10 : argv[0], strerror(e));
    return e;
}

void cli_error(const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fputs("allocheck: ", stderr);
    put_escaped(stderr, line, strlen(line));
    fputc('\n', stderr);
}

/* Moves i forward past UTF-8 continuation bytes, so a cut never splits a character. */
static size_t char_start(const char *s, size_t i)
{
    while ((s[i] & 0xc0) == 0x80)
        i++;
    return i;
}

const char *cli_name(const char *name)
{
    enum { SHOWN_MAX = 160, HEAD = 80, TAIL = SHOWN_MAX - HEAD - 3, SLOTS = 4 };
    static char shown[SLOTS][4 * SHOWN_MAX + 8];
    static unsigned next;
    size_t len = strlen(name);
    bool quote = len == 0;  /* an empty name is still something to point at */
    for (size_t i = 0; i < len && !quote; i++)
        quote = is_control((unsigned char)name[i]);
    if (!quote && len <= SHOWN_MAX)
        return name;
    char *out = shown[next++ % SLOTS];
    size_t o = 0;
    if (quote)
        out[o++] = '\'';
    if (len <= SHOWN_MAX) {
        o = escape_into(out, o, name, len);
    } else {
        /* Both ends say the most about a path: where it is and what it is. */
        size_t head = HEAD, tail = char_start(name, len - TAIL);
        while (head > 0 && (name[head] & 0xc0) == 0x80)
            head--;
        o = escape_into(out, o, name, head);
        o = escape_into(out, o, "...", 3);
        o = escape_into(out, o, name + tail, len - tail);
    }
    if (quote)
        out[o++] = '\'';
    out[o] = '\0';
    return out;
}

void cli_add_alloc(cli_allocs_t *c, const char *arg, struct argp_state *state)
{
    if (c->n == CLI_MAX_ALLOCS)
        argp_error(state, "at most %d allocators per run", CLI_MAX_ALLOCS);
    c->spec[c->n++] = arg;
}

static int load_one(const char *spec, alloc_t *a)
{
    char err[1024] = "";
    int rc = alloc_probe(spec, err, sizeof err);
    if (!rc)
        rc = alloc_load(a, spec, err, sizeof err);
    if (rc) {
        cli_error("%s: %s", cli_name(spec), err);
        return EXIT_USAGE;
    }
    return 0;
}

/* Never dlopen'ed (a library linked -z nodlopen could not be): recorded here, and what it
 * defines learnt from a probe worker that runs with it preloaded (src/load/worker.h). */
static int load_preloaded(const char *spec, alloc_t *a)
{
#ifdef ALLOCHECK_SANITIZED
    /* The sanitizer's interceptors own malloc in every process of this build; a preloaded
     * allocator would never be the one called. */
    (void)a;
    cli_error("%s: preload: cannot work in a sanitized build of allocheck", cli_name(spec));
    return EXIT_USAGE;
#else
    char err[1024] = "";
    int rc = alloc_load(a, spec, err, sizeof err);
    if (!rc)
        rc = worker_probe(a, err, sizeof err);
    if (rc) {
        cli_error("%s: %s", cli_name(spec), err);
        return EXIT_USAGE;
    }
    return 0;
#endif
}

int cli_load_allocs(cli_allocs_t *c, alloc_t *out, int *n)
{
    if (c->n == 0)
        c->spec[c->n++] = "reference";
    for (int i = 0; i < c->n; i++) {
        int preload = strncmp(c->spec[i], "preload:", 8) == 0;
        if (preload ? load_preloaded(c->spec[i], &out[i]) : load_one(c->spec[i], &out[i]))
            return EXIT_USAGE;
    }
    *n = c->n;
    return 0;
}

int cli_load_single(cli_allocs_t *c, alloc_t *out, const char *cmd)
{
    if (c->n > 1) {
        cli_error("%s takes one allocator, got %d", cmd, c->n);
        return EXIT_USAGE;
    }
    int n = 0;
    return cli_load_allocs(c, out, &n);
}

int cli_load_trace(struct trace *t, const char *file)
{
    char why[512];
    if (trace_load(t, file, why, sizeof why) == 0)
        return 0;
    cli_error("%s: %s", cli_name(file), why);
    return EXIT_USAGE;
}

const char *cli_alloc_label(const alloc_t *a)
{
    return a->spec;
}

report_format_t cli_parse_format(const char *arg, unsigned allowed, struct argp_state *state)
{
    int fmt = report_format_parse(arg);
    if (fmt >= 0 && (allowed & (1u << fmt)))
        return (report_format_t)fmt;
    argp_error(state, "--format: unknown format '%s'", arg);
    return FORMAT_HUMAN;
}

unsigned long long cli_parse_ull(const char *opt, const char *arg, struct argp_state *state)
{
    char *end = NULL;
    errno = 0;
    /* strtoull takes leading blanks and a sign (" -1" is ULLONG_MAX): a digit must come first. */
    unsigned long long v = arg[0] >= '0' && arg[0] <= '9' ? strtoull(arg, &end, 0) : 0;
    if (!end || *end)
        argp_error(state, "%s: '%s' is not a non-negative integer", opt, arg);
    if (errno == ERANGE)
        argp_error(state, "%s: '%s' is too large (at most %llu)", opt, arg, ULLONG_MAX);
    return v;
}

unsigned long long cli_parse_range(const char *opt, const char *arg, unsigned long long min,
                                   unsigned long long max, struct argp_state *state)
{
    unsigned long long v = cli_parse_ull(opt, arg, state);
    if (v < min || v > max)
        argp_error(state, "%s: '%s' is not from %llu to %llu", opt, arg, min, max);
    return v;
}

/* The digits of a duration: "30", "1.5", ".5". Returns the length of the number, 0 if none. */
static size_t duration_number(const char *arg)
{
    size_t n = strspn(arg, "0123456789");
    if (arg[n] == '.')
        n += 1 + strspn(arg + n + 1, "0123456789");
    return n > 1 || (n == 1 && arg[0] != '.') ? n : 0;
}

unsigned long long cli_parse_duration_ms(const char *opt, const char *arg, struct argp_state *st)
{
    static const struct { const char *suffix; double ms; } units[] = {
        { "", 1000 }, { "s", 1000 }, { "ms", 1 }, { "m", 60000 }, { "h", 3600000 },
    };
    /* Only plain decimals: strtod alone would take nan, inf, hex floats and 1e300. */
    size_t n = duration_number(arg);
    if (n == 0 || strspn(arg + n, "mshMSH") != strlen(arg + n))
        argp_error(st, "%s: '%s' is not a duration (e.g. 30, 30s, 2m, 500ms)", opt, arg);
    double v = strtod(arg, NULL);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(arg + n, units[i].suffix) != 0)
            continue;
        double ms = v * units[i].ms;
        if (!(ms <= (double)CLI_DURATION_MAX_MS))
            argp_error(st, "%s: '%s' is longer than %llu days", opt, arg,
                       CLI_DURATION_MAX_MS / 86400000ull);
        unsigned long long whole = (unsigned long long)ms;
        return whole + (ms > (double)whole);
    }
    argp_error(st, "%s: '%s' has an unknown unit (use s, m, h or ms)", opt, arg);
    return 0;
}

enum { OPT_CHECK = 0x200, OPT_HANG, OPT_MAX_LIVE, OPT_IGNORE_ERRNO, OPT_SPREAD_THREADS,
       OPT_SCHEDULE, OPT_RESOURCES };

static const struct argp_option checking_options[] = {
    { "check", OPT_CHECK, "LEVEL", 0, "full (default), sampled or none (a benchmark)", 0 },
    { "hang", OPT_HANG, "SECONDS", 0, "An op without progress for this long is a hang "
      "(default 3)", 0 },
    { "max-live", OPT_MAX_LIVE, "BYTES", 0, "Live-bytes budget (default 256 MiB)", 0 },
    { "ignore-errno", OPT_IGNORE_ERRNO, 0, 0, "Do not check errno after failures and frees "
      "(POSIX asks for ENOMEM; several allocators leave errno alone on some paths)", 0 },
    { "spread-threads", OPT_SPREAD_THREADS, 0, 0, "Let `thread T` ops run on any CPU (for "
      "allocators with per-CPU caches; slower handoffs). Default: the harness's threads "
      "share one CPU, since only one runs at a time", 0 },
    { "schedule", OPT_SCHEDULE, "HOW", 0, "How `thread T` ops run: turns (one thread at a "
      "time) or bursts (at once on real CPUs, between barriers; finds races). Default: turns; "
      "fuzz with 2 threads or more runs one sequence in 4 in bursts", 0 },
    { "resources", OPT_RESOURCES, 0, 0, "Resource oracles too: `leak` (the footprint grows "
      "each time a sequence that frees everything runs again) and, in fuzz, the retention "
      "figure. Costs time (docs/FUZZING.md)", 0 },
    { 0 },
};

static error_t parse_checking(int key, char *arg, struct argp_state *state)
{
    cli_checking_t *c = state->input;
    switch (key) {
    case OPT_CHECK:
        if (engine_parse_check(arg, &c->exec->check))
            argp_error(state, "--check: '%s' is not full, sampled or none", arg);
        return 0;
    case OPT_HANG: {
        unsigned long long ms = cli_parse_duration_ms("--hang", arg, state);
        if (ms < 10 || ms > 3600000)
            argp_error(state, "--hang: '%s' is not from 10ms to 1h", arg);
        *c->hang_ms = (unsigned)ms;
        c->exec->fork_wait_ms = (unsigned)ms / 2;   /* a deadlocked fork child: its op's finding */
        return 0;
    }
    case OPT_MAX_LIVE:
        c->exec->max_live = cli_parse_range("--max-live", arg, 0, SIZE_MAX, state);
        return 0;
    case OPT_IGNORE_ERRNO: c->exec->check_errno = false; return 0;
    case OPT_SPREAD_THREADS: c->exec->spread_threads = true; return 0;
    case OPT_SCHEDULE:
        if (strcmp(arg, "bursts") && strcmp(arg, "turns"))
            argp_error(state, "--schedule: '%s' is not bursts or turns", arg);
        c->exec->concurrent = !strcmp(arg, "bursts");
        c->schedule_given = true;
        return 0;
    case OPT_RESOURCES: c->exec->resources = true; return 0;
    default: return ARGP_ERR_UNKNOWN;
    }
}

void cli_checking_init(struct argp_state *state, cli_checking_t *c, exec_opts_t *exec,
                       unsigned *hang_ms)
{
    *c = (cli_checking_t){ exec, hang_ms, false };
    state->child_inputs[0] = c;
}

const struct argp cli_checking_argp = { checking_options, parse_checking, 0, 0, 0, 0, 0 };
const struct argp_child cli_checking_children[] = {
    { &cli_checking_argp, 0, "How traces are checked:", 1 },
    { 0 },
};

error_t cli_parse_trace_job(int key, char *arg, struct argp_state *state)
{
    cli_trace_job_t *x = state->input;
    switch (key) {
    case ARGP_KEY_INIT:
        cli_checking_init(state, &x->checking, &x->exec, &x->hang_ms);
        return 0;
    case 'a': cli_add_alloc(&x->allocs, arg, state); return 0;
    case 'o': x->out = arg; return 0;
    case ARGP_KEY_ARG:
        if (x->file)
            argp_error(state, "one trace file at a time");
        x->file = arg;
        return 0;
    case ARGP_KEY_END:
        if (!x->file)
            argp_error(state, "no trace file given");
        if (!x->out)
            argp_error(state, "-o OUT is required");
        return 0;
    default: return ARGP_ERR_UNKNOWN;
    }
}
