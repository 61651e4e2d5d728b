/* Optimizer update ops with MXNet 1.9's names, attributes and update rules.  Each writes
 * the new weight to its output (which a plan may place over the weight: an in-place hint)
 * and updates its state inputs (mom, mean, var, ...) in place, as MXNet's do. */
#include "../ndarray_impl.h"

#include <math.h>

/* Stores v into out[i] as req asks (AM_REQ_NULL skips). */
#define OPT_STORE(req, out, i, v)                                        \
    do {                                                                 \
        if ((req) == AM_REQ_ADD) (out)[i] += (v);                        \
        else if ((req) != AM_REQ_NULL) (out)[i] = (v);                   \
    } while (0)

/* x clipped to [-c, c]; c < 0 means no clipping (MXNet's -1). */
#define OPT_CLIP(x, c) ((c) < 0 ? (x) : (x) > (c) ? (c) : (x) < -(c) ? -(c) : (x))

/* ---- shapes and dtypes ------------------------------------------------------------------ */

/* Every input has the weight's shape except those in scalar_mask, which hold one
 * element (adamw's rescale_grad, LAMB's norms).  Unknown shapes are filled in. */
static am_status opt_shape(const char *const *names, unsigned scalar_mask, am_shape *in,
                           int n_in, am_shape *out)
{
    int known = -1;
    for (int i = 0; i < n_in && known < 0; i++)
        if (!(scalar_mask >> i & 1) && in[i].ndim >= 0) known = i;
    if (known < 0) return am_fail(AM_ERR_SHAPE, "the weight's shape is unknown");
    for (int i = 0; i < n_in; i++) {
        char a[96], b[96];
        if (scalar_mask >> i & 1) {
            if (in[i].ndim < 0) in[i] = am_shape_make(1, (int64_t[]){1});
            if (am_shape_size(&in[i]) != 1)
                return am_fail(AM_ERR_SHAPE, "%s %s must hold one element", names[i],
                               am_shape_format(&in[i], a, sizeof(a)));
            continue;
        }
        if (in[i].ndim < 0) in[i] = in[known];
        if (!am_shape_equal(in[i], in[known]))
            return am_fail(AM_ERR_SHAPE, "%s %s does not match %s %s", names[i],
                           am_shape_format(&in[i], a, sizeof(a)), names[known],
                           am_shape_format(&in[known], b, sizeof(b)));
    }
    out[0] = in[known];
    return AM_OK;
}

/* All inputs share the weight's float dtype (float32 or float64). */
static am_status opt_dtype(const char *const *names, am_dtype *in, int n_in, am_dtype *out)
{
    if (in[0] != AM_DTYPE_FLOAT32 && in[0] != AM_DTYPE_FLOAT64)
        return am_fail(AM_ERR_DTYPE, "%s is %s (float32 or float64 only)", names[0],
                       am_dtype_name(in[0]));
    for (int i = 1; i < n_in; i++)
        if (in[i] != in[0])
            return am_fail(AM_ERR_DTYPE, "%s is %s but %s is %s", names[i], am_dtype_name(in[i]),
                           names[0], am_dtype_name(in[0]));
    out[0] = in[0];
    return AM_OK;
}

/* Shape and dtype functions of an op whose inputs are listed in names_<id>. */
#define OPT_INFER(id, mask)                                                                 \
    static am_status id##_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,   \
                                int n_out)                                                  \
    {                                                                                       \
        AM_UNUSED(attrs), AM_UNUSED(n_out);                                                 \
        return opt_shape(names_##id, (mask), in, n_in, out);                                \
    }                                                                                       \
    static am_status id##_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,   \
                                int n_out)                                                  \
    {                                                                                       \
        AM_UNUSED(attrs), AM_UNUSED(n_out);                                                 \
        return opt_dtype(names_##id, in, n_in, out);                                        \
    }

static const am_inplace_pair weight_inplace[] = {{0, 0}, {-1, -1}};

/* Common attribute docs. */
#define DOC_LR "learning rate"
#define DOC_WD "weight decay: adds wd * weight to the gradient"
#define DOC_RG "multiplies the gradient first"
#define DOC_CG "clips the rescaled gradient to [-c, c]; -1: no clipping"
#define DOC_LAZY "row_sparse gradients only (no effect on dense arrays)"
#define DOC_CW "clips the new weight to [-c, c]; -1: no clipping"

/* ---- sgd_update ------------------------------------------------------------------------- */

typedef struct sgd_attrs {
    double lr, wd, rescale_grad, clip_gradient;
    bool lazy_update;
} sgd_attrs;

static const am_attr_field sgd_fields[] = {
    AM_ATTR_FIELD(sgd_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(sgd_attrs, wd, AM_ATTR_FLOAT, "0.0", DOC_WD),
    AM_ATTR_FIELD(sgd_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0", DOC_RG),
    AM_ATTR_FIELD(sgd_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0", DOC_CG),
    AM_ATTR_FIELD(sgd_attrs, lazy_update, AM_ATTR_BOOL, "True", DOC_LAZY),
    {0}};

static const char *const names_sgd[] = {"weight", "grad", NULL};
OPT_INFER(sgd, 0)

static am_status sgd_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                         int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const sgd_attrs *a = attrs;
    int64_t n = am_view_size(&in[0]);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data;
        T *o = out[0].data;
        const T lr = (T)a->lr, wd = (T)a->wd, rg = (T)a->rescale_grad, cg = (T)a->clip_gradient;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T v = (1 - lr * wd) * w[i] - lr * OPT_CLIP(rg * g[i], cg);
            OPT_STORE(req[0], o, i, v);
        }
    });
    return AM_OK;
}

const am_op_def am_op_sgd_update = {
    .name = "sgd_update", .input_names = names_sgd, .num_outputs = 1,
    .attrs = sgd_fields, .attrs_size = sizeof(sgd_attrs),
    .infer_shape = sgd_shape, .infer_dtype = sgd_dtype, .cpu = sgd_cpu,
    .inplace = weight_inplace, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "SGD: weight = (1 - lr * wd) * weight - lr * clip(rescale_grad * grad)."};

/* ---- sgd_mom_update --------------------------------------------------------------------- */

typedef struct sgd_mom_attrs {
    double lr, momentum, wd, rescale_grad, clip_gradient;
    bool lazy_update;
} sgd_mom_attrs;

static const am_attr_field sgd_mom_fields[] = {
    AM_ATTR_FIELD(sgd_mom_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(sgd_mom_attrs, momentum, AM_ATTR_FLOAT, "0.0", "decay of the momentum"),
    AM_ATTR_FIELD(sgd_mom_attrs, wd, AM_ATTR_FLOAT, "0.0", DOC_WD),
    AM_ATTR_FIELD(sgd_mom_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0", DOC_RG),
    AM_ATTR_FIELD(sgd_mom_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0", DOC_CG),
    AM_ATTR_FIELD(sgd_mom_attrs, lazy_update, AM_ATTR_BOOL, "True", DOC_LAZY),
    {0}};

static const char *const names_sgd_mom[] = {"weight", "grad", "mom", NULL};
OPT_INFER(sgd_mom, 0)

static am_status sgd_mom_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const sgd_mom_attrs *a = attrs;
    int64_t n = am_view_size(&in[0]);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data;
        T *m = in[2].data, *o = out[0].data;
        const T lr = (T)a->lr, mo = (T)a->momentum, wd = (T)a->wd;
        const T rg = (T)a->rescale_grad, cg = (T)a->clip_gradient;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            m[i] = mo * m[i] - lr * wd * w[i] - lr * OPT_CLIP(rg * g[i], cg);
            T v = w[i] + m[i];
            OPT_STORE(req[0], o, i, v);
        }
    });
    return AM_OK;
}

const am_op_def am_op_sgd_mom_update = {
    .name = "sgd_mom_update", .input_names = names_sgd_mom, .num_outputs = 1, .num_aux = 1,
    .attrs = sgd_mom_fields, .attrs_size = sizeof(sgd_mom_attrs),
    .infer_shape = sgd_mom_shape, .infer_dtype = sgd_mom_dtype, .cpu = sgd_mom_cpu,
    .inplace = weight_inplace, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "SGD with momentum: mom = momentum * mom - lr * wd * weight - lr * clip(rescale_grad "
           "* grad); weight += mom (mom updated in place)."};

/* ---- nag_mom_update --------------------------------------------------------------------- */

typedef struct nag_attrs {
    double lr, momentum, wd, rescale_grad, clip_gradient;
} nag_attrs;

static const am_attr_field nag_fields[] = {
    AM_ATTR_FIELD(nag_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(nag_attrs, momentum, AM_ATTR_FLOAT, "0.0", "decay of the momentum"),
    AM_ATTR_FIELD(nag_attrs, wd, AM_ATTR_FLOAT, "0.0", DOC_WD),
    AM_ATTR_FIELD(nag_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0", DOC_RG),
    AM_ATTR_FIELD(nag_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0", DOC_CG),
    {0}};

static const char *const names_nag[] = {"weight", "grad", "mom", NULL};
OPT_INFER(nag, 0)

static am_status nag_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                         int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const nag_attrs *a = attrs;
    int64_t n = am_view_size(&in[0]);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data;
        T *m = in[2].data, *o = out[0].data;
        const T lr = (T)a->lr, mo = (T)a->momentum, wd = (T)a->wd;
        const T rg = (T)a->rescale_grad, cg = (T)a->clip_gradient;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T gg = OPT_CLIP(rg * g[i], cg) + wd * w[i];
            m[i] = mo * m[i] - lr * gg;
            T v = w[i] + mo * m[i] - lr * gg;
            OPT_STORE(req[0], o, i, v);
        }
    });
    return AM_OK;
}

const am_op_def am_op_nag_mom_update = {
    .name = "nag_mom_update", .input_names = names_nag, .num_outputs = 1, .num_aux = 1,
    .attrs = nag_fields, .attrs_size = sizeof(nag_attrs),
    .infer_shape = nag_shape, .infer_dtype = nag_dtype, .cpu = nag_cpu,
    .inplace = weight_inplace, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Nesterov momentum: g = clip(rescale_grad * grad) + wd * weight; mom = momentum * "
           "mom - lr * g; weight += momentum * mom - lr * g (mom updated in place)."};

/* ---- adam_update ------------------------------------------------------------------------ */

typedef struct adam_attrs {
    double lr, beta1, beta2, epsilon, wd, rescale_grad, clip_gradient;
    bool lazy_update;
} adam_attrs;

static const am_attr_field adam_fields[] = {
    AM_ATTR_FIELD(adam_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(adam_attrs, beta1, AM_ATTR_FLOAT, "0.9", "decay of the mean"),
    AM_ATTR_FIELD(adam_attrs, beta2, AM_ATTR_FLOAT, "0.999", "decay of the variance"),
    AM_ATTR_FIELD(adam_attrs, epsilon, AM_ATTR_FLOAT, "1e-08", "added to sqrt(var)"),
    AM_ATTR_FIELD(adam_attrs, wd, AM_ATTR_FLOAT, "0.0", DOC_WD),
    AM_ATTR_FIELD(adam_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0", DOC_RG),
    AM_ATTR_FIELD(adam_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0",
                  "clips rescale_grad * grad + wd * weight to [-c, c]; -1: no clipping"),
    AM_ATTR_FIELD(adam_attrs, lazy_update, AM_ATTR_BOOL, "True", DOC_LAZY),
    {0}};

static const char *const names_adam[] = {"weight", "grad", "mean", "var", NULL};
OPT_INFER(adam, 0)

static am_status adam_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const adam_attrs *a = attrs;
    int64_t n = am_view_size(&in[0]);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data;
        T *mean = in[2].data, *var = in[3].data, *o = out[0].data;
        const T lr = (T)a->lr, b1 = (T)a->beta1, b2 = (T)a->beta2, eps = (T)a->epsilon;
        const T wd = (T)a->wd, rg = (T)a->rescale_grad, cg = (T)a->clip_gradient;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T gg = OPT_CLIP(rg * g[i] + wd * w[i], cg);
            mean[i] = b1 * mean[i] + (1 - b1) * gg;
            var[i] = b2 * var[i] + (1 - b2) * gg * gg;
            T v = w[i] - lr * mean[i] / (sqrt(var[i]) + eps);
            OPT_STORE(req[0], o, i, v);
        }
    });
    return AM_OK;
}

const am_op_def am_op_adam_update = {
    .name = "adam_update", .input_names = names_adam, .num_outputs = 1, .num_aux = 2,
    .attrs = adam_fields, .attrs_size = sizeof(adam_attrs),
    .infer_shape = adam_shape, .infer_dtype = adam_dtype, .cpu = adam_cpu,
    .inplace = weight_inplace, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "Adam without bias correction (fold it into lr): g = clip(rescale_grad * grad + wd "
           "* weight); mean, var = moving averages of g, g^2; weight -= lr * mean / "
           "(sqrt(var) + epsilon)."};

/* ---- rmsprop_update and rmspropalex_update --------------------------------------------- */

typedef struct rmsprop_attrs {
    double lr, gamma1, gamma2, epsilon, wd, rescale_grad, clip_gradient, clip_weights;
} rmsprop_attrs;

static const am_attr_field rmsprop_fields[] = {
    AM_ATTR_FIELD(rmsprop_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(rmsprop_attrs, gamma1, AM_ATTR_FLOAT, "0.95", "decay of n"),
    AM_ATTR_FIELD(rmsprop_attrs, epsilon, AM_ATTR_FLOAT, "1e-08", "added to n under the root"),
    AM_ATTR_FIELD(rmsprop_attrs, wd, AM_ATTR_FLOAT, "0.0", DOC_WD),
    AM_ATTR_FIELD(rmsprop_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0", DOC_RG),
    AM_ATTR_FIELD(rmsprop_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0",
                  "clips rescale_grad * grad + wd * weight to [-c, c]; -1: no clipping"),
    AM_ATTR_FIELD(rmsprop_attrs, clip_weights, AM_ATTR_FLOAT, "-1.0", DOC_CW),
    {0}};

static const am_attr_field rmspropalex_fields[] = {
    AM_ATTR_FIELD(rmsprop_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(rmsprop_attrs, gamma1, AM_ATTR_FLOAT, "0.95", "decay of n and g"),
    AM_ATTR_FIELD(rmsprop_attrs, gamma2, AM_ATTR_FLOAT, "0.9", "decay of delta"),
    AM_ATTR_FIELD(rmsprop_attrs, epsilon, AM_ATTR_FLOAT, "1e-08", "added under the root"),
    AM_ATTR_FIELD(rmsprop_attrs, wd, AM_ATTR_FLOAT, "0.0", DOC_WD),
    AM_ATTR_FIELD(rmsprop_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0", DOC_RG),
    AM_ATTR_FIELD(rmsprop_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0",
                  "clips rescale_grad * grad + wd * weight to [-c, c]; -1: no clipping"),
    AM_ATTR_FIELD(rmsprop_attrs, clip_weights, AM_ATTR_FLOAT, "-1.0", DOC_CW),
    {0}};

static const char *const names_rmsprop[] = {"weight", "grad", "n", NULL};
OPT_INFER(rmsprop, 0)
static const char *const names_rmspropalex[] = {"weight", "grad", "n", "g", "delta", NULL};
OPT_INFER(rmspropalex, 0)

static am_status rmsprop_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const rmsprop_attrs *a = attrs;
    int64_t n = am_view_size(&in[0]);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data;
        T *ns = in[2].data, *o = out[0].data;
        const T lr = (T)a->lr, g1 = (T)a->gamma1, eps = (T)a->epsilon, wd = (T)a->wd;
        const T rg = (T)a->rescale_grad, cg = (T)a->clip_gradient, cw = (T)a->clip_weights;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T gg = OPT_CLIP(rg * g[i] + wd * w[i], cg);
            ns[i] = (1 - g1) * gg * gg + g1 * ns[i];
            T v = w[i] - lr * gg / sqrt(ns[i] + eps);
            v = OPT_CLIP(v, cw);
            OPT_STORE(req[0], o, i, v);
        }
    });
    return AM_OK;
}

static am_status rmspropalex_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                 int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const rmsprop_attrs *a = attrs;
    int64_t n = am_view_size(&in[0]);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data;
        T *ns = in[2].data, *gs = in[3].data, *d = in[4].data, *o = out[0].data;
        const T lr = (T)a->lr, g1 = (T)a->gamma1, g2 = (T)a->gamma2, eps = (T)a->epsilon;
        const T wd = (T)a->wd, rg = (T)a->rescale_grad, cg = (T)a->clip_gradient;
        const T cw = (T)a->clip_weights;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T gg = OPT_CLIP(rg * g[i] + wd * w[i], cg);
            ns[i] = (1 - g1) * gg * gg + g1 * ns[i];
            gs[i] = (1 - g1) * gg + g1 * gs[i];
            d[i] = g2 * d[i] - lr * gg / sqrt(ns[i] - gs[i] * gs[i] + eps);
            T v = OPT_CLIP(w[i] + d[i], cw);
            OPT_STORE(req[0], o, i, v);
        }
    });
    return AM_OK;
}

const am_op_def am_op_rmsprop_update = {
    .name = "rmsprop_update", .input_names = names_rmsprop, .num_outputs = 1, .num_aux = 1,
    .attrs = rmsprop_fields, .attrs_size = sizeof(rmsprop_attrs),
    .infer_shape = rmsprop_shape, .infer_dtype = rmsprop_dtype, .cpu = rmsprop_cpu,
    .inplace = weight_inplace, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "RMSProp (Tieleman & Hinton): g = clip(rescale_grad * grad + wd * weight); n = (1 - "
           "gamma1) * g^2 + gamma1 * n; weight -= lr * g / sqrt(n + epsilon), clipped to "
           "clip_weights."};

const am_op_def am_op_rmspropalex_update = {
    .name = "rmspropalex_update", .input_names = names_rmspropalex, .num_outputs = 1,
    .num_aux = 3, .attrs = rmspropalex_fields, .attrs_size = sizeof(rmsprop_attrs),
    .infer_shape = rmspropalex_shape, .infer_dtype = rmspropalex_dtype, .cpu = rmspropalex_cpu,
    .inplace = weight_inplace, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "RMSProp (Graves): n, g = moving averages of g^2, g; delta = gamma2 * delta - lr * g "
           "/ sqrt(n - g^2 + epsilon); weight += delta, clipped to clip_weights."};

/* ---- _sparse_adagrad_update (adagrad_update) -------------------------------------------- */

typedef struct adagrad_attrs {
    double lr, epsilon, wd, rescale_grad, clip_gradient;
} adagrad_attrs;

static const am_attr_field adagrad_fields[] = {
    AM_ATTR_FIELD(adagrad_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(adagrad_attrs, epsilon, AM_ATTR_FLOAT, "1e-07", "added under the root"),
    AM_ATTR_FIELD(adagrad_attrs, wd, AM_ATTR_FLOAT, "0.0", "weight decay: adds lr * wd * weight"),
    AM_ATTR_FIELD(adagrad_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0", DOC_RG),
    AM_ATTR_FIELD(adagrad_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0", DOC_CG),
    {0}};

static const char *const names_adagrad[] = {"weight", "grad", "history", NULL};
OPT_INFER(adagrad, 0)

static am_status adagrad_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                             int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const adagrad_attrs *a = attrs;
    int64_t n = am_view_size(&in[0]);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data;
        T *h = in[2].data, *o = out[0].data;
        const T lr = (T)a->lr, eps = (T)a->epsilon, wd = (T)a->wd;
        const T rg = (T)a->rescale_grad, cg = (T)a->clip_gradient;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T gg = OPT_CLIP(rg * g[i], cg);
            h[i] += gg * gg;
            T v = w[i] - lr * (gg / sqrt(h[i] + eps) + wd * w[i]);
            OPT_STORE(req[0], o, i, v);
        }
    });
    return AM_OK;
}

const am_op_def am_op_adagrad_update = {
    .name = "_sparse_adagrad_update", .aliases = (const char *const[]){"adagrad_update", NULL},
    .input_names = names_adagrad, .num_outputs = 1, .num_aux = 1,
    .attrs = adagrad_fields, .attrs_size = sizeof(adagrad_attrs),
    .infer_shape = adagrad_shape, .infer_dtype = adagrad_dtype, .cpu = adagrad_cpu,
    .inplace = weight_inplace, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "AdaGrad on dense arrays: g = clip(rescale_grad * grad); history += g^2; weight -= "
           "lr * (g / sqrt(history + epsilon) + wd * weight)."};

/* ---- _adamw_update ---------------------------------------------------------------------- */

typedef struct adamw_attrs {
    double lr, beta1, beta2, epsilon, wd, eta, clip_gradient;
} adamw_attrs;

static const am_attr_field adamw_fields[] = {
    AM_ATTR_FIELD(adamw_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(adamw_attrs, beta1, AM_ATTR_FLOAT, "0.9", "decay of the mean"),
    AM_ATTR_FIELD(adamw_attrs, beta2, AM_ATTR_FLOAT, "0.999", "decay of the variance"),
    AM_ATTR_FIELD(adamw_attrs, epsilon, AM_ATTR_FLOAT, "1e-08", "added to sqrt(var)"),
    AM_ATTR_FIELD(adamw_attrs, wd, AM_ATTR_FLOAT, "0.0", "decoupled weight decay"),
    AM_ATTR_FIELD(adamw_attrs, eta, AM_ATTR_FLOAT, NULL, "schedule multiplier of the step"),
    AM_ATTR_FIELD(adamw_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0", DOC_CG),
    {0}};

static const char *const names_adamw[] = {"weight", "grad", "mean", "var", "rescale_grad",
                                          NULL};
OPT_INFER(adamw, 1u << 4)

static am_status adamw_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const adamw_attrs *a = attrs;
    int64_t n = am_view_size(&in[0]);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data;
        T *mean = in[2].data, *var = in[3].data, *o = out[0].data;
        const T rg = ((const T *)in[4].data)[0];
        const bool skip = !isfinite(rg) || rg == 0; /* an overflowed loss scale: no step */
        const T lr = (T)a->lr, b1 = (T)a->beta1, b2 = (T)a->beta2, eps = (T)a->epsilon;
        const T wd = (T)a->wd, eta = (T)a->eta, cg = (T)a->clip_gradient;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T v = w[i];
            if (!skip) {
                T gg = OPT_CLIP(rg * g[i], cg);
                mean[i] = b1 * mean[i] + (1 - b1) * gg;
                var[i] = b2 * var[i] + (1 - b2) * gg * gg;
                v = w[i] - eta * (lr * mean[i] / (sqrt(var[i]) + eps) + wd * w[i]);
            }
            OPT_STORE(req[0], o, i, v);
        }
    });
    return AM_OK;
}

/* mean and var are mutated but are not the trailing inputs (rescale_grad is), so
 * mutates_input names them and num_aux stays 0. */
static bool adamw_mutates(const void *attrs, int i)
{
    AM_UNUSED(attrs);
    return i == 2 || i == 3;
}

const am_op_def am_op_adamw_update = {
    .name = "_adamw_update", .aliases = (const char *const[]){"_contrib_adamw_update", NULL},
    .input_names = names_adamw, .num_outputs = 1,
    .attrs = adamw_fields, .attrs_size = sizeof(adamw_attrs),
    .infer_shape = adamw_shape, .infer_dtype = adamw_dtype, .cpu = adamw_cpu,
    .mutates_input = adamw_mutates,
    .inplace = weight_inplace, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "AdamW (decoupled weight decay): g = clip(rescale_grad * grad); mean, var = moving "
           "averages of g, g^2; weight -= eta * (lr * mean / (sqrt(var) + epsilon) + wd * "
           "weight); no step when rescale_grad (an array of one element) is 0, inf or nan."};

/* ---- lamb_update_phase1 and lamb_update_phase2 ----------------------------------------- */

typedef struct lamb1_attrs {
    double beta1, beta2, epsilon;
    int64_t t;
    bool bias_correction;
    double wd, rescale_grad, clip_gradient;
} lamb1_attrs;

static const am_attr_field lamb1_fields[] = {
    AM_ATTR_FIELD(lamb1_attrs, beta1, AM_ATTR_FLOAT, "0.9", "decay of the mean"),
    AM_ATTR_FIELD(lamb1_attrs, beta2, AM_ATTR_FLOAT, "0.999", "decay of the variance"),
    AM_ATTR_FIELD(lamb1_attrs, epsilon, AM_ATTR_FLOAT, "1e-06", "added to sqrt(var)"),
    AM_ATTR_FIELD(lamb1_attrs, t, AM_ATTR_INT, NULL, "the step number, from 1"),
    AM_ATTR_FIELD(lamb1_attrs, bias_correction, AM_ATTR_BOOL, "True",
                  "divide mean and var by 1 - beta^t"),
    AM_ATTR_FIELD(lamb1_attrs, wd, AM_ATTR_FLOAT, NULL, "adds wd * weight to the direction"),
    AM_ATTR_FIELD(lamb1_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0", DOC_RG),
    AM_ATTR_FIELD(lamb1_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0", DOC_CG),
    {0}};

static const char *const names_lamb1[] = {"weight", "grad", "mean", "var", NULL};
OPT_INFER(lamb1, 0)

static am_status lamb1_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const lamb1_attrs *a = attrs;
    int64_t n = am_view_size(&in[0]);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data;
        T *mean = in[2].data, *var = in[3].data, *o = out[0].data;
        const T b1 = (T)a->beta1, b2 = (T)a->beta2, eps = (T)a->epsilon, wd = (T)a->wd;
        const T rg = (T)a->rescale_grad, cg = (T)a->clip_gradient;
        const T c1 = a->bias_correction ? 1 - pow(b1, (T)a->t) : 1;
        const T c2 = a->bias_correction ? 1 - pow(b2, (T)a->t) : 1;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T gg = OPT_CLIP(rg * g[i], cg);
            mean[i] = b1 * mean[i] + (1 - b1) * gg;
            var[i] = b2 * var[i] + (1 - b2) * gg * gg;
            T v = (mean[i] / c1) / (sqrt(var[i] / c2) + eps) + wd * w[i];
            OPT_STORE(req[0], o, i, v);
        }
    });
    return AM_OK;
}

const am_op_def am_op_lamb_update_phase1 = {
    .name = "lamb_update_phase1", .input_names = names_lamb1, .num_outputs = 1, .num_aux = 2,
    .attrs = lamb1_fields, .attrs_size = sizeof(lamb1_attrs),
    .infer_shape = lamb1_shape, .infer_dtype = lamb1_dtype, .cpu = lamb1_cpu,
    .inplace = (const am_inplace_pair[]){{1, 0}, {-1, -1}}, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NO_GRAD,
    .doc = "LAMB, first phase: mean, var = moving averages of clip(rescale_grad * grad) and its "
           "square; returns the direction mean' / (sqrt(var') + epsilon) + wd * weight, with "
           "bias-corrected mean' and var'."};

typedef struct lamb2_attrs {
    double lr, lower_bound, upper_bound;
} lamb2_attrs;

static const am_attr_field lamb2_fields[] = {
    AM_ATTR_FIELD(lamb2_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(lamb2_attrs, lower_bound, AM_ATTR_FLOAT, "-1.0",
                  "lower bound of r1; -1: none"),
    AM_ATTR_FIELD(lamb2_attrs, upper_bound, AM_ATTR_FLOAT, "-1.0",
                  "upper bound of r1; -1: none"),
    {0}};

static const char *const names_lamb2[] = {"weight", "g", "r1", "r2", NULL};
OPT_INFER(lamb2, 3u << 2)

static am_status lamb2_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                           int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const lamb2_attrs *a = attrs;
    int64_t n = am_view_size(&in[0]);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data;
        T *o = out[0].data;
        T r1 = ((const T *)in[2].data)[0], r2 = ((const T *)in[3].data)[0];
        if (a->lower_bound >= 0 && r1 < (T)a->lower_bound) r1 = (T)a->lower_bound;
        if (a->upper_bound >= 0 && r1 > (T)a->upper_bound) r1 = (T)a->upper_bound;
        const T ratio = r1 == 0 || r2 == 0 ? 1 : r1 / r2, lr = (T)a->lr;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T v = w[i] - lr * ratio * g[i];
            OPT_STORE(req[0], o, i, v);
        }
    });
    return AM_OK;
}

const am_op_def am_op_lamb_update_phase2 = {
    .name = "lamb_update_phase2", .input_names = names_lamb2, .num_outputs = 1,
    .attrs = lamb2_fields, .attrs_size = sizeof(lamb2_attrs),
    .infer_shape = lamb2_shape, .infer_dtype = lamb2_dtype, .cpu = lamb2_cpu,
    .inplace = weight_inplace, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "LAMB, second phase: weight -= lr * (r1 / r2) * g, with r1 = ||weight|| clipped to "
           "[lower_bound, upper_bound] and r2 = ||g|| (ratio 1 when either is 0)."};

/* ---- public functions ------------------------------------------------------------------- */

am_array *am_sgd_update_at(am_array *weight, am_array *grad, double lr, double wd,
                           double rescale_grad, double clip_gradient, am_site at)
{
    sgd_attrs a = {.lr = lr, .wd = wd, .rescale_grad = rescale_grad,
                   .clip_gradient = clip_gradient, .lazy_update = true};
    return am_op_call1(&am_op_sgd_update, &a, (am_array *[]){weight, grad}, 2, at);
}

am_array *am_sgd_mom_update_at(am_array *weight, am_array *grad, am_array *mom, double lr,
                               double momentum, double wd, double rescale_grad,
                               double clip_gradient, am_site at)
{
    sgd_mom_attrs a = {.lr = lr, .momentum = momentum, .wd = wd, .rescale_grad = rescale_grad,
                       .clip_gradient = clip_gradient, .lazy_update = true};
    return am_op_call1(&am_op_sgd_mom_update, &a, (am_array *[]){weight, grad, mom}, 3, at);
}

am_array *am_nag_mom_update_at(am_array *weight, am_array *grad, am_array *mom, double lr,
                               double momentum, double wd, double rescale_grad,
                               double clip_gradient, am_site at)
{
    nag_attrs a = {.lr = lr, .momentum = momentum, .wd = wd, .rescale_grad = rescale_grad,
                   .clip_gradient = clip_gradient};
    return am_op_call1(&am_op_nag_mom_update, &a, (am_array *[]){weight, grad, mom}, 3, at);
}

am_array *am_adam_update_at(am_array *weight, am_array *grad, am_array *mean, am_array *var,
                            double lr, double beta1, double beta2, double epsilon, double wd,
                            double rescale_grad, double clip_gradient, am_site at)
{
    adam_attrs a = {.lr = lr, .beta1 = beta1, .beta2 = beta2, .epsilon = epsilon, .wd = wd,
                    .rescale_grad = rescale_grad, .clip_gradient = clip_gradient,
                    .lazy_update = true};
    return am_op_call1(&am_op_adam_update, &a, (am_array *[]){weight, grad, mean, var}, 4, at);
}

am_array *am_rmsprop_update_at(am_array *weight, am_array *grad, am_array *n, double lr,
                               double gamma1, double epsilon, double wd, double rescale_grad,
                               double clip_gradient, double clip_weights, am_site at)
{
    rmsprop_attrs a = {.lr = lr, .gamma1 = gamma1, .gamma2 = 0.9, .epsilon = epsilon, .wd = wd,
                       .rescale_grad = rescale_grad, .clip_gradient = clip_gradient,
                       .clip_weights = clip_weights};
    return am_op_call1(&am_op_rmsprop_update, &a, (am_array *[]){weight, grad, n}, 3, at);
}

am_array *am_rmspropalex_update_at(am_array *weight, am_array *grad, am_array *n, am_array *g,
                                   am_array *delta, double lr, double gamma1, double gamma2,
                                   double epsilon, double wd, double rescale_grad,
                                   double clip_gradient, double clip_weights, am_site at)
{
    rmsprop_attrs a = {.lr = lr, .gamma1 = gamma1, .gamma2 = gamma2, .epsilon = epsilon,
                       .wd = wd, .rescale_grad = rescale_grad, .clip_gradient = clip_gradient,
                       .clip_weights = clip_weights};
    return am_op_call1(&am_op_rmspropalex_update, &a, (am_array *[]){weight, grad, n, g, delta}, 5,
                 at);
}

am_array *am_adagrad_update_at(am_array *weight, am_array *grad, am_array *history, double lr,
                               double epsilon, double wd, double rescale_grad,
                               double clip_gradient, am_site at)
{
    adagrad_attrs a = {.lr = lr, .epsilon = epsilon, .wd = wd, .rescale_grad = rescale_grad,
                       .clip_gradient = clip_gradient};
    return am_op_call1(&am_op_adagrad_update, &a, (am_array *[]){weight, grad, history}, 3, at);
}

am_array *am_adamw_update_at(am_array *weight, am_array *grad, am_array *mean, am_array *var,
                             am_array *rescale_grad, double lr, double beta1, double beta2,
                             double epsilon, double wd, double eta, double clip_gradient,
                             am_site at)
{
    adamw_attrs a = {.lr = lr, .beta1 = beta1, .beta2 = beta2, .epsilon = epsilon, .wd = wd,
                     .eta = eta, .clip_gradient = clip_gradient};
    return am_op_call1(&am_op_adamw_update, &a, (am_array *[]){weight, grad, mean, var, rescale_grad},
                 5, at);
}

am_array *am_lamb_update_phase1_at(am_array *weight, am_array *grad, am_array *mean,
                                   am_array *var, double beta1, double beta2, double epsilon,
                                   int64_t t, bool bias_correction, double wd,
                                   double rescale_grad, double clip_gradient, am_site at)
{
    lamb1_attrs a = {.beta1 = beta1, .beta2 = beta2, .epsilon = epsilon, .t = t,
                     .bias_correction = bias_correction, .wd = wd,
                     .rescale_grad = rescale_grad, .clip_gradient = clip_gradient};
    return am_op_call1(&am_op_lamb_update_phase1, &a, (am_array *[]){weight, grad, mean, var}, 4, at);
}

am_array *am_lamb_update_phase2_at(am_array *weight, am_array *g, am_array *r1, am_array *r2,
                                   double lr, double lower_bound, double upper_bound, am_site at)
{
    lamb2_attrs a = {.lr = lr, .lower_bound = lower_bound, .upper_bound = upper_bound};
    return am_op_call1(&am_op_lamb_update_phase2, &a, (am_array *[]){weight, g, r1, r2}, 4, at);
}
