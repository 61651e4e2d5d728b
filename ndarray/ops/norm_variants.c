/* MXNet's other names for batch normalization, as their own entries over BatchNorm's
 * kernel and gradient (norm.c):
 *   _contrib_SyncBatchNorm: BatchNorm over axis 1 with the attributes ndev and key, which
 *     only matter across devices; on one device it is BatchNorm.
 *   _contrib_BatchNormWithReLU: relu(BatchNorm(...)), BatchNorm's attributes; MXNet 1.9.1
 *     runs it with MKL-DNN only (4-D data), Amber on any.
 * Their hidden outputs are BatchNorm's (mean, inverse std); in inference MXNet's
 * SyncBatchNorm leaves its zeros. */
#include "norm_impl.h"

extern const am_op_def am_op_batch_norm;

static int visible_of(const batch_norm_attrs *b) { return b->output_mean_var ? 3 : 1; }

/* Runs BatchNorm's gradient with BatchNorm's attributes b. */
static am_status bn_gradient(const am_grad_ctx *g, const batch_norm_attrs *b,
                             am_array *const *in, am_array *const *out, am_array *const *og,
                             am_array **ig)
{
    am_grad_ctx bg = *g;
    bg.op = &am_op_batch_norm, bg.attrs = b;
    return am_op_batch_norm.gradient(&bg, in, out, og, ig);
}

/* ---- _contrib_SyncBatchNorm ------------------------------------------------------------- */

typedef struct sync_bn_attrs {
    double eps, momentum;
    bool fix_gamma, use_global_stats, output_mean_var;
    int64_t ndev;
    char key[AM_MAX_ATTR_STRING];
} sync_bn_attrs;

static const am_attr_field sync_bn_fields[] = {
    AM_ATTR_FIELD(sync_bn_attrs, eps, AM_ATTR_FLOAT, "0.001", "added to the variance"),
    AM_ATTR_FIELD(sync_bn_attrs, momentum, AM_ATTR_FLOAT, "0.9",
                  "moving statistics keep this share of their value per training step"),
    AM_ATTR_FIELD(sync_bn_attrs, fix_gamma, AM_ATTR_BOOL, "True", "use gamma = 1"),
    AM_ATTR_FIELD(sync_bn_attrs, use_global_stats, AM_ATTR_BOOL, "False",
                  "use the moving statistics in training too"),
    AM_ATTR_FIELD(sync_bn_attrs, output_mean_var, AM_ATTR_BOOL, "False",
                  "also return the mean and inverse std"),
    AM_ATTR_FIELD(sync_bn_attrs, ndev, AM_ATTR_INT, "1",
                  "devices that share the statistics (Amber runs on one)"),
    AM_ATTR_FIELD(sync_bn_attrs, key, AM_ATTR_STRING, NULL,
                  "the layer's synchronisation key (unused on one device)"),
    {0}};

static batch_norm_attrs sync_to_bn(const sync_bn_attrs *a)
{
    return (batch_norm_attrs){.eps = a->eps, .momentum = a->momentum, .fix_gamma = a->fix_gamma,
                              .use_global_stats = a->use_global_stats,
                              .output_mean_var = a->output_mean_var, .axis = 1};
}

static int sync_bn_visible(const void *attrs)
{
    batch_norm_attrs b = sync_to_bn(attrs);
    return visible_of(&b);
}

static am_status sync_bn_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    const sync_bn_attrs *a = attrs;
    if (a->ndev < 1) return am_fail(AM_ERR_ARG, "ndev=%lld must be positive", (long long)a->ndev);
    batch_norm_attrs b = sync_to_bn(a);
    return am_op_batch_norm.infer_shape(&b, in, n_in, out, n_out);
}

static am_status sync_bn_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                               int n_out)
{
    batch_norm_attrs b = sync_to_bn(attrs);
    return am_op_batch_norm.infer_dtype(&b, in, n_in, out, n_out);
}

static am_status sync_bn_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    batch_norm_attrs b = sync_to_bn(attrs);
    return am_op_batch_norm.cpu(ctx, &b, in, n_in, out, n_out, req);
}

static am_status sync_bn_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                              am_array *const *og, am_array **ig)
{
    batch_norm_attrs b = sync_to_bn(g->attrs);
    return bn_gradient(g, &b, in, out, og, ig);
}

const am_op_def am_op_sync_batch_norm = {
    .name = "_contrib_SyncBatchNorm",
    .input_names = (const char *const[]){"data", "gamma", "beta", "moving_mean", "moving_var",
                                         NULL},
    .num_outputs = 3, .num_visible = sync_bn_visible, .num_aux = 2, .attrs = sync_bn_fields,
    .attrs_size = sizeof(sync_bn_attrs), .infer_shape = sync_bn_shape,
    .infer_dtype = sync_bn_dtype, .cpu = sync_bn_cpu, .gradient = sync_bn_grad,
    .inplace = same_slot, .fuse = AM_FUSE_OPAQUE,
    .doc = "BatchNorm over axis 1 whose statistics MXNet shares across ndev devices by key; "
           "on one device, BatchNorm."};

/* ---- _contrib_BatchNormWithReLU ------------------------------------------------------------ */

static const am_attr_field bn_relu_fields[] = {
    AM_ATTR_FIELD(batch_norm_attrs, eps, AM_ATTR_FLOAT, "0.001", "added to the variance"),
    AM_ATTR_FIELD(batch_norm_attrs, momentum, AM_ATTR_FLOAT, "0.9",
                  "moving statistics keep this share of their value per training step"),
    AM_ATTR_FIELD(batch_norm_attrs, fix_gamma, AM_ATTR_BOOL, "True", "use gamma = 1"),
    AM_ATTR_FIELD(batch_norm_attrs, use_global_stats, AM_ATTR_BOOL, "False",
                  "use the moving statistics in training too"),
    AM_ATTR_FIELD(batch_norm_attrs, output_mean_var, AM_ATTR_BOOL, "False",
                  "also return the mean and inverse std"),
    AM_ATTR_FIELD(batch_norm_attrs, axis, AM_ATTR_INT, "1", "the channel axis"),
    AM_ATTR_FIELD(batch_norm_attrs, cudnn_off, AM_ATTR_BOOL, "False", "do not use cuDNN"),
    AM_ATTR_FIELD(batch_norm_attrs, min_calib_range, AM_ATTR_OPT_FLOAT, "None",
                  "quantization calibration (ignored)"),
    AM_ATTR_FIELD(batch_norm_attrs, max_calib_range, AM_ATTR_OPT_FLOAT, "None",
                  "quantization calibration (ignored)"),
    {0}};

static int bn_relu_visible(const void *attrs) { return visible_of(attrs); }

static am_status bn_relu_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                               int n_out)
{
    return am_op_batch_norm.infer_shape(attrs, in, n_in, out, n_out);
}

static am_status bn_relu_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                               int n_out)
{
    return am_op_batch_norm.infer_dtype(attrs, in, n_in, out, n_out);
}

/* BatchNorm's normalised output, before the relu, goes to the workspace. */
static size_t bn_relu_temp(const void *attrs, const am_shape *in, int n_in)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in);
    return (size_t)am_shape_size(&in[0]) * sizeof(double);
}

static am_status bn_relu_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    int64_t n = am_view_size(&in[0]);
    size_t bytes = (size_t)n * am_dtype_size(out[0].dtype);
    if (bytes && (!ctx->workspace || ctx->workspace_bytes < bytes))
        return am_fail(AM_ERR_INTERNAL, "the workspace is missing or too small");
    am_view o[3] = {out[0], out[1], out[2]};
    am_req r[3] = {req[0] == AM_REQ_NULL ? AM_REQ_NULL : AM_REQ_WRITE, req[1], req[2]};
    o[0].data = ctx->workspace;
    am_kernel_ctx bctx = *ctx;
    bctx.workspace = NULL, bctx.workspace_bytes = 0;
    am_status st = am_op_batch_norm.cpu(&bctx, attrs, in, n_in, o, n_out, r);
    if (st != AM_OK || req[0] == AM_REQ_NULL) return st;
    AM_FLOAT_SWITCH(out[0].dtype, T, {
        const T *z = ctx->workspace;
        T *y = out[0].data;
        bool add = req[0] == AM_REQ_ADD;
        AM_OMP_FOR_N for (int64_t i = 0; i < n; i++) {
            T v = z[i] > 0 ? z[i] : (T)0;
            y[i] = add ? y[i] + v : v;
        }
    });
    return AM_OK;
}

/* The relu passes the output gradient where the output is positive (sign(out) is 1 there,
 * 0 elsewhere); BatchNorm's gradient does the rest. */
static am_status bn_relu_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                              am_array *const *og, am_array **ig)
{
    am_array *mask = am_sign_at(out[0], g->at);
    am_array *masked = mask ? am_broadcast_mul_at(og[0], mask, g->at) : NULL;
    if (!masked) return am_last_status();
    am_array *og2[3] = {masked, og[1], og[2]};
    return bn_gradient(g, g->attrs, in, out, og2, ig);
}

const am_op_def am_op_batch_norm_relu = {
    .name = "_contrib_BatchNormWithReLU",
    .input_names = (const char *const[]){"data", "gamma", "beta", "moving_mean", "moving_var",
                                         NULL},
    .num_outputs = 3, .num_visible = bn_relu_visible, .num_aux = 2, .attrs = bn_relu_fields,
    .attrs_size = sizeof(batch_norm_attrs), .infer_shape = bn_relu_shape, .infer_dtype = bn_relu_dtype,
    .temp_bytes = bn_relu_temp, .cpu = bn_relu_cpu, .gradient = bn_relu_grad,
    .inplace = same_slot, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NEEDS_TEMP,
    .doc = "relu(BatchNorm(...)) with BatchNorm's attributes and hidden outputs."};
