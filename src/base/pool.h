/* A pool of watched children: the one way conform, harden and profile run a task in a process
 * of its own. What it promises:
 *   - no child outlives the run: each ends with its whole process group killed and is reaped,
 *     and what escaped the group is swept (src/base/children.h); pool_stop kills the rest;
 *   - a hang is killed at its deadline, counted in the child's own time (the time its main
 *     thread waited for a CPU does not count), and reported as timed out;
 *   - a crash is a result: the child's crash signals are back to their defaults, and how it
 *     ended (siginfo_t) goes to the caller with what it wrote;
 *   - output is bounded: stdout and stderr go to a pipe read as it fills, of which only the
 *     last bytes are kept; a child that floods it never stalls, a grandchild holding it open
 *     never delays the end.
 * Terms: a "task" is the caller's number for what a child runs; a "job" is one of the pool's
 * N places, with its own MAP_SHARED slot the child may write its answer into.
 * Leaves out: what a child runs and what its end means (the caller's body and done). */
#ifndef ALLOCHECK_SRC_BASE_POOL_H
#define ALLOCHECK_SRC_BASE_POOL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "src/base/children.h"

#define POOL_MAX_JOBS 64
#define POOL_MAX_TAIL 1024

/* How a child ended, for the caller's done. */
typedef struct pool_end {
    size_t task;
    siginfo_t si;          /* si_code CLD_EXITED and the status, or the signal */
    bool timed_out;        /* killed at its deadline */
    bool stopped;          /* killed by pool_stop, unfinished */
    long long ms;          /* wall time from fork to end */
    void *slot;
    const char *tail;      /* the last bytes it wrote (not NUL-terminated) */
    size_t tail_len;
} pool_end_t;

/* In the child, after it was set up: runs the task. Returning is exit(0). */
typedef void pool_body_fn(void *arg, size_t task, void *slot);
/* In the parent, once per child, after it ended and before its slot is reused. */
typedef void pool_done_fn(void *arg, const pool_end_t *end);

typedef struct pool_opts {
    unsigned jobs;             /* children at once, 1..POOL_MAX_JOBS */
    unsigned timeout_ms;       /* per child, in its own time */
    size_t slot_size;          /* shared bytes per job, zeroed before each start; 0: none */
    size_t tail_size;          /* bytes of output kept, up to POOL_MAX_TAIL */
    pool_body_fn *body;
    pool_done_fn *done;
    void *arg;
    /* Makes the slots: by default MAP_SHARED anonymous memory; one that must cross an exec
     * (a preload worker) passes its own. NULL with errno set on failure. */
    void *(*slot_new)(size_t len);
    void (*slot_free)(void *p, size_t len);
} pool_opts_t;

typedef struct pool_job {
    pid_t pid;                 /* 0: free */
    int pidfd, out;            /* out: -1 after EOF */
    size_t task;
    void *slot;
    long long start_ms, deadline_ms;
    bool timed_out;
    size_t tail_len;
    char tail[POOL_MAX_TAIL];
} pool_job_t;

typedef struct pool {
    pool_opts_t o;
    unsigned running;
    pool_job_t jobs[POOL_MAX_JOBS];
} pool_t;

/* Maps the slots. Returns 0 or a negative errno (the pool is then closed). */
int pool_open(pool_t *p, const pool_opts_t *o);

/* Whether a job is free for pool_start. */
bool pool_has_room(const pool_t *p);

/* Forks a child for task into a free job, under lim (NULL: the limits this process has).
 * Returns 0, or a negative errno (-EAGAIN: out of processes, retry when one ends). */
int pool_start(pool_t *p, size_t task, const children_limits_t *lim);

/* Waits at most CHILDREN_POLL_MS for output, ends and deadlines, and calls done for each
 * child that ended. */
void pool_wait(pool_t *p);

/* Kills every running child and calls done for each, with end.stopped set. */
void pool_stop(pool_t *p);

/* pool_stop, then unmaps the slots. */
void pool_close(pool_t *p);

/* The number of CPUs, or n when n > 0; clamped to 1..POOL_MAX_JOBS and to tasks (if > 0). */
unsigned pool_pick_jobs(unsigned n, size_t tasks);

#endif
