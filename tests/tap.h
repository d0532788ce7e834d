/* The C tests' one TAP helper: every assertion never compiles out, a failed typed comparison
 * prints both sides and where it is, and the plan comes last (tap_done). Two levels: at top
 * level each CHECK is one TAP line; inside a case of a case table (tap_main) the CHECKs are
 * counted and a failure is a diagnostic, and the case is one TAP line, run in a forked child
 * so that a crash fails that case alone. The case table in the test's C file is the only list
 * of its cases: Meson runs the binary once and shows each case from its TAP output.
 * Output goes through stdio, so a test of an allocator must call that allocator by other names
 * than malloc (the refalloc tests call refalloc_malloc).
 * Terms: check = one assertion; case = one entry of a case table.
 * Leaves out: TAP 14 subtests, todo directives, bail-out on first failure. */
#ifndef ALLOCHECK_TESTS_TAP_H
#define ALLOCHECK_TESTS_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int tap_n, tap_failed;       /* TAP lines printed, of them failed */
static int tap_checks, tap_bad;     /* inside a case: checks made, failed */
static bool tap_in_case;

/* Records one check; prints its TAP line at top level, a diagnostic when it failed in a case.
 * The description is printf-style; `where` and `expr` locate a failure. Returns cond. */
__attribute__((unused, format(printf, 4, 0))) static bool
tap_vcheck(bool cond, const char *where, const char *expr, const char *fmt, va_list ap)
{
    if (tap_in_case) {
        tap_checks++;
        if (!cond) {
            tap_bad++;
            printf("# %s: %s: ", where, expr);
            vprintf(fmt, ap);
            printf("\n");
        }
    } else {
        tap_failed += !cond;
        printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
        vprintf(fmt, ap);
        printf("\n");
        if (!cond)
            printf("# %s: %s\n", where, expr);
    }
    fflush(stdout);
    return cond;
}

__attribute__((unused, format(printf, 4, 5))) static bool
tap_check(bool cond, const char *where, const char *expr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tap_vcheck(cond, where, expr, fmt, ap);
    va_end(ap);
    return cond;
}

#define TAP_STR_(x) #x
#define TAP_STR(x) TAP_STR_(x)
#define TAP_WHERE __FILE__ ":" TAP_STR(__LINE__)

/* CHECK(cond, "what %d", ...): a truth. */
#define CHECK(cond, ...) tap_check(!!(cond), TAP_WHERE, #cond, __VA_ARGS__)

/* The typed comparisons print both sides after the description when they fail. A statement
 * expression, marked __extension__ so that strict-ISO tests (tests/headers) may use it too. */
#define TAP_CMP_(type, fmt, a, op, b, ...)                                                   \
    __extension__({                                                                          \
        type tap_a_ = (type)(a);                                                             \
        type tap_b_ = (type)(b);                                                             \
        bool tap_r_ = tap_a_ op tap_b_;                                                      \
        tap_check(tap_r_, TAP_WHERE, #a " " #op " " #b, __VA_ARGS__);                        \
        if (!tap_r_)                                                                         \
            printf("#   left:  " fmt "\n#   right: " fmt "\n", tap_a_, tap_b_);              \
        tap_r_;                                                                              \
    })
#define CHECK_INT(a, op, b, ...) TAP_CMP_(intmax_t, "%" PRIdMAX, a, op, b, __VA_ARGS__)
#define CHECK_UINT(a, op, b, ...) TAP_CMP_(uintmax_t, "%" PRIuMAX, a, op, b, __VA_ARGS__)
#define CHECK_EQ(a, b, ...) CHECK_INT(a, ==, b, __VA_ARGS__)
#define CHECK_NE(a, b, ...) CHECK_INT(a, !=, b, __VA_ARGS__)
#define CHECK_GE(a, b, ...) CHECK_INT(a, >=, b, __VA_ARGS__)
#define CHECK_LE(a, b, ...) CHECK_INT(a, <=, b, __VA_ARGS__)
#define CHECK_PTR_EQ(a, b, ...) TAP_CMP_(const void *, "%p", a, ==, b, __VA_ARGS__)
#define CHECK_PTR_NE(a, b, ...) TAP_CMP_(const void *, "%p", a, !=, b, __VA_ARGS__)

/* Strings: equal, or the first containing the second; NULL is never equal. */
#define CHECK_STR_EQ(a, b, ...) tap_str_((a), (b), false, TAP_WHERE, #a " == " #b, __VA_ARGS__)
#define CHECK_STR_HAS(a, b, ...) tap_str_((a), (b), true, TAP_WHERE, #a " has " #b, __VA_ARGS__)

__attribute__((unused, format(printf, 6, 7))) static bool
tap_str_(const char *a, const char *b, bool has, const char *where, const char *expr,
         const char *fmt, ...)
{
    bool r = a && b && (has ? strstr(a, b) != NULL : strcmp(a, b) == 0);
    va_list ap;
    va_start(ap, fmt);
    tap_vcheck(r, where, expr, fmt, ap);
    va_end(ap);
    if (!r)
        printf("#   left:  \"%s\"\n#   right: \"%s\"\n", a ? a : "(null)", b ? b : "(null)");
    return r;
}

/* Memory: n bytes equal; a failure shows the first differing byte of each side. */
#define CHECK_MEM_EQ(a, b, n, ...) tap_mem_((a), (b), (n), TAP_WHERE, #a " == " #b, __VA_ARGS__)

__attribute__((unused, format(printf, 6, 7))) static bool
tap_mem_(const void *a, const void *b, size_t n, const char *where, const char *expr,
         const char *fmt, ...)
{
    const unsigned char *x = a, *y = b;
    size_t i = 0;
    while (i < n && x[i] == y[i])
        i++;
    va_list ap;
    va_start(ap, fmt);
    tap_vcheck(i == n, where, expr, fmt, ap);
    va_end(ap);
    if (i < n)
        printf("#   byte %zu of %zu: left 0x%02x, right 0x%02x\n", i, n, x[i], y[i]);
    return i == n;
}

/* Prints the plan; the exit status says whether every top-level check passed. */
__attribute__((unused)) static int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

/* One entry of a case table: the id names it on the command line, `name` says what it shows,
 * run returns nonzero (or fails a CHECK) when it does not hold. */
struct tap_case {
    const char *id, *name;
    int (*run)(void);
};

/* A case returns this when it cannot run here (its TAP line says SKIP). */
#define TAP_SKIP 77

/* Runs case c in a forked child (a crash fails it alone) and prints its TAP line. */
__attribute__((unused)) static bool tap_run_case(const struct tap_case *c)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        tap_in_case = true;
        int r = c->run();
        if (tap_checks)
            printf("# %d checks, %d failed\n", tap_checks, tap_bad);
        fflush(stdout);
        _exit(r == TAP_SKIP && !tap_bad ? TAP_SKIP : r || tap_bad ? 1 : 0);
    }
    int st = 0;
    bool exited = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st);
    bool skip = exited && WEXITSTATUS(st) == TAP_SKIP;
    bool ok = exited && (WEXITSTATUS(st) == 0 || skip);
    tap_failed += !ok;
    printf("%sok %d - %s%s%s%s", ok ? "" : "not ", ++tap_n, c->id, c->name ? ": " : "",
           c->name ? c->name : "", skip ? " # SKIP" : "");
    if (pid > 0 && WIFSIGNALED(st))
        printf(" (signal %d)", WTERMSIG(st));
    printf("\n");
    fflush(stdout);
    return ok;
}

/* The main of a case-table test: no argument runs every case, `--list` prints the ids, an id
 * runs that case alone. */
__attribute__((unused)) static int tap_main(const struct tap_case *cases, size_t n, int argc,
                                            char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", cases[i].id);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (argc < 2 || strcmp(argv[1], cases[i].id) == 0)
            tap_run_case(&cases[i]);
    if (tap_n == 0) {
        fprintf(stderr, "%s: no case named '%s' (--list lists them)\n", argv[0], argv[1]);
        return 2;
    }
    return tap_done();
}

#endif
