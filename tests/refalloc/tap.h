/* A few lines of TAP for the refalloc tests: CHECK never compiles out, prints both sides of a
 * failed comparison, and the plan comes last. Output goes through stdio, i.e. glibc's malloc,
 * never through the allocator under test (the tests call the refalloc_ names). */
#ifndef ALLOCHECK_TESTS_REFALLOC_TAP_H
#define ALLOCHECK_TESTS_REFALLOC_TAP_H

#include <stdbool.h>
#include <stdio.h>

static int tap_n, tap_failed;

__attribute__((unused)) static int tap_ok(int cond, const char *name, const char *detail)
{
    tap_n++;
    printf("%sok %d - %s%s%s\n", cond ? "" : "not ", tap_n, name, cond ? "" : " # ",
           cond ? "" : detail);
    fflush(stdout);
    if (!cond)
        tap_failed++;
    return cond;
}

#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        char tap_name_[1024];                                                              \
        snprintf(tap_name_, sizeof tap_name_, __VA_ARGS__);                               \
        tap_ok(!!(cond), tap_name_, #cond);                                               \
    } while (0)

/* Prints the plan; the exit status says whether everything passed. */
__attribute__((unused)) static int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
