/* The C reproducer writer (see repro.h). The program is a fixed runtime (src/engine/repro_rt.c,
 * embedded at build time as the lines before and after its stand-in header) around the
 * generated part: how to load the allocator, the options as the executor applies them, and
 * the ops as a table whose entries carry their trace text, so a failure names the op as the
 * trace does. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "allocheck_config.h"
#include "repro_rt_lines.h"
#include "src/engine/repro.h"
#include "src/footprint/leak.h"
#include "src/trace/trace.h"

static int put_lines(FILE *out, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fputs(lines[i], out) < 0 || fputc('\n', out) < 0)
            return -EIO;
    return 0;
}

/* Writes s as a C string literal. */
static void put_cstr(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        if ((unsigned char)*s < 0x20)
            fprintf(out, "\\%03o", (unsigned char)*s);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

/* Strips a comment's terminator so a message cannot end the stamp comment early. */
static void put_comment_text(FILE *out, const char *s)
{
    for (; *s; s++)
        fputc(s[0] == '*' && s[1] == '/' ? '+' : (*s == '\n' ? ' ' : *s), out);
}

static void put_stamp(FILE *out, const alloc_t *a, const trace_t *t, const repro_info_t *info)
{
    struct utsname u;
    char date[64] = "?";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &tm);
    if (uname(&u) != 0)
        memset(&u, 0, sizeof u);
    fputs("/* allocheck reproducer: ", out);
    if (info->f) {
        put_comment_text(out, info->f->oracle);
        fputs(" at op ", out);
        fprintf(out, "%zu: ", info->f->op_index);
        put_comment_text(out, info->f->message);
    } else {
        fputs("runs a trace with every check", out);
    }
    fputs("\n * allocator: ", out);
    put_comment_text(out, info->label);
    if (a->path[0]) {
        fputs(" (", out);
        put_comment_text(out, a->path);
        fputs(")", out);
    }
    fprintf(out, "\n * platform: %s %s %s %s\n * date: %s\n * allocheck: %s\n", u.sysname,
            u.release, u.version, u.machine, date, info->version);
    fprintf(out, " * ops: %zu\n * build and run: cc repro.c -ldl -o repro && ./repro\n"
                 " * exits 1 while the bug is there, 0 once it is fixed; the allocator is\n"
                 " * loaded from the path below, or from $ALLOCHECK_REPRO_LIB when set. */\n",
            t->len);
}

/* The allocator's file as an absolute path, so the program runs from any directory. */
static int absolute(const char *lib, char *buf, size_t len)
{
    char real[PATH_MAX];
    if (!lib[0] || !realpath(lib, real))
        return snprintf(buf, len, "%s", lib) < (int)len ? 0 : -ENAMETOOLONG;
    return snprintf(buf, len, "%s", real) < (int)len ? 0 : -ENAMETOOLONG;
}

static int put_loader(FILE *out, const alloc_t *a, const repro_info_t *info)
{
    static const char *const modes[] = { "MODE_LIBC", "MODE_NAMES", "MODE_DESCRIPTOR",
                                         "MODE_PRELOAD" };
    int mode = 1;
    const char *lib = a->path;
    if (strncmp(info->label, "preload:", 8) == 0) {
        mode = 3;
        lib = a->kind == ALLOC_PRELOAD ? a->path : info->label + 8;   /* resolved, absolute */
    } else if (a->kind == ALLOC_SYSTEM) {
        mode = 0;
        lib = "";
    } else if (a->kind == ALLOC_DESCRIPTOR) {
        mode = 2;
    } else if (a->kind == ALLOC_REFERENCE) {
        if (!info->ref_so)
            return -ENOENT;
        lib = info->ref_so;
    }
    char path[PATH_MAX];
    int r = absolute(lib, path, sizeof path);
    if (r)
        return r;
    fprintf(out, "static const int MODE = %s;\nstatic const char LIB[] = ", modes[mode]);
    put_cstr(out, path);
    fputs(";\nstatic const char *const SYM[F_COUNT] = {\n", out);
    for (int f = 0; f < AF_COUNT; f++) {
        const char *sym = a->symbol[f];
        if (alloc_has(a, (alloc_fn_t)f) && (a->kind == ALLOC_REFERENCE || mode == 3 || !sym))
            sym = alloc_fn_names[f];
        fputs("    ", out);
        if (sym && alloc_has(a, (alloc_fn_t)f))
            put_cstr(out, sym);
        else
            fputs("0", out);
        fputs(",\n", out);
    }
    fputs("};\n", out);
    return 0;
}

/* The options as exec_new applies them: a plugin's declared alignment wins, a declared
 * no-errno turns the errno checks off; the other declarations the runtime judges by. */
static void put_options(FILE *out, const alloc_t *a, const exec_opts_t *eo,
                        const repro_info_t *info)
{
    static const char *const checks[] = { "CHECK_FULL", "CHECK_SAMPLED", "CHECK_NONE" };
    size_t align = a->min_alignment ? a->min_alignment : eo->malloc_align ? eo->malloc_align : 16;
    size_t max_live = eo->max_live ? eo->max_live : (size_t)256 << 20;
    fprintf(out, "static const uint64_t SEED = 0x%llxull;\n", (unsigned long long)eo->seed);
    fprintf(out, "static const int CHECK = %s, CHECK_ERRNO = %d, SIZE_DEPENDENT_ALIGN = %d, "
                 "FIXED_HEAP = %d,\n                 DELAYED_REUSE = %d;\n", checks[eo->check],
            eo->check_errno && !(a->flags & ALLOCHECK_PLUGIN_NO_ERRNO), eo->size_dependent_align,
            (a->flags & ALLOCHECK_PLUGIN_FIXED_HEAP) != 0,
            (a->flags & ALLOCHECK_PLUGIN_DELAYED_REUSE) != 0);
    fprintf(out, "static const size_t HEAP_SIZE = %zu, MAX_ALIGN = %zu;\n", a->heap_size,
            a->max_alignment);
    fprintf(out, "static const size_t MALLOC_ALIGN = %zu, MAX_LIVE = %zu, FULL_CHECK_MAX = %zu;\n",
            align, max_live, eo->full_check_max);
    fprintf(out, "static const unsigned HANG_MS = %u;\n", info->hang_ms ? info->hang_ms : 3000);
    fprintf(out, "static const int LEAK_CHECK = %d;\n",
            eo->resources && (!info->f || strcmp(info->f->oracle, ORACLE_LEAK) == 0));
}

static const char *const kind_names[OP_COUNT] = {
    "K_MALLOC", "K_CALLOC", "K_REALLOC", "K_REALLOCARRAY", "K_ALIGNED_ALLOC",
    "K_POSIX_MEMALIGN", "K_MEMALIGN", "K_VALLOC", "K_PVALLOC", "K_FREE", "K_FREE_SIZED",
    "K_FREE_ALIGNED_SIZED", "K_USABLE", "K_CHECK", "K_THREAD",
};

static void put_ops(FILE *out, const trace_t *t)
{
    fputs("static const struct op OPS[] = {\n", out);
    for (size_t i = 0; i < t->len; i++) {
        const op_t *op = &t->ops[i];
        char text[192];
        op_format(op, text, sizeof text);
        fprintf(out, "    { %s, %u, %lluu, %lluu, %lluu, ", kind_names[op->kind], op->slot,
                (unsigned long long)op->nmemb, (unsigned long long)op->size,
                (unsigned long long)op->align);
        put_cstr(out, text);
        fputs(" },\n", out);
    }
    if (t->len == 0)
        fputs("    { K_CHECK, 0, 0, 0, 0, \"check\" },\n", out);
    fputs("};\n", out);
}

int repro_write(FILE *out, const alloc_t *a, const exec_opts_t *eo, const trace_t *t,
                const repro_info_t *info)
{
    put_stamp(out, a, t, info);
    int r = put_lines(out, repro_rt_head, sizeof repro_rt_head / sizeof repro_rt_head[0]);
    if (r)
        return r;
    fputs("/* ---- generated by allocheck: the allocator, the options, the ops ---- */\n", out);
    if ((r = put_loader(out, a, info)) != 0)
        return r;
    put_options(out, a, eo, info);
    put_ops(out, t);
    fputs("/* ---- end of the generated part ---- */\n", out);
    r = put_lines(out, repro_rt_body, sizeof repro_rt_body / sizeof repro_rt_body[0]);
    return r ? r : (ferror(out) ? -EIO : 0);
}

const char *repro_find_ref_so(char *buf, size_t len)
{
    static const char *const rel[] = {
        "refalloc/liballocheck-ref.so",            /* build tree: src/allocheck */
        ALLOCHECK_LIBDIR_FROM_BINDIR "/liballocheck-ref.so", /* installed: -Dlibdir */
        "../lib64/liballocheck-ref.so",
        "../lib/liballocheck-ref.so",
    };
    const char *env = getenv("ALLOCHECK_REF_SO");
    if (env && access(env, R_OK) == 0)
        return snprintf(buf, len, "%s", env) < (int)len ? buf : NULL;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char cand[PATH_MAX + 64];
        snprintf(cand, sizeof cand, "%s/%s", exe, rel[i]);
        if (access(cand, R_OK) == 0 && realpath(cand, exe))
            return snprintf(buf, len, "%s", exe) < (int)len ? buf : NULL;
    }
    return NULL;
}
