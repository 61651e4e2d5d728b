/* Elementwise ops: the unary ones (negative, abs, exp, ... ceil), the scalar
 * family (_plus_scalar ... _lesser_equal_scalar), Activation and LeakyReLU.
 * Each (op, dtype) pair is one tight loop generated from a per-element
 * expression. */
#include "../ndarray_impl.h"
#include "fastmath.h"

#include <math.h>

#include "elemwise_map.h"

#define KERNEL_PARAMS                                                                      \
    const am_kernel_ctx *ctx, const void *attrs, const am_view *in, int n_in,              \
        const am_view *out, int n_out, const am_req *req

static const char *const data_input[] = {"data", NULL};
static const am_inplace_pair inplace_00[] = {{0, 0}, {-1, -1}};
static const char *const erf_aliases[] = {"_npx_erf", NULL};

static am_array *call1(const am_op_def *op, const void *attrs, am_array *x, am_site at)
{
    am_array *y = NULL;
    am_op_call(op, attrs, &x, 1, &y, 1, at);
    return y;
}

static am_status float_only(am_dtype t)
{
    return am_fail(AM_ERR_DTYPE, "data has dtype %s; only float32 and float64 are supported",
                   am_dtype_name(t));
}

static am_status unsupported_dtype(am_dtype t)
{
    return am_fail(AM_ERR_DTYPE, "dtype %s is not supported", am_dtype_name(t));
}

/* Every input has input 0's dtype, a float one; so do all outputs. */
static am_status float_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs);
    for (int i = 1; i < n_in; i++)
        if (in[i] != in[0])
            return am_fail(AM_ERR_DTYPE, "input dtypes differ: %s (input 0) and %s (input %d)",
                           am_dtype_name(in[0]), am_dtype_name(in[i]), i);
    if (!am_dtype_is_float(in[0])) return float_only(in[0]);
    for (int i = 0; i < n_out; i++) out[i] = in[0];
    return AM_OK;
}

/* One integer dtype: T the element type, U its unsigned twin (for arithmetic
 * that wraps instead of overflowing, as NumPy's integers do). */
#define INT_CASE(req, DT, T_, U_, xp, yp, n, IE)                                           \
    case DT: {                                                                             \
        typedef T_ T;                                                                      \
        typedef U_ U __attribute__((unused));                                              \
        MAP(req, T, T, T, xp, yp, n, IE);                                                  \
    } break;
#define INT_CASES(req, xp, yp, n, IE)                                                      \
    INT_CASE(req, AM_DTYPE_INT32, int32_t, uint32_t, xp, yp, n, IE)                        \
    INT_CASE(req, AM_DTYPE_INT64, int64_t, uint64_t, xp, yp, n, IE)                        \
    INT_CASE(req, AM_DTYPE_UINT8, uint8_t, uint8_t, xp, yp, n, IE)

/* ---- unary ops ------------------------------------------------------------------ */

/* Ops on every dtype: name, float32 and float64 expressions of v, the integer
 * expression (T, U as in INT_CASE), flags, doc. */
#define ANY_DTYPE_UNARY(X)                                                                 \
    X(negative, -v, -v, (T)(0u - (U)v), 0,                                                 \
      "-x; integers wrap (uint8: -1 -> 255).")                                             \
    X(abs, fabsf(v), fabs(v), v > 0 ? v : (T)(0u - (U)v), 0, "|x|.")                       \
    X(sign, v > 0 ? 1.0f : (v < 0 ? -1.0f : 0.0f), v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0),     \
      (T)((v > 0) - (v < 0)), AM_OP_NO_GRAD, "-1, 0 or 1 by the sign of x (0 for NaN).")   \
    X(square, v * v, v * v, (T)((U)v * (U)v), 0, "x * x.")                                 \
    X(relu, !(v <= 0) ? v : 0.0f, !(v <= 0) ? v : 0.0, v > 0 ? v : 0, 0,                   \
      "max(x, 0); NaN stays NaN.")                                                         \
    X(round, roundf(v), round(v), v, AM_OP_NO_GRAD,                                        \
      "Nearest integer, halves away from zero (2.5 -> 3, -2.5 -> -3).")                    \
    X(floor, floorf(v), floor(v), v, AM_OP_NO_GRAD, "Largest integer <= x.")               \
    X(ceil, ceilf(v), ceil(v), v, AM_OP_NO_GRAD, "Smallest integer >= x.")

/* Ops on float32 and float64 only: name, float32 and float64 expressions,
 * aliases, doc.  The float32 transcendental functions are fastmath.h's, which
 * vectorize; float64 keeps libm (gradient checks run in float64). */
#define FLOAT_UNARY(X)                                                                     \
    X(exp, am_fast_expf(v), exp(v), NULL, "e^x.")                                          \
    X(log, am_fast_logf(v), log(v), NULL,                                                  \
      "Natural logarithm: log(0) = -inf, log(x < 0) = NaN.")                               \
    X(log1p, log1pf(v), log1p(v), NULL, "log(1 + x), accurate for small x.")               \
    X(expm1, am_fast_expm1f(v), expm1(v), NULL, "e^x - 1, accurate for small x.")          \
    X(sqrt, sqrtf(v), sqrt(v), NULL, "Square root: NaN for x < 0.")                        \
    X(rsqrt, 1.0f / sqrtf(v), 1.0 / sqrt(v), NULL, "1 / sqrt(x).")                         \
    X(reciprocal, 1.0f / v, 1.0 / v, NULL, "1 / x.")                                       \
    X(sin, sinf(v), sin(v), NULL, "Sine (radians).")                                       \
    X(cos, cosf(v), cos(v), NULL, "Cosine (radians).")                                     \
    X(tanh, am_fast_tanhf(v), tanh(v), NULL, "Hyperbolic tangent.")                        \
    X(sigmoid, am_fast_sigmoidf(v), 1.0 / (1.0 + exp(-v)), NULL, "1 / (1 + e^-x).")        \
    X(softsign, v / (1.0f + fabsf(v)), v / (1.0 + fabs(v)), NULL, "x / (1 + |x|).")        \
    X(erf, am_fast_erff(v), erf(v), erf_aliases, "The Gauss error function.")

#define ANY_KERNEL(id, FE, DE, IE, fl, doc)                                                \
    static am_status id##_cpu(KERNEL_PARAMS)                                               \
    {                                                                                      \
        AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);               \
        const int64_t n = am_view_size(&out[0]);                                           \
        switch (in[0].dtype) {                                                             \
            MAP_FLOAT_CASES(req[0], in[0].data, out[0].data, n, FE, DE)                    \
            INT_CASES(req[0], in[0].data, out[0].data, n, IE)                              \
        default: return unsupported_dtype(in[0].dtype);                                    \
        }                                                                                  \
        return AM_OK;                                                                      \
    }
#define FLOAT_KERNEL(id, FE, DE, aliases, doc)                                             \
    AM_FAST_CLONES static am_status id##_cpu(KERNEL_PARAMS)                                \
    {                                                                                      \
        AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);               \
        const int64_t n = am_view_size(&out[0]);                                           \
        switch (in[0].dtype) {                                                             \
            MAP_FLOAT_CASES(req[0], in[0].data, out[0].data, n, FE, DE)                    \
        default: return float_only(in[0].dtype);                                           \
        }                                                                                  \
        return AM_OK;                                                                      \
    }
ANY_DTYPE_UNARY(ANY_KERNEL)
FLOAT_UNARY(FLOAT_KERNEL)

/* ---- gradients: shared helpers ---------------------------------------------------
 * A gradient is an expression of og (the output gradient), x (the input) and y
 * (the output), built from public ops at the forward call's site, so that one
 * function serves eager, symbolic and recorded (higher-order) calls: under
 * create_graph x and y are linked to the tape, so tanh's og * (1 - y^2) is
 * differentiated again through y.  A NULL from any op flows through the rest
 * of the expression with the first message. */

#define GRAD_PARAMS                                                                        \
    const am_grad_ctx *g, am_array *const *in, am_array *const *out,                       \
        am_array *const *og_, am_array **ig

#define MUL(a, b) am_elemwise_mul_at((a), (b), at)
#define DIV(a, b) am_elemwise_div_at((a), (b), at)
#define NEG(a) am_negative_at((a), at)
#define SCALE(a, k) am_mul_scalar_at((a), (k), at)
#define SHIFT(a, k) am_plus_scalar_at((a), (k), at)
#define RSUB(k, a) am_rminus_scalar_at((a), (k), at) /* k - a */

#define TWO_OVER_SQRT_PI 1.1283791670955125738961589031215
#define INV_SQRT_2PI 0.39894228040143267793994605993438

/* Stores r as the gradient of input 0, in that input's dtype (integer data
 * with a float scalar computes in float64). */
static am_status set_grad0(am_array *const *in, am_array **ig, am_array *r, am_site at)
{
    am_dtype t = am_array_dtype(in[0]);
    if (r && am_array_dtype(r) != t) r = am_astype_at(r, t, at);
    ig[0] = r;
    return r ? AM_OK : am_last_status();
}

/* ---- gradients of the unary ops ------------------------------------------------- */

/* name, in_grad; each as MXNet's _backward_<name> computes it. */
#define UNARY_GRADS(X)                                                                     \
    X(negative, NEG(og))                                                                   \
    X(abs, MUL(og, am_sign_at(x, at)))                                                     \
    X(square, MUL(og, SCALE(x, 2)))                                                        \
    X(relu, MUL(og, am_greater_scalar_at(y, 0, at)))                                       \
    X(exp, MUL(og, y))                                                                     \
    X(log, DIV(og, x))                                                                     \
    X(log1p, DIV(og, SHIFT(x, 1)))                                                         \
    X(expm1, MUL(og, SHIFT(y, 1)))                                                         \
    X(sqrt, DIV(og, SCALE(y, 2)))                                                          \
    X(rsqrt, MUL(og, SCALE(DIV(y, x), -0.5)))                                              \
    X(reciprocal, NEG(MUL(og, am_square_at(y, at))))                                       \
    X(sin, MUL(og, am_cos_at(x, at)))                                                      \
    X(cos, NEG(MUL(og, am_sin_at(x, at))))                                                 \
    X(tanh, MUL(og, RSUB(1, am_square_at(y, at))))                                         \
    X(sigmoid, MUL(og, MUL(y, RSUB(1, y))))                                                \
    X(softsign, DIV(og, am_square_at(SHIFT(am_abs_at(x, at), 1), at)))                     \
    X(erf, MUL(og, SCALE(am_exp_at(NEG(am_square_at(x, at)), at), TWO_OVER_SQRT_PI)))

#define UNARY_GRAD(id, EXPR)                                                               \
    static am_status id##_grad(GRAD_PARAMS)                                                \
    {                                                                                      \
        const am_site at = g->at;                                                          \
        am_array *x = in[0], *y = out[0], *og = og_[0];                                    \
        AM_UNUSED(x), AM_UNUSED(y);                                                        \
        return set_grad0(in, ig, (EXPR), at);                                              \
    }
UNARY_GRADS(UNARY_GRAD)

/* The gradient slot of an op by its flags column: none for AM_OP_NO_GRAD. */
#define GRAD_OF_0(id) id##_grad
#define GRAD_OF_AM_OP_NO_GRAD(id) NULL

/* The activation facet of the unary ops that are activations: ACT_FACET(id)
 * is &id_act where ACT_PROBE_id is defined (a second macro argument appears),
 * else NULL. */
static const am_activation_facet relu_act = {.act = AM_ACT_RELU};
static const am_activation_facet sigmoid_act = {.act = AM_ACT_SIGMOID};
static const am_activation_facet tanh_act = {.act = AM_ACT_TANH};
static const am_activation_facet softsign_act = {.act = AM_ACT_SOFTSIGN};
#define ACT_PROBE_relu ~, &relu_act
#define ACT_PROBE_sigmoid ~, &sigmoid_act
#define ACT_PROBE_tanh ~, &tanh_act
#define ACT_PROBE_softsign ~, &softsign_act
#define ACT_SECOND(a, b, ...) b
#define ACT_SECOND_(...) ACT_SECOND(__VA_ARGS__)
#define ACT_FACET(id) ACT_SECOND_(ACT_PROBE_##id, NULL, ~)

#define UNARY_DEF(id, aliases_, dtype_fn, fl, doc_)                                        \
    const am_op_def am_op_##id = {                                                         \
        .name = #id, .aliases = aliases_, .input_names = data_input, .num_outputs = 1,     \
        .infer_shape = am_infer_shape_same, .infer_dtype = dtype_fn, .cpu = id##_cpu,      \
        .gradient = GRAD_OF_##fl(id), .inplace = inplace_00, .fuse = AM_FUSE_ELEMWISE,     \
        .flags = fl, .doc = doc_, .activation = ACT_FACET(id)};                            \
    am_array *am_##id##_at(am_array *x, am_site at) { return call1(&am_op_##id, NULL, x, at); }

#define ANY_DEF(id, FE, DE, IE, fl, doc) UNARY_DEF(id, NULL, am_infer_dtype_same, fl, doc)
#define FLOAT_DEF(id, FE, DE, aliases, doc) UNARY_DEF(id, aliases, float_dtype, 0, doc)
ANY_DTYPE_UNARY(ANY_DEF)
FLOAT_UNARY(FLOAT_DEF)

/* ---- scalar ops: x OP scalar ------------------------------------------------------ */

/* MXNet 1.9's NumpyBinaryScalarParam.  With is_int (the default, and all that
 * MXNet 1.x's NDArray operators pass) the scalar is converted to x's dtype
 * and the result keeps it; integer data with is_int=False computes in float64. */
typedef struct scalar_attrs {
    double scalar;
    bool is_int;
} scalar_attrs;

static const am_attr_field scalar_fields[] = {
    AM_ATTR_FIELD(scalar_attrs, scalar, AM_ATTR_FLOAT, "1.0", "the scalar operand"),
    AM_ATTR_FIELD(scalar_attrs, is_int, AM_ATTR_BOOL, "True",
                  "the scalar is an integer; False turns integer data into float64"),
    {0}};

static am_status scalar_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                              int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    bool is_int = ((const scalar_attrs *)attrs)->is_int;
    out[0] = !am_dtype_is_float(in[0]) && !is_int ? AM_DTYPE_FLOAT64 : in[0];
    return AM_OK;
}

/* The algebra facets of the scalar ops with x on the left (x + s, x - s,
 * x * s, x / s); the reversed ops (s - x) and the others have none. */
static double scalar_operand(const void *attrs) { return ((const scalar_attrs *)attrs)->scalar; }

#define SCALAR_FACET(id, OP)                                                               \
    static const am_op_algebra id##_algebra = {AM_ARITH_##OP, AM_OPERANDS_SCALAR,          \
                                               scalar_operand};
SCALAR_FACET(plus_scalar, ADD)
SCALAR_FACET(minus_scalar, SUB)
SCALAR_FACET(mul_scalar, MUL)
SCALAR_FACET(div_scalar, DIV)
#define ALGEBRA_OF_plus_scalar &plus_scalar_algebra
#define ALGEBRA_OF_minus_scalar &minus_scalar_algebra
#define ALGEBRA_OF_mul_scalar &mul_scalar_algebra
#define ALGEBRA_OF_div_scalar &div_scalar_algebra
#define ALGEBRA_OF_rminus_scalar NULL
#define ALGEBRA_OF_rdiv_scalar NULL
#define ALGEBRA_OF_mod_scalar NULL
#define ALGEBRA_OF_rmod_scalar NULL
#define ALGEBRA_OF_power_scalar NULL
#define ALGEBRA_OF_rpower_scalar NULL
#define ALGEBRA_OF_maximum_scalar NULL
#define ALGEBRA_OF_minimum_scalar NULL
#define ALGEBRA_OF_equal_scalar NULL
#define ALGEBRA_OF_not_equal_scalar NULL
#define ALGEBRA_OF_greater_scalar NULL
#define ALGEBRA_OF_greater_equal_scalar NULL
#define ALGEBRA_OF_lesser_scalar NULL
#define ALGEBRA_OF_lesser_equal_scalar NULL
#define ALGEBRA_OF_hypot_scalar NULL
#define ALGEBRA_OF_logical_and_scalar NULL
#define ALGEBRA_OF_logical_or_scalar NULL
#define ALGEBRA_OF_logical_xor_scalar NULL

/* Python's modulo: the result takes the divisor's sign; x % 0 is 0 (MXNet). */
static inline float pymodf(float a, float b)
{
    if (b == 0) return 0;
    float r = fmodf(a, b);
    return (r != 0 && (r < 0) != (b < 0)) ? r + b : r;
}

static inline double pymod(double a, double b)
{
    if (b == 0) return 0;
    double r = fmod(a, b);
    return (r != 0 && (r < 0) != (b < 0)) ? r + b : r;
}

/*
 * Integer division, modulo and power without undefined behaviour: x / 0 and
 * x % 0 give 0 (NumPy), MIN / -1 wraps, division truncates toward zero (C
 * and MXNet), modulo takes the divisor's sign (Python), and powers are exact
 * with wrap-around; a negative exponent gives 1 / x^-e truncated (0 unless
 * x is 1 or -1).  x ** scalar takes the scalar with its sign (uint8 x ** -1 is
 * 1 / x truncated, as MXNet gives, never x ** 255).
 */
#define INT_HELPERS(sfx, T, U)                                                             \
    static inline T idiv_##sfx(T a, T b)                                                   \
    {                                                                                      \
        if (b == 0) return 0;                                                              \
        if ((T)-1 < 0 && b == (T)-1) return (T)(0u - (U)a);                                \
        return (T)(a / b);                                                                 \
    }                                                                                      \
    static inline T imod_##sfx(T a, T b)                                                   \
    {                                                                                      \
        if (b == 0 || ((T)-1 < 0 && b == (T)-1)) return 0;                                 \
        T r = (T)(a % b);                                                                  \
        return (r != 0 && (r < 0) != (b < 0)) ? (T)(r + b) : r;                            \
    }                                                                                      \
    static inline T ipowe_##sfx(T a, int64_t b)                                            \
    {                                                                                      \
        if (b < 0) return a == 1 ? 1 : ((T)-1 < 0 && a == (T)-1) ? (b % 2 ? a : 1) : 0;    \
        U r = 1, base = (U)a;                                                              \
        for (uint64_t e = (uint64_t)b; e; e >>= 1) {                                       \
            if (e & 1) r = (U)(r * base);                                                  \
            base = (U)(base * base);                                                       \
        }                                                                                  \
        return (T)r;                                                                       \
    }                                                                                      \
    static inline T ipow_##sfx(T a, T b) { return ipowe_##sfx(a, (int64_t)b); }
INT_HELPERS(i32, int32_t, uint32_t)
INT_HELPERS(i64, int64_t, uint64_t)
INT_HELPERS(u8, uint8_t, uint8_t)
/* Integer hypot: in double, truncated (MXNet), saturated at max. */
static inline double ihypot(double a, double b, double max)
{
    double r = hypot(a, b);
    /* int64's largest value rounds up to 2^63 in double; the largest double below it. */
    if (max >= 9223372036854775807.0) max = 9223372036854774784.0;
    return r < max ? r : max;
}

#define INT_FN(fn, a, b)                                                                   \
    _Generic((a), int32_t: fn##_i32, int64_t: fn##_i64, uint8_t: fn##_u8)((a), (b))

/* name, MXNet name, aliases (two, or one and NULL), float32 and float64
 * expressions of v and s, integer expression (T, U as in INT_CASE; s is a T),
 * flags, doc. */
#define SCALAR_OPS(X)                                                                      \
    X(plus_scalar, "_plus_scalar", "_PlusScalar", NULL, v + s, v + s, (T)((U)v + (U)s), 0, \
      "x + scalar.")                                                                       \
    X(minus_scalar, "_minus_scalar", "_MinusScalar", NULL, v - s, v - s,                   \
      (T)((U)v - (U)s), 0, "x - scalar.")                                                  \
    X(rminus_scalar, "_rminus_scalar", "_RMinusScalar", NULL, s - v, s - v,                \
      (T)((U)s - (U)v), 0, "scalar - x.")                                                  \
    X(mul_scalar, "_mul_scalar", "_MulScalar", NULL, v * s, v * s, (T)((U)v * (U)s), 0,    \
      "x * scalar.")                                                                       \
    X(div_scalar, "_div_scalar", "_DivScalar", NULL, v / s, v / s, INT_FN(idiv, v, s), 0,  \
      "x / scalar; integers truncate, and x / 0 is 0.")                                    \
    X(rdiv_scalar, "_rdiv_scalar", "_RDivScalar", NULL, s / v, s / v, INT_FN(idiv, s, v),  \
      0, "scalar / x; integers truncate, and s / 0 is 0.")                                 \
    X(mod_scalar, "_mod_scalar", "_ModScalar", NULL, pymodf(v, s), pymod(v, s),            \
      INT_FN(imod, v, s), 0, "x mod scalar, with scalar's sign (Python); x mod 0 is 0.")   \
    X(rmod_scalar, "_rmod_scalar", "_RModScalar", NULL, pymodf(s, v), pymod(s, v),         \
      INT_FN(imod, s, v), 0, "scalar mod x, with x's sign (Python); s mod 0 is 0.")        \
    X(power_scalar, "_power_scalar", "_PowerScalar", NULL, powf(v, s), pow(v, s),          \
      INT_FN(ipowe, v, e), 0, "x ** scalar.")                                               \
    X(rpower_scalar, "_rpower_scalar", "_RPowerScalar", NULL, powf(s, v), pow(s, v),       \
      INT_FN(ipow, s, v), 0, "scalar ** x.")                                               \
    X(maximum_scalar, "_maximum_scalar", "_MaximumScalar", "_npi_maximum_scalar",          \
      (v > s || v != v) ? v : s, (v > s || v != v) ? v : s, v > s ? v : s, 0,              \
      "max(x, scalar); NaN if either is NaN.")                                             \
    X(minimum_scalar, "_minimum_scalar", "_MinimumScalar", "_npi_minimum_scalar",          \
      (v < s || v != v) ? v : s, (v < s || v != v) ? v : s, v < s ? v : s, 0,              \
      "min(x, scalar); NaN if either is NaN.")                                             \
    X(equal_scalar, "_equal_scalar", "_EqualScalar", NULL, v == s, v == s, v == s,         \
      AM_OP_NO_GRAD, "1 where x == scalar, else 0, in x's dtype.")                         \
    X(not_equal_scalar, "_not_equal_scalar", "_NotEqualScalar", NULL, v != s, v != s,      \
      v != s, AM_OP_NO_GRAD, "1 where x != scalar, else 0, in x's dtype.")                 \
    X(greater_scalar, "_greater_scalar", "_GreaterScalar", NULL, v > s, v > s, v > s,      \
      AM_OP_NO_GRAD, "1 where x > scalar, else 0, in x's dtype.")                          \
    X(greater_equal_scalar, "_greater_equal_scalar", "_GreaterEqualScalar", NULL, v >= s,  \
      v >= s, v >= s, AM_OP_NO_GRAD, "1 where x >= scalar, else 0, in x's dtype.")         \
    X(lesser_scalar, "_lesser_scalar", "_LesserScalar", NULL, v < s, v < s, v < s,         \
      AM_OP_NO_GRAD, "1 where x < scalar, else 0, in x's dtype.")                          \
    X(lesser_equal_scalar, "_lesser_equal_scalar", "_LesserEqualScalar", NULL, v <= s,     \
      v <= s, v <= s, AM_OP_NO_GRAD, "1 where x <= scalar, else 0, in x's dtype.")         \
    X(hypot_scalar, "_hypot_scalar", "_HypotScalar", NULL, hypotf(v, s), hypot(v, s),      \
      ihypot(v, s, (double)(T)((U)-1 / ((T)-1 < 0 ? 2 : 1))), 0,                           \
      "sqrt(x^2 + scalar^2); integers compute in double and truncate.")                   \
    X(logical_and_scalar, "_logical_and_scalar", "_LogicalAndScalar", NULL,                \
      v != 0 && s != 0, v != 0 && s != 0, v != 0 && s != 0, AM_OP_NO_GRAD,                 \
      "1 where x and scalar are both nonzero, else 0, in x's dtype.")                      \
    X(logical_or_scalar, "_logical_or_scalar", "_LogicalOrScalar", NULL, v != 0 || s != 0, \
      v != 0 || s != 0, v != 0 || s != 0, AM_OP_NO_GRAD,                                   \
      "1 where x or scalar is nonzero, else 0, in x's dtype.")                             \
    X(logical_xor_scalar, "_logical_xor_scalar", "_LogicalXorScalar", NULL,                \
      (v != 0) != (s != 0), (v != 0) != (s != 0), (v != 0) != (s != 0), AM_OP_NO_GRAD,     \
      "1 where exactly one of x and scalar is nonzero, else 0, in x's dtype.")

/* One integer dtype with the scalar converted to it as MXNet does (DType(s):
 * truncated, uint8: -1 -> 255; AM_CONVERT for NaN and out of range), and e,
 * the exponent of x ** scalar, the scalar as an int64 that keeps its sign. */
#define SCALAR_INT_CASE(req, DT, T_, U_, xp, yp, n, sd, IE)                                \
    case DT: {                                                                             \
        typedef T_ T;                                                                      \
        typedef U_ U __attribute__((unused));                                              \
        const T s __attribute__((unused)) = AM_CONVERT(T, sd);                         \
        const int64_t e __attribute__((unused)) = am_float_to_i64(sd);                     \
        MAP(req, T, T, T, xp, yp, n, IE);                                                  \
    } break;

/* Integer data with a float scalar (is_int=False): v and s in double. */
#define SCALAR_WIDEN_CASE(req, DT, T_, xp, yp, n, DE)                                      \
    case DT: MAP(req, T_, double, double, xp, yp, n, DE); break;

#define SCALAR_KERNEL(id, mx, a1, a2, FE, DE, IE, fl, doc)                                 \
    static am_status id##_cpu(KERNEL_PARAMS)                                               \
    {                                                                                      \
        AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);                                 \
        const double sd = ((const scalar_attrs *)attrs)->scalar;                           \
        const int64_t n = am_view_size(&out[0]);                                           \
        const void *x = in[0].data;                                                        \
        void *y = out[0].data;                                                             \
        if (out[0].dtype != in[0].dtype) {                                                 \
            const double s = sd;                                                           \
            switch (in[0].dtype) {                                                         \
                SCALAR_WIDEN_CASE(req[0], AM_DTYPE_INT32, int32_t, x, y, n, DE)            \
                SCALAR_WIDEN_CASE(req[0], AM_DTYPE_INT64, int64_t, x, y, n, DE)            \
                SCALAR_WIDEN_CASE(req[0], AM_DTYPE_UINT8, uint8_t, x, y, n, DE)            \
            default: return unsupported_dtype(in[0].dtype);                                \
            }                                                                              \
            return AM_OK;                                                                  \
        }                                                                                  \
        switch (in[0].dtype) {                                                             \
        case AM_DTYPE_FLOAT32: {                                                           \
            const float s = (float)sd;                                                     \
            MAP(req[0], float, float, float, x, y, n, FE);                                 \
        } break;                                                                           \
        case AM_DTYPE_FLOAT64: {                                                           \
            const double s = sd;                                                           \
            MAP(req[0], double, double, double, x, y, n, DE);                              \
        } break;                                                                           \
            SCALAR_INT_CASE(req[0], AM_DTYPE_INT32, int32_t, uint32_t, x, y, n, sd, IE)    \
            SCALAR_INT_CASE(req[0], AM_DTYPE_INT64, int64_t, uint64_t, x, y, n, sd, IE)    \
            SCALAR_INT_CASE(req[0], AM_DTYPE_UINT8, uint8_t, uint8_t, x, y, n, sd, IE)     \
        default: return unsupported_dtype(in[0].dtype);                                    \
        }                                                                                  \
        return AM_OK;                                                                      \
    }
SCALAR_OPS(SCALAR_KERNEL)

/* name, in_grad (x is in the output's dtype; s is the scalar), as MXNet's
 * _backward_<name>: mod passes og (d(x mod s)/dx = 1), rmod gives
 * d(s mod x)/dx = -floor(s / x), maximum passes og where x >= s and minimum
 * where x <= s; hypot gives x / y. */
#define SCALAR_GRADS(X)                                                                    \
    X(plus_scalar, og)                                                                     \
    X(minus_scalar, og)                                                                    \
    X(rminus_scalar, NEG(og))                                                              \
    X(mul_scalar, SCALE(og, s))                                                            \
    X(div_scalar, am_div_scalar_at(og, s, at))                                             \
    X(rdiv_scalar, NEG(MUL(og, DIV(y, x))))                                                \
    X(mod_scalar, og)                                                                      \
    X(rmod_scalar, NEG(MUL(og, am_floor_at(am_rdiv_scalar_at(x, s, at), at))))             \
    X(power_scalar, MUL(og, SCALE(am_power_scalar_at(x, s - 1, at), s)))                   \
    X(rpower_scalar, MUL(og, SCALE(y, log(s))))                                            \
    X(maximum_scalar, MUL(og, am_greater_equal_scalar_at(x, s, at)))                       \
    X(minimum_scalar, MUL(og, am_lesser_equal_scalar_at(x, s, at)))                        \
    X(hypot_scalar, MUL(og, DIV(x, y)))

#define SCALAR_GRAD(id, EXPR)                                                              \
    static am_status id##_grad(GRAD_PARAMS)                                                \
    {                                                                                      \
        const am_site at = g->at;                                                          \
        const double s = ((const scalar_attrs *)g->attrs)->scalar;                         \
        am_array *x = in[0], *y = out[0], *og = og_[0];                                    \
        AM_UNUSED(s), AM_UNUSED(y);                                                        \
        if (am_array_dtype(x) != am_array_dtype(y)) x = am_astype_at(x, am_array_dtype(y), at); \
        AM_UNUSED(x);                                                                      \
        return set_grad0(in, ig, (EXPR), at);                                              \
    }
SCALAR_GRADS(SCALAR_GRAD)

#define SCALAR_DEF(id, mx, a1, a2, FE, DE, IE, fl, doc_)                                   \
    const am_op_def am_op_##id = {                                                         \
        .name = mx, .aliases = (const char *const[]){a1, a2, NULL},                        \
        .input_names = data_input, .num_outputs = 1, .attrs = scalar_fields,               \
        .attrs_size = sizeof(scalar_attrs), .infer_shape = am_infer_shape_same,            \
        .infer_dtype = scalar_dtype, .cpu = id##_cpu, .gradient = GRAD_OF_##fl(id),        \
        .inplace = inplace_00, .fuse = AM_FUSE_ELEMWISE, .flags = fl, .doc = doc_,         \
        .algebra = ALGEBRA_OF_##id};                                                       \
    am_array *am_##id##_at(am_array *x, double s, am_site at)                              \
    {                                                                                      \
        scalar_attrs a = {.scalar = s, .is_int = true};                                    \
        return call1(&am_op_##id, &a, x, at);                                              \
    }
SCALAR_OPS(SCALAR_DEF)

/* ---- Activation and LeakyReLU: shared helpers ------------------------------------ */

/* A float map over x's dtype; other dtypes fail. */
#define FLOAT_MAP(req, x, y, n, FE, DE)                                                    \
    switch ((x)->dtype) {                                                                  \
        MAP_FLOAT_CASES(req, (x)->data, (y)->data, n, FE, DE)                              \
    default: return float_only((x)->dtype);                                                \
    }

/* Parses act_type as am_invoke would (same messages, naming the caller's
 * line) into attrs, with defaults for the other fields. */
static bool parse_act_type(const am_op_def *op, const char *act_type, void *attrs, am_site at)
{
    am_err_ctx c;
    void *p = NULL;
    am_err_push(&c, NULL, at);
    if (!act_type) am_fail(AM_ERR_ARG, "%s: act_type is NULL", op->name);
    else p = am_attrs_parse(op, (const char *const[]){"act_type"}, &act_type, 1);
    am_err_pop(&c);
    if (!p) return false;
    memcpy(attrs, p, op->attrs_size);
    free(p);
    return true;
}

/* ---- Activation --------------------------------------------------------------------- */

enum { ACT_RELU, ACT_SIGMOID, ACT_TANH, ACT_SOFTRELU, ACT_SOFTSIGN };
static const char *const act_types[] = {"relu", "sigmoid", "tanh", "softrelu", "softsign", NULL};

typedef struct act_attrs {
    int act_type;
} act_attrs;

static const am_attr_field act_fields[] = {
    AM_ATTR_ENUM_FIELD(act_attrs, act_type, act_types, NULL,
                       "relu, sigmoid, tanh, softrelu (log(1 + e^x)) or softsign"),
    {0}};

/* log(1 + e^x); x itself above 20, where the two agree in float (MXNet's cut).  float32 uses
 * the stable form max(x, 0) + log(1 + e^-|x|), equal to it there. */
AM_FAST_CLONES
static am_status softrelu_cpu(const am_view *x, const am_view *y, am_req req)
{
    const int64_t n = am_view_size(x);
    FLOAT_MAP(req, x, y, n, am_fast_softreluf(v), v > 20.0 ? v : log1p(exp(v)));
    return AM_OK;
}

static am_status activation_cpu(KERNEL_PARAMS)
{
    switch (((const act_attrs *)attrs)->act_type) {
    case ACT_RELU: return relu_cpu(ctx, NULL, in, n_in, out, n_out, req);
    case ACT_SIGMOID: return sigmoid_cpu(ctx, NULL, in, n_in, out, n_out, req);
    case ACT_TANH: return tanh_cpu(ctx, NULL, in, n_in, out, n_out, req);
    case ACT_SOFTRELU: return softrelu_cpu(&in[0], &out[0], req[0]);
    case ACT_SOFTSIGN: return softsign_cpu(ctx, NULL, in, n_in, out, n_out, req);
    default: return am_fail(AM_ERR_INTERNAL, "bad act_type");
    }
}

/* The unary ops' gradients; softrelu's is sigmoid(x) (MXNet computes it from
 * the output as 1 - e^-y, the same function). */
static am_status activation_grad(GRAD_PARAMS)
{
    const am_site at = g->at;
    switch (((const act_attrs *)g->attrs)->act_type) {
    case ACT_RELU: return relu_grad(g, in, out, og_, ig);
    case ACT_SIGMOID: return sigmoid_grad(g, in, out, og_, ig);
    case ACT_TANH: return tanh_grad(g, in, out, og_, ig);
    case ACT_SOFTRELU: return set_grad0(in, ig, MUL(og_[0], am_sigmoid_at(in[0], at)), at);
    case ACT_SOFTSIGN: return softsign_grad(g, in, out, og_, ig);
    default: return am_fail(AM_ERR_INTERNAL, "bad act_type");
    }
}

/* The activation facet: act_type i is am_act i + 1 (relu .. softsign). */
_Static_assert(ACT_RELU + 1 == AM_ACT_RELU && ACT_SOFTSIGN + 1 == AM_ACT_SOFTSIGN,
               "act_types and am_act disagree");

static am_act activation_facet_read(const void *attrs, double *slope)
{
    *slope = 0;
    return (am_act)(((const act_attrs *)attrs)->act_type + 1);
}

static bool activation_facet_write(void *attrs, am_act act, double slope)
{
    AM_UNUSED(slope);
    if (act < AM_ACT_RELU || act > AM_ACT_SOFTSIGN) return false;
    ((act_attrs *)attrs)->act_type = (int)act - 1;
    return true;
}

static const am_activation_facet activation_facet = {.read = activation_facet_read,
                                                  .write = activation_facet_write};

const am_op_def am_op_activation = {
    .name = "Activation", .aliases = (const char *const[]){"_npx_activation", NULL},
    .input_names = (const char *const[]){"data", NULL}, .num_outputs = 1, .attrs = act_fields,
    .attrs_size = sizeof(act_attrs), .infer_shape = am_infer_shape_same,
    .infer_dtype = float_dtype, .cpu = activation_cpu, .gradient = activation_grad,
    .inplace = inplace_00, .activation = &activation_facet,
    .fuse = AM_FUSE_ELEMWISE, .doc = "An activation function chosen by act_type."};

am_array *am_activation_at(am_array *x, const char *act_type, am_site at)
{
    act_attrs a;
    am_array *y = NULL;
    if (!x) {
        am_fail_null_input(am_op_activation.name, 0, at);
        return NULL;
    }
    if (!parse_act_type(&am_op_activation, act_type, &a, at)) return NULL;
    am_op_call(&am_op_activation, &a, &x, 1, &y, 1, at);
    return y;
}

/* ---- LeakyReLU ----------------------------------------------------------------------- */

enum { LEAKY_LEAKY, LEAKY_PRELU, LEAKY_RRELU, LEAKY_ELU, LEAKY_SELU, LEAKY_GELU };
static const char *const leaky_types[] = {"leaky", "prelu", "rrelu", "elu", "selu", "gelu", NULL};

typedef struct leaky_attrs {
    int act_type;
    double slope, lower_bound, upper_bound;
} leaky_attrs;

static const am_attr_field leaky_fields[] = {
    AM_ATTR_ENUM_FIELD(leaky_attrs, act_type, leaky_types, "leaky", "activation function"),
    AM_ATTR_FIELD(leaky_attrs, slope, AM_ATTR_FLOAT, "0.25", "slope of leaky, alpha of elu"),
    AM_ATTR_FIELD(leaky_attrs, lower_bound, AM_ATTR_FLOAT, "0.125", "rrelu's least slope"),
    AM_ATTR_FIELD(leaky_attrs, upper_bound, AM_ATTR_FLOAT, "0.334", "rrelu's greatest slope"),
    {0}};

/* SELU's constants (Klambauer et al. 2017), as MXNet uses them. */
#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_LAMBDA 1.0507009873554804934193349852946
#define SQRT1_2 0.70710678118654752440084436210485

static int leaky_num_inputs(const void *attrs)
{
    return ((const leaky_attrs *)attrs)->act_type == LEAKY_PRELU ? 2 : 1;
}

/* rrelu has a hidden second output, the slopes it used (MXNet's mask). */
static int leaky_num_outputs(const void *attrs)
{
    return ((const leaky_attrs *)attrs)->act_type == LEAKY_RRELU ? 2 : 1;
}

static int leaky_num_visible(const void *attrs)
{
    AM_UNUSED(attrs);
    return 1;
}

/*
 * Aligns gamma with data as MXNet's prelu does: gamma's dimensions, last
 * first, pair with data's axes 1 and 0 only, each equal to data's or 1.  So a
 * (C,) gamma holds one slope per channel (axis 1), (1,) or () one for all,
 * and (N, C) one per sample and channel.  e0, e1: gamma's extents along axes 0, 1.
 */
static am_status prelu_gamma_dims(const am_shape *d, const am_shape *g, int64_t *e0, int64_t *e1)
{
    int64_t e[2] = {1, 1};
    int s = g->ndim - 1;
    for (int i = d->ndim - 1; i >= 0; i--)
        if (s >= 0 && i <= 1 && (d->dim[i] == g->dim[s] || g->dim[s] == 1)) e[i] = g->dim[s--];
    if (s != -1) {
        char a[64], b[64];
        return am_fail(AM_ERR_SHAPE, "cannot broadcast gamma %s to data %s: prelu's gamma "
                       "pairs with data's axes 0 and 1 only, e.g. (C,) for data (N, C, ...)",
                       am_shape_format(g, a, sizeof(a)), am_shape_format(d, b, sizeof(b)));
    }
    *e0 = e[0], *e1 = e[1];
    return AM_OK;
}

/* Output 0 and rrelu's hidden mask (output 1) have data's shape.  An unknown
 * gamma becomes (C,), one slope per channel. */
static am_status leaky_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_in);
    const leaky_attrs *a = attrs;
    int64_t e0, e1;
    char buf[64];
    for (int i = 0; i < n_out; i++) out[i] = in[0];
    if (a->act_type != LEAKY_PRELU || in[0].ndim < 0) return AM_OK;
    if (in[1].ndim < 0) {
        if (in[0].ndim < 2)
            return am_fail(AM_ERR_SHAPE, "cannot infer gamma's shape from data %s: it needs a "
                           "channel axis (axis 1)", am_shape_format(&in[0], buf, sizeof(buf)));
        in[1] = (am_shape){.ndim = 1, .dim = {in[0].dim[1]}};
    }
    return prelu_gamma_dims(&in[0], &in[1], &e0, &e1);
}

/* leaky, elu, selu and gelu: one map each. */
AM_FAST_CLONES
static am_status leaky_map(const leaky_attrs *a, const am_view *x, const am_view *y, am_req req)
{
    const int64_t n = am_view_size(x);
    const float sf = (float)a->slope;
    const double sd = a->slope;
    switch (a->act_type) {
    case LEAKY_LEAKY: FLOAT_MAP(req, x, y, n, v > 0 ? v : v * sf, v > 0 ? v : v * sd); break;
    case LEAKY_ELU:
        FLOAT_MAP(req, x, y, n, v > 0 ? v : sf * am_fast_expm1f(v), v > 0 ? v : sd * expm1(v));
        break;
    case LEAKY_SELU:
        FLOAT_MAP(req, x, y, n,
                  (float)SELU_LAMBDA * (v > 0 ? v : (float)SELU_ALPHA * am_fast_expm1f(v)),
                  SELU_LAMBDA * (v > 0 ? v : SELU_ALPHA * expm1(v)));
        break;
    case LEAKY_GELU:
        FLOAT_MAP(req, x, y, n, 0.5f * v * (1.0f + am_fast_erff(v * (float)SQRT1_2)),
                  0.5 * v * (1.0 + erf(v * SQRT1_2)));
        break;
    default: return am_fail(AM_ERR_INTERNAL, "bad act_type %d", a->act_type);
    }
    return AM_OK;
}

/* prelu over data viewed as rows (n, c) of the remaining R elements, each row
 * with one slope; rows are shared among threads for large arrays. */
#define PRELU_ROWS(T)                                                                      \
    do {                                                                                   \
        const T *xp = x->data, *gp = g->data;                                              \
        T *yp = y->data;                                                                   \
        _Pragma("omp parallel for if (N * C * R > AM_OMP_MIN) schedule(static)")           \
        for (int64_t row = 0; row < N * C; row++) {                                        \
            const int64_t n = row / C, c = row % C;                                        \
            const T k = gp[(e0 > 1 ? n : 0) * e1 + (e1 > 1 ? c : 0)];                      \
            const T *xr = xp + row * R;                                                    \
            T *yr = yp + row * R;                                                          \
            if (req == AM_REQ_ADD) {                                                       \
                _Pragma("omp simd")                                                        \
                for (int64_t i = 0; i < R; i++) yr[i] += xr[i] > 0 ? xr[i] : xr[i] * k;    \
            } else if (req != AM_REQ_NULL) {                                               \
                _Pragma("omp simd")                                                        \
                for (int64_t i = 0; i < R; i++) yr[i] = xr[i] > 0 ? xr[i] : xr[i] * k;     \
            }                                                                              \
        }                                                                                  \
    } while (0)

static am_status prelu_cpu(const am_view *x, const am_view *g, const am_view *y, am_req req)
{
    am_shape ds = {.ndim = x->ndim}, gs = {.ndim = g->ndim};
    int64_t e0, e1;
    memcpy(ds.dim, x->dim, sizeof(ds.dim));
    memcpy(gs.dim, g->dim, sizeof(gs.dim));
    am_status st = prelu_gamma_dims(&ds, &gs, &e0, &e1);
    if (st != AM_OK) return st;
    const int64_t N = ds.ndim > 0 ? ds.dim[0] : 1, C = ds.ndim > 1 ? ds.dim[1] : 1;
    const int64_t R = N * C > 0 ? am_view_size(x) / (N * C) : 0;
    switch (x->dtype) {
    case AM_DTYPE_FLOAT32: PRELU_ROWS(float); break;
    case AM_DTYPE_FLOAT64: PRELU_ROWS(double); break;
    default: return float_only(x->dtype);
    }
    return AM_OK;
}

/* Training: a slope per element drawn uniformly from [lower_bound,
 * upper_bound) into the mask, serially from the context's generator so that
 * a seed gives the same slopes whatever the thread count.  Inference: the
 * mean slope, (lower_bound + upper_bound) / 2, also written to the mask. */
#define RRELU_TRAIN(T)                                                                     \
    do {                                                                                   \
        const T *xp = x->data;                                                             \
        T *yp = y->data, *mp = m->data;                                                    \
        for (int64_t i = 0; i < n; i++) {                                                  \
            const T k = (T)(lo + (hi - lo) * am_rng_uniform01(ctx->rng)), v = xp[i];       \
            const T r = v > 0 ? v : v * k;                                                 \
            if (req[1] != AM_REQ_NULL) mp[i] = req[1] == AM_REQ_ADD ? mp[i] + k : k;       \
            if (req[0] != AM_REQ_NULL) yp[i] = req[0] == AM_REQ_ADD ? yp[i] + r : r;       \
        }                                                                                  \
    } while (0)

static am_status rrelu_cpu(const am_kernel_ctx *ctx, const leaky_attrs *a, const am_view *x,
                           const am_view *y, const am_view *m, const am_req *req)
{
    const double lo = a->lower_bound, hi = a->upper_bound;
    const int64_t n = am_view_size(x);
    if (!ctx->training) {
        const float kf = (float)((lo + hi) / 2);
        const double kd = (lo + hi) / 2;
        FLOAT_MAP(req[1], x, m, n, ((void)v, kf), ((void)v, kd));
        FLOAT_MAP(req[0], x, y, n, v > 0 ? v : v * kf, v > 0 ? v : v * kd);
        return AM_OK;
    }
    if (!ctx->rng) return am_fail(AM_ERR_INTERNAL, "rrelu in training needs ctx->rng");
    switch (x->dtype) {
    case AM_DTYPE_FLOAT32: RRELU_TRAIN(float); break;
    case AM_DTYPE_FLOAT64: RRELU_TRAIN(double); break;
    default: return float_only(x->dtype);
    }
    return AM_OK;
}

static am_status leaky_cpu(KERNEL_PARAMS)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const leaky_attrs *a = attrs;
    switch (a->act_type) {
    case LEAKY_PRELU: return prelu_cpu(&in[0], &in[1], &out[0], req[0]);
    case LEAKY_RRELU: return rrelu_cpu(ctx, a, &in[0], &out[0], &out[1], req);
    default: return leaky_map(a, &in[0], &out[0], req[0]);
    }
}

/* ---- LeakyReLU: gradients -------------------------------------------------------- */

/* r (gamma's shape aligned with data, bs) in gamma's own shape: a view, or
 * for a 0-d gamma the one element split off (Reshape cannot make 0-d arrays). */
static am_array *to_gamma_shape(am_array *r, const am_shape *bs, am_array *gamma, am_site at)
{
    am_shape gs = am_array_shape(gamma);
    am_array *part = NULL;
    if (gs.ndim == bs->ndim) return r; /* prelu_gamma_dims made them equal */
    if (gs.ndim > 0) return am_reshape_at(r, gs, false, at);
    if (am_split_at(am_reshape_at(r, AM_SHAPE(1), false, at), 1, 0, true, &part, at) != AM_OK)
        return NULL;
    return part;
}

/*
 * MXNet's prelu backward: data gets og where x > 0 and og * gamma elsewhere;
 * gamma gets og * x where x <= 0, summed over the axes it is broadcast along.
 * bs is gamma's shape aligned with data's axes (gamma's extents on axes 0
 * and 1, ones elsewhere), so NumPy broadcasting reproduces prelu's pairing.
 */
static am_status prelu_grad(const am_grad_ctx *g, am_array *x, am_array *gamma, am_array *og,
                            am_array **ig)
{
    const am_site at = g->at;
    am_shape ds = am_array_shape(x), gs = am_array_shape(gamma), bs = {.ndim = ds.ndim};
    int64_t e0, e1;
    int axes[AM_MAX_NDIM], n = 0;
    if (am_array_size(x) == 0) {
        ig[0] = am_zeros_like_at(x, at), ig[1] = am_zeros_like_at(gamma, at);
        return ig[0] && ig[1] ? AM_OK : am_last_status();
    }
    if (prelu_gamma_dims(&ds, &gs, &e0, &e1) != AM_OK) return am_last_status();
    for (int d = 0; d < ds.ndim; d++) {
        bs.dim[d] = d == 0 ? e0 : d == 1 ? e1 : 1;
        if (bs.dim[d] == 1 && ds.dim[d] != 1) axes[n++] = d;
    }
    am_array *neg = am_lesser_equal_scalar_at(x, 0, at);
    if (g->need_grad[0]) {
        am_array *gb = gs.ndim == bs.ndim ? gamma : am_reshape_at(gamma, bs, false, at);
        am_array *pass = MUL(og, am_greater_scalar_at(x, 0, at));
        ig[0] = am_elemwise_add_at(pass, am_broadcast_mul_at(MUL(og, neg), gb, at), at);
        if (!ig[0]) return am_last_status();
    }
    if (g->need_grad[1]) {
        am_array *r = MUL(og, MUL(x, neg));
        if (n > 0) r = am_sum_at(r, axes, n, true, at);
        if (!(ig[1] = to_gamma_shape(r, &bs, gamma, at))) return am_last_status();
    }
    return AM_OK;
}

/*
 * leaky: 1 where x > 0, else slope.  elu: 1, else y + slope (the derivative
 * of slope * (e^x - 1)).  selu: lambda, else y + lambda * alpha (MXNet's
 * selu_grad writes lambda * (y + alpha), which is not the derivative).
 * gelu: Phi(x) + x * phi(x).  rrelu: 1, else the slope drawn in the mask.
 * Each factor is built from x and y, so second derivatives follow.
 */
static am_status leaky_grad(GRAD_PARAMS)
{
    const leaky_attrs *a = g->attrs;
    const am_site at = g->at;
    am_array *x = in[0], *y = out[0], *og = og_[0], *d = NULL;
    if (a->act_type == LEAKY_PRELU) return prelu_grad(g, x, in[1], og, ig);
    am_array *pos = am_greater_scalar_at(x, 0, at), *one = am_ones_like_at(x, at);
    switch (a->act_type) {
    case LEAKY_LEAKY: d = SHIFT(SCALE(pos, 1 - a->slope), a->slope); break;
    case LEAKY_ELU: d = am_where_at(pos, one, SHIFT(y, a->slope), at); break;
    case LEAKY_SELU:
        d = am_where_at(pos, SCALE(one, SELU_LAMBDA), SHIFT(y, SELU_LAMBDA * SELU_ALPHA), at);
        break;
    case LEAKY_GELU:
        d = am_elemwise_add_at(SHIFT(SCALE(am_erf_at(SCALE(x, SQRT1_2), at), 0.5), 0.5),
                               MUL(x, SCALE(am_exp_at(SCALE(am_square_at(x, at), -0.5), at),
                                            INV_SQRT_2PI)), at);
        break;
    case LEAKY_RRELU: d = am_where_at(pos, one, out[1], at); break;
    default: return am_fail(AM_ERR_INTERNAL, "bad act_type %d", a->act_type);
    }
    return set_grad0(in, ig, MUL(og, d), at);
}

/* The activation facet: leaky, elu, selu and gelu (prelu reads a learned
 * gamma, rrelu draws its slopes). */
static const struct {
    int type;
    am_act act;
} leaky_acts[] = {{LEAKY_LEAKY, AM_ACT_LEAKY}, {LEAKY_ELU, AM_ACT_ELU},
                  {LEAKY_SELU, AM_ACT_SELU}, {LEAKY_GELU, AM_ACT_GELU}};

static am_act leaky_facet_read(const void *attrs, double *slope)
{
    const leaky_attrs *a = attrs;
    *slope = a->slope;
    for (size_t i = 0; i < sizeof(leaky_acts) / sizeof(leaky_acts[0]); i++)
        if (leaky_acts[i].type == a->act_type) return leaky_acts[i].act;
    return AM_ACT_NONE;
}

static bool leaky_facet_write(void *attrs, am_act act, double slope)
{
    leaky_attrs *a = attrs;
    for (size_t i = 0; i < sizeof(leaky_acts) / sizeof(leaky_acts[0]); i++)
        if (leaky_acts[i].act == act) {
            a->act_type = leaky_acts[i].type, a->slope = slope;
            return true;
        }
    return false;
}

static const am_activation_facet leaky_facet = {.read = leaky_facet_read,
                                             .write = leaky_facet_write};

const am_op_def am_op_leaky_relu = {
    .name = "LeakyReLU", .aliases = (const char *const[]){"_npx_leaky_relu", NULL},
    .input_names = (const char *const[]){"data", "gamma", NULL},
    .num_inputs = leaky_num_inputs, .num_outputs_of = leaky_num_outputs,
    .num_visible = leaky_num_visible, .attrs = leaky_fields, .attrs_size = sizeof(leaky_attrs),
    .infer_shape = leaky_shape, .infer_dtype = float_dtype, .cpu = leaky_cpu,
    .gradient = leaky_grad, .inplace = inplace_00, .activation = &leaky_facet,
    /* Opaque: prelu broadcasts gamma along axis 1 (not NumPy's way) and rrelu
     * draws random slopes in training. */
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_RANDOM,
    .doc = "Leaky ReLU and relatives: leaky, prelu (learned gamma), rrelu, elu, selu, gelu."};

am_array *am_leaky_relu_at(am_array *x, am_array *gamma, const char *act_type, double slope,
                           am_site at)
{
    leaky_attrs a;
    am_array *y = NULL, *in[2] = {x, gamma};
    if (!x) {
        am_fail_null_input(am_op_leaky_relu.name, 0, at);
        return NULL;
    }
    if (!parse_act_type(&am_op_leaky_relu, act_type, &a, at)) return NULL;
    a.slope = slope;
    if (a.act_type != LEAKY_PRELU && gamma) {
        am_err_ctx c;
        am_err_push(&c, am_op_leaky_relu.name, at);
        am_fail(AM_ERR_ARG, "gamma is given but act_type is %s; only prelu takes gamma",
                leaky_types[a.act_type]);
        am_err_pop(&c);
        return NULL;
    }
    am_op_call(&am_op_leaky_relu, &a, in, leaky_num_inputs(&a), &y, 1, at);
    return y;
}
