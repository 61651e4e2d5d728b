/* Reductions that skip NaN, nansum and nanprod (NaN counts as 0 and 1), and
 * argmax_channel (argmax over axis 1, in data's dtype). */
#include "shape_impl.h"

#include <math.h>

static const char *const data_input[] = {"data", NULL};

/* ---- nansum, nanprod ---------------------------------------------------------------- */

typedef struct nan_attrs {
    am_tuple axis;
    bool keepdims, exclude;
} nan_attrs;

static const am_attr_field nan_fields[] = {
    AM_ATTR_FIELD(nan_attrs, axis, AM_ATTR_TUPLE, "None",
                  "axes to reduce (an int or a tuple); None or () reduces all"),
    AM_ATTR_FIELD(nan_attrs, keepdims, AM_ATTR_BOOL, "False", "keep reduced axes as size 1"),
    AM_ATTR_FIELD(nan_attrs, exclude, AM_ATTR_BOOL, "False", "reduce the axes not listed"),
    {0}};

/* red[i]: axis i is reduced (MXNet 1.x: None and () reduce every axis). */
static am_status nan_axes(const nan_attrs *a, const am_shape *s, bool *red)
{
    char buf[AM_SHAPE_BUF];
    bool listed[AM_MAX_NDIM] = {false};
    for (int i = 0; i < s->ndim; i++) red[i] = true;
    if (a->axis.ndim <= 0) return AM_OK;
    for (int k = 0; k < a->axis.ndim; k++) {
        int ax;
        if (a->axis.none & (1u << k)) return am_fail(AM_ERR_ARG, "axis entry %d is None", k);
        am_status st = am_norm_axis(a->axis.v[k], s->ndim, "axis", &ax);
        if (st != AM_OK) return st;
        if (listed[ax])
            return am_fail(AM_ERR_ARG, "axis %d is listed twice (data %s)", ax,
                           am_fmt_shape(s, buf));
        listed[ax] = true;
    }
    for (int i = 0; i < s->ndim; i++) red[i] = listed[i] != a->exclude;
    return AM_OK;
}

/* The result with reduced axes kept as 1, and as the op returns it. */
static am_status nan_shapes(const nan_attrs *a, const am_shape *s, am_shape *kept,
                            am_shape *out)
{
    bool red[AM_MAX_NDIM];
    am_status st = nan_axes(a, s, red);
    if (st != AM_OK) return st;
    *kept = *s;
    out->ndim = 0;
    for (int i = 0; i < s->ndim; i++) {
        if (red[i]) kept->dim[i] = 1;
        if (!red[i] || a->keepdims) out->dim[out->ndim++] = kept->dim[i];
    }
    if (out->ndim == 0 && !a->keepdims) *out = (am_shape){.ndim = 1, .dim = {1}};
    return AM_OK;
}

static am_status nan_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_out);
    am_shape kept;
    am_status st = am_need_known(in, n_in);
    return st == AM_OK ? nan_shapes(attrs, &in[0], &kept, &out[0]) : st;
}

static am_status float_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (!am_dtype_is_float(in[0]))
        return am_fail(AM_ERR_DTYPE, "data is %s; float32 or float64 only",
                       (unsigned)in[0] < AM_DTYPE_COUNT ? am_dtype_name(in[0]) : "unknown");
    out[0] = in[0];
    return AM_OK;
}

/* out (kept shape) = the sum (or product) of the non-NaN elements, in double. */
static am_status nan_reduce(const nan_attrs *a, const am_view *in, const am_view *out,
                            bool prod, am_req req)
{
    am_shape s = am_view_shape(in), kept, o;
    am_status st = nan_shapes(a, &s, &kept, &o);
    if (st != AM_OK || req == AM_REQ_NULL) return st;
    int64_t nout = am_shape_size(&kept), n = am_shape_size(&s), ks[AM_MAX_NDIM];
    am_shape_strides(&kept, ks);
    AM_FLOAT_SWITCH(out->dtype, T, {
        const T *x = in->data;
        T *y = out->data;
        for (int64_t r = 0; r < nout; r++) {
            T v = prod ? (T)1 : (T)0;
            y[r] = req == AM_REQ_ADD ? y[r] + v : v;
        }
        /* products never see ADD: nanprod_cpu reduces into its workspace first */
        for (int64_t e = 0, idx[AM_MAX_NDIM] = {0}; e < n; e++) {
            int64_t r = 0;
            for (int i = 0; i < s.ndim; i++) r += (kept.dim[i] == 1 ? 0 : idx[i]) * ks[i];
            T v = x[e];
            if (!isnan(v)) {
                if (!prod) y[r] += v;
                else if (req != AM_REQ_ADD) y[r] *= v;
            }
            for (int i = s.ndim - 1; i >= 0 && ++idx[i] == s.dim[i]; i--) idx[i] = 0;
        }
    });
    return AM_OK;
}

static am_status nansum_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return nan_reduce(attrs, &in[0], &out[0], false, req[0]);
}

/* Products cannot accumulate in place: ADD reduces into the workspace first. */
static am_status nanprod_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] != AM_REQ_ADD) return nan_reduce(attrs, &in[0], &out[0], true, req[0]);
    am_view tmp = out[0];
    int64_t n = am_view_size(&out[0]);
    if (!ctx->workspace || ctx->workspace_bytes < (size_t)n * am_dtype_size(out->dtype))
        return am_fail(AM_ERR_INTERNAL, "the nanprod workspace is missing or too small");
    tmp.data = ctx->workspace;
    am_status st = nan_reduce(attrs, &in[0], &tmp, true, AM_REQ_WRITE);
    if (st != AM_OK) return st;
    AM_FLOAT_SWITCH(out->dtype, T, {
        const T *t = tmp.data;
        T *y = out->data;
        for (int64_t i = 0; i < n; i++) y[i] += t[i];
    });
    return AM_OK;
}

static size_t nanprod_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(n_in);
    am_shape kept, o;
    if (nan_shapes(attrs, &in[0], &kept, &o) != AM_OK) return 0;
    return (size_t)am_shape_size(&kept) * sizeof(double);
}

/* ograd (and the result) spread back over data's shape. */
static am_array *spread(am_array *y, am_array *x, const nan_attrs *a, am_site at)
{
    am_shape s = am_array_shape(x), kept, o;
    if (nan_shapes(a, &s, &kept, &o) != AM_OK) return NULL;
    if (kept.ndim == 0) return am_reshape_like_at(y, x, at);
    return am_broadcast_like_at(am_reshape_at(y, kept, false, at), x, NULL, NULL, 0, at);
}

/* nansum: ograd where data is a number; nanprod: ograd * result / data there. */
static am_status nan_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                          am_array *const *og, am_array **ig)
{
    const nan_attrs *a = g->attrs;
    if (!g->need_grad[0]) return AM_OK;
    am_site at = g->at;
    am_array *x = in[0], *num = am_broadcast_equal_at(x, x, at), *d = spread(og[0], x, a, at);
    if (g->op->cpu == nanprod_cpu)
        d = am_broadcast_div_at(am_broadcast_mul_at(d, spread(out[0], x, a, at), at), x, at);
    ig[0] = am_where_at(num, d, am_zeros_like_at(x, at), at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_nansum = {
    .name = "nansum", .input_names = data_input, .num_outputs = 1, .attrs = nan_fields,
    .attrs_size = sizeof(nan_attrs), .infer_shape = nan_shape, .infer_dtype = float_dtype,
    .cpu = nansum_cpu, .gradient = nan_grad, .fuse = AM_FUSE_REDUCE,
    .doc = "Sum over axes with NaN counted as 0."};

const am_op_def am_op_nanprod = {
    .name = "nanprod", .input_names = data_input, .num_outputs = 1, .attrs = nan_fields,
    .attrs_size = sizeof(nan_attrs), .infer_shape = nan_shape, .infer_dtype = float_dtype,
    .temp_bytes = nanprod_temp, .cpu = nanprod_cpu, .gradient = nan_grad,
    .fuse = AM_FUSE_REDUCE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "Product over axes with NaN counted as 1."};

static am_array *nan_call(const am_op_def *op, am_array *x, const int *axes, int naxes,
                          bool keepdims, am_site at)
{
    nan_attrs a = {.keepdims = keepdims};
    if (naxes < 0 || naxes > AM_MAX_TUPLE || (naxes > 0 && !axes)) {
        am_fail_at(op->name, at, AM_ERR_ARG, "axes must hold naxes (%d) entries, at most %d",
                   naxes, AM_MAX_TUPLE);
        return NULL;
    }
    a.axis.ndim = axes ? naxes : -1;
    for (int i = 0; i < naxes; i++) a.axis.v[i] = axes[i];
    return am_call1(op, &a, x, at);
}

am_array *am_nansum_at(am_array *x, const int *axes, int naxes, bool keepdims, am_site at)
{
    return nan_call(&am_op_nansum, x, axes, naxes, keepdims, at);
}

am_array *am_nanprod_at(am_array *x, const int *axes, int naxes, bool keepdims, am_site at)
{
    return nan_call(&am_op_nanprod, x, axes, naxes, keepdims, at);
}

/* ---- argmax_channel ---------------------------------------------------------------- */

static am_status argmax_channel_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                      int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    char buf[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    if (in[0].ndim < 2)
        return am_fail(AM_ERR_SHAPE, "data %s has no axis 1 (channels) to search",
                       am_fmt_shape(&in[0], buf));
    out[0] = in[0];
    out[0].ndim--;
    for (int i = 1; i < out[0].ndim; i++) out[0].dim[i] = in[0].dim[i + 1];
    if (in[0].dim[1] == 0 && am_shape_size(&out[0]) > 0)
        return am_fail(AM_ERR_SHAPE, "data %s has no channels to search",
                       am_fmt_shape(&in[0], buf));
    return AM_OK;
}

/* The first largest channel wins, and the first NaN beats all (as in MXNet). */
static am_status argmax_channel_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                    const am_view *in, int n_in, const am_view *out, int n_out,
                                    const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_shape s = am_view_shape(&in[0]);
    int64_t lead, trail, c = s.dim[1];
    if (req[0] == AM_REQ_NULL) return AM_OK;
    am_split3(&s, 1, &lead, &trail);
    bool add = req[0] == AM_REQ_ADD;
    AM_DTYPE_SWITCH(out->dtype, T, {
        const T *x = in[0].data;
        T *y = out->data;
        for (int64_t o = 0; o < lead; o++)
            for (int64_t t = 0; t < trail; t++) {
                const T *r = x + o * c * trail + t;
                int64_t best = 0;
                for (int64_t j = 1; j < c && r[best * trail] == r[best * trail]; j++)
                    if (r[j * trail] > r[best * trail] || r[j * trail] != r[j * trail]) best = j;
                T v = (T)best;
                y[o * trail + t] = add ? y[o * trail + t] + v : v;
            }
    });
    return AM_OK;
}

const am_op_def am_op_argmax_channel = {
    .name = "argmax_channel", .input_names = data_input, .num_outputs = 1,
    .infer_shape = argmax_channel_shape, .infer_dtype = am_infer_dtype_same,
    .cpu = argmax_channel_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Index of the largest element along axis 1, in data's dtype (the first of ties; "
           "the first NaN wins)."};

am_array *am_argmax_channel_at(am_array *x, am_site at)
{
    return am_call1(&am_op_argmax_channel, NULL, x, at);
}
