/* The ops_like suite: broadcast_like, broadcast_axis, slice_like and slice
 * assignment against MXNet 1.9.1's outputs, their gradients, and errors. */
#include "test_util.h"

#define F32 AM_DTYPE_FLOAT32

static void test_broadcast_like_axis(void)
{
    am_scope_begin();
    am_array *a = am_reshape(am_arange(0, 6, 1, F32), AM_SHAPE(2, 1, 3));
    am_array *y = am_broadcast_like(a, am_zeros(AM_SHAPE(2, 2, 3), F32));
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 2, 3), 0, 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5);
    y = am_broadcast_like_at(a, am_zeros(AM_SHAPE(5, 2), F32), (int[]){1}, (int[]){-1}, 1,
                             AM_HERE);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 2, 3), 0, 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5);
    y = am_broadcast_axis(am_ones(AM_SHAPE(1, 2, 1), F32), ((int[]){0, 2}),
                          ((int64_t[]){3, 2}), 2);
    CU_ASSERT_EQUAL(am_array_size(y), 12);
    am_array *o = NULL;
    const char *k[] = {"axis", "size"}, *v[] = {"1", "2"};
    CU_ASSERT_EQUAL(am_invoke("broadcast_axes", &a, 1, k, v, 2, &o, 1), AM_OK);
    TU_ASSERT_VALUES(o, AM_SHAPE(2, 2, 3), 0, 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5);
    TU_ASSERT_FAILS(am_broadcast_like(am_ones(AM_SHAPE(2, 3), F32), am_zeros(AM_SHAPE(2, 4), F32)),
                    AM_ERR_SHAPE, "broadcast_like: cannot broadcast axis 1 of size 3 of (2, 3) "
                    "to 4 (rhs)");
    TU_ASSERT_FAILS(am_broadcast_like(am_ones(AM_SHAPE(3), F32), am_zeros(AM_SHAPE(2, 3), F32)),
                    AM_ERR_SHAPE, "the number of dimensions differs");
    TU_ASSERT_FAILS(am_broadcast_axis(a, ((int[]){0}), ((int64_t[]){4}), 1), AM_ERR_SHAPE,
                    "broadcast_axis: axis 0 of data (2, 1, 3) has size 2");
    /* the gradient sums over the grown axes */
    am_array *x = am_ones(AM_SHAPE(2, 1), AM_DTYPE_FLOAT64);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *l = am_sum(am_mul(am_broadcast_axis(x, ((int[]){1}), ((int64_t[]){3}), 1),
                                tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6)),
                         NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(l), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(2, 1), 0, 6, 15);
    am_scope_end();
}

static void test_slice_like(void)
{
    am_scope_begin();
    am_array *x = am_reshape(am_arange(0, 24, 1, F32), AM_SHAPE(2, 3, 4));
    TU_ASSERT_VALUES(am_slice_like(x, am_zeros(AM_SHAPE(1, 2, 3), F32), NULL, 0),
                     AM_SHAPE(1, 2, 3), 0, 0, 1, 2, 4, 5, 6);
    TU_ASSERT_VALUES(am_slice_like(x, am_zeros(AM_SHAPE(1, 2, 3), F32), ((int[]){0, -1}), 2),
                     AM_SHAPE(1, 3, 3), 0, 0, 1, 2, 4, 5, 6, 8, 9, 10);
    TU_ASSERT_VALUES(am_slice_like(x, am_zeros(AM_SHAPE(5, 2), F32), ((int[]){1}), 1),
                     AM_SHAPE(2, 2, 4), 0, 0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 16, 17, 18, 19);
    TU_ASSERT_FAILS(am_slice_like(x, am_zeros(AM_SHAPE(1, 2), F32), NULL, 0), AM_ERR_SHAPE,
                    "slice_like: data (2, 3, 4) and shape_like (1, 2) differ");
    TU_ASSERT_FAILS(am_slice_like(x, am_zeros(AM_SHAPE(3, 2, 3), F32), NULL, 0), AM_ERR_SHAPE,
                    "axis 0 of shape_like (3, 2, 3) is longer than data (2, 3, 4)");
    am_array *w = am_astype(x, AM_DTYPE_FLOAT64);
    am_attach_grad(w, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *l = am_sum(am_slice_like(w, am_zeros(AM_SHAPE(1, 1, 2), F32), NULL, 0), NULL, 0,
                         false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(l), AM_OK);
    CU_ASSERT_DOUBLE_EQUAL(am_item(am_sum(am_grad(w), NULL, 0, false), 0), 2, 0);
    CU_ASSERT_DOUBLE_EQUAL(am_item(am_grad(w), 1), 1, 0);
    CU_ASSERT_DOUBLE_EQUAL(am_item(am_grad(w), 2), 0, 0);
    am_scope_end();
}

static void test_slice_assign(void)
{
    am_scope_begin();
    am_array *in[2] = {am_zeros(AM_SHAPE(3, 4), F32), tu_array(F32, AM_SHAPE(2, 2), 1, 2, 3, 4)};
    am_array *y = NULL;
    const char *k[] = {"begin", "end", "step"}, *v[] = {"(0, 1)", "(2, 4)", "(1, 2)"};
    CU_ASSERT_EQUAL(am_invoke("_slice_assign", in, 2, k, v, 3, &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(3, 4), 0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 0, 0, 0);
    const char *ks[] = {"scalar", "begin", "end"}, *vs[] = {"5", "(None, -1)", "(None, None)"};
    CU_ASSERT_EQUAL(am_invoke("_crop_assign_scalar", in, 1, ks, vs, 3, &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(3, 4), 0, 0, 0, 0, 5, 0, 0, 0, 5, 0, 0, 0, 5);
    in[1] = am_zeros(AM_SHAPE(2, 3), F32);
    TU_ASSERT_STATUS(am_invoke("_slice_assign", in, 2, k, v, 3, &y, 1), AM_ERR_SHAPE,
                     "_slice_assign: rhs (2, 3) does not match the slice of lhs (2, 2)");
    /* gradients: lhs keeps what was not overwritten, rhs reads its region */
    am_array *l = am_zeros(AM_SHAPE(2, 3), AM_DTYPE_FLOAT64), *r = am_zeros(AM_SHAPE(2, 1),
                                                                          AM_DTYPE_FLOAT64);
    am_attach_grad(l, AM_GRAD_WRITE);
    am_attach_grad(r, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    const char *v2[] = {"(None, 2)", "(None, 3)", "()"};
    CU_ASSERT_EQUAL(am_invoke("_slice_assign", ((am_array *[]){l, r}), 2, k, v2, 3, &y, 1), AM_OK);
    am_array *loss = am_sum(am_mul(y, tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6)),
                            NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(loss), AM_OK);
    TU_ASSERT_VALUES(am_grad(l), AM_SHAPE(2, 3), 0, 1, 2, 0, 4, 5, 0);
    TU_ASSERT_VALUES(am_grad(r), AM_SHAPE(2, 1), 0, 3, 6);
    am_scope_end();
}

CU_TestInfo am_tests_ops_like[] = {
    {"_slice_assign and _slice_assign_scalar", test_slice_assign},
    {"broadcast_like and broadcast_axis", test_broadcast_like_axis},
    {"slice_like", test_slice_like},
    CU_TEST_INFO_NULL,
};
