/* The memlimit suite: the process-wide memory limit (docs/memory.md) on
 * eager arrays, outputs sized from attributes, the allocator's cache, plans
 * and `amber inspect`, with issue 12's examples; AM_MEMORY_LIMIT's syntax. */
#include "test_util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB ((int64_t)1 << 20)
#define GiB ((int64_t)1 << 30)

/* True when the last error holds every NULL-terminated substring; prints it
 * otherwise. */
static bool error_has(const char *first, ...)
{
    const char *msg = am_last_error();
    bool ok = true;
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        if (!strstr(msg, s)) {
            printf("\n  message '%s' lacks '%s'\n", msg, s);
            ok = false;
        }
    va_end(ap);
    return ok;
}

/* Runs op with "k1|k2" = "v1|v2" on in and expects AM_ERR_OOM whose message
 * holds "<op>: output needs <need> (shape <shape>" and the 1 GiB limit set
 * by am_set_memory_limit.  No output may be left and nothing reserved. */
static void expect_too_big(const char *op, am_array *const *in, int n_in, const char *keys,
                           const char *vals, const char *need, const char *shape)
{
    char head[128], sh[160];
    snprintf(head, sizeof(head), "%s: output needs %s (", op, need);
    snprintf(sh, sizeof(sh), "shape %s, float32)", shape);
    int64_t live = am_debug_live_bytes();
    am_array *out = NULL;
    am_clear_error();
    CU_ASSERT_EQUAL(tu_invoke(op, in, n_in, keys, vals, &out, 1), AM_ERR_OOM);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT(error_has(head, sh, "; the memory limit is 1.0 GiB (am_set_memory_limit) at ",
                        NULL));
    CU_ASSERT(am_debug_live_bytes() <= live);
    am_clear_error();
}

/* Issue 12's examples, eagerly: each a clear error before any allocation. */
static void test_issue_examples(void)
{
    am_scope_begin();
    am_array *one = am_zeros(AM_SHAPE(1), AM_DTYPE_FLOAT32);
    am_array *img = am_zeros(AM_SHAPE(1, 1, 10, 10), AM_DTYPE_FLOAT32);
    am_array *data = am_zeros(AM_SHAPE(1024, 0), AM_DTYPE_FLOAT32);
    am_array *weight = am_zeros(AM_SHAPE(1073741824, 0), AM_DTYPE_FLOAT32);
    CU_ASSERT_EQUAL_FATAL(am_set_memory_limit(GiB), AM_OK);
    expect_too_big("_zeros", NULL, 0, "shape", "(1099511627776,)", "4.0 TiB", "(1099511627776,)");
    expect_too_big("_zeros", NULL, 0, "shape", "(1099511627776, 2)", "8.0 TiB",
                   "(1099511627776, 2)");
    expect_too_big("_linspace", NULL, 0, "start|stop|num", "0|1|1000000000000", "3.6 TiB",
                   "(1000000000000,)");
    expect_too_big("_arange", NULL, 0, "start|stop", "0|1e12", "3.6 TiB", "(1000000000000,)");
    expect_too_big("repeat", &one, 1, "repeats", "1000000000000", "3.6 TiB", "(1000000000000,)");
    expect_too_big("one_hot", &one, 1, "depth", "1000000000000", "3.6 TiB",
                   "(1, 1000000000000)");
    expect_too_big("UpSampling", &img, 1, "scale|sample_type|num_args", "100000|nearest|1",
                   "3.6 TiB", "(1, 1, 1000000, 1000000)");
    expect_too_big("FullyConnected", (am_array *[]){data, weight}, 2, "num_hidden|no_bias",
                   "1073741824|True", "4.0 TiB", "(1024, 1073741824)");
    /* The same calls at a size that fits still work. */
    am_array *y = NULL;
    CU_ASSERT_EQUAL(tu_invoke("repeat", &one, 1, "repeats", "1000", &y, 1), AM_OK);
    CU_ASSERT_EQUAL(am_array_size(y), 1000);
    CU_ASSERT_EQUAL(am_set_memory_limit(0), AM_OK);
    am_scope_end();
}

/* The default: a positive limit, at most physical memory unless
 * AM_MEMORY_LIMIT says otherwise, named in the message. */
static void test_default_limit(void)
{
    CU_ASSERT_EQUAL(am_set_memory_limit(0), AM_OK);
    int64_t limit = am_get_memory_limit();
    CU_ASSERT(limit > 0);
    const char *env = getenv("AM_MEMORY_LIMIT");
    if (env && env[0]) return; /* the run chose its own */
    int64_t phys = (int64_t)sysconf(_SC_PHYS_PAGES) * (int64_t)sysconf(_SC_PAGESIZE);
    CU_ASSERT(limit <= phys);
    CU_ASSERT(limit >= phys / 100 * 79 || limit < phys / 2); /* 80%, or a cgroup's limit */
    am_scope_begin();
    am_clear_error();
    CU_ASSERT_PTR_NULL(am_zeros(AM_SHAPE((int64_t)1 << 58), AM_DTYPE_FLOAT32));
    CU_ASSERT_EQUAL(am_last_status(), AM_ERR_OOM);
    CU_ASSERT(error_has("_zeros: output needs 1.0 EiB (shape (288230376151711744,), float32); "
                        "the memory limit is ", "% of ", "; AM_MEMORY_LIMIT changes it)",
                        NULL));
    am_clear_error();
    am_scope_end();
}

/* am_set_memory_limit: a small limit makes a modest allocation fail with the
 * message; what fits still works; 0 restores the default. */
static void test_set_limit(void)
{
    int64_t before = am_get_memory_limit();
    am_scope_begin();
    CU_ASSERT_EQUAL(am_set_memory_limit(64 * MiB), AM_OK);
    CU_ASSERT_EQUAL(am_get_memory_limit(), 64 * MiB);
    TU_ASSERT_FAILS(am_zeros(AM_SHAPE(32 * MiB), AM_DTYPE_FLOAT32), AM_ERR_OOM,
                    "_zeros: output needs 128.0 MiB (shape (33554432,), float32); the memory "
                    "limit is 64.0 MiB (am_set_memory_limit)");
    TU_ASSERT_FAILS(am_empty(AM_SHAPE(32 * MiB), AM_DTYPE_FLOAT32), AM_ERR_OOM,
                    "array needs 128.0 MiB (shape (33554432,), float32); the memory limit is "
                    "64.0 MiB");
    void *raw = am_host_alloc(128 * MiB); /* the allocator refuses it too */
    CU_ASSERT_PTR_NULL(raw);
    am_host_free(raw);
    am_array *a = am_ones(AM_SHAPE(10 * MiB), AM_DTYPE_FLOAT32); /* 40 MiB */
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_DOUBLE_EQUAL(am_item(a, 10 * MiB - 1), 1.0, 0);
    /* 40 MiB more does not fit beside the first 40. */
    TU_ASSERT_FAILS(am_ones(AM_SHAPE(10 * MiB), AM_DTYPE_FLOAT32), AM_ERR_OOM,
                    " in use; the memory limit is 64.0 MiB (am_set_memory_limit)");
    am_clear_error();
    CU_ASSERT_PTR_NULL(am_ones(AM_SHAPE(10 * MiB), AM_DTYPE_FLOAT32));
    CU_ASSERT(error_has("_ones: output needs 40.0 MiB (shape (10485760,), float32) with ",
                        NULL));
    am_clear_error();
    CU_ASSERT(am_debug_live_bytes() <= 64 * MiB);
    /* Eager ops under the limit work as usual. */
    am_array *s = am_sum(a, NULL, 0, false);
    CU_ASSERT_DOUBLE_EQUAL(am_item(s, 0), (double)(10 * MiB), 0);
    TU_ASSERT_STATUS(am_set_memory_limit(-1), AM_ERR_ARG, "am_set_memory_limit: -1 bytes");
    CU_ASSERT_EQUAL(am_get_memory_limit(), 64 * MiB);
    /* Restored, the same allocation works. */
    CU_ASSERT_EQUAL(am_set_memory_limit(0), AM_OK);
    CU_ASSERT_EQUAL(am_get_memory_limit(), before);
    am_array *big = am_zeros(AM_SHAPE(32 * MiB), AM_DTYPE_FLOAT32);
    CU_ASSERT_PTR_NOT_NULL(big);
    CU_ASSERT_EQUAL(am_set_memory_limit(INT64_MAX), AM_OK);
    CU_ASSERT_EQUAL(am_get_memory_limit(), INT64_MAX);
    CU_ASSERT_EQUAL(am_set_memory_limit(0), AM_OK);
    am_scope_end();
}

/* Blocks parked in the allocator's cache count against the limit but give
 * way: after freeing 96 MiB, a 40 MiB array fits under a 64 MiB limit and
 * the bytes held stay under it. */
static void test_cache_gives_way(void)
{
    am_scope_begin();
    am_scope_begin();
    for (int i = 0; i < 4; i++) /* 24 MiB each, cached when the scope ends */
        CU_ASSERT_PTR_NOT_NULL(am_zeros(AM_SHAPE(6 * MiB), AM_DTYPE_FLOAT32));
    am_scope_end();
    int64_t live = am_debug_live_bytes();
    CU_ASSERT_EQUAL(am_set_memory_limit(live + 64 * MiB), AM_OK);
    am_array *x = am_zeros(AM_SHAPE(10 * MiB), AM_DTYPE_FLOAT32);
    CU_ASSERT_PTR_NOT_NULL(x);
    CU_ASSERT(am_host_reserved_bytes() <= live + 64 * MiB);
    CU_ASSERT_EQUAL(am_set_memory_limit(0), AM_OK);
    am_scope_end();
}

/* AM_MEMORY_LIMIT's syntax. */
static void test_parse_limit(void)
{
    static const struct { const char *s; int64_t v; } good[] = {
        {"1", 1}, {"17179869184", 17179869184LL}, {"512M", 512 * MiB}, {"512m", 512 * MiB},
        {"4G", 4 * GiB}, {"4GB", 4 * GiB}, {"4GiB", 4 * GiB}, {"4 G", 4 * GiB},
        {"1.5G", 3 * GiB / 2}, {"2K", 2048}, {"1T", 1024 * GiB}, {"100B", 100},
        {"none", INT64_MAX}, {"unlimited", INT64_MAX},
    };
    char err[256];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int64_t v = am_memory_parse_limit(good[i].s, err, sizeof(err));
        if (v != good[i].v) printf("\n  '%s' gave %lld\n", good[i].s, (long long)v);
        CU_ASSERT_EQUAL(v, good[i].v);
    }
    int64_t phys = (int64_t)sysconf(_SC_PHYS_PAGES) * (int64_t)sysconf(_SC_PAGESIZE);
    int64_t half = am_memory_parse_limit("50%", err, sizeof(err));
    CU_ASSERT(half > 0 && half <= phys / 2 + 1);
    static const char *const bad[] = {"", "0", "-1G", "4X", "G", "1e9", "0x10", "4GG", "inf",
                                      "nan", "101%", "0%", " 4G", "4G ", "1.5.2G", "20000P"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        int64_t v = am_memory_parse_limit(bad[i], err, sizeof(err));
        if (v != -1) printf("\n  '%s' gave %lld\n", bad[i], (long long)v);
        CU_ASSERT_EQUAL(v, -1);
        char want[64];
        snprintf(want, sizeof(want), "AM_MEMORY_LIMIT='%s' is ", bad[i]);
        CU_ASSERT(strstr(err, want) != NULL);
    }
    am_memory_parse_limit("4X", err, sizeof(err));
    CU_ASSERT(strstr(err, "is not a memory size: give bytes, a number with K, M, G, T or P") != 0);
}

/* A one-op FullyConnected graph with num_hidden hidden units. */
static am_graph *fc_graph(int64_t num_hidden)
{
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"nodes\": [{\"op\": \"null\", \"name\": \"data\", \"inputs\": []},"
             " {\"op\": \"null\", \"name\": \"fc_weight\", \"inputs\": []},"
             " {\"op\": \"FullyConnected\", \"name\": \"fc\", \"attrs\": {\"num_hidden\": "
             "\"%lld\", \"no_bias\": \"True\"}, \"inputs\": [[0, 0, 0], [1, 0, 0]]}],"
             " \"arg_nodes\": [0, 1], \"heads\": [[2, 0, 0]]}", (long long)num_hidden);
    return am_graph_from_json(json);
}

/* Plans: the arena is checked before it is allocated, and the error names
 * the node; a no_alloc plan is sized without allocating and cannot run. */
static void test_plan_limit(void)
{
    am_graph *g = fc_graph(1073741824);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    const char *names[] = {"data"};
    am_shape shapes[] = {AM_SHAPE(1024, 8)};
    am_plan_opts o = {.names = names, .shapes = shapes, .n = 1};
    CU_ASSERT_EQUAL(am_set_memory_limit(GiB), AM_OK);
    int64_t live = am_debug_live_bytes();
    am_clear_error();
    CU_ASSERT_PTR_NULL(am_plan_create(g, &o));
    CU_ASSERT_EQUAL(am_last_status(), AM_ERR_OOM);
    CU_ASSERT(error_has("the plan needs 4.0 TiB (arena 4.0 TiB, workspace ",
                        "the largest value is the output of node 'fc' (FullyConnected): "
                        "shape (1024, 1073741824), float32, 4.0 TiB); the memory limit is "
                        "1.0 GiB (am_set_memory_limit)", NULL));
    CU_ASSERT(am_debug_live_bytes() <= live);
    am_clear_error();

    o.no_alloc = true;
    am_plan *p = am_plan_create(g, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(am_plan_get_stats(p).arena_bytes, 4 * 1024 * GiB);
    CU_ASSERT(am_debug_live_bytes() <= live);
    TU_ASSERT_STATUS(am_plan_check_memory(p), AM_ERR_OOM, "node 'fc' (FullyConnected)");
    TU_ASSERT_STATUS(am_plan_run(p), AM_ERR_ARG, "am_plan_run: the plan was made with no_alloc");
    TU_ASSERT_FAILS(am_plan_output(p, 0), AM_ERR_ARG, "no_alloc");
    CU_ASSERT_EQUAL(am_set_memory_limit(INT64_MAX), AM_OK); /* lifted, the check passes */
    CU_ASSERT_EQUAL(am_plan_check_memory(p), AM_OK);
    am_plan_release(p);
    am_graph_release(g);

    /* A plan that fits is made and runs. */
    CU_ASSERT_EQUAL(am_set_memory_limit(GiB), AM_OK);
    am_scope_begin();
    g = fc_graph(3);
    shapes[0] = AM_SHAPE(2, 4);
    o.no_alloc = false;
    p = am_plan_create(g, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(am_plan_check_memory(p), AM_OK);
    CU_ASSERT_EQUAL(am_plan_bind(p, "data", am_ones(AM_SHAPE(2, 4), AM_DTYPE_FLOAT32)), AM_OK);
    CU_ASSERT_EQUAL(am_plan_bind(p, "fc_weight", am_ones(AM_SHAPE(3, 4), AM_DTYPE_FLOAT32)), AM_OK);
    CU_ASSERT_EQUAL(am_plan_run(p), AM_OK);
    TU_ASSERT_VALUES(am_plan_output(p, 0), AM_SHAPE(2, 3), 0, 4, 4, 4, 4, 4, 4);
    am_plan_release(p);
    am_graph_release(g);
    am_scope_end();
    CU_ASSERT_EQUAL(am_set_memory_limit(0), AM_OK);
}

/* ---- the amber program --------------------------------------------------------- */

/* Runs `sh -c CMD` with AMBER naming the amber program beside this test
 * binary; returns its exit status, stdout and stderr in out and err. */
static int sh(char **out, char **err, const char *cmd)
{
    char self[4096], dir[] = "/tmp/amber-memlimit-XXXXXX", full[16384], cwd[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 16);
    if (n <= 0 || !getcwd(cwd, sizeof(cwd)) || !mkdtemp(dir)) {
        *out = calloc(1, 1), *err = calloc(1, 1);
        return -1;
    }
    self[n] = '\0';
    strcpy(strrchr(self, '/') + 1, "amber");
    snprintf(full, sizeof(full), "cd %s && AMBER='%s' FIX='%s/tests/fixtures'; export AMBER FIX; "
             "(%s) >out 2>err", dir, self, cwd, cmd);
    int status = system(full);
    char path[128];
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof(path), "%s/%s", dir, k ? "err" : "out");
        FILE *f = fopen(path, "r");
        char *buf = calloc(1, 1 << 16);
        if (f) {
            size_t got = fread(buf, 1, (1 << 16) - 1, f);
            buf[got] = '\0';
            fclose(f);
        }
        *(k ? err : out) = buf;
        remove(path);
    }
    snprintf(path, sizeof(path), "%s/fc.json", dir);
    remove(path);
    rmdir(dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool has(const char *text, const char *what)
{
    if (strstr(text, what)) return true;
    printf("\n  output lacks '%s':\n%s\n", what, text);
    return false;
}

#define FC_JSON                                                                            \
    "echo '{\"nodes\": [{\"op\": \"null\", \"name\": \"data\", \"inputs\": []}, "             \
    "{\"op\": \"null\", \"name\": \"fc_weight\", \"inputs\": []}, {\"op\": "                  \
    "\"FullyConnected\", \"name\": \"fc\", \"attrs\": {\"num_hidden\": \"1073741824\", "     \
    "\"no_bias\": \"True\"}, "     \
    "\"inputs\": [[0, 0, 0], [1, 0, 0]]}], \"arg_nodes\": [0, 1], \"heads\": [[2, 0, 0]]}' " \
    ">fc.json && "

/* Under ASan the shadow memory needs more address space than ulimit -v
 * leaves; elsewhere the limit proves that nothing big is reserved. */
#if defined(__SANITIZE_ADDRESS__)
#define NO_BIG_RESERVE ""
#else
#define NO_BIG_RESERVE "ulimit -v 4000000; "
#endif

static void test_cli(void)
{
    char *out = NULL, *err = NULL;
    if (access("tests/fixtures/lenet-symbol.json", R_OK) != 0) {
        CU_FAIL("run the tests from the repository root");
        return;
    }
    /* LeNet for a batch of 2^40: reported, not allocated, and a clear error. */
    int rc = sh(&out, &err, NO_BIG_RESERVE "AM_MEMORY_LIMIT=16G \"$AMBER\" inspect "
                "\"$FIX/lenet-symbol.json\" -i data=1099511627776x1x28x28");
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT(has(out, "\nmemory: arena 16.88 PiB for the intermediate values"));
    CU_ASSERT(has(out, "\nmemory limit: 16.00 GiB"));
    CU_ASSERT(has(err, "amber inspect: the plan needs 16.9 PiB (arena 16.9 PiB, workspace "));
    CU_ASSERT(has(err, "of node 'conv0_fwd' (_amber_fused_conv): shape (1099511627776, 6, 24, "
                  "24), float32, 13.5 PiB); the memory limit is 16.0 GiB (AM_MEMORY_LIMIT)\n"));
    free(out), free(err);

    /* FullyConnected num_hidden=2^30: a 12 GiB arena is reported, never reserved. */
    rc = sh(&out, &err, FC_JSON NO_BIG_RESERVE "AM_MEMORY_LIMIT=64G \"$AMBER\" inspect fc.json "
            "-i data=3x8");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(has(out, "\nmemory: arena 12.00 GiB for the intermediate values"));
    CU_ASSERT_STRING_EQUAL(err, "");
    free(out), free(err);
    rc = sh(&out, &err, FC_JSON "AM_MEMORY_LIMIT=1G \"$AMBER\" inspect fc.json -i data=3x8");
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT(has(err, "amber inspect: the plan needs 12.0 GiB (arena 12.0 GiB, workspace 0 B; "
                  "the largest value is the output of node 'fc' (FullyConnected): shape (3, "
                  "1073741824), float32, 12.0 GiB); the memory limit is 1.0 GiB "
                  "(AM_MEMORY_LIMIT)\n"));
    free(out), free(err);

    /* A bad AM_MEMORY_LIMIT is an error at the first allocation. */
    rc = sh(&out, &err, "AM_MEMORY_LIMIT=4X \"$AMBER\" run \"$FIX/mlp-symbol.json\" "
            "\"$FIX/mlp-0000.params\" -i \"data=$FIX/mlp-input.npy\" -o y.npy");
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT(has(err, "AM_MEMORY_LIMIT='4X' is not a memory size: give bytes, a number with "
                  "K, M, G, T or P (1K = 1024), a percentage of "));
    free(out), free(err);

    /* The model runs under a limit it fits in, and not under one it does not. */
    rc = sh(&out, &err, "AM_MEMORY_LIMIT=64M \"$AMBER\" run \"$FIX/mlp-symbol.json\" "
            "\"$FIX/mlp-0000.params\" -i \"data=$FIX/mlp-input.npy\" -o y.npy");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(err, "");
    free(out), free(err);
    rc = sh(&out, &err, "AM_MEMORY_LIMIT=1K \"$AMBER\" run \"$FIX/mlp-symbol.json\" "
            "\"$FIX/mlp-0000.params\" -i \"data=$FIX/mlp-input.npy\" -o y.npy");
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT(has(err, "mlp-0000.params: record 0, data at byte 64: cannot allocate 200704 bytes "
                  "for the record that starts at byte 24 (array needs 196.0 KiB (shape (64, "
                  "784), float32); the memory limit is 1.0 KiB (AM_MEMORY_LIMIT))\n"));
    free(out), free(err);
}

/* Blocks of 64 KiB and more come back from their size class's free list. */
static void test_size_classes(void)
{
    CU_ASSERT_EQUAL(am_host_block_size(64 * 1024 + 1), 72 * 1024);   /* 1/8 steps of 64 KiB */
    CU_ASSERT_EQUAL(am_host_block_size(300 * 1024), 320 * 1024);     /* of 256 KiB */
    if (!AM_HOST_CACHE) return; /* ASan builds recycle nothing */
    am_host_trim();
    void *a = am_host_alloc(300 * 1024);
    am_host_free(a);
    void *b = am_host_alloc(310 * 1024); /* the same class: a's block */
    CU_ASSERT_PTR_EQUAL(a, b);
    void *c = am_host_alloc(300 * 1024); /* the class is empty now */
    CU_ASSERT_PTR_NOT_EQUAL(c, b);
    am_host_free(b);
    am_host_free(c);
    void *d = am_host_alloc(300 * 1024), *e = am_host_alloc(300 * 1024);
    CU_ASSERT((d == b || d == c) && (e == b || e == c) && d != e);
    CU_ASSERT(am_host_reserved_bytes() == am_debug_live_bytes());
    am_host_free(d);
    am_host_free(e);
    CU_ASSERT(am_host_reserved_bytes() >= am_debug_live_bytes() + 2 * 320 * 1024);
    am_host_trim();
    CU_ASSERT(am_host_reserved_bytes() == am_debug_live_bytes());
}

CU_TestInfo am_tests_memlimit[] = {
    {"blocks of 64 KiB and more are reused by size class", test_size_classes},
    {"issue 12's examples fail before allocating", test_issue_examples},
    {"the default limit", test_default_limit},
    {"am_set_memory_limit and am_get_memory_limit", test_set_limit},
    {"cached blocks count and give way", test_cache_gives_way},
    {"AM_MEMORY_LIMIT syntax", test_parse_limit},
    {"plans: arena checked before allocating, no_alloc", test_plan_limit},
    {"amber inspect and run under a limit", test_cli},
    CU_TEST_INFO_NULL,
};
