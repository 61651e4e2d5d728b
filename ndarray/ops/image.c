/* MXNet 1.x's deterministic image ops (mx.nd.image.*, registered as _image_*):
 * _image_to_tensor (HWC or NHWC, any dtype, to CHW / NCHW float32 divided by 255),
 * _image_normalize (CHW or NCHW with 1 or 3 channels: (x - mean[c]) / std[c]),
 * _image_flip_left_right and _image_flip_top_bottom (one HWC image), _image_crop
 * (HWC / NHWC), _image_adjust_lighting (AlexNet's PCA lighting on one HWC image) and
 * _image_resize (HWC / NHWC, OpenCV's nearest and bilinear).
 * Gradients: normalize's is out_grad / std[c], a flip's the same flip of out_grad,
 * crop's out_grad placed in zeros (_backward_image_crop), adjust_lighting's out_grad.
 * MXNet gives to_tensor and resize a "_copy" gradient whose shape does not match
 * their input (it fails); Amber gives them none (AM_OP_NO_GRAD). */
#include <math.h>

#include "../ndarray_impl.h"
#include "image_codec.h"

#include <amber/ops.h>

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
    .infer_shape = normalize_shape, .infer_dtype = am_infer_dtype_float_same, .cpu = normalize_cpu,
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

extern const am_op_def am_op_copy;

/* ---- _image_crop, _backward_image_crop ----------------------------------------- */

typedef struct crop_attrs {
    int64_t x, y, width, height;
} crop_attrs;

static const am_attr_field crop_fields[] = {
    AM_ATTR_FIELD(crop_attrs, x, AM_ATTR_INT, NULL, "left boundary of the cropping area"),
    AM_ATTR_FIELD(crop_attrs, y, AM_ATTR_INT, NULL, "top boundary of the cropping area"),
    AM_ATTR_FIELD(crop_attrs, width, AM_ATTR_INT, NULL, "width of the cropping area"),
    AM_ATTR_FIELD(crop_attrs, height, AM_ATTR_INT, NULL, "height of the cropping area"),
    {0}};

/* Checks an (H, W, C) or (N, H, W, C) image of 1 or 3 channels against the area. */
static am_status crop_check(const crop_attrs *a, const am_shape *s)
{
    if (s->ndim != 3 && s->ndim != 4)
        return am_fail(AM_ERR_SHAPE, "input image must be (height, width, channels) or "
                                     "(N, height, width, channels), got %d axes", s->ndim);
    int b = s->ndim - 3;
    if (s->dim[b + 2] != 1 && s->dim[b + 2] != 3)
        return am_fail(AM_ERR_SHAPE, "the image must have 1 or 3 channels, got %lld",
                       (long long)s->dim[b + 2]);
    if (a->width <= 0 || a->height <= 0)
        return am_fail(AM_ERR_ARG, "width=%lld and height=%lld must be greater than 0",
                       (long long)a->width, (long long)a->height);
    if (a->x < 0 || a->y < 0 || a->x + a->width > s->dim[b + 1] ||
        a->y + a->height > s->dim[b])
        return am_fail(AM_ERR_ARG,
                       "area x=%lld, y=%lld, width=%lld, height=%lld does not fit in an image "
                       "of height %lld and width %lld",
                       (long long)a->x, (long long)a->y, (long long)a->width,
                       (long long)a->height, (long long)s->dim[b], (long long)s->dim[b + 1]);
    return AM_OK;
}

static am_status crop_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const crop_attrs *a = attrs;
    am_status st = crop_check(a, &in[0]);
    if (st != AM_OK) return st;
    int b = in[0].ndim - 3;
    out[0] = in[0];
    out[0].dim[b] = a->height;
    out[0].dim[b + 1] = a->width;
    return AM_OK;
}

/* Copies rows of the area between the image (nb, h, w, c) and the crop (nb, height,
 * width, c): fwd reads the image, else adds or writes the crop into it. */
#define CROP_COPY(T)                                                                       \
    do {                                                                                   \
        const T *src = src_v->data;                                                        \
        T *dst = dst_v->data;                                                              \
        int64_t row = a->width * c;                                                        \
        for (int64_t b = 0; b < nb; b++)                                                   \
            for (int64_t i = 0; i < a->height; i++) {                                      \
                int64_t io = ((b * h + a->y + i) * w + a->x) * c;                          \
                int64_t co = (b * a->height + i) * row;                                    \
                const T *s = src + (fwd ? io : co);                                        \
                T *d = dst + (fwd ? co : io);                                              \
                for (int64_t k = 0; k < row; k++) d[k] = add ? (T)(d[k] + s[k]) : s[k];    \
            }                                                                              \
    } while (0)

static am_status crop_run(const crop_attrs *a, const am_view *img, const am_view *src_v,
                          const am_view *dst_v, bool fwd, bool add)
{
    int b0 = img->ndim - 3;
    int64_t nb = b0 ? img->dim[0] : 1, h = img->dim[b0], w = img->dim[b0 + 1],
            c = img->dim[b0 + 2];
    AM_DTYPE_SWITCH(dst_v->dtype, T, CROP_COPY(T));
    return AM_OK;
}

static am_status crop_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    return crop_run(attrs, &in[0], &in[0], &out[0], true, req[0] == AM_REQ_ADD);
}

extern const am_op_def am_op_backward_image_crop;

static am_status crop_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    ig[0] = NULL;
    if (!g->need_grad[0]) return AM_OK;
    am_array *args[2] = {og[0], in[0]};
    return am_op_call(&am_op_backward_image_crop, g->attrs, args, 2, &ig[0], 1, g->at);
}

const am_op_def am_op_image_crop = {
    .name = "_image_crop", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .attrs = crop_fields, .attrs_size = sizeof(crop_attrs),
    .infer_shape = crop_shape, .infer_dtype = am_infer_dtype_same, .cpu = crop_cpu,
    .gradient = crop_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "The area (x, y, width, height) of an (H, W, C) image or (N, H, W, C) batch."};

static am_status crop_bwd_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_shape crop;
    am_status st = crop_shape(attrs, &in[1], 1, &crop, 1);
    if (st != AM_OK) return st;
    if (!am_shape_equal(in[0], crop)) {
        char a[64], b[64];
        return am_fail(AM_ERR_SHAPE, "out_grad %s does not match the crop %s",
                       am_shape_format(&in[0], a, sizeof a), am_shape_format(&crop, b, sizeof b));
    }
    out[0] = in[1];
    return AM_OK;
}

static am_status crop_bwd_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    out[0] = in[0];
    return AM_OK;
}

/* Zero outside the area (unless adding), out_grad inside it. */
static am_status crop_bwd_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                              int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    bool add = req[0] == AM_REQ_ADD;
    if (!add) memset(out[0].data, 0, (size_t)am_view_size(&out[0]) * am_dtype_size(out[0].dtype));
    return crop_run(attrs, &out[0], &in[0], &out[0], false, add);
}

static am_status crop_bwd_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                               am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    ig[0] = ig[1] = NULL;
    if (!g->need_grad[0]) return AM_OK;
    return am_op_call(&am_op_image_crop, g->attrs, og, 1, &ig[0], 1, g->at);
}

const am_op_def am_op_backward_image_crop = {
    .name = "_backward_image_crop", .input_names = (const char *const[]){"ograd", "data", NULL},
    .num_outputs = 1, .attrs = crop_fields, .attrs_size = sizeof(crop_attrs),
    .infer_shape = crop_bwd_shape, .infer_dtype = crop_bwd_dtype, .cpu = crop_bwd_cpu,
    .gradient = crop_bwd_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "_image_crop's gradient: out_grad placed at the area in zeros of data's shape "
           "(data gives only the shape)."};

/* ---- _image_adjust_lighting ---------------------------------------------------- */

typedef struct lighting_attrs {
    am_floats alpha;
} lighting_attrs;

static const am_attr_field lighting_fields[] = {
    AM_ATTR_FIELD(lighting_attrs, alpha, AM_ATTR_FLOATS, NULL,
                  "the lighting alphas for the R, G, B channels"),
    {0}};

static am_status rgb_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    am_status st = hwc_shape(attrs, in, n_in, out, n_out);
    if (st != AM_OK) return st;
    if (in[0].dim[2] != 1 && in[0].dim[2] != 3)
        return am_fail(AM_ERR_SHAPE, "the image must have 1 or 3 channels, got %lld",
                       (long long)in[0].dim[2]);
    return AM_OK;
}

static am_status lighting_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                int n_out)
{
    const lighting_attrs *a = attrs;
    if (a->alpha.n != 3)
        return am_fail(AM_ERR_ARG, "alpha must have 3 elements (R, G, B), got %d", a->alpha.n);
    return rgb_shape(attrs, in, n_in, out, n_out);
}

/* AlexNet's PCA lighting: eigenvalues times eigenvectors of ImageNet's RGB covariance. */
static void lighting_offsets(const double alpha[3], float pca[3])
{
    static const float eig[3][3] = {
        {55.46f * -0.5675f, 4.794f * 0.7192f, 1.148f * 0.4009f},
        {55.46f * -0.5808f, 4.794f * -0.0045f, 1.148f * -0.8140f},
        {55.46f * -0.5836f, 4.794f * -0.6948f, 1.148f * 0.4203f}};
    for (int r = 0; r < 3; r++)
        pca[r] = eig[r][0] * (float)alpha[0] + eig[r][1] * (float)alpha[1] +
                 eig[r][2] * (float)alpha[2];
}

/* A float value as dtype T: clamped to T's range and truncated for integer types, as
 * MXNet's saturate_cast does. */
static double saturate(double v, am_dtype dt)
{
    switch (dt) {
    case AM_DTYPE_UINT8: return trunc(v < 0 ? 0 : v > 255 ? 255 : v);
    case AM_DTYPE_INT32: return trunc(v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : v);
    case AM_DTYPE_INT64: return trunc(v < -9.2e18 ? -9.2e18 : v > 9.2e18 ? 9.2e18 : v);
    default: return v;
    }
}

/* x + off in float32, as MXNet adds, or in double for a float64 input (wide). */
static double sum(double x, float off, bool wide)
{
    return wide ? x + off : (double)((float)x + off);
}

/* Adds off[c] (c < 3; none for one channel) to each pixel. */
#define ADD_OFFSETS(T)                                                                     \
    do {                                                                                   \
        const T *x = in[0].data;                                                           \
        T *y = out[0].data;                                                                \
        for (int64_t p = 0; p < n; p++) {                                                  \
            T v = nc == 1 ? x[p] : (T)saturate(sum(x[p], off[p % nc], wide), in[0].dtype); \
            y[p] = add ? (T)(y[p] + v) : v;                                                \
        }                                                                                  \
    } while (0)

static am_status add_offsets(const am_view *in, const am_view *out, const am_req *req,
                             const float off[3])
{
    if (req[0] == AM_REQ_NULL) return AM_OK;
    int64_t n = am_view_size(&in[0]), nc = in[0].dim[in[0].ndim - 1];
    bool add = req[0] == AM_REQ_ADD, wide = in[0].dtype == AM_DTYPE_FLOAT64;
    AM_DTYPE_SWITCH(in[0].dtype, T, ADD_OFFSETS(T));
    return AM_OK;
}

static am_status lighting_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                              int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    float pca[3];
    lighting_offsets(((const lighting_attrs *)attrs)->alpha.v, pca);
    return add_offsets(in, out, req, pca);
}

/* The offsets are constants: the gradient passes out_grad through (as MXNet's _copy). */
static am_status pass_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    ig[0] = NULL;
    if (!g->need_grad[0]) return AM_OK;
    return am_op_call(&am_op_copy, NULL, og, 1, &ig[0], 1, g->at);
}

const am_op_def am_op_image_adjust_lighting = {
    .name = "_image_adjust_lighting", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .attrs = lighting_fields, .attrs_size = sizeof(lighting_attrs),
    .infer_shape = lighting_shape, .infer_dtype = am_infer_dtype_same, .cpu = lighting_cpu,
    .gradient = pass_grad, .inplace = (const am_inplace_pair[]){{0, 0}, {-1, -1}},
    .fuse = AM_FUSE_OPAQUE,
    .doc = "AlexNet-style PCA lighting: adds eigvec * (eigval * alpha) to each RGB pixel of an "
           "(H, W, 3) image (a 1-channel image is copied)."};

/* ---- _image_resize --------------------------------------------------------------- */

typedef struct resize_attrs {
    am_tuple size;
    bool keep_ratio;
    int64_t interp;
} resize_attrs;

static const am_attr_field resize_fields[] = {
    AM_ATTR_FIELD(resize_attrs, size, AM_ATTR_TUPLE, "()",
                  "(width, height), or (size,): both edges, or the short one with keep_ratio"),
    AM_ATTR_FIELD(resize_attrs, keep_ratio, AM_ATTR_BOOL, "False",
                  "with one size: resize the short edge to it and keep the aspect ratio"),
    AM_ATTR_FIELD(resize_attrs, interp, AM_ATTR_INT, "1",
                  "0 nearest neighbour, 1 bilinear (as OpenCV's INTER_NEAREST, INTER_LINEAR)"),
    {0}};

static am_status resize_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const resize_attrs *a = attrs;
    const am_shape *s = &in[0];
    if (s->ndim != 3 && s->ndim != 4)
        return am_fail(AM_ERR_SHAPE, "input image must be (height, width, channels) or "
                                     "(N, height, width, channels), got %d axes", s->ndim);
    if (a->interp != 0 && a->interp != 1)
        return am_fail(AM_ERR_UNSUPPORTED, "interp=%lld is not supported (0 nearest, 1 bilinear)",
                       (long long)a->interp);
    if (a->size.ndim != 1 && a->size.ndim != 2)
        return am_fail(AM_ERR_ARG, "size must have 1 or 2 elements, got %d", a->size.ndim);
    for (int i = 0; i < a->size.ndim; i++)
        if (a->size.v[i] <= 0)
            return am_fail(AM_ERR_ARG, "size must be greater than 0, got %lld",
                           (long long)a->size.v[i]);
    int b = s->ndim - 3;
    int64_t h = s->dim[b], w = s->dim[b + 1], rh, rw;
    if (a->size.ndim == 2) {
        rw = a->size.v[0], rh = a->size.v[1];
    } else if (!a->keep_ratio) {
        rw = rh = a->size.v[0];
    } else {
        if (h == 0 || w == 0)
            return am_fail(AM_ERR_SHAPE, "keep_ratio needs a non-empty image, got %lld x %lld",
                           (long long)h, (long long)w);
        if (h > w)
            rw = a->size.v[0], rh = h * rw / w;
        else
            rh = a->size.v[0], rw = w * rh / h;
    }
    out[0] = *s;
    out[0].dim[b] = rh;
    out[0].dim[b + 1] = rw;
    return AM_OK;
}

static am_status resize_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                              int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (in[0] != AM_DTYPE_UINT8 && in[0] != AM_DTYPE_FLOAT32 && in[0] != AM_DTYPE_FLOAT64)
        return am_fail(AM_ERR_DTYPE, "%s input not supported (uint8, float32 or float64)",
                       am_dtype_name(in[0]));
    out[0] = in[0];
    return AM_OK;
}

/* OpenCV's bilinear source taps for one axis: output i reads ofs[i] and ofs[i] + 1
 * with weights 1 - f[i], f[i]; centres aligned, (i + 0.5) * scale - 0.5.  Columns
 * (edge) past the border read the edge pixel alone; rows keep their weights and
 * read the edge row twice (the caller clamps), as OpenCV does. */
static void linear_taps(int64_t src, int64_t dst, int64_t *ofs, float *f, bool edge)
{
    double scale = (double)src / (double)dst;
    for (int64_t i = 0; i < dst; i++) {
        float fx = (float)((i + 0.5) * scale - 0.5);
        int64_t sx = (int64_t)floorf(fx);
        fx -= (float)sx;
        if (edge && sx < 0) fx = 0, sx = 0;
        if (edge && sx >= src - 1) fx = 0, sx = src - 1;
        ofs[i] = sx;
        f[i] = fx;
    }
}

static int16_t fixed11(float v)
{
    return (int16_t)lrintf(v * 2048.0f);
}

#define CLAMP_ROW(r) ((r) < 0 ? 0 : (r) > h - 1 ? h - 1 : (r))

/* One image (h, w, c) to (rh, rw, c).  Bilinear uint8 follows OpenCV's fixed point
 * (11-bit weights, the vertical pass as its SSE2 code rounds); an exact 2x downscale of
 * both axes averages 2 x 2 blocks, as OpenCV does there. */
#define RESIZE_IMG(T)                                                                      \
    do {                                                                                   \
        const T *x = (const T *)in[0].data + img * h * w * c;                              \
        T *y = (T *)out[0].data + img * rh * rw * c;                                       \
        for (int64_t i = 0; i < rh; i++)                                                   \
            for (int64_t j = 0; j < rw; j++)                                               \
                for (int64_t k = 0; k < c; k++) {                                          \
                    double v;                                                              \
                    if (nearest) {                                                         \
                        v = (double)x[(yo[i] * w + xo[j]) * c + k];                        \
                    } else if (area2) {                                                    \
                        const T *p = x + ((2 * i) * w + 2 * j) * c + k;                    \
                        if (u8) {                                                          \
                            int s = (int)p[0] + (int)p[c] + (int)p[w * c] + (int)p[w * c + c]; \
                            v = (double)((s + 2) >> 2);                                    \
                        } else {                                                           \
                            v = ((double)p[0] + (double)p[c] + (double)p[w * c] +          \
                                 (double)p[w * c + c]) * 0.25;                             \
                        }                                                                  \
                    } else {                                                               \
                        int64_t x0 = xo[j], x1 = xf[j] == 0 ? x0 : x0 + 1;                 \
                        int64_t y0 = CLAMP_ROW(yo[i]), y1 = CLAMP_ROW(yo[i] + 1);          \
                        const T *r0 = x + y0 * w * c, *r1 = x + y1 * w * c;                \
                        if (u8) {                                                          \
                            int a0 = fixed11(1 - xf[j]), a1 = fixed11(xf[j]);              \
                            int b0 = fixed11(1 - yf[i]), b1 = fixed11(yf[i]);              \
                            if (xf[j] == 0) a0 = 2048, a1 = 0;                             \
                            int s0 = (int)r0[x0 * c + k] * a0 + (int)r0[x1 * c + k] * a1;  \
                            int s1 = (int)r1[x0 * c + k] * a0 + (int)r1[x1 * c + k] * a1;  \
                            int t = (((b0 * (s0 >> 4)) >> 16) + ((b1 * (s1 >> 4)) >> 16) + 2) >> 2; \
                            v = t < 0 ? 0 : t > 255 ? 255 : t;                             \
                        } else {                                                           \
                            T a0 = (T)(1 - xf[j]), a1 = (T)xf[j];                          \
                            T s0 = r0[x0 * c + k] * a0 + r0[x1 * c + k] * a1;              \
                            T s1 = r1[x0 * c + k] * a0 + r1[x1 * c + k] * a1;              \
                            v = (double)(s0 * (T)(1 - yf[i]) + s1 * (T)yf[i]);             \
                        }                                                                  \
                    }                                                                      \
                    T *d = &y[(i * rw + j) * c + k];                                       \
                    *d = add ? (T)(*d + (T)v) : (T)v;                                      \
                }                                                                          \
    } while (0)

static size_t resize_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(n_in);
    am_shape s = in[0], o;
    if (resize_shape(attrs, &s, 1, &o, 1) != AM_OK) return 0;
    int b = o.ndim - 3;
    return (size_t)(o.dim[b] + o.dim[b + 1]) * (sizeof(int64_t) + sizeof(float)) + 64;
}

static am_status resize_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const resize_attrs *a = attrs;
    if (req[0] == AM_REQ_NULL) return AM_OK;
    int b = in[0].ndim - 3;
    int64_t nb = b ? in[0].dim[0] : 1, h = in[0].dim[b], w = in[0].dim[b + 1],
            c = in[0].dim[b + 2], rh = out[0].dim[b], rw = out[0].dim[b + 1];
    if (am_view_size(&out[0]) == 0) return AM_OK;
    if (h == 0 || w == 0)
        return am_fail(AM_ERR_SHAPE, "cannot resize an empty %lld x %lld image", (long long)h,
                       (long long)w);
    int64_t *yo = ctx->workspace, *xo = yo + rh;
    float *yf = (float *)(xo + rw), *xf = yf + rh;
    bool nearest = a->interp == 0, add = req[0] == AM_REQ_ADD,
         u8 = in[0].dtype == AM_DTYPE_UINT8;
    bool area2 = !nearest && h == 2 * rh && w == 2 * rw;
    if (nearest) {
        double sy = (double)h / (double)rh, sx = (double)w / (double)rw;
        for (int64_t i = 0; i < rh; i++) yo[i] = (int64_t)floor(i * sy), yo[i] = yo[i] < h ? yo[i] : h - 1;
        for (int64_t j = 0; j < rw; j++) xo[j] = (int64_t)floor(j * sx), xo[j] = xo[j] < w ? xo[j] : w - 1;
    } else {
        linear_taps(h, rh, yo, yf, false);
        linear_taps(w, rw, xo, xf, true);
    }
    for (int64_t img = 0; img < nb; img++) {
        switch (in[0].dtype) {
        case AM_DTYPE_UINT8: RESIZE_IMG(uint8_t); break;
        case AM_DTYPE_FLOAT32: RESIZE_IMG(float); break;
        case AM_DTYPE_FLOAT64: RESIZE_IMG(double); break;
        default: return am_fail(AM_ERR_DTYPE, "unsupported dtype %s", am_dtype_name(in[0].dtype));
        }
    }
    return AM_OK;
}

const am_op_def am_op_image_resize = {
    .name = "_image_resize", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .attrs = resize_fields, .attrs_size = sizeof(resize_attrs),
    .infer_shape = resize_shape, .infer_dtype = resize_dtype, .temp_bytes = resize_temp,
    .cpu = resize_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP | AM_OP_NO_GRAD,
    .doc = "An (H, W, C) image or (N, H, W, C) batch resized as OpenCV's cv::resize does "
           "(interp 0 nearest, 1 bilinear); no gradient (MXNet's does not run)."};

/* ---- random augmentations ---------------------------------------------------------
 * Each draws from the kernel context's RNG (AM_OP_RANDOM) with MXNet's distributions
 * and applies MXNet's formulas in float32 to an (H, W, C) image of 1 or 3 channels,
 * saturating as MXNet does (uint8: clamped to [0, 255] and truncated).  MXNet gives
 * them a "_copy" gradient, the identity, which is not their derivative (a flipped
 * image's, say); Amber gives them none (AM_OP_NO_GRAD). */

static am_status random_flip_run(const am_kernel_ctx *ctx, const am_view *in,
                                 const am_view *out, const am_req *req, bool lr)
{
    if (req[0] == AM_REQ_NULL) return AM_OK;
    /* MXNet keeps the image when its Bernoulli(0.5) draw is true. */
    bool keep = am_rng_uniform01(ctx->rng) < 0.5;
    if (!keep) return flip_run(in, out, req, lr);
    int64_t n = am_view_size(&in[0]);
    bool add = req[0] == AM_REQ_ADD;
    AM_DTYPE_SWITCH(in[0].dtype, T, {
        const T *x = in[0].data;
        T *y = out[0].data;
        for (int64_t i = 0; i < n; i++) y[i] = add ? (T)(y[i] + x[i]) : x[i];
    });
    return AM_OK;
}

static am_status random_flip_lr_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                    const am_view *in, int n_in, const am_view *out, int n_out,
                                    const am_req *req)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return random_flip_run(ctx, in, out, req, true);
}

static am_status random_flip_tb_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                    const am_view *in, int n_in, const am_view *out, int n_out,
                                    const am_req *req)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return random_flip_run(ctx, in, out, req, false);
}

const am_op_def am_op_image_random_flip_left_right = {
    .name = "_image_random_flip_left_right", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .infer_shape = rgb_shape, .infer_dtype = am_infer_dtype_same,
    .cpu = random_flip_lr_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_RANDOM | AM_OP_NO_GRAD,
    .doc = "An (H, W, C) image mirrored along its width with probability 0.5."};

const am_op_def am_op_image_random_flip_top_bottom = {
    .name = "_image_random_flip_top_bottom", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .infer_shape = rgb_shape, .infer_dtype = am_infer_dtype_same,
    .cpu = random_flip_tb_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_RANDOM | AM_OP_NO_GRAD,
    .doc = "An (H, W, C) image mirrored along its height with probability 0.5."};

/* The image being adjusted: n = length * c values held as double, each already a
 * value of dtype dt (the steps of color_jitter pass dt values, as MXNet's do). */
typedef struct aug_buf {
    double *t;
    int64_t length, c;
    am_dtype dt;
} aug_buf;

static double aug_cast(const aug_buf *b, float v)
{
    double s = saturate(v, b->dt);
    return b->dt == AM_DTYPE_FLOAT64 ? s : (double)(float)s;
}

static void aug_brightness(aug_buf *b, float alpha)
{
    for (int64_t i = 0; i < b->length * b->c; i++) b->t[i] = aug_cast(b, (float)b->t[i] * alpha);
}

static const float gray_coef[3] = {0.299f, 0.587f, 0.114f};

/* Blends with the image's mean gray level (the channel mean for one channel). */
static void aug_contrast(aug_buf *b, float alpha)
{
    float sum = 0.f;
    for (int64_t l = 0; l < b->length; l++) {
        if (b->c > 1)
            for (int k = 0; k < 3; k++) sum += (float)b->t[l * 3 + k] * gray_coef[k];
        else
            sum += (float)b->t[l];
    }
    float mean = sum / (float)b->length, beta = (1 - alpha) * mean;
    for (int64_t i = 0; i < b->length * b->c; i++)
        b->t[i] = aug_cast(b, (float)b->t[i] * alpha + beta);
}

/* Blends each pixel with a gray level that is, as in MXNet 1.9.1's loop (which
 * assigns where it means to add), 0.114 times the blue channel alone. */
static void aug_saturation(aug_buf *b, float alpha)
{
    if (b->c == 1) return;
    for (int64_t l = 0; l < b->length; l++) {
        float gray = (float)b->t[l * 3 + 2] * gray_coef[2] * (1.f - alpha);
        for (int k = 0; k < 3; k++)
            b->t[l * 3 + k] = aug_cast(b, gray + (float)b->t[l * 3 + k] * alpha);
    }
}

static void rgb_to_hls(float r, float g, float b, float *h, float *l, float *s)
{
    r /= 255.f, g /= 255.f, b /= 255.f;
    float vmax = fmaxf(fmaxf(r, g), b), vmin = fminf(fminf(r, g), b), diff = vmax - vmin;
    *h = 0.f, *s = 0.f, *l = (vmax + vmin) * 0.5f;
    if (diff > 1.1920929e-07f) {
        *s = *l < 0.5f ? diff / (vmax + vmin) : diff / (2.0f - vmax - vmin);
        diff = 60.f / diff;
        if (vmax == r)
            *h = (g - b) * diff;
        else if (vmax == g)
            *h = (b - r) * diff + 120.f;
        else
            *h = (r - g) * diff + 240.f;
        if (*h < 0.f) *h += 360.f;
    }
}

static void hls_to_rgb(float h, float l, float s, float *r, float *g, float *b)
{
    /* For each 60-degree sector: which of (p2, p1, rising, falling) is b, g, r. */
    static const int sector_tab[6][3] = {{1, 3, 0}, {1, 0, 2}, {3, 0, 1},
                                         {0, 2, 1}, {0, 1, 3}, {2, 1, 0}};
    float vb = l, vg = l, vr = l;
    if (s != 0) {
        float p2 = l <= 0.5f ? l * (1 + s) : l + s - l * s, p1 = 2 * l - p2;
        h *= 1.f / 60.f;
        while (h < 0) h += 6;
        while (h >= 6) h -= 6;
        int sec = (int)h;
        h -= (float)sec;
        float tab[4] = {p2, p1, p1 + (p2 - p1) * (1 - h), p1 + (p2 - p1) * h};
        vb = tab[sector_tab[sec][0]], vg = tab[sector_tab[sec][1]], vr = tab[sector_tab[sec][2]];
    }
    *r = vr * 255.f, *g = vg * 255.f, *b = vb * 255.f;
}

/* Rotates the hue by alpha * 360 degrees in HLS space. */
static void aug_hue(aug_buf *b, float alpha)
{
    if (b->c == 1) return;
    for (int64_t l = 0; l < b->length; l++) {
        double *p = b->t + l * 3;
        float h, li, s, r, g, bl;
        rgb_to_hls((float)p[0], (float)p[1], (float)p[2], &h, &li, &s);
        h += alpha * 360.f;
        hls_to_rgb(h, li, s, &r, &g, &bl);
        p[0] = aug_cast(b, r), p[1] = aug_cast(b, g), p[2] = aug_cast(b, bl);
    }
}

static void aug_lighting(aug_buf *b, const double alpha[3])
{
    if (b->c == 1) return;
    float pca[3];
    lighting_offsets(alpha, pca);
    for (int64_t i = 0; i < b->length * 3; i++)
        b->t[i] = aug_cast(b, (float)b->t[i] + pca[i % 3]);
}

/* uniform_real_distribution<float>(lo, hi): lo when lo == hi. */
static float draw_uniform(uint64_t *rng, double lo, double hi)
{
    return (float)(lo + (hi - lo) * am_rng_uniform01(rng));
}

typedef enum aug_kind {
    AUG_BRIGHTNESS, AUG_CONTRAST, AUG_SATURATION, AUG_HUE, AUG_JITTER, AUG_LIGHTING
} aug_kind;

typedef struct enhance_attrs {
    double min_factor, max_factor;
} enhance_attrs;

static const am_attr_field enhance_fields[] = {
    AM_ATTR_FIELD(enhance_attrs, min_factor, AM_ATTR_FLOAT, NULL, "minimum factor (>= 0)"),
    AM_ATTR_FIELD(enhance_attrs, max_factor, AM_ATTR_FLOAT, NULL, "maximum factor (>= 0)"),
    {0}};

typedef struct jitter_attrs {
    double brightness, contrast, saturation, hue;
} jitter_attrs;

static const am_attr_field jitter_fields[] = {
    AM_ATTR_FIELD(jitter_attrs, brightness, AM_ATTR_FLOAT, NULL, "how much to jitter brightness"),
    AM_ATTR_FIELD(jitter_attrs, contrast, AM_ATTR_FLOAT, NULL, "how much to jitter contrast"),
    AM_ATTR_FIELD(jitter_attrs, saturation, AM_ATTR_FLOAT, NULL, "how much to jitter saturation"),
    AM_ATTR_FIELD(jitter_attrs, hue, AM_ATTR_FLOAT, NULL, "how much to jitter hue"),
    {0}};

typedef struct random_lighting_attrs {
    double alpha_std;
} random_lighting_attrs;

static const am_attr_field random_lighting_fields[] = {
    AM_ATTR_FIELD(random_lighting_attrs, alpha_std, AM_ATTR_FLOAT, "0.05",
                  "standard deviation of the lighting alphas"),
    {0}};

static am_status enhance_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    const enhance_attrs *a = attrs;
    if (!(a->min_factor >= 0) || !(a->max_factor >= a->min_factor))
        return am_fail(AM_ERR_ARG, "need 0 <= min_factor <= max_factor, got min_factor=%g, "
                                   "max_factor=%g", a->min_factor, a->max_factor);
    return rgb_shape(attrs, in, n_in, out, n_out);
}

static size_t aug_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    return (size_t)am_shape_size(&in[0]) * sizeof(double) + 64;
}

/* Runs the augmentation kind into the workspace, then writes (or adds) it out. */
static am_status aug_run(aug_kind kind, const am_kernel_ctx *ctx, const void *attrs,
                         const am_view *in, const am_view *out, const am_req *req)
{
    if (req[0] == AM_REQ_NULL) return AM_OK;
    int64_t n = am_view_size(&in[0]);
    aug_buf b = {.t = ctx->workspace, .c = in[0].dim[2], .dt = in[0].dtype};
    b.length = in[0].dim[0] * in[0].dim[1];
    AM_DTYPE_SWITCH(in[0].dtype, T, {
        const T *x = in[0].data;
        for (int64_t i = 0; i < n; i++) b.t[i] = (double)x[i];
    });
    if (n > 0) {
        const enhance_attrs *e = attrs;
        switch (kind) {
        case AUG_BRIGHTNESS: aug_brightness(&b, draw_uniform(ctx->rng, e->min_factor, e->max_factor)); break;
        case AUG_CONTRAST: aug_contrast(&b, draw_uniform(ctx->rng, e->min_factor, e->max_factor)); break;
        case AUG_SATURATION: aug_saturation(&b, draw_uniform(ctx->rng, e->min_factor, e->max_factor)); break;
        case AUG_HUE: aug_hue(&b, draw_uniform(ctx->rng, e->min_factor, e->max_factor)); break;
        case AUG_JITTER: {
            const jitter_attrs *j = attrs;
            int order[4] = {0, 1, 2, 3};
            for (int i = 3; i > 0; i--) { /* a uniform shuffle */
                int k = (int)(am_rng_uniform01(ctx->rng) * (i + 1));
                int t = order[i];
                order[i] = order[k], order[k] = t;
            }
            for (int i = 0; i < 4; i++) {
                if (order[i] == 0 && j->brightness > 0)
                    aug_brightness(&b, 1.f + draw_uniform(ctx->rng, -j->brightness, j->brightness));
                if (order[i] == 1 && j->contrast > 0)
                    aug_contrast(&b, 1.f + draw_uniform(ctx->rng, -j->contrast, j->contrast));
                if (order[i] == 2 && j->saturation > 0)
                    aug_saturation(&b, 1.f + draw_uniform(ctx->rng, -j->saturation, j->saturation));
                if (order[i] == 3 && j->hue > 0)
                    aug_hue(&b, draw_uniform(ctx->rng, -j->hue, j->hue));
            }
            break;
        }
        case AUG_LIGHTING: {
            double sd = ((const random_lighting_attrs *)attrs)->alpha_std, al[3];
            for (int k = 0; k < 3; k++) al[k] = (float)(sd * am_rng_normal(ctx->rng));
            aug_lighting(&b, al);
            break;
        }
        }
    }
    bool add = req[0] == AM_REQ_ADD;
    AM_DTYPE_SWITCH(out[0].dtype, T, {
        T *y = out[0].data;
        for (int64_t i = 0; i < n; i++) y[i] = add ? (T)(y[i] + (T)b.t[i]) : (T)b.t[i];
    });
    return AM_OK;
}

#define AUG_KERNEL(fn, kind)                                                               \
    static am_status fn(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,    \
                        int n_in, const am_view *out, int n_out, const am_req *req)        \
    {                                                                                      \
        AM_UNUSED(n_in), AM_UNUSED(n_out);                                                 \
        return aug_run(kind, ctx, attrs, in, out, req);                                    \
    }
AUG_KERNEL(brightness_cpu, AUG_BRIGHTNESS)
AUG_KERNEL(contrast_cpu, AUG_CONTRAST)
AUG_KERNEL(saturation_cpu, AUG_SATURATION)
AUG_KERNEL(hue_cpu, AUG_HUE)
AUG_KERNEL(jitter_cpu, AUG_JITTER)
AUG_KERNEL(random_lighting_cpu, AUG_LIGHTING)

#define AUG_OP(id, name_, fields, type, shape, kernel, doc_)                               \
    const am_op_def am_op_##id = {                                                         \
        .name = name_, .input_names = (const char *const[]){"data", NULL},                 \
        .num_outputs = 1, .attrs = fields, .attrs_size = sizeof(type),                     \
        .infer_shape = shape, .infer_dtype = am_infer_dtype_same, .temp_bytes = aug_temp,  \
        .cpu = kernel, .fuse = AM_FUSE_OPAQUE,                                             \
        .flags = AM_OP_RANDOM | AM_OP_NO_GRAD | AM_OP_NEEDS_TEMP, .doc = doc_}

AUG_OP(image_random_brightness, "_image_random_brightness", enhance_fields, enhance_attrs,
       enhance_shape, brightness_cpu,
       "An (H, W, C) image times a factor drawn uniformly from [min_factor, max_factor].");
AUG_OP(image_random_contrast, "_image_random_contrast", enhance_fields, enhance_attrs,
       enhance_shape, contrast_cpu,
       "An (H, W, C) image blended with its mean gray level, x a + (1 - a) gray, a drawn "
       "from [min_factor, max_factor].");
AUG_OP(image_random_saturation, "_image_random_saturation", enhance_fields, enhance_attrs,
       enhance_shape, saturation_cpu,
       "An (H, W, 3) image blended with a gray level (MXNet's: 0.114 blue), a drawn from "
       "[min_factor, max_factor].");
AUG_OP(image_random_hue, "_image_random_hue", enhance_fields, enhance_attrs, enhance_shape,
       hue_cpu,
       "An (H, W, 3) image's hue rotated by a * 360 degrees (HLS), a drawn from "
       "[min_factor, max_factor].");
AUG_OP(image_random_color_jitter, "_image_random_color_jitter", jitter_fields, jitter_attrs,
       rgb_shape, jitter_cpu,
       "Brightness, contrast, saturation (factors 1 + U(-v, v)) and hue (U(-hue, hue)) "
       "adjustments, those with v > 0, in a random order.");
AUG_OP(image_random_lighting, "_image_random_lighting", random_lighting_fields,
       random_lighting_attrs, rgb_shape, random_lighting_cpu,
       "_image_adjust_lighting with alphas drawn from N(0, alpha_std).");

/* ---- C functions ----------------------------------------------------------------- */

am_array *am_image_to_tensor_at(am_array *x, am_site at)
{
    return am_op_call1(&am_op_image_to_tensor, NULL, &x, 1, at);
}

static bool fill_floats(am_floats *f, const double *v, int n, const char *what)
{
    if (n < 1 || n > AM_MAX_FLOATS) {
        am_fail(AM_ERR_ARG, "_image_normalize: %s needs 1 to %d values, got %d", what,
                AM_MAX_FLOATS, n);
        return false;
    }
    f->n = n;
    for (int i = 0; i < n; i++) f->v[i] = v[i];
    return true;
}

am_array *am_image_normalize_at(am_array *x, const double *mean, int n_mean, const double *std,
                                int n_std, am_site at)
{
    normalize_attrs a;
    if (!fill_floats(&a.mean, mean, n_mean, "mean") || !fill_floats(&a.std, std, n_std, "std"))
        return NULL;
    return am_op_call1(&am_op_image_normalize, &a, &x, 1, at);
}

am_array *am_image_flip_at(am_array *x, bool left_right, am_site at)
{
    return am_op_call1(left_right ? &am_op_image_flip_left_right : &am_op_image_flip_top_bottom,
                       NULL, &x, 1, at);
}

am_array *am_image_crop_at(am_array *x, int64_t x0, int64_t y0, int64_t width, int64_t height,
                           am_site at)
{
    crop_attrs a = {.x = x0, .y = y0, .width = width, .height = height};
    return am_op_call1(&am_op_image_crop, &a, &x, 1, at);
}

am_array *am_image_resize_at(am_array *x, int64_t width, int64_t height, int interp, am_site at)
{
    resize_attrs a = {.size = {.ndim = 2, .v = {width, height}}, .interp = interp};
    return am_op_call1(&am_op_image_resize, &a, &x, 1, at);
}

am_array *am_image_adjust_lighting_at(am_array *x, const double alpha[3], am_site at)
{
    lighting_attrs a = {.alpha = {.n = 3, .v = {alpha[0], alpha[1], alpha[2]}}};
    return am_op_call1(&am_op_image_adjust_lighting, &a, &x, 1, at);
}

/* ---- shared with _cvimresize (image_io.c) ------------------------------------------ */

am_status am_image_resize_run(const am_kernel_ctx *ctx, int interp, const am_view *in,
                              const am_view *out, const am_req *req)
{
    resize_attrs a = {.interp = interp};
    return resize_cpu(ctx, &a, in, 1, out, 1, req);
}

size_t am_image_resize_temp(int64_t rh, int64_t rw)
{
    return (size_t)(rh + rw) * (sizeof(int64_t) + sizeof(float)) + 64;
}
