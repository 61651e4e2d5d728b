/* The loss blocks of include/amber/losses.h: Gluon 1.9.1's losses written
 * with public ops only, so that the same forward runs eagerly and traced. */
#include <amber/amber.h>
#include <amber/losses.h>

#include <math.h>

/* One struct serves every loss: the options that loss reads. */
typedef struct loss {
    am_block base;
    double weight;      /* 0: none */
    int batch_axis;
    int axis;           /* SoftmaxCE, KLDiv: the class axis */
    double param;       /* Huber's rho, Hinge's and CosineEmbedding's margin */
    bool dense_label;   /* SoftmaxCE: label is a distribution, not class indices */
    bool from_logits;   /* SoftmaxCE: pred holds log-probabilities already */
    bool from_sigmoid;  /* SigmoidBCE: pred holds probabilities */
    bool pos_weight;    /* SigmoidBCE: the last input is pos_weight */
    bool log_softmax;   /* KLDiv: pred gets log_softmax first (Gluon's from_logits=False) */
    am_ctc_opts ctc;    /* CTC: layouts and which optional inputs a call takes */
} loss;

/* ---- shared steps --------------------------------------------------------------------------- */

/* AM_OK when lo <= n_in <= hi, else AM_ERR_ARG naming the loss. */
static am_status check_inputs(const am_block *b, int n_in, int lo, int hi)
{
    if (n_in >= lo && n_in <= hi) return AM_OK;
    return am_fail(AM_ERR_ARG, "%s: takes %d to %d inputs, got %d", am_block_type(b), lo, hi,
                   n_in);
}

/* AM_ERR_SHAPE naming the loss and both shapes. */
static am_status shape_error(const am_block *b, const char *what_x, am_array *x,
                             const char *what_y, am_array *y, const char *why)
{
    char bx[96], by[96];
    am_shape sx = am_array_shape(x), sy = am_array_shape(y);
    return am_fail(AM_ERR_SHAPE, "%s: %s %s %s %s %s", am_block_type(b), what_x,
                   am_shape_format(&sx, bx, sizeof(bx)), why, what_y,
                   am_shape_format(&sy, by, sizeof(by)));
}

/* x reshaped to like's shape (Gluon's _reshape_like), after checking that
 * their sizes agree; NULL with AM_ERR_SHAPE naming the loss otherwise. */
static am_array *reshaped_like(const am_block *b, const char *what_x, am_array *x,
                               const char *what_like, am_array *like)
{
    if (!x || !like) return NULL;
    if (am_array_size(x) != am_array_size(like)) {
        shape_error(b, what_x, x, what_like, like, "has a different size than");
        return NULL;
    }
    return am_reshape_like(x, like);
}

/* Gluon's _apply_weighting: loss * sample_weight (broadcast), then * weight. */
static am_array *apply_weighting(am_array *l, am_array *sample_weight, double weight)
{
    if (sample_weight) l = am_broadcast_mul(l, sample_weight);
    return weight != 0 && weight != 1 ? am_mul_scalar(l, weight) : l;
}

/* Mean (or sum) over every axis but the batch axis: one value per sample.
 * A loss with no other axis is returned as is, as MXNet's exclude does. */
static am_array *reduce_batch(const loss *s, am_array *l, bool sum)
{
    if (!l) return NULL;
    int nd = am_array_ndim(l), b = s->batch_axis < 0 ? s->batch_axis + nd : s->batch_axis;
    if (b < 0 || b >= nd) {
        char buf[96];
        am_shape sh = am_array_shape(l);
        am_fail(AM_ERR_ARG, "%s: batch_axis %d is out of range for a loss of shape %s",
                am_block_type(&s->base), s->batch_axis, am_shape_format(&sh, buf, sizeof(buf)));
        return NULL;
    }
    int axes[AM_MAX_NDIM], n = 0;
    for (int i = 0; i < nd; i++)
        if (i != b) axes[n++] = i;
    if (n == 0) return l;
    return sum ? am_sum(l, axes, n, false) : am_mean(l, axes, n, false);
}

/* The sample weight among the inputs: in[2] when there are more than two. */
static am_array *sample_weight_of(am_array *const *in, int n_in, int plain)
{
    return n_in > plain ? in[plain] : NULL;
}

/* ---- L1 and L2 ------------------------------------------------------------------------------ */

static am_array *l1_forward(am_block *self, am_array *const *in, int n_in)
{
    loss *s = (loss *)self;
    if (check_inputs(self, n_in, 2, 3) != AM_OK) return NULL;
    am_array *d = am_elemwise_sub(reshaped_like(self, "label", in[1], "pred", in[0]), in[0]);
    return reduce_batch(s, apply_weighting(am_abs(d), sample_weight_of(in, n_in, 2), s->weight),
                        false);
}

static am_array *l2_forward(am_block *self, am_array *const *in, int n_in)
{
    loss *s = (loss *)self;
    if (check_inputs(self, n_in, 2, 3) != AM_OK) return NULL;
    am_array *d = am_elemwise_sub(reshaped_like(self, "label", in[1], "pred", in[0]), in[0]);
    double w = (s->weight != 0 ? s->weight : 1) / 2; /* Gluon's weight / 2 */
    return reduce_batch(s, apply_weighting(am_square(d), sample_weight_of(in, n_in, 2), w),
                        false);
}

/* ---- SoftmaxCrossEntropy -------------------------------------------------------------------- */

/* Sparse labels hold one class per position of pred less the class axis. */
static bool check_sparse_label(const am_block *b, am_array *pred, am_array *label, int axis)
{
    int nd = am_array_ndim(pred), a = axis < 0 ? axis + nd : axis;
    if (a < 0 || a >= nd) {
        am_fail(AM_ERR_ARG, "%s: axis %d is out of range for pred of %d axes",
                am_block_type(b), axis, nd);
        return false;
    }
    int64_t classes = am_array_dim(pred, a);
    if (classes > 0 && am_array_size(label) == am_array_size(pred) / classes) return true;
    shape_error(b, "label", label, "pred", pred, "does not hold one class index per row of");
    return false;
}

static am_array *softmax_ce_forward(am_block *self, am_array *const *in, int n_in)
{
    loss *s = (loss *)self;
    if (check_inputs(self, n_in, 2, 3) != AM_OK) return NULL;
    if (!s->dense_label && !check_sparse_label(self, in[0], in[1], s->axis)) return NULL;
    am_array *p = s->from_logits ? in[0] : am_log_softmax(in[0], s->axis);
    am_array *l;
    if (!s->dense_label) {
        l = am_negative(am_pick_at(p, in[1], s->axis, true, "clip", AM_HERE));
    } else {
        am_array *prod = am_elemwise_mul(p, reshaped_like(self, "label", in[1], "pred", p));
        l = am_negative(am_sum(prod, (int[]){s->axis}, 1, true));
    }
    return reduce_batch(s, apply_weighting(l, sample_weight_of(in, n_in, 2), s->weight), false);
}

/* ---- SigmoidBinaryCrossEntropy -------------------------------------------------------------- */

/* log(1 + e^-|x|) + max(-x, 0) = log(1 + e^-x), computed stably. */
static am_array *softplus_neg(am_array *x)
{
    return am_add(am_activation(am_negative(am_abs(x)), "softrelu"), am_relu(am_negative(x)));
}

/* The elementwise loss from logits x and labels z. */
static am_array *bce_logits(am_array *x, am_array *z, am_array *pos_weight)
{
    am_array *xz = am_elemwise_mul(x, z);
    if (!pos_weight) /* max(x, 0) - x z + log(1 + e^-|x|) */
        return am_elemwise_add(am_elemwise_sub(am_relu(x), xz),
                               am_activation(am_negative(am_abs(x)), "softrelu"));
    /* x - x z + (1 + (pos_weight - 1) z) log(1 + e^-x) */
    am_array *log_weight = am_plus_scalar(am_broadcast_mul(am_minus_scalar(pos_weight, 1), z), 1);
    return am_add(am_elemwise_sub(x, xz), am_mul(log_weight, softplus_neg(x)));
}

/* The elementwise loss from probabilities p and labels z. */
static am_array *bce_probs(am_array *p, am_array *z, am_array *pos_weight)
{
    const double eps = 1e-12;
    am_array *pos = am_elemwise_mul(am_log(am_plus_scalar(p, eps)), z);
    if (pos_weight) pos = am_broadcast_mul(pos, pos_weight);
    am_array *neg = am_elemwise_mul(am_log(am_plus_scalar(am_rminus_scalar(p, 1), eps)),
                                    am_rminus_scalar(z, 1));
    return am_negative(am_add(pos, neg));
}

static am_array *sigmoid_bce_forward(am_block *self, am_array *const *in, int n_in)
{
    loss *s = (loss *)self;
    int extra = s->pos_weight ? 1 : 0;
    if (check_inputs(self, n_in, 2 + extra, 3 + extra) != AM_OK) return NULL;
    am_array *pos_weight = s->pos_weight ? in[n_in - 1] : NULL;
    am_array *z = reshaped_like(self, "label", in[1], "pred", in[0]);
    am_array *l = s->from_sigmoid ? bce_probs(in[0], z, pos_weight)
                                   : bce_logits(in[0], z, pos_weight);
    return reduce_batch(s, apply_weighting(l, sample_weight_of(in, n_in - extra, 2), s->weight),
                        false);
}

/* ---- Huber and Hinge ------------------------------------------------------------------------ */

static am_array *huber_forward(am_block *self, am_array *const *in, int n_in)
{
    loss *s = (loss *)self;
    if (check_inputs(self, n_in, 2, 3) != AM_OK) return NULL;
    double rho = s->param;
    am_array *label = reshaped_like(self, "label", in[1], "pred", in[0]);
    am_array *d = am_abs(am_elemwise_sub(label, in[0]));
    am_array *l = am_where(am_greater_scalar(d, rho), am_minus_scalar(d, 0.5 * rho),
                           am_mul_scalar(am_square(d), 0.5 / rho));
    return reduce_batch(s, apply_weighting(l, sample_weight_of(in, n_in, 2), s->weight), false);
}

static am_array *hinge_forward(am_block *self, am_array *const *in, int n_in)
{
    loss *s = (loss *)self;
    if (check_inputs(self, n_in, 2, 3) != AM_OK) return NULL;
    am_array *yz = am_elemwise_mul(in[0], reshaped_like(self, "label", in[1], "pred", in[0]));
    am_array *l = am_relu(am_rminus_scalar(yz, s->param));
    return reduce_batch(s, apply_weighting(l, sample_weight_of(in, n_in, 2), s->weight), false);
}

/* ---- KLDiv ---------------------------------------------------------------------------------- */

static am_array *kl_div_forward(am_block *self, am_array *const *in, int n_in)
{
    loss *s = (loss *)self;
    if (check_inputs(self, n_in, 2, 3) != AM_OK) return NULL;
    am_array *p = s->log_softmax ? am_log_softmax(in[0], s->axis) : in[0];
    am_array *label = in[1];
    am_array *l = am_mul(label, am_sub(am_log(am_plus_scalar(label, 1e-12)), p));
    return reduce_batch(s, apply_weighting(l, sample_weight_of(in, n_in, 2), s->weight), true);
}

/* ---- CosineEmbedding ------------------------------------------------------------------------ */

/* Rows' cosine similarity (N, 1), |x||y| clamped below at 1e-12. */
static am_array *cosine_similarity(am_array *x, am_array *y)
{
    const int last[] = {-1};
    am_shape col = AM_SHAPE(-1, 1);
    am_array *xn = am_reshape(am_norm(x, 2, last, 1, false), col);
    am_array *yn = am_reshape(am_norm(y, 2, last, 1, false), col);
    am_array *dot = am_reshape(am_sum(am_elemwise_mul(x, y), last, 1, false), col);
    return am_div(dot, am_maximum_scalar(am_elemwise_mul(xn, yn), 1e-12));
}

static am_array *cosine_forward(am_block *self, am_array *const *in, int n_in)
{
    loss *s = (loss *)self;
    if (check_inputs(self, n_in, 3, 4) != AM_OK) return NULL;
    am_array *c = cosine_similarity(reshaped_like(self, "input1", in[0], "input2", in[1]), in[1]);
    am_array *label = am_reshape(in[2], AM_SHAPE(-1, 1));
    am_array *same = am_mul(am_rminus_scalar(c, 1), am_equal_scalar(label, 1));
    am_array *apart = am_mul(am_equal_scalar(label, -1), am_minus_scalar(c, s->param));
    am_array *l = am_add(same, am_maximum_scalar(apart, 0));
    return apply_weighting(l, sample_weight_of(in, n_in, 3), s->weight);
}

/* Gluon's CTCLoss: the op wants (T, N, C) and (N, L), blank last. */
static am_array *ctc_forward(am_block *self, am_array *const *in, int n_in)
{
    loss *s = (loss *)self;
    const am_ctc_opts *o = &s->ctc;
    int want = 2 + o->pred_lengths + o->label_lengths + o->sample_weight;
    if (check_inputs(self, n_in, want, want) != AM_OK) return NULL;
    am_array *pred = o->tnc ? in[0] : am_swap_axis(in[0], 0, 1);
    am_array *label = o->label_tn ? am_swap_axis(in[1], 0, 1) : in[1];
    int k = 2;
    am_array *pred_len = o->pred_lengths ? in[k++] : NULL;
    am_array *label_len = o->label_lengths ? in[k++] : NULL;
    am_array *l = am_ctc_loss(pred, label, pred_len, label_len, "last");
    return apply_weighting(l, o->sample_weight ? in[k] : NULL, s->weight);
}

/* ---- constructors --------------------------------------------------------------------------- */

#define LOSS_CLASS(var, name_, fwd)                                                   \
    static const am_block_class var = {.name = name_, .size = sizeof(loss),           \
                                       .forward = fwd, .flags = AM_BLOCK_BUILTIN}
LOSS_CLASS(l1_class, "L1Loss", l1_forward);
LOSS_CLASS(l2_class, "L2Loss", l2_forward);
LOSS_CLASS(softmax_ce_class, "SoftmaxCrossEntropyLoss", softmax_ce_forward);
LOSS_CLASS(sigmoid_bce_class, "SigmoidBinaryCrossEntropyLoss", sigmoid_bce_forward);
LOSS_CLASS(huber_class, "HuberLoss", huber_forward);
LOSS_CLASS(hinge_class, "HingeLoss", hinge_forward);
LOSS_CLASS(kl_div_class, "KLDivLoss", kl_div_forward);
LOSS_CLASS(cosine_class, "CosineEmbeddingLoss", cosine_forward);
LOSS_CLASS(ctc_class, "CTCLoss", ctc_forward);
#undef LOSS_CLASS

/* A loss of cls with the common options, after checking weight. */
static loss *new_loss(const am_block_class *cls, const char *fn, double weight, int batch_axis)
{
    if (!isfinite(weight)) {
        am_fail(AM_ERR_ARG, "%s: weight must be finite, got %g", fn, weight);
        return NULL;
    }
    loss *s = am_block_new(cls);
    if (!s) return NULL;
    s->weight = weight;
    s->batch_axis = batch_axis;
    s->axis = -1;
    return s;
}

static const am_loss_opts no_opts;

am_block *am_l1_loss(const am_loss_opts *opts)
{
    const am_loss_opts *o = opts ? opts : &no_opts;
    loss *s = new_loss(&l1_class, "am_l1_loss", o->weight, o->batch_axis);
    return s ? &s->base : NULL;
}

am_block *am_l2_loss(const am_loss_opts *opts)
{
    const am_loss_opts *o = opts ? opts : &no_opts;
    loss *s = new_loss(&l2_class, "am_l2_loss", o->weight, o->batch_axis);
    return s ? &s->base : NULL;
}

am_block *am_softmax_ce_loss(const am_softmax_ce_opts *opts)
{
    static const am_softmax_ce_opts defaults;
    const am_softmax_ce_opts *o = opts ? opts : &defaults;
    loss *s = new_loss(&softmax_ce_class, "am_softmax_ce_loss", o->weight, o->batch_axis);
    if (!s) return NULL;
    s->axis = o->axis ? o->axis : -1;
    s->dense_label = o->dense_label;
    s->from_logits = o->from_logits;
    return &s->base;
}

am_block *am_sigmoid_bce_loss(const am_sigmoid_bce_opts *opts)
{
    static const am_sigmoid_bce_opts defaults;
    const am_sigmoid_bce_opts *o = opts ? opts : &defaults;
    loss *s = new_loss(&sigmoid_bce_class, "am_sigmoid_bce_loss", o->weight, o->batch_axis);
    if (!s) return NULL;
    s->from_sigmoid = o->from_sigmoid;
    s->pos_weight = o->pos_weight;
    return &s->base;
}

am_block *am_huber_loss(double rho, const am_loss_opts *opts)
{
    const am_loss_opts *o = opts ? opts : &no_opts;
    if (!(rho > 0) || !isfinite(rho)) {
        am_fail(AM_ERR_ARG, "am_huber_loss: rho must be positive and finite, got %g", rho);
        return NULL;
    }
    loss *s = new_loss(&huber_class, "am_huber_loss", o->weight, o->batch_axis);
    if (s) s->param = rho;
    return s ? &s->base : NULL;
}

am_block *am_hinge_loss(double margin, const am_loss_opts *opts)
{
    const am_loss_opts *o = opts ? opts : &no_opts;
    if (isnan(margin)) {
        am_fail(AM_ERR_ARG, "am_hinge_loss: margin is NaN");
        return NULL;
    }
    loss *s = new_loss(&hinge_class, "am_hinge_loss", o->weight, o->batch_axis);
    if (s) s->param = margin;
    return s ? &s->base : NULL;
}

am_block *am_kl_div_loss(const am_kl_div_opts *opts)
{
    static const am_kl_div_opts defaults;
    const am_kl_div_opts *o = opts ? opts : &defaults;
    loss *s = new_loss(&kl_div_class, "am_kl_div_loss", o->weight, o->batch_axis);
    if (!s) return NULL;
    s->axis = o->axis ? o->axis : -1;
    s->log_softmax = o->log_softmax;
    return &s->base;
}

am_block *am_cosine_embedding_loss(const am_cosine_embedding_opts *opts)
{
    static const am_cosine_embedding_opts defaults;
    const am_cosine_embedding_opts *o = opts ? opts : &defaults;
    if (isnan(o->margin)) {
        am_fail(AM_ERR_ARG, "am_cosine_embedding_loss: margin is NaN");
        return NULL;
    }
    loss *s = new_loss(&cosine_class, "am_cosine_embedding_loss", o->weight, 0);
    if (s) s->param = o->margin;
    return s ? &s->base : NULL;
}

am_block *am_ctc_loss_block(const am_ctc_opts *opts)
{
    static const am_ctc_opts defaults;
    const am_ctc_opts *o = opts ? opts : &defaults;
    loss *s = new_loss(&ctc_class, "am_ctc_loss_block", o->weight, o->label_tn ? 1 : 0);
    if (s) s->ctc = *o;
    return s ? &s->base : NULL;
}
