/* Registry-driven cases for ndarray/ops/im2col.c. */
#include "test_util.h"

#define F64 AM_DTYPE_FLOAT64

const am_op_case am_cases_im2col[] = {
    {.op = "im2col", .attrs = "kernel=(2, 2)", .shapes = "2,2,3,4"},
    {.op = "im2col", .attrs = "kernel=(2, 3);stride=(2, 1);dilate=(1, 2);pad=(1, 2)",
     .shapes = "1,2,4,5", .dtype = F64},
    {.op = "im2col", .attrs = "kernel=(3,);stride=(2,);pad=(1,)", .shapes = "2,1,5", .dtype = F64},
    {.op = "im2col", .attrs = "kernel=(1, 2, 2);pad=(0, 1, 0)", .shapes = "1,2,2,2,3",
     .dtype = F64},
    {.op = "im2col", .attrs = "kernel=(2, 2)", .shapes = "0,3,3,3"},
    {.op = "col2im", .attrs = "output_size=(3, 4);kernel=(2, 2)", .shapes = "2,8,6"},
    {.op = "col2im", .attrs = "output_size=(4, 5);kernel=(2, 3);stride=(2, 1);dilate=(1, 2);"
     "pad=(1, 2)", .shapes = "1,12,15", .dtype = F64},
    {.op = "col2im", .attrs = "output_size=(5,);kernel=(3,);stride=(2,);pad=(1,)",
     .shapes = "2,3,3", .dtype = F64},
    {.op = "col2im", .attrs = "output_size=(2, 2, 3);kernel=(1, 2, 2);pad=(0, 1, 0)",
     .shapes = "1,8,12", .dtype = F64},
    {.op = "col2im", .attrs = "output_size=(3, 3);kernel=(2, 2)", .shapes = "0,4,4"},
    {0}};
