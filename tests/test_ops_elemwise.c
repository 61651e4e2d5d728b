/* The ops_elemwise suite: hand-checked values, dtype rules and errors of the
 * unary ops, the scalar family, Activation and LeakyReLU. */
#include "test_util.h"

#define F32 AM_DTYPE_FLOAT32
#define F64 AM_DTYPE_FLOAT64
#define I32 AM_DTYPE_INT32
#define I64 AM_DTYPE_INT64
#define U8 AM_DTYPE_UINT8
#define TOL 1e-6

/* Runs op by name with up to two attributes and one visible output. */
static am_array *run(const char *op, am_array **in, int n_in, const char *k1, const char *v1,
                     const char *k2, const char *v2)
{
    const char *keys[] = {k1, k2}, *vals[] = {v1, v2};
    int n = k2 ? 2 : k1 ? 1 : 0;
    am_array *y = NULL;
    return am_invoke(op, in, n_in, keys, vals, n, &y, 1) == AM_OK ? y : NULL;
}

static am_array *run1(const char *op, am_array *x, const char *k, const char *v)
{
    return run(op, &x, 1, k, v, NULL, NULL);
}

/* ---- unary ops ----------------------------------------------------------------------- */

static void test_unary_float_values(void)
{
    am_scope_begin();
    const double pi = 3.14159265358979323846, e = 2.71828182845904523536;
    TU_ASSERT_VALUES(am_exp(tu_array(F32, AM_SHAPE(4), -1, 0, 0.5, 2)), AM_SHAPE(4), TOL,
                     0.36787944117, 1, 1.6487212707, 7.3890560989);
    TU_ASSERT_VALUES(am_log(tu_array(F32, AM_SHAPE(4), 0, 1, e, -1)), AM_SHAPE(4), TOL,
                     -INFINITY, 0, 1, NAN);
    TU_ASSERT_VALUES(am_log1p(tu_array(F32, AM_SHAPE(4), -1, 0, 1e-7, 1)), AM_SHAPE(4), TOL,
                     -INFINITY, 0, 1e-7, 0.69314718056);
    TU_ASSERT_VALUES(am_expm1(tu_array(F32, AM_SHAPE(4), 0, 1, -1, 1e-7)), AM_SHAPE(4), TOL,
                     0, 1.7182818285, -0.63212055883, 1e-7);
    TU_ASSERT_VALUES(am_sqrt(tu_array(F32, AM_SHAPE(4), 4, 0, 2, -1)), AM_SHAPE(4), TOL,
                     2, 0, 1.41421356237, NAN);
    TU_ASSERT_VALUES(am_rsqrt(tu_array(F32, AM_SHAPE(3), 4, 0.25, 0)), AM_SHAPE(3), TOL,
                     0.5, 2, INFINITY);
    TU_ASSERT_VALUES(am_reciprocal(tu_array(F32, AM_SHAPE(3), 2, -4, 0)), AM_SHAPE(3), TOL,
                     0.5, -0.25, INFINITY);
    TU_ASSERT_VALUES(am_sin(tu_array(F32, AM_SHAPE(3), 0, pi / 2, pi / 6)), AM_SHAPE(3), TOL,
                     0, 1, 0.5);
    TU_ASSERT_VALUES(am_cos(tu_array(F32, AM_SHAPE(3), 0, pi, pi / 3)), AM_SHAPE(3), TOL,
                     1, -1, 0.5);
    TU_ASSERT_VALUES(am_tanh(tu_array(F32, AM_SHAPE(3), 0, 1, -2)), AM_SHAPE(3), TOL,
                     0, 0.76159415596, -0.96402758008);
    TU_ASSERT_VALUES(am_sigmoid(tu_array(F32, AM_SHAPE(4), 0, 2, -100, 100)), AM_SHAPE(4), TOL,
                     0.5, 0.88079707798, 0, 1);
    TU_ASSERT_VALUES(am_softsign(tu_array(F32, AM_SHAPE(3), 1, -3, 0)), AM_SHAPE(3), TOL,
                     0.5, -0.75, 0);
    TU_ASSERT_VALUES(am_erf(tu_array(F32, AM_SHAPE(3), 0, 1, -0.5)), AM_SHAPE(3), TOL,
                     0, 0.84270079295, -0.52049987781);
    am_scope_end();
}

static void test_unary_any_dtype_values(void)
{
    am_scope_begin();
    am_array *x = tu_array(F32, AM_SHAPE(5), -2, 0, 3, 2.5, NAN);
    TU_ASSERT_VALUES(am_negative(x), AM_SHAPE(5), 0, 2, 0, -3, -2.5, NAN);
    TU_ASSERT_VALUES(am_abs(x), AM_SHAPE(5), 0, 2, 0, 3, 2.5, NAN);
    TU_ASSERT_VALUES(am_sign(x), AM_SHAPE(5), 0, -1, 0, 1, 1, 0); /* MXNet: sign(NaN) = 0 */
    TU_ASSERT_VALUES(am_square(x), AM_SHAPE(5), 0, 4, 0, 9, 6.25, NAN);
    TU_ASSERT_VALUES(am_relu(x), AM_SHAPE(5), 0, 0, 0, 3, 2.5, NAN);
    /* round halves away from zero, like C's round and MXNet (NumPy would give 2, -2). */
    am_array *h = tu_array(F64, AM_SHAPE(7), 2.5, -2.5, 0.5, -0.4, 1.49, 3.5, -0.5);
    TU_ASSERT_VALUES(am_round(h), AM_SHAPE(7), 0, 3, -3, 1, 0, 1, 4, -1);
    TU_ASSERT_VALUES(am_floor(h), AM_SHAPE(7), 0, 2, -3, 0, -1, 1, 3, -1);
    TU_ASSERT_VALUES(am_ceil(h), AM_SHAPE(7), 0, 3, -2, 1, 0, 2, 4, 0);
    CU_ASSERT_EQUAL(am_array_dtype(am_round(h)), F64);

    am_array *i = tu_array(I32, AM_SHAPE(3), -3, 0, 7);
    TU_ASSERT_VALUES(am_negative(i), AM_SHAPE(3), 0, 3, 0, -7);
    TU_ASSERT_VALUES(am_abs(i), AM_SHAPE(3), 0, 3, 0, 7);
    TU_ASSERT_VALUES(am_sign(i), AM_SHAPE(3), 0, -1, 0, 1);
    TU_ASSERT_VALUES(am_square(i), AM_SHAPE(3), 0, 9, 0, 49);
    TU_ASSERT_VALUES(am_relu(i), AM_SHAPE(3), 0, 0, 0, 7);
    TU_ASSERT_VALUES(am_round(i), AM_SHAPE(3), 0, -3, 0, 7);
    TU_ASSERT_VALUES(am_floor(i), AM_SHAPE(3), 0, -3, 0, 7);
    TU_ASSERT_VALUES(am_ceil(i), AM_SHAPE(3), 0, -3, 0, 7);
    CU_ASSERT_EQUAL(am_array_dtype(am_relu(i)), I32);

    /* Integers wrap: uint8 negation is 256 - x, INT32_MIN is its own negation. */
    am_array *u = tu_array(U8, AM_SHAPE(4), 0, 1, 3, 255);
    TU_ASSERT_VALUES(am_negative(u), AM_SHAPE(4), 0, 0, 255, 253, 1);
    TU_ASSERT_VALUES(am_abs(u), AM_SHAPE(4), 0, 0, 1, 3, 255);
    TU_ASSERT_VALUES(am_sign(u), AM_SHAPE(4), 0, 0, 1, 1, 1);
    TU_ASSERT_VALUES(am_square(tu_array(U8, AM_SHAPE(2), 15, 16)), AM_SHAPE(2), 0, 225, 0);
    CU_ASSERT_EQUAL(am_array_dtype(am_negative(u)), U8);
    TU_ASSERT_VALUES(am_negative(tu_array(I32, AM_SHAPE(2), INT32_MIN, INT32_MAX)), AM_SHAPE(2), 0,
                     INT32_MIN, -INT32_MAX);
    TU_ASSERT_VALUES(am_abs(tu_array(I64, AM_SHAPE(2), -5000000000.0, 4)), AM_SHAPE(2), 0,
                     5000000000.0, 4);
    TU_ASSERT_VALUES(am_square(tu_array(I64, AM_SHAPE(1), 3000000000.0)), AM_SHAPE(1), 0,
                     9e18);
    am_scope_end();
}

/* Shapes pass through: 0-d, one element, size 0. */
static void test_unary_shapes(void)
{
    am_scope_begin();
    am_array *s = am_full(AM_SHAPE(), F32, -4);
    TU_ASSERT_VALUES(am_abs(s), AM_SHAPE(), 0, 4);
    TU_ASSERT_VALUES(am_sqrt(am_abs(s)), AM_SHAPE(), 0, 2);
    TU_ASSERT_VALUES(am_exp(am_zeros(AM_SHAPE(1, 1), F64)), AM_SHAPE(1, 1), 0, 1);
    am_array *z = am_exp(am_zeros(AM_SHAPE(0, 3), F32));
    CU_ASSERT(tu_values_are(z, AM_SHAPE(0, 3), NULL, 0, 0));
    CU_ASSERT(tu_values_are(am_negative(am_zeros(AM_SHAPE(2, 0), U8)), AM_SHAPE(2, 0), NULL, 0, 0));
    am_scope_end();
}

/* Every float-only op on random float32 inputs agrees with libm in double. */
static void test_unary_against_double(void)
{
    static const struct {
        const char *op;
        double (*f)(double);
        double lo, hi;
    } ops[] = {
        {"exp", exp, -5, 5}, {"log", log, 0.01, 10}, {"log1p", log1p, -0.9, 5},
        {"expm1", expm1, -3, 3}, {"sqrt", sqrt, 0, 10}, {"sin", sin, -6, 6},
        {"cos", cos, -6, 6}, {"tanh", tanh, -4, 4}, {"erf", erf, -3, 3},
        {"floor", floor, -9, 9}, {"ceil", ceil, -9, 9}, {"round", round, -9, 9},
        {"abs", fabs, -9, 9},
    };
    am_scope_begin();
    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
        am_array *x = tu_random(AM_SHAPE(3, 50), F32, ops[k].lo, ops[k].hi);
        am_array *y = run1(ops[k].op, x, NULL, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(y);
        am_array *want = am_empty(AM_SHAPE(3, 50), F64);
        am_view xv = am_array_view(x), wv = am_array_view(want);
        for (int64_t i = 0; i < 150; i++) am_view_set(&wv, i, ops[k].f(am_view_get(&xv, i)));
        if (!tu_allclose(y, want, 2e-6)) printf("  (op %s)\n", ops[k].op);
        CU_ASSERT(tu_allclose(y, want, 2e-6));
    }
    am_scope_end();
}

static void test_unary_errors(void)
{
    am_scope_begin();
    am_array *i = tu_array(I32, AM_SHAPE(2), 1, 2);
    TU_ASSERT_FAILS(am_exp(i), AM_ERR_DTYPE,
                    "exp: data has dtype int32; only float32 and float64 are supported at "
                    "test_ops_elemwise.c");
    TU_ASSERT_FAILS(am_sqrt(am_ones(AM_SHAPE(2), U8)), AM_ERR_DTYPE, "sqrt: data has dtype uint8");
    TU_ASSERT_FAILS(am_sigmoid(am_ones(AM_SHAPE(2), I64)), AM_ERR_DTYPE, "dtype int64");
    TU_ASSERT_FAILS(am_reciprocal(i), AM_ERR_DTYPE, "reciprocal: data has dtype int32");
    TU_ASSERT_FAILS(am_exp(NULL), AM_ERR_ARG, "exp: input 0 is NULL");
    /* A chain reports its first failure. */
    TU_ASSERT_FAILS(am_relu(am_exp(am_log(i))), AM_ERR_DTYPE, "log: data has dtype int32");
    /* Through the string path too, with the case's exact count of inputs. */
    am_array *two[] = {am_ones(AM_SHAPE(2), F32), am_ones(AM_SHAPE(2), F32)}, *y = NULL;
    am_clear_error();
    CU_ASSERT_EQUAL(am_invoke("exp", two, 2, NULL, NULL, 0, &y, 1), AM_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(am_last_error(), "exp: expects 1 inputs, got 2"));
    am_clear_error();
    am_scope_end();
}

/* Registry entries: aliases, in-place hints, fusion class and flags. */
static void test_registry_entries(void)
{
    static const char *const unary[] = {
        "negative", "abs", "sign", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "square",
        "reciprocal", "sin", "cos", "tanh", "sigmoid", "relu", "softsign", "erf", "round",
        "floor", "ceil", "_plus_scalar", "_lesser_equal_scalar", "Activation", "LeakyReLU"};
    for (size_t k = 0; k < sizeof(unary) / sizeof(unary[0]); k++) {
        const am_op_def *op = am_op_find(unary[k]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(op);
        CU_ASSERT_PTR_NOT_NULL_FATAL(op->inplace);
        CU_ASSERT(op->inplace[0].in == 0 && op->inplace[0].out == 0 && op->inplace[1].in == -1);
        /* A gradient exactly when the op is differentiable. */
        CU_ASSERT((op->gradient != NULL) != ((op->flags & AM_OP_NO_GRAD) != 0));
    }
    CU_ASSERT_EQUAL(am_op_find("exp")->fuse, AM_FUSE_ELEMWISE);
    CU_ASSERT_EQUAL(am_op_find("_mul_scalar")->fuse, AM_FUSE_ELEMWISE);
    CU_ASSERT(am_op_find("round")->flags & AM_OP_NO_GRAD);
    CU_ASSERT(am_op_find("sign")->flags & AM_OP_NO_GRAD);
    CU_ASSERT(am_op_find("_greater_scalar")->flags & AM_OP_NO_GRAD);
    CU_ASSERT(!(am_op_find("exp")->flags & AM_OP_NO_GRAD));
    CU_ASSERT(!(am_op_find("_mod_scalar")->flags & AM_OP_NO_GRAD));
    static const char *const alias[][2] = {
        {"_npx_erf", "erf"}, {"_PlusScalar", "_plus_scalar"}, {"_MinusScalar", "_minus_scalar"},
        {"_RMinusScalar", "_rminus_scalar"}, {"_MulScalar", "_mul_scalar"},
        {"_DivScalar", "_div_scalar"}, {"_RDivScalar", "_rdiv_scalar"},
        {"_ModScalar", "_mod_scalar"}, {"_RModScalar", "_rmod_scalar"},
        {"_PowerScalar", "_power_scalar"}, {"_RPowerScalar", "_rpower_scalar"},
        {"_MaximumScalar", "_maximum_scalar"}, {"_npi_maximum_scalar", "_maximum_scalar"},
        {"_MinimumScalar", "_minimum_scalar"}, {"_npi_minimum_scalar", "_minimum_scalar"},
        {"_EqualScalar", "_equal_scalar"}, {"_NotEqualScalar", "_not_equal_scalar"},
        {"_GreaterScalar", "_greater_scalar"}, {"_GreaterEqualScalar", "_greater_equal_scalar"},
        {"_LesserScalar", "_lesser_scalar"}, {"_LesserEqualScalar", "_lesser_equal_scalar"},
        {"_npx_activation", "Activation"}, {"_npx_leaky_relu", "LeakyReLU"}};
    for (size_t k = 0; k < sizeof(alias) / sizeof(alias[0]); k++) {
        CU_ASSERT_PTR_NOT_NULL(am_op_find(alias[k][0]));
        CU_ASSERT_PTR_EQUAL(am_op_find(alias[k][0]), am_op_find(alias[k][1]));
    }
}

/* Calls op's kernel with the output aliasing the input, as the planner may. */
static void test_in_place_kernels(void)
{
    am_scope_begin();
    am_array *x = tu_array(F32, AM_SHAPE(5), 0, 1, -1, 2, 0.5);
    am_view v = am_array_view(x);
    am_kernel_ctx ctx = {.device = am_cpu(), .rng = am_rng_state()};
    am_req req = AM_REQ_INPLACE;
    CU_ASSERT_EQUAL(am_op_find("exp")->cpu(&ctx, NULL, &v, 1, &v, 1, &req), AM_OK);
    TU_ASSERT_VALUES(x, AM_SHAPE(5), TOL, 1, 2.7182818285, 0.36787944117, 7.3890560989,
                     1.6487212707);
    am_array *u = tu_array(U8, AM_SHAPE(3), 0, 1, 200);
    am_view uv = am_array_view(u);
    CU_ASSERT_EQUAL(am_op_find("negative")->cpu(&ctx, NULL, &uv, 1, &uv, 1, &req), AM_OK);
    TU_ASSERT_VALUES(u, AM_SHAPE(3), 0, 0, 255, 56);
    /* AM_REQ_NULL leaves the output alone. */
    req = AM_REQ_NULL;
    CU_ASSERT_EQUAL(am_op_find("negative")->cpu(&ctx, NULL, &uv, 1, &uv, 1, &req), AM_OK);
    TU_ASSERT_VALUES(u, AM_SHAPE(3), 0, 0, 255, 56);
    am_scope_end();
}

/* Above AM_OMP_MIN elements the loops run on several threads; the values
 * must not change. */
static void test_large_arrays(void)
{
    am_scope_begin();
    const int64_t n = 100003;
    am_array *x = tu_random(AM_SHAPE(n), F32, -3, 3);
    am_array *r = am_relu(x), *p = am_plus_scalar(x, 1.5), *m = am_mod_scalar(x, 1.25);
    am_array *g = am_leaky_relu(x, NULL, "leaky", 0.5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    am_view xv = am_array_view(x), rv = am_array_view(r), pv = am_array_view(p);
    am_view mv = am_array_view(m), gv = am_array_view(g);
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = am_view_get(&xv, i), md = fmod(v, 1.25);
        if (md < 0) md += 1.25;
        bad += am_view_get(&rv, i) != (v > 0 ? v : 0);
        bad += fabs(am_view_get(&pv, i) - (v + 1.5)) > 1e-6;
        bad += fabs(am_view_get(&mv, i) - md) > 1e-6;
        bad += am_view_get(&gv, i) != (v > 0 ? v : v * 0.5);
    }
    CU_ASSERT_EQUAL(bad, 0);
    am_scope_end();
}

/* ---- scalar ops ---------------------------------------------------------------------- */

static void test_scalar_float_values(void)
{
    am_scope_begin();
    am_array *x = tu_array(F32, AM_SHAPE(5), -3.5, -1, 0, 2, 5);
    TU_ASSERT_VALUES(am_plus_scalar(x, 1.5), AM_SHAPE(5), TOL, -2, 0.5, 1.5, 3.5, 6.5);
    TU_ASSERT_VALUES(am_minus_scalar(x, 1.5), AM_SHAPE(5), TOL, -5, -2.5, -1.5, 0.5, 3.5);
    TU_ASSERT_VALUES(am_rminus_scalar(x, 1.5), AM_SHAPE(5), TOL, 5, 2.5, 1.5, -0.5, -3.5);
    TU_ASSERT_VALUES(am_mul_scalar(x, -2), AM_SHAPE(5), TOL, 7, 2, 0, -4, -10);
    TU_ASSERT_VALUES(am_div_scalar(x, 2), AM_SHAPE(5), TOL, -1.75, -0.5, 0, 1, 2.5);
    TU_ASSERT_VALUES(am_rdiv_scalar(x, 1), AM_SHAPE(5), TOL, -0.28571428571, -1, INFINITY, 0.5,
                     0.2);
    /* Python's modulo: the sign of the divisor; MXNet gives 0 for x mod 0. */
    TU_ASSERT_VALUES(am_mod_scalar(x, 2), AM_SHAPE(5), TOL, 0.5, 1, 0, 0, 1);
    TU_ASSERT_VALUES(am_mod_scalar(x, -2), AM_SHAPE(5), TOL, -1.5, -1, 0, 0, -1);
    TU_ASSERT_VALUES(am_mod_scalar(x, 0), AM_SHAPE(5), TOL, 0, 0, 0, 0, 0);
    TU_ASSERT_VALUES(am_rmod_scalar(tu_array(F64, AM_SHAPE(5), -3, -1, 0, 2, 5), 7), AM_SHAPE(5),
                     TOL, -2, 0, 0, 1, 2);
    TU_ASSERT_VALUES(am_rmod_scalar(tu_array(F64, AM_SHAPE(2), 3, -3), -7), AM_SHAPE(2), TOL,
                     2, -1);
    TU_ASSERT_VALUES(am_power_scalar(x, 2), AM_SHAPE(5), TOL, 12.25, 1, 0, 4, 25);
    TU_ASSERT_VALUES(am_power_scalar(tu_array(F32, AM_SHAPE(3), 4, 0, -1), 0.5), AM_SHAPE(3), TOL,
                     2, 0, NAN);
    TU_ASSERT_VALUES(am_rpower_scalar(tu_array(F32, AM_SHAPE(3), -1, 0, 3), 2), AM_SHAPE(3), TOL,
                     0.5, 1, 8);
    TU_ASSERT_VALUES(am_maximum_scalar(x, 0), AM_SHAPE(5), TOL, 0, 0, 0, 2, 5);
    TU_ASSERT_VALUES(am_minimum_scalar(x, 0), AM_SHAPE(5), TOL, -3.5, -1, 0, 0, 0);
    am_array *nan = tu_array(F32, AM_SHAPE(2), NAN, 1);
    TU_ASSERT_VALUES(am_maximum_scalar(nan, 0), AM_SHAPE(2), 0, NAN, 1);
    TU_ASSERT_VALUES(am_minimum_scalar(nan, 0), AM_SHAPE(2), 0, NAN, 0);
    TU_ASSERT_VALUES(am_maximum_scalar(nan, NAN), AM_SHAPE(2), 0, NAN, NAN);
    TU_ASSERT_VALUES(am_equal_scalar(x, 2), AM_SHAPE(5), 0, 0, 0, 0, 1, 0);
    TU_ASSERT_VALUES(am_not_equal_scalar(x, 2), AM_SHAPE(5), 0, 1, 1, 1, 0, 1);
    TU_ASSERT_VALUES(am_greater_scalar(x, 0), AM_SHAPE(5), 0, 0, 0, 0, 1, 1);
    TU_ASSERT_VALUES(am_greater_equal_scalar(x, 0), AM_SHAPE(5), 0, 0, 0, 1, 1, 1);
    TU_ASSERT_VALUES(am_lesser_scalar(x, 0), AM_SHAPE(5), 0, 1, 1, 0, 0, 0);
    TU_ASSERT_VALUES(am_lesser_equal_scalar(x, 0), AM_SHAPE(5), 0, 1, 1, 1, 0, 0);
    TU_ASSERT_VALUES(am_equal_scalar(nan, NAN), AM_SHAPE(2), 0, 0, 0);
    TU_ASSERT_VALUES(am_not_equal_scalar(nan, 1), AM_SHAPE(2), 0, 1, 0);
    CU_ASSERT_EQUAL(am_array_dtype(am_greater_scalar(x, 0)), F32);
    CU_ASSERT_EQUAL(am_array_dtype(am_plus_scalar(tu_array(F64, AM_SHAPE(1), 1), 1)), F64);
    am_scope_end();
}

static void test_scalar_int_values(void)
{
    am_scope_begin();
    am_array *x = tu_array(I32, AM_SHAPE(5), -7, -1, 0, 3, 7);
    TU_ASSERT_VALUES(am_plus_scalar(x, 2), AM_SHAPE(5), 0, -5, 1, 2, 5, 9);
    /* is_int (the default): the scalar is truncated to x's dtype, as MXNet 1.x. */
    TU_ASSERT_VALUES(am_plus_scalar(x, 2.7), AM_SHAPE(5), 0, -5, 1, 2, 5, 9);
    TU_ASSERT_VALUES(am_mul_scalar(x, -1.9), AM_SHAPE(5), 0, 7, 1, 0, -3, -7);
    TU_ASSERT_VALUES(am_rminus_scalar(x, 1), AM_SHAPE(5), 0, 8, 2, 1, -2, -6);
    /* Division truncates toward zero; by zero gives 0 rather than a trap. */
    TU_ASSERT_VALUES(am_div_scalar(x, 2), AM_SHAPE(5), 0, -3, 0, 0, 1, 3);
    TU_ASSERT_VALUES(am_div_scalar(x, 0), AM_SHAPE(5), 0, 0, 0, 0, 0, 0);
    TU_ASSERT_VALUES(am_rdiv_scalar(x, 7), AM_SHAPE(5), 0, -1, -7, 0, 2, 1);
    TU_ASSERT_VALUES(am_mod_scalar(x, 3), AM_SHAPE(5), 0, 2, 2, 0, 0, 1);
    TU_ASSERT_VALUES(am_mod_scalar(x, -3), AM_SHAPE(5), 0, -1, -1, 0, 0, -2);
    TU_ASSERT_VALUES(am_mod_scalar(x, 0), AM_SHAPE(5), 0, 0, 0, 0, 0, 0);
    TU_ASSERT_VALUES(am_rmod_scalar(x, 10), AM_SHAPE(5), 0, -4, 0, 0, 1, 3);
    TU_ASSERT_VALUES(am_power_scalar(x, 3), AM_SHAPE(5), 0, -343, -1, 0, 27, 343);
    TU_ASSERT_VALUES(am_power_scalar(x, 0), AM_SHAPE(5), 0, 1, 1, 1, 1, 1);
    TU_ASSERT_VALUES(am_power_scalar(x, -1), AM_SHAPE(5), 0, 0, -1, 0, 0, 0);
    TU_ASSERT_VALUES(am_power_scalar(x, -2), AM_SHAPE(5), 0, 0, 1, 0, 0, 0);
    TU_ASSERT_VALUES(am_rpower_scalar(x, 2), AM_SHAPE(5), 0, 0, 0, 1, 8, 128);
    TU_ASSERT_VALUES(am_maximum_scalar(x, 0), AM_SHAPE(5), 0, 0, 0, 0, 3, 7);
    TU_ASSERT_VALUES(am_minimum_scalar(x, 0), AM_SHAPE(5), 0, -7, -1, 0, 0, 0);
    TU_ASSERT_VALUES(am_greater_scalar(x, 0), AM_SHAPE(5), 0, 0, 0, 0, 1, 1);
    TU_ASSERT_VALUES(am_lesser_equal_scalar(x, -1), AM_SHAPE(5), 0, 1, 1, 0, 0, 0);
    CU_ASSERT_EQUAL(am_array_dtype(am_greater_scalar(x, 0)), I32);
    /* Overflow wraps; MIN / -1 and MIN % -1 do not trap. */
    am_array *big = tu_array(I32, AM_SHAPE(2), INT32_MAX, INT32_MIN);
    TU_ASSERT_VALUES(am_plus_scalar(big, 1), AM_SHAPE(2), 0, INT32_MIN, INT32_MIN + 1.0);
    TU_ASSERT_VALUES(am_mul_scalar(tu_array(I32, AM_SHAPE(1), 65536), 65536), AM_SHAPE(1), 0, 0);
    TU_ASSERT_VALUES(am_div_scalar(big, -1), AM_SHAPE(2), 0, -INT32_MAX, INT32_MIN);
    TU_ASSERT_VALUES(am_mod_scalar(big, -1), AM_SHAPE(2), 0, 0, 0);
    TU_ASSERT_VALUES(am_div_scalar(tu_array(I64, AM_SHAPE(2), (double)INT64_MIN, 9e15), -1),
                     AM_SHAPE(2), 0, (double)INT64_MIN, -9e15);
    TU_ASSERT_VALUES(am_power_scalar(tu_array(I64, AM_SHAPE(1), 3), 39), AM_SHAPE(1), 0,
                     4052555153018976267.0);
    /* A NaN scalar becomes INT32_MIN for int32, as MXNet's DType(NaN) does on x86. */
    TU_ASSERT_VALUES(am_plus_scalar(x, NAN), AM_SHAPE(5), 0, 2147483641, 2147483647,
                     -2147483648.0, -2147483645, -2147483641);
    am_scope_end();
}

static void test_scalar_uint8_values(void)
{
    am_scope_begin();
    am_array *u = tu_array(U8, AM_SHAPE(3), 0, 1, 250);
    TU_ASSERT_VALUES(am_plus_scalar(u, 10), AM_SHAPE(3), 0, 10, 11, 4);
    TU_ASSERT_VALUES(am_minus_scalar(u, 1), AM_SHAPE(3), 0, 255, 0, 249);
    TU_ASSERT_VALUES(am_plus_scalar(u, -1), AM_SHAPE(3), 0, 255, 0, 249); /* -1 wraps to 255 */
    TU_ASSERT_VALUES(am_rminus_scalar(u, 0), AM_SHAPE(3), 0, 0, 255, 6);
    TU_ASSERT_VALUES(am_mul_scalar(u, 2), AM_SHAPE(3), 0, 0, 2, 244);
    TU_ASSERT_VALUES(am_div_scalar(u, 0), AM_SHAPE(3), 0, 0, 0, 0);
    TU_ASSERT_VALUES(am_div_scalar(u, 7), AM_SHAPE(3), 0, 0, 0, 35);
    TU_ASSERT_VALUES(am_mod_scalar(u, 7), AM_SHAPE(3), 0, 0, 1, 5);
    TU_ASSERT_VALUES(am_power_scalar(tu_array(U8, AM_SHAPE(2), 15, 16), 2), AM_SHAPE(2), 0, 225, 0);
    TU_ASSERT_VALUES(am_rpower_scalar(tu_array(U8, AM_SHAPE(2), 3, 8), 2), AM_SHAPE(2), 0, 8, 0);
    TU_ASSERT_VALUES(am_maximum_scalar(u, 100), AM_SHAPE(3), 0, 100, 100, 250);
    TU_ASSERT_VALUES(am_greater_scalar(u, 1), AM_SHAPE(3), 0, 0, 0, 1);
    CU_ASSERT_EQUAL(am_array_dtype(am_mul_scalar(u, 2)), U8);
    am_scope_end();
}

/* MXNet 1.9's is_int=False: integer data computes in float64. */
static void test_scalar_is_int(void)
{
    am_scope_begin();
    am_array *x = tu_array(I32, AM_SHAPE(3), -7, 1, 4);
    am_array *y = run1("_plus_scalar", x, "scalar", "1.5"); /* is_int: adds 1 */
    TU_ASSERT_VALUES(y, AM_SHAPE(3), 0, -6, 2, 5);
    CU_ASSERT_EQUAL(am_array_dtype(y), I32);
    y = run("_plus_scalar", &x, 1, "scalar", "0.5", "is_int", "False");
    TU_ASSERT_VALUES(y, AM_SHAPE(3), 0, -6.5, 1.5, 4.5);
    CU_ASSERT_EQUAL(am_array_dtype(y), F64);
    y = run("_div_scalar", &x, 1, "scalar", "2", "is_int", "False");
    TU_ASSERT_VALUES(y, AM_SHAPE(3), 0, -3.5, 0.5, 2);
    y = run("_greater_scalar", &x, 1, "scalar", "0.5", "is_int", "False");
    TU_ASSERT_VALUES(y, AM_SHAPE(3), 0, 0, 1, 1);
    CU_ASSERT_EQUAL(am_array_dtype(y), F64);
    y = run("_mod_scalar", &x, 1, "scalar", "2.5", "is_int", "0");
    TU_ASSERT_VALUES(y, AM_SHAPE(3), 0, 0.5, 1, 1.5);
    /* Float data ignores is_int. */
    am_array *f = tu_array(F32, AM_SHAPE(2), 1, 2);
    y = run("_mul_scalar", &f, 1, "scalar", "0.5", "is_int", "True");
    TU_ASSERT_VALUES(y, AM_SHAPE(2), 0, 0.5, 1);
    CU_ASSERT_EQUAL(am_array_dtype(y), F32);
    /* The alias runs the same op. */
    TU_ASSERT_VALUES(run1("_PlusScalar", f, "scalar", "1"), AM_SHAPE(2), 0, 2, 3);
    am_scope_end();
}

static void test_scalar_attributes(void)
{
    const am_op_def *op = am_op_find("_rpower_scalar");
    CU_ASSERT_PTR_NOT_NULL_FATAL(op);
    CU_ASSERT_STRING_EQUAL(op->attrs[0].name, "scalar");
    CU_ASSERT_STRING_EQUAL(op->attrs[0].def, "1.0");
    CU_ASSERT_STRING_EQUAL(op->attrs[1].name, "is_int");
    CU_ASSERT_STRING_EQUAL(op->attrs[1].def, "True");
    CU_ASSERT_PTR_NULL(op->attrs[2].name);
    void *a = am_attrs_parse(op, (const char *[]){"scalar"}, (const char *[]){"2"}, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    char buf[32];
    CU_ASSERT_STRING_EQUAL(am_attr_format(&op->attrs[0], a, buf, sizeof(buf)), "2.0");
    CU_ASSERT(am_attr_is_default(&op->attrs[1], a));
    free(a);
    am_scope_begin();
    am_array *x = am_ones(AM_SHAPE(2), F32), *y = NULL;
    TU_ASSERT_FAILS(am_invoke("_plus_scalar", &x, 1, (const char *[]){"scalar"},
                              (const char *[]){"abc"}, 1, &y, 1) == AM_OK,
                    AM_ERR_FORMAT, "attribute scalar='abc' is not a number");
    TU_ASSERT_FAILS(am_invoke("_plus_scalar", &x, 1, (const char *[]){"alpha"},
                              (const char *[]){"1"}, 1, &y, 1) == AM_OK,
                    AM_ERR_ARG, "unknown attribute 'alpha'");
    TU_ASSERT_FAILS(am_plus_scalar(NULL, 1), AM_ERR_ARG, "_plus_scalar: input 0 is NULL");
    am_scope_end();
}

/* ---- Activation ----------------------------------------------------------------------- */

static void test_activation_values(void)
{
    am_scope_begin();
    am_array *x = tu_array(F32, AM_SHAPE(5), 0, 1, -1, 30, -30);
    TU_ASSERT_VALUES(am_activation(x, "relu"), AM_SHAPE(5), 0, 0, 1, 0, 30, 0);
    TU_ASSERT_VALUES(am_activation(x, "sigmoid"), AM_SHAPE(5), TOL, 0.5, 0.73105857863,
                     0.26894142137, 1, 9.3576229688e-14);
    TU_ASSERT_VALUES(am_activation(x, "tanh"), AM_SHAPE(5), TOL, 0, 0.76159415596,
                     -0.76159415596, 1, -1);
    /* softrelu = log(1 + e^x) */
    TU_ASSERT_VALUES(am_activation(x, "softrelu"), AM_SHAPE(5), TOL, 0.69314718056,
                     1.31326168752, 0.31326168752, 30, 9.3576229688e-14);
    TU_ASSERT_VALUES(am_activation(x, "softsign"), AM_SHAPE(5), TOL, 0, 0.5, -0.5,
                     0.96774193548, -0.96774193548);
    am_array *d = tu_array(F64, AM_SHAPE(2, 1), -2, 3);
    am_array *s = am_activation(d, "softrelu");
    TU_ASSERT_VALUES(s, AM_SHAPE(2, 1), 1e-12, 0.1269280110429725, 3.0485873515737420);
    CU_ASSERT_EQUAL(am_array_dtype(s), F64);
    /* Same results through the string path and the plain unary op. */
    CU_ASSERT(tu_allclose(run1("Activation", x, "act_type", "tanh"), am_tanh(x), 0));
    CU_ASSERT(tu_allclose(run1("_npx_activation", x, "act_type", "relu"), am_relu(x), 0));
    CU_ASSERT(tu_values_are(am_activation(am_zeros(AM_SHAPE(0, 2), F32), "sigmoid"),
                            AM_SHAPE(0, 2), NULL, 0, 0));
    TU_ASSERT_VALUES(am_activation(am_full(AM_SHAPE(), F64, -1), "relu"), AM_SHAPE(), 0, 0);
    am_scope_end();
}

static void test_activation_errors(void)
{
    am_scope_begin();
    am_array *x = am_ones(AM_SHAPE(2), F32), *y = NULL;
    TU_ASSERT_FAILS(am_activation(x, "bogus"), AM_ERR_FORMAT,
                    "Activation: attribute act_type='bogus' is not one of {relu, sigmoid, tanh, "
                    "softrelu, softsign} at test_ops_elemwise.c");
    TU_ASSERT_FAILS(am_invoke("Activation", &x, 1, (const char *[]){"act_type"},
                              (const char *[]){"gelu"}, 1, &y, 1) == AM_OK,
                    AM_ERR_FORMAT, "act_type='gelu'");
    TU_ASSERT_FAILS(am_invoke("Activation", &x, 1, NULL, NULL, 0, &y, 1) == AM_OK, AM_ERR_ARG,
                    "required attribute 'act_type'");
    TU_ASSERT_FAILS(am_activation(x, NULL), AM_ERR_ARG, "Activation: act_type is NULL");
    TU_ASSERT_FAILS(am_activation(am_ones(AM_SHAPE(2), I32), "relu"), AM_ERR_DTYPE,
                    "Activation: data has dtype int32");
    /* A NULL input keeps the first failure, even with a bad act_type. */
    TU_ASSERT_FAILS(am_activation(am_exp(am_ones(AM_SHAPE(1), U8)), "bogus"), AM_ERR_DTYPE,
                    "exp: data has dtype uint8");
    am_scope_end();
}

/* ---- LeakyReLU -------------------------------------------------------------------------- */

static void test_leaky_values(void)
{
    am_scope_begin();
    am_array *x = tu_array(F32, AM_SHAPE(4), -2, -0.5, 0, 3);
    TU_ASSERT_VALUES(run1("LeakyReLU", x, NULL, NULL), AM_SHAPE(4), TOL, -0.5, -0.125, 0, 3);
    TU_ASSERT_VALUES(am_leaky_relu(x, NULL, "leaky", 0.1), AM_SHAPE(4), TOL, -0.2, -0.05, 0, 3);
    am_array *e = tu_array(F64, AM_SHAPE(3), -1, 0, 2);
    TU_ASSERT_VALUES(am_leaky_relu(e, NULL, "elu", 1), AM_SHAPE(3), 1e-12,
                     -0.63212055882855767, 0, 2);
    TU_ASSERT_VALUES(am_leaky_relu(e, NULL, "elu", 0.5), AM_SHAPE(3), 1e-12,
                     -0.31606027941427884, 0, 2);
    /* selu: lambda * (x > 0 ? x : alpha * (e^x - 1)); slope is ignored. */
    TU_ASSERT_VALUES(am_leaky_relu(tu_array(F64, AM_SHAPE(3), -1, 0, 1), NULL, "selu", 9),
                     AM_SHAPE(3), 1e-12, -1.1113307378125625, 0, 1.0507009873554805);
    /* gelu (erf form): x * Phi(x). */
    TU_ASSERT_VALUES(am_leaky_relu(tu_array(F32, AM_SHAPE(4), 1, -1, 0, 2), NULL, "gelu", 0.25),
                     AM_SHAPE(4), TOL, 0.84134474607, -0.15865525393, 0, 1.9544997361);
    TU_ASSERT_VALUES(am_leaky_relu(am_full(AM_SHAPE(), F32, -4), NULL, "leaky", 0.25), AM_SHAPE(),
                     TOL, -1);
    CU_ASSERT(tu_values_are(am_leaky_relu(am_zeros(AM_SHAPE(0, 3), F32), NULL, "elu", 1),
                            AM_SHAPE(0, 3), NULL, 0, 0));
    /* rrelu at inference: the mean slope (0.125 + 0.334) / 2. */
    TU_ASSERT_VALUES(run1("LeakyReLU", x, "act_type", "rrelu"), AM_SHAPE(4), TOL, -0.459,
                     -0.11475, 0, 3);
    TU_ASSERT_VALUES(run("LeakyReLU", &x, 1, "act_type", "rrelu", "upper_bound", "0.5"),
                     AM_SHAPE(4), TOL, -0.625, -0.15625, 0, 3);
    am_scope_end();
}

static void test_prelu_values(void)
{
    am_scope_begin();
    /* (C,) gamma: one slope per channel (axis 1). */
    am_array *x = tu_array(F32, AM_SHAPE(2, 3, 2), -1, 1, -1, 2, -1, 3, -2, 4, -2, 5, -2, 6);
    am_array *g = tu_array(F32, AM_SHAPE(3), 0.1, 0.2, 0.3);
    TU_ASSERT_VALUES(am_leaky_relu(x, g, "prelu", 0.25), AM_SHAPE(2, 3, 2), TOL,
                     -0.1, 1, -0.2, 2, -0.3, 3, -0.2, 4, -0.4, 5, -0.6, 6);
    am_array *in[] = {x, g};
    TU_ASSERT_VALUES(run("LeakyReLU", in, 2, "act_type", "prelu", NULL, NULL), AM_SHAPE(2, 3, 2),
                     TOL, -0.1, 1, -0.2, 2, -0.3, 3, -0.2, 4, -0.4, 5, -0.6, 6);
    /* (1,) and () gammas: one slope for all. */
    am_array *x2 = tu_array(F64, AM_SHAPE(2, 2), -2, 2, -4, 4);
    TU_ASSERT_VALUES(am_leaky_relu(x2, tu_array(F64, AM_SHAPE(1), 0.5), "prelu", 0), AM_SHAPE(2, 2),
                     TOL, -1, 2, -2, 4);
    TU_ASSERT_VALUES(am_leaky_relu(x2, am_full(AM_SHAPE(), F64, 0.25), "prelu", 0),
                     AM_SHAPE(2, 2), TOL, -0.5, 2, -1, 4);
    /* (N, C) gamma: one slope per sample and channel. */
    am_array *x3 = am_full(AM_SHAPE(2, 3), F32, -1);
    TU_ASSERT_VALUES(am_leaky_relu(x3, tu_array(F32, AM_SHAPE(2, 3), 1, 2, 3, 4, 5, 6), "prelu", 0),
                     AM_SHAPE(2, 3), TOL, -1, -2, -3, -4, -5, -6);
    /* (N,) gamma on 1-D data: one slope per element. */
    TU_ASSERT_VALUES(am_leaky_relu(tu_array(F32, AM_SHAPE(3), -1, -1, 1),
                                   tu_array(F32, AM_SHAPE(3), 0.1, 0.2, 0.3), "prelu", 0),
                     AM_SHAPE(3), TOL, -0.1, -0.2, 1);
    am_scope_end();
}

static void test_prelu_shapes_and_errors(void)
{
    const am_op_def *op = am_op_find("LeakyReLU");
    CU_ASSERT_PTR_NOT_NULL_FATAL(op);
    void *a = am_attrs_parse(op, (const char *[]){"act_type"}, (const char *[]){"prelu"}, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(am_op_num_inputs(op, a), 2);
    CU_ASSERT_EQUAL(am_op_num_visible(op, a), 1);
    /* An unknown gamma is inferred as (C,). */
    am_shape in[2] = {AM_SHAPE(4, 3, 5), {.ndim = -1}}, out[2];
    CU_ASSERT_EQUAL(op->infer_shape(a, in, 2, out, 2), AM_OK);
    CU_ASSERT(in[1].ndim == 1 && in[1].dim[0] == 3);
    CU_ASSERT(out[0].ndim == 3 && out[0].dim[2] == 5);
    in[0] = AM_SHAPE(4), in[1].ndim = -1;
    TU_ASSERT_FAILS(op->infer_shape(a, in, 2, out, 2) == AM_OK, AM_ERR_SHAPE,
                    "cannot infer gamma's shape from data (4,)");
    free(a);

    am_scope_begin();
    am_array *x = am_ones(AM_SHAPE(2, 3, 4), F32), *y = NULL;
    TU_ASSERT_FAILS(am_leaky_relu(x, am_ones(AM_SHAPE(4), F32), "prelu", 0), AM_ERR_SHAPE,
                    "LeakyReLU: cannot broadcast gamma (4,) to data (2, 3, 4)");
    TU_ASSERT_FAILS(am_leaky_relu(x, am_ones(AM_SHAPE(2, 3, 4), F32), "prelu", 0), AM_ERR_SHAPE,
                    "cannot broadcast gamma (2, 3, 4)");
    TU_ASSERT_FAILS(am_leaky_relu(x, am_ones(AM_SHAPE(3), F64), "prelu", 0), AM_ERR_DTYPE,
                    "input dtypes differ: float32 (input 0) and float64 (input 1)");
    /* Wrong input counts for the act_type. */
    TU_ASSERT_FAILS(am_invoke("LeakyReLU", &x, 1, (const char *[]){"act_type"},
                              (const char *[]){"prelu"}, 1, &y, 1) == AM_OK,
                    AM_ERR_ARG, "LeakyReLU: expects 2 inputs, got 1");
    am_array *two[] = {x, am_ones(AM_SHAPE(3), F32)};
    TU_ASSERT_FAILS(am_invoke("LeakyReLU", two, 2, NULL, NULL, 0, &y, 1) == AM_OK, AM_ERR_ARG,
                    "LeakyReLU: expects 1 inputs, got 2");
    TU_ASSERT_FAILS(am_leaky_relu(x, two[1], "elu", 1), AM_ERR_ARG,
                    "LeakyReLU: gamma is given but act_type is elu; only prelu takes gamma");
    TU_ASSERT_FAILS(am_leaky_relu(x, NULL, "prelu", 0), AM_ERR_ARG, "LeakyReLU: input 1 is NULL");
    TU_ASSERT_FAILS(am_leaky_relu(x, NULL, "swish", 0), AM_ERR_FORMAT,
                    "attribute act_type='swish' is not one of {leaky, prelu, rrelu, elu, selu, "
                    "gelu}");
    TU_ASSERT_FAILS(am_leaky_relu(am_ones(AM_SHAPE(2), I64), NULL, "leaky", 0), AM_ERR_DTYPE,
                    "LeakyReLU: data has dtype int64");
    /* The caller sees one output; asking for the hidden mask fails. */
    am_array *outs[2];
    TU_ASSERT_FAILS(am_invoke("LeakyReLU", &x, 1, (const char *[]){"act_type"},
                              (const char *[]){"rrelu"}, 1, outs, 2) == AM_OK,
                    AM_ERR_ARG, "has 1 outputs, caller asked for 2");
    am_scope_end();
}

static void test_leaky_attributes(void)
{
    const am_op_def *op = am_op_find("LeakyReLU");
    static const char *const names[] = {"act_type", "slope", "lower_bound", "upper_bound"};
    static const char *const defs[] = {"leaky", "0.25", "0.125", "0.334"};
    char buf[32];
    char *a = malloc(op->attrs_size);
    CU_ASSERT_EQUAL_FATAL(am_attrs_init(op, a), AM_OK);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_STRING_EQUAL(op->attrs[i].name, names[i]);
        CU_ASSERT_STRING_EQUAL(op->attrs[i].def, defs[i]);
        CU_ASSERT_STRING_EQUAL(am_attr_format(&op->attrs[i], a, buf, sizeof(buf)), defs[i]);
    }
    CU_ASSERT_EQUAL(am_op_num_inputs(op, a), 1);
    CU_ASSERT_EQUAL(am_op_num_outputs(op, a), 1);
    CU_ASSERT(op->flags & AM_OP_RANDOM);
    free(a);
    const am_op_def *act = am_op_find("Activation");
    CU_ASSERT_STRING_EQUAL(act->attrs[0].name, "act_type");
    CU_ASSERT_PTR_NULL(act->attrs[0].def); /* required, as in MXNet */
}

/* a + b elementwise, computed naively in double. */
static am_array *naive_sum(am_array *a, am_array *b)
{
    am_array *s = am_copy(a);
    am_view sv = am_array_view(s), bv = am_array_view(b);
    for (int64_t i = 0; i < am_view_size(&sv); i++)
        am_view_set(&sv, i, am_view_get(&sv, i) + am_view_get(&bv, i));
    return s;
}

/* Calls op's kernel on all its outputs with req. */
static void call_kernel(const am_op_def *op, const void *attrs, am_array **in, int n_in,
                        am_array **out, am_req req, bool training)
{
    am_view vin[2], vout[2];
    am_req reqs[2] = {req, req};
    for (int i = 0; i < n_in; i++) vin[i] = am_array_view(in[i]);
    int n_out = am_op_num_outputs(op, attrs);
    for (int i = 0; i < n_out; i++) vout[i] = am_array_view(out[i]);
    am_kernel_ctx ctx = {.device = am_cpu(), .training = training, .rng = am_rng_state()};
    CU_ASSERT_EQUAL(op->cpu(&ctx, attrs, vin, n_in, vout, n_out, reqs), AM_OK);
}

/* LeakyReLU is flagged random (for rrelu), so the registry suite skips its
 * AM_REQ_ADD check; this does it for every act_type. */
static void test_leaky_req_add(void)
{
    static const char *const types[] = {"leaky", "prelu", "rrelu", "elu", "selu", "gelu"};
    const am_op_def *op = am_op_find("LeakyReLU");
    am_scope_begin();
    am_array *in[2] = {tu_random(AM_SHAPE(3, 4, 5), F32, -2, 2), tu_random(AM_SHAPE(4), F32, 0, 1)};
    for (int t = 0; t < 6; t++) {
        void *a = am_attrs_parse(op, (const char *[]){"act_type"}, &types[t], 1);
        am_shape osh[2], ish[2] = {AM_SHAPE(3, 4, 5), AM_SHAPE(4)};
        am_dtype ot[2], it[2] = {F32, F32};
        int n_in = am_op_num_inputs(op, a), n_out = am_op_num_outputs(op, a);
        CU_ASSERT_EQUAL(n_out, t == 2 ? 2 : 1); /* only rrelu has the hidden mask */
        CU_ASSERT_EQUAL_FATAL(op->infer_shape(a, ish, n_in, osh, n_out), AM_OK);
        CU_ASSERT_EQUAL_FATAL(op->infer_dtype(a, it, n_in, ot, n_out), AM_OK);
        am_array *w[2], *acc[2], *base[2];
        for (int i = 0; i < n_out; i++) {
            w[i] = am_zeros(osh[i], ot[i]);
            acc[i] = tu_random(osh[i], ot[i], -1, 1);
            base[i] = am_copy(acc[i]);
        }
        call_kernel(op, a, in, n_in, w, AM_REQ_WRITE, false);
        call_kernel(op, a, in, n_in, acc, AM_REQ_ADD, false);
        for (int i = 0; i < n_out; i++)
            CU_ASSERT(tu_allclose(acc[i], naive_sum(base[i], w[i]), 1e-6));
        free(a);
    }
    am_scope_end();
}

/* rrelu in training: a random slope per element in [lower_bound,
 * upper_bound), recorded in the hidden mask; the same seed repeats it. */
static void test_rrelu_training(void)
{
    const am_op_def *op = am_op_find("LeakyReLU");
    const char *keys[] = {"act_type", "lower_bound", "upper_bound"};
    const char *vals[] = {"rrelu", "0.1", "0.3"};
    void *a = am_attrs_parse(op, keys, vals, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    am_scope_begin();
    const int64_t n = 400;
    am_array *x = am_full(AM_SHAPE(n), F64, -2), *o[2], *o2[2];
    am_view xv = am_array_view(x);
    am_view_set(&xv, 7, 5); /* a positive element passes through */
    for (int i = 0; i < 2; i++) {
        o[i] = am_zeros(AM_SHAPE(n), F64);
        o2[i] = am_zeros(AM_SHAPE(n), F64);
    }
    am_seed(7);
    call_kernel(op, a, &x, 1, o, AM_REQ_WRITE, true);
    am_seed(7);
    call_kernel(op, a, &x, 1, o2, AM_REQ_WRITE, true);
    CU_ASSERT(tu_allclose(o[0], o2[0], 0) && tu_allclose(o[1], o2[1], 0));
    am_view yv = am_array_view(o[0]), mv = am_array_view(o[1]);
    double lo = 1, hi = 0, sum = 0;
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double m = am_view_get(&mv, i), y = am_view_get(&yv, i);
        lo = fmin(lo, m), hi = fmax(hi, m), sum += m;
        bad += i == 7 ? y != 5 : fabs(y - (-2 * m)) > 1e-12;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(lo >= 0.1 && hi < 0.3);
    CU_ASSERT(hi - lo > 0.15);                     /* spread over the range */
    CU_ASSERT(fabs(sum / (double)n - 0.2) < 0.02); /* mean of U(0.1, 0.3) */

    /* Eager calls read the thread's training flag. */
    bool was = am_set_training(true);
    am_array *y1 = am_leaky_relu(x, NULL, "rrelu", 0), *y2 = am_leaky_relu(x, NULL, "rrelu", 0);
    am_set_training(false);
    am_array *y3 = am_leaky_relu(x, NULL, "rrelu", 0);
    am_set_training(was);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y2);
    int same = 0;
    for (int64_t i = 0; i < n; i++) same += am_item(y1, i) == am_item(y2, i);
    CU_ASSERT(same < n / 2); /* two draws differ */
    double r = am_item(y1, 0) / -2;
    CU_ASSERT(r >= 0.125 && r < 0.334);
    CU_ASSERT_DOUBLE_EQUAL(am_item(y3, 0), -0.459, 1e-12); /* inference: the mean slope */
    CU_ASSERT_EQUAL(am_item(y3, 7), 5);
    am_scope_end();
    free(a);
}

CU_TestInfo am_tests_ops_elemwise[] = {
    {"unary float values", test_unary_float_values},
    {"unary ops on every dtype", test_unary_any_dtype_values},
    {"unary shapes: 0-d, one element, size 0", test_unary_shapes},
    {"unary float32 agrees with double libm", test_unary_against_double},
    {"unary errors", test_unary_errors},
    {"registry entries, aliases, hints", test_registry_entries},
    {"kernels run in place", test_in_place_kernels},
    {"large arrays (threaded loops)", test_large_arrays},
    {"scalar ops on floats", test_scalar_float_values},
    {"scalar ops on int32/int64", test_scalar_int_values},
    {"scalar ops on uint8 wrap", test_scalar_uint8_values},
    {"scalar ops with is_int=False", test_scalar_is_int},
    {"scalar attributes and errors", test_scalar_attributes},
    {"Activation values", test_activation_values},
    {"Activation errors", test_activation_errors},
    {"LeakyReLU values", test_leaky_values},
    {"prelu values", test_prelu_values},
    {"prelu shapes and LeakyReLU errors", test_prelu_shapes_and_errors},
    {"LeakyReLU attributes", test_leaky_attributes},
    {"LeakyReLU honours AM_REQ_ADD", test_leaky_req_add},
    {"rrelu in training", test_rrelu_training},
    CU_TEST_INFO_NULL,
};
