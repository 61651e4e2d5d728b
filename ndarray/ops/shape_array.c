/* shape_array and size_array: an array's shape, and its element count, as
 * int64 arrays (MXNet's ops of those names).  They read no data and have no
 * gradient. */
#include "shape_impl.h"

static const char *const data_input[] = {"data", NULL};

static am_status int64_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    out[0] = AM_DTYPE_INT64;
    return AM_OK;
}

/* Stores v[i] into the int64 output, honouring req. */
static void store(const am_view *out, am_req req, const int64_t *v, int n)
{
    int64_t *y = out->data;
    for (int i = 0; i < n; i++) {
        if (req == AM_REQ_ADD) y[i] = (int64_t)((uint64_t)y[i] + (uint64_t)v[i]);
        else if (req != AM_REQ_NULL) y[i] = v[i];
    }
}

/* ---- shape_array: (ndim,) ------------------------------------------------------------- */

static am_status shape_array_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                   int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    out[0] = (am_shape){.ndim = 1, .dim = {in[0].ndim}};
    return AM_OK;
}

static am_status shape_array_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                 int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    store(&out[0], req[0], in[0].dim, in[0].ndim);
    return AM_OK;
}

const am_op_def am_op_shape_array = {
    .name = "shape_array", .input_names = data_input, .num_outputs = 1,
    .infer_shape = shape_array_shape, .infer_dtype = int64_dtype, .cpu = shape_array_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "data's shape as a 1-D int64 array of ndim elements."};

am_array *am_shape_array_at(am_array *x, am_site at)
{
    return am_call1(&am_op_shape_array, NULL, x, at);
}

/* ---- size_array: (1,) ------------------------------------------------------------------ */

static am_status size_array_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                  int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    am_status st = am_need_known(in, n_in);
    if (st != AM_OK) return st;
    out[0] = (am_shape){.ndim = 1, .dim = {1}};
    return AM_OK;
}

static am_status size_array_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const int64_t n = am_view_size(&in[0]);
    store(&out[0], req[0], &n, 1);
    return AM_OK;
}

const am_op_def am_op_size_array = {
    .name = "size_array", .input_names = data_input, .num_outputs = 1,
    .infer_shape = size_array_shape, .infer_dtype = int64_dtype, .cpu = size_array_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "data's number of elements as a (1,) int64 array."};

am_array *am_size_array_at(am_array *x, am_site at)
{
    return am_call1(&am_op_size_array, NULL, x, at);
}
