/* The ops_nn suite: softmax, log_softmax, Dropout and LayerNorm against hand-checked
 * values and naive double references, edge cases and errors. */
#include "test_util.h"

/* softmax of x along axis in double, with temperature t. */
static am_array *naive_softmax(am_array *x, int axis, double t, bool log_out)
{
    am_view v = am_array_view(x);
    am_array *y = am_zeros(am_array_shape(x), AM_DTYPE_FLOAT64);
    am_view w = am_array_view(y);
    int64_t outer = 1, m = v.dim[axis], inner = 1;
    for (int i = 0; i < axis; i++) outer *= v.dim[i];
    for (int i = axis + 1; i < v.ndim; i++) inner *= v.dim[i];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t c = 0; c < inner; c++) {
            int64_t base = o * m * inner + c;
            double mx = -INFINITY, s = 0;
            for (int64_t r = 0; r < m; r++) mx = fmax(mx, am_view_get(&v, base + r * inner));
            for (int64_t r = 0; r < m; r++) s += exp((am_view_get(&v, base + r * inner) - mx) / t);
            for (int64_t r = 0; r < m; r++) {
                double d = (am_view_get(&v, base + r * inner) - mx) / t;
                am_view_set(&w, base + r * inner, log_out ? d - log(s) : exp(d) / s);
            }
        }
    return y;
}

/* ---- softmax, log_softmax ------------------------------------------------------------ */

static void test_softmax_values(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 1, 2, 3);
    TU_ASSERT_VALUES(am_softmax(x, -1), AM_SHAPE(3), 1e-6, 0.09003057, 0.24472847, 0.66524096);
    TU_ASSERT_VALUES(am_log_softmax(x, 0), AM_SHAPE(3), 1e-6, -2.40760596, -1.40760596,
                     -0.40760596);
    /* temperature 2 is softmax of (0.5, 1, 1.5). */
    TU_ASSERT_VALUES(am_softmax_at(x, 0, 2.0, AM_HERE), AM_SHAPE(3), 1e-6, 0.18632372,
                     0.30719589, 0.50648039);
    TU_ASSERT_VALUES(tu_invoke1("softmax", x, "temperature", "2.0"), AM_SHAPE(3), 1e-6, 0.18632372,
                     0.30719589, 0.50648039);
    TU_ASSERT_VALUES(am_log_softmax_at(x, 0, 2.0, AM_HERE), AM_SHAPE(3), 1e-6, -1.68026966,
                     -1.18026966, -0.68026966);
    /* Large inputs do not overflow; equal inputs split evenly. */
    am_array *big = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 3), 1000, 1001, 1002, -1e30, -1e30,
                             -1e30);
    TU_ASSERT_VALUES(am_softmax(big, 1), AM_SHAPE(2, 3), 1e-6, 0.09003057, 0.24472847, 0.66524096,
                     1.0 / 3, 1.0 / 3, 1.0 / 3);
    TU_ASSERT_VALUES(am_log_softmax(big, 1), AM_SHAPE(2, 3), 1e-6, -2.40760596, -1.40760596,
                     -0.40760596, -log(3.0), -log(3.0), -log(3.0));
    am_array *huge = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 800, 0);
    TU_ASSERT_VALUES(am_log_softmax(huge, 0), AM_SHAPE(2), 1e-12, 0, -800);
    /* axis 0 of [[1, 2, 3], [4, 5, 6]]: every column is softmax(0, 3). */
    am_array *m = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
    double lo = 1 / (1 + exp(3.0)), hi = 1 - lo;
    TU_ASSERT_VALUES(am_softmax(m, 0), AM_SHAPE(2, 3), 1e-6, lo, lo, lo, hi, hi, hi);
    TU_ASSERT_VALUES(am_softmax(m, -2), AM_SHAPE(2, 3), 1e-6, lo, lo, lo, hi, hi, hi);
    TU_ASSERT_VALUES(am_softmax(tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(1), 5), 0), AM_SHAPE(1), 0, 1);
    CU_ASSERT(tu_values_are(am_softmax(am_zeros(AM_SHAPE(0, 4), AM_DTYPE_FLOAT32), 1),
                            AM_SHAPE(0, 4), NULL, 0, 0));
    /* dtype overrides the output type. */
    am_array *d = tu_invoke1("softmax", x, "dtype", "float64");
    CU_ASSERT_EQUAL(am_array_dtype(d), AM_DTYPE_FLOAT64);
    TU_ASSERT_VALUES(d, AM_SHAPE(3), 1e-7, 0.09003057, 0.24472847, 0.66524096);
    am_scope_end();
}

static void test_softmax_reference(void)
{
    am_scope_begin();
    static const struct { am_shape s; int axis; double t; } cases[] = {
        {{2, {7, 13}}, 1, 1}, {{2, {7, 13}}, 0, 1}, {{3, {2, 3, 300}}, 1, 1},
        {{3, {4, 5, 6}}, 2, 0.5}, {{3, {4, 5, 6}}, 0, 3}, {{1, {40000}}, 0, 1},
        {{2, {300, 200}}, 0, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (int lg = 0; lg < 2; lg++) {
            am_array *x = tu_random(cases[i].s, AM_DTYPE_FLOAT32, -10, 10);
            am_array *y = lg ? am_log_softmax_at(x, cases[i].axis, cases[i].t, AM_HERE)
                             : am_softmax_at(x, cases[i].axis, cases[i].t, AM_HERE);
            am_array *want = naive_softmax(x, cases[i].axis, cases[i].t, lg);
            if (!tu_allclose(y, want, 2e-5)) printf("  (case %zu, log %d)\n", i, lg);
            CU_ASSERT(tu_allclose(y, want, 2e-5));
            if (lg) continue;
            /* Along the axis every slice sums to 1. */
            am_view v = am_array_view(y);
            double total = 0;
            for (int64_t k = 0; k < am_view_size(&v); k++) total += am_view_get(&v, k);
            int64_t slices = am_array_size(y) / cases[i].s.dim[cases[i].axis];
            CU_ASSERT(fabs(total - (double)slices) < 1e-4 * (double)slices);
        }
    am_scope_end();
}

static void test_softmax_length(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 4), 1, 2, 3, 4, 1, 1, 1, 1);
    am_array *len = tu_array(AM_DTYPE_INT32, AM_SHAPE(2), 2, 4);
    am_array *in[2] = {x, len}, *y = NULL;
    double a = 1 / (1 + exp(1.0)), b = 1 - a;
    CU_ASSERT_EQUAL(tu_invoke("softmax", in, 2, "use_length", "True", &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 4), 1e-6, a, b, 0, 0, 0.25, 0.25, 0.25, 0.25);
    CU_ASSERT_EQUAL(tu_invoke("log_softmax", in, 2, "use_length", "True", &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 4), 1e-6, log(a), log(b), 0, 0, -log(4.0), -log(4.0),
                     -log(4.0), -log(4.0));
    /* Along axis 0 with float lengths: column 0 uses all 3 rows, column 1 only one. */
    am_array *c = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3, 2), 1, 5, 2, 6, 3, 7);
    am_array *cl = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 3, 1);
    am_array *cin[2] = {c, cl};
    CU_ASSERT_EQUAL(tu_invoke("softmax", cin, 2, "axis|use_length", "0|True", &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(3, 2), 1e-6, 0.09003057, 1, 0.24472847, 0, 0.66524096, 0);
    /* A zero length leaves the row all zeros. */
    am_array *z = tu_array(AM_DTYPE_INT64, AM_SHAPE(2), 0, 1);
    am_array *zin[2] = {x, z};
    CU_ASSERT_EQUAL(tu_invoke("softmax", zin, 2, "use_length", "True", &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(2, 4), 0, 0, 0, 0, 0, 1, 0, 0, 0);

    am_array *too_long = tu_array(AM_DTYPE_INT32, AM_SHAPE(2), 5, 1);
    am_array *tin[2] = {x, too_long};
    TU_ASSERT_FAILS(tu_invoke("softmax", tin, 2, "use_length", "True", &y, 1) == AM_OK, AM_ERR_ARG,
                    "softmax: length[0] = 5 is not an integer in [0, 4]");
    am_array *wrong = am_zeros(AM_SHAPE(4), AM_DTYPE_INT32);
    am_array *win[2] = {x, wrong};
    TU_ASSERT_FAILS(tu_invoke("softmax", win, 2, "use_length", "True", &y, 1) == AM_OK,
                    AM_ERR_SHAPE, "length (4,) must be (2,) (data (2, 4) without axis 1)");
    TU_ASSERT_FAILS(tu_invoke("softmax", in, 1, "use_length", "True", &y, 1) == AM_OK, AM_ERR_ARG,
                    "expects 2 inputs, got 1");
    am_scope_end();
}

static void test_softmax_errors(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_softmax(x, 2), AM_ERR_ARG,
                    "softmax: axis 2 is out of range for data (2, 3) at test_ops_nn.c");
    TU_ASSERT_FAILS(am_log_softmax(x, -3), AM_ERR_ARG, "log_softmax: axis -3 is out of range");
    TU_ASSERT_FAILS(am_softmax(am_zeros(AM_SHAPE(3), AM_DTYPE_INT32), 0), AM_ERR_DTYPE,
                    "int32 data not supported");
    TU_ASSERT_FAILS(tu_invoke1("softmax", x, "temperature", "-1"), AM_ERR_ARG,
                    "temperature must be positive");
    TU_ASSERT_FAILS(tu_invoke1("softmax", x, "dtype", "int32"), AM_ERR_DTYPE, "dtype int32");
    TU_ASSERT_FAILS(tu_invoke1("softmax", x, "dtype", "int16"), AM_ERR_FORMAT, "dtype");
    const am_op_def *op = am_op_find("softmax");
    CU_ASSERT_EQUAL(op->fuse, AM_FUSE_OPAQUE);
    void *a = am_attrs_parse(op, NULL, NULL, 0);
    char buf[64];
    CU_ASSERT_STRING_EQUAL(am_attr_format(&op->attrs[0], a, buf, sizeof(buf)), "-1");
    CU_ASSERT_STRING_EQUAL(am_attr_format(&op->attrs[1], a, buf, sizeof(buf)), "None");
    CU_ASSERT_STRING_EQUAL(am_attr_format(&op->attrs[2], a, buf, sizeof(buf)), "None");
    CU_ASSERT_STRING_EQUAL(am_attr_format(&op->attrs[3], a, buf, sizeof(buf)), "False");
    CU_ASSERT_EQUAL(am_op_num_inputs(op, a), 1);
    free(a);
    am_scope_end();
}

/* ---- Dropout ------------------------------------------------------------------------------ */

static void test_dropout_inference(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 1, -2, 3, 4);
    CU_ASSERT(!am_is_training());
    TU_ASSERT_VALUES(am_dropout(x, 0.5), AM_SHAPE(2, 2), 0, 1, -2, 3, 4);
    /* The hidden mask is ones; AM_REQ_ADD adds x and 1. */
    am_array *out[2] = {am_full(AM_SHAPE(2, 2), AM_DTYPE_FLOAT32, 10),
                        am_full(AM_SHAPE(1, 2), AM_DTYPE_FLOAT32, 10)};
    CU_ASSERT_EQUAL(tu_run_kernel("Dropout", "p|axes", "0.5|(0,)", &x, 1, out, AM_REQ_ADD, false),
                    AM_OK);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(2, 2), 0, 11, 8, 13, 14);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(1, 2), 0, 11, 11);
    CU_ASSERT_EQUAL(tu_run_kernel("Dropout", "p", "0.5", &x, 1, out, AM_REQ_WRITE, false), AM_OK);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(2, 2), 0, 1, -2, 3, 4);
    am_scope_end();
}

/* Fraction of zeros of y, and whether every other value is x * scale. */
static double zero_fraction(am_array *y, double scale, bool *scaled)
{
    am_view v = am_array_view(y);
    int64_t zeros = 0;
    *scaled = true;
    for (int64_t i = 0; i < am_view_size(&v); i++) {
        double e = am_view_get(&v, i);
        if (e == 0) zeros++;
        else *scaled &= fabs(e - scale) <= 1e-6 * scale;
    }
    return (double)zeros / (double)am_view_size(&v);
}

static void test_dropout_training(void)
{
    am_scope_begin();
    bool was = am_set_training(true), scaled;
    am_array *x = am_ones(AM_SHAPE(100000), AM_DTYPE_FLOAT32);
    am_seed(7);
    am_array *y = am_dropout(x, 0.3);
    /* 100000 draws: the zero fraction's deviation is 0.00145, so 0.01 is about 7 sigma. */
    CU_ASSERT(fabs(zero_fraction(y, 1 / 0.7, &scaled) - 0.3) < 0.01);
    CU_ASSERT(scaled);
    am_seed(7);
    CU_ASSERT(tu_allclose(am_dropout(x, 0.3), y, 0));
    am_seed(8);
    am_array *y8 = am_dropout(x, 0.3);
    int64_t differ = 0;
    for (int64_t i = 0; i < 100000; i++) differ += am_item(y8, i) != am_item(y, i);
    CU_ASSERT(differ > 10000); /* about 42% of the elements differ */
    am_array *d = am_ones(AM_SHAPE(100000), AM_DTYPE_FLOAT64);
    CU_ASSERT(fabs(zero_fraction(am_dropout(d, 0.75), 4, &scaled) - 0.75) < 0.01);
    CU_ASSERT(scaled);
    /* p = 0 keeps everything. */
    TU_ASSERT_VALUES(am_dropout(tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 5, 6), 0), AM_SHAPE(2),
                     0, 5, 6);
    /* out = x * mask, with the mask returned as output 1 (x = 2 everywhere). */
    am_array *two = am_full(AM_SHAPE(50, 40), AM_DTYPE_FLOAT32, 2);
    am_array *out[2] = {am_zeros(AM_SHAPE(50, 40), AM_DTYPE_FLOAT32),
                        am_zeros(AM_SHAPE(50, 40), AM_DTYPE_FLOAT32)};
    CU_ASSERT_EQUAL(tu_run_kernel("Dropout", "p", "0.4", &two, 1, out, AM_REQ_WRITE, true), AM_OK);
    am_view o = am_array_view(out[0]), m = am_array_view(out[1]);
    bool ok = true;
    for (int64_t i = 0; i < 2000; i++)
        ok &= am_view_get(&o, i) == (float)(2 * am_view_get(&m, i)) &&
              (am_view_get(&m, i) == 0 || fabs(am_view_get(&m, i) - 1 / 0.6) < 1e-6);
    CU_ASSERT(ok);
    am_set_training(was);
    am_scope_end();
}

static void test_dropout_axes_and_mode(void)
{
    am_scope_begin();
    am_array *x = am_ones(AM_SHAPE(200, 30), AM_DTYPE_FLOAT32);
    /* mode=always drops outside training; axes=(0,) shares a mask down each column. */
    am_array *y = tu_invoke1("Dropout", x, "p|mode|axes", "0.5|always|(0,)");
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    am_view v = am_array_view(y);
    bool shared = true;
    int zero_cols = 0;
    for (int64_t j = 0; j < 30; j++) {
        for (int64_t i = 1; i < 200; i++)
            shared &= am_view_get(&v, i * 30 + j) == am_view_get(&v, j);
        zero_cols += am_view_get(&v, j) == 0;
        shared &= am_view_get(&v, j) == 0 || am_view_get(&v, j) == 2;
    }
    CU_ASSERT(shared);
    CU_ASSERT(zero_cols > 0 && zero_cols < 30); /* fails with probability 2^-29 */
    /* The mask has size 1 on the axes; with AM_REQ_ADD both outputs accumulate. */
    am_array *t = am_full(AM_SHAPE(2, 3, 4), AM_DTYPE_FLOAT64, 3);
    am_array *out[2] = {am_ones(AM_SHAPE(2, 3, 4), AM_DTYPE_FLOAT64),
                        am_ones(AM_SHAPE(2, 1, 4), AM_DTYPE_FLOAT64)};
    CU_ASSERT_EQUAL(tu_run_kernel("Dropout", "p|axes", "0.5|(1,)", &t, 1, out, AM_REQ_ADD, true),
                    AM_OK);
    am_view o = am_array_view(out[0]), m = am_array_view(out[1]);
    bool ok = true;
    for (int64_t i = 0; i < 2; i++)
        for (int64_t j = 0; j < 3; j++)
            for (int64_t k = 0; k < 4; k++) {
                double mk = am_view_get(&m, i * 4 + k) - 1;
                ok &= (mk == 0 || mk == 2) && am_view_get(&o, (i * 3 + j) * 4 + k) == 1 + 3 * mk;
            }
    CU_ASSERT(ok);
    am_scope_end();
}

static void test_dropout_errors(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_dropout(x, 1.0), AM_ERR_ARG, "Dropout: p must be in [0, 1), got 1");
    TU_ASSERT_FAILS(am_dropout(x, -0.1), AM_ERR_ARG, "p must be in [0, 1)");
    TU_ASSERT_FAILS(am_dropout_at(x, 0.5, "sometimes", AM_HERE), AM_ERR_ARG,
                    "Dropout: mode 'sometimes' is not one of training, always at test_ops_nn.c");
    TU_ASSERT_FAILS(tu_invoke1("Dropout", x, "mode", "sometimes"), AM_ERR_FORMAT, "mode");
    TU_ASSERT_FAILS(tu_invoke1("Dropout", x, "axes", "(2,)"), AM_ERR_ARG,
                    "axes entry 2 is out of range for data (2, 3)");
    TU_ASSERT_FAILS(tu_invoke1("Dropout", x, "axes", "(1, -1)"), AM_ERR_ARG, "listed twice");
    TU_ASSERT_FAILS(am_dropout(am_zeros(AM_SHAPE(2), AM_DTYPE_INT64), 0.5), AM_ERR_DTYPE,
                    "int64 data not supported");
    const am_op_def *op = am_op_find("Dropout");
    CU_ASSERT(op->flags & AM_OP_RANDOM);
    CU_ASSERT_EQUAL(op->num_outputs, 2);
    void *a = am_attrs_parse(op, NULL, NULL, 0);
    CU_ASSERT_EQUAL(am_op_num_visible(op, a), 1);
    char buf[64];
    CU_ASSERT_STRING_EQUAL(am_attr_format(&op->attrs[0], a, buf, sizeof(buf)), "0.5");
    CU_ASSERT_STRING_EQUAL(am_attr_format(&op->attrs[1], a, buf, sizeof(buf)), "training");
    CU_ASSERT_STRING_EQUAL(am_attr_format(&op->attrs[2], a, buf, sizeof(buf)), "()");
    CU_ASSERT_STRING_EQUAL(am_attr_format(&op->attrs[3], a, buf, sizeof(buf)), "False");
    free(a);
    am_scope_end();
}

/* ---- LayerNorm ----------------------------------------------------------------------------- */

/* (x - mean) / sqrt(var + eps) * gamma + beta along axis, in double. */
static am_array *naive_layer_norm(am_array *x, am_array *g, am_array *b, int axis, double eps)
{
    am_view v = am_array_view(x), gv = am_array_view(g), bv = am_array_view(b);
    am_array *y = am_zeros(am_array_shape(x), AM_DTYPE_FLOAT64);
    am_view w = am_array_view(y);
    int64_t outer = 1, m = v.dim[axis], inner = 1;
    for (int i = 0; i < axis; i++) outer *= v.dim[i];
    for (int i = axis + 1; i < v.ndim; i++) inner *= v.dim[i];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t c = 0; c < inner; c++) {
            int64_t base = o * m * inner + c;
            double mu = 0, var = 0;
            for (int64_t r = 0; r < m; r++) mu += am_view_get(&v, base + r * inner) / (double)m;
            for (int64_t r = 0; r < m; r++)
                var += pow(am_view_get(&v, base + r * inner) - mu, 2) / (double)m;
            for (int64_t r = 0; r < m; r++) {
                double z = (am_view_get(&v, base + r * inner) - mu) / sqrt(var + eps);
                am_view_set(&w, base + r * inner, z * am_view_get(&gv, r) + am_view_get(&bv, r));
            }
        }
    return y;
}

static void test_layer_norm_values(void)
{
    am_scope_begin();
    /* mean 2.5, var 1.25, std sqrt(1.25001). */
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(1, 4), 1, 2, 3, 4);
    am_array *g = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(4), 1, 2, 1, 1);
    am_array *b = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(4), 0, 0, 1, 0);
    double sd = sqrt(1.25001);
    TU_ASSERT_VALUES(am_layer_norm(x, g, b, -1, 1e-5), AM_SHAPE(1, 4), 1e-6, -1.5 / sd,
                     -1.0 / sd, 1 + 0.5 / sd, 1.5 / sd);
    am_array *in[3] = {x, g, b}, *out[3] = {NULL};
    CU_ASSERT_EQUAL(tu_invoke("LayerNorm", in, 3, "output_mean_var", "True", out, 3), AM_OK);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(1, 4), 1e-6, -1.5 / sd, -1.0 / sd, 1 + 0.5 / sd, 1.5 / sd);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(1, 1), 1e-7, 2.5);
    TU_ASSERT_VALUES(out[2], AM_SHAPE(1, 1), 1e-7, sd);
    /* axis 0 of a (2, 2) array with eps 0: each column becomes (-1, 1). */
    am_array *c = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 2), 1, 10, 3, 30);
    am_array *ones = am_ones(AM_SHAPE(2), AM_DTYPE_FLOAT64);
    am_array *zeros = am_zeros(AM_SHAPE(2), AM_DTYPE_FLOAT64);
    am_array *cin[3] = {c, ones, zeros};
    CU_ASSERT_EQUAL(tu_invoke("LayerNorm", cin, 3, "axis|eps|output_mean_var", "0|0|True", out, 3),
                    AM_OK);
    TU_ASSERT_VALUES(out[0], AM_SHAPE(2, 2), 1e-12, -1, -1, 1, 1);
    TU_ASSERT_VALUES(out[1], AM_SHAPE(1, 2), 1e-12, 2, 20);
    TU_ASSERT_VALUES(out[2], AM_SHAPE(1, 2), 1e-12, 1, 10);
    am_scope_end();
}

static void test_layer_norm_reference(void)
{
    am_scope_begin();
    static const struct { am_shape s; int axis; } cases[] = {
        {{2, {6, 10}}, -1}, {{3, {5, 3, 4}}, 1}, {{3, {2, 3, 300}}, 1}, {{2, {7, 3}}, 0},
        {{2, {300, 150}}, 1}, {{2, {64, 700}}, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int ax = (cases[i].axis + cases[i].s.ndim) % cases[i].s.ndim;
        am_shape cs = AM_SHAPE(cases[i].s.dim[ax]);
        am_array *x = tu_random(cases[i].s, AM_DTYPE_FLOAT32, -3, 5);
        am_array *g = tu_random(cs, AM_DTYPE_FLOAT32, 0.5, 2);
        am_array *b = tu_random(cs, AM_DTYPE_FLOAT32, -1, 1);
        am_array *y = am_layer_norm(x, g, b, cases[i].axis, 1e-5);
        am_array *want = naive_layer_norm(x, g, b, ax, 1e-5);
        if (!tu_allclose(y, want, 1e-5)) printf("  (case %zu)\n", i);
        CU_ASSERT(tu_allclose(y, want, 1e-5));
    }
    /* A mean far from zero relative to the spread: statistics are taken in double. */
    am_array *x = tu_random(AM_SHAPE(100, 64), AM_DTYPE_FLOAT32, 999, 1001);
    am_array *g = am_ones(AM_SHAPE(64), AM_DTYPE_FLOAT32);
    am_array *b = am_zeros(AM_SHAPE(64), AM_DTYPE_FLOAT32);
    am_array *y = am_layer_norm(x, g, b, 1, 1e-5);
    CU_ASSERT(tu_allclose(y, naive_layer_norm(x, g, b, 1, 1e-5), 1e-5));
    am_scope_end();
}

static void test_layer_norm_errors(void)
{
    am_scope_begin();
    am_array *x = am_zeros(AM_SHAPE(2, 3), AM_DTYPE_FLOAT32);
    am_array *g = am_ones(AM_SHAPE(3), AM_DTYPE_FLOAT32);
    am_array *b = am_zeros(AM_SHAPE(3), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_layer_norm(x, g, b, 0, 1e-5), AM_ERR_SHAPE,
                    "LayerNorm: gamma (3,) must be (2,) for data (2, 3) along axis 0");
    TU_ASSERT_FAILS(am_layer_norm(x, g, am_zeros(AM_SHAPE(3, 1), AM_DTYPE_FLOAT32), 1, 1e-5),
                    AM_ERR_SHAPE, "beta (3, 1) must be (3,)");
    TU_ASSERT_FAILS(am_layer_norm(x, g, b, 2, 1e-5), AM_ERR_ARG, "axis 2 is out of range");
    TU_ASSERT_FAILS(am_layer_norm(x, am_ones(AM_SHAPE(3), AM_DTYPE_FLOAT64), b, 1, 1e-5),
                    AM_ERR_DTYPE, "input 1 is float64 but input 0 is float32");
    TU_ASSERT_FAILS(am_layer_norm(am_zeros(AM_SHAPE(2, 3), AM_DTYPE_INT32),
                                  am_ones(AM_SHAPE(3), AM_DTYPE_INT32),
                                  am_zeros(AM_SHAPE(3), AM_DTYPE_INT32), 1, 1e-5),
                    AM_ERR_DTYPE, "int32 data not supported");
    TU_ASSERT_FAILS(am_layer_norm(x, g, b, 1, -1), AM_ERR_ARG, "eps must be non-negative");
    am_array *in[3] = {x, g, b}, *out[3];
    TU_ASSERT_FAILS(tu_invoke("LayerNorm", in, 3, "", "", out, 3) == AM_OK, AM_ERR_ARG,
                    "has 1 outputs, caller asked for 3");
    const am_op_def *op = am_op_find("LayerNorm");
    void *a = am_attrs_parse(op, NULL, NULL, 0);
    char buf[64];
    CU_ASSERT_STRING_EQUAL(am_attr_format(&op->attrs[0], a, buf, sizeof(buf)), "-1");
    CU_ASSERT_STRING_EQUAL(am_attr_format(&op->attrs[1], a, buf, sizeof(buf)), "1e-05");
    CU_ASSERT_STRING_EQUAL(am_attr_format(&op->attrs[2], a, buf, sizeof(buf)), "False");
    free(a);
    am_scope_end();
}

/* ---- CTCLoss ---------------------------------------------------------------- */

#define CTC_FIX "tests/fixtures/ctc/"

static am_array *ctc_fixture(const char *name, const char *what)
{
    char path[160];
    snprintf(path, sizeof(path), CTC_FIX "%s_%s.npy", name, what);
    am_array *x = am_npy_load(path);
    if (!x) printf("\n  cannot load %s: %s\n", path, am_last_error());
    return x;
}

/* The loss and d sum(loss) / d data of one eager call match PyTorch's
 * (tests/fixtures/ctc/make.py), in float32 and float64. */
static void check_ctc_fixture(const char *name, bool lengths, const char *blank)
{
    for (int f64 = 0; f64 < 2; f64++) {
        am_scope_begin();
        am_array *x = ctc_fixture(name, "in0"), *lab = ctc_fixture(name, "in1");
        CU_ASSERT_PTR_NOT_NULL_FATAL(x);
        if (f64) x = am_astype(x, AM_DTYPE_FLOAT64);
        am_array *dl = lengths ? ctc_fixture(name, "in2") : NULL;
        am_array *ll = lengths ? ctc_fixture(name, "in3") : NULL;
        am_attach_grad(x, AM_GRAD_WRITE);
        am_autograd_record_begin(true);
        am_array *loss = am_ctc_loss(x, lab, dl, ll, blank);
        am_array *total = am_sum(loss, NULL, 0, false);
        am_autograd_end();
        CU_ASSERT_EQUAL_FATAL(am_backward(total), AM_OK);
        CU_ASSERT(tu_allclose(loss, ctc_fixture(name, "loss"), 1e-5));
        CU_ASSERT(tu_allclose(am_grad(x), ctc_fixture(name, "grad0"), 1e-5));
        am_scope_end();
    }
}

static void test_ctc_against_pytorch(void)
{
    check_ctc_fixture("op_first", false, "first");
    check_ctc_fixture("op_lengths", true, "last");
}

/* By hand: one frame and no label is -log p(blank); a single label over two
 * frames sums its three alignments (a a, a -, - a). */
static void test_ctc_by_hand(void)
{
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(2, 1, 3), AM_DTYPE_FLOAT64, -1, 1);
    am_array *p = am_softmax(x, -1);
    double p0[3], p1[3];
    for (int k = 0; k < 3; k++) p0[k] = am_item(p, k), p1[k] = am_item(p, 3 + k);
    am_array *empty = am_zeros(AM_SHAPE(1, 2), AM_DTYPE_FLOAT32);
    CU_ASSERT_DOUBLE_EQUAL(am_item(am_ctc_loss(x, empty, NULL, NULL, "first"), 0),
                           -log(p0[0] * p1[0]), 1e-12);
    am_array *lab = am_full(AM_SHAPE(1, 1), AM_DTYPE_FLOAT32, 2);
    double want = -log(p0[2] * p1[2] + p0[2] * p1[0] + p0[0] * p1[2]);
    CU_ASSERT_DOUBLE_EQUAL(am_item(am_ctc_loss(x, lab, NULL, NULL, "first"), 0), want, 1e-12);
    /* Blank last: the same label is class 1 of 0..1 and the blank is 2. */
    am_array *lab_last = am_full(AM_SHAPE(1, 1), AM_DTYPE_FLOAT32, 1);
    want = -log(p0[1] * p1[1] + p0[1] * p1[2] + p0[2] * p1[1]);
    CU_ASSERT_DOUBLE_EQUAL(am_item(am_ctc_loss(x, lab_last, NULL, NULL, "last"), 0), want, 1e-12);
    am_scope_end();
}

/* A label its sequence is too short for: +inf with a zero gradient, while the
 * other sequences of the batch train normally. */
static void test_ctc_impossible(void)
{
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(2, 2, 3), AM_DTYPE_FLOAT32, -1, 1);
    float labv[] = {1, 1, 2, 0}; /* 1 1 needs 3 frames; 2 needs 1 */
    am_array *lab = am_from_buffer(labv, AM_SHAPE(2, 2), AM_DTYPE_FLOAT32);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *loss = am_ctc_loss(x, lab, NULL, NULL, NULL);
    am_array *total = am_sum(am_pick(loss, am_ones(AM_SHAPE(1), AM_DTYPE_FLOAT32), 0), NULL, 0,
                             false);
    am_autograd_end();
    CU_ASSERT(isinf(am_item(loss, 0)) && am_item(loss, 0) > 0);
    CU_ASSERT(isfinite(am_item(loss, 1)));
    CU_ASSERT_EQUAL_FATAL(am_backward(total), AM_OK);
    am_array *g = am_grad(x);
    double row_sum = 0;
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < 3; k++) {
            CU_ASSERT_EQUAL(am_item(g, t * 6 + k), 0);   /* sequence 0 */
            row_sum += am_item(g, t * 6 + 3 + k);         /* sequence 1 */
        }
    CU_ASSERT_DOUBLE_EQUAL(row_sum, 0, 1e-6); /* softmax gradients sum to 0 per frame */
    am_scope_end();
}

static void test_ctc_errors(void)
{
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(4, 2, 3), AM_DTYPE_FLOAT32, -1, 1);
    float blank_in_label[] = {1, 0, 0, 0}, big[] = {1, 3, 0, 0}, fine[] = {1, 2, 2, 0};
    am_array *lab = am_from_buffer(fine, AM_SHAPE(2, 2), AM_DTYPE_FLOAT32);
    TU_ASSERT_FAILS(am_ctc_loss(x, am_from_buffer(big, AM_SHAPE(2, 2), AM_DTYPE_FLOAT32), NULL,
                                NULL, "first"),
                    AM_ERR_ARG, "label[0][1] = 3 is not a class in [0, 3) other than the blank 0");
    TU_ASSERT_FAILS(am_ctc_loss(x, am_from_buffer(blank_in_label, AM_SHAPE(2, 2),
                                                  AM_DTYPE_FLOAT32),
                                NULL, am_full(AM_SHAPE(2), AM_DTYPE_INT32, 2), "first"),
                    AM_ERR_ARG, "label[0][1] = 0 is not a class");
    TU_ASSERT_FAILS(am_ctc_loss(x, lab, NULL, am_full(AM_SHAPE(2), AM_DTYPE_INT32, 3), "first"),
                    AM_ERR_ARG, "label_lengths[0] = 3 is outside [0, 2]");
    TU_ASSERT_FAILS(am_ctc_loss(x, lab, am_full(AM_SHAPE(2), AM_DTYPE_INT32, 5), NULL, "first"),
                    AM_ERR_ARG, "data_lengths[0] = 5 is outside [0, 4]");
    TU_ASSERT_FAILS(am_ctc_loss(x, am_zeros(AM_SHAPE(3, 2), AM_DTYPE_FLOAT32), NULL, NULL, NULL),
                    AM_ERR_SHAPE, "label (3, 2) and data (4, 2, 3) differ in batch size");
    TU_ASSERT_FAILS(am_ctc_loss(x, am_zeros(AM_SHAPE(2, 5), AM_DTYPE_FLOAT32), NULL, NULL, NULL),
                    AM_ERR_SHAPE, "label (2, 5) is longer than the sequences of data (4, 2, 3)");
    TU_ASSERT_FAILS(am_ctc_loss(am_zeros(AM_SHAPE(4, 6), AM_DTYPE_FLOAT32), lab, NULL, NULL, NULL),
                    AM_ERR_SHAPE, "must be (sequence length, batch, alphabet)");
    TU_ASSERT_FAILS(am_ctc_loss(x, lab, am_zeros(AM_SHAPE(3), AM_DTYPE_FLOAT32), NULL, NULL),
                    AM_ERR_SHAPE, "data_lengths (3,) must be a vector of the batch size 2");
    TU_ASSERT_FAILS(am_ctc_loss(x, lab, NULL, NULL, "middle"), AM_ERR_ARG,
                    "blank_label 'middle' is not one of first, last");
    TU_ASSERT_FAILS(am_ctc_loss(am_zeros(AM_SHAPE(4, 2, 3), AM_DTYPE_INT32), lab, NULL, NULL,
                                NULL),
                    AM_ERR_DTYPE, "CTCLoss needs float32 or float64");
    am_scope_end();
}

CU_TestInfo am_tests_ops_nn[] = {
    {"CTCLoss against PyTorch's ctc_loss", test_ctc_against_pytorch},
    {"CTCLoss by hand", test_ctc_by_hand},
    {"CTCLoss of an impossible label", test_ctc_impossible},
    {"CTCLoss errors", test_ctc_errors},
    {"softmax and log_softmax values", test_softmax_values},
    {"softmax against a naive reference", test_softmax_reference},
    {"softmax with use_length", test_softmax_length},
    {"softmax errors and attributes", test_softmax_errors},
    {"Dropout outside training", test_dropout_inference},
    {"Dropout in training", test_dropout_training},
    {"Dropout axes and mode=always", test_dropout_axes_and_mode},
    {"Dropout errors and attributes", test_dropout_errors},
    {"LayerNorm values and mean/std outputs", test_layer_norm_values},
    {"LayerNorm against a naive reference", test_layer_norm_reference},
    {"LayerNorm errors and attributes", test_layer_norm_errors},
    CU_TEST_INFO_NULL,
};
