/* Spatial transformer ops as MXNet 1.9.1 has them: GridGenerator (affine or
 * warp sampling grids) and BilinearSampler (samples data at a grid), with
 * their backward ops _backward_GridGenerator and _backward_BilinearSampler.
 *
 * Grids hold (x, y) in [-1, 1] over the input's width and height: x = -1 is
 * column 0 and x = 1 column W - 1.  A sample reads the four pixels around it;
 * pixels outside the input count as 0.  Docs: docs/detection.md. */
#include "shape_impl.h"

#include <math.h>
#include <string.h>

enum { GRID_AFFINE, GRID_WARP };
static const char *const grid_types[] = {"affine", "warp", NULL};

typedef struct grid_attrs {
    int transform_type;
    am_tuple target_shape;
} grid_attrs;

static const am_attr_field grid_fields[] = {
    AM_ATTR_ENUM_FIELD(grid_attrs, transform_type, grid_types, NULL,
                       "affine: data (N, 6) is a 2x3 matrix per sample; warp: data (N, 2, H, W) "
                       "is a flow in pixels"),
    AM_ATTR_FIELD(grid_attrs, target_shape, AM_ATTR_TUPLE, "(0, 0)",
                  "output height and width (affine only)"),
    {0}};

/* The grid's shape for data of shape d. */
static am_status grid_out_shape(const grid_attrs *a, const am_shape *d, am_shape *out)
{
    char b[AM_SHAPE_BUF];
    if (a->transform_type == GRID_AFFINE) {
        const am_tuple *t = &a->target_shape;
        if (t->ndim != 2 || t->v[0] < 1 || t->v[1] < 1)
            return am_fail(AM_ERR_ARG, "target_shape=%s must be 2 positive sizes for affine",
                           am_fmt_tuple(t, b));
        if (d->ndim != 2 || d->dim[1] != 6)
            return am_fail(AM_ERR_SHAPE, "data %s must be (N, 6) for affine",
                           am_fmt_shape(d, b));
        *out = AM_SHAPE(d->dim[0], 2, t->v[0], t->v[1]);
        return AM_OK;
    }
    if (d->ndim != 4 || d->dim[1] != 2)
        return am_fail(AM_ERR_SHAPE, "data %s must be (N, 2, H, W) for warp", am_fmt_shape(d, b));
    *out = *d;
    return AM_OK;
}

static am_status grid_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_out);
    am_status st = am_need_known(in, n_in);
    return st != AM_OK ? st : grid_out_shape(attrs, &in[0], &out[0]);
}

/* Normalised coordinate of index i of n (MXNet: -1 + 2 i / (n - 1)). */
static inline double grid_coord(int64_t i, int64_t n) { return -1.0 + 2.0 * i / (double)(n - 1); }

#define GRID_KERNELS(T)                                                                       \
    static void grid_fwd_##T(const grid_attrs *a, const T *d, T *o, int64_t n, int64_t h,     \
                             int64_t w, am_req req)                                           \
    {                                                                                         \
        for (int64_t b = 0; b < n; b++)                                                       \
            for (int64_t i = 0; i < h; i++)                                                   \
                for (int64_t j = 0; j < w; j++) {                                             \
                    T x, y;                                                                   \
                    if (a->transform_type == GRID_AFFINE) {                                   \
                        const T *th = d + b * 6;                                              \
                        T xt = (T)grid_coord(j, w), yt = (T)grid_coord(i, h);                 \
                        x = th[0] * xt + th[1] * yt + th[2];                                  \
                        y = th[3] * xt + th[4] * yt + th[5];                                  \
                    } else {                                                                  \
                        const T *f = d + b * 2 * h * w;                                       \
                        x = (f[i * w + j] + (T)j) / (T)((w - 1) / 2.0) - 1;                   \
                        y = (f[h * w + i * w + j] + (T)i) / (T)((h - 1) / 2.0) - 1;           \
                    }                                                                         \
                    T *ob = o + b * 2 * h * w + i * w + j;                                    \
                    ob[0] = req == AM_REQ_ADD ? ob[0] + x : x;                                \
                    ob[h * w] = req == AM_REQ_ADD ? ob[h * w] + y : y;                        \
                }                                                                             \
    }                                                                                         \
    static void grid_bwd_##T(const grid_attrs *a, const T *g, T *dd, int64_t n, int64_t h,    \
                             int64_t w, am_req req)                                           \
    {                                                                                         \
        for (int64_t b = 0; b < n; b++) {                                                     \
            const T *gb = g + b * 2 * h * w;                                                  \
            if (a->transform_type == GRID_AFFINE) {                                           \
                double acc[6] = {0};                                                          \
                for (int64_t i = 0; i < h; i++)                                               \
                    for (int64_t j = 0; j < w; j++) {                                         \
                        double xt = grid_coord(j, w), yt = grid_coord(i, h);                  \
                        double gx = gb[i * w + j], gy = gb[h * w + i * w + j];                \
                        acc[0] += gx * xt, acc[1] += gx * yt, acc[2] += gx;                   \
                        acc[3] += gy * xt, acc[4] += gy * yt, acc[5] += gy;                   \
                    }                                                                         \
                for (int k = 0; k < 6; k++)                                                   \
                    dd[b * 6 + k] = (T)(req == AM_REQ_ADD ? dd[b * 6 + k] + acc[k] : acc[k]); \
            } else {                                                                          \
                T sx = (T)((w - 1) / 2.0), sy = (T)((h - 1) / 2.0);                           \
                for (int64_t k = 0; k < 2 * h * w; k++) {                                     \
                    T v = gb[k] / (k < h * w ? sx : sy);                                      \
                    T *p = dd + b * 2 * h * w + k;                                            \
                    *p = req == AM_REQ_ADD ? *p + v : v;                                      \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
    }
GRID_KERNELS(float)
GRID_KERNELS(double)

static am_status grid_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    int64_t n = out[0].dim[0], h = out[0].dim[2], w = out[0].dim[3];
    if (in[0].dtype == AM_DTYPE_FLOAT32)
        grid_fwd_float(attrs, in[0].data, out[0].data, n, h, w, req[0]);
    else
        grid_fwd_double(attrs, in[0].data, out[0].data, n, h, w, req[0]);
    return AM_OK;
}

/* _backward_GridGenerator(out_grad, data): d data; data gives only its shape. */
static am_status grid_backward_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                     int n_out)
{
    AM_UNUSED(n_out);
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_shape g;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = grid_out_shape(attrs, &in[1], &g);
    if (st != AM_OK) return st;
    if (!am_shape_equal(g, in[0]))
        return am_fail(AM_ERR_SHAPE, "out_grad %s must be the grid's shape %s",
                       am_fmt_shape(&in[0], b0), am_fmt_shape(&g, b1));
    out[0] = in[1];
    return AM_OK;
}

static am_status grid_backward_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                   int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    int64_t n = in[0].dim[0], h = in[0].dim[2], w = in[0].dim[3];
    if (in[0].dtype == AM_DTYPE_FLOAT32)
        grid_bwd_float(attrs, in[0].data, out[0].data, n, h, w, req[0]);
    else
        grid_bwd_double(attrs, in[0].data, out[0].data, n, h, w, req[0]);
    return AM_OK;
}

const am_op_def am_op_backward_grid_generator = {
    .name = "_backward_GridGenerator",
    .input_names = (const char *const[]){"out_grad", "data", NULL},
    .num_outputs = 1, .attrs = grid_fields, .attrs_size = sizeof(grid_attrs),
    .infer_shape = grid_backward_shape, .infer_dtype = am_infer_dtype_float_same, .cpu = grid_backward_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "GridGenerator's gradient for data (whose values are not read)."};

static am_status grid_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    am_array *x[2] = {og[0], am_block_grad_at(in[0], g->at)};
    return am_op_call(&am_op_backward_grid_generator, g->attrs, x, 2, &ig[0], 1, g->at);
}

const am_op_def am_op_grid_generator = {
    .name = "GridGenerator",
    .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .attrs = grid_fields, .attrs_size = sizeof(grid_attrs),
    .infer_shape = grid_shape, .infer_dtype = am_infer_dtype_float_same, .cpu = grid_cpu,
    .gradient = grid_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "Sampling grid (N, 2, H, W) of (x, y) in [-1, 1] from affine matrices (N, 6) or "
           "from a flow (N, 2, H, W) in pixels."};

/* ---- BilinearSampler --------------------------------------------------------------------- */

typedef struct sampler_attrs {
    bool cudnn_off; /* read and ignored on the CPU */
} sampler_attrs;

static const am_attr_field sampler_fields[] = {
    AM_ATTR_FIELD(sampler_attrs, cudnn_off, AM_ATTR_BOOL, "False",
                  "do not use cuDNN (GPU only)"),
    {0}};

static am_status sampler_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = am_need_known(in, 2);
    if (st != AM_OK) return st;
    const am_shape *d = &in[0], *g = &in[1];
    if (d->ndim != 4 || g->ndim != 4 || g->dim[1] != 2 || g->dim[0] != d->dim[0])
        return am_fail(AM_ERR_SHAPE, "data %s and grid %s must be (N, C, H, W) and "
                       "(N, 2, H', W')", am_fmt_shape(d, b0), am_fmt_shape(g, b1));
    AM_UNUSED(n_in);
    out[0] = AM_SHAPE(d->dim[0], d->dim[1], g->dim[2], g->dim[3]);
    return AM_OK;
}

/* The four taps of a sample at grid point (gx, gy) over an h x w image. */
typedef struct samp_taps {
    int64_t x0, y0;
    double wx, wy;        /* weights of the top-left pixel along x and y */
    double sx, sy;        /* d x_real / d gx and d y_real / d gy */
} samp_taps;

static samp_taps samp_at(double gx, double gy, int64_t h, int64_t w)
{
    samp_taps t;
    t.sx = (w - 1) / 2.0, t.sy = (h - 1) / 2.0;
    double xr = (gx + 1) * t.sx, yr = (gy + 1) * t.sy;
    double fx = floor(xr), fy = floor(yr);
    t.x0 = (int64_t)fx, t.y0 = (int64_t)fy;
    t.wx = 1 - (xr - fx), t.wy = 1 - (yr - fy);
    return t;
}

static inline bool inside(int64_t y, int64_t x, int64_t h, int64_t w)
{
    return y >= 0 && y < h && x >= 0 && x < w;
}

#define SAMPLER_KERNELS(T)                                                                    \
    static inline T px_##T(const T *img, int64_t y, int64_t x, int64_t h, int64_t w)          \
    {                                                                                         \
        return inside(y, x, h, w) ? img[y * w + x] : (T)0;                                    \
    }                                                                                         \
    static void samp_fwd_##T(const T *d, const T *g, T *o, int64_t n, int64_t c, int64_t h,   \
                             int64_t w, int64_t ho, int64_t wo, am_req req)                   \
    {                                                                                         \
        for (int64_t b = 0; b < n; b++)                                                       \
            for (int64_t p = 0; p < ho * wo; p++) {                                           \
                const T *gb = g + b * 2 * ho * wo;                                            \
                samp_taps t = samp_at(gb[p], gb[ho * wo + p], h, w);                          \
                for (int64_t k = 0; k < c; k++) {                                             \
                    const T *img = d + (b * c + k) * h * w;                                   \
                    double v = px_##T(img, t.y0, t.x0, h, w) * t.wy * t.wx +                  \
                               px_##T(img, t.y0, t.x0 + 1, h, w) * t.wy * (1 - t.wx) +        \
                               px_##T(img, t.y0 + 1, t.x0, h, w) * (1 - t.wy) * t.wx +        \
                               px_##T(img, t.y0 + 1, t.x0 + 1, h, w) * (1 - t.wy) * (1 - t.wx); \
                    T *dst = o + (b * c + k) * ho * wo + p;                                   \
                    *dst = req == AM_REQ_ADD ? *dst + (T)v : (T)v;                            \
                }                                                                             \
            }                                                                                 \
    }                                                                                         \
    /* dd (data's shape) and dg (grid's shape) are zeroed or hold what to add to. */          \
    static void samp_bwd_##T(const T *og, const T *d, const T *g, T *dd, T *dg, int64_t n,    \
                             int64_t c, int64_t h, int64_t w, int64_t ho, int64_t wo)         \
    {                                                                                         \
        for (int64_t b = 0; b < n; b++)                                                       \
            for (int64_t p = 0; p < ho * wo; p++) {                                           \
                const T *gb = g + b * 2 * ho * wo;                                            \
                samp_taps t = samp_at(gb[p], gb[ho * wo + p], h, w);                          \
                double ax = 0, ay = 0;                                                        \
                for (int64_t k = 0; k < c; k++) {                                             \
                    const T *img = d + (b * c + k) * h * w;                                   \
                    T *gimg = dd ? dd + (b * c + k) * h * w : NULL;                           \
                    double go = og[(b * c + k) * ho * wo + p];                                \
                    double tl = px_##T(img, t.y0, t.x0, h, w);                                \
                    double tr = px_##T(img, t.y0, t.x0 + 1, h, w);                            \
                    double bl = px_##T(img, t.y0 + 1, t.x0, h, w);                            \
                    double br = px_##T(img, t.y0 + 1, t.x0 + 1, h, w);                        \
                    ax += go * (t.wy * (tr - tl) + (1 - t.wy) * (br - bl));                   \
                    ay += go * (t.wx * (bl - tl) + (1 - t.wx) * (br - tr));                   \
                    if (!gimg) continue;                                                      \
                    int64_t ys[4] = {t.y0, t.y0, t.y0 + 1, t.y0 + 1};                         \
                    int64_t xs[4] = {t.x0, t.x0 + 1, t.x0, t.x0 + 1};                         \
                    double ws[4] = {t.wy * t.wx, t.wy * (1 - t.wx), (1 - t.wy) * t.wx,        \
                                    (1 - t.wy) * (1 - t.wx)};                                 \
                    for (int q = 0; q < 4; q++)                                               \
                        if (inside(ys[q], xs[q], h, w)) gimg[ys[q] * w + xs[q]] += (T)(go * ws[q]); \
                }                                                                             \
                if (dg) {                                                                     \
                    dg[b * 2 * ho * wo + p] += (T)(ax * t.sx);                                \
                    dg[b * 2 * ho * wo + ho * wo + p] += (T)(ay * t.sy);                      \
                }                                                                             \
            }                                                                                 \
    }
SAMPLER_KERNELS(float)
SAMPLER_KERNELS(double)

static am_status sampler_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    int64_t n = in[0].dim[0], c = in[0].dim[1], h = in[0].dim[2], w = in[0].dim[3];
    int64_t ho = in[1].dim[2], wo = in[1].dim[3];
    if (in[0].dtype == AM_DTYPE_FLOAT32)
        samp_fwd_float(in[0].data, in[1].data, out[0].data, n, c, h, w, ho, wo, req[0]);
    else
        samp_fwd_double(in[0].data, in[1].data, out[0].data, n, c, h, w, ho, wo, req[0]);
    return AM_OK;
}

/* _backward_BilinearSampler(out_grad, data, grid): d data and d grid. */
static am_status sampler_backward_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                        int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_shape y[3];
    am_status st = am_need_known(in, 3);
    if (st == AM_OK) st = sampler_shape(attrs, in + 1, 2, y, 1);
    if (st != AM_OK) return st;
    if (!am_shape_equal(y[0], in[0]))
        return am_fail(AM_ERR_SHAPE, "out_grad %s must be the output's shape %s",
                       am_fmt_shape(&in[0], b0), am_fmt_shape(&y[0], b1));
    out[0] = in[1];
    out[1] = in[2];
    return AM_OK;
}

static am_status sampler_backward_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                      const am_view *in, int n_in, const am_view *out, int n_out,
                                      const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    for (int i = 0; i < 2; i++)
        if (req[i] != AM_REQ_NULL && req[i] != AM_REQ_ADD && am_view_size(&out[i]))
            memset(out[i].data, 0, (size_t)am_view_size(&out[i]) * am_dtype_size(out[i].dtype));
    int64_t n = in[1].dim[0], c = in[1].dim[1], h = in[1].dim[2], w = in[1].dim[3];
    int64_t ho = in[2].dim[2], wo = in[2].dim[3];
    void *dd = req[0] == AM_REQ_NULL ? NULL : out[0].data;
    void *dg = req[1] == AM_REQ_NULL ? NULL : out[1].data;
    if (in[0].dtype == AM_DTYPE_FLOAT32)
        samp_bwd_float(in[0].data, in[1].data, in[2].data, dd, dg, n, c, h, w, ho, wo);
    else
        samp_bwd_double(in[0].data, in[1].data, in[2].data, dd, dg, n, c, h, w, ho, wo);
    return AM_OK;
}

const am_op_def am_op_backward_bilinear_sampler = {
    .name = "_backward_BilinearSampler",
    .input_names = (const char *const[]){"out_grad", "data", "grid", NULL},
    .num_outputs = 2, .attrs = sampler_fields, .attrs_size = sizeof(sampler_attrs),
    .infer_shape = sampler_backward_shape, .infer_dtype = am_infer_dtype_float_same,
    .cpu = sampler_backward_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "BilinearSampler's gradients for data and grid."};

static am_status sampler_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                              am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0] && !g->need_grad[1]) return AM_OK;
    am_array *x[3] = {og[0], am_block_grad_at(in[0], g->at), am_block_grad_at(in[1], g->at)};
    am_array *r[2] = {0};
    am_status st = am_op_call(&am_op_backward_bilinear_sampler, g->attrs, x, 3, r, 2, g->at);
    if (st != AM_OK) return st;
    ig[0] = g->need_grad[0] ? r[0] : NULL;
    ig[1] = g->need_grad[1] ? r[1] : NULL;
    return AM_OK;
}

const am_op_def am_op_bilinear_sampler = {
    .name = "BilinearSampler",
    .input_names = (const char *const[]){"data", "grid", NULL},
    .num_outputs = 1, .attrs = sampler_fields, .attrs_size = sizeof(sampler_attrs),
    .infer_shape = sampler_shape, .infer_dtype = am_infer_dtype_float_same, .cpu = sampler_cpu,
    .gradient = sampler_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "Samples data (N, C, H, W) bilinearly at a grid (N, 2, H', W') of (x, y) in "
           "[-1, 1]; pixels outside data count as 0."};

am_array *am_grid_generator_at(am_array *data, const char *transform_type, int64_t height,
                               int64_t width, am_site at)
{
    grid_attrs a = {.transform_type = GRID_AFFINE,
                    .target_shape = {.ndim = 2, .v = {height, width}}};
    if (transform_type && strcmp(transform_type, "warp") == 0) a.transform_type = GRID_WARP;
    else if (!transform_type || strcmp(transform_type, "affine") != 0)
        return am_fail_null("GridGenerator", at, AM_ERR_ARG,
                            "transform_type '%s' is not one of affine, warp",
                            transform_type ? transform_type : "(null)");
    am_array *y = NULL;
    am_op_call(&am_op_grid_generator, &a, &data, 1, &y, 1, at);
    return y;
}

am_array *am_bilinear_sampler_at(am_array *data, am_array *grid, am_site at)
{
    sampler_attrs a = {0};
    am_array *in[2] = {data, grid}, *y = NULL;
    am_op_call(&am_op_bilinear_sampler, &a, in, 2, &y, 1, at);
    return y;
}

/* ---- SpatialTransformer: GridGenerator (affine) then BilinearSampler ---------------------- */

enum { ST_AFFINE };
enum { ST_BILINEAR };
static const char *const st_transforms[] = {"affine", NULL};
static const char *const st_samplers[] = {"bilinear", NULL};

typedef struct st_attrs {
    am_tuple target_shape;
    int transform_type, sampler_type;
    bool cudnn_off;
} st_attrs;

static const am_attr_field st_fields[] = {
    AM_ATTR_FIELD(st_attrs, target_shape, AM_ATTR_TUPLE, "(0, 0)", "output height and width"),
    AM_ATTR_ENUM_FIELD(st_attrs, transform_type, st_transforms, NULL, "only affine"),
    AM_ATTR_ENUM_FIELD(st_attrs, sampler_type, st_samplers, NULL, "only bilinear"),
    AM_ATTR_FIELD(st_attrs, cudnn_off, AM_ATTR_BOOL, "False", "do not use cuDNN (GPU only)"),
    {0}};

static am_status st_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_out);
    const st_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    grid_attrs g = {.transform_type = GRID_AFFINE, .target_shape = a->target_shape};
    am_shape gs;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = grid_out_shape(&g, &in[1], &gs);
    if (st != AM_OK) return st;
    if (in[0].ndim != 4 || in[0].dim[0] != in[1].dim[0])
        return am_fail(AM_ERR_SHAPE, "data %s must be (N, C, H, W) with loc %s's N",
                       am_fmt_shape(&in[0], b0), am_fmt_shape(&in[1], b1));
    out[0] = AM_SHAPE(in[0].dim[0], in[0].dim[1], gs.dim[2], gs.dim[3]);
    return AM_OK;
}

static size_t st_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(n_in);
    const st_attrs *a = attrs;
    return (size_t)(in[0].dim[0] * 2 * a->target_shape.v[0] * a->target_shape.v[1]) *
           sizeof(double);
}

static am_status st_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in, int n_in,
                        const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const st_attrs *a = attrs;
    if (req[0] == AM_REQ_NULL) return AM_OK;
    grid_attrs g = {.transform_type = GRID_AFFINE, .target_shape = a->target_shape};
    int64_t n = in[0].dim[0], c = in[0].dim[1], h = in[0].dim[2], w = in[0].dim[3];
    int64_t ho = a->target_shape.v[0], wo = a->target_shape.v[1];
    if (in[0].dtype == AM_DTYPE_FLOAT32) {
        grid_fwd_float(&g, in[1].data, ctx->workspace, n, ho, wo, AM_REQ_WRITE);
        samp_fwd_float(in[0].data, ctx->workspace, out[0].data, n, c, h, w, ho, wo, req[0]);
    } else {
        grid_fwd_double(&g, in[1].data, ctx->workspace, n, ho, wo, AM_REQ_WRITE);
        samp_fwd_double(in[0].data, ctx->workspace, out[0].data, n, c, h, w, ho, wo, req[0]);
    }
    return AM_OK;
}

/* Through the public ops: the grid again, BilinearSampler's backward, then
 * GridGenerator's backward for loc. */
static am_status st_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                         am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    const st_attrs *a = g->attrs;
    if (!g->need_grad[0] && !g->need_grad[1]) return AM_OK;
    grid_attrs ga = {.transform_type = GRID_AFFINE, .target_shape = a->target_shape};
    sampler_attrs sa = {0};
    am_array *loc = am_block_grad_at(in[1], g->at), *grid = NULL;
    am_status st = am_op_call(&am_op_grid_generator, &ga, &loc, 1, &grid, 1, g->at);
    if (st != AM_OK) return st;
    am_array *x[3] = {og[0], am_block_grad_at(in[0], g->at), grid}, *r[2] = {0};
    st = am_op_call(&am_op_backward_bilinear_sampler, &sa, x, 3, r, 2, g->at);
    if (st != AM_OK) return st;
    ig[0] = g->need_grad[0] ? r[0] : NULL;
    if (!g->need_grad[1]) return AM_OK;
    am_array *y[2] = {r[1], loc};
    return am_op_call(&am_op_backward_grid_generator, &ga, y, 2, &ig[1], 1, g->at);
}

const am_op_def am_op_spatial_transformer = {
    .name = "SpatialTransformer",
    .input_names = (const char *const[]){"data", "loc", NULL},
    .num_outputs = 1, .attrs = st_fields, .attrs_size = sizeof(st_attrs),
    .infer_shape = st_shape, .infer_dtype = am_infer_dtype_float_same, .temp_bytes = st_temp, .cpu = st_cpu,
    .gradient = st_grad, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "Samples data (N, C, H, W) bilinearly at the affine grid of loc (N, 6): "
           "GridGenerator then BilinearSampler in one op."};

am_array *am_spatial_transformer_at(am_array *data, am_array *loc, int64_t height, int64_t width,
                                    am_site at)
{
    st_attrs a = {.target_shape = {.ndim = 2, .v = {height, width}}};
    am_array *in[2] = {data, loc}, *y = NULL;
    am_op_call(&am_op_spatial_transformer, &a, in, 2, &y, 1, at);
    return y;
}
