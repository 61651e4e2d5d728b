/* MXNet 1.x's smaller classic ops: batch_take, choose_element_0index,
 * fill_element_0index, _onehot_encode, _zeros_without_dtype, _contrib_index_array,
 * _contrib_index_copy, _contrib_allclose, _histogram, _contrib_count_sketch and
 * _contrib_boolean_mask, whose output shape depends on its index's values: eager calls
 * only, through the entry's value_shape; graphs report infer_shape's error.  Index inputs
 * may have any dtype; each index is read as a double and truncated toward zero, as
 * MXNet's casts do.  Loops are plain and serial: these ops move little data.
 * docs/ops-classic.md says where they differ from MXNet 1.9.1. */
#include <math.h>
#include <stdlib.h>

#include "shape_impl.h"

/* Element i of an index view, truncated toward zero (NaN and huge values clamp). */
static int64_t index_at(const am_view *v, int64_t i)
{
    double x = am_view_get(v, i);
    if (x >= 9.2e18) return INT64_MAX;
    if (!(x > -9.2e18)) return INT64_MIN;
    return (int64_t)x;
}

static int64_t clip_index(int64_t j, int64_t len) { return j < 0 ? 0 : j >= len ? len - 1 : j; }

/* Stores v into y[i] by req (never AM_REQ_NULL here). */
#define STORE(req, y, i, v)                              \
    do {                                                 \
        if ((req) == AM_REQ_ADD) (y)[i] += (v);          \
        else (y)[i] = (v);                               \
    } while (0)

/* The dtype of input 0 for output 0; every input's dtype must be known. */
static am_status dtype_of_first(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    for (int i = 0; i < n_in; i++)
        if ((unsigned)in[i] >= AM_DTYPE_COUNT)
            return am_fail(AM_ERR_DTYPE, "the dtype of input %d is unknown", i);
    out[0] = in[0];
    return AM_OK;
}

/* ---- batch_take ---------------------------------------------------------------------- */

/* a is read as rows of its last axis; indices has one entry per row; the result has the
 * indices' shape. */
static am_status batch_take_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    if (in[0].ndim < 1) return am_fail(AM_ERR_SHAPE, "a must have at least one axis, not ()");
    int64_t last = in[0].dim[in[0].ndim - 1], size = am_shape_size(&in[0]);
    int64_t rows = last ? size / last : 0;
    if (last == 0 || rows != am_shape_size(&in[1]))
        return am_fail(AM_ERR_SHAPE, "a %s has %lld rows of its last axis (of size %lld), but "
                       "indices %s has %lld entries; they must match and the last axis must "
                       "not be empty", am_fmt_shape(&in[0], b0), (long long)rows,
                       (long long)last, am_fmt_shape(&in[1], b1),
                       (long long)am_shape_size(&in[1]));
    out[0] = in[1];
    return AM_OK;
}

/* out[r] = a[r, clip(indices[r])]. */
static am_status batch_take_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t rows = am_view_size(&out[0]);
    if (req[0] == AM_REQ_NULL || rows == 0) return AM_OK;
    int64_t len = in[0].dim[in[0].ndim - 1];
    AM_DTYPE_SWITCH(out[0].dtype, T, {
        const T *a = in[0].data;
        T *y = out[0].data;
        for (int64_t r = 0; r < rows; r++)
            STORE(req[0], y, r, a[r * len + clip_index(index_at(&in[1], r), len)]);
    });
    return AM_OK;
}

const am_op_def am_op_batch_take = {
    .name = "batch_take", .input_names = (const char *const[]){"a", "indices", NULL},
    .num_outputs = 1, .infer_shape = batch_take_shape, .infer_dtype = dtype_of_first,
    .cpu = batch_take_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "out[r] = a[r, indices[r]] over the rows of a's last axis, indices clipped to "
           "the row; not differentiated, as in MXNet."};

am_array *am_batch_take_at(am_array *a, am_array *indices, am_site at)
{
    am_array *in[2] = {a, indices}, *y = NULL;
    am_op_call(&am_op_batch_take, NULL, in, 2, &y, 1, at);
    return y;
}

/* ---- choose_element_0index, fill_element_0index ------------------------------------------ */

/* lhs (n, m); the other inputs (n,). */
static am_status rows_check(const am_shape *in, int n_in)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    if (in[0].ndim != 2)
        return am_fail(AM_ERR_SHAPE, "lhs must be 2-D (n, m), not %s", am_fmt_shape(&in[0], b0));
    for (int i = 1; i < n_in; i++)
        if (in[i].ndim != 1 || in[i].dim[0] != in[0].dim[0])
            return am_fail(AM_ERR_SHAPE, "input %d must be (%lld,), one entry per row of lhs "
                           "%s, not %s", i, (long long)in[0].dim[0], am_fmt_shape(&in[0], b0),
                           am_fmt_shape(&in[i], b1));
    return AM_OK;
}

static am_status choose_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    am_status st = rows_check(in, n_in);
    if (st != AM_OK) return st;
    out[0] = in[1];
    return AM_OK;
}

/* out[r] = lhs[r, clip(rhs[r])]. */
static am_status choose_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t rows = in[0].dim[0], m = in[0].dim[1];
    if (req[0] == AM_REQ_NULL || rows == 0) return AM_OK;
    if (m == 0) return am_fail(AM_ERR_SHAPE, "cannot choose from rows of length 0");
    AM_DTYPE_SWITCH(out[0].dtype, T, {
        const T *a = in[0].data;
        T *y = out[0].data;
        for (int64_t r = 0; r < rows; r++)
            STORE(req[0], y, r, a[r * m + clip_index(index_at(&in[1], r), m)]);
    });
    return AM_OK;
}

/* d lhs = one_hot(clip(rhs)) * og[:, None]; rhs gets none (MXNet gives it zeros). */
static am_status choose_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                             am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    int64_t m = am_array_dim(in[0], 1);
    am_array *idx = am_clip_at(in[1], 0, (double)(m > 0 ? m - 1 : 0), g->at);
    am_array *hot = idx ? am_one_hot_at(idx, m, 1.0, 0.0, am_array_dtype(in[0]), g->at) : NULL;
    am_array *col = hot ? am_expand_dims_at(og[0], 1, g->at) : NULL;
    ig[0] = col ? am_broadcast_mul_at(hot, col, g->at) : NULL;
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_choose_element_0index = {
    .name = "choose_element_0index", .input_names = (const char *const[]){"lhs", "rhs", NULL},
    .num_outputs = 1, .infer_shape = choose_shape, .infer_dtype = dtype_of_first,
    .cpu = choose_cpu, .gradient = choose_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "out[r] = lhs[r, rhs[r]] for a 2-D lhs, rhs clipped to the row (legacy pick)."};

am_array *am_choose_element_0index_at(am_array *lhs, am_array *rhs, am_site at)
{
    am_array *in[2] = {lhs, rhs}, *y = NULL;
    am_op_call(&am_op_choose_element_0index, NULL, in, 2, &y, 1, at);
    return y;
}

static am_status fill_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                            int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    am_status st = rows_check(in, n_in);
    if (st != AM_OK) return st;
    out[0] = in[0];
    return AM_OK;
}

static am_status fill_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    am_status st = dtype_of_first(attrs, in, n_in, out, n_out);
    if (st == AM_OK && in[1] != in[0])
        return am_fail(AM_ERR_DTYPE, "mhs is %s but lhs is %s; they must match",
                       am_dtype_name(in[1]), am_dtype_name(in[0]));
    return st;
}

/* out = lhs with out[r, rhs[r]] = mhs[r] where rhs[r] is in [0, m); others are left. */
static am_status fill_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t rows = in[0].dim[0], m = in[0].dim[1];
    if (req[0] == AM_REQ_NULL) return AM_OK;
    AM_DTYPE_SWITCH(out[0].dtype, T, {
        const T *a = in[0].data, *v = in[1].data;
        T *y = out[0].data;
        for (int64_t r = 0; r < rows; r++) {
            int64_t j = index_at(&in[2], r);
            for (int64_t k = 0; k < m; k++)
                STORE(req[0], y, r * m + k, k == j ? v[r] : a[r * m + k]);
        }
    });
    return AM_OK;
}

const am_op_def am_op_fill_element_0index = {
    .name = "fill_element_0index",
    .input_names = (const char *const[]){"lhs", "mhs", "rhs", NULL},
    .num_outputs = 1, .infer_shape = fill_shape, .infer_dtype = fill_dtype, .cpu = fill_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "lhs with lhs[r, rhs[r]] = mhs[r] (rows whose index is outside the row are left); "
           "not differentiated, as in MXNet."};

am_array *am_fill_element_0index_at(am_array *lhs, am_array *mhs, am_array *rhs, am_site at)
{
    am_array *in[3] = {lhs, mhs, rhs}, *y = NULL;
    am_op_call(&am_op_fill_element_0index, NULL, in, 3, &y, 1, at);
    return y;
}

/* ---- _onehot_encode ---------------------------------------------------------------------- */

/* lhs (n,) of indices; rhs (n, k) lends its shape and dtype. */
static am_status onehot_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    if (in[1].ndim != 2 || in[0].ndim != 1 || in[0].dim[0] != in[1].dim[0])
        return am_fail(AM_ERR_SHAPE, "lhs must be (n,) and rhs (n, k), not %s and %s",
                       am_fmt_shape(&in[0], b0), am_fmt_shape(&in[1], b1));
    out[0] = in[1];
    return AM_OK;
}

static am_status onehot_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                              int n_out)
{
    am_status st = dtype_of_first(attrs, in, n_in, out, n_out);
    out[0] = in[1];
    return st;
}

static am_status onehot_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t rows = out[0].dim[0], k = out[0].dim[1];
    if (req[0] == AM_REQ_NULL) return AM_OK;
    AM_DTYPE_SWITCH(out[0].dtype, T, {
        T *y = out[0].data;
        for (int64_t r = 0; r < rows; r++) {
            int64_t j = index_at(&in[0], r);
            for (int64_t c = 0; c < k; c++) STORE(req[0], y, r * k + c, (T)(c == j));
        }
    });
    return AM_OK;
}

const am_op_def am_op_onehot_encode = {
    .name = "_onehot_encode", .input_names = (const char *const[]){"lhs", "rhs", NULL},
    .num_outputs = 1, .infer_shape = onehot_shape, .infer_dtype = onehot_dtype,
    .cpu = onehot_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Rows of rhs's shape and dtype, 1 at column lhs[r] and 0 elsewhere (a row of "
           "zeros for an index outside it); legacy one_hot."};

/* ---- _zeros_without_dtype ------------------------------------------------------------------ */

typedef struct zeros_nd_attrs {
    am_tuple shape;
    char ctx[AM_MAX_ATTR_STRING];
    int64_t dtype;
} zeros_nd_attrs;

static const am_attr_field zeros_nd_fields[] = {
    AM_ATTR_FIELD(zeros_nd_attrs, shape, AM_ATTR_SHAPE, "()", "shape of the result"),
    AM_ATTR_FIELD(zeros_nd_attrs, ctx, AM_ATTR_STRING, "", "device (informational)"),
    AM_ATTR_FIELD(zeros_nd_attrs, dtype, AM_ATTR_INT, "-1",
                  "MXNet's type flag: -1 or 0 float32, 1 float64, 3 uint8, 4 int32, 6 int64"),
    {0}};

/* MXNet's type flags that Amber has; -1 when the flag names another type. */
static int dtype_of_flag(int64_t flag)
{
    switch (flag) {
    case -1: case 0: return AM_DTYPE_FLOAT32;
    case 1: return AM_DTYPE_FLOAT64;
    case 3: return AM_DTYPE_UINT8;
    case 4: return AM_DTYPE_INT32;
    case 6: return AM_DTYPE_INT64;
    default: return -1;
    }
}

static am_status zeros_nd_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                int n_out)
{
    AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return am_shape_of_tuple(&((const zeros_nd_attrs *)attrs)->shape, &out[0]);
}

static am_status zeros_nd_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                int n_out)
{
    AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t flag = ((const zeros_nd_attrs *)attrs)->dtype;
    int t = dtype_of_flag(flag);
    if (t < 0)
        return am_fail(AM_ERR_DTYPE, "dtype=%lld is not a type flag Amber has (-1, 0 float32, "
                       "1 float64, 3 uint8, 4 int32, 6 int64)", (long long)flag);
    out[0] = (am_dtype)t;
    return AM_OK;
}

static am_status zeros_nd_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                              int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (req[0] != AM_REQ_ADD && req[0] != AM_REQ_NULL)
        memset(out[0].data, 0, (size_t)am_view_size(&out[0]) * am_dtype_size(out[0].dtype));
    return AM_OK;
}

const am_op_def am_op_zeros_without_dtype = {
    .name = "_zeros_without_dtype", .input_names = (const char *const[]){NULL},
    .num_outputs = 1, .attrs = zeros_nd_fields, .attrs_size = sizeof(zeros_nd_attrs),
    .infer_shape = zeros_nd_shape, .infer_dtype = zeros_nd_dtype, .cpu = zeros_nd_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "An array of zeros whose dtype is MXNet's integer type flag (-1: float32)."};

/* ---- _contrib_index_array ------------------------------------------------------------------ */

typedef struct index_array_attrs {
    am_tuple axes;
} index_array_attrs;

static const am_attr_field index_array_fields[] = {
    AM_ATTR_FIELD(index_array_attrs, axes, AM_ATTR_TUPLE, "None",
                  "axes whose coordinates to give (None: all)"),
    {0}};

/* The axes the attribute names, normalised, into ax; their count. */
static am_status index_array_axes(const index_array_attrs *a, int ndim, int *ax, int *n)
{
    if (a->axes.ndim < 0) {
        for (int i = 0; i < ndim; i++) ax[i] = i;
        *n = ndim;
        return AM_OK;
    }
    if (a->axes.ndim > AM_MAX_NDIM)
        return am_fail(AM_ERR_ARG, "axes names %d axes; at most %d", a->axes.ndim, AM_MAX_NDIM);
    for (int i = 0; i < a->axes.ndim; i++) {
        am_status st = am_norm_axis(a->axes.v[i], ndim, "axes", &ax[i]);
        if (st != AM_OK) return st;
    }
    *n = a->axes.ndim;
    return AM_OK;
}

static am_status index_array_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                   int n_out)
{
    AM_UNUSED(n_out);
    int ax[AM_MAX_NDIM], n;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = am_check_ndim(in[0].ndim + 1);
    if (st == AM_OK) st = index_array_axes(attrs, in[0].ndim, ax, &n);
    if (st != AM_OK) return st;
    out[0] = in[0];
    out[0].dim[out[0].ndim++] = n;
    return AM_OK;
}

static am_status index_array_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                   int n_out)
{
    am_status st = dtype_of_first(attrs, in, n_in, out, n_out);
    out[0] = AM_DTYPE_INT64;
    return st;
}

/* out[p, j] = the coordinate of position p along axes[j]. */
static am_status index_array_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                 int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int ax[AM_MAX_NDIM], n, ndim = in[0].ndim;
    am_status st = index_array_axes(attrs, ndim, ax, &n);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    int64_t size = am_view_size(&in[0]);
    int64_t *y = out[0].data;
    for (int64_t p = 0; p < size; p++) {
        int64_t coord[AM_MAX_NDIM], rest = p;
        for (int d = ndim - 1; d >= 0; d--) coord[d] = rest % in[0].dim[d], rest /= in[0].dim[d];
        for (int j = 0; j < n; j++) STORE(req[0], y, p * n + j, coord[ax[j]]);
    }
    return AM_OK;
}

const am_op_def am_op_index_array = {
    .name = "_contrib_index_array", .input_names = (const char *const[]){"data", NULL},
    .num_outputs = 1, .attrs = index_array_fields, .attrs_size = sizeof(index_array_attrs),
    .infer_shape = index_array_shape, .infer_dtype = index_array_dtype,
    .cpu = index_array_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "int64 coordinates of every element of data along axes (all when None), in a new "
           "last axis; data gets no gradient (MXNet gives zeros)."};

am_array *am_index_array_at(am_array *data, const int *axes, int n_axes, am_site at)
{
    index_array_attrs a = {.axes = {.ndim = -1}};
    if (axes) {
        if (n_axes < 0 || n_axes > AM_MAX_TUPLE) {
            am_fail_at("_contrib_index_array", at, AM_ERR_ARG, "n_axes=%d is not in [0, %d]",
                       n_axes, AM_MAX_TUPLE);
            return NULL;
        }
        a.axes.ndim = n_axes;
        for (int i = 0; i < n_axes; i++) a.axes.v[i] = axes[i];
    }
    return am_call1(&am_op_index_array, &a, data, at);
}

/* ---- _contrib_index_copy ------------------------------------------------------------------- */

/* new_tensor is (len(index),) + old_tensor.shape[1:]; index_vector is 1-D. */
static am_status index_copy_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF], b2[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    bool ok = in[0].ndim >= 1 && in[1].ndim == 1 && in[2].ndim == in[0].ndim &&
              in[2].dim[0] == in[1].dim[0];
    for (int i = 1; ok && i < in[0].ndim; i++) ok = in[2].dim[i] == in[0].dim[i];
    if (!ok)
        return am_fail(AM_ERR_SHAPE, "old_tensor %s, index_vector %s and new_tensor %s: the "
                       "index must be 1-D and new_tensor (len(index),) + old_tensor.shape[1:]",
                       am_fmt_shape(&in[0], b0), am_fmt_shape(&in[1], b1),
                       am_fmt_shape(&in[2], b2));
    out[0] = in[0];
    return AM_OK;
}

static am_status index_copy_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                  int n_out)
{
    am_status st = dtype_of_first(attrs, in, n_in, out, n_out);
    if (st == AM_OK && in[2] != in[0])
        return am_fail(AM_ERR_DTYPE, "new_tensor is %s but old_tensor is %s; they must match",
                       am_dtype_name(in[2]), am_dtype_name(in[0]));
    return st;
}

/* out = old_tensor with row index[i] replaced by new_tensor[i] (the last one wins). */
static am_status index_copy_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t rows = in[0].dim[0], nidx = in[1].dim[0];
    int64_t row = rows ? am_view_size(&in[0]) / rows : 0;
    for (int64_t i = 0; i < nidx; i++) {
        int64_t j = index_at(&in[1], i);
        if (j < 0 || j >= rows)
            return am_fail(AM_ERR_ARG, "index_vector[%lld] = %lld is outside [0, %lld), the "
                           "rows of old_tensor", (long long)i, (long long)j, (long long)rows);
    }
    if (req[0] == AM_REQ_NULL) return AM_OK;
    AM_DTYPE_SWITCH(out[0].dtype, T, {
        const T *a = in[0].data, *v = in[2].data;
        T *y = out[0].data;
        for (int64_t r = 0; r < rows; r++) {
            int64_t src = -1;
            for (int64_t i = 0; i < nidx; i++)
                if (index_at(&in[1], i) == r) src = i;
            const T *s = src < 0 ? a + r * row : v + src * row;
            for (int64_t k = 0; k < row; k++) STORE(req[0], y, r * row + k, s[k]);
        }
    });
    return AM_OK;
}

extern const am_op_def am_op_index_copy;

/* d old = og with the copied rows zeroed (index_copy of zeros); d new = og's rows at index. */
static am_status index_copy_grad(const am_grad_ctx *g, am_array *const *in,
                                 am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (g->need_grad[0]) {
        am_array *z = am_zeros_like_at(in[2], g->at), *x[3] = {og[0], in[1], z};
        if (!z || am_op_call(&am_op_index_copy, NULL, x, 3, &ig[0], 1, g->at) != AM_OK)
            return am_last_status();
    }
    if (g->need_grad[2] && !(ig[2] = am_take_at(og[0], in[1], 0, "clip", g->at)))
        return am_last_status();
    return AM_OK;
}

const am_op_def am_op_index_copy = {
    .name = "_contrib_index_copy",
    .input_names = (const char *const[]){"old_tensor", "index_vector", "new_tensor", NULL},
    .num_outputs = 1, .infer_shape = index_copy_shape, .infer_dtype = index_copy_dtype,
    .cpu = index_copy_cpu, .gradient = index_copy_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "old_tensor with row index_vector[i] replaced by new_tensor[i]; an index outside "
           "the rows is AM_ERR_ARG."};

am_array *am_index_copy_at(am_array *old_tensor, am_array *index, am_array *new_tensor,
                           am_site at)
{
    am_array *in[3] = {old_tensor, index, new_tensor}, *y = NULL;
    am_op_call(&am_op_index_copy, NULL, in, 3, &y, 1, at);
    return y;
}

/* ---- _contrib_allclose ----------------------------------------------------------------------- */

typedef struct allclose_attrs {
    double rtol, atol;
    bool equal_nan;
} allclose_attrs;

static const am_attr_field allclose_fields[] = {
    AM_ATTR_FIELD(allclose_attrs, rtol, AM_ATTR_FLOAT, "1e-05", "relative tolerance"),
    AM_ATTR_FIELD(allclose_attrs, atol, AM_ATTR_FLOAT, "1e-08", "absolute tolerance"),
    AM_ATTR_FIELD(allclose_attrs, equal_nan, AM_ATTR_BOOL, "True",
                  "NaN in a and b at the same place counts as equal"),
    {0}};

static am_status allclose_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    bool same = in[0].ndim == in[1].ndim;
    for (int i = 0; same && i < in[0].ndim; i++) same = in[0].dim[i] == in[1].dim[i];
    if (!same)
        return am_fail(AM_ERR_SHAPE, "a %s and b %s must have the same shape",
                       am_fmt_shape(&in[0], b0), am_fmt_shape(&in[1], b1));
    out[0].ndim = 0;
    return AM_OK;
}

static am_status allclose_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                int n_out)
{
    am_status st = dtype_of_first(attrs, in, n_in, out, n_out);
    if (st == AM_OK && in[1] != in[0])
        return am_fail(AM_ERR_DTYPE, "a is %s but b is %s; they must match",
                       am_dtype_name(in[0]), am_dtype_name(in[1]));
    out[0] = AM_DTYPE_UINT8;
    return st;
}

/* 1 when |a - b| <= atol + rtol |b| everywhere (NaNs per equal_nan), else 0; computed in
 * double with rtol and atol rounded to float, as MXNet does. */
static am_status allclose_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                              int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const allclose_attrs *p = attrs;
    int64_t n = am_view_size(&in[0]);
    double rtol = (float)p->rtol, atol = (float)p->atol; /* MXNet's fields are float */
    bool all = true;
    for (int64_t i = 0; all && i < n; i++) {
        double a = am_view_get(&in[0], i), b = am_view_get(&in[1], i);
        if (isnan(a) || isnan(b)) all = p->equal_nan && isnan(a) && isnan(b);
        else all = a == b || fabs(a - b) <= atol + rtol * fabs(b);
    }
    if (req[0] == AM_REQ_NULL) return AM_OK;
    uint8_t *y = out[0].data;
    STORE(req[0], y, 0, (uint8_t)all);
    return AM_OK;
}

const am_op_def am_op_allclose = {
    .name = "_contrib_allclose", .input_names = (const char *const[]){"a", "b", NULL},
    .num_outputs = 1, .attrs = allclose_fields, .attrs_size = sizeof(allclose_attrs),
    .infer_shape = allclose_shape, .infer_dtype = allclose_dtype, .cpu = allclose_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "A 0-d uint8: 1 when |a - b| <= atol + rtol * |b| everywhere, else 0."};

am_array *am_allclose_at(am_array *a, am_array *b, double rtol, double atol, bool equal_nan,
                         am_site at)
{
    allclose_attrs p = {.rtol = rtol, .atol = atol, .equal_nan = equal_nan};
    am_array *in[2] = {a, b}, *y = NULL;
    am_op_call(&am_op_allclose, &p, in, 2, &y, 1, at);
    return y;
}

/* ---- _histogram ----------------------------------------------------------------------------- */

typedef struct histogram_attrs {
    am_opt_int bin_cnt;
    char range[AM_MAX_ATTR_STRING];
} histogram_attrs;

static const am_attr_field histogram_fields[] = {
    AM_ATTR_FIELD(histogram_attrs, bin_cnt, AM_ATTR_OPT_INT, "None",
                  "number of equal bins over range (None: the bins input gives the edges)"),
    AM_ATTR_FIELD(histogram_attrs, range, AM_ATTR_STRING, "None",
                  "(lo, hi) of the equal bins; given with bin_cnt, or neither"),
    {0}};

/* The range "(lo, hi)"; false for "None" or "". */
static am_status histogram_range(const histogram_attrs *a, bool *has, double *lo, double *hi)
{
    const char *s = a->range;
    while (*s == ' ') s++;
    *has = !(*s == 0 || strcmp(s, "None") == 0);
    if (*has) {
        char *end;
        if (*s == '(' || *s == '[') s++;
        *lo = strtod(s, &end);
        bool ok = end != s;
        s = end;
        while (*s == ' ') s++;
        ok = ok && *s++ == ',';
        *hi = ok ? strtod(s, &end) : 0;
        ok = ok && end != s;
        if (ok) for (s = end; *s == ' '; s++) {}
        if (!ok || (*s != ')' && *s != ']') || s[1])
            return am_fail(AM_ERR_ARG, "range='%s' is not (lo, hi)", a->range);
        if (!(*lo <= *hi))
            return am_fail(AM_ERR_ARG, "range=%s: lo must not exceed hi", a->range);
    }
    if (*has != a->bin_cnt.has)
        return am_fail(AM_ERR_ARG, "bin_cnt and range are given both or neither (the bins "
                       "input gives the edges when neither is)");
    if (a->bin_cnt.has && a->bin_cnt.v <= 0)
        return am_fail(AM_ERR_ARG, "bin_cnt=%lld must be positive", (long long)a->bin_cnt.v);
    return AM_OK;
}

static int histogram_num_inputs(const void *attrs)
{
    return ((const histogram_attrs *)attrs)->bin_cnt.has ? 1 : 2;
}

static am_status histogram_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                 int n_out)
{
    AM_UNUSED(n_out);
    char buf[AM_SHAPE_BUF];
    bool has;
    double lo, hi;
    am_status st = histogram_range(attrs, &has, &lo, &hi);
    if (st == AM_OK) st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    int64_t bins;
    if (has) {
        bins = ((const histogram_attrs *)attrs)->bin_cnt.v;
    } else {
        if (in[1].ndim != 1 || in[1].dim[0] < 1)
            return am_fail(AM_ERR_SHAPE, "bins must be 1-D with at least one edge, not %s",
                           am_fmt_shape(&in[1], buf));
        bins = in[1].dim[0] - 1;
    }
    out[0] = (am_shape){.ndim = 1, .dim = {bins}};
    out[1] = (am_shape){.ndim = 1, .dim = {bins + 1}};
    return AM_OK;
}

static am_status histogram_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                 int n_out)
{
    am_status st = dtype_of_first(attrs, in, n_in, out, n_out);
    if (st != AM_OK) return st;
    if (n_in > 1 && in[1] != in[0])
        return am_fail(AM_ERR_DTYPE, "bins is %s but data is %s; they must match",
                       am_dtype_name(in[1]), am_dtype_name(in[0]));
    out[0] = AM_DTYPE_INT64;
    out[1] = in[0];
    return AM_OK;
}

/* The bin of x among sorted edges e[0..nb]: the last i with e[i] <= x, x == e[nb] in the
 * last bin; -1 outside [e[0], e[nb]]. */
static int64_t bin_of_edges(const am_view *e, int64_t nb, double x)
{
    if (!(x >= am_view_get(e, 0) && x <= am_view_get(e, nb))) return -1;
    int64_t lo = 0, hi = nb; /* e[lo] <= x; find the last such lo below nb */
    while (hi - lo > 1) {
        int64_t mid = (lo + hi) / 2;
        if (am_view_get(e, mid) <= x) lo = mid;
        else hi = mid;
    }
    return lo;
}

/* Counts of data in each bin (int64) and the bin edges (data's dtype). */
static am_status histogram_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                               int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const histogram_attrs *a = attrs;
    bool has;
    double lo = 0, hi = 0;
    am_status st = histogram_range(a, &has, &lo, &hi);
    if (st != AM_OK) return st;
    int64_t nb = out[0].dim[0], n = am_view_size(&in[0]);
    if (has && lo == hi) lo -= 0.5, hi += 0.5; /* as numpy widens an empty range */
    if (req[0] != AM_REQ_NULL) {
        int64_t *c = out[0].data;
        if (req[0] != AM_REQ_ADD) memset(c, 0, (size_t)nb * sizeof(int64_t));
        for (int64_t i = 0; i < n && nb > 0; i++) {
            double x = am_view_get(&in[0], i);
            int64_t b;
            if (has) {
                if (!(x >= lo && x <= hi)) continue;
                b = (int64_t)((x - lo) * (double)nb / (hi - lo));
                if (b >= nb) b = nb - 1;
            } else if ((b = bin_of_edges(&in[1], nb, x)) < 0) {
                continue;
            }
            c[b]++;
        }
    }
    if (req[1] != AM_REQ_NULL) {
        for (int64_t i = 0; i <= nb; i++) {
            double e = has ? lo + (double)i * (hi - lo) / (double)nb : am_view_get(&in[1], i);
            double prev = req[1] == AM_REQ_ADD ? am_view_get(&out[1], i) : 0.0;
            am_view_set(&out[1], i, prev + e);
        }
    }
    return AM_OK;
}

const am_op_def am_op_histogram = {
    .name = "_histogram", .input_names = (const char *const[]){"data", "bins", NULL},
    .num_inputs = histogram_num_inputs, .num_outputs = 2, .attrs = histogram_fields,
    .attrs_size = sizeof(histogram_attrs), .infer_shape = histogram_shape,
    .infer_dtype = histogram_dtype, .cpu = histogram_cpu, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NO_GRAD,
    .doc = "int64 counts of data per bin, and the bin edges: bin_cnt equal bins over range, "
           "or the edges of the bins input (the last bin holds its upper edge)."};

am_status am_histogram_at(am_array *data, am_array *bins, int64_t bin_cnt, double lo, double hi,
                          am_array **counts, am_array **edges, am_site at)
{
    histogram_attrs a;
    memset(&a, 0, sizeof a);
    if (!bins) {
        a.bin_cnt = (am_opt_int){.has = true, .v = bin_cnt};
        char l[28], h[28];
        am_format_double(lo, l, sizeof l), am_format_double(hi, h, sizeof h);
        snprintf(a.range, sizeof a.range, "(%s, %s)", l, h);
    } else {
        snprintf(a.range, sizeof a.range, "None");
    }
    am_array *in[2] = {data, bins}, *y[2] = {NULL, NULL};
    am_status st = am_op_call(&am_op_histogram, &a, in, bins ? 2 : 1, y, 2, at);
    *counts = y[0], *edges = y[1];
    return st;
}

/* ---- _contrib_boolean_mask -------------------------------------------------------------- */

typedef struct boolean_mask_attrs {
    int64_t axis;
} boolean_mask_attrs;

static const am_attr_field boolean_mask_fields[] = {
    AM_ATTR_FIELD(boolean_mask_attrs, axis, AM_ATTR_INT, "0", "the axis index selects along"),
    {0}};

/* data's axis (normalised) and index (len(axis),): the checks both ops make. */
static am_status mask_check(const boolean_mask_attrs *a, const am_shape *data,
                            const am_shape *index, int *axis)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = am_norm_axis(a->axis, data->ndim, "axis", axis);
    if (st != AM_OK) return st;
    if (index->ndim != 1 || index->dim[0] != data->dim[*axis])
        return am_fail(AM_ERR_SHAPE, "index %s must be (%lld,), the length of axis %d of data "
                       "%s", am_fmt_shape(index, b0), (long long)data->dim[*axis], *axis,
                       am_fmt_shape(data, b1));
    return AM_OK;
}

/* Graphs cannot hold it: the output's length along axis is the count of nonzeros. */
static am_status boolean_mask_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                    int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(out), AM_UNUSED(n_out);
    return am_fail(AM_ERR_UNSUPPORTED, "the output's shape depends on the values of index, so "
                   "only eager calls run it, not graphs, plans or hybridized blocks");
}

static am_status boolean_mask_value_shape(const void *attrs, const am_view *in, int n_in,
                                          am_shape *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_shape data = am_view_shape(&in[0]), index = am_view_shape(&in[1]);
    int axis;
    am_status st = mask_check(attrs, &data, &index, &axis);
    if (st != AM_OK) return st;
    int64_t kept = 0;
    for (int64_t i = 0; i < index.dim[0]; i++) kept += am_view_get(&in[1], i) != 0;
    out[0] = data;
    out[0].dim[axis] = kept;
    return AM_OK;
}

/* Copies the slices of x along axis whose index is nonzero into y (forward), or adds y's
 * slices back into x's places (backward, x zeroed first unless req is ADD). */
static am_status mask_copy(const am_view *data_like, const am_view *index, int axis,
                           const am_view *src, const am_view *dst, am_req req, bool scatter)
{
    am_shape s = am_view_shape(data_like);
    int64_t lead, trail, len = s.dim[axis], kept = 0;
    am_split3(&s, axis, &lead, &trail);
    for (int64_t i = 0; i < len; i++) kept += am_view_get(index, i) != 0;
    if (req == AM_REQ_NULL) return AM_OK;
    if (scatter && req != AM_REQ_ADD)
        memset(dst->data, 0, (size_t)am_view_size(dst) * am_dtype_size(dst->dtype));
    bool add = req == AM_REQ_ADD || scatter;
    AM_DTYPE_SWITCH(dst->dtype, T, {
        const T *x = src->data;
        T *y = dst->data;
        for (int64_t o = 0; o < lead; o++) {
            int64_t r = 0;
            for (int64_t i = 0; i < len; i++) {
                if (am_view_get(index, i) == 0) continue;
                const T *a = scatter ? x + (o * kept + r) * trail : x + (o * len + i) * trail;
                T *b = scatter ? y + (o * len + i) * trail : y + (o * kept + r) * trail;
                for (int64_t k = 0; k < trail; k++) b[k] = add ? b[k] + a[k] : a[k];
                r++;
            }
        }
    });
    return AM_OK;
}

static am_status boolean_mask_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                  const am_view *in, int n_in, const am_view *out, int n_out,
                                  const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_shape data = am_view_shape(&in[0]), index = am_view_shape(&in[1]);
    int axis;
    am_status st = mask_check(attrs, &data, &index, &axis);
    return st == AM_OK ? mask_copy(&in[0], &in[1], axis, &in[0], &out[0], req[0], false) : st;
}

extern const am_op_def am_op_backward_boolean_mask;

/* d data = the output gradient's slices put back where they came from, zeros elsewhere. */
static am_status boolean_mask_grad(const am_grad_ctx *g, am_array *const *in,
                                   am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    am_array *x[3] = {og[0], in[0], in[1]};
    return am_op_call(&am_op_backward_boolean_mask, g->attrs, x, 3, &ig[0], 1, g->at);
}

const am_op_def am_op_boolean_mask = {
    .name = "_contrib_boolean_mask", .input_names = (const char *const[]){"data", "index", NULL},
    .num_outputs = 1, .attrs = boolean_mask_fields, .attrs_size = sizeof(boolean_mask_attrs),
    .infer_shape = boolean_mask_shape, .value_shape = boolean_mask_value_shape,
    .infer_dtype = dtype_of_first, .cpu = boolean_mask_cpu, .gradient = boolean_mask_grad,
    .fuse = AM_FUSE_OPAQUE,
    .doc = "The slices of data along axis whose index is nonzero; eager only (the shape "
           "depends on index's values)."};

am_array *am_boolean_mask_at(am_array *data, am_array *index, int axis, am_site at)
{
    boolean_mask_attrs a = {.axis = axis};
    am_array *in[2] = {data, index}, *y = NULL;
    am_op_call(&am_op_boolean_mask, &a, in, 2, &y, 1, at);
    return y;
}

/* _backward_contrib_boolean_mask (ograd, data, index): data lends its shape. */
static am_status backward_mask_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                     int n_out)
{
    AM_UNUSED(n_out);
    int axis;
    am_status st = am_need_known(in, n_in);
    if (st == AM_OK) st = mask_check(attrs, &in[1], &in[2], &axis);
    if (st != AM_OK) return st;
    out[0] = in[1];
    return AM_OK;
}

static am_status backward_mask_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                   const am_view *in, int n_in, const am_view *out, int n_out,
                                   const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_shape data = am_view_shape(&in[1]), index = am_view_shape(&in[2]);
    int axis;
    am_status st = mask_check(attrs, &data, &index, &axis);
    if (st != AM_OK) return st;
    am_shape want = data, og = am_view_shape(&in[0]);
    want.dim[axis] = 0;
    for (int64_t i = 0; i < index.dim[0]; i++) want.dim[axis] += am_view_get(&in[2], i) != 0;
    if (!am_shape_equal(og, want))
        return am_fail(AM_ERR_SHAPE, "ograd %s is not %s, the forward result for this index",
                       am_fmt_shape(&og, b0), am_fmt_shape(&want, b1));
    return mask_copy(&in[1], &in[2], axis, &in[0], &out[0], req[0], true);
}

/* Linear in ograd: its gradient is boolean_mask of the incoming gradient. */
static am_status backward_mask_grad(const am_grad_ctx *g, am_array *const *in,
                                    am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    am_array *x[2] = {og[0], in[2]};
    return am_op_call(&am_op_boolean_mask, g->attrs, x, 2, &ig[0], 1, g->at);
}

const am_op_def am_op_backward_boolean_mask = {
    .name = "_backward_contrib_boolean_mask",
    .input_names = (const char *const[]){"ograd", "data", "index", NULL}, .num_outputs = 1,
    .attrs = boolean_mask_fields, .attrs_size = sizeof(boolean_mask_attrs),
    .infer_shape = backward_mask_shape, .infer_dtype = dtype_of_first, .cpu = backward_mask_cpu,
    .gradient = backward_mask_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "_contrib_boolean_mask's gradient: ograd's slices put back where index is nonzero "
           "in zeros of data's shape."};

/* ---- _contrib_count_sketch ------------------------------------------------------------------ */

typedef struct count_sketch_attrs {
    int64_t out_dim, processing_batch_size;
} count_sketch_attrs;

static const am_attr_field count_sketch_fields[] = {
    AM_ATTR_FIELD(count_sketch_attrs, out_dim, AM_ATTR_INT, NULL, "length of each sketch"),
    AM_ATTR_FIELD(count_sketch_attrs, processing_batch_size, AM_ATTR_INT, "32",
                  "rows MXNet's GPU kernel takes at a time (no effect here)"),
    {0}};

/* data (..., d); h and s hold d entries each ((1, d) in MXNet); the result (..., out_dim). */
static am_status count_sketch_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                    int n_out)
{
    AM_UNUSED(n_out);
    const count_sketch_attrs *a = attrs;
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF], b2[AM_SHAPE_BUF];
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    if (a->out_dim < 1)
        return am_fail(AM_ERR_ARG, "out_dim=%lld must be positive", (long long)a->out_dim);
    int64_t d = in[0].ndim > 0 ? in[0].dim[in[0].ndim - 1] : -1;
    if (d < 0 || am_shape_size(&in[1]) != d || am_shape_size(&in[2]) != d)
        return am_fail(AM_ERR_SHAPE, "data %s must have a last axis of size d and h %s and s "
                       "%s d entries each", am_fmt_shape(&in[0], b0), am_fmt_shape(&in[1], b1),
                       am_fmt_shape(&in[2], b2));
    out[0] = in[0];
    out[0].dim[out[0].ndim - 1] = a->out_dim;
    return AM_OK;
}

/* out[r, h[i]] += s[i] * data[r, i]. */
static am_status count_sketch_cpu(const am_kernel_ctx *ctx, const void *attrs,
                                  const am_view *in, int n_in, const am_view *out, int n_out,
                                  const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t k = ((const count_sketch_attrs *)attrs)->out_dim, d = am_view_size(&in[1]);
    int64_t rows = d ? am_view_size(&in[0]) / d : 0;
    for (int64_t i = 0; i < d; i++) {
        int64_t j = index_at(&in[1], i);
        if (j < 0 || j >= k)
            return am_fail(AM_ERR_ARG, "h[%lld] = %lld is outside [0, out_dim=%lld)",
                           (long long)i, (long long)j, (long long)k);
    }
    if (req[0] == AM_REQ_NULL) return AM_OK;
    if (req[0] != AM_REQ_ADD)
        memset(out[0].data, 0, (size_t)am_view_size(&out[0]) * am_dtype_size(out[0].dtype));
    AM_FLOAT_SWITCH(out[0].dtype, T, {
        const T *x = in[0].data;
        T *y = out[0].data;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t i = 0; i < d; i++)
                y[r * k + index_at(&in[1], i)] += (T)am_view_get(&in[2], i) * x[r * d + i];
    });
    return AM_OK;
}

/* d data[r, i] = s[i] * og[r, h[i]]: take along the last axis, times s; h and s get none. */
static am_status count_sketch_grad(const am_grad_ctx *g, am_array *const *in,
                                   am_array *const *out, am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    int nd = am_array_ndim(in[0]);
    am_shape flat = {.ndim = 1, .dim = {am_array_size(in[1])}};
    am_array *h = am_reshape_at(in[1], flat, false, g->at);
    am_array *s = h ? am_reshape_at(in[2], flat, false, g->at) : NULL;
    if (s && am_array_dtype(s) != am_array_dtype(og[0]))
        s = am_astype_at(s, am_array_dtype(og[0]), g->at);
    am_array *t = s ? am_take_at(og[0], h, nd - 1, "clip", g->at) : NULL;
    ig[0] = t ? am_broadcast_mul_at(t, s, g->at) : NULL;
    return ig[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_count_sketch = {
    .name = "_contrib_count_sketch", .input_names = (const char *const[]){"data", "h", "s", NULL},
    .num_outputs = 1, .attrs = count_sketch_fields, .attrs_size = sizeof(count_sketch_attrs),
    .infer_shape = count_sketch_shape, .infer_dtype = dtype_of_first, .cpu = count_sketch_cpu,
    .gradient = count_sketch_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "Count sketch of data's last axis: out[..., h[i]] += s[i] * data[..., i] "
           "(MXNet 1.9.1 runs it on the GPU only)."};
