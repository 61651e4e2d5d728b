/* The ops_misc suite: MXNet 1.x's smaller classic ops (ndarray/ops/misc.c) against values
 * MXNet 1.9.1 gives for the same inputs, with their gradients and errors. */
#include "test_util.h"

#define I64S(...) ((int64_t[]){__VA_ARGS__})

static am_array *iota(am_shape s, am_dtype t)
{
    return am_reshape(am_arange(0, (double)am_shape_size(&s), 1, t), s);
}

/* MXNet: batch_take(arange(6).reshape(2, 3), [2, 0]) = [2, 3]; [5, -1] clips to [2, 3];
 * a (2, 3, 4) is read as 6 rows of 4. */
static void test_batch_take(void)
{
    am_scope_begin();
    am_array *a = iota(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(am_batch_take(a, tu_array(AM_DTYPE_INT32, AM_SHAPE(2), 2, 0)), AM_SHAPE(2),
                     0, 2, 3);
    TU_ASSERT_VALUES(am_batch_take(a, tu_array(AM_DTYPE_INT32, AM_SHAPE(2), 5, -1)), AM_SHAPE(2),
                     0, 2, 3);
    am_array *b = iota(AM_SHAPE(2, 3, 4), AM_DTYPE_FLOAT64);
    am_array *y = am_batch_take(b, tu_array(AM_DTYPE_INT64, AM_SHAPE(2, 3), 1, 5, 0, 3, 2, -4));
    CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_FLOAT64);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 3), 0, 1, 7, 8, 15, 18, 20);
    CU_ASSERT(am_op_find("batch_take")->flags & AM_OP_NO_GRAD);
    TU_ASSERT_FAILS(am_batch_take(b, tu_array(AM_DTYPE_INT32, AM_SHAPE(2), 1, 5)), AM_ERR_SHAPE,
                    "batch_take: a (2, 3, 4) has 6 rows of its last axis");
    am_scope_end();
}

/* MXNet: choose_element_0index([[1,2,3],[4,5,6]], [1.7, -0.5]) = [2, 4]; the gradient of
 * choose(arange(6).reshape(2, 3), [5, -1]) with head [1, 2] is [[0,0,1],[2,0,0]]. */
static void test_choose_element_0index(void)
{
    am_scope_begin();
    am_array *a = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
    TU_ASSERT_VALUES(am_choose_element_0index(a, tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1.7,
                                                          -0.5)), AM_SHAPE(2), 0, 2, 4);
    am_array *x = iota(AM_SHAPE(2, 3), AM_DTYPE_FLOAT64);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *y = am_choose_element_0index(x, tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 5, -1));
    am_autograd_end();
    TU_ASSERT_VALUES(y, AM_SHAPE(2), 0, 2, 3);
    CU_ASSERT_EQUAL(am_backward_at(y, tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 1, 2), false,
                                   AM_HERE), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(2, 3), 0, 0, 0, 1, 2, 0, 0);
    TU_ASSERT_FAILS(am_choose_element_0index(iota(AM_SHAPE(2, 3, 4), AM_DTYPE_FLOAT32),
                                             tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 0, 0)),
                    AM_ERR_SHAPE, "lhs must be 2-D (n, m), not (2, 3, 4)");
    TU_ASSERT_FAILS(am_choose_element_0index(a, tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 0, 0, 0)),
                    AM_ERR_SHAPE, "input 1 must be (2,)");
    am_scope_end();
}

/* MXNet: fill_element_0index(zeros(2, 3), [9, 8], [1.7, -0.5]) = [[0,9,0],[8,0,0]]; an index
 * outside the row leaves it: ([9, 8], [5, -1]) gives the input back. */
static void test_fill_element_0index(void)
{
    am_scope_begin();
    am_array *z = am_zeros(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    am_array *v = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 9, 8);
    TU_ASSERT_VALUES(am_fill_element_0index(z, v, tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 1.7,
                                                           -0.5)), AM_SHAPE(2, 3), 0,
                     0, 9, 0, 8, 0, 0);
    am_array *a = iota(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(am_fill_element_0index(a, v, tu_array(AM_DTYPE_INT32, AM_SHAPE(2), 5, -1)),
                     AM_SHAPE(2, 3), 0, 0, 1, 2, 3, 4, 5);
    TU_ASSERT_FAILS(am_fill_element_0index(a, am_astype(v, AM_DTYPE_FLOAT64),
                                           tu_array(AM_DTYPE_INT32, AM_SHAPE(2), 0, 0)),
                    AM_ERR_DTYPE, "mhs is float64 but lhs is float32");
    am_scope_end();
}

/* MXNet: _onehot_encode([1, 7, -1, 2.6], ones(4, 4)) has rows e1, 0, 0, e2. */
static void test_onehot_encode(void)
{
    am_scope_begin();
    am_array *in[2] = {tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(4), 1, 7, -1, 2.6),
                       am_ones(AM_SHAPE(4, 4), AM_DTYPE_FLOAT64)}, *y = NULL;
    CU_ASSERT_EQUAL(am_invoke("_onehot_encode", in, 2, NULL, NULL, 0, &y, 1), AM_OK);
    CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_FLOAT64);
    TU_ASSERT_VALUES(y, AM_SHAPE(4, 4), 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0);
    in[1] = am_ones(AM_SHAPE(3, 4), AM_DTYPE_FLOAT32);
    TU_ASSERT_STATUS(am_invoke("_onehot_encode", in, 2, NULL, NULL, 0, &y, 1), AM_ERR_SHAPE,
                     "lhs must be (n,) and rhs (n, k), not (4,) and (3, 4)");
    am_scope_end();
}

/* MXNet: _zeros_without_dtype(shape=(2, 3)) is float32; dtype=1 float64. */
static void test_zeros_without_dtype(void)
{
    am_scope_begin();
    am_array *y = NULL;
    CU_ASSERT_EQUAL(tu_invoke("_zeros_without_dtype", NULL, 0, "shape", "(2, 3)", &y, 1), AM_OK);
    CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 3), 0, 0, 0, 0, 0, 0, 0);
    CU_ASSERT_EQUAL(tu_invoke("_zeros_without_dtype", NULL, 0, "shape|dtype", "(2,)|1", &y, 1),
                    AM_OK);
    CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_FLOAT64);
    CU_ASSERT_EQUAL(tu_invoke("_zeros_without_dtype", NULL, 0, "shape|dtype", "(2,)|4", &y, 1),
                    AM_OK);
    CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_INT32);
    TU_ASSERT_STATUS(tu_invoke("_zeros_without_dtype", NULL, 0, "shape|dtype", "(2,)|9", &y, 1),
                     AM_ERR_DTYPE, "dtype=9 is not a type flag");
    am_scope_end();
}

/* MXNet: index_array(zeros(2, 3), axes=(-1,)) = [[[0],[1],[2]],[[0],[1],[2]]], int64. */
static void test_index_array(void)
{
    am_scope_begin();
    am_array *z = am_zeros(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    am_array *y = am_index_array(z, ((int[]){-1}), 1);
    CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_INT64);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 3, 1), 0, 0, 1, 2, 0, 1, 2);
    TU_ASSERT_VALUES(am_index_array(z, NULL, 0), AM_SHAPE(2, 3, 2), 0,
                     0, 0, 0, 1, 0, 2, 1, 0, 1, 1, 1, 2);
    TU_ASSERT_VALUES(am_index_array(z, ((int[]){1, 0, 1}), 3), AM_SHAPE(2, 3, 3), 0,
                     0, 0, 0, 1, 0, 1, 2, 0, 2, 0, 1, 0, 1, 1, 1, 2, 1, 2);
    TU_ASSERT_VALUES(am_index_array(am_zeros(AM_SHAPE(), AM_DTYPE_FLOAT32), NULL, 0),
                     AM_SHAPE(0), 0);
    TU_ASSERT_FAILS(am_index_array(z, ((int[]){2}), 1), AM_ERR_ARG,
                    "axes=2 is out of range for 2 dimensions");
    am_scope_end();
}

/* MXNet: index_copy(zeros(5, 3), [0, 4, 2], [[1,2,3],[4,5,6],[7,8,9]]) (its doc's example);
 * the gradient of index_copy(arange(6).reshape(3, 2), [2, 0], ones(2, 2)) with head
 * arange(6) + 1 is [[0,0],[3,4],[0,0]] for old and [[5,6],[1,2]] for new. */
static void test_index_copy(void)
{
    am_scope_begin();
    am_array *t = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9);
    am_array *i = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 0, 4, 2);
    TU_ASSERT_VALUES(am_index_copy(am_zeros(AM_SHAPE(5, 3), AM_DTYPE_FLOAT32), i, t),
                     AM_SHAPE(5, 3), 0, 1, 2, 3, 0, 0, 0, 7, 8, 9, 0, 0, 0, 4, 5, 6);
    am_array *old = iota(AM_SHAPE(3, 2), AM_DTYPE_FLOAT64);
    am_array *nw = am_ones(AM_SHAPE(2, 2), AM_DTYPE_FLOAT64);
    am_attach_grad(old, AM_GRAD_WRITE), am_attach_grad(nw, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *y = am_index_copy(old, tu_array(AM_DTYPE_INT64, AM_SHAPE(2), 2, 0), nw);
    am_autograd_end();
    TU_ASSERT_VALUES(y, AM_SHAPE(3, 2), 0, 1, 1, 2, 3, 1, 1);
    am_array *h = am_add(iota(AM_SHAPE(3, 2), AM_DTYPE_FLOAT64),
                         am_ones(AM_SHAPE(3, 2), AM_DTYPE_FLOAT64));
    CU_ASSERT_EQUAL(am_backward_at(y, h, false, AM_HERE), AM_OK);
    TU_ASSERT_VALUES(am_grad(old), AM_SHAPE(3, 2), 0, 0, 0, 3, 4, 0, 0);
    TU_ASSERT_VALUES(am_grad(nw), AM_SHAPE(2, 2), 0, 5, 6, 1, 2);
    /* MXNet: index_copy(zeros(3,), [2, 0], [5, 6]) = [6, 0, 5] */
    TU_ASSERT_VALUES(am_index_copy(am_zeros(AM_SHAPE(3), AM_DTYPE_FLOAT32),
                                   tu_array(AM_DTYPE_INT32, AM_SHAPE(2), 2, 0),
                                   tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 5, 6)),
                     AM_SHAPE(3), 0, 6, 0, 5);
    /* MXNet 1.9.1 corrupts memory here; Amber refuses */
    TU_ASSERT_FAILS(am_index_copy(am_zeros(AM_SHAPE(3, 2), AM_DTYPE_FLOAT32),
                                  tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 5, -1),
                                  am_ones(AM_SHAPE(2, 2), AM_DTYPE_FLOAT32)),
                    AM_ERR_ARG, "index_vector[0] = 5 is outside [0, 3)");
    TU_ASSERT_FAILS(am_index_copy(am_zeros(AM_SHAPE(3, 2), AM_DTYPE_FLOAT32), i,
                                  am_ones(AM_SHAPE(3, 3), AM_DTYPE_FLOAT32)),
                    AM_ERR_SHAPE, "new_tensor (3, 3)");
    am_scope_end();
}

/* MXNet 1.9.1's results (its doc's second example is 0 in float32, 1 in float64) and
 * NaN/inf handling; the result is a 0-d uint8. */
static void test_allclose(void)
{
    am_scope_begin();
#define V(...) tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), __VA_ARGS__)
    am_array *y = am_allclose(V(1e10, 1e-7), V(1.00001e10, 1e-8));
    CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_UINT8);
    TU_ASSERT_VALUES(y, AM_SHAPE(), 0, 0);
    TU_ASSERT_VALUES(am_allclose(V(1e10, 1e-8), V(1.00001e10, 1e-9)), AM_SHAPE(), 0, 0);
    TU_ASSERT_VALUES(am_allclose(tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1), 1e10),
                                 tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1), 1.00001e10)),
                     AM_SHAPE(), 0, 1);
    TU_ASSERT_VALUES(am_allclose(V(1, NAN), V(1, NAN)), AM_SHAPE(), 0, 1);
    TU_ASSERT_VALUES(am_allclose_at(V(1, NAN), V(1, NAN), 1e-5, 1e-8, false, AM_HERE),
                     AM_SHAPE(), 0, 0);
    TU_ASSERT_VALUES(am_allclose(V(1, INFINITY), V(1, INFINITY)), AM_SHAPE(), 0, 1);
    /* the tolerance is relative to b; rtol and atol are rounded to float */
    TU_ASSERT_VALUES(am_allclose_at(V(1, 2), V(1, 2.1), 0.1, 0, true, AM_HERE), AM_SHAPE(), 0, 1);
    TU_ASSERT_VALUES(am_allclose_at(V(1, 2.2), V(1, 2), 0.05, 0, true, AM_HERE), AM_SHAPE(), 0,
                     0);
    am_array *a64 = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 1, 2.1);
    am_array *b64 = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 1, 2);
    TU_ASSERT_VALUES(am_allclose_at(a64, b64, 0.05, 0, true, AM_HERE), AM_SHAPE(), 0, 1);
    TU_ASSERT_VALUES(am_allclose_at(a64, b64, 0, 0.1, true, AM_HERE), AM_SHAPE(), 0, 1);
    TU_ASSERT_FAILS(am_allclose(V(1, 2), am_ones(AM_SHAPE(3), AM_DTYPE_FLOAT32)), AM_ERR_SHAPE,
                    "a (2,) and b (3,) must have the same shape");
#undef V
    am_scope_end();
}

/* MXNet's _histogram on the same inputs (counts int64, edges in data's dtype). */
static void test_histogram(void)
{
    am_scope_begin();
    am_array *c = NULL, *e = NULL;
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(7), 0, 1, 2, 3, 4, 4.0001, 5);
    CU_ASSERT_EQUAL(am_histogram(x, NULL, 4, 0, 4, &c, &e), AM_OK);
    CU_ASSERT_EQUAL(am_array_dtype(c), AM_DTYPE_INT64);
    CU_ASSERT_EQUAL(am_array_dtype(e), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(c, AM_SHAPE(4), 0, 1, 1, 1, 2);
    TU_ASSERT_VALUES(e, AM_SHAPE(5), 0, 0, 1, 2, 3, 4);
    x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(4), 1, 2, 3, 4);
    CU_ASSERT_EQUAL(am_histogram(x, NULL, 3, 1.5, 3.5, &c, &e), AM_OK);
    TU_ASSERT_VALUES(c, AM_SHAPE(3), 0, 1, 0, 1);
    TU_ASSERT_VALUES(e, AM_SHAPE(4), 1e-7, 1.5, 2.1666667, 2.8333333, 3.5);
    /* an empty range widens by 0.5 each way */
    x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 1, 1, 1);
    CU_ASSERT_EQUAL(am_histogram(x, NULL, 2, 1, 1, &c, &e), AM_OK);
    TU_ASSERT_VALUES(c, AM_SHAPE(2), 0, 0, 3);
    TU_ASSERT_VALUES(e, AM_SHAPE(3), 0, 0.5, 1, 1.5);
    /* edges from the bins input: [1, 2, 2, 4] puts 2, 3 and 4 in the last bin */
    x = iota(AM_SHAPE(6), AM_DTYPE_FLOAT64);
    am_array *b = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(4), 1, 2, 2, 4);
    CU_ASSERT_EQUAL(am_histogram(x, b, 0, 0, 0, &c, &e), AM_OK);
    TU_ASSERT_VALUES(c, AM_SHAPE(3), 0, 1, 0, 3);
    TU_ASSERT_VALUES(e, AM_SHAPE(4), 0, 1, 2, 2, 4);
    /* x = [[0, 1], [2, 2], [3, 4]], bins [0, 2.1, 3]: [4, 1] */
    x = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3, 2), 0, 1, 2, 2, 3, 4);
    CU_ASSERT_EQUAL(am_histogram(x, tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 0, 2.1, 3), 0, 0, 0,
                                 &c, &e), AM_OK);
    TU_ASSERT_VALUES(c, AM_SHAPE(2), 0, 4, 1);
    TU_ASSERT_STATUS(am_histogram(x, NULL, 2, 3, 1, &c, &e), AM_ERR_ARG,
                     "range=(3.0, 1.0): lo must not exceed hi");
    CU_ASSERT_PTR_NULL(c);
    TU_ASSERT_STATUS(am_histogram(x, NULL, 0, 0, 1, &c, &e), AM_ERR_ARG,
                     "bin_cnt=0 must be positive");
    am_array *y[2];
    TU_ASSERT_STATUS(tu_invoke("_histogram", &x, 1, "bin_cnt", "2", y, 2), AM_ERR_ARG,
                     "bin_cnt and range are given both or neither");
    TU_ASSERT_STATUS(tu_invoke("_histogram", &x, 1, "bin_cnt|range", "2|(0 1)", y, 2),
                     AM_ERR_ARG, "range='(0 1)' is not (lo, hi)");
    am_scope_end();
}

/* MXNet 1.9.1's im2col and col2im (its CPU kernels take 2-D only; Amber also takes 1-D and
 * 3-D, checked by the gradient and adjoint tests of the case table). */
static void test_im2col(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(1, 1, 3, 3), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(am_im2col(x, 2, I64S(2, 2), NULL, NULL, NULL), AM_SHAPE(1, 4, 4), 0,
                     0, 1, 3, 4, 1, 2, 4, 5, 3, 4, 6, 7, 4, 5, 7, 8);
    TU_ASSERT_VALUES(am_im2col(x, 2, I64S(2, 2), I64S(2, 2), NULL, I64S(1, 1)),
                     AM_SHAPE(1, 4, 4), 0, 0, 0, 0, 4, 0, 0, 3, 5, 0, 1, 0, 7, 0, 2, 6, 8);
    am_array *c = am_add(iota(AM_SHAPE(1, 4, 4), AM_DTYPE_FLOAT64),
                         am_ones(AM_SHAPE(1, 4, 4), AM_DTYPE_FLOAT64));
    TU_ASSERT_VALUES(am_col2im(c, 2, I64S(3, 3), I64S(2, 2), NULL, NULL, NULL),
                     AM_SHAPE(1, 1, 3, 3), 0, 1, 7, 6, 12, 34, 22, 11, 27, 16);
    /* 1-D by hand: [0 1 2 3 4], kernel 3, stride 2, pad 1: blocks [-,0,1], [1,2,3], [3,4,-] */
    am_array *v = iota(AM_SHAPE(1, 1, 5), AM_DTYPE_FLOAT64);
    TU_ASSERT_VALUES(am_im2col(v, 1, I64S(3), I64S(2), NULL, I64S(1)), AM_SHAPE(1, 3, 3), 0,
                     0, 1, 3, 0, 2, 4, 1, 3, 0);
    TU_ASSERT_FAILS(am_im2col(x, 2, I64S(4, 1), NULL, NULL, NULL), AM_ERR_SHAPE,
                    "spatial axis 0 of size 3 (padded 3) is smaller than the dilated kernel (4)");
    TU_ASSERT_FAILS(am_im2col(x, 1, I64S(2), NULL, NULL, NULL), AM_ERR_SHAPE,
                    "data (1, 1, 3, 3) must be (N, C) and 1 spatial axes");
    TU_ASSERT_FAILS(am_col2im(c, 2, I64S(4, 4), I64S(2, 2), NULL, NULL, NULL), AM_ERR_SHAPE,
                    "data (1, 4, 4) must be (N, C * 4, 9)");
    am_scope_end();
}

/* One training step of _contrib_BatchNormWithReLU / _contrib_SyncBatchNorm (fix_gamma=False)
 * on x (2, 3, 2, 2) with head gradient arange(24) * 0.1: outputs, gradients of data, gamma
 * and beta, and the updated moving statistics, as MXNet 1.9.1 gives them. */
static void bn_variant_step(const char *op, const char *keys, const char *vals,
                            const double *want_y, const double *want_dx, const double *want_dg,
                            const double *want_db)
{
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 3, 2, 2), 0.098, 0.43, 0.206, 0.09,
                           -0.153, 0.292, -0.125, 0.784, 0.927, -0.233, 0.583, 0.058, 0.136,
                           0.851, -0.858, -0.826, -0.96, 0.665, 0.556, 0.74, 0.957, 0.598,
                           -0.077, 0.561);
    am_array *g = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 1.5, 0.5, 2);
    am_array *b = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 0.1, -0.2, 0.3);
    am_array *mm = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 0.1, 0.2, -0.1);
    am_array *mv = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 1, 2, 0.5);
    am_attach_grad(x, AM_GRAD_WRITE), am_attach_grad(g, AM_GRAD_WRITE);
    am_attach_grad(b, AM_GRAD_WRITE);
    am_array *in[5] = {x, g, b, mm, mv}, *y = NULL;
    am_autograd_record_begin(true);
    CU_ASSERT_EQUAL(tu_invoke(op, in, 5, keys, vals, &y, 1), AM_OK);
    am_autograd_end();
    am_array *h = am_mul(iota(AM_SHAPE(2, 3, 2, 2), AM_DTYPE_FLOAT32),
                         am_full(AM_SHAPE(), AM_DTYPE_FLOAT32, 0.1));
    CU_ASSERT_EQUAL(am_backward_at(y, h, false, AM_HERE), AM_OK);
    CU_ASSERT(tu_values_are(y, AM_SHAPE(2, 3, 2, 2), want_y, 24, 1e-4));
    CU_ASSERT(tu_values_are(am_grad(x), AM_SHAPE(2, 3, 2, 2), want_dx, 24, 1e-4));
    CU_ASSERT(tu_values_are(am_grad(g), AM_SHAPE(3), want_dg, 3, 1e-4));
    CU_ASSERT(tu_values_are(am_grad(b), AM_SHAPE(3), want_db, 3, 1e-4));
    TU_ASSERT_VALUES(mm, AM_SHAPE(3), 1e-5, 0.0915875, 0.202487, -0.047825);
    TU_ASSERT_VALUES(mv, AM_SHAPE(3), 1e-5, 0.930052, 1.83194, 0.46785);
}

static void test_bn_variants(void)
{
    am_scope_begin();
    static const double relu_y[] = {
        0.324341, 1.23127, 0.619365, 0.302487, 0, 0, 0, 0.293915, 2.68509, 0, 1.0612, 0,
        0.428146, 2.38131, 0, 0, 0, 0.188794, 0.0925066, 0.255047, 2.82671, 1.13201, 0,
        0.957347};
    static const double relu_dx[] = {
        -1.18237, -1.40981, -0.798878, -0.350795, -0.320049, -0.73637, -0.346244, -0.578302,
        -4.92607, 0.168603, -1.35119, -2.05684, 2.03837, 1.23342, 0.259156, 0.210904, 0.434943,
        0.416401, 0.606713, 0.522908, 0.509249, 3.72679, -1.02442, 4.95387};
    bn_variant_step("_contrib_BatchNormWithReLU", "fix_gamma", "False", relu_y, relu_dx,
                    (const double[]){2.42482, 4.79558, 5.49091}, (const double[]){3.1, 6.1, 8.2});
    static const double sync_y[] = {
        0.324341, 1.23127, 0.619365, 0.302487, -0.533804, -0.140704, -0.50907, 0.293915,
        2.68509, -2.79083, 1.0612, -1.41713, 0.428146, 2.38131, -2.28717, -2.19975, -1.24669,
        0.188794, 0.0925066, 0.255047, 2.82671, 1.13201, -2.05441, 0.957347};
    static const double sync_dx[] = {
        -1.94138, -1.23405, -1.25381, -1.13233, -0.598574, -0.585553, -0.426639, -0.492149,
        -3.9386, -2.55247, -2.7234, -1.83765, 1.38636, 2.59454, 0.632821, 0.947839, 0.598057,
        0.411364, 0.518149, 0.575344, 1.70251, 2.45746, 3.46141, 3.43074};
    bn_variant_step("_contrib_SyncBatchNorm", "fix_gamma|key|ndev", "False|bn0|4", sync_y,
                    sync_dx, (const double[]){-2.10295, 0.86756, 0.565766},
                    (const double[]){6, 9.2, 12.4});
    /* inference: relu of BatchNorm with the moving statistics */
    am_array *x = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 2), -1, 3);
    am_array *one = am_ones(AM_SHAPE(2), AM_DTYPE_FLOAT64);
    am_array *in[5] = {x, one, am_zeros(AM_SHAPE(2), AM_DTYPE_FLOAT64),
                       am_zeros(AM_SHAPE(2), AM_DTYPE_FLOAT64), one}, *y = NULL;
    CU_ASSERT_EQUAL(tu_invoke("_contrib_BatchNormWithReLU", in, 5, "eps", "0", &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(1, 2), 0, 0, 3);
    TU_ASSERT_STATUS(tu_invoke("_contrib_SyncBatchNorm", in, 5, "fix_gamma", "False", &y, 1),
                     AM_ERR_ARG, "required attribute 'key'");
    TU_ASSERT_STATUS(tu_invoke("_contrib_SyncBatchNorm", in, 5, "key|ndev", "a|0", &y, 1),
                     AM_ERR_ARG, "ndev=0 must be positive");
    am_scope_end();
}

/* MXNet: boolean_mask(arange(12).reshape(4, 3), [0, 1, 0, 2.5]) = rows 1 and 3; with head
 * gradient 2 the data's gradient is 2 on those rows.  Eager only: a symbolic call fails. */
static void test_boolean_mask(void)
{
    am_scope_begin();
    am_array *d = iota(AM_SHAPE(4, 3), AM_DTYPE_FLOAT32);
    am_attach_grad(d, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *y = am_boolean_mask(d, tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(4), 0, 1, 0, 2.5));
    am_autograd_end();
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 3), 0, 3, 4, 5, 9, 10, 11);
    CU_ASSERT_EQUAL(am_backward_at(y, am_full(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32, 2), false,
                                   AM_HERE), AM_OK);
    TU_ASSERT_VALUES(am_grad(d), AM_SHAPE(4, 3), 0, 0, 0, 0, 2, 2, 2, 0, 0, 0, 2, 2, 2);
    TU_ASSERT_VALUES(am_boolean_mask(d, am_zeros(AM_SHAPE(4), AM_DTYPE_INT32)), AM_SHAPE(0, 3), 0);
    /* any axis (MXNet 1.9.1 takes axis 0 only) */
    am_array *m = tu_array(AM_DTYPE_INT64, AM_SHAPE(3), 1, 0, 1);
    TU_ASSERT_VALUES(am_boolean_mask_at(d, m, -1, AM_HERE), AM_SHAPE(4, 2), 0,
                     0, 2, 3, 5, 6, 8, 9, 11);
    TU_ASSERT_FAILS(am_boolean_mask(d, m), AM_ERR_SHAPE,
                    "index (3,) must be (4,), the length of axis 0 of data (4, 3)");
    am_array *v = am_var("x", AM_SHAPE(4, 3), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_boolean_mask(v, am_var("i", AM_SHAPE(4), AM_DTYPE_FLOAT32)),
                    AM_ERR_UNSUPPORTED, "only eager calls run it");
    /* a symbol file holding it (as a Gluon export writes) loads, but no plan can run it */
    const char *json =
        "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"inputs\": []},"
        " {\"op\": \"null\", \"name\": \"i\", \"inputs\": []},"
        " {\"op\": \"_contrib_boolean_mask\", \"name\": \"m\", \"inputs\": [[0, 0, 0], [1, 0, 0]]}],"
        " \"arg_nodes\": [0, 1], \"node_row_ptr\": [0, 1, 2, 3], \"heads\": [[2, 0, 0]],"
        " \"attrs\": {\"mxnet_version\": [\"int\", 10901]}}";
    am_graph *g = am_graph_from_json(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    const char *names[] = {"x", "i"};
    am_shape shapes[] = {AM_SHAPE(4, 3), AM_SHAPE(4)};
    am_plan_opts opts = {.names = names, .shapes = shapes, .n = 2};
    TU_ASSERT_FAILS(am_plan_create(g, &opts), AM_ERR_UNSUPPORTED, "only eager calls run it");
    am_graph_release(g);
    am_scope_end();
}

/* MXNet's doc example (MXNet 1.9.1 runs count_sketch on the GPU only, so these numbers are
 * its documentation's and hand-checked): x (2, 3), h [0, 3, 4], s [1, -1, 1], out_dim 5. */
static void test_count_sketch(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 3), 1.2, 2.5, 3.4, 3.2, 5.7, 6.6);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_array *in[3] = {x, tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 3), 0, 3, 4),
                       tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 3), 1, -1, 1)}, *y = NULL;
    am_autograd_record_begin(true);
    CU_ASSERT_EQUAL(tu_invoke("_contrib_count_sketch", in, 3, "out_dim", "5", &y, 1), AM_OK);
    am_autograd_end();
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 5), 1e-12, 1.2, 0, 0, -2.5, 3.4, 3.2, 0, 0, -5.7, 6.6);
    /* collisions add up; the gradient is s[i] * og[r, h[i]] */
    am_array *h = iota(AM_SHAPE(2, 5), AM_DTYPE_FLOAT64);
    CU_ASSERT_EQUAL(am_backward_at(y, h, false, AM_HERE), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(2, 3), 1e-12, 0, -3, 4, 5, -8, 9);
    in[1] = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 3), 1, 1, 0);
    CU_ASSERT_EQUAL(tu_invoke("_contrib_count_sketch", in, 3, "out_dim", "2", &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 2), 1e-12, 3.4, -1.3, 6.6, -2.5);
    TU_ASSERT_STATUS(tu_invoke("_contrib_count_sketch", in, 3, "out_dim", "1", &y, 1),
                     AM_ERR_ARG, "h[0] = 1 is outside [0, out_dim=1)");
    in[2] = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1, 2), 1, -1);
    TU_ASSERT_STATUS(tu_invoke("_contrib_count_sketch", in, 3, "out_dim", "2", &y, 1),
                     AM_ERR_SHAPE, "d entries each");
    am_scope_end();
}

CU_TestInfo am_tests_ops_misc[] = {
    {"batch_take", test_batch_take},
    {"choose_element_0index and its gradient", test_choose_element_0index},
    {"fill_element_0index", test_fill_element_0index},
    {"_onehot_encode", test_onehot_encode},
    {"_zeros_without_dtype", test_zeros_without_dtype},
    {"_contrib_index_array", test_index_array},
    {"_contrib_index_copy and its gradient", test_index_copy},
    {"_contrib_allclose", test_allclose},
    {"_histogram: equal bins, widened range, edges input", test_histogram},
    {"_contrib_boolean_mask: eager only, any axis, gradient", test_boolean_mask},
    {"_contrib_count_sketch", test_count_sketch},
    {"im2col and col2im", test_im2col},
    {"_contrib_SyncBatchNorm and _contrib_BatchNormWithReLU (training step)", test_bn_variants},
    CU_TEST_INFO_NULL,
};
