/* One C function per operator.  Each is registered under MXNet's name (in
 * brackets) and takes MXNet's attributes as typed arguments. */
#ifndef AMBER_OPS_H
#define AMBER_OPS_H

/*
 *     am_array *h = am_relu(am_fully_connected(x, w, b, 256, false, true));
 *     am_array *p = am_softmax(h, -1);
 *     am_array *s = am_sum(p, (int[]){1}, 1, false);
 *     if (!s) fprintf(stderr, "%s\n", am_last_error());
 *
 * Every function returns a new reference owned by the current scope (see
 * array.h), or NULL with a message naming the op, the offending shapes and
 * the caller's file:line.  A NULL input returns NULL and keeps the first
 * message.  Each op `am_X(...)` is a macro over `am_X_at(..., am_site)`;
 * wrappers call the _at form to pass their own caller's site.
 *
 * Axis lists are (const int *axes, int naxes); axes == NULL means all axes.
 * Negative axes count from the end.  Multi-output ops fill an out array.
 */

#include "array.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- unary elementwise [negative, abs, ...] --------------------------- */
#define AM_UNARY_OPS(X) \
    X(negative) X(abs) X(sign) X(exp) X(log) X(log1p) X(expm1) X(sqrt) X(rsqrt) \
    X(square) X(reciprocal) X(sin) X(cos) X(tanh) X(sigmoid) X(relu) X(softsign) \
    X(erf) X(round) X(floor) X(ceil)
#define AM_DECLARE_UNARY(n) AM_API am_array *am_##n##_at(am_array *x, am_site at);
AM_UNARY_OPS(AM_DECLARE_UNARY)
#undef AM_DECLARE_UNARY
#define am_negative(x)   am_negative_at((x), AM_HERE)
#define am_abs(x)        am_abs_at((x), AM_HERE)
#define am_sign(x)       am_sign_at((x), AM_HERE)
#define am_exp(x)        am_exp_at((x), AM_HERE)
#define am_log(x)        am_log_at((x), AM_HERE)
#define am_log1p(x)      am_log1p_at((x), AM_HERE)
#define am_expm1(x)      am_expm1_at((x), AM_HERE)
#define am_sqrt(x)       am_sqrt_at((x), AM_HERE)
#define am_rsqrt(x)      am_rsqrt_at((x), AM_HERE)
#define am_square(x)     am_square_at((x), AM_HERE)
#define am_reciprocal(x) am_reciprocal_at((x), AM_HERE)
#define am_sin(x)        am_sin_at((x), AM_HERE)
#define am_cos(x)        am_cos_at((x), AM_HERE)
#define am_tanh(x)       am_tanh_at((x), AM_HERE)
#define am_sigmoid(x)    am_sigmoid_at((x), AM_HERE)
#define am_relu(x)       am_relu_at((x), AM_HERE)
#define am_softsign(x)   am_softsign_at((x), AM_HERE)
#define am_erf(x)        am_erf_at((x), AM_HERE)
#define am_round(x)      am_round_at((x), AM_HERE)
#define am_floor(x)      am_floor_at((x), AM_HERE)
#define am_ceil(x)       am_ceil_at((x), AM_HERE)

/* [Activation] act_type: "relu", "sigmoid", "tanh", "softrelu", "softsign". */
AM_API am_array *am_activation_at(am_array *x, const char *act_type, am_site at);
#define am_activation(x, t) am_activation_at((x), (t), AM_HERE)

/* [LeakyReLU] act_type "leaky", "elu", "selu", "gelu", "prelu" (gamma is the
 * learned slope, NULL otherwise), "rrelu"; slope is MXNet's slope (0.25). */
AM_API am_array *am_leaky_relu_at(am_array *x, am_array *gamma, const char *act_type,
                                  double slope, am_site at);
#define am_leaky_relu(x, g, t, s) am_leaky_relu_at((x), (g), (t), (s), AM_HERE)

/* ---- binary ------------------------------------------------------------- */
/* [elemwise_*] same shapes; [broadcast_*] NumPy broadcasting.  Both inputs
 * must have the same dtype (AM_ERR_DTYPE otherwise).  Comparisons return 0/1
 * in that dtype.  As MXNet 1.x: integer division truncates, mod takes the
 * divisor's sign (Python's %), x mod 0 is 0, maximum/minimum propagate NaN.
 * Integer x / 0 and 0 ** -k are 0, and integer overflow wraps. */
#define AM_ELEMWISE_BINARY_OPS(X) X(elemwise_add) X(elemwise_sub) X(elemwise_mul) X(elemwise_div)
#define AM_BROADCAST_OPS(X) \
    X(broadcast_add) X(broadcast_sub) X(broadcast_mul) X(broadcast_div) X(broadcast_mod) \
    X(broadcast_power) X(broadcast_maximum) X(broadcast_minimum) X(broadcast_equal) \
    X(broadcast_not_equal) X(broadcast_greater) X(broadcast_greater_equal) \
    X(broadcast_lesser) X(broadcast_lesser_equal)
#define AM_DECLARE_BINARY(n) AM_API am_array *am_##n##_at(am_array *a, am_array *b, am_site at);
AM_ELEMWISE_BINARY_OPS(AM_DECLARE_BINARY)
AM_BROADCAST_OPS(AM_DECLARE_BINARY)
#undef AM_DECLARE_BINARY
#define am_elemwise_add(a, b)           am_elemwise_add_at((a), (b), AM_HERE)
#define am_elemwise_sub(a, b)           am_elemwise_sub_at((a), (b), AM_HERE)
#define am_elemwise_mul(a, b)           am_elemwise_mul_at((a), (b), AM_HERE)
#define am_elemwise_div(a, b)           am_elemwise_div_at((a), (b), AM_HERE)
#define am_broadcast_add(a, b)          am_broadcast_add_at((a), (b), AM_HERE)
#define am_broadcast_sub(a, b)          am_broadcast_sub_at((a), (b), AM_HERE)
#define am_broadcast_mul(a, b)          am_broadcast_mul_at((a), (b), AM_HERE)
#define am_broadcast_div(a, b)          am_broadcast_div_at((a), (b), AM_HERE)
#define am_broadcast_mod(a, b)          am_broadcast_mod_at((a), (b), AM_HERE)
#define am_broadcast_power(a, b)        am_broadcast_power_at((a), (b), AM_HERE)
#define am_broadcast_maximum(a, b)      am_broadcast_maximum_at((a), (b), AM_HERE)
#define am_broadcast_minimum(a, b)      am_broadcast_minimum_at((a), (b), AM_HERE)
#define am_broadcast_equal(a, b)        am_broadcast_equal_at((a), (b), AM_HERE)
#define am_broadcast_not_equal(a, b)    am_broadcast_not_equal_at((a), (b), AM_HERE)
#define am_broadcast_greater(a, b)      am_broadcast_greater_at((a), (b), AM_HERE)
#define am_broadcast_greater_equal(a, b) am_broadcast_greater_equal_at((a), (b), AM_HERE)
#define am_broadcast_lesser(a, b)       am_broadcast_lesser_at((a), (b), AM_HERE)
#define am_broadcast_lesser_equal(a, b) am_broadcast_lesser_equal_at((a), (b), AM_HERE)
/* Short names: the broadcasting forms. */
#define am_add(a, b) am_broadcast_add_at((a), (b), AM_HERE)
#define am_sub(a, b) am_broadcast_sub_at((a), (b), AM_HERE)
#define am_mul(a, b) am_broadcast_mul_at((a), (b), AM_HERE)
#define am_div(a, b) am_broadcast_div_at((a), (b), AM_HERE)

/* [_plus_scalar, _minus_scalar, _rminus_scalar, _mul_scalar, _div_scalar,
 *  _rdiv_scalar, _mod_scalar, _rmod_scalar, _power_scalar, _rpower_scalar,
 *  _maximum_scalar, _minimum_scalar, _equal_scalar, _not_equal_scalar,
 *  _greater_scalar, _greater_equal_scalar, _lesser_scalar, _lesser_equal_scalar]
 * x OP s, or s OP x for the r-forms; the result keeps x's dtype. */
#define AM_SCALAR_OPS(X) \
    X(plus_scalar) X(minus_scalar) X(rminus_scalar) X(mul_scalar) X(div_scalar) \
    X(rdiv_scalar) X(mod_scalar) X(rmod_scalar) X(power_scalar) X(rpower_scalar) \
    X(maximum_scalar) X(minimum_scalar) X(equal_scalar) X(not_equal_scalar) \
    X(greater_scalar) X(greater_equal_scalar) X(lesser_scalar) X(lesser_equal_scalar)
#define AM_DECLARE_SCALAR(n) AM_API am_array *am_##n##_at(am_array *x, double s, am_site at);
AM_SCALAR_OPS(AM_DECLARE_SCALAR)
#undef AM_DECLARE_SCALAR
#define am_plus_scalar(x, s)          am_plus_scalar_at((x), (s), AM_HERE)
#define am_minus_scalar(x, s)         am_minus_scalar_at((x), (s), AM_HERE)
#define am_rminus_scalar(x, s)        am_rminus_scalar_at((x), (s), AM_HERE)
#define am_mul_scalar(x, s)           am_mul_scalar_at((x), (s), AM_HERE)
#define am_div_scalar(x, s)           am_div_scalar_at((x), (s), AM_HERE)
#define am_rdiv_scalar(x, s)          am_rdiv_scalar_at((x), (s), AM_HERE)
#define am_mod_scalar(x, s)           am_mod_scalar_at((x), (s), AM_HERE)
#define am_rmod_scalar(x, s)          am_rmod_scalar_at((x), (s), AM_HERE)
#define am_power_scalar(x, s)         am_power_scalar_at((x), (s), AM_HERE)
#define am_rpower_scalar(x, s)        am_rpower_scalar_at((x), (s), AM_HERE)
#define am_maximum_scalar(x, s)       am_maximum_scalar_at((x), (s), AM_HERE)
#define am_minimum_scalar(x, s)       am_minimum_scalar_at((x), (s), AM_HERE)
#define am_equal_scalar(x, s)         am_equal_scalar_at((x), (s), AM_HERE)
#define am_not_equal_scalar(x, s)     am_not_equal_scalar_at((x), (s), AM_HERE)
#define am_greater_scalar(x, s)       am_greater_scalar_at((x), (s), AM_HERE)
#define am_greater_equal_scalar(x, s) am_greater_equal_scalar_at((x), (s), AM_HERE)
#define am_lesser_scalar(x, s)        am_lesser_scalar_at((x), (s), AM_HERE)
#define am_lesser_equal_scalar(x, s)  am_lesser_equal_scalar_at((x), (s), AM_HERE)

/* [clip] */
AM_API am_array *am_clip_at(am_array *x, double a_min, double a_max, am_site at);
#define am_clip(x, lo, hi) am_clip_at((x), (lo), (hi), AM_HERE)
/* [zeros_like, ones_like] */
AM_API am_array *am_zeros_like_at(am_array *x, am_site at);
AM_API am_array *am_ones_like_at(am_array *x, am_site at);
#define am_zeros_like(x) am_zeros_like_at((x), AM_HERE)
#define am_ones_like(x) am_ones_like_at((x), AM_HERE)
/* [BlockGrad] x's value; no gradient flows back through it. */
AM_API am_array *am_block_grad_at(am_array *x, am_site at);
#define am_block_grad(x) am_block_grad_at((x), AM_HERE)
/* [where] cond has x's shape, or is 1-D with x's first dimension. */
AM_API am_array *am_where_at(am_array *cond, am_array *x, am_array *y, am_site at);
#define am_where(c, x, y) am_where_at((c), (x), (y), AM_HERE)
/* [add_n] sum of n same-shape arrays. */
AM_API am_array *am_add_n_at(am_array *const *xs, int n, am_site at);
#define am_add_n(xs, n) am_add_n_at((xs), (n), AM_HERE)

/* ---- reductions [sum, mean, prod, max, min, norm, argmax, argmin] ------- */
/* exclude reduces every axis not listed.  Reducing all axes without keepdims
 * gives shape (1,), as MXNet 1.x does; an empty list (naxes 0) reduces all axes,
 * like MXNet's axis=().  max and min of an empty axis fail with AM_ERR_SHAPE;
 * mean of one is NaN (0 for integer dtypes, which divide as integers). */
#define AM_REDUCE_OPS(X) X(sum) X(mean) X(prod) X(max) X(min)
#define AM_DECLARE_REDUCE(n) \
    AM_API am_array *am_##n##_at(am_array *x, const int *axes, int naxes, bool keepdims, \
                                 am_site at);
AM_REDUCE_OPS(AM_DECLARE_REDUCE)
#undef AM_DECLARE_REDUCE
#define am_sum(x, ax, n, k)  am_sum_at((x), (ax), (n), (k), AM_HERE)
#define am_mean(x, ax, n, k) am_mean_at((x), (ax), (n), (k), AM_HERE)
#define am_prod(x, ax, n, k) am_prod_at((x), (ax), (n), (k), AM_HERE)
#define am_max(x, ax, n, k)  am_max_at((x), (ax), (n), (k), AM_HERE)
#define am_min(x, ax, n, k)  am_min_at((x), (ax), (n), (k), AM_HERE)
/* [norm] ord 1 or 2 over axes; float32 and float64 data. */
AM_API am_array *am_norm_at(am_array *x, int ord, const int *axes, int naxes, bool keepdims,
                            am_site at);
#define am_norm(x, o, ax, n, k) am_norm_at((x), (o), (ax), (n), (k), AM_HERE)
/* [argmax, argmin] along one axis (AM_NONE: the flattened array); indices in x's
 * dtype, as MXNet 1.x returns them. */
AM_API am_array *am_argmax_at(am_array *x, int64_t axis, bool keepdims, am_site at);
AM_API am_array *am_argmin_at(am_array *x, int64_t axis, bool keepdims, am_site at);
#define am_argmax(x, a, k) am_argmax_at((x), (a), (k), AM_HERE)
#define am_argmin(x, a, k) am_argmin_at((x), (a), (k), AM_HERE)

/* ---- linear algebra ------------------------------------------------------ */
/* [dot] a (..., k) x b (k, ...); with transposes of the 2-D case. */
AM_API am_array *am_dot_at(am_array *a, am_array *b, bool transpose_a, bool transpose_b,
                           am_site at);
#define am_dot(a, b) am_dot_at((a), (b), false, false, AM_HERE)
#define am_dot_t(a, b, ta, tb) am_dot_at((a), (b), (ta), (tb), AM_HERE)
/* [batch_dot] (B, n, k) x (B, k, m). */
AM_API am_array *am_batch_dot_at(am_array *a, am_array *b, bool transpose_a, bool transpose_b,
                                 am_site at);
#define am_batch_dot(a, b, ta, tb) am_batch_dot_at((a), (b), (ta), (tb), AM_HERE)
/* [FullyConnected] y = x w^T + b; weight (num_hidden, in); bias NULL when no_bias. */
AM_API am_array *am_fully_connected_at(am_array *x, am_array *weight, am_array *bias,
                                       int64_t num_hidden, bool no_bias, bool flatten,
                                       am_site at);
#define am_fully_connected(x, w, b, n, nb, f) \
    am_fully_connected_at((x), (w), (b), (n), (nb), (f), AM_HERE)

/* ---- shape ----------------------------------------------------------------- */
/* [Reshape] shape may hold MXNet's 0, -1, -2, -3, -4; reverse infers right to left. */
AM_API am_array *am_reshape_at(am_array *x, am_shape shape, bool reverse, am_site at);
#define am_reshape(x, s) am_reshape_at((x), (s), false, AM_HERE)
/* [reshape_like] x's elements in like's shape (any dtype; 0-d too); a view. */
AM_API am_array *am_reshape_like_at(am_array *x, am_array *like, am_site at);
#define am_reshape_like(x, l) am_reshape_like_at((x), (l), AM_HERE)
/* [Flatten] (N, ...) -> (N, prod(...)). */
AM_API am_array *am_flatten_at(am_array *x, am_site at);
#define am_flatten(x) am_flatten_at((x), AM_HERE)
/* [expand_dims] */
AM_API am_array *am_expand_dims_at(am_array *x, int axis, am_site at);
#define am_expand_dims(x, a) am_expand_dims_at((x), (a), AM_HERE)
/* [squeeze] axes NULL: every size-1 axis. */
AM_API am_array *am_squeeze_at(am_array *x, const int *axes, int naxes, am_site at);
#define am_squeeze(x, ax, n) am_squeeze_at((x), (ax), (n), AM_HERE)
/* [transpose] axes NULL: reverse. */
AM_API am_array *am_transpose_at(am_array *x, const int *axes, int naxes, am_site at);
#define am_transpose(x, ax, n) am_transpose_at((x), (ax), (n), AM_HERE)
/* [SwapAxis] */
AM_API am_array *am_swap_axis_at(am_array *x, int dim1, int dim2, am_site at);
#define am_swap_axis(x, a, b) am_swap_axis_at((x), (a), (b), AM_HERE)
/* [Concat] along dim. */
AM_API am_array *am_concat_at(am_array *const *xs, int n, int dim, am_site at);
#define am_concat(xs, n, d) am_concat_at((xs), (n), (d), AM_HERE)
/* [stack] along a new axis. */
AM_API am_array *am_stack_at(am_array *const *xs, int n, int axis, am_site at);
#define am_stack(xs, n, a) am_stack_at((xs), (n), (a), AM_HERE)
/* [split] (SliceChannel) into num_outputs equal parts written to out. */
AM_API am_status am_split_at(am_array *x, int num_outputs, int axis, bool squeeze_axis,
                             am_array **out, am_site at);
#define am_split(x, n, a, sq, out) am_split_at((x), (n), (a), (sq), (out), AM_HERE)
/* [slice] begin/end/step per leading axis; AM_NONE leaves an entry open. */
#define AM_NONE INT64_MIN
AM_API am_array *am_slice_at(am_array *x, const int64_t *begin, const int64_t *end,
                             const int64_t *step, int n, am_site at);
#define am_slice(x, b, e, s, n) am_slice_at((x), (b), (e), (s), (n), AM_HERE)
/* [slice_axis] end AM_NONE: to the end.  A first-axis slice is a view. */
AM_API am_array *am_slice_axis_at(am_array *x, int axis, int64_t begin, int64_t end,
                                  am_site at);
#define am_slice_axis(x, a, b, e) am_slice_axis_at((x), (a), (b), (e), AM_HERE)
/* [tile] */
AM_API am_array *am_tile_at(am_array *x, const int64_t *reps, int n, am_site at);
#define am_tile(x, r, n) am_tile_at((x), (r), (n), AM_HERE)
/* [repeat] axis AM_NONE: the flattened array. */
AM_API am_array *am_repeat_at(am_array *x, int64_t repeats, int64_t axis, am_site at);
#define am_repeat(x, r, a) am_repeat_at((x), (r), (a), AM_HERE)
/* [broadcast_to] a 0 in shape keeps x's dimension. */
AM_API am_array *am_broadcast_to_at(am_array *x, am_shape shape, am_site at);
#define am_broadcast_to(x, s) am_broadcast_to_at((x), (s), AM_HERE)

/* ---- indexing -------------------------------------------------------------- */
/* [one_hot] indices of any dtype; result dtype given. */
AM_API am_array *am_one_hot_at(am_array *indices, int64_t depth, double on_value,
                               double off_value, am_dtype dtype, am_site at);
#define am_one_hot(i, d) am_one_hot_at((i), (d), 1.0, 0.0, AM_DTYPE_FLOAT32, AM_HERE)
/* [take] mode "clip", "wrap" or "raise". */
AM_API am_array *am_take_at(am_array *x, am_array *indices, int axis, const char *mode,
                            am_site at);
#define am_take(x, i, a) am_take_at((x), (i), (a), "clip", AM_HERE)
/* [Embedding] weight (input_dim, output_dim). */
AM_API am_array *am_embedding_at(am_array *data, am_array *weight, int64_t input_dim,
                                 int64_t output_dim, am_site at);
#define am_embedding(d, w, i, o) am_embedding_at((d), (w), (i), (o), AM_HERE)
/* [pick] x[..., index[...], ...] along axis; mode "clip" or "wrap". */
AM_API am_array *am_pick_at(am_array *x, am_array *index, int axis, bool keepdims,
                            const char *mode, am_site at);
#define am_pick(x, i, a) am_pick_at((x), (i), (a), false, "clip", AM_HERE)

/* ---- neural-network ------------------------------------------------------- */
/* [softmax, log_softmax] temperature <= 0 means none. */
AM_API am_array *am_softmax_at(am_array *x, int axis, double temperature, am_site at);
AM_API am_array *am_log_softmax_at(am_array *x, int axis, double temperature, am_site at);
#define am_softmax(x, a) am_softmax_at((x), (a), 0.0, AM_HERE)
#define am_log_softmax(x, a) am_log_softmax_at((x), (a), 0.0, AM_HERE)
/* [Dropout] mode "training" (identity unless training) or "always" (NULL:
 * "training"); p in [0, 1).  Returns the output; the mask is a hidden output. */
AM_API am_array *am_dropout_at(am_array *x, double p, const char *mode, am_site at);
#define am_dropout(x, p) am_dropout_at((x), (p), "training", AM_HERE)
/* [LayerNorm] normalise over axis, then gamma * x + beta; gamma and beta have
 * shape (x's size along axis,).  Returns the output (mean and std are hidden). */
AM_API am_array *am_layer_norm_at(am_array *x, am_array *gamma, am_array *beta, int axis,
                                  double eps, am_site at);
#define am_layer_norm(x, g, b, a, e) am_layer_norm_at((x), (g), (b), (a), (e), AM_HERE)
/* [CTCLoss] connectionist temporal classification loss (ctc.c): data (T, N,
 * C) holds activations (log-softmax is applied inside), label (N, L) class
 * indices padded after each label with 0 (blank_label "first": the blank is
 * class 0) or -1 ("last": the blank is class C-1).  data_lengths and
 * label_lengths (N), each optional (NULL), give the lengths instead of T and
 * the padding.  Returns the loss (N); +inf (gradient 0) where no alignment
 * exists. */
AM_API am_array *am_ctc_loss_at(am_array *data, am_array *label, am_array *data_lengths,
                                am_array *label_lengths, const char *blank_label, am_site at);
#define am_ctc_loss(d, l, dl, ll, blank) am_ctc_loss_at((d), (l), (dl), (ll), (blank), AM_HERE)

/* ---- normalization (norm.c) ---------------------------------------------- */
/* [BatchNorm] normalises over every axis but axis with per-channel gamma, beta,
 * moving_mean and moving_var (all of shape (C,)).  In training mode (and not
 * use_global_stats) it uses the batch statistics and updates moving_mean and
 * moving_var in place: moving = moving * momentum + batch * (1 - momentum),
 * with the biased batch variance, as MXNet's CPU kernel does.  Otherwise it
 * uses the moving statistics.  fix_gamma treats gamma as ones (gamma gets a
 * zero gradient; unlike MXNet's CPU kernel, gamma itself is not overwritten).
 * The hidden outputs are the mean and the inverse std 1/sqrt(var + eps).
 * Gradients use the batch-statistics formula when the backward runs in
 * training mode, as MXNet's _backward_BatchNorm reads is_train. */
AM_API am_array *am_batch_norm_at(am_array *x, am_array *gamma, am_array *beta,
                                  am_array *moving_mean, am_array *moving_var, double eps,
                                  double momentum, bool fix_gamma, bool use_global_stats,
                                  int axis, am_site at);
#define am_batch_norm(x, g, b, mm, mv, eps, mom, fg, ugs, axis) \
    am_batch_norm_at((x), (g), (b), (mm), (mv), (eps), (mom), (fg), (ugs), (axis), AM_HERE)
/* [InstanceNorm] x (N, C, ...) with at least 3 axes, normalised over the axes
 * after C for each (n, c); gamma and beta have shape (C,). */
AM_API am_array *am_instance_norm_at(am_array *x, am_array *gamma, am_array *beta, double eps,
                                     am_site at);
#define am_instance_norm(x, g, b, eps) am_instance_norm_at((x), (g), (b), (eps), AM_HERE)
/* [GroupNorm] x (N, C, ...) with at least 3 axes; the C channels form
 * num_groups groups, each normalised over its channels and the remaining axes;
 * gamma and beta have shape (num_groups,) as in MXNet 1.x. */
AM_API am_array *am_group_norm_at(am_array *x, am_array *gamma, am_array *beta, int num_groups,
                                  double eps, am_site at);
#define am_group_norm(x, g, b, ng, eps) am_group_norm_at((x), (g), (b), (ng), (eps), AM_HERE)
/* [L2Normalization] x / sqrt(sum(x^2) + eps); mode "instance" sums over every
 * axis but the first, "channel" over axis 1, "spatial" over the axes after 1
 * (the last two need at least 3 axes); NULL means "instance". */
AM_API am_array *am_l2_normalization_at(am_array *x, double eps, const char *mode, am_site at);
#define am_l2_normalization(x, eps, mode) am_l2_normalization_at((x), (eps), (mode), AM_HERE)
/* ---- pooling (pool.c) ----------------------------------------------------- */
/* [Pooling] over the last nk axes of channel-first data (N, C, W), (N, C, H, W) or
 * (N, C, D, H, W).  pool_type "max", "avg", "sum" or "lp" (NULL: "max");
 * kernel, stride and pad hold nk entries (stride NULL: 1s, pad NULL: 0s);
 * global_pool pools whole planes and ignores kernel, stride and pad (nk may
 * be 0).  convention "valid" (floor), "full" (ceil) or "same" (1-D only, no
 * pad; NULL: "valid").  p_value is lp's p (1, 2, 3, ...; ignored otherwise);
 * count_include_pad makes avg divide by the padded window size (MXNet's
 * default, True).  Max pooling ignores NaN and gives the lowest finite value
 * for a window of padding only.  float32 and float64.  AM_ERR_SHAPE (kernel
 * larger than the padded data, wrong rank), AM_ERR_ARG (bad names, missing
 * kernel, lp without p_value), AM_ERR_UNSUPPORTED ("same" beyond 1-D),
 * AM_ERR_DTYPE. */
AM_API am_array *am_pooling_at(am_array *x, const char *pool_type, const int64_t *kernel,
                               const int64_t *stride, const int64_t *pad, int nk,
                               bool global_pool, const char *convention, int p_value,
                               bool count_include_pad, am_site at);
#define am_pooling(x, type, k, s, p, nk, global, conv, p_value, include_pad) \
    am_pooling_at((x), (type), (k), (s), (p), (nk), (global), (conv), (p_value), \
                  (include_pad), AM_HERE)
/* [UpSampling] nearest neighbour: (N, C, H, W) -> (N, C, H * scale, W * scale). */
AM_API am_array *am_upsampling_at(am_array *x, int64_t scale, am_site at);
#define am_upsampling(x, scale) am_upsampling_at((x), (scale), AM_HERE)
/* [UpSampling] nearest neighbour over n inputs: each is brought to the first's
 * size * scale (a whole multiple of its own size) and the results are
 * concatenated along channels (multi_input_mode "concat", or NULL) or summed
 * ("sum": equal channels).  AM_ERR_SHAPE when a size does not divide. */
AM_API am_array *am_upsampling_multi_at(am_array *const *xs, int n, int64_t scale,
                                        const char *multi_input_mode, am_site at);
#define am_upsampling_multi(xs, n, scale, mode) \
    am_upsampling_multi_at((xs), (n), (scale), (mode), AM_HERE)
/* [UpSampling] sample_type "bilinear": a depthwise transposed convolution of
 * x (N, C, H, W) with weight (C, 1, K, K), K = 2 * scale - scale % 2, stride
 * scale and pad ceil((scale - 1) / 2), giving (N, C, H * scale, W * scale). */
AM_API am_array *am_upsampling_bilinear_at(am_array *x, am_array *weight, int64_t scale,
                                           am_site at);
#define am_upsampling_bilinear(x, w, scale) am_upsampling_bilinear_at((x), (w), (scale), AM_HERE)
/* ---- recurrent (rnn.c) ---------------------------------------------------------- */
/* [RNN] A fused stack of num_layers recurrent layers (MXNet's RNN op, CPU).  mode is
 * "rnn_relu", "rnn_tanh", "lstm" or "gru"; data (T, N, I) in TNC layout; params one 1-D
 * vector in MXNet's packed layout (every layer's and direction's W_i2h (G*H, in) and W_h2h
 * (G*H, H) first, then their b_i2h and b_h2h; gates i, f, g, o for lstm and r, z, n for
 * gru; see ndarray/ops/rnn.c); state (and state_cell, lstm only, else NULL) (L*D, N, H)
 * with D = 2 when bidirectional.  Fills out with new references (current scope):
 * out[0] = output (T, N, D*H), and with state_outputs out[1] = final state (L*D, N, H)
 * and, for lstm, out[2] = final cell state; out must hold 3 pointers.  Returns the
 * status: AM_ERR_SHAPE (naming the expected parameter count), AM_ERR_DTYPE, AM_ERR_ARG
 * (bad mode, missing state_cell). */
AM_API am_status am_rnn_at(am_array *data, am_array *params, am_array *state,
                           am_array *state_cell, const char *mode, int64_t state_size,
                           int64_t num_layers, bool bidirectional, bool state_outputs,
                           am_array **out, am_site at);
#define am_rnn(d, p, s, c, mode, h, l, bi, so, out) \
    am_rnn_at((d), (p), (s), (c), (mode), (h), (l), (bi), (so), (out), AM_HERE)
/* ---- convolution ----------------------------------------------------------- */
/* [Convolution] 1-D on (N, C, W) (nk = 1), 2-D on (N, C, H, W) (nk = 2) or 3-D
 * on (N, C, D, H, W) (nk = 3).  kernel, stride, pad and dilate have nk entries; stride and dilate NULL mean
 * 1s, pad NULL means 0s.  weight is (num_filter, C / num_group, kernel...);
 * bias (num_filter,), or NULL for no_bias.  float32 and float64. */
AM_API am_array *am_convolution_at(am_array *x, am_array *weight, am_array *bias, int nk,
                                   const int64_t *kernel, const int64_t *stride,
                                   const int64_t *pad, const int64_t *dilate,
                                   int64_t num_filter, int64_t num_group, am_site at);
#define am_convolution(x, w, b, nk, k, s, p, d, nf, ng) \
    am_convolution_at((x), (w), (b), (nk), (k), (s), (p), (d), (nf), (ng), AM_HERE)
/* [Deconvolution] the transpose of Convolution: weight is (C, num_filter /
 * num_group, kernel...); the output is stride * (in - 1) + dilated kernel -
 * 2 pad + adj per dimension, or target_shape (which then sets pad and adj);
 * adj and target_shape NULL mean none.  bias NULL means no_bias. */
AM_API am_array *am_deconvolution_at(am_array *x, am_array *weight, am_array *bias, int nk,
                                     const int64_t *kernel, const int64_t *stride,
                                     const int64_t *pad, const int64_t *dilate,
                                     const int64_t *adj, const int64_t *target_shape,
                                     int64_t num_filter, int64_t num_group, am_site at);
#define am_deconvolution(x, w, b, nk, k, s, p, d, adj, ts, nf, ng) \
    am_deconvolution_at((x), (w), (b), (nk), (k), (s), (p), (d), (adj), (ts), (nf), (ng), \
                        AM_HERE)

/* ---- optimizer updates ------------------------------------------------------ */
/* MXNet's update ops.  Each returns the new weight (a new reference) and updates
 * its state arrays (mom, mean, var, n, g, delta, history) in place; weight,
 * grad and the states share one shape and dtype (float32 or float64).
 * clip_gradient and clip_weights < 0 mean no clipping.  See docs/training.md. */
/* [sgd_update] (1 - lr wd) w - lr clip(rescale_grad grad). */
AM_API am_array *am_sgd_update_at(am_array *weight, am_array *grad, double lr, double wd,
                                  double rescale_grad, double clip_gradient, am_site at);
#define am_sgd_update(w, g, lr, wd, rg, cg) \
    am_sgd_update_at((w), (g), (lr), (wd), (rg), (cg), AM_HERE)
/* [sgd_mom_update] mom = momentum mom - lr wd w - lr clip(rescale_grad grad); w + mom. */
AM_API am_array *am_sgd_mom_update_at(am_array *weight, am_array *grad, am_array *mom, double lr,
                                      double momentum, double wd, double rescale_grad,
                                      double clip_gradient, am_site at);
#define am_sgd_mom_update(w, g, m, lr, mo, wd, rg, cg) \
    am_sgd_mom_update_at((w), (g), (m), (lr), (mo), (wd), (rg), (cg), AM_HERE)
/* [nag_mom_update] Nesterov momentum (MXNet 1.9's rule). */
AM_API am_array *am_nag_mom_update_at(am_array *weight, am_array *grad, am_array *mom, double lr,
                                      double momentum, double wd, double rescale_grad,
                                      double clip_gradient, am_site at);
#define am_nag_mom_update(w, g, m, lr, mo, wd, rg, cg) \
    am_nag_mom_update_at((w), (g), (m), (lr), (mo), (wd), (rg), (cg), AM_HERE)
/* [adam_update] Adam without bias correction (fold it into lr, as MXNet's Adam does). */
AM_API am_array *am_adam_update_at(am_array *weight, am_array *grad, am_array *mean,
                                   am_array *var, double lr, double beta1, double beta2,
                                   double epsilon, double wd, double rescale_grad,
                                   double clip_gradient, am_site at);
#define am_adam_update(w, g, m, v, lr, b1, b2, eps, wd, rg, cg) \
    am_adam_update_at((w), (g), (m), (v), (lr), (b1), (b2), (eps), (wd), (rg), (cg), AM_HERE)
/* [rmsprop_update] RMSProp (Tieleman & Hinton); n is the state. */
AM_API am_array *am_rmsprop_update_at(am_array *weight, am_array *grad, am_array *n, double lr,
                                      double gamma1, double epsilon, double wd,
                                      double rescale_grad, double clip_gradient,
                                      double clip_weights, am_site at);
#define am_rmsprop_update(w, gr, n, lr, g1, eps, wd, rg, cg, cw) \
    am_rmsprop_update_at((w), (gr), (n), (lr), (g1), (eps), (wd), (rg), (cg), (cw), AM_HERE)
/* [rmspropalex_update] RMSProp (Graves); n, g and delta are the states. */
AM_API am_array *am_rmspropalex_update_at(am_array *weight, am_array *grad, am_array *n,
                                          am_array *g, am_array *delta, double lr, double gamma1,
                                          double gamma2, double epsilon, double wd,
                                          double rescale_grad, double clip_gradient,
                                          double clip_weights, am_site at);
#define am_rmspropalex_update(w, gr, n, g, d, lr, g1, g2, eps, wd, rg, cg, cw)                  \
    am_rmspropalex_update_at((w), (gr), (n), (g), (d), (lr), (g1), (g2), (eps), (wd), (rg), (cg), \
                             (cw), AM_HERE)
/* [_sparse_adagrad_update] (alias adagrad_update) AdaGrad; history is the state. */
AM_API am_array *am_adagrad_update_at(am_array *weight, am_array *grad, am_array *history,
                                      double lr, double epsilon, double wd, double rescale_grad,
                                      double clip_gradient, am_site at);
#define am_adagrad_update(w, g, h, lr, eps, wd, rg, cg) \
    am_adagrad_update_at((w), (g), (h), (lr), (eps), (wd), (rg), (cg), AM_HERE)
/* [_adamw_update] (alias _contrib_adamw_update) AdamW; rescale_grad is an array
 * of one element, and 0, inf or nan there skips the step. */
AM_API am_array *am_adamw_update_at(am_array *weight, am_array *grad, am_array *mean,
                                    am_array *var, am_array *rescale_grad, double lr,
                                    double beta1, double beta2, double epsilon, double wd,
                                    double eta, double clip_gradient, am_site at);
#define am_adamw_update(w, g, m, v, rg, lr, b1, b2, eps, wd, eta, cg) \
    am_adamw_update_at((w), (g), (m), (v), (rg), (lr), (b1), (b2), (eps), (wd), (eta), (cg), \
                       AM_HERE)
/* [lamb_update_phase1] returns LAMB's direction g (not a weight); t counts from 1. */
AM_API am_array *am_lamb_update_phase1_at(am_array *weight, am_array *grad, am_array *mean,
                                          am_array *var, double beta1, double beta2,
                                          double epsilon, int64_t t, bool bias_correction,
                                          double wd, double rescale_grad, double clip_gradient,
                                          am_site at);
#define am_lamb_update_phase1(w, g, m, v, b1, b2, eps, t, bc, wd, rg, cg) \
    am_lamb_update_phase1_at((w), (g), (m), (v), (b1), (b2), (eps), (t), (bc), (wd), (rg), (cg), \
                             AM_HERE)
/* [lamb_update_phase2] w - lr (r1 / r2) g; r1 = ||w||, r2 = ||g|| as one-element arrays;
 * bounds < 0 mean none. */
AM_API am_array *am_lamb_update_phase2_at(am_array *weight, am_array *g, am_array *r1,
                                          am_array *r2, double lr, double lower_bound,
                                          double upper_bound, am_site at);
#define am_lamb_update_phase2(w, g, r1, r2, lr, lb, ub) \
    am_lamb_update_phase2_at((w), (g), (r1), (r2), (lr), (lb), (ub), AM_HERE)


/* ---- Module-era output ops (ndarray/ops/output.c) -----------------------------------
 * Their gradient ignores the head gradient (AM_OP_LOSS), as in MXNet 1.9.1: it
 * is the training signal of the loss each op stands for.  The label is read
 * only by that gradient.  Other attributes (ignore_label, multi_output, ...)
 * through am_invoke. */
/* [SoftmaxOutput] (alias Softmax); normalization "null", "batch", "valid" (NULL: "null"). */
AM_API am_array *am_softmax_output_at(am_array *data, am_array *label, double grad_scale,
                                      const char *normalization, am_site at);
#define am_softmax_output(d, l, gs, norm) am_softmax_output_at((d), (l), (gs), (norm), AM_HERE)
/* [LinearRegressionOutput], [LogisticRegressionOutput], [MAERegressionOutput] */
AM_API am_array *am_linear_regression_output_at(am_array *data, am_array *label,
                                                double grad_scale, am_site at);
AM_API am_array *am_logistic_regression_output_at(am_array *data, am_array *label,
                                                  double grad_scale, am_site at);
AM_API am_array *am_mae_regression_output_at(am_array *data, am_array *label,
                                             double grad_scale, am_site at);
#define am_linear_regression_output(d, l, gs) am_linear_regression_output_at((d), (l), (gs), AM_HERE)
#define am_logistic_regression_output(d, l, gs) \
    am_logistic_regression_output_at((d), (l), (gs), AM_HERE)
#define am_mae_regression_output(d, l, gs) am_mae_regression_output_at((d), (l), (gs), AM_HERE)
/* [SVMOutput] */
AM_API am_array *am_svm_output_at(am_array *data, am_array *label, double margin,
                                  double regularization_coefficient, bool use_linear, am_site at);
#define am_svm_output(d, l, m, rc, lin) am_svm_output_at((d), (l), (m), (rc), (lin), AM_HERE)
/* [MakeLoss]; the attribute-less make_loss is reached through am_invoke. */
AM_API am_array *am_make_loss_at(am_array *data, double grad_scale, double valid_thresh,
                                 const char *normalization, am_site at);
#define am_make_loss(d, gs, vt, norm) am_make_loss_at((d), (gs), (vt), (norm), AM_HERE)
/* [SoftmaxActivation] mode channel (true) or instance (false). */
AM_API am_array *am_softmax_activation_at(am_array *data, bool channel, am_site at);
#define am_softmax_activation(d, ch) am_softmax_activation_at((d), (ch), AM_HERE)
/* [softmax_cross_entropy] data (n, k), label (n,): sum of -log softmax(data)[label], shape
 * (1,); an ordinary gradient (times the head gradient); a label outside [0, k) is AM_ERR_ARG. */
AM_API am_array *am_softmax_cross_entropy_at(am_array *data, am_array *label, am_site at);
#define am_softmax_cross_entropy(d, l) am_softmax_cross_entropy_at((d), (l), AM_HERE)

/* ---- detection boxes (ndarray/ops/boxes.c, docs/detection.md) -------------------- */
/* [_contrib_box_iou] IoU of every box of lhs (..., 4) with every box of rhs (..., 4);
 * format "corner" (NULL) or "center". */
AM_API am_array *am_box_iou_at(am_array *lhs, am_array *rhs, const char *format, am_site at);
#define am_box_iou(l, r, fmt) am_box_iou_at((l), (r), (fmt), AM_HERE)
/* [_contrib_box_nms] rows (..., N, W) of [id,] score, 4 corner coordinates (MXNet's
 * defaults for coord_start, score_index, formats); other attributes through am_invoke. */
AM_API am_array *am_box_nms_at(am_array *data, double overlap_thresh, double valid_thresh,
                               int64_t topk, int64_t id_index, bool force_suppress, am_site at);
#define am_box_nms(d, ot, vt, k, id, fs) am_box_nms_at((d), (ot), (vt), (k), (id), (fs), AM_HERE)
/* [_contrib_bipartite_matching] out[0] = row matches (..., R), out[1] = column
 * matches (..., C); out must hold 2 pointers. */
AM_API am_status am_bipartite_matching_at(am_array *data, double threshold, bool is_ascend,
                                          int64_t topk, am_array **out, am_site at);
#define am_bipartite_matching(d, th, asc, k, out) \
    am_bipartite_matching_at((d), (th), (asc), (k), (out), AM_HERE)
/* [_contrib_box_encode] out[0] = targets, out[1] = masks (B, N, 4). */
AM_API am_status am_box_encode_at(am_array *samples, am_array *matches, am_array *anchors,
                                  am_array *refs, am_array *means, am_array *stds,
                                  am_array **out, am_site at);
#define am_box_encode(s, m, a, r, mean, sd, out) \
    am_box_encode_at((s), (m), (a), (r), (mean), (sd), (out), AM_HERE)
/* [_contrib_box_decode] std holds std0..std3; format of the anchors, "center" (NULL). */
AM_API am_array *am_box_decode_at(am_array *data, am_array *anchors, const double std[4],
                                  double clip, const char *format, am_site at);
#define am_box_decode(d, a, sd, clip, fmt) am_box_decode_at((d), (a), (sd), (clip), (fmt), AM_HERE)

/* [_contrib_MultiBoxPrior] anchors for data (N, C, H, W); sizes and ratios as MXNet
 * writes them ("(0.5, 0.25)"; NULL: "(1,)"); steps and offsets through am_invoke. */
AM_API am_array *am_multibox_prior_at(am_array *data, const char *sizes, const char *ratios,
                                      bool clip, am_site at);
#define am_multibox_prior(d, s, r, clip) am_multibox_prior_at((d), (s), (r), (clip), AM_HERE)
/* [_contrib_MultiBoxDetection] clip and variances at MXNet's defaults. */
AM_API am_array *am_multibox_detection_at(am_array *cls_prob, am_array *loc_pred,
                                          am_array *anchor, double threshold,
                                          double nms_threshold, int64_t nms_topk,
                                          bool force_suppress, am_site at);
#define am_multibox_detection(c, l, a, th, nms, k, fs) \
    am_multibox_detection_at((c), (l), (a), (th), (nms), (k), (fs), AM_HERE)

/* [_contrib_MultiBoxTarget] out[0] = loc_target (B, N*4), out[1] = loc_mask (B, N*4),
 * out[2] = cls_target (B, N); out must hold 3 pointers; other attributes at MXNet's
 * defaults (am_invoke for the rest). */
AM_API am_status am_multibox_target_at(am_array *anchor, am_array *label, am_array *cls_pred,
                                       double overlap_threshold, double negative_mining_ratio,
                                       am_array **out, am_site at);
#define am_multibox_target(a, l, c, ot, nmr, out) \
    am_multibox_target_at((a), (l), (c), (ot), (nmr), (out), AM_HERE)

/* [_contrib_ROIAlign] rois (R, 5) [batch, x1, y1, x2, y2] over data (N, C, H, W) into
 * (R, C, pooled_h, pooled_w); position_sensitive through am_invoke. */
AM_API am_array *am_roi_align_at(am_array *data, am_array *rois, int64_t pooled_h,
                                 int64_t pooled_w, double spatial_scale, int64_t sample_ratio,
                                 bool aligned, am_site at);
#define am_roi_align(d, r, ph, pw, scale, sr, al) \
    am_roi_align_at((d), (r), (ph), (pw), (scale), (sr), (al), AM_HERE)

/* [GridGenerator] transform_type "affine" (data (N, 6), grid height x width) or "warp"
 * (data (N, 2, H, W) a flow in pixels; height and width unused). */
AM_API am_array *am_grid_generator_at(am_array *data, const char *transform_type, int64_t height,
                                      int64_t width, am_site at);
#define am_grid_generator(d, t, h, w) am_grid_generator_at((d), (t), (h), (w), AM_HERE)
/* [BilinearSampler] data (N, C, H, W) at grid (N, 2, H', W') of (x, y) in [-1, 1]. */
AM_API am_array *am_bilinear_sampler_at(am_array *data, am_array *grid, am_site at);
#define am_bilinear_sampler(d, g) am_bilinear_sampler_at((d), (g), AM_HERE)
/* [SpatialTransformer] affine loc (N, 6), bilinear sampling, output height x width. */
AM_API am_array *am_spatial_transformer_at(am_array *data, am_array *loc, int64_t height,
                                           int64_t width, am_site at);
#define am_spatial_transformer(d, l, h, w) am_spatial_transformer_at((d), (l), (h), (w), AM_HERE)

/* [Correlation] FlowNet's correlation of data1 and data2 (N, C, H, W). */
AM_API am_array *am_correlation_at(am_array *data1, am_array *data2, int64_t kernel_size,
                                   int64_t max_displacement, int64_t stride1, int64_t stride2,
                                   int64_t pad_size, bool is_multiply, am_site at);
#define am_correlation(a, b, k, md, s1, s2, pad, mul) \
    am_correlation_at((a), (b), (k), (md), (s1), (s2), (pad), (mul), AM_HERE)

#ifdef __cplusplus
}
#endif
#endif /* AMBER_OPS_H */
