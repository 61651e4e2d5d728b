/* Registry-driven cases for broadcast_like, broadcast_axis and slice_like
 * (ndarray/ops/shape_like.c), and _slice_assign and _slice_assign_scalar
 * (ndarray/ops/shape_assign.c). */
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
    {.op = "_slice_assign", .attrs = "begin=(1, None);end=(None, -1)", .shapes = "4,5;3,4"},
    {.op = "_slice_assign", .attrs = "begin=(None,);end=(None,);step=(-2,)", .shapes = "5,2;3,2",
     .dtype = F64},
    {.op = "_slice_assign", .attrs = "begin=(0, 1);end=(2, 4);step=(1, 2)", .shapes = "3,4;2,2",
     .dtype = I32, .lo = -9, .hi = 9},
    {.op = "_slice_assign", .attrs = "begin=(3,);end=(1,)", .shapes = "4,2;0,2", .dtype = F64},
    {.op = "_slice_assign_scalar", .attrs = "scalar=2.5;begin=(1,);end=(3,)", .shapes = "4,3"},
    {.op = "_slice_assign_scalar", .attrs = "begin=(None, 0);end=(None, 5);step=(2, 2)",
     .shapes = "3,5", .dtype = F64},
    {.op = "_slice_assign_scalar", .attrs = "scalar=7;begin=(0,);end=(1,)", .shapes = "2,2",
     .dtype = U8, .lo = 0, .hi = 9},
    {0}};
