/* _contrib_RROIAlign (rotated RoIAlign, for text detection) as MXNet 1.9.1 has it.
 *
 * data (N, C, H, W), rois (R, 6) rows [batch index, center x, center y, width,
 * height, angle in degrees], all but the batch index and angle times
 * spatial_scale (width and height at least 1).  Output (R, C, ph, pw): each bin
 * of the roi, in the roi's own frame, averages a regular grid of sampling_ratio
 * (not positive: ceil(roi size / pooled size)) points per axis, each rotated by
 * the angle about the center, (x, y) = (u cos t + v sin t + cx, v cos t - u sin
 * t + cy), and sampled with RoIAlign's bilinear rule (roi_align.c).  A roi whose
 * batch index is outside [0, N) gives zeros.  No gradient: MXNet's backward is
 * "not supported".  Docs: docs/detection.md. */
#include "detection_impl.h"

#include <math.h>

typedef struct rroi_attrs {
    am_tuple pooled_size;
    double spatial_scale;
    int64_t sampling_ratio;
} rroi_attrs;

static const am_attr_field rroi_fields[] = {
    AM_ATTR_FIELD(rroi_attrs, pooled_size, AM_ATTR_TUPLE, NULL,
                  "output height and width of each roi"),
    AM_ATTR_FIELD(rroi_attrs, spatial_scale, AM_ATTR_FLOAT, NULL,
                  "feature map size over image size (1 / total stride)"),
    AM_ATTR_FIELD(rroi_attrs, sampling_ratio, AM_ATTR_INT, "-1",
                  "samples per bin and axis; not positive: ceil(roi size / pooled size)"),
    {0}};

static am_status rroi_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_out);
    const rroi_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    if (a->pooled_size.ndim != 2 || a->pooled_size.v[0] < 1 || a->pooled_size.v[1] < 1)
        return am_fail(AM_ERR_ARG, "pooled_size=%s must be 2 positive sizes (h, w)",
                       am_fmt_tuple(&a->pooled_size, b0));
    if (in[0].ndim != 4 || in[1].ndim != 2 || in[1].dim[1] != 6)
        return am_fail(AM_ERR_SHAPE, "data %s and rois %s must be (N, C, H, W) and (R, 6)",
                       am_fmt_shape(&in[0], b0), am_fmt_shape(&in[1], b1));
    out[0] = AM_SHAPE(in[1].dim[0], in[0].dim[1], a->pooled_size.v[0], a->pooled_size.v[1]);
    return AM_OK;
}

static am_status rroi_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const rroi_attrs *a = attrs;
    if (req[0] == AM_REQ_NULL) return AM_OK;
    const am_view *x = &in[0], *rois = &in[1];
    const int64_t n = x->dim[0], ch = x->dim[1], h = x->dim[2], w = x->dim[3];
    const int64_t ph = a->pooled_size.v[0], pw = a->pooled_size.v[1];
    const double s = (double)(float)a->spatial_scale;
    for (int64_t r = 0; r < rois->dim[0]; r++) {
        double roi[6];
        for (int k = 0; k < 6; k++) roi[k] = am_view_get(rois, r * 6 + k);
        bool skip = !(roi[0] > -1 && roi[0] < (double)n);
        int64_t batch = skip ? 0 : (int64_t)roi[0];
        double cx = roi[1] * s, cy = roi[2] * s;
        double rw = fmax(roi[3] * s, 1.0), rh = fmax(roi[4] * s, 1.0);
        double t = roi[5] * M_PI / 180.0, ct = cos(t), st = sin(t);
        double y0 = -rh / 2.0, x0 = -rw / 2.0, bh = rh / (double)ph, bw = rw / (double)pw;
        int64_t gh = a->sampling_ratio > 0 ? a->sampling_ratio : (int64_t)ceil(rh / (double)ph);
        int64_t gw = a->sampling_ratio > 0 ? a->sampling_ratio : (int64_t)ceil(rw / (double)pw);
        double count = (double)(gh * gw);
        for (int64_t c = 0; c < ch; c++) {
            int64_t base = (batch * ch + c) * h * w;
            for (int64_t i = 0; i < ph; i++)
                for (int64_t j = 0; j < pw; j++) {
                    double sum = 0;
                    for (int64_t iy = 0; iy < gh && !skip; iy++) {
                        double v = y0 + i * bh + (iy + 0.5) * bh / (double)gh;
                        for (int64_t ix = 0; ix < gw; ix++) {
                            double u = x0 + j * bw + (ix + 0.5) * bw / (double)gw;
                            am_det_tap tap;
                            if (!am_det_roi_sample(v * ct - u * st + cy, u * ct + v * st + cx, h,
                                                   w, &tap))
                                continue;
                            for (int k = 0; k < 4; k++)
                                sum += tap.w[k] * am_view_get(x, base + tap.off[k]);
                        }
                    }
                    int64_t o = ((r * ch + c) * ph + i) * pw + j;
                    double val = skip ? 0 : sum / count;
                    if (req[0] == AM_REQ_ADD) val += am_view_get(&out[0], o);
                    am_view_set(&out[0], o, val);
                }
        }
    }
    return AM_OK;
}

const am_op_def am_op_rroi_align = {
    .name = "_contrib_RROIAlign",
    .input_names = (const char *const[]){"data", "rois", NULL},
    .num_outputs = 1, .attrs = rroi_fields, .attrs_size = sizeof(rroi_attrs),
    .infer_shape = rroi_shape, .infer_dtype = am_infer_dtype_float_same, .cpu = rroi_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Rotated RoIAlign: rois (R, 6) [batch, cx, cy, w, h, degrees] over data "
           "(N, C, H, W) pooled to (R, C, ph, pw) by averaging rotated bilinear samples."};

am_array *am_rroi_align_at(am_array *data, am_array *rois, int64_t pooled_h, int64_t pooled_w,
                           double spatial_scale, int64_t sampling_ratio, am_site at)
{
    rroi_attrs a = {.pooled_size = {.ndim = 2, .v = {pooled_h, pooled_w}},
                    .spatial_scale = spatial_scale, .sampling_ratio = sampling_ratio};
    am_array *in[2] = {data, rois}, *y = NULL;
    am_op_call(&am_op_rroi_align, &a, in, 2, &y, 1, at);
    return y;
}
