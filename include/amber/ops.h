/* One C function per operator.  Each is registered under MXNet's name (in
 * brackets) and takes MXNet's attributes as typed arguments. */
#ifndef AMBER_OPS_H
#define AMBER_OPS_H

/* Example (runs):
 *
 *     am_array *x = am_ones(AM_SHAPE(8, 100), AM_DTYPE_FLOAT32);
 *     am_array *w = am_ones(AM_SHAPE(256, 100), AM_DTYPE_FLOAT32);
 *     am_array *b = am_zeros(AM_SHAPE(256), AM_DTYPE_FLOAT32);
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

/* More update ops (ndarray/ops/optimizer2.c; docs/training.md, "More update ops").  The mp_*
 * forms update weight32 in place and return it as the new weight; weight and weight32 share
 * one dtype until float16 exists.  Each returns a new reference, or NULL with the error. */
/* [signsgd_update] (1 - lr wd) w - lr sign(grad). */
AM_API am_array *am_signsgd_update_at(am_array *weight, am_array *grad, double lr, double wd,
                                      am_site at);
#define am_signsgd_update(w, g, lr, wd) am_signsgd_update_at((w), (g), (lr), (wd), AM_HERE)
/* [signum_update] Signum; mom is the state. */
AM_API am_array *am_signum_update_at(am_array *weight, am_array *grad, am_array *mom, double lr,
                                     double momentum, double wd, double rescale_grad,
                                     double clip_gradient, double wd_lh, am_site at);
#define am_signum_update(w, g, m, lr, mo, wd, rg, cg, lh) \
    am_signum_update_at((w), (g), (m), (lr), (mo), (wd), (rg), (cg), (lh), AM_HERE)
/* [ftml_update] FTML; d, v, z are the states; t counts from 1. */
AM_API am_array *am_ftml_update_at(am_array *weight, am_array *grad, am_array *d, am_array *v,
                                   am_array *z, double lr, double beta1, double beta2,
                                   double epsilon, int64_t t, double wd, double rescale_grad,
                                   double clip_grad, am_site at);
#define am_ftml_update(w, g, d, v, z, lr, b1, b2, eps, t, wd, rg, cg) \
    am_ftml_update_at((w), (g), (d), (v), (z), (lr), (b1), (b2), (eps), (t), (wd), (rg), (cg), \
                      AM_HERE)
/* [ftrl_update] FTRL; z and n are the states. */
AM_API am_array *am_ftrl_update_at(am_array *weight, am_array *grad, am_array *z, am_array *n,
                                   double lr, double lamda1, double beta, double wd,
                                   double rescale_grad, double clip_gradient, am_site at);
#define am_ftrl_update(w, g, z, n, lr, l1, beta, wd, rg, cg) \
    am_ftrl_update_at((w), (g), (z), (n), (lr), (l1), (beta), (wd), (rg), (cg), AM_HERE)
/* [_contrib_group_adagrad_update] history holds one value per row of weight. */
AM_API am_array *am_group_adagrad_update_at(am_array *weight, am_array *grad, am_array *history,
                                            double lr, double epsilon, double rescale_grad,
                                            double clip_gradient, am_site at);
#define am_group_adagrad_update(w, g, h, lr, eps, rg, cg) \
    am_group_adagrad_update_at((w), (g), (h), (lr), (eps), (rg), (cg), AM_HERE)
/* [mp_sgd_update] sgd_update on weight32. */
AM_API am_array *am_mp_sgd_update_at(am_array *weight, am_array *grad, am_array *weight32,
                                     double lr, double wd, double rescale_grad,
                                     double clip_gradient, am_site at);
#define am_mp_sgd_update(w, g, w32, lr, wd, rg, cg) \
    am_mp_sgd_update_at((w), (g), (w32), (lr), (wd), (rg), (cg), AM_HERE)
/* [mp_sgd_mom_update] sgd_mom_update on weight32. */
AM_API am_array *am_mp_sgd_mom_update_at(am_array *weight, am_array *grad, am_array *mom,
                                         am_array *weight32, double lr, double momentum,
                                         double wd, double rescale_grad, double clip_gradient,
                                         am_site at);
#define am_mp_sgd_mom_update(w, g, m, w32, lr, mo, wd, rg, cg) \
    am_mp_sgd_mom_update_at((w), (g), (m), (w32), (lr), (mo), (wd), (rg), (cg), AM_HERE)
/* [mp_nag_mom_update] Nesterov momentum on weight32, in MXNet's order. */
AM_API am_array *am_mp_nag_mom_update_at(am_array *weight, am_array *grad, am_array *mom,
                                         am_array *weight32, double lr, double momentum,
                                         double wd, double rescale_grad, double clip_gradient,
                                         am_site at);
#define am_mp_nag_mom_update(w, g, m, w32, lr, mo, wd, rg, cg) \
    am_mp_nag_mom_update_at((w), (g), (m), (w32), (lr), (mo), (wd), (rg), (cg), AM_HERE)
/* [mp_adamw_update] (alias _contrib_mp_adamw_update) _adamw_update on weight32. */
AM_API am_array *am_mp_adamw_update_at(am_array *weight, am_array *grad, am_array *mean,
                                       am_array *var, am_array *weight32,
                                       am_array *rescale_grad, double lr, double beta1,
                                       double beta2, double epsilon, double wd, double eta,
                                       double clip_gradient, am_site at);
#define am_mp_adamw_update(w, g, m, v, w32, rg, lr, b1, b2, eps, wd, eta, cg)                   \
    am_mp_adamw_update_at((w), (g), (m), (v), (w32), (rg), (lr), (b1), (b2), (eps), (wd), (eta), \
                          (cg), AM_HERE)
/* [multi_sgd_update] sgd_update of n weights (n <= 16); out receives n new references. */
AM_API am_status am_multi_sgd_update_at(am_array *const *weights, am_array *const *grads, int n,
                                        const double *lrs, const double *wds,
                                        double rescale_grad, double clip_gradient,
                                        am_array **out, am_site at);
#define am_multi_sgd_update(w, g, n, lrs, wds, rg, cg, out) \
    am_multi_sgd_update_at((w), (g), (n), (lrs), (wds), (rg), (cg), (out), AM_HERE)
/* [multi_sgd_mom_update] sgd_mom_update of n weights (n <= 16); moms change in place. */
AM_API am_status am_multi_sgd_mom_update_at(am_array *const *weights, am_array *const *grads,
                                            am_array *const *moms, int n, const double *lrs,
                                            const double *wds, double momentum,
                                            double rescale_grad, double clip_gradient,
                                            am_array **out, am_site at);
#define am_multi_sgd_mom_update(w, g, m, n, lrs, wds, mo, rg, cg, out) \
    am_multi_sgd_mom_update_at((w), (g), (m), (n), (lrs), (wds), (mo), (rg), (cg), (out), AM_HERE)
/* [multi_sum_sq] float32 (n,) of each array's sum of squares. */
AM_API am_array *am_multi_sum_sq_at(am_array *const *arrays, int n, am_site at);
#define am_multi_sum_sq(a, n) am_multi_sum_sq_at((a), (n), AM_HERE)
/* [multi_all_finite] float32 (1,): 1 when every element of the n arrays is finite, else 0.
 * [all_finite] is the one-array form. */
AM_API am_array *am_multi_all_finite_at(am_array *const *arrays, int n, am_site at);
#define am_multi_all_finite(a, n) am_multi_all_finite_at((a), (n), AM_HERE)
/* [multi_lars] LARS learning rates from the sums of squares; see docs/training.md. */
AM_API am_array *am_multi_lars_at(am_array *lrs, am_array *weights_sum_sq,
                                  am_array *grads_sum_sq, am_array *wds, double eta, double eps,
                                  double rescale_grad, am_site at);
#define am_multi_lars(l, ws, gs, wd, eta, eps, rg) \
    am_multi_lars_at((l), (ws), (gs), (wd), (eta), (eps), (rg), AM_HERE)


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
/* ---- ordering [topk, sort, argsort, reverse] ----------------------------- */
/* [topk] the k largest (is_ascend: smallest) along axis (AM_NONE: flattened);
 * k < 1 keeps all.  ret_typ "value", "indices" (in dtype), "mask" (0/1 in data's
 * shape) or "both" (out[0] values, out[1] indices).  Fills out with 1 or 2 new
 * references; ties come out in MXNet's CPU order. */
AM_API am_status am_topk_at(am_array *x, int64_t axis, int64_t k, const char *ret_typ,
                            bool is_ascend, am_dtype dtype, am_array **out, am_site at);
#define am_topk(x, axis, k, ret, asc, out) \
    am_topk_at((x), (axis), (k), (ret), (asc), AM_DTYPE_FLOAT32, (out), AM_HERE)
/* [sort] along axis (AM_NONE: flattened). */
AM_API am_array *am_sort_at(am_array *x, int64_t axis, bool is_ascend, am_site at);
#define am_sort(x, axis, asc) am_sort_at((x), (axis), (asc), AM_HERE)
/* [argsort] indices in dtype that sort x along axis (AM_NONE: flattened). */
AM_API am_array *am_argsort_at(am_array *x, int64_t axis, bool is_ascend, am_dtype dtype,
                               am_site at);
#define am_argsort(x, axis, asc) am_argsort_at((x), (axis), (asc), AM_DTYPE_FLOAT32, AM_HERE)
/* [reverse] (alias flip) reverses the listed axes. */
AM_API am_array *am_reverse_at(am_array *x, const int *axes, int naxes, am_site at);
#define am_reverse(x, axes, n) am_reverse_at((x), (axes), (n), AM_HERE)
/* ---- sequences [SequenceMask, SequenceLast, SequenceReverse] ------------ */
/* x is (time, batch, ...) with axis 0 or (batch, time, ...) with axis 1; lens
 * (batch,) holds each sequence's length, or is NULL for full sequences. */
/* [SequenceMask] steps at or past each length set to value. */
AM_API am_array *am_sequence_mask_at(am_array *x, am_array *lens, int64_t axis, double value,
                                     am_site at);
#define am_sequence_mask(x, l, axis, v) am_sequence_mask_at((x), (l), (axis), (v), AM_HERE)
/* [SequenceLast] each sequence's last step: x without its time axis. */
AM_API am_array *am_sequence_last_at(am_array *x, am_array *lens, int64_t axis, am_site at);
#define am_sequence_last(x, l, axis) am_sequence_last_at((x), (l), (axis), AM_HERE)
/* [SequenceReverse] each sequence's first len steps reversed (time axis 0). */
AM_API am_array *am_sequence_reverse_at(am_array *x, am_array *lens, am_site at);
#define am_sequence_reverse(x, l) am_sequence_reverse_at((x), (l), AM_HERE)
/* [Pad] (alias pad) mode "constant", "edge" or "reflect" on the spatial axes of 4-D
 * or 5-D float x; pad_width holds n = 2 * ndim entries, (before, after) per axis,
 * the first four 0. */
AM_API am_array *am_pad_at(am_array *x, const char *mode, const int64_t *pad_width, int n,
                           double constant_value, am_site at);
#define am_pad(x, mode, w, n, c) am_pad_at((x), (mode), (w), (n), (c), AM_HERE)
/* [broadcast_like] lhs broadcast to rhs's shape (naxes 0), or its lhs_axes to the
 * sizes of rhs's rhs_axes. */
AM_API am_array *am_broadcast_like_at(am_array *lhs, am_array *rhs, const int *lhs_axes,
                                      const int *rhs_axes, int naxes, am_site at);
#define am_broadcast_like(l, r) am_broadcast_like_at((l), (r), NULL, NULL, 0, AM_HERE)
/* [broadcast_axis] (alias broadcast_axes) the listed size-1 axes grown to sizes. */
AM_API am_array *am_broadcast_axis_at(am_array *x, const int *axes, const int64_t *sizes,
                                      int naxes, am_site at);
#define am_broadcast_axis(x, ax, sz, n) am_broadcast_axis_at((x), (ax), (sz), (n), AM_HERE)
/* [slice_like] x's leading part with like's sizes on axes (naxes 0: every axis). */
AM_API am_array *am_slice_like_at(am_array *x, am_array *like, const int *axes, int naxes,
                                  am_site at);
#define am_slice_like(x, l, ax, n) am_slice_like_at((x), (l), (ax), (n), AM_HERE)
/* [gather_nd] data at the coordinates in indices' columns: indices (M, Y...) gives
 * a result Y + data.shape[M:]; indices of any dtype, negative ones from the end. */
AM_API am_array *am_gather_nd_at(am_array *data, am_array *indices, am_site at);
#define am_gather_nd(d, i) am_gather_nd_at((d), (i), AM_HERE)
/* [scatter_nd] zeros of shape with data's blocks at indices' columns. */
AM_API am_array *am_scatter_nd_at(am_array *data, am_array *indices, am_shape shape, am_site at);
#define am_scatter_nd(d, i, s) am_scatter_nd_at((d), (i), (s), AM_HERE)
/* [depth_to_space, space_to_depth] NCHW blocks of block_size between channels and space. */
AM_API am_array *am_depth_to_space_at(am_array *x, int64_t block_size, am_site at);
AM_API am_array *am_space_to_depth_at(am_array *x, int64_t block_size, am_site at);
#define am_depth_to_space(x, b) am_depth_to_space_at((x), (b), AM_HERE)
#define am_space_to_depth(x, b) am_space_to_depth_at((x), (b), AM_HERE)
/* [diag] diagonal k of axes (axis1, axis2); a vector gives a square matrix. */
AM_API am_array *am_diag_at(am_array *x, int64_t k, int axis1, int axis2, am_site at);
#define am_diag(x, k) am_diag_at((x), (k), 0, 1, AM_HERE)
/* [Crop] NCHW x cropped to h_w (like NULL) or to like's last two sizes, at offset
 * (y, x) or centred; offset and h_w hold 2 entries or are NULL (zeros). */
AM_API am_array *am_crop_at(am_array *x, am_array *like, const int64_t *offset,
                            const int64_t *h_w, bool center_crop, am_site at);
/* [nansum, nanprod] over axes (NULL: all), NaN counted as 0 and 1. */
/* ---- more elementwise math (ndarray/ops/math.c) -------------------------- */
/* [tan, arcsin, arccos, arctan, sinh, cosh, arcsinh, arccosh, arctanh, log2,
 *  log10, cbrt, rcbrt, degrees, radians, gamma, gammaln, erfinv] float32 and
 * float64 only; [trunc, fix, rint, logical_not] every dtype, no gradient.
 * rint is MXNet's: the lower integer at halves (1.5 -> 1, -1.5 -> -2). */
#define AM_MATH_UNARY_OPS(X) \
    X(tan) X(arcsin) X(arccos) X(arctan) X(sinh) X(cosh) X(arcsinh) X(arccosh) X(arctanh) \
    X(log2) X(log10) X(cbrt) X(rcbrt) X(degrees) X(radians) X(gamma) X(gammaln) X(erfinv) \
    X(trunc) X(fix) X(rint) X(logical_not)
#define AM_DECLARE_UNARY(n) AM_API am_array *am_##n##_at(am_array *x, am_site at);
AM_MATH_UNARY_OPS(AM_DECLARE_UNARY)
#undef AM_DECLARE_UNARY
#define am_tan(x)         am_tan_at((x), AM_HERE)
#define am_arcsin(x)      am_arcsin_at((x), AM_HERE)
#define am_arccos(x)      am_arccos_at((x), AM_HERE)
#define am_arctan(x)      am_arctan_at((x), AM_HERE)
#define am_sinh(x)        am_sinh_at((x), AM_HERE)
#define am_cosh(x)        am_cosh_at((x), AM_HERE)
#define am_arcsinh(x)     am_arcsinh_at((x), AM_HERE)
#define am_arccosh(x)     am_arccosh_at((x), AM_HERE)
#define am_arctanh(x)     am_arctanh_at((x), AM_HERE)
#define am_log2(x)        am_log2_at((x), AM_HERE)
#define am_log10(x)       am_log10_at((x), AM_HERE)
#define am_cbrt(x)        am_cbrt_at((x), AM_HERE)
#define am_rcbrt(x)       am_rcbrt_at((x), AM_HERE)
#define am_degrees(x)     am_degrees_at((x), AM_HERE)
#define am_radians(x)     am_radians_at((x), AM_HERE)
#define am_gamma(x)       am_gamma_at((x), AM_HERE)
#define am_gammaln(x)     am_gammaln_at((x), AM_HERE)
#define am_erfinv(x)      am_erfinv_at((x), AM_HERE)
#define am_trunc(x)       am_trunc_at((x), AM_HERE)
#define am_fix(x)         am_fix_at((x), AM_HERE)
#define am_rint(x)        am_rint_at((x), AM_HERE)
#define am_logical_not(x) am_logical_not_at((x), AM_HERE)
/* [_maximum, _minimum, _power, _mod, _hypot, _equal, _not_equal, _greater,
 *  _greater_equal, _lesser, _lesser_equal, _logical_and, _logical_or,
 *  _logical_xor] (aliases _Maximum ... _Logical_Xor) as am_elemwise_<name>:
 * equal shapes, as MXNet's _-prefixed forms; [broadcast_hypot,
 * broadcast_logical_and, broadcast_logical_or, broadcast_logical_xor] NumPy
 * broadcasting.  Comparisons and logical ops give 0/1 in the input dtype. */
#define AM_BINARY_OPS2(X) \
    X(elemwise_maximum) X(elemwise_minimum) X(elemwise_power) X(elemwise_mod) \
    X(elemwise_hypot) X(elemwise_equal) X(elemwise_not_equal) X(elemwise_greater) \
    X(elemwise_greater_equal) X(elemwise_lesser) X(elemwise_lesser_equal) \
    X(elemwise_logical_and) X(elemwise_logical_or) X(elemwise_logical_xor) \
    X(broadcast_hypot) X(broadcast_logical_and) X(broadcast_logical_or) \
    X(broadcast_logical_xor)
#define AM_DECLARE_BINARY(n) AM_API am_array *am_##n##_at(am_array *a, am_array *b, am_site at);
AM_BINARY_OPS2(AM_DECLARE_BINARY)
#undef AM_DECLARE_BINARY
#define am_elemwise_maximum(a, b)       am_elemwise_maximum_at((a), (b), AM_HERE)
#define am_elemwise_minimum(a, b)       am_elemwise_minimum_at((a), (b), AM_HERE)
#define am_elemwise_power(a, b)         am_elemwise_power_at((a), (b), AM_HERE)
#define am_elemwise_mod(a, b)           am_elemwise_mod_at((a), (b), AM_HERE)
#define am_elemwise_hypot(a, b)         am_elemwise_hypot_at((a), (b), AM_HERE)
#define am_elemwise_equal(a, b)         am_elemwise_equal_at((a), (b), AM_HERE)
#define am_elemwise_not_equal(a, b)     am_elemwise_not_equal_at((a), (b), AM_HERE)
#define am_elemwise_greater(a, b)       am_elemwise_greater_at((a), (b), AM_HERE)
#define am_elemwise_greater_equal(a, b) am_elemwise_greater_equal_at((a), (b), AM_HERE)
#define am_elemwise_lesser(a, b)        am_elemwise_lesser_at((a), (b), AM_HERE)
#define am_elemwise_lesser_equal(a, b)  am_elemwise_lesser_equal_at((a), (b), AM_HERE)
#define am_elemwise_logical_and(a, b)   am_elemwise_logical_and_at((a), (b), AM_HERE)
#define am_elemwise_logical_or(a, b)    am_elemwise_logical_or_at((a), (b), AM_HERE)
#define am_elemwise_logical_xor(a, b)   am_elemwise_logical_xor_at((a), (b), AM_HERE)
#define am_broadcast_hypot(a, b)        am_broadcast_hypot_at((a), (b), AM_HERE)
#define am_broadcast_logical_and(a, b)  am_broadcast_logical_and_at((a), (b), AM_HERE)
#define am_broadcast_logical_or(a, b)   am_broadcast_logical_or_at((a), (b), AM_HERE)
#define am_broadcast_logical_xor(a, b)  am_broadcast_logical_xor_at((a), (b), AM_HERE)
/* [_hypot_scalar, _logical_and_scalar, _logical_or_scalar, _logical_xor_scalar]
 * (aliases _HypotScalar, _LogicalAndScalar, ...) x OP s, in x's dtype. */
#define AM_SCALAR_OPS2(X) \
    X(hypot_scalar) X(logical_and_scalar) X(logical_or_scalar) X(logical_xor_scalar)
#define AM_DECLARE_SCALAR(n) AM_API am_array *am_##n##_at(am_array *x, double s, am_site at);
AM_SCALAR_OPS2(AM_DECLARE_SCALAR)
#undef AM_DECLARE_SCALAR
#define am_hypot_scalar(x, s)       am_hypot_scalar_at((x), (s), AM_HERE)
#define am_logical_and_scalar(x, s) am_logical_and_scalar_at((x), (s), AM_HERE)
#define am_logical_or_scalar(x, s)  am_logical_or_scalar_at((x), (s), AM_HERE)
#define am_logical_xor_scalar(x, s) am_logical_xor_scalar_at((x), (s), AM_HERE)
/* [hard_sigmoid] max(0, min(1, alpha x + beta)); MXNet's defaults are 0.2, 0.5. */
AM_API am_array *am_hard_sigmoid_at(am_array *x, double alpha, double beta, am_site at);
#define am_hard_sigmoid(x, a, b) am_hard_sigmoid_at((x), (a), (b), AM_HERE)
/* [smooth_l1] 0.5 (sigma x)^2 where |x| < 1/sigma^2, else |x| - 0.5/sigma^2. */
AM_API am_array *am_smooth_l1_at(am_array *x, double sigma, am_site at);
#define am_smooth_l1(x, s) am_smooth_l1_at((x), (s), AM_HERE)

/* [_contrib_round_ste, _contrib_sign_ste] round and sign forward, with the
 * output gradient passed through unchanged (straight-through estimators). */
AM_API am_array *am_round_ste_at(am_array *x, am_site at);
AM_API am_array *am_sign_ste_at(am_array *x, am_site at);
#define am_round_ste(x) am_round_ste_at((x), AM_HERE)
#define am_sign_ste(x)  am_sign_ste_at((x), AM_HERE)
/* [_contrib_gradientmultiplier] x forward; the gradient is scalar * og. */
AM_API am_array *am_gradientmultiplier_at(am_array *x, double scalar, am_site at);
#define am_gradientmultiplier(x, s) am_gradientmultiplier_at((x), (s), AM_HERE)
/* [_contrib_quadratic] a x^2 + b x + c. */
AM_API am_array *am_quadratic_at(am_array *x, double a, double b, double c, am_site at);
#define am_quadratic(x, a, b, c) am_quadratic_at((x), (a), (b), (c), AM_HERE)
/* [_identity_with_attr_like_rhs] lhs; rhs must have its shape and dtype. */
AM_API am_array *am_identity_with_attr_like_rhs_at(am_array *lhs, am_array *rhs, am_site at);
#define am_identity_with_attr_like_rhs(l, r) am_identity_with_attr_like_rhs_at((l), (r), AM_HERE)
/* [nansum, nanprod] sum and prod (as am_sum) with NaN counted as 0 and 1. */
AM_API am_array *am_nansum_at(am_array *x, const int *axes, int naxes, bool keepdims,
                              am_site at);
AM_API am_array *am_nanprod_at(am_array *x, const int *axes, int naxes, bool keepdims,
                               am_site at);
#define am_nansum(x, ax, n, k) am_nansum_at((x), (ax), (n), (k), AM_HERE)
#define am_nanprod(x, ax, n, k) am_nanprod_at((x), (ax), (n), (k), AM_HERE)
/* [argmax_channel] index of the largest element along axis 1, in x's dtype. */
AM_API am_array *am_argmax_channel_at(am_array *x, am_site at);
#define am_argmax_channel(x) am_argmax_channel_at((x), AM_HERE)
/* [_np_cumsum] (alias cumsum) running sums along axis (AM_NONE: flattened). */
AM_API am_array *am_cumsum_at(am_array *x, int64_t axis, am_site at);
#define am_cumsum(x, axis) am_cumsum_at((x), (axis), AM_HERE)
/* [shape_array, size_array] x's shape, and its size as (1,), in int64. */
AM_API am_array *am_shape_array_at(am_array *x, am_site at);
AM_API am_array *am_size_array_at(am_array *x, am_site at);
#define am_shape_array(x) am_shape_array_at((x), AM_HERE)
#define am_size_array(x) am_size_array_at((x), AM_HERE)
/* ---- attention (ndarray/ops/attention.c) and moments (moments.c) ---- */

/* [_contrib_interleaved_matmul_selfatt_qk] scores (batch * heads, L, L) = q k^T /
 * sqrt(head_dim) from qkv (L, batch, heads * 3 * head_dim), interleaved per head as
 * (q, k, v).  New reference; AM_ERR_SHAPE for a shape that does not split into heads. */
AM_API am_array *am_interleaved_matmul_selfatt_qk_at(am_array *qkv, int64_t heads, am_site at);
#define am_interleaved_matmul_selfatt_qk(qkv, h) \
    am_interleaved_matmul_selfatt_qk_at((qkv), (h), AM_HERE)
/* [_contrib_interleaved_matmul_selfatt_valatt] (L, batch, heads * head_dim) = attention v,
 * attention being (batch * heads, L, L). */
AM_API am_array *am_interleaved_matmul_selfatt_valatt_at(am_array *qkv, am_array *attention,
                                                         int64_t heads, am_site at);
#define am_interleaved_matmul_selfatt_valatt(qkv, att, h) \
    am_interleaved_matmul_selfatt_valatt_at((qkv), (att), (h), AM_HERE)
/* [_contrib_interleaved_matmul_encdec_qk] scores (batch * heads, Lq, Lk) from queries
 * (Lq, batch, heads * head_dim) and keys_values (Lk, batch, heads * 2 * head_dim), per head
 * (k, v). */
AM_API am_array *am_interleaved_matmul_encdec_qk_at(am_array *queries, am_array *keys_values,
                                                    int64_t heads, am_site at);
#define am_interleaved_matmul_encdec_qk(q, kv, h) \
    am_interleaved_matmul_encdec_qk_at((q), (kv), (h), AM_HERE)
/* [_contrib_interleaved_matmul_encdec_valatt] (Lq, batch, heads * head_dim) = attention v. */
AM_API am_array *am_interleaved_matmul_encdec_valatt_at(am_array *keys_values,
                                                        am_array *attention, int64_t heads,
                                                        am_site at);
#define am_interleaved_matmul_encdec_valatt(kv, att, h) \
    am_interleaved_matmul_encdec_valatt_at((kv), (att), (h), AM_HERE)
/* [_contrib_div_sqrt_dim] x / sqrt(x.shape[-1]). */
AM_API am_array *am_div_sqrt_dim_at(am_array *x, am_site at);
#define am_div_sqrt_dim(x) am_div_sqrt_dim_at((x), AM_HERE)
/* [_contrib_arange_like] start + floor(i / repeat) * step in x's shape and dtype, or as
 * long as axis *axis of x when axis is not NULL. */
AM_API am_array *am_arange_like_at(am_array *x, double start, double step, int64_t repeat,
                                   const int64_t *axis, am_site at);
#define am_arange_like(x, start, step, rep, axis) \
    am_arange_like_at((x), (start), (step), (rep), (axis), AM_HERE)
/* [moments] mean and population variance over naxes axes (at least one); *mean and *var
 * receive new references (NULL on failure). */
AM_API am_status am_moments_at(am_array *x, const int *axes, int naxes, bool keepdims,
                               am_array **mean, am_array **var, am_site at);
#define am_moments(x, ax, n, k, m, v) am_moments_at((x), (ax), (n), (k), (m), (v), AM_HERE)

/* ---- resizing (ndarray/ops/resize.c) ---- */

/* [_contrib_BilinearResize2D] NCHW x resized to (height, width) by bilinear interpolation;
 * align_corners as MXNet's attribute.  Other modes through am_invoke. */
AM_API am_array *am_bilinear_resize_2d_at(am_array *x, int64_t height, int64_t width,
                                          bool align_corners, am_site at);
#define am_bilinear_resize_2d(x, h, w, ac) am_bilinear_resize_2d_at((x), (h), (w), (ac), AM_HERE)
/* [_contrib_AdaptiveAvgPooling2D] NCHW x average-pooled to (height, width). */
AM_API am_array *am_adaptive_avg_pooling_2d_at(am_array *x, int64_t height, int64_t width,
                                               am_site at);
#define am_adaptive_avg_pooling_2d(x, h, w) am_adaptive_avg_pooling_2d_at((x), (h), (w), AM_HERE)

/* ---- LRN, AMP casts and ROIPooling (lrn.c, amp.c, roi_pooling.c) ---- */

/* [LRN] x / (knorm + alpha / nsize * sum of x^2 over nsize channels)^beta; MXNet's
 * defaults are alpha 1e-4, beta 0.75, knorm 2. */
AM_API am_array *am_lrn_at(am_array *x, int64_t nsize, double alpha, double beta, double knorm,
                           am_site at);
#define am_lrn(x, n, a, b, k) am_lrn_at((x), (n), (a), (b), (k), AM_HERE)
/* [amp_cast] float32 x converted to dtype; other dtypes returned as a copy. */
AM_API am_array *am_amp_cast_at(am_array *x, am_dtype dtype, am_site at);
#define am_amp_cast(x, t) am_amp_cast_at((x), (t), AM_HERE)
/* [amp_multicast] n arrays cast to their widest (cast_narrow: narrowest) low-precision or
 * float32 dtype; out receives n new references. */
AM_API am_status am_amp_multicast_at(am_array *const *xs, int n, bool cast_narrow,
                                     am_array **out, am_site at);
#define am_amp_multicast(xs, n, narrow, out) am_amp_multicast_at((xs), (n), (narrow), (out), AM_HERE)
/* [ROIPooling] max pooling of each roi row [batch, x1, y1, x2, y2] of rois (R, 5) over
 * NCHW x to (R, C, pooled_h, pooled_w); spatial_scale in [0, 1]. */
AM_API am_array *am_roi_pooling_at(am_array *x, am_array *rois, int64_t pooled_h,
                                   int64_t pooled_w, double spatial_scale, am_site at);
#define am_roi_pooling(x, r, ph, pw, s) am_roi_pooling_at((x), (r), (ph), (pw), (s), AM_HERE)
/* [_eye] an n x m (m = 0: n x n) array with ones on diagonal k (> 0 above
 * the main one, < 0 below), zeros elsewhere. */
AM_API am_array *am_eye(int64_t n, int64_t m, int64_t k, am_dtype dtype);
/* [softmin] softmax(-x / T) along axis; temperature <= 0 means none. */
AM_API am_array *am_softmin_at(am_array *x, int axis, double temperature, am_site at);
#define am_softmin(x, a) am_softmin_at((x), (a), 0.0, AM_HERE)
/* ---- linalg ---------------------------------------------------------------
 * [_linalg_* (aliases linalg_*)] MXNet's linear algebra on the last two axes,
 * batched over the leading ones; float32 and float64 (docs/linalg.md).  A
 * matrix that is not positive definite (potrf), singular (inverse, potri) or
 * of the wrong shape is an error naming the op, the batch index and the
 * shapes.  gemm/gemm2 take the rows on axis (-2: the usual layout). */
AM_API am_array *am_linalg_gemm_at(am_array *a, am_array *b, am_array *c, bool transpose_a,
                                   bool transpose_b, double alpha, double beta, int axis,
                                   am_site at);
AM_API am_array *am_linalg_gemm2_at(am_array *a, am_array *b, bool transpose_a, bool transpose_b,
                                    double alpha, int axis, am_site at);
AM_API am_array *am_linalg_potrf_at(am_array *a, bool lower, am_site at);
AM_API am_array *am_linalg_potri_at(am_array *a, bool lower, am_site at);
AM_API am_array *am_linalg_trmm_at(am_array *a, am_array *b, bool transpose, bool rightside,
                                   bool lower, double alpha, am_site at);
AM_API am_array *am_linalg_trsm_at(am_array *a, am_array *b, bool transpose, bool rightside,
                                   bool lower, double alpha, am_site at);
AM_API am_array *am_linalg_sumlogdiag_at(am_array *a, am_site at);
AM_API am_array *am_linalg_syrk_at(am_array *a, bool transpose, double alpha, am_site at);
/* gelqf: *q and *l get new references (A = L Q); syevd: *u and *l (A = U^T diag(L) U). */
AM_API am_status am_linalg_gelqf_at(am_array *a, am_array **q, am_array **l, am_site at);
AM_API am_status am_linalg_syevd_at(am_array *a, am_array **u, am_array **l, am_site at);
AM_API am_array *am_linalg_inverse_at(am_array *a, am_site at);
AM_API am_array *am_linalg_det_at(am_array *a, am_site at);
AM_API am_status am_linalg_slogdet_at(am_array *a, am_array **sign, am_array **logabsdet,
                                      am_site at);
AM_API am_array *am_linalg_extractdiag_at(am_array *a, int offset, am_site at);
AM_API am_array *am_linalg_makediag_at(am_array *a, int offset, am_site at);
AM_API am_array *am_linalg_extracttrian_at(am_array *a, int offset, bool lower, am_site at);
AM_API am_array *am_linalg_maketrian_at(am_array *a, int offset, bool lower, am_site at);
#define am_linalg_gemm(a, b, c, ta, tb, al, be, ax) \
    am_linalg_gemm_at((a), (b), (c), (ta), (tb), (al), (be), (ax), AM_HERE)
#define am_linalg_gemm2(a, b, ta, tb, al, ax) \
    am_linalg_gemm2_at((a), (b), (ta), (tb), (al), (ax), AM_HERE)
#define am_linalg_potrf(a, lo) am_linalg_potrf_at((a), (lo), AM_HERE)
#define am_linalg_potri(a, lo) am_linalg_potri_at((a), (lo), AM_HERE)
#define am_linalg_trmm(a, b, t, r, lo, al) \
    am_linalg_trmm_at((a), (b), (t), (r), (lo), (al), AM_HERE)
#define am_linalg_trsm(a, b, t, r, lo, al) \
    am_linalg_trsm_at((a), (b), (t), (r), (lo), (al), AM_HERE)
#define am_linalg_sumlogdiag(a) am_linalg_sumlogdiag_at((a), AM_HERE)
#define am_linalg_syrk(a, t, al) am_linalg_syrk_at((a), (t), (al), AM_HERE)
#define am_linalg_gelqf(a, q, l) am_linalg_gelqf_at((a), (q), (l), AM_HERE)
#define am_linalg_syevd(a, u, l) am_linalg_syevd_at((a), (u), (l), AM_HERE)
#define am_linalg_inverse(a) am_linalg_inverse_at((a), AM_HERE)
#define am_linalg_det(a) am_linalg_det_at((a), AM_HERE)
#define am_linalg_slogdet(a, s, l) am_linalg_slogdet_at((a), (s), (l), AM_HERE)
#define am_linalg_extractdiag(a, k) am_linalg_extractdiag_at((a), (k), AM_HERE)
#define am_linalg_makediag(a, k) am_linalg_makediag_at((a), (k), AM_HERE)
#define am_linalg_extracttrian(a, k, lo) am_linalg_extracttrian_at((a), (k), (lo), AM_HERE)
#define am_linalg_maketrian(a, k, lo) am_linalg_maketrian_at((a), (k), (lo), AM_HERE)
/* [khatri_rao] the column-wise Kronecker product of n matrices (m_i, c): (prod m_i, c). */
AM_API am_array *am_khatri_rao_at(am_array *const *xs, int n, am_site at);
#define am_khatri_rao(xs, n) am_khatri_rao_at((xs), (n), AM_HERE)

/* ---- MXNet 1.x's smaller classic ops (ndarray/ops/misc.c) ---------------------------
 * Indices may have any dtype and are truncated toward zero. */
/* [batch_take] out[r] = a[r, indices[r]] over the rows of a's last axis (clipped); the
 * result has the indices' shape.  No gradient, as in MXNet. */
AM_API am_array *am_batch_take_at(am_array *a, am_array *indices, am_site at);
#define am_batch_take(a, i) am_batch_take_at((a), (i), AM_HERE)
/* [choose_element_0index] out[r] = lhs[r, rhs[r]] for lhs (n, m), rhs (n,), clipped. */
AM_API am_array *am_choose_element_0index_at(am_array *lhs, am_array *rhs, am_site at);
#define am_choose_element_0index(l, r) am_choose_element_0index_at((l), (r), AM_HERE)
/* [fill_element_0index] lhs with lhs[r, rhs[r]] = mhs[r]; an index outside the row leaves
 * the row.  No gradient, as in MXNet. */
AM_API am_array *am_fill_element_0index_at(am_array *lhs, am_array *mhs, am_array *rhs,
                                           am_site at);
#define am_fill_element_0index(l, m, r) am_fill_element_0index_at((l), (m), (r), AM_HERE)
/* [_contrib_index_array] int64 coordinates of data's elements along axes (n_axes of them;
 * axes NULL: all), in a new last axis. */
AM_API am_array *am_index_array_at(am_array *data, const int *axes, int n_axes, am_site at);
#define am_index_array(d, ax, n) am_index_array_at((d), (ax), (n), AM_HERE)
/* [_contrib_index_copy] old_tensor with row index[i] replaced by new_tensor[i]; an index
 * outside old_tensor's rows is AM_ERR_ARG. */
AM_API am_array *am_index_copy_at(am_array *old_tensor, am_array *index, am_array *new_tensor,
                                  am_site at);
#define am_index_copy(o, i, n) am_index_copy_at((o), (i), (n), AM_HERE)
/* [_contrib_allclose] a 0-d uint8, 1 when |a - b| <= atol + rtol |b| everywhere. */
AM_API am_array *am_allclose_at(am_array *a, am_array *b, double rtol, double atol,
                                bool equal_nan, am_site at);
#define am_allclose(a, b) am_allclose_at((a), (b), 1e-05, 1e-08, true, AM_HERE)
/* [_histogram] int64 counts and the edges: with bins NULL, bin_cnt equal bins over [lo, hi]
 * (lo == hi widens to lo - 0.5, hi + 0.5), else the edges in the 1-D bins.  Sets *counts
 * and *edges to new references (NULL on failure). */
AM_API am_status am_histogram_at(am_array *data, am_array *bins, int64_t bin_cnt, double lo,
                                 double hi, am_array **counts, am_array **edges, am_site at);
#define am_histogram(d, b, n, lo, hi, c, e) am_histogram_at((d), (b), (n), (lo), (hi), (c), (e), AM_HERE)
/* [_contrib_boolean_mask] the slices of data along axis whose index (1-D, nonzero: keep)
 * entry is nonzero.  Eager only (CPU inputs): graphs and plans cannot hold it. */
AM_API am_array *am_boolean_mask_at(am_array *data, am_array *index, int axis, am_site at);
#define am_boolean_mask(d, i) am_boolean_mask_at((d), (i), 0, AM_HERE)

/* [im2col] data (N, C, *in) over nd = 1, 2 or 3 spatial axes to columns (N, C * prod(kernel),
 * prod(out)); stride, dilate, pad: nd sizes each, or NULL for MXNet's defaults. */
AM_API am_array *am_im2col_at(am_array *data, int nd, const int64_t *kernel,
                              const int64_t *stride, const int64_t *dilate, const int64_t *pad,
                              am_site at);
#define am_im2col(d, nd, k, s, dl, p) am_im2col_at((d), (nd), (k), (s), (dl), (p), AM_HERE)
/* [col2im] im2col's adjoint: columns back into an image (N, C, *output_size). */
AM_API am_array *am_col2im_at(am_array *data, int nd, const int64_t *output_size,
                              const int64_t *kernel, const int64_t *stride,
                              const int64_t *dilate, const int64_t *pad, am_site at);
#define am_col2im(d, nd, os, k, s, dl, p) \
    am_col2im_at((d), (nd), (os), (k), (s), (dl), (p), AM_HERE)
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

/* [_image_to_tensor] (H, W, C) / (N, H, W, C) image to float32 (C, H, W) / (N, C, H, W) / 255. */
AM_API am_array *am_image_to_tensor_at(am_array *x, am_site at);
#define am_image_to_tensor(x) am_image_to_tensor_at((x), AM_HERE)
/* [_image_normalize] (x - mean[c]) / std[c]; n_mean, n_std: 1 or the channel count. */
AM_API am_array *am_image_normalize_at(am_array *x, const double *mean, int n_mean,
                                       const double *std, int n_std, am_site at);
#define am_image_normalize(x, m, nm, s, ns) am_image_normalize_at((x), (m), (nm), (s), (ns), AM_HERE)
/* [_image_flip_left_right], [_image_flip_top_bottom] one (H, W, C) image. */
AM_API am_array *am_image_flip_at(am_array *x, bool left_right, am_site at);
#define am_image_flip(x, lr) am_image_flip_at((x), (lr), AM_HERE)
/* [_image_crop] the area at (x0, y0) of width x height. */
AM_API am_array *am_image_crop_at(am_array *x, int64_t x0, int64_t y0, int64_t width,
                                  int64_t height, am_site at);
#define am_image_crop(x, x0, y0, w, h) am_image_crop_at((x), (x0), (y0), (w), (h), AM_HERE)
/* [_image_resize] to width x height; interp 0 nearest, 1 bilinear (OpenCV's). */
AM_API am_array *am_image_resize_at(am_array *x, int64_t width, int64_t height, int interp,
                                    am_site at);
#define am_image_resize(x, w, h, i) am_image_resize_at((x), (w), (h), (i), AM_HERE)
/* [_image_adjust_lighting] AlexNet PCA lighting with alpha[3] (R, G, B). */
AM_API am_array *am_image_adjust_lighting_at(am_array *x, const double alpha[3], am_site at);
#define am_image_adjust_lighting(x, a) am_image_adjust_lighting_at((x), (a), AM_HERE)

/* [_contrib_Proposal] Faster R-CNN's RPN proposals for one image: cls_prob (1, 2A, H, W),
 * bbox_pred (1, 4A, H, W), im_info (1, 3) [height, width, scale] with MXNet's default
 * scales and ratios; rows (post_nms_top_n, 5) [0, x1, y1, x2, y2].  Other attributes
 * (scales, ratios, output_score, iou_loss) through am_invoke. */
AM_API am_array *am_proposal_at(am_array *cls_prob, am_array *bbox_pred, am_array *im_info,
                                int64_t pre_nms_top_n, int64_t post_nms_top_n, double threshold,
                                int64_t min_size, int64_t feature_stride, am_site at);
#define am_proposal(c, b, i, pre, post, t, ms, fs) \
    am_proposal_at((c), (b), (i), (pre), (post), (t), (ms), (fs), AM_HERE)
/* [_contrib_MultiProposal] am_proposal for a batch of N images: (N * post_nms_top_n, 5)
 * rows [image, x1, y1, x2, y2]. */
AM_API am_array *am_multi_proposal_at(am_array *cls_prob, am_array *bbox_pred,
                                      am_array *im_info, int64_t pre_nms_top_n,
                                      int64_t post_nms_top_n, double threshold, int64_t min_size,
                                      int64_t feature_stride, am_site at);
#define am_multi_proposal(c, b, i, pre, post, t, ms, fs) \
    am_multi_proposal_at((c), (b), (i), (pre), (post), (t), (ms), (fs), AM_HERE)
/* [_contrib_PSROIPooling] R-FCN: rois (R, 5) [batch, x1, y1, x2, y2] over data (N, C, H, W)
 * into (R, output_dim, pooled_size, pooled_size); group_size 0 means pooled_size. */
AM_API am_array *am_psroi_pooling_at(am_array *data, am_array *rois, double spatial_scale,
                                     int64_t output_dim, int64_t pooled_size, int64_t group_size,
                                     am_site at);
#define am_psroi_pooling(d, r, s, od, ps, gs) \
    am_psroi_pooling_at((d), (r), (s), (od), (ps), (gs), AM_HERE)
/* [_contrib_DeformablePSROIPooling] rois (R, 5) over data (N, C, H, W) with bins moved by
 * trans (R, 2 * classes, pooled_size, pooled_size) times trans_std, or without offsets
 * (no_trans) when trans is NULL; (R, output_dim, pooled_size, pooled_size). */
AM_API am_array *am_deformable_psroi_pooling_at(am_array *data, am_array *rois, am_array *trans,
                                                double spatial_scale, int64_t output_dim,
                                                int64_t group_size, int64_t pooled_size,
                                                int64_t sample_per_part, double trans_std,
                                                am_site at);
#define am_deformable_psroi_pooling(d, r, t, s, od, gs, ps, spp, ts) \
    am_deformable_psroi_pooling_at((d), (r), (t), (s), (od), (gs), (ps), (spp), (ts), AM_HERE)
/* [_contrib_DeformableConvolution] data (N, C, H, W) sampled at offset (N, 2 * DG * kh * kw,
 * Ho, Wo) through weight (F, C / num_group, kh, kw) and bias (F) (NULL: no_bias); with mask
 * (N, DG * kh * kw, Ho, Wo) not NULL, [_contrib_ModulatedDeformableConvolution].  The same
 * stride, pad and dilate on both axes. */
AM_API am_array *am_deformable_convolution_at(am_array *data, am_array *offset, am_array *mask,
                                              am_array *weight, am_array *bias, int64_t stride,
                                              int64_t pad, int64_t dilate, int64_t num_group,
                                              int64_t num_deformable_group, am_site at);
#define am_deformable_convolution(x, o, m, w, b, s, p, d, g, dg) \
    am_deformable_convolution_at((x), (o), (m), (w), (b), (s), (p), (d), (g), (dg), AM_HERE)
/* [_contrib_RROIAlign] rotated rois (R, 6) [batch, cx, cy, w, h, degrees] over data
 * (N, C, H, W) into (R, C, pooled_h, pooled_w). */
AM_API am_array *am_rroi_align_at(am_array *data, am_array *rois, int64_t pooled_h,
                                  int64_t pooled_w, double spatial_scale, int64_t sampling_ratio,
                                  am_site at);
#define am_rroi_align(d, r, ph, pw, s, sr) am_rroi_align_at((d), (r), (ph), (pw), (s), (sr), AM_HERE)

/* [_contrib_fft] unscaled DFT along the last axis of 2-D/4-D real data; (re, im) interleaved. */
AM_API am_array *am_fft_at(am_array *x, am_site at);
#define am_fft(x) am_fft_at((x), AM_HERE)
/* [_contrib_ifft] real part of the unscaled inverse DFT of interleaved (re, im) rows. */
AM_API am_array *am_ifft_at(am_array *x, am_site at);
#define am_ifft(x) am_ifft_at((x), AM_HERE)
/* [_set_value] fills the existing concrete array x with src.  AM_ERR_SYMBOLIC on a symbolic x. */
AM_API am_status am_set_value_at(am_array *x, double src, am_site at);
#define am_set_value(x, src) am_set_value_at((x), (src), AM_HERE)
/* [reset_arrays] zeroes arrays[0..n) in place (n in [1, 64]). */
AM_API am_status am_reset_arrays_at(am_array *const *arrays, int n, am_site at);
#define am_reset_arrays(a, n) am_reset_arrays_at((a), (n), AM_HERE)
/* [IdentityAttachKLSparseReg] identity; the gradient adds a KL sparsity penalty and updates
 * moving_avg (C,) in place.  data is (N, C). */
AM_API am_array *am_identity_attach_kl_sparse_reg_at(am_array *data, am_array *moving_avg,
                                                     double sparseness_target, double penalty,
                                                     double momentum, am_site at);
#define am_identity_attach_kl_sparse_reg(x, ma, rho, pen, mom) \
    am_identity_attach_kl_sparse_reg_at((x), (ma), (rho), (pen), (mom), AM_HERE)
/* [_contrib_hawkesll] in: lda, alpha, beta, state, lags, marks, valid_length, max_time;
 * sets *ll (N,) and *states (N, K), new references. */
AM_API am_status am_hawkesll_at(am_array *const in[8], am_array **ll, am_array **states,
                                am_site at);
#define am_hawkesll(in, ll, st) am_hawkesll_at((in), (ll), (st), AM_HERE)

/* [_cvimdecode] PNG/JPEG bytes (uint8, 1-D) to an (H, W, 3) RGB (flag 1; BGR with !to_rgb)
 * or (H, W, 1) grey (flag 0) uint8 image. */
AM_API am_array *am_cvimdecode_at(am_array *buf, int flag, bool to_rgb, am_site at);
#define am_cvimdecode(b, f, rgb) am_cvimdecode_at((b), (f), (rgb), AM_HERE)
/* [_cvimread] the same from a file (name under 64 bytes); errors name the file. */
AM_API am_array *am_cvimread_at(const char *filename, int flag, bool to_rgb, am_site at);
#define am_cvimread(p, f, rgb) am_cvimread_at((p), (f), (rgb), AM_HERE)
/* [_cvimresize] (H, W, C) to (h, w, C); interp 0 nearest, 1 bilinear, 2 bicubic, 3 area
 * (shrinking), 4 Lanczos, as OpenCV's cv::resize. */
AM_API am_array *am_cvimresize_at(am_array *src, int64_t w, int64_t h, int interp, am_site at);
#define am_cvimresize(x, w, h, i) am_cvimresize_at((x), (w), (h), (i), AM_HERE)
/* [_cvcopyMakeBorder] pads (H, W, C); type 0 constant (value), 1 replicate, 2 reflect,
 * 3 wrap, 4 reflect-101. */
AM_API am_array *am_cvcopy_make_border_at(am_array *src, int64_t top, int64_t bot, int64_t left,
                                          int64_t right, int type, double value, am_site at);
#define am_cvcopy_make_border(x, t, b, l, r, ty, v) \
    am_cvcopy_make_border_at((x), (t), (b), (l), (r), (ty), (v), AM_HERE)
#ifdef __cplusplus
}
#endif
#endif /* AMBER_OPS_H */
