/* What every command shares: exit statuses, one-line errors, the -a/--allocator option, the
 * --format option, and loading the allocators a command was given.
 * Only the CLI prints; library modules return negative errnos and fill error buffers. */
#ifndef ALLOCHECK_SRC_CLI_CLI_H
#define ALLOCHECK_SRC_CLI_CLI_H

#include <argp.h>
#include <stdbool.h>
#include <stddef.h>

#include "src/load/alloc.h"
#include "src/exec/exec.h"
#include "src/report/format.h"

enum {
    EXIT_CLEAN = 0,    /* everything passed */
    EXIT_FINDING = 1,  /* a failure or a finding */
    EXIT_USAGE = 2,    /* usage, input or load error */
};

#define CLI_MAX_ALLOCS 16

typedef struct cli_allocs {
    const char *spec[CLI_MAX_ALLOCS];
    int n;
} cli_allocs_t;

#define CLI_ALLOCATOR_DOC \
    "Allocator to test, repeatable: reference (default), system, PATH.so, " \
    "PATH.so:prefix=P, preload:PATH.so; a .so exporting allocheck_plugin is used through it"
#define CLI_OPTION_ALLOCATOR { "allocator", 'a', "SPEC", 0, CLI_ALLOCATOR_DOC, 0 }

/* argp_parse with our error contract: a usage error prints exactly one line and exits 2. An
 * error argp returns (it could not allocate, say) is printed as one line and returned: the
 * caller must then exit 2, never run on what was parsed. */
error_t cli_argp_parse(const struct argp *argp, int argc, char **argv, unsigned flags,
                       void *input);

/* Prints "allocheck: MESSAGE" and a newline to stderr: one line, whatever MESSAGE holds
 * (control bytes are escaped). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A file name or argument as an error line shows it: unchanged when short and printable;
 * quoted when empty, or with control bytes escaped (\n, \t, \xNN) otherwise, and cut in the middle with
 * "..." past 160 bytes, so the reason after it is never lost. The result lives until four
 * more calls. */
const char *cli_name(const char *name);

/* Records one -a argument; argp_error()s (exit 2) past CLI_MAX_ALLOCS. */
void cli_add_alloc(cli_allocs_t *c, const char *arg, struct argp_state *state);

/* Loads every spec in c ("reference" when none was given) into out[0..n-1], probing each in
 * a child first so a crashing plugin is an error, not a dead tool. A preload: spec is never
 * loaded here: a probe worker with it preloaded says what it defines, and runners run it in
 * workers (src/load/worker.h). Returns 0, or prints one line naming the spec and returns
 * EXIT_USAGE. */
int cli_load_allocs(cli_allocs_t *c, alloc_t *out, int *n);

/* For commands that test one allocator: cli_load_allocs, refusing more than one -a.
 * `cmd` names the command in the error. Returns 0 or EXIT_USAGE (after one line). */
int cli_load_single(cli_allocs_t *c, alloc_t *out, const char *cmd);

struct trace;
/* Loads a trace file (text or binary) into t (trace_init'ed), or prints the one-line error
 * naming the file (and line) and returns EXIT_USAGE. */
int cli_load_trace(struct trace *t, const char *file);

/* The name to show for a: the spec as given ("preload:PATH" for a preloaded one). */
const char *cli_alloc_label(const alloc_t *a);

/* The options of every command that runs traces (fuzz, replay, minimize, repro): --check,
 * --hang, --max-live, --ignore-errno, --spread-threads, as an argp child. The parent calls
 * cli_checking_init in ARGP_KEY_INIT. */
typedef struct cli_checking {
    exec_opts_t *exec;
    unsigned *hang_ms;
    bool schedule_given;      /* --schedule was given (fuzz has its own default) */
} cli_checking_t;
/* Points c at where the options go and makes it the child parser's input. */
void cli_checking_init(struct argp_state *state, cli_checking_t *c, exec_opts_t *exec,
                       unsigned *hang_ms);
extern const struct argp cli_checking_argp;
/* The children list a command's struct argp names to get them. */
extern const struct argp_child cli_checking_children[];

/* minimize and repro: one trace file in, one file out (-o, required), -a, and the checking
 * options. cli_parse_trace_job is their argp parser (state->input is a cli_trace_job_t); each
 * command keeps its own option table for its own help text. */
typedef struct cli_trace_job {
    cli_allocs_t allocs;
    exec_opts_t exec;
    unsigned hang_ms;
    cli_checking_t checking;
    const char *file, *out;
} cli_trace_job_t;
error_t cli_parse_trace_job(int key, char *arg, struct argp_state *state);

/* Parses a --format argument; argp_error()s on an unknown one. `allowed` is a bitmask of
 * 1u << report_format_t. */
report_format_t cli_parse_format(const char *arg, unsigned allowed, struct argp_state *state);

/* Parses a non-negative integer option (decimal, 0x hex, 0 octal), refusing signs, blanks
 * and values past ULLONG_MAX; argp_error()s (exit 2) naming the option and the value. */
unsigned long long cli_parse_ull(const char *opt, const char *arg, struct argp_state *state);

/* cli_parse_ull, and the value must be in [min, max]: checked before any caller's cast. */
unsigned long long cli_parse_range(const char *opt, const char *arg, unsigned long long min,
                                   unsigned long long max, struct argp_state *state);

/* The longest duration any option takes: 365 days, in milliseconds. */
#define CLI_DURATION_MAX_MS (365ull * 86400000ull)

/* Parses a duration: "30", "30s", "2m", "1h", "500ms", "1.5m" -> milliseconds, rounded up
 * (so a nonzero duration is never 0). Plain decimals only; at most CLI_DURATION_MAX_MS. */
unsigned long long cli_parse_duration_ms(const char *opt, const char *arg, struct argp_state *st);

#endif
