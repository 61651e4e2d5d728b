/* The gpu suite: every op with a GPU kernel against its CPU kernel over the
 * registry's case tables (WRITE and ADD), device round trips, the memory
 * pool, printing and saving GPU arrays, and error mapping.  Without a GPU
 * (a CPU build, or no device) the suite reports itself skipped. */
#include "test_util.h"
#include "../gpu/gpu_kernels.h"

#include <unistd.h>

extern const am_op_case *const am_case_tables[];

/* ---- helpers --------------------------------------------------------------------- */

static am_array *to_gpu(am_array *x) { return am_to_device(x, am_gpu(0)); }
static am_array *to_cpu(am_array *x) { return am_to_device(x, am_cpu()); }

/* Same shape, dtype and bytes. */
static bool same_bytes(am_array *a, am_array *b)
{
    if (!a || !b || am_array_dtype(a) != am_array_dtype(b)) return false;
    am_shape sa = am_array_shape(a), sb = am_array_shape(b);
    if (sa.ndim != sb.ndim) return false;
    for (int i = 0; i < sa.ndim; i++)
        if (sa.dim[i] != sb.dim[i]) return false;
    size_t n = (size_t)am_array_size(a) * am_dtype_size(am_array_dtype(a));
    return n == 0 || memcmp(am_array_data(a), am_array_data(b), n) == 0;
}

static am_array *random_of(am_shape s, am_dtype t)
{
    return tu_random(s, t, t == AM_DTYPE_UINT8 ? 0 : -100, 100);
}

/* The first test: without a GPU, every later test of the suite is marked
 * inactive, which CUnit counts as skipped rather than failed. */
static void test_gpu_present(void)
{
    if (am_gpu_count() > 0) {
        printf("(%d GPU%s) ", am_gpu_count(), am_gpu_count() > 1 ? "s" : "");
        CU_PASS("GPU present");
        return;
    }
    printf("skipped: no GPU (am_gpu_count() == 0), the rest of the suite is inactive ");
    CU_pSuite s = CU_get_current_suite();
    for (CU_pTest t = s ? s->pTest : NULL; t; t = t->pNext)
        if (t != CU_get_current_test()) CU_set_test_active(t, CU_FALSE);
    CU_PASS("skipped");
}

/* ---- device round trips ------------------------------------------------------------- */

static void test_gpu_round_trips(void)
{
    am_shape shapes[] = {AM_SHAPE(), AM_SHAPE(0), AM_SHAPE(2, 0), AM_SHAPE(5),
                         AM_SHAPE(3, 4, 5), AM_SHAPE(1000003)};
    am_scope_begin();
    for (int t = 0; t < AM_DTYPE_COUNT; t++)
        for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
            am_array *x = random_of(shapes[k], (am_dtype)t), *g = to_gpu(x);
            CU_ASSERT_PTR_NOT_NULL_FATAL(g);
            CU_ASSERT(am_device_equal(am_array_device(g), am_gpu(0)));
            CU_ASSERT(same_bytes(to_cpu(g), x));
            CU_ASSERT(same_bytes(to_cpu(to_gpu(g)), x)); /* GPU to GPU */
            int64_t n = am_array_size(x);
            if (n > 0) CU_ASSERT_EQUAL(am_item(g, n - 1), am_item(x, n - 1));
        }
    am_array *g = to_gpu(am_zeros(AM_SHAPE(7), AM_DTYPE_INT32));
    CU_ASSERT_EQUAL(am_array_fill(g, 3), AM_OK);
    TU_ASSERT_VALUES(to_cpu(g), AM_SHAPE(7), 0, 3, 3, 3, 3, 3, 3, 3);
    am_scope_end();
}

/* ---- ops: GPU against CPU over the case tables ----------------------------------- */

/* Calls op's kernel for device d on arrays that live there. */
static am_status call_on(const am_op_def *op, const void *attrs, am_device d, am_array **in,
                         int n_in, am_array **out, am_req req)
{
    am_view vin[AM_MAX_OP_IO], vout[AM_MAX_OP_IO];
    am_req reqs[AM_MAX_OP_IO];
    am_shape ish[AM_MAX_OP_IO];
    int n_out = am_op_num_outputs(op, attrs);
    for (int i = 0; i < n_in; i++) vin[i] = am_array_view(in[i]), ish[i] = am_array_shape(in[i]);
    for (int i = 0; i < n_out; i++) vout[i] = am_array_view(out[i]), reqs[i] = req;
    am_kernel_ctx ctx = {.device = d, .rng = am_rng_state()};
    am_storage *ws = NULL;
    if (op->temp_bytes && (ctx.workspace_bytes = op->temp_bytes(attrs, ish, n_in))) {
        if (!(ws = am_storage_create(ctx.workspace_bytes, d))) return am_last_status();
        ctx.workspace = ws->data;
    }
    am_kernel_fn fn = d.type == AM_DEVICE_GPU ? op->gpu : op->cpu;
    am_status st = fn(&ctx, attrs, vin, n_in, vout, n_out, reqs);
    am_storage_release(ws);
    return st;
}

static double tolerance(am_dtype t)
{
    return t == AM_DTYPE_FLOAT32 ? 1e-5 : t == AM_DTYPE_FLOAT64 ? 1e-12 : 0;
}

/* Runs one case with req on both devices from the same starting outputs. */
static void compare_case(const am_op_def *op, const void *attrs, am_array **in, int n_in,
                         const am_shape *osh, const am_dtype *oty, am_req req, const char *name)
{
    am_array *gin[AM_MAX_OP_IO], *cout[AM_MAX_OP_IO], *gout[AM_MAX_OP_IO];
    int n_out = am_op_num_outputs(op, attrs);
    for (int i = 0; i < n_in; i++) gin[i] = to_gpu(in[i]);
    for (int i = 0; i < n_out; i++) {
        am_array *before = random_of(osh[i], oty[i]);
        cout[i] = am_copy(before);
        gout[i] = to_gpu(before);
    }
    CU_ASSERT_EQUAL_FATAL(call_on(op, attrs, am_cpu(), in, n_in, cout, req), AM_OK);
    am_status st = call_on(op, attrs, am_gpu(0), gin, n_in, gout, req);
    if (st != AM_OK) printf("\n  %s: %s\n", name, am_last_error());
    CU_ASSERT_EQUAL_FATAL(st, AM_OK);
    for (int i = 0; i < n_out; i++) {
        bool ok = tu_allclose(to_cpu(gout[i]), cout[i], tolerance(oty[i]));
        if (!ok) printf("  (output %d of %s, req %d)\n", i, name, (int)req);
        CU_ASSERT(ok);
    }
}

static int run_gpu_case(const am_op_case *c)
{
    const am_op_def *op = am_op_find(c->op);
    if (!op || !op->gpu || (op->flags & AM_OP_RANDOM)) return 0;
    tu_parsed_case p;
    tu_parse_case(c, &p);
    char name[256];
    snprintf(name, sizeof(name), "%s{%s}[%s]", c->op, c->attrs ? c->attrs : "",
             c->shapes ? c->shapes : "");
    am_scope_begin();
    am_array *in[AM_MAX_OP_IO];
    am_shape ish[AM_MAX_OP_IO], osh[AM_MAX_OP_IO];
    am_dtype ity[AM_MAX_OP_IO], oty[AM_MAX_OP_IO];
    for (int i = 0; i < p.n_in; i++) {
        in[i] = tu_case_input(c, &p, i);
        ish[i] = am_array_shape(in[i]);
        ity[i] = am_array_dtype(in[i]);
    }
    void *attrs = am_attrs_parse(op, (const char *const *)p.keys, (const char *const *)p.vals,
                                 p.n_attrs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(attrs);
    int n_out = am_op_num_outputs(op, attrs);
    for (int i = 0; i < n_out; i++) osh[i].ndim = -1;
    CU_ASSERT_EQUAL_FATAL(op->infer_dtype(attrs, ity, p.n_in, oty, n_out), AM_OK);
    CU_ASSERT_EQUAL_FATAL(op->infer_shape(attrs, ish, p.n_in, osh, n_out), AM_OK);
    compare_case(op, attrs, in, p.n_in, osh, oty, AM_REQ_WRITE, name);
    compare_case(op, attrs, in, p.n_in, osh, oty, AM_REQ_ADD, name);
    free(attrs);
    am_scope_end();
    return 1;
}

static void test_gpu_op_cases(void)
{
    int n = 0;
    for (int t = 0; am_case_tables[t]; t++)
        for (const am_op_case *c = am_case_tables[t]; c->op; c++) n += run_gpu_case(c);
    printf("(%d cases) ", n);
    CU_ASSERT(n > 0);
}

/* Eager calls on GPU inputs dispatch to the GPU kernels. */
static void test_gpu_eager_ops(void)
{
    am_scope_begin();
    for (int t = 0; t < AM_DTYPE_COUNT; t++) {
        am_array *x = random_of(AM_SHAPE(3, 70001), (am_dtype)t), *g = to_gpu(x);
        CU_ASSERT(same_bytes(to_cpu(am_copy(g)), x));
        CU_ASSERT(same_bytes(to_cpu(am_zeros_like(g)), am_zeros_like(x)));
        CU_ASSERT(same_bytes(to_cpu(am_ones_like(g)), am_ones_like(x)));
        for (int u = 0; u < AM_DTYPE_COUNT; u++) {
            am_array *y = am_astype(g, (am_dtype)u);
            CU_ASSERT(am_device_equal(am_array_device(y), am_gpu(0)));
            CU_ASSERT(same_bytes(to_cpu(y), am_astype(x, (am_dtype)u)));
        }
    }
    am_scope_end();
}

/* ---- the pool ------------------------------------------------------------------------- */

static void *gpu_ptr_of_new(int64_t n)
{
    am_array *g = am_array_alloc(AM_SHAPE(n), AM_DTYPE_UINT8, am_gpu(0));
    void *p = g ? am_array_ptr(g) : NULL;
    am_release(g);
    return p;
}

static void test_gpu_pool(void)
{
    size_t used0, cached0, used, cached;
    am_gpu_pool_trim();
    CU_ASSERT(am_gpu_pool_stats(0, &used0, &cached0));
    CU_ASSERT_EQUAL(cached0, 0);
    /* a freed block is handed out again for a request of its class */
    void *a = gpu_ptr_of_new(1000);
    CU_ASSERT_PTR_NOT_NULL(a);
    CU_ASSERT(am_gpu_pool_stats(0, &used, &cached) && cached == 1024 && used == used0);
    CU_ASSERT_PTR_EQUAL(gpu_ptr_of_new(600), a); /* same 1 KiB class */
    /* large blocks serve requests up to 1/8 smaller, not much smaller */
    void *big = gpu_ptr_of_new(3 << 20);
    CU_ASSERT_PTR_EQUAL(gpu_ptr_of_new((3 << 20) - (256 << 10)), big);
    CU_ASSERT_PTR_NOT_EQUAL(gpu_ptr_of_new(2 << 20), big);
    /* two live arrays never share a block */
    am_array *x = am_array_alloc(AM_SHAPE(100), AM_DTYPE_FLOAT32, am_gpu(0));
    am_array *y = am_array_alloc(AM_SHAPE(100), AM_DTYPE_FLOAT32, am_gpu(0));
    CU_ASSERT(x && y && am_array_ptr(x) != am_array_ptr(y));
    CU_ASSERT(am_gpu_pool_stats(0, &used, &cached) && used == used0 + 1024);
    am_release(x);
    am_release(y);
    am_gpu_pool_trim();
    CU_ASSERT(am_gpu_pool_stats(0, &used, &cached) && cached == 0 && used == used0);
    CU_ASSERT(!am_gpu_pool_stats(-1, &used, &cached));
}

/* ---- printing, saving, errors ------------------------------------------------------------- */

static void test_gpu_print_and_save(void)
{
    char path[64];
    am_scope_begin();
    am_array *g = to_gpu(tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 1, 2, 3, 4));
    char *s = am_to_string(g);
    CU_ASSERT_STRING_EQUAL(s ? s : "", "[[1. 2.]\n [3. 4.]]");
    free(s);
    snprintf(path, sizeof(path), "/tmp/amber-gpu-%ld.npy", (long)getpid());
    CU_ASSERT_EQUAL(am_npy_save(path, g), AM_OK);
    TU_ASSERT_VALUES(am_npy_load(path), AM_SHAPE(2, 2), 0, 1, 2, 3, 4);
    unlink(path);
    am_scope_end();
}

static void test_gpu_errors(void)
{
    am_scope_begin();
    am_array *x = am_ones(AM_SHAPE(4), AM_DTYPE_FLOAT32), *g = to_gpu(x);
    TU_ASSERT_FAILS(am_to_device(x, am_gpu(am_gpu_count())), AM_ERR_DEVICE, "is not available");
    TU_ASSERT_FAILS(am_array_data(g), AM_ERR_DEVICE, "array is on the GPU");
    /* kernels report bad dtypes and CUDA failures instead of aborting */
    const am_op_def *op = am_op_find("zeros_like");
    am_view v = am_array_view(g);
    v.dtype = (am_dtype)99;
    am_req w = AM_REQ_WRITE;
    am_kernel_ctx ctx = {.device = am_gpu(0)};
    am_clear_error();
    CU_ASSERT_EQUAL(op->gpu(&ctx, NULL, &v, 1, &v, 1, &w), AM_ERR_DTYPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "unsupported dtype 99"));
    ctx.device.id = 999;
    v = am_array_view(g);
    am_clear_error();
    CU_ASSERT_EQUAL(op->gpu(&ctx, NULL, &v, 1, &v, 1, &w), AM_ERR_CUDA);
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "CUDA error cudaErrorInvalidDevice"));
    am_clear_error();
    am_scope_end();
}

CU_TestInfo am_tests_gpu[] = {
    {"a GPU is present", test_gpu_present},
    {"device round trips", test_gpu_round_trips},
    {"op cases match the CPU", test_gpu_op_cases},
    {"eager ops on GPU inputs", test_gpu_eager_ops},
    {"memory pool", test_gpu_pool},
    {"print and save GPU arrays", test_gpu_print_and_save},
    {"errors", test_gpu_errors},
    CU_TEST_INFO_NULL,
};
