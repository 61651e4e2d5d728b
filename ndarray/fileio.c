/* Writing files so that a failure never leaves a partial file: the bytes go
 * to a fresh temporary file beside the target, which is synced and renamed
 * over it. */
#include "ndarray_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Creates a fresh file beside path (so that rename(2) stays on one file
 * system); the name goes to *tmp, which the caller frees. */
static int open_temp(const char *path, char **tmp)
{
    static atomic_uint counter;
    size_t cap = strlen(path) + 48;
    *tmp = malloc(cap);
    if (!*tmp) return -1;
    for (int tries = 0; tries < 100; tries++) {
        snprintf(*tmp, cap, "%s.%ld.%u.tmp", path, (long)getpid(), atomic_fetch_add(&counter, 1));
        int fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

am_status am_file_write_atomic(const char *path, am_status (*write)(FILE *f, void *ctx), void *ctx)
{
    char *tmp = NULL;
    int fd = open_temp(path, &tmp), err = 0;
    if (fd < 0) {
        am_status st = am_fail(AM_ERR_IO, "cannot create a file beside %s: %s", path,
                               tmp ? strerror(errno) : "out of memory");
        free(tmp);
        return st;
    }
    FILE *f = fdopen(fd, "wb");
    am_status st = f ? write(f, ctx) : AM_ERR_IO;
    if (!f) err = errno, close(fd);
    if (st == AM_OK && (fflush(f) != 0 || fsync(fileno(f)) != 0)) st = AM_ERR_IO, err = errno;
    if (f && fclose(f) != 0 && st == AM_OK) st = AM_ERR_IO, err = errno;
    if (st == AM_OK && rename(tmp, path) != 0) st = AM_ERR_IO, err = errno;
    if (st != AM_OK) {
        unlink(tmp);
        /* A writer's own failure keeps its message; I/O failures say why. */
        if (err || am_last_status() == AM_OK)
            am_fail(AM_ERR_IO, "cannot write %s: %s", path, strerror(err ? err : EIO));
    }
    free(tmp);
    return st;
}

am_status am_file_open_read(const char *path, FILE **f, uint64_t *size)
{
    struct stat st;
    *f = NULL;
    if (!path) return am_fail(AM_ERR_ARG, "path is NULL");
    FILE *fp = fopen(path, "rb");
    if (!fp) return am_fail(AM_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return am_fail(AM_ERR_IO, "%s: not a regular file", path);
    }
    *f = fp;
    *size = (uint64_t)st.st_size;
    return AM_OK;
}
