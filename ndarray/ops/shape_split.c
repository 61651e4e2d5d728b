/* _split_v2 (what split_v2 writes: parts at given indices or equal sections),
 * and shape_array and size_array (an array's shape and size as int64 data). */
#include "shape_impl.h"

static const char *const data_input[] = {"data", NULL};

/* ---- _split_v2 --------------------------------------------------------------------------- */

#define SPLIT_V2_MAX AM_MAX_OP_IO

typedef struct split_v2_attrs {
    am_tuple indices;
    int64_t axis;
    bool squeeze_axis;
    int64_t sections;
} split_v2_attrs;

static const am_attr_field split_v2_fields[] = {
    AM_ATTR_FIELD(split_v2_attrs, indices, AM_ATTR_TUPLE, NULL,
                  "start of each part along axis (split_v2 writes a leading 0)"),
    AM_ATTR_FIELD(split_v2_attrs, axis, AM_ATTR_INT, "1", "axis to split"),
    AM_ATTR_FIELD(split_v2_attrs, squeeze_axis, AM_ATTR_BOOL, "False",
                  "drop the axis (every part must have size 1 there)"),
    AM_ATTR_FIELD(split_v2_attrs, sections, AM_ATTR_INT, "0",
                  "> 0: that many equal parts, and indices is ignored"),
    {0}};

/* Clamped: bad counts are reported by shape inference. */
static int split_v2_outputs(const void *attrs)
{
    const split_v2_attrs *a = attrs;
    int64_t n = a->sections > 0 ? a->sections : a->indices.ndim;
    return n < 1 ? 1 : n > SPLIT_V2_MAX ? SPLIT_V2_MAX : (int)n;
}

/* The axis and each part's [begin, end) along it. */
static am_status split_v2_parts(const split_v2_attrs *a, const am_shape *s, int *axis,
                                int64_t *begin, int64_t *end, int *n)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = am_norm_axis(a->axis, s->ndim, "axis", axis);
    if (st != AM_OK) return st;
    int64_t d = s->dim[*axis];
    if (a->sections > 0) {
        if (a->sections > SPLIT_V2_MAX || d % a->sections)
            return am_fail(AM_ERR_SHAPE, "cannot split axis %d of data %s into sections=%lld "
                           "equal parts (at most %d)", *axis, am_fmt_shape(s, b0),
                           (long long)a->sections, SPLIT_V2_MAX);
        *n = (int)a->sections;
        for (int i = 0; i < *n; i++) begin[i] = i * (d / *n), end[i] = (i + 1) * (d / *n);
    } else {
        *n = a->indices.ndim;
        if (*n < 1 || a->indices.none)
            return am_fail(AM_ERR_ARG, "indices=%s must list the parts' starts (or give "
                           "sections)", am_fmt_tuple(&a->indices, b1));
        for (int i = 0; i < *n; i++) {
            begin[i] = a->indices.v[i];
            end[i] = i + 1 < *n ? a->indices.v[i + 1] : d;
            if (begin[i] < 0 || begin[i] > end[i] || end[i] > d)
                return am_fail(AM_ERR_ARG, "indices=%s must rise within axis %d of size %lld "
                               "of data %s", am_fmt_tuple(&a->indices, b1), *axis,
                               (long long)d, am_fmt_shape(s, b0));
        }
    }
    for (int i = 0; a->squeeze_axis && i < *n; i++)
        if (end[i] - begin[i] != 1)
            return am_fail(AM_ERR_SHAPE, "squeeze_axis needs parts of size 1, but part %d of "
                           "axis %d of data %s has %lld", i, *axis, am_fmt_shape(s, b0),
                           (long long)(end[i] - begin[i]));
    return AM_OK;
}

static am_status split_v2_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                int n_out)
{
    const split_v2_attrs *a = attrs;
    int64_t begin[SPLIT_V2_MAX], end[SPLIT_V2_MAX];
    int axis, n;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = split_v2_parts(a, &in[0], &axis, begin, end, &n);
    if (st != AM_OK) return st;
    if (n != n_out)
        return am_fail(AM_ERR_ARG, "%d parts, but %d outputs (at most %d)", n, n_out,
                       SPLIT_V2_MAX);
    for (int i = 0; i < n; i++) {
        out[i] = in[0];
        out[i].dim[axis] = end[i] - begin[i];
        if (a->squeeze_axis) {
            for (int k = axis; k + 1 < out[i].ndim; k++) out[i].dim[k] = out[i].dim[k + 1];
            out[i].ndim--;
        }
    }
    return AM_OK;
}

static am_status split_v2_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                              int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in);
    am_shape s = am_view_shape(&in[0]);
    int64_t begin[SPLIT_V2_MAX], end[SPLIT_V2_MAX], lead, trail;
    int axis, n;
    am_status st = split_v2_parts(attrs, &s, &axis, begin, end, &n);
    if (st != AM_OK) return st;
    am_split3(&s, axis, &lead, &trail);
    for (int k = 0; k < n && k < n_out; k++) {
        int64_t mid = end[k] - begin[k];
        am_copy_plan p = {0};
        if (lead * mid * trail == 0) continue;
        am_copy_plan_axis(&p, lead, mid * trail, s.dim[axis] * trail);
        am_copy_plan_axis(&p, mid * trail, 1, 1);
        if ((st = am_copy_run(&in[0], &out[k], &p, begin[k] * trail, req[k])) != AM_OK)
            return st;
    }
    return AM_OK;
}

/* The parts' gradients joined again, with zeros for what no part covers (before
 * the first index).  Missing part gradients arrive as zeros. */
static am_status split_v2_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                               am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    const split_v2_attrs *a = g->attrs;
    am_shape s = am_array_shape(in[0]);
    int64_t begin[SPLIT_V2_MAX], end[SPLIT_V2_MAX];
    int axis, n;
    am_status st = split_v2_parts(a, &s, &axis, begin, end, &n);
    if (st != AM_OK) return st;
    am_array *parts[SPLIT_V2_MAX + 1];
    int k = 0;
    if (begin[0] > 0)
        parts[k++] = am_zeros_like_at(am_slice_axis_at(in[0], axis, 0, begin[0], g->at), g->at);
    for (int i = 0; i < n; i++)
        parts[k++] = a->squeeze_axis ? am_expand_dims_at(og[i], axis, g->at) : og[i];
    ig[0] = k == 1 ? parts[0] : am_concat_at(parts, k, axis, g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_split_v2 = {
    .name = "_split_v2", .input_names = data_input, .num_outputs_of = split_v2_outputs,
    .attrs = split_v2_fields, .attrs_size = sizeof(split_v2_attrs),
    .infer_shape = split_v2_shape, .infer_dtype = am_infer_dtype_same, .cpu = split_v2_cpu,
    .gradient = split_v2_grad, .fuse = AM_FUSE_INJECTIVE,
    .doc = "Parts of data along axis from each index to the next (or sections equal parts)."};

/* ---- shape_array, size_array ----------------------------------------------------------- */

static am_status shape_array_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                   int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) out[0] = (am_shape){.ndim = 1, .dim = {in[0].ndim}};
    return st;
}

static am_status size_array_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) out[0] = (am_shape){.ndim = 1, .dim = {1}};
    return st;
}

static am_status int64_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                             int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    out[0] = AM_DTYPE_INT64;
    return AM_OK;
}

static am_status shape_array_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                 int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t *y = out->data;
    for (int i = 0; req[0] != AM_REQ_NULL && i < in->ndim; i++)
        y[i] = req[0] == AM_REQ_ADD ? y[i] + in->dim[i] : in->dim[i];
    return AM_OK;
}

static am_status size_array_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t *y = out->data, n = am_view_size(in);
    if (req[0] != AM_REQ_NULL) y[0] = req[0] == AM_REQ_ADD ? y[0] + n : n;
    return AM_OK;
}

const am_op_def am_op_shape_array = {
    .name = "shape_array", .input_names = data_input, .num_outputs = 1,
    .infer_shape = shape_array_shape, .infer_dtype = int64_dtype, .cpu = shape_array_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "data's shape as a 1-D int64 array."};

const am_op_def am_op_size_array = {
    .name = "size_array", .input_names = data_input, .num_outputs = 1,
    .infer_shape = size_array_shape, .infer_dtype = int64_dtype, .cpu = size_array_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "data's number of elements as a (1,) int64 array."};

am_array *am_shape_array_at(am_array *x, am_site at)
{
    return am_call1(&am_op_shape_array, NULL, x, at);
}

am_array *am_size_array_at(am_array *x, am_site at)
{
    return am_call1(&am_op_size_array, NULL, x, at);
}
