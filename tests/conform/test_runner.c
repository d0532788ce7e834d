/* Unit tests of the conformance runner (src/conform/conform.c) with a throwaway check table: each kind
 * of ending a child can have (pass, fail, divergence, skip before forking, SIGSEGV, abort with
 * last words, hang, exit, a grandchild left behind; a report that runs, aborts or crashes)
 * must become the right verdict and message,
 * and -j 1 must give the same results as -j 4; a check starved of CPU is slow, not hung.
 * Prints TAP. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "conformance/check.h"
#include "conformance/util.h"
#include "src/conform/conform.h"
#include "tests/tap.h"


static void *glibc_malloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void glibc_free(void *ctx, void *p) { (void)ctx; free(p); }

static void run_pass(check_ctx_t *c)
{
    void *p = c->a->malloc(c->a->ctx, 100);
    require_true(c, p != NULL, "malloc(100) returned NULL");
    c->a->free(c->a->ctx, p);
}

static void run_fail(check_ctx_t *c) { check_fail(c, "boom %d", 42); }

static void run_diverge(check_ctx_t *c)
{
    check_diverge(c, "malloc(0) returns NULL");
    check_behaviour(c, "malloc(0) returns NULL");
}

static void run_segv(check_ctx_t *c)
{
    check_behaviour(c, "about to crash");
    raise(SIGSEGV);
}

static void run_abort(check_ctx_t *c)
{
    /* More than a pipe buffer first: the parent must keep reading while the child writes. */
    for (int i = 0; i < 2000; i++)
        fprintf(stderr, "filler line %04d of noise from the allocator\n", i);
    fputs("free(): invalid pointer\n", stderr);
    abort();
}

static void run_hang(check_ctx_t *c) { for (;;) pause(); }
static void run_exit(check_ctx_t *c) { _exit(3); }

static void run_grandchild(check_ctx_t *c)
{
    if (fork() == 0)
        for (;;) pause();  /* holds the output pipe open: the runner must kill the group */
}

/* The runner's limits: no core dumps, and 16 GiB of writable memory is refused (mmap directly,
 * so neither the allocator's nor a sanitizer's own size limits decide). */
static void run_limits(check_ctx_t *c)
{
    struct rlimit rl;
    getrlimit(RLIMIT_CORE, &rl);
    expect_true(c, rl.rlim_cur == 0, "RLIMIT_CORE is %llu", (unsigned long long)rl.rlim_cur);
    size_t big = (size_t)16 << 30;
    void *p = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    expect_true(c, p == MAP_FAILED, "a 16 GiB writable mapping succeeded under the data limit");
    if (p != MAP_FAILED)
        munmap(p, big);
}

/* Start order: records when it ran, for the CHECK_SLOW-first test. */
static void run_stamp(check_ctx_t *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    check_behaviour(c, "%020lld", (long long)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

#define TEST_CHECK(name, needs, flags) \
    static const check_t tc_##name = { #name, "malloc", "test", "test " #name, needs, flags, \
                                          run_##name }
TEST_CHECK(pass, AF_BIT(AF_MALLOC) | AF_BIT(AF_FREE), 0);
TEST_CHECK(fail, 0, 0);
TEST_CHECK(diverge, 0, 0);
TEST_CHECK(segv, 0, 0);
TEST_CHECK(abort, 0, 0);
TEST_CHECK(hang, 0, CHECK_SLOW);
TEST_CHECK(exit, 0, 0);
TEST_CHECK(grandchild, 0, CHECK_FORK);
TEST_CHECK(limits, 0, 0);
static const check_t tc_needs = { "needs", "pvalloc", "test", "needs pvalloc",
                                     AF_BIT(AF_PVALLOC) | AF_BIT(AF_VALLOC), 0, run_pass };
static const check_t tc_threads = { "threads", "*", "test", "needs thread safety", 0,
                                       CHECK_THREADS, run_pass };

static const check_t tc_early = { "early", "*", "test", "first in the table", 0, 0, run_stamp };
static const check_t tc_slow = { "slow", "*", "test", "last but slow", 0, CHECK_SLOW, run_stamp };
/* Reports: a run to the end is info, an abort a divergence, a crash still a failure. */
static const check_t tc_info = { "info", "*", "test", "report", 0, CHECK_INFO, run_pass };
static const check_t tc_info_abort = { "info-abort", "*", "test", "report", 0, CHECK_INFO,
                                       run_abort };
static const check_t tc_info_segv = { "info-segv", "*", "test", "report", 0, CHECK_INFO,
                                      run_segv };

/* Undefined behaviour driven on purpose: every end is info saying how it ended. */
static const check_t tc_ub_run = { "ub-run", "*", "test", "ub", 0, CHECK_UB, run_pass };
static const check_t tc_ub_abort = { "ub-abort", "*", "test", "ub", 0, CHECK_UB, run_abort };
static const check_t tc_ub_segv = { "ub-segv", "*", "test", "ub", 0, CHECK_UB, run_segv };
static const check_t tc_ub_exit = { "ub-exit", "*", "test", "ub", 0, CHECK_UB, run_exit };

static const check_t *const table[] = {
    &tc_early, &tc_pass, &tc_fail, &tc_diverge, &tc_segv, &tc_abort, &tc_hang,
    &tc_exit, &tc_grandchild, &tc_limits, &tc_needs, &tc_threads, &tc_slow,
    &tc_info, &tc_info_abort, &tc_info_segv, &tc_ub_run, &tc_ub_abort, &tc_ub_segv,
    &tc_ub_exit,
};
#define NCHECKS (sizeof table / sizeof table[0])
enum { EARLY, PASS, FAIL, DIV, SEGV, ABRT, HANG, EXIT, GRAND, LIMITS, NEEDS, THREADS, SLOW,
       INFO, INFO_ABRT, INFO_SEGV, UB_RUN, UB_ABRT, UB_SEGV, UB_EXIT };

static int has(const conform_result_t *r, const char *s) { return strstr(r->msg, s) != NULL; }

static void expect_results(const conform_result_t *r, const char *how)
{
    CHECK(r[PASS].verdict == VERDICT_PASS && !r[PASS].msg[0], "%s: pass", how);
    CHECK(r[FAIL].verdict == VERDICT_FAIL && strcmp(r[FAIL].msg, "boom 42") == 0,
       "%s: fail keeps the message (%s)", how, r[FAIL].msg);
    CHECK(r[DIV].verdict == VERDICT_DIVERGENCE && has(&r[DIV], "malloc(0)") &&
       strcmp(r[DIV].behaviour, "malloc(0) returns NULL") == 0, "%s: divergence + behaviour", how);
    CHECK(r[SEGV].verdict == VERDICT_FAIL && has(&r[SEGV], "SIGSEGV"),
       "%s: SIGSEGV is a failure naming the signal (%s)", how, r[SEGV].msg);
    CHECK(r[ABRT].verdict == VERDICT_FAIL && has(&r[ABRT], "SIGABRT") &&
       has(&r[ABRT], "last words:") && has(&r[ABRT], "free(): invalid pointer") &&
       !has(&r[ABRT], "filler line 0000"), "%s: abort with the last words only", how);
    CHECK(r[HANG].verdict == VERDICT_FAIL &&
       has(&r[HANG], "timed out after 1 s (deadlock or hang?)"), "%s: hang times out (%s)", how,
       r[HANG].msg);
    CHECK(r[EXIT].verdict == VERDICT_FAIL && has(&r[EXIT], "status 3"),
       "%s: exit without a verdict fails (%s)", how, r[EXIT].msg);
    CHECK(r[GRAND].verdict == VERDICT_PASS, "%s: a grandchild left behind does not hang the run", how);
    CHECK(r[LIMITS].verdict == VERDICT_PASS, "%s: core and data limits (%s)", how, r[LIMITS].msg);
    CHECK(r[NEEDS].verdict == VERDICT_SKIP && strcmp(r[NEEDS].msg, "no valloc, pvalloc") == 0 &&
       r[NEEDS].ms == 0, "%s: skipped before forking (%s)", how, r[NEEDS].msg);
    CHECK(r[THREADS].verdict == VERDICT_SKIP && has(&r[THREADS], "thread"),
       "%s: thread check skipped for a thread-unsafe allocator (%s)", how, r[THREADS].msg);
    CHECK(r[INFO].verdict == VERDICT_INFO, "%s: a report that ran is info, not a pass", how);
    CHECK(r[INFO_ABRT].verdict == VERDICT_DIVERGENCE && has(&r[INFO_ABRT], "SIGABRT") &&
       has(&r[INFO_ABRT], "free(): invalid pointer"),
       "%s: an abort in a report is a divergence with the last words", how);
    CHECK(r[INFO_SEGV].verdict == VERDICT_FAIL, "%s: a crash in a report is still a failure", how);
    CHECK(r[UB_RUN].verdict == VERDICT_INFO, "%s: a UB check run to the end is info", how);
    CHECK(r[UB_ABRT].verdict == VERDICT_INFO && has(&r[UB_ABRT], "SIGABRT") &&
       has(&r[UB_ABRT], "free(): invalid pointer") &&
       strncmp(r[UB_ABRT].behaviour, "dies: killed by SIGABRT", 23) == 0,
       "%s: an abort under UB is info with the last words (%s)", how, r[UB_ABRT].behaviour);
    CHECK(r[UB_SEGV].verdict == VERDICT_INFO && has(&r[UB_SEGV], "SIGSEGV"),
       "%s: a crash under UB is info naming the signal (%s)", how, r[UB_SEGV].msg);
    CHECK(r[UB_EXIT].verdict == VERDICT_INFO && has(&r[UB_EXIT], "status 3"),
       "%s: an exit under UB is info (%s)", how, r[UB_EXIT].msg);
}

static void test_selection(void)
{
    const char *only[] = { "malloc-*,calloc-zero" }, *skip[] = { "*-slow" };
    CHECK(conform_selected("malloc-zero", only, 1, skip, 1), "--only glob selects");
    CHECK(conform_selected("calloc-zero", only, 1, skip, 1), "--only comma list selects");
    CHECK(!conform_selected("calloc-overflow", only, 1, skip, 1), "--only leaves out");
    CHECK(!conform_selected("malloc-huge-slow", only, 1, skip, 1), "--skip wins over --only");
    CHECK(conform_selected("free-null", NULL, 0, NULL, 0), "no globs select everything");
    profile_t p;
    CHECK(conform_profile_parse("posix2024", &p) == 0 && p == PROFILE_POSIX2024 &&
       conform_profile_parse("c99", &p) < 0, "profile names");
}

/* A fixed heap that is full refuses a 1 MiB alignment as it refuses everything: the verdict
 * names the capacity, not "an alignment above 64 KiB is refused", and with a declared
 * max-align no "refuses alignments above" behaviour is claimed either. */
static void test_capacity_refusal(void)
{
    static alloc_t a = { .name = "full-heap", .flags = ALLOCHECK_PLUGIN_FIXED_HEAP };
    check_ctx_t c = { .a = &a, .profile = PROFILE_C17, .capacity_hit = true };

    snprintf(c.capacity_msg, sizeof c.capacity_msg, "memalign(1048576) failed with 200000 "
             "bytes held of a 262144-byte heap");
    ck_align_refused(&c, AF_MEMALIGN, (size_t)1 << 20, (size_t)1 << 20, 12);
    CHECK(c.verdict == VERDICT_SKIP && strstr(c.msg, "fixed heap") && !strstr(c.msg, "refused"),
       "a capacity failure of an aligned call is a skip naming the heap (%s)", c.msg);
    a.max_alignment = 4096;
    c.verdict = VERDICT_PASS;
    c.behaviour[0] = 0;
    ck_align_refused(&c, AF_MEMALIGN, 8192, 8192, 12);
    CHECK(c.verdict == VERDICT_SKIP && !c.behaviour[0],
       "... and no max-align refusal is reported for it (%s)", c.behaviour);
}

/* Half a second of CPU, however long the machine takes to give it. */
static void run_burn(check_ctx_t *c)
{
    struct timespec t;
    do
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    while (t.tv_sec == 0 && t.tv_nsec < 500000000);
}

static const check_t tc_burn = { "burn", "*", "test", "0.5 s of CPU", 0, 0, run_burn };
static volatile int hogs_stop;

static void *hog(void *arg)
{
    while (!hogs_stop)
        ;
    return arg;
}

/* Pins this process to one CPU and starts n threads spinning on it. */
static int start_hogs(pthread_t *t, int n)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) < 0)
        return -1;
    int cpu = 0;
    while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set))
        cpu++;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0)
        return -1;
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, hog, NULL);
    return 0;
}

/* A check that needs 0.5 s of CPU, on a CPU shared with 8 spinning threads, takes about 4.5 s:
 * the 2 s timeout counts its own time, not the time it waited for the CPU. */
static void test_starved(const alloc_t *a)
{
    if (access("/proc/self/schedstat", R_OK) != 0) {
        printf("ok - # SKIP no /proc/self/schedstat: the kernel does not say how long a "
               "process waited for a CPU\n");
        return;
    }
    pthread_t t[8];
    const check_t *one[] = { &tc_burn };
    conform_result_t *r = conform_results_new(1);
    conform_opts_t o = { .profile = PROFILE_C17, .timeout_ms = 2000, .jobs = 1 };
    int pinned = start_hogs(t, 8);
    CHECK(pinned == 0, "pinned to one CPU with 8 spinning threads");
    CHECK(conform_run(a, 1, one, 1, &o, r) == 0 && r[0].verdict == VERDICT_PASS,
          "a CPU-bound check starved of CPU is not a hang (%s)", r[0].msg);
    hogs_stop = 1;
    for (int i = 0; i < 8 && pinned == 0; i++)
        pthread_join(t[i], NULL);
    conform_results_free(r, 1);
}

int main(void)
{
    static alloc_t a = { .spec = "glibc-test", .name = "glibc-test", .malloc = glibc_malloc,
                         .free = glibc_free, .flags = ALLOCHECK_PLUGIN_NOT_THREAD_SAFE };
    conform_result_t *r4 = conform_results_new(NCHECKS), *r1 = conform_results_new(NCHECKS);
    conform_opts_t o = { .profile = PROFILE_C17, .timeout_ms = 1000, .jobs = 4 };
    printf("TAP version 13\n");
    CHECK(conform_run(&a, 1, table, NCHECKS, &o, r4) == 0, "run with -j 4");
    expect_results(r4, "-j 4");
    o.jobs = 1;
    CHECK(conform_run(&a, 1, table, NCHECKS, &o, r1) == 0, "run with -j 1");
    expect_results(r1, "-j 1");
    /* Only one child at a time makes start order observable. */
    CHECK(strcmp(r1[SLOW].behaviour, r1[EARLY].behaviour) < 0 && r1[SLOW].behaviour[0],
       "-j 1: the CHECK_SLOW check started before the first of the table");
    int same = 1;
    for (size_t i = 0; i < NCHECKS; i++)
        same &= r1[i].verdict == r4[i].verdict;
    CHECK(same, "-j 1 and -j 4 give the same verdicts");
    test_selection();
    test_capacity_refusal();
    test_starved(&a);
    return tap_done();
}
