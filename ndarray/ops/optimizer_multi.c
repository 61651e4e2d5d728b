/* MXNet 1.9's multi-tensor optimizer update ops (multi_*, preloaded_multi_*, _multi_adamw,
 * _multi_lamb and their mp forms) and the helpers its optimizers call beside them
 * (multi_sum_sq, multi_lars, all_finite, multi_all_finite).  The one-weight forms are in
 * optimizer2.c; docs/training.md, "More update ops", lists them all. */
#include "optimizer2_impl.h"

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
    return am_op_call1(&am_op_multi_sum_sq, &a, arrays, n, at);
}

am_array *am_multi_all_finite_at(am_array *const *arrays, int n, am_site at)
{
    count_attrs a = {.num_arrays = n, .init_output = true};
    return am_op_call1(&am_op_multi_all_finite, &a, arrays, n, at);
}

am_array *am_multi_lars_at(am_array *lrs, am_array *weights_sum_sq, am_array *grads_sum_sq,
                           am_array *wds, double eta, double eps, double rescale_grad,
                           am_site at)
{
    lars_attrs a = {.eta = eta, .eps = eps, .rescale_grad = rescale_grad};
    return am_op_call1(&am_op_multi_lars, &a,
                 (am_array *[]){lrs, weights_sum_sq, grads_sum_sq, wds}, 4, at);
}
