/* Text that came from an allocator (a plugin's name, a check's message, a crashed child's last
 * words) written safely into each output format, and the one UTF-8 validator behind them all.
 * Every writer of every command uses these, so no report can be broken by what it quotes.
 * Leaves out: the formats' structure (src/report/, the commands). */
#ifndef ALLOCHECK_SRC_BASE_ESCAPE_H
#define ALLOCHECK_SRC_BASE_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* Length of the valid UTF-8 sequence (RFC 3629: no overlongs, surrogates or past U+10FFFF)
 * that starts the n bytes at s: 1 to 4, 0 when s[0] starts none, -1 when n cuts it short. */
int utf8_seq(const unsigned char *s, size_t n);

/* A JSON string, quotes included (RFC 8259 §7); NULL is "". Invalid bytes become U+FFFD. */
void esc_json(FILE *f, const char *s);
/* XML 1.0 §2.2 text and attribute values (attributes keep line breaks as references); controls
 * XML cannot carry become U+FFFD. Also right for HTML text and attributes. */
void esc_xml_text(FILE *f, const char *s);
void esc_xml_attr(FILE *f, const char *s);
/* A terminal line: controls and invalid bytes as \xNN; a line break continues after indent
 * (NULL: folded into a space). */
void esc_text(FILE *f, const char *s, const char *indent);
/* A markdown table cell: pipes escaped, line breaks as <br>, '<' as an entity. */
void esc_md_cell(FILE *f, const char *s);
/* A CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
void esc_csv(FILE *f, const char *s);

#endif
