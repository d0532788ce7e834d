/* The shape of a conformance check and the macros checks use to report.
 * A check is one property of one function, named by behaviour, citing the clause it rests on.
 * The runner (src/conform/conform.c) runs each check in its own child process; the check writes its
 * verdict into a check_ctx_t that lives in shared memory, never in the allocator's heap, and
 * formats messages into fixed buffers so reporting never calls the allocator under test.
 * Leaves out: scheduling, timeouts and output formats (src/conform/conform.c, src/report/report.c). */
#ifndef ALLOCHECK_CONFORMANCE_CHECK_H
#define ALLOCHECK_CONFORMANCE_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/load/alloc.h"

typedef enum verdict {
    VERDICT_PASS,
    VERDICT_FAIL,        /* a requirement of the clause is broken */
    VERDICT_DIVERGENCE,  /* implementation-defined/undefined territory: reported as behaviour */
    VERDICT_SKIP,        /* a needed function is absent, or the check does not apply */
    VERDICT_INFO,        /* a report (CHECK_INFO) that ran: what the allocator does, no pass */
    VERDICT_COUNT
} verdict_t;

/* Standards profiles; a run uses one. The ISO C profiles require nothing of errno (C leaves it
 * to POSIX); POSIX.1-2024 is C17 plus its own requirements (errno on every failure, EINVAL
 * rules, free leaving errno alone) and is the default: allocheck loads allocators into
 * POSIX programs, which rely on those. */
typedef enum profile {
    PROFILE_C11,
    PROFILE_C17,
    PROFILE_C23,
    PROFILE_POSIX2024,  /* C17 + POSIX.1-2024, the default */
    PROFILE_COUNT
} profile_t;

typedef struct check_ctx {
    const alloc_t *a;
    profile_t profile;
    verdict_t verdict;        /* starts at PASS; FAIL is sticky, DIVERGENCE never undoes FAIL */
    char msg[1024];           /* why it failed/diverged/skipped; the first failure wins */
    char behaviour[256];      /* what the allocator does in undefined/implementation-defined
                                 territory, e.g. "malloc(0) returns a unique pointer" */
    unsigned timeout_ms;      /* the runner's per-check timeout, for checks that pace themselves */
    bool capacity_hit;        /* the last allocation failed for a fixed heap's size (capacity.c) */
    char capacity_msg[160];
} check_ctx_t;

enum check_flags {
    CHECK_THREADS = 1u << 0,  /* needs a thread-safe allocator */
    CHECK_FORK = 1u << 1,     /* needs a fork-safe allocator */
    CHECK_SLOW = 1u << 2,     /* takes more than ~100 ms: scheduled first */
    CHECK_NOLIMIT = 1u << 3,  /* sets its own resource limits (RLIMIT_AS) */
    CHECK_ERRNO = 1u << 5,    /* tests errno alone: skipped where errno is not required (an
                                 ISO C profile, or an allocator declaring NO_ERRNO) */
    CHECK_INFO = 1u << 4,     /* a report of behaviour the clause leaves open: it cannot pass,
                                 so its PASS becomes INFO, and an abort inside the allocator
                                 (a documented precondition) a DIVERGENCE, not a FAIL */
    CHECK_UB = 1u << 6,       /* drives undefined behaviour on purpose: whatever happens is
                                 behaviour, so every end (a run to the end, a signal, an exit)
                                 is INFO saying how it ended; only a timeout stays a FAIL */
};

typedef struct check {
    const char *id;           /* "calloc-overflow-enomem": family-behaviour, unique */
    const char *function;     /* "calloc"; "*" for checks across every function */
    const char *clause;       /* "C17 7.22.3.2p2", "POSIX.1-2024 calloc [ENOMEM]",
                                 "malloc_usable_size(3) RETURN VALUE": as the text reads */
    const char *description;  /* one line */
    uint32_t needs;           /* AF_BIT() mask: skipped when any is absent */
    uint32_t flags;           /* enum check_flags */
    void (*run)(check_ctx_t *c);
} check_t;

/* Every check, in a stable order (conformance/registry.c). */
extern const check_t *const conform_checks[];
extern const size_t conform_check_count;

/* Runs chk with c, behind the capacity shim when the allocator declares a fixed heap
 * (capacity.c). */
void check_run(const check_t *chk, check_ctx_t *c);

/* Reporting. These never allocate from the allocator under test. check_fail right after a
 * capacity failure (see capacity.c) records a skip naming it instead. */
void check_fail(check_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void check_diverge(check_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void check_skip(check_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void check_behaviour(check_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* expect_*: record a failure and go on. require_*: record and return from the check. */
#define expect_true(c, cond, ...) \
    do { if (!(cond)) check_fail((c), __VA_ARGS__); } while (0)
#define require_true(c, cond, ...) \
    do { if (!(cond)) { check_fail((c), __VA_ARGS__); return; } } while (0)

#endif
