/* The ops_resize suite: _contrib_BilinearResize2D and _contrib_AdaptiveAvgPooling2D against
 * values printed by MXNet 1.9.1 (outputs and input gradients), output sizes of each mode,
 * and the errors for bad input. */
#include "test_util.h"

/* 0, 1, 2, ... in shape s. */
static am_array *iota(am_shape s, am_dtype t)
{
    am_array *x = am_empty(s, t);
    am_view v = am_array_view(x);
    for (int64_t i = 0; i < am_view_size(&v); i++) am_view_set(&v, i, (double)i);
    return x;
}

static am_array *resize(am_array *x, const char *keys, const char *vals)
{
    return tu_invoke1("_contrib_BilinearResize2D", x, keys, vals);
}

static void test_bilinear_values(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(1, 1, 3, 4), AM_DTYPE_FLOAT32);
    /* MXNet 1.9.1, align_corners=True (the default). */
    TU_ASSERT_VALUES(am_bilinear_resize_2d(x, 5, 3, true), AM_SHAPE(1, 1, 5, 3), 1e-6,
                     0, 1.5, 3, 2, 3.5, 5, 4, 5.5, 7, 6, 7.5, 9, 8, 9.5, 11);
    /* align_corners=False: half-pixel centres, sources clamped at 0. */
    TU_ASSERT_VALUES(am_bilinear_resize_2d(x, 5, 3, false), AM_SHAPE(1, 1, 5, 3), 1e-5,
                     0.16666669, 1.5, 2.8333335, 1.7666668, 3.1000004, 4.4333334, 4.1666665,
                     5.5, 6.8333335, 6.5666676, 7.9000006, 9.233334, 8.166667, 9.5, 10.833333);
    TU_ASSERT_VALUES(resize(x, "height|width|align_corners", "2|7|False"), AM_SHAPE(1, 1, 2, 7),
                     1e-5, 1, 1.3571429, 1.9285715, 2.5, 3.0714288, 3.642857, 4, 7, 7.3571424,
                     7.9285717, 8.5, 9.071428, 9.642857, 10);
    /* One output pixel reads input (0, 0) under both conventions; same size copies. */
    TU_ASSERT_VALUES(am_bilinear_resize_2d(x, 1, 1, true), AM_SHAPE(1, 1, 1, 1), 0, 0);
    TU_ASSERT_VALUES(am_bilinear_resize_2d(x, 1, 1, false), AM_SHAPE(1, 1, 1, 1), 0, 0);
    CU_ASSERT(tu_allclose(am_bilinear_resize_2d(x, 3, 4, false), x, 0));
    am_scope_end();
}

/* Output sizes of each mode, as MXNet 1.9.1 gives them for a (3, 4) plane. */
static void test_bilinear_modes(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(1, 1, 3, 4), AM_DTYPE_FLOAT64);
    static const struct {
        const char *keys, *vals;
        int64_t h, w;
    } m[] = {
        {"scale_height|scale_width", "2.0|0.5", 6, 2},
        {"scale_height|scale_width", "1.7|1.3", 5, 5},
        {"scale_width|height", "2.0|7", 7, 1}, /* scale_width alone is ignored */
        {"mode|scale_height|scale_width", "odd_scale|2.0|0.5", 5, 2},
        {"mode", "to_even_down", 2, 4},
        {"mode", "to_even_up", 4, 4},
        {"mode", "to_odd_down", 3, 3},
        {"mode", "to_odd_up", 3, 5},
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        am_array *y = resize(x, m[i].keys, m[i].vals);
        CU_ASSERT_PTR_NOT_NULL_FATAL(y);
        am_shape s = am_array_shape(y);
        CU_ASSERT(s.dim[2] == m[i].h && s.dim[3] == m[i].w);
    }
    am_array *in[2] = {x, am_zeros(AM_SHAPE(1, 1, 2, 6), AM_DTYPE_FLOAT64)}, *y = NULL;
    CU_ASSERT_EQUAL(tu_invoke("_contrib_BilinearResize2D", in, 2, "mode", "like", &y, 1), AM_OK);
    CU_ASSERT(am_array_shape(y).dim[2] == 2 && am_array_shape(y).dim[3] == 6);
    am_scope_end();
}

/* Input gradients of sum(resize(x, like)) and of adaptive pooling, as MXNet gives them. */
static void test_gradients(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(1, 1, 3, 4), AM_DTYPE_FLOAT32);
    am_array *like = am_zeros(AM_SHAPE(1, 1, 2, 6), AM_DTYPE_FLOAT32);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_attach_grad(like, AM_GRAD_WRITE);
    am_array *in[2] = {x, like}, *y = NULL;
    am_autograd_record_begin(true);
    tu_invoke("_contrib_BilinearResize2D", in, 2, "mode", "like", &y, 1);
    am_array *s = am_sum(y, NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(s), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(1, 1, 3, 4), 1e-6, 1.4, 1.6, 1.6, 1.4, 0, 0, 0, 0,
                     1.4, 1.6, 1.6, 1.4);
    TU_ASSERT_VALUES(am_grad(like), AM_SHAPE(1, 1, 2, 6), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    am_array *p = iota(AM_SHAPE(1, 1, 5, 7), AM_DTYPE_FLOAT32);
    am_attach_grad(p, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *q = am_adaptive_avg_pooling_2d(p, 2, 4);
    am_array *t = am_sum(q, NULL, 0, false);
    am_autograd_end();
    TU_ASSERT_VALUES(q, AM_SHAPE(1, 1, 2, 4), 1e-6, 7.5, 9, 11, 12.5, 21.5, 23, 25, 26.5);
    CU_ASSERT_EQUAL(am_backward(t), AM_OK);
    double a = 1.0 / 6, b = 1.0 / 6 + 1.0 / 9, c = 1.0 / 9, d = 2.0 / 9;
    TU_ASSERT_VALUES(am_grad(p), AM_SHAPE(1, 1, 5, 7), 1e-6,
                     a, b, c, d, c, b, a, a, b, c, d, c, b, a,
                     2 * a, 2 * b, 2 * c, 2 * d, 2 * c, 2 * b, 2 * a,
                     a, b, c, d, c, b, a, a, b, c, d, c, b, a);
    am_scope_end();
}

static void test_adaptive_values(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(1, 2, 2, 3), AM_DTYPE_FLOAT64);
    /* () is a global average; (s,) is s x s. */
    TU_ASSERT_VALUES(tu_invoke1("_contrib_AdaptiveAvgPooling2D", x, "", ""),
                     AM_SHAPE(1, 2, 1, 1), 1e-12, 2.5, 8.5);
    /* Upsampling: output 3 of 2 rows reads [0, 1), [0, 2), [1, 2). */
    TU_ASSERT_VALUES(tu_invoke1("_contrib_AdaptiveAvgPooling2D",
                                iota(AM_SHAPE(1, 1, 2, 1), AM_DTYPE_FLOAT32), "output_size",
                                "(3, 1)"),
                     AM_SHAPE(1, 1, 3, 1), 0, 0, 0.5, 1);
    am_array *same = tu_invoke1("_contrib_AdaptiveAvgPooling2D", x, "output_size", "(2, 3)");
    CU_ASSERT(tu_allclose(same, x, 0));
    am_array *z = tu_invoke1("_contrib_AdaptiveAvgPooling2D", x, "output_size", "0");
    CU_ASSERT(z && am_array_size(z) == 0);
    am_scope_end();
}

static void test_errors(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(1, 1, 3, 4), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_bilinear_resize_2d(am_zeros(AM_SHAPE(3, 4), AM_DTYPE_FLOAT32), 2, 2, true),
                    AM_ERR_SHAPE, "_contrib_BilinearResize2D: data (3, 4) must be 4-D");
    TU_ASSERT_FAILS(am_bilinear_resize_2d(x, 0, 2, true), AM_ERR_ARG, "height=0");
    TU_ASSERT_FAILS(resize(x, "scale_height", "2"), AM_ERR_ARG, "without scale_width");
    TU_ASSERT_FAILS(resize(x, "mode|scale_height", "odd_scale|2"), AM_ERR_ARG,
                    "odd_scale needs scale_height and scale_width");
    TU_ASSERT_FAILS(resize(x, "mode", "nearest"), AM_ERR_FORMAT, "mode");
    TU_ASSERT_FAILS(am_bilinear_resize_2d(am_zeros(AM_SHAPE(1, 1, 3, 4), AM_DTYPE_INT32), 2, 2,
                                          true),
                    AM_ERR_DTYPE, "int32");
    TU_ASSERT_FAILS(am_bilinear_resize_2d(am_zeros(AM_SHAPE(1, 1, 0, 4), AM_DTYPE_FLOAT32), 2,
                                          2, true),
                    AM_ERR_SHAPE, "cannot resize an empty plane (0, 4) to (2, 2)");
    am_array *in[2] = {x, am_zeros(AM_SHAPE(2, 6), AM_DTYPE_FLOAT32)}, *y = NULL;
    TU_ASSERT_STATUS(tu_invoke("_contrib_BilinearResize2D", in, 2, "mode", "like", &y, 1),
                     AM_ERR_SHAPE, "like (2, 6) must be 4-D");
    TU_ASSERT_FAILS(tu_invoke1("_contrib_AdaptiveAvgPooling2D", x, "output_size", "(1, 2, 3)"),
                    AM_ERR_ARG, "_contrib_AdaptiveAvgPooling2D: output_size has 3 entries");
    TU_ASSERT_FAILS(am_adaptive_avg_pooling_2d(am_zeros(AM_SHAPE(2, 3, 4), AM_DTYPE_FLOAT32), 1,
                                               1),
                    AM_ERR_SHAPE, "data (2, 3, 4) must be 4-D");
    TU_ASSERT_FAILS(am_adaptive_avg_pooling_2d(x, -1, 1), AM_ERR_ARG, "output_size");
    am_array *bin[2] = {am_zeros(AM_SHAPE(1, 1, 2, 2), AM_DTYPE_FLOAT32), x};
    TU_ASSERT_STATUS(tu_invoke("_backward_contrib_AdaptiveAvgPooling2D", bin, 2, "output_size",
                               "(3, 3)", &y, 1),
                     AM_ERR_SHAPE, "ograd (1, 1, 2, 2) does not match the forward output "
                     "(1, 1, 3, 3)");
    am_scope_end();
}

CU_TestInfo am_tests_ops_resize[] = {
    {"BilinearResize2D: MXNet's values, both corner conventions", test_bilinear_values},
    {"BilinearResize2D: output size of each mode", test_bilinear_modes},
    {"BilinearResize2D and AdaptiveAvgPooling2D: MXNet's gradients", test_gradients},
    {"AdaptiveAvgPooling2D values", test_adaptive_values},
    {"resize errors", test_errors},
    CU_TEST_INFO_NULL,
};
