/* The C reproducer writer: turns a trace into one standalone C file that compiles with
 * `cc OUT.c -ldl` (no allocheck headers), loads the same allocator the same way (from an
 * absolute path, or $ALLOCHECK_REPRO_LIB), runs the ops and judges them by exactly the
 * executor's oracles (src/engine/repro_rt.c), prints "FAIL ORACLE at op N ..." and exits 1 while
 * the bug is there (0 once fixed; a crash or a hang is reported as allocheck's crash or
 * timeout finding).
 * Leaves out: the supervisor's progress-based hang detection (an alarm per op stands in). */
#ifndef ALLOCHECK_SRC_ENGINE_REPRO_H
#define ALLOCHECK_SRC_ENGINE_REPRO_H

#include <stddef.h>
#include <stdio.h>

#include "src/load/alloc.h"
#include "src/exec/exec.h"
#include "src/trace/ops.h"

typedef struct repro_info {
    const char *label;        /* the spec as the user gave it (cli_alloc_label) */
    const char *ref_so;       /* liballocheck-ref.so, for the reference allocator */
    const char *version;      /* allocheck version */
    const finding_t *f;       /* the finding it reproduces, or NULL */
    unsigned hang_ms;         /* --hang: an op that takes longer is a timeout; 0: 3 s */
} repro_info_t;

/* Writes the program to out. Returns 0, or -ENOENT when the reference allocator's shared
 * library cannot be found, or -EIO. */
int repro_write(FILE *out, const alloc_t *a, const exec_opts_t *eo, const trace_t *t,
                const repro_info_t *info);

/* Finds liballocheck-ref.so beside the running executable (build tree or install tree), or
 * at $ALLOCHECK_REF_SO. Returns buf, or NULL. */
const char *repro_find_ref_so(char *buf, size_t len);

#endif
