/* Registry-driven cases for depth_to_space, space_to_depth, diag and Crop
 * (ndarray/ops/shape_block.c), and _split_v2, shape_array and size_array
 * (ndarray/ops/shape_split.c). */
#include "test_util.h"

#define F64 AM_DTYPE_FLOAT64
#define I32 AM_DTYPE_INT32

const am_op_case am_cases_block[] = {
    {.op = "depth_to_space", .attrs = "block_size=2", .shapes = "2,8,2,3"},
    {.op = "depth_to_space", .attrs = "block_size=3", .shapes = "1,9,1,2", .dtype = F64},
    {.op = "depth_to_space", .attrs = "block_size=2", .shapes = "0,4,2,2", .dtype = I32,
     .lo = -9, .hi = 9},
    {.op = "space_to_depth", .attrs = "block_size=2", .shapes = "2,3,4,6"},
    {.op = "space_to_depth", .attrs = "block_size=3", .shapes = "1,2,3,3", .dtype = F64},
    {.op = "space_to_depth", .attrs = "block_size=1", .shapes = "1,2,0,3", .dtype = F64},
    {.op = "diag", .shapes = "3,4"},
    {.op = "diag", .attrs = "k=1", .shapes = "3,4", .dtype = F64},
    {.op = "diag", .attrs = "k=-2", .shapes = "4,3", .dtype = F64},
    {.op = "diag", .attrs = "k=1;axis1=2;axis2=0", .shapes = "2,3,4", .dtype = F64},
    {.op = "diag", .attrs = "k=-1", .shapes = "3", .dtype = F64},
    {.op = "diag", .attrs = "k=2", .shapes = "2", .dtype = I32, .lo = -9, .hi = 9},
    {.op = "diag", .shapes = "0,3"},
    {.op = "_backward_diag", .attrs = "k=1;shape=(3, 4)", .shapes = "3", .dtype = F64},
    {.op = "_backward_diag", .attrs = "k=-1;shape=(3,)", .shapes = "4,4", .dtype = F64},
    {.op = "_backward_diag", .attrs = "k=1;axis1=2;axis2=0;shape=(2, 3, 4)", .shapes = "3,1"},
    {.op = "Crop", .attrs = "num_args=1;h_w=(2, 3);offset=(1, 2)", .shapes = "2,2,5,6"},
    {.op = "Crop", .attrs = "num_args=1;h_w=(2, 3);center_crop=True", .shapes = "1,2,5,6",
     .dtype = F64},
    {.op = "Crop", .attrs = "num_args=2;center_crop=True", .shapes = "1,3,5,6;2,2,3,2",
     .dtype = F64},
    {.op = "Crop", .attrs = "num_args=2;offset=(1, 1)", .shapes = "0,3,5,6;2,2,3,2"},
    {.op = "_split_v2", .attrs = "indices=(0, 1, 3);axis=1", .shapes = "2,4,3"},
    {.op = "_split_v2", .attrs = "indices=();sections=2;axis=-1", .shapes = "3,4", .dtype = F64},
    {.op = "_split_v2", .attrs = "indices=(1, 2);axis=0;squeeze_axis=True", .shapes = "3,2",
     .dtype = F64},
    {.op = "_split_v2", .attrs = "indices=(0, 2);axis=0", .shapes = "2,3", .dtype = I32,
     .lo = -9, .hi = 9},
    {.op = "_split_v2", .attrs = "indices=(0,);sections=3;axis=0", .shapes = "0,2"},
    {.op = "shape_array", .shapes = "2,3,4"},
    {.op = "shape_array", .shapes = "", .dtype = F64},
    {.op = "size_array", .shapes = "2,0", .dtype = I32},
    {.op = "size_array", .shapes = "3,4"},
    {0}};
