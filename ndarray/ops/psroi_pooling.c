/* _contrib_PSROIPooling (R-FCN's position-sensitive RoI pooling) and its
 * backward, _backward__contrib_PSROIPooling, as MXNet 1.9.1 has them.
 *
 * data (N, C, H, W), rois (R, 5) rows [batch index, x1, y1, x2, y2] in image
 * coordinates, rounded to integers; the roi covers [round(x1), round(x2) + 1)
 * times spatial_scale (at least 0.1 wide and high).  Output (R, output_dim, P,
 * P) for P = pooled_size: bin (i, j) of output channel c averages the whole
 * pixels of input channel (c * G + gi) * G + gj (G = group_size, default P;
 * gi = floor(i * G / P)) between floor(bin start) and ceil(bin end), clipped
 * to the map; an empty bin gives 0.  A roi whose batch index is outside [0, N)
 * gives zeros and passes no gradient.  Arithmetic runs in the data's dtype, as
 * MXNet's.  Docs: docs/detection.md. */
#include "shape_impl.h"

#include <math.h>
#include <string.h>

typedef struct psroi_attrs {
    double spatial_scale;
    int64_t output_dim, pooled_size, group_size;
} psroi_attrs;

static const am_attr_field psroi_fields[] = {
    AM_ATTR_FIELD(psroi_attrs, spatial_scale, AM_ATTR_FLOAT, NULL,
                  "feature map size over image size (1 / total stride)"),
    AM_ATTR_FIELD(psroi_attrs, output_dim, AM_ATTR_INT, NULL, "output channels"),
    AM_ATTR_FIELD(psroi_attrs, pooled_size, AM_ATTR_INT, NULL, "output height and width"),
    AM_ATTR_FIELD(psroi_attrs, group_size, AM_ATTR_INT, "0",
                  "position-sensitive groups per axis; 0: pooled_size"),
    {0}};

static int64_t psroi_groups(const psroi_attrs *a)
{
    return a->group_size ? a->group_size : a->pooled_size;
}

static am_status psroi_check(const psroi_attrs *a, const am_shape *data, const am_shape *rois)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    if (!(a->spatial_scale >= 0 && a->spatial_scale <= 1))
        return am_fail(AM_ERR_ARG, "spatial_scale=%g is outside [0, 1] (MXNet's bound)",
                       a->spatial_scale);
    if (a->output_dim < 1 || a->pooled_size < 1 || a->group_size < 0)
        return am_fail(AM_ERR_ARG, "output_dim=%lld and pooled_size=%lld must be positive and "
                       "group_size=%lld not negative", (long long)a->output_dim,
                       (long long)a->pooled_size, (long long)a->group_size);
    if (data->ndim != 4 || rois->ndim != 2 || rois->dim[1] != 5)
        return am_fail(AM_ERR_SHAPE, "data %s and rois %s must be (N, C, H, W) and (R, 5)",
                       am_fmt_shape(data, b0), am_fmt_shape(rois, b1));
    int64_t g = psroi_groups(a);
    if (data->dim[1] < a->output_dim * g * g)
        return am_fail(AM_ERR_SHAPE, "data %s has fewer than output_dim * group_size^2 = %lld "
                       "channels", am_fmt_shape(data, b0), (long long)(a->output_dim * g * g));
    return AM_OK;
}

static am_status psroi_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                             int n_out)
{
    AM_UNUSED(n_out);
    const psroi_attrs *a = attrs;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = psroi_check(a, &in[0], &in[1]);
    if (st != AM_OK) return st;
    out[0] = AM_SHAPE(in[1].dim[0], a->output_dim, a->pooled_size, a->pooled_size);
    return AM_OK;
}

/* v rounded to the kernel's dtype (float32 arithmetic, as MXNet's for float32). */
static double rnd(double v, bool f32)
{
    return f32 ? (double)(float)v : v;
}

static int64_t clip_i(double v, int64_t hi)
{
    return v < 0 ? 0 : v > (double)hi ? hi : (int64_t)v;
}

/* forward: out[r, c, i, j] = mean of the bin; backward (back): d data += d out / area. */
static void psroi_run(const psroi_attrs *a, const am_view *data_v, const am_view *rois_v,
                      const am_view *val, const am_view *grad_or_out, bool back, am_req req)
{
    const int64_t n = data_v->dim[0], ch = data_v->dim[1], h = data_v->dim[2];
    const int64_t w = data_v->dim[3], nr = rois_v->dim[0];
    const int64_t p = a->pooled_size, g = psroi_groups(a), od = a->output_dim;
    const bool f32 = data_v->dtype == AM_DTYPE_FLOAT32;
    const double s = rnd(a->spatial_scale, true);
    for (int64_t idx = 0; idx < nr * od * p * p; idx++) {
        int64_t j = idx % p, i = (idx / p) % p, c = (idx / p / p) % od, r = idx / (p * p * od);
        double roi[5];
        for (int k = 0; k < 5; k++) roi[k] = am_view_get(rois_v, r * 5 + k);
        int64_t batch = (int64_t)roi[0];
        bool skip = !(roi[0] > -1 && roi[0] < (double)n);
        double x0 = rnd(round(roi[1]) * s, f32), y0 = rnd(round(roi[2]) * s, f32);
        double x1 = rnd((round(roi[3]) + 1.0) * s, f32), y1 = rnd((round(roi[4]) + 1.0) * s, f32);
        double rw = fmax(rnd(x1 - x0, f32), 0.1), rh = fmax(rnd(y1 - y0, f32), 0.1);
        double bw = rnd(rnd(rw, f32) / (double)p, f32), bh = rnd(rnd(rh, f32) / (double)p, f32);
        int64_t hs = clip_i(floor(rnd(rnd(i * bh, f32) + y0, f32)), h);
        int64_t ws = clip_i(floor(rnd(rnd(j * bw, f32) + x0, f32)), w);
        int64_t he = clip_i(ceil(rnd(rnd((i + 1) * bh, f32) + y0, f32)), h);
        int64_t we = clip_i(ceil(rnd(rnd((j + 1) * bw, f32) + x0, f32)), w);
        bool empty = skip || he <= hs || we <= ws;
        int64_t gi = i * g / p, gj = j * g / p;
        gi = gi < g ? gi : g - 1, gj = gj < g ? gj : g - 1;
        int64_t base = ((skip ? 0 : batch) * ch + (c * g + gi) * g + gj) * h * w;
        double area = (double)((he - hs) * (we - ws));
        if (back) {
            if (empty) continue;
            double go = rnd(am_view_get(grad_or_out, idx) / area, f32);
            for (int64_t y = hs; y < he; y++)
                for (int64_t x = ws; x < we; x++) {
                    int64_t o = base + y * w + x;
                    am_view_set(val, o, am_view_get(val, o) + go);
                }
            continue;
        }
        double sum = 0;
        if (!empty)
            for (int64_t y = hs; y < he; y++)
                for (int64_t x = ws; x < we; x++) sum += am_view_get(val, base + y * w + x);
        double v = empty ? 0 : sum / area;
        if (req == AM_REQ_ADD) v += am_view_get(grad_or_out, idx);
        am_view_set(grad_or_out, idx, v);
    }
}

static am_status psroi_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] != AM_REQ_NULL) psroi_run(attrs, &in[0], &in[1], &in[0], &out[0], false, req[0]);
    return AM_OK;
}

/* _backward__contrib_PSROIPooling(out_grad, rois, data): d data; data gives its shape. */
static am_status psroi_backward_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                      int n_out)
{
    AM_UNUSED(n_out);
    const psroi_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = psroi_check(a, &in[2], &in[1]);
    if (st != AM_OK) return st;
    am_shape want = AM_SHAPE(in[1].dim[0], a->output_dim, a->pooled_size, a->pooled_size);
    if (!am_shape_equal(want, in[0]))
        return am_fail(AM_ERR_SHAPE, "out_grad %s must be %s", am_fmt_shape(&in[0], b0),
                       am_fmt_shape(&want, b1));
    out[0] = in[2];
    return AM_OK;
}

static am_status psroi_backward_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                    const am_view *in, int n_in, const am_view *out, int n_out,
                                    const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    if (req[0] != AM_REQ_ADD && am_view_size(&out[0]))
        memset(out[0].data, 0, (size_t)am_view_size(&out[0]) * am_dtype_size(out[0].dtype));
    psroi_run(attrs, &in[2], &in[1], &out[0], &in[0], true, req[0]);
    return AM_OK;
}

const am_op_def am_op_backward_psroi_pooling = {
    .name = "_backward__contrib_PSROIPooling",
    .input_names = (const char *const[]){"out_grad", "rois", "data", NULL},
    .num_outputs = 1, .attrs = psroi_fields, .attrs_size = sizeof(psroi_attrs),
    .infer_shape = psroi_backward_shape, .infer_dtype = am_infer_dtype_float_same, .cpu = psroi_backward_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "PSROIPooling's gradient for data (whose values are not read) from out_grad and "
           "rois."};

static am_status psroi_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                            am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    am_array *x[3] = {og[0], am_block_grad_at(in[1], g->at), am_block_grad_at(in[0], g->at)};
    return am_op_call(&am_op_backward_psroi_pooling, g->attrs, x, 3, &ig[0], 1, g->at);
}

const am_op_def am_op_psroi_pooling = {
    .name = "_contrib_PSROIPooling",
    .input_names = (const char *const[]){"data", "rois", NULL},
    .num_outputs = 1, .attrs = psroi_fields, .attrs_size = sizeof(psroi_attrs),
    .infer_shape = psroi_shape, .infer_dtype = am_infer_dtype_float_same, .cpu = psroi_cpu,
    .gradient = psroi_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "R-FCN's position-sensitive RoI average pooling: rois (R, 5) over data (N, C, H, W) "
           "into (R, output_dim, pooled_size, pooled_size)."};

am_array *am_psroi_pooling_at(am_array *data, am_array *rois, double spatial_scale,
                              int64_t output_dim, int64_t pooled_size, int64_t group_size,
                              am_site at)
{
    psroi_attrs a = {.spatial_scale = spatial_scale, .output_dim = output_dim,
                     .pooled_size = pooled_size, .group_size = group_size};
    am_array *in[2] = {data, rois}, *y = NULL;
    am_op_call(&am_op_psroi_pooling, &a, in, 2, &y, 1, at);
    return y;
}
