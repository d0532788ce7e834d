/* The C TAP helper (tests/tap.h) tested on itself: `pass` makes every kind of check hold,
 * `fail` makes each one fail (tap_self.py reads that both sides are printed), `cases` runs a
 * case table with a passing, a crashing and a failing case. Output is TAP either way. */
#include <signal.h>
#include <stdint.h>

#include "tests/tap.h"

static int every_check(int off)
{
    const char s[] = "abc", m1[4] = { 1, 2, 3, 4 }, m2[4] = { 1, 2, 3, 4 + 0 };
    char m3[4] = { 1, 2, 3, 4 };
    m3[2] += (char)off;
    CHECK(off == 0, "truth");
    CHECK_EQ(3, 3 + off, "int equal");
    CHECK_NE(3, 4 - off, "int not equal");
    CHECK_GE(-1, -1 + off, "int at least");
    CHECK_LE(5 + off, 5, "int at most");
    CHECK_UINT(SIZE_MAX, ==, SIZE_MAX - (size_t)off, "uint equal");
    CHECK_PTR_EQ(s, s + off, "pointer equal");
    CHECK_PTR_NE(s, s + 1 - off, "pointer not equal");
    CHECK_STR_EQ(s, off ? "abd" : "abc", "string equal");
    CHECK_STR_HAS(s, off ? "x" : "bc", "string has");
    CHECK_MEM_EQ(m1, off ? m3 : m2, sizeof m1, "memory equal");
    return tap_done();
}

static int case_clean(void) { CHECK(1, "fine"); return 0; }
/* SIGKILL: a sanitizer runtime turns SIGSEGV into an exit status, nothing catches this. */
static int case_crash(void) { raise(SIGKILL); return 0; }
static int case_check(void) { CHECK_EQ(1, 2, "one is two"); CHECK(1, "fine"); return 0; }

static const struct tap_case cases[] = {
    { "clean", "passes", case_clean },
    { "crash", "dies of SIGKILL", case_crash },
    { "check", "fails a check", case_check },
};

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "pass") == 0)
        return every_check(0);
    if (argc > 1 && strcmp(argv[1], "fail") == 0)
        return every_check(1);
    return tap_main(cases, sizeof cases / sizeof cases[0], argc - 1, argv + 1);
}
