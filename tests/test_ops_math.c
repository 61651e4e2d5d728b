/* The ops_math suite: hand-checked values, dtype rules and errors of
 * ndarray/ops/math.c (tan ... erfinv, trunc, fix, rint, logical_not,
 * hard_sigmoid, smooth_l1, _backward_gammaln), of MXNet's _-prefixed binary
 * forms, broadcast_hypot, broadcast_logical_* and the new scalar forms. */
#include "test_util.h"

#define F32 AM_DTYPE_FLOAT32
#define F64 AM_DTYPE_FLOAT64
#define I32 AM_DTYPE_INT32
#define I64 AM_DTYPE_INT64
#define U8 AM_DTYPE_UINT8
#define TOL 1e-6
#define PI 3.14159265358979323846
#define SQRT_PI 1.7724538509055160273

static void test_trig_hyperbolic_values(void)
{
    am_scope_begin();
    TU_ASSERT_VALUES(am_tan(tu_array(F32, AM_SHAPE(3), 0, PI / 4, -PI / 4)), AM_SHAPE(3), TOL,
                     0, 1, -1);
    TU_ASSERT_VALUES(am_arcsin(tu_array(F32, AM_SHAPE(4), 1, 0.5, -1, 2)), AM_SHAPE(4), TOL,
                     PI / 2, PI / 6, -PI / 2, NAN);
    TU_ASSERT_VALUES(am_arccos(tu_array(F64, AM_SHAPE(4), 1, 0, -1, -1.5)), AM_SHAPE(4), 1e-12,
                     0, PI / 2, PI, NAN);
    TU_ASSERT_VALUES(am_arctan(tu_array(F32, AM_SHAPE(3), 1, -1, INFINITY)), AM_SHAPE(3), TOL,
                     PI / 4, -PI / 4, PI / 2);
    TU_ASSERT_VALUES(am_sinh(tu_array(F32, AM_SHAPE(3), 0, 1, -1)), AM_SHAPE(3), TOL,
                     0, 1.1752011936, -1.1752011936);
    TU_ASSERT_VALUES(am_cosh(tu_array(F64, AM_SHAPE(3), 0, 1, -1)), AM_SHAPE(3), 1e-10,
                     1, 1.5430806348, 1.5430806348);
    TU_ASSERT_VALUES(am_arcsinh(tu_array(F32, AM_SHAPE(3), 0, 1, -1)), AM_SHAPE(3), TOL,
                     0, 0.8813735870, -0.8813735870);
    TU_ASSERT_VALUES(am_arccosh(tu_array(F32, AM_SHAPE(3), 1, 2, 0.5)), AM_SHAPE(3), TOL,
                     0, 1.3169578969, NAN);
    TU_ASSERT_VALUES(am_arctanh(tu_array(F32, AM_SHAPE(4), 0, 0.5, 1, -1)), AM_SHAPE(4), TOL,
                     0, 0.5493061443, INFINITY, -INFINITY);
    TU_ASSERT_VALUES(am_degrees(tu_array(F32, AM_SHAPE(2), PI, -PI / 2)), AM_SHAPE(2), 1e-4,
                     180, -90);
    TU_ASSERT_VALUES(am_radians(tu_array(F64, AM_SHAPE(2), 90, -180)), AM_SHAPE(2), 1e-12,
                     PI / 2, -PI);
    am_scope_end();
}

static void test_log_root_values(void)
{
    am_scope_begin();
    TU_ASSERT_VALUES(am_log2(tu_array(F32, AM_SHAPE(4), 8, 0.5, 0, -1)), AM_SHAPE(4), TOL,
                     3, -1, -INFINITY, NAN);
    TU_ASSERT_VALUES(am_log10(tu_array(F64, AM_SHAPE(3), 1000, 0.01, 1)), AM_SHAPE(3), 1e-12,
                     3, -2, 0);
    TU_ASSERT_VALUES(am_cbrt(tu_array(F32, AM_SHAPE(3), 27, -8, 0)), AM_SHAPE(3), TOL, 3, -2, 0);
    TU_ASSERT_VALUES(am_rcbrt(tu_array(F32, AM_SHAPE(3), 8, -27, 0)), AM_SHAPE(3), TOL,
                     0.5, -1.0 / 3, INFINITY);
    am_scope_end();
}

/* gamma and gammaln at integers, halves and a negative half; erfinv at
 * textbook points and as erf's inverse to double precision. */
static void test_special_values(void)
{
    am_scope_begin();
    am_array *x = tu_array(F64, AM_SHAPE(4), 5, 0.5, -0.5, 1);
    TU_ASSERT_VALUES(am_gamma(x), AM_SHAPE(4), 1e-12, 24, SQRT_PI, -2 * SQRT_PI, 1);
    TU_ASSERT_VALUES(am_gammaln(x), AM_SHAPE(4), 1e-12, log(24.0), log(SQRT_PI),
                     log(2 * SQRT_PI), 0);
    TU_ASSERT_VALUES(am_gamma(am_astype(x, F32)), AM_SHAPE(4), TOL, 24, SQRT_PI, -2 * SQRT_PI, 1);
    TU_ASSERT_VALUES(am_erfinv(tu_array(F32, AM_SHAPE(6), 0, 0.5, -0.9, 1, -1, 1.5)),
                     AM_SHAPE(6), TOL, 0, 0.4769362762, -1.1630871537, INFINITY, -INFINITY, NAN);
    am_array *y = tu_array(F64, AM_SHAPE(6), -0.999999, -0.3, 1e-9, 0.7, 0.99, 0.9999999);
    CU_ASSERT(tu_allclose(am_erf(am_erfinv(y)), y, 1e-14));
    TU_ASSERT_VALUES(am_erfinv(tu_array(F64, AM_SHAPE(1), 0.999)), AM_SHAPE(1), 1e-12,
                     2.326753765513525);
    am_scope_end();
}

/* _backward_gammaln: og * digamma(x) against the digamma function's values. */
static void test_backward_gammaln(void)
{
    am_scope_begin();
    am_array *og = tu_array(F64, AM_SHAPE(5), 2, 1, 1, 1, -1);
    am_array *x = tu_array(F64, AM_SHAPE(5), 1, 0.5, 10, -0.5, 3);
    am_array *in[2] = {og, x}, *y = NULL;
    CU_ASSERT_EQUAL_FATAL(am_invoke("_backward_gammaln", in, 2, NULL, NULL, 0, &y, 1), AM_OK);
    TU_ASSERT_VALUES(y, AM_SHAPE(5), 1e-12, -2 * 0.5772156649015329, -1.9635100260214235,
                     2.251752589066721, 0.03648997397857652, -0.9227843350984671);
    in[1] = tu_array(F64, AM_SHAPE(4), 1, 2, 3, 4);
    TU_ASSERT_FAILS(am_invoke("_backward_gammaln", in, 2, NULL, NULL, 0, &y, 1) == AM_OK,
                    AM_ERR_SHAPE, "same shape");
    am_scope_end();
}

/* trunc and fix round toward zero; MXNet's rint takes the lower integer at
 * halves; integers pass through; logical_not gives 0/1 in the input dtype. */
static void test_rounding_logical_not(void)
{
    am_scope_begin();
    am_array *h = tu_array(F32, AM_SHAPE(8), -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 1.6, -2.7);
    TU_ASSERT_VALUES(am_trunc(h), AM_SHAPE(8), 0, -2, -1, 0, 0, 1, 2, 1, -2);
    TU_ASSERT_VALUES(am_fix(h), AM_SHAPE(8), 0, -2, -1, 0, 0, 1, 2, 1, -2);
    TU_ASSERT_VALUES(am_rint(h), AM_SHAPE(8), 0, -3, -2, -1, 0, 1, 2, 2, -3);
    TU_ASSERT_VALUES(am_rint(am_astype(h, F64)), AM_SHAPE(8), 0, -3, -2, -1, 0, 1, 2, 2, -3);
    am_array *i = tu_array(I32, AM_SHAPE(3), -7, 0, 9);
    TU_ASSERT_VALUES(am_rint(i), AM_SHAPE(3), 0, -7, 0, 9);
    CU_ASSERT_EQUAL(am_array_dtype(am_trunc(i)), I32);
    TU_ASSERT_VALUES(am_logical_not(tu_array(F32, AM_SHAPE(4), 0, 2, -1, NAN)), AM_SHAPE(4), 0,
                     1, 0, 0, 0);
    am_array *u = am_logical_not(tu_array(U8, AM_SHAPE(3), 0, 1, 255));
    TU_ASSERT_VALUES(u, AM_SHAPE(3), 0, 1, 0, 0);
    CU_ASSERT_EQUAL(am_array_dtype(u), U8);
    for (const char *const *n = (const char *const[]){"trunc", "fix", "rint", "logical_not", NULL};
         *n; n++)
        CU_ASSERT(am_op_find(*n)->flags & AM_OP_NO_GRAD);
    am_scope_end();
}

static void test_hard_sigmoid_smooth_l1(void)
{
    am_scope_begin();
    am_array *x = tu_array(F32, AM_SHAPE(5), -3, 0, 1, 3, -2.5);
    TU_ASSERT_VALUES(am_hard_sigmoid(x, 0.2, 0.5), AM_SHAPE(5), TOL, 0, 0.5, 0.7, 1, 0);
    TU_ASSERT_VALUES(am_hard_sigmoid(tu_array(F64, AM_SHAPE(3), NAN, -INFINITY, INFINITY), 0.2,
                                     0.5), AM_SHAPE(3), 0, NAN, 0, 1); /* MXNet keeps NaN */
    TU_ASSERT_VALUES(tu_invoke1("hard_sigmoid", x, NULL, NULL), AM_SHAPE(5), TOL,
                     0, 0.5, 0.7, 1, 0);
    TU_ASSERT_VALUES(tu_invoke1("hard_sigmoid", x, "alpha|beta", "1|0.25"), AM_SHAPE(5), TOL,
                     0, 0.25, 1, 1, 0);
    am_array *s = tu_array(F64, AM_SHAPE(5), 0.5, 2, -2, 0, -0.999);
    TU_ASSERT_VALUES(am_smooth_l1(s, 1), AM_SHAPE(5), 1e-12, 0.125, 1.5, 1.5, 0,
                     0.5 * 0.999 * 0.999);
    TU_ASSERT_VALUES(am_smooth_l1(tu_array(F32, AM_SHAPE(3), 0.2, 0.5, -1), 2), AM_SHAPE(3), TOL,
                     0.08, 0.375, 0.875);
    /* scalar has no default, as in MXNet */
    TU_ASSERT_FAILS(tu_invoke1("smooth_l1", s, NULL, NULL), AM_ERR_ARG, "scalar");
    am_scope_end();
}

static void test_float_only_errors(void)
{
    am_scope_begin();
    am_array *i = tu_array(I32, AM_SHAPE(2), 1, 2);
    const char *const names[] = {"tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh",
                                 "arccosh", "arctanh", "log2", "log10", "cbrt", "rcbrt",
                                 "degrees", "radians", "gamma", "gammaln", "erfinv",
                                 "hard_sigmoid"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        char want[64];
        snprintf(want, sizeof(want), "%s: data has dtype int32", names[k]);
        TU_ASSERT_FAILS(tu_invoke1(names[k], i, NULL, NULL), AM_ERR_DTYPE, want);
    }
    TU_ASSERT_FAILS(am_tan(NULL), AM_ERR_ARG, "tan");
    am_scope_end();
}

/* ---- binary ------------------------------------------------------------------------ */

static am_array *run2(const char *op, am_array *a, am_array *b)
{
    am_array *in[2] = {a, b}, *y = NULL;
    return tu_invoke(op, in, 2, NULL, NULL, &y, 1) == AM_OK ? y : NULL;
}

static void test_underscore_binary_values(void)
{
    am_scope_begin();
    am_array *a = tu_array(F32, AM_SHAPE(5), 1, NAN, -2, 0, 3);
    am_array *b = tu_array(F32, AM_SHAPE(5), 3, 0, -5, 0, -4);
    TU_ASSERT_VALUES(am_elemwise_maximum(a, b), AM_SHAPE(5), 0, 3, NAN, -2, 0, 3);
    TU_ASSERT_VALUES(am_elemwise_minimum(a, b), AM_SHAPE(5), 0, 1, NAN, -5, 0, -4);
    TU_ASSERT_VALUES(am_elemwise_hypot(a, b), AM_SHAPE(5), TOL, 3.16227766, NAN, 5.38516481, 0, 5);
    TU_ASSERT_VALUES(am_elemwise_equal(a, b), AM_SHAPE(5), 0, 0, 0, 0, 1, 0);
    TU_ASSERT_VALUES(am_elemwise_not_equal(a, b), AM_SHAPE(5), 0, 1, 1, 1, 0, 1);
    TU_ASSERT_VALUES(am_elemwise_greater(a, b), AM_SHAPE(5), 0, 0, 0, 1, 0, 1);
    TU_ASSERT_VALUES(am_elemwise_greater_equal(a, b), AM_SHAPE(5), 0, 0, 0, 1, 1, 1);
    TU_ASSERT_VALUES(am_elemwise_lesser(a, b), AM_SHAPE(5), 0, 1, 0, 0, 0, 0);
    TU_ASSERT_VALUES(am_elemwise_lesser_equal(a, b), AM_SHAPE(5), 0, 1, 0, 0, 1, 0);
    /* NaN is nonzero, so true */
    TU_ASSERT_VALUES(am_elemwise_logical_and(a, b), AM_SHAPE(5), 0, 1, 0, 1, 0, 1);
    TU_ASSERT_VALUES(am_elemwise_logical_or(a, b), AM_SHAPE(5), 0, 1, 1, 1, 0, 1);
    TU_ASSERT_VALUES(am_elemwise_logical_xor(a, b), AM_SHAPE(5), 0, 0, 1, 0, 0, 0);
    am_array *p = tu_array(F64, AM_SHAPE(3), 2, -7, 7), *q = tu_array(F64, AM_SHAPE(3), 3, 3, -3);
    TU_ASSERT_VALUES(am_elemwise_power(p, tu_array(F64, AM_SHAPE(3), 3, 2, 0.5)), AM_SHAPE(3),
                     1e-12, 8, 49, sqrt(7.0));
    TU_ASSERT_VALUES(am_elemwise_mod(p, q), AM_SHAPE(3), 0, 2, 2, -2); /* Python's sign rule */
    /* MXNet's names and aliases reach the same entries */
    TU_ASSERT_VALUES(run2("_Maximum", a, b), AM_SHAPE(5), 0, 3, NAN, -2, 0, 3);
    TU_ASSERT_VALUES(run2("_Logical_Xor", a, b), AM_SHAPE(5), 0, 0, 1, 0, 0, 0);
    static const char *const alias[][2] = {
        {"_Maximum", "_maximum"}, {"_Minimum", "_minimum"}, {"_Power", "_power"},
        {"_Mod", "_mod"}, {"_Hypot", "_hypot"}, {"_Equal", "_equal"},
        {"_Not_Equal", "_not_equal"}, {"_Greater", "_greater"},
        {"_Greater_Equal", "_greater_equal"}, {"_Lesser", "_lesser"},
        {"_Lesser_Equal", "_lesser_equal"}, {"_Logical_And", "_logical_and"},
        {"_Logical_Or", "_logical_or"}, {"_Logical_Xor", "_logical_xor"},
        {"_HypotScalar", "_hypot_scalar"}, {"_LogicalAndScalar", "_logical_and_scalar"},
        {"_LogicalOrScalar", "_logical_or_scalar"}, {"_LogicalXorScalar", "_logical_xor_scalar"},
        {"_grad_add", "elemwise_add"}, {"_copyto", "_copy"}, {"Convolution_v1", "Convolution"},
        {"Pooling_v1", "Pooling"}, {"BatchNorm_v1", "BatchNorm"}, {"broadcast_axes", "broadcast_axis"}};
    for (size_t k = 0; k < sizeof(alias) / sizeof(alias[0]); k++) {
        CU_ASSERT_PTR_NOT_NULL(am_op_find(alias[k][0]));
        CU_ASSERT_PTR_EQUAL(am_op_find(alias[k][0]), am_op_find(alias[k][1]));
    }
    CU_ASSERT_EQUAL(am_op_find("_maximum")->fuse, AM_FUSE_ELEMWISE);
    CU_ASSERT(am_op_find("_greater")->flags & AM_OP_NO_GRAD);
    CU_ASSERT(!(am_op_find("_hypot")->flags & AM_OP_NO_GRAD));
    am_scope_end();
}

/* Integer hypot truncates (MXNet) and saturates, without overflow. */
static void test_integer_binary(void)
{
    am_scope_begin();
    TU_ASSERT_VALUES(am_elemwise_hypot(tu_array(I32, AM_SHAPE(3), 1, 3, -3),
                                       tu_array(I32, AM_SHAPE(3), 1, 4, -3)),
                     AM_SHAPE(3), 0, 1, 5, 4);
    TU_ASSERT_VALUES(am_elemwise_hypot(tu_array(U8, AM_SHAPE(2), 200, 3),
                                       tu_array(U8, AM_SHAPE(2), 200, 4)),
                     AM_SHAPE(2), 0, 255, 5);
    am_array *big = tu_array(I64, AM_SHAPE(1), 9e18);
    CU_ASSERT_EQUAL(am_item(am_elemwise_hypot(big, big), 0), 9223372036854774784.0);
    TU_ASSERT_VALUES(am_elemwise_logical_and(tu_array(I32, AM_SHAPE(4), 0, 5, -1, 0),
                                             tu_array(I32, AM_SHAPE(4), 2, 3, 0, 0)),
                     AM_SHAPE(4), 0, 0, 1, 0, 0);
    TU_ASSERT_VALUES(am_broadcast_logical_or(tu_array(U8, AM_SHAPE(2, 1), 0, 7),
                                             tu_array(U8, AM_SHAPE(3), 0, 1, 0)),
                     AM_SHAPE(2, 3), 0, 0, 1, 0, 1, 1, 1);
    am_scope_end();
}

static void test_broadcast_hypot_logical(void)
{
    am_scope_begin();
    am_array *a = tu_array(F32, AM_SHAPE(2, 1), 3, 0), *b = tu_array(F32, AM_SHAPE(3), 4, 0, -1);
    TU_ASSERT_VALUES(am_broadcast_hypot(a, b), AM_SHAPE(2, 3), TOL, 5, 3, 3.16227766, 4, 0, 1);
    TU_ASSERT_VALUES(am_broadcast_logical_and(a, b), AM_SHAPE(2, 3), 0, 1, 0, 1, 0, 0, 0);
    TU_ASSERT_VALUES(am_broadcast_logical_or(a, b), AM_SHAPE(2, 3), 0, 1, 1, 1, 1, 0, 1);
    TU_ASSERT_VALUES(am_broadcast_logical_xor(a, b), AM_SHAPE(2, 3), 0, 0, 1, 0, 1, 0, 1);
    CU_ASSERT_EQUAL(am_op_find("broadcast_hypot")->fuse, AM_FUSE_BROADCAST);
    CU_ASSERT(am_op_find("broadcast_logical_and")->flags & AM_OP_NO_GRAD);
    am_scope_end();
}

static void test_binary_errors(void)
{
    am_scope_begin();
    am_array *a = tu_array(F32, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
    am_array *b = tu_array(F32, AM_SHAPE(3), 1, 2, 3);
    TU_ASSERT_FAILS(am_elemwise_maximum(a, b), AM_ERR_SHAPE,
                    "_maximum: lhs (2, 3) and rhs (3,) must have the same shape");
    TU_ASSERT_FAILS(run2("_Logical_And", a, b), AM_ERR_SHAPE, "_logical_and: lhs (2, 3)");
    TU_ASSERT_FAILS(am_elemwise_hypot(a, am_astype(a, F64)), AM_ERR_DTYPE,
                    "_hypot: lhs float32 and rhs float64 must have the same dtype");
    TU_ASSERT_FAILS(am_broadcast_hypot(a, tu_array(F32, AM_SHAPE(2), 1, 2)), AM_ERR_SHAPE,
                    "broadcast_hypot: lhs (2, 3) and rhs (2,) cannot be broadcast together");
    am_scope_end();
}

static void test_scalar_forms(void)
{
    am_scope_begin();
    am_array *x = tu_array(F32, AM_SHAPE(4), 3, 0, -4, NAN);
    TU_ASSERT_VALUES(am_hypot_scalar(x, 4), AM_SHAPE(4), TOL, 5, 4, 5.65685425, NAN);
    TU_ASSERT_VALUES(am_logical_and_scalar(x, 1), AM_SHAPE(4), 0, 1, 0, 1, 1);
    TU_ASSERT_VALUES(am_logical_and_scalar(x, 0), AM_SHAPE(4), 0, 0, 0, 0, 0);
    TU_ASSERT_VALUES(am_logical_or_scalar(x, 0), AM_SHAPE(4), 0, 1, 0, 1, 1);
    TU_ASSERT_VALUES(am_logical_xor_scalar(x, 2), AM_SHAPE(4), 0, 0, 1, 0, 0);
    TU_ASSERT_VALUES(tu_invoke1("_HypotScalar", x, "scalar", "0"), AM_SHAPE(4), 0, 3, 0, 4, NAN);
    /* integers: hypot truncates, the scalar is converted to the dtype first */
    am_array *i = tu_array(I32, AM_SHAPE(3), 3, 1, -6);
    TU_ASSERT_VALUES(am_hypot_scalar(i, 4), AM_SHAPE(3), 0, 5, 4, 7);
    TU_ASSERT_VALUES(am_logical_or_scalar(i, 0.5), AM_SHAPE(3), 0, 1, 1, 1);
    TU_ASSERT_VALUES(am_logical_and_scalar(tu_array(U8, AM_SHAPE(2), 0, 9), 3), AM_SHAPE(2), 0,
                     0, 1);
    CU_ASSERT(am_op_find("_logical_xor_scalar")->flags & AM_OP_NO_GRAD);
    CU_ASSERT(!(am_op_find("_hypot_scalar")->flags & AM_OP_NO_GRAD));
    TU_ASSERT_FAILS(tu_invoke1("_hypot_scalar", x, "scalar", "two"), AM_ERR_FORMAT,
                    "_hypot_scalar: attribute scalar='two' is not a number");
    am_scope_end();
}


/* d sum(w * op(x)) / dx through autograd. */
static am_array *grad_of(am_array *(*f)(am_array *, void *), void *arg, am_array *x, am_array *w)
{
    am_array *gx = NULL, *v = am_copy(x);
    CU_ASSERT_EQUAL(am_attach_grad(v, AM_GRAD_WRITE), AM_OK);
    am_autograd_record_begin(true);
    am_array *y = f(v, arg);
    am_autograd_end();
    CU_ASSERT_EQUAL(am_grad_of(&y, &w, 1, &v, 1, false, false, &gx), AM_OK);
    return gx;
}

static am_array *f_round_ste(am_array *x, void *a) { AM_UNUSED(a); return am_round_ste(x); }
static am_array *f_sign_ste(am_array *x, void *a) { AM_UNUSED(a); return am_sign_ste(x); }
static am_array *f_gradmul(am_array *x, void *a) { return am_gradientmultiplier(x, *(double *)a); }

/* The straight-through ops and gradientmultiplier: forward values, and the
 * gradients MXNet gives (og, og, scalar * og). */
static void test_surrogate_gradients(void)
{
    am_scope_begin();
    am_array *x = tu_array(F64, AM_SHAPE(5), -1.5, -0.5, 0.5, 1.5, 2.5);
    am_array *w = tu_array(F64, AM_SHAPE(5), 1, 2, 3, 4, 5);
    TU_ASSERT_VALUES(am_round_ste(x), AM_SHAPE(5), 0, -2, -1, 1, 2, 3);
    TU_ASSERT_VALUES(am_sign_ste(tu_array(F32, AM_SHAPE(3), -2, 0, 0.1)), AM_SHAPE(3), 0, -1, 0, 1);
    TU_ASSERT_VALUES(am_gradientmultiplier(x, 3), AM_SHAPE(5), 0, -1.5, -0.5, 0.5, 1.5, 2.5);
    TU_ASSERT_VALUES(grad_of(f_round_ste, NULL, x, w), AM_SHAPE(5), 0, 1, 2, 3, 4, 5);
    TU_ASSERT_VALUES(grad_of(f_sign_ste, NULL, x, w), AM_SHAPE(5), 0, 1, 2, 3, 4, 5);
    double k = -0.5;
    TU_ASSERT_VALUES(grad_of(f_gradmul, &k, x, w), AM_SHAPE(5), 0, -0.5, -1, -1.5, -2, -2.5);
    CU_ASSERT(am_op_find("_contrib_round_ste")->flags & AM_OP_SURROGATE_GRAD);
    CU_ASSERT(am_op_find("_contrib_gradientmultiplier")->flags & AM_OP_SURROGATE_GRAD);
    TU_ASSERT_VALUES(tu_invoke1("_contrib_gradientmultiplier", tu_array(I32, AM_SHAPE(2), -3, 4),
                                "scalar", "2"), AM_SHAPE(2), 0, -3, 4);
    am_scope_end();
}

static void test_quadratic(void)
{
    am_scope_begin();
    am_array *x = tu_array(F32, AM_SHAPE(5), -1.5, -0.5, 0.5, 1.5, 2.5);
    TU_ASSERT_VALUES(am_quadratic(x, 1, 2, 3), AM_SHAPE(5), TOL, 2.25, 2.25, 4.25, 8.25, 14.25);
    TU_ASSERT_VALUES(tu_invoke1("_contrib_quadratic", x, NULL, NULL), AM_SHAPE(5), 0,
                     0, 0, 0, 0, 0);
    TU_ASSERT_VALUES(tu_invoke1("_contrib_quadratic", x, "b", "-1"), AM_SHAPE(5), TOL,
                     1.5, 0.5, -0.5, -1.5, -2.5);
    TU_ASSERT_FAILS(am_quadratic(tu_array(I32, AM_SHAPE(1), 1), 1, 0, 0), AM_ERR_DTYPE,
                    "_contrib_quadratic: data has dtype int32");
    am_scope_end();
}

static void test_identity_like_rhs(void)
{
    am_scope_begin();
    am_array *a = tu_array(F32, AM_SHAPE(2, 2), 1, -2, 3, 4);
    am_array *b = tu_array(F32, AM_SHAPE(2, 2), 0, 0, 0, 0);
    TU_ASSERT_VALUES(am_identity_with_attr_like_rhs(a, b), AM_SHAPE(2, 2), 0, 1, -2, 3, 4);
    TU_ASSERT_FAILS(am_identity_with_attr_like_rhs(a, tu_array(F32, AM_SHAPE(4), 1, 2, 3, 4)),
                    AM_ERR_SHAPE, "_identity_with_attr_like_rhs: lhs (2, 2) and rhs (4,) must "
                    "have the same shape");
    TU_ASSERT_FAILS(am_identity_with_attr_like_rhs(a, am_astype(b, I32)), AM_ERR_DTYPE,
                    "lhs float32 and rhs int32 must have the same dtype");
    /* rhs gets a zero gradient */
    am_array *va = am_copy(a), *vb = am_copy(b), *g[2] = {0}, *vars[2] = {va, vb};
    am_attach_grad(va, AM_GRAD_WRITE), am_attach_grad(vb, AM_GRAD_WRITE);
    am_autograd_record_begin(true);
    am_array *y = am_identity_with_attr_like_rhs(va, vb);
    am_autograd_end();
    am_array *w = tu_array(F32, AM_SHAPE(2, 2), 5, 6, 7, 8);
    CU_ASSERT_EQUAL(am_grad_of(&y, &w, 1, vars, 2, false, false, g), AM_OK);
    TU_ASSERT_VALUES(g[0], AM_SHAPE(2, 2), 0, 5, 6, 7, 8);
    TU_ASSERT_VALUES(g[1], AM_SHAPE(2, 2), 0, 0, 0, 0, 0);
    am_scope_end();
}

static void test_softmin(void)
{
    am_scope_begin();
    am_array *x = tu_array(F32, AM_SHAPE(2, 3), 1, 2, 3, 1000, 1001, 1002);
    TU_ASSERT_VALUES(am_softmin(x, -1), AM_SHAPE(2, 3), TOL, 0.6652409558, 0.2447284711,
                     0.0900305732, 0.6652409558, 0.2447284711, 0.0900305732);
    TU_ASSERT_VALUES(am_softmin_at(x, 1, 2.0, AM_HERE), AM_SHAPE(2, 3), TOL, 0.5064803911,
                     0.3071958857, 0.1863237232, 0.5064803911, 0.3071958857, 0.1863237232);
    TU_ASSERT_VALUES(am_softmin(tu_array(F64, AM_SHAPE(2, 2), 0, 5, 0, -5), 0), AM_SHAPE(2, 2),
                     1e-12, 0.5, 0.0000453978687, 0.5, 0.9999546021313);
    am_array *in[2] = {x, tu_array(I32, AM_SHAPE(2), 2, 3)}, *y = NULL;
    TU_ASSERT_STATUS(tu_invoke("softmin", in, 1, "use_length", "True", &y, 1), AM_ERR_ARG,
                     "softmin: use_length=True needs a length input");
    TU_ASSERT_STATUS(tu_invoke("softmin", in, 2, NULL, NULL, &y, 1), AM_ERR_ARG, "softmin");
    TU_ASSERT_FAILS(am_softmin(tu_array(I32, AM_SHAPE(2), 1, 2), -1), AM_ERR_DTYPE, "softmin");
    TU_ASSERT_FAILS(am_softmin(x, 2), AM_ERR_ARG, "softmin");
    am_scope_end();
}

static void test_eye(void)
{
    am_scope_begin();
    TU_ASSERT_VALUES(am_eye(2, 0, 0, F32), AM_SHAPE(2, 2), 0, 1, 0, 0, 1);
    TU_ASSERT_VALUES(am_eye(2, 3, 1, F64), AM_SHAPE(2, 3), 0, 0, 1, 0, 0, 0, 1);
    am_array *y = am_eye(3, 2, -1, I32);
    TU_ASSERT_VALUES(y, AM_SHAPE(3, 2), 0, 0, 0, 1, 0, 0, 1);
    CU_ASSERT_EQUAL(am_array_dtype(y), I32);
    TU_ASSERT_VALUES(am_eye(2, 2, 5, U8), AM_SHAPE(2, 2), 0, 0, 0, 0, 0);
    TU_ASSERT_FAILS(am_eye(-1, 0, 0, F32), AM_ERR_ARG, "_eye: N=-1 and M=0 must not be negative");
    am_scope_end();
}

CU_TestInfo am_tests_ops_math[] = {
    {"trigonometric and hyperbolic values", test_trig_hyperbolic_values},
    {"log2, log10, cbrt, rcbrt", test_log_root_values},
    {"gamma, gammaln, erfinv", test_special_values},
    {"_backward_gammaln is og * digamma", test_backward_gammaln},
    {"trunc, fix, rint, logical_not", test_rounding_logical_not},
    {"hard_sigmoid and smooth_l1", test_hard_sigmoid_smooth_l1},
    {"float-only ops reject integers", test_float_only_errors},
    {"_maximum ... _logical_xor values and aliases", test_underscore_binary_values},
    {"integer hypot and logical ops", test_integer_binary},
    {"broadcast_hypot and broadcast_logical_*", test_broadcast_hypot_logical},
    {"binary errors", test_binary_errors},
    {"_hypot_scalar and _logical_*_scalar", test_scalar_forms},
    {"straight-through ops and gradientmultiplier", test_surrogate_gradients},
    {"_contrib_quadratic", test_quadratic},
    {"softmin", test_softmin},
    {"_identity_with_attr_like_rhs", test_identity_like_rhs},
    {"_eye", test_eye},
    CU_TEST_INFO_NULL,
};
