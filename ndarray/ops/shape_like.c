/* Shape ops that take their target from attributes or a second array:
 * broadcast_like, broadcast_axis (alias broadcast_axes) and slice_like.  Kernels
 * are strided copies (shape_copy.c); the like inputs give no gradient. */
#include "shape_impl.h"

/* Broadcasts x (size-1 axes, stride 0) into out; shapes agree elsewhere. */
static am_status broadcast_copy(const am_view *x, const am_view *out, am_req req)
{
    am_copy_plan p = {0};
    if (am_view_size(out) == 0) return AM_OK;
    for (int i = 0; i < out->ndim; i++)
        am_copy_plan_axis(&p, out->dim[i], out->strides[i], x->dim[i] == 1 ? 0 : x->strides[i]);
    return am_copy_run(x, out, &p, 0, req);
}

/* The gradient of a broadcast: ograd summed over the axes that grew, kept as 1. */
static am_array *unbroadcast(am_array *og, am_array *x, am_site at)
{
    int axes[AM_MAX_NDIM], n = 0;
    for (int i = 0; i < am_array_ndim(x); i++)
        if (am_array_dim(x, i) != am_array_dim(og, i)) axes[n++] = i;
    return n ? am_sum_at(og, axes, n, true, at) : og;
}

/* data (1 on an axis) grows to size there; AM_ERR_SHAPE naming the axis otherwise. */
static am_status grow_axis(am_shape *s, int axis, int64_t size, const am_shape *data,
                           const char *what)
{
    char buf[AM_SHAPE_BUF];
    if (size < 0)
        return am_fail(AM_ERR_ARG, "%s gives axis %d the negative size %lld", what, axis,
                       (long long)size);
    if (data->dim[axis] != 1 && data->dim[axis] != size)
        return am_fail(AM_ERR_SHAPE, "cannot broadcast axis %d of size %lld of %s to %lld "
                       "(%s): only size-1 axes broadcast", axis, (long long)data->dim[axis],
                       am_fmt_shape(data, buf), (long long)size, what);
    s->dim[axis] = size;
    return AM_OK;
}

/* ---- broadcast_like ---------------------------------------------------------------------- */

typedef struct broadcast_like_attrs {
    am_tuple lhs_axes, rhs_axes;
} broadcast_like_attrs;

static const am_attr_field broadcast_like_fields[] = {
    AM_ATTR_FIELD(broadcast_like_attrs, lhs_axes, AM_ATTR_TUPLE, "None",
                  "axes of lhs to broadcast; None: every axis, to rhs's shape"),
    AM_ATTR_FIELD(broadcast_like_attrs, rhs_axes, AM_ATTR_TUPLE, "None",
                  "axes of rhs whose sizes lhs_axes take"),
    {0}};

static am_status broadcast_like_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                      int n_out)
{
    AM_UNUSED(n_out);
    const broadcast_like_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    out[0] = in[0];
    if (a->lhs_axes.ndim <= 0 && a->rhs_axes.ndim <= 0) {
        if (in[0].ndim != in[1].ndim)
            return am_fail(AM_ERR_SHAPE, "lhs %s cannot be broadcast like rhs %s: the number "
                           "of dimensions differs", am_fmt_shape(&in[0], b0),
                           am_fmt_shape(&in[1], b1));
        for (int i = 0; i < in[0].ndim && st == AM_OK; i++)
            st = grow_axis(&out[0], i, in[1].dim[i], &in[0], "rhs");
        return st;
    }
    if (a->lhs_axes.ndim != a->rhs_axes.ndim || a->lhs_axes.none || a->rhs_axes.none)
        return am_fail(AM_ERR_ARG, "lhs_axes=%s and rhs_axes=%s must list as many axes",
                       am_fmt_tuple(&a->lhs_axes, b0), am_fmt_tuple(&a->rhs_axes, b1));
    for (int k = 0; k < a->lhs_axes.ndim && st == AM_OK; k++) {
        int l, r;
        st = am_norm_axis(a->lhs_axes.v[k], in[0].ndim, "lhs_axes entry", &l);
        if (st == AM_OK) st = am_norm_axis(a->rhs_axes.v[k], in[1].ndim, "rhs_axes entry", &r);
        if (st == AM_OK) st = grow_axis(&out[0], l, in[1].dim[r], &in[0], "rhs_axes");
    }
    return st;
}

static am_status lhs_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    for (int i = 0; i < n_in; i++)
        if ((unsigned)in[i] >= AM_DTYPE_COUNT)
            return am_fail(AM_ERR_DTYPE, "the dtype of input %d is unknown", i);
    out[0] = in[0];
    return AM_OK;
}

static am_status broadcast_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                               int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return req[0] == AM_REQ_NULL ? AM_OK : broadcast_copy(&in[0], &out[0], req[0]);
}

static am_status broadcast_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                                am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    ig[0] = unbroadcast(og[0], in[0], g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_broadcast_like = {
    .name = "broadcast_like", .input_names = (const char *const[]){"lhs", "rhs", NULL},
    .num_outputs = 1, .attrs = broadcast_like_fields,
    .attrs_size = sizeof(broadcast_like_attrs), .infer_shape = broadcast_like_shape,
    .infer_dtype = lhs_dtype, .cpu = broadcast_cpu, .gradient = broadcast_grad,
    .fuse = AM_FUSE_INJECTIVE,
    .doc = "Broadcasts lhs's size-1 axes to rhs's shape, or lhs_axes to the sizes of "
           "rhs_axes."};

am_array *am_broadcast_like_at(am_array *lhs, am_array *rhs, const int *lhs_axes,
                               const int *rhs_axes, int naxes, am_site at)
{
    broadcast_like_attrs a = {.lhs_axes = {.ndim = -1}, .rhs_axes = {.ndim = -1}};
    if (naxes < 0 || naxes > AM_MAX_TUPLE || (naxes > 0 && (!lhs_axes || !rhs_axes))) {
        am_fail_at("broadcast_like", at, AM_ERR_ARG, "lhs_axes and rhs_axes must hold naxes "
                   "(%d) entries, at most %d", naxes, AM_MAX_TUPLE);
        return NULL;
    }
    if (naxes > 0) {
        a.lhs_axes.ndim = a.rhs_axes.ndim = naxes;
        for (int i = 0; i < naxes; i++) a.lhs_axes.v[i] = lhs_axes[i], a.rhs_axes.v[i] = rhs_axes[i];
    }
    am_array *in[2] = {lhs, rhs}, *y = NULL;
    am_op_call(&am_op_broadcast_like, &a, in, 2, &y, 1, at);
    return y;
}

/* ---- broadcast_axis (broadcast_axes) ----------------------------------------------------- */

typedef struct broadcast_axis_attrs {
    am_tuple axis, size;
} broadcast_axis_attrs;

static const am_attr_field broadcast_axis_fields[] = {
    AM_ATTR_FIELD(broadcast_axis_attrs, axis, AM_ATTR_TUPLE, "()", "size-1 axes to broadcast"),
    AM_ATTR_FIELD(broadcast_axis_attrs, size, AM_ATTR_TUPLE, "()", "their new sizes"),
    {0}};

static am_status broadcast_axis_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                      int n_out)
{
    AM_UNUSED(n_out);
    const broadcast_axis_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    int n = a->axis.ndim < 0 ? 0 : a->axis.ndim;
    if (n != (a->size.ndim < 0 ? 0 : a->size.ndim) || a->axis.none || a->size.none)
        return am_fail(AM_ERR_ARG, "axis=%s and size=%s must have the same length",
                       am_fmt_tuple(&a->axis, b0), am_fmt_tuple(&a->size, b1));
    out[0] = in[0];
    for (int k = 0; k < n && st == AM_OK; k++) {
        int ax;
        st = am_norm_axis(a->axis.v[k], in[0].ndim, "axis entry", &ax);
        if (st == AM_OK && in[0].dim[ax] != 1)
            return am_fail(AM_ERR_SHAPE, "axis %d of data %s has size %lld; only size-1 axes "
                           "broadcast", ax, am_fmt_shape(&in[0], b0), (long long)in[0].dim[ax]);
        if (st == AM_OK) st = grow_axis(&out[0], ax, a->size.v[k], &in[0], "size");
    }
    return st;
}

const am_op_def am_op_broadcast_axis = {
    .name = "broadcast_axis", .aliases = (const char *const[]){"broadcast_axes", NULL},
    .input_names = (const char *const[]){"data", NULL}, .num_outputs = 1,
    .attrs = broadcast_axis_fields, .attrs_size = sizeof(broadcast_axis_attrs),
    .infer_shape = broadcast_axis_shape, .infer_dtype = am_infer_dtype_same,
    .cpu = broadcast_cpu, .gradient = broadcast_grad, .fuse = AM_FUSE_INJECTIVE,
    .doc = "Broadcasts the listed size-1 axes to the given sizes."};

am_array *am_broadcast_axis_at(am_array *x, const int *axes, const int64_t *sizes, int naxes,
                               am_site at)
{
    broadcast_axis_attrs a = {0};
    if (naxes < 0 || naxes > AM_MAX_TUPLE || (naxes > 0 && (!axes || !sizes))) {
        am_fail_at("broadcast_axis", at, AM_ERR_ARG, "axes and sizes must hold naxes (%d) "
                   "entries, at most %d", naxes, AM_MAX_TUPLE);
        return NULL;
    }
    a.axis.ndim = a.size.ndim = naxes;
    for (int i = 0; i < naxes; i++) a.axis.v[i] = axes[i], a.size.v[i] = sizes[i];
    return am_call1(&am_op_broadcast_axis, &a, x, at);
}

/* ---- slice_like ------------------------------------------------------------------------- */

typedef struct slice_like_attrs {
    am_tuple axes;
} slice_like_attrs;

static const am_attr_field slice_like_fields[] = {
    AM_ATTR_FIELD(slice_like_attrs, axes, AM_ATTR_TUPLE, "()",
                  "axes to slice to shape_like's sizes; (): every axis"),
    {0}};

static am_status slice_like_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    AM_UNUSED(n_out);
    const am_tuple *axes = &((const slice_like_attrs *)attrs)->axes;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    bool cut[AM_MAX_NDIM] = {false};
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    if (axes->ndim <= 0 && in[0].ndim != in[1].ndim)
        return am_fail(AM_ERR_SHAPE, "data %s and shape_like %s differ in the number of "
                       "dimensions, and axes=() slices all of them", am_fmt_shape(&in[0], b0),
                       am_fmt_shape(&in[1], b1));
    for (int k = 0; k < (axes->ndim <= 0 ? in[0].ndim : axes->ndim); k++) {
        int ax = k;
        if (axes->ndim > 0) {
            if ((st = am_norm_axis(axes->v[k], in[0].ndim, "axes entry", &ax)) != AM_OK)
                return st;
            if (ax >= in[1].ndim)
                return am_fail(AM_ERR_SHAPE, "axis %d is beyond shape_like %s", ax,
                               am_fmt_shape(&in[1], b1));
        }
        cut[ax] = true;
    }
    out[0] = in[0];
    for (int i = 0; i < in[0].ndim; i++) {
        if (!cut[i]) continue;
        if (in[1].dim[i] > in[0].dim[i])
            return am_fail(AM_ERR_SHAPE, "axis %d of shape_like %s is longer than data %s", i,
                           am_fmt_shape(&in[1], b1), am_fmt_shape(&in[0], b0));
        out[0].dim[i] = in[1].dim[i];
    }
    return AM_OK;
}

/* The result is data's leading corner: a copy with data's strides. */
static am_status slice_like_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_copy_plan p = {0};
    if (am_view_size(out) == 0 || req[0] == AM_REQ_NULL) return AM_OK;
    for (int i = 0; i < out->ndim; i++)
        am_copy_plan_axis(&p, out->dim[i], out->strides[i], in[0].strides[i]);
    return am_copy_run(&in[0], out, &p, 0, req[0]);
}

/* The gradient is ograd in the corner of zeros of data's shape: _backward_slice. */
static am_status slice_like_grad(const am_grad_ctx *g, am_array *const *in,
                                 am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    am_shape s = am_array_shape(in[0]), o = am_array_shape(og[0]);
    if (s.ndim == 0) {
        ig[0] = og[0];
        return AM_OK;
    }
    char begin[AM_SHAPE_BUF], end[AM_SHAPE_BUF], shape[AM_SHAPE_BUF];
    am_tuple tb = {.ndim = s.ndim}, te = {.ndim = s.ndim}, ts = {.ndim = s.ndim};
    for (int i = 0; i < s.ndim; i++) te.v[i] = o.dim[i], ts.v[i] = s.dim[i];
    const char *keys[] = {"begin", "end", "shape"};
    const char *vals[] = {am_fmt_tuple(&tb, begin), am_fmt_tuple(&te, end),
                          am_fmt_tuple(&ts, shape)};
    return am_invoke_at("_backward_slice", &og[0], 1, keys, vals, 3, &ig[0], 1, g->at);
}

const am_op_def am_op_slice_like = {
    .name = "slice_like", .input_names = (const char *const[]){"data", "shape_like", NULL},
    .num_outputs = 1, .attrs = slice_like_fields, .attrs_size = sizeof(slice_like_attrs),
    .infer_shape = slice_like_shape, .infer_dtype = lhs_dtype, .cpu = slice_like_cpu,
    .gradient = slice_like_grad, .fuse = AM_FUSE_INJECTIVE,
    .doc = "The leading part of data with shape_like's sizes on the listed axes (all: ())."};

am_array *am_slice_like_at(am_array *x, am_array *like, const int *axes, int naxes, am_site at)
{
    slice_like_attrs a = {0};
    if (naxes < 0 || naxes > AM_MAX_TUPLE || (naxes > 0 && !axes)) {
        am_fail_at("slice_like", at, AM_ERR_ARG, "axes must hold naxes (%d) entries, at most %d",
                   naxes, AM_MAX_TUPLE);
        return NULL;
    }
    a.axes.ndim = naxes;
    for (int i = 0; i < naxes; i++) a.axes.v[i] = axes[i];
    am_array *in[2] = {x, like}, *y = NULL;
    am_op_call(&am_op_slice_like, &a, in, 2, &y, 1, at);
    return y;
}
