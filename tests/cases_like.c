/* Registry-driven cases for broadcast_like, broadcast_axis and slice_like
 * (ndarray/ops/shape_like.c). */
#include "test_util.h"

#define F64 AM_DTYPE_FLOAT64
#define I32 AM_DTYPE_INT32
#define U8 AM_DTYPE_UINT8

const am_op_case am_cases_like[] = {
    {.op = "broadcast_like", .shapes = "2,1,3;2,4,3"},
    {.op = "broadcast_like", .attrs = "lhs_axes=(1,);rhs_axes=(-1,)", .shapes = "2,1,3;5,4",
     .dtype = F64},
    {.op = "broadcast_like", .attrs = "lhs_axes=(0, 2);rhs_axes=(0, 1)", .shapes = "1,3,1;2,5",
     .dtype = I32, .lo = -9, .hi = 9},
    {.op = "broadcast_like", .shapes = "1,3;0,3", .dtype = F64},
    {.op = "broadcast_like", .shapes = ";", .dtype = F64},
    {.op = "broadcast_axis", .attrs = "axis=(1,);size=(4,)", .shapes = "2,1,3"},
    {.op = "broadcast_axis", .attrs = "axis=(0, 2);size=(3, 2)", .shapes = "1,2,1", .dtype = F64},
    {.op = "broadcast_axis", .attrs = "axis=(0,);size=(0,)", .shapes = "1,3", .dtype = U8,
     .lo = 0, .hi = 9},
    {.op = "broadcast_axis", .shapes = "2,3", .dtype = F64},
    {.op = "slice_like", .shapes = "2,3,4;1,2,3"},
    {.op = "slice_like", .attrs = "axes=(0, -1)", .shapes = "2,3,4;1,2,3", .dtype = F64},
    {.op = "slice_like", .attrs = "axes=(1,)", .shapes = "2,3,4;5,2", .dtype = I32, .lo = -9,
     .hi = 9},
    {.op = "slice_like", .shapes = "3,2;0,2", .dtype = F64},
    {.op = "slice_like", .shapes = ";", .dtype = F64},
    {0}};
