/* Parameter initializers with MXNet's semantics (fan-in and fan-out over
 * (out, in, kernel...) shapes), drawing from the thread's generator. */
#include "hybrid_impl.h"

#include <math.h>

static const char *const init_names[] = {
    "default", "zeros", "ones", "constant", "uniform", "normal", "xavier", "msraprelu",
    "orthogonal",
};
_Static_assert(sizeof(init_names) / sizeof(init_names[0]) == AM_INIT_KIND_COUNT,
               "init_names must list every am_init_kind");

const char *am_init_kind_name(am_init_kind k)
{
    return (unsigned)k < AM_INIT_KIND_COUNT ? init_names[k] : "?";
}

/* Modified Gram-Schmidt over the rows of m (r x c, r <= c): orthonormal rows. */
static void orthonormal_rows(double *m, int64_t r, int64_t c)
{
    for (int64_t i = 0; i < r; i++) {
        double *a = m + i * c;
        for (int64_t j = 0; j < i; j++) {
            const double *q = m + j * c;
            double d = 0;
            for (int64_t k = 0; k < c; k++) d += a[k] * q[k];
            for (int64_t k = 0; k < c; k++) a[k] -= d * q[k];
        }
        double norm = 0;
        for (int64_t k = 0; k < c; k++) norm += a[k] * a[k];
        norm = sqrt(norm);
        for (int64_t k = 0; k < c; k++) a[k] = norm > 0 ? a[k] / norm : 0;
    }
}

/* A (rows x cols) matrix with orthonormal rows or columns, whichever fits. */
static am_status orthogonal(double *v, int64_t rows, int64_t cols, double gain, uint64_t *rng)
{
    bool tall = rows > cols;
    int64_t r = tall ? cols : rows, c = tall ? rows : cols;
    double *m = malloc((size_t)(r * c) * sizeof(double));
    if (!m) return am_fail(AM_ERR_OOM, "out of memory");
    for (int64_t i = 0; i < r * c; i++) m[i] = am_rng_normal(rng);
    orthonormal_rows(m, r, c);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) v[i * cols + j] = gain * (tall ? m[j * c + i] : m[i * c + j]);
    free(m);
    return AM_OK;
}

/* Fan-in and fan-out as MXNet's Xavier computes them. */
static am_status fans(const am_shape *s, double *in, double *out)
{
    if (s->ndim < 2)
        return am_fail(AM_ERR_ARG, "Xavier and MSRA initialisation need at least 2 dimensions, "
                       "not %d", s->ndim);
    double hw = 1;
    for (int i = 2; i < s->ndim; i++) hw *= (double)s->dim[i];
    *in = (double)s->dim[1] * hw;
    *out = (double)s->dim[0] * hw;
    return AM_OK;
}

static am_status xavier_scale(const am_init *init, const am_shape *s, double *scale)
{
    double in = 0, out = 0;
    am_status st = fans(s, &in, &out);
    if (st != AM_OK) return st;
    double factor = init->factor == AM_INIT_FACTOR_IN ? in
                  : init->factor == AM_INIT_FACTOR_OUT ? out : (in + out) / 2;
    double magnitude = init->kind == AM_INIT_MSRA ? 2 / (1 + init->slope * init->slope)
                     : init->magnitude > 0 ? init->magnitude : 3;
    *scale = sqrt(magnitude / (factor > 0 ? factor : 1));
    return AM_OK;
}

static am_status fill_values(const am_init *init, const am_shape *s, double *v, int64_t n)
{
    uint64_t *rng = am_rng_state();
    double scale = 0;
    am_status st = AM_OK;
    switch (init->kind) {
    case AM_INIT_ZERO: for (int64_t i = 0; i < n; i++) v[i] = 0; break;
    case AM_INIT_ONE: for (int64_t i = 0; i < n; i++) v[i] = 1; break;
    case AM_INIT_CONSTANT: for (int64_t i = 0; i < n; i++) v[i] = init->value; break;
    case AM_INIT_UNIFORM:
        for (int64_t i = 0; i < n; i++) v[i] = init->scale * (2 * am_rng_uniform01(rng) - 1);
        break;
    case AM_INIT_NORMAL:
        for (int64_t i = 0; i < n; i++) v[i] = init->scale * am_rng_normal(rng);
        break;
    case AM_INIT_XAVIER:
    case AM_INIT_MSRA:
        if ((st = xavier_scale(init, s, &scale)) != AM_OK) break;
        for (int64_t i = 0; i < n; i++)
            v[i] = init->gaussian || init->kind == AM_INIT_MSRA ? scale * am_rng_normal(rng)
                                                                : scale * (2 * am_rng_uniform01(rng) - 1);
        break;
    case AM_INIT_ORTHOGONAL:
        if (s->ndim < 2) {
            st = am_fail(AM_ERR_ARG, "orthogonal initialisation needs at least 2 dimensions");
            break;
        }
        st = orthogonal(v, s->dim[0], n / (s->dim[0] ? s->dim[0] : 1),
                        init->scale > 0 ? init->scale : 1, rng);
        break;
    default: st = am_fail(AM_ERR_ARG, "unknown initializer kind %d", (int)init->kind);
    }
    return st;
}

am_status am_init_fill(const am_init *init, am_array *x)
{
    if (!init || !x) return am_fail(AM_ERR_ARG, "am_init_fill: %s is NULL", !init ? "init" : "array");
    if (am_array_is_symbolic(x)) return am_fail(AM_ERR_SYMBOLIC, "am_init_fill: array is symbolic");
    am_dtype dt = am_array_dtype(x);
    if (dt != AM_DTYPE_FLOAT32 && dt != AM_DTYPE_FLOAT64)
        return am_fail(AM_ERR_DTYPE, "am_init_fill: %s parameters are not supported",
                       am_dtype_name(dt));
    am_init def = am_init_uniform(0.07);
    if (init->kind == AM_INIT_DEFAULT) init = &def;
    int64_t n = am_array_size(x);
    double *v = malloc((size_t)(n ? n : 1) * sizeof(double));
    if (!v) return am_fail(AM_ERR_OOM, "am_init_fill: out of memory");
    am_shape s = am_array_shape(x);
    am_status st = fill_values(init, &s, v, n);
    if (st == AM_OK) {
        am_scope_begin();
        am_array *cast = am_astype(am_from_buffer(v, s, AM_DTYPE_FLOAT64), dt);
        if (!cast) st = am_last_status();
        else memcpy(am_array_data(x), am_array_data(cast), (size_t)n * am_dtype_size(dt));
        am_scope_end();
    }
    free(v);
    return st;
}
