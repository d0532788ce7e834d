/* Output files: a regular file or a new path is written atomically (a temporary file beside
 * the target, fsync, rename), so a crash or an error never leaves a half-written report or
 * finding under the target's name. Everything else is written in place: stdout ("-" and
 * /dev/stdout), devices (/dev/null, /dev/full), FIFOs and anything reached through /dev or
 * /proc. A symlink is followed: its target is written, the link itself is never replaced.
 * Terms: the "write error" is the errno of the first failed write(2), kept so a full disk is
 * reported as ENOSPC even where stdio callers only see ferror().
 * Leaves out: atomicity for in-place targets (a device or a pipe cannot be renamed onto). */
#ifndef ALLOCHECK_SRC_BASE_OUTFILE_H
#define ALLOCHECK_SRC_BASE_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct outfile {
    FILE *f;              /* write here (stdio) */
    int fd;               /* or here, after fflush(f): the same file */
    int write_err;        /* 0, or -errno of the first failed write */
    bool in_place;        /* written where it is; nothing to rename */
    bool own_fd;          /* fd is ours to close (not stdout) */
    char tmp[4096];       /* the temporary file; empty when in place */
    char path[4096];      /* the target, symlinks resolved */
} outfile_t;

/* Opens path for writing as above. For a temporary file, also reserves a page of disk so a
 * full disk is an error now, before the caller's work rather than after it. Returns 0 or
 * -errno (-EISDIR for a directory). */
int outfile_open(outfile_t *af, const char *path);
/* Flushes, fsyncs and renames into place. Returns 0 or -errno (the temp file is removed). */
int outfile_commit(outfile_t *af);
/* Removes the temporary file. */
void outfile_abort(outfile_t *af);
/* outfile_abort, for a caller whose writing failed with rc: returns the write error when there
 * was one (a stdio caller's -EIO hides ENOSPC), else rc, else -EIO. */
int outfile_fail(outfile_t *af, int rc);
/* Writes len bytes to path as above. Returns 0 or -errno. */
int outfile_write(const char *path, const void *buf, size_t len);
/* Checks that path could be opened by outfile_open, without writing anything: a new or regular
 * file's directory takes a temporary file (created and removed); an in-place target is only
 * checked for write permission (opening a FIFO would wait for a reader). Returns 0 or -errno. */
int outfile_check(const char *path);
/* Checks that a file can be written in dir (an existing directory), with a page of free
 * space, by creating and removing one. Returns 0 or -errno (-ENOTDIR for a non-directory). */
int outfile_check_dir(const char *dir);

#endif
