/* Output files (see outfile.h): atomic for regular files and new paths, in place for stdout,
 * devices, FIFOs and /dev, /proc paths. Writes go through a stdio cookie that keeps the first
 * write's errno. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/base/outfile.h"

#define PROBE_BYTES 4096
#define MAX_LINK_HOPS 40

static ssize_t cookie_write(void *cookie, const char *buf, size_t len)
{
    outfile_t *af = cookie;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(af->fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (!af->write_err)
                af->write_err = n < 0 ? -errno : -EIO;
            return 0;  /* fopencookie's way to say "failed"; errno stays set */
        }
        done += (size_t)n;
    }
    return (ssize_t)len;
}

static int wrap_fd(outfile_t *af)
{
    cookie_io_functions_t io = { .write = cookie_write };
    af->f = fopencookie(af, "w", io);
    return af->f ? 0 : -errno;
}

/* /dev and /proc hold devices and magic links (/dev/stdout -> /proc/self/fd/1): never a place
 * for a temporary file, and a rename there would replace a device node. */
static bool is_special_path(const char *path)
{
    return strncmp(path, "/dev/", 5) == 0 || strncmp(path, "/proc/", 6) == 0;
}

/* Follows symlinks at path so the rename replaces the final target, never a link. A dangling
 * link resolves to the path it names. Returns 0 or -errno. */
static int resolve_links(const char *path, char *out, size_t len)
{
    if (snprintf(out, len, "%s", path) >= (int)len)
        return -ENAMETOOLONG;
    for (int hop = 0; hop < MAX_LINK_HOPS; hop++) {
        char target[4096];
        ssize_t n = readlink(out, target, sizeof target - 1);
        if (n < 0)
            return 0;  /* not a link (or not there): out is the target */
        target[n] = '\0';
        const char *slash = strrchr(out, '/');
        int dirlen = target[0] == '/' || !slash ? 0 : (int)(slash - out) + 1;
        char next[4096];
        if (snprintf(next, sizeof next, "%.*s%s", dirlen, out, target) >= (int)sizeof next ||
            snprintf(out, len, "%s", next) >= (int)len)
            return -ENAMETOOLONG;
    }
    return -ELOOP;
}

static int open_in_place(outfile_t *af, const char *path, bool regular)
{
    af->in_place = true;
    af->own_fd = true;
    snprintf(af->path, sizeof af->path, "%s", path);
    af->fd = open(path, O_WRONLY | O_CLOEXEC | (regular ? O_CREAT | O_TRUNC : 0), 0644);
    if (af->fd < 0)
        return -errno;
    int rc = wrap_fd(af);
    if (rc)
        close(af->fd);
    return rc;
}

/* A temporary file beside af->path, with a page of space reserved and given back. */
static int open_temp(outfile_t *af)
{
    if (snprintf(af->tmp, sizeof af->tmp, "%s.tmp.XXXXXX", af->path) >= (int)sizeof af->tmp)
        return -ENAMETOOLONG;
    af->fd = mkstemp(af->tmp);
    if (af->fd < 0) {
        af->tmp[0] = '\0';
        return -errno;
    }
    af->own_fd = true;
    /* mkstemp makes 0600; reports are ordinary files. */
    (void)fchmod(af->fd, 0644);
    int rc = posix_fallocate(af->fd, 0, PROBE_BYTES);
    if (rc == EINVAL || rc == EOPNOTSUPP)
        rc = 0;  /* the filesystem cannot say; writing will */
    if (!rc && ftruncate(af->fd, 0) != 0)
        rc = errno;
    if (!rc)
        rc = -wrap_fd(af);
    if (rc) {
        close(af->fd);
        unlink(af->tmp);
        af->tmp[0] = '\0';
        return -rc;
    }
    return 0;
}

static int open_stdout(outfile_t *af)
{
    fflush(stdout);
    af->in_place = true;
    af->fd = STDOUT_FILENO;
    snprintf(af->path, sizeof af->path, "-");
    return wrap_fd(af);
}

int outfile_open(outfile_t *af, const char *path)
{
    memset(af, 0, sizeof *af);
    af->fd = -1;
    if (!path[0])
        return -ENOENT;  /* not a name for a temporary file beside it */
    if (strcmp(path, "-") == 0 || strcmp(path, "/dev/stdout") == 0)
        return open_stdout(af);
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (!exists && errno != ENOENT)
        return -errno;
    if (exists && S_ISDIR(st.st_mode))
        return -EISDIR;
    if (exists && (!S_ISREG(st.st_mode) || is_special_path(path)))
        return open_in_place(af, path, S_ISREG(st.st_mode));
    /* A new file is always made atomically, wherever it goes (/dev/shm is a tmpfs). */
    int rc = resolve_links(path, af->path, sizeof af->path);
    if (!rc && exists && is_special_path(af->path))
        return open_in_place(af, af->path, true);
    return rc ? rc : open_temp(af);
}

static int close_file(outfile_t *af)
{
    int err = fflush(af->f) != 0 ? -errno : 0;
    if (af->write_err)
        err = af->write_err;
    /* A device or a pipe has nothing to sync (fsync says EINVAL); a file does. */
    if (!err && !af->in_place && fsync(af->fd) != 0)
        err = -errno;
    fclose(af->f);
    af->f = NULL;
    if (af->own_fd && close(af->fd) != 0 && !err)
        err = -errno;
    af->fd = -1;
    return err;
}

int outfile_commit(outfile_t *af)
{
    int err = close_file(af);
    if (af->in_place)
        return err;
    if (!err && rename(af->tmp, af->path) != 0)
        err = -errno;
    if (err)
        unlink(af->tmp);
    return err;
}

void outfile_abort(outfile_t *af)
{
    if (!af->f)
        return;
    /* Closing the fd first drops the unwritten bytes: a failed report must not reach a
     * device or stdout half-way either. */
    if (af->own_fd)
        close(af->fd);
    af->own_fd = false;
    af->fd = -1;
    fclose(af->f);
    af->f = NULL;
    if (!af->in_place)
        unlink(af->tmp);
}

int outfile_fail(outfile_t *af, int rc)
{
    int err = af->write_err ? af->write_err : rc ? rc : -EIO;
    outfile_abort(af);
    return err;
}

int outfile_write(const char *path, const void *buf, size_t len)
{
    outfile_t af;
    int err = outfile_open(&af, path);
    if (err)
        return err;
    if (len && fwrite(buf, 1, len, af.f) != len)
        return outfile_fail(&af, -EIO);
    return outfile_commit(&af);
}

int outfile_check(const char *path)
{
    struct stat st;
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && !S_ISDIR(st.st_mode) &&
        (!S_ISREG(st.st_mode) || is_special_path(path)))
        return access(path, W_OK) == 0 ? 0 : -errno;
    outfile_t af;
    int rc = outfile_open(&af, path);
    if (!rc)
        outfile_abort(&af);
    return rc;
}

int outfile_check_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    char probe[4096];
    if (snprintf(probe, sizeof probe, "%s/.allocheck-probe", dir) >= (int)sizeof probe)
        return -ENAMETOOLONG;
    return outfile_check(probe);
}
