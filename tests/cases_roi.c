/* Registry-driven cases for ndarray/ops/roi_align.c.  rois are index inputs
 * (integers in [0, index_hi), so every batch index is valid): the gradient
 * check differentiates data only, as MXNet gives rois no gradient. */
#include "test_util.h"

#define F64 .dtype = AM_DTYPE_FLOAT64, .index_dtype = AM_DTYPE_FLOAT64

const am_op_case am_cases_roi[] = {
    {.op = "_contrib_ROIAlign", .attrs = "pooled_size=(2, 2);spatial_scale=1.0",
     .shapes = "3,2,5,5;4,5", .index_mask = 2, .index_hi = 3},
    {.op = "_contrib_ROIAlign", .attrs = "pooled_size=(3, 2);spatial_scale=0.5;sample_ratio=2",
     .shapes = "3,2,6,7;3,5", .index_mask = 2, .index_hi = 3, F64},
    {.op = "_contrib_ROIAlign",
     .attrs = "pooled_size=(2, 2);spatial_scale=0.75;position_sensitive=True",
     .shapes = "3,8,5,4;2,5", .index_mask = 2, .index_hi = 3, F64},
    {.op = "_contrib_ROIAlign", .attrs = "pooled_size=(2, 2);spatial_scale=1.0",
     .shapes = "1,2,4,4;0,5", .index_mask = 2, .index_hi = 1},
    {.op = "_backward_ROIAlign", .attrs = "pooled_size=(2, 2);spatial_scale=1.0",
     .shapes = "2,3,2,2;2,5;3,3,4,4", .index_mask = 2, .index_hi = 3},
    {.op = "_backward_ROIAlign", .attrs = "pooled_size=(2, 2);spatial_scale=0.5;"
     "position_sensitive=True", .shapes = "2,2,2,2;2,5;3,8,4,4", .index_mask = 2, .index_hi = 3,
     F64},
    {0}};
