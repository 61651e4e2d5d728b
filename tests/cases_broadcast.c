/* Registry-driven cases for ndarray/ops/broadcast.c: equal shapes, row, column
 * and scalar-like broadcasting, rank differences, size-0 dimensions, each dtype. */
#include "test_util.h"

#define F64 AM_DTYPE_FLOAT64
#define I32 AM_DTYPE_INT32
#define I64 AM_DTYPE_INT64
#define U8 AM_DTYPE_UINT8

/* Shapes every broadcast_* op runs on, in float32, with values in [l, h)
 * (l == h: [-1, 1)).  Broadcasting goes both ways, so the gradient check sums
 * over broadcast axes of either input. */
#define BCAST_SHAPES_IN(o, l, h)                                                         \
    {.op = o, .shapes = "2,3;2,3", .lo = l, .hi = h},                                    \
    {.op = o, .shapes = "2,3;3", .lo = l, .hi = h},                                      \
    {.op = o, .shapes = "2,1,4;3,1", .lo = l, .hi = h},                                  \
    {.op = o, .shapes = "1;2,3", .lo = l, .hi = h},                                      \
    {.op = o, .shapes = "4,1;4,5", .lo = l, .hi = h},                                    \
    {.op = o, .shapes = ";3", .lo = l, .hi = h},                                         \
    {.op = o, .shapes = "0,3;1,3", .lo = l, .hi = h},                                    \
    {.op = o, .shapes = "2,0;2,1", .lo = l, .hi = h},                                    \
    {.op = o, .shapes = "1;1", .lo = l, .hi = h},                                        \
    {.op = o, .shapes = "300,5;5", .lo = l, .hi = h},                                    \
    {.op = o, .shapes = "5;300,5", .lo = l, .hi = h},                                    \
    {.op = o, .shapes = "3,1,1,2;1,4,5,1", .lo = l, .hi = h}
#define BCAST_SHAPES(o) BCAST_SHAPES_IN(o, 0, 0)
/* The same op in the other dtypes; integers in [-10, 10), uint8 in [0, 10). */
#define BCAST_DTYPES(o)                                                                  \
    {.op = o, .shapes = "2,3;3", .dtype = F64},                                          \
    {.op = o, .shapes = "2,3;2,1", .dtype = I32, .lo = -10, .hi = 10},                   \
    {.op = o, .shapes = "2,1,4;3,1", .dtype = I64, .lo = -10, .hi = 10},                 \
    {.op = o, .shapes = "1;2,3", .dtype = U8, .lo = 0, .hi = 10}
#define BCAST_ALL(o) BCAST_SHAPES(o), BCAST_DTYPES(o)

const am_op_case am_cases_broadcast[] = {
    /* elemwise_*: equal shapes only */
    {.op = "elemwise_add", .shapes = "2,3;2,3"},
    {.op = "elemwise_add", .shapes = "0,4;0,4"},
    {.op = "elemwise_add", .shapes = ";"},
    {.op = "elemwise_add", .shapes = "5;5", .dtype = U8, .lo = 0, .hi = 100},
    {.op = "elemwise_add", .shapes = "4,3;4,3", .dtype = I64, .lo = -50, .hi = 50},
    {.op = "elemwise_sub", .shapes = "3,4;3,4", .dtype = F64},
    {.op = "elemwise_sub", .shapes = "1;1", .dtype = I32, .lo = -10, .hi = 10},
    {.op = "elemwise_mul", .shapes = "2,2,2;2,2,2"},
    {.op = "elemwise_mul", .shapes = "6;6", .dtype = U8, .lo = 0, .hi = 15},
    {.op = "elemwise_div", .shapes = "2,3;2,3"},
    {.op = "elemwise_div", .shapes = "3,4;3,4", .dtype = F64, .lo = 0.5, .hi = 2},
    {.op = "elemwise_mul", .shapes = "5;5", .dtype = F64, .lo = -3, .hi = 3},
    {.op = "elemwise_add", .shapes = "2,1,3;2,1,3", .dtype = F64},
    {.op = "elemwise_sub", .shapes = "0;0"},
    {.op = "elemwise_div", .shapes = "7;7", .dtype = I32, .lo = -10, .hi = 10},
    {.op = "elemwise_div", .shapes = "7;7", .dtype = U8, .lo = 0, .hi = 10},

    BCAST_ALL("broadcast_add"),
    BCAST_ALL("broadcast_mul"),
    BCAST_ALL("broadcast_div"),
    /* mod jumps where a / b crosses an integer: values in [0.5, 2) keep b away
     * from 0, so that the gradient check's probes rarely cross a jump */
    BCAST_SHAPES_IN("broadcast_mod", 0.5, 2), BCAST_DTYPES("broadcast_mod"),
    {.op = "broadcast_mod", .shapes = "3,4;4", .lo = -2, .hi = 2},
    BCAST_ALL("broadcast_maximum"),
    BCAST_ALL("broadcast_minimum"),
    BCAST_ALL("broadcast_equal"),
    BCAST_ALL("broadcast_not_equal"),
    BCAST_ALL("broadcast_greater"),
    BCAST_ALL("broadcast_greater_equal"),
    BCAST_ALL("broadcast_lesser"),
    BCAST_ALL("broadcast_lesser_equal"),
    /* uint8 subtraction wraps below 0, which the AM_REQ_ADD reference (double
     * arithmetic) cannot express: broadcast_sub is checked in uint8 by value tests. */
    BCAST_SHAPES("broadcast_sub"),
    {.op = "broadcast_sub", .shapes = "2,3;3", .dtype = F64},
    {.op = "broadcast_sub", .shapes = "2,3;2,1", .dtype = I32, .lo = -10, .hi = 10},
    {.op = "broadcast_sub", .shapes = "2,1,4;3,1", .dtype = I64, .lo = -10, .hi = 10},
    /* power: positive bases so that float results are finite; small integers */
    {.op = "broadcast_power", .shapes = "2,3;2,3", .lo = 0.5, .hi = 2},
    {.op = "broadcast_power", .shapes = "2,3;3", .lo = 0.5, .hi = 2},
    {.op = "broadcast_power", .shapes = "2,1,4;3,1", .dtype = F64, .lo = 0.5, .hi = 2},
    {.op = "broadcast_power", .shapes = "0,3;1,3", .lo = 0.5, .hi = 2},
    {.op = "broadcast_power", .shapes = "2,3;2,1", .dtype = I32, .lo = -3, .hi = 4},
    {.op = "broadcast_power", .shapes = "1;2,3", .dtype = I64, .lo = -3, .hi = 4},
    {.op = "broadcast_power", .shapes = "4;2,4", .dtype = U8, .lo = 0, .hi = 4},

    {.op = "clip", .attrs = "a_min=-0.5;a_max=0.5", .shapes = "2,3"},
    {.op = "clip", .attrs = "a_min=-1;a_max=2", .shapes = "4,6", .dtype = F64, .lo = -3,
     .hi = 3},
    {.op = "clip", .attrs = "a_min=-inf;a_max=0.5", .shapes = "8", .lo = -2, .hi = 2},
    {.op = "clip", .attrs = "a_min=-0.25;a_max=0.75", .shapes = "0,3"},
    {.op = "clip", .attrs = "a_min=0;a_max=1e-05", .shapes = "", .dtype = F64},
    {.op = "clip", .attrs = "a_min=-3;a_max=4", .shapes = "4,5", .dtype = I32, .lo = -10, .hi = 10},
    {.op = "clip", .attrs = "a_min=-2.5;a_max=2.5", .shapes = "7", .dtype = I64, .lo = -10,
     .hi = 10},
    {.op = "clip", .attrs = "a_min=2;a_max=5", .shapes = "3,3", .dtype = U8, .lo = 0, .hi = 10},

    /* where: condition holds 0/1 integers (index input 0) or floats */
    {.op = "where", .shapes = "2,3;2,3;2,3", .index_mask = 1, .index_hi = 2, .index_dtype = I32},
    {.op = "where", .shapes = "2,3;2,3;2,3"},
    {.op = "where", .shapes = "3,4;3,4;3,4", .dtype = F64, .index_mask = 1, .index_hi = 2,
     .index_dtype = F64},
    {.op = "where", .shapes = "4;4,2;4,2", .index_mask = 1, .index_hi = 2, .index_dtype = F64},
    {.op = "where", .shapes = "3;3,2,2;3,2,2", .dtype = I64, .lo = -10, .hi = 10,
     .index_mask = 1, .index_hi = 2, .index_dtype = U8},
    {.op = "where", .shapes = "0;0,5;0,5", .index_mask = 1, .index_hi = 2, .index_dtype = I64},
    {.op = "where", .shapes = "5;5;5", .dtype = U8, .lo = 0, .hi = 100, .index_mask = 1,
     .index_hi = 2, .index_dtype = F64},
    {.op = "where", .shapes = ";;", .dtype = F64, .index_mask = 1, .index_hi = 2,
     .index_dtype = I32},

    {.op = "add_n", .attrs = "num_args=1", .shapes = "2,3"},
    {.op = "add_n", .attrs = "num_args=2", .shapes = "4;4", .dtype = F64},
    {.op = "add_n", .attrs = "num_args=4", .shapes = "2,3;2,3;2,3;2,3"},
    {.op = "add_n", .attrs = "num_args=6", .shapes = "3;3;3;3;3;3", .dtype = I32, .lo = -10,
     .hi = 10},
    {.op = "add_n", .attrs = "num_args=3", .shapes = "2,2;2,2;2,2", .dtype = I64, .lo = -5,
     .hi = 5},
    {.op = "add_n", .attrs = "num_args=5", .shapes = "4;4;4;4;4", .dtype = U8, .lo = 0, .hi = 20},
    {.op = "add_n", .attrs = "num_args=2", .shapes = "0,3;0,3"},
    {0}};
