/* Module-era output ops, which end most pre-Gluon MXNet graphs: SoftmaxOutput,
 * the regression outputs, SVMOutput, MakeLoss and make_loss (AM_OP_LOSS: their
 * gradient is a loss's training signal and ignores the head gradient, as in
 * MXNet 1.9.1), SoftmaxActivation (an ordinary softmax) and
 * softmax_cross_entropy (an ordinary loss).  The label of a loss output is
 * read only by its gradient (grad_only_inputs), so inference runs without
 * one.  docs/module-checkpoints.md gives each op's semantics. */
#include "../ndarray_impl.h"

#include <amber/ops.h>
#include <math.h>

static const char *const data_label[] = {"data", "label", NULL};
static const char *const out_label[] = {"output", "label", NULL};
static const char *const data_only[] = {"data", NULL};
static const char *const norm_choices[] = {"null", "batch", "valid", NULL};
enum { NORM_NULL, NORM_BATCH, NORM_VALID };
static const am_inplace_pair same_slot[] = {{0, 0}, {-1, -1}};

/* Product of dims [from, to) of s. */
static int64_t dims(const am_shape *s, int from, int to)
{
    int64_t n = 1;
    for (int i = from; i < to; i++) n *= s->dim[i];
    return n;
}

static am_shape drop_axis(const am_shape *s, int axis)
{
    am_shape r = {.ndim = s->ndim - 1};
    for (int i = 0, j = 0; i < s->ndim; i++)
        if (i != axis) r.dim[j++] = s->dim[i];
    return r;
}

/* MXNet compares labels as C ints; values no int holds match nothing. */
static int64_t label_int(double v)
{
    return v > -2147483648.0 && v < 2147483648.0 ? (int64_t)v : INT64_MIN;
}

/* Data and label share one floating dtype (MXNet's uniform-type rule); an
 * unknown label takes data's. */
static am_status data_label_dtype(const void *attrs, am_dtype *in, int n_in, am_dtype *out,
                                  int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_out);
    if (!am_dtype_is_float(in[0]))
        return am_fail(AM_ERR_DTYPE, "data must be float32 or float64, not %s",
                       am_dtype_name(in[0]));
    if (n_in > 1 && in[1] == AM_DTYPE_COUNT) in[1] = in[0];
    if (n_in > 1 && in[1] != in[0])
        return am_fail(AM_ERR_DTYPE, "label is %s but data is %s; they must match",
                       am_dtype_name(in[1]), am_dtype_name(in[0]));
    out[0] = in[0];
    return AM_OK;
}

static am_status store(const am_view *y, int64_t i, double v, am_req req)
{
    am_view_set(y, i, req == AM_REQ_ADD ? am_view_get(y, i) + v : v);
    return AM_OK;
}

/* y = softmax of x over its k entries at stride inner, for each (outer, inner). */
static am_status softmax_block(const am_view *x, const am_view *y, am_req req, int64_t outer,
                               int64_t k, int64_t inner)
{
    if (req == AM_REQ_NULL) return AM_OK;
    AM_FLOAT_SWITCH(x->dtype, T, {
        const T *xp = x->data;
        T *yp = y->data;
        int64_t n = outer * inner;
        AM_OMP_FOR_N
        for (int64_t r = 0; r < n; r++) {
            int64_t base = r / inner * k * inner + r % inner;
            double m = -INFINITY, s = 0;
            for (int64_t c = 0; c < k; c++) m = fmax(m, (double)xp[base + c * inner]);
            for (int64_t c = 0; c < k; c++) s += exp((double)xp[base + c * inner] - m);
            for (int64_t c = 0; c < k; c++) {
                T v = (T)(exp((double)xp[base + c * inner] - m) / s);
                T *o = &yp[base + c * inner];
                *o = req == AM_REQ_ADD ? *o + v : v;
            }
        }
    });
    return AM_OK;
}

/* Copies (or, logistic, takes the sigmoid of) data into the output. */
static am_status pass_kernel(const am_view *x, const am_view *y, am_req req, bool logistic)
{
    if (req == AM_REQ_NULL) return AM_OK;
    AM_FLOAT_SWITCH(x->dtype, T, {
        const T *xp = x->data;
        T *yp = y->data;
        int64_t n = am_view_size(x);
        AM_OMP_FOR_N
        for (int64_t i = 0; i < n; i++) {
            T v = logistic ? (T)(1 / (1 + exp(-(double)xp[i]))) : xp[i];
            yp[i] = req == AM_REQ_ADD ? yp[i] + v : v;
        }
    });
    return AM_OK;
}

static am_status pass_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                          int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return pass_kernel(&in[0], &out[0], req[0], false);
}

/* ---- SoftmaxOutput ------------------------------------------------------------------ */

typedef struct so_attrs {
    double grad_scale, ignore_label;
    bool multi_output, use_ignore, preserve_shape;
    int normalization;
    bool out_grad;
    double smooth_alpha;
} so_attrs;

static const am_attr_field so_fields[] = {
    AM_ATTR_FIELD(so_attrs, grad_scale, AM_ATTR_FLOAT, "1.0", "scales the gradient"),
    AM_ATTR_FIELD(so_attrs, ignore_label, AM_ATTR_FLOAT, "-1.0",
                  "label whose rows get no gradient when use_ignore"),
    AM_ATTR_FIELD(so_attrs, multi_output, AM_ATTR_BOOL, "False",
                  "softmax along axis 1 at every other position; label (n, positions)"),
    AM_ATTR_FIELD(so_attrs, use_ignore, AM_ATTR_BOOL, "False", "honour ignore_label"),
    AM_ATTR_FIELD(so_attrs, preserve_shape, AM_ATTR_BOOL, "False",
                  "softmax along the last axis instead of over all but axis 0"),
    AM_ATTR_ENUM_FIELD(so_attrs, normalization, norm_choices, "null",
                       "divide the gradient by 1, the batch, or the labels not ignored"),
    AM_ATTR_FIELD(so_attrs, out_grad, AM_ATTR_BOOL, "False",
                  "multiply the gradient by the output (what MXNet 1.9.1 computes)"),
    AM_ATTR_FIELD(so_attrs, smooth_alpha, AM_ATTR_FLOAT, "0.0",
                  "label smoothing of the gradient (not with multi_output)"),
    {0}};

/* The softmax groups of data d: outer * inner rows of k entries at stride inner. */
static void so_geometry(const so_attrs *a, const am_shape *d, int64_t *outer, int64_t *k,
                        int64_t *inner)
{
    if (a->multi_output) {
        *outer = d->dim[0], *k = d->dim[1], *inner = dims(d, 2, d->ndim);
    } else if (a->preserve_shape) {
        *outer = dims(d, 0, d->ndim - 1), *k = d->dim[d->ndim - 1], *inner = 1;
    } else {
        *outer = d->dim[0], *k = dims(d, 1, d->ndim), *inner = 1;
    }
}

/* Checks (or, unknown, fills) the label against data, as MXNet infers it. */
static am_status so_label_shape(const so_attrs *a, const am_shape *d, am_shape *l)
{
    char b1[96], b2[96], b3[96], b4[96], b5[96];
    if (l->ndim >= 0 && am_shape_equal(*l, *d)) return AM_OK; /* probabilities */
    if (a->multi_output) {
        am_shape s1 = {.ndim = 2, .dim = {d->dim[0], dims(d, 2, d->ndim)}};
        am_shape s2 = drop_axis(d, 1), s3 = *d;
        s3.dim[1] = 1;
        if (l->ndim < 0) *l = s1;
        else if (!am_shape_equal(*l, s1) && !am_shape_equal(*l, s2) && !am_shape_equal(*l, s3))
            return am_fail(AM_ERR_SHAPE, "label %s must be %s, %s, %s or data's shape %s "
                           "with multi_output", am_shape_format(l, b1, sizeof(b1)),
                           am_shape_format(&s1, b2, sizeof(b2)),
                           am_shape_format(&s2, b3, sizeof(b3)),
                           am_shape_format(&s3, b4, sizeof(b4)),
                           am_shape_format(d, b5, sizeof(b5)));
        return AM_OK;
    }
    am_shape s = drop_axis(d, d->ndim - 1);
    if (l->ndim < 0) *l = s;
    else if (!am_shape_equal(*l, s))
        return am_fail(AM_ERR_SHAPE, "label %s must be %s (data's shape without its last "
                       "axis) or data's shape %s", am_shape_format(l, b1, sizeof(b1)),
                       am_shape_format(&s, b2, sizeof(b2)), am_shape_format(d, b3, sizeof(b3)));
    return AM_OK;
}

static am_status so_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    const so_attrs *a = attrs;
    int need = a->multi_output ? 2 : 1;
    char b[96];
    if (in[0].ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of data is unknown");
    if (in[0].ndim < need)
        return am_fail(AM_ERR_SHAPE, "data %s needs at least %d dimension%s%s",
                       am_shape_format(&in[0], b, sizeof(b)), need, need > 1 ? "s" : "",
                       a->multi_output ? " with multi_output" : "");
    out[0] = in[0];
    return so_label_shape(a, &in[0], &in[1]);
}

static am_status so_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                        int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_shape d = {.ndim = in[0].ndim};
    int64_t outer, k, inner;
    for (int i = 0; i < d.ndim; i++) d.dim[i] = in[0].dim[i];
    so_geometry(attrs, &d, &outer, &k, &inner);
    return softmax_block(&in[0], &out[0], req[0], outer, k, inner);
}

/* The count the gradient is divided by (MXNet's valid_cnt). */
static double so_count(const so_attrs *a, const am_view *lab, int64_t n_labels, int64_t batch)
{
    if (a->normalization == NORM_BATCH) return batch > 0 ? (double)batch : 1;
    if (a->normalization != NORM_VALID) return 1;
    int64_t valid = n_labels, ig = label_int(a->ignore_label);
    for (int64_t i = 0; i < n_labels; i++) valid -= label_int(am_view_get(lab, i)) == ig;
    return valid > 0 ? (double)valid : 1;
}

/* grad = (softmax - target) * scale over the groups, target being one-hot
 * (or smoothed) at each label; rows whose label is ignored get zeros.  The
 * label has data's dtype (data_label_dtype). */
#define SO_GRAD_GROUPS(T)                                                                  \
    do {                                                                                   \
        const T *yp = y->data, *lp = lab->data;                                            \
        T *gp = g->data;                                                                   \
        int64_t n = outer * inner;                                                         \
        AM_OMP_FOR_N                                                                       \
        for (int64_t r = 0; r < n; r++) {                                                  \
            int64_t base = r / inner * k * inner + r % inner, l = label_int((double)lp[r]); \
            bool skip = a->use_ignore && l == ig;                                          \
            for (int64_t c = 0; c < k; c++) {                                              \
                int64_t j = base + c * inner;                                              \
                double yv = (double)yp[j], t = c == l ? 1 - alpha : off;                   \
                double v = skip ? 0 : (yv - t) * scale;                                    \
                T o = (T)(a->out_grad ? v * yv : v);                                       \
                gp[j] = req == AM_REQ_ADD ? gp[j] + o : o;                                 \
            }                                                                              \
        }                                                                                  \
    } while (0)

static am_status so_grad_groups(const so_attrs *a, const am_view *y, const am_view *lab,
                                const am_view *g, am_req req, int64_t outer, int64_t k,
                                int64_t inner, double scale)
{
    double alpha = a->multi_output ? 0 : a->smooth_alpha;
    double off = alpha > 0 && k > 1 ? alpha / (double)(k - 1) : 0;
    int64_t ig = label_int(a->ignore_label);
    AM_FLOAT_SWITCH(y->dtype, T, SO_GRAD_GROUPS(T));
    return AM_OK;
}

static am_status so_backward_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                 int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const so_attrs *a = attrs;
    const am_view *y = &in[0], *lab = &in[1];
    int64_t n = am_view_size(y), n_labels = am_view_size(lab), outer, k, inner;
    if (req[0] == AM_REQ_NULL) return AM_OK;
    bool prob = lab->ndim == y->ndim;
    for (int i = 0; prob && i < y->ndim; i++) prob = lab->dim[i] == y->dim[i];
    if (prob) { /* the label holds probabilities: no normalization */
        for (int64_t i = 0; i < n; i++) {
            double yv = am_view_get(y, i), v = (yv - am_view_get(lab, i)) * a->grad_scale;
            store(&out[0], i, a->out_grad ? v * yv : v, req[0]);
        }
        return AM_OK;
    }
    am_shape d = {.ndim = y->ndim};
    for (int i = 0; i < d.ndim; i++) d.dim[i] = y->dim[i];
    so_geometry(a, &d, &outer, &k, &inner);
    if (n_labels != outer * inner)
        return am_fail(AM_ERR_SHAPE, "the gradient needs one label per softmax row: %lld "
                       "labels for %lld rows (data of %d dimensions without preserve_shape "
                       "or multi_output has no gradient in MXNet either)",
                       (long long)n_labels, (long long)(outer * inner), y->ndim);
    double cnt = so_count(a, lab, n_labels, outer), scale = a->grad_scale / cnt;
    if (a->multi_output && a->normalization != NORM_VALID && inner > 0) scale /= (double)inner;
    return so_grad_groups(a, y, lab, &out[0], req[0], outer, k, inner, scale);
}

static am_status so_backward_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                   int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    if (in[1].ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of label is unknown");
    am_shape dummy[1];
    return so_shape(attrs, in, 2, dummy, 1) == AM_OK ? (out[0] = in[0], AM_OK) : am_last_status();
}

const am_op_def am_op_backward_softmax_output = {
    .name = "_backward_SoftmaxOutput", .input_names = out_label, .num_outputs = 1,
    .attrs = so_fields, .attrs_size = sizeof(so_attrs), .infer_shape = so_backward_shape,
    .infer_dtype = data_label_dtype, .cpu = so_backward_cpu, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NO_GRAD,
    .doc = "SoftmaxOutput's gradient from its output and label (the head gradient unused)."};

static am_status so_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                         am_array *const *out_grad, am_array **in_grad)
{
    AM_UNUSED(out_grad);
    if (!g->need_grad[0]) return AM_OK;
    am_array *x[2] = {out[0], in[1]};
    return am_op_call(&am_op_backward_softmax_output, g->attrs, x, 2, &in_grad[0], 1, g->at);
}

const am_op_def am_op_softmax_output = {
    .name = "SoftmaxOutput", .aliases = (const char *const[]){"Softmax", NULL},
    .input_names = data_label, .num_outputs = 1, .attrs = so_fields,
    .attrs_size = sizeof(so_attrs), .infer_shape = so_shape, .infer_dtype = data_label_dtype,
    .cpu = so_cpu, .gradient = so_grad, .inplace = same_slot, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_LOSS, .grad_only_inputs = 1u << 1,
    .doc = "Softmax of data (over all but axis 0, the last axis, or axis 1); its gradient is "
           "softmax minus the one-hot label, scaled."};

am_array *am_softmax_output_at(am_array *data, am_array *label, double grad_scale,
                               const char *normalization, am_site at)
{
    so_attrs a;
    am_array *in[2] = {data, label}, *y = NULL;
    am_attrs_init(&am_op_softmax_output, &a);
    a.grad_scale = grad_scale;
    for (int i = 0; normalization && norm_choices[i]; i++)
        if (strcmp(normalization, norm_choices[i]) == 0) a.normalization = i;
    if (normalization && strcmp(normalization, norm_choices[a.normalization]) != 0) {
        am_fail(AM_ERR_ARG, "SoftmaxOutput: normalization must be null, batch or valid, not '%s'",
                normalization);
        return NULL;
    }
    am_op_call(&am_op_softmax_output, &a, in, 2, &y, 1, at);
    return y;
}

/* ---- LinearRegressionOutput, LogisticRegressionOutput, MAERegressionOutput ---------- */

typedef struct reg_attrs {
    double grad_scale;
} reg_attrs;

static const am_attr_field reg_fields[] = {
    AM_ATTR_FIELD(reg_attrs, grad_scale, AM_ATTR_FLOAT, "1.0", "scales the gradient"),
    {0}};

/* The label has data's shape, or (n,) for data (n, 1), which it becomes when unknown. */
static am_status reg_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const am_shape *d = &in[0];
    char b1[96], b2[96];
    if (d->ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of data is unknown");
    if (d->ndim < 1) return am_fail(AM_ERR_SHAPE, "data needs at least one dimension, got ()");
    bool column = d->ndim == 2 && d->dim[1] == 1;
    am_shape col = {.ndim = 1, .dim = {d->dim[0]}};
    if (in[1].ndim < 0) in[1] = column ? col : *d;
    else if (!am_shape_equal(in[1], *d) && !(column && am_shape_equal(in[1], col)))
        return am_fail(AM_ERR_SHAPE, "label %s must have data's shape %s",
                       am_shape_format(&in[1], b1, sizeof(b1)), am_shape_format(d, b2, sizeof(b2)));
    out[0] = *d;
    return AM_OK;
}

static am_status logistic_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                              int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    return pass_kernel(&in[0], &out[0], req[0], true);
}

/* (out - label) * grad_scale / num_output, num_output = label size / label.shape[0];
 * MAE takes the sign of the difference. */
static am_status reg_grad_common(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                                 am_array **in_grad, bool sign)
{
    if (!g->need_grad[0]) return AM_OK;
    am_shape ls = am_array_shape(in[1]);
    int64_t n = am_shape_size(&ls), per = ls.ndim > 0 && ls.dim[0] > 0 ? n / ls.dim[0] : 1;
    double s = ((const reg_attrs *)g->attrs)->grad_scale / (double)(per > 0 ? per : 1);
    am_array *l = am_reshape_at(in[1], am_array_shape(out[0]), false, g->at);
    am_array *d = am_elemwise_sub_at(out[0], l, g->at);
    if (sign) d = am_sign_at(d, g->at);
    in_grad[0] = am_mul_scalar_at(d, s, g->at);
    return in_grad[0] ? AM_OK : am_last_status();
}

static am_status reg_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                          am_array *const *out_grad, am_array **in_grad)
{
    AM_UNUSED(out_grad);
    return reg_grad_common(g, in, out, in_grad, false);
}

static am_status mae_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                          am_array *const *out_grad, am_array **in_grad)
{
    AM_UNUSED(out_grad);
    return reg_grad_common(g, in, out, in_grad, true);
}

#define REG_OP(id, name_, kernel, grad, doc_)                                                  \
    const am_op_def am_op_##id = {                                                           \
        .name = name_, .input_names = data_label, .num_outputs = 1, .attrs = reg_fields,     \
        .attrs_size = sizeof(reg_attrs), .infer_shape = reg_shape,                           \
        .infer_dtype = data_label_dtype, .cpu = kernel, .gradient = grad,                    \
        .inplace = same_slot, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_LOSS,                   \
        .grad_only_inputs = 1u << 1, .doc = doc_}
REG_OP(linear_regression_output, "LinearRegressionOutput", pass_cpu, reg_grad,
       "Passes data through; its gradient is (data - label) * grad_scale / outputs per sample.");
REG_OP(logistic_regression_output, "LogisticRegressionOutput", logistic_cpu, reg_grad,
       "Sigmoid of data; its gradient is (sigmoid - label) * grad_scale / outputs per sample.");
REG_OP(mae_regression_output, "MAERegressionOutput", pass_cpu, mae_grad,
       "Passes data through; its gradient is sign(data - label) * grad_scale / outputs per "
       "sample.");

static am_array *reg_call(const am_op_def *op, am_array *data, am_array *label,
                          double grad_scale, am_site at)
{
    reg_attrs a = {.grad_scale = grad_scale};
    am_array *in[2] = {data, label}, *y = NULL;
    am_op_call(op, &a, in, 2, &y, 1, at);
    return y;
}

am_array *am_linear_regression_output_at(am_array *data, am_array *label, double grad_scale,
                                         am_site at)
{
    return reg_call(&am_op_linear_regression_output, data, label, grad_scale, at);
}

am_array *am_logistic_regression_output_at(am_array *data, am_array *label, double grad_scale,
                                           am_site at)
{
    return reg_call(&am_op_logistic_regression_output, data, label, grad_scale, at);
}

am_array *am_mae_regression_output_at(am_array *data, am_array *label, double grad_scale,
                                      am_site at)
{
    return reg_call(&am_op_mae_regression_output, data, label, grad_scale, at);
}

/* ---- SVMOutput ----------------------------------------------------------------------- */

typedef struct svm_attrs {
    double margin, regularization_coefficient;
    bool use_linear;
} svm_attrs;

static const am_attr_field svm_fields[] = {
    AM_ATTR_FIELD(svm_attrs, margin, AM_ATTR_FLOAT, "1.0", "the hinge's margin"),
    AM_ATTR_FIELD(svm_attrs, regularization_coefficient, AM_ATTR_FLOAT, "1.0",
                  "scales the gradient"),
    AM_ATTR_FIELD(svm_attrs, use_linear, AM_ATTR_BOOL, "False",
                  "L1-SVM (hinge) instead of L2-SVM (squared hinge)"),
    {0}};

static am_status svm_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    char b1[96], b2[96];
    if (in[0].ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of data is unknown");
    if (in[0].ndim < 2)
        return am_fail(AM_ERR_SHAPE, "data %s needs at least 2 dimensions (rows, classes)",
                       am_shape_format(&in[0], b1, sizeof(b1)));
    am_shape s = drop_axis(&in[0], in[0].ndim - 1);
    if (in[1].ndim < 0) in[1] = s;
    else if (!am_shape_equal(in[1], s))
        return am_fail(AM_ERR_SHAPE, "label %s must be %s (data's shape without its last axis)",
                       am_shape_format(&in[1], b1, sizeof(b1)), am_shape_format(&s, b2, sizeof(b2)));
    out[0] = in[0];
    return AM_OK;
}

/* Per row of data (classes along the last axis) with label l: the label's
 * class is pushed above margin, every other class below -margin. */
static am_status svm_backward_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                                  int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    const svm_attrs *a = attrs;
    double m = a->margin, reg = a->regularization_coefficient;
    int64_t k = in[0].dim[in[0].ndim - 1], rows = am_view_size(&in[1]);
    if (req[0] == AM_REQ_NULL) return AM_OK;
    for (int64_t r = 0; r < rows; r++) {
        int64_t l = label_int(am_view_get(&in[1], r));
        for (int64_t c = 0; c < k; c++) {
            double x = am_view_get(&in[0], r * k + c), v;
            if (c == l) v = m > x ? -reg * (a->use_linear ? 1 : 2 * (m - x)) : 0;
            else v = m > -x ? reg * (a->use_linear ? 1 : 2 * (m + x)) : 0;
            store(&out[0], r * k + c, v, req[0]);
        }
    }
    return AM_OK;
}

static am_status svm_backward_shape(const void *attrs, am_shape *in, int n_in, am_shape *out,
                                    int n_out)
{
    if (in[1].ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of label is unknown");
    return svm_shape(attrs, in, n_in, out, n_out);
}

const am_op_def am_op_backward_svm_output = {
    .name = "_backward_SVMOutput", .input_names = data_label, .num_outputs = 1,
    .attrs = svm_fields, .attrs_size = sizeof(svm_attrs), .infer_shape = svm_backward_shape,
    .infer_dtype = data_label_dtype, .cpu = svm_backward_cpu, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_NO_GRAD, .doc = "SVMOutput's gradient from its data and label."};

static am_status svm_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                          am_array *const *out_grad, am_array **in_grad)
{
    AM_UNUSED(out), AM_UNUSED(out_grad);
    if (!g->need_grad[0]) return AM_OK;
    return am_op_call(&am_op_backward_svm_output, g->attrs, in, 2, &in_grad[0], 1, g->at);
}

const am_op_def am_op_svm_output = {
    .name = "SVMOutput", .input_names = data_label, .num_outputs = 1, .attrs = svm_fields,
    .attrs_size = sizeof(svm_attrs), .infer_shape = svm_shape, .infer_dtype = data_label_dtype,
    .cpu = pass_cpu, .gradient = svm_grad, .inplace = same_slot, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_LOSS, .grad_only_inputs = 1u << 1,
    .doc = "Passes data through; its gradient is that of a (squared) hinge loss on the label's "
           "class."};

am_array *am_svm_output_at(am_array *data, am_array *label, double margin,
                           double regularization_coefficient, bool use_linear, am_site at)
{
    svm_attrs a = {margin, regularization_coefficient, use_linear};
    am_array *in[2] = {data, label}, *y = NULL;
    am_op_call(&am_op_svm_output, &a, in, 2, &y, 1, at);
    return y;
}

/* ---- MakeLoss, make_loss --------------------------------------------------------------- */

typedef struct make_loss_attrs {
    double grad_scale, valid_thresh;
    int normalization;
} make_loss_attrs;

static const am_attr_field make_loss_fields[] = {
    AM_ATTR_FIELD(make_loss_attrs, grad_scale, AM_ATTR_FLOAT, "1.0", "the gradient's value"),
    AM_ATTR_FIELD(make_loss_attrs, valid_thresh, AM_ATTR_FLOAT, "0.0",
                  "elements above it count as valid"),
    AM_ATTR_ENUM_FIELD(make_loss_attrs, normalization, norm_choices, "null",
                       "divide the gradient by 1, the batch, or the valid elements"),
    {0}};

/* grad_scale everywhere, divided by the batch or by the count of elements
 * above valid_thresh (at least 1). */
static am_status make_loss_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                                am_array *const *out_grad, am_array **in_grad)
{
    AM_UNUSED(out), AM_UNUSED(out_grad);
    const make_loss_attrs *a = g->attrs;
    if (!g->need_grad[0]) return AM_OK;
    am_shape s = am_array_shape(in[0]), ones = {.ndim = s.ndim};
    double scale = a->grad_scale;
    if (a->normalization == NORM_BATCH && s.ndim > 0 && s.dim[0] > 0) scale /= (double)s.dim[0];
    am_array *grad = am_mul_scalar_at(am_ones_like_at(in[0], g->at), scale, g->at);
    if (a->normalization == NORM_VALID) {
        for (int i = 0; i < s.ndim; i++) ones.dim[i] = 1;
        am_array *valid = am_greater_scalar_at(in[0], a->valid_thresh, g->at);
        am_array *cnt = am_maximum_scalar_at(am_sum_at(valid, NULL, 0, false, g->at), 1, g->at);
        grad = am_broadcast_div_at(grad, am_reshape_at(cnt, ones, false, g->at), g->at);
    }
    in_grad[0] = grad;
    return grad ? AM_OK : am_last_status();
}

const am_op_def am_op_make_loss = {
    .name = "MakeLoss", .input_names = data_only, .num_outputs = 1, .attrs = make_loss_fields,
    .attrs_size = sizeof(make_loss_attrs), .infer_shape = am_infer_shape_same,
    .infer_dtype = data_label_dtype, .cpu = pass_cpu, .gradient = make_loss_grad,
    .inplace = same_slot, .fuse = AM_FUSE_OPAQUE, .flags = AM_OP_LOSS,
    .doc = "Marks data as a loss: passes it through; its gradient is grad_scale, normalized."};

am_array *am_make_loss_at(am_array *data, double grad_scale, double valid_thresh,
                          const char *normalization, am_site at)
{
    make_loss_attrs a = {.grad_scale = grad_scale, .valid_thresh = valid_thresh};
    for (int i = 0; normalization && norm_choices[i]; i++)
        if (strcmp(normalization, norm_choices[i]) == 0) a.normalization = i;
    if (normalization && strcmp(normalization, norm_choices[a.normalization]) != 0) {
        am_fail(AM_ERR_ARG, "MakeLoss: normalization must be null, batch or valid, not '%s'",
                normalization);
        return NULL;
    }
    am_array *y = NULL;
    am_op_call(&am_op_make_loss, &a, &data, 1, &y, 1, at);
    return y;
}

static am_status make_loss_plain_grad(const am_grad_ctx *g, am_array *const *in,
                                      am_array *const *out, am_array *const *out_grad,
                                      am_array **in_grad)
{
    AM_UNUSED(out), AM_UNUSED(out_grad);
    if (!g->need_grad[0]) return AM_OK;
    in_grad[0] = am_ones_like_at(in[0], g->at);
    return in_grad[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_make_loss_plain = {
    .name = "make_loss", .input_names = data_only, .num_outputs = 1,
    .infer_shape = am_infer_shape_same, .infer_dtype = data_label_dtype, .cpu = pass_cpu,
    .gradient = make_loss_plain_grad, .inplace = same_slot, .fuse = AM_FUSE_OPAQUE,
    .flags = AM_OP_LOSS, .doc = "Marks data as a loss: passes it through; its gradient is 1."};

/* ---- SoftmaxActivation ---------------------------------------------------------------- */

typedef struct sa_attrs {
    int mode;
} sa_attrs;

enum { SA_CHANNEL, SA_INSTANCE };
static const char *const sa_modes[] = {"channel", "instance", NULL};

static const am_attr_field sa_fields[] = {
    AM_ATTR_ENUM_FIELD(sa_attrs, mode, sa_modes, "instance",
                       "instance: over the last axis; channel: over axis 1 at each position"),
    {0}};

static am_status sa_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(n_in), AM_UNUSED(n_out);
    bool channel = ((const sa_attrs *)attrs)->mode == SA_CHANNEL;
    int need = channel ? 3 : 2;
    char b[96];
    if (in[0].ndim < 0) return am_fail(AM_ERR_SHAPE, "the shape of data is unknown");
    if (in[0].ndim < need)
        return am_fail(AM_ERR_SHAPE, "data %s needs at least %d dimensions with mode=%s",
                       am_shape_format(&in[0], b, sizeof(b)), need, sa_modes[channel ? 0 : 1]);
    out[0] = in[0];
    return AM_OK;
}

static am_status sa_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                        int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(n_in), AM_UNUSED(n_out);
    am_shape d = {.ndim = in[0].ndim};
    for (int i = 0; i < d.ndim; i++) d.dim[i] = in[0].dim[i];
    if (((const sa_attrs *)attrs)->mode == SA_CHANNEL)
        return softmax_block(&in[0], &out[0], req[0], d.dim[0], d.dim[1], dims(&d, 2, d.ndim));
    return softmax_block(&in[0], &out[0], req[0], dims(&d, 0, d.ndim - 1), d.dim[d.ndim - 1], 1);
}

/* dx = y * (dy - sum(dy * y)) along the softmax axis. */
static am_status sa_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                         am_array *const *out_grad, am_array **in_grad)
{
    AM_UNUSED(in);
    if (!g->need_grad[0]) return AM_OK;
    int axis = ((const sa_attrs *)g->attrs)->mode == SA_CHANNEL ? 1 : am_array_ndim(out[0]) - 1;
    am_array *s = am_sum_at(am_elemwise_mul_at(out_grad[0], out[0], g->at), &axis, 1, true, g->at);
    in_grad[0] = am_elemwise_mul_at(out[0], am_broadcast_sub_at(out_grad[0], s, g->at), g->at);
    return in_grad[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_softmax_activation = {
    .name = "SoftmaxActivation", .input_names = data_only, .num_outputs = 1,
    .attrs = sa_fields, .attrs_size = sizeof(sa_attrs), .infer_shape = sa_shape,
    .infer_dtype = data_label_dtype, .cpu = sa_cpu, .gradient = sa_grad, .inplace = same_slot,
    .fuse = AM_FUSE_OPAQUE,
    .doc = "Softmax over the last axis (instance) or axis 1 (channel); MXNet's older softmax."};

am_array *am_softmax_activation_at(am_array *data, bool channel, am_site at)
{
    sa_attrs a = {.mode = channel ? SA_CHANNEL : SA_INSTANCE};
    am_array *y = NULL;
    am_op_call(&am_op_softmax_activation, &a, &data, 1, &y, 1, at);
    return y;
}

/* ---- softmax_cross_entropy ------------------------------------------------------------ */

/* data (n, k), label (n,): an ordinary op (its gradient uses the head gradient). */
static am_status sce_shape(const void *attrs, am_shape *in, int n_in, am_shape *out, int n_out)
{
    AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    char b1[96], b2[96];
    if (in[0].ndim != 2)
        return am_fail(AM_ERR_SHAPE, "data must be 2-D (batch, classes), not %s",
                       am_shape_format(&in[0], b1, sizeof(b1)));
    if (in[1].ndim != 1 || in[1].dim[0] != in[0].dim[0])
        return am_fail(AM_ERR_SHAPE, "label %s must be 1-D with one class per row of data %s",
                       in[1].ndim < 0 ? "(unknown)" : am_shape_format(&in[1], b1, sizeof(b1)),
                       am_shape_format(&in[0], b2, sizeof(b2)));
    out[0] = (am_shape){.ndim = 1, .dim = {1}};
    return AM_OK;
}

/* sum over rows of -log softmax(data)[label], computed stably. */
static am_status sce_cpu(const am_kernel_ctx *ctx, const void *attrs, const am_view *in,
                         int n_in, const am_view *out, int n_out, const am_req *req)
{
    AM_UNUSED(ctx), AM_UNUSED(attrs), AM_UNUSED(n_in), AM_UNUSED(n_out);
    int64_t rows = in[0].dim[0], k = in[0].dim[1];
    double sum = 0;
    if (req[0] == AM_REQ_NULL) return AM_OK;
    for (int64_t r = 0; r < rows; r++) {
        int64_t l = label_int(am_view_get(&in[1], r));
        double m = -INFINITY, s = 0;
        if (l < 0 || l >= k)
            return am_fail(AM_ERR_ARG, "label %g of row %lld is not a class in [0, %lld)",
                           am_view_get(&in[1], r), (long long)r, (long long)k);
        for (int64_t c = 0; c < k; c++) m = fmax(m, am_view_get(&in[0], r * k + c));
        for (int64_t c = 0; c < k; c++) s += exp(am_view_get(&in[0], r * k + c) - m);
        sum -= am_view_get(&in[0], r * k + l) - m - log(s);
    }
    return store(&out[0], 0, sum, req[0]);
}

/* d data = (softmax(data) - one_hot(label)) * head gradient; the label gets none. */
static am_status sce_grad(const am_grad_ctx *g, am_array *const *in, am_array *const *out,
                          am_array *const *out_grad, am_array **in_grad)
{
    AM_UNUSED(out);
    if (!g->need_grad[0]) return AM_OK;
    am_array *x = in[0];
    am_array *oh = am_one_hot_at(in[1], am_array_dim(x, 1), 1, 0, am_array_dtype(x), g->at);
    am_array *d = am_elemwise_sub_at(am_softmax_at(x, -1, 0, g->at), oh, g->at);
    in_grad[0] = am_broadcast_mul_at(d, out_grad[0], g->at);
    return in_grad[0] ? AM_OK : am_last_status();
}

const am_op_def am_op_softmax_cross_entropy = {
    .name = "softmax_cross_entropy", .input_names = data_label, .num_outputs = 1,
    .infer_shape = sce_shape, .infer_dtype = data_label_dtype, .cpu = sce_cpu,
    .gradient = sce_grad, .fuse = AM_FUSE_OPAQUE,
    .doc = "Sum over rows of -log softmax(data)[label], as a (1,) array."};

am_array *am_softmax_cross_entropy_at(am_array *data, am_array *label, am_site at)
{
    am_array *in[2] = {data, label}, *y = NULL;
    am_op_call(&am_op_softmax_cross_entropy, NULL, in, 2, &y, 1, at);
    return y;
}
