/* Registry-driven cases for the ordering ops (ndarray/ops/sort.c). */
#include "test_util.h"

#define F64 AM_DTYPE_FLOAT64
#define I32 AM_DTYPE_INT32
#define I64 AM_DTYPE_INT64
#define U8 AM_DTYPE_UINT8

const am_op_case am_cases_sort[] = {
    {.op = "topk", .attrs = "k=2", .shapes = "3,5"},
    {.op = "topk", .attrs = "k=2;ret_typ=value", .shapes = "3,5", .dtype = F64},
    {.op = "topk", .attrs = "k=3;axis=1;ret_typ=both;is_ascend=True", .shapes = "2,4,3",
     .dtype = F64},
    {.op = "topk", .attrs = "k=2;axis=0;ret_typ=mask", .shapes = "3,4"},
    {.op = "topk", .attrs = "k=4;axis=None;ret_typ=both;dtype=int32", .shapes = "2,3",
     .dtype = F64},
    {.op = "topk", .attrs = "k=0;ret_typ=value", .shapes = "4,20"},
    {.op = "topk", .attrs = "k=2;ret_typ=value", .shapes = "2,40", .dtype = F64},
    {.op = "topk", .attrs = "k=2;ret_typ=both;dtype=int64", .shapes = "0,5"},
    {.op = "topk", .attrs = "k=1;axis=None;ret_typ=value", .shapes = "", .dtype = F64},
    {.op = "topk", .attrs = "k=3;ret_typ=both", .shapes = "3,7", .dtype = I32, .lo = -3, .hi = 3},
    {.op = "topk", .attrs = "k=2;ret_typ=mask;is_ascend=True", .shapes = "4", .dtype = U8,
     .lo = 0, .hi = 5},
    {.op = "_backward_topk", .attrs = "axis=1;shape=(2, 5)", .shapes = "2,2;2,2",
     .index_mask = 2, .index_hi = 5},
    {.op = "_backward_topk", .attrs = "axis=None;shape=(2, 3)", .shapes = "1;1", .dtype = F64,
     .index_mask = 2, .index_hi = 6, .index_dtype = I64},
    {.op = "_backward_topk", .attrs = "axis=0;shape=(0, 3)", .shapes = "0,3;0,3",
     .index_mask = 2, .index_hi = 1},
    {.op = "sort", .shapes = "3,5"},
    {.op = "sort", .attrs = "axis=0;is_ascend=False", .shapes = "4,3,2", .dtype = F64},
    {.op = "sort", .attrs = "axis=None", .shapes = "3,6", .dtype = F64},
    {.op = "sort", .shapes = "2,0"},
    {.op = "sort", .attrs = "axis=None", .shapes = ""},
    {.op = "sort", .shapes = "2,30", .dtype = I64, .lo = -4, .hi = 4},
    {.op = "argsort", .shapes = "3,5"},
    {.op = "argsort", .attrs = "axis=0;is_ascend=False;dtype=int32", .shapes = "4,3",
     .dtype = F64},
    {.op = "argsort", .attrs = "axis=None;dtype=int64", .shapes = "2,3", .dtype = U8, .lo = 0,
     .hi = 4},
    {.op = "argsort", .shapes = "0,4"},
    {.op = "reverse", .attrs = "axis=(0,)", .shapes = "3,4"},
    {.op = "reverse", .attrs = "axis=(-1, 0)", .shapes = "2,3,4", .dtype = F64},
    {.op = "reverse", .attrs = "axis=(1,)", .shapes = "2,0", .dtype = I32, .lo = -5, .hi = 5},
    {.op = "reverse", .attrs = "axis=()", .shapes = "", .dtype = F64},
    {.op = "reverse", .attrs = "axis=(1, 2)", .shapes = "2,3,4", .dtype = U8, .lo = 0, .hi = 9},
    {0}};
