/* The escapers of src/base/escape.h over one UTF-8 walker: each format says how it writes one
 * character (a valid sequence) or one invalid byte, and the walker feeds it. */
#include "src/base/escape.h"

#include <stdbool.h>
#include <string.h>

int utf8_seq(const unsigned char *s, size_t n)
{
    static const struct { unsigned char lo, hi, len, lo2, hi2; } lead[] = {
        { 0xC2, 0xDF, 2, 0x80, 0xBF }, { 0xE0, 0xE0, 3, 0xA0, 0xBF },
        { 0xE1, 0xEC, 3, 0x80, 0xBF }, { 0xED, 0xED, 3, 0x80, 0x9F },
        { 0xEE, 0xEF, 3, 0x80, 0xBF }, { 0xF0, 0xF0, 4, 0x90, 0xBF },
        { 0xF1, 0xF3, 4, 0x80, 0xBF }, { 0xF4, 0xF4, 4, 0x80, 0x8F },
    };
    if (n == 0)
        return -1;
    if (s[0] < 0x80)
        return 1;
    for (size_t i = 0; i < sizeof lead / sizeof lead[0]; i++) {
        if (s[0] < lead[i].lo || s[0] > lead[i].hi)
            continue;
        for (size_t k = 1; k < lead[i].len; k++) {
            if (k >= n)
                return -1;
            unsigned char lo = k == 1 ? lead[i].lo2 : 0x80, hi = k == 1 ? lead[i].hi2 : 0xBF;
            if (s[k] < lo || s[k] > hi)
                return 0;
        }
        return lead[i].len;
    }
    return 0;
}

/* Writes one character: a valid sequence of n bytes, or (n == 0) one invalid byte. */
typedef void emit_fn(FILE *f, const unsigned char *c, size_t n, const char *arg);

static void put_escaped(FILE *f, const char *s, emit_fn *emit, const char *arg)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    while (left) {
        int n = utf8_seq(p, left);
        size_t step = n > 0 ? (size_t)n : 1;
        emit(f, p, n > 0 ? (size_t)n : 0, arg);
        p += step;
        left -= step;
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

void esc_json(FILE *f, const char *s)
{
    fputc('"', f);
    put_escaped(f, s ? s : "", emit_json, NULL);
    fputc('"', f);
}

/* In attributes, line breaks must be references or parsers fold them into spaces. */
void esc_xml_attr(FILE *f, const char *s)
{
    put_escaped(f, s, emit_xml, "attr");
}

void esc_xml_text(FILE *f, const char *s)
{
    put_escaped(f, s, emit_xml, NULL);
}

void esc_text(FILE *f, const char *s, const char *indent)
{
    put_escaped(f, s, emit_text, indent);
}

void esc_md_cell(FILE *f, const char *s)
{
    put_escaped(f, s, emit_md, NULL);
}

/* RFC 4180: a quoted field doubles its quotes and may hold line breaks as they are. */
static void emit_csv(FILE *f, const unsigned char *c, size_t n, const char *arg)
{
    if (n == 0)
        fputs("\xEF\xBF\xBD", f);
    else if (*c == '"')
        fputs("\"\"", f);
    else
        fwrite(c, 1, n, f);
}

void esc_csv(FILE *f, const char *s)
{
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        fputc('"', f);
    put_escaped(f, s, quote ? emit_csv : emit_text, NULL);
    if (quote)
        fputc('"', f);
}
