/* The ndarray suite: creation, properties, scopes and ownership, errors,
 * random numbers, printing and .npy files. */
#include "test_util.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_creation(void)
{
    am_scope_begin();
    TU_ASSERT_VALUES(am_zeros(AM_SHAPE(2, 2), AM_DTYPE_FLOAT32), AM_SHAPE(2, 2), 0, 0, 0, 0, 0);
    TU_ASSERT_VALUES(am_ones(AM_SHAPE(3), AM_DTYPE_INT64), AM_SHAPE(3), 0, 1, 1, 1);
    TU_ASSERT_VALUES(am_full(AM_SHAPE(1, 2), AM_DTYPE_FLOAT64, -1.5), AM_SHAPE(1, 2), 0, -1.5, -1.5);
    TU_ASSERT_VALUES(am_arange(0, 5, 1, AM_DTYPE_INT32), AM_SHAPE(5), 0, 0, 1, 2, 3, 4);
    TU_ASSERT_VALUES(am_arange(1, 0, -0.25, AM_DTYPE_FLOAT32), AM_SHAPE(4), 0, 1, 0.75, 0.5, 0.25);
    CU_ASSERT(tu_values_are(am_arange(3, 3, 1, AM_DTYPE_FLOAT32), AM_SHAPE(0), NULL, 0, 0));
    TU_ASSERT_VALUES(am_linspace(0, 1, 5, AM_DTYPE_FLOAT64), AM_SHAPE(5), 0, 0, 0.25, 0.5, 0.75, 1);
    TU_ASSERT_VALUES(am_linspace(2, 3, 1, AM_DTYPE_FLOAT64), AM_SHAPE(1), 0, 2);
    float buf[] = {1, 2, 3, 4, 5, 6};
    am_array *b = am_from_buffer(buf, AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    buf[0] = 100; /* a copy, not a borrow */
    TU_ASSERT_VALUES(b, AM_SHAPE(2, 3), 0, 1, 2, 3, 4, 5, 6);
    am_array *z = am_zeros(AM_SHAPE(0, 4), AM_DTYPE_UINT8);
    CU_ASSERT_EQUAL(am_array_size(z), 0);
    CU_ASSERT_EQUAL(am_array_ndim(z), 2);
    am_array *s = am_full(AM_SHAPE(), AM_DTYPE_FLOAT32, 7); /* ndim 0 */
    CU_ASSERT_EQUAL(am_array_ndim(s), 0);
    CU_ASSERT_EQUAL(am_array_size(s), 1);
    CU_ASSERT_EQUAL(am_item(s, 0), 7);
    am_scope_end();
}

static void test_properties(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(2, 3, 4), AM_DTYPE_INT64);
    CU_ASSERT_EQUAL(am_array_ndim(x), 3);
    CU_ASSERT_EQUAL(am_array_dim(x, 0), 2);
    CU_ASSERT_EQUAL(am_array_dim(x, -1), 4);
    CU_ASSERT_EQUAL(am_array_dim(x, 3), -1);
    CU_ASSERT_EQUAL(am_array_size(x), 24);
    CU_ASSERT_EQUAL(am_array_dtype(x), AM_DTYPE_INT64);
    CU_ASSERT(am_device_equal(am_array_device(x), am_cpu()));
    CU_ASSERT(!am_array_is_symbolic(x));
    CU_ASSERT(!am_array_is_view(x));
    CU_ASSERT_PTR_NOT_NULL(am_array_data_i64(x));
    CU_ASSERT_EQUAL(((uintptr_t)am_array_data(x)) % 64, 0);
    CU_ASSERT_EQUAL(am_array_fill(x, 3), AM_OK);
    CU_ASSERT_EQUAL(am_item(x, 23), 3);
    CU_ASSERT(isnan(am_item(x, 24)));
    CU_ASSERT_EQUAL(am_last_status(), AM_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "am_item: index 24 is out of range for 24 elements at test_ndarray.c"));
    am_clear_error();
    char buf[64];
    am_shape s = am_array_shape(x);
    CU_ASSERT_STRING_EQUAL(am_shape_format(&s, buf, sizeof(buf)), "(2, 3, 4)");
    s = AM_SHAPE(5);
    CU_ASSERT_STRING_EQUAL(am_shape_format(&s, buf, sizeof(buf)), "(5,)");
    CU_ASSERT_STRING_EQUAL(am_dtype_name(AM_DTYPE_UINT8), "uint8");
    CU_ASSERT_EQUAL(am_dtype_size(AM_DTYPE_FLOAT64), 8);
    am_dtype t;
    CU_ASSERT(am_dtype_from_mxnet(6, &t) && t == AM_DTYPE_INT64);
    CU_ASSERT(am_dtype_from_mxnet(2, &t) && t == AM_DTYPE_FLOAT16);
    CU_ASSERT(am_dtype_from_mxnet(12, &t) && t == AM_DTYPE_BFLOAT16);
    CU_ASSERT(!am_dtype_from_mxnet(8, &t)); /* int16 */
    CU_ASSERT_EQUAL(am_dtype_to_mxnet(AM_DTYPE_UINT8), 3);
    am_scope_end();
}

static void test_conversion(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(4), -1.7, 0.2, 2.9, 300);
    TU_ASSERT_VALUES(am_astype(x, AM_DTYPE_INT32), AM_SHAPE(4), 0, -1, 0, 2, 300);
    TU_ASSERT_VALUES(am_astype(x, AM_DTYPE_FLOAT64), AM_SHAPE(4), 1e-7, -1.7, 0.2, 2.9, 300);
    am_array *c = am_copy(x);
    CU_ASSERT_EQUAL(am_array_fill(c, 0), AM_OK);
    CU_ASSERT_EQUAL(am_item(x, 0), (float)-1.7); /* the copy is independent */
    am_array *d = am_to_device(x, am_cpu());
    CU_ASSERT(tu_allclose(d, x, 0));
    TU_ASSERT_FAILS(am_to_device(x, am_gpu(0)), AM_ERR_DEVICE, "gpu(0) is not available");
    TU_ASSERT_FAILS(am_astype(x, (am_dtype)99), AM_ERR_DTYPE, "Cast");
    am_scope_end();
}

static void test_scopes(void)
{
    int64_t live = am_debug_live_arrays();
    am_scope_begin();
    am_array *a = am_zeros(AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_scope_begin();
    am_array *b = am_ones(AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_array *kept = am_keep(am_full(AM_SHAPE(3), AM_DTYPE_FLOAT32, 2));
    CU_ASSERT_EQUAL(am_debug_live_arrays(), live + 3);
    CU_ASSERT_EQUAL(am_scope_end(), AM_OK);
    CU_ASSERT_EQUAL(am_debug_live_arrays(), live + 2); /* b is gone, kept moved out */
    CU_ASSERT_EQUAL(am_item(kept, 2), 2);
    AM_UNUSED(b);
    am_retain(a); /* survives its scope */
    CU_ASSERT_EQUAL(am_scope_end(), AM_OK);
    CU_ASSERT_EQUAL(am_debug_live_arrays(), live + 1);
    am_release(a);
    CU_ASSERT_EQUAL(am_debug_live_arrays(), live);

    /* With no scope open, the caller owns results. */
    am_array *own = am_zeros(AM_SHAPE(2), AM_DTYPE_FLOAT32);
    CU_ASSERT_EQUAL(am_debug_live_arrays(), live + 1);
    am_release(own);
    am_release(NULL);
    CU_ASSERT_EQUAL(am_debug_live_arrays(), live);
    TU_ASSERT_FAILS(am_scope_end() == AM_OK, AM_ERR_ARG, "no scope is open");

    /* am_keep from the outermost scope hands the reference to the caller. */
    am_scope_begin();
    am_array *out = am_keep(am_ones(AM_SHAPE(1), AM_DTYPE_FLOAT32));
    am_scope_end();
    CU_ASSERT_EQUAL(am_item(out, 0), 1);
    am_release(out);
    CU_ASSERT_EQUAL(am_debug_live_arrays(), live);
}

/* A long eager loop with a scope per step holds memory flat. */
static void test_scope_loop_does_not_grow(void)
{
    int64_t live = am_debug_live_arrays();
    am_array *acc = am_zeros(AM_SHAPE(64), AM_DTYPE_FLOAT32);
    for (int step = 0; step < 10000; step++) {
        am_scope_begin();
        am_array *x = am_random_uniform(0, 1, AM_SHAPE(64), AM_DTYPE_FLOAT32);
        am_array *y = am_astype(am_astype(x, AM_DTYPE_FLOAT64), AM_DTYPE_FLOAT32);
        am_array *keep = am_keep(am_copy(y));
        am_scope_end();
        am_release(acc);
        acc = keep;
        if (step == 100) CU_ASSERT_EQUAL(am_debug_live_arrays(), live + 1);
    }
    CU_ASSERT_EQUAL(am_debug_live_arrays(), live + 1);
    am_release(acc);
    CU_ASSERT_EQUAL(am_debug_live_arrays(), live);
}

static void test_errors(void)
{
    am_clear_error();
    CU_ASSERT_EQUAL(am_last_status(), AM_OK);
    CU_ASSERT_STRING_EQUAL(am_last_error(), "");
    TU_ASSERT_FAILS(am_zeros(AM_SHAPE(-1), AM_DTYPE_FLOAT32), AM_ERR_SHAPE, "_zeros: shape dimension 0 is negative");
    TU_ASSERT_FAILS(am_zeros(AM_SHAPE(1LL << 40, 1LL << 40), AM_DTYPE_FLOAT32), AM_ERR_SHAPE, "too large");
    TU_ASSERT_FAILS(am_zeros(AM_SHAPE(1LL << 40), AM_DTYPE_FLOAT32), AM_ERR_OOM, "_zeros: output needs 4.0 TiB");
    /* A NULL input keeps the first message. */
    am_scope_begin();
    am_clear_error();
    am_array *bad = am_zeros(AM_SHAPE(-2), AM_DTYPE_FLOAT32);
    am_array *chained = am_astype(am_copy(bad), AM_DTYPE_INT32);
    CU_ASSERT_PTR_NULL(chained);
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "shape dimension 0 is negative"));
    am_clear_error();
    CU_ASSERT_PTR_NULL(am_copy(NULL));
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "_copy: input 0 is NULL at test_ndarray.c"));
    am_clear_error();
    CU_ASSERT_STRING_EQUAL(am_status_name(AM_ERR_SYMBOLIC), "AM_ERR_SYMBOLIC");
    am_scope_end();
}

/* AM_ABORT_ON_ERROR=1 turns the first failure into an abort (in a child). */
static void test_abort_on_error(void)
{
    fflush(stdout);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        setenv("AM_ABORT_ON_ERROR", "1", 1);
        am_zeros(AM_SHAPE(-1), AM_DTYPE_FLOAT32);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

static void test_random(void)
{
    am_scope_begin();
    am_seed(7);
    am_array *a = am_random_uniform(-1, 1, AM_SHAPE(1000), AM_DTYPE_FLOAT32);
    am_array *n = am_random_normal(2, 3, AM_SHAPE(20000), AM_DTYPE_FLOAT64);
    am_seed(7);
    am_array *b = am_random_uniform(-1, 1, AM_SHAPE(1000), AM_DTYPE_FLOAT32);
    CU_ASSERT(tu_allclose(a, b, 0));
    double lo = 1, hi = -1, sum = 0, sq = 0;
    for (int i = 0; i < 1000; i++) {
        double v = am_item(a, i);
        lo = fmin(lo, v), hi = fmax(hi, v);
    }
    CU_ASSERT(lo >= -1 && hi < 1 && lo < -0.9 && hi > 0.9);
    for (int i = 0; i < 20000; i++) {
        double v = am_item(n, i);
        sum += v, sq += v * v;
    }
    double mean = sum / 20000, var = sq / 20000 - mean * mean;
    CU_ASSERT(fabs(mean - 2) < 0.1);
    CU_ASSERT(fabs(sqrt(var) - 3) < 0.1);
    TU_ASSERT_FAILS(am_random_uniform(0, 1, AM_SHAPE(2), AM_DTYPE_INT32), AM_ERR_DTYPE, "_random_uniform");
    am_scope_end();
}

CU_TestInfo am_tests_ndarray[] = {
    {"creation", test_creation},
    {"properties", test_properties},
    {"conversion", test_conversion},
    {"scopes and ownership", test_scopes},
    {"10,000 scoped steps keep memory flat", test_scope_loop_does_not_grow},
    {"errors", test_errors},
    {"AM_ABORT_ON_ERROR aborts", test_abort_on_error},
    {"random numbers", test_random},
    CU_TEST_INFO_NULL,
};
