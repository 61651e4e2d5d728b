/* Creation and conversion ops: _zeros, _ones, _full, _arange, _linspace,
 * _random_uniform, _random_normal, zeros_like, ones_like, _copy, Cast. */
#include "../ndarray_impl.h"
#include "../../gpu/gpu_kernels.h"
#include "init_attrs.h"

#include <math.h>

/* ---- shared helpers -------------------------------------------------------- */

static const char *const no_inputs[] = {NULL};
static const char *const data_input[] = {"data", NULL};

/* a + b in T: floats add, integers wrap (no signed overflow). */
#define ADD_WRAP(T, a, b)                                                             \
    _Generic((T)0, float: (a) + (b), double: (a) + (b),                               \
             default: (T)((uint64_t)(a) + (uint64_t)(b)))

/* Stores value(i) into out honouring req; a float value becomes an integer
 * as x86 converts it (AM_CONVERT: NaN and out of range are defined too). */
#define STORE_LOOP(req, T, dst, n, value_i)                                           \
    do {                                                                              \
        if ((req) == AM_REQ_ADD) {                                                    \
            for (int64_t i = 0; i < (n); i++)                                         \
                (dst)[i] = (T)ADD_WRAP(T, (dst)[i], AM_CONVERT(T, (value_i)));        \
        } else if ((req) != AM_REQ_NULL) {                                            \
            AM_OMP_FOR_N                                                              \
            for (int64_t i = 0; i < (n); i++) (dst)[i] = AM_CONVERT(T, (value_i));    \
        }                                                                             \
    } while (0)

/* The shape attribute as the output shape; AM_DIM_UNKNOWN (a legacy MXNet
 * graph's 0) stays unknown for graph inference to fill from the consumers. */
static am_status shape_from_tuple(const am_tuple *t, am_shape *out)
{
    if (t->ndim < 0 || t->ndim > AM_MAX_NDIM)
        return am_fail(AM_ERR_SHAPE, "shape must have 0 to %d dimensions", AM_MAX_NDIM);
    out->ndim = t->ndim;
    for (int i = 0; i < t->ndim; i++) {
        if (t->v[i] < AM_DIM_UNKNOWN)
            return am_fail(AM_ERR_SHAPE, "shape dimension %d is negative", i);
        out->dim[i] = t->v[i];
    }
    return AM_OK;
}

static am_tuple tuple_from_shape(am_shape s)
{
    am_tuple t = {.ndim = s.ndim};
    for (int i = 0; i < s.ndim; i++) t.v[i] = s.dim[i];
    return t;
}

static am_dtype dtype_or(int t, am_dtype def) { return t < 0 ? def : (am_dtype)t; }

/* ---- _zeros, _ones, _full ----------------------------------------------------- */

/* fill_attrs: in init_attrs.h, which gpu/init.cu reads too. */

static const am_attr_field zeros_fields[] = {
    AM_ATTR_FIELD(fill_attrs, shape, AM_ATTR_SHAPE, "()", "shape of the result"),
    AM_ATTR_FIELD(fill_attrs, ctx, AM_ATTR_STRING, "", "device (informational)"),
    AM_ATTR_FIELD(fill_attrs, dtype, AM_ATTR_DTYPE, "float32", "element type"),
    {0}};
static const am_attr_field full_fields[] = {
    AM_ATTR_FIELD(fill_attrs, shape, AM_ATTR_SHAPE, "()", "shape of the result"),
    AM_ATTR_FIELD(fill_attrs, ctx, AM_ATTR_STRING, "", "device (informational)"),
    AM_ATTR_FIELD(fill_attrs, dtype, AM_ATTR_DTYPE, "float32", "element type"),
    AM_ATTR_FIELD(fill_attrs, value, AM_ATTR_FLOAT, NULL, "fill value"),
    {0}};

static am_status fill_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return shape_from_tuple(&((const fill_attrs *)attrs)->shape, &out[0]);
}

static am_status fill_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    out[0] = dtype_or(((const fill_attrs *)attrs)->dtype, AM_DTYPE_FLOAT32);
    return AM_OK;
}

static am_status fill_value(const am_view *out, am_req req, double value)
{
    int64_t n = am_view_size(out);
    AM_DTYPE_SWITCH(out->dtype, T, { T *y = out->data; STORE_LOOP(req, T, y, n, value); });
    return AM_OK;
}

static am_status zeros_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return fill_value(&out[0], req[0], 0.0);
}

static am_status ones_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return fill_value(&out[0], req[0], 1.0);
}

static am_status full_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return fill_value(&out[0], req[0], ((const fill_attrs *)attrs)->value);
}

/* The const_fill hooks: the value every element gets. */
static bool fill_zero(const void *attrs, double *value)
{
    AM_UNUSED(attrs);
    *value = 0;
    return true;
}

static bool fill_one(const void *attrs, double *value)
{
    AM_UNUSED(attrs);
    *value = 1;
    return true;
}

static bool fill_full(const void *attrs, double *value)
{
    *value = ((const fill_attrs *)attrs)->value;
    return true;
}

#define FILL_OP(id, mx_name, fields, kernel, fill, doc_)                              \
    const am_op_def am_op_##id = {                                                    \
        .name = mx_name, .input_names = no_inputs, .num_outputs = 1,                  \
        .attrs = fields, .attrs_size = sizeof(fill_attrs), .infer_shape = fill_shape, \
        .infer_dtype = fill_dtype, .cpu = kernel, .fuse = AM_FUSE_OPAQUE,             \
        .gpu = AM_GPU_KERNEL(id), .flags = AM_OP_NO_GRAD, .doc = doc_,                \
        .const_fill = fill}
FILL_OP(zeros, "_zeros", zeros_fields, zeros_cpu, fill_zero, "An array of zeros.");
FILL_OP(ones, "_ones", zeros_fields, ones_cpu, fill_one, "An array of ones.");
FILL_OP(full, "_full", full_fields, full_cpu, fill_full, "An array filled with value.");

/* The schema fields of op (bit i: field i) at these offsets of its struct. */
static uint64_t fields_at(const am_op_def *op, const size_t *offsets, int n)
{
    uint64_t bits = 0;
    for (int i = 0; op->attrs[i].name; i++)
        for (int k = 0; k < n; k++)
            if (op->attrs[i].offset == offsets[k]) bits |= 1ull << i;
    return bits;
}

void *am_zeros_attrs(am_shape shape, am_dtype dtype, uint64_t *given)
{
    if (shape.ndim < 0 || shape.ndim > AM_MAX_NDIM || (unsigned)dtype >= AM_DTYPE_COUNT) {
        am_fail(AM_ERR_ARG, "_zeros: bad shape (ndim %d) or dtype %d", shape.ndim, (int)dtype);
        return NULL;
    }
    fill_attrs *a = calloc(1, sizeof(*a));
    if (!a) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    if (am_attrs_init(&am_op_zeros, a) != AM_OK) {
        free(a);
        return NULL;
    }
    a->shape = tuple_from_shape(shape);
    a->dtype = (int)dtype;
    *given = fields_at(&am_op_zeros,
                       (const size_t[]){offsetof(fill_attrs, shape), offsetof(fill_attrs, dtype)}, 2);
    return a;
}

static am_array *call0(const am_op_def *op, const void *attrs, const char *what)
{
    am_array *y = NULL;
    am_op_call(op, attrs, NULL, 0, &y, 1, (am_site){what, 0});
    return y;
}

/* An array's shape: ndim in [0, AM_MAX_NDIM], no negative dimension (the
 * attribute's -1 is graph inference's unknown, never an array's). */
static bool array_shape_ok(const am_op_def *op, am_shape s)
{
    if (s.ndim < 0 || s.ndim > AM_MAX_NDIM) {
        am_fail(AM_ERR_SHAPE, "%s: ndim %d is outside [0, %d]", op->name, s.ndim, AM_MAX_NDIM);
        return false;
    }
    for (int i = 0; i < s.ndim; i++)
        if (s.dim[i] < 0) {
            am_fail(AM_ERR_SHAPE, "%s: shape dimension %d is negative", op->name, i);
            return false;
        }
    return true;
}

static am_array *make_filled(const am_op_def *op, am_shape shape, am_dtype dtype, double v)
{
    fill_attrs a = {.shape = tuple_from_shape(shape), .dtype = (int)dtype, .value = v};
    if (!array_shape_ok(op, shape)) return NULL;
    if ((unsigned)dtype >= AM_DTYPE_COUNT) {
        am_fail(AM_ERR_DTYPE, "%s: unknown dtype %d", op->name, (int)dtype);
        return NULL;
    }
    am_array *y = NULL;
    am_op_call(op, &a, NULL, 0, &y, 1, (am_site){NULL, 0});
    return y;
}

am_array *am_zeros(am_shape shape, am_dtype dtype) { return make_filled(&am_op_zeros, shape, dtype, 0); }
am_array *am_ones(am_shape shape, am_dtype dtype) { return make_filled(&am_op_ones, shape, dtype, 1); }
am_array *am_full(am_shape shape, am_dtype dtype, double value)
{
    return make_filled(&am_op_full, shape, dtype, value);
}

/* ---- _arange, _linspace ------------------------------------------------------- */

typedef struct arange_attrs {
    double start;
    am_opt_float stop;
    double step;
    int64_t repeat;
    bool infer_range;
    char ctx[AM_MAX_ATTR_STRING];
    int dtype;
} arange_attrs;

static const am_attr_field arange_fields[] = {
    AM_ATTR_FIELD(arange_attrs, start, AM_ATTR_FLOAT, NULL, "first value"),
    AM_ATTR_FIELD(arange_attrs, stop, AM_ATTR_OPT_FLOAT, "None", "end (exclusive); None: [0, start)"),
    AM_ATTR_FIELD(arange_attrs, step, AM_ATTR_FLOAT, "1.0", "spacing"),
    AM_ATTR_FIELD(arange_attrs, repeat, AM_ATTR_INT, "1", "times each value repeats"),
    AM_ATTR_FIELD(arange_attrs, infer_range, AM_ATTR_BOOL, "False", "unsupported: must be False"),
    AM_ATTR_FIELD(arange_attrs, ctx, AM_ATTR_STRING, "", "device (informational)"),
    AM_ATTR_FIELD(arange_attrs, dtype, AM_ATTR_DTYPE, "float32", "element type"),
    {0}};

static void arange_bounds(const arange_attrs *a, double *start, double *stop)
{
    *start = a->stop.has ? a->start : 0.0;
    *stop = a->stop.has ? a->stop.v : a->start;
}

static am_status arange_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const arange_attrs *a = attrs;
    double start, stop;
    arange_bounds(a, &start, &stop);
    if (a->step == 0 || !isfinite(a->step) || !isfinite(start) || !isfinite(stop))
        return am_fail(AM_ERR_ARG, "step must be non-zero and bounds finite");
    if (a->repeat < 1) return am_fail(AM_ERR_ARG, "repeat must be at least 1, got %lld", (long long)a->repeat);
    if (a->infer_range) return am_fail(AM_ERR_UNSUPPORTED, "infer_range=True is not supported");
    double n = ceil((stop - start) / a->step);
    if (n > 1e12) return am_fail(AM_ERR_SHAPE, "range of %g elements is too large", n);
    out[0].ndim = 1;
    out[0].dim[0] = (n > 0 ? (int64_t)n : 0) * a->repeat;
    return AM_OK;
}

static am_status arange_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    out[0] = dtype_or(((const arange_attrs *)attrs)->dtype, AM_DTYPE_FLOAT32);
    return AM_OK;
}

static am_status arange_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const arange_attrs *a = attrs;
    double start, stop;
    arange_bounds(a, &start, &stop);
    int64_t n = am_view_size(&out[0]), r = a->repeat;
    AM_DTYPE_SWITCH(out->dtype, T, {
        T *y = out->data;
        STORE_LOOP(req[0], T, y, n, start + (double)(i / r) * a->step);
    });
    return AM_OK;
}

const am_op_def am_op_arange = {
    .name = "_arange", .input_names = no_inputs, .num_outputs = 1, .attrs = arange_fields,
    .attrs_size = sizeof(arange_attrs), .infer_shape = arange_shape, .infer_dtype = arange_dtype,
    .cpu = arange_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Evenly spaced values in [start, stop), like numpy.arange."};

am_array *am_arange(double start, double stop, double step, am_dtype dtype)
{
    arange_attrs a = {.start = start, .stop = {true, stop}, .step = step, .repeat = 1,
                      .dtype = (int)dtype};
    return call0(&am_op_arange, &a, NULL);
}

typedef struct linspace_attrs {
    double start, stop;
    int64_t num;
    bool endpoint;
    char ctx[AM_MAX_ATTR_STRING];
    int dtype;
} linspace_attrs;

static const am_attr_field linspace_fields[] = {
    AM_ATTR_FIELD(linspace_attrs, start, AM_ATTR_FLOAT, NULL, "first value"),
    AM_ATTR_FIELD(linspace_attrs, stop, AM_ATTR_FLOAT, NULL, "last value"),
    AM_ATTR_FIELD(linspace_attrs, num, AM_ATTR_INT, NULL, "number of values"),
    AM_ATTR_FIELD(linspace_attrs, endpoint, AM_ATTR_BOOL, "True", "include stop"),
    AM_ATTR_FIELD(linspace_attrs, ctx, AM_ATTR_STRING, "", "device (informational)"),
    AM_ATTR_FIELD(linspace_attrs, dtype, AM_ATTR_DTYPE, "float32", "element type"),
    {0}};

static am_status linspace_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const linspace_attrs *a = attrs;
    if (a->num < 0) return am_fail(AM_ERR_ARG, "num must be non-negative, got %lld", (long long)a->num);
    out[0].ndim = 1;
    out[0].dim[0] = a->num;
    return AM_OK;
}

static am_status linspace_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    out[0] = dtype_or(((const linspace_attrs *)attrs)->dtype, AM_DTYPE_FLOAT32);
    return AM_OK;
}

static am_status linspace_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                              int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const linspace_attrs *a = attrs;
    int64_t n = a->num, div = a->endpoint ? n - 1 : n;
    double step = div > 0 ? (a->stop - a->start) / (double)div : 0.0;
    AM_DTYPE_SWITCH(out->dtype, T, {
        T *y = out->data;
        STORE_LOOP(req[0], T, y, n,
                   (a->endpoint && i == n - 1 && n > 1) ? a->stop : a->start + (double)i * step);
    });
    return AM_OK;
}

const am_op_def am_op_linspace = {
    .name = "_linspace", .input_names = no_inputs, .num_outputs = 1, .attrs = linspace_fields,
    .attrs_size = sizeof(linspace_attrs), .infer_shape = linspace_shape,
    .infer_dtype = linspace_dtype, .cpu = linspace_cpu, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NO_GRAD, .doc = "num evenly spaced values from start to stop."};

am_array *am_linspace(double start, double stop, int64_t num, am_dtype dtype)
{
    linspace_attrs a = {.start = start, .stop = stop, .num = num, .endpoint = true,
                        .dtype = (int)dtype};
    return call0(&am_op_linspace, &a, NULL);
}

/* ---- _random_uniform, _random_normal ------------------------------------------- */

typedef struct random_attrs {
    double a, b; /* low/high or loc/scale */
    am_tuple shape;
    char ctx[AM_MAX_ATTR_STRING];
    int dtype;
} random_attrs;

static const am_attr_field uniform_fields[] = {
    {"low", AM_ATTR_FLOAT, offsetof(random_attrs, a), "0.0", NULL, "lower bound"},
    {"high", AM_ATTR_FLOAT, offsetof(random_attrs, b), "1.0", NULL, "upper bound (exclusive)"},
    AM_ATTR_FIELD(random_attrs, shape, AM_ATTR_SHAPE, "()", "shape of the result"),
    AM_ATTR_FIELD(random_attrs, ctx, AM_ATTR_STRING, "", "device (informational)"),
    AM_ATTR_FIELD(random_attrs, dtype, AM_ATTR_DTYPE, "None", "float32 (None) or float64"),
    {0}};
static const am_attr_field normal_fields[] = {
    {"loc", AM_ATTR_FLOAT, offsetof(random_attrs, a), "0.0", NULL, "mean"},
    {"scale", AM_ATTR_FLOAT, offsetof(random_attrs, b), "1.0", NULL, "standard deviation"},
    AM_ATTR_FIELD(random_attrs, shape, AM_ATTR_SHAPE, "()", "shape of the result"),
    AM_ATTR_FIELD(random_attrs, ctx, AM_ATTR_STRING, "", "device (informational)"),
    AM_ATTR_FIELD(random_attrs, dtype, AM_ATTR_DTYPE, "None", "float32 (None) or float64"),
    {0}};

static am_status random_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return shape_from_tuple(&((const random_attrs *)attrs)->shape, &out[0]);
}

static am_status random_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_dtype t = dtype_or(((const random_attrs *)attrs)->dtype, AM_DTYPE_FLOAT32);
    if (!am_dtype_is_float(t))
        return am_fail(AM_ERR_DTYPE, "dtype must be float32 or float64, got %s", am_dtype_name(t));
    out[0] = t;
    return AM_OK;
}

/* Drawn serially from the calling thread's generator: the same seed gives the
 * same numbers whatever the thread count. */
static am_status uniform_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const random_attrs *a = attrs;
    int64_t n = am_view_size(&out[0]);
    AM_FLOAT_SWITCH(out->dtype, T, {
        T *y = out->data;
        for (int64_t i = 0; i < n; i++) {
            T v = (T)(a->a + (a->b - a->a) * am_rng_uniform01(ctx->rng));
            y[i] = req[0] == AM_REQ_ADD ? y[i] + v : v;
        }
    });
    return AM_OK;
}

static am_status normal_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                            int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const random_attrs *a = attrs;
    int64_t n = am_view_size(&out[0]);
    AM_FLOAT_SWITCH(out->dtype, T, {
        T *y = out->data;
        for (int64_t i = 0; i < n; i++) {
            T v = (T)(a->a + a->b * am_rng_normal(ctx->rng));
            y[i] = req[0] == AM_REQ_ADD ? y[i] + v : v;
        }
    });
    return AM_OK;
}

#define RANDOM_OP(id, mx_name, fields, kernel, doc_)                                    \
    const am_op_def am_op_##id = {                                                      \
        .name = mx_name, .input_names = no_inputs, .num_outputs = 1, .attrs = fields,   \
        .attrs_size = sizeof(random_attrs), .infer_shape = random_shape,                \
        .infer_dtype = random_dtype, .cpu = kernel, .fuse = AM_FUSE_OPAQUE,             \
        .flags = AM_OP_NO_GRAD | AM_OP_RANDOM, .doc = doc_}
RANDOM_OP(random_uniform, "_random_uniform", uniform_fields, uniform_cpu,
          "Uniform samples on [low, high).");
RANDOM_OP(random_normal, "_random_normal", normal_fields, normal_cpu,
          "Normal samples with mean loc and deviation scale.");

static am_array *make_random(const am_op_def *op, double a, double b, am_shape s, am_dtype t)
{
    if (!array_shape_ok(op, s)) return NULL;
    random_attrs r = {.a = a, .b = b, .shape = tuple_from_shape(s), .dtype = (int)t};
    return call0(op, &r, NULL);
}

am_array *am_random_uniform(double low, double high, am_shape shape, am_dtype dtype)
{
    return make_random(&am_op_random_uniform, low, high, shape, dtype);
}

am_array *am_random_normal(double loc, double scale, am_shape shape, am_dtype dtype)
{
    return make_random(&am_op_random_normal, loc, scale, shape, dtype);
}

/* ---- zeros_like, ones_like, _copy, Cast ---------------------------------------- */

static am_status like_zeros_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return fill_value(&out[0], req[0], 0.0);
}

static am_status like_ones_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                               int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return fill_value(&out[0], req[0], 1.0);
}

const am_op_def am_op_zeros_like = {
    .name = "zeros_like", .input_names = data_input, .num_outputs = 1,
    .infer_shape = am_infer_shape_same, .infer_dtype = am_infer_dtype_same,
    .cpu = like_zeros_cpu, .gpu = AM_GPU_KERNEL(zeros_like), .fuse = AM_FUSE_ELEMWISE,
    .flags = AM_OP_NO_GRAD,
    .doc = "Zeros with the shape and dtype of data.", .const_fill = fill_zero};
const am_op_def am_op_ones_like = {
    .name = "ones_like", .input_names = data_input, .num_outputs = 1,
    .infer_shape = am_infer_shape_same, .infer_dtype = am_infer_dtype_same,
    .cpu = like_ones_cpu, .gpu = AM_GPU_KERNEL(ones_like), .fuse = AM_FUSE_ELEMWISE,
    .flags = AM_OP_NO_GRAD,
    .doc = "Ones with the shape and dtype of data.", .const_fill = fill_one};

static am_status cast_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t n = am_view_size(&out[0]);
    if (in[0].dtype == out[0].dtype && req[0] != AM_REQ_ADD) {
        if (req[0] != AM_REQ_NULL && in[0].data != out[0].data)
            memcpy(out[0].data, in[0].data, (size_t)n * am_dtype_size(in[0].dtype));
        return AM_OK;
    }
    if (req[0] == AM_REQ_WRITE || req[0] == AM_REQ_INPLACE)
        return am_dtype_convert(in[0].data, in[0].dtype, out[0].data, out[0].dtype, n);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    if (am_dtype_compute(out[0].dtype) != out[0].dtype ||
        am_dtype_compute(in[0].dtype) != in[0].dtype) { /* accumulate float16 & co. */
        for (int64_t i = 0; i < n; i++)
            am_view_set(&out[0], i, am_view_get(&out[0], i) + am_view_get(&in[0], i));
        return AM_OK;
    }
    AM_DTYPE_SWITCH(in[0].dtype, S, {
        const S *x = in[0].data;
        AM_DTYPE_SWITCH(out[0].dtype, T, { T *y = out[0].data; STORE_LOOP(req[0], T, y, n, x[i]); });
    });
    return AM_OK;
}

static const am_inplace_pair same_slot[] = {{0, 0}, {-1, -1}};

/* d copy(x) = the output gradient itself. */
static am_status copy_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    AM_UNUSED(g), AM_UNUSED(in), AM_UNUSED(out);
    ig[0] = og[0];
    return AM_OK;
}

/* d cast(x) = the output gradient cast back to x's dtype. */
static am_status cast_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                           am_array *const *og, am_array **ig)
{
    AM_UNUSED(out);
    ig[0] = am_astype_at(og[0], am_array_dtype(in[0]), g->at);
    return ig[0] ? AM_OK : am_last_status();
}

/* A copy computes its input (the is_identity hook). */
static const char *copy_is_identity(const void *attrs, bool training)
{
    AM_UNUSED(attrs), AM_UNUSED(training);
    return "identity copy";
}

const am_op_def am_op_copy = {
    .name = "_copy", .aliases = (const char *const[]){"identity", "_copyto", NULL},
    .input_names = data_input, .num_outputs = 1, .infer_shape = am_infer_shape_same,
    .infer_dtype = am_infer_dtype_same, .cpu = cast_cpu, .gpu = AM_GPU_KERNEL(copy), .gradient = copy_grad,
    .inplace = same_slot,
    .fuse = AM_FUSE_ELEMWISE, .doc = "A copy of data.", .dtypes = AM_DTYPES_NARROW,
    .is_identity = copy_is_identity};

typedef struct cast_attrs {
    int dtype;
} cast_attrs;

static const am_attr_field cast_fields[] = {
    AM_ATTR_FIELD(cast_attrs, dtype, AM_ATTR_DTYPE, NULL, "target element type"),
    {0}};

static am_status cast_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(in), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int t = ((const cast_attrs *)attrs)->dtype;
    if (t < 0) return am_fail(AM_ERR_DTYPE, "dtype must be given");
    out[0] = (am_dtype)t;
    return AM_OK;
}

const am_op_def am_op_cast = {
    .name = "Cast", .aliases = (const char *const[]){"cast", NULL}, .input_names = data_input,
    .num_outputs = 1, .attrs = cast_fields, .attrs_size = sizeof(cast_attrs),
    .infer_shape = am_infer_shape_same, .infer_dtype = cast_dtype, .cpu = cast_cpu,
    .gpu = AM_GPU_KERNEL(cast), .gradient = cast_grad, .fuse = AM_FUSE_ELEMWISE, .doc = "Converts data to another dtype.",
    .dtypes = AM_DTYPES_NARROW};

void *am_cast_attrs(am_dtype dtype, uint64_t *given)
{
    if ((unsigned)dtype >= AM_DTYPE_COUNT) {
        am_fail(AM_ERR_DTYPE, "Cast: unknown dtype %d", (int)dtype);
        return NULL;
    }
    cast_attrs *a = calloc(1, sizeof(*a));
    if (!a) {
        am_fail(AM_ERR_OOM, "out of memory");
        return NULL;
    }
    a->dtype = (int)dtype;
    *given = fields_at(&am_op_cast, (const size_t[]){offsetof(cast_attrs, dtype)}, 1);
    return a;
}

am_array *am_copy_at(am_array *x, am_site at)
{
    am_array *y = NULL;
    am_op_call(&am_op_copy, NULL, &x, 1, &y, 1, at);
    return y;
}

am_array *am_astype_at(am_array *x, am_dtype dtype, am_site at)
{
    cast_attrs a = {.dtype = (int)dtype};
    if ((unsigned)dtype >= AM_DTYPE_COUNT) {
        am_fail(AM_ERR_DTYPE, "Cast: unknown dtype %d", (int)dtype);
        return NULL;
    }
    am_array *y = NULL;
    am_op_call(&am_op_cast, &a, &x, 1, &y, 1, at);
    return y;
}

am_array *am_zeros_like_at(am_array *x, am_site at)
{
    am_array *y = NULL;
    am_op_call(&am_op_zeros_like, NULL, &x, 1, &y, 1, at);
    return y;
}

am_array *am_ones_like_at(am_array *x, am_site at)
{
    am_array *y = NULL;
    am_op_call(&am_op_ones_like, NULL, &x, 1, &y, 1, at);
    return y;
}

/* ---- BlockGrad ------------------------------------------------------------------- */

/* A copy that the tape never records: gradients stop here. */
const am_op_def am_op_block_grad = {
    .name = "BlockGrad", .aliases = (const char *const[]){"stop_gradient", NULL},
    .input_names = data_input, .num_outputs = 1, .infer_shape = am_infer_shape_same,
    .infer_dtype = am_infer_dtype_same, .cpu = cast_cpu, .inplace = same_slot,
    .fuse = AM_FUSE_ELEMWISE, .flags = AM_OP_NO_GRAD,
    .doc = "Passes data through and stops gradients flowing back into it."};

am_array *am_block_grad_at(am_array *x, am_site at)
{
    am_array *y = NULL;
    am_op_call(&am_op_block_grad, NULL, &x, 1, &y, 1, at);
    return y;
}
