/* Shape ops that select or repeat elements: slice (crop), slice_axis, tile,
 * repeat and broadcast_to.  Kernels are strided copies (shape_copy.c); a slice
 * that is one contiguous block is returned as a view by eager calls. */
#include "shape_impl.h"

static const char *const data_input[] = {"data", NULL};

/* ---- slice, slice_axis ------------------------------------------------------------------- */

/* Per-axis begin, step and output size of a slice. */
typedef struct slice_range {
    int64_t begin[AM_MAX_NDIM], step[AM_MAX_NDIM];
    am_shape out;
} slice_range;

/* Output is a view when it is one contiguous block of the input: leading
 * size-1 axes, then one axis with step 1, then whole axes. */
static bool range_view(const am_shape *in, const slice_range *r, int64_t *offset)
{
    int64_t strides[AM_MAX_NDIM];
    am_shape_strides(in, strides);
    if (am_shape_size(&r->out) == 0) return false;
    int k = 0;
    while (k < in->ndim && r->out.dim[k] == 1) k++;
    if (k < in->ndim && r->step[k] != 1) return false;
    for (int i = k + 1; i < in->ndim; i++)
        if (r->out.dim[i] != in->dim[i] || r->step[i] != 1) return false;
    *offset = 0;
    for (int i = 0; i < in->ndim; i++) *offset += r->begin[i] * strides[i];
    return true;
}

static am_status range_cpu(const am_view *in, const am_view *out, const slice_range *r,
                           am_req req)
{
    am_copy_plan p = {0};
    int64_t offset = 0;
    if (am_view_size(out) == 0) return AM_OK;
    for (int i = 0; i < in->ndim; i++) {
        am_copy_plan_axis(&p, out->dim[i], out->strides[i], in->strides[i] * r->step[i]);
        offset += r->begin[i] * in->strides[i];
    }
    return am_copy_run(in, out, &p, offset, req);
}

typedef struct slice_attrs {
    am_tuple begin, end, step;
} slice_attrs;

static const am_attr_field slice_fields[] = {
    AM_ATTR_FIELD(slice_attrs, begin, AM_ATTR_TUPLE, NULL, "first index per axis (None: start)"),
    AM_ATTR_FIELD(slice_attrs, end, AM_ATTR_TUPLE, NULL, "end index per axis (None: end)"),
    AM_ATTR_FIELD(slice_attrs, step, AM_ATTR_TUPLE, "()", "step per axis (None: 1)"),
    {0}};

static bool has(const am_tuple *t, int i) { return !(t->none & (1u << i)); }

/* One axis of length len, as NumPy (and MXNet's GetIndexRange) read it. */
static void slice_axis_range(const slice_attrs *a, int i, int64_t len, slice_range *r)
{
    int64_t s = a->step.ndim > 0 && has(&a->step, i) ? a->step.v[i] : 1, b = 0, e = 0, n = 0;
    if (len > 0) {
        b = has(&a->begin, i) ? a->begin.v[i] : (s < 0 ? len - 1 : 0);
        e = has(&a->end, i) ? a->end.v[i] : (s < 0 ? -1 : len);
        if (b < 0) b += len;
        if (e < 0 && has(&a->end, i)) e += len;
        if (b < 0 && s > 0) b = 0;
        if (b > len - 1 && s < 0) b = len - 1;
        if (b < 0 || b > len - 1) b = -1;
        if (e < -1) e = -1;
        if (e > len) e = len;
        if (b >= 0 && s > 0 && e > b) n = (e - b - 1) / s + 1;
        if (b >= 0 && s < 0 && e < b) n = (b - e - 1) / (-s) + 1;
    }
    r->begin[i] = n > 0 ? b : 0;
    r->step[i] = s;
    r->out.dim[i] = n;
}

static am_status slice_range_of(const slice_attrs *a, const am_shape *in, slice_range *r)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    int nb = a->begin.ndim;
    if (in->ndim < 1) return am_fail(AM_ERR_SHAPE, "data must have at least one dimension");
    if (nb < 0 || nb != a->end.ndim)
        return am_fail(AM_ERR_ARG, "begin=%s and end=%s must have the same length",
                       am_fmt_tuple(&a->begin, b0), am_fmt_tuple(&a->end, b1));
    if (nb > in->ndim)
        return am_fail(AM_ERR_ARG, "begin=%s has more entries than data %s has dimensions",
                       am_fmt_tuple(&a->begin, b0), am_fmt_shape(in, b1));
    if (a->step.ndim > 0 && a->step.ndim != nb)
        return am_fail(AM_ERR_ARG, "step=%s and begin=%s must have the same length",
                       am_fmt_tuple(&a->step, b0), am_fmt_tuple(&a->begin, b1));
    r->out = *in;
    for (int i = 0; i < in->ndim; i++) {
        if (i >= nb) {
            r->begin[i] = 0, r->step[i] = 1;
            continue;
        }
        if (a->step.ndim > 0 && has(&a->step, i) && a->step.v[i] == 0)
            return am_fail(AM_ERR_ARG, "step=%s has a zero step", am_fmt_tuple(&a->step, b0));
        slice_axis_range(a, i, in->dim[i], r);
    }
    return AM_OK;
}

static am_status slice_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                             int n_out)
{
    AM_UNUSED(n_out);
    slice_range r;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = slice_range_of(attrs, &in[0], &r);
    if (st == AM_OK) out[0] = r.out;
    return st;
}

static bool slice_view(const void *attrs, const am_shape *in, int64_t *offset)
{
    slice_range r;
    return slice_range_of(attrs, in, &r) == AM_OK && range_view(in, &r, offset);
}

static am_status slice_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    slice_range r;
    am_shape s = am_view_shape(in);
    am_status st = slice_range_of(attrs, &s, &r);
    return st == AM_OK ? range_cpu(in, out, &r, req[0]) : st;
}

/* _backward_slice's attributes: the forward slice's, and its data's shape. */
typedef struct backward_slice_attrs {
    slice_attrs s;
    am_tuple shape;
} backward_slice_attrs;

extern const am_op_def am_op_backward_slice;

static am_status slice_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                            am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    backward_slice_attrs b = {.s = *(const slice_attrs *)g->attrs};
    am_shape s = am_array_shape(in[0]);
    am_tuple_from_i64(s.dim, s.ndim, &b.shape);
    ig[0] = am_call1(&am_op_backward_slice, &b, og[0], g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_slice = {
    .name = "slice", .aliases = (const char *const[]){"crop", NULL},
    .input_names = data_input, .num_outputs = 1, .attrs = slice_fields,
    .attrs_size = sizeof(slice_attrs), .infer_shape = slice_shape,
    .infer_dtype = am_infer_dtype_same, .view = slice_view, .cpu = slice_cpu,
    .gradient = slice_grad, .fuse = AM_FUSE_INJECTIVE,
    .doc = "data[begin:end:step] per leading axis, as NumPy; eager calls return a view "
           "when the result is one contiguous block (a step-1 range of the first axis)."};

am_array *am_slice_at(am_array *x, const int64_t *begin, const int64_t *end,
                      const int64_t *step, int n, am_site at)
{
    slice_attrs a;
    if (n < 0 || n > AM_MAX_TUPLE || (n > 0 && (!begin || !end))) {
        am_fail_at("slice", at, AM_ERR_ARG, "begin and end must hold n (%d) entries, at most %d",
                   n, AM_MAX_TUPLE);
        return NULL;
    }
    am_tuple_from_i64(begin, n, &a.begin);
    am_tuple_from_i64(end, n, &a.end);
    am_tuple_from_i64(step, step ? n : 0, &a.step);
    return am_call1(&am_op_slice, &a, x, at);
}

/* ---- _backward_slice ---------------------------------------------------------------------- */

static const am_attr_field backward_slice_fields[] = {
    {"begin", AM_ATTR_TUPLE, offsetof(backward_slice_attrs, s.begin), NULL, NULL,
     "the forward slice's begin"},
    {"end", AM_ATTR_TUPLE, offsetof(backward_slice_attrs, s.end), NULL, NULL,
     "the forward slice's end"},
    {"step", AM_ATTR_TUPLE, offsetof(backward_slice_attrs, s.step), "()", NULL,
     "the forward slice's step"},
    {"shape", AM_ATTR_TUPLE, offsetof(backward_slice_attrs, shape), NULL, NULL,
     "shape of the forward slice's data, and of the result"},
    {0}};

static am_status backward_slice_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                      int n_out)
{
    AM_UNUSED(n_out);
    const backward_slice_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF], b2[AM_SHAPE_BUF];
    am_shape data;
    slice_range r;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = am_shape_of_tuple(&a->shape, &data);
    if (st == AM_OK) st = slice_range_of(&a->s, &data, &r);
    if (st != AM_OK) return st;
    bool same = in[0].ndim == r.out.ndim;
    for (int i = 0; same && i < r.out.ndim; i++) same = in[0].dim[i] == r.out.dim[i];
    if (!same)
        return am_fail(AM_ERR_SHAPE, "ograd %s is not the shape %s of the slice of shape=%s",
                       am_fmt_shape(&in[0], b0), am_fmt_shape(&r.out, b1),
                       am_fmt_tuple(&a->shape, b2));
    out[0] = data;
    return AM_OK;
}

/* Zeroes the result (unless adding), then copies ograd into the sliced positions. */
static am_status backward_slice_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                    const am_view *in, int n_in, const am_view *out, int n_out,
                                    const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const backward_slice_attrs *a = attrs;
    am_shape s = am_view_shape(out);
    slice_range r;
    am_status st = slice_range_of(&a->s, &s, &r);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    size_t esize = am_dtype_size(out->dtype);
    if (req[0] != AM_REQ_ADD) memset(out->data, 0, (size_t)am_view_size(out) * esize);
    if (am_view_size(&in[0]) == 0) return AM_OK;
    am_copy_plan p = {0};
    int64_t offset = 0;
    for (int i = 0; i < out->ndim; i++) {
        am_copy_plan_axis(&p, in[0].dim[i], out->strides[i] * r.step[i], in[0].strides[i]);
        offset += r.begin[i] * out->strides[i];
    }
    char *dst = (char *)out->data + (size_t)offset * esize;
    return am_strided_copy(dst, in[0].data, &p, out->dtype,
                           req[0] == AM_REQ_ADD ? AM_REQ_ADD : AM_REQ_WRITE);
}

/* Linear in ograd: its gradient is the forward slice. */
static am_status backward_slice_grad(const am_grad_ctx *g, am_array *const *in,
                                     am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(in), AM_UNUSED(out);
    const backward_slice_attrs *a = g->attrs;
    ig[0] = am_call1(&am_op_slice, &a->s, og[0], g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_backward_slice = {
    .name = "_backward_slice", .input_names = (const char *const[]){"ograd", NULL},
    .num_outputs = 1, .attrs = backward_slice_fields, .attrs_size = sizeof(backward_slice_attrs),
    .infer_shape = backward_slice_shape, .infer_dtype = am_infer_dtype_same,
    .cpu = backward_slice_cpu, .gradient = backward_slice_grad, .fuse = AM_FUSE_INJECTIVE,
    .doc = "Gradient of slice: ograd in the sliced positions of zeros of the given shape."};

typedef struct slice_axis_attrs {
    int64_t axis, begin;
    am_opt_int end;
} slice_axis_attrs;

static const am_attr_field slice_axis_fields[] = {
    AM_ATTR_FIELD(slice_axis_attrs, axis, AM_ATTR_INT, NULL, "axis to slice"),
    AM_ATTR_FIELD(slice_axis_attrs, begin, AM_ATTR_INT, NULL, "first index (negative: from end)"),
    AM_ATTR_FIELD(slice_axis_attrs, end, AM_ATTR_OPT_INT, NULL,
                  "end index (negative: from end; None: the end)"),
    {0}};

/* MXNet's rules: begin must come before end, and end may not pass the axis. */
static am_status slice_axis_range_of(const slice_axis_attrs *a, const am_shape *in,
                                     slice_range *r)
{
    int axis;
    am_status st = am_norm_axis(a->axis, in->ndim, "axis", &axis);
    if (st != AM_OK) return st;
    int64_t len = in->dim[axis], b = a->begin, e = a->end.has ? a->end.v : len;
    if (b < 0) b += len;
    if (e < 0) e += len;
    char end[32] = "None";
    if (a->end.has) snprintf(end, sizeof(end), "%lld", (long long)a->end.v);
    if (len == 0) b = e = 0;
    else if (b < 0 || e > len || b >= e)
        return am_fail(AM_ERR_ARG, "begin=%lld, end=%s is not a non-empty range of axis %d "
                       "of size %lld", (long long)a->begin, end, axis, (long long)len);
    r->out = *in;
    for (int i = 0; i < in->ndim; i++) r->begin[i] = 0, r->step[i] = 1;
    r->begin[axis] = b;
    r->out.dim[axis] = e - b;
    return AM_OK;
}

static am_status slice_axis_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    AM_UNUSED(n_out);
    slice_range r;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = slice_axis_range_of(attrs, &in[0], &r);
    if (st == AM_OK) out[0] = r.out;
    return st;
}

static bool slice_axis_view(const void *attrs, const am_shape *in, int64_t *offset)
{
    slice_range r;
    return slice_axis_range_of(attrs, in, &r) == AM_OK && range_view(in, &r, offset);
}

static am_status slice_axis_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    slice_range r;
    am_shape s = am_view_shape(in);
    am_status st = slice_axis_range_of(attrs, &s, &r);
    return st == AM_OK ? range_cpu(in, out, &r, req[0]) : st;
}

/* The range as a slice of the leading axis + 1 axes, then as slice's gradient. */
static am_status slice_axis_grad(const am_grad_ctx *g, am_array *const *in,
                                 am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    am_shape s = am_array_shape(in[0]);
    slice_range r;
    int axis;
    am_status st = slice_axis_range_of(g->attrs, &s, &r);
    if (st == AM_OK) st = am_norm_axis(((const slice_axis_attrs *)g->attrs)->axis, s.ndim,
                                       "axis", &axis);
    if (st != AM_OK) return st;
    int64_t begin[AM_MAX_NDIM], end[AM_MAX_NDIM];
    for (int i = 0; i < axis; i++) begin[i] = end[i] = AM_NONE;
    begin[axis] = r.begin[axis], end[axis] = r.begin[axis] + r.out.dim[axis];
    backward_slice_attrs b;
    am_tuple_from_i64(begin, axis + 1, &b.s.begin);
    am_tuple_from_i64(end, axis + 1, &b.s.end);
    am_tuple_from_i64(NULL, 0, &b.s.step);
    am_tuple_from_i64(s.dim, s.ndim, &b.shape);
    ig[0] = am_call1(&am_op_backward_slice, &b, og[0], g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_slice_axis = {
    .name = "slice_axis", .input_names = data_input, .num_outputs = 1,
    .attrs = slice_axis_fields, .attrs_size = sizeof(slice_axis_attrs),
    .infer_shape = slice_axis_shape, .infer_dtype = am_infer_dtype_same,
    .view = slice_axis_view, .cpu = slice_axis_cpu, .gradient = slice_axis_grad,
    .fuse = AM_FUSE_INJECTIVE,
    .doc = "data[begin:end] along one axis; eager calls return a view when the result is "
           "one contiguous block (always for axis 0)."};

am_array *am_slice_axis_at(am_array *x, int axis, int64_t begin, int64_t end, am_site at)
{
    slice_axis_attrs a = {.axis = axis, .begin = begin, .end = {end != AM_NONE, end}};
    return am_call1(&am_op_slice_axis, &a, x, at);
}

/* ---- tile, repeat, broadcast_to --------------------------------------------------------- */

typedef struct tile_attrs {
    am_tuple reps;
} tile_attrs;

static const am_attr_field tile_fields[] = {
    AM_ATTR_FIELD(tile_attrs, reps, AM_ATTR_TUPLE, NULL,
                  "repetitions per axis, aligned to the last axes"),
    {0}};

/* Input and repetition per output axis, both aligned to the last axis. */
static am_status tile_layout(const tile_attrs *a, const am_shape *in, am_shape *din,
                             int64_t *reps)
{
    char buf[AM_SHAPE_BUF];
    int nr = a->reps.ndim > 0 ? a->reps.ndim : 0, nd = in->ndim > nr ? in->ndim : nr;
    am_status st = am_check_ndim(nd);
    if (st != AM_OK) return st;
    din->ndim = nd;
    for (int i = 0; i < nd; i++) {
        int ii = i - (nd - in->ndim), ir = i - (nd - nr);
        din->dim[i] = ii >= 0 ? in->dim[ii] : 1;
        reps[i] = ir >= 0 ? a->reps.v[ir] : 1;
        if (reps[i] < 0)
            return am_fail(AM_ERR_ARG, "reps=%s has a negative entry", am_fmt_tuple(&a->reps, buf));
    }
    return AM_OK;
}

static am_status tile_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                            int n_out)
{
    AM_UNUSED(n_out);
    am_shape din;
    int64_t reps[AM_MAX_TUPLE];
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = tile_layout(attrs, &in[0], &din, reps);
    if (st != AM_OK) return st;
    out[0] = din;
    for (int i = 0; i < din.ndim; i++)
        if (__builtin_mul_overflow(din.dim[i], reps[i], &out[0].dim[i]))
            return am_fail(AM_ERR_SHAPE, "the result of tiling is too large");
    return AM_OK;
}

static am_status tile_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_shape s = am_view_shape(in), din;
    int64_t reps[AM_MAX_TUPLE], istr[AM_MAX_NDIM];
    am_status st = tile_layout(attrs, &s, &din, reps);
    if (st != AM_OK) return st;
    am_shape_strides(&din, istr);
    am_copy_plan p = {0};
    for (int i = 0; i < din.ndim; i++) {
        am_copy_plan_axis(&p, reps[i], din.dim[i] * out->strides[i], 0);
        am_copy_plan_axis(&p, din.dim[i], out->strides[i], istr[i]);
    }
    return am_copy_run(in, out, &p, 0, req[0]);
}

/* t read as (p, a, b, s), summed over axis k (1 or 2): how tile and repeat fold the
 * copies of each element back together. */
static am_array *sum_split(am_array *t, int64_t p, int64_t a, int64_t b, int64_t s, int k,
                           am_site at)
{
    am_shape four = {.ndim = 4, .dim = {p, a, b, s}};
    return am_sum_at(am_reshape_at(t, four, false, at), &k, 1, false, at);
}

/* d tile(x): the output gradient summed over the copies, one tiled axis at a time (each
 * step reads the gradient as (done, reps, dim, rest), so the rank never exceeds 4). */
static am_status tile_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    am_shape s = am_array_shape(in[0]), din;
    int64_t reps[AM_MAX_TUPLE], done = 1, rest = am_array_size(og[0]);
    am_status st = tile_layout(g->attrs, &s, &din, reps);
    if (st != AM_OK) return st;
    if (am_shape_size(&s) == 0 || rest == 0) {
        ig[0] = am_zeros_like_at(in[0], g->at);
        return ig[0] ? AM_OK : am_last_status();
    }
    am_array *t = og[0];
    for (int i = 0; i < din.ndim; i++) {
        rest /= din.dim[i] * reps[i];
        if (reps[i] > 1) t = sum_split(t, done, reps[i], din.dim[i], rest, 1, g->at);
        done *= din.dim[i];
    }
    ig[0] = am_reshape_like_at(t, in[0], g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_tile = {
    .name = "tile", .input_names = data_input, .num_outputs = 1, .attrs = tile_fields,
    .attrs_size = sizeof(tile_attrs), .infer_shape = tile_shape,
    .infer_dtype = am_infer_dtype_same, .cpu = tile_cpu, .gradient = tile_grad,
    .fuse = AM_FUSE_INJECTIVE,
    .doc = "Repeats the whole array reps times along each axis, as numpy.tile."};

am_array *am_tile_at(am_array *x, const int64_t *reps, int n, am_site at)
{
    tile_attrs a;
    if (n < 0 || n > AM_MAX_TUPLE || (n > 0 && !reps)) {
        am_fail_at("tile", at, AM_ERR_ARG, "reps must hold n (%d) entries, at most %d", n,
                   AM_MAX_TUPLE);
        return NULL;
    }
    am_tuple_from_i64(reps, n, &a.reps);
    return am_call1(&am_op_tile, &a, x, at);
}

typedef struct repeat_attrs {
    int64_t repeats;
    am_opt_int axis;
} repeat_attrs;

static const am_attr_field repeat_fields[] = {
    AM_ATTR_FIELD(repeat_attrs, repeats, AM_ATTR_INT, NULL, "copies of each element"),
    AM_ATTR_FIELD(repeat_attrs, axis, AM_ATTR_OPT_INT, "None",
                  "axis to repeat along; None: the flattened array"),
    {0}};

static am_status repeat_axis(const repeat_attrs *a, const am_shape *in, int *axis)
{
    *axis = -1;
    if (a->repeats < 0)
        return am_fail(AM_ERR_ARG, "repeats=%lld is negative", (long long)a->repeats);
    return a->axis.has ? am_norm_axis(a->axis.v, in->ndim, "axis", axis) : AM_OK;
}

static am_status repeat_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_out);
    const repeat_attrs *a = attrs;
    int axis;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = repeat_axis(a, &in[0], &axis);
    if (st != AM_OK) return st;
    out[0] = axis < 0 ? (am_shape){.ndim = 1, .dim = {am_shape_size(&in[0])}} : in[0];
    if (axis < 0) axis = 0;
    if (a->repeats == 0) out[0] = (am_shape){.ndim = 1, .dim = {0}}; /* MXNet: empty 1-D */
    else if (__builtin_mul_overflow(out[0].dim[axis], a->repeats, &out[0].dim[axis]))
        return am_fail(AM_ERR_SHAPE, "the result of repeating is too large");
    return AM_OK;
}

static am_status repeat_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const repeat_attrs *a = attrs;
    am_shape s = am_view_shape(in);
    int axis;
    am_status st = repeat_axis(a, &s, &axis);
    if (st != AM_OK || a->repeats == 0) return st;
    int64_t r = a->repeats, lead = 1, trail = 1, mid = am_view_size(in);
    if (axis >= 0) am_split3(&s, axis, &lead, &trail), mid = s.dim[axis];
    am_copy_plan p = {0};
    am_copy_plan_axis(&p, lead, mid * r * trail, mid * trail);
    am_copy_plan_axis(&p, mid, r * trail, trail);
    am_copy_plan_axis(&p, r, trail, 0);
    am_copy_plan_axis(&p, trail, 1, 1);
    return am_copy_run(in, out, &p, 0, req[0]);
}

/* d repeat(x): the output gradient read as (lead, dim, repeats, trail), summed over the
 * copies. */
static am_status repeat_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                             am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    const repeat_attrs *a = g->attrs;
    am_shape s = am_array_shape(in[0]);
    int axis;
    am_status st = repeat_axis(a, &s, &axis);
    if (st != AM_OK) return st;
    if (am_shape_size(&s) == 0 || a->repeats == 0) {
        ig[0] = am_zeros_like_at(in[0], g->at);
        return ig[0] ? AM_OK : am_last_status();
    }
    int64_t lead = 1, trail = 1, mid = am_shape_size(&s);
    if (axis >= 0) am_split3(&s, axis, &lead, &trail), mid = s.dim[axis];
    am_array *t = sum_split(og[0], lead, mid, a->repeats, trail, 2, g->at);
    ig[0] = am_reshape_like_at(t, in[0], g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_repeat = {
    .name = "repeat", .input_names = data_input, .num_outputs = 1, .attrs = repeat_fields,
    .attrs_size = sizeof(repeat_attrs), .infer_shape = repeat_shape,
    .infer_dtype = am_infer_dtype_same, .cpu = repeat_cpu, .gradient = repeat_grad,
    .fuse = AM_FUSE_INJECTIVE,
    .doc = "Repeats each element repeats times along axis (or of the flattened array), as "
           "numpy.repeat; repeats=0 gives shape (0,)."};

am_array *am_repeat_at(am_array *x, int64_t repeats, int64_t axis, am_site at)
{
    repeat_attrs a = {.repeats = repeats, .axis = {axis != AM_NONE, axis}};
    return am_call1(&am_op_repeat, &a, x, at);
}

typedef struct broadcast_to_attrs {
    am_tuple shape;
} broadcast_to_attrs;

static const am_attr_field broadcast_to_fields[] = {
    AM_ATTR_FIELD(broadcast_to_attrs, shape, AM_ATTR_TUPLE, "()",
                  "target shape, one entry per axis; 0 keeps the axis"),
    {0}};

static am_status broadcast_to_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                    int n_out)
{
    AM_UNUSED(n_out);
    const am_tuple *t = &((const broadcast_to_attrs *)attrs)->shape;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    if (t->ndim != in[0].ndim)
        return am_fail(AM_ERR_SHAPE, "cannot broadcast data %s to shape=%s: the number of "
                       "dimensions differs", am_fmt_shape(&in[0], b0), am_fmt_tuple(t, b1));
    out[0] = in[0];
    for (int i = 0; i < t->ndim; i++) {
        int64_t d = in[0].dim[i], w = t->v[i];
        if (w < 0 || (w != 0 && d != w && d != 1))
            return am_fail(AM_ERR_SHAPE, "cannot broadcast data %s to shape=%s (axis %d)",
                           am_fmt_shape(&in[0], b0), am_fmt_tuple(t, b1), i);
        if (w != 0) out[0].dim[i] = w;
    }
    return AM_OK;
}

static am_status broadcast_to_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                  int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_copy_plan p = {0};
    for (int i = 0; i < out->ndim; i++)
        am_copy_plan_axis(&p, out->dim[i], out->strides[i], in->dim[i] == 1 ? 0 : in->strides[i]);
    return am_copy_run(in, out, &p, 0, req[0]);
}

/* d broadcast_to(x): the output gradient summed over the broadcast axes. */
static am_status broadcast_to_grad(const am_grad_ctx *g, am_array *const *in,
                                   am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    int axes[AM_MAX_NDIM], n = 0;
    for (int i = 0; i < am_array_ndim(in[0]); i++)
        if (am_array_dim(in[0], i) != am_array_dim(og[0], i)) axes[n++] = i;
    ig[0] = n ? am_sum_at(og[0], axes, n, true, g->at) : og[0];
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_broadcast_to = {
    .name = "broadcast_to", .input_names = data_input, .num_outputs = 1,
    .attrs = broadcast_to_fields, .attrs_size = sizeof(broadcast_to_attrs),
    .infer_shape = broadcast_to_shape, .infer_dtype = am_infer_dtype_same,
    .cpu = broadcast_to_cpu, .gradient = broadcast_to_grad, .fuse = AM_FUSE_INJECTIVE,
    .doc = "Broadcasts size-1 axes to shape (same number of axes; 0 keeps an axis)."};

am_array *am_broadcast_to_at(am_array *x, am_shape shape, am_site at)
{
    broadcast_to_attrs a;
    if (shape.ndim < 0 || shape.ndim > AM_MAX_NDIM) {
        am_fail_at("broadcast_to", at, AM_ERR_ARG,
                   "shape has %d dimensions; at most %d are supported", shape.ndim, AM_MAX_NDIM);
        return NULL;
    }
    am_tuple_from_i64(shape.dim, shape.ndim, &a.shape);
    return am_call1(&am_op_broadcast_to, &a, x, at);
}

/* ---- for slice assignment (shape_assign.c) ------------------------------------------------ */

am_status am_slice_range(const am_tuple *begin, const am_tuple *end, const am_tuple *step,
                         const am_shape *s, int64_t *first, int64_t *stride, am_shape *out)
{
    slice_attrs a = {.begin = *begin, .end = *end, .step = *step};
    slice_range r;
    am_status st = slice_range_of(&a, s, &r);
    if (st != AM_OK) return st;
    for (int i = 0; i < s->ndim; i++) first[i] = r.begin[i], stride[i] = r.step[i];
    *out = r.out;
    return AM_OK;
}
