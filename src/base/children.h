/* The supervisor's hold on the processes it starts. Every process that runs allocator code
 * (a load probe, a conformance check, a fuzz, replay or minimize child) is a "child": the
 * leader of its own process group, killed with SIGKILL when allocheck dies, under the same
 * resource limits, with stdin on /dev/null and stdout away from allocheck's stdout.
 * allocheck itself is a child subreaper, so a grandchild that escapes its group (setsid)
 * becomes our child and is swept: on every exit path nothing we started survives.
 * SIGINT, SIGTERM and SIGHUP only set a flag here; every wait loop polls it (children_stop)
 * at least every 100 ms, so a run stops within a second in every state.
 * Terms: "registered" children are the ones a runner is waiting for; any other child of
 * ours is a stray (an escaped grandchild, or one a constructor forked in our process),
 * except those the process already had when allocheck started (`cmd & exec allocheck`).
 * Leaves out: what children run, and how a runner judges their deaths. */
#ifndef ALLOCHECK_SRC_BASE_CHILDREN_H
#define ALLOCHECK_SRC_BASE_CHILDREN_H

#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

#define CHILDREN_POLL_MS 50   /* the longest any wait loop sleeps between looks at the flag */

typedef struct children_limits {
    struct rlimit data, as;
} children_limits_t;

/* Makes this process a subreaper, installs the stop handlers and an exit-time sweep.
 * Idempotent; every function below that needs it calls it. */
void children_init(void);

/* The signal that asked us to stop (SIGINT, SIGTERM, SIGHUP), or 0. */
int children_stop(void);

/* The flag itself, for loops that take a `const volatile int *` (engine_opts_t). */
const volatile int *children_stop_flag(void);

/* RLIMIT_DATA headroom for children, in bytes above what the parent already maps:
 * ALLOCHECK_DATA_LIMIT when set (checked by children_check_env), else fallback. */
unsigned long long children_data_headroom(unsigned long long fallback);

/* Limits relative to what this process already maps (a sanitizer's shadow or a loaded plugin
 * must not eat the headroom); RLIMIT_AS only stops runaway reservations. */
void children_pick_limits(children_limits_t *l, unsigned long long data_headroom);

/* The limits fuzz, replay and minimize children run under (picked once). */
const children_limits_t *children_default_limits(void);

/* In a child right after fork: own process group, PDEATHSIG (exits at once if `parent` is
 * already gone), no core files, default signal dispositions, stdin from /dev/null, stdout and
 * stderr to out_fd (if >= 0), then the limits (if given). */
void children_enter(pid_t parent, int out_fd, const children_limits_t *lim);

/* In the parent right after fork: puts pid in its own group (so a kill(-pid) right away
 * cannot miss) and registers it. */
void children_add(pid_t pid);

/* How long pid's main thread has waited for a CPU (runnable but not running), in ms; 0 where
 * the kernel does not say. A deadline measured in wall time minus this counts what the child
 * did (ran, slept, blocked) and not how busy the machine was: a CPU-bound check on a loaded
 * machine is slow, not hung, while a deadlock or a spin still reaches its deadline. */
long long children_cpu_wait_ms(pid_t pid);

/* Kills pid's whole group (it stays registered until children_reaped). */
void children_kill(pid_t pid);

/* After the runner reaped pid: kills what it left in its group, unregisters it, and sweeps
 * strays. */
void children_reaped(pid_t pid);

/* Kills and reaps every child that is not registered. */
void children_sweep(void);

/* Kills every registered group, sweeps and reaps: the exit path. */
void children_end(void);

/* The exit status of a command that returned `status`: after a stop signal, 128 + signal,
 * unless it found something (1). */
int children_exit_status(int status);

/* Checks the environment variables this module and the loader read (ALLOCHECK_DATA_LIMIT,
 * ALLOCHECK_LOAD_TIMEOUT); returns NULL, or the name of the bad one with *why filled. */
const char *children_check_env(const char **why);

/* ALLOCHECK_LOAD_TIMEOUT in milliseconds (seconds, fractions allowed), default 10 s. */
unsigned children_load_timeout_ms(void);

#endif
