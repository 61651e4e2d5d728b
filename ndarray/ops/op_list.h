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
AM_OP(negative)
AM_OP(abs)
AM_OP(sign)
AM_OP(exp)
AM_OP(log)
AM_OP(log1p)
AM_OP(expm1)
AM_OP(sqrt)
AM_OP(rsqrt)
AM_OP(square)
AM_OP(reciprocal)
AM_OP(sin)
AM_OP(cos)
AM_OP(tanh)
AM_OP(sigmoid)
AM_OP(relu)
AM_OP(softsign)
AM_OP(erf)
AM_OP(round)
AM_OP(floor)
AM_OP(ceil)
AM_OP(plus_scalar)
AM_OP(minus_scalar)
AM_OP(rminus_scalar)
AM_OP(mul_scalar)
AM_OP(div_scalar)
AM_OP(rdiv_scalar)
AM_OP(mod_scalar)
AM_OP(rmod_scalar)
AM_OP(power_scalar)
AM_OP(rpower_scalar)
AM_OP(maximum_scalar)
AM_OP(minimum_scalar)
AM_OP(equal_scalar)
AM_OP(not_equal_scalar)
AM_OP(greater_scalar)
AM_OP(greater_equal_scalar)
AM_OP(lesser_scalar)
AM_OP(lesser_equal_scalar)
AM_OP(activation)
AM_OP(leaky_relu)

/* broadcast.c */

/* reduce.c */

/* nn.c */

/* matrix.c */

/* shape.c */

/* index.c */
