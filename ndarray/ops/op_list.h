/* The built-in operators, one line each: AM_OP(id) names the definition
 * am_op_<id> in its family file.  Registry order is this order. */

/* init.c: creation and conversion */
AM_OP(zeros)
AM_OP(ones)
AM_OP(full)
AM_OP(arange)
AM_OP(linspace)
AM_OP(random_uniform)
AM_OP(random_normal)
AM_OP(zeros_like)
AM_OP(ones_like)
AM_OP(copy)
AM_OP(cast)
AM_OP(block_grad)

/* elemwise.c */

/* broadcast.c */
AM_OP(elemwise_add)
AM_OP(elemwise_sub)
AM_OP(elemwise_mul)
AM_OP(elemwise_div)
AM_OP(broadcast_add)
AM_OP(broadcast_sub)
AM_OP(broadcast_mul)
AM_OP(broadcast_div)
AM_OP(broadcast_mod)
AM_OP(broadcast_power)
AM_OP(broadcast_maximum)
AM_OP(broadcast_minimum)
AM_OP(broadcast_equal)
AM_OP(broadcast_not_equal)
AM_OP(broadcast_greater)
AM_OP(broadcast_greater_equal)
AM_OP(broadcast_lesser)
AM_OP(broadcast_lesser_equal)
AM_OP(clip)
AM_OP(where)
AM_OP(add_n)

/* reduce.c */
AM_OP(sum)
AM_OP(mean)
AM_OP(prod)
AM_OP(max)
AM_OP(min)
AM_OP(norm)
AM_OP(argmax)
AM_OP(argmin)

/* nn.c */
AM_OP(softmax)
AM_OP(log_softmax)
AM_OP(dropout)
AM_OP(layer_norm)

/* matrix.c */

/* shape.c */

/* index.c */

/* conv.c */
AM_OP(convolution)
AM_OP(backward_convolution)
AM_OP(deconvolution)
AM_OP(backward_deconvolution)
