/* Registry-driven cases for ndarray/ops/image.c: the mx.nd.image ops on HWC / NHWC
 * images (to_tensor, flips) and CHW / NCHW tensors (normalize). */
#include "test_util.h"

#define F64 .dtype = AM_DTYPE_FLOAT64

const am_op_case am_cases_image[] = {
    {.op = "_image_to_tensor", .shapes = "4,3,3", .lo = 0, .hi = 255},
    {.op = "_image_to_tensor", .shapes = "2,4,3,1", F64},
    {.op = "_image_to_tensor", .shapes = "3,2,3", .dtype = AM_DTYPE_UINT8, .lo = 0, .hi = 255},
    {.op = "_image_to_tensor", .shapes = "0,3,3"},
    {.op = "_image_normalize", .attrs = "mean=(0.5, 0.2, -0.1);std=(2, 0.5, 1.5)",
     .shapes = "3,4,2"},
    {.op = "_image_normalize", .attrs = "mean=(0.5, 0.2, -0.1);std=(2, 0.5, 1.5)",
     .shapes = "2,3,2,3", F64},
    {.op = "_image_normalize", .attrs = "mean=0.25;std=0.5", .shapes = "1,3,2", F64},
    {.op = "_image_normalize", .attrs = "mean=(0.1,);std=(1, 2, 3)", .shapes = "0,3,2,2", F64},
    {.op = "_image_flip_left_right", .shapes = "3,4,3"},
    {.op = "_image_flip_left_right", .shapes = "2,5,1", F64},
    {.op = "_image_flip_left_right", .shapes = "0,5,3", F64},
    {.op = "_image_flip_top_bottom", .shapes = "3,4,3"},
    {.op = "_image_flip_top_bottom", .shapes = "4,2,2", F64},
    {.op = "_image_flip_top_bottom", .shapes = "3,0,3", F64},
    {.op = "_image_crop", .attrs = "x=1;y=0;width=2;height=3", .shapes = "4,4,3"},
    {.op = "_image_crop", .attrs = "x=0;y=2;width=3;height=1", .shapes = "2,3,3,1", F64},
    {.op = "_image_crop", .attrs = "x=1;y=1;width=1;height=1", .shapes = "0,2,2,3", F64},
    {.op = "_image_crop", .attrs = "x=1;y=1;width=2;height=2", .shapes = "3,3,3",
     .dtype = AM_DTYPE_UINT8, .lo = 0, .hi = 255},
    {.op = "_backward_image_crop", .attrs = "x=1;y=0;width=2;height=3", .shapes = "3,2,3;4,4,3"},
    {.op = "_backward_image_crop", .attrs = "x=0;y=2;width=3;height=1",
     .shapes = "2,1,3,1;2,3,3,1", F64},
    {.op = "_image_adjust_lighting", .attrs = "alpha=(0.1, -0.2, 0.3)", .shapes = "3,4,3"},
    {.op = "_image_adjust_lighting", .attrs = "alpha=(0.01, 0.02, -0.05)", .shapes = "2,2,3", F64},
    {.op = "_image_adjust_lighting", .attrs = "alpha=(0.01, 0.02, -0.05)", .shapes = "2,2,1", F64},
    {.op = "_image_adjust_lighting", .attrs = "alpha=(0.05, 0.02, -0.05)", .shapes = "2,3,3",
     .dtype = AM_DTYPE_UINT8, .lo = 0, .hi = 255},
    {.op = "_image_adjust_lighting", .attrs = "alpha=(0.01, 0.02, -0.05)", .shapes = "0,2,3", F64},
    {0}};
