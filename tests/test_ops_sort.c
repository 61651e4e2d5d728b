/* The ops_sort suite: topk, sort, argsort and reverse against hand-checked
 * values and MXNet 1.9.1's outputs (ties in its order), gradients, and errors. */
#include "test_util.h"

#define F32 AM_DTYPE_FLOAT32

/* ---- topk ----------------------------------------------------------------------------- */

static void test_topk(void)
{
    am_scope_begin();
    am_array *x = tu_array(F32, AM_SHAPE(1, 8), 1, 3, 3, 2, 3, 1, 1, 2), *o[2] = {0};
    /* ties keep their order (MXNet's insertion sort for short rows) */
    CU_ASSERT_EQUAL(am_topk(x, -1, 4, "indices", false, o), AM_OK);
    CU_ASSERT_EQUAL(am_array_dtype(o[0]), F32);
    TU_ASSERT_VALUES(o[0], AM_SHAPE(1, 4), 0, 1, 2, 4, 3);
    CU_ASSERT_EQUAL(am_topk(x, -1, 4, "indices", true, o), AM_OK);
    TU_ASSERT_VALUES(o[0], AM_SHAPE(1, 4), 0, 0, 5, 6, 3);
    CU_ASSERT_EQUAL(am_topk(x, 1, 0, "value", false, o), AM_OK);
    TU_ASSERT_VALUES(o[0], AM_SHAPE(1, 8), 0, 3, 3, 3, 2, 2, 1, 1, 1);
    CU_ASSERT_EQUAL(am_topk(x, -1, 3, "mask", true, o), AM_OK);
    TU_ASSERT_VALUES(o[0], AM_SHAPE(1, 8), 0, 1, 0, 0, 0, 0, 1, 1, 0);
    /* both, int32 indices, along the first axis */
    am_array *y = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3, 2), 0.5, -1, 2, 4, -3, 0);
    CU_ASSERT_EQUAL(am_topk_at(y, 0, 2, "both", false, AM_DTYPE_INT32, o, AM_HERE), AM_OK);
    TU_ASSERT_VALUES(o[0], AM_SHAPE(2, 2), 0, 2, 4, 0.5, 0);
    CU_ASSERT_EQUAL(am_array_dtype(o[1]), AM_DTYPE_INT32);
    TU_ASSERT_VALUES(o[1], AM_SHAPE(2, 2), 0, 1, 1, 0, 2);
    /* axis None: the flattened array; a mask keeps data's shape */
    CU_ASSERT_EQUAL(am_topk(y, AM_NONE, 3, "both", false, o), AM_OK);
    TU_ASSERT_VALUES(o[0], AM_SHAPE(3), 0, 4, 2, 0.5);
    TU_ASSERT_VALUES(o[1], AM_SHAPE(3), 0, 3, 2, 0);
    CU_ASSERT_EQUAL(am_topk(y, AM_NONE, 2, "mask", true, o), AM_OK);
    TU_ASSERT_VALUES(o[0], AM_SHAPE(3, 2), 0, 0, 1, 0, 0, 1, 0);
    /* integer data; size-0 rows */
    am_array *z = tu_array(AM_DTYPE_INT64, AM_SHAPE(2, 3), 5, -2, 7, 0, 0, 1);
    CU_ASSERT_EQUAL(am_topk(z, 1, 1, "value", true, o), AM_OK);
    TU_ASSERT_VALUES(o[0], AM_SHAPE(2, 1), 0, -2, 0);
    CU_ASSERT_EQUAL(am_topk(am_zeros(AM_SHAPE(0, 4), F32), -1, 2, "both", false, o), AM_OK);
    CU_ASSERT_EQUAL(am_array_shape(o[1]).dim[1], 2);
    CU_ASSERT_EQUAL(am_array_size(o[1]), 0);
    /* by name: ret_typ=indices is the default, with one visible output */
    const char *k[] = {"k", "dtype"}, *v[] = {"2", "uint8"};
    CU_ASSERT_EQUAL(am_invoke("topk", &x, 1, k, v, 2, o, 1), AM_OK);
    CU_ASSERT_EQUAL(am_array_dtype(o[0]), AM_DTYPE_UINT8);
    TU_ASSERT_VALUES(o[0], AM_SHAPE(1, 2), 0, 1, 2);
    am_scope_end();
}

static void test_topk_errors(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(2, 8), F32), *o[2] = {0};
    TU_ASSERT_STATUS(am_topk(x, -1, 9, "value", false, o), AM_ERR_ARG,
                     "topk: k=9 is out of range for data (2, 8): axis 1 has 8 elements");
    TU_ASSERT_STATUS(am_topk(x, AM_NONE, 17, "value", false, o), AM_ERR_ARG,
                     "topk: k=17 is out of range for data (2, 8) of 16 elements (axis=None)");
    TU_ASSERT_STATUS(am_topk(x, 2, 1, "value", false, o), AM_ERR_ARG,
                     "topk: axis=2 is out of range for 2 dimensions");
    TU_ASSERT_STATUS(am_topk(x, -1, 1, "values", false, o), AM_ERR_ARG,
                     "topk: ret_typ 'values' is not value, indices, both or mask");
    const char *k[] = {"ret_typ"}, *v[] = {"top"};
    TU_ASSERT_STATUS(am_invoke("topk", &x, 1, k, v, 1, o, 1), AM_ERR_FORMAT, "ret_typ");
    TU_ASSERT_FAILS(am_sort(am_zeros(AM_SHAPE(), F32), 0, true), AM_ERR_ARG,
                    "sort: axis=0 is out of range for 0 dimensions");
    am_scope_end();
}

/* MXNet 1.9.1's argsort of 0, 1, 0, 1, ... (80 values): introsort's order, not a stable one. */
static void test_argsort_ties_as_mxnet(void)
{
    static const double asc[80] = {
        60, 68, 24, 66, 28, 30, 64, 32, 34, 62, 36, 38, 26, 40, 42, 58, 44, 46, 56, 48,
        50, 54, 52, 12, 0, 2, 78, 4, 6, 76, 8, 10, 74, 22, 14, 16, 20, 18, 72, 70,
        65, 69, 67, 79, 55, 77, 57, 75, 59, 71, 63, 61, 73, 27, 1, 3, 5, 7, 9, 11,
        13, 15, 17, 19, 21, 23, 25, 53, 29, 31, 33, 35, 37, 39, 41, 43, 45, 47, 49, 51};
    static const double desc[80] = {
        55, 29, 31, 33, 35, 37, 39, 41, 43, 45, 47, 49, 51, 53, 1, 57, 59, 61, 63, 65,
        67, 69, 71, 73, 75, 77, 79, 17, 11, 13, 25, 7, 3, 27, 23, 19, 15, 5, 21, 9,
        10, 64, 62, 68, 60, 58, 8, 66, 14, 6, 70, 72, 4, 74, 76, 2, 78, 0, 20, 28,
        26, 30, 32, 24, 34, 36, 22, 38, 40, 12, 42, 44, 18, 46, 48, 16, 50, 52, 54, 56};
    am_scope_begin();
    double v[80];
    for (int i = 0; i < 80; i++) v[i] = i % 2;
    am_array *x = tu_array_from(F32, AM_SHAPE(1, 80), v, 80), *o[2] = {0};
    CU_ASSERT(tu_values_are(am_argsort(x, -1, true), AM_SHAPE(1, 80), asc, 80, 0));
    CU_ASSERT(tu_values_are(am_argsort(x, 1, false), AM_SHAPE(1, 80), desc, 80, 0));
    CU_ASSERT_EQUAL(am_topk(x, -1, 80, "indices", false, o), AM_OK);
    CU_ASSERT(tu_values_are(o[0], AM_SHAPE(1, 80), desc, 80, 0));
    /* the same row along axis 0 of a (80, 2) array */
    am_array *t = am_transpose(am_concat(((am_array *[]){x, x}), 2, 0), NULL, 0);
    am_array *a = am_argsort_at(t, 0, true, AM_DTYPE_INT64, AM_HERE);
    CU_ASSERT_EQUAL(am_array_dtype(a), AM_DTYPE_INT64);
    am_array *col = am_slice_axis(a, 1, 1, 2);
    CU_ASSERT(tu_values_are(col, AM_SHAPE(80, 1), asc, 80, 0));
    am_scope_end();
}

static void test_sort(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 3), 3, -1, 2, 0, 5, 4);
    TU_ASSERT_VALUES(am_sort(x, -1, true), AM_SHAPE(2, 3), 0, -1, 2, 3, 0, 4, 5);
    TU_ASSERT_VALUES(am_sort(x, 0, false), AM_SHAPE(2, 3), 0, 3, 5, 4, 0, -1, 2);
    TU_ASSERT_VALUES(am_sort(x, AM_NONE, true), AM_SHAPE(6), 0, -1, 0, 2, 3, 4, 5);
    TU_ASSERT_VALUES(am_argsort(x, AM_NONE, false), AM_SHAPE(6), 0, 4, 5, 0, 2, 3, 1);
    CU_ASSERT(am_op_find("argsort")->flags & AM_OP_NO_GRAD);
    am_array *u = tu_array(AM_DTYPE_UINT8, AM_SHAPE(4), 9, 200, 0, 9);
    TU_ASSERT_VALUES(am_sort(u, 0, false), AM_SHAPE(4), 0, 200, 9, 9, 0);
    am_scope_end();
}

/* d/dx sum(w * topk(x)) puts w back where each value came from. */
static void test_topk_gradient(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 4), 0.1, 0.9, -0.5, 0.3,
                           2, 1, 3, 0), *o[2] = {0};
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    CU_ASSERT_EQUAL(am_topk(x, 1, 2, "both", false, o), AM_OK);
    am_array *w = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 2), 10, 20, 30, 40);
    am_array *loss = am_sum(am_mul(o[0], w), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(loss), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(2, 4), 0, 0, 10, 0, 20, 40, 0, 30, 0);
    /* sort along axis 0 */
    am_array *y = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 2, -1, 1);
    am_attach_grad(y, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *s = am_sort(y, 0, true);
    am_array *l2 = am_sum(am_mul(s, tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 1, 2, 3)),
                          NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(l2), AM_OK);
    TU_ASSERT_VALUES(am_grad(y), AM_SHAPE(3), 0, 3, 1, 2);
    am_scope_end();
}

/* ---- reverse -------------------------------------------------------------------------- */

static void test_reverse(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_INT32, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
    TU_ASSERT_VALUES(am_reverse(x, ((int[]){1}), 1), AM_SHAPE(2, 3), 0, 3, 2, 1, 6, 5, 4);
    TU_ASSERT_VALUES(am_reverse(x, ((int[]){0, -1}), 2), AM_SHAPE(2, 3), 0, 6, 5, 4, 3, 2, 1);
    /* an axis listed twice is reversed twice, as in MXNet */
    TU_ASSERT_VALUES(am_reverse(x, ((int[]){1, 0, 1}), 3), AM_SHAPE(2, 3), 0, 4, 5, 6, 1, 2, 3);
    am_array *y = NULL;
    const char *k[] = {"axis"}, *v[] = {"(0,)"};
    CU_ASSERT_EQUAL(am_invoke("flip", &x, 1, k, v, 1, &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 3), 0, 4, 5, 6, 1, 2, 3);
    CU_ASSERT_EQUAL(am_array_size(am_reverse(am_zeros(AM_SHAPE(0, 2), F32), ((int[]){0}), 1)),
                    0);
    TU_ASSERT_FAILS(am_reverse(x, ((int[]){2}), 1), AM_ERR_ARG,
                    "reverse: axis=2 is out of range for 2 dimensions");
    TU_ASSERT_FAILS(am_invoke("reverse", &x, 1, NULL, NULL, 0, &y, 1) == AM_OK, AM_ERR_ARG,
                    "required attribute 'axis'");
    am_scope_end();
}

CU_TestInfo am_tests_ops_sort[] = {
    {"topk: value, indices, mask, both; ties in order", test_topk},
    {"topk: errors name k, axis and ret_typ", test_topk_errors},
    {"argsort and topk break ties as MXNet 1.9.1 does", test_argsort_ties_as_mxnet},
    {"sort and argsort", test_sort},
    {"topk and sort gradients", test_topk_gradient},
    {"reverse (flip)", test_reverse},
    CU_TEST_INFO_NULL,
};
