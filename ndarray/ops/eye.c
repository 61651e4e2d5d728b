/* _eye: an N x M array with ones on the k-th diagonal, as MXNet's _eye
 * (what mx.sym.eye writes).  A creation op: no inputs, no gradient. */
#include "../ndarray_impl.h"

typedef struct eye_attrs {
    int64_t N, M, k;
    char ctx[AM_MAX_ATTR_STRING];
    int dtype;
} eye_attrs;

static const am_attr_field eye_fields[] = {
    AM_ATTR_FIELD(eye_attrs, N, AM_ATTR_INT, NULL, "number of rows"),
    AM_ATTR_FIELD(eye_attrs, M, AM_ATTR_INT, "0", "number of columns; 0: N"),
    AM_ATTR_FIELD(eye_attrs, k, AM_ATTR_INT, "0",
                  "the diagonal: 0 the main one, > 0 above it, < 0 below it"),
    AM_ATTR_FIELD(eye_attrs, ctx, AM_ATTR_STRING, "", "device (informational)"),
    AM_ATTR_FIELD(eye_attrs, dtype, AM_ATTR_DTYPE, "float32", "element type"),
    {0}};

static am_status eye_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const eye_attrs *a = attrs;
    if (a->N < 0 || a->M < 0)
        return am_fail(AM_ERR_ARG, "N=%lld and M=%lld must not be negative", (long long)a->N,
                       (long long)a->M);
    out[0] = (am_shape){.ndim = 2, .dim = {a->N, a->M ? a->M : a->N}};
    return AM_OK;
}

static am_status eye_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int t = ((const eye_attrs *)attrs)->dtype;
    out[0] = t < 0 ? AM_DTYPE_FLOAT32 : (am_dtype)t;
    return AM_OK;
}

/* Row i has its one at column i + k, when that column exists. */
#define EYE_FILL(T)                                                                        \
    do {                                                                                   \
        T *y = out[0].data;                                                                \
        if (req[0] != AM_REQ_ADD) memset(y, 0, (size_t)(rows * cols) * sizeof(T));         \
        for (int64_t i = 0; i < rows; i++) {                                               \
            int64_t j = i + a->k;                                                          \
            if (j >= 0 && j < cols) y[i * cols + j] = (T)(y[i * cols + j] + 1);            \
        }                                                                                  \
    } while (0)

static am_status eye_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                         int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const eye_attrs *a = attrs;
    const int64_t rows = out[0].dim[0], cols = out[0].dim[1];
    if (req[0] == AM_REQ_NULL) return AM_OK;
    AM_DTYPE_SWITCH(out[0].dtype, T, EYE_FILL(T));
    return AM_OK;
}

const am_op_def am_op_eye = {
    .name = "_eye", .input_names = (const char *const[]){NULL}, .num_outputs = 1,
    .attrs = eye_fields, .attrs_size = sizeof(eye_attrs), .infer_shape = eye_shape,
    .infer_dtype = eye_dtype, .cpu = eye_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "An N x M (M = 0: N x N) array with ones on diagonal k, zeros elsewhere."};

am_array *am_eye(int64_t n, int64_t m, int64_t k, am_dtype dtype)
{
    eye_attrs a = {.N = n, .M = m, .k = k, .dtype = (int)dtype};
    am_array *y = NULL;
    if ((unsigned)dtype >= AM_DTYPE_COUNT) {
        am_fail(AM_ERR_DTYPE, "_eye: unknown dtype %d", (int)dtype);
        return NULL;
    }
    am_op_call(&am_op_eye, &a, NULL, 0, &y, 1, (am_site){NULL, 0});
    return y;
}
