/* Resizing NCHW planes: _contrib_BilinearResize2D (MXNet 1.9.1's modes, scale rules and
 * align_corners) and _contrib_AdaptiveAvgPooling2D, with their backward ops.  Both run
 * plane by plane over the N * C planes, in parallel, from per-row and per-column tables. */
#include "../ndarray_impl.h"

#include <math.h>

static am_status nchw_data(const am_shape *s, const char *name)
{
    char b[96];
    if (s->ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of %s is unknown", name);
    if (s->ndim != 4)
        return am_fail(AM_ERR_SHAPE, "%s %s must be 4-D (N, C, H, W)", name,
                       am_shape_format(s, b, sizeof(b)));
    return AM_OK;
}

static bool same_shape(const am_shape *a, const am_shape *b)
{
    return a->ndim == b->ndim && !memcmp(a->dim, b->dim, sizeof(int64_t) * (size_t)a->ndim);
}

/* ---- _contrib_BilinearResize2D: attributes and shape ------------------------------------ */

enum { MODE_SIZE, MODE_ODD_SCALE, MODE_LIKE, MODE_EVEN_DOWN, MODE_EVEN_UP, MODE_ODD_DOWN,
       MODE_ODD_UP };
static const char *const resize_modes[] = {"size", "odd_scale", "like", "to_even_down",
                                           "to_even_up", "to_odd_down", "to_odd_up", NULL};

typedef struct resize_attrs {
    int64_t height, width;
    am_opt_float scale_height, scale_width;
    int mode;
    bool align_corners;
} resize_attrs;

static const am_attr_field resize_fields[] = {
    AM_ATTR_FIELD(resize_attrs, height, AM_ATTR_INT, "1",
                  "output height (mode size without scale_height)"),
    AM_ATTR_FIELD(resize_attrs, width, AM_ATTR_INT, "1",
                  "output width (mode size without scale_height)"),
    AM_ATTR_FIELD(resize_attrs, scale_height, AM_ATTR_OPT_FLOAT, "None",
                  "height factor (modes size and odd_scale)"),
    AM_ATTR_FIELD(resize_attrs, scale_width, AM_ATTR_OPT_FLOAT, "None",
                  "width factor (modes size and odd_scale; size reads it only with "
                  "scale_height, as MXNet does)"),
    AM_ATTR_ENUM_FIELD(resize_attrs, mode, resize_modes, "size",
                       "how the output size is chosen"),
    AM_ATTR_FIELD(resize_attrs, align_corners, AM_ATTR_BOOL, "True",
                  "True: corner pixels of input and output align; False: pixel centres "
                  "scale (half-pixel offsets)"),
    {0}};

static int resize_num_inputs(const void *attrs)
{
    return ((const resize_attrs *)attrs)->mode == MODE_LIKE ? 2 : 1;
}

static int64_t odd_scaled(int64_t n, double s)
{
    return n % 2 == 0 ? (int64_t)(float)((float)n * (float)s)
                      : (int64_t)(float)((float)(n - 1) * (float)s) + 1;
}

/* The output height and width MXNet 1.9.1 gives. */
static am_status resize_out_hw(const resize_attrs *a, const am_shape *x, const am_shape *like,
                               int64_t *h, int64_t *w)
{
    int64_t H = x->dim[2], W = x->dim[3];
    switch (a->mode) {
    case MODE_SIZE:
        if (a->scale_height.has) {
            if (!a->scale_width.has)
                return am_fail(AM_ERR_ARG, "scale_height is given without scale_width (mode "
                               "size scales both or neither)");
            *h = (int64_t)((float)a->scale_height.v * (float)H);
            *w = (int64_t)((float)a->scale_width.v * (float)W);
        } else {
            if (a->height < 1 || a->width < 1)
                return am_fail(AM_ERR_ARG, "height=%lld and width=%lld must be at least 1",
                               (long long)a->height, (long long)a->width);
            *h = a->height, *w = a->width;
        }
        break;
    case MODE_ODD_SCALE:
        if (!a->scale_height.has || !a->scale_width.has)
            return am_fail(AM_ERR_ARG, "mode odd_scale needs scale_height and scale_width");
        *h = odd_scaled(H, a->scale_height.v), *w = odd_scaled(W, a->scale_width.v);
        break;
    case MODE_LIKE: *h = like->dim[2], *w = like->dim[3]; break;
    case MODE_EVEN_DOWN: *h = H - H % 2, *w = W - W % 2; break;
    case MODE_EVEN_UP: *h = H + H % 2, *w = W + W % 2; break;
    case MODE_ODD_DOWN: *h = H % 2 ? H : H - 1, *w = W % 2 ? W : W - 1; break;
    default: *h = H % 2 ? H : H + 1, *w = W % 2 ? W : W + 1; break;
    }
    if (*h < 0 || *w < 0)
        return am_fail(AM_ERR_ARG, "the scales give a negative output size (%lld, %lld)",
                       (long long)*h, (long long)*w);
    return AM_OK;
}

static am_status resize_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_out);
    const resize_attrs *a = attrs;
    am_status st = nchw_data(&in[0], "data");
    if (st == AM_OK && n_in > 1) st = nchw_data(&in[1], "like");
    if (st != AM_OK) return st;
    int64_t h = 0, w = 0;
    if ((st = resize_out_hw(a, &in[0], n_in > 1 ? &in[1] : NULL, &h, &w)) != AM_OK) return st;
    out[0] = in[0];
    out[0].dim[2] = h, out[0].dim[3] = w;
    return AM_OK;
}

/* ---- bilinear tables and kernels -------------------------------------------------------- */

/* Output index o reads input i0 and i0 + step with weights 1 - lambda and lambda. */
typedef struct lerp {
    int64_t i0, step;
    double lambda;
} lerp;

/* align_corners: source = o (in - 1) / (out - 1); else (o + 0.5) in / out - 0.5, clamped at 0;
 * an output of one pixel reads input 0. */
static void lerp_table(int64_t in, int64_t out, bool align, lerp *t)
{
    double scale = 0.0;
    if (out > 1) scale = align ? (double)(in - 1) / (double)(out - 1) : (double)in / (double)out;
    for (int64_t o = 0; o < out; o++) {
        double src = align ? scale * (double)o : scale * ((double)o + 0.5) - 0.5;
        if (src < 0) src = 0;
        int64_t i0 = (int64_t)src;
        if (i0 > in - 1) i0 = in - 1;
        t[o] = (lerp){.i0 = i0, .step = i0 < in - 1 ? 1 : 0, .lambda = src - (double)i0};
    }
}

typedef struct resize_geom {
    int64_t planes, ih, iw, oh, ow;
    const lerp *rows, *cols;
} resize_geom;

#define RESIZE_FWD(T)                                                                        \
    do {                                                                                     \
        const T *x = in[0].data;                                                             \
        T *y = out[0].data;                                                                  \
        int64_t n = g.planes * g.oh * g.ow;                                                  \
        AM_UNUSED(n);                                                                        \
        _Pragma("omp parallel for if (n > AM_OMP_MIN) schedule(static)")                     \
        for (int64_t p = 0; p < g.planes; p++) {                                             \
            const T *xp = x + p * g.ih * g.iw;                                               \
            T *yp = y + p * g.oh * g.ow;                                                     \
            for (int64_t r = 0; r < g.oh; r++) {                                             \
                const lerp *lr = &g.rows[r];                                                 \
                const T *r0 = xp + lr->i0 * g.iw, *r1 = r0 + lr->step * g.iw;                \
                for (int64_t c = 0; c < g.ow; c++) {                                         \
                    const lerp *lc = &g.cols[c];                                             \
                    int64_t c0 = lc->i0, c1 = c0 + lc->step;                                 \
                    double wl = lc->lambda, hl = lr->lambda;                                 \
                    double v = (1 - hl) * ((1 - wl) * r0[c0] + wl * r0[c1]) +                \
                               hl * ((1 - wl) * r1[c0] + wl * r1[c1]);                       \
                    yp[r * g.ow + c] = add ? (T)(yp[r * g.ow + c] + v) : (T)v;               \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    } while (0)

/* Input gradient: each output pixel's gradient spread back over its four sources. */
#define RESIZE_BWD(T)                                                                        \
    do {                                                                                     \
        const T *gy = in[0].data;                                                            \
        T *gx = out[0].data;                                                                 \
        int64_t n = g.planes * g.oh * g.ow;                                                  \
        AM_UNUSED(n);                                                                        \
        _Pragma("omp parallel for if (n > AM_OMP_MIN) schedule(static)")                     \
        for (int64_t p = 0; p < g.planes; p++) {                                             \
            T *xp = gx + p * g.ih * g.iw;                                                    \
            const T *yp = gy + p * g.oh * g.ow;                                              \
            if (!add) memset(xp, 0, sizeof(T) * (size_t)(g.ih * g.iw));                      \
            for (int64_t r = 0; r < g.oh; r++) {                                             \
                const lerp *lr = &g.rows[r];                                                 \
                T *r0 = xp + lr->i0 * g.iw, *r1 = r0 + lr->step * g.iw;                      \
                for (int64_t c = 0; c < g.ow; c++) {                                         \
                    const lerp *lc = &g.cols[c];                                             \
                    int64_t c0 = lc->i0, c1 = c0 + lc->step;                                 \
                    double wl = lc->lambda, hl = lr->lambda, v = yp[r * g.ow + c];           \
                    r0[c0] += (T)((1 - hl) * (1 - wl) * v);                                  \
                    r0[c1] += (T)((1 - hl) * wl * v);                                        \
                    r1[c0] += (T)(hl * (1 - wl) * v);                                        \
                    r1[c1] += (T)(hl * wl * v);                                              \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    } while (0)

static size_t resize_temp(const void *attrs, const am_shape *in, int n_in)
{
    am_shape o;
    am_shape s[2] = {in[0], n_in > 1 ? in[1] : in[0]};
    if (resize_shape(attrs, s, n_in, &o, 1) != AM_OK) return 0;
    return sizeof(lerp) * (size_t)(o.dim[2] + o.dim[3]);
}

/* The geometry of x (N, C, ih, iw) resized to (oh, ow), tables in the workspace. */
static resize_geom resize_geom_of(const resize_attrs *a, const am_view *x, int64_t oh,
                                  int64_t ow, void *ws)
{
    resize_geom g = {.planes = x->dim[0] * x->dim[1], .ih = x->dim[2], .iw = x->dim[3],
                     .oh = oh, .ow = ow};
    lerp *t = ws;
    if (g.ih > 0 && g.iw > 0) {
        lerp_table(g.ih, oh, a->align_corners, t);
        lerp_table(g.iw, ow, a->align_corners, t + oh);
    }
    g.rows = t, g.cols = t + oh;
    return g;
}

static am_status resize_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    bool add = req[0] == AM_REQ_ADD;
    resize_geom g = resize_geom_of(attrs, &in[0], out[0].dim[2], out[0].dim[3], ctx->workspace);
    if (g.planes * g.oh * g.ow == 0) return AM_OK;
    if (g.ih == 0 || g.iw == 0)
        return am_fail(AM_ERR_SHAPE, "cannot resize an empty plane (%lld, %lld) to (%lld, %lld)",
                       (long long)g.ih, (long long)g.iw, (long long)g.oh, (long long)g.ow);
    AM_FLOAT_SWITCH(in[0].dtype, T, RESIZE_FWD(T));
    return AM_OK;
}

/* _backward_contrib_BilinearResize2D: (ograd, data[, like]) -> (data grad[, like grad = 0]). */
static int resize_bwd_num_inputs(const void *attrs) { return resize_num_inputs(attrs) + 1; }
static int resize_bwd_num_outputs(const void *attrs) { return resize_num_inputs(attrs); }

static am_status resize_bwd_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    char b0[96], b1[96];
    am_shape y;
    am_status st = resize_shape(attrs, in + 1, n_in - 1, &y, 1);
    if (st != AM_OK) return st;
    if (in[0].ndim < 0) in[0] = y;
    if (!same_shape(&in[0], &y))
        return am_fail(AM_ERR_SHAPE, "ograd %s does not match the forward output %s",
                       am_shape_format(&in[0], b0, sizeof(b0)),
                       am_shape_format(&y, b1, sizeof(b1)));
    for (int i = 0; i < n_out; i++) out[i] = in[i + 1];
    return AM_OK;
}

static size_t resize_bwd_temp(const void *attrs, const am_shape *in, int n_in)
{
    return resize_temp(attrs, in + 1, n_in - 1);
}

static am_status resize_bwd_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in);
    if (n_out > 1 && (req[1] == AM_REQ_WRITE || req[1] == AM_REQ_INPLACE))
        if (am_view_size(&out[1]) > 0)
            memset(out[1].data, 0, (size_t)am_view_size(&out[1]) * am_dtype_size(out[1].dtype));
    if (req[0] == AM_REQ_NULL) return AM_OK;
    bool add = req[0] == AM_REQ_ADD;
    resize_geom g = resize_geom_of(attrs, &in[1], in[0].dim[2], in[0].dim[3], ctx->workspace);
    if (g.planes * g.ih * g.iw == 0) return AM_OK;
    AM_FLOAT_SWITCH(in[0].dtype, T, RESIZE_BWD(T));
    return AM_OK;
}

extern const am_op_def am_op_backward_bilinear_resize_2d;

static am_status resize_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                             am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    am_array *args[3] = {og[0], in[0], g->n_in > 1 ? in[1] : NULL}, *r[2] = {0};
    am_status st = am_op_call(&am_op_backward_bilinear_resize_2d, g->attrs, args, g->n_in + 1,
                              r, g->n_in, g->at);
    if (st != AM_OK) return st;
    for (int i = 0; i < g->n_in; i++)
        if (g->need_grad[i]) ig[i] = r[i];
    return AM_OK;
}

const am_op_def am_op_bilinear_resize_2d = {
    .name = "_contrib_BilinearResize2D", .input_names = (const char *const[]){"data", "like", NULL},
    .num_inputs = resize_num_inputs, .num_outputs = 1, .attrs = resize_fields,
    .attrs_size = sizeof(resize_attrs), .infer_shape = resize_shape,
    .infer_dtype = am_infer_dtype_float_same,
    .temp_bytes = resize_temp, .cpu = resize_cpu, .gradient = resize_grad,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "Bilinear resize of NCHW data to a size, a scale, another array's size (like) or "
           "the nearest even/odd size; align_corners as MXNet 1.9.1."};

const am_op_def am_op_backward_bilinear_resize_2d = {
    .name = "_backward_contrib_BilinearResize2D",
    .input_names = (const char *const[]){"ograd", "data", "like", NULL},
    .num_inputs = resize_bwd_num_inputs, .num_outputs = 2, .num_outputs_of = resize_bwd_num_outputs,
    .attrs = resize_fields, .attrs_size = sizeof(resize_attrs), .infer_shape = resize_bwd_shape,
    .infer_dtype = am_infer_dtype_float_same, .temp_bytes = resize_bwd_temp, .cpu = resize_bwd_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP | AM_OP_NO_GRAD,
    .doc = "Gradients of _contrib_BilinearResize2D from (ograd, data[, like]); like's is zero."};

am_array *am_bilinear_resize_2d_at(am_array *x, int64_t height, int64_t width,
                                   bool align_corners, am_site at)
{
    resize_attrs a;
    if (am_attrs_init(&am_op_bilinear_resize_2d, &a) != AM_OK) return NULL;
    a.height = height, a.width = width, a.align_corners = align_corners;
    am_array *y = NULL;
    am_op_call(&am_op_bilinear_resize_2d, &a, &x, 1, &y, 1, at);
    return y;
}

/* ---- _contrib_AdaptiveAvgPooling2D --------------------------------------------------- */

typedef struct adaptive_attrs {
    am_tuple output_size;
} adaptive_attrs;

static const am_attr_field adaptive_fields[] = {
    AM_ATTR_FIELD(adaptive_attrs, output_size, AM_ATTR_TUPLE, "()",
                  "(): 1 x 1; (s,): s x s; (h, w)"),
    {0}};

static am_status adaptive_out_hw(const adaptive_attrs *a, int64_t *h, int64_t *w)
{
    const am_tuple *t = &a->output_size;
    if (t->ndim > 2)
        return am_fail(AM_ERR_ARG, "output_size has %d entries (at most 2: (size,) or "
                       "(height, width))", t->ndim);
    *h = t->ndim <= 0 ? 1 : t->v[0];
    *w = t->ndim <= 0 ? 1 : t->v[t->ndim - 1];
    if (*h < 0 || *w < 0 || (t->none & 3u))
        return am_fail(AM_ERR_ARG, "output_size entries must be sizes (0 or more)");
    return AM_OK;
}

static am_status adaptive_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t h = 0, w = 0;
    am_status st = nchw_data(&in[0], "data");
    if (st == AM_OK) st = adaptive_out_hw(attrs, &h, &w);
    if (st != AM_OK) return st;
    out[0] = in[0];
    out[0].dim[2] = h, out[0].dim[3] = w;
    return AM_OK;
}

/* Output o of out covers inputs [floor(o in / out), ceil((o + 1) in / out)). */
static inline int64_t bin_lo(int64_t o, int64_t in, int64_t out) { return o * in / out; }
static inline int64_t bin_hi(int64_t o, int64_t in, int64_t out)
{
    return ((o + 1) * in + out - 1) / out;
}

typedef struct adaptive_geom {
    int64_t planes, ih, iw, oh, ow;
} adaptive_geom;

#define ADAPTIVE_LOOP(T, BODY)                                                               \
    do {                                                                                     \
        int64_t n = g.planes * g.oh * g.ow;                                                  \
        AM_UNUSED(n);                                                                        \
        _Pragma("omp parallel for if (n > AM_OMP_MIN) schedule(static)")                     \
        for (int64_t p = 0; p < g.planes; p++)                                               \
            for (int64_t r = 0; r < g.oh; r++) {                                             \
                int64_t r0 = bin_lo(r, g.ih, g.oh), r1 = bin_hi(r, g.ih, g.oh);              \
                for (int64_t c = 0; c < g.ow; c++) {                                         \
                    int64_t c0 = bin_lo(c, g.iw, g.ow), c1 = bin_hi(c, g.iw, g.ow);          \
                    double area = (double)((r1 - r0) * (c1 - c0));                           \
                    int64_t o = (p * g.oh + r) * g.ow + c;                                   \
                    BODY;                                                                    \
                }                                                                            \
            }                                                                                \
    } while (0)

static am_status adaptive_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                              int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    bool add = req[0] == AM_REQ_ADD;
    const am_view *x = &in[0];
    adaptive_geom g = {x->dim[0] * x->dim[1], x->dim[2], x->dim[3], out[0].dim[2],
                       out[0].dim[3]};
    if (g.planes * g.oh * g.ow == 0) return AM_OK;
    if (g.ih == 0 || g.iw == 0)
        return am_fail(AM_ERR_SHAPE, "cannot pool an empty plane (%lld, %lld) to (%lld, %lld)",
                       (long long)g.ih, (long long)g.iw, (long long)g.oh, (long long)g.ow);
    AM_FLOAT_SWITCH(x->dtype, T, {
        const T *xd = x->data;
        T *y = out[0].data;
        ADAPTIVE_LOOP(T, {
            const T *xp = xd + p * g.ih * g.iw;
            double s = 0;
            for (int64_t i = r0; i < r1; i++)
                for (int64_t j = c0; j < c1; j++) s += xp[i * g.iw + j];
            y[o] = add ? (T)(y[o] + s / area) : (T)(s / area);
        });
    });
    return AM_OK;
}

/* _backward_contrib_AdaptiveAvgPooling2D: (ograd, data) -> data grad. */
static am_status adaptive_bwd_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                    int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    char b0[96], b1[96];
    am_shape y;
    am_status st = adaptive_shape(attrs, &in[1], 1, &y, 1);
    if (st != AM_OK) return st;
    if (in[0].ndim < 0) in[0] = y;
    if (!same_shape(&in[0], &y))
        return am_fail(AM_ERR_SHAPE, "ograd %s does not match the forward output %s",
                       am_shape_format(&in[0], b0, sizeof(b0)),
                       am_shape_format(&y, b1, sizeof(b1)));
    out[0] = in[1];
    return AM_OK;
}

static am_status adaptive_bwd_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                  const am_view *in, int n_in, const am_view *out, int n_out,
                                  const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    const am_view *x = &in[1];
    adaptive_geom g = {x->dim[0] * x->dim[1], x->dim[2], x->dim[3], in[0].dim[2],
                       in[0].dim[3]};
    if (req[0] != AM_REQ_ADD)
        if (am_view_size(&out[0]) > 0)
            memset(out[0].data, 0, (size_t)am_view_size(&out[0]) * am_dtype_size(out[0].dtype));
    if (g.planes * g.ih * g.iw == 0) return AM_OK;
    AM_FLOAT_SWITCH(x->dtype, T, {
        const T *gy = in[0].data;
        T *gx = out[0].data;
        ADAPTIVE_LOOP(T, {
            T *xp = gx + p * g.ih * g.iw;
            T v = (T)(gy[o] / area);
            for (int64_t i = r0; i < r1; i++)
                for (int64_t j = c0; j < c1; j++) xp[i * g.iw + j] += v;
        });
    });
    return AM_OK;
}

extern const am_op_def am_op_backward_adaptive_avg_pooling_2d;

static am_status adaptive_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                               am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    am_array *args[2] = {og[0], in[0]};
    return am_op_call(&am_op_backward_adaptive_avg_pooling_2d, g->attrs, args, 2, &ig[0], 1,
                      g->at);
}

const am_op_def am_op_adaptive_avg_pooling_2d = {
    .name = "_contrib_AdaptiveAvgPooling2D", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .attrs = adaptive_fields, .attrs_size = sizeof(adaptive_attrs),
    .infer_shape = adaptive_shape, .infer_dtype = am_infer_dtype_float_same, .cpu = adaptive_cpu,
    .gradient = adaptive_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "Average pooling of NCHW data to a given output size; output o averages inputs "
           "[floor(o in / out), ceil((o + 1) in / out))."};

const am_op_def am_op_backward_adaptive_avg_pooling_2d = {
    .name = "_backward_contrib_AdaptiveAvgPooling2D",
    .input_names = (const char *const[]){"ograd", "data", NULL}, .num_outputs = 1,
    .attrs = adaptive_fields, .attrs_size = sizeof(adaptive_attrs),
    .infer_shape = adaptive_bwd_shape, .infer_dtype = am_infer_dtype_float_same,
    .cpu = adaptive_bwd_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Gradient of _contrib_AdaptiveAvgPooling2D from (ograd, data)."};

am_array *am_adaptive_avg_pooling_2d_at(am_array *x, int64_t height, int64_t width, am_site at)
{
    adaptive_attrs a = {.output_size = {.ndim = 2, .v = {height, width}}};
    am_array *y = NULL;
    am_op_call(&am_op_adaptive_avg_pooling_2d, &a, &x, 1, &y, 1, at);
    return y;
}
