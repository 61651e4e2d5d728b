/* More of MXNet 1.9's optimizer update ops: SignSGD, Signum, FTML, FTRL, group AdaGrad, the
 * multi-precision (mp_*) forms, the multi-tensor forms (multi_*, preloaded_multi_*,
 * _multi_adamw, _multi_lamb) and the helpers MXNet's optimizers call beside them
 * (multi_sum_sq, multi_lars, all_finite, multi_all_finite).  As in optimizer.c, each writes
 * the new weights to its outputs and updates its states in place; an op whose states are not
 * its trailing inputs names them with mutates_input.  The mp_* forms run the update on
 * weight32 and write weight from it; today weight and weight32 share one dtype (float32 or
 * float64): float16 weights come with the float16 dtype. */
#include "../ndarray_impl.h"

#include <math.h>
#include <string.h>

#define STORE(req, out, i, v)                                            \
    do {                                                                 \
        if ((req) == AM_REQ_ADD) (out)[i] += (v);                        \
        else if ((req) != AM_REQ_NULL) (out)[i] = (v);                   \
    } while (0)

/* x clipped to [-c, c]; c < 0 means no clipping (MXNet's -1). */
#define CLIP(x, c) ((c) < 0 ? (x) : (x) > (c) ? (c) : (x) < -(c) ? -(c) : (x))
#define SIGN(x) (((x) > 0) - ((x) < 0))

/* ---- shapes and dtypes of the one-weight ops --------------------------------------------- */

/* Inputs [first, first + n) share one shape (unknown ones are filled in); out, when not
 * NULL, gets it.  Inputs whose bit is in scalar_mask hold one element instead. */
static am_status same_shapes(const char *const *names, unsigned scalar_mask, am_shape *in,
                             int first, int n, am_shape *out)
{
    int known = -1;
    for (int i = first; i < first + n && known < 0; i++)
        if (!(scalar_mask >> (i - first) & 1) && in[i].ndim >= 0) known = i;
    if (known < 0) return am_fail(AM_ERR_SHAPE, "the weight's shape is unknown");
    for (int i = first; i < first + n; i++) {
        char a[96], b[96];
        const char *nm = names[i - first];
        if (scalar_mask >> (i - first) & 1) {
            if (in[i].ndim < 0) in[i] = am_shape_make(1, (int64_t[]){1});
            if (am_shape_size(&in[i]) != 1)
                return am_fail(AM_ERR_SHAPE, "%s %s must hold one element", nm,
                               am_shape_format(&in[i], a, sizeof(a)));
            continue;
        }
        if (in[i].ndim < 0) in[i] = in[known];
        if (!am_shape_equal(in[i], in[known]))
            return am_fail(AM_ERR_SHAPE, "%s %s does not match %s %s", nm,
                           am_shape_format(&in[i], a, sizeof(a)), names[known - first],
                           am_shape_format(&in[known], b, sizeof(b)));
    }
    if (out) *out = in[known];
    return AM_OK;
}

/* Inputs [first, first + n) share one float dtype (float32 or float64); out gets it. */
static am_status same_dtypes(const char *const *names, am_dtype *in, int first, int n,
                             am_dtype *out)
{
    if (in[first] != AM_DTYPE_FLOAT32 && in[first] != AM_DTYPE_FLOAT64)
        return am_fail(AM_ERR_DTYPE, "%s is %s (float32 or float64 only)", names[0],
                       am_dtype_name(in[first]));
    for (int i = first + 1; i < first + n; i++)
        if (in[i] != in[first])
            return am_fail(AM_ERR_DTYPE, "%s is %s but %s is %s", names[i - first],
                           am_dtype_name(in[i]), names[0], am_dtype_name(in[first]));
    if (out) *out = in[first];
    return AM_OK;
}

#define INFER1(id, mask)                                                                    \
    static am_status id##_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,   \
                                int n_out)                                                  \
    {                                                                                       \
        AM_UNUSED(attrs), AM_UNUSED(n_out);                                                 \
        return same_shapes(names_##id, (mask), in, 0, n_in, out);                           \
    }                                                                                       \
    static am_status id##_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,   \
                                int n_out)                                                  \
    {                                                                                       \
        AM_UNUSED(attrs), AM_UNUSED(n_out);                                                 \
        return same_dtypes(names_##id, in, 0, n_in, out);                                   \
    }

#define KERNEL(id)                                                                          \
    static am_status id##_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in, \
                              int n_in, const am_view *out, int n_out, const am_req *req)

#define KERNEL_PROLOGUE(type)                                                               \
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);                                      \
    const type *a = attrs;                                                                  \
    int64_t n = am_view_size(&in[0])

static const am_inplace_pair weight_inplace[] = {{0, 0}, {-1, -1}};

#define DOC_LR "learning rate"
#define DOC_WD "weight decay: adds wd * weight to the gradient"
#define DOC_RG "multiplies the gradient first"
#define DOC_CG "clips the rescaled gradient to [-c, c]; -1: no clipping"
#define DOC_LAZY "row_sparse gradients only (no effect on dense arrays)"

#define OPT_DEF(sym, nm, id, aux)                                                           \
    .name = nm, .input_names = names_##id, .num_outputs = 1, .num_aux = aux,                \
    .attrs = id##_fields, .attrs_size = sizeof(id##_attrs), .infer_shape = id##_shape,      \
    .infer_dtype = id##_dtype, .cpu = id##_cpu, .inplace = weight_inplace,                  \
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD

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
    AM_ATTR_FIELD(ftrl_attrs, lamda1, AM_ATTR_FLOAT, "0.01", "L1 regularization (MXNet's spelling)"),
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

/* One LAMB phase-1 direction: mean and var updated, d = mean' / (sqrt(var') + eps) + wd * w. */
#define LAMB1(T, b1, b2, eps, wd, rg, cg, c1, c2, gi, wi, mean, var, d)                     \
    do {                                                                                    \
        T gg_ = CLIP((rg) * (gi), (cg));                                                    \
        (mean) = (b1) * (mean) + (1 - (b1)) * gg_;                                          \
        (var) = (b2) * (var) + (1 - (b2)) * gg_ * gg_;                                      \
        (d) = ((mean) / (c1)) / (sqrt((var) / (c2)) + (eps)) + (wd) * (wi);                 \
    } while (0)

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

/* LAMB's trust ratio: r1 clipped to the bounds (negative: none) over r2; 1 if either is 0. */
static double lamb_ratio(double r1, double r2, double lower, double upper)
{
    if (lower >= 0 && r1 < lower) r1 = lower;
    if (upper >= 0 && r1 > upper) r1 = upper;
    return r1 == 0 || r2 == 0 ? 1 : r1 / r2;
}

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

typedef struct mpadamw_attrs {
    double lr, beta1, beta2, epsilon, wd, eta, clip_gradient;
} mpadamw_attrs;

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

/* One AdamW step of element i on w (the master copy): mean, var and w in place. */
#define ADAMW(T, a, rg, g, mean, var, w)                                                    \
    do {                                                                                    \
        T gg_ = CLIP((rg) * (g), (T)(a)->clip_gradient);                                    \
        (mean) = (T)(a)->beta1 * (mean) + (1 - (T)(a)->beta1) * gg_;                        \
        (var) = (T)(a)->beta2 * (var) + (1 - (T)(a)->beta2) * gg_ * gg_;                    \
        (w) -= (T)(a)->eta * ((T)(a)->lr * (mean) / (sqrt(var) + (T)(a)->epsilon) +        \
                              (T)(a)->wd * (w));                                            \
    } while (0)

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

/* ---- the multi-tensor updates -------------------------------------------------------------
 * Inputs come in one group per weight, (weight, grad[, mom | mean, var][, weight32]), then the
 * op's trailing inputs (preloaded lrs and wds, AdamW's rescale_grad); output j is weight j's
 * new value.  One attribute struct serves them all; each op lists the fields MXNet gives it. */

typedef struct multi_attrs {
    am_floats lrs, wds, etas;
    double momentum, beta1, beta2, epsilon, rescale_grad, clip_gradient, lower_bound,
        upper_bound;
    bool bias_correction;
    am_tuple step_count;
    int64_t num_weights;
} multi_attrs;

enum { ALG_SGD, ALG_SGD_MOM, ALG_ADAMW, ALG_LAMB };

typedef struct multi_kind {
    int alg;
    bool mp, preloaded;
} multi_kind;

static int kind_group(const multi_kind *k)
{
    return (k->alg == ALG_SGD ? 2 : k->alg == ALG_SGD_MOM ? 3 : 4) + k->mp;
}

static int kind_extra(const multi_kind *k)
{
    return k->preloaded ? 2 : k->alg == ALG_ADAMW ? 1 : 0;
}

static int multi_count(const void *attrs)
{
    int64_t nw = attrs ? ((const multi_attrs *)attrs)->num_weights : 0;
    return nw < 0 ? 0 : nw > AM_MAX_OP_IO ? AM_MAX_OP_IO + 1 : (int)nw;
}

static int multi_inputs(const multi_kind *k, const void *attrs)
{
    return multi_count(attrs) * kind_group(k) + kind_extra(k);
}

/* Input i's role within its group (or a trailing input). */
static bool multi_mutates(const multi_kind *k, const void *attrs, int i)
{
    int grp = kind_group(k), nw = multi_count(attrs);
    if (i >= nw * grp) return false;
    int r = i % grp;
    return (k->mp && r == grp - 1) || (k->alg == ALG_SGD_MOM && r == 2) ||
           ((k->alg == ALG_ADAMW || k->alg == ALG_LAMB) && (r == 2 || r == 3));
}

static const char *const *group_names(const multi_kind *k)
{
    static const char *const sgd[] = {"weight", "grad", "weight32"};
    static const char *const mom[] = {"weight", "grad", "mom", "weight32"};
    static const char *const adam[] = {"weight", "grad", "mean", "var", "weight32"};
    return k->alg == ALG_SGD ? sgd : k->alg == ALG_SGD_MOM ? mom : adam;
}

static am_status check_len(const char *what, int n, int64_t nw)
{
    if (n != nw)
        return am_fail(AM_ERR_ARG, "%s has %d entries for %lld weights", what, n, (long long)nw);
    return AM_OK;
}

static am_status multi_check_attrs(const multi_kind *k, const multi_attrs *a)
{
    int64_t nw = a->num_weights;
    const char *cnt = k->alg == ALG_LAMB ? "num_tensors" : "num_weights";
    if (nw < 1 || nw > AM_MAX_FLOATS || nw * kind_group(k) + kind_extra(k) > AM_MAX_OP_IO)
        return am_fail(AM_ERR_ARG, "%s must be in [1, %d], got %lld", cnt,
                       (AM_MAX_OP_IO - kind_extra(k)) / kind_group(k) < AM_MAX_FLOATS
                           ? (AM_MAX_OP_IO - kind_extra(k)) / kind_group(k)
                           : AM_MAX_FLOATS,
                       (long long)nw);
    am_status s = AM_OK;
    if (!k->preloaded) {
        s = check_len(k->alg == ALG_LAMB ? "learning_rates" : "lrs", a->lrs.n, nw);
        if (s == AM_OK) s = check_len("wds", a->wds.n, nw);
    }
    if (s == AM_OK && k->alg == ALG_ADAMW) s = check_len("etas", a->etas.n, nw);
    if (s == AM_OK && k->alg == ALG_LAMB) s = check_len("step_count", a->step_count.ndim, nw);
    return s;
}

static am_status multi_shape(const multi_kind *k, const void *attrs, am_shape *in, int n_in,
                             am_shape *out)
{
    const multi_attrs *a = attrs;
    am_status s = multi_check_attrs(k, a);
    int grp = kind_group(k), nw = (int)a->num_weights;
    for (int j = 0; j < nw && s == AM_OK; j++) {
        s = same_shapes(group_names(k), 0, in, j * grp, grp, &out[j]);
        /* the weight32 of an mp group is named by its position in group_names */
        if (s != AM_OK) return s;
    }
    for (int i = nw * grp; i < n_in && s == AM_OK; i++) {
        char b[96];
        am_shape want = k->preloaded ? am_shape_make(1, (int64_t[]){nw})
                                     : am_shape_make(1, (int64_t[]){1});
        if (in[i].ndim < 0) in[i] = want;
        if (am_shape_size(&in[i]) != am_shape_size(&want))
            s = am_fail(AM_ERR_SHAPE, "%s %s must hold %lld element(s)",
                        k->preloaded ? (i == n_in - 1 ? "wds" : "lrs") : "rescale_grad",
                        am_shape_format(&in[i], b, sizeof(b)),
                        (long long)am_shape_size(&want));
    }
    return s;
}

static am_status multi_dtype(const multi_kind *k, const void *attrs, am_dtype *in, int n_in,
                             am_dtype *out)
{
    int grp = kind_group(k), nw = multi_count(attrs);
    am_status s = AM_OK;
    for (int j = 0; j < nw && s == AM_OK; j++)
        s = same_dtypes(group_names(k), in, j * grp, grp, &out[j]);
    for (int i = nw * grp; i < n_in && s == AM_OK; i++)
        if (in[i] != AM_DTYPE_FLOAT32 && in[i] != AM_DTYPE_FLOAT64)
            s = am_fail(AM_ERR_DTYPE, "input %d is %s (float32 or float64 only)", i,
                        am_dtype_name(in[i]));
    return s;
}

/* The SGD family: group j of in, its lr and wd. */
static am_status multi_sgd_group(const multi_kind *k, const multi_attrs *a, double lr, double wd,
                                 const am_view *in, const am_view *o, am_req req)
{
    int64_t n = am_view_size(&in[0]);
    bool mom = k->alg == ALG_SGD_MOM;
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data;
        T *m = mom ? in[2].data : NULL, *w32 = k->mp ? in[2 + mom].data : NULL, *y = o->data;
        const T tlr = (T)lr, twd = (T)wd, mo = (T)a->momentum;
        const T rg = (T)a->rescale_grad, cg = (T)a->clip_gradient;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T gg = CLIP(rg * g[i], cg), W = k->mp ? w32[i] : w[i], v;
            if (mom) {
                m[i] = mo * m[i] - tlr * twd * W - tlr * gg;
                v = W + m[i];
            } else {
                v = (1 - tlr * twd) * W - tlr * gg;
            }
            if (k->mp) w32[i] = v;
            STORE(req, y, i, v);
        }
    });
    return AM_OK;
}

static am_status multi_adamw_group(const multi_kind *k, const multi_attrs *a, int j, double rgv,
                                   const am_view *in, const am_view *o, am_req req)
{
    int64_t n = am_view_size(&in[0]);
    const mpadamw_attrs s = {.lr = a->lrs.v[j], .beta1 = a->beta1, .beta2 = a->beta2,
                             .epsilon = a->epsilon, .wd = a->wds.v[j], .eta = a->etas.v[j],
                             .clip_gradient = a->clip_gradient};
    const bool skip = !isfinite(rgv) || rgv == 0;
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data, rg = (T)rgv;
        T *mean = in[2].data, *var = in[3].data, *w32 = k->mp ? in[4].data : NULL, *y = o->data;
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T W = k->mp ? w32[i] : w[i];
            if (!skip) {
                ADAMW(T, &s, rg, g[i], mean[i], var[i], W);
                if (k->mp) w32[i] = W;
            } else {
                W = w[i];
            }
            STORE(req, y, i, W);
        }
    });
    return AM_OK;
}

/* LAMB on one tensor: mean and var updated, then the norms of the master weight and of the
 * direction (recomputed from mean and var rather than stored), then the step. */
static am_status multi_lamb_group(const multi_kind *k, const multi_attrs *a, int j,
                                  const am_view *in, const am_view *o, am_req req)
{
    int64_t n = am_view_size(&in[0]);
    const double t = (double)a->step_count.v[j];
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *w = in[0].data, *g = in[1].data;
        T *mean = in[2].data, *var = in[3].data, *w32 = k->mp ? in[4].data : NULL, *y = o->data;
        const T *W = k->mp ? w32 : w;
        const T b1 = (T)a->beta1, b2 = (T)a->beta2, eps = (T)a->epsilon, wd = (T)a->wds.v[j];
        const T rg = (T)a->rescale_grad, cg = (T)a->clip_gradient;
        const T c1 = a->bias_correction ? 1 - (T)pow(b1, t) : 1;
        const T c2 = a->bias_correction ? 1 - (T)pow(b2, t) : 1;
        double r1 = 0, r2 = 0;
        for (int64_t i = 0; i < n; i++) {
            T d;
            LAMB1(T, b1, b2, eps, wd, rg, cg, c1, c2, g[i], W[i], mean[i], var[i], d);
            r1 += (double)W[i] * W[i], r2 += (double)d * d;
        }
        const T step = (T)(a->lrs.v[j] *
                           lamb_ratio(sqrt(r1), sqrt(r2), a->lower_bound, a->upper_bound));
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T d = (mean[i] / c1) / (sqrt(var[i] / c2) + eps) + wd * W[i];
            T v = W[i] - step * d;
            if (k->mp) w32[i] = v;
            STORE(req, y, i, v);
        }
    });
    return AM_OK;
}

static am_status multi_run(const multi_kind *k, const void *attrs, const am_view *in, int n_in,
                           const am_view *out, const am_req *req)
{
    const multi_attrs *a = attrs;
    int grp = kind_group(k), nw = (int)a->num_weights;
    am_status s = AM_OK;
    for (int j = 0; j < nw && s == AM_OK; j++) {
        const am_view *gin = &in[j * grp];
        switch (k->alg) {
        case ALG_SGD:
        case ALG_SGD_MOM: {
            double lr = k->preloaded ? am_view_get(&in[n_in - 2], j) : a->lrs.v[j];
            double wd = k->preloaded ? am_view_get(&in[n_in - 1], j) : a->wds.v[j];
            s = multi_sgd_group(k, a, lr, wd, gin, &out[j], req[j]);
            break;
        }
        case ALG_ADAMW:
            s = multi_adamw_group(k, a, j, am_view_get(&in[n_in - 1], 0), gin, &out[j], req[j]);
            break;
        default: s = multi_lamb_group(k, a, j, gin, &out[j], req[j]); break;
        }
    }
    return s;
}

/* The registry's functions for the op of kind kind_<id>. */
#define MULTI_FNS(id, ...)                                                                  \
    static const multi_kind kind_##id = {__VA_ARGS__};                                      \
    static int id##_inputs(const void *attrs) { return multi_inputs(&kind_##id, attrs); }   \
    static int id##_outputs(const void *attrs) { return multi_count(attrs); }               \
    static bool id##_mutates(const void *attrs, int i)                                      \
    {                                                                                       \
        return multi_mutates(&kind_##id, attrs, i);                                         \
    }                                                                                       \
    static am_status id##_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,   \
                                int n_out)                                                  \
    {                                                                                       \
        AM_UNUSED(n_out);                                                                   \
        return multi_shape(&kind_##id, attrs, in, n_in, out);                               \
    }                                                                                       \
    static am_status id##_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,   \
                                int n_out)                                                  \
    {                                                                                       \
        AM_UNUSED(n_out);                                                                   \
        return multi_dtype(&kind_##id, attrs, in, n_in, out);                               \
    }                                                                                       \
    KERNEL(id)                                                                              \
    {                                                                                       \
        AM_UNUSED(ctx), AM_UNUSED(n_out);                                                   \
        return multi_run(&kind_##id, attrs, in, n_in, out, req);                            \
    }

#define MULTI_DEF(id, nm, fields)                                                           \
    .name = nm, .input_names = multi_data, .num_inputs = id##_inputs,                       \
    .num_outputs_of = id##_outputs, .mutates_input = id##_mutates, .attrs = fields,         \
    .attrs_size = sizeof(multi_attrs), .infer_shape = id##_shape, .infer_dtype = id##_dtype, \
    .cpu = id##_cpu, .inplace = weight_inplace, .fuse = AM_FUSE_OPAQUE,                     \
    .flags = AM_OP_NO_GRAD | AM_OP_VARIADIC

static const char *const multi_data[] = {"data", NULL};

#define F_LRS AM_ATTR_FIELD(multi_attrs, lrs, AM_ATTR_FLOATS, NULL, "learning rate of each weight")
#define F_WDS AM_ATTR_FIELD(multi_attrs, wds, AM_ATTR_FLOATS, NULL, "weight decay of each weight")
#define F_MOM AM_ATTR_FIELD(multi_attrs, momentum, AM_ATTR_FLOAT, "0.0", "decay of the momentum")
#define F_RG AM_ATTR_FIELD(multi_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0", DOC_RG)
#define F_CG AM_ATTR_FIELD(multi_attrs, clip_gradient, AM_ATTR_FLOAT, "-1.0", DOC_CG)
#define F_NW AM_ATTR_FIELD(multi_attrs, num_weights, AM_ATTR_INT, "1", "number of weights")
#define F_B1 AM_ATTR_FIELD(multi_attrs, beta1, AM_ATTR_FLOAT, "0.9", "decay of the mean")
#define F_B2 AM_ATTR_FIELD(multi_attrs, beta2, AM_ATTR_FLOAT, "0.999", "decay of the variance")

static const am_attr_field msgd_fields[] = {F_LRS, F_WDS, F_RG, F_CG, F_NW, {0}};
static const am_attr_field msgd_mom_fields[] = {F_LRS, F_WDS, F_MOM, F_RG, F_CG, F_NW, {0}};
static const am_attr_field pmsgd_fields[] = {F_RG, F_CG, F_NW, {0}};
static const am_attr_field pmsgd_mom_fields[] = {F_MOM, F_RG, F_CG, F_NW, {0}};
static const am_attr_field madamw_fields[] = {
    F_LRS, F_B1, F_B2,
    AM_ATTR_FIELD(multi_attrs, epsilon, AM_ATTR_FLOAT, "1e-08", "added to sqrt(var)"),
    F_WDS,
    AM_ATTR_FIELD(multi_attrs, etas, AM_ATTR_FLOATS, NULL, "schedule multiplier of each step"),
    F_CG, F_NW, {0}};
static const am_attr_field mlamb_fields[] = {
    {"learning_rates", AM_ATTR_FLOATS, offsetof(multi_attrs, lrs), NULL, NULL,
     "learning rate of each tensor"},
    F_B1, F_B2,
    AM_ATTR_FIELD(multi_attrs, epsilon, AM_ATTR_FLOAT, "1e-06", "added to sqrt(var)"),
    F_WDS, F_RG,
    AM_ATTR_FIELD(multi_attrs, lower_bound, AM_ATTR_FLOAT, "-1.0", "lower bound of ||weight||"),
    AM_ATTR_FIELD(multi_attrs, upper_bound, AM_ATTR_FLOAT, "-1.0", "upper bound of ||weight||"),
    F_CG,
    AM_ATTR_FIELD(multi_attrs, bias_correction, AM_ATTR_BOOL, "True",
                  "divide mean and var by 1 - beta^t"),
    AM_ATTR_FIELD(multi_attrs, step_count, AM_ATTR_TUPLE, NULL, "step number t of each tensor"),
    {"num_tensors", AM_ATTR_INT, offsetof(multi_attrs, num_weights), "1", NULL,
     "number of tensors"},
    {0}};

MULTI_FNS(msgd, ALG_SGD, false, false)
MULTI_FNS(msgd_mom, ALG_SGD_MOM, false, false)
MULTI_FNS(mmpsgd, ALG_SGD, true, false)
MULTI_FNS(mmpsgd_mom, ALG_SGD_MOM, true, false)
MULTI_FNS(pmsgd, ALG_SGD, false, true)
MULTI_FNS(pmsgd_mom, ALG_SGD_MOM, false, true)
MULTI_FNS(pmmpsgd, ALG_SGD, true, true)
MULTI_FNS(pmmpsgd_mom, ALG_SGD_MOM, true, true)
MULTI_FNS(madamw, ALG_ADAMW, false, false)
MULTI_FNS(mmpadamw, ALG_ADAMW, true, false)
MULTI_FNS(mlamb, ALG_LAMB, false, false)
MULTI_FNS(mmplamb, ALG_LAMB, true, false)

#define DOC_MSGD "sgd_update of num_weights (weight, grad) pairs, each with its own lr and wd"
const am_op_def am_op_multi_sgd_update = {
    MULTI_DEF(msgd, "multi_sgd_update", msgd_fields), .doc = DOC_MSGD "."};
const am_op_def am_op_multi_sgd_mom_update = {
    MULTI_DEF(msgd_mom, "multi_sgd_mom_update", msgd_mom_fields),
    .doc = "sgd_mom_update of num_weights (weight, grad, mom) groups (moms in place)."};
const am_op_def am_op_multi_mp_sgd_update = {
    MULTI_DEF(mmpsgd, "multi_mp_sgd_update", msgd_fields),
    .doc = "mp_sgd_update of num_weights (weight, grad, weight32) groups (weight32s in place)."};
const am_op_def am_op_multi_mp_sgd_mom_update = {
    MULTI_DEF(mmpsgd_mom, "multi_mp_sgd_mom_update", msgd_mom_fields),
    .doc = "mp_sgd_mom_update of num_weights (weight, grad, mom, weight32) groups."};
const am_op_def am_op_preloaded_multi_sgd_update = {
    MULTI_DEF(pmsgd, "preloaded_multi_sgd_update", pmsgd_fields),
    .doc = "multi_sgd_update with lrs and wds given as the last two inputs, (num_weights,)."};
const am_op_def am_op_preloaded_multi_sgd_mom_update = {
    MULTI_DEF(pmsgd_mom, "preloaded_multi_sgd_mom_update", pmsgd_mom_fields),
    .doc = "multi_sgd_mom_update with lrs and wds given as the last two inputs."};
const am_op_def am_op_preloaded_multi_mp_sgd_update = {
    MULTI_DEF(pmmpsgd, "preloaded_multi_mp_sgd_update", pmsgd_fields),
    .doc = "multi_mp_sgd_update with lrs and wds given as the last two inputs."};
const am_op_def am_op_preloaded_multi_mp_sgd_mom_update = {
    MULTI_DEF(pmmpsgd_mom, "preloaded_multi_mp_sgd_mom_update", pmsgd_mom_fields),
    .doc = "multi_mp_sgd_mom_update with lrs and wds given as the last two inputs."};
const am_op_def am_op_multi_adamw_update = {
    MULTI_DEF(madamw, "_multi_adamw_update", madamw_fields),
    .aliases = (const char *const[]){"_contrib_multi_adamw_update", NULL},
    .doc = "_adamw_update of num_weights (weight, grad, mean, var) groups, then one "
           "rescale_grad for all."};
const am_op_def am_op_multi_mp_adamw_update = {
    MULTI_DEF(mmpadamw, "_multi_mp_adamw_update", madamw_fields),
    .aliases = (const char *const[]){"_contrib_multi_mp_adamw_update", NULL},
    .doc = "_mp_adamw_update of num_weights (weight, grad, mean, var, weight32) groups, then "
           "one rescale_grad."};
const am_op_def am_op_multi_lamb_update = {
    MULTI_DEF(mlamb, "_multi_lamb_update", mlamb_fields),
    .aliases = (const char *const[]){"_contrib_multi_lamb_update", NULL},
    .doc = "Both LAMB phases on num_tensors (weight, grad, mean, var) groups: weight -= lr * "
           "(r1 / r2) * direction, with the norms taken inside."};
const am_op_def am_op_multi_mp_lamb_update = {
    MULTI_DEF(mmplamb, "_multi_mp_lamb_update", mlamb_fields),
    .aliases = (const char *const[]){"_contrib_multi_mp_lamb_update", NULL},
    .doc = "_multi_lamb_update on (weight, grad, mean, var, weight32) groups (weight32s in "
           "place)."};

/* ---- multi_sum_sq, multi_lars, all_finite, multi_all_finite ------------------------------- */

typedef struct count_attrs {
    int64_t num_arrays;
    bool init_output;
} count_attrs;

static int count_inputs(const void *attrs)
{
    int64_t k = attrs ? ((const count_attrs *)attrs)->num_arrays : 0;
    return k < 0 ? 0 : k > AM_MAX_OP_IO ? AM_MAX_OP_IO + 1 : (int)k;
}

/* Any shapes in; one float32 output of out_len elements. */
static am_status arrays_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int64_t out_len)
{
    AM_UNUSED(attrs);
    if (n_in < 1) return am_fail(AM_ERR_ARG, "num_arrays must be at least 1");
    for (int i = 0; i < n_in; i++)
        if (in[i].ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of input %d is unknown", i);
    out[0] = am_shape_make(1, (int64_t[]){out_len});
    return AM_OK;
}

static am_status arrays_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                              int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    for (int i = 0; i < n_in; i++)
        if (in[i] != AM_DTYPE_FLOAT32 && in[i] != AM_DTYPE_FLOAT64)
            return am_fail(AM_ERR_DTYPE, "input %d is %s (float32 or float64 only)", i,
                           am_dtype_name(in[i]));
    out[0] = AM_DTYPE_FLOAT32;
    return AM_OK;
}

static am_status sum_sq_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_out);
    return arrays_shape(attrs, in, n_in, out, n_in);
}

static double sum_sq(const am_view *v)
{
    int64_t n = am_view_size(v);
    double s = 0;
    if (v->dtype == AM_DTYPE_FLOAT32)
        for (int64_t i = 0; i < n; i++) s += (double)((const float *)v->data)[i] *
                                             ((const float *)v->data)[i];
    else
        for (int64_t i = 0; i < n; i++) s += ((const double *)v->data)[i] *
                                             ((const double *)v->data)[i];
    return s;
}

KERNEL(sum_sq)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_out);
    float *o = out[0].data;
    for (int i = 0; i < n_in; i++) STORE(req[0], o, i, (float)sum_sq(&in[i]));
    return AM_OK;
}

const am_op_def am_op_multi_sum_sq = {
    .name = "multi_sum_sq", .input_names = multi_data, .num_inputs = count_inputs,
    .num_outputs = 1,
    .attrs = (const am_attr_field[]){AM_ATTR_FIELD(count_attrs, num_arrays, AM_ATTR_INT, NULL,
                                                   "number of input arrays"),
                                     {0}},
    .attrs_size = sizeof(count_attrs), .infer_shape = sum_sq_shape, .infer_dtype = arrays_dtype,
    .cpu = sum_sq_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD | AM_OP_VARIADIC,
    .doc = "The sum of squares of each of num_arrays arrays, as a float32 (num_arrays,)."};

/* all_finite and multi_all_finite: 1 when every element is finite, else 0; with
 * init_output False the output is only written (0) when some element is not. */
static am_status finite_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                              int n_out)
{
    AM_UNUSED(n_out);
    return arrays_shape(attrs, in, n_in, out, 1);
}

static bool view_finite(const am_view *v)
{
    int64_t n = am_view_size(v);
    if (v->dtype == AM_DTYPE_FLOAT32) {
        for (int64_t i = 0; i < n; i++)
            if (!isfinite(((const float *)v->data)[i])) return false;
    } else {
        for (int64_t i = 0; i < n; i++)
            if (!isfinite(((const double *)v->data)[i])) return false;
    }
    return true;
}

KERNEL(finite)
{
    AM_UNUSED(ctx), AM_UNUSED(n_out);
    const count_attrs *a = attrs;
    bool ok = true;
    for (int i = 0; i < n_in && ok; i++) ok = view_finite(&in[i]);
    float *o = out[0].data;
    if (!ok) STORE(req[0], o, 0, 0.0f);
    else if (a->init_output) STORE(req[0], o, 0, 1.0f);
    return AM_OK;
}

static int one_input(const void *attrs)
{
    AM_UNUSED(attrs);
    return 1;
}

#define F_INIT                                                                              \
    AM_ATTR_FIELD(count_attrs, init_output, AM_ATTR_BOOL, "True",                           \
                  "write 1 when all are finite (False: leave the output)")

const am_op_def am_op_all_finite = {
    .name = "all_finite", .input_names = (const char *const[]){"data", NULL},
    .num_inputs = one_input, .num_outputs = 1,
    .attrs = (const am_attr_field[]){F_INIT, {0}}, .attrs_size = sizeof(count_attrs),
    .infer_shape = finite_shape, .infer_dtype = arrays_dtype, .cpu = finite_cpu,
    .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "1 (float32, shape (1,)) when every element of data is finite, else 0."};

const am_op_def am_op_multi_all_finite = {
    .name = "multi_all_finite", .input_names = multi_data, .num_inputs = count_inputs,
    .num_outputs = 1,
    .attrs = (const am_attr_field[]){AM_ATTR_FIELD(count_attrs, num_arrays, AM_ATTR_INT, "1",
                                                   "number of arrays"),
                                     F_INIT, {0}},
    .attrs_size = sizeof(count_attrs), .infer_shape = finite_shape, .infer_dtype = arrays_dtype,
    .cpu = finite_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD | AM_OP_VARIADIC,
    .doc = "1 (float32, shape (1,)) when every element of all num_arrays arrays is finite."};

typedef struct lars_attrs {
    double eta, eps, rescale_grad;
} lars_attrs;

static const am_attr_field lars_fields[] = {
    AM_ATTR_FIELD(lars_attrs, eta, AM_ATTR_FLOAT, NULL, "LARS coefficient"),
    AM_ATTR_FIELD(lars_attrs, eps, AM_ATTR_FLOAT, NULL, "added to the denominator"),
    AM_ATTR_FIELD(lars_attrs, rescale_grad, AM_ATTR_FLOAT, "1.0", "scales the gradient norms"),
    {0}};

static const char *const names_lars[] = {"lrs", "weights_sum_sq", "grads_sum_sq", "wds", NULL};
static am_status lars_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                            int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    am_status s = same_shapes(names_lars, 0, in, 0, n_in, out);
    char b[96];
    if (s == AM_OK && out[0].ndim != 1)
        s = am_fail(AM_ERR_SHAPE, "lrs %s must have one axis",
                    am_shape_format(&out[0], b, sizeof(b)));
    return s;
}

static am_status lars_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    return same_dtypes(names_lars, in, 0, n_in, out);
}

KERNEL(lars)
{
    KERNEL_PROLOGUE(lars_attrs);
    AM_FLOAT_SWITCH(in[0].dtype, T, {
        const T *lr = in[0].data, *ws = in[1].data, *gs = in[2].data, *wd = in[3].data;
        T *o = out[0].data;
        for (int64_t i = 0; i < n; i++) {
            T wn = sqrt(ws[i]), gn = sqrt(gs[i]) * (T)a->rescale_grad;
            T v = wn > 0 && gn > 0 ? lr[i] * (T)a->eta * wn / (gn + wd[i] * wn + (T)a->eps)
                                   : lr[i];
            STORE(req[0], o, i, v);
        }
    });
    return AM_OK;
}

const am_op_def am_op_multi_lars = {
    .name = "multi_lars", .input_names = names_lars, .num_outputs = 1, .attrs = lars_fields,
    .attrs_size = sizeof(lars_attrs), .infer_shape = lars_shape, .infer_dtype = lars_dtype,
    .cpu = lars_cpu, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_NO_GRAD,
    .doc = "LARS learning rates: lr * eta * |w| / (|g| + wd * |w| + eps) from the sums of "
           "squares (|g| scaled by rescale_grad), or lr where a norm is 0."};

/* ---- public functions -------------------------------------------------------------------- */

static am_array *call1(const am_op_def *op, const void *attrs, am_array *const *in, int n_in,
                       am_site at)
{
    am_array *y = NULL;
    am_op_call(op, attrs, in, n_in, &y, 1, at);
    return y;
}

am_array *am_signsgd_update_at(am_array *weight, am_array *grad, double lr, double wd,
                               am_site at)
{
    signsgd_attrs a = {.lr = lr, .wd = wd, .rescale_grad = 1, .clip_gradient = -1};
    return call1(&am_op_signsgd_update, &a, (am_array *[]){weight, grad}, 2, at);
}

am_array *am_signum_update_at(am_array *weight, am_array *grad, am_array *mom, double lr,
                              double momentum, double wd, double rescale_grad,
                              double clip_gradient, double wd_lh, am_site at)
{
    signum_attrs a = {.lr = lr, .momentum = momentum, .wd = wd, .rescale_grad = rescale_grad,
                      .clip_gradient = clip_gradient, .wd_lh = wd_lh};
    return call1(&am_op_signum_update, &a, (am_array *[]){weight, grad, mom}, 3, at);
}

am_array *am_ftml_update_at(am_array *weight, am_array *grad, am_array *d, am_array *v,
                            am_array *z, double lr, double beta1, double beta2, double epsilon,
                            int64_t t, double wd, double rescale_grad, double clip_grad,
                            am_site at)
{
    ftml_attrs a = {.lr = lr, .beta1 = beta1, .beta2 = beta2, .epsilon = epsilon, .t = t,
                    .wd = wd, .rescale_grad = rescale_grad, .clip_grad = clip_grad};
    return call1(&am_op_ftml_update, &a, (am_array *[]){weight, grad, d, v, z}, 5, at);
}

am_array *am_ftrl_update_at(am_array *weight, am_array *grad, am_array *z, am_array *n,
                            double lr, double lamda1, double beta, double wd,
                            double rescale_grad, double clip_gradient, am_site at)
{
    ftrl_attrs a = {.lr = lr, .lamda1 = lamda1, .beta = beta, .wd = wd,
                    .rescale_grad = rescale_grad, .clip_gradient = clip_gradient};
    return call1(&am_op_ftrl_update, &a, (am_array *[]){weight, grad, z, n}, 4, at);
}

am_array *am_group_adagrad_update_at(am_array *weight, am_array *grad, am_array *history,
                                     double lr, double epsilon, double rescale_grad,
                                     double clip_gradient, am_site at)
{
    gadagrad_attrs a = {.lr = lr, .epsilon = epsilon, .rescale_grad = rescale_grad,
                        .clip_gradient = clip_gradient};
    return call1(&am_op_group_adagrad_update, &a, (am_array *[]){weight, grad, history}, 3, at);
}

am_array *am_mp_sgd_update_at(am_array *weight, am_array *grad, am_array *weight32, double lr,
                              double wd, double rescale_grad, double clip_gradient, am_site at)
{
    mpsgd_attrs a = {.lr = lr, .wd = wd, .rescale_grad = rescale_grad,
                     .clip_gradient = clip_gradient, .lazy_update = true};
    return call1(&am_op_mp_sgd_update, &a, (am_array *[]){weight, grad, weight32}, 3, at);
}

am_array *am_mp_sgd_mom_update_at(am_array *weight, am_array *grad, am_array *mom,
                                  am_array *weight32, double lr, double momentum, double wd,
                                  double rescale_grad, double clip_gradient, am_site at)
{
    mpsgd_attrs a = {.lr = lr, .momentum = momentum, .wd = wd, .rescale_grad = rescale_grad,
                     .clip_gradient = clip_gradient, .lazy_update = true};
    return call1(&am_op_mp_sgd_mom_update, &a, (am_array *[]){weight, grad, mom, weight32}, 4,
                 at);
}

am_array *am_mp_nag_mom_update_at(am_array *weight, am_array *grad, am_array *mom,
                                  am_array *weight32, double lr, double momentum, double wd,
                                  double rescale_grad, double clip_gradient, am_site at)
{
    mpsgd_attrs a = {.lr = lr, .momentum = momentum, .wd = wd, .rescale_grad = rescale_grad,
                     .clip_gradient = clip_gradient};
    return call1(&am_op_mp_nag_mom_update, &a, (am_array *[]){weight, grad, mom, weight32}, 4,
                 at);
}

am_array *am_mp_adamw_update_at(am_array *weight, am_array *grad, am_array *mean, am_array *var,
                                am_array *weight32, am_array *rescale_grad, double lr,
                                double beta1, double beta2, double epsilon, double wd,
                                double eta, double clip_gradient, am_site at)
{
    mpadamw_attrs a = {.lr = lr, .beta1 = beta1, .beta2 = beta2, .epsilon = epsilon, .wd = wd,
                       .eta = eta, .clip_gradient = clip_gradient};
    return call1(&am_op_mp_adamw_update, &a,
                 (am_array *[]){weight, grad, mean, var, weight32, rescale_grad}, 6, at);
}

/* The attributes of a multi SGD call over n weights; false (with the error) when n is out of
 * range. */
static bool multi_sgd_attrs(multi_attrs *a, int n, const double *lrs, const double *wds,
                            double momentum, double rescale_grad, double clip_gradient)
{
    memset(a, 0, sizeof(*a));
    if (n < 1 || n > AM_MAX_FLOATS) {
        am_fail(AM_ERR_ARG, "multi_sgd_update: n must be in [1, %d], got %d", AM_MAX_FLOATS, n);
        return false;
    }
    a->lrs.n = a->wds.n = n;
    for (int j = 0; j < n; j++) a->lrs.v[j] = lrs[j], a->wds.v[j] = wds[j];
    a->momentum = momentum, a->rescale_grad = rescale_grad, a->clip_gradient = clip_gradient;
    a->num_weights = n;
    return true;
}

am_status am_multi_sgd_update_at(am_array *const *weights, am_array *const *grads, int n,
                                 const double *lrs, const double *wds, double rescale_grad,
                                 double clip_gradient, am_array **out, am_site at)
{
    multi_attrs a;
    if (!multi_sgd_attrs(&a, n, lrs, wds, 0, rescale_grad, clip_gradient)) return am_last_status();
    am_array *in[2 * AM_MAX_FLOATS];
    for (int j = 0; j < n; j++) in[2 * j] = weights[j], in[2 * j + 1] = grads[j];
    return am_op_call(&am_op_multi_sgd_update, &a, in, 2 * n, out, n, at);
}

am_status am_multi_sgd_mom_update_at(am_array *const *weights, am_array *const *grads,
                                     am_array *const *moms, int n, const double *lrs,
                                     const double *wds, double momentum, double rescale_grad,
                                     double clip_gradient, am_array **out, am_site at)
{
    multi_attrs a;
    if (!multi_sgd_attrs(&a, n, lrs, wds, momentum, rescale_grad, clip_gradient))
        return am_last_status();
    am_array *in[3 * AM_MAX_FLOATS];
    for (int j = 0; j < n; j++)
        in[3 * j] = weights[j], in[3 * j + 1] = grads[j], in[3 * j + 2] = moms[j];
    return am_op_call(&am_op_multi_sgd_mom_update, &a, in, 3 * n, out, n, at);
}

am_array *am_multi_sum_sq_at(am_array *const *arrays, int n, am_site at)
{
    count_attrs a = {.num_arrays = n};
    return call1(&am_op_multi_sum_sq, &a, arrays, n, at);
}

am_array *am_multi_all_finite_at(am_array *const *arrays, int n, am_site at)
{
    count_attrs a = {.num_arrays = n, .init_output = true};
    return call1(&am_op_multi_all_finite, &a, arrays, n, at);
}

am_array *am_multi_lars_at(am_array *lrs, am_array *weights_sum_sq, am_array *grads_sum_sq,
                           am_array *wds, double eta, double eps, double rescale_grad,
                           am_site at)
{
    lars_attrs a = {.eta = eta, .eps = eps, .rescale_grad = rescale_grad};
    return call1(&am_op_multi_lars, &a,
                 (am_array *[]){lrs, weights_sum_sq, grads_sum_sq, wds}, 4, at);
}
