/* Harden reproducers (src/harden/repro.h): the embedded runtime's head, the generated
 * definitions, the family's body after its include of misuse/cases.h, the runtime's body. */
#include <errno.h>
#include <string.h>

#include "harden_repro_rt_lines.h"
#include "misuse_double_free_lines.h"
#include "misuse_invalid_free_lines.h"
#include "misuse_overflow_lines.h"
#include "misuse_realloc_lines.h"
#include "misuse_sized_lines.h"
#include "misuse_uaf_lines.h"
#include "misuse_usable_lines.h"
#include "src/harden/repro.h"

#define LINES(a) a, sizeof a / sizeof a[0]
static const struct family {
    const char *file;
    const char *const *body;
    size_t n;
} families[] = {
    { "double_free.c", LINES(misuse_double_free_body) },
    { "invalid_free.c", LINES(misuse_invalid_free_body) },
    { "overflow.c", LINES(misuse_overflow_body) },
    { "realloc.c", LINES(misuse_realloc_body) },
    { "sized.c", LINES(misuse_sized_body) },
    { "uaf.c", LINES(misuse_uaf_body) },
    { "usable.c", LINES(misuse_usable_body) },
};

const char *harden_repro_unsupported(const alloc_t *a)
{
    switch (a->kind) {
    case ALLOC_SYSTEM: case ALLOC_NAMES: case ALLOC_PREFIX: return NULL;
    case ALLOC_REFERENCE:
        return "the reference allocator is linked into allocheck: give its shared build "
               "(liballocheck-ref.so) as -a PATH";
    default: return "a reproducer loads only system, PATH.so and PATH.so:prefix=P allocators";
    }
}

static const struct family *family_of(const misuse_t *c)
{
    const char *base = strrchr(c->file, '/');
    base = base ? base + 1 : c->file;
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strcmp(families[i].file, base) == 0)
            return &families[i];
    return NULL;
}

static void put_lines(FILE *f, const char *const *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\n", l[i]);
}

/* A C string literal of s (paths may hold quotes or backslashes). */
static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++)
        fprintf(f, (*s == '"' || *s == '\\') ? "\\%c" : (unsigned char)*s < 0x20 ? "\\%03o"
                                                                            : "%c", *s);
    fputc('"', f);
}

static void put_define(FILE *f, const char *name, const char *value)
{
    fprintf(f, "#define %s ", name);
    put_string(f, value);
    fputc('\n', f);
}

int harden_repro_write(FILE *f, const misuse_t *c, const alloc_t *a, const char *outcome)
{
    const struct family *fam = family_of(c);
    if (!fam)
        return -ENOENT;
    fprintf(f, "/* allocheck harden reproducer: %s on %s (expected: %s).\n"
               " * Build and run: cc -o repro THIS.c -ldl -lpthread && ./repro */\n",
            c->id, a->kind == ALLOC_SYSTEM ? "the C library's allocator" : a->path, outcome);
    put_lines(f, LINES(harden_rt_head));
    put_define(f, "REPRO_LIB", a->kind == ALLOC_SYSTEM ? "" : a->path);
    put_define(f, "REPRO_PREFIX", a->kind == ALLOC_PREFIX ? a->prefix : "");
    put_define(f, "REPRO_CASE", c->id);
    put_define(f, "REPRO_EXPECT", outcome);
    put_lines(f, fam->body, fam->n);
    put_lines(f, LINES(harden_rt_body));
    return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}
