/* Neural-network ops: softmax, log_softmax, softmin, Dropout, LayerNorm.  Each collapses its
 * axis into (outer, m, inner) blocks and works on contiguous rows, or on tiles of
 * columns when the axis is not the last. */
#include "../ndarray_impl.h"
#include "fastmath.h"

#include <math.h>
#include <stdarg.h>

/* Amber never reads floating-point exception flags; without trapping math GCC may compute
 * both arms of the selects in fastmath.h and softmax's max, and so vectorize their loops.
 * Values are unchanged (elemwise.c does the same). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#define NN_TILE 256

/* Splits a view's shape around axis (already normalised) into (outer, m, inner). */
static void split_axis(const am_view *v, int axis, int64_t *outer, int64_t *m, int64_t *inner)
{
    *outer = *inner = 1;
    *m = v->ndim ? v->dim[axis] : 1;
    for (int i = 0; i < axis; i++) *outer *= v->dim[i];
    for (int i = axis + 1; i < v->ndim; i++) *inner *= v->dim[i];
}

static am_status norm_axis(int64_t axis, const am_shape *s, int *out)
{
    char buf[96];
    if (s->ndim == 0 && (axis == 0 || axis == -1)) return *out = 0, AM_OK;
    if (!am_axis_norm(axis, s->ndim, out))
        return am_fail(AM_ERR_ARG, "axis %lld is out of range for data %s", (long long)axis,
                       am_shape_format(s, buf, sizeof(buf)));
    return AM_OK;
}

static am_shape view_shape(const am_view *v)
{
    am_shape s = {.ndim = v->ndim};
    for (int i = 0; i < v->ndim; i++) s.dim[i] = v->dim[i];
    return s;
}

/* ---- softmax, log_softmax ------------------------------------------------------------ */

typedef struct softmax_attrs {
    int64_t axis;
    am_opt_float temperature;
    int dtype;
    bool use_length;
} softmax_attrs;

static const am_attr_field softmax_fields[] = {
    AM_ATTR_FIELD(softmax_attrs, axis, AM_ATTR_INT, "-1", "axis to normalise over"),
    AM_ATTR_FIELD(softmax_attrs, temperature, AM_ATTR_OPT_FLOAT, "None",
                  "divides the inputs; None: 1"),
    AM_ATTR_FIELD(softmax_attrs, dtype, AM_ATTR_DTYPE, "None",
                  "output dtype (float32 or float64); None: data's"),
    AM_ATTR_FIELD(softmax_attrs, use_length, AM_ATTR_BOOL, "False",
                  "take a second input, length: only the first length[i] entries count"),
    {0}};

static int softmax_num_inputs(const void *attrs)
{
    return ((const softmax_attrs *)attrs)->use_length ? 2 : 1;
}

static am_status softmax_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    AM_UNUSED(n_out);
    const softmax_attrs *a = attrs;
    char b1[96], b2[96], b3[96];
    int axis;
    if (a->temperature.has && !(a->temperature.v > 0))
        return am_fail(AM_ERR_ARG, "temperature must be positive, got %g", a->temperature.v);
    am_status st = norm_axis(a->axis, &in[0], &axis);
    if (st != AM_OK) return st;
    if (n_in > 1) {
        am_shape ls = {.ndim = 0};
        for (int i = 0; i < in[0].ndim; i++)
            if (i != axis) ls.dim[ls.ndim++] = in[0].dim[i];
        if (ls.ndim == 0) ls.ndim = 1, ls.dim[0] = 1;
        if (in[1].ndim < 0) in[1] = ls;
        bool same = in[1].ndim == ls.ndim;
        for (int i = 0; same && i < ls.ndim; i++) same = in[1].dim[i] == ls.dim[i];
        if (!same)
            return am_fail(AM_ERR_SHAPE, "length %s must be %s (data %s without axis %d)",
                           am_shape_format(&in[1], b1, sizeof(b1)),
                           am_shape_format(&ls, b2, sizeof(b2)),
                           am_shape_format(&in[0], b3, sizeof(b3)), axis);
    }
    out[0] = in[0];
    return AM_OK;
}

static am_status softmax_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                               int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    int t = ((const softmax_attrs *)attrs)->dtype;
    if (!am_dtype_is_float(in[0]))
        return am_fail(AM_ERR_DTYPE, "%s data not supported (float32 or float64 only)",
                       am_dtype_name(in[0]));
    if (t >= 0 && !am_dtype_is_float((am_dtype)t))
        return am_fail(AM_ERR_DTYPE, "dtype %s not supported (float32 or float64)",
                       am_dtype_name((am_dtype)t));
    out[0] = t < 0 ? in[0] : (am_dtype)t;
    return AM_OK;
}

typedef struct sm_args {
    int64_t outer, m, inner;
    double inv_t;
    bool log, add;
    const am_view *len; /* NULL: every row has length m */
} sm_args;

/* Length of row (outer index o, column c), checked by softmax_lengths. */
static inline int64_t row_length(const sm_args *a, int64_t o, int64_t c)
{
    return a->len ? (int64_t)am_view_get(a->len, o * a->inner + c) : a->m;
}

static am_status softmax_lengths(const sm_args *a)
{
    if (!a->len) return AM_OK;
    for (int64_t i = 0; i < am_view_size(a->len); i++) {
        double v = am_view_get(a->len, i);
        if (!(v >= 0 && v <= (double)a->m) || v != floor(v))
            return am_fail(AM_ERR_ARG, "length[%lld] = %g is not an integer in [0, %lld]",
                           (long long)i, v, (long long)a->m);
    }
    return AM_OK;
}

#define SM_MAX(a, x) (((x) > (a) || (x) != (x)) ? (x) : (a))
#define SM_STR(...) #__VA_ARGS__
#define SM_PRAGMA(...) _Pragma(SM_STR(__VA_ARGS__))

/* for (j = j0; j < n; j++) BODY: an `omp simd` loop with the clauses given when vec is 1, a
 * plain loop when it is 0. */
#define SM_FOR(vec, clauses, j0, n, ...)                                                      \
    do {                                                                                      \
        if (vec) {                                                                            \
            SM_PRAGMA(omp simd clauses)                                                       \
            for (int64_t j = (j0); j < (n); j++) __VA_ARGS__;                                 \
        } else {                                                                              \
            for (int64_t j = (j0); j < (n); j++) __VA_ARGS__;                                 \
        }                                                                                     \
    } while (0)

/*
 * Rows shorter than this run in plain loops with libm's exp: the simd loops' scalar remainders
 * are slow (AVX-512: a (64, 10) softmax took 9.0 µs in them, 3.5 µs in plain loops), and a
 * scalar fastmath.h exp is no faster than libm's.  From 32 on the simd loops win: a (64, 32)
 * softmax takes 6.2 µs in them, 10.4 µs in plain loops.
 */
#define SM_SIMD_MIN 32

/* One contiguous row of m elements, the first len of which take part.  With vec, the loops
 * are `omp simd`, so that GCC vectorizes the max, the sums (reordering them) and the
 * exponentials (fastmath.h's for float data, inlined). */
#define DEF_SOFTMAX_ROW(NAME, TI, TO, EXP, vec)                                               \
    AM_FAST_INLINE void NAME(const TI *x, TO *y, int64_t len, const sm_args *a)               \
    {                                                                                         \
        const TI it = (TI)a->inv_t;                                                           \
        if (!a->add)                                                                          \
            for (int64_t j = len; j < a->m; j++) y[j] = (TO)0;                                \
        if (len == 0) return;                                                                 \
        TI mx = x[0];                                                                         \
        SM_FOR(vec, reduction(max : mx), 1, len, mx = SM_MAX(mx, x[j]));                      \
        double s = 0;                                                                         \
        if (!a->log && !a->add) {                                                             \
            SM_FOR(vec, reduction(+ : s), 0, len, {                                           \
                TI e = EXP((x[j] - mx) * it);                                                 \
                y[j] = (TO)e;                                                                 \
                s += e;                                                                       \
            });                                                                               \
            const TO r = (TO)(1.0 / s);                                                       \
            for (int64_t j = 0; j < len; j++) y[j] *= r;                                      \
            return;                                                                           \
        }                                                                                     \
        SM_FOR(vec, reduction(+ : s), 0, len, s += EXP((x[j] - mx) * it));                    \
        /* Separate loops: GCC 12 vectorizes no select on an invariant flag. */               \
        const double c = a->log ? log(s) : 1.0 / s;                                           \
        if (!a->log)                                                                          \
            SM_FOR(vec, , 0, len, y[j] += (TO)(EXP((x[j] - mx) * it) * c));                   \
        else if (a->add)                                                                      \
            SM_FOR(vec, , 0, len, y[j] += (TO)((x[j] - mx) * it - c));                        \
        else                                                                                  \
            SM_FOR(vec, , 0, len, y[j] = (TO)((x[j] - mx) * it - c));                         \
    }

/* w columns of an (m, inner) block whose axis is not the last; x and y point at the
 * first column of row 0. */
#define DEF_SOFTMAX_TILE(K, TI, TO, EXP)                                                      \
    AM_FAST_INLINE void K##_tile(const TI *x, TO *y, int64_t w, const int64_t *len,           \
                                 const sm_args *a)                                            \
    {                                                                                         \
        const TI it = (TI)a->inv_t;                                                           \
        int64_t in = a->inner;                                                                \
        TI mx[NN_TILE];                                                                       \
        double s[NN_TILE];                                                                    \
        for (int64_t j = 0; j < w; j++) mx[j] = x[j], s[j] = 0;                               \
        for (int64_t r = 1; r < a->m; r++)                                                    \
            for (int64_t j = 0; j < w; j++)                                                   \
                if (r < len[j]) mx[j] = SM_MAX(mx[j], x[r * in + j]);                         \
        for (int64_t r = 0; r < a->m; r++)                                                    \
            for (int64_t j = 0; j < w; j++)                                                   \
                if (r < len[j]) s[j] += EXP((x[r * in + j] - mx[j]) * it);                    \
        for (int64_t j = 0; j < w; j++) s[j] = a->log ? log(s[j]) : 1.0 / s[j];               \
        for (int64_t r = 0; r < a->m; r++)                                                    \
            for (int64_t j = 0; j < w; j++) {                                                 \
                TI d = (x[r * in + j] - mx[j]) * it;                                          \
                TO v = r >= len[j] ? (TO)0 : a->log ? (TO)(d - s[j]) : (TO)(EXP(d) * s[j]);   \
                y[r * in + j] = a->add ? y[r * in + j] + v : v;                               \
            }                                                                                 \
    }

/* K: softmax over float or double rows, with exp function EXP for long rows and SEXP for
 * short ones. */
#define DEF_SOFTMAX(K, TI, TO, EXP, SEXP)                                                     \
    DEF_SOFTMAX_ROW(K##_row, TI, TO, EXP, 1)                                                  \
    DEF_SOFTMAX_ROW(K##_row_short, TI, TO, SEXP, 0)                                           \
    DEF_SOFTMAX_TILE(K, TI, TO, EXP)                                                          \
    AM_FAST_CLONES                                                                            \
    static void K(const TI *x, TO *y, const sm_args *a)                                       \
    {                                                                                         \
        int64_t ntile = (a->inner + NN_TILE - 1) / NN_TILE, n = a->outer * a->m * a->inner;   \
        if (a->inner == 1) {                                                                  \
            _Pragma("omp parallel for if (n > AM_OMP_MIN) schedule(static)")                  \
            for (int64_t o = 0; o < a->outer; o++) {                                          \
                const int64_t len = row_length(a, o, 0);                                      \
                if (len < SM_SIMD_MIN) K##_row_short(x + o * a->m, y + o * a->m, len, a);     \
                else K##_row(x + o * a->m, y + o * a->m, len, a);                             \
            }                                                                                 \
            return;                                                                           \
        }                                                                                     \
        _Pragma("omp parallel for if (n > AM_OMP_MIN) schedule(static)")                      \
        for (int64_t t = 0; t < a->outer * ntile; t++) {                                      \
            int64_t o = t / ntile, j0 = t % ntile * NN_TILE, len[NN_TILE];                    \
            int64_t w = a->inner - j0 < NN_TILE ? a->inner - j0 : NN_TILE;                    \
            int64_t off = o * a->m * a->inner + j0;                                           \
            for (int64_t j = 0; j < w; j++) len[j] = row_length(a, o, j0 + j);                \
            K##_tile(x + off, y + off, w, len, a);                                            \
        }                                                                                     \
    }
DEF_SOFTMAX(softmax_ff, float, float, am_fast_expf, expf)
DEF_SOFTMAX(softmax_fd, float, double, am_fast_expf, expf)
DEF_SOFTMAX(softmax_df, double, float, exp, exp)
DEF_SOFTMAX(softmax_dd, double, double, exp, exp)

static am_status softmax_kernel(const void *attrs, const am_view *in, int n_in,
                                const am_view *out, am_req req, bool log_out)
{
    const softmax_attrs *a = attrs;
    am_shape s = view_shape(&in[0]);
    int axis;
    am_status st = norm_axis(a->axis, &s, &axis);
    if (st != AM_OK || req == AM_REQ_NULL) return st;
    sm_args g = {.inv_t = a->temperature.has ? 1.0 / a->temperature.v : 1.0, .log = log_out,
                 .add = req == AM_REQ_ADD, .len = n_in > 1 ? &in[1] : NULL};
    split_axis(&in[0], axis, &g.outer, &g.m, &g.inner);
    if ((st = softmax_lengths(&g)) != AM_OK) return st;
    if (g.outer * g.m * g.inner == 0) return AM_OK;
    bool f_in = in[0].dtype == AM_DTYPE_FLOAT32, f_out = out[0].dtype == AM_DTYPE_FLOAT32;
    if (f_in && f_out) softmax_ff(in[0].data, out[0].data, &g);
    else if (f_in) softmax_fd(in[0].data, out[0].data, &g);
    else if (f_out) softmax_df(in[0].data, out[0].data, &g);
    else softmax_dd(in[0].data, out[0].data, &g);
    return AM_OK;
}

static am_status softmax_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_out);
    return softmax_kernel(attrs, in, n_in, out, req[0], false);
}

static am_status log_softmax_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                 int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_out);
    return softmax_kernel(attrs, in, n_in, out, req[0], true);
}

static const am_inplace_pair same_slot[] = {{0, 0}, {-1, -1}};

/* ---- softmax gradients ---------------------------------------------------------------------
 * With y = softmax(x / T):     dx = y * (dy - sum(dy * y)) / T
 * with y = log_softmax(x / T): dx = (dy - exp(y) * sum(dy)) / T
 * (sums along axis).  Written with public ops, so they differentiate again.  Entries past a
 * row's length are constants (0): they pass no gradient, and their dy takes no part. */

extern const am_op_def am_op_softmax;

static am_array *finish_softmax_grad(const softmax_attrs *a, am_array *d, am_array *x,
                                     am_site at)
{
    if (a->temperature.has && a->temperature.v != 1) d = am_div_scalar_at(d, a->temperature.v, at);
    if (d && am_array_dtype(d) != am_array_dtype(x)) d = am_astype_at(d, am_array_dtype(x), at);
    return d;
}

static am_status softmax_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                              am_array *const *og, am_array **ig)
{
    const softmax_attrs *a = g->attrs;
    am_shape s = am_array_shape(in[0]);
    int axis;
    am_status st = norm_axis(a->axis, &s, &axis);
    if (st != AM_OK || !g->need_grad[0]) return st;
    if (s.ndim == 0) { /* one element: softmax is the constant 1 */
        ig[0] = am_zeros_like_at(in[0], g->at);
        return ig[0] ? AM_OK : am_last_status();
    }
    am_array *y = out[0], *dy = og[0];
    am_array *dot = am_sum_at(am_elemwise_mul_at(dy, y, g->at), &axis, 1, true, g->at);
    am_array *d = am_elemwise_mul_at(y, am_broadcast_sub_at(dy, dot, g->at), g->at);
    ig[0] = finish_softmax_grad(a, d, in[0], g->at);
    return ig[0] ? AM_OK : am_last_status();
}

/* 1 where an entry is within its row's length, else 0: softmax of zeros is 1 / length
 * there (never underflows) and 0 past the length. */
static am_array *length_mask(const softmax_attrs *a, am_array *x, am_array *length, am_site at)
{
    softmax_attrs m = {.axis = a->axis, .dtype = a->dtype, .use_length = true};
    am_array *in[2] = {am_zeros_like_at(x, at), length}, *p = NULL;
    if (am_op_call(&am_op_softmax, &m, in, 2, &p, 1, at) != AM_OK) return NULL;
    return am_greater_scalar_at(p, 0, at);
}

static am_status log_softmax_grad(const am_grad_ctx *g, am_array *const *in,
                                  am_array *const *out, am_array *const *og, am_array **ig)
{
    const softmax_attrs *a = g->attrs;
    am_shape s = am_array_shape(in[0]);
    int axis;
    am_status st = norm_axis(a->axis, &s, &axis);
    if (st != AM_OK || !g->need_grad[0]) return st;
    if (s.ndim == 0) { /* one element: log_softmax is the constant 0 */
        ig[0] = am_zeros_like_at(in[0], g->at);
        return ig[0] ? AM_OK : am_last_status();
    }
    am_array *p = am_exp_at(out[0], g->at), *dy = og[0];
    if (a->use_length) {
        am_array *m = length_mask(a, in[0], in[1], g->at);
        dy = am_elemwise_mul_at(dy, m, g->at);
        p = am_elemwise_mul_at(p, m, g->at);
    }
    am_array *total = am_sum_at(dy, &axis, 1, true, g->at);
    am_array *d = am_elemwise_sub_at(dy, am_broadcast_mul_at(p, total, g->at), g->at);
    ig[0] = finish_softmax_grad(a, d, in[0], g->at);
    return ig[0] ? AM_OK : am_last_status();
}

#define SOFTMAX_OP(id, mx_name, doc_)                                                         \
    const am_op_def am_op_##id = {                                                            \
        .name = mx_name, .input_names = (const char *const[]){"data", "length", NULL},        \
        .num_inputs = softmax_num_inputs, .num_outputs = 1, .attrs = softmax_fields,          \
        .attrs_size = sizeof(softmax_attrs), .infer_shape = softmax_shape,                    \
        .infer_dtype = softmax_dtype, .cpu = id##_cpu, .gradient = id##_grad,                 \
        .inplace = same_slot, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_VARIADIC, .doc = doc_}
SOFTMAX_OP(softmax, "softmax", "exp(x / T) normalised along axis (max-subtracted).");
SOFTMAX_OP(log_softmax, "log_softmax", "Logarithm of softmax, computed stably.");

static am_array *softmax_call(const am_op_def *op, am_array *x, int axis, double temperature,
                              am_site at)
{
    softmax_attrs a = {.axis = axis, .temperature = {temperature > 0, temperature},
                       .dtype = -1};
    am_array *y = NULL;
    am_op_call(op, &a, &x, 1, &y, 1, at);
    return y;
}

am_array *am_softmax_at(am_array *x, int axis, double temperature, am_site at)
{
    return softmax_call(&am_op_softmax, x, axis, temperature, at);
}

am_array *am_log_softmax_at(am_array *x, int axis, double temperature, am_site at)
{
    return softmax_call(&am_op_log_softmax, x, axis, temperature, at);
}

/* ---- softmin: softmax(-x / T) -------------------------------------------------------------- */

/* -x in the workspace (room for a double per element), then softmax's kernel. */
static size_t softmin_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    return (size_t)am_shape_size(&in[0]) * sizeof(double);
}

static am_status softmin_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_out);
    am_view neg = in[0];
    const int64_t n = am_view_size(&in[0]);
    neg.data = ctx->workspace;
    if (in[0].dtype == AM_DTYPE_FLOAT32) {
        const float *x = in[0].data;
        float *y = ctx->workspace;
        for (int64_t i = 0; i < n; i++) y[i] = -x[i];
    } else {
        const double *x = in[0].data;
        double *y = ctx->workspace;
        for (int64_t i = 0; i < n; i++) y[i] = -x[i];
    }
    return softmax_kernel(attrs, &neg, n_in, out, req[0], false);
}

/* softmax's gradient at -x, negated. */
static am_status softmin_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                              am_array *const *og, am_array **ig)
{
    am_status st = softmax_grad(g, in, out, og, ig);
    if (st != AM_OK || !ig[0]) return st;
    ig[0] = am_negative_at(ig[0], g->at);
    return ig[0] ? AM_OK : am_last_status();
}

/* MXNet's softmin has softmax's attributes but only the data input, so
 * use_length=True cannot be given its lengths. */
static am_status softmin_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    if (((const softmax_attrs *)attrs)->use_length)
        return am_fail(AM_ERR_ARG, "use_length=True needs a length input, which softmin does "
                       "not take (nor does MXNet's); use softmax of -x");
    return softmax_shape(attrs, in, n_in, out, n_out);
}

const am_op_def am_op_softmin = {
    .name = "softmin", .input_names = (const char *const[]){"data", NULL}, .num_outputs = 1,
    .attrs = softmax_fields, .attrs_size = sizeof(softmax_attrs), .infer_shape = softmin_shape,
    .infer_dtype = softmax_dtype, .temp_bytes = softmin_temp, .cpu = softmin_cpu,
    .gradient = softmin_grad, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "softmax(-x / T) along axis: the smallest entries get the largest weights."};

am_array *am_softmin_at(am_array *x, int axis, double temperature, am_site at)
{
    return softmax_call(&am_op_softmin, x, axis, temperature, at);
}

/* ---- Dropout ------------------------------------------------------------------------------ */

typedef struct dropout_attrs {
    double p;
    int mode;
    am_tuple axes;
    bool cudnn_off;
} dropout_attrs;

static const char *const dropout_modes[] = {"training", "always", NULL};
enum { DROPOUT_TRAINING, DROPOUT_ALWAYS };

static const am_attr_field dropout_fields[] = {
    AM_ATTR_FIELD(dropout_attrs, p, AM_ATTR_FLOAT, "0.5", "fraction dropped, in [0, 1)"),
    AM_ATTR_ENUM_FIELD(dropout_attrs, mode, dropout_modes, "training",
                       "training: identity unless training; always: drop in inference too"),
    AM_ATTR_FIELD(dropout_attrs, axes, AM_ATTR_TUPLE, "()",
                  "axes along which one mask value is shared (variational dropout)"),
    AM_ATTR_FIELD(dropout_attrs, cudnn_off, AM_ATTR_BOOL, "False", "accepted; no effect"),
    {0}};

/* The mask's shape: data's with the axes set to 1. */
static am_status dropout_mask_shape(const dropout_attrs *a, const am_shape *d, am_shape *m)
{
    char buf[96];
    *m = *d;
    for (int k = 0; k < a->axes.ndim; k++) {
        int ax;
        if (!am_axis_norm(a->axes.v[k], d->ndim, &ax))
            return am_fail(AM_ERR_ARG, "axes entry %lld is out of range for data %s",
                           (long long)a->axes.v[k], am_shape_format(d, buf, sizeof(buf)));
        if (m->dim[ax] == 1 && d->dim[ax] != 1)
            return am_fail(AM_ERR_ARG, "axis %d is listed twice in axes", ax);
        m->dim[ax] = 1;
    }
    return AM_OK;
}

static am_status dropout_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const dropout_attrs *a = attrs;
    if (!(a->p >= 0 && a->p < 1)) return am_fail(AM_ERR_ARG, "p must be in [0, 1), got %g", a->p);
    out[0] = in[0];
    return dropout_mask_shape(a, &in[0], &out[1]);
}

static am_status float_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                             int n_out)
{
    AM_UNUSED(attrs);
    for (int i = 0; i < n_in; i++)
        if (in[i] != in[0])
            return am_fail(AM_ERR_DTYPE, "input %d is %s but input 0 is %s", i,
                           am_dtype_name(in[i]), am_dtype_name(in[0]));
    if (!am_dtype_is_float(in[0]))
        return am_fail(AM_ERR_DTYPE, "%s data not supported (float32 or float64 only)",
                       am_dtype_name(in[0]));
    for (int i = 0; i < n_out; i++) out[i] = in[0];
    return AM_OK;
}

/* Masks drawn into the workspace when axes share them (the output mask may be added to). */
static size_t dropout_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(n_in);
    const dropout_attrs *a = attrs;
    am_shape m;
    if (a->axes.ndim <= 0 || dropout_mask_shape(a, &in[0], &m) != AM_OK) return 0;
    return (size_t)am_shape_size(&m) * sizeof(double);
}

#define STORE(dst, i, v, req) ((dst)[i] = (req) == AM_REQ_ADD ? (dst)[i] + (v) : (v))

/* Not dropping: out = x, mask = 1. */
#define DEF_DROPOUT(T)                                                                        \
    static void dropout_identity_##T(const T *x, T *y, T *mk, int64_t n, int64_t nm,          \
                                     const am_req *req)                                       \
    {                                                                                         \
        if (req[0] != AM_REQ_NULL && (req[0] == AM_REQ_ADD || x != y))                        \
            AM_OMP_FOR_N for (int64_t i = 0; i < n; i++) STORE(y, i, x[i], req[0]);           \
        if (req[1] != AM_REQ_NULL)                                                            \
            for (int64_t i = 0; i < nm; i++) STORE(mk, i, (T)1, req[1]);                      \
    }                                                                                         \
    /* No axes: one draw per element, serially so that a seed fixes the result. */            \
    static void dropout_full_##T(const T *x, T *y, T *mk, int64_t n, double keep,             \
                                 uint64_t *rng, const am_req *req)                            \
    {                                                                                         \
        const T scale = (T)(1.0 / keep);                                                      \
        for (int64_t i = 0; i < n; i++) {                                                     \
            T m = am_rng_uniform01(rng) < keep ? scale : (T)0;                                \
            if (req[0] != AM_REQ_NULL) STORE(y, i, x[i] * m, req[0]);                         \
            if (req[1] != AM_REQ_NULL) STORE(mk, i, m, req[1]);                               \
        }                                                                                     \
    }                                                                                         \
    /* y = x * m with m broadcast along its size-1 axes (bs: m's strides, 0 there). */        \
    static void dropout_apply_##T(const T *x, T *y, const T *m, const am_view *v,             \
                                  const int64_t *bs, am_req req)                              \
    {                                                                                         \
        int nd = v->ndim;                                                                     \
        int64_t last = nd ? v->dim[nd - 1] : 1, n = am_view_size(v);                          \
        int64_t rows = last ? n / last : 0, ls = nd ? bs[nd - 1] : 0;                         \
        AM_OMP_FOR_N for (int64_t r = 0; r < rows; r++) {                                     \
            int64_t off = 0, q = r;                                                           \
            for (int d = nd - 2; d >= 0; d--) off += q % v->dim[d] * bs[d], q /= v->dim[d];   \
            const T *xr = x + r * last;                                                       \
            T *yr = y + r * last;                                                             \
            for (int64_t j = 0; j < last; j++) STORE(yr, j, xr[j] * m[off + j * ls], req);    \
        }                                                                                     \
    }
DEF_DROPOUT(float)
DEF_DROPOUT(double)

/* With axes: the mask (smaller than data) is drawn into the workspace first. */
#define DROPOUT_AXES(T)                                                                       \
    do {                                                                                      \
        T *m = ctx->workspace;                                                                \
        int64_t bs[AM_MAX_NDIM], stride = 1;                                                  \
        for (int d = out[1].ndim - 1; d >= 0; d--) {                                          \
            bs[d] = out[1].dim[d] == 1 ? 0 : stride;                                          \
            stride *= out[1].dim[d];                                                          \
        }                                                                                     \
        for (int64_t i = 0; i < nm; i++) m[i] = am_rng_uniform01(ctx->rng) < keep ? scale : 0; \
        if (req[0] != AM_REQ_NULL)                                                            \
            dropout_apply_##T(in[0].data, out[0].data, m, &in[0], bs, req[0]);                \
        if (req[1] != AM_REQ_NULL)                                                            \
            for (int64_t i = 0; i < nm; i++) STORE((T *)out[1].data, i, m[i], req[1]);        \
    } while (0)

static am_status dropout_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const dropout_attrs *a = attrs;
    int64_t n = am_view_size(&in[0]), nm = am_view_size(&out[1]);
    double keep = 1.0 - a->p, scale = 1.0 / keep;
    bool f32 = in[0].dtype == AM_DTYPE_FLOAT32;
    if (!(ctx->training || a->mode == DROPOUT_ALWAYS) || a->p == 0) {
        if (f32) dropout_identity_float(in[0].data, out[0].data, out[1].data, n, nm, req);
        else dropout_identity_double(in[0].data, out[0].data, out[1].data, n, nm, req);
        return AM_OK;
    }
    if (a->axes.ndim <= 0) {
        if (f32) dropout_full_float(in[0].data, out[0].data, out[1].data, n, keep, ctx->rng, req);
        else dropout_full_double(in[0].data, out[0].data, out[1].data, n, keep, ctx->rng, req);
        return AM_OK;
    }
    if ((size_t)nm * sizeof(double) > ctx->workspace_bytes)
        return am_fail(AM_ERR_INTERNAL, "Dropout workspace is too small");
    if (f32) DROPOUT_AXES(float);
    else DROPOUT_AXES(double);
    return AM_OK;
}

static int dropout_visible(const void *attrs)
{
    AM_UNUSED(attrs);
    return 1;
}

/* d out = mask * d data, with the mask the forward call drew (the hidden output). */
static am_status dropout_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                              am_array *const *og, am_array **ig)
{
    AM_UNUSED(in);
    ig[0] = am_broadcast_mul_at(og[0], out[1], g->at);
    return ig[0] ? AM_OK : am_last_status();
}

/* The identity in inference with mode "training", and always with p = 0 (the
 * kernel then copies its input). */
static const char *dropout_is_identity(const void *attrs, bool training)
{
    const dropout_attrs *a = attrs;
    if (!training && a->mode == DROPOUT_TRAINING) return "inference Dropout";
    return a->p == 0 ? "Dropout with p=0" : NULL;
}

const am_op_def am_op_dropout = {
    .name = "Dropout", .input_names = (const char *const[]){"data", NULL}, .num_outputs = 2,
    .num_visible = dropout_visible, .attrs = dropout_fields, .attrs_size = sizeof(dropout_attrs),
    .infer_shape = dropout_shape, .infer_dtype = float_dtype, .temp_bytes = dropout_temp,
    .cpu = dropout_cpu, .gradient = dropout_grad, .inplace = same_slot, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_RANDOM | AM_OP_NEEDS_TEMP,
    .doc = "Zeroes a fraction p of data in training and scales the rest by 1/(1-p); "
           "outputs (out, mask).",
    .is_identity = dropout_is_identity};

am_array *am_dropout_at(am_array *x, double p, const char *mode, am_site at)
{
    dropout_attrs a = {.p = p, .mode = DROPOUT_TRAINING};
    if (mode && strcmp(mode, "always") == 0) a.mode = DROPOUT_ALWAYS;
    else if (x && mode && strcmp(mode, "training") != 0)
        return am_fail_null("Dropout", at, AM_ERR_ARG,
                            "mode '%s' is not one of training, always", mode);
    am_array *y = NULL;
    am_op_call(&am_op_dropout, &a, &x, 1, &y, 1, at);
    return y;
}

/* ---- LayerNorm ------------------------------------------------------------------------------ */

typedef struct layer_norm_attrs {
    int64_t axis;
    double eps;
    bool output_mean_var;
} layer_norm_attrs;

static const am_attr_field layer_norm_fields[] = {
    AM_ATTR_FIELD(layer_norm_attrs, axis, AM_ATTR_INT, "-1", "axis normalised over"),
    AM_ATTR_FIELD(layer_norm_attrs, eps, AM_ATTR_FLOAT, "1e-05", "added to the variance"),
    AM_ATTR_FIELD(layer_norm_attrs, output_mean_var, AM_ATTR_BOOL, "False",
                  "also return mean and std (sqrt(var + eps))"),
    {0}};

static int layer_norm_visible(const void *attrs)
{
    return ((const layer_norm_attrs *)attrs)->output_mean_var ? 3 : 1;
}

static am_status layer_norm_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const layer_norm_attrs *a = attrs;
    char b1[96], b2[96], b3[96];
    int axis;
    am_status st = norm_axis(a->axis, &in[0], &axis);
    if (st != AM_OK) return st;
    if (!(a->eps >= 0)) return am_fail(AM_ERR_ARG, "eps must be non-negative, got %g", a->eps);
    am_shape c = {.ndim = 1, .dim = {in[0].ndim ? in[0].dim[axis] : 1}};
    for (int i = 1; i <= 2; i++) {
        if (in[i].ndim < 0) in[i] = c;
        if (in[i].ndim != 1 || in[i].dim[0] != c.dim[0])
            return am_fail(AM_ERR_SHAPE, "%s %s must be %s for data %s along axis %d",
                           i == 1 ? "gamma" : "beta", am_shape_format(&in[i], b1, sizeof(b1)),
                           am_shape_format(&c, b2, sizeof(b2)),
                           am_shape_format(&in[0], b3, sizeof(b3)), axis);
    }
    out[0] = out[1] = out[2] = in[0];
    if (in[0].ndim) out[1].dim[axis] = out[2].dim[axis] = 1;
    return AM_OK;
}

typedef struct ln_args {
    int64_t outer, m, inner;
    double eps;
    const am_req *req;
} ln_args;

/* Mean and std of one contiguous row. */
#define DEF_LN_STATS(T)                                                                       \
    static void ln_row_stats_##T(const T *restrict x, int64_t m, double eps, double *mean,    \
                                 double *std)                                                 \
    {                                                                                         \
        double s = 0, q = 0;                                                                  \
        _Pragma("omp simd reduction(+:s)")                                                    \
        for (int64_t j = 0; j < m; j++) s += x[j];                                            \
        double mu = m ? s / (double)m : NAN;                                                  \
        _Pragma("omp simd reduction(+:q)")                                                    \
        for (int64_t j = 0; j < m; j++) q += (x[j] - mu) * (x[j] - mu);                      \
        *mean = mu;                                                                           \
        *std = sqrt((m ? q / (double)m : NAN) + eps);                                         \
    }

/* Normalises one row (or, with stride in, one column tile row) and stores the stats. */
#define DEF_LN_ROWS(T)                                                                        \
    static void ln_rows_##T(const T *x, const T *g, const T *b, T *y, T *mo, T *so,           \
                            const ln_args *a)                                                 \
    {                                                                                         \
        int64_t m = a->m, n = a->outer * m;                                                   \
        const am_req *req = a->req;                                                           \
        AM_OMP_FOR_N for (int64_t o = 0; o < a->outer; o++) {                                 \
            double mu, sd;                                                                    \
            ln_row_stats_##T(x + o * m, m, a->eps, &mu, &sd);                                 \
            const T *xr = x + o * m;                                                          \
            T *yr = y + o * m;                                                                \
            const double r = 1.0 / sd;                                                        \
            if (req[0] == AM_REQ_ADD)                                                         \
                for (int64_t j = 0; j < m; j++) yr[j] += (T)((xr[j] - mu) * r) * g[j] + b[j]; \
            else if (req[0] != AM_REQ_NULL)                                                   \
                for (int64_t j = 0; j < m; j++) yr[j] = (T)((xr[j] - mu) * r) * g[j] + b[j];  \
            if (req[1] != AM_REQ_NULL) STORE(mo, o, (T)mu, req[1]);                           \
            if (req[2] != AM_REQ_NULL) STORE(so, o, (T)sd, req[2]);                           \
        }                                                                                     \
    }

#define DEF_LN_TILE(T)                                                                        \
    static void ln_tile_##T(const T *x, const T *g, const T *b, T *y, T *mo, T *so,           \
                            int64_t w, const ln_args *a)                                      \
    {                                                                                         \
        int64_t in = a->inner, m = a->m;                                                      \
        const am_req *req = a->req;                                                           \
        double mu[NN_TILE], q[NN_TILE];                                                       \
        for (int64_t j = 0; j < w; j++) mu[j] = q[j] = 0;                                     \
        for (int64_t r = 0; r < m; r++)                                                       \
            for (int64_t j = 0; j < w; j++) mu[j] += x[r * in + j];                           \
        for (int64_t j = 0; j < w; j++) mu[j] = m ? mu[j] / (double)m : NAN;                  \
        for (int64_t r = 0; r < m; r++)                                                       \
            for (int64_t j = 0; j < w; j++) {                                                 \
                double d = x[r * in + j] - mu[j];                                             \
                q[j] += d * d;                                                                \
            }                                                                                 \
        for (int64_t j = 0; j < w; j++) {                                                     \
            q[j] = sqrt((m ? q[j] / (double)m : NAN) + a->eps);                               \
            if (req[1] != AM_REQ_NULL) STORE(mo, j, (T)mu[j], req[1]);                        \
            if (req[2] != AM_REQ_NULL) STORE(so, j, (T)q[j], req[2]);                         \
        }                                                                                     \
        if (req[0] == AM_REQ_NULL) return;                                                    \
        for (int64_t r = 0; r < m; r++)                                                       \
            for (int64_t j = 0; j < w; j++) {                                                 \
                T v = (T)((x[r * in + j] - mu[j]) / q[j]) * g[r] + b[r];                      \
                STORE(y, r * in + j, v, req[0]);                                              \
            }                                                                                 \
    }

#define DEF_LN(T)                                                                             \
    DEF_LN_STATS(T)                                                                           \
    DEF_LN_ROWS(T)                                                                            \
    DEF_LN_TILE(T)                                                                            \
    static void ln_##T(const am_view *in, const am_view *out, const ln_args *a)               \
    {                                                                                         \
        const T *x = in[0].data, *g = in[1].data, *b = in[2].data;                            \
        T *y = out[0].data, *mo = out[1].data, *so = out[2].data;                             \
        if (a->inner == 1) {                                                                  \
            ln_rows_##T(x, g, b, y, mo, so, a);                                               \
            return;                                                                           \
        }                                                                                     \
        int64_t ntile = (a->inner + NN_TILE - 1) / NN_TILE, n = a->outer * a->m * a->inner;   \
        AM_OMP_FOR_N for (int64_t t = 0; t < a->outer * ntile; t++) {                         \
            int64_t o = t / ntile, j0 = t % ntile * NN_TILE;                                  \
            int64_t w = a->inner - j0 < NN_TILE ? a->inner - j0 : NN_TILE;                    \
            int64_t off = o * a->m * a->inner + j0, so_off = o * a->inner + j0;               \
            ln_tile_##T(x + off, g, b, y + off, mo + so_off, so + so_off, w, a);              \
        }                                                                                     \
    }
DEF_LN(float)
DEF_LN(double)

static am_status layer_norm_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const layer_norm_attrs *la = attrs;
    am_shape s = view_shape(&in[0]);
    int axis;
    am_status st = norm_axis(la->axis, &s, &axis);
    if (st != AM_OK) return st;
    ln_args a = {.eps = la->eps, .req = req};
    split_axis(&in[0], axis, &a.outer, &a.m, &a.inner);
    if (a.outer * a.inner == 0) return AM_OK;
    if (in[0].dtype == AM_DTYPE_FLOAT32) ln_float(in, out, &a);
    else ln_double(in, out, &a);
    return AM_OK;
}

/* ---- _backward_LayerNorm ---------------------------------------------------------------------
 * The gradient that the composition below computes, fused: one pass per normalised row for
 * dx, one over column blocks for dgamma and dbeta.  Used when the gradient itself is not
 * recorded. */

#define LN_KB 64 /* gamma entries per block of the dgamma / dbeta pass */

#define DEF_LN_BACKWARD(T)                                                                    \
    /* One normalised row of m entries at stride s. */                                       \
    static inline void ln_bwd_row_##T(const T *dy, const T *x, const T *g, double u,          \
                                      double r, double dmu, double dsd, T *dx, int64_t m,     \
                                      int64_t s, am_req req)                                  \
    {                                                                                         \
        double s1 = 0, s2 = 0;                                                                \
        for (int64_t k = 0; k < m; k++) {                                                     \
            double d = (double)dy[k * s] * g[k];                                              \
            s1 += d, s2 += d * (x[k * s] - u);                                                \
        }                                                                                     \
        s1 = (s1 - dmu / r) / (double)m, s2 = (s2 * r - dsd / r) / (double)m;                 \
        for (int64_t k = 0; k < m; k++) {                                                     \
            T v = (T)(((double)dy[k * s] * g[k] - s1 - (x[k * s] - u) * r * s2) * r);        \
            STORE(dx, k * s, v, req);                                                         \
        }                                                                                     \
    }                                                                                         \
    /* dgamma and dbeta for entries [k0, k0 + w) from rows of s contiguous columns. */        \
    static inline void ln_bwd_gb_##T(const T *dy, const T *x, const T *mu, const T *sd,       \
                                     double *sg, double *sb, int64_t k0, int64_t w,           \
                                     const ln_args *a, int64_t s)                             \
    {                                                                                         \
        for (int64_t o = 0; o < a->outer; o++)                                                \
            for (int64_t k = 0; k < w; k++) {                                                 \
                int64_t base = (o * a->m + k0 + k) * s;                                       \
                for (int64_t j = 0; j < s; j++) {                                             \
                    double d = dy[base + j];                                                  \
                    sg[k] += d * ((x[base + j] - mu[o * s + j]) / sd[o * s + j]);             \
                    sb[k] += d;                                                               \
                }                                                                             \
            }                                                                                 \
    }                                                                                         \
    static void ln_bwd_##T(const am_view *in, const am_view *out, const ln_args *a)           \
    {                                                                                         \
        const T *dy = in[0].data, *x = in[1].data, *g = in[2].data;                           \
        const T *mu = in[3].data, *sd = in[4].data, *dmu = in[5].data, *dsd = in[6].data;     \
        int64_t m = a->m, s = a->inner, n = a->outer * m * s, nb = (m + LN_KB - 1) / LN_KB;   \
        const am_req *req = a->req;                                                           \
        if (req[0] != AM_REQ_NULL)                                                            \
            AM_OMP_FOR_N for (int64_t q = 0; q < a->outer * s; q++) {                         \
                int64_t off = q / s * m * s + q % s;                                          \
                T *dx = (T *)out[0].data + off;                                               \
                double u = mu[q], r = 1.0 / sd[q], a1 = dmu[q], a2 = dsd[q];                  \
                if (s == 1) ln_bwd_row_##T(dy + off, x + off, g, u, r, a1, a2, dx, m, 1, req[0]); \
                else ln_bwd_row_##T(dy + off, x + off, g, u, r, a1, a2, dx, m, s, req[0]);    \
            }                                                                                 \
        if (req[1] == AM_REQ_NULL && req[2] == AM_REQ_NULL) return;                           \
        AM_OMP_FOR_N for (int64_t b = 0; b < nb; b++) {                                       \
            int64_t k0 = b * LN_KB, w = m - k0 < LN_KB ? m - k0 : LN_KB;                      \
            double sg[LN_KB] = {0}, sb[LN_KB] = {0};                                          \
            if (s == 1) ln_bwd_gb_##T(dy, x, mu, sd, sg, sb, k0, w, a, 1);                    \
            else ln_bwd_gb_##T(dy, x, mu, sd, sg, sb, k0, w, a, s);                           \
            for (int64_t k = 0; k < w; k++) {                                                 \
                if (req[1] != AM_REQ_NULL) STORE((T *)out[1].data, k0 + k, (T)sg[k], req[1]); \
                if (req[2] != AM_REQ_NULL) STORE((T *)out[2].data, k0 + k, (T)sb[k], req[2]); \
            }                                                                                 \
        }                                                                                     \
    }
DEF_LN_BACKWARD(float)
DEF_LN_BACKWARD(double)

/* Inputs: the gradient of out, data, gamma, mean and std as LayerNorm made them, and the
 * gradients of mean and std; outputs the gradients of data, gamma and beta. */
static am_status backward_layer_norm_shape(const void *attrs, am_shape *in, int n_in,
                                           am_shape *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    static const char *const names[] = {"ograd", "mean", "std", "ograd_mean", "ograd_std"};
    static const int slot[] = {0, 3, 4, 5, 6}, like[] = {0, 1, 2, 1, 2};
    char b1[96], b2[96], b3[96];
    am_shape fwd[3] = {in[1], in[2], in[2]}, want[3];
    am_status st = layer_norm_shape(attrs, fwd, 3, want, 3);
    for (int i = 0; st == AM_OK && i < 5; i++) {
        const am_shape *h = &in[slot[i]], *w = &want[like[i]];
        bool same = h->ndim == w->ndim;
        for (int d = 0; same && d < w->ndim; d++) same = h->dim[d] == w->dim[d];
        if (!same)
            st = am_fail(AM_ERR_SHAPE, "%s %s must be %s for data %s", names[i],
                         am_shape_format(h, b1, sizeof(b1)), am_shape_format(w, b2, sizeof(b2)),
                         am_shape_format(&in[1], b3, sizeof(b3)));
    }
    out[0] = in[1], out[1] = out[2] = fwd[1];
    return st;
}

static am_status backward_layer_norm_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                         const am_view *in, int n_in, const am_view *out,
                                         int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const layer_norm_attrs *la = attrs;
    am_shape s = view_shape(&in[1]);
    int axis;
    am_status st = norm_axis(la->axis, &s, &axis);
    if (st != AM_OK) return st;
    ln_args a = {.eps = la->eps, .req = req};
    split_axis(&in[1], axis, &a.outer, &a.m, &a.inner);
    if (in[1].dtype == AM_DTYPE_FLOAT32) ln_bwd_float(in, out, &a);
    else ln_bwd_double(in, out, &a);
    return AM_OK;
}

const am_op_def am_op_backward_layer_norm = {
    .name = "_backward_LayerNorm",
    .input_names = (const char *const[]){"ograd", "data", "gamma", "mean", "std", "ograd_mean",
                                         "ograd_std", NULL},
    .num_outputs = 3, .attrs = layer_norm_fields, .attrs_size = sizeof(layer_norm_attrs),
    .infer_shape = backward_layer_norm_shape, .infer_dtype = float_dtype,
    .cpu = backward_layer_norm_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "First-order gradient of LayerNorm from the output gradients and the forward "
           "call's data, gamma, mean and std: the gradients of data, gamma and beta."};

/* ---- LayerNorm gradient ---------------------------------------------------------------------
 * With xh = (x - mean) / std along axis (m entries), y = xh * gamma + beta, dxh = dy * gamma:
 *   dbeta = sum(dy) and dgamma = sum(dy * xh) over the other axes,
 *   dx = (dxh - mean(dxh) - xh * mean(dxh * xh)) / std,
 * plus what reaches the mean and std outputs (d mean / dx = 1 / m, d std / dx = xh / m),
 * folded into the two means as - dmean * std / m and - dstd * std / m.  Composed of public
 * ops, so it differentiates again; the hidden mean and std then take part, which is why
 * their gradients always count. */

/* v (of shape (m,)) with x's rank, its entries along axis. */
static am_array *along_axis(am_array *v, am_array *x, int axis, am_site at)
{
    am_shape s = {.ndim = am_array_ndim(x)};
    if (s.ndim == 0) return am_reshape_like_at(v, x, at);
    for (int i = 0; i < s.ndim; i++) s.dim[i] = i == axis ? am_array_dim(x, i) : 1;
    return am_reshape_at(v, s, false, at);
}

/* Sums over every axis but axis, into like's shape (m,). */
static am_array *sum_except(am_array *x, int axis, am_array *like, am_site at)
{
    int axes[AM_MAX_NDIM], n = 0;
    if (am_array_ndim(x) == 0) return am_reshape_like_at(x, like, at);
    for (int i = 0; i < am_array_ndim(x); i++)
        if (i != axis) axes[n++] = i;
    return n ? am_sum_at(x, axes, n, false, at) : x;
}

/* The mean along axis, kept as size 1 (0-d data is its own mean). */
static am_array *mean_axis(am_array *x, int axis, am_site at)
{
    return am_array_ndim(x) ? am_mean_at(x, &axis, 1, true, at) : x;
}

/* mean_axis(d) - dstat * std / m. */
static am_array *ln_center(am_array *d, am_array *dstat, am_array *sd, int axis, double m,
                           am_site at)
{
    am_array *extra = am_mul_scalar_at(am_elemwise_mul_at(dstat, sd, at), 1.0 / m, at);
    return am_elemwise_sub_at(mean_axis(d, axis, at), extra, at);
}

static am_array *layer_norm_dx(am_array *const *out, am_array *const *og, am_array *xh,
                               am_array *gamma, int axis, double m, am_site at)
{
    am_array *sd = out[2], *dxh = am_broadcast_mul_at(og[0], gamma, at);
    am_array *c1 = ln_center(dxh, og[1], sd, axis, m, at);
    am_array *c2 = ln_center(am_elemwise_mul_at(dxh, xh, at), og[2], sd, axis, m, at);
    am_array *d = am_broadcast_sub_at(am_broadcast_sub_at(dxh, c1, at),
                                      am_broadcast_mul_at(xh, c2, at), at);
    return am_broadcast_div_at(d, sd, at);
}

/* When nothing will differentiate the result, the fused kernel computes the same gradients
 * in two passes. */
static am_status layer_norm_fused_grad(const am_grad_ctx *g, am_array *const *in,
                                       am_array *const *out, am_array *const *og,
                                       am_array **ig)
{
    am_array *x[7] = {og[0], in[0], in[1], out[1], out[2], og[1], og[2]}, *r[3] = {0};
    am_status st = am_op_call(&am_op_backward_layer_norm, g->attrs, x, 7, r, 3, g->at);
    for (int i = 0; st == AM_OK && i < 3; i++)
        if (g->need_grad[i]) ig[i] = r[i];
    return st;
}

static am_status layer_norm_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                                 am_array *const *og, am_array **ig)
{
    const layer_norm_attrs *a = g->attrs;
    am_shape s = am_array_shape(in[0]);
    am_site at = g->at;
    int axis;
    am_status st = norm_axis(a->axis, &s, &axis);
    if (st != AM_OK) return st;
    bool empty = am_shape_size(&s) == 0;
    if (!empty && !am_autograd_is_recording())
        return layer_norm_fused_grad(g, in, out, og, ig);
    am_array *xh = empty ? NULL : am_broadcast_div_at(am_broadcast_sub_at(in[0], out[1], at),
                                                      out[2], at);
    double m = s.ndim ? (double)s.dim[axis] : 1;
    for (int i = 0; i < 3; i++) {
        if (!g->need_grad[i]) continue;
        if (empty) ig[i] = am_zeros_like_at(in[i], at);
        else if (i == 0)
            ig[0] = layer_norm_dx(out, og, xh, along_axis(in[1], in[0], axis, at), axis, m, at);
        else if (i == 1) ig[1] = sum_except(am_elemwise_mul_at(og[0], xh, at), axis, in[1], at);
        else ig[2] = sum_except(og[0], axis, in[2], at);
        if (!ig[i]) return am_last_status();
    }
    return AM_OK;
}

const am_op_def am_op_layer_norm = {
    .name = "LayerNorm", .input_names = (const char *const[]){"data", "gamma", "beta", NULL},
    .num_outputs = 3, .num_visible = layer_norm_visible, .attrs = layer_norm_fields,
    .attrs_size = sizeof(layer_norm_attrs), .infer_shape = layer_norm_shape,
    .infer_dtype = float_dtype, .cpu = layer_norm_cpu, .gradient = layer_norm_grad,
    .inplace = same_slot,
    .fuse = AM_FUSE_OPAQUE,
    .doc = "(x - mean) / sqrt(var + eps) * gamma + beta along axis; outputs (out, mean, std)."};

am_array *am_layer_norm_at(am_array *x, am_array *gamma, am_array *beta, int axis, double eps,
                           am_site at)
{
    layer_norm_attrs a = {.axis = axis, .eps = eps};
    am_array *in[3] = {x, gamma, beta}, *y = NULL;
    am_op_call(&am_op_layer_norm, &a, in, 3, &y, 1, at);
    return y;
}
