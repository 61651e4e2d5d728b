/* Gradients of the elementwise and broadcast families beyond the numerical
 * check: second and third derivatives through create_graph, broadcast inputs
 * summed back, MXNet's tie conventions, AM_GRAD_ADD, and hidden outputs. */
#include "test_util.h"

#define F64 AM_DTYPE_FLOAT64
#define TOL 1e-10

/* ---- second derivatives ------------------------------------------------------------- */

typedef double (*fn1)(double);

/* An op by name with at most one attribute, its input range, and its first
 * and second derivatives written out by hand. */
typedef struct d2_case {
    const char *op, *key, *val;
    double lo, hi;
    fn1 d1, d2;
} d2_case;

#define SELU_L 1.0507009873554804934193349852946
#define SELU_A 1.6732632423543772848170429916717

static double sq(double v) { return v * v; }
static double sgm(double v) { return 1 / (1 + exp(-v)); }
static double phi(double v) { return exp(-v * v / 2) / sqrt(2 * M_PI); }
static double tanh_d1(double v) { return 1 - sq(tanh(v)); }
static double tanh_d2(double v) { return -2 * tanh(v) * (1 - sq(tanh(v))); }
static double sgm_d1(double v) { return sgm(v) * (1 - sgm(v)); }
static double sgm_d2(double v) { return sgm(v) * (1 - sgm(v)) * (1 - 2 * sgm(v)); }
static double two_x(double v) { return 2 * v; }
static double two(double v) { (void)v; return 2; }
static double inv(double v) { return 1 / v; }
static double neg_inv2(double v) { return -1 / (v * v); }
static double two_inv3(double v) { return 2 / (v * v * v); }
static double neg_sin(double v) { return -sin(v); }
static double neg_cos(double v) { return -cos(v); }
static double sqrt_d1(double v) { return 0.5 / sqrt(v); }
static double sqrt_d2(double v) { return -0.25 * pow(v, -1.5); }
static double rsqrt_d1(double v) { return -0.5 * pow(v, -1.5); }
static double rsqrt_d2(double v) { return 0.75 * pow(v, -2.5); }
static double softsign_d1(double v) { return 1 / sq(1 + fabs(v)); }
static double softsign_d2(double v) { return -2 * (v > 0 ? 1 : -1) / pow(1 + fabs(v), 3); }
static double erf_d1(double v) { return 2 / sqrt(M_PI) * exp(-v * v); }
static double erf_d2(double v) { return -4 * v / sqrt(M_PI) * exp(-v * v); }
static double log1p_d1(double v) { return 1 / (1 + v); }
static double log1p_d2(double v) { return -1 / sq(1 + v); }
static double elu_d1(double v) { return v > 0 ? 1 : 0.25 * exp(v); } /* slope 0.25 */
static double elu_d2(double v) { return v > 0 ? 0 : 0.25 * exp(v); }
static double selu_d1(double v) { return v > 0 ? SELU_L : SELU_L * SELU_A * exp(v); }
static double selu_d2(double v) { return v > 0 ? 0 : SELU_L * SELU_A * exp(v); }
static double gelu_d1(double v) { return 0.5 * (1 + erf(v / sqrt(2))) + v * phi(v); }
static double gelu_d2(double v) { return phi(v) * (2 - v * v); }
static double pow_d1(double v) { return 2.5 * pow(v, 1.5); }
static double pow_d2(double v) { return 3.75 * pow(v, 0.5); }
static double rpow_d1(double v) { return pow(1.5, v) * log(1.5); }
static double rpow_d2(double v) { return pow(1.5, v) * sq(log(1.5)); }
static double rdiv_d1(double v) { return -2 / (v * v); }
static double rdiv_d2(double v) { return 4 / (v * v * v); }

static const d2_case d2_cases[] = {
    {"tanh", NULL, NULL, -2, 2, tanh_d1, tanh_d2},
    {"sigmoid", NULL, NULL, -4, 4, sgm_d1, sgm_d2},
    {"exp", NULL, NULL, -2, 2, exp, exp},
    {"square", NULL, NULL, -3, 3, two_x, two},
    {"log", NULL, NULL, 0.2, 3, inv, neg_inv2},
    {"sin", NULL, NULL, -3, 3, cos, neg_sin},
    {"cos", NULL, NULL, -3, 3, neg_sin, neg_cos},
    {"sqrt", NULL, NULL, 0.2, 4, sqrt_d1, sqrt_d2},
    {"rsqrt", NULL, NULL, 0.2, 4, rsqrt_d1, rsqrt_d2},
    {"reciprocal", NULL, NULL, 0.5, 3, neg_inv2, two_inv3},
    {"softsign", NULL, NULL, -3, 3, softsign_d1, softsign_d2},
    {"erf", NULL, NULL, -2, 2, erf_d1, erf_d2},
    {"expm1", NULL, NULL, -2, 2, exp, exp},
    {"log1p", NULL, NULL, -0.5, 3, log1p_d1, log1p_d2},
    {"Activation", "act_type", "tanh", -2, 2, tanh_d1, tanh_d2},
    {"Activation", "act_type", "sigmoid", -4, 4, sgm_d1, sgm_d2},
    {"Activation", "act_type", "softrelu", -4, 4, sgm, sgm_d1},
    {"Activation", "act_type", "softsign", -3, 3, softsign_d1, softsign_d2},
    {"LeakyReLU", "act_type", "gelu", -3, 3, gelu_d1, gelu_d2},
    {"LeakyReLU", "act_type", "selu", -3, 3, selu_d1, selu_d2},
    {"LeakyReLU", "act_type", "elu", -3, 3, elu_d1, elu_d2},
    {"_power_scalar", "scalar", "2.5", 0.2, 3, pow_d1, pow_d2},
    {"_rpower_scalar", "scalar", "1.5", -2, 2, rpow_d1, rpow_d2},
    {"_rdiv_scalar", "scalar", "2", 0.5, 3, rdiv_d1, rdiv_d2},
};

static am_array *apply(const char *op, const char *key, const char *val, am_array *x)
{
    am_array *y = NULL;
    am_invoke(op, &x, 1, &key, &val, key ? 1 : 0, &y, 1);
    return y;
}

/* n values of x against f, relative and absolute tolerance TOL; names the case. */
static bool values_match(am_array *g, am_array *x, fn1 f, const char *what, const char *op,
                         const char *val)
{
    if (!g) {
        printf("\n  %s %s%s%s: %s", op, val ? val : "", val ? " " : "", what, am_last_error());
        return false;
    }
    for (int64_t i = 0; i < am_array_size(x); i++) {
        double v = am_item(x, i), want = f(v), got = am_item(g, i);
        if (!(fabs(got - want) <= TOL * (1 + fabs(want)))) {
            printf("\n  %s %s %s at x=%g: %.15g, want %.15g", op, val ? val : "", what, v, got,
                   want);
            return false;
        }
    }
    return true;
}

/* d/dx and d2/dx2 of y = op(x) elementwise: the first gradient is taken with
 * create_graph, so that it is itself differentiated. */
static void test_second_derivatives(void)
{
    for (size_t k = 0; k < sizeof(d2_cases) / sizeof(d2_cases[0]); k++) {
        const d2_case *c = &d2_cases[k];
        am_scope_begin();
        am_seed(11 + k);
        am_array *x = tu_random(AM_SHAPE(2, 4), F64, c->lo, c->hi), *g1 = NULL, *g2 = NULL;
        CU_ASSERT_EQUAL(am_attach_grad(x, AM_GRAD_WRITE), AM_OK);
        am_autograd_record_begin(false);
        am_array *y = apply(c->op, c->key, c->val, x);
        am_autograd_end();
        CU_ASSERT_PTR_NOT_NULL(y);
        if (y && am_grad_of(&y, NULL, 1, &x, 1, false, true, &g1) == AM_OK)
            am_grad_of(&g1, NULL, 1, &x, 1, false, false, &g2);
        CU_ASSERT(values_match(g1, x, c->d1, "first derivative", c->op, c->val));
        CU_ASSERT(values_match(g2, x, c->d2, "second derivative", c->op, c->val));
        am_clear_error();
        am_scope_end();
    }
}

static double tanh_d3(double v)
{
    double t = tanh(v);
    return -2 * (1 - t * t) * (1 - 3 * t * t);
}

/* Three rounds of create_graph through tanh. */
static void test_third_derivative(void)
{
    am_scope_begin();
    am_array *x = tu_array(F64, AM_SHAPE(5), -1.5, -0.3, 0, 0.4, 2), *g[3] = {0}, *h = NULL;
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    h = am_tanh(x);
    am_autograd_end();
    for (int k = 0; k < 3 && h; k++) {
        CU_ASSERT_EQUAL(am_grad_of(&h, NULL, 1, &x, 1, false, k < 2, &g[k]), AM_OK);
        h = g[k];
    }
    CU_ASSERT(values_match(g[0], x, tanh_d1, "first", "tanh", NULL));
    CU_ASSERT(values_match(g[1], x, tanh_d2, "second", "tanh", NULL));
    CU_ASSERT(values_match(g[2], x, tanh_d3, "third", "tanh", NULL));
    am_scope_end();
}

/* y = a * b with head gradient W: dy/da = W * b, and d(V . dy/da)/db = sum of
 * V * W over the axes b was broadcast along; dy/da does not depend on a. */
static void test_broadcast_mul_second(void)
{
    am_scope_begin();
    am_seed(5);
    am_array *a = tu_random(AM_SHAPE(2, 3), F64, -1, 1), *b = tu_random(AM_SHAPE(3), F64, -1, 1);
    am_array *w = tu_random(AM_SHAPE(2, 3), F64, -1, 1), *v = tu_random(AM_SHAPE(2, 3), F64, -1, 1);
    am_array *ga = NULL, *gg[2] = {0};
    am_attach_grad(a, AM_GRAD_WRITE);
    am_attach_grad(b, AM_GRAD_WRITE);
    am_autograd_record_begin(false);
    am_array *y = am_broadcast_mul(a, b);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_grad_of(&y, &w, 1, &a, 1, false, true, &ga), AM_OK);
    am_array *ab[2] = {a, b};
    CU_ASSERT_EQUAL(am_grad_of(&ga, &v, 1, ab, 2, false, false, gg), AM_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gg[1]);
    for (int j = 0; j < 3; j++) {
        double want = 0;
        for (int i = 0; i < 2; i++) {
            CU_ASSERT_DOUBLE_EQUAL(am_item(ga, i * 3 + j), am_item(w, i * 3 + j) * am_item(b, j),
                                   TOL);
            CU_ASSERT_DOUBLE_EQUAL(am_item(gg[0], i * 3 + j), 0, 0);
            want += am_item(v, i * 3 + j) * am_item(w, i * 3 + j);
        }
        CU_ASSERT_DOUBLE_EQUAL(am_item(gg[1], j), want, TOL);
    }
    CU_ASSERT_EQUAL(am_array_shape(gg[1]).ndim, 1);
    am_scope_end();
}

/* Mixed second derivative d2(sum(W * a * b))/da db with equal shapes (W), and
 * d(V . dy/db)/da through the reduction that makes dy/db when b is broadcast:
 * that one differentiates sum and Reshape, whose gradients belong to the
 * reduce and shape families, so it runs once they exist. */
static void test_broadcast_mul_mixed(void)
{
    am_scope_begin();
    am_seed(6);
    am_array *a = tu_random(AM_SHAPE(2, 3), F64, -1, 1), *b = tu_random(AM_SHAPE(2, 3), F64, -1, 1);
    am_array *w = tu_random(AM_SHAPE(2, 3), F64, -1, 1), *v = tu_random(AM_SHAPE(2, 3), F64, -1, 1);
    am_array *gb = NULL, *gab = NULL;
    am_attach_grad(a, AM_GRAD_WRITE);
    am_attach_grad(b, AM_GRAD_WRITE);
    am_autograd_record_begin(false);
    am_array *y = am_broadcast_mul(a, b);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_grad_of(&y, &w, 1, &b, 1, false, true, &gb), AM_OK);
    CU_ASSERT_EQUAL(am_grad_of(&gb, &v, 1, &a, 1, false, false, &gab), AM_OK);
    for (int i = 0; gab && i < 6; i++)
        CU_ASSERT_DOUBLE_EQUAL(am_item(gab, i), am_item(v, i) * am_item(w, i), TOL);

    const am_op_def *sum = am_op_find("sum"), *reshape = am_op_find("Reshape");
    if (sum->gradient && reshape->gradient) {
        am_array *b1 = tu_random(AM_SHAPE(3), F64, -1, 1), *v1 = tu_random(AM_SHAPE(3), F64, -1, 1);
        am_attach_grad(b1, AM_GRAD_WRITE);
        am_autograd_record_begin(false);
        y = am_broadcast_mul(a, b1);
        am_autograd_end();
        gb = gab = NULL;
        CU_ASSERT_EQUAL(am_grad_of(&y, &w, 1, &b1, 1, false, true, &gb), AM_OK);
        CU_ASSERT_EQUAL(am_grad_of(&gb, &v1, 1, &a, 1, false, false, &gab), AM_OK);
        for (int i = 0; gab && i < 6; i++)
            CU_ASSERT_DOUBLE_EQUAL(am_item(gab, i), am_item(v1, i % 3) * am_item(w, i), TOL);
    } else {
        printf("(sum/Reshape gradients missing: broadcast part not run) ");
    }
    am_clear_error();
    am_scope_end();
}

/* ---- broadcast inputs are summed back ------------------------------------------------ */

/* y = f(a, b) from (2,1,3) and (4,1) to (2,4,3), head gradient H: each
 * input's gradient sums over the axes it was broadcast along, checked against
 * loops over the output. */
static void test_broadcast_sums(void)
{
    am_scope_begin();
    am_seed(9);
    am_array *a = tu_random(AM_SHAPE(2, 1, 3), F64, 0.5, 2);
    am_array *b = tu_random(AM_SHAPE(4, 1), F64, 0.5, 2);
    am_array *h = tu_random(AM_SHAPE(2, 4, 3), F64, -1, 1);
    am_attach_grad(a, AM_GRAD_WRITE);
    am_attach_grad(b, AM_GRAD_WRITE);
    for (int op = 0; op < 3; op++) {
        am_autograd_record_begin(false);
        am_array *y = op == 0 ? am_broadcast_mul(a, b) : op == 1 ? am_broadcast_div(a, b)
                                                                 : am_broadcast_sub(a, b);
        am_autograd_end();
        CU_ASSERT_EQUAL_FATAL(am_backward_at(y, h, false, AM_HERE), AM_OK);
        double ga[6] = {0}, gb[4] = {0};
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 3; k++) {
                    double av = am_item(a, i * 3 + k), bv = am_item(b, j);
                    double hv = am_item(h, (i * 4 + j) * 3 + k);
                    ga[i * 3 + k] += hv * (op == 0 ? bv : op == 1 ? 1 / bv : 1);
                    gb[j] += hv * (op == 0 ? av : op == 1 ? -av / (bv * bv) : -1);
                }
        CU_ASSERT_EQUAL(am_array_shape(am_grad(a)).ndim, 3);
        CU_ASSERT_EQUAL(am_array_shape(am_grad(b)).ndim, 2);
        for (int i = 0; i < 6; i++) CU_ASSERT_DOUBLE_EQUAL(am_item(am_grad(a), i), ga[i], TOL);
        for (int j = 0; j < 4; j++) CU_ASSERT_DOUBLE_EQUAL(am_item(am_grad(b), j), gb[j], TOL);
    }
    am_scope_end();
}

/* A 0-d input broadcast against (2, 3) gets the whole sum, as a 0-d array; a
 * (3,) input against (2, 3) sums over the leading axis. */
static void test_broadcast_rank_differences(void)
{
    am_scope_begin();
    am_array *s = am_full(AM_SHAPE(), F64, 2), *r = tu_array(F64, AM_SHAPE(3), 1, 2, 3);
    am_array *m = tu_array(F64, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
    am_array *h = tu_array(F64, AM_SHAPE(2, 3), 1, -1, 2, 0.5, 3, -2);
    am_attach_grad(s, AM_GRAD_WRITE);
    am_attach_grad(r, AM_GRAD_WRITE);
    am_attach_grad(m, AM_GRAD_WRITE);
    am_autograd_record_begin(false);
    am_array *y = am_broadcast_add(am_broadcast_mul(s, m), am_broadcast_sub(m, r));
    am_autograd_end();
    CU_ASSERT_EQUAL_FATAL(am_backward_at(y, h, false, AM_HERE), AM_OK);
    /* d/ds = sum(h * m) = 1 - 2 + 6 + 2 + 15 - 12 = 10; d/dr = -(h0 + h1) per column;
     * d/dm = h * s + h = 3h. */
    TU_ASSERT_VALUES(am_grad(s), AM_SHAPE(), TOL, 10);
    TU_ASSERT_VALUES(am_grad(r), AM_SHAPE(3), TOL, -1.5, -2, 0);
    TU_ASSERT_VALUES(am_grad(m), AM_SHAPE(2, 3), TOL, 3, -3, 6, 1.5, 9, -6);
    am_scope_end();
}

/* ---- conventions at kinks and ties ----------------------------------------------------- */

/* Gradient of sum(op(x)) (head of ones) for a one-input op. */
static am_array *grad1(am_array *(*f)(am_array *), am_array *x)
{
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(false);
    am_array *y = f(x);
    am_autograd_end();
    if (!y || am_backward(y) != AM_OK) return NULL;
    return am_grad(x);
}

static am_array *relu_f(am_array *x) { return am_relu(x); }
static am_array *abs_f(am_array *x) { return am_abs(x); }
static am_array *max_s(am_array *x) { return am_maximum_scalar(x, 0.25); }
static am_array *min_s(am_array *x) { return am_minimum_scalar(x, 0.25); }
static am_array *clip_f(am_array *x) { return am_clip(x, -0.5, 0.5); }
static am_array *leaky_f(am_array *x) { return am_leaky_relu(x, NULL, "leaky", 0.1); }
static am_array *mod_s(am_array *x) { return am_mod_scalar(x, 0.75); }
static am_array *rmod_s(am_array *x) { return am_rmod_scalar(x, 2.5); }

/* MXNet's conventions: relu and leaky pass nothing at 0 (the slope there),
 * abs has 0 at 0; maximum_scalar passes where x >= s, minimum where x <= s;
 * clip passes on the closed interval [a_min, a_max]. */
static void test_kinks(void)
{
    am_scope_begin();
    am_array *x = tu_array(F64, AM_SHAPE(5), -1, -0.5, 0, 0.25, 1);
#define AT_KINKS(f, ...) TU_ASSERT_VALUES(grad1(f, am_copy(x)), AM_SHAPE(5), TOL, __VA_ARGS__)
    AT_KINKS(relu_f, 0, 0, 0, 1, 1);
    AT_KINKS(abs_f, -1, -1, 0, 1, 1);
    AT_KINKS(leaky_f, 0.1, 0.1, 0.1, 1, 1);
    AT_KINKS(max_s, 0, 0, 0, 1, 1);
    AT_KINKS(min_s, 1, 1, 1, 1, 0);
    AT_KINKS(clip_f, 0, 1, 1, 1, 0);
    AT_KINKS(mod_s, 1, 1, 1, 1, 1);
#undef AT_KINKS
    /* d(2.5 mod x)/dx = -floor(2.5 / x): x = 0.5, 1, 2, 3, -1 */
    TU_ASSERT_VALUES(grad1(rmod_s, tu_array(F64, AM_SHAPE(5), 0.5, 1, 2, 3, -1)), AM_SHAPE(5),
                     TOL, -5, -2, -1, 0, 3);
    am_scope_end();
}

static am_array *clip_huge(am_array *x) { return am_clip(x, -1e300, 0.5); }
static am_array *clip_inf(am_array *x) { return am_clip(x, -INFINITY, INFINITY); }
static am_array *clip_nan(am_array *x) { return am_clip(x, NAN, 0.5); }

/* A clip bound that clips nothing (infinite, NaN, beyond float32's range)
 * stops no gradient on its side. */
static void test_clip_open_bounds(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_FLOAT32, AM_SHAPE(3), -3, 0, 1);
    TU_ASSERT_VALUES(grad1(clip_huge, am_copy(x)), AM_SHAPE(3), 0, 1, 1, 0);
    TU_ASSERT_VALUES(grad1(clip_inf, am_copy(x)), AM_SHAPE(3), 0, 1, 1, 1);
    TU_ASSERT_VALUES(grad1(clip_nan, am_copy(x)), AM_SHAPE(3), 0, 1, 1, 0);
    TU_ASSERT_VALUES(grad1(clip_nan, am_astype(x, F64)), AM_SHAPE(3), 0, 1, 1, 0);
    am_scope_end();
}

/* broadcast_maximum gives og to lhs where lhs >= rhs, broadcast_minimum where
 * lhs <= rhs; rhs gets the rest (ties go to lhs). */
static void test_max_min_ties(void)
{
    am_scope_begin();
    am_array *a = tu_array(F64, AM_SHAPE(4), 1, 2, 3, 4);
    am_array *b = tu_array(F64, AM_SHAPE(4), 1, 0, 5, 4);
    am_attach_grad(a, AM_GRAD_WRITE);
    am_attach_grad(b, AM_GRAD_WRITE);
    for (int op = 0; op < 2; op++) {
        am_autograd_record_begin(false);
        am_array *y = op ? am_broadcast_minimum(a, b) : am_broadcast_maximum(a, b);
        am_autograd_end();
        CU_ASSERT_EQUAL_FATAL(am_backward(y), AM_OK);
        if (op == 0) {
            TU_ASSERT_VALUES(am_grad(a), AM_SHAPE(4), 0, 1, 1, 0, 1);
            TU_ASSERT_VALUES(am_grad(b), AM_SHAPE(4), 0, 0, 0, 1, 0);
        } else {
            TU_ASSERT_VALUES(am_grad(a), AM_SHAPE(4), 0, 1, 0, 1, 1);
            TU_ASSERT_VALUES(am_grad(b), AM_SHAPE(4), 0, 0, 1, 0, 0);
        }
    }
    am_scope_end();
}

/* where: og goes to x where the condition holds, to y elsewhere, nothing to
 * the condition; a 1-D condition picks whole rows. */
static void test_where(void)
{
    am_scope_begin();
    am_array *c = tu_array(F64, AM_SHAPE(2), 1, 0), *x = am_ones(AM_SHAPE(2, 2), F64);
    am_array *y = am_ones(AM_SHAPE(2, 2), F64), *h = tu_array(F64, AM_SHAPE(2, 2), 1, 2, 3, 4);
    am_attach_grad(c, AM_GRAD_WRITE);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_attach_grad(y, AM_GRAD_WRITE);
    am_autograd_record_begin(false);
    am_array *r = am_where(c, x, y);
    am_autograd_end();
    CU_ASSERT_EQUAL_FATAL(am_backward_at(r, h, false, AM_HERE), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(2, 2), 0, 1, 2, 0, 0);
    TU_ASSERT_VALUES(am_grad(y), AM_SHAPE(2, 2), 0, 0, 0, 3, 4);
    TU_ASSERT_VALUES(am_grad(c), AM_SHAPE(2), 0, 0, 0);
    am_scope_end();
}

/* ---- LeakyReLU's prelu and rrelu ------------------------------------------------------- */

/* prelu with a (C,) gamma on (N, C, W) data: data gets og where x > 0 and
 * og * gamma[c] elsewhere; gamma[c] gets the sum of og * x over x <= 0 in
 * channel c (loops over the data). */
static void test_prelu_grad(void)
{
    am_scope_begin();
    am_seed(3);
    am_array *x = tu_random(AM_SHAPE(2, 3, 4), F64, -1, 1);
    am_array *gm = tu_array(F64, AM_SHAPE(3), 0.1, 0.2, 0.3);
    am_array *h = tu_random(AM_SHAPE(2, 3, 4), F64, -1, 1);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_attach_grad(gm, AM_GRAD_WRITE);
    am_autograd_record_begin(false);
    am_array *y = am_leaky_relu(x, gm, "prelu", 0);
    am_autograd_end();
    CU_ASSERT_EQUAL_FATAL(am_backward_at(y, h, false, AM_HERE), AM_OK);
    double gg[3] = {0};
    int bad = 0;
    for (int i = 0; i < 24; i++) {
        int ch = i / 4 % 3;
        double xv = am_item(x, i), hv = am_item(h, i), k = am_item(gm, ch);
        bad += fabs(am_item(am_grad(x), i) - (xv > 0 ? hv : hv * k)) > TOL;
        if (xv <= 0) gg[ch] += hv * xv;
    }
    CU_ASSERT_EQUAL(bad, 0);
    TU_ASSERT_VALUES(am_grad(gm), AM_SHAPE(3), TOL, gg[0], gg[1], gg[2]);

    /* A 0-d gamma: one slope, and its gradient is 0-d. */
    am_array *g0 = am_full(AM_SHAPE(), F64, 0.5), *x2 = tu_array(F64, AM_SHAPE(2, 2), -2, 1, -3, 4);
    am_attach_grad(g0, AM_GRAD_WRITE);
    am_attach_grad(x2, AM_GRAD_WRITE);
    am_autograd_record_begin(false);
    y = am_leaky_relu(x2, g0, "prelu", 0);
    am_autograd_end();
    CU_ASSERT_EQUAL_FATAL(am_backward(y), AM_OK);
    TU_ASSERT_VALUES(am_grad(g0), AM_SHAPE(), TOL, -5);
    TU_ASSERT_VALUES(am_grad(x2), AM_SHAPE(2, 2), TOL, 0.5, 1, 0.5, 1);
    am_scope_end();
}

/* rrelu in training: the gradient on negatives is the slope drawn for that
 * element (the hidden mask), so y / x there; positives pass og. */
static void test_rrelu_grad(void)
{
    am_scope_begin();
    am_array *x = am_full(AM_SHAPE(50), F64, -2);
    am_view xv = am_array_view(x);
    am_view_set(&xv, 3, 1.5);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *y = am_leaky_relu(x, NULL, "rrelu", 0);
    am_autograd_end();
    CU_ASSERT_EQUAL_FATAL(am_backward_at(y, NULL, true, AM_HERE), AM_OK);
    int bad = 0, distinct = 0;
    for (int i = 0; i < 50; i++) {
        double g = am_item(am_grad(x), i), want = i == 3 ? 1 : am_item(y, i) / -2;
        bad += fabs(g - want) > TOL || (i != 3 && !(g >= 0.125 && g < 0.334));
        distinct += i > 4 && g != am_item(am_grad(x), 4);
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(distinct > 0); /* slopes were drawn per element */
    am_scope_end();
}

/* ---- accumulation and dtypes ------------------------------------------------------------- */

/* AM_GRAD_ADD: each backward adds to the gradient; an input used twice (add_n
 * and a broadcast op) collects both contributions. */
static void test_grad_add(void)
{
    am_scope_begin();
    am_array *x = tu_array(F64, AM_SHAPE(3), -1, 0.5, 2), *c = tu_array(F64, AM_SHAPE(2, 1), 2, 3);
    am_attach_grad(x, AM_GRAD_ADD);
    for (int round = 1; round <= 2; round++) {
        am_autograd_record_begin(false);
        am_array *t = am_tanh(x);
        am_array *terms[3] = {x, x, t};
        am_array *y = am_add_n(terms, 3);
        am_array *z = am_broadcast_mul(c, y); /* (2, 3): column sums of c, 5, scale x's use */
        am_autograd_end();
        CU_ASSERT_EQUAL_FATAL(am_backward(z), AM_OK);
        for (int i = 0; i < 3; i++) {
            double v = am_item(x, i), per = 5 * (2 + 1 - tanh(v) * tanh(v));
            CU_ASSERT_DOUBLE_EQUAL(am_item(am_grad(x), i), round * per, TOL);
        }
    }
    am_scope_end();
}

/* Integer data with is_int=False computes in float64; the gradient comes back
 * in the input's dtype. */
static void test_scalar_widened_dtype(void)
{
    am_scope_begin();
    am_array *x = tu_array(AM_DTYPE_INT32, AM_SHAPE(3), 1, 2, 3), *y = NULL;
    CU_ASSERT_EQUAL(am_attach_grad(x, AM_GRAD_WRITE), AM_OK);
    am_autograd_record_begin(false);
    const char *keys[] = {"scalar", "is_int"}, *vals[] = {"3.0", "False"};
    CU_ASSERT_EQUAL(am_invoke("_mul_scalar", &x, 1, keys, vals, 2, &y, 1), AM_OK);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_array_dtype(y), F64);
    CU_ASSERT_EQUAL_FATAL(am_backward(y), AM_OK);
    CU_ASSERT_EQUAL(am_array_dtype(am_grad(x)), AM_DTYPE_INT32);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(3), 0, 3, 3, 3);
    am_scope_end();
}

/* Only the inputs that need a gradient get one: a constant operand's
 * gradient is never formed, and comparisons record nothing. */
static void test_only_needed(void)
{
    am_scope_begin();
    am_array *x = tu_array(F64, AM_SHAPE(2), 1, 2), *k = tu_array(F64, AM_SHAPE(2), 3, 4);
    am_attach_grad(x, AM_GRAD_WRITE);
    am_autograd_record_begin(false);
    am_array *y = am_broadcast_power(x, k);
    am_array *m = am_broadcast_greater(x, k);
    am_autograd_end();
    CU_ASSERT_EQUAL_FATAL(am_backward(y), AM_OK);
    TU_ASSERT_VALUES(am_grad(x), AM_SHAPE(2), TOL, 3, 32);
    CU_ASSERT_PTR_NULL(am_grad(k));
    TU_ASSERT_FAILS(am_backward(m) == AM_OK, AM_ERR_ARG, "was not recorded");
    am_scope_end();
}

CU_TestInfo am_tests_grad_elemwise[] = {
    {"second derivatives through create_graph", test_second_derivatives},
    {"third derivative of tanh", test_third_derivative},
    {"broadcast_mul: second derivative across a broadcast", test_broadcast_mul_second},
    {"broadcast_mul: mixed second derivatives", test_broadcast_mul_mixed},
    {"broadcast inputs are summed back", test_broadcast_sums},
    {"0-d and lower-rank inputs", test_broadcast_rank_differences},
    {"kinks follow MXNet", test_kinks},
    {"clip bounds that clip nothing", test_clip_open_bounds},
    {"maximum/minimum ties go to lhs", test_max_min_ties},
    {"where routes by the condition", test_where},
    {"prelu: data and gamma", test_prelu_grad},
    {"rrelu: the drawn slopes", test_rrelu_grad},
    {"AM_GRAD_ADD accumulates", test_grad_add},
    {"scalar ops on widened integers", test_scalar_widened_dtype},
    {"only needed gradients", test_only_needed},
    CU_TEST_INFO_NULL,
};
