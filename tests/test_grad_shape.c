/* The grad_shape suite: gradients of the reduce, nn, shape and index ops beyond the
 * numerical gradcheck: views reaching their base, Dropout's mask, accumulation over
 * repeated indices, zeros and ties, and second derivatives (create_graph) against
 * central differences of first derivatives. */
#include "test_util.h"

/* Runs op on in[0..n_in) with the attributes "k1|k2" = "v1|v2"; NULL on failure. */
static am_array *call(const char *op, am_array **in, int n_in, const char *keys, const char *vals)
{
    const char *k[8], *v[8];
    char kb[256], vb[256];
    int n = 0;
    am_array *y = NULL;
    snprintf(kb, sizeof(kb), "%s", keys), snprintf(vb, sizeof(vb), "%s", vals);
    for (char *sk = NULL, *sv = NULL, *a = strtok_r(kb, "|", &sk), *b = strtok_r(vb, "|", &sv);
         a && b; a = strtok_r(NULL, "|", &sk), b = strtok_r(NULL, "|", &sv))
        k[n] = a, v[n++] = b;
    return am_invoke(op, in, n_in, k, v, n, &y, 1) == AM_OK ? y : NULL;
}

/* A float64 variable with random values in [lo, hi). */
static am_array *variable(am_shape s, double lo, double hi)
{
    am_array *x = tu_random(s, AM_DTYPE_FLOAT64, lo, hi);
    am_attach_grad(x, AM_GRAD_WRITE);
    return x;
}

/* d sum(y * w) / d x for a recorded y: w is y's head gradient.  Ends the recording. */
static am_array *grad_of_weighted(am_array *x, am_array *y, am_array *w)
{
    am_array *g = NULL;
    am_autograd_end();
    if (!y || am_grad_of(&y, &w, 1, &x, 1, false, false, &g) != AM_OK) return NULL;
    return g;
}

/* ---- views ------------------------------------------------------------------------------- */

static void test_view_of_slice_reaches_base(void)
{
    am_scope_begin();
    am_array *x = variable(AM_SHAPE(4, 6), -1, 1);
    am_array *w = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3, 4), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
    am_autograd_record_begin(false);
    am_array *rows = am_slice_axis(x, 0, 1, 3); /* rows 1 and 2: a view */
    am_array *v = am_reshape(rows, AM_SHAPE(3, 4));
    CU_ASSERT(am_array_is_view(rows) && am_array_is_view(v));
    am_array *g = grad_of_weighted(x, v, w);
    TU_ASSERT_VALUES(g, AM_SHAPE(4, 6), 0, 0, 0, 0, 0, 0, 0,
                     1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 0, 0, 0);

    /* A strided slice (a copy) of a flattened view, backwards, then a transpose. */
    am_autograd_record_begin(false);
    am_array *flat = am_reshape(x, AM_SHAPE(24));
    int64_t begin = -1, end = AM_NONE, step = -6;
    am_array *odd = am_slice(flat, &begin, &end, &step, 1);
    am_array *t = am_transpose(am_reshape(odd, AM_SHAPE(2, 2)), NULL, 0);
    g = grad_of_weighted(x, t, tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 2), 1, 2, 3, 4));
    /* odd = flat[23, 17, 11, 5]; t = [[23, 11], [17, 5]] weighted 1, 2, 3, 4. */
    TU_ASSERT_VALUES(g, AM_SHAPE(4, 6), 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 2,
                     0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 1);
    am_scope_end();
}

/* Gradients land in am_grad of the variable behind several views, and add up. */
static void test_backward_through_views_accumulates(void)
{
    am_scope_begin();
    am_array *x = variable(AM_SHAPE(2, 3), -1, 1);
    am_autograd_record_begin(false);
    am_array *a = am_expand_dims(am_flatten(x), 0);           /* (1, 2, 3) */
    am_array *b = am_squeeze(am_slice_axis(x, 1, 2, 3), NULL, 0); /* column 2: (2,) */
    am_autograd_end();
    am_array *g = NULL, *heads[2] = {a, b};
    CU_ASSERT_EQUAL(am_grad_of(heads, NULL, 2, &x, 1, false, false, &g), AM_OK);
    TU_ASSERT_VALUES(g, AM_SHAPE(2, 3), 0, 1, 1, 2, 1, 1, 2);
    am_scope_end();
}

/* ---- Dropout ------------------------------------------------------------------------------ */

static void test_dropout_grad_uses_forward_mask(void)
{
    am_scope_begin();
    am_array *x = am_ones(AM_SHAPE(2000), AM_DTYPE_FLOAT32);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true); /* training: Dropout drops */
    am_array *y = am_dropout(x, 0.4);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_backward(y), AM_OK);
    /* x is ones, so y is the mask itself: 0 or 1 / 0.6. */
    CU_ASSERT(tu_allclose(am_grad(x), y, 1e-6));
    int64_t kept = 0;
    for (int64_t i = 0; i < 2000; i++) kept += am_item(y, i) != 0;
    CU_ASSERT(kept > 1000 && kept < 1400);

    /* Shared along axes: the same mask for every row. */
    am_array *x2 = variable(AM_SHAPE(4, 50), 1, 2);
    am_autograd_record_begin(true);
    am_array *y2 = call("Dropout", &x2, 1, "p|axes", "0.5|(0,)");
    am_array *g = grad_of_weighted(x2, y2, am_ones(AM_SHAPE(4, 50), AM_DTYPE_FLOAT64));
    am_view gv = am_array_view(g), xv = am_array_view(x2), yv = am_array_view(y2);
    for (int64_t i = 0; i < 200; i++)
        CU_ASSERT_DOUBLE_EQUAL(am_view_get(&gv, i) * am_view_get(&xv, i), am_view_get(&yv, i),
                               1e-12);
    for (int j = 0; j < 50; j++)
        CU_ASSERT_EQUAL(am_item(g, j), am_item(g, 150 + j));

    /* Inference: the identity. */
    am_autograd_record_begin(false);
    g = grad_of_weighted(x2, am_dropout(x2, 0.5), am_ones(AM_SHAPE(4, 50), AM_DTYPE_FLOAT64));
    CU_ASSERT(tu_allclose(g, am_ones(AM_SHAPE(4, 50), AM_DTYPE_FLOAT64), 0));
    am_scope_end();
}

/* ---- indices ------------------------------------------------------------------------------ */

static void test_embedding_repeated_indices_accumulate(void)
{
    am_scope_begin();
    am_array *weight = variable(AM_SHAPE(4, 2), -1, 1);
    am_array *idx = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 1, 1, 3, 1);
    am_array *w = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 2, 2), 1, 2, 10, 20, 100, 200, 1000, 2000);
    am_autograd_record_begin(false);
    am_array *g = grad_of_weighted(weight, am_embedding(idx, weight, 4, 2), w);
    TU_ASSERT_VALUES(g, AM_SHAPE(4, 2), 0, 0, 0, 1011, 2022, 0, 0, 100, 200);

    /* Out-of-range indices are clipped, in the gradient as in the forward call. */
    idx = tu_array(AM_DTYPE_INT32, AM_SHAPE(3), -5, 9, 3);
    am_autograd_record_begin(false);
    g = grad_of_weighted(weight, am_embedding(idx, weight, 4, 2),
                         tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3, 2), 1, 2, 3, 4, 5, 6));
    TU_ASSERT_VALUES(g, AM_SHAPE(4, 2), 0, 1, 2, 0, 0, 0, 0, 8, 10);
    am_scope_end();
}

static void test_take_repeated_indices_accumulate(void)
{
    am_scope_begin();
    am_array *x = variable(AM_SHAPE(2, 3), -1, 1);
    am_array *idx = tu_array(AM_DTYPE_INT64, AM_SHAPE(4), 2, 0, 2, 5);
    am_autograd_record_begin(false);
    am_array *y = am_take_at(x, idx, 1, "wrap", AM_HERE); /* 5 wraps to 2 */
    am_array *g = grad_of_weighted(x, y, tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 4),
                                                  1, 2, 3, 4, 5, 6, 7, 8));
    TU_ASSERT_VALUES(g, AM_SHAPE(2, 3), 0, 2, 0, 8, 6, 0, 20);

    /* Many repeats of few rows, large enough for the parallel path. */
    am_array *big = variable(AM_SHAPE(3, 700), -1, 1);
    am_array *many = am_zeros(AM_SHAPE(300), AM_DTYPE_INT32);
    am_autograd_record_begin(false);
    g = grad_of_weighted(big, am_take(big, many, 0), am_ones(AM_SHAPE(300, 700), AM_DTYPE_FLOAT64));
    CU_ASSERT_DOUBLE_EQUAL(am_item(g, 0), 300, 0);
    CU_ASSERT_DOUBLE_EQUAL(am_item(g, 699), 300, 0);
    CU_ASSERT_DOUBLE_EQUAL(am_item(g, 700), 0, 0);
    am_scope_end();
}

static void test_pick_grad(void)
{
    am_scope_begin();
    am_array *x = variable(AM_SHAPE(3, 4), -1, 1);
    am_array *idx = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 3, 0, 9); /* 9 clips to 3 */
    am_autograd_record_begin(false);
    am_array *g = grad_of_weighted(x, am_pick(x, idx, 1),
                                   tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 5, 6, 7));
    TU_ASSERT_VALUES(g, AM_SHAPE(3, 4), 0, 0, 0, 0, 5, 6, 0, 0, 0, 0, 0, 0, 7);
    am_scope_end();
}

/* ---- 0-d arrays ------------------------------------------------------------------------------ */

/* Gradients reach a 0-d variable from ops whose results are (1,) or larger, both through
 * the first-order kernels and through the recorded compositions. */
static void test_zero_dim_gradients(void)
{
    for (int create = 0; create < 2; create++) {
        am_scope_begin();
        am_array *in[3] = {am_full(AM_SHAPE(), AM_DTYPE_FLOAT64, 0.7),
                           am_full(AM_SHAPE(1), AM_DTYPE_FLOAT64, 2),
                           am_full(AM_SHAPE(1), AM_DTYPE_FLOAT64, 1)}, *g[3];
        int64_t two = 2;
        for (int i = 0; i < 3; i++) am_attach_grad(in[i], AM_GRAD_WRITE);
        am_autograd_record_begin(false);
        am_array *x = in[0], *heads[5] = {
            am_layer_norm(x, in[1], in[2], 0, 1e-5), /* beta: d/dx 0, d/dbeta 1 */
            am_softmax(x, -1),                       /* 1 */
            am_repeat(am_expand_dims(x, 0), 3, 0),   /* (x, x, x) */
            am_tile(x, &two, 1),                     /* (x, x) */
            am_norm(x, 2, NULL, 0, false)};          /* |x| */
        am_autograd_end();
        CU_ASSERT_EQUAL_FATAL(am_grad_of(heads, NULL, 5, in, 3, false, create, g), AM_OK);
        TU_ASSERT_VALUES(g[0], AM_SHAPE(), 1e-9, 6);
        TU_ASSERT_VALUES(g[1], AM_SHAPE(1), 1e-9, 0);
        TU_ASSERT_VALUES(g[2], AM_SHAPE(1), 1e-9, 1);
        am_scope_end();
    }
}

/* ---- reductions at zeros and ties ------------------------------------------------------------ */

static void test_prod_grad_with_zeros(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3, 3), 2, 0, 3, 0, 0, 5, 1, 2, 4);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(false);
    am_array *g = grad_of_weighted(x, am_prod(x, (int[]){1}, 1, false),
                                   tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(3), 1, 1, 1));
    /* Products of the others: one zero leaves only its own position non-zero, two zeros
     * leave nothing. */
    TU_ASSERT_VALUES(g, AM_SHAPE(3, 3), 0, 0, 6, 0, 0, 0, 0, 8, 4, 2);
    am_scope_end();
}

static void test_max_min_ties_share(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2, 4), 1, 3, 3, 2, -1, -1, 0, 5);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_array *w = tu_array(AM_DTYPE_FLOAT64, AM_SHAPE(2), 10, 20);
    am_autograd_record_begin(false);
    /* As MXNet: every element equal to the extreme gets the whole output gradient. */
    TU_ASSERT_VALUES(grad_of_weighted(x, am_max(x, (int[]){1}, 1, false), w), AM_SHAPE(2, 4), 0,
                     0, 10, 10, 0, 0, 0, 0, 20);
    am_autograd_record_begin(false);
    TU_ASSERT_VALUES(grad_of_weighted(x, am_min(x, (int[]){-1}, 1, false), w), AM_SHAPE(2, 4), 0,
                     10, 0, 0, 0, 20, 20, 0, 0);
    am_scope_end();
}

static void test_norm_grad_at_zero(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2, 2), 0, 0, 3, -4);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_array *w = am_ones(AM_SHAPE(2), AM_DTYPE_FLOAT32);
    am_autograd_record_begin(false);
    /* L2: x / |x|, and 0 (not NaN) for the all-zero row. */
    TU_ASSERT_VALUES(grad_of_weighted(x, am_norm(x, 2, (int[]){1}, 1, false), w), AM_SHAPE(2, 2),
                     1e-6, 0, 0, 0.6, -0.8);
    am_autograd_record_begin(false);
    TU_ASSERT_VALUES(grad_of_weighted(x, am_norm(x, 1, (int[]){1}, 1, false), w), AM_SHAPE(2, 2),
                     0, 0, 0, 1, -1);
    am_scope_end();
}

/* log_softmax computed in float64 and returned as float32: the gradient comes back in
 * float64 and matches the float64 computation's. */
static void test_log_softmax_narrow_dtype_grad(void)
{
    am_scope_begin();
    am_array *x = variable(AM_SHAPE(2, 5), -3, 3);
    am_array *w = tu_random(AM_SHAPE(2, 5), AM_DTYPE_FLOAT32, -1, 1);
    am_autograd_record_begin(false);
    am_array *y = call("log_softmax", &x, 1, "dtype", "float32");
    CU_ASSERT(y && am_array_dtype(y) == AM_DTYPE_FLOAT32);
    am_array *g = grad_of_weighted(x, y, w);
    CU_ASSERT_EQUAL(am_array_dtype(g), AM_DTYPE_FLOAT64);
    am_autograd_record_begin(false);
    am_array *ref = grad_of_weighted(x, am_log_softmax(x, -1), am_astype(w, AM_DTYPE_FLOAT64));
    CU_ASSERT(tu_allclose(g, ref, 1e-6));
    am_scope_end();
}

/* ---- second derivatives --------------------------------------------------------------------- */

/* A function of the inputs in[0..n) whose second derivatives are checked. */
typedef am_array *(*hess_fn)(am_array *const *in);

/* sum(w * f(in)^2) for fixed random w: quadratic, so linear ops get a Hessian too. */
static am_array *hess_loss(hess_fn f, am_array *const *in, am_array *w)
{
    am_array *y = f(in);
    return am_sum(am_mul(am_mul(y, y), w), NULL, 0, false);
}

/* First derivatives with respect to in[k] (no graph). */
static am_array *grad_k(hess_fn f, am_array *const *in, int n, int k, am_array *w)
{
    am_array *v[4], *g = NULL;
    for (int i = 0; i < n; i++) {
        v[i] = am_copy(in[i]);
        am_attach_grad(v[i], AM_GRAD_WRITE);
    }
    am_autograd_record_begin(false);
    am_array *loss = hess_loss(f, v, w);
    am_autograd_end();
    am_grad_of(&loss, NULL, 1, &v[k], 1, false, false, &g);
    return g;
}

/* d/d in[j] of sum(grad_k * dir), from create_graph, against central differences of
 * grad_k along in[j]'s elements.  Returns the number of mismatches. */
static int check_second(hess_fn f, am_array *const *in, int n, int k, int j, am_array *w)
{
    am_array *v[4], *gk = NULL, *h = NULL;
    for (int i = 0; i < n; i++) {
        v[i] = am_copy(in[i]);
        am_attach_grad(v[i], AM_GRAD_WRITE);
    }
    am_array *dir = tu_random(am_array_shape(in[k]), AM_DTYPE_FLOAT64, -1, 1);
    am_autograd_record_begin(false);
    am_array *loss = hess_loss(f, v, w);
    am_grad_of(&loss, NULL, 1, &v[k], 1, true, true, &gk);
    am_array *s = am_sum(am_mul(gk, dir), NULL, 0, false);
    am_autograd_end();
    if (am_grad_of(&s, NULL, 1, &v[j], 1, false, false, &h) != AM_OK) {
        printf("\n  second backward failed: %s", am_last_error());
        return 1;
    }
    int bad = 0;
    const double eps = 1e-5;
    am_view xv = am_array_view(in[j]);
    for (int64_t e = 0; e < am_array_size(in[j]); e++) {
        double x0 = am_view_get(&xv, e), f2[2];
        for (int side = 0; side < 2; side++) {
            am_scope_begin();
            am_view_set(&xv, e, x0 + (side ? -eps : eps));
            f2[side] = am_item(am_sum(am_mul(grad_k(f, in, n, k, w), dir), NULL, 0, false), 0);
            am_scope_end();
        }
        am_view_set(&xv, e, x0);
        double num = (f2[0] - f2[1]) / (2 * eps), ana = am_item(h, e);
        if (!(fabs(ana - num) <= 1e-6 + 1e-5 * fabs(num)) && bad++ < 3)
            printf("\n  d2/d%d d%d element %lld: analytic %.9g, numerical %.9g", k, j,
                   (long long)e, ana, num);
    }
    return bad;
}

static am_array *f_layer_norm(am_array *const *in)
{
    return am_layer_norm(in[0], in[1], in[2], 1, 1e-3);
}

static void test_layer_norm_second_derivative(void)
{
    am_scope_begin();
    am_array *in[3] = {tu_random(AM_SHAPE(2, 4, 3), AM_DTYPE_FLOAT64, -2, 2),
                       tu_random(AM_SHAPE(4), AM_DTYPE_FLOAT64, 0.5, 1.5),
                       tu_random(AM_SHAPE(4), AM_DTYPE_FLOAT64, -1, 1)};
    am_array *w = tu_random(AM_SHAPE(2, 4, 3), AM_DTYPE_FLOAT64, -1, 1);
    CU_ASSERT_EQUAL(check_second(f_layer_norm, in, 3, 0, 0, w), 0); /* d2 / dx dx */
    CU_ASSERT_EQUAL(check_second(f_layer_norm, in, 3, 0, 1, w), 0); /* d2 / dx dgamma */
    CU_ASSERT_EQUAL(check_second(f_layer_norm, in, 3, 1, 0, w), 0); /* d2 / dgamma dx */
    CU_ASSERT_EQUAL(check_second(f_layer_norm, in, 3, 2, 0, w), 0); /* d2 / dbeta dx */
    am_scope_end();
}

/* LayerNorm's outputs (with output_mean_var: out, mean, std) in out; w[k] gets random head
 * gradients for them.  Returns how many there are, 0 on failure. */
static int layer_norm_outputs(am_array **in, int axis, bool mean_var, am_array **out,
                              am_array **w)
{
    const char *keys[] = {"axis", "output_mean_var"}, *vals[2] = {NULL, mean_var ? "1" : "0"};
    char ax[8];
    snprintf(ax, sizeof(ax), "%d", axis);
    vals[0] = ax;
    int n = mean_var ? 3 : 1;
    if (am_invoke("LayerNorm", in, 3, keys, vals, 2, out, n) != AM_OK) return 0;
    for (int k = 0; k < n; k++)
        if (!w[k]) w[k] = tu_random(am_array_shape(out[k]), am_array_dtype(out[k]), -1, 1);
    return n;
}

/* The fused first-order kernel (_backward_LayerNorm) and the composition that serves
 * higher orders give the same gradients, for every axis, both float dtypes, and with the
 * mean and std outputs in the loss. */
static void test_layer_norm_fused_matches_composed(void)
{
    for (int c = 0; c < 16; c++) {
        int axis = c % 4 - 1;
        bool f64 = c / 4 % 2, mean_var = c / 8;
        am_scope_begin();
        am_dtype t = f64 ? AM_DTYPE_FLOAT64 : AM_DTYPE_FLOAT32;
        int64_t m = axis == 0 ? 3 : axis == 1 ? 4 : 70;
        am_array *in[3] = {tu_random(AM_SHAPE(3, 4, 70), t, -2, 2),
                           tu_random(AM_SHAPE(m), t, 0.5, 1.5), tu_random(AM_SHAPE(m), t, -1, 1)};
        am_array *w[3] = {0}, *out[3], *g[2][3];
        for (int create = 0; create < 2; create++) {
            for (int i = 0; i < 3; i++) am_attach_grad(in[i], AM_GRAD_WRITE);
            am_autograd_record_begin(false);
            int n = layer_norm_outputs(in, axis, mean_var, out, w);
            am_autograd_end();
            CU_ASSERT_EQUAL(am_grad_of(out, w, n, in, 3, false, create, g[create]), AM_OK);
        }
        for (int i = 0; i < 3; i++) CU_ASSERT(tu_allclose(g[0][i], g[1][i], f64 ? 1e-10 : 2e-4));
        am_scope_end();
    }
}

static am_array *f_softmax(am_array *const *in) { return am_softmax_at(in[0], 0, 2.0, AM_HERE); }
static am_array *f_log_softmax(am_array *const *in) { return am_log_softmax(in[0], 1); }
static am_array *f_prod(am_array *const *in) { return am_prod(in[0], (int[]){0}, 1, true); }
static am_array *f_norm(am_array *const *in) { return am_norm(in[0], 2, (int[]){1}, 1, false); }
static am_array *f_mean(am_array *const *in)
{
    return am_mul(am_mean(in[0], NULL, 0, false), in[0]);
}

static am_array *f_slice(am_array *const *in)
{
    static const int64_t begin[] = {2, AM_NONE}, end[] = {AM_NONE, 0}, step[] = {-1, -2};
    return am_slice(in[0], begin, end, step, 2);
}

static am_array *f_tile_take(am_array *const *in)
{
    am_array *idx = tu_array(AM_DTYPE_INT32, AM_SHAPE(3), 1, 1, 0);
    static const int64_t reps[] = {2, 1};
    return am_take(am_tile(in[0], reps, 2), idx, 1);
}

static am_array *f_pick_concat(am_array *const *in)
{
    am_array *idx = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(6), 0, 2, 1, 2, 0, 0);
    am_array *both[2] = {in[0], am_swap_axis(in[0], 0, 0)};
    return am_pick(am_concat(both, 2, 0), idx, 1);
}

static am_array *f_embedding_stack(am_array *const *in)
{
    am_array *idx = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(4), 2, 0, 2, 1), *parts[3];
    am_split(in[0], 3, 0, true, parts);
    am_array *w = am_broadcast_to(am_reshape(am_stack(parts, 3, 0), AM_SHAPE(3, 1, 3)),
                                  AM_SHAPE(3, 2, 3));
    return am_embedding(idx, am_reshape(w, AM_SHAPE(3, 6)), 3, 6);
}

static void test_second_derivatives_of_ops(void)
{
    static const struct {
        const char *name;
        hess_fn f;
    } fns[] = {{"softmax", f_softmax}, {"log_softmax", f_log_softmax}, {"prod", f_prod},
               {"norm", f_norm}, {"mean", f_mean}, {"slice", f_slice},
               {"tile, take", f_tile_take}, {"Concat, pick", f_pick_concat},
               {"split, stack, broadcast_to, Embedding", f_embedding_stack}};
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        am_scope_begin();
        am_array *x = tu_random(AM_SHAPE(3, 3), AM_DTYPE_FLOAT64, 0.5, 1.5);
        am_array *w = tu_random(am_array_shape(fns[i].f(&x)), AM_DTYPE_FLOAT64, -1, 1);
        int bad = check_second(fns[i].f, &x, 1, 0, 0, w);
        if (bad) printf("\n  %s: %d wrong second derivatives", fns[i].name, bad);
        CU_ASSERT_EQUAL(bad, 0);
        am_scope_end();
    }
}

/* ---- the backward ops' own checks ------------------------------------------------------------ */

static void test_backward_ops_values_and_errors(void)
{
    am_scope_begin();
    am_array *og = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(2), 7, 8);
    TU_ASSERT_VALUES(call("_backward_slice", &og, 1, "begin|end|step|shape",
                          "(3,)|(None,)|(-2,)|(4,)"), AM_SHAPE(4), 0, 0, 8, 0, 7);
    TU_ASSERT_FAILS(call("_backward_slice", &og, 1, "begin|end|shape", "(0,)|(3,)|(4,)"),
                    AM_ERR_SHAPE, "_backward_slice: ograd (2,) is not the shape (3,)");
    TU_ASSERT_FAILS(call("_backward_slice", &og, 1, "begin|end|shape", "(0,)|(2,)|(-4,)"),
                    AM_ERR_ARG, "shape=(-4,) has a negative size");

    am_array *in[2] = {tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), 1, 2, 3),
                       tu_array(AM_DTYPE_INT32, AM_SHAPE(3), 2, 0, 2)};
    TU_ASSERT_VALUES(call("_backward_take", in, 2, "shape", "(4,)"), AM_SHAPE(4), 0, 2, 0, 4, 0);
    TU_ASSERT_FAILS(call("_backward_take", in, 2, "shape", "(4, 2)"), AM_ERR_SHAPE,
                    "_backward_take: ograd (3,) is not (3, 2)");
    TU_ASSERT_FAILS(call("_backward_take", in, 2, "shape|mode", "(2,)|raise"), AM_ERR_ARG,
                    "index 2 (indices element 0) is out of range");

    TU_ASSERT_VALUES(call("_backward_pick", in, 2, "shape|axis", "(3, 3)|1"), AM_SHAPE(3, 3), 0,
                     0, 0, 1, 2, 0, 0, 0, 0, 3);
    TU_ASSERT_FAILS(call("_backward_pick", in, 2, "shape", "(2, 3)"), AM_ERR_SHAPE,
                    "_backward_pick: index (3,) does not match data (2, 3)");
    am_scope_end();
}

CU_TestInfo am_tests_grad_shape[] = {
    {"a reshape of a slice passes gradients to its base", test_view_of_slice_reaches_base},
    {"backward through several views adds up", test_backward_through_views_accumulates},
    {"Dropout's gradient uses the forward mask", test_dropout_grad_uses_forward_mask},
    {"Embedding: repeated indices accumulate", test_embedding_repeated_indices_accumulate},
    {"take: repeated indices accumulate", test_take_repeated_indices_accumulate},
    {"pick scatters into zeros", test_pick_grad},
    {"0-d variables", test_zero_dim_gradients},
    {"prod: products of the others at zeros", test_prod_grad_with_zeros},
    {"max and min: ties share the gradient", test_max_min_ties_share},
    {"norm: L2 gives 0 at 0, L1 the sign", test_norm_grad_at_zero},
    {"log_softmax into a narrower dtype", test_log_softmax_narrow_dtype_grad},
    {"LayerNorm: the fused gradient matches the composed one",
     test_layer_norm_fused_matches_composed},
    {"LayerNorm: second derivatives", test_layer_norm_second_derivative},
    {"second derivatives of the other ops", test_second_derivatives_of_ops},
    {"_backward_slice, _backward_take, _backward_pick", test_backward_ops_values_and_errors},
    CU_TEST_INFO_NULL,
};
