/* Standalone C reproducers of one misuse case for one allocator (allocheck harden --repro):
 * the runtime src/harden/repro_rt.c around the case's family source, with the allocator, the
 * case and the outcome the harness saw written in. Compiled with `cc x.c -ldl -lpthread`, it
 * runs the case with the same probe and the same decision, prints the outcome and exits 0
 * when it is the expected one.
 * Leaves out: running the case first (the caller does, to know the outcome). */
#ifndef ALLOCHECK_SRC_HARDEN_REPRO_H
#define ALLOCHECK_SRC_HARDEN_REPRO_H

#include <stdio.h>

#include "misuse/misuse.h"
#include "src/load/alloc.h"

/* Whether a reproducer can load a by itself: the C library's allocator, or a library with the
 * standard or prefixed names. NULL, or why not. */
const char *harden_repro_unsupported(const alloc_t *a);

/* Writes the reproducer of c on a, expecting outcome, to f. Returns 0, -EIO, or -ENOENT when
 * c's family is not embedded. */
int harden_repro_write(FILE *f, const misuse_t *c, const alloc_t *a, const char *outcome);

#endif
