/* The resource oracles wired to the executor (see resources.h).
 * Why the probe repeats the whole trace through exec_run: every promise is still checked
 * while it repeats, and exec_run frees whatever is live at the end, so each repetition starts
 * from an empty slot table as the first run did. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "src/engine/resources.h"

/* What rerun returns for a finding of the executor's own oracles: not 1, which leak_probe
 * returns for a leak. */
#define RERUN_FINDING 3

typedef struct rerun {
    exec_t *e;
    const trace_t *t;
    finding_t *f;
    volatile size_t *progress;
} rerun_t;

static int rerun(void *arg)
{
    rerun_t *x = arg;
    int r = exec_run(x->e, x->t, x->f, x->progress);
    if (r)
        return r == 1 ? RERUN_FINDING : r;
    exec_stats_t st;
    exec_get_stats(x->e, &st);
    return st.live_bytes ? LEAK_RUN_LIVE : 0;
}

void resources_begin(resources_t *rs, const alloc_t *a, const exec_opts_t *eo)
{
    memset(rs, 0, sizeof *rs);
    rs->on = eo->resources;
    if (!rs->on)
        return;
    rs->trim = retention_find_trim(a);
    if (footprint_read(&rs->base))
        rs->on = false;
}

int resources_after_run(resources_t *rs, exec_t *e, const trace_t *t, bool always,
                        finding_t *f, volatile size_t *progress)
{
    if (!rs->on)
        return 0;
    rs->run_ops += t->len;
    /* The budget first: a trigger it refuses stays armed for a later sequence. */
    uint64_t cost = (uint64_t)LEAK_REPS * t->len;
    if (!always && (rs->probe_ops + cost > rs->run_ops / RESOURCES_PROBE_SHARE ||
                    !leak_watch_due(&rs->watch)))
        return 0;
    rs->probe_ops += cost;
    rerun_t x = { e, t, f, progress };
    char msg[sizeof f->message];
    int r = leak_probe(rerun, &x, msg, sizeof msg);
    if (r == RERUN_FINDING)
        return 1;
    if (r != 1)
        return r;
    memset(f, 0, sizeof *f);
    snprintf(f->oracle, sizeof f->oracle, "%s", ORACLE_LEAK);
    snprintf(f->message, sizeof f->message, "%s", msg);
    f->op_index = t->len;   /* past the last op: the whole sequence is the finding */
    return 1;
}

void resources_only_for(exec_opts_t *eo, const char *oracle)
{
    eo->resources = eo->resources && strcmp(oracle, ORACLE_LEAK) == 0;
}

void resources_sample(resources_t *rs, retention_t *out)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    if (!rs->on || (rs->sampled_ms && now - rs->sampled_ms < RESOURCES_SAMPLE_MS))
        return;
    rs->sampled_ms = now;
    retention_measure(&rs->base, NULL, out);
}

void resources_end(resources_t *rs, retention_t *out)
{
    memset(out, 0, sizeof *out);
    if (rs->on)
        retention_measure(&rs->base, rs->trim, out);
}
