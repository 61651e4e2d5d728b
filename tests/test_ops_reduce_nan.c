/* The ops_reduce_nan suite: nansum, nanprod and argmax_channel against MXNet
 * 1.9.1's values and gradients with NaN inputs, and errors. */
#include "test_util.h"

#define F32 AM_DTYPE_FLOAT32

static void test_nansum_nanprod(void)
{
    am_scope_begin();
    am_array *x = tu_array(F32, AM_SHAPE(2, 3), 1, NAN, 2, NAN, NAN, NAN);
    TU_ASSERT_VALUES(am_nansum(x, ((int[]){1}), 1, false), AM_SHAPE(2), 0, 3, 0);
    TU_ASSERT_VALUES(am_nanprod(x, ((int[]){1}), 1, false), AM_SHAPE(2), 0, 2, 1);
    TU_ASSERT_VALUES(am_nansum(x, NULL, 0, false), AM_SHAPE(1), 0, 3);
    TU_ASSERT_VALUES(am_nanprod(x, ((int[]){0}), 1, true), AM_SHAPE(1, 3), 0, 1, 1, 2);
    am_array *y = NULL;
    const char *k[] = {"axis", "exclude"}, *v[] = {"1", "True"};
    CU_ASSERT_EQUAL(am_invoke("nansum", &x, 1, k, v, 2, &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(3), 0, 1, 0, 2);
    TU_ASSERT_FAILS(am_nansum(x, ((int[]){2}), 1, false), AM_ERR_ARG,
                    "nansum: axis=2 is out of range for 2 dimensions");
    TU_ASSERT_FAILS(am_nanprod(am_zeros(AM_SHAPE(2), AM_DTYPE_INT32), NULL, 0, false),
                    AM_ERR_DTYPE, "nanprod: data is int32");
    am_scope_end();
}

/* MXNet's gradients: NaN positions get none. */
static void test_nan_gradients(void)
{
    am_scope_begin();
    am_array *og = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 3, 4);
    for (int prod = 0; prod < 2; prod++) {
        am_array *x = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 3), 1, NAN, 2, NAN, NAN, NAN);
        am_attach_grad(x, AM_GRAD_WRITE);
        am_autograd_record_begin(true);
        am_array *y = prod ? am_nanprod(x, ((int[]){1}), 1, false)
                           : am_nansum(x, ((int[]){1}), 1, false);
        am_array *l = am_sum(am_mul(y, og), NULL, 0, false);
        am_autograd_end();
        CU_ASSERT_EQUAL(am_backward(l), AM_OK);
        if (prod) {
            TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(2, 3), 0, 6, 0, 3, 0, 0, 0);
        } else {
            TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(2, 3), 0, 3, 0, 3, 0, 0, 0);
        }
    }
    am_scope_end();
}

static void test_argmax_channel(void)
{
    am_scope_begin();
    TU_ASSERT_VALUES(am_argmax_channel(tu_array(F32, AM_SHAPE(2, 3), 1, 3, 3, 2, 0, 1)),
                     AM_SHAPE(2), 0, 1, 0);
    am_array *t = am_reshape(am_arange(0, 24, 1, F32), AM_SHAPE(2, 3, 4));
    TU_ASSERT_VALUES(am_argmax_channel(t), AM_SHAPE(2, 4), 0, 2, 2, 2, 2, 2, 2, 2, 2);
    /* NaN wins, as in MXNet */
    TU_ASSERT_VALUES(am_argmax_channel(tu_array(F32, AM_SHAPE(2, 3), 1, NAN, 3, NAN, 0, 1)),
                     AM_SHAPE(2), 0, 1, 0);
    CU_ASSERT(am_op_find("argmax_channel")->flags & AM_OP_NO_GRAD);
    TU_ASSERT_FAILS(am_argmax_channel(tu_array(F32, AM_SHAPE(3), 1, 3, 3)), AM_ERR_SHAPE,
                    "argmax_channel: data (3,) has no axis 1");
    am_scope_end();
}

/* cumsum (MXNet writes _np_cumsum) and its gradient, the running sums from the end. */
static void test_cumsum(void)
{
    am_scope_begin();
    am_array *x = tu_array(F32, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6), *y = NULL;
    TU_ASSERT_VALUES(am_cumsum(x, AM_NONE), AM_SHAPE(6), 0, 1, 3, 6, 10, 15, 21);
    TU_ASSERT_VALUES(am_cumsum(x, 0), AM_SHAPE(2, 3), 0, 1, 2, 3, 5, 7, 9);
    const char *k[] = {"axis", "dtype"}, *v[] = {"1", "int32"};
    CU_ASSERT_EQUAL(am_invoke("cumsum", &x, 1, k, v, 2, &y, 1), AM_OK);
    CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_INT32);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 3), 0, 1, 3, 6, 4, 9, 15);
    TU_ASSERT_FAILS(am_cumsum(x, 2), AM_ERR_ARG, "_np_cumsum: axis=2 is out of range");
    am_array *w = am_astype(x, AM_DTYPE_FLOAT64);
    am_attach_grad(w, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *l = am_sum(am_mul(am_cumsum(w, 1),
                                tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6)),
                         NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(l), AM_OK);
    TU_ASSERT_VALUES(am_grad(w), AM_SHAPE(2, 3), 0, 6, 5, 3, 15, 11, 6);
    am_scope_end();
}

CU_TestInfo am_tests_ops_reduce_nan[] = {
    {"cumsum", test_cumsum},
    {"nansum and nanprod skip NaN", test_nansum_nanprod},
    {"nansum and nanprod gradients", test_nan_gradients},
    {"argmax_channel", test_argmax_channel},
    CU_TEST_INFO_NULL,
};
