/* Standalone C reproducers of one misuse case (allocheck harden --repro ID). */
#ifndef ALLOCHECK_SRC_HARDEN_REPRO_H
#define ALLOCHECK_SRC_HARDEN_REPRO_H

#include <stddef.h>

#include "misuse/misuse.h"
#include "src/alloc.h"

/* Writes the reproducer of c for a to path (atomically). 0, or -1 with err filled. */
int harden_repro_write(const char *path, const misuse_t *c, const alloc_t *a, char *err,
                       size_t errlen);

#endif
