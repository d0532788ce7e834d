/* allocheck trace: converts a trace between the text form (corpus files, findings) and the
 * binary form fuzzers mutate, in either direction; the input's form is detected. Output goes
 * through atomic.h: a failed conversion never leaves half a file, and a device or FIFO is
 * written in place. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "src/base/outfile.h"
#include "src/cli/cli.h"
#include "src/cli/cmds.h"
#include "src/trace/trace.h"

typedef enum trace_to { TO_NONE, TO_TEXT, TO_BINARY } trace_to_t;

typedef struct trace_args {
    trace_to_t to;
    const char *input;
    const char *output;
} trace_args_t;

enum { OPT_TO_TEXT = 't', OPT_TO_BINARY = 'b' };

static const struct argp_option trace_options[] = {
    { "to-text", OPT_TO_TEXT, NULL, 0, "Write the text form", 0 },
    { "to-binary", OPT_TO_BINARY, NULL, 0, "Write the binary (fuzz input) form", 0 },
    { "output", 'o', "OUT", 0, "Write to OUT instead of stdout ('-' is stdout)", 0 },
    { 0 },
};

static error_t trace_parse_opt(int key, char *arg, struct argp_state *state)
{
    trace_args_t *a = state->input;
    switch (key) {
    case OPT_TO_TEXT:
    case OPT_TO_BINARY:
        if (a->to != TO_NONE)
            argp_error(state, "give one of --to-text and --to-binary");
        a->to = key == OPT_TO_TEXT ? TO_TEXT : TO_BINARY;
        return 0;
    case 'o':
        a->output = arg;
        return 0;
    case ARGP_KEY_ARG:
        if (a->input)
            argp_error(state, "one input FILE only, got '%s' too", arg);
        a->input = arg;
        return 0;
    case ARGP_KEY_END:
        if (!a->input)
            argp_error(state, "no input FILE given");
        if (a->to == TO_NONE)
            argp_error(state, "give --to-text or --to-binary");
        return 0;
    default:
        return ARGP_ERR_UNKNOWN;
    }
}

static const struct argp trace_argp = {
    trace_options, trace_parse_opt, "FILE",
    "Convert a trace between the text and binary forms; the input's form is detected.\v"
    "FILE '-' reads stdin. Exit status: 0 converted, 2 a usage or input error.",
    NULL, NULL, NULL,
};

/* Encodes t in the requested form and writes it atomically. Returns 0 or -errno, with what
 * failed in *what. */
static int write_trace(const trace_t *t, const trace_args_t *a, const char **what)
{
    uint8_t *buf;
    size_t len;
    int rc;
    if (a->to == TO_TEXT) {
        char *text;
        rc = trace_format_text(t, &text, &len);
        buf = (uint8_t *)text;
    } else
        rc = trace_encode_binary(t, &buf, &len);
    if (rc) {
        *what = "cannot encode";
        return rc;
    }
    rc = outfile_write(a->output, buf, len);
    trace_buf_release(buf, len);
    *what = "cannot write";
    return rc;
}

int cmd_trace(int argc, char **argv)
{
    trace_args_t a = { .to = TO_NONE, .input = NULL, .output = "-" };
    if (cli_argp_parse(&trace_argp, argc, argv, 0, &a))
        return EXIT_USAGE;
    trace_t t;
    trace_init(&t);
    int rc = cli_load_trace(&t, a.input);
    if (rc) {
        trace_release(&t);
        return rc;
    }
    const char *what = "";
    rc = write_trace(&t, &a, &what);
    size_t n = t.len;
    trace_release(&t);
    if (rc == -E2BIG) {
        cli_error("%s: %s as binary: %zu ops, the binary form holds at most %d",
                  cli_name(a.input), what, n, TRACE_BIN_MAX_OPS);
        return EXIT_USAGE;
    }
    if (rc) {
        cli_error("%s: %s: %s", cli_name(rc == -ENOMEM ? a.input : a.output), what,
                  strerror(-rc));
        return EXIT_USAGE;
    }
    return EXIT_CLEAN;
}
