/* Three of MXNet 1.x's state-setting ops: _set_value (fills its output with a number),
 * reset_arrays (zeroes its inputs in place, as MXNet's trainer does to gradient buffers)
 * and IdentityAttachKLSparseReg (identity forward; its backward adds a KL sparsity penalty
 * and updates a moving average of the mean activation, an auxiliary state).
 * docs/ops-misc2.md says where they differ from MXNet 1.9.1. */
#include "shape_impl.h"

/* Stores v into y[i] by req (never AM_REQ_NULL here). */
#define STORE(req, y, i, v)                              \
    do {                                                 \
        if ((req) == AM_REQ_ADD) (y)[i] += (v);          \
        else (y)[i] = (v);                               \
    } while (0)

/* ---- _set_value ---------------------------------------------------------------------- */

typedef struct set_value_attrs {
    double src;
} set_value_attrs;

static const am_attr_field set_value_fields[] = {
    AM_ATTR_FIELD(set_value_attrs, src, AM_ATTR_FLOAT, NULL, "the value to store"),
    {0}};

/* MXNet's _set_value writes into an existing array (out=) and knows no shape of its own.
 * Here the output keeps the shape graph inference already holds for it; with none (an
 * eager call) it is a 0-d array.  am_set_value fills an existing array, as MXNet does. */
static am_status set_value_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                 int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (out[0].ndim < 0) out[0] = (am_shape){.ndim = 0};
    return AM_OK;
}

static am_status set_value_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                 int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    out[0] = AM_DTYPE_FLOAT32;
    return AM_OK;
}

static am_status set_value_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                               int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const set_value_attrs *a = attrs;
    int64_t n = am_view_size(&out[0]);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    AM_DTYPE_SWITCH(out[0].dtype, T, {
        T *y = out[0].data, v = (T)a->src;
        for (int64_t i = 0; i < n; i++) STORE(req[0], y, i, v);
    });
    return AM_OK;
}

const am_op_def am_op_set_value = {
    .name = "_set_value", .input_names = (const char *const[]){NULL}, .num_outputs = 1,
    .attrs = set_value_fields, .attrs_size = sizeof(set_value_attrs),
    .infer_shape = set_value_shape, .infer_dtype = set_value_dtype, .cpu = set_value_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Fills its output with src; the shape is the one graph inference gives the "
           "output (0-d eagerly; am_set_value fills an existing array)."};

am_status am_set_value_at(am_array *x, double src, am_site at)
{
    if (!x) return am_fail(AM_ERR_ARG, "_set_value: the array is NULL at %s:%d",
                           at.file ? at.file : "?", at.line);
    if (am_array_is_symbolic(x))
        return am_fail(AM_ERR_SYMBOLIC, "_set_value: cannot fill a symbolic array at %s:%d",
                       at.file ? at.file : "?", at.line);
    set_value_attrs a = {.src = src};
    am_req req = AM_REQ_WRITE;
    return am_op_run_into(&am_op_set_value, &a, NULL, 0, &x, &req);
}

/* ---- reset_arrays -------------------------------------------------------------------- */

typedef struct reset_attrs {
    int64_t num_arrays;
} reset_attrs;

static const am_attr_field reset_fields[] = {
    AM_ATTR_FIELD(reset_attrs, num_arrays, AM_ATTR_INT, NULL, "number of arrays to zero"),
    {0}};

static int reset_count(const void *attrs)
{
    int64_t n = ((const reset_attrs *)attrs)->num_arrays;
    return n < 1 ? 1 : n > AM_MAX_OP_IO ? AM_MAX_OP_IO : (int)n;
}

static bool reset_mutates(const void *attrs, int i)
{
    return i >= 0 && i < reset_count(attrs);
}

static am_status reset_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                             int n_out)
{
    AM_UNUSED(n_out);
    int64_t n = ((const reset_attrs *)attrs)->num_arrays;
    if (n < 1 || n > AM_MAX_OP_IO)
        return am_fail(AM_ERR_ARG, "num_arrays must be in [1, %d], not %lld", AM_MAX_OP_IO,
                       (long long)n);
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    for (int i = 0; i < n_in; i++) out[i] = in[i];
    return AM_OK;
}

static am_status reset_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    for (int i = 0; i < n_in; i++) {
        if ((unsigned)in[i] >= AM_DTYPE_COUNT)
            return am_fail(AM_ERR_DTYPE, "the dtype of input %d is unknown", i);
        out[i] = in[i];
    }
    return AM_OK;
}

/* Zeroes every input in place; output i is input i after the reset (zeros). */
static am_status reset_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_out);
    for (int i = 0; i < n_in; i++) {
        size_t bytes = (size_t)am_view_size(&in[i]) * am_dtype_size(in[i].dtype);
        if (bytes) memset(in[i].data, 0, bytes);
        if (req[i] == AM_REQ_NULL || req[i] == AM_REQ_ADD || out[i].data == in[i].data)
            continue;
        bytes = (size_t)am_view_size(&out[i]) * am_dtype_size(out[i].dtype);
        if (bytes) memset(out[i].data, 0, bytes);
    }
    return AM_OK;
}

static const am_inplace_pair reset_inplace[] = {
    {0, 0}, {1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}, {6, 6}, {7, 7}, {-1, -1}};

const am_op_def am_op_reset_arrays = {
    .name = "reset_arrays", .input_names = (const char *const[]){"data", NULL},
    .num_inputs = reset_count, .num_outputs_of = reset_count, .mutates_input = reset_mutates,
    .attrs = reset_fields, .attrs_size = sizeof(reset_attrs), .infer_shape = reset_shape,
    .infer_dtype = reset_dtype, .cpu = reset_cpu, .inplace = reset_inplace,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD | AM_OP_VARIADIC,
    .doc = "Sets each of its num_arrays inputs to zero in place; output i is input i "
           "afterwards (MXNet's op has no outputs)."};

am_status am_reset_arrays_at(am_array *const *arrays, int n, am_site at)
{
    if (n < 1 || n > AM_MAX_OP_IO || !arrays)
        return am_fail(AM_ERR_ARG, "reset_arrays: needs 1 to %d arrays, got %d at %s:%d",
                       AM_MAX_OP_IO, n, at.file ? at.file : "?", at.line);
    reset_attrs a = {.num_arrays = n};
    am_array *out[AM_MAX_OP_IO] = {0};
    return am_op_call(&am_op_reset_arrays, &a, arrays, n, out, n, at);
}

/* ---- IdentityAttachKLSparseReg ------------------------------------------------------- */

typedef struct klreg_attrs {
    double sparseness_target, penalty, momentum;
} klreg_attrs;

static const am_attr_field klreg_fields[] = {
    AM_ATTR_FIELD(klreg_attrs, sparseness_target, AM_ATTR_FLOAT, "0.1",
                  "target mean activation rho, in [0, 1]"),
    AM_ATTR_FIELD(klreg_attrs, penalty, AM_ATTR_FLOAT, "0.001", "weight of the penalty"),
    AM_ATTR_FIELD(klreg_attrs, momentum, AM_ATTR_FLOAT, "0.9",
                  "decay of the moving average, in [0, 1]"),
    {0}};

static am_status klreg_check(const klreg_attrs *a)
{
    if (!(a->sparseness_target >= 0 && a->sparseness_target <= 1))
        return am_fail(AM_ERR_ARG, "sparseness_target must be in [0, 1], not %g",
                       a->sparseness_target);
    if (!(a->momentum >= 0 && a->momentum <= 1))
        return am_fail(AM_ERR_ARG, "momentum must be in [0, 1], not %g", a->momentum);
    return AM_OK;
}

/* data (N, C, 1...) read as rows of C; moving_avg (C,), filled when unknown. */
static am_status klreg_data_shape(const am_shape *data, am_shape *avg)
{
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    if (data->ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of data is unknown");
    int64_t size = am_shape_size(data);
    if (data->ndim < 2 || (data->dim[0] && size / data->dim[0] != data->dim[1]))
        return am_fail(AM_ERR_SHAPE, "data must be (N, C) (trailing axes of size 1 "
                       "allowed), not %s", am_fmt_shape(data, b0));
    am_shape want = {.ndim = 1, .dim = {data->dim[1]}};
    if (avg->ndim < 0) *avg = want;
    else if (!am_shape_equal(*avg, want))
        return am_fail(AM_ERR_SHAPE, "moving_avg must be %s for data %s, not %s",
                       am_fmt_shape(&want, b0), am_fmt_shape(data, b1),
                       am_fmt_shape(avg, b1));
    return AM_OK;
}

static am_status klreg_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_status st = klreg_check(attrs);
    if (st == AM_OK) st = klreg_data_shape(&in[0], &in[1]);
    if (st != AM_OK) return st;
    out[0] = in[0];
    return AM_OK;
}

static am_status float_all_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                 int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    if (!am_dtype_is_float(in[0]))
        return am_fail(AM_ERR_DTYPE, "data must be floating point, not %s",
                       am_dtype_name(in[0]));
    for (int i = 1; i < n_in; i++) {
        if ((unsigned)in[i] >= AM_DTYPE_COUNT) in[i] = in[0];
        if (in[i] != in[0])
            return am_fail(AM_ERR_DTYPE, "input %d is %s but data is %s", i,
                           am_dtype_name(in[i]), am_dtype_name(in[0]));
    }
    out[0] = in[0];
    return AM_OK;
}

static am_status klreg_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t n = am_view_size(&out[0]);
    if (req[0] == AM_REQ_NULL || n == 0) return AM_OK;
    AM_FLOAT_SWITCH(out[0].dtype, T, {
        const T *x = in[0].data;
        T *y = out[0].data;
        if (y != x || req[0] == AM_REQ_ADD)
            for (int64_t i = 0; i < n; i++) STORE(req[0], y, i, x[i]);
    });
    return AM_OK;
}

static am_status klreg_back_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    char b0[AM_SHAPE_BUF], b1[AM_SHAPE_BUF];
    am_status st = klreg_check(attrs);
    if (st == AM_OK) st = klreg_data_shape(&in[1], &in[2]);
    if (st != AM_OK) return st;
    if (in[0].ndim < 0) in[0] = in[1];
    if (!am_shape_equal(in[0], in[1]))
        return am_fail(AM_ERR_SHAPE, "out_grad %s does not match data %s",
                       am_fmt_shape(&in[0], b0), am_fmt_shape(&in[1], b1));
    out[0] = in[1];
    return AM_OK;
}

static bool klreg_back_mutates(const void *attrs, int i)
{
    AM_UNUSED(attrs);
    return i == 2;
}

/* moving_avg = momentum * moving_avg + (1 - momentum) * mean over rows of data;
 * in_grad = out_grad + penalty * (-rho / moving_avg + (1 - rho) / (1 - moving_avg)).
 * An empty batch leaves moving_avg as it is. */
static am_status klreg_back_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const klreg_attrs *a = attrs;
    int64_t rows = in[1].dim[0], c = in[1].dim[1];
    double rho = a->sparseness_target, mom = a->momentum;
    AM_FLOAT_SWITCH(in[1].dtype, T, {
        const T *og = in[0].data, *x = in[1].data;
        T *ma = in[2].data, *ig = out[0].data;
        for (int64_t j = 0; rows > 0 && j < c; j++) {
            double s = 0;
            for (int64_t r = 0; r < rows; r++) s += x[r * c + j];
            ma[j] = (T)(mom * ma[j] + (1 - mom) * (s / (double)rows));
        }
        if (req[0] != AM_REQ_NULL)
            for (int64_t r = 0; r < rows; r++)
                for (int64_t j = 0; j < c; j++) {
                    double m = ma[j];
                    T v = (T)(og[r * c + j] + a->penalty * (-rho / m + (1 - rho) / (1 - m)));
                    STORE(req[0], ig, r * c + j, v);
                }
    });
    return AM_OK;
}

const am_op_def am_op_backward_klreg = {
    .name = "_backward_IdentityAttachKLSparseReg",
    .input_names = (const char *const[]){"out_grad", "data", "moving_avg", NULL},
    .num_outputs = 1, .mutates_input = klreg_back_mutates, .attrs = klreg_fields,
    .attrs_size = sizeof(klreg_attrs), .infer_shape = klreg_back_shape,
    .infer_dtype = float_all_dtype, .cpu = klreg_back_cpu, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NO_GRAD,
    .doc = "IdentityAttachKLSparseReg's gradient: updates moving_avg in place from the "
           "batch mean of data and adds the KL sparsity penalty to out_grad."};

static am_status klreg_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                            am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    am_array *x[3] = {og[0], in[0], in[1]};
    return am_op_call(&am_op_backward_klreg, g->attrs, x, 3, &ig[0], 1, g->at);
}

const am_op_def am_op_identity_attach_kl_sparse_reg = {
    .name = "IdentityAttachKLSparseReg",
    .input_names = (const char *const[]){"data", "moving_avg", NULL}, .num_outputs = 1,
    .num_aux = 1, .attrs = klreg_fields, .attrs_size = sizeof(klreg_attrs),
    .infer_shape = klreg_shape, .infer_dtype = float_all_dtype, .cpu = klreg_cpu,
    .gradient = klreg_grad, .inplace = (const am_inplace_pair[]){{0, 0}, {-1, -1}},
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_SURROGATE_GRAD,
    .doc = "Identity; its gradient adds a KL sparsity penalty toward sparseness_target and "
           "updates the moving average of each column's mean (aux moving_avg)."};

am_array *am_identity_attach_kl_sparse_reg_at(am_array *data, am_array *moving_avg,
                                              double sparseness_target, double penalty,
                                              double momentum, am_site at)
{
    klreg_attrs a = {.sparseness_target = sparseness_target, .penalty = penalty,
                     .momentum = momentum};
    am_array *in[2] = {data, moving_avg}, *y = NULL;
    am_op_call(&am_op_identity_attach_kl_sparse_reg, &a, in, 2, &y, 1, at);
    return y;
}
