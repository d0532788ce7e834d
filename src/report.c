/* Conformance reports (src/report.h). One escaper per format, driven by a shared UTF-8 walker so
 * an allocator's raw last words can never break a parser downstream; then one writer per format.
 * Terms: a "row" is one check across every allocator; a "cell" is one (allocator, check) result.
 * Leaves out: where the output goes (the command opens the stream). */
#include "src/report.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "allocheck_config.h"

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, surrogates or > U+10FFFF),
 * or 0 when the byte at s starts none. */
static size_t utf8_seq(const unsigned char *s)
{
    static const struct { unsigned char lo, hi, len, lo2, hi2; } lead[] = {
        { 0xC2, 0xDF, 2, 0x80, 0xBF }, { 0xE0, 0xE0, 3, 0xA0, 0xBF },
        { 0xE1, 0xEC, 3, 0x80, 0xBF }, { 0xED, 0xED, 3, 0x80, 0x9F },
        { 0xEE, 0xEF, 3, 0x80, 0xBF }, { 0xF0, 0xF0, 4, 0x90, 0xBF },
        { 0xF1, 0xF3, 4, 0x80, 0xBF }, { 0xF4, 0xF4, 4, 0x80, 0x8F },
    };
    if (s[0] < 0x80)
        return 1;
    for (size_t i = 0; i < sizeof lead / sizeof lead[0]; i++) {
        if (s[0] < lead[i].lo || s[0] > lead[i].hi)
            continue;
        if (s[1] < lead[i].lo2 || s[1] > lead[i].hi2)
            return 0;
        for (size_t k = 2; k < lead[i].len; k++)
            if (s[k] < 0x80 || s[k] > 0xBF)
                return 0;
        return lead[i].len;
    }
    return 0;
}

/* Writes one character: a valid sequence of n bytes, or (n == 0) one invalid byte. */
typedef void emit_fn(FILE *f, const unsigned char *c, size_t n, const char *arg);

static void put_escaped(FILE *f, const char *s, emit_fn *emit, const char *arg)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = utf8_seq(p);
        emit(f, p, n, arg);
        p += n ? n : 1;
    }
}

/* JSON (RFC 8259 §7): quote, backslash and controls escaped; invalid bytes become U+FFFD. */
static void emit_json(FILE *f, const unsigned char *c, size_t n, const char *arg)
{
    if (n == 0)
        fputs("\\ufffd", f);
    else if (*c == '"' || *c == '\\')
        fprintf(f, "\\%c", *c);
    else if (*c == '\n')
        fputs("\\n", f);
    else if (*c < 0x20 || *c == 0x7f)
        fprintf(f, "\\u%04x", *c);
    else
        fwrite(c, 1, n, f);
}

/* XML 1.0 §2.2 allows no controls but tab, LF and CR, not even as references: U+FFFD. */
static void emit_xml(FILE *f, const unsigned char *c, size_t n, const char *arg)
{
    static const char *const ent[128] = {
        ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;", ['\''] = "&apos;",
        ['\n'] = "&#10;", ['\t'] = "&#9;", ['\r'] = "&#13;",
    };
    if (n == 0 || ((*c < 0x20 || *c == 0x7f) && !ent[*c]))
        fputs("\xEF\xBF\xBD", f);
    else if (*c < 0x80 && ent[*c] && (*c >= 0x20 || arg))
        fputs(ent[*c], f);
    else
        fwrite(c, 1, n, f);
}

/* Plain text: line breaks continue with the indent in arg (NULL: one line, a space); other
 * controls and invalid bytes are shown as \xNN so a terminal never receives an allocator's
 * escape sequences. */
static void emit_text(FILE *f, const unsigned char *c, size_t n, const char *arg)
{
    if (n == 1 && *c == '\n' && arg)
        fprintf(f, "\n%s", arg);
    else if (n == 1 && *c == '\n')
        fputc(' ', f);
    else if (n == 0 || *c < 0x20 || *c == 0x7f)
        fprintf(f, "\\x%02x", *c);
    else
        fwrite(c, 1, n, f);
}

/* A markdown table cell: pipes escaped, line breaks as <br>, markup characters as entities. */
static void emit_md(FILE *f, const unsigned char *c, size_t n, const char *arg)
{
    if (n == 0)
        fputs("\xEF\xBF\xBD", f);
    else if (*c == '|' || *c == '\\')
        fprintf(f, "\\%c", *c);
    else if (*c == '\n')
        fputs("<br>", f);
    else if (*c == '<')
        fputs("&lt;", f);
    else if (*c < 0x20 || *c == 0x7f)
        fputc(' ', f);
    else
        fwrite(c, 1, n, f);
}

static void put_json(FILE *f, const char *s)
{
    fputc('"', f);
    put_escaped(f, s ? s : "", emit_json, NULL);
    fputc('"', f);
}

void report_json_string(FILE *f, const char *s)
{
    put_json(f, s);
}

/* In attributes, line breaks must be references or parsers fold them into spaces. */
static void put_xml_attr(FILE *f, const char *s)
{
    put_escaped(f, s, emit_xml, "attr");
}

static void put_xml_text(FILE *f, const char *s)
{
    put_escaped(f, s, emit_xml, NULL);
}

static const conform_result_t *cell(const report_t *r, size_t ai, size_t ci)
{
    return &r->results[ai * r->nchecks + ci];
}

size_t report_count(const report_t *r, verdict_t v)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nallocs * r->nchecks; i++)
        n += r->results[i].verdict == v;
    return n;
}

static size_t count_alloc(const report_t *r, size_t ai, verdict_t v)
{
    size_t n = 0;
    for (size_t ci = 0; ci < r->nchecks; ci++)
        n += cell(r, ai, ci)->verdict == v;
    return n;
}

/* ---- one problem per root cause ---- */

static bool is_fn_name(const char *s, size_t n)
{
    for (int f = 0; f < AF_COUNT; f++)
        if (strlen(alloc_fn_names[f]) == n && strncmp(alloc_fn_names[f], s, n) == 0)
            return true;
    return false;
}

/* A failure's shape: its message with every number and address as '#' and every call as
 * "FN(...)", so "malloc(0xffffffffffffffc0) failed with errno 2" and "calloc(SIZE_MAX, 2)
 * failed with errno 0" share one: the same cause seen through several checks. */
static void shape_of(const char *msg, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = msg; *p && o + 3 < len;) {
        size_t n = 0;
        if (*p >= '0' && *p <= '9') {
            n = p[0] == '0' && (p[1] == 'x' || p[1] == 'X') ? 2 : 0;
            while (isxdigit((unsigned char)p[n]) || (n == 0 && isdigit((unsigned char)p[n])))
                n++;
            out[o++] = '#';
        } else if (isalpha((unsigned char)*p) || *p == '_') {
            while (isalnum((unsigned char)p[n]) || p[n] == '_')
                n++;
            bool fn = is_fn_name(p, n);
            if (fn && p[n] == '(') {   /* the arguments say how, not what went wrong */
                const char *close = strchr(p + n, ')');
                n = close ? (size_t)(close - p) + 1 : n;
            }
            const char *put = fn ? (p[n - 1] == ')' ? "FN(...)" : "FN") : p;
            size_t k = fn ? strlen(put) : n;
            k = k < len - o - 1 ? k : len - o - 1;
            memcpy(out + o, put, k);
            o += k;
        } else {
            out[o++] = *p;
            n = 1;
        }
        p += n ? n : 1;
    }
    out[o] = '\0';
}

static bool same_problem(const conform_result_t *a, const conform_result_t *b)
{
    char x[sizeof a->msg], y[sizeof b->msg];
    if (a->verdict != VERDICT_FAIL || b->verdict != VERDICT_FAIL)
        return false;
    shape_of(a->msg, x, sizeof x);
    shape_of(b->msg, y, sizeof y);
    return strcmp(x, y) == 0;
}

/* The first failing check of allocator ai with ci's problem (ci itself when it is first). */
static size_t problem_head(const report_t *r, size_t ai, size_t ci)
{
    for (size_t k = 0; k < ci; k++)
        if (same_problem(cell(r, ai, k), cell(r, ai, ci)))
            return k;
    return ci;
}

/* Distinct problems among allocator ai's failures. */
static size_t count_problems(const report_t *r, size_t ai)
{
    size_t n = 0;
    for (size_t ci = 0; ci < r->nchecks; ci++)
        n += cell(r, ai, ci)->verdict == VERDICT_FAIL && problem_head(r, ai, ci) == ci;
    return n;
}

static const char *label(const report_t *r, size_t ai)
{
    return r->labels && r->labels[ai] ? r->labels[ai] : r->allocs[ai].spec;
}

static int finish(FILE *f)
{
    return fflush(f) || ferror(f) ? -EIO : 0;
}

/* ---- human ---- */

static const struct { const char *tag, *colour; } verdict_style[VERDICT_COUNT] = {
    [VERDICT_PASS] = { "PASS", "\033[32m" }, [VERDICT_FAIL] = { "FAIL", "\033[1;31m" },
    [VERDICT_DIVERGENCE] = { "DIV", "\033[33m" }, [VERDICT_SKIP] = { "skip", "\033[2m" },
    [VERDICT_INFO] = { "info", "\033[36m" },
};

static void put_tag(FILE *f, const report_t *r, verdict_t v, int width)
{
    const char *tag = v < VERDICT_COUNT ? verdict_style[v].tag : "?";
    if (r->colour && v < VERDICT_COUNT)
        fprintf(f, "%s%-*s\033[0m", verdict_style[v].colour, width, tag);
    else
        fprintf(f, "%-*s", width, tag);
}

static void human_functions(FILE *f, const report_t *r)
{
    fputs("Allocators and the functions they provide:\n", f);
    for (size_t ai = 0; ai < r->nallocs; ai++) {
        const alloc_t *a = &r->allocs[ai];
        uint32_t has = alloc_present(a);
        fprintf(f, "  %s", label(r, ai));
        if (a->path[0] && strcmp(a->path, label(r, ai)) != 0)
            fprintf(f, " (%s)", a->path);
        for (int pass = 0; pass < 2; pass++) {
            fputs(pass ? "\n    lacks:" : "\n    has:  ", f);
            int any = 0;
            for (int fn = 0; fn < AF_COUNT; fn++)
                if ((int)!(has & AF_BIT(fn)) == pass && ++any)
                    fprintf(f, " %s", alloc_fn_names[fn]);
            if (!any)
                fputs(" -", f);
        }
        fputc('\n', f);
    }
}

/* The other checks with ci's problem, on one line under it. */
static void human_same(FILE *f, const report_t *r, size_t ai, size_t ci)
{
    size_t n = 0;
    for (size_t k = ci + 1; k < r->nchecks; k++)
        if (same_problem(cell(r, ai, ci), cell(r, ai, k)))
            fprintf(f, "%s%s", n++ ? ", " : "         the same failure in: ", r->checks[k]->id);
    if (n)
        fputc('\n', f);
}

/* One result with its message, indented under the tag; a failure stands for its problem. */
static void human_result(FILE *f, const report_t *r, size_t ai, size_t ci, bool with_alloc)
{
    const check_t *c = r->checks[ci];
    const conform_result_t *res = cell(r, ai, ci);
    if (res->verdict == VERDICT_FAIL && problem_head(r, ai, ci) != ci)
        return;
    fputs("  ", f);
    put_tag(f, r, res->verdict, 5);
    fprintf(f, "%s%s%s  (%s, %s)\n", with_alloc ? label(r, ai) : "", with_alloc ? ": " : "",
            c->id, c->function, c->clause);
    if (res->msg[0]) {
        fputs("         ", f);
        put_escaped(f, res->msg, emit_text, "         ");
        fputc('\n', f);
    }
    if (res->verdict == VERDICT_FAIL)
        human_same(f, r, ai, ci);
}

/* Failures, then divergences, then (with --all) passes and skips of one allocator. */
static void human_results(FILE *f, const report_t *r, size_t ai, bool with_alloc)
{
    static const verdict_t order[] = { VERDICT_FAIL, VERDICT_DIVERGENCE, VERDICT_PASS,
                                       VERDICT_INFO, VERDICT_SKIP };
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        if (k >= 2 && !r->all)
            break;
        for (size_t ci = 0; ci < r->nchecks; ci++)
            if (cell(r, ai, ci)->verdict == order[k])
                human_result(f, r, ai, ci, with_alloc);
    }
}

static void human_counts(FILE *f, const report_t *r, size_t ai)
{
    fprintf(f, "  %s: %zu problem%s in %zu failed checks, %zu diverged, %zu passed, %zu skipped, "
            "%zu reported\n", label(r, ai), count_problems(r, ai),
            count_problems(r, ai) == 1 ? "" : "s", count_alloc(r, ai, VERDICT_FAIL),
            count_alloc(r, ai, VERDICT_DIVERGENCE),
            count_alloc(r, ai, VERDICT_PASS), count_alloc(r, ai, VERDICT_SKIP),
            count_alloc(r, ai, VERDICT_INFO));
}

static int column_width(const report_t *r)
{
    int w = 4;
    for (size_t ai = 0; ai < r->nallocs; ai++) {
        int len = (int)strlen(r->allocs[ai].name[0] ? r->allocs[ai].name : label(r, ai));
        w = len > w ? len : w;
    }
    return w > 20 ? 20 : w;
}

static int id_width(const report_t *r)
{
    int w = 5;
    for (size_t ci = 0; ci < r->nchecks; ci++) {
        int len = (int)strlen(r->checks[ci]->id);
        w = len > w ? len : w;
    }
    return w;
}

static bool row_interesting(const report_t *r, size_t ci)
{
    for (size_t ai = 0; ai < r->nallocs; ai++) {
        verdict_t v = cell(r, ai, ci)->verdict;
        if (v != VERDICT_PASS && v != VERDICT_INFO)
            return true;
    }
    return r->all;
}

/* Side by side: one row per check, one column per allocator. */
static void human_matrix(FILE *f, const report_t *r)
{
    int cw = column_width(r), iw = id_width(r);
    fprintf(f, "\nMatrix (%s):\n  %-*s", r->all ? "every check"
            : "checks some allocator does not pass; --all for every check", iw, "check");
    for (size_t ai = 0; ai < r->nallocs; ai++) {
        const char *name = r->allocs[ai].name[0] ? r->allocs[ai].name : label(r, ai);
        fprintf(f, "  %-*.*s", cw, cw, name);
    }
    fputc('\n', f);
    for (size_t ci = 0; ci < r->nchecks; ci++) {
        if (!row_interesting(r, ci))
            continue;
        fprintf(f, "  %-*s", iw, r->checks[ci]->id);
        for (size_t ai = 0; ai < r->nallocs; ai++) {
            fputs("  ", f);
            put_tag(f, r, cell(r, ai, ci)->verdict, cw);
        }
        fputc('\n', f);
    }
}

static bool any_behaviour(const report_t *r, size_t ci)
{
    for (size_t ai = 0; ai < r->nallocs; ai++)
        if (cell(r, ai, ci)->behaviour[0])
            return true;
    return false;
}

/* Per check, what each allocator does where the standard leaves it a choice. */
static void human_behaviour(FILE *f, const report_t *r)
{
    int cw = column_width(r);
    bool header = false;
    for (size_t ci = 0; ci < r->nchecks; ci++) {
        if (!any_behaviour(r, ci))
            continue;
        if (!header)
            fputs("\nBehaviour profile:\n", f);
        header = true;
        fprintf(f, "  %s\n", r->checks[ci]->id);
        for (size_t ai = 0; ai < r->nallocs; ai++) {
            const char *b = cell(r, ai, ci)->behaviour;
            const char *name = r->allocs[ai].name[0] ? r->allocs[ai].name : label(r, ai);
            fprintf(f, "    %-*.*s  ", cw, cw, name);
            put_escaped(f, b[0] ? b : "-", emit_text, "      ");
            fputc('\n', f);
        }
    }
}

static void human_write(FILE *f, const report_t *r)
{
    fprintf(f, "allocheck %s conformance, profile %s\n\n", ALLOCHECK_VERSION,
            conform_profile_name(r->profile));
    human_functions(f, r);
    if (r->nallocs > 1)
        human_matrix(f, r);
    fputs("\nResults:\n", f);
    if (!r->all && !report_count(r, VERDICT_FAIL) && !report_count(r, VERDICT_DIVERGENCE))
        fputs("  no failures and no divergences (--all lists every result)\n", f);
    for (size_t ai = 0; ai < r->nallocs; ai++)
        human_results(f, r, ai, r->nallocs > 1);
    human_behaviour(f, r);
    fputs("\nSummary:\n", f);
    for (size_t ai = 0; ai < r->nallocs; ai++)
        human_counts(f, r, ai);
}

/* ---- TAP 13 ---- */

/* Descriptions escape '#', which would start a directive (TAP 13 "Directives"). */
static void tap_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '#')
            fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

static void tap_result(FILE *f, const report_t *r, size_t ai, size_t ci, size_t n)
{
    const check_t *c = r->checks[ci];
    const conform_result_t *res = cell(r, ai, ci);
    fprintf(f, "%s %zu - ", res->verdict == VERDICT_FAIL ? "not ok" : "ok", n);
    tap_text(f, label(r, ai));
    fputs(": ", f);
    tap_text(f, c->id);
    if (res->verdict == VERDICT_SKIP) {
        fputs(" # SKIP ", f);
        put_escaped(f, res->msg, emit_text, NULL);
    } else if (res->verdict == VERDICT_DIVERGENCE) {
        fputs(" (divergence)", f);
    } else if (res->verdict == VERDICT_INFO) {
        fputs(" (info)", f);
    }
    fputc('\n', f);
    if (res->verdict != VERDICT_SKIP && res->msg[0]) {
        fputs("#   ", f);
        put_escaped(f, res->msg, emit_text, "#   ");
        fputc('\n', f);
    }
    if (res->behaviour[0]) {
        fputs("#   behaviour: ", f);
        put_escaped(f, res->behaviour, emit_text, "#   ");
        fputc('\n', f);
    }
}

static void tap_write(FILE *f, const report_t *r)
{
    fprintf(f, "TAP version 13\n1..%zu\n# allocheck %s, profile %s\n",
            r->nallocs * r->nchecks, ALLOCHECK_VERSION, conform_profile_name(r->profile));
    size_t n = 0;
    for (size_t ai = 0; ai < r->nallocs; ai++)
        for (size_t ci = 0; ci < r->nchecks; ci++)
            tap_result(f, r, ai, ci, ++n);
}

/* ---- JUnit XML: a testsuite per allocator, a testcase per check ---- */

static void junit_case(FILE *f, const report_t *r, size_t ai, size_t ci)
{
    const check_t *c = r->checks[ci];
    const conform_result_t *res = cell(r, ai, ci);
    fputs("    <testcase classname=\"", f);
    put_xml_attr(f, c->function);
    fputs("\" name=\"", f);
    put_xml_attr(f, c->id);
    fprintf(f, "\" time=\"%.3f\">\n", res->ms / 1000.0);
    if (res->verdict == VERDICT_FAIL || res->verdict == VERDICT_SKIP) {
        const char *el = res->verdict == VERDICT_FAIL ? "failure" : "skipped";
        fprintf(f, "      <%s message=\"", el);
        put_xml_attr(f, res->msg);
        fputs("\">", f);
        put_xml_text(f, c->clause);
        fprintf(f, "</%s>\n", el);
    }
    if (res->verdict == VERDICT_DIVERGENCE || res->behaviour[0]) {
        fputs("      <system-out>", f);
        if (res->verdict == VERDICT_DIVERGENCE) {
            fputs("divergence: ", f);
            put_xml_text(f, res->msg);
            fputc('\n', f);
        }
        if (res->behaviour[0]) {
            fputs("behaviour: ", f);
            put_xml_text(f, res->behaviour);
        }
        fputs("</system-out>\n", f);
    }
    fputs("    </testcase>\n", f);
}

static void junit_write(FILE *f, const report_t *r)
{
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<testsuites name=\"allocheck conform\" tests=\"%zu\" failures=\"%zu\" "
            "skipped=\"%zu\">\n", r->nallocs * r->nchecks, report_count(r, VERDICT_FAIL),
            report_count(r, VERDICT_SKIP));
    for (size_t ai = 0; ai < r->nallocs; ai++) {
        fputs("  <testsuite name=\"", f);
        put_xml_attr(f, label(r, ai));
        fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\">\n",
                r->nchecks, count_alloc(r, ai, VERDICT_FAIL), count_alloc(r, ai, VERDICT_SKIP));
        fprintf(f, "    <properties>\n      <property name=\"profile\" value=\"%s\"/>\n"
                "      <property name=\"path\" value=\"", conform_profile_name(r->profile));
        put_xml_attr(f, r->allocs[ai].path);
        fputs("\"/>\n    </properties>\n", f);
        for (size_t ci = 0; ci < r->nchecks; ci++)
            junit_case(f, r, ai, ci);
        fputs("  </testsuite>\n", f);
    }
    fputs("</testsuites>\n", f);
}

/* ---- JSON ---- */

static void json_allocator(FILE *f, const report_t *r, size_t ai)
{
    const alloc_t *a = &r->allocs[ai];
    uint32_t has = alloc_present(a);
    fputs("    {\"spec\": ", f);
    put_json(f, label(r, ai));
    fputs(", \"name\": ", f);
    put_json(f, a->name);
    fputs(", \"path\": ", f);
    put_json(f, a->path);
    fputs(", \"functions\": [", f);
    const char *sep = "";
    for (int fn = 0; fn < AF_COUNT; fn++) {
        if (has & AF_BIT(fn)) {
            fprintf(f, "%s\"%s\"", sep, alloc_fn_names[fn]);
            sep = ", ";
        }
    }
    fprintf(f, "]}%s\n", ai + 1 < r->nallocs ? "," : "");
}

static void json_result(FILE *f, const report_t *r, size_t ai, size_t ci, bool last)
{
    const check_t *c = r->checks[ci];
    const conform_result_t *res = cell(r, ai, ci);
    const char *const keys[] = { "allocator", "id", "function", "clause", "verdict",
                                 "message", "behaviour" };
    const char *const vals[] = { label(r, ai), c->id, c->function, c->clause,
                                 conform_verdict_name(res->verdict), res->msg, res->behaviour };
    fputs("    {", f);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        fprintf(f, "%s\"%s\": ", k ? ", " : "", keys[k]);
        put_json(f, vals[k]);
    }
    if (res->repeats)
        fprintf(f, ", \"runs\": %u, \"same\": %u", res->repeats + 1, res->same + 1);
    if (res->verdict == VERDICT_FAIL) {
        fputs(", \"problem\": ", f);
        put_json(f, r->checks[problem_head(r, ai, ci)]->id);
    }
    fprintf(f, "}%s\n", last ? "" : ",");
}

static void json_write(FILE *f, const report_t *r)
{
    fprintf(f, "{\"allocheck\": \"%s\", \"profile\": \"%s\",\n  \"allocators\": [\n",
            ALLOCHECK_VERSION, conform_profile_name(r->profile));
    for (size_t ai = 0; ai < r->nallocs; ai++)
        json_allocator(f, r, ai);
    fputs("  ],\n  \"results\": [\n", f);
    for (size_t ai = 0; ai < r->nallocs; ai++)
        for (size_t ci = 0; ci < r->nchecks; ci++)
            json_result(f, r, ai, ci, ai + 1 == r->nallocs && ci + 1 == r->nchecks);
    fputs("  ]\n}\n", f);
}

/* ---- markdown: every row, then failures' messages and the behaviour profile ---- */

static void md_cell(FILE *f, const char *s)
{
    fputs(" ", f);
    put_escaped(f, s[0] ? s : "-", emit_md, NULL);
    fputs(" |", f);
}

static void md_header(FILE *f, const report_t *r, const char *first, int extra)
{
    fprintf(f, "| %s |", first);
    for (int k = 0; k < extra; k++)
        fputs(k ? " clause |" : " function |", f);
    for (size_t ai = 0; ai < r->nallocs; ai++)
        md_cell(f, label(r, ai));
    fputs("\n|", f);
    for (size_t k = 0; k < r->nallocs + 1 + (size_t)extra; k++)
        fputs(" --- |", f);
    fputc('\n', f);
}

static void md_tables(FILE *f, const report_t *r)
{
    md_header(f, r, "function", 0);
    for (int fn = 0; fn < AF_COUNT; fn++) {
        fprintf(f, "| %s |", alloc_fn_names[fn]);
        for (size_t ai = 0; ai < r->nallocs; ai++)
            fputs(alloc_present(&r->allocs[ai]) & AF_BIT(fn) ? " yes |" : " no |", f);
        fputc('\n', f);
    }
    fputs("\n## Results\n\n", f);
    md_header(f, r, "check", 2);
    for (size_t ci = 0; ci < r->nchecks; ci++) {
        fputc('|', f);
        md_cell(f, r->checks[ci]->id);
        md_cell(f, r->checks[ci]->function);
        md_cell(f, r->checks[ci]->clause);
        for (size_t ai = 0; ai < r->nallocs; ai++)
            fprintf(f, " %s |", verdict_style[cell(r, ai, ci)->verdict].tag);
        fputc('\n', f);
    }
}

static void md_notes(FILE *f, const report_t *r)
{
    bool header = false;
    for (size_t ai = 0; ai < r->nallocs; ai++) {
        for (size_t ci = 0; ci < r->nchecks; ci++) {
            const conform_result_t *res = cell(r, ai, ci);
            if (res->verdict != VERDICT_FAIL && res->verdict != VERDICT_DIVERGENCE)
                continue;
            if (!header)
                fputs("\n## Failures and divergences\n\n| allocator | check | verdict | message |\n"
                      "| --- | --- | --- | --- |\n", f);
            header = true;
            fputc('|', f);
            md_cell(f, label(r, ai));
            md_cell(f, r->checks[ci]->id);
            md_cell(f, verdict_style[res->verdict].tag);
            md_cell(f, res->msg);
            fputc('\n', f);
        }
    }
}

static void md_behaviour(FILE *f, const report_t *r)
{
    bool header = false;
    for (size_t ci = 0; ci < r->nchecks; ci++) {
        if (!any_behaviour(r, ci))
            continue;
        if (!header) {
            fputs("\n## Behaviour profile\n\n", f);
            md_header(f, r, "check", 0);
        }
        header = true;
        fputc('|', f);
        md_cell(f, r->checks[ci]->id);
        for (size_t ai = 0; ai < r->nallocs; ai++)
            md_cell(f, cell(r, ai, ci)->behaviour);
        fputc('\n', f);
    }
}

static void md_write(FILE *f, const report_t *r)
{
    fprintf(f, "# allocheck %s conformance (profile %s)\n\n## Functions\n\n", ALLOCHECK_VERSION,
            conform_profile_name(r->profile));
    md_tables(f, r);
    md_notes(f, r);
    md_behaviour(f, r);
}

int report_write(FILE *f, const report_t *r, cli_format_t fmt)
{
    static void (*const writers[])(FILE *, const report_t *) = {
        [FORMAT_HUMAN] = human_write, [FORMAT_TAP] = tap_write, [FORMAT_JUNIT] = junit_write,
        [FORMAT_JSON] = json_write, [FORMAT_MARKDOWN] = md_write,
    };
    if ((size_t)fmt >= sizeof writers / sizeof writers[0] || !writers[fmt])
        return -EINVAL;
    writers[fmt](f, r);
    return finish(f);
}

/* ---- allocheck list ---- */

/* With allocators given, a check that one of them would skip says so: in JSON as
 * "skipped": {"SPEC": "reason"}, absent when every allocator runs it. */
static void list_json(FILE *f, const check_t *const *checks, size_t n, const alloc_t *allocs,
                      size_t nallocs)
{
    fputs("[\n", f);
    for (size_t i = 0; i < n; i++) {
        const check_t *c = checks[i];
        fputs("  {\"id\": ", f);
        put_json(f, c->id);
        fputs(", \"function\": ", f);
        put_json(f, c->function);
        fputs(", \"clause\": ", f);
        put_json(f, c->clause);
        fputs(", \"description\": ", f);
        put_json(f, c->description);
        bool opened = false;
        for (size_t a = 0; a < nallocs; a++) {
            char why[256];
            if (!conform_skip_reason(&allocs[a], c, CONFORM_DEFAULT_PROFILE, why, sizeof why))
                continue;
            fputs(opened ? ", " : ", \"skipped\": {", f);
            put_json(f, allocs[a].spec);
            fputs(": ", f);
            put_json(f, why);
            opened = true;
        }
        fprintf(f, "%s}%s\n", opened ? "}" : "", i + 1 < n ? "," : "");
    }
    fputs("]\n", f);
}

static void list_human(FILE *f, const check_t *const *checks, size_t n, const alloc_t *allocs,
                       size_t nallocs)
{
    int w[3] = { 2, 8, 6 };
    for (size_t i = 0; i < n; i++) {
        const char *col[3] = { checks[i]->id, checks[i]->function, checks[i]->clause };
        for (int k = 0; k < 3; k++)
            w[k] = (int)strlen(col[k]) > w[k] ? (int)strlen(col[k]) : w[k];
    }
    fprintf(f, "%-*s  %-*s  %-*s  %s\n", w[0], "id", w[1], "function", w[2], "clause",
            "description");
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%-*s  %-*s  %-*s  %s\n", w[0], checks[i]->id, w[1], checks[i]->function,
                w[2], checks[i]->clause, checks[i]->description);
        for (size_t a = 0; a < nallocs; a++) {
            char why[256];
            if (conform_skip_reason(&allocs[a], checks[i], CONFORM_DEFAULT_PROFILE, why,
                                    sizeof why))
                fprintf(f, "%-*s  skipped for %s: %s\n", w[0], "", allocs[a].spec, why);
        }
    }
    fprintf(f, "%zu checks\n", n);
}

int report_list(FILE *f, const check_t *const *checks, size_t n, cli_format_t fmt,
                const alloc_t *allocs, size_t nallocs)
{
    if (fmt == FORMAT_JSON)
        list_json(f, checks, n, allocs, nallocs);
    else if (fmt == FORMAT_HUMAN)
        list_human(f, checks, n, allocs, nallocs);
    else
        return -EINVAL;
    return finish(f);
}
