/* broadcast_axis (alias broadcast_axes) and broadcast_like: broadcast_to with
 * the target given as axes and sizes, or taken from a second array's shape.
 * Kernels are broadcast_to's strided copy (shape_copy.c). */
#include "shape_impl.h"

static const char *const data_input[] = {"data", NULL};

/* A strided copy of in into out along size-1 axes of in (stride 0 there). */
static am_status expand_cpu(const am_view *in, const am_view *out, am_req req)
{
    am_copy_plan p = {0};
    for (int i = 0; i < out->ndim; i++)
        am_copy_plan_axis(&p, out->dim[i], out->strides[i], in->dim[i] == 1 ? 0 : in->strides[i]);
    return am_copy_run(in, out, &p, 0, req);
}

/* The output gradient summed (keeping axes) over the axes where x was broadcast. */
static am_array *sum_expanded(am_array *og, am_array *x, am_site at)
{
    int axes[AM_MAX_NDIM], n = 0;
    for (int i = 0; i < am_array_ndim(x); i++)
        if (am_array_dim(x, i) != am_array_dim(og, i)) axes[n++] = i;
    return n ? am_sum_at(og, axes, n, true, at) : og;
}

/* ---- broadcast_axis ------------------------------------------------------------------- */

typedef struct broadcast_axis_attrs {
    am_tuple axis, size;
} broadcast_axis_attrs;

static const am_attr_field broadcast_axis_fields[] = {
    AM_ATTR_FIELD(broadcast_axis_attrs, axis, AM_ATTR_TUPLE, "()",
                  "axes to broadcast, each of size 1 in data"),
    AM_ATTR_FIELD(broadcast_axis_attrs, size, AM_ATTR_TUPLE, "()",
                  "the size each of those axes takes"),
    {0}};

static am_status broadcast_axis_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                      int n_out)
{
    AM_UNUSED(n_out);
    const broadcast_axis_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF], b2[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    if (a->axis.ndim != a->size.ndim)
        return am_fail(AM_ERR_ARG, "axis=%s and size=%s must have as many entries",
                       am_fmt_tuple(&a->axis, b0), am_fmt_tuple(&a->size, b1));
    out[0] = in[0];
    for (int i = 0; i < a->axis.ndim; i++) {
        int64_t ax = a->axis.v[i], n = a->size.v[i];
        if (ax < 0 || ax >= in[0].ndim)
            return am_fail(AM_ERR_ARG, "axis=%s: axis %lld is not in [0, %d) for data %s",
                           am_fmt_tuple(&a->axis, b0), (long long)ax, in[0].ndim,
                           am_fmt_shape(&in[0], b1));
        if (in[0].dim[ax] != 1)
            return am_fail(AM_ERR_SHAPE, "data %s has size %lld on axis %lld; only size-1 axes "
                           "broadcast (axis=%s)", am_fmt_shape(&in[0], b1),
                           (long long)in[0].dim[ax], (long long)ax, am_fmt_tuple(&a->axis, b2));
        if (n < 0)
            return am_fail(AM_ERR_ARG, "size=%s has a negative entry", am_fmt_tuple(&a->size, b0));
        out[0].dim[ax] = n;
    }
    return AM_OK;
}

static am_status broadcast_axis_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                    const am_view *in, int n_in, const am_view *out, int n_out,
                                    const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return expand_cpu(&in[0], &out[0], req[0]);
}

static am_status broadcast_axis_grad(const am_grad_ctx *g, am_array *const *in,
                                     am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    ig[0] = sum_expanded(og[0], in[0], g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_broadcast_axis = {
    .name = "broadcast_axis", .aliases = (const char *const[]){"broadcast_axes", NULL},
    .input_names = data_input, .num_outputs = 1, .attrs = broadcast_axis_fields,
    .attrs_size = sizeof(broadcast_axis_attrs), .infer_shape = broadcast_axis_shape,
    .infer_dtype = am_infer_dtype_same, .cpu = broadcast_axis_cpu,
    .gradient = broadcast_axis_grad, .fuse = AM_FUSE_INJECTIVE,
    .doc = "Broadcasts the size-1 axes listed in axis to the sizes in size."};

am_array *am_broadcast_axis_at(am_array *x, const int *axis, const int64_t *size, int n,
                               am_site at)
{
    broadcast_axis_attrs a;
    int64_t ax[AM_MAX_TUPLE];
    if (n < 0 || n > AM_MAX_TUPLE || (n > 0 && (!axis || !size))) {
        am_fail_at("broadcast_axis", at, AM_ERR_ARG, "%d axes given; 0 to %d, with axis and "
                   "size arrays, are supported", n, AM_MAX_TUPLE);
        return NULL;
    }
    for (int i = 0; i < n; i++) ax[i] = axis[i];
    am_tuple_from_i64(ax, n, &a.axis);
    am_tuple_from_i64(size, n, &a.size);
    return am_call1(&am_op_broadcast_axis, &a, x, at);
}

/* ---- broadcast_like ------------------------------------------------------------------- */

typedef struct broadcast_like_attrs {
    am_tuple lhs_axes, rhs_axes;
} broadcast_like_attrs;

static const am_attr_field broadcast_like_fields[] = {
    AM_ATTR_FIELD(broadcast_like_attrs, lhs_axes, AM_ATTR_TUPLE, "None",
                  "axes of lhs to broadcast; None: all, to rhs's shape"),
    AM_ATTR_FIELD(broadcast_like_attrs, rhs_axes, AM_ATTR_TUPLE, "None",
                  "the axes of rhs whose sizes they take"),
    {0}};

/* Without axes: the same number of axes, each of lhs's equal to rhs's or 1. */
static am_status like_whole(const am_shape *l, const am_shape *r, am_shape *out)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    if (l->ndim != r->ndim)
        return am_fail(AM_ERR_SHAPE, "lhs %s and rhs %s have different numbers of axes",
                       am_fmt_shape(l, b0), am_fmt_shape(r, b1));
    for (int i = 0; i < l->ndim; i++)
        if (l->dim[i] != r->dim[i] && l->dim[i] != 1)
            return am_fail(AM_ERR_SHAPE, "lhs %s cannot be broadcast to rhs %s (axis %d)",
                           am_fmt_shape(l, b0), am_fmt_shape(r, b1), i);
    *out = *r;
    return AM_OK;
}

/* Axis k of t (negative from the end) in [0, ndim), or -1. */
static int64_t axis_in(const am_tuple *t, int k, int ndim)
{
    int64_t a = t->v[k] < 0 ? t->v[k] + ndim : t->v[k];
    return a >= 0 && a < ndim ? a : -1;
}

static am_status broadcast_like_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                      int n_out)
{
    AM_UNUSED(n_out);
    const broadcast_like_attrs *a = attrs;
    const am_tuple *la = &a->lhs_axes, *ra = &a->rhs_axes;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    if (la->ndim < 0 || ra->ndim < 0) return like_whole(&in[0], &in[1], &out[0]);
    if (la->ndim != ra->ndim || la->ndim == 0)
        return am_fail(AM_ERR_ARG, "lhs_axes=%s and rhs_axes=%s must have as many entries, "
                       "at least one", am_fmt_tuple(la, b0), am_fmt_tuple(ra, b1));
    out[0] = in[0];
    for (int k = 0; k < la->ndim; k++) {
        int64_t l = axis_in(la, k, in[0].ndim), r = axis_in(ra, k, in[1].ndim);
        if (l < 0 || r < 0)
            return am_fail(AM_ERR_ARG, "%s=%s names no axis of %s %s",
                           l < 0 ? "lhs_axes" : "rhs_axes", am_fmt_tuple(l < 0 ? la : ra, b0),
                           l < 0 ? "lhs" : "rhs", am_fmt_shape(&in[l < 0 ? 0 : 1], b1));
        if (in[0].dim[l] != 1)
            return am_fail(AM_ERR_SHAPE, "lhs %s has size %lld on axis %lld; only size-1 axes "
                           "broadcast", am_fmt_shape(&in[0], b0), (long long)in[0].dim[l],
                           (long long)l);
        out[0].dim[l] = in[1].dim[r];
    }
    return AM_OK;
}

static am_status broadcast_like_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                      int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    out[0] = in[0]; /* rhs lends only its shape, whatever its dtype */
    return AM_OK;
}

static am_status broadcast_like_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                    const am_view *in, int n_in, const am_view *out, int n_out,
                                    const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return expand_cpu(&in[0], &out[0], req[0]);
}

/* lhs: the summed output gradient; rhs, which lends only its shape: zeros (MXNet). */
static am_status broadcast_like_grad(const am_grad_ctx *g, am_array *const *in,
                                     am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (g->need_grad[0] && !(ig[0] = sum_expanded(og[0], in[0], g->at))) return am_last_status();
    if (g->need_grad[1] && !(ig[1] = am_zeros_like_at(in[1], g->at))) return am_last_status();
    return AM_OK;
}

const am_op_def am_op_broadcast_like = {
    .name = "broadcast_like", .input_names = (const char *const[]){"lhs", "rhs", NULL},
    .num_outputs = 1, .attrs = broadcast_like_fields,
    .attrs_size = sizeof(broadcast_like_attrs), .infer_shape = broadcast_like_shape,
    .infer_dtype = broadcast_like_dtype, .cpu = broadcast_like_cpu,
    .gradient = broadcast_like_grad, .fuse = AM_FUSE_INJECTIVE,
    .doc = "Broadcasts lhs to rhs's shape, or its size-1 axes lhs_axes to the sizes of rhs's "
           "axes rhs_axes."};

am_array *am_broadcast_like_at(am_array *lhs, am_array *rhs, am_site at)
{
    broadcast_like_attrs a;
    am_attrs_init(&am_op_broadcast_like, &a);
    am_array *in[2] = {lhs, rhs}, *y = NULL;
    am_op_call(&am_op_broadcast_like, &a, in, 2, &y, 1, at);
    return y;
}
