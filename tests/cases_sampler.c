/* Registry-driven cases for ndarray/ops/sampler.c (GridGenerator,
 * BilinearSampler, SpatialTransformer and their backward ops).  Grids reach
 * past [-1, 1] so that samples fall outside the image too. */
#include "test_util.h"

#define F64 .dtype = AM_DTYPE_FLOAT64

const am_op_case am_cases_sampler[] = {
    {.op = "GridGenerator", .attrs = "transform_type=affine;target_shape=(3, 4)", .shapes = "2,6"},
    {.op = "GridGenerator", .attrs = "transform_type=affine;target_shape=(2, 5)", .shapes = "1,6",
     F64},
    {.op = "GridGenerator", .attrs = "transform_type=warp", .shapes = "2,2,3,4", .lo = -2, .hi = 2},
    {.op = "GridGenerator", .attrs = "transform_type=warp", .shapes = "1,2,4,3", .lo = -2, .hi = 2,
     F64},
    {.op = "GridGenerator", .attrs = "transform_type=affine;target_shape=(3, 4)", .shapes = "0,6"},
    {.op = "_backward_GridGenerator", .attrs = "transform_type=affine;target_shape=(3, 4)",
     .shapes = "2,2,3,4;2,6"},
    {.op = "_backward_GridGenerator", .attrs = "transform_type=warp", .shapes = "1,2,3,4;1,2,3,4",
     F64},
    {.op = "BilinearSampler", .shapes = "2,3,4,5;2,2,3,4", .lo = -1.2, .hi = 1.2},
    {.op = "BilinearSampler", .attrs = "cudnn_off=True", .shapes = "1,2,5,4;1,2,4,6", .lo = -1.2,
     .hi = 1.2, F64},
    {.op = "BilinearSampler", .shapes = "0,3,4,5;0,2,3,4"},
    {.op = "_backward_BilinearSampler", .shapes = "2,3,3,4;2,3,4,5;2,2,3,4"},
    {.op = "SpatialTransformer",
     .attrs = "target_shape=(3, 4);transform_type=affine;sampler_type=bilinear",
     .shapes = "2,3,4,5;2,6"},
    {.op = "SpatialTransformer",
     .attrs = "target_shape=(4, 3);transform_type=affine;sampler_type=bilinear",
     .shapes = "1,2,5,6;1,6", F64},
    {0}};
