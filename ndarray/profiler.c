/* The profiler: events rendered as Chrome trace-event JSON into one buffer
 * under a mutex, streamed to a staged temporary file (am_file_stage_stream)
 * and put in place when the trace stops (docs/profiling.md). */
#include "profiler_impl.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

atomic_int am_prof_flag = -1;

/* The buffer is written to the file when it holds this much. */
#define FLUSH_BYTES ((size_t)8 << 20)
#define MAX_THREADS 256

typedef am_prof_buf sbuf;

/* The trace being recorded; everything but session is guarded by lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint session;      /* counts starts; a span remembers its own */
static struct {
    char *path;
    am_file_stage *stage;        /* the temporary the stream f writes */
    FILE *f;
    sbuf buf;                    /* rendered events not yet written */
    int64_t n_events;
    int64_t t0;                  /* CLOCK_MONOTONIC at the start, in ns */
    int pid;
    int io_errno;                /* the first write error, or 0 */
    struct { int tid; char name[32]; } threads[MAX_THREADS];
    int n_threads;
} T;
static _Thread_local struct { unsigned session; int tid; } me;
static bool exit_hook;           /* atexit(at_exit) done */

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* ---- a growing string, JSON strings ------------------------------------------------ */

/* ns as microseconds with three decimals, without floating point. */
static void sb_us(sbuf *b, const char *key, int64_t ns)
{
    if (ns < 0) ns = 0;
    am_sb_printf(b, ",\"%s\":%lld.%03d", key, (long long)(ns / 1000), (int)(ns % 1000));
}

/* Length of the valid UTF-8 sequence at s (1 to 4 bytes), or 0. */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
          : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 2 && s[0] < 0xc2) return 0; /* overlong */
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return n;
}

/* s as a JSON string: quotes, backslashes and control characters escaped,
 * invalid UTF-8 replaced by U+FFFD, so any parser takes the file. */
static void sb_json_string(sbuf *b, const char *s)
{
    am_sb_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;) {
        int n = utf8_len(p);
        if (n == 0) {
            am_sb_put(b, "\xef\xbf\xbd", 3);
            p++;
        } else if (*p == '"' || *p == '\\') {
            am_sb_put(b, "\\", 1);
            am_sb_put(b, (const char *)p++, 1);
        } else if (*p < 0x20) {
            am_sb_printf(b, "\\u%04x", *p++);
        } else {
            am_sb_put(b, (const char *)p, (size_t)n);
            p += n;
        }
    }
    am_sb_put(b, "\"", 1);
}

/* ---- event arguments ------------------------------------------------------------------ */

void am_prof_args_init(am_prof_args *a)
{
    a->b = (sbuf){.s = a->small, .cap = sizeof(a->small)};
    a->small[0] = '\0';
}

void am_prof_args_free(am_prof_args *a)
{
    if (a && a->b.heap) free(a->b.s);
    if (a) am_prof_args_init(a);
}

static void arg_key(am_prof_args *a, const char *key)
{
    if (a->b.n) am_sb_put(&a->b, ",", 1);
    sb_json_string(&a->b, key);
    am_sb_put(&a->b, ":", 1);
}

void am_prof_arg_str(am_prof_args *a, const char *key, const char *v)
{
    arg_key(a, key);
    sb_json_string(&a->b, v);
}

void am_prof_arg_int(am_prof_args *a, const char *key, int64_t v)
{
    arg_key(a, key);
    am_sb_printf(&a->b, "%lld", (long long)v);
}

void am_prof_arg_bool(am_prof_args *a, const char *key, bool v)
{
    arg_key(a, key);
    am_sb_put(&a->b, v ? "true" : "false", v ? 4 : 5);
}

void am_prof_arg_site(am_prof_args *a, const char *key, am_site at)
{
    if (!at.file) return;
    const char *base = strrchr(at.file, '/'); /* as errors and node origins name files */
    char s[512];
    snprintf(s, sizeof(s), "%s:%d", base ? base + 1 : at.file, at.line);
    am_prof_arg_str(a, key, s);
}

/* ["float32 (2, 3)", ...] from dtypes and shapes. */
static void arg_list(am_prof_args *a, const char *key, const am_shape *s, const am_dtype *dt,
                     int n)
{
    arg_key(a, key);
    am_sb_put(&a->b, "[", 1);
    for (int i = 0; i < n; i++) {
        char shape[160], item[192];
        snprintf(item, sizeof(item), "%s %s", am_dtype_name(dt[i]),
                 am_shape_format(&s[i], shape, sizeof(shape)));
        if (i) am_sb_put(&a->b, ",", 1);
        sb_json_string(&a->b, item);
    }
    am_sb_put(&a->b, "]", 1);
}

void am_prof_arg_shapes(am_prof_args *a, const char *key, const am_shape *s, const am_dtype *dt,
                        int n)
{
    arg_list(a, key, s, dt, n);
}

void am_prof_arg_arrays(am_prof_args *a, const char *key, am_array *const *x, int n,
                        int64_t *bytes)
{
    am_shape s[AM_MAX_OP_IO * 4];
    am_dtype dt[AM_MAX_OP_IO * 4];
    int k = 0;
    for (int i = 0; i < n && k < (int)(sizeof(s) / sizeof(s[0])); i++) {
        if (!x[i]) continue;
        s[k] = x[i]->shape;
        dt[k] = x[i]->dtype;
        *bytes += am_shape_size(&s[k]) * (int64_t)am_dtype_size(dt[k]);
        k++;
    }
    arg_list(a, key, s, dt, k);
}

void am_prof_arg_views(am_prof_args *a, const char *key, const am_view *v, int n, int64_t *bytes)
{
    am_shape s[AM_MAX_OP_IO * 4];
    am_dtype dt[AM_MAX_OP_IO * 4];
    int k = 0;
    for (int i = 0; i < n && k < (int)(sizeof(s) / sizeof(s[0])); i++, k++) {
        s[k].ndim = v[i].ndim;
        for (int d = 0; d < v[i].ndim; d++) s[k].dim[d] = v[i].dim[d];
        dt[k] = v[i].dtype;
        *bytes += am_shape_size(&s[k]) * (int64_t)am_dtype_size(dt[k]);
    }
    arg_list(a, key, s, dt, k);
}

/* ---- events ---------------------------------------------------------------------------- */

/* Writes what the buffer holds; keeps the first error. */
static void flush_locked(void)
{
    if (T.buf.n && T.f && fwrite(T.buf.s, 1, T.buf.n, T.f) != T.buf.n && !T.io_errno)
        T.io_errno = errno ? errno : EIO;
    T.buf.n = 0;
}

/* The calling thread's id, named in the trace the first time it records. */
static int thread_locked(unsigned sess)
{
    if (me.session == sess) return me.tid;
    me.session = sess;
    me.tid = (int)gettid();
    if (T.n_threads < MAX_THREADS) {
        T.threads[T.n_threads].tid = me.tid;
        if (me.tid == T.pid)
            snprintf(T.threads[T.n_threads].name, sizeof(T.threads[0].name), "main");
        else if (pthread_getname_np(pthread_self(), T.threads[T.n_threads].name,
                                    sizeof(T.threads[0].name)) != 0)
            snprintf(T.threads[T.n_threads].name, sizeof(T.threads[0].name), "thread %d", me.tid);
        T.n_threads++;
    }
    return me.tid;
}

/* Starts an event of phase ph on this thread ("...,"ts":...,") under lock;
 * false (and the lock released) when the trace of sess is no longer open. */
static bool event_begin(unsigned sess, char ph, const char *cat, const char *name, int64_t ns)
{
    pthread_mutex_lock(&lock);
    if (atomic_load(&am_prof_flag) != 1 || atomic_load(&session) != sess) {
        pthread_mutex_unlock(&lock);
        return false;
    }
    int tid = thread_locked(sess);
    am_sb_printf(&T.buf, "%s{\"ph\":\"%c\",", T.n_events++ ? ",\n" : "\n", ph);
    if (cat) {
        am_sb_put(&T.buf, "\"cat\":", 6);
        sb_json_string(&T.buf, cat);
        am_sb_put(&T.buf, ",", 1);
    }
    am_sb_put(&T.buf, "\"name\":", 7);
    sb_json_string(&T.buf, name);
    am_sb_printf(&T.buf, ",\"pid\":%d,\"tid\":%d", T.pid, tid);
    sb_us(&T.buf, "ts", ns - T.t0);
    return true;
}

/* Ends the event with its args and releases the lock. */
static void event_end(am_prof_args *args)
{
    am_sb_put(&T.buf, ",\"args\":{", 9);
    if (args && args->b.n && !args->b.oom) am_sb_put(&T.buf, args->b.s, args->b.n);
    am_sb_put(&T.buf, "}}", 2);
    if (T.buf.n >= FLUSH_BYTES) flush_locked();
    pthread_mutex_unlock(&lock);
}

void am_prof_begin(am_prof_span *s)
{
    s->session = atomic_load(&session);
    s->ns = now_ns();
}

void am_prof_complete(const am_prof_span *s, const char *cat, const char *name, am_prof_args *args)
{
    int64_t end = now_ns();
    if (event_begin(s->session, 'X', cat, name, s->ns)) {
        sb_us(&T.buf, "dur", end - s->ns);
        event_end(args);
    }
    am_prof_args_free(args);
}

void am_prof_instant(const char *cat, const char *name, am_prof_args *args)
{
    if (event_begin(atomic_load(&session), 'i', cat, name, now_ns())) {
        am_sb_put(&T.buf, ",\"s\":\"t\"", 8);
        event_end(args);
    }
    am_prof_args_free(args);
}

void am_prof_counter(const char *name, const char *key, int64_t v)
{
    am_prof_args a;
    am_prof_args_init(&a);
    am_prof_arg_int(&a, key, v);
    if (event_begin(atomic_load(&session), 'C', "memory", name, now_ns())) event_end(&a);
    am_prof_args_free(&a);
}

void am_prof_op(const am_prof_span *s, const am_op_def *op, am_array *const *in, int n_in,
                am_array *const *out, int n_out, am_status st, am_site at)
{
    for (int i = 0; i < n_in; i++)
        if (!in[i] || !in[i]->storage) return; /* traced, not run: the trace's own event */
    am_prof_args a;
    int64_t bytes = 0;
    am_prof_args_init(&a);
    am_prof_arg_arrays(&a, "inputs", in, n_in, &bytes);
    if (st == AM_OK) am_prof_arg_arrays(&a, "outputs", out, n_out, &bytes);
    am_prof_arg_int(&a, "bytes", bytes);
    am_prof_arg_site(&a, "origin", at);
    if (st != AM_OK) am_prof_arg_str(&a, "error", am_last_error());
    am_prof_complete(s, "op", op->name, &a);
}

/* ---- starting and stopping ------------------------------------------------------------- */

static void free_locked(void)
{
    free(T.path), free(T.buf.s);
    T.path = NULL;
    T.stage = NULL;
    T.buf = (sbuf){0};
    T.f = NULL;
}

/* Opens the temporary file and writes the head of the trace; the reason
 * of a failure goes to err. */
static am_status start_locked(const char *path, char *err, size_t len)
{
    if (!(T.path = strdup(path))) {
        snprintf(err, len, "out of memory");
        return AM_ERR_OOM;
    }
    T.pid = (int)getpid();
    am_status st = am_file_stage_stream(path, &T.stage, &T.f);
    if (st != AM_OK) {
        const char *slash = strrchr(path, '/');
        struct stat sb;
        char *dir = slash ? strndup(path, (size_t)(slash - path)) : NULL;
        if (dir && dir[0] && stat(dir, &sb) != 0 && errno == ENOENT)
            snprintf(err, len, "cannot write the trace '%s': the directory '%s' does not exist",
                     path, dir);
        else
            snprintf(err, len, "cannot write the trace: %s", am_last_error());
        free(dir);
        am_clear_error();
        free_locked();
        return st;
    }
    T.n_events = 0;
    T.n_threads = 0;
    T.io_errno = 0;
    T.t0 = now_ns();
    am_sb_printf(&T.buf, "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"producer\":\"Amber %s\","
              "\"clock\":\"CLOCK_MONOTONIC, microseconds since am_profiler_start\"},"
              "\"traceEvents\":[", AM_VERSION_STRING);
    atomic_fetch_add(&session, 1);
    atomic_store(&am_prof_flag, 1);
    return AM_OK;
}

static void at_exit(void)
{
    if (am_profiler_stop() != AM_OK) fprintf(stderr, "amber: %s\n", am_last_error());
}

bool am_prof_active(void)
{
    if (atomic_load(&am_prof_flag) >= 0) return atomic_load(&am_prof_flag) == 1;
    pthread_mutex_lock(&lock);
    if (atomic_load(&am_prof_flag) < 0) {
        const char *path = getenv("AM_PROFILE");
        char err[1024];
        if (path && path[0]) {
            if (start_locked(path, err, sizeof(err)) != AM_OK)
                fprintf(stderr, "amber: AM_PROFILE=%s: %s; not profiling\n", path, err);
            else if (!exit_hook)
                exit_hook = atexit(at_exit) == 0;
        }
        if (atomic_load(&am_prof_flag) < 0) atomic_store(&am_prof_flag, 0);
    }
    pthread_mutex_unlock(&lock);
    return atomic_load(&am_prof_flag) == 1;
}

am_status am_profiler_start(const char *path)
{
    char err[1024];
    if (!path || !path[0]) return am_fail(AM_ERR_ARG, "am_profiler_start: no path given");
    pthread_mutex_lock(&lock);
    if (atomic_load(&am_prof_flag) == 1) {
        snprintf(err, sizeof(err), "already recording into '%s'; stop it first", T.path);
        pthread_mutex_unlock(&lock);
        return am_fail(AM_ERR_ARG, "am_profiler_start: %s", err);
    }
    am_status st = start_locked(path, err, sizeof(err));
    pthread_mutex_unlock(&lock);
    return st == AM_OK ? AM_OK : am_fail(st, "am_profiler_start: %s", err);
}

/* The "M" events naming the process and every thread that recorded. */
static void metadata_locked(void)
{
    sbuf *b = &T.buf;
    am_sb_printf(b, "%s{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":%d,\"args\":"
              "{\"name\":", T.n_events ? ",\n" : "\n", T.pid, T.pid);
    char name[256];
    snprintf(name, sizeof(name), "%s (Amber)", program_invocation_short_name);
    sb_json_string(b, name);
    am_sb_put(b, "}}", 2);
    for (int i = 0; i < T.n_threads; i++) {
        am_sb_printf(b, ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,\"args\":"
                  "{\"name\":", T.pid, T.threads[i].tid);
        sb_json_string(b, T.threads[i].name);
        am_sb_put(b, "}}", 2);
    }
    am_sb_put(b, "\n]}\n", 4);
}

am_status am_profiler_stop(void)
{
    pthread_mutex_lock(&lock);
    if (atomic_load(&am_prof_flag) != 1) {
        pthread_mutex_unlock(&lock);
        return AM_OK;
    }
    atomic_store(&am_prof_flag, 0);
    metadata_locked();
    int e = T.buf.oom ? ENOMEM : 0;
    flush_locked();
    if (!e) e = T.io_errno;
    char err[1024] = "";
    am_status st;
    if (e) {
        fclose(T.f);
        am_file_stage_discard(T.stage);
        snprintf(err, sizeof(err), "cannot write the trace '%s': %s", T.path, strerror(e));
        st = AM_ERR_IO;
    } else if ((st = am_file_stage_finish(T.stage, T.f, AM_OK)) != AM_OK) {
        snprintf(err, sizeof(err), "cannot write the trace: %s", am_last_error());
    }
    free_locked();
    pthread_mutex_unlock(&lock);
    return st != AM_OK ? am_fail(st, "am_profiler_stop: %s", err) : AM_OK;
}

bool am_profiler_is_recording(void)
{
    return am_prof_active();
}
