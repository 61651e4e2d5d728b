/* MXNet 1.x's deterministic image ops (mx.nd.image.*, registered as _image_*):
 * _image_to_tensor (HWC or NHWC, any dtype, to CHW / NCHW float32 divided by 255),
 * _image_normalize (CHW or NCHW with 1 or 3 channels: (x - mean[c]) / std[c]),
 * _image_flip_left_right and _image_flip_top_bottom (one HWC image).
 * Gradients: normalize's is out_grad / std[c] and a flip's is the same flip of
 * out_grad.  MXNet gives to_tensor a "_copy" gradient whose shape does not match
 * its input; Amber gives it none (AM_OP_NO_GRAD). */
#include "../ndarray_impl.h"

/* ---- _image_to_tensor ---------------------------------------------------------- */

static am_status to_tensor_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                 int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const am_shape *s = &in[0];
    if (s->ndim != 3 && s->ndim != 4)
        return am_fail(AM_ERR_SHAPE, "input image must be (height, width, channels) or "
                                     "(N, height, width, channels), got %d axes", s->ndim);
    int b = s->ndim - 3;
    out[0] = *s;
    out[0].dim[b] = s->dim[b + 2];
    out[0].dim[b + 1] = s->dim[b];
    out[0].dim[b + 2] = s->dim[b + 1];
    return AM_OK;
}

static am_status to_tensor_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                 int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    out[0] = AM_DTYPE_FLOAT32;
    return AM_OK;
}

#define TO_TENSOR(T)                                                                       \
    do {                                                                                   \
        const T *x = in[0].data;                                                           \
        for (int64_t b = 0; b < nb; b++)                                                   \
            for (int64_t p = 0; p < hw; p++)                                               \
                for (int64_t c = 0; c < nc; c++) {                                         \
                    float v = (float)x[(b * hw + p) * nc + c] / 255.0f;                    \
                    float *o = &y[(b * nc + c) * hw + p];                                  \
                    *o = add ? *o + v : v;                                                 \
                }                                                                          \
    } while (0)

static am_status to_tensor_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                               int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    int b0 = in[0].ndim - 3;
    int64_t nb = b0 ? in[0].dim[0] : 1, hw = in[0].dim[b0] * in[0].dim[b0 + 1],
            nc = in[0].dim[b0 + 2];
    bool add = req[0] == AM_REQ_ADD;
    float *y = out[0].data;
    AM_DTYPE_SWITCH(in[0].dtype, T, TO_TENSOR(T));
    return AM_OK;
}

const am_op_def am_op_image_to_tensor = {
    .name = "_image_to_tensor", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .infer_shape = to_tensor_shape, .infer_dtype = to_tensor_dtype,
    .cpu = to_tensor_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "An image (H, W, C) or batch (N, H, W, C) of values in [0, 255] as float32 "
           "(C, H, W) / (N, C, H, W) divided by 255."};

/* ---- _image_normalize ---------------------------------------------------------- */

typedef struct normalize_attrs {
    am_floats mean, std;
} normalize_attrs;

static const am_attr_field normalize_fields[] = {
    AM_ATTR_FIELD(normalize_attrs, mean, AM_ATTR_FLOATS, "(0, 0, 0, 0)",
                  "mean of each channel, or one for all"),
    AM_ATTR_FIELD(normalize_attrs, std, AM_ATTR_FLOATS, "(1, 1, 1, 1)",
                  "standard deviation of each channel, or one for all"),
    {0}};

static am_status normalize_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                 int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const normalize_attrs *a = attrs;
    const am_shape *s = &in[0];
    if (s->ndim != 3 && s->ndim != 4)
        return am_fail(AM_ERR_SHAPE, "input must be (channels, height, width) or "
                                     "(N, channels, height, width), got %d axes", s->ndim);
    int64_t c = s->dim[s->ndim - 3];
    if (c != 1 && c != 3)
        return am_fail(AM_ERR_SHAPE, "the channel axis must have 1 or 3 elements, got %lld",
                       (long long)c);
    if (a->mean.n != 1 && a->mean.n != c)
        return am_fail(AM_ERR_ARG, "mean must have 1 or %lld elements, got %d", (long long)c,
                       a->mean.n);
    if (a->std.n != 1 && a->std.n != c)
        return am_fail(AM_ERR_ARG, "std must have 1 or %lld elements, got %d", (long long)c,
                       a->std.n);
    out[0] = *s;
    return AM_OK;
}

static am_status float_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                             int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (in[0] != AM_DTYPE_FLOAT32 && in[0] != AM_DTYPE_FLOAT64)
        return am_fail(AM_ERR_DTYPE, "%s input not supported (float32 or float64 only)",
                       am_dtype_name(in[0]));
    out[0] = in[0];
    return AM_OK;
}

#define NORMALIZE(T)                                                                       \
    do {                                                                                   \
        const T *x = in[0].data;                                                           \
        T *y = out[0].data;                                                                \
        for (int64_t b = 0; b < nb; b++)                                                   \
            for (int64_t c = 0; c < nc; c++) {                                             \
                T m = (T)a->mean.v[a->mean.n == 1 ? 0 : c];                                \
                T s = (T)a->std.v[a->std.n == 1 ? 0 : c];                                  \
                int64_t o = (b * nc + c) * hw;                                             \
                for (int64_t p = o; p < o + hw; p++) {                                     \
                    T v = (x[p] - m) / s;                                                  \
                    y[p] = add ? y[p] + v : v;                                             \
                }                                                                          \
            }                                                                              \
    } while (0)

static am_status normalize_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                               int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const normalize_attrs *a = attrs;
    if (req[0] == AM_REQ_NULL) return AM_OK;
    int b0 = in[0].ndim - 3;
    int64_t nb = b0 ? in[0].dim[0] : 1, nc = in[0].dim[b0],
            hw = in[0].dim[b0 + 1] * in[0].dim[b0 + 2];
    bool add = req[0] == AM_REQ_ADD;
    AM_FLOAT_SWITCH(in[0].dtype, T, NORMALIZE(T));
    return AM_OK;
}

extern const am_op_def am_op_image_normalize;

/* d/dx (x - m) / s = 1 / s: normalize out_grad with mean 0 and the same std. */
static am_status normalize_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                                am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    normalize_attrs a = *(const normalize_attrs *)g->attrs;
    a.mean = (am_floats){.n = 1, .v = {0}};
    ig[0] = NULL;
    if (!g->need_grad[0]) return AM_OK;
    return am_op_call(&am_op_image_normalize, &a, og, 1, &ig[0], 1, g->at);
}

const am_op_def am_op_image_normalize = {
    .name = "_image_normalize", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .attrs = normalize_fields, .attrs_size = sizeof(normalize_attrs),
    .infer_shape = normalize_shape, .infer_dtype = float_dtype, .cpu = normalize_cpu,
    .gradient = normalize_grad, .inplace = (const am_inplace_pair[]){{0, 0}, {-1, -1}},
    .fuse = AM_FUSE_OPAQUE,
    .doc = "(x - mean[c]) / std[c] over a (C, H, W) or (N, C, H, W) tensor of 1 or 3 "
           "channels."};

/* ---- _image_flip_left_right, _image_flip_top_bottom ---------------------------- */

static am_status hwc_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (in[0].ndim != 3)
        return am_fail(AM_ERR_SHAPE, "input image must be (height, width, channels), got %d axes",
                       in[0].ndim);
    out[0] = in[0];
    return AM_OK;
}

/* Output pixel (i, j) reads input pixel (lr ? i : H-1-i, lr ? W-1-j : j). */
#define FLIP(T)                                                                            \
    do {                                                                                   \
        const T *x = in[0].data;                                                           \
        T *y = out[0].data;                                                                \
        for (int64_t i = 0; i < h; i++)                                                    \
            for (int64_t j = 0; j < w; j++) {                                              \
                int64_t si = lr ? i : h - 1 - i, sj = lr ? w - 1 - j : j;                  \
                const T *s = x + (si * w + sj) * c;                                        \
                T *d = y + (i * w + j) * c;                                                \
                for (int64_t k = 0; k < c; k++) d[k] = add ? (T)(d[k] + s[k]) : s[k];      \
            }                                                                              \
    } while (0)

static am_status flip_run(const am_view *in, const am_view *out, const am_req *req, bool lr)
{
    if (req[0] == AM_REQ_NULL) return AM_OK;
    int64_t h = in[0].dim[0], w = in[0].dim[1], c = in[0].dim[2];
    bool add = req[0] == AM_REQ_ADD;
    AM_DTYPE_SWITCH(in[0].dtype, T, FLIP(T));
    return AM_OK;
}

static am_status flip_lr_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return flip_run(in, out, req, true);
}

static am_status flip_tb_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return flip_run(in, out, req, false);
}

/* A flip is its own adjoint: the gradient is the same flip of out_grad. */
static am_status flip_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    ig[0] = NULL;
    if (!g->need_grad[0]) return AM_OK;
    return am_op_call(g->op, NULL, og, 1, &ig[0], 1, g->at);
}

const am_op_def am_op_image_flip_left_right = {
    .name = "_image_flip_left_right", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .infer_shape = hwc_shape, .infer_dtype = am_infer_dtype_same,
    .cpu = flip_lr_cpu, .gradient = flip_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "An (H, W, C) image mirrored along its width."};

const am_op_def am_op_image_flip_top_bottom = {
    .name = "_image_flip_top_bottom", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .infer_shape = hwc_shape, .infer_dtype = am_infer_dtype_same,
    .cpu = flip_tb_cpu, .gradient = flip_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "An (H, W, C) image mirrored along its height."};
