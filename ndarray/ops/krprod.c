/* khatri_rao: the column-wise Kronecker product of num_args matrices with one
 * column count, as MXNet's (src/operator/contrib/krprod.cc).  MXNet registers
 * no gradient for it; Amber's is the product's derivative, written with
 * Reshape, broadcast_mul and sum. */
#include "../ndarray_impl.h"

#include <amber/ops.h>
#include <limits.h>

typedef struct krprod_attrs {
    int64_t num_args;
} krprod_attrs;

static const am_attr_field krprod_fields[] = {
    AM_ATTR_FIELD(krprod_attrs, num_args, AM_ATTR_INT, NULL, "number of input matrices"),
    {0}};

static int krprod_num_inputs(const void *attrs)
{
    int64_t n = ((const krprod_attrs *)attrs)->num_args;
    return n < 0 ? -1 : n > INT_MAX ? INT_MAX : (int)n;
}

/* (m_1, n), ..., (m_k, n) -> (m_1 ... m_k, n); k < AM_MAX_NDIM, so that the
 * gradient can view the result as (m_1, ..., m_k, n). */
static am_status krprod_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_out);
    const krprod_attrs *a = attrs;
    char s0[96], si[96];
    if (a->num_args < 1 || a->num_args != n_in)
        return am_fail(AM_ERR_ARG, "num_args=%lld but %d inputs given (at least 1)",
                       (long long)a->num_args, n_in);
    if (n_in >= AM_MAX_NDIM)
        return am_fail(AM_ERR_UNSUPPORTED, "%d inputs: at most %d", n_in, AM_MAX_NDIM - 1);
    int64_t rows = 1;
    for (int i = 0; i < n_in; i++) {
        if (in[i].ndim < 0) return am_fail(AM_ERR_SHAPE, "input %d's shape must be known", i);
        if (in[i].ndim != 2 || in[i].dim[1] != in[0].dim[1])
            return am_fail(AM_ERR_SHAPE, "input %d %s does not match input 0 %s: every input is "
                           "a matrix with the same number of columns", i,
                           am_shape_format(&in[i], si, sizeof(si)),
                           am_shape_format(&in[0], s0, sizeof(s0)));
        rows *= in[i].dim[0];
    }
    out[0] = AM_SHAPE(rows, in[0].dim[1]);
    return AM_OK;
}

/* Row r of the result, r = ((i_1 m_2 + i_2) m_3 + ...) + i_k, is the product of
 * rows i_1, ..., i_k of the inputs: the first input's index varies slowest. */
static am_status krprod_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_out);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    int64_t rows = out[0].dim[0], cols = out[0].dim[1];
    bool add = req[0] == AM_REQ_ADD;
    AM_FLOAT_SWITCH(out[0].dtype, T, {
        T *o = out[0].data;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++) {
                T p = 1;
                int64_t rest = r;
                for (int i = n_in - 1; i >= 0; i--) { /* the last index varies fastest */
                    int64_t m = in[i].dim[0];
                    p *= ((const T *)in[i].data)[(rest % m) * cols + c];
                    rest /= m;
                }
                o[r * cols + c] = add ? o[r * cols + c] + p : p;
            }
    });
    return AM_OK;
}

/* d input i = sum over the other inputs' row axes of G (viewed as
 * (m_1, ..., m_k, n)) times the other inputs broadcast along their own axis. */
static am_status krprod_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                             am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    int k = g->n_in;
    am_shape full = {.ndim = k + 1};
    int64_t cols = am_array_dim(og[0], 1);
    for (int t = 0; t < k; t++) full.dim[t] = am_array_dim(in[t], 0);
    full.dim[k] = cols;
    bool empty = am_shape_size(&full) == 0;
    am_array *gv = empty ? NULL : am_reshape_at(og[0], full, false, g->at);
    for (int i = 0; i < k; i++) {
        if (!g->need_grad[i]) continue;
        if (empty) {
            if (!(ig[i] = am_zeros_like_at(in[i], g->at))) return am_last_status();
            continue;
        }
        am_array *p = gv;
        int axes[AM_MAX_NDIM], na = 0;
        for (int t = 0; t < k; t++) {
            if (t == i) continue;
            am_shape s = {.ndim = k + 1};
            for (int d = 0; d <= k; d++) s.dim[d] = 1;
            s.dim[t] = full.dim[t];
            s.dim[k] = cols;
            p = am_broadcast_mul_at(p, am_reshape_at(in[t], s, false, g->at), g->at);
            axes[na++] = t;
        }
        if (!(ig[i] = na ? am_sum_at(p, axes, na, false, g->at)
                         : am_reshape_at(p, am_array_shape(in[i]), false, g->at)))
            return am_last_status();
    }
    return AM_OK;
}

const am_op_def am_op_khatri_rao = {
    .name = "khatri_rao", .input_names = (const char *const[]){"args", NULL},
    .num_inputs = krprod_num_inputs, .num_outputs = 1, .attrs = krprod_fields,
    .attrs_size = sizeof(krprod_attrs), .infer_shape = krprod_shape,
    .infer_dtype = am_infer_dtype_same, .cpu = krprod_cpu, .gradient = krprod_grad,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_VARIADIC,
    .doc = "Column-wise Kronecker product of num_args matrices (m_i, n): shape (prod m_i, n), "
           "the first input's row index varying slowest."};

am_array *am_khatri_rao_at(am_array *const *xs, int n, am_site at)
{
    krprod_attrs a = {.num_args = n};
    am_array *y = NULL;
    am_op_call(&am_op_khatri_rao, &a, xs, n < 0 ? 0 : n, &y, 1, at);
    return y;
}
