/* The ops_block suite: depth_to_space, space_to_depth, diag, Crop, _split_v2,
 * shape_array and size_array against MXNet 1.9.1's outputs, gradients, and errors. */
#include "test_util.h"

#define F32 AM_DTYPE_FLOAT32

static void test_depth_space(void)
{
    am_scope_begin();
    am_array *x = am_reshape(am_arange(0, 16, 1, F32), AM_SHAPE(1, 4, 2, 2));
    am_array *d = am_depth_to_space(x, 2);
    TU_ASSERT_VALUES(d, AM_SHAPE(1, 1, 4, 4), 0,
                     0, 4, 1, 5, 8, 12, 9, 13, 2, 6, 3, 7, 10, 14, 11, 15);
    am_array *y = am_reshape(am_arange(0, 16, 1, F32), AM_SHAPE(1, 1, 4, 4));
    TU_ASSERT_VALUES(am_space_to_depth(y, 2), AM_SHAPE(1, 4, 2, 2), 0,
                     0, 2, 8, 10, 1, 3, 9, 11, 4, 6, 12, 14, 5, 7, 13, 15);
    CU_ASSERT(tu_allclose(am_space_to_depth(d, 2), x, 0));
    TU_ASSERT_FAILS(am_depth_to_space(am_zeros(AM_SHAPE(1, 3, 2, 2), F32), 2), AM_ERR_SHAPE,
                    "depth_to_space: the channels of data (1, 3, 2, 2) are not a multiple of "
                    "block_size^2 = 4");
    TU_ASSERT_FAILS(am_space_to_depth(am_zeros(AM_SHAPE(1, 1, 3, 4), F32), 2), AM_ERR_SHAPE,
                    "space_to_depth: the height and width of data (1, 1, 3, 4)");
    TU_ASSERT_FAILS(am_space_to_depth(am_zeros(AM_SHAPE(4, 4), F32), 2), AM_ERR_SHAPE,
                    "must be 4-D");
    am_scope_end();
}

static void test_diag(void)
{
    am_scope_begin();
    am_array *m = am_reshape(am_arange(0, 12, 1, F32), AM_SHAPE(3, 4));
    TU_ASSERT_VALUES(am_diag(m, 1), AM_SHAPE(3), 0, 1, 6, 11);
    TU_ASSERT_VALUES(am_diag(m, -1), AM_SHAPE(2), 0, 4, 9);
    TU_ASSERT_VALUES(am_diag(tu_array(F32, AM_SHAPE(2), 1, 2), -1), AM_SHAPE(3, 3), 0,
                     0, 0, 0, 1, 0, 0, 0, 2, 0);
    am_array *t = am_reshape(am_arange(0, 24, 1, F32), AM_SHAPE(2, 3, 4));
    TU_ASSERT_VALUES(am_diag_at(t, 1, 2, 0, AM_HERE), AM_SHAPE(3, 1), 0, 12, 16, 20);
    TU_ASSERT_FAILS(am_diag(m, 5), AM_ERR_ARG, "diag: k=5 leaves no diagonal in axes 0 and 1 "
                    "of (3, 4)");
    TU_ASSERT_FAILS(am_diag_at(m, 0, 1, -1, AM_HERE), AM_ERR_ARG,
                    "axis1=1 and axis2=-1 name the same axis");
    /* the gradient of a matrix's diagonal is the diagonal in zeros */
    am_array *x = am_zeros(AM_SHAPE(2, 3), AM_DTYPE_FLOAT64);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *l = am_sum(am_mul(am_diag(x, 1), tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 5, 7)),
                         NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(l), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(2, 3), 0, 0, 5, 0, 0, 0, 7);
    am_scope_end();
}

static void test_crop(void)
{
    am_scope_begin();
    am_array *x = am_reshape(am_arange(0, 60, 1, F32), AM_SHAPE(1, 2, 5, 6));
    TU_ASSERT_VALUES(am_crop_at(x, NULL, (int64_t[]){1, 2}, (int64_t[]){2, 3}, false, AM_HERE),
                     AM_SHAPE(1, 2, 2, 3), 0, 8, 9, 10, 14, 15, 16, 38, 39, 40, 44, 45, 46);
    am_array *c = am_crop_at(x, NULL, NULL, (int64_t[]){2, 3}, true, AM_HERE);
    TU_ASSERT_VALUES(am_slice_axis(c, 1, 0, 1), AM_SHAPE(1, 1, 2, 3), 0, 7, 8, 9, 13, 14, 15);
    am_array *like = am_zeros(AM_SHAPE(3, 3, 3, 2), F32);
    am_array *l = am_crop_at(x, like, NULL, NULL, true, AM_HERE);
    TU_ASSERT_VALUES(am_slice_axis(l, 1, 0, 1), AM_SHAPE(1, 1, 3, 2), 0, 8, 9, 14, 15, 20, 21);
    TU_ASSERT_FAILS(am_crop_at(x, NULL, (int64_t[]){4, 2}, (int64_t[]){2, 3}, false, AM_HERE),
                    AM_ERR_SHAPE, "Crop: offset=(4, 2) puts the (2, 3) crop outside data "
                    "(1, 2, 5, 6)");
    TU_ASSERT_FAILS(am_crop_at(x, NULL, NULL, (int64_t[]){6, 3}, false, AM_HERE), AM_ERR_SHAPE,
                    "Crop: a crop of (6, 3) does not fit in data (1, 2, 5, 6)");
    am_scope_end();
}

static void test_split_v2_shape_size(void)
{
    am_scope_begin();
    am_array *x = am_reshape(am_arange(0, 12, 1, F32), AM_SHAPE(3, 4)), *o[3] = {0};
    const char *k[] = {"indices", "axis"}, *v[] = {"[0, 1, 3]", "1"};
    CU_ASSERT_EQUAL(am_invoke("_split_v2", &x, 1, k, v, 2, o, 3), AM_OK);
    TU_ASSERT_VALUES(o[0], AM_SHAPE(3, 1), 0, 0, 4, 8);
    TU_ASSERT_VALUES(o[1], AM_SHAPE(3, 2), 0, 1, 2, 5, 6, 9, 10);
    TU_ASSERT_VALUES(o[2], AM_SHAPE(3, 1), 0, 3, 7, 11);
    const char *k2[] = {"indices", "sections", "axis", "squeeze_axis"};
    const char *v2[] = {"()", "3", "0", "True"};
    CU_ASSERT_EQUAL(am_invoke("_split_v2", &x, 1, k2, v2, 4, o, 3), AM_OK);
    TU_ASSERT_VALUES(o[2], AM_SHAPE(4), 0, 8, 9, 10, 11);
    const char *v3[] = {"()", "3", "1", "False"};
    TU_ASSERT_STATUS(am_invoke("_split_v2", &x, 1, k2, v3, 4, o, 3), AM_ERR_SHAPE,
                     "_split_v2: cannot split axis 1 of data (3, 4) into sections=3");
    const char *v4[] = {"[0, 3, 2]", "1"};
    TU_ASSERT_STATUS(am_invoke("_split_v2", &x, 1, k, v4, 2, o, 3), AM_ERR_ARG,
                     "indices=(0, 3, 2) must rise within axis 1");
    am_array *sa = am_shape_array(x);
    CU_ASSERT_EQUAL(am_array_dtype(sa), AM_DTYPE_INT64);
    TU_ASSERT_VALUES(sa, AM_SHAPE(2), 0, 3, 4);
    TU_ASSERT_VALUES(am_size_array(x), AM_SHAPE(1), 0, 12);
    /* parts before the first index get no gradient */
    am_array *w = am_zeros(AM_SHAPE(4), AM_DTYPE_FLOAT64);
    am_attach_grad(w, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    const char *v5[] = {"[1, 2]", "0"};
    CU_ASSERT_EQUAL(am_invoke("_split_v2", &w, 1, k, v5, 2, o, 2), AM_OK);
    am_array *l = am_add(am_sum(am_mul_scalar(o[0], 2), NULL, 0, false),
                         am_sum(am_mul_scalar(o[1], 3), NULL, 0, false));
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(l), AM_OK);
    TU_ASSERT_VALUES(am_grad(w), AM_SHAPE(4), 0, 0, 2, 3, 3);
    am_scope_end();
}

CU_TestInfo am_tests_ops_block[] = {
    {"_split_v2, shape_array and size_array", test_split_v2_shape_size},
    {"depth_to_space and space_to_depth", test_depth_space},
    {"diag", test_diag},
    {"Crop", test_crop},
    CU_TEST_INFO_NULL,
};
