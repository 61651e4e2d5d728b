/* The device suite: a plan for a device other than the CPU.  A fake backend
 * (host memory it hands out and tracks itself, kernels for elemwise_add and
 * relu only) shows that a plan takes its kernels, arena and workspace from
 * its device, fails at creation naming an op the device lacks, and that the
 * pass pipeline undoes a fusion the device could not run.  Also the memory
 * planner's interface (executor/memplan.h), tested directly. */
#include "test_util.h"

#include <dirent.h>
#include <pthread.h>

#include "../executor/executor_impl.h"
#include "../executor/memplan.h"
#include "../ndarray/device_impl.h"

#define F32 AM_DTYPE_FLOAT32
#define FUSED "_amber_fused_elemwise"

/* ---- the fake backend ------------------------------------------------------------------ */

#define FAKE_BLOCKS 64

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char *p;
    size_t n;
} fake_block[FAKE_BLOCKS];
static int64_t fake_live;      /* bytes handed out and not freed */
static int fake_kernel_calls;  /* calls that found every view in fake memory */

static void *fake_alloc(int id, size_t n)
{
    AM_UNUSED(id);
    char *p = aligned_alloc(AM_ALIGN, (n + AM_ALIGN - 1) / AM_ALIGN * AM_ALIGN + AM_ALIGN);
    pthread_mutex_lock(&fake_lock);
    int k = 0;
    while (k < FAKE_BLOCKS && fake_block[k].p) k++;
    if (p && k < FAKE_BLOCKS) {
        fake_block[k].p = p;
        fake_block[k].n = n;
        fake_live += (int64_t)n;
    } else {
        free(p);
        p = NULL;
    }
    pthread_mutex_unlock(&fake_lock);
    return p;
}

static void fake_free(int id, void *p)
{
    AM_UNUSED(id);
    pthread_mutex_lock(&fake_lock);
    for (int k = 0; k < FAKE_BLOCKS; k++)
        if (fake_block[k].p == p) {
            fake_live -= (int64_t)fake_block[k].n;
            fake_block[k].p = NULL;
        }
    pthread_mutex_unlock(&fake_lock);
    free(p);
}

/* Whether [p, p + n) lies in one block the fake device handed out. */
static bool fake_owns(const void *p, size_t n)
{
    bool in = false;
    pthread_mutex_lock(&fake_lock);
    for (int k = 0; k < FAKE_BLOCKS && !in; k++)
        in = fake_block[k].p && (const char *)p >= fake_block[k].p &&
             (const char *)p + n <= fake_block[k].p + fake_block[k].n;
    pthread_mutex_unlock(&fake_lock);
    return in;
}

static am_status fake_copy(int id, void *dst, const void *src, size_t n)
{
    AM_UNUSED(id);
    if (n) memcpy(dst, src, n);
    return AM_OK;
}

static am_status fake_memset0(int id, void *p, size_t n)
{
    AM_UNUSED(id);
    if (n) memset(p, 0, n);
    return AM_OK;
}

static int fake_count(void) { return 1; }

static const am_device_ops fake_ops = {
    .alloc = fake_alloc, .free = fake_free, .to_host = fake_copy, .from_host = fake_copy,
    .copy = fake_copy, .memset0 = fake_memset0, .count = fake_count,
};

static am_device_type fake_type;

/* Every view must be on the fake device and in its memory; then the CPU
 * kernel computes (the fake device's memory is host memory). */
static am_status fake_check(const am_kernel_ctx *ctx, const am_view *in, int n_in,
                            const am_view *out, int n_out)
{
    if (ctx->device.type != fake_type) return am_fail(AM_ERR_DEVICE, "not run on the fake device");
    for (int k = 0; k < n_in + n_out; k++) {
        const am_view *v = k < n_in ? &in[k] : &out[k - n_in];
        size_t n = (size_t)am_view_size(v) * am_dtype_size(v->dtype);
        if (v->device.type != fake_type || !fake_owns(v->data, n))
            return am_fail(AM_ERR_DEVICE, "%s %d is not in the fake device's memory",
                           k < n_in ? "input" : "output", k < n_in ? k : k - n_in);
    }
    fake_kernel_calls++;
    return AM_OK;
}

#define FAKE_KERNEL(name, mxname)                                                               \
    static am_status fake_##name(const am_kernel_ctx *ctx, const void *attrs, const am_view *in, \
                                 int n_in, const am_view *out, int n_out, const am_req *req)   \
    {                                                                                           \
        am_status st = fake_check(ctx, in, n_in, out, n_out);                                   \
        return st != AM_OK ? st : am_op_find(mxname)->cpu(ctx, attrs, in, n_in, out, n_out, req); \
    }
FAKE_KERNEL(add, "elemwise_add")
FAKE_KERNEL(relu, "relu")

/* The kernel table: two ops. */
static am_kernel_fn fake_kernel(const am_op_def *op)
{
    if (op == am_op_find("elemwise_add")) return fake_add;
    if (op == am_op_find("relu")) return fake_relu;
    return NULL;
}

static const am_device_backend fake_backend = {"fake", &fake_ops, fake_kernel};

static am_device fake(void)
{
    CU_ASSERT_EQUAL_FATAL(am_device_register(&fake_backend, &fake_type), AM_OK);
    return (am_device){fake_type, 0};
}

/* ---- the tests ---------------------------------------------------------------------- */

static void test_register_and_query(void)
{
    am_device d = fake();
    am_device_type again;
    char buf[32];
    CU_ASSERT(d.type >= AM_DEVICE_TYPE_COUNT);
    CU_ASSERT_EQUAL(am_device_register(&fake_backend, &again), AM_OK);
    CU_ASSERT_EQUAL(again, d.type);
    CU_ASSERT_STRING_EQUAL(am_device_format(d, buf, sizeof(buf)), "fake(0)");
    CU_ASSERT_STRING_EQUAL(am_device_type_name(d.type), "fake");
    CU_ASSERT(am_device_supports_op(d, am_op_find("relu")));
    CU_ASSERT(am_device_supports_op(d, am_op_find("elemwise_add")));
    CU_ASSERT(!am_device_supports_op(d, am_op_find("sigmoid")));
    CU_ASSERT(am_device_supports_op(am_cpu(), am_op_find("sigmoid")));
    CU_ASSERT(!am_device_supports_op(d, NULL));
    CU_ASSERT_PTR_EQUAL(am_op_kernel(am_op_find("relu"), d), fake_relu);
    /* An incomplete backend is refused. */
    static const am_device_backend bad = {"bad", NULL, fake_kernel};
    CU_ASSERT_EQUAL(am_device_register(&bad, &again), AM_ERR_ARG);
    /* Arrays move there and back through its copies. */
    am_scope_begin();
    am_array *x = tu_array(F32, AM_SHAPE(3), 1, -2, 3);
    am_array *f = am_to_device(x, d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT(am_device_equal(am_array_device(f), d));
    CU_ASSERT(fake_owns(am_array_ptr(f), 12));
    TU_ASSERT_VALUES(am_to_device(f, am_cpu()), AM_SHAPE(3), 0, 1, -2, 3);
    CU_ASSERT_EQUAL(am_array_fill(f, 7), AM_OK); /* through the device's from_host */
    TU_ASSERT_VALUES(am_to_device(f, am_cpu()), AM_SHAPE(3), 0, 7, 7, 7);
    am_scope_end();
}

/* relu(x + y) for plans on dev, with the pass log in *log. */
static am_plan *add_relu_plan(am_device dev, FILE *log, am_graph **g)
{
    am_array *x = am_var("x", AM_SHAPE(2, 3), F32), *y = am_var("y", AM_SHAPE(2, 3), F32);
    am_array *z = am_relu(am_elemwise_add(x, y));
    *g = am_graph_create(&z, 1);
    return am_plan_create(*g, &(am_plan_opts){.device = dev, .log = log});
}

static void test_plan_runs_on_the_device(void)
{
    am_device d = fake();
    am_scope_begin();
    FILE *log = tmpfile();
    am_graph *g;
    int64_t live = fake_live;
    am_plan *p = add_relu_plan(d, log, &g);
    if (!p) printf("\n  plan failed: %s\n", am_last_error());
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    /* The arena came from the fake allocator. */
    CU_ASSERT(fake_live - live >= am_plan_get_stats(p).arena_bytes);
    CU_ASSERT(am_plan_get_stats(p).arena_bytes > 0);
    /* add and relu would fuse, but the device has no fused kernel: the
     * pipeline kept the graph before the fuse pass and said so. */
    const am_graph *pg = am_plan_graph(p);
    CU_ASSERT_EQUAL(tu_count_op(pg, FUSED), 0);
    CU_ASSERT_EQUAL(tu_count_op(pg, "elemwise_add"), 1);
    CU_ASSERT_EQUAL(tu_count_op(pg, "relu"), 1);
    char text[2048] = {0};
    rewind(log);
    CU_ASSERT(fread(text, 1, sizeof(text) - 1, log) > 0);
    fclose(log);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "pass fuse: kept the graph before it: it made " FUSED
                                        ", which fake(0) has no kernel for"));
    /* Inputs on the CPU are refused, naming both devices. */
    am_array *xc = tu_array(F32, AM_SHAPE(2, 3), 1, -2, 3, -4, 5, -6);
    am_array *yc = tu_array(F32, AM_SHAPE(2, 3), 0.5, 0.5, -4, 3, -5, 7);
    CU_ASSERT_EQUAL(am_plan_bind(p, "x", xc), AM_ERR_DEVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "'x' is on cpu(0); the plan runs on fake(0)"));
    /* On the device, it runs there: every kernel found its views in fake memory. */
    CU_ASSERT_EQUAL(am_plan_bind(p, "x", am_to_device(xc, d)), AM_OK);
    CU_ASSERT_EQUAL(am_plan_bind(p, "y", am_to_device(yc, d)), AM_OK);
    int calls = fake_kernel_calls;
    am_status st = am_plan_run(p);
    if (st != AM_OK) printf("\n  run failed: %s\n", am_last_error());
    CU_ASSERT_EQUAL_FATAL(st, AM_OK);
    CU_ASSERT_EQUAL(fake_kernel_calls - calls, 2);
    am_array *out = am_plan_output(p, 0);
    CU_ASSERT(am_device_equal(am_array_device(out), d));
    TU_ASSERT_VALUES(am_to_device(out, am_cpu()), AM_SHAPE(2, 3), 0, 1.5, 0, 0, 0, 0, 1);
    am_plan_release(p);
    am_graph_release(g);
    /* The same graph on the CPU fuses. */
    p = add_relu_plan(am_cpu(), NULL, &g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(tu_count_op(am_plan_graph(p), FUSED), 1);
    am_plan_release(p);
    am_graph_release(g);
    am_scope_end();
    CU_ASSERT_EQUAL(fake_live, live); /* the plan and the arrays gave their memory back */
}

/* A constant of the graph (here a frozen variable, on the CPU) is copied to
 * the plan's device. */
static void test_constants_move_to_the_device(void)
{
    am_device d = fake();
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(4), F32), *w = am_var("w", AM_SHAPE(4), F32);
    am_array *z = am_relu(am_elemwise_add(x, w));
    am_graph *g = am_graph_create(&z, 1);
    am_array *wv = tu_array(F32, AM_SHAPE(4), 1, 1, -10, 0);
    am_graph *f = am_graph_freeze(g, (const char *[]){"w"}, &wv, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    am_plan *p = am_plan_create(f, &(am_plan_opts){.device = d});
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(am_plan_bind(p, "x", am_to_device(tu_array(F32, AM_SHAPE(4), 1, -3, 2, 5), d)),
                    AM_OK);
    CU_ASSERT_EQUAL_FATAL(am_plan_run(p), AM_OK);
    TU_ASSERT_VALUES(am_to_device(am_plan_output(p, 0), am_cpu()), AM_SHAPE(4), 0, 2, 0, 0, 5);
    am_plan_release(p);
    am_graph_release(f);
    am_graph_release(g);
    am_scope_end();
}

static void test_missing_kernel_fails_at_creation(void)
{
    am_device d = fake();
    am_scope_begin();
    am_array *x = am_var("x", AM_SHAPE(2, 3), F32), *y = am_var("y", AM_SHAPE(2, 3), F32);
    am_array *z = am_relu(am_sigmoid(am_elemwise_add(x, y)));
    am_graph *g = am_graph_create(&z, 1);
    int64_t live = fake_live;
    am_plan *p = am_plan_create(g, &(am_plan_opts){.device = d});
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_EQUAL(am_last_status(), AM_ERR_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "(sigmoid) has no kernel on fake(0)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "node '"));
    /* Also without the passes; nothing was left allocated. */
    p = am_plan_create(g, &(am_plan_opts){.device = d, .no_optimize = true});
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "(sigmoid) has no kernel on fake(0)"));
    CU_ASSERT_EQUAL(fake_live, live);
    /* A device that is not there: an error, unless the plan is only sized,
     * which shows what the device lacks without it. */
    am_device absent = {d.type, 1};
    CU_ASSERT_PTR_NULL(am_plan_create(g, &(am_plan_opts){.device = absent}));
    CU_ASSERT_EQUAL(am_last_status(), AM_ERR_DEVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "device fake(1) is not available"));
    CU_ASSERT_PTR_NULL(am_plan_create(g, &(am_plan_opts){.device = absent, .no_alloc = true}));
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "(sigmoid) has no kernel on fake(1)"));
    /* A pass may still remove an op the device lacks: only new ones are refused. */
    am_graph *o = am_graph_optimize(g, &(am_optimize_opts){.device = d});
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(tu_count_op(o, "sigmoid"), 1);
    CU_ASSERT_EQUAL(tu_count_op(o, FUSED), 0);
    am_graph_release(o);
    am_graph_release(g);
    am_scope_end();
}

/* Kernels are looked up by device (am_op_kernel), never read from an op's
 * cpu or gpu field, anywhere in executor/ (run from the source tree). */
static void test_executor_reads_no_kernel_field(void)
{
    static const char *const banned[] = {"op->cpu", "op->gpu", "->cpu(", "->gpu(", ".cpu(",
                                         ".gpu(", NULL};
    DIR *d = opendir("executor");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    int files = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 3 || strcmp(e->d_name + n - 2, ".c") != 0) continue;
        char path[300], line[1024];
        snprintf(path, sizeof(path), "executor/%s", e->d_name);
        FILE *f = fopen(path, "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        files++;
        for (int no = 1; fgets(line, sizeof(line), f); no++)
            for (int k = 0; banned[k]; k++)
                if (strstr(line, banned[k])) {
                    printf("\n  %s:%d reads a kernel field: %s", path, no, line);
                    CU_FAIL("a kernel read without am_op_kernel");
                }
        fclose(f);
    }
    closedir(d);
    CU_ASSERT(files > 10);
}

/* ---- the memory planner's interface ------------------------------------------------ */

static bool disjoint(const am_mem_value *a, const am_mem_value *b)
{
    return a->offset + a->bytes <= b->offset || b->offset + b->bytes <= a->offset;
}

static void test_memplan_lifetimes(void)
{
    /* Three values alive at once get disjoint bytes. */
    am_mem_value v[4] = {
        {.bytes = 100, .first = 0, .last = 2},
        {.bytes = 300, .first = 1, .last = 2},
        {.bytes = 200, .first = 2, .last = 3},
        {.bytes = 250, .first = 3, .last = 4}, /* meets only v[2] */
    };
    size_t arena = 0;
    CU_ASSERT_EQUAL_FATAL(am_mem_plan(v, 3, NULL, 0, false, &arena), AM_OK);
    CU_ASSERT(disjoint(&v[0], &v[1]) && disjoint(&v[1], &v[2]) && disjoint(&v[0], &v[2]));
    for (int k = 0; k < 3; k++) {
        CU_ASSERT_EQUAL(v[k].offset % AM_ALIGN, 0);
        CU_ASSERT(v[k].offset + v[k].bytes <= arena);
        CU_ASSERT_EQUAL(v[k].share, -1);
    }
    CU_ASSERT_EQUAL(arena, 320 + 256 + 128); /* each block rounded to 64 bytes */
    /* The fourth meets only the third: it reuses the second's bytes. */
    CU_ASSERT_EQUAL_FATAL(am_mem_plan(v, 4, NULL, 0, false, &arena), AM_OK);
    CU_ASSERT(disjoint(&v[2], &v[3]));
    CU_ASSERT(!disjoint(&v[3], &v[1]));
    CU_ASSERT_EQUAL(arena, 320 + 256 + 128);
    /* Values that never meet share one block. */
    am_mem_value w[3] = {
        {.bytes = 400, .first = 0, .last = 1},
        {.bytes = 400, .first = 2, .last = 3},
        {.bytes = 400, .first = 4, .last = 4},
    };
    CU_ASSERT_EQUAL_FATAL(am_mem_plan(w, 3, NULL, 0, false, &arena), AM_OK);
    CU_ASSERT(w[0].offset == 0 && w[1].offset == 0 && w[2].offset == 0);
    CU_ASSERT_EQUAL(arena, 448);
    /* no_share lays them out one after another. */
    CU_ASSERT_EQUAL_FATAL(am_mem_plan(w, 3, NULL, 0, true, &arena), AM_OK);
    CU_ASSERT(w[0].offset == 0 && w[1].offset == 448 && w[2].offset == 896);
    CU_ASSERT_EQUAL(arena, 3 * 448);
}

static void test_memplan_alignment(void)
{
    am_mem_value v[3] = {
        {.bytes = 10, .align = 16, .first = 0, .last = 1},
        {.bytes = 10, .align = 1024, .first = 0, .last = 1},
        {.bytes = 30, .align = 16, .first = 0, .last = 1},
    };
    size_t arena = 0;
    CU_ASSERT_EQUAL_FATAL(am_mem_plan(v, 3, NULL, 0, false, &arena), AM_OK);
    CU_ASSERT_EQUAL(v[0].offset % 16, 0);
    CU_ASSERT_EQUAL(v[1].offset % 1024, 0);
    CU_ASSERT_EQUAL(v[2].offset % 16, 0);
    CU_ASSERT(disjoint(&v[0], &v[1]) && disjoint(&v[1], &v[2]) && disjoint(&v[0], &v[2]));
    CU_ASSERT(arena >= v[1].offset + 1024);
    /* A bad alignment or lifetime is an error that says which value. */
    v[2].align = 24;
    CU_ASSERT_EQUAL(am_mem_plan(v, 3, NULL, 0, false, &arena), AM_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "value 2"));
    v[2].align = 16;
    v[2].last = -1;
    CU_ASSERT_EQUAL(am_mem_plan(v, 3, NULL, 0, false, &arena), AM_ERR_ARG);
}

static void test_memplan_hints(void)
{
    /* a = step 0, b = f(a) at step 1 (a's last use), c = g(b) at step 2,
     * d = h(b) also at step 2 (b read again later by step 3). */
    am_mem_value v[4] = {
        {.bytes = 256, .first = 0, .last = 1},
        {.bytes = 256, .first = 1, .last = 3},
        {.bytes = 256, .first = 2, .last = 4},
        {.bytes = 256, .first = 2, .last = 2},
    };
    am_mem_hint h[3] = {{.value = 1, .donor = 0}, {.value = 2, .donor = 1},
                        {.value = 3, .donor = 1}};
    size_t arena = 0;
    CU_ASSERT_EQUAL_FATAL(am_mem_plan(v, 4, h, 3, false, &arena), AM_OK);
    /* b takes a's block and keeps it alive to step 3; c and d cannot take
     * it (b is read after step 2). */
    CU_ASSERT(h[0].taken && !h[1].taken && !h[2].taken);
    CU_ASSERT_EQUAL(v[1].share, 0);
    CU_ASSERT_EQUAL(v[1].offset, v[0].offset);
    CU_ASSERT_EQUAL(v[0].last, 3);
    CU_ASSERT(disjoint(&v[0], &v[2]) && disjoint(&v[0], &v[3]) && disjoint(&v[2], &v[3]));
    CU_ASSERT_EQUAL(arena, 3 * 256);
    /* Two outputs of one step never take the same block; a chain follows
     * the blocks: e = k(b) at step 3 takes a's block through b. */
    am_mem_value w[5] = {
        {.bytes = 256, .first = 0, .last = 1},
        {.bytes = 256, .first = 1, .last = 1},
        {.bytes = 256, .first = 1, .last = 2},
        {.bytes = 256, .first = 2, .last = 3},
        {.bytes = 128, .first = 3, .last = 3},
    };
    am_mem_hint k[4] = {{.value = 1, .donor = 0}, {.value = 2, .donor = 0},
                        {.value = 3, .donor = 2}, {.value = 4, .donor = 3}};
    CU_ASSERT_EQUAL_FATAL(am_mem_plan(w, 5, k, 4, false, &arena), AM_OK);
    CU_ASSERT(k[0].taken && !k[1].taken && k[2].taken && !k[3].taken); /* k[3]: sizes differ */
    CU_ASSERT_EQUAL(w[3].share, 2);
    CU_ASSERT(disjoint(&w[0], &w[2]));
    /* With no_share, no hint is taken. */
    CU_ASSERT_EQUAL_FATAL(am_mem_plan(w, 5, k, 4, true, &arena), AM_OK);
    CU_ASSERT(!k[0].taken && !k[2].taken);
    CU_ASSERT_EQUAL(w[1].share, -1);
    /* A hint naming a value out of range is an error. */
    am_mem_hint bad = {.value = 1, .donor = 7};
    CU_ASSERT_EQUAL(am_mem_plan(w, 5, &bad, 1, false, &arena), AM_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "hint 0"));
}

CU_TestInfo am_tests_device[] = {
    {"a registered backend: name, kernels, copies", test_register_and_query},
    {"a plan runs on the device; fusion it cannot run is undone", test_plan_runs_on_the_device},
    {"constants move to the plan's device", test_constants_move_to_the_device},
    {"a missing kernel fails at plan creation", test_missing_kernel_fails_at_creation},
    {"executor/ takes kernels from am_op_kernel only", test_executor_reads_no_kernel_field},
    {"memplan: lifetimes", test_memplan_lifetimes},
    {"memplan: alignment", test_memplan_alignment},
    {"memplan: in-place hints", test_memplan_hints},
    CU_TEST_INFO_NULL,
};
