/* Correlation (FlowNet's correlation layer) as MXNet 1.9.1 has it, and its
 * backward, _backward_Correlation.
 *
 * data1 and data2 (N, C, H, W) are zero-padded by pad_size.  For each output
 * position (i, j) the patch of kernel_size x kernel_size at (i * stride1 +
 * max_displacement, j * stride1 + max_displacement) (its top-left corner, in
 * padded coordinates) of data1 is compared with the patch of data2 displaced
 * by (p, o) * stride2 for every p, o in [-d, d], d = max_displacement /
 * stride2: output channel (p + d) * (2d + 1) + (o + d) holds the sum over the
 * patches and channels of x1 * x2 (is_multiply) or |x1 - x2|, divided by
 * kernel_size^2 * C.  Docs: docs/detection.md. */
#include "shape_impl.h"

#include <math.h>
#include <string.h>

typedef struct corr_attrs {
    int64_t kernel_size, max_displacement, stride1, stride2, pad_size;
    bool is_multiply;
} corr_attrs;

static const am_attr_field corr_fields[] = {
    AM_ATTR_FIELD(corr_attrs, kernel_size, AM_ATTR_INT, "1", "patch size (odd)"),
    AM_ATTR_FIELD(corr_attrs, max_displacement, AM_ATTR_INT, "1", "largest displacement"),
    AM_ATTR_FIELD(corr_attrs, stride1, AM_ATTR_INT, "1", "step between data1 positions"),
    AM_ATTR_FIELD(corr_attrs, stride2, AM_ATTR_INT, "1", "step between displacements"),
    AM_ATTR_FIELD(corr_attrs, pad_size, AM_ATTR_INT, "0", "zero padding of both inputs"),
    AM_ATTR_FIELD(corr_attrs, is_multiply, AM_ATTR_BOOL, "True",
                  "compare by products (else by absolute differences)"),
    {0}};

/* The output's geometry. */
typedef struct corr_geom {
    int64_t out_h, out_w, radius, grid_w, channels;
} corr_geom;

static am_status corr_geometry(const corr_attrs *a, const am_shape *d, corr_geom *g)
{
    char b[AM_SHAPE_BUF];
    if (a->kernel_size < 1 || a->kernel_size % 2 == 0 || a->max_displacement < 0 ||
        a->stride1 < 1 || a->stride2 < 1 || a->pad_size < 0)
        return am_fail(AM_ERR_ARG, "kernel_size=%lld must be odd and positive, strides positive, "
                       "max_displacement and pad_size not negative", (long long)a->kernel_size);
    if (d->ndim != 4)
        return am_fail(AM_ERR_SHAPE, "data1 %s must be (N, C, H, W)", am_fmt_shape(d, b));
    int64_t border = a->max_displacement + (a->kernel_size - 1) / 2;
    int64_t ph = d->dim[2] + 2 * a->pad_size - 2 * border;
    int64_t pw = d->dim[3] + 2 * a->pad_size - 2 * border;
    if (ph < 1 || pw < 1)
        return am_fail(AM_ERR_SHAPE, "data1 %s with pad_size %lld is smaller than the border %lld "
                       "of max_displacement and kernel_size on each side", am_fmt_shape(d, b),
                       (long long)a->pad_size, (long long)border);
    g->out_h = (ph + a->stride1 - 1) / a->stride1;
    g->out_w = (pw + a->stride1 - 1) / a->stride1;
    g->radius = a->max_displacement / a->stride2;
    g->grid_w = 2 * g->radius + 1;
    g->channels = g->grid_w * g->grid_w;
    return AM_OK;
}

static am_status corr_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_out);
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    corr_geom g;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = corr_geometry(attrs, &in[0], &g);
    if (st != AM_OK) return st;
    if (!am_shape_equal(in[0], in[1]))
        return am_fail(AM_ERR_SHAPE, "data1 %s and data2 %s differ", am_fmt_shape(&in[0], b0),
                       am_fmt_shape(&in[1], b1));
    out[0] = AM_SHAPE(in[0].dim[0], g.channels, g.out_h, g.out_w);
    return AM_OK;
}

/* Walks every (output element, patch offset, channel) pair: forward sums into
 * out; backward (og set) adds into d1 and d2. */
#define CORR_KERNEL(T)                                                                         \
    static void corr_run_##T(const corr_attrs *a, const corr_geom *g, const T *x1,            \
                             const T *x2, int64_t n, int64_t c, int64_t h, int64_t w, T *out,  \
                             am_req req, const T *og, T *d1, T *d2)                            \
    {                                                                                          \
        const int64_t k = a->kernel_size, pad = a->pad_size, md = a->max_displacement;         \
        const double norm = (double)(k * k * c);                                               \
        for (int64_t b = 0; b < n; b++)                                                        \
            for (int64_t tc = 0; tc < g->channels; tc++)                                       \
                for (int64_t i = 0; i < g->out_h; i++)                                         \
                    for (int64_t j = 0; j < g->out_w; j++) {                                   \
                        int64_t o = ((b * g->channels + tc) * g->out_h + i) * g->out_w + j;   \
                        int64_t y1 = i * a->stride1 + md - pad, xx1 = j * a->stride1 + md - pad; \
                        int64_t y2 = y1 + (tc / g->grid_w - g->radius) * a->stride2;           \
                        int64_t xx2 = xx1 + (tc % g->grid_w - g->radius) * a->stride2;         \
                        double sum = 0, go = og ? og[o] / norm : 0;                            \
                        for (int64_t p = 0; p < k; p++)                                        \
                            for (int64_t q = 0; q < k; q++) {                                  \
                                int64_t ya = y1 + p, xa = xx1 + q, yb = y2 + p, xb = xx2 + q;  \
                                bool ina = ya >= 0 && ya < h && xa >= 0 && xa < w;             \
                                bool inb = yb >= 0 && yb < h && xb >= 0 && xb < w;             \
                                for (int64_t ch = 0; ch < c; ch++) {                           \
                                    int64_t ia = ((b * c + ch) * h + ya) * w + xa;             \
                                    int64_t ib = ((b * c + ch) * h + yb) * w + xb;             \
                                    double va = ina ? x1[ia] : 0, vb = inb ? x2[ib] : 0;       \
                                    if (!og) {                                                 \
                                        sum += a->is_multiply ? va * vb : fabs(va - vb);       \
                                        continue;                                              \
                                    }                                                          \
                                    double ga, gb;                                             \
                                    if (a->is_multiply) ga = go * vb, gb = go * va;            \
                                    else {                                                     \
                                        double s = va > vb ? 1 : va < vb ? -1 : 0;             \
                                        ga = go * s, gb = -go * s;                             \
                                    }                                                          \
                                    if (ina && d1) d1[ia] += (T)ga;                            \
                                    if (inb && d2) d2[ib] += (T)gb;                            \
                                }                                                              \
                            }                                                                  \
                        if (og) continue;                                                      \
                        T v = (T)(sum / norm);                                                 \
                        out[o] = req == AM_REQ_ADD ? out[o] + v : v;                           \
                    }                                                                          \
    }
CORR_KERNEL(float)
CORR_KERNEL(double)

static am_status corr_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in, int n_in,
                          const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    corr_geom g;
    am_shape s = am_view_shape(&in[0]);
    am_status st = corr_geometry(attrs, &s, &g);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    if (in[0].dtype == AM_DTYPE_FLOAT32)
        corr_run_float(attrs, &g, in[0].data, in[1].data, s.dim[0], s.dim[1], s.dim[2], s.dim[3],
                       out[0].data, req[0], NULL, NULL, NULL);
    else
        corr_run_double(attrs, &g, in[0].data, in[1].data, s.dim[0], s.dim[1], s.dim[2],
                        s.dim[3], out[0].data, req[0], NULL, NULL, NULL);
    return AM_OK;
}

/* _backward_Correlation(out_grad, data1, data2): d data1 and d data2. */
static am_status corr_backward_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                     int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_shape y;
    am_status st = am_need_known(in, 3);
    if (st == AM_OK) st = corr_shape(attrs, in + 1, 2, &y, 1);
    if (st != AM_OK) return st;
    if (!am_shape_equal(y, in[0]))
        return am_fail(AM_ERR_SHAPE, "out_grad %s must be the output's shape %s",
                       am_fmt_shape(&in[0], b0), am_fmt_shape(&y, b1));
    out[0] = in[1];
    out[1] = in[2];
    return AM_OK;
}

static am_status corr_backward_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                   int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    corr_geom g;
    am_shape s = am_view_shape(&in[1]);
    am_status st = corr_geometry(attrs, &s, &g);
    if (st != AM_OK) return st;
    for (int i = 0; i < 2; i++)
        if (req[i] != AM_REQ_NULL && req[i] != AM_REQ_ADD && am_view_size(&out[i]))
            memset(out[i].data, 0, (size_t)am_view_size(&out[i]) * am_dtype_size(out[i].dtype));
    void *d1 = req[0] == AM_REQ_NULL ? NULL : out[0].data;
    void *d2 = req[1] == AM_REQ_NULL ? NULL : out[1].data;
    if (in[0].dtype == AM_DTYPE_FLOAT32)
        corr_run_float(attrs, &g, in[1].data, in[2].data, s.dim[0], s.dim[1], s.dim[2], s.dim[3],
                       NULL, AM_REQ_NULL, in[0].data, d1, d2);
    else
        corr_run_double(attrs, &g, in[1].data, in[2].data, s.dim[0], s.dim[1], s.dim[2],
                        s.dim[3], NULL, AM_REQ_NULL, in[0].data, d1, d2);
    return AM_OK;
}

const am_op_def am_op_backward_correlation = {
    .name = "_backward_Correlation",
    .input_names = (const char *const[]){"out_grad", "data1", "data2", NULL},
    .num_outputs = 2, .attrs = corr_fields, .attrs_size = sizeof(corr_attrs),
    .infer_shape = corr_backward_shape, .infer_dtype = am_infer_dtype_float_same, .cpu = corr_backward_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Correlation's gradients for data1 and data2."};

static am_status corr_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0] && !g->need_grad[1]) return AM_OK;
    am_array *x[3] = {og[0], am_block_grad_at(in[0], g->at), am_block_grad_at(in[1], g->at)};
    am_array *r[2] = {0};
    am_status st = am_op_call(&am_op_backward_correlation, g->attrs, x, 3, r, 2, g->at);
    if (st != AM_OK) return st;
    ig[0] = g->need_grad[0] ? r[0] : NULL;
    ig[1] = g->need_grad[1] ? r[1] : NULL;
    return AM_OK;
}

const am_op_def am_op_correlation = {
    .name = "Correlation",
    .input_names = (const char *const[]){"data1", "data2", NULL},
    .num_outputs = 1, .attrs = corr_fields, .attrs_size = sizeof(corr_attrs),
    .infer_shape = corr_shape, .infer_dtype = am_infer_dtype_float_same, .cpu = corr_cpu,
    .gradient = corr_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "FlowNet's correlation of two feature maps (N, C, H, W) over displacements: "
           "(N, (2d+1)^2, H', W')."};

am_array *am_correlation_at(am_array *data1, am_array *data2, int64_t kernel_size,
                            int64_t max_displacement, int64_t stride1, int64_t stride2,
                            int64_t pad_size, bool is_multiply, am_site at)
{
    corr_attrs a = {kernel_size, max_displacement, stride1, stride2, pad_size, is_multiply};
    am_array *in[2] = {data1, data2}, *y = NULL;
    am_op_call(&am_op_correlation, &a, in, 2, &y, 1, at);
    return y;
}
