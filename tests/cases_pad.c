/* Registry-driven cases for Pad (ndarray/ops/shape_pad.c). */
#include "test_util.h"

#define F64 AM_DTYPE_FLOAT64

const am_op_case am_cases_pad[] = {
    {.op = "Pad", .attrs = "mode=constant;pad_width=(0, 0, 0, 0, 1, 2, 2, 1);constant_value=0.5",
     .shapes = "2,2,3,3"},
    {.op = "Pad", .attrs = "mode=edge;pad_width=(0, 0, 0, 0, 3, 1, 0, 2)", .shapes = "1,2,2,3",
     .dtype = F64},
    {.op = "Pad", .attrs = "mode=reflect;pad_width=(0, 0, 0, 0, 2, 1, 1, 2)", .shapes = "2,1,3,4",
     .dtype = F64},
    {.op = "Pad", .attrs = "mode=reflect;pad_width=(0, 0, 0, 0, 1, 1, 0, 1, 2, 1)",
     .shapes = "1,2,2,3,3"},
    {.op = "Pad", .attrs = "mode=edge;pad_width=(0, 0, 0, 0, 1, 0, 1, 1, 0, 2)",
     .shapes = "1,1,2,2,2", .dtype = F64},
    {.op = "Pad", .attrs = "mode=constant;pad_width=(0, 0, 0, 0, 1, 1, 1, 1, 1, 1)",
     .shapes = "1,1,1,2,1", .dtype = F64},
    {.op = "Pad", .attrs = "mode=constant;pad_width=(0, 0, 0, 0, 1, 1, 1, 1)",
     .shapes = "0,2,3,3"},
    {.op = "_backward_Pad", .attrs = "mode=reflect;pad_width=(0, 0, 0, 0, 2, 1, 1, 2)",
     .shapes = "2,1,6,7", .dtype = F64},
    {.op = "_backward_Pad", .attrs = "mode=edge;pad_width=(0, 0, 0, 0, 1, 0, 1, 1, 0, 2)",
     .shapes = "1,1,3,4,4"},
    {.op = "_backward_Pad", .attrs = "mode=constant;pad_width=(0, 0, 0, 0, 1, 2, 2, 1)",
     .shapes = "2,2,6,6", .dtype = F64},
    {0}};
