/* The conformance runner: runs a table of checks against loaded allocators, every check in its
 * own forked child with a timeout and resource limits, N children at a time, and collects one
 * result per (allocator, check). Terms: a "task" is one (allocator, check) pair; "last words" are
 * the final bytes a child wrote to stdout/stderr before it died.
 * Leaves out: output formats (src/report/report.c) and option parsing (src/cli/cmd_conform.c). */
#ifndef ALLOCHECK_SRC_CONFORM_CONFORM_H
#define ALLOCHECK_SRC_CONFORM_CONFORM_H

#include <stdbool.h>
#include <stddef.h>

#include "conformance/check.h"
#include "src/load/alloc.h"
#include "src/load/worker.h"

#define CONFORM_DEFAULT_TIMEOUT_MS 5000u
#define CONFORM_DEFAULT_PROFILE PROFILE_POSIX2024
/* Headroom over the parent's own data segment that a check may write (RLIMIT_DATA). RLIMIT_AS
 * cannot be the bound: scudo reserves ~180 GiB of PROT_NONE address space on its first call,
 * while every allocator measured here (glibc, jemalloc, mimalloc, tcmalloc, scudo) stays near
 * 1 GiB of data after a 1 GiB malloc. */
#define CONFORM_DEFAULT_DATA_LIMIT (8ull << 30)
#define CONFORM_LAST_WORDS 300

typedef struct conform_opts {
    profile_t profile;
    unsigned timeout_ms;              /* per check; 0 = CONFORM_DEFAULT_TIMEOUT_MS */
    unsigned jobs;                    /* children at once; 0 = online CPUs */
    unsigned long long data_limit;    /* RLIMIT_DATA headroom; 0 = CONFORM_DEFAULT_DATA_LIMIT */
} conform_opts_t;

typedef struct conform_result {
    verdict_t verdict;
    unsigned ms;              /* wall time of the child; 0 when skipped before forking */
    unsigned repeats, same;   /* conform_repeat: runs again, and how many gave this verdict */
    char msg[1024];           /* the check's message, or how the child died + last words */
    char behaviour[256];
} conform_result_t;

/* Runs checks[0..nchecks) against allocs[0..nallocs) and fills
 * results[ai * nchecks + ci]. Checks needing a function an allocator lacks, or a thread/fork
 * safety it disclaims, are skipped without forking. CHECK_SLOW checks start first.
 * After a stop signal (children_stop) it returns within CHILDREN_POLL_MS: the checks cut
 * short or never started are skips saying so, the verdicts already in stay.
 * Returns 0, or a negative errno when the runner itself failed (mmap, fork, pipe).
 * pre: the allocators are loaded; the caller is single-threaded. */
int conform_run(const alloc_t *allocs, size_t nallocs, const check_t *const *checks,
                size_t nchecks, const conform_opts_t *opts, conform_result_t *results);

/* Runs every failing or diverging result of an earlier conform_run n more times, in fresh
 * children as before, and records in each how many of them gave the same verdict; a result
 * they disagree on gets "unstable (k of n+1 runs gave VERDICT): " before its message.
 * Randomised or racy allocators change verdicts between identical runs.
 * Returns 0 or a negative errno as conform_run. */
int conform_repeat(const alloc_t *allocs, size_t nallocs, const check_t *const *checks,
                   size_t nchecks, const conform_opts_t *opts, conform_result_t *results,
                   unsigned n);

/* Why check c is skipped for a under profile p without forking (a function it needs is absent,
 * a thread or fork safety the allocator disclaims, errno not owed), written to msg; false when
 * it must run. */
bool conform_skip_reason(const alloc_t *a, const check_t *c, profile_t p, char *msg,
                         size_t len);

/* In a preload worker (src/load/worker.h): runs the check whose registry index is parts[0] with its
 * verdict into the slot shared[0]. Does not return for a valid index. */
void conform_worker_check(worker_kind_t kind, const alloc_t *a, const worker_part_t *parts,
                          void *const *shared);

/* Results live outside any allocator's heap (under preload:, libc malloc is the one under
 * test): an anonymous mapping of n results, or NULL. */
conform_result_t *conform_results_new(size_t n);
void conform_results_free(conform_result_t *r, size_t n);

/* True when id matches one of the --only globs (or there are none) and none of the --skip
 * globs. Each entry may be a comma-separated list of fnmatch(3) globs. */
bool conform_selected(const char *id, const char *const *only, size_t nonly,
                      const char *const *skip, size_t nskip);

/* "c11", "c17", "c23", "posix2024". parse returns 0 or -EINVAL. */
const char *conform_profile_name(profile_t p);
int conform_profile_parse(const char *s, profile_t *p);

/* "pass", "fail", "divergence", "skip", "info". */
const char *conform_verdict_name(verdict_t v);

#endif
