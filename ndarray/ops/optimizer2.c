/* More of MXNet 1.9's optimizer update ops, the one-weight forms: SignSGD, Signum, FTML,
 * FTRL, group AdaGrad and the multi-precision mp_* forms (the multi-tensor forms and the
 * helpers are in optimizer_multi.c).  As in optimizer.c, each writes the new weight to its
 * output and updates its states in place; an op whose states are not its trailing inputs
 * names them with mutates_input.  The mp_* forms run the update on weight32 and write
 * weight from it; today weight and weight32 share one dtype (float32 or float64): float16
 * weights come with the float16 dtype. */
#include "optimizer2_impl.h"

/* ---- signsgd_update ---------------------------------------------------------------------- */

typedef struct signsgd_attrs {
    double lr, wd, rescale_grad, clip_gradient;
} signsgd_attrs;

static const am_attr_field signsgd_fields[] = {
    AM_ATTR_FIELD(signsgd_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(signsgd_attrs, wd, AM_ATTR_FLOAT, "0.0", "decays the weight by lr * wd"),
    AM_ATTR_FIELD(signsgd_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0",
                  "accepted as MXNet does; a positive factor leaves the sign alone"),
    AM_ATTR_FIELD(signsgd_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0",
                  "accepted as MXNet does; clipping leaves the sign alone"),
    {0}};

static const char *const names_signsgd[] = {"weight", "grad", NULL};
INFER1(signsgd, 0)

KERNEL(signsgd)
{
    KERNEL_PROLOGUE(signsgd_attrs);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data;
        T *o = out[0].data;
        const T lr = (T)a->lr, wd = (T)a->wd;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T v = (1 - lr * wd) * w[i] - lr * (T)SIGN(g[i]);
            STORE(req[0], o, i, v);
        }
    });
    return AM_OK;
}

const am_op_def am_op_signsgd_update = {
    OPT_DEF(signsgd, "signsgd_update", signsgd, 0),
    .doc = "SignSGD: weight = (1 - lr * wd) * weight - lr * sign(grad)."};

/* ---- signum_update ----------------------------------------------------------------------- */

typedef struct signum_attrs {
    double lr, momentum, wd, rescale_grad, clip_gradient, wd_lh;
} signum_attrs;

static const am_attr_field signum_fields[] = {
    AM_ATTR_FIELD(signum_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(signum_attrs, momentum, AM_ATTR_FLOAT, "0.0", "decay of the momentum"),
    AM_ATTR_FIELD(signum_attrs, wd, AM_ATTR_FLOAT, "0.0", DOC_WD),
    AM_ATTR_FIELD(signum_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0", DOC_RG),
    AM_ATTR_FIELD(signum_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0", DOC_CG),
    AM_ATTR_FIELD(signum_attrs, wd_lh, AM_ATTR_FLOAT, "0.0",
                  "decoupled weight decay: the weight is scaled by 1 - lr * wd_lh"),
    {0}};

static const char *const names_signum[] = {"weight", "grad", "mom", NULL};
INFER1(signum, 0)

KERNEL(signum)
{
    KERNEL_PROLOGUE(signum_attrs);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data;
        T *m = in[2].data, *o = out[0].data;
        const T lr = (T)a->lr, mo = (T)a->momentum, wd = (T)a->wd, lh = (T)a->wd_lh;
        const T rg = (T)a->rescale_grad, cg = (T)a->clip_gradient;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            m[i] = mo * m[i] - (1 - mo) * wd * w[i] - (1 - mo) * CLIP(rg * g[i], cg);
            T v = (1 - lr * lh) * w[i] + lr * (T)SIGN(m[i]);
            STORE(req[0], o, i, v);
        }
    });
    return AM_OK;
}

const am_op_def am_op_signum_update = {
    OPT_DEF(signum, "signum_update", signum, 1),
    .doc = "Signum: mom = momentum * mom - (1 - momentum) * (wd * weight + clip(rescale_grad * "
           "grad)); weight = (1 - lr * wd_lh) * weight + lr * sign(mom) (mom in place)."};

/* ---- ftml_update ------------------------------------------------------------------------- */

typedef struct ftml_attrs {
    double lr, beta1, beta2, epsilon;
    int64_t t;
    double wd, rescale_grad, clip_grad;
} ftml_attrs;

static const am_attr_field ftml_fields[] = {
    AM_ATTR_FIELD(ftml_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(ftml_attrs, beta1, AM_ATTR_FLOAT, "0.6", "decay of z"),
    AM_ATTR_FIELD(ftml_attrs, beta2, AM_ATTR_FLOAT, "0.999", "decay of v"),
    AM_ATTR_FIELD(ftml_attrs, epsilon, AM_ATTR_FLOAT, "1e-08", "added to sqrt(v')"),
    AM_ATTR_FIELD(ftml_attrs, t, AM_ATTR_INT, NULL, "the step number, from 1"),
    AM_ATTR_FIELD(ftml_attrs, wd, AM_ATTR_FLOAT, "0.0", DOC_WD),
    AM_ATTR_FIELD(ftml_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0", DOC_RG),
    AM_ATTR_FIELD(ftml_attrs, clip_grad, AM_ATTR_FLOAT, "-1.0",
                  "clips rescale_grad * grad + wd * weight to [-c, c]; -1: no clipping"),
    {0}};

static const char *const names_ftml[] = {"weight", "grad", "d", "v", "z", NULL};
INFER1(ftml, 0)

KERNEL(ftml)
{
    KERNEL_PROLOGUE(ftml_attrs);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data;
        T *d = in[2].data, *v = in[3].data, *z = in[4].data, *o = out[0].data;
        const T lr = (T)a->lr, b1 = (T)a->beta1, b2 = (T)a->beta2, eps = (T)a->epsilon;
        const T wd = (T)a->wd, rg = (T)a->rescale_grad, cg = (T)a->clip_grad;
        const T c1 = 1 - (T)pow(b1, (double)a->t), c2 = 1 - (T)pow(b2, (double)a->t);
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T gg = CLIP(rg * g[i] + wd * w[i], cg);
            v[i] = b2 * v[i] + (1 - b2) * gg * gg;
            T dt = c1 / lr * (sqrt(v[i] / c2) + eps);
            z[i] = b1 * z[i] + (1 - b1) * gg - (dt - b1 * d[i]) * w[i];
            d[i] = dt;
            T val = -z[i] / dt;
            STORE(req[0], o, i, val);
        }
    });
    return AM_OK;
}

const am_op_def am_op_ftml_update = {
    OPT_DEF(ftml, "ftml_update", ftml, 3),
    .doc = "FTML (Follow the Moving Leader): g = clip(rescale_grad * grad + wd * weight); v, d, "
           "z updated in place; weight = -z / d."};

/* ---- ftrl_update ------------------------------------------------------------------------- */

typedef struct ftrl_attrs {
    double lr, lamda1, beta, wd, rescale_grad, clip_gradient;
} ftrl_attrs;

static const am_attr_field ftrl_fields[] = {
    AM_ATTR_FIELD(ftrl_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(ftrl_attrs, lamda1, AM_ATTR_FLOAT, "0.01", "L1 regularization (sic)"),
    AM_ATTR_FIELD(ftrl_attrs, beta, AM_ATTR_FLOAT, "1.0", "per-coordinate learning rate beta"),
    AM_ATTR_FIELD(ftrl_attrs, wd, AM_ATTR_FLOAT, "0.0", "L2 regularization"),
    AM_ATTR_FIELD(ftrl_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0", DOC_RG),
    AM_ATTR_FIELD(ftrl_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0", DOC_CG),
    {0}};

static const char *const names_ftrl[] = {"weight", "grad", "z", "n", NULL};
INFER1(ftrl, 0)

KERNEL(ftrl)
{
    KERNEL_PROLOGUE(ftrl_attrs);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data;
        T *z = in[2].data, *nn = in[3].data, *o = out[0].data;
        const T lr = (T)a->lr, l1 = (T)a->lamda1, beta = (T)a->beta, wd = (T)a->wd;
        const T rg = (T)a->rescale_grad, cg = (T)a->clip_gradient;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T gg = CLIP(rg * g[i], cg);
            z[i] += gg - (sqrt(nn[i] + gg * gg) - sqrt(nn[i])) * w[i] / lr;
            nn[i] += gg * gg;
            T v = fabs(z[i]) > l1
                      ? ((T)SIGN(z[i]) * l1 - z[i]) / ((beta + sqrt(nn[i])) / lr + wd)
                      : 0;
            STORE(req[0], o, i, v);
        }
    });
    return AM_OK;
}

const am_op_def am_op_ftrl_update = {
    OPT_DEF(ftrl, "ftrl_update", ftrl, 2),
    .doc = "FTRL: g = clip(rescale_grad * grad); z += g - (sqrt(n + g^2) - sqrt(n)) * weight / "
           "lr; n += g^2; weight = (sign(z) * lamda1 - z) / ((beta + sqrt(n)) / lr + wd) where "
           "|z| > lamda1, else 0."};

/* ---- _contrib_group_adagrad_update ------------------------------------------------------- */

typedef struct gadagrad_attrs {
    double lr, rescale_grad, clip_gradient, epsilon;
} gadagrad_attrs;

static const am_attr_field gadagrad_fields[] = {
    AM_ATTR_FIELD(gadagrad_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(gadagrad_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0", DOC_RG),
    AM_ATTR_FIELD(gadagrad_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0", DOC_CG),
    AM_ATTR_FIELD(gadagrad_attrs, epsilon, AM_ATTR_FLOAT, "1e-05", "added under the root"),
    {0}};

static const char *const names_gadagrad[] = {"weight", "grad", "history", NULL};

/* history holds one value per row (first-axis index) of the weight: (rows,) or (rows, 1). */
static am_status gadagrad_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    am_status s = same_shapes(names_gadagrad, 0x4, in, 0, 2, out);
    if (s != AM_OK) return s;
    AM_UNUSED(n_in);
    if (in[0].ndim < 1) return am_fail(AM_ERR_SHAPE, "weight must have at least one axis");
    int64_t rows = in[0].dim[0];
    if (in[2].ndim < 0) in[2] = am_shape_make(2, (int64_t[]){rows, 1});
    char a[96], b[96];
    if (in[2].ndim < 1 || in[2].dim[0] != rows || am_shape_size(&in[2]) != rows)
        return am_fail(AM_ERR_SHAPE, "history %s must hold one value per row of weight %s",
                       am_shape_format(&in[2], a, sizeof(a)),
                       am_shape_format(&in[0], b, sizeof(b)));
    return AM_OK;
}

static am_status gadagrad_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    return same_dtypes(names_gadagrad, in, 0, n_in, out);
}

KERNEL(gadagrad)
{
    KERNEL_PROLOGUE(gadagrad_attrs);
    int64_t rows = in[0].ndim ? in[0].dim[0] : 1, cols = rows ? n / rows : 0;
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data;
        T *h = in[2].data, *o = out[0].data;
        const T lr = (T)a->lr, eps = (T)a->epsilon;
        const T rg = (T)a->rescale_grad, cg = (T)a->clip_gradient;
        for (int64_t r = 0; r < rows; r++) {
            T ss = 0;
            for (int64_t c = 0; c < cols; c++) {
                T gg = CLIP(rg * g[r * cols + c], cg);
                ss += gg * gg;
            }
            h[r] += ss / (T)cols;
            const T div = sqrt(h[r] + eps);
            for (int64_t c = 0; c < cols; c++) {
                int64_t i = r * cols + c;
                T v = w[i] - lr * CLIP(rg * g[i], cg) / div;
                STORE(req[0], o, i, v);
            }
        }
    });
    return AM_OK;
}

const am_op_def am_op_group_adagrad_update = {
    OPT_DEF(gadagrad, "_contrib_group_adagrad_update", gadagrad, 1),
    .doc = "Group AdaGrad, one history value per row: g = clip(rescale_grad * grad); history += "
           "mean(g^2) over the row; weight -= lr * g / sqrt(history + epsilon)."};

/* ---- mp_sgd_update, mp_sgd_mom_update, mp_nag_mom_update ---------------------------------- */

typedef struct mpsgd_attrs {
    double lr, momentum, wd, rescale_grad, clip_gradient;
    bool lazy_update;
} mpsgd_attrs;

static const am_attr_field mpsgd_fields[] = {
    AM_ATTR_FIELD(mpsgd_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(mpsgd_attrs, wd, AM_ATTR_FLOAT, "0.0", DOC_WD),
    AM_ATTR_FIELD(mpsgd_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0", DOC_RG),
    AM_ATTR_FIELD(mpsgd_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0", DOC_CG),
    AM_ATTR_FIELD(mpsgd_attrs, lazy_update, AM_ATTR_BOOL, "True", DOC_LAZY),
    {0}};

static const am_attr_field mpsgd_mom_fields[] = {
    AM_ATTR_FIELD(mpsgd_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(mpsgd_attrs, momentum, AM_ATTR_FLOAT, "0.0", "decay of the momentum"),
    AM_ATTR_FIELD(mpsgd_attrs, wd, AM_ATTR_FLOAT, "0.0", DOC_WD),
    AM_ATTR_FIELD(mpsgd_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0", DOC_RG),
    AM_ATTR_FIELD(mpsgd_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0", DOC_CG),
    AM_ATTR_FIELD(mpsgd_attrs, lazy_update, AM_ATTR_BOOL, "True", DOC_LAZY),
    {0}};

static const am_attr_field mpnag_fields[] = {
    AM_ATTR_FIELD(mpsgd_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(mpsgd_attrs, momentum, AM_ATTR_FLOAT, "0.0", "decay of the momentum"),
    AM_ATTR_FIELD(mpsgd_attrs, wd, AM_ATTR_FLOAT, "0.0", DOC_WD),
    AM_ATTR_FIELD(mpsgd_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0", DOC_RG),
    AM_ATTR_FIELD(mpsgd_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0", DOC_CG),
    {0}};

typedef mpsgd_attrs mpsgd_mom_attrs, mpnag_attrs;

static const char *const names_mpsgd[] = {"weight", "grad", "weight32", NULL};
static const char *const names_mpsgd_mom[] = {"weight", "grad", "mom", "weight32", NULL};
static const char *const names_mpnag[] = {"weight", "grad", "mom", "weight32", NULL};
INFER1(mpsgd, 0)
INFER1(mpsgd_mom, 0)
INFER1(mpnag, 0)

/* kind 0: sgd, 1: sgd with momentum, 2: Nesterov momentum; in[2] is mom unless kind 0. */
static am_status mpsgd_run(const mpsgd_attrs *a, int kind, const am_view *in, const am_view *out,
                           const am_req *req)
{
    int64_t n = am_view_size(&in[0]);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *g = in[1].data;
        T *m = kind ? in[2].data : NULL, *w32 = in[kind ? 3 : 2].data, *o = out[0].data;
        const T lr = (T)a->lr, mo = (T)a->momentum, wd = (T)a->wd;
        const T rg = (T)a->rescale_grad, cg = (T)a->clip_gradient;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T gg = CLIP(rg * g[i], cg);
            if (kind == 0) {
                w32[i] = (1 - lr * wd) * w32[i] - lr * gg;
            } else if (kind == 1) {
                m[i] = mo * m[i] - lr * wd * w32[i] - lr * gg;
                w32[i] += m[i];
            } else {
                /* MXNet's kernel writes weight32 first, from the old momentum, and then
                 * takes the momentum's weight decay from the new weight32. */
                T step = gg + wd * w32[i];
                w32[i] += mo * (mo * m[i] - lr * step) - lr * step;
                m[i] = mo * m[i] - lr * (gg + wd * w32[i]);
            }
            STORE(req[0], o, i, w32[i]);
        }
    });
    return AM_OK;
}

KERNEL(mpsgd)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return mpsgd_run(attrs, 0, in, out, req);
}
KERNEL(mpsgd_mom)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return mpsgd_run(attrs, 1, in, out, req);
}
KERNEL(mpnag)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return mpsgd_run(attrs, 2, in, out, req);
}

const am_op_def am_op_mp_sgd_update = {
    OPT_DEF(mpsgd, "mp_sgd_update", mpsgd, 1),
    .doc = "sgd_update on the master copy weight32 (in place); weight = weight32."};
const am_op_def am_op_mp_sgd_mom_update = {
    OPT_DEF(mpsgd_mom, "mp_sgd_mom_update", mpsgd_mom, 2),
    .doc = "sgd_mom_update on the master copy weight32 (mom and weight32 in place); weight = "
           "weight32."};
const am_op_def am_op_mp_nag_mom_update = {
    OPT_DEF(mpnag, "mp_nag_mom_update", mpnag, 2),
    .doc = "Nesterov momentum on the master copy weight32, in MXNet's order: g = clip(rescale_grad "
           "* grad); weight32 += momentum * (momentum * mom - lr * (g + wd * weight32)) - lr * "
           "(g + wd * weight32); then mom = momentum * mom - lr * (g + wd * new weight32); "
           "weight = weight32."};

/* ---- mp_lamb_update_phase1 and mp_lamb_update_phase2 ------------------------------------- */

typedef struct mplamb1_attrs {
    double beta1, beta2, epsilon;
    int64_t t;
    bool bias_correction;
    double wd, rescale_grad, clip_gradient;
} mplamb1_attrs;

static const am_attr_field mplamb1_fields[] = {
    AM_ATTR_FIELD(mplamb1_attrs, beta1, AM_ATTR_FLOAT, "0.9", "decay of the mean"),
    AM_ATTR_FIELD(mplamb1_attrs, beta2, AM_ATTR_FLOAT, "0.999", "decay of the variance"),
    AM_ATTR_FIELD(mplamb1_attrs, epsilon, AM_ATTR_FLOAT, "1e-06", "added to sqrt(var)"),
    AM_ATTR_FIELD(mplamb1_attrs, t, AM_ATTR_INT, NULL, "the step number, from 1"),
    AM_ATTR_FIELD(mplamb1_attrs, bias_correction, AM_ATTR_BOOL, "True",
                  "divide mean and var by 1 - beta^t"),
    AM_ATTR_FIELD(mplamb1_attrs, wd, AM_ATTR_FLOAT, NULL, "adds wd * weight32 to the direction"),
    AM_ATTR_FIELD(mplamb1_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0", DOC_RG),
    AM_ATTR_FIELD(mplamb1_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0", DOC_CG),
    {0}};

static const char *const names_mplamb1[] = {"weight", "grad", "mean", "var", "weight32", NULL};
INFER1(mplamb1, 0)

/* mean and var change; weight32 (the last input) does not. */
static bool mplamb1_mutates(const void *attrs, int i)
{
    AM_UNUSED(attrs);
    return i == 2 || i == 3;
}

KERNEL(mplamb1)
{
    KERNEL_PROLOGUE(mplamb1_attrs);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *g = in[1].data, *w32 = in[4].data;
        T *mean = in[2].data, *var = in[3].data, *o = out[0].data;
        const T b1 = (T)a->beta1, b2 = (T)a->beta2, eps = (T)a->epsilon, wd = (T)a->wd;
        const T rg = (T)a->rescale_grad, cg = (T)a->clip_gradient;
        const T c1 = a->bias_correction ? 1 - (T)pow(b1, (double)a->t) : 1;
        const T c2 = a->bias_correction ? 1 - (T)pow(b2, (double)a->t) : 1;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T d;
            LAMB1(T, b1, b2, eps, wd, rg, cg, c1, c2, g[i], w32[i], mean[i], var[i], d);
            STORE(req[0], o, i, d);
        }
    });
    return AM_OK;
}

const am_op_def am_op_mp_lamb_update_phase1 = {
    .name = "mp_lamb_update_phase1", .input_names = names_mplamb1, .num_outputs = 1,
    .attrs = mplamb1_fields, .attrs_size = sizeof(mplamb1_attrs), .infer_shape = mplamb1_shape,
    .infer_dtype = mplamb1_dtype, .cpu = mplamb1_cpu, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NO_GRAD, .mutates_input = mplamb1_mutates,
    .inplace = (const am_inplace_pair[]){{1, 0}, {-1, -1}},
    .doc = "lamb_update_phase1 with the weight decay term taken from the master copy weight32 "
           "(mean and var in place)."};

typedef struct mplamb2_attrs {
    double lr, lower_bound, upper_bound;
} mplamb2_attrs;

static const am_attr_field mplamb2_fields[] = {
    AM_ATTR_FIELD(mplamb2_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(mplamb2_attrs, lower_bound, AM_ATTR_FLOAT, "-1.0", "lower bound of r1; -1: none"),
    AM_ATTR_FIELD(mplamb2_attrs, upper_bound, AM_ATTR_FLOAT, "-1.0", "upper bound of r1; -1: none"),
    {0}};

static const char *const names_mplamb2[] = {"weight", "g", "r1", "r2", "weight32", NULL};
INFER1(mplamb2, 3u << 2)

KERNEL(mplamb2)
{
    KERNEL_PROLOGUE(mplamb2_attrs);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *g = in[1].data;
        T *w32 = in[4].data, *o = out[0].data;
        const T r1 = ((const T *)in[2].data)[0], r2 = ((const T *)in[3].data)[0];
        const T step = (T)(a->lr * lamb_ratio(r1, r2, a->lower_bound, a->upper_bound));
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            w32[i] -= step * g[i];
            STORE(req[0], o, i, w32[i]);
        }
    });
    return AM_OK;
}

const am_op_def am_op_mp_lamb_update_phase2 = {
    OPT_DEF(mplamb2, "mp_lamb_update_phase2", mplamb2, 1),
    .doc = "lamb_update_phase2 on the master copy weight32 (in place); weight = weight32."};

/* ---- _mp_adamw_update -------------------------------------------------------------------- */

static const am_attr_field mpadamw_fields[] = {
    AM_ATTR_FIELD(mpadamw_attrs, lr, AM_ATTR_FLOAT, NULL, DOC_LR),
    AM_ATTR_FIELD(mpadamw_attrs, beta1, AM_ATTR_FLOAT, "0.9", "decay of the mean"),
    AM_ATTR_FIELD(mpadamw_attrs, beta2, AM_ATTR_FLOAT, "0.999", "decay of the variance"),
    AM_ATTR_FIELD(mpadamw_attrs, epsilon, AM_ATTR_FLOAT, "1e-08", "added to sqrt(var)"),
    AM_ATTR_FIELD(mpadamw_attrs, wd, AM_ATTR_FLOAT, "0.0", "decoupled weight decay"),
    AM_ATTR_FIELD(mpadamw_attrs, eta, AM_ATTR_FLOAT, NULL, "schedule multiplier of the step"),
    AM_ATTR_FIELD(mpadamw_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0", DOC_CG),
    {0}};

static const char *const names_mpadamw[] = {"weight", "grad", "mean", "var", "weight32",
                                            "rescale_grad", NULL};
INFER1(mpadamw, 1u << 5)

static bool mpadamw_mutates(const void *attrs, int i)
{
    AM_UNUSED(attrs);
    return i >= 2 && i <= 4;
}

/* AdamW takes no step when rescale_grad (one element of any float dtype) is 0, inf or nan. */
static bool adamw_skips(const am_view *rg, double *v)
{
    *v = am_view_get(rg, 0);
    return !isfinite(*v) || *v == 0;
}

KERNEL(mpadamw)
{
    KERNEL_PROLOGUE(mpadamw_attrs);
    double rgv;
    const bool skip = adamw_skips(&in[5], &rgv);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data, rg = (T)rgv;
        T *mean = in[2].data, *var = in[3].data, *w32 = in[4].data, *o = out[0].data;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            if (!skip) ADAMW(T, a, rg, g[i], mean[i], var[i], w32[i]);
            T v = skip ? w[i] : w32[i];
            STORE(req[0], o, i, v);
        }
    });
    return AM_OK;
}

const am_op_def am_op_mp_adamw_update = {
    OPT_DEF(mpadamw, "_mp_adamw_update", mpadamw, 0),
    .aliases = (const char *const[]){"_contrib_mp_adamw_update", NULL},
    .mutates_input = mpadamw_mutates,
    .doc = "_adamw_update on the master copy weight32 (mean, var and weight32 in place); "
           "weight = weight32; no step when rescale_grad is 0, inf or nan."};

/* ---- public functions -------------------------------------------------------------------- */

am_array *am_signsgd_update_at(am_array *weight, am_array *grad, double lr, double wd,
                               am_site at)
{
    signsgd_attrs a = {.lr = lr, .wd = wd, .rescale_grad = 1, .clip_gradient = -1};
    return am_op_call1(&am_op_signsgd_update, &a, (am_array *[]){weight, grad}, 2, at);
}

am_array *am_signum_update_at(am_array *weight, am_array *grad, am_array *mom, double lr,
                              double momentum, double wd, double rescale_grad,
                              double clip_gradient, double wd_lh, am_site at)
{
    signum_attrs a = {.lr = lr, .momentum = momentum, .wd = wd, .rescale_grad = rescale_grad,
                      .clip_gradient = clip_gradient, .wd_lh = wd_lh};
    return am_op_call1(&am_op_signum_update, &a, (am_array *[]){weight, grad, mom}, 3, at);
}

am_array *am_ftml_update_at(am_array *weight, am_array *grad, am_array *d, am_array *v,
                            am_array *z, double lr, double beta1, double beta2, double epsilon,
                            int64_t t, double wd, double rescale_grad, double clip_grad,
                            am_site at)
{
    ftml_attrs a = {.lr = lr, .beta1 = beta1, .beta2 = beta2, .epsilon = epsilon, .t = t,
                    .wd = wd, .rescale_grad = rescale_grad, .clip_grad = clip_grad};
    return am_op_call1(&am_op_ftml_update, &a, (am_array *[]){weight, grad, d, v, z}, 5, at);
}

am_array *am_ftrl_update_at(am_array *weight, am_array *grad, am_array *z, am_array *n,
                            double lr, double lamda1, double beta, double wd,
                            double rescale_grad, double clip_gradient, am_site at)
{
    ftrl_attrs a = {.lr = lr, .lamda1 = lamda1, .beta = beta, .wd = wd,
                    .rescale_grad = rescale_grad, .clip_gradient = clip_gradient};
    return am_op_call1(&am_op_ftrl_update, &a, (am_array *[]){weight, grad, z, n}, 4, at);
}

am_array *am_group_adagrad_update_at(am_array *weight, am_array *grad, am_array *history,
                                     double lr, double epsilon, double rescale_grad,
                                     double clip_gradient, am_site at)
{
    gadagrad_attrs a = {.lr = lr, .epsilon = epsilon, .rescale_grad = rescale_grad,
                        .clip_gradient = clip_gradient};
    return am_op_call1(&am_op_group_adagrad_update, &a, (am_array *[]){weight, grad, history}, 3, at);
}

am_array *am_mp_sgd_update_at(am_array *weight, am_array *grad, am_array *weight32, double lr,
                              double wd, double rescale_grad, double clip_gradient, am_site at)
{
    mpsgd_attrs a = {.lr = lr, .wd = wd, .rescale_grad = rescale_grad,
                     .clip_gradient = clip_gradient, .lazy_update = true};
    return am_op_call1(&am_op_mp_sgd_update, &a, (am_array *[]){weight, grad, weight32}, 3, at);
}

am_array *am_mp_sgd_mom_update_at(am_array *weight, am_array *grad, am_array *mom,
                                  am_array *weight32, double lr, double momentum, double wd,
                                  double rescale_grad, double clip_gradient, am_site at)
{
    mpsgd_attrs a = {.lr = lr, .momentum = momentum, .wd = wd, .rescale_grad = rescale_grad,
                     .clip_gradient = clip_gradient, .lazy_update = true};
    return am_op_call1(&am_op_mp_sgd_mom_update, &a, (am_array *[]){weight, grad, mom, weight32}, 4,
                 at);
}

am_array *am_mp_nag_mom_update_at(am_array *weight, am_array *grad, am_array *mom,
                                  am_array *weight32, double lr, double momentum, double wd,
                                  double rescale_grad, double clip_gradient, am_site at)
{
    mpsgd_attrs a = {.lr = lr, .momentum = momentum, .wd = wd, .rescale_grad = rescale_grad,
                     .clip_gradient = clip_gradient};
    return am_op_call1(&am_op_mp_nag_mom_update, &a, (am_array *[]){weight, grad, mom, weight32}, 4,
                 at);
}

am_array *am_mp_adamw_update_at(am_array *weight, am_array *grad, am_array *mean, am_array *var,
                                am_array *weight32, am_array *rescale_grad, double lr,
                                double beta1, double beta2, double epsilon, double wd,
                                double eta, double clip_gradient, am_site at)
{
    mpadamw_attrs a = {.lr = lr, .beta1 = beta1, .beta2 = beta2, .epsilon = epsilon, .wd = wd,
                       .eta = eta, .clip_gradient = clip_gradient};
    return am_op_call1(&am_op_mp_adamw_update, &a,
                 (am_array *[]){weight, grad, mean, var, weight32, rescale_grad}, 6, at);
}

