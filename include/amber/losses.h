/* Amber's losses: Gluon's loss blocks (MXNet 1.9.1, gluon/loss.py) as
 * blocks, so that they run eagerly and hybridize with a model. */
#ifndef AMBER_LOSSES_H
#define AMBER_LOSSES_H

/*
 * A loss is an ordinary block (hybrid.h) without parameters, called with
 * (pred, label[, sample_weight]) and made of public ops only, so it traces.
 * Example (runs):
 *
 *     am_block *net = am_dense(4, NULL);
 *     am_block_initialize(net, NULL);
 *     am_array *x = am_ones(AM_SHAPE(8, 3), AM_DTYPE_FLOAT32), *y = am_zeros(AM_SHAPE(8), AM_DTYPE_FLOAT32);
 *     am_block *ce = am_softmax_ce_loss(NULL);                // sparse labels, axis -1
 *     am_autograd_record_begin(true);
 *     am_array *out = am_block_call(net, x);                  // (N, C) scores
 *     am_array *loss = am_block_call2(ce, out, y);            // y (N,): one value per sample
 *     am_array *total = am_sum(loss, NULL, 0, false);         // recorded too
 *     am_autograd_end();
 *     am_backward(total);                                     // d total / d parameters
 *     am_block_release(ce);
 *     am_block_release(net);
 *
 * Options come in a struct whose zero value is Gluon's default (NULL: all
 * defaults).  Every loss but CosineEmbedding averages over every axis but
 * batch_axis, so its output has one value per sample (KLDiv sums instead,
 * as Gluon 1.9.1 does).  sample_weight is multiplied in (broadcast) before
 * that reduction, then the scalar weight.  label is reshaped to pred's shape
 * where Gluon does (L1, L2, SigmoidBCE, Huber, Hinge, dense SoftmaxCE).
 * Constructors return a new reference, or NULL with AM_ERR_ARG naming the
 * constructor and the bad option.  A call fails with AM_ERR_ARG naming the
 * loss for the wrong number of inputs or an axis out of range, and with
 * AM_ERR_SHAPE naming the loss and both shapes for a label whose size does
 * not fit pred; other mismatches (sample_weight that does not broadcast)
 * fail in the op that meets them.
 */

#include "hybrid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What every loss takes. */
typedef struct am_loss_opts {
    double weight;     /* global scale of the loss; 0: none (Gluon's None; L2Loss's 1) */
    int batch_axis;    /* the axis of samples (Gluon's default 0); negative counts from the end */
} am_loss_opts;

/* L1Loss: mean |label - pred| over every axis but batch_axis. */
AM_API am_block *am_l1_loss(const am_loss_opts *opts);

/* L2Loss: mean of weight / 2 * (label - pred)^2 (the 1/2 is Gluon's). */
AM_API am_block *am_l2_loss(const am_loss_opts *opts);

typedef struct am_softmax_ce_opts {
    int axis;          /* the class axis; 0: -1 (write axis 0 as -ndim) */
    bool dense_label;  /* Gluon's sparse_label=False: label is a distribution like pred */
    bool from_logits;  /* pred already holds log-probabilities: no log_softmax */
    double weight;     /* as am_loss_opts */
    int batch_axis;
} am_softmax_ce_opts;

/* SoftmaxCrossEntropyLoss: with p = log_softmax(pred, axis) (or pred when
 * from_logits), -p[label] picked along axis (sparse labels: class indices
 * with pred's shape less the axis; out-of-range indices are clipped, as
 * pick's "clip" mode), or -sum(p * label, axis) for dense labels; then the
 * mean over every axis but batch_axis. */
AM_API am_block *am_softmax_ce_loss(const am_softmax_ce_opts *opts);

typedef struct am_sigmoid_bce_opts {
    bool from_sigmoid;  /* pred holds probabilities, not logits */
    bool pos_weight;    /* the block takes one more input, last: pos_weight */
    double weight;      /* as am_loss_opts */
    int batch_axis;
} am_sigmoid_bce_opts;

/* SigmoidBinaryCrossEntropyLoss (SigmoidBCELoss) on labels in [0, 1]: from
 * logits x, max(x, 0) - x z + log(1 + e^-|x|) (stable); from sigmoid p,
 * -(z log(p + 1e-12) + (1 - z) log(1 - p + 1e-12)).  With pos_weight (an
 * array broadcast against label, Gluon's pos_weight argument) the positive
 * term is scaled by it.  Inputs (pred, label[, sample_weight][, pos_weight]). */
AM_API am_block *am_sigmoid_bce_loss(const am_sigmoid_bce_opts *opts);

/* HuberLoss: with d = |label - pred|, d - rho / 2 where d > rho, else
 * d^2 / (2 rho); mean over every axis but batch_axis.  Gluon's rho is 1.
 * AM_ERR_ARG: rho not positive. */
AM_API am_block *am_huber_loss(double rho, const am_loss_opts *opts);

/* HingeLoss on labels in {-1, 1}: max(0, margin - pred * label), mean over
 * every axis but batch_axis.  Gluon's margin is 1.  AM_ERR_ARG: margin NaN. */
AM_API am_block *am_hinge_loss(double margin, const am_loss_opts *opts);

typedef struct am_kl_div_opts {
    bool log_softmax;  /* Gluon's from_logits=False: pred gets log_softmax along axis */
    int axis;          /* for log_softmax; 0: -1 (write axis 0 as -ndim) */
    double weight;     /* as am_loss_opts */
    int batch_axis;
} am_kl_div_opts;

/* KLDivLoss: label * (log(label + 1e-12) - pred) with pred log-probabilities,
 * SUMMED over every axis but batch_axis (Gluon 1.9.1 sums here). */
AM_API am_block *am_kl_div_loss(const am_kl_div_opts *opts);

typedef struct am_cosine_embedding_opts {
    double margin;     /* Gluon's default 0 */
    double weight;     /* as am_loss_opts */
} am_cosine_embedding_opts;

/* CosineEmbeddingLoss: inputs (input1, input2, label[, sample_weight]) with
 * input1 and input2 (N, D) and label (N,) in {-1, 1}; with c the cosine of
 * the rows (|x||y| clamped below at 1e-12), 1 - c where label is 1 and
 * max(0, c - margin) where it is -1 (0 for other labels).  The output is
 * (N, 1), unreduced, as Gluon's. */
AM_API am_block *am_cosine_embedding_loss(const am_cosine_embedding_opts *opts);

typedef struct am_ctc_opts {
    bool tnc;            /* pred is (T, N, C) (Gluon's layout="TNC"); default (N, T, C) */
    bool label_tn;       /* label is (L, N) (label_layout="TN"); default (N, L) */
    bool pred_lengths;   /* the call takes pred_lengths (N) after label */
    bool label_lengths;  /* ... then label_lengths (N) */
    bool sample_weight;  /* ... then sample_weight, broadcast against the (N,) loss */
    double weight;       /* as am_loss_opts */
} am_ctc_opts;
/* CTCLoss over the CTCLoss op (ops.h, am_ctc_loss) with Gluon's conventions:
 * pred holds activations (softmax is applied inside), the blank is the last
 * class C-1 and labels are padded with -1 (or cut by label_lengths).
 * Inputs (pred, label[, pred_lengths][, label_lengths][, sample_weight]),
 * as the options say; the output is the loss of each sequence (N,), +inf
 * (with gradient 0) for a label its sequence is too short to hold. */
AM_API am_block *am_ctc_loss_block(const am_ctc_opts *opts);

#ifdef __cplusplus
}
#endif
#endif /* AMBER_LOSSES_H */
