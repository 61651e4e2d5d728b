/* ROIPooling (Fast R-CNN's region of interest max pooling, as MXNet 1.x's roi_pooling.cc)
 * with its hidden argmax output and _backward_ROIPooling, which routes each output's
 * gradient to the input element its maximum came from.  _contrib_ROIAlign is in
 * roi_align.c. */
#include "../ndarray_impl.h"

#include <float.h>
#include <math.h>

typedef struct roi_attrs {
    am_tuple pooled_size;
    double spatial_scale;
} roi_attrs;

static const am_attr_field roi_fields[] = {
    AM_ATTR_FIELD(roi_attrs, pooled_size, AM_ATTR_TUPLE, NULL, "output (height, width)"),
    AM_ATTR_FIELD(roi_attrs, spatial_scale, AM_ATTR_FLOAT, NULL,
                  "feature map size over image size, in [0, 1]: scales the roi corners"),
    {0}};

static am_status roi_check(const roi_attrs *a, const am_shape *x, const am_shape *r)
{
    char b0[96], b1[96];
    const am_tuple *p = &a->pooled_size;
    if (p->ndim != 2 || p->none || p->v[0] < 1 || p->v[1] < 1)
        return am_fail(AM_ERR_ARG, "pooled_size must be (height, width), both at least 1");
    if (!(a->spatial_scale >= 0 && a->spatial_scale <= 1))
        return am_fail(AM_ERR_ARG, "spatial_scale=%g is outside [0, 1]", a->spatial_scale);
    if (x->ndim < 0 || r->ndim < 0)
        return am_fail(AM_ERR_SHAPE, "the shapes of data and rois must be known");
    if (x->ndim != 4 || r->ndim != 2 || r->dim[1] != 5)
        return am_fail(AM_ERR_SHAPE, "data %s must be (N, C, H, W) and rois %s (R, 5)",
                       am_shape_format(x, b0, sizeof(b0)), am_shape_format(r, b1, sizeof(b1)));
    return AM_OK;
}

static am_status roi_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const roi_attrs *a = attrs;
    am_status st = roi_check(a, &in[0], &in[1]);
    if (st != AM_OK) return st;
    out[0] = (am_shape){.ndim = 4, .dim = {in[1].dim[0], in[0].dim[1], a->pooled_size.v[0],
                                           a->pooled_size.v[1]}};
    out[1] = out[0];
    return AM_OK;
}

/* One roi's corners on the feature map, in MXNet's rounding, and its batch entry. */
typedef struct roi_box {
    int64_t batch, x0, y0;
    double bin_h, bin_w;
} roi_box;

#define ROI_FWD(T)                                                                           \
    do {                                                                                     \
        const T *x = in[0].data, *rois = in[1].data;                                         \
        T *y = out[0].data, *arg = out[1].data;                                              \
        for (int64_t r = 0; r < R; r++) {                                                    \
            const T *q = rois + r * 5;                                                       \
            int64_t b = (int64_t)q[0];                                                       \
            if (!(b >= 0 && b < N))                                                          \
                return am_fail(AM_ERR_ARG, "rois[%lld] names batch entry %lld of data with " \
                               "%lld", (long long)r, (long long)b, (long long)N);            \
            T s = (T)a->spatial_scale;                                                       \
            int64_t x0 = (int64_t)round((T)(q[1] * s)), y0 = (int64_t)round((T)(q[2] * s)); \
            int64_t x1 = (int64_t)round((T)(q[3] * s)), y1 = (int64_t)round((T)(q[4] * s)); \
            int64_t rh = y1 - y0 + 1 > 1 ? y1 - y0 + 1 : 1;                                 \
            int64_t rw = x1 - x0 + 1 > 1 ? x1 - x0 + 1 : 1;                                 \
            T bh = (T)rh / (T)PH, bw = (T)rw / (T)PW;                                        \
            for (int64_t c = 0; c < C; c++) {                                                \
                const T *plane = x + (b * C + c) * H * W;                                    \
                for (int64_t ph = 0; ph < PH; ph++)                                          \
                    for (int64_t pw = 0; pw < PW; pw++) {                                    \
                        int64_t h0 = clamp((int64_t)floor((T)ph * bh) + y0, H);              \
                        int64_t h1 = clamp((int64_t)ceil((T)(ph + 1) * bh) + y0, H);         \
                        int64_t w0 = clamp((int64_t)floor((T)pw * bw) + x0, W);              \
                        int64_t w1 = clamp((int64_t)ceil((T)(pw + 1) * bw) + x0, W);         \
                        bool empty = h1 <= h0 || w1 <= w0;                                   \
                        T best = empty ? 0 : -FLT_MAX;                                       \
                        int64_t at_ = -1;                                                    \
                        for (int64_t h = h0; h < h1; h++)                                    \
                            for (int64_t w = w0; w < w1; w++)                                \
                                if (plane[h * W + w] > best) best = plane[h * W + w],        \
                                                             at_ = h * W + w;                \
                        int64_t o = ((r * C + c) * PH + ph) * PW + pw;                       \
                        if (req[0] == AM_REQ_ADD) y[o] += best;                              \
                        else if (req[0] != AM_REQ_NULL) y[o] = best;                         \
                        if (req[1] == AM_REQ_ADD) arg[o] += (T)at_;                          \
                        else if (req[1] != AM_REQ_NULL) arg[o] = (T)at_;                     \
                    }                                                                        \
            }                                                                                \
        }                                                                                    \
    } while (0)

static inline int64_t clamp(int64_t v, int64_t hi) { return v < 0 ? 0 : v > hi ? hi : v; }

static am_status roi_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                         int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const roi_attrs *a = attrs;
    int64_t N = in[0].dim[0], C = in[0].dim[1], H = in[0].dim[2], W = in[0].dim[3];
    int64_t R = in[1].dim[0], PH = a->pooled_size.v[0], PW = a->pooled_size.v[1];
    AM_FLOAT_SWITCH(in[0].dtype, T, ROI_FWD(T));
    return AM_OK;
}

/* _backward_ROIPooling (ograd, data, rois, argmax) -> (data grad, rois grad = 0). */
static am_status roi_bwd_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    char b0[96], b1[96];
    am_shape y[2];
    am_status st = roi_shape(attrs, in + 1, 2, y, 2);
    if (st != AM_OK) return st;
    for (int i = 0; i < 4; i += 3) {
        if (in[i].ndim < 0) in[i] = y[0];
        if (in[i].ndim != 4 || memcmp(in[i].dim, y[0].dim, sizeof(int64_t) * 4))
            return am_fail(AM_ERR_SHAPE, "%s %s does not match the ROIPooling output %s",
                           i ? "argmax" : "ograd", am_shape_format(&in[i], b0, sizeof(b0)),
                           am_shape_format(&y[0], b1, sizeof(b1)));
    }
    out[0] = in[1], out[1] = in[2];
    return AM_OK;
}

static am_status roi_bwd_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    for (int i = 0; i < 2; i++)
        if (req[i] == AM_REQ_WRITE || req[i] == AM_REQ_INPLACE)
            if (am_view_size(&out[i]) > 0)
                memset(out[i].data, 0,
                       (size_t)am_view_size(&out[i]) * am_dtype_size(out[i].dtype));
    if (req[0] == AM_REQ_NULL) return AM_OK;
    int64_t N = in[1].dim[0], C = in[1].dim[1], HW = in[1].dim[2] * in[1].dim[3];
    int64_t R = in[2].dim[0], P = in[0].dim[2] * in[0].dim[3];
    AM_FLOAT_SWITCH(in[1].dtype, T, {
        const T *g = in[0].data, *rois = in[2].data, *arg = in[3].data;
        T *dx = out[0].data;
        for (int64_t r = 0; r < R; r++) {
            int64_t b = (int64_t)rois[r * 5];
            if (!(b >= 0 && b < N))
                return am_fail(AM_ERR_ARG, "rois[%lld] names batch entry %lld of data with %lld",
                               (long long)r, (long long)b, (long long)N);
            for (int64_t c = 0; c < C; c++)
                for (int64_t p = 0; p < P; p++) {
                    int64_t o = (r * C + c) * P + p, i = (int64_t)arg[o];
                    if (i >= 0 && i < HW) dx[(b * C + c) * HW + i] += g[o];
                }
        }
    });
    return AM_OK;
}

extern const am_op_def am_op_backward_roi_pooling;

static am_status roi_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                          am_array *const *og, am_array **ig)
{
    am_array *args[4] = {og[0], in[0], in[1], out[1]}, *r[2] = {0};
    am_status st = am_op_call(&am_op_backward_roi_pooling, g->attrs, args, 4, r, 2, g->at);
    if (st != AM_OK) return st;
    for (int i = 0; i < 2; i++)
        if (g->need_grad[i]) ig[i] = r[i];
    return AM_OK;
}

static int one_visible(const void *attrs)
{
    AM_UNUSED(attrs);
    return 1;
}

const am_op_def am_op_roi_pooling = {
    .name = "ROIPooling", .input_names = (const char *const[]){"data", "rois", NULL},
    .num_outputs = 2, .num_visible = one_visible, .attrs = roi_fields,
    .attrs_size = sizeof(roi_attrs), .infer_shape = roi_shape,
    .infer_dtype = am_infer_dtype_float_same,
    .cpu = roi_cpu, .gradient = roi_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "Max pooling of each region [batch, x1, y1, x2, y2] (scaled by spatial_scale) of "
           "NCHW data to pooled_size; a hidden second output holds each maximum's index."};

const am_op_def am_op_backward_roi_pooling = {
    .name = "_backward_ROIPooling",
    .input_names = (const char *const[]){"ograd", "data", "rois", "argmax", NULL},
    .num_outputs = 2, .attrs = roi_fields, .attrs_size = sizeof(roi_attrs),
    .infer_shape = roi_bwd_shape, .infer_dtype = am_infer_dtype_float_same, .cpu = roi_bwd_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Gradients of ROIPooling from (ograd, data, rois, argmax): each output's gradient "
           "goes to its maximum's element; rois get zeros."};

am_array *am_roi_pooling_at(am_array *x, am_array *rois, int64_t pooled_h, int64_t pooled_w,
                            double spatial_scale, am_site at)
{
    roi_attrs a = {.pooled_size = {.ndim = 2, .v = {pooled_h, pooled_w}},
                   .spatial_scale = spatial_scale};
    am_array *in[2] = {x, rois}, *y = NULL;
    am_op_call(&am_op_roi_pooling, &a, in, 2, &y, 1, at);
    return y;
}
