/* Pad (alias pad) and its gradient _backward_Pad: constant, edge and reflect
 * padding of the spatial axes of 4-D and 5-D float arrays, with MXNet's
 * pad_width (before, after) per axis and its limits (none on the first two
 * axes, reflect pads smaller than the axis). */
#include "shape_impl.h"

enum { PAD_CONSTANT, PAD_EDGE, PAD_REFLECT };
static const char *const pad_modes[] = {"constant", "edge", "reflect", NULL};

typedef struct pad_attrs {
    int mode;
    am_tuple pad_width;
    double constant_value;
} pad_attrs;

static const am_attr_field pad_fields[] = {
    AM_ATTR_ENUM_FIELD(pad_attrs, mode, pad_modes, NULL,
                       "constant_value, the edge value, or the reflection without the edge"),
    AM_ATTR_FIELD(pad_attrs, pad_width, AM_ATTR_TUPLE, NULL,
                  "(before, after) per axis, 2 * ndim entries; the first 4 must be 0"),
    AM_ATTR_FIELD(pad_attrs, constant_value, AM_ATTR_FLOAT, "0", "the value of constant padding"),
    {0}};

/* Checks pad_width against data s and gives the padded shape. */
static am_status pad_check(const pad_attrs *a, const am_shape *s, am_shape *padded)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    const am_tuple *w = &a->pad_width;
    if (s->ndim != 4 && s->ndim != 5)
        return am_fail(AM_ERR_SHAPE, "data %s must be 4-D or 5-D (as in MXNet)",
                       am_fmt_shape(s, b0));
    if (w->ndim != 2 * s->ndim || w->none)
        return am_fail(AM_ERR_ARG, "pad_width=%s must have %d entries, 2 per axis of data %s",
                       am_fmt_tuple(w, b1), 2 * s->ndim, am_fmt_shape(s, b0));
    *padded = *s;
    for (int i = 0; i < s->ndim; i++) {
        int64_t lo = w->v[2 * i], hi = w->v[2 * i + 1];
        if (i < 2 && (lo || hi))
            return am_fail(AM_ERR_ARG, "pad_width=%s pads axis %d; the first two axes (batch "
                           "and channel) cannot be padded", am_fmt_tuple(w, b1), i);
        if (lo < 0 || hi < 0)
            return am_fail(AM_ERR_ARG, "pad_width=%s has a negative entry", am_fmt_tuple(w, b1));
        if (a->mode == PAD_REFLECT && (lo >= s->dim[i] || hi >= s->dim[i]))
            return am_fail(AM_ERR_ARG, "pad_width=%s: reflect padding of axis %d of data %s "
                           "must be smaller than its size", am_fmt_tuple(w, b1), i,
                           am_fmt_shape(s, b0));
        if (a->mode == PAD_EDGE && s->dim[i] == 0 && (lo || hi))
            return am_fail(AM_ERR_ARG, "edge padding of axis %d of data %s has no edge", i,
                           am_fmt_shape(s, b0));
        padded->dim[i] = s->dim[i] + lo + hi;
    }
    return AM_OK;
}

/* The data index that padded index o of an axis of n (lo before) reads; -1: the constant. */
static inline int64_t pad_source(int mode, int64_t o, int64_t lo, int64_t n)
{
    int64_t i = o - lo;
    if (i >= 0 && i < n) return i;
    if (mode == PAD_CONSTANT) return -1;
    if (mode == PAD_EDGE) return i < 0 ? 0 : n - 1;
    return i < 0 ? -i : 2 * (n - 1) - i;
}

/* Element offset in data of padded element e, or -1 for the constant. */
static inline int64_t pad_offset(const pad_attrs *a, const am_shape *in, const am_shape *out,
                                 int64_t e)
{
    int64_t off = 0, stride = 1;
    for (int i = in->ndim - 1; i >= 0; i--) {
        int64_t o = e % out->dim[i];
        e /= out->dim[i];
        int64_t s = pad_source(a->mode, o, a->pad_width.v[2 * i], in->dim[i]);
        if (s < 0) return -1;
        off += s * stride;
        stride *= in->dim[i];
    }
    return off;
}

static am_status pad_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_out);
    am_status st = am_need_known(in, n_in);
    return st == AM_OK ? pad_check(attrs, &in[0], &out[0]) : st;
}

static am_status pad_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (!am_dtype_is_float(in[0]))
        return am_fail(AM_ERR_DTYPE, "data is %s; Pad takes floating-point data (as in MXNet)",
                       (unsigned)in[0] < AM_DTYPE_COUNT ? am_dtype_name(in[0]) : "unknown");
    out[0] = in[0];
    return AM_OK;
}

static am_status pad_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                         int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const pad_attrs *a = attrs;
    am_shape s = am_view_shape(&in[0]), ps;
    am_status st = pad_check(a, &s, &ps);
    int64_t n = am_view_size(out);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    bool add = req[0] == AM_REQ_ADD;
    AM_FLOAT_SWITCH(out->dtype, T, {
        const T *x = in[0].data, c = (T)a->constant_value;
        T *y = out->data;
        AM_OMP_FOR_N
        for (int64_t e = 0; e < n; e++) {
            int64_t src = pad_offset(a, &s, &ps, e);
            T v = src < 0 ? c : x[src];
            y[e] = add ? y[e] + v : v;
        }
    });
    return AM_OK;
}

/* _backward_Pad's attributes: the forward ones (constant_value unused). */
extern const am_op_def am_op_backward_pad;

static am_status pad_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                          am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    ig[0] = am_call1(&am_op_backward_pad, g->attrs, og[0], g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_pad = {
    .name = "Pad", .aliases = (const char *const[]){"pad", NULL},
    .input_names = (const char *const[]){"data", NULL}, .num_outputs = 1, .attrs = pad_fields,
    .attrs_size = sizeof(pad_attrs), .infer_shape = pad_shape, .infer_dtype = pad_dtype,
    .cpu = pad_cpu, .gradient = pad_grad, .fuse = AM_FUSE_INJECTIVE,
    .doc = "Pads the spatial axes of 4-D or 5-D data: constant, edge or reflect."};

am_array *am_pad_at(am_array *x, const char *mode, const int64_t *pad_width, int n,
                    double constant_value, am_site at)
{
    pad_attrs a = {.constant_value = constant_value, .mode = -1};
    for (int i = 0; mode && pad_modes[i]; i++)
        if (strcmp(mode, pad_modes[i]) == 0) a.mode = i;
    if (a.mode < 0) {
        am_fail_at("Pad", at, AM_ERR_ARG, "mode '%s' is not constant, edge or reflect",
                   mode ? mode : "(null)");
        return NULL;
    }
    if (n < 0 || n > AM_MAX_TUPLE || (n > 0 && !pad_width)) {
        am_fail_at("Pad", at, AM_ERR_ARG, "pad_width must hold n (%d) entries, at most %d", n,
                   AM_MAX_TUPLE);
        return NULL;
    }
    am_tuple_from_i64(pad_width, n, &a.pad_width);
    return am_call1(&am_op_pad, &a, x, at);
}

/* ---- _backward_Pad ------------------------------------------------------------------------ */

/* The data shape whose padding is ograd's shape s. */
static am_status unpadded(const pad_attrs *a, const am_shape *s, am_shape *data)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_shape back;
    *data = *s;
    if (a->pad_width.ndim != 2 * s->ndim)
        return am_fail(AM_ERR_ARG, "pad_width=%s must have %d entries, 2 per axis of ograd %s",
                       am_fmt_tuple(&a->pad_width, b1), 2 * s->ndim, am_fmt_shape(s, b0));
    for (int i = 0; i < s->ndim; i++) {
        data->dim[i] = s->dim[i] - a->pad_width.v[2 * i] - a->pad_width.v[2 * i + 1];
        if (data->dim[i] < 0)
            return am_fail(AM_ERR_SHAPE, "ograd %s is smaller than pad_width=%s",
                           am_fmt_shape(s, b0), am_fmt_tuple(&a->pad_width, b1));
    }
    return pad_check(a, data, &back);
}

static am_status backward_pad_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                    int n_out)
{
    AM_UNUSED(n_out);
    am_status st = am_need_known(in, n_in);
    return st == AM_OK ? unpadded(attrs, &in[0], &out[0]) : st;
}

/* Each padded element adds its gradient to the element it read; planes (the
 * first two axes) never share elements, so they run in parallel. */
static am_status backward_pad_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                  const am_view *in, int n_in, const am_view *out, int n_out,
                                  const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const pad_attrs *a = attrs;
    am_shape ps = am_view_shape(&in[0]), s;
    am_status st = unpadded(a, &ps, &s);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    if (req[0] != AM_REQ_ADD)
        memset(out->data, 0, (size_t)am_view_size(out) * am_dtype_size(out->dtype));
    int64_t planes = ps.dim[0] * ps.dim[1], n = am_view_size(&in[0]);
    int64_t per = planes ? n / planes : 0;
    AM_FLOAT_SWITCH(out->dtype, T, {
        const T *g = in[0].data;
        T *y = out->data;
        _Pragma("omp parallel for if (n > AM_OMP_MIN) schedule(static)")
        for (int64_t p = 0; p < planes; p++)
            for (int64_t e = p * per; e < (p + 1) * per; e++) {
                int64_t src = pad_offset(a, &s, &ps, e);
                if (src >= 0) y[src] += g[e];
            }
    });
    return AM_OK;
}

/* Linear in ograd: its gradient is Pad with constant 0. */
static am_status backward_pad_grad(const am_grad_ctx *g, am_array *const *in,
                                   am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    pad_attrs a = *(const pad_attrs *)g->attrs;
    a.constant_value = 0;
    ig[0] = am_call1(&am_op_pad, &a, og[0], g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_backward_pad = {
    .name = "_backward_Pad", .input_names = (const char *const[]){"ograd", NULL},
    .num_outputs = 1, .attrs = pad_fields, .attrs_size = sizeof(pad_attrs),
    .infer_shape = backward_pad_shape, .infer_dtype = pad_dtype, .cpu = backward_pad_cpu,
    .gradient = backward_pad_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "Gradient of Pad: each element of ograd added to the data element it was read "
           "from."};
