/* _np_cumsum (alias cumsum): running sums along an axis, or over the flattened
 * array, as MXNet 1.9.1's cumsum (which it writes as _np_cumsum) computes them. */
#include "shape_impl.h"

typedef struct cumsum_attrs {
    am_opt_int axis;
    int dtype;
} cumsum_attrs;

static const am_attr_field cumsum_fields[] = {
    AM_ATTR_FIELD(cumsum_attrs, axis, AM_ATTR_OPT_INT, "None",
                  "axis to sum along; None: the flattened array"),
    AM_ATTR_FIELD(cumsum_attrs, dtype, AM_ATTR_DTYPE, "None",
                  "dtype of the result and of the sums; None: a's"),
    {0}};

/* Rows of len elements, trail apart, lead * trail of them. */
static am_status cumsum_rows(const cumsum_attrs *a, const am_shape *s, int64_t *lead,
                             int64_t *len, int64_t *trail)
{
    int axis;
    *lead = *trail = 1;
    if (!a->axis.has) {
        *len = am_shape_size(s);
        return AM_OK;
    }
    am_status st = am_norm_axis(a->axis.v, s->ndim, "axis", &axis);
    if (st != AM_OK) return st;
    am_split3(s, axis, lead, trail);
    *len = s->dim[axis];
    return AM_OK;
}

static am_status cumsum_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_out);
    const cumsum_attrs *a = attrs;
    int64_t lead, len, trail;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = cumsum_rows(a, &in[0], &lead, &len, &trail);
    if (st != AM_OK) return st;
    out[0] = a->axis.has ? in[0] : (am_shape){.ndim = 1, .dim = {len}};
    return AM_OK;
}

static am_status cumsum_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                              int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    int t = ((const cumsum_attrs *)attrs)->dtype;
    if ((unsigned)in[0] >= AM_DTYPE_COUNT)
        return am_fail(AM_ERR_DTYPE, "the dtype of a is unknown");
    out[0] = t < 0 ? in[0] : (am_dtype)t;
    return AM_OK;
}

/* Sums in the result's dtype, as MXNet does. */
static am_status cumsum_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_shape s = am_view_shape(&in[0]);
    int64_t lead, len, trail;
    am_status st = cumsum_rows(attrs, &s, &lead, &len, &trail);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    bool add = req[0] == AM_REQ_ADD;
    const am_view *x = &in[0];
    AM_DTYPE_SWITCH(out->dtype, T, {
        T *y = out->data;
        for (int64_t o = 0; o < lead; o++)
            for (int64_t t = 0; t < trail; t++) {
                T acc = 0;
                for (int64_t j = 0; j < len; j++) {
                    int64_t e = (o * len + j) * trail + t;
                    acc = (T)(acc + (T)am_view_get(x, e));
                    y[e] = add ? (T)(y[e] + acc) : acc;
                }
            }
    });
    return AM_OK;
}

/* The gradient is the running sum from the end: flip, cumsum, flip; back in a's
 * shape and dtype. */
static am_status cumsum_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                             am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    const cumsum_attrs *a = g->attrs;
    if (!g->need_grad[0]) return AM_OK;
    am_site at = g->at;
    int axis = 0;
    if (a->axis.has && !am_axis_norm(a->axis.v, am_array_ndim(in[0]), &axis))
        return am_fail(AM_ERR_ARG, "axis=%lld is out of range", (long long)a->axis.v);
    cumsum_attrs b = {.axis = {true, axis}, .dtype = -1};
    am_array *r = am_reverse_at(og[0], &axis, 1, at);
    r = am_reverse_at(am_call1(g->op, &b, r, at), &axis, 1, at);
    if (!a->axis.has) r = am_reshape_like_at(r, in[0], at);
    if (r && am_array_dtype(r) != am_array_dtype(in[0])) {
        const char *k[] = {"dtype"}, *v[] = {am_dtype_name(am_array_dtype(in[0]))};
        return am_invoke_at("Cast", &r, 1, k, v, 1, &ig[0], 1, at);
    }
    ig[0] = r;
    return r ? AM_OK : am_last_status();
}

const am_op_def am_op_np_cumsum = {
    .name = "_np_cumsum", .aliases = (const char *const[]){"cumsum", NULL},
    .input_names = (const char *const[]){"a", NULL}, .num_outputs = 1, .attrs = cumsum_fields,
    .attrs_size = sizeof(cumsum_attrs), .infer_shape = cumsum_shape,
    .infer_dtype = cumsum_dtype, .cpu = cumsum_cpu, .gradient = cumsum_grad,
    .fuse = AM_FUSE_OPAQUE,
    .doc = "Running sums along axis (None: the flattened array), in dtype (None: a's)."};

am_array *am_cumsum_at(am_array *x, int64_t axis, am_site at)
{
    cumsum_attrs a = {.axis = {axis != AM_NONE, axis == AM_NONE ? 0 : axis}, .dtype = -1};
    return am_call1(&am_op_np_cumsum, &a, x, at);
}
