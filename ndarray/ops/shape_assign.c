/* Slice assignment: _slice_assign (alias _crop_assign) writes rhs into a
 * slice of lhs, _slice_assign_scalar (alias _crop_assign_scalar) a scalar;
 * slices are read as slice's begin/end/step (NumPy's way). */
#include "shape_impl.h"

typedef struct assign_attrs {
    am_tuple begin, end, step;
    double scalar;  /* _slice_assign_scalar only */
} assign_attrs;

#define SLICE_FIELDS                                                                        \
    AM_ATTR_FIELD(assign_attrs, begin, AM_ATTR_TUPLE, NULL, "first index per axis (None: start)"), \
    AM_ATTR_FIELD(assign_attrs, end, AM_ATTR_TUPLE, NULL, "end index per axis (None: end)"),       \
    AM_ATTR_FIELD(assign_attrs, step, AM_ATTR_TUPLE, "()", "step per axis (None: 1)")

static const am_attr_field assign_fields[] = {SLICE_FIELDS, {0}};
static const am_attr_field assign_scalar_fields[] = {
    AM_ATTR_FIELD(assign_attrs, scalar, AM_ATTR_FLOAT, "0", "the value written"),
    SLICE_FIELDS,
    {0}};

/* The slice of s: its first index and step per axis, and its shape. */
typedef struct region {
    int64_t first[AM_MAX_NDIM], step[AM_MAX_NDIM];
    am_shape shape;
} region;

static am_status region_of(const assign_attrs *a, const am_shape *s, region *r)
{
    return am_slice_range(&a->begin, &a->end, &a->step, s, r->first, r->step, &r->shape);
}

static am_status same_shape(const am_shape *a, const am_shape *b, const char *what,
                            const char *of)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    bool same = a->ndim == b->ndim;
    for (int i = 0; same && i < a->ndim; i++) same = a->dim[i] == b->dim[i];
    if (same) return AM_OK;
    return am_fail(AM_ERR_SHAPE, "%s %s does not match %s %s", what, am_fmt_shape(a, b0), of,
                   am_fmt_shape(b, b1));
}

/* ---- _slice_assign ----------------------------------------------------------------------- */

static am_status assign_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_out);
    region r;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = region_of(attrs, &in[0], &r);
    if (st == AM_OK) st = same_shape(&in[1], &r.shape, "rhs", "the slice of lhs");
    if (st == AM_OK) out[0] = in[0];
    return st;
}

static am_status assign_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                              int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (in[1] != in[0])
        return am_fail(AM_ERR_DTYPE, "rhs is %s but lhs is %s",
                       (unsigned)in[1] < AM_DTYPE_COUNT ? am_dtype_name(in[1]) : "unknown",
                       (unsigned)in[0] < AM_DTYPE_COUNT ? am_dtype_name(in[0]) : "unknown");
    out[0] = in[0];
    return AM_OK;
}

/* out = lhs, then the region = rhs (or scalar when rhs is NULL); ADD adds that
 * result. */
static am_status assign_run(const assign_attrs *a, const am_view *lhs, const am_view *rhs,
                            const am_view *out, am_req req)
{
    am_shape s = am_view_shape(lhs);
    region r;
    am_status st = region_of(a, &s, &r);
    if (st != AM_OK || req == AM_REQ_NULL) return st;
    int64_t n = am_view_size(out), m = am_shape_size(&r.shape), ls[AM_MAX_NDIM];
    am_shape_strides(&s, ls);
    bool add = req == AM_REQ_ADD;
    AM_DTYPE_SWITCH(out->dtype, T, {
        const T *l = lhs->data, *x = rhs ? rhs->data : NULL;
        T *y = out->data, v = (T)a->scalar;
        if (add) for (int64_t e = 0; e < n; e++) y[e] += l[e];
        else if (y != l) memcpy(y, l, (size_t)n * sizeof(T));
        int64_t idx[AM_MAX_NDIM] = {0};
        for (int64_t e = 0; e < m; e++) {
            int64_t o = 0;
            for (int i = 0; i < s.ndim; i++) o += (r.first[i] + idx[i] * r.step[i]) * ls[i];
            T w = x ? x[e] : v;
            y[o] = add ? (T)(y[o] - l[o] + w) : w;
            for (int i = s.ndim - 1; i >= 0 && ++idx[i] == r.shape.dim[i]; i--) idx[i] = 0;
        }
    });
    return AM_OK;
}

static am_status assign_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return assign_run(attrs, &in[0], &in[1], &out[0], req[0]);
}

extern const am_op_def am_op_slice_assign_scalar;

/* lhs keeps the gradient outside the region (the region written with 0); rhs reads
 * the region: slice of ograd. */
static am_status assign_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                             am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    const assign_attrs *a = g->attrs;
    if (g->need_grad[0]) {
        assign_attrs z = *a;
        z.scalar = 0;
        if (!(ig[0] = am_call1(&am_op_slice_assign_scalar, &z, og[0], g->at)))
            return am_last_status();
    }
    if (g->n_in > 1 && g->need_grad[1]) {
        char b[AM_SHAPE_BUF], e[AM_SHAPE_BUF], s[AM_SHAPE_BUF];
        const char *keys[] = {"begin", "end", "step"};
        const char *vals[] = {am_fmt_tuple(&a->begin, b), am_fmt_tuple(&a->end, e),
                              am_fmt_tuple(&a->step, s)};
        return am_invoke_at("slice", &og[0], 1, keys, vals, 3, &ig[1], 1, g->at);
    }
    return AM_OK;
}

const am_op_def am_op_slice_assign = {
    .name = "_slice_assign", .aliases = (const char *const[]){"_crop_assign", NULL},
    .input_names = (const char *const[]){"lhs", "rhs", NULL}, .num_outputs = 1,
    .attrs = assign_fields, .attrs_size = sizeof(assign_attrs), .infer_shape = assign_shape,
    .infer_dtype = assign_dtype, .cpu = assign_cpu, .gradient = assign_grad,
    .inplace = (const am_inplace_pair[]){{0, 0}, {-1, -1}}, .fuse = AM_FUSE_OPAQUE,
    .doc = "lhs with its slice begin:end:step replaced by rhs."};

/* ---- _slice_assign_scalar ----------------------------------------------------------------- */

static am_status assign_scalar_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                     int n_out)
{
    AM_UNUSED(n_out);
    region r;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = region_of(attrs, &in[0], &r);
    if (st == AM_OK) out[0] = in[0];
    return st;
}

static am_status assign_scalar_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                   const am_view *in, int n_in, const am_view *out, int n_out,
                                   const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return assign_run(attrs, &in[0], NULL, &out[0], req[0]);
}

const am_op_def am_op_slice_assign_scalar = {
    .name = "_slice_assign_scalar", .aliases = (const char *const[]){"_crop_assign_scalar", NULL},
    .input_names = (const char *const[]){"data", NULL}, .num_outputs = 1,
    .attrs = assign_scalar_fields, .attrs_size = sizeof(assign_attrs),
    .infer_shape = assign_scalar_shape, .infer_dtype = am_infer_dtype_same,
    .cpu = assign_scalar_cpu, .gradient = assign_grad,
    .inplace = (const am_inplace_pair[]){{0, 0}, {-1, -1}}, .fuse = AM_FUSE_OPAQUE,
    .doc = "data with its slice begin:end:step set to scalar."};
