/* The ops_nn2 suite: LRN, amp_cast, amp_multicast and ROIPooling against values printed by
 * MXNet 1.9.1 (outputs and input gradients), dtype rules, and errors for bad input. */
#include "test_util.h"

/* Two axes for am_moments (a compound literal's comma would split a macro argument). */
#define AX2(a, b) ((const int[]){(a), (b)})

/* off + scale * (0, 1, 2, ...) in shape s. */
static am_array *iota(am_shape s, am_dtype t, double scale, double off)
{
    am_array *x = am_empty(s, t);
    am_view v = am_array_view(x);
    for (int64_t i = 0; i < am_view_size(&v); i++) am_view_set(&v, i, off + scale * (double)i);
    return x;
}

static void test_lrn_values(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(1, 5, 2, 1), AM_DTYPE_FLOAT32, 0.3, -1);
    /* MXNet 1.9.1, LRN(x, nsize=3) with the default alpha, beta, knorm. */
    TU_ASSERT_VALUES(am_lrn(x, 3, 1e-4, 0.75, 2), AM_SHAPE(1, 5, 2, 1), 1e-6,
                     -0.5945949554443359, -0.41621989011764526, -0.23783783614635468,
                     -0.05945980176329613, 0.11891946941614151, 0.29729628562927246,
                     0.47566714882850647, 0.6540283560752869, 0.8324178457260132,
                     1.0107743740081787);
    /* Even nsize: channel c's window is [c - 1, c]; 2.25^-0.75 = 0.5443311 at channel 0. */
    am_array *y = tu_invoke1("LRN", x, "nsize|alpha", "2|0.5");
    am_view v = am_array_view(y);
    CU_ASSERT(fabs(am_view_get(&v, 0) + 0.5443311) < 1e-6);
    /* Its gradient, from MXNet with ograd = linspace(-1, 1, 10). */
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *z = am_lrn(x, 3, 0.5, 0.9, 1.5);
    am_autograd_end();
    am_array *og = iota(AM_SHAPE(1, 5, 2, 1), AM_DTYPE_FLOAT32, 2.0 / 9, -1);
    CU_ASSERT_EQUAL(am_backward_at(z, og, false, AM_HERE), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(1, 5, 2, 1), 1e-6, -0.4878804385662079,
                     -0.4637942314147949, -0.29180482029914856, -0.20753523707389832,
                     -0.08007323741912842, 0.0423806756734848, 0.09282555431127548,
                     0.09274107217788696, 0.2672240138053894, 0.23036757111549377);
    am_scope_end();
}

static void test_amp(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 1.5, -2.25, 3);
    am_array *d = am_amp_cast(x, AM_DTYPE_FLOAT64);
    CU_ASSERT_EQUAL(am_array_dtype(d), AM_DTYPE_FLOAT64);
    TU_ASSERT_VALUES(d, AM_SHAPE(3), 0, 1.5, -2.25, 3);
    am_array *i = am_amp_cast(x, AM_DTYPE_INT32);
    CU_ASSERT_EQUAL(am_array_dtype(i), AM_DTYPE_INT32);
    TU_ASSERT_VALUES(i, AM_SHAPE(3), 0, 1, -2, 3);
    /* Only float32, float16 and bfloat16 data is cast: float64 and ints pass. */
    CU_ASSERT_EQUAL(am_array_dtype(am_amp_cast(d, AM_DTYPE_FLOAT32)), AM_DTYPE_FLOAT64);
    CU_ASSERT_EQUAL(am_array_dtype(am_amp_cast(i, AM_DTYPE_FLOAT32)), AM_DTYPE_INT32);
    CU_ASSERT_EQUAL(am_array_dtype(tu_invoke1("amp_cast", d, "dtype", "float16")),
                    AM_DTYPE_FLOAT64);
    am_array *h = tu_invoke1("amp_cast", x, "dtype", "float16");
    CU_ASSERT_EQUAL(am_array_dtype(h), AM_DTYPE_FLOAT16);
    TU_ASSERT_VALUES(h, AM_SHAPE(3), 0, 1.5, -2.25, 3);
    CU_ASSERT_EQUAL(am_array_dtype(am_amp_cast(h, AM_DTYPE_FLOAT32)), AM_DTYPE_FLOAT32);
    /* amp_multicast of float16 and float32: both float32, or both float16 when narrow. */
    am_array *pair[2] = {h, x}, *cast[2] = {0};
    CU_ASSERT_EQUAL(am_amp_multicast(pair, 2, false, cast), AM_OK);
    CU_ASSERT(am_array_dtype(cast[0]) == AM_DTYPE_FLOAT32 &&
              am_array_dtype(cast[1]) == AM_DTYPE_FLOAT32);
    CU_ASSERT_EQUAL(am_amp_multicast(pair, 2, true, cast), AM_OK);
    CU_ASSERT(am_array_dtype(cast[0]) == AM_DTYPE_FLOAT16 &&
              am_array_dtype(cast[1]) == AM_DTYPE_FLOAT16);
    TU_ASSERT_FAILS(tu_invoke1("amp_cast", x, "dtype", "float128"), AM_ERR_FORMAT, "dtype");
    /* The gradient comes back in the input's dtype. */
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *s = am_sum(am_mul_scalar(am_amp_cast(x, AM_DTYPE_FLOAT64), 3), NULL, 0, false);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(s), AM_OK);
    CU_ASSERT_EQUAL(am_array_dtype(am_grad(x)), AM_DTYPE_FLOAT32);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(3), 0, 3, 3, 3);
    /* amp_multicast: float32 with float64 or int32 is left alone, as in MXNet 1.9.1. */
    am_array *m[3] = {x, d, i}, *o[3] = {0};
    CU_ASSERT_EQUAL(am_amp_multicast(m, 3, false, o), AM_OK);
    for (int k = 0; k < 3; k++) {
        CU_ASSERT_EQUAL(am_array_dtype(o[k]), am_array_dtype(m[k]));
        CU_ASSERT(tu_allclose(o[k], m[k], 0));
    }
    TU_ASSERT_STATUS(am_amp_multicast(m, 0, false, o), AM_ERR_ARG, "amp_multicast");
    am_array *r[2];
    TU_ASSERT_STATUS(tu_invoke("amp_multicast", m, 1, "num_outputs", "0", r, 1), AM_ERR_ARG,
                     "num_outputs=0");
    am_scope_end();
}

static void test_roi_values(void)
{
    am_scope_begin();
    am_array *x = iota(AM_SHAPE(1, 1, 8, 6), AM_DTYPE_FLOAT32, 1, 0);
    am_array *r = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 5), 0, 0, 0, 4, 4);
    /* MXNet's documented example. */
    TU_ASSERT_VALUES(am_roi_pooling(x, r, 2, 2, 1.0), AM_SHAPE(1, 1, 2, 2), 0, 14, 16, 26, 28);
    TU_ASSERT_VALUES(am_roi_pooling(x, r, 2, 2, 0.7), AM_SHAPE(1, 1, 2, 2), 0, 7, 9, 19, 21);
    TU_ASSERT_VALUES(am_roi_pooling(x, r, 3, 2, 0.7), AM_SHAPE(1, 1, 3, 2), 0, 7, 9, 13, 15, 19,
                     21);
    /* A malformed roi (x2 < x1) pools the one pixel at its start; gradients as MXNet's. */
    am_array *rr = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 5), 0, 3, 3, 1, 1, 0, 1, 1, 4, 5);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *y = am_roi_pooling(x, rr, 2, 2, 1.0);
    am_array *s = am_sum(y, NULL, 0, false);
    am_autograd_end();
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 1, 2, 2), 0, 21, 21, 21, 21, 20, 22, 32, 34);
    CU_ASSERT_EQUAL(am_backward(s), AM_OK);
    double g[48] = {0};
    g[3 * 6 + 2] = 1, g[3 * 6 + 3] = 4, g[3 * 6 + 4] = 1, g[5 * 6 + 2] = 1, g[5 * 6 + 4] = 1;
    CU_ASSERT(tu_values_are(am_grad(x), AM_SHAPE(1, 1, 8, 6), g, 48, 0));
    /* Several batch entries and channels: roi 1 reads entry 1. */
    am_array *x2 = iota(AM_SHAPE(2, 2, 2, 2), AM_DTYPE_FLOAT64, 1, 0);
    am_array *r2 = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 5), 1, 0, 0, 1, 1, 0, 1, 0, 1, 0);
    TU_ASSERT_VALUES(am_roi_pooling(x2, r2, 1, 1, 1.0), AM_SHAPE(2, 2, 1, 1), 0, 11, 15, 1, 5);
    am_scope_end();
}

static void test_errors(void)
{
    am_scope_begin();
    am_dtype f = AM_DTYPE_FLOAT32;
    TU_ASSERT_FAILS(am_lrn(am_zeros(AM_SHAPE(4), f), 3, 1e-4, 0.75, 2), AM_ERR_SHAPE,
                    "LRN: data (4,) needs a channel axis");
    TU_ASSERT_FAILS(am_lrn(am_zeros(AM_SHAPE(2, 4), f), 0, 1e-4, 0.75, 2), AM_ERR_ARG,
                    "nsize=0");
    TU_ASSERT_FAILS(tu_invoke1("LRN", am_zeros(AM_SHAPE(2, 4), f), "alpha", "0.1"), AM_ERR_ARG,
                    "nsize");
    TU_ASSERT_FAILS(am_lrn(am_zeros(AM_SHAPE(2, 4), AM_DTYPE_INT32), 3, 1e-4, 0.75, 2),
                    AM_ERR_DTYPE, "int32");
    am_array *x = am_zeros(AM_SHAPE(2, 1, 4, 4), f);
    TU_ASSERT_FAILS(am_roi_pooling(x, am_zeros(AM_SHAPE(3, 4), f), 2, 2, 1), AM_ERR_SHAPE,
                    "ROIPooling: data (2, 1, 4, 4) must be (N, C, H, W) and rois (3, 4) (R, 5)");
    TU_ASSERT_FAILS(am_roi_pooling(x, am_zeros(AM_SHAPE(3, 5), f), 0, 2, 1), AM_ERR_ARG,
                    "pooled_size");
    TU_ASSERT_FAILS(am_roi_pooling(x, am_zeros(AM_SHAPE(3, 5), f), 2, 2, 2), AM_ERR_ARG,
                    "spatial_scale=2 is outside [0, 1]");
    TU_ASSERT_FAILS(am_roi_pooling(x, am_zeros(AM_SHAPE(3, 5), AM_DTYPE_FLOAT64), 2, 2, 1),
                    AM_ERR_DTYPE, "float64");
    am_array *bad = tu_array(f, AM_SHAPE(1, 5), 2, 0, 0, 1, 1);
    TU_ASSERT_FAILS(am_roi_pooling(x, bad, 2, 2, 1), AM_ERR_ARG,
                    "rois[0] names batch entry 2 of data with 2");
    am_scope_end();
}

/* ---- symbolic gradients -------------------------------------------------------------- */

/* Every differentiable op of helper E's families in one model: attention, moments,
 * div_sqrt_dim, resizing, LRN, ROIPooling, ROIAlign and the AMP casts.  in: qkv, queries,
 * keys_values, image, rois. */
static int nn2_model(am_array *const *in, am_array **heads)
{
    const int64_t H = 2;
    am_array *s = am_softmax(am_interleaved_matmul_selfatt_qk(in[0], H), -1);
    am_array *o = am_interleaved_matmul_selfatt_valatt(in[0], s, H);
    am_array *e = am_interleaved_matmul_encdec_valatt(
        in[2], am_interleaved_matmul_encdec_qk(in[1], in[2], H), H);
    am_array *mean = NULL, *var = NULL, *cast[2] = {0};
    am_array *two[2] = {am_div_sqrt_dim(o), e};
    if (am_amp_multicast(two, 2, false, cast) != AM_OK) return 0;
    if (am_moments(am_amp_cast(cast[0], AM_DTYPE_FLOAT32), AX2(0, 2), 2, true, &mean, &var) !=
        AM_OK)
        return 0;
    am_array *img = am_bilinear_resize_2d(in[3], 6, 7, false);
    img = am_lrn(am_adaptive_avg_pooling_2d(img, 5, 5), 3, 0.5, 0.75, 1.5);
    heads[0] = am_broadcast_add(am_broadcast_mul(cast[0], var), mean);
    heads[1] = cast[1];
    heads[2] = am_roi_pooling(img, in[4], 2, 2, 1.0);
    heads[3] = am_roi_align(img, in[4], 2, 3, 0.8, -1, false);
    return heads[0] && heads[1] && heads[2] && heads[3] ? 4 : 0;
}

static void test_graph_gradient(void)
{
    am_scope_begin();
    static const char *names[] = {"qkv", "queries", "keys_values", "image", "rois"};
    am_shape shapes[] = {AM_SHAPE(3, 2, 12), AM_SHAPE(2, 2, 4), AM_SHAPE(4, 2, 8),
                         AM_SHAPE(2, 3, 4, 5), AM_SHAPE(3, 5)};
    am_array *vars[5], *val[5], *x[5], *heads[4], *want[8], *got[8], *hg[4];
    am_seed(5);
    for (int i = 0; i < 5; i++) {
        vars[i] = am_var(names[i], shapes[i], AM_DTYPE_FLOAT32);
        val[i] = i < 4 ? tu_random(shapes[i], AM_DTYPE_FLOAT32, -1, 1)
                       : tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3, 5), 0, 0, 0, 3, 3, 1, 1, 2, 4, 4,
                                  1, 3, 1, 0, 4);
    }
    CU_ASSERT_EQUAL_FATAL(nn2_model(vars, heads), 4);
    am_graph *g = am_graph_create(heads, 4);
    am_graph *gg = am_graph_gradient(g, names, 4);
    if (!gg) printf("\n  am_graph_gradient: %s\n", am_last_error());
    CU_ASSERT_PTR_NOT_NULL_FATAL(gg);
    char *out_names[4];
    CU_ASSERT_EQUAL_FATAL(am_graph_list_outputs(g, out_names, 4), 4);
    const char *bn[9];
    char hg_names[4][256];
    am_array *bound[9];
    for (int i = 0; i < 5; i++) bn[i] = names[i], bound[i] = val[i];
    for (int h = 0; h < 4; h++) {
        snprintf(hg_names[h], sizeof(hg_names[h]), "%s_head_grad", out_names[h]);
        free(out_names[h]);
        hg[h] = tu_random(am_array_shape(heads[h]), AM_DTYPE_FLOAT32, -1, 1);
        bn[5 + h] = hg_names[h], bound[5 + h] = hg[h];
    }
    am_status st = am_graph_eval(gg, bn, bound, 9, true, got, 8);
    if (st != AM_OK) printf("\n  am_graph_eval: %s\n", am_last_error());
    CU_ASSERT_EQUAL_FATAL(st, AM_OK);
    /* The same eagerly under autograd. */
    for (int i = 0; i < 5; i++) {
        x[i] = am_copy(val[i]);
        if (i < 4) am_attach_grad(x[i], AM_GRAD_WRITE);
    }
    am_autograd_record_begin(true);
    CU_ASSERT_EQUAL_FATAL(nn2_model(x, want), 4);
    am_autograd_end();
    CU_ASSERT_EQUAL_FATAL(am_grad_of(want, hg, 4, x, 4, false, false, want + 4), AM_OK);
    for (int i = 0; i < 8; i++)
        if (!tu_allclose(got[i], want[i], 1e-5)) {
            printf("\n  output %d differs", i);
            CU_FAIL("graph and eager gradients differ");
        }
    /* Each input's gradient is non-trivial: the model is not vacuous. */
    for (int i = 4; i < 8; i++) {
        am_view v = am_array_view(got[i]);
        double m = 0;
        for (int64_t j = 0; j < am_view_size(&v); j++) m = fmax(m, fabs(am_view_get(&v, j)));
        CU_ASSERT(m > 1e-3);
    }
    am_graph_release(gg);
    am_graph_release(g);
    am_scope_end();
}

CU_TestInfo am_tests_ops_nn2[] = {
    {"LRN: MXNet's values and gradient", test_lrn_values},
    {"amp_cast and amp_multicast: dtypes, values, gradient", test_amp},
    {"ROIPooling: MXNet's values and gradients", test_roi_values},
    {"LRN and ROIPooling errors", test_errors},
    {"symbolic gradients of the attention, resize and nn2 ops agree with autograd",
     test_graph_gradient},
    CU_TEST_INFO_NULL,
};
