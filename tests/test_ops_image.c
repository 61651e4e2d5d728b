/* The ops_image suite: the mx.nd.image ops of ndarray/ops/image.c against
 * hand-checked numbers (the values below were worked out by hand and agree with
 * MXNet 1.9.1's mx.nd.image), their gradients, and errors. */
#include "test_util.h"

#include <amber/autograd.h>

static am_array *invoke1(const char *op, am_array *x, const char *keys, const char *vals)
{
    return tu_invoke1(op, x, keys, vals);
}

static void test_to_tensor(void)
{
    am_scope_begin();
    /* (H, W, C) = (2, 2, 2) uint8 -> (C, H, W) float32 / 255. */
    am_array *x = tu_array(AM_DTYPE_UINT8, AM_SHAPE(2, 2, 2), 0, 10, 20, 30, 40, 50, 60, 255);
    am_array *y = invoke1("_image_to_tensor", x, "", "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 2, 2), 1e-6, 0, 20 / 255., 40 / 255., 60 / 255., 10 / 255.,
                     30 / 255., 50 / 255., 1);
    /* A batch (N, H, W, C) = (2, 1, 2, 3) of float64 stays float32. */
    am_array *b = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 1, 2, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                           11, 12);
    y = invoke1("_image_to_tensor", b, "", "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    CU_ASSERT_EQUAL(am_array_dtype(y), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 3, 1, 2), 1e-6, 1 / 255., 4 / 255., 2 / 255., 5 / 255.,
                     3 / 255., 6 / 255., 7 / 255., 10 / 255., 8 / 255., 11 / 255., 9 / 255.,
                     12 / 255.);
    am_scope_end();
}

static void test_normalize(void)
{
    for (int t = 0; t < 2; t++) {
        am_dtype dt = t ? AM_DTYPE_FLOAT64 : AM_DTYPE_FLOAT32;
        am_scope_begin();
        am_array *x = tu_array(dt, AM_SHAPE(3, 1, 2), 1, 2, 3, 4, 5, 6);
        am_attach_grad(x, AM_GRAD_WRITE);
        am_autograd_record_begin(true);
        am_array *y = invoke1("_image_normalize", x, "mean|std", "(1, 2, 3)|(2, 4, 0.5)");
        am_autograd_end();
        CU_ASSERT_PTR_NOT_NULL_FATAL(y);
        TU_ASSERT_VALUES(y, AM_SHAPE(3, 1, 2), 1e-6, 0, 0.5, 0.25, 0.5, 4, 6);
        CU_ASSERT_EQUAL(am_backward_at(y, tu_array(dt, AM_SHAPE(3, 1, 2), 1, 2, 1, 2, 1, 2),
                                       false, AM_HERE), AM_OK);
        TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(3, 1, 2), 1e-6, 0.5, 1, 0.25, 0.5, 2, 4);
        /* One mean and std for all channels, over a batch. */
        am_array *b = tu_array(dt, AM_SHAPE(2, 1, 1, 2), 1, 2, 3, 4);
        TU_ASSERT_VALUES(invoke1("_image_normalize", b, "mean|std", "0.5|0.25"),
                         AM_SHAPE(2, 1, 1, 2), 1e-6, 2, 6, 10, 14);
        am_scope_end();
    }
}

static void test_flips(void)
{
    am_scope_begin();
    /* (H, W, C) = (2, 3, 2): pixel (i, j) holds (10 i + j, -(10 i + j)). */
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 3, 2), 0, 0, 1, -1, 2, -2, 10, -10, 11,
                           -11, 12, -12);
    TU_ASSERT_VALUES(invoke1("_image_flip_left_right", x, "", ""), AM_SHAPE(2, 3, 2), 0, 2, -2,
                     1, -1, 0, 0, 12, -12, 11, -11, 10, -10);
    TU_ASSERT_VALUES(invoke1("_image_flip_top_bottom", x, "", ""), AM_SHAPE(2, 3, 2), 0, 10,
                     -10, 11, -11, 12, -12, 0, 0, 1, -1, 2, -2);
    am_array *u = tu_array(AM_DTYPE_UINT8, AM_SHAPE(1, 3, 1), 7, 8, 250);
    am_array *f = invoke1("_image_flip_left_right", u, "", "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(am_array_dtype(f), AM_DTYPE_UINT8);
    TU_ASSERT_VALUES(f, AM_SHAPE(1, 3, 1), 0, 250, 8, 7);
    /* The gradient is the same flip of the head gradient. */
    am_array *g = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 1, 1), 3, 4);
    am_attach_grad(g, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *y = invoke1("_image_flip_top_bottom", g, "", "");
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward_at(y, tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 1, 1), 1, 5), false,
                                   AM_HERE), AM_OK);
    TU_ASSERT_VALUES(am_grad(g), AM_SHAPE(2, 1, 1), 0, 5, 1);
    am_scope_end();
}

static void test_crop(void)
{
    am_scope_begin();
    /* (N, H, W, C) = (2, 3, 3, 1) holding 0..17; x=0, y=2, width=3, height=1 (MXNet). */
    double v[18];
    for (int i = 0; i < 18; i++) v[i] = i;
    am_array *x = tu_array_from(AM_DTYPE_FLOAT64, AM_SHAPE(2, 3, 3, 1), v, 18);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *y = invoke1("_image_crop", x, "x|y|width|height", "0|2|3|1");
    am_autograd_end();
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 1, 3, 1), 0, 6, 7, 8, 15, 16, 17);
    CU_ASSERT_EQUAL(am_backward_at(y, tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 1, 3, 1), 1, 2, 3,
                                               4, 5, 6), false, AM_HERE), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(2, 3, 3, 1), 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0,
                     0, 0, 0, 4, 5, 6);
    /* One (H, W, C) = (2, 3, 3) image: the 1 x 2 area at x=1, y=1. */
    double u[18];
    for (int i = 0; i < 18; i++) u[i] = 10 * i;
    am_array *img = tu_array_from(AM_DTYPE_UINT8, AM_SHAPE(2, 3, 3), u, 18);
    TU_ASSERT_VALUES(invoke1("_image_crop", img, "x|y|width|height", "1|1|2|1"),
                     AM_SHAPE(1, 2, 3), 0, 120, 130, 140, 150, 160, 170);
    am_scope_end();
}

static void test_adjust_lighting(void)
{
    am_scope_begin();
    /* MXNet 1.9.1: alpha (0.1, -0.2, 0.3) on 0, 20, ..., 220 as (2, 2, 3); uint8
     * saturates at 0 and truncates. */
    double v[12];
    for (int i = 0; i < 12; i++) v[i] = 20 * i;
    am_array *u = tu_array_from(AM_DTYPE_UINT8, AM_SHAPE(2, 2, 3), v, 12);
    TU_ASSERT_VALUES(invoke1("_image_adjust_lighting", u, "alpha", "(0.1, -0.2, 0.3)"),
                     AM_SHAPE(2, 2, 3), 0, 0, 16, 37, 56, 76, 97, 116, 136, 157, 176, 196, 217);
    am_array *d = tu_array_from(AM_DTYPE_FLOAT64, AM_SHAPE(2, 2, 3), v, 12);
    am_attach_grad(d, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *y = invoke1("_image_adjust_lighting", d, "alpha", "(0.1, -0.2, 0.3)");
    am_autograd_end();
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 2, 3), 1e-6, -3.69885421, 16.50285721, 37.57427979,
                     56.30114746, 76.50285339, 97.57427979, 116.30114746, 136.50285339,
                     157.57427979, 176.30114746, 196.50285339, 217.57427979);
    CU_ASSERT_EQUAL(am_backward_at(y, NULL, false, AM_HERE), AM_OK);
    TU_ASSERT_VALUES(am_grad(d), AM_SHAPE(2, 2, 3), 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    /* One channel: unchanged. */
    am_array *g = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 2, 1), 3, 4);
    TU_ASSERT_VALUES(invoke1("_image_adjust_lighting", g, "alpha", "(1, 1, 1)"),
                     AM_SHAPE(1, 2, 1), 0, 3, 4);
    am_scope_end();
}

static void test_resize(void)
{
    am_scope_begin();
    /* MXNet 1.9.1 (OpenCV) on a (2, 3, 1) image to width 5, height 4. */
    am_array *u = tu_array(AM_DTYPE_UINT8, AM_SHAPE(2, 3, 1), 0, 255, 13, 100, 7, 200);
    TU_ASSERT_VALUES(invoke1("_image_resize", u, "size", "(5, 4)"), AM_SHAPE(4, 5, 1), 0, 0,
                     102, 255, 110, 13, 25, 92, 193, 113, 60, 75, 72, 69, 119, 153, 100, 63, 7,
                     123, 200);
    am_array *f = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 3, 1), 0, 255, 13, 100, 7, 200);
    TU_ASSERT_VALUES(invoke1("_image_resize", f, "size", "(5, 4)"), AM_SHAPE(4, 5, 1), 1e-5, 0,
                     102, 255, 109.8, 13, 25, 92.2, 193, 113.05, 59.75, 75, 72.6, 69, 119.55,
                     153.25, 100, 62.8, 7, 122.8, 200);
    TU_ASSERT_VALUES(invoke1("_image_resize", u, "size|interp", "(5, 4)|0"), AM_SHAPE(4, 5, 1),
                     0, 0, 0, 255, 255, 13, 0, 0, 255, 255, 13, 100, 100, 7, 7, 200, 100, 100, 7,
                     7, 200);
    /* Downscaled: (0.25, 0.5) and (1.75, 0.5) between the rows. */
    TU_ASSERT_VALUES(invoke1("_image_resize", u, "size", "(2, 1)"), AM_SHAPE(1, 2, 1), 0, 70,
                     113);
    /* keep_ratio: the short edge (height 2) becomes 3, the width 3 * 3 / 2 = 4. */
    am_array *k = invoke1("_image_resize", f, "size|keep_ratio", "3|True");
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    CU_ASSERT(am_shape_equal(am_array_shape(k), AM_SHAPE(3, 4, 1)));
    am_scope_end();
}

static void test_errors(void)
{
    am_scope_begin();
    am_array *x2 = am_zeros(AM_SHAPE(2, 5), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(invoke1("_image_to_tensor", x2, "", ""), AM_ERR_SHAPE,
                    "(height, width, channels)");
    TU_ASSERT_FAILS(invoke1("_image_flip_left_right", am_zeros(AM_SHAPE(1, 2, 2, 3),
                                                               AM_DTYPE_FLOAT32), "", ""),
                    AM_ERR_SHAPE, "got 4 axes");
    TU_ASSERT_FAILS(invoke1("_image_flip_top_bottom", x2, "", ""), AM_ERR_SHAPE, "got 2 axes");
    am_array *c4 = am_zeros(AM_SHAPE(4, 2, 2), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(invoke1("_image_normalize", c4, "mean", "0.5"), AM_ERR_SHAPE,
                    "1 or 3 elements, got 4");
    am_array *c3 = am_zeros(AM_SHAPE(3, 2, 2), AM_DTYPE_FLOAT32);
    /* MXNet's default mean (0, 0, 0, 0) fits no input: a caller names it. */
    TU_ASSERT_FAILS(invoke1("_image_normalize", c3, "", ""), AM_ERR_ARG,
                    "mean must have 1 or 3 elements, got 4");
    TU_ASSERT_FAILS(invoke1("_image_normalize", c3, "mean|std", "0|(1, 2)"), AM_ERR_ARG,
                    "std must have 1 or 3 elements, got 2");
    TU_ASSERT_FAILS(invoke1("_image_normalize", am_zeros(AM_SHAPE(3, 2, 2), AM_DTYPE_UINT8),
                            "mean", "0"),
                    AM_ERR_DTYPE, "uint8 input not supported");
    am_array *im = am_zeros(AM_SHAPE(4, 5, 3), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(invoke1("_image_crop", im, "x|y|width|height", "3|0|3|2"), AM_ERR_ARG,
                    "does not fit in an image of height 4 and width 5");
    TU_ASSERT_FAILS(invoke1("_image_crop", im, "x|y|width|height", "0|0|0|2"), AM_ERR_ARG,
                    "must be greater than 0");
    TU_ASSERT_FAILS(invoke1("_image_crop", am_zeros(AM_SHAPE(4, 5, 2), AM_DTYPE_FLOAT32),
                            "x|y|width|height", "0|0|1|1"),
                    AM_ERR_SHAPE, "1 or 3 channels, got 2");
    TU_ASSERT_FAILS(invoke1("_image_adjust_lighting", im, "alpha", "(0.1, 0.2)"), AM_ERR_ARG,
                    "alpha must have 3 elements");
    TU_ASSERT_FAILS(invoke1("_image_adjust_lighting", am_zeros(AM_SHAPE(4, 5, 4),
                                                               AM_DTYPE_FLOAT32),
                            "alpha", "(0.1, 0.2, 0.3)"),
                    AM_ERR_SHAPE, "1 or 3 channels, got 4");
    TU_ASSERT_FAILS(invoke1("_image_resize", im, "size|interp", "(2, 2)|2"),
                    AM_ERR_UNSUPPORTED, "interp=2 is not supported");
    TU_ASSERT_FAILS(invoke1("_image_resize", im, "size", "(0, 2)"), AM_ERR_ARG,
                    "size must be greater than 0");
    TU_ASSERT_FAILS(invoke1("_image_resize", im, "", ""), AM_ERR_ARG,
                    "size must have 1 or 2 elements, got 0");
    TU_ASSERT_FAILS(invoke1("_image_resize", am_zeros(AM_SHAPE(4, 5, 3), AM_DTYPE_INT32), "size",
                            "(2, 2)"),
                    AM_ERR_DTYPE, "int32 input not supported");
    am_scope_end();
}

CU_TestInfo am_tests_ops_image[] = {
    {"to_tensor: HWC and NHWC to CHW float32 / 255", test_to_tensor},
    {"normalize: per-channel and scalar mean and std, gradient 1 / std", test_normalize},
    {"flip_left_right, flip_top_bottom: values, uint8, gradient", test_flips},
    {"crop: HWC and NHWC areas, gradient in zeros", test_crop},
    {"adjust_lighting: MXNet's values, uint8 saturation, gradient", test_adjust_lighting},
    {"resize: OpenCV's bilinear (uint8 fixed point, float) and nearest, keep_ratio",
     test_resize},
    {"bad input fails with a clear message", test_errors},
    CU_TEST_INFO_NULL};
