/* amp_cast and amp_multicast, the casts MXNet's automatic mixed precision writes into a
 * graph.  As in MXNet 1.9.1 they convert only low-precision and float32 data (float16,
 * bfloat16, float32) and pass every other dtype through unchanged.  Both read and write
 * the narrow dtypes themselves (.dtypes), so that dtype inference sees them as they are. */
#include "../ndarray_impl.h"

/* MXNet's spellings of amp_cast's dtype, in its order. */
static const char *const amp_dtypes[] = {"bfloat16", "float16", "float32", "float64",
                                         "int32", "int64", "int8", "uint8", NULL};

typedef struct amp_cast_attrs {
    int dtype; /* index into amp_dtypes */
} amp_cast_attrs;

static const am_attr_field amp_cast_fields[] = {
    AM_ATTR_ENUM_FIELD(amp_cast_attrs, dtype, amp_dtypes, NULL,
                       "target dtype of float32, float16 and bfloat16 data"),
    {0}};

/* True for the dtypes AMP casts between. */
static bool amp_castable(am_dtype t)
{
    return t == AM_DTYPE_FLOAT32 || t == AM_DTYPE_FLOAT16 || t == AM_DTYPE_BFLOAT16;
}

static am_status amp_cast_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const char *name = amp_dtypes[((const amp_cast_attrs *)attrs)->dtype];
    am_dtype t;
    if (!amp_castable(in[0])) {
        out[0] = in[0];
        return AM_OK;
    }
    if (!am_dtype_from_name(name, &t))
        return am_fail(AM_ERR_UNSUPPORTED, "dtype=%s is not an Amber dtype", name);
    out[0] = t;
    return AM_OK;
}

/* out = in converted element by element (any pair of Amber's dtypes). */
static am_status convert(const am_view *in, const am_view *out, am_req req)
{
    int64_t n = am_view_size(in);
    if (req == AM_REQ_NULL) return AM_OK;
    if (req != AM_REQ_ADD) return am_dtype_convert(in->data, in->dtype, out->data, out->dtype, n);
    if (am_dtype_compute(in->dtype) != in->dtype || am_dtype_compute(out->dtype) != out->dtype) {
        for (int64_t i = 0; i < n; i++) am_view_set(out, i, am_view_get(out, i) + am_view_get(in, i));
        return AM_OK;
    }
    AM_DTYPE_SWITCH(in->dtype, TI, {
        const TI *x = in->data;
        AM_DTYPE_SWITCH(out->dtype, TO, {
            TO *y = out->data;
            AM_OMP_FOR_N
            for (int64_t i = 0; i < n; i++) y[i] = (TO)(y[i] + (TO)x[i]);
        });
    });
    return AM_OK;
}

static am_status amp_cast_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                              int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return convert(&in[0], &out[0], req[0]);
}

/* The output gradient cast back to each input's dtype. */
static am_status amp_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                          am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    for (int i = 0; i < g->n_in; i++) {
        if (!g->need_grad[i]) continue;
        am_dtype t = am_array_dtype(in[i]);
        ig[i] = am_array_dtype(og[i]) == t ? og[i] : am_astype_at(og[i], t, g->at);
        if (!ig[i]) return am_last_status();
    }
    return AM_OK;
}

const am_op_def am_op_amp_cast = {
    .name = "amp_cast", .input_names = (const char *const[]){"data", NULL}, .num_outputs = 1,
    .attrs = amp_cast_fields, .attrs_size = sizeof(amp_cast_attrs),
    .infer_shape = am_infer_shape_same, .infer_dtype = amp_cast_dtype, .cpu = amp_cast_cpu,
    .gradient = amp_grad,
    .fuse = AM_FUSE_OPAQUE, .dtypes = AM_DTYPES_NARROW,
    .doc = "AMP's cast: float32, float16 and bfloat16 data becomes dtype; other dtypes pass "
           "through unchanged."};

am_array *am_amp_cast_at(am_array *x, am_dtype dtype, am_site at)
{
    amp_cast_attrs a = {.dtype = -1};
    for (int i = 0; amp_dtypes[i]; i++)
        if (strcmp(amp_dtypes[i], am_dtype_name(dtype)) == 0) a.dtype = i;
    if (a.dtype < 0) return am_fail_null("amp_cast", at, AM_ERR_ARG, "dtype %d is not one of "
                                         "amp_cast's", (int)dtype);
    am_array *y = NULL;
    am_op_call(&am_op_amp_cast, &a, &x, 1, &y, 1, at);
    return y;
}

/* ---- amp_multicast ----------------------------------------------------------------------- */

typedef struct amp_multicast_attrs {
    int64_t num_outputs;
    bool cast_narrow;
} amp_multicast_attrs;

static const am_attr_field amp_multicast_fields[] = {
    AM_ATTR_FIELD(amp_multicast_attrs, num_outputs, AM_ATTR_INT, NULL,
                  "number of inputs, each with its output"),
    AM_ATTR_FIELD(amp_multicast_attrs, cast_narrow, AM_ATTR_BOOL, "False",
                  "cast to the narrowest instead of the widest type"),
    {0}};

static int multicast_count(const void *attrs)
{
    int64_t n = ((const amp_multicast_attrs *)attrs)->num_outputs;
    return n < 1 ? 1 : n > AM_MAX_OP_IO ? AM_MAX_OP_IO : (int)n;
}

static am_status multicast_check(const amp_multicast_attrs *a)
{
    if (a->num_outputs < 1 || a->num_outputs > AM_MAX_OP_IO)
        return am_fail(AM_ERR_ARG, "num_outputs=%lld must be 1 to %d", (long long)a->num_outputs,
                       AM_MAX_OP_IO);
    return AM_OK;
}

static am_status multicast_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                 int n_out)
{
    AM_UNUSED(n_out);
    am_status st = multicast_check(attrs);
    if (st != AM_OK) return st;
    for (int i = 0; i < n_in; i++) {
        if (in[i].ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of input %d is unknown", i);
        out[i] = in[i];
    }
    return AM_OK;
}

/* The castable inputs all take their widest dtype (float32 over the 16-bit ones), or with
 * cast_narrow their narrowest (float16, then bfloat16, then float32); others keep theirs. */
static am_status multicast_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                 int n_out)
{
    AM_UNUSED(n_out);
    am_status st = multicast_check(attrs);
    if (st != AM_OK) return st;
    bool narrow = ((const amp_multicast_attrs *)attrs)->cast_narrow, seen[3] = {0};
    static const am_dtype order[3] = {AM_DTYPE_FLOAT16, AM_DTYPE_BFLOAT16, AM_DTYPE_FLOAT32};
    for (int i = 0; i < n_in; i++)
        for (int k = 0; k < 3; k++) seen[k] |= in[i] == order[k];
    am_dtype to = AM_DTYPE_COUNT;
    for (int k = 0; k < 3; k++) {
        int j = narrow ? k : 2 - k;
        if (seen[j] && to == AM_DTYPE_COUNT) to = order[j];
    }
    for (int i = 0; i < n_in; i++) out[i] = amp_castable(in[i]) ? to : in[i];
    return AM_OK;
}

static am_status multicast_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                               int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_out);
    for (int i = 0; i < n_in; i++) {
        am_status st = convert(&in[i], &out[i], req[i]);
        if (st != AM_OK) return st;
    }
    return AM_OK;
}

const am_op_def am_op_amp_multicast = {
    .name = "amp_multicast", .input_names = (const char *const[]){"data", NULL},
    .num_inputs = multicast_count, .num_outputs = 1, .num_outputs_of = multicast_count,
    .attrs = amp_multicast_fields, .attrs_size = sizeof(amp_multicast_attrs),
    .infer_shape = multicast_shape, .infer_dtype = multicast_dtype, .cpu = multicast_cpu,
    .gradient = amp_grad, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_VARIADIC,
    .dtypes = AM_DTYPES_NARROW,
    .doc = "AMP's cast of num_outputs inputs to their widest (cast_narrow: narrowest) "
           "low-precision-or-float32 type; other dtypes pass through."};

am_status am_amp_multicast_at(am_array *const *xs, int n, bool cast_narrow, am_array **out,
                              am_site at)
{
    amp_multicast_attrs a = {.num_outputs = n, .cast_narrow = cast_narrow};
    if (n < 1 || n > AM_MAX_OP_IO)
        return am_fail_at("amp_multicast", at, AM_ERR_ARG, "%d inputs (1 to %d)", n,
                          AM_MAX_OP_IO);
    return am_op_call(&am_op_amp_multicast, &a, xs, n, out, n, at);
}
