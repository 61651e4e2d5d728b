/* Registry-driven cases for gather_nd, scatter_nd, _scatter_set_nd,
 * _backward_gather_nd, _ravel_multi_index and _unravel_index
 * (ndarray/ops/index_nd.c).  Index inputs hold coordinates
 * below every axis they address. */
#include "test_util.h"

#define F64 AM_DTYPE_FLOAT64
#define I32 AM_DTYPE_INT32
#define I64 AM_DTYPE_INT64

const am_op_case am_cases_index_nd[] = {
    {.op = "gather_nd", .shapes = "3,4;2,5", .index_mask = 2, .index_hi = 3},
    {.op = "gather_nd", .shapes = "3,4,2;1,2,3", .dtype = F64, .index_mask = 2, .index_hi = 3,
     .index_dtype = I32},
    {.op = "gather_nd", .shapes = "4,3,2;3,6", .dtype = F64, .index_mask = 2, .index_hi = 2,
     .index_dtype = I64},
    {.op = "gather_nd", .shapes = "3,4;2,0", .index_mask = 2, .index_hi = 3},
    {.op = "gather_nd", .shapes = "5,2;1", .dtype = I32, .lo = -9, .hi = 9, .index_mask = 2,
     .index_hi = 5},
    {.op = "_backward_gather_nd", .attrs = "shape=(3, 4)", .shapes = "5;2,5", .dtype = F64,
     .index_mask = 2, .index_hi = 3},
    {.op = "_backward_gather_nd", .attrs = "shape=(3, 4, 2)", .shapes = "2,3,4,2;1,2,3",
     .index_mask = 2, .index_hi = 3},
    {.op = "scatter_nd", .attrs = "shape=(3, 4)", .shapes = "5;2,5", .index_mask = 2,
     .index_hi = 3},
    {.op = "scatter_nd", .attrs = "shape=(4, 3, 2)", .shapes = "6,3,2;1,6", .dtype = F64,
     .index_mask = 2, .index_hi = 4, .index_dtype = I32},
    {.op = "scatter_nd", .attrs = "shape=(2, 2)", .shapes = "0;2,0", .dtype = F64,
     .index_mask = 2, .index_hi = 2},
    {.op = "scatter_nd", .attrs = "shape=(3, 3)", .shapes = "4;2,4", .dtype = I64, .lo = -9,
     .hi = 9, .index_mask = 2, .index_hi = 3},
    {.op = "_scatter_set_nd", .attrs = "shape=(3, 4)", .shapes = "3,4;5;2,5", .index_mask = 4,
     .index_hi = 3},
    {.op = "_scatter_set_nd", .attrs = "shape=(4, 3, 2)", .shapes = "4,3,2;3,3,2;1,3",
     .dtype = F64, .index_mask = 4, .index_hi = 4},
    {.op = "_ravel_multi_index", .attrs = "shape=(3, 4)", .shapes = "2,5", .index_mask = 1,
     .index_hi = 3},
    {.op = "_ravel_multi_index", .attrs = "shape=(2, 3, 4)", .shapes = "3,4", .dtype = F64,
     .index_mask = 1, .index_hi = 2, .index_dtype = F64},
    {.op = "_ravel_multi_index", .attrs = "shape=(5,)", .shapes = "1,0", .index_mask = 1,
     .index_hi = 5, .index_dtype = I32},
    {.op = "_unravel_index", .attrs = "shape=(3, 4)", .shapes = "5", .index_mask = 1,
     .index_hi = 12},
    {.op = "_unravel_index", .attrs = "shape=(2, 3, 4)", .shapes = "6", .index_mask = 1,
     .index_hi = 24, .index_dtype = I64},
    {.op = "_unravel_index", .attrs = "shape=(4,)", .shapes = "0", .index_mask = 1,
     .index_hi = 4, .index_dtype = F64},
    {0}};
