/* Deformable convolutions as MXNet 1.9.1 has them: _contrib_DeformableConvolution
 * (Deformable ConvNets v1) and _contrib_ModulatedDeformableConvolution (v2, with a
 * mask), and their backward ops _backward__contrib_DeformableConvolution and
 * _backward__contrib_ModulatedDeformableConvolution.
 *
 * 2-D only (NCHW), as MXNet's.  data (N, C, H, W), offset (N, 2 * DG * kh * kw,
 * Ho, Wo), [mask (N, DG * kh * kw, Ho, Wo)], weight (F, C / groups, kh, kw),
 * [bias (F)].  Tap (i, j) of output pixel (y, x), for a channel of deformable
 * group d (C / DG channels each), samples the channel at (y * sh - ph + i * dh +
 * offset[n, 2 * (d * K + k), y, x], x * sw - pw + j * dw + offset[n, 2 * (d * K +
 * k) + 1, y, x]) (k = i * kw + j, K = kh * kw) bilinearly, by MXNet's two
 * rules: ModulatedDeformableConvolution gives 0 unless the point is inside
 * (-1, H) x (-1, W) and counts each neighbour off the map as 0;
 * DeformableConvolution gives 0 unless it is inside [0, H) x [0, W) and clamps
 * it to the last row and column.  The sample (times mask[n, d * K + k, y, x]) goes through the
 * grouped convolution's weights as a column of an im2col GEMM.  Gradients
 * flow to data, offset, mask, weight and bias (the offset's through the
 * bilinear slope, the mask's through the unmasked sample).
 * Docs: docs/detection.md. */
#include "../ndarray_impl.h"
#include "shape_impl.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

typedef struct dconv_attrs {
    am_tuple kernel, stride, dilate, pad;
    int64_t num_filter, num_group, num_deformable_group, workspace;
    bool no_bias;
    int64_t im2col_step; /* ModulatedDeformableConvolution only */
    int layout;
} dconv_attrs;

static const char *const dconv_layouts[] = {"None", "NCDHW", "NCHW", "NCW", NULL};

#define DCONV_FIELDS_HEAD                                                                    \
    AM_ATTR_FIELD(dconv_attrs, kernel, AM_ATTR_TUPLE, NULL, "kernel size (h, w)"),          \
    AM_ATTR_FIELD(dconv_attrs, stride, AM_ATTR_TUPLE, "()", "stride; (): (1, 1)"),          \
    AM_ATTR_FIELD(dconv_attrs, dilate, AM_ATTR_TUPLE, "()", "dilation; (): (1, 1)"),        \
    AM_ATTR_FIELD(dconv_attrs, pad, AM_ATTR_TUPLE, "()", "zero padding per side; (): none"), \
    AM_ATTR_FIELD(dconv_attrs, num_filter, AM_ATTR_INT, NULL, "output channels"),           \
    AM_ATTR_FIELD(dconv_attrs, num_group, AM_ATTR_INT, "1", "groups the channels split into"), \
    AM_ATTR_FIELD(dconv_attrs, num_deformable_group, AM_ATTR_INT, "1",                      \
                  "channel groups that share an offset (and mask) field"),                  \
    AM_ATTR_FIELD(dconv_attrs, workspace, AM_ATTR_INT, "1024", "accepted; MB hint in MXNet"), \
    AM_ATTR_FIELD(dconv_attrs, no_bias, AM_ATTR_BOOL, "False", "no bias input")
#define DCONV_LAYOUT                                                                         \
    AM_ATTR_ENUM_FIELD(dconv_attrs, layout, dconv_layouts, "None", "NCHW (the only one) or None")

static const am_attr_field dconv_fields[] = {DCONV_FIELDS_HEAD, DCONV_LAYOUT, {0}};
static const am_attr_field mdconv_fields[] = {
    DCONV_FIELDS_HEAD,
    AM_ATTR_FIELD(dconv_attrs, im2col_step, AM_ATTR_INT, "64",
                  "accepted; images per im2col block in MXNet"),
    DCONV_LAYOUT,
    {0}};

/* The problem's sizes. */
typedef struct dgeom {
    int64_t n, c, h, w, f, kh, kw, sh, sw, dh, dw, ph, pw, ho, wo, g, dg;
    bool mod;
} dgeom;

static int64_t tup(const am_tuple *t, int i, int64_t dflt)
{
    return t->ndim == 2 ? t->v[i] : dflt;
}

/* Geometry from data's shape; AM_ERR_ARG/SHAPE on bad attributes or data. */
static am_status dconv_geom(const dconv_attrs *a, bool mod, const am_shape *data, dgeom *g)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    const am_tuple *tt[3] = {&a->stride, &a->dilate, &a->pad};
    const char *names[3] = {"stride", "dilate", "pad"};
    if (a->kernel.ndim != 2 || a->kernel.v[0] < 1 || a->kernel.v[1] < 1)
        return am_fail(AM_ERR_ARG, "kernel=%s must be 2 positive sizes (h, w): MXNet's "
                       "deformable convolutions are 2-D", am_fmt_tuple(&a->kernel, b0));
    for (int i = 0; i < 3; i++)
        if ((tt[i]->ndim != 0 && tt[i]->ndim != 2) ||
            (tt[i]->ndim == 2 && (tt[i]->v[0] < (i == 2 ? 0 : 1) || tt[i]->v[1] < (i == 2 ? 0 : 1))))
            return am_fail(AM_ERR_ARG, "%s=%s must be () or 2 %s sizes", names[i],
                           am_fmt_tuple(tt[i], b0), i == 2 ? "nonnegative" : "positive");
    if (a->layout != 0 && a->layout != 2)
        return am_fail(AM_ERR_ARG, "layout=%s: only NCHW is supported, as in MXNet",
                       dconv_layouts[a->layout]);
    if (a->num_filter < 1 || a->num_group < 1 || a->num_deformable_group < 1)
        return am_fail(AM_ERR_ARG, "num_filter=%lld, num_group=%lld and num_deformable_group="
                       "%lld must be positive", (long long)a->num_filter,
                       (long long)a->num_group, (long long)a->num_deformable_group);
    if (data->ndim != 4)
        return am_fail(AM_ERR_SHAPE, "data %s must be (N, C, H, W)", am_fmt_shape(data, b0));
    *g = (dgeom){.n = data->dim[0], .c = data->dim[1], .h = data->dim[2], .w = data->dim[3],
                 .f = a->num_filter, .kh = a->kernel.v[0], .kw = a->kernel.v[1],
                 .sh = tup(&a->stride, 0, 1), .sw = tup(&a->stride, 1, 1),
                 .dh = tup(&a->dilate, 0, 1), .dw = tup(&a->dilate, 1, 1),
                 .ph = tup(&a->pad, 0, 0), .pw = tup(&a->pad, 1, 0), .g = a->num_group,
                 .dg = a->num_deformable_group, .mod = mod};
    if (g->c % g->g || g->f % g->g || g->c % g->dg)
        return am_fail(AM_ERR_SHAPE, "data %s: channels must divide by num_group=%lld and "
                       "num_deformable_group=%lld, and num_filter=%lld by num_group",
                       am_fmt_shape(data, b0), (long long)g->g, (long long)g->dg,
                       (long long)g->f);
    if (mod && g->f % g->dg)
        return am_fail(AM_ERR_ARG, "num_filter=%lld must divide by num_deformable_group=%lld "
                       "(MXNet's check for the modulated form)", (long long)g->f,
                       (long long)g->dg);
    int64_t eh = g->dh * (g->kh - 1) + 1, ew = g->dw * (g->kw - 1) + 1;
    if (g->h + 2 * g->ph < eh || g->w + 2 * g->pw < ew)
        return am_fail(AM_ERR_SHAPE, "data %s padded by %s is smaller than the dilated kernel "
                       "(%lld, %lld)", am_fmt_shape(data, b0), am_fmt_tuple(&a->pad, b1),
                       (long long)eh, (long long)ew);
    g->ho = (g->h + 2 * g->ph - eh) / g->sh + 1;
    g->wo = (g->w + 2 * g->pw - ew) / g->sw + 1;
    return AM_OK;
}

static int dconv_num_inputs(const void *attrs)
{
    return 3 + !((const dconv_attrs *)attrs)->no_bias;
}

static int mdconv_num_inputs(const void *attrs)
{
    return 4 + !((const dconv_attrs *)attrs)->no_bias;
}

/* Fills or checks input shape s against want. */
static am_status fit(am_shape *s, am_shape want, const char *name)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    if (s->ndim < 0) *s = want;
    else if (!am_shape_equal(*s, want))
        return am_fail(AM_ERR_SHAPE, "%s %s must be %s", name, am_fmt_shape(s, b0),
                       am_fmt_shape(&want, b1));
    return AM_OK;
}

/* The shapes of the operands after data: offset, [mask], weight, [bias]. */
static am_status operand_shapes(const dconv_attrs *a, const dgeom *g, am_shape *in, int n_in)
{
    int64_t kk = g->kh * g->kw;
    int i = 1;
    am_status st = fit(&in[i++], AM_SHAPE(g->n, 2 * g->dg * kk, g->ho, g->wo), "offset");
    if (st == AM_OK && g->mod) st = fit(&in[i++], AM_SHAPE(g->n, g->dg * kk, g->ho, g->wo), "mask");
    if (st == AM_OK) st = fit(&in[i++], AM_SHAPE(g->f, g->c / g->g, g->kh, g->kw), "weight");
    if (st == AM_OK && !a->no_bias && i < n_in) st = fit(&in[i], AM_SHAPE(g->f), "bias");
    return st;
}

static am_status dconv_shape_common(const dconv_attrs *a, bool mod, am_shape *in, int n_in,
                                    am_shape *out)
{
    if (in[0].ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of data is unknown");
    dgeom g;
    am_status st = dconv_geom(a, mod, &in[0], &g);
    if (st == AM_OK) st = operand_shapes(a, &g, in, n_in);
    if (st != AM_OK) return st;
    out[0] = AM_SHAPE(g.n, g.f, g.ho, g.wo);
    return AM_OK;
}

static am_status dconv_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_out);
    return dconv_shape_common(attrs, false, in, n_in, out);
}

static am_status mdconv_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_out);
    return dconv_shape_common(attrs, true, in, n_in, out);
}

/* One column buffer (C * K x Ho * Wo) per image; the backward also a gradient one. */
static size_t dconv_col_bytes(const dconv_attrs *a, const am_shape *data)
{
    dgeom g;
    if (dconv_geom(a, false, data, &g) != AM_OK) return 0;
    return (size_t)(g.c * g.kh * g.kw * g.ho * g.wo) * sizeof(double) + 64;
}

static size_t dconv_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(n_in);
    return dconv_col_bytes(attrs, &in[0]);
}

static size_t dconv_bwd_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(n_in);
    return 2 * dconv_col_bytes(attrs, &in[1]);
}

/* ---- kernels, once per element type ------------------------------------------------- */

#define DCONV_KERNELS(T, GEMM, SFX)                                                          \
    /* The bilinear corners of (y, z) on an h x w plane, MXNet's rules: v2 (modulated) \
     * samples inside (-1, h) x (-1, w), corners off the map counting as 0; v1 samples  \
     * inside [0, h) x [0, w) and clamps to the last row and column.  False: no sample. */ \
    static bool corners_##SFX(bool v2, int64_t h, int64_t w, T *y, T *z, int64_t *yl,      \
                              int64_t *zl, int64_t *yh, int64_t *zh)                       \
    {                                                                                        \
        if (v2 ? !(*y > -1 && *z > -1 && *y < h && *z < w)                                  \
               : !(*y >= 0 && *z >= 0 && *y < h && *z < w))                                 \
            return false;                                                                    \
        *yl = (int64_t)floor(*y), *zl = (int64_t)floor(*z), *yh = *yl + 1, *zh = *zl + 1;   \
        if (!v2 && *yl >= h - 1) *yl = *yh = h - 1, *y = (T)(h - 1);                         \
        if (!v2 && *zl >= w - 1) *zl = *zh = w - 1, *z = (T)(w - 1);                         \
        return true;                                                                         \
    }                                                                                        \
    /* The bilinear sample of plane x at (y, z) with its slopes. */                          \
    static T sample_##SFX(bool v2, const T *x, int64_t h, int64_t w, T y, T z, T *gy, T *gz) \
    {                                                                                        \
        int64_t yl, zl, yh, zh;                                                              \
        *gy = 0, *gz = 0;                                                                    \
        if (!corners_##SFX(v2, h, w, &y, &z, &yl, &zl, &yh, &zh)) return 0;                  \
        T ly = y - (T)yl, lz = z - (T)zl, hy = 1 - ly, hz = 1 - lz;                          \
        T v1 = yl >= 0 && zl >= 0 ? x[yl * w + zl] : 0;                                      \
        T v2_ = yl >= 0 && zh <= w - 1 ? x[yl * w + zh] : 0;                                 \
        T v3 = yh <= h - 1 && zl >= 0 ? x[yh * w + zl] : 0;                                  \
        T v4 = yh <= h - 1 && zh <= w - 1 ? x[yh * w + zh] : 0;                              \
        *gy = -hz * v1 - lz * v2_ + hz * v3 + lz * v4;                                       \
        *gz = -hy * v1 + hy * v2_ - ly * v3 + ly * v4;                                       \
        return hy * hz * v1 + hy * lz * v2_ + ly * hz * v3 + ly * lz * v4;                  \
    }                                                                                        \
    /* Adds v times the bilinear weights of (y, z) to plane dx. */                           \
    static void scatter_##SFX(bool v2, T *dx, int64_t h, int64_t w, T y, T z, T v)           \
    {                                                                                        \
        int64_t yl, zl, yh, zh;                                                              \
        if (!corners_##SFX(v2, h, w, &y, &z, &yl, &zl, &yh, &zh)) return;                    \
        T ly = y - (T)yl, lz = z - (T)zl, hy = 1 - ly, hz = 1 - lz;                          \
        if (yl >= 0 && zl >= 0) dx[yl * w + zl] += hy * hz * v;                              \
        if (yl >= 0 && zh <= w - 1) dx[yl * w + zh] += hy * lz * v;                          \
        if (yh <= h - 1 && zl >= 0) dx[yh * w + zl] += ly * hz * v;                          \
        if (yh <= h - 1 && zh <= w - 1) dx[yh * w + zh] += ly * lz * v;                      \
    }                                                                                        \
    /* Image n: col (C * K x P), or with dcol the gradients of data, offset and mask. */    \
    static void columns_##SFX(const dgeom *g, const T *x, const T *off, const T *mask,      \
                              T *col, const T *dcol, T *dx, T *doff, T *dmask)               \
    {                                                                                        \
        const int64_t kk = g->kh * g->kw, p = g->ho * g->wo, cpg = g->c / g->dg;             \
        if (!dcol) { /* im2col: channels write their own rows, in parallel */                \
            const int64_t n = g->c * kk * p;                                                 \
            AM_OMP_FOR_N                                                                     \
            for (int64_t c = 0; c < g->c; c++) {                                             \
                const int64_t d = c / cpg;                                                   \
                const T *xc = x + c * g->h * g->w;                                           \
                for (int64_t k = 0; k < kk; k++) {                                           \
                    const int64_t i = k / g->kw, j = k % g->kw;                              \
                    const T *oy = off + (d * kk + k) * 2 * p, *oz = oy + p;                  \
                    const T *m = mask ? mask + (d * kk + k) * p : NULL;                      \
                    for (int64_t yx = 0; yx < p; yx++) {                                     \
                        int64_t y = yx / g->wo, z = yx % g->wo;                              \
                        T sy = (T)(y * g->sh - g->ph + i * g->dh) + oy[yx];                  \
                        T sz = (T)(z * g->sw - g->pw + j * g->dw) + oz[yx], gy, gz;          \
                        col[(c * kk + k) * p + yx] =                                         \
                            sample_##SFX(g->mod, xc, g->h, g->w, sy, sz, &gy, &gz) *         \
                            (m ? m[yx] : (T)1);                                              \
                    }                                                                        \
                }                                                                            \
            }                                                                                \
            return;                                                                          \
        }                                                                                    \
        for (int64_t c = 0; c < g->c; c++) {                                                 \
            const int64_t d = c / cpg;                                                       \
            const T *xc = x + c * g->h * g->w;                                               \
            for (int64_t k = 0; k < kk; k++) {                                               \
                const int64_t i = k / g->kw, j = k % g->kw;                                  \
                const T *oy = off + (d * kk + k) * 2 * p, *oz = oy + p;                      \
                const T *m = mask ? mask + (d * kk + k) * p : NULL;                          \
                for (int64_t yx = 0; yx < p; yx++) {                                         \
                    int64_t y = yx / g->wo, z = yx % g->wo;                                  \
                    T sy = (T)(y * g->sh - g->ph + i * g->dh) + oy[yx];                      \
                    T sz = (T)(z * g->sw - g->pw + j * g->dw) + oz[yx];                      \
                    T mv = m ? m[yx] : (T)1, gy, gz;                                         \
                    T dc = dcol[(c * kk + k) * p + yx];                                      \
                    if (dc == 0) continue;                                                   \
                    if (dx) scatter_##SFX(g->mod, dx + c * g->h * g->w, g->h, g->w, sy, sz, dc * mv); \
                    if (!doff && !dmask) continue;                                           \
                    T v = sample_##SFX(g->mod, xc, g->h, g->w, sy, sz, &gy, &gz);                    \
                    if (doff) {                                                              \
                        doff[(d * kk + k) * 2 * p + yx] += gy * dc * mv;                     \
                        doff[(d * kk + k) * 2 * p + p + yx] += gz * dc * mv;                 \
                    }                                                                        \
                    if (dmask) dmask[(d * kk + k) * p + yx] += v * dc;                       \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
    static void gemm_##SFX(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T *a,   \
                           const T *b, T beta, T *c)                                         \
    {                                                                                        \
        if (m == 0 || n == 0) return;                                                        \
        if (k == 0) {                                                                        \
            for (int64_t i = 0; i < m * n; i++) c[i] = beta != 0 ? c[i] * beta : 0;          \
            return;                                                                          \
        }                                                                                    \
        GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,  \
             (int)m, (int)n, (int)k, 1, a, (int)(ta ? m : k), b, (int)(tb ? k : n), beta, c, \
             (int)n);                                                                        \
    }                                                                                        \
    static void forward_##SFX(const dgeom *g, const T *x, const T *off, const T *mask,      \
                              const T *wt, const T *bias, T *y, bool add, T *col)            \
    {                                                                                        \
        const int64_t kk = g->kh * g->kw, p = g->ho * g->wo, kg = g->c / g->g * kk;          \
        const int64_t fg = g->f / g->g;                                                      \
        for (int64_t n = 0; n < g->n; n++) {                                                 \
            columns_##SFX(g, x + n * g->c * g->h * g->w, off + n * 2 * g->dg * kk * p,       \
                          mask ? mask + n * g->dg * kk * p : NULL, col, NULL, NULL, NULL,    \
                          NULL);                                                             \
            T *yn = y + n * g->f * p;                                                        \
            for (int64_t gi = 0; gi < g->g; gi++)                                            \
                gemm_##SFX(false, false, fg, p, kg, wt + gi * fg * kg, col + gi * kg * p,    \
                           add ? 1 : 0, yn + gi * fg * p);                                   \
            if (bias)                                                                        \
                for (int64_t f = 0; f < g->f; f++)                                           \
                    for (int64_t i = 0; i < p; i++) yn[f * p + i] += bias[f];                \
        }                                                                                    \
    }                                                                                        \
    /* Accumulates into the gradients given (NULL: not wanted); they start zeroed or hold   \
     * what AM_REQ_ADD keeps. */                                                             \
    static void backward_##SFX(const dgeom *g, const T *dy, const T *x, const T *off,       \
                               const T *mask, const T *wt, T *dx, T *doff, T *dmask, T *dw,  \
                               T *db, T *col, T *dcol)                                       \
    {                                                                                        \
        const int64_t kk = g->kh * g->kw, p = g->ho * g->wo, kg = g->c / g->g * kk;          \
        const int64_t fg = g->f / g->g;                                                      \
        for (int64_t n = 0; n < g->n; n++) {                                                 \
            const T *xn = x + n * g->c * g->h * g->w, *on = off + n * 2 * g->dg * kk * p;     \
            const T *mn = mask ? mask + n * g->dg * kk * p : NULL, *dyn = dy + n * g->f * p; \
            if (dw) {                                                                        \
                columns_##SFX(g, xn, on, mn, col, NULL, NULL, NULL, NULL);                   \
                for (int64_t gi = 0; gi < g->g; gi++)                                        \
                    gemm_##SFX(false, true, fg, kg, p, dyn + gi * fg * p, col + gi * kg * p, \
                               1, dw + gi * fg * kg);                                        \
            }                                                                                \
            if (db)                                                                          \
                for (int64_t f = 0; f < g->f; f++)                                           \
                    for (int64_t i = 0; i < p; i++) db[f] += dyn[f * p + i];                 \
            if (!dx && !doff && !dmask) continue;                                            \
            for (int64_t gi = 0; gi < g->g; gi++)                                            \
                gemm_##SFX(true, false, kg, p, fg, wt + gi * fg * kg, dyn + gi * fg * p, 0,  \
                           dcol + gi * kg * p);                                              \
            columns_##SFX(g, xn, on, mn, NULL, dcol, dx ? dx + n * g->c * g->h * g->w : NULL, \
                          doff ? doff + n * 2 * g->dg * kk * p : NULL,                       \
                          dmask ? dmask + n * g->dg * kk * p : NULL);                        \
        }                                                                                    \
    }

DCONV_KERNELS(float, cblas_sgemm, f32)
DCONV_KERNELS(double, cblas_dgemm, f64)

static void *col_at(const am_kernel_ctx *ctx, size_t i, size_t bytes)
{
    return (char *)ctx->workspace + i * bytes;
}

static am_status dconv_fwd(const am_kernel_ctx *ctx, const dconv_attrs *a, bool mod,
                           const am_view *in, int n_in, const am_view *out, const am_req *req)
{
    if (req[0] == AM_REQ_NULL) return AM_OK;
    am_shape ds = {.ndim = 4, .dim = {in[0].dim[0], in[0].dim[1], in[0].dim[2], in[0].dim[3]}};
    dgeom g;
    am_status st = dconv_geom(a, mod, &ds, &g);
    if (st != AM_OK) return st;
    const int iw = mod ? 3 : 2;
    const void *mask = mod ? in[2].data : NULL;
    const void *bias = n_in > iw + 1 ? in[iw + 1].data : NULL;
    bool add = req[0] == AM_REQ_ADD;
    if (in[0].dtype == AM_DTYPE_FLOAT32)
        forward_f32(&g, in[0].data, in[1].data, mask, in[iw].data, bias, out[0].data, add,
                    ctx->workspace);
    else
        forward_f64(&g, in[0].data, in[1].data, mask, in[iw].data, bias, out[0].data, add,
                    ctx->workspace);
    return AM_OK;
}

static am_status dconv_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_out);
    return dconv_fwd(ctx, attrs, false, in, n_in, out, req);
}

static am_status mdconv_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_out);
    return dconv_fwd(ctx, attrs, true, in, n_in, out, req);
}

/* ---- backward: (out_grad, data, offset, [mask], weight) -> d data, d offset, [d mask],
 * d weight, [d bias] -------------------------------------------------------------------- */

static int dconv_bwd_num_inputs(const void *attrs)
{
    AM_UNUSED(attrs);
    return 4;
}

static int mdconv_bwd_num_inputs(const void *attrs)
{
    AM_UNUSED(attrs);
    return 5;
}

static int dconv_bwd_num_outputs(const void *attrs)
{
    return 3 + !((const dconv_attrs *)attrs)->no_bias;
}

static int mdconv_bwd_num_outputs(const void *attrs)
{
    return 4 + !((const dconv_attrs *)attrs)->no_bias;
}

static am_status dconv_bwd_shape_common(const dconv_attrs *a, bool mod, am_shape *in, int n_in,
                                        am_shape *out, int n_out)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    dgeom g;
    st = dconv_geom(a, mod, &in[1], &g);
    /* operand_shapes reads offset, [mask], weight from in[1 ...] after data: shift by one. */
    if (st == AM_OK) st = operand_shapes(a, &g, in + 1, n_in - 1);
    if (st != AM_OK) return st;
    am_shape want = AM_SHAPE(g.n, g.f, g.ho, g.wo);
    if (!am_shape_equal(want, in[0]))
        return am_fail(AM_ERR_SHAPE, "out_grad %s must be %s", am_fmt_shape(&in[0], b0),
                       am_fmt_shape(&want, b1));
    for (int i = 0; i < n_in - 1 && i < n_out; i++) out[i] = in[i + 1];
    if (!a->no_bias) out[n_out - 1] = AM_SHAPE(g.f);
    return AM_OK;
}

static am_status dconv_bwd_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                 int n_out)
{
    return dconv_bwd_shape_common(attrs, false, in, n_in, out, n_out);
}

static am_status mdconv_bwd_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    return dconv_bwd_shape_common(attrs, true, in, n_in, out, n_out);
}

static am_status dconv_bwd(const am_kernel_ctx *ctx, const dconv_attrs *a, bool mod,
                           const am_view *in, const am_view *out, int n_out, const am_req *req)
{
    am_shape ds = {.ndim = 4, .dim = {in[1].dim[0], in[1].dim[1], in[1].dim[2], in[1].dim[3]}};
    dgeom g;
    am_status st = dconv_geom(a, mod, &ds, &g);
    if (st != AM_OK) return st;
    void *grad[5] = {NULL};
    for (int i = 0; i < n_out; i++) {
        if (req[i] == AM_REQ_NULL) continue;
        grad[i] = out[i].data;
        if (req[i] != AM_REQ_ADD && am_view_size(&out[i]))
            memset(out[i].data, 0, (size_t)am_view_size(&out[i]) * am_dtype_size(out[i].dtype));
    }
    const int iw = mod ? 4 : 3; /* weight's input; its gradient is output iw - 1 */
    const void *mask = mod ? in[3].data : NULL;
    void *dmask = mod ? grad[2] : NULL, *db = a->no_bias ? NULL : grad[n_out - 1];
    size_t cb = dconv_col_bytes(a, &ds);
    if (in[0].dtype == AM_DTYPE_FLOAT32)
        backward_f32(&g, in[0].data, in[1].data, in[2].data, mask, in[iw].data, grad[0],
                     grad[1], dmask, grad[iw - 1], db, col_at(ctx, 0, cb), col_at(ctx, 1, cb));
    else
        backward_f64(&g, in[0].data, in[1].data, in[2].data, mask, in[iw].data, grad[0],
                     grad[1], dmask, grad[iw - 1], db, col_at(ctx, 0, cb), col_at(ctx, 1, cb));
    return AM_OK;
}

static am_status dconv_bwd_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                               int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in);
    return dconv_bwd(ctx, attrs, false, in, out, n_out, req);
}

static am_status mdconv_bwd_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in);
    return dconv_bwd(ctx, attrs, true, in, out, n_out, req);
}

const am_op_def am_op_backward_deformable_convolution = {
    .name = "_backward__contrib_DeformableConvolution",
    .input_names = (const char *const[]){"out_grad", "data", "offset", "weight", NULL},
    .num_inputs = dconv_bwd_num_inputs, .num_outputs = 4,
    .num_outputs_of = dconv_bwd_num_outputs, .attrs = dconv_fields,
    .attrs_size = sizeof(dconv_attrs), .infer_shape = dconv_bwd_shape, .infer_dtype = am_infer_dtype_float_same,
    .temp_bytes = dconv_bwd_temp, .cpu = dconv_bwd_cpu, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NEEDS_TEMP | AM_OP_NO_GRAD,
    .doc = "DeformableConvolution's gradients for data, offset, weight and (unless no_bias) "
           "bias."};

const am_op_def am_op_backward_modulated_deformable_convolution = {
    .name = "_backward__contrib_ModulatedDeformableConvolution",
    .input_names = (const char *const[]){"out_grad", "data", "offset", "mask", "weight", NULL},
    .num_inputs = mdconv_bwd_num_inputs, .num_outputs = 5,
    .num_outputs_of = mdconv_bwd_num_outputs, .attrs = mdconv_fields,
    .attrs_size = sizeof(dconv_attrs), .infer_shape = mdconv_bwd_shape,
    .infer_dtype = am_infer_dtype_float_same, .temp_bytes = dconv_bwd_temp, .cpu = mdconv_bwd_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP | AM_OP_NO_GRAD,
    .doc = "ModulatedDeformableConvolution's gradients for data, offset, mask, weight and "
           "(unless no_bias) bias."};

static am_status dconv_grad_common(const am_op_def *bwd, bool mod, const am_grad_ctx *g,
                                   am_array *const *in, am_array *const *og, am_array **ig)
{
    const int n_ops = mod ? 4 : 3; /* data, offset, [mask], weight */
    bool any = false;
    for (int i = 0; i < g->n_in; i++) any = any || g->need_grad[i];
    if (!any) return AM_OK;
    am_array *x[5] = {og[0]};
    for (int i = 0; i < n_ops; i++) x[i + 1] = am_block_grad_at(in[i], g->at);
    am_array *y[5] = {NULL};
    am_status st = am_op_call(bwd, g->attrs, x, n_ops + 1, y, g->n_in, g->at);
    if (st != AM_OK) return st;
    for (int i = 0; i < g->n_in; i++)
        if (g->need_grad[i]) ig[i] = y[i];
    return AM_OK;
}

static am_status dconv_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                            am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    return dconv_grad_common(&am_op_backward_deformable_convolution, false, g, in, og, ig);
}

static am_status mdconv_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                             am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    return dconv_grad_common(&am_op_backward_modulated_deformable_convolution, true, g, in, og,
                             ig);
}

const am_op_def am_op_deformable_convolution = {
    .name = "_contrib_DeformableConvolution",
    .input_names = (const char *const[]){"data", "offset", "weight", "bias", NULL},
    .num_inputs = dconv_num_inputs, .num_outputs = 1, .attrs = dconv_fields,
    .attrs_size = sizeof(dconv_attrs), .infer_shape = dconv_shape, .infer_dtype = am_infer_dtype_float_same,
    .temp_bytes = dconv_temp, .cpu = dconv_cpu, .gradient = dconv_grad, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NEEDS_TEMP | AM_OP_VARIADIC,
    .doc = "Deformable convolution (v1): each kernel tap samples data bilinearly at its place "
           "moved by offset (N, 2 * DG * kh * kw, Ho, Wo)."};

const am_op_def am_op_modulated_deformable_convolution = {
    .name = "_contrib_ModulatedDeformableConvolution",
    .input_names = (const char *const[]){"data", "offset", "mask", "weight", "bias", NULL},
    .num_inputs = mdconv_num_inputs, .num_outputs = 1, .attrs = mdconv_fields,
    .attrs_size = sizeof(dconv_attrs), .infer_shape = mdconv_shape, .infer_dtype = am_infer_dtype_float_same,
    .temp_bytes = dconv_temp, .cpu = mdconv_cpu, .gradient = mdconv_grad,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP | AM_OP_VARIADIC,
    .doc = "Modulated deformable convolution (v2): DeformableConvolution with each sample "
           "scaled by mask (N, DG * kh * kw, Ho, Wo)."};

am_array *am_deformable_convolution_at(am_array *data, am_array *offset, am_array *mask,
                                       am_array *weight, am_array *bias, int64_t stride,
                                       int64_t pad, int64_t dilate, int64_t num_group,
                                       int64_t num_deformable_group, am_site at)
{
    const am_op_def *op = mask ? &am_op_modulated_deformable_convolution
                               : &am_op_deformable_convolution;
    dconv_attrs a;
    if (am_attrs_init(op, &a) != AM_OK) return NULL;
    if (!weight || am_array_ndim(weight) != 4)
        return am_fail_null(op->name, at, AM_ERR_SHAPE, "weight must be (F, C / groups, kh, kw)");
    a.kernel = (am_tuple){.ndim = 2, .v = {am_array_dim(weight, 2), am_array_dim(weight, 3)}};
    a.stride = (am_tuple){.ndim = 2, .v = {stride, stride}};
    a.pad = (am_tuple){.ndim = 2, .v = {pad, pad}};
    a.dilate = (am_tuple){.ndim = 2, .v = {dilate, dilate}};
    a.num_filter = am_array_dim(weight, 0), a.num_group = num_group;
    a.num_deformable_group = num_deformable_group, a.no_bias = bias == NULL;
    am_array *in[5], *y = NULL;
    int n = 0;
    in[n++] = data, in[n++] = offset;
    if (mask) in[n++] = mask;
    in[n++] = weight;
    if (bias) in[n++] = bias;
    am_op_call(op, &a, in, n, &y, 1, at);
    return y;
}
