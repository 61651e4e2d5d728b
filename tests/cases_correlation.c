/* Registry-driven cases for ndarray/ops/correlation.c.  The absolute-difference
 * form has a kink where the two inputs are equal, which random inputs miss. */
#include "test_util.h"

#define F64 .dtype = AM_DTYPE_FLOAT64

const am_op_case am_cases_correlation[] = {
    {.op = "Correlation", .shapes = "2,3,4,5;2,3,4,5"},
    {.op = "Correlation",
     .attrs = "kernel_size=3;max_displacement=2;stride1=2;stride2=2;pad_size=2",
     .shapes = "1,2,5,6;1,2,5,6", F64},
    {.op = "Correlation", .attrs = "pad_size=1;is_multiply=False", .shapes = "1,2,3,4;1,2,3,4",
     F64},
    {.op = "Correlation", .shapes = "0,2,4,4;0,2,4,4"},
    {.op = "_backward_Correlation", .shapes = "1,9,2,3;1,2,4,5;1,2,4,5"},
    {.op = "_backward_Correlation",
     .attrs = "kernel_size=3;max_displacement=2;stride1=2;stride2=2;pad_size=2",
     .shapes = "1,9,2,2;1,2,5,6;1,2,5,6", F64},
    {0}};
