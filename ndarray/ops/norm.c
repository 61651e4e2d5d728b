/* Normalization ops with statistics per channel or per sample: BatchNorm (moving
 * statistics as auxiliary states) and L2Normalization, and their _backward_ ops.
 * InstanceNorm and GroupNorm are in norm_group.c.  Statistics are accumulated in double.
 * BatchNorm reads memory twice in training, forward and backward: once for its statistics
 * (merged piece by piece), once for the output. */
#include "norm_impl.h"
#include "fastmath.h"

#include <stdarg.h>

/* ---- BatchNorm -------------------------------------------------------------------------- */

/* batch_norm_attrs is in norm_impl.h: norm_variants.c runs BatchNorm with it. */

static const am_attr_field batch_norm_fields[] = {
    AM_ATTR_FIELD(batch_norm_attrs, eps, AM_ATTR_FLOAT, "0.001", "added to the variance"),
    AM_ATTR_FIELD(batch_norm_attrs, momentum, AM_ATTR_FLOAT, "0.9",
                  "weight of the old moving statistics in each update"),
    AM_ATTR_FIELD(batch_norm_attrs, fix_gamma, AM_ATTR_BOOL, "True",
                  "treat gamma as ones; gamma gets a zero gradient"),
    AM_ATTR_FIELD(batch_norm_attrs, use_global_stats, AM_ATTR_BOOL, "False",
                  "normalise with the moving statistics in training too"),
    AM_ATTR_FIELD(batch_norm_attrs, output_mean_var, AM_ATTR_BOOL, "False",
                  "also return the mean and the inverse std"),
    AM_ATTR_FIELD(batch_norm_attrs, axis, AM_ATTR_INT, "1", "the channel axis"),
    AM_ATTR_FIELD(batch_norm_attrs, cudnn_off, AM_ATTR_BOOL, "False", "do not use cuDNN"),
    AM_ATTR_FIELD(batch_norm_attrs, min_calib_range, AM_ATTR_OPT_FLOAT, "None",
                  "calibrated output minimum, for quantization (unused here)"),
    AM_ATTR_FIELD(batch_norm_attrs, max_calib_range, AM_ATTR_OPT_FLOAT, "None",
                  "calibrated output maximum, for quantization (unused here)"),
    {0}};

static int batch_norm_visible(const void *attrs)
{
    return ((const batch_norm_attrs *)attrs)->output_mean_var ? 3 : 1;
}

static am_status channel_axis(int64_t axis, const am_shape *s, int *out)
{
    char b[96];
    am_status st = data_rank(s, 0, "");
    if (st != AM_OK) return st;
    if (!am_axis_norm(axis, s->ndim, out))
        return am_fail(AM_ERR_ARG, "axis %lld is out of range for data %s", (long long)axis,
                       am_shape_format(s, b, sizeof(b)));
    return AM_OK;
}

/* Checks data, gamma, beta, moving_mean, moving_var at in[d..d+4]; fills unknowns. */
static am_status bn_check_shapes(const batch_norm_attrs *a, am_shape *in, int d, int *axis)
{
    static const char *const names[] = {"gamma", "beta", "moving_mean", "moving_var"};
    char why[64];
    am_status st = channel_axis(a->axis, &in[d], axis);
    if (st == AM_OK) st = check_eps(a->eps);
    if (st != AM_OK) return st;
    snprintf(why, sizeof(why), "its size along axis %d", *axis);
    for (int i = 1; i <= 4 && st == AM_OK; i++)
        st = vector_input(in + d, i, names[i - 1], in[d].dim[*axis], why);
    return st;
}

static am_status batch_norm_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    int axis;
    am_status st = bn_check_shapes(attrs, in, 0, &axis);
    if (st != AM_OK) return st;
    out[0] = in[0];
    out[1] = out[2] = (am_shape){.ndim = 1, .dim = {in[0].dim[axis]}};
    return AM_OK;
}

DEF_DTYPE_FN(batch_norm_dtype, "data", "gamma", "beta", "moving_mean", "moving_var")

/* Data viewed as (outer, c, inner) around the channel axis. */
typedef struct bn_geom {
    int64_t outer, c, inner;
} bn_geom;

static am_status bn_geometry(const am_view *x, int64_t axis_attr, bn_geom *g)
{
    am_shape s = {.ndim = x->ndim};
    for (int i = 0; i < x->ndim; i++) s.dim[i] = x->dim[i];
    int axis;
    am_status st = channel_axis(axis_attr, &s, &axis);
    if (st != AM_OK) return st;
    g->outer = g->inner = 1;
    g->c = s.dim[axis];
    for (int i = 0; i < axis; i++) g->outer *= s.dim[i];
    for (int i = axis + 1; i < s.ndim; i++) g->inner *= s.dim[i];
    return AM_OK;
}

/* Channels are handled in blocks: NORM_TILE channels at a time when each channel's
 * values are single elements (inner == 1), else one channel with contiguous runs. */
static int64_t bn_blocks(const bn_geom *g)
{
    return g->inner == 1 ? (g->c + NORM_TILE - 1) / NORM_TILE : g->c;
}

static void bn_block(const bn_geom *g, int64_t k, int64_t *c0, int64_t *w)
{
    *c0 = g->inner == 1 ? k * NORM_TILE : k;
    *w = g->inner == 1 ? MIN64(NORM_TILE, g->c - *c0) : 1;
}

typedef struct bn_args {
    bn_geom g;
    bool batch;    /* batch statistics: training and not use_global_stats */
    bool fix_gamma;
    double eps, momentum;
    const am_req *req;
} bn_args;

/* Sums in double over BN_LANES lanes, combined in a fixed order: the loops vectorize
 * to whatever width the CPU has (the kernels that inline them are cloned per ISA) and
 * give the same bits on every one, as contraction into FMA is off (-std=c11). */
#define BN_LANES 8
#define DEF_BN_SUMS(T)                                                                        \
    /* sum of r[0, n) */                                                                      \
    static inline double bn_sum_##T(const T *restrict r, int64_t n)                           \
    {                                                                                         \
        double a[BN_LANES] = {0}, s = 0;                                                      \
        int64_t i = 0;                                                                        \
        for (; i + BN_LANES <= n; i += BN_LANES)                                              \
            for (int k = 0; k < BN_LANES; k++) a[k] += r[i + k];                              \
        for (int k = 0; k < BN_LANES; k++) s += a[k];                                         \
        for (; i < n; i++) s += r[i];                                                         \
        return s;                                                                             \
    }                                                                                         \
    /* sum of (r - m)^2 over [0, n) */                                                        \
    static inline double bn_sqdev_##T(const T *restrict r, int64_t n, double m)               \
    {                                                                                         \
        double a[BN_LANES] = {0}, s = 0;                                                      \
        int64_t i = 0;                                                                        \
        for (; i + BN_LANES <= n; i += BN_LANES)                                              \
            for (int k = 0; k < BN_LANES; k++) {                                              \
                double d = r[i + k] - m;                                                      \
                a[k] += d * d;                                                                \
            }                                                                                 \
        for (int k = 0; k < BN_LANES; k++) s += a[k];                                         \
        for (; i < n; i++) s += (r[i] - m) * (r[i] - m);                                      \
        return s;                                                                             \
    }                                                                                         \
    /* sum of dy and of dy * (x - *mp) over [0, n), added to *sd and *sdx */                  \
    static inline void bn_dsum_##T(const T *restrict dy, const T *restrict x, int64_t n,      \
                                   const T *mp, double *sd, double *sdx)                      \
    {                                                                                         \
        const T m = *mp;                                                                      \
        double a[BN_LANES] = {0}, b[BN_LANES] = {0}, s = 0, q = 0;                            \
        int64_t i = 0;                                                                        \
        for (; i + BN_LANES <= n; i += BN_LANES)                                              \
            for (int k = 0; k < BN_LANES; k++) {                                              \
                a[k] += dy[i + k];                                                            \
                b[k] += (double)dy[i + k] * (x[i + k] - m);                                   \
            }                                                                                 \
        for (int k = 0; k < BN_LANES; k++) s += a[k], q += b[k];                              \
        for (; i < n; i++) s += dy[i], q += (double)dy[i] * (x[i] - m);                       \
        *sd += s;                                                                             \
        *sdx += q;                                                                            \
    }

/* Mean and biased variance of channels [c0, c0 + w) in one pass over memory: each
 * piece (a channel's run of inner values at one outer index, or BN_ROWS rows of the tile
 * when inner == 1) is reduced to its mean and its sum of squared deviations while it is
 * in cache, and the pieces merge by Chan's formula, as stable as two passes over the
 * whole channel.  Sums are in double. */
#define BN_ROWS 32
#define DEF_BN_STATS(T)                                                                       \
    AM_FAST_CLONES                                                                            \
    static void bn_stats_##T(const T *restrict x, const bn_geom *g, int64_t c0, int64_t w,    \
                             double *mu, double *var)                                         \
    {                                                                                         \
        int64_t C = g->c, in = g->inner;                                                      \
        double cnt = (double)(g->outer * in), n = 0;                                          \
        for (int64_t j = 0; j < w; j++) mu[j] = var[j] = 0;                                   \
        if (cnt == 0) {                                                                       \
            for (int64_t j = 0; j < w; j++) mu[j] /= cnt, var[j] /= cnt; /* NaN, as 0/0 */    \
            return;                                                                           \
        }                                                                                     \
        if (in == 1) {                                                                        \
            double pm[NORM_TILE], pq[NORM_TILE];                                              \
            for (int64_t o0 = 0; o0 < g->outer; o0 += BN_ROWS) {                              \
                int64_t rows = MIN64(BN_ROWS, g->outer - o0);                                 \
                const T *p = x + o0 * C + c0;                                                 \
                for (int64_t j = 0; j < w; j++) pm[j] = pq[j] = 0;                            \
                for (int64_t o = 0; o < rows; o++)                                            \
                    for (int64_t j = 0; j < w; j++) pm[j] += p[o * C + j];                    \
                for (int64_t j = 0; j < w; j++) pm[j] /= (double)rows;                        \
                for (int64_t o = 0; o < rows; o++)                                            \
                    for (int64_t j = 0; j < w; j++) {                                         \
                        double d = p[o * C + j] - pm[j];                                      \
                        pq[j] += d * d;                                                       \
                    }                                                                         \
                double nn = n + (double)rows, f = (double)rows / nn;                          \
                for (int64_t j = 0; j < w; j++) {                                             \
                    double delta = pm[j] - mu[j];                                             \
                    mu[j] += delta * f;                                                       \
                    var[j] += pq[j] + delta * delta * n * f;                                  \
                }                                                                             \
                n = nn;                                                                       \
            }                                                                                 \
            for (int64_t j = 0; j < w; j++) var[j] /= cnt;                                    \
            return;                                                                           \
        }                                                                                     \
        double m = 0, q = 0;                                                                  \
        for (int64_t o = 0; o < g->outer; o++) {                                              \
            const T *r = x + (o * C + c0) * in;                                               \
            const double rm = bn_sum_##T(r, in) / (double)in, sq = bn_sqdev_##T(r, in, rm);   \
            double nn = n + (double)in, f = (double)in / nn, delta = rm - m;                  \
            m += delta * f;                                                                   \
            q += sq + delta * delta * n * f;                                                  \
            n = nn;                                                                           \
        }                                                                                     \
        mu[0] = m;                                                                            \
        var[0] = q / cnt;                                                                     \
    }

/* y = (x - m) * s + b on channels [c0, c0 + w). */
#define DEF_BN_APPLY(T)                                                                       \
    AM_FAST_CLONES                                                                            \
    static void bn_apply_##T(const T *x, T *y, const bn_geom *g, int64_t c0, int64_t w,       \
                             const T *m, const T *s, const T *b, am_req req)                  \
    {                                                                                         \
        int64_t C = g->c, in = g->inner;                                                      \
        for (int64_t o = 0; o < g->outer; o++) {                                              \
            const T *xr = x + (o * C + c0) * in;                                              \
            T *yr = y + (o * C + c0) * in;                                                    \
            if (in == 1) {                                                                    \
                if (req == AM_REQ_ADD)                                                        \
                    for (int64_t j = 0; j < w; j++) yr[j] += (xr[j] - m[j]) * s[j] + b[j];    \
                else                                                                          \
                    for (int64_t j = 0; j < w; j++) yr[j] = (xr[j] - m[j]) * s[j] + b[j];     \
                continue;                                                                     \
            }                                                                                 \
            const T mm = m[0], ss = s[0], bb = b[0];                                          \
            if (req == AM_REQ_ADD)                                                            \
                for (int64_t i = 0; i < in; i++) yr[i] += (xr[i] - mm) * ss + bb;             \
            else                                                                              \
                for (int64_t i = 0; i < in; i++) yr[i] = (xr[i] - mm) * ss + bb;              \
        }                                                                                     \
    }

/* One block of the forward: statistics, moving-statistics update, hidden outputs, and
 * the normalised output. */
#define DEF_BN_FWD(T)                                                                         \
    DEF_BN_SUMS(T)                                                                            \
    DEF_BN_STATS(T)                                                                           \
    DEF_BN_APPLY(T)                                                                           \
    static void bn_fwd_##T(const am_view *in, const am_view *out, const bn_args *a,           \
                           int64_t c0, int64_t w)                                             \
    {                                                                                         \
        double mu[NORM_TILE], var[NORM_TILE];                                                 \
        T m[NORM_TILE], s[NORM_TILE], b[NORM_TILE];                                           \
        const T *gamma = in[1].data, *beta = in[2].data;                                      \
        T *mm = in[3].data, *mv = in[4].data, *om = out[1].data, *ov = out[2].data;           \
        const am_req *req = a->req;                                                           \
        bool update = a->batch && a->g.outer * a->g.inner > 0;                                \
        if (a->batch) bn_stats_##T(in[0].data, &a->g, c0, w, mu, var);                        \
        for (int64_t j = 0; j < w; j++) {                                                     \
            int64_t c = c0 + j;                                                               \
            double iv;                                                                        \
            if (a->batch) {                                                                   \
                iv = var[j] == 0 && a->eps == 0 ? 0 : 1.0 / sqrt(var[j] + a->eps);            \
            } else {                                                                          \
                mu[j] = mm[c];                                                                \
                iv = 1.0 / sqrt(mv[c] + a->eps);                                              \
            }                                                                                 \
            if (update) {                                                                     \
                mm[c] = (T)(mm[c] * a->momentum + mu[j] * (1 - a->momentum));                 \
                mv[c] = (T)(mv[c] * a->momentum + var[j] * (1 - a->momentum));                \
            }                                                                                 \
            if (req[1] != AM_REQ_NULL) STORE(om, c, (T)mu[j], req[1]);                        \
            if (req[2] != AM_REQ_NULL) STORE(ov, c, (T)iv, req[2]);                           \
            m[j] = (T)mu[j];                                                                  \
            s[j] = (T)(a->fix_gamma ? iv : iv * gamma[c]);                                    \
            b[j] = beta[c];                                                                   \
        }                                                                                     \
        if (req[0] != AM_REQ_NULL)                                                            \
            bn_apply_##T(in[0].data, out[0].data, &a->g, c0, w, m, s, b, req[0]);             \
    }
DEF_BN_FWD(float)
DEF_BN_FWD(double)

static am_status batch_norm_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const batch_norm_attrs *ba = attrs;
    bn_args a = {.batch = ctx->training && !ba->use_global_stats, .fix_gamma = ba->fix_gamma,
                 .eps = ba->eps, .momentum = ba->momentum, .req = req};
    am_status st = bn_geometry(&in[0], ba->axis, &a.g);
    if (st != AM_OK) return st;
    int64_t nb = bn_blocks(&a.g), n = am_view_size(&in[0]);
    bool f32 = in[0].dtype == AM_DTYPE_FLOAT32;
    AM_OMP_FOR_N for (int64_t k = 0; k < nb; k++) {
        int64_t c0, w;
        bn_block(&a.g, k, &c0, &w);
        if (f32) bn_fwd_float(in, out, &a, c0, w);
        else bn_fwd_double(in, out, &a, c0, w);
    }
    return AM_OK;
}

/* ---- _backward_BatchNorm: (out_grad, mean, invstd, data, gamma, beta, moving_mean,
 * moving_var) -> (data, gamma, beta) gradients, MXNet's layout. ---------------------------- */

static am_status bn_backward_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                   int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    char b1[96], b2[96];
    int axis;
    am_status st = bn_check_shapes(attrs, in, 3, &axis);
    if (st != AM_OK) return st;
    int64_t c = in[3].dim[axis];
    if (!same_shape(&in[0], &in[3]))
        return am_fail(AM_ERR_SHAPE, "out_grad %s does not match data %s",
                       am_shape_format(&in[0], b1, sizeof(b1)),
                       am_shape_format(&in[3], b2, sizeof(b2)));
    if ((st = vector_input(in, 1, "mean", c, "its channels")) != AM_OK) return st;
    if ((st = vector_input(in, 2, "var", c, "its channels")) != AM_OK) return st;
    out[0] = in[3];
    out[1] = out[2] = in[4];
    return AM_OK;
}

DEF_DTYPE_FN(bn_backward_dtype, "out_grad", "mean", "var", "data", "gamma", "beta",
             "moving_mean", "moving_var")

/* sum(dy) and sum(dy * (x - m)) of channels [c0, c0 + w). */
#define DEF_BN_GSUMS(T)                                                                       \
    AM_FAST_CLONES                                                                            \
    static void bn_gsums_##T(const T *restrict dy, const T *restrict x, const bn_geom *g,     \
                             int64_t c0, int64_t w, const T *m, double *sd, double *sdx)      \
    {                                                                                         \
        int64_t C = g->c, in = g->inner;                                                      \
        for (int64_t j = 0; j < w; j++) sd[j] = sdx[j] = 0;                                   \
        for (int64_t o = 0; o < g->outer; o++) {                                              \
            const T *dr = dy + (o * C + c0) * in, *xr = x + (o * C + c0) * in;                \
            if (in == 1) {                                                                    \
                for (int64_t j = 0; j < w; j++) {                                             \
                    sd[j] += dr[j];                                                           \
                    sdx[j] += (double)dr[j] * (xr[j] - m[j]);                                 \
                }                                                                             \
                continue;                                                                     \
            }                                                                                 \
            bn_dsum_##T(dr, xr, in, m, &sd[0], &sdx[0]);                                       \
        }                                                                                     \
    }

/* dx = (dy - gm - (x - m) * k) * iw on channels [c0, c0 + w). */
#define DEF_BN_GAPPLY(T)                                                                      \
    AM_FAST_CLONES                                                                            \
    static void bn_gapply_##T(const T *dy, const T *x, T *dx, const bn_geom *g, int64_t c0,   \
                              int64_t w, const T *m, const T *gm, const T *k, const T *iw,    \
                              am_req req)                                                     \
    {                                                                                         \
        int64_t C = g->c, in = g->inner;                                                      \
        for (int64_t o = 0; o < g->outer; o++) {                                              \
            int64_t off = (o * C + c0) * in;                                                  \
            const T *dr = dy + off, *xr = x + off;                                            \
            T *gr = dx + off;                                                                 \
            for (int64_t j = 0; j < w; j++) {                                                 \
                const T mm = m[j], gg = gm[j], kk = k[j], ii = iw[j];                         \
                const T *d = dr + j * in, *xx = xr + j * in;                                  \
                T *r = gr + j * in;                                                           \
                if (req == AM_REQ_ADD)                                                        \
                    for (int64_t i = 0; i < in; i++) r[i] += (d[i] - gg - (xx[i] - mm) * kk) * ii; \
                else                                                                          \
                    for (int64_t i = 0; i < in; i++) r[i] = (d[i] - gg - (xx[i] - mm) * kk) * ii; \
            }                                                                                 \
        }                                                                                     \
    }

#define DEF_BN_BWD(T)                                                                         \
    DEF_BN_GSUMS(T)                                                                           \
    DEF_BN_GAPPLY(T)                                                                          \
    static void bn_bwd_##T(const am_view *in, const am_view *out, const bn_args *a,           \
                           int64_t c0, int64_t w)                                             \
    {                                                                                         \
        double sd[NORM_TILE], sdx[NORM_TILE], cnt = (double)(a->g.outer * a->g.inner);        \
        T gm[NORM_TILE], k[NORM_TILE], iw[NORM_TILE];                                         \
        const T *m = (const T *)in[1].data + c0, *invstd = in[2].data, *gamma = in[4].data;   \
        T *dg = out[1].data, *db = out[2].data;                                               \
        const am_req *req = a->req;                                                           \
        bn_gsums_##T(in[0].data, in[3].data, &a->g, c0, w, m, sd, sdx);                       \
        for (int64_t j = 0; j < w; j++) {                                                     \
            int64_t c = c0 + j;                                                               \
            double iv = invstd[c], gw = a->fix_gamma ? 1.0 : (double)gamma[c];                \
            double dgc = a->fix_gamma || cnt == 0 ? 0 : sdx[j] * iv;                         \
            if (req[1] != AM_REQ_NULL) STORE(dg, c, (T)dgc, req[1]);                          \
            if (req[2] != AM_REQ_NULL) STORE(db, c, (T)sd[j], req[2]);                        \
            bool batch = a->batch && cnt > 0;                                                 \
            gm[j] = (T)(batch ? sd[j] / cnt : 0);                                             \
            k[j] = (T)(batch ? sdx[j] * iv * iv / cnt : 0);                                   \
            iw[j] = (T)(iv * gw);                                                             \
        }                                                                                     \
        if (req[0] != AM_REQ_NULL)                                                            \
            bn_gapply_##T(in[0].data, in[3].data, out[0].data, &a->g, c0, w, m, gm, k, iw,    \
                          req[0]);                                                            \
    }
DEF_BN_BWD(float)
DEF_BN_BWD(double)

/* Uses the saved batch statistics when training (and not use_global_stats), else the
 * scale-and-shift formula; the saved mean and inverse std are whatever the forward
 * used, so the moving statistics (inputs 6, 7) are not read. */
static am_status bn_backward_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                 int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const batch_norm_attrs *ba = attrs;
    bn_args a = {.batch = ctx->training && !ba->use_global_stats, .fix_gamma = ba->fix_gamma,
                 .eps = ba->eps, .req = req};
    am_status st = bn_geometry(&in[3], ba->axis, &a.g);
    if (st != AM_OK) return st;
    int64_t nb = bn_blocks(&a.g), n = am_view_size(&in[3]);
    bool f32 = in[0].dtype == AM_DTYPE_FLOAT32;
    AM_OMP_FOR_N for (int64_t k = 0; k < nb; k++) {
        int64_t c0, w;
        bn_block(&a.g, k, &c0, &w);
        if (f32) bn_bwd_float(in, out, &a, c0, w);
        else bn_bwd_double(in, out, &a, c0, w);
    }
    return AM_OK;
}

const am_op_def am_op_backward_batch_norm = {
    .name = "_backward_BatchNorm",
    .input_names = (const char *const[]){"out_grad", "mean", "var", "data", "gamma", "beta",
                                         "moving_mean", "moving_var", NULL},
    .num_outputs = 3, .num_visible = all_visible3, .attrs = batch_norm_fields,
    .attrs_size = sizeof(batch_norm_attrs), .infer_shape = bn_backward_shape,
    .infer_dtype = bn_backward_dtype, .cpu = bn_backward_cpu, .inplace = same_slot,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Gradients of BatchNorm's data, gamma and beta from its output gradient, saved "
           "mean and inverse std (batch formula when training)."};

/* The gradients of the hidden mean and inverse std are blocked, as in MXNet; the
 * moving statistics get none. */
static am_status batch_norm_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                                 am_array *const *og, am_array **ig)
{
    am_array *bin[8] = {og[0], out[1], out[2], in[0], in[1], in[2], in[3], in[4]};
    am_array *r[3] = {0};
    am_status st = am_op_call(&am_op_backward_batch_norm, g->attrs, bin, 8, r, 3, g->at);
    if (st != AM_OK) return st;
    for (int i = 0; i < 3; i++)
        if (g->need_grad[i]) ig[i] = r[i];
    return AM_OK;
}

static void batch_norm_facet_read(const void *attrs, am_batchnorm_attrs *b)
{
    const batch_norm_attrs *a = attrs;
    *b = (am_batchnorm_attrs){.axis = a->axis, .eps = a->eps, .fix_gamma = a->fix_gamma};
}

static const am_batchnorm_facet batch_norm_facet = {
    .data = 0, .gamma = 1, .beta = 2, .moving_mean = 3, .moving_var = 4,
    .read = batch_norm_facet_read};

const am_op_def am_op_batch_norm = {
    .name = "BatchNorm", .aliases = (const char *const[]){"_npx_batch_norm", "BatchNorm_v1", NULL},
    .input_names = (const char *const[]){"data", "gamma", "beta", "moving_mean", "moving_var",
                                         NULL},
    .num_outputs = 3, .num_visible = batch_norm_visible, .num_aux = 2,
    .attrs = batch_norm_fields, .attrs_size = sizeof(batch_norm_attrs),
    .infer_shape = batch_norm_shape, .infer_dtype = batch_norm_dtype, .cpu = batch_norm_cpu,
    .gradient = batch_norm_grad, .inplace = same_slot, .fuse = AM_FUSE_OPAQUE,
    .batchnorm = &batch_norm_facet,
    .doc = "(x - mean) / sqrt(var + eps) * gamma + beta per channel (axis), with batch "
           "statistics in training (updating moving_mean, moving_var) and the moving ones "
           "otherwise; outputs (out, mean, inverse std)."};

am_array *am_batch_norm_at(am_array *x, am_array *gamma, am_array *beta, am_array *moving_mean,
                           am_array *moving_var, double eps, double momentum, bool fix_gamma,
                           bool use_global_stats, int axis, am_site at)
{
    batch_norm_attrs a;
    am_attrs_init(&am_op_batch_norm, &a);
    a.eps = eps, a.momentum = momentum, a.fix_gamma = fix_gamma;
    a.use_global_stats = use_global_stats, a.axis = axis;
    am_array *in[5] = {x, gamma, beta, moving_mean, moving_var}, *y = NULL;
    am_op_call(&am_op_batch_norm, &a, in, 5, &y, 1, at);
    return y;
}

/* ---- L2Normalization -------------------------------------------------------------------- */

enum { L2_INSTANCE, L2_CHANNEL, L2_SPATIAL };
static const char *const l2_modes[] = {"instance", "channel", "spatial", NULL};

typedef struct l2_attrs {
    double eps;
    int mode;
} l2_attrs;

static const am_attr_field l2_fields[] = {
    AM_ATTR_FIELD(l2_attrs, eps, AM_ATTR_FLOAT, "1e-10", "added to the sum of squares"),
    AM_ATTR_ENUM_FIELD(l2_attrs, mode, l2_modes, "instance",
                       "instance: all axes but the first; channel: axis 1; spatial: the axes "
                       "after 1"),
    {0}};

/* The norm is taken over the middle axis of (outer, m, inner). */
typedef struct l2_geom {
    int64_t outer, m, inner;
} l2_geom;

static am_status l2_geometry(const am_shape *s, const l2_attrs *a, l2_geom *g, am_shape *norm)
{
    am_status st = data_rank(s, a->mode == L2_INSTANCE ? 1 : 3,
                             a->mode == L2_INSTANCE ? "instance mode" : "N, C, ...");
    if (st == AM_OK) st = check_eps(a->eps);
    if (st != AM_OK) return st;
    int64_t rest = 1;
    for (int i = 2; i < s->ndim; i++) rest *= s->dim[i];
    *norm = (am_shape){.ndim = 1, .dim = {s->dim[0]}};
    if (a->mode == L2_INSTANCE) {
        *g = (l2_geom){s->dim[0], s->ndim > 1 ? s->dim[1] * rest : 1, 1};
    } else if (a->mode == L2_CHANNEL) {
        *g = (l2_geom){s->dim[0], s->dim[1], rest};
        *norm = *s;
        norm->dim[1] = 1;
    } else {
        *g = (l2_geom){s->dim[0] * s->dim[1], rest, 1};
        *norm = (am_shape){.ndim = 2, .dim = {s->dim[0], s->dim[1]}};
    }
    return AM_OK;
}

static am_status l2_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    l2_geom g;
    out[0] = in[0];
    return l2_geometry(&in[0], attrs, &g, &out[1]);
}

DEF_DTYPE_FN(l2_dtype, "data")

static am_status l2_view_geometry(const am_view *x, const l2_attrs *a, l2_geom *g)
{
    am_shape s = {.ndim = x->ndim}, norm;
    for (int i = 0; i < x->ndim; i++) s.dim[i] = x->dim[i];
    return l2_geometry(&s, a, g, &norm);
}

/* Forward (back false): nrm = sqrt(sum x^2 + eps) and y = x / nrm, with x = p.
 * Backward: dx = (dy - y * sum(dy * y)) / nrm, with dy = p, y = q and nrm given. */
typedef struct l2_args {
    double eps;
    bool back;
    const am_req *req;
} l2_args;

/* One contiguous row of m elements. */
#define DEF_L2_ROW(T)                                                                         \
    static void l2_row_##T(const T *p, const T *q, T *nrm, T *res, int64_t m,                 \
                           const l2_args *a)                                                  \
    {                                                                                         \
        const T *b = a->back ? q : p;                                                         \
        double s = 0;                                                                         \
        _Pragma("omp simd reduction(+:s)")                                                    \
        for (int64_t k = 0; k < m; k++) s += (double)p[k] * b[k];                             \
        T r, d = (T)s;                                                                        \
        if (!a->back) {                                                                       \
            double v = sqrt(s + a->eps);                                                      \
            if (a->req[1] != AM_REQ_NULL) STORE(nrm, 0, (T)v, a->req[1]);                     \
            r = (T)(1.0 / v), d = 0;                                                          \
        } else {                                                                              \
            r = (T)(1.0 / nrm[0]);                                                            \
        }                                                                                     \
        if (a->req[0] == AM_REQ_ADD)                                                          \
            for (int64_t k = 0; k < m; k++) res[k] += (p[k] - b[k] * d) * r;                  \
        else if (a->req[0] != AM_REQ_NULL)                                                    \
            for (int64_t k = 0; k < m; k++) res[k] = (p[k] - b[k] * d) * r;                   \
    }

/* w columns (stride inner) of an (m, inner) block. */
#define DEF_L2_COLS(T)                                                                        \
    static void l2_cols_##T(const T *p, const T *q, T *nrm, T *res, int64_t w, int64_t m,     \
                            int64_t inner, const l2_args *a)                                  \
    {                                                                                         \
        const T *b = a->back ? q : p;                                                         \
        double s[NORM_TILE];                                                                  \
        T r[NORM_TILE], d[NORM_TILE];                                                         \
        for (int64_t j = 0; j < w; j++) s[j] = 0;                                             \
        for (int64_t k = 0; k < m; k++)                                                       \
            for (int64_t j = 0; j < w; j++) s[j] += (double)p[k * inner + j] * b[k * inner + j]; \
        for (int64_t j = 0; j < w; j++) {                                                     \
            if (!a->back) {                                                                   \
                double v = sqrt(s[j] + a->eps);                                               \
                if (a->req[1] != AM_REQ_NULL) STORE(nrm, j, (T)v, a->req[1]);                 \
                r[j] = (T)(1.0 / v), d[j] = 0;                                                \
            } else {                                                                          \
                r[j] = (T)(1.0 / nrm[j]), d[j] = (T)s[j];                                     \
            }                                                                                 \
        }                                                                                     \
        if (a->req[0] == AM_REQ_NULL) return;                                                 \
        for (int64_t k = 0; k < m; k++)                                                       \
            for (int64_t j = 0; j < w; j++) {                                                 \
                int64_t i = k * inner + j;                                                    \
                STORE(res, i, (p[i] - b[i] * d[j]) * r[j], a->req[0]);                        \
            }                                                                                 \
    }

#define DEF_L2(T)                                                                             \
    DEF_L2_ROW(T)                                                                             \
    DEF_L2_COLS(T)                                                                            \
    static void l2_##T(const am_view *in, const am_view *out, const l2_geom *g,               \
                       const l2_args *a)                                                      \
    {                                                                                         \
        const T *p = in[0].data, *q = a->back ? in[1].data : NULL;                            \
        T *nrm = a->back ? in[2].data : out[1].data, *res = out[0].data;                      \
        int64_t m = g->m, inner = g->inner, n = g->outer * m * inner;                         \
        if (inner == 1) {                                                                     \
            AM_OMP_FOR_N for (int64_t o = 0; o < g->outer; o++)                               \
                l2_row_##T(p + o * m, q ? q + o * m : NULL, nrm + o, res + o * m, m, a);      \
            return;                                                                           \
        }                                                                                     \
        int64_t nt = (inner + NORM_TILE - 1) / NORM_TILE;                                     \
        AM_OMP_FOR_N for (int64_t t = 0; t < g->outer * nt; t++) {                            \
            int64_t o = t / nt, j0 = t % nt * NORM_TILE, w = MIN64(NORM_TILE, inner - j0);    \
            int64_t off = o * m * inner + j0;                                                 \
            l2_cols_##T(p + off, q ? q + off : NULL, nrm + o * inner + j0, res + off, w, m,   \
                        inner, a);                                                            \
        }                                                                                     \
    }
DEF_L2(float)
DEF_L2(double)

static am_status l2_run(const am_view *in, const am_view *out, const l2_attrs *la,
                        const am_view *data, bool back, const am_req *req)
{
    l2_geom g;
    l2_args a = {.eps = la->eps, .back = back, .req = req};
    am_status st = l2_view_geometry(data, la, &g);
    if (st != AM_OK) return st;
    if (in[0].dtype == AM_DTYPE_FLOAT32) l2_float(in, out, &g, &a);
    else l2_double(in, out, &g, &a);
    return AM_OK;
}

static am_status l2_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                        int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return l2_run(in, out, attrs, &in[0], false, req);
}

/* ---- _backward_L2Normalization: (out_grad, output, norm) -> data gradient ---------------- */

static am_status l2_backward_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                   int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    static const char *const names[] = {"out_grad", "output", "norm"};
    char b1[96], b2[96], b3[96];
    l2_geom g;
    am_shape want[3] = {in[1], in[1]};
    am_status st = l2_geometry(&in[1], attrs, &g, &want[2]);
    if (st != AM_OK) return st;
    for (int i = 0; i < 3; i += 2) {
        if (in[i].ndim < 0) in[i] = want[i];
        if (!same_shape(&in[i], &want[i]))
            return am_fail(AM_ERR_SHAPE, "%s %s must be %s for output %s", names[i],
                           am_shape_format(&in[i], b1, sizeof(b1)),
                           am_shape_format(&want[i], b2, sizeof(b2)),
                           am_shape_format(&in[1], b3, sizeof(b3)));
    }
    out[0] = in[1];
    return AM_OK;
}

DEF_DTYPE_FN(l2_backward_dtype, "out_grad", "output", "norm")

static am_status l2_backward_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                 int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return l2_run(in, out, attrs, &in[1], true, req);
}

const am_op_def am_op_backward_l2_normalization = {
    .name = "_backward_L2Normalization",
    .input_names = (const char *const[]){"out_grad", "output", "norm", NULL},
    .num_outputs = 1, .attrs = l2_fields, .attrs_size = sizeof(l2_attrs),
    .infer_shape = l2_backward_shape, .infer_dtype = l2_backward_dtype, .cpu = l2_backward_cpu,
    .inplace = same_slot, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Gradient of L2Normalization from its output gradient, output and norm."};

/* The norm output is always hidden: its gradient is zero. */
static am_status l2_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                         am_array *const *og, am_array **ig)
{
    AM_UNUSED(in);
    am_array *bin[3] = {og[0], out[0], out[1]};
    return am_op_call(&am_op_backward_l2_normalization, g->attrs, bin, 3, &ig[0], 1, g->at);
}

const am_op_def am_op_l2_normalization = {
    .name = "L2Normalization", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 2, .num_visible = one_visible, .attrs = l2_fields,
    .attrs_size = sizeof(l2_attrs), .infer_shape = l2_shape, .infer_dtype = l2_dtype,
    .cpu = l2_cpu, .gradient = l2_grad, .inplace = same_slot, .fuse = AM_FUSE_OPAQUE,
    .doc = "data / sqrt(sum(data^2) + eps) over the axes mode names; outputs (out, norm)."};

am_array *am_l2_normalization_at(am_array *x, double eps, const char *mode, am_site at)
{
    l2_attrs a = {.eps = eps, .mode = L2_INSTANCE};
    for (int i = 0; mode && l2_modes[i]; i++)
        if (strcmp(mode, l2_modes[i]) == 0) a.mode = i;
    if (x && mode && strcmp(mode, l2_modes[a.mode]) != 0)
        return am_fail_null("L2Normalization", at, AM_ERR_ARG,
                            "mode '%s' is not one of instance, channel, spatial", mode);
    am_array *y = NULL;
    am_op_call(&am_op_l2_normalization, &a, &x, 1, &y, 1, at);
    return y;
}
