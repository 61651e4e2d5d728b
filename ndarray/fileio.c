/* Reading and writing files (the guarantees are in docs/files.md).
 *
 * Reading: am_file_open_read opens with O_NONBLOCK, so that a FIFO or a
 * device cannot block the open, refuses anything but a regular file, then
 * reads in blocking mode.  Every file reader goes through it.
 *
 * Writing: the bytes go to a temporary file in the target's directory (an
 * unnamed O_TMPFILE where the file system has one, else
 * ".<name>.amber-tmp.<pid>.<n>"), which takes the target's mode, is synced
 * and renamed over the target; then the directory is synced.  A symbolic
 * link is written through to the file it names.  Temporaries that a killed
 * process left (their pid is gone) are removed by the next save of the same
 * target.  Write errors keep the system's errno and name the path. */
#include "ndarray_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

am_file_test_hooks am_file_test = {.write_fd = -1};

/* What kind of file a non-regular mode is, for error messages. */
static const char *file_kind(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

/* ---- reading ----------------------------------------------------------------------- */

am_status am_file_open_read(const char *path, FILE **f, uint64_t *size)
{
    struct stat sb;
    *f = NULL;
    if (!path) return am_fail(AM_ERR_ARG, "path is NULL");
    /* O_NONBLOCK: opening a FIFO with no writer, or a device, returns at once. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return am_fail(AM_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return am_fail(AM_ERR_IO, "cannot stat %s: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return am_fail(AM_ERR_IO, "%s: not a regular file (%s); Amber reads only regular files",
                       path, file_kind(sb.st_mode));
    }
    int fl = fcntl(fd, F_GETFL);
    FILE *fp = NULL;
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 || !(fp = fdopen(fd, "rb"))) {
        int e = errno;
        close(fd);
        return am_fail(AM_ERR_IO, "cannot open %s: %s", path, strerror(e));
    }
    *f = fp;
    *size = (uint64_t)sb.st_size;
    return AM_OK;
}

/* ---- where a save goes --------------------------------------------------------------- */

/* What the stream over a temporary writes to: the fd, and the first errno of
 * a failed write, which fwrite's return and ferror lose. */
typedef struct sink {
    int fd;
    int err;
    uint64_t written;
} sink;

struct am_file_stage {
    char *path;       /* as the caller gave it, for messages */
    char *target;     /* the file the rename replaces: path with symbolic links followed */
    char *dir;        /* target's directory */
    char *tmp;        /* the named temporary, or NULL while the O_TMPFILE has no name */
    int fd;           /* the temporary, open until the commit */
    sink k;           /* the stream's state while one is open */
};

static char *join_dir(const char *dir, size_t dlen, const char *name)
{
    size_t n = strlen(name);
    char *s = malloc(dlen + n + 2);
    if (!s) return NULL;
    memcpy(s, dir, dlen);
    s[dlen] = '/';
    memcpy(s + dlen + 1, name, n + 1);
    return s;
}

/* path with every symbolic link of its last component followed (a dangling
 * link names the file to create).  NULL with errno set on failure. */
static char *resolve_target(const char *path)
{
    char *cur = strdup(path);
    for (int hops = 0; cur; hops++) {
        struct stat sb;
        if (lstat(cur, &sb) != 0) {
            if (errno == ENOENT) return cur; /* a new file, maybe through a dangling link */
            break;
        }
        if (!S_ISLNK(sb.st_mode)) return cur;
        if (hops == 40) {
            errno = ELOOP;
            break;
        }
        size_t cap = (size_t)sb.st_size + 1 > 256 ? (size_t)sb.st_size + 1 : 256;
        char *link = malloc(cap);
        ssize_t n = link ? readlink(cur, link, cap) : -1;
        if (n < 0 || (size_t)n >= cap) {
            if (n >= 0) errno = ENAMETOOLONG; /* the link changed under us */
            free(link);
            break;
        }
        link[n] = '\0';
        char *slash = strrchr(cur, '/'), *next = link;
        if (link[0] != '/' && slash) { /* relative to the link's own directory */
            next = join_dir(cur, (size_t)(slash - cur), link);
            free(link);
        }
        free(cur);
        cur = next;
    }
    int e = errno;
    free(cur);
    errno = e ? e : ENOMEM;
    return NULL;
}

/* Removes the temporaries of target ".<name>.amber-tmp.<pid>.<n>" whose
 * process is gone (killed mid-save).  Best effort: failures are ignored. */
static void remove_stale(const char *dir, const char *name)
{
    DIR *d = opendir(dir);
    if (!d) return;
    size_t n = strlen(name);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *s = e->d_name;
        if (s[0] != '.' || strncmp(s + 1, name, n) != 0 || strncmp(s + 1 + n, ".amber-tmp.", 11))
            continue;
        char *end = NULL;
        long pid = strtol(s + n + 12, &end, 10);
        if (end == s + n + 12 || *end != '.' || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to know */
        unlinkat(dirfd(d), s, 0);
    }
    closedir(d);
}

/* Names a temporary ".<name>.amber-tmp.<pid>.<n>" beside the target in
 * s->tmp: with fd < 0 creates it and returns its fd; else links the
 * O_TMPFILE fd to that name and returns fd.  -1 with errno on failure. */
static int name_temp(am_file_stage *s, int fd)
{
    static atomic_uint counter;
    const char *slash = strrchr(s->target, '/');
    const char *name = slash ? slash + 1 : s->target;
    size_t cap = strlen(s->dir) + strlen(name) + 64;
    char proc[64];
    if (!(s->tmp = malloc(cap))) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    for (int tries = 0; tries < 100; tries++) {
        snprintf(s->tmp, cap, "%s/.%s.amber-tmp.%ld.%u", s->dir, name, (long)getpid(),
                 atomic_fetch_add(&counter, 1));
        int r = fd >= 0 ? linkat(AT_FDCWD, proc, AT_FDCWD, s->tmp, AT_SYMLINK_FOLLOW)
                        : open(s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (r >= 0) return fd >= 0 ? fd : r;
        if (errno != EEXIST) break;
    }
    int e = errno;
    free(s->tmp);
    s->tmp = NULL;
    errno = e;
    return -1;
}

/* An unnamed temporary in dir, or -1 where the file system (or /proc, which
 * linkat needs to name it) has none. */
static int open_unnamed(const char *dir)
{
#ifdef O_TMPFILE
    if (am_file_test.no_tmpfile || access("/proc/self/fd", X_OK) != 0) return -1;
    return open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
#else
    (void)dir;
    return -1;
#endif
}

static void stage_free(am_file_stage *s)
{
    if (!s) return;
    if (s->fd >= 0) close(s->fd);
    if (s->tmp) unlink(s->tmp);
    free(s->path);
    free(s->target);
    free(s->dir);
    free(s->tmp);
    free(s);
}

/* Resolves the target, checks it, clears stale temporaries and opens a
 * temporary with the target's mode. */
static am_status stage_open(const char *path, am_file_stage **out)
{
    am_file_stage *s = calloc(1, sizeof(*s));
    struct stat sb;
    bool exists = false;
    *out = NULL;
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return am_fail(AM_ERR_OOM, "cannot write %s: out of memory", path);
    }
    s->fd = -1;
    if (!(s->target = resolve_target(path))) {
        int e = errno;
        stage_free(s);
        return am_fail(AM_ERR_IO, "cannot write %s: %s", path, strerror(e));
    }
    if (stat(s->target, &sb) == 0) {
        exists = true;
        if (!S_ISREG(sb.st_mode)) {
            stage_free(s);
            return am_fail(AM_ERR_IO, "cannot write %s: %s", path, S_ISDIR(sb.st_mode) ?
                           strerror(EISDIR) : file_kind(sb.st_mode));
        }
    }
    const char *slash = strrchr(s->target, '/');
    s->dir = slash == s->target ? strdup("/")
           : slash ? strndup(s->target, (size_t)(slash - s->target)) : strdup(".");
    if (!s->dir) {
        stage_free(s);
        return am_fail(AM_ERR_OOM, "cannot write %s: out of memory", path);
    }
    remove_stale(s->dir, slash ? slash + 1 : s->target);
    if ((s->fd = open_unnamed(s->dir)) < 0) s->fd = name_temp(s, -1);
    if (s->fd < 0) {
        int e = errno;
        stage_free(s);
        return am_fail(AM_ERR_IO, "cannot create a file beside %s: %s", path, strerror(e));
    }
    /* Keep the mode (and, where allowed, the owner) of the file replaced;
     * a new file has the umask's default. */
    if (exists) {
        if ((sb.st_uid != geteuid() || sb.st_gid != getegid()) &&
            fchown(s->fd, sb.st_uid, sb.st_gid) != 0) {
            /* not ours to give away: the file becomes the writer's */
        }
        if (fchmod(s->fd, sb.st_mode & 07777) != 0) {
            int e = errno;
            stage_free(s);
            return am_fail(AM_ERR_IO, "cannot write %s: cannot keep its mode: %s", path,
                           strerror(e));
        }
    }
    *out = s;
    return AM_OK;
}

/* ---- the stream ------------------------------------------------------------------------ */

static ssize_t sink_write(void *cookie, const char *buf, size_t n)
{
    sink *k = cookie;
    int fd = am_file_test.write_fd >= 0 ? am_file_test.write_fd : k->fd;
    size_t done = 0;
    while (done < n && !k->err) {
        if (am_file_test.fail_errno && k->written >= am_file_test.fail_after) {
            k->err = am_file_test.fail_errno;
            break;
        }
        size_t want = n - done;
        if (am_file_test.fail_errno && want > am_file_test.fail_after - k->written)
            want = (size_t)(am_file_test.fail_after - k->written);
        ssize_t w = write(fd, buf + done, want);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            k->err = w < 0 ? errno : EIO;
            break;
        }
        done += (size_t)w;
        k->written += (uint64_t)w;
    }
    if (k->err) { /* a short count marks the stream failed; errno says why */
        errno = k->err;
        return (ssize_t)done;
    }
    return (ssize_t)n;
}

static int sink_close(void *cookie)
{
    (void)cookie; /* the stage owns the fd */
    return 0;
}

/* A stdio stream over the temporary (sink_write keeps the first errno). */
static FILE *stream_open(am_file_stage *s)
{
    s->k = (sink){.fd = s->fd};
    FILE *f = fopencookie(&s->k, "wb", (cookie_io_functions_t){.write = sink_write,
                                                               .close = sink_close});
    if (!f) am_fail(AM_ERR_OOM, "cannot write %s: %s", s->path, strerror(errno));
    return f;
}

/* Flushes and closes f and syncs the temporary; st is the writer's status.
 * On failure reports it (keeping the system's errno) and returns its status. */
static am_status stream_close(am_file_stage *s, FILE *f, am_status st)
{
    if (fflush(f) != 0 && st == AM_OK) st = AM_ERR_IO;
    int err = s->k.err;
    if (fclose(f) != 0 && st == AM_OK) st = AM_ERR_IO, err = err ? err : errno;
    if (st == AM_OK) {
        if (am_file_test.fsync_errno) err = am_file_test.fsync_errno, st = AM_ERR_IO;
        else if (fsync(s->fd) != 0) err = errno, st = AM_ERR_IO;
    }
    if (st == AM_OK) return AM_OK;
    /* The system's reason wins; a writer's own failure (not a stream
     * error) keeps its message; a bare AM_ERR_IO gets the generic one. */
    if (err || (st == AM_ERR_IO && am_last_status() == AM_OK))
        return am_fail(AM_ERR_IO, "cannot write %s: %s", s->path, strerror(err ? err : EIO));
    return st;
}

/* Runs write into the temporary, flushes and syncs it. */
static am_status stage_fill(am_file_stage *s, am_status (*write)(FILE *f, void *ctx), void *ctx)
{
    FILE *f = stream_open(s);
    return f ? stream_close(s, f, write(f, ctx)) : AM_ERR_OOM;
}

/* ---- staged and atomic writes ------------------------------------------------------------ */

am_status am_file_stage_write(const char *path, am_status (*write)(FILE *f, void *ctx), void *ctx,
                              am_file_stage **out)
{
    am_file_stage *s = NULL;
    *out = NULL;
    if (!path) return am_fail(AM_ERR_ARG, "path is NULL");
    am_status st = stage_open(path, &s);
    if (st == AM_OK && (st = stage_fill(s, write, ctx)) != AM_OK) stage_free(s);
    if (st == AM_OK) *out = s;
    return st;
}

am_status am_file_stage_commit(am_file_stage *s)
{
    if (!s) return AM_OK;
    am_status st = AM_OK;
    if (!s->tmp && name_temp(s, s->fd) < 0) /* an O_TMPFILE gets its name now */
        st = am_fail(AM_ERR_IO, "cannot create a file beside %s: %s", s->path, strerror(errno));
    if (st == AM_OK && rename(s->tmp, s->target) != 0)
        st = am_fail(AM_ERR_IO, "cannot write %s: %s", s->path, strerror(errno));
    if (st == AM_OK) {
        free(s->tmp);
        s->tmp = NULL;
        /* The rename is durable once the directory is synced (file systems
         * that cannot sync a directory say EINVAL: nothing more to do). */
        int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || (fsync(dfd) != 0 && errno != EINVAL && errno != EROFS))
            st = am_fail(AM_ERR_IO, "%s was written but its directory %s could not be synced: %s",
                         s->path, s->dir, strerror(errno));
        if (dfd >= 0) close(dfd);
    }
    stage_free(s);
    return st;
}

void am_file_stage_discard(am_file_stage *s)
{
    stage_free(s);
}

am_status am_file_stage_stream(const char *path, am_file_stage **out, FILE **f)
{
    am_file_stage *s = NULL;
    *out = NULL, *f = NULL;
    if (!path) return am_fail(AM_ERR_ARG, "path is NULL");
    am_status st = stage_open(path, &s);
    if (st != AM_OK) return st;
    if (!(*f = stream_open(s))) {
        stage_free(s);
        return am_last_status();
    }
    *out = s;
    return AM_OK;
}

am_status am_file_stage_finish(am_file_stage *s, FILE *f, am_status st)
{
    if ((st = stream_close(s, f, st)) != AM_OK) {
        stage_free(s);
        return st;
    }
    return am_file_stage_commit(s);
}

am_status am_file_write_atomic(const char *path, am_status (*write)(FILE *f, void *ctx), void *ctx)
{
    am_file_stage *s = NULL;
    am_status st = am_file_stage_write(path, write, ctx, &s);
    return st == AM_OK ? am_file_stage_commit(s) : st;
}
