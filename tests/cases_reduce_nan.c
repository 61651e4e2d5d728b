/* Registry-driven cases for nansum, nanprod and argmax_channel
 * (ndarray/ops/reduce_nan.c) and _np_cumsum (ndarray/ops/cumsum.c). */
#include "test_util.h"

#define F64 AM_DTYPE_FLOAT64
#define I32 AM_DTYPE_INT32

const am_op_case am_cases_reduce_nan[] = {
    {.op = "nansum", .shapes = "3,4"},
    {.op = "nansum", .attrs = "axis=1", .shapes = "2,3,4", .dtype = F64},
    {.op = "nansum", .attrs = "axis=(0, 2);keepdims=True", .shapes = "2,3,4", .dtype = F64},
    {.op = "nansum", .attrs = "axis=1;exclude=True", .shapes = "2,3,2", .dtype = F64},
    {.op = "nansum", .attrs = "axis=0", .shapes = "0,3"},
    {.op = "nansum", .shapes = "", .dtype = F64},
    {.op = "nanprod", .attrs = "axis=1", .shapes = "3,4", .lo = 0.5, .hi = 1.5},
    {.op = "nanprod", .attrs = "axis=(-1,);keepdims=True", .shapes = "2,3,3", .dtype = F64,
     .lo = -1.5, .hi = 1.5},
    {.op = "nanprod", .shapes = "2,3", .dtype = F64, .lo = 0.5, .hi = 1.5},
    {.op = "nanprod", .attrs = "axis=1", .shapes = "2,0", .dtype = F64},
    {.op = "argmax_channel", .shapes = "3,5"},
    {.op = "argmax_channel", .shapes = "2,3,4", .dtype = F64},
    {.op = "argmax_channel", .shapes = "2,4", .dtype = I32, .lo = -9, .hi = 9},
    {.op = "argmax_channel", .shapes = "0,3"},
    {.op = "_np_cumsum", .shapes = "3,4"},
    {.op = "_np_cumsum", .attrs = "axis=0", .shapes = "3,4", .dtype = F64},
    {.op = "_np_cumsum", .attrs = "axis=-1;dtype=float64", .shapes = "2,3,4"},
    {.op = "_np_cumsum", .attrs = "axis=1", .shapes = "2,5", .dtype = I32, .lo = -9, .hi = 9},
    {.op = "_np_cumsum", .shapes = "", .dtype = F64},
    {.op = "_np_cumsum", .attrs = "axis=0", .shapes = "0,2"},
    {0}};
