/* Registry-driven cases for ndarray/ops/init.c. */
#include "test_util.h"

const am_op_case am_cases_init[] = {
    {.op = "_zeros", .attrs = "shape=(2, 3)", .shapes = NULL},
    {.op = "_zeros", .attrs = "shape=(0, 3);dtype=int64", .shapes = NULL},
    {.op = "_ones", .attrs = "shape=(4,);dtype=uint8", .shapes = NULL},
    {.op = "_full", .attrs = "shape=(2, 2);value=2.5", .shapes = NULL},
    {.op = "_arange", .attrs = "start=1;stop=7;step=2;repeat=2", .shapes = NULL},
    {.op = "_linspace", .attrs = "start=0;stop=1;num=5", .shapes = NULL},
    {.op = "_random_uniform", .attrs = "low=-2;high=2;shape=(3, 3)", .shapes = NULL},
    {.op = "_random_normal", .attrs = "loc=1;scale=0.5;shape=(10,);dtype=float64", .shapes = NULL},
    {.op = "zeros_like", .shapes = "2,3"},
    {.op = "ones_like", .shapes = "3", .dtype = AM_DTYPE_INT32},
    {.op = "_copy", .shapes = "2,3,4"},
    {.op = "Cast", .attrs = "dtype=int32", .shapes = "5", .lo = -3, .hi = 3},
    {.op = "Cast", .attrs = "dtype=float64", .shapes = "2,2", .dtype = AM_DTYPE_UINT8, .lo = 0, .hi = 200},
    {.op = "BlockGrad", .shapes = "3,2"},
    {0}};
