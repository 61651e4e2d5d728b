/* The layers suite: every built-in layer of include/amber/layers.h against a
 * reference computed here, eagerly and hybridized (outputs and parameter
 * gradients agree), with its defaults, options and errors. */
#include "test_util.h"

#define F32 AM_DTYPE_FLOAT32
#define MAX_PARAMS 32
#define MAX_IN 4

/* ---- helpers ---------------------------------------------------------------------------- */

/* The parameter of b with this structural name, or NULL. */
static am_param *param(am_block *b, const char *name)
{
    am_param *ps[MAX_PARAMS];
    int n = am_block_collect_params(b, NULL, ps, MAX_PARAMS);
    for (int i = 0; i < n && i < MAX_PARAMS; i++)
        if (strcmp(am_param_name(ps[i]), name) == 0) return ps[i];
    return NULL;
}

static float *f32(am_array *x)
{
    return am_array_data_f32(x);
}

/* The value of parameter name of b (borrowed). */
static am_array *pdata(am_block *b, const char *name)
{
    am_param *p = param(b, name);
    return p ? am_param_data(p) : NULL;
}

static bool shape_is(am_array *x, am_shape want)
{
    if (x && am_shape_equal(am_array_shape(x), want)) return true;
    char a[96], b[96];
    am_shape s = x ? am_array_shape(x) : (am_shape){.ndim = -1};
    printf("\n  shape %s, expected %s\n", x ? am_shape_format(&s, a, sizeof(a)) : "NULL",
           am_shape_format(&want, b, sizeof(b)));
    return false;
}

static bool param_shape_is(am_block *b, const char *name, am_shape want)
{
    am_param *p = param(b, name);
    if (p && am_shape_equal(am_param_shape(p), want)) return true;
    char a[96], w[96];
    am_shape s = p ? am_param_shape(p) : (am_shape){0};
    printf("\n  %s is %s, expected %s\n", name, p ? am_shape_format(&s, a, sizeof(a)) : "missing",
           am_shape_format(&want, w, sizeof(w)));
    return false;
}

/* ---- the eager-vs-hybridized check ---------------------------------------------------------- */

/* What one recorded call left: its output, the gradients of every parameter
 * and input, and the parameter values afterwards (running statistics). */
typedef struct run_result {
    am_array *out;
    am_array *grad[MAX_PARAMS], *value[MAX_PARAMS];
    am_array *in_grad[MAX_IN];
} run_result;

/* A copy of x (owned by the current scope), or NULL for NULL. */
static am_array *copy_or_null(am_array *x)
{
    return x ? am_copy(x) : NULL;
}

/* Calls b on in while recording (training or not), back-propagates
 * sum(out * head) and keeps copies of what it produced. */
static bool run_recorded(am_block *b, am_array *const *in, int n_in, bool training,
                         am_array *head, am_param **ps, int np, run_result *r)
{
    am_autograd_record_begin(training);
    am_array *y = am_block_call_at(b, in, n_in, AM_HERE);
    am_array *loss = am_sum(am_mul(y, head), NULL, 0, false);
    am_autograd_end();
    if (!loss) {
        printf("\n  %s call failed: %s\n", am_block_type(b), am_last_error());
        return false;
    }
    if (am_backward(loss) != AM_OK) {
        printf("\n  %s backward failed: %s\n", am_block_type(b), am_last_error());
        return false;
    }
    r->out = y;
    for (int i = 0; i < np; i++) {
        r->grad[i] = copy_or_null(am_param_grad(ps[i]));
        r->value[i] = am_copy(am_param_data(ps[i]));
    }
    for (int i = 0; i < n_in; i++) r->in_grad[i] = copy_or_null(am_grad(in[i]));
    return true;
}

static bool agree(const char *what, const char *name, am_array *eager, am_array *hybrid,
                  double tol)
{
    if (!eager && !hybrid) return true;
    if (eager && hybrid && tu_allclose(hybrid, eager, tol)) return true;
    printf("\n  %s of %s: eager and hybridized differ%s\n", what, name,
           !eager || !hybrid ? " (one is missing)" : "");
    return false;
}

/*
 * The check every layer passes: with b initialised, one call eagerly and one
 * hybridized, both recorded in the given mode from the same parameter values,
 * must give the same output, parameter gradients, input gradients and
 * parameter values afterwards, within tol (relative).  Inputs get gradient
 * buffers.  b is left eager, with the parameter values it started with.
 */
static void check_layer(am_block *b, am_array *const *in, int n_in, bool training, double tol)
{
    am_param *ps[MAX_PARAMS];
    am_array *start[MAX_PARAMS];
    run_result eager = {0}, hybrid = {0};
    CU_ASSERT_FATAL(n_in <= MAX_IN);
    am_scope_begin();
    CU_ASSERT_EQUAL_FATAL(am_block_initialize(b, NULL), AM_OK);
    am_array *first = am_block_call_at(b, in, n_in, AM_HERE); /* resolves deferred shapes */
    if (!first) printf("\n  %s: %s\n", am_block_type(b), am_last_error());
    CU_ASSERT_PTR_NOT_NULL_FATAL(first);
    int np = am_block_collect_params(b, NULL, ps, MAX_PARAMS);
    CU_ASSERT_FATAL(np >= 0 && np <= MAX_PARAMS);
    for (int i = 0; i < np; i++) start[i] = am_copy(am_param_data(ps[i]));
    for (int i = 0; i < n_in; i++) CU_ASSERT_EQUAL(am_attach_grad(in[i], AM_GRAD_WRITE), AM_OK);
    am_array *head = tu_random(am_array_shape(first), am_array_dtype(first), -1, 1);

    bool ok = run_recorded(b, in, n_in, training, head, ps, np, &eager);
    for (int i = 0; i < np; i++) CU_ASSERT_EQUAL(am_param_set_data(ps[i], start[i]), AM_OK);
    CU_ASSERT_EQUAL(am_block_hybridize(b, true, NULL), AM_OK);
    ok = ok && run_recorded(b, in, n_in, training, head, ps, np, &hybrid);
    CU_ASSERT(ok);
    CU_ASSERT(am_block_cache_stats(b).traces >= 1); /* the second run was a plan's */
    if (ok) {
        CU_ASSERT(agree("the output", am_block_type(b), eager.out, hybrid.out, tol));
        for (int i = 0; i < np; i++) {
            CU_ASSERT(agree("the gradient", am_param_name(ps[i]), eager.grad[i], hybrid.grad[i],
                            tol));
            CU_ASSERT(agree("the value after the call", am_param_name(ps[i]), eager.value[i],
                            hybrid.value[i], tol));
        }
        for (int i = 0; i < n_in; i++)
            CU_ASSERT(agree("the gradient", "an input", eager.in_grad[i], hybrid.in_grad[i], tol));
    }
    CU_ASSERT_EQUAL(am_block_hybridize(b, false, NULL), AM_OK);
    for (int i = 0; i < np; i++) am_param_set_data(ps[i], start[i]);
    for (int i = 0; i < n_in; i++) am_attach_grad(in[i], AM_GRAD_NULL);
    /* Exported, then imported without the layer's code: the same output. */
    CU_ASSERT(tu_export_import_agree(b, in, n_in, tol));
    am_scope_end();
}

/* check_layer on one input. */
static void check_layer1(am_block *b, am_array *x, bool training)
{
    check_layer(b, &x, 1, training, 1e-5);
}

/* ---- Dense ----------------------------------------------------------------------------------- */

/* y = x w^T + b by loops, over x (n, k). */
static am_array *ref_dense(am_array *x, am_array *w, am_array *bias)
{
    int64_t n = am_array_dim(x, 0), k = am_array_dim(x, 1), u = am_array_dim(w, 0);
    am_array *y = am_zeros(AM_SHAPE(n, u), F32);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < u; j++) {
            double acc = bias ? f32(bias)[j] : 0;
            for (int64_t l = 0; l < k; l++) acc += (double)f32(x)[i * k + l] * f32(w)[j * k + l];
            f32(y)[i * u + j] = (float)acc;
        }
    return y;
}

static void test_dense(void)
{
    am_scope_begin();
    am_block *d = am_dense(5, &(am_dense_opts){.bias_init = am_init_normal(1)});
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_STRING_EQUAL(am_block_type(d), "Dense");
    CU_ASSERT_EQUAL(am_block_num_children(d), 0);
    CU_ASSERT_EQUAL(am_block_initialize(d, NULL), AM_OK);
    CU_ASSERT(param_shape_is(d, "weight", AM_SHAPE(5, 0))); /* deferred */
    CU_ASSERT(param_shape_is(d, "bias", AM_SHAPE(5)));
    am_array *x = tu_random(AM_SHAPE(3, 2, 2), F32, -1, 1); /* flattened to (3, 4) */
    am_array *y = am_block_call(d, x);
    CU_ASSERT(param_shape_is(d, "weight", AM_SHAPE(5, 4)));
    CU_ASSERT(tu_allclose(y, ref_dense(am_reshape(x, AM_SHAPE(3, 4)), pdata(d, "weight"),
                                       pdata(d, "bias")), 1e-5));
    check_layer1(d, x, true);
    am_block_release(d);

    /* activation, no bias, known in_units */
    d = am_dense(3, &(am_dense_opts){.activation = "relu", .no_bias = true, .in_units = 4});
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_PTR_NULL(param(d, "bias"));
    CU_ASSERT(param_shape_is(d, "weight", AM_SHAPE(3, 4)));
    CU_ASSERT_EQUAL(am_block_num_children(d), 1);
    CU_ASSERT_STRING_EQUAL(am_block_child_name(d, 0), "act");
    CU_ASSERT_STRING_EQUAL(am_block_type(am_block_child(d, 0)), "Activation");
    CU_ASSERT_EQUAL(am_block_initialize(d, (am_init[]){am_init_uniform(1)}), AM_OK);
    am_array *x2 = tu_random(AM_SHAPE(6, 4), F32, -1, 1);
    y = am_block_call(d, x2);
    CU_ASSERT(tu_allclose(y, am_relu(ref_dense(x2, pdata(d, "weight"), NULL)), 1e-5));
    check_layer1(d, x2, true);
    am_block_release(d);
    am_scope_end();
}

static void test_dense_no_flatten(void)
{
    am_scope_begin();
    am_block *d = am_dense(2, &(am_dense_opts){.no_flatten = true,
                                               .bias_init = am_init_normal(1)});
    CU_ASSERT_EQUAL(am_block_initialize(d, NULL), AM_OK);
    am_array *x = tu_random(AM_SHAPE(2, 3, 4), F32, -1, 1);
    am_array *y = am_block_call(d, x);
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 3, 2)));
    CU_ASSERT(param_shape_is(d, "weight", AM_SHAPE(2, 4)));
    am_array *ref = ref_dense(am_reshape(x, AM_SHAPE(6, 4)), pdata(d, "weight"),
                              pdata(d, "bias"));
    CU_ASSERT(tu_allclose(y, am_reshape(ref, AM_SHAPE(2, 3, 2)), 1e-5));
    check_layer1(d, x, true);
    am_block_release(d);
    am_scope_end();
}

static void test_dense_errors(void)
{
    am_scope_begin();
    TU_ASSERT_FAILS(am_dense(0, NULL), AM_ERR_ARG, "am_dense: units must be positive");
    TU_ASSERT_FAILS(am_dense(3, &(am_dense_opts){.in_units = -1}), AM_ERR_ARG, "in_units");
    TU_ASSERT_FAILS(am_dense(3, &(am_dense_opts){.activation = "swish"}), AM_ERR_ARG,
                    "activation 'swish' is not one of relu");
    am_block *d = am_dense(3, &(am_dense_opts){.in_units = 5});
    CU_ASSERT_EQUAL(am_block_initialize(d, NULL), AM_OK);
    am_array *x = tu_random(AM_SHAPE(2, 4), F32, -1, 1);
    TU_ASSERT_FAILS(am_block_call(d, x), AM_ERR_SHAPE, "FullyConnected");
    TU_ASSERT_FAILS(am_block_call2(d, x, x), AM_ERR_ARG, "Dense: takes 1 input, got 2");
    am_block_release(d);
    am_scope_end();
}

/* ---- convolution ----------------------------------------------------------------------------- */

static void test_conv2d(void)
{
    am_scope_begin();
    am_block *c = am_conv2d(6, AM_SHAPE(3, 3),
                            &(am_conv_opts){.strides = AM_SHAPE(2, 1), .padding = AM_SHAPE(1),
                                            .dilation = AM_SHAPE(1, 2), .groups = 2,
                                            .bias_init = am_init_normal(1)});
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(am_block_type(c), "Conv2D");
    CU_ASSERT_EQUAL(am_block_initialize(c, NULL), AM_OK);
    CU_ASSERT(param_shape_is(c, "weight", AM_SHAPE(6, 0, 3, 3)));
    CU_ASSERT(param_shape_is(c, "bias", AM_SHAPE(6)));
    am_array *x = tu_random(AM_SHAPE(2, 4, 7, 8), F32, -1, 1);
    am_array *y = am_block_call(c, x);
    CU_ASSERT(param_shape_is(c, "weight", AM_SHAPE(6, 2, 3, 3)));
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 6, 4, 6)));
    const int64_t k[] = {3, 3}, st[] = {2, 1}, pad[] = {1, 1}, dil[] = {1, 2};
    am_array *ref = am_convolution(x, pdata(c, "weight"), pdata(c, "bias"), 2, k, st, pad, dil,
                                   6, 2);
    CU_ASSERT(tu_allclose(y, ref, 1e-5));
    check_layer1(c, x, true);
    am_block_release(c);

    /* a square kernel from one entry, an activation, no bias */
    c = am_conv2d(3, AM_SHAPE(2), &(am_conv_opts){.activation = "tanh", .no_bias = true,
                                                  .in_channels = 4});
    CU_ASSERT(param_shape_is(c, "weight", AM_SHAPE(3, 4, 2, 2)));
    CU_ASSERT_PTR_NULL(param(c, "bias"));
    CU_ASSERT_EQUAL(am_block_initialize(c, (am_init[]){am_init_uniform(0.5)}), AM_OK);
    y = am_block_call(c, x);
    const int64_t k2[] = {2, 2};
    ref = am_convolution(x, pdata(c, "weight"), NULL, 2, k2, NULL, NULL, NULL, 3, 1);
    CU_ASSERT(tu_allclose(y, am_tanh(ref), 1e-5));
    check_layer1(c, x, true);
    am_block_release(c);
    am_scope_end();
}

static void test_conv1d(void)
{
    am_scope_begin();
    am_block *c = am_conv1d(5, AM_SHAPE(3), &(am_conv_opts){.in_channels = 3,
                                                             .padding = AM_SHAPE(1),
                                                             .bias_init = am_init_normal(1)});
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT(param_shape_is(c, "weight", AM_SHAPE(5, 3, 3)));
    CU_ASSERT_EQUAL(am_block_initialize(c, NULL), AM_OK);
    am_array *x = tu_random(AM_SHAPE(2, 3, 9), F32, -1, 1);
    am_array *y = am_block_call(c, x);
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 5, 9)));
    const int64_t k[] = {3}, pad[] = {1};
    am_array *ref = am_convolution(x, pdata(c, "weight"), pdata(c, "bias"), 1, k, NULL, pad,
                                   NULL, 5, 1);
    CU_ASSERT(tu_allclose(y, ref, 1e-5));
    check_layer1(c, x, true);
    am_block_release(c);
    am_scope_end();
}

static void test_conv_transpose(void)
{
    am_scope_begin();
    am_block *c = am_conv2d_transpose(4, AM_SHAPE(3, 3),
                                      &(am_conv_opts){.strides = AM_SHAPE(2),
                                                      .padding = AM_SHAPE(1),
                                                      .output_padding = AM_SHAPE(1),
                                                      .groups = 2,
                                                      .bias_init = am_init_normal(1)});
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(am_block_type(c), "Conv2DTranspose");
    CU_ASSERT_EQUAL(am_block_initialize(c, NULL), AM_OK);
    CU_ASSERT(param_shape_is(c, "weight", AM_SHAPE(0, 2, 3, 3)));
    am_array *x = tu_random(AM_SHAPE(2, 6, 4, 5), F32, -1, 1);
    am_array *y = am_block_call(c, x);
    CU_ASSERT(param_shape_is(c, "weight", AM_SHAPE(6, 2, 3, 3)));
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 4, 8, 10))); /* 2 (in - 1) + 3 - 2 + 1 */
    const int64_t k[] = {3, 3}, st[] = {2, 2}, one[] = {1, 1};
    am_array *ref = am_deconvolution(x, pdata(c, "weight"), pdata(c, "bias"), 2, k, st, one,
                                     NULL, one, NULL, 4, 2);
    CU_ASSERT(tu_allclose(y, ref, 1e-5));
    check_layer1(c, x, true);
    am_block_release(c);

    c = am_conv1d_transpose(3, AM_SHAPE(2), &(am_conv_opts){.strides = AM_SHAPE(2)});
    CU_ASSERT_EQUAL(am_block_initialize(c, NULL), AM_OK);
    am_array *x1 = tu_random(AM_SHAPE(2, 5, 4), F32, -1, 1);
    y = am_block_call(c, x1);
    CU_ASSERT(param_shape_is(c, "weight", AM_SHAPE(5, 3, 2)));
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 3, 8)));
    const int64_t two[] = {2};
    ref = am_deconvolution(x1, pdata(c, "weight"), pdata(c, "bias"), 1, two, two, NULL, NULL,
                           NULL, NULL, 3, 1);
    CU_ASSERT(tu_allclose(y, ref, 1e-5));
    check_layer1(c, x1, true);
    am_block_release(c);
    am_scope_end();
}

static void test_conv_errors(void)
{
    am_scope_begin();
    TU_ASSERT_FAILS(am_conv2d(0, AM_SHAPE(3), NULL), AM_ERR_ARG, "channels must be positive");
    TU_ASSERT_FAILS(am_conv2d(4, AM_SHAPE(3, 3, 3), NULL), AM_ERR_ARG,
                    "am_conv2d: kernel_size must have 2 entries");
    TU_ASSERT_FAILS(am_conv1d(4, AM_SHAPE(3, 3), NULL), AM_ERR_ARG,
                    "am_conv1d: kernel_size must have 1 entry");
    TU_ASSERT_FAILS(am_conv2d(4, (am_shape){0}, NULL), AM_ERR_ARG, "kernel_size");
    TU_ASSERT_FAILS(am_conv2d(4, AM_SHAPE(0, 3), NULL), AM_ERR_ARG, "kernel_size entries");
    TU_ASSERT_FAILS(am_conv2d(4, AM_SHAPE(3), &(am_conv_opts){.strides = AM_SHAPE(0)}),
                    AM_ERR_ARG, "strides");
    TU_ASSERT_FAILS(am_conv2d(4, AM_SHAPE(3), &(am_conv_opts){.padding = AM_SHAPE(-1)}),
                    AM_ERR_ARG, "padding");
    TU_ASSERT_FAILS(am_conv2d(5, AM_SHAPE(3), &(am_conv_opts){.groups = 2}), AM_ERR_ARG,
                    "divisible by groups");
    TU_ASSERT_FAILS(am_conv2d(4, AM_SHAPE(3), &(am_conv_opts){.output_padding = AM_SHAPE(1)}),
                    AM_ERR_ARG, "output_padding");
    TU_ASSERT_FAILS(am_conv2d_transpose(4, AM_SHAPE(3), &(am_conv_opts){
                        .output_padding = AM_SHAPE(1)}), AM_ERR_ARG, "smaller than strides");
    TU_ASSERT_FAILS(am_conv2d(4, AM_SHAPE(3), &(am_conv_opts){.activation = "gelu"}),
                    AM_ERR_ARG, "activation 'gelu'");
    am_block *c = am_conv2d(4, AM_SHAPE(3), &(am_conv_opts){.in_channels = 3});
    CU_ASSERT_EQUAL(am_block_initialize(c, NULL), AM_OK);
    TU_ASSERT_FAILS(am_block_call(c, tu_random(AM_SHAPE(2, 3, 8), F32, -1, 1)), AM_ERR_SHAPE,
                    "Convolution");
    TU_ASSERT_FAILS(am_block_call(c, tu_random(AM_SHAPE(2, 5, 8, 8), F32, -1, 1)),
                    AM_ERR_SHAPE, "Convolution");
    am_block_release(c);
    am_scope_end();
}

/* ---- pooling --------------------------------------------------------------------------------- */

typedef struct pool_ref {
    bool max, ceil, include_pad;
    int64_t k[2], s[2], p[2];
} pool_ref;

static int64_t pooled_size(int64_t in, int64_t k, int64_t s, int64_t p, bool ceil_mode)
{
    int64_t span = in + 2 * p - k;
    return (ceil_mode ? (span + s - 1) / s : span / s) + 1;
}

/* MXNet's pooling by loops over x (N, C, H, W): windows clipped to the padded
 * data give avg's divisor with padding, clipped to the data without.  A
 * window of padding only averages to 0 (Amber's choice; MXNet divides by 0). */
static am_array *ref_pool2d(am_array *x, const pool_ref *r)
{
    am_shape s = am_array_shape(x);
    int64_t nc = s.dim[0] * s.dim[1], h = s.dim[2], w = s.dim[3];
    int64_t oh = pooled_size(h, r->k[0], r->s[0], r->p[0], r->ceil);
    int64_t ow = pooled_size(w, r->k[1], r->s[1], r->p[1], r->ceil);
    am_array *y = am_zeros(AM_SHAPE(s.dim[0], s.dim[1], oh, ow), F32);
    for (int64_t c = 0; c < nc; c++)
        for (int64_t i = 0; i < oh; i++)
            for (int64_t j = 0; j < ow; j++) {
                int64_t h0 = i * r->s[0] - r->p[0], w0 = j * r->s[1] - r->p[1];
                int64_t h1 = h0 + r->k[0] < h + r->p[0] ? h0 + r->k[0] : h + r->p[0];
                int64_t w1 = w0 + r->k[1] < w + r->p[1] ? w0 + r->k[1] : w + r->p[1];
                int64_t padded = (h1 - h0) * (w1 - w0);
                h0 = h0 < 0 ? 0 : h0, w0 = w0 < 0 ? 0 : w0;
                h1 = h1 > h ? h : h1, w1 = w1 > w ? w : w1;
                double acc = r->max ? -INFINITY : 0;
                for (int64_t a = h0; a < h1; a++)
                    for (int64_t b = w0; b < w1; b++) {
                        double v = f32(x)[(c * h + a) * w + b];
                        acc = r->max ? fmax(acc, v) : acc + v;
                    }
                int64_t inside = (h1 - h0) * (w1 - w0); /* 0: a window of padding only */
                if (!r->max) acc = inside ? acc / (double)(r->include_pad ? padded : inside) : 0;
                f32(y)[(c * oh + i) * ow + j] = (float)acc;
            }
    return y;
}

/* 1-D pooling as 2-D over height 1. */
static am_array *ref_pool1d(am_array *x, pool_ref r)
{
    am_shape s = am_array_shape(x);
    r.k[1] = r.k[0], r.s[1] = r.s[0], r.p[1] = r.p[0];
    r.k[0] = r.s[0] = 1, r.p[0] = 0;
    am_array *y = ref_pool2d(am_reshape(x, AM_SHAPE(s.dim[0], s.dim[1], 1, s.dim[2])), &r);
    return am_reshape(y, AM_SHAPE(s.dim[0], s.dim[1], am_array_dim(y, 3)));
}

static void test_max_pool(void)
{
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(2, 3, 6, 7), F32, -1, 1);
    am_block *p = am_max_pool2d(NULL); /* 2x2, strides 2 */
    CU_ASSERT_STRING_EQUAL(am_block_type(p), "MaxPool2D");
    am_array *y = am_block_call(p, x);
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 3, 3, 3)));
    CU_ASSERT(tu_allclose(y, ref_pool2d(x, &(pool_ref){.max = true, .k = {2, 2},
                                                       .s = {2, 2}}), 0));
    check_layer1(p, x, true);
    am_block_release(p);

    p = am_max_pool2d(&(am_pool_opts){.pool_size = AM_SHAPE(3, 2), .strides = AM_SHAPE(2, 1),
                                      .padding = AM_SHAPE(1), .ceil_mode = true});
    y = am_block_call(p, x);
    am_array *ref = ref_pool2d(x, &(pool_ref){.max = true, .ceil = true, .k = {3, 2},
                                              .s = {2, 1}, .p = {1, 1}});
    CU_ASSERT(shape_is(y, am_array_shape(ref)));
    CU_ASSERT(tu_allclose(y, ref, 0));
    check_layer1(p, x, true);
    am_block_release(p);

    am_array *x1 = tu_random(AM_SHAPE(2, 3, 9), F32, -1, 1);
    p = am_max_pool1d(&(am_pool_opts){.pool_size = AM_SHAPE(3)});
    y = am_block_call(p, x1);
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 3, 3)));
    CU_ASSERT(tu_allclose(y, ref_pool1d(x1, (pool_ref){.max = true, .k = {3}, .s = {3}}), 0));
    check_layer1(p, x1, true);
    am_block_release(p);
    am_scope_end();
}

static void test_avg_pool(void)
{
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(2, 3, 5, 6), F32, -1, 1);
    am_block *p = am_avg_pool2d(&(am_pool_opts){.pool_size = AM_SHAPE(3), .strides = AM_SHAPE(2),
                                                .padding = AM_SHAPE(1)});
    am_array *y = am_block_call(p, x);
    am_array *ref = ref_pool2d(x, &(pool_ref){.include_pad = true, .k = {3, 3}, .s = {2, 2},
                                              .p = {1, 1}});
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 3, 3, 3)));
    CU_ASSERT(tu_allclose(y, ref, 1e-6));
    check_layer1(p, x, true);
    am_block_release(p);

    /* count_include_pad=False and ceil_mode */
    p = am_avg_pool2d(&(am_pool_opts){.pool_size = AM_SHAPE(2), .padding = AM_SHAPE(1),
                                      .ceil_mode = true, .exclude_pad = true});
    y = am_block_call(p, x);
    ref = ref_pool2d(x, &(pool_ref){.ceil = true, .k = {2, 2}, .s = {2, 2}, .p = {1, 1}});
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 3, 4, 4)));
    CU_ASSERT(tu_allclose(y, ref, 1e-6));
    check_layer1(p, x, true);
    am_block_release(p);

    am_array *x1 = tu_random(AM_SHAPE(2, 3, 8), F32, -1, 1);
    p = am_avg_pool1d(&(am_pool_opts){.strides = AM_SHAPE(1), .padding = AM_SHAPE(1),
                                      .exclude_pad = true});
    y = am_block_call(p, x1);
    ref = ref_pool1d(x1, (pool_ref){.k = {2}, .s = {1}, .p = {1}});
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 3, 9)));
    CU_ASSERT(tu_allclose(y, ref, 1e-6));
    check_layer1(p, x1, true);
    am_block_release(p);
    am_scope_end();
}

static void test_global_pool(void)
{
    const int hw[] = {2, 3};
    am_scope_begin();
    am_array *x = tu_random(AM_SHAPE(2, 3, 4, 5), F32, -1, 1);
    am_block *p = am_global_max_pool2d();
    am_array *y = am_block_call(p, x);
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 3, 1, 1)));
    CU_ASSERT(tu_allclose(y, am_max(x, hw, 2, true), 0));
    check_layer1(p, x, true);
    am_block_release(p);

    p = am_global_avg_pool2d();
    CU_ASSERT_STRING_EQUAL(am_block_type(p), "GlobalAvgPool2D");
    y = am_block_call(p, x);
    CU_ASSERT(tu_allclose(y, am_mean(x, hw, 2, true), 1e-6));
    check_layer1(p, x, true);
    am_block_release(p);

    am_array *x1 = tu_random(AM_SHAPE(2, 3, 7), F32, -1, 1);
    p = am_global_avg_pool1d();
    y = am_block_call(p, x1);
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 3, 1)));
    CU_ASSERT(tu_allclose(y, am_mean(x1, hw, 1, true), 1e-6));
    check_layer1(p, x1, true);
    am_block_release(p);

    p = am_global_max_pool1d();
    y = am_block_call(p, x1);
    CU_ASSERT(tu_allclose(y, am_max(x1, hw, 1, true), 0));
    check_layer1(p, x1, true);
    am_block_release(p);
    am_scope_end();
}

/* Conv3D, Conv3DTranspose and the 3-D pools over (N, C, D, H, W): the ops they call, Gluon's
 * parameter shapes and defaults, eager against hybridized, export and errors. */
static void test_layers_3d(void)
{
    am_scope_begin();
    am_block *c = am_conv3d(6, AM_SHAPE(3, 2, 3),
                            &(am_conv_opts){.strides = AM_SHAPE(2, 1, 1), .padding = AM_SHAPE(1),
                                            .dilation = AM_SHAPE(1, 1, 2), .groups = 2,
                                            .bias_init = am_init_normal(1)});
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(am_block_type(c), "Conv3D");
    CU_ASSERT_EQUAL(am_block_initialize(c, NULL), AM_OK);
    CU_ASSERT(param_shape_is(c, "weight", AM_SHAPE(6, 0, 3, 2, 3)));
    am_array *x = tu_random(AM_SHAPE(2, 4, 5, 4, 6), F32, -1, 1);
    am_array *y = am_block_call(c, x);
    CU_ASSERT(param_shape_is(c, "weight", AM_SHAPE(6, 2, 3, 2, 3)));
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 6, 3, 5, 4)));
    const int64_t k[] = {3, 2, 3}, st[] = {2, 1, 1}, pad[] = {1, 1, 1}, dil[] = {1, 1, 2};
    am_array *ref = am_convolution(x, pdata(c, "weight"), pdata(c, "bias"), 3, k, st, pad, dil,
                                   6, 2);
    CU_ASSERT(tu_allclose(y, ref, 1e-5));
    check_layer1(c, x, true);
    am_block_release(c);

    c = am_conv3d_transpose(3, AM_SHAPE(3), &(am_conv_opts){.strides = AM_SHAPE(2),
                                                             .padding = AM_SHAPE(1),
                                                             .output_padding = AM_SHAPE(1, 0, 1),
                                                             .bias_init = am_init_normal(1)});
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(am_block_type(c), "Conv3DTranspose");
    CU_ASSERT_EQUAL(am_block_initialize(c, NULL), AM_OK);
    y = am_block_call(c, x);
    CU_ASSERT(param_shape_is(c, "weight", AM_SHAPE(4, 3, 3, 3, 3)));
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 3, 10, 7, 12))); /* 2 (in - 1) + 3 - 2 + adj */
    const int64_t k3[] = {3, 3, 3}, two[] = {2, 2, 2}, one[] = {1, 1, 1}, adj[] = {1, 0, 1};
    ref = am_deconvolution(x, pdata(c, "weight"), pdata(c, "bias"), 3, k3, two, one, NULL, adj,
                           NULL, 3, 1);
    CU_ASSERT(tu_allclose(y, ref, 1e-5));
    check_layer1(c, x, true);
    am_block_release(c);

    /* MaxPool3D: 2x2x2, strides 2; AvgPool3D with ceil_mode and exclude_pad. */
    am_block *p = am_max_pool3d(NULL);
    CU_ASSERT_STRING_EQUAL(am_block_type(p), "MaxPool3D");
    y = am_block_call(p, x);
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 4, 2, 2, 3)));
    CU_ASSERT(tu_allclose(y, am_pooling(x, "max", two, two, NULL, 3, false, "valid", 0, true), 0));
    check_layer1(p, x, true);
    am_block_release(p);
    p = am_avg_pool3d(&(am_pool_opts){.pool_size = AM_SHAPE(3, 2, 2), .strides = AM_SHAPE(2),
                                      .padding = AM_SHAPE(1, 0, 1), .ceil_mode = true,
                                      .exclude_pad = true});
    CU_ASSERT_STRING_EQUAL(am_block_type(p), "AvgPool3D");
    y = am_block_call(p, x);
    const int64_t pk[] = {3, 2, 2}, pp[] = {1, 0, 1};
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 4, 3, 2, 4)));
    CU_ASSERT(tu_allclose(y, am_pooling(x, "avg", pk, two, pp, 3, false, "full", 0, false), 0));
    check_layer1(p, x, true);
    am_block_release(p);

    const int dhw[] = {2, 3, 4};
    p = am_global_max_pool3d();
    CU_ASSERT_STRING_EQUAL(am_block_type(p), "GlobalMaxPool3D");
    y = am_block_call(p, x);
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 4, 1, 1, 1)));
    CU_ASSERT(tu_allclose(y, am_max(x, dhw, 3, true), 0));
    check_layer1(p, x, true);
    am_block_release(p);
    p = am_global_avg_pool3d();
    CU_ASSERT_STRING_EQUAL(am_block_type(p), "GlobalAvgPool3D");
    y = am_block_call(p, x);
    CU_ASSERT(tu_allclose(y, am_mean(x, dhw, 3, true), 1e-6));
    check_layer1(p, x, true);
    am_block_release(p);

    TU_ASSERT_FAILS(am_conv3d(4, AM_SHAPE(3, 3), NULL), AM_ERR_ARG,
                    "am_conv3d: kernel_size must have 3 entries (or 1 for all axes), got 2");
    TU_ASSERT_FAILS(am_conv3d_transpose(4, AM_SHAPE(3), &(am_conv_opts){
                        .output_padding = AM_SHAPE(1)}),
                    AM_ERR_ARG, "output_padding 1 must be smaller than strides (1)");
    TU_ASSERT_FAILS(am_max_pool3d(&(am_pool_opts){.pool_size = AM_SHAPE(2, 2)}), AM_ERR_ARG,
                    "am_max_pool3d: pool_size must have 3 entries");
    c = am_conv3d(4, AM_SHAPE(3), NULL);
    CU_ASSERT_EQUAL(am_block_initialize(c, NULL), AM_OK);
    TU_ASSERT_FAILS(am_block_call(c, tu_random(AM_SHAPE(1, 2, 5, 5), F32, -1, 1)), AM_ERR_SHAPE,
                    "must be 5-D (N, C, D, H, W)");
    am_block_release(c);
    am_scope_end();
}

static void test_pool_errors(void)
{
    am_scope_begin();
    TU_ASSERT_FAILS(am_max_pool2d(&(am_pool_opts){.pool_size = AM_SHAPE(2, 2, 2)}), AM_ERR_ARG,
                    "am_max_pool2d: pool_size must have 2 entries");
    TU_ASSERT_FAILS(am_avg_pool1d(&(am_pool_opts){.strides = AM_SHAPE(0)}), AM_ERR_ARG,
                    "strides");
    TU_ASSERT_FAILS(am_max_pool1d(&(am_pool_opts){.exclude_pad = true}), AM_ERR_ARG,
                    "exclude_pad is for average pooling");
    am_block *p = am_max_pool2d(NULL);
    TU_ASSERT_FAILS(am_block_call(p, tu_random(AM_SHAPE(2, 3, 8), F32, -1, 1)), AM_ERR_SHAPE,
                    "Pooling");
    am_block_release(p);
    am_scope_end();
}

/* ---- normalization --------------------------------------------------------------------------- */

/* Batch statistics per channel of x (N, C, S...) and the normalised output. */
static am_array *ref_batch_norm(am_array *x, am_array *gamma, am_array *beta, const float *mean,
                                const float *var, double eps, float *batch_mean,
                                float *batch_var)
{
    am_shape s = am_array_shape(x);
    int64_t n = s.dim[0], c = s.dim[1], inner = am_array_size(x) / (n * c);
    am_array *y = am_zeros(s, F32);
    for (int64_t ch = 0; ch < c; ch++) {
        double m = 0, v = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t k = 0; k < inner; k++) m += f32(x)[(i * c + ch) * inner + k];
        m /= (double)(n * inner);
        for (int64_t i = 0; i < n; i++)
            for (int64_t k = 0; k < inner; k++) {
                double d = f32(x)[(i * c + ch) * inner + k] - m;
                v += d * d;
            }
        v /= (double)(n * inner);
        if (batch_mean) batch_mean[ch] = (float)m, batch_var[ch] = (float)v;
        double use_m = mean ? mean[ch] : m, use_v = var ? var[ch] : v;
        for (int64_t i = 0; i < n; i++)
            for (int64_t k = 0; k < inner; k++) {
                int64_t at = (i * c + ch) * inner + k;
                f32(y)[at] = (float)((f32(x)[at] - use_m) / sqrt(use_v + eps) * f32(gamma)[ch] +
                                     f32(beta)[ch]);
            }
    }
    return y;
}

static void test_batch_norm(void)
{
    am_scope_begin();
    am_block *bn = am_batch_norm_layer(&(am_batch_norm_opts){.gamma_init = am_init_normal(1),
                                                             .beta_init = am_init_normal(1)});
    CU_ASSERT_PTR_NOT_NULL_FATAL(bn);
    CU_ASSERT_EQUAL(am_block_initialize(bn, NULL), AM_OK);
    static const char *names[] = {"gamma", "beta", "running_mean", "running_var"};
    for (int i = 0; i < 4; i++) CU_ASSERT(param_shape_is(bn, names[i], AM_SHAPE(0)));
    CU_ASSERT_EQUAL(am_param_grad_req(param(bn, "gamma")), AM_GRAD_WRITE);
    CU_ASSERT_EQUAL(am_param_grad_req(param(bn, "running_mean")), AM_GRAD_NULL);
    CU_ASSERT_EQUAL(am_param_grad_req(param(bn, "running_var")), AM_GRAD_NULL);
    am_array *x = tu_random(AM_SHAPE(4, 3, 2, 5), F32, -1, 3);

    /* inference: the running statistics (zeros, ones) and no update */
    am_array *y = am_block_call(bn, x);
    for (int i = 0; i < 4; i++) CU_ASSERT(param_shape_is(bn, names[i], AM_SHAPE(3)));
    CU_ASSERT(tu_allclose(pdata(bn, "running_var"), am_ones(AM_SHAPE(3), F32), 0));
    float zero[3] = {0}, one[3] = {1, 1, 1}, bm[3], bv[3];
    am_array *g = pdata(bn, "gamma"), *b = pdata(bn, "beta");
    CU_ASSERT(tu_allclose(y, ref_batch_norm(x, g, b, zero, one, 1e-5, NULL, NULL), 1e-5));

    /* training: batch statistics, and the running ones move by 1 - momentum */
    am_autograd_pause_begin(true);
    y = am_block_call(bn, x);
    am_autograd_end();
    CU_ASSERT(tu_allclose(y, ref_batch_norm(x, g, b, NULL, NULL, 1e-5, bm, bv), 1e-5));
    float rm[3], rv[3];
    for (int i = 0; i < 3; i++) rm[i] = 0.1f * bm[i], rv[i] = 0.9f + 0.1f * bv[i];
    CU_ASSERT(tu_allclose(pdata(bn, "running_mean"), am_from_buffer(rm, AM_SHAPE(3), F32), 1e-5));
    CU_ASSERT(tu_allclose(pdata(bn, "running_var"), am_from_buffer(rv, AM_SHAPE(3), F32), 1e-5));

    /* inference now uses the updated statistics */
    y = am_block_call(bn, x);
    CU_ASSERT(tu_allclose(y, ref_batch_norm(x, g, b, rm, rv, 1e-5, NULL, NULL), 1e-5));

    /* the same hybridized, from the initial statistics */
    am_param_set_data(param(bn, "running_mean"), am_zeros(AM_SHAPE(3), F32));
    am_param_set_data(param(bn, "running_var"), am_ones(AM_SHAPE(3), F32));
    CU_ASSERT_EQUAL(am_block_hybridize(bn, true, NULL), AM_OK);
    am_autograd_pause_begin(true);
    y = am_block_call(bn, x);
    am_autograd_end();
    CU_ASSERT(tu_allclose(y, ref_batch_norm(x, g, b, NULL, NULL, 1e-5, NULL, NULL), 1e-5));
    CU_ASSERT(tu_allclose(pdata(bn, "running_mean"), am_from_buffer(rm, AM_SHAPE(3), F32), 1e-5));
    CU_ASSERT(tu_allclose(pdata(bn, "running_var"), am_from_buffer(rv, AM_SHAPE(3), F32), 1e-5));
    y = am_block_call(bn, x);
    CU_ASSERT(tu_allclose(y, ref_batch_norm(x, g, b, rm, rv, 1e-5, NULL, NULL), 1e-5));
    CU_ASSERT_EQUAL(am_block_hybridize(bn, false, NULL), AM_OK);

    check_layer1(bn, x, true);
    check_layer1(bn, x, false);
    am_block_release(bn);
    am_scope_end();
}

static void test_batch_norm_options(void)
{
    am_scope_begin();
    am_block *bn = am_batch_norm_layer(&(am_batch_norm_opts){
        .axis = -1, .momentum = 0.5, .epsilon = 0.1, .no_scale = true, .no_center = true,
        .in_channels = 4, .gamma_init = am_init_constant(2), .running_var_init = am_init_one()});
    CU_ASSERT_PTR_NOT_NULL_FATAL(bn);
    CU_ASSERT(param_shape_is(bn, "gamma", AM_SHAPE(4)));
    CU_ASSERT_EQUAL(am_param_grad_req(param(bn, "gamma")), AM_GRAD_NULL);
    CU_ASSERT_EQUAL(am_param_grad_req(param(bn, "beta")), AM_GRAD_NULL);
    CU_ASSERT_EQUAL(am_block_initialize(bn, NULL), AM_OK);
    /* channels last: (2, 3, 4) seen as 6 samples of 4 channels */
    am_array *x = tu_random(AM_SHAPE(2, 3, 4), F32, -2, 2);
    am_autograd_pause_begin(true);
    am_array *y = am_block_call(bn, x);
    am_autograd_end();
    float bm[4], bv[4];
    am_array *ones = am_ones(AM_SHAPE(4), F32), *zeros = am_zeros(AM_SHAPE(4), F32);
    am_array *ref = ref_batch_norm(am_reshape(x, AM_SHAPE(6, 4)), ones, zeros, NULL, NULL, 0.1,
                                   bm, bv);
    CU_ASSERT(tu_allclose(y, am_reshape(ref, AM_SHAPE(2, 3, 4)), 1e-5)); /* gamma 2 unused */
    float rm[4];
    for (int i = 0; i < 4; i++) rm[i] = 0.5f * bm[i];
    CU_ASSERT(tu_allclose(pdata(bn, "running_mean"), am_from_buffer(rm, AM_SHAPE(4), F32), 1e-5));
    check_layer1(bn, x, true);
    am_block_release(bn);

    /* use_global_stats: running statistics even in training, and no update */
    bn = am_batch_norm_layer(&(am_batch_norm_opts){.use_global_stats = true,
                                                   .running_mean_init = am_init_constant(0.5)});
    CU_ASSERT_EQUAL(am_block_initialize(bn, NULL), AM_OK);
    am_array *x4 = tu_random(AM_SHAPE(2, 3, 4), F32, -1, 1);
    am_autograd_pause_begin(true);
    y = am_block_call(bn, x4);
    am_autograd_end();
    float half[3] = {0.5f, 0.5f, 0.5f}, one[3] = {1, 1, 1};
    ref = ref_batch_norm(x4, pdata(bn, "gamma"), pdata(bn, "beta"), half, one, 1e-5, NULL, NULL);
    CU_ASSERT(tu_allclose(y, ref, 1e-5));
    CU_ASSERT(tu_allclose(pdata(bn, "running_mean"), am_full(AM_SHAPE(3), F32, 0.5), 0));
    check_layer1(bn, x4, true);
    am_block_release(bn);

    TU_ASSERT_FAILS(am_batch_norm_layer(&(am_batch_norm_opts){.momentum = 1.5}), AM_ERR_ARG,
                    "momentum");
    TU_ASSERT_FAILS(am_batch_norm_layer(&(am_batch_norm_opts){.epsilon = -1}), AM_ERR_ARG,
                    "epsilon");
    bn = am_batch_norm_layer(&(am_batch_norm_opts){.in_channels = 3});
    CU_ASSERT_EQUAL(am_block_initialize(bn, NULL), AM_OK);
    TU_ASSERT_FAILS(am_block_call(bn, tu_random(AM_SHAPE(2, 4, 5), F32, -1, 1)), AM_ERR_SHAPE,
                    "BatchNorm");
    am_block_release(bn);
    am_scope_end();
}

/* (x - mean) / sqrt(var + eps) * gamma[c] + beta[c] over groups of x (N, C, S):
 * a group is `per` consecutive channels of one sample; gamma has C / per
 * entries (one per group) or C (one per channel) as `per_channel` says. */
static am_array *ref_group_stats(am_array *x, am_array *gamma, am_array *beta, int64_t per,
                                 bool per_channel, double eps)
{
    am_shape s = am_array_shape(x);
    int64_t n = s.dim[0], c = s.dim[1], inner = am_array_size(x) / (n * c);
    int64_t len = per * inner;
    am_array *y = am_zeros(s, F32);
    for (int64_t gi = 0; gi < n * c / per; gi++) {
        const float *v = f32(x) + gi * len;
        double m = 0, var = 0;
        for (int64_t k = 0; k < len; k++) m += v[k];
        m /= (double)len;
        for (int64_t k = 0; k < len; k++) var += (v[k] - m) * (v[k] - m);
        var /= (double)len;
        for (int64_t k = 0; k < len; k++) {
            int64_t ch = (gi * per + k / inner) % c, at = per_channel ? ch : ch / per;
            f32(y)[gi * len + k] =
                (float)((v[k] - m) / sqrt(var + eps) * f32(gamma)[at] + f32(beta)[at]);
        }
    }
    return y;
}

static void test_instance_norm(void)
{
    am_scope_begin();
    am_block *n = am_instance_norm_layer(&(am_instance_norm_opts){
        .scale = true, .gamma_init = am_init_normal(1), .beta_init = am_init_normal(1)});
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_EQUAL(am_block_initialize(n, NULL), AM_OK);
    CU_ASSERT(param_shape_is(n, "gamma", AM_SHAPE(0)));
    am_array *x = tu_random(AM_SHAPE(2, 3, 4, 2), F32, -1, 2);
    am_array *y = am_block_call(n, x);
    CU_ASSERT(param_shape_is(n, "beta", AM_SHAPE(3)));
    CU_ASSERT(tu_allclose(y, ref_group_stats(x, pdata(n, "gamma"), pdata(n, "beta"), 1, true,
                                             1e-5), 1e-5));
    check_layer1(n, x, true);
    am_block_release(n);

    /* Gluon's default: gamma does not learn; the channels on axis 2 */
    n = am_instance_norm_layer(&(am_instance_norm_opts){.axis = 2, .epsilon = 0.01,
                                                        .beta_init = am_init_normal(1)});
    CU_ASSERT_EQUAL(am_param_grad_req(param(n, "gamma")), AM_GRAD_NULL);
    CU_ASSERT_EQUAL(am_param_grad_req(param(n, "beta")), AM_GRAD_WRITE);
    CU_ASSERT_EQUAL(am_block_initialize(n, NULL), AM_OK);
    y = am_block_call(n, x);
    CU_ASSERT(param_shape_is(n, "gamma", AM_SHAPE(4)));
    am_array *xs = am_swap_axis(x, 1, 2);
    am_array *ref = ref_group_stats(xs, pdata(n, "gamma"), pdata(n, "beta"), 1, true, 0.01);
    CU_ASSERT(tu_allclose(y, am_swap_axis(ref, 1, 2), 1e-5));
    check_layer1(n, x, true);
    am_block_release(n);

    TU_ASSERT_FAILS(am_instance_norm_layer(&(am_instance_norm_opts){.in_channels = -2}),
                    AM_ERR_ARG, "in_channels");
    n = am_instance_norm_layer(NULL);
    CU_ASSERT_EQUAL(am_block_initialize(n, NULL), AM_OK);
    TU_ASSERT_FAILS(am_block_call(n, tu_random(AM_SHAPE(2, 3), F32, -1, 1)), AM_ERR_SHAPE,
                    "InstanceNorm");
    am_block_release(n);
    am_scope_end();
}

static void test_layer_norm(void)
{
    am_scope_begin();
    am_block *n = am_layer_norm_layer(&(am_layer_norm_opts){.gamma_init = am_init_normal(1),
                                                            .beta_init = am_init_normal(1)});
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_EQUAL(am_block_initialize(n, NULL), AM_OK);
    am_array *x = tu_random(AM_SHAPE(3, 2, 5), F32, -1, 2);
    am_array *y = am_block_call(n, x);
    CU_ASSERT(param_shape_is(n, "gamma", AM_SHAPE(5)));
    /* each row of 5 is a "sample" with 5 channels of one element */
    am_array *ref = ref_group_stats(am_reshape(x, AM_SHAPE(6, 5)), pdata(n, "gamma"),
                                    pdata(n, "beta"), 5, true, 1e-5);
    CU_ASSERT(tu_allclose(y, am_reshape(ref, AM_SHAPE(3, 2, 5)), 1e-5));
    check_layer1(n, x, true);
    am_block_release(n);

    /* axis 1, no scale or center: gamma and beta keep 1 and 0 */
    n = am_layer_norm_layer(&(am_layer_norm_opts){.axis = 1, .no_scale = true,
                                                  .no_center = true, .in_channels = 2});
    CU_ASSERT_EQUAL(am_param_grad_req(param(n, "gamma")), AM_GRAD_NULL);
    CU_ASSERT_EQUAL(am_param_grad_req(param(n, "beta")), AM_GRAD_NULL);
    CU_ASSERT_EQUAL(am_block_initialize(n, NULL), AM_OK);
    y = am_block_call(n, x);
    am_array *xt = am_reshape(am_swap_axis(x, 1, 2), AM_SHAPE(15, 2));
    ref = ref_group_stats(xt, pdata(n, "gamma"), pdata(n, "beta"), 2, true, 1e-5);
    CU_ASSERT(tu_allclose(y, am_swap_axis(am_reshape(ref, AM_SHAPE(3, 5, 2)), 1, 2), 1e-5));
    check_layer1(n, x, true);
    TU_ASSERT_FAILS(am_block_call(n, tu_random(AM_SHAPE(3, 4), F32, -1, 1)), AM_ERR_SHAPE,
                    "LayerNorm");
    am_block_release(n);
    am_scope_end();
}

static void test_group_norm(void)
{
    am_scope_begin();
    am_block *n = am_group_norm_layer(&(am_group_norm_opts){
        .num_groups = 2, .gamma_init = am_init_normal(1), .beta_init = am_init_normal(1)});
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT(param_shape_is(n, "gamma", AM_SHAPE(2)));
    CU_ASSERT(param_shape_is(n, "beta", AM_SHAPE(2)));
    CU_ASSERT_EQUAL(am_block_initialize(n, NULL), AM_OK);
    am_array *x = tu_random(AM_SHAPE(2, 4, 3), F32, -1, 2);
    am_array *y = am_block_call(n, x);
    CU_ASSERT(tu_allclose(y, ref_group_stats(x, pdata(n, "gamma"), pdata(n, "beta"), 2, false,
                                             1e-5), 1e-5));
    check_layer1(n, x, true);
    am_block_release(n);

    n = am_group_norm_layer(NULL); /* one group */
    CU_ASSERT(param_shape_is(n, "gamma", AM_SHAPE(1)));
    CU_ASSERT_EQUAL(am_block_initialize(n, NULL), AM_OK);
    y = am_block_call(n, x);
    CU_ASSERT(tu_allclose(y, ref_group_stats(x, pdata(n, "gamma"), pdata(n, "beta"), 4, false,
                                             1e-5), 1e-5));
    am_block_release(n);

    TU_ASSERT_FAILS(am_group_norm_layer(&(am_group_norm_opts){.num_groups = -1}), AM_ERR_ARG,
                    "num_groups");
    n = am_group_norm_layer(&(am_group_norm_opts){.num_groups = 3});
    CU_ASSERT_EQUAL(am_block_initialize(n, NULL), AM_OK);
    TU_ASSERT_FAILS(am_block_call(n, x), AM_ERR_ARG, "GroupNorm: num_groups 3 does not divide");
    am_block_release(n);
    am_scope_end();
}

/* ---- Dropout and Flatten --------------------------------------------------------------------- */

/* The fraction of zeros in y (ones dropped); every other value must be scale. */
static double dropped_fraction(am_array *y, double scale)
{
    int64_t n = am_array_size(y), zeros = 0;
    for (int64_t i = 0; i < n; i++) {
        if (f32(y)[i] == 0) zeros++;
        else CU_ASSERT_DOUBLE_EQUAL(f32(y)[i], scale, 1e-5);
    }
    return (double)zeros / (double)n;
}

/* Rows of y (r, c) are either all zero or all kept. */
static bool rows_share_mask(am_array *y)
{
    int64_t r = am_array_dim(y, 0), c = am_array_dim(y, 1);
    for (int64_t i = 0; i < r; i++)
        for (int64_t j = 1; j < c; j++)
            if ((f32(y)[i * c + j] == 0) != (f32(y)[i * c] == 0)) return false;
    return true;
}

static void test_dropout(void)
{
    am_scope_begin();
    am_block *d = am_dropout_layer(0.3, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    am_array *x = am_ones(AM_SHAPE(100, 50), F32);
    CU_ASSERT(tu_allclose(am_block_call(d, x), x, 0)); /* inference: the identity */
    check_layer1(d, x, false);
    for (int hybrid = 0; hybrid < 2; hybrid++) {
        CU_ASSERT_EQUAL(am_block_hybridize(d, hybrid, NULL), AM_OK);
        am_autograd_pause_begin(true);
        am_array *y = am_block_call(d, x);
        am_autograd_end();
        CU_ASSERT_PTR_NOT_NULL_FATAL(y);
        double f = dropped_fraction(y, 1 / 0.7); /* 5000 draws: sd 0.0065 */
        CU_ASSERT(f > 0.27 && f < 0.33);
    }
    CU_ASSERT_EQUAL(am_block_hybridize(d, false, NULL), AM_OK);
    am_block_release(d);

    /* one mask value per row: axes (1,) */
    d = am_dropout_layer(0.5, &(am_dropout_opts){.axes = AM_SHAPE(1)});
    for (int hybrid = 0; hybrid < 2; hybrid++) {
        CU_ASSERT_EQUAL(am_block_hybridize(d, hybrid, NULL), AM_OK);
        am_autograd_pause_begin(true);
        am_array *y = am_block_call(d, x);
        am_autograd_end();
        CU_ASSERT_PTR_NOT_NULL_FATAL(y);
        double f = dropped_fraction(y, 2);
        CU_ASSERT(f > 0.3 && f < 0.7); /* 100 draws */
        CU_ASSERT(rows_share_mask(y));
    }
    CU_ASSERT_EQUAL(am_block_hybridize(d, false, NULL), AM_OK);
    check_layer1(d, x, false);
    am_block_release(d);

    /* rate 0 is a copy, also in training */
    d = am_dropout_layer(0, NULL);
    am_autograd_pause_begin(true);
    CU_ASSERT(tu_allclose(am_block_call(d, x), x, 0));
    am_autograd_end();
    check_layer1(d, tu_random(AM_SHAPE(3, 4), F32, -1, 1), true);
    am_block_release(d);

    TU_ASSERT_FAILS(am_dropout_layer(1, NULL), AM_ERR_ARG, "rate must be in [0, 1)");
    TU_ASSERT_FAILS(am_dropout_layer(-0.1, NULL), AM_ERR_ARG, "rate");
    d = am_dropout_layer(0.5, &(am_dropout_opts){.axes = AM_SHAPE(3)});
    am_autograd_pause_begin(true);
    TU_ASSERT_FAILS(am_block_call(d, x), AM_ERR_ARG, "Dropout");
    am_autograd_end();
    am_block_release(d);
    am_scope_end();
}

static void test_flatten(void)
{
    am_scope_begin();
    am_block *f = am_flatten_layer();
    CU_ASSERT_STRING_EQUAL(am_block_type(f), "Flatten");
    am_array *x = tu_random(AM_SHAPE(2, 3, 2, 2), F32, -1, 1);
    am_array *y = am_block_call(f, x);
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 12)));
    CU_ASSERT_EQUAL(memcmp(f32(y), f32(x), 24 * sizeof(float)), 0);
    check_layer1(f, x, true);
    TU_ASSERT_FAILS(am_block_call_at(f, NULL, 0, AM_HERE), AM_ERR_ARG,
                    "Flatten: takes 1 input, got 0");
    am_block_release(f);
    am_scope_end();
}

/* ---- activations ----------------------------------------------------------------------------- */

typedef double (*scalar_fn)(double x, double a);

static double f_relu(double x, double a) { return (void)a, x > 0 ? x : 0; }
static double f_sigmoid(double x, double a) { return (void)a, 1 / (1 + exp(-x)); }
static double f_tanh(double x, double a) { return (void)a, tanh(x); }
static double f_softrelu(double x, double a) { return (void)a, log1p(exp(x)); }
static double f_softsign(double x, double a) { return (void)a, x / (1 + fabs(x)); }
static double f_log_sigmoid(double x, double a) { return (void)a, -log1p(exp(-x)); }
static double f_mish(double x, double a) { return (void)a, x * tanh(log1p(exp(x))); }
static double f_leaky(double x, double a) { return x >= 0 ? x : a * x; }
static double f_elu(double x, double a) { return x > 0 ? x : a * expm1(x); }
static double f_gelu(double x, double a) { return (void)a, 0.5 * x * (1 + erf(x / sqrt(2))); }
static double f_swish(double x, double a) { return x / (1 + exp(-a * x)); }
static double f_selu(double x, double a)
{
    (void)a;
    return 1.0507009873554804934 * (x > 0 ? x : 1.6732632423543772848 * expm1(x));
}

/* f applied to every element of x. */
static am_array *ref_map(am_array *x, scalar_fn f, double a)
{
    am_array *y = am_zeros(am_array_shape(x), F32);
    for (int64_t i = 0; i < am_array_size(x); i++) f32(y)[i] = (float)f(f32(x)[i], a);
    return y;
}

/* b against f on values across [-4, 4), then eager against hybridized. */
static void check_elementwise(am_block *b, scalar_fn f, double a)
{
    am_scope_begin();
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    am_array *x = tu_random(AM_SHAPE(4, 3, 5), F32, -4, 4);
    am_array *y = am_block_call(b, x);
    if (!tu_allclose(y, ref_map(x, f, a), 1e-5)) {
        printf("  (%s)\n", am_block_type(b));
        CU_FAIL("values");
    }
    check_layer1(b, x, true);
    am_block_release(b);
    am_scope_end();
}

static void test_activation(void)
{
    static const struct { const char *name; scalar_fn f; } acts[] = {
        {"relu", f_relu}, {"sigmoid", f_sigmoid}, {"tanh", f_tanh}, {"softrelu", f_softrelu},
        {"softsign", f_softsign}, {"log_sigmoid", f_log_sigmoid}, {"mish", f_mish}};
    for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
        am_block *a = am_activation_layer(acts[i].name);
        CU_ASSERT_STRING_EQUAL(am_block_type(a), "Activation");
        check_elementwise(a, acts[i].f, 0);
    }
    /* the name is copied */
    char name[8] = "tanh";
    am_block *a = am_activation_layer(name);
    strcpy(name, "xxxx");
    check_elementwise(a, f_tanh, 0);
    TU_ASSERT_FAILS(am_activation_layer("gelu"), AM_ERR_ARG,
                    "am_activation_layer: activation 'gelu' is not one of");
    TU_ASSERT_FAILS(am_activation_layer(NULL), AM_ERR_ARG, "activation '(null)'");
}

static void test_leaky_family(void)
{
    check_elementwise(am_leaky_relu_layer(0.1), f_leaky, 0.1);
    check_elementwise(am_elu(1.0), f_elu, 1.0);
    check_elementwise(am_elu(0.5), f_elu, 0.5);
    check_elementwise(am_selu(), f_selu, 0);
    check_elementwise(am_gelu(), f_gelu, 0);
    check_elementwise(am_swish(1.0), f_swish, 1.0);
    check_elementwise(am_swish(2.5), f_swish, 2.5);
    am_block *b = am_elu(1);
    CU_ASSERT_STRING_EQUAL(am_block_type(b), "ELU");
    am_block_release(b);
    TU_ASSERT_FAILS(am_leaky_relu_layer(-0.1), AM_ERR_ARG, "alpha must be at least 0");
    TU_ASSERT_FAILS(am_swish(NAN), AM_ERR_ARG, "beta");
}

static void test_prelu(void)
{
    am_scope_begin();
    am_block *p = am_prelu(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT(param_shape_is(p, "alpha", AM_SHAPE(1)));
    /* alpha keeps its own initializer, 0.25 */
    CU_ASSERT_EQUAL(am_block_initialize(p, (am_init[]){am_init_uniform(1)}), AM_OK);
    CU_ASSERT(tu_allclose(pdata(p, "alpha"), am_full(AM_SHAPE(1), F32, 0.25), 0));
    am_array *x = tu_random(AM_SHAPE(2, 3, 4), F32, -2, 2);
    CU_ASSERT(tu_allclose(am_block_call(p, x), ref_map(x, f_leaky, 0.25), 1e-6));
    check_layer1(p, x, true);
    am_block_release(p);

    /* one slope per channel */
    p = am_prelu(&(am_prelu_opts){.in_channels = 3, .alpha_init = am_init_uniform(1)});
    CU_ASSERT_EQUAL(am_block_initialize(p, NULL), AM_OK);
    am_array *y = am_block_call(p, x), *alpha = pdata(p, "alpha");
    CU_ASSERT(shape_is(alpha, AM_SHAPE(3)));
    am_array *ref = am_zeros(AM_SHAPE(2, 3, 4), F32);
    for (int64_t i = 0; i < 24; i++)
        f32(ref)[i] = (float)f_leaky(f32(x)[i], f32(alpha)[i / 4 % 3]);
    CU_ASSERT(tu_allclose(y, ref, 1e-6));
    check_layer1(p, x, true);
    am_block_release(p);
    TU_ASSERT_FAILS(am_prelu(&(am_prelu_opts){.in_channels = -1}), AM_ERR_ARG, "in_channels");
    am_scope_end();
}

/* ---- Embedding ------------------------------------------------------------------------------- */

static void test_embedding(void)
{
    am_scope_begin();
    am_block *e = am_embedding_layer(10, 4, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT(param_shape_is(e, "weight", AM_SHAPE(10, 4)));
    CU_ASSERT_EQUAL(am_block_initialize(e, NULL), AM_OK);
    am_array *idx = tu_array(F32, AM_SHAPE(2, 3), 0, 9, 3, 3, 7, 1);
    am_array *y = am_block_call(e, idx), *w = pdata(e, "weight");
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 3, 4)));
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(memcmp(f32(y) + 4 * i, f32(w) + 4 * (int)f32(idx)[i], 4 * sizeof(float)),
                        0);
    check_layer1(e, idx, true);
    am_block_release(e);

    e = am_embedding_layer(5, 2, &(am_embedding_opts){.weight_init = am_init_constant(3)});
    CU_ASSERT_EQUAL(am_block_initialize(e, NULL), AM_OK);
    CU_ASSERT(tu_allclose(pdata(e, "weight"), am_full(AM_SHAPE(5, 2), F32, 3), 0));
    am_block_release(e);
    TU_ASSERT_FAILS(am_embedding_layer(0, 4, NULL), AM_ERR_ARG, "input_dim must be positive");
    TU_ASSERT_FAILS(am_embedding_layer(4, -1, NULL), AM_ERR_ARG, "output_dim");
    am_scope_end();
}

/* ---- Lambda ---------------------------------------------------------------------------------- */

/* in[0] * ctx + in[1] */
static am_array *scaled_sum(am_array *const *in, int n_in, void *ctx)
{
    if (n_in != 2) {
        am_fail(AM_ERR_ARG, "scaled_sum: takes 2 inputs");
        return NULL;
    }
    return am_add(am_mul_scalar(in[0], *(double *)ctx), in[1]);
}

/* Reads a value: runs eagerly, cannot be traced. */
static am_array *reads_value(am_array *const *in, int n_in, void *ctx)
{
    (void)n_in, (void)ctx;
    double first = am_item(in[0], 0);
    return first == first ? am_relu(in[0]) : NULL;
}

static void test_lambda(void)
{
    am_scope_begin();
    double scale = 3;
    am_block *l = am_lambda(scaled_sum, &scale);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_STRING_EQUAL(am_block_type(l), "Lambda");
    am_array *in[2] = {tu_random(AM_SHAPE(2, 3), F32, -1, 1), tu_random(AM_SHAPE(3), F32, -1, 1)};
    am_array *y = am_block_call2(l, in[0], in[1]);
    CU_ASSERT(tu_allclose(y, am_add(am_mul_scalar(in[0], 3), in[1]), 1e-6));
    check_layer(l, in, 2, true, 1e-5);
    TU_ASSERT_FAILS(am_block_call(l, in[0]), AM_ERR_ARG, "scaled_sum: takes 2 inputs");
    am_block_release(l);

    l = am_lambda(reads_value, NULL);
    CU_ASSERT_PTR_NOT_NULL(am_block_call(l, in[0]));
    CU_ASSERT_EQUAL(am_block_hybridize(l, true, NULL), AM_OK);
    TU_ASSERT_FAILS(am_block_call(l, in[0]), AM_ERR_SYMBOLIC, "");
    am_block_release(l);
    TU_ASSERT_FAILS(am_lambda(NULL, NULL), AM_ERR_ARG, "am_lambda: the function is NULL");
    am_scope_end();
}

/* ---- containers ------------------------------------------------------------------------------ */

static void test_sequential(void)
{
    am_scope_begin();
    am_block *net = am_sequential();
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    am_block *fc1 = am_sequential_add(net, am_dense(8, &(am_dense_opts){.activation = "relu"}));
    am_block *bn = am_sequential_add(net, am_batch_norm_layer(NULL));
    am_block *fc2 = am_sequential_add(net, am_dense(3, NULL));
    CU_ASSERT_PTR_NOT_NULL_FATAL(fc2);
    CU_ASSERT_EQUAL(am_block_num_children(net), 3);
    CU_ASSERT_STRING_EQUAL(am_block_child_name(net, 2), "2");
    CU_ASSERT_PTR_EQUAL(am_block_child(net, 1), bn);
    CU_ASSERT_EQUAL(am_block_initialize(net, NULL), AM_OK);
    am_array *x = tu_random(AM_SHAPE(4, 5), F32, -1, 1);
    am_array *y = am_block_call(net, x);
    CU_ASSERT(shape_is(y, AM_SHAPE(4, 3)));
    CU_ASSERT(tu_allclose(y, am_block_call(fc2, am_block_call(bn, am_block_call(fc1, x))), 0));
    static const char *names[] = {"0.weight", "0.bias", "1.gamma", "1.beta", "1.running_mean",
                                  "1.running_var", "2.weight", "2.bias"};
    am_param *ps[16];
    CU_ASSERT_EQUAL_FATAL(am_block_collect_params(net, NULL, ps, 16), 8);
    for (int i = 0; i < 8; i++) CU_ASSERT_STRING_EQUAL(am_param_name(ps[i]), names[i]);
    check_layer1(net, x, true);
    check_layer1(net, x, false);

    TU_ASSERT_FAILS(am_sequential_add(fc1, am_dense(2, NULL)), AM_ERR_ARG,
                    "the container is Dense, not a Sequential");
    TU_ASSERT_FAILS(am_sequential_add(net, am_dense(-2, NULL)), AM_ERR_ARG, "am_dense");
    TU_ASSERT_FAILS(am_sequential_add(NULL, am_flatten_layer()), AM_ERR_ARG, "NULL");
    CU_ASSERT_EQUAL(am_block_num_children(net), 3);
    am_block_release(net);

    /* no children: the identity */
    net = am_sequential();
    CU_ASSERT(tu_allclose(am_block_call(net, x), x, 0));
    am_block_release(net);
    am_scope_end();
}

static void test_concatenate(void)
{
    am_scope_begin();
    am_block *cat = am_concatenate(1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cat);
    CU_ASSERT_STRING_EQUAL(am_block_type(cat), "Concatenate");
    am_array *x = tu_random(AM_SHAPE(2, 4), F32, -1, 1);
    TU_ASSERT_FAILS(am_block_call(cat, x), AM_ERR_ARG, "Concatenate: has 0 children");
    am_block *a = am_sequential_add(cat, am_dense(3, &(am_dense_opts){
                                                        .bias_init = am_init_normal(1)}));
    am_block *b = am_sequential_add(cat, am_dense(5, NULL));
    am_block *c = am_sequential_add(cat, am_activation_layer("sigmoid"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(am_block_initialize(cat, NULL), AM_OK);
    am_array *y = am_block_call(cat, x);
    CU_ASSERT(shape_is(y, AM_SHAPE(2, 12)));
    am_array *parts[3] = {am_block_call(a, x), am_block_call(b, x), am_block_call(c, x)};
    CU_ASSERT(tu_allclose(y, am_concat(parts, 3, 1), 0));
    CU_ASSERT_PTR_NOT_NULL(param(cat, "1.weight"));
    check_layer1(cat, x, true);
    am_block_release(cat);

    /* Gluon's default axis, -1, on 3-D data */
    cat = am_concatenate(-1);
    am_sequential_add(cat, am_dense(2, &(am_dense_opts){.no_flatten = true}));
    am_sequential_add(cat, am_dense(3, &(am_dense_opts){.no_flatten = true}));
    CU_ASSERT_EQUAL(am_block_initialize(cat, NULL), AM_OK);
    am_array *x3 = tu_random(AM_SHAPE(2, 3, 4), F32, -1, 1);
    CU_ASSERT(shape_is(am_block_call(cat, x3), AM_SHAPE(2, 3, 5)));
    check_layer1(cat, x3, true);
    am_block_release(cat);
    am_scope_end();
}

/* ---- traced graphs ----------------------------------------------------------------------- */

/*
 * b traced on an input of shape in must hold every item of want, a list of
 * "key=value" separated by '|': an op ("op=Convolution") or an attribute as
 * the graph's JSON writes it ("kernel=(3, 3)").  b is released.
 */
static void check_traced(am_block *b, am_shape in, const char *want)
{
    char item[128], pat[160];
    am_scope_begin();
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    am_array *x = am_zeros(in, F32);
    am_graph *g = am_block_trace(b, &x, 1);
    char *js = g ? am_graph_to_json(g) : NULL;
    if (!js) printf("\n  tracing %s failed: %s\n", am_block_type(b), am_last_error());
    CU_ASSERT_PTR_NOT_NULL(js);
    for (const char *p = want; js && *p;) {
        size_t n = strcspn(p, "|");
        snprintf(item, sizeof(item), "%.*s", (int)n, p);
        char *eq = strchr(item, '=');
        *eq = '\0';
        snprintf(pat, sizeof(pat), "\"%s\": \"%s\"", item, eq + 1);
        if (!strstr(js, pat)) {
            printf("\n  %s: the traced graph lacks %s\n", am_block_type(b), pat);
            CU_FAIL("traced graph");
        }
        p += n + (p[n] == '|');
    }
    free(js);
    am_graph_release(g);
    am_block_release(b);
    am_scope_end();
}

/* The ops and attribute values Gluon's layers give their ops.  Graphs traced
 * from ops write required attributes and those that differ from the op's
 * default (Gluon's also write the defaults it passes). */
static void test_traced_attributes(void)
{
    am_shape img = AM_SHAPE(2, 4, 6, 6), vec = AM_SHAPE(2, 4);
    check_traced(am_dense(3, &(am_dense_opts){.no_bias = true, .no_flatten = true}), vec,
                 "op=FullyConnected|num_hidden=3|no_bias=True|flatten=False");
    check_traced(am_conv2d(6, AM_SHAPE(3, 3),
                           &(am_conv_opts){.strides = AM_SHAPE(2, 1), .padding = AM_SHAPE(1),
                                           .dilation = AM_SHAPE(1, 2), .groups = 2}), img,
                 "op=Convolution|kernel=(3, 3)|stride=(2, 1)|pad=(1, 1)|dilate=(1, 2)|"
                 "num_filter=6|num_group=2");
    check_traced(am_conv2d_transpose(4, AM_SHAPE(3), &(am_conv_opts){
                     .strides = AM_SHAPE(2), .padding = AM_SHAPE(1),
                     .output_padding = AM_SHAPE(1)}), img,
                 "op=Deconvolution|kernel=(3, 3)|stride=(2, 2)|adj=(1, 1)|num_filter=4|"
                 "no_bias=False");
    check_traced(am_max_pool2d(&(am_pool_opts){.pool_size = AM_SHAPE(3), .ceil_mode = true}),
                 img, "op=Pooling|kernel=(3, 3)|stride=(3, 3)|pooling_convention=full");
    check_traced(am_avg_pool2d(&(am_pool_opts){.exclude_pad = true}), img,
                 "pool_type=avg|kernel=(2, 2)|count_include_pad=False");
    check_traced(am_global_avg_pool2d(), img,
                 "pool_type=avg|global_pool=True|kernel=(1, 1)|pooling_convention=full");
    check_traced(am_batch_norm_layer(&(am_batch_norm_opts){.momentum = 0.5, .axis = -1}), img,
                 "op=BatchNorm|eps=1e-05|momentum=0.5|fix_gamma=False|axis=-1");
    check_traced(am_batch_norm_layer(&(am_batch_norm_opts){.use_global_stats = true}), img,
                 "use_global_stats=True|fix_gamma=False");
    check_traced(am_instance_norm_layer(NULL), img, "op=InstanceNorm|eps=1e-05");
    check_traced(am_instance_norm_layer(&(am_instance_norm_opts){.axis = 2}), img,
                 "op=SwapAxis|dim1=1|dim2=2|op=InstanceNorm");
    check_traced(am_layer_norm_layer(&(am_layer_norm_opts){.axis = 1}), img,
                 "op=LayerNorm|axis=1");
    check_traced(am_group_norm_layer(&(am_group_norm_opts){.num_groups = 2}), img,
                 "op=GroupNorm|num_groups=2");
    check_traced(am_leaky_relu_layer(0.1), vec, "op=LeakyReLU|slope=0.1");
    check_traced(am_elu(0.5), vec, "op=LeakyReLU|act_type=elu|slope=0.5");
    check_traced(am_selu(), vec, "act_type=selu");
    check_traced(am_gelu(), vec, "act_type=gelu");
    check_traced(am_prelu(NULL), vec, "act_type=prelu");
    check_traced(am_swish(2), vec, "op=_mul_scalar|op=sigmoid|op=elemwise_mul");
    check_traced(am_activation_layer("softsign"), vec, "op=Activation|act_type=softsign");
    check_traced(am_activation_layer("mish"), vec, "act_type=softrelu|op=tanh|op=elemwise_mul");
    check_traced(am_dropout_layer(0.25, NULL), vec, "op=Dropout|p=0.25");
    check_traced(am_dropout_layer(0.4, &(am_dropout_opts){.axes = AM_SHAPE(1)}), vec,
                 "op=Dropout|p=0.4|axes=(1,)");
    check_traced(am_dropout_layer(0, NULL), vec, "op=_copy");
    check_traced(am_embedding_layer(10, 3, NULL), vec, "op=Embedding|input_dim=10|output_dim=3");
    check_traced(am_flatten_layer(), img, "op=Flatten");
    am_block *cat = am_concatenate(1);
    am_sequential_add(cat, am_flatten_layer());
    am_sequential_add(cat, am_flatten_layer());
    check_traced(cat, img, "op=Concat|num_args=2");
}

/* ---- the example of docs/layers.md ----------------------------------------------------------- */

/* Kept in step with the example in docs/layers.md ("A small network"). */
static am_block *docs_example_net(void)
{
    am_block *net = am_sequential();
    am_sequential_add(net, am_conv2d(8, AM_SHAPE(3), &(am_conv_opts){.padding = AM_SHAPE(1)}));
    am_sequential_add(net, am_batch_norm_layer(NULL));
    am_sequential_add(net, am_activation_layer("relu"));
    am_sequential_add(net, am_max_pool2d(NULL));
    am_sequential_add(net, am_dropout_layer(0.25, NULL));
    am_sequential_add(net, am_dense(10, NULL));
    return net;
}

static void test_docs_example(void)
{
    am_scope_begin();
    am_block *net = docs_example_net();
    CU_ASSERT_EQUAL_FATAL(am_block_num_children(net), 6);
    am_init xavier = am_init_xavier(false, AM_INIT_FACTOR_AVG, 3);
    CU_ASSERT_EQUAL(am_block_initialize(net, &xavier), AM_OK);
    am_array *x = tu_random(AM_SHAPE(4, 3, 8, 8), F32, -1, 1);
    am_array *y = am_block_call(net, x);
    CU_ASSERT(shape_is(y, AM_SHAPE(4, 10)));
    CU_ASSERT(param_shape_is(net, "0.weight", AM_SHAPE(8, 3, 3, 3)));
    CU_ASSERT(param_shape_is(net, "5.weight", AM_SHAPE(10, 128)));
    CU_ASSERT_EQUAL(am_block_hybridize(net, true, NULL), AM_OK);
    CU_ASSERT(tu_allclose(am_block_call(net, x), y, 1e-5));
    CU_ASSERT_EQUAL(am_block_cache_stats(net).traces, 1);
    CU_ASSERT_EQUAL(am_block_hybridize(net, false, NULL), AM_OK);
    check_layer1(net, x, false);
    am_block_release(net);
    am_scope_end();
}

CU_TestInfo am_tests_layers[] = {
    {"Dense: deferred in_units, bias, activation child", test_dense},
    {"Dense without flatten acts on the last axis", test_dense_no_flatten},
    {"Dense: bad arguments and inputs", test_dense_errors},
    {"Conv2D: groups, strides, padding, dilation, deferred", test_conv2d},
    {"Conv1D", test_conv1d},
    {"Conv1DTranspose and Conv2DTranspose", test_conv_transpose},
    {"convolutions: bad arguments and inputs", test_conv_errors},
    {"MaxPool1D and MaxPool2D, ceil_mode", test_max_pool},
    {"AvgPool1D and AvgPool2D, count_include_pad", test_avg_pool},
    {"global pooling", test_global_pool},
    {"pooling: bad arguments and inputs", test_pool_errors},
    {"3-D: Conv3D, Conv3DTranspose, Max/AvgPool3D, global 3-D pools", test_layers_3d},
    {"BatchNorm: batch and running statistics", test_batch_norm},
    {"BatchNorm options: axis, momentum, scale, center, global stats", test_batch_norm_options},
    {"InstanceNorm", test_instance_norm},
    {"LayerNorm", test_layer_norm},
    {"GroupNorm", test_group_norm},
    {"Dropout: identity in inference, drop rate, shared axes", test_dropout},
    {"Flatten", test_flatten},
    {"Activation: every act_type", test_activation},
    {"LeakyReLU, ELU, SELU, GELU, Swish", test_leaky_family},
    {"PReLU: learned slopes", test_prelu},
    {"Embedding", test_embedding},
    {"Lambda", test_lambda},
    {"Sequential: chaining and structural names", test_sequential},
    {"Concatenate", test_concatenate},
    {"traced graphs carry Gluon's ops and attributes", test_traced_attributes},
    {"the docs/layers.md example", test_docs_example},
    CU_TEST_INFO_NULL,
};
