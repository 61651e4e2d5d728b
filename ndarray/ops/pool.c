/* Pooling (max, avg, sum, lp over 1-, 2- and 3-D windows of channel-first data, with
 * MXNet's valid/full/same conventions) and UpSampling (nearest, bilinear), with their
 * backward ops.  Kernels run plane by plane over the N * C planes, in parallel. */
#include "../ndarray_impl.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>

static am_shape view_shape(const am_view *v)
{
    am_shape s = {.ndim = v->ndim};
    for (int i = 0; i < v->ndim; i++) s.dim[i] = v->dim[i];
    return s;
}

static bool shape_equal(const am_shape *a, const am_shape *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dim[i] != b->dim[i]) return false;
    return true;
}

/* Index of s in a NULL-terminated list, or -1. */
static int choice_index(const char *const *list, const char *s)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0) return i;
    return -1;
}

/* ---- Pooling: attributes and geometry ------------------------------------------------- */

enum { POOL_MAX, POOL_AVG, POOL_SUM, POOL_LP };
enum { CONV_VALID, CONV_FULL, CONV_SAME };
enum { LAYOUT_NONE, LAYOUT_NCW, LAYOUT_NCHW, LAYOUT_NCDHW }; /* then NWC, NHWC, NDHWC */

static const char *const pool_types[] = {"max", "avg", "sum", "lp", NULL};
static const char *const pool_conventions[] = {"valid", "full", "same", NULL};
static const char *const pool_layouts[] = {"None", "NCW", "NCHW", "NCDHW",
                                           "NWC", "NHWC", "NDHWC", NULL};
/* An optional bool (MXNet's dmlc::optional<bool>): None, then lenient spellings. */
static const char *const opt_bools[] = {"None", "False", "True", "false", "true", "0", "1", NULL};
#define OPT_BOOL_NONE 0
#define OPT_BOOL_IS_TRUE(i) ((i) > 0 && (i) % 2 == 0)

typedef struct pool_attrs {
    am_tuple kernel;
    int pool_type;
    bool global_pool, cudnn_off;
    int pooling_convention;
    am_tuple stride, pad;
    am_opt_int p_value;
    int count_include_pad; /* index into opt_bools */
    int layout;            /* index into pool_layouts */
} pool_attrs;

static const am_attr_field pool_fields[] = {
    AM_ATTR_FIELD(pool_attrs, kernel, AM_ATTR_TUPLE, "()",
                  "window size: (w,), (h, w) or (d, h, w); ignored under global_pool"),
    AM_ATTR_ENUM_FIELD(pool_attrs, pool_type, pool_types, "max", "reduction over a window"),
    AM_ATTR_FIELD(pool_attrs, global_pool, AM_ATTR_BOOL, "False",
                  "pool each whole plane (kernel, stride and pad are ignored)"),
    AM_ATTR_FIELD(pool_attrs, cudnn_off, AM_ATTR_BOOL, "False", "accepted; no effect"),
    AM_ATTR_ENUM_FIELD(pool_attrs, pooling_convention, pool_conventions, "valid",
                       "output size: floor (valid), ceil (full), or ceil(in / stride) (same, "
                       "1-D only)"),
    AM_ATTR_FIELD(pool_attrs, stride, AM_ATTR_TUPLE, "()", "window step; () means 1s"),
    AM_ATTR_FIELD(pool_attrs, pad, AM_ATTR_TUPLE, "()", "padding on both sides; () means 0s"),
    AM_ATTR_FIELD(pool_attrs, p_value, AM_ATTR_OPT_INT, "None",
                  "p of lp pooling (required there): (sum x^p)^(1/p)"),
    AM_ATTR_ENUM_FIELD(pool_attrs, count_include_pad, opt_bools, "None",
                       "avg divides by the window including padding (None: True)"),
    AM_ATTR_ENUM_FIELD(pool_attrs, layout, pool_layouts, "None",
                       "NCW, NCHW or NCDHW (None: from data's rank); channel-last is "
                       "not supported"),
    {0}};

/* A pooling problem resolved against a data shape.  Spatial dims are (depth, height,
 * width); 1-D and 2-D problems have leading dims of size 1. */
typedef struct pool_geom {
    int type, p;
    bool include_pad;
    int64_t planes;
    int64_t in[3], out[3], k[3], s[3], pad[3];
} pool_geom;

/* A window along one dim: [lo, hi) inside the data, and padded, its extent clipped to the
 * padded data (a factor of MXNet's avg divisor with count_include_pad). */
typedef struct pool_span {
    int64_t lo, hi, padded;
} pool_span;

/* "(2, 2)" as MXNet writes tuples, for messages. */
static const char *tuple_str(const am_tuple *t, char *buf, size_t n)
{
    am_attr_field f = {"t", AM_ATTR_TUPLE, 0, NULL, NULL, NULL};
    return am_attr_format(&f, t, buf, n);
}

static am_status check_tuple(const char *name, const am_tuple *t, int64_t min)
{
    char buf[96];
    for (int i = 0; i < t->ndim; i++)
        if (t->v[i] < min)
            return am_fail(AM_ERR_ARG, "%s %s must have entries of at least %lld", name,
                           tuple_str(t, buf, sizeof(buf)), (long long)min);
    return AM_OK;
}

/* Checks that do not depend on the spatial sizes, in MXNet's order. */
static am_status pool_check(const pool_attrs *a, const am_shape *x)
{
    char b1[96], b2[96];
    int nd = x->ndim - 2;
    if (x->ndim < 0) return am_fail(AM_ERR_SHAPE, "data's shape is unknown");
    if (a->pool_type == POOL_LP && !a->p_value.has)
        return am_fail(AM_ERR_ARG, "pool_type 'lp' needs p_value");
    if (a->pool_type == POOL_LP && (a->p_value.v < 1 || a->p_value.v > INT_MAX))
        return am_fail(AM_ERR_ARG, "p_value must be a positive integer, got %lld",
                       (long long)a->p_value.v);
    if (a->pooling_convention == CONV_SAME && x->ndim != 3)
        return am_fail(AM_ERR_UNSUPPORTED, "pooling_convention 'same' supports 1-D pooling "
                       "only (data (N, C, W)), got data %s", am_shape_format(x, b1, sizeof(b1)));
    for (int i = 0; a->pooling_convention == CONV_SAME && i < a->pad.ndim; i++)
        if (a->pad.v[i] != 0)
            return am_fail(AM_ERR_ARG, "pooling_convention 'same' takes no pad, got pad %s",
                           tuple_str(&a->pad, b1, sizeof(b1)));
    if (x->ndim < 3 || x->ndim > 5)
        return am_fail(AM_ERR_SHAPE, "data %s must be 3-D (N, C, W), 4-D (N, C, H, W) or 5-D "
                       "(N, C, D, H, W)", am_shape_format(x, b1, sizeof(b1)));
    if (a->layout > LAYOUT_NCDHW)
        return am_fail(AM_ERR_UNSUPPORTED, "layout %s is not supported (NCW, NCHW or NCDHW)",
                       pool_layouts[a->layout]);
    if (a->layout != LAYOUT_NONE && a->layout != nd && !a->global_pool)
        return am_fail(AM_ERR_SHAPE, "layout %s does not fit %d-D data %s",
                       pool_layouts[a->layout], x->ndim, am_shape_format(x, b1, sizeof(b1)));
    am_status st;
    if ((st = check_tuple("kernel", &a->kernel, 1)) || (st = check_tuple("stride", &a->stride, 1))
        || (st = check_tuple("pad", &a->pad, 0)))
        return st;
    if (a->global_pool) return AM_OK;
    if (a->kernel.ndim <= 0)
        return am_fail(AM_ERR_ARG, "kernel is required unless global_pool is True");
    if (a->kernel.ndim != nd)
        return am_fail(AM_ERR_SHAPE, "kernel %s has %d entries but data %s has %d spatial dims",
                       tuple_str(&a->kernel, b1, sizeof(b1)), a->kernel.ndim,
                       am_shape_format(x, b2, sizeof(b2)), nd);
    if (a->stride.ndim > 0 && a->stride.ndim != nd)
        return am_fail(AM_ERR_ARG, "stride %s must have as many entries as kernel %s",
                       tuple_str(&a->stride, b1, sizeof(b1)),
                       tuple_str(&a->kernel, b2, sizeof(b2)));
    if (a->pad.ndim > 0 && a->pad.ndim != nd)
        return am_fail(AM_ERR_ARG, "pad %s must have as many entries as kernel %s",
                       tuple_str(&a->pad, b1, sizeof(b1)), tuple_str(&a->kernel, b2, sizeof(b2)));
    return AM_OK;
}

/* Output size along one dim, as MXNet's PoolingShape computes it (in float for full and
 * same, which is exact below 2^24). */
static int64_t pool_out_size(int conv, int64_t in, int64_t k, int64_t s, int64_t p)
{
    if (conv == CONV_VALID) return 1 + (in + 2 * p - k) / s;
    if (conv == CONV_FULL) return 1 + (int64_t)ceilf((float)(in + 2 * p - k) / (float)s);
    return (int64_t)ceilf((float)(in + 2 * p) / (float)s);
}

/* Resolves attributes against data's shape: kernel, stride, pad and output sizes. */
static am_status pool_resolve(const pool_attrs *a, const am_shape *x, pool_geom *g)
{
    char b1[96], b2[96];
    am_status st = pool_check(a, x);
    if (st != AM_OK) return st;
    int nd = x->ndim - 2, off = 3 - nd;
    memset(g, 0, sizeof(*g));
    g->type = a->pool_type;
    g->p = a->pool_type == POOL_LP ? (int)a->p_value.v : 1;
    g->include_pad =
        a->count_include_pad == OPT_BOOL_NONE || OPT_BOOL_IS_TRUE(a->count_include_pad);
    g->planes = x->dim[0] * x->dim[1];
    for (int i = 0; i < 3; i++) {
        int j = i - off; /* index into the spatial attributes */
        g->in[i] = j < 0 ? 1 : x->dim[2 + j];
        g->k[i] = j < 0 ? 1 : a->global_pool ? g->in[i] : a->kernel.v[j];
        g->s[i] = j < 0 || a->global_pool || a->stride.ndim == 0 ? 1 : a->stride.v[j];
        g->pad[i] = j < 0 || a->global_pool || a->pad.ndim == 0 ? 0 : a->pad.v[j];
        if (j < 0 || a->global_pool) {
            g->out[i] = 1;
            continue;
        }
        if (g->k[i] > g->in[i] + 2 * g->pad[i])
            return am_fail(AM_ERR_SHAPE, "kernel %s exceeds data %s: %lld > %lld (size %lld "
                           "padded by %lld on both sides)", tuple_str(&a->kernel, b1, sizeof(b1)),
                           am_shape_format(x, b2, sizeof(b2)), (long long)g->k[i],
                           (long long)(g->in[i] + 2 * g->pad[i]), (long long)g->in[i],
                           (long long)g->pad[i]);
        g->out[i] = pool_out_size(a->pooling_convention, g->in[i], g->k[i], g->s[i], g->pad[i]);
    }
    return AM_OK;
}

static am_status pool_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                            int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    pool_geom g;
    am_status st = pool_resolve(attrs, &in[0], &g);
    if (st != AM_OK) return st;
    out[0] = in[0];
    for (int i = 2; i < in[0].ndim; i++) out[0].dim[i] = g.out[i - in[0].ndim + 3];
    return AM_OK;
}

/* The window of output o along dim i. */
static inline pool_span pool_span_of(const pool_geom *g, int i, int64_t o)
{
    int64_t start = o * g->s[i] - g->pad[i], end = start + g->k[i], pend = g->in[i] + g->pad[i];
    if (end < pend) pend = end;
    pool_span r = {start > 0 ? start : 0, pend < g->in[i] ? pend : g->in[i], pend - start};
    if (r.hi < r.lo) r.hi = r.lo;
    return r;
}

/* Runs stmt for every index idx of the window (sd, sh, sw) of a plane, in row-major
 * order (d, h, w). */
#define POOL_FOR_WINDOW(g, sd, sh, sw, idx, stmt)                                             \
    for (int64_t d_ = (sd).lo; d_ < (sd).hi; d_++)                                            \
        for (int64_t h_ = (sh).lo; h_ < (sh).hi; h_++)                                        \
            for (int64_t idx = (d_ * (g)->in[1] + h_) * (g)->in[2] + (sw).lo,                 \
                         e_ = idx - (sw).lo + (sw).hi;                                        \
                 idx < e_; idx++) {                                                           \
                stmt;                                                                         \
            }

/* v^p for an integer p >= 0, multiplied out for MXNet's p of 1, 2 and 3. */
static inline double ipow(double v, int p)
{
    return p == 1 ? v : p == 2 ? v * v : p == 3 ? v * v * v : pow(v, p);
}

/* The p-th root that lp pooling takes: sign-preserving for odd p, as cbrt is. */
static inline double lp_root(double s, int p)
{
    if (p == 1) return s;
    if (p == 2) return sqrt(s);
    if (p == 3) return cbrt(s);
    return p % 2 ? copysign(pow(fabs(s), 1.0 / p), s) : pow(s, 1.0 / p);
}

/* ---- Pooling: kernels ------------------------------------------------------------------ */

/* Per dtype: one output row (fixed d and h windows) of max or of the sums, its backward,
 * whole planes, and the drivers that run the N * C planes in parallel.  LOWEST starts a
 * max, as MXNet's MinValue does: NaN never wins, and a window of padding only gives
 * LOWEST (and passes no gradient). */
#define DEF_POOL(sfx, T, LOWEST)                                                              \
    static void max_row_##sfx(const pool_geom *g, const T *x, pool_span sd, pool_span sh,     \
                              T *restrict y, bool add)                                        \
    {                                                                                         \
        for (int64_t ow = 0; ow < g->out[2]; ow++) {                                          \
            pool_span sw = pool_span_of(g, 2, ow);                                            \
            T best = LOWEST;                                                                  \
            POOL_FOR_WINDOW(g, sd, sh, sw, i, best = x[i] > best ? x[i] : best);              \
            y[ow] = add ? y[ow] + best : best;                                                \
        }                                                                                     \
    }                                                                                         \
    /* sum, avg and lp: sums of x (or x^p) in double, then divided or rooted. */             \
    static void sum_row_##sfx(const pool_geom *g, const T *x, pool_span sd, pool_span sh,     \
                              T *restrict y, bool add)                                        \
    {                                                                                         \
        const int p = g->type == POOL_LP ? g->p : 1;                                          \
        const int64_t dh = (sd.hi - sd.lo) * (sh.hi - sh.lo), pdh = sd.padded * sh.padded;    \
        for (int64_t ow = 0; ow < g->out[2]; ow++) {                                          \
            pool_span sw = pool_span_of(g, 2, ow);                                            \
            double acc = 0;                                                                   \
            if (p == 1) POOL_FOR_WINDOW(g, sd, sh, sw, i, acc += x[i])                        \
            else if (p == 2) POOL_FOR_WINDOW(g, sd, sh, sw, i, acc += (double)x[i] * x[i])    \
            else POOL_FOR_WINDOW(g, sd, sh, sw, i, acc += ipow(x[i], p))                      \
            if (g->type == POOL_AVG) {                                                        \
                int64_t count = dh * (sw.hi - sw.lo);                                         \
                acc = count ? acc / (double)(g->include_pad ? pdh * sw.padded : count) : 0;   \
            } else if (p > 1) {                                                               \
                acc = lp_root(acc, p);                                                        \
            }                                                                                 \
            y[ow] = add ? (T)(y[ow] + acc) : (T)acc;                                          \
        }                                                                                     \
    }                                                                                         \
    /* Where the max is: the first of equals, as MXNet's backward finds it; -1: none. */      \
    static inline int64_t argmax_##sfx(const pool_geom *g, const T *x, pool_span sd,          \
                                       pool_span sh, pool_span sw)                            \
    {                                                                                         \
        T best = LOWEST;                                                                      \
        int64_t at = -1;                                                                      \
        POOL_FOR_WINDOW(g, sd, sh, sw, i, if (x[i] > best || (at < 0 && x[i] == best)) {      \
            best = x[i];                                                                      \
            at = i;                                                                           \
        });                                                                                   \
        return at;                                                                            \
    }                                                                                         \
    /* Adds each output's share of gy (output values y) into gx through its window. */       \
    static void unpool_row_##sfx(const pool_geom *g, const T *gy, const T *x, const T *y,     \
                                 pool_span sd, pool_span sh, T *restrict gx)                  \
    {                                                                                         \
        const int64_t dh = (sd.hi - sd.lo) * (sh.hi - sh.lo), pdh = sd.padded * sh.padded;    \
        for (int64_t ow = 0; ow < g->out[2]; ow++) {                                          \
            pool_span sw = pool_span_of(g, 2, ow);                                            \
            const T go = gy[ow], yv = y[ow];                                                  \
            if (g->type == POOL_MAX) {                                                        \
                int64_t at = argmax_##sfx(g, x, sd, sh, sw);                                  \
                if (at >= 0) gx[at] += go;                                                    \
            } else if (g->type == POOL_AVG) {                                                 \
                int64_t count = dh * (sw.hi - sw.lo);                                         \
                double div = (double)(g->include_pad ? pdh * sw.padded : count);              \
                T v = count ? (T)((double)go / div) : 0;                                      \
                POOL_FOR_WINDOW(g, sd, sh, sw, i, gx[i] += v);                                \
            } else if (g->type == POOL_SUM || g->p == 1) {                                    \
                POOL_FOR_WINDOW(g, sd, sh, sw, i, gx[i] += go);                               \
            } else if (yv != 0) { /* d (sum x^p)^(1/p) / dx = (x / y)^(p-1) */                \
                POOL_FOR_WINDOW(g, sd, sh, sw, i,                                             \
                                gx[i] += (T)(go * ipow((double)x[i] / yv, g->p - 1)));        \
            }                                                                                 \
        }                                                                                     \
    }                                                                                         \
    static void pool_plane_##sfx(const pool_geom *g, const T *x, T *y, bool add)              \
    {                                                                                         \
        for (int64_t od = 0; od < g->out[0]; od++)                                            \
            for (int64_t oh = 0; oh < g->out[1]; oh++) {                                      \
                pool_span sd = pool_span_of(g, 0, od), sh = pool_span_of(g, 1, oh);           \
                T *yr = y + (od * g->out[1] + oh) * g->out[2];                                \
                if (g->type == POOL_MAX) max_row_##sfx(g, x, sd, sh, yr, add);                \
                else sum_row_##sfx(g, x, sd, sh, yr, add);                                    \
            }                                                                                 \
    }                                                                                         \
    static void unpool_plane_##sfx(const pool_geom *g, const T *gy, const T *x, const T *y,   \
                                   T *gx, bool add)                                           \
    {                                                                                         \
        if (!add) memset(gx, 0, (size_t)(g->in[0] * g->in[1] * g->in[2]) * sizeof(T));        \
        for (int64_t od = 0; od < g->out[0]; od++)                                            \
            for (int64_t oh = 0; oh < g->out[1]; oh++) {                                      \
                int64_t off = (od * g->out[1] + oh) * g->out[2];                              \
                unpool_row_##sfx(g, gy + off, x, y + off, pool_span_of(g, 0, od),             \
                                 pool_span_of(g, 1, oh), gx);                                 \
            }                                                                                 \
    }                                                                                         \
    static void pool_fwd_##sfx(const pool_geom *g, const T *x, T *y, bool add)                \
    {                                                                                         \
        const int64_t isz = g->in[0] * g->in[1] * g->in[2];                                   \
        const int64_t osz = g->out[0] * g->out[1] * g->out[2];                                \
        const int64_t n = g->planes * osz * g->k[0] * g->k[1] * g->k[2];                      \
        AM_OMP_FOR_N for (int64_t pl = 0; pl < g->planes; pl++)                               \
            pool_plane_##sfx(g, x + pl * isz, y + pl * osz, add);                             \
    }                                                                                         \
    static void pool_bwd_##sfx(const pool_geom *g, const T *gy, const T *x, const T *y,       \
                               T *gx, bool add)                                               \
    {                                                                                         \
        const int64_t isz = g->in[0] * g->in[1] * g->in[2];                                   \
        const int64_t osz = g->out[0] * g->out[1] * g->out[2];                                \
        const int64_t n = g->planes * (osz * g->k[0] * g->k[1] * g->k[2] + isz);              \
        AM_OMP_FOR_N for (int64_t pl = 0; pl < g->planes; pl++)                               \
            unpool_plane_##sfx(g, gy + pl * osz, x + pl * isz, y + pl * osz, gx + pl * isz,   \
                               add);                                                          \
    }
DEF_POOL(f32, float, -FLT_MAX)
DEF_POOL(f64, double, -DBL_MAX)

static am_status pooling_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_shape xs = view_shape(&in[0]);
    pool_geom g;
    am_status st = pool_resolve(attrs, &xs, &g);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    bool add = req[0] == AM_REQ_ADD;
    if (in[0].dtype == AM_DTYPE_FLOAT32) pool_fwd_f32(&g, in[0].data, out[0].data, add);
    else if (in[0].dtype == AM_DTYPE_FLOAT64) pool_fwd_f64(&g, in[0].data, out[0].data, add);
    else return am_fail(AM_ERR_DTYPE, "%s data not supported", am_dtype_name(in[0].dtype));
    return AM_OK;
}

/* _backward_Pooling: inputs (ograd, data, output) as MXNet's; the max position is
 * recomputed from data. */
static am_status pooling_backward_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                      const am_view *in, int n_in, const am_view *out,
                                      int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_shape xs = view_shape(&in[1]);
    pool_geom g;
    am_status st = pool_resolve(attrs, &xs, &g);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    bool add = req[0] == AM_REQ_ADD;
    if (in[1].dtype == AM_DTYPE_FLOAT32)
        pool_bwd_f32(&g, in[0].data, in[1].data, in[2].data, out[0].data, add);
    else if (in[1].dtype == AM_DTYPE_FLOAT64)
        pool_bwd_f64(&g, in[0].data, in[1].data, in[2].data, out[0].data, add);
    else return am_fail(AM_ERR_DTYPE, "%s data not supported", am_dtype_name(in[1].dtype));
    return AM_OK;
}

/* ograd and output must have the forward output's shape; in_grad has data's. */
static am_status pooling_backward_shape(const void *attrs, am_shape *in, int n_in,
                                        am_shape *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    char b1[96], b2[96], b3[96];
    am_shape y;
    am_status st = pool_shape(attrs, &in[1], 1, &y, 1);
    if (st != AM_OK) return st;
    for (int i = 0; i < 3; i += 2) {
        if (in[i].ndim < 0) in[i] = y;
        if (!shape_equal(&in[i], &y))
            return am_fail(AM_ERR_SHAPE, "%s %s does not match the Pooling output %s of data %s",
                           i ? "output" : "ograd", am_shape_format(&in[i], b1, sizeof(b1)),
                           am_shape_format(&y, b2, sizeof(b2)),
                           am_shape_format(&in[1], b3, sizeof(b3)));
    }
    out[0] = in[1];
    return AM_OK;
}

extern const am_op_def am_op_backward_pooling;

static am_status pooling_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                              am_array *const *og, am_array **ig)
{
    if (!g->need_grad[0]) return AM_OK;
    am_array *args[3] = {og[0], in[0], out[0]};
    return am_op_call(&am_op_backward_pooling, g->attrs, args, 3, &ig[0], 1, g->at);
}

const am_op_def am_op_pooling = {
    .name = "Pooling", .aliases = (const char *const[]){"_npx_pooling", "Pooling_v1", NULL},
    .input_names = (const char *const[]){"data", NULL}, .num_outputs = 1,
    .attrs = pool_fields, .attrs_size = sizeof(pool_attrs), .infer_shape = pool_shape,
    .infer_dtype = am_infer_dtype_float_same, .cpu = pooling_cpu, .gradient = pooling_grad,
    .fuse = AM_FUSE_OPAQUE,
    .doc = "Max, average, sum or lp pooling over 1-D, 2-D or 3-D windows of NCW, NCHW or "
           "NCDHW data."};

const am_op_def am_op_backward_pooling = {
    .name = "_backward_Pooling",
    .input_names = (const char *const[]){"ograd", "data", "output", NULL}, .num_outputs = 1,
    .attrs = pool_fields, .attrs_size = sizeof(pool_attrs),
    .infer_shape = pooling_backward_shape, .infer_dtype = am_infer_dtype_float_same,
    .cpu = pooling_backward_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Gradient of Pooling with respect to data, from (ograd, data, output); max "
           "routes each gradient to the first maximum of its window."};

am_array *am_pooling_at(am_array *x, const char *pool_type, const int64_t *kernel,
                        const int64_t *stride, const int64_t *pad, int nk, bool global_pool,
                        const char *convention, int p_value, bool count_include_pad,
                        am_site at)
{
    pool_attrs a;
    am_array *y = NULL;
    if (!x) return am_fail_null_input("Pooling", 0, at), NULL;
    int t = choice_index(pool_types, pool_type ? pool_type : "max");
    int c = choice_index(pool_conventions, convention ? convention : "valid");
    if (t < 0)
        return am_fail_null("Pooling", at, AM_ERR_ARG, "pool_type '%s' is not one of {max, avg, "
                            "sum, lp}", pool_type);
    if (c < 0)
        return am_fail_null("Pooling", at, AM_ERR_ARG, "pooling_convention '%s' is not one of "
                            "{valid, full, same}", convention);
    if (nk < 0 || nk > 3 || (nk > 0 && !kernel))
        return am_fail_null("Pooling", at, AM_ERR_ARG, "nk %d must be 1, 2 or 3 (or 0 with "
                            "global_pool), with that many kernel entries", nk);
    if (am_attrs_init(&am_op_pooling, &a) != AM_OK) return NULL;
    a.kernel.ndim = nk;
    a.stride.ndim = stride ? nk : 0;
    a.pad.ndim = pad ? nk : 0;
    for (int i = 0; i < nk; i++) {
        a.kernel.v[i] = kernel[i];
        a.stride.v[i] = stride ? stride[i] : 1;
        a.pad.v[i] = pad ? pad[i] : 0;
    }
    a.pool_type = t;
    a.global_pool = global_pool;
    a.pooling_convention = c;
    if (t == POOL_LP) a.p_value = (am_opt_int){true, p_value};
    if (t == POOL_AVG) a.count_include_pad = count_include_pad ? 2 : 1;
    am_op_call(&am_op_pooling, &a, &x, 1, &y, 1, at);
    return y;
}

/* ---- UpSampling ------------------------------------------------------------------------- */

enum { UP_NEAREST, UP_BILINEAR };
enum { UP_CONCAT, UP_SUM };
static const char *const up_types[] = {"nearest", "bilinear", NULL};
static const char *const up_modes[] = {"concat", "sum", NULL};

typedef struct up_attrs {
    int64_t scale, num_filter;
    int sample_type, multi_input_mode;
    int64_t num_args, workspace;
} up_attrs;

static const am_attr_field up_fields[] = {
    AM_ATTR_FIELD(up_attrs, scale, AM_ATTR_INT, NULL, "upsampling factor (at least 1)"),
    AM_ATTR_FIELD(up_attrs, num_filter, AM_ATTR_INT, "0",
                  "bilinear: the channels of data (the transposed convolution is depthwise)"),
    AM_ATTR_ENUM_FIELD(up_attrs, sample_type, up_types, NULL,
                       "nearest (copies) or bilinear (transposed convolution with weight)"),
    AM_ATTR_ENUM_FIELD(up_attrs, multi_input_mode, up_modes, "concat",
                       "nearest with several inputs: concatenate along channels, or sum"),
    AM_ATTR_FIELD(up_attrs, num_args, AM_ATTR_INT, NULL,
                  "nearest: number of inputs; bilinear takes data and weight"),
    AM_ATTR_FIELD(up_attrs, workspace, AM_ATTR_INT, "512", "accepted; no effect (MB)"),
    {0}};

static int up_num_inputs(const void *attrs)
{
    const up_attrs *a = attrs;
    if (!a) return 0;
    if (a->sample_type == UP_BILINEAR) return 2;
    return a->num_args < 0 ? 0 : a->num_args > INT_MAX ? INT_MAX : (int)a->num_args;
}

/* Bilinear upsampling's transposed convolution: kernel K, stride scale, pad P. */
static int64_t up_kernel(int64_t scale) { return 2 * scale - scale % 2; }
static int64_t up_pad(int64_t scale) { return scale / 2; } /* ceil((scale - 1) / 2) */

static am_status up_bilinear_shape(const up_attrs *a, am_shape *in, int n_in, am_shape *out)
{
    char b1[96], b2[96], b3[96];
    if (n_in != 2)
        return am_fail(AM_ERR_ARG, "bilinear takes data and weight, got %d inputs", n_in);
    if (in[0].ndim != 4)
        return am_fail(AM_ERR_SHAPE, "data %s must be 4-D (N, C, H, W)",
                       am_shape_format(&in[0], b1, sizeof(b1)));
    int64_t c = in[0].dim[1], k = up_kernel(a->scale);
    if (a->num_filter != c)
        return am_fail(AM_ERR_ARG, "num_filter %lld must equal the channels of data %s (bilinear "
                       "upsampling is depthwise)", (long long)a->num_filter,
                       am_shape_format(&in[0], b1, sizeof(b1)));
    am_shape w = {.ndim = 4, .dim = {c, 1, k, k}};
    if (in[1].ndim < 0) in[1] = w;
    if (!shape_equal(&in[1], &w))
        return am_fail(AM_ERR_SHAPE, "weight %s must be %s for data %s and scale %lld",
                       am_shape_format(&in[1], b1, sizeof(b1)), am_shape_format(&w, b2, sizeof(b2)),
                       am_shape_format(&in[0], b3, sizeof(b3)), (long long)a->scale);
    out[0] = in[0];
    out[0].dim[2] *= a->scale, out[0].dim[3] *= a->scale;
    return AM_OK;
}

/* Nearest: every input is brought to input 0's size * scale by a whole factor. */
static am_status up_nearest_shape(const up_attrs *a, am_shape *in, int n_in, am_shape *out)
{
    char b1[96], b2[96];
    for (int i = 0; i < n_in; i++)
        if (in[i].ndim != 4)
            return am_fail(AM_ERR_SHAPE, "input %d %s must be 4-D (N, C, H, W)", i,
                           am_shape_format(&in[i], b1, sizeof(b1)));
    int64_t oh = in[0].dim[2] * a->scale, ow = in[0].dim[3] * a->scale, c = 0;
    for (int i = 0; i < n_in; i++) {
        int64_t h = in[i].dim[2], w = in[i].dim[3];
        if (in[i].dim[0] != in[0].dim[0])
            return am_fail(AM_ERR_SHAPE, "input %d %s and input 0 %s differ in batch size", i,
                           am_shape_format(&in[i], b1, sizeof(b1)),
                           am_shape_format(&in[0], b2, sizeof(b2)));
        bool fits = h > 0 && w > 0 ? oh % h == 0 && ow % w == 0 && oh / h == ow / w : i == 0;
        if (!fits)
            return am_fail(AM_ERR_SHAPE, "input %d %s does not upsample to (%lld, %lld), input 0 "
                           "%s times scale %lld, by one whole factor", i,
                           am_shape_format(&in[i], b1, sizeof(b1)), (long long)oh, (long long)ow,
                           am_shape_format(&in[0], b2, sizeof(b2)), (long long)a->scale);
        if (a->multi_input_mode == UP_SUM && in[i].dim[1] != in[0].dim[1])
            return am_fail(AM_ERR_SHAPE, "multi_input_mode 'sum' needs equal channels, but input "
                           "%d is %s and input 0 is %s", i, am_shape_format(&in[i], b1, sizeof(b1)),
                           am_shape_format(&in[0], b2, sizeof(b2)));
        c = a->multi_input_mode == UP_SUM ? in[i].dim[1] : c + in[i].dim[1];
    }
    out[0] = in[0];
    out[0].dim[1] = c, out[0].dim[2] = oh, out[0].dim[3] = ow;
    return AM_OK;
}

static am_status up_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_out);
    const up_attrs *a = attrs;
    if (a->scale < 1)
        return am_fail(AM_ERR_ARG, "scale must be at least 1, got %lld", (long long)a->scale);
    if (a->num_args < 1)
        return am_fail(AM_ERR_ARG, "num_args must be at least 1, got %lld", (long long)a->num_args);
    if (a->sample_type == UP_BILINEAR) return up_bilinear_shape(a, in, n_in, out);
    return up_nearest_shape(a, in, n_in, out);
}

/* Nearest kernels.  up: x's (N * C) planes of h x w, scaled by s, into y's planes from
 * channel begin of co.  down: the gradient, sums of s x s blocks of gy's planes. */
#define DEF_UP(sfx, T)                                                                        \
    /* One input row xr (w values) widened s times into yr. */                                \
    static inline void up_row_##sfx(const T *restrict xr, T *restrict yr, int64_t w,         \
                                     int64_t s, bool add)                                     \
    {                                                                                         \
        if (s == 2 && !add)                                                                   \
            for (int64_t j = 0; j < w; j++) yr[2 * j] = yr[2 * j + 1] = xr[j];                \
        else if (add)                                                                         \
            for (int64_t j = 0; j < w; j++)                                                   \
                for (int64_t k = 0; k < s; k++) yr[j * s + k] += xr[j];                       \
        else                                                                                  \
            for (int64_t j = 0; j < w; j++)                                                   \
                for (int64_t k = 0; k < s; k++) yr[j * s + k] = xr[j];                        \
    }                                                                                         \
    static void up_nearest_##sfx(const T *x, T *y, const int64_t *d, int64_t co,              \
                                 int64_t begin, int64_t s, bool add)                          \
    {                                                                                         \
        const int64_t c = d[1], h = d[2], w = d[3], oh = h * s, ow = w * s;                   \
        const int64_t n = d[0] * c * oh * ow;                                                 \
        AM_OMP_FOR_N for (int64_t pl = 0; pl < d[0] * c; pl++) {                              \
            const T *xp = x + pl * h * w;                                                     \
            T *yp = y + ((pl / c) * co + begin + pl % c) * oh * ow;                           \
            for (int64_t r = 0; r < h; r++) {                                                 \
                T *y0 = yp + r * s * ow;                                                      \
                up_row_##sfx(xp + r * w, y0, w, s, add);                                      \
                for (int64_t k = 1; k < s; k++) {                                             \
                    if (add) up_row_##sfx(xp + r * w, y0 + k * ow, w, s, true);               \
                    else memcpy(y0 + k * ow, y0, (size_t)ow * sizeof(T));                     \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
    }                                                                                         \
    static void up_down_##sfx(const T *gy, T *gx, const int64_t *d, int64_t co,               \
                              int64_t begin, int64_t s, bool add)                             \
    {                                                                                         \
        const int64_t c = d[1], h = d[2], w = d[3], ow = w * s;                               \
        const int64_t n = d[0] * c * h * w * s * s;                                           \
        AM_OMP_FOR_N for (int64_t pl = 0; pl < d[0] * c; pl++) {                              \
            const T *gp = gy + ((pl / c) * co + begin + pl % c) * h * s * ow;                 \
            T *xp = gx + pl * h * w;                                                          \
            for (int64_t i = 0; i < h; i++)                                                   \
                for (int64_t j = 0; j < w; j++) {                                             \
                    double acc = 0;                                                           \
                    for (int64_t r = i * s; r < (i + 1) * s; r++)                             \
                        for (int64_t k = j * s; k < (j + 1) * s; k++) acc += gp[r * ow + k];  \
                    xp[i * w + j] = (T)(add ? xp[i * w + j] + acc : acc);                     \
                }                                                                             \
        }                                                                                     \
    }
DEF_UP(f32, float)
DEF_UP(f64, double)

/* Bilinear kernels: the depthwise transposed convolution y[oy] += x[iy] w[ky] at
 * oy = iy * s - P + ky (per dim), its data gradient (the matching correlation) and its
 * weight gradient.  d is data's (N, C, H, W); planes are processed in parallel. */
#define DEF_BILINEAR(sfx, T)                                                                  \
    static void bl_fwd_##sfx(const T *x, const T *wt, T *y, const int64_t *d, int64_t s,      \
                             bool add)                                                        \
    {                                                                                         \
        const int64_t c = d[1], h = d[2], w = d[3], oh = h * s, ow = w * s;                   \
        const int64_t k = up_kernel(s), p = up_pad(s), n = d[0] * c * h * w * k * k;          \
        AM_OMP_FOR_N for (int64_t pl = 0; pl < d[0] * c; pl++) {                              \
            const T *xp = x + pl * h * w, *wp = wt + (pl % c) * k * k;                        \
            T *yp = y + pl * oh * ow;                                                         \
            if (!add) memset(yp, 0, (size_t)(oh * ow) * sizeof(T));                           \
            for (int64_t iy = 0; iy < h; iy++)                                                \
                for (int64_t ky = 0; ky < k; ky++) {                                          \
                    int64_t oy = iy * s - p + ky;                                             \
                    if (oy < 0 || oy >= oh) continue;                                         \
                    for (int64_t ix = 0; ix < w; ix++)                                        \
                        for (int64_t kx = 0; kx < k; kx++) {                                  \
                            int64_t ox = ix * s - p + kx;                                     \
                            if (ox >= 0 && ox < ow)                                           \
                                yp[oy * ow + ox] += xp[iy * w + ix] * wp[ky * k + kx];        \
                        }                                                                     \
                }                                                                             \
        }                                                                                     \
    }                                                                                         \
    static void bl_dx_##sfx(const T *gy, const T *wt, T *gx, const int64_t *d, int64_t s,     \
                            bool add)                                                         \
    {                                                                                         \
        const int64_t c = d[1], h = d[2], w = d[3], oh = h * s, ow = w * s;                   \
        const int64_t k = up_kernel(s), p = up_pad(s), n = d[0] * c * h * w * k * k;          \
        AM_OMP_FOR_N for (int64_t pl = 0; pl < d[0] * c; pl++) {                              \
            const T *gp = gy + pl * oh * ow, *wp = wt + (pl % c) * k * k;                     \
            T *xp = gx + pl * h * w;                                                          \
            for (int64_t iy = 0; iy < h; iy++)                                                \
                for (int64_t ix = 0; ix < w; ix++) {                                          \
                    double acc = 0;                                                           \
                    for (int64_t ky = 0; ky < k; ky++) {                                      \
                        int64_t oy = iy * s - p + ky;                                         \
                        for (int64_t kx = 0; oy >= 0 && oy < oh && kx < k; kx++) {            \
                            int64_t ox = ix * s - p + kx;                                     \
                            if (ox >= 0 && ox < ow)                                           \
                                acc += (double)gp[oy * ow + ox] * wp[ky * k + kx];            \
                        }                                                                     \
                    }                                                                         \
                    xp[iy * w + ix] = (T)(add ? xp[iy * w + ix] + acc : acc);                 \
                }                                                                             \
        }                                                                                     \
    }                                                                                         \
    static void bl_dw_##sfx(const T *gy, const T *x, T *gw, const int64_t *d, int64_t s,      \
                            bool add)                                                         \
    {                                                                                         \
        const int64_t c = d[1], h = d[2], w = d[3], oh = h * s, ow = w * s;                   \
        const int64_t k = up_kernel(s), p = up_pad(s), n = d[0] * c * h * w * k * k;          \
        AM_OMP_FOR_N for (int64_t ch = 0; ch < c * k * k; ch++) {                             \
            const int64_t ci = ch / (k * k), ky = ch / k % k, kx = ch % k;                    \
            double acc = 0;                                                                   \
            for (int64_t b = 0; b < d[0]; b++) {                                              \
                const T *xp = x + (b * c + ci) * h * w, *gp = gy + (b * c + ci) * oh * ow;    \
                for (int64_t iy = 0; iy < h; iy++) {                                          \
                    int64_t oy = iy * s - p + ky;                                             \
                    for (int64_t ix = 0; oy >= 0 && oy < oh && ix < w; ix++) {                \
                        int64_t ox = ix * s - p + kx;                                         \
                        if (ox >= 0 && ox < ow) acc += (double)xp[iy * w + ix] * gp[oy * ow + ox]; \
                    }                                                                         \
                }                                                                             \
            }                                                                                 \
            gw[ch] = (T)(add ? gw[ch] + acc : acc);                                           \
        }                                                                                     \
    }
DEF_BILINEAR(f32, float)
DEF_BILINEAR(f64, double)

static am_status upsampling_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_out);
    const up_attrs *a = attrs;
    bool f32 = in[0].dtype == AM_DTYPE_FLOAT32;
    if (req[0] == AM_REQ_NULL) return AM_OK;
    if (!f32 && in[0].dtype != AM_DTYPE_FLOAT64)
        return am_fail(AM_ERR_DTYPE, "%s data not supported", am_dtype_name(in[0].dtype));
    if (a->sample_type == UP_BILINEAR) {
        bool add = req[0] == AM_REQ_ADD;
        if (f32) bl_fwd_f32(in[0].data, in[1].data, out[0].data, in[0].dim, a->scale, add);
        else bl_fwd_f64(in[0].data, in[1].data, out[0].data, in[0].dim, a->scale, add);
        return AM_OK;
    }
    int64_t co = out[0].dim[1], oh = out[0].dim[2], begin = 0;
    for (int i = 0; i < n_in; i++) {
        int64_t s = i == 0 ? a->scale : oh / in[i].dim[2]; /* shape inference checked h > 0 */
        bool add = req[0] == AM_REQ_ADD || (a->multi_input_mode == UP_SUM && i > 0);
        if (a->multi_input_mode == UP_SUM) begin = 0;
        if (f32) up_nearest_f32(in[i].data, out[0].data, in[i].dim, co, begin, s, add);
        else up_nearest_f64(in[i].data, out[0].data, in[i].dim, co, begin, s, add);
        begin += in[i].dim[1];
    }
    return AM_OK;
}

/* _backward_UpSampling takes UpSampling's attributes, and (ograd, the forward inputs): for
 * nearest, the gradient of each input (sums of s x s blocks of its channels of ograd); for
 * bilinear, the gradients of data and weight. */
static int up_back_num_inputs(const void *attrs)
{
    int n = up_num_inputs(attrs);
    return n < AM_MAX_OP_IO ? n + 1 : AM_MAX_OP_IO;
}

static int up_back_num_outputs(const void *attrs)
{
    int n = up_num_inputs(attrs);
    return n < 1 ? 1 : n < AM_MAX_OP_IO ? n : AM_MAX_OP_IO - 1;
}

static am_status up_back_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    char b1[96], b2[96];
    am_shape y;
    if (n_in != n_out + 1)
        return am_fail(AM_ERR_ARG, "takes ograd and %d inputs, got %d arrays", n_out, n_in);
    am_status st = up_shape(attrs, &in[1], n_in - 1, &y, 1);
    if (st != AM_OK) return st;
    if (in[0].ndim < 0) in[0] = y;
    if (!shape_equal(&in[0], &y))
        return am_fail(AM_ERR_SHAPE, "ograd %s does not match the UpSampling output %s",
                       am_shape_format(&in[0], b1, sizeof(b1)),
                       am_shape_format(&y, b2, sizeof(b2)));
    for (int i = 0; i < n_out; i++) out[i] = in[i + 1];
    return AM_OK;
}

static am_status up_back_bilinear(const up_attrs *a, const am_view *in, const am_view *out,
                                  const am_req *req)
{
    bool f32 = in[0].dtype == AM_DTYPE_FLOAT32;
    if (req[0] != AM_REQ_NULL && f32)
        bl_dx_f32(in[0].data, in[2].data, out[0].data, in[1].dim, a->scale, req[0] == AM_REQ_ADD);
    else if (req[0] != AM_REQ_NULL)
        bl_dx_f64(in[0].data, in[2].data, out[0].data, in[1].dim, a->scale, req[0] == AM_REQ_ADD);
    if (req[1] != AM_REQ_NULL && f32)
        bl_dw_f32(in[0].data, in[1].data, out[1].data, in[1].dim, a->scale, req[1] == AM_REQ_ADD);
    else if (req[1] != AM_REQ_NULL)
        bl_dw_f64(in[0].data, in[1].data, out[1].data, in[1].dim, a->scale, req[1] == AM_REQ_ADD);
    return AM_OK;
}

static am_status up_back_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in);
    const up_attrs *a = attrs;
    bool f32 = in[0].dtype == AM_DTYPE_FLOAT32;
    if (!f32 && in[0].dtype != AM_DTYPE_FLOAT64)
        return am_fail(AM_ERR_DTYPE, "%s data not supported", am_dtype_name(in[0].dtype));
    if (a->sample_type == UP_BILINEAR) return up_back_bilinear(a, in, out, req);
    int64_t co = in[0].dim[1], oh = in[0].dim[2], begin = 0;
    for (int i = 0; i < n_out; i++) {
        const am_view *x = &in[i + 1];
        int64_t s = i == 0 ? a->scale : oh / x->dim[2]; /* shape inference checked h > 0 */
        if (a->multi_input_mode == UP_SUM) begin = 0;
        if (req[i] != AM_REQ_NULL && f32)
            up_down_f32(in[0].data, out[i].data, x->dim, co, begin, s, req[i] == AM_REQ_ADD);
        else if (req[i] != AM_REQ_NULL)
            up_down_f64(in[0].data, out[i].data, x->dim, co, begin, s, req[i] == AM_REQ_ADD);
        begin += x->dim[1];
    }
    return AM_OK;
}

extern const am_op_def am_op_backward_upsampling;

static am_status upsampling_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                                 am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    am_array *args[AM_MAX_OP_IO], *r[AM_MAX_OP_IO] = {0};
    int n = g->n_in;
    if (n + 1 > AM_MAX_OP_IO)
        return am_fail(AM_ERR_ARG, "UpSampling: the gradient of %d inputs needs %d arrays, "
                       "more than %d", n, n + 1, AM_MAX_OP_IO);
    args[0] = og[0];
    for (int i = 0; i < n; i++) args[i + 1] = in[i];
    am_status st = am_op_call(&am_op_backward_upsampling, g->attrs, args, n + 1, r, n, g->at);
    for (int i = 0; i < n; i++) ig[i] = st == AM_OK && g->need_grad[i] ? r[i] : NULL;
    return st;
}

const am_op_def am_op_upsampling = {
    .name = "UpSampling", .input_names = (const char *const[]){"data", "weight", NULL},
    .num_inputs = up_num_inputs, .num_outputs = 1, .attrs = up_fields,
    .attrs_size = sizeof(up_attrs), .infer_shape = up_shape,
    .infer_dtype = am_infer_dtype_float_same,
    .cpu = upsampling_cpu, .gradient = upsampling_grad, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_VARIADIC,
    .doc = "Nearest-neighbour upsampling of num_args NCHW inputs (concatenated or summed), "
           "or bilinear: a depthwise transposed convolution of data with weight."};

const am_op_def am_op_backward_upsampling = {
    .name = "_backward_UpSampling",
    .input_names = (const char *const[]){"ograd", "data", "weight", NULL},
    .num_inputs = up_back_num_inputs, .num_outputs_of = up_back_num_outputs, .attrs = up_fields,
    .attrs_size = sizeof(up_attrs), .infer_shape = up_back_shape,
    .infer_dtype = am_infer_dtype_float_same,
    .cpu = up_back_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD | AM_OP_VARIADIC,
    .doc = "Gradients of UpSampling from (ograd, its inputs): of each nearest input, or of "
           "bilinear's data and weight."};

am_array *am_upsampling_multi_at(am_array *const *xs, int n, int64_t scale,
                                 const char *multi_input_mode, am_site at)
{
    up_attrs a = {.scale = scale, .sample_type = UP_NEAREST, .num_args = n, .workspace = 512};
    am_array *y = NULL;
    a.multi_input_mode = choice_index(up_modes, multi_input_mode ? multi_input_mode : "concat");
    if (a.multi_input_mode < 0)
        return am_fail_null("UpSampling", at, AM_ERR_ARG, "multi_input_mode '%s' is not one of "
                            "{concat, sum}", multi_input_mode);
    if (n < 1 || !xs)
        return am_fail_null("UpSampling", at, AM_ERR_ARG, "needs at least one input, got %d", n);
    am_op_call(&am_op_upsampling, &a, xs, n, &y, 1, at);
    return y;
}

am_array *am_upsampling_at(am_array *x, int64_t scale, am_site at)
{
    return am_upsampling_multi_at(&x, 1, scale, "concat", at);
}

am_array *am_upsampling_bilinear_at(am_array *x, am_array *weight, int64_t scale, am_site at)
{
    up_attrs a = {.scale = scale, .sample_type = UP_BILINEAR, .num_args = 2, .workspace = 512};
    am_array *in[2] = {x, weight}, *y = NULL;
    a.num_filter = x ? am_array_dim(x, 1) : 0;
    am_op_call(&am_op_upsampling, &a, in, 2, &y, 1, at);
    return y;
}
