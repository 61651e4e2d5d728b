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

/* An (2, 2, 3) test image and MXNet 1.9.1's outputs with each draw pinned (min == max). */
static const double aug_x[] = {10, 200, 35, 250, 0, 128, 77, 77, 77, 5, 60, 240};

static void check_pinned(const char *op, const char *vals, am_dtype dt, const double *want,
                         double tol)
{
    am_array *x = tu_array_from(dt, AM_SHAPE(2, 2, 3), aug_x, 12);
    am_array *y = invoke1(op, x, "min_factor|max_factor", vals);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    CU_ASSERT_EQUAL(am_array_dtype(y), dt);
    bool ok = tu_values_are(y, AM_SHAPE(2, 2, 3), want, 12, tol);
    if (!ok) printf("  (%s %s, %s)\n", op, vals, am_dtype_name(dt));
    CU_ASSERT(ok);
}

static void test_random_pinned(void)
{
    am_scope_begin();
    static const double b8[] = {13, 255, 45, 255, 0, 166, 100, 100, 100, 6, 78, 255};
    static const double b32[] = {13, 260, 45.5, 325, 0, 166.4, 100.1, 100.1, 100.1, 6.5, 78, 312};
    static const double c8[] = {41, 155, 56, 185, 35, 112, 81, 81, 81, 38, 71, 179};
    static const double c32[] = {41.4797, 155.4797, 56.4797, 185.4797, 35.4797, 112.2797,
                                 81.6797, 81.6797, 81.6797, 38.4797, 71.4797, 179.4797};
    static const double s8[] = {13, 255, 50, 255, 0, 184, 111, 111, 111, 0, 76, 255};
    static const double s32[] = {13.005, 298.005, 50.505, 367.704, -7.296, 184.704,
                                 111.111, 111.111, 111.111, -6.18, 76.32, 346.32};
    static const double h8[] = {9, 136, 200, 250, 172, 0, 77, 77, 77, 232, 4, 240};
    static const double h32[] = {10, 137, 200, 250, 172, 0, 77, 77, 77, 232, 5, 240};
    check_pinned("_image_random_brightness", "1.3|1.3", AM_DTYPE_UINT8, b8, 0);
    check_pinned("_image_random_brightness", "1.3|1.3", AM_DTYPE_FLOAT32, b32, 1e-6);
    check_pinned("_image_random_contrast", "0.6|0.6", AM_DTYPE_UINT8, c8, 0);
    check_pinned("_image_random_contrast", "0.6|0.6", AM_DTYPE_FLOAT32, c32, 1e-6);
    check_pinned("_image_random_saturation", "1.5|1.5", AM_DTYPE_UINT8, s8, 0);
    check_pinned("_image_random_saturation", "1.5|1.5", AM_DTYPE_FLOAT32, s32, 1e-6);
    check_pinned("_image_random_hue", "0.2|0.2", AM_DTYPE_UINT8, h8, 0);
    check_pinned("_image_random_hue", "0.2|0.2", AM_DTYPE_FLOAT32, h32, 1e-5);
    /* One channel: contrast blends with the plain mean (116.25). */
    am_array *g = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2, 1), 10, 200, 35, 250);
    TU_ASSERT_VALUES(invoke1("_image_random_contrast", g, "min_factor|max_factor", "0.5|0.5"),
                     AM_SHAPE(2, 2, 1), 1e-6, 66.875, 161.875, 79.375, 186.875);
    /* Zero jitter and zero lighting noise leave the image as it is. */
    am_array *x = tu_array_from(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2, 3), aug_x, 12);
    CU_ASSERT(tu_values_are(invoke1("_image_random_color_jitter", x,
                                    "brightness|contrast|saturation|hue", "0|0|0|0"),
                            AM_SHAPE(2, 2, 3), aug_x, 12, 0));
    CU_ASSERT(tu_values_are(invoke1("_image_random_lighting", x, "alpha_std", "0"),
                            AM_SHAPE(2, 2, 3), aug_x, 12, 0));
    am_scope_end();
}

/* Draws: flips happen about half the time, factors stay in range with the right mean,
 * lighting alphas spread as N(0, alpha_std), jitter factors stay in [1 - v, 1 + v]. */
static void to_double(am_array *y, double *v, int n)
{
    for (int i = 0; i < n; i++) v[i] = y ? am_item_at(y, i, AM_HERE) : NAN;
}

static void test_random_statistics(void)
{
    am_seed(7);
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 2, 1), 1, 2);
    int flips_lr = 0, flips_tb = 0;
    double fsum = 0, fmin = 1e9, fmax = -1e9, jmin = 1e9, jmax = -1e9, lsum = 0, lsq = 0;
    am_array *col = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 1, 1), 1, 2);
    am_array *one = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 3), 100, 100, 100);
    const int n = 400;
    for (int i = 0; i < n; i++) {
        double v[3];
        am_array *y = invoke1("_image_random_flip_left_right", x, "", "");
        to_double(y, v, 2);
        flips_lr += v[0] == 2;
        y = invoke1("_image_random_flip_top_bottom", col, "", "");
        to_double(y, v, 2);
        flips_tb += v[0] == 2;
        y = invoke1("_image_random_brightness", one, "min_factor|max_factor", "0.5|1.5");
        to_double(y, v, 3);
        double f = v[0] / 100;
        fsum += f, fmin = f < fmin ? f : fmin, fmax = f > fmax ? f : fmax;
        y = invoke1("_image_random_color_jitter", one, "brightness|contrast|saturation|hue",
                    "0.25|0|0|0");
        to_double(y, v, 3);
        f = v[0] / 100;
        jmin = f < jmin ? f : jmin, jmax = f > jmax ? f : jmax;
        /* For (100, 100, 100) the red offset is eig row 0 . alpha: a sum of normals. */
        y = invoke1("_image_random_lighting", one, "alpha_std", "0.1");
        to_double(y, v, 3);
        lsum += v[0] - 100, lsq += (v[0] - 100) * (v[0] - 100);
    }
    CU_ASSERT(flips_lr > n * 0.4 && flips_lr < n * 0.6);
    CU_ASSERT(flips_tb > n * 0.4 && flips_tb < n * 0.6);
    CU_ASSERT(fmin >= 0.5 && fmax <= 1.5 && fmin < 0.55 && fmax > 1.45);
    CU_ASSERT(fabs(fsum / n - 1) < 0.05);
    CU_ASSERT(jmin >= 0.75 - 1e-6 && jmax <= 1.25 + 1e-6 && jmin < 0.8 && jmax > 1.2);
    /* Var = 0.1^2 * sum_j eig[0][j]^2 = 0.01 * (31.47^2 + 3.448^2 + 0.4602^2) = 10.03. */
    double mean = lsum / n, var = lsq / n - mean * mean;
    CU_ASSERT(fabs(mean) < 0.5);
    CU_ASSERT(var > 8 && var < 12.5);
    am_scope_end();
}

static void test_c_functions(void)
{
    am_scope_begin();
    am_array *u = tu_array(AM_DTYPE_UINT8, AM_SHAPE(2, 3, 1), 0, 255, 13, 100, 7, 200);
    TU_ASSERT_VALUES(am_image_to_tensor(u), AM_SHAPE(1, 2, 3), 1e-6, 0, 1, 13 / 255., 100 / 255.,
                     7 / 255., 200 / 255.);
    TU_ASSERT_VALUES(am_image_flip(u, true), AM_SHAPE(2, 3, 1), 0, 13, 255, 0, 200, 7, 100);
    TU_ASSERT_VALUES(am_image_flip(u, false), AM_SHAPE(2, 3, 1), 0, 100, 7, 200, 0, 255, 13);
    TU_ASSERT_VALUES(am_image_crop(u, 1, 1, 2, 1), AM_SHAPE(1, 2, 1), 0, 7, 200);
    TU_ASSERT_VALUES(am_image_resize(u, 2, 1, 1), AM_SHAPE(1, 2, 1), 0, 70, 113);
    am_array *f = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 2), 1, 3);
    TU_ASSERT_VALUES(am_image_normalize(f, (const double[]){1}, 1, (const double[]){0.5}, 1),
                     AM_SHAPE(1, 1, 2), 1e-6, 0, 4);
    TU_ASSERT_FAILS(am_image_normalize(f, (const double[]){1}, 0, (const double[]){1}, 1),
                    AM_ERR_ARG, "mean needs 1 to");
    am_array *p = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 1, 3), 0, 0, 0);
    TU_ASSERT_VALUES(am_image_adjust_lighting(p, ((const double[]){0.1, 0, 0})), AM_SHAPE(1, 1, 3),
                     1e-5, 55.46 * -0.5675 * 0.1, 55.46 * -0.5808 * 0.1, 55.46 * -0.5836 * 0.1);
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
    TU_ASSERT_FAILS(invoke1("_image_random_brightness", im, "min_factor|max_factor", "1.5|0.5"),
                    AM_ERR_ARG, "min_factor <= max_factor");
    TU_ASSERT_FAILS(invoke1("_image_random_hue", im, "min_factor|max_factor", "-1|0.5"),
                    AM_ERR_ARG, "min_factor=-1");
    TU_ASSERT_FAILS(invoke1("_image_random_flip_left_right", x2, "", ""), AM_ERR_SHAPE,
                    "got 2 axes");
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
    {"random ops with the draw pinned match MXNet", test_random_pinned},
    {"random ops' draws: frequencies, ranges, moments", test_random_statistics},
    {"the C functions", test_c_functions},
    {"bad input fails with a clear message", test_errors},
    CU_TEST_INFO_NULL};
