/* Elementwise math beyond elemwise.c, with MXNet 1.x's names: the
 * trigonometric, hyperbolic, logarithmic and special functions (tan ...
 * erfinv), rounding (trunc, fix, rint), logical_not, hard_sigmoid, smooth_l1,
 * the contrib straight-through and gradient ops (_contrib_round_ste,
 * _contrib_sign_ste, _contrib_gradientmultiplier, _contrib_quadratic),
 * _identity_with_attr_like_rhs, and _backward_gammaln (og * digamma(x)),
 * which the gamma gradients use. */
#include "../ndarray_impl.h"

#include <math.h>

#include "elemwise_map.h"

#define INT_CASES(req, xp, yp, n, IE)                                                      \
    case AM_DTYPE_INT32: MAP(req, int32_t, int32_t, int32_t, xp, yp, n, IE); break;        \
    case AM_DTYPE_INT64: MAP(req, int64_t, int64_t, int64_t, xp, yp, n, IE); break;        \
    case AM_DTYPE_UINT8: MAP(req, uint8_t, uint8_t, uint8_t, xp, yp, n, IE); break;

#define KERNEL_PARAMS                                                                      \
    const am_kernel_ctx *ctx, const void *attrs, const am_view *in, int n_in,              \
        const am_view *out, int n_out, const am_req *req
#define GRAD_PARAMS                                                                        \
    const am_grad_ctx *g, am_array *const *in, am_array *const *out,                       \
        am_array *const *og_, am_array **ig

static const char *const data_input[] = {"data", NULL};
static const am_inplace_pair inplace_00[] = {{0, 0}, {-1, -1}};

static am_status float_only(am_dtype t)
{
    return am_fail(AM_ERR_DTYPE, "data has dtype %s; only float32 and float64 are supported",
                   am_dtype_name(t));
}

static am_status float_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    for (int i = 1; i < n_in; i++)
        if (in[i] != in[0])
            return am_fail(AM_ERR_DTYPE, "input dtypes differ: %s (input 0) and %s (input %d)",
                           am_dtype_name(in[0]), am_dtype_name(in[i]), i);
    if (!am_dtype_is_float(in[0])) return float_only(in[0]);
    out[0] = in[0];
    return AM_OK;
}

/* ---- scalar functions --------------------------------------------------------------- */

#define PI_180 0.017453292519943295769236907684886
#define LN2 0.69314718055994530941723212145818
#define LN10 2.3025850929940456840179914546844
#define SQRT_PI_2 0.88622692545275801364908374167057 /* sqrt(pi) / 2 */

/* log|gamma(x)|, without lgamma's write to the global signgam. */
static inline double lgam(double x)
{
    int sign;
    return lgamma_r(x, &sign);
}

static inline float lgamf(float x)
{
    int sign;
    return lgammaf_r(x, &sign);
}

/* MXNet's rint: the nearer integer, and at a half the lower one (1.5 -> 1,
 * -1.5 -> -2), which is neither C's rint nor round. */
static inline double rint_mx(double v)
{
    double f = floor(v);
    return v - f <= 0.5 ? f : ceil(v);
}

static inline float rint_mxf(float v)
{
    float f = floorf(v);
    return v - f <= 0.5f ? f : ceilf(v);
}

/* The inverse error function: Giles' single-precision approximation ("Approximating the
 * erfinv function", 2010), then two Newton steps on erf(x) - y for double precision. */
static double erfinv_d(double y)
{
    if (!(y > -1 && y < 1)) return y == 1 ? INFINITY : y == -1 ? -INFINITY : NAN;
    double w = -log((1.0 - y) * (1.0 + y)), p;
    if (w < 5) {
        w -= 2.5;
        p = 2.81022636e-08;
        p = 3.43273939e-07 + p * w, p = -3.5233877e-06 + p * w, p = -4.39150654e-06 + p * w;
        p = 0.00021858087 + p * w, p = -0.00125372503 + p * w, p = -0.00417768164 + p * w;
        p = 0.246640727 + p * w, p = 1.50140941 + p * w;
    } else {
        w = sqrt(w) - 3;
        p = -0.000200214257;
        p = 0.000100950558 + p * w, p = 0.00134934322 + p * w, p = -0.00367342844 + p * w;
        p = 0.00573950773 + p * w, p = -0.0076224613 + p * w, p = 0.00943887047 + p * w;
        p = 1.00167406 + p * w, p = 2.83297682 + p * w;
    }
    double x = p * y;
    for (int k = 0; k < 2; k++) {
        double d = exp(-x * x);
        if (d == 0) break;
        x -= (erf(x) - y) * SQRT_PI_2 / d;
    }
    return x;
}

/* The digamma function psi = d log(gamma(x)) / dx: reflection below 0, the
 * recurrence psi(x) = psi(x + 1) - 1/x up to 10, then the asymptotic series. */
static double digamma(double x)
{
    double r = 0;
    if (x <= 0 && floor(x) == x) return NAN;
    if (x < 0) return digamma(1 - x) - M_PI / tan(M_PI * x);
    for (; x < 10; x += 1) r -= 1 / x;
    double f = 1 / (x * x);
    return r + log(x) - 0.5 / x -
           f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))));
}

/* ---- unary ops -------------------------------------------------------------------- */

/* Float ops: name, float32 and float64 expressions of v, doc. */
#define MATH_FLOAT_UNARY(X)                                                                \
    X(tan, tanf(v), tan(v), "Tangent (radians).")                                          \
    X(arcsin, asinf(v), asin(v), "Inverse sine, in [-pi/2, pi/2]; NaN outside [-1, 1].")   \
    X(arccos, acosf(v), acos(v), "Inverse cosine, in [0, pi]; NaN outside [-1, 1].")       \
    X(arctan, atanf(v), atan(v), "Inverse tangent, in (-pi/2, pi/2).")                     \
    X(sinh, sinhf(v), sinh(v), "Hyperbolic sine.")                                         \
    X(cosh, coshf(v), cosh(v), "Hyperbolic cosine.")                                       \
    X(arcsinh, asinhf(v), asinh(v), "Inverse hyperbolic sine.")                            \
    X(arccosh, acoshf(v), acosh(v), "Inverse hyperbolic cosine; NaN below 1.")             \
    X(arctanh, atanhf(v), atanh(v), "Inverse hyperbolic tangent; +-inf at +-1.")           \
    X(log2, log2f(v), log2(v), "Base-2 logarithm.")                                        \
    X(log10, log10f(v), log10(v), "Base-10 logarithm.")                                    \
    X(cbrt, cbrtf(v), cbrt(v), "Cube root (negative for negative x).")                     \
    X(rcbrt, 1.0f / cbrtf(v), 1.0 / cbrt(v), "1 / cbrt(x).")                               \
    X(degrees, v * (float)(1 / PI_180), v * (1 / PI_180), "Radians to degrees.")           \
    X(radians, v * (float)PI_180, v * PI_180, "Degrees to radians.")                       \
    X(gamma, tgammaf(v), tgamma(v), "The gamma function (factorial of x - 1).")            \
    X(gammaln, lgamf(v), lgam(v), "log |gamma(x)|.")                                       \
    X(erfinv, (float)erfinv_d(v), erfinv_d(v),                                             \
      "The inverse error function: erf(erfinv(x)) = x; +-inf at +-1, NaN outside.")

/* Ops on every dtype (integers unchanged), without a gradient: name,
 * float32, float64 and integer expressions, doc. */
#define MATH_ANY_UNARY(X)                                                                  \
    X(trunc, truncf(v), trunc(v), v, "x rounded toward zero.")                             \
    X(fix, truncf(v), trunc(v), v, "x rounded toward zero (as trunc).")                    \
    X(rint, rint_mxf(v), rint_mx(v), v,                                                    \
      "The nearest integer, the lower one at halves (1.5 -> 1, -1.5 -> -2), as MXNet.")    \
    X(logical_not, (float)(v == 0), (double)(v == 0), v == 0,                              \
      "1 where x is 0, else 0, in x's dtype.")

#define FLOAT_KERNEL(id, FE, DE, doc)                                                      \
    static am_status id##_cpu(KERNEL_PARAMS)                                               \
    {                                                                                      \
        AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);               \
        const int64_t n = am_view_size(&out[0]);                                           \
        switch (in[0].dtype) {                                                             \
            MAP_FLOAT_CASES(req[0], in[0].data, out[0].data, n, FE, DE)                    \
        default: return float_only(in[0].dtype);                                           \
        }                                                                                  \
        return AM_OK;                                                                      \
    }
#define ANY_KERNEL(id, FE, DE, IE, doc)                                                    \
    static am_status id##_cpu(KERNEL_PARAMS)                                               \
    {                                                                                      \
        AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);               \
        const int64_t n = am_view_size(&out[0]);                                           \
        switch (in[0].dtype) {                                                             \
            MAP_FLOAT_CASES(req[0], in[0].data, out[0].data, n, FE, DE)                    \
            INT_CASES(req[0], in[0].data, out[0].data, n, IE)                              \
        default: return am_fail(AM_ERR_DTYPE, "dtype %s is not supported",                 \
                                am_dtype_name(in[0].dtype));                               \
        }                                                                                  \
        return AM_OK;                                                                      \
    }
/* Straight-through estimators: round and sign forward, the output gradient
 * passed through unchanged backward.  C name, MXNet name, expressions, doc. */
#define MATH_STE(X)                                                                        \
    X(round_ste, "_contrib_round_ste", roundf(v), round(v), v,                             \
      "round (halves away from zero) whose gradient is the output gradient.")              \
    X(sign_ste, "_contrib_sign_ste", (float)((v > 0) - (v < 0)), (double)((v > 0) - (v < 0)), \
      (v > 0) - (v < 0), "sign whose gradient is the output gradient.")
#define STE_KERNEL(id, mx, FE, DE, IE, doc) ANY_KERNEL(id, FE, DE, IE, doc)

MATH_FLOAT_UNARY(FLOAT_KERNEL)
MATH_ANY_UNARY(ANY_KERNEL)
MATH_STE(STE_KERNEL)

/* ---- gradients -------------------------------------------------------------------- */

#define MUL(a, b) am_elemwise_mul_at((a), (b), at)
#define DIV(a, b) am_elemwise_div_at((a), (b), at)
#define SCALE(a, k) am_mul_scalar_at((a), (k), at)
#define SHIFT(a, k) am_plus_scalar_at((a), (k), at)
#define RSUB(k, a) am_rminus_scalar_at((a), (k), at) /* k - a */
#define SQ(a) am_square_at((a), at)

extern const am_op_def am_op_backward_gammaln;

/* og * digamma(x), through _backward_gammaln. */
static am_array *og_digamma(am_array *og, am_array *x, am_site at)
{
    am_array *in[2] = {og, x}, *r = NULL;
    am_op_call(&am_op_backward_gammaln, NULL, in, 2, &r, 1, at);
    return r;
}

/* name, in_grad from og, x and y (the output), as MXNet's _backward_<name>. */
#define MATH_GRADS(X)                                                                      \
    X(tan, MUL(og, SHIFT(SQ(y), 1)))                                                       \
    X(arcsin, DIV(og, am_sqrt_at(RSUB(1, SQ(x)), at)))                                     \
    X(arccos, am_negative_at(DIV(og, am_sqrt_at(RSUB(1, SQ(x)), at)), at))                 \
    X(arctan, DIV(og, SHIFT(SQ(x), 1)))                                                    \
    X(sinh, MUL(og, am_cosh_at(x, at)))                                                    \
    X(cosh, MUL(og, am_sinh_at(x, at)))                                                    \
    X(arcsinh, DIV(og, am_sqrt_at(SHIFT(SQ(x), 1), at)))                                   \
    X(arccosh, DIV(og, am_sqrt_at(SHIFT(SQ(x), -1), at)))                                  \
    X(arctanh, DIV(og, RSUB(1, SQ(x))))                                                    \
    X(log2, DIV(og, SCALE(x, LN2)))                                                        \
    X(log10, DIV(og, SCALE(x, LN10)))                                                      \
    X(cbrt, DIV(og, SCALE(SQ(y), 3)))                                                      \
    X(rcbrt, MUL(og, SCALE(DIV(y, x), -1.0 / 3)))                                          \
    X(degrees, SCALE(og, 1 / PI_180))                                                      \
    X(radians, SCALE(og, PI_180))                                                          \
    X(gamma, og_digamma(MUL(og, y), x, at))                                                \
    X(gammaln, og_digamma(og, x, at))                                                      \
    X(erfinv, MUL(og, SCALE(am_exp_at(SQ(y), at), SQRT_PI_2)))

#define MATH_GRAD(id, EXPR)                                                                \
    static am_status id##_grad(GRAD_PARAMS)                                                \
    {                                                                                      \
        const am_site at = g->at;                                                          \
        am_array *x = in[0], *y = out[0], *og = og_[0];                                    \
        AM_UNUSED(x), AM_UNUSED(y);                                                        \
        ig[0] = (EXPR);                                                                    \
        return ig[0] ? AM_OK : am_last_status();                                           \
    }
MATH_GRADS(MATH_GRAD)

/* ---- definitions -------------------------------------------------------------------- */

#define UNARY_DEF(id, dtype_fn, grad, fl, doc_)                                            \
    const am_op_def am_op_##id = {                                                         \
        .name = #id, .input_names = data_input, .num_outputs = 1,                          \
        .infer_shape = am_infer_shape_same, .infer_dtype = dtype_fn, .cpu = id##_cpu,      \
        .gradient = grad, .inplace = inplace_00, .fuse = AM_FUSE_ELEMWISE, .flags = fl,    \
        .doc = doc_};                                                                      \
    am_array *am_##id##_at(am_array *x, am_site at)                                        \
    {                                                                                      \
        return am_op_call1(&am_op_##id, NULL, &x, 1, at);                                  \
    }
#define FLOAT_DEF(id, FE, DE, doc) UNARY_DEF(id, float_dtype, id##_grad, 0, doc)
#define ANY_DEF(id, FE, DE, IE, doc) UNARY_DEF(id, am_infer_dtype_same, NULL, AM_OP_NO_GRAD, doc)
MATH_FLOAT_UNARY(FLOAT_DEF)
MATH_ANY_UNARY(ANY_DEF)

static am_status pass_through_grad(GRAD_PARAMS)
{
    AM_UNUSED(g), AM_UNUSED(in), AM_UNUSED(out);
    ig[0] = og_[0];
    return AM_OK;
}

#define STE_DEF(id, mx, FE, DE, IE, doc_)                                                  \
    const am_op_def am_op_##id = {                                                         \
        .name = mx, .input_names = data_input, .num_outputs = 1,                           \
        .infer_shape = am_infer_shape_same, .infer_dtype = am_infer_dtype_same,            \
        .cpu = id##_cpu, .gradient = pass_through_grad, .inplace = inplace_00,             \
        .fuse = AM_FUSE_ELEMWISE, .flags = AM_OP_SURROGATE_GRAD, .doc = doc_};             \
    am_array *am_##id##_at(am_array *x, am_site at)                                        \
    {                                                                                      \
        return am_op_call1(&am_op_##id, NULL, &x, 1, at);                                  \
    }
MATH_STE(STE_DEF)

/* ---- _backward_gammaln: og * digamma(x) ------------------------------------------------ */

#define OG_PSI(T)                                                                          \
    do {                                                                                   \
        const T *o = in[0].data, *x = in[1].data;                                          \
        T *y = out[0].data;                                                                \
        AM_OMP_FOR_N                                                                       \
        for (int64_t i = 0; i < n; i++) {                                                  \
            const T r = (T)((double)o[i] * digamma((double)x[i]));                         \
            y[i] = req[0] == AM_REQ_ADD ? y[i] + r : r;                                    \
        }                                                                                  \
    } while (0)

static am_status backward_gammaln_cpu(KERNEL_PARAMS)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const int64_t n = am_view_size(&out[0]);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    switch (out[0].dtype) {
    case AM_DTYPE_FLOAT32: OG_PSI(float); break;
    case AM_DTYPE_FLOAT64: OG_PSI(double); break;
    default: return float_only(out[0].dtype);
    }
    return AM_OK;
}

/* Inputs 0 and 1 (named n0, n1 in the message) have one shape, the output's. */
static am_status shape_pair(am_shape *in, am_shape *out, const char *n0, const char *n1)
{
    char a[96], b[96];
    if (in[0].ndim < 0) in[0] = in[1];
    if (in[1].ndim < 0) in[1] = in[0];
    if (in[0].ndim != in[1].ndim ||
        memcmp(in[0].dim, in[1].dim, sizeof(int64_t) * (size_t)in[0].ndim) != 0)
        return am_fail(AM_ERR_SHAPE, "%s %s and %s %s must have the same shape", n0,
                       am_shape_format(&in[0], a, sizeof(a)), n1,
                       am_shape_format(&in[1], b, sizeof(b)));
    out[0] = in[0];
    return AM_OK;
}

static am_status same_shape2(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return shape_pair(in, out, "ograd", "data");
}

const am_op_def am_op_backward_gammaln = {
    .name = "_backward_gammaln", .input_names = (const char *const[]){"ograd", "data", NULL},
    .num_outputs = 1, .infer_shape = same_shape2, .infer_dtype = float_dtype,
    .cpu = backward_gammaln_cpu, .inplace = (const am_inplace_pair[]){{0, 0}, {-1, -1}},
    .fuse = AM_FUSE_ELEMWISE, .flags = AM_OP_NO_GRAD,
    .doc = "ograd * digamma(data): the gradient of gammaln (and, with ograd * gamma(data), of "
           "gamma)."};

/* ---- hard_sigmoid ------------------------------------------------------------------------ */

typedef struct hard_sigmoid_attrs {
    double alpha, beta;
} hard_sigmoid_attrs;

static const am_attr_field hard_sigmoid_fields[] = {
    AM_ATTR_FIELD(hard_sigmoid_attrs, alpha, AM_ATTR_FLOAT, "0.2", "slope"),
    AM_ATTR_FIELD(hard_sigmoid_attrs, beta, AM_ATTR_FLOAT, "0.5", "offset"),
    {0}};

/* z clipped to [0, 1]; NaN stays NaN, as in MXNet (fmin/fmax would drop it). */
static inline float clamp01f(float z) { return z < 0 ? 0.0f : z > 1 ? 1.0f : z; }
static inline double clamp01(double z) { return z < 0 ? 0.0 : z > 1 ? 1.0 : z; }

static am_status hard_sigmoid_cpu(KERNEL_PARAMS)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const hard_sigmoid_attrs *a = attrs;
    const float af = (float)a->alpha, bf = (float)a->beta;
    const double ad = a->alpha, bd = a->beta;
    const int64_t n = am_view_size(&out[0]);
    switch (in[0].dtype) {
        MAP_FLOAT_CASES(req[0], in[0].data, out[0].data, n, clamp01f(af * v + bf),
                    clamp01(ad * v + bd))
    default: return float_only(in[0].dtype);
    }
    return AM_OK;
}

/* alpha where 0 < alpha x + beta < 1, else 0 (MXNet's _backward_hard_sigmoid). */
static am_status hard_sigmoid_grad(GRAD_PARAMS)
{
    const hard_sigmoid_attrs *a = g->attrs;
    const am_site at = g->at;
    am_array *z = SHIFT(SCALE(in[0], a->alpha), a->beta);
    am_array *inside = MUL(am_greater_scalar_at(z, 0, at), am_lesser_scalar_at(z, 1, at));
    AM_UNUSED(out);
    ig[0] = MUL(og_[0], SCALE(inside, a->alpha));
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_hard_sigmoid = {
    .name = "hard_sigmoid", .input_names = data_input, .num_outputs = 1,
    .attrs = hard_sigmoid_fields, .attrs_size = sizeof(hard_sigmoid_attrs),
    .infer_shape = am_infer_shape_same, .infer_dtype = float_dtype, .cpu = hard_sigmoid_cpu,
    .gradient = hard_sigmoid_grad, .inplace = inplace_00, .fuse = AM_FUSE_ELEMWISE,
    .doc = "max(0, min(1, alpha * x + beta))."};

am_array *am_hard_sigmoid_at(am_array *x, double alpha, double beta, am_site at)
{
    hard_sigmoid_attrs a = {.alpha = alpha, .beta = beta};
    return am_op_call1(&am_op_hard_sigmoid, &a, &x, 1, at);
}

/* ---- smooth_l1 ------------------------------------------------------------------------- */

typedef struct smooth_l1_attrs {
    double scalar;
} smooth_l1_attrs;

static const am_attr_field smooth_l1_fields[] = {
    AM_ATTR_FIELD(smooth_l1_attrs, scalar, AM_ATTR_FLOAT, NULL, "sigma"),
    {0}};

/* With s = sigma^2: 0.5 s x^2 where |x| < 1/s, else |x| - 0.5/s. */
static am_status smooth_l1_cpu(KERNEL_PARAMS)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const double sd = ((const smooth_l1_attrs *)attrs)->scalar;
    const double s2d = sd * sd;
    const float s2f = (float)s2d;
    const int64_t n = am_view_size(&out[0]);
    switch (in[0].dtype) {
        MAP_FLOAT_CASES(req[0], in[0].data, out[0].data, n,
                    fabsf(v) < 1.0f / s2f ? 0.5f * s2f * v * v : fabsf(v) - 0.5f / s2f,
                    fabs(v) < 1.0 / s2d ? 0.5 * s2d * v * v : fabs(v) - 0.5 / s2d)
    default: return float_only(in[0].dtype);
    }
    return AM_OK;
}

/* sigma^2 x where |x| < 1/sigma^2, else sign(x). */
static am_status smooth_l1_grad(GRAD_PARAMS)
{
    const double s = ((const smooth_l1_attrs *)g->attrs)->scalar, s2 = s * s;
    const am_site at = g->at;
    am_array *x = in[0], *near = am_lesser_scalar_at(am_abs_at(x, at), 1 / s2, at);
    AM_UNUSED(out);
    am_array *d = am_where_at(near, SCALE(x, s2), am_sign_at(x, at), at);
    ig[0] = MUL(og_[0], d);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_smooth_l1 = {
    .name = "smooth_l1", .input_names = data_input, .num_outputs = 1,
    .attrs = smooth_l1_fields, .attrs_size = sizeof(smooth_l1_attrs),
    .infer_shape = am_infer_shape_same, .infer_dtype = float_dtype, .cpu = smooth_l1_cpu,
    .gradient = smooth_l1_grad, .inplace = inplace_00, .fuse = AM_FUSE_ELEMWISE,
    .doc = "The smooth L1 loss of x with sigma = scalar: 0.5 (sigma x)^2 where |x| < "
           "1/sigma^2, else |x| - 0.5/sigma^2."};

am_array *am_smooth_l1_at(am_array *x, double sigma, am_site at)
{
    smooth_l1_attrs a = {.scalar = sigma};
    return am_op_call1(&am_op_smooth_l1, &a, &x, 1, at);
}

/* ---- _contrib_gradientmultiplier: x forward, scalar * og backward ----------------------- */

typedef struct gradmul_attrs {
    double scalar;
    bool is_int;
} gradmul_attrs;

static const am_attr_field gradmul_fields[] = {
    AM_ATTR_FIELD(gradmul_attrs, scalar, AM_ATTR_FLOAT, "1.0", "the gradient's factor"),
    AM_ATTR_FIELD(gradmul_attrs, is_int, AM_ATTR_BOOL, "True",
                  "MXNet's scalar-op flag; the output keeps x's dtype either way"),
    {0}};

static am_status gradmul_cpu(KERNEL_PARAMS)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const int64_t n = am_view_size(&out[0]);
    switch (in[0].dtype) {
        MAP_FLOAT_CASES(req[0], in[0].data, out[0].data, n, v, v)
        INT_CASES(req[0], in[0].data, out[0].data, n, v)
    default: return am_fail(AM_ERR_DTYPE, "dtype %s is not supported", am_dtype_name(in[0].dtype));
    }
    return AM_OK;
}

static am_status gradmul_grad(GRAD_PARAMS)
{
    AM_UNUSED(in), AM_UNUSED(out);
    ig[0] = am_mul_scalar_at(og_[0], ((const gradmul_attrs *)g->attrs)->scalar, g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_gradientmultiplier = {
    .name = "_contrib_gradientmultiplier", .input_names = data_input, .num_outputs = 1,
    .attrs = gradmul_fields, .attrs_size = sizeof(gradmul_attrs),
    .infer_shape = am_infer_shape_same, .infer_dtype = am_infer_dtype_same, .cpu = gradmul_cpu,
    .gradient = gradmul_grad, .inplace = inplace_00, .fuse = AM_FUSE_ELEMWISE,
    .flags = AM_OP_SURROGATE_GRAD,
    .doc = "x unchanged; its gradient is scalar times the output gradient (scalar = -1 "
           "reverses it, as in domain-adversarial training)."};

am_array *am_gradientmultiplier_at(am_array *x, double scalar, am_site at)
{
    gradmul_attrs a = {.scalar = scalar, .is_int = true};
    return am_op_call1(&am_op_gradientmultiplier, &a, &x, 1, at);
}

/* ---- _contrib_quadratic: a x^2 + b x + c -------------------------------------------------- */

typedef struct quadratic_attrs {
    double a, b, c;
} quadratic_attrs;

static const am_attr_field quadratic_fields[] = {
    AM_ATTR_FIELD(quadratic_attrs, a, AM_ATTR_FLOAT, "0.0", "coefficient of x^2"),
    AM_ATTR_FIELD(quadratic_attrs, b, AM_ATTR_FLOAT, "0.0", "coefficient of x"),
    AM_ATTR_FIELD(quadratic_attrs, c, AM_ATTR_FLOAT, "0.0", "constant term"),
    {0}};

static am_status quadratic_cpu(KERNEL_PARAMS)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const quadratic_attrs *q = attrs;
    const float af = (float)q->a, bf = (float)q->b, cf = (float)q->c;
    const double ad = q->a, bd = q->b, cd = q->c;
    const int64_t n = am_view_size(&out[0]);
    switch (in[0].dtype) {
        MAP_FLOAT_CASES(req[0], in[0].data, out[0].data, n, (af * v + bf) * v + cf,
                    (ad * v + bd) * v + cd)
    default: return float_only(in[0].dtype);
    }
    return AM_OK;
}

static am_status quadratic_grad(GRAD_PARAMS)
{
    const quadratic_attrs *q = g->attrs;
    const am_site at = g->at;
    AM_UNUSED(out);
    ig[0] = MUL(og_[0], SHIFT(SCALE(in[0], 2 * q->a), q->b));
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_quadratic = {
    .name = "_contrib_quadratic", .input_names = data_input, .num_outputs = 1,
    .attrs = quadratic_fields, .attrs_size = sizeof(quadratic_attrs),
    .infer_shape = am_infer_shape_same, .infer_dtype = float_dtype, .cpu = quadratic_cpu,
    .gradient = quadratic_grad, .inplace = inplace_00, .fuse = AM_FUSE_ELEMWISE,
    .doc = "a x^2 + b x + c."};

am_array *am_quadratic_at(am_array *x, double a, double b, double c, am_site at)
{
    quadratic_attrs q = {.a = a, .b = b, .c = c};
    return am_op_call1(&am_op_quadratic, &q, &x, 1, at);
}

/* ---- _identity_with_attr_like_rhs: lhs, given rhs of the same shape and dtype ------------ */

static am_status like_rhs_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return shape_pair(in, out, "lhs", "rhs");
}

static am_status like_rhs_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (in[0] != in[1])
        return am_fail(AM_ERR_DTYPE, "lhs %s and rhs %s must have the same dtype",
                       am_dtype_name(in[0]), am_dtype_name(in[1]));
    out[0] = in[0];
    return AM_OK;
}

static am_status like_rhs_cpu(KERNEL_PARAMS)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return gradmul_cpu(ctx, NULL, in, 1, out, 1, req);
}

/* lhs gets the output gradient; rhs, which only lends its attributes, zeros. */
static am_status like_rhs_grad(GRAD_PARAMS)
{
    AM_UNUSED(out);
    if (g->need_grad[0]) ig[0] = og_[0];
    if (g->need_grad[1] && !(ig[1] = am_zeros_like_at(in[1], g->at))) return am_last_status();
    return AM_OK;
}

const am_op_def am_op_identity_with_attr_like_rhs = {
    .name = "_identity_with_attr_like_rhs",
    .input_names = (const char *const[]){"lhs", "rhs", NULL}, .num_outputs = 1,
    .infer_shape = like_rhs_shape, .infer_dtype = like_rhs_dtype, .cpu = like_rhs_cpu,
    .gradient = like_rhs_grad, .inplace = inplace_00, .fuse = AM_FUSE_ELEMWISE,
    .doc = "lhs unchanged; rhs, of the same shape and dtype, only lends its attributes "
           "(MXNet uses it for storage types)."};

am_array *am_identity_with_attr_like_rhs_at(am_array *lhs, am_array *rhs, am_site at)
{
    am_array *in[2] = {lhs, rhs}, *y = NULL;
    am_op_call(&am_op_identity_with_attr_like_rhs, NULL, in, 2, &y, 1, at);
    return y;
}
