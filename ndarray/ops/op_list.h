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
AM_OP(dot)
AM_OP(batch_dot)
AM_OP(fully_connected)

/* shape.c */

/* index.c */
