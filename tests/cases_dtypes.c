/* Registry-driven cases in float16, bfloat16, int8 and bool (docs/dtypes.md):
 * ops with no kernel for these compute through float32 (int32 for int8), the
 * dispatcher converting around the kernel; Cast and _copy take them directly. */
#include "test_util.h"

#define F16 AM_DTYPE_FLOAT16
#define BF16 AM_DTYPE_BFLOAT16
#define I8 AM_DTYPE_INT8
#define B AM_DTYPE_BOOL

const am_op_case am_cases_dtypes[] = {
    {.op = "Cast", .attrs = "dtype=float16", .shapes = "3,4", .lo = -70000, .hi = 70000},
    {.op = "Cast", .attrs = "dtype=float64", .shapes = "2,3", .dtype = F16},
    {.op = "Cast", .attrs = "dtype=bfloat16", .shapes = "5", .dtype = F16},
    {.op = "Cast", .attrs = "dtype=bool", .shapes = "6", .lo = -1, .hi = 1},
    {.op = "Cast", .attrs = "dtype=int8", .shapes = "4", .dtype = F16, .lo = -100, .hi = 100},
    {.op = "Cast", .attrs = "dtype=float64", .shapes = "4", .dtype = I8, .lo = -100, .hi = 100},
    {.op = "Cast", .attrs = "dtype=float16", .shapes = "", .dtype = B, .lo = 0, .hi = 2},
    {.op = "_copy", .shapes = "2,0", .dtype = F16},
    {.op = "_copy", .shapes = "3", .dtype = BF16},
    {.op = "_zeros", .attrs = "shape=(2, 3);dtype=float16", .shapes = NULL},
    {.op = "_full", .attrs = "shape=(3,);value=0.1;dtype=bfloat16", .shapes = NULL},
    {.op = "_ones", .attrs = "shape=(2,);dtype=int8", .shapes = NULL},
    {.op = "elemwise_add", .shapes = "2,3;2,3", .dtype = F16},
    {.op = "elemwise_mul", .shapes = "4;4", .dtype = BF16},
    {.op = "broadcast_add", .shapes = "2,1;1,3", .dtype = I8, .lo = -60, .hi = 60},
    {.op = "broadcast_greater", .shapes = "3;3", .dtype = F16},
    {.op = "Activation", .attrs = "act_type=relu", .shapes = "2,5", .dtype = F16},
    {.op = "FullyConnected", .attrs = "num_hidden=3", .shapes = "2,4;3,4;3", .dtype = F16},
    {.op = "Convolution", .attrs = "kernel=(3, 3);num_filter=2;pad=(1, 1)",
     .shapes = "1,2,4,4;2,2,3,3;2", .dtype = F16},
    {.op = "sum", .attrs = "axis=1", .shapes = "2,3", .dtype = F16},
    {.op = "softmax", .shapes = "2,4", .dtype = BF16},
    {.op = "Reshape", .attrs = "shape=(3, 2)", .shapes = "2,3", .dtype = F16},
    {.op = "transpose", .shapes = "2,3", .dtype = I8, .lo = -100, .hi = 100},
    {.op = "relu", .shapes = "", .dtype = F16},
    {0}};
