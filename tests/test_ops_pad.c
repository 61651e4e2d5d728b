/* The ops_pad suite: Pad's three modes against MXNet 1.9.1's outputs, its
 * gradients (MXNet's too), and its errors. */
#include "test_util.h"

#define F32 AM_DTYPE_FLOAT32
#define W4(a, b, c, d) ((int64_t[]){0, 0, 0, 0, a, b, c, d})

static void test_pad_modes(void)
{
    am_scope_begin();
    am_array *x = am_reshape(am_arange(1, 7, 1, F32), AM_SHAPE(1, 1, 2, 3));
    TU_ASSERT_VALUES(am_pad(x, "constant", W4(1, 2, 2, 1), 8, 9), AM_SHAPE(1, 1, 5, 6), 0,
                     9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3, 9, 9, 9, 4, 5, 6, 9,
                     9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9);
    TU_ASSERT_VALUES(am_pad(x, "edge", W4(1, 2, 2, 1), 8, 9), AM_SHAPE(1, 1, 5, 6), 0,
                     1, 1, 1, 2, 3, 3, 1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6,
                     4, 4, 4, 5, 6, 6, 4, 4, 4, 5, 6, 6);
    am_array *y = am_reshape(am_arange(1, 10, 1, AM_DTYPE_FLOAT64), AM_SHAPE(1, 1, 3, 3));
    TU_ASSERT_VALUES(am_pad(y, "reflect", W4(2, 1, 1, 2), 8, 0), AM_SHAPE(1, 1, 6, 6), 0,
                     8, 7, 8, 9, 8, 7, 5, 4, 5, 6, 5, 4, 2, 1, 2, 3, 2, 1,
                     5, 4, 5, 6, 5, 4, 8, 7, 8, 9, 8, 7, 5, 4, 5, 6, 5, 4);
    /* 5-D, by its other name */
    am_array *z = am_reshape(am_arange(1, 3, 1, F32), AM_SHAPE(1, 1, 1, 1, 2)), *o = NULL;
    const char *k[] = {"mode", "pad_width"}, *v[] = {"edge", "(0, 0, 0, 0, 0, 1, 0, 0, 1, 1)"};
    CU_ASSERT_EQUAL(am_invoke("pad", &z, 1, k, v, 2, &o, 1), AM_OK);
    TU_ASSERT_VALUES(o, AM_SHAPE(1, 1, 2, 1, 4), 0, 1, 1, 2, 2, 1, 1, 2, 2);
    am_scope_end();
}

/* MXNet's gradients of sum(Pad(x)) for a 3x3 x: each element counts its copies. */
static void test_pad_gradient(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(1, 1, 3, 3), AM_DTYPE_FLOAT64);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *l = am_sum(am_pad(x, "reflect", W4(2, 1, 1, 2), 8, 0), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(l), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(1, 1, 3, 3), 0, 2, 3, 1, 6, 9, 3, 4, 6, 2);
    am_autograd_record_begin(true);
    l = am_sum(am_pad(x, "edge", W4(2, 1, 1, 2), 8, 0), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(l), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(1, 1, 3, 3), 0, 6, 3, 9, 2, 1, 3, 4, 2, 6);
    am_autograd_record_begin(true);
    l = am_sum(am_pad(x, "constant", W4(2, 1, 1, 2), 8, 5), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(l), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(1, 1, 3, 3), 0, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    am_scope_end();
}

static void test_pad_errors(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(1, 1, 2, 3), F32);
    TU_ASSERT_FAILS(am_pad(am_zeros(AM_SHAPE(2, 3), F32), "constant", ((int64_t[]){1, 1, 1, 1}),
                           4, 0), AM_ERR_SHAPE, "Pad: data (2, 3) must be 4-D or 5-D");
    TU_ASSERT_FAILS(am_pad(x, "constant", ((int64_t[]){0, 0, 0, 0, 1, 1}), 6, 0), AM_ERR_ARG,
                    "Pad: pad_width=(0, 0, 0, 0, 1, 1) must have 8 entries, 2 per axis of "
                    "data (1, 1, 2, 3)");
    TU_ASSERT_FAILS(am_pad(x, "constant", ((int64_t[]){1, 1, 0, 0, 1, 1, 1, 1}), 8, 0),
                    AM_ERR_ARG, "pads axis 0; the first two axes");
    TU_ASSERT_FAILS(am_pad(x, "reflect", W4(1, 1, 3, 1), 8, 0), AM_ERR_ARG,
                    "reflect padding of axis 3 of data (1, 1, 2, 3) must be smaller than its "
                    "size");
    TU_ASSERT_FAILS(am_pad(x, "wrap", W4(1, 1, 1, 1), 8, 0), AM_ERR_ARG,
                    "Pad: mode 'wrap' is not constant, edge or reflect");
    TU_ASSERT_FAILS(am_pad(am_zeros(AM_SHAPE(1, 1, 2, 3), AM_DTYPE_INT32), "edge",
                           W4(1, 1, 1, 1), 8, 0), AM_ERR_DTYPE, "Pad: data is int32");
    am_scope_end();
}

CU_TestInfo am_tests_ops_pad[] = {
    {"Pad: constant, edge, reflect, 4-D and 5-D", test_pad_modes},
    {"Pad gradients match MXNet's", test_pad_gradient},
    {"Pad errors", test_pad_errors},
    CU_TEST_INFO_NULL,
};
