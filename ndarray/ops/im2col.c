/* im2col and col2im: MXNet 1.x's sliding-block ops over 1, 2 or 3 spatial axes, with
 * Convolution's kernel, stride, dilate and pad.  im2col turns data (N, C, *in) into
 * columns (N, C * prod(kernel), prod(out)), row (c, k...) and column (o...) in row-major
 * order, zero where a tap falls in the padding; col2im is its adjoint, adding each column
 * entry back onto the pixel it was read from.  Each is the other's gradient.  Plain loops:
 * Convolution's banded im2col (conv_tmpl.h) is fused with its GEMM and not reused. */
#include "shape_impl.h"

typedef struct im2col_attrs {
    am_tuple kernel, stride, dilate, pad, output_size;
} im2col_attrs;

#define GEOM_FIELDS                                                                              \
    AM_ATTR_FIELD(im2col_attrs, kernel, AM_ATTR_TUPLE, NULL, "block size: (w,), (h, w) or "      \
                  "(d, h, w)"),                                                                  \
    AM_ATTR_FIELD(im2col_attrs, stride, AM_ATTR_TUPLE, "()", "stride; (): 1 per dimension"),     \
    AM_ATTR_FIELD(im2col_attrs, dilate, AM_ATTR_TUPLE, "()", "dilation; (): 1 per dimension"),   \
    AM_ATTR_FIELD(im2col_attrs, pad, AM_ATTR_TUPLE, "()", "zero padding per side; (): none")

static const am_attr_field im2col_fields[] = {GEOM_FIELDS, {0}};
static const am_attr_field col2im_fields[] = {
    AM_ATTR_FIELD(im2col_attrs, output_size, AM_ATTR_TUPLE, NULL,
                  "spatial size of the image: (w,), (h, w) or (d, h, w)"),
    GEOM_FIELDS, {0}};

/* The geometry over nd spatial axes: image size in, column grid out. */
typedef struct geom {
    int nd;
    int64_t k[3], s[3], d[3], p[3], in[3], out[3];
    int64_t ktaps, opos, ipos; /* prod(k), prod(out), prod(in) */
} geom;

/* Fills g from the attributes and the image's spatial size. */
static am_status geom_make(const im2col_attrs *a, const int64_t *in, geom *g)
{
    char buf[AM_SHAPE_BUF];
    int nd = a->kernel.ndim;
    if (nd < 1 || nd > 3)
        return am_fail(AM_ERR_ARG, "kernel=%s must have 1, 2 or 3 sizes",
                       am_fmt_tuple(&a->kernel, buf));
    const am_tuple *opt[3] = {&a->stride, &a->dilate, &a->pad};
    const char *names[3] = {"stride", "dilate", "pad"};
    for (int i = 0; i < 3; i++)
        if (opt[i]->ndim > 0 && opt[i]->ndim != nd)
            return am_fail(AM_ERR_ARG, "%s=%s must have %d sizes, as kernel does, or none",
                           names[i], am_fmt_tuple(opt[i], buf), nd);
    g->nd = nd, g->ktaps = g->opos = g->ipos = 1;
    for (int i = 0; i < nd; i++) {
        g->k[i] = a->kernel.v[i];
        g->s[i] = a->stride.ndim > 0 ? a->stride.v[i] : 1;
        g->d[i] = a->dilate.ndim > 0 ? a->dilate.v[i] : 1;
        g->p[i] = a->pad.ndim > 0 ? a->pad.v[i] : 0;
        g->in[i] = in[i];
        if (g->k[i] < 1 || g->s[i] < 1 || g->d[i] < 1 || g->p[i] < 0)
            return am_fail(AM_ERR_ARG, "kernel, stride and dilate must be positive and pad not "
                           "negative (axis %d: %lld, %lld, %lld, %lld)", i, (long long)g->k[i],
                           (long long)g->s[i], (long long)g->d[i], (long long)g->p[i]);
        int64_t span = g->d[i] * (g->k[i] - 1) + 1, room = in[i] + 2 * g->p[i];
        if (room < span)
            return am_fail(AM_ERR_SHAPE, "spatial axis %d of size %lld (padded %lld) is smaller "
                           "than the dilated kernel (%lld)", i, (long long)in[i],
                           (long long)room, (long long)span);
        g->out[i] = (room - span) / g->s[i] + 1;
        g->ktaps *= g->k[i], g->opos *= g->out[i], g->ipos *= in[i];
    }
    return AM_OK;
}

static am_status im2col_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_out);
    const im2col_attrs *a = attrs;
    char buf[AM_SHAPE_BUF];
    geom g;
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    if (in[0].ndim != a->kernel.ndim + 2)
        return am_fail(AM_ERR_SHAPE, "data %s must be (N, C) and %d spatial axes, as kernel has",
                       am_fmt_shape(&in[0], buf), a->kernel.ndim);
    if ((st = geom_make(a, in[0].dim + 2, &g)) != AM_OK) return st;
    out[0] = (am_shape){.ndim = 3, .dim = {in[0].dim[0], in[0].dim[1] * g.ktaps, g.opos}};
    return AM_OK;
}

static am_status col2im_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_out);
    const im2col_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    geom g;
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    if (a->output_size.ndim != a->kernel.ndim)
        return am_fail(AM_ERR_ARG, "output_size=%s must have as many sizes as kernel=%s",
                       am_fmt_tuple(&a->output_size, b0), am_fmt_tuple(&a->kernel, b1));
    if ((st = geom_make(a, a->output_size.v, &g)) != AM_OK) return st;
    if (in[0].ndim != 3 || in[0].dim[1] % g.ktaps != 0 || in[0].dim[2] != g.opos)
        return am_fail(AM_ERR_SHAPE, "data %s must be (N, C * %lld, %lld): C times the kernel's "
                       "%lld taps, and the %lld block positions of output_size=%s",
                       am_fmt_shape(&in[0], b0), (long long)g.ktaps, (long long)g.opos,
                       (long long)g.ktaps, (long long)g.opos,
                       am_fmt_tuple(&a->output_size, b1));
    out[0].ndim = 2 + g.nd;
    out[0].dim[0] = in[0].dim[0], out[0].dim[1] = in[0].dim[1] / g.ktaps;
    for (int i = 0; i < g.nd; i++) out[0].dim[2 + i] = a->output_size.v[i];
    return AM_OK;
}

/* Calls body with (row r of c*ktaps + tap, column o, image offset or -1 in padding) for
 * every column entry of one channel plane. */
#define FOR_ENTRIES(g, body)                                                                   \
    for (int64_t tap = 0; tap < (g)->ktaps; tap++) {                                           \
        int64_t kc[3] = {0, 0, 0}, rest = tap;                                                 \
        for (int i = (g)->nd - 1; i >= 0; i--) kc[i] = rest % (g)->k[i], rest /= (g)->k[i];    \
        for (int64_t o = 0; o < (g)->opos; o++) {                                              \
            int64_t oc = o, off = 0;                                                           \
            int64_t oi[3] = {0, 0, 0};                                                         \
            for (int i = (g)->nd - 1; i >= 0; i--) oi[i] = oc % (g)->out[i], oc /= (g)->out[i]; \
            for (int i = 0; i < (g)->nd && off >= 0; i++) {                                    \
                int64_t x = oi[i] * (g)->s[i] - (g)->p[i] + kc[i] * (g)->d[i];                 \
                off = x < 0 || x >= (g)->in[i] ? -1 : off * (g)->in[i] + x;                    \
            }                                                                                  \
            body;                                                                              \
        }                                                                                      \
    }

/* col[n, c*ktaps + tap, o] (op)= img[n, c, pixel], 0 in the padding. */
static am_status im2col_run(const geom *g, const am_view *img, const am_view *col, am_req req)
{
    int64_t planes = img->dim[0] * img->dim[1];
    if (req == AM_REQ_NULL) return AM_OK;
    bool add = req == AM_REQ_ADD;
    AM_DTYPE_SWITCH(col->dtype, T, {
        const T *x = img->data;
        T *y = col->data;
        for (int64_t pl = 0; pl < planes; pl++) {
            const T *src = x + pl * g->ipos;
            T *dst = y + pl * g->ktaps * g->opos;
            FOR_ENTRIES(g, {
                T v = off < 0 ? (T)0 : src[off];
                T *e = dst + tap * g->opos + o;
                if (add) *e += v;
                else *e = v;
            })
        }
    });
    return AM_OK;
}

/* img[n, c, pixel] (op)= the sum of the column entries read from it. */
static am_status col2im_run(const geom *g, const am_view *col, const am_view *img, am_req req)
{
    int64_t planes = img->dim[0] * img->dim[1];
    if (req == AM_REQ_NULL) return AM_OK;
    if (req != AM_REQ_ADD)
        memset(img->data, 0, (size_t)am_view_size(img) * am_dtype_size(img->dtype));
    AM_DTYPE_SWITCH(col->dtype, T, {
        const T *x = col->data;
        T *y = img->data;
        for (int64_t pl = 0; pl < planes; pl++) {
            const T *src = x + pl * g->ktaps * g->opos;
            T *dst = y + pl * g->ipos;
            FOR_ENTRIES(g, {
                if (off >= 0) dst[off] += src[tap * g->opos + o];
            })
        }
    });
    return AM_OK;
}

static am_status im2col_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    geom g;
    am_status st = geom_make(attrs, in[0].dim + 2, &g);
    return st == AM_OK ? im2col_run(&g, &in[0], &out[0], req[0]) : st;
}

static am_status col2im_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    geom g;
    am_status st = geom_make(attrs, out[0].dim + 2, &g);
    return st == AM_OK ? col2im_run(&g, &in[0], &out[0], req[0]) : st;
}

extern const am_op_def am_op_im2col, am_op_col2im;

/* im2col's gradient is col2im onto data's spatial size, and col2im's is im2col. */
static am_status im2col_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                             am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    im2col_attrs a = *(const im2col_attrs *)g->attrs;
    am_shape s = am_array_shape(in[0]);
    am_tuple_from_i64(s.dim + 2, s.ndim - 2, &a.output_size);
    return am_op_call(&am_op_col2im, &a, og, 1, &ig[0], 1, g->at);
}

static am_status col2im_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                             am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    return am_op_call(&am_op_im2col, g->attrs, og, 1, &ig[0], 1, g->at);
}

const am_op_def am_op_im2col = {
    .name = "im2col", .input_names = (const char *const[]){"data", NULL}, .num_outputs = 1,
    .attrs = im2col_fields, .attrs_size = sizeof(im2col_attrs), .infer_shape = im2col_shape,
    .infer_dtype = am_infer_dtype_same, .cpu = im2col_cpu, .gradient = im2col_grad,
    .fuse = AM_FUSE_OPAQUE,
    .doc = "Sliding blocks of data (N, C, *) as columns (N, C * prod(kernel), blocks), with "
           "Convolution's kernel, stride, dilate and pad."};

const am_op_def am_op_col2im = {
    .name = "col2im", .input_names = (const char *const[]){"data", NULL}, .num_outputs = 1,
    .attrs = col2im_fields, .attrs_size = sizeof(im2col_attrs), .infer_shape = col2im_shape,
    .infer_dtype = am_infer_dtype_same, .cpu = col2im_cpu, .gradient = col2im_grad,
    .fuse = AM_FUSE_OPAQUE,
    .doc = "im2col's adjoint: columns (N, C * prod(kernel), blocks) summed back into an image "
           "(N, C, *output_size)."};

/* The attributes from C arrays of nd sizes (stride, dilate, pad may be NULL: defaults). */
static am_status attrs_from(int nd, const int64_t *kernel, const int64_t *stride,
                            const int64_t *dilate, const int64_t *pad, im2col_attrs *a,
                            const char *op, am_site at)
{
    memset(a, 0, sizeof(*a));
    if (nd < 1 || nd > 3 || !kernel)
        return am_fail_at(op, at, AM_ERR_ARG, "nd=%d kernel sizes: 1, 2 or 3 are needed", nd);
    am_tuple_from_i64(kernel, nd, &a->kernel);
    if (stride) am_tuple_from_i64(stride, nd, &a->stride);
    if (dilate) am_tuple_from_i64(dilate, nd, &a->dilate);
    if (pad) am_tuple_from_i64(pad, nd, &a->pad);
    return AM_OK;
}

am_array *am_im2col_at(am_array *data, int nd, const int64_t *kernel, const int64_t *stride,
                       const int64_t *dilate, const int64_t *pad, am_site at)
{
    im2col_attrs a;
    if (attrs_from(nd, kernel, stride, dilate, pad, &a, "im2col", at) != AM_OK) return NULL;
    return am_call1(&am_op_im2col, &a, data, at);
}

am_array *am_col2im_at(am_array *data, int nd, const int64_t *output_size,
                       const int64_t *kernel, const int64_t *stride, const int64_t *dilate,
                       const int64_t *pad, am_site at)
{
    im2col_attrs a;
    if (attrs_from(nd, kernel, stride, dilate, pad, &a, "col2im", at) != AM_OK) return NULL;
    if (!output_size) return am_fail_null("col2im", at, AM_ERR_ARG, "output_size is NULL");
    am_tuple_from_i64(output_size, nd, &a.output_size);
    return am_call1(&am_op_col2im, &a, data, at);
}
