/* The fastmath suite: the float32 functions of ndarray/ops/fastmath.h against double libm over
 * a sweep of float bit patterns and dense grids, their special values, and the elementwise
 * kernels that use them.  AM_FASTMATH_STEP=1 sweeps all 2^32 floats (minutes);
 * AM_FASTMATH_REPORT=1 prints the measured errors. */
#include "../ndarray/ops/fastmath.h"
#include "test_util.h"

#define F32 AM_DTYPE_FLOAT32
#define FLT_MIN_NORMAL 1.17549435e-38

typedef float (*fast_fn)(float);
typedef double (*ref_fn)(double);

static double ref_sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double ref_softrelu(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static float fast_logf(float x) { return am_fast_logf(x); }

/* One function with its bounds: ulp over normal results, absolute error over all; subnormal
 * results must be within 2^-148 (two steps of the least subnormal). */
typedef struct fm_case {
    const char *name;
    fast_fn f;
    ref_fn ref;
    double max_ulp, max_abs;  /* max_abs < 0: not checked (unbounded results) */
    double lo, hi;            /* the dense grid */
} fm_case;

/* Bounds a little above the maxima over all 2^32 floats (docs/benchmarks.md). */
static const fm_case cases[] = {
    {"exp", am_fast_expf, exp, 1.25, -1, -105, 90},
    {"expm1", am_fast_expm1f, expm1, 2, -1, -25, 90},
    {"sigmoid", am_fast_sigmoidf, ref_sigmoid, 2.5, 1e-7, -110, 30},
    {"tanh", am_fast_tanhf, tanh, 1.5, 1e-7, -12, 12},
    {"erf", am_fast_erff, erf, 1.5, 1e-7, -5, 5},
    {"log", fast_logf, log, 2, -1, 0, 8},
    {"softrelu", am_fast_softreluf, ref_softrelu, 3, -1, -110, 30},
};

typedef struct fm_err {
    double ulp, abs, ulp_x, abs_x;
    double sub;  /* error of subnormal results, in units of the least subnormal 2^-149 */
    int64_t n, mismatches;
} fm_err;

/* The spacing of floats in the binade of |v| (2^-149 for subnormals). */
static double float_ulp(double v)
{
    int e;
    v = fabs(v);
    if (v < FLT_MIN_NORMAL) return ldexp(1, -149);
    frexp(v, &e);
    return ldexp(1, e - 24);
}

/* Compares one input; NaN and infinite results must match exactly. */
static void check_one(const fm_case *c, float x, fm_err *e)
{
    const float y = c->f(x);
    const double w = c->ref((double)x), wf = (float)w;
    e->n++;
    if (isnan(w) || isnan(y) || isinf(wf) || isinf(y)) {
        if (!(isnan(w) && isnan(y)) && (double)y != wf && e->mismatches++ < 3)
            printf("\n  %s(%.9g) = %.9g, want %.9g", c->name, x, y, wf);
        return;
    }
    const double d = fabs((double)y - w), u = d / float_ulp(w);
    if (fabs(w) >= FLT_MIN_NORMAL && u > e->ulp) e->ulp = u, e->ulp_x = x;
    if (fabs(w) < FLT_MIN_NORMAL && u > e->sub) e->sub = u;
    if (d > e->abs) e->abs = d, e->abs_x = x;
}

static bool report(void)
{
    const char *r = getenv("AM_FASTMATH_REPORT");
    return r && *r && strcmp(r, "0") != 0;
}

/* Every step-th bit pattern (all signs, exponents, NaNs), then a grid of 2^18 points over
 * [lo, hi], then asserts the bounds. */
static void sweep(const fm_case *c)
{
    const char *s = getenv("AM_FASTMATH_STEP");
    const uint64_t step = s && atoll(s) > 0 ? (uint64_t)atoll(s) : 4093;
    fm_err e = {0};
    for (uint64_t b = 0; b < (1ull << 32); b += step) check_one(c, am_fast_from_bits((uint32_t)b), &e);
    for (int i = 0; i <= 1 << 18; i++)
        check_one(c, (float)(c->lo + (c->hi - c->lo) * i / (1 << 18)), &e);
    bool ok = e.mismatches == 0 && e.ulp <= c->max_ulp && e.sub <= 2 &&
              (c->max_abs < 0 || e.abs <= c->max_abs);
    if (!ok || report())
        printf("\n  %-8s %lld inputs: max %.2f ulp (x = %.9g), max abs %.3g (x = %.9g), "
               "subnormal results %.2f ulp%s", c->name, (long long)e.n, e.ulp, e.ulp_x, e.abs,
               e.abs_x, e.sub, ok ? "" : " FAILED");
    CU_ASSERT_EQUAL(e.mismatches, 0);
    CU_ASSERT(e.ulp <= c->max_ulp);
    CU_ASSERT(e.sub <= 2);
    if (c->max_abs >= 0) CU_ASSERT(e.abs <= c->max_abs);
}

static void test_sweep(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) sweep(&cases[i]);
    if (report()) printf("\n  ");
}

/* Same bits, so -0 is told from +0. */
#define ASSERT_SAME(got, want) CU_ASSERT_EQUAL(am_fast_bits(got), am_fast_bits(want))

static void test_special_values(void)
{
    const float inf = INFINITY, nan = NAN;
    ASSERT_SAME(am_fast_expf(0.0f), 1.0f);
    ASSERT_SAME(am_fast_expf(-0.0f), 1.0f);
    ASSERT_SAME(am_fast_expf(inf), inf);
    ASSERT_SAME(am_fast_expf(88.8f), inf);
    ASSERT_SAME(am_fast_expf(-inf), 0.0f);
    ASSERT_SAME(am_fast_expf(-104.0f), 0.0f);
    CU_ASSERT(am_fast_expf(-100.0f) > 0 && am_fast_expf(-100.0f) < FLT_MIN_NORMAL); /* subnormal */
    CU_ASSERT(isnan(am_fast_expf(nan)) && isnan(am_fast_expf(-nan)));
    ASSERT_SAME(am_fast_expm1f(-0.0f), -0.0f);
    ASSERT_SAME(am_fast_expm1f(1e-30f), 1e-30f);
    ASSERT_SAME(am_fast_expm1f(-inf), -1.0f);
    ASSERT_SAME(am_fast_expm1f(inf), inf);
    CU_ASSERT(isnan(am_fast_expm1f(nan)));
    ASSERT_SAME(am_fast_sigmoidf(0.0f), 0.5f);
    ASSERT_SAME(am_fast_sigmoidf(inf), 1.0f);
    ASSERT_SAME(am_fast_sigmoidf(20.0f), 1.0f);
    ASSERT_SAME(am_fast_sigmoidf(-inf), 0.0f);
    CU_ASSERT(isnan(am_fast_sigmoidf(nan)));
    ASSERT_SAME(am_fast_tanhf(0.0f), 0.0f);
    ASSERT_SAME(am_fast_tanhf(-0.0f), -0.0f);
    ASSERT_SAME(am_fast_tanhf(1e-4f), (float)tanh(1e-4f));
    ASSERT_SAME(am_fast_tanhf(-1e-30f), -1e-30f);
    ASSERT_SAME(am_fast_tanhf(9.01091385f), 1.0f); /* where tanh rounds to 1 */
    CU_ASSERT(am_fast_tanhf(nextafterf(9.01091385f, 0)) < 1.0f);
    ASSERT_SAME(am_fast_tanhf(-inf), -1.0f);
    CU_ASSERT(isnan(am_fast_tanhf(nan)));
    ASSERT_SAME(am_fast_erff(-0.0f), -0.0f);
    ASSERT_SAME(am_fast_erff(1e-30f), (float)(1e-30 * 1.1283791670955126));
    ASSERT_SAME(am_fast_erff(3.9192059f), 1.0f); /* where erf rounds to 1 */
    CU_ASSERT(am_fast_erff(nextafterf(3.9192059f, 0)) < 1.0f);
    ASSERT_SAME(am_fast_erff(4.5f), 1.0f);
    ASSERT_SAME(am_fast_erff(-inf), -1.0f);
    CU_ASSERT(isnan(am_fast_erff(nan)));
    ASSERT_SAME(am_fast_logf(1.0f), 0.0f);
    ASSERT_SAME(am_fast_logf(0.0f), -inf);
    ASSERT_SAME(am_fast_logf(-0.0f), -inf);
    ASSERT_SAME(am_fast_logf(inf), inf);
    ASSERT_SAME(am_fast_logf(1e-45f), (float)log(1e-45f)); /* the least subnormal */
    CU_ASSERT(isnan(am_fast_logf(-1.0f)) && isnan(am_fast_logf(-inf)) && isnan(am_fast_logf(nan)));
    ASSERT_SAME(am_fast_softreluf(0.0f), (float)log(2.0));
    ASSERT_SAME(am_fast_softreluf(100.0f), 100.0f);
    ASSERT_SAME(am_fast_softreluf(inf), inf);
    ASSERT_SAME(am_fast_softreluf(-inf), 0.0f);
    CU_ASSERT(isnan(am_fast_softreluf(nan)));
}

/* Inputs for the kernel checks: specials, then a ramp over [-12, 12). */
static am_array *kernel_input(int64_t n)
{
    static const float special[] = {0.0f, -0.0f, 1e-30f, -1e-4f, 0.6f, 0.9f, 20.0f, -90.0f,
                                    100.0f, INFINITY, -INFINITY, NAN};
    const int ns = (int)(sizeof(special) / sizeof(special[0]));
    am_array *x = am_empty(AM_SHAPE(n), F32);
    float *p = am_array_data_f32(x);
    for (int64_t i = 0; i < n; i++)
        p[i] = i < ns ? special[i] : (float)(-12.0 + 24.0 * (double)i / (double)n);
    return x;
}

/* y (float32) equals f applied to each element of x, bit for bit (NaN as NaN). */
static bool same_as(am_array *y, am_array *x, float (*f)(float), const char *what)
{
    if (!y || am_array_dtype(y) != F32) return false;
    const float *py = am_array_data_f32(y), *px = am_array_data_f32(x);
    for (int64_t i = 0; i < am_array_size(x); i++) {
        const float want = f(px[i]);
        if (am_fast_bits(py[i]) != am_fast_bits(want) && !(isnan(py[i]) && isnan(want))) {
            printf("\n  %s(%.9g) = %.9g, fastmath.h gives %.9g", what, px[i], py[i], want);
            return false;
        }
    }
    return true;
}

static float gelu(float v) { return 0.5f * v * (1.0f + am_fast_erff(v * 0.70710678f)); }
static float elu(float v) { return v > 0 ? v : 0.25f * am_fast_expm1f(v); }

/* The float32 kernels are fastmath.h's, serial and threaded (above AM_OMP_MIN). */
static void test_kernels_use_fastmath(void)
{
    const int64_t sizes[] = {37, 3 * AM_OMP_MIN + 5};
    for (int k = 0; k < 2; k++) {
        am_scope_begin();
        am_array *x = kernel_input(sizes[k]);
        CU_ASSERT(same_as(am_exp(x), x, am_fast_expf, "exp"));
        CU_ASSERT(same_as(am_expm1(x), x, am_fast_expm1f, "expm1"));
        CU_ASSERT(same_as(am_log(x), x, fast_logf, "log"));
        CU_ASSERT(same_as(am_sigmoid(x), x, am_fast_sigmoidf, "sigmoid"));
        CU_ASSERT(same_as(am_tanh(x), x, am_fast_tanhf, "tanh"));
        CU_ASSERT(same_as(am_erf(x), x, am_fast_erff, "erf"));
        CU_ASSERT(same_as(am_activation(x, "sigmoid"), x, am_fast_sigmoidf, "Activation"));
        CU_ASSERT(same_as(am_activation(x, "tanh"), x, am_fast_tanhf, "Activation"));
        CU_ASSERT(same_as(am_activation(x, "softrelu"), x, am_fast_softreluf, "softrelu"));
        CU_ASSERT(same_as(am_leaky_relu(x, NULL, "gelu", 0.25), x, gelu, "gelu"));
        CU_ASSERT(same_as(am_leaky_relu(x, NULL, "elu", 0.25), x, elu, "elu"));
        am_scope_end();
    }
}

/* softmax and log_softmax of float32 rows against a double reference: short rows (plain
 * loops) and long ones (vector loops), with -inf entries. */
static void check_softmax_rows(int64_t rows, int64_t m)
{
    am_scope_begin();
    am_array *x = am_random_uniform(-30, 30, AM_SHAPE(rows, m), F32);
    float *p = am_array_data_f32(x);
    p[5] = p[m + 7] = -INFINITY;
    am_array *y = am_softmax(x, -1), *ly = am_log_softmax(x, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ly);
    const float *py = am_array_data_f32(y), *pl = am_array_data_f32(ly);
    double worst = 0, worst_log = 0;
    for (int64_t r = 0; r < rows; r++) {
        double mx = -INFINITY, s = 0;
        for (int64_t j = 0; j < m; j++) mx = fmax(mx, p[r * m + j]);
        for (int64_t j = 0; j < m; j++) s += exp((float)(p[r * m + j] - mx));
        for (int64_t j = 0; j < m; j++) {
            const int64_t i = r * m + j;
            /* The kernel's x - max is a float: its rounding is part of the reference. */
            const double d = (float)(p[i] - mx), want = exp(d) / s, lwant = d - log(s);
            worst = fmax(worst, fabs(py[i] - want) / fmax(want, 1e-30));
            if (isinf(lwant)) {
                CU_ASSERT(isinf(pl[i]) && pl[i] < 0);
            } else {
                worst_log = fmax(worst_log, fabs(pl[i] - lwant) / fmax(fabs(lwant), 1));
            }
        }
    }
    if (worst > 1e-6 || worst_log > 1e-6 || report())
        printf("\n  rows of %lld: softmax max rel error %.3g, log_softmax %.3g", (long long)m,
               worst, worst_log);
    CU_ASSERT(worst <= 1e-6);
    CU_ASSERT(worst_log <= 1e-6);
    am_scope_end();
}

static void test_softmax_accuracy(void)
{
    check_softmax_rows(40, 10);
    check_softmax_rows(3, 1027);
}

CU_TestInfo am_tests_fastmath[] = {
    {"float32 functions against double libm", test_sweep},
    {"special values: signed zeros, infinities, NaN, saturation", test_special_values},
    {"elementwise kernels use them (serial and threaded)", test_kernels_use_fastmath},
    {"softmax and log_softmax accuracy", test_softmax_accuracy},
    CU_TEST_INFO_NULL,
};
