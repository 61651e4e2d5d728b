/* The files suite: what every reader and writer promises about files
 * (docs/files.md): readers refuse FIFOs and devices without blocking;
 * writers report the system's errno with the path; saves write through
 * symbolic links, keep the target's mode, remove temporaries a killed save
 * left behind, and leave the old or the new file after a SIGKILL. */
#include "test_util.h"

#include <amber/io.h>
#include <amber/symbol.h>
#include <amber/data.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64];

static void dir_begin(void)
{
    snprintf(dir, sizeof(dir), "/tmp/amber-files-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
}

/* dir/name, in a rotating buffer (a few may be live in one call). */
static const char *path_of(const char *name)
{
    static char bufs[4][sizeof(dir) + 256];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
    return b;
}

/* Entries of dir whose name contains part (NULL: all). */
static int count_entries(const char *part)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && (!part || strstr(e->d_name, part)))
            n++;
    if (d) closedir(d);
    return n;
}

static void dir_end(void)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlinkat(dirfd(d), e->d_name, 0);
    if (d) closedir(d);
    rmdir(dir);
}

static void hooks_reset(void)
{
    am_file_test = (am_file_test_hooks){.write_fd = -1};
}

/* ---- reading ------------------------------------------------------------------------ */

/* A FIFO with no writer and a character device are refused at once, by
 * every reader, with the path and what it is. */
static void test_readers_refuse_fifo_and_devices(void)
{
    dir_begin();
    const char *fifo = path_of("fifo");
    CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
    alarm(30); /* a reader that blocks would hang the suite: fail it instead */
    am_scope_begin();
    TU_ASSERT_FAILS(am_npy_load(fifo), AM_ERR_IO, "fifo: not a regular file (a FIFO)");
    TU_ASSERT_FAILS(am_ndlist_load(fifo), AM_ERR_IO, "am_ndlist_load: ");
    TU_ASSERT_FAILS(am_ndlist_load(fifo), AM_ERR_IO, "(a FIFO)");
    TU_ASSERT_FAILS(am_graph_load(fifo), AM_ERR_IO, "am_graph_load: ");
    TU_ASSERT_FAILS(am_graph_load(fifo), AM_ERR_IO, "(a FIFO)");
    TU_ASSERT_FAILS(am_idx_load(fifo), AM_ERR_IO, "(a FIFO)");
    TU_ASSERT_FAILS(am_npy_load("/dev/zero"), AM_ERR_IO,
                    "/dev/zero: not a regular file (a character device)");
    TU_ASSERT_FAILS(am_graph_load("/dev/null"), AM_ERR_IO, "(a character device)");
    TU_ASSERT_FAILS(am_npy_load(dir), AM_ERR_IO, "(a directory)");
    /* a link to a regular file reads as the file */
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1, 2);
    CU_ASSERT_EQUAL(am_npy_save(path_of("x.npy"), x), AM_OK);
    CU_ASSERT_EQUAL(symlink("x.npy", path_of("link.npy")), 0);
    TU_ASSERT_VALUES(am_npy_load(path_of("link.npy")), AM_SHAPE(2), 0, 1, 2);
    am_scope_end();
    alarm(0);
    dir_end();
}

/* ---- write errors --------------------------------------------------------------------- */

static am_status write_text(FILE *f, void *ctx)
{
    return fputs(ctx, f) >= 0 ? AM_OK : AM_ERR_IO;
}

static am_status write_own_error(FILE *f, void *ctx)
{
    (void)ctx;
    fputs("partial", f);
    return am_fail(AM_ERR_DTYPE, "the writer's own reason");
}

/* Bytes that go to /dev/full fail with ENOSPC: every writer says "No space
 * left on device" and the path, and leaves nothing behind. */
static void test_full_disk_reports_enospc(void)
{
    dir_begin();
    am_scope_begin();
    int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
    CU_ASSERT_FATAL(full >= 0);
    am_array *big = am_ones(AM_SHAPE(256, 1024), AM_DTYPE_FLOAT32), *one = am_ones(AM_SHAPE(1),
                                                                                     AM_DTYPE_FLOAT32);
    am_ndlist *l = am_ndlist_create();
    am_ndlist_add(l, "arg:w", big);
    am_graph *g = am_graph_load("tests/fixtures/mlp-symbol.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    char want[512];
    am_file_test.write_fd = full;
    /* large (the writer's fwrite fails) and small (the final flush fails) */
    snprintf(want, sizeof(want), "am_npy_save: cannot write %s: No space left on device",
             path_of("big.npy"));
    TU_ASSERT_STATUS(am_npy_save(path_of("big.npy"), big), AM_ERR_IO, want);
    snprintf(want, sizeof(want), "cannot write %s: No space left on device", path_of("one.npy"));
    TU_ASSERT_STATUS(am_npy_save(path_of("one.npy"), one), AM_ERR_IO, want);
    snprintf(want, sizeof(want), "am_ndlist_save: cannot write %s: No space left on device",
             path_of("w.params"));
    TU_ASSERT_STATUS(am_ndlist_save(l, path_of("w.params")), AM_ERR_IO, want);
    snprintf(want, sizeof(want), "cannot write %s: No space left on device", path_of("g.json"));
    TU_ASSERT_STATUS(am_graph_save(g, path_of("g.json")), AM_ERR_IO, want);
    CU_ASSERT_EQUAL(count_entries(NULL), 0);
    /* An old file stays as it was. */
    am_file_test.write_fd = -1;
    CU_ASSERT_EQUAL(am_npy_save(path_of("one.npy"), one), AM_OK);
    am_file_test.write_fd = full;
    TU_ASSERT_STATUS(am_npy_save(path_of("one.npy"), big), AM_ERR_IO, "No space left on device");
    TU_ASSERT_VALUES(am_npy_load(path_of("one.npy")), AM_SHAPE(1), 0, 1);
    CU_ASSERT_EQUAL(count_entries(NULL), 1);
    am_file_test.write_fd = -1;
    close(full);

    /* Any errno, at any point, in the writer or in fsync, keeps its words. */
    am_file_test.fail_errno = EDQUOT;
    am_file_test.fail_after = 100;
    TU_ASSERT_STATUS(am_npy_save(path_of("q.npy"), big), AM_ERR_IO, "q.npy: Disk quota exceeded");
    am_file_test.fail_after = 0;
    TU_ASSERT_STATUS(am_file_write_atomic(path_of("t.txt"), write_text, "hello"), AM_ERR_IO,
                     "t.txt: Disk quota exceeded");
    am_file_test.fail_errno = 0;
    am_file_test.fsync_errno = ENOSPC;
    TU_ASSERT_STATUS(am_ndlist_save(l, path_of("w.params")), AM_ERR_IO,
                     "w.params: No space left on device");
    hooks_reset();
    /* A writer's own failure keeps its own message. */
    TU_ASSERT_STATUS(am_file_write_atomic(path_of("o.txt"), write_own_error, NULL), AM_ERR_DTYPE,
                     "the writer's own reason");
    CU_ASSERT_EQUAL(count_entries(NULL), 1);
    am_graph_release(g);
    am_ndlist_free(l);
    am_scope_end();
    dir_end();
}

/* ---- the target ------------------------------------------------------------------------ */

static mode_t mode_of(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? sb.st_mode & 07777 : (mode_t)-1;
}

static bool is_link(const char *p)
{
    struct stat sb;
    return lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode);
}

/* A save keeps the mode of the file it replaces; a new file gets the umask's. */
static void test_save_keeps_mode(void)
{
    dir_begin();
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 3, 4);
    mode_t mask = umask(022);
    CU_ASSERT_EQUAL(am_npy_save(path_of("new.npy"), x), AM_OK);
    CU_ASSERT_EQUAL(mode_of(path_of("new.npy")), 0644);
    umask(077);
    CU_ASSERT_EQUAL(am_npy_save(path_of("new2.npy"), x), AM_OK);
    CU_ASSERT_EQUAL(mode_of(path_of("new2.npy")), 0600);
    umask(022);
    CU_ASSERT_EQUAL(chmod(path_of("new.npy"), 0600), 0);
    CU_ASSERT_EQUAL(am_npy_save(path_of("new.npy"), x), AM_OK);
    CU_ASSERT_EQUAL(mode_of(path_of("new.npy")), 0600);
    CU_ASSERT_EQUAL(chmod(path_of("new.npy"), 0640), 0);
    am_file_test.no_tmpfile = true; /* both ways of making the temporary */
    CU_ASSERT_EQUAL(am_npy_save(path_of("new.npy"), x), AM_OK);
    CU_ASSERT_EQUAL(mode_of(path_of("new.npy")), 0640);
    hooks_reset();
    umask(mask);
    TU_ASSERT_VALUES(am_npy_load(path_of("new.npy")), AM_SHAPE(2), 0, 3, 4);
    CU_ASSERT_EQUAL(count_entries(NULL), 2);
    am_scope_end();
    dir_end();
}

/* Saving over a symbolic link writes the file it names (relative links
 * resolve from the link's directory; a dangling link makes its target);
 * a loop, a FIFO or a directory is refused and left alone. */
static void test_save_through_symlinks(void)
{
    dir_begin();
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 5, 6);
    CU_ASSERT_EQUAL(am_npy_save(path_of("real.npy"), tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1), 0)),
                    AM_OK);
    CU_ASSERT_EQUAL(chmod(path_of("real.npy"), 0600), 0);
    CU_ASSERT_EQUAL(mkdir(path_of("sub"), 0700), 0);
    CU_ASSERT_EQUAL(symlink("../real.npy", path_of("sub/link.npy")), 0);
    CU_ASSERT_EQUAL(symlink("sub/link.npy", path_of("chain.npy")), 0);
    CU_ASSERT_EQUAL(am_npy_save(path_of("chain.npy"), x), AM_OK);
    CU_ASSERT(is_link(path_of("chain.npy")));
    CU_ASSERT(is_link(path_of("sub/link.npy")));
    CU_ASSERT_EQUAL(mode_of(path_of("real.npy")), 0600);
    TU_ASSERT_VALUES(am_npy_load(path_of("real.npy")), AM_SHAPE(2), 0, 5, 6);
    /* an absolute link, and a dangling one */
    CU_ASSERT_EQUAL(symlink(path_of("made.npy"), path_of("dangling.npy")), 0);
    am_file_test.no_tmpfile = true;
    CU_ASSERT_EQUAL(am_npy_save(path_of("dangling.npy"), x), AM_OK);
    hooks_reset();
    CU_ASSERT(is_link(path_of("dangling.npy")));
    TU_ASSERT_VALUES(am_npy_load(path_of("made.npy")), AM_SHAPE(2), 0, 5, 6);
    CU_ASSERT_EQUAL(count_entries(NULL), 5); /* real, sub, chain, dangling, made */
    CU_ASSERT_EQUAL(count_entries("amber-tmp"), 0);
    /* refusals */
    CU_ASSERT_EQUAL(symlink("loop.npy", path_of("loop.npy")), 0);
    TU_ASSERT_STATUS(am_npy_save(path_of("loop.npy"), x), AM_ERR_IO,
                     "loop.npy: Too many levels of symbolic links");
    CU_ASSERT_EQUAL(mkfifo(path_of("fifo.npy"), 0600), 0);
    TU_ASSERT_STATUS(am_npy_save(path_of("fifo.npy"), x), AM_ERR_IO, "fifo.npy: a FIFO");
    struct stat sb;
    CU_ASSERT(stat(path_of("fifo.npy"), &sb) == 0 && S_ISFIFO(sb.st_mode));
    TU_ASSERT_STATUS(am_npy_save(path_of("sub"), x), AM_ERR_IO, "sub: Is a directory");
    CU_ASSERT_EQUAL(count_entries(NULL), 7);
    am_scope_end();
    unlink(path_of("sub/link.npy"));
    rmdir(path_of("sub"));
    dir_end();
}

/* A pid that no process has: a child's, after it was reaped. */
static pid_t dead_pid(void)
{
    pid_t p = fork();
    if (p == 0) _exit(0);
    waitpid(p, NULL, 0);
    return p;
}

/* Temporaries of a dead process are removed by the next save of the same
 * target; those of live processes and of other targets are not. */
static void test_stale_temporaries_removed(void)
{
    dir_begin();
    am_scope_begin();
    char name[128];
    pid_t dead = dead_pid();
    snprintf(name, sizeof(name), ".x.npy.amber-tmp.%d.0", (int)dead);
    FILE *f = fopen(path_of(name), "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    snprintf(name, sizeof(name), ".y.npy.amber-tmp.%d.0", (int)dead);
    fclose(fopen(path_of(name), "w"));
    snprintf(name, sizeof(name), ".x.npy.amber-tmp.%d.0", (int)getppid());
    fclose(fopen(path_of(name), "w"));
    CU_ASSERT_EQUAL(count_entries("amber-tmp"), 3);
    CU_ASSERT_EQUAL(am_npy_save(path_of("x.npy"), am_ones(AM_SHAPE(2), AM_DTYPE_FLOAT32)), AM_OK);
    CU_ASSERT_EQUAL(count_entries(".x.npy.amber-tmp."), 1); /* the live one */
    CU_ASSERT_EQUAL(count_entries(".y.npy.amber-tmp."), 1); /* another target's */
    CU_ASSERT_EQUAL(count_entries(NULL), 3);
    am_scope_end();
    dir_end();
}

/* Staged writes: nothing shows until the commit; a discard leaves nothing. */
static void test_staged_writes(void)
{
    dir_begin();
    am_scope_begin();
    am_file_stage *a = NULL, *b = NULL;
    CU_ASSERT_EQUAL(am_file_write_atomic(path_of("b.txt"), write_text, "old"), AM_OK);
    CU_ASSERT_EQUAL(am_file_stage_write(path_of("a.txt"), write_text, "A", &a), AM_OK);
    CU_ASSERT_EQUAL(am_file_stage_write(path_of("b.txt"), write_text, "new", &b), AM_OK);
    CU_ASSERT(access(path_of("a.txt"), F_OK) != 0);
    am_file_stage_discard(a);
    CU_ASSERT_EQUAL(am_file_stage_commit(b), AM_OK);
    char buf[16] = {0};
    FILE *f = fopen(path_of("b.txt"), "r");
    CU_ASSERT(f && fread(buf, 1, sizeof(buf) - 1, f) == 3);
    if (f) fclose(f);
    CU_ASSERT_STRING_EQUAL(buf, "new");
    CU_ASSERT_EQUAL(count_entries(NULL), 1);
    am_file_test.no_tmpfile = true;
    CU_ASSERT_EQUAL(am_file_stage_write(path_of("a.txt"), write_text, "A", &a), AM_OK);
    CU_ASSERT_EQUAL(count_entries("amber-tmp"), 1);
    am_file_stage_discard(a);
    hooks_reset();
    CU_ASSERT_EQUAL(count_entries(NULL), 1);
    TU_ASSERT_STATUS(am_file_stage_write(NULL, write_text, "A", &a), AM_ERR_ARG, "path is NULL");
    CU_ASSERT_PTR_NULL(a);
    am_file_stage_discard(NULL);
    CU_ASSERT_EQUAL(am_file_stage_commit(NULL), AM_OK);
    am_scope_end();
    dir_end();
}

/* ---- SIGKILL mid-save ----------------------------------------------------------------- */

#define KILL_N (4 << 20) /* floats in the new file: 16 MiB */

/* True when path holds the old file (1024 ones) or the new one (KILL_N twos). */
static bool old_or_new(const char *path)
{
    am_scope_begin();
    am_clear_error();
    am_array *x = am_npy_load(path);
    bool ok = false;
    if (x && am_array_dtype(x) == AM_DTYPE_FLOAT32 && am_array_ndim(x) == 1) {
        int64_t n = am_array_dim(x, 0);
        const float *v = am_array_data(x), want = n == 1024 ? 1.0f : 2.0f;
        ok = n == 1024 || n == KILL_N;
        for (int64_t i = 0; ok && i < n; i++) ok = v[i] == want;
    }
    if (!ok) printf("\n  %s is neither the old nor the new file: %s\n", path, am_last_error());
    am_scope_end();
    return ok;
}

/* Forks children that save a 16 MiB file over a 4 KiB one and kills them
 * at random points of the save: the target is always the old or the new
 * file, and the next save that completes leaves no temporary. */
static void kill_mid_save(bool tmpfile, int kills)
{
    dir_begin();
    am_scope_begin();
    const char *target = path_of("t.npy");
    am_array *old = am_ones(AM_SHAPE(1024), AM_DTYPE_FLOAT32);
    am_array *big = am_full(AM_SHAPE(KILL_N), AM_DTYPE_FLOAT32, 2.0);
    CU_ASSERT_FATAL(old && big);
    am_file_test.no_tmpfile = !tmpfile;
    /* how long one save takes, to spread the kills over it */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CU_ASSERT_EQUAL(am_npy_save(target, big), AM_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long span_us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
    if (span_us < 1000) span_us = 1000;
    unsigned seed = 12345;
    int left_behind = 0;
    for (int k = 0; k < kills; k++) {
        if (k % 2 == 0) CU_ASSERT_EQUAL(am_npy_save(target, old), AM_OK);
        pid_t p = fork();
        CU_ASSERT_FATAL(p >= 0);
        if (p == 0) _exit(am_npy_save(target, big) == AM_OK ? 0 : 1);
        usleep((useconds_t)(rand_r(&seed) % (unsigned long)(span_us * 5 / 4)));
        kill(p, SIGKILL);
        int status = 0;
        waitpid(p, &status, 0);
        CU_ASSERT(old_or_new(target));
        left_behind += count_entries("amber-tmp") > 0;
    }
    CU_ASSERT_EQUAL(am_npy_save(target, old), AM_OK);
    CU_ASSERT(old_or_new(target));
    CU_ASSERT_EQUAL(count_entries(NULL), 1);
    if (!tmpfile && left_behind == 0)
        printf("\n  note: no kill landed while a named temporary existed\n");
    hooks_reset();
    am_scope_end();
    dir_end();
}

static void test_kill_mid_save_named(void) { kill_mid_save(false, 20); }
static void test_kill_mid_save_tmpfile(void) { kill_mid_save(true, 6); }

CU_TestInfo am_tests_files[] = {
    {"readers refuse FIFOs and devices without blocking", test_readers_refuse_fifo_and_devices},
    {"a full disk says ENOSPC and the path", test_full_disk_reports_enospc},
    {"saves keep the target's mode", test_save_keeps_mode},
    {"saves write through symbolic links", test_save_through_symlinks},
    {"stale temporaries of dead saves are removed", test_stale_temporaries_removed},
    {"staged writes show only when committed", test_staged_writes},
    {"SIGKILL mid-save, named temporaries (20 kills)", test_kill_mid_save_named},
    {"SIGKILL mid-save, O_TMPFILE", test_kill_mid_save_tmpfile},
    CU_TEST_INFO_NULL,
};
