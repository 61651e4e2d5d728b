/* _contrib_ROIAlign (Mask R-CNN's RoIAlign, as MXNet 1.9.1 has it) and its
 * backward, _backward_ROIAlign.
 *
 * data (N, C, H, W), rois (R, 5) rows [batch index, x1, y1, x2, y2] in image
 * coordinates (times spatial_scale on the feature map).  Each of the
 * pooled_size bins averages bilinear samples on a regular grid (sample_ratio
 * per axis, or ceil(roi size / pooled size) when it is not positive).  A roi
 * whose batch index is negative gives zeros.  position_sensitive takes bin
 * (i, j) of output channel c from input channel (c * ph + i) * pw + j (R-FCN).
 * aligned shifts the roi by half a pixel (Detectron2) and lets it be smaller
 * than 1x1, but not empty (MXNet's check).  The gradient flows to data only (MXNet gives rois none).
 * Docs: docs/detection.md. */
#include "detection_impl.h"

#include <math.h>
#include <string.h>

typedef struct roi_align_attrs {
    am_tuple pooled_size;
    double spatial_scale;
    int64_t sample_ratio;
    bool position_sensitive, aligned;
} roi_align_attrs;

static const am_attr_field roi_align_fields[] = {
    AM_ATTR_FIELD(roi_align_attrs, pooled_size, AM_ATTR_TUPLE, NULL,
                  "output height and width of each roi"),
    AM_ATTR_FIELD(roi_align_attrs, spatial_scale, AM_ATTR_FLOAT, NULL,
                  "feature map size over image size (1 / total stride)"),
    AM_ATTR_FIELD(roi_align_attrs, sample_ratio, AM_ATTR_INT, "-1",
                  "samples per bin and axis; not positive: ceil(roi size / pooled size)"),
    AM_ATTR_FIELD(roi_align_attrs, position_sensitive, AM_ATTR_BOOL, "False",
                  "R-FCN's position-sensitive pooling: C / (ph * pw) output channels"),
    AM_ATTR_FIELD(roi_align_attrs, aligned, AM_ATTR_BOOL, "False",
                  "shift rois by half a pixel (Detectron2) and allow them below 1x1"),
    {0}};

static am_status roi_align_check(const roi_align_attrs *a, const am_shape *data,
                                 const am_shape *rois, int64_t *c_out)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    if (a->pooled_size.ndim != 2 || a->pooled_size.v[0] < 1 || a->pooled_size.v[1] < 1)
        return am_fail(AM_ERR_ARG, "pooled_size=%s must be 2 positive sizes (h, w)",
                       am_fmt_tuple(&a->pooled_size, b0));
    if (!(a->spatial_scale >= 0 && a->spatial_scale <= 1))
        return am_fail(AM_ERR_ARG, "spatial_scale=%g is outside [0, 1] (MXNet's bound)",
                       a->spatial_scale);
    if (data->ndim != 4 || rois->ndim != 2 || rois->dim[1] != 5)
        return am_fail(AM_ERR_SHAPE, "data %s and rois %s must be (N, C, H, W) and (R, 5)",
                       am_fmt_shape(data, b0), am_fmt_shape(rois, b1));
    int64_t bins = a->pooled_size.v[0] * a->pooled_size.v[1];
    *c_out = data->dim[1];
    if (a->position_sensitive) {
        if (data->dim[1] % bins)
            return am_fail(AM_ERR_SHAPE, "data %s: position_sensitive needs channels divisible "
                           "by %lld bins", am_fmt_shape(data, b0), (long long)bins);
        *c_out = data->dim[1] / bins;
    }
    return AM_OK;
}

static am_status roi_align_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                 int n_out)
{
    AM_UNUSED(n_out);
    const roi_align_attrs *a = attrs;
    int64_t c = 0;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = roi_align_check(a, &in[0], &in[1], &c);
    if (st != AM_OK) return st;
    out[0] = AM_SHAPE(in[1].dim[0], c, a->pooled_size.v[0], a->pooled_size.v[1]);
    return AM_OK;
}

/* One bilinear sample at (y, x): the four corner offsets and weights, or false
 * when the point lies outside [-1, H] x [-1, W] (MXNet's RoIAlign rule; a point
 * just outside the map is clamped to its edge).  Shared with rroi_align.c. */
bool am_det_roi_sample(double y, double x, int64_t h, int64_t w, am_det_tap *t)
{
    if (y < -1.0 || y > h || x < -1.0 || x > w) return false;
    if (y <= 0) y = 0;
    if (x <= 0) x = 0;
    int64_t y0 = (int64_t)y, x0 = (int64_t)x, y1, x1;
    if (y0 >= h - 1) y1 = y0 = h - 1, y = (double)y0;
    else y1 = y0 + 1;
    if (x0 >= w - 1) x1 = x0 = w - 1, x = (double)x0;
    else x1 = x0 + 1;
    double ly = y - y0, lx = x - x0, hy = 1 - ly, hx = 1 - lx;
    t->off[0] = y0 * w + x0, t->off[1] = y0 * w + x1;
    t->off[2] = y1 * w + x0, t->off[3] = y1 * w + x1;
    t->w[0] = hy * hx, t->w[1] = hy * lx, t->w[2] = ly * hx, t->w[3] = ly * lx;
    return true;
}

/* The geometry of one roi's bins. */
typedef struct roi_geom {
    int64_t batch, gh, gw;
    double y0, x0, bin_h, bin_w, count;
} roi_geom;

static roi_geom roi_geometry(const roi_align_attrs *a, const double *r)
{
    roi_geom g = {.batch = (int64_t)r[0]};
    double off = a->aligned ? 0.5 : 0, s = a->spatial_scale;
    double x0 = r[1] * s - off, y0 = r[2] * s - off, x1 = r[3] * s - off, y1 = r[4] * s - off;
    double rw = x1 - x0, rh = y1 - y0;
    if (!a->aligned) rw = rw > 1 ? rw : 1, rh = rh > 1 ? rh : 1;
    int64_t ph = a->pooled_size.v[0], pw = a->pooled_size.v[1];
    g.y0 = y0, g.x0 = x0, g.bin_h = rh / ph, g.bin_w = rw / pw;
    g.gh = a->sample_ratio > 0 ? a->sample_ratio : (int64_t)ceil(rh / ph);
    g.gw = a->sample_ratio > 0 ? a->sample_ratio : (int64_t)ceil(rw / pw);
    int64_t cnt = g.gh * g.gw;
    g.count = cnt > 1 ? (double)cnt : 1.0;
    return g;
}

/* forward: out[r, c, i, j] = mean of the samples of bin (i, j);
 * backward (back = true): d data += d out / count * weight at each tap. */
static void roi_align_run(const roi_align_attrs *a, const am_view *data_v, const am_view *rois_v,
                          const am_view *val, const am_view *grad_or_out, bool back, am_req req)
{
    const int64_t n = data_v->dim[0], c_in = data_v->dim[1], h = data_v->dim[2];
    const int64_t w = data_v->dim[3], nr = rois_v->dim[0];
    const int64_t ph = a->pooled_size.v[0], pw = a->pooled_size.v[1];
    const int64_t c_out = a->position_sensitive ? c_in / (ph * pw) : c_in;
    const int64_t total = nr * c_out * ph * pw;
    for (int64_t idx = 0; idx < total; idx++) {
        int64_t j = idx % pw, i = (idx / pw) % ph, c = (idx / pw / ph) % c_out;
        int64_t r = idx / (pw * ph * c_out);
        double roi[5];
        for (int k = 0; k < 5; k++) roi[k] = am_view_get(rois_v, r * 5 + k);
        roi_geom g = roi_geometry(a, roi);
        int64_t ci = a->position_sensitive ? (c * ph + i) * pw + j : c;
        bool skip = g.batch < 0 || g.batch >= n;
        int64_t base = (g.batch * c_in + ci) * h * w;
        if (back) {
            double go = am_view_get(grad_or_out, idx) / g.count;
            if (skip || go == 0) continue;
            for (int64_t iy = 0; iy < g.gh; iy++)
                for (int64_t ix = 0; ix < g.gw; ix++) {
                    am_det_tap t;
                    double y = g.y0 + i * g.bin_h + (iy + 0.5) * g.bin_h / g.gh;
                    double x = g.x0 + j * g.bin_w + (ix + 0.5) * g.bin_w / g.gw;
                    if (!am_det_roi_sample(y, x, h, w, &t)) continue;
                    for (int k = 0; k < 4; k++) {
                        int64_t o = base + t.off[k];
                        am_view_set(val, o, am_view_get(val, o) + go * t.w[k]);
                    }
                }
            continue;
        }
        double sum = 0;
        if (!skip)
            for (int64_t iy = 0; iy < g.gh; iy++)
                for (int64_t ix = 0; ix < g.gw; ix++) {
                    am_det_tap t;
                    double y = g.y0 + i * g.bin_h + (iy + 0.5) * g.bin_h / g.gh;
                    double x = g.x0 + j * g.bin_w + (ix + 0.5) * g.bin_w / g.gw;
                    if (!am_det_roi_sample(y, x, h, w, &t)) continue;
                    for (int k = 0; k < 4; k++)
                        sum += t.w[k] * am_view_get(val, base + t.off[k]);
                }
        double v = skip ? 0 : sum / g.count;
        if (req == AM_REQ_ADD) v += am_view_get(grad_or_out, idx);
        am_view_set(grad_or_out, idx, v);
    }
}

/* With aligned, MXNet requires every roi to have a positive width and height. */
static am_status roi_align_check_rois(const roi_align_attrs *a, const am_view *rois)
{
    if (!a->aligned) return AM_OK;
    for (int64_t r = 0; r < rois->dim[0]; r++) {
        double roi[5];
        for (int k = 0; k < 5; k++) roi[k] = am_view_get(rois, r * 5 + k);
        roi_geom g = roi_geometry(a, roi);
        if (g.batch >= 0 && !(g.bin_h > 0 && g.bin_w > 0))
            return am_fail(AM_ERR_ARG, "roi %lld [%g, %g, %g, %g] has no positive width and "
                           "height on the map, which aligned=True requires", (long long)r,
                           roi[1], roi[2], roi[3], roi[4]);
    }
    return AM_OK;
}

static am_status roi_align_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                               int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_status st = roi_align_check_rois(attrs, &in[1]);
    if (st != AM_OK) return st;
    if (req[0] != AM_REQ_NULL) roi_align_run(attrs, &in[0], &in[1], &in[0], &out[0], false, req[0]);
    return AM_OK;
}

/* _backward_ROIAlign(out_grad, rois, data): d data; data gives only its shape. */
static am_status roi_align_backward_shape(const void *attrs, am_shape *in, int n_in,
                                          am_shape *out, int n_out)
{
    AM_UNUSED(n_out);
    const roi_align_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    int64_t c = 0;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = roi_align_check(a, &in[2], &in[1], &c);
    if (st != AM_OK) return st;
    am_shape want = AM_SHAPE(in[1].dim[0], c, a->pooled_size.v[0], a->pooled_size.v[1]);
    if (!am_shape_equal(want, in[0]))
        return am_fail(AM_ERR_SHAPE, "out_grad %s must be %s", am_fmt_shape(&in[0], b0),
                       am_fmt_shape(&want, b1));
    out[0] = in[2];
    return AM_OK;
}

static am_status roi_align_backward_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                        const am_view *in, int n_in, const am_view *out,
                                        int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_status st = roi_align_check_rois(attrs, &in[1]);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    if (req[0] != AM_REQ_ADD && am_view_size(&out[0]))
        memset(out[0].data, 0, (size_t)am_view_size(&out[0]) * am_dtype_size(out[0].dtype));
    roi_align_run(attrs, &in[2], &in[1], &out[0], &in[0], true, req[0]);
    return AM_OK;
}

const am_op_def am_op_backward_roi_align = {
    .name = "_backward_ROIAlign",
    .input_names = (const char *const[]){"out_grad", "rois", "data", NULL},
    .num_outputs = 1, .attrs = roi_align_fields, .attrs_size = sizeof(roi_align_attrs),
    .infer_shape = roi_align_backward_shape, .infer_dtype = am_infer_dtype_float_same,
    .cpu = roi_align_backward_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "ROIAlign's gradient for data (whose values are not read) from out_grad and rois."};

static am_status roi_align_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                                am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    am_array *x[3] = {og[0], am_block_grad_at(in[1], g->at), am_block_grad_at(in[0], g->at)};
    return am_op_call(&am_op_backward_roi_align, g->attrs, x, 3, &ig[0], 1, g->at);
}

const am_op_def am_op_roi_align = {
    .name = "_contrib_ROIAlign",
    .input_names = (const char *const[]){"data", "rois", NULL},
    .num_outputs = 1, .attrs = roi_align_fields, .attrs_size = sizeof(roi_align_attrs),
    .infer_shape = roi_align_shape, .infer_dtype = am_infer_dtype_float_same, .cpu = roi_align_cpu,
    .gradient = roi_align_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "RoIAlign: each roi (R, 5) [batch, x1, y1, x2, y2] of data (N, C, H, W) pooled to "
           "(R, C, ph, pw) by averaging bilinear samples."};

am_array *am_roi_align_at(am_array *data, am_array *rois, int64_t pooled_h, int64_t pooled_w,
                          double spatial_scale, int64_t sample_ratio, bool aligned, am_site at)
{
    roi_align_attrs a = {.pooled_size = {.ndim = 2, .v = {pooled_h, pooled_w}},
                         .spatial_scale = spatial_scale, .sample_ratio = sample_ratio,
                         .aligned = aligned};
    am_array *in[2] = {data, rois}, *y = NULL;
    am_op_call(&am_op_roi_align, &a, in, 2, &y, 1, at);
    return y;
}
