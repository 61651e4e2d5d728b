/* Evaluation metrics: MXNet 1.9.1's mxnet.metric (Accuracy, TopKAccuracy, F1,
 * MAE, MSE, RMSE, CrossEntropy, Perplexity, PearsonCorrelation, composite). */
#ifndef AMBER_METRIC_H
#define AMBER_METRIC_H

/*
 * A metric keeps running sums over every update since it was made or reset,
 * and get returns what MXNet's get returns (sum_metric / num_inst, NaN
 * before the first update).  Metrics read values on the host: they are not
 * traced, and a symbolic input fails with AM_ERR_SYMBOLIC.  Example (runs):
 *
 *     am_block *net = am_dense(4, NULL);
 *     am_block_initialize(net, NULL);
 *     am_array *x = am_ones(AM_SHAPE(8, 3), AM_DTYPE_FLOAT32), *y = am_zeros(AM_SHAPE(8), AM_DTYPE_FLOAT32);
 *     am_metric *acc = am_metric_accuracy(1);                 // argmax along axis 1
 *     for (int batch = 0; batch < 3; batch++) {
 *         am_array *out = am_block_call(net, x);              // (N, C) scores
 *         am_metric_update(acc, &y, &out, 1);                 // y (N,) class indices
 *     }
 *     const char *name;
 *     double value;
 *     am_metric_get(acc, &name, &value);                      // "accuracy", 0.0 .. 1.0
 *     am_metric_free(acc);
 *
 * Constructors return a new metric (free it with am_metric_free), or NULL
 * with AM_ERR_ARG naming the constructor and the bad argument.
 */

#include "array.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct am_metric am_metric;

/* How F1 and PearsonCorrelation combine updates, as MXNet's average. */
typedef enum am_metric_average {
    AM_METRIC_AVERAGE_MACRO,  /* the mean of one value per update call (MXNet's default) */
    AM_METRIC_AVERAGE_MICRO,  /* one value over everything seen since the reset */
    AM_METRIC_AVERAGE_COUNT
} am_metric_average;

/* Accuracy ("accuracy"): where a pred's shape differs from its label's, the
 * pred becomes its argmax along axis (MXNet's default axis is 1); both are
 * truncated to integers and compared element by element.  num_inst counts
 * the labels. */
AM_API am_metric *am_metric_accuracy(int axis);

/* TopKAccuracy ("top_k_accuracy_<k>"): preds (N, C), labels of N values; a
 * sample counts when its label is among the top_k largest scores (ties
 * between equal scores: the label is in when fewer than top_k scores are
 * strictly larger).  AM_ERR_ARG: top_k < 2 (use Accuracy, as MXNet says). */
AM_API am_metric *am_metric_top_k_accuracy(int top_k);

/* F1 ("f1") for binary classification: preds (N, 2+) whose argmax along axis
 * 1 is the predicted class, labels of N values in {0, 1} (class 1 is
 * positive).  MACRO averages the F1 of each update call, MICRO is the F1 of
 * every sample since the reset (MXNet's average).  An update whose labels
 * hold more than two distinct values fails with AM_ERR_ARG. */
AM_API am_metric *am_metric_f1(am_metric_average average);

/* MAE, MSE and RMSE ("mae", "mse", "rmse"): for each label/pred pair, the
 * mean of |label - pred|, of (label - pred)^2, or its square root, with 1-D
 * arrays seen as (N, 1) and NumPy broadcasting; get averages these per-pair
 * values (num_inst counts pairs, as MXNet's). */
AM_API am_metric *am_metric_mae(void);
AM_API am_metric *am_metric_mse(void);
AM_API am_metric *am_metric_rmse(void);

/* CrossEntropy ("cross-entropy"): preds (N, C) of probabilities, labels of N
 * class indices; the mean over samples of -log(pred[label] + eps) (MXNet's
 * eps is 1e-12).  AM_ERR_ARG at update for a label outside [0, C). */
AM_API am_metric *am_metric_cross_entropy(double eps);

typedef struct am_perplexity_opts {
    bool ignore;          /* labels equal to ignore_label are left out (MXNet's None: false) */
    double ignore_label;
    int axis;             /* the class axis of preds; 0: -1 (write axis 0 as -ndim) */
} am_perplexity_opts;

/* Perplexity ("perplexity"): exp of the mean of -log(max(p, 1e-10)) where p
 * is each label's probability picked along axis (indices clipped to the
 * axis, as MXNet's pick); a label has pred's shape less the axis (any shape
 * with that many values).  NULL opts: no ignored label, axis -1. */
AM_API am_metric *am_metric_perplexity(const am_perplexity_opts *opts);

/* PearsonCorrelation ("pearsonr"): the correlation of the flattened pred
 * and label (same shapes).  MACRO averages one coefficient per pair, MICRO
 * pools every value since the reset. */
AM_API am_metric *am_metric_pearson_correlation(am_metric_average average);

/* A composite ("composite"): every update goes to each child in the order
 * they were added; am_metric_get_all lists their values. */
AM_API am_metric *am_metric_composite(void);
/* Adds child to composite c, which takes it over (and frees it with c).
 * AM_ERR_ARG when c is not a composite or child is NULL or c itself (child
 * is freed then unless it is NULL or c). */
AM_API am_status am_metric_composite_add(am_metric *c, am_metric *child);

/* Adds n label/pred pairs (labels[i] goes with preds[i]) as one update, as
 * MXNet's update(labels, preds).  Arrays are read, not kept.  AM_ERR_ARG
 * (NULL metric, n < 1, a NULL array: its error is kept), AM_ERR_SYMBOLIC (a
 * symbolic array: metrics read values), AM_ERR_SHAPE naming the metric and
 * both shapes.  A failed update leaves the metric as it was (a composite's
 * children before the failing one keep it). */
AM_API am_status am_metric_update(am_metric *m, am_array *const *labels,
                                  am_array *const *preds, int n);

/* The name (borrowed, valid while m lives) and value of a metric.  NaN
 * before any update.  AM_ERR_ARG for a composite of other than one value:
 * use am_metric_get_all. */
AM_API am_status am_metric_get(const am_metric *m, const char **name, double *value);

/* Every name and value of m (one for a plain metric, the children's in
 * order for a composite), filling up to cap entries of names and values
 * (either may be NULL); returns the count, or -1 with AM_ERR_ARG for NULL. */
AM_API int am_metric_get_all(const am_metric *m, const char **names, double *values, int cap);

/* Forgets every update (a composite resets its children).  NULL: no-op. */
AM_API void am_metric_reset(am_metric *m);

/* NULL is a no-op. */
AM_API void am_metric_free(am_metric *m);

#ifdef __cplusplus
}
#endif
#endif /* AMBER_METRIC_H */
