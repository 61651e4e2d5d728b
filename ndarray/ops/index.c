/* Indexing ops: one_hot, take, Embedding and pick.  Indices may have any dtype
 * (MXNet passes float32 ones); each kernel first converts them to int64 in its
 * workspace (truncating as C casts do), then gathers with plain loops. */
#include "shape_impl.h"

enum { MODE_RAISE, MODE_WRAP, MODE_CLIP };

static const char *const take_modes[] = {"raise", "wrap", "clip", NULL}; /* MODE_* order */
static const char *const pick_modes[] = {"wrap", "clip", NULL};         /* MODE_* - 1 */

/* ---- index conversion ----------------------------------------------------------------- */

/* Truncates toward zero; NaN and values beyond int64 map to the extremes. */
static inline int64_t index_of(double v)
{
    if (v >= 9.2e18) return INT64_MAX;
    if (!(v > -9.2e18)) return INT64_MIN;
    return (int64_t)v;
}

am_status am_indices_to_i64(const am_view *v, int64_t *out)
{
    int64_t n = am_view_size(v);
    switch (v->dtype) {
    case AM_DTYPE_FLOAT32: {
        const float *x = v->data;
        for (int64_t i = 0; i < n; i++) out[i] = index_of(x[i]);
        break;
    }
    case AM_DTYPE_FLOAT64: {
        const double *x = v->data;
        for (int64_t i = 0; i < n; i++) out[i] = index_of(x[i]);
        break;
    }
    default:
        AM_DTYPE_SWITCH(v->dtype, I, {
            const I *x = v->data;
            for (int64_t i = 0; i < n; i++) out[i] = (int64_t)x[i];
        });
    }
    return AM_OK;
}

/* Maps each index into [0, len) by mode; raise fails on the first one outside. */
static am_status resolve_indices(int64_t *idx, int64_t n, int64_t len, int mode, int axis)
{
    if (len <= 0 && n > 0) return am_fail(AM_ERR_SHAPE, "cannot index axis %d of size 0", axis);
    for (int64_t i = 0; i < n; i++) {
        int64_t j = idx[i];
        if (j >= 0 && j < len) continue;
        if (mode == MODE_RAISE)
            return am_fail(AM_ERR_ARG, "index %lld (indices element %lld) is out of range for "
                           "axis %d of size %lld (mode=raise)", (long long)j, (long long)i, axis,
                           (long long)len);
        if (mode == MODE_CLIP) idx[i] = j < 0 ? 0 : len - 1;
        else idx[i] = (j % len + len) % len;
    }
    return AM_OK;
}

/* The indices in v, converted and resolved against len, in the workspace. */
static am_status workspace_indices(const am_kernel_ctx *ctx, const am_view *v, int64_t len,
                                   int mode, int axis, int64_t **idx)
{
    int64_t n = am_view_size(v);
    *idx = ctx->workspace;
    if (n == 0) return AM_OK;
    if (!ctx->workspace || ctx->workspace_bytes < (size_t)n * sizeof(int64_t))
        return am_fail(AM_ERR_INTERNAL, "the index workspace is missing or too small");
    am_status st = am_indices_to_i64(v, *idx);
    return st == AM_OK ? resolve_indices(*idx, n, len, mode, axis) : st;
}

/* Workspace for the indices of input slot k: one int64 each. */
static size_t index_bytes(const am_shape *in, int k)
{
    return (size_t)am_shape_size(&in[k]) * sizeof(int64_t);
}

/* out[o, r, :] = arr[o, idx[r], :] for o < lead, r < nidx: rows of trail elements. */
static am_status gather_rows(const am_view *arr, const int64_t *idx, int64_t nidx, int64_t lead,
                             int64_t len, int64_t trail, const am_view *out, am_req req)
{
    int64_t rows = lead * nidx, n = rows * trail;
    if (req == AM_REQ_NULL || n == 0) return AM_OK;
    bool add = req == AM_REQ_ADD;
    AM_DTYPE_SWITCH(out->dtype, T, {
        const T *x = arr->data;
        T *y = out->data;
        AM_OMP_FOR_N
        for (int64_t r = 0; r < rows; r++) {
            const T *restrict s = x + ((r / nidx) * len + idx[r % nidx]) * trail;
            T *restrict d = y + r * trail;
            if (add) for (int64_t k = 0; k < trail; k++) d[k] += s[k];
            else for (int64_t k = 0; k < trail; k++) d[k] = s[k];
        }
    });
    return AM_OK;
}

#define SCATTER_TILE 512

/* out[o, idx[r], :] += g[o, r, :]: gather_rows backwards, into zeros unless req is ADD.
 * Work is split over (o, tile of columns), which repeated indices never share. */
static am_status scatter_rows(const am_view *g, const int64_t *idx, int64_t nidx, int64_t lead,
                              int64_t len, int64_t trail, const am_view *out, am_req req)
{
    int64_t ntile = (trail + SCATTER_TILE - 1) / SCATTER_TILE, n = lead * nidx * trail;
    if (req == AM_REQ_NULL) return AM_OK;
    if (req != AM_REQ_ADD)
        memset(out->data, 0, (size_t)am_view_size(out) * am_dtype_size(out->dtype));
    if (n == 0) return AM_OK;
    AM_DTYPE_SWITCH(out->dtype, T, {
        const T *x = g->data;
        T *y = out->data;
        AM_OMP_FOR_N
        for (int64_t t = 0; t < lead * ntile; t++) {
            int64_t o = t / ntile, k0 = t % ntile * SCATTER_TILE;
            int64_t w = trail - k0 < SCATTER_TILE ? trail - k0 : SCATTER_TILE;
            for (int64_t r = 0; r < nidx; r++) {
                const T *restrict s = x + (o * nidx + r) * trail + k0;
                T *restrict d = y + (o * len + idx[r]) * trail + k0;
                for (int64_t k = 0; k < w; k++) d[k] += s[k];
            }
        }
    });
    return AM_OK;
}

/* The result of a backward op is data's shape (the shape attribute) when ograd has the
 * shape that the forward op, run by fwd_shape on data and the indices, would give. */
static am_status backward_shape(am_status (*fwd_shape)(const void *, am_shape *, int, am_shape *,
                                                       int),
                                const void *attrs, const am_tuple *shape, am_shape *in,
                                am_shape *out)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF], b2[AM_SHAPE_BUF], b3[AM_SHAPE_BUF];
    am_shape fwd_in[2] = {{0}, in[1]}, want;
    am_status st = am_need_known(in, 2);
    if (st == AM_OK) st = am_shape_of_tuple(shape, &fwd_in[0]);
    if (st == AM_OK) st = fwd_shape(attrs, fwd_in, 2, &want, 1);
    if (st != AM_OK) return st;
    bool same = in[0].ndim == want.ndim;
    for (int i = 0; same && i < want.ndim; i++) same = in[0].dim[i] == want.dim[i];
    if (!same)
        return am_fail(AM_ERR_SHAPE, "ograd %s is not %s, the forward result for data %s and "
                       "indices %s", am_fmt_shape(&in[0], b0), am_fmt_shape(&want, b1),
                       am_fmt_tuple(shape, b2), am_fmt_shape(&in[1], b3));
    out[0] = fwd_in[0];
    return AM_OK;
}

/* The result has dtype t; the inputs' dtypes must be known (indices may have any). */
static am_status result_dtype(am_dtype t, const am_dtype *in, int n_in, am_dtype *out)
{
    for (int i = 0; i < n_in; i++)
        if ((unsigned)in[i] >= AM_DTYPE_COUNT)
            return am_fail(AM_ERR_DTYPE, "the dtype of input %d is unknown", i);
    out[0] = t;
    return AM_OK;
}

/* ograd's dtype; the indices may have any. */
static am_status backward_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    return result_dtype(in[0], in, n_in, out);
}

/* ---- one_hot ----------------------------------------------------------------------------- */

typedef struct one_hot_attrs {
    int64_t depth;
    double on_value, off_value;
    int dtype;
} one_hot_attrs;

static const am_attr_field one_hot_fields[] = {
    AM_ATTR_FIELD(one_hot_attrs, depth, AM_ATTR_INT, NULL, "length of each one-hot row"),
    AM_ATTR_FIELD(one_hot_attrs, on_value, AM_ATTR_FLOAT, "1.0", "value at the index"),
    AM_ATTR_FIELD(one_hot_attrs, off_value, AM_ATTR_FLOAT, "0.0", "value elsewhere"),
    AM_ATTR_FIELD(one_hot_attrs, dtype, AM_ATTR_DTYPE, "float32", "dtype of the result"),
    {0}};

static am_status one_hot_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    AM_UNUSED(n_out);
    int64_t depth = ((const one_hot_attrs *)attrs)->depth;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = am_check_ndim(in[0].ndim + 1);
    if (st != AM_OK) return st;
    if (depth < 0) return am_fail(AM_ERR_ARG, "depth=%lld is negative", (long long)depth);
    out[0] = in[0];
    out[0].dim[out[0].ndim++] = depth;
    return AM_OK;
}

static am_status one_hot_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                               int n_out)
{
    AM_UNUSED(n_out);
    int t = ((const one_hot_attrs *)attrs)->dtype;
    return result_dtype(t < 0 ? AM_DTYPE_FLOAT32 : (am_dtype)t, in, n_in, out);
}

static size_t one_hot_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    return index_bytes(in, 0);
}

/* Indices outside [0, depth) give a row of off_value, as in MXNet. */
static am_status one_hot_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const one_hot_attrs *a = attrs;
    int64_t rows = am_view_size(&in[0]), depth = a->depth, n = rows * depth;
    if (req[0] == AM_REQ_NULL || n == 0) return AM_OK;
    int64_t *idx = ctx->workspace;
    if (!idx || ctx->workspace_bytes < (size_t)rows * sizeof(int64_t))
        return am_fail(AM_ERR_INTERNAL, "the index workspace is missing or too small");
    am_status st = am_indices_to_i64(&in[0], idx);
    if (st != AM_OK) return st;
    bool add = req[0] == AM_REQ_ADD;
    AM_DTYPE_SWITCH(out->dtype, T, {
        const T on = (T)a->on_value, off = (T)a->off_value;
        T *y = out->data;
        AM_OMP_FOR_N
        for (int64_t r = 0; r < rows; r++) {
            T *restrict d = y + r * depth;
            int64_t j = idx[r];
            if (add) {
                for (int64_t k = 0; k < depth; k++) d[k] += k == j ? on : off;
            } else {
                for (int64_t k = 0; k < depth; k++) d[k] = off;
                if (j >= 0 && j < depth) d[j] = on;
            }
        }
    });
    return AM_OK;
}

const am_op_def am_op_one_hot = {
    .name = "one_hot", .input_names = (const char *const[]){"indices", NULL},
    .num_outputs = 1, .attrs = one_hot_fields, .attrs_size = sizeof(one_hot_attrs),
    .infer_shape = one_hot_shape, .infer_dtype = one_hot_dtype, .temp_bytes = one_hot_temp,
    .cpu = one_hot_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP | AM_OP_NO_GRAD,
    .doc = "Rows of depth off_value with on_value at each index; an index outside "
           "[0, depth) gives a row of off_value."};

am_array *am_one_hot_at(am_array *indices, int64_t depth, double on_value, double off_value,
                        am_dtype dtype, am_site at)
{
    one_hot_attrs a = {.depth = depth, .on_value = on_value, .off_value = off_value,
                       .dtype = (int)dtype};
    if ((unsigned)dtype >= AM_DTYPE_COUNT) {
        am_fail_at("one_hot", at, AM_ERR_DTYPE, "unknown dtype %d", (int)dtype);
        return NULL;
    }
    return am_call1(&am_op_one_hot, &a, indices, at);
}

/* ---- take ---------------------------------------------------------------------------------- */

typedef struct take_attrs {
    int64_t axis;
    int mode;
} take_attrs;

static const am_attr_field take_fields[] = {
    AM_ATTR_FIELD(take_attrs, axis, AM_ATTR_INT, "0", "axis of a to index"),
    AM_ATTR_ENUM_FIELD(take_attrs, mode, take_modes, "clip",
                       "out-of-range indices: clip to the ends, wrap around, or raise an error"),
    {0}};

static am_status take_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                            int n_out)
{
    AM_UNUSED(n_out);
    char buf[AM_SHAPE_BUF];
    int axis;
    am_status st = am_need_known(in, n_in);
    int64_t want = ((const take_attrs *)attrs)->axis;
    if (st == AM_OK) st = am_norm_axis(want, in[0].ndim, "axis", &axis);
    if (st == AM_OK) st = am_check_ndim(in[0].ndim - 1 + in[1].ndim);
    if (st != AM_OK) return st;
    if (in[0].dim[axis] == 0 && am_shape_size(&in[1]) > 0)
        return am_fail(AM_ERR_SHAPE, "cannot take from axis %d of size 0 of a %s", axis,
                       am_fmt_shape(&in[0], buf));
    am_shape *o = &out[0];
    o->ndim = 0;
    for (int i = 0; i < axis; i++) o->dim[o->ndim++] = in[0].dim[i];
    for (int i = 0; i < in[1].ndim; i++) o->dim[o->ndim++] = in[1].dim[i];
    for (int i = axis + 1; i < in[0].ndim; i++) o->dim[o->ndim++] = in[0].dim[i];
    return AM_OK;
}

static am_status take_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    return result_dtype(in[0], in, n_in, out);
}

static size_t take_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    return index_bytes(in, 1);
}

static am_status take_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const take_attrs *a = attrs;
    am_shape s = am_view_shape(&in[0]);
    int axis;
    int64_t lead, trail, *idx;
    am_status st = am_norm_axis(a->axis, s.ndim, "axis", &axis);
    if (st == AM_OK) st = workspace_indices(ctx, &in[1], s.dim[axis], a->mode, axis, &idx);
    if (st != AM_OK) return st;
    am_split3(&s, axis, &lead, &trail);
    return gather_rows(&in[0], idx, am_view_size(&in[1]), lead, s.dim[axis], trail, &out[0],
                       req[0]);
}

/* _backward_take's attributes: the forward take's, and its a's shape. */
typedef struct backward_take_attrs {
    take_attrs t;
    am_tuple shape;
} backward_take_attrs;

extern const am_op_def am_op_backward_take;

static am_array *backward_take(am_array *og, am_array *indices, const take_attrs *t,
                               am_shape data, am_site at)
{
    backward_take_attrs b = {.t = *t};
    am_tuple_from_i64(data.dim, data.ndim, &b.shape);
    am_array *in[2] = {og, indices}, *y = NULL;
    am_op_call(&am_op_backward_take, &b, in, 2, &y, 1, at);
    return y;
}

/* take's gradient: the output gradient added into zeros of a's shape at the indices. */
static am_status take_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    ig[0] = backward_take(og[0], in[1], g->attrs, am_array_shape(in[0]), g->at);
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_take = {
    .name = "take", .input_names = (const char *const[]){"a", "indices", NULL},
    .num_outputs = 1, .attrs = take_fields, .attrs_size = sizeof(take_attrs),
    .infer_shape = take_shape, .infer_dtype = take_dtype, .temp_bytes = take_temp,
    .cpu = take_cpu, .gradient = take_grad, .fuse = AM_FUSE_INJECTIVE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "Slices of a at the given indices along axis; the index axis is replaced by the "
           "indices' shape."};

/* The position of mode in choices; AM_ERR_ARG naming the op when absent. */
static am_status find_mode(const char *op, const char *mode, const char *const *choices,
                           int *out, am_site at)
{
    char list[64] = "";
    for (int i = 0; choices[i]; i++) {
        if (mode && strcmp(mode, choices[i]) == 0) return *out = i, AM_OK;
        if (i) strcat(list, ", ");
        strcat(list, choices[i]);
    }
    return am_fail_at(op, at, AM_ERR_ARG, "mode '%s' is not one of {%s}", mode ? mode : "NULL",
                      list);
}

am_array *am_take_at(am_array *x, am_array *indices, int axis, const char *mode, am_site at)
{
    take_attrs a = {.axis = axis};
    if (find_mode("take", mode, take_modes, &a.mode, at) != AM_OK) return NULL;
    am_array *in[2] = {x, indices}, *y = NULL;
    am_op_call(&am_op_take, &a, in, 2, &y, 1, at);
    return y;
}

/* ---- _backward_take ----------------------------------------------------------------------- */

static const am_attr_field backward_take_fields[] = {
    {"axis", AM_ATTR_INT, offsetof(backward_take_attrs, t.axis), "0", NULL,
     "the forward take's axis"},
    {"mode", AM_ATTR_ENUM, offsetof(backward_take_attrs, t.mode), "clip", take_modes,
     "the forward take's mode"},
    {"shape", AM_ATTR_TUPLE, offsetof(backward_take_attrs, shape), NULL, NULL,
     "shape of the forward take's a, and of the result"},
    {0}};

static am_status backward_take_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                     int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const backward_take_attrs *a = attrs;
    return backward_shape(take_shape, &a->t, &a->shape, in, out);
}

static am_status backward_take_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                   const am_view *in, int n_in, const am_view *out, int n_out,
                                   const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const backward_take_attrs *a = attrs;
    am_shape s = am_view_shape(&out[0]);
    int axis;
    int64_t lead, trail, *idx;
    am_status st = am_norm_axis(a->t.axis, s.ndim, "axis", &axis);
    if (st == AM_OK) st = workspace_indices(ctx, &in[1], s.dim[axis], a->t.mode, axis, &idx);
    if (st != AM_OK) return st;
    am_split3(&s, axis, &lead, &trail);
    return scatter_rows(&in[0], idx, am_view_size(&in[1]), lead, s.dim[axis], trail, &out[0],
                        req[0]);
}

/* Linear in ograd: its gradient is take itself. */
static am_status backward_take_grad(const am_grad_ctx *g, am_array *const *in,
                                    am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    am_array *x[2] = {og[0], in[1]};
    return am_op_call(&am_op_take, &((const backward_take_attrs *)g->attrs)->t, x, 2, &ig[0], 1,
                      g->at);
}

const am_op_def am_op_backward_take = {
    .name = "_backward_take", .input_names = (const char *const[]){"ograd", "indices", NULL},
    .num_outputs = 1, .attrs = backward_take_fields, .attrs_size = sizeof(backward_take_attrs),
    .infer_shape = backward_take_shape, .infer_dtype = backward_dtype, .temp_bytes = take_temp,
    .cpu = backward_take_cpu, .gradient = backward_take_grad, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NEEDS_TEMP,
    .doc = "Gradient of take (and Embedding): ograd added into zeros of the given shape at "
           "the indices; repeated indices accumulate."};

/* ---- Embedding ------------------------------------------------------------------------------ */

typedef struct embedding_attrs {
    int64_t input_dim, output_dim;
    int dtype;
    bool sparse_grad;
} embedding_attrs;

static const am_attr_field embedding_fields[] = {
    AM_ATTR_FIELD(embedding_attrs, input_dim, AM_ATTR_INT, NULL, "vocabulary size"),
    AM_ATTR_FIELD(embedding_attrs, output_dim, AM_ATTR_INT, NULL, "embedding size"),
    AM_ATTR_FIELD(embedding_attrs, dtype, AM_ATTR_DTYPE, "float32",
                  "dtype of weight when it is not known yet"),
    AM_ATTR_FIELD(embedding_attrs, sparse_grad, AM_ATTR_BOOL, "False",
                  "row-sparse gradient in MXNet; Amber's gradient is dense"),
    {0}};

/* Fills an unknown weight shape (deferred initialisation). */
static am_status embedding_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                 int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const embedding_attrs *a = attrs;
    char buf[AM_SHAPE_BUF];
    if (a->input_dim < 1 || a->output_dim < 1)
        return am_fail(AM_ERR_ARG, "input_dim=%lld and output_dim=%lld must be at least 1",
                       (long long)a->input_dim, (long long)a->output_dim);
    am_shape want = {.ndim = 2, .dim = {a->input_dim, a->output_dim}};
    if (in[1].ndim < 0) in[1] = want;
    if (in[1].ndim != 2 || in[1].dim[0] != want.dim[0] || in[1].dim[1] != want.dim[1])
        return am_fail(AM_ERR_SHAPE, "weight %s does not match (input_dim, output_dim) = "
                       "(%lld, %lld)", am_fmt_shape(&in[1], buf), (long long)a->input_dim,
                       (long long)a->output_dim);
    am_status st = am_need_known(in, 1);
    if (st == AM_OK) st = am_check_ndim(in[0].ndim + 1);
    if (st != AM_OK) return st;
    out[0] = in[0];
    out[0].dim[out[0].ndim++] = a->output_dim;
    return AM_OK;
}

/* The result has weight's dtype; an unknown weight dtype comes from dtype. */
static am_status embedding_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                 int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    int t = ((const embedding_attrs *)attrs)->dtype;
    if ((unsigned)in[1] >= AM_DTYPE_COUNT) in[1] = t < 0 ? AM_DTYPE_FLOAT32 : (am_dtype)t;
    return result_dtype(in[1], in, 2, out);
}

static size_t embedding_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    return index_bytes(in, 0);
}

/* Out-of-range indices are clipped, as MXNet's Embedding does. */
static am_status embedding_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                               int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t *idx, rows = in[1].dim[0], cols = in[1].dim[1];
    am_status st = workspace_indices(ctx, &in[0], rows, MODE_CLIP, 0, &idx);
    if (st != AM_OK) return st;
    return gather_rows(&in[1], idx, am_view_size(&in[0]), 1, rows, cols, &out[0], req[0]);
}

/* Embedding is take(weight, data, axis 0, clip): its weight gradient is take's. */
static am_status embedding_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                                am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    take_attrs t = {.axis = 0, .mode = MODE_CLIP};
    if (!g->need_grad[1]) return AM_OK;
    ig[1] = backward_take(og[0], in[0], &t, am_array_shape(in[1]), g->at);
    return ig[1] ? AM_OK : am_last_status();
}

const am_op_def am_op_embedding = {
    .name = "Embedding", .input_names = (const char *const[]){"data", "weight", NULL},
    .num_outputs = 1, .attrs = embedding_fields, .attrs_size = sizeof(embedding_attrs),
    .infer_shape = embedding_shape, .infer_dtype = embedding_dtype,
    .temp_bytes = embedding_temp, .cpu = embedding_cpu, .gradient = embedding_grad,
    .fuse = AM_FUSE_INJECTIVE,
    .flags = AM_OP_NEEDS_TEMP,
    .doc = "Rows of weight (input_dim, output_dim) at the indices in data (clipped)."};

am_array *am_embedding_at(am_array *data, am_array *weight, int64_t input_dim,
                          int64_t output_dim, am_site at)
{
    embedding_attrs a = {.input_dim = input_dim, .output_dim = output_dim,
                         .dtype = weight ? (int)am_array_dtype(weight) : (int)AM_DTYPE_FLOAT32};
    am_array *in[2] = {data, weight}, *y = NULL;
    am_op_call(&am_op_embedding, &a, in, 2, &y, 1, at);
    return y;
}

/* ---- pick ------------------------------------------------------------------------------------ */

typedef struct pick_attrs {
    am_opt_int axis;
    bool keepdims;
    int mode;
} pick_attrs;

static const am_attr_field pick_fields[] = {
    AM_ATTR_FIELD(pick_attrs, axis, AM_ATTR_OPT_INT, "-1", "axis to pick along"),
    AM_ATTR_FIELD(pick_attrs, keepdims, AM_ATTR_BOOL, "False", "keep the axis with size 1"),
    AM_ATTR_ENUM_FIELD(pick_attrs, mode, pick_modes, "clip",
                       "out-of-range indices: wrap around or clip to the ends"),
    {0}};

static am_status pick_axis(const pick_attrs *a, const am_shape *data, int *axis)
{
    *axis = 0;
    if (!a->axis.has)
        return am_fail(AM_ERR_UNSUPPORTED, "axis=None is not supported (nor is it in MXNet 1.x)");
    return am_norm_axis(a->axis.v, data->ndim, "axis", axis);
}

/* index has data's shape without axis, or with axis of size 1. */
static am_status pick_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                            int n_out)
{
    AM_UNUSED(n_out);
    const pick_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    int axis;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = pick_axis(a, &in[0], &axis);
    if (st != AM_OK) return st;
    am_shape kept = in[0], dropped = in[0];
    kept.dim[axis] = 1;
    dropped.ndim--;
    for (int i = axis; i < dropped.ndim; i++) dropped.dim[i] = in[0].dim[i + 1];
    const am_shape *want = in[1].ndim == in[0].ndim ? &kept : &dropped;
    bool same = in[1].ndim == want->ndim;
    for (int i = 0; same && i < want->ndim; i++) same = in[1].dim[i] == want->dim[i];
    if (!same)
        return am_fail(AM_ERR_SHAPE, "index %s does not match data %s without axis %d",
                       am_fmt_shape(&in[1], b1), am_fmt_shape(&in[0], b0), axis);
    if (in[0].dim[axis] == 0 && am_shape_size(&dropped) > 0)
        return am_fail(AM_ERR_SHAPE, "cannot pick from axis %d of size 0 of data %s", axis,
                       am_fmt_shape(&in[0], b0));
    out[0] = a->keepdims ? kept : dropped;
    return AM_OK;
}

static am_status pick_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    return result_dtype(in[0], in, n_in, out);
}

static size_t pick_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    return index_bytes(in, 1);
}

static am_status pick_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const pick_attrs *a = attrs;
    am_shape s = am_view_shape(&in[0]);
    int axis;
    int64_t lead, trail, *idx, n = am_view_size(&out[0]);
    am_status st = pick_axis(a, &s, &axis);
    if (st == AM_OK) st = workspace_indices(ctx, &in[1], s.dim[axis], a->mode + 1, axis, &idx);
    if (st != AM_OK || req[0] == AM_REQ_NULL || n == 0) return st;
    am_split3(&s, axis, &lead, &trail);
    int64_t len = s.dim[axis];
    bool add = req[0] == AM_REQ_ADD;
    AM_DTYPE_SWITCH(out->dtype, T, {
        const T *restrict x = in[0].data;
        T *restrict y = out->data;
        AM_OMP_FOR_N
        for (int64_t r = 0; r < n; r++) {
            T v = x[((r / trail) * len + idx[r]) * trail + r % trail];
            y[r] = add ? y[r] + v : v;
        }
    });
    return AM_OK;
}

/* _backward_pick's attributes: the forward pick's, and its data's shape. */
typedef struct backward_pick_attrs {
    pick_attrs p;
    am_tuple shape;
} backward_pick_attrs;

extern const am_op_def am_op_backward_pick;

/* pick's gradient: the output gradient in zeros of data's shape at the picked positions. */
static am_status pick_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    backward_pick_attrs b = {.p = *(const pick_attrs *)g->attrs};
    am_shape s = am_array_shape(in[0]);
    am_tuple_from_i64(s.dim, s.ndim, &b.shape);
    am_array *x[2] = {og[0], in[1]};
    return am_op_call(&am_op_backward_pick, &b, x, 2, &ig[0], 1, g->at);
}

const am_op_def am_op_pick = {
    .name = "pick", .input_names = (const char *const[]){"data", "index", NULL},
    .num_outputs = 1, .attrs = pick_fields, .attrs_size = sizeof(pick_attrs),
    .infer_shape = pick_shape, .infer_dtype = pick_dtype, .temp_bytes = pick_temp,
    .cpu = pick_cpu, .gradient = pick_grad, .fuse = AM_FUSE_INJECTIVE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "data[..., index[...], ...] along axis: one element per index."};

am_array *am_pick_at(am_array *x, am_array *index, int axis, bool keepdims, const char *mode,
                     am_site at)
{
    pick_attrs a = {.axis = {true, axis}, .keepdims = keepdims};
    if (find_mode("pick", mode, pick_modes, &a.mode, at) != AM_OK) return NULL;
    am_array *in[2] = {x, index}, *y = NULL;
    am_op_call(&am_op_pick, &a, in, 2, &y, 1, at);
    return y;
}

/* ---- _backward_pick ----------------------------------------------------------------------- */

static const am_attr_field backward_pick_fields[] = {
    {"axis", AM_ATTR_OPT_INT, offsetof(backward_pick_attrs, p.axis), "-1", NULL,
     "the forward pick's axis"},
    {"keepdims", AM_ATTR_BOOL, offsetof(backward_pick_attrs, p.keepdims), "False", NULL,
     "the forward pick's keepdims"},
    {"mode", AM_ATTR_ENUM, offsetof(backward_pick_attrs, p.mode), "clip", pick_modes,
     "the forward pick's mode"},
    {"shape", AM_ATTR_TUPLE, offsetof(backward_pick_attrs, shape), NULL, NULL,
     "shape of the forward pick's data, and of the result"},
    {0}};

static am_status backward_pick_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                     int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const backward_pick_attrs *a = attrs;
    return backward_shape(pick_shape, &a->p, &a->shape, in, out);
}

/* Every output position picks one element, so the writes never collide. */
static am_status backward_pick_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                   const am_view *in, int n_in, const am_view *out, int n_out,
                                   const am_req *req)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const backward_pick_attrs *a = attrs;
    am_shape s = am_view_shape(&out[0]);
    int axis;
    int64_t lead, trail, *idx, n = am_view_size(&in[0]);
    am_status st = pick_axis(&a->p, &s, &axis);
    if (st == AM_OK) st = workspace_indices(ctx, &in[1], s.dim[axis], a->p.mode + 1, axis, &idx);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    if (req[0] != AM_REQ_ADD)
        memset(out->data, 0, (size_t)am_view_size(out) * am_dtype_size(out->dtype));
    am_split3(&s, axis, &lead, &trail);
    int64_t len = s.dim[axis];
    AM_DTYPE_SWITCH(out->dtype, T, {
        const T *restrict x = in[0].data;
        T *restrict y = out->data;
        AM_OMP_FOR_N
        for (int64_t r = 0; r < n; r++) y[((r / trail) * len + idx[r]) * trail + r % trail] += x[r];
    });
    return AM_OK;
}

/* Linear in ograd: its gradient is pick itself. */
static am_status backward_pick_grad(const am_grad_ctx *g, am_array *const *in,
                                    am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    am_array *x[2] = {og[0], in[1]};
    return am_op_call(&am_op_pick, &((const backward_pick_attrs *)g->attrs)->p, x, 2, &ig[0], 1,
                      g->at);
}

const am_op_def am_op_backward_pick = {
    .name = "_backward_pick", .input_names = (const char *const[]){"ograd", "index", NULL},
    .num_outputs = 1, .attrs = backward_pick_fields, .attrs_size = sizeof(backward_pick_attrs),
    .infer_shape = backward_pick_shape, .infer_dtype = backward_dtype, .temp_bytes = pick_temp,
    .cpu = backward_pick_cpu, .gradient = backward_pick_grad, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NEEDS_TEMP,
    .doc = "Gradient of pick: ograd written into zeros of the given shape at the picked "
           "positions."};
