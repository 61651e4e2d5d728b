/* Registry-driven cases for ndarray/ops/lrn.c, amp.c and roi_pooling.c.  ROIPooling's rois
 * hold integers below the batch size (valid batch entries and corners); backward cases list
 * ograd, then the forward inputs and kept outputs. */
#include "test_util.h"

#define F64 .dtype = AM_DTYPE_FLOAT64

const am_op_case am_cases_nn2[] = {
    {.op = "LRN", .attrs = "nsize=3", .shapes = "2,5,3,3"},
    {.op = "LRN", .attrs = "nsize=5;alpha=0.5;beta=0.9;knorm=1.5", .shapes = "2,6,2,3", F64},
    {.op = "LRN", .attrs = "nsize=2;alpha=0.8", .shapes = "1,4,3", F64},
    {.op = "LRN", .attrs = "nsize=3;alpha=2;beta=0.5;knorm=1", .shapes = "3,4", F64},
    {.op = "LRN", .attrs = "nsize=1;alpha=1", .shapes = "2,3,2,2", F64},
    {.op = "LRN", .attrs = "nsize=3", .shapes = "0,3,2,2"},
    {.op = "_backward_LRN", .attrs = "nsize=3;alpha=0.5", .shapes = "2,5,3;2,5,3;2,5,3",
     .lo = 0.5, .hi = 1.5},
    {.op = "_backward_LRN", .attrs = "nsize=2;alpha=0.5;beta=0.6", .shapes = "1,4,2;1,4,2;1,4,2",
     .lo = 0.5, .hi = 1.5, F64},
    {.op = "amp_cast", .attrs = "dtype=float32", .shapes = "2,3"},
    {.op = "amp_cast", .attrs = "dtype=float64", .shapes = "4"},
    {.op = "amp_cast", .attrs = "dtype=int32", .shapes = "2,2", .lo = -5, .hi = 5},
    {.op = "amp_cast", .attrs = "dtype=float16", .shapes = "3,2", F64},
    {.op = "amp_cast", .attrs = "dtype=float32", .shapes = ""},
    {.op = "amp_cast", .attrs = "dtype=float32", .shapes = "0,4"},
    {.op = "amp_multicast", .attrs = "num_outputs=2", .shapes = "2,3;4"},
    {.op = "amp_multicast", .attrs = "num_outputs=1;cast_narrow=True", .shapes = "3", F64},
    {.op = "amp_multicast", .attrs = "num_outputs=3", .shapes = ";0;2,2"},
    {.op = "ROIPooling", .attrs = "pooled_size=(2, 2);spatial_scale=1.0",
     .shapes = "6,2,6,6;4,5", .index_mask = 2, .index_hi = 6,
     .index_dtype = AM_DTYPE_FLOAT32},
    {.op = "ROIPooling", .attrs = "pooled_size=(3, 2);spatial_scale=0.7",
     .shapes = "7,3,5,7;5,5", .index_mask = 2, .index_hi = 7, .index_dtype = AM_DTYPE_FLOAT64,
     F64},
    {.op = "ROIPooling", .attrs = "pooled_size=(1, 1);spatial_scale=0.5",
     .shapes = "4,1,4,4;3,5", .index_mask = 2, .index_hi = 4, .index_dtype = AM_DTYPE_FLOAT64,
     F64},
    {.op = "ROIPooling", .attrs = "pooled_size=(2, 2);spatial_scale=1.0",
     .shapes = "2,2,3,3;0,5", .index_mask = 2, .index_hi = 2, .index_dtype = AM_DTYPE_FLOAT32},
    {.op = "_backward_ROIPooling", .attrs = "pooled_size=(2, 2);spatial_scale=1.0",
     .shapes = "4,2,2,2;6,2,6,6;4,5;4,2,2,2", .index_mask = 12, .index_hi = 6,
     .index_dtype = AM_DTYPE_FLOAT32},
    {0}};
