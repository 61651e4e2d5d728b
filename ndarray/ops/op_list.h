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

/* elemwise.c */

/* broadcast.c */

/* reduce.c */

/* nn.c */

/* matrix.c */

/* shape.c */
AM_OP(reshape)
AM_OP(flatten)
AM_OP(expand_dims)
AM_OP(squeeze)
AM_OP(transpose)
AM_OP(swap_axis)
AM_OP(concat)
AM_OP(stack)
AM_OP(split)
AM_OP(slice)
AM_OP(slice_axis)
AM_OP(tile)
AM_OP(repeat)
AM_OP(broadcast_to)

/* index.c */
AM_OP(one_hot)
AM_OP(take)
AM_OP(embedding)
AM_OP(pick)
