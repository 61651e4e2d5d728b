/* MXNet 1.x's OpenCV image ops (src/io/image_io.cc): _cvimdecode and _cvimread (PNG and
 * JPEG through image_codec.c; the output's size comes from the image, so eager calls
 * only, through value_shape), _cvimresize (nearest and bilinear as image.c's
 * _image_resize, bicubic, area for shrinking, Lanczos, all as OpenCV's cv::resize) and _cvcopyMakeBorder
 * (OpenCV's five border types).  None has a gradient, as in MXNet.
 * docs/ops-image-io.md says where they differ from MXNet 1.9.1 and OpenCV. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "image_codec.h"
#include "shape_impl.h"

static am_status images_only(const void *attrs, am_shape *in, int n_in, am_shape *out,
                             int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(out), AM_UNUSED(n_out);
    return am_fail(AM_ERR_UNSUPPORTED, "the output's shape depends on the image it decodes, "
                   "so only eager calls run it, not graphs, plans or hybridized blocks");
}

static am_status uint8_out(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    if (n_in > 0 && in[0] != AM_DTYPE_UINT8)
        return am_fail(AM_ERR_DTYPE, "buf must be uint8 (the encoded bytes), not %s",
                       am_dtype_name(in[0]));
    out[0] = AM_DTYPE_UINT8;
    return AM_OK;
}

/* ---- _cvimdecode, _cvimread ---------------------------------------------------------- */

typedef struct imdecode_attrs {
    int64_t flag;
    bool to_rgb;
    char filename[AM_MAX_ATTR_STRING];
} imdecode_attrs;

#define F_FLAG AM_ATTR_FIELD(imdecode_attrs, flag, AM_ATTR_INT, "1", \
                             "1 (any > 0) colour, 0 grey (OpenCV's imread flag)")
#define F_RGB AM_ATTR_FIELD(imdecode_attrs, to_rgb, AM_ATTR_BOOL, "True", \
                            "colour channels in RGB order (False: OpenCV's BGR)")

static const am_attr_field imdecode_fields[] = {F_FLAG, F_RGB, {0}};
static const am_attr_field imread_fields[] = {
    AM_ATTR_FIELD(imdecode_attrs, filename, AM_ATTR_STRING, NULL, "the image file to read"),
    F_FLAG, F_RGB, {0}};

static am_status check_flag(const imdecode_attrs *a)
{
    if (a->flag < 0)
        return am_fail(AM_ERR_UNSUPPORTED, "flag=%lld (OpenCV's IMREAD_UNCHANGED) is not "
                       "supported; use 1 (colour) or 0 (grey)", (long long)a->flag);
    return AM_OK;
}

/* Decodes (dst NULL: sizes only) and, for a BGR request, swaps the colour channels. */
static am_status decode(const imdecode_attrs *a, const uint8_t *buf, size_t n,
                        am_image_info *info, uint8_t *dst)
{
    char name[AM_MAX_ATTR_STRING + 2];
    snprintf(name, sizeof(name), a->filename[0] ? "'%s'" : "buf", a->filename);
    am_status st = check_flag(a);
    if (st == AM_OK) st = am_image_decode(name, buf, n, a->flag > 0, info, dst);
    if (st != AM_OK || !dst || a->flag <= 0 || a->to_rgb) return st;
    for (int64_t i = 0; i < info->h * info->w; i++) {
        uint8_t t = dst[3 * i];
        dst[3 * i] = dst[3 * i + 2], dst[3 * i + 2] = t;
    }
    return AM_OK;
}

static am_shape image_shape(const am_image_info *info)
{
    return (am_shape){.ndim = 3, .dim = {info->h, info->w, info->c}};
}

/* Decodes into out[0] by req.  The size is known only from the data, so accumulating
 * (AM_REQ_ADD) decodes into a buffer of its own first: these ops never run in plans. */
static am_status decode_into(const imdecode_attrs *a, const uint8_t *buf, size_t n,
                             const am_view *out, am_req req)
{
    am_image_info info;
    if (req == AM_REQ_NULL) return AM_OK;
    int64_t size = am_view_size(out);
    uint8_t *dst = req == AM_REQ_ADD ? malloc(size ? (size_t)size : 1) : out->data;
    if (!dst) return am_fail(AM_ERR_OOM, "no memory for a %lld-byte image", (long long)size);
    am_status st = decode(a, buf, n, &info, NULL);
    am_shape want = image_shape(&info), have = am_view_shape(out);
    if (st == AM_OK && !am_shape_equal(want, have))
        st = am_fail(AM_ERR_SHAPE, "the image changed size between reads");
    if (st == AM_OK && size) st = decode(a, buf, n, &info, dst);
    if (st == AM_OK && req == AM_REQ_ADD) {
        uint8_t *y = out->data;
        for (int64_t i = 0; i < size; i++) y[i] = (uint8_t)(y[i] + dst[i]);
    }
    if (dst != out->data) free(dst);
    return st;
}

static am_status imdecode_value_shape(const void *attrs, const am_view *in, int n_in,
                                      am_shape *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_image_info info;
    if (in[0].dtype != AM_DTYPE_UINT8)
        return am_fail(AM_ERR_DTYPE, "buf must be uint8 (the encoded bytes), not %s",
                       am_dtype_name(in[0].dtype));
    if (in[0].ndim != 1)
        return am_fail(AM_ERR_SHAPE, "buf must be 1-D (the encoded bytes), not %d-D",
                       in[0].ndim);
    am_status st = decode(attrs, in[0].data, (size_t)am_view_size(&in[0]), &info, NULL);
    if (st == AM_OK) out[0] = image_shape(&info);
    return st;
}

static am_status imdecode_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                              int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return decode_into(attrs, in[0].data, (size_t)am_view_size(&in[0]), &out[0], req[0]);
}

const am_op_def am_op_cvimdecode = {
    .name = "_cvimdecode", .input_names = (const char *const[]){"buf", NULL}, .num_outputs = 1,
    .attrs = imdecode_fields, .attrs_size = sizeof(imdecode_attrs),
    .infer_shape = images_only, .value_shape = imdecode_value_shape, .infer_dtype = uint8_out,
    .cpu = imdecode_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Decodes the PNG or JPEG bytes of buf into an (H, W, 3) RGB (flag 1) or (H, W, 1) "
           "grey (flag 0) uint8 image; eager calls only."};

/* The file's bytes, or an error that names it. */
static am_status read_image_file(const imdecode_attrs *a, uint8_t **buf, size_t *n)
{
    if (!a->filename[0]) return am_fail(AM_ERR_ARG, "filename is empty");
    return am_image_read_file(a->filename, buf, n);
}

static am_status imread_value_shape(const void *attrs, const am_view *in, int n_in,
                                    am_shape *out, int n_out)
{
    AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const imdecode_attrs *a = attrs;
    am_image_info info;
    uint8_t *buf;
    size_t n;
    am_status st = read_image_file(a, &buf, &n);
    if (st != AM_OK) return st;
    st = decode(a, buf, n, &info, NULL);
    if (st == AM_OK) out[0] = image_shape(&info);
    free(buf);
    return st;
}

static am_status imread_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const imdecode_attrs *a = attrs;
    uint8_t *buf;
    size_t n;
    am_status st = read_image_file(a, &buf, &n);
    if (st != AM_OK) return st;
    st = decode_into(a, buf, n, &out[0], req[0]);
    free(buf);
    return st;
}

const am_op_def am_op_cvimread = {
    .name = "_cvimread", .input_names = (const char *const[]){NULL}, .num_outputs = 1,
    .attrs = imread_fields, .attrs_size = sizeof(imdecode_attrs),
    .infer_shape = images_only, .value_shape = imread_value_shape, .infer_dtype = uint8_out,
    .cpu = imread_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Reads a PNG or JPEG file into an (H, W, 3) RGB (flag 1) or (H, W, 1) grey "
           "(flag 0) uint8 image; eager calls only."};

/* ---- _cvimresize ---------------------------------------------------------------------- */

typedef struct cvresize_attrs {
    int64_t w, h, interp;
} cvresize_attrs;

static const am_attr_field cvresize_fields[] = {
    AM_ATTR_FIELD(cvresize_attrs, w, AM_ATTR_INT, NULL, "output width"),
    AM_ATTR_FIELD(cvresize_attrs, h, AM_ATTR_INT, NULL, "output height"),
    AM_ATTR_FIELD(cvresize_attrs, interp, AM_ATTR_INT, "1",
                  "0 nearest, 1 bilinear, 2 bicubic, 3 area (shrinking only), 4 Lanczos, "
                  "as OpenCV's"),
    {0}};

/* OpenCV's interpolation codes. */
enum { INTERP_NEAREST, INTERP_LINEAR, INTERP_CUBIC, INTERP_AREA, INTERP_LANCZOS };

static am_status cvresize_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const cvresize_attrs *a = attrs;
    char b[AM_SHAPE_BUF];
    am_status st = am_need_known(in, 1);
    if (st != AM_OK) return st;
    if (in[0].ndim != 3)
        return am_fail(AM_ERR_SHAPE, "src must be an (H, W, C) image, not %s",
                       am_fmt_shape(&in[0], b));
    if (a->w <= 0 || a->h <= 0)
        return am_fail(AM_ERR_ARG, "w and h must be positive, not %lld x %lld",
                       (long long)a->w, (long long)a->h);
    if (a->interp < INTERP_NEAREST || a->interp > INTERP_LANCZOS)
        return am_fail(AM_ERR_UNSUPPORTED, "interp=%lld is not supported (0 nearest, 1 "
                       "bilinear, 2 bicubic, 3 area, 4 Lanczos)", (long long)a->interp);
    int64_t sh = in[0].dim[0], sw = in[0].dim[1];
    if (a->interp == INTERP_AREA && (a->h > sh || a->w > sw))
        return am_fail(AM_ERR_UNSUPPORTED, "interp=3 (area) shrinks only: %lld x %lld to "
                       "%lld x %lld enlarges", (long long)sw, (long long)sh, (long long)a->w,
                       (long long)a->h);
    if (sh == 0 || sw == 0)
        return am_fail(AM_ERR_SHAPE, "cannot resize an empty image %s", am_fmt_shape(&in[0], b));
    out[0] = (am_shape){.ndim = 3, .dim = {a->h, a->w, in[0].dim[2]}};
    return AM_OK;
}

static am_status cvresize_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (in[0] != AM_DTYPE_UINT8 && in[0] != AM_DTYPE_FLOAT32 && in[0] != AM_DTYPE_FLOAT64)
        return am_fail(AM_ERR_DTYPE, "%s src not supported (uint8, float32 or float64)",
                       am_dtype_name(in[0]));
    out[0] = in[0];
    return AM_OK;
}

/* OpenCV's area taps for one axis: output i averages source cells [i s, (i + 1) s), the
 * partly covered end cells weighted by their share. */
typedef struct area_tap {
    int64_t dst, src;
    float w;
} area_tap;

static int64_t area_taps(int64_t src, int64_t dst, area_tap *t)
{
    double scale = (double)src / (double)dst;
    int64_t k = 0;
    for (int64_t i = 0; i < dst; i++) {
        double f1 = i * scale, f2 = f1 + scale, cell = fmin(scale, (double)src - f1);
        int64_t s1 = (int64_t)ceil(f1), s2 = (int64_t)floor(f2);
        s2 = s2 < src - 1 ? s2 : src - 1;
        s1 = s1 < s2 ? s1 : s2;
        if (s1 - f1 > 1e-3) t[k++] = (area_tap){i, s1 - 1, (float)((s1 - f1) / cell)};
        for (int64_t s = s1; s < s2; s++) t[k++] = (area_tap){i, s, (float)(1.0 / cell)};
        if (f2 - s2 > 1e-3) t[k++] = (area_tap){i, s2, (float)(fmin(fmin(f2 - s2, 1.), cell) / cell)};
    }
    return k;
}

static size_t cvresize_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(n_in);
    const cvresize_attrs *a = attrs;
    if (in[0].ndim != 3 || a->h <= 0 || a->w <= 0) return 0;
    /* area: taps (at most src + dst per axis) and one output row of sums per channel */
    size_t taps = (size_t)(in[0].dim[0] + 2 * a->h + in[0].dim[1] + 2 * a->w + 4) *
                  sizeof(area_tap);
    size_t row = (size_t)(a->w * in[0].dim[2]) * sizeof(double);
    size_t lin = am_image_resize_temp(a->h, a->w);
    size_t cubic = (size_t)a->w * 8 * (sizeof(int64_t) + sizeof(float)) +
                   (size_t)(8 * a->w * in[0].dim[2]) * sizeof(double); /* Lanczos: 8 taps */
    size_t most = taps + row > lin ? taps + row : lin;
    return (most > cubic ? most : cubic) + 64;
}

/* Integer shrink factors average whole blocks (2 x 2 of uint8 rounds half up, as OpenCV's
 * SIMD code); other factors weight the partly covered cells; uint8 rounds half to even. */
#define AREA_IMG(T, WT)                                                                     \
    do {                                                                                    \
        const T *x = in[0].data;                                                            \
        T *y = out[0].data;                                                                 \
        WT *acc = (WT *)(tx + ntx);                                                         \
        for (int64_t i = 0; i < rh; i++) {                                                  \
            for (int64_t j = 0; j < rw * c; j++) acc[j] = 0;                                \
            for (int64_t p = 0; p < nty; p++) {                                             \
                if (ty[p].dst != i) continue;                                               \
                const T *row = x + ty[p].src * w * c;                                       \
                for (int64_t q = 0; q < ntx; q++)                                           \
                    for (int64_t k = 0; k < c; k++)                                         \
                        acc[tx[q].dst * c + k] +=                                           \
                            (WT)row[tx[q].src * c + k] * (WT)tx[q].w * (WT)ty[p].w;          \
            }                                                                               \
            for (int64_t j = 0; j < rw * c; j++) {                                          \
                double v = acc[j];                                                          \
                if (u8) v = fmin(fmax(rint(v), 0), 255);                                    \
                T *d = &y[i * rw * c + j];                                                  \
                *d = add ? (T)(*d + (T)v) : (T)v;                                           \
            }                                                                               \
        }                                                                                   \
    } while (0)

static am_status area_fast_u8(const am_view *in, const am_view *out, int64_t fy, int64_t fx,
                              bool add)
{
    int64_t w = in->dim[1], c = in->dim[2], rh = out->dim[0], rw = out->dim[1];
    const uint8_t *x = in->data;
    uint8_t *y = out->data;
    float scale = 1.0f / (float)(fy * fx);
    for (int64_t i = 0; i < rh; i++)
        for (int64_t j = 0; j < rw; j++)
            for (int64_t k = 0; k < c; k++) {
                int s = 0;
                for (int64_t u = 0; u < fy; u++)
                    for (int64_t v = 0; v < fx; v++) s += x[((i * fy + u) * w + j * fx + v) * c + k];
                int r = fy == 2 && fx == 2 ? (s + 2) >> 2 : (int)lrintf((float)s * scale);
                uint8_t *d = &y[(i * rw + j) * c + k];
                *d = (uint8_t)(add ? *d + r : r);
            }
    return AM_OK;
}

static am_status area_cpu(const am_kernel_ctx *ctx, const am_view *in, const am_view *out,
                          am_req rq)
{
    int64_t h = in[0].dim[0], w = in[0].dim[1], c = in[0].dim[2];
    int64_t rh = out[0].dim[0], rw = out[0].dim[1];
    bool add = rq == AM_REQ_ADD, u8 = in[0].dtype == AM_DTYPE_UINT8;
    if (u8 && h % rh == 0 && w % rw == 0) return area_fast_u8(&in[0], &out[0], h / rh, w / rw, add);
    area_tap *ty = ctx->workspace;
    int64_t nty = area_taps(h, rh, ty);
    area_tap *tx = ty + nty;
    int64_t ntx = area_taps(w, rw, tx);
    switch (in[0].dtype) {
    case AM_DTYPE_UINT8: AREA_IMG(uint8_t, float); break;
    case AM_DTYPE_FLOAT32: AREA_IMG(float, float); break;
    case AM_DTYPE_FLOAT64: AREA_IMG(double, double); break;
    default: return am_fail(AM_ERR_DTYPE, "unsupported dtype %s", am_dtype_name(in[0].dtype));
    }
    return AM_OK;
}

/* ---- bicubic and Lanczos ----------------------------------------------------------- */

/* OpenCV's bicubic weights (A = -0.75) of the four taps around a fraction x. */
static void cubic_weights(float x, float *c)
{
    const float A = -0.75f;
    c[0] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
    c[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
    c[2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
    c[3] = 1.f - c[0] - c[1] - c[2];
}

/* OpenCV's Lanczos-4 weights of the eight taps around x, normalized to sum 1. */
static void lanczos_weights(float x, float *c)
{
    static const double s45 = 0.70710678118654752440;
    static const double cs[8][2] = {{1, 0},  {-s45, -s45}, {0, 1},  {s45, -s45},
                                    {-1, 0}, {s45, s45},   {0, -1}, {-s45, s45}};
    if (x < FLT_EPSILON) {
        for (int i = 0; i < 8; i++) c[i] = 0;
        c[3] = 1;
        return;
    }
    float sum = 0;
    double y0 = -(x + 3) * M_PI * 0.25, s0 = sin(y0), c0 = cos(y0);
    for (int i = 0; i < 8; i++) {
        double y = -(x + 3 - i) * M_PI * 0.25;
        c[i] = (float)((cs[i][0] * s0 + cs[i][1] * c0) / (y * y));
        sum += c[i];
    }
    sum = 1.f / sum;
    for (int i = 0; i < 8; i++) c[i] *= sum;
}

typedef void (*kernel_weights)(float x, float *c);

/* Output i of an axis reads source taps ofs[K i ..] (edges repeated) with weights w. */
static void kernel_taps(int64_t src, int64_t dst, int K, kernel_weights f, int64_t *ofs,
                        float *w)
{
    double scale = 1.0 / ((double)dst / (double)src);
    for (int64_t i = 0; i < dst; i++) {
        float x = (float)((i + 0.5) * scale - 0.5);
        int64_t s = (int64_t)floorf(x);
        f(x - (float)s, w + K * i);
        for (int k = 0; k < K; k++) {
            int64_t t = s - (K / 2 - 1) + k;
            ofs[K * i + k] = t < 0 ? 0 : t >= src ? src - 1 : t;
        }
    }
}

/* uint8 follows OpenCV's fixed point: 11-bit weights and integer horizontal sums; the
 * vertical pass rounds in float for bicubic (OpenCV's vector code) and in 22-bit fixed
 * point for Lanczos (its scalar code).  Floats stay floats. */
#define KERNEL_IMG(T, WT)                                                                   \
    do {                                                                                    \
        const T *x = in[0].data;                                                            \
        T *y = out[0].data;                                                                 \
        for (int64_t i = 0; i < rh; i++) {                                                  \
            float yw[8];                                                                    \
            float fy = (float)((i + 0.5) * sy - 0.5);                                       \
            int64_t y0 = (int64_t)floorf(fy);                                               \
            f(fy - (float)y0, yw);                                                          \
            for (int k = 0; k < K; k++) {                                                   \
                int64_t r = y0 - (K / 2 - 1) + k;                                           \
                r = r < 0 ? 0 : r >= h ? h - 1 : r;                                         \
                const T *row = x + r * w * c;                                               \
                for (int64_t j = 0; j < rw; j++)                                            \
                    for (int64_t ch = 0; ch < c; ch++) {                                    \
                        WT v = 0;                                                           \
                        for (int t = 0; t < K; t++) {                                       \
                            WT a = u8 ? (WT)lrintf(xw[K * j + t] * 2048.f) : (WT)xw[K * j + t]; \
                            v += (WT)row[xo[K * j + t] * c + ch] * a;                       \
                        }                                                                   \
                        rows[k * rw * c + j * c + ch] = (double)v;                          \
                    }                                                                       \
            }                                                                               \
            for (int64_t j = 0; j < rw * c; j++) {                                          \
                double v;                                                                   \
                if (u8 && K == 4) {                                                         \
                    float s = 0;                                                            \
                    for (int k = 0; k < K; k++)                                             \
                        s += (float)rows[k * rw * c + j] *                                  \
                             ((float)lrintf(yw[k] * 2048.f) * (1.f / (2048.f * 2048.f)));  \
                    v = fmin(fmax(rintf(s), 0), 255);                                       \
                } else if (u8) {                                                            \
                    int64_t s = 0;                                                          \
                    for (int k = 0; k < K; k++)                                             \
                        s += (int64_t)rows[k * rw * c + j] * lrintf(yw[k] * 2048.f);        \
                    s = (s + (1 << 21)) >> 22;                                              \
                    v = s < 0 ? 0 : s > 255 ? 255 : (double)s;                              \
                } else {                                                                    \
                    WT s = 0;                                                               \
                    for (int k = 0; k < K; k++) s += (WT)rows[k * rw * c + j] * (WT)yw[k];  \
                    v = (double)s;                                                          \
                }                                                                           \
                T *d = &y[i * rw * c + j];                                                  \
                *d = add ? (T)(*d + (T)v) : (T)v;                                           \
            }                                                                               \
        }                                                                                   \
    } while (0)

static am_status kernel_cpu(const am_kernel_ctx *ctx, const am_view *in, const am_view *out,
                            am_req rq, bool lanczos)
{
    int64_t h = in[0].dim[0], w = in[0].dim[1], c = in[0].dim[2];
    int64_t rh = out[0].dim[0], rw = out[0].dim[1];
    bool add = rq == AM_REQ_ADD, u8 = in[0].dtype == AM_DTYPE_UINT8;
    int K = lanczos ? 8 : 4;
    kernel_weights f = lanczos ? lanczos_weights : cubic_weights;
    double sy = 1.0 / ((double)rh / (double)h);
    int64_t *xo = ctx->workspace;
    float *xw = (float *)(xo + K * rw);
    double *rows = (double *)(xw + K * rw); // 16 rw or 32 rw bytes after xw: aligned
    kernel_taps(w, rw, K, f, xo, xw);
    switch (in[0].dtype) {
    case AM_DTYPE_UINT8: KERNEL_IMG(uint8_t, int32_t); break;
    case AM_DTYPE_FLOAT32: KERNEL_IMG(float, float); break;
    case AM_DTYPE_FLOAT64: KERNEL_IMG(double, double); break;
    default: return am_fail(AM_ERR_DTYPE, "unsupported dtype %s", am_dtype_name(in[0].dtype));
    }
    return AM_OK;
}

static am_status cvresize_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                              int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const cvresize_attrs *a = attrs;
    if (req[0] == AM_REQ_NULL || am_view_size(&out[0]) == 0) return AM_OK;
    if (a->interp == INTERP_AREA) return area_cpu(ctx, in, out, req[0]);
    if (a->interp == INTERP_CUBIC || a->interp == INTERP_LANCZOS)
        return kernel_cpu(ctx, in, out, req[0], a->interp == INTERP_LANCZOS);
    return am_image_resize_run(ctx, (int)a->interp, in, out, req);
}

const am_op_def am_op_cvimresize = {
    .name = "_cvimresize", .input_names = (const char *const[]){"src", NULL}, .num_outputs = 1,
    .attrs = cvresize_fields, .attrs_size = sizeof(cvresize_attrs),
    .infer_shape = cvresize_shape, .infer_dtype = cvresize_dtype, .temp_bytes = cvresize_temp,
    .cpu = cvresize_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP | AM_OP_NO_GRAD,
    .doc = "An (H, W, C) image resized to (h, w, C) as OpenCV's cv::resize does (interp 0 "
           "nearest, 1 bilinear, 2 bicubic, 3 area for shrinking, 4 Lanczos)."};

/* ---- _cvcopyMakeBorder ------------------------------------------------------------- */

typedef struct border_attrs {
    int64_t top, bot, left, right, type;
    double value;
    am_floats values;
} border_attrs;

static const am_attr_field border_fields[] = {
    AM_ATTR_FIELD(border_attrs, top, AM_ATTR_INT, NULL, "rows added above"),
    AM_ATTR_FIELD(border_attrs, bot, AM_ATTR_INT, NULL, "rows added below"),
    AM_ATTR_FIELD(border_attrs, left, AM_ATTR_INT, NULL, "columns added on the left"),
    AM_ATTR_FIELD(border_attrs, right, AM_ATTR_INT, NULL, "columns added on the right"),
    AM_ATTR_FIELD(border_attrs, type, AM_ATTR_INT, "0",
                  "0 constant, 1 replicate, 2 reflect, 3 wrap, 4 reflect-101 (OpenCV's)"),
    AM_ATTR_FIELD(border_attrs, value, AM_ATTR_FLOAT, "0.0",
                  "constant border: channels 0-2 (channel 3 gets 0)"),
    AM_ATTR_FIELD(border_attrs, values, AM_ATTR_FLOATS, "()",
                  "constant border per channel (at most 4), in place of value"),
    {0}};

enum { BORDER_CONSTANT, BORDER_REPLICATE, BORDER_REFLECT, BORDER_WRAP, BORDER_REFLECT_101 };

/* OpenCV's cv::Scalar for the constant border: values, else (value, value, value, 0). */
static void border_scalar(const border_attrs *a, double s[4])
{
    for (int k = 0; k < 4; k++)
        s[k] = a->values.n ? (k < a->values.n ? a->values.v[k] : 0) : (k < 3 ? a->value : 0);
}

static am_status border_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const border_attrs *a = attrs;
    char b[AM_SHAPE_BUF];
    am_status st = am_need_known(in, 1);
    if (st != AM_OK) return st;
    if (in[0].ndim != 3)
        return am_fail(AM_ERR_SHAPE, "src must be an (H, W, C) image, not %s",
                       am_fmt_shape(&in[0], b));
    if (a->top < 0 || a->bot < 0 || a->left < 0 || a->right < 0)
        return am_fail(AM_ERR_ARG, "borders must not be negative (top %lld, bot %lld, left "
                       "%lld, right %lld)", (long long)a->top, (long long)a->bot,
                       (long long)a->left, (long long)a->right);
    if (a->type < BORDER_CONSTANT || a->type > BORDER_REFLECT_101)
        return am_fail(AM_ERR_ARG, "type=%lld is not a border type (0 constant, 1 replicate, "
                       "2 reflect, 3 wrap, 4 reflect-101)", (long long)a->type);
    if (a->values.n > 4)
        return am_fail(AM_ERR_ARG, "values holds %d numbers; OpenCV's scalar has at most 4",
                       a->values.n);
    double s[4];
    border_scalar(a, s);
    if (a->type == BORDER_CONSTANT && in[0].dim[2] > 4 &&
        !(s[0] == s[1] && s[0] == s[2] && s[0] == s[3]))
        return am_fail(AM_ERR_ARG, "a constant border of an image with %lld channels needs "
                       "one value for all (OpenCV's rule); value gives channel 3 zero",
                       (long long)in[0].dim[2]);
    bool empty = in[0].dim[0] == 0 || in[0].dim[1] == 0;
    if (empty && a->type != BORDER_CONSTANT && (a->top || a->bot || a->left || a->right))
        return am_fail(AM_ERR_SHAPE, "cannot extend the empty image %s but with a constant",
                       am_fmt_shape(&in[0], b));
    out[0] = in[0];
    out[0].dim[0] += a->top + a->bot;
    out[0].dim[1] += a->left + a->right;
    return AM_OK;
}

/* Source index of position p (maybe outside [0, len)), or -1 for the constant border; as
 * OpenCV's borderInterpolate. */
static int64_t border_index(int64_t p, int64_t len, int64_t type)
{
    if (p >= 0 && p < len) return p;
    switch (type) {
    case BORDER_REPLICATE: return p < 0 ? 0 : len - 1;
    case BORDER_REFLECT:
    case BORDER_REFLECT_101: {
        int64_t delta = type == BORDER_REFLECT_101;
        if (len == 1) return 0;
        do {
            if (p < 0) p = -p - 1 + delta;
            else p = len - 1 - (p - len) - delta;
        } while (p < 0 || p >= len);
        return p;
    }
    case BORDER_WRAP:
        p %= len;
        return p < 0 ? p + len : p;
    default: return -1;
    }
}

/* The constant in T: OpenCV's saturate_cast, which rounds half to even for integers. */
static double border_fill(double v, am_dtype t)
{
    switch (t) {
    case AM_DTYPE_UINT8: return fmin(fmax(rint(v), 0), 255);
    case AM_DTYPE_INT32: return fmin(fmax(rint(v), INT32_MIN), INT32_MAX);
    case AM_DTYPE_INT64: return rint(v);
    default: return v;
    }
}

static am_status border_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const border_attrs *a = attrs;
    if (req[0] == AM_REQ_NULL) return AM_OK;
    int64_t h = in[0].dim[0], w = in[0].dim[1], c = in[0].dim[2];
    int64_t oh = out[0].dim[0], ow = out[0].dim[1];
    double s[4];
    border_scalar(a, s);
    bool add = req[0] == AM_REQ_ADD;
    AM_DTYPE_SWITCH(in[0].dtype, T, {
        const T *x = in[0].data;
        T *y = out[0].data;
        T fill[4] = {0};
        for (int64_t k = 0; k < c && k < 4; k++) fill[k] = (T)border_fill(s[k], in[0].dtype);
        for (int64_t i = 0; i < oh; i++) {
            int64_t si = border_index(i - a->top, h, a->type);
            for (int64_t j = 0; j < ow; j++) {
                int64_t sj = border_index(j - a->left, w, a->type);
                for (int64_t k = 0; k < c; k++) {
                    T v = si < 0 || sj < 0 ? fill[k < 4 ? k : 0] : x[(si * w + sj) * c + k];
                    T *d = &y[(i * ow + j) * c + k];
                    *d = add ? (T)(*d + v) : v;
                }
            }
        }
    });
    return AM_OK;
}

const am_op_def am_op_cvcopy_make_border = {
    .name = "_cvcopyMakeBorder", .input_names = (const char *const[]){"src", NULL},
    .num_outputs = 1, .attrs = border_fields, .attrs_size = sizeof(border_attrs),
    .infer_shape = border_shape, .infer_dtype = am_infer_dtype_same, .cpu = border_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Pads an (H, W, C) image by top, bot, left, right as OpenCV's copyMakeBorder "
           "(type 0 constant, 1 replicate, 2 reflect, 3 wrap, 4 reflect-101)."};

/* ---- C functions ----------------------------------------------------------------- */

am_array *am_cvimdecode_at(am_array *buf, int flag, bool to_rgb, am_site at)
{
    imdecode_attrs a = {.flag = flag, .to_rgb = to_rgb};
    am_array *y = NULL;
    am_op_call(&am_op_cvimdecode, &a, &buf, 1, &y, 1, at);
    return y;
}

am_array *am_cvimread_at(const char *filename, int flag, bool to_rgb, am_site at)
{
    imdecode_attrs a = {.flag = flag, .to_rgb = to_rgb};
    if (!filename || strlen(filename) >= sizeof(a.filename)) {
        am_fail(AM_ERR_ARG, "_cvimread: the file name is %s (at most %d bytes) at %s:%d",
                filename ? "too long" : "NULL", (int)sizeof(a.filename) - 1,
                at.file ? at.file : "?", at.line);
        return NULL;
    }
    strcpy(a.filename, filename);
    am_array *y = NULL;
    am_op_call(&am_op_cvimread, &a, NULL, 0, &y, 1, at);
    return y;
}

am_array *am_cvimresize_at(am_array *src, int64_t w, int64_t h, int interp, am_site at)
{
    cvresize_attrs a = {.w = w, .h = h, .interp = interp};
    am_array *y = NULL;
    am_op_call(&am_op_cvimresize, &a, &src, 1, &y, 1, at);
    return y;
}

am_array *am_cvcopy_make_border_at(am_array *src, int64_t top, int64_t bot, int64_t left,
                                   int64_t right, int type, double value, am_site at)
{
    border_attrs a = {.top = top, .bot = bot, .left = left, .right = right, .type = type,
                      .value = value};
    am_array *y = NULL;
    am_op_call(&am_op_cvcopy_make_border, &a, &src, 1, &y, 1, at);
    return y;
}
