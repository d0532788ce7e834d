/* What the executor's fork op needs beyond the shadow model: hammer threads that stay inside
 * the allocator while another thread forks (the case an allocator without pthread_atfork
 * handlers gets wrong: its child inherits a lock some hammer held), and a bounded wait on the
 * child that kills its process group when it does not finish.
 * Terms: a "hammer" is a harness thread, apart from the trace's `thread T` workers, that calls
 * the allocator in a loop on blocks of its own (never in the shadow) until told to stop.
 * Leaves out: what the child checks (src/exec.c, op_fork) and judging its verdict. */
#ifndef ALLOCHECK_SRC_EXEC_EXEC_FORK_H
#define ALLOCHECK_SRC_EXEC_EXEC_FORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "src/load/alloc.h"

typedef struct hammers hammers_t;

/* Hammers for a (none started yet; each starts on first use). NULL on failure (errno). */
hammers_t *hammers_new(const alloc_t *a);
void hammers_free(hammers_t *h);
/* Sets n hammers calling the allocator and returns once each is inside a call (or after a
 * bounded wait). On one CPU the caller then runs while they are frozen mid-call. 0 or -errno. */
int hammers_start(hammers_t *h, unsigned n);
/* Waits (bounded) until each running hammer has made a call since and is inside one again:
 * before each further fork while they run. */
void hammers_mid_call(hammers_t *h);
/* Stops the running hammers and waits until none is inside the allocator. */
void hammers_stop(hammers_t *h);
/* In a forked child: the hammer threads did not come along; the CPU mask is the caller's own
 * again. */
void hammers_forget(hammers_t *h);

/* The outcome of waiting on a forked child that reports through a pipe. */
typedef enum fork_end {
    FORK_REPORTED,  /* it wrote a whole report and exited */
    FORK_DIED,      /* it ended without a report: *status holds the wait status */
    FORK_HUNG,      /* no report within the wait: its process group was killed */
} fork_end_t;

/* Waits up to ms for child pid to write len bytes of report to fd (the read end of its pipe)
 * and reaps it; kills its process group when the wait runs out (with ms 0: takes a report
 * already written, else kills). */
fork_end_t fork_wait(pid_t pid, int fd, void *report, size_t len, unsigned ms, int *status);

#endif
