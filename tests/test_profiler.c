/* The profiler suite: the traces it writes parse (jansson) and follow the
 * Chrome trace-event format, eager ops carry shapes and call sites, plan
 * steps fall inside their runs, threads do not corrupt each other's events,
 * and its errors; `amber run --profile` and AM_PROFILE end to end. */
#include "test_util.h"

#include <amber/amber.h>
#include <signal.h>

#include "../ndarray/ndarray_impl.h"
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIX "tests/fixtures/"

/* ---- a scratch directory and the traces in it -------------------------------------------- */

static char dir[64];

static bool dir_make(void)
{
    snprintf(dir, sizeof(dir), "/tmp/amber-prof-XXXXXX");
    bool ok = mkdtemp(dir) != NULL;
    CU_ASSERT(ok);
    return ok;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void dir_remove(void) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* dir/name, in a rotating buffer. */
static const char *path_of(const char *name)
{
    static char bufs[4][256];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
    return b;
}

static bool exists(const char *path) { return access(path, F_OK) == 0; }

/* Left-over temporary traces in dir: the staged temporaries of
 * ndarray/fileio.c (".<name>.amber-tmp.<pid>.<n>") or any ".tmp" file. */
static int count_tmp(void)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "ls -A %s | grep -c 'amber-tmp\\|\\.tmp$' > %s/.count 2>/dev/null", dir, dir);
    if (system(cmd) == -1) return -1;
    FILE *f = fopen(path_of(".count"), "r");
    int n = -1;
    if (f && fscanf(f, "%d", &n) != 1) n = -1;
    if (f) fclose(f);
    remove(path_of(".count"));
    return n;
}

/* ---- checking a trace ---------------------------------------------------------------------- */

static bool is_num(json_t *o, const char *key) { return json_is_number(json_object_get(o, key)); }
static bool is_str(json_t *o, const char *key) { return json_is_string(json_object_get(o, key)); }
static double num(json_t *o, const char *key) { return json_number_value(json_object_get(o, key)); }
static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Every field its phase needs (the trace-event format), and only the phases
 * the profiler writes; prints the first offender. */
static bool event_ok(json_t *e)
{
    const char *ph = str(e, "ph");
    json_t *args = json_object_get(e, "args");
    bool ok = is_str(e, "name") && json_is_integer(json_object_get(e, "pid")) &&
              json_is_integer(json_object_get(e, "tid")) && json_is_object(args);
    if (strcmp(ph, "X") == 0) {
        ok = ok && is_str(e, "cat") && is_num(e, "ts") && is_num(e, "dur") && num(e, "dur") >= 0 &&
             num(e, "ts") >= 0;
    } else if (strcmp(ph, "C") == 0) {
        ok = ok && is_num(e, "ts") && json_object_size(args) > 0;
        const char *key;
        json_t *v;
        json_object_foreach(args, key, v) ok = ok && json_is_number(v);
    } else if (strcmp(ph, "i") == 0) {
        ok = ok && is_str(e, "cat") && is_num(e, "ts") && strchr("tpg", str(e, "s")[0]) &&
             str(e, "s")[0];
    } else if (strcmp(ph, "M") == 0) {
        ok = ok && (strcmp(str(e, "name"), "process_name") == 0 ||
                    strcmp(str(e, "name"), "thread_name") == 0) && is_str(args, "name");
    } else {
        ok = false;
    }
    if (!ok) {
        char *s = json_dumps(e, JSON_COMPACT);
        printf("\n  malformed event: %s\n", s);
        free(s);
    }
    return ok;
}

/* The trace at path, parsed and checked event by event; NULL (and a
 * failure) when it does not parse or an event is malformed.  Every thread
 * that recorded must be named by a thread_name event. */
static json_t *load_trace(const char *path)
{
    json_error_t err;
    json_t *t = json_load_file(path, 0, &err);
    if (!t) {
        printf("\n  %s: %s at line %d\n", path, err.text, err.line);
        CU_FAIL("the trace does not parse");
        return NULL;
    }
    json_t *ev = json_object_get(t, "traceEvents");
    bool ok = json_is_array(ev) && json_array_size(ev) > 0;
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e) ok = ok && event_ok(e);
    json_int_t named[64];
    int n_named = 0;
    json_array_foreach(ev, i, e)
        if (strcmp(str(e, "ph"), "M") == 0 && strcmp(str(e, "name"), "thread_name") == 0 && n_named < 64)
            named[n_named++] = json_integer_value(json_object_get(e, "tid"));
    json_array_foreach(ev, i, e) {
        if (strcmp(str(e, "ph"), "M") == 0) continue;
        json_int_t tid = json_integer_value(json_object_get(e, "tid"));
        int k = 0;
        while (k < n_named && named[k] != tid) k++;
        if (k == n_named) {
            printf("\n  thread %lld has no thread_name event\n", (long long)tid);
            ok = false;
            break;
        }
    }
    CU_ASSERT(ok);
    if (!ok) {
        json_decref(t);
        return NULL;
    }
    return t;
}

/* The k-th event of phase ph and category cat (NULL: any) named name (NULL: any). */
static json_t *find(json_t *t, const char *ph, const char *cat, const char *name, int k)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(t, "traceEvents"), i, e) {
        if (strcmp(str(e, "ph"), ph) != 0 || (cat && strcmp(str(e, "cat"), cat) != 0) ||
            (name && strcmp(str(e, "name"), name) != 0))
            continue;
        if (k-- == 0) return e;
    }
    return NULL;
}

static int count(json_t *t, const char *ph, const char *cat, const char *name)
{
    int n = 0;
    while (find(t, ph, cat, name, n)) n++;
    return n;
}

/* a lies within b's span (a complete event), on the same thread. */
static bool inside(json_t *a, json_t *b)
{
    const double eps = 0.002; /* ts and dur are printed to a nanosecond */
    double a0 = num(a, "ts"), a1 = a0 + num(a, "dur"), b0 = num(b, "ts"), b1 = b0 + num(b, "dur");
    return json_integer_value(json_object_get(a, "tid")) ==
               json_integer_value(json_object_get(b, "tid")) &&
           a0 >= b0 - eps && a1 <= b1 + eps;
}

/* args[key] is a list of exactly these strings. */
static bool list_is(json_t *e, const char *key, int n, const char *const *want)
{
    json_t *l = json_object_get(json_object_get(e, "args"), key);
    bool ok = json_is_array(l) && json_array_size(l) == (size_t)n;
    for (int i = 0; ok && i < n; i++) ok = strcmp(json_string_value(json_array_get(l, i)), want[i]) == 0;
    if (!ok) {
        char *s = json_dumps(e, JSON_COMPACT);
        printf("\n  %s of %s\n", key, s);
        free(s);
    }
    return ok;
}

/* ---- eager ops ------------------------------------------------------------------------------- */

static void test_eager_ops(void)
{
    if (!dir_make()) return;
    const char *path = path_of("eager.json");
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 3), -1, 2, -3, 4, -5, 6);
    CU_ASSERT_EQUAL(am_profiler_start(path), AM_OK);
    CU_ASSERT(am_profiler_is_recording());
    CU_ASSERT(exists(path) == false); /* the trace appears whole, at the end */
    am_array *y = am_relu(x); int relu_line = __LINE__;
    am_array *z = am_add(y, am_astype(x, AM_DTYPE_FLOAT64)); int add_line = __LINE__;
    CU_ASSERT_PTR_NULL(z); /* float32 + float64: the failure is an event too */
    am_clear_error();
    CU_ASSERT_EQUAL(am_profiler_stop(), AM_OK);
    CU_ASSERT(!am_profiler_is_recording());
    am_relu(x); /* not recorded */
    am_scope_end();
    CU_ASSERT_EQUAL(count_tmp(), 0);

    json_t *t = load_trace(path);
    if (t) {
        char origin[256];
        json_t *e = find(t, "X", "op", "relu", 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        CU_ASSERT_EQUAL(count(t, "X", "op", "relu"), 1);
        json_t *args = json_object_get(e, "args");
        CU_ASSERT(list_is(e, "inputs", 1, (const char *[]){"float32 (2, 3)"}));
        CU_ASSERT(list_is(e, "outputs", 1, (const char *[]){"float32 (2, 3)"}));
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(args, "bytes")), 48);
        snprintf(origin, sizeof(origin), "test_profiler.c:%d", relu_line);
        CU_ASSERT_STRING_EQUAL(str(args, "origin"), origin);
        /* The cast's output is float64: 6 * 4 + 6 * 8 bytes. */
        e = find(t, "X", "op", "Cast", 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        CU_ASSERT(list_is(e, "outputs", 1, (const char *[]){"float64 (2, 3)"}));
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(e, "args"), "bytes")), 72);
        e = find(t, "X", "op", "broadcast_add", 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        args = json_object_get(e, "args");
        snprintf(origin, sizeof(origin), "test_profiler.c:%d", add_line);
        CU_ASSERT_STRING_EQUAL(str(args, "origin"), origin);
        CU_ASSERT(strstr(str(args, "error"), "broadcast_add") != NULL);
        CU_ASSERT_PTR_NULL(json_object_get(args, "outputs"));
        /* The arrays made while recording show in the memory counter. */
        CU_ASSERT(count(t, "C", "memory", "host memory") >= 2);
        CU_ASSERT_PTR_NOT_NULL(find(t, "M", NULL, "process_name", 0));
        json_decref(t);
    }
    dir_remove();
}

/* ---- plans ----------------------------------------------------------------------------------- */

/* Every step lies inside a run, and each run holds as many steps as it says. */
static void check_steps_in_runs(json_t *t, int runs)
{
    CU_ASSERT_EQUAL(count(t, "X", "plan", "plan run"), runs);
    int steps = 0;
    for (int r = 0; r < runs; r++) {
        json_t *run = find(t, "X", "plan", "plan run", r), *e;
        int in_run = 0;
        size_t i;
        json_array_foreach(json_object_get(t, "traceEvents"), i, e)
            if (strcmp(str(e, "ph"), "X") == 0 && strcmp(str(e, "cat"), "step") == 0)
                in_run += inside(e, run);
        CU_ASSERT_EQUAL(in_run, json_integer_value(json_object_get(json_object_get(run, "args"), "steps")));
        steps += in_run;
    }
    CU_ASSERT(steps > 0);
    CU_ASSERT_EQUAL(steps, count(t, "X", "step", NULL));
}

static void test_plan_steps(void)
{
    if (!dir_make()) return;
    const char *path = path_of("plan.json");
    am_scope_begin();
    CU_ASSERT_EQUAL(am_profiler_start(path), AM_OK);
    am_array *v = am_var("data", AM_SHAPE(4, 3), AM_DTYPE_FLOAT32);
    am_array *w = am_var("w", AM_SHAPE(5, 3), AM_DTYPE_FLOAT32);
    am_array *y = am_sigmoid(am_dot_t(v, w, false, true)); int line = __LINE__;
    am_graph *g = am_graph_create(&y, 1);
    am_plan *p = am_plan_create(g, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    am_plan_bind(p, "data", tu_random(AM_SHAPE(4, 3), AM_DTYPE_FLOAT32, -1, 1));
    am_plan_bind(p, "w", tu_random(AM_SHAPE(5, 3), AM_DTYPE_FLOAT32, -1, 1));
    for (int r = 0; r < 3; r++) CU_ASSERT_EQUAL(am_plan_run(p), AM_OK);
    CU_ASSERT_EQUAL(am_profiler_stop(), AM_OK);
    am_plan_release(p);
    am_graph_release(g);
    am_scope_end();

    json_t *t = load_trace(path);
    if (t) {
        check_steps_in_runs(t, 3);
        /* Compilation holds every pass. */
        json_t *c = find(t, "X", "compile", "plan compile", 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        int n_passes = 0;
        for (const char *const *n = am_pass_names(); *n; n++) {
            char name[64];
            snprintf(name, sizeof(name), "pass %s", *n);
            json_t *e = find(t, "X", "pass", name, 0);
            CU_ASSERT_PTR_NOT_NULL(e);
            if (e) CU_ASSERT(inside(e, c));
            n_passes++;
        }
        CU_ASSERT_EQUAL(count(t, "X", "pass", NULL), n_passes);
        /* A step names its node, its shapes and the line that made the node. */
        char origin[256];
        snprintf(origin, sizeof(origin), "test_profiler.c:%d", line);
        json_t *s = find(t, "X", "step", "sigmoid", 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        json_t *args = json_object_get(s, "args");
        CU_ASSERT_STRING_EQUAL(str(args, "origin"), origin);
        CU_ASSERT(str(args, "node")[0] != '\0');
        CU_ASSERT(list_is(s, "outputs", 1, (const char *[]){"float32 (4, 5)"}));
        json_decref(t);
    }
    dir_remove();
}

/* ---- blocks, hybridize and autograd ------------------------------------------------------------ */

static void test_hybridize_and_backward(void)
{
    if (!dir_make()) return;
    const char *path = path_of("hybrid.json");
    am_scope_begin();
    am_block *net = am_dense(4, NULL);
    am_block_initialize(net, NULL);
    am_array *x = tu_random(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32, -1, 1);
    am_block_call(net, x); /* the deferred weight's shape is known before recording */
    CU_ASSERT_EQUAL(am_profiler_start(path), AM_OK);
    /* Eager, with a backward pass. */
    am_autograd_record_begin(true);
    am_array *l = am_sum(am_block_call(net, x), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(l), AM_OK);
    /* Hybridized: a miss (trace, compile) and a hit. */
    am_block_hybridize(net, true, NULL);
    for (int i = 0; i < 2; i++) CU_ASSERT_PTR_NOT_NULL(am_block_call(net, x));
    CU_ASSERT_EQUAL(am_profiler_stop(), AM_OK);
    am_block_release(net);
    am_scope_end();

    json_t *t = load_trace(path);
    if (t) {
        json_t *eager = find(t, "X", "block", "Dense", 0), *hyb = find(t, "X", "block", "Dense", 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(eager);
        CU_ASSERT_PTR_NOT_NULL_FATAL(hyb);
        CU_ASSERT_STRING_EQUAL(str(json_object_get(eager, "args"), "mode"), "eager");
        CU_ASSERT_STRING_EQUAL(str(json_object_get(hyb, "args"), "mode"), "hybridized");
        CU_ASSERT(inside(find(t, "X", "op", "FullyConnected", 0), eager));
        json_t *bw = find(t, "X", "autograd", "backward", 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(bw);
        int grad_ops = 0;
        for (int k = 0; find(t, "X", "op", NULL, k); k++) grad_ops += inside(find(t, "X", "op", NULL, k), bw);
        CU_ASSERT(grad_ops > 0);
        json_t *miss = find(t, "X", "hybrid", "cache miss", 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(miss);
        CU_ASSERT_EQUAL(count(t, "X", "hybrid", "cache miss"), 1);
        CU_ASSERT_EQUAL(count(t, "i", "hybrid", "cache hit"), 1);
        CU_ASSERT(inside(miss, hyb));
        CU_ASSERT(inside(find(t, "X", "hybrid", "trace", 0), miss));
        CU_ASSERT(inside(find(t, "X", "compile", "plan compile", 0), miss));
        check_steps_in_runs(t, 2);
        json_t *step = find(t, "X", "step", NULL, 0);
        CU_ASSERT(strstr(str(json_object_get(step, "args"), "origin"), "test_profiler.c:") != NULL);
        json_decref(t);
    }
    dir_remove();
}

/* ---- start and stop ------------------------------------------------------------------------------ */

static void test_start_stop_twice(void)
{
    if (!dir_make()) return;
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1), 1);
    CU_ASSERT_EQUAL(am_profiler_stop(), AM_OK); /* not recording: nothing to do */
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_EQUAL(am_profiler_start(path_of(k ? "b.json" : "a.json")), AM_OK);
        TU_ASSERT_STATUS(am_profiler_start(path_of("c.json")), AM_ERR_ARG, "already recording");
        am_scope_begin();
        for (int i = 0; i <= k; i++) am_negative(x);
        am_scope_end();
        CU_ASSERT_EQUAL(am_profiler_stop(), AM_OK);
        CU_ASSERT_EQUAL(am_profiler_stop(), AM_OK);
    }
    am_scope_end();
    CU_ASSERT(!exists(path_of("c.json")));
    CU_ASSERT_EQUAL(count_tmp(), 0);
    for (int k = 0; k < 2; k++) {
        json_t *t = load_trace(path_of(k ? "b.json" : "a.json"));
        if (t) CU_ASSERT_EQUAL(count(t, "X", "op", "negative"), k + 1);
        json_decref(t);
    }
    dir_remove();
}

static void test_errors(void)
{
    if (!dir_make()) return;
    char missing[256];
    snprintf(missing, sizeof(missing), "%s/no/such/dir/trace.json", dir);
    TU_ASSERT_STATUS(am_profiler_start(missing), AM_ERR_IO, "does not exist");
    am_profiler_start(missing);
    CU_ASSERT(strstr(am_last_error(), "no/such/dir'") != NULL);
    am_clear_error();
    CU_ASSERT(!am_profiler_is_recording());
    TU_ASSERT_STATUS(am_profiler_start(NULL), AM_ERR_ARG, "am_profiler_start");
    TU_ASSERT_STATUS(am_profiler_start(""), AM_ERR_ARG, "am_profiler_start");
    CU_ASSERT(!am_profiler_is_recording());
    /* A trace whose directory goes away while recording cannot be written. */
    char sub[256];
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    CU_ASSERT_EQUAL(mkdir(sub, 0700), 0);
    snprintf(missing, sizeof(missing), "%s/sub/t.json", dir);
    CU_ASSERT_EQUAL(am_profiler_start(missing), AM_OK);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sub);
    CU_ASSERT_EQUAL(system(cmd), 0);
    TU_ASSERT_STATUS(am_profiler_stop(), AM_ERR_IO, "cannot write the trace");
    CU_ASSERT(!am_profiler_is_recording());
    dir_remove();
}

/* A process killed while recording leaves no temporary behind: an unnamed
 * one vanishes with it, and a named one (where the file system has no
 * O_TMPFILE) is removed by the next trace written to the same path. */
static void test_killed(void)
{
    if (!dir_make()) return;
    char path[256];
    snprintf(path, sizeof(path), "%s", path_of("t.json")); /* path_of's buffer is reused */
    for (int named = 0; named < 2; named++) {
        pid_t pid = fork();
        if (pid == 0) {
            am_file_test.no_tmpfile = named;
            am_array *x = am_ones(AM_SHAPE(4), AM_DTYPE_FLOAT32);
            if (am_profiler_start(path) != AM_OK) _exit(2);
            for (int i = 0; i < 100; i++) am_relu(x);
            raise(SIGKILL);
        }
        int status = 0;
        CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
        CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        CU_ASSERT(!exists(path));
        CU_ASSERT_EQUAL(count_tmp(), named); /* the named temporary stays until... */
    }
    CU_ASSERT_EQUAL(am_profiler_start(path), AM_OK); /* ...the next trace to the path */
    CU_ASSERT_EQUAL(am_profiler_stop(), AM_OK);
    CU_ASSERT(exists(path));
    CU_ASSERT_EQUAL(count_tmp(), 0);
    dir_remove();
}

/* ---- threads ---------------------------------------------------------------------------------- */

enum { THREAD_OPS = 300 };

static void *thread_ops(void *arg)
{
    (void)arg;
    am_scope_begin();
    am_array *x = am_ones(AM_SHAPE(3), AM_DTYPE_FLOAT32);
    for (int i = 0; i < THREAD_OPS; i++) {
        am_scope_begin();
        am_tanh(am_sqrt(x));
        am_scope_end();
    }
    am_scope_end();
    return NULL;
}

static void test_threads(void)
{
    if (!dir_make()) return;
    const char *path = path_of("threads.json");
    pthread_t th[3];
    CU_ASSERT_EQUAL(am_profiler_start(path), AM_OK);
    for (int i = 0; i < 3; i++) pthread_create(&th[i], NULL, thread_ops, NULL);
    thread_ops(NULL);
    for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
    CU_ASSERT_EQUAL(am_profiler_stop(), AM_OK);
    json_t *t = load_trace(path);
    if (t) {
        CU_ASSERT_EQUAL(count(t, "X", "op", "tanh"), 4 * THREAD_OPS);
        CU_ASSERT_EQUAL(count(t, "X", "op", "sqrt"), 4 * THREAD_OPS);
        CU_ASSERT_EQUAL(count(t, "M", NULL, "thread_name"), 4);
        json_decref(t);
    }
    dir_remove();
}

/* ---- the amber program ------------------------------------------------------------------------- */

/* Runs the amber program beside this test binary with env and args; its exit status. */
static int run_amber(const char *env, const char *args)
{
    char exe[4096], cmd[8192];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 16);
    if (n <= 0) return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    strcpy(slash ? slash + 1 : exe, "amber");
    snprintf(cmd, sizeof(cmd), "%s '%s' %s >%s/stdout 2>%s/stderr", env, exe, args, dir, dir);
    int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_amber_run(void)
{
    if (!dir_make()) return;
    char args[2048];
    const char *model = "run " FIX "mlp-symbol.json " FIX "mlp-0000.params -i data=" FIX "mlp-input.npy";
    snprintf(args, sizeof(args), "%s -o %s --repeat 3 --profile %s", model, path_of("o.npy"),
             path_of("run.json"));
    CU_ASSERT_EQUAL(run_amber("", args), 0);
    json_t *t = load_trace(path_of("run.json"));
    if (t) {
        check_steps_in_runs(t, 3);
        CU_ASSERT_EQUAL(count(t, "X", "compile", "plan compile"), 1);
        json_decref(t);
    }
    /* AM_PROFILE: the whole run, written at exit. */
    char env[512];
    snprintf(env, sizeof(env), "AM_PROFILE=%s", path_of("env.json"));
    snprintf(args, sizeof(args), "%s -o %s --no-optimize", model, path_of("o2.npy"));
    CU_ASSERT_EQUAL(run_amber(env, args), 0);
    t = load_trace(path_of("env.json"));
    if (t) {
        CU_ASSERT_PTR_NOT_NULL(find(t, "X", "op", "FullyConnected", 0));
        CU_ASSERT_EQUAL(count(t, "X", "plan", "plan run"), 0);
        json_decref(t);
    }
    /* AM_PROFILE naming a missing directory: said on stderr, the run goes on unprofiled. */
    snprintf(env, sizeof(env), "AM_PROFILE=%s/none/t.json", dir);
    CU_ASSERT_EQUAL(run_amber(env, args), 0);
    CU_ASSERT(exists(path_of("o2.npy")));
    FILE *f = fopen(path_of("stderr"), "r");
    char line[1024] = "";
    if (f && !fgets(line, sizeof(line), f)) line[0] = '\0';
    if (f) fclose(f);
    CU_ASSERT(strstr(line, "AM_PROFILE=") && strstr(line, "does not exist") &&
              strstr(line, "not profiling"));
    /* A trace that cannot be written is the run's error. */
    snprintf(args, sizeof(args), "%s --profile %s/none/t.json", model, dir);
    CU_ASSERT_EQUAL(run_amber("", args), 1);
    CU_ASSERT_EQUAL(count_tmp(), 0);
    dir_remove();
}

CU_TestInfo am_tests_profiler[] = {
    {"eager ops: shapes, dtypes, bytes, call sites, failures", test_eager_ops},
    {"plans: compile holds the passes, steps inside runs", test_plan_steps},
    {"blocks eager and hybridized, cache miss and hit, backward", test_hybridize_and_backward},
    {"start and stop twice", test_start_stop_twice},
    {"errors: missing directory, bad paths, unwritable at stop", test_errors},
    {"a process killed while recording leaves no temporary", test_killed},
    {"threads record without corrupting each other", test_threads},
    {"amber run --profile and AM_PROFILE", test_amber_run},
    CU_TEST_INFO_NULL,
};
