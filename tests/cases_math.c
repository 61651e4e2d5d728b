/* Registry-driven cases for ndarray/ops/math.c (tan ... erfinv, trunc, fix,
 * rint, logical_not, hard_sigmoid, smooth_l1, _contrib_round_ste,
 * _contrib_sign_ste, _contrib_gradientmultiplier, _contrib_quadratic,
 * _backward_gammaln), nn.c's softmin, eye.c's _eye, and for the
 * binary and scalar ops added beside broadcast.c's and elemwise.c's
 * (_maximum ... _logical_xor, broadcast_hypot, broadcast_logical_*,
 * _hypot_scalar, _logical_*_scalar): float32 and float64, a 0-d and a size-0
 * array, integer dtypes where accepted, inputs in each op's domain. */
#include "test_util.h"

#define F64 AM_DTYPE_FLOAT64
#define I32 AM_DTYPE_INT32
#define I64 AM_DTYPE_INT64
#define U8 AM_DTYPE_UINT8

/* A float unary op on [l, h): float32 2-D, float64, 0-d, size 0. */
#define UNARY_IN(o, l, h)                                                                \
    {.op = o, .shapes = "2,3,4", .lo = l, .hi = h},                                      \
    {.op = o, .shapes = "7", .dtype = F64, .lo = l, .hi = h},                            \
    {.op = o, .shapes = "", .lo = l, .hi = h},                                           \
    {.op = o, .shapes = "0,3", .lo = l, .hi = h}
/* The same and the integer dtypes. */
#define UNARY_ANY(o, l, h)                                                               \
    UNARY_IN(o, l, h),                                                                   \
    {.op = o, .shapes = "3,5", .dtype = I32, .lo = -50, .hi = 50},                       \
    {.op = o, .shapes = "6", .dtype = I64, .lo = -1000, .hi = 1000},                     \
    {.op = o, .shapes = "2,4", .dtype = U8, .lo = 0, .hi = 100}
/* A same-shape binary op on [l, h), every dtype. */
#define BINARY_IN(o, l, h)                                                               \
    {.op = o, .shapes = "2,3;2,3", .lo = l, .hi = h},                                    \
    {.op = o, .shapes = "5;5", .dtype = F64, .lo = l, .hi = h},                          \
    {.op = o, .shapes = ";", .lo = l, .hi = h},                                          \
    {.op = o, .shapes = "0,4;0,4", .lo = l, .hi = h},                                    \
    {.op = o, .shapes = "3,4;3,4", .dtype = I32, .lo = -10, .hi = 10},                   \
    {.op = o, .shapes = "4;4", .dtype = I64, .lo = -10, .hi = 10},                       \
    {.op = o, .shapes = "2,2;2,2", .dtype = U8, .lo = 0, .hi = 10}
/* A broadcasting op: the broadcast.c shapes that matter, every dtype. */
#define BCAST_IN(o, l, h)                                                                \
    {.op = o, .shapes = "2,3;3", .lo = l, .hi = h},                                      \
    {.op = o, .shapes = "2,1,4;3,1", .lo = l, .hi = h},                                  \
    {.op = o, .shapes = ";3", .lo = l, .hi = h},                                         \
    {.op = o, .shapes = "0,3;1,3", .lo = l, .hi = h},                                    \
    {.op = o, .shapes = "300,5;5", .lo = l, .hi = h},                                    \
    {.op = o, .shapes = "2,3;2,1", .dtype = F64, .lo = l, .hi = h},                      \
    {.op = o, .shapes = "2,3;2,1", .dtype = I32, .lo = -10, .hi = 10},                   \
    {.op = o, .shapes = "2,1,4;3,1", .dtype = I64, .lo = -10, .hi = 10},                 \
    {.op = o, .shapes = "1;2,3", .dtype = U8, .lo = 0, .hi = 10}
/* A scalar op with scalar s: float32, float64, 0-d, size 0, the integers. */
#define SCALAR_IN(o, s, l, h)                                                            \
    {.op = o, .attrs = "scalar=" s, .shapes = "3,4", .lo = l, .hi = h},                  \
    {.op = o, .attrs = "scalar=" s, .shapes = "5", .dtype = F64, .lo = l, .hi = h},      \
    {.op = o, .attrs = "scalar=" s, .shapes = "", .lo = l, .hi = h},                     \
    {.op = o, .attrs = "scalar=" s, .shapes = "0,2", .lo = l, .hi = h},                  \
    {.op = o, .attrs = "scalar=" s, .shapes = "2,3", .dtype = I32, .lo = -6, .hi = 6},   \
    {.op = o, .attrs = "scalar=" s, .shapes = "4", .dtype = I64, .lo = -6, .hi = 6},     \
    {.op = o, .attrs = "scalar=" s, .shapes = "6", .dtype = U8, .lo = 0, .hi = 40}

const am_op_case am_cases_math[] = {
    UNARY_IN("tan", -1.2, 1.2),
    UNARY_IN("arcsin", -0.9, 0.9),
    UNARY_IN("arccos", -0.9, 0.9),
    UNARY_IN("arctan", -4, 4),
    UNARY_IN("sinh", -3, 3),
    UNARY_IN("cosh", -3, 3),
    UNARY_IN("arcsinh", -4, 4),
    UNARY_IN("arccosh", 1.1, 5),
    UNARY_IN("arctanh", -0.9, 0.9),
    UNARY_IN("log2", 0.1, 8),
    UNARY_IN("log10", 0.1, 8),
    UNARY_IN("cbrt", 0.1, 8),
    {.op = "cbrt", .shapes = "4,2", .dtype = F64, .lo = -8, .hi = -0.1},
    UNARY_IN("rcbrt", 0.2, 8),
    {.op = "rcbrt", .shapes = "4,2", .dtype = F64, .lo = -8, .hi = -0.2},
    UNARY_IN("degrees", -3.2, 3.2),
    UNARY_IN("radians", -180, 180),
    UNARY_IN("gamma", 0.2, 5),
    {.op = "gamma", .shapes = "2,3", .dtype = F64, .lo = -2.9, .hi = -2.1},
    UNARY_IN("gammaln", 0.2, 8),
    {.op = "gammaln", .shapes = "2,3", .dtype = F64, .lo = -1.9, .hi = -1.1},
    UNARY_IN("erfinv", -0.95, 0.95),
    UNARY_ANY("trunc", -5, 5),
    UNARY_ANY("fix", -5, 5),
    UNARY_ANY("rint", -5, 5),
    UNARY_ANY("logical_not", -2, 2),
    {.op = "_backward_gammaln", .shapes = "2,3;2,3", .lo = 0.2, .hi = 5},
    {.op = "_backward_gammaln", .shapes = "4;4", .dtype = F64, .lo = 0.2, .hi = 5},
    {.op = "_backward_gammaln", .shapes = ";", .lo = 0.2, .hi = 5},
    {.op = "_backward_gammaln", .shapes = "0,2;0,2", .lo = 0.2, .hi = 5},
    UNARY_IN("hard_sigmoid", -4, 4),
    {.op = "hard_sigmoid", .attrs = "alpha=0.5;beta=0.25", .shapes = "3,5", .lo = -3, .hi = 3},
    {.op = "hard_sigmoid", .attrs = "alpha=1;beta=0", .shapes = "4", .dtype = F64,
     .lo = -0.9, .hi = 0.9},
    {.op = "smooth_l1", .attrs = "scalar=1", .shapes = "2,3,4", .lo = -3, .hi = 3},
    {.op = "smooth_l1", .attrs = "scalar=2", .shapes = "7", .dtype = F64, .lo = -1, .hi = 1},
    {.op = "smooth_l1", .attrs = "scalar=0.5", .shapes = "", .lo = -6, .hi = 6},
    {.op = "smooth_l1", .attrs = "scalar=1", .shapes = "0,3"},

    UNARY_ANY("_contrib_round_ste", -3, 3),
    UNARY_ANY("_contrib_sign_ste", -3, 3),
    UNARY_ANY("_contrib_gradientmultiplier", -3, 3),
    {.op = "_contrib_gradientmultiplier", .attrs = "scalar=-0.5", .shapes = "3,4", .dtype = F64},
    UNARY_IN("_contrib_quadratic", -3, 3),
    {.op = "_contrib_quadratic", .attrs = "a=1.5;b=-2;c=0.25", .shapes = "3,4", .lo = -3, .hi = 3},
    {.op = "_contrib_quadratic", .attrs = "a=-1;c=2", .shapes = "5", .dtype = F64},

    {.op = "_identity_with_attr_like_rhs", .shapes = "2,3;2,3"},
    {.op = "_identity_with_attr_like_rhs", .shapes = "4;4", .dtype = F64},
    {.op = "_identity_with_attr_like_rhs", .shapes = ";"},
    {.op = "_identity_with_attr_like_rhs", .shapes = "0,2;0,2"},
    {.op = "_identity_with_attr_like_rhs", .shapes = "3;3", .dtype = I32, .lo = -9, .hi = 9},


    /* eye.c */
    {.op = "_eye", .attrs = "N=3", .shapes = NULL},
    {.op = "_eye", .attrs = "N=3;M=5;k=2;dtype=float64", .shapes = NULL},
    {.op = "_eye", .attrs = "N=4;M=2;k=-1;dtype=int32", .shapes = NULL},
    {.op = "_eye", .attrs = "N=0;M=3", .shapes = NULL},

    /* nn.c: softmin, as softmax's cases */
    {.op = "softmin", .shapes = "2,5"},
    {.op = "softmin", .attrs = "axis=0", .shapes = "3,4", .dtype = F64, .lo = -3, .hi = 3},
    {.op = "softmin", .attrs = "axis=1;temperature=2.5", .shapes = "2,3,4", .lo = -2, .hi = 2},
    {.op = "softmin", .attrs = "dtype=float64", .shapes = "4,3"},
    {.op = "softmin", .shapes = "0,3"},
    {.op = "softmin", .shapes = ""},

    /* broadcast.c: the _-prefixed same-shape forms */
    BINARY_IN("_maximum", 0, 0),
    BINARY_IN("_minimum", 0, 0),
    BINARY_IN("_power", 0.2, 2),
    BINARY_IN("_mod", 0.5, 3),
    BINARY_IN("_hypot", 0, 0),
    BINARY_IN("_equal", 0, 0),
    BINARY_IN("_not_equal", 0, 0),
    BINARY_IN("_greater", 0, 0),
    BINARY_IN("_greater_equal", 0, 0),
    BINARY_IN("_lesser", 0, 0),
    BINARY_IN("_lesser_equal", 0, 0),
    BINARY_IN("_logical_and", 0, 0),
    BINARY_IN("_logical_or", 0, 0),
    BINARY_IN("_logical_xor", 0, 0),
    BCAST_IN("broadcast_hypot", 0, 0),
    BCAST_IN("broadcast_logical_and", 0, 0),
    BCAST_IN("broadcast_logical_or", 0, 0),
    BCAST_IN("broadcast_logical_xor", 0, 0),

    /* elemwise.c: the scalar forms */
    SCALAR_IN("_hypot_scalar", "0.5", -2, 2),
    SCALAR_IN("_logical_and_scalar", "1", -2, 2),
    SCALAR_IN("_logical_or_scalar", "0", -2, 2),
    SCALAR_IN("_logical_xor_scalar", "2", -2, 2),
    {0}};
