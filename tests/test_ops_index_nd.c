/* The ops_index_nd suite: gather_nd, scatter_nd and _scatter_set_nd against
 * MXNet 1.9.1's outputs, repeated indices, gradients, and errors. */
#include "test_util.h"

#include <amber/executor.h>

#define F32 AM_DTYPE_FLOAT32

static void test_gather_nd(void)
{
    am_scope_begin();
    am_array *d = am_reshape(am_arange(0, 12, 1, F32), AM_SHAPE(3, 4));
    TU_ASSERT_VALUES(am_gather_nd(d, tu_array(F32, AM_SHAPE(2, 2), 0, 2, 1, 3)), AM_SHAPE(2), 0,
                     1, 11);
    /* a negative coordinate counts from the end; M = 1 gathers rows */
    TU_ASSERT_VALUES(am_gather_nd(d, tu_array(AM_DTYPE_INT32, AM_SHAPE(2, 2), -1, 2, 1, 3)),
                     AM_SHAPE(2), 0, 9, 11);
    TU_ASSERT_VALUES(am_gather_nd(d, tu_array(F32, AM_SHAPE(1, 2), 2, 0)), AM_SHAPE(2, 4), 0,
                     8, 9, 10, 11, 0, 1, 2, 3);
    TU_ASSERT_FAILS(am_gather_nd(d, tu_array(F32, AM_SHAPE(2, 2), 5, 2, 1, 3)), AM_ERR_ARG,
                    "gather_nd: index 5 (indices[0, 0]) is out of range for axis 0 of size 3 "
                    "of (3, 4)");
    TU_ASSERT_FAILS(am_gather_nd(d, am_zeros(AM_SHAPE(3, 2), F32)), AM_ERR_SHAPE,
                    "gather_nd: indices (3, 2) must be (M, ...) with 1 <= M <= 2");
    am_scope_end();
}

static void test_scatter_nd(void)
{
    am_scope_begin();
    am_array *v = tu_array(F32, AM_SHAPE(3), 1, 2, 3);
    TU_ASSERT_VALUES(am_scatter_nd(v, tu_array(F32, AM_SHAPE(2, 3), 0, 1, 0, 1, 2, 1),
                                   AM_SHAPE(2, 3)), AM_SHAPE(2, 3), 0, 0, 3, 0, 0, 0, 2);
    /* a repeated index keeps the last value, as MXNet's CPU loop does */
    TU_ASSERT_VALUES(am_scatter_nd(v, tu_array(F32, AM_SHAPE(2, 3), 0, 0, 0, 1, 1, 1),
                                   AM_SHAPE(2, 3)), AM_SHAPE(2, 3), 0, 0, 3, 0, 0, 0, 0);
    TU_ASSERT_FAILS(am_scatter_nd(v, am_zeros(AM_SHAPE(2, 2), F32), AM_SHAPE(2, 3)),
                    AM_ERR_SHAPE, "scatter_nd: data (3,) must be (2,) for indices (2, 2)");
    /* _scatter_set_nd: lhs with rhs written in */
    am_array *in[3] = {am_ones(AM_SHAPE(2, 2), F32), tu_array(F32, AM_SHAPE(2), 5, 6),
                       tu_array(F32, AM_SHAPE(2, 2), 0, 1, 1, 0)}, *y = NULL;
    const char *k[] = {"shape"}, *s[] = {"(2, 2)"};
    CU_ASSERT_EQUAL(am_invoke("_scatter_set_nd", in, 3, k, s, 1, &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 2), 0, 1, 5, 6, 1);
    am_scope_end();
}

/* Gradients: gather_nd's accumulates at repeated indices; scatter_nd's reaches only
 * the values that survived. */
static void test_index_nd_gradients(void)
{
    am_scope_begin();
    am_array *d = am_zeros(AM_SHAPE(2, 2), AM_DTYPE_FLOAT64);
    am_array *idx = tu_array(F32, AM_SHAPE(2, 3), 0, 0, 1, 1, 1, 0);
    am_attach_grad(d, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *w = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 1, 2, 4);
    am_array *l = am_sum(am_mul(am_gather_nd(d, idx), w), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(l), AM_OK);
    TU_ASSERT_VALUES(am_grad(d), AM_SHAPE(2, 2), 0, 0, 3, 4, 0);
    am_array *v = am_zeros(AM_SHAPE(3), AM_DTYPE_FLOAT64);
    am_attach_grad(v, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *w2 = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 2), 1, 2, 3, 4);
    l = am_sum(am_mul(am_scatter_nd(v, idx, AM_SHAPE(2, 2)), w2), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(l), AM_OK);
    TU_ASSERT_VALUES(am_grad(v), AM_SHAPE(3), 0, 0, 2, 3);
    am_scope_end();
}

/* The backward graph of v -> scatter_nd(v, idx) -> topk (value) gives what eager
 * autograd gives: the constant column numbers behind the survivor mask trace too. */
static void test_symbolic_gradient(void)
{
    am_scope_begin();
    am_array *idx = tu_array(F32, AM_SHAPE(2, 3), 0, 0, 1, 1, 1, 0), *o[2] = {0};
    am_array *v = am_var("v", AM_SHAPE(3), AM_DTYPE_FLOAT32);
    CU_ASSERT_EQUAL(am_topk(am_scatter_nd(v, idx, AM_SHAPE(2, 2)), -1, 1, "value", false, o),
                    AM_OK);
    am_graph *g = am_graph_create(o, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    am_graph *gg = am_graph_gradient(g, (const char *[]){"v"}, 1);
    if (!gg) printf("\n  %s\n", am_last_error());
    CU_ASSERT_PTR_NOT_NULL_FATAL(gg);
    char *head = NULL, hg[256];
    CU_ASSERT_EQUAL(am_graph_list_outputs(g, &head, 1), 1);
    snprintf(hg, sizeof(hg), "%s_head_grad", head);
    free(head);
    const char *names[2] = {"v", hg};
    am_array *vals[2] = {tu_array(F32, AM_SHAPE(3), 5, 3, 2), tu_array(F32, AM_SHAPE(2, 1), 10, 20)};
    am_array *out[2] = {0};
    am_status st = am_graph_eval(gg, names, vals, 2, true, out, 2);
    if (st != AM_OK) printf("\n  %s\n", am_last_error());
    CU_ASSERT_EQUAL_FATAL(st, AM_OK);
    /* the scatter is [[0, 3], [2, 0]]: v[1] overwrote v[0], which gets no gradient */
    TU_ASSERT_VALUES(out[0], AM_SHAPE(2, 1), 0, 3, 2);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(3), 0, 0, 10, 20);
    am_graph_release(gg);
    am_graph_release(g);
    am_scope_end();
}

/* MXNet's values, out-of-range ones included (its arithmetic is unchecked). */
static void test_ravel_unravel(void)
{
    am_scope_begin();
    am_array *y = NULL, *c = tu_array(F32, AM_SHAPE(2, 3), 0, 5, -1, 3, 0, 0);
    const char *k[] = {"shape"}, *v[] = {"(3, 4)"};
    CU_ASSERT_EQUAL(am_invoke("ravel_multi_index", &c, 1, k, v, 1, &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(3), 0, 3, 20, -4);
    am_array *f = tu_array(F32, AM_SHAPE(3), 13, -1, 2.7);
    CU_ASSERT_EQUAL(am_invoke("_unravel_index", &f, 1, k, v, 1, &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 3), 0, 3, 0, 0, 1, -1, 2);
    TU_ASSERT_STATUS(am_invoke("_ravel_multi_index", &f, 1, k, v, 1, &y, 1), AM_ERR_SHAPE,
                     "_ravel_multi_index: data (3,) must be (2, N)");
    TU_ASSERT_STATUS(am_invoke("_unravel_index", &c, 1, k, v, 1, &y, 1), AM_ERR_SHAPE,
                     "_unravel_index: data (2, 3) must be 1-D");
    TU_ASSERT_STATUS(am_invoke("_unravel_index", &f, 1, NULL, NULL, 0, &y, 1), AM_ERR_ARG,
                     "_unravel_index: shape=None must be given");
    am_scope_end();
}

CU_TestInfo am_tests_ops_index_nd[] = {
    {"ravel_multi_index and unravel_index", test_ravel_unravel},
    {"symbolic gradient through scatter_nd and topk", test_symbolic_gradient},
    {"gather_nd", test_gather_nd},
    {"scatter_nd and _scatter_set_nd", test_scatter_nd},
    {"gather_nd and scatter_nd gradients", test_index_nd_gradients},
    CU_TEST_INFO_NULL,
};
