/* Atomic output files: write to a temporary file beside the target, fsync, rename. A crash or
 * an error never leaves a half-written report or finding under the target's name. */
#ifndef ALLOCHECK_SRC_ATOMIC_H
#define ALLOCHECK_SRC_ATOMIC_H

#include <stddef.h>
#include <stdio.h>

typedef struct atomic_file {
    FILE *f;              /* write here */
    char tmp[4096];
    char path[4096];
} atomic_file_t;

/* Opens a temporary file beside path. Returns 0 or -errno. path "-" means stdout. */
int atomic_open(atomic_file_t *af, const char *path);
/* Flushes, fsyncs and renames into place. Returns 0 or -errno (the temp file is removed). */
int atomic_commit(atomic_file_t *af);
/* Removes the temporary file. */
void atomic_abort(atomic_file_t *af);
/* Writes len bytes to path atomically. Returns 0 or -errno. */
int atomic_write(const char *path, const void *buf, size_t len);

#endif
