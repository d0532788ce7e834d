/* Atomic output files (see atomic.h): temp file in the target's directory, fsync, rename. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/atomic.h"

int atomic_open(atomic_file_t *af, const char *path)
{
    memset(af, 0, sizeof *af);
    if (strcmp(path, "-") == 0) {
        af->f = stdout;
        return 0;
    }
    if (snprintf(af->path, sizeof af->path, "%s", path) >= (int)sizeof af->path ||
        snprintf(af->tmp, sizeof af->tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof af->tmp)
        return -ENAMETOOLONG;
    int fd = mkstemp(af->tmp);
    if (fd < 0)
        return -errno;
    /* mkstemp makes 0600; reports are ordinary files. */
    (void)fchmod(fd, 0644);
    af->f = fdopen(fd, "w");
    if (!af->f) {
        int err = -errno;
        close(fd);
        unlink(af->tmp);
        return err;
    }
    return 0;
}

int atomic_commit(atomic_file_t *af)
{
    if (af->f == stdout)
        return fflush(stdout) == 0 ? 0 : -errno;
    int err = 0;
    if (fflush(af->f) != 0 || fsync(fileno(af->f)) != 0)
        err = -errno;
    if (fclose(af->f) != 0 && !err)
        err = -errno;
    af->f = NULL;
    if (!err && rename(af->tmp, af->path) != 0)
        err = -errno;
    if (err)
        unlink(af->tmp);
    return err;
}

void atomic_abort(atomic_file_t *af)
{
    if (!af->f || af->f == stdout)
        return;
    fclose(af->f);
    af->f = NULL;
    unlink(af->tmp);
}

int atomic_write(const char *path, const void *buf, size_t len)
{
    atomic_file_t af;
    int err = atomic_open(&af, path);
    if (err)
        return err;
    if (len && fwrite(buf, 1, len, af.f) != len) {
        err = -errno ? -errno : -EIO;
        atomic_abort(&af);
        return err;
    }
    return atomic_commit(&af);
}
